"""Commit options: simulate them with common random numbers, then analyse (``sim.analysis.commit``)."""

from __future__ import annotations

import xarray as xr

from ..analysis.commit import commit_analysis, options_scenario
from ..mc.runner import DEFAULT_BLOCK, run
from ..scenario.model import Scenario


def run_commit(sc: Scenario, *, paths: int | None = None, cvar_level: float = 0.95, threshold: float = 0.8,
               block_size: int = DEFAULT_BLOCK, out=None, deterministic: bool = False) -> tuple[dict, xr.Dataset]:
    """Simulate the commit options with common random numbers and analyse them."""
    ds, _ = run(options_scenario(sc), paths=paths, out=out, block_size=block_size, deterministic=deterministic)
    return commit_analysis(ds, sc, cvar_level=cvar_level, threshold=threshold), ds


def provisioned_candidates(ts) -> list[tuple[int, str]]:
    """The unit counts a term search (``sim.studies.size_term.TermSizing``) puts forward as commit
    options, each with why: the smallest pool-only purchase at the breach target, the recommended
    plan's units, and the cheapest hybrid plan in expectation whatever its breach probability."""
    out: dict[int, str] = {}
    if ts.min_units_at_target:
        out[ts.min_units_at_target] = f"smallest pool-only purchase with P(breach) <= {ts.target:g}"
    rec = ts.recommended
    if rec and rec["units"] > 0:
        out.setdefault(rec["units"], f"recommended at P(breach) <= {ts.target:g} ({rec['plan']})")
    hyb = [p for p in ts.plans if p.units > 0 and p.hybrid_expected_cost_per_month is not None]
    if hyb:
        b = min(hyb, key=lambda p: p.hybrid_expected_cost_per_month)
        out.setdefault(b.units, f"cheapest in expectation with pay-go spill (P(breach) {b.hybrid_p_breach:.1%})")
    return sorted(out.items())


def with_provisioned_options(sc: Scenario, prof, *, term: str, month: int, workload: str,
                             candidates: list[tuple[int, str]], raw_per_work: float) -> tuple[Scenario, list[dict]]:
    """``sc`` with a ``provisioned_throughput`` contract for ``prof`` (0 units) on the workload's API
    model, covering that workload alone (as the search sized it), and one strategy per candidate
    count setting its units.

    The contract's capacity is the profile's rate in the workload's raw tokens: work tokens per
    second × ``raw_per_work`` (raw tokens per burndown-weighted token of the sized stream) × 60.
    The Monte Carlo settles it hour by hour (``sim.pools.contracts``); the seconds-scale spill the
    term search found is in its own figures."""
    from ..catalog.provisioned import cost_per_month
    from ..scenario.model import Strategy
    from ..scenario.supply import Contract
    from .size_term import TERM_MONTHS

    wl = next(w for w in sc.token_workloads if w.name == workload)
    name = "".join(ch if ch.isalnum() else "_" for ch in f"{prof.provider}_{prof.unit}").lower()
    taken = {c.name for c in sc.contracts}
    while name in taken:
        name += "_x"
    c = Contract(name=name, kind="provisioned_throughput", models=[wl.models.api], workloads=[workload],
                 start_month=month,
                 term_months=TERM_MONTHS[term], period_months=1, units=0.0,
                 price_per_unit_month=float(cost_per_month(prof, 1, term)),
                 tokens_per_minute_per_unit=float(prof.tokens_per_second) * 60.0 * raw_per_work)
    strategies = list(sc.strategies)
    taken_s = {s.name for s in sc.all_strategies()}
    options = []
    for u, why in candidates:
        sname = f"{name}_{u}"
        while sname in taken_s:
            sname += "_x"
        taken_s.add(sname)
        strategies.append(Strategy(name=sname, set={f"contracts.{name}.units": u}))
        options.append({"strategy": sname, "units": u, "why": why})
    explicit = sc.all_strategies() if sc.strategies or sc.sweeps else []  # else all_strategies is a stand-in 'base'
    if not any(not s.set for s in explicit):  # keep no commitment as an option beside the searched ones
        strategies.insert(0, Strategy(name="pay_as_you_go"))
    return sc.model_copy(update={"contracts": list(sc.contracts) + [c], "strategies": strategies}), options
