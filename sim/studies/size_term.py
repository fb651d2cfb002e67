"""Provisioned units over a contract term under uncertain demand (issue 12, item 4).

``sim.studies.size`` sizes a pool for one request stream. A purchase lasts a term (1 month to 3
years) over which demand grows, or does not, by an amount nobody knows. This module carries the
sizing through the scenario's Monte Carlo:

1. **The stream's shape** is the DES busiest day of the term's first month
   (``sim.studies.size.scenario_requests``): the requests of one day at the scenario's expected
   demand, each with its tokens.
2. **The load of every day of the term on every path** is the kernel's demand for that day
   (``daily_requests``, the day's sessions at its month's calls per session), as a factor
   ``f = requests(path, day) / requests(expected, sized day)``: the deterministic kernel's requests
   on the day the DES simulated. f = 1 is the stream as simulated.
3. **A day at factor f** is the stream with its clock run f times faster (``t / f``): f times the
   request rate at every instant, the same requests and bursts. Exact for the rate; it assumes the
   requests' sizes and the short-term burst pattern scale with volume, not change with it, and it
   squeezes the day's hourly profile into 24/f hours, which moves nothing at the seconds a queue
   sees while the profile changes over hours.
4. **On a grid of factors** (geometric, covering every day of the term on every path) each unit
   count is run through the queue: provisioned only (``pool_waits``) and hybrid (``spill`` to
   pay-go past ``queue_limit_s``). Each gives, per objective, the share of requests that meet its
   time; the pay-go cost of the spilled requests; the work the units served.
5. **A month meets an objective "pNN metric <= T"** when at least NN % of *its* requests meet T.
   A month's requests are its days' requests, so its share is the request-weighted mean of its days'
   shares: Σ f_d · share(f_d) / Σ f_d — exact for the month's percentile, no day-level proxy.
   Pay-go is priced at the month's expected list price (the scenario's price trend).
   share(f), cost(f) and the units' use between grid points are read by linear interpolation in f
   (exact for the all-pay-go cost, which is linear in the load).
6. **Per unit count**: P(at least one month of the term misses an objective), over paths; the
   expected cost per month (units at the term's price, plus spill); the expected stranded units
   (units × the share of their capacity not used, day by day); the P95 of its monthly bill over
   every path-month of the term.
7. **Recommended** (target breach probability α): the plan with the least expected cost among
   those with P(breach) <= α, provisioned only or hybrid.

What the kernel's demand does not carry into the stream: a change of tokens per call over the term
(context growth, a new model) and the workload's share of a provider's model when several
workloads use it. The stream is that of one workload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .size import HOURS_PER_MONTH, Objective, check_trace

# the months a term lasts (the hourly term is re-bought every hour: no term to carry)
TERM_MONTHS = {"1w": 1, "1m": 1, "3m": 3, "6m": 6, "1y": 12, "3y": 36}
GRID_POINTS = 25  # load factors on the grid: geometric from the foot to the busiest day, the lightest day below
GRID_FOOT = 0.005  # the foot: this request-weighted quantile of the days' loads (lighter days carry ~no requests)
MAX_TERM_COUNTS = 120  # unit counts evaluated (every k-th legal count above it, and the ends)
DEFAULT_TARGET = 0.05


@dataclass(frozen=True)
class DemandFactors:
    """Each day's requests over the sized day's expected requests: ``daily`` (paths, days)."""

    daily: np.ndarray
    month_of_day: np.ndarray  # (days,) 0 .. months-1 within the term
    months: list[str]  # YYYY-MM of each month of the term
    reference_requests: float  # the deterministic kernel's requests on the sized day
    paths: int
    pay_go_price: np.ndarray | None = None  # (months,) list-price multiplier on the stream's pay-go cost

    def price(self) -> np.ndarray:
        return np.ones(len(self.months)) if self.pay_go_price is None else np.asarray(self.pay_go_price, float)

    def to_json(self) -> dict:
        d = self.daily
        peak = np.stack([d[:, self.month_of_day == m].max(1) for m in range(len(self.months))], 1)
        return {"months": self.months, "paths": self.paths,
                "reference_requests_per_day": round(self.reference_requests, 2),
                "busiest_day_factor": {"p5": round(float(np.percentile(peak.max(1), 5)), 4),
                                       "p50": round(float(np.percentile(peak.max(1), 50)), 4),
                                       "p95": round(float(np.percentile(peak.max(1), 95)), 4)}}


def demand_factors(sc, workload: str, day0: str, month: int, months: int, paths: int,
                   block: int = 500, pay_go_model: str | None = None) -> DemandFactors:
    """Daily load factors of ``workload`` over ``months`` months from horizon month ``month``, from
    ``paths`` Monte Carlo paths of the scenario's base (no strategy), relative to the deterministic
    kernel's requests on ``day0`` (the DES day the stream was simulated on).

    Only the workload's API requests count (the stream is its API requests): each day's requests
    are taken at its month's API share of the workload's requests on that path (a workload that
    moves to owned GPUs mid-term sends the API less). ``pay_go_model`` sets ``pay_go_price``: the
    scenario's expected list-price trend (``pools.api.price_trend``, frontier or commodity) for
    each month of the term, relative to the price date the stream's pay-go cost is priced at."""
    from ..mc.runner import prepare, run_block

    base = sc.model_copy(update={"strategies": [], "sweeps": []})
    starts = [pd.Timestamp(d.isoformat()) for d in sc.horizon.month_starts()]
    t0 = starts[0]
    end_month = min(month + months, sc.horizon.months)
    d_lo = (starts[month] - t0).days
    d_hi = (starts[end_month] - t0).days if end_month < len(starts) else \
        (starts[-1] + pd.offsets.MonthBegin(1) - t0).days
    ref_day = (pd.Timestamp(day0) - t0).days

    def months_of(n_days: int) -> np.ndarray:
        mod = np.zeros(n_days, dtype=np.int64)
        for m in range(len(starts)):
            mod[(starts[m] - t0).days:] = m
        return mod

    def daily(prep, idx: np.ndarray) -> np.ndarray:
        ds = run_block(prep, idx).isel(strategy=0).sel(workload=workload)
        req = ds["requests"].to_numpy().astype(np.float64)  # (P, M, pool)
        tot = req.sum(-1)
        api = req[..., list(ds["pool"].values).index("api")]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(tot > 0, api / np.where(tot > 0, tot, 1.0), 0.0)  # (P, M)
        d = ds["daily_requests"].to_numpy().astype(np.float64)
        return d * share[:, months_of(d.shape[1])]

    det = daily(prepare(base, deterministic=True, daily=True), np.arange(1))[0]
    ref = float(det[ref_day])
    if not ref > 0:
        raise ValueError(f"{workload} has no requests on {day0} in the expected demand: nothing to scale")
    prep = prepare(base, deterministic=False, daily=True)
    out = np.empty((paths, d_hi - d_lo))
    for a in range(0, paths, block):  # only this workload's days are kept, block by block
        idx = np.arange(a, min(a + block, paths))
        out[a:idx[-1] + 1] = daily(prep, idx)[:, d_lo:d_hi] / ref
    mo = np.zeros(d_hi - d_lo, dtype=np.int64)
    for m in range(month, end_month):
        mo[(starts[m] - t0).days - d_lo:] = m - month
    labels = [f"{starts[m].year:04d}-{starts[m].month:02d}" for m in range(month, end_month)]
    price = None
    if pay_go_model:
        from ..pools.api import expected_price_factor

        price = expected_price_factor(sc, pay_go_model, np.arange(month, end_month))
    return DemandFactors(out, mo, labels, ref, int(paths), price)


