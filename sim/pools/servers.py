"""Pools a request stream can be sized on: provisioned units, GPU replicas (owned or neocloud).

A server model answers, for a unit count ``u`` and a request stream (arrival times, possibly
time-compressed to stand for a busier day), how each request fares — provisioned only (every
request queues) or hybrid (a request the pool cannot take at once spills to pay-as-you-go) —
and what ``u`` units cost an hour. ``sim.studies.size`` searches unit counts with it and
``sim.studies.size_term`` carries it over a contract term; both see only this interface.

- ``ProvisionedServer``: the fluid FIFO of ``sim.pools.queueing.pool_waits`` at the units'
  burndown-weighted rate, latency from the ``BaselineLatency`` of the provider's model; spill past
  ``queue_limit_s`` of wait (``spill``).
- ``GpuServer``: whole replicas of a model on one GPU type (``sim.pools.fit.fit_replica``: the
  memory fit), each a server of ``slots`` streams with continuous batching
  (``batched_servers``, the DES's GPU pool): per-GPU slots and speeds as the DES builds them
  (``sim.pools.resources.gpu_pool_from_curve``: the curve at the SLO, less the decode share its
  extra prefill takes), so a one-GPU replica at the benchmark's context is the DES's GPU. Beyond
  that context the curve is derated as the engines charge GPU-seconds (``context_factor``); the
  DES's pool does not derate for context, so it runs more streams than this sizing assumes at
  long contexts (conservative here). TTFT = wait for a slot + prefill of the
  uncached prompt at the replica's rate; TPOT = 1 / the speed at the concurrency the request
  joined; e2e = TTFT + output × TPOT. Hybrid: a request finding every slot busy goes to pay-go.
  Cost: whole replicas bought for the serving ones (``ceil(replicas / availability)``), at the
  catalog's rental mode per GPU-hour (neocloud) or the owned pool's monthly cost components
  (``sim.pools.owned``) at the utilisation served.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..catalog.provisioned import cost_per_hour, unit_seconds
from .gpu import BENCH_INPUT_PER_OUTPUT, context_factor, gpu_seconds
from .queueing import BaselineLatency, batched_servers, latency, pool_waits, spill

__all__ = ["Served", "ProvisionedServer", "GpuServer", "GpuCost", "gpu_cost", "NEOCLOUD_TIERS"]

# the hardware catalog's rental tiers by the size command's terms
NEOCLOUD_TIERS = {"hourly": "on_demand", "1y": "reserved_1y", "3y": "reserved_3y"}
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class Served:
    """Each request's fate at one unit count: spilled or not, ttft / e2e / tpot (s; spilled requests
    at pay-go's), and ``busy``, the share of the units' capacity the admitted work used."""

    spilled: np.ndarray
    ttft: np.ndarray
    e2e: np.ndarray
    tpot: np.ndarray
    busy: float

    def metric(self, name: str) -> np.ndarray:
        return {"ttft": self.ttft, "e2e": self.e2e, "tpot": self.tpot}[name]


class ProvisionedServer:
    """A provisioned profile on one term (``sim.catalog.provisioned``), for a stream's tokens."""

    kind = "provisioned"

    def __init__(self, prof, term: str, fresh, cached, out, base: BaselineLatency, queue_limit_s: float,
                 reasoning=None):
        self.prof, self.term, self.base, self.queue_limit_s = prof, term, base, float(queue_limit_s)
        self.name, self.unit, self.minimum, self.increment = prof.name, prof.unit, prof.minimum, prof.increment
        self.fresh = np.asarray(fresh, float)
        self.out = np.asarray(out, float)
        r = 0.0 if reasoning is None else np.asarray(reasoning, float)  # part of out, at the reasoning weight
        self.work = np.ascontiguousarray(unit_seconds(prof, self.fresh, np.asarray(cached, float), self.out, r),
                                         dtype=np.float64)  # unit-seconds per request
        self.pay_go_latency = base  # the same model's pay-as-you-go endpoint
        self.pay_go_model = prof.pay_go_model if prof.pay_go_option else None
        self.hybrid_rule = f"a request that would wait more than {self.queue_limit_s:g} s spills"

    def cost_per_hour(self, u: int, busy: float = 0.0) -> float:
        return float(cost_per_hour(self.prof, u, self.term))

    def _served(self, waits, spilled, busy) -> Served:
        ttft, e2e = latency(np.zeros(self.fresh.size), self.fresh, self.out, waits, self.base)
        return Served(spilled, ttft, e2e, np.full(self.fresh.size, 1.0 / self.base.decode_tok_s), busy)

    def unloaded(self) -> Served:
        n = self.fresh.size
        return self._served(np.zeros(n), np.zeros(n, bool), 0.0)

    def serve(self, t: np.ndarray, span_s: float, u: int, hybrid: bool) -> Served:
        n = t.size
        if not hybrid:
            return self._served(pool_waits(t, self.work, u, checked=True), np.zeros(n, bool),
                                min(1.0, float(self.work.sum()) / (u * span_s)))
        spilled, w = spill(t, self.work, u, self.queue_limit_s, checked=True)
        waits = np.zeros(n)
        waits[~spilled] = w  # spilled requests start at once on pay-go
        busy = min(1.0, float(self.work[~spilled].sum()) / (u * span_s)) if u > 0 else 0.0
        return self._served(waits, spilled, busy)


