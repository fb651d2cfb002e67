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

``batched_servers`` is the continuous-batching GPU pool of the DES (``sim.pools.resources.GpuPool``)
as a numba kernel: servers (GPUs, or replicas of several GPUs) each run up to ``slots`` streams; a
request goes to the least-loaded server and decodes at the per-user speed of the server's
concurrency at admission; requests wait FIFO when every slot is busy. Same rules and tie-breaks
as the SimPy pool, so the two give the same admissions (tested), at numba speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from .resources import ApiLatency

__all__ = ["fifo_single", "fifo_servers", "pool_waits", "spill", "BaselineLatency", "latency",
           "percentiles", "slo_share", "HEAP_MIN_SERVERS", "Batched", "batched_servers"]

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


# ---- continuous batching: the DES's GPU pool --------------------------------------------------


@nb.njit(cache=True)
def _heap_push(he, hg, size, e, g):
    k = size
    while k > 0:
        p = (k - 1) // 2
        if he[p] < e or (he[p] == e and hg[p] <= g):
            break
        he[k] = he[p]
        hg[k] = hg[p]
        k = p
    he[k] = e
    hg[k] = g
    return size + 1


@nb.njit(cache=True)
def _heap_pop(he, hg, size):
    """Remove the root; returns the new size (the caller read he[0], hg[0] first)."""
    size -= 1
    e, g = he[size], hg[size]
    k = 0
    while True:
        a = 2 * k + 1
        if a >= size:
            break
        b = a + 1
        if b < size and (he[b] < he[a] or (he[b] == he[a] and hg[b] < hg[a])):
            a = b
        if he[a] < e or (he[a] == e and hg[a] < g):
            he[k] = he[a]
            hg[k] = hg[a]
            k = a
        else:
            break
    if size > 0:
        he[k] = e
        hg[k] = g
    return size


@nb.njit(cache=True)
def _batched(t, prefill, out, servers, slots, speeds, prefill_rate, reject):
    n = t.shape[0]
    admit = np.full(n, np.nan)
    conc = np.zeros(n, dtype=np.int64)
    speed = np.zeros(n)
    pre = np.zeros(n)
    end = np.full(n, np.nan)
    spilled = np.zeros(n, dtype=np.bool_)
    active = np.zeros(servers, dtype=np.int64)
    stamp = np.arange(servers).astype(np.int64)  # when each server entered its level: the SimPy dicts' order
    counter = servers
    cap = servers * slots + 1
    he = np.empty(cap)
    hg = np.empty(cap, dtype=np.int64)
    size = 0
    queue = np.empty(n, dtype=np.int64)
    qh = 0
    qt = 0
    i = 0
    while i < n or size > 0:
        # the next event: an end (up to and including the next arrival's time) or the arrival
        if size > 0 and (i >= n or he[0] <= t[i]):
            now = he[0]
            g = hg[0]
            size = _heap_pop(he, hg, size)
            active[g] -= 1
            stamp[g] = counter
            counter += 1
            j_new = -1
        else:
            now = t[i]
            j_new = i
            i += 1
        # admit from the queue, then the arrival, while a slot is free
        while True:
            gm = -1  # the least-loaded server with a free slot; ties: the longest at that load
            for k in range(servers):
                if active[k] < slots and (gm < 0 or active[k] < active[gm]
                                          or (active[k] == active[gm] and stamp[k] < stamp[gm])):
                    gm = k
            if gm < 0:
                break
            if qh < qt:
                j = queue[qh]
                qh += 1
            elif j_new >= 0:
                j = j_new
                j_new = -1
            else:
                break
            c = active[gm] + 1
            active[gm] = c
            stamp[gm] = counter
            counter += 1
            sp = speeds[c]
            p = prefill[j] / prefill_rate
            hold = p + (out[j] / sp if sp > 0 else np.inf)
            admit[j] = now
            conc[j] = c
            speed[j] = sp
            pre[j] = p
            end[j] = now + hold
            size = _heap_push(he, hg, size, now + hold, gm)
        if j_new >= 0:
            if reject:
                spilled[j_new] = True
            else:
                queue[qt] = j_new
                qt += 1
    return admit, conc, speed, pre, end, spilled


@dataclass(frozen=True)
class Batched:
    """What ``batched_servers`` did with each request (NaN admit/end for a spilled one)."""

    admit: np.ndarray
    concurrency: np.ndarray  # streams on its server at admission, itself included
    speed: np.ndarray  # decode tokens/s per user
    prefill_s: np.ndarray
    end: np.ndarray
    spilled: np.ndarray

    @property
    def slot_seconds(self) -> float:
        ok = ~self.spilled
        return float((self.end[ok] - self.admit[ok]).sum())


def batched_servers(t, prefill_tokens, output_tokens, servers: int, slots: int, speeds, prefill_tok_s: float,
                    reject_when_full: bool = False) -> Batched:
    """Continuous batching on ``servers`` servers of ``slots`` streams (the DES's ``GpuPool``).

    ``speeds[c]`` (c = 1..slots; ``speeds[0]`` unused) is the per-user decode speed with c streams on
    a server; a request holds its slot for prefill_tokens / prefill_tok_s + output / speeds[c], c
    the server's streams at its admission. It goes to the least-loaded server (ties: the one that
    has been at that load longest); when every slot is busy it waits FIFO and is admitted when a
    slot frees (ends in time order, ties by server), or with ``reject_when_full`` spills at once.
    """
    t = _f64(t, "t")
    pf = _f64(prefill_tokens, "prefill_tokens")
    ot = _f64(output_tokens, "output_tokens")
    check_stream(t, pf, "prefill tokens")
    check_stream(t, ot, "output tokens")
    sp = _f64(speeds, "speeds")
    if servers < 1 or slots < 1 or sp.size != slots + 1 or not np.all(sp[1:] > 0) or not prefill_tok_s > 0:
        raise ValueError("batched_servers needs servers >= 1, slots >= 1, slots + 1 speeds (positive from index 1) "
                         "and a positive prefill rate")
    return Batched(*_batched(t, pf, ot, int(servers), int(slots), sp, float(prefill_tok_s), bool(reject_when_full)))


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