@dataclass(frozen=True)
class TermPlan:
    """One unit count over the term, provisioned only and with spill to pay-go."""

    units: int
    units_cost_per_month: float
    pool_p_breach: float  # provisioned only: P(some month misses an objective)
    pool_stranded_units: float  # expected units' worth of capacity unused
    hybrid_p_breach: float | None
    hybrid_expected_cost_per_month: float | None
    hybrid_p95_cost_per_month: float | None
    hybrid_spill_share: float | None
    hybrid_stranded_units: float | None

    def to_json(self) -> dict:
        r = lambda x, k: None if x is None else round(float(x), k)  # noqa: E731
        return {"units": self.units, "units_cost_per_month": round(self.units_cost_per_month, 2),
                "provisioned": {"p_breach": round(self.pool_p_breach, 4) if self.units > 0 else None,
                                "expected_cost_per_month": round(self.units_cost_per_month, 2),
                                "expected_stranded_units": round(self.pool_stranded_units, 3)},
                "hybrid": None if self.hybrid_p_breach is None else {
                    "p_breach": r(self.hybrid_p_breach, 4),
                    "expected_cost_per_month": r(self.hybrid_expected_cost_per_month, 2),
                    "p95_cost_per_month": r(self.hybrid_p95_cost_per_month, 2),
                    "expected_spill_share": r(self.hybrid_spill_share, 6),
                    "expected_stranded_units": r(self.hybrid_stranded_units, 3)}}


