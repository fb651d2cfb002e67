"""tokensim command line: parses flags, calls the library, prints tables or one JSON object.

Exit status: 0 success, 2 bad input (scenario, flags, files), 1 an unexpected internal error
(reported in one line, with the traceback only when TOKENSIM_DEBUG is set).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import __version__

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad flags or values on the command line."""


def _finite(o: Any) -> Any:
    """JSON has no NaN or infinity: such values become null."""
    import math

    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _emit(args: argparse.Namespace, obj: dict, text: str | None = None) -> None:
    if getattr(args, "json", False):
        clean = _finite(json.loads(json.dumps(obj, default=_jsonable)))
        sys.stdout.write(json.dumps(clean, allow_nan=False) + "\n")
    elif text is not None:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))


def _jsonable(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# ---- validate -----------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from .scenario import load_scenario, uncertain_fields

    sc = load_scenario(args.scenario)
    unc = uncertain_fields(sc)
    obj = {"ok": True, "file": args.scenario, "scenario": sc.name, "workloads": len(sc.workloads),
           "business_units": len(sc.business_units), "uncertain_fields": sorted(unc),
           "strategies": [s.name for s in sc.all_strategies()]}
    text = (f"{args.scenario}: OK — scenario {sc.name!r}, {len(sc.business_units)} business units, "
            f"{len(sc.workloads)} workloads, {len(unc)} uncertain inputs, "
            f"{len(sc.all_strategies())} strategies")
    _emit(args, obj, text)
    return 0


# ---- estimate -----------------------------------------------------------------------------
def cmd_estimate(args: argparse.Namespace) -> int:
    if args.scenario is None:
        return _calculator(args)
    if any(v is not None for v in (args.model, args.input_tokens, args.output_tokens, args.requests_per_month)):
        raise UsageError("give either a SCENARIO or the calculator flags (--model, --input-tokens, ...), not both")
    from .catalog.prices import PriceBook
    from .expected.forecast import run_expected
    from .expected.unit_costs import unit_costs
    from .report import estimate as rep
    from .scenario import load_scenario

    sc = load_scenario(args.scenario)
    strategies = [s.name for s in sc.all_strategies()]
    if args.strategy is not None and args.strategy not in strategies:
        raise UsageError(f"unknown strategy {args.strategy!r}; the scenario has: {', '.join(strategies)}")
    book = PriceBook(sc.price_date, sc.prices.overrides)
    fc = run_expected(sc, args.strategy, book)
    uc = unit_costs(sc, book)
    out_dir = Path(args.out) if args.out else Path("outputs") / sc.name
    files = rep.write_estimate(fc, uc, out_dir)
    obj = rep.estimate_json(fc, uc)
    obj["files"] = [str(f) for f in files]
    _emit(args, obj, rep.estimate_text(fc, uc, files))
    return 0


def _calculator(args: argparse.Namespace) -> int:
    import datetime as dt

    from .catalog.prices import PriceBook

    need = {"--input-tokens": args.input_tokens, "--output-tokens": args.output_tokens,
            "--requests-per-month": args.requests_per_month}
    missing = [k for k, v in need.items() if v is None]
    if missing:
        raise UsageError("give a SCENARIO file, or the calculator flags; missing: " + ", ".join(missing))
    import math

    for k, v in need.items():
        if not math.isfinite(v) or v < 0:
            raise UsageError(f"{k} must be a finite number >= 0, got {v}")
    pin, pout = args.price_in, args.price_out
    if (pin is None) != (pout is None):
        raise UsageError("give both --price-in and --price-out, or neither")
    if pin is not None:
        if not (math.isfinite(pin) and math.isfinite(pout)) or pin < 0 or pout < 0:
            raise UsageError("prices must be finite numbers >= 0")
        source = "prices given on the command line"
        model = args.model or "(custom)"
        per_request = (args.input_tokens * pin + args.output_tokens * pout) / 1e6
        rates = {"input": pin, "output": pout}
    else:
        if not args.model:
            raise UsageError("give --model, or both --price-in and --price-out")
        date = dt.date.fromisoformat(args.price_date) if args.price_date else dt.date.today()
        book = PriceBook(date)
        if not book.has(args.model):
            sugg = book.suggestions(args.model)
            raise UsageError(f"unknown model {args.model!r}" + (f"; close matches: {', '.join(sugg)}" if sugg else "")
                             + " (or give --price-in and --price-out)")
        card = book.card(args.model)
        model = args.model
        per_request = float(card.call_cost(args.input_tokens, 0, 0, 0, args.output_tokens))
        r = card.rates_for_prompt(args.input_tokens)
        rates = {"input": r.input, "output": r.output}
        source = card.source
    monthly = per_request * args.requests_per_month
    obj = {"model": model, "input_tokens": args.input_tokens, "output_tokens": args.output_tokens,
           "requests_per_month": args.requests_per_month, "price_in_per_mtok": rates["input"],
           "price_out_per_mtok": rates["output"], "cost_per_request": per_request, "monthly_cost": monthly,
           "annual_cost": monthly * 12, "price_source": source}
    text = (f"{model}: {args.input_tokens:,.0f} in + {args.output_tokens:,.0f} out tokens × "
            f"{args.requests_per_month:,.0f} requests/month at ${rates['input']:.4g}/${rates['output']:.4g} per MTok\n"
            f"  per request ${per_request:,.6f}   monthly ${monthly:,.2f}   annual ${monthly * 12:,.2f}\n"
            f"  prices: {source}")
    _emit(args, obj, text)
    return 0


# ---- des (request-level simulation) -------------------------------------------------------
def cmd_des(args: argparse.Namespace) -> int:
    import time

    from .demand.simulation import run_des, validate_pools
    from .report import des as rep
    from .scenario import load_scenario

    sc = load_scenario(args.scenario)
    if args.days is not None and args.days <= 0:
        raise UsageError(f"--days must be > 0, got {args.days}")
    if args.users is not None and args.users <= 0:
        raise UsageError(f"--users must be a positive whole number, got {args.users}")
    if not 0 <= args.month < sc.horizon.months:
        raise UsageError(f"--month must be in 0..{sc.horizon.months - 1}, got {args.month}")
    try:
        validate_pools(sc)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    t0 = time.time()
    res = run_des(sc, days=args.days or 1.0, users=args.users, peak=args.peak, start_month=args.month,
                  seed=args.seed, strategy=args.strategy)
    wall = time.time() - t0
    out_dir = Path(args.out) if args.out else Path("outputs") / sc.name / "des"
    files = rep.write_des(res, out_dir)
    obj = rep.des_json(res, wall)
    obj["files"] = [str(f) for f in files]
    _emit(args, obj, rep.des_text(res, wall, files))
    return 0


# ---- run (Monte Carlo) --------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    import time

    from .mc.runner import RunError, run
    from .scenario import load_scenario

    sc = load_scenario(args.scenario)
    if args.seed is not None:
        if args.seed < 0:
            raise UsageError(f"--seed must be >= 0, got {args.seed}")
        sc = sc.model_copy(update={"seed": args.seed})
    paths = args.paths if args.paths is not None else sc.paths
    if paths <= 0:
        raise UsageError(f"--paths must be a positive whole number, got {paths}")
    _check_horizon(sc)
    out = Path(args.out) if args.out else Path("outputs") / sc.name
    bar = None
    if not args.json and not args.quiet:
        from tqdm import tqdm

        import math

        bar = tqdm(total=math.ceil(paths / max(args.block_size, 1)), unit="block", desc=f"{sc.name}: {paths} paths", file=sys.stderr, leave=True)

    def progress(done: int, total: int, elapsed: float) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    t0 = time.time()
    try:
        ds, path = run(sc, paths=paths, out=out, block_size=args.block_size, workers=args.workers,
                       scheduler=args.scheduler, resume=args.resume, zarr=args.zarr, progress=progress)
    except RunError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    seconds = time.time() - t0
    total = ds["spend"].sum(["month", "pool", "workload"])
    summary = {}
    for s in ds["strategy"].values:
        q = total.sel(strategy=s).quantile([0.05, 0.5, 0.95], dim="path").values
        summary[str(s)] = {"mean": float(total.sel(strategy=s).mean()), "p5": float(q[0]), "p50": float(q[1]),
                           "p95": float(q[2])}
    obj = {"ok": True, "results": str(path), "paths": int(paths), "seed": int(sc.seed), "seconds": round(seconds, 2),
           "strategies": list(summary), "total_spend": summary, "currency": sc.currency,
           "price_library": ds.attrs["price_library"]}
    lines = [f"Wrote {path} ({paths} paths × {len(summary)} strategies, {seconds:.1f} s)",
             f"Total spend over {sc.horizon.months} months, {sc.currency}:",
             f"  {'strategy':<28}{'mean':>14}{'P5':>14}{'P50':>14}{'P95':>14}"]
    for name, v in summary.items():
        lines.append(f"  {name:<28}{v['mean']:>14,.0f}{v['p5']:>14,.0f}{v['p50']:>14,.0f}{v['p95']:>14,.0f}")
    _emit(args, obj, "\n".join(lines))
    return 0


def _check_horizon(sc) -> None:
    """Warn (on stderr) where the horizon runs past the price data: trends carry list prices on."""
    import datetime as dt

    end = sc.horizon.month_starts()[-1]
    if end > sc.price_date + dt.timedelta(days=366):
        sys.stderr.write(
            f"tokensim: note: the horizon ends {end:%Y-%m}, past the price data ({sc.price_date}); list prices "
            "are carried forward by pools.api.price_trend (commodity/frontier) from the price date\n")


# ---- parser and dispatch ------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tokensim", description="Forecast AI token spend: API, neocloud and owned GPUs.")
    p.add_argument("--version", action="version", version=f"tokensim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    v = sub.add_parser("validate", help="check a scenario file and report every problem")
    v.add_argument("scenario", metavar="SCENARIO")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=cmd_validate)

    e = sub.add_parser("estimate", help="expected-value forecast of a scenario, or a one-line cost calculator")
    e.add_argument("scenario", metavar="SCENARIO", nargs="?")
    e.add_argument("--strategy", help="apply one of the scenario's strategies")
    e.add_argument("--out", help="output directory (default outputs/<scenario name>)")
    e.add_argument("--model", help="calculator: provider/model, e.g. openai/gpt-4o")
    e.add_argument("--input-tokens", type=float, help="calculator: input tokens per request")
    e.add_argument("--output-tokens", type=float, help="calculator: output tokens per request")
    e.add_argument("--requests-per-month", type=float, help="calculator: requests per month")
    e.add_argument("--price-in", type=float, metavar="USD_PER_MTOK", help="calculator: input price")
    e.add_argument("--price-out", type=float, metavar="USD_PER_MTOK", help="calculator: output price")
    e.add_argument("--price-date", help="calculator: list-price date YYYY-MM-DD (default today)")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=cmd_estimate)

    d = sub.add_parser("des", help="request-level simulation (SimPy): α, cache hits, TTFT, goodput, retries")
    d.add_argument("scenario", metavar="SCENARIO")
    d.add_argument("--days", type=float, help="days to simulate (default 1)")
    d.add_argument("--users", type=int, help="total users, split across business units in proportion")
    d.add_argument("--peak", action="store_true", help="simulate the busiest day of the month")
    d.add_argument("--month", type=int, default=0, help="month index of the horizon to simulate (default 0)")
    d.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    d.add_argument("--strategy", help="apply one of the scenario's strategies")
    d.add_argument("--out", help="output directory (default outputs/<scenario>/des)")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=cmd_des)

    r = sub.add_parser("run", help="Monte Carlo: distributions of spend, tokens and capacity over paths")
    r.add_argument("scenario", metavar="SCENARIO")
    r.add_argument("--paths", type=int, help="number of paths (default: the scenario's)")
    r.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    r.add_argument("--out", help="output directory (default outputs/<scenario name>)")
    r.add_argument("--workers", type=int, help="numba threads (default: all cores)")
    r.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    r.add_argument("--block-size", type=int, default=500, help="paths per block (results do not depend on it)")
    r.add_argument("--resume", action="store_true", help="reuse finished blocks of an interrupted run")
    r.add_argument("--zarr", action="store_true", help="write results.zarr instead of results.nc")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_run)

    from .cli_analysis import add_parsers

    add_parsers(sub)
    return p


