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
from ..catalog.provisioned import ProvisionedProfile
from ..pools.capacity import window_requirements
from ..pools.queueing import BaselineLatency, percentiles
from ..pools.servers import ProvisionedServer, Served

HOURS_PER_MONTH = 730.0
MAX_COUNTS = 400  # hybrid unit counts tried at most (Azure's minimum 15 by 5: up to 2,010 PTU)
MAX_UNITS = 1_000_000  # the provisioned-only search gives up above this many units
MAX_SPAN_DAYS = 92  # the 1 s windows of a longer trace would not fit in memory (a float a second)
SHORT_TRACE_H = 1.0
_SLO = re.compile(r"^\s*p(\d{1,3}(?:\.\d+)?)\s+(ttft|e2e|tpot)\s*(<=)\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$", re.I)


@dataclass(frozen=True)
class Objective:
    """The ``percentile`` of ``metric`` (ttft, e2e latency or tpot, time per output token) at most ``seconds``."""

    percentile: float
    metric: str
    seconds: float

    def __str__(self) -> str:
        t = f"{self.seconds * 1000:g}ms" if self.metric == "tpot" else f"{self.seconds:g}s"
        return f"p{self.percentile:g} {self.metric} <= {t}"


def parse_objective(text: str) -> Objective:
    """``"p99 e2e <= 1.5s"`` (or ``"p95 ttft <= 800ms"``) as an ``Objective``; ValueError otherwise."""
    m = _SLO.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a latency objective: write e.g. \"p99 e2e <= 1.5s\", \"p95 ttft <= "
                         "800ms\" or \"p99 tpot <= 50ms\" (a percentile, ttft, e2e or tpot, <=, a time in s or ms; "
                         "strict < is not taken)")
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
    unit: str = ""

    def to_json(self) -> dict:
        return {"profile": self.profile, "term": self.term, "unit": self.unit, "objectives": [str(o) for o in self.objectives],
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
    cover batch) are left out; output tokens include reasoning (``reasoning_tokens`` says how
    many). Returns the requests and the DES summary's day, users and expected sessions."""
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
                        "output_tokens": r["output"].to_numpy(float),  # the DES's output includes reasoning
                        "reasoning_tokens": r["reasoning"].to_numpy(float),
                        "model": r["model"].astype(str).to_numpy()}).sort_values("t", kind="stable")
    return req.reset_index(drop=True), {"day": res.summary["day0"], "users": res.summary["users"],
                                        "expected_sessions": res.summary["expected_sessions"].get(workload)}


