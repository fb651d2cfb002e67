"""Expected tokens, calls, cost and GPU time of one session of a workload.

The session anatomy comes from ``sim.demand.sessions``; this module supplies the numbers (means
of every input) and takes the expectation over the session length (turns, steps), because the
tokens of a session grow quadratically with its length: E[f(N)] ≠ f(E[N]). Lengths are whole
numbers: N = max(1, round(X)) for a draw X of the length distribution, as in the simulation.
Everything else enters at its mean; output caps enter as E[min(X, cap)].

Prompt-cache hit probabilities: the session's previous call is still cached if the gap (think
time or tool time, exponential with the given mean) is shorter than the TTL: 1 − exp(−TTL/gap).
The shared prefix is warm when a session starts with probability 1 − exp(−λ·TTL) for Poisson
arrivals at rate λ (calls per second of the whole workload): the forecast supplies it per month,
and since every expected amount is linear in it, a session is evaluated at 0 and 1 and mixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..catalog.prices import RateCard
from ..pools.api import alpha_components
from ..pools.gpu import gpu_seconds
from ..scenario.distributions import as_dist, mean_of
from ..demand.kinds import kind_of
from ..demand.sessions import MAX_SESSION_CALLS, CacheParams, Calls

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
COMPONENTS = ("fresh", "cached", "write", "output", "reasoning")


def length_pmf(spec, quantiles: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of N = max(1, round(X)) for a length spec (deterministic grid).

    Equal-probability bins up to the 99th percentile, then bins shrinking geometrically towards
    1 − 1e-9, so heavy upper tails (which dominate E[N²] and hence quadratic token growth) keep
    their weight instead of being cut at the last grid point.
    """
    d = as_dist(spec)
    if not d.is_random:
        return np.array([min(max(1, int(round(d.mean()))), MAX_SESSION_CALLS)]), np.array([1.0])
    edges = np.concatenate([np.linspace(0.0, 0.99, quantiles + 1), 1.0 - np.logspace(-2, -9, 141)[1:], [1.0]])
    u = 0.5 * (edges[:-1] + edges[1:])
    w = np.diff(edges)
    n = np.clip(np.rint(np.minimum(d.ppf(u), MAX_SESSION_CALLS)), 1, MAX_SESSION_CALLS).astype(np.int64)
    values, inverse = np.unique(n, return_inverse=True)
    probs = np.bincount(inverse, weights=w, minlength=values.size)
    return values, probs / probs.sum()


def cache_params(w, p_shared_warm: float) -> CacheParams:
    pc = w.levers.prompt_cache
    if not pc.enabled:
        return CacheParams()
    ttl = TTL_SECONDS[pc.ttl]
    gap = kind_of(w).gap_s(w)
    p_session = 1.0 if gap <= 0 else 1.0 - math.exp(-ttl / gap)
    return CacheParams(True, mean_of(pc.min_tokens), p_shared_warm if pc.shared_prefix else 0.0, p_session)


def session_builder(w, p_shared_warm: float):
    """A function n -> Calls for sessions of ``w`` of length n, with every mean worked out once."""
    return kind_of(w).builder(w, cache_params(w, p_shared_warm))


def session_calls(w, n: int, p_shared_warm: float) -> Calls:
    """Calls of one session of length ``n`` (turns, steps or calls per document) at input means."""
    return session_builder(w, p_shared_warm)(n)


def length_spec(w):
    """The distribution of a session's length (turns, steps, calls per document)."""
    return kind_of(w).length_spec(w)


@dataclass
class ModelUse:
    """Expected use of one model per session (tokens billed, retries included)."""

    ref: str
    calls: float = 0.0
    fresh: float = 0.0
    cached: float = 0.0
    write: float = 0.0
    output: float = 0.0
    reasoning: float = 0.0
    cost: float = 0.0  # list price at the price date, before trends and contracts

    @property
    def input_total(self) -> float:
        return self.fresh + self.cached + self.write

    def add(self, other: "ModelUse", weight: float = 1.0) -> None:
        for k in ("calls", "fresh", "cached", "write", "output", "reasoning", "cost"):
            setattr(self, k, getattr(self, k) + weight * getattr(other, k))


