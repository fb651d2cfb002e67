"""Tests of the demand simulation (sim.des.simulation) and its parts: caches, retries, pools.

Each statistical test states its bound: the tolerance is a multiple (4) of the standard error
estimated from the simulated sample itself, or a fixed relative tolerance whose confidence
interval the test also checks is well inside it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import simpy

from sim.catalog.hardware import load_hardware
from sim.catalog.prices import PriceBook
from sim.demand.caches import PrefixCache, split_prompt
from sim.demand.retry import ERROR, INVALID, OK, TIMEOUT, RetryPolicy
from sim.demand.sessions import AgentParams, CacheParams, ChatParams, agent_calls, chat_calls
from sim.checks import require_servable as validate_pools
from sim.des.simulation import replay_trace, run_des
from sim.demand.kinds import billed_output, rag_tokens, tool_prefix
from sim.expected.session import expected_session
from sim.pools.api import alpha_components
from sim.pools.resources import GpuPool, TokenBucket, gpu_pool_from_curve, interactivity_at_concurrency, slo_slots
from sim.scenario import load_scenario, load_scenario_text, set_path
from sim.scenario.distributions import mean_of

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "default.yaml"
TRACE = REPO / "calibration" / "traces" / "azure_conv_2023.csv"

BASE = """
name: t
horizon: {{start: 2027-01, months: 3}}
seed: 11
prices: {{date: 2026-11-01}}
activity: {{preset: always_on}}
business_units:
  - name: bu
    users: {{curve: fixed, ceiling: {users}}}
    intensity_sigma: 0
workloads:
{workloads}
{pools}
"""


def scenario(workloads: str, users: int = 100, pools: str = ""):
    return load_scenario_text(BASE.format(users=users, workloads=workloads, pools=pools))


CHAT = """
  - name: chat
    kind: chat
    business_unit: bu
    sessions_per_user_per_day: {rate}
    models: {{api: anthropic/claude-sonnet-4-5}}
    turns: {turns}
    output_tokens: 200
    user_message_tokens: 80
    system_prompt_tokens: 1000
    think_time_s: 30
    history: {{policy: {policy}, window_turns: 4, summary_tokens: 300}}
    retry: {retry}
