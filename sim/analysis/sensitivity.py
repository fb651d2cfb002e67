"""Which uncertain inputs drive an output: tornado, Morris screening and Sobol indices.

The model is the expected-value engine (``sim.expected.forecast.run_expected``): one evaluation
sets the chosen inputs to given values, every other input stays at its mean, and the metric is
read from the forecast. It is deterministic, so one-at-a-time swings carry no sampling noise
(the same effect common random numbers give a Monte Carlo comparison) and a global design of a
few hundred evaluations takes seconds.

Inputs are the scenario's uncertain fields except the per-session ones (turns, steps, message
and output sizes, ...): those describe how sessions differ inside one future, and the engine
already integrates over them; they are not uncertainty about the future. Inputs are varied in
quantile space (u ↦ F⁻¹(u) of each field's own distribution), so a field's range is its
distribution; rank correlations between inputs are not imposed here (one-at-a-time and
independent designs).

- tornado: each input at its P10 and at its P90 (others at their means); bar = |metric(P90) −
  metric(P10)|, ranked;
- Morris (elementary effects, SALib): r trajectories over a 4-level grid on [P5, P95];
  μ* ranks influence, σ flags interactions or non-linearity;
- Sobol (SALib, Saltelli's scheme): first-order S1 and total ST indices from N(k + 2)
  evaluations on quantiles [P0.5, P99.5].

Metrics: ``total_spend`` (default), ``spend:YYYY`` (one calendar year), ``pool:NAME``,
``business_unit:NAME``, ``workload:NAME``, ``peak_month_spend``, ``last_month_spend``, ``tokens``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..catalog.prices import PriceBook
from ..expected.session import SessionCache
from ..scenario.distributions import _Dist
from ..scenario.model import Scenario, set_path, uncertain_fields
from .common import AnalysisError

METRIC_HELP = ("total_spend, spend:YYYY, pool:NAME, business_unit:NAME, workload:NAME, peak_month_spend, "
               "last_month_spend, tokens")


def sensitivity_inputs(sc: Scenario) -> dict[str, _Dist]:
    """Uncertain fields that describe the future (not per-session variation), by key path."""
    from ..mc.sampling import classify

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
    kind, _, name = metric.partition(":")
    if not name:
        raise AnalysisError(f"unknown metric {metric!r}; use one of: {METRIC_HELP}")
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
    known = {"pool": ["api", "neocloud_reserved", "neocloud_on_demand", "owned", "saas", "seats"],
             "business_unit": [b.name for b in sc.business_units] + ["(shared)"],
             "workload": [w.name for w in sc.workloads],
             "spend": sorted({str(d.year) for d in sc.horizon.month_starts()})}
    if kind not in known or not name:
        raise AnalysisError(f"unknown metric {metric!r}; use one of: {METRIC_HELP}")
    if name not in known[kind]:
        raise AnalysisError(f"metric {metric!r}: no {kind} {name!r}; known: {', '.join(known[kind])}")


def make_model(sc: Scenario, metric: str, strategy: str | None = None) -> Callable[[dict], float]:
    """f(values: key path -> number) -> metric, every other input at its mean."""
    from ..expected.forecast import run_expected

    check_metric(sc, metric)
    if strategy is not None:
        strat = next((s for s in sc.all_strategies() if s.name == strategy), None)
        if strat is None:
            raise AnalysisError(f"unknown strategy {strategy!r}; the scenario has: "
                                f"{', '.join(s.name for s in sc.all_strategies())}")
        sc = sc.with_strategy(strat)
    book = PriceBook(sc.price_date, sc.prices.overrides)
    base = sc
    # scale inputs (users, rates, prices, GPU economics) leave a workload's session unchanged: one
    # cache for the whole design works each distinct session out once
    sessions = SessionCache()

    def f(values: dict) -> float:
        s = base
        for path, v in values.items():
            s = set_path(s, path, float(v))
        return metric_value(run_expected(s, None, book, sessions=sessions), metric)

    return f


def _inputs_or_fail(sc: Scenario, strategy: str | None = None) -> dict[str, _Dist]:
    inputs = sensitivity_inputs(sc)
    if strategy is not None:  # a strategy may fix or change an input
        strat = next((s for s in sc.all_strategies() if s.name == strategy), None)
        if strat is not None:
            for path in strat.set:
                inputs = {p: d for p, d in inputs.items() if not p.startswith(path)}
    if not inputs:
        raise AnalysisError("the scenario has no uncertain input to vary (give some field a distribution)")
    return inputs


def tornado(sc: Scenario, metric: str = "total_spend", *, strategy: str | None = None, low: float = 0.1,
            high: float = 0.9) -> pd.DataFrame:
    """Swing each input from its ``low`` to its ``high`` quantile, others at their means; ranked."""
    inputs = _inputs_or_fail(sc, strategy)
    f = make_model(sc, metric, strategy)
    base = f({})
    rows = []
    for path, d in inputs.items():
        lo_v, hi_v = d.quantile(low), d.quantile(high)
        m_lo, m_hi = f({path: lo_v}), f({path: hi_v})
        rows.append({"input": path, "low_value": lo_v, "high_value": hi_v, "metric_at_low": m_lo,
                     "metric_at_high": m_hi, "swing": abs(m_hi - m_lo), "base": base})
    df = pd.DataFrame(rows).sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    return df


def _problem(inputs: dict, lo: float, hi: float) -> dict:
    names = list(inputs)
    return {"num_vars": len(names), "names": names, "bounds": [[lo, hi]] * len(names)}


def _evaluate(f, inputs: dict, U: np.ndarray) -> np.ndarray:
    names = list(inputs)
    vals = {p: inputs[p].ppf(U[:, j]) for j, p in enumerate(names)}
    return np.array([f({p: vals[p][i] for p in names}) for i in range(U.shape[0])])


def morris(sc: Scenario, metric: str = "total_spend", *, strategy: str | None = None, trajectories: int = 8,
           levels: int = 4, seed: int | None = None) -> pd.DataFrame:
    """Morris elementary effects (SALib) in quantile space [P5, P95]; ranked by μ*."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    inputs = _inputs_or_fail(sc, strategy)
    prob = _problem(inputs, 0.05, 0.95)
    seed = sc.seed % (2**31) if seed is None else seed
    if len(inputs) == 1:  # SALib needs two factors; a dummy one has no effect
        prob = {"num_vars": 2, "names": list(inputs) + ["(dummy)"], "bounds": [[0.05, 0.95]] * 2}
    X = morris_sample.sample(prob, N=trajectories, num_levels=levels, seed=seed)
    f = make_model(sc, metric, strategy)
    Y = _evaluate(f, inputs, X[:, :len(inputs)])
    res = morris_analyze.analyze(prob, X, Y, num_levels=levels, print_to_console=False, seed=seed)
    df = pd.DataFrame({"input": list(res["names"]), "mu_star": res["mu_star"], "mu": res["mu"],
                       "sigma": res["sigma"], "mu_star_conf": res["mu_star_conf"]})
    df = df[df["input"] != "(dummy)"]
    df = df.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    df.attrs["evaluations"] = int(X.shape[0])
    return df


