"""Size a provisioned pool (Azure PTU, Vertex GSU, xAI units, Bedrock MU) against latency objectives, from a trace.

For each legal unit count (``sim.catalog.provisioned.legal_units``: the minimum, then by the
increment) the trace's requests are served by the pool as one FIFO work queue at the units'
rate (``sim.pools.queueing``: the wait of every request, exact for that fluid model), each
request's work its burndown-weighted tokens (``unit_seconds``). Two plans per count:

- **provisioned only**: every request queues for the pool (what a 429-and-retry client sees,
  without the retries' own delay); ``min_units_for_slo`` is the smallest count whose latencies
  meet every objective;
- **hybrid**: a request that would wait more than ``queue_limit_s`` spills to pay-as-you-go
  (``spill``), served there at the baseline latency and billed at the catalog's price of the
  profile's ``pay_go_model``; zero units is the all-pay-go plan. ``cheapest_plan`` is the
  cheapest hybrid plan that meets every objective.

Latency is the baseline model (``BaselineLatency``: a fixed part, prefill of the uncached prompt,
decode of the output) plus the queue's wait; its defaults are the scenario's API latency
assumption, to be overridden for a fast model. Costs per month are 730 hours of the units at the
term's price plus the spilled requests' pay-go cost per trace hour × 730. The 1 s, 5 s and 60 s
window requirements (``sim.pools.capacity``) and each count's overload probability (the share of
1 s windows needing more units than bought) are reported beside the queue.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..catalog.prices import PriceBook
from ..catalog.provisioned import ProvisionedProfile, cost_per_hour, legal_units, unit_seconds
from ..pools.capacity import window_requirements
from ..pools.queueing import BaselineLatency, latency, percentiles, pool_waits, spill

HOURS_PER_MONTH = 730.0
MAX_COUNTS = 400  # unit counts tried at most (Azure's minimum 15 by 5: up to 2,010 PTU)
_SLO = re.compile(r"^\s*p(\d{1,2}(?:\.\d+)?)\s+(ttft|e2e)\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$", re.I)


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
                         "800ms\" (a percentile, ttft or e2e, <=, a time in s or ms)")
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


def _request_arrays(req: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seconds from the first request, fresh (uncached) prompt, cached prompt and output tokens."""
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy(float)
    whole = req["input_tokens"].to_numpy(float)
    cached = req["cached_tokens"].to_numpy(float) if "cached_tokens" in req else np.zeros(len(req))
    out = req["output_tokens"].to_numpy(float)
    return t, np.maximum(whole - cached, 0.0), cached, out


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
    t, fresh, cached, out = _request_arrays(req)
    hours = float(t[-1]) / 3600.0
    if hours <= 0:
        raise ValueError("the trace's requests all arrive at one instant: no rate to size for")
    us = np.asarray(unit_seconds(prof, fresh, cached, out), float)
    win = window_requirements(t, us)
    windows = {f"{int(L)}s": {"max": round(w.max, 4), "p50": round(w.p50, 4), "p95": round(w.p95, 4),
                              "p99": round(w.p99, 4), "p99.9": round(w.p999, 4)} for L, w in win.items()}
    one_s = win[min(win)]
    notes = []
    pay = None
    if prof.pay_go_option and prof.pay_go_model:
        card = PriceBook(price_date or _dt.date.today()).card(prof.pay_go_model)
        pay = (fresh * card.base.input + cached * card.base.cached_input + out * card.base.output) / 1e6
    else:
        notes.append(f"{prof.name}: no pay-as-you-go overflow ({prof.spill}): plans are provisioned only")
    top = legal_units(prof, max(math.ceil(one_s.max), 1)) + prof.increment  # no 1 s window needs more
    counts = [0] + list(range(prof.minimum, top + 1, prof.increment))[:MAX_COUNTS]
    if counts[-1] < top:
        notes.append(f"searched {len(counts) - 1} unit counts up to {counts[-1]}; the trace's busiest second needs "
                     f"{one_s.max:.1f}")
    provisioned, frontier = [], []
    for u in counts:
        over = float(one_s.overload_probability(u))
        hourly = float(cost_per_hour(prof, u, term))
        if u > 0:
            lat, judged, ok = _judge(objectives, fresh, out, pool_waits(t, us, u), base)
            provisioned.append(Plan(u, hourly, hourly * HOURS_PER_MONTH, 0.0, over, lat, judged, ok))
        if pay is None:
            continue
        spilled, waits = spill(t, us, u, queue_limit_s)
        w_all = np.zeros(t.size)
        w_all[~spilled] = waits  # spilled requests start at once on pay-go
        lat, judged, ok = _judge(objectives, fresh, out, w_all, base)
        extra = float(pay[spilled].sum()) / hours
        frontier.append(Plan(u, hourly + extra, (hourly + extra) * HOURS_PER_MONTH, float(spilled.mean()), over, lat,
                             judged, ok))
    met = [p for p in provisioned if p.slo_met]
    min_units = met[0].units if met else None
    if min_units is None:
        notes.append("no unit count searched meets every objective on the pool alone: the baseline latency "
                     f"(decode {base.decode_tok_s:g} tokens/s, prefill {base.prefill_tok_s:g}/s, {base.base_s:g} s "
                     "fixed) may exceed them by itself")
    plans = frontier if frontier else provisioned
    ok_plans = [p for p in plans if p.slo_met]
    cheapest = min(ok_plans, key=lambda p: (p.cost_per_month, p.units)) if ok_plans else None
    return Sizing(prof.name, term, list(objectives), int(t.size), hours, windows, min_units, cheapest, provisioned,
                  frontier, notes)