@dataclass(frozen=True)
class GpuCost:
    """How GPU replicas are paid: ``pool`` owned or neocloud, its price per GPU-hour (neocloud) or
    owned cost inputs, and the share of GPUs able to serve."""

    pool: str
    gpus_per_replica: int
    availability: float
    price_per_gpu_hour: float | None = None  # neocloud
    owned: object | None = None  # sim.pools.owned.OwnedCostInputs

    def bought(self, replicas: int) -> int:
        """Replicas paid for so that ``replicas`` serve: ceil(replicas / availability)."""
        return int(math.ceil(replicas / self.availability - 1e-9)) if replicas > 0 else 0

    def per_hour(self, replicas: int, busy: float) -> float:
        gpus = self.bought(replicas) * self.gpus_per_replica
        if gpus == 0:
            return 0.0
        if self.pool == "neocloud":
            return gpus * float(self.price_per_gpu_hour)
        from .owned import owned_month_cost

        c = owned_month_cost(float(gpus), min(max(busy, 0.0), 1.0), HOURS_PER_MONTH, self.owned)
        return float(sum(float(np.sum(v)) for k, v in c.items() if k != "energy_kwh")) / HOURS_PER_MONTH


def gpu_cost(pool: str, gpu, sc=None, term: str = "hourly", month: int = 0) -> tuple[GpuCost, str]:
    """How replicas of ``gpu`` are paid on ``pool`` ("owned" or "neocloud"), and where the price comes
    from. With a scenario whose pool has this GPU: its prices (neocloud: on-demand or reserved, with
    its trend to ``month``) and availability; otherwise the catalog's (neocloud rental mode for the
    term's tier, owned capex) and the pool's default or scenario availability. ``gpus_per_replica``
    is 1 here: the caller sets the replica's. ValueError for an availability that serves nothing or
    a term the catalog does not price."""
    from ..scenario.distributions import mean_of
    from ..scenario.supply import NeocloudPool, OwnedPool
    from .valuation import MeanValues

    cfg = getattr(sc.pools, pool) if sc is not None else (OwnedPool() if pool == "owned" else NeocloudPool())
    same_gpu = sc is not None and cfg.gpu == gpu.id  # the scenario's prices are for its pool's GPU
    avail = float(mean_of(cfg.availability))
    if not avail > 0:
        raise ValueError(f"pools.{pool}.availability is {avail:g}: no GPU time can serve, no replica count meets "
                         "an objective")
    note = "catalog mode"
    if pool == "neocloud":
        if term not in NEOCLOUD_TIERS:
            raise ValueError(f"neocloud GPUs are priced {', '.join(NEOCLOUD_TIERS)}, not {term!r}")
        tier = NEOCLOUD_TIERS[term]
        price = float(gpu.rental[tier]["mode"])
        if same_gpu and tier in ("on_demand", "reserved_1y"):
            from .neocloud import neocloud_prices

            p = neocloud_prices(sc, gpu, MeanValues(), np.array([sc.trend_offset + month]))
            price = float(np.ravel(p.on_demand if tier == "on_demand" else p.reserved)[0])
            note = f"the scenario's price, its trend to month {month}"
        return GpuCost(pool, 1, avail, price_per_gpu_hour=price), note
    from types import SimpleNamespace

    from .owned import owned_inputs

    if sc is not None and not same_gpu:
        cfg = cfg.model_copy(update={"capex_per_gpu": None})
        note = f"capex from the catalog for {gpu.id} (the scenario's is for {getattr(sc.pools, pool).gpu})"
    return GpuCost(pool, 1, avail, owned=owned_inputs(SimpleNamespace(pools=SimpleNamespace(owned=cfg)), gpu,
                                                      MeanValues())), note


