"""Commands of the decision analyses: budget, commit, tco, sensitivity, compare, report.

Each command parses its flags, calls ``sim.studies`` (which run the engines) or ``sim.analysis`` (on
results files) and ``sim.report``, and prints a table, or exactly one JSON object with ``--json``.
Bad input raises ``UsageError`` (exit status 2, one message each).

A results file is checked before it is read (``sim.mc.checks``): a file that cannot give an honest
answer (not a tokensim results file, a variable the command reads missing, no paths, paths that do
not match its attributes or repeat, values not finite) is refused with exit status 2 and one
message per problem, each naming the file: error kind "usage" for its structure (like a file that
cannot be read), "result" when only values are not finite.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .common import (
    MAX_MONTH_INDEX,
    MAX_PATHS,
    MAX_SOBOL_SAMPLES,
    MAX_TRAJECTORIES,
    Checked,
    Choice,
    MonthList,
    Number,
    OutFile,
    Probability,
    UsageError,
    Whole,
    add_xlsx,
    output_dir,
    load_checked,
    write_xlsx,
    xlsx_target,
)
from .common import EXIT_BAD_INPUT
from .common import emit as _emit_json
from .registry import Command

if TYPE_CHECKING:
    import xarray as xr

PATHS = Whole(1, MAX_PATHS, "the cap of the scenario key paths")


def _usage(msg: str) -> Exception:
    return UsageError(msg)


def _emit(args: argparse.Namespace, obj: dict, text: str) -> None:
    from ..analysis.common import jsonable

    _emit_json(args, jsonable(obj), text)


def _read(path: str):
    """(Dataset, the file read) of a results file or its run directory; one that cannot be read is a usage error."""
    from ..mc.results import open_results, results_file

    p = Path(path)
    if not p.exists():
        raise _usage(f"results file not found: {path} (write one with: tokensim run SCENARIO --out DIR)")
    if p.is_dir() and p.suffix != ".zarr" and not ((p / "results.nc").exists() or (p / "results.zarr").exists()):
        raise _usage(f"{path} is a directory without results.nc or results.zarr")
    f = results_file(p)
    if not f.is_dir() and not f.is_file():  # a FIFO would hang the reader, a device never end
        raise _usage(f"{f} is not a regular file (a FIFO, device or socket); give a results file")
    try:
        ds = open_results(p)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise _usage(f"cannot read results file {path}: {type(exc).__name__}: {exc}") from None
    return ds, str(results_file(p))


def _results(path: str, command: str):
    """A results file checked for ``tokensim COMMAND`` (``sim.mc.checks``): ``ResultsFileError`` with every
    problem, each naming the file, when it cannot give an honest answer."""
    from ..mc import checks

    ds, source = _read(path)
    if command == "report":
        need, optional = checks.report_variables(ds)
    else:
        need, optional = {"budget": checks.BUDGET, "compare": checks.COMPARE}[command], ()
        if command == "compare":
            optional = checks.OUTCOMES  # checked finite when present
    return checks.check_results(ds, need, source=source, purpose=f"tokensim {command}", optional=optional)


def _refusing(cmd):
    """A command that reads results files: one it refuses (``ResultsFileError``) ends in exit status 2 with
    every problem, reported as ``sim.cli.app`` reports bad input (one JSON object with --json; each message
    on stderr)."""

    @functools.wraps(cmd)
    def run(args: argparse.Namespace) -> int:
        from ..mc.checks import ResultsFileError

        try:
            return cmd(args)
        except ResultsFileError as exc:
            problems = [f"tokensim: {m}" for m in exc.problems]
            if getattr(args, "json", False):
                sys.stdout.write(json.dumps({"ok": False, "error": exc.kind, "problems": problems}) + "\n")
            for m in problems:
                sys.stderr.write(m + "\n")
            return EXIT_BAD_INPUT

    return run


def _scenario(path: str):
    return load_checked(path)


def find_scenario(ds: xr.Dataset, roots: list[Path] | None = None):
    """The scenario file a results Dataset came from (same scenario hash, or same name and seed-adjusted hash)."""
    from ..mc.results import scenario_hash
    from ..scenario import load_scenario

    name, want = ds.attrs.get("scenario"), ds.attrs.get("scenario_hash")
    roots = roots or [Path.cwd() / "scenarios", Path(__file__).resolve().parents[2] / "scenarios"]
    seen = set()
    cands = []
    for r in roots:
        if r.is_dir():
            for p in sorted(r.rglob("*.yaml")):
                if p.resolve() not in seen:
                    seen.add(p.resolve())
                    cands.append(p)
    cands.sort(key=lambda p: p.stem != name)
    for p in cands:
        try:
            sc = load_scenario(p)
        except Exception:  # noqa: BLE001 - a broken file is simply not the one
            continue
        if sc.name != name:
            continue
        if scenario_hash(sc) == want:
            return sc, p
        sc2 = sc.model_copy(update={"seed": int(ds.attrs.get("seed", sc.seed))})
        if scenario_hash(sc2) == want:
            return sc2, p
    return None, None


def _paths(args, sc) -> int:
    n = args.paths if args.paths is not None else sc.paths
    if n <= 0:
        raise _usage(f"--paths must be a positive whole number, got {n}")
    return int(n)


def _prob(name: str, v: float) -> float:
    if not 0.0 < v < 1.0:
        raise _usage(f"{name} must lie strictly between 0 and 1, got {v}")
    return v


def _analysis(fn, *a, **kw):
    """Call an analysis; its AnalysisError becomes a usage error (bad option for this input)."""
    from ..analysis.common import AnalysisError
    from ..mc.runner import RunError

    try:
        return fn(*a, **kw)
    except (AnalysisError, RunError) as exc:
        raise _usage(str(exc)) from None


# ---- budget -----------------------------------------------------------------------------------------
def add_budget(b: argparse.ArgumentParser) -> None:
    b.add_argument("results", metavar="RESULTS", help="results.nc (or its directory) written by tokensim run")
    b.add_argument("--budget", action=Checked, check=Number(ge=0), metavar="AMOUNT",
                   help="budget per period, in the scenario's currency")
    b.add_argument("--period", action=Checked, check=Choice(("month", "quarter", "year", "horizon")), default="year")
    b.add_argument("--confidence", action=Checked, check=Probability(), default=0.9,
                   help="confidence of the budget (default 0.9)")
    b.add_argument("--strategy", help="strategy of the results (default: the first)")
    b.add_argument("--actuals", metavar="CSV",
                   help="daily actual cost (the *.actuals.csv of tokensim calibrate): year to date, burn rate, the "
                        "rest of the year and the date the --budget (for the year) runs out")
    add_xlsx(b)


@_refusing
def cmd_budget(args: argparse.Namespace) -> int:
    from ..analysis.budget import budget_analysis, budget_text

    t0 = time.time()
    if args.actuals and args.budget is None:
        raise _usage("--actuals needs --budget: the year's budget whose runway it measures")
    ds = _results(args.results, "budget")
    xlsx = xlsx_target(args)
    r = _analysis(budget_analysis, ds, strategy=args.strategy, period=args.period, budget=args.budget,
                  confidence=args.confidence)
    obj = {"ok": True, "results": args.results, **{k: v for k, v in r.items() if k != "p_exceed"}}
    if args.budget is not None:
        obj["p_exceed"] = r["p_exceed"]
    text = budget_text(r)
    if args.actuals:
        from ..analysis.runway import read_actuals, runway, runway_text

        acts = _analysis(read_actuals, args.actuals, [str(w) for w in ds["workload"].values])
        rw = _analysis(runway, ds, acts, args.budget, strategy=args.strategy)
        obj["runway"] = rw
        text += "\n\n" + runway_text(rw)
    if xlsx is not None:
        from ..report.sheets import budget_sheets

        text += "\n" + write_xlsx(xlsx, budget_sheets(r, obj.get("runway")), r["currency"], obj)
    obj["seconds"] = round(time.time() - t0, 2)
    _emit(args, obj, text)
    return 0


# ---- commit ------------------------------------------------------------------------------------------
def add_commit(c: argparse.ArgumentParser) -> None:
    c.add_argument("scenario", metavar="SCENARIO")
    c.add_argument("--paths", action=Checked, check=PATHS, metavar="N",
                   help=f"paths, 1..{MAX_PATHS} (default: the scenario's)")
    c.add_argument("--cvar", action=Checked, check=Probability(), default=0.95, help="CVaR level (default 0.95)")
    c.add_argument("--threshold", action=Checked, check=Probability(), default=0.8,
                   help="utilisation threshold (default 0.8)")
    from .size_cmds import add_latency_args, add_quote_args

    g = c.add_argument_group("provisioned options found by a search (tokensim size over the term)")
    g.add_argument("--provisioned", metavar="PROVIDER/MODEL",
                   help="add the provisioned-unit counts the term search puts forward for this profile as options")
    g.add_argument("--workload", help="with --provisioned: the workload whose API requests the units serve")
    g.add_argument("--slo", action="append", metavar='"p99 e2e <= 1.5s"', help="with --provisioned (repeatable)")
    g.add_argument("--term", action=Checked, check=Choice(("1w", "1m", "3m", "6m", "1y")), default="1y")
    g.add_argument("--month", action=Checked, check=Whole(0, MAX_MONTH_INDEX), default=0, metavar="M",
                   help="with --provisioned: the month the term starts (its busiest day is the sized stream)")
    g.add_argument("--breach-target", action=Checked, check=Number(ge=0.0, le=0.999), default=0.05, metavar="P")
    add_latency_args(g)
    add_quote_args(g)
    add_xlsx(c)


def cmd_commit(args: argparse.Namespace) -> int:
    from ..analysis.commit import commit_text
    from ..studies.commit import run_commit

    t0 = time.time()
    _prob("--cvar", args.cvar)
    _prob("--threshold", args.threshold)
    sc = _scenario(args.scenario)
    xlsx = xlsx_target(args)
    searched, extra = None, ""
    if args.provisioned:
        sc, searched, extra = _provisioned_options(args, sc)
    elif args.workload or args.slo:
        raise UsageError("--workload and --slo are for --provisioned PROFILE: the profile whose units to search")
    r, _ = _analysis(run_commit, sc, paths=_paths(args, sc), cvar_level=args.cvar, threshold=args.threshold)
    obj = {"ok": True, **{k: v for k, v in r.items() if k != "utilization_samples"},
           "nothing_to_compare": len(r["options"]) < 2 or not any(o["commit"] for o in r["options"]),
           "seconds": round(time.time() - t0, 2)}
    if searched is not None:
        obj["provisioned_search"] = searched
    if xlsx is not None:
        from ..report.sheets import commit_sheets

        extra += "\n" + write_xlsx(xlsx, commit_sheets(r, searched), r["currency"], obj)
    _emit(args, obj, commit_text(r) + extra + f"\n({time.time() - t0:.1f} s)")
    return 0


def _provisioned_options(args: argparse.Namespace, sc) -> tuple:
    """``commit --provisioned``: search the profile's units over the term, add the counts it puts
    forward as strategies. Returns the scenario, the search's JSON and its text."""
    import numpy as np

    from ..studies.commit import provisioned_candidates, with_provisioned_options
    from ..studies.size import request_arrays, provisioned_server
    from .size_cmds import baseline_latency, check_term, over_term, parse_objectives, provisioned_profile, \
        refuse_tpot, term_text, workload_stream

    if not args.workload or not args.slo:
        raise UsageError("--provisioned needs --workload NAME and at least one --slo \"pNN ttft|e2e <= T\"")
    objectives = parse_objectives(args.slo)
    refuse_tpot(objectives)
    prof = provisioned_profile(args.provisioned, args.term, args)
    wl = next((w for w in sc.token_workloads if w.name == args.workload), None)
    if wl is not None and (not wl.models.api or wl.models.api.split("/")[-1].lower() != prof.model.lower()):
        raise UsageError(f"--provisioned {prof.name} serves {prof.model}, but {args.workload} calls {wl.models.api}: "
                         "units of another model cannot take its tokens in the commit simulation. Choose a profile of "
                         f"{wl.models.api}, or size it hypothetically with tokensim size")
    check_term(args, sc)  # before the DES runs
    requests, info, warnings = workload_stream(sc, args.scenario, args.workload, args.month, prof)
    args.profile, args.source = prof.name, args.scenario  # what over_term reads
    server, pay, _ = provisioned_server(requests, prof, term=args.term, queue_limit_s=args.queue_limit,
                                        base=baseline_latency(args), price_date=sc.price_date)
    ts = over_term(args, sc, requests, server, pay, objectives, info)
    cands = provisioned_candidates(ts)
    if not cands:
        raise UsageError(f"--provisioned {prof.name}: the search put forward no unit count (see tokensim size)")
    _, fresh, cached, _, out = request_arrays(requests)
    raw = float((fresh + cached + out).sum())
    # raw tokens as the Monte Carlo counts them (prompt, cached and output, reasoning included once)
    # per burndown-weighted token the units do
    raw_per_work = raw / (float(np.sum(server.work)) * float(prof.tokens_per_second))
    others = [w.name for w in sc.token_workloads if w.name != args.workload and w.models.api == wl.models.api
              and "api" in w.allowed_pools]
    if others:
        warnings.append(f"{', '.join(others)} also {'calls' if len(others) == 1 else 'call'} {wl.models.api}: the "
                        f"contract covers {args.workload} alone (its workloads: key), as the search sized it")
    sc2, options = with_provisioned_options(sc, prof, term=args.term, month=args.month, workload=args.workload,
                                            candidates=cands, raw_per_work=raw_per_work)
    searched = {"profile": prof.name, "workload": args.workload, "options": options,
                "tokens_per_minute_per_unit": round(float(prof.tokens_per_second) * 60.0 * raw_per_work, 2),
                "over_term": ts.to_json(), "warnings": warnings}
    text = ["", f"provisioned options searched for {args.workload} on {prof.name} "
                f"({', '.join(str(o) for o in objectives)}):"]
    text += [f"  {o['strategy']}: {o['units']} {prof.unit} — {o['why']}" for o in options]
    text += ["  the commit simulation settles the units hour by hour; the search below sees their seconds"]
    text += term_text(ts, prof.unit) + [f"  warning: {w}" for w in warnings]
    return sc2, searched, "\n".join(text)


