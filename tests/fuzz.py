"""Fuzz the CLI with mutated shipped scenarios and check its contract on every one.

Each case takes a shipped scenario (``scenarios/*.yaml``, ``scenarios/examples/*.yaml``), applies
one to three mutations drawn by hypothesis — a value replaced by a NaN, an infinity, a huge, tiny,
negative or wrongly typed one, a number scaled by 1e±300, a key deleted, a list item duplicated, a
value wrapped in lists, an unknown key, a distribution with drawn parameters, and on the text:
a duplicated line, an alias bomb, deep nesting, truncation, a tab — and runs ``validate``; when the
file validates, ``estimate``, a 4-path ``run`` and one of ``des``, ``tco``, ``commit`` too, all through
``sim.cli.main`` exactly as a user
would. The contract:

- exit 0, or exit 2 with one JSON object whose every problem is located (starts with the file);
  never exit 1 (an internal error), never more or less than one JSON object on stdout;
- an accepted scenario gives finite spend in both engines; a spend of 0 only when the demand is 0
  (no requests) or a mutation set a number to (nearly) 0, and both engines agree on whether it is 0;
- every case finishes within ``--case-seconds`` (a hang otherwise) in a process whose address space
  is capped at ``--memory-gb`` (a MemoryError is "over budget").

Run ``python tests/fuzz.py --cases 10000 --workers 2`` (``make fuzz``) for the long profile; the
fast profile is ``tests/test_fuzz.py``. The summary (counts per outcome) is printed as JSON and
written to ``--summary``; failing cases are saved under ``--failures`` to be replayed.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
BASES = sorted([*ROOT.glob("scenarios/*.yaml"), *ROOT.glob("scenarios/examples/*.yaml")])
DIST_KINDS = ("fixed", "uniform", "triangular", "pert", "normal", "lognormal", "beta", "discrete", "empirical")


# ---- the base scenarios, as plain data ------------------------------------------------------------------
def _absolute_files(obj: Any, base: Path) -> Any:
    """Empirical ``file:`` paths made absolute, so a mutant written elsewhere still finds them."""
    if isinstance(obj, dict):
        out = {k: _absolute_files(v, base) for k, v in obj.items()}
        if out.get("dist") == "empirical" and isinstance(out.get("file"), str):
            out["file"] = str((base / out["file"]).resolve())
        return out
    if isinstance(obj, list):
        return [_absolute_files(v, base) for v in obj]
    return obj


def _base_data() -> dict[str, Any]:
    return {p.name: _absolute_files(yaml.safe_load(p.read_text()), p.parent) for p in BASES}


BASE_DATA = _base_data()


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every node's key path (the root excluded)."""
    out = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _set(obj: Any, path: tuple, value: Any) -> None:
    _get(obj, path[:-1])[path[-1]] = value


# ---- hypothesis strategies -------------------------------------------------------------------------------
SPECIAL = [math.nan, math.inf, -math.inf, 1e308, -1e308, 1e300, 1e-320, 5e-324, 0, 0.0, -0.0, -1, 1, 7,
           2**31, 2**63, 2**64, 2**70, -(2**63), 10**20, 10**400, 1e15, 1e12, 1e9, 1e-9, True, False, None, "", "abc", "1e3",
           "2026-02-30", "9999-12-31", "0000-01", "2027-13", [], {}, [1, 2, 3], {"a": 1}, "../../x", "/tmp/x",
           "a\x00b", "nonexistent/model", "h100-sxm", "owned", "api", "neocloud", "x" * 300]
numbers = st.one_of(st.sampled_from([v for v in SPECIAL if isinstance(v, (int, float)) and not isinstance(v, bool)]),
                    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70),
                    st.floats(0, 1e4), st.floats(0, 1), st.integers(0, 1000))  # plausible ones too


