"""The demand simulation: users, sessions and model calls at request level, in SimPy.

One SimPy process per session (chat, RAG), task (agent) or document (batch), never per token.
Arrivals are generated hour by hour in vectorised batches: the number of sessions in an hour is
Poisson with mean users' intensities × rate × weekly × hourly weight, start times are uniform in
the hour, and everything a session will need that does not depend on what happens to it (its
length, per-call output and message sizes, think times, lever draws) is drawn with the batch.
A call costs one SimPy timeout (its latency plus the think or tool time after it); an API call
that is throttled or retried folds the wait into the same timeout; a GPU call adds one event if
it has to queue (and one to bring the clock up to date after a cascade's API call).

Session anatomy follows ``sim.demand.sessions`` (same prompts, same history policies, same
sub-agent and quota rules; a test checks the two agree call by call) but with per-call draws and
with prompt-cache hits decided explicitly by ``sim.demand.caches``: the shared system prompt and
tools per (workload, model) across all users, and each session's own history per session.

Modelling choices:

- Per-call/per-session draws from their distributions: turns, steps, sub-agent steps, output
  tokens, user message tokens, tool result tokens, document tokens, calls per document; think
  time and tool time are exponential with the spec's mean. Every other field (rates per user,
  prompt sizes, probabilities, caps, quotas) enters at its mean: across-path uncertainty is the
  Monte Carlo layer's job. Lengths: N = max(1, round(X)).
- Per-user intensity: lognormal with mean 1 and sigma ``intensity_sigma``, one draw per user and
  run, shared by the workloads of the user's business unit, then rescaled so a unit's intensities
  sum to its user count: heterogeneity only redistributes the workload's rate between users (who
  starts the sessions), while the total arrival rate stays users × rate per user, so the session
  count is Poisson around ``expected_sessions`` whatever the sigma.
- Output cap applies to visible + reasoning tokens: billed = min((1 + r)·X, cap), visible =
  billed / (1 + r) (as ``sim.expected.session.billed_output``).
- Retries (``sim.demand.retry``): errors bill nothing and write nothing to the cache; timeouts
  bill the prompt and a share of the output; validation failures bill everything. A retry
  re-sends the same prompt (and can read what the failed attempt cached) with the same output
  size. ``Retry.alpha`` (an override for the forecast) is ignored: alpha is measured here.
- Routing: the cheap model (API) answers every call; with probability e the primary model is
  called too. Each model has its own cache entries.
- Semantic cache hit: no model call (a row with pool ``semantic_cache`` is logged); the turn still
  happens, so history grows as usual.
- Agent quota (a hard cap, the EV rule): before each call, if the task's billed tokens so far
  plus this call's prompt and output would exceed the quota, the task stops and is counted; a
  retry or an escalation that would cross it is not made either (the task stops there).
- Batch documents wait U(0, completion window) in the batch queue, then run at batch prices; a
  failed call is resubmitted (another U(0, window) wait). ``batch_share`` of other workloads is
  priced at batch rates without delaying the conversation. API-only documents need no process:
  with rate limits they run as one SimPy callback each; without, nothing they touch (their own
  cache entries) is shared, so they run in time order outside the event loop (same draws, same
  table: a test checks it).
- API latency: ``sim.pools.resources.ApiLatency`` (an assumption); RPM/TPM token buckets per
  model make throttled calls wait in arrival order.
- GPU pools (``owned``, ``neocloud``): a workload whose allowed pools include one with GPUs in
  the simulated month (serving GPUs = count × availability; owned GPUs of a later generation
  scale the curve) sends its primary calls there in merit order (owned, then neocloud) when a
  batch slot is free, spilling to the API if allowed, else queueing. Several models on one pool
  split its GPUs by expected GPU-seconds. Batch slots per GPU are the curve's concurrency at the
  SLO times the share of GPU time left after the workloads' expected extra prefill, so a pool
  full at the SLO does the GPU-seconds ``sim.pools.gpu.gpu_seconds`` charges. Prompt tokens read
  from the cache skip prefill. GPU calls are not priced per token (their cost is the pool's); the
  tables carry their GPU-seconds (``gpu_seconds`` at the SLO's throughput, as the forecast).
- Costs: list prices at the scenario's price date (``PriceBook`` rate cards), per call, with the
  long-context cliff chosen per call; no price trend, no contracts.
"""

from __future__ import annotations

import calendar
import math
import time
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

import numpy as np
import pandas as pd
import simpy

from ..catalog.hardware import load_hardware
from ..catalog.prices import PriceBook
from ..expected.forecast import rate_per_user_day
from ..pools.neocloud import on_demand_cap, reserved_schedule
from ..pools.owned import owned_fleet
from ..pools.valuation import MeanValues
from ..expected.session import expected_session, gpu_seconds_per_session, length_spec, rag_tokens, tool_prefix
from ..pools.gpu import gpu_seconds
from ..pools.resources import ApiLatency, ApiPool, GpuPool, gpu_pool_from_curve
from ..scenario.distributions import as_dist, mean_of
from ..scenario.model import Scenario
from ..scenario.workloads import AgentWorkload, BatchWorkload
from ..demand.caches import TTL_SECONDS, split_prompt
from ..demand.sessions import MAX_SESSION_CALLS
from ..demand.population import adoption_users, profile_arrays
from ..demand.retry import OUTCOMES, RetryPolicy

__all__ = ["DesResult", "run_des", "replay_trace", "REQUEST_COLUMNS", "POOLS"]

POOLS = ("api", "owned", "neocloud", "semantic_cache")
_API, _OWNED, _NEO, _SEM = 0, 1, 2, 3
OUTCOME_NAMES = OUTCOMES + ("semantic_hit",)
_SEM_HIT = 4
SEMANTIC_HIT_S = 0.05  # latency of a semantic-cache answer (assumption)
REQUEST_COLUMNS = ("session", "t_s", "pool", "model", "fresh", "cached", "write", "output", "reasoning",
                   "queue_s", "ttft_s", "tok_s", "concurrency", "slo_met", "attempt", "outcome", "batch")
_NCOL = len(REQUEST_COLUMNS)
_INF = math.inf


@dataclass
class DesResult:
    """Result of ``run_des``.

    ``sessions``: per workload, one row per session/task/document (started in the simulated
    window) with its calls, billed token components (retries included), cost and timing.
    ``requests``: one row per attempt (and per semantic-cache answer) with latency and SLO.
    ``summary``: totals and service statistics (see ``run_des``).
    """

    sessions: dict[str, pd.DataFrame]
    requests: pd.DataFrame
    summary: dict = field(default_factory=dict)


# ---- validation ---------------------------------------------------------------------------------