# ---- tco -----------------------------------------------------------------------------------------------
def add_tco(t: argparse.ArgumentParser) -> None:
    t.add_argument("scenario", metavar="SCENARIO")
    t.add_argument("--paths", action=Checked, check=PATHS, metavar="N",
                   help=f"paths of the purchase-month sweep, 1..{MAX_PATHS} (default: the scenario's)")
    t.add_argument("--workload", help="workload whose token mix prices the pools (default: the one the owned strategy moves)")
    t.add_argument("--month", action=Checked, check=Whole(0, MAX_MONTH_INDEX), default=0, metavar="M",
                   help="horizon month of the crossover prices (default 0)")
    t.add_argument("--draws", action=Checked, check=Whole(0, MAX_PATHS, "the cap of the scenario key paths"),
                   default=400, metavar="N",
                   help=f"draws of the uncertain inputs for the crossover distribution, 0..{MAX_PATHS} (default 400)")
    t.add_argument("--purchase-months", action=Checked, check=MonthList(), metavar="M,M,...",
                   help="months to sweep, e.g. 0,6,12 (default: every M/12 months)")
    t.add_argument("--no-sweep", action="store_true", help="skip the Monte Carlo purchase-month sweep")
    add_xlsx(t)


def cmd_tco(args: argparse.Namespace) -> int:
    from ..analysis.tco import tco_text
    from ..studies.tco import tco_analysis

    t0 = time.time()
    sc = _scenario(args.scenario)
    xlsx = xlsx_target(args)
    months = args.purchase_months  # whole months >= 0, sorted, checked while parsing
    r = _analysis(tco_analysis, sc, workload=args.workload, paths=_paths(args, sc), month=args.month,
                  draws=args.draws, purchase_months=months, run_sweep=not args.no_sweep)
    obj = {"ok": True, **r, "seconds": round(time.time() - t0, 2)}
    extra = ""
    if xlsx is not None:
        from ..report.sheets import tco_sheets

        extra = "\n" + write_xlsx(xlsx, tco_sheets(r), r["currency"], obj)
    _emit(args, obj, tco_text(r) + extra + f"\n({time.time() - t0:.1f} s)")
    return 0


