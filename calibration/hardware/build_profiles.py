"""Regenerate the ``curves:`` section of ``calibration/hardware/<id>.yaml`` from the CSV.

Usage::

    python calibration/hardware/build_profiles.py          # rewrite the generated sections
    python calibration/hardware/build_profiles.py --check  # exit 1 if any YAML is stale

Input: ``throughput_points.csv`` next to this file (a copy of the project's calibration data;
background in shared ``research/inference-anchors.md`` sections 3.1-3.4). Each row is output
tokens/s per GPU at an interactivity (tokens/s per user), for one (gpu, model, precision, engine).

Everything above the marker line in a YAML (power, capex, rental: hand-written, each number with
its source) is kept byte for byte; everything below it is replaced. The output depends only on
the CSV, so running the script twice gives the same bytes. Standard library + PyYAML only.

Choices (each one is a judgment call; change them here, not in the YAML):

1. **Groups and engines.** One curve per (gpu, model, precision). Engines are pooled: a buyer
   runs whichever engine is best at the target speed, so the curve is the best-of frontier and
   ``engine`` lists the engines whose points survive. Aggregated and disaggregated runs are pooled
   too; all throughputs are per GPU *including* prefill GPUs (CSV convention). ISL/OSL shapes
   (1k/1k, 1k/8k, 8k/1k, MLPerf datasets) are pooled as well; the frontier keeps the most
   favourable shape at each speed (mostly 1k/1k and 1k/8k), i.e. close to decode-dominated work.
   Prefill-heavy traffic is charged separately through ``prefill_tok_s_gpu`` (choice 4).
2. **Pareto frontier.** Rows with an interactivity are points (i, t). A point is dropped when
   another point has i' >= i and t' >= t (duplicates collapse to one). What is left is sorted by
   i; t is then strictly decreasing. Rows marked "ESTIMATED" in the CSV are used like the rest.
3. **Rows without interactivity** (offline / max-throughput runs, concurrency label containing
   "offline") are not curve points, since their per-user speed is unknown. Their maximum is
   recorded as ``offline_max_tok_s_gpu`` (what a batch job could get). Decode-only rows
   (large-EP blogs, prefill GPUs excluded) and Server rows without a known speed are ignored.
4. **prefill_tok_s_gpu** = the highest *input* token rate per GPU observed in the group:
   - throughput x ISL/OSL for rows whose note gives ISL/OSL (input tokens processed per GPU-second
     while the same GPUs also decoded); for disaggregated rows divided by the prefill workers'
     share of the GPUs (``P=ax(TPbxDPc)``, nGPU);
   - ISL / TTFT / nGPU for aggregated rows whose note gives TTFT (one prompt's prefill speed);
   - an explicit "prefill N input tok/s/GPU" in a note (LMSYS GB200 large-EP blog).
   Every observation is a lower bound of the pure-prefill rate (the GPU also decoded or was not
   saturated), so the value is conservative (charges input tokens slightly too much GPU time).
   The best observations are offline 5000/500 runs (TRT-LLM perf overview), where ~90 % of the
   tokens are input. Groups with no observation use a fallback (choice 6).
5. **Model classes** (CSV name -> class, lowercase-hyphen): Llama-3.3-70B -> ``llama-3.3-70b``
   (main dense 70B class), Llama-2-70B -> ``llama-2-70b`` (MLPerf; the only 70B class measured
   on all six GPUs, but only at the MLPerf p99 floors 5 and 25 tok/s/user), gpt-oss-120b ->
   ``gpt-oss-120b`` (mid MoE), DeepSeek-R1 -> ``deepseek-r1`` (large MoE). Llama-3.1-8B and
   Llama-3.1-405B are left out (1-2 interactive points per GPU, H100/H200/B200/GB200 only).
   Excluded group: H100 DeepSeek-R1 fp8 (3 points from a 64-GPU disaggregated run at ~20 tok/s
   per GPU; inference-anchors.md 3.3 says "treat as a lower bound, not a curve").
6. **Derived curves and fallbacks (grade D).** No interactive Llama-3.3-70B points exist for
   GB200 NVL72, MI300X or MI355X. Their ``llama-3.3-70b`` curve is a reference GPU's curve with
   throughput times r = min(Server ratio, Interactive ratio) of the two GPUs' MLPerf Llama-2-70B
   per-GPU results (same precision; min = conservative, since the submissions come from different
   rounds). Reference: B200 fp4 for GB200 and MI355X, H200 fp8 for MI300X. Interactivity is kept.
   Fallbacks for ``prefill_tok_s_gpu`` and ``offline_max_tok_s_gpu`` when the group has no data:
   reference value times the MLPerf *Offline* ratio (compute-bound proxy). ``llama-2-70b`` takes
   its prefill from the same GPU's ``llama-3.3-70b`` curve (same architecture and precision).
   ``gpt-oss-120b`` on MI300X / MI355X takes H100 / B200 prefill times the ratio of the two GPUs'
   SemiAnalysis tokens-per-MW estimates at 90 tok/s/user (same article, same rows as the curve).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CSV_PATH = HERE / "throughput_points.csv"
CSV_REF = "calibration/hardware/throughput_points.csv"
MARKER = "# ---- generated by build_profiles.py from throughput_points.csv; do not edit below ----"

#: CSV gpu label -> profile id (= YAML file stem).
GPU_IDS: dict[str, str] = {
    "H100 SXM": "h100-sxm",
    "H200 SXM": "h200",
    "B200": "b200",
    "GB200 NVL72": "gb200-nvl72",
    "MI300X": "mi300x",
    "MI355X": "mi355x",
}
#: CSV model name -> model class (curves are generated for these only).
MODEL_CLASSES: dict[str, str] = {
    "Llama-3.3-70B": "llama-3.3-70b",
    "Llama-2-70B": "llama-2-70b",
    "gpt-oss-120b": "gpt-oss-120b",
    "DeepSeek-R1": "deepseek-r1",
}
EXCLUDED: dict[tuple[str, str, str], str] = {
    ("H100 SXM", "DeepSeek-R1", "fp8"): "64-GPU disagg run, lower bound only (inference-anchors.md 3.3)",
}

Row = dict[str, Any]
Sel = dict[str, str]  # column -> exact value; key "note~" -> substring of note

# Derived curves (choice 6): target gpu -> (reference gpu, precision).
SCALED_70B: dict[str, tuple[str, str]] = {
    "GB200 NVL72": ("B200", "fp4"),
    "MI355X": ("B200", "fp4"),
    "MI300X": ("H200 SXM", "fp8"),
}
# gpt-oss-120b prefill fallback: target gpu -> reference gpu; ratio of the tokens-per-MW rows.
GPT_OSS_PREFILL_REF: dict[str, str] = {"MI300X": "H100 SXM", "MI355X": "B200"}
TOKENS_PER_MW = "per all-in utility MW"


def normalise(name: str) -> str:
    """Lowercase-hyphen form of a model or GPU name (``Llama-3.3-70B`` -> ``llama-3.3-70b``)."""
    return re.sub(r"[\s_/]+", "-", name.strip().lower())


def load_rows(csv_path: Path = CSV_PATH) -> list[Row]:
    """Read the CSV; numeric columns become floats (None when blank)."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for col in ("interactivity_tok_s_user", "throughput_tok_s_gpu", "tdp_w"):
            r[col] = float(r[col]) if r[col].strip() else None
    return rows


