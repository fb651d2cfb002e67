"""The capacity and queueing model of provisioned pools (sim.pools.capacity, sim.pools.queueing)
against closed forms, hand counts and monotonicity (issue 12, Checks).

Simulation error. A queue's waits are autocorrelated, so the i.i.d. standard error s/√n would be
far too small. Batch means: split the N waits (arrival order) into B = 50 consecutive batches of
N/B; for batches much longer than the queue's relaxation time their means are nearly independent,
each with the variance of the long-run mean times B, so SE = sd(batch means)/√B estimates the
standard error of the overall mean. With B = 50 the SE is itself known to ±10 % (√(1/(2(B−1)))),
so |mean − closed form| < 4·SE is a ~4σ test. Checked over 40 other seeds for the three queues
below: (mean − closed form)/SE had mean ≈ 0, sd 1.05-1.3 (the batch-means SE runs a little small:
49 degrees of freedom, residual correlation between batches) and max |z| 3.1, so 4·SE is about
3σ of the real error, a chance failure of a few in 1,000; the seeds are fixed, so the test is
deterministic. Each test also checks that the SE is small against the closed form, so a noisy
simulation cannot pass vacuously. The queues start empty; at the loads used the transient lasts
tens of arrivals out of 200,000 (bias ~1e-4 of Wq).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sim.pools.capacity import window_requirements
from sim.pools.queueing import (HEAP_MIN_SERVERS, BaselineLatency, _kw_heap, _kw_scan, fifo_servers,
                                fifo_single, latency, percentiles, pool_waits, slo_share, spill)
from sim.pools.resources import ApiLatency

N = 200_000
B = 50
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def batch_means(x: np.ndarray, b: int = B) -> tuple[float, float]:
    """(mean, batch-means standard error) of the series x."""
    m = x[: (x.size // b) * b].reshape(b, -1).mean(axis=1)
    return float(x.mean()), float(m.std(ddof=1) / math.sqrt(b))


def poisson_arrivals(rng, lam: float, n: int = N) -> np.ndarray:
    return np.cumsum(rng.exponential(1.0 / lam, n))


def erlang_c(c: int, a: float) -> float:
    """P(wait > 0) in M/M/c with offered load a = λ/μ < c (the standard Erlang C formula)."""
    rho = a / c
    top = a**c / math.factorial(c) / (1.0 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


# ---- closed forms ---------------------------------------------------------------------------


def test_md1_mean_wait_is_pollaczek_khinchine():
    # M/D/1, λ = 1, S = 0.7: ρ = 0.7, Wq = ρS / (2(1 − ρ)) = 0.49 / 0.6 = 0.8167 s.
    # Served as a pool of 2 units with 1.4 unit-seconds per request (service S = 1.4 / 2), which
    # also checks the fluid rule service = unit_seconds / units.
    rng = np.random.default_rng(12)
    t = poisson_arrivals(rng, 1.0)
    lam, S = 1.0, 0.7
    rho = lam * S
    wq = rho * S / (2.0 * (1.0 - rho))
    w = pool_waits(t, np.full(N, 1.4), 2)
    mean, se = batch_means(w)
    assert np.array_equal(w, fifo_single(t, np.full(N, S)))
    assert se < 0.03 * wq  # the SE is informative (here ~1.5 % of Wq)
    assert abs(mean - wq) < 4 * se, (mean, wq, se)


def test_mm1_mean_wait():
    # M/M/1, λ = 1, μ = 1/0.7: ρ = 0.7, Wq = ρ / (μ − λ) = 0.7 / (0.4286) = 1.6333 s.
    rng = np.random.default_rng(13)
    lam, mu = 1.0, 1.0 / 0.7
    t = poisson_arrivals(rng, lam)
    w = fifo_single(t, rng.exponential(1.0 / mu, N))
    wq = (lam / mu) / (mu - lam)
    mean, se = batch_means(w)
    assert se < 0.04 * wq
    assert abs(mean - wq) < 4 * se, (mean, wq, se)


def test_mmc_erlang_c():
    # M/M/4 at ρ = 0.8: λ = 1, μ = λ / (cρ) = 0.3125, a = λ/μ = 3.2. Erlang C gives
    # P(wait > 0) = C(4, 3.2) = 0.5964 and Wq = C / (cμ − λ) = C / 0.25 = 2.386 s. Both are means
    # (of the indicator wait > 0 and of the wait), so both get a batch-means SE.
    rng = np.random.default_rng(14)
    c, lam, rho = 4, 1.0, 0.8
    mu = lam / (c * rho)
    t = poisson_arrivals(rng, lam)
    w = fifo_servers(t, rng.exponential(1.0 / mu, N), c)
    C = erlang_c(c, lam / mu)
    wq = C / (c * mu - lam)
    pw, se_p = batch_means((w > 0).astype(float))
    mean, se = batch_means(w)
    assert se_p < 0.02 * C and se < 0.05 * wq
    assert abs(pw - C) < 4 * se_p, (pw, C, se_p)
    assert abs(mean - wq) < 4 * se, (mean, wq, se)


@pytest.mark.parametrize("c", [2, HEAP_MIN_SERVERS + 8])
def test_mmc_scan_and_heap_agree(c):
    rng = np.random.default_rng(c)
    t = poisson_arrivals(rng, 1.0, 20_000)
    s = rng.exponential(0.9 * c, t.size)
    assert np.array_equal(_kw_scan(t, s, c), _kw_heap(t, s, c))


# ---- deterministic streams: exact ------------------------------------------------------------


def test_deterministic_stream_below_capacity_never_waits():
    # equal spacing Δ = 0.5 s, S = 0.375 < Δ: each request finds the server idle, W ≡ 0 exactly
    t = np.arange(10_000) * 0.5
    assert not fifo_single(t, np.full(t.size, 0.375)).any()
    assert not pool_waits(t, np.full(t.size, 0.75), 2).any()  # 0.75 unit-seconds on 2 units
    # c servers: each sees every c-th request, so S < cΔ is below capacity
    assert not fifo_servers(t, np.full(t.size, 1.375), 3).any()
    assert not fifo_servers(t, np.full(t.size, 0.5 * HEAP_MIN_SERVERS - 0.125), HEAP_MIN_SERVERS).any()


def test_deterministic_stream_above_capacity_grows_linearly():
    # S = 0.75 > Δ = 0.5: W_n = W_{n−1} + S − Δ = n·(S − Δ) = 0.25·n (dyadic numbers: exact)
    n = np.arange(10_000)
    w = fifo_single(n * 0.5, np.full(n.size, 0.75))
    assert np.array_equal(w, 0.25 * n)
    # 2 servers, S = 1.25 > 2Δ: request n waits on server n mod 2, which falls behind by
    # S − 2Δ = 0.25 per request it serves: W_n = floor(n / 2)·0.25
    w2 = fifo_servers(n * 0.5, np.full(n.size, 1.25), 2)
    assert np.array_equal(w2, (n // 2) * 0.25)


# ---- window requirements: a hand count -------------------------------------------------------


def test_window_requirements_hand_count():
    t = np.array([0.2, 0.7, 1.1, 3.4, 3.9, 5.5])
    us = np.array([0.5, 1.0, 0.25, 2.0, 0.75, 1.5])
    r = window_requirements(t, us, windows=(1, 5))
    # 1 s windows [0,1) .. [5,6): 0.5+1.0, 0.25, none, 2.0+0.75, none, 1.5 unit-seconds / 1 s
    one = r[1]
    assert one.n_windows == 6 and one.start_s == 0.0
    assert one.series.tolist() == [1.5, 0.25, 0.0, 2.75, 0.0, 1.5]
    assert one.max == 2.75 and one.mean == pytest.approx(6.0 / 6)
    # sorted [0, 0, 0.25, 1.5, 1.5, 2.75]: the p50 is the 3rd value (3/6 ≤ it), p95 the 6th
    assert (one.p50, one.p95, one.p99, one.p999) == (0.25, 2.75, 2.75, 2.75)
    assert one.overload_probability(1.5) == pytest.approx(1 / 6)  # only 2.75 exceeds 1.5
    assert one.overload_probability(0.0) == pytest.approx(4 / 6)  # the two empty windows do not
    assert one.overload_probability(np.array([-1.0, 0.2, 3.0])).tolist() == pytest.approx([1.0, 4 / 6, 0.0])
    assert one.units_for(1 / 6) == 1.5 and one.units_for(0.0) == 2.75 and one.units_for(0.5) == 0.25
    # 5 s windows [0,5), [5,10): (0.5 + 1 + 0.25 + 2 + 0.75) / 5 = 0.9 and 1.5 / 5 = 0.3
    assert r[5].series.tolist() == pytest.approx([0.9, 0.3])
    assert r[5].max == pytest.approx(0.9)


def test_windows_are_anchored_at_zero_and_span_first_to_last_arrival():
    t = np.array([103.4, 103.9, 105.5])
    r = window_requirements(t, np.array([2.0, 0.75, 1.5]), windows=(1, 60))
    assert r[1].start_s == 103.0 and r[1].series.tolist() == [2.75, 0.0, 1.5]
    assert r[60].start_s == 60.0 and r[60].series.tolist() == pytest.approx([4.25 / 60])
    empty = window_requirements(np.zeros(0), np.zeros(0))
    assert empty[1].n_windows == 0 and empty[1].overload_probability(1.0) == 0.0


def test_window_requirements_million_requests_is_fast():
    import time

    rng = np.random.default_rng(3)
    t = poisson_arrivals(rng, 300.0, 1_000_000)
    us = rng.lognormal(-3.0, 1.0, t.size)
    t0 = time.perf_counter()
    r = window_requirements(t, us)
    dt = time.perf_counter() - t0
    assert dt < 1.0, dt
    for L, s in r.items():  # the work is conserved whatever the window
        assert s.series.sum() * L == pytest.approx(us.sum(), rel=1e-9)


# ---- latency, percentiles, SLO share --------------------------------------------------------


def test_latency_baseline_hand_values_and_defaults():
    m = BaselineLatency()
    api = ApiLatency()
    assert (m.base_s, m.prefill_tok_s, m.decode_tok_s) == (api.ttft_base_s, api.prefill_tok_s, api.decode_tok_s)
    m = BaselineLatency(0.25, 10_000.0, 50.0)
    ttft, e2e = latency(np.array([0.0, 1.0]), [2_000, 0], [100, 25], [0.5, 0.0], m)
    assert ttft.tolist() == pytest.approx([0.25 + 0.2 + 0.5, 0.25])
    assert e2e.tolist() == pytest.approx([0.95 + 2.0, 0.25 + 0.5])


def test_percentiles_and_slo_share_agree():
    x = np.arange(1, 101, dtype=float)  # 1..100
    p = percentiles(x, (50, 95, 99))
    assert p == {50: 50.0, 95: 95.0, 99: 99.0}
    assert slo_share(x, 99.0) == 0.99 and slo_share(x, 98.9) == 0.98


# ---- spill ------------------------------------------------------------------------------------


def test_spill_nothing_when_below_gaps_with_zero_queue():
    t = np.arange(1000) * 0.5
    spilled, w = spill(t, np.full(t.size, 0.8), 2, 0.0)  # service 0.4 s < gaps 0.5 s
    assert not spilled.any() and w.size == t.size and not w.any()


def test_spill_burst_hand_count():
    # five requests at t = 0 and one at t = 10, 1 unit-second each.
    t = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 10.0])
    us = np.ones(6)
    # 1 unit, limit 2 s: backlogs on arrival 0, 1, 2 (admitted: ≤ 2), 3, 3 (spilled: > 2; a
    # spilled request adds no work), then at t = 10 the pool is idle again: admitted, wait 0.
    spilled, w = spill(t, us, 1, 2.0)
    assert spilled.tolist() == [False, False, False, True, True, False]
    assert w.tolist() == [0.0, 1.0, 2.0, 0.0]
    # 2 units (0.5 s each), limit 1 s: waits 0, 0.5, 1.0 admitted, 1.5 and 1.5 spilled
    spilled, w = spill(t, us, 2, 1.0)
    assert spilled.tolist() == [False, False, False, True, True, False]
    assert w.tolist() == [0.0, 0.5, 1.0, 0.0]
    # no units: everything goes to pay-go; no limit: the plain queue
    assert spill(t, us, 0, 5.0)[0].all()
    s_inf, w_inf = spill(t, us, 1, math.inf)
    assert not s_inf.any() and np.array_equal(w_inf, pool_waits(t, us, 1))


# ---- monotonicity (property tests) -----------------------------------------------------------

gaps = st.lists(st.floats(0.0, 2.0, allow_nan=False), min_size=1, max_size=60)


@st.composite
def streams(draw):
    g = draw(gaps)
    n = len(g)
    s = draw(st.lists(st.floats(0.0, 3.0, allow_nan=False), min_size=n, max_size=n))
    return np.cumsum(np.array(g)), np.array(s)


@SETTINGS
@given(streams(), st.floats(0.1, 8.0), st.floats(1.0, 4.0))
def test_more_units_never_raise_any_wait(ts, units, k):
    t, us = ts
    lo, hi = pool_waits(t, us, units * k), pool_waits(t, us, units)
    assert (lo <= hi).all()
    assert (fifo_single(t, us / (units * k)) <= fifo_single(t, us / units)).all()


@SETTINGS
@given(streams(), st.integers(1, 40))
def test_one_more_server_never_raises_a_wait(ts, c):
    t, s = ts
    a, b = fifo_servers(t, s, c + 1), fifo_servers(t, s, c)
    assert (a <= b + 1e-12).all()  # per request (Wolff), hence in total
    assert a.sum() <= b.sum() + 1e-9


@SETTINGS
@given(streams(), st.integers(2, 40))
def test_scan_and_heap_are_the_same_queue(ts, c):
    t, s = ts
    assert np.array_equal(_kw_scan(t, s, c), _kw_heap(t, s, c))


@SETTINGS
@given(streams(), st.sampled_from([0.5, 1.0, 5.0]), st.floats(0.0, 100.0), st.floats(0.0, 100.0))
def test_a_higher_percentile_never_needs_fewer_units(ts, L, q1, q2):
    t, us = ts
    q1, q2 = sorted((q1, q2))
    s = window_requirements(t, us, windows=(L,))[L]
    assert s.quantile(q1) <= s.quantile(q2)
    assert s.units_for(1 - q1 / 100) <= s.units_for(1 - q2 / 100)
    assert s.p50 <= s.p95 <= s.p99 <= s.p999 <= s.max
    # buying the q-th percentile keeps the overload share within 1 − q
    assert s.overload_probability(s.quantile(q2)) <= 1 - q2 / 100 + 1e-9


@SETTINGS
@given(streams(), st.floats(50.0, 100.0), st.floats(50.0, 100.0), st.floats(0.0, 3.0))
def test_a_higher_latency_percentile_never_needs_fewer_units(ts, q1, q2, slo):
    # brute force over unit counts 1..64: the fewest units whose q-th percentile wait ≤ slo
    t, us = ts
    q1, q2 = sorted((q1, q2))

    def need(q):
        for u in range(1, 65):
            if percentiles(pool_waits(t, us, u), (q,))[q] <= slo:
                return u
        return 65

    assert need(q1) <= need(q2)


@SETTINGS
@given(streams(), st.floats(0.0, 4.0))
def test_spill_admits_within_the_limit(ts, limit):
    t, us = ts
    spilled, w = spill(t, us, 1.0, limit)
    assert w.size == (~spilled).sum() and (w <= limit).all()
    assert not spilled[0]  # the first request finds an idle pool