# ---- sensitivity ---------------------------------------------------------------------------------------
def add_sensitivity(s: argparse.ArgumentParser) -> None:
    s.add_argument("scenario", metavar="SCENARIO")
    s.add_argument("--method", action=Checked, check=Choice(("morris", "sobol", "tornado")), default="morris")
    s.add_argument("--metric", default="total_spend",
                   help="total_spend, spend:YYYY, pool:NAME, business_unit:NAME, workload:NAME, peak_month_spend, "
                        "last_month_spend, tokens, net_value, cost_per_outcome:WORKLOAD (workloads with an outcome)")
    s.add_argument("--strategy", help="apply one of the scenario's strategies")
    s.add_argument("--trajectories", action=Checked, check=Whole(2, MAX_TRAJECTORIES), default=8, metavar="R",
                   help=f"Morris trajectories, 2..{MAX_TRAJECTORIES} (default 8)")
    s.add_argument("--samples", action=Checked, check=Whole(2, MAX_SOBOL_SAMPLES), default=32, metavar="N",
                   help=f"Sobol base samples N, a power of two, 2..{MAX_SOBOL_SAMPLES} (default 32)")


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from ..analysis.sensitivity import sensitivity_text
    from ..studies.sensitivity import sensitivity_analysis

    t0 = time.time()
    sc = _scenario(args.scenario)
    r = _analysis(sensitivity_analysis, sc, method=args.method, metric=args.metric, strategy=args.strategy,
                  trajectories=args.trajectories, samples=args.samples)
    obj = {"ok": True, **r, "seconds": round(time.time() - t0, 2)}
    _emit(args, obj, sensitivity_text(r) + f"\n({time.time() - t0:.1f} s)")
    return 0


