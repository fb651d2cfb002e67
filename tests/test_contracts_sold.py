"""Contracts as sold in 2026 (issue 13, item 3): seats that follow a business unit with a quarterly
true-up, included tokens and a consumption commitment; ramped commitments; annual drawdown pools
with a monthly minimum. Every expected number is worked out by hand in the comments (never copied
from the program's output), and both engines must give it: the expected-value forecast and the
Monte Carlo in mean mode (``deterministic=True``: every count is its mean).

Demand (conftest.chat, one turn, no retries, no day noise, always-on activity): a user runs 10
sessions a day of 600 input (500 system + 100 user) and 200 output tokens of acme/m1 at $2 / $8
per million: 800 tokens and 600 × 2e-6 + 200 × 8e-6 = $0.0028 a session, so the list price is
p = 0.0028 / 800 = $3.5e-6 a token and a user-day is 8,000 tokens. Prices are flat (no trend).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.expected.forecast import run_expected
from sim.mc.runner import bytes_per_path, run
from sim.pools.contracts import billed_seats, seats_needed
from sim.scenario import ScenarioError
from tests.conftest import chat, make

NO_RETRY = {"error_rate": 0, "timeout_rate": 0, "validation_failure_rate": 0, "max_attempts": 1}
NOISE = {"day_cv": 0.0}
P = 3.5e-6  # list $ per token
DAYS_2027 = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
DAYS_2028 = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]  # a leap year
# linear adoption: users(m) = start + (ceiling − start)·(m + 0.5)/ramp at mid-month, here
# 90 + 240·(m + 0.5)/12 = 100 + 20m: 100, 120, ..., 320
GROWING = [{"name": "eng", "users": {"curve": "linear", "start": 90, "ceiling": 330, "ramp_months": 12}}]
FIXED = [{"name": "eng", "users": {"curve": "fixed", "ceiling": 100}}]
USERS = [100 + 20 * m for m in range(12)]
M = 1e6


def _scenario(contracts, business_units=GROWING, months=12, strategies=()):
    # with strategies, "base" (the scenario as written) is one of them
    return make([chat(business_unit="eng", retry=NO_RETRY)], horizon={"start": "2027-01", "months": months},
                demand_noise=NOISE, business_units=business_units, contracts=contracts,
                strategies=[{"name": "base"}, *strategies] if strategies else [])


def _mc(sc):
    ds, _ = run(sc, paths=1, deterministic=True)
    return ds.isel(path=0)


def _contract_rows(fc, name):
    return fc.contracts[fc.contracts["contract"] == name].reset_index(drop=True)


# ---- the seat formulas ---------------------------------------------------------------------------------------
def test_seats_needed_are_whole_seats_at_least_the_minimum():
    # 10 × 0.5 = 5; 15.5 × 0.5 = 7.75 → 8 seats; 60.000000000001 × 0.5 is float noise on 30, not a 31st seat;
    # the minimum 6 lifts the first month
    got = seats_needed(np.array([10.0, 15.5, 60.000000000001]), 0.5, 6)
    assert got.tolist() == [6.0, 8.0, 30.0]


def test_true_up_cadences_by_hand():
    need = np.array([5.0, 8, 6, 9, 4, 4, 12, 3])
    # no true-up: the seats needed, up and down
    assert billed_seats(need, 0, 8, False).tolist() == need.tolist()
    # monthly: the most needed so far (never down): 5, 8, 8, 9, 9, 9, 12, 12
    assert billed_seats(need, 0, 8, "monthly").tolist() == [5, 8, 8, 9, 9, 9, 12, 12]
    # quarterly true-ups in months 0, 3, 6: 5 until month 3; then max(5, 8, 6, 9) = 9 — the 8 of month 1
    # is not back-billed and the dip to 4 does not lower it; from month 6, 12 (the 3 of month 7 changes nothing)
    assert billed_seats(need, 0, 8, "quarterly").tolist() == [5, 5, 5, 9, 9, 9, 12, 12]
    # annual: one true-up in the term's first month
    assert billed_seats(need, 0, 8, "annual").tolist() == [5] * 8
    # a term of months 2-5: true-ups in months 2 and 5; nothing billed outside the term
    assert billed_seats(need, 2, 4, "quarterly").tolist() == [0, 0, 6, 6, 6, 9, 0, 0]


# ---- (a) seats + included tokens + token commitment, 12 months ---------------------------------------------
SEATS = {"name": "copilot", "kind": "seats", "business_unit": "eng", "seats_per_user": 0.5, "minimum_seats": 70,
         "fee_per_seat_month": 30, "included_tokens_per_seat_month": 300_000, "true_up": "quarterly",
         "models": ["acme/m1"], "term_months": 12,
         "commit": {"kind": "token_commit", "amount": 20e6, "discount": 0.2}}

# users 100 + 20m → seats needed max(ceil(0.5 × users), 70):
NEED = [70, 70, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160]
# quarterly true-ups in months 0, 3, 6, 9 bill the most needed so far: 70, 80, 110, 140
BILLED = [70, 70, 70, 80, 80, 80, 110, 110, 110, 140, 140, 140]  # 1,200 seat-months × $30 = $36,000
# covered tokens users × days × 8,000 (M): 24.8, 26.88, 34.72, 38.4, 44.64, 48, 54.56, 59.52, 62.4, 69.44, 72, 79.36
TOKENS = [u * d * 8000 for u, d in zip(USERS, DAYS_2027)]
# included: billed × 0.3M = 21, 21, 21, 24, 24, 24, 33, 33, 33, 42, 42, 42 (M), all used (demand is above it)
INCLUDED = [b * 0.3 * M for b in BILLED]
# left for the 20M-a-month commitment (M): 3.8, 5.88, 13.72, 14.4, 20.64, 24, 21.56, 26.52, 29.4, 27.44, 30, 37.36
REST = [3.8, 5.88, 13.72, 14.4, 20.64, 24.0, 21.56, 26.52, 29.4, 27.44, 30.0, 37.36]
DRAWN = [3.8, 5.88, 13.72, 14.4] + [20.0] * 8
STRANDED = [16.2, 14.12, 6.28, 5.6] + [0.0] * 8
OVERAGE = [0, 0, 0, 0, 0.64, 4.0, 1.56, 6.52, 9.4, 7.44, 10.0, 17.36]  # 56.92M in all


def test_seats_and_token_commit_by_hand_in_both_engines():
    assert [t / M for t in TOKENS] == pytest.approx([24.8, 26.88, 34.72, 38.4, 44.64, 48, 54.56, 59.52, 62.4,
                                                      69.44, 72, 79.36])
    assert [(t - i) / M for t, i in zip(TOKENS, INCLUDED)] == pytest.approx(REST)
    sc = _scenario([SEATS])
    fc = run_expected(sc)
    r = _contract_rows(fc, "copilot")
    assert r["seats"].tolist() == BILLED
    assert r["seat_fee"].tolist() == pytest.approx([30.0 * b for b in BILLED])
    assert r["included_tokens"].tolist() == pytest.approx(INCLUDED)
    assert r["included_drawn"].tolist() == pytest.approx(INCLUDED)
    assert (r["drawn"] / M).tolist() == pytest.approx(DRAWN, rel=1e-9)
    assert (r["stranded"] / M).tolist() == pytest.approx(STRANDED, rel=1e-9, abs=1e-9)
    assert (r["overage"] / M).tolist() == pytest.approx(OVERAGE, rel=1e-9, abs=1e-9)
    # money: the commitment 20M × p(1 − 0.2) = 20e6 × 2.8e-6 = $56 a month, $672 a year; overage at list
    # 56.92M × 3.5e-6 = $199.22; stranded 42.2M × 2.8e-6 = $118.16. Seats 1,200 × $30 = $36,000.
    assert r["overage_cost"].sum() == pytest.approx(199.22, rel=1e-9)
    assert r["stranded_cost"].sum() == pytest.approx(118.16, rel=1e-9)
    lines = fc.lines
    api = lines[(lines["workload"] == "c") & (lines["pool"] == "api")]["spend"].sum()
    assert api == pytest.approx(672 + 199.22, rel=1e-9)
    seat_lines = lines[lines["workload"] == "copilot"]
    assert set(seat_lines["pool"]) == {"seats"}
    assert set(seat_lines["business_unit"]) == {"eng"}  # shown back to the unit the seats follow
    assert seat_lines["spend"].tolist() == pytest.approx([30.0 * b for b in BILLED])
    assert fc.total() == pytest.approx(36_000 + 871.22, rel=1e-9)

    ds, _ = run(sc, paths=1, deterministic=True)
    # the fee line is a workload column of its own, and the size estimate counts it
    assert sum(v.nbytes for k, v in ds.data_vars.items() if not k.startswith("input:")) == bytes_per_path(sc)
    mc = ds.isel(strategy=0, path=0)
    cc = mc.sel(contract="copilot")
    assert (cc["commit_drawn"].values / M).tolist() == pytest.approx(DRAWN, rel=1e-9)
    assert (cc["commit_stranded"].values / M).tolist() == pytest.approx(STRANDED, rel=1e-9, abs=1e-9)
    assert (cc["overage"].values / M).tolist() == pytest.approx(OVERAGE, rel=1e-9, abs=1e-9)
    assert float(cc["overage_cost"].sum()) == pytest.approx(199.22, rel=1e-9)
    assert float(cc["commit_stranded_cost"].sum()) == pytest.approx(118.16, rel=1e-9)
    fee = mc["spend"].sel(workload="copilot")
    assert fee.sel(pool="saas").values.tolist() == pytest.approx([30.0 * b for b in BILLED])
    assert float(fee.sum()) == pytest.approx(36_000, rel=1e-12)
    assert str(mc["business_unit"].sel(workload="copilot").values) == "eng"
    assert float(mc["spend"].sel(workload="c").sum()) == pytest.approx(871.22, rel=1e-9)
    assert float(mc["spend"].sum()) == pytest.approx(fc.total(), rel=1e-9)


def test_seats_and_dollar_commit_settle_in_commitment_dollars():
    # the same seats with a $60-a-month dollar commitment at 20 % off: the use beyond the included tokens
    # is REST × p at list, 0.8 × that in commitment dollars: 10.64, 16.464, 38.416, 40.32, 57.792, 67.2,
    # 60.368, 74.256, 82.32, 76.832, 84, 104.608. Against 60: stranded 49.36 + 43.536 + 21.584 + 19.68 +
    # 2.208 = 136.368; overage 7.2 + 0.368 + 14.256 + 22.32 + 16.832 + 24 + 44.608 = 129.584 commitment $,
    # billed 129.584 / 0.8 = $161.98; API cost 12 × 60 + 161.98 = $881.98
    dollars = {**SEATS, "commit": {"kind": "dollar_commit", "amount": 60, "discount": 0.2}}
    sc = _scenario([dollars])
    fc = run_expected(sc)
    r = _contract_rows(fc, "copilot")
    assert r["stranded"].sum() == pytest.approx(136.368, rel=1e-9)
    assert r["overage"].sum() == pytest.approx(129.584, rel=1e-9)
    assert r["overage_cost"].sum() == pytest.approx(161.98, rel=1e-9)
    api = fc.lines[fc.lines["workload"] == "c"]["spend"].sum()
    assert api == pytest.approx(881.98, rel=1e-9)
    mc = _mc(sc).isel(strategy=0)
    assert float(mc["overage"].sel(contract="copilot").sum()) == pytest.approx(129.584, rel=1e-9)
    assert float(mc["spend"].sum()) == pytest.approx(fc.total(), rel=1e-9)


def test_included_tokens_without_commitment_and_fixed_seats():
    # no commitment: the included tokens are the contract's prepaid tokens. Fixed users 100 (24.8M tokens
    # in a 31-day month, 22.4M in February), 60 seats (0.6 × 100, no true-up) × 0.4M = 24M included:
    # January 0.8M over (at overage_rate 1.5 × list: 0.8e6 × 3.5e-6 × 1.5 = $4.20), February 1.6M unused.
    # A fixed-count seats contract beside it (10 seats at $5, the older units/price_per_unit_month form)
    # stays shared.
    sc = _scenario([{"name": "chatgpt", "kind": "seats", "business_unit": "eng", "seats_per_user": 0.6,
                     "fee_per_seat_month": 25, "included_tokens_per_seat_month": 400_000, "overage_rate": 1.5,
                     "term_months": 2},
                    {"name": "legacy", "kind": "seats", "units": 10, "price_per_unit_month": 5, "term_months": 2}],
                   business_units=FIXED, months=2)
    fc = run_expected(sc)
    r = _contract_rows(fc, "chatgpt")
    assert r["seats"].tolist() == [60, 60]
    assert (r["drawn"] / M).tolist() == pytest.approx([24.0, 22.4])
    assert (r["stranded"] / M).tolist() == pytest.approx([0.0, 1.6], abs=1e-12)
    assert (r["overage"] / M).tolist() == pytest.approx([0.8, 0.0], abs=1e-12)
    assert r["overage_cost"].tolist() == pytest.approx([4.20, 0.0], abs=1e-12)
    api = fc.lines[fc.lines["workload"] == "c"]["spend"].sum()
    assert api == pytest.approx(4.20, rel=1e-9)
    legacy = fc.lines[fc.lines["workload"] == "legacy"]
    assert legacy["spend"].tolist() == [50.0, 50.0] and set(legacy["business_unit"]) == {"(shared)"}
    assert fc.total() == pytest.approx(4.20 + 2 * 60 * 25 + 2 * 50, rel=1e-9)
    mc = _mc(sc).isel(strategy=0)
    assert float(mc["spend"].sum()) == pytest.approx(fc.total(), rel=1e-9)
    assert str(mc["business_unit"].sel(workload="legacy").values) == "(shared)"
    assert float(mc["spend"].sel(workload="legacy").sum()) == pytest.approx(100.0)


# ---- (b) a ramped commitment over three years ------------------------------------------------------------------
def test_ramped_token_commit_by_hand_in_both_engines():
    # fixed 100 users: 0.8M tokens a day, 292M in 2027 and 2029, 292.8M in 2028 (366 days); a month is
    # 0.8M × its days: 24.8M (31 days), 24M (30), 22.4M (Feb 2027), 23.2M (Feb 2028).
    # Ramp 240M, 300M, 360M a year at 20 % off, settled monthly: 20M, 25M, 30M a month.
    #   2027: every month is above 20M: overage 292 − 240 = 52M, nothing stranded
    #   2028: every month is below 25M: stranded 300 − 292.8 = 7.2M (January 0.2M), no overage
    #   2029: stranded 360 − 292 = 68M
    # cost: (240 + 300 + 360)M × 3.5e-6 × 0.8 = 2,520 + overage 52M × 3.5e-6 = 182 → $2,702;
    # stranded (7.2 + 68)M × 2.8e-6 = $210.56.
    # The same ramp in annual pools (period_months 12): each year's pool nets its months the same way
    # here (each year's months are all above or all below), booked in December: 52M over in Dec 2027,
    # 7.2M stranded in Dec 2028 — not carried into 2029 (no carry-over unless rollover_share) — 68M in Dec 2029.
    ramp = {"name": "tc", "kind": "token_commit", "models": ["acme/m1"], "term_months": 36, "discount": 0.2,
            "amount_by_year": [240e6, 300e6, 360e6]}
    sc = _scenario([ramp], business_units=FIXED, months=36,
                   strategies=[{"name": "annual", "set": {"contracts.tc.period_months": 12}}])
    for fc, strategy in ((run_expected(sc), "base"), (run_expected(sc, "annual"), "annual")):
        r = _contract_rows(fc, "tc")
        year = lambda col, y: r[col].iloc[12 * y:12 * y + 12].sum() / M  # noqa: E731
        assert [year("overage", y) for y in range(3)] == pytest.approx([52.0, 0.0, 0.0], abs=1e-6)
        assert [year("stranded", y) for y in range(3)] == pytest.approx([0.0, 7.2, 68.0], abs=1e-6)
        assert [year("drawn", y) for y in range(3)] == pytest.approx([240.0, 292.8, 292.0], rel=1e-12)
        assert fc.total() == pytest.approx(2702.0, rel=1e-9)
        assert r["stranded_cost"].sum() == pytest.approx(210.56, rel=1e-9)
        if strategy == "base":
            assert r["drawn"].iloc[0] / M == pytest.approx(20.0)  # January 2027: the year-1 monthly 20M
            assert r["stranded"].iloc[12] / M == pytest.approx(0.2)  # January 2028: 25M − 24.8M
        else:
            booked = np.flatnonzero(r["drawn"].to_numpy() > 0).tolist()
            assert booked == [11, 23, 35]  # each year's pool is settled in its last month
            assert r["stranded"].iloc[23] / M == pytest.approx(7.2)
    ds, _ = run(sc, paths=1, deterministic=True)
    for strategy in ("base", "annual"):
        mc = ds.sel(strategy=strategy).isel(path=0)
        fc = run_expected(sc, None if strategy == "base" else strategy)
        assert float(mc["spend"].sum()) == pytest.approx(2702.0, rel=1e-9)
        assert np.allclose(mc["commit_stranded"].sel(contract="tc").values,
                           _contract_rows(fc, "tc")["stranded"].to_numpy(), rtol=1e-9, atol=1e-3)


# ---- (c) annual drawdown pools ---------------------------------------------------------------------------------
def test_annual_drawdown_pool_nets_the_months_by_hand():
    # fixed 100 users in 2027: 24.8M in each of the seven 31-day months, 24M in the four 30-day ones,
    # 22.4M in February; 292M in the year.
    # Monthly 24M at 20 % off: 0.8M over in each 31-day month (5.6M), 1.6M stranded in February.
    # Annual pool of 288M (period_months 12): the year's use is drawn from it in any month; 292 − 288 = 4M
    # over, nothing stranded, all known (booked) in December. Cost 288M × 2.8e-6 = 806.40 + 4M × 3.5e-6 = 14
    # → $820.40 (monthly: 806.40 + 5.6M × 3.5e-6 = 19.60 → $826.00).
    tc = {"name": "tc", "kind": "token_commit", "models": ["acme/m1"], "term_months": 12, "discount": 0.2,
          "amount": 24e6}
    sc = _scenario([tc], business_units=FIXED,
                   strategies=[{"name": "annual", "set": {"contracts.tc.period_months": 12,
                                                          "contracts.tc.amount": 288e6}}])
    monthly, annual = _contract_rows(run_expected(sc), "tc"), _contract_rows(run_expected(sc, "annual"), "tc")
    assert monthly["overage"].sum() / M == pytest.approx(5.6) and monthly["stranded"].sum() / M == pytest.approx(1.6)
    assert (annual["overage"] / M).tolist() == pytest.approx([0.0] * 11 + [4.0], abs=1e-9)
    assert annual["stranded"].sum() == pytest.approx(0.0, abs=1e-6)
    assert (annual["drawn"] / M).tolist() == pytest.approx([0.0] * 11 + [288.0], abs=1e-9)
    ds, _ = run(sc, paths=1, deterministic=True)
    assert float(ds["spend"].sel(strategy="base").sum()) == pytest.approx(826.00, rel=1e-9)
    assert float(ds["spend"].sel(strategy="annual").sum()) == pytest.approx(820.40, rel=1e-9)
    assert (ds["overage"].sel(strategy="annual", contract="tc").isel(path=0).values / M).tolist() == \
        pytest.approx([0.0] * 11 + [4.0], abs=1e-9)


def test_annual_pool_with_a_monthly_minimum_by_hand():
    # growing users 100 + 20m: 24.8, 26.88, 34.72, 38.4, 44.64, 48, 54.56, 59.52, 62.4, 69.44, 72, 79.36 (M),
    # 614.72M in the year. Annual pool 600M with a monthly minimum of 40M, at 20 % off:
    #   Jan-Apr use is below 40M: each draws 40M, shortfalls 15.2 + 13.12 + 5.28 + 1.6 = 35.2M stranded;
    #   pool left 600 − 160 = 440M; May-Dec use 489.92M draws it empty in December (29.44M of 79.36M),
    #   overage 489.92 − 440 = 49.92M; drawn 24.8 + 26.88 + 34.72 + 38.4 + 440 = 564.8M.
    # cost 600M × 2.8e-6 = 1,680 + 49.92M × 3.5e-6 = 174.72 → $1,854.72; stranded 35.2M × 2.8e-6 = $98.56.
    # Without the minimum: drawn 600M, overage 14.72M, $1,680 + 51.52 = $1,731.52.
    pool = {"name": "pool", "kind": "token_commit", "models": ["acme/m1"], "term_months": 12, "period_months": 12,
            "discount": 0.2, "amount": 600e6, "monthly_minimum": 40e6}
    sc = _scenario([pool], strategies=[{"name": "no_minimum", "set": {"contracts.pool.monthly_minimum": 0}}])
    fc = run_expected(sc)
    r = _contract_rows(fc, "pool")
    assert r["drawn"].sum() / M == pytest.approx(564.8, rel=1e-12)
    assert r["stranded"].sum() / M == pytest.approx(35.2, rel=1e-12)
    assert r["overage"].sum() / M == pytest.approx(49.92, rel=1e-12)
    assert r["stranded_cost"].sum() == pytest.approx(98.56, rel=1e-9)
    assert fc.total() == pytest.approx(1854.72, rel=1e-9)
    plain = _contract_rows(run_expected(sc, "no_minimum"), "pool")
    assert plain["overage"].sum() / M == pytest.approx(14.72, rel=1e-12)
    ds, _ = run(sc, paths=1, deterministic=True)
    assert float(ds["spend"].sel(strategy="base").sum()) == pytest.approx(1854.72, rel=1e-9)
    assert float(ds["spend"].sel(strategy="no_minimum").sum()) == pytest.approx(1731.52, rel=1e-9)
    assert float(ds["commit_stranded"].sel(strategy="base", contract="pool").sum()) / M == pytest.approx(35.2)


# ---- (d) invalid inputs are refused where they are -------------------------------------------------------------
@pytest.mark.parametrize("contract, path, words", [
    ({**SEATS, "business_unit": "sales"}, "contracts[0].business_unit", "unknown business unit 'sales'"),
    ({**SEATS, "units": 50}, "contracts[0].units", "not both"),
    ({**SEATS, "true_up": True}, "contracts[0].true_up", "monthly, quarterly or annual"),
    ({**SEATS, "true_up": "weekly"}, "contracts[0].true_up", "quarterly"),
    ({**SEATS, "price_per_unit_month": 30}, "contracts[0].fee_per_seat_month", "not both"),
    ({**SEATS, "commit": {"kind": "token_commit", "amount": 1e6, "period_months": 5}},
     "contracts[0].commit.period_months", "multiple"),
    ({**SEATS, "commit": {"kind": "token_commit", "amount_by_year": [1e8, 2e8]}},
     "contracts[0].commit.amount_by_year", "the term is 12 months"),
    ({**SEATS, "commit": {"kind": "seats"}}, "contracts[0].commit.kind", "token_commit"),
    ({"name": "s", "kind": "seats", "units": 5, "seats_per_user": 0.5}, "contracts[0].seats_per_user",
     "business unit"),
    ({"name": "s", "kind": "seats", "units": 5, "true_up": "annual"}, "contracts[0].true_up", "business unit"),
    ({"name": "tc", "kind": "token_commit", "amount": 1e6, "included_tokens_per_seat_month": 5},
     "contracts[0].included_tokens_per_seat_month", "seats contract"),
    ({"name": "tc", "kind": "token_commit", "amount": 1e6, "true_up": "quarterly"}, "contracts[0].true_up",
     "true or false"),
    ({"name": "tc", "kind": "token_commit", "term_months": 36, "amount_by_year": [1e8, 2e8]},
     "contracts[0].amount_by_year", "2 yearly amounts cover 24 months"),
    ({"name": "tc", "kind": "token_commit", "amount": 1e6, "amount_by_year": [1e8]},
     "contracts[0].amount", "not both"),
    ({"name": "pt", "kind": "provisioned_throughput", "monthly_minimum": 5}, "contracts[0].monthly_minimum",
     "token_commit or dollar_commit"),
    ({**SEATS, "name": "c"}, "contracts[0].name", "also a workload"),
])
def test_invalid_contracts_are_refused_with_their_key_path(contract, path, words):
    with pytest.raises(ScenarioError) as info:
        _scenario([contract])
    problems = info.value.problems
    assert any(p.path == path and words in p.message for p in problems), [str(p) for p in problems]
    assert all(p.line for p in problems if p.path == path)  # the line of the key in the file


def test_a_strategy_that_breaks_a_seats_contract_is_refused():
    with pytest.raises(ScenarioError) as info:
        _scenario([SEATS], strategies=[{"name": "bad", "set": {"contracts.copilot.true_up": True}}])
    assert any(p.path == "strategies[1].set.contracts.copilot.true_up" and "cadence" in p.message
               for p in info.value.problems), [str(p) for p in info.value.problems]


def test_the_example_scenario_loads_and_shows_the_seats_back_to_engineering():
    from pathlib import Path

    from sim.checks import strategy_problems
    from sim.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "examples" / "seats_and_commit.yaml",
                       checks=strategy_problems)
    fc = run_expected(sc)
    seats = fc.lines[fc.lines["workload"] == "assistant_seats"]
    assert set(seats["business_unit"]) == {"engineering"} and seats["spend"].min() >= 150 * 39
    r = _contract_rows(fc, "support_edp")
    assert np.flatnonzero(r["drawn"].to_numpy() > 0).tolist() == [11, 23]  # two annual pools


def test_a_strategy_that_sets_the_commitment_alone_is_checked_against_the_term():
    with pytest.raises(ScenarioError) as info:
        _scenario([SEATS], strategies=[{"name": "bad", "set": {"contracts.copilot.commit.period_months": 5}}])
    assert any(p.path == "strategies[1]" and "contracts[0].commit.period_months" in p.message
               for p in info.value.problems), [str(p) for p in info.value.problems]


def test_a_seats_contract_without_a_fee_is_refused():
    """A fee left out is not a free seat: the fee is required (an explicit 0 is accepted)."""
    from sim.scenario import ScenarioError
    from tests.conftest import chat, make

    seats = {"name": "s", "kind": "seats", "business_unit": "bu", "seats_per_user": 1.0, "term_months": 1}
    with pytest.raises(ScenarioError, match="needs its fee"):
        make([chat()], contracts=[seats])
    make([chat()], contracts=[{**seats, "fee_per_seat_month": 0}])
