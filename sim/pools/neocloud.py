"""Rented GPUs: reserved take-or-pay capacity and on-demand GPU-hours."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def reserved_cost(gpus: np.ndarray | float, hours: np.ndarray | float, price_per_gpu_hour: np.ndarray | float):
    """Take-or-pay: every reserved GPU-hour is billed, used or not."""
    return np.asarray(gpus, float) * np.asarray(hours, float) * np.asarray(price_per_gpu_hour, float)


def on_demand_gpus(work_gpu_seconds: np.ndarray, usable_per_gpu_hour: float, cap: float) -> np.ndarray:
    """GPUs needed per hour for the on-demand overflow (continuous: GPUs are billed per second)."""
    need = np.asarray(work_gpu_seconds, float) / usable_per_gpu_hour
    return np.minimum(need, cap) if cap > 0 else need * 0.0


def spin_up_gpu_hours(gpus_per_hour: np.ndarray, spin_up_hours: float) -> np.ndarray:
    """Billed idle time while on-demand GPUs start: spin_up_hours for every GPU added in an hour."""
    g = np.asarray(gpus_per_hour, float)
    added = np.maximum(np.diff(g, prepend=0.0, axis=-1), 0.0)
    return added * spin_up_hours


# ---- the step from scenario + catalog to neocloud-pool inputs (every engine calls these) ----------
@dataclass(frozen=True)
class ReservedSchedule:
    """Reserved GPUs per month, shape (M,) or (P, M): the pool's own reservation and contracts'."""

    pool_gpus: np.ndarray  # billed at the pool's reserved price × trend
    contract_gpus: np.ndarray  # reserved_gpus contracts: billed at their own unit price
    contract_cost: np.ndarray  # money per month for the contracts

    @property
    def gpus(self) -> np.ndarray:
        return self.pool_gpus + self.contract_gpus


def reserved_schedule(sc, value, months: int) -> ReservedSchedule:
    """Reserved GPU schedule of the neocloud pool and of ``reserved_gpus`` contracts."""
    from .valuation import column

    P = value.paths
    shape = (months,) if P is None else (P, months)
    pool, cgpus, ccost = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    neo = sc.pools.neocloud
    if neo.enabled:
        a = neo.reserved_start_month
        pool[..., a:min(a + neo.reserved_term_months, months)] += column(value(neo.reserved_gpus, "pools.neocloud.reserved_gpus"))
    for c in sc.contracts:
        if c.kind == "reserved_gpus":
            a, b = c.start_month, min(c.start_month + c.term_months, months)
            units = column(value(c.units, f"contracts.{c.name}.units"))
            price = column(value(c.price_per_unit_month, f"contracts.{c.name}.price_per_unit_month"))
            cgpus[..., a:b] += units
            ccost[..., a:b] += units * price
    return ReservedSchedule(pool, cgpus, ccost)


@dataclass(frozen=True)
class NeocloudPrices:
    """Price per GPU-hour by month, shape (M,) or (P, M), the price trend applied."""

    reserved: np.ndarray
    on_demand: np.ndarray


def neocloud_prices(sc, gpu, value, month_index: np.ndarray) -> NeocloudPrices:
    """Reserved and on-demand prices: the scenario's, else the catalog's (``gpu.rental``), × trend.

    ``month_index`` counts months from the price date (horizon month + offset).
    """
    from .api import price_trend_factor
    from .valuation import column

    neo = sc.pools.neocloud
    trend = price_trend_factor(np.asarray(month_index, float),
                               column(value(neo.price_trend_per_year, "pools.neocloud.price_trend_per_year")))
    res = column(value(neo.reserved_price_per_gpu_hour, "pools.neocloud.reserved_price_per_gpu_hour",
                       gpu.rental["reserved_1y"]))
    od = column(value(neo.on_demand_price_per_gpu_hour, "pools.neocloud.on_demand_price_per_gpu_hour",
                      gpu.rental["on_demand"]))
    return NeocloudPrices(res * trend, od * trend)


def on_demand_cap(sc, value) -> float | np.ndarray:
    """Most on-demand GPUs the neocloud pool rents at once (0 when the pool is off)."""
    neo = sc.pools.neocloud
    return value(neo.on_demand_max_gpus, "pools.neocloud.on_demand_max_gpus") if neo.enabled else 0.0
