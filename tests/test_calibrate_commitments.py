"""FOCUS 1.3 commitments (sim.calibrate.commitments): the Contract Commitment dataset, the cost rows'
ContractApplied and CommitmentDiscount* columns, and the scenario contracts: entries they become.

tests/fixtures/usage/focus_1_3.csv: 7 days of June 2026. Day d (1..7): Bedrock Claude 10⁶·d input
tokens (list $3/M) and 2·10⁵·d output (list $15/M), each billed 10 % under list (3d → 2.7d) and
drawing on the EDP (applied cost 2.7d each) and on the token commitment (applied tokens); EC2 24 h
(list $24, billed $21.6, drawing $21.6 on the EDP); Azure OpenAI gpt-4o-mini with no commitment;
Vertex Gemini 2·d M input tokens (list 0.6d, billed 0.432d) under a $3.50-a-day spend CUD, whose
unused rest (3.5 − 0.432d) is an Unused row. tests/fixtures/usage/focus_1_3_contract_commitments.csv:
the EDP ($24,000 for 2026), 1.8·10⁹ Claude tokens Apr–Sep 2026, 50 seats for $11,400 in 2026, 5,000
GPU-hours May–Jul 2026, and the 2025 EDP (ended). Every number below is worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.calibrate.commitments import (
    commitment_use,
    contract_entries,
    is_commitment_dataset,
    read_commitments,
    utilisation,
)
from sim.calibrate.formats import COMMITMENT_DATASET, detect, read
from sim.calibrate.usage import UsageError
from tests.conftest import chat, make

FIX = Path(__file__).resolve().parent / "fixtures" / "usage"
CC = FIX / "focus_1_3_contract_commitments.csv"
COST = FIX / "focus_1_3.csv"
HEAD = ("BillingCurrency,ContractCommitmentCategory,ContractCommitmentCost,ContractCommitmentDescription,"
        "ContractCommitmentId,ContractCommitmentPeriodEnd,ContractCommitmentPeriodStart,ContractCommitmentQuantity,"
        "ContractCommitmentType,ContractCommitmentUnit,ContractId,ContractPeriodEnd,ContractPeriodStart")


def _cc(tmp_path, *rows, head=HEAD, name="cc.csv"):
    f = tmp_path / name
    f.write_text(head + "\n" + "\n".join(rows) + "\n")
    return f


def _row(cid="c1", cat="Spend", cost="1200", qty="", unit="", start="2026-01-01T00:00:00Z",
         end="2027-01-01T00:00:00Z", cur="USD", kind="Enterprise Agreement"):
    return f"{cur},{cat},{cost},desc,{cid},{end},{start},{qty},{kind},{unit},k1,2030-01-01,2020-01-01"


def _problems(fn, *a, **kw):
    with pytest.raises(UsageError) as e:
        fn(*a, **kw)
    return [str(p) for p in e.value.problems]


# ---- the dataset ----------------------------------------------------------------------------------
def test_the_dataset_is_told_apart_from_a_cost_export():
    assert is_commitment_dataset(CC) and not is_commitment_dataset(COST)
    assert detect(CC)[0] == COMMITMENT_DATASET
    m = _problems(read, CC)
    assert len(m) == 1 and "Contract Commitment dataset" in m[0] and "read_commitments" in m[0]


def test_focus_1_3_cost_export_still_reads_as_focus_usage():
    """The 1.3 columns (ContractApplied, CommitmentDiscount*, ServiceProviderName…) change nothing of
    the usage; the CUD's Unused rows are idle commitment, not use: left out, with a warning."""
    assert detect(COST)[0] == "focus"
    u = read(COST)
    assert u.formats == ["focus"]
    by = u.periods.groupby("model")[["input_tokens", "output_tokens", "cost"]].sum()
    tri = 28  # Σ d, d = 1..7
    assert set(by.index) == {"ClaudeSonnet4.5", "gpt 4o mini 0718", "Gemini 2.5 Flash"}
    assert by.loc["ClaudeSonnet4.5", "input_tokens"] == 1e6 * tri
    assert by.loc["ClaudeSonnet4.5", "output_tokens"] == 2e5 * tri
    assert by.loc["ClaudeSonnet4.5", "cost"] == pytest.approx(5.4 * tri)
    assert by.loc["Gemini 2.5 Flash", "input_tokens"] == 2e6 * tri
    assert by.loc["Gemini 2.5 Flash", "cost"] == pytest.approx(0.432 * tri)
    assert by.loc["gpt 4o mini 0718", "input_tokens"] == 1e6 * tri
    unused = 7 * 3.5 - 0.432 * tri
    assert any("7 AI row(s) with CommitmentDiscountStatus Unused" in w and f"{unused:,.2f}" in w for w in u.warnings)


