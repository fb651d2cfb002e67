"""The expected-value forecast: every input at its mean, demand carried hour by hour.

users(month) × activity(hour) × sessions per user → sessions per hour per workload; each session
has the expected tokens, cost and GPU work of ``sim.expected.session``. Sessions are dispatched
hour by hour in merit order — owned GPUs, reserved neocloud GPUs, on-demand neocloud GPUs, then
the API — over the pools each workload may use; what no pool can take is unserved. Costs come
from the pool formulas (``sim.pools``) and contract settlement (``sim.pools.contracts``).

Pool costs that are not per token (reservations, owned fleets, commitments) are shown back to
workloads in proportion to the GPU-seconds (or list spend) each used that month; in a month
with no use they appear on an "(idle capacity)" line so totals always add up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..catalog.hardware import load_hardware
from ..catalog.prices import PriceBook, library_version
from ..pools.contracts import contract_line_shares, seat_cost, settle_api_contracts
from ..demand.daily import mean_day_factors, noise_of
from ..demand.population import (adoption_users, hour_weights, month_day_weight, month_hours,
                                 month_of_hour, profile_arrays)
from ..pools.api import api_trends
from ..pools.factory import factory_figures, factory_pool, tier_column
from ..pools.gpu import gpu_rates, usable_seconds_per_gpu_hour, usable_share
from ..pools.neocloud import neocloud_prices, on_demand_cap, on_demand_gpus, reserved_cost, reserved_schedule, spin_up_gpu_hours
from ..pools.outcomes import settle_outcomes
from ..pools.owned import OWNED_COMPONENTS, owned_fleet, owned_inputs, owned_month_cost
from ..finite import require_finite
from ..pools.valuation import MeanValues
from ..scenario.distributions import mean_of
from ..scenario.model import Scenario
from .session import TTL_SECONDS, ExpectedSession, SessionCache, gpu_seconds_per_session, mix, workload_cards

IDLE = "(idle capacity)"
SHARED = "(shared)"


def rate_per_user_day(w) -> float:
    """Mean units of work (sessions, tasks, documents) per active user on a full day."""
    return mean_of(w.rate)


@dataclass
class Forecast:
    """Result of the expected-value engine.

    ``lines``: one row per (month, business_unit, workload, pool, model) with sessions, requests,
    token components and spend. ``pools``: one row per (month, pool) with capacity, use,
    utilisation, energy and cost components. ``meta``: versions and inputs.
    """

    lines: pd.DataFrame
    pools: pd.DataFrame
    workloads: pd.DataFrame
    contracts: pd.DataFrame
    meta: dict = field(default_factory=dict)
    # one row per (month, workload with an outcome): the outcome accounting of sim.pools.outcomes
    outcomes: pd.DataFrame = field(default_factory=pd.DataFrame)

    def monthly_total(self) -> pd.Series:
        return self.lines.groupby("month", sort=True)["spend"].sum()

    def total(self) -> float:
        return float(self.lines["spend"].sum())


class _Ctx:
    """Arrays shared by the steps of one forecast."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        hz = sc.horizon
        self.months = hz.months
        self.mhours = month_hours(hz)
        self.hour_month = month_of_hour(hz)
        self.H = self.hour_month.size
        self.month_labels = [d.strftime("%Y-%m") for d in hz.month_starts()]
        self.trend_offset = sc.trend_offset
        self.users: dict[str, np.ndarray] = {}
        self.hourw: dict[str, np.ndarray] = {}
        self.dayw: dict[str, np.ndarray] = {}
        # growth and the anchored day shock (sim.demand.daily), each day's 24 hours alike: the
        # scenario's, and a workload's own where it has one (``day_factor``)
        self._days = hz.days
        self._common = np.repeat(mean_day_factors(sc.demand_noise, hz.days), 24)
        for bu in sc.business_units:
            act = bu.activity or sc.activity
            weekly, hourly = profile_arrays(act)
            self.users[bu.name] = adoption_users(bu.users, self.months)
            self.hourw[bu.name] = hour_weights(hz, weekly, hourly)
            self.dayw[bu.name] = month_day_weight(hz, weekly)

    def day_factor(self, w) -> np.ndarray:
        """The mean day multiplier of workload ``w``'s sessions, per hour of the horizon."""
        noise = noise_of(self.sc, w)
        return self._common if noise is self.sc.demand_noise else np.repeat(mean_day_factors(noise, self._days), 24)

    def month_sum(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.hour_month, weights=x, minlength=self.months)


