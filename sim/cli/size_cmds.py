"""tokensim size: the provisioned units a trace needs for its latency objectives (``sim.studies.size``)."""

from __future__ import annotations

import argparse

from pathlib import Path

from .common import Checked, Choice, Number, UsageError, Whole, emit, load_checked
from .registry import Command

POOLS = ("provisioned", "owned", "neocloud")
TERMS = ("hourly", "1w", "1m", "3m", "6m", "1y")


def add_latency_args(p: argparse.ArgumentParser) -> None:
    """The queue and baseline-latency flags ``size`` and ``commit --provisioned`` share."""
    p.add_argument("--queue-limit", action=Checked, check=Number(ge=0.0), default=1.0, metavar="SECONDS",
                   help="hybrid plans: a request that would wait longer for the units spills to pay-as-you-go "
                        "(default 1: the units absorb a second of backlog, like a token bucket one second deep)")
    p.add_argument("--decode-tok-s", action=Checked, check=Number(gt=0.0), default=None,
                   help="baseline decode speed, tokens/s (default: the scenario API latency assumption, 70)")
    p.add_argument("--prefill-tok-s", action=Checked, check=Number(gt=0.0), default=None)
    p.add_argument("--base-latency", action=Checked, check=Number(ge=0.0), default=None, metavar="SECONDS")


def parse_objectives(slos: list[str]) -> list:
    """``--slo`` values as ``Objective``s; one UsageError naming every bad one."""
    from ..studies.size import parse_objective

    objectives, bad = [], []
    for s in slos:
        try:
            objectives.append(parse_objective(s))
        except ValueError as exc:
            bad.append(f"--slo {exc}")
    if bad:
        raise UsageError("; ".join(bad))
    return objectives


def provisioned_profile(name: str, term: str):
    """The ``--profile`` (or ``--provisioned``) profile, refused as a usage error when unknown or not
    sold on ``term``."""
    from ..catalog.provisioned import UnknownProfileError, profile

    try:
        prof = profile(name)
    except UnknownProfileError as exc:
        raise UsageError(f"--profile {exc.args[0] if exc.args else name}") from None
    if term not in prof.prices:
        raise UsageError(f"--term {term}: {prof.name} is sold on {', '.join(prof.prices)}")
    return prof


def baseline_latency(args: argparse.Namespace):
    from dataclasses import replace

    from ..pools.queueing import BaselineLatency

    base = BaselineLatency()
    for flag, key in (("decode_tok_s", "decode_tok_s"), ("prefill_tok_s", "prefill_tok_s"), ("base_latency", "base_s")):
        if getattr(args, flag) is not None:
            base = replace(base, **{key: float(getattr(args, flag))})
    return base


def workload_stream(sc, source: str, workload: str, month: int, prof) -> tuple:
    """A scenario workload's busiest-day API requests (``scenario_requests``), its summary and the
    warnings, refused as usage errors."""
    from ..des.simulation import DesInputError
    from ..studies.size import scenario_requests

    if not 0 <= month < sc.horizon.months:
        raise UsageError(f"--month must be in 0..{sc.horizon.months - 1}, got {month}")
    try:
        requests, info = scenario_requests(sc, workload, month=month)
    except (ValueError, DesInputError) as exc:
        raise UsageError(f"{source}: {exc}") from None
    wl = next(w for w in sc.token_workloads if w.name == workload)
    warnings = [f"the busiest day of month {month} stands for every day: costs per month are 730 hours at its rate"]
    if wl.models.api and prof.pay_go_model and wl.models.api.split("/")[-1] != prof.pay_go_model.split("/")[-1]:
        warnings.append(f"{workload} calls {wl.models.api}; its requests are sized as if they went to {prof.name}")
    if len(requests) < 2:
        raise UsageError(f"{source}: workload {workload!r} sends {len(requests)} API request(s) on the busiest day "
                         "simulated: nothing to size (is it on a GPU pool, or batch?)")
    return requests, info, warnings


