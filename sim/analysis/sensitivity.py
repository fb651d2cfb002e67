"""Sensitivity inputs, metrics and text: pure functions of scenarios and forecasts.

The designs that evaluate the expected-value engine (tornado, Morris, Sobol) are in
``sim.studies.sensitivity``; this module says what they vary, what they read and how the result
reads.

Inputs are the scenario's uncertain fields except the per-session ones (turns, steps, message
and output sizes, ...): those describe how sessions differ inside one future, and the engine
already integrates over them; they are not uncertainty about the future.

Metrics: ``total_spend`` (default), ``spend:YYYY`` (one calendar year), ``pool:NAME``,
``business_unit:NAME``, ``workload:NAME``, ``peak_month_spend``, ``last_month_spend``, ``tokens``.
"""

from __future__ import annotations

from ..scenario.distributions import _Dist
from ..scenario.model import Scenario, classify, uncertain_fields
from .common import AnalysisError

METRIC_HELP = ("total_spend, spend:YYYY, pool:NAME, business_unit:NAME, workload:NAME, peak_month_spend, "
               "last_month_spend, tokens, net_value, cost_per_outcome:WORKLOAD")


def sensitivity_inputs(sc: Scenario) -> dict[str, _Dist]:
    """Uncertain fields that describe the future (not per-session variation), by key path."""
    return {p: d for p, d in uncertain_fields(sc).items() if classify(p) != "session"}


def metric_value(fc, metric: str) -> float:
    lines = fc.lines
    if metric == "total_spend":
        return float(lines["spend"].sum())
    if metric == "tokens":
        t = lines[~lines["pool"].isin(["saas", "unserved"])]
        return float((t["tokens_input"] + t["tokens_cached"] + t["tokens_output"]).sum())
    if metric in ("peak_month_spend", "last_month_spend"):
        m = fc.monthly_total()
        return float(m.max() if metric == "peak_month_spend" else m.iloc[-1])
    if metric == "net_value":
        return float(fc.outcomes["net_value"].sum())
    kind, _, name = metric.partition(":")
    if not name:
        raise AnalysisError(f"unknown metric {metric!r}; use one of: {METRIC_HELP}")
    if kind == "cost_per_outcome":  # over the horizon (sim.pools.outcomes)
        o = fc.outcomes[fc.outcomes["workload"] == name]
        n = float(o["outcomes"].sum())
        if n <= 0:
            raise AnalysisError(f"metric {metric!r}: workload {name!r} achieves no outcome at these inputs")
        return float(o["outcome_cost"].sum()) / n
    if kind == "spend":
        return float(lines.loc[lines["month"].str[:4] == name, "spend"].sum())
    col = {"pool": "pool", "business_unit": "business_unit", "workload": "workload"}.get(kind)
    if col is None:
        raise AnalysisError(f"unknown metric {metric!r}; use one of: {METRIC_HELP}")
    return float(lines.loc[lines[col] == name, "spend"].sum())


def check_metric(sc: Scenario, metric: str) -> None:
    kind, _, name = metric.partition(":")
    if metric in ("total_spend", "tokens", "peak_month_spend", "last_month_spend"):
        return
    with_outcome = [w.name for w in sc.token_workloads if w.outcome is not None]
    if (metric == "net_value" or kind == "cost_per_outcome") and not with_outcome:
        raise AnalysisError(f"metric {metric!r} needs a workload with an outcome (workloads[].outcome)")
    if metric == "net_value":
        return
    known = {"cost_per_outcome": with_outcome,"pool": ["api", "neocloud_reserved", "neocloud_on_demand", "owned", "saas", "seats"],
             "business_unit": [b.name for b in sc.business_units] + ["(shared)"],
             "workload": [w.name for w in sc.workloads],
             "spend": sorted({str(d.year) for d in sc.horizon.month_starts()})}
    if kind not in known or not name:
        raise AnalysisError(f"unknown metric {metric!r}; use one of: {METRIC_HELP}")
    if name not in known[kind]:
        raise AnalysisError(f"metric {metric!r}: no {kind} {name!r}; known: {', '.join(known[kind])}")


def varied_inputs(sc: Scenario, strategy: str | None = None) -> dict[str, _Dist]:
    """The inputs a design varies: ``sensitivity_inputs`` less those ``strategy`` fixes; none is an error."""
    inputs = sensitivity_inputs(sc)
    if strategy is not None:  # a strategy may fix or change an input
        strat = next((s for s in sc.all_strategies() if s.name == strategy), None)
        if strat is not None:
            for path in strat.set:
                inputs = {p: d for p, d in inputs.items() if not p.startswith(path)}
    if not inputs:
        raise AnalysisError("the scenario has no uncertain input to vary (give some field a distribution)")
    return inputs


def sensitivity_text(r: dict) -> str:
    cur = r["currency"]
    per = r["metric"].startswith("cost_per_outcome:")
    d = 4 if per else 0  # a cost per outcome is cents, not thousands
    unit = f"{cur} per outcome" if per else ("tokens" if r["metric"] == "tokens" else cur)
    L = [f"Sensitivity of {r['metric']} — scenario {r['scenario']!r}"
         + (f", strategy {r['strategy']!r}" if r["strategy"] else "")
         + f"; expected-value engine, others at their means (base {r.get('base', float('nan')):,.{d}f} {unit})"]
    if "tornado" in r:
        t = r["tornado"]
        L += ["", "Tornado (P10 → P90):",
              f"  {'input':<58}{'P10':>12}{'P90':>12}{'metric @P10':>16}{'metric @P90':>16}{'swing':>14}"]
        for row in t.to_dict(orient="records"):
            L.append(f"  {row['input'][:57]:<58}{row['low_value']:>12.4g}{row['high_value']:>12.4g}"
                     f"{row['metric_at_low']:>16,.{d}f}{row['metric_at_high']:>16,.{d}f}{row['swing']:>14,.{d}f}")
    if "morris" in r:
        m = r["morris"]
        L += ["", f"Morris screening ({r['evaluations']} evaluations; μ* = mean |elementary effect| over P5..P95):",
              f"  {'input':<58}{'μ*':>14}{'σ':>14}{'± conf':>12}"]
        for row in m.to_dict(orient="records"):
            L.append(f"  {row['input'][:57]:<58}{row['mu_star']:>14,.{d}f}{row['sigma']:>14,.{d}f}{row['mu_star_conf']:>12,.{d}f}")
    if "sobol" in r:
        s = r["sobol"]
        L += ["", f"Sobol indices ({r['evaluations']} evaluations):",
              f"  {'input':<58}{'S1':>8}{'± conf':>9}{'ST':>8}{'± conf':>9}"]
        for row in s.to_dict(orient="records"):
            L.append(f"  {row['input'][:57]:<58}{row['S1']:>8.3f}{row['S1_conf']:>9.3f}{row['ST']:>8.3f}{row['ST_conf']:>9.3f}")
    return "\n".join(L)
