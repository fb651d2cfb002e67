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
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import simpy

from ..catalog.prices import PriceBook
from ..demand.daily import mean_day_factors, noise_of
from ..demand.population import adoption_users, profile_arrays
from ..finite import require_finite
from ..expected.forecast import rate_per_user_day
from ..pools.gpu import gpu_seconds
from ..pools.resources import ApiLatency, ApiPool
from ..scenario.distributions import mean_of
from ..scenario.model import Scenario
from .codes import DesInputError  # noqa: F401 - raised here and in .workload; the CLI catches it
from .codes import (
    _API,
    _NCOL,
    _NEO,
    _OWNED,
    _SEM_HIT,
    OUTCOME_NAMES,
    POOLS,
    REQUEST_COLUMNS,
    _Sim,
)
from .gpus import _build_gpu_pools
from .replay import replay_trace
from .workload import _seed_for, _Workload

__all__ = ["DesResult", "run_des", "replay_trace", "REQUEST_COLUMNS", "POOLS"]

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


# ---- the run ----------------------------------------------------------------------------------


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
            raise DesInputError(f"--users cannot scale the business units' users: they have none in month "
                                f"{start_month}")
        raw = {k: v * users / total for k, v in raw.items()}
    return {k: int(round(v)) for k, v in raw.items()}


def _day_weights(weekly: np.ndarray, hourly: np.ndarray, day0: date, hours: int, factor: np.ndarray) -> np.ndarray:
    """Hour weights from ``day0`` on, times each day's mean demand factor (``factor`` per day)."""
    h = np.arange(hours)
    dows = np.array([(day0 + timedelta(days=int(d))).weekday() for d in h // 24])
    return weekly[dows] * hourly[h % 24] * factor[h // 24]


def _day_factors(sc: Scenario, day0: date, days: int, workload=None) -> np.ndarray:
    """``mean_day_factors`` (growth and the anchored day shock) for ``days`` days from ``day0``, of
    ``workload``'s own noise where it has one, else the scenario's."""
    return mean_day_factors(noise_of(sc, workload), days, (day0 - sc.horizon.start_date).days)


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
            fac = _day_factors(sc, month_start, ndays, w)
            weekly = profiles[w.business_unit][0]
            for d in range(ndays):
                load[d] += (bu_users[w.business_unit] * rate_per_user_day(w) * weekly[(month_start + timedelta(d)).weekday()]
                            * fac[d])
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
        hw_ = _day_weights(weekly, hourly, day0, hours, _day_factors(sc, day0, (hours + 23) // 24, w))
        lam = (cdf[-1] if cdf.size else 0.0) * rate_per_user_day(w) * hw_
        expected_sessions[w.name] = float(bu_users[w.business_unit] * rate_per_user_day(w) * hw_.sum())
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
    # money, tokens and GPU-seconds must be numbers before they are summed into a table (a NaN
    # would print as null, or vanish in a sum); an undefined latency quantile (no calls) stays null
    require_finite("request-level cost", cost, ("request",), context="tokensim des")
    require_finite("request-level tokens", R[:, 4:9], ("request", "column"), context="tokensim des")
    require_finite("request-level GPU-seconds", gsec, ("request",), context="tokensim des")
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