def add_size(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE", help="a request trace (generic CSV/Parquet with timestamp, "
                                                    "input_tokens, output_tokens, optional cached_tokens; Azure "
                                                    "trace CSV; Mooncake JSON lines), or a scenario YAML with "
                                                    "--workload (its busiest day, simulated by the DES)")
    p.add_argument("--workload", default=None, help="with a scenario: the workload whose API requests to size for")
    p.add_argument("--month", action=Checked, check=Whole(0, 1200), default=0,
                   help="with a scenario: the horizon month whose busiest day is simulated")
    p.add_argument("--format", action=Checked, check=Choice(("auto", "generic", "azure-trace", "mooncake")),
                   default="auto")
    p.add_argument("--pool", action=Checked, check=Choice(POOLS), default="provisioned")
    p.add_argument("--profile", required=True, metavar="PROVIDER/MODEL",
                   help="a provisioned-capacity profile (calibration/provisioned), e.g. vertex/gemini-2.5-flash-lite")
    p.add_argument("--slo", action="append", required=True, metavar='"p99 e2e <= 1.5s"',
                   help="a latency objective (repeat for several): pNN ttft|e2e <= T s|ms")
    p.add_argument("--term", action=Checked, check=Choice(TERMS), default="1m")
    add_latency_args(p)
    p.add_argument("--paths", action=Checked, check=Whole(1, 100_000), default=None, metavar="N",
                   help="with a scenario and a term of a month or more: Monte Carlo paths over the term "
                        "(default: the scenario's)")
    p.add_argument("--breach-target", action=Checked, check=Number(ge=0.0, le=0.999), default=0.05, metavar="P",
                   help="over the term: recommend the cheapest plan whose P(some month misses an objective) is at "
                        "most P (default 0.05)")


def cmd_size(args: argparse.Namespace) -> int:
    from ..calibrate.formats import read_requests
    from ..catalog.provisioned import MissingNumberError
    from ..studies.size import size_trace

    if args.pool != "provisioned":
        raise UsageError(f"--pool {args.pool}: sizing GPU replicas against latency objectives is not built yet; "
                         "--pool provisioned sizes provisioned-throughput units")
    objectives = parse_objectives(args.slo)
    prof = provisioned_profile(args.profile, args.term)
    base = baseline_latency(args)
    source_info, price_date = None, None
    if Path(args.source).suffix.lower() in (".yaml", ".yml"):
        if not args.workload:
            raise UsageError("a scenario as SOURCE needs --workload NAME: the workload whose requests to size for")
        sc = load_checked(args.source)
        requests, source_info, warnings = workload_stream(sc, args.source, args.workload, args.month, prof)
        price_date = sc.price_date  # pay-go at the scenario's price date, as the term study prices it
    else:
        if args.workload:
            raise UsageError("--workload is for a scenario SOURCE; a trace is sized as it is")
        u = read_requests(args.source, args.format)
        requests, warnings = u.requests, list(u.warnings)
    try:
        r = size_trace(requests, prof, objectives, term=args.term, queue_limit_s=args.queue_limit, base=base,
                       price_date=price_date)
    except MissingNumberError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"{args.source}: {exc}") from None
    obj = {"ok": True, "command": "size", "source": args.source, **r.to_json(), "warnings": warnings}
    term_lines: list[str] = []
    if source_info is not None:
        obj["simulated"] = {"workload": args.workload, **source_info}
        ts = over_term(args, sc, requests, prof, objectives, base, source_info)
        if ts is not None:
            obj["over_term"] = ts.to_json()
            term_lines = term_text(ts, prof.unit)
    cp = r.cheapest_plan
    lines = [f"{prof.name} ({prof.unit}, {args.term} term) for {r.requests:,} requests over {r.hours:.2f} h, "
             f"{', '.join(str(o) for o in objectives)}:",
             "  busiest windows (units needed): " + ", ".join(f"{k} max {v['max']:.2f} p99 {v['p99']:.2f}"
                                                          for k, v in r.windows.items()),
             f"  smallest legal purchase meeting every objective on the pool alone: "
             f"{r.min_units_for_slo if r.min_units_for_slo is not None else 'none searched'}",
             ("  cheapest plan meeting them: " + (f"{cp.units} {prof.unit} + pay-go spill {cp.spill_share:.1%}, "
                                                  f"{cp.cost_per_month:,.0f} USD a month" if cp else "none"))]
    lines.append(f"  {'with pay-go past a ' + format(args.queue_limit, 'g') + ' s wait' if r.frontier else 'the pool alone'}:")
    lines.append(f"  {'units':>6}{'USD/month':>12}{'spill':>8}{'p99 ttft':>10}{'p99 e2e':>10}{'overload':>10}  SLO")
    rows = r.frontier or r.provisioned
    last = max([x for x in (r.min_units_for_slo, cp.units if cp else None) if x is not None], default=0)
    shown = [p for p in rows if p.units <= last] + [p for p in rows if p.units > last][:3]
    for p in shown:
        lines.append(f"  {p.units:>6}{p.cost_per_month:>12,.0f}{p.spill_share:>8.1%}{p.latency['ttft'][99.0]:>9.2f}s"
                     f"{p.latency['e2e'][99.0]:>9.2f}s{p.overload_probability:>10.1%}  {'met' if p.slo_met else '-'}")
    if len(shown) < len(rows):
        lines.append(f"  ({len(rows) - len(shown)} larger counts in --json's frontier)")
    if source_info is not None:
        lines.insert(1, f"  simulated: {args.workload}'s API requests on {source_info['day']}, the busiest day of month "
                        f"{args.month} (DES)")
    lines += [f"  note: {n}" for n in r.notes] + [f"  warning: {w}" for w in warnings]
    emit(args, obj, "\n".join(lines + term_lines))
    return 0


