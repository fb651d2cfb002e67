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

from .common import AnalysisError, by_period, pick_strategy, require_summable, text_table, tokens_str
from .outcomes import has_outcomes, outcome_table, strategy_outcomes, strategy_ranking


def _metrics(ds: xr.Dataset, strategy: str, outcomes: bool = False) -> dict[str, np.ndarray]:
    """Per-path values of the compared quantities (with ``outcomes``: net value, value, outcome cost,
    and per workload the outcomes and the cost per outcome)."""
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
    if outcomes:
        for v in ("net_value", "value", "outcome_cost"):
            out[v] = s[v].sum(["month", "outcome_workload"], **nan).values
        for w in s["outcome_workload"].values:
            out[f"outcomes:{w}"] = s["outcomes"].sel(outcome_workload=w).sum("month", **nan).values
            out[f"cost_per_outcome:{w}"] = s["cost_per_outcome"].sel(outcome_workload=w).values
    return out



def paired(a: xr.Dataset, b: xr.Dataset) -> bool:
    return (a.attrs.get("seed") == b.attrs.get("seed") and a.sizes["path"] == b.sizes["path"]
            and np.array_equal(a["path"].values, b["path"].values))


def compare_datasets(a: xr.Dataset, b: xr.Dataset, *, strategy_a: str | None = None, strategy_b: str | None = None,
                     labels: tuple[str, str] = ("A", "B")) -> dict:
    sa, sb = pick_strategy(a, strategy_a), pick_strategy(b, strategy_b)
    both = has_outcomes(a) and has_outcomes(b) and list(a["outcome_workload"].values) == list(b["outcome_workload"].values)
    ma, mb = _metrics(a, sa, both), _metrics(b, sb, both)
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
    side_a = {"label": labels[0], "scenario": a.attrs.get("scenario", ""), "strategy": sa, "paths": int(a.sizes["path"]),
              **strategy_outcomes(a, sa)}
    side_b = {"label": labels[1], "scenario": b.attrs.get("scenario", ""), "strategy": sb, "paths": int(b.sizes["path"]),
              **strategy_outcomes(b, sb)}
    out = {"a": side_a, "b": side_b, "currency": a.attrs.get("currency", ""), "paired": is_paired,
           "table": pd.DataFrame(rows)}
    if both:
        order = sorted((side_a, side_b), key=lambda x: -x["net_value"])
        out["ranking"] = [{"rank": k + 1, "label": x["label"], "strategy": x["strategy"], "net_value": x["net_value"],
                           "cost_per_outcome": x["cost_per_outcome"]} for k, x in enumerate(order)]
        out["answer"] = outcome_answer([(f"A ({sa})", side_a), (f"B ({sb})", side_b)], a, out["currency"])
    return out


def outcome_answer(sides: list[tuple[str, dict]], ds: xr.Dataset, currency: str) -> str:
    """One sentence per workload with an outcome: which side is cheaper per outcome, and which adds
    the most net value."""
    units = {str(w): (str(n), str(u)) for w, n, u in zip(ds["outcome_workload"].values, np.asarray(ds["outcome"].values),
                                                       np.asarray(ds["outcome_unit"].values))}
    parts = []
    for w, (name, unit) in units.items():
        costs = sorted(((x["cost_per_outcome"][w], lab) for lab, x in sides if x["cost_per_outcome"].get(w) is not None))
        if costs:
            listed = ", ".join(f"{lab} {money_str(c, currency, cents=True)}" for c, lab in costs)
            parts.append(f"Per {unit} ({name}, {w}): {listed}; {costs[0][1]} is the cheapest per outcome.")
    best = max(sides, key=lambda x: x[1]["net_value"])
    rest = [x for x in sides if x is not best]
    if rest:
        gap = best[1]["net_value"] - max(x[1]["net_value"] for x in rest)
        parts.append(f"{best[0]} adds the most net value: {money_str(best[1]['net_value'], currency)} "
                     f"({money_str(gap, currency)} more than the next).")
    return " ".join(parts)


def money_str(x: float, currency: str, cents: bool = False) -> str:
    """$1,234 / $1.23 (cents) / EUR 1,234: a money figure with its currency."""
    sym = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    body = f"{abs(x):,.2f}" if cents else f"{abs(x):,.0f}"
    sign = "−" if x < 0 else ""
    return f"{sign}{sym}{body}" if sym else f"{sign}{currency} {body}".strip()


