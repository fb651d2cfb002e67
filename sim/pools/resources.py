"""Thin SimPy resources over the pool formulas: an API pool with token buckets, a GPU pool.

Both are built to cost few SimPy events per call (the demand simulation targets 50,000 calls a
second on one core):

- ``TokenBucket`` reserves capacity in arrival order and returns how long a call must wait
  (virtual scheduling: the balance may go negative and refills at the rate), so a throttled call
  costs no event of its own: its wait is added to the caller's next timeout.
- ``GpuPool`` is a set of GPUs doing continuous batching. A request is admitted to the least
  loaded GPU with a free batch slot, or waits in one FIFO queue. Its decode speed is fixed at
  admission from the concurrency on that GPU (the catalog curve read backwards: at c streams per
  GPU, the per-user speed i solves throughput_at(i) / i = c), so its holding time is known at
  once and the slot is released lazily: no event per release, one wake-up event only while
  requests are queued. Speeds are not re-rated when other requests join or leave (documented
  approximation).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

__all__ = ["ApiLatency", "TokenBucket", "ApiPool", "GpuPool", "Ticket", "interactivity_at_concurrency",
           "slo_slots", "gpu_pool_from_curve"]


# ---- API --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiLatency:
    """Latency of a hosted API call (assumption, not in the scenario: typical hosted frontier API
    latencies in 2025: 0.3-1 s to first token, 50-100 output tokens/s per stream)."""

    ttft_base_s: float = 0.5
    prefill_tok_s: float = 20000.0  # uncached prompt tokens per second added to the TTFT
    decode_tok_s: float = 70.0  # output tokens per second the user sees


class TokenBucket:
    """A token bucket of ``capacity`` refilled at ``rate`` per second, reserved in arrival order.

    ``reserve(t, cost)`` takes ``cost`` at time ``t`` and returns the wait until the bucket would
    have held it (0 when it had). The balance may go negative: later callers then wait for the
    debt to refill, which is exactly FIFO waiting for capacity. Times earlier than the last call
    are treated as the last call's time.
    """

    __slots__ = ("capacity", "rate", "level", "t")

    def __init__(self, capacity: float, rate: float):
        if capacity <= 0 or rate <= 0:
            raise ValueError("token bucket needs capacity > 0 and rate > 0")
        self.capacity = float(capacity)
        self.rate = float(rate)
        self.level = float(capacity)
        self.t = 0.0

    def reserve(self, t: float, cost: float) -> float:
        if t > self.t:
            lvl = self.level + (t - self.t) * self.rate
            self.level = lvl if lvl < self.capacity else self.capacity
            self.t = t
        lvl = self.level
        self.level = lvl - cost
        if lvl >= cost:
            return 0.0
        return (cost - lvl) / self.rate


class ApiPool:
    """The pay-per-token API: per-model rate limits (RPM, TPM) and a nominal latency."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None, latency: ApiLatency | None = None):
        self.rpm = rpm
        self.tpm = tpm
        self.latency = latency or ApiLatency()
        self._buckets: dict[str, tuple[TokenBucket | None, TokenBucket | None]] = {}
        self.limited = rpm is not None or tpm is not None

    def wait(self, model: str, t: float, tokens: float) -> float:
        """Seconds a call of ``tokens`` (prompt + output) to ``model`` at time ``t`` is held back."""
        b = self._buckets.get(model)
        if b is None:
            b = (TokenBucket(self.rpm, self.rpm / 60.0) if self.rpm else None,
                 TokenBucket(self.tpm, self.tpm / 60.0) if self.tpm else None)
            self._buckets[model] = b
        d = 0.0
        if b[0] is not None:
            d = b[0].reserve(t, 1.0)
        if b[1] is not None:
            d2 = b[1].reserve(t, tokens)
            if d2 > d:
                d = d2
        return d


# ---- GPU --------------------------------------------------------------------------------------


def interactivity_at_concurrency(curve, concurrency: float) -> float:
    """Per-user decode speed (tok/s) when ``concurrency`` streams share one GPU.

    Solves throughput_at(i) / i = c. Above the curve's first-point concurrency the throughput is
    flat (no more batching gain) so i = T0 / c; below its last-point concurrency the speed is the
    fastest benchmarked one (the curve says nothing faster).
    """
    c = float(concurrency)
    i_pts, t_pts = curve.interactivity, curve.throughput
    if c <= 0:
        raise ValueError("concurrency must be > 0")
    if c >= t_pts[0] / i_pts[0]:
        return float(t_pts[0] / c)
    if c <= t_pts[-1] / i_pts[-1]:
        return float(i_pts[-1])
    f = lambda x: math.log(max(float(curve.throughput_at(math.exp(x))), 1e-300)) - x - math.log(c)  # noqa: E731
    return float(math.exp(brentq(f, math.log(i_pts[0]), math.log(i_pts[-1]), xtol=1e-10)))