def over_term(args, sc, requests, prof, objectives, base, source_info):
    """The Monte Carlo over the term (``sim.studies.size_term``), or None for an hourly term."""
    from ..catalog.provisioned import MissingNumberError
    from ..studies.size_term import TERM_MONTHS, demand_factors, size_over_term

    if args.term not in TERM_MONTHS:
        return None
    months = TERM_MONTHS[args.term]
    if args.month + months > sc.horizon.months:
        raise UsageError(f"--term {args.term} from month {args.month} runs past the scenario's horizon "
                         f"({sc.horizon.months} months): start earlier or lengthen horizon.months")
    paths = args.paths or sc.paths
    try:
        demand = demand_factors(sc, args.workload, source_info["day"], args.month, months, paths)
        return size_over_term(requests, prof, objectives, demand, term=args.term, queue_limit_s=args.queue_limit,
                              base=base, target=args.breach_target, price_date=sc.price_date)
    except MissingNumberError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"{args.source}: {exc}") from None


def term_text(ts, unit: str) -> list[str]:
    """The text table of a ``TermSizing``."""
    d = ts.demand.to_json()
    bd = d["busiest_day_factor"]
    lines = ["", f"over the {ts.term} term ({d['months'][0]} to {d['months'][-1]}, {d['paths']:,} Monte Carlo paths; "
                 f"the term's busiest day is {bd['p50']:.2f}× the sized day at the median, {bd['p5']:.2f}–{bd['p95']:.2f}× "
                 "P5–P95):",
             f"  {'units':>6}{'pool only':>22}{'with pay-go spill':>40}",
             f"  {'':>6}{'USD/month':>12}{'P(breach)':>10}{'USD/month':>12}{'P95':>10}{'spill':>8}{'P(breach)':>10}"
             f"{'stranded':>10}"]
    rec = ts.recommended
    key = {x for x in (rec and rec["units"], ts.min_units_at_target) if x is not None}
    hyb = [p for p in ts.plans if p.hybrid_expected_cost_per_month is not None]
    if hyb:
        key.add(min(hyb, key=lambda p: p.hybrid_expected_cost_per_month).units)
    step = max(1, -(-len(ts.plans) // 12))
    shown = [p for i, p in enumerate(ts.plans) if i % step == 0 or p.units in key or i == len(ts.plans) - 1]
    for p in shown:
        pool = f"{p.units_cost_per_month:>12,.0f}{p.pool_p_breach:>10.1%}" if p.units > 0 else f"{'-':>12}{'-':>10}"
        hyb = (f"{p.hybrid_expected_cost_per_month:>12,.0f}{p.hybrid_p95_cost_per_month:>10,.0f}"
               f"{p.hybrid_spill_share:>8.1%}{p.hybrid_p_breach:>10.1%}{p.hybrid_stranded_units:>10.2f}"
               if p.hybrid_p_breach is not None else f"{'-':>12}{'-':>10}{'-':>8}{'-':>10}{p.pool_stranded_units:>10.2f}")
        mark = "  <- recommended" if rec and rec["units"] == p.units else ""
        lines.append(f"  {p.units:>6}{pool}{hyb}{mark}")
    if len(shown) < len(ts.plans):
        lines.append(f"  ({len(ts.plans) - len(shown)} more unit counts in --json's over_term.plans)")
    if rec:
        lines.append(f"  recommended at P(breach) <= {ts.target:g}: {rec['units']} {unit} "
                     f"({'with pay-go spill' if rec['plan'] == 'hybrid' else 'pool only'}), "
                     f"{rec['expected_cost_per_month']:,.0f} USD a month expected, P(breach) {rec['p_breach']:.1%}")
    if ts.min_units_at_target is not None:
        lines.append(f"  smallest pool-only purchase at that target: {ts.min_units_at_target} {unit}")
    lines += [f"  note: {n}" for n in ts.notes]
    return lines


COMMANDS: tuple[Command, ...] = (
    Command("size", "provisioned units a trace needs for latency objectives; the cheapest mix with pay-go",
            add_size, cmd_size),
)
