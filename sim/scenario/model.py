"""The scenario: one YAML file describing demand, supply, uncertainty and decisions."""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from .distributions import _Dist, support_of
from ..limits import (MAX_BUSINESS_UNITS, MAX_CONTRACTS, MAX_HORIZON_MONTHS, MAX_PATHS, MAX_STRATEGIES,
                      MAX_STRATEGY_WORKLOADS, MAX_WORKLOADS, MAX_GROWTH_LN)
from .population import ActivityProfile, BusinessUnit
from .supply import Contract, Pools, Prices
from .noise import DemandNoise
from .types import Model, Prob, unit
from .workloads import TOKEN_WORKLOADS, EmbeddedSaasWorkload, Workload

_YM = re.compile(r"^(\d{4})-(\d{2})$")
# Years a forecast may start or price from: price trends compound from the price date, so a date
# centuries away gives inf; the library's price data starts in the 2020s.
YEARS = (2000, 2100)


class Horizon(Model):
    """The forecast window: calendar months from ``start``."""

    start: str = Field(description="First month, YYYY-MM.")
    months: int = Field(36, ge=1, le=MAX_HORIZON_MONTHS, description="Number of months.")

    @field_validator("start", mode="before")
    @classmethod
    def _ym(cls, v: Any) -> str:
        if isinstance(v, (_dt.date, _dt.datetime)):
            return f"{v.year:04d}-{v.month:02d}"
        s = str(v)
        m = _YM.match(s)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"expected a month as YYYY-MM (e.g. 2027-01), got {s!r}")
        if not YEARS[0] <= int(m.group(1)) <= YEARS[1]:
            raise ValueError(f"the horizon must start between {YEARS[0]} and {YEARS[1]}, got {s!r}")
        return s

    @property
    def start_date(self) -> _dt.date:
        y, m = map(int, self.start.split("-"))
        return _dt.date(y, m, 1)

    @property
    def days(self) -> int:
        """Days in the horizon."""
        y, m = divmod(self.start_date.month - 1 + self.months, 12)
        return (_dt.date(self.start_date.year + y, m + 1, 1) - self.start_date).days

    def month_starts(self) -> list[_dt.date]:
        """First day of each month of the horizon."""
        d0 = self.start_date
        out = []
        for i in range(self.months):
            y, m = divmod(d0.month - 1 + i, 12)
            out.append(_dt.date(d0.year + y, m + 1, 1))
        return out


class Correlation(Model):
    """A rank (Spearman) correlation between two uncertain fields, by key path."""

    between: list[str] = Field(min_length=2, max_length=2, description="Two key paths, e.g. workloads.support_chat.turns.")
    rho: float = Field(ge=-1.0, le=1.0, description="Rank correlation in [-1, 1].")


class Strategy(Model):
    """One alternative of a decision: key paths set to values; every strategy sees the same random draws."""

    name: str = Field(description="Unique strategy name.")
    set: dict[str, Any] = Field(default_factory=dict, description="Key path -> value, e.g. contracts.api_commit.amount: 5e8.")


class Sweep(Model):
    """Shorthand for many strategies: one key path, several values."""

    field: str = Field(description="Key path to vary.")
    values: list[Any] = Field(min_length=1, description="Values, one strategy each.")
    name: str | None = Field(None, description="Prefix of the generated strategy names (default: the last key).")

    def strategy_name(self, value: Any) -> str:
        """The name of the strategy this sweep generates for ``value``."""
        return f"{self.name or self.field.split('.')[-1]}={value}"