def request_arrays(req: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Seconds from the first request, fresh (uncached, cache writes included) prompt, cached
    prompt, cache-write and output tokens."""
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy(float)
    whole = req["input_tokens"].to_numpy(float)
    cached = req["cached_tokens"].to_numpy(float) if "cached_tokens" in req else np.zeros(len(req))
    writes = req["cache_write_tokens"].to_numpy(float) if "cache_write_tokens" in req else np.zeros(len(req))
    out = req["output_tokens"].to_numpy(float)
    return t, np.maximum(whole - cached, 0.0), cached, writes, out


def pay_go_costs(model: str | None, req: pd.DataFrame, price_date: _dt.date | None) -> np.ndarray | None:
    """Each request's pay-as-you-go cost on ``model`` at the catalog's price (long-context cliffs
    included, cache writes at the 5-minute premium); None without a model."""
    if not model:
        return None
    _, fresh, cached, writes, out = request_arrays(req)
    card = PriceBook(price_date or _dt.date.today()).card(model)
    return np.asarray(card.call_cost(fresh - writes, cached, writes, 0.0, out), float)


def stream_hours(t: np.ndarray) -> float:
    """Hours a stream stands for: its span × n/(n − 1) (n requests cover n mean gaps, not n − 1)."""
    n = t.size
    return float(t[-1]) / 3600.0 * n / (n - 1)


def check_trace(req: pd.DataFrame) -> tuple[np.ndarray, float, list[str]]:
    """Seconds from the first request, the hours it stands for and notes; ValueError for a trace
    that cannot be sized."""
    if len(req) < 2:
        raise ValueError("a trace of at least two requests is needed to size a pool")
    t = request_arrays(req)[0]
    if t[-1] <= 0:
        raise ValueError("the trace's requests all arrive at one instant: no rate to size for")
    if t[-1] > MAX_SPAN_DAYS * 86400:
        raise ValueError(f"the trace spans {t[-1] / 86400:,.0f} days (from {req['t'].iloc[0]} to {req['t'].iloc[-1]}); "
                         f"sizing reads it second by second: give at most {MAX_SPAN_DAYS} days")
    hours = stream_hours(t)
    notes = []
    if hours < SHORT_TRACE_H:
        notes.append(f"the trace spans {hours * 60:.1f} minutes: its rate and costs per month rest on that alone")
    return np.ascontiguousarray(t, dtype=np.float64), hours, notes


def judge(objectives, served: Served) -> tuple[dict, list, bool]:
    """Percentiles (50/95/99) of ttft, e2e and tpot, each objective's value and whether it holds,
    and whether all do."""
    qs = sorted({50.0, 95.0, 99.0} | {o.percentile for o in objectives})
    lat = {m: percentiles(served.metric(m), qs) for m in ("ttft", "e2e", "tpot")}
    judged = []
    for o in objectives:
        v = lat[o.metric][o.percentile]
        judged.append({"objective": str(o), "seconds": round(v, 4), "met": bool(v <= o.seconds)})
    return {m: {q: v for q, v in d.items() if q in (50.0, 95.0, 99.0)} for m, d in lat.items()}, judged, \
        all(j["met"] for j in judged)


def provisioned_server(req: pd.DataFrame, prof: ProvisionedProfile, *, term: str, queue_limit_s: float,
                       base: BaselineLatency | None, price_date: _dt.date | None):
    """The ``ProvisionedServer`` for a trace, its requests' pay-go costs (None when the profile has no
    pay-go overflow) and notes."""
    _, fresh, cached, _, out = request_arrays(req)
    reasoning = req["reasoning_tokens"].to_numpy(float) if "reasoning_tokens" in req else None
    server = ProvisionedServer(prof, term, fresh, cached, out, base or BaselineLatency(), queue_limit_s, reasoning)
    pay = pay_go_costs(prof.pay_go_model, req, price_date) if prof.pay_go_option else None
    notes = [] if pay is not None else [f"{prof.name}: no pay-as-you-go overflow ({prof.spill}): plans are "
                                        "provisioned only"]
    return server, pay, notes


def size_trace(req: pd.DataFrame, prof: ProvisionedProfile, objectives: list[Objective], *, term: str = "1m",
               queue_limit_s: float = 1.0, base: BaselineLatency | None = None,
               price_date: _dt.date | None = None) -> Sizing:
    """Size ``prof`` for the requests ``req`` (``sim.calibrate.formats.read_requests``: columns t,
    input_tokens (the whole prompt), output_tokens, optional cached_tokens), sorted by time."""
    check_trace(req)
    server, pay, notes = provisioned_server(req, prof, term=term, queue_limit_s=queue_limit_s, base=base,
                                            price_date=price_date)
    return size_stream(req, server, objectives, pay, term=term, notes=notes)


def size_stream(req: pd.DataFrame, server, objectives: list[Objective], pay: np.ndarray | None, *, term: str,
                notes: list[str] | None = None) -> Sizing:
    """Search ``server``'s unit counts (``sim.pools.servers``) for the requests ``req``; ``pay`` is each
    request's pay-go cost (None: no hybrid plans)."""
    t, hours, more = check_trace(req)
    notes = list(notes or []) + more
    n = t.size
    span_s = hours * 3600.0
    win = window_requirements(t, server.work)  # checks the stream once: the searches below skip it
    windows = {f"{int(L)}s": {"max": round(w.max, 4), "p50": round(w.p50, 4), "p95": round(w.p95, 4),
                              "p99": round(w.p99, 4), "p99.9": round(w.p999, 4)} for L, w in win.items()}
    one_s = win[min(win)]

    def count(k: int) -> int:  # the k-th legal purchase: the minimum, then by the increment
        return server.minimum + k * server.increment

    def provisioned(u: int) -> Plan:
        s = server.serve(t, span_s, u, hybrid=False)
        hourly = server.cost_per_hour(u, s.busy)
        lat, judged, ok = judge(objectives, s)
        return Plan(u, hourly, hourly * HOURS_PER_MONTH, 0.0, float(one_s.overload_probability(u)), lat, judged, ok)

    # provisioned only: latency never rises with more units, so double, then bisect the legal counts
    tried: dict[int, Plan] = {}
    min_units = None
    base = getattr(server, "base", None)
    _, _, reachable = judge(objectives, server.unloaded())
    if not reachable:
        why = (f"decode {base.decode_tok_s:g} tokens/s, prefill {base.prefill_tok_s:g}/s, {base.base_s:g} s fixed"
               if base is not None else "one stream on an idle replica, its prefill at the replica's rate")
        notes.append(f"the objectives fail with no queue at all: the baseline latency ({why}) exceeds them, at any "
                     "unit count")
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
            if best is not None and server.cost_per_hour(u, 0.0) * HOURS_PER_MONTH >= best.cost_per_month:
                break  # the units alone (idle) already cost more than the best plan
            s = server.serve(t, span_s, u, hybrid=True)
            hourly = server.cost_per_hour(u, s.busy)
            lat, judged, ok = judge(objectives, s)
            extra = float(pay[s.spilled].sum()) / hours
            plan = Plan(u, hourly + extra, (hourly + extra) * HOURS_PER_MONTH, float(s.spilled.mean()),
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
    return Sizing(server.name, term, list(objectives), int(n), hours, windows, min_units, best,
                  [tried[u] for u in sorted(tried)], frontier, notes, server.unit)
