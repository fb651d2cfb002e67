"""Outcomes and value against a portfolio worked by hand (issue 13: cost per outcome, ROI, ranking).

The portfolio (tests.conftest BASE: February 2027, 28 days, always-on, 100 users): one chat of one
turn, 10 sessions a user a day → V = 100 × 10 × 28 = 28,000 tickets. A session is 600 input and 200
output tokens; the frontier model acme/m1 costs $2/$8 per MTok → $0.0028 a session, $78.40; the
cheap model acme/m2 $1/$4 → $0.0014, $39.20.

A ticket is worth $2; a human resolves one the AI fails for $0.50.

- frontier (95 %): AI 26,600; failures 1,400 → fallback $700; cost $778.40; outcomes 28,000;
  cost per outcome $0.0278; value $56,000; net $55,221.60.
- cheap (70 %): AI 19,600; failures 8,400 → fallback $4,200; cost $4,239.20; cost per outcome
  $0.1514; net $51,760.80. Half the spend, six times the cost per outcome.
- cascade (cheap first, its failures escalate: e = 1 − 0.70 = 0.30): spend $39.20 + 0.3 × $78.40
  = $62.72; P = 0.70 + 0.30 × 0.95 = 0.985 → failures 420, fallback $210; cost $272.72; per
  outcome $0.00974; net $55,727.28.

So by net value: cascade > frontier > cheap; by cost per outcome the same order.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.expected.forecast import run_expected
from sim.mc.runner import run
from sim.scenario import ScenarioError
from tests.conftest import chat, make

V = 28_000.0
OUTCOME = {"name": "ticket resolved", "unit": "ticket", "success": {"acme/m1": 0.95, "acme/m2": 0.70},
           "value": 2.0, "human_fallback_cost": 0.5}
STRATEGIES = [{"name": "frontier"},
              {"name": "cheap", "set": {"workloads.c.models.api": "acme/m2"}},
              {"name": "cascade", "set": {"workloads.c.levers.routing": {"enabled": True, "cheap_model": "acme/m2"}}}]
HAND = {  # spend, AI outcomes, outcomes, fallback, cost, value, net
    "frontier": (78.40, 26_600, V, 700.0, 778.40, 56_000.0, 55_221.60),
    "cheap": (39.20, 19_600, V, 4_200.0, 4_239.20, 56_000.0, 51_760.80),
    "cascade": (62.72, 27_580, V, 210.0, 272.72, 56_000.0, 55_727.28),
}


def portfolio(outcome=OUTCOME, strategies=STRATEGIES):
    return make([chat(outcome=outcome)], strategies=strategies)


@pytest.mark.parametrize("strategy", list(HAND))
def test_expected_engine_matches_the_hand_calculation(strategy):
    fc = run_expected(portfolio(), strategy)
    spend, ai, outcomes, fallback, cost, value, net = HAND[strategy]
    o = fc.outcomes.iloc[0]
    assert fc.lines["spend"].sum() == pytest.approx(spend, abs=1e-9)
    assert o["work_units"] == pytest.approx(V)
    assert o["ai_outcomes"] == pytest.approx(ai)
    assert o["outcomes"] == pytest.approx(outcomes)
    assert o["fallback_cost"] == pytest.approx(fallback)
    assert o["outcome_cost"] == pytest.approx(cost)
    assert o["value"] == pytest.approx(value)
    assert o["net_value"] == pytest.approx(net)


def test_monte_carlo_in_mean_mode_matches_and_ranks_as_the_hand_calculation():
    from sim.analysis.outcomes import outcome_table, strategy_ranking

    ds, _ = run(portfolio(), paths=2, deterministic=True)
    t = outcome_table(ds).set_index("strategy")
    for s, (spend, ai, outcomes, fallback, cost, value, net) in HAND.items():
        assert t.loc[s, "spend"] == pytest.approx(spend, rel=1e-6)
        assert t.loc[s, "ai_outcomes"] == pytest.approx(ai, rel=1e-6)
        assert t.loc[s, "cost"] == pytest.approx(cost, rel=1e-6)
        assert t.loc[s, "net_value"] == pytest.approx(net, rel=1e-6)
        assert t.loc[s, "cost_per_outcome"] == pytest.approx(cost / outcomes, rel=1e-6)
        assert t.loc[s, "roi"] == pytest.approx(net / cost, rel=1e-6)
        assert float(ds["cost_per_outcome"].sel(strategy=s).max()) == pytest.approx(cost / outcomes, rel=1e-6)
    assert list(strategy_ranking(ds)["strategy"]) == ["cascade", "frontier", "cheap"]
    assert t["rank_cost_per_outcome"].to_dict() == {"frontier": 2, "cheap": 3, "cascade": 1}


def test_compare_ranks_strategies_of_one_scenario(capsys):
    from sim.cli import main

    path = make_file(portfolio())
    assert main(["compare", str(path), "--paths", "20", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [x["strategy"] for x in r["strategies"]] == ["cascade", "frontier", "cheap"]
    by = {x["strategy"]: x for x in r["strategies"]}
    # Poisson demand: 28,000 tickets a path with sd √28,000 ≈ 167; the hand ratios hold per path
    # because every cost is proportional to the tickets (0.6 % of a path's count at 20 paths)
    for s, (spend, ai, outcomes, fallback, cost, value, net) in HAND.items():
        assert by[s]["cost_per_outcome"]["c"] == pytest.approx(cost / outcomes, rel=0.01)
        assert set(by[s]) >= {"outcomes", "value", "cost_per_outcome", "net_value"}
    assert r["by_cost_per_outcome"]["c"] == ["cascade", "frontier", "cheap"]
    assert "cascade is the cheapest per outcome" in r["answer"]


def test_compare_two_results_carries_the_outcome_keys_per_side(tmp_path, capsys):
    from sim.cli import main

    path = make_file(portfolio())
    out = tmp_path / "r"
    assert main(["run", str(path), "--paths", "10", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["compare", str(out), str(out), "--strategy-a", "cheap", "--strategy-b", "frontier", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    for side in ("a", "b"):
        assert set(r[side]) >= {"outcomes", "value", "cost_per_outcome", "net_value"}
    assert r["ranking"][0]["strategy"] == "frontier"
    d = {x["metric"]: x for x in r["table"]}["cost_per_outcome:c"]
    assert d["mean_a"] == pytest.approx(4_239.20 / V, rel=0.01) and d["mean_b"] == pytest.approx(778.40 / V, rel=0.01)
    assert d["p_b_lower"] == 1.0  # paired paths: frontier is cheaper per outcome on every one


def test_without_a_fallback_failures_are_lost_and_review_is_paid_on_every_ticket():
    o = {**OUTCOME, "review_cost": 0.01}
    del o["human_fallback_cost"]
    fc = run_expected(portfolio(o, [{"name": "frontier"}]), "frontier")
    r = fc.outcomes.iloc[0]
    assert r["outcomes"] == pytest.approx(26_600)
    assert r["fallback_cost"] == 0.0
    assert r["review_cost"] == pytest.approx(280.0)  # 28,000 × $0.01
    assert r["outcome_cost"] == pytest.approx(78.40 + 280.0)
    assert r["value"] == pytest.approx(53_200.0)


def test_an_explicit_escalation_share_bills_and_scores_as_written():
    # e = 0.1 < 1 − p_cheap: only a third of the failures escalate; P = 0.7 + 0.1 × 0.95 = 0.795
    st_ = [{"name": "cascade", "set": {"workloads.c.levers.routing": {"enabled": True, "cheap_model": "acme/m2",
                                                                        "escalation_probability": 0.1}}}]
    fc = run_expected(portfolio(strategies=st_), "cascade")
    assert fc.lines["spend"].sum() == pytest.approx(39.20 + 0.1 * 78.40)
    assert fc.outcomes.iloc[0]["ai_outcomes"] == pytest.approx(V * 0.795)


def test_uncertain_success_and_value_are_drawn_per_path():
    o = {**OUTCOME, "success": {"dist": "uniform", "low": 0.9, "high": 1.0},
         "value": {"dist": "uniform", "low": 1.0, "high": 3.0}}
    ds, _ = run(portfolio(o, [{"name": "frontier"}]), paths=400)
    x = ds.sel(strategy="frontier", outcome_workload="c").sum("month")
    rate = (x["ai_outcomes"] / x["work_units"]).values
    assert rate.min() >= 0.9 - 1e-6 and rate.max() <= 1.0 + 1e-6
    assert rate.std() > 0.02  # uniform(0.9, 1) has sd 0.029: drawn per path, not a mean
    # value per outcome = value / outcomes; its mean over paths is the uniform's mean, 2, within 3 se
    per = (x["value"] / x["outcomes"]).values
    assert abs(per.mean() - 2.0) < 3 * (2 / np.sqrt(12)) / np.sqrt(per.size)


def test_a_model_without_a_success_probability_is_refused_with_its_key_path():
    with pytest.raises(ScenarioError) as e:
        make([chat(outcome={**OUTCOME, "success": {"acme/m2": 0.7}})])
    msg = str(e.value)
    assert "outcome.success" in msg and "'acme/m1'" in msg, msg


def test_a_strategy_may_not_remove_an_outcome():
    with pytest.raises(ScenarioError) as e:
        portfolio(strategies=[{"name": "x", "set": {"workloads.c.outcome": None}}])
    assert "outcome" in str(e.value)


def amounts(hi):  # the scenario refuses amounts below 1e-12 that are not 0 (sim.scenario.types)
    return st.one_of(st.just(0.0), st.floats(1e-6, hi))


@settings(max_examples=60, deadline=None)
@given(p=amounts(1.0), fallback=amounts(50), review=amounts(5), value=amounts(100), spend=st.floats(0, 1e4),
       n=st.floats(1, 1e6))
def test_accounting_invariants(p, fallback, review, value, spend, n):
    """outcomes ≤ units; cost = spend + fallback + review; a dearer fallback never lowers the cost."""
    from sim.pools.outcomes import settle_outcomes
    from sim.pools.valuation import MeanValues

    sc = make([chat(outcome={"name": "x", "success": p, "value": value, "human_fallback_cost": fallback,
                             "review_cost": review})], checks=False)
    w = sc.token_workloads[0]
    r = settle_outcomes(w, {"api": np.array([n])}, np.array([0.0]), np.array([spend]), MeanValues())
    assert r.ai_outcomes[0] <= r.units[0] * (1 + 1e-12)
    assert r.cost[0] == pytest.approx(spend + fallback * n * (1 - p) + review * n, rel=1e-9, abs=1e-9)
    w2 = w.model_copy(update={"outcome": w.outcome.model_copy(update={"human_fallback_cost": fallback + 1.0})})
    r2 = settle_outcomes(w2, {"api": np.array([n])}, np.array([0.0]), np.array([spend]), MeanValues())
    assert r2.cost[0] >= r.cost[0]


def make_file(sc):
    """The scenario as a YAML file the CLI reads."""
    import tempfile
    from pathlib import Path

    import yaml

    d = Path(tempfile.mkdtemp())
    p = d / "portfolio.yaml"
    p.write_text(yaml.safe_dump(sc.model_dump(mode="json", exclude_unset=True), sort_keys=False))
    return p


def test_the_size_of_a_run_counts_the_outcome_variables():
    """``bytes_per_path`` (the memory refusals' arithmetic) is the results' real size, outcomes included."""
    from sim.mc.runner import bytes_per_path

    sc = portfolio()
    ds, _ = run(sc, paths=3, deterministic=True)
    held = sum(v.nbytes for k, v in ds.data_vars.items() if not k.startswith("input:"))
    assert "cost_per_outcome" in ds and held == 3 * bytes_per_path(sc)


def test_sensitivity_of_cost_per_outcome_by_hand():
    """Tornado on cost per outcome: the cheap strategy pays (39.20 + 8,400·f) / 28,000 a ticket, f the
    fallback cost; uniform(0.4, 0.6) has P10 0.42 and P90 0.58."""
    from sim.studies.sensitivity import tornado

    o = {**OUTCOME, "human_fallback_cost": {"dist": "uniform", "low": 0.4, "high": 0.6}}
    t = tornado(portfolio(o), "cost_per_outcome:c", strategy="cheap").set_index("input")
    row = t.loc["workloads.c.outcome.human_fallback_cost"]
    assert row["metric_at_low"] == pytest.approx((39.20 + 8_400 * 0.42) / V, rel=1e-9)
    assert row["metric_at_high"] == pytest.approx((39.20 + 8_400 * 0.58) / V, rel=1e-9)
    with pytest.raises(Exception, match="needs a workload with an outcome"):
        tornado(make([chat(sessions_per_user_per_day={"dist": "uniform", "low": 5, "high": 15})]), "net_value")


@pytest.mark.parametrize("paths", [20, 12])
def test_a_cascade_with_uncertain_escalation_and_success_scores_each_path(paths):
    """P = p + min(e, 1 − p)·p on every path, p the path's success draw and e its session table's
    escalation share (both recorded as inputs); 12 paths on a 12-month horizon once hid a (P, P)
    broadcast that gave wrong numbers instead of an error."""
    o = {**OUTCOME, "success": {"dist": "uniform", "low": 0.6, "high": 0.9}}
    st_ = [{"name": "cascade", "set": {"workloads.c.levers.routing": {
        "enabled": True, "cheap_model": "acme/m2", "escalation_probability": {"dist": "uniform", "low": 0.05, "high": 0.4}}}}]
    sc = make([chat(outcome=o)], strategies=st_, horizon={"start": "2027-01", "months": 12})
    ds, _ = run(sc, paths=paths)
    x = ds.sel(strategy="cascade", outcome_workload="c").sum("month")
    p = ds["input:workloads.c.outcome.success"].sel(strategy="cascade").values
    e = ds["input:workloads.c.levers.routing.escalation_probability"].sel(strategy="cascade").values
    want = p + np.minimum(e, 1 - p) * p
    assert np.allclose((x["ai_outcomes"] / x["work_units"]).values, want, rtol=1e-6)


def test_escalation_that_follows_the_outcome_escalates_every_failure_on_each_path():
    """Without a written escalation share every failure escalates: P = p + (1 − p)·p per path, billed
    at the mean failure rate (billing is linear in it); the engines agree in mean mode."""
    o = {**OUTCOME, "success": {"dist": "uniform", "low": 0.6, "high": 0.8}}
    st_ = [{"name": "cascade", "set": {"workloads.c.levers.routing": {"enabled": True, "cheap_model": "acme/m2"}}}]
    sc = make([chat(outcome=o)], strategies=st_)
    ds, _ = run(sc, paths=200)
    x = ds.sel(strategy="cascade", outcome_workload="c").sum("month")
    p = ds["input:workloads.c.outcome.success"].sel(strategy="cascade").values
    assert np.allclose((x["ai_outcomes"] / x["work_units"]).values, p + (1 - p) * p, rtol=1e-6)
    fc = run_expected(sc, "cascade")
    assert fc.lines["spend"].sum() == pytest.approx(39.20 + 0.3 * 78.40)  # e = 1 − E[p] = 0.3
    dm, _ = run(sc, paths=2, deterministic=True)
    assert float(dm["outcome_cost"].sel(strategy="cascade").sum("month").mean()) == pytest.approx(
        float(fc.outcomes["outcome_cost"].sum()), rel=1e-9)


def test_a_workload_that_achieves_nothing_is_refused_with_its_location(tmp_path, capsys):
    from tests.conftest import refusal

    o = {k: v for k, v in OUTCOME.items() if k != "human_fallback_cost"} | {"success": 0.0}
    path = make_file(portfolio(o, [{"name": "frontier"}]))
    msgs = refusal(["run", str(path), "--paths", "3", "--out", str(tmp_path / "r")], capsys, "result")
    assert "workload 'c' achieves no outcome" in msgs[0] and "human_fallback_cost" in msgs[0]
    assert not (tmp_path / "r" / "results.zarr").exists()


def test_a_seat_fee_is_part_of_the_cost_of_the_outcomes_it_serves():
    """100 seats at $5 for the unit whose one workload is the desk: the outcomes' cost is $778.40 +
    $500 = $1,278.40 (the spend variables keep the fee on its own line); both engines."""
    seats = {"name": "desk_seats", "kind": "seats", "business_unit": "bu", "seats_per_user": 1.0,
             "fee_per_seat_month": 5.0, "term_months": 1}
    sc = make([chat(outcome=OUTCOME)], contracts=[seats])
    fc = run_expected(sc)
    o = fc.outcomes.iloc[0]
    assert o["spend"] == pytest.approx(78.40 + 500.0) and o["outcome_cost"] == pytest.approx(1_278.40)
    assert fc.lines["spend"].sum() == pytest.approx(78.40 + 500.0)  # the total is unchanged
    ds, _ = run(sc, paths=2, deterministic=True)
    assert float(ds["outcome_cost"].sum("month").mean()) == pytest.approx(1_278.40, rel=1e-9)
    assert float(ds["spend"].sel(strategy=ds["strategy"].values[0]).sum(["month", "pool", "workload"]).mean()) == \
        pytest.approx(578.40, rel=1e-9)