"""


# ---- caches -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lam,ttl", [(1 / 300.0, 300.0), (1 / 100.0, 60.0), (0.02, 300.0)])
def test_prefix_cache_poisson_hit_rate(lam, ttl):
    """Poisson arrivals at rate λ to one prefix with TTL τ hit with probability 1 − e^(−λτ)."""
    rng = np.random.default_rng(5)
    n = 200_000
    t = np.cumsum(rng.exponential(1.0 / lam, n))
    cache = PrefixCache(ttl, min_tokens=1024)
    hits = sum(cache.access("sys", 2000.0, x) > 0 for x in t.tolist())
    p = 1.0 - math.exp(-lam * ttl)
    se = math.sqrt(p * (1 - p) / n)
    assert abs(hits / n - p) < 4 * se + 1.0 / n
    assert cache.hit_rate == pytest.approx(hits / n)


def test_cache_rules():
    c = PrefixCache(300.0, min_tokens=1024)
    assert c.access("a", 500.0, 0.0) == 0.0  # below the minimum: never stored
    assert c.access("a", 500.0, 1.0) == 0.0
    assert c.access("b", 2000.0, 0.0) == 0.0
    assert c.access("b", 2000.0, 300.0) == 2000.0  # within the TTL (inclusive), refreshes
    assert c.access("b", 2000.0, 599.0) == 2000.0
    assert c.access("b", 2000.0, 900.0) == 0.0  # expired
    assert split_prompt(800.0, 0.0, 1024) == (800.0, 0.0, 0.0)
    assert split_prompt(5000.0, 1500.0, 1024) == (0.0, 1500.0, 3500.0)
    assert split_prompt(5000.0, 900.0, 1024) == (0.0, 0.0, 5000.0)


# ---- retries ----------------------------------------------------------------------------------


def test_retry_outcomes_and_backoff():
    pol = RetryPolicy(0.1, 0.2, 0.5, 0.05, 4, 1.0, 8.0)
    u = np.random.default_rng(1).random(200_000)
    oc = np.array([pol.outcome(x) for x in u.tolist()])
    for code, p in ((ERROR, 0.1), (TIMEOUT, 0.2), (INVALID, 0.05), (OK, 0.65)):
        share = (oc == code).mean()
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / u.size)
    assert pol.backoff(1, 0.999) < 1.0 and pol.backoff(3, 1.0) == 4.0 and pol.backoff(10, 1.0) == 8.0


def test_unlimited_retries_mean_attempts():
    """Failure probability p, (practically) unlimited attempts: mean attempts = 1/(1 − p)."""
    p = 0.3
    sc = scenario(CHAT.format(rate=20, turns=5, policy="full", retry=f"{{error_rate: {p}, max_attempts: 100}}"),
                  users=200)
    res = run_des(sc, days=1.0)
    req = res.requests
    n_calls = int((req["attempt"] == 1).sum())
    mean_attempts = len(req) / n_calls
    se = math.sqrt(p / (1 - p) ** 2 / n_calls)
    assert n_calls > 15_000
    assert abs(mean_attempts - 1 / (1 - p)) < 4 * se
    assert res.summary["retries"] == len(req) - n_calls
    # errors bill nothing: alpha is exactly 1 in expectation (every call succeeds once)
    assert res.summary["alpha"] == pytest.approx(1.0, abs=1e-9)


def test_retry_mix_matches_alpha_components():
    """Errors, timeouts and validation failures with 3 attempts: attempts and billed multipliers per
    call agree with sim.pools.api.alpha_components; alpha (tokens) with its expectation."""
    e, t, v, share, m = 0.1, 0.1, 0.1, 0.5, 3
    sc = scenario(CHAT.format(rate=20, turns=5, policy="full",
                              retry=f"{{error_rate: {e}, timeout_rate: {t}, validation_failure_rate: {v}, "
                                    f"timeout_output_share: {share}, max_attempts: {m}}}"), users=200)
    res = run_des(sc, days=1.0)
    req = res.requests
    call = np.cumsum(req["attempt"].to_numpy() == 1)  # attempts of a call are consecutive rows
    oc = req["outcome"].astype(str).to_numpy()
    per = pd.DataFrame({"call": call, "att": 1, "in": (oc != "error") * 1.0,
                        "out": (oc == "ok") + (oc == "invalid") + share * (oc == "timeout")}).groupby("call").sum()
    attempts, a_in, a_out = alpha_components(e, t, share, v, m)
    for col, expect in (("att", attempts), ("in", a_in), ("out", a_out)):
        x = per[col].to_numpy()
        assert abs(x.mean() - expect) < 4 * x.std(ddof=1) / math.sqrt(x.size), col
    # alpha in tokens: E[a_in·prompt + a_out·output] / E[prompt + output] (same sizes on a retry)
    s = res.sessions["chat"]
    prompt = (s["fresh"] + s["cached"] + s["cache_write"]).sum()
    assert res.summary["alpha"] > 1.0
    alpha_ev = expected_session(sc.workloads[0], {"anthropic/claude-sonnet-4-5": _book(sc).card(
        "anthropic/claude-sonnet-4-5")}, 0.0).alpha
    assert res.summary["alpha"] == pytest.approx(alpha_ev, rel=0.02)
    assert prompt > 0


# ---- pools ------------------------------------------------------------------------------------


def _erlang_c_wait(c: int, lam: float, mu: float) -> float:
    a = lam / mu
    s = sum(a ** k / math.factorial(k) for k in range(c))
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (s + top) / (c * mu - lam)


def test_gpu_pool_is_erlang_c():
    """c servers, one slot each, exponential service, Poisson arrivals: mean wait = Erlang C.

    c = 2 at load 0.5 with 800,000 customers: the batch-means 95 % CI is ~1.5 % of the mean, well
    inside the 3 % tolerance (checked)."""
    c, mu, rho, n = 2, 1.0, 0.5, 800_000
    lam = rho * c * mu
    rng = np.random.default_rng(2024)
    ia = rng.exponential(1 / lam, n).tolist()
    sv = rng.exponential(1 / mu, n).tolist()
    env = simpy.Environment()
    pool = GpuPool(env, c, 1, [0.0, 1.0], record=False)
    tickets = []

    def arrivals():
        for a, s in zip(ia, sv):
            yield env.timeout(a)
            tickets.append(pool.request(0.0, 0.0, service_s=s))

    env.process(arrivals())
    env.run()
    w = np.array([tk.t_admit - tk.t_req for tk in tickets])[n // 50:]
    batches = w[: w.size // 50 * 50].reshape(50, -1).mean(axis=1)
    half = 2.0 * batches.std(ddof=1) / math.sqrt(batches.size)
    expect = _erlang_c_wait(c, lam, mu)
    assert half / expect < 0.02
    assert abs(w.mean() / expect - 1.0) < 0.03
    assert np.all(w >= 0)


def test_trace_replay_utilisation():
    """The Azure 2023 conversation trace into one H200 serving Llama-3.3-70B at 30 tok/s per user,
    fixed stream speed: slot occupancy = arrivals × service time / slots."""
    tr = pd.read_csv(TRACE)
    t = pd.to_datetime(tr["TIMESTAMP"])
    secs = (t - t.min()).dt.total_seconds().to_numpy()
    curve = load_hardware()["h200"].curve("llama-3.3-70b")
    slo = 30.0
    df, pool = replay_trace(secs, tr["ContextTokens"], tr["GeneratedTokens"], curve=curve, n_gpus=1,
                            interactivity_slo=slo, speedup=False)
    T = float(secs.max())
    service = tr["ContextTokens"] / curve.prefill_tok_s_gpu + tr["GeneratedTokens"] / slo
    expected = len(tr) / T * service.mean() / pool.capacity_slots
    assert 0.2 < expected < 0.9  # a meaningful load
    assert pool.occupancy(0.0, T) == pytest.approx(expected, rel=0.03)
    assert len(df) == len(tr) and (df["queue_s"] >= 0).all()
    assert (df["concurrency"] <= pool.slots).all() and (df["tok_s"] == slo).all()


def test_gpu_speed_from_curve():
    curve = load_hardware()["h200"].curve("llama-3.3-70b")
    for c in (2.0, 10.0, 40.0, 80.0):
        i = interactivity_at_concurrency(curve, c)
        assert float(curve.throughput_at(i)) / i == pytest.approx(c, rel=1e-6)
    slots = slo_slots(curve, 30.0)
    assert slots == math.floor(float(curve.throughput_at(30.0)) / 30.0)
    env = simpy.Environment()
    gp = gpu_pool_from_curve(env, curve, 1, 30.0)
    assert all(gp.speeds[k] >= 30.0 * (1 - 1e-9) for k in range(1, gp.slots + 1))
    assert all(gp.speeds[k] >= gp.speeds[k + 1] for k in range(1, gp.slots))


def test_token_bucket_limits_rate():
    rng = np.random.default_rng(3)
    b = TokenBucket(capacity=30, rate=0.5)  # 30 per minute
    t = np.cumsum(rng.exponential(0.5, 20_000))  # 2 per second offered
    start = np.array([x + b.reserve(x, 1.0) for x in t.tolist()])
    assert np.all(np.diff(start) >= -1e-9)  # FIFO
    # in any window, no more than burst + rate × window start
    for w in (60.0, 600.0):
        idx = np.searchsorted(start, start + w, side="left") - np.arange(start.size)
        assert idx.max() <= 30 + 0.5 * w + 1
    assert (start[-1] - start[0]) == pytest.approx((t.size - 30) / 0.5, rel=0.01)


def test_rate_limits_throttle_calls():
    sc = scenario(CHAT.format(rate=40, turns=4, policy="full", retry="{max_attempts: 1}"), users=100,
                  pools="pools: {api: {rate_limits: {rpm: 2}}}")
    res = run_des(sc, days=0.5)
    req = res.requests
    assert res.summary["throttled_calls"] > 0
    start = np.sort((req["t_s"] + req["queue_s"]).to_numpy())
    idx = np.searchsorted(start, start + 600.0, side="left") - np.arange(start.size)
    assert idx.max() <= 2 + 2 * 10 + 1


# ---- the simulation against the session anatomy and the expected-value engine ----------------


def _book(sc):
    return PriceBook(sc.price_date, sc.prices.overrides)


@pytest.mark.parametrize("policy", ["full", "window", "summary"])
def test_chat_sessions_follow_anatomy(policy):
    """Fixed sizes, caching off: every simulated session has exactly the calls of chat_calls."""
    sc = scenario(CHAT.format(rate=2, turns=12, policy=policy, retry="{max_attempts: 1}"), users=20)
    w = sc.workloads[0]
    res = run_des(sc, days=0.25)
    vis, billed = billed_output(w)
    h = w.history
    calls = chat_calls(12, ChatParams(mean_of(w.system_prompt_tokens) + tool_prefix(w),
                                      mean_of(w.user_message_tokens), vis, billed, rag_tokens(w), h.policy,
                                      int(mean_of(h.window_turns)), mean_of(h.summary_tokens)), CacheParams())
    s = res.sessions["chat"]
    assert len(s) > 5
    assert (s["calls"] == calls.n).all()
    np.testing.assert_allclose(s["fresh"], calls.fresh.sum())
    np.testing.assert_allclose(s["output"], calls.output.sum())
    assert (s["cached"] == 0).all() and (s["cache_write"] == 0).all()


def test_agent_tasks_follow_anatomy_and_quota():
    wl = """
  - name: agent
    kind: agent
    business_unit: bu
    tasks_per_user_per_day: 2
    models: {api: anthropic/claude-sonnet-4-5}
    steps: 40
    task_prompt_tokens: 500
    system_prompt_tokens: 2000
    tools: {count: 10, tokens_each: 200}
    tool_result_tokens: 800
    output_tokens: 300
    reasoning_multiplier: 0.5
    quota_tokens: 600000
    retry: {max_attempts: 1}
