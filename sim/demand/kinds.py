"""Workload kinds as a registry: what each kind supplies to every engine, in one place.

A kind (chat, rag, agent, batch) supplies

- its session length (turns, steps, calls per document) and the time between its calls (which
  decides whether the session's own previous call is still in the prompt cache);
- its rate field (sessions, tasks or documents per user per day: ``Workload.RATE_FIELD``);
- its session anatomy: a builder n -> ``Calls`` at the workload's input means, vectorised over
  the calls of a session (``sim.demand.sessions``). The expected-value engine and the session
  tables take the expectation of it over the length; the SimPy model runs the same kind's
  process (``des_process``) with drawn sizes;
- the variance of a session's tokens given its length, from the per-call size draws (the session
  tables' day-total noise);
- whether it is billed wholly at batch rates.

Engines look a workload's kind up here (``kind_of``) instead of testing its class, so a new kind
is one entry in ``KINDS`` and one module of anatomy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
from scipy import stats

from ..scenario.distributions import LogNormal, as_dist, mean_of
from .sessions import AgentParams, BatchParams, CacheParams, ChatParams, Calls, agent_calls, batch_calls, chat_calls

Builder = Callable[[int], Calls]


# ---- per-call sizes shared by the kinds (means of the scenario's fields) ------------------------------
def billed_output(w) -> tuple[float, float]:
    """(visible output, billed output incl. reasoning) per call, after the output cap."""
    r = mean_of(w.reasoning_multiplier)
    cap = w.levers.output_cap_tokens
    out = as_dist(w.output_tokens)
    if cap is None:
        vis = out.mean()
        return vis, vis * (1.0 + r)
    c = mean_of(cap)
    # the cap limits visible + reasoning: E[min((1+r)X, c)] = (1+r) E[min(X, c/(1+r))]
    billed = (1.0 + r) * out.mean_capped(c / (1.0 + r))
    return billed / (1.0 + r), billed


def tool_prefix(w) -> float:
    """Tokens of tool definitions sent with every call (0 without tools)."""
    t = w.tools
    if mean_of(t.count) <= 0:
        return 0.0
    if t.mode == "code":
        return mean_of(t.code_mode_tokens)
    return mean_of(t.count) * mean_of(t.tokens_each)


def rag_tokens(w) -> float:
    """Retrieved context per call, after compression."""
    return (mean_of(w.rag.chunks) * mean_of(w.rag.chunk_tokens) * mean_of(w.rag.compression)
            * mean_of(w.levers.compression))


def _prefix(w) -> float:
    return mean_of(w.system_prompt_tokens) + tool_prefix(w)


# ---- the anatomy of each kind at input means ---------------------------------------------------------
def _chat_builder(w, cache: CacheParams) -> Builder:
    vis, billed = billed_output(w)
    h = w.history
    p = ChatParams(_prefix(w), mean_of(w.user_message_tokens), vis, billed, rag_tokens(w), h.policy,
                   max(int(round(mean_of(h.window_turns))), 0), mean_of(h.summary_tokens))
    return lambda n: chat_calls(n, p, cache)


def _agent_builder(w, cache: CacheParams) -> Builder:
    vis, billed = billed_output(w)
    quota = math.inf if w.quota_tokens is None else mean_of(w.quota_tokens)
    pa = AgentParams(_prefix(w), mean_of(w.task_prompt_tokens), vis, billed,
                     mean_of(w.tool_result_tokens) * mean_of(w.levers.compression), rag_tokens(w), quota)
    sub_n = max(1, int(round(mean_of(w.subagents.steps))))
    sub_p = mean_of(w.subagents.probability_per_step)
    return lambda n: agent_calls(n, pa, cache, sub_n, sub_p)


def _batch_builder(w, cache: CacheParams) -> Builder:
    _, billed = billed_output(w)
    doc = mean_of(w.input_tokens_per_document)
    prefix = _prefix(w)
    return lambda n: batch_calls(BatchParams(prefix, doc, billed, n), cache)


# ---- the variance of a session's tokens from its per-call draws, by kind -------------------------------
def size_var(spec, scale: float = 1.0, cap: float = math.inf) -> float:
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


def _output_var(w) -> tuple[float, float]:
    """(Var of a call's billed output B, g = 1/(1 + r), the share of B re-sent as visible history)."""
    r = mean_of(w.reasoning_multiplier)
    cap = w.levers.output_cap_tokens
    return size_var(w.output_tokens, 1.0 + r, math.inf if cap is None else mean_of(cap)), 1.0 / (1.0 + r)


def _chat_within_var(w, n: int, kept: int) -> float:
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
    v_b, g = _output_var(w)
    v_u = size_var(w.user_message_tokens)
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


def _agent_within_var(w, n: int, kept: int) -> float:
    """Var(T | N = n) of an agent task (see ``_chat_within_var``)."""
    v_b, g = _output_var(w)
    v_r = size_var(w.tool_result_tokens, mean_of(w.levers.compression))

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


def _batch_within_var(w, n: int, kept: int) -> float:
    """Var(T | N = n) of a batch document (see ``_chat_within_var``)."""
    v_b, _ = _output_var(w)
    return n * n * size_var(w.input_tokens_per_document) + n * v_b



@dataclass(frozen=True)
class WorkloadKind:
    """What one workload kind supplies to the engines (see the module docstring)."""

    name: str
    length_field: str  # distribution of the session length
    gap_field: str | None  # mean seconds between a session's calls; None: back to back
    always_batch: bool  # billed wholly at batch rates
    des_process: str  # the SimPy process that runs its sessions
    builder: Callable[[object, CacheParams], Builder]
    within_var: Callable[[object, int, int], float]  # Var(tokens | length n, kept main calls)

    def length_spec(self, w):
        return getattr(w, self.length_field)

    def gap_s(self, w) -> float:
        return mean_of(getattr(w, self.gap_field)) if self.gap_field else 0.0

    def batch_share(self, w) -> float:
        return 1.0 if self.always_batch else mean_of(w.levers.batch_share)

    def rate(self, w):
        """The field of units of work per user per full day (a number or a distribution)."""
        return w.rate


KINDS: Mapping[str, WorkloadKind] = MappingProxyType({
    "chat": WorkloadKind("chat", "turns", "think_time_s", False, "chat", _chat_builder, _chat_within_var),
    "rag": WorkloadKind("rag", "turns", "think_time_s", False, "chat", _chat_builder, _chat_within_var),
    "agent": WorkloadKind("agent", "steps", "step_time_s", False, "agent", _agent_builder, _agent_within_var),
    "batch": WorkloadKind("batch", "calls_per_document", None, True, "batch", _batch_builder, _batch_within_var),
})


def kind_of(w) -> WorkloadKind:
    """The registry entry of a token workload (by its ``kind`` field)."""
    try:
        return KINDS[w.kind]
    except KeyError:
        raise TypeError(f"workload {getattr(w, 'name', '?')!r}: kind {w.kind!r} has no session model "
                        f"(known: {', '.join(KINDS)})") from None