# ---- small helpers ----------------------------------------------------------------------------


def _seed_for(root: int, *keys: str) -> np.random.Generator:
    """A generator keyed by names (stable under adding other workloads or units)."""
    key = tuple(zlib.crc32(k.encode("utf-8")) for k in keys)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(root, spawn_key=key)))


def _lengths(spec, rng: np.random.Generator, n: int) -> np.ndarray:
    """N = max(1, round(X)), at most MAX_SESSION_CALLS, for n draws X of a length spec (the EV engine's rule)."""
    x = np.minimum(as_dist(spec).sample(rng, n), MAX_SESSION_CALLS)
    return np.clip(np.rint(x), 1, MAX_SESSION_CALLS).astype(np.int64)


def _draws(spec, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.maximum(as_dist(spec).sample(rng, n), 0.0)


class _State:
    """Per session (or sub-agent) state: cache entries per target model, pending delay."""

    __slots__ = ("sid", "len", "stamp", "dt", "throttled", "budget", "over")

    def __init__(self, sid: int, nt: int):
        self.sid = sid
        self.len = [0.0] * nt
        self.stamp = [-_INF] * nt
        self.dt = 0.0
        self.throttled = 0
        self.budget = _INF  # tokens this call may still bill (agent quota); over: a call was cut by it
        self.over = False


class _Batch:
    """Per-hour draws for the sessions that start in that hour (plain lists, indexed fast)."""

    __slots__ = ("n", "off", "u", "ov", "ob", "th", "tr", "st", "sem", "esc", "bat", "sub", "subn", "subo",
                 "sov", "sob", "str_", "sst", "doc", "delay")


# ---- the workload runtime ---------------------------------------------------------------------


class _Workload:
    """One workload inside a run: constants at their means, draws, session processes, logs."""

    def __init__(self, sim: "_Sim", w, idx: int, lam_h: np.ndarray, cdf: np.ndarray, root_seed: int):
        self.sim = sim
        self.env = sim.env
        self.w = w
        self.name = w.name
        self.idx = idx
        self.kind = "agent" if isinstance(w, AgentWorkload) else "batch" if isinstance(w, BatchWorkload) else "chat"
        self.lam_h = lam_h
        self.cdf = cdf
        self.rng = _seed_for(root_seed, "des", "arrivals", w.name)
        self.rng_dyn = _seed_for(root_seed, "des", "dynamic", w.name)
        self._ub: list[float] = []
        self.rows: list[float] = []
        self.meta: list[float] = []
        self.nominal = 0.0
        self.escalations = 0
        self.sem_hits = 0
        self.throttled = 0
        self.quota_stops = 0
        self.next_sid = 0
        # sizes
        self.prefix = mean_of(w.system_prompt_tokens) + tool_prefix(w)
        self.rag = rag_tokens(w)
        self.r = mean_of(w.reasoning_multiplier)
        cap = w.levers.output_cap_tokens
        self.cap = _INF if cap is None else mean_of(cap)
        self.out_spec = w.output_tokens
        # levers
        lev = w.levers
        pc = lev.prompt_cache
        self.cache_on = bool(pc.enabled)
        self.ttl = TTL_SECONDS[pc.ttl]
        self.ttl_name = pc.ttl
        self.min_tokens = mean_of(pc.min_tokens) if pc.enabled else _INF
        self.shared_on = bool(pc.enabled and pc.shared_prefix)
        self.sem_rate = mean_of(lev.semantic_cache.hit_rate) if lev.semantic_cache.enabled else 0.0
        self.routing = bool(lev.routing.enabled)
        self.esc_p = mean_of(lev.routing.escalation_probability) if self.routing else 1.0
        self.is_batch = self.kind == "batch"
        self.batch_share = 1.0 if self.is_batch else mean_of(lev.batch_share)
        self.retry = RetryPolicy.from_scenario(w.retry)
        self.fail = self.retry.failure_rate
        self.max_attempts = self.retry.max_attempts
        # SLO
        self.slo_i = mean_of(w.slo.interactivity_tok_s_user)
        self.slo_ttft = mean_of(w.slo.ttft_s)
        if self.is_batch:
            self.completion_s = mean_of(w.completion_hours) * 3600.0
            self.slo_ttft = self.completion_s
        # targets: 0 = primary on the API, 1 = cheap model (routing), 2.. = GPU pools
        self.targets: list[tuple] = []  # (pool code, global model code, GpuPool | None)
        self.api_allowed = "api" in w.allowed_pools
        self.targets.append((_API, sim.model_code(w.models.api) if w.models.api else -1, None))
        self.cheap = -1
        if self.routing:
            self.cheap = 1
            self.targets.append((_API, sim.model_code(lev.routing.cheap_model), None))
        self.gpu_targets: list[int] = []
        for pool_name, code in (("owned", _OWNED), ("neocloud", _NEO)):
            if pool_name in w.allowed_pools:
                gp = sim.gpu_pools.get((pool_name, getattr(w.models, pool_name)))
                if gp is not None:
                    self.gpu_targets.append(len(self.targets))
                    self.targets.append((code, sim.model_code(getattr(w.models, pool_name)), gp))
        self.nt = len(self.targets)
        self.shared = [-_INF] * self.nt
        self.mcodes = [t[1] for t in self.targets]
        self.gen = bool(self.gpu_targets)
        if not self.api_allowed and not self.gen:
            raise ValueError(f"workload {w.name!r}: none of its allowed pools {w.allowed_pools} has GPUs in the "
                             "simulated month and the API is not allowed")
        # kind-specific constants
        if self.kind == "chat":
            h = w.history
            self.policy = {"full": 0, "window": 1, "summary": 2}[h.policy]
            self.window = max(int(round(mean_of(h.window_turns))), 0)
            self.summ = mean_of(h.summary_tokens)
            self.think = mean_of(w.think_time_s)
            self.runner = self._chat
        elif self.kind == "agent":
            self.task = mean_of(w.task_prompt_tokens)
            self.tool_spec = w.tool_result_tokens
            self.compression = mean_of(lev.compression)
            self.step_time = mean_of(w.step_time_s)
            self.sub_p = mean_of(w.subagents.probability_per_step)
            self.sub_spec = w.subagents.steps
            self.quota = _INF if w.quota_tokens is None else mean_of(w.quota_tokens)
            self.runner = self._agent
        else:
            self.doc_spec = w.input_tokens_per_document
            self.runner = self._batch

    # -- random numbers ------------------------------------------------------------------------
    def _u(self) -> float:
        b = self._ub
        if not b:
            b.extend(self.rng_dyn.random(4096).tolist())
        return b.pop()

    def _outputs(self, rng: np.random.Generator, k: int) -> tuple[list, list]:
        """(visible, billed) output per call after the cap on visible + reasoning."""
        x = _draws(self.out_spec, rng, k)
        billed = np.minimum((1.0 + self.r) * x, self.cap)
        return (billed / (1.0 + self.r)).tolist(), billed.tolist()

    def _draw(self, n: int) -> _Batch:
        rng = self.rng
        b = _Batch()
        if self.kind == "batch":
            lengths = _lengths(self.w.calls_per_document, rng, n)
        else:
            lengths = _lengths(length_spec(self.w), rng, n)
        k = int(lengths.sum())
        b.n = lengths.tolist()
        b.off = np.concatenate(([0], np.cumsum(lengths)[:-1])).tolist()
        b.ov, b.ob = self._outputs(rng, k)
        b.sem = rng.random(k).tolist() if self.sem_rate > 0 else None
        b.esc = rng.random(k).tolist() if self.routing else None
        b.bat = rng.random(k).tolist() if 0.0 < self.batch_share < 1.0 else None
        if self.kind == "chat":
            b.u = _draws(self.w.user_message_tokens, rng, k).tolist()
            b.th = (rng.exponential(self.think, k) if self.think > 0 else np.zeros(k)).tolist()
        elif self.kind == "agent":
            b.tr = (_draws(self.tool_spec, rng, k) * self.compression).tolist()
            b.st = (rng.exponential(self.step_time, k) if self.step_time > 0 else np.zeros(k)).tolist()
            spawn = rng.random(k) < self.sub_p if self.sub_p > 0 else np.zeros(k, bool)
            ns = int(spawn.sum())
            sub = np.full(k, -1, np.int64)
            sub[spawn] = np.arange(ns)
            b.sub = sub.tolist()
            if ns:
                sl = _lengths(self.sub_spec, rng, ns)
                ks = int(sl.sum())
                b.subn = sl.tolist()
                b.subo = np.concatenate(([0], np.cumsum(sl)[:-1])).tolist()
                b.sov, b.sob = self._outputs(rng, ks)
                b.str_ = (_draws(self.tool_spec, rng, ks) * self.compression).tolist()
                b.sst = (rng.exponential(self.step_time, ks) if self.step_time > 0 else np.zeros(ks)).tolist()
        else:
            b.doc = _draws(self.doc_spec, rng, n).tolist()
            b.delay = (rng.random(n) * self.completion_s).tolist()
        return b

    # -- arrivals ------------------------------------------------------------------------------
    def _hours(self):
        """(hour, start times, users, draws) of each hour's sessions, in hour order."""
        rng = self.rng
        total = float(self.cdf[-1]) if self.cdf.size else 0.0
        for h, lam in enumerate(self.lam_h.tolist()):
            n = int(rng.poisson(lam)) if lam > 0 else 0
            if n:
                times = ((h + np.sort(rng.random(n))) * 3600.0).tolist()
                users = np.searchsorted(self.cdf, rng.random(n) * total, side="right").tolist()
                yield h, times, users, self._draw(n)
            else:
                yield h, [], [], None

    def arrivals(self):
        """The SimPy process starting this workload's sessions."""
        env = self.env
        runner = self.runner
        for h, times, users, b in self._hours():
            if self.is_batch and not self.gen:
                # API-only documents need no process: one callback when the batch runs them
                for s in range(len(times)):
                    ev = env.timeout(times[s] + b.delay[s] - env.now)
                    ev.callbacks.append(partial(self._batch_now, self.next_sid, users[s], b, s, times[s]))
                    self.next_sid += 1
            else:
                for s in range(len(times)):
                    d = times[s] - env.now
                    if d > 0:
                        yield env.timeout(d)
                    env.process(runner(self.next_sid, users[s], b, s))
                    self.next_sid += 1
            d = (h + 1) * 3600.0 - env.now
            if d > 0:
                yield env.timeout(d)

    def run_offline(self) -> None:
        """Batch documents on an API without rate limits touch nothing another workload uses (their
        own cache entries only), so they are run here in time order without SimPy events: the
        same draws and the same results as the event-driven path, several times faster."""
        docs = []
        for _h, times, users, b in self._hours():
            for s in range(len(times)):
                docs.append((times[s] + b.delay[s], self.next_sid, users[s], b, s, times[s]))
                self.next_sid += 1
        docs.sort(key=lambda d: (d[0], d[1]))
        for t_run, sid, user, b, s, t_submit in docs:
            self._batch_now(sid, user, b, s, t_submit, t_run=t_run)

    # -- sessions ------------------------------------------------------------------------------
    def _chat(self, sid, user, b, s):
        env = self.env
        st = _State(sid, self.nt)
        start = env.now
        o, n = b.off[s], b.n[s]
        prefix, rag = self.prefix, self.rag
        U, OV, OB, TH, SEM, ESC, BAT = b.u, b.ov, b.ob, b.th, b.sem, b.esc, b.bat
        policy, window, summ = self.policy, self.window, self.summ
        gen = self.gen
        call = self._logical_api
        cum = 0.0
        cums = [0.0]
        for k in range(n):
            i = o + k
            u = U[i]
            ov = OV[i]
            sliding = False
            hist = cum
            if policy:
                lo = k - window
                if lo > 0:
                    sliding = True
                    hist = cum - cums[lo]
                    if policy == 2:
                        if window >= 1 and (lo - 1) % window == 0:
                            # refresh the running summary: old summary + the turns that roll out
                            esc = self._u() if ESC is not None else 1.0
                            bat = self._u() if BAT is not None else 1.0
                            if gen:
                                yield from self._logical_gen(st, summ + hist, -1.0, False, summ, summ, 1.0, esc, bat)
                            else:
                                call(st, summ + hist, -1.0, False, summ, summ, 1.0, esc, bat)
                        hist += summ
            prompt = prefix + hist + u + rag
            sem = SEM[i] if SEM is not None else 1.0
            esc = ESC[i] if ESC is not None else 1.0
            bat = BAT[i] if BAT is not None else 1.0
            if gen:
                yield from self._logical_gen(st, prompt, prompt - rag, sliding, ov, OB[i], sem, esc, bat)
            else:
                call(st, prompt, prompt - rag, sliding, ov, OB[i], sem, esc, bat)
            cum += u + ov
            cums.append(cum)
            if k + 1 < n:
                st.dt += TH[i]
            yield env.timeout(st.dt)
            st.dt = 0.0
        self.meta.extend((sid, user, start, env.now, n, 0, 0, st.throttled))

    def _agent(self, sid, user, b, s):
        env = self.env
        nt = self.nt
        st = _State(sid, nt)
        start = env.now
        o, n = b.off[s], b.n[s]
        base = self.prefix + self.task
        rag = self.rag
        quota = self.quota
        OV, OB, TR, ST, SUB, SEM, ESC, BAT = b.ov, b.ob, b.tr, b.st, b.sub, b.sem, b.esc, b.bat
        gen = self.gen
        call = self._logical_api
        grow = 0.0
        used = 0.0
        qhit = 0
        nsub = 0
        for k in range(n):
            i = o + k
            ob = OB[i]
            prompt = base + grow + rag
            if used + prompt + ob > quota:
                qhit = 1
                break
            sem = SEM[i] if SEM is not None else 1.0
            esc = ESC[i] if ESC is not None else 1.0
            bat = BAT[i] if BAT is not None else 1.0
            st.budget = quota - used
            if gen:
                used += yield from self._logical_gen(st, prompt, prompt - rag, False, OV[i], ob, sem, esc, bat)
            else:
                used += call(st, prompt, prompt - rag, False, OV[i], ob, sem, esc, bat)
            if st.over:  # a retry or an escalation would have crossed the quota
                qhit = 1
                yield env.timeout(st.dt)
                break
            grow += OV[i] + TR[i]
            st.dt += ST[i]
            yield env.timeout(st.dt)
            st.dt = 0.0
            j = SUB[i]
            if j >= 0:
                # one level of fan-out: the step waits for a sub-agent that starts from the shared
                # prefix and the task prompt (which it can read from the parent's cache entry)
                nsub += 1
                sst = _State(sid, nt)
                for m in range(nt):
                    if st.len[m] > 0:
                        sst.len[m] = base if st.len[m] > base else st.len[m]
                        sst.stamp[m] = st.stamp[m]
                sgrow = 0.0
                so = b.subo[j]
                SOV, SOB, STR, SST = b.sov, b.sob, b.str_, b.sst
                for jj in range(b.subn[j]):
                    x = so + jj
                    sob = SOB[x]
                    prompt = base + sgrow + rag
                    if used + prompt + sob > quota:
                        qhit = 1
                        break
                    sem = self._u() if SEM is not None else 1.0
                    esc = self._u() if ESC is not None else 1.0
                    bat = self._u() if BAT is not None else 1.0
                    sst.budget = quota - used
                    if gen:
                        used += yield from self._logical_gen(sst, prompt, prompt - rag, False, SOV[x], sob, sem, esc, bat)
                    else:
                        used += call(sst, prompt, prompt - rag, False, SOV[x], sob, sem, esc, bat)
                    if sst.over:
                        qhit = 1
                        yield env.timeout(sst.dt)
                        break
                    sgrow += SOV[x] + STR[x]
                    sst.dt += SST[x]
                    yield env.timeout(sst.dt)
                    sst.dt = 0.0
                st.throttled += sst.throttled
                if qhit:
                    break
        self.quota_stops += qhit
        self.meta.extend((sid, user, start, env.now, n, qhit, nsub, st.throttled))

    def _batch(self, sid, user, b, s):
        env = self.env
        st = _State(sid, self.nt)
        start = env.now
        o, n = b.off[s], b.n[s]
        delay = b.delay[s]
        yield env.timeout(delay)  # waiting in the provider's batch queue
        prompt = self.prefix + b.doc[s]
        OV, OB, SEM, ESC = b.ov, b.ob, b.sem, b.esc
        for k in range(n):
            i = o + k
            sem = SEM[i] if SEM is not None else 1.0
            esc = ESC[i] if ESC is not None else 1.0
            if self.gen:
                yield from self._logical_gen(st, prompt, prompt, False, OV[i], OB[i], sem, esc, 0.0, delay)
            else:
                self._logical_api(st, prompt, prompt, False, OV[i], OB[i], sem, esc, 0.0, delay)
        if st.dt > 0:
            yield env.timeout(st.dt)
        self.meta.extend((sid, user, start, env.now, n, 0, 0, st.throttled))

    def _batch_now(self, sid, user, b, s, t_submit, _ev=None, t_run=None) -> None:
        """A document on the API-only path: runs when its batch does (no process, no yield).

        ``t_run`` (offline path) is the time the batch runs it when the SimPy clock is elsewhere:
        calls are timed from env.now + st.dt, so st.dt starts at the difference."""
        st = _State(sid, self.nt)
        if t_run is not None:
            st.dt = t_run - self.env.now
        delay = b.delay[s]
        prompt = self.prefix + b.doc[s]
        o, n = b.off[s], b.n[s]
        OV, OB, SEM, ESC = b.ov, b.ob, b.sem, b.esc
        for k in range(n):
            i = o + k
            self._logical_api(st, prompt, prompt, False, OV[i], OB[i], SEM[i] if SEM is not None else 1.0,
                              ESC[i] if ESC is not None else 1.0, 0.0, delay)
        self.meta.extend((sid, user, t_submit, self.env.now + st.dt, n, 0, 0, st.throttled))

    # -- one logical call: semantic cache, routing, pool -------------------------------------
    def _sem_hit(self, st: _State) -> None:
        self.sem_hits += 1
        self.rows.extend((st.sid, self.env.now + st.dt, _SEM, -1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, SEMANTIC_HIT_S,
                          0.0, 0, 1, 1, _SEM_HIT, 0))
        st.dt += SEMANTIC_HIT_S

    def _cheap_first(self, st, prompt, reuse, sliding, ov, ob, esc_u, batch, q0) -> tuple[float, bool]:
        """Cascade: the cheap model answers first. Returns (tokens billed, whether the primary runs)."""
        if self.cheap < 0:
            return 0.0, True
        billed = self._api(st, 1, prompt, reuse, sliding, ov, ob, batch, q0)
        if esc_u >= self.esc_p or st.over:
            return billed, False
        if billed + prompt + ob > st.budget:  # escalating would cross the task's quota
            st.over = True
            return billed, False
        self.escalations += 1
        st.budget -= billed
        return billed, True

    def _logical_api(self, st, prompt, reuse, sliding, ov, ob, sem_u, esc_u, bat_u, q0=0.0) -> float:
        if sem_u < self.sem_rate:
            self._sem_hit(st)
            return 0.0
        batch = 1 if bat_u < self.batch_share else 0
        billed, primary = self._cheap_first(st, prompt, reuse, sliding, ov, ob, esc_u, batch, q0)
        if not primary:
            return billed
        return billed + self._api(st, 0, prompt, reuse, sliding, ov, ob, batch, q0)

    def _logical_gen(self, st, prompt, reuse, sliding, ov, ob, sem_u, esc_u, bat_u, q0=0.0):
        if sem_u < self.sem_rate:
            self._sem_hit(st)
            return 0.0
        batch = 1 if bat_u < self.batch_share else 0
        billed, primary = self._cheap_first(st, prompt, reuse, sliding, ov, ob, esc_u, batch, q0)
        if not primary:
            return billed
        if st.dt > 0:
            yield self.env.timeout(st.dt)
            st.dt = 0.0
        m = -1
        for t in self.gpu_targets:
            if self.targets[t][2].has_free_slot():
                m = t
                break
        if m < 0 and not self.api_allowed:
            m = self.gpu_targets[0]
        if m < 0:
            return billed + self._api(st, 0, prompt, reuse, sliding, ov, ob, batch, q0)
        got = yield from self._gpu(st, m, prompt, reuse, sliding, ov, ob, q0)
        return billed + got

    def _read(self, st: _State, m: int, t: float, prompt: float, reuse: float, sliding: bool, first: bool):
        """(fresh, cached, write) of a prompt to target m at time t; writes the cache."""
        if not self.cache_on or reuse < 0:
            return prompt, 0.0, 0.0
        ttl = self.ttl
        alive = t - st.stamp[m] <= ttl
        if alive and not (sliding and first):
            readable = st.len[m]
        elif alive or t - self.shared[m] <= ttl:
            readable = self.prefix
        else:
            readable = 0.0
        split = split_prompt(prompt, readable, self.min_tokens)
        if prompt >= self.min_tokens:
            st.len[m] = reuse
            st.stamp[m] = t
            if self.shared_on and t > self.shared[m]:
                self.shared[m] = t
        return split

    def _api(self, st, m, prompt, reuse, sliding, ov, ob, batch, q0) -> float:
        """All attempts of one call to the API (no SimPy event: the time goes into st.dt)."""
        sim = self.sim
        t0 = self.env.now + st.dt
        t = t0
        self.nominal += prompt + ob
        lat_b, lat_p, lat_d = sim.lat_base, sim.lat_prefill, sim.lat_decode
        api = sim.api
        rows = self.rows
        mcode = self.mcodes[m]
        pol = self.retry
        slo_ok_speed = lat_d >= self.slo_i * (1.0 - 1e-9)
        billed = 0.0
        attempt = 0
        while True:
            attempt += 1
            oc = pol.outcome(self._u()) if self.fail > 0 else 0
            if oc == 1:
                fresh = cached = write = out = rs = 0.0
            else:
                fresh, cached, write = self._read(st, m, t, prompt, reuse, sliding, attempt == 1)
                if oc == 2:
                    sh = pol.timeout_output_share
                    out = ob * sh
                    rs = (ob - ov) * sh
                else:
                    out = ob
                    rs = ob - ov
            q = 0.0
            if api.limited:
                q = api.wait(mcode, t, prompt + ob)
                if q > 0:
                    st.throttled += 1
                    self.throttled += 1
            pre = lat_b + (fresh + write) / lat_p
            ttft = t - t0 + q0 + q + pre
            slo = 1 if (oc == 0 and slo_ok_speed and ttft <= self.slo_ttft) else 0
            rows.extend((st.sid, t, _API, mcode, fresh, cached, write, out, rs, q0 + q, ttft, lat_d, 0, slo,
                         attempt, oc, batch))
            billed += fresh + cached + write + out
            t += q + pre + out / lat_d
            if oc == 0 or attempt >= self.max_attempts:
                break
            if billed + prompt + ob > st.budget:  # the quota stops the retry
                st.over = True
                break
            if self.is_batch:
                t += self._u() * self.completion_s  # resubmitted to the next batch
            else:
                t += pol.backoff(attempt, self._u())
        st.dt += t - t0
        return billed

    def _gpu(self, st, m, prompt, reuse, sliding, ov, ob, q0):
        """All attempts of one call to a GPU pool (one event, plus one more if it queues)."""
        env = self.env
        pcode, mcode, pool = self.targets[m]
        pol = self.retry
        t0 = env.now
        self.nominal += prompt + ob
        billed = 0.0
        attempt = 0
        rows = self.rows
        while True:
            attempt += 1
            oc = pol.outcome(self._u()) if self.fail > 0 else 0
            t = env.now
            if oc == 1:  # a provider error: the prompt is processed, nothing is cached or billed
                fresh, cached, write = prompt, 0.0, 0.0
                out = rs = 0.0
            else:
                fresh, cached, write = self._read(st, m, t, prompt, reuse, sliding, attempt == 1)
                if oc == 2:
                    sh = pol.timeout_output_share
                    out, rs = ob * sh, (ob - ov) * sh
                else:
                    out, rs = ob, ob - ov
            tk = pool.request(fresh + write, out)
            if tk.event is not None:
                yield tk.event
            q = tk.t_admit - t
            ttft = t - t0 + q0 + q + tk.prefill_s
            slo = 1 if (oc == 0 and tk.speed >= self.slo_i * (1.0 - 1e-9) and ttft <= self.slo_ttft) else 0
            if oc == 1:
                fresh = cached = write = 0.0
            rows.extend((st.sid, t, pcode, mcode, fresh, cached, write, out, rs, q0 + q, ttft, tk.speed, tk.conc, slo,
                         attempt, oc, 0))
            billed += fresh + cached + write + out
            if oc == 0 or attempt >= self.max_attempts:
                st.dt = tk.hold
                break
            if billed + prompt + ob > st.budget:  # the quota stops the retry
                st.over = True
                st.dt = tk.hold
                break
            wait = self._u() * self.completion_s if self.is_batch else pol.backoff(attempt, self._u())
            yield env.timeout(tk.hold + wait)
        return billed


# ---- the run ----------------------------------------------------------------------------------


class _Sim:
    def __init__(self, env: simpy.Environment, api: ApiPool):
        self.env = env
        self.api = api
        self.lat_base = api.latency.ttft_base_s
        self.lat_prefill = api.latency.prefill_tok_s
        self.lat_decode = api.latency.decode_tok_s
        self.models: list[str] = []
        self._codes: dict[str, int] = {}
        self.gpu_pools: dict[tuple[str, str], GpuPool] = {}
        self.gpu_meta: dict[tuple[str, str], dict] = {}

    def model_code(self, ref: str) -> int:
        c = self._codes.get(ref)
        if c is None:
            c = self._codes[ref] = len(self.models)
            self.models.append(ref)
        return c


def _apply_strategy(sc: Scenario, strategy: str | None) -> Scenario:
    if strategy is None:
        return sc
    names = [s.name for s in sc.all_strategies()]
    if strategy not in names:
        raise ValueError(f"unknown strategy {strategy!r}; defined: {', '.join(names)}")
    return sc.with_strategy(strategy)


def _month_users(sc: Scenario, start_month: int, users: int | None) -> dict[str, int]:
    raw = {b.name: float(adoption_users(b.users, sc.horizon.months)[start_month]) for b in sc.business_units}
    if users is not None:
        total = sum(raw.values())
        if total <= 0:
            raise ValueError("cannot scale users: the business units have no users in that month")
        raw = {k: v * users / total for k, v in raw.items()}
    return {k: int(round(v)) for k, v in raw.items()}


def _gpu_counts(sc: Scenario, pool: str, month: int) -> tuple[int, float]:
    """(serving GPUs, throughput multiplier) of a GPU pool in ``month``: GPUs × availability.

    The fleet comes from the pool builders every engine uses; the SLA headroom is not applied
    here because this model queues requests for real (headroom is what keeps that queue short).
    """
    val = MeanValues()
    p = getattr(sc.pools, pool)
    if not p.enabled:
        return 0, 1.0
    avail = val(p.availability, f"pools.{pool}.availability")
    if pool == "owned":
        fleet = owned_fleet(sc, val, sc.horizon.months, sc.trend_offset)
        g = float(fleet.in_service[month])
        if g <= 0:
            return 0, 1.0
        return int(round(g * avail)), float(fleet.effective[month] / g)
    g = float(reserved_schedule(sc, val, sc.horizon.months).gpus[month]) + float(on_demand_cap(sc, val))
    return int(round(g * avail)), 1.0


def _build_gpu_pools(sim: _Sim, sc: Scenario, month: int, book: PriceBook, day_sessions: dict[str, float],
                     record: bool) -> None:
    hw = None
    for pool in ("owned", "neocloud"):
        users = [w for w in sc.token_workloads if pool in w.allowed_pools]
        if not users:
            continue
        n, scale = _gpu_counts(sc, pool, month)
        if n <= 0:
            continue
        hw = hw or load_hardware()
        gpu = hw[getattr(sc.pools, pool).gpu]
        by_model: dict[str, list] = {}
        for w in users:
            by_model.setdefault(getattr(w.models, pool), []).append(w)
        weights, prefill_s = {}, {}
        for model, ws in by_model.items():
            wt = pre = 0.0
            for w in ws:
                curve = gpu.curve(model, w.models.precision)
                refs = [r for r in (w.models.api, w.levers.routing.cheap_model if w.levers.routing.enabled else None) if r]
                es = expected_session(w, {r: book.card(r) for r in refs}, 0.0)
                dec = float(curve.throughput_at(mean_of(w.slo.interactivity_tok_s_user)))
                n_s = max(day_sessions.get(w.name, 0.0), 1e-9)
                total = gpu_seconds_per_session(es, curve.prefill_tok_s_gpu, dec)
                wt += n_s * total
                pre += n_s * (total - es.gpu_output_tokens / dec if dec > 0 else 0.0)
            weights[model] = wt
            prefill_s[model] = pre
        models = sorted(by_model)
        if len(models) == 1:
            alloc = {models[0]: n}
        else:
            tot = sum(weights.values()) or 1.0
            share = {m: max(1, int(math.floor(n * weights[m] / tot))) for m in models}
            while sum(share.values()) > n and max(share.values()) > 1:
                big = max(share, key=share.get)
                share[big] -= 1
            rest = n - sum(share.values())
            for m in sorted(models, key=lambda m: -weights[m])[:max(rest, 0)]:
                share[m] += 1
            alloc = share
        for model in models:
            ws = by_model[model]
            slo = max(mean_of(w.slo.interactivity_tok_s_user) for w in ws)
            curve = gpu.curve(model, ws[0].models.precision)
            # share of GPU time the workloads' extra prefill takes (expected mix): the rest decodes
            share = 1.0 - prefill_s[model] / weights[model] if weights[model] > 0 else 1.0
            share = float(min(max(share, 0.05), 1.0))
            gp = gpu_pool_from_curve(sim.env, curve, alloc[model], slo, throughput_scale=scale, decode_share=share,
                                     name=f"{pool}:{model}", record=record)
            sim.gpu_pools[(pool, model)] = gp
            sim.gpu_meta[(pool, model)] = dict(pool=pool, model=model, gpu=gpu.id, gpus=alloc[model],
                                               slots_per_gpu=gp.slots, slo_tok_s=slo, throughput_scale=scale,
                                               decode_share=share,
                                               prefill_tok_s_gpu=gp.prefill_tok_s)


def _day_weights(weekly: np.ndarray, hourly: np.ndarray, day0: date, hours: int) -> np.ndarray:
    h = np.arange(hours)
    dows = np.array([(day0 + timedelta(days=int(d))).weekday() for d in h // 24])
    return weekly[dows] * hourly[h % 24]


def run_des(scenario: Scenario, *, days: float = 1.0, users: int | None = None, peak: bool = False,
            start_month: int = 0, seed: int | None = None, strategy: str | None = None,
            latency: ApiLatency | None = None, keep_requests: bool = True) -> DesResult:
    """Simulate ``days`` days of demand from the first day of month ``start_month``.

    ``users`` scales every business unit so the total is ``users`` (at the month's proportions);
    ``peak=True`` simulates one day, the busiest of the month (highest expected sessions), at the
    month's users (``days`` is then ignored). ``seed`` overrides the scenario seed; every draw
    comes from numpy generators keyed by (seed, purpose, workload or unit name) through
    ``SeedSequence``, so the same seed gives identical tables. ``strategy`` applies one of the
    scenario's strategies first. Sessions that start in the window run to their end.
    ``latency`` replaces the API latency assumption; ``keep_requests=False`` skips building the
    request log (the session tables and summary are the same).

    ``summary`` holds: calls (logical model calls, cascades and summary refreshes included),
    attempts, retries, alpha (billed / first-attempt tokens), cache_hit_rate (cached share of
    billed prompt tokens), ttft_p50_s / ttft_p95_s (successful interactive calls), goodput_share
    (output tokens of successful calls that met the SLO), throttled_calls, semantic_hits,
    escalations, quota_stops, tokens (by component), cost_usd, sessions, users, per-workload
    figures, GPU pool statistics, sim_seconds, wall_seconds.
    """
    wall0 = time.perf_counter()
    sc = _apply_strategy(scenario, strategy)
    if not 0 <= start_month < sc.horizon.months:
        raise ValueError(f"start_month must be in [0, {sc.horizon.months}), got {start_month}")
    if days <= 0:
        raise ValueError("days must be > 0")
    # the scenario is expected to have passed sim.checks (every command runs them on load)
    root = int(sc.seed if seed is None else seed)
    book = PriceBook(sc.price_date, sc.prices.overrides)
    month_start = sc.horizon.month_starts()[start_month]
    bu_users = _month_users(sc, start_month, users)
    wls = sc.token_workloads
    profiles = {b.name: profile_arrays(b.activity or sc.activity) for b in sc.business_units}

    # which days: the month's first `days` days, or its busiest day
    if peak:
        ndays = calendar.monthrange(month_start.year, month_start.month)[1]
        load = np.zeros(ndays)
        for w in wls:
            weekly = profiles[w.business_unit][0]
            for d in range(ndays):
                load[d] += bu_users[w.business_unit] * rate_per_user_day(w) * weekly[(month_start + timedelta(d)).weekday()]
        day0 = month_start + timedelta(days=int(np.argmax(load)))
        hours = 24
    else:
        day0 = month_start
        hours = max(1, int(round(days * 24)))

    # users and their intensities (one draw per unit and run), rescaled to sum to the user count:
    # heterogeneity only shares the unit's rate out between its users, so the total rate (the
    # last cdf value × rate per user) is users × rate, not users × rate × a sample mean of lognormals
    cdfs: dict[str, np.ndarray] = {}
    for b in sc.business_units:
        rng = _seed_for(root, "des", "users", b.name)
        s = mean_of(b.intensity_sigma)
        u = bu_users[b.name]
        inten = np.exp(s * rng.standard_normal(u) - 0.5 * s * s) if s > 0 else np.ones(u)
        if u > 0:
            inten *= u / inten.sum()
        cdfs[b.name] = np.cumsum(inten)

    env = simpy.Environment()
    rl = sc.pools.api.rate_limits
    api = ApiPool(mean_of(rl.rpm) if rl.rpm is not None else None, mean_of(rl.tpm) if rl.tpm is not None else None,
                  latency)
    sim = _Sim(env, api)
    day_sessions = {w.name: bu_users[w.business_unit] * rate_per_user_day(w) for w in wls}
    _build_gpu_pools(sim, sc, start_month, book, day_sessions, record=True)

    runs: list[_Workload] = []
    expected_sessions = {}
    for i, w in enumerate(wls):
        weekly, hourly = profiles[w.business_unit]
        cdf = cdfs[w.business_unit]
        lam = (cdf[-1] if cdf.size else 0.0) * rate_per_user_day(w) * _day_weights(weekly, hourly, day0, hours)
        expected_sessions[w.name] = float(bu_users[w.business_unit] * rate_per_user_day(w)
                                          * _day_weights(weekly, hourly, day0, hours).sum())
        wr = _Workload(sim, w, i, lam, cdf, root)
        runs.append(wr)
        if wr.is_batch and not wr.gen and not api.limited:
            wr.run_offline()
        else:
            env.process(wr.arrivals())
    env.run()
    sim_seconds = float(max([env.now] + [max(wr.meta[3::8], default=0.0) for wr in runs]))

    # ---- tables ------------------------------------------------------------------------------
    cards = {}
    sessions: dict[str, pd.DataFrame] = {}
    parts = []
    nominal = 0.0
    for wr in runs:
        R = np.asarray(wr.rows, dtype=np.float64).reshape(-1, _NCOL)
        nominal += wr.nominal
        cost = np.zeros(len(R))
        gsec = np.zeros(len(R))
        pool = R[:, 2]
        model = R[:, 3]
        fresh, cached, write, out = R[:, 4], R[:, 5], R[:, 6], R[:, 7]
        api_rows = pool == _API
        for code in np.unique(model[api_rows]).astype(int):
            ref = sim.models[code]
            card = cards.get(ref) or cards.setdefault(ref, book.card(ref))
            sel = api_rows & (model == code)
            w5 = write[sel] if wr.ttl_name == "5m" else 0.0
            w1 = write[sel] if wr.ttl_name == "1h" else 0.0
            cost[sel] = card.call_cost(fresh[sel], cached[sel], w5, w1, out[sel], batch=R[sel, 16] > 0)
        for m in wr.gpu_targets:
            pcode, mcode, gp = wr.targets[m]
            sel = (pool == pcode) & (model == mcode)
            if sel.any():  # GPU-seconds as the forecast charges them: the curve read at the SLO
                gsec[sel] = gpu_seconds(fresh[sel] + write[sel], out[sel], gp.prefill_tok_s, gp.decode_tok_s_gpu,
                                        fresh[sel] + cached[sel] + write[sel])
        M = np.asarray(wr.meta, dtype=np.float64).reshape(-1, 8)
        M = M[np.argsort(M[:, 0], kind="stable")]
        S = len(M)
        sid = R[:, 0].astype(np.int64)
        first = (R[:, 14] == 1) & (R[:, 15] != _SEM_HIT)
        is_call = R[:, 15] != _SEM_HIT

        def per(weights):
            return np.bincount(sid, weights=weights, minlength=S)[:S]

        calls = np.bincount(sid[first], minlength=S)[:S].astype(float)
        attempts = np.bincount(sid[is_call], minlength=S)[:S].astype(float)
        df = pd.DataFrame({
            "session": M[:, 0].astype(np.int64), "user": M[:, 1].astype(np.int64), "start_s": M[:, 2],
            "duration_s": M[:, 3] - M[:, 2], "n": M[:, 4].astype(np.int64),
            "calls": calls, "attempts": attempts, "retries": attempts - calls,
            "throttled": M[:, 7], "semantic_hits": np.bincount(sid[R[:, 15] == _SEM_HIT], minlength=S)[:S].astype(float),
            "subagents": M[:, 6], "quota_hit": M[:, 5].astype(bool),
            "fresh": per(fresh), "cached": per(cached), "cache_write": per(write), "output": per(out),
            "reasoning": per(R[:, 8]), "cost_usd": per(cost), "gpu_s": per(gsec),
        })
        if wr.routing:
            cheap = (model == wr.mcodes[1]) & api_rows
            df["calls_cheap"] = np.bincount(sid[first & cheap], minlength=S)[:S].astype(float)
            df["cost_cheap_usd"] = np.bincount(sid[cheap], weights=cost[cheap], minlength=S)[:S]
        sessions[wr.name] = df
        parts.append((wr, R, cost, gsec))

    # ---- requests and summary ------------------------------------------------------------------
    allR = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, _NCOL))
    allcost = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    allg = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0)
    wl_idx = np.concatenate([np.full(len(p[1]), p[0].idx) for p in parts]) if parts else np.zeros(0, int)
    summary = _summary(allR, allcost, allg, nominal, runs, sim, sessions, sim_seconds, hours)
    summary.update(dict(users=bu_users, day0=day0.isoformat(), hours=hours, peak=peak, start_month=start_month,
                        seed=root, strategy=strategy or "base", expected_sessions=expected_sessions))
    if keep_requests:
        names = [w.name for w in wls]
        req = pd.DataFrame({
            "t_s": allR[:, 1],
            "workload": pd.Categorical.from_codes(wl_idx.astype(np.int64), names),
            "session": allR[:, 0].astype(np.int64),
            "pool": pd.Categorical.from_codes(allR[:, 2].astype(np.int64), POOLS),
            "model": pd.Categorical.from_codes(allR[:, 3].astype(np.int64), sim.models or ["-"]),
            "fresh": allR[:, 4], "cached": allR[:, 5], "write": allR[:, 6], "output": allR[:, 7],
            "reasoning": allR[:, 8], "queue_s": allR[:, 9], "ttft_s": allR[:, 10], "tok_s": allR[:, 11],
            "concurrency": allR[:, 12].astype(np.int64), "slo_met": allR[:, 13] > 0,
            "attempt": allR[:, 14].astype(np.int64),
            "outcome": pd.Categorical.from_codes(allR[:, 15].astype(np.int64), OUTCOME_NAMES),
            "batch": allR[:, 16] > 0, "cost_usd": allcost, "gpu_s": allg,
        })
    else:
        req = pd.DataFrame(columns=["t_s", "workload", "session", "pool", "model"] + list(REQUEST_COLUMNS[4:]))
    summary["wall_seconds"] = time.perf_counter() - wall0
    return DesResult(sessions, req, summary)


