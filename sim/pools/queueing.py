"""Latency under load for a provisioned pool or a GPU fleet: FIFO queues over a request stream.

Pure functions over numpy arrays, requests sorted by arrival time ``t`` (seconds). The loops over
requests are numba kernels (``cache=True``); the Python wrappers only check and convert inputs.

**The fluid FIFO approximation of a token-rate limit.** A provisioned pool of ``u`` units serves
work at ``u·rate`` work tokens per second. It is modelled as one work-conserving FIFO server that
gives each request, in arrival order, the whole pool rate: a request of ``unit_seconds`` s (work /
rate, as in ``sim.pools.capacity``) occupies it for ``unit_seconds / u`` s. Its wait ``W`` is the
time until the work of the requests ahead has drained (Lindley recursion, ``fifo_single``); its own
processing time is left to the baseline latency model (``latency``), so ``W`` is added to the time
to first token.

- Exact where it matters for sizing: the unfinished work of the pool at every instant is the same
  for every work-conserving discipline, so the backlog, the utilisation and the time the pool is
  saturated do not depend on the FIFO choice; a request's wait is its arrival-time backlog
  divided by the pool rate.
- Pessimistic where a request's work is charged to the pool at once (the burndown counts output
  tokens that are really produced over the request's seconds of decoding, so a burst looks taller
  than the pool sees it), where the provider tolerates short bursts above the per-second quota (a
  bucket the model does not give), and where the provider serves requests concurrently
  (processor sharing lets small requests overtake a large one; FIFO makes them wait behind it).
- Optimistic where the provider does not queue at all: a Vertex / Azure / Bedrock pool sends the
  excess to pay-go or answers 429 at once; use ``spill`` for that. Also optimistic in assuming the
  full nominal rate is reached at any request mix and that a single request can use all ``u``
  units' rate, and in ignoring other tenants' noise on the provider side.

``fifo_servers`` is the multi-server version (Kiefer–Wolfowitz) for GPU replicas or batch slots,
where the service time is a request's holding time on one replica or slot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from .resources import ApiLatency

__all__ = ["fifo_single", "fifo_servers", "pool_waits", "spill", "BaselineLatency", "latency",
           "percentiles", "slo_share", "HEAP_MIN_SERVERS"]

# fifo_servers picks the next free server by a linear scan below this many servers and by a binary
# min-heap from it. Measured on 1,000,000 arrivals (2 cores, numba 0.68, best of 3), scan / heap:
# 6 / 8 ms at c = 2, 12 / 14 ms at 8, 20-22 / 21-23 ms at 16, 30 / 25-29 ms at 24, 77 / 37-40 ms
# at 64, 150 / 45-49 ms at 128 (two runs: M/M/c at ρ = 0.8, and benchmarks/bench_size.py
# --servers-scan). They cross between 16 and 24.
HEAP_MIN_SERVERS = 20


def _f64(x, name: str) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array")
    return a


def check_stream(t: np.ndarray, s: np.ndarray, what: str = "the service times") -> None:
    """Arrival times sorted and finite, and a finite, non-negative ``what`` per arrival (ValueError)."""
    if t.ndim != 1 or s.shape != t.shape:
        raise ValueError(f"t and {what} must be 1-d arrays of the same length")
    if t.size and not np.isfinite(t).all():
        raise ValueError("arrival times must be finite")
    if s.size and (not np.isfinite(s).all() or s.min() < 0):
        raise ValueError(f"{what} must be finite and >= 0")
    if t.size > 1 and (np.diff(t) < 0).any():
        raise ValueError("arrival times must be sorted ascending")


# ---- one server: Lindley --------------------------------------------------------------------


@nb.njit(cache=True)
def _lindley(t, s, scale):
    """W_0 = 0, W_{n+1} = max(0, W_n + scale·S_n − (t_{n+1} − t_n))."""
    n = t.shape[0]
    w = np.empty(n)
    if n == 0:
        return w
    b = 0.0  # the backlog (s of pool time) just after the previous arrival joined
    tp = t[0]
    for i in range(n):
        b -= t[i] - tp
        if b < 0.0:
            b = 0.0
        tp = t[i]
        w[i] = b
        b += s[i] * scale
    return w


def fifo_single(t, service) -> np.ndarray:
    """Waiting times (s) of one work-conserving FIFO server: the Lindley recursion
    W_{n+1} = max(0, W_n + S_n − (t_{n+1} − t_n)), W_0 = 0.

    For a provisioned pool of ``u`` units pass ``service = unit_seconds / u`` (or use
    ``pool_waits``). The wait excludes the request's own service time.
    """
    t = _f64(t, "t")
    s = _f64(service, "service")
    check_stream(t, s)
    return _lindley(t, s, 1.0)


# ---- c servers: Kiefer–Wolfowitz ------------------------------------------------------------


@nb.njit(cache=True)
def _kw_scan(t, s, c):
    n = t.shape[0]
    w = np.empty(n)
    free = np.zeros(c)  # the time each server next becomes free
    for j in range(c):
        free[j] = -np.inf
    for i in range(n):
        jm = 0
        fm = free[0]
        for j in range(1, c):
            if free[j] < fm:
                fm = free[j]
                jm = j
        start = fm if fm > t[i] else t[i]
        w[i] = start - t[i]
        free[jm] = start + s[i]
    return w


@nb.njit(cache=True)
def _kw_heap(t, s, c):
    n = t.shape[0]
    w = np.empty(n)
    h = np.empty(c)  # a binary min-heap of the servers' free times
    for j in range(c):
        h[j] = -np.inf
    for i in range(n):
        fm = h[0]
        start = fm if fm > t[i] else t[i]
        w[i] = start - t[i]
        x = start + s[i]
        # replace the root by x and sift it down
        k = 0
        while True:
            a = 2 * k + 1
            if a >= c:
                break
            b = a + 1
            if b < c and h[b] < h[a]:
                a = b
            if h[a] < x:
                h[k] = h[a]
                k = a
            else:
                break
        h[k] = x
    return w


def fifo_servers(t, service, c: int) -> np.ndarray:
    """Waiting times (s) of ``c`` identical FIFO servers fed by one queue (Kiefer–Wolfowitz): each
    arrival, in order, goes to the server that frees first and waits max(0, its free time − t).

    For GPU replicas or batch slots: ``service`` is a request's holding time on one of them.
    ``c = 1`` is ``fifo_single``. Per request, waits never rise when a server is added.
    """
    c = int(c)
    if c < 1:
        raise ValueError("fifo_servers needs c >= 1 servers")
    t = _f64(t, "t")
    s = _f64(service, "service")
    check_stream(t, s)
    if c == 1:
        return _lindley(t, s, 1.0)
    if c >= HEAP_MIN_SERVERS:
        return _kw_heap(t, s, c)
    return _kw_scan(t, s, c)


def pool_waits(t, unit_seconds, units: float, checked: bool = False) -> np.ndarray:
    """Waits in a provisioned pool of ``units`` units (fluid FIFO: service = unit_seconds / units;
    ``units`` may be fractional). Without a second array per unit count. ``checked``: ``t`` and
    ``unit_seconds`` are float64 arrays already through ``check_stream`` (a search over counts)."""
    if not units > 0:
        raise ValueError("a pool with no units has no queue: every request spills (see spill)")
    if not checked:
        t = _f64(t, "t")
        us = _f64(unit_seconds, "unit_seconds")
        check_stream(t, us)
    else:
        us = unit_seconds
    return _lindley(t, us, 1.0 / float(units))


# ---- spill to pay-go (or 429) ---------------------------------------------------------------


@nb.njit(cache=True)
def _lindley_reject(t, s, scale, limit):
    n = t.shape[0]
    spilled = np.zeros(n, dtype=np.bool_)
    w = np.empty(n)
    m = 0
    b = 0.0
    tp = t[0] if n > 0 else 0.0
    for i in range(n):
        b -= t[i] - tp
        if b < 0.0:
            b = 0.0
        tp = t[i]
        if b > limit:
            spilled[i] = True  # not queued: the backlog is left as it was
        else:
            w[m] = b
            m += 1
            b += s[i] * scale
    return spilled, w[:m].copy()


def spill(t, unit_seconds, units: float, queue_limit_s: float, checked: bool = False):
    """Requests a pool of ``units`` units spills to pay-go (or answers 429), and the admitted waits.

    Rule: a request arriving when the pool's backlog — the wait it would get, the drain time of
    the work admitted before it at ``units`` units' rate — exceeds ``queue_limit_s`` is spilled:
    it never joins the queue and adds no work to the pool. Otherwise it is admitted and waits that
    backlog (``wait <= queue_limit_s``, equality admitted). ``queue_limit_s = 0`` admits a request
    only when the pool is idle; ``inf`` is ``pool_waits``. ``units = 0`` spills everything (an
    all-pay-go plan). The rule looks only at the wait, not at the request's own service time.

    Returns ``(spilled, waits)``: a bool mask over all requests and the waits (s) of the admitted
    ones, in arrival order (``waits`` has ``(~spilled).sum()`` entries; align other per-request
    arrays with ``x[~spilled]``). ``checked`` as in ``pool_waits``.
    """
    if not checked:
        t = _f64(t, "t")
        us = _f64(unit_seconds, "unit_seconds")
        check_stream(t, us)
    else:
        us = unit_seconds
    limit = float(queue_limit_s)
    if not limit >= 0:
        raise ValueError("queue_limit_s must be >= 0")
    if units < 0:
        raise ValueError("units must be >= 0")
    if units == 0:
        return np.ones(t.shape[0], dtype=bool), np.zeros(0)
    return _lindley_reject(t, us, 1.0 / float(units), limit)


# ---- latency ----------------------------------------------------------------------------------

_API = ApiLatency()


@dataclass(frozen=True)
class BaselineLatency:
    """Latency of one request on an unloaded pool: ttft = base_s + input / prefill_tok_s, and
    e2e = ttft + output / decode_tok_s (the queueing wait is added to the ttft by ``latency``).

    The defaults are the repo's API latency assumption, ``sim.pools.resources.ApiLatency`` (also
    what the demand simulation ``sim.des`` uses), not a measurement: "typical hosted frontier API
    latencies in 2025: 0.3-1 s to first token, 50-100 output tokens/s per stream" —
    base 0.5 s, prefill 20,000 uncached prompt tokens/s, decode 70 output tokens/s per stream.
    Neither ``../shared/research/inference-anchors.md`` (GPU curves, not hosted APIs) nor the price
    research gives per-model hosted latencies; override them per profile when a source exists
    (a small model such as gemini-2.5-flash-lite streams well above 70 tok/s).
    """

    base_s: float = _API.ttft_base_s
    prefill_tok_s: float = _API.prefill_tok_s
    decode_tok_s: float = _API.decode_tok_s

    def __post_init__(self):
        if not (self.base_s >= 0 and self.prefill_tok_s > 0 and self.decode_tok_s > 0):
            raise ValueError("BaselineLatency needs base_s >= 0 and positive prefill/decode rates")

    @classmethod
    def from_api(cls, api: ApiLatency) -> BaselineLatency:
        return cls(api.ttft_base_s, api.prefill_tok_s, api.decode_tok_s)


def latency(t, input_tokens, output_tokens, waits, model: BaselineLatency | None = None):
    """``(ttft, e2e)`` per request (s): ttft = base + input/prefill + wait, e2e = ttft +
    output/decode. ``input_tokens`` are the prompt tokens the pool must prefill (uncached, as in
    ``sim.des``); ``t`` only fixes the length (the baseline does not depend on the time)."""
    m = model or BaselineLatency()
    n = np.shape(t)[0]
    inp = np.asarray(input_tokens, dtype=np.float64)
    out = np.asarray(output_tokens, dtype=np.float64)
    w = np.asarray(waits, dtype=np.float64)
    if not (inp.shape == out.shape == w.shape == (n,)):
        raise ValueError("t, input_tokens, output_tokens and waits must have the same length")
    ttft = m.base_s + inp / m.prefill_tok_s + w
    e2e = ttft + out / m.decode_tok_s
    return ttft, e2e


def percentiles(x, qs=(50, 95, 99)) -> dict:
    """``{q: empirical q-th percentile of x}`` (numpy ``inverted_cdf``: an observed value, the
    smallest v with at least q % of x ≤ v). So ``percentiles(x, [99])[99] <= T`` exactly when
    ``slo_share(x, T) >= 0.99``: a percentile SLO and a share SLO agree."""
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        return {q: math.nan for q in qs}
    v = np.percentile(a, np.asarray(qs, dtype=np.float64), method="inverted_cdf")
    return {q: float(vi) for q, vi in zip(qs, np.atleast_1d(v))}


def slo_share(x, threshold: float) -> float:
    """Share of requests with ``x <= threshold`` (nan for no requests)."""
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        return math.nan
    return float(np.count_nonzero(a <= threshold)) / a.size