def slo_slots(curve, interactivity_slo: float) -> int:
    """Batch slots per GPU at an SLO: streams one GPU can run with each at least the SLO speed.

    floor(throughput_at(i) / i) at i = max(SLO, first curve point): running more streams than
    the first point's concurrency adds no throughput, only latency. At least 1.
    """
    i = max(float(interactivity_slo), float(curve.interactivity[0]))
    t = float(curve.throughput_at(i))
    if t <= 0:
        raise ValueError(f"the curve cannot serve {interactivity_slo} tok/s per user "
                         f"(its fastest point is {curve.max_interactivity()} tok/s)")
    return max(1, int(math.floor(t / i + 1e-9)))


class Ticket:
    """One request to a GPU pool. ``event`` is None when admitted at once, else an event that
    succeeds on admission. After admission: ``t_admit``, ``gpu``, ``conc`` (streams on that GPU
    including this one), ``speed`` (tok/s per user), ``prefill_s`` and ``hold`` (seconds the slot
    is held)."""

    __slots__ = ("t_req", "t_admit", "gpu", "conc", "speed", "prefill_s", "hold", "event",
                 "prefill_tokens", "output_tokens", "service_s")

    def __init__(self, t_req: float, prefill_tokens: float, output_tokens: float, service_s: float | None):
        self.t_req = t_req
        self.prefill_tokens = prefill_tokens
        self.output_tokens = output_tokens
        self.service_s = service_s
        self.event = None
        self.t_admit = math.nan
        self.gpu = -1
        self.conc = 0
        self.speed = 0.0
        self.prefill_s = 0.0
        self.hold = 0.0


class GpuPool:
    """GPUs serving one model with continuous batching (see the module docstring).

    ``speeds[c]`` is the per-user decode speed at c concurrent streams on a GPU (c = 1..slots);
    ``prefill_tok_s`` the prompt rate of one GPU. A request's slot is held for
    prefill_tokens / prefill_tok_s + output_tokens / speeds[c] (or ``service_s`` when given:
    a plain multi-server queue for tests). ``record=True`` keeps every (admit, end) pair so the
    occupancy of any window can be measured exactly.
    """

    def __init__(self, env, n_gpus: int, slots: int, speeds, prefill_tok_s: float = math.inf,
                 name: str = "gpu", record: bool = True):
        if n_gpus < 1 or slots < 1:
            raise ValueError("a GPU pool needs at least one GPU and one slot per GPU")
        speeds = list(map(float, speeds))
        if len(speeds) != slots + 1:
            raise ValueError("speeds must have slots + 1 entries (index 0 unused)")
        self.env = env
        self.name = name
        self.n_gpus = int(n_gpus)
        self.slots = int(slots)
        self.speeds = speeds
        self.prefill_tok_s = float(prefill_tok_s)
        self._active = [0] * self.n_gpus
        # GPUs bucketed by how many streams they run: least loaded = lowest non-empty level
        self._levels: list[dict[int, None]] = [dict() for _ in range(self.slots + 1)]
        self._levels[0] = dict.fromkeys(range(self.n_gpus))
        self._min = 0
        self._ends: list[tuple[float, int]] = []  # heap of (end time, gpu)
        self._queue: list[Ticket] = []
        self._qhead = 0
        self._wake_pending = False
        self.record = record
        # output tok/s one GPU delivers with every slot busy (the curve at the SLO): GPU-seconds
        # are charged at this rate, as the forecast does
        self.decode_tok_s_gpu = self.slots * self.speeds[self.slots]
        self.admits: list[float] = []
        self.end_times: list[float] = []
        self.gpu_of: list[int] = []
        self.busy_slot_s = 0.0
        self.requests = 0
        self.queued = 0

    # -- state ---------------------------------------------------------------------------------
    @property
    def capacity_slots(self) -> int:
        return self.n_gpus * self.slots

    def queue_length(self) -> int:
        return len(self._queue) - self._qhead

    def has_free_slot(self) -> bool:
        """True when a request arriving now would be admitted at once."""
        self._purge(self.env.now)
        return self._qhead == len(self._queue) and self._min < self.slots

    # -- requests ------------------------------------------------------------------------------
    def request(self, prefill_tokens: float, output_tokens: float, service_s: float | None = None) -> Ticket:
        now = self.env.now
        tk = Ticket(now, prefill_tokens, output_tokens, service_s)
        self.requests += 1
        self._purge(now)
        if self._qhead == len(self._queue) and self._min < self.slots:
            self._admit(tk, now)
            return tk
        tk.event = self.env.event()
        self._queue.append(tk)
        self.queued += 1
        if not self._wake_pending:
            self._schedule_wake(now)
        return tk

    def _admit(self, tk: Ticket, now: float) -> None:
        lv = self._min
        level = self._levels[lv]
        g = next(iter(level))
        del level[g]
        c = lv + 1
        self._levels[c][g] = None
        self._active[g] = c
        if not level:
            self._min = c  # the GPUs at level lv were the least loaded; none left there
        if tk.service_s is not None:
            pre = 0.0
            hold = tk.service_s
            speed = self.speeds[c]
        else:
            speed = self.speeds[c]
            pre = tk.prefill_tokens / self.prefill_tok_s
            hold = pre + (tk.output_tokens / speed if speed > 0 else math.inf)
        tk.t_admit = now
        tk.gpu = g
        tk.conc = c
        tk.speed = speed
        tk.prefill_s = pre
        tk.hold = hold
        end = now + hold
        heapq.heappush(self._ends, (end, g))
        self.busy_slot_s += hold
        if self.record:
            self.admits.append(now)
            self.end_times.append(end)
            self.gpu_of.append(g)

    def _purge(self, now: float) -> None:
        ends = self._ends
        while ends and ends[0][0] <= now:
            _, g = heapq.heappop(ends)
            c = self._active[g]
            del self._levels[c][g]
            self._levels[c - 1][g] = None
            self._active[g] = c - 1
            if c - 1 < self._min:
                self._min = c - 1
            # admit queued requests as slots free up (FIFO)
            while self._qhead < len(self._queue) and self._min < self.slots:
                tk = self._queue[self._qhead]
                self._queue[self._qhead] = None  # type: ignore[call-overload]
                self._qhead += 1
                self._admit(tk, now)
                tk.event.succeed(tk)
        if self._qhead and self._qhead == len(self._queue):
            self._queue.clear()
            self._qhead = 0

    def _schedule_wake(self, now: float) -> None:
        if not self._ends:
            return
        self._wake_pending = True
        ev = self.env.timeout(max(self._ends[0][0] - now, 0.0))
        ev.callbacks.append(self._wake)

    def _wake(self, _ev) -> None:
        self._wake_pending = False
        now = self.env.now
        self._purge(now)
        if self._qhead < len(self._queue):
            self._schedule_wake(now)

    # -- measurement ---------------------------------------------------------------------------
    def occupancy(self, t0: float, t1: float) -> float:
        """Mean share of batch slots occupied over [t0, t1] (needs ``record=True``)."""
        if not self.record:
            raise RuntimeError("occupancy needs record=True")
        a = np.asarray(self.admits)
        e = np.asarray(self.end_times)
        overlap = np.clip(np.minimum(e, t1) - np.maximum(a, t0), 0.0, None)
        return float(overlap.sum() / (self.capacity_slots * (t1 - t0)))

    def busy_share(self, t0: float, t1: float) -> float:
        """Mean share of GPUs running at least one stream over [t0, t1] (needs ``record=True``)."""
        if not self.record:
            raise RuntimeError("busy_share needs record=True")
        a = np.clip(np.asarray(self.admits), t0, t1)
        e = np.clip(np.asarray(self.end_times), t0, t1)
        g = np.asarray(self.gpu_of, dtype=np.int64)
        busy = 0.0
        for k in np.unique(g):
            sel = g == k
            order = np.argsort(a[sel], kind="stable")
            aa, ee = a[sel][order], e[sel][order]
            reach = np.maximum.accumulate(ee)
            # a new busy period starts where an admission comes after every earlier end
            start = np.r_[True, aa[1:] > reach[:-1]]
            idx = np.flatnonzero(start)
            ends = np.r_[reach[idx[1:] - 1], reach[-1]] if idx.size else np.zeros(0)
            busy += float((ends - aa[idx]).sum())
        return busy / (self.n_gpus * (t1 - t0))


