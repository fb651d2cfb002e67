"""tokensim size: the provisioned units or GPU replicas a request stream needs for its latency
objectives, now and over a contract term (``sim.studies.size``, ``sim.studies.size_term``)."""

from __future__ import annotations

import argparse

from pathlib import Path

from .common import Checked, Choice, Number, UsageError, Whole, emit, load_checked
from .registry import Command

POOLS = ("provisioned", "owned", "neocloud")
TERMS = ("hourly", "1w", "1m", "3m", "6m", "1y", "3y")


def add_latency_args(p: argparse.ArgumentParser) -> None:
    """The queue and baseline-latency flags ``size`` and ``commit --provisioned`` share."""
    p.add_argument("--queue-limit", action=Checked, check=Number(ge=0.0), default=1.0, metavar="SECONDS",
                   help="provisioned pools' hybrid plans: a request that would wait longer for the units spills to "
                        "pay-as-you-go (default 1: the units absorb a second of backlog, like a token bucket one second "
                        "deep); GPU replicas spill a request that finds every slot busy")
    p.add_argument("--decode-tok-s", action=Checked, check=Number(gt=0.0), default=None,
                   help="baseline decode speed, tokens/s (default: the scenario API latency assumption, 70)")
    p.add_argument("--prefill-tok-s", action=Checked, check=Number(gt=0.0), default=None)
    p.add_argument("--base-latency", action=Checked, check=Number(ge=0.0), default=None, metavar="SECONDS")


def add_quote_args(p) -> None:
    """Flags that give a provisioned profile's numbers from the buyer's own quote (``override``)."""
    p.add_argument("--unit-input-tpm", action=Checked, check=Number(gt=0.0), default=None, metavar="TPM",
                   help="your quote: input tokens per minute one unit processes (sets the throughput; Bedrock "
                        "publishes none)")
    p.add_argument("--unit-output-tpm", action=Checked, check=Number(gt=0.0), default=None, metavar="TPM",
                   help="your quote: output tokens per minute per unit (output weight = input TPM / output TPM)")
    p.add_argument("--unit-cached-weight", action=Checked, check=Number(ge=0.0), default=None, metavar="W",
                   help="your quote: input-token equivalents per cached token")
    p.add_argument("--unit-price-hour", action=Checked, check=Number(gt=0.0), default=None, metavar="USD",
                   help="your quote: USD per unit-hour on --term")


def quoted(prof, args: argparse.Namespace):
    """``prof`` with the ``--unit-*`` numbers of the buyer's quote, graded ``user``."""
    from ..catalog.provisioned import override

    i, o = getattr(args, "unit_input_tpm", None), getattr(args, "unit_output_tpm", None)
    c, h = getattr(args, "unit_cached_weight", None), getattr(args, "unit_price_hour", None)
    if o is not None and i is None:
        raise UsageError("--unit-output-tpm needs --unit-input-tpm: the output weight is input TPM / output TPM")
    if i is None and c is None and h is None:
        return prof
    weights = {}
    if o is not None:
        weights.update(output=i / o, reasoning=i / o)
    if c is not None:
        weights["cached_input"] = c
    return override(prof, source="the buyer's quote (tokensim --unit-* flags)",
                    tokens_per_second=None if i is None else i / 60.0, weights=weights or None,
                    prices=None if h is None else {args.term: h})


def refuse_tpot(objectives) -> None:
    if any(o.metric == "tpot" for o in objectives):
        raise UsageError("--slo tpot: a provisioned pool's decode speed is the baseline's (--decode-tok-s), not a "
                         "function of the units; tpot objectives are for --pool owned|neocloud")


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


