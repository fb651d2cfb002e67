"""Self-host timing for planners: crossover volumes, cost per token vs volume, purchase month.

Crossover (closed form)
-----------------------
For one workload, at its own token mix and SLO (``sim.expected.session``: tokens T, API list cost
and GPU-seconds per session), each pool's yearly cost of serving V tokens a year is

    cost(V) = floor + per_gpu × max(n_min, V / cap) + var × V            (V > 0)

- API: var = list cost per token (price trend applied to the month), nothing else;
- neocloud reserved: per_gpu = reserved price × 8,760 h; cap = tokens per GPU-hour at the SLO ×
  8,760 × availability × headroom (the usable share the dispatch uses); n_min = 1 GPU;
- neocloud on demand: var = on-demand price / (tokens per GPU-hour × availability × headroom);
- owned: the components of ``sim.pools.owned.owned_month_cost`` split into what is paid once any
  GPU is owned (floor: the staff floor), per GPU-year (depreciation, idle power, colocation,
  per-GPU staff, licence, support) and per token (power above idle); cap as above with the
  hardware generation bought in that month.

Each cost is piecewise linear and convex in V, so the volume above which a pool with fixed costs
beats another is found exactly segment by segment. Against the API (no fixed cost) it is
V* = (floor + n_min·per_gpu) / (a − var) when that lies within the smallest fleet's capacity,
else V* = floor / (a − var − per_gpu/cap), and never when a ≤ var + per_gpu/cap.

Purchase month (Monte Carlo)
----------------------------
The scenario's owned-GPU strategy (one that sets ``pools.owned.purchases``) is replayed with its
orders shifted to each candidate month, against the same strategy with no GPUs, all with common
random numbers. Cash per month = spend − depreciation + capex paid; GPUs still in service at the
horizon end are credited at book value; cash is discounted at the scenario's ``discount_rate``.
NPV of savings = NPV(cost without GPUs) − NPV(cost with them). P(regret) = P(savings < 0);
stranded capacity = the share of the fleet's usable GPU-hours left idle.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from ..catalog.hardware import load_hardware
from ..catalog.prices import PriceBook
from ..expected.forecast import months_between
from ..expected.unit_costs import session_mix
from ..pools.api import price_trend_factor

from ..pools.owned import OwnedCostInputs, owned_month_cost
from ..scenario.distributions import PERT, _Dist, mean_of
from ..scenario.model import Scenario, Strategy, set_path
from .common import AnalysisError, discount_factors, month_hours_of, month_index

HOURS_YEAR = 8760.0
PAIRS = (("api", "neocloud"), ("api", "owned"), ("neocloud", "owned"))
OWNED_KEYS = ("depreciation", "power", "colocation", "staff", "licence", "support")


@dataclass
class PoolLine:
    """Yearly cost of serving V tokens on one pool: floor + per_gpu × max(n_min, V/cap) + var × V."""

    pool: str
    floor: float = 0.0
    per_gpu: float = 0.0
    var: float = 0.0
    cap: float = math.inf
    n_min: float = 0.0
    components: dict = field(default_factory=dict)  # owned: name -> (floor, per_gpu, var)

    def gpus(self, volume) -> np.ndarray:
        v = np.asarray(volume, float)
        if not math.isfinite(self.cap):
            return np.zeros_like(v)
        return np.maximum(self.n_min, v / self.cap)

    def cost(self, volume) -> np.ndarray:
        v = np.asarray(volume, float)
        fixed = self.floor + self.per_gpu * self.gpus(v) if (self.floor or self.per_gpu) else 0.0
        return fixed + self.var * v

    def per_token_at_scale(self) -> float:
        """Cost per token of a large, fully used fleet (floor spread to nothing)."""
        return self.var + (self.per_gpu / self.cap if math.isfinite(self.cap) else 0.0)

    def breakpoint(self) -> float:
        return self.n_min * self.cap if math.isfinite(self.cap) and (self.floor or self.per_gpu) else 0.0


def crossover(a: PoolLine, b: PoolLine) -> float | None:
    """Annual tokens above which ``b`` is cheaper than ``a`` for good (None: never; 0: always)."""
    def f(v: float) -> float:
        return float(b.cost(v) - a.cost(v))

    bps = sorted({0.0, a.breakpoint(), b.breakpoint()})
    slope_end = b.per_token_at_scale() - a.per_token_at_scale()
    last = bps[-1]
    f_last = f(last) if last > 0 else f(1e-9)
    if slope_end > 0 or (slope_end == 0 and f_last > 0):
        return None
    if f_last > 0:
        return last + f_last / (-slope_end)
    for i in range(len(bps) - 2, -1, -1):
        lo, hi = bps[i], bps[i + 1]
        flo = f(lo) if lo > 0 else f(1e-9)
        if flo > 0:
            fhi = f(hi)
            return lo + flo * (hi - lo) / (flo - fhi)
    return 0.0


# ---- inputs ------------------------------------------------------------------------------------
Value = Callable[[object, str, "dict | None"], object]


def mean_value(x, key: str, catalog: dict | None = None):
    """Deterministic value of a field: its mean, or the catalog's mode when the scenario leaves it unset."""
    if x is None:
        return float(catalog["mode"])
    return mean_of(x)


