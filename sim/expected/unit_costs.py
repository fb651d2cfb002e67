"""Cost per million tokens by pool, from the same cost lines ``tokensim tco`` uses.

For each workload: the API's blended list price at its own token mix (caching and retries
included), and what the same tokens cost on rented or owned GPUs at the workload's SLO, at a
utilisation u of the pool's *usable* capacity (availability × headroom), for the fleet the
scenario actually has (``sim.pools.lines.fleet_for`` says which fleet and why). These are the
lines the planner compares before running any simulation.
"""

from __future__ import annotations

import math

import pandas as pd

from ..catalog.hardware import load_hardware
from ..pools.fit import ModelFitError, replica_for
from ..pools.gpu import gpu_rates
from ..pools.lines import WorkloadMix, fleet_for, lines_at
from ..pools.valuation import MeanValues
from .session import expected_session, gpu_seconds_per_session, workload_cards

UTILIZATIONS = (0.2, 0.4, 0.7, 1.0)


def session_mix(sc, w, book, hw=None):
    """One session of ``w`` at full shared-cache warmth: (expected session, tokens, GPU-seconds by pool).

    GPU-seconds are at the workload's SLO on each GPU pool whose GPU has a curve for its model and
    reaches the SLO; other pools are left out (the scenario checks refuse a workload that is
    *allowed* on such a pool).
    """
    hw = hw or load_hardware()
    refs = [r for r in (w.models.api, w.levers.routing.cheap_model if w.levers.routing.enabled else None) if r]
    es = expected_session(w, workload_cards(sc, w, book, refs), 1.0)
    tokens = es.primary.input_total + es.primary.output
    gsec = {}
    for pool in ("neocloud", "owned"):
        p = getattr(sc.pools, pool)
        if not getattr(w.models, pool) or p.gpu not in hw:
            continue
        try:
            pre, dec = gpu_rates(sc, w, pool, hw)
        except KeyError:  # CurveNotFoundError: the GPU has no curve for this model, so no line
            continue
        sec = gpu_seconds_per_session(es, pre, dec)
        if sec > 0 and math.isfinite(sec):
            gsec[pool] = sec
    return es, tokens, gsec


def gpu_context_tokens(w, book) -> float:
    """Mean tokens a call holds in the KV cache on a GPU pool: its output-weighted prompt + its output."""
    refs = [r for r in (w.models.api, w.levers.routing.cheap_model if w.levers.routing.enabled else None) if r]
    es = expected_session(w, {r: book.card(r) for r in refs}, 0.0)
    if es.gpu_output_tokens <= 0 or es.primary.calls <= 0:
        return float(es.gpu_prefill_tokens)
    return es.gpu_context_weight / es.gpu_output_tokens + es.gpu_output_tokens / es.primary.calls


def workload_mix_of(sc, w, book, hw=None) -> WorkloadMix:
    """The ``WorkloadMix`` of one workload: tokens, API list cost, GPU-seconds, smallest replicas."""
    hw = hw or load_hardware()
    es, tokens, gsec = session_mix(sc, w, book, hw)
    ctx = gpu_context_tokens(w, book) if gsec else 0.0
    replicas = {}
    for pool in list(gsec):
        try:
            replicas[pool] = replica_for(sc, w, pool, hw, ctx).gpus
        except ModelFitError:
            # a pool the workload is not allowed on (the load checks refuse an allowed one): its
            # model cannot be deployed there, so it has no cost line
            del gsec[pool]
    models = {"api": w.models.api} | {pool: getattr(w.models, pool) for pool in gsec}
    return WorkloadMix(w.name, tokens, {r: u.cost for r, u in es.api.items()}, gsec, models, replicas)


def unit_costs(sc, book) -> pd.DataFrame:
    """One row per token workload: $ per million (input + output) tokens on each pool."""
    hw = load_hardware()
    rows = []
    for w in sc.token_workloads:
        mix = workload_mix_of(sc, w, book, hw)
        lines = lines_at(sc, hw, mix, 0, MeanValues())
        row = {"workload": w.name, "tokens_per_session": mix.tokens}
        if "api" in lines:
            row["api_usd_per_mtok"] = lines["api"].var * 1e6
        for pool in ("neocloud", "owned"):
            if pool not in lines:
                continue
            ln = lines[pool]
            fl = fleet_for(sc, pool, ln, MeanValues())
            key = "neocloud_reserved" if pool == "neocloud" else "owned"
            for u in UTILIZATIONS:
                row[f"{key}_usd_per_mtok_u{int(round(u * 100))}"] = ln.per_mtok(fl.gpus, u)
            if pool == "neocloud":
                row["neocloud_on_demand_usd_per_mtok"] = lines["neocloud_on_demand"].var * 1e6
            row[f"{pool}_tokens_per_gpu_hour"] = mix.tokens / mix.gpu_seconds[pool] * 3600.0
            row[f"{pool}_fleet_gpus"] = fl.gpus
            row[f"{pool}_replica_gpus"] = mix.replica_gpus.get(pool, 1)
            row[f"{pool}_fleet_basis"] = fl.basis
        rows.append(row)
    return pd.DataFrame(rows)