# ---- compare -----------------------------------------------------------------------------------------------
def add_compare(m: argparse.ArgumentParser) -> None:
    m.add_argument("a", metavar="A", help="scenario YAML or results file")
    m.add_argument("b", metavar="B", nargs="?",
                   help="scenario YAML or results file; omitted: rank every strategy of A by net value and cost per "
                        "outcome (by spend when A has no outcomes)")
    m.add_argument("--paths", action=Checked, check=PATHS, metavar="N",
                   help=f"paths when comparing scenarios, 1..{MAX_PATHS} (default: the smaller scenario's)")
    m.add_argument("--strategy-a", help="strategy of A (default: the first)")
    m.add_argument("--strategy-b", help="strategy of B (default: the first)")


def _both(read, a: str, b: str) -> list:
    """``[read(a), read(b)]``; when both files are refused, every problem of both."""
    from ..mc.checks import NonFiniteResultsFileError, ResultsFileError

    out, errors = [], []
    for f in (a, b):
        try:
            out.append(read(f))
        except ResultsFileError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        problems = [m for e in errors for m in e.problems]
        if all(isinstance(e, NonFiniteResultsFileError) for e in errors):
            raise NonFiniteResultsFileError(problems, "result")
        raise ResultsFileError(problems, "usage")
    return out


