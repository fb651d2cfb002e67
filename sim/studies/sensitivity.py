"""Which uncertain inputs drive an output: tornado, Morris screening and Sobol indices.

The model is the expected-value engine (``sim.expected.forecast.run_expected``): one evaluation
sets the chosen inputs to given values, every other input stays at its mean, and the metric is
read from the forecast (``sim.analysis.sensitivity.metric_value``). It is deterministic, so
one-at-a-time swings carry no sampling noise (the same effect common random numbers give a Monte
Carlo comparison) and a global design of a few hundred evaluations takes seconds.

Inputs (``sim.analysis.sensitivity.sensitivity_inputs``) are varied in quantile space
(u ↦ F⁻¹(u) of each field's own distribution), so a field's range is its distribution; rank
correlations between inputs are not imposed here (one-at-a-time and independent designs).

- tornado: each input at its P10 and at its P90 (others at their means); bar = |metric(P90) −
  metric(P10)|, ranked;
- Morris (elementary effects, SALib): r trajectories over a 4-level grid on [P5, P95];
  μ* ranks influence, σ flags interactions or non-linearity;
- Sobol (SALib, Saltelli's scheme): first-order S1 and total ST indices from N(k + 2)
  evaluations on quantiles [P0.5, P99.5].
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..analysis.common import AnalysisError
from ..analysis.sensitivity import check_metric, metric_value, varied_inputs
from ..catalog.prices import PriceBook
from ..expected.forecast import run_expected
from ..expected.session import SessionCache
from ..scenario.model import Scenario, set_path


def make_model(sc: Scenario, metric: str, strategy: str | None = None) -> Callable[[dict], float]:
    """f(values: key path -> number) -> metric, every other input at its mean."""
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


def tornado(sc: Scenario, metric: str = "total_spend", *, strategy: str | None = None, low: float = 0.1,
            high: float = 0.9) -> pd.DataFrame:
    """Swing each input from its ``low`` to its ``high`` quantile, others at their means; ranked."""
    inputs = varied_inputs(sc, strategy)
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

    inputs = varied_inputs(sc, strategy)
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

    inputs = varied_inputs(sc, strategy)
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
                 "strategy": strategy, "inputs": list(varied_inputs(sc, strategy))}
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