def _q(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q)) if x.size else float("nan")


def _summary(R, cost, gsec, nominal, runs, sim, sessions, sim_seconds, hours) -> dict:
    is_call = R[:, 15] != _SEM_HIT
    first = is_call & (R[:, 14] == 1)
    ok = R[:, 15] == 0
    fresh, cached, write, out = R[:, 4], R[:, 5], R[:, 6], R[:, 7]
    billed = float(fresh.sum() + cached.sum() + write.sum() + out.sum())
    prompt = float(fresh.sum() + cached.sum() + write.sum())
    interactive = ok & (R[:, 16] == 0)
    out_ok = float(out[ok].sum())
    pools = {}
    horizon = hours * 3600.0
    for key, gp in sim.gpu_pools.items():
        meta = dict(sim.gpu_meta[key])
        pc = _OWNED if key[0] == "owned" else _NEO
        sel = (R[:, 2] == pc) & (R[:, 3] == sim.model_code(key[1]))
        meta.update(requests=gp.requests, queued_share=gp.queued / gp.requests if gp.requests else 0.0,
                    slot_occupancy=gp.occupancy(0.0, horizon) if gp.record else float("nan"),
                    busy_share=gp.busy_share(0.0, horizon) if gp.record else float("nan"),
                    gpu_seconds=float(gsec[sel].sum()),
                    gpu_utilization=float(gsec[sel].sum()) / (gp.n_gpus * horizon),
                    queue_p95_s=_q(R[sel, 9], 0.95), ttft_p95_s=_q(R[sel & ok, 10], 0.95))
        pools[f"{key[0]}:{key[1]}"] = meta
    per_wl = {}
    for wr in runs:
        df = sessions[wr.name]
        b = float(df[["fresh", "cached", "cache_write", "output"]].to_numpy().sum())
        per_wl[wr.name] = dict(sessions=len(df), calls=float(df["calls"].sum()), attempts=float(df["attempts"].sum()),
                               alpha=b / wr.nominal if wr.nominal else 1.0, cost_usd=float(df["cost_usd"].sum()),
                               quota_stops=wr.quota_stops, semantic_hits=wr.sem_hits, escalations=wr.escalations,
                               throttled_calls=wr.throttled)
    return dict(
        calls=int(first.sum()), attempts=int(is_call.sum()), retries=int(is_call.sum() - first.sum()),
        alpha=billed / nominal if nominal else 1.0,
        cache_hit_rate=float(cached.sum()) / prompt if prompt else 0.0,
        ttft_p50_s=_q(R[interactive, 10], 0.5), ttft_p95_s=_q(R[interactive, 10], 0.95),
        goodput_share=float(out[ok & (R[:, 13] > 0)].sum()) / out_ok if out_ok else 1.0,
        throttled_calls=int(sum(wr.throttled for wr in runs)),
        semantic_hits=int(sum(wr.sem_hits for wr in runs)), escalations=int(sum(wr.escalations for wr in runs)),
        quota_stops=int(sum(wr.quota_stops for wr in runs)),
        tokens=dict(fresh=float(fresh.sum()), cached=float(cached.sum()), write=float(write.sum()),
                    output=float(out.sum()), reasoning=float(R[:, 8].sum())),
        cost_usd=float(cost.sum()), sessions={k: len(v) for k, v in sessions.items()},
        workloads=per_wl, pools=pools, sim_seconds=sim_seconds,
    )