def pareto_frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Non-dominated (interactivity, throughput) points, sorted by interactivity (choice 2)."""
    best = float("-inf")
    kept: list[tuple[float, float]] = []
    for i, t in sorted(set(points), key=lambda p: (-p[0], -p[1])):
        if t > best:
            kept.append((i, t))
            best = t
    return kept[::-1]


def _select(rows: list[Row], sel: Sel) -> Row:
    hits = [r for r in rows if all((s in r["note"]) if k == "note~" else r[k] == s for k, s in sel.items())]
    if len(hits) != 1:
        raise ValueError(f"selector {sel} matched {len(hits)} rows, expected 1")
    return hits[0]


def _ratio(rows: list[Row], target: Sel, ref: Sel) -> tuple[float, str]:
    """Throughput ratio of two single CSV rows, and a human-readable account of it."""
    a, b = _select(rows, target), _select(rows, ref)
    r = a["throughput_tok_s_gpu"] / b["throughput_tok_s_gpu"]
    text = (f"{a['gpu']} {a['throughput_tok_s_gpu']:g} / {b['gpu']} {b['throughput_tok_s_gpu']:g} "
            f"({a['model']} {a['precision']} {a['concurrency'] or 'est.'})")
    return round(r, 4), text


def _mlperf(gpu: str, prec: str, scenario: str) -> Sel:
    return {"gpu": gpu, "model": "Llama-2-70B", "precision": prec, "concurrency": scenario}


def prefill_observations(rows: list[Row]) -> list[tuple[float, Row]]:
    """Input tokens/s per GPU implied by each row that allows it (choice 4)."""
    obs: list[tuple[float, Row]] = []
    for r in rows:
        note, t = r["note"], r["throughput_tok_s_gpu"]
        m = re.search(r"ISL/OSL (\d+)/(\d+)", note)
        n = re.search(r"nGPU=(\d+)", note)
        p = re.search(r"disagg P=(\d+)x\(TP(\d+)xDP(\d+)\)", note)
        if m:
            isl, osl = float(m.group(1)), float(m.group(2))
            share = 1.0
            if p and n:
                share = int(p.group(1)) * int(p.group(2)) * int(p.group(3)) / float(n.group(1))
            if not (p and not n) and "decode-only" not in note:
                obs.append((t * isl / osl / share, r))
            ttft = re.search(r"TTFT ([\d.]+) ms", note)
            if ttft and n and re.search(r"\bagg TP", note):
                obs.append((isl / (float(ttft.group(1)) / 1000.0) / float(n.group(1)), r))
        x = re.search(r"prefill ([\d,]+) input tok/s/GPU", note)
        if x:
            obs.append((float(x.group(1).replace(",", "")), r))
    return obs


def _sources(rows: list[Row]) -> list[str]:
    return sorted({r["source"] for r in rows})


def _extras(group: list[Row]) -> dict[str, Any]:
    """``prefill_tok_s_gpu`` and ``offline_max_tok_s_gpu`` of one group, when its rows allow."""
    out: dict[str, Any] = {}
    obs = prefill_observations(group)
    if obs:
        val, row = max(obs, key=lambda o: o[0])
        out["prefill_tok_s_gpu"] = {
            "value": round(val, 1),
            "source": f"derived (build_profiles.py choice 4) from {CSV_REF}; best of {len(obs)} "
                      f"observations, row: {row['engine']}, {row['concurrency']}; upstream: {row['source']}",
            "grade": "D", "note": "lower bound of the pure-prefill rate",
        }
    offline = [r for r in group if r["interactivity_tok_s_user"] is None and "offline" in r["concurrency"].lower()]
    if offline:
        row = max(offline, key=lambda r: r["throughput_tok_s_gpu"])
        out["offline_max_tok_s_gpu"] = {
            "value": row["throughput_tok_s_gpu"],
            "source": f"{CSV_REF} max of {len(offline)} offline rows ({row['engine']}); upstream: {row['source']}",
        }
    return out


def _group(rows: list[Row], gpu: str, model: str, prec: str) -> list[Row]:
    return [r for r in rows if (r["gpu"], r["model"], r["precision"]) == (gpu, model, prec)]


def _measured_curve(rows: list[Row], gpu: str, model: str, prec: str) -> dict[str, Any] | None:
    group = _group(rows, gpu, model, prec)
    pts = [r for r in group if r["interactivity_tok_s_user"] is not None]
    if not pts:
        return None
    front = pareto_frontier([(r["interactivity_tok_s_user"], r["throughput_tok_s_gpu"]) for r in pts])
    used = [r for r in pts if (r["interactivity_tok_s_user"], r["throughput_tok_s_gpu"]) in set(front)]
    engines = sorted({r["engine"] for r in used})
    notes = []
    if any("aiconfigurator" in r["source"] for r in used):
        notes.append("AIC/InferenceX points are derived from measured TTFT/TPOT (about +-10 %, "
                      "research/inference-anchors.md 3.2)")
    if any("mlcommons" in r["source"] for r in used):
        notes.append("MLPerf interactivity is the p99 TPOT floor, not the median")
    if any(TOKENS_PER_MW in r["note"] for r in used):
        notes.append("includes ESTIMATED SemiAnalysis tokens-per-MW points converted per GPU")
    if len(front) == 1:
        notes.append("single point: flat up to it, 0 above")
    curve: dict[str, Any] = {
        "model_class": MODEL_CLASSES[model],
        "precision": prec,
        "engine": " | ".join(engines),
        "derived": False,
        "points": [[i, t] for i, t in front],
        "source": (f"{CSV_REF} rows gpu='{gpu}' model='{model}' precision='{prec}': Pareto frontier, "
                   f"{len(front)} of {len(pts)} interactive rows; upstream: " + " ; ".join(_sources(used))),
        "note": "; ".join(notes) or "as published",
    }
    curve.update(_extras(group))
    return curve


def _scaled(curve: dict[str, Any], key: str, factor: float, how: str) -> dict[str, Any]:
    return {"value": round(curve[key]["value"] * factor, 1),
            "source": f"derived (build_profiles.py choice 6): {how}; reference: {curve[key]['source']}",
            "grade": "D"}


def build_curves(csv_path: Path = CSV_PATH) -> dict[str, list[dict[str, Any]]]:
    """Profile id -> list of curve mappings, exactly as written below the YAML marker."""
    rows = load_rows(csv_path)
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for gpu in GPU_IDS:
        for model in MODEL_CLASSES:
            precs = sorted({r["precision"] for r in rows if r["gpu"] == gpu and r["model"] == model})
            for prec in precs:
                if (gpu, model, prec) in EXCLUDED:
                    continue
                c = _measured_curve(rows, gpu, model, prec)
                if c is not None:
                    out[(gpu, model, prec)] = c
    # choice 6: derived llama-3.3-70b curves
    for gpu, (ref_gpu, prec) in SCALED_70B.items():
        ref = out[(ref_gpu, "Llama-3.3-70B", prec)]
        r_srv, t_srv = _ratio(rows, _mlperf(gpu, prec, "Server"), _mlperf(ref_gpu, prec, "Server"))
        r_int, t_int = _ratio(rows, _mlperf(gpu, prec, "Interactive"), _mlperf(ref_gpu, prec, "Interactive"))
        r_off, t_off = _ratio(rows, _mlperf(gpu, prec, "Offline"), _mlperf(ref_gpu, prec, "Offline"))
        r = min(r_srv, r_int)
        own = _extras(_group(rows, gpu, "Llama-3.3-70B", prec))  # offline rows only, if any
        c = {
            "model_class": "llama-3.3-70b", "precision": prec,
            "engine": f"scaled from {GPU_IDS[ref_gpu]} ({ref['engine']})", "derived": True,
            "points": [[i, round(t * r, 1)] for i, t in ref["points"]],
            "source": (f"derived (build_profiles.py choice 6, grade D): {GPU_IDS[ref_gpu]} llama-3.3-70b "
                       f"{prec} frontier x {r} = min(MLPerf Llama-2-70B Server {t_srv} = {r_srv}, "
                       f"Interactive {t_int} = {r_int}); rows in {CSV_REF}"),
            "note": "no interactive Llama-3.3-70B data for this GPU; interactivity range copied from the reference",
        }
        how = f"reference x MLPerf Offline ratio {t_off} = {r_off}"
        for key in ("prefill_tok_s_gpu", "offline_max_tok_s_gpu"):
            c[key] = own.get(key) or _scaled(ref, key, r_off, how)
        out[(gpu, "Llama-3.3-70B", prec)] = c
    # choice 6: prefill fallbacks
    for (gpu, model, prec), c in out.items():
        if "prefill_tok_s_gpu" in c:
            continue
        if model == "Llama-2-70B":
            src = out[(gpu, "Llama-3.3-70B", prec)]["prefill_tok_s_gpu"]
            c["prefill_tok_s_gpu"] = {
                "value": src["value"], "grade": "D",
                "source": f"same as this GPU's llama-3.3-70b {prec} curve (same 70B architecture): {src['source']}"}
        elif model == "gpt-oss-120b" and gpu in GPT_OSS_PREFILL_REF:
            ref_gpu = GPT_OSS_PREFILL_REF[gpu]
            sel = {"model": "gpt-oss-120b", "note~": TOKENS_PER_MW}
            r, text = _ratio(rows, {**sel, "gpu": gpu}, {**sel, "gpu": ref_gpu})
            ref = out[(ref_gpu, model, prec)]
            c["prefill_tok_s_gpu"] = _scaled(
                ref, "prefill_tok_s_gpu", r,
                f"{GPU_IDS[ref_gpu]} gpt-oss-120b prefill x SemiAnalysis tokens-per-MW ratio {text} = {r}")
        else:
            raise ValueError(f"no prefill observation or fallback for {gpu} {model} {prec}")
    order = ("model_class", "precision", "engine", "derived", "points", "prefill_tok_s_gpu",
             "offline_max_tok_s_gpu", "source", "note")
    by_gpu: dict[str, list[dict[str, Any]]] = {g: [] for g in GPU_IDS.values()}
    for (gpu, model, prec) in sorted(out, key=lambda k: (list(MODEL_CLASSES).index(k[1]), k[2])):
        c = out[(gpu, model, prec)]
        by_gpu[GPU_IDS[gpu]].append({k: c[k] for k in order if k in c})
    return by_gpu


class _Dumper(yaml.SafeDumper):
    """Safe dumper that writes [i, t] pairs inline and never uses anchors/aliases."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: D102
        return True


