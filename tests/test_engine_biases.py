"""Three biases of the engines, each checked against a closed form derived here by hand.

1. Kernel shared-prefix warmth: the kernel's session-weighted warmth, averaged over Poisson days,
   equals the expected-value engine's 1 − exp(−λ·TTL) per hour (it used to evaluate that formula
   at the drawn count, +7 % at 12 sessions/day).
2. Session-table sd: the sd of a session's tokens includes the per-call size draws (law of total
   variance), not only the spread of session lengths.
3. SimPy arrivals: per-user intensity heterogeneity redistributes the rate between users but
   keeps the total, so session counts are Poisson around ``expected_sessions``.

Statistical bounds are 4 standard errors estimated from the sample itself (or an exact
chi-square quantile); every target is a formula written out below, never a number read off the code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.catalog.prices import PriceBook
from sim.des.simulation import run_des
from sim.mc.kernel import (_warm_lookup, conditional_warm_tables, conditional_warmth, lone_warmth, run_kernel,
                           warm_tables)
from sim.mc.rng import path_keys
from sim.mc.sampling import shape_points
from sim.mc.tables import build_tables
from tests.conftest import chat, make

Z90 = stats.norm.ppf(0.9)

# ---- 1. kernel warmth ---------------------------------------------------------------------------

# a day profile written out here: a quiet night, a busy 8-hour day (shares sum to 1)
SHARE = np.array([0.2] * 8 + [1.0, 1.4, 1.6, 1.5, 1.0, 1.3, 1.5, 1.2] + [0.3] * 8)
SHARE = SHARE / SHARE.sum()


def _kernel_warmth(lam_day: float, calls: float, ttl: float, paths: int = 3000, days: int = 28, seed: int = 3):
    """Σ warm_num / Σ warm_den of run_kernel on one API-only workload, and its standard error.

    Paths are independent, so the ratio of totals has the delta-method standard error
    sqrt(Σ (num_i − R·den_i)² · P/(P − 1)) / Σ den_i.
    """
    P, W = paths, 1
    h = SHARE[None, :]
    out = run_kernel(path_keys(seed, np.arange(P, dtype=np.int64)), np.zeros(P, np.int64),
                     np.full((P, 1, W), lam_day), np.ones((W, days)), h, np.array([0, days], np.int64),
                     np.zeros(P), np.zeros(P), np.zeros(P), np.zeros(P, np.bool_), np.zeros(P), np.zeros(W, np.bool_),
                     np.zeros((P, W, 5)), np.zeros((P, W), np.bool_), False,
                     np.full((1, W), calls), np.zeros((1, W)), np.array([ttl]), np.ones((1, W, 2)),
                     np.ones((1, W, 2)), np.ones((1, W)), np.ones((1, W)), np.array([[True, False, False]]),
                     np.zeros((P, 1)), np.zeros((P, 1)), np.zeros(P), np.ones(P), np.zeros(P), warm_tables(h),
                     np.zeros((P, 0, W, 2)))
    num, den = out[2][:, 0, 0], out[3][:, 0, 0]
    r = num.sum() / den.sum()
    se = math.sqrt(float(((num - r * den) ** 2).sum()) * P / (P - 1)) / den.sum()
    return r, se


def _poisson_warmth(lam_day: float, calls: float, ttl: float) -> float:
    # The expected-value engine: hour h has lam_day·share_h sessions, i.e. calls arriving at
    # λ_h = lam_day·share_h·calls/3600 per second; a session starting then finds the shared prefix
    # warm with probability 1 − exp(−λ_h·TTL); weighted by sessions over the day.
    return float(np.sum(SHARE * (1.0 - np.exp(-lam_day * SHARE * calls * ttl / 3600.0))))


def _old_formula_mean(lam_day: float, calls: float, ttl: float) -> float:
    # What evaluating the formula at the drawn count n gives on average: E[n·f(n)] / E[n] over
    # n ~ Poisson(lam_day), f(n) = Σ share_h (1 − exp(−n·share_h·calls·TTL/3600)); summed over the pmf.
    n = np.arange(0, int(lam_day + 12 * math.sqrt(lam_day) + 20))
    pmf = stats.poisson.pmf(n, lam_day)
    f = (SHARE[None, :] * (1.0 - np.exp(-n[:, None] * SHARE[None, :] * calls * ttl / 3600.0))).sum(1)
    return float(np.sum(pmf * n * f) / lam_day)


# (sessions per day, calls per session, TTL s): warmth mid-range in each, and a_h = share_h·calls·TTL/3600
# below 1 in every hour (the regime where the conditional warmth is exact)
CASES = [(12.0, 3.0, 300.0), (72.0, 3.0, 300.0), (1000.0, 1.0, 30.0)]


@pytest.mark.parametrize("lam,calls,ttl", CASES)
def test_kernel_warmth_matches_poisson_formula(lam, calls, ttl):
    assert (SHARE * calls * ttl / 3600.0).max() < 1.0
    r, se = _kernel_warmth(lam, calls, ttl)
    target = _poisson_warmth(lam, calls, ttl)
    assert 0.05 < target < 0.95  # not saturated: the comparison has something to measure
    # Above 60 the kernel's Poisson is a rounded normal; summing both pmfs against the conditional
    # warmth moves E[n·w(n)]/E[n] by < 3e-5 at 72/day and < 1e-6 at 1,000/day, far below 4 SE here.
    assert abs(r - target) < 4 * se, (r, target, se)
    # and the test would have caught the old evaluation at the drawn count where it is measurable
    old = _old_formula_mean(lam, calls, ttl)
    if lam < 100:
        assert abs(old - target) > 8 * se, (old, target, se)


def test_kernel_warmth_when_one_session_covers_more_than_its_hour():
    # calls·TTL/3600 = 20: a_h = 20·share_h > 1 in the busy hours, where no bounded function of n
    # alone is unbiased (the unique unbiased one, (1 − a_h)^(n−1), alternates in sign). There the
    # kernel counts such an hour fully warm for n ≥ 2 and share_h·(1 − e^(−Λ(a_h − 1))) for a lone
    # session; its size-biased mean is (Λ − Λe^(−Λ) + Λe^(−Λ)(1 − e^(−Λ(a_h − 1))))/Λ = 1 − e^(−Λ·a_h),
    # the Poisson formula again. At 2 sessions a day lone sessions are common (P(n = 1) = 2e^(−2)).
    calls, ttl = 20.0, 3600.0
    a = SHARE * calls * ttl / 3600.0
    assert a.max() > 1.0
    for lam in (2.0, 12.0):
        r, se = _kernel_warmth(lam, calls, ttl)
        target = _poisson_warmth(lam, calls, ttl)
        assert abs(r - target) < 4 * se, (lam, r, target, se)
        # the old evaluation at the drawn count is off by much more at 2 a day
        if lam == 2.0:
            assert abs(_old_formula_mean(lam, calls, ttl) - target) > 8 * se
    # every conditional value is a probability
    for lam in (0.1, 2.0, 12.0):
        for n in range(0, 40):
            w = conditional_warmth(float(n), SHARE, calls * ttl / 3600.0, lam)
            assert 0.0 <= w <= 1.0
    assert 0.0 < lone_warmth(SHARE, 20.0, 2.0) <= SHARE[a > 1.0].sum()


def test_conditional_warmth_closed_form_and_lookup_accuracy():
    # E[n·w(n)] / Λ over the exact Poisson pmf equals the Poisson formula (generating function:
    # E[n·x^(n−1)] = Λ·exp(−Λ(1 − x)) with x = 1 − a_h), also where some a_h > 1 (beta = 20)
    for calls, ttl in ((3.0, 300.0), (20.0, 3600.0)):
        beta = calls * ttl / 3600.0
        for lam in (0.5, 2.0, 12.0, 72.0, 400.0):
            n = np.arange(0, int(lam + 15 * math.sqrt(lam) + 30))
            w = np.array([conditional_warmth(float(k), SHARE, beta, lam) for k in n])
            got = float(np.sum(stats.poisson.pmf(n, lam) * n * w) / lam)
            assert got == pytest.approx(_poisson_warmth(lam, calls, ttl), abs=1e-12)
    # the kernel's table lookup against the direct formula, from 1 to 3e9 sessions a day
    share = np.stack([SHARE, np.full(24, 1 / 24)])
    calls = np.array([[0.05, 3.0], [30.0, 1e-4], [10.0, 100.0]])
    ttl = np.array([300.0, 3600.0])
    tabs = conditional_warm_tables(share, calls, ttl)
    ns = np.unique(np.round(np.logspace(0, 9.5, 4000)))
    for t in range(3):
        for w in range(2):
            b = calls[t, w] * ttl[w] / 3600.0
            err = max(abs(_warm_lookup(*tabs, share, b, 5.0, t, w, k) - conditional_warmth(k, share[w], b, 5.0))
                      for k in ns)
            assert err < 1e-7, (t, w, err)


# ---- 2. session-table variance ------------------------------------------------------------------


def _ln(median, p90):
    return {"dist": "lognormal", "median": median, "p90": p90}


def _ln_var(median, p90, scale=1.0):
    # Var of scale·X, X lognormal with σ = ln(p90/median)/z90, μ = ln(median): (e^σ² − 1)·e^(2μ + σ²)
    s = math.log(p90 / median) / Z90
    mu = math.log(median) + math.log(scale)
    return math.expm1(s * s) * math.exp(2 * mu + s * s)


def _table(w):
    sc = make([w])
    book = PriceBook(sc.price_date, sc.prices.overrides)
    tab = build_tables(sc, shape_points(sc, 1, True), book)
    return float(tab.tok_mean[0, 0]), float(tab.tok_sd[0, 0])


U, X = (80.0, 200.0), (200.0, 500.0)  # user message and output: (median, p90) of lognormals


def test_session_sd_fixed_turns_full_history_closed_form():
    # n turns, full history. Call k (1-based) sends P + Σ_{j<k} (U_j + V_j) + U_k and bills
    # B_k = (1 + r)·X_k output, with visible V_j = X_j. Collecting terms:
    #   T = const + Σ_j (n − j + 1)·U_j + Σ_j ((n − j) + (1 + r))·X_j,
    # independent draws, so Var T = Var U·Σ_{i=1..n} i² + Var X·Σ_{h=0..n−1} (1 + r + h)².
    n, r = 6, 0.5
    m, sd = _table(chat(turns=n, user_message_tokens=_ln(*U), output_tokens=_ln(*X), reasoning_multiplier=r))
    var = _ln_var(*U) * sum(i * i for i in range(1, n + 1)) + _ln_var(*X) * sum((1 + r + h) ** 2 for h in range(n))
    assert sd == pytest.approx(math.sqrt(var), rel=1e-9)
    # with r = 0 the sums coincide: Var T = (Var U + Var X)·n(n + 1)(2n + 1)/6
    m, sd = _table(chat(turns=n, user_message_tokens=_ln(*U), output_tokens=_ln(*X)))
    assert sd == pytest.approx(math.sqrt((_ln_var(*U) + _ln_var(*X)) * n * (n + 1) * (2 * n + 1) / 6), rel=1e-9)


def test_session_sd_fixed_turns_window_closed_form():
    # window of 2 turns: turn j is re-sent by the next min(n − j, 2) calls, so its coefficients
    # are 1 + min(n − j, 2) for U and X (r = 0): for n = 6, (3, 3, 3, 3, 2, 1), Σ c² = 4·9 + 4 + 1 = 41
    m, sd = _table(chat(turns=6, user_message_tokens=_ln(*U), output_tokens=_ln(*X),
                        history={"policy": "window", "window_turns": 2}))
    assert sd == pytest.approx(math.sqrt(41 * (_ln_var(*U) + _ln_var(*X))), rel=1e-9)


# -- an independent slow simulation: sessions drawn directly with numpy, the anatomy written out --


def _lognormal(rng, median, p90, size):
    return rng.lognormal(math.log(median), math.log(p90 / median) / Z90, size)


def _sim_chat(rng, S, n, prefix, u_spec, x_spec, r=0.0, cap=math.inf, policy="full", window=6, summ=400.0):
    """Tokens (prompts + billed output) of S chat sessions of n[i] turns, as the demand simulation runs them."""
    N = int(n.max())
    u = _lognormal(rng, *u_spec, (S, N))
    billed = np.minimum((1 + r) * _lognormal(rng, *x_spec, (S, N)), cap)
    vis = billed / (1 + r)
    turn = u + vis
    cum = np.concatenate([np.zeros((S, 1)), np.cumsum(turn, axis=1)], axis=1)  # cum[:, k] = turns < k
    tot = np.zeros(S)
    for k in range(N):
        alive = k < n
        hist = cum[:, k].copy()
        lo = k - window
        if policy != "full" and lo > 0:
            hist = cum[:, k] - cum[:, lo]  # the last `window` turns
            if policy == "summary":
                if window >= 1 and (lo - 1) % window == 0:
                    tot += alive * (summ + hist + summ)  # refresh call: old summary + window in, summary out
                hist = hist + summ
        tot += alive * (prefix + hist + u[:, k] + billed[:, k])
    return tot


def _check(sample, m_table, sd_table):
    S = sample.size
    mu, s2 = sample.mean(), sample.var(ddof=1)
    m4 = np.mean((sample - mu) ** 4)
    assert abs(mu - m_table) < 4 * math.sqrt(s2 / S), (mu, m_table)
    assert abs(s2 - sd_table ** 2) < 4 * math.sqrt((m4 - s2 * s2) / S), (math.sqrt(s2), sd_table)


@pytest.mark.parametrize("case", ["full_cap", "window", "summary", "random_turns"])
def test_session_sd_agrees_with_direct_simulation_chat(case):
    rng = np.random.default_rng(11)
    S = 120_000
    kw = dict(user_message_tokens=_ln(*U), output_tokens=_ln(*X), system_prompt_tokens=500)
    if case == "full_cap":
        w = chat(turns=8, reasoning_multiplier=1.0, levers={"output_cap_tokens": 700}, **kw)
        tot = _sim_chat(rng, S, np.full(S, 8), 500.0, U, X, r=1.0, cap=700.0)
    elif case == "window":
        w = chat(turns=9, history={"policy": "window", "window_turns": 3}, **kw)
        tot = _sim_chat(rng, S, np.full(S, 9), 500.0, U, X, policy="window", window=3)
    elif case == "summary":
        w = chat(turns=11, history={"policy": "summary", "window_turns": 3, "summary_tokens": 300}, **kw)
        tot = _sim_chat(rng, S, np.full(S, 11), 500.0, U, X, policy="summary", window=3, summ=300.0)
    else:
        # session lengths N = max(1, round(L)), L lognormal: both variance terms at once
        w = chat(turns=_ln(4, 8), **kw)
        n = np.clip(np.rint(_lognormal(rng, 4, 8, S)), 1, 1000).astype(int)
        tot = _sim_chat(rng, S, n, 500.0, U, X)
    m, sd = _table(w)
    _check(tot, m, sd)


def test_session_sd_agrees_with_direct_simulation_agent_and_batch():
    rng = np.random.default_rng(12)
    S = 120_000
    R, XA, sub_p, sub_n, steps = (600.0, 1500.0), (150.0, 400.0), 0.3, 2, 5
    base = 500.0 + 300.0  # system prompt + task prompt
    w = {"name": "a", "kind": "agent", "business_unit": "bu", "tasks_per_user_per_day": 1, "steps": steps,
         "system_prompt_tokens": 500, "task_prompt_tokens": 300, "tool_result_tokens": _ln(*R),
         "output_tokens": _ln(*XA), "subagents": {"probability_per_step": sub_p, "steps": sub_n},
         "levers": {"compression": 0.5}, "models": {"api": "acme/m1"}}

    def run_steps(k, size):
        # step i sends base + Σ_{j<i} (visible output + compressed tool result); bills its output
        b = _lognormal(rng, *XA, (size, k))
        tr = 0.5 * _lognormal(rng, *R, (size, k))
        grow = np.concatenate([np.zeros((size, 1)), np.cumsum(b + tr, axis=1)[:, :-1]], axis=1)
        return (base + grow + b).sum(1)

    tot = run_steps(steps, S)
    spawn = rng.random((S, steps)) < sub_p  # after each step, a sub-agent of sub_n steps
    k = int(spawn.sum())
    tot += np.bincount(np.nonzero(spawn)[0], weights=run_steps(sub_n, k), minlength=S)
    _check(tot, *_table(w))

    D, XB = (3000.0, 9000.0), (300.0, 800.0)
    w = {"name": "b", "kind": "batch", "business_unit": "bu", "documents_per_user_per_day": 1,
         "calls_per_document": 3, "system_prompt_tokens": 200, "input_tokens_per_document": _ln(*D),
         "output_tokens": _ln(*XB), "models": {"api": "acme/m1"}}
    # T = 3·(prefix + D) + Σ_3 B: one document, three calls
    tot = 3 * (200.0 + _lognormal(rng, *D, S)) + _lognormal(rng, *XB, (S, 3)).sum(1)
    m, sd = _table(w)
    _check(tot, m, sd)
    assert sd == pytest.approx(math.sqrt(9 * _ln_var(*D) + 3 * _ln_var(*XB)), rel=1e-9)


# ---- 3. SimPy arrival rate ----------------------------------------------------------------------


def test_des_session_count_is_poisson_around_expected_sessions_with_heterogeneous_users():
    # 96 users, σ = 0.8, 10 sessions per user-day, one day, always-on profile. The intensities only
    # decide which user starts a session, so the day's count is Poisson(expected_sessions) for
    # every seed: over 40 seeds Σ (n − e)²/e ~ χ²(40) and Σ n ~ Poisson(40·e).
    sc = make([chat(sessions_per_user_per_day=10)],
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 96}, "intensity_sigma": 0.8}])
    seeds = 40
    counts, users = [], []
    for seed in range(seeds):
        res = run_des(sc, days=1, seed=seed, keep_requests=False)
        e = res.summary["expected_sessions"]["c"]
        counts.append(len(res.sessions["c"]))
        users.append(np.bincount(res.sessions["c"]["user"].to_numpy(int), minlength=96))
    counts = np.asarray(counts, float)
    assert e == pytest.approx(96 * 10)
    assert abs(counts.sum() - seeds * e) < 4 * math.sqrt(seeds * e)
    chi2 = float(((counts - e) ** 2 / e).sum())
    assert chi2 < stats.chi2.ppf(1 - 1e-4, seeds), chi2
    # heterogeneity is still there: a user's count is Poisson(10·I) with I lognormal(mean 1, σ),
    # index of dispersion 1 + 10·(e^σ² − 1) ≈ 9.0; Poisson users would give 1
    per_user = np.concatenate(users)
    assert per_user.var() / per_user.mean() > 4.0
