"""Per-token API list prices as resolved rate cards.

The price data comes from the ``genai-prices`` library (bundled, offline snapshot). This module
resolves a model's ``ModelPrice`` **once** per (model, date, tier) into a :class:`RateCard` of
plain floats, and all cost arithmetic then runs vectorised in numpy. ``genai_prices.calc_price``
is never called per request (it costs ~80 µs a call).

Units: every rate is **USD per million tokens** (the library's unit).

Token components are **disjoint**::

    prompt size = fresh_input + cached_input + cache_write_5m + cache_write_1h
    output      = all generated tokens, reasoning included

(The library's ``Usage.input_tokens`` is the *total* prompt, with cache reads and writes as parts
of it; :meth:`RateCard.call_cost` takes the parts.)

Rules taken from the library's data model (genai_prices/types.py, 0.2.3):

* **Long-context cliffs** (``TieredPrices``): a request whose *total prompt* tokens are strictly
  greater than a tier's ``start`` pays that tier's rate for **all** tokens of that request, output
  included (``total_input_tokens > tier.start``). Chosen per request, never on an aggregate.
* **Missing cache prices** follow the library: no ``cache_read_mtok`` -> cache reads are billed as
  input (``cached_input = input``); no ``cache_write_mtok`` -> cache writes are billed as input;
  no ``cache_write_1h_mtok`` -> 1-hour writes are billed at the (5-minute) ``cache_write_mtok``
  rate. The library's ``cache_write_mtok`` is the generic/5-minute write price.
* **Price history**: ``prices`` may be a list of ``ConditionalPrice``; the last one whose
  ``StartDateConstraint`` is active at the date wins.
* **Time-of-day prices** (DeepSeek off-peak windows): a :class:`datetime.date` has no time of day,
  so the card uses the price that applies for the largest share of that UTC day and records the
  other windows in ``notes``. Pass a :class:`datetime.datetime` to get the exact instant's price.
* **Batch**: the library's ``PriceVariant(when={'processing': 'batch'})`` is applied per price key
  when its ``StartDateConstraint`` is active at the date (mostly from 2026-10-14). Before that, or
  when the model has no batch variant, we apply ``0.5 x`` to every rate ourselves. Like the library,
  variants are not applied when a model was found through a provider's fallback list (e.g. Azure
  -> OpenAI). Which rule applied is written to ``notes``.
* Non-token prices (web searches, per-request fees, audio/image tokens, separate reasoning-token
  rates) are not modelled; the keys present are listed in ``notes``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.metadata import version as _metadata_version
from typing import Any

import numpy as np

__all__ = [
    "UnknownModelError",
    "Rates",
    "RateCard",
    "PriceBook",
    "library_version",
    "DEFAULT_BATCH_FACTOR",
]

DEFAULT_BATCH_FACTOR = 0.5
"""Batch multiplier we apply when the library has no batch variant active at the date."""

_PER = 1_000_000.0  # rates are per million tokens
_TIERS = ("standard", "batch")
_BATCH_CONTEXT = {"processing": "batch"}

# Library price keys we model, mapped to Rates fields.
_K_IN, _K_OUT, _K_READ, _K_W, _K_W5, _K_W1H = (
    "input_mtok",
    "output_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_5m_mtok",  # not used by any model in 0.2.3 data; honoured if it appears
    "cache_write_1h_mtok",
)
_MODELLED_KEYS = (_K_IN, _K_OUT, _K_READ, _K_W, _K_W5, _K_W1H)


def library_version() -> str:
    """Installed version of genai-prices (importlib.metadata)."""
    return _metadata_version("genai-prices")


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class UnknownModelError(LookupError):
    """A model reference that neither the price library nor a scenario override defines."""

    def __init__(self, ref: str, suggestions: Sequence[str] = (), reason: str | None = None):
        self.ref = ref
        self.suggestions = list(suggestions)
        msg = reason or f"unknown model {ref!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        msg += " (define it with a price override giving input and output USD/MTok)"
        super().__init__(msg)


# --------------------------------------------------------------------------------------------
# Rates and rate cards
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """USD per million tokens for each disjoint token component."""

    input: float
    cached_input: float
    cache_write_5m: float
    cache_write_1h: float
    output: float

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float, Decimal, np.floating, np.integer)):
                raise TypeError(f"Rates.{f.name} must be a number, got {type(v).__name__}")
            v = float(v)
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"Rates.{f.name} must be finite and >= 0, got {v}")
            object.__setattr__(self, f.name, v)

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return (self.input, self.cached_input, self.cache_write_5m, self.cache_write_1h, self.output)

    def scaled(self, factor: float) -> Rates:
        """Every rate multiplied by ``factor``."""
        return Rates(*(r * factor for r in self.as_tuple()))

    def replace(self, **changes: float) -> Rates:
        return dataclasses.replace(self, **changes)


Cliffs = tuple[tuple[int, Rates], ...]


def _check_cliffs(cliffs: Cliffs, what: str) -> Cliffs:
    out = tuple((int(t), r) for t, r in cliffs)
    prev = -1
    for t, r in out:
        if t < 0 or t <= prev:
            raise ValueError(f"{what}: thresholds must be non-negative and strictly increasing, got {[c[0] for c in out]}")
        if not isinstance(r, Rates):
            raise TypeError(f"{what}: each cliff must be (threshold, Rates)")
        prev = t
    return out


@dataclass(frozen=True)
class _Table:
    """Rates as numpy columns, row 0 = base, row i = cliffs[i-1]."""

    thresholds: np.ndarray  # float64, ascending
    cols: tuple[np.ndarray, ...]  # five arrays of len(thresholds)+1
    flat: tuple[float, ...]  # the five base rates
    steps: tuple[tuple[float, tuple[float, ...]], ...]  # (threshold, rates minus previous row's)

    @classmethod
    def build(cls, base: Rates, cliffs: Cliffs) -> _Table:
        rows = [base.as_tuple()] + [r.as_tuple() for _, r in cliffs]
        arr = np.array(rows, dtype=np.float64)
        steps = tuple(
            (float(t), tuple(b - a for a, b in zip(rows[i], rows[i + 1]))) for i, (t, _) in enumerate(cliffs)
        )
        return cls(
            thresholds=np.array([t for t, _ in cliffs], dtype=np.float64),
            cols=tuple(np.ascontiguousarray(arr[:, j]) for j in range(5)),
            flat=base.as_tuple(),
            steps=steps,
        )

    def cost(self, f: Any, c: Any, w5: Any, w1: Any, o: Any) -> Any:
        ri, rc, r5, r1, ro = self.flat
        if not self.steps:
            return (f * ri + c * rc + w5 * r5 + w1 * r1 + o * ro) / _PER
        prompt = f + c + w5 + w1
        if np.ndim(prompt) == 0 or len(self.steps) > 2:
            # number of thresholds strictly below the prompt == index of the applicable row
            # (genai-prices: a tier applies when total_input_tokens > tier.start)
            idx = np.searchsorted(self.thresholds, prompt, side="left")
            ri, rc, r5, r1, ro = (col[idx] for col in self.cols)
            return (f * ri + c * rc + w5 * r5 + w1 * r1 + o * ro) / _PER
        # vector fast path: base cost plus, for each cliff the request is above, the rate step
        # (same rule: above the tier when prompt > threshold); avoids per-element gathers
        total = np.asarray(f * ri + c * rc + w5 * r5 + w1 * r1 + o * ro, dtype=np.float64)
        fb, cb, w5b, w1b, ob = np.broadcast_arrays(f, c, w5, w1, o)
        for threshold, (di, dc, d5, d1, do) in self.steps:
            sel = np.nonzero(prompt > threshold)
            if sel[0].size:
                total[sel] += fb[sel] * di + cb[sel] * dc + w5b[sel] * d5 + w1b[sel] * d1 + ob[sel] * do
        return total / _PER


@dataclass(frozen=True)
class RateCard:
    """Resolved per-token prices of one model at one date and tier (USD per million tokens).

    ``base`` applies to requests whose prompt is at or below the first cliff threshold. A cliff
    ``(threshold, rates)`` applies to a request whose prompt is **strictly greater** than
    ``threshold``; then *all* that request's tokens (output too) pay ``rates``.

    ``batch_factor`` is the batch price relative to standard (the input-rate ratio of the
    library's batch variant when one applies, else 0.5; ``notes`` say which and whether the
    library's variant is uniform across components). ``batch_base`` / ``batch_cliffs`` hold the
    exact batch rates used by ``call_cost(..., batch=True)``; when omitted they are
    ``base``/``cliffs`` scaled by ``batch_factor``. On a ``tier="batch"`` card ``base`` already
    holds the batch rates and ``batch_base == base``, so ``batch=True`` changes nothing there.
    """

    ref: str
    provider: str
    model_id: str
    price_date: _dt.date
    tier: str
    base: Rates
    cliffs: Cliffs = ()
    batch_factor: float = DEFAULT_BATCH_FACTOR
    source: str = "scenario override"
    notes: tuple[str, ...] = ()
    batch_base: Rates | None = None
    batch_cliffs: Cliffs | None = None
    _std: _Table = field(init=False, repr=False, compare=False, hash=False)
    _bat: _Table = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.tier not in _TIERS:
            raise ValueError(f"tier must be one of {_TIERS}, got {self.tier!r}")
        if not isinstance(self.base, Rates):
            raise TypeError("base must be Rates")
        bf = float(self.batch_factor)
        if not math.isfinite(bf) or bf <= 0:
            raise ValueError(f"batch_factor must be > 0, got {self.batch_factor}")
        object.__setattr__(self, "batch_factor", bf)
        object.__setattr__(self, "cliffs", _check_cliffs(self.cliffs, "cliffs"))
        object.__setattr__(self, "notes", tuple(self.notes))
        if self.batch_base is None:
            if self.batch_cliffs is not None:
                raise ValueError("batch_cliffs given without batch_base")
            if self.tier == "batch":
                object.__setattr__(self, "batch_base", self.base)
                object.__setattr__(self, "batch_cliffs", self.cliffs)
            else:
                object.__setattr__(self, "batch_base", self.base.scaled(bf))
                object.__setattr__(self, "batch_cliffs", tuple((t, r.scaled(bf)) for t, r in self.cliffs))
        elif self.batch_cliffs is None:
            object.__setattr__(self, "batch_cliffs", ())
        object.__setattr__(self, "batch_cliffs", _check_cliffs(self.batch_cliffs, "batch_cliffs"))
        object.__setattr__(self, "_std", _Table.build(self.base, self.cliffs))
        object.__setattr__(self, "_bat", _Table.build(self.batch_base, self.batch_cliffs))

    # -- lookups -------------------------------------------------------------------------------

    def rates_for_prompt(self, prompt_tokens: float, *, batch: bool = False) -> Rates:
        """Rates that apply to a request whose total prompt is ``prompt_tokens``."""
        base, cliffs = (self.batch_base, self.batch_cliffs) if batch else (self.base, self.cliffs)
        out = base
        for threshold, rates in cliffs:
            if prompt_tokens > threshold:
                out = rates
            else:
                break
        return out  # type: ignore[return-value]

    @property
    def thresholds(self) -> tuple[int, ...]:
        return tuple(t for t, _ in self.cliffs)

    # -- arithmetic ----------------------------------------------------------------------------

    def call_cost(
        self,
        fresh_input: Any,
        cached_input: Any,
        cache_write_5m: Any,
        cache_write_1h: Any,
        output: Any,
        *,
        batch: bool | Any = False,
    ) -> float | np.ndarray:
        """USD cost of requests; arguments are token counts (scalars or numpy arrays, broadcast).

        One array element is one request: the cliff is chosen per element from that element's
        prompt size ``fresh_input + cached_input + cache_write_5m + cache_write_1h``. ``batch`` is
        a bool or a boolean array (per request). Counts are not validated (negative counts give
        negative costs). Returns a float when every argument is a scalar.
        """
        args = [np.asarray(a, dtype=np.float64) for a in (fresh_input, cached_input, cache_write_5m, cache_write_1h, output)]
        scalar = all(a.ndim == 0 for a in args)
        if isinstance(batch, (bool, np.bool_)):
            cost = (self._bat if batch else self._std).cost(*args)
        else:
            mask = np.asarray(batch, dtype=bool)
            if mask.ndim == 0:
                cost = (self._bat if bool(mask) else self._std).cost(*args)
            else:
                scalar = False
                cost = np.where(mask, self._bat.cost(*args), self._std.cost(*args))
        if scalar:
            return float(cost)
        return np.asarray(cost, dtype=np.float64)

    # -- transforms ----------------------------------------------------------------------------

    def map_rates(self, fn: Callable[[Rates], Rates], *, note: str | None = None, source: str | None = None) -> RateCard:
        """A copy with ``fn`` applied to every Rates (base, cliffs, batch rates)."""
        return dataclasses.replace(
            self,
            base=fn(self.base),
            cliffs=tuple((t, fn(r)) for t, r in self.cliffs),
            batch_base=fn(self.batch_base),  # type: ignore[arg-type]
            batch_cliffs=tuple((t, fn(r)) for t, r in self.batch_cliffs or ()),
            notes=self.notes + ((note,) if note else ()),
            source=source if source is not None else self.source,
        )

    def scaled(self, factor: float, *, note: str | None = None) -> RateCard:
        """A copy with every rate (standard and batch, all cliffs) multiplied by ``factor``."""
        if not math.isfinite(factor) or factor < 0:
            raise ValueError(f"scale factor must be finite and >= 0, got {factor}")
        return self.map_rates(lambda r: r.scaled(factor), note=note)


# --------------------------------------------------------------------------------------------
# Library resolution helpers
# --------------------------------------------------------------------------------------------


def _noon_utc(d: _dt.date) -> _dt.datetime:
    return _dt.datetime.combine(d, _dt.time(12, 0), tzinfo=_dt.UTC)


def _aware(ts: _dt.datetime) -> _dt.datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=_dt.UTC)


def _is_tod(constraint: Any) -> bool:
    return type(constraint).__name__ == "TimeOfDateConstraint"


def _conditional_index_at(prices: list[Any], ts: _dt.datetime) -> int:
    """Index of the ConditionalPrice genai-prices uses at ``ts`` (ModelInfo.get_prices)."""
    for i in range(len(prices) - 1, -1, -1):
        c = prices[i].constraint
        if c is None or c.active(ts):
            return i
    return 0


def _fmt_price(mp: Any) -> str:
    d = mp.__dict__
    parts = [f"{k.removesuffix('_mtok')}={_fmt_value(d[k])}" for k in (_K_IN, _K_OUT, _K_READ) if d.get(k) is not None]
    return ", ".join(parts)


def _fmt_value(v: Any) -> str:
    if isinstance(v, Decimal):
        return f"{v.normalize():f}"
    base = getattr(v, "base", None)
    return f"{_fmt_value(base)}+tiers" if base is not None else str(v)


def _standard_price(model: Any, when: _dt.date) -> tuple[Any, list[str]]:
    """The model's standard ModelPrice at ``when`` and notes about how it was chosen."""
    from genai_prices.types import ModelPrice

    notes: list[str] = []
    prices = model.prices
    if isinstance(prices, ModelPrice):
        return prices, notes
    if isinstance(when, _dt.datetime):
        ts = _aware(when)
        i = _conditional_index_at(prices, ts)
        if any(_is_tod(c.constraint) for c in prices):
            notes.append(f"time-of-day pricing: price at {ts.isoformat()} used")
    elif any(_is_tod(c.constraint) for c in prices):
        day = _dt.datetime.combine(when, _dt.time(0, 0), tzinfo=_dt.UTC)
        minutes = Counter(
            _conditional_index_at(prices, day + _dt.timedelta(minutes=m)) for m in range(0, 24 * 60)
        )
        i, n = max(minutes.items(), key=lambda kv: (kv[1], -kv[0]))
        others = "; ".join(
            f"{_fmt_price(prices[j].prices)} for {cnt / 60:g} h/day"
            for j, cnt in sorted(minutes.items())
            if j != i
        )
        notes.append(
            f"time-of-day pricing: used the price in force {n / 60:g} h of the UTC day "
            f"({_fmt_price(prices[i].prices)}); other windows: {others}. Pass a datetime for an exact instant"
        )
    else:
        i = _conditional_index_at(prices, _noon_utc(when))
    chosen = prices[i]
    c = chosen.constraint
    if c is not None and hasattr(c, "start_date"):
        notes.append(f"price history: price in force since {c.start_date.isoformat()}")
    day = when.date() if isinstance(when, _dt.datetime) else when
    later = [
        p.constraint.start_date
        for p in prices[i + 1 :]
        if p.constraint is not None and hasattr(p.constraint, "start_date") and p.constraint.start_date > day
    ]
    if later:
        notes.append("price history: later price change(s) on " + ", ".join(sorted(d.isoformat() for d in later)))
    return chosen.prices, notes


def _batch_variant_prices(model: Any, when: _dt.date) -> tuple[dict[str, Any], list[Any]]:
    """Per-key batch overrides active at ``when`` (ModelInfo.get_prices semantics) and the
    start dates of batch variants that are not yet active."""
    ts = _aware(when) if isinstance(when, _dt.datetime) else _noon_utc(when)
    overrides: dict[str, Any] = {}
    inactive: list[Any] = []
    for variant in model.price_variants or ():
        if not all(_BATCH_CONTEXT.get(k) == v for k, v in variant.when.items()):
            continue
        if variant.constraint is not None and not variant.constraint.active(ts):
            inactive.append(getattr(variant.constraint, "start_date", variant.constraint))
            continue
        for key, price in variant.prices.__dict__.items():
            if price is not None:
                overrides.setdefault(key, price)
    return overrides, inactive


def _tier_starts(v: Any) -> list[int]:
    return [t.start for t in v.tiers] if hasattr(v, "tiers") else []


def _value_at(v: Any, threshold: float) -> Decimal | None:
    """Price of a Decimal|TieredPrices for prompts in (threshold, next threshold]."""
    if v is None:
        return None
    if not hasattr(v, "tiers"):
        return v
    out = v.base
    for tier in sorted(v.tiers, key=lambda t: t.start):
        if tier.start <= threshold:
            out = tier.price
    return out


def _rates_from_prices(prices: dict[str, Any], what: str) -> tuple[Rates, Cliffs, list[str]]:
    """Merge a price dict (library keys -> Decimal|TieredPrices) into base Rates and cliffs."""
    notes: list[str] = []
    if prices.get(_K_IN) is None:
        raise ValueError(f"{what}: genai-prices has no per-token input price for this model")
    starts = sorted({s for k in _MODELLED_KEYS for s in _tier_starts(prices.get(k))})
    segments = [-1.0] + [float(s) for s in starts]

    def seg_rates(threshold: float) -> Rates:
        vin = _value_at(prices.get(_K_IN), threshold)
        vout = _value_at(prices.get(_K_OUT), threshold)
        vread = _value_at(prices.get(_K_READ), threshold)
        vw = _value_at(prices.get(_K_W5), threshold)
        if vw is None:
            vw = _value_at(prices.get(_K_W), threshold)
        vw1 = _value_at(prices.get(_K_W1H), threshold)
        fin = float(vin)  # type: ignore[arg-type]
        fw5 = fin if vw is None else float(vw)
        return Rates(
            input=fin,
            cached_input=fin if vread is None else float(vread),
            cache_write_5m=fw5,
            cache_write_1h=fw5 if vw1 is None else float(vw1),
            output=0.0 if vout is None else float(vout),
        )

    base = seg_rates(segments[0])
    cliffs = tuple((int(s), seg_rates(float(s))) for s in starts)
    if prices.get(_K_OUT) is None:
        notes.append("no output price in genai-prices: output priced at 0 (as the library does)")
    if prices.get(_K_READ) is None:
        notes.append("no cache-read price in genai-prices: cached_input = input (no discount)")
    if prices.get(_K_W) is None and prices.get(_K_W5) is None:
        notes.append("no cache-write price in genai-prices: cache_write_5m = input, cache_write_1h = cache_write_5m")
    elif prices.get(_K_W1H) is None:
        notes.append("no 1h cache-write price in genai-prices: cache_write_1h = cache_write_5m (as the library bills it)")
    ignored = sorted(k for k, v in prices.items() if v is not None and k not in _MODELLED_KEYS)
    if ignored:
        notes.append("price keys not modelled (non-token or non-text): " + ", ".join(ignored))
    return base, cliffs, notes


def _ratios(std: Rates, bat: Rates) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for f in dataclasses.fields(Rates):
        s, b = getattr(std, f.name), getattr(bat, f.name)
        out[f.name] = (b / s) if s > 0 else None
    return out


def _match_aliases(clause: Any) -> Iterable[str]:
    """Literal strings in a model's match logic (equals / starts_with / contains)."""
    for attr in ("equals", "starts_with", "contains"):
        v = getattr(clause, attr, None)
        if isinstance(v, str):
            yield v
    for attr in ("or_", "and_"):
        for sub in getattr(clause, attr, None) or ():
            yield from _match_aliases(sub)


def _attr(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


# --------------------------------------------------------------------------------------------
# PriceBook
# --------------------------------------------------------------------------------------------

_OVERRIDE_RATE_FIELDS = ("input", "output", "cached_input", "cache_write_5m", "cache_write_1h")


@dataclass
class _Override:
    ref: str
    rates: dict[str, float]
    batch_factor: float | None
    discount: float | None

    def describe(self) -> str:
        parts = [f"{k}={v:g}" for k, v in self.rates.items()]
        if self.batch_factor is not None:
            parts.append(f"batch_factor={self.batch_factor:g}")
        if self.discount is not None:
            parts.append(f"discount={self.discount:g}")
        return ", ".join(parts)


class PriceBook:
    """Rate cards from genai-prices' bundled data plus scenario overrides, at one price date.

    ``overrides`` are duck-typed objects (or dicts) with attributes ``model`` ("provider/model"),
    ``input``, ``output``, ``cached_input``, ``cache_write_5m``, ``cache_write_1h`` (USD/MTok),
    ``batch_factor`` and ``discount`` (fraction off list), any of which may be None:

    * for a model the library lacks, ``input`` and ``output`` define it (``cached_input``
      defaults to ``input``; ``cache_write_5m`` to ``input``; ``cache_write_1h`` to
      ``cache_write_5m``; batch factor 0.5; no cliffs);
    * for a library model, given rates replace the list rate of that component (the library's
      cliff and batch multipliers for that component are kept), ``batch_factor`` replaces the
      batch rates by ``standard x batch_factor``, and ``discount`` multiplies every rate
      (standard, batch, cliffs) by ``1 - discount``.

    Several overrides for the same model are merged in order (later non-None values win).
    """

    def __init__(self, price_date: _dt.date, overrides: Sequence[Any] = ()):
        if not isinstance(price_date, _dt.date):
            raise TypeError(f"price_date must be a datetime.date, got {type(price_date).__name__}")
        from genai_prices import data_snapshot

        self.price_date = price_date
        self._snapshot = data_snapshot.get_snapshot()
        self._providers = list(self._snapshot.providers)
        self._by_id = {p.id: p for p in self._providers}
        self._version = library_version()
        self._cards: dict[tuple[str, _dt.date, str], RateCard] = {}
        self._resolved: dict[str, tuple[Any, Any, tuple[str, ...]] | None] = {}
        self._suggest_index: tuple[list[str], dict[str, str], dict[str, list[str]]] | None = None
        self._bare_refs: dict[str, list[str]] = {}
        # overrides keyed by (provider_id, model_id) for library models, or the lower-cased ref
        self._lib_overrides: dict[tuple[str, str], _Override] = {}
        self._custom: dict[str, _Override] = {}
        for i, ov in enumerate(overrides):
            self._add_override(i, ov)

    # -- overrides -----------------------------------------------------------------------------

    def _add_override(self, i: int, ov: Any) -> None:
        ref = _attr(ov, "model")
        if not isinstance(ref, str) or not ref.strip():
            raise ValueError(f"price override #{i}: 'model' must be a non-empty 'provider/model' string")
        ref = ref.strip()
        rates: dict[str, float] = {}
        for name in _OVERRIDE_RATE_FIELDS:
            v = _attr(ov, name)
            if v is not None:
                v = float(v)
                if not math.isfinite(v) or v < 0:
                    raise ValueError(f"price override {ref!r}: {name} must be finite and >= 0, got {v}")
                rates[name] = v
        bf = _attr(ov, "batch_factor")
        if bf is not None:
            bf = float(bf)
            if not math.isfinite(bf) or bf <= 0:
                raise ValueError(f"price override {ref!r}: batch_factor must be > 0, got {bf}")
        disc = _attr(ov, "discount")
        if disc is not None:
            disc = float(disc)
            if not 0.0 <= disc <= 1.0:
                raise ValueError(f"price override {ref!r}: discount must be in [0, 1], got {disc}")
        new = _Override(ref, rates, bf, disc)

        resolved = self._resolve(ref)
        if resolved is not None:
            provider, model, _ = resolved
            key = (provider.id, model.id)
            self._lib_overrides[key] = _merge(self._lib_overrides.get(key), new)
            return
        key = ref.lower()
        merged = _merge(self._custom.get(key), new)
        if "input" not in merged.rates or "output" not in merged.rates:
            raise UnknownModelError(
                ref,
                self.suggestions(ref),
                reason=f"price override for {ref!r}: genai-prices does not know this model, "
                "so the override must give both input and output prices",
            )
        self._custom[key] = merged

    def _custom_for(self, ref: str) -> _Override | None:
        key = ref.strip().lower()
        if key in self._custom:
            return self._custom[key]
        if "/" not in key:  # bare model name matching exactly one override's model part
            hits = [ov for k, ov in self._custom.items() if k.split("/", 1)[-1] == key]
            if len(hits) == 1:
                return hits[0]
        return None

    # -- resolution ----------------------------------------------------------------------------

    def _resolve(self, ref: str) -> tuple[Any, Any, tuple[str, ...]] | None:
        """(Provider, ModelInfo, notes) for a library model, None if the library lacks it."""
        key = ref.strip()
        if key in self._resolved:
            return self._resolved[key]
        out = self._resolve_uncached(key)
        self._resolved[key] = out
        return out

    def _resolve_uncached(self, ref: str) -> tuple[Any, Any, tuple[str, ...]] | None:
        from genai_prices.data_snapshot import find_provider_by_id

        low = ref.lower()
        if "/" in low:
            pid, model_ref = low.split("/", 1)
            provider = find_provider_by_id(self._providers, pid) if pid else None
            if provider is not None:
                model = provider.find_model(model_ref, all_providers=self._providers)
                if model is None:
                    return None
                notes: list[str] = []
                if provider.id != pid:
                    notes.append(f"provider {pid!r} matched genai-prices provider {provider.id!r}")
                if not any(model is m for m in provider.models):
                    owner = next((p.id for p in self._providers if any(model is m for m in p.models)), "?")
                    notes.append(f"{provider.id} has no own price for this model: genai-prices falls back to {owner}'s price")
                return provider, model, tuple(notes)
            # first segment is not a provider (e.g. "meta-llama/..."): treat the whole ref as bare
        # bare model id: the library's own provider inference first
        try:
            provider, model = self._snapshot.find_provider_model(low, None, None, None)
            return provider, model, (f"provider inferred by genai-prices: {provider.id}",)
        except LookupError:
            pass
        # then the providers whose own models match: take the most specific match (the longest
        # literal in the model's match rules that occurs in the ref); give up on a tie
        hits = [(p, m) for p in self._providers if (m := p.find_model(low)) is not None and any(m is x for x in p.models)]
        if not hits:
            return None

        def specificity(m: Any) -> int:
            return max((len(a) for a in _match_aliases(m.match) if a.lower() in low), default=0)

        scored = sorted(((specificity(m), p, m) for p, m in hits), key=lambda x: -x[0])
        if len(scored) > 1 and scored[0][0] == scored[1][0]:
            return None
        _, p, m = scored[0]
        others = ", ".join(q.id for _, q, _ in scored[1:])
        why = f"most specific match; also matched by {others}" if others else "the only provider listing it"
        return p, m, (f"provider inferred: {p.id} ({why})",)

    # -- public API ----------------------------------------------------------------------------

    def has(self, ref: str) -> bool:
        """True if ``ref`` is a library model or defined by an override."""
        return self._custom_for(ref) is not None or self._resolve(ref) is not None

    def card(self, ref: str, date: _dt.date | None = None, tier: str = "standard") -> RateCard:
        """Rate card of ``ref`` ("provider/model", or a bare model id) at ``date`` (default: the
        book's price date) and ``tier`` ("standard" or "batch"). Memoised."""
        if tier not in _TIERS:
            raise ValueError(f"tier must be one of {_TIERS}, got {tier!r}")
        when = self.price_date if date is None else date
        if not isinstance(when, _dt.date):
            raise TypeError(f"date must be a datetime.date, got {type(when).__name__}")
        key = (ref, when, tier)
        hit = self._cards.get(key)
        if hit is not None:
            return hit
        card = self._build(ref, when, tier)
        self._cards[key] = card
        return card

    def suggestions(self, ref: str, n: int = 3) -> list[str]:
        """Up to ``n`` known "provider/model" refs closest to ``ref`` (difflib)."""
        refs, alias_to_ref, by_provider = self._suggestion_index()
        bare_refs = self._bare_refs
        low = ref.strip().lower()
        out: list[str] = []

        def add(matches: Iterable[str]) -> None:
            for m in matches:
                r = alias_to_ref[m]
                if "/" not in m:  # bare alias: prefer the provider genai-prices would infer
                    try:
                        inferred = self._snapshot.find_provider(m, None, None).id
                    except LookupError:
                        inferred = None
                    r = next((c for c in bare_refs.get(m, ()) if c.split("/", 1)[0] == inferred), r)
                if r not in out:
                    out.append(r)

        model_part = low
        if "/" in low:
            pid, model_part = low.split("/", 1)
            from genai_prices.data_snapshot import find_provider_by_id

            provider = find_provider_by_id(self._providers, pid)
            if provider is not None:
                cands = by_provider.get(provider.id, [])
                add(difflib.get_close_matches(f"{provider.id}/{model_part}", cands, n=n * 3, cutoff=0.6))
        if len(out) < n:
            add(difflib.get_close_matches(low, list(alias_to_ref), n=n * 3, cutoff=0.6))
        if len(out) < n and "/" in low:
            bare = [a for a in alias_to_ref if "/" not in a]
            add(difflib.get_close_matches(model_part, bare, n=n * 3, cutoff=0.6))
        return out[:n]

    def known_refs(self) -> list[str]:
        """Every "provider/model_id" in the library plus override-defined models."""
        refs, _, _ = self._suggestion_index()
        return sorted(set(refs) | {ov.ref for ov in self._custom.values()})

    @property
    def source(self) -> str:
        return f"genai-prices {self._version}"

    # -- internals -----------------------------------------------------------------------------

    def _suggestion_index(self) -> tuple[list[str], dict[str, str], dict[str, list[str]]]:
        if self._suggest_index is None:
            refs: list[str] = []
            alias_to_ref: dict[str, str] = {}
            by_provider: dict[str, list[str]] = {}
            for p in self._providers:
                for m in p.models:
                    canon = f"{p.id}/{m.id}"
                    refs.append(canon)
                    names = [m.id.lower(), *(a.lower() for a in _match_aliases(m.match))]
                    for name in names:
                        full = f"{p.id}/{name}"
                        alias_to_ref.setdefault(full, canon)
                        alias_to_ref.setdefault(name, canon)
                        self._bare_refs.setdefault(name, []).append(canon)
                        by_provider.setdefault(p.id, []).append(full)
            for ov in self._custom.values():
                alias_to_ref.setdefault(ov.ref.lower(), ov.ref)
                refs.append(ov.ref)
            self._suggest_index = (refs, alias_to_ref, by_provider)
        return self._suggest_index

    def _build(self, ref: str, when: _dt.date, tier: str) -> RateCard:
        price_date = when.date() if isinstance(when, _dt.datetime) else when
        custom = self._custom_for(ref)
        if custom is not None:
            return _custom_card(ref, custom, price_date, tier)
        resolved = self._resolve(ref)
        if resolved is None:
            raise UnknownModelError(ref, self.suggestions(ref))
        provider, model, res_notes = resolved
        card = self._library_card(ref, provider, model, when, res_notes)
        ov = self._lib_overrides.get((provider.id, model.id))
        if ov is not None:
            card = _apply_override(card, ov)
        if tier == "batch":
            card = dataclasses.replace(
                card,
                tier="batch",
                base=card.batch_base,
                cliffs=card.batch_cliffs,
                notes=card.notes + ("tier=batch: base and cliffs are the batch rates",),
            )
        return card

    def _library_card(self, ref: str, provider: Any, model: Any, when: _dt.date, res_notes: tuple[str, ...]) -> RateCard:
        price_date = when.date() if isinstance(when, _dt.datetime) else when
        what = f"{provider.id}/{model.id}"
        std_price, notes = _standard_price(model, when)
        notes = list(res_notes) + notes
        std_dict = {k: v for k, v in std_price.__dict__.items() if not k.startswith("_") and v is not None}
        base, cliffs, rnotes = _rates_from_prices(std_dict, what)
        notes += rnotes
        if cliffs:
            notes.append(
                "long-context cliff: a request with prompt > "
                + ", ".join(f"{t:,}" for t, _ in cliffs)
                + " tokens pays the higher rates on all its tokens"
            )

        own_model = any(model is m for m in provider.models)
        overrides, inactive = _batch_variant_prices(model, when)
        if overrides and own_model:
            bat_dict = dict(std_dict)
            bat_dict.update(overrides)
            batch_base, batch_cliffs, _ = _rates_from_prices(bat_dict, what + " batch")
            ratios = _ratios(base, batch_base)
            bf = ratios["input"] if ratios["input"] else DEFAULT_BATCH_FACTOR
            uneven = {k: v for k, v in ratios.items() if v is not None and not math.isclose(v, bf, rel_tol=1e-9)}
            msg = f"batch: genai-prices batch variant in force at {price_date.isoformat()} (batch/standard input = {bf:g})"
            if uneven:
                msg += "; not uniform: " + ", ".join(f"{k} x{v:g}" for k, v in uneven.items())
            notes.append(msg)
        else:
            bf = DEFAULT_BATCH_FACTOR
            batch_base = base.scaled(bf)
            batch_cliffs = tuple((t, r.scaled(bf)) for t, r in cliffs)
            if overrides and not own_model:
                why = f"genai-prices does not apply the fallback model's batch variant for provider {provider.id}"
            elif inactive:
                why = "genai-prices batch variant starts " + ", ".join(
                    sorted(d.isoformat() if isinstance(d, _dt.date) else str(d) for d in inactive)
                )
            else:
                why = "no batch variant in genai-prices"
            notes.append(f"batch: {why}; applied {bf:g} x to all rates (our default)")
        if model.price_comments:
            notes.append(f"genai-prices comment: {model.price_comments.strip()}")
        if model.deprecated:
            notes.append("genai-prices marks this model deprecated")
        return RateCard(
            ref=ref,
            provider=provider.id,
            model_id=model.id,
            price_date=price_date,
            tier="standard",
            base=base,
            cliffs=cliffs,
            batch_factor=bf,
            source=self.source,
            notes=tuple(notes),
            batch_base=batch_base,
            batch_cliffs=batch_cliffs,
        )


def _merge(old: _Override | None, new: _Override) -> _Override:
    if old is None:
        return new
    return _Override(
        ref=old.ref,
        rates={**old.rates, **new.rates},
        batch_factor=new.batch_factor if new.batch_factor is not None else old.batch_factor,
        discount=new.discount if new.discount is not None else old.discount,
    )


def _custom_card(ref: str, ov: _Override, price_date: _dt.date, tier: str) -> RateCard:
    r = ov.rates
    fin = r["input"]
    w5 = r.get("cache_write_5m", fin)
    base = Rates(
        input=fin,
        cached_input=r.get("cached_input", fin),
        cache_write_5m=w5,
        cache_write_1h=r.get("cache_write_1h", w5),
        output=r["output"],
    )
    notes = [f"defined by scenario override ({ov.describe()})"]
    defaults = [k for k in ("cached_input", "cache_write_5m", "cache_write_1h") if k not in r]
    if defaults:
        notes.append(
            "not in override, defaulted: "
            + ", ".join(defaults)
            + " (cached_input = input, cache_write_5m = input, cache_write_1h = cache_write_5m)"
        )
    bf = ov.batch_factor if ov.batch_factor is not None else DEFAULT_BATCH_FACTOR
    notes.append(f"batch: {bf:g} x all rates ({'override' if ov.batch_factor is not None else 'our default'})")
    provider, _, model_id = ref.strip().partition("/")
    if not model_id:
        provider, model_id = "custom", ref.strip()
    if ov.discount:
        base = base.scaled(1.0 - ov.discount)
        notes.append(f"discount {ov.discount:g} applied to all rates")
    card = RateCard(
        ref=ref,
        provider=provider,
        model_id=model_id,
        price_date=price_date,
        tier="standard",
        base=base,
        cliffs=(),
        batch_factor=bf,
        source="scenario override",
        notes=tuple(notes),
    )
    if tier == "batch":
        card = dataclasses.replace(card, tier="batch", base=card.batch_base, cliffs=card.batch_cliffs)
    return card


def _apply_override(card: RateCard, ov: _Override) -> RateCard:
    """Scenario override on a library card: replace rates, batch factor, then discount."""
    source = f"{card.source} + scenario override"
    if ov.rates:
        # per component: new list rate; keep the library's cliff and batch multipliers
        factors: dict[str, float | None] = {}
        for name, new in ov.rates.items():
            old = getattr(card.base, name)
            factors[name] = (new / old) if old > 0 else None

        def fix(rates: Rates, *, batch: bool) -> Rates:
            changes = {}
            for name, new in ov.rates.items():
                f = factors[name]
                if f is not None:
                    changes[name] = getattr(rates, name) * f
                else:  # list rate was 0: no multiplier to keep
                    changes[name] = new * (card.batch_factor if batch else 1.0)
            return rates.replace(**changes)

        card = dataclasses.replace(
            card,
            base=fix(card.base, batch=False),
            cliffs=tuple((t, fix(r, batch=False)) for t, r in card.cliffs),
            batch_base=fix(card.batch_base, batch=True),  # type: ignore[arg-type]
            batch_cliffs=tuple((t, fix(r, batch=True)) for t, r in card.batch_cliffs or ()),
            source=source,
            notes=card.notes + ("scenario override rates: " + ", ".join(f"{k}={v:g}" for k, v in ov.rates.items()),),
        )
    if ov.batch_factor is not None:
        bf = ov.batch_factor
        card = dataclasses.replace(
            card,
            batch_factor=bf,
            batch_base=card.base.scaled(bf),
            batch_cliffs=tuple((t, r.scaled(bf)) for t, r in card.cliffs),
            source=source,
            notes=card.notes + (f"batch: scenario override batch_factor {bf:g} x all rates (replaces the above)",),
        )
    if ov.discount:
        card = card.scaled(1.0 - ov.discount, note=f"scenario override: discount {ov.discount:g} off all rates")
        card = dataclasses.replace(card, source=source)
    return card
