"""What the spend buys: cost per outcome, value, net value and ROI per strategy, ranked.

Reads the outcome variables of a results Dataset (``sim.pools.outcomes`` defines them). Over the
horizon, per strategy and workload with an outcome:

- ``cost_per_outcome`` = E[outcome cost] / E[outcomes] (a ratio of means: what the portfolio pays
  per outcome on average), with the 5th and 95th percentiles of each path's own ratio;
- ``net_value`` = E[value − outcome cost], with its percentiles over paths;
- ``roi`` = E[net value] / E[outcome cost];
- ``value_per_mtok`` = E[value] / E[tokens] × 10⁶, the tokens the workload used on every pool.

``strategy_ranking`` ranks the strategies by expected net value over all outcome workloads, and
gives each strategy's probability of being the best one (paths are paired across strategies:
common random numbers, so "best on a path" compares like with like).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..pools.outcomes import outcome_ratios
from .common import AnalysisError

OUTCOME_TABLE_COLUMNS = ("strategy", "workload", "outcome", "unit", "sessions", "ai_outcomes", "outcomes",
                         "success_rate", "spend", "fallback_cost", "review_cost", "cost", "cost_per_outcome",
                         "cost_per_outcome_p5", "cost_per_outcome_p95", "value", "net_value", "net_value_p5",
                         "net_value_p95", "roi", "tokens", "value_per_mtok", "rank_cost_per_outcome")
TOKEN_POOLS = ("api", "neocloud", "owned")


def has_outcomes(ds: xr.Dataset) -> bool:
    """Whether the results hold outcome accounting (a scenario with at least one ``outcome``)."""
    return "outcomes" in ds and "outcome_workload" in ds.dims and ds.sizes["outcome_workload"] > 0


def _horizon(ds: xr.Dataset, name: str) -> np.ndarray:
    """(strategy, path, outcome_workload) sums over the months, in memory."""
    return np.asarray(ds[name].sum("month", skipna=False).transpose("strategy", "path", "outcome_workload").values,
                      dtype=float)


def _tokens(ds: xr.Dataset, workloads: list[str]) -> np.ndarray:
    """(strategy, path, outcome_workload) tokens used (input, cached, output) on every pool."""
    pools = [p for p in TOKEN_POOLS if p in ds["pool"].values]
    tot = 0.0
    for v in ("tokens_input", "tokens_cached", "tokens_output"):
        if v in ds:
            tot = tot + ds[v].sel(pool=pools, workload=workloads).sum(["month", "pool"], skipna=False)
    if isinstance(tot, float):
        return np.zeros((ds.sizes["strategy"], ds.sizes["path"], len(workloads)))
    return np.asarray(tot.transpose("strategy", "path", "workload").values, dtype=float)


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b > 0 else None


def outcome_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (strategy, workload with an outcome): means over paths of horizon totals (module
    docstring); empty (with the columns) when the results hold no outcomes."""
    if not has_outcomes(ds):
        return pd.DataFrame(columns=list(OUTCOME_TABLE_COLUMNS))
    wl = [str(w) for w in ds["outcome_workload"].values]
    names = {w: (str(n), str(u)) for w, n, u in zip(wl, np.asarray(ds["outcome"].values), np.asarray(ds["outcome_unit"].values))}
    h = {k: _horizon(ds, k) for k in ("work_units", "ai_outcomes", "outcomes", "fallback_cost", "review_cost",
                                        "outcome_cost", "value", "net_value")}
    cpo = np.asarray(ds["cost_per_outcome"].transpose("strategy", "path", "outcome_workload").values, dtype=float)
    tok = _tokens(ds, wl)
    spend = h["outcome_cost"] - h["fallback_cost"] - h["review_cost"]
    rows = []
    for i, s in enumerate(ds["strategy"].values):
        for j, w in enumerate(wl):
            m = {k: float(v[i, :, j].mean()) for k, v in h.items()}
            t = float(tok[i, :, j].mean())
            q = outcome_ratios(m["work_units"], m["ai_outcomes"], m["outcomes"], m["outcome_cost"], m["value"],
                               m["net_value"], t)
            rows.append(dict(
                strategy=str(s), workload=w, outcome=names[w][0], unit=names[w][1], sessions=m["work_units"],
                ai_outcomes=m["ai_outcomes"], outcomes=m["outcomes"], success_rate=q["success_rate"],
                spend=float(spend[i, :, j].mean()), fallback_cost=m["fallback_cost"], review_cost=m["review_cost"],
                cost=m["outcome_cost"], cost_per_outcome=q["cost_per_outcome"],
                cost_per_outcome_p5=float(np.quantile(cpo[i, :, j], 0.05)),
                cost_per_outcome_p95=float(np.quantile(cpo[i, :, j], 0.95)),
                value=m["value"], net_value=m["net_value"],
                net_value_p5=float(np.quantile(h["net_value"][i, :, j], 0.05)),
                net_value_p95=float(np.quantile(h["net_value"][i, :, j], 0.95)),
                roi=q["roi"], tokens=t, value_per_mtok=q["value_per_mtok"]))
    out = pd.DataFrame(rows, columns=list(OUTCOME_TABLE_COLUMNS)[:-1])
    # 1 = the cheapest per outcome among the strategies, per workload
    out["rank_cost_per_outcome"] = out.groupby("workload")["cost_per_outcome"].rank(method="min").astype(int)
    return out


