"""Reading the genai-prices data model: a ``ModelPrice`` at a date and tier, as plain rates.

Price history, time-of-day windows (averaged over hour weights), batch and service-tier variants
and long-context tiers are resolved here (rules in ``sim.catalog.rates``);
``sim.catalog.prices.PriceBook`` builds rate cards from them.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import numpy as np

from .rates import (
    _BATCH_CONTEXT,
    _K_IN,
    _K_OUT,
    _K_READ,
    _K_W,
    _K_W1H,
    _K_W5,
    _MODELLED_KEYS,
    Cliffs,
    Rates,
)

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
            f"({_fmt_price(prices[i].prices)}); other windows: {others}. Pass a datetime for an exact instant, "
            "or hour weights (an activity profile) to average the windows over"
        )
    else:
        i = _conditional_index_at(prices, _noon_utc(when))
    notes += _history_notes(prices, i, when)
    return prices[i].prices, notes


def _history_notes(prices: list[Any], i: int, when: _dt.date) -> list[str]:
    """Price-history notes for the ConditionalPrice ``prices[i]`` chosen at ``when``."""
    notes: list[str] = []
    c = prices[i].constraint
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
    return notes


# --------------------------------------------------------------------------------------------
# Time-of-day prices averaged over hour weights
# --------------------------------------------------------------------------------------------


def _has_tod(model: Any) -> bool:
    """True when ``model`` has time-of-day price windows (DeepSeek off-peak)."""
    return isinstance(model.prices, list) and any(_is_tod(c.constraint) for c in model.prices)


def _day_hour_weights(hours: Any) -> np.ndarray:
    """Shares (summing to 1) of activity in each UTC hour of the day, from 24 weights by UTC hour of
    the day or 168 by UTC hour of the week (Monday 00:00 first; the library's windows are the same
    every day, so the week folds onto its 24 hours)."""
    w = np.asarray(hours, dtype=np.float64)
    if w.ndim != 1 or w.size not in (24, 168):
        raise ValueError(f"hour weights must be 24 (UTC hour of the day) or 168 (UTC hour of the week) numbers, "
                         f"got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("hour weights must be finite, >= 0 and not all 0")
    if w.size == 168:
        w = w.reshape(7, 24).sum(axis=0)
    return w / w.sum()


def _hhmm(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def _runs(minutes: list[bool]) -> list[tuple[int, int]]:
    """[start, end) minute runs where ``minutes`` is true, a run over midnight joined."""
    runs: list[tuple[int, int]] = []
    for m, on in enumerate(minutes):
        if on and (not runs or runs[-1][1] != m):
            runs.append((m, m + 1))
        elif on:
            runs[-1] = (runs[-1][0], m + 1)
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == len(minutes):
        runs = [(runs[-1][0], runs[0][1] + len(minutes))] + runs[1:-1]
    return runs


def _prices_by_hour(model: Any, when: _dt.date, hours: Any, label: str) -> tuple[list[tuple[float, Any]], tuple[tuple[str, float], ...], list[str]]:
    """The standard ModelPrices of ``model``'s time-of-day windows on the UTC day ``when``, each with
    its share of the activity that ``hours`` (see ``_day_hour_weights``) puts in it, activity spread
    evenly over the minutes of an hour. Windows with equal prices are one; with two, the cheaper is
    "off-peak" and the other "peak". Returns ([(share, ModelPrice)], ((label, share), ...), notes)."""
    if isinstance(when, _dt.datetime):
        raise ValueError("hour weights average a day's time-of-day prices: give a date, not a datetime")
    w24 = _day_hour_weights(hours)
    prices = model.prices
    day = _dt.datetime.combine(when, _dt.time(0, 0), tzinfo=_dt.UTC)
    index = [_conditional_index_at(prices, day + _dt.timedelta(minutes=m)) for m in range(24 * 60)]
    groups: dict[tuple, list[Any]] = {}  # equal prices -> [share, ModelPrice, minute mask, indices]
    for m, i in enumerate(index):
        mp = prices[i].prices
        key = tuple(sorted((k, str(v)) for k, v in mp.__dict__.items() if not k.startswith("_") and v is not None))
        g = groups.setdefault(key, [0.0, mp, [False] * (24 * 60), set()])
        g[0] += float(w24[m // 60]) / 60.0
        g[2][m] = True
        g[3].add(i)

    def level(g: list[Any]) -> float:
        v = g[1].__dict__.get(_K_IN)
        v = getattr(v, "base", v)
        return float(v) if v is not None else math.inf

    ordered = sorted(groups.values(), key=level)
    names = ["off-peak", "peak"] if len(ordered) == 2 else [f"window {k + 1}" for k in range(len(ordered))]
    notes: list[str] = []
    parts = []
    for k, (name, g) in enumerate(zip(names, ordered)):
        when_ = ", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in _runs(g[2]))
        lead = "of tokens at the " if k == 0 else "at the "
        parts.append(f"{100.0 * g[0]:.1f} % {lead}{name} price ({_fmt_price(g[1])}; {when_} UTC)")
    notes.append(f"time-of-day pricing: averaged over {label} (UTC): " + ", ".join(parts))
    for i in sorted(set().union(*(g[3] for g in ordered))):
        notes += [n for n in _history_notes(prices, i, when) if n not in notes]
    return ([(g[0], g[1]) for g in ordered], tuple((n, g[0]) for n, g in zip(names, ordered)), notes)


def _blend(parts: list[tuple[float, Rates, Cliffs]]) -> tuple[Rates, Cliffs]:
    """Share-weighted average of rate tables: every rate of every prompt-size segment (the union of
    the parts' cliff thresholds) is the weighted mean of the parts' rates for that segment."""
    if len(parts) == 1:
        return parts[0][1], parts[0][2]
    total = sum(s for s, _, _ in parts)

    def at(base: Rates, cliffs: Cliffs, threshold: float) -> Rates:
        out = base
        for t, r in cliffs:
            if t <= threshold:
                out = r
        return out

    def mean(threshold: float) -> Rates:
        rows = [(s, at(b, c, threshold).as_tuple()) for s, b, c in parts]
        return Rates(*(sum(s * r[j] for s, r in rows) / total for j in range(5)))

    starts = sorted({t for _, _, c in parts for t, _ in c})
    return mean(-1.0), tuple((t, mean(float(t))) for t in starts)


# --------------------------------------------------------------------------------------------
# Service tiers (price variants keyed on service_tier)
# --------------------------------------------------------------------------------------------

_TIER_KEY = "service_tier"


def _service_tier_variants(model: Any, when: _dt.date) -> tuple[dict[str, dict[str, Any]], dict[str, list[Any]]]:
    """The library's service tiers of ``model``: {tier: per-key price overrides in force at ``when``}
    (ModelInfo.get_prices with ``price_context={'service_tier': tier}``; an empty dict is a tier
    priced as standard, e.g. OpenAI's ``default``) and {tier: start dates of its variants not yet in
    force at ``when``}."""
    ts = _aware(when) if isinstance(when, _dt.datetime) else _noon_utc(when)
    active: dict[str, dict[str, Any]] = {}
    pending: dict[str, list[Any]] = {}
    for variant in model.price_variants or ():
        if set(variant.when) != {_TIER_KEY}:
            continue
        tier = variant.when[_TIER_KEY]
        if variant.constraint is not None and not variant.constraint.active(ts):
            pending.setdefault(tier, []).append(getattr(variant.constraint, "start_date", variant.constraint))
            continue
        got = active.setdefault(tier, {})
        for key, price in variant.prices.__dict__.items():
            if price is not None:
                got.setdefault(key, price)
    return active, {t: d for t, d in pending.items() if t not in active}


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


