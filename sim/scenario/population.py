"""Who uses AI and when: business units, adoption curves, activity profiles."""

from __future__ import annotations

import math

from typing import Literal

from pydantic import Field, model_validator

from ..limits import MAX_DAY_ACTIVITY, MIN_ACTIVITY
from .types import Model, NonNeg, Positive, Users, unit


class Adoption(Model):
    """Users of a business unit over the horizon.

    ``curve`` is one of ``fixed`` (``ceiling`` users every month), ``linear`` (from ``start`` to
    ``ceiling`` over ``ramp_months``), ``logistic`` (S-curve from ``start`` towards ``ceiling``,
    steepest at ``midpoint_month``) or ``bass`` (Bass diffusion with innovation ``p`` and
    imitation ``q`` per month). Curves are evaluated at mid-month and anchored so month 0
    starts from ``start`` users.
    """

    curve: Literal["fixed", "linear", "logistic", "bass"] = Field(
        "logistic", description="Shape of adoption over time.")
    start: Users = unit("users", default=0.0, description="Users at the start of the horizon.")
    ceiling: Users = unit("users", description="Users at saturation (all eventual adopters).")
    midpoint_month: NonNeg = unit(
        "months", default=6.0, description="Logistic: month of fastest adoption.")
    steepness: Positive = unit(
        "1/month", default=0.5, description="Logistic: growth rate at the midpoint.")
    ramp_months: Positive = unit("months", default=12.0, description="Linear: months to reach the ceiling.")
    p: Positive = unit("1/month", default=0.03, description="Bass: coefficient of innovation.")
    q: Positive = unit("1/month", default=0.38, description="Bass: coefficient of imitation.")


class ActivityProfile(Model):
    """When users are active: a weekly and an hourly shape.

    ``preset`` names a built-in shape (``business_hours``, ``always_on``, ``nightly_batch``,
    ``servegen`` — the hour-of-day profile of the ServeGen trace, see
    ``calibration/workloads/profiles.yaml``). ``weekly`` (7 values, Monday first) gives each day's
    activity relative to a full working day (1.0); ``hourly`` (24 values) gives the relative share
    of a day's sessions in each hour and is normalised. Explicit lists override the preset.
    """

    preset: Literal["business_hours", "always_on", "nightly_batch", "servegen"] = Field(
        "business_hours", description="Built-in profile.")
    weekly: list[float] | None = Field(
        None, min_length=7, max_length=7, description="Relative activity Monday..Sunday (1 = a full working day).")
    hourly: list[float] | None = Field(
        None, min_length=24, max_length=24, description="Relative activity by hour of day 0..23 (normalised).")
    utc_offset_hours: int = Field(0, ge=-12, le=14, description="Local time of the users relative to the scenario clock.")

    @model_validator(mode="after")
    def _nonneg(self) -> "ActivityProfile":
        for key in ("weekly", "hourly"):
            vals = getattr(self, key)
            if vals is not None:
                if any(not math.isfinite(v) for v in vals):
                    raise ValueError(f"{key} values must be finite numbers")
                if any(v < 0 for v in vals):
                    raise ValueError(f"{key} values must be >= 0")
                if sum(vals) <= 0:
                    raise ValueError(f"{key} values must not all be 0")
                # a weight below a millionth of a full day is no activity at all: write 0 (weights
                # of 1e-320 made every session vanish and reported a forecast of $0)
                if any(0 < v < MIN_ACTIVITY for v in vals) and key == "weekly":
                    raise ValueError(f"weekly values must be 0 or at least {MIN_ACTIVITY:g} of a full working day")
                if key == "hourly" and max(vals) < MIN_ACTIVITY:
                    raise ValueError(f"hourly values are relative shares: the largest must be at least {MIN_ACTIVITY:g}")
        if self.weekly is not None and max(self.weekly) > MAX_DAY_ACTIVITY:
            raise ValueError(f"weekly values are relative to a full working day (1.0): at most {MAX_DAY_ACTIVITY:g}")
        return self


class BusinessUnit(Model):
    """A group of users whose spend is reported (and charged back) together."""

    name: str = Field(description="Unique name, used by workloads and in reports.")
    users: Adoption = Field(description="Users over time.")
    intensity_sigma: NonNeg = unit(
        "ln units", default=0.8,
        description="Per-user heterogeneity: sigma of the lognormal intensity multiplier (mean 1); "
                    "0.8 puts the top 10% of users at about 35% of sessions.")
    activity: ActivityProfile | None = Field(
        None, description="Activity profile of this unit (default: the scenario's).")