class DrawValues:
    """Values of uncertain inputs for ``n`` independent draws (arrays), one stream per input key.

    Scenario distributions are sampled through their quantile functions; a price or capex the
    scenario leaves to the catalog is drawn from the catalog's PERT(low, mode, high).
    """

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self.varied: list[str] = []

    def _u(self, key: str) -> np.ndarray:
        rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
        return (rng.permutation(self.n) + rng.random(self.n)) / self.n  # Latin hypercube in 1-D

    def __call__(self, x, key: str, catalog: dict | None = None):
        if x is None and catalog is not None and catalog["high"] > catalog["low"]:
            self.varied.append(key + " (catalog range)")
            return PERT(dist="pert", low=catalog["low"], mode=catalog["mode"], high=catalog["high"]).ppf(self._u(key))
        if isinstance(x, _Dist) and x.is_random:
            self.varied.append(key)
            return x.ppf(self._u(key))
        return mean_value(x, key, catalog)


@dataclass
class WorkloadMix:
    """What one session of a workload uses: tokens, API list cost per model, GPU-seconds per pool."""

    workload: str
    tokens: float
    api_cost: dict  # ref -> list cost per session at the price date
    gpu_seconds: dict  # pool -> GPU-seconds per session at the SLO (catalog speed)
    models: dict  # pool -> model name


def workload_mix(sc: Scenario, workload: str, book: PriceBook | None = None) -> WorkloadMix:
    w = next((x for x in sc.token_workloads if x.name == workload), None)
    if w is None:
        raise AnalysisError(f"unknown token workload {workload!r}; the scenario has: "
                            f"{', '.join(x.name for x in sc.token_workloads)}")
    book = book or PriceBook(sc.price_date, sc.prices.overrides)
    es, tokens, gsec = session_mix(sc, w, book)
    models = {"api": w.models.api} | {pool: getattr(w.models, pool) for pool in gsec}
    return WorkloadMix(w.name, tokens, {r: u.cost for r, u in es.api.items()}, gsec, models)


