"""Self-host timing for planners: crossover volumes, cost per token vs volume, purchase month.

Crossover
---------
The cost lines, whole-replica fleets and the exact crossover search live in ``sim.pools.lines``
(the same lines give ``tokensim estimate`` its unit costs). Against the API (no fixed cost) with
a replica of r GPUs the crossover is where floor + per_gpu·r·ceil(V/(r·cap)) + var·V first
stays below a·V for good; never when a ≤ var + per_gpu/cap.

Purchase month (Monte Carlo)
----------------------------
The scenario's owned-GPU strategy (one that sets ``pools.owned.purchases``) is replayed with its
orders shifted to each candidate month, against the same strategy with no GPUs, all with common
random numbers. Cash per month = spend − depreciation + capex paid; GPUs still in service at the
horizon end are credited at book value; cash is discounted at the scenario's ``discount_rate``.
NPV of savings = NPV(cost without GPUs) − NPV(cost with them). P(regret) = P(savings < 0);
stranded capacity = the share of the fleet's usable GPU-hours left idle.

The functions here are pure functions of scenarios and results; ``sim.studies.tco`` runs the
engines (the expected volumes, the sweep's Monte Carlo) and assembles the analysis.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from ..catalog.hardware import load_hardware
from ..catalog.prices import PriceBook
from ..expected.unit_costs import workload_mix_of
from ..pools.lines import (
    PAIRS,
    PoolLine,
    WorkloadMix,
    basis_text,
    component_split_per_mtok,
    crossovers,
    fleet_for,
    line_of,
    pool_lines,
)
from ..pools.lines import lines_at as _lines_at
from ..pools.owned import OWNED_COMPONENTS
from ..pools.valuation import LatinValues, MeanValues
from ..scenario.distributions import mean_of
from ..scenario.model import Scenario, Strategy
from .common import AnalysisError, discount_factors, month_hours_of, month_index

OWNED_KEYS = OWNED_COMPONENTS


def workload_mix(sc: Scenario, workload: str, book: PriceBook | None = None) -> WorkloadMix:
    w = next((x for x in sc.token_workloads if x.name == workload), None)
    if w is None:
        raise AnalysisError(f"unknown token workload {workload!r}; the scenario has: "
                            f"{', '.join(x.name for x in sc.token_workloads)}")
    book = book or PriceBook(sc.price_date, sc.prices.overrides)
    return workload_mix_of(sc, w, book)


def lines_at(sc: Scenario, mix: WorkloadMix, month: int = 0) -> dict[str, PoolLine]:
    """Each pool's cost line at the mean of every input (``sim.pools.lines``)."""
    return _lines_at(sc, load_hardware(), mix, month, MeanValues())


def owned_split_per_mtok(line: PoolLine, gpus: float) -> dict[str, float]:
    """Owned cost per million tokens by component for a fleet of ``gpus`` used at its usable share."""
    return component_split_per_mtok(line, gpus, 1.0)


def crossover_distribution(sc: Scenario, mix: WorkloadMix, month: int = 0, n: int = 400) -> dict:
    """Crossover volumes over draws of the uncertain inputs (pool economics and price trends)."""
    dv = LatinValues(n, sc.seed)
    raw = pool_lines(sc, load_hardware(), mix, month, dv)
    samples: dict[str, list] = {f"{a}_vs_{b}": [] for a, b in PAIRS if a in raw and b in raw}
    for i in range(n):
        ls = {k: line_of(k, v, i) for k, v in raw.items()}
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


def cost_curves(lines: dict[str, PoolLine], volumes: np.ndarray) -> pd.DataFrame:
    """Cost per million tokens against annual volume, per pool."""
    rows = []
    for name, ln in lines.items():
        c = ln.cost(volumes)
        for v, x in zip(volumes, np.broadcast_to(c, volumes.shape)):
            rows.append({"pool": name, "tokens_per_year": float(v), "usd_per_mtok": float(x / v * 1e6),
                         "cost_per_year": float(x)})
    return pd.DataFrame(rows)


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
    return sc.with_strategy(strat)


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
        return mean_of(sc.unit(w.business_unit).users.ceiling) * mean_of(w.rate)

    return max(cands, key=volume).name


def check_month(sc: Scenario, month: int) -> None:
    """The crossover month must lie within the horizon."""
    if not 0 <= month < sc.horizon.months:
        raise AnalysisError(f"month must be within the horizon (0..{sc.horizon.months - 1}), got {month}")


def expected_tokens_per_year(lines: pd.DataFrame, workload: str) -> pd.Series:
    """A workload's tokens per calendar year, from the lines of an expected forecast."""
    wl = lines[lines["workload"] == workload]
    return (wl.assign(year=wl["month"].str[:4]).assign(t=wl["tokens_input"] + wl["tokens_cached"] + wl["tokens_output"])
            .groupby("year")["t"].sum())