@st.composite
def distributions(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(DIST_KINDS))
    keys = {"fixed": ["value"], "uniform": ["low", "high"], "triangular": ["low", "mode", "high"],
            "pert": ["low", "mode", "high", "lamb"], "normal": ["mean", "sd"], "lognormal": ["median", "p90"],
            "beta": ["alpha", "beta", "low", "high"], "discrete": ["values", "weights"],
            "empirical": ["file", "column"]}[kind]
    d: dict[str, Any] = {"dist": kind}
    for k in keys:
        if draw(st.integers(0, 9)) == 0:
            continue  # a missing parameter
        if k in ("values", "weights"):
            d[k] = draw(st.lists(numbers, min_size=0, max_size=5))
        elif k == "file":
            d[k] = draw(st.sampled_from(["missing.csv", "/dev/zero", "/tmp", "a\x00b", "x" * 2000, "sample.csv.gz", "fifo.csv",
                                         str(ROOT / "calibration/workloads/chat_quantiles.csv")]))
        elif k == "column":
            d[k] = draw(st.sampled_from(["x", "azure_conv_2023_output_tokens", ""]))
        else:
            d[k] = draw(numbers)
    return d


values = st.one_of(st.sampled_from(SPECIAL), numbers, st.text(max_size=12), distributions())


@dataclass
class Mutant:
    base: str
    text: str
    log: list[str] = field(default_factory=list)
    zeroed: bool = False  # a mutation set some number to (nearly) zero: a spend of 0 may be honest
    random_zero: bool = False  # a drawn distribution may put mass at 0: 4 paths may all be 0 while the mean is not
    extra: str = "des"  # the third command run on a legal mutant: des, tco or commit