def test_read_commitments_of_the_fixture():
    cf = read_commitments(CC)
    assert [c.id for c in cf.commitments] == ["cc-aws-edp-2026", "cc-claude-tokens-2026", "cc-q-developer-seats-2026",
                                             "cc-gpu-reservation-2026q2", "cc-aws-edp-2025"]
    edp, tok, seats = cf.commitments[:3]
    assert (edp.category, edp.amount, edp.currency, edp.line) == ("Spend", 24000.0, "USD", 2)
    assert edp.start == pd.Timestamp("2026-01-01", tz="UTC") and edp.end == pd.Timestamp("2027-01-01", tz="UTC")
    assert (tok.category, tok.amount, tok.unit, tok.line) == ("Usage", 1.8e9, "Tokens", 3)
    assert (seats.amount, seats.unit, seats.cost) == (50.0, "Seats", 11400.0)
    assert edp.contract_id == "agr-aws-2026" and edp.type == "Enterprise Discount Program"
    assert cf.warnings == []


def test_parquet_dataset_reads_as_its_csv(tmp_path):
    pq = tmp_path / "cc.parquet"
    df = pd.read_csv(CC)
    for c in ("ContractCommitmentPeriodStart", "ContractCommitmentPeriodEnd", "ContractPeriodStart", "ContractPeriodEnd"):
        df[c] = pd.to_datetime(df[c], utc=True)  # typed as a Parquet export would carry them
    df.to_parquet(pq)
    assert is_commitment_dataset(pq)
    a, b = read_commitments(CC).commitments, read_commitments(pq).commitments
    assert [(c.id, c.amount, c.start, c.end, c.line) for c in a] == [(c.id, c.amount, c.start, c.end, c.line) for c in b]


def test_null_cells_as_focus_sample_data_writes_them(tmp_path):
    f = _cc(tmp_path, _row(qty="NULL", unit="NULL"), _row("c2", "Usage", "NULL", "1000000", "Tokens"))
    c1, c2 = read_commitments(f).commitments
    assert c1.amount == 1200 and pd.isna(c1.quantity) and c1.unit == ""
    assert c2.amount == 1e6 and pd.isna(c2.cost)


@pytest.mark.parametrize("rows, where, what", [
    ([_row(cost="12k")], ":2: ContractCommitmentCost:", "a value that is not a number"),
    ([_row(start="soon")], ":2: ContractCommitmentPeriodStart:", "a timestamp that cannot be read"),
    ([_row(cat="Commit")], ":2: ContractCommitmentCategory:", "unknown category 'Commit' (expected Spend or Usage)"),
    ([_row(cost="")], ":2: ContractCommitmentCost:", "a Spend commitment without a cost"),
    ([_row(cat="Usage", cost="", qty="5")], ":2: ContractCommitmentUnit:", "a Usage commitment without a unit"),
    ([_row(cat="Usage", cost="", unit="Tokens")], ":2: ContractCommitmentQuantity:", "without a quantity"),
    ([_row(end="2025-06-01T00:00:00Z")], ":2: ContractCommitmentPeriodEnd:", "a period ending at or before it starts"),
    ([_row(cost="-5")], ":2: ContractCommitmentCost:", "a negative quantity"),
    ([_row(), _row()], ":3: ContractCommitmentId:", "'c1' repeats line 2"),
])
def test_bad_rows_are_located(tmp_path, rows, where, what):
    m = _problems(read_commitments, _cc(tmp_path, *rows))
    assert len(m) == 1 and where in m[0] and what in m[0], m