def provisioned_profile(name: str, term: str, args: argparse.Namespace | None = None):
    """The ``--profile`` (or ``--provisioned``) profile with the buyer's quote (``--unit-*``) applied,
    refused as a usage error when unknown or not sold on ``term``."""
    from ..catalog.provisioned import UnknownProfileError, profile

    try:
        prof = profile(name)
    except UnknownProfileError as exc:
        raise UsageError(f"--profile {exc.args[0] if exc.args else name}") from None
    if args is not None:
        try:
            prof = quoted(prof, args)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if term not in prof.prices:
        raise UsageError(f"--term {term}: {prof.name} is sold on {', '.join(prof.prices)}")
    flags = {"throughput": "--unit-input-tpm (input tokens a minute per unit)",
             "burndown.output": "--unit-output-tpm (output tokens a minute per unit)",
             f"prices.{term}": f"--unit-price-hour (USD per unit-hour on the {term} term)"}
    need = [flags[k] for k in flags if k in prof.missing]
    if need:  # every number the quote must give, in one refusal
        raise UsageError(f"--profile {prof.name}: {'; '.join(need)}: not public, give it from your quote"
                         if len(need) == 1 else
                         f"--profile {prof.name}: these numbers are not public, give them from your quote: "
                         + "; ".join(need))
    return prof


def baseline_latency(args: argparse.Namespace):
    from dataclasses import replace

    from ..pools.queueing import BaselineLatency

    base = BaselineLatency()
    for flag, key in (("decode_tok_s", "decode_tok_s"), ("prefill_tok_s", "prefill_tok_s"), ("base_latency", "base_s")):
        if getattr(args, flag) is not None:
            base = replace(base, **{key: float(getattr(args, flag))})
    return base


def workload_stream(sc, source: str, workload: str, month: int, prof=None, pool: str = "api",
                    model: str | None = None) -> tuple:
    """A scenario workload's busiest-day API requests (``scenario_requests``), its summary and the
    warnings, refused as usage errors."""
    from ..des.simulation import DesInputError
    from ..studies.size import scenario_requests

    try:  # --month was checked against the horizon by check_term
        requests, info = scenario_requests(sc, workload, month=month)
    except (ValueError, DesInputError) as exc:
        raise UsageError(f"{source}: {exc}") from None
    wl = next(w for w in sc.token_workloads if w.name == workload)
    warnings = [f"the busiest day of month {month} stands for every day: costs per month are 730 hours at its rate"]
    if prof is not None and wl.models.api and prof.pay_go_model and \
            wl.models.api.split("/")[-1] != prof.pay_go_model.split("/")[-1]:
        warnings.append(f"{workload} calls {wl.models.api}; its requests are sized as if they went to {prof.name}")
    if model is not None and (getattr(wl.models, pool, None) or "").lower() != model.lower():
        warnings.append(f"{workload}'s {pool} model is {getattr(wl.models, pool, None)}; its API requests are sized "
                        f"as if served by {model}")
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
                   help="a provisioned-capacity profile (calibration/provisioned), e.g. vertex/gemini-2.5-flash-lite; "
                        "with --pool owned|neocloud a GPU and model class of the hardware catalog, "
                        "GPU/MODEL[/PRECISION], e.g. h100-sxm/llama-3.3-70b")
    p.add_argument("--interactivity", action=Checked, check=Number(gt=0.0), default=None, metavar="TOK_S",
                   help="GPU pools: output tokens/s each user must see at a full batch (default: from a tpot "
                        "objective, or the scenario workload's slo.interactivity_tok_s_user)")
    p.add_argument("--pay-go", default=None, metavar="PROVIDER/MODEL",
                   help="GPU pools: the API model that takes the overflow (default: the scenario workload's API "
                        "model; none for a trace: replicas alone)")
    p.add_argument("--slo", action="append", required=True, metavar='"p99 e2e <= 1.5s"',
                   help="a latency objective (repeat for several): pNN ttft|e2e|tpot <= T s|ms (tpot: GPU pools)")
    p.add_argument("--term", action=Checked, check=Choice(TERMS), default="1m")
    add_latency_args(p)
    add_quote_args(p)
    p.add_argument("--paths", action=Checked, check=Whole(1, 100_000), default=None, metavar="N",
                   help="with a scenario and a term of a month or more: Monte Carlo paths over the term "
                        "(default: the scenario's)")
    p.add_argument("--breach-target", action=Checked, check=Number(ge=0.0, le=0.999), default=0.05, metavar="P",
                   help="over the term: recommend the cheapest plan whose P(some month misses an objective) is at "
                        "most P (default 0.05)")


