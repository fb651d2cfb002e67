"""The demand fit (sim.calibrate.fit) recovers what the engine simulated, within its own intervals.

Round trip: the Monte Carlo engine simulates a workload with known persistence, day CV and growth
(sim.demand.daily); each path's daily requests are written as a generic period CSV, read back
and fitted; the fit's central 90 % posterior interval must hold the true value in about 90 % of
the paths. With 40 independent paths the share's standard error is √(0.9·0.1/40) = 0.047, so
the check is coverage ≥ 0.9 − 3·0.047 ≈ 0.76 (and, against bands that are merely wide, ≤ 1 with
the interval narrower than the prior's range). Volumes are 10⁹ a day, so the Poisson noise
(3·10⁻⁵) is negligible against the day shock.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.fit import PHI_GRID, FitError, fit_series
from sim.calibrate.formats import read
from sim.calibrate.series import daily
from sim.calibrate.scenario_out import forecast_scenario
from sim.catalog.prices import PriceBook
from sim.demand.daily import day_sigma
from sim.mc.engine import simulate_block
from sim.mc.sampling import draw, shape_points
from sim.mc.tables import build_tables
from tests.conftest import chat, make

PHI, CV, G, DAYS, PATHS = 0.5, 0.15, 0.004, 59, 40


def _simulated():
    sc = make([chat(sessions_per_user_per_day=100, turns=1)], horizon={"start": "2027-01", "months": 2},
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 1e7}, "intensity_sigma": 0.0,
                               "activity": {"weekly": [1] * 7}}],
              demand_noise={"day_cv": CV, "persistence": PHI, "growth_per_day": G})
    book = PriceBook(sc.price_date, sc.prices.overrides)
    tab = build_tables(sc, shape_points(sc, 1, True), book)
    out = simulate_block(sc, tab, draw(sc, np.arange(PATHS), 1), book, keep_daily=True)
    return out["daily_requests"][:, :DAYS, 0]


@pytest.fixture(scope="module")
def fits(tmp_path_factory):
    d = tmp_path_factory.mktemp("rt")
    req = _simulated()
    days = pd.date_range("2027-01-01", periods=DAYS, freq="D")
    out = []
    for p in range(PATHS):
        f = d / f"path{p}.csv"
        pd.DataFrame({"period_start": days.strftime("%Y-%m-%d"), "period_end": (days + pd.Timedelta(days=1)).strftime("%Y-%m-%d"),
                      "requests": req[p], "model": "m"}).to_csv(f, index=False)
        s = daily(read(f), None)[0]
        out.append(fit_series(s.values, seed=p))
    return out


def _coverage(fits, get, truth):
    inside = [np.quantile(get(f), 0.05) <= truth <= np.quantile(get(f), 0.95) for f in fits]
    return float(np.mean(inside))


def test_round_trip_recovers_persistence_trend_and_noise(fits):
    lo = 0.9 - 3 * math.sqrt(0.9 * 0.1 / PATHS)
    assert _coverage(fits, lambda f: f.phi, PHI) >= lo
    assert _coverage(fits, lambda f: f.trend, G) >= lo
    assert _coverage(fits, lambda f: f.sigma_u, day_sigma(CV)) >= lo
    # informative, not merely wide: φ's interval is well inside the prior's range
    width = np.mean([np.quantile(f.phi, 0.95) - np.quantile(f.phi, 0.05) for f in fits])
    assert width < 0.6 * (PHI_GRID[-1] - PHI_GRID[0])


def test_scenario_of_a_fit_validates_and_maps_the_level():
    import yaml

    from sim.scenario import load_scenario_text

    rng = np.random.default_rng(1)
    y = pd.Series(np.exp(10 + 0.01 * np.arange(20) + 0.05 * rng.standard_normal(20)),
                  index=pd.date_range("2026-01-01", periods=20, freq="D"))
    fit = fit_series(y)
    sc = load_scenario_text(yaml.safe_dump(forecast_scenario(fit)), file="<t>")
    rate = sc.workloads[0].sessions_per_user_per_day
    # the median rate is the level one day on, at the mean of the shock: exp(β₀ + β₁ + σ²/2)
    want = np.median(np.exp(fit.level + fit.trend + fit.sigma_u ** 2 / 2))
    assert np.median(rate.values) == pytest.approx(want, rel=0.02)
    assert len(sc.correlations) >= 1


def test_too_little_history():
    y = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2026-01-01", periods=3, freq="D"))
    with pytest.raises(FitError, match="at least 4 complete days"):
        fit_series(y)
    y5 = pd.Series([1.0, 2.0, 3.0, 2.0, 1.0], index=pd.date_range("2026-01-01", periods=5, freq="D"))
    f = fit_series(y5)
    assert any("too few for a trend" in w for w in f.warnings) and np.all(f.trend == 0)


def test_weekly_profile_round_trip():
    """A weekly profile simulated by the engine is fitted back (geometric-mean-1 form): the mean over
    20 paths lies within 4 standard errors (its sd across paths / √20) of the truth."""
    week = [1.2, 1.1, 1.0, 1.0, 0.9, 0.5, 0.4]
    sc = make([chat(sessions_per_user_per_day=100, turns=1)], horizon={"start": "2027-01", "months": 3},
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 1e7}, "intensity_sigma": 0.0,
                               "activity": {"weekly": week}}],
              demand_noise={"day_cv": 0.1, "persistence": 0.3})
    book = PriceBook(sc.price_date, sc.prices.overrides)
    tab = build_tables(sc, shape_points(sc, 1, True), book)
    req = simulate_block(sc, tab, draw(sc, np.arange(20), 1), book, keep_daily=True)["daily_requests"][:, :, 0]
    days = pd.date_range("2027-01-01", periods=req.shape[1], freq="D")
    est = np.array([np.exp(fit_series(pd.Series(req[p], index=days), seed=p).weekday) for p in range(20)])
    true = np.array(week) / np.exp(np.mean(np.log(week)))
    assert np.all(np.abs(est.mean(0) - true) < 4 * est.std(0, ddof=1) / math.sqrt(20) + 1e-9)


def test_cross_series_innovation_correlation_is_recovered():
    """Two workloads with their own AR(1) day shocks (φ 0.5 and 0.3, cv 0.15 and 0.2), each with
    innovations correlated √0.5 with the common ones, so with each other √0.5·√0.5 = 0.5 (derived in
    sim.scenario.noise). Written as one generic CSV with a model column per workload, read, fitted
    per group; the innovations' correlation over 59 days has SE ≈ (1 − ρ²)/√59 = 0.10 per path,
    0.10/√20 = 0.022 for the mean of 20 paths: the mean must be within 4 SE (plus 0.03 for the
    residuals' own estimation) of 0.5."""
    from sim.calibrate.calibrate import innovation_correlation, volume_series

    ws = [chat(name=n, sessions_per_user_per_day=100, turns=1,
               demand_noise={"day_cv": cv, "persistence": ph, "correlation": 0.5 ** 0.5})
          for n, cv, ph in (("a", 0.15, 0.5), ("b", 0.2, 0.3))]
    sc = make(ws, horizon={"start": "2027-01", "months": 2},
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 1e7}, "intensity_sigma": 0.0,
                               "activity": {"weekly": [1] * 7}}])
    book = PriceBook(sc.price_date, sc.prices.overrides)
    tab = build_tables(sc, shape_points(sc, 1, True), book)
    P = 20
    req = simulate_block(sc, tab, draw(sc, np.arange(P), 1), book, keep_daily=True)["daily_requests"][:, :DAYS]
    days = pd.date_range("2027-01-01", periods=DAYS, freq="D").strftime("%Y-%m-%d")
    est = []
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for p in range(P):
            f = f"{d}/p{p}.csv"
            pd.concat([pd.DataFrame({"period_start": days, "requests": req[p, :, j], "model": m})
                       for j, m in enumerate("ab")]).to_csv(f, index=False)
            series = volume_series(read(f), "model")
            est.append(innovation_correlation([fit_series(s.values, s.group, seed=p) for s in series])["correlation"])
    assert abs(np.mean(est) - 0.5) < 4 * 0.022 + 0.03
