"""Rate cards: per-token API list prices of one model at one date and tier, as plain floats.

The price data comes from the ``genai-prices`` library (bundled, offline snapshot). The price book
(``sim.catalog.prices``) resolves a model's ``ModelPrice`` **once** per (model, date, tier) into a :class:`RateCard` of
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
* **Time-of-day prices** (DeepSeek off-peak windows): given hour weights (``PriceBook.card(...,
  hours=...)``: 24 weights by UTC hour of the day, or 168 by UTC hour of the week, Monday 00:00
  first; a workload's activity profile), every rate is the average of the windows' rates weighted by
  the share of the activity (so of the tokens) that falls in each window, activity spread evenly
  within an hour; ``time_of_day`` and ``notes`` give the shares. Without hour weights a
  :class:`datetime.date` has no time of day, so the card uses the price that applies for the
  largest share of that UTC day and records the other windows in ``notes``. Pass a
  :class:`datetime.datetime` to get the exact instant's price.
* **Service tiers** (``PriceBook.card(..., service_tier="flex")``): the library's
  ``PriceVariant(when={'service_tier': ...})`` (OpenAI and Google ``default``/``flex``/``priority``/
  ``fast``) applied per price key when active at the date, as ``calc_price(price_context=...)``
  does; ``service_tier`` names it on the card. A model without the tier has no such card.
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
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

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

    ``service_tier`` is the library service tier whose prices ``base``/``cliffs`` hold (None: the
    standard price). ``time_of_day`` is, for a model with time-of-day prices averaged over hour
    weights, each price window's (label, share of the tokens), e.g. ``(("off-peak", 0.23), ("peak",
    0.77))``; empty otherwise.
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
    service_tier: str | None = None
    time_of_day: tuple[tuple[str, float], ...] = ()
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


