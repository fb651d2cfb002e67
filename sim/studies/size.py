"""Size a provisioned pool (Azure PTU, Vertex GSU, xAI units, Bedrock MU) against latency objectives, from a trace.

For each legal unit count (``sim.catalog.provisioned.legal_units``: the minimum, then by the
increment) the trace's requests are served by the pool as one FIFO work queue at the units'
rate (``sim.pools.queueing``: the wait of every request, exact for that fluid model), each
request's work its burndown-weighted tokens (``unit_seconds``). Two plans per count:

- **provisioned only**: every request queues for the pool (what a 429-and-retry client sees,
  without the retries' own delay); ``min_units_for_slo`` is the smallest count whose latencies
  meet every objective, found by doubling then bisecting the legal counts (latency never rises
  with more units), after checking the objectives hold with no queue at all;
- **hybrid**: a request that would wait more than ``queue_limit_s`` spills to pay-as-you-go
  (``spill``), served there at the baseline latency and billed at the catalog's price of the
  profile's ``pay_go_model`` at each request's own rates (long-context cliffs included); zero units
  is the all-pay-go plan. Counts are tried upwards until the units alone cost more than the best
  plan so far; ``cheapest_plan`` is the cheapest that meets every objective.

Latency is the baseline model (``BaselineLatency``: a fixed part, prefill of the uncached prompt,
decode of the output) plus the queue's wait; its defaults are the scenario's API latency
assumption, to be overridden for a fast model. Costs per month are 730 hours of the units at the
term's price plus the spilled requests' pay-go cost per trace hour × 730 (the trace's hours: its
span × n/(n − 1), n requests covering n mean gaps). The 1 s, 5 s and 60 s
window requirements (``sim.pools.capacity``) and each count's overload probability (the share of
1 s windows needing more units than bought) are reported beside the queue.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..catalog.prices import PriceBook
from ..catalog.provisioned import ProvisionedProfile, cost_per_hour, unit_seconds
from ..pools.capacity import window_requirements
from ..pools.queueing import BaselineLatency, latency, percentiles, pool_waits, spill

HOURS_PER_MONTH = 730.0
MAX_COUNTS = 400  # hybrid unit counts tried at most (Azure's minimum 15 by 5: up to 2,010 PTU)
MAX_UNITS = 1_000_000  # the provisioned-only search gives up above this many units
MAX_SPAN_DAYS = 92  # the 1 s windows of a longer trace would not fit in memory (a float a second)
SHORT_TRACE_H = 1.0
_SLO = re.compile(r"^\s*p(\d{1,3}(?:\.\d+)?)\s+(ttft|e2e)\s*(<=)\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$", re.I)


@dataclass(frozen=True)
class Objective:
    """The ``percentile`` of ``metric`` (ttft or e2e latency) at most ``seconds``."""

    percentile: float
    metric: str
    seconds: float

    def __str__(self) -> str:
        return f"p{self.percentile:g} {self.metric} <= {self.seconds:g}s"


def parse_objective(text: str) -> Objective:
    """``"p99 e2e <= 1.5s"`` (or ``"p95 ttft <= 800ms"``) as an ``Objective``; ValueError otherwise."""
    m = _SLO.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a latency objective: write e.g. \"p99 e2e <= 1.5s\" or \"p95 ttft <= "
                         "800ms\" (a percentile, ttft or e2e, <=, a time in s or ms; strict < is not taken)")
    q = float(m.group(1))
    v = float(m.group(4)) / (1000.0 if m.group(5).lower() == "ms" else 1.0)
    if not 0 < q < 100 or v <= 0:
        raise ValueError(f"{text!r}: the percentile must be above 0 and below 100 and the time above 0")
    return Objective(q, m.group(2).lower(), v)


@dataclass(frozen=True)
class Plan:
    """One unit count, provisioned only or with spill to pay-go."""

    units: int
    cost_per_hour: float
    cost_per_month: float
    spill_share: float  # requests sent to pay-go (0 for provisioned only)
    overload_probability: float  # share of 1 s windows needing more than ``units``
    latency: dict  # metric -> {50, 95, 99: seconds}
    objectives: list  # each objective's value and whether it holds
    slo_met: bool

    def to_json(self) -> dict:
        return {"units": self.units, "cost_per_hour": round(self.cost_per_hour, 4),
                "cost_per_month": round(self.cost_per_month, 2), "spill_share": round(self.spill_share, 6),
                "overload_probability": round(self.overload_probability, 6),
                "latency_s": {m: {f"p{q:g}": round(v, 4) for q, v in d.items()} for m, d in self.latency.items()},
                "objectives": self.objectives, "slo_met": self.slo_met}


@dataclass
class Sizing:
    """What ``size_trace`` found."""

    profile: str
    term: str
    objectives: list[Objective]
    requests: int
    hours: float
    windows: dict
    min_units_for_slo: int | None
    cheapest_plan: Plan | None
    provisioned: list[Plan]
    frontier: list[Plan]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"profile": self.profile, "term": self.term, "objectives": [str(o) for o in self.objectives],
                "requests": self.requests, "hours": round(self.hours, 4),
                "requests_per_second": round(self.requests / (self.hours * 3600.0), 4),
                "windows": self.windows, "min_units_for_slo": self.min_units_for_slo,
                "cheapest_plan": None if self.cheapest_plan is None else self.cheapest_plan.to_json(),
                "provisioned": [p.to_json() for p in self.provisioned],
                "frontier": [p.to_json() for p in self.frontier], "notes": self.notes}


def scenario_requests(sc, workload: str, *, month: int = 0, users: int | None = None,
                      seed: int | None = None) -> tuple[pd.DataFrame, dict]:
    """The API requests of ``workload`` on the busiest day of horizon month ``month``, simulated by
    the DES (``sim.des.simulation.run_des(peak=True)``): the stream a provisioned pool for its
    model would take, in ``read_requests``' columns. Attempts that failed with a provider error
    (nothing served), semantic-cache answers and batch calls (provisioned throughput does not
    cover batch) are left out; reasoning tokens count as output. Returns the requests and the DES
    summary's day, users and expected sessions."""
    from ..des.simulation import run_des

    names = [w.name for w in sc.token_workloads]
    if workload not in names:
        raise ValueError(f"unknown workload {workload!r}; the scenario's token workloads: {', '.join(names)}")
    res = run_des(sc, peak=True, start_month=month, users=users, seed=seed)
    r = res.requests
    r = r[(r["workload"] == workload) & (r["pool"] == "api") & (r["outcome"] != "error") & ~r["batch"]]
    day0 = pd.Timestamp(res.summary["day0"])
    req = pd.DataFrame({"t": day0 + pd.to_timedelta(r["t_s"].to_numpy(float), unit="s"),
                        "input_tokens": (r["fresh"] + r["cached"] + r["write"]).to_numpy(float),
                        "cached_tokens": r["cached"].to_numpy(float),
                        "cache_write_tokens": r["write"].to_numpy(float),
                        "output_tokens": (r["output"] + r["reasoning"]).to_numpy(float),
                        "model": r["model"].astype(str).to_numpy()}).sort_values("t", kind="stable")
    return req.reset_index(drop=True), {"day": res.summary["day0"], "users": res.summary["users"],
                                        "expected_sessions": res.summary["expected_sessions"].get(workload)}