def test_missing_columns_and_mixed_currencies(tmp_path):
    head = HEAD.replace(",ContractCommitmentUnit", "").replace("BillingCurrency,", "")
    f = tmp_path / "m.csv"
    f.write_text(head + "\n")
    m = _problems(read_commitments, f)
    assert len(m) == 1 and ":1:" in m[0] and "missing column(s) ContractCommitmentUnit, BillingCurrency" in m[0]
    m = _problems(read_commitments, _cc(tmp_path, _row(), _row("c2", cur="EUR"), _row("c3")))
    assert len(m) == 2 and all("mixed currencies EUR, USD" in x for x in m)
    assert any(":3: BillingCurrency: mixed currencies EUR, USD: EUR at" in x for x in m)
    assert any(":2: BillingCurrency: mixed currencies EUR, USD: USD at" in x and "cc.csv:4" in x for x in m)


# ---- the cost rows ----------------------------------------------------------------------------------
def test_contract_applied_and_commitment_discounts_of_the_fixture():
    use = commitment_use(COST)
    tri = 28
    edp = use.contracts["cc-aws-edp-2026"]
    assert edp.contract_id == "agr-aws-2026" and edp.rows == 21  # 14 Bedrock + 7 EC2 rows
    assert edp.cost == pytest.approx(5.4 * tri + 21.6 * 7)  # 151.2 + 151.2
    assert edp.ai_cost == pytest.approx(5.4 * tri) and edp.ai_share == pytest.approx(0.5)
    assert edp.billed_discount == pytest.approx(0.1)  # contracted 0.9 × list on every row
    assert edp.models == {"ClaudeSonnet4.5"}
    tok = use.contracts["cc-claude-tokens-2026"]
    assert tok.quantity == {"Tokens": pytest.approx(1.2e6 * tri)} and tok.tokens() == pytest.approx(1.2e6 * tri)
    assert tok.ai_share == 1.0
    assert use.billed_cost == pytest.approx(5.4 * tri + 21.6 * 7 + 0.6 * tri * 0.5 + 7 * 3.5)  # Azure 0.3d a day
    assert use.ai_billed_cost == pytest.approx(5.4 * tri + 0.3 * tri + 7 * 3.5)
    assert use.covered_share("cc-aws-edp-2026") == pytest.approx(5.4 * tri / use.ai_billed_cost)
    cud = use.discounts["projects/gcp-1/regions/us-central1/commitments/vertex-flex-cud"]
    assert (cud.category, cud.type, cud.unit, cud.ai, cud.rows) == ("Spend", "Committed Use Discount", "USD", True, 14)
    assert cud.used_quantity == pytest.approx(0.432 * tri)
    assert cud.unused_quantity == pytest.approx(7 * 3.5 - 0.432 * tri)
    assert cud.utilisation == pytest.approx(0.432 * tri / 24.5)
    s = use.summary()
    assert {x["id"] for x in s["contract_commitments"]} == {"cc-aws-edp-2026", "cc-claude-tokens-2026"}
    assert s["commitment_discounts"][0]["utilisation"] == pytest.approx(0.432 * tri / 24.5, abs=1e-6)