@dataclass
class ExpectedSession:
    """Expected amounts per session of a workload, for a given warmth of the shared prefix."""

    workload: str
    api: dict[str, ModelUse] = field(default_factory=dict)  # by model ref
    primary: ModelUse = field(default_factory=lambda: ModelUse("primary"))  # one path, no cascade
    gpu_prefill_tokens: float = 0.0  # primary path, tokens that need prefill (not cached)
    gpu_output_tokens: float = 0.0
    gpu_context_weight: float = 0.0  # Σ output × prompt size: output-weighted context, for decode speed
    calls_first_attempt: float = 0.0
    attempts_per_call: float = 1.0
    alpha: float = 1.0  # billed tokens / first-attempt tokens
    quota_stop_share: float = 0.0


def call_rates(card: RateCard, prompts: np.ndarray, ttl: str, batch: bool) -> np.ndarray:
    """Per-call rates (n, 4): fresh input, cache read, cache write (at the TTL's rate), output.

    The long-context cliff is chosen per call by that call's own prompt size (never an aggregate).
    """
    base, cliffs = (card.batch_base, card.batch_cliffs) if batch else (card.base, card.cliffs)
    tiers = [base] + [r for _, r in cliffs]
    table = np.array([(r.input, r.cached_input, r.cache_write_5m if ttl == "5m" else r.cache_write_1h, r.output)
                      for r in tiers]) / 1e6
    # a cliff applies when the prompt is strictly above its threshold
    idx = np.searchsorted(np.array([t for t, _ in cliffs], dtype=float), prompts, side="left")
    return table[idx]


def _price(card: RateCard, c: Calls, ttl: str, batch_share: float, a_in: float, a_out: float) -> float:
    """Expected list cost of the calls; retries scale tokens but not the prompt size of a call."""
    tokens = np.stack([a_in * c.fresh, a_in * c.cached, a_in * c.write, a_out * c.output], axis=1)
    cost = 0.0
    for batch, share in ((False, 1.0 - batch_share), (True, batch_share)):
        if share > 0:
            cost += share * float(np.sum(c.weights * np.sum(tokens * call_rates(card, c.prompt, ttl, batch), axis=1)))
    return cost


def expected_session(w, cards: dict[str, RateCard], p_shared_warm: float) -> ExpectedSession:
    """Expectation over the session length of tokens, cost and GPU work of one session of ``w``."""
    values, probs = length_pmf(length_spec(w))
    r = w.retry
    attempts, a_in, a_out = alpha_components(mean_of(r.error_rate), mean_of(r.timeout_rate),
                                             mean_of(r.timeout_output_share),
                                             mean_of(r.validation_failure_rate), r.max_attempts)
    if r.alpha is not None:
        a_in = a_out = mean_of(r.alpha)
    lev = w.levers
    keep = 1.0 - (mean_of(lev.semantic_cache.hit_rate) if lev.semantic_cache.enabled else 0.0)
    batch_share = kind_of(w).batch_share(w)
    routes: list[tuple[str, float]] = []
    if lev.routing.enabled:
        routes.append((lev.routing.cheap_model, 1.0))
        routes.append((w.models.api, mean_of(w.escalation())))
    elif w.models.api:
        routes.append((w.models.api, 1.0))
    out = ExpectedSession(w.name, attempts_per_call=attempts)
    ttl = lev.prompt_cache.ttl
    first_tokens = 0.0
    billed_tokens = 0.0
    build = session_builder(w, p_shared_warm)
    for n, pn in zip(values, probs):
        calls = build(int(n))
        wt = calls.weights
        n_calls = float(wt.sum())
        out.quota_stop_share += pn * calls.quota_hit
        out.calls_first_attempt += pn * keep * n_calls
        fresh, cached, write = (float(np.dot(wt, x)) for x in (calls.fresh, calls.cached, calls.write))
        out_sum, reasoning = float(np.dot(wt, calls.output)), float(np.dot(wt, calls.reasoning))
        prompt_sum = fresh + cached + write
        first_tokens += pn * keep * (prompt_sum + out_sum)
        billed_tokens += pn * keep * (a_in * prompt_sum + a_out * out_sum)
        # GPU pools serve the primary model only; cached prefixes skip prefill (prefix caching)
        out.gpu_prefill_tokens += pn * keep * a_in * (fresh + write)
        out.gpu_output_tokens += pn * keep * a_out * out_sum
        out.gpu_context_weight += pn * keep * a_out * float(np.dot(wt, calls.output * calls.prompt))
        out.primary.add(ModelUse("primary", calls=n_calls * attempts, fresh=a_in * fresh, cached=a_in * cached,
                                 write=a_in * write, output=a_out * out_sum, reasoning=a_out * reasoning),
                        pn * keep)
        for ref, weight in routes:
            use = ModelUse(ref, calls=n_calls * attempts, fresh=a_in * fresh, cached=a_in * cached,
                           write=a_in * write, output=a_out * out_sum, reasoning=a_out * reasoning,
                           cost=_price(cards[ref], calls, ttl, batch_share, a_in, a_out))
            out.api.setdefault(ref, ModelUse(ref)).add(use, pn * keep * weight)
    out.alpha = billed_tokens / first_tokens if first_tokens > 0 else 1.0
    return out