class _Parser(argparse.ArgumentParser):
    pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    want_json = "--json" in argv

    def fail(problems: list[str], kind: str) -> int:
        if want_json:
            sys.stdout.write(json.dumps({"ok": False, "error": kind, "problems": problems}) + "\n")
        for msg in problems:
            sys.stderr.write(msg + "\n")
        return EXIT_BAD_INPUT

    # argparse exits with status 2 on bad flags; keep its message but honour --json
    def parse_error(message: str) -> None:
        raise UsageError(message)

    for action in parser._subparsers._group_actions if parser._subparsers else []:  # type: ignore[union-attr]
        for sp in getattr(action, "choices", {}).values():
            sp.error = parse_error  # type: ignore[method-assign]
    parser.error = parse_error  # type: ignore[method-assign]
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return fail(["tokensim: give a command (see --help)"], "usage")
        return int(args.func(args))
    except UsageError as exc:
        return fail([f"tokensim: {exc}"], "usage")
    except Exception as exc:  # noqa: BLE001 - every error becomes a message, never a traceback
        from .scenario import ScenarioError
        from .report.files import OutputError

        if isinstance(exc, ScenarioError):
            return fail([str(p) for p in exc.problems], "scenario")
        if isinstance(exc, OutputError):
            return fail([f"tokensim: {exc}"], "output")
        if os.environ.get("TOKENSIM_DEBUG"):
            raise
        msg = f"tokensim: internal error: {type(exc).__name__}: {exc} (set TOKENSIM_DEBUG=1 for details)"
        if want_json:
            sys.stdout.write(json.dumps({"ok": False, "error": "internal", "problems": [msg]}) + "\n")
        sys.stderr.write(msg + "\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("tokensim: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