def _real(v: Any) -> float | None:
    """``v`` as a finite float, or None (not a number, NaN, inf, or an integer beyond float range)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except OverflowError:
        return None
    return x if math.isfinite(x) else None


def _tiny(v: Any) -> bool:
    x = _real(v)
    return x is not None and abs(x) <= 1e-6


@st.composite
def mutants(draw: st.DrawFn) -> Mutant:
    base = draw(st.sampled_from(sorted(BASE_DATA)))
    data = copy.deepcopy(BASE_DATA[base])
    m = Mutant(base, "", extra=draw(st.sampled_from(["des", "tco", "commit"])))
    for _ in range(draw(st.integers(1, 3))):
        try:  # a mutation the harness cannot apply (a value beyond float range...) is skipped, not a crash
            paths = _paths(data)
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            old = _get(data, path)
            # about half the operations keep a scenario legal but unusual (where silent zeros and NaNs hid)
            op = draw(st.sampled_from(["set", "set", "scale", "scale", "perturb", "perturb", "perturb", "delete",
                                       "duplicate", "wrap", "unknown_key", "distribution", "distribution", "swap",
                                       "to_list"]))
            if op == "set":
                v = draw(values)
                m.zeroed |= _tiny(v) or v is False or v is None or v == [] or v == {}
                _set(data, path, v)
            elif op == "scale" and _real(old) is not None and abs(_real(old)) < 1e300:
                k = draw(st.sampled_from([1e-300, 1e-12, 1e-6, 0.5, 2.0, 10.0, 1e6, 1e12, 1e300, -1.0, 0.0]))
                v = old * k
                m.zeroed |= _tiny(v) or k <= 1e-6
                _set(data, path, v)
            elif op == "perturb" and _real(old) is not None and abs(_real(old)) < 1e300:
                v = draw(st.sampled_from([0, 1, 2, 1000]) | st.floats(0.0, 2.0 * abs(old) + 1.0))
                v = type(old)(v) if isinstance(old, int) else v
                m.zeroed |= _tiny(v)
                _set(data, path, v)
            elif op == "delete":
                parent = _get(data, path[:-1])
                del parent[path[-1]]
                m.zeroed = True  # a deleted workload, unit or purchase can leave nothing to pay for
            elif op == "duplicate" and isinstance(_get(data, path[:-1]), list):
                _get(data, path[:-1]).insert(path[-1], copy.deepcopy(old))
            elif op == "wrap":
                depth = draw(st.integers(1, 40))
                v = old
                for _ in range(depth):
                    v = [v]
                _set(data, path, v)
            elif op == "unknown_key" and isinstance(old, dict):
                old[draw(st.sampled_from(["bogus", "dist", "name", "paths", "value"]))] = draw(values)
            elif op == "distribution":
                _set(data, path, draw(distributions()))
                m.zeroed = m.random_zero = True  # a drawn distribution may put all its mass at 0
            elif op == "swap":
                other = draw(st.sampled_from(paths))
                with contextlib.suppress(KeyError, IndexError, TypeError):
                    _set(data, path, copy.deepcopy(_get(data, other)))
            elif op == "to_list" and isinstance(old, dict):
                _set(data, path, list(old.values()))
            else:
                continue
            m.log.append(f"{op} {'.'.join(map(str, path))}")
        except (OverflowError, ValueError, TypeError, KeyError, IndexError, RecursionError):
            m.log.append("(skipped)")
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    text_op = draw(st.sampled_from(["none"] * 14 + ["dup_line", "alias_bomb", "deep", "truncate", "tab", "anchors",
                                                    "recursive_alias", "binary", "merge_key"]))
    lines = text.splitlines(keepends=True)
    if text_op == "dup_line" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
    elif text_op == "alias_bomb":
        levels = draw(st.integers(2, 9))
        bomb = ["x0: &a0 [l, l, l, l, l, l, l, l, l, l]\n"]
        bomb += [f"x{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]\n" for k in range(1, levels)]
        lines = bomb + lines
    elif text_op == "deep":
        d = draw(st.integers(10, 2000))
        lines.append("description: " + "[" * d + "]" * d + "\n")
    elif text_op == "truncate" and lines:
        cut = draw(st.integers(0, len(text)))
        lines = [text[:cut]]
    elif text_op == "tab" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = "\t" + lines[i]
    elif text_op == "anchors" and len(lines) > 3:
        # an anchor on one value and an alias replacing another (legal YAML, odd scenarios)
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
        if ": " in lines[i] and ": " in lines[j] and i != j:
            key_i, _, val_i = lines[i].partition(": ")
            lines[i] = f"{key_i}: &anc {val_i}"
            key_j, _, _ = lines[j].partition(": ")
            lines[j] = f"{key_j}: *anc\n"
    elif text_op == "recursive_alias":
        lines.append(draw(st.sampled_from(["rec: &r [1, *r]\n", "rec: &r {a: *r}\n",
                                           "rec: &r [[[[*r]]]]\n"])))
    elif text_op == "binary" and lines:  # a value as YAML bytes (pydantic would coerce them to text)
        i = draw(st.integers(0, len(lines) - 1))
        if ": " in lines[i]:
            key, _, _ = lines[i].partition(": ")
            lines[i] = f'{key}: !!binary "Zmlmby5jc3Y="\n'
    elif text_op == "merge_key" and len(lines) > 2:
        i = draw(st.integers(0, len(lines) - 1))
        if ": " in lines[i] and not lines[i].lstrip().startswith("- "):
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines = ["base_anchor: &m {kind: chat}\n"] + lines
            lines.insert(i + 2, f"{indent}<<: *m\n")
    if text_op != "none":
        m.log.append(f"text {text_op}")
    m.text = "".join(lines)
    return m


# ---- one case --------------------------------------------------------------------------------------------
class Hang(BaseException):
    """A case ran past its time budget (BaseException: the CLI must not turn it into a message)."""


def _cli(argv: list[str]) -> tuple[int, list[str], str]:
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue().splitlines(), err.getvalue()


def _one_object(lines: list[str]) -> dict:
    if len(lines) != 1:
        raise AssertionError(f"stdout held {len(lines)} lines, not one JSON object")
    return json.loads(lines[0])


def check_case(m: Mutant, work: Path) -> tuple[str, str]:
    """(outcome, detail). Outcomes: refused, refused_result, refused_command, finite, zero_demand,
    zero_explained; failures: internal, json, unlocated, nonfinite, zero_unexplained, zero_disagree,
    over_budget, bad_exit, inconsistent (validate accepted what estimate or run refused)."""
    f = work / "s.yaml"
    f.write_text(m.text, encoding="utf-8", errors="surrogatepass")
    code, out, err = _cli(["validate", str(f), "--json"])
    if "MemoryError" in err:
        return "over_budget", err[:300]
    if code == 1:
        return "internal", err[:500]
    try:
        obj = _one_object(out)
    except (AssertionError, ValueError) as exc:
        return "json", f"validate: {exc}"
    if code == 2:
        bad = [p for p in obj.get("problems", []) if not p.startswith(str(f))]
        if obj.get("error") != "scenario" or bad or not obj.get("problems"):
            return "unlocated", json.dumps(obj)[:500]
        return "refused", ""
    if code != 0:
        return "bad_exit", f"validate exit {code}"
    totals: dict[str, float] = {}
    requests = math.nan
    third = {"des": ["des", str(f), "--json", "--out", str(work / "out"), "--days", "0.05", "--users", "50"],
             "tco": ["tco", str(f), "--json", "--paths", "8", "--draws", "50"],
             "commit": ["commit", str(f), "--json", "--paths", "8"]}[m.extra]
    for argv in (["estimate", str(f), "--json", "--out", str(work / "out")],
                 ["run", str(f), "--json", "--out", str(work / "out"), "--paths", "4", "--block-size", "4",
                  "--seed", "7"], third):
        code, out, err = _cli(argv)
        if "MemoryError" in err:
            return "over_budget", err[:300]
        if code == 1:
            return "internal", f"{argv[0]}: {err[:500]}"
        try:
            obj = _one_object(out)
        except (AssertionError, ValueError) as exc:
            return "json", f"{argv[0]}: {exc}"
        if code == 2:  # a refusal at run time, after validate accepted the file
            problems = obj.get("problems") or []
            if not problems or not all(p.startswith((str(f), "tokensim")) for p in problems):
                return "unlocated", json.dumps(obj)[:500]
            if obj.get("error") == "result":  # a NaN caught in a result, located: honest, counted apart
                return "refused_result", problems[0][:300]
            if argv[0] in ("estimate", "run"):  # validate said yes, the forecast says no: commands disagree
                return "inconsistent", f"{argv[0]}: {problems[0][:300]}"
            return "refused_command", problems[0][:300]  # e.g. tco of a scenario with no GPU pool
        if code != 0:
            return "bad_exit", f"{argv[0]} exit {code}"
        if argv[0] == "estimate":
            totals["ev"] = obj.get("total_spend")
            requests = obj.get("requests")
        elif argv[0] == "des":
            if not isinstance(obj.get("cost_usd"), (int, float)) or not math.isfinite(obj["cost_usd"]):
                return "nonfinite", f"des cost_usd {obj.get('cost_usd')}"
        elif argv[0] in ("tco", "commit"):
            pass  # the contract: exit 0 with one JSON object (non-finite values would be a located exit 2)
        else:
            means = [v.get("mean") for v in obj.get("total_spend", {}).values()]
            quantiles = [v.get(q) for v in obj.get("total_spend", {}).values() for q in ("p5", "p50", "p95")]
            if not means or any(x is None or not math.isfinite(x) for x in means + quantiles):
                return "nonfinite", f"run total_spend {obj.get('total_spend')}"
            base = obj["strategies"][0]
            totals["mc"] = obj["total_spend"][base]["mean"]
    ev, mc = totals.get("ev"), totals.get("mc")
    if ev is None or not math.isfinite(ev) or requests is None or not math.isfinite(requests):
        return "nonfinite", f"estimate total_spend {ev}, requests {requests}"
    if (ev == 0) != (mc == 0) and not m.random_zero:
        # the Monte Carlo draws whole sessions: with few expected, 4 paths can all be 0 honestly. A
        # session holds at most 1,000 calls (a documented cap), so >= RARE calls mean >= 10 sessions
        # a path and P(4 paths without one) <= exp(-40); below that a 0 is no disagreement
        if mc == 0 and requests < RARE_CALLS:
            return "zero_rare", f"estimate {ev} from {requests:.3g} expected calls; 4 paths drew none"
        return "zero_disagree", f"estimate {ev} vs run mean {mc}"
    if ev == 0 or mc == 0:
        if requests == 0:
            return "zero_demand", ""
        return ("zero_explained", "") if m.zeroed else ("zero_unexplained", f"spend 0 with {requests} requests")
    return "finite", ""


RARE_CALLS = 10_000  # expected calls a path below which 4 Monte Carlo paths may all draw none

FAILURES = ("internal", "json", "unlocated", "nonfinite", "zero_unexplained", "zero_disagree", "over_budget",
            "bad_exit", "hang", "inconsistent")


# ---- a worker: N cases under a memory cap -----------------------------------------------------------------
def worker(cases: int, seed_: int, case_seconds: float, failures_dir: Path) -> dict:
    counts: Counter[str] = Counter()
    slowest = [0.0, ""]
    failures_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tokensim-fuzz-"))
    os.mkfifo(work / "fifo.csv")  # a sample that would hang a reader that opens it
    import gzip

    (work / "sample.csv.gz").write_bytes(gzip.compress(b"x\n" + b"1\n" * 100_000))  # 100 KB unpacked

    def on_alarm(signum, frame):
        raise Hang()

    signal.signal(signal.SIGALRM, on_alarm)
    seen = 0

    @settings(max_examples=cases, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @seed(seed_)
    @given(mutants())
    def one(m: Mutant) -> None:
        nonlocal seen
        seen += 1
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, case_seconds)
        try:
            outcome, detail = check_case(m, work)
        except Hang:
            outcome, detail = "hang", f"over {case_seconds} s"
        except MemoryError:
            outcome, detail = "over_budget", "MemoryError in the fuzz harness"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        dt = time.perf_counter() - t0
        if dt > slowest[0]:
            slowest[:] = [dt, " / ".join(m.log)]
        counts[outcome] += 1
        if seen % 250 == 0:  # counts so far, in case the worker dies
            (failures_dir / f"progress-seed{seed_}.json").write_text(json.dumps({"cases": seen, "counts": counts}))
        if outcome in FAILURES:
            name = failures_dir / f"seed{seed_}-{seen:05d}-{outcome}.yaml"
            note = detail.replace("\n", "\n#   ")
            header = f"# base: {m.base}\n# mutations: {'; '.join(m.log)}\n# {outcome}: {note}\n"
            name.write_text(header.replace("\x00", "\\0") + m.text, encoding="utf-8", errors="replace")

    one()
    return {"cases": seen, "counts": dict(counts), "slowest_case_seconds": round(slowest[0], 2),
            "slowest_case": slowest[1]}


def _cap(memory_gb: float):
    def apply() -> None:
        limit = int(memory_gb * 1e9)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def run(cases: int, workers: int, seed_: int, case_seconds: float, memory_gb: float, failures_dir: Path) -> dict:
    """Split ``cases`` over ``workers`` capped subprocesses; their summed counts."""
    t0 = time.perf_counter()
    share = [cases // workers + (1 if k < cases % workers else 0) for k in range(workers)]
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", "--cases", str(n), "--seed", str(seed_ + k),
                               "--case-seconds", str(case_seconds), "--failures", str(failures_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                              preexec_fn=_cap(memory_gb))
             for k, n in enumerate(share) if n]
    total: Counter[str] = Counter()
    summaries = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0 or not out.strip():
            total["worker_crashed"] += 1
            summaries.append({"returncode": p.returncode, "stderr": err[-3000:]})
            continue
        s = json.loads(out.strip().splitlines()[-1])
        summaries.append(s)
        total.update(s["counts"])
    n = sum(s.get("cases", 0) for s in summaries)
    return {"cases": n, "counts": dict(sorted(total.items())),
            "failures": sum(v for k, v in total.items() if k in FAILURES or k == "worker_crashed"),
            "seconds": round(time.perf_counter() - t0, 1), "workers": workers, "seed": seed_,
            "case_seconds": case_seconds, "memory_gb": memory_gb,
            "slowest_case_seconds": max((s.get("slowest_case_seconds", 0) for s in summaries), default=0),
            "bases": [p.name for p in BASES],
            "crashes": [s["stderr"] for s in summaries if "stderr" in s]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--case-seconds", type=float, default=60.0)
    ap.add_argument("--memory-gb", type=float, default=4.0)
    ap.add_argument("--failures", type=Path, default=ROOT / "outputs" / "fuzz" / "failures")
    ap.add_argument("--summary", type=Path, default=ROOT / "outputs" / "fuzz" / "summary.json")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.cases, a.seed, a.case_seconds, a.failures)))
        return 0
    summary = run(a.cases, a.workers, a.seed, a.case_seconds, a.memory_gb, a.failures)
    a.summary.parent.mkdir(parents=True, exist_ok=True)
    a.summary.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 1 if summary["failures"] or summary["cases"] < a.cases else 0


if __name__ == "__main__":
    sys.exit(main())