def gpu_seconds_per_session(es: ExpectedSession, prefill_rate: float, decode_rate: float) -> float:
    """GPU-seconds one session needs on a GPU pool at the workload's SLO (long contexts decode slower)."""
    ctx = es.gpu_context_weight / es.gpu_output_tokens if es.gpu_output_tokens > 0 else 0.0
    return float(gpu_seconds(es.gpu_prefill_tokens, es.gpu_output_tokens, prefill_rate, decode_rate, ctx))


def mix(a: ExpectedSession, b: ExpectedSession, p: float) -> ExpectedSession:
    """(1 − p)·a + p·b: the session at shared-prefix warmth p from the sessions at 0 and 1."""
    out = ExpectedSession(a.workload, attempts_per_call=a.attempts_per_call)
    for ref in set(a.api) | set(b.api):
        m = ModelUse(ref)
        if ref in a.api:
            m.add(a.api[ref], 1.0 - p)
        if ref in b.api:
            m.add(b.api[ref], p)
        out.api[ref] = m
    out.primary.add(a.primary, 1.0 - p)
    out.primary.add(b.primary, p)
    for k in ("gpu_prefill_tokens", "gpu_output_tokens", "gpu_context_weight", "calls_first_attempt", "alpha", "quota_stop_share"):
        setattr(out, k, (1.0 - p) * getattr(a, k) + p * getattr(b, k))
    return out


class SessionCache:
    """Expected sessions memoised by (workload definition, rate-card content, warmth).

    Strategies and sensitivity designs rarely change a workload, so its session is worked out once
    per distinct definition. A cache is created by whoever runs many forecasts (the runner, a
    sensitivity design) and passed down explicitly; there is no module-level cache.
    """

    def __init__(self, max_entries: int = 4096):
        self.max_entries = int(max_entries)
        self._store: dict = {}

    @staticmethod
    def key(w, cards: dict) -> tuple:
        return (w.model_dump_json(),
                tuple((r, repr(c.base), repr(c.cliffs), repr(c.batch_base)) for r, c in sorted(cards.items())))

    def get(self, key: tuple, compute):
        """The value stored under ``key``, computed by ``compute()`` on first use."""
        if key not in self._store:
            if len(self._store) >= self.max_entries:
                self._store.clear()
            self._store[key] = compute()
        return self._store[key]

    def expected(self, w, cards: dict, warmth: float) -> ExpectedSession:
        return self.get(self.key(w, cards) + (float(warmth),), lambda: expected_session(w, cards, warmth))


def workload_cards(sc, w, book, refs) -> dict[str, RateCard]:
    """Rate cards of ``refs`` as workload ``w`` pays them: a model's time-of-day prices (DeepSeek
    off-peak) averaged over the activity profile of ``w``'s business unit (its own ``activity``,
    else the scenario's), in UTC (``sim.demand.population.activity_hours``)."""
    from ..demand.population import activity_hours, unit_activity

    hours, label = activity_hours(unit_activity(sc, w.business_unit))
    return {r: book.card(r, hours=hours, hours_label=label) for r in refs}