def strategy_ranking(ds: xr.Dataset) -> pd.DataFrame:
    """One row per strategy, best first: expected net value over every outcome workload (with P5 and
    P95 over paths), value, outcome cost, the strategy's whole spend, and P(best), the share of
    paths on which it has the highest net value. Empty when the results hold no outcomes."""
    cols = ["rank", "strategy", "net_value", "net_value_p5", "net_value_p95", "value", "outcome_cost", "spend",
            "p_best"]
    if not has_outcomes(ds):
        return pd.DataFrame(columns=cols)
    net = _horizon(ds, "net_value").sum(-1)  # (strategy, path)
    value = _horizon(ds, "value").sum(-1)
    cost = _horizon(ds, "outcome_cost").sum(-1)
    spend = np.asarray(ds["spend"].sum(["month", "pool", "workload"], skipna=False)
                       .transpose("strategy", "path").values, dtype=float)
    best = np.argmax(net, axis=0)
    rows = [dict(strategy=str(s), net_value=float(net[i].mean()), net_value_p5=float(np.quantile(net[i], 0.05)),
                 net_value_p95=float(np.quantile(net[i], 0.95)), value=float(value[i].mean()),
                 outcome_cost=float(cost[i].mean()), spend=float(spend[i].mean()), p_best=float(np.mean(best == i)))
            for i, s in enumerate(ds["strategy"].values)]
    out = pd.DataFrame(rows).sort_values("net_value", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[cols]


def strategy_outcomes(ds: xr.Dataset, strategy: str) -> dict:
    """``outcomes``, ``value``, ``cost_per_outcome``, ``net_value`` of one strategy: the JSON keys of
    ``compare`` (per workload where the unit differs; money totals over the outcome workloads)."""
    if not has_outcomes(ds):
        return {}
    t = outcome_table(ds.sel(strategy=[strategy]))
    if t.empty:
        raise AnalysisError(f"no outcome rows for strategy {strategy!r}")
    return {"outcomes": {r.workload: r.outcomes for r in t.itertuples()},
            "cost_per_outcome": {r.workload: r.cost_per_outcome for r in t.itertuples()},
            "value": float(t["value"].sum()), "net_value": float(t["net_value"].sum()),
            "outcome_cost": float(t["cost"].sum()),
            "roi": _ratio(float(t["net_value"].sum()), float(t["cost"].sum())),
            "outcome_units": {r.workload: f"{r.unit} ({r.outcome})" for r in t.itertuples()}}
