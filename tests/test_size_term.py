"""Provisioned units over a contract term under uncertain demand (sim.studies.size_term).

Checked against: the single-stream sizing when every day is the sized day; an independent
day-by-day computation of each month's request-weighted share (no grid, no interpolation) where
the days' loads sit on the grid; the pay-go cost of zero units by hand (linear in the load);
monotonicity in units; the kernel's own demand on the sized day.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.catalog.prices import PriceBook
from sim.catalog.provisioned import profile, unit_seconds
from sim.cli import main
from sim.pools.queueing import BaselineLatency, latency, pool_waits, spill
from sim.studies.size import parse_objective, provisioned_server, size_trace
from sim.studies.size_term import GRID_POINTS, DemandFactors, demand_factors, size_over_term
from tests.conftest import chat, make, refusal
from tests.test_size import GSU, _trace

DATE = pd.Timestamp("2026-11-01").date()
BASE = BaselineLatency(decode_tok_s=250.0)


def _term(req, prof, obj, demand, queue_limit_s=1.0, term="1m"):
    server, pay, _ = provisioned_server(req, prof, term=term, queue_limit_s=queue_limit_s, base=BASE,
                                        price_date=DATE)
    return size_over_term(req, server, obj, demand, pay, term=term)


def _demand(daily, months=1):
    daily = np.asarray(daily, float)
    days = daily.shape[1]
    mo = np.repeat(np.arange(months), -(-days // months))[:days]
    return DemandFactors(daily, mo, [f"2027-{m + 1:02d}" for m in range(months)], 1.0, daily.shape[0])


def test_a_term_of_sized_days_is_the_single_stream_sizing():
    """Every day at factor 1: the pool alone breaches exactly below size_trace's smallest count, and
    each hybrid plan costs what size_trace's frontier says (a day's cost × 730/24)."""
    req = _trace(n=3000, hours=0.5)
    prof, obj = profile(GSU), [parse_objective("p99 ttft <= 1.2s")]
    one = size_trace(req, prof, obj, term="1m", queue_limit_s=0.5, base=BASE, price_date=DATE)
    ts = _term(req, prof, obj, _demand(np.ones((4, 30))), queue_limit_s=0.5)
    assert one.min_units_for_slo is not None and one.min_units_for_slo > 1
    for p in ts.plans:
        if p.units > 0:
            assert p.pool_p_breach == (1.0 if p.units < one.min_units_for_slo else 0.0), p.units
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy()
    fresh, out = req["input_tokens"].to_numpy(float), req["output_tokens"].to_numpy(float)
    us = unit_seconds(prof, fresh, np.zeros_like(fresh), out)
    card = PriceBook(DATE).card(prof.pay_go_model).base
    pay = (fresh * card.input + out * card.output) / 1e6
    hours = t[-1] / 3600 * t.size / (t.size - 1)
    assert len(ts.plans) >= 3
    for p in ts.plans:  # the plan as size_trace prices one: units at the term's price, spill per stream hour
        spilled, _ = spill(t, us, p.units, 0.5)
        want = p.units * prof.prices["1m"].usd_per_unit_month + pay[spilled].sum() / hours * 730
        assert p.hybrid_expected_cost_per_month == pytest.approx(want, rel=1e-9)
        assert p.hybrid_spill_share == pytest.approx(spilled.mean(), rel=1e-9, abs=1e-12)
    assert one.cheapest_plan.cost_per_month == pytest.approx(min(p.hybrid_expected_cost_per_month for p in ts.plans
                                                                 if p.hybrid_p_breach == 0.0), rel=1e-9)


def test_a_month_meets_a_percentile_by_its_request_weighted_share():
    """Days on the grid's points: P(breach) equals an independent computation that queues every day
    at its own load, weights each day's share of requests meeting the time by its requests, and
    breaches a path when some month's share falls below the percentile."""
    req = _trace(n=2000, hours=0.4, seed=3)
    prof, o = profile(GSU), parse_objective("p95 ttft <= 1.0s")
    grid = np.geomspace(1.0, 2.0, GRID_POINTS)
    rng = np.random.default_rng(7)
    level = rng.integers(0, GRID_POINTS, size=(40, 1))  # each path its own level, days around it
    k = np.clip(level + rng.integers(-2, 3, size=(40, 20)), 0, GRID_POINTS - 1)
    k[0, 0], k[0, 1] = 0, GRID_POINTS - 1  # the extremes set the grid: 1 and 2
    daily = grid[k]
    ts = _term(req, prof, [o], _demand(daily, months=2))
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy()
    fresh, out = req["input_tokens"].to_numpy(float), req["output_tokens"].to_numpy(float)
    us = unit_seconds(prof, fresh, np.zeros_like(fresh), out)
    mo = _demand(daily, months=2).month_of_day
    for u in (1, 2, 3, 4, 5):
        share = {}
        for f in np.unique(daily):
            ttft, _ = latency(t, fresh, out, pool_waits(t / f, us, u), BASE)
            share[f] = np.mean(ttft <= o.seconds)
        s = np.vectorize(share.get)(daily)
        month_share = np.stack([(s * daily)[:, mo == m].sum(1) / daily[:, mo == m].sum(1) for m in (0, 1)], 1)
        want = np.mean(np.any(month_share < 0.95, axis=1))
        got = next(p for p in ts.plans if p.units == u).pool_p_breach
        assert got == pytest.approx(want, abs=1e-12), u
    assert any(0 < p.pool_p_breach < 1 for p in ts.plans)  # the case is not trivial


