"""Budgets for finance: spend distributions by period, P(spend > budget), budget at confidence.

All numbers are read from a results Dataset (one strategy): spend per path summed into periods
(month, quarter, year or the whole horizon). Quantiles are the empirical quantiles over paths
(linear interpolation); the budget at confidence c is the c-quantile of a period's spend, so a
budget set there is exceeded in a share 1 − c of the simulated futures. Each quantile of the
total carries its Monte Carlo standard error (order-statistic method, ``common.quantile_se``) and
the number of paths that would make its 95 % confidence half-width 1 % of its value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .common import (QUANTILES, AnalysisError, by_period, partial_periods, paths_for_precision, pick_strategy,
                     qlabel, quantile_se, require_summable, summarize)

GROUPS = ("business_unit", "workload", "pool")


def period_spend(ds: xr.Dataset, strategy: str, period: str, by: str | None = None) -> xr.DataArray:
    """Spend per (path, period) — or (path, period, group) with ``by`` a business unit, workload or pool."""
    sp = ds["spend"].sel(strategy=strategy)
    if by is None:
        da = sp.sum(["pool", "workload"], skipna=False)
    elif by == "pool":
        da = sp.sum("workload", skipna=False)
    elif by == "workload":
        da = sp.sum("pool", skipna=False)
    elif by == "business_unit":
        da = sp.sum("pool", skipna=False).groupby("business_unit").sum("workload", skipna=False)
    else:
        raise AnalysisError(f"cannot group by {by!r}; use one of {', '.join(GROUPS)}")
    return by_period(da, period)


def budget_analysis(ds: xr.Dataset, *, strategy: str | None = None, period: str = "year",
                    budget: float | None = None, confidence: float = 0.9,
                    quantiles: tuple[float, ...] = QUANTILES) -> dict:
    """Spend quantiles by period for the total and by business unit, workload and pool.

    Returns a dict: ``total`` (DataFrame: period, mean, sd, p5..p95), ``quantiles`` (long
    DataFrame: period, dimension, group, mean, p5..p95), ``chargeback`` (period × business unit:
    mean, P50, P90 and share of the mean total), ``mc_error`` (period, quantile, value, se,
    rel_se, paths_for_1pct), ``budget_at_confidence`` (period → amount), ``p_exceed`` (period →
    share of paths whose spend is above ``budget``; None without a budget).
    """
    if not 0.0 < confidence < 1.0:
        raise AnalysisError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if budget is not None and not np.isfinite(budget):
        raise AnalysisError(f"budget must be a finite amount, got {budget}")
    strategy = pick_strategy(ds, strategy)
    # one strategy's spend, read once (a lazily opened store is otherwise read for every grouping,
    # and a 100,000-path run's four strategies do not fit in memory at once)
    ds = ds[["spend"]].sel(strategy=[strategy]).load()
    tot = period_spend(ds, strategy, period)  # (path, period)
    require_summable(ds, tot)  # no paths or a NaN: refused, never a mean of 0
    periods = [str(p) for p in tot["period"].values]
    n = tot.sizes["path"]
    rows, err_rows = [], []
    p_exceed: dict[str, float] | None = {} if budget is not None else None
    at_conf: dict[str, float] = {}
    for p in periods:
        x = tot.sel(period=p).values
        rows.append({"period": p, **summarize(x, quantiles)})
        at_conf[p] = float(np.quantile(x, confidence))
        if p_exceed is not None:
            p_exceed[p] = float(np.mean(x > budget))
        for q in sorted(set(quantiles) | {confidence}):
            v = float(np.quantile(x, q))
            se = quantile_se(x, q)
            err_rows.append({"period": p, "quantile": qlabel(q), "value": v, "se": se,
                             "rel_se": se / abs(v) if v else None, "paths_for_1pct": paths_for_precision(n, v, se)})
    total = pd.DataFrame(rows)
    long_rows = []
    for by in GROUPS:
        da = period_spend(ds, strategy, period, by)
        gdim = [d for d in da.dims if d not in ("path", "period")][0]
        for p in periods:
            for g in da[gdim].values:
                x = da.sel(period=p, **{gdim: g}).values
                if not np.any(x):
                    continue
                long_rows.append({"period": p, "dimension": by, "group": str(g), **summarize(x, quantiles)})
    long = pd.DataFrame(long_rows)
    cb = long[long["dimension"] == "business_unit"][["period", "group", "mean", "p50", "p90"]].rename(
        columns={"group": "business_unit"}) if len(long) else pd.DataFrame(
        columns=["period", "business_unit", "mean", "p50", "p90"])
    if len(cb):
        means = total.set_index("period")["mean"]
        cb = cb.assign(share=cb["mean"] / cb["period"].map(means).replace(0.0, np.nan)).reset_index(drop=True)
    months = pd.DatetimeIndex(ds["month"].values)
    return {
        "strategy": strategy,
        "period": period,
        "periods": periods,
        "partial_periods": partial_periods(months, period),
        "paths": int(n),
        "currency": ds.attrs.get("currency", ""),
        "scenario": ds.attrs.get("scenario", ""),
        "confidence": confidence,
        "budget": budget,
        "total": total,
        "quantiles": long,
        "chargeback": cb,
        "mc_error": pd.DataFrame(err_rows),
        "budget_at_confidence": at_conf,
        "p_exceed": p_exceed,
    }


def budget_text(r: dict) -> str:
    cur = r["currency"]
    lines = [f"Spend by {r['period']}, {cur} — scenario {r['scenario']!r}, strategy {r['strategy']!r}, "
             f"{r['paths']} paths"]
    if r["partial_periods"]:
        lines.append(f"(partial periods, fewer months than a full {r['period']}: {', '.join(r['partial_periods'])})")
    conf = f"P{r['confidence'] * 100:g} budget"
    head = f"{'period':<14}{'mean':>13}{'P5':>13}{'P25':>13}{'P50':>13}{'P75':>13}{'P95':>13}{conf:>15}"
    if r["p_exceed"] is not None:
        head += f"{'P(>budget)':>12}"
    lines += ["", head, "-" * len(head)]
    for row in r["total"].to_dict(orient="records"):
        p = row["period"]
        s = (f"{p:<14}{row['mean']:>13,.0f}{row['p5']:>13,.0f}{row['p25']:>13,.0f}{row['p50']:>13,.0f}"
             f"{row['p75']:>13,.0f}{row['p95']:>13,.0f}{r['budget_at_confidence'][p]:>15,.0f}")
        if r["p_exceed"] is not None:
            s += f"{r['p_exceed'][p]:>12.1%}"
        lines.append(s)
    if r["budget"] is not None:
        lines.append(f"budget {r['budget']:,.0f} {cur} per {r['period']}")
    err = r["mc_error"]
    if len(err):
        e = err[err["quantile"].isin(["p50", "p95"])]
        worst = e.loc[e["rel_se"].fillna(0).idxmax()] if len(e) else None
        need = e["paths_for_1pct"].max() if len(e) else float("nan")
        if worst is not None and pd.notna(need):
            lines.append(f"Monte Carlo error: largest relative standard error of a P50/P95 is "
                         f"{(worst['rel_se'] or 0):.2%} ({worst['period']} {worst['quantile']}); "
                         f"±1 % at 95 % confidence needs about {int(need):,} paths")
    cb = r["chargeback"]
    if len(cb):
        lines += ["", f"Chargeback by business unit (mean, {cur}; P5..P95 per business unit, workload and pool "
                      "are in --json under 'quantiles'):"]
        t = cb.pivot_table(index="period", columns="business_unit", values="mean", aggfunc="sum", fill_value=0.0)
        t = t.reindex(r["periods"])
        cols = list(t.columns)
        lines.append(f"{'period':<14}" + "".join(f"{c[:16]:>18}" for c in cols))
        for p, row in t.iterrows():
            lines.append(f"{p:<14}" + "".join(f"{row[c]:>18,.0f}" for c in cols))
    return "\n".join(lines)