def _request_arrays(req: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Seconds from the first request, fresh (uncached, cache writes included) prompt, cached
    prompt, cache-write and output tokens."""
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy(float)
    whole = req["input_tokens"].to_numpy(float)
    cached = req["cached_tokens"].to_numpy(float) if "cached_tokens" in req else np.zeros(len(req))
    writes = req["cache_write_tokens"].to_numpy(float) if "cache_write_tokens" in req else np.zeros(len(req))
    out = req["output_tokens"].to_numpy(float)
    return t, np.maximum(whole - cached, 0.0), cached, writes, out


def _judge(objectives, fresh, out, waits, base) -> tuple[dict, list, bool]:
    ttft, e2e = latency(np.zeros(fresh.size), fresh, out, waits, base)
    qs = sorted({50.0, 95.0, 99.0} | {o.percentile for o in objectives})
    lat = {"ttft": percentiles(ttft, qs), "e2e": percentiles(e2e, qs)}
    judged = []
    for o in objectives:
        v = lat[o.metric][o.percentile]
        judged.append({"objective": str(o), "seconds": round(v, 4), "met": bool(v <= o.seconds)})
    return {m: {q: v for q, v in d.items() if q in (50.0, 95.0, 99.0)} for m, d in lat.items()}, judged, \
        all(j["met"] for j in judged)


def size_trace(req: pd.DataFrame, prof: ProvisionedProfile, objectives: list[Objective], *, term: str = "1m",
               queue_limit_s: float = 1.0, base: BaselineLatency | None = None,
               price_date: _dt.date | None = None) -> Sizing:
    """Size ``prof`` for the requests ``req`` (``sim.calibrate.formats.read_requests``: columns t,
    input_tokens (the whole prompt), output_tokens, optional cached_tokens), sorted by time."""
    if len(req) < 2:
        raise ValueError("a trace of at least two requests is needed to size a pool")
    base = base or BaselineLatency()
    t, fresh, cached, writes, out = _request_arrays(req)
    n = t.size
    if t[-1] <= 0:
        raise ValueError("the trace's requests all arrive at one instant: no rate to size for")
    if t[-1] > MAX_SPAN_DAYS * 86400:
        raise ValueError(f"the trace spans {t[-1] / 86400:,.0f} days (from {req['t'].iloc[0]} to {req['t'].iloc[-1]}); "
                         f"sizing reads it second by second: give at most {MAX_SPAN_DAYS} days")
    hours = float(t[-1]) / 3600.0 * n / (n - 1)  # n requests cover n gaps of the mean spacing, not n − 1
    notes = []
    if hours < SHORT_TRACE_H:
        notes.append(f"the trace spans {hours * 60:.1f} minutes: its rate and costs per month rest on that alone")
    us = np.ascontiguousarray(unit_seconds(prof, fresh, cached, out), dtype=np.float64)
    t = np.ascontiguousarray(t, dtype=np.float64)
    win = window_requirements(t, us)  # checks the stream once: the searches below skip it
    windows = {f"{int(L)}s": {"max": round(w.max, 4), "p50": round(w.p50, 4), "p95": round(w.p95, 4),
                              "p99": round(w.p99, 4), "p99.9": round(w.p999, 4)} for L, w in win.items()}
    one_s = win[min(win)]
    pay = None
    if prof.pay_go_option and prof.pay_go_model:
        card = PriceBook(price_date or _dt.date.today()).card(prof.pay_go_model)
        # each request at its own rates (long-context cliffs), cache writes at the 5-minute premium
        pay = np.asarray(card.call_cost(fresh - writes, cached, writes, 0.0, out), float)
    else:
        notes.append(f"{prof.name}: no pay-as-you-go overflow ({prof.spill}): plans are provisioned only")

    def count(k: int) -> int:  # the k-th legal purchase: the minimum, then by the increment
        return prof.minimum + k * prof.increment

    def provisioned(u: int) -> Plan:
        hourly = float(cost_per_hour(prof, u, term))
        lat, judged, ok = _judge(objectives, fresh, out, pool_waits(t, us, u, checked=True), base)
        return Plan(u, hourly, hourly * HOURS_PER_MONTH, 0.0, float(one_s.overload_probability(u)), lat, judged, ok)

    # provisioned only: latency never rises with more units, so double, then bisect the legal counts
    tried: dict[int, Plan] = {}
    min_units = None
    _, _, reachable = _judge(objectives, fresh, out, np.zeros(n), base)
    if not reachable:
        notes.append("the objectives fail with no queue at all: the baseline latency (decode "
                     f"{base.decode_tok_s:g} tokens/s, prefill {base.prefill_tok_s:g}/s, {base.base_s:g} s fixed) "
                     "exceeds them, at any unit count")
    else:
        lo, k = -1, 0
        while count(k) <= MAX_UNITS:
            tried[count(k)] = provisioned(count(k))
            if tried[count(k)].slo_met:
                break
            lo, k = k, 2 * k + 1
        else:
            notes.append(f"no purchase up to {MAX_UNITS:,} units meets the objectives on the pool alone")
            k = None
        if k is not None:
            hi = k
            while hi - lo > 1:
                mid = (lo + hi) // 2
                tried[count(mid)] = tried.get(count(mid)) or provisioned(count(mid))
                lo, hi = (mid, hi) if not tried[count(mid)].slo_met else (lo, mid)
            min_units = count(hi)
    frontier = []
    best = None
    if pay is not None:  # hybrid: 0 units, then each legal count, until units alone cost more than the best plan
        for i in range(MAX_COUNTS + 1):
            u = 0 if i == 0 else count(i - 1)
            hourly = float(cost_per_hour(prof, u, term))
            if best is not None and hourly * HOURS_PER_MONTH >= best.cost_per_month:
                break
            spilled, waits = spill(t, us, u, queue_limit_s, checked=True)
            w_all = np.zeros(n)
            w_all[~spilled] = waits  # spilled requests start at once on pay-go
            lat, judged, ok = _judge(objectives, fresh, out, w_all, base)
            extra = float(pay[spilled].sum()) / hours
            plan = Plan(u, hourly + extra, (hourly + extra) * HOURS_PER_MONTH, float(spilled.mean()),
                        float(one_s.overload_probability(u)), lat, judged, ok)
            frontier.append(plan)
            if ok and (best is None or plan.cost_per_month < best.cost_per_month):
                best = plan
            if plan.spill_share == 0.0 and (ok or (min_units is not None and u >= min_units)):
                break  # nothing left to spill: more units only cost more
            if not reachable and plan.spill_share == 0.0:
                break  # no plan can meet objectives the baseline alone misses: the frontier up to no spill
        else:
            notes.append(f"hybrid plans searched up to {frontier[-1].units} units")
    elif min_units is not None:
        best = tried[min_units]
    return Sizing(prof.name, term, list(objectives), int(n), hours, windows, min_units, best,
                  [tried[u] for u in sorted(tried)], frontier, notes)