def test_utilisation_pace_over_the_export():
    u = {r["id"]: r for r in utilisation(read_commitments(CC).commitments, commitment_use(COST))}
    edp = u["cc-aws-edp-2026"]
    assert edp["days_in_export"] == 7 and edp["drawn_in_export"] == pytest.approx(302.4)
    assert edp["pro_rata"] == pytest.approx(24000 * 7 / 365, abs=1e-5)
    assert edp["pace"] == pytest.approx(302.4 / (24000 * 7 / 365), abs=1e-5)
    tok = u["cc-claude-tokens-2026"]
    assert tok["pace"] == pytest.approx(33.6e6 / (1.8e9 * 7 / 183), abs=1e-5)  # Apr–Sep: 183 days
    assert u["cc-aws-edp-2025"]["days_in_export"] == 0 and u["cc-aws-edp-2025"]["pace"] is None


def _cost(tmp_path, applied, extra="", name="c.csv"):
    head = ("ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,ServiceName,ConsumedQuantity,ConsumedUnit,"
            "ListCost,ContractedCost,BilledCost,BillingCurrency,SkuMeter,ResourceId,ContractApplied" + extra)
    f = tmp_path / name
    f.write_text(head + "\n" + "\n".join(applied) + "\n")
    return f


def _crow(applied, start="2026-06-01T00:00:00Z", end="2026-07-01T00:00:00Z", cat="Usage", cost="400",
          resource="r1", extra=""):
    q = '"' + applied.replace('"', '""') + '"' if applied else ""
    return (f"{start},{end},{cat},AI and Machine Learning,Bedrock,1000000,Tokens,{cost},{cost},{cost},USD,"
            f"Model input tokens,{resource},{q}{extra}")


@pytest.mark.parametrize("applied, what", [
    ('{"Elements": [{"ContractCommitmentId": "c1", "ContractCommitmentAppliedCost": 1}', "not JSON"),
    ('{"Elements": {"ContractCommitmentId": "c1"}}', 'expected a JSON object {"Elements": [...]}'),
    ('{"Elements": [{"ContractCommitmentAppliedCost": 1}]}', "an element without a ContractCommitmentId"),
    ('{"Elements": [{"ContractCommitmentId": "c1"}]}', "neither ContractCommitmentAppliedCost nor"),
    ('{"Elements": [{"ContractCommitmentId": "c1", "ContractCommitmentAppliedQuantity": 5}]}',
     "an applied quantity without ContractCommitmentAppliedUnit"),
    ('{"Elements": [{"ContractCommitmentId": "c1", "ContractCommitmentAppliedCost": "lots"}]}',
     "an applied cost or quantity that is not a number"),
])
def test_bad_contract_applied_is_located(tmp_path, applied, what):
    ok = '{"Elements": [{"ContractId": "k", "ContractCommitmentId": "c1", "ContractCommitmentAppliedCost": 1}]}'
    f = _cost(tmp_path, [_crow(ok), _crow(ok), _crow(applied)])
    m = _problems(commitment_use, f)
    assert len(m) == 1 and ":4: ContractApplied: 1 row with" in m[0] and what in m[0], m


def test_contract_applied_spellings_purchases_and_unused_portions(tmp_path):
    """The printed 1.3 text's ``…ID`` keys and a bare list read as the errata's ``…Id``; a Purchase
    row and a Usage row whose ResourceId is the commitment (its unused portion) are not use."""
    f = _cost(tmp_path, [
        _crow('{"Elements": [{"ContractID": "k", "ContractCommitmentID": "c1", "ContractCommitmentAppliedCost": 400}]}'),
        _crow('[{"ContractCommitmentId": "c1", "ContractCommitmentAppliedCost": 100}]', cost="100"),
        _crow('{"Elements": [{"ContractCommitmentId": "c1", "ContractCommitmentAppliedCost": 1000}]}', cat="Purchase",
              cost="1000", resource="c1"),
        _crow('{"Elements": [{"ContractCommitmentId": "c1", "ContractCommitmentAppliedCost": 50}]}', cost="50",
              resource="c1"),
    ])
    a = commitment_use(f).contracts["c1"]
    assert (a.cost, a.purchase_cost, a.unused_cost, a.rows, a.contract_id) == (500.0, 1000.0, 50.0, 4, "k")