"""
    sc = scenario(wl, users=20)
    w = sc.workloads[0]
    res = run_des(sc, days=0.25)
    vis, billed = billed_output(w)
    calls = agent_calls(40, AgentParams(mean_of(w.system_prompt_tokens) + tool_prefix(w), 500.0, vis, billed, 800.0,
                                        0.0, 600000.0), CacheParams())
    s = res.sessions["agent"]
    assert calls.quota_hit == 1.0 and s["quota_hit"].all()
    assert (s["calls"] == calls.n).all()
    np.testing.assert_allclose(s["fresh"], calls.fresh.sum())
    np.testing.assert_allclose(s["reasoning"], calls.reasoning.sum())
    assert res.summary["quota_stops"] == len(s)


def _ev_scenario():
    sc = load_scenario(DEFAULT)
    for b in sc.business_units:
        sc = set_path(sc, f"business_units.{b.name}.intensity_sigma", 0.0)
    for w in sc.token_workloads:
        sc = set_path(sc, f"workloads.{w.name}.levers.prompt_cache.enabled", False)
        sc = set_path(sc, f"workloads.{w.name}.retry", {"max_attempts": 1})
        sc = set_path(sc, f"workloads.{w.name}.levers.routing.enabled", False)
    return set_path(sc, "workloads.coding_agent.quota_tokens", None)


def test_daily_totals_match_expected_value_engine():
    """Caching, retries, routing (and the quota, which is not linear) off: a simulated day's totals of
    calls, input, output and cost per workload equal expected sessions × expected_session, within 4
    standard deviations of a compound-Poisson total (Var = Σ X², intensity sigma 0 so sessions are
    Poisson); per-session means within 4 standard errors.

    3,000 users (about 2,000 agent tasks): agent cost per task is very skewed (context grows with
    steps², long prompts cross the 200k price cliff), and with a few hundred tasks the t statistic
    of a skewed sample has a heavy left tail; at this size a sweep of seeds stays within ±3.1."""
    sc = _ev_scenario()
    res = run_des(sc, days=1.0, seed=99, users=3000, keep_requests=False)
    book = _book(sc)
    for w in sc.token_workloads:
        s = res.sessions[w.name]
        es = expected_session(w, {w.models.api: book.card(w.models.api)}, 0.0)
        lam = res.summary["expected_sessions"][w.name]
        mu = {"calls": es.calls_first_attempt, "input": es.primary.input_total, "output": es.primary.output,
              "cost_usd": sum(u.cost for u in es.api.values())}
        x_all = {"calls": s["calls"], "input": s["fresh"] + s["cached"] + s["cache_write"], "output": s["output"],
                 "cost_usd": s["cost_usd"]}
        assert len(s) > 300, w.name
        assert abs(len(s) - lam) < 4 * math.sqrt(lam), w.name
        for k, x in x_all.items():
            x = x.to_numpy(float)
            total_sd = math.sqrt(float((x ** 2).sum()))
            assert abs(x.sum() - lam * mu[k]) <= 4 * total_sd + 1e-9 * lam * mu[k], (w.name, k, x.sum(), lam * mu[k])
            assert abs(x.mean() - mu[k]) <= 4 * x.std(ddof=1) / math.sqrt(x.size) + 1e-9 * mu[k], (w.name, k, x.mean(), mu[k])


# ---- reproducibility, quota, validation, GPU pools -----------------------------------------------


def test_same_seed_same_tables():
    sc = load_scenario(DEFAULT)
    a = run_des(sc, days=0.25, users=300, seed=5)
    b = run_des(sc, days=0.25, users=300, seed=5)
    c = run_des(sc, days=0.25, users=300, seed=6)
    assert a.sessions.keys() == b.sessions.keys()
    for k in a.sessions:
        pd.testing.assert_frame_equal(a.sessions[k], b.sessions[k])
    pd.testing.assert_frame_equal(a.requests, b.requests)
    assert not a.sessions["support_chat"].equals(c.sessions["support_chat"])
    assert sum(a.summary["users"].values()) == pytest.approx(300, abs=2)


def test_runaway_agent_stops_at_quota():
    wl = """
  - name: runaway
    kind: agent
    business_unit: bu
    tasks_per_user_per_day: 3
    models: {api: anthropic/claude-sonnet-4-5}
    steps: 100000
    tool_result_tokens: 2000
    quota_tokens: 2000000
    subagents: {probability_per_step: 0.1, steps: 5}
    levers: {prompt_cache: {enabled: true}}
    retry: {error_rate: 0.02, timeout_rate: 0.02, max_attempts: 3}