def _is_results(path: str) -> bool:
    p = Path(path)
    return p.suffix in (".nc", ".zarr") or (p.is_dir() and ((p / "results.nc").exists() or (p / "results.zarr").exists()))


@_refusing
def cmd_compare(args: argparse.Namespace) -> int:
    from ..analysis.compare import compare_datasets, compare_text
    from ..studies.compare import compare_scenarios

    t0 = time.time()
    if args.b is None:
        return _rank(args, t0)
    ra, rb = _is_results(args.a), _is_results(args.b)
    if ra != rb:
        raise _usage("compare two scenarios or two results files, not one of each")
    labels = (Path(args.a).stem if Path(args.a).stem != "results" else Path(args.a).parent.name,
              Path(args.b).stem if Path(args.b).stem != "results" else Path(args.b).parent.name)
    if ra:
        da, db = _both(lambda f: _results(f, "compare"), args.a, args.b)
        r = _analysis(compare_datasets, da, db, strategy_a=args.strategy_a, strategy_b=args.strategy_b,
                      labels=labels)
    else:
        sa, sb = _scenario(args.a), _scenario(args.b)
        r = _analysis(compare_scenarios, sa, sb, paths=_paths(args, sa), strategy_a=args.strategy_a,
                      strategy_b=args.strategy_b, labels=labels)
    obj = {"ok": True, **r, "seconds": round(time.time() - t0, 2)}
    _emit(args, obj, compare_text(r) + f"\n({time.time() - t0:.1f} s)")
    return 0