def test_bad_commitment_discount_columns_are_located(tmp_path):
    extra = ",CommitmentDiscountId,CommitmentDiscountCategory,CommitmentDiscountStatus,CommitmentDiscountQuantity"
    f = _cost(tmp_path, [_crow("", extra=",d1,Spend,Used,4"), _crow("", extra=",d1,Spend,Idle,x"),
                         _crow("", extra=",d1,Saving,Used,1")], extra=extra)
    m = _problems(commitment_use, f)
    assert len(m) == 3
    assert any(":3: CommitmentDiscountQuantity: 1 row with a value that is not a number" in x for x in m)
    assert any(":3: CommitmentDiscountStatus:" in x and "'Idle'" in x for x in m)
    assert any(":4: CommitmentDiscountCategory:" in x and "'Saving'" in x for x in m)


def test_an_export_without_commitment_columns_is_a_warning():
    use = commitment_use(FIX / "focus_1_2.csv")
    assert use.contracts == {} and use.discounts == {}
    assert any("no ContractApplied or CommitmentDiscountId column" in w for w in use.warnings)


# ---- contracts: entries ---------------------------------------------------------------------------
def test_contract_entries_of_the_fixture_validate_as_a_scenario():
    """Horizon 2026-07 + 12 months. The EDP began 6 months before: the export (7 June days) does not
    cover them, so 24,000 × 6/12 = 12,000 is left (straight line), of which AI drew 50 %: 6,000 over
    6 months = 1,000 a month, one pool (true_up). The token commitment: 1.8·10⁹ × 3/6 left over 3
    months = 3·10⁸ a month. Seats: 50 at 11,400 / 50 / 12 = 19 a seat-month for the 6 months left.
    The GPU-hours and the ended 2025 EDP are warnings, not entries."""
    cf = read_commitments(CC)
    ce = contract_entries(cf.commitments, start="2026-07", months=12, use=commitment_use(COST), currency="USD",
                          models=["acme/m1"])
    by = {e["name"]: e for e in ce.entries}
    assert list(by) == ["cc-aws-edp-2026", "cc-claude-tokens-2026", "cc-q-developer-seats-2026"]
    assert by["cc-aws-edp-2026"] == {"name": "cc-aws-edp-2026", "kind": "dollar_commit", "models": ["acme/m1"],
                                     "start_month": 0, "term_months": 6, "period_months": 1, "amount": 1000.0,
                                     "discount": 0.0, "overage_rate": 1.0, "rollover_share": 0.0, "true_up": True}
    t = by["cc-claude-tokens-2026"]
    assert (t["kind"], t["term_months"], t["amount"], t["true_up"]) == ("token_commit", 3, 3e8, True)
    assert by["cc-q-developer-seats-2026"] == {"name": "cc-q-developer-seats-2026", "kind": "seats", "start_month": 0,
                                               "term_months": 6, "units": 50.0, "price_per_unit_month": 19.0}
    assert ce.names == {"cc-aws-edp-2026": "cc-aws-edp-2026", "cc-claude-tokens-2026": "cc-claude-tokens-2026",
                        "cc-q-developer-seats-2026": "cc-q-developer-seats-2026"}
    w = "\n".join(ce.warnings)
    assert f"{CC}:5: ContractCommitmentUnit: cc-gpu-reservation-2026q2: not a contract entry" in w
    assert f"{CC}:6: ContractCommitmentPeriodEnd: cc-aws-edp-2025: not a contract entry: its period ended" in w
    assert "12,000 of 24,000 USD taken as left" in w and "(6,000 of 12,000 USD)" in w
    assert "10.0% off list is known" in w  # the billed discount, not written (the price override has it)
    sc = make([chat()], horizon={"start": "2026-07", "months": 12}, contracts=ce.entries)
    assert [(c.name, c.kind) for c in sc.contracts] == [("cc-aws-edp-2026", "dollar_commit"),
                                                        ("cc-claude-tokens-2026", "token_commit"),
                                                        ("cc-q-developer-seats-2026", "seats")]
    assert sc.contracts[0].amount == 1000 and sc.contracts[0].true_up and sc.contracts[2].price_per_unit_month == 19