def run_expected(sc: Scenario, strategy: str | None = None, book: PriceBook | None = None, *,
                 sessions: SessionCache | None = None) -> Forecast:
    """The deterministic forecast of ``sc`` (optionally with one of its strategies applied).

    ``sessions`` reuses expected sessions across many forecasts (sensitivity designs).
    """
    sc = sc.with_strategy(strategy)
    book = book or PriceBook(sc.price_date, sc.prices.overrides)
    sessions = sessions or SessionCache()
    hw = load_hardware()
    val = MeanValues()
    ctx = _Ctx(sc)
    H, M = ctx.H, ctx.months
    usable_neo = usable_seconds_per_gpu_hour(usable_share(sc, "neocloud", val), 1.0)
    usable_own = usable_seconds_per_gpu_hour(usable_share(sc, "owned", val), 1.0)

    # ---- demand: sessions per hour and expected sessions per month -------------------------
    wls = sc.token_workloads
    sessions_h: dict[str, np.ndarray] = {}
    es_m: dict[str, list[ExpectedSession]] = {}
    gsec: dict[tuple[str, str], np.ndarray] = {}
    for w in wls:
        bu = w.business_unit
        s_h = ctx.users[bu][ctx.hour_month] * rate_per_user_day(w) * (ctx.hourw[bu] * ctx.day_factor(w))
        sessions_h[w.name] = s_h
        refs = [r for r in (w.models.api, w.levers.routing.cheap_model if w.levers.routing.enabled else None) if r]
        cards = workload_cards(sc, w, book, refs)
        es0, es1 = sessions.expected(w, cards, 0.0), sessions.expected(w, cards, 1.0)
        pc = w.levers.prompt_cache
        if pc.enabled and pc.shared_prefix:
            lam = s_h * es0.calls_first_attempt / 3600.0
            warm = 1.0 - np.exp(-lam * TTL_SECONDS[pc.ttl])
            s_m = ctx.month_sum(s_h)
            p_m = np.where(s_m > 0, ctx.month_sum(s_h * warm) / np.where(s_m > 0, s_m, 1.0), 0.0)
        else:
            p_m = np.zeros(M)
        es_m[w.name] = [mix(es0, es1, float(p)) for p in p_m]
        for pool in ("owned", "neocloud"):
            if pool in w.allowed_pools:
                pre, dec = gpu_rates(sc, w, pool, hw)
                gsec[(w.name, pool)] = np.array([gpu_seconds_per_session(e, pre, dec) for e in es_m[w.name]])

    # ---- capacity per hour -----------------------------------------------------------------
    fleet = owned_fleet(sc, val, M, ctx.trend_offset)
    own_in_service, own_effective, own_ordered = fleet.in_service, fleet.effective, fleet.ordered
    cap_owned = own_effective[ctx.hour_month] * usable_own
    neo = sc.pools.neocloud
    sched = reserved_schedule(sc, val, M)
    reserved = sched.gpus
    cap_reserved = reserved[ctx.hour_month] * usable_neo
    od_cap = on_demand_cap(sc, val)

    # ---- dispatch hour by hour (vectorised over hours) ---------------------------------------
    remaining = {w.name: sessions_h[w.name].copy() for w in wls}
    served: dict[tuple[str, str], np.ndarray] = {}
    work: dict[str, np.ndarray] = {}

    def fill(pool_key: str, gpu_pool: str, capacity: np.ndarray | None) -> np.ndarray:
        users_ = [w for w in wls if gpu_pool in w.allowed_pools]
        demand = np.zeros(H)
        for w in users_:
            demand += remaining[w.name] * gsec[(w.name, gpu_pool)][ctx.hour_month]
        if capacity is None:
            frac = np.ones(H)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(demand > 0, np.minimum(1.0, capacity / np.where(demand > 0, demand, 1.0)), 0.0)
        done = np.zeros(H)
        for w in users_:
            s = remaining[w.name] * frac
            served[(w.name, pool_key)] = s
            remaining[w.name] = remaining[w.name] - s
            done += s * gsec[(w.name, gpu_pool)][ctx.hour_month]
        work[pool_key] = done
        return done

    if sc.pools.owned.enabled:
        fill("owned", "owned", cap_owned)
    if neo.enabled:
        fill("neocloud_reserved", "neocloud", cap_reserved)
        fill("neocloud_on_demand", "neocloud", np.full(H, od_cap * usable_neo) if od_cap > 0 else np.zeros(H))
    for w in wls:
        if "api" in w.allowed_pools:
            served[(w.name, "api")] = remaining[w.name]
            remaining[w.name] = np.zeros(H)

    # ---- API spend by workload and model, then contracts ----------------------------------
    rows: list[dict] = []
    frontier = set(sc.pools.api.frontier_models)
    m_idx = np.arange(M) + ctx.trend_offset
    trends = api_trends(sc, val, m_idx)
    trend_c, trend_f = trends[False], trends[True]
    api_cost: dict[tuple[str, str], np.ndarray] = {}  # (workload, ref) -> per month, list
    api_tokens_h: dict[tuple[str, str], np.ndarray] = {}
    for w in wls:
        s_api_h = served.get((w.name, "api"))
        if s_api_h is None:
            continue
        for ref in es_m[w.name][0].api:
            trend = trend_f if ref in frontier else trend_c
            per_session_cost = np.array([e.api[ref].cost for e in es_m[w.name]]) * trend
            per_session_tok = np.array([e.api[ref].input_total + e.api[ref].output for e in es_m[w.name]])
            api_tokens_h[(w.name, ref)] = s_api_h * per_session_tok[ctx.hour_month]
            api_cost[(w.name, ref)] = ctx.month_sum(s_api_h * per_session_cost[ctx.hour_month])
    # provisioned throughput absorbs API tokens hour by hour: a month's API volume is spread over
    # its hours by the workload's activity profile (the Monte Carlo engine does the same)
    hour_share = {}
    for w in wls:
        if (w.name, "api") in served:
            tot = ctx.month_sum(sessions_h[w.name])[ctx.hour_month]
            hour_share[w.name] = np.where(tot > 0, sessions_h[w.name] / np.where(tot > 0, tot, 1.0), 0.0)
    api_tokens = {k: ctx.month_sum(v) for k, v in api_tokens_h.items()}
    st = settle_api_contracts(sc.contracts, api_cost, api_tokens, hour_share, ctx.hour_month, ctx.mhours, mean_of, book,
                              users=ctx.users)
    settled = st.cost
    contract_rows: list[dict] = []
    columns = list(dict.fromkeys(k for res in st.contracts.values() for k in res))  # seats contracts add some
    for name, res in st.contracts.items():
        kind = next(c.kind for c in sc.contracts if c.name == name)
        for m in range(M):
            contract_rows.append(dict(month=ctx.month_labels[m], contract=name, kind=kind,
                                      **{k: float(res[k][m]) if k in res else 0.0 for k in columns}))
    for name, cost in st.idle.items():
        for m in np.flatnonzero(cost):
            rows.append(dict(month=ctx.month_labels[m], business_unit=SHARED, workload=IDLE,
                             pool=f"contract:{name}", model="", sessions=0.0, requests=0.0, tokens_input=0.0,
                             tokens_cached=0.0, tokens_cache_write=0.0, tokens_output=0.0,
                             tokens_reasoning=0.0, spend=float(cost[m]), gpu_hours=0.0))
    for (wname, ref), cost in settled.items():
        w = next(x for x in wls if x.name == wname)
        s_m = ctx.month_sum(served[(wname, "api")])
        for m in range(M):
            e = es_m[wname][m].api[ref]
            rows.append(_line(ctx.month_labels[m], w.business_unit, wname, "api", ref, s_m[m], e, cost[m]))

    # ---- GPU pools: costs, shown back by GPU-seconds -----------------------------------------
    pool_rows: list[dict] = []
    gpu_pool_cost: dict[str, np.ndarray] = {}
    if neo.enabled:
        prices = neocloud_prices(sc, hw[neo.gpu], val, m_idx)
        p_res, p_od = prices.reserved, prices.on_demand
        cost_res = reserved_cost(sched.pool_gpus, ctx.mhours, p_res) + sched.contract_cost
        od_gpus_h = on_demand_gpus(work["neocloud_on_demand"], usable_neo, od_cap)
        od_hours = ctx.month_sum(od_gpus_h + spin_up_gpu_hours(od_gpus_h, mean_of(neo.spin_up_hours)))
        cost_od = od_hours * p_od
        gpu_pool_cost["neocloud_reserved"] = cost_res
        gpu_pool_cost["neocloud_on_demand"] = cost_od
        used_res = ctx.month_sum(work["neocloud_reserved"]) / 3600.0
        cap_res_h = reserved * ctx.mhours
        used_od = ctx.month_sum(work["neocloud_on_demand"]) / 3600.0
        for m in range(M):
            pool_rows.append(dict(month=ctx.month_labels[m], pool="neocloud_reserved", gpus=reserved[m],
                                  gpu_hours_capacity=cap_res_h[m], gpu_hours_used=used_res[m],
                                  utilization=used_res[m] / cap_res_h[m] if cap_res_h[m] else 0.0,
                                  energy_kwh=0.0, cost=cost_res[m]))
            pool_rows.append(dict(month=ctx.month_labels[m], pool="neocloud_on_demand", gpus=od_hours[m] / ctx.mhours[m],
                                  gpu_hours_capacity=od_hours[m], gpu_hours_used=used_od[m],
                                  utilization=used_od[m] / od_hours[m] if od_hours[m] else 0.0,
                                  energy_kwh=0.0, cost=cost_od[m]))
    capex_cash = np.zeros(M)
    if sc.pools.owned.enabled:
        ci = owned_inputs(sc, hw[sc.pools.owned.gpu], val)
        used = ctx.month_sum(work.get("owned", np.zeros(H))) / 3600.0
        util = np.where(own_in_service > 0, used / np.maximum(own_in_service * ctx.mhours, 1e-12), 0.0)
        # utilisation of the fleet counts served GPU-seconds at catalog speed against GPU time of the
        # newer generation's faster GPUs too: convert served work to the fleet's own GPU time
        util = np.where(own_effective > 0, util * own_in_service / np.maximum(own_effective, 1e-12), 0.0)
        comp = owned_month_cost(own_in_service, util, ctx.mhours, ci)
        cost_own = sum(comp[k] for k in OWNED_COMPONENTS)
        gpu_pool_cost["owned"] = cost_own
        capex_cash = own_ordered * ci.capex_allin
        for m in range(M):
            row = dict(month=ctx.month_labels[m], pool="owned", gpus=own_in_service[m],
                       gpu_hours_capacity=own_in_service[m] * ctx.mhours[m], gpu_hours_used=used[m] * own_in_service[m] / max(own_effective[m], 1e-12) if own_effective[m] else 0.0,
                       utilization=util[m], energy_kwh=comp["energy_kwh"][m], cost=cost_own[m], capex_cash=capex_cash[m])
            for k in OWNED_COMPONENTS:
                row[k] = comp[k][m]
            pool_rows.append(row)
    for pool_key, cost in gpu_pool_cost.items():
        gp = "owned" if pool_key == "owned" else "neocloud"
        users_ = [w for w in wls if (w.name, pool_key) in served]
        wsec = {w.name: ctx.month_sum(served[(w.name, pool_key)] * gsec[(w.name, gp)][ctx.hour_month]) for w in users_}
        tot = sum(wsec.values(), np.zeros(M))
        for w in users_:
            s_m = ctx.month_sum(served[(w.name, pool_key)])
            share = np.where(tot > 0, wsec[w.name] / np.where(tot > 0, tot, 1.0), 0.0)
            for m in range(M):
                e = es_m[w.name][m].primary
                rows.append(_line(ctx.month_labels[m], w.business_unit, w.name, pool_key,
                                  getattr(w.models, gp), s_m[m], e, cost[m] * share[m],
                                  gpu_hours=wsec[w.name][m] / 3600.0))
        for m in range(M):
            if tot[m] <= 0 and cost[m] > 0:
                rows.append(dict(month=ctx.month_labels[m], business_unit=SHARED, workload=IDLE, pool=pool_key,
                                 model="", sessions=0.0, requests=0.0, tokens_input=0.0, tokens_cached=0.0,
                                 tokens_cache_write=0.0, tokens_output=0.0, tokens_reasoning=0.0,
                                 spend=float(cost[m]), gpu_hours=0.0))

    # ---- unserved demand, embedded SaaS, seats --------------------------------------------
    for w in wls:
        left = ctx.month_sum(remaining[w.name])
        if left.sum() > 0:
            for m in range(M):
                rows.append(_line(ctx.month_labels[m], w.business_unit, w.name, "unserved", "", left[m],
                                  es_m[w.name][m].primary, 0.0))
    for w in sc.saas_workloads:
        seats = ctx.users[w.business_unit] * mean_of(w.seats_per_user)
        fee = seat_cost(seats, mean_of(w.fee_per_seat_month))
        for m in range(M):
            rows.append(dict(month=ctx.month_labels[m], business_unit=w.business_unit, workload=w.name,
                             pool="saas", model="", sessions=0.0, requests=0.0,
                             tokens_input=seats[m] * mean_of(w.hidden_input_tokens_per_seat_month),
                             tokens_cached=0.0, tokens_cache_write=0.0,
                             tokens_output=seats[m] * mean_of(w.hidden_output_tokens_per_seat_month),
                             tokens_reasoning=0.0, spend=float(fee[m]), gpu_hours=0.0))
    for c in sc.contracts:
        if c.kind == "seats":  # fees from sim.pools.contracts; a unit's seats are shown back to it
            a, b = c.start_month, min(c.start_month + c.term_months, M)
            fee = st.seats[c.name]["fee"]
            for m in range(a, b):
                rows.append(dict(month=ctx.month_labels[m], business_unit=c.business_unit or SHARED, workload=c.name,
                                 pool="seats", model="", sessions=0.0, requests=0.0, tokens_input=0.0,
                                 tokens_cached=0.0, tokens_cache_write=0.0, tokens_output=0.0, tokens_reasoning=0.0,
                                 spend=float(fee[m]), gpu_hours=0.0))

    lines = pd.DataFrame(rows)
    for col in ("spend", "sessions", "requests", "tokens_input", "tokens_output"):
        if col in lines:
            bad = ~np.isfinite(lines[col].to_numpy(float))
            if bad.any():
                r = lines[bad].iloc[0]
                require_finite(f"expected-value {col}", lines[col].to_numpy(float), ("line",),
                               context=f"month {r['month']}, workload {r['workload']!r}, pool {r['pool']!r}")
    for col in ("gpu_hours",):
        if col not in lines:
            lines[col] = 0.0
    lines["gpu_hours"] = lines["gpu_hours"].fillna(0.0)
    pools = pd.DataFrame(_with_factory(sc, hw, val, ctx, wls, served, es_m, pool_rows, own_effective, own_in_service))
    outcomes = _outcomes(ctx, wls, served, remaining, lines, val,
                         contract_line_shares(sc.contracts, st, {w.name: w.business_unit for w in wls}))
    wl = pd.DataFrame([dict(workload=w.name, kind=w.kind, business_unit=w.business_unit,
                            alpha=es_m[w.name][0].alpha, attempts_per_call=es_m[w.name][0].attempts_per_call,
                            calls_per_session=es_m[w.name][0].calls_first_attempt,
                            quota_stop_share=es_m[w.name][0].quota_stop_share,
                            sessions_total=float(sessions_h[w.name].sum())) for w in wls])
    meta = dict(scenario=sc.name, strategy=strategy or "base", currency=sc.currency,
                price_date=sc.price_date.isoformat(), price_library=f"genai-prices {library_version()}",
                tokensim=__version__, months=ctx.month_labels, capex_cash=capex_cash.tolist())
    return Forecast(lines, pools, wl, pd.DataFrame(contract_rows), meta, outcomes)