def _rank(args: argparse.Namespace, t0: float) -> int:
    """``compare A``: every strategy of one results file or scenario, ranked."""
    from ..analysis.compare import rank_strategies, rank_text
    from ..studies.compare import rank_scenario

    if args.strategy_a or args.strategy_b:
        raise _usage("--strategy-a/--strategy-b choose the strategies of two inputs; with one input every strategy "
                     "is ranked")
    label = Path(args.a).stem if Path(args.a).stem != "results" else Path(args.a).parent.name
    if _is_results(args.a):
        r = _analysis(rank_strategies, _results(args.a, "compare"), label)
    else:
        sc = _scenario(args.a)
        r = _analysis(rank_scenario, sc, paths=_paths(args, sc), label=label)
    obj = {"ok": True, **r, "seconds": round(time.time() - t0, 2)}
    _emit(args, obj, rank_text(r) + f"\n({time.time() - t0:.1f} s)")
    return 0


# ---- report ----------------------------------------------------------------------------------------------------
def add_report(r: argparse.ArgumentParser) -> None:
    r.add_argument("results", metavar="RESULTS")
    r.add_argument("-o", "--output", action=Checked, check=OutFile((".html", ".htm")), required=True,
                   metavar="REPORT.html")
    r.add_argument("--budget", action=Checked, check=Number(ge=0), metavar="AMOUNT", help="yearly budget to mark")
    r.add_argument("--confidence", action=Checked, check=Probability(), default=0.9)
    r.add_argument("--scenario", help="scenario file of the results (default: found under scenarios/ by name and hash)")
    r.add_argument("--strategy", metavar="NAME",
                   help="the strategy the report is about, in every section (default: the first); the section "
                        "'Strategies side by side' compares them all")
    r.add_argument("--tco-paths", action=Checked, check=Whole(0, MAX_PATHS, "the cap of the scenario key paths"),
                   default=200, metavar="N", help=f"paths of the purchase-month sweep, 0..{MAX_PATHS} (0: skip it)")
    r.add_argument("--no-sensitivity", action="store_true", help="leave out the tornado")
    r.add_argument("--actuals", metavar="CSV",
                   help="daily actual cost (the *.actuals.csv of tokensim calibrate): a section 'Budget against "
                        "actuals' with year to date, burn rate, the rest of the year and the date the --budget (for "
                        "the year) runs out, as tokensim budget --actuals")
    r.add_argument("--backtest", metavar="JSON",
                   help="what tokensim backtest --json printed, saved to a file: a section with its scores and PIT")
    r.add_argument("--size", action="append", metavar="JSON", default=[],
                   help="what tokensim size --json printed, saved to a file (repeatable): a capacity-sizing section "
                        "(the plans, and over the term the breach probability and expected cost by unit count)")
    r.add_argument("--backtest-days", metavar="CSV",
                   help="the held-out days tokensim backtest --csv wrote (the same run as --backtest): the band-vs-"
                        "actual chart")
    add_xlsx(r)


def _report_strategy(ds, name: str | None) -> str:
    """The strategy a report is about: ``--strategy`` (one of the results'), else the first."""
    from ..analysis.common import AnalysisError, pick_strategy

    try:
        return pick_strategy(ds, name)
    except AnalysisError as exc:
        raise _usage(f"--strategy: {exc}") from None