def _list_repr(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(x, (list, dict)) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _list_repr)


def render(curves: list[dict[str, Any]]) -> str:
    """YAML text of one profile's generated section (without the marker)."""
    return yaml.dump({"curves": curves}, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def write_profiles(directory: Path = HERE, csv_path: Path = CSV_PATH, check: bool = False,
                   log: Callable[[str], None] = print) -> list[Path]:
    """Rewrite (or, with ``check``, compare) the generated section of every profile YAML.

    Returns the files that were (or, in check mode, would be) changed. A YAML without the marker
    line gets it appended after its hand-written part.
    """
    changed: list[Path] = []
    for gpu_id, curves in build_curves(csv_path).items():
        path = directory / f"{gpu_id}.yaml"
        if not path.exists():
            log(f"skip {path.name}: no hand-written profile yet")
            continue
        text = path.read_text(encoding="utf-8")
        head = text.split(MARKER, 1)[0].rstrip("\n") + "\n"
        new = head + MARKER + "\n" + render(curves)
        if new != text:
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
        log(f"{'stale' if check and new != text else 'ok'} {path.name}: "
            + ", ".join(f"{c['model_class']}/{c['precision']}" for c in curves))
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a YAML differs from the CSV")
    args = ap.parse_args(argv)
    changed = write_profiles(check=args.check)
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
