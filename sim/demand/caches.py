"""Explicit prompt caches with a time-to-live, as providers run them.

A cache entry is a prefix of some prompt: (length in tokens, time it was last written or read).
A call can read the longest entry that is a prefix of its prompt and was touched within the TTL,
and only if that prefix is at least ``min_tokens`` long; every call then marks its whole prompt
for caching, which writes what was not read and refreshes the entry it read (provider caches
refresh the TTL on a hit). Prompts shorter than ``min_tokens`` are neither read nor written.

Under these rules a prefix sent by Poisson arrivals at rate λ is found warm with probability
1 − exp(−λ·TTL): a call hits exactly when the previous call came less than one TTL earlier.

``PrefixCache`` holds shared entries (the system prompt and tool definitions of a workload, one
per model, readable by every user); a session's own history lives in the session's state and
uses the same two functions, ``valid_length`` and ``split_prompt``.
"""

from __future__ import annotations

__all__ = ["PrefixCache", "split_prompt", "valid_length", "TTL_SECONDS"]

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def valid_length(length: float, stamp: float, now: float, ttl: float) -> float:
    """``length`` if an entry touched at ``stamp`` is still alive at ``now``, else 0."""
    return length if now - stamp <= ttl else 0.0


def split_prompt(prompt: float, readable: float, min_tokens: float) -> tuple[float, float, float]:
    """(fresh, cached, write) of a prompt whose longest live cached prefix is ``readable`` tokens.

    Below ``min_tokens`` a prompt is neither read nor written (all fresh); a prefix shorter than
    ``min_tokens`` cannot be read, but the prompt is still written.
    """
    if prompt < min_tokens:
        return prompt, 0.0, 0.0
    cached = readable if readable >= min_tokens else 0.0
    if cached > prompt:
        cached = prompt
    return 0.0, cached, prompt - cached


class PrefixCache:
    """Shared prefixes keyed by anything hashable, e.g. (model, workload)."""

    __slots__ = ("ttl", "min_tokens", "_stamps", "_lengths", "hits", "lookups")

    def __init__(self, ttl_s: float, min_tokens: float = 0.0):
        self.ttl = float(ttl_s)
        self.min_tokens = float(min_tokens)
        self._stamps: dict = {}
        self._lengths: dict = {}
        self.hits = 0
        self.lookups = 0

    def lookup(self, key, now: float) -> float:
        """Length of the live entry under ``key`` (0 if none, expired or below the minimum)."""
        self.lookups += 1
        s = self._stamps.get(key)
        if s is None or now - s > self.ttl:
            return 0.0
        n = self._lengths[key]
        if n < self.min_tokens:
            return 0.0
        self.hits += 1
        return n

    def touch(self, key, length: float, now: float) -> None:
        """Write or refresh the entry under ``key`` at ``now`` (a prefix of ``length`` tokens)."""
        if length < self.min_tokens:
            return
        s = self._stamps.get(key)
        if s is None or now >= s:
            self._stamps[key] = now
            self._lengths[key] = length

    def access(self, key, length: float, now: float) -> float:
        """Read then write ``key`` in one step; returns the length read (0 on a miss)."""
        got = self.lookup(key, now)
        self.touch(key, length, now)
        return got

    @property
    def hit_rate(self) -> float:
        return self.hits / self.lookups if self.lookups else 0.0