def rank_strategies(ds: xr.Dataset, label: str = "") -> dict:
    """Every strategy of one results Dataset, ranked by expected net value over the outcome workloads
    (then by expected spend where there are no outcomes), with cost per outcome per workload."""
    cur = ds.attrs.get("currency", "")
    spend = ds["spend"].sum(["month", "pool", "workload"], skipna=False).transpose("strategy", "path").values
    require_summable(ds, {"total_spend": spend}, ("spend",))
    rows = []
    rank = strategy_ranking(ds).set_index("strategy") if has_outcomes(ds) else None
    for i, st in enumerate(ds["strategy"].values):
        x = np.asarray(spend[i], float)
        row = {"strategy": str(st), "spend": float(x.mean()), "spend_p5": float(np.quantile(x, 0.05)),
               "spend_p95": float(np.quantile(x, 0.95)), **strategy_outcomes(ds, str(st))}
        if rank is not None:
            row |= {k: float(rank.loc[str(st), k]) for k in ("net_value_p5", "net_value_p95", "p_best")}
        rows.append(row)
    key = (lambda r: -r["net_value"]) if rank is not None else (lambda r: r["spend"])
    rows.sort(key=key)
    for k, r in enumerate(rows):
        r["rank"] = k + 1
    out = {"mode": "strategies", "label": label, "scenario": ds.attrs.get("scenario", ""), "paths": int(ds.sizes["path"]),
           "currency": cur, "ranked_by": "net_value" if rank is not None else "spend", "strategies": rows}
    if rank is not None:
        t = outcome_table(ds)
        out["by_cost_per_outcome"] = {w: g.sort_values("cost_per_outcome", kind="stable")["strategy"].tolist()
                                      for w, g in t.groupby("workload", sort=False)}
        out["answer"] = outcome_answer([(r["strategy"], r) for r in rows], ds, cur)
    return out


def rank_text(r: dict) -> str:
    cur = r["currency"]
    L = [f"Strategies of {r['label'] or r['scenario']!r} ({r['paths']} paths), ranked by "
         f"{'expected net value' if r['ranked_by'] == 'net_value' else 'expected spend'}", ""]
    if r["ranked_by"] == "net_value":
        wl = list(r["by_cost_per_outcome"])
        headers = ["rank", "strategy", f"spend ({cur})", f"net value ({cur})", "P5", "P95", "ROI", "P(best)"] + \
            [f"{w}: {cur}/outcome" for w in wl]
        body = [[str(x["rank"]), x["strategy"], f"{x['spend']:,.0f}", f"{x['net_value']:,.0f}",
                 f"{x['net_value_p5']:,.0f}", f"{x['net_value_p95']:,.0f}",
                 "—" if x["roi"] is None else f"{x['roi']:.1f}×", f"{x['p_best']:.0%}"] +
                ["—" if x["cost_per_outcome"].get(w) is None else f"{x['cost_per_outcome'][w]:,.2f}" for w in wl]
                for x in r["strategies"]]
    else:
        headers = ["rank", "strategy", f"spend ({cur})", "P5", "P95"]
        body = [[str(x["rank"]), x["strategy"], f"{x['spend']:,.0f}", f"{x['spend_p5']:,.0f}", f"{x['spend_p95']:,.0f}"]
                for x in r["strategies"]]
    L += text_table(headers, body)
    if r.get("answer"):
        L += ["", r["answer"]]
    if r["ranked_by"] == "net_value":
        L.append("(net value = value of the outcomes − spend − human fallback − review, over the horizon; "
                 "P(best) = share of paths on which the strategy has the highest net value)")
    return "\n".join(L)


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
        if row["metric"] in ("tokens", "unserved_tokens") or row["metric"].startswith("outcomes:"):
            vals = [tokens_str(row[k]) for k in ("mean_a", "mean_b", "difference", "se_difference")]
        elif row["metric"].startswith("cost_per_outcome:"):
            vals = [f"{row[k]:,.2f}" for k in ("mean_a", "mean_b", "difference", "se_difference")]
        else:
            vals = [f"{row[k]:,.0f}" if abs(row[k]) >= 100 or row[k] == 0 else f"{row[k]:,.2f}"
                    for k in ("mean_a", "mean_b", "difference", "se_difference")]
        L.append(f"{row['metric'][:33]:<34}{vals[0]:>15}{vals[1]:>15}{vals[2]:>15}{vals[3]:>12}"
                 f"{(format(rel, '.1%') if rel is not None else '—'):>8}"
                 f"{(format(pb, '.0%') if pb is not None else '—'):>8}")
    L.append(f"(money in {cur}; tokens and unserved_tokens in tokens; outcomes:W in outcomes; "
             f"cost_per_outcome:W in {cur} per outcome)" if r.get("answer") else
             f"(money in {cur}; tokens and unserved_tokens in tokens)")
    if r.get("answer"):
        L += ["", r["answer"]]
    return "\n".join(L)