@dataclass
class TermSizing:
    """What ``size_over_term`` found."""

    profile: str
    term: str
    target: float
    demand: DemandFactors
    plans: list[TermPlan]
    recommended: dict | None
    min_units_at_target: int | None
    grid: np.ndarray
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"profile": self.profile, "term": self.term, "breach_target": self.target,
                "demand": self.demand.to_json(), "load_grid": [round(float(x), 4) for x in self.grid],
                "recommended": self.recommended, "min_units_at_target": self.min_units_at_target,
                "plans": [p.to_json() for p in self.plans], "notes": self.notes}


@dataclass(frozen=True)
class _Grid:
    """The server at each (unit count, load factor)."""

    pool_share: np.ndarray  # (U, F, J) share of requests meeting objective j, provisioned only
    pool_busy: np.ndarray  # (U, F) share of the units' capacity used
    pool_cost_h: np.ndarray  # (U, F) the units' cost per hour at that use
    hyb_share: np.ndarray | None  # (U, F, J)
    hyb_busy: np.ndarray | None
    hyb_spill: np.ndarray | None  # (U, F) share of requests spilled
    hyb_spill_day: np.ndarray | None  # (U, F) a day at factor f: the spilled requests' pay-go, at the stream's prices
    hyb_units_h: np.ndarray | None  # (U, F) the units' cost per hour at that use


def _shares(objectives, served) -> np.ndarray:
    n = served.ttft.size
    return np.array([np.count_nonzero(served.metric(o.metric) <= o.seconds) / n for o in objectives])


def _grid(server, t, pay, hours, units, factors, objectives) -> _Grid:
    U, F, J = len(units), len(factors), len(objectives)
    ps, pb, pc = np.zeros((U, F, J)), np.zeros((U, F)), np.zeros((U, F))
    hs = hb = hsp = hc = hu = None
    if pay is not None:
        hs, hb, hsp, hc, hu = (np.zeros((U, F, J)), np.zeros((U, F)), np.zeros((U, F)), np.zeros((U, F)),
                               np.zeros((U, F)))
    for j, f in enumerate(factors):
        tf = np.ascontiguousarray(t / f)
        span = hours * 3600.0 / f
        for i, u in enumerate(units):
            if u > 0:
                s = server.serve(tf, span, u, hybrid=False)
                ps[i, j], pb[i, j], pc[i, j] = _shares(objectives, s), s.busy, server.cost_per_hour(u, s.busy)
            if pay is not None:
                s = server.serve(tf, span, u, hybrid=True)
                hs[i, j], hsp[i, j], hb[i, j] = _shares(objectives, s), s.spilled.mean(), s.busy
                # a day at factor f has f times the stream's requests: the spilled ones' cost × f × 24 h / hours
                hc[i, j] = float(pay[s.spilled].sum()) * f * 24.0 / hours
                hu[i, j] = server.cost_per_hour(u, s.busy)
    return _Grid(ps, pb, pc, hs, hb, hsp, hc, hu)