OUTCOME_COLUMNS = ("month", "workload", "outcome", "unit", "work_units", "ai_outcomes", "outcomes", "spend",
                   "fallback_cost", "review_cost", "outcome_cost", "value", "net_value")


def _outcomes(ctx: _Ctx, wls, served: dict, remaining: dict, lines: pd.DataFrame, val, shares: dict) -> pd.DataFrame:
    """The outcome accounting (``sim.pools.outcomes``) of each workload with an outcome, per month;
    ``spend`` is the workload's own lines plus its ``shares`` of contract lines (``contract_line_shares``)."""
    rows = []
    for w in wls:
        o = w.outcome
        if o is None:
            continue
        by_pool = {"api": served.get((w.name, "api")),
                   "neocloud": sum((served[k] for k in ((w.name, "neocloud_reserved"), (w.name, "neocloud_on_demand"))
                                    if k in served), np.zeros(ctx.H)),
                   "owned": served.get((w.name, "owned"))}
        sessions = {p: ctx.month_sum(v) for p, v in by_pool.items() if v is not None}
        spend = (lines.loc[lines["workload"] == w.name].groupby("month")["spend"].sum()
                 .reindex(ctx.month_labels, fill_value=0.0).to_numpy(float)) + np.asarray(shares.get(w.name, 0.0), float)
        r = settle_outcomes(w, sessions, ctx.month_sum(remaining[w.name]), spend, val)
        for m in range(ctx.months):
            rows.append(dict(month=ctx.month_labels[m], workload=w.name, outcome=o.name, unit=o.unit,
                             work_units=float(r.units[m]), ai_outcomes=float(r.ai_outcomes[m]),
                             outcomes=float(r.outcomes[m]), spend=float(spend[m]),
                             fallback_cost=float(r.fallback_cost[m]), review_cost=float(r.review_cost[m]),
                             outcome_cost=float(r.cost[m]), value=float(r.value[m]), net_value=float(r.net_value[m])))
    return pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))