def test_without_use_and_models_every_model_and_the_whole_commitment():
    ce = contract_entries(read_commitments(CC).commitments, start="2026-04", months=6)
    by = {e["name"]: e for e in ce.entries}
    assert by["cc-claude-tokens-2026"]["amount"] == 3e8 and by["cc-claude-tokens-2026"]["term_months"] == 6
    assert by["cc-aws-edp-2026"]["amount"] == 2000.0  # 24,000 × 9/12 left over 9 months, not scaled to AI
    assert by["cc-aws-edp-2026"]["term_months"] == 9 and by["cc-aws-edp-2026"]["models"] == []
    assert sum("covers every API model" in w for w in ce.warnings) == 2
    assert any("cc-gpu-reservation-2026q2" in w and "not a contract entry" in w for w in ce.warnings)
    assert any("cc-aws-edp-2026: its term runs 3 month(s) past the horizon's end" in w for w in ce.warnings)
    make([chat()], horizon={"start": "2026-04", "months": 6}, contracts=ce.entries)


def test_what_was_drawn_before_the_horizon_when_the_export_covers_it(tmp_path):
    """A $1,000 commitment Jun–Nov 2026; the export's June drew $400 on it: $600 left for the 5
    months from July, $120 a month."""
    c = read_commitments(_cc(tmp_path, _row("c1", cost="1000", start="2026-06-01T00:00:00Z",
                                            end="2026-12-01T00:00:00Z"))).commitments
    use = commitment_use(_cost(tmp_path, [_crow('{"Elements": [{"ContractCommitmentId": "c1", '
                                                '"ContractCommitmentAppliedCost": 400}]}')]))
    ce = contract_entries(c, start="2026-07", months=12, use=use, models=["acme/m1"])
    assert ce.entries[0]["amount"] == 120.0 and ce.entries[0]["term_months"] == 5
    assert any("400 USD drawn by then (ContractApplied), 600 of 1,000 left" in w for w in ce.warnings)


def test_fulfilment_interval_and_discount_of_the_1_4_draft(tmp_path):
    head = HEAD + ",ContractCommitmentFulfillmentInterval,ContractCommitmentDiscountPercentage"
    f = _cc(tmp_path, _row("m", cost="1200") + ",Monthly,0.15", _row("a", cost="2400", end="2028-01-01T00:00:00Z")
            + ",Annual,0.2", _row("h", cost="120") + ",Hourly,", _row("t", cost="120") + ",Total Term,", head=head)
    ce = contract_entries(read_commitments(f).commitments, start="2026-01", months=24, discount=None,
                          models=["acme/m1"])
    by = {e["name"]: e for e in ce.entries}
    assert (by["m"]["period_months"], by["m"]["true_up"], by["m"]["amount"], by["m"]["discount"]) == (1, False, 100, 0.15)
    assert (by["a"]["period_months"], by["a"]["true_up"], by["a"]["amount"], by["a"]["discount"]) == (12, False, 1200, 0.2)
    assert (by["h"]["period_months"], by["h"]["true_up"]) == (1, False)
    assert by["t"]["true_up"] is True and by["t"]["discount"] == 0.0
    assert any("h: its Hourly fulfilment is finer than a month" in w for w in ce.warnings)
    assert any("t: no discount known" in w for w in ce.warnings)
    make([chat()], horizon={"start": "2026-01", "months": 24}, contracts=ce.entries)


