"""One block of Monte Carlo paths for one strategy: inputs → kernel → costs → arrays.

The kernel returns sessions by pool; this module turns them into tokens, requests, GPU-hours,
energy and spend with the same pool and contract formulas the expected-value engine uses,
vectorised over paths (no Python loop per path or per hour).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..catalog.hardware import load_hardware
from ..catalog.prices import PriceBook
from ..pools.contracts import contract_line_shares, seat_cost, settle_api_contracts
from ..demand.daily import day_sigma, workload_noise
from ..demand.population import adoption_users, day_weights, month_hours, month_of_hour, profile_arrays
from ..pools.api import api_trends
from ..pools.factory import factory_by_pool
from ..pools.gpu import usable_seconds_per_gpu_hour, usable_share
from ..pools.neocloud import neocloud_prices, on_demand_cap, reserved_cost, reserved_schedule
from ..pools.outcomes import cost_per_outcome, settle_outcomes
from ..pools.owned import OWNED_COMPONENTS, owned_fleet, owned_inputs, owned_month_cost
from ..finite import NonFiniteResultError, require_finite
from ..pools.valuation import PathValues
from ..scenario.model import Scenario
from .kernel import API, OD, OWNED, RES, UNSERVED, conditional_warm_tables, simulate_paths, warm_tables
from .sampling import Draws
from .tables import SessionTables

# The kernel releases the GIL (so the runner's writer thread works meanwhile) and uses every numba
# thread itself: two calls at once would oversubscribe the cores, and numba's workqueue threading
# layer (where OpenMP and TBB are missing) aborts on concurrent use. A lock, not state: it holds no data.
KERNEL_LOCK = threading.Lock()

POOLS = ("api", "neocloud", "owned", "saas")


@dataclass
class Calendar:
    """Day, hour and month bookkeeping of a horizon."""

    months: int
    mhours: np.ndarray
    hour_month: np.ndarray
    month_start: np.ndarray  # first day index of each month, plus the end
    trend_offset: int


def calendar_of(sc: Scenario) -> Calendar:
    hz = sc.horizon
    mh = month_hours(hz)
    days = (mh // 24).astype(np.int64)
    return Calendar(hz.months, mh, month_of_hour(hz), np.r_[0, np.cumsum(days)].astype(np.int64),
                    sc.trend_offset)


def _arr(x, P: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, float), (P,)).astype(float)


@dataclass(frozen=True)
class BlockResult:
    """Arrays of one block of paths of one strategy, and the names along their workload axes.

    ``arrays`` maps a variable name to an array (P, M, ...); ``block["spend"]`` reads it.
    """

    arrays: dict
    workloads: list[str]  # token workloads, in the order of the arrays' workload axis
    saas: list[str]  # embedded-SaaS workloads (saas_* arrays)
    contracts: list[str]  # the commit array's contract axis
    outcomes: tuple[str, ...] = ()  # token workloads with an outcome (the outcome arrays' last axis)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]


def hour_profiles(sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Day weights (W, D) over the horizon and hour shares (W, 24) of each token workload."""
    D = int(calendar_of(sc).month_start[-1])
    wls = sc.token_workloads
    dayw = np.zeros((len(wls), D))
    hourly = np.zeros((len(wls), 24))
    for j, w in enumerate(wls):
        weekly, hr = profile_arrays(sc.unit(w.business_unit).activity or sc.activity)
        dayw[j] = day_weights(sc.horizon, weekly)
        hourly[j] = hr
    return dayw, hourly