def gpu_pool_from_curve(env, curve, n_gpus: int, interactivity_slo: float, *, speedup: bool = True,
                        throughput_scale: float = 1.0, decode_share: float = 1.0, name: str = "gpu",
                        record: bool = True) -> GpuPool:
    """A GPU pool for one model: slots per GPU at the SLO, speeds read off the catalog curve.

    ``speedup=False`` runs every stream at the SLO speed whatever the concurrency (a pool of
    known, fixed service times). ``throughput_scale`` multiplies the curve's throughput (e.g. a
    newer hardware generation): at the same speed a GPU runs that many times more streams.
    ``decode_share`` is the share of GPU time left for decoding when prompts longer than the
    benchmark's take the rest at the prefill rate (``sim.pools.gpu.gpu_seconds`` charges them
    so): the GPU then decodes ``decode_share`` × the curve, so a pool full at the SLO does the
    GPU-seconds that formula charges.
    """
    k = throughput_scale * decode_share
    if not k > 0:
        raise ValueError("throughput_scale × decode_share must be > 0")
    slots = max(1, int(math.floor(slo_slots(curve, interactivity_slo) * k + 1e-9)))
    i_slo = max(float(interactivity_slo), float(curve.interactivity[0]))
    if speedup:
        speeds = [0.0] + [interactivity_at_concurrency(curve, c / k) for c in range(1, slots + 1)]
    else:
        speeds = [0.0] + [i_slo] * slots
    pool = GpuPool(env, n_gpus, slots, speeds, curve.prefill_tok_s_gpu * throughput_scale, name=name,
                   record=record)
    pool.decode_tok_s_gpu = float(curve.throughput_at(i_slo)) * throughput_scale
    return pool