class Scenario(Model):
    """A tokensim scenario. Money is in ``currency``; prices in the YAML are per million tokens."""

    name: str = Field("scenario", min_length=1, max_length=100,
                      description="Scenario name (the folder under outputs/): letters, digits, '.', '_', '-' "
                                  "and spaces, starting with a letter or digit; no path separators or '..'.")
    description: str = Field("", description="Free text.")
    horizon: Horizon = Field(description="Forecast window.")
    currency: str = Field("USD", description="Currency of every amount (the price library is in USD).")
    seed: int = Field(20261122, ge=0, le=2**64 - 1, description="Seed of every random draw (an unsigned 64-bit integer).")
    paths: int = Field(2000, ge=1, le=MAX_PATHS, description="Monte Carlo paths.")
    discount_rate: Prob = unit("per year", default=0.08, description="Cost of capital for NPV.")
    activity: ActivityProfile = Field(default_factory=ActivityProfile, description="Default activity profile.")
    demand_noise: DemandNoise = Field(default_factory=DemandNoise, description="Day-level demand randomness (Monte Carlo).")
    business_units: list[BusinessUnit] = Field(min_length=1, max_length=MAX_BUSINESS_UNITS, description="Groups of users.")
    workloads: list[Workload] = Field(min_length=1, max_length=MAX_WORKLOADS, description="What the users do.")
    pools: Pools = Field(default_factory=Pools, description="Capacity pools.")
    contracts: list[Contract] = Field(default_factory=list, max_length=MAX_CONTRACTS, description="Pre-committed contracts.")
    prices: Prices = Field(default_factory=Prices, description="Price date and overrides.")
    correlations: list[Correlation] = Field(default_factory=list, description="Rank correlations between uncertain fields.")
    strategies: list[Strategy] = Field(default_factory=list, max_length=MAX_STRATEGIES, description="Decision alternatives.")
    sweeps: list[Sweep] = Field(default_factory=list, description="Generated strategies.")

    @model_validator(mode="after")
    def _cross_refs(self) -> "Scenario":
        n = len(self.strategies) + sum(len(sw.values) for sw in self.sweeps)
        if n > MAX_STRATEGIES:  # each strategy is a whole forecast
            raise _located(("sweeps",) if self.sweeps else ("strategies",),
                           f"{n:,} strategies (strategies plus sweep values); at most {MAX_STRATEGIES} are allowed")
        if max(n, 1) * len(self.workloads) > MAX_STRATEGY_WORKLOADS:  # each strategy checks and runs every workload
            raise _located(("strategies",) if self.strategies else ("sweeps",),
                           f"{max(n, 1):,} strategies of {len(self.workloads):,} workloads each: at most "
                           f"{MAX_STRATEGY_WORKLOADS:,} strategy-workloads are allowed (fewer strategies, or "
                           "split the scenario)")
        names = {s.name for s in self.strategies}
        for i, sw in enumerate(self.sweeps):  # generated names must not collide (results index by name)
            for j, v in enumerate(sw.values):
                name = sw.strategy_name(v)
                if name in names:
                    raise _located(("sweeps", i, "values", j), f"strategy {name!r} is defined twice (a repeated sweep "
                                   "value, or a strategy of that name); each sweep value must be new")
                names.add(name)
        days = self.horizon.days
        noises = [(("demand_noise", "growth_per_day"), self.demand_noise)] + [
            (("workloads", i, "demand_noise", "growth_per_day"), w.demand_noise)
            for i, w in enumerate(self.workloads) if getattr(w, "demand_noise", None) is not None]
        for where, noise in noises:
            g = max(abs(x) for x in support_of(noise.growth_per_day))
            if g * days > MAX_GROWTH_LN:  # exp(g·d) must stay a physical multiplier over the whole horizon
                raise _located(where, f"a growth of {g:g} a day over the horizon's {days:,} days multiplies demand "
                               f"by e^{g * days:.3g}; at most e^{MAX_GROWTH_LN:g} (×{math.exp(MAX_GROWTH_LN):.2g}) "
                               "is allowed: lower the growth or shorten the horizon")
        _unique(self.business_units, "business_units")
        _unique(self.workloads, "workloads")
        _unique(self.contracts, "contracts")
        _unique(self.strategies, "strategies")
        units = {b.name for b in self.business_units}
        wnames = [w.name for w in self.workloads]
        for i, c in enumerate(self.contracts):
            for j, wn in enumerate(c.workloads):
                if wn not in wnames:
                    raise _located(("contracts", i, "workloads", j),
                                   f"unknown workload {wn!r}; defined: {', '.join(wnames)}")
            if c.kind == "seats" and c.business_unit is not None and c.business_unit not in units:
                raise _located(("contracts", i, "business_unit"),
                               f"unknown business unit {c.business_unit!r}; defined: {', '.join(sorted(units))}")
            problem = c.term_problem()  # again here: a strategy may set a seats contract's commitment alone
            if problem is not None:
                raise _located(("contracts", i) + problem[0], problem[1])
            if c.kind == "seats" and c.name in wnames:  # its fee is a line (workload) of that name
                raise _located(("contracts", i, "name"), f"a seats contract's fee is reported under its name, and "
                               f"{c.name!r} is also a workload; rename one of them")
        for i, w in enumerate(self.workloads):
            if w.business_unit not in units:
                raise _located(("workloads", i, "business_unit"),
                               f"unknown business unit {w.business_unit!r}; defined: {', '.join(sorted(units))}")
            if isinstance(w, EmbeddedSaasWorkload):
                continue
            for pool in w.allowed_pools:
                if not getattr(self.pools, pool).enabled:
                    raise _located(("workloads", i, "allowed_pools"),
                                   f"pool {pool!r} is allowed but not enabled under pools.{pool}.enabled")
                if getattr(w.models, pool) is None:
                    raise _located(("workloads", i, "models", pool),
                                   f"workload may run on pool {pool!r} but names no model for it")
            if w.levers.routing.enabled and not w.levers.routing.cheap_model:
                raise _located(("workloads", i, "levers", "routing", "cheap_model"),
                               "routing is enabled but no cheap_model is given")
            o = w.outcome
            if o is not None and isinstance(o.success, dict):
                for pool, model in served_models(w):
                    if model not in o.success:
                        raise _located(("workloads", i, "outcome", "success"),
                                       f"no success probability for model {model!r}, which serves this workload on "
                                       f"pool {pool!r}; give one per model: {', '.join(m for _, m in served_models(w))}")
        return self

    # ---- convenience -------------------------------------------------------------------------
    @property
    def token_workloads(self) -> list:
        return [w for w in self.workloads if isinstance(w, TOKEN_WORKLOADS)]

    @property
    def saas_workloads(self) -> list:
        """Embedded-SaaS workloads: seats with a fee and hidden tokens, no model calls of their own."""
        return [w for w in self.workloads if isinstance(w, EmbeddedSaasWorkload)]

    def unit(self, name: str) -> BusinessUnit:
        return next(b for b in self.business_units if b.name == name)

    @property
    def price_date(self) -> _dt.date:
        if self.prices.date:
            return _dt.date.fromisoformat(self.prices.date)
        return self.horizon.start_date

    def all_strategies(self) -> list[Strategy]:
        """Explicit strategies plus those generated by sweeps; a single 'base' if none."""
        out = list(self.strategies)
        for sw in self.sweeps:
            for v in sw.values:
                out.append(Strategy(name=sw.strategy_name(v), set={sw.field: v}))
        return out or [Strategy(name="base")]

    @field_validator("name")
    @classmethod
    def _name_stays_in_outputs(cls, v: str) -> str:
        # the name becomes outputs/<name>/: anything that could climb out of it is refused
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._ -]*", v) or ".." in v:
            raise ValueError(f"{v[:40]!r} cannot name a folder under outputs/: use letters, digits, '.', '_', '-' and "
                             "spaces, starting with a letter or digit (no '/', '\\', '..' or control characters)")
        return v

    def with_strategy(self, strategy: "str | Strategy | None") -> "Scenario":
        """This scenario with a strategy's settings applied (by name or as a Strategy; None: as is)."""
        if strategy is None:
            return self
        if isinstance(strategy, str):
            found = next((s for s in self.all_strategies() if s.name == strategy), None)
            if found is None:
                raise KeyError(f"unknown strategy {strategy!r}; the scenario has: "
                               f"{', '.join(s.name for s in self.all_strategies())}")
            strategy = found
        sc = self
        for path, value in strategy.set.items():
            sc = set_path(sc, path, value)
        return sc

    @property
    def trend_offset(self) -> int:
        """Months from the price date to the horizon start (price trends count from the price date)."""
        return months_between(self.price_date, self.horizon.start_date)