def load_grid(d: np.ndarray) -> np.ndarray:
    """The load factors the queue is run at: geometric (GRID_POINTS − 1 points) from the days'
    request-weighted GRID_FOOT quantile to the busiest day, and the lightest day below it (one chord
    across days that carry almost no requests: their shares are read there, their costs exactly
    where linear). Days all alike: ±1 % around them."""
    pos = np.sort(d[d > 0])
    lo, hi = float(pos[0]), float(pos[-1])
    if hi / lo < 1.0 + 1e-9:
        return np.geomspace(lo / 1.01, hi * 1.01, GRID_POINTS)
    cw = np.cumsum(pos) / pos.sum()
    foot = float(pos[min(int(np.searchsorted(cw, GRID_FOOT)), pos.size - 1)])
    if foot <= lo * 1.01 or foot >= hi:
        return np.geomspace(lo, hi, GRID_POINTS)
    return np.r_[lo, np.geomspace(foot, hi, GRID_POINTS - 1)]


def _interp(grid: np.ndarray, values: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Values on the grid of factors (F,) read at factors ``f`` (any shape), linearly in f."""
    return np.interp(f, grid, values)


def _count_list(server, top: int) -> list[int]:
    legal = list(range(server.minimum, top + 1, server.increment))
    if len(legal) > MAX_TERM_COUNTS:
        step = -(-len(legal) // MAX_TERM_COUNTS)
        legal = sorted(set(legal[::step]) | {legal[-1]})
    return legal


def _top_units(server, t, hours, objectives, fmax) -> int | None:
    """The smallest legal count meeting every objective on the pool alone at the largest factor."""
    tf = np.ascontiguousarray(t / fmax)
    span = hours * 3600.0 / fmax
    need = np.array([o.percentile / 100.0 for o in objectives])

    def ok(u):
        return bool(np.all(_shares(objectives, server.serve(tf, span, u, hybrid=False)) >= need - 1e-12))

    count = lambda k: server.minimum + k * server.increment  # noqa: E731
    lo, k = -1, 0
    while count(k) <= 1_000_000:
        if ok(count(k)):
            break
        lo, k = k, 2 * k + 1
    else:
        return None
    hi = k
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if not ok(count(mid)) else (lo, mid)
    return count(hi)


def size_over_term(req: pd.DataFrame, server, objectives: list[Objective], demand: DemandFactors,
                   pay: np.ndarray | None, *, term: str = "1y", target: float = DEFAULT_TARGET) -> TermSizing:
    """Carry ``size_stream``'s search over the term's days on every path (module docstring);
    ``server`` as in ``sim.pools.servers``, ``pay`` each request's pay-go cost (None: no hybrid)."""
    if not 0.0 <= target < 1.0:
        raise ValueError(f"the breach target must be a probability in [0, 1), got {target}")
    t, hours, _ = check_trace(req)
    notes = []
    d = demand.daily
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("the demand factors hold a non-finite or negative day")
    pos = d[d > 0]
    if pos.size == 0:
        raise ValueError("the workload has no demand over the term on any path")
    factors = load_grid(d)
    fmin, fmax = float(factors[0]), float(factors[-1])
    need = np.array([o.percentile / 100.0 for o in objectives])
    if not np.all(_shares(objectives, server.unloaded()) >= need - 1e-12):
        notes.append("the objectives fail with no queue at all (the baseline latency exceeds them): every pool-only "
                     "month breaches")
        top = server.minimum
    else:
        top = _top_units(server, t, hours, objectives, fmax)
    if top is None:
        notes.append("no unit count up to 1,000,000 meets the objectives at the term's busiest day")
        top = server.minimum + server.increment * (MAX_TERM_COUNTS - 1)
    units = _count_list(server, top)
    if len(units) < len(range(server.minimum, top + 1, server.increment)):
        notes.append(f"{len(units)} of the legal counts up to {top} evaluated (evenly spaced)")
    counts = ([0] if pay is not None else []) + units
    g = _grid(server, t, pay, hours, counts, factors, objectives)
    lg = factors
    P = d.shape[0]
    M = len(demand.months)
    mo = demand.month_of_day
    ld = np.where(d > 0, d, fmin)  # a day without demand is read at the grid's foot; its weight is 0
    w_m = np.stack([d[:, mo == m].sum(1) for m in range(M)], 1)  # (P, M) requests (in stream units)

    def month_breach(share: np.ndarray) -> np.ndarray:
        """(P,) True where some month of the term misses some objective; share (F, J)."""
        bad = np.zeros(P, dtype=bool)
        for jj in range(share.shape[1]):
            s = _interp(lg, share[:, jj], ld) * d  # requests meeting it, day by day
            sm = np.stack([s[:, mo == m].sum(1) for m in range(M)], 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(w_m > 0, sm / np.where(w_m > 0, w_m, 1.0), 1.0)
            bad |= np.any(frac < need[jj] - 1e-12, axis=1)
        return bad

    price_day = demand.price()[mo]  # (days,) list-price multiplier of each day's month
    plans = []
    for i, u in enumerate(counts):
        idle_h = server.cost_per_hour(u, 0.0)  # a day without demand: the units idle
        if u > 0:
            pb = float(month_breach(g.pool_share[i]).mean())
            busy = _interp(lg, g.pool_busy[i], ld) * (d > 0)
            p_str = float((u * (1.0 - busy)).mean())
            cost_h = np.where(d > 0, _interp(lg, g.pool_cost_h[i], ld), idle_h)
            ucm = float(cost_h.mean()) * HOURS_PER_MONTH
        else:
            pb, p_str, ucm = 1.0, 0.0, 0.0
        hb = hc = h95 = hsp = hstr = None
        if pay is not None:
            hb = float(month_breach(g.hyb_share[i]).mean())
            cost_day = np.where(d > 0, _interp(lg, g.hyb_spill_day[i], ld) * price_day
                                + 24.0 * _interp(lg, g.hyb_units_h[i], ld), idle_h * 24.0)
            # each month's bill: its days' mean cost × 730/24; P95 over every path-month of the term
            per_month = np.stack([cost_day[:, mo == m].mean(1) for m in range(M)], 1) * (HOURS_PER_MONTH / 24.0)
            hc, h95 = float(cost_day.mean() * HOURS_PER_MONTH / 24.0), float(np.percentile(per_month, 95))
            sp = _interp(lg, g.hyb_spill[i], ld)
            hsp = float((sp * d).sum() / d.sum())
            hstr = float((u * (1.0 - _interp(lg, g.hyb_busy[i], ld) * (d > 0))).mean()) if u > 0 else 0.0
        plans.append(TermPlan(int(u), ucm, pb, p_str, hb, hc, h95, hsp, hstr))
    cands = []
    for p in plans:
        if p.units > 0 and p.pool_p_breach <= target:
            cands.append(("provisioned", p.units, p.pool_p_breach, p.units_cost_per_month))
        if p.hybrid_p_breach is not None and p.hybrid_p_breach <= target:
            cands.append(("hybrid", p.units, p.hybrid_p_breach, p.hybrid_expected_cost_per_month))
    rec = None
    if cands:
        kind, u, pbr, cost = min(cands, key=lambda c: (c[3], c[1]))
        rec = {"plan": kind, "units": u, "p_breach": round(pbr, 4), "expected_cost_per_month": round(cost, 2)}
    else:
        notes.append(f"no plan evaluated keeps P(breach) at or below {target:g}")
    at = next((p.units for p in plans if p.units > 0 and p.pool_p_breach <= target), None)
    if P < 200:
        notes.append(f"{P} paths: a breach probability is known to about ±{1.0 / np.sqrt(P):.2f} at worst")
    return TermSizing(server.name, term, float(target), demand, plans, rec, at, factors, notes)