def gpu_server(args: argparse.Namespace, requests, sc, objectives):
    """The ``GpuServer`` of ``--pool owned|neocloud --profile GPU/MODEL[/PRECISION]``, the requests'
    pay-go costs (``--pay-go``, or the scenario workload's API model; None: no hybrid) and notes."""
    from dataclasses import replace

    from ..catalog.hardware import load_hardware
    from ..catalog.models import ModelFitError
    from ..pools.servers import NEOCLOUD_TIERS, GpuServer, gpu_cost
    from ..scenario.distributions import mean_of
    from ..studies.size import pay_go_costs, request_arrays

    parts = args.profile.split("/")
    hw = load_hardware()
    if len(parts) not in (2, 3) or parts[0] not in hw:
        raise UsageError(f"--profile {args.profile!r}: with --pool {args.pool} give GPU/MODEL[/PRECISION], GPU one of "
                         f"{', '.join(sorted(hw))} (e.g. h100-sxm/llama-3.3-70b)")
    gpu = hw[parts[0]]
    wl = next((w for w in sc.token_workloads if w.name == args.workload), None) if sc is not None else None
    tpot = [o for o in objectives if o.metric == "tpot"]
    if args.interactivity is not None:
        slo = float(args.interactivity)
    elif tpot:
        slo = 1.0 / min(o.seconds for o in tpot)  # slots sized so that every stream decodes at least this fast
    elif wl is not None:
        slo = float(mean_of(wl.slo.interactivity_tok_s_user))
    else:
        raise UsageError("--pool owned|neocloud needs the speed each user must see: --interactivity TOK_S, or a "
                         "\"pNN tpot <= T\" objective")
    neocloud_term(args)
    try:
        cost, price_note = gpu_cost(args.pool, gpu, sc, args.term, args.month)
    except ValueError as exc:
        raise UsageError(f"{args.source}: {exc}" if sc is not None else str(exc)) from None
    _, fresh, cached, _, out = request_arrays(requests)
    try:
        server = GpuServer(gpu, parts[1], parts[2] if len(parts) == 3 else None, slo, fresh, cached, out, None,
                           baseline_latency(args))
    except (ModelFitError, ValueError) as exc:
        raise UsageError(f"--profile {args.profile}: {exc}") from None
    server.cost = replace(cost, gpus_per_replica=server.replica.gpus)
    pay_model = args.pay_go or (wl.models.api if wl is not None else None)
    try:
        pay = pay_go_costs(pay_model, requests, sc.price_date if sc is not None else None)
    except LookupError as exc:
        raise UsageError(f"--pay-go {pay_model}: {exc}") from None
    server.pay_go_model = pay_model
    r = server.replica
    notes = [f"{r.explain}; {server.slots} streams a replica ({server.slots // r.gpus} a GPU after the decode share "
             f"{server.decode_share:.2f} of the stream's prefill), {slo:g} tok/s per user at a full batch",
             f"replicas bought = ceil(serving / availability {cost.availability:g}); "
             + (f"{NEOCLOUD_TIERS[args.term]} rental {cost.price_per_gpu_hour:.4g} USD per GPU-hour ({price_note})"
                if args.pool == "neocloud" else "owned: depreciation, power at the served utilisation, colocation, "
                f"staff, licence and support per month (pools.owned; {price_note})")]
    if pay is None:
        notes.append("no pay-as-you-go model (--pay-go MODEL): plans are the replicas alone")
    else:
        notes.append(f"hybrid plans: a request finding every slot busy goes to {pay_model} at its list price")
    return server, pay, notes


