"""The GPU pools of a simulated month: how many GPUs serve, and one SimPy pool per (pool, model)."""

from __future__ import annotations

import math

from ..catalog.hardware import load_hardware
from ..catalog.prices import PriceBook
from ..expected.session import expected_session, gpu_seconds_per_session
from ..pools.neocloud import on_demand_cap, reserved_schedule
from ..pools.owned import owned_fleet
from ..pools.resources import gpu_pool_from_curve
from ..pools.valuation import MeanValues
from ..scenario.distributions import mean_of
from ..scenario.model import Scenario
from .codes import _Sim


def _gpu_counts(sc: Scenario, pool: str, month: int) -> tuple[int, float]:
    """(serving GPUs, throughput multiplier) of a GPU pool in ``month``: GPUs × availability.

    The fleet comes from the pool builders every engine uses; the SLA headroom is not applied
    here because this model queues requests for real (headroom is what keeps that queue short).
    """
    val = MeanValues()
    p = getattr(sc.pools, pool)
    if not p.enabled:
        return 0, 1.0
    avail = val(p.availability, f"pools.{pool}.availability")
    if pool == "owned":
        fleet = owned_fleet(sc, val, sc.horizon.months, sc.trend_offset)
        g = float(fleet.in_service[month])
        if g <= 0:
            return 0, 1.0
        return int(round(g * avail)), float(fleet.effective[month] / g)
    g = float(reserved_schedule(sc, val, sc.horizon.months).gpus[month]) + float(on_demand_cap(sc, val))
    return int(round(g * avail)), 1.0


def _build_gpu_pools(sim: _Sim, sc: Scenario, month: int, book: PriceBook, day_sessions: dict[str, float],
                     record: bool) -> None:
    hw = None
    for pool in ("owned", "neocloud"):
        users = [w for w in sc.token_workloads if pool in w.allowed_pools]
        if not users:
            continue
        n, scale = _gpu_counts(sc, pool, month)
        if n <= 0:
            continue
        hw = hw or load_hardware()
        gpu = hw[getattr(sc.pools, pool).gpu]
        by_model: dict[str, list] = {}
        for w in users:
            by_model.setdefault(getattr(w.models, pool), []).append(w)
        weights, prefill_s = {}, {}
        for model, ws in by_model.items():
            wt = pre = 0.0
            for w in ws:
                curve = gpu.curve(model, w.models.precision)
                refs = [r for r in (w.models.api, w.levers.routing.cheap_model if w.levers.routing.enabled else None) if r]
                es = expected_session(w, {r: book.card(r) for r in refs}, 0.0)
                dec = float(curve.throughput_at(mean_of(w.slo.interactivity_tok_s_user)))
                n_s = max(day_sessions.get(w.name, 0.0), 1e-9)
                total = gpu_seconds_per_session(es, curve.prefill_tok_s_gpu, dec)
                wt += n_s * total
                pre += n_s * (total - es.gpu_output_tokens / dec if dec > 0 else 0.0)
            weights[model] = wt
            prefill_s[model] = pre
        models = sorted(by_model)
        if len(models) == 1:
            alloc = {models[0]: n}
        else:
            tot = sum(weights.values()) or 1.0
            share = {m: max(1, int(math.floor(n * weights[m] / tot))) for m in models}
            while sum(share.values()) > n and max(share.values()) > 1:
                big = max(share, key=share.get)
                share[big] -= 1
            rest = n - sum(share.values())
            for m in sorted(models, key=lambda m: -weights[m])[:max(rest, 0)]:
                share[m] += 1
            alloc = share
        for model in models:
            ws = by_model[model]
            slo = max(mean_of(w.slo.interactivity_tok_s_user) for w in ws)
            curve = gpu.curve(model, ws[0].models.precision)
            # share of GPU time the workloads' extra prefill takes (expected mix): the rest decodes
            share = 1.0 - prefill_s[model] / weights[model] if weights[model] > 0 else 1.0
            share = float(min(max(share, 0.05), 1.0))
            gp = gpu_pool_from_curve(sim.env, curve, alloc[model], slo, throughput_scale=scale, decode_share=share,
                                     name=f"{pool}:{model}", record=record)
            sim.gpu_pools[(pool, model)] = gp
            sim.gpu_meta[(pool, model)] = dict(pool=pool, model=model, gpu=gpu.id, gpus=alloc[model],
                                               slots_per_gpu=gp.slots, slo_tok_s=slo, throughput_scale=scale,
                                               decode_share=share,
                                               prefill_tok_s_gpu=gp.prefill_tok_s)


