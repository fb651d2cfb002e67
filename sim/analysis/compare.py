"""Two scenarios or two results side by side: differences and their uncertainty.

Two scenarios are simulated (``sim.studies.compare``) with the same seed and path indices, so
fields present in both get the same random numbers (common random numbers) and the difference
B − A is computed path by path: its standard error is that of the paired differences, far below
either spread. Two results files are paired the same way when their seed and paths agree;
otherwise the difference of means is reported with the independent-samples standard error and no
per-path quantities.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from .common import AnalysisError, by_period, pick_strategy, require_summable, tokens_str


def _metrics(ds: xr.Dataset, strategy: str) -> dict[str, np.ndarray]:
    """Per-path values of the compared quantities."""
    s = ds.sel(strategy=strategy)
    nan = {"skipna": False}  # a NaN stays NaN and is refused, never a 0
    out = {"total_spend": s["spend"].sum(["month", "pool", "workload"], **nan).values}
    yearly = by_period(s["spend"].sum(["pool", "workload"], **nan), "year")
    for y in yearly["period"].values:
        out[f"spend:{y}"] = yearly.sel(period=y).values
    for p in s["pool"].values:
        out[f"pool:{p}"] = s["spend"].sel(pool=p).sum(["month", "workload"], **nan).values
    bu = s["spend"].sum(["pool", "month"], **nan).groupby("business_unit").sum("workload", **nan)
    for b in bu["business_unit"].values:
        out[f"business_unit:{b}"] = bu.sel(business_unit=b).values
    for w in s["workload"].values:
        out[f"workload:{w}"] = s["spend"].sel(workload=w).sum(["month", "pool"], **nan).values
    gp = [p for p in ("api", "neocloud", "owned") if p in s["pool"].values]
    out["tokens"] = sum(s[v].sel(pool=gp).sum(["month", "pool", "workload"], **nan).values
                        for v in ("tokens_input", "tokens_cached", "tokens_output"))
    out["unserved_tokens"] = s["unserved_tokens"].sum(["month", "workload"], **nan).values
    require_summable(ds, out, ("spend", "tokens_input", "tokens_cached", "tokens_output", "unserved_tokens"))
    return out


def paired(a: xr.Dataset, b: xr.Dataset) -> bool:
    return (a.attrs.get("seed") == b.attrs.get("seed") and a.sizes["path"] == b.sizes["path"]
            and np.array_equal(a["path"].values, b["path"].values))


def compare_datasets(a: xr.Dataset, b: xr.Dataset, *, strategy_a: str | None = None, strategy_b: str | None = None,
                     labels: tuple[str, str] = ("A", "B")) -> dict:
    sa, sb = pick_strategy(a, strategy_a), pick_strategy(b, strategy_b)
    ma, mb = _metrics(a, sa), _metrics(b, sb)
    is_paired = paired(a, b)
    rows = []
    for key in list(dict.fromkeys(list(ma) + list(mb))):
        xa = ma.get(key, np.zeros(a.sizes["path"]))
        xb = mb.get(key, np.zeros(b.sizes["path"]))
        if not np.any(xa) and not np.any(xb):
            continue
        row = {"metric": key, "mean_a": float(xa.mean()), "mean_b": float(xb.mean()),
               "p5_a": float(np.quantile(xa, 0.05)), "p95_a": float(np.quantile(xa, 0.95)),
               "p5_b": float(np.quantile(xb, 0.05)), "p95_b": float(np.quantile(xb, 0.95)),
               "difference": float(xb.mean() - xa.mean())}
        row["relative_difference"] = row["difference"] / row["mean_a"] if abs(row["mean_a"]) > 1e-9 else None
        if is_paired:
            d = xb - xa
            tol = 1e-9 * np.maximum(np.abs(xa), 1.0)
            d = np.where(np.abs(d) <= tol, 0.0, d)  # equal up to rounding: no difference
            row["se_difference"] = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else 0.0
            row["p5_difference"] = float(np.quantile(d, 0.05))
            row["p95_difference"] = float(np.quantile(d, 0.95))
            row["p_b_lower"] = float(np.mean(d < 0))
        else:
            va = xa.var(ddof=1) / xa.size if xa.size > 1 else 0.0
            vb = xb.var(ddof=1) / xb.size if xb.size > 1 else 0.0
            row["se_difference"] = float(math.sqrt(va + vb))
            row["p5_difference"] = row["p95_difference"] = row["p_b_lower"] = None
        rows.append(row)
    return {"a": {"label": labels[0], "scenario": a.attrs.get("scenario", ""), "strategy": sa, "paths": int(a.sizes["path"])},
            "b": {"label": labels[1], "scenario": b.attrs.get("scenario", ""), "strategy": sb, "paths": int(b.sizes["path"])},
            "currency": a.attrs.get("currency", ""), "paired": is_paired, "table": pd.DataFrame(rows)}


def only_strategy(sc, strategy: str | None):
    """``sc`` with only ``strategy`` (default its first) to simulate."""
    strategies = sc.all_strategies()
    if strategy is None:
        chosen = strategies[0]
    else:
        chosen = next((s for s in strategies if s.name == strategy), None)
        if chosen is None:
            raise AnalysisError(f"scenario {sc.name!r} has no strategy {strategy!r}; it has: "
                                f"{', '.join(s.name for s in strategies)}")
    return sc.model_copy(update={"strategies": [chosen], "sweeps": []})


def compare_text(r: dict) -> str:
    a, b, cur = r["a"], r["b"], r["currency"]
    L = [f"A = {a['label']} (scenario {a['scenario']!r}, strategy {a['strategy']!r}, {a['paths']} paths)",
         f"B = {b['label']} (scenario {b['scenario']!r}, strategy {b['strategy']!r}, {b['paths']} paths)",
         ("paired path by path (common random numbers)" if r["paired"]
          else "not paired (different seeds or paths): independent standard errors"), "",
         f"{'metric':<34}{'mean A':>15}{'mean B':>15}{'B − A':>15}{'± se':>12}{'B−A %':>8}{'P(B<A)':>8}"]
    L.append("-" * len(L[-1]))
    for row in r["table"].to_dict(orient="records"):
        rel = None if pd.isna(row["relative_difference"]) else row["relative_difference"]
        pb = None if pd.isna(row["p_b_lower"]) else row["p_b_lower"]
        if row["metric"] in ("tokens", "unserved_tokens"):
            vals = [tokens_str(row[k]) for k in ("mean_a", "mean_b", "difference", "se_difference")]
        else:
            vals = [f"{row[k]:,.0f}" if abs(row[k]) >= 100 or row[k] == 0 else f"{row[k]:,.2f}"
                    for k in ("mean_a", "mean_b", "difference", "se_difference")]
        L.append(f"{row['metric'][:33]:<34}{vals[0]:>15}{vals[1]:>15}{vals[2]:>15}{vals[3]:>12}"
                 f"{(format(rel, '.1%') if rel is not None else '—'):>8}"
                 f"{(format(pb, '.0%') if pb is not None else '—'):>8}")
    L.append(f"(money in {cur}; tokens and unserved_tokens in tokens)")
    return "\n".join(L)