def pool_lines(sc: Scenario, mix: WorkloadMix, month: int = 0, value: Value = mean_value) -> dict[str, object]:
    """Cost lines of each pool for ``mix`` at horizon month ``month`` (values may be arrays of draws)."""
    hw = load_hardware()
    offset = months_between(sc.price_date, sc.horizon.start_date)
    t = month + offset
    lines: dict[str, object] = {}
    api = sc.pools.api
    if mix.api_cost and mix.tokens > 0:
        frontier = set(api.frontier_models)
        g_c = value(api.price_trend.commodity_per_year, "pools.api.price_trend.commodity_per_year")
        g_f = value(api.price_trend.frontier_per_year, "pools.api.price_trend.frontier_per_year")
        a = sum(c * price_trend_factor(t, g_f if r in frontier else g_c) for r, c in mix.api_cost.items()) / mix.tokens
        lines["api"] = ("api", 0.0, 0.0, a, math.inf, 0.0, {})
    if "neocloud" in mix.gpu_seconds:
        neo = sc.pools.neocloud
        gpu = hw[neo.gpu]
        tok_h = mix.tokens / mix.gpu_seconds["neocloud"] * 3600.0
        usable = value(neo.availability, "pools.neocloud.availability") * value(neo.gpu_headroom, "pools.neocloud.gpu_headroom")
        trend = price_trend_factor(t, value(neo.price_trend_per_year, "pools.neocloud.price_trend_per_year"))
        p_res = value(neo.reserved_price_per_gpu_hour, "pools.neocloud.reserved_price_per_gpu_hour",
                      gpu.rental["reserved_1y"]) * trend
        p_od = value(neo.on_demand_price_per_gpu_hour, "pools.neocloud.on_demand_price_per_gpu_hour",
                     gpu.rental["on_demand"]) * trend
        lines["neocloud"] = ("neocloud", 0.0, p_res * HOURS_YEAR, 0.0, tok_h * HOURS_YEAR * usable, 1.0, {})
        lines["neocloud_on_demand"] = ("neocloud_on_demand", 0.0, 0.0, p_od / (tok_h * usable), math.inf, 0.0, {})
    if "owned" in mix.gpu_seconds:
        o = sc.pools.owned
        gpu = hw[o.gpu]
        v = value
        ci = OwnedCostInputs(
            v(o.capex_per_gpu, "pools.owned.capex_per_gpu", gpu.capex), v(o.network_share, "pools.owned.network_share"),
            v(o.storage_share, "pools.owned.storage_share"), v(o.useful_life_years, "pools.owned.useful_life_years"),
            v(o.residual_value_share, "pools.owned.residual_value_share"), float(gpu.allin_power_w),
            float(gpu.idle_power_fraction), v(o.pue, "pools.owned.pue"), v(o.power_price_per_kwh, "pools.owned.power_price_per_kwh"),
            v(o.colocation_per_kw_month, "pools.owned.colocation_per_kw_month"), v(o.staff_fte, "pools.owned.staff_fte"),
            v(o.gpus_per_fte, "pools.owned.gpus_per_fte"), v(o.staff_cost_per_fte_year, "pools.owned.staff_cost_per_fte_year"),
            v(o.licence_per_gpu_year, "pools.owned.licence_per_gpu_year"),
            v(o.support_share_per_year, "pools.owned.support_share_per_year"))
        gen = (1.0 + v(o.generation_improvement_per_year, "pools.owned.generation_improvement_per_year")) ** (t / 12.0)
        tok_h = mix.tokens / mix.gpu_seconds["owned"] * 3600.0 * gen
        usable = v(o.availability, "pools.owned.availability") * v(o.gpu_headroom, "pools.owned.gpu_headroom")
        h = HOURS_YEAR / 12.0
        c1, c2, c1u = owned_month_cost(1.0, 0.0, h, ci), owned_month_cost(2.0, 0.0, h, ci), owned_month_cost(1.0, 1.0, h, ci)
        comps = {}
        for k in OWNED_KEYS:
            per_gpu = 12.0 * (c2[k] - c1[k])
            floor = 12.0 * c1[k] - per_gpu
            var = 12.0 * (c1u[k] - c1[k]) / (tok_h * HOURS_YEAR)
            comps[k] = (floor, per_gpu, var)
        lines["owned"] = ("owned", sum(c[0] for c in comps.values()), sum(c[1] for c in comps.values()),
                          sum(c[2] for c in comps.values()), tok_h * HOURS_YEAR * usable, 1.0, comps)
    return lines


def _line(args, i: int | None = None) -> PoolLine:
    def s(x) -> float:
        x = np.asarray(x, float)
        return float(x) if x.ndim == 0 else float(x[i])

    pool, floor, per_gpu, var, cap, n_min, comps = args
    return PoolLine(pool, s(floor), s(per_gpu), s(var), s(cap), float(n_min),
                    {k: tuple(s(y) for y in c) for k, c in comps.items()})


def lines_at(sc: Scenario, mix: WorkloadMix, month: int = 0) -> dict[str, PoolLine]:
    return {k: _line(v) for k, v in pool_lines(sc, mix, month).items()}


def crossovers(lines: dict[str, PoolLine]) -> dict[str, float | None]:
    out = {}
    for a, b in PAIRS:
        if a in lines and b in lines:
            out[f"{a}_vs_{b}"] = crossover(lines[a], lines[b])
    return out


