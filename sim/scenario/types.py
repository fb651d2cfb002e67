"""Field types shared by the scenario models: uncertain numbers with a checked support.

``Num`` is "a number or a distribution". The constrained variants check the whole support of a
distribution, not just its mean: a probability given as ``normal(0.1, 0.2)`` is rejected because
it can fall outside [0, 1], which is the mistake an analyst would want caught before a run.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .distributions import Distribution, support_of
from ..limits import MAX_MONEY, MAX_TOKENS, MAX_TREND, MAX_USERS_PER_UNIT, MAX_VALUE, MIN_MAGNITUDE

Num = Union[float, Distribution]


def _bounded(lo: float, hi: float, what: str, lo_open: bool = False):
    def check(value: Any) -> Any:
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, got {value}")
        a, b = support_of(value)
        if math.isnan(a) or math.isnan(b):
            raise ValueError(f"{what}: the distribution's parameters must be finite numbers")
        if 0 < max(abs(a), abs(b)) < MIN_MAGNITUDE:
            # 1e-320 sessions a day is no demand: the engines' float64 products underflow to 0 in one
            # engine and not the other (the fuzz found 4e-307 in one, 0.0 in the other); write 0
            got = f"{value:g}" if isinstance(value, (int, float)) else f"a {value.dist} distribution within ±{max(abs(a), abs(b)):g}"
            raise ValueError(f"{what} must be 0 or at least {MIN_MAGNITUDE:g} in size, got {got}")
        rng = f"({lo:g}, {hi:g}]" if lo_open else f"[{lo:g}, {hi:g}]"
        bad_lo = a <= lo if lo_open else a < lo
        if math.isinf(b) and not isinstance(value, (int, float)) and not bad_lo:
            # an unbounded tail (lognormal): its mean must be a physical number, or every total
            # it feeds overflows (a lognormal of median 1e300 gave OverflowError in run)
            try:
                m = value.mean()
            except OverflowError:
                m = math.inf
            if not m <= hi:
                raise ValueError(
                    f"{what} must lie in {rng}, but this {value.dist} distribution has mean {m:.3g}; "
                    "lower its median or its p90")
            return value
        if bad_lo or b > hi:
            if isinstance(value, (int, float)):
                raise ValueError(f"{what} must lie in {rng}, got {value:g}")
            raise ValueError(
                f"{what} must lie in {rng}, but this {value.dist} distribution ranges over "
                f"[{a:g}, {b:g}]; use a bounded distribution (uniform, triangular, pert, beta)")
        return value

    return AfterValidator(check)


INF = math.inf
NonNeg = Annotated[Num, _bounded(0.0, MAX_VALUE, "value")]
def _whole_people(value: Any) -> Any:
    # a plain count of users below 1 is no one (a ceiling of 1e-300 gave a spend of 4e-309 that the
    # Monte Carlo, in float64, rounds to 0): 0, or at least one person
    if isinstance(value, (int, float)) and 0 < value < 1:
        raise ValueError(f"a number of users is 0 or at least 1, got {value:g}")
    return value


Users = Annotated[Num, _bounded(0.0, MAX_USERS_PER_UNIT, "a number of users"), AfterValidator(_whole_people)]
Tokens = Annotated[Num, _bounded(0.0, MAX_TOKENS, "a token count")]
Prob = Annotated[Num, _bounded(0.0, 1.0, "a probability")]
Ratio = Annotated[Num, _bounded(0.0, 1.0, "a ratio", lo_open=True)]
Positive = Annotated[Num, _bounded(0.0, MAX_VALUE, "value", lo_open=True)]
Money = Annotated[Num, _bounded(0.0, MAX_MONEY, "an amount of money")]
Trend = Annotated[Num, _bounded(-1.0, MAX_TREND, "a yearly change (−1 = free, 0 = flat)", lo_open=True)]
AnyNum = Num
Persistence = Annotated[Num, _bounded(-0.99, 0.99, "an autocorrelation")]
# ±0.05 a day (a fitted short-run trend); the horizon check (Scenario) keeps |growth|·days within ±14 (×1.2e6)
DailyGrowth = Annotated[Num, _bounded(-0.05, 0.05, "a growth per day (ln change)")]
LogDeviation = Annotated[Num, _bounded(-5.0, 5.0, "a log deviation")]


class Model(BaseModel):
    """Base of every scenario model: unknown keys are errors, values are validated on assignment."""

    # allow_inf_nan=False: a plain float field refuses .nan and .inf with its key path
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True, allow_inf_nan=False)


def unit(u: str, **kw: Any) -> Any:
    """A Field with a unit recorded for the generated reference."""
    extra = dict(kw.pop("json_schema_extra", {}) or {})
    extra["unit"] = u
    return Field(json_schema_extra=extra, **kw)
