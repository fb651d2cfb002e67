"""The anatomy of a session: which model calls it makes and the tokens of each.

One function per workload kind builds the calls of a session (or task, or document) of a given
length from plain numbers. The expected-value engine feeds it means and averages over the
distribution of the length; the demand simulation feeds it draws. Token components of a call are
disjoint: ``fresh`` (input billed at the input rate), ``cached`` (read from the prompt cache),
``write`` (written to the prompt cache), ``output`` (visible output plus reasoning, billed as
output). The prompt size of a call is fresh + cached + write.

Decisions (also in the README's model notes):
- RAG context goes after the user message and is not kept in history, so it is never a cached
  prefix of the next call; reasoning tokens are billed but not re-sent in history.
- With prompt caching on, each call marks its whole prompt for caching (provider "automatic"
  caching). The next call reads the longest prefix it shares with an earlier prompt that is still
  within the TTL: the previous call of the session (if it came back in time) or, for the shared
  system prompt and tools, any user's call. Below ``min_tokens`` nothing is read or written.
- A sliding window (or summary) changes the prompt right after the shared prefix once turns
  start dropping out, so from then on only the shared prefix is a hit.
- Sub-agents are one level deep and start from the shared prefix plus the task prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Longest session the models build (turns, agent steps or calls per document): a length
# distribution with a heavy tail is truncated here, in the expected-value engine and the
# simulation alike, so a mis-specified tail cannot make a forecast hang.
MAX_SESSION_CALLS = 1000

# ---- parameters of one session, as plain numbers ---------------------------------------------


@dataclass(frozen=True)
class CacheParams:
    """Prompt-cache behaviour for one workload (probabilities already worked out)."""

    enabled: bool = False
    min_tokens: float = 1024.0
    p_shared_warm: float = 0.0  # the shared prefix is in the cache when a session starts
    p_session_warm: float = 0.0  # the previous call of the same session is still cached


@dataclass(frozen=True)
class ChatParams:
    """Per-call sizes for chat and RAG sessions (tokens)."""

    prefix: float  # system prompt + tool definitions: identical for every call
    user: float
    output_visible: float
    output_billed: float  # visible + reasoning, after any cap
    rag: float  # retrieved context per call, after compression
    history_policy: str = "full"
    window: int = 6
    summary_tokens: float = 400.0


@dataclass(frozen=True)
class AgentParams:
    """Per-step sizes for agent tasks (tokens)."""

    prefix: float  # system prompt + tool definitions
    task: float
    output_visible: float
    output_billed: float
    tool_result: float  # appended per step, after compression
    rag: float = 0.0
    quota: float = float("inf")  # tokens per task (input + output)


@dataclass(frozen=True)
class BatchParams:
    """One document job."""

    prefix: float
    document: float
    output_billed: float
    calls: int = 1


@dataclass
class Calls:
    """The calls of one session: parallel arrays, one element per call.

    ``prompt`` is the call's full prompt size (for long-context cliffs); ``quota_hit`` counts
    sessions stopped by a token quota (0 or 1 for a single session).
    """

    fresh: np.ndarray
    cached: np.ndarray
    write: np.ndarray
    output: np.ndarray
    reasoning: np.ndarray
    quota_hit: float = 0.0
    weight: np.ndarray | None = None  # expected number of each call (sub-agent calls < 1); None = 1

    @property
    def weights(self) -> np.ndarray:
        return np.ones(self.fresh.size) if self.weight is None else self.weight

    @property
    def prompt(self) -> np.ndarray:
        return self.fresh + self.cached + self.write

    @property
    def n(self) -> int:
        return int(self.fresh.size)


def _with_cache(prompt: np.ndarray, reusable: np.ndarray, p_hit: np.ndarray, cache: CacheParams) -> Calls:
    """Split prompts into fresh / cached / write given the reusable prefix and its hit probability.

    The expected split is returned: with probability p_hit the reusable prefix is read and the
    rest written; otherwise the whole prompt is written. Prompts under ``min_tokens`` are not
    cached; prefixes under ``min_tokens`` cannot be read.
    """
    zeros = np.zeros_like(prompt)
    if not cache.enabled:
        return Calls(prompt.copy(), zeros, zeros.copy(), zeros.copy(), zeros.copy())
    cacheable = prompt >= cache.min_tokens
    readable = cacheable & (reusable >= cache.min_tokens)
    cached = np.where(readable, p_hit * reusable, 0.0)
    write = np.where(cacheable, prompt - cached, 0.0)
    fresh = prompt - cached - write
    return Calls(fresh, cached, write, zeros.copy(), zeros.copy())


def chat_calls(n_turns: int, p: ChatParams, cache: CacheParams) -> Calls:
    """The calls of a chat/RAG session of ``n_turns`` turns (plus summary refreshes)."""
    n = max(int(n_turns), 1)
    k = np.arange(1, n + 1, dtype=float)  # turn number
    turn = p.user + p.output_visible
    prev = k - 1.0
    if p.history_policy == "full":
        kept = prev
    else:
        kept = np.minimum(prev, float(p.window))
    history = kept * turn
    sliding = prev > p.window if p.history_policy != "full" else np.zeros(n, bool)
    if p.history_policy == "summary":
        history = history + np.where(sliding, p.summary_tokens, 0.0)
    prompt = p.prefix + history + p.user + p.rag
    # reusable prefix: the previous call's prompt without its RAG tail, unless the window slid
    prev_reusable = p.prefix + np.where(prev >= 1, (prev - 1.0) * turn + p.user, 0.0)
    reusable = np.where((k >= 2) & ~sliding, prev_reusable, p.prefix)
    # the session's previous prompt is warm with p_session_warm; once the window slides only the
    # shared prefix can hit, and it is warm if this session's own last call or anyone's kept it
    p_either = 1.0 - (1.0 - cache.p_session_warm) * (1.0 - cache.p_shared_warm)
    p_hit = np.where(k >= 2, np.where(sliding, p_either, cache.p_session_warm), cache.p_shared_warm)
    calls = _with_cache(prompt, reusable, p_hit, cache)
    # the longer prefix missed but the shared prefix may still hit: add that expected read
    if cache.enabled:
        extra = (k >= 2) & ~sliding & (p.prefix >= cache.min_tokens) & (prompt >= cache.min_tokens) \
            & (reusable >= cache.min_tokens)
        add = np.where(extra, (1 - cache.p_session_warm) * cache.p_shared_warm * p.prefix, 0.0)
        calls.cached = calls.cached + add
        calls.write = calls.write - add
    calls.output = np.full(n, p.output_billed)
    calls.reasoning = np.full(n, p.output_billed - p.output_visible)
    if p.history_policy == "summary" and p.window >= 1:
        # a refresh call each time `window` turns have dropped out: summarise them + old summary
        dropped = np.maximum(prev - p.window, 0.0)
        refreshes = int(np.ceil(dropped[-1] / p.window)) if n > p.window + 1 else 0
        if refreshes:
            s_in = np.full(refreshes, p.summary_tokens + p.window * turn)
            z = np.zeros(refreshes)
            calls = Calls(np.concatenate([calls.fresh, s_in]), np.concatenate([calls.cached, z]),
                          np.concatenate([calls.write, z]),
                          np.concatenate([calls.output, np.full(refreshes, p.summary_tokens)]),
                          np.concatenate([calls.reasoning, z]))
    return calls


def agent_calls(n_steps: int, p: AgentParams, cache: CacheParams, sub_steps: int = 0,
                sub_probability: float = 0.0) -> Calls:
    """The calls of an agent task of ``n_steps`` steps, with expected sub-agent fan-out.

    Sub-agent calls are added with weight ``sub_probability`` per main step (their expected
    number). The quota stops the task before the first step whose call would take cumulative
    tokens (input + output, sub-agents included) over ``p.quota``.
    """
    n = max(int(n_steps), 1)
    s = np.arange(1, n + 1, dtype=float)
    per_step = p.output_visible + p.tool_result
    prompt = p.prefix + p.task + (s - 1) * per_step + p.rag
    reusable = np.where(s >= 2, p.prefix + p.task + (s - 2) * per_step, p.prefix)
    p_hit = np.where(s >= 2, cache.p_session_warm, cache.p_shared_warm)
    main = _with_cache(prompt, reusable, p_hit, cache)
    if cache.enabled:
        extra = (s >= 2) & (p.prefix >= cache.min_tokens) & (prompt >= cache.min_tokens) \
            & (reusable >= cache.min_tokens)
        add = np.where(extra, (1 - cache.p_session_warm) * cache.p_shared_warm * p.prefix, 0.0)
        main.cached = main.cached + add
        main.write = main.write - add
    main.output = np.full(n, p.output_billed)
    main.reasoning = np.full(n, p.output_billed - p.output_visible)
    weight = np.ones(n)
    if sub_steps > 0 and sub_probability > 0:
        sub = agent_calls(sub_steps, AgentParams(p.prefix, p.task, p.output_visible, p.output_billed,
                                                 p.tool_result, p.rag), cache)
        # interleave: step i, then the expected calls of the sub-agent it may spawn (weight p each)
        def weave(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            out = np.empty((n, 1 + b.size))
            out[:, 0] = a
            out[:, 1:] = b[None, :]
            return out.ravel()

        main = Calls(weave(main.fresh, sub.fresh), weave(main.cached, sub.cached), weave(main.write, sub.write),
                     weave(main.output, sub.output), weave(main.reasoning, sub.reasoning))
        weight = weave(weight, np.full(sub.n, sub_probability))
    quota_hit = 0.0
    if np.isfinite(p.quota):
        total = (main.prompt + main.output) * weight
        cum = np.cumsum(total)
        keep = cum <= p.quota
        if not keep.all():
            quota_hit = 1.0
            main = Calls(main.fresh[keep], main.cached[keep], main.write[keep], main.output[keep],
                         main.reasoning[keep])
            weight = weight[keep]
    return Calls(main.fresh, main.cached, main.write, main.output, main.reasoning, quota_hit=quota_hit,
                 weight=weight)


def batch_calls(p: BatchParams, cache: CacheParams) -> Calls:
    """The calls of one document job."""
    n = max(int(p.calls), 1)
    prompt = np.full(n, p.prefix + p.document)
    calls = _with_cache(prompt, np.full(n, p.prefix), np.full(n, cache.p_shared_warm), cache)
    calls.output = np.full(n, p.output_billed)
    calls.reasoning = np.zeros(n)
    return calls
