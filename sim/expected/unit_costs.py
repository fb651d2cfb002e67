"""Cost per million tokens by pool, from the rate cards and the GPU catalog.

For each workload: the API's blended list price at its own token mix (caching and retries
included), and what the same tokens cost on rented or owned GPUs at the workload's SLO, at a
given utilisation. These are the lines the planner compares before running any simulation.
"""

from __future__ import annotations

import pandas as pd

from ..catalog.hardware import load_hardware
from ..pools.owned import owned_month_cost
from ..scenario.distributions import mean_of
from .forecast import _owned_inputs, _gpu_rates
from .session import expected_session, gpu_seconds_per_session

UTILIZATIONS = (0.2, 0.4, 0.7)


def session_mix(sc, w, book, hw=None):
    """One session of ``w`` at full shared-cache warmth: (expected session, tokens, GPU-seconds by pool).

    GPU-seconds are at the workload's SLO on each GPU pool whose GPU has a curve for its model;
    pools that cannot serve it are left out.
    """
    import math

    hw = hw or load_hardware()
    refs = [r for r in (w.models.api, w.levers.routing.cheap_model if w.levers.routing.enabled else None) if r]
    es = expected_session(w, {r: book.card(r) for r in refs}, 1.0)
    tokens = es.primary.input_total + es.primary.output
    gsec = {}
    for pool in ("neocloud", "owned"):
        p = getattr(sc.pools, pool)
        if not getattr(w.models, pool) or p.gpu not in hw:
            continue
        try:
            pre, dec = _gpu_rates(w, pool, sc, hw)
        except Exception:  # noqa: BLE001 - the GPU has no curve for this model: no line
            continue
        sec = gpu_seconds_per_session(es, pre, dec)
        if sec > 0 and math.isfinite(sec):
            gsec[pool] = sec
    return es, tokens, gsec


def unit_costs(sc, book) -> pd.DataFrame:
    """One row per token workload: $ per million (input + output) tokens on each pool."""
    hw = load_hardware()
    rows = []
    for w in sc.token_workloads:
        es, tokens, gsec = session_mix(sc, w, book, hw)
        row = {"workload": w.name, "tokens_per_session": tokens,
               "output_share": es.primary.output / tokens if tokens else 0.0}
        if w.models.api:
            api_cost = sum(u.cost for u in es.api.values())
            row["api_usd_per_mtok"] = api_cost / tokens * 1e6 if tokens else float("nan")
        for pool, sec in gsec.items():
            p = getattr(sc.pools, pool)
            tok_per_gpu_hour = tokens / sec * 3600.0 if sec > 0 else 0.0
            if pool == "neocloud":
                gpu = hw[p.gpu]
                od = mean_of(p.on_demand_price_per_gpu_hour) if p.on_demand_price_per_gpu_hour is not None \
                    else float(gpu.rental["on_demand"]["mode"])
                res = mean_of(p.reserved_price_per_gpu_hour) if p.reserved_price_per_gpu_hour is not None \
                    else float(gpu.rental["reserved_1y"]["mode"])
                for u in UTILIZATIONS:
                    row[f"neocloud_reserved_usd_per_mtok_u{int(u * 100)}"] = res / (tok_per_gpu_hour * u) * 1e6
                row["neocloud_on_demand_usd_per_mtok"] = od / tok_per_gpu_hour * 1e6 if tok_per_gpu_hour else float("inf")
            else:
                ci = _owned_inputs(sc, hw[p.gpu])
                # a 64-GPU fleet spreads the staff floor the way a real deployment would
                for u in UTILIZATIONS:
                    c = owned_month_cost(64.0, u, 730.0, ci)
                    per_gpu_hour = sum(float(c[k]) for k in ("depreciation", "power", "colocation", "staff",
                                                              "licence", "support")) / (64.0 * 730.0)
                    row[f"owned_usd_per_mtok_u{int(u * 100)}"] = per_gpu_hour / (tok_per_gpu_hour * u) * 1e6
            row[f"{pool}_tokens_per_gpu_hour"] = tok_per_gpu_hour
        rows.append(row)
    return pd.DataFrame(rows)
