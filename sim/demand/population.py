"""Users over time and when they are active.

Adoption curves are evaluated at mid-month. Activity: ``weekly`` weights (Monday first) scale a
full working day; ``hourly`` shares (normalised to 1) spread a day's sessions over its hours.
Both are in the users' local time (``utc_offset_hours``) and shifted onto the scenario clock.
"""

from __future__ import annotations

import calendar
import functools
from pathlib import Path

import numpy as np
import yaml

from ..scenario.distributions import mean_of

_PRESETS_FILE = Path(__file__).resolve().parents[2] / "calibration" / "workloads" / "profiles.yaml"


def adoption_users(adoption, months: int, value=mean_of) -> np.ndarray:
    """Users in each month (mid-month) for an ``Adoption`` spec.

    ``value`` maps a field to a number or to an array of per-path values (P,); the result is
    (months,) or (P, months).
    """
    t = np.arange(months, dtype=float) + 0.5

    def v(x):
        val = value(x)
        return np.asarray(val, float)[..., None] if np.ndim(val) else float(val)

    start, ceiling = v(adoption.start), v(adoption.ceiling)
    if adoption.curve == "fixed":
        return ceiling + 0.0 * t
    if adoption.curve == "linear":
        return start + (ceiling - start) * np.minimum(t / v(adoption.ramp_months), 1.0)
    if adoption.curve == "logistic":
        k, m0 = v(adoption.steepness), v(adoption.midpoint_month)
        s = 1.0 / (1.0 + np.exp(-k * (t - m0)))
        s0 = 1.0 / (1.0 + np.exp(k * m0))
        return start + (ceiling - start) * (s - s0) / (1.0 - s0)
    p, q = v(adoption.p), v(adoption.q)
    e = np.exp(-(p + q) * t)
    f = (1.0 - e) / (1.0 + (q / p) * e)
    return start + (ceiling - start) * f


@functools.lru_cache(maxsize=1)
def _presets() -> dict:
    with open(_PRESETS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["presets"]


def profile_arrays(activity) -> tuple[np.ndarray, np.ndarray]:
    """(weekly[7], hourly[24]) for an ActivityProfile; hourly sums to 1, on the scenario clock."""
    preset = _presets()[activity.preset]
    weekly = np.asarray(activity.weekly if activity.weekly is not None else preset["weekly"], float)
    hourly = np.asarray(activity.hourly if activity.hourly is not None else preset["hourly"], float)
    hourly = hourly / hourly.sum()
    # local hour h is scenario-clock hour h - offset
    hourly = np.roll(hourly, -activity.utc_offset_hours)
    return weekly, hourly


def activity_hours(activity) -> tuple[np.ndarray, str]:
    """Hour-of-week weights of an ActivityProfile for prices that depend on the hour of the day
    (``PriceBook.card(hours=...)``): 168 values, Monday 00:00 first, on the scenario clock — UTC:
    a preset's hours are the users' local time, shifted by ``utc_offset_hours`` — and a label naming
    the profile for the price notes, e.g. "the business_hours activity profile"."""
    weekly, hourly = profile_arrays(activity)
    label = f"the {activity.preset} activity profile"
    if activity.weekly is not None or activity.hourly is not None:
        label += " (with its own " + " and ".join(k for k in ("weekly", "hourly") if getattr(activity, k) is not None) + ")"
    if activity.utc_offset_hours:
        label += f" of users at UTC{activity.utc_offset_hours:+d}"
    return np.outer(weekly, hourly).ravel(), label


def unit_activity(sc, business_unit: str):
    """The ActivityProfile of a business unit: its own ``activity``, else the scenario's."""
    for b in sc.business_units:
        if b.name == business_unit:
            return b.activity or sc.activity
    return sc.activity


def month_hours(horizon) -> np.ndarray:
    """Hours in each month of the horizon."""
    return np.array([calendar.monthrange(d.year, d.month)[1] * 24 for d in horizon.month_starts()], float)


def day_weights(horizon, weekly: np.ndarray) -> np.ndarray:
    """Weekly weight of every day of the horizon (array over days)."""
    d0 = horizon.start_date
    days = int(month_hours(horizon).sum() // 24)
    dows = (np.arange(days) + d0.weekday()) % 7
    return weekly[dows]


def month_day_weight(horizon, weekly: np.ndarray) -> np.ndarray:
    """Sum of day weights in each month: 'full working days' per month."""
    w = day_weights(horizon, weekly)
    lengths = (month_hours(horizon) // 24).astype(int)
    return np.add.reduceat(w, np.r_[0, np.cumsum(lengths)[:-1]])


def hour_weights(horizon, weekly: np.ndarray, hourly: np.ndarray) -> np.ndarray:
    """Share of a full working day's activity in every hour of the horizon (array over hours)."""
    return (day_weights(horizon, weekly)[:, None] * hourly[None, :]).ravel()


def month_of_hour(horizon) -> np.ndarray:
    """Month index of every hour of the horizon."""
    return np.repeat(np.arange(horizon.months), month_hours(horizon).astype(int))
