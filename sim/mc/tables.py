"""Session tables: what one session of each workload uses, for each of the K shape draws.

Each table holds the expected amounts per session (from ``sim.expected.session``, i.e. the
expectation over the per-session distributions) at shared-prefix warmth 0 and 1 — every amount is
linear in the warmth, which the kernel works out per path and month — plus the standard deviation
of a session's tokens, which sets the noise of a day's token total around N × mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..catalog.hardware import load_hardware
from ..catalog.prices import PriceBook
from ..demand.sessions import Calls
from ..pools.gpu import gpu_rates
from ..demand.kinds import kind_of
from ..expected.session import (TTL_SECONDS, SessionCache, gpu_seconds_per_session, length_pmf, length_spec, session_builder,
                                workload_cards)
from ..scenario.distributions import Fixed, mean_of
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
        within[i] = kind_of(w).within_var(w, int(n), kept)
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
            cards = workload_cards(sck, w, book, models[j])
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
