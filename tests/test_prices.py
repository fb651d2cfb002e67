"""Tests for sim.catalog.prices (rate cards on top of genai-prices' bundled data).

Golden rates are checked by hand against /work/shared/research/pricing-ecosystem.md ("the doc").
Each row cites the doc line it came from; a silent data change in a genai-prices upgrade fails here.
Rows whose absolute level is not in the doc say so and cite the rule (ratio) they were checked by.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genai_prices
from genai_prices import Usage, calc_price
from sim.catalog.prices import (
    DEFAULT_BATCH_FACTOR,
    PriceBook,
    RateCard,
    Rates,
    UnknownModelError,
    library_version,
)

TODAY = dt.date(2026, 11, 22)  # research date of the doc
BOOK = PriceBook(TODAY)

# ---------------------------------------------------------------------------------------------
# Golden list prices, USD/MTok: (ref, date, tier, input, cached_input, cache_write_5m,
# cache_write_1h, output). "=in" in a comment: the library has no price for that component, so
# our documented default (the input rate) applies.
# ---------------------------------------------------------------------------------------------
GOLDEN = [
    # doc l.116: "Sonnet 4: $3 input / $15 output / $0.30 cache read / $3.75 5-minute write / $6 1-hour write"
    ("anthropic/claude-sonnet-4-0", TODAY, "standard", 3.0, 0.30, 3.75, 6.0, 15.0),
    # doc l.191 uses the dated id; same model
    ("anthropic/claude-sonnet-4-20250514", TODAY, "standard", 3.0, 0.30, 3.75, 6.0, 15.0),
    # doc l.117: "gpt-4o: $2.50 / $10 / $1.25 cached"; no cache-write price before GPT-5.6 (l.426) -> =in
    ("openai/gpt-4o", TODAY, "standard", 2.50, 1.25, 2.50, 2.50, 10.0),
    # doc l.118: "gemini-2.5-flash: $0.30 / $2.50 / $0.03 cached"; implicit cache writes at input (l.427) -> =in
    ("google/gemini-2.5-flash", TODAY, "standard", 0.30, 0.03, 0.30, 0.30, 2.50),
    # doc l.119: "gemini-2.5-pro: $1.25 -> $2.50 input and $10 -> $15 output above 200k"; base row here,
    # cliff row in GOLDEN_CLIFFS. Cached 0.125 = 0.1x input (l.427 "implicit 0.1x").
    ("google/gemini-2.5-pro", TODAY, "standard", 1.25, 0.125, 1.25, 1.25, 10.0),
    # doc l.70/198-221: o3 price cut on 2025-06-10; 1M in + 1M out = 50.0 before, 10.0 after.
    # Split 10/40 and 2/8: the 1:4 in:out ratio of l.220-221 totals; cached 0.5 from the library.
    ("openai/o3", dt.date(2025, 6, 1), "standard", 10.0, 0.5, 10.0, 10.0, 40.0),
    ("openai/o3", dt.date(2025, 7, 1), "standard", 2.0, 0.5, 2.0, 2.0, 8.0),
    # doc l.124-127, l.222: gpt-4o batch 1M/1M = 6.25 on 2026-10-14 -> 1.25/5. Library note (l.409):
    # the batch table has no cached rate, cached keeps the standard 1.25.
    ("openai/gpt-4o", dt.date(2026, 10, 14), "batch", 1.25, 1.25, 1.25, 1.25, 5.0),
    # doc l.126-127: before the variant's start date the library silently gives standard prices;
    # we apply 0.5x ourselves (every rate, cached too).
    ("openai/gpt-4o", dt.date(2025, 7, 1), "batch", 1.25, 0.625, 1.25, 1.25, 5.0),
    # doc l.410: "Sonnet 4.5 batch: $1.5/$7.5, cache read $0.15, 5m write $1.875"; 1h write 3.0 = 0.5 x 6
    ("anthropic/claude-sonnet-4-5", TODAY, "batch", 1.5, 0.15, 1.875, 3.0, 7.5),
    # doc l.426: OpenAI cached = 0.25x input for gpt-4.1; l.385 "gpt-4.1: 1 out = 4 in" -> 2/8
    # (absolute $2 not in the doc: library value, checked by those two ratios)
    ("openai/gpt-4.1", TODAY, "standard", 2.0, 0.5, 2.0, 2.0, 8.0),
    # doc l.426: gpt-5 family cached = 0.1x; l.385 "gpt-5: 1 out = 8 in" -> 1.25/10 (absolute from library)
    ("openai/gpt-5", TODAY, "standard", 1.25, 0.125, 1.25, 1.25, 10.0),
    ("openai/gpt-5-mini", TODAY, "standard", 0.25, 0.025, 0.25, 0.25, 2.0),
    # Opus 4.5+: $5/$25 (brief; not in the doc). Cache rules doc l.425: read 0.1x, 5m write 1.25x, 1h write 2x
    ("anthropic/claude-opus-4-5", TODAY, "standard", 5.0, 0.5, 6.25, 10.0, 25.0),
    ("anthropic/claude-opus-4-6", TODAY, "standard", 5.0, 0.5, 6.25, 10.0, 25.0),
    # Haiku 4.5 $1/$5 (not in the doc; library value), cache ratios doc l.425
    ("anthropic/claude-haiku-4-5", TODAY, "standard", 1.0, 0.1, 1.25, 2.0, 5.0),
    # Haiku 3.5 $0.80/$4 (not in the doc; library value), cache ratios doc l.425
    ("anthropic/claude-3-5-haiku-latest", TODAY, "standard", 0.80, 0.08, 1.0, 1.6, 4.0),
    # Mistral Large $2/$6 (not in the doc; library value). No cache prices in the library -> =in
    ("mistral/mistral-large-latest", TODAY, "standard", 2.0, 2.0, 2.0, 2.0, 6.0),
    # DeepSeek V3 chat: doc l.71 "time-of-day pricing (DeepSeek off-peak)"; peak $0.27/$1.10, cached
    # $0.07 (library values) cover 16 of 24 UTC hours, so a date-level card uses them.
    ("deepseek/deepseek-chat", TODAY, "standard", 0.27, 0.07, 0.27, 0.27, 1.10),
    # doc l.120, l.227: Bedrock Sonnet 4.5 global $3/$15 vs regional (us., eu., bare id) $3.30/$16.50.
    # Regional cache rates = 1.1 x global (l.412 "+10%"), cache ratios l.428.
    ("aws/global.anthropic.claude-sonnet-4-5-20250929-v1:0", TODAY, "standard", 3.0, 0.30, 3.75, 6.0, 15.0),
    ("aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0", TODAY, "standard", 3.30, 0.33, 4.125, 6.6, 16.50),
    ("aws/anthropic.claude-sonnet-4-5-20250929-v1:0", TODAY, "standard", 3.30, 0.33, 4.125, 6.6, 16.50),
]

# (ref, date, tier, threshold, input, cached_input, cache_write_5m, cache_write_1h, output) of the cliff row
GOLDEN_CLIFFS = [
    # doc l.119: gemini-2.5-pro above 200k: input 2.50, output 15; cached 0.25 = 0.1x (l.427)
    ("google/gemini-2.5-pro", TODAY, "standard", 200_000, 2.50, 0.25, 2.50, 2.50, 15.0),
    # doc l.410: Sonnet 4/4.5 long context ">200k was 2x input and 1.5x output" -> 6 / 22.5
    ("anthropic/claude-sonnet-4-5", TODAY, "standard", 200_000, 6.0, 0.6, 7.5, 12.0, 22.5),
]


def _rates_tuple(r: Rates) -> tuple[float, ...]:
    return (r.input, r.cached_input, r.cache_write_5m, r.cache_write_1h, r.output)


@pytest.mark.parametrize(
    "ref,date,tier,rates", [(*g[:3], g[3:]) for g in GOLDEN], ids=[f"{g[0]}@{g[1]}:{g[2]}" for g in GOLDEN]
)
def test_golden_list_prices(ref, date, tier, rates):
    card = BOOK.card(ref, date, tier)
    assert card.tier == tier
    assert card.price_date == date
    assert _rates_tuple(card.base) == pytest.approx(tuple(rates), rel=1e-12)


@pytest.mark.parametrize(
    "ref,date,tier,threshold,rates", [(*g[:4], g[4:]) for g in GOLDEN_CLIFFS], ids=[g[0] for g in GOLDEN_CLIFFS]
)
def test_golden_cliffs(ref, date, tier, threshold, rates):
    card = BOOK.card(ref, date, tier)
    assert card.thresholds == (threshold,)
    assert _rates_tuple(card.cliffs[0][1]) == pytest.approx(tuple(rates), rel=1e-12)


def test_golden_totals_from_doc_snippet():
    one_m = (1e6, 0, 0, 0, 1e6)
    # doc l.220-221: o3 1M/1M = 50.0 on 2025-06-01 and 10.0 on 2025-07-01
    assert BOOK.card("openai/o3", dt.date(2025, 6, 1)).call_cost(*one_m) == pytest.approx(50.0)
    assert BOOK.card("openai/o3", dt.date(2025, 7, 1)).call_cost(*one_m) == pytest.approx(10.0)
    # doc l.222: gpt-4o batch 1M/1M = 6.25 (library variant, 2026-10-14 on)
    assert BOOK.card("openai/gpt-4o", dt.date(2026, 10, 14)).call_cost(*one_m, batch=True) == pytest.approx(6.25)
    # doc l.125-126: the library gives 12.50 for batch on 2025-07-01; we apply 0.5x ourselves
    assert BOOK.card("openai/gpt-4o", dt.date(2025, 7, 1)).call_cost(*one_m) == pytest.approx(12.50)
    assert BOOK.card("openai/gpt-4o", dt.date(2025, 7, 1)).call_cost(*one_m, batch=True) == pytest.approx(6.25)
    # doc l.227: Bedrock Sonnet 4.5 1M/1M global 18.00 vs regional 19.80
    assert BOOK.card("aws/global.anthropic.claude-sonnet-4-5-20250929-v1:0").call_cost(*one_m) == pytest.approx(18.0)
    assert BOOK.card("aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0").call_cost(*one_m) == pytest.approx(19.8)
    # doc l.226: 1h cache write of 100k tokens on Sonnet 4 = 0.60
    assert BOOK.card("anthropic/claude-sonnet-4-20250514").call_cost(0, 0, 0, 100_000, 0) == pytest.approx(0.60)


def test_batch_notes_say_which_rule_applied():
    lib = BOOK.card("openai/gpt-4o", dt.date(2026, 10, 14))
    ours = BOOK.card("openai/gpt-4o", dt.date(2025, 7, 1))
    assert lib.batch_factor == 0.5 and ours.batch_factor == DEFAULT_BATCH_FACTOR
    assert any("batch variant in force" in n for n in lib.notes)
    assert any("starts 2026-10-14" in n and "our default" in n for n in ours.notes)
    # Bedrock has no batch variants (doc l.130)
    bedrock = BOOK.card("aws/global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert any("no batch variant" in n for n in bedrock.notes)


def test_card_metadata_and_resolution():
    card = BOOK.card("anthropic/claude-sonnet-4-5")
    assert (card.ref, card.provider, card.model_id) == ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5")
    assert card.source == f"genai-prices {library_version()}" == f"genai-prices {genai_prices.__version__}"
    assert card.price_date == TODAY
    # bare ids: library provider inference, and a Bedrock id the library's inference misroutes
    assert BOOK.card("gpt-4o").provider == "openai"
    bare = BOOK.card("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert (bare.provider, bare.model_id) == ("aws", "global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    # explicit provider wins: Azure falls back to OpenAI list prices
    az = BOOK.card("azure/gpt-4o")
    assert az.provider == "azure" and az.base == BOOK.card("openai/gpt-4o").base
    assert BOOK.has("openai/gpt-4o") and BOOK.has("claude-sonnet-4-5") and not BOOK.has("openai/gpt-4-o")
    refs = BOOK.known_refs()
    assert "openai/gpt-4o" in refs and "anthropic/claude-sonnet-4-5" in refs and len(refs) > 1000


def test_card_is_memoised_and_date_defaults_to_book():
    book = PriceBook(dt.date(2025, 6, 1))
    a = book.card("openai/o3")
    assert book.card("openai/o3") is a
    assert a.price_date == dt.date(2025, 6, 1) and a.base.input == 10.0
    assert book.card("openai/o3", dt.date(2025, 7, 1)).base.input == 2.0


def test_time_of_day_prices():
    day = BOOK.card("deepseek/deepseek-chat")
    assert any("time-of-day" in n for n in day.notes)
    # an exact instant gets the library's time-of-day price: off-peak 16:30-00:30 UTC
    night = BOOK.card("deepseek/deepseek-chat", dt.datetime(2026, 11, 22, 20, 0, tzinfo=dt.UTC))
    assert night.base.input == pytest.approx(0.135) and night.base.output == pytest.approx(0.55)
    noon = BOOK.card("deepseek/deepseek-chat", dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC))
    assert noon.base == day.base


# ---------------------------------------------------------------------------------------------
# call_cost: hand calculations and the per-request cliff
# ---------------------------------------------------------------------------------------------


def test_call_cost_hand_calculation_with_cache_premium_and_discount():
    card = BOOK.card("anthropic/claude-sonnet-4-0")
    # 20k fresh, 60k cache read, 15k 5m write, 5k 1h write, 5k output (doc l.116 rates)
    expect = (20_000 * 3 + 60_000 * 0.30 + 15_000 * 3.75 + 5_000 * 6 + 5_000 * 15) / 1e6
    assert card.call_cost(20_000, 60_000, 15_000, 5_000, 5_000) == pytest.approx(expect, rel=1e-12)
    assert expect == pytest.approx(0.239250)
    # doc l.216-219 (100k prompt total, 60k cache read, 20k cache write, 5k output)
    assert card.call_cost(20_000, 60_000, 20_000, 0, 5_000) == pytest.approx(0.228)
    assert BOOK.card("openai/gpt-4o").call_cost(20_000, 60_000, 20_000, 0, 5_000) == pytest.approx(0.225)
    assert BOOK.card("google/gemini-2.5-flash").call_cost(20_000, 60_000, 20_000, 0, 5_000) == pytest.approx(0.0263)
    # batch on Sonnet 4.5: everything halves (doc l.410)
    s45 = BOOK.card("anthropic/claude-sonnet-4-5")
    std = s45.call_cost(20_000, 60_000, 15_000, 5_000, 5_000)
    assert s45.call_cost(20_000, 60_000, 15_000, 5_000, 5_000, batch=True) == pytest.approx(std / 2, rel=1e-12)


def test_cliff_is_per_request_never_on_aggregate():
    card = BOOK.card("google/gemini-2.5-pro")
    # doc l.224-225 output: 199k prompt + 1k output = 0.25875; 201k = 0.5175
    assert card.call_cost(199_000, 0, 0, 0, 1_000) == pytest.approx(0.25875)
    assert card.call_cost(201_000, 0, 0, 0, 1_000) == pytest.approx(0.5175)
    # two requests of 150k each: base rates, not one 300k aggregate at the tier
    two = card.call_cost(np.array([150_000.0, 150_000.0]), 0, 0, 0, np.array([2_000.0, 2_000.0]))
    base_one = (150_000 * 1.25 + 2_000 * 10) / 1e6
    assert two.shape == (2,)
    assert two == pytest.approx([base_one, base_one])
    aggregate_at_tier = (300_000 * 2.50 + 4_000 * 15) / 1e6
    assert two.sum() == pytest.approx(2 * base_one) and two.sum() < aggregate_at_tier
    # one 201k prompt: ALL its tokens at the higher tier, output included
    assert card.call_cost(201_000, 0, 0, 0, 2_000) == pytest.approx((201_000 * 2.5 + 2_000 * 15) / 1e6)
    # threshold is strict (> 200k, as genai-prices' TieredPrices)
    assert card.call_cost(200_000, 0, 0, 0, 0) == pytest.approx(200_000 * 1.25 / 1e6)
    assert card.call_cost(200_001, 0, 0, 0, 0) == pytest.approx(200_001 * 2.5 / 1e6)
    edge = card.call_cost(np.array([200_000.0, 200_001.0]), 0, 0, 0, np.array([0.0, 0.0]))  # vector path
    assert edge == pytest.approx([200_000 * 1.25 / 1e6, 200_001 * 2.5 / 1e6])
    # prompt size counts cache tokens: 150k cached + 51k fresh crosses the cliff
    assert card.call_cost(51_000, 150_000, 0, 0, 0) == pytest.approx((51_000 * 2.5 + 150_000 * 0.25) / 1e6)
    # mixed vector: each element uses its own prompt size
    mixed = card.call_cost(np.array([150_000.0, 201_000.0]), 0, 0, 0, 1_000)
    assert mixed == pytest.approx([(150_000 * 1.25 + 10_000) / 1e6, (201_000 * 2.5 + 15_000) / 1e6])
    assert card.rates_for_prompt(200_000) == card.base
    assert card.rates_for_prompt(200_001) == card.cliffs[0][1]


def test_call_cost_scalar_and_vector_agree_with_batch_mask():
    card = BOOK.card("anthropic/claude-sonnet-4-5")
    rng = np.random.default_rng(7)
    n = 500
    f, c, w5, w1 = (rng.integers(0, 120_000, n).astype(float) for _ in range(4))
    o = rng.integers(0, 20_000, n).astype(float)
    mask = rng.random(n) < 0.3
    vec = card.call_cost(f, c, w5, w1, o, batch=mask)
    loop = [card.call_cost(f[i], c[i], w5[i], w1[i], o[i], batch=bool(mask[i])) for i in range(n)]
    assert isinstance(loop[0], float)
    np.testing.assert_allclose(vec, loop, rtol=1e-12)


def test_call_cost_never_calls_the_library(monkeypatch):
    card = PriceBook(TODAY).card("google/gemini-2.5-pro")

    def boom(*a, **k):
        raise AssertionError("genai-prices called during call_cost")

    monkeypatch.setattr(genai_prices, "calc_price", boom)
    monkeypatch.setattr(genai_prices.types.ModelPrice, "calc_price", boom)
    monkeypatch.setattr(genai_prices.types.ModelInfo, "get_prices", boom)
    x = np.full(10_000, 150_000.0)
    assert card.call_cost(x, x / 10, 0, 0, x / 100).shape == (10_000,)


# ---------------------------------------------------------------------------------------------
# call_cost == genai_prices.calc_price on random usage (hypothesis)
# ---------------------------------------------------------------------------------------------

# (ref, provider, library model ref, date, batch). Batch rows use dates on which the library's
# batch variant is in force so the library prices batch too.
LIB_CASES = [
    ("anthropic/claude-sonnet-4-0", "anthropic", "claude-sonnet-4-20250514", TODAY, False),
    ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", TODAY, False),
    ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", TODAY, True),
    ("anthropic/claude-opus-4-6", "anthropic", "claude-opus-4-6", dt.date(2026, 1, 15), False),  # tiered era
    ("anthropic/claude-3-5-haiku-latest", "anthropic", "claude-3-5-haiku-latest", TODAY, False),
    ("openai/gpt-4o", "openai", "gpt-4o", TODAY, False),
    ("openai/gpt-4o", "openai", "gpt-4o", dt.date(2026, 10, 14), True),
    ("openai/gpt-5", "openai", "gpt-5", TODAY, True),
    ("openai/o3", "openai", "o3", dt.date(2025, 6, 1), False),
    ("google/gemini-2.5-pro", "google", "gemini-2.5-pro", TODAY, False),
    ("google/gemini-2.5-pro", "google", "gemini-2.5-pro", TODAY, True),
    ("google/gemini-2.5-flash", "google", "gemini-2.5-flash", TODAY, False),
    ("mistral/mistral-large-latest", "mistral", "mistral-large-latest", TODAY, False),
    ("aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", TODAY, False),
    ("deepseek/deepseek-chat", "deepseek", "deepseek-chat", TODAY, False),
]

tokens = st.integers(min_value=0, max_value=400_000)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(LIB_CASES),
    fresh=tokens,
    cached=tokens,
    w5=st.integers(0, 100_000),
    w1=st.integers(0, 100_000),
    out=st.integers(0, 100_000),
)
def test_call_cost_matches_genai_prices(case, fresh, cached, w5, w1, out):
    ref, provider, lib_ref, date, batch = case
    card = BOOK.card(ref, date)
    ours = card.call_cost(fresh, cached, w5, w1, out, batch=batch)
    # library semantics: input_tokens is the total prompt; cache counts are parts of it;
    # cache_write_tokens covers both TTLs and cache_write_1h_tokens is the 1h part of it.
    usage = Usage(
        input_tokens=fresh + cached + w5 + w1,
        cache_read_tokens=cached,
        cache_write_tokens=w5 + w1,
        cache_write_1h_tokens=w1,
        output_tokens=out,
    )
    ts = dt.datetime.combine(date, dt.time(12, 0), tzinfo=dt.UTC)
    lib = calc_price(
        usage, lib_ref, provider_id=provider, genai_request_timestamp=ts,
        price_context={"processing": "batch"} if batch else None,
    )
    # the library adds tool/request prices only when used; none are used here
    assert ours == pytest.approx(float(lib.total_price), rel=1e-9, abs=1e-12)
    # and the batch=True card tier agrees with batch=True on the standard card
    if batch:
        assert BOOK.card(ref, date, "batch").call_cost(fresh, cached, w5, w1, out) == pytest.approx(ours, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------------------------


@dataclass
class Ov:
    model: str
    input: float | None = None
    output: float | None = None
    cached_input: float | None = None
    cache_write_5m: float | None = None
    cache_write_1h: float | None = None
    batch_factor: float | None = None
    discount: float | None = None


def test_override_defines_unknown_model():
    book = PriceBook(TODAY, [Ov("acme/llm-1", input=1.0, output=4.0)])
    assert book.has("acme/llm-1")
    card = book.card("acme/llm-1")
    assert (card.provider, card.model_id, card.source) == ("acme", "llm-1", "scenario override")
    assert card.base == Rates(1.0, 1.0, 1.0, 1.0, 4.0)  # cached and cache writes default to input
    assert card.cliffs == () and card.batch_factor == 0.5
    assert card.call_cost(1e6, 0, 0, 0, 1e6) == pytest.approx(5.0)
    assert card.call_cost(1e6, 0, 0, 0, 1e6, batch=True) == pytest.approx(2.5)
    assert book.card("acme/llm-1", tier="batch").base == Rates(0.5, 0.5, 0.5, 0.5, 2.0)
    assert "acme/llm-1" in book.known_refs()
    book2 = PriceBook(TODAY, [Ov("acme/llm-2", input=2.0, output=8.0, cached_input=0.2, cache_write_5m=2.5, batch_factor=0.6)])
    c2 = book2.card("acme/llm-2")
    assert c2.base == Rates(2.0, 0.2, 2.5, 2.5, 8.0)  # 1h write defaults to the 5m write
    assert c2.batch_factor == 0.6


def test_discount_scales_all_rates_of_that_model():
    book = PriceBook(TODAY, [Ov("anthropic/claude-sonnet-4-5", discount=0.2)])
    lst, disc = BOOK.card("anthropic/claude-sonnet-4-5"), book.card("anthropic/claude-sonnet-4-5")
    assert _rates_tuple(disc.base) == pytest.approx([0.8 * r for r in _rates_tuple(lst.base)])
    assert _rates_tuple(disc.cliffs[0][1]) == pytest.approx([0.8 * r for r in _rates_tuple(lst.cliffs[0][1])])
    assert _rates_tuple(disc.batch_base) == pytest.approx([0.8 * r for r in _rates_tuple(lst.batch_base)])
    x = np.array([10_000.0, 250_000.0])
    for batch in (False, True):
        np.testing.assert_allclose(disc.call_cost(x, x, x, x, x, batch=batch), 0.8 * lst.call_cost(x, x, x, x, x, batch=batch))
    assert any("discount" in n for n in disc.notes) and "scenario override" in disc.source
    # other models untouched; alias refs resolve to the same library model and get the discount
    assert book.card("openai/gpt-4o").base == BOOK.card("openai/gpt-4o").base
    assert book.card("claude-sonnet-4-5-20250929").base == disc.base


def test_private_rates_and_batch_factor_on_library_model():
    book = PriceBook(TODAY, [Ov("anthropic/claude-sonnet-4-5", input=2.0, output=10.0), Ov("openai/gpt-4o", batch_factor=0.4)])
    card = book.card("anthropic/claude-sonnet-4-5")
    assert card.base.input == 2.0 and card.base.output == 10.0 and card.base.cached_input == 0.3
    assert card.cliffs[0][1].input == pytest.approx(4.0)  # library's 2x long-context multiplier kept
    assert card.batch_base.input == pytest.approx(1.0)
    g = book.card("openai/gpt-4o")
    assert g.batch_factor == 0.4 and g.batch_base == g.base.scaled(0.4)


def test_unknown_model_raises_with_suggestion():
    with pytest.raises(UnknownModelError) as ei:
        BOOK.card("openai/gpt-4-o")
    err = ei.value
    assert isinstance(err, LookupError)
    assert err.ref == "openai/gpt-4-o"
    assert err.suggestions[0] == "openai/gpt-4o"
    assert "openai/gpt-4o" in str(err)
    assert BOOK.suggestions("claude-sonet-4-5")[0] == "anthropic/claude-sonnet-4-5"
    assert BOOK.suggestions("google/gemini-2.5-prof")[0] == "google/gemini-2.5-pro"
    # a discount alone cannot define a model the library lacks
    with pytest.raises(UnknownModelError):
        PriceBook(TODAY, [Ov("openai/gpt-4-o", discount=0.1)])


@pytest.mark.parametrize(
    "ov",
    [Ov("acme/x", input=-1.0, output=1.0), Ov("openai/gpt-4o", discount=1.5), Ov("openai/gpt-4o", batch_factor=0.0), Ov("", input=1, output=1)],
)
def test_bad_overrides_rejected(ov):
    with pytest.raises(ValueError):
        PriceBook(TODAY, [ov])


def test_bad_tier_rejected():
    with pytest.raises(ValueError):
        BOOK.card("openai/gpt-4o", tier="priority")


# ---------------------------------------------------------------------------------------------
# Spend rises with price (hypothesis)
# ---------------------------------------------------------------------------------------------

MONO_REFS = ["anthropic/claude-sonnet-4-5", "google/gemini-2.5-pro", "openai/gpt-4o", "openai/gpt-5", "deepseek/deepseek-chat"]
factor = st.floats(min_value=1.0, max_value=10.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    ref=st.sampled_from(MONO_REFS),
    k=st.tuples(factor, factor, factor, factor, factor),
    seed=st.integers(0, 2**32 - 1),
    batch=st.booleans(),
)
def test_spend_rises_with_price(ref, k, seed, batch):
    card = BOOK.card(ref)
    up = card.map_rates(lambda r: Rates(*(v * f for v, f in zip(_rates_tuple(r), k))))
    rng = np.random.default_rng(seed)
    n = 64
    f, c, w5, w1 = (rng.integers(0, 150_000, n).astype(float) for _ in range(4))
    o = rng.integers(0, 30_000, n).astype(float)
    before = card.call_cost(f, c, w5, w1, o, batch=batch)
    after = up.call_cost(f, c, w5, w1, o, batch=batch)
    assert np.all(after >= before * (1 - 1e-12))
    assert after.sum() >= before.sum() * (1 - 1e-12)


@settings(max_examples=100, deadline=None)
@given(d1=st.floats(0.0, 1.0), d2=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_bigger_discount_never_costs_more(d1, d2, seed):
    lo, hi = sorted((d1, d2))
    ref = "google/gemini-2.5-pro"
    c_lo = PriceBook(TODAY, [Ov(ref, discount=lo)]).card(ref)
    c_hi = PriceBook(TODAY, [Ov(ref, discount=hi)]).card(ref)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 300_000, (5, 32)).astype(float)
    assert np.all(c_hi.call_cost(*x) <= c_lo.call_cost(*x) * (1 + 1e-12))


def test_ratecard_direct_construction_validates():
    with pytest.raises(ValueError):
        RateCard("a/b", "a", "b", TODAY, "standard", Rates(1, 1, 1, 1, 1), cliffs=((200, Rates(2, 2, 2, 2, 2)), (100, Rates(3, 3, 3, 3, 3))))
    with pytest.raises(ValueError):
        Rates(-1, 0, 0, 0, 0)
    card = RateCard("a/b", "a", "b", TODAY, "standard", Rates(1, 1, 1, 1, 1), cliffs=((100, Rates(2, 2, 2, 2, 2)),), batch_factor=0.5)
    assert card.batch_cliffs[0][1] == Rates(1, 1, 1, 1, 1)
    assert card.call_cost(101, 0, 0, 0, 0) == pytest.approx(202 / 1e6)