class GpuServer:
    """Whole replicas of ``model`` on ``gpu`` at ``slo_tok_s`` per user (module docstring)."""

    kind = "gpu"
    minimum = 1
    increment = 1
    unit = "replicas"

    def __init__(self, gpu, model: str, precision: str | None, slo_tok_s: float, fresh, cached, out,
                 cost: GpuCost | None, pay_go_latency: BaselineLatency):
        from ..catalog.hardware import CurveNotFoundError
        from .fit import fit_replica
        from .resources import interactivity_at_concurrency, slo_slots

        try:
            curve = gpu.curve(model, precision)
        except CurveNotFoundError as exc:
            raise ValueError(str(exc)) from None
        if float(curve.throughput_at(max(slo_tok_s, float(curve.interactivity[0])))) <= 0:
            raise ValueError(f"{gpu.id} cannot serve {model} at {slo_tok_s:g} tok/s per user: its curve's fastest point "
                             f"is {curve.max_interactivity():g} tok/s")
        self.gpu, self.curve, self.slo = gpu, curve, float(slo_tok_s)
        self.fresh = np.asarray(fresh, float)
        self.out = np.asarray(out, float)
        ctx_tokens = float(np.mean(self.fresh + np.asarray(cached, float) + self.out))
        self.replica = fit_replica(gpu, model, curve, self.slo, ctx_tokens)
        g = self.replica.gpus
        i_slo = max(self.slo, float(curve.interactivity[0]))
        dec = float(curve.throughput_at(i_slo))
        cf = float(context_factor(ctx_tokens))
        # the share of GPU time the stream's prompts beyond the benchmark's take (as the DES builds its pool)
        total = gpu_seconds(self.fresh, self.out, curve.prefill_tok_s_gpu, dec, ctx_tokens)
        extra = np.maximum(self.fresh - BENCH_INPUT_PER_OUTPUT * self.out, 0.0) / curve.prefill_tok_s_gpu
        self.decode_share = float(min(max(1.0 - extra.sum() / total.sum(), 0.05), 1.0)) if total.sum() > 0 else 1.0
        k = cf * self.decode_share
        per_gpu = max(1, int(math.floor(slo_slots(curve, self.slo) * k + 1e-9)))
        self.slots = g * per_gpu
        self.speeds = np.array([0.0] + [interactivity_at_concurrency(curve, c / g / k)
                                        for c in range(1, self.slots + 1)])
        self.prefill_rate = g * curve.prefill_tok_s_gpu
        self.cost = cost
        self.pay_go_latency = pay_go_latency
        self.pay_go_model: str | None = None  # set by whoever prices the overflow
        self.name = f"{gpu.id}/{curve.model_class}/{curve.precision}"
        # replica-seconds per request at a full batch: the window requirements' work
        self.work = np.ascontiguousarray((self.fresh / self.prefill_rate + self.out / self.speeds[-1]) / self.slots)
        self.hybrid_rule = "a request finding every slot busy spills"

    def cost_per_hour(self, u: int, busy: float = 0.0) -> float:
        if self.cost is None:
            raise ValueError("no cost model for this GPU pool")
        return self.cost.per_hour(u, busy)

    def _served(self, b, t, u) -> Served:
        ttft = (b.admit - t) + b.prefill_s
        tpot = 1.0 / np.where(b.speed > 0, b.speed, np.nan)
        e2e = ttft + self.out * tpot
        sp = b.spilled
        if sp.any():  # spilled requests on pay-go at its baseline latency
            pt, pe = latency(np.zeros(int(sp.sum())), self.fresh[sp], self.out[sp], np.zeros(int(sp.sum())),
                             self.pay_go_latency)
            ttft[sp], e2e[sp], tpot[sp] = pt, pe, 1.0 / self.pay_go_latency.decode_tok_s
        return Served(sp, ttft, e2e, tpot, 0.0)

    def unloaded(self) -> Served:
        n = self.fresh.size
        ttft = self.fresh / self.prefill_rate
        tpot = np.full(n, 1.0 / self.speeds[1])
        return Served(np.zeros(n, bool), ttft, ttft + self.out * tpot, tpot, 0.0)

    def serve(self, t: np.ndarray, span_s: float, u: int, hybrid: bool) -> Served:
        n = t.size
        if u == 0:
            pt, pe = latency(np.zeros(n), self.fresh, self.out, np.zeros(n), self.pay_go_latency)
            return Served(np.ones(n, bool), pt, pe, np.full(n, 1.0 / self.pay_go_latency.decode_tok_s), 0.0)
        b = batched_servers(t, self.fresh, self.out, u, self.slots, self.speeds, self.prefill_rate,
                            reject_when_full=hybrid)
        s = self._served(b, t, u)
        busy = min(1.0, b.slot_seconds / (u * self.slots * span_s))
        return Served(s.spilled, s.ttft, s.e2e, s.tpot, busy)