"""
    sc = scenario(wl, users=10)
    res = run_des(sc, days=0.5)
    s = res.sessions["runaway"]
    assert len(s) > 0 and s["quota_hit"].all()
    assert res.summary["quota_stops"] == len(s)
    billed = s[["fresh", "cached", "cache_write", "output"]].sum(axis=1)
    assert (billed <= 2_000_000).all()
    assert (s["calls"] < 200).all() and (s["calls"] > 10).all()
    assert (s["subagents"] > 0).any()


GPU_WL = """
  - name: chat
    kind: chat
    business_unit: bu
    sessions_per_user_per_day: 30
    models: {{api: anthropic/claude-sonnet-4-5, owned: llama-3.3-70b}}
    allowed_pools: {allowed}
    turns: 4
    output_tokens: {{dist: lognormal, median: 200, p90: 600}}
    system_prompt_tokens: 1500
    think_time_s: 20
    slo: {{interactivity_tok_s_user: {slo}, ttft_s: 3}}
"""
GPU_POOLS = """
pools:
  owned: {{enabled: true, gpu: h200, purchases: [{{month: 0, gpus: {gpus}}}], lead_time_months: 0}}
"""


def test_validate_pools_names_the_workload():
    sc = scenario(GPU_WL.format(allowed="[owned]", slo=400), pools=GPU_POOLS.format(gpus=2))
    with pytest.raises(ValueError, match="'chat'.*400"):
        validate_pools(sc)
    with pytest.raises(ValueError, match="400"):
        run_des(sc)  # the engine itself refuses a pool that cannot serve (the checks name the workload)
    # (the loader rejects an unknown model class too; set_path bypasses its semantic checks)
    bad = set_path(scenario(GPU_WL.format(allowed="[owned]", slo=20), pools=GPU_POOLS.format(gpus=2)),
                   "workloads.chat.models.owned", "no-such-model")
    with pytest.raises(ValueError, match="owned.*no-such-model"):
        validate_pools(bad)
    none = scenario(GPU_WL.format(allowed="[owned]", slo=20), pools=GPU_POOLS.format(gpus=0))
    with pytest.raises(ValueError, match="'chat'.*capacity"):
        validate_pools(none)
    validate_pools(load_scenario(DEFAULT))


def test_gpu_pool_in_the_simulation():
    sc = scenario(GPU_WL.format(allowed="[owned]", slo=30), users=150, pools=GPU_POOLS.format(gpus=1))
    res = run_des(sc, days=0.5)
    req = res.requests
    assert set(req["pool"].astype(str)) == {"owned"}
    ok = req["outcome"] == "ok"
    assert (req.loc[ok, "tok_s"] >= 30.0 * (1 - 1e-9)).all()
    info = res.summary["pools"]["owned:llama-3.3-70b"]
    assert info["gpus"] == 1 and (req["concurrency"] <= info["slots_per_gpu"]).all()
    assert 0.0 < info["slot_occupancy"] <= 1.0 and info["gpu_seconds"] > 0
    assert res.sessions["chat"]["cost_usd"].sum() == 0.0 and res.sessions["chat"]["gpu_s"].sum() > 0
    # with the API allowed, calls spill over when the GPU has no free slot
    tight = scenario(GPU_WL.format(allowed="[owned, api]", slo=30), users=3000, pools=GPU_POOLS.format(gpus=1))
    r2 = run_des(tight, days=0.1)
    pools = set(r2.requests["pool"].astype(str))
    assert pools == {"owned", "api"}
    assert (r2.requests.loc[r2.requests["pool"] == "owned", "queue_s"] == 0).all()
    # a pool full at the SLO does the GPU-seconds the forecast's formula charges (within flooring)
    info = r2.summary["pools"]["owned:llama-3.3-70b"]
    assert info["slot_occupancy"] > 0.8
    assert info["gpu_utilization"] == pytest.approx(info["slot_occupancy"], rel=0.1)


def test_offline_batch_path_equals_event_path():
    """API-only batch documents run outside SimPy when nothing is rate limited; with a (never
    binding) rate limit they run as SimPy callbacks: both give the same table."""
    sc = load_scenario(DEFAULT)
    fast = run_des(sc, days=0.5, users=400, seed=3)
    slow = run_des(set_path(sc, "pools.api.rate_limits", {"rpm": 1e12, "tpm": 1e12}), days=0.5, users=400, seed=3)
    assert slow.summary["throttled_calls"] == 0
    pd.testing.assert_frame_equal(fast.sessions["doc_batch"], slow.sessions["doc_batch"])
    pd.testing.assert_frame_equal(fast.sessions["coding_agent"], slow.sessions["coding_agent"])
    assert len(fast.sessions["doc_batch"]) > 100


def test_runaway_agent_on_gpus_with_retries():
    wl = """
  - name: runaway
    kind: agent
    business_unit: bu
    tasks_per_user_per_day: 3
    models: {owned: gpt-oss-120b}
    allowed_pools: [owned]
    steps: 100000
    tool_result_tokens: 2000
    quota_tokens: 1000000
    levers: {prompt_cache: {enabled: true}}
    retry: {error_rate: 0.05, timeout_rate: 0.05, validation_failure_rate: 0.05, max_attempts: 3}
    slo: {interactivity_tok_s_user: 40}
"""
    sc = scenario(wl, users=10, pools=GPU_POOLS.format(gpus=1))
    res = run_des(sc, days=0.5)
    s = res.sessions["runaway"]
    assert len(s) > 0 and s["quota_hit"].all() and res.summary["quota_stops"] == len(s)
    assert (s[["fresh", "cached", "cache_write", "output"]].sum(axis=1) <= 1_000_000).all()
    assert (s["retries"] > 0).any() and (s["gpu_s"] > 0).all() and s["cost_usd"].sum() == 0.0
    req = res.requests
    assert set(req["pool"].astype(str)) == {"owned"}
    assert req.loc[req["outcome"] == "error", ["fresh", "cached", "write", "output"]].to_numpy().sum() == 0.0
    assert res.summary["cache_hit_rate"] > 0.5