def cost_curves(lines: dict[str, PoolLine], volumes: np.ndarray) -> pd.DataFrame:
    """Cost per million tokens against annual volume, per pool."""
    rows = []
    for name, ln in lines.items():
        c = ln.cost(volumes)
        for v, x in zip(volumes, np.broadcast_to(c, volumes.shape)):
            rows.append({"pool": name, "tokens_per_year": float(v), "usd_per_mtok": float(x / v * 1e6),
                         "cost_per_year": float(x)})
    return pd.DataFrame(rows)


def owned_split_per_mtok(line: PoolLine, gpus: float) -> dict[str, float]:
    """Owned cost per million tokens by component for a fleet of ``gpus`` used at its usable share."""
    v = gpus * line.cap
    out = {}
    for k, (floor, per_gpu, var) in line.components.items():
        out[k] = (floor + per_gpu * gpus + var * v) / v * 1e6 if v > 0 else float("nan")
    return out


def crossover_distribution(sc: Scenario, mix: WorkloadMix, month: int = 0, n: int = 400) -> dict:
    """Crossover volumes over draws of the uncertain inputs (pool economics and price trends)."""
    dv = DrawValues(n, sc.seed)
    raw = pool_lines(sc, mix, month, dv)
    samples: dict[str, list] = {f"{a}_vs_{b}": [] for a, b in PAIRS if a in raw and b in raw}
    for i in range(n):
        ls = {k: _line(v, i) for k, v in raw.items()}
        for key, x in crossovers(ls).items():
            samples[key].append(np.nan if x is None else x)
    out = {}
    for key, xs in samples.items():
        x = np.asarray(xs, float)
        fin = x[np.isfinite(x)]
        p_never = float(np.mean(~np.isfinite(x)))
        q = {}
        for lab, qq in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
            # "never" sorts above every finite volume
            xs_sorted = np.sort(np.where(np.isfinite(x), x, np.inf))
            val = xs_sorted[min(int(qq * n), n - 1)]
            q[lab] = float(val) if np.isfinite(val) else None
        out[key] = {"p_never": p_never, **q, "mean_if_any": float(fin.mean()) if fin.size else None}
    return {"draws": n, "month": month, "varied": sorted(set(dv.varied)), "pairs": out}


# ---- purchase-month sweep (Monte Carlo) ----------------------------------------------------------
def owned_template(sc: Scenario) -> Strategy | None:
    """The strategy that buys GPUs (sets pools.owned.purchases), or the base when it already does."""
    for s in sc.all_strategies():
        if "pools.owned.purchases" in s.set and s.set["pools.owned.purchases"]:
            return s
    if sc.pools.owned.enabled and sc.pools.owned.purchases:
        return Strategy(name="base")
    return None


def _apply(sc: Scenario, strat: Strategy) -> Scenario:
    for path, value in strat.set.items():
        sc = set_path(sc, path, value)
    return sc


