"""Command-line commands of the decision analyses: budget, commit, tco, sensitivity, compare, report.

``add_parsers(subparsers)`` registers them on the ``tokensim`` parser (``sim.cli``). Each command
parses its flags, calls ``sim.analysis`` / ``sim.report`` and prints a table, or exactly one JSON
object with ``--json``. Bad input raises ``sim.cli.UsageError`` (exit status 2, one message).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

COMMANDS = ("budget", "commit", "tco", "sensitivity", "compare", "report")


def _usage(msg: str) -> Exception:
    from .cli import UsageError

    return UsageError(msg)


def _emit(args: argparse.Namespace, obj: dict, text: str) -> None:
    from .analysis.common import jsonable
    from .cli import _emit as emit

    emit(args, jsonable(obj), text)


def _results(path: str):
    from .mc.results import open_results

    p = Path(path)
    if not p.exists():
        raise _usage(f"results file not found: {path} (write one with: tokensim run SCENARIO --out DIR)")
    if p.is_dir() and not ((p / "results.nc").exists() or (p / "results.zarr").exists()):
        raise _usage(f"{path} is a directory without results.nc or results.zarr")
    try:
        ds = open_results(p)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise _usage(f"cannot read results file {path}: {type(exc).__name__}: {exc}") from None
    need = ("spend", "strategy", "path", "month")
    missing = [v for v in need if v not in ds.variables]
    if missing:
        raise _usage(f"{path} is not a tokensim results file (missing {', '.join(missing)})")
    return ds


def _scenario(path: str):
    from .scenario import load_scenario

    if not Path(path).exists():
        raise _usage(f"scenario file not found: {path}")
    return load_scenario(path)


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
    from .analysis.common import AnalysisError
    from .mc.runner import RunError

    try:
        return fn(*a, **kw)
    except (AnalysisError, RunError) as exc:
        raise _usage(str(exc)) from None


# ---- budget -----------------------------------------------------------------------------------------
def cmd_budget(args: argparse.Namespace) -> int:
    from .analysis.budget import budget_analysis, budget_text

    t0 = time.time()
    _prob("--confidence", args.confidence)
    if args.budget is not None and args.budget < 0:
        raise _usage(f"--budget must be >= 0, got {args.budget}")
    ds = _results(args.results)
    r = _analysis(budget_analysis, ds, strategy=args.strategy, period=args.period, budget=args.budget,
                  confidence=args.confidence)
    obj = {"ok": True, "results": args.results, **{k: v for k, v in r.items() if k != "p_exceed"}}
    if args.budget is not None:
        obj["p_exceed"] = r["p_exceed"]
    obj["seconds"] = round(time.time() - t0, 2)
    _emit(args, obj, budget_text(r))
    return 0


# ---- commit ------------------------------------------------------------------------------------------
def cmd_commit(args: argparse.Namespace) -> int:
    from .analysis.commit import commit_text, run_commit

    t0 = time.time()
    _prob("--cvar", args.cvar)
    _prob("--threshold", args.threshold)
    sc = _scenario(args.scenario)
    r, _ = _analysis(run_commit, sc, paths=_paths(args, sc), cvar_level=args.cvar, threshold=args.threshold)
    obj = {"ok": True, **{k: v for k, v in r.items() if k != "utilization_samples"},
           "seconds": round(time.time() - t0, 2)}
    _emit(args, obj, commit_text(r) + f"\n({time.time() - t0:.1f} s)")
    return 0


# ---- tco -----------------------------------------------------------------------------------------------
def cmd_tco(args: argparse.Namespace) -> int:
    from .analysis.tco import tco_analysis, tco_text

    t0 = time.time()
    sc = _scenario(args.scenario)
    months = None
    if args.purchase_months:
        try:
            months = sorted({int(x) for x in args.purchase_months.split(",") if x.strip()})
        except ValueError:
            raise _usage(f"--purchase-months takes whole months separated by commas, got {args.purchase_months!r}") from None
    if args.draws < 0:
        raise _usage(f"--draws must be >= 0, got {args.draws}")
    r = _analysis(tco_analysis, sc, workload=args.workload, paths=_paths(args, sc), month=args.month,
                  draws=args.draws, purchase_months=months, run_sweep=not args.no_sweep)
    obj = {"ok": True, **r, "seconds": round(time.time() - t0, 2)}
    _emit(args, obj, tco_text(r) + f"\n({time.time() - t0:.1f} s)")
    return 0


# ---- sensitivity ---------------------------------------------------------------------------------------
def cmd_sensitivity(args: argparse.Namespace) -> int:
    from .analysis.sensitivity import sensitivity_analysis, sensitivity_text

    t0 = time.time()
    sc = _scenario(args.scenario)
    if args.trajectories < 2:
        raise _usage(f"--trajectories must be >= 2, got {args.trajectories}")
    if args.samples < 2:
        raise _usage(f"--samples must be >= 2, got {args.samples}")
    r = _analysis(sensitivity_analysis, sc, method=args.method, metric=args.metric, strategy=args.strategy,
                  trajectories=args.trajectories, samples=args.samples)
    obj = {"ok": True, **r, "seconds": round(time.time() - t0, 2)}
    _emit(args, obj, sensitivity_text(r) + f"\n({time.time() - t0:.1f} s)")
    return 0


# ---- compare -----------------------------------------------------------------------------------------------
def _is_results(path: str) -> bool:
    p = Path(path)
    return p.suffix in (".nc", ".zarr") or (p.is_dir() and ((p / "results.nc").exists() or (p / "results.zarr").exists()))


def cmd_compare(args: argparse.Namespace) -> int:
    from .analysis.compare import compare_datasets, compare_scenarios, compare_text

    t0 = time.time()
    ra, rb = _is_results(args.a), _is_results(args.b)
    if ra != rb:
        raise _usage("compare two scenarios or two results files, not one of each")
    labels = (Path(args.a).stem if Path(args.a).stem != "results" else Path(args.a).parent.name,
              Path(args.b).stem if Path(args.b).stem != "results" else Path(args.b).parent.name)
    if ra:
        r = _analysis(compare_datasets, _results(args.a), _results(args.b), strategy_a=args.strategy_a,
                      strategy_b=args.strategy_b, labels=labels)
    else:
        sa, sb = _scenario(args.a), _scenario(args.b)
        r = _analysis(compare_scenarios, sa, sb, paths=_paths(args, sa), strategy_a=args.strategy_a,
                      strategy_b=args.strategy_b, labels=labels)
    obj = {"ok": True, **r, "seconds": round(time.time() - t0, 2)}
    _emit(args, obj, compare_text(r) + f"\n({time.time() - t0:.1f} s)")
    return 0


# ---- report ----------------------------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    from .report.html import build_report, find_scenario, write_report

    t0 = time.time()
    _prob("--confidence", args.confidence)
    if args.budget is not None and args.budget < 0:
        raise _usage(f"--budget must be >= 0, got {args.budget}")
    if args.tco_paths < 0:
        raise _usage(f"--tco-paths must be >= 0, got {args.tco_paths}")
    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise _usage(f"-o/--output must name an .html file, got {args.output}")
    ds = _results(args.results)
    if args.scenario:
        sc, sc_file = _scenario(args.scenario), args.scenario
    else:
        sc, sc_file = find_scenario(ds)
        if sc is None:
            sys.stderr.write(f"tokensim: note: no scenario file matching {ds.attrs.get('scenario')!r} was found under "
                             "scenarios/; the report leaves out crossovers, purchase months and drivers "
                             "(pass --scenario FILE)\n")
    page, tables, summary = _analysis(build_report, ds, scenario=sc, scenario_file=str(sc_file) if sc_file else None,
                                      budget=args.budget, confidence=args.confidence, strategy=args.strategy,
                                      tco_paths=args.tco_paths, sensitivity=not args.no_sensitivity)
    files = write_report(out, page, tables)
    seconds = time.time() - t0
    obj = {"ok": True, "report": str(out), "files": [str(f) for f in files], "bytes": len(page.encode()),
           "images": page.count("<img "), **summary, "seconds": round(seconds, 2)}
    text = (f"Wrote {out} ({len(page.encode()) / 1024:,.0f} kB, {page.count('<img ')} charts) and "
            f"{len(files) - 1} CSV tables beside it ({seconds:.1f} s)")
    _emit(args, obj, text)
    return 0


# ---- parsers --------------------------------------------------------------------------------------------------------
def add_parsers(sub) -> None:
    """Register the analysis commands on ``tokensim``'s sub-parsers."""
    b = sub.add_parser("budget", help="spend quantiles by period, P(spend > budget), budget at confidence, chargeback")
    b.add_argument("results", metavar="RESULTS", help="results.nc (or its directory) written by tokensim run")
    b.add_argument("--budget", type=float, metavar="AMOUNT", help="budget per period, in the scenario's currency")
    b.add_argument("--period", choices=("month", "quarter", "year", "horizon"), default="year")
    b.add_argument("--confidence", type=float, default=0.9, help="confidence of the budget (default 0.9)")
    b.add_argument("--strategy", help="strategy of the results (default: the first)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=cmd_budget)

    c = sub.add_parser("commit", help="compare commit options with common random numbers; newsvendor and CVaR optima")
    c.add_argument("scenario", metavar="SCENARIO")
    c.add_argument("--paths", type=int, help="paths (default: the scenario's)")
    c.add_argument("--cvar", type=float, default=0.95, help="CVaR level (default 0.95)")
    c.add_argument("--threshold", type=float, default=0.8, help="utilisation threshold (default 0.8)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=cmd_commit)

    t = sub.add_parser("tco", help="crossover volumes API / neocloud / owned, purchase-month NPV, P(regret)")
    t.add_argument("scenario", metavar="SCENARIO")
    t.add_argument("--paths", type=int, help="paths of the purchase-month sweep (default: the scenario's)")
    t.add_argument("--workload", help="workload whose token mix prices the pools (default: the one the owned strategy moves)")
    t.add_argument("--month", type=int, default=0, help="horizon month of the crossover prices (default 0)")
    t.add_argument("--draws", type=int, default=400, help="draws of the uncertain inputs for the crossover distribution")
    t.add_argument("--purchase-months", help="months to sweep, e.g. 0,6,12 (default: every M/12 months)")
    t.add_argument("--no-sweep", action="store_true", help="skip the Monte Carlo purchase-month sweep")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(func=cmd_tco)

    s = sub.add_parser("sensitivity", help="tornado and Morris (default) or Sobol indices of an output")
    s.add_argument("scenario", metavar="SCENARIO")
    s.add_argument("--method", choices=("morris", "sobol", "tornado"), default="morris")
    s.add_argument("--metric", default="total_spend",
                   help="total_spend, spend:YYYY, pool:NAME, business_unit:NAME, workload:NAME, peak_month_spend, "
                        "last_month_spend, tokens")
    s.add_argument("--strategy", help="apply one of the scenario's strategies")
    s.add_argument("--trajectories", type=int, default=8, help="Morris trajectories (default 8)")
    s.add_argument("--samples", type=int, default=32, help="Sobol base samples N, a power of two (default 32)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_sensitivity)

    m = sub.add_parser("compare", help="two scenarios or two results side by side, with paired differences")
    m.add_argument("a", metavar="A", help="scenario YAML or results file")
    m.add_argument("b", metavar="B", help="scenario YAML or results file")
    m.add_argument("--paths", type=int, help="paths when comparing scenarios (default: the smaller scenario's)")
    m.add_argument("--strategy-a", help="strategy of A (default: the first)")
    m.add_argument("--strategy-b", help="strategy of B (default: the first)")
    m.add_argument("--json", action="store_true", help="print one JSON object")
    m.set_defaults(func=cmd_compare)

    r = sub.add_parser("report", help="one self-contained HTML report with charts, CSV tables beside it")
    r.add_argument("results", metavar="RESULTS")
    r.add_argument("-o", "--output", required=True, metavar="REPORT.html")
    r.add_argument("--budget", type=float, metavar="AMOUNT", help="yearly budget to mark")
    r.add_argument("--confidence", type=float, default=0.9)
    r.add_argument("--scenario", help="scenario file of the results (default: found under scenarios/ by name and hash)")
    r.add_argument("--strategy", help="strategy to report (default: the first)")
    r.add_argument("--tco-paths", type=int, default=200, help="paths of the purchase-month sweep (0: skip it)")
    r.add_argument("--no-sensitivity", action="store_true", help="leave out the tornado")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_report)


def _subparsers(parser: argparse.ArgumentParser):
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001


def main(argv: list[str] | None = None) -> int:
    """``tokensim`` with these commands registered (for tests and before sim.cli calls add_parsers)."""
    from . import cli

    orig = cli.build_parser

    def build() -> argparse.ArgumentParser:
        p = orig()
        sub = _subparsers(p)
        if not all(c in sub.choices for c in COMMANDS):
            add_parsers(sub)
        return p

    cli.build_parser = build
    try:
        return cli.main(argv)
    finally:
        cli.build_parser = orig


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
