"""The model catalog as a list: what ``tokensim models`` prints (issue 13, item 6).

One ``ModelEntry`` per "provider/model" the price library knows (plus override-defined models),
each read through ``PriceBook.card`` at one date, so the prices listed are exactly the ones every
engine bills: input, output, cache read and write per million tokens, the long-context cliffs,
whether the batch rate is the library's own or our 0.5 × default, the context window, a
per-request fee when the library has one (which the token engines do not bill: it is named), and
the deprecation flag. A query filters by case-insensitive substring of the ref or the model's
name; ``provider`` by the provider id.
"""

from __future__ import annotations

from dataclasses import dataclass

from .prices import PriceBook


@dataclass(frozen=True)
class ModelEntry:
    """One model's prices (USD per million tokens) at the listing's date."""

    ref: str
    name: str
    input_price: float
    output_price: float
    cached_input_price: float
    cache_write_5m_price: float
    cache_write_1h_price: float
    long_context_thresholds: tuple[int, ...]
    batch_factor: float
    batch_from_library: bool
    context_window: int | None
    per_1k_requests: float | None
    deprecated: bool

    def to_json(self) -> dict:
        return {"ref": self.ref, "name": self.name, "input_price": self.input_price, "output_price": self.output_price,
                "cached_input_price": self.cached_input_price, "cache_write_5m_price": self.cache_write_5m_price,
                "cache_write_1h_price": self.cache_write_1h_price,
                "long_context_thresholds": list(self.long_context_thresholds), "batch_factor": self.batch_factor,
                "batch": "library" if self.batch_from_library else "assumed (no batch price in the library)",
                "context_window": self.context_window, "per_1k_requests": self.per_1k_requests,
                "deprecated": self.deprecated}


def list_models(book: PriceBook, query: str | None = None, provider: str | None = None,
                include_deprecated: bool = True) -> tuple[list[ModelEntry], int]:
    """The catalog's models matching ``query`` / ``provider``, sorted by ref; and how many matching
    models have no price at the book's date (left out)."""
    q = (query or "").strip().lower()
    pv = (provider or "").strip().lower()
    out, unpriced = [], 0
    for p, m in book.library_models():
        ref = f"{p.id}/{m.id}"
        if pv and p.id.lower() != pv:
            continue
        if q and q not in ref.lower() and q not in (m.name or "").lower():
            continue
        if m.deprecated and not include_deprecated:
            continue
        try:
            card = book.card(ref)
        except (LookupError, ValueError):
            unpriced += 1
            continue
        b = card.base
        out.append(ModelEntry(ref, m.name or m.id, b.input, b.output, b.cached_input, b.cache_write_5m,
                              b.cache_write_1h, card.thresholds, card.batch_factor,
                              book.batch_from_library(ref), m.context_window,
                              (book.request_fee(ref) * 1000.0) or None, bool(m.deprecated)))
    return sorted(out, key=lambda e: e.ref), unpriced