def test_zero_units_cost_the_mean_load_at_pay_go():
    """All requests spill at zero units: a day at load f costs f × the stream's pay-go cost × 24 /
    its hours, so the expected month is mean(f) × cost per stream hour × 730, by hand."""
    req = _trace(n=1500, hours=0.3, seed=5)
    prof = profile(GSU)
    rng = np.random.default_rng(2)
    daily = np.exp(0.3 * rng.standard_normal((25, 31)))
    ts = _term(req, prof, [parse_objective("p99 ttft <= 3s")], _demand(daily))
    card = PriceBook(DATE).card(prof.pay_go_model).base
    fresh, out = req["input_tokens"].to_numpy(float), req["output_tokens"].to_numpy(float)
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy()
    hours = t[-1] / 3600 * t.size / (t.size - 1)
    per_hour = ((fresh * card.input + out * card.output) / 1e6).sum() / hours
    zero = ts.plans[0]
    assert zero.units == 0 and zero.hybrid_spill_share == 1.0
    assert zero.hybrid_expected_cost_per_month == pytest.approx(daily.mean() * per_hour * 730, rel=1e-9)
    pool = [p.pool_p_breach for p in ts.plans if p.units > 0]
    assert all(a >= b for a, b in zip(pool, pool[1:]))  # more units never raise the breach probability
    assert pool[-1] <= ts.target


def test_the_kernel_demand_on_the_sized_day_is_one_on_average():
    """Factors are the kernel's requests over its deterministic requests on the DES day: their mean
    over paths on that day is 1 within 4 standard errors, and the months split the term's days."""
    sc = make([chat(name="c", sessions_per_user_per_day=4, turns=3, models={"api": "google/gemini-2.5-flash-lite"})],
              horizon={"start": "2027-01", "months": 3},
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 400}, "intensity_sigma": 0.0}])
    d = demand_factors(sc, "c", "2027-01-12", 0, 2, 120)
    x = d.daily[:, 11]
    assert abs(x.mean() - 1.0) < 4 * x.std(ddof=1) / np.sqrt(x.size)
    assert d.daily.shape == (120, 59) and d.months == ["2027-01", "2027-02"]
    assert (d.month_of_day == 0).sum() == 31 and (d.month_of_day == 1).sum() == 28


def _scenario_file(tmp_path):
    import yaml

    sc = make([chat(name="c", sessions_per_user_per_day=4, turns=3, models={"api": "google/gemini-2.5-flash-lite"})],
              horizon={"start": "2027-01", "months": 4}, paths=60,
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 400}, "intensity_sigma": 0.0}])
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(sc.model_dump(mode="json", exclude_none=True), sort_keys=False))
    return f