def _with_factory(sc: Scenario, hw, val, ctx: _Ctx, wls, served: dict, es_m: dict, pool_rows: list[dict],
                  own_effective: np.ndarray, own_in_service: np.ndarray) -> list[dict]:
    """``pool_rows`` with the AI-factory columns of each GPU pool row (``sim.pools.factory``): tokens,
    facility energy (owned: metered; neocloud: estimated, ``energy_estimated``), facility MW, tokens per
    MWh and per MW, energy and cost per million tokens, idle share, and cost per million tokens at each
    goodput tier (``tier_column``). A ratio with no figure is NaN here (an empty cell: the results
    store 0 with ``facility_mw`` as the mask, since they refuse NaN)."""
    M = ctx.months
    with np.errstate(invalid="ignore", divide="ignore"):
        gen = np.where(own_in_service > 0, own_effective / np.where(own_in_service > 0, own_in_service, 1.0), 1.0)
    for key in dict.fromkeys(r["pool"] for r in pool_rows):
        gp = "owned" if key == "owned" else "neocloud"
        fp = factory_pool(sc, gp, hw, val)
        rows = [r for r in pool_rows if r["pool"] == key]  # one per month, in order
        tok = np.zeros((M, len(wls)))
        for j, w in enumerate(wls):
            if (w.name, key) in served:
                per = np.array([e.primary.fresh + e.primary.write + e.primary.cached + e.primary.output
                                for e in es_m[w.name]])
                tok[:, j] = ctx.month_sum(served[(w.name, key)]) * per
        col = lambda k: np.array([r[k] for r in rows], float)  # noqa: E731
        f = factory_figures(fp, tok, col("gpu_hours_capacity"), ctx.mhours, col("utilization"), col("cost"),
                            col("energy_kwh") if fp.metered else None, gen if gp == "owned" else 1.0)
        def fig(x: float) -> float:  # a ratio with no figure (no GPUs, no tokens, an unreachable tier) is
            return float(x) if x > 0 else math.nan  # empty in the table, never a 0 that reads as free
        for m, r in enumerate(rows):
            live = f.facility_mw[m] > 0
            r.update(tokens=float(f.tokens[m]), facility_energy_kwh=float(f.facility_energy_kwh[m]),
                     energy_estimated=f.energy_estimated, facility_mw=float(f.facility_mw[m]),
                     tokens_per_mwh=fig(f.tokens_per_mwh[m]), energy_kwh_per_mtok=fig(f.energy_kwh_per_mtok[m]),
                     tokens_per_mw=fig(f.tokens_per_mw[m]),
                     idle_share=float(f.idle_share[m]) if live else math.nan, cost_per_mtok=fig(f.cost_per_mtok[m]))
            r.update({tier_column(lab): fig(f.cost_per_mtok_tier[m, t]) for t, lab in enumerate(fp.labels)})
    return pool_rows


def _line(month: str, bu: str, wname: str, pool: str, model: str | None, sessions: float, e, spend: float,
          gpu_hours: float = 0.0) -> dict:
    return dict(month=month, business_unit=bu, workload=wname, pool=pool, model=model or "",
                sessions=float(sessions), requests=float(sessions * e.calls),
                tokens_input=float(sessions * (e.fresh + e.write)), tokens_cached=float(sessions * e.cached),
                tokens_cache_write=float(sessions * e.write), tokens_output=float(sessions * e.output),
                tokens_reasoning=float(sessions * e.reasoning), spend=float(spend), gpu_hours=float(gpu_hours))