def cmd_size(args: argparse.Namespace) -> int:

    from ..calibrate.formats import read_requests
    from ..catalog.provisioned import MissingNumberError
    from ..studies.size import provisioned_server, size_stream

    objectives = parse_objectives(args.slo)
    gpu_pool = args.pool != "provisioned"
    prof = None if gpu_pool else provisioned_profile(args.profile, args.term, args)
    if not gpu_pool:
        refuse_tpot(objectives)
    for flag in ("interactivity", "pay_go"):
        if not gpu_pool and getattr(args, flag) is not None:
            raise UsageError(f"--{flag.replace('_', '-')} is for --pool owned|neocloud")
    base = baseline_latency(args)
    source_info, price_date, sc = None, None, None
    if Path(args.source).suffix.lower() in (".yaml", ".yml"):
        if not args.workload:
            raise UsageError("a scenario as SOURCE needs --workload NAME: the workload whose requests to size for")
        sc = load_checked(args.source)
        check_term(args, sc)  # before the DES runs
        model = args.profile.split("/")[1] if gpu_pool and "/" in args.profile else None
        requests, source_info, warnings = workload_stream(sc, args.source, args.workload, args.month, prof,
                                                          args.pool, model)
        price_date = sc.price_date  # pay-go at the scenario's price date, as the term study prices it
    else:
        if args.workload:
            raise UsageError("--workload is for a scenario SOURCE; a trace is sized as it is")
        u = read_requests(args.source, args.format)
        requests, warnings = u.requests, list(u.warnings)
    try:
        if gpu_pool:
            server, pay, notes = gpu_server(args, requests, sc, objectives)
        else:
            server, pay, notes = provisioned_server(requests, prof, term=args.term, queue_limit_s=args.queue_limit,
                                                    base=base, price_date=price_date)
        pay_day = pay
        if pay is not None and sc is not None and server.pay_go_model:  # the sized month's expected list price
            from ..pools.api import expected_price_factor

            k = float(expected_price_factor(sc, server.pay_go_model, [args.month])[0])
            pay_day = pay * k
            notes.append(f"pay-go at month {args.month}'s expected list price: {k:.3g} × the price date's "
                         "(pools.api.price_trend)")
        r = size_stream(requests, server, objectives, pay_day, term=args.term, notes=notes)
    except MissingNumberError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"{args.source}: {exc}") from None
    obj = {"ok": True, "command": "size", "source": args.source, **r.to_json(), "warnings": warnings}
    term_lines: list[str] = []
    if source_info is not None:
        obj["simulated"] = {"workload": args.workload, **source_info}
        ts = over_term(args, sc, requests, server, pay, objectives, source_info)
        if ts is not None:
            obj["over_term"] = ts.to_json()
            term_lines = term_text(ts, server.unit)
    if gpu_pool:
        rep = server.replica
        obj["pool"] = args.pool
        obj["replica"] = {"gpu": server.gpu.id, "model": server.curve.model_class, "precision": rep.precision,
                          "gpus": rep.gpus, "streams": server.slots, "interactivity_tok_s": server.slo,
                          "decode_share": round(server.decode_share, 4), "context_tokens": rep.context_tokens,
                          "availability": server.cost.availability}
        for key in ("min_units_for_slo",):
            if obj[key] is not None:
                obj["gpus_for_slo"] = server.cost.bought(obj[key]) * rep.gpus
        if obj["cheapest_plan"] is not None:
            obj["cheapest_plan"]["gpus"] = server.cost.bought(obj["cheapest_plan"]["units"]) * rep.gpus
    cp = r.cheapest_plan
    what = (f"{server.name} on {args.pool} GPUs ({server.replica.gpus} a replica)" if gpu_pool
            else f"{prof.name} ({prof.unit}, {args.term} term)")
    lines = [f"{what} for {r.requests:,} requests over {r.hours:.2f} h, "
             f"{', '.join(str(o) for o in objectives)}:",
             "  busiest windows (units needed): " + ", ".join(f"{k} max {v['max']:.2f} p99 {v['p99']:.2f}"
                                                          for k, v in r.windows.items()),
             f"  smallest legal purchase meeting every objective on the pool alone: "
             f"{r.min_units_for_slo if r.min_units_for_slo is not None else 'none (see the notes)'}",
             ("  cheapest plan meeting them: " + (f"{cp.units} {server.unit} + pay-go spill {cp.spill_share:.1%}, "
                                                  f"{cp.cost_per_month:,.0f} USD a month" if cp else "none"))]
    if gpu_pool:
        bought = [(k, x) for k, x in (("smallest", r.min_units_for_slo), ("cheapest", cp.units if cp else None))
                  if x is not None and x > 0]
        if bought:
            lines.append("  replicas serving → bought (GPUs): " + ", ".join(
                f"{k} {x} → {server.cost.bought(x)} ({server.cost.bought(x) * server.replica.gpus})" for k, x in bought))
    spill_rule = ("when every slot is busy" if gpu_pool else f"past a {args.queue_limit:g} s wait")
    lines.append(f"  {'with pay-go ' + spill_rule if r.frontier else 'the pool alone'}:")
    lines.append(f"  {'units':>6}{'USD/month':>12}{'spill':>8}{'p99 ttft':>10}{'p99 e2e':>10}{'p99 tpot':>10}"
                 f"{'overload':>10}  SLO")
    rows = r.frontier or r.provisioned
    last = max([x for x in (r.min_units_for_slo, cp.units if cp else None) if x is not None], default=0)
    shown = [p for p in rows if p.units <= last] + [p for p in rows if p.units > last][:3]
    for p in shown:
        lines.append(f"  {p.units:>6}{p.cost_per_month:>12,.0f}{p.spill_share:>8.1%}{p.latency['ttft'][99.0]:>9.2f}s"
                     f"{p.latency['e2e'][99.0]:>9.2f}s{p.latency['tpot'][99.0] * 1000:>8.0f}ms"
                     f"{p.overload_probability:>10.1%}  {'met' if p.slo_met else '-'}")
    if len(shown) < len(rows):
        lines.append(f"  ({len(rows) - len(shown)} larger counts in --json's frontier)")
    if source_info is not None:
        lines.insert(1, f"  simulated: {args.workload}'s API requests on {source_info['day']}, the busiest day of month "
                        f"{args.month} (DES)")
    lines += [f"  note: {n}" for n in r.notes] + [f"  warning: {w}" for w in warnings]
    emit(args, obj, "\n".join(lines + term_lines))
    return 0