def sobol(sc: Scenario, metric: str = "total_spend", *, strategy: str | None = None, n: int = 32,
          seed: int | None = None) -> pd.DataFrame:
    """Sobol first-order and total indices (SALib, Saltelli scheme); ranked by ST."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    inputs = _inputs_or_fail(sc, strategy)
    n = 2 ** max(1, int(round(np.log2(max(n, 2)))))  # Sobol sequences want a power of two
    prob = _problem(inputs, 0.005, 0.995)
    if len(inputs) == 1:
        prob = {"num_vars": 2, "names": list(inputs) + ["(dummy)"], "bounds": [[0.005, 0.995]] * 2}
    seed = sc.seed % (2**31) if seed is None else seed
    X = sobol_sample.sample(prob, n, calc_second_order=False, seed=seed)
    f = make_model(sc, metric, strategy)
    Y = _evaluate(f, inputs, X[:, :len(inputs)])
    res = sobol_analyze.analyze(prob, Y, calc_second_order=False, print_to_console=False, seed=seed)
    df = pd.DataFrame({"input": prob["names"], "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"],
                       "ST_conf": res["ST_conf"]})
    df = df[df["input"] != "(dummy)"]
    df = df.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    df.attrs["evaluations"] = int(X.shape[0])
    return df


def sensitivity_analysis(sc: Scenario, *, method: str = "morris", metric: str = "total_spend",
                         strategy: str | None = None, trajectories: int = 8, samples: int = 32,
                         with_tornado: bool = True) -> dict:
    """The chosen global method plus the tornado, as one dict."""
    if method not in ("morris", "sobol", "tornado"):
        raise AnalysisError(f"method must be morris, sobol or tornado, got {method!r}")
    check_metric(sc, metric)
    out: dict = {"scenario": sc.name, "currency": sc.currency, "metric": metric, "method": method,
                 "strategy": strategy, "inputs": list(_inputs_or_fail(sc, strategy))}
    if with_tornado or method == "tornado":
        out["tornado"] = tornado(sc, metric, strategy=strategy)
        out["base"] = float(out["tornado"]["base"].iloc[0])
    if method == "morris":
        out["morris"] = morris(sc, metric, strategy=strategy, trajectories=trajectories)
        out["evaluations"] = out["morris"].attrs["evaluations"]
    elif method == "sobol":
        out["sobol"] = sobol(sc, metric, strategy=strategy, n=samples)
        out["evaluations"] = out["sobol"].attrs["evaluations"]
    ranked = out.get(method if method != "tornado" else "tornado")
    out["ranking"] = list(ranked["input"])
    return out


def sensitivity_text(r: dict) -> str:
    cur = r["currency"]
    L = [f"Sensitivity of {r['metric']} — scenario {r['scenario']!r}"
         + (f", strategy {r['strategy']!r}" if r["strategy"] else "")
         + f"; expected-value engine, others at their means (base {r.get('base', float('nan')):,.0f} {cur})"]
    if "tornado" in r:
        t = r["tornado"]
        L += ["", "Tornado (P10 → P90):",
              f"  {'input':<58}{'P10':>12}{'P90':>12}{'metric @P10':>16}{'metric @P90':>16}{'swing':>14}"]
        for row in t.to_dict(orient="records"):
            L.append(f"  {row['input'][:57]:<58}{row['low_value']:>12.4g}{row['high_value']:>12.4g}"
                     f"{row['metric_at_low']:>16,.0f}{row['metric_at_high']:>16,.0f}{row['swing']:>14,.0f}")
    if "morris" in r:
        m = r["morris"]
        L += ["", f"Morris screening ({r['evaluations']} evaluations; μ* = mean |elementary effect| over P5..P95):",
              f"  {'input':<58}{'μ*':>14}{'σ':>14}{'± conf':>12}"]
        for row in m.to_dict(orient="records"):
            L.append(f"  {row['input'][:57]:<58}{row['mu_star']:>14,.0f}{row['sigma']:>14,.0f}{row['mu_star_conf']:>12,.0f}")
    if "sobol" in r:
        s = r["sobol"]
        L += ["", f"Sobol indices ({r['evaluations']} evaluations):",
              f"  {'input':<58}{'S1':>8}{'± conf':>9}{'ST':>8}{'± conf':>9}"]
        for row in s.to_dict(orient="records"):
            L.append(f"  {row['input'][:57]:<58}{row['S1']:>8.3f}{row['S1_conf']:>9.3f}{row['ST']:>8.3f}{row['ST_conf']:>9.3f}")
    return "\n".join(L)