@_refusing
def cmd_report(args: argparse.Namespace) -> int:
    from ..report.html import build_report, chart_count, write_report
    from ..studies.report import ReportStudy, report_study

    t0 = time.time()
    out = Path(args.output)
    if args.actuals and args.budget is None:
        raise _usage("--actuals needs --budget: the year's budget whose runway it measures")
    if args.backtest_days and not args.backtest:
        raise _usage("--backtest-days needs --backtest: the scores (tokensim backtest --json) of the same run")
    ds = _results(args.results, "report")
    strategy = _report_strategy(ds, args.strategy)  # a bad --strategy fails before anything else is read or run
    acts = rw = bt = bt_days = None
    if args.actuals:  # read, and the runway found, before any engine runs: as tokensim budget --actuals does
        from ..analysis.runway import read_actuals, runway

        acts = _analysis(read_actuals, args.actuals, [str(w) for w in ds["workload"].values])
        rw = _analysis(runway, ds, acts, args.budget, strategy=strategy)
    if args.backtest:
        from ..report.backtest import read_backtest, read_backtest_days

        bt = _analysis(read_backtest, args.backtest)
        if args.backtest_days:
            bt_days = _analysis(read_backtest_days, args.backtest_days, bt)
    sizings = []
    if args.size:
        from ..report.sizing import read_sizing

        sizings = [(f, _analysis(read_sizing, f)) for f in args.size]
    output_dir(str(out.parent), out.parent)  # one writer: held until the command ends
    xlsx = xlsx_target(args)
    if args.scenario:
        sc, sc_file = _scenario(args.scenario), args.scenario
    else:
        sc, sc_file = find_scenario(ds)
        if sc is None:
            sys.stderr.write(f"tokensim: note: no scenario file matching {ds.attrs.get('scenario')!r} was found under "
                             "scenarios/; the report leaves out crossovers, purchase months and drivers "
                             "(pass --scenario FILE)\n")
    study = (_analysis(report_study, sc, strategy=strategy, tco_paths=args.tco_paths,
                       sensitivity=not args.no_sensitivity) if sc is not None else ReportStudy())
    page, tables, summary = _analysis(build_report, ds, scenario=sc, scenario_file=str(sc_file) if sc_file else None,
                                      budget=args.budget, confidence=args.confidence, strategy=strategy,
                                      **study.kwargs(), actuals=acts, runway=rw, backtest=bt,
                                      backtest_days=bt_days, backtest_file=args.backtest,
                                      backtest_days_file=args.backtest_days, sizings=sizings)
    # money at cents in the CSVs and the workbook alike (sim.report.sheets gives each table its units)
    from ..io.files import staged
    from ..io.workbook import rounded, write_workbook
    from ..report.sheets import report_sheets

    sheets = report_sheets(tables, quantity=(bt or {}).get("quantity", "requests"))
    with staged():  # the workbook is put in place once the page and its tables are
        if xlsx is not None:
            write_workbook(xlsx, sheets, currency=str(ds.attrs.get("currency", "")))
        files = write_report(out, page, {name: rounded(t) for name, t in sheets.items()})
    seconds = time.time() - t0
    obj = {"ok": True, "report": str(out), "files": [str(f) for f in files], "bytes": len(page.encode()),
           "images": chart_count(page), **summary, "seconds": round(seconds, 2)}
    text = (f"Wrote {out} ({len(page.encode()) / 1024:,.0f} kB, {chart_count(page)} charts) and "
            f"{len(files) - 1} CSV tables beside it ({seconds:.1f} s)")
    if xlsx is not None:
        obj["xlsx"] = str(xlsx)
        text += f"\nWrote {xlsx} ({len(sheets)} sheet{'' if len(sheets) == 1 else 's'})"
    if rw is not None:
        from ..analysis.runway import runway_text

        text += "\n\n" + runway_text(rw)
    _emit(args, obj, text)
    return 0


COMMANDS: tuple[Command, ...] = (
    Command("budget", "spend quantiles by period, P(spend > budget), budget at confidence, chargeback", add_budget,
            cmd_budget),
    Command("commit", "compare commit options with common random numbers; newsvendor and CVaR optima", add_commit,
            cmd_commit),
    Command("tco", "crossover volumes API / neocloud / owned, purchase-month NPV, P(regret)", add_tco, cmd_tco),
    Command("sensitivity", "tornado and Morris (default) or Sobol indices of an output", add_sensitivity,
            cmd_sensitivity),
    Command("compare", "two scenarios or two results side by side, with paired differences", add_compare,
            cmd_compare),
    Command("report", "one self-contained HTML report with charts, CSV tables beside it", add_report, cmd_report),
)