def neocloud_term(args) -> None:
    """Refuse a neocloud term the hardware catalog does not price."""
    from ..pools.servers import NEOCLOUD_TIERS

    if getattr(args, "pool", "provisioned") == "neocloud" and args.term not in NEOCLOUD_TIERS:
        raise UsageError(f"--term {args.term}: neocloud GPUs are priced {', '.join(NEOCLOUD_TIERS)} in the hardware "
                         "catalog (on demand, reserved 1 year, reserved 3 years)")


def check_term(args, sc) -> None:
    """Refuse a term the scenario's horizon (or, for neocloud GPUs, the catalog) cannot take."""
    from ..studies.size_term import TERM_MONTHS

    neocloud_term(args)
    if not 0 <= args.month < sc.horizon.months:
        raise UsageError(f"--month must be in 0..{sc.horizon.months - 1}, got {args.month}")
    if args.term in TERM_MONTHS and args.month + TERM_MONTHS[args.term] > sc.horizon.months:
        raise UsageError(f"--term {args.term} from month {args.month} runs past the scenario's horizon "
                         f"({sc.horizon.months} months): start earlier or lengthen horizon.months")


def over_term(args, sc, requests, server, pay, objectives, source_info):
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
        demand = demand_factors(sc, args.workload, source_info["day"], args.month, months, paths,
                                pay_go_model=server.pay_go_model if pay is not None else None)
        return size_over_term(requests, server, objectives, demand, pay, term=args.term, target=args.breach_target)
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
    for pool in (hyb, [p for p in hyb if p.units > 0]):  # the cheapest, and the cheapest that buys units
        if pool:
            key.add(min(pool, key=lambda p: p.hybrid_expected_cost_per_month).units)
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
    Command("size", "provisioned units or GPU replicas a stream needs for latency objectives; the cheapest mix "
            "with pay-go; over a term under uncertain demand",
            add_size, cmd_size),
)
