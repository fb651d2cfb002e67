"""Session tables: what one session of each workload uses, for each of the K shape draws.

Each table holds the expected amounts per session (from ``sim.expected.session``, i.e. the
expectation over the per-session distributions) at shared-prefix warmth 0 and 1 — every amount is
linear in the warmth, which the kernel works out per path and month — plus the standard deviation
of a session's tokens, which sets the noise of a day's token total around N × mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..catalog.hardware import load_hardware
from ..catalog.prices import PriceBook
from ..demand.sessions import Calls
from ..pools.gpu import gpu_rates
from ..expected.session import (TTL_SECONDS, SessionCache, billed_output, gpu_seconds_per_session, length_pmf,
                                length_spec, rag_tokens, session_builder, tool_prefix)
from ..scenario.distributions import Fixed, LogNormal, as_dist, mean_of
from ..scenario.workloads import AgentWorkload, BatchWorkload, ChatWorkload
from ..scenario.model import Scenario, set_path

API_COMP = ("calls", "fresh", "cached", "write", "output", "reasoning", "cost")
PRIM_COMP = ("calls", "fresh", "cached", "write", "output", "reasoning")
GPU_POOLS = ("owned", "neocloud")


@dataclass
class SessionTables:
    workloads: list[str]
    models: list[list[str]]  # API models per workload (cascade: cheap first)
    api: np.ndarray  # (2, K, W, 2 models, 7) at warmth 0 and 1
    prim: np.ndarray  # (2, K, W, 6)
    gsec: np.ndarray  # (2, K, W, 2 pools) GPU-seconds per session; inf where not allowed/servable
    calls: np.ndarray  # (K, W) first-attempt calls per session
    tok_mean: np.ndarray  # (K, W) tokens per session (primary path)
    tok_sd: np.ndarray  # (K, W) sd of tokens per session across sessions
    ttl: np.ndarray  # (W,) TTL seconds of the shared prefix cache, 0 if none
    alpha: np.ndarray  # (K, W)


def _size_var(spec, scale: float = 1.0, cap: float = math.inf) -> float:
    """Var[min(scale · max(X, 0), cap)] for one draw X of a per-call size spec (as the simulation draws it)."""
    d = as_dist(spec)
    if not d.is_random or scale == 0.0:
        return 0.0
    if isinstance(d, LogNormal):
        # Y = scale·X is lognormal(mu', s); E[Y^k; Y < c] = e^(k mu' + k² s²/2) Φ((ln c − mu' − k s²)/s)
        mu, sg = d.mu + math.log(scale), d.sigma
        if not math.isfinite(cap):
            return math.expm1(sg * sg) * math.exp(2.0 * mu + sg * sg)
        if cap <= 0.0:
            return 0.0
        lc = math.log(cap)
        above = float(stats.norm.sf((lc - mu) / sg))
        m1 = math.exp(mu + 0.5 * sg * sg) * float(stats.norm.cdf((lc - mu - sg * sg) / sg)) + cap * above
        m2 = math.exp(2.0 * mu + 2.0 * sg * sg) * float(stats.norm.cdf((lc - mu - 2.0 * sg * sg) / sg)) + cap * cap * above
        return max(m2 - m1 * m1, 0.0)
    # any other spec: midpoints of equal-probability bins, refined geometrically in both tails
    tail = np.logspace(-9, -2, 141)
    edges = np.unique(np.concatenate([[0.0], tail, np.linspace(0.01, 0.99, 3921), 1.0 - tail, [1.0]]))
    u = 0.5 * (edges[:-1] + edges[1:])
    pw = np.diff(edges)
    y = np.minimum(scale * np.maximum(d.ppf(u), 0.0), cap)
    m1 = float(np.dot(pw, y))
    return max(float(np.dot(pw, (y - m1) ** 2)), 0.0)


def _within_var(w, n: int, kept: int) -> float:
    """Var(T | N = n): variance of a session's tokens T (prompts + billed output) from its per-call draws.

    The simulation draws, per call, the user message U (chat) or tool result R (agent, after
    compression) and the output X, billed as B = min((1 + r)·X, cap) with visible output
    B / (1 + r); per document the document D (batch). All draws are independent, but one call's
    draws are re-sent in the history of later prompts, so a call's U, R and B enter T with
    coefficients set by the history policy: with h_i the number of later prompts that carry
    turn/step i,
      chat:   T = const + Σ_i (1 + h_i)·U_i + Σ_i (1 + h_i/(1 + r))·B_i
              (full history: h_i = n − 1 − i; window/summary: min(n − 1 − i, window), plus one for the
              summary refresh that rolls turn i out, as ``chat_calls`` and the simulation count them)
      agent:  T = const + Σ_i h_i·R_i + Σ_i (1 + h_i/(1 + r))·B_i,  h_i = n − 1 − i, plus after each
              step a sub-agent with probability p: Var p·Var(S) + p(1 − p)·E[S]² each, S a sub-agent's
              tokens (its ``round(mean)`` steps, as the session model; its own draws as above)
      batch:  T = n·(prefix + D) + Σ_j B_j
    so Var(T | n) = Σ coefficient²·Var(size). ``kept`` is the number of main calls the session model
    keeps (an agent quota stops a task early; the coefficients are those of the kept steps).
    Everything else (prompt sizes, RAG context, probabilities) is at its mean in both engines.
    """
    r = mean_of(w.reasoning_multiplier)
    cap = w.levers.output_cap_tokens
    v_b = _size_var(w.output_tokens, 1.0 + r, math.inf if cap is None else mean_of(cap))
    g = 1.0 / (1.0 + r)
    if isinstance(w, BatchWorkload):
        return n * n * _size_var(w.input_tokens_per_document) + n * v_b
    if isinstance(w, ChatWorkload):
        v_u = _size_var(w.user_message_tokens)
        i = np.arange(n)
        h = (n - 1 - i).astype(float)
        pol = w.history.policy
        if pol != "full":
            win = max(int(round(mean_of(w.history.window_turns))), 0)
            h = np.minimum(h, win)
            if pol == "summary" and win >= 1:
                # refresh m runs before call k = win + 1 + m·win and carries turns 1 + m·win … (m + 1)·win
                m = (i - 1) // win
                h = h + ((i >= 1) & (win + 1 + m * win <= n - 1))
        return float(v_u * np.sum((1.0 + h) ** 2) + v_b * np.sum((1.0 + g * h) ** 2))
    if isinstance(w, AgentWorkload):
        v_r = _size_var(w.tool_result_tokens, mean_of(w.levers.compression))

        def steps_var(k: int) -> float:
            h = np.arange(k - 1, -1, -1, dtype=float)
            return float(v_r * np.sum(h * h) + v_b * np.sum((1.0 + g * h) ** 2))

        var = steps_var(kept)
        p = mean_of(w.subagents.probability_per_step)
        if p > 0:
            sn = max(1, int(round(mean_of(w.subagents.steps))))
            vis, billed = billed_output(w)
            base = mean_of(w.system_prompt_tokens) + tool_prefix(w) + mean_of(w.task_prompt_tokens) + rag_tokens(w)
            grow = vis + mean_of(w.tool_result_tokens) * mean_of(w.levers.compression)
            e_s = sn * (base + billed) + grow * sn * (sn - 1) / 2.0
            var += kept * (p * steps_var(sn) + p * (1.0 - p) * e_s * e_s)
        return var
    return 0.0


def _session_sd(w, n_values: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """Mean and sd of a session's tokens (prompts + output, at warmth 0) over sessions.

    Law of total variance over the session length N: Var T = E[Var(T | N)] + Var(E[T | N]), the
    first term from the per-call size draws (``_within_var``), the second from the length distribution.
    """
    tot = np.empty(n_values.size)
    within = np.empty(n_values.size)
    build = session_builder(w, 0.0)
    for i, n in enumerate(n_values):
        c: Calls = build(int(n))
        tot[i] = float(np.dot(c.weights, c.prompt + c.output))
        kept = int(n)
        if c.quota_hit:  # agent calls come in blocks of a main step and its (expected) sub-agent calls
            block = 1 + (max(1, int(round(mean_of(w.subagents.steps))))
                         if mean_of(w.subagents.probability_per_step) > 0 else 0)
            kept = min(int(n), -(-c.n // block))
        within[i] = _within_var(w, int(n), kept)
    m = float(np.dot(probs, tot))
    between = max(float(np.dot(probs, tot * tot)) - m * m, 0.0)
    return m, float(np.sqrt(between + float(np.dot(probs, within))))


def build_tables(sc: Scenario, points: dict[str, np.ndarray], book: PriceBook,
                 sessions: SessionCache | None = None) -> SessionTables:
    """Tables for the K shape points (K = length of each array in ``points``; 1 if none).

    ``sessions`` is shared across strategies by the runner: purchase months and commit levels
    rarely change a workload, so each distinct workload's sessions are worked out once.
    """
    sessions = sessions or SessionCache()
    K = len(next(iter(points.values()))) if points else 1
    wls = sc.token_workloads
    W = len(wls)
    hw = load_hardware()
    api = np.zeros((2, K, W, 2, len(API_COMP)))
    prim = np.zeros((2, K, W, len(PRIM_COMP)))
    gsec = np.full((2, K, W, 2), np.inf)
    calls = np.zeros((K, W))
    tok_mean = np.zeros((K, W))
    tok_sd = np.zeros((K, W))
    alpha = np.ones((K, W))
    models: list[list[str]] = []
    for w in wls:
        lev = w.levers
        refs = [lev.routing.cheap_model, w.models.api] if lev.routing.enabled else ([w.models.api] if w.models.api else [])
        models.append(refs)
    ttl = np.array([TTL_SECONDS[w.levers.prompt_cache.ttl] if (w.levers.prompt_cache.enabled and
                                                                w.levers.prompt_cache.shared_prefix) else 0.0
                    for w in wls])
    for k in range(K):
        sck = sc
        for path, vals in points.items():
            sck = set_path(sck, path, Fixed(value=float(vals[k])))
        for j, w in enumerate(sck.token_workloads):
            cards = {r: book.card(r) for r in models[j]}
            wkey = sessions.key(w, cards)
            for h, warm in enumerate((0.0, 1.0)):
                es = sessions.expected(w, cards, warm)
                for m, ref in enumerate(models[j]):
                    u = es.api[ref]
                    api[h, k, j, m] = [getattr(u, c) for c in API_COMP]
                prim[h, k, j] = [getattr(es.primary, c) for c in PRIM_COMP]
                for q, pool in enumerate(GPU_POOLS):
                    if pool in w.allowed_pools and getattr(sck.pools, pool).enabled:
                        pre, dec = gpu_rates(sck, w, pool, hw)
                        gsec[h, k, j, q] = gpu_seconds_per_session(es, pre, dec)
                if h == 0:
                    calls[k, j] = es.calls_first_attempt
                    alpha[k, j] = es.alpha
            vals_n, probs = length_pmf(length_spec(w))
            m_, sd = sessions.get(wkey + ("sd",), lambda: _session_sd(w, vals_n, probs))
            tok_mean[k, j] = m_
            tok_sd[k, j] = sd
    return SessionTables([w.name for w in wls], models, api, prim, gsec, calls, tok_mean, tok_sd, ttl, alpha)
