"""Commands of one scenario: validate, estimate (and the one-line calculator), des, run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..limits import DEFAULT_BLOCK
from .common import (
    MAX_DES_DAYS,
    MAX_MONTH_INDEX,
    MAX_PATHS,
    MAX_SEED,
    MAX_USERS,
    MAX_WORKERS,
    Checked,
    Choice,
    Date,
    Number,
    OutDir,
    SchedulerAddress,
    UsageError,
    Whole,
    add_xlsx,
    emit,
    load_checked,
    output_dir,
    xlsx_target,
)
from .registry import Command

PATHS = Whole(1, MAX_PATHS, "the cap of the scenario key paths")
SEED = Whole(0, MAX_SEED, "an unsigned 64-bit integer")


# ---- validate -----------------------------------------------------------------------------
def add_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO")


def cmd_validate(args: argparse.Namespace) -> int:
    from ..scenario import uncertain_fields

    sc = load_checked(args.scenario)
    unc = uncertain_fields(sc)
    obj = {"ok": True, "file": args.scenario, "scenario": sc.name, "workloads": len(sc.workloads),
           "business_units": len(sc.business_units), "uncertain_fields": sorted(unc),
           "strategies": [s.name for s in sc.all_strategies()]}
    text = (f"{args.scenario}: OK — scenario {sc.name!r}, {len(sc.business_units)} business units, "
            f"{len(sc.workloads)} workloads, {len(unc)} uncertain inputs, "
            f"{len(sc.all_strategies())} strategies")
    emit(args, obj, text)
    return 0


# ---- estimate -----------------------------------------------------------------------------
#: the activity presets of ``sim.scenario.population.ActivityProfile`` (not imported while parsing:
#: the scenario package is slow to import; tests/test_calculator_tiers_tod.py keeps the two equal)
ACTIVITY_PRESETS = ("business_hours", "always_on", "nightly_batch", "servegen")


def add_estimate(e: argparse.ArgumentParser) -> None:
    amount = Number(ge=0)
    e.add_argument("scenario", metavar="SCENARIO", nargs="?")
    e.add_argument("--strategy", help="apply one of the scenario's strategies")
    e.add_argument("--out", action=Checked, check=OutDir(), metavar="DIR",
                   help="output directory (default outputs/<scenario name>)")
    e.add_argument("--model", help="calculator: provider/model, e.g. openai/gpt-4o")
    e.add_argument("--input-tokens", action=Checked, check=amount, metavar="N",
                   help="calculator: input tokens per request (finite, >= 0)")
    e.add_argument("--output-tokens", action=Checked, check=amount, metavar="N",
                   help="calculator: output tokens per request (finite, >= 0)")
    e.add_argument("--requests-per-month", action=Checked, check=amount, metavar="N",
                   help="calculator: requests per month (finite, >= 0)")
    e.add_argument("--cached-tokens", action=Checked, check=amount, metavar="N",
                   help="calculator: of --input-tokens, those read from a prompt cache (as providers report them)")
    e.add_argument("--cache-write-tokens", action=Checked, check=amount, metavar="N",
                   help="calculator: of --input-tokens, those written to a prompt cache")
    e.add_argument("--cache-ttl", action=Checked, check=Choice(("5m", "1h")), default="5m",
                   help="calculator: the cache writes' time to live, priced as such (default 5m)")
    e.add_argument("--batch", action="store_true",
                   help="calculator: the batch API's price (refused where the library has no batch price, unless "
                        "--batch-factor says what to assume)")
    e.add_argument("--batch-factor", action=Checked, check=Number(gt=0, le=1), metavar="F",
                   help="calculator: with --batch, the batch price as a share of standard when the library has none")
    e.add_argument("--service-tier", metavar="TIER",
                   help="calculator: the price of one of the model's service tiers in the library (e.g. OpenAI "
                        "flex, priority; refused, with the tiers it has, where it has none unless --tier-factor says "
                        "what to assume)")
    e.add_argument("--tier-factor", action=Checked, check=Number(gt=0, le=10), metavar="F",
                   help="calculator: with --service-tier, the tier's price as a multiple of standard when the library "
                        "has none (e.g. 1.8 for Vertex Priority PayGo)")
    e.add_argument("--activity", action=Checked, check=Choice(ACTIVITY_PRESETS), metavar="PRESET",
                   help="calculator: the activity profile (" + ", ".join(ACTIVITY_PRESETS) + "; default "
                        "business_hours, the scenario default) over which time-of-day prices (DeepSeek off-peak) "
                        "are averaged")
    e.add_argument("--utc-offset", action=Checked, check=Whole(-12, 14, "hours"), metavar="H",
                   help="calculator: with --activity, the users' local time relative to UTC, as a scenario's "
                        "activity.utc_offset_hours (default 0: the profile's hours are UTC)")
    e.add_argument("--users", action=Checked, check=amount, metavar="N",
                   help="calculator: users (with --per-user-per-day instead of --requests-per-month)")
    e.add_argument("--per-user-per-day", action=Checked, check=amount, metavar="N",
                   help="calculator: requests per user per calendar day (a month is 365.25/12 days)")
    e.add_argument("--price-in", action=Checked, check=amount, metavar="USD_PER_MTOK", help="calculator: input price")
    e.add_argument("--price-out", action=Checked, check=amount, metavar="USD_PER_MTOK", help="calculator: output price")
    e.add_argument("--price-date", action=Checked, check=Date(), metavar="YYYY-MM-DD",
                   help="calculator: list-price date (default today)")
    add_xlsx(e)


def cmd_estimate(args: argparse.Namespace) -> int:
    if args.scenario is None:
        if args.xlsx:
            raise UsageError("--xlsx writes the tables of a scenario's forecast; the calculator has none (use --json)")
        return _calculator(args)
    if any(v is not None for v in (args.model, args.input_tokens, args.output_tokens, args.requests_per_month,
                                   args.cached_tokens, args.cache_write_tokens, args.users, args.per_user_per_day,
                                   args.service_tier, args.tier_factor, args.activity, args.utc_offset)):
        raise UsageError("give either a SCENARIO or the calculator flags (--model, --input-tokens, ...), not both")
    from ..catalog.prices import PriceBook
    from ..expected.forecast import run_expected
    from ..expected.unit_costs import unit_costs
    from ..report import estimate as rep

    sc = load_checked(args.scenario)
    strategies = [s.name for s in sc.all_strategies()]
    if args.strategy is not None and args.strategy not in strategies:
        raise UsageError(f"unknown strategy {args.strategy!r}; the scenario has: {', '.join(strategies)}")
    out_dir = output_dir(args.out, Path("outputs") / sc.name)
    xlsx = xlsx_target(args)
    book = PriceBook(sc.price_date, sc.prices.overrides)
    fc = run_expected(sc, args.strategy, book)
    uc = unit_costs(sc, book)
    files = rep.write_estimate(fc, uc, out_dir, xlsx=xlsx)
    obj = rep.estimate_json(fc, uc)
    obj["files"] = [str(f) for f in files]
    if xlsx is not None:
        obj["xlsx"] = str(xlsx)
        files = files + [xlsx]  # the text's list of files written
    from ..demand.assumptions import assumptions, assumptions_text

    items = assumptions(sc)
    obj["assumptions"] = [a.to_json() for a in items]
    emit(args, obj, rep.estimate_text(fc, uc, files) + ("\n\n" + assumptions_text(items) if items else ""))
    return 0


DAYS_PER_MONTH = 365.25 / 12.0


def _calculator(args: argparse.Namespace) -> int:
    import datetime as dt

    from ..catalog.prices import PriceBook

    # every number is finite and >= 0, and --price-date a calendar date: checked while parsing
    by_users = args.users is not None or args.per_user_per_day is not None
    if by_users and args.requests_per_month is not None:
        raise UsageError("give --requests-per-month, or --users with --per-user-per-day, not both")
    if by_users and (args.users is None or args.per_user_per_day is None):
        raise UsageError("--users and --per-user-per-day go together: requests a month = users × per day × 365.25/12")
    requests = (args.users * args.per_user_per_day * DAYS_PER_MONTH if by_users else args.requests_per_month)
    need = {"--input-tokens": args.input_tokens, "--output-tokens": args.output_tokens,
            "--requests-per-month (or --users and --per-user-per-day)": requests}
    missing = [k for k, v in need.items() if v is None]
    if missing:
        raise UsageError("give a SCENARIO file, or the calculator flags; missing: " + ", ".join(missing))
    cached, write = args.cached_tokens or 0.0, args.cache_write_tokens or 0.0
    if cached + write > args.input_tokens:
        raise UsageError(f"--cached-tokens ({cached:,.0f}) and --cache-write-tokens ({write:,.0f}) are parts of "
                         f"--input-tokens ({args.input_tokens:,.0f}): together they cannot exceed it")
    if args.batch_factor is not None and not args.batch:
        raise UsageError("--batch-factor is for --batch")
    if args.tier_factor is not None and args.service_tier is None:
        raise UsageError("--tier-factor is for --service-tier")
    if args.service_tier is not None and args.batch:
        raise UsageError("--service-tier and --batch are different price variants of a request: give one")
    if args.utc_offset is not None and args.activity is None:
        raise UsageError("--utc-offset is for --activity (the default profile's hours are UTC)")
    tier = args.service_tier.strip() if args.service_tier is not None else None
    if args.service_tier is not None and not tier:
        raise UsageError("--service-tier must name a tier, e.g. flex or priority")
    fresh = args.input_tokens - cached - write
    pin, pout = args.price_in, args.price_out
    if (pin is None) != (pout is None):
        raise UsageError("give both --price-in and --price-out, or neither")
    warnings, fee, notes, assumed, tod, tier_factor = [], 0.0, [], [], None, None
    if pin is not None:
        source = "prices given on the command line"
        model = args.model or "(custom)"
        factor = 1.0
        if args.batch:
            if args.batch_factor is None:
                raise UsageError("--batch with --price-in/--price-out: give --batch-factor F (the batch price as a "
                                 "share of the prices given)")
            factor = args.batch_factor
        if tier is not None:
            if args.tier_factor is None:
                raise UsageError(f"--service-tier with --price-in/--price-out: give --tier-factor F (the {tier} price "
                                 "as a multiple of the prices given)")
            factor = tier_factor = args.tier_factor
        if args.activity is not None:
            warnings.append("--activity has no effect with --price-in/--price-out: the prices given hold at every hour")
        per_request = (args.input_tokens * pin + args.output_tokens * pout) / 1e6 * factor
        rates = {"input": pin * factor, "output": pout * factor}
        if cached or write:
            warnings.append("cached and cache-write tokens are priced at --price-in: no cache prices were given")
    else:
        if not args.model:
            raise UsageError("give --model, or both --price-in and --price-out")
        book = PriceBook(args.price_date or dt.date.today())
        if not book.has(args.model):
            sugg = book.suggestions(args.model)
            raise UsageError(f"unknown model {args.model!r}" + (f"; close matches: {', '.join(sugg)}" if sugg else "")
                             + " (or give --price-in and --price-out)")
        model = args.model
        hours, label = None, None
        if book.has_time_of_day(model):
            hours, label, tod, assumed = _activity_hours(args, model)
        elif args.activity is not None:
            warnings.append(f"--activity has no effect: {model} has no time-of-day prices in {book.source}")
        card = book.card(model, hours=hours, hours_label=label)
        if tier is not None:
            tiers = book.service_tiers(model)
            if tier in tiers and tiers[tier] is None:
                card = book.card(model, service_tier=tier, hours=hours, hours_label=label)
                if args.tier_factor is not None:
                    warnings.append(f"--tier-factor ignored: {model} has the library's own {tier} price")
            elif args.tier_factor is not None:
                tier_factor = args.tier_factor
                card = card.scaled(tier_factor, note=f"service tier {tier} assumed at {tier_factor:g} × standard")
                warnings.append(f"{model} has no {tier!r} tier price in {card.source}: {args.tier_factor:g} × standard "
                                "assumed (--tier-factor)")
            else:
                have = [t for t, d in sorted(tiers.items()) if d is None]
                later = [f"{t} from {d.isoformat()}" for t, d in sorted(tiers.items()) if d is not None]
                raise UsageError(f"--service-tier: {model} has no {tier!r} tier in {card.source} at "
                                 f"{card.price_date.isoformat()}; its tiers: " + (", ".join(have) or "none")
                                 + (f" (later: {', '.join(later)})" if later else "")
                                 + "; give --tier-factor F to assume the tier's price as a multiple of standard")
            notes += [n for n in card.notes if n.startswith("service tier")]
        notes += [n for n in card.notes if n.startswith("time-of-day pricing")]
        if tod is not None:
            tod["windows"] = [{"window": name, "share": share} for name, share in card.time_of_day]
        w5, w1 = (write, 0.0) if args.cache_ttl == "5m" else (0.0, write)
        batch = False
        if args.batch:
            if book.batch_from_library(args.model):
                batch = True
                if args.batch_factor is not None:
                    warnings.append(f"--batch-factor ignored: {args.model} has the library's own batch prices")
            elif args.batch_factor is not None:
                card = card.scaled(args.batch_factor, note=f"batch assumed at {args.batch_factor:g} × standard")
                warnings.append(f"{args.model} has no batch price in {card.source}: {args.batch_factor:g} × standard "
                                "assumed (--batch-factor)")
            else:
                raise UsageError(f"--batch: {args.model} has no batch price in {card.source} (the provider may offer "
                                 "no batch API); give --batch-factor F to assume one")
        per_request = float(card.call_cost(fresh, cached, w5, w1, args.output_tokens, batch=batch))
        fee = book.request_fee(args.model)
        if fee:
            warnings.append(f"{args.model} charges {fee * 1000:g} USD per 1,000 requests beside its tokens: included")
        per_request += fee
        r = card.rates_for_prompt(args.input_tokens, batch=batch)
        rates = {"input": r.input, "output": r.output, "cached_input": r.cached_input,
                 "cache_write": r.cache_write_5m if args.cache_ttl == "5m" else r.cache_write_1h}
        source = card.source
    monthly = per_request * requests
    obj = {"model": model, "input_tokens": args.input_tokens, "cached_tokens": cached, "cache_write_tokens": write,
           "output_tokens": args.output_tokens, "batch": bool(args.batch), "service_tier": tier,
           "tier_factor": tier_factor, "time_of_day": tod, "requests_per_month": requests,
           "price_in_per_mtok": rates["input"], "price_out_per_mtok": rates["output"],
           "price_cached_per_mtok": rates.get("cached_input"), "price_cache_write_per_mtok": rates.get("cache_write"),
           "request_fee": fee, "cost_per_request": per_request, "monthly_cost": monthly, "annual_cost": monthly * 12,
           "price_source": source, "notes": notes, "warnings": warnings,
           "assumptions": [a.to_json() for a in assumed]}
    if by_users:
        obj.update(users=args.users, per_user_per_day=args.per_user_per_day)
    parts = f"{args.input_tokens:,.0f} in" + (f" ({cached:,.0f} cached, {write:,.0f} cache writes)" if cached or write
                                              else "")
    variant = " (batch)" if args.batch else f" ({tier} tier)" if tier is not None else ""
    text = (f"{model}{variant}: {parts} + {args.output_tokens:,.0f} out tokens × "
            f"{requests:,.0f} requests/month at ${rates['input']:.4g}/${rates['output']:.4g} per MTok\n"
            f"  per request ${per_request:,.6f}   monthly ${monthly:,.2f}   annual ${monthly * 12:,.2f}\n"
            f"  prices: {source}" + "".join(f"\n  {n}" for n in notes)
            + "".join(f"\n  warning: {w}" for w in warnings)
            + ("\nAssumptions in force that the command line does not give:" if assumed else "")
            + "".join(f"\n  {a.key} = {a.value}: {a.effect}" for a in assumed))
    emit(args, obj, text)
    return 0


def _activity_hours(args: argparse.Namespace, model: str) -> tuple:
    """The calculator's hour weights for a model with time-of-day prices: the --activity preset (default
    the scenario default, business_hours) at --utc-offset (default 0, i.e. the preset's hours are UTC).
    Returns (hours, label, time_of_day JSON, assumptions in force)."""
    from ..demand.assumptions import Assumption
    from ..demand.population import activity_hours
    from ..scenario.population import ActivityProfile

    default = ActivityProfile.model_fields["preset"].default
    act = ActivityProfile(preset=args.activity or default, utc_offset_hours=args.utc_offset or 0)
    hours, label = activity_hours(act)
    assumed = []
    if args.activity is None:
        assumed.append(Assumption(
            "activity.preset", f"{default} (the default)",
            f"{model} has time-of-day prices: averaged over the {default} activity profile, its hours taken as UTC "
            "(the scenario default); give --activity (and --utc-offset) to change it"))
    return hours, label, {"activity": act.preset, "utc_offset_hours": act.utc_offset_hours}, assumed


# ---- des (request-level simulation) -------------------------------------------------------
def add_des(d: argparse.ArgumentParser) -> None:
    d.add_argument("scenario", metavar="SCENARIO")
    d.add_argument("--days", action=Checked, check=Number(gt=0, le=MAX_DES_DAYS), metavar="N",
                   help=f"days to simulate, > 0 and <= {MAX_DES_DAYS:g} (default 1)")
    d.add_argument("--users", action=Checked, check=Whole(1, MAX_USERS), metavar="N",
                   help=f"total users (1..{MAX_USERS}), split across business units in proportion")
    d.add_argument("--peak", action="store_true", help="simulate the busiest day of the month")
    d.add_argument("--month", action=Checked, check=Whole(0, MAX_MONTH_INDEX), default=0, metavar="M",
                   help="month index of the horizon to simulate (default 0)")
    d.add_argument("--seed", action=Checked, check=SEED, metavar="S",
                   help=f"seed, 0..{MAX_SEED} (default: the scenario's)")
    d.add_argument("--strategy", help="apply one of the scenario's strategies")
    d.add_argument("--out", action=Checked, check=OutDir(), metavar="DIR",
                   help="output directory (default outputs/<scenario>/des)")


def cmd_des(args: argparse.Namespace) -> int:
    import time

    from ..des.simulation import DesInputError, run_des
    from ..report import des as rep

    sc = load_checked(args.scenario)  # pools that cannot serve their models are load_checked's problems
    if not 0 <= args.month < sc.horizon.months:
        raise UsageError(f"--month must be in 0..{sc.horizon.months - 1}, got {args.month}")
    strategies = [s.name for s in sc.all_strategies()]
    if args.strategy is not None and args.strategy not in strategies:
        raise UsageError(f"unknown strategy {args.strategy!r}; the scenario has: {', '.join(strategies)}")
    out_dir = output_dir(args.out, Path("outputs") / sc.name / "des")
    t0 = time.time()
    try:
        res = run_des(sc, days=args.days or 1.0, users=args.users, peak=args.peak, start_month=args.month,
                      seed=args.seed, strategy=args.strategy)
    except DesInputError as exc:
        raise UsageError(str(exc)) from None
    wall = time.time() - t0
    files = rep.write_des(res, out_dir)
    obj = rep.des_json(res, wall)
    obj["files"] = [str(f) for f in files]
    emit(args, obj, rep.des_text(res, wall, files))
    return 0


# ---- run (Monte Carlo) --------------------------------------------------------------------
def add_run(r: argparse.ArgumentParser) -> None:
    r.add_argument("scenario", metavar="SCENARIO")
    r.add_argument("--paths", action=Checked, check=PATHS, metavar="N",
                   help=f"number of paths, 1..{MAX_PATHS} (default: the scenario's)")
    r.add_argument("--seed", action=Checked, check=SEED, metavar="S",
                   help=f"seed, 0..{MAX_SEED} (default: the scenario's)")
    r.add_argument("--out", action=Checked, check=OutDir(), metavar="DIR",
                   help="output directory (default outputs/<scenario name>)")
    r.add_argument("--workers", action=Checked, check=Whole(1, MAX_WORKERS), metavar="N",
                   help=f"numba threads, 1..{MAX_WORKERS}; at most the machine's (default: all cores)")
    r.add_argument("--scheduler", action=Checked, check=SchedulerAddress(), metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://host:8786")
    r.add_argument("--block-size", action=Checked, check=Whole(1, MAX_PATHS), default=DEFAULT_BLOCK, metavar="N",
                   help=f"paths per block (results do not depend on it; default {DEFAULT_BLOCK:,})")
    r.add_argument("--resume", action="store_true", help="reuse finished blocks of an interrupted run")
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--zarr", action="store_true",
                     help="write DIR/results.zarr, streamed block by block (the default; memory independent of paths)")
    fmt.add_argument("--netcdf", action="store_true",
                     help="export DIR/results.nc once the run ends (holds the run in memory once; at most 4 GB)")
    r.add_argument("--daily", action="store_true",
                   help="also keep demand per day (daily_sessions, daily_requests, daily_tokens over a day "
                        "coordinate); about days x workloads x 12 bytes more per path and strategy")
    r.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_run(args: argparse.Namespace) -> int:
    import time

    from ..mc.runner import RunError, run

    sc = load_checked(args.scenario)
    if args.seed is not None:
        sc = sc.model_copy(update={"seed": args.seed})
    paths = args.paths if args.paths is not None else sc.paths
    _check_horizon(sc)
    out = output_dir(args.out, Path("outputs") / sc.name)  # locked until the command ends
    bar = None
    if not args.json and not args.quiet:
        import math

        from tqdm import tqdm

        bar = tqdm(total=math.ceil(paths / max(args.block_size, 1)), unit="block", desc=f"{sc.name}: {paths} paths",
                   file=sys.stderr, leave=True)

    def progress(done: int, total: int, elapsed: float) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    summary: dict[str, dict[str, float]] = {}
    outcomes: list[dict] = []  # sim.analysis.outcomes.outcome_table rows, when the scenario has outcomes

    def summarise(ds) -> None:  # before the results are put in place: after that a signal changes nothing
        if bar is not None:
            bar.close()
        from ..analysis.common import total_spend

        total = total_spend(ds)  # by slices of paths; a NaN stays NaN (the run refuses those earlier)
        for s in ds["strategy"].values:
            q = total.sel(strategy=s).quantile([0.05, 0.5, 0.95], dim="path").values
            summary[str(s)] = {"mean": float(total.sel(strategy=s).mean()), "p5": float(q[0]), "p50": float(q[1]),
                               "p95": float(q[2])}
        from ..analysis.outcomes import has_outcomes, outcome_table

        if has_outcomes(ds):
            outcomes.extend(outcome_table(ds).to_dict(orient="records"))

    t0 = time.time()
    try:
        ds, path = run(sc, paths=paths, out=out, block_size=args.block_size, workers=args.workers,
                       scheduler=args.scheduler, resume=args.resume, zarr=not args.netcdf, progress=progress,
                       before_commit=summarise, daily=args.daily)
    except RunError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    seconds = time.time() - t0
    obj = {"ok": True, "results": str(path), "paths": int(paths), "seed": int(sc.seed), "seconds": round(seconds, 2),
           "strategies": list(summary), "total_spend": summary, "currency": sc.currency,
           "price_library": ds.attrs["price_library"]}
    ns, nm = len(summary), sc.horizon.months
    lines = [f"Wrote {path} ({paths} paths × {ns} strateg{'y' if ns == 1 else 'ies'}, {seconds:.1f} s)",
             f"Total spend over {nm} month{'' if nm == 1 else 's'}, {sc.currency}:",
             f"  {'strategy':<28}{'mean':>14}{'P5':>14}{'P50':>14}{'P95':>14}"]
    for name, v in summary.items():
        lines.append(f"  {name:<28}{v['mean']:>14,.0f}{v['p5']:>14,.0f}{v['p50']:>14,.0f}{v['p95']:>14,.0f}")
    if outcomes:
        obj["outcomes"] = outcomes
        lines += ["", f"Outcomes over the horizon (means), {sc.currency}:",
                  f"  {'strategy':<28}{'workload':<18}{'per outcome':>14}{'net value':>16}{'ROI':>9}"]
        for r in outcomes:
            cpo = "—" if r["cost_per_outcome"] is None else f"{r['cost_per_outcome']:,.2f}"
            roi = "—" if r["roi"] is None else f"{r['roi']:.1f}×"
            lines.append(f"  {r['strategy']:<28}{r['workload']:<18}{cpo:>14}{r['net_value']:>16,.0f}{roi:>9}")
        lines.append("  (per outcome = (spend + human fallback + review) / outcomes; rank them: tokensim compare DIR)")
    from ..demand.assumptions import assumptions, assumptions_text

    items = assumptions(sc)
    obj["assumptions"] = [a.to_json() for a in items]
    if items:
        lines += ["", assumptions_text(items)]
    emit(args, obj, "\n".join(lines))
    return 0


def _check_horizon(sc) -> None:
    """Warn (on stderr) where the horizon runs past the price data: trends carry list prices on."""
    import datetime as dt

    end = sc.horizon.month_starts()[-1]
    if end > sc.price_date + dt.timedelta(days=366):
        sys.stderr.write(
            f"tokensim: note: the horizon ends {end:%Y-%m}, past the price data ({sc.price_date}); list prices "
            "are carried forward by pools.api.price_trend (commodity/frontier) from the price date\n")


COMMANDS: tuple[Command, ...] = (
    Command("validate", "check a scenario file and report every problem", add_validate, cmd_validate),
    Command("estimate", "expected-value forecast of a scenario, or a one-line cost calculator", add_estimate,
            cmd_estimate),
    Command("des", "request-level simulation (SimPy): α, cache hits, TTFT, goodput, retries", add_des, cmd_des),
    Command("run", "Monte Carlo: distributions of spend, tokens and capacity over paths", add_run, cmd_run),
)
