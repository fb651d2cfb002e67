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

Num = Union[float, Distribution]


def _bounded(lo: float, hi: float, what: str, lo_open: bool = False):
    def check(value: Any) -> Any:
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, got {value}")
        a, b = support_of(value)
        if math.isnan(a) or math.isnan(b):
            raise ValueError(f"{what}: the distribution's parameters must be finite numbers")
        bad_lo = a <= lo if lo_open else a < lo
        if bad_lo or b > hi:
            rng = f"({lo}, {hi}]" if lo_open else f"[{lo}, {hi}]"
            if isinstance(value, (int, float)):
                raise ValueError(f"{what} must lie in {rng}, got {value}")
            raise ValueError(
                f"{what} must lie in {rng}, but this {value.dist} distribution ranges over "
                f"[{a:g}, {b:g}]; use a bounded distribution (uniform, triangular, pert, beta)")
        return value

    return AfterValidator(check)


INF = math.inf
NonNeg = Annotated[Num, _bounded(0.0, INF, "value")]
Tokens = Annotated[Num, _bounded(0.0, INF, "a token count")]
Prob = Annotated[Num, _bounded(0.0, 1.0, "a probability")]
Ratio = Annotated[Num, _bounded(0.0, 1.0, "a ratio", lo_open=True)]
Positive = Annotated[Num, _bounded(0.0, INF, "value", lo_open=True)]
Money = Annotated[Num, _bounded(0.0, INF, "an amount of money")]
Trend = Annotated[Num, _bounded(-1.0, INF, "a yearly change (−1 = free, 0 = flat)", lo_open=True)]
AnyNum = Num


class Model(BaseModel):
    """Base of every scenario model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


def unit(u: str, **kw: Any) -> Any:
    """A Field with a unit recorded for the generated reference."""
    extra = dict(kw.pop("json_schema_extra", {}) or {})
    extra["unit"] = u
    return Field(json_schema_extra=extra, **kw)
