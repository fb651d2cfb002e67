"""The day-level demand model (sim.demand.daily): persistent AR(1) day shock, drift, anchored start.

Checked against the closed forms in sim/demand/daily.py, derived by hand there: the stationary
log shock has variance σ² = ln(1 + cv²) and lag-1 autocorrelation φ; started from a day δ above its
mean, E[shock_d] = exp(φ^k·x₋₁ − σ²φ^(2k)/2) with x₋₁ = δ + σ²/2, k = d + 1; drift multiplies day d
by exp(g·d). Volumes are 10⁹ sessions a day so Poisson noise (relative 3·10⁻⁵) is negligible
against the shock.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.catalog.prices import PriceBook
from sim.demand.daily import day_sigma, mean_day_factors, mean_shock
from sim.des.simulation import run_des
from sim.expected.forecast import run_expected
from sim.mc.engine import simulate_block
from sim.mc.runner import run
from sim.mc.sampling import draw, shape_points
from sim.mc.tables import build_tables
from sim.scenario import ScenarioError
from tests.conftest import chat, make

LAM = 1e9  # sessions a day: 1e7 users × 100 sessions


def _sc(months=2, **noise):
    w = [chat(sessions_per_user_per_day=100, turns=1)]
    return make(w, horizon={"start": "2027-01", "months": months},
                business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 1e7}, "intensity_sigma": 0.0,
                                 "activity": {"weekly": [1, 1, 1, 1, 1, 1, 1]}}],
                demand_noise=noise)


def _daily(sc, paths=2000):
    book = PriceBook(sc.price_date, sc.prices.overrides)
    tab = build_tables(sc, shape_points(sc, 1, True), book)
    out = simulate_block(sc, tab, draw(sc, np.arange(paths), 1), book, keep_daily=True)
    return out["daily_sessions"][:, :, 0], out


def test_stationary_shock_has_its_variance_and_persistence():
    cv, phi = 0.2, 0.6
    n, _ = _daily(_sc(day_cv=cv, persistence=phi))
    x = np.log(n / LAM)  # the log shock minus σ²/2, plus Poisson noise of relative size 3e-5
    s2 = math.log1p(cv * cv)
    P, D = x.shape
    # mean of x: −σ²/2; its SE is σ·√((1+φ)/(1−φ)/(P·D)) for AR(1) series, P independent paths
    se = math.sqrt(s2 * (1 + phi) / (1 - phi) / (P * D))
    assert abs(x.mean() + s2 / 2) < 4 * se
    # variance per day across paths (P independent draws): SE of a variance ≈ σ²·√(2/P)
    assert abs(x[:, 30].var() - s2) < 4 * s2 * math.sqrt(2 / P)
    # lag-1 correlation across paths at a fixed day: SE ≈ (1 − φ²)/√P
    r = np.corrcoef(x[:, 29], x[:, 30])[0, 1]
    assert abs(r - phi) < 4 * (1 - phi * phi) / math.sqrt(P)
    # and the shock's mean is 1: sessions average λ (SE of the mean over paths at one day)
    assert abs(n[:, 30].mean() / LAM - 1) < 4 * math.sqrt(math.expm1(s2) / P)


def test_zero_persistence_gives_the_bytes_of_the_independent_shock():
    # φ = 0 with a stationary start draws x = σ·ε exactly as the kernel did before the AR(1)
    a, _ = _daily(_sc(day_cv=0.3), paths=50)
    b, _ = _daily(_sc(day_cv=0.3, persistence=0.0), paths=50)
    assert a.tobytes() == b.tobytes()
    x = np.log(a / LAM)
    assert abs(np.corrcoef(x[:, :-1].ravel(), x[:, 1:].ravel())[0, 1]) < 4 / math.sqrt(x.size)


def test_anchored_start_decays_to_the_mean_as_derived():
    cv, phi, dev = 0.15, 0.7, 0.3
    n, _ = _daily(_sc(months=1, day_cv=cv, persistence=phi, start_deviation=dev), paths=4000)
    s = day_sigma(cv)
    P = n.shape[0]
    for d in (0, 1, 4, 20):
        want = float(mean_shock(phi, s, dev, d + 1.0))
        # SE of a mean of lognormals: the conditional variance of x_d is σ²(1 − φ^(2k))
        v = s * s * (1 - phi ** (2 * (d + 1)))
        se = want * math.sqrt(math.expm1(v) / P)
        assert abs(n[:, d].mean() / LAM - want) < 4 * se + 1e-4
    # day 0's log shock: mean φ·x₋₁ − σ²/2 (x₋₁ = δ + σ²/2)
    x0 = np.log(n[:, 0] / LAM)
    assert abs(x0.mean() - (phi * (dev + s * s / 2) - s * s / 2)) < 4 * s * math.sqrt((1 - phi ** 2) / P)


def test_mean_shock_closed_form_by_hand():
    # k = 0 is the anchored day itself: e^δ; φ = 0: the next day is stationary, mean 1
    assert mean_shock(0.5, 0.2, 0.1, 0.0) == pytest.approx(math.exp(0.1), rel=1e-15)
    assert mean_shock(0.0, 0.2, 0.1, 1.0) == pytest.approx(1.0, rel=1e-15)
    # φ = 0.5, σ = 0.2, δ = 0.1, k = 1: x₋₁ = 0.12, exp(0.5·0.12 − 0.02·0.25) = exp(0.055)
    assert mean_shock(0.5, 0.2, 0.1, 1.0) == pytest.approx(math.exp(0.055), rel=1e-14)


def test_growth_and_anchor_same_in_deterministic_kernel_expected_engine_and_des():
    sc = _sc(months=3, day_cv=0.2, persistence=0.5, growth_per_day=0.004, start_deviation=-0.2)
    ds, _ = run(sc, paths=1, deterministic=True)
    fc = run_expected(sc)
    assert float(ds["spend"].sum()) == pytest.approx(fc.total(), rel=1e-9)
    assert np.allclose(ds["spend"].isel(strategy=0, path=0).sum(["pool", "workload"]).values,
                       fc.monthly_total().values, rtol=1e-9)
    # by hand: month 0 (31 days) holds λ·Σ_d exp(g·d)·E[shock_d]
    f = mean_day_factors(sc.demand_noise, 31)
    d = np.arange(31.0)
    s = day_sigma(0.2)
    by_hand = np.exp(0.004 * d) * np.exp(0.5 ** (d + 1) * (-0.2 + s * s / 2) - s * s / 2 * 0.25 ** (d + 1))
    assert np.allclose(f, by_hand, rtol=1e-13)
    got = float(ds["demand_sessions"].isel(strategy=0, path=0, month=0).sum())
    assert got == pytest.approx(LAM * by_hand.sum(), rel=1e-6)  # float32 storage
    # the DES draws sessions around the same mean on the month's 10th day
    small = _sc(months=1, growth_per_day=0.004, start_deviation=-0.2, persistence=0.5, day_cv=0.2)
    small.business_units[0].users.ceiling = 50.0
    r = run_des(small, days=1, start_month=0, seed=3, keep_requests=False)
    assert r.summary["expected_sessions"]["c"] == pytest.approx(50 * 100 * by_hand[0], rel=1e-12)


def test_growth_over_the_horizon_is_bounded_with_a_located_message():
    with pytest.raises(ScenarioError) as e:
        _sc(months=60, growth_per_day=0.01)
    msg = str(e.value)
    assert "demand_noise.growth_per_day" in msg and "e^18.3" in msg


@pytest.mark.parametrize("noise, where", [
    ({"persistence": 1.0}, "demand_noise.persistence"),
    ({"growth_per_day": 0.06}, "demand_noise.growth_per_day"),
    ({"start_deviation": {"dist": "normal", "mean": 0, "sd": 1}}, "demand_noise.start_deviation"),
])
def test_out_of_range_demand_noise_is_refused(noise, where):
    with pytest.raises(ScenarioError) as e:
        _sc(**noise)
    assert where in str(e.value)


def test_run_daily_keeps_days_that_sum_to_the_months(tmp_path):
    import xarray as xr

    sc = _sc(months=2, day_cv=0.2, persistence=0.4)
    plain, _ = run(sc, paths=30, out=tmp_path / "a", zarr=True)
    daily, _ = run(sc, paths=30, out=tmp_path / "b", zarr=True, daily=True)
    a = xr.open_zarr(tmp_path / "a" / "results.zarr")
    b = xr.open_zarr(tmp_path / "b" / "results.zarr")
    assert "daily_sessions" not in a and b["daily_sessions"].dims == ("strategy", "path", "day", "workload")
    assert b.sizes["day"] == 59 and str(b["day"].values[0])[:10] == "2027-01-01"
    for v in a.data_vars:  # keeping days changes nothing else, byte for byte
        assert a[v].values.tobytes() == b[v].values.tobytes(), v
    months = b["daily_sessions"].isel(strategy=0, workload=0).astype(float)
    per_month = months.groupby(months["day"].dt.month).sum().transpose("path", "month").values
    want = b["demand_sessions"].isel(strategy=0, workload=0).astype(float).values
    assert np.allclose(per_month, want, rtol=1e-6)  # float32 storage of each
    assert float(b["daily_requests"].sum()) == pytest.approx(float(b["daily_sessions"].sum()), rel=1e-6)  # 1 call


# ---- a workload's own day shock (sim.scenario.noise.WorkloadNoise) ------------------------------

def _two(noise_a=None, noise_b=None, months=2, **common):
    ws = [chat(name="a", sessions_per_user_per_day=100, turns=1), chat(name="b", sessions_per_user_per_day=100, turns=1)]
    for w, n in zip(ws, (noise_a, noise_b)):
        if n is not None:
            w["demand_noise"] = n
    return make(ws, horizon={"start": "2027-01", "months": months},
                business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 1e7}, "intensity_sigma": 0.0,
                                 "activity": {"weekly": [1, 1, 1, 1, 1, 1, 1]}}],
                demand_noise=common)


def _daily_all(sc, paths):
    book = PriceBook(sc.price_date, sc.prices.overrides)
    tab = build_tables(sc, shape_points(sc, 1, True), book)
    return simulate_block(sc, tab, draw(sc, np.arange(paths), 1), book, keep_daily=True)["daily_sessions"]


def test_own_noise_equal_to_the_common_one_with_correlation_one_gives_the_same_bytes():
    # ε_w = √1·ε + √0·η and the same σ, φ: the workload's x is the common x, draw for draw
    common = {"day_cv": 0.25, "persistence": 0.6}
    a = _daily_all(_two(**common), 40)
    b = _daily_all(_two({**common, "correlation": 1.0}, {**common, "correlation": 1.0}, **common), 40)
    assert a.tobytes() == b.tobytes()


def test_own_shocks_have_their_own_sigma_persistence_and_the_derived_correlation():
    # stationary AR(1) x_w with innovations ρ_w·ε + √(1 − ρ_w²)·η_w: var x_w = σ_w², lag-1 corr φ_w, and
    # at equal φ the cross-correlation of x_a, x_b is that of the innovations, ρ_a·ρ_b
    ca, cb, phi, ra, rb = 0.3, 0.1, 0.5, 0.9, 0.6
    n = _daily_all(_two({"day_cv": ca, "persistence": phi, "correlation": ra},
                        {"day_cv": cb, "persistence": phi, "correlation": rb}, day_cv=0.2), 4000)
    x = np.log(n / LAM)
    P = x.shape[0]
    for j, cv in ((0, ca), (1, cb)):
        s2 = math.log1p(cv * cv)
        assert abs(x[:, 30, j].var() - s2) < 4 * s2 * math.sqrt(2 / P)
        r = np.corrcoef(x[:, 29, j], x[:, 30, j])[0, 1]
        assert abs(r - phi) < 4 * (1 - phi * phi) / math.sqrt(P)
    want = ra * rb  # 0.54; SE of a correlation ≈ (1 − ρ²)/√P
    got = np.corrcoef(x[:, 30, 0], x[:, 30, 1])[0, 1]
    assert abs(got - want) < 4 * (1 - want * want) / math.sqrt(P)
    # with the common shock itself (workload b follows it): ρ at equal φ and a stationary start
    n1 = _daily_all(_two({"day_cv": ca, "correlation": 0.6}, None, day_cv=0.2), 4000)
    x1 = np.log(n1 / LAM)
    assert abs(np.corrcoef(x1[:, 10, 0], x1[:, 10, 1])[0, 1] - 0.6) < 4 * (1 - 0.36) / math.sqrt(P)
    # correlation 0: independent of each other and of the common shock
    n0 = _daily_all(_two({"day_cv": ca, "correlation": 0.0}, None, day_cv=0.3), 4000)
    x0 = np.log(n0 / LAM)
    assert abs(np.corrcoef(x0[:, 10, 0], x0[:, 10, 1])[0, 1]) < 4 / math.sqrt(P)


def test_own_growth_and_anchor_same_in_deterministic_kernel_expected_engine_and_des():
    own = {"day_cv": 0.3, "persistence": 0.7, "growth_per_day": -0.006, "start_deviation": 0.25}
    sc = _two(own, None, months=2, day_cv=0.2, persistence=0.5, growth_per_day=0.004, start_deviation=-0.2)
    ds, _ = run(sc, paths=1, deterministic=True)
    fc = run_expected(sc)
    assert float(ds["spend"].sum()) == pytest.approx(fc.total(), rel=1e-9)
    d = np.arange(31.0)
    sa, sb = day_sigma(0.3), day_sigma(0.2)
    hand_a = np.exp(-0.006 * d) * np.exp(0.7 ** (d + 1) * (0.25 + sa * sa / 2) - sa * sa / 2 * 0.49 ** (d + 1))
    hand_b = np.exp(0.004 * d) * np.exp(0.5 ** (d + 1) * (-0.2 + sb * sb / 2) - sb * sb / 2 * 0.25 ** (d + 1))
    got = ds["demand_sessions"].isel(strategy=0, path=0, month=0)
    assert float(got.sel(workload="a")) == pytest.approx(LAM * hand_a.sum(), rel=1e-6)
    assert float(got.sel(workload="b")) == pytest.approx(LAM * hand_b.sum(), rel=1e-6)
    small = _two(own, None, months=1, day_cv=0.2, persistence=0.5, growth_per_day=0.004, start_deviation=-0.2)
    small.business_units[0].users.ceiling = 50.0
    r = run_des(small, days=1, start_month=0, seed=3, keep_requests=False)
    assert r.summary["expected_sessions"]["a"] == pytest.approx(50 * 100 * hand_a[0], rel=1e-12)
    assert r.summary["expected_sessions"]["b"] == pytest.approx(50 * 100 * hand_b[0], rel=1e-12)


def test_own_growth_over_the_horizon_is_bounded_at_its_key_path():
    with pytest.raises(ScenarioError) as e:
        _two({"growth_per_day": 0.01}, None, months=60)
    assert "workloads[0].demand_noise.growth_per_day" in str(e.value)