def served_models(w) -> list[tuple[str, str]]:
    """(pool, model) for every model that can serve token workload ``w`` (the cascade's cheap model
    on the API first)."""
    out = []
    for pool in w.allowed_pools:
        if pool == "api" and w.levers.routing.enabled and w.levers.routing.cheap_model:
            out.append(("api", w.levers.routing.cheap_model))
        model = getattr(w.models, pool)
        if model is not None and (pool, model) not in out:
            out.append((pool, model))
    return out


def _unique(items: list, where: str) -> None:
    seen: set[str] = set()
    for i, it in enumerate(items):
        if where != "strategies" and "." in it.name:  # key paths (workloads.NAME.turns) split on dots
            raise _located((where, i, "name"), f"name {it.name[:60]!r} contains '.', which separates the keys of a "
                           "key path (workloads.NAME.turns); use '_' or '-'")
        if it.name in seen:
            raise _located((where, i, "name"), f"duplicate name {it.name!r}")
        seen.add(it.name)


class LocatedError(ValueError):
    """A cross-reference error that knows its key path (tuple of keys and list indices)."""

    def __init__(self, loc: tuple, msg: str):
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


def _located(loc: tuple, msg: str) -> LocatedError:
    return LocatedError(loc, msg)


# ---- key paths ------------------------------------------------------------------------------
def split_path(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def resolve_path(scenario: Scenario, path: str) -> tuple[Any, str, tuple]:
    """Find the object holding ``path``'s last key.

    Lists of named items are addressed by name (``workloads.support_chat.turns``). Returns
    (parent object, attribute name, location tuple with list indices) or raises KeyError with a
    message naming the first key that does not exist.
    """
    parts = split_path(path)
    if not parts:
        raise KeyError("empty key path")
    obj: Any = scenario
    loc: list = []
    for k, key in enumerate(parts[:-1]):
        nxt = _child(obj, key)
        if nxt is None:
            raise KeyError(f"{'.'.join(parts[:k + 1])!s}: no such key")
        obj, step = nxt
        loc.extend(step)
    last = parts[-1]
    if isinstance(obj, list):
        raise KeyError(f"{path}: ends at a list; name an item and a field")
    if not isinstance(obj, BaseModel) or last not in type(obj).model_fields:
        raise KeyError(f"{path}: no such key")
    loc.append(last)
    return obj, last, tuple(loc)


def _child(obj: Any, key: str):
    if isinstance(obj, list):
        for i, it in enumerate(obj):
            if getattr(it, "name", None) == key:
                return it, [i]
        if key.isdigit() and int(key) < len(obj):
            return obj[int(key)], [int(key)]
        return None
    if isinstance(obj, BaseModel) and key in type(obj).model_fields:
        return getattr(obj, key), [key]
    return None


def get_path(scenario: Scenario, path: str) -> Any:
    leaf = _list_leaf(scenario, path)
    if leaf is not None:
        parent, attr, i = leaf
        return getattr(parent, attr)[i]
    parent, attr, _ = resolve_path(scenario, path)
    return getattr(parent, attr)


def months_between(a: _dt.date, b: _dt.date) -> int:
    """Whole calendar months from a to b."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def _list_leaf(scenario: Scenario, path: str) -> tuple[Any, str, int] | None:
    """(parent, attribute, index) when ``path`` ends at an entry of a list of numbers
    (``contracts.edp.amount_by_year.1``: uncertain_fields names such entries by position), else None."""
    parts = split_path(path)
    if len(parts) < 2 or not parts[-1].isdigit():
        return None
    try:
        parent, attr, _ = resolve_path(scenario, ".".join(parts[:-1]))
    except KeyError:
        return None
    seq = getattr(parent, attr)
    i = int(parts[-1])
    if not isinstance(seq, list) or i >= len(seq) or isinstance(seq[i], BaseModel) and hasattr(seq[i], "name"):
        return None
    return parent, attr, i


def set_path(scenario: Scenario, path: str, value: Any) -> Scenario:
    """A deep copy of ``scenario`` with ``path`` set to ``value`` (validated)."""
    new = scenario.model_copy(deep=True)
    leaf = _list_leaf(new, path)
    if leaf is not None:  # a new list, assigned whole, so the field's validation runs
        parent, attr, i = leaf
        seq = list(getattr(parent, attr))
        seq[i] = value
        setattr(parent, attr, seq)
        return new
    parent, attr, _ = resolve_path(new, path)
    setattr(parent, attr, value)
    return new


def uncertain_fields(scenario: Scenario) -> dict[str, _Dist]:
    """Every field given as a (non-fixed) distribution, keyed by its key path (names for lists)."""
    out: dict[str, _Dist] = {}

    def walk(obj: Any, prefix: str) -> None:
        if isinstance(obj, _Dist):
            if obj.is_random:
                out[prefix] = obj
            return
        if isinstance(obj, list):
            for i, it in enumerate(obj):
                name = getattr(it, "name", None)
                walk(it, f"{prefix}.{name if name else i}")
            return
        if isinstance(obj, BaseModel):
            for k in type(obj).model_fields:
                walk(getattr(obj, k), f"{prefix}.{k}" if prefix else k)

    walk(scenario, "")
    return out


def correlation_matrix(scenario: Scenario) -> tuple[list[str], np.ndarray]:
    """The rank-correlation matrix over the fields named in ``correlations`` (identity elsewhere)."""
    names: list[str] = []
    for c in scenario.correlations:
        for f in c.between:
            if f not in names:
                names.append(f)
    m = np.eye(len(names))
    for c in scenario.correlations:
        i, j = names.index(c.between[0]), names.index(c.between[1])
        m[i, j] = m[j, i] = c.rho
    return names, m


# ---- how the Monte Carlo engine treats each uncertain field ---------------------------------
PER_SESSION = {"turns", "steps", "output_tokens", "user_message_tokens", "think_time_s", "task_prompt_tokens",
               "tool_result_tokens", "step_time_s", "input_tokens_per_document", "calls_per_document"}
RATES = {"sessions_per_user_per_day", "tasks_per_user_per_day", "documents_per_user_per_day"}
SHAPE_STREAM = "(session table)"


def classify(path: str) -> str:
    """'session', 'shape' or 'scale' for an uncertain field's key path."""
    parts = path.split(".")
    if parts[0] == "workloads" and len(parts) >= 3:
        if len(parts) == 3 and parts[2] in PER_SESSION:
            return "session"
        if len(parts) == 3 and parts[2] in RATES:
            return "scale"
        if parts[2] == "demand_noise":  # a workload's own day shock: drawn once per future, like the scenario's
            return "scale"
        if parts[2] in ("seats_per_user", "fee_per_seat_month", "hidden_input_tokens_per_seat_month",
                        "hidden_output_tokens_per_seat_month", "outcome"):
            return "scale"  # (an outcome changes no session: its values are drawn per path)
        return "shape"
    return "scale"
