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


def owned_month_cost(gpus: np.ndarray | float, utilization: np.ndarray | float, hours: np.ndarray | float,
                     c: OwnedCostInputs) -> dict[str, np.ndarray]:
    """Cost components of one month for ``gpus`` in service at average ``utilization``."""
    g = np.asarray(gpus, float)
    u = np.asarray(utilization, float)
    h = np.asarray(hours, float)
    depreciation = g * c.capex_allin * (1.0 - c.residual_value_share) / (c.useful_life_years * 12.0)
    power_w = g * c.allin_power_w * (c.idle_power_fraction + (1.0 - c.idle_power_fraction) * u)
    energy_kwh = power_w * c.pue * h / 1000.0
    power = energy_kwh * c.power_price_per_kwh
    colocation = g * c.allin_power_w / 1000.0 * c.colocation_per_kw_month
    staff = np.where(g > 0, (c.staff_fte + g / c.gpus_per_fte) * c.staff_cost_per_fte_year / 12.0, 0.0)
    licence = g * c.licence_per_gpu_year / 12.0
    support = g * c.capex_allin * c.support_share_per_year / 12.0
    return {"depreciation": depreciation, "power": power, "colocation": colocation, "staff": staff,
            "licence": licence, "support": support, "energy_kwh": energy_kwh}
