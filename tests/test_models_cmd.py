"""tokensim models: the catalog as a list, priced by the same rate cards the engines bill."""

from __future__ import annotations

import datetime as dt
import json


from sim.catalog.listing import list_models
from sim.catalog.prices import PriceBook
from sim.cli import main
from tests.conftest import refusal

DATE = dt.date(2026, 11, 1)


def test_listed_prices_are_the_rate_cards_and_the_published_list(capsys):
    """Claude Sonnet 4.5 at Anthropic's published list ($3 in, $15 out, $0.30 cache read, $3.75 5-minute
    write per million tokens, long-context rates above 200k); every listed row equals its rate card."""
    book = PriceBook(DATE)
    rows, _ = list_models(book, "sonnet-4-5", "anthropic")
    e = next(r for r in rows if r.ref == "anthropic/claude-sonnet-4-5")
    assert (e.input_price, e.output_price, e.cached_input_price, e.cache_write_5m_price) == (3.0, 15.0, 0.3, 3.75)
    assert e.long_context_thresholds == (200_000,) and e.batch_from_library and e.batch_factor == 0.5
    for r in list_models(book, "gpt-4.1")[0]:
        b = book.card(r.ref).base
        assert (r.input_price, r.output_price, r.cached_input_price) == (b.input, b.output, b.cached_input)
    assert main(["models", "sonnet-4-5", "--provider", "anthropic", "--price-date", "2026-11-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == len(out["models"]) >= 1
    assert {"ref", "input_price", "output_price"} <= set(out["models"][0])
    assert all("sonnet-4-5" in m["ref"] for m in out["models"])


def test_a_per_request_fee_is_listed_not_dropped():
    """Perplexity's search models carry a fee per 1,000 requests in the library: it is listed."""
    rows, _ = list_models(PriceBook(DATE), "sonar", "perplexity")
    assert any(r.per_1k_requests and r.per_1k_requests > 0 for r in rows)


def test_models_refusals(capsys):
    m = refusal(["models", "--provider", "nobody"], capsys, "usage")
    assert "not a provider of the price library" in m[0] and "anthropic" in m[0]
    m = refusal(["models", "--price-date", "2026-13-01"], capsys, "usage")
    assert "--price-date must be a calendar date" in m[0]