def sweep_scenario(sc: Scenario, months: list[int] | None = None) -> tuple[Scenario, dict[str, int], Strategy] | None:
    """``sc`` with strategies: no purchase, and the template's orders placed at each candidate month."""
    tmpl = owned_template(sc)
    if tmpl is None:
        return None
    s_sc = _apply(sc, tmpl)
    purchases = [p.model_dump(mode="json") for p in s_sc.pools.owned.purchases]
    first = min(p["month"] for p in purchases)
    other = {k: v for k, v in tmpl.set.items() if k != "pools.owned.purchases"}
    M = sc.horizon.months
    lead = int(math.ceil(mean_of(s_sc.pools.owned.lead_time_months)))
    last_useful = M - 2 - lead  # an order must serve at least a couple of months
    if months is None:
        step = max(1, M // 12)
        months = list(range(0, max(last_useful, 0) + 1, step))
    months = [m for m in months if 0 <= m < M]
    if not months:
        raise AnalysisError("no purchase month to sweep: the horizon is shorter than the lead time")
    span = max(p["month"] for p in purchases) - first
    strategies = [Strategy(name="no_purchase", set={**other, "pools.owned.purchases": []})]
    names = {}
    for m in months:
        if m + span >= M:
            continue
        ps = [{**p, "month": m + p["month"] - first} for p in purchases]
        name = f"buy_month_{m:02d}"
        strategies.append(Strategy(name=name, set={**other, "pools.owned.purchases": ps}))
        names[name] = m
    return sc.model_copy(update={"strategies": strategies, "sweeps": []}), names, tmpl


def npv_cost(ds: xr.Dataset, rate: float) -> xr.DataArray:
    """NPV of cash cost per (strategy, path): spend − depreciation + capex paid, book value credited at the end."""
    M = ds.sizes["month"]
    spend = ds["spend"].sum(["pool", "workload"])
    dep = ds["owned_cost"].sel(owned_component="depreciation")
    cash = spend - dep + ds["capex_cash"]
    book = ds["capex_cash"].sum("month") - dep.sum("month")
    df = xr.DataArray(discount_factors(M, rate), dims="month", coords={"month": ds["month"]})
    return (cash * df).sum("month") - book * (1.0 + rate) ** (-M / 12.0)


def purchase_analysis(ds: xr.Dataset, sc: Scenario, names: dict[str, int], *, regret_threshold: float = 0.0,
                      stranded_threshold: float = 0.5) -> dict:
    rate = mean_of(sc.discount_rate)
    cost = npv_cost(ds, rate)
    base = cost.sel(strategy="no_purchase")
    o = sc.pools.owned
    usable = mean_of(o.availability) * mean_of(o.gpu_headroom)
    hours = xr.DataArray(month_hours_of(ds), dims="month", coords={"month": ds["month"]})
    months = month_index(ds)
    rows = []
    for name, m in names.items():
        sav = (base - cost.sel(strategy=name)).values
        gpus = ds["gpus_in_service"].sel(strategy=name)
        cap = (gpus * hours).sum("month").values * usable
        used = ds["gpu_hours"].sel(strategy=name, pool="owned").sum("month").values
        with np.errstate(invalid="ignore", divide="ignore"):
            stranded = np.where(cap > 0, 1.0 - used / np.where(cap > 0, cap, 1.0), np.nan)
        rows.append({"strategy": name, "month": m, "date": f"{months[m].year:04d}-{months[m].month:02d}",
                     "expected_npv_savings": float(sav.mean()),
                     "se": float(sav.std(ddof=1) / math.sqrt(sav.size)) if sav.size > 1 else 0.0,
                     "p10": float(np.quantile(sav, 0.1)), "p50": float(np.quantile(sav, 0.5)),
                     "p90": float(np.quantile(sav, 0.9)), "p_regret": float(np.mean(sav < regret_threshold)),
                     "expected_stranded_share": float(np.nanmean(stranded)) if np.isfinite(stranded).any() else None,
                     "p_stranded_over_half": float(np.mean(np.nan_to_num(stranded, nan=1.0) > stranded_threshold)),
                     "p_never_in_service": float(np.mean(~(cap > 0)))})
    table = pd.DataFrame(rows)
    best = table.loc[table["expected_npv_savings"].idxmax()] if len(table) else None
    best_month = int(best["month"]) if best is not None and best["expected_npv_savings"] > 0 else None
    split = None
    if best is not None:
        s = str(best["strategy"])
        tok = sum(ds[v].sel(strategy=s, pool="owned").sum() for v in ("tokens_input", "tokens_cached", "tokens_output"))
        tok = float(tok)
        if tok > 0:
            split = {str(k): float(ds["owned_cost"].sel(strategy=s, owned_component=k).sum()) / tok * 1e6
                     for k in ds["owned_component"].values}
    return {"discount_rate": rate, "paths": int(ds.sizes["path"]), "table": table,
            "best_purchase_month": best_month,
            "best_candidate": None if best is None else {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()},
            "p_regret": float(best["p_regret"]) if best is not None else None,
            "stranded_capacity_risk": float(best["p_stranded_over_half"]) if best is not None else None,
            "owned_cost_per_mtok_by_component_simulated": split}


# ---- the whole analysis ------------------------------------------------------------------------------
def default_workload(sc: Scenario) -> str:
    """The workload a GPU decision is about: the one the owned strategy moves, else the largest GPU-able one."""
    tmpl = owned_template(sc)
    if tmpl is not None:
        for k, v in tmpl.set.items():
            parts = k.split(".")
            if parts[0] == "workloads" and parts[-1] == "allowed_pools" and "owned" in (v or []):
                return parts[1]
    cands = [w for w in sc.token_workloads if w.models.owned or w.models.neocloud] or sc.token_workloads
    if not cands:
        raise AnalysisError("the scenario has no token workload")

    def volume(w) -> float:
        from ..expected.forecast import rate_per_user_day

        return mean_of(sc.unit(w.business_unit).users.ceiling) * rate_per_user_day(w)

    return max(cands, key=volume).name


def tco_analysis(sc: Scenario, *, workload: str | None = None, paths: int | None = None, month: int = 0,
                 draws: int = 400, purchase_months: list[int] | None = None, run_sweep: bool = True,
                 block_size: int = 500) -> dict:
    """Crossovers (deterministic and over draws), cost curves, owned split, purchase-month sweep."""
    from ..expected.forecast import run_expected

    workload = workload or default_workload(sc)
    book = PriceBook(sc.price_date, sc.prices.overrides)
    mix = workload_mix(sc, workload, book)
    if not 0 <= month < sc.horizon.months:
        raise AnalysisError(f"month must be within the horizon (0..{sc.horizon.months - 1}), got {month}")
    lines = lines_at(sc, mix, month)
    cross = crossovers(lines)
    by_year = []
    for y in range(0, sc.horizon.months, 12):
        ly = lines_at(sc, mix, y)
        by_year.append({"year": sc.horizon.month_starts()[y].year, "month": y,
                        **{k: v for k, v in crossovers(ly).items()},
                        **{f"{p}_usd_per_mtok_at_scale": ly[p].per_token_at_scale() * 1e6 for p in ly}})
    fc = run_expected(sc, None, book)
    wl = fc.lines[fc.lines["workload"] == workload]
    vol = (wl.assign(year=wl["month"].str[:4]).assign(t=wl["tokens_input"] + wl["tokens_cached"] + wl["tokens_output"])
           .groupby("year")["t"].sum())
    marks = [v for v in cross.values() if v] + [float(v) for v in vol.values if v > 0]
    lo = 10 ** math.floor(math.log10(min(marks) / 10.0)) if marks else 1e8
    hi = 10 ** math.ceil(math.log10(max(marks) * 10.0)) if marks else 1e14
    volumes = np.logspace(math.log10(lo), math.log10(hi), 81)
    fleet = 64.0
    tmpl = owned_template(sc)
    if tmpl is not None:
        ps = _apply(sc, tmpl).pools.owned.purchases
        fleet = max(1.0, sum(mean_of(p.gpus) for p in ps))
    out = {
        "scenario": sc.name, "currency": sc.currency, "workload": workload, "month": month,
        "models": mix.models, "tokens_per_session": mix.tokens,
        "usd_per_mtok_at_scale": {p: ln.per_token_at_scale() * 1e6 for p, ln in lines.items()},
        "pool_lines": {p: {"floor_per_year": ln.floor, "per_gpu_year": ln.per_gpu, "per_token": ln.var,
                           "tokens_per_gpu_year": ln.cap if math.isfinite(ln.cap) else None, "min_gpus": ln.n_min}
                       for p, ln in lines.items()},
        "crossover_tokens_per_year": cross,
        "crossover_by_year": by_year,
        "crossover_distribution": crossover_distribution(sc, mix, month, draws) if draws else None,
        "expected_tokens_per_year": {str(k): float(v) for k, v in vol.items()},
        "cost_curves": cost_curves(lines, volumes),
        "owned_fleet_gpus": fleet,
        "owned_cost_per_mtok_by_component": owned_split_per_mtok(lines["owned"], fleet) if "owned" in lines else None,
        "purchase_sweep": None, "best_purchase_month": None, "p_regret": None, "stranded_capacity_risk": None,
    }
    if run_sweep:
        sw = sweep_scenario(sc, purchase_months)
        if sw is None:
            out["purchase_sweep_note"] = ("no strategy buys owned GPUs (pools.owned.purchases): add one to sweep "
                                          "the purchase month")
        else:
            from ..mc.runner import run

            sweep_sc, names, tmpl = sw
            ds, _ = run(sweep_sc, paths=paths, block_size=block_size)
            pa = purchase_analysis(ds, sc, names)
            out["purchase_sweep"] = pa
            out["purchase_template"] = tmpl.name
            out["best_purchase_month"] = pa["best_purchase_month"]
            out["p_regret"] = pa["p_regret"]
            out["stranded_capacity_risk"] = pa["stranded_capacity_risk"]
    return out


def tco_text(r: dict) -> str:
    from .common import tokens_str

    cur = r["currency"]
    L = [f"Self-host economics — scenario {r['scenario']!r}, workload {r['workload']!r} "
         f"(models: {', '.join(f'{k}={v}' for k, v in r['models'].items() if v)})", "",
         f"Cost per million tokens at scale (fully used fleet), month {r['month']}:"]
    for p, v in r["usd_per_mtok_at_scale"].items():
        L.append(f"  {p:<22}{v:>10.3f} {cur}/MTok")
    L += ["", "Crossover annual token volume (above it the second pool is cheaper for good):"]
    dist = (r.get("crossover_distribution") or {}).get("pairs", {})
    for k, v in r["crossover_tokens_per_year"].items():
        d = dist.get(k)
        extra = ""
        if d:
            extra = (f"   over {r['crossover_distribution']['draws']} draws: P10 {tokens_str(d['p10'])}, "
                     f"P50 {tokens_str(d['p50'])}, P90 {tokens_str(d['p90'])}, never {d['p_never']:.0%}")
        L.append(f"  {k:<22}{tokens_str(v):>10} tokens/yr{extra}")
    if r["expected_tokens_per_year"]:
        L.append("  workload volume (expected): " + ", ".join(f"{y} {tokens_str(v)}" for y, v in r["expected_tokens_per_year"].items()))
    L.append("  by year of purchase: " + "; ".join(
        f"{row['year']}: " + ", ".join(f"{k.split('_vs_')[1]} {tokens_str(row.get(k))}" for k in r["crossover_tokens_per_year"]
                                       if k.startswith("api_vs"))
        for row in r["crossover_by_year"]))
    if r["owned_cost_per_mtok_by_component"]:
        L += ["", f"Owned cost per million tokens by component ({r['owned_fleet_gpus']:g} GPUs used at their usable share):",
              "  " + ", ".join(f"{k} {v:.3f}" for k, v in r["owned_cost_per_mtok_by_component"].items())
              + f"  = {sum(r['owned_cost_per_mtok_by_component'].values()):.3f} {cur}/MTok"]
    pa = r.get("purchase_sweep")
    if pa:
        L += ["", f"Purchase month sweep (strategy {r.get('purchase_template')!r} replayed; {pa['paths']} paths, "
                  f"discount rate {pa['discount_rate']:.1%}; NPV of savings vs buying nothing, {cur}):",
              f"  {'month':<8}{'date':<9}{'E[NPV]':>14}{'± se':>11}{'P10':>14}{'P90':>14}{'P(regret)':>11}{'stranded':>10}"]
        for row in pa["table"].to_dict(orient="records"):
            st = None if pd.isna(row["expected_stranded_share"]) else row["expected_stranded_share"]
            L.append(f"  {row['month']:<8}{row['date']:<9}{row['expected_npv_savings']:>14,.0f}{row['se']:>11,.0f}"
                     f"{row['p10']:>14,.0f}{row['p90']:>14,.0f}{row['p_regret']:>11.0%}"
                     f"{(format(st, '.0%') if st is not None else '—'):>10}")
        if pa["best_purchase_month"] is None:
            L.append("  No purchase month has positive expected NPV savings: do not buy within this horizon.")
        else:
            b = pa["best_candidate"]
            L.append(f"  Best month: {b['month']} ({b['date']}): E[NPV savings] {b['expected_npv_savings']:,.0f} {cur}, "
                     f"P(regret) {b['p_regret']:.0%}, P(more than half the usable capacity idle) "
                     f"{b['p_stranded_over_half']:.0%}")
    elif r.get("purchase_sweep_note"):
        L += ["", "Purchase month: " + r["purchase_sweep_note"]]
    return "\n".join(L)
