"""Real prefix-cache reuse: replay the Mooncake conversation trace through the project's cache model.

The Mooncake FAST'25 conversation trace (``calibration/traces/mooncake_conversation_trace.jsonl.gz``,
provenance in ``calibration/traces/SOURCE.md``) lists, for each of 12,031 requests of one hour of
Kimi's chat service, the remapped hashes of its 512-token prompt blocks (``hash_ids``). Equal ids
are equal prefixes: in this trace an id always sits at the same block position behind the same
predecessor (checked by ``check_hash_chain``), so block ``k`` of a request names the whole prefix
``0..k`` and a request can reuse the *leading run* of its blocks that some earlier request wrote.

``replay`` sends the requests, in trace order, through ``sim.demand.caches.PrefixCache`` (the
TTL cache the demand simulation uses for shared prefixes) keyed by block hash, with entry length
= tokens up to the end of that block; the tokens read come from ``sim.demand.caches.split_prompt``.
Provider rules are kept: a hit refreshes the TTL, and every request marks its whole prompt for
caching (all its blocks are written or refreshed at its arrival time). The last block of a
request may be partial: it counts ``input_length - 512 * (blocks - 1)`` tokens.

With an infinite TTL this reproduces the upper bound of ``shared/research/traces.md`` §3.2:
37.4% of input tokens (36.6% of blocks). Timestamps are quantised to 3 s in the trace, so
requests with the same timestamp are replayed in file order (an earlier line can serve a later
one even at the same instant, as in the reference computation).

Run ``python calibration/prefix_reuse.py`` to print the reuse at TTL = infinite, 1 h and 5 min.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path

from sim.demand.caches import PrefixCache, split_prompt

HERE = Path(__file__).resolve().parent
TRACE = HERE / "traces" / "mooncake_conversation_trace.jsonl.gz"
BLOCK_TOKENS = 512

#: traces.md §3.2 / trace_stats.json mooncake_conversation.prefix_cache_reuse_upper_bound
REFERENCE_INFINITE = {"input_token_share": 0.3736, "block_share": 0.3664}


@dataclass(frozen=True)
class Request:
    t: float  # arrival, seconds from the start of the trace
    input_tokens: int
    output_tokens: int
    blocks: tuple[int, ...]


@dataclass(frozen=True)
class Reuse:
    ttl_s: float
    min_tokens: float
    requests: int
    input_tokens: int
    cached_tokens: float
    blocks: int
    cached_blocks: int
    requests_with_hit: int

    @property
    def token_share(self) -> float:
        return self.cached_tokens / self.input_tokens

    @property
    def block_share(self) -> float:
        return self.cached_blocks / self.blocks

    @property
    def request_hit_share(self) -> float:
        return self.requests_with_hit / self.requests


def load_trace(path: Path = TRACE) -> list[Request]:
    """The Mooncake conversation trace, one ``Request`` per JSON line, in file order."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                out.append(Request(r["timestamp"] / 1000.0, int(r["input_length"]),
                                   int(r["output_length"]), tuple(r["hash_ids"])))
    return out


def check_hash_chain(requests: list[Request]) -> int:
    """Number of hash ids seen at two different positions or behind two different predecessors.

    0 means every id names one whole prefix, so a per-block cache keyed by id is a prefix cache.
    """
    where: dict[int, tuple[int, int | None]] = {}
    bad = 0
    for r in requests:
        for i, h in enumerate(r.blocks):
            key = (i, r.blocks[i - 1] if i else None)
            if where.setdefault(h, key) != key:
                bad += 1
    return bad


def replay(requests: list[Request], ttl_s: float = math.inf, min_tokens: float = 0.0) -> Reuse:
    """Replay ``requests`` through a ``PrefixCache`` with the given TTL (seconds).

    ``min_tokens`` is the provider's minimum cacheable prefix, applied by ``split_prompt`` (the
    cache itself stores every block, so a one-block entry can still extend into a longer hit).
    """
    cache = PrefixCache(ttl_s, min_tokens=0.0)
    input_tokens = cached_tokens = blocks = cached_blocks = with_hit = 0
    for r in requests:
        n = len(r.blocks)
        k = 0  # leading run of live blocks
        while k < n and cache.lookup(r.blocks[k], r.t) > 0:
            k += 1
        readable = float(min(k * BLOCK_TOKENS, r.input_tokens))
        _fresh, cached, _write = split_prompt(float(r.input_tokens), readable, min_tokens)
        for i, h in enumerate(r.blocks):  # mark the whole prompt: write new blocks, refresh hits
            cache.touch(h, float(min((i + 1) * BLOCK_TOKENS, r.input_tokens)), r.t)
        input_tokens += r.input_tokens
        cached_tokens += cached
        blocks += n
        cached_blocks += k if cached > 0 else 0
        with_hit += cached > 0
    return Reuse(float(ttl_s), float(min_tokens), len(requests), input_tokens, cached_tokens, blocks,
                 cached_blocks, with_hit)


def reuse_table(requests: list[Request] | None = None) -> dict:
    """Reuse at TTL = infinite, 1 h and 5 min (and 5 min with a 1,024-token minimum), rounded."""
    requests = load_trace() if requests is None else requests
    span = requests[-1].t - requests[0].t
    rows = {}
    for name, ttl, mn in (("infinite", math.inf, 0.0), ("ttl_1h", 3600.0, 0.0),
                          ("ttl_5m", 300.0, 0.0), ("ttl_5m_min1024", 300.0, 1024.0)):
        r = replay(requests, ttl, mn)
        rows[name] = {"ttl_s": None if math.isinf(ttl) else ttl, "min_tokens": mn,
                      "input_token_share": round(r.token_share, 4),
                      "block_share": round(r.block_share, 4),
                      "requests_with_hit_share": round(r.request_hit_share, 4)}
    return {"trace_span_s": round(span, 1), "requests": len(requests),
            "hash_chain_inconsistencies": check_hash_chain(requests), **rows}


def main() -> None:
    t = reuse_table()
    print(f"Mooncake conversation trace: {t['requests']} requests over {t['trace_span_s']:.0f} s "
          f"(hash-chain inconsistencies: {t['hash_chain_inconsistencies']})")
    print(f"{'cache':<16}{'tokens reused':>15}{'blocks reused':>15}{'requests hit':>14}")
    for k in ("infinite", "ttl_1h", "ttl_5m", "ttl_5m_min1024"):
        r = t[k]
        print(f"{k:<16}{r['input_token_share']:>15.2%}{r['block_share']:>15.2%}"
              f"{r['requests_with_hit_share']:>14.2%}")
    print(f"reference (traces.md §3.2, infinite): {REFERENCE_INFINITE['input_token_share']:.2%} of tokens, "
          f"{REFERENCE_INFINITE['block_share']:.2%} of blocks")


if __name__ == "__main__":
    main()
