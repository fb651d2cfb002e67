"""Pool cost formulas and contract settlement against hand calculations and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from sim.pools.contracts import settle_commit
from sim.pools.api import alpha_components, price_trend_factor
from sim.pools.owned import OwnedCostInputs, owned_month_cost


def test_owned_gpu_month_by_hand():
    # 16 GPUs, $40,000 each excl. network/storage (10 % + 2 % of IT capex) → IT capex per GPU
    # 40,000 / 0.88 = 45,454.55; 5-year life, 10 % residual → 681.82 per GPU-month.
    # Power: 1,015 W all-in, idle 30 %, u = 0.5 → 1,015 × 0.65 = 659.75 W × PUE 1.3 × 720 h
    # = 617.526 kWh per GPU × $0.085 = $52.49.  Colo 1.015 kW × $190 = $192.85.
    # Staff: (1 + 16/150) FTE × 250,000/12 = $23,055.56.  Licence 0.  Support 6 %/yr of capex.
    c = OwnedCostInputs(40000, 0.10, 0.02, 5, 0.10, 1015, 0.30, 1.3, 0.085, 190, 1.0, 150, 250000, 0.0, 0.06)
    m = owned_month_cost(16, 0.5, 720, c)
    capex = 40000 / 0.88
    assert float(m["depreciation"]) == pytest.approx(16 * capex * 0.9 / 60, abs=0.005)
    assert float(m["energy_kwh"]) == pytest.approx(16 * 1015 * 0.65 * 1.3 * 720 / 1000)
    assert float(m["power"]) == pytest.approx(16 * 617.526 * 0.085, abs=0.005)
    assert float(m["colocation"]) == pytest.approx(16 * 1.015 * 190, abs=0.005)
    assert float(m["staff"]) == pytest.approx((1 + 16 / 150) * 250000 / 12, abs=0.005)
    assert float(m["support"]) == pytest.approx(16 * capex * 0.06 / 12, abs=0.005)
    total = sum(float(m[k]) for k in ("depreciation", "power", "colocation", "staff", "licence", "support"))
    assert total == pytest.approx(10909.09 + 839.84 + 3085.60 + 23055.56 + 3636.36, abs=0.02)


def test_retry_attempts_closed_form():
    a, ain, aout = alpha_components(0.0, 0.0, 0.5, 0.2, 3)
    assert a == pytest.approx(1 + 0.2 + 0.04)
    assert ain == pytest.approx(a) and aout == pytest.approx(a)
    a, ain, aout = alpha_components(0.1, 0.1, 0.5, 0.0, 1000)
    assert a == pytest.approx(1 / 0.8)
    assert ain == pytest.approx(0.9 / 0.8)            # errors bill nothing
    assert aout == pytest.approx((0.8 + 0.05) / 0.8)  # timeouts bill half the output


def test_price_trend_factor():
    assert price_trend_factor(12, -0.3) == pytest.approx(0.7)
    assert price_trend_factor(6, 0.44) == pytest.approx(1.2)


def test_newsvendor_commit_is_the_discount_quantile():
    # Token commit A at discount d, overage at list: E[cost](A) is minimised at the d-quantile of demand.
    rng = np.random.default_rng(11)
    demand = rng.lognormal(np.log(1e9), 0.5, size=20_000)  # tokens per month, one month per draw
    price = 3e-6  # list $ per token
    d = 0.3
    levels = np.quantile(demand, np.linspace(0.05, 0.95, 91))
    costs = []
    for a in levels:
        st = settle_commit(demand[:, None], demand[:, None] * price, a, unit="tokens", discount=d, overage_rate=1.0,
                           start_month=0, term_months=1, period_months=1)
        costs.append(st.cost.mean())
    best = levels[int(np.argmin(costs))]
    assert best == pytest.approx(np.quantile(demand, d), rel=0.03)


def test_dollar_commit_take_or_pay_and_overage():
    use = np.array([[100.0, 100.0, 100.0]])  # tokens (unused for dollar commits)
    lst = np.array([[50.0, 200.0, 0.0]])     # list spend per month
    st = settle_commit(use, lst, 100.0, unit="dollars", discount=0.2, overage_rate=1.0, start_month=0,
                       term_months=3, period_months=1)
    # month 1: discounted use 40 < 100 → pay 100, 60 stranded; month 2: 160 > 100 → 100 + 60/0.8 = 175
    assert st.cost[0].tolist() == pytest.approx([100.0, 175.0, 100.0])
    assert st.stranded[0].tolist() == pytest.approx([60.0, 0.0, 100.0])
    assert st.overage[0].tolist() == pytest.approx([0.0, 60.0, 0.0])


def test_rollover_and_true_up():
    lst = np.array([[0.0, 150.0]])
    use = np.array([[0.0, 150.0]])
    st = settle_commit(use, lst, 100.0, unit="dollars", discount=0.0, overage_rate=1.0, start_month=0,
                       term_months=2, period_months=1, rollover_share=0.5)
    # month 1: all 100 unused, 50 carried; month 2 commitment 150 covers the 150 of use
    assert st.cost[0].tolist() == pytest.approx([100.0, 100.0])
    assert st.stranded[0].tolist() == pytest.approx([50.0, 0.0])
    tu = settle_commit(use, lst, 100.0, unit="dollars", discount=0.0, overage_rate=1.0, start_month=0,
                       term_months=2, period_months=1, true_up=True)
    # true-up: the term's 200 is one pool; 150 used in month 2 is drawn from it (no overage) and
    # the 50 left is billed at the end of the term
    assert tu.cost[0].tolist() == pytest.approx([0.0, 150.0 + 50.0])
    assert tu.overage.sum() == 0 and tu.stranded[0].tolist() == pytest.approx([0.0, 50.0])


def test_rollover_expires_at_the_end_of_the_term():
    # $100 a month for 4 months, $10 used each month, everything rolls over: $400 paid,
    # $40 used, so $360 is stranded — all of it when the term ends
    use = np.full((1, 4), 10.0)
    st = settle_commit(use, use.copy(), 100.0, unit="dollars", discount=0.0, overage_rate=1.0, start_month=0,
                       term_months=4, period_months=1, rollover_share=1.0)
    assert st.cost.sum() == pytest.approx(400.0)
    assert st.stranded.sum() == pytest.approx(360.0)
    assert st.stranded[0].tolist() == pytest.approx([0.0, 0.0, 0.0, 360.0])


def test_true_up_pools_the_term():
    # 100 tokens a month for 4 months at $1 list, no discount; use 0, 0, 200, 200 → 400 of 400:
    # with a true-up nothing is stranded and there is no overage; without, 200 stranded and 200 over
    use = np.array([[0.0, 0.0, 200.0, 200.0]])
    pooled = settle_commit(use, use.copy(), 100.0, unit="tokens", discount=0.0, overage_rate=1.0, start_month=0,
                           term_months=4, period_months=1, true_up=True, reference_price=1.0)
    assert pooled.cost.sum() == pytest.approx(400.0)
    assert pooled.overage.sum() == 0 and pooled.stranded.sum() == 0
    per_period = settle_commit(use, use.copy(), 100.0, unit="tokens", discount=0.0, overage_rate=1.0, start_month=0,
                               term_months=4, period_months=1, reference_price=1.0)
    assert per_period.cost.sum() == pytest.approx(600.0)
    assert per_period.stranded.sum() == pytest.approx(200.0) and per_period.overage.sum() == pytest.approx(200.0)
    # a true-up shortfall is billed at the end: 40 of 400 used → 360 owed in the last month
    low = settle_commit(np.full((1, 4), 10.0), np.full((1, 4), 10.0), 100.0, unit="dollars", discount=0.0,
                        overage_rate=1.0, start_month=0, term_months=4, period_months=1, true_up=True,
                        rollover_share=1.0)
    assert low.cost.sum() == pytest.approx(400.0) and low.stranded.sum() == pytest.approx(360.0)


def test_a_period_with_under_one_token_of_use_is_valued_at_the_reference_price():
    # a GPU pool's overflow to the API can leave 1e-12 tokens in a period, with a cost whose ratio
    # to them is rounding noise; the commitment must be valued at the reference price then
    # (hand: 2e8 tokens committed, none drawn, at 1e-6 × (1 − 0.2) each = 160 stranded)
    use = np.array([1e-12, 0.0])
    lst = np.array([1e-3, 0.0])  # 1e9 per "token": noise
    st = settle_commit(use, lst, 1e8, unit="tokens", discount=0.2, overage_rate=1.0, start_month=0,
                       term_months=2, period_months=1, true_up=True, reference_price=1e-6)
    assert float(st.stranded_cost.sum()) == pytest.approx(2e8 * 1e-6 * 0.8, rel=1e-9)