# ---- trace replay -----------------------------------------------------------------------------


def replay_trace(arrivals_s, prompt_tokens, output_tokens, *, curve, n_gpus: int, interactivity_slo: float,
                 ttft_slo_s: float = _INF, speedup: bool = True) -> tuple[pd.DataFrame, GpuPool]:
    """Replay a request trace (arrival seconds, prompt and output tokens) into a GPU pool.

    The pool has ``n_gpus`` GPUs with batch slots at the SLO read off ``curve`` (see
    ``sim.pools.resources.gpu_pool_from_curve``); ``speedup=False`` runs every stream at the SLO
    speed (fixed, known service times). Returns one row per request (queue, TTFT, speed,
    concurrency, SLO met) and the pool (for occupancy).
    """
    t = np.asarray(arrivals_s, float)
    order = np.argsort(t, kind="stable")
    t, p, o = t[order], np.asarray(prompt_tokens, float)[order], np.asarray(output_tokens, float)[order]
    env = simpy.Environment()
    pool = gpu_pool_from_curve(env, curve, n_gpus, interactivity_slo, speedup=speedup, name="replay")
    tickets = []

    def gen():
        for ti, pi, oi in zip(t.tolist(), p.tolist(), o.tolist()):
            d = ti - env.now
            if d > 0:
                yield env.timeout(d)
            tickets.append(pool.request(pi, oi))

    env.process(gen())
    env.run()
    admit = np.array([tk.t_admit for tk in tickets])
    df = pd.DataFrame(dict(t_s=t, prompt=p, output=o, queue_s=admit - t,
                           ttft_s=admit - t + np.array([tk.prefill_s for tk in tickets]),
                           tok_s=np.array([tk.speed for tk in tickets]),
                           concurrency=np.array([tk.conc for tk in tickets]),
                           hold_s=np.array([tk.hold for tk in tickets])))
    df["slo_met"] = (df["ttft_s"] <= ttft_slo_s) & (df["tok_s"] >= interactivity_slo * (1 - 1e-9))
    return df, pool
