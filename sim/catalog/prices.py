"""The price book: rate cards for a scenario's models at its price date, with its overrides.

Prices come from the maintained ``genai-prices`` library (bundled, offline); a scenario's
``prices.overrides`` replace or add models (private rates, negotiated discounts). The rules of a
rate card (disjoint token components, long-context cliffs, batch) are in ``sim.catalog.rates``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version as _metadata_version
from typing import Any

from .genai_library import (
    _attr,
    _batch_variant_prices,
    _blend,
    _day_hour_weights,
    _has_tod,
    _match_aliases,
    _prices_by_hour,
    _rates_from_prices,
    _ratios,
    _service_tier_variants,
    _standard_price,
)
from .rates import _TIERS, DEFAULT_BATCH_FACTOR, RateCard, Rates, UnknownModelError

__all__ = [
    "UnknownModelError",
    "Rates",
    "RateCard",
    "PriceBook",
    "library_version",
    "DEFAULT_BATCH_FACTOR",
]

def library_version() -> str:
    """Installed version of genai-prices (importlib.metadata)."""
    return _metadata_version("genai-prices")




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
        self._cards: dict[tuple, RateCard] = {}
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

    def card(self, ref: str, date: _dt.date | None = None, tier: str = "standard", *,
             service_tier: str | None = None, hours: Any = None, hours_label: str | None = None) -> RateCard:
        """Rate card of ``ref`` ("provider/model", or a bare model id) at ``date`` (default: the
        book's price date) and ``tier`` ("standard" or "batch"). Memoised.

        ``service_tier`` prices one of the library's service tiers of the model (``service_tiers``
        lists them; ValueError for a tier it lacks at the date, with ``tier="batch"``, or on a model a
        scenario override defines or changes). ``hours`` — 24 weights by UTC hour of the day or 168 by
        UTC hour of the week (Monday 00:00 first), e.g. a workload's activity profile — averages a
        model's time-of-day prices over the activity (``hours_label`` names it in the notes, e.g.
        "the business_hours activity profile"); ignored for a model without time-of-day prices.
        """
        if tier not in _TIERS:
            raise ValueError(f"tier must be one of {_TIERS}, got {tier!r}")
        when = self.price_date if date is None else date
        if not isinstance(when, _dt.date):
            raise TypeError(f"date must be a datetime.date, got {type(when).__name__}")
        if service_tier is not None and tier != "standard":
            raise ValueError(f"service_tier {service_tier!r} is a standard-processing price: not with tier={tier!r}")
        hkey = None
        if hours is not None:
            w24 = _day_hour_weights(hours)  # checked for every model, used where the model has windows
            resolved = None if self._custom_for(ref) is not None else self._resolve(ref)
            if resolved is not None and _has_tod(resolved[1]):
                label = hours_label or "the given hour weights"
                hkey = (label, tuple(round(float(x), 12) for x in w24))  # equal shares up to rounding: one card
                hours = w24
            else:
                hours = None
        key = (ref, when, tier, service_tier, hkey)
        hit = self._cards.get(key)
        if hit is not None:
            return hit
        card = self._build(ref, when, tier, service_tier, hours, hkey[0] if hkey else None)
        self._cards[key] = card
        return card

    def service_tiers(self, ref: str, date: _dt.date | None = None) -> dict[str, _dt.date | None]:
        """The library's service tiers of ``ref`` (price variants keyed on ``service_tier``, e.g.
        OpenAI's default, flex, priority and fast): tier -> None when priced at ``date`` (default: the
        book's price date), else the first date its price starts. Empty for a model the library has
        no tiers for, found through a provider's fallback (the library does not apply variants
        there), or defined by a scenario override."""
        if self._custom_for(ref) is not None:
            return {}
        resolved = self._resolve(ref)
        if resolved is None:
            return {}
        provider, model, _ = resolved
        if not any(model is m for m in provider.models):
            return {}
        active, pending = _service_tier_variants(model, self.price_date if date is None else date)
        out: dict[str, _dt.date | None] = {t: None for t in active}
        for t, starts in pending.items():
            days = [d for d in starts if isinstance(d, _dt.date)]
            out[t] = min(days) if days else None
        return out

    def has_time_of_day(self, ref: str) -> bool:
        """True when ``ref``'s library price has time-of-day windows (DeepSeek off-peak)."""
        if self._custom_for(ref) is not None:
            return False
        resolved = self._resolve(ref)
        return resolved is not None and _has_tod(resolved[1])

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

    def request_fee(self, ref: str, date: _dt.date | None = None) -> float:
        """USD per request the library charges for ``ref`` beside its tokens (e.g. a search model's
        fee per 1,000 requests / 1,000); 0 when it has none or the model is an override's."""
        from .genai_library import _standard_price

        if self._custom_for(ref) is not None:
            return 0.0
        resolved = self._resolve(ref)
        if resolved is None:
            return 0.0
        try:
            prices, _ = _standard_price(resolved[1], date or self.price_date)
        except (LookupError, ValueError):
            return 0.0
        fee = getattr(prices, "requests_kcount", None)
        return float(fee) / 1000.0 if fee else 0.0

    def batch_from_library(self, ref: str) -> bool:
        """True when ``ref``'s batch rates are the library's own batch prices (not our default factor)."""
        return any(n.startswith("batch: genai-prices batch variant in force") for n in self.card(ref).notes)

    def library_models(self) -> list[tuple]:
        """(provider, model) of every model the library lists under its own provider."""
        return [(p, m) for p in self._providers for m in p.models]

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

    def _build(self, ref: str, when: _dt.date, tier: str, service_tier: str | None = None,
               hours: Any = None, hours_label: str | None = None) -> RateCard:
        price_date = when.date() if isinstance(when, _dt.datetime) else when
        custom = self._custom_for(ref)
        if custom is not None:
            if service_tier is not None:
                raise ValueError(f"{ref}: a scenario override defines this model, so it has no service tiers")
            return _custom_card(ref, custom, price_date, tier)
        resolved = self._resolve(ref)
        if resolved is None:
            raise UnknownModelError(ref, self.suggestions(ref))
        provider, model, res_notes = resolved
        ov = self._lib_overrides.get((provider.id, model.id))
        if service_tier is not None and ov is not None:
            raise ValueError(f"{ref}: service tier prices with a scenario price override are not modelled")
        card = self._library_card(ref, provider, model, when, res_notes, service_tier, hours, hours_label)
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

    def _library_card(self, ref: str, provider: Any, model: Any, when: _dt.date, res_notes: tuple[str, ...],
                      service_tier: str | None = None, hours: Any = None,
                      hours_label: str | None = None) -> RateCard:
        price_date = when.date() if isinstance(when, _dt.datetime) else when
        what = f"{provider.id}/{model.id}"
        own_model = any(model is m for m in provider.models)
        tod: tuple[tuple[str, float], ...] = ()
        if hours is not None:  # time-of-day windows averaged over the hour weights
            shares, tod, notes = _prices_by_hour(model, when, hours, hours_label or "the given hour weights")
        else:
            std_price, notes = _standard_price(model, when)
            shares = [(1.0, std_price)]
        notes = list(res_notes) + notes
        std_dicts = [(s, {k: v for k, v in mp.__dict__.items() if not k.startswith("_") and v is not None})
                     for s, mp in shares]
        tier_over: dict[str, Any] = {}
        if service_tier is not None:
            active, pending = _service_tier_variants(model, when) if own_model else ({}, {})
            if service_tier not in active:
                if not own_model:
                    why = f"genai-prices does not apply {model.id}'s price variants for provider {provider.id}"
                elif service_tier in pending:
                    why = f"its service tier {service_tier!r} is priced from " + ", ".join(
                        sorted(str(d) for d in pending[service_tier]))
                else:
                    why = f"genai-prices has no service tier {service_tier!r} for it"
                raise ValueError(f"{what}: {why}; its tiers at {price_date.isoformat()}: "
                                 + (", ".join(sorted(active)) or "none"))
            tier_over = active[service_tier]
        parts = []
        rnotes: list[str] = []
        for s, d in std_dicts:
            b, c, rn = _rates_from_prices({**d, **tier_over}, what)
            parts.append((s, b, c))
            rnotes += [n for n in rn if n not in rnotes]
        base, cliffs = _blend(parts)
        notes += rnotes
        if service_tier is not None:
            notes.append(f"service tier {service_tier!r}: genai-prices variant in force at {price_date.isoformat()}"
                         + (" (" + ", ".join(f"{k.removesuffix('_mtok')}={v}" for k, v in tier_over.items()) + ")"
                            if tier_over else " (priced as standard)"))
        if cliffs:
            notes.append(
                "long-context cliff: a request with prompt > "
                + ", ".join(f"{t:,}" for t, _ in cliffs)
                + " tokens pays the higher rates on all its tokens"
            )

        overrides, inactive = _batch_variant_prices(model, when)
        if overrides and own_model and service_tier is None:
            batch_base, batch_cliffs = _blend([(s, *_rates_from_prices({**d, **overrides}, what + " batch")[:2])
                                               for s, d in std_dicts])
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
            elif service_tier is not None:
                why = f"a service tier ({service_tier}) has no batch price"
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
            service_tier=service_tier,
            time_of_day=tod,
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
