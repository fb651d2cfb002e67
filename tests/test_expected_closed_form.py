"""The expected-value engine against hand calculations: Spend = Σ α·V·(T_in·p_in + T_out·p_out)."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest

from sim.expected.forecast import run_expected
from tests.conftest import chat, make


def total(sc) -> float:
    return run_expected(sc).total()


def test_single_chat_to_the_cent():
    # Feb 2027: 28 days, always-on → V = 100 users × 10 sessions × 28 days = 28,000 calls
    # T_in = 500 + 100, T_out = 200, p = $2 / $8 per MTok → 28,000 × 0.0028 = $78.40
    sc = make([chat()])
    assert total(sc) == pytest.approx(78.40, abs=0.005)


def test_portfolio_with_retries_and_agent_to_the_cent():
    # chat as above with validation failures v = 0.1, 2 attempts: α = (1 − v²)/(1 − v) = 1.1 → $86.24
    # agent: 2 tasks/user/day × 100 × 28 = 5,600 tasks of 3 steps; step prompts
    # 1000+500, +150, +150 → 1500 + 1650 + 1800 = 4,950 in, 3 × 50 out at $1/$4
    # → 5,600 × (4,950 + 600)/1e6 = $31.08
    agent = {"name": "a", "kind": "agent", "business_unit": "bu", "tasks_per_user_per_day": 2, "steps": 3,
             "system_prompt_tokens": 1000, "task_prompt_tokens": 500, "tool_result_tokens": 100,
             "output_tokens": 50, "models": {"api": "acme/m2"}}
    sc = make([chat(retry={"validation_failure_rate": 0.1, "max_attempts": 2}), agent])
    fc = run_expected(sc)
    by_w = fc.lines.groupby("workload")["spend"].sum()
    assert by_w["c"] == pytest.approx(86.24, abs=0.005)
    assert by_w["a"] == pytest.approx(31.08, abs=0.005)
    assert fc.total() == pytest.approx(117.32, abs=0.005)


def test_business_days_and_price_trend_over_a_year():
    # Business-hours profile: weekdays weigh 1.0, Saturdays 0.08, Sundays 0.05 (calibration/workloads/profiles.yaml).
    # A commodity price trend of −30 %/yr multiplies month m by 0.7^(m/12).
    sc = make([chat(models={"api": "acme/m1"})], horizon={"start": "2027-01", "months": 13},
              activity={"preset": "business_hours"},
              prices={"date": "2027-01-01", "overrides": [{"model": "acme/m1", "input": 2.0, "output": 8.0}]},
              pools={"api": {"price_trend": {"commodity_per_year": -0.3, "frontier_per_year": 0.0}}})
    fc = run_expected(sc)
    monthly = fc.monthly_total()
    expected = []
    for m in range(13):
        y, mo = 2027 + m // 12, m % 12 + 1
        days = calendar.monthrange(y, mo)[1]
        w = 0.0
        for d in range(1, days + 1):
            wd = dt.date(y, mo, d).weekday()
            w += 1.0 if wd < 5 else (0.08 if wd == 5 else 0.05)
        expected.append(100 * 10 * w * 0.0028 * 0.7 ** (m / 12))
    # January 2027: 21 weekdays, 5 Saturdays, 5 Sundays → 21.65 working-day equivalents
    assert expected[0] == pytest.approx(100 * 10 * 21.65 * 0.0028)
    for got, want in zip(monthly.values, expected):
        assert got == pytest.approx(want, abs=0.005)


def test_logistic_users_and_two_units():
    # users(t) = start + (ceiling − start)·(σ(k(t − m0)) − σ(−k·m0))/(1 − σ(−k·m0)) at mid-month t = 0.5
    import math

    k, m0, start, ceil = 0.5, 6.0, 50.0, 500.0
    s = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    users = start + (ceil - start) * (s(k * (0.5 - m0)) - s(-k * m0)) / (1 - s(-k * m0))
    sc = make([chat(), chat("d", business_unit="bu2", models={"api": "acme/m2"})],
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 100}},
                              {"name": "bu2", "users": {"curve": "logistic", "start": start, "ceiling": ceil,
                                                        "midpoint_month": m0, "steepness": k}}])
    by_w = run_expected(sc).lines.groupby("workload")["spend"].sum()
    assert by_w["c"] == pytest.approx(78.40, abs=0.005)
    assert by_w["d"] == pytest.approx(users * 10 * 28 * (600 * 1 + 200 * 4) / 1e6, abs=0.005)


def test_embedded_saas_seats_and_batch_discount():
    # seats: 100 users × 0.5 × $30 = $1,500; batch: 100 × 10 docs × 28 days × (1000 × 2 + 100 × 8)/1e6 × 0.5
    saas = {"name": "s", "kind": "embedded_saas", "business_unit": "bu", "seats_per_user": 0.5,
            "fee_per_seat_month": 30}
    batch = {"name": "b", "kind": "batch", "business_unit": "bu", "documents_per_user_per_day": 10,
             "input_tokens_per_document": 1000, "system_prompt_tokens": 0, "output_tokens": 100,
             "models": {"api": "acme/m1"}}
    by_w = run_expected(make([saas, batch])).lines.groupby("workload")["spend"].sum()
    assert by_w["s"] == pytest.approx(1500.0, abs=0.005)
    assert by_w["b"] == pytest.approx(28000 * 2800 / 1e6 * 0.5, abs=0.005)