def tco_economics(sc: Scenario, mix: WorkloadMix, workload: str, *, volume: pd.Series, month: int = 0,
                  draws: int = 400) -> dict:
    """Crossovers (deterministic and over draws), cost curves and the owned split for ``workload``.

    ``volume`` is the workload's expected tokens per year (``expected_tokens_per_year``); the
    purchase-month keys are None until a sweep is attached (``purchase_fields``).
    """
    check_month(sc, month)
    lines = lines_at(sc, mix, month)
    cross = crossovers(lines)
    by_year = []
    for y in range(0, sc.horizon.months, 12):
        ly = lines_at(sc, mix, y)
        by_year.append({"year": sc.horizon.month_starts()[y].year, "month": y,
                        **{k: v for k, v in crossovers(ly).items()},
                        **{f"{p}_usd_per_mtok_at_scale": ly[p].per_token_at_scale() * 1e6 for p in ly}})
    vol = volume
    marks = [v for v in cross.values() if v] + [float(v) for v in vol.values if v > 0]
    lo = 10 ** math.floor(math.log10(min(marks) / 10.0)) if marks else 1e8
    hi = 10 ** math.ceil(math.log10(max(marks) * 10.0)) if marks else 1e14
    volumes = np.logspace(math.log10(lo), math.log10(hi), 81)
    fleet = fleet_for(sc, "owned", lines["owned"], MeanValues()) if "owned" in lines else None
    return {
        "scenario": sc.name, "currency": sc.currency, "workload": workload, "month": month,
        "models": mix.models, "tokens_per_session": mix.tokens,
        "usd_per_mtok_at_scale": {p: ln.per_token_at_scale() * 1e6 for p, ln in lines.items()},
        "pool_lines": {p: {"floor_per_year": ln.floor, "per_gpu_year": ln.per_gpu, "per_token": ln.var,
                           "tokens_per_gpu_year": ln.cap if math.isfinite(ln.cap) else None,
                           "min_gpus": ln.n_min, "replica_gpus": ln.step}
                       for p, ln in lines.items()},
        "crossover_tokens_per_year": cross,
        "crossover_by_year": by_year,
        "crossover_distribution": crossover_distribution(sc, mix, month, draws) if draws else None,
        "expected_tokens_per_year": {str(k): float(v) for k, v in vol.items()},
        "cost_curves": cost_curves(lines, volumes),
        "owned_fleet_gpus": fleet.gpus if fleet else None,
        "owned_fleet_basis": fleet.basis if fleet else None,
        "owned_cost_per_mtok_by_component": owned_split_per_mtok(lines["owned"], fleet.gpus) if fleet else None,
        "purchase_sweep": None, "best_purchase_month": None, "p_regret": None, "stranded_capacity_risk": None,
    }


NO_PURCHASE_STRATEGY = ("no strategy buys owned GPUs (pools.owned.purchases): add one to sweep the purchase "
                        "month")


def purchase_fields(pa: dict, template: Strategy) -> dict:
    """The keys a purchase-month sweep (``purchase_analysis``) adds to a TCO result."""
    return {"purchase_sweep": pa, "purchase_template": template.name, "best_purchase_month": pa["best_purchase_month"],
            "p_regret": pa["p_regret"], "stranded_capacity_risk": pa["stranded_capacity_risk"]}


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
    api_keys = [k for k in r["crossover_tokens_per_year"] if k.startswith("api_vs")]
    if api_keys and r["crossover_by_year"]:
        L.append("  by year of purchase: " + "; ".join(
            f"{row['year']}: " + ", ".join(f"{k.split('_vs_')[1]} {tokens_str(row.get(k))}" for k in api_keys)
            for row in r["crossover_by_year"]))
    if not r["crossover_tokens_per_year"]:
        L.append("  none: the scenario enables no GPU pool (pools.neocloud / pools.owned), so there is nothing to "
                 "cross over to")
    if r["owned_cost_per_mtok_by_component"]:
        L += ["", f"Owned cost per million tokens by component ({r['owned_fleet_gpus']:g} GPUs, "
                  f"{basis_text(r.get('owned_fleet_basis'))}, used at their usable share):",
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


def gpu_option(sc: Scenario) -> bool:
    """Whether renting or owning GPUs is a question for this scenario: under the base or some strategy
    a token workload names a model for a GPU pool that is enabled (an API-only scenario has none)."""
    for s in [None, *sc.all_strategies()]:
        x = sc.with_strategy(s) if s is not None and s.set else sc
        for w in x.token_workloads:
            if (w.models.owned and x.pools.owned.enabled) or (w.models.neocloud and x.pools.neocloud.enabled):
                return True
    return False


def buys_gpus(sc: Scenario) -> bool:
    """Whether ``sc`` (a strategy applied) orders owned GPUs."""
    return bool(sc.pools.owned.enabled and sc.pools.owned.purchases)
