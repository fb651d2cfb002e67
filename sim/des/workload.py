"""One workload inside a simulated run: its constants at their means, per-hour draws, and the SimPy
processes of its sessions (chat and RAG turns, agent steps with sub-agents, batch documents)."""

from __future__ import annotations

import zlib
from functools import partial

import numpy as np

from ..demand.caches import TTL_SECONDS, split_prompt
from ..demand.kinds import kind_of, rag_tokens, tool_prefix
from ..demand.retry import RetryPolicy
from ..demand.sessions import MAX_SESSION_CALLS
from ..scenario.distributions import as_dist, mean_of
from .codes import _API, _INF, _NEO, _OWNED, _SEM, _SEM_HIT, SEMANTIC_HIT_S, DesInputError, _Sim

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
        self.kind = kind_of(w).des_process
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
        self.esc_p = mean_of(w.escalation()) if self.routing else 1.0
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
            raise DesInputError(f"workload {w.name!r}: none of its allowed pools {w.allowed_pools} has GPUs in "
                                "the simulated month and the API is not allowed; choose another --month")
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
            lengths = _lengths(kind_of(self.w).length_spec(self.w), rng, n)
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


