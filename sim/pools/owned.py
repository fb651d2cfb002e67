"""Owned GPUs: capex, depreciation, power, facility, staff, licences, support.

Monthly cost of a fleet, per component (currency per month):

- depreciation = capex_allin × (1 − residual) / (life_years × 12) per GPU in service, where
  capex_allin = capex_per_gpu / (1 − network_share − storage_share): the shares are fractions of
  total IT capex (infra-economics.md network_share_of_it_capex), the catalog's capex excludes them
- power = GPUs × P_allin × (idle + (1 − idle) × u) × PUE × hours × price_per_kWh / 1000
- colocation = GPUs × P_allin / 1000 × rate per kW-month (on nameplate kW)
- staff = (staff_fte + GPUs / gpus_per_fte) × cost_per_fte_year / 12 while any GPU is owned
- licence = GPUs × licence_per_gpu_year / 12; support = GPUs × capex_allin × share / 12
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .components import CostComponent


@dataclass(frozen=True)
class OwnedCostInputs:
    capex_per_gpu: float
    network_share: float
    storage_share: float
    useful_life_years: float
    residual_value_share: float
    allin_power_w: float
    idle_power_fraction: float
    pue: float
    power_price_per_kwh: float
    colocation_per_kw_month: float
    staff_fte: float
    gpus_per_fte: float
    staff_cost_per_fte_year: float
    licence_per_gpu_year: float
    support_share_per_year: float

    @property
    def capex_allin(self) -> float:
        return self.capex_per_gpu / (1.0 - self.network_share - self.storage_share)


def owned_components(gpus: np.ndarray | float, utilization: np.ndarray | float, hours: np.ndarray | float,
                     c: OwnedCostInputs) -> list[CostComponent]:
    """The owned fleet's bill for one month, component by component (see the module docstring)."""
    g = np.asarray(gpus, float)
    u = np.asarray(utilization, float)
    h = np.asarray(hours, float)
    kw = g * c.allin_power_w / 1000.0
    energy_kwh = kw * (c.idle_power_fraction + (1.0 - c.idle_power_fraction) * u) * c.pue * h
    fte = np.where(g > 0, c.staff_fte + g / c.gpus_per_fte, 0.0)
    return [
        CostComponent("owned", "depreciation", "GPU-month", g,
                      c.capex_allin * (1.0 - c.residual_value_share) / (c.useful_life_years * 12.0)),
        CostComponent("owned", "power", "kWh", energy_kwh, c.power_price_per_kwh),
        CostComponent("owned", "colocation", "kW-month", kw, c.colocation_per_kw_month),
        CostComponent("owned", "staff", "FTE-month", fte, np.asarray(c.staff_cost_per_fte_year, float) / 12.0),
        CostComponent("owned", "licence", "GPU-month", g, np.asarray(c.licence_per_gpu_year, float) / 12.0),
        CostComponent("owned", "support", "GPU-month", g, c.capex_allin * c.support_share_per_year / 12.0),
    ]


def owned_month_cost(gpus: np.ndarray | float, utilization: np.ndarray | float, hours: np.ndarray | float,
                     c: OwnedCostInputs) -> dict[str, np.ndarray]:
    """Cost of each component of one month for ``gpus`` in service at ``utilization``, plus energy_kwh."""
    comps = owned_components(gpus, utilization, hours, c)
    out = {x.name: x.cost for x in comps}
    out["energy_kwh"] = np.asarray(comps[1].quantity, float)
    return out


# ---- the step from scenario + catalog to owned-pool inputs (every engine calls these) ------------
OWNED_COMPONENTS = ("depreciation", "power", "colocation", "staff", "licence", "support")


def owned_inputs(sc, gpu, value) -> OwnedCostInputs:
    """Cost inputs of the owned pool: scenario values, capex from the catalog when unset.

    ``gpu`` is the pool's ``GPUProfile``; ``value`` a valuation (``sim.pools.valuation``). Each
    field is a float, or a (P, 1) column for per-path valuations.
    """
    from .valuation import column

    o = sc.pools.owned
    k = "pools.owned."

    def v(name: str, catalog=None):
        return column(value(getattr(o, name), k + name, catalog))

    return OwnedCostInputs(v("capex_per_gpu", gpu.capex), v("network_share"), v("storage_share"),
                           v("useful_life_years"), v("residual_value_share"), float(gpu.allin_power_w),
                           float(gpu.idle_power_fraction), v("pue"), v("power_price_per_kwh"),
                           v("colocation_per_kw_month"), v("staff_fte"), v("gpus_per_fte"),
                           v("staff_cost_per_fte_year"), v("licence_per_gpu_year"), v("support_share_per_year"))


@dataclass(frozen=True)
class OwnedFleet:
    """GPUs per month, shape (M,) or (P, M): in service, generation-weighted, and ordered."""

    in_service: np.ndarray
    effective: np.ndarray  # in service × (1 + g)^(years from the price date to the order)
    ordered: np.ndarray

    @property
    def peak(self) -> float:
        """The largest fleet in service in any month (mean over paths)."""
        x = np.asarray(self.in_service, float)
        return float(x.max(-1).mean()) if x.size else 0.0


def owned_fleet(sc, value, months: int, trend_offset: int) -> OwnedFleet:
    """The owned fleet month by month.

    GPUs ordered in month m serve from m + ceil(lead time) for round(useful life × 12) months; a
    later order buys a later hardware generation whose throughput is (1 + g)^((m + offset) / 12)
    times the catalog's, offset = months from the price date to the horizon start.
    """
    from .valuation import column

    o = sc.pools.owned
    P = value.paths
    shape = (months,) if P is None else (P, months)
    in_service, effective, ordered = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    if not o.enabled:
        return OwnedFleet(in_service, effective, ordered)
    m = np.arange(months)
    lead = np.ceil(column(value(o.lead_time_months, "pools.owned.lead_time_months")))
    life = np.rint(column(value(o.useful_life_years, "pools.owned.useful_life_years")) * 12.0)
    g = column(value(o.generation_improvement_per_year, "pools.owned.generation_improvement_per_year"))
    for i, pur in enumerate(o.purchases):
        n = column(value(pur.gpus, f"pools.owned.purchases.{i}.gpus"))
        if pur.month < months:
            ordered[..., pur.month] += n[:, 0] if np.ndim(n) == 2 else n
        active = (m >= pur.month + lead) & (m < pur.month + lead + life)
        in_service += np.where(active, n, 0.0)
        effective += np.where(active, n * (1.0 + g) ** ((pur.month + trend_offset) / 12.0), 0.0)
    return OwnedFleet(in_service, effective, ordered)