def test_size_and_commit_search_over_the_term(capsys, tmp_path):
    """``size SCENARIO --term 3m`` gives ``over_term``; ``commit --provisioned`` adds the counts it puts
    forward as options, priced at the profile's unit-month, and reports the search."""
    f = _scenario_file(tmp_path)
    args = ["--workload", "c", "--slo", "p99 ttft <= 1.5s", "--term", "3m", "--paths", "60", "--decode-tok-s", "250"]
    assert main(["size", str(f), "--profile", GSU, *args, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    ot = r["over_term"]
    assert ot["term"] == "3m" and ot["demand"]["months"] == ["2027-01", "2027-02", "2027-03"]
    assert ot["recommended"] is not None and ot["recommended"]["p_breach"] <= 0.05
    assert {"provisioned", "hybrid", "units"} <= set(ot["plans"][0])
    assert main(["commit", str(f), "--provisioned", GSU, *args, "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    opts = c["provisioned_search"]["options"]
    assert opts and all(o["units"] > 0 for o in opts)
    names = {o["strategy"] for o in c["options"]}
    assert {o["strategy"] for o in opts} <= names and "pay_as_you_go" in names
    from sim.catalog.provisioned import cost_per_month

    c_opts = {o["strategy"]: o for o in c["options"]}
    for o in opts:  # each searched option: its units at the profile's price a unit-month, over the 3-month term
        assert c_opts[o["strategy"]]["commit"] == {"vertex_gsu": o["units"]}
        ot = next(p for p in r["over_term"]["plans"] if p["units"] == o["units"])
        assert ot["units_cost_per_month"] == pytest.approx(cost_per_month(profile(GSU), o["units"], "3m"), abs=0.01)
    assert c_opts["pay_as_you_go"]["expected_overage_cost"] == 0.0  # a contract of no units bills no overage
    assert main(["commit", str(f), "--paths", "60", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert c_opts["pay_as_you_go"]["expected_cost"] == pytest.approx(
        next(o for o in plain["options"] if o["strategy"] in ("pay_as_you_go", "base"))["expected_cost"], rel=1e-12)
    m = refusal(["commit", str(f), "--provisioned", "vertex/gemini-2.5-flash", *args], capsys, "usage")
    assert "serves gemini-2.5-flash, but c calls google/gemini-2.5-flash-lite" in m[0]
    m = refusal(["commit", str(f), "--workload", "c"], capsys, "usage")
    assert "--provisioned" in m[0]
    m = refusal(["size", str(f), "--profile", GSU, "--workload", "c", "--slo", "p99 ttft <= 2s", "--term", "1y"],
                capsys, "usage")
    assert "past the scenario's horizon" in m[0]
    m = refusal(["commit", str(f), "--provisioned", GSU, *args[:2], "--slo", "p99 tpot <= 20ms"], capsys, "usage")
    assert "tpot objectives are for --pool owned|neocloud" in m[0]
    m = refusal(["size", str(f), "--profile", "bedrock/model-unit", "--workload", "c", "--slo", "p99 ttft <= 2s",
                 "--term", "1m"], capsys, "usage")
    assert all(flag in m[0] for flag in ("--unit-input-tpm", "--unit-output-tpm", "--unit-price-hour"))


def test_the_simulated_stream_counts_reasoning_once():
    """The DES's output column already holds the reasoning tokens: the stream's output is it, and
    its reasoning tokens are the part of it the DES marks as reasoning."""
    from sim.des.simulation import run_des
    from sim.studies.size import scenario_requests

    sc = make([chat(name="c", sessions_per_user_per_day=2, turns=2, reasoning_multiplier=2.0,
                    models={"api": "google/gemini-2.5-flash-lite"})], horizon={"start": "2027-01", "months": 2},
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 100}, "intensity_sigma": 0.0}])
    req, _ = scenario_requests(sc, "c")
    r = run_des(sc, peak=True).requests
    r = r[(r["workload"] == "c") & (r["pool"] == "api") & (r["outcome"] != "error") & ~r["batch"]]
    assert req["output_tokens"].sum() == pytest.approx(r["output"].sum())
    assert 0 < req["reasoning_tokens"].sum() < req["output_tokens"].sum()


def test_only_the_api_share_of_demand_scales_the_stream():
    """The agent moves to owned GPUs when they arrive (month 3): from then on its API requests in
    the kernel, and so its load factors, are the API share of its demand — by path and month, as
    the Monte Carlo results' requests by pool say."""
    from sim.mc.runner import run
    from sim.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "examples" / "coding_agent_owned.yaml")
    d = demand_factors(sc, "agent", "2027-01-04", 0, 6, 20)
    ds, _ = run(sc.model_copy(update={"strategies": [], "sweeps": []}), paths=20, daily=True)
    req = ds["requests"].isel(strategy=0).sel(workload="agent")
    share = (req.sel(pool="api") / req.sum("pool")).to_numpy()  # (paths, months)
    daily = ds["daily_requests"].isel(strategy=0).sel(workload="agent").to_numpy()
    for m in range(6):
        days = d.month_of_day == m
        want = daily[:, :days.size][:, days] * share[:, [m]] / d.reference_requests
        np.testing.assert_allclose(d.daily[:, days], want, rtol=1e-6)  # the results hold float32
    assert share[:, 0].min() > 0.99 and share[:, 5].max() < share[:, 0].min()  # the owned GPUs took demand


def test_pay_go_follows_the_price_trend_over_the_term():
    """A month's spilled requests at its expected list price: zero units cost mean over days of
    f × that month's price multiplier × the stream's pay-go per hour × 730."""
    req = _trace(n=1500, hours=0.3, seed=5)
    prof = profile(GSU)
    daily = np.exp(0.2 * np.random.default_rng(3).standard_normal((10, 59)))
    dem = _demand(daily, months=2)
    dem = DemandFactors(dem.daily, dem.month_of_day, dem.months, 1.0, 10, np.array([1.0, 0.5]))
    ts = _term(req, prof, [parse_objective("p99 ttft <= 3s")], dem)
    card = PriceBook(DATE).card(prof.pay_go_model).base
    fresh, out = req["input_tokens"].to_numpy(float), req["output_tokens"].to_numpy(float)
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy()
    per_hour = ((fresh * card.input + out * card.output) / 1e6).sum() / (t[-1] / 3600 * t.size / (t.size - 1))
    price = np.array([1.0, 0.5])[dem.month_of_day]
    assert ts.plans[0].hybrid_expected_cost_per_month == pytest.approx((daily * price).mean() * per_hour * 730,
                                                                       rel=1e-9)
