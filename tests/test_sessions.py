"""Session anatomy against hand derivations: history growth, windows, caching, cliffs, caps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.catalog.prices import PriceBook
from sim.demand.sessions import CacheParams, ChatParams, chat_calls
from sim.expected.session import expected_session, length_pmf
from sim.scenario.distributions import LogNormal
from tests.conftest import chat, make

P, U, O = 1200.0, 80.0, 300.0


def test_forty_turn_full_history_is_quadratic():
    c = chat_calls(40, ChatParams(P, U, O, O, 0.0, "full"), CacheParams())
    # call k re-sends every earlier turn: P + (k − 1)(U + O) + U
    assert c.prompt[-1] == P + 39 * (U + O) + U == 16100.0
    # Σ_k [P + U + (k − 1)(U + O)] = 40(P + U) + (U + O)·(0 + 1 + … + 39) = 40·1280 + 380·780
    assert c.prompt.sum() == 40 * (P + U) + (U + O) * 780 == 347600.0
    assert c.output.sum() == 40 * O


def test_sliding_window_is_linear():
    c = chat_calls(40, ChatParams(P, U, O, O, 0.0, "window", window=6), CacheParams())
    assert c.prompt[-1] == P + 6 * (U + O) + U
    # kept turns: 0,1,…,6 then 6 for the remaining 33 calls → 21 + 198 = 219
    assert c.prompt.sum() == 40 * (P + U) + (U + O) * 219
    # doubling the session roughly doubles (not quadruples) the input once the window is full
    c80 = chat_calls(80, ChatParams(P, U, O, O, 0.0, "window", window=6), CacheParams())
    assert c80.prompt.sum() == 80 * (P + U) + (U + O) * (21 + 73 * 6)


def test_summary_policy_adds_refresh_calls():
    c = chat_calls(10, ChatParams(P, U, O, O, 0.0, "summary", window=3, summary_tokens=200), CacheParams())
    # turns 5..10 carry the summary; 7 turns dropped out of a window of 3 → ceil(6/3) = 2 refresh calls
    assert c.n == 12
    assert c.prompt[4] == P + 3 * (U + O) + 200 + U
    assert c.output[-1] == 200 and c.prompt[-1] == 200 + 3 * (U + O)


def test_prompt_cache_arithmetic_by_hand():
    # Sonnet 4.5: $3 in, $0.30 cache read, $3.75 5-min write, $15 out (pricing-ecosystem.md §1.3)
    card = PriceBook(dt.date(2026, 11, 22)).card("anthropic/claude-sonnet-4-5")
    sc = make([chat(turns=3, system_prompt_tokens=2000, think_time_s=0, models={"api": "anthropic/claude-sonnet-4-5"},
                    levers={"prompt_cache": {"enabled": True, "ttl": "5m", "min_tokens": 1024,
                                             "shared_prefix": False}})])
    w = sc.workloads[0]
    es = expected_session(w, {"anthropic/claude-sonnet-4-5": card}, 0.0)
    use = es.api["anthropic/claude-sonnet-4-5"]
    # call 1: 2100 written; call 2: 2400 prompt, reads 2000+100 of call 1, writes 300;
    # call 3: 2700 prompt, reads 2000+300+100, writes 300
    assert use.cached == 2100 + 2400
    assert use.write == 2100 + 300 + 300
    assert use.fresh == 0
    assert use.cost == pytest.approx((4500 * 0.30 + 2700 * 3.75 + 600 * 15) / 1e6, rel=1e-12)


def test_prompt_cache_minimum_size_blocks_small_prefixes():
    card = PriceBook(dt.date(2026, 11, 22)).card("anthropic/claude-sonnet-4-5")
    sc = make([chat(turns=3, think_time_s=0, models={"api": "anthropic/claude-sonnet-4-5"},
                    levers={"prompt_cache": {"enabled": True, "min_tokens": 1024, "shared_prefix": False}})])
    use = expected_session(sc.workloads[0], {"anthropic/claude-sonnet-4-5": card}, 0.0).api[
        "anthropic/claude-sonnet-4-5"]
    # prompts 600, 900 are below 1,024: no cache; call 3 (1,200) is written whole, its reusable
    # prefix (900) is below the minimum so nothing is read
    assert (use.fresh, use.cached, use.write) == (1500, 0, 1200)
    assert use.cost == pytest.approx((1500 * 3 + 1200 * 3.75 + 600 * 15) / 1e6, rel=1e-12)


def test_one_hour_ttl_uses_the_one_hour_write_rate():
    card = PriceBook(dt.date(2026, 11, 22)).card("anthropic/claude-sonnet-4-5")
    sc = make([chat(turns=1, system_prompt_tokens=2000, models={"api": "anthropic/claude-sonnet-4-5"},
                    levers={"prompt_cache": {"enabled": True, "ttl": "1h", "shared_prefix": False}})])
    use = expected_session(sc.workloads[0], {"anthropic/claude-sonnet-4-5": card}, 0.0).api[
        "anthropic/claude-sonnet-4-5"]
    assert use.cost == pytest.approx((2100 * 6.0 + 200 * 15) / 1e6, rel=1e-12)


def test_long_context_cliff_is_per_call_not_per_session():
    # Sonnet 4.5 re-prices a request above 200k prompt tokens at $6/$22.50; a session of many
    # 150k calls stays at base rates although its total input is far above 200k.
    card = PriceBook(dt.date(2026, 11, 22)).card("anthropic/claude-sonnet-4-5")
    sc = make([chat(turns=3, system_prompt_tokens=150_000, user_message_tokens=0, output_tokens=0,
                    history={"policy": "window", "window_turns": 0},
                    models={"api": "anthropic/claude-sonnet-4-5"})])
    use = expected_session(sc.workloads[0], {"anthropic/claude-sonnet-4-5": card}, 0.0).api[
        "anthropic/claude-sonnet-4-5"]
    assert use.cost == pytest.approx(3 * 150_000 * 3.0 / 1e6)
    sc2 = make([chat(turns=1, system_prompt_tokens=201_000, user_message_tokens=0, output_tokens=1000,
                     models={"api": "anthropic/claude-sonnet-4-5"})])
    use2 = expected_session(sc2.workloads[0], {"anthropic/claude-sonnet-4-5": card}, 0.0).api[
        "anthropic/claude-sonnet-4-5"]
    assert use2.cost == pytest.approx((201_000 * 6.0 + 1000 * 22.5) / 1e6)


def test_output_cap_uses_the_capped_mean():
    # E[min(X, c)] for a lognormal against a brute-force sample mean
    d = LogNormal(dist="lognormal", median=300, p90=1200)
    x = d.sample(np.random.default_rng(1), 2_000_000)
    assert d.mean_capped(800) == pytest.approx(np.minimum(x, 800).mean(), rel=3e-3)


def test_expected_session_over_random_turns_matches_exact_sum():
    # quadratic growth: E[f(N)] from the length pmf equals the exact sum over P(N = k), computed
    # independently from the lognormal CDF: N = max(1, round(X)), P(N = k) = F(k + ½) − F(k − ½)
    from scipy import stats

    sc = make([chat(turns={"dist": "lognormal", "median": 4, "p90": 15})])
    w = sc.workloads[0]
    book = PriceBook(dt.date(2027, 2, 1), sc.prices.overrides)
    es = expected_session(w, {"acme/m1": book.card("acme/m1")}, 0.0)
    mu, s = np.log(4), np.log(15 / 4) / stats.norm.ppf(0.9)
    k = np.arange(1, 500_000, dtype=float)
    cdf = stats.norm.cdf((np.log(k + 0.5) - mu) / s)
    p = np.diff(np.concatenate([[0.0], cdf]))
    # full history, no cache: session input = n(P+U) + (U+O)·n(n−1)/2
    exact = float(np.sum(p * (k * 600 + 300 * k * (k - 1) / 2)))
    assert es.api["acme/m1"].input_total == pytest.approx(exact, rel=2e-3)
    # and a brute-force sample agrees within its (heavy-tailed) sampling error
    n = np.maximum(1, np.rint(w.turns.sample(np.random.default_rng(7), 400_000)))
    x = n * 600 + 300 * n * (n - 1) / 2
    assert abs(x.mean() - exact) < 5 * x.std() / np.sqrt(x.size)
    vals, probs = length_pmf(w.turns)
    assert probs.sum() == pytest.approx(1.0) and vals.min() >= 1