def test_what_cannot_be_expressed_is_a_located_warning(tmp_path):
    f = _cc(tmp_path, _row("ptu", "Usage", "9000", "10", "PTU"), _row("cred", "Usage", "500", "1000", "Credits"),
            _row("late", start="2028-01-01T00:00:00Z", end="2029-01-01T00:00:00Z"),
            _row("mid", cost="600", start="2026-01-15T00:00:00Z", end="2026-07-15T00:00:00Z"),
            _row("nofee", "Usage", "", "5", "Seats"))
    ce = contract_entries(read_commitments(f).commitments, start="2026-01", months=12)
    assert [e["name"] for e in ce.entries] == ["mid"]
    w = {x.split(": ", 3)[2].split(":")[0]: x for x in ce.warnings if "not a contract entry" in x}
    assert set(w) == {"ptu", "cred", "late", "nofee"}
    assert ":2: ContractCommitmentUnit: ptu: not a contract entry: provisioned throughput" in w["ptu"]
    assert "tokens_per_minute_per_unit" in w["ptu"] and "900 USD per PTU" in w["ptu"]
    assert "'Credits'" in w["cred"] and "after the horizon's last month" in w["late"]
    assert "without a ContractCommitmentCost have no price" in w["nofee"]
    assert any(":5: ContractCommitmentPeriodStart: mid: its period 2026-01-15..2026-07-15 is not whole months" in x
               for x in ce.warnings)


def test_currencies_and_repeated_ids_are_refused(tmp_path):
    a = read_commitments(_cc(tmp_path, _row("c1"), name="a.csv")).commitments
    b = read_commitments(_cc(tmp_path, _row("c1", cur="EUR"), name="b.csv")).commitments
    m = _problems(contract_entries, a + b, start="2026-01", months=12)
    assert len(m) == 3 and sum("mixed currencies EUR, USD" in x for x in m) == 2
    assert any("b.csv:2: ContractCommitmentId: ContractCommitmentId 'c1' is also" in x for x in m)
    m = _problems(contract_entries, a, start="2026-01", months=12, currency="EUR")
    assert len(m) == 1 and "a.csv:2: BillingCurrency: c1: the commitment is in USD, the usage in EUR" in m[0]


def test_only_non_ai_draws_and_unique_names(tmp_path):
    """A commitment only non-AI charges drew on covers nothing the scenario models; ids that
    differ only in characters a name cannot hold get distinct names."""
    f = _cc(tmp_path, _row("ec2/only"), _row("x.1"), _row("x 1"))
    cost = tmp_path / "c.csv"
    cost.write_text("ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,ServiceName,BilledCost,"
                    "ContractApplied\n2026-06-01,2026-06-02,Usage,Compute,EC2,5,"
                    '"{""Elements"": [{""ContractCommitmentId"": ""ec2/only"", ""ContractCommitmentAppliedCost"": 5}]}"\n')
    ce = contract_entries(read_commitments(f).commitments, start="2026-07", months=3, use=commitment_use(cost),
                          scale_to_ai=True, models=["acme/m1"])
    assert [e["name"] for e in ce.entries] == ["x_1", "x_1_2"]
    assert any("ec2/only: not a contract entry: only non-AI charges draw on it" in w for w in ce.warnings)
    assert sum("no charge of the cost export draws on it" in w for w in ce.warnings) == 2
    make([chat()], horizon={"start": "2026-07", "months": 3}, contracts=ce.entries)


def test_parquet_cost_export_reads_as_its_csv(tmp_path):
    pq = tmp_path / "focus_1_3.parquet"
    pd.read_csv(COST).to_parquet(pq)  # typed numbers, nulls for empty cells
    a, b = commitment_use(COST), commitment_use(pq)
    assert a.summary()["contract_commitments"] == b.summary()["contract_commitments"]
    assert a.summary()["commitment_discounts"] == b.summary()["commitment_discounts"]
    assert read(pq).periods["cost"].sum() == pytest.approx(read(COST).periods["cost"].sum())
