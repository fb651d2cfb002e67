"""Rented GPUs: reserved take-or-pay capacity and on-demand GPU-hours."""

from __future__ import annotations

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