def warmth_tables(hourly: np.ndarray, tables: SessionTables) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's conditional shared-prefix warmth tables (``conditional_warm_tables``) for hour
    shares ``hourly`` (W, 24, from ``hour_profiles``) and a strategy's session tables.

    They depend on the hour shares, calls per session and TTLs only, not on the paths: the runner
    builds them once per strategy and every block reuses them.
    """
    return conditional_warm_tables(warm_tables(hourly), tables.calls, tables.ttl)


def simulate_block(sc: Scenario, tables: SessionTables, draws: Draws, book: PriceBook, deterministic: bool = False,
                   keep_daily: bool = False, warmth: tuple | None = None,
                   memo: dict | None = None) -> BlockResult:
    """Arrays for one block of paths (P = len(draws.paths)) of one strategy.

    ``warmth`` is the strategy's ``warmth_tables`` (built here when not given). With ``memo`` (one
    dict per block, from a digest of the kernel's inputs to its outputs, shared by the block's strategies), a strategy whose kernel inputs are identical
    to an earlier one's, byte for byte (strategies that change only contracts or prices), reuses its
    kernel outputs instead of simulating the same demand again: common random numbers make them
    the same numbers.
    """
    cal = calendar_of(sc)
    P, M = draws.paths.size, cal.months
    vf = PathValues(draws.scale, P, draws.by_id)
    wls = sc.token_workloads
    W = len(wls)
    hw = load_hardware()
    D = int(cal.month_start[-1])

    # ---- demand inputs ------------------------------------------------------------------------
    users_bu = {bu.name: np.broadcast_to(adoption_users(bu.users, M, vf), (P, M)) for bu in sc.business_units}
    lam_day = np.zeros((P, M, W))
    dayw, hourly = hour_profiles(sc)
    for j, w in enumerate(wls):
        lam_day[:, :, j] = users_bu[w.business_unit] * _arr(vf(w.rate, w.rate_key), P)[:, None]
    dn = sc.demand_noise
    sig = np.ascontiguousarray(day_sigma(_arr(vf(dn.day_cv, "demand_noise.day_cv"), P)))
    phi = np.ascontiguousarray(_arr(vf(dn.persistence, "demand_noise.persistence"), P))
    growth = np.ascontiguousarray(_arr(vf(dn.growth_per_day, "demand_noise.growth_per_day"), P))
    anchored = np.full(P, dn.start_deviation is not None)
    start_dev = (np.zeros(P) if dn.start_deviation is None
                 else np.ascontiguousarray(_arr(vf(dn.start_deviation, "demand_noise.start_deviation"), P)))
    own, wnoise, wanch = workload_noise(wls, vf, P)
    allowed = np.array([[("api" in w.allowed_pools),
                         ("owned" in w.allowed_pools) and sc.pools.owned.enabled,
                         ("neocloud" in w.allowed_pools) and sc.pools.neocloud.enabled] for w in wls], dtype=np.bool_)
    t = tables
    tok = t.prim[..., 1] + t.prim[..., 2] + t.prim[..., 3] + t.prim[..., 4]  # (2, K, W)

    # ---- capacity -----------------------------------------------------------------------------
    o, neo = sc.pools.owned, sc.pools.neocloud
    usable_own = usable_seconds_per_gpu_hour(_arr(usable_share(sc, "owned", vf), P), 1.0)
    usable_neo = usable_seconds_per_gpu_hour(_arr(usable_share(sc, "neocloud", vf), P), 1.0)
    fleet = owned_fleet(sc, vf, M, cal.trend_offset)
    in_service, effective, ordered = fleet.in_service, fleet.effective, fleet.ordered
    cap_own = effective * usable_own[:, None]
    sched = reserved_schedule(sc, vf, M)
    reserved, contract_res, contract_res_cost = sched.pool_gpus, sched.contract_gpus, sched.contract_cost
    cap_res = sched.gpus * usable_neo[:, None]
    od_cap = _arr(on_demand_cap(sc, vf), P) * usable_neo
    spin = _arr(vf(neo.spin_up_hours, "pools.neocloud.spin_up_hours"), P)

    daily_arr = np.zeros((P, D if keep_daily else 0, W, 2))
    args = (_keys(sc, draws), draws.table_of_path.astype(np.int64),
            np.ascontiguousarray(lam_day), dayw, hourly, cal.month_start, sig, phi, start_dev, anchored, growth, own, wnoise, wanch,
            deterministic,
            t.calls, np.where(t.tok_mean > 0, t.tok_sd / np.where(t.tok_mean > 0, t.tok_mean, 1.0), 0.0),
            t.ttl, np.ascontiguousarray(t.gsec[0]), np.ascontiguousarray(t.gsec[1]), tok[0], tok[1], allowed,
            np.ascontiguousarray(cap_own), np.ascontiguousarray(cap_res), od_cap, usable_neo, spin, warm_tables(hourly))
    key = _digest(args + (keep_daily,)) if memo is not None else None
    if key is not None and key in memo:
        outputs, daily_arr = memo[key]
    else:
        wt = warmth if warmth is not None else warmth_tables(hourly, t)
        with KERNEL_LOCK:  # one kernel at a time per process (a Dask worker may run blocks in several threads)
            outputs = simulate_paths(*args, *wt, daily_arr)
        if key is not None:
            for a in (*outputs, daily_arr):
                a.flags.writeable = False  # shared by the strategies that reuse them
            memo[key] = outputs, daily_arr
    S, SR, wn, wd, gsec, od_hours, peak_tok, demand = outputs

    with np.errstate(invalid="ignore", divide="ignore"):
        pw = np.where(wd > 0, wn / np.where(wd > 0, wd, 1.0), 0.0)  # (P, M, W)
    k = draws.table_of_path

    def mixed(a0, a1):  # a0, a1: (K, W, ...) -> (P, M, W, ...), linear in the warmth
        if not pw.any():
            return np.broadcast_to(a0[k][:, None], (P, M) + a0.shape[1:])
        x0 = a0[k][:, None]
        p = pw.reshape(pw.shape + (1,) * (x0.ndim - 3))
        out = p * (a1 - a0)[k][:, None]
        out += x0
        return out

    prim = mixed(t.prim[0], t.prim[1])  # (P, M, W, 6)
    api = mixed(t.api[0], t.api[1])  # (P, M, W, 2, 7)

    # ---- tokens and requests by pool ------------------------------------------------------------
    out: dict[str, np.ndarray] = {}
    shape = (P, M, len(POOLS), W)
    tokens_input = np.zeros(shape)
    tokens_cached = np.zeros(shape)
    tokens_output = np.zeros(shape)
    tokens_reasoning = np.zeros(shape)
    requests = np.zeros(shape)
    sessions = np.zeros(shape)
    api_sr = SR[..., API]
    api_tok = api[..., 1] + api[..., 3]  # fresh + write, per model
    tokens_input[:, :, 0] = (api_sr[..., None] * api_tok).sum(-1)
    tokens_cached[:, :, 0] = (api_sr[..., None] * api[..., 2]).sum(-1)
    tokens_output[:, :, 0] = (api_sr[..., None] * api[..., 4]).sum(-1)
    tokens_reasoning[:, :, 0] = (api_sr[..., None] * api[..., 5]).sum(-1)
    requests[:, :, 0] = (S[..., API][..., None] * api[..., 0]).sum(-1)
    sessions[:, :, 0] = S[..., API]
    for pi, stages in ((1, (RES, OD)), (2, (OWNED,))):
        sr = sum(SR[..., s_] for s_ in stages)
        ss = sum(S[..., s_] for s_ in stages)
        tokens_input[:, :, pi] = sr * (prim[..., 1] + prim[..., 3])
        tokens_cached[:, :, pi] = sr * prim[..., 2]
        tokens_output[:, :, pi] = sr * prim[..., 4]
        tokens_reasoning[:, :, pi] = sr * prim[..., 5]
        requests[:, :, pi] = ss * prim[..., 0]
        sessions[:, :, pi] = ss
    unserved_tokens = SR[..., UNSERVED] * (prim[..., 1] + prim[..., 2] + prim[..., 3] + prim[..., 4])

    # ---- API spend, price trends, contracts ----------------------------------------------------
    frontier = set(sc.pools.api.frontier_models)
    mi = np.arange(M) + cal.trend_offset
    trend = {k: np.broadcast_to(v, (P, M)) for k, v in api_trends(sc, vf, mi).items()}
    cost: dict = {}
    toks: dict = {}
    for j, w in enumerate(wls):
        for mm, ref in enumerate(t.models[j]):
            cost[(w.name, ref)] = api_sr[:, :, j] * api[:, :, j, mm, 6] * trend[ref in frontier]
            toks[(w.name, ref)] = api_sr[:, :, j] * (api_tok[:, :, j, mm] + api[:, :, j, mm, 2] + api[:, :, j, mm, 4])
    hour_share = {}
    for j, w in enumerate(wls):
        hw_ = np.repeat(dayw[j], 24) * np.tile(hourly[j], D)
        tot = np.bincount(cal.hour_month, weights=hw_, minlength=M)[cal.hour_month]
        hour_share[w.name] = np.where(tot > 0, hw_ / np.where(tot > 0, tot, 1.0), 0.0)
    st = settle_api_contracts(sc.contracts, cost, toks, hour_share, cal.hour_month, cal.mhours, vf, book,
                              users=users_bu)
    spend = np.zeros(shape)
    for (wname, ref), v in st.cost.items():
        spend[:, :, 0, [x.name for x in wls].index(wname)] += v
    contract_names = [c.name for c in sc.contracts if c.name in st.contracts]
    # components: drawn, stranded, overage in the contract's unit; stranded_cost, overage_cost in
    # the scenario's currency (sim.pools.contracts); results.py names them commit_drawn ... overage_cost
    commit = np.zeros((P, M, len(contract_names), 5))
    for i, name in enumerate(contract_names):
        r = st.contracts[name]
        for k, part in enumerate(("drawn", "stranded", "overage", "stranded_cost", "overage_cost")):
            commit[:, :, i, k] = np.broadcast_to(r[part], (P, M))
    idle_cost = np.zeros((P, M, len(POOLS)))
    for name, v in st.idle.items():
        idle_cost[:, :, 0] += np.broadcast_to(v, (P, M))

    # ---- GPU pools ---------------------------------------------------------------------------
    gpu_hours = np.zeros((P, M, len(POOLS)))
    capacity_hours = np.zeros((P, M, len(POOLS)))
    energy = np.zeros((P, M, len(POOLS)))
    owned_cost = np.zeros((P, M, len(OWNED_COMPONENTS)))
    capex_cash = np.zeros((P, M))
    if neo.enabled:
        prices = neocloud_prices(sc, hw[neo.gpu], vf, mi)
        p_res, p_od = prices.reserved, prices.on_demand
        neo_cost = reserved_cost(reserved, cal.mhours[None, :], p_res) + contract_res_cost + od_hours * p_od
        _show_back(spend, idle_cost, 1, neo_cost, gsec[..., RES - 1] + gsec[..., OD - 1])
        gpu_hours[:, :, 1] = (gsec[..., 1] + gsec[..., 2]).sum(-1) / 3600.0
        capacity_hours[:, :, 1] = (reserved + contract_res) * cal.mhours[None, :] + od_hours
    if o.enabled:
        ci = owned_inputs(sc, hw[o.gpu], vf)
        work_h = gsec[..., OWNED - 1].sum(-1) / 3600.0  # GPU-hours of work at catalog speed
        with np.errstate(invalid="ignore", divide="ignore"):
            util = np.where(effective > 0, work_h / np.where(effective > 0, effective * cal.mhours[None, :], 1.0), 0.0)
        comp = owned_month_cost(in_service, util, cal.mhours[None, :], ci)
        for i, c in enumerate(OWNED_COMPONENTS):
            owned_cost[:, :, i] = comp[c]
        own_total = owned_cost.sum(-1)
        _show_back(spend, idle_cost, 2, own_total, gsec[..., OWNED - 1])
        gpu_hours[:, :, 2] = util * in_service * cal.mhours[None, :]
        capacity_hours[:, :, 2] = in_service * cal.mhours[None, :]
        energy[:, :, 2] = comp["energy_kwh"]
        capex_cash = ordered * ci.capex_allin
    with np.errstate(invalid="ignore", divide="ignore"):
        utilization = np.where(capacity_hours > 0, gpu_hours / np.where(capacity_hours > 0, capacity_hours, 1.0), 0.0)

    # ---- AI-factory view (sim.pools.factory): tokens per MWh and per MW, cost per MTok at goodput tiers
    # a GPU pool's cost of the month is what it shows back to workloads plus its idle line
    with np.errstate(invalid="ignore", divide="ignore"):
        generation = np.where(in_service > 0, effective / np.where(in_service > 0, in_service, 1.0), 1.0)
    out.update(factory_by_pool(sc, hw, vf, POOLS, tokens_input + tokens_cached + tokens_output, capacity_hours,
                               cal.mhours[None, :], utilization, spend.sum(-1) + idle_cost, energy,
                               {"owned": generation}))

    # ---- embedded SaaS and seats ---------------------------------------------------------------
    saas_names = []
    saas_spend = []
    saas_tok = []
    for w in sc.saas_workloads:
        seats = users_bu[w.business_unit] * _arr(vf(w.seats_per_user), P)[:, None]
        saas_names.append(w.name)
        saas_spend.append(seat_cost(seats, 1.0) * _arr(vf(w.fee_per_seat_month), P)[:, None])
        saas_tok.append((seats * _arr(vf(w.hidden_input_tokens_per_seat_month), P)[:, None],
                         seats * _arr(vf(w.hidden_output_tokens_per_seat_month), P)[:, None]))
    for name, seat in st.seats.items():  # every seats contract is a line of its own (results.py: its unit)
        saas_names.append(name)
        saas_spend.append(np.broadcast_to(seat["fee"], (P, M)).astype(float))
        saas_tok.append((np.zeros((P, M)), np.zeros((P, M))))

    # ---- outcomes and value (sim.pools.outcomes) ------------------------------------------------
    shares = contract_line_shares(sc.contracts, st, {w.name: w.business_unit for w in wls})
    oc_names, oc = outcome_arrays(wls, sessions, S[..., UNSERVED], spend, vf, draws, shares)
    out.update(oc)

    out.update(tokens_input=tokens_input, tokens_cached=tokens_cached, tokens_output=tokens_output,
               tokens_reasoning=tokens_reasoning, requests=requests, sessions=sessions, spend=spend,
               unserved_tokens=unserved_tokens, commit=commit, idle_cost=idle_cost, gpu_hours=gpu_hours,
               utilization=utilization, energy_kwh=energy, owned_cost=owned_cost, capex_cash=capex_cash,
               peak_hour_tokens=peak_tok, gpus_in_service=in_service, shared_prefix_warmth=pw,
               demand_sessions=demand, unserved_sessions=S[..., UNSERVED],
               saas_spend=np.stack(saas_spend, -1) if saas_spend else np.zeros((P, M, 0)),
               saas_tokens_input=np.stack([a for a, _ in saas_tok], -1) if saas_tok else np.zeros((P, M, 0)),
               saas_tokens_output=np.stack([b for _, b in saas_tok], -1) if saas_tok else np.zeros((P, M, 0)))
    out["daily_sessions"] = daily_arr[..., 0]
    out["daily_tokens"] = daily_arr[..., 1]
    if keep_daily:  # requests a day: the day's sessions at its month's requests per session
        rs, ss = requests.sum(2), sessions.sum(2)
        with np.errstate(invalid="ignore", divide="ignore"):
            per = np.where(ss > 0, rs / np.where(ss > 0, ss, 1.0), 0.0)
        out["daily_requests"] = daily_arr[..., 0] * per[:, np.repeat(np.arange(M), np.diff(cal.month_start))]
    else:
        out["daily_requests"] = daily_arr[..., 0]
    where = f"Monte Carlo block of strategy-applied scenario {sc.name!r}"
    for name, arr in out.items():
        if name == "cost_per_outcome":  # inf: a workload that achieved no outcome over the horizon
            bad = ~np.isfinite(arr)
            if bad.any():
                i, j = (int(v[0]) for v in np.nonzero(bad))
                raise OutcomeUndefinedError(
                    f"workload {oc_names[j]!r} achieves no outcome over the horizon on path {int(draws.paths[i])} "
                    f"({int(bad.sum())} path-workloads in all) under strategy-applied scenario {sc.name!r}, so it has no "
                    "cost per outcome: give outcome.human_fallback_cost, a success probability above 0 for the models "
                    "that serve it, or demand on every path")
            continue
        require_finite(name, arr, ("path", "month"), {"path": draws.paths.tolist()}, context=where)
    return BlockResult(out, [w.name for w in wls], saas_names, contract_names, tuple(oc_names))


class OutcomeUndefinedError(NonFiniteResultError):
    """A workload with an outcome achieves none on some path: its cost per outcome is infinite (an input
    problem, reported with its location as a result that cannot be given; the CLI exits 2)."""


OUTCOME_VARS = ("work_units", "ai_outcomes", "outcomes", "fallback_cost", "review_cost", "outcome_cost", "value",
                "net_value")


def outcome_arrays(wls, sessions: np.ndarray, unserved: np.ndarray, spend: np.ndarray, vf: PathValues,
                   draws: Draws, shares: dict | None = None) -> tuple[list[str], dict[str, np.ndarray]]:
    """The outcome accounting (``sim.pools.outcomes``) of the workloads with an outcome: arrays
    (P, M, n) per name of ``OUTCOME_VARS`` and ``cost_per_outcome`` (P, n) over the horizon.

    ``sessions`` (P, M, pool, W) served, ``unserved`` (P, M, W), ``spend`` (P, M, pool, W); ``shares``
    the workloads' shares of contract lines (``contract_line_shares``), part of their outcomes' cost."""
    names: list[str] = []
    parts: dict[str, list[np.ndarray]] = {k: [] for k in OUTCOME_VARS}
    for j, w in enumerate(wls):
        if w.outcome is None:
            continue
        esc = None  # the cascade's escalation share as each path's session table billed it
        ekey = f"workloads.{w.name}.levers.routing.escalation_probability"
        if w.levers.routing.enabled and ekey in draws.shape_points:
            esc = np.asarray(draws.shape_points[ekey], float)[draws.table_of_path]  # (P,): column() widens it
        served = {pool: sessions[:, :, i, j] for i, pool in enumerate(POOLS[:3])}
        own = spend[:, :, :, j].sum(2) + np.asarray((shares or {}).get(w.name, 0.0), float)
        r = settle_outcomes(w, served, unserved[:, :, j], own, vf, esc)
        names.append(w.name)
        for k, v in zip(OUTCOME_VARS, (r.units, r.ai_outcomes, r.outcomes, r.fallback_cost, r.review_cost, r.cost,
                                       r.value, r.net_value)):
            parts[k].append(v)
    P, M = spend.shape[:2]
    out = {k: np.stack(v, -1) if v else np.zeros((P, M, 0)) for k, v in parts.items()}
    out["cost_per_outcome"] = cost_per_outcome(out["outcome_cost"], out["outcomes"], axis=1)
    return names, out


def _digest(args: tuple) -> bytes:
    """A digest of the kernel's inputs: equal digests, equal inputs (dtype, shape and bytes)."""
    import hashlib

    h = hashlib.blake2b(digest_size=20)
    for a in args:
        a = np.asarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.digest()


def _keys(sc: Scenario, draws: Draws) -> np.ndarray:
    from .rng import path_keys

    return path_keys(sc.seed, draws.paths.astype(np.int64))


def _show_back(spend: np.ndarray, idle: np.ndarray, pool: int, cost: np.ndarray, work: np.ndarray) -> None:
    """Share a pool's monthly cost over workloads by GPU-seconds; months without work go to idle."""
    tot = work.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(tot[..., None] > 0, work / np.where(tot[..., None] > 0, tot[..., None], 1.0), 0.0)
    spend[:, :, pool, :] += cost[..., None] * share
    idle[:, :, pool] += np.where(tot > 0, 0.0, cost)
