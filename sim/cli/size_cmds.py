"""tokensim size: the provisioned units a trace needs for its latency objectives (``sim.studies.size``)."""

from __future__ import annotations

import argparse

from pathlib import Path

from .common import Checked, Choice, Number, UsageError, Whole, emit, load_checked
from .registry import Command

POOLS = ("provisioned", "owned", "neocloud")
TERMS = ("hourly", "1w", "1m", "3m", "6m", "1y")


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
    p.add_argument("--queue-limit", action=Checked, check=Number(ge=0.0), default=1.0, metavar="SECONDS",
                   help="hybrid plans: a request that would wait longer for the units spills to pay-as-you-go "
                        "(default 1: the units absorb a second of backlog, like a token bucket one second deep)")
    p.add_argument("--decode-tok-s", action=Checked, check=Number(gt=0.0), default=None,
                   help="baseline decode speed, tokens/s (default: the scenario API latency assumption, 70)")
    p.add_argument("--prefill-tok-s", action=Checked, check=Number(gt=0.0), default=None)
    p.add_argument("--base-latency", action=Checked, check=Number(ge=0.0), default=None, metavar="SECONDS")


def cmd_size(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..calibrate.formats import read_requests
    from ..catalog.provisioned import MissingNumberError, UnknownProfileError, profile
    from ..pools.queueing import BaselineLatency
    from ..studies.size import parse_objective, size_trace

    if args.pool != "provisioned":
        raise UsageError(f"--pool {args.pool}: sizing GPU replicas against latency objectives is not built yet; "
                         "--pool provisioned sizes provisioned-throughput units")
    objectives, bad = [], []
    for s in args.slo:
        try:
            objectives.append(parse_objective(s))
        except ValueError as exc:
            bad.append(f"--slo {exc}")
    if bad:
        raise UsageError("; ".join(bad))
    try:
        prof = profile(args.profile)
    except UnknownProfileError as exc:
        raise UsageError(f"--profile {exc.args[0] if exc.args else args.profile}") from None
    if args.term not in prof.prices:
        raise UsageError(f"--term {args.term}: {prof.name} is sold on {', '.join(prof.prices)}")
    base = BaselineLatency()
    for flag, key in (("decode_tok_s", "decode_tok_s"), ("prefill_tok_s", "prefill_tok_s"), ("base_latency", "base_s")):
        if getattr(args, flag) is not None:
            base = replace(base, **{key: float(getattr(args, flag))})
    source_info = None
    if Path(args.source).suffix.lower() in (".yaml", ".yml"):
        from ..des.simulation import DesInputError
        from ..studies.size import scenario_requests

        if not args.workload:
            raise UsageError("a scenario as SOURCE needs --workload NAME: the workload whose requests to size for")
        sc = load_checked(args.source)
        if not 0 <= args.month < sc.horizon.months:
            raise UsageError(f"--month must be in 0..{sc.horizon.months - 1}, got {args.month}")
        try:
            requests, source_info = scenario_requests(sc, args.workload, month=args.month)
        except (ValueError, DesInputError) as exc:
            raise UsageError(f"{args.source}: {exc}") from None
        wl = next(w for w in sc.token_workloads if w.name == args.workload)
        warnings = [f"the busiest day of month {args.month} stands for every day: costs per month are 730 hours at its rate"]
        if wl.models.api and prof.pay_go_model and wl.models.api.split("/")[-1] != prof.pay_go_model.split("/")[-1]:
            warnings.append(f"{args.workload} calls {wl.models.api}; its requests are sized as if they went to "
                            f"{prof.name}")
        if len(requests) < 2:
            raise UsageError(f"{args.source}: workload {args.workload!r} sends {len(requests)} API request(s) on the "
                             "busiest day simulated: nothing to size (is it on a GPU pool, or batch?)")
    else:
        if args.workload:
            raise UsageError("--workload is for a scenario SOURCE; a trace is sized as it is")
        u = read_requests(args.source, args.format)
        requests, warnings = u.requests, list(u.warnings)
    try:
        r = size_trace(requests, prof, objectives, term=args.term, queue_limit_s=args.queue_limit, base=base)
    except MissingNumberError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"{args.source}: {exc}") from None
    obj = {"ok": True, "command": "size", "source": args.source, **r.to_json(), "warnings": warnings}
    if source_info is not None:
        obj["simulated"] = {"workload": args.workload, **source_info}
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
    emit(args, obj, "\n".join(lines))
    return 0


COMMANDS: tuple[Command, ...] = (
    Command("size", "provisioned units a trace needs for latency objectives; the cheapest mix with pay-go",
            add_size, cmd_size),
)
