"""`tokensim commit` outputs: overage and stranded in money and in the commitment's unit, tables that
never run together.

The expected numbers are worked out by hand in the comments from the scenario below (deterministic
Monte Carlo: every count is its mean), never copied from the program's output.

Demand (conftest.chat, one turn, no retries, no day noise): 100 users × 10 sessions a day, each
session 600 input tokens (500 system + 100 user) and 200 output tokens of acme/m1 at $2 / $8 per
million tokens, so 800 tokens and 600 × 2e-6 + 200 × 8e-6 = $0.0028 a session; the list price per
token is p = 0.0028 / 800 = $3.5e-6. Three months, February to April 2027 (28, 31, 30 days):

    sessions           28,000       31,000       30,000
    tokens         22,400,000   24,800,000   24,000,000      (800 per session)
    list spend, $       78.40        86.80        84.00      (0.0028 per session); total 249.20
"""

from __future__ import annotations

import json
from pathlib import Path
import re

import numpy as np
import pytest
import yaml

from sim.analysis import commit
from sim.analysis.common import amount_str, text_table
from sim.mc.runner import run
from tests.conftest import BASE, chat, make

NO_RETRY = {"error_rate": 0, "timeout_rate": 0, "validation_failure_rate": 0, "max_attempts": 1}
WORKLOAD = chat(retry=NO_RETRY)
HORIZON = {"start": "2027-02", "months": 3}
NOISE = {"day_cv": 0.0}
TOKENS = np.array([22.4e6, 24.8e6, 24.0e6])
LIST = np.array([78.4, 86.8, 84.0])
P = 3.5e-6  # list price per token


def _analyse(sc):
    ds, _ = run(commit.options_scenario(sc), paths=2, deterministic=True)
    return commit.commit_analysis(ds, sc), ds


def _opt(r, name):
    return next(o for o in r["options"] if o["strategy"] == name)


# ---- dollar commit ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dollar():
    sc = make([WORKLOAD], horizon=HORIZON, demand_noise=NOISE,
              contracts=[{"name": "dc", "kind": "dollar_commit", "models": ["acme/m1"], "amount": 0,
                          "discount": 0.2, "overage_rate": 1.0, "term_months": 3}],
              strategies=[{"name": "payg"},
                          {"name": "dc65", "set": {"contracts.dc.amount": 65}},
                          {"name": "dc65_over150", "set": {"contracts.dc.amount": 65, "contracts.dc.overage_rate": 1.5}}])
    return _analyse(sc)


def test_dollar_commit_overage_is_billed_at_units_over_one_minus_discount(dollar):
    r, _ = dollar
    # use draws the commitment down at its discounted spend, 0.8 × list: 62.72, 69.44, 67.20 commit $.
    # A = 65 commit $ a month:
    #   Feb  62.72 < 65: drawn 62.72, stranded 65 − 62.72 = 2.28, overage 0
    #   Mar  69.44 > 65: drawn 65, overage 4.44
    #   Apr  67.20 > 65: drawn 65, overage 2.20
    # overage 6.64 commit $, billed 6.64 / (1 − 0.2) × r: 8.30 $ at r = 1, 12.45 $ at r = 1.5.
    # stranded 2.28 commit $ were paid in full: stranded cost 2.28 $.
    # total cost = 3 × 65 + overage bill = 203.30 (r = 1), 207.45 (r = 1.5); pay as you go 249.20.
    o = _opt(r, "dc65")
    assert o["expected_overage"] == pytest.approx(6.64, rel=1e-9)
    assert o["expected_overage_cost"] == pytest.approx(8.30, rel=1e-9)
    assert o["expected_overage_cost"] == pytest.approx(o["expected_overage"] / (1 - 0.2), rel=1e-12)
    assert o["expected_stranded"] == pytest.approx(2.28, rel=1e-9)
    assert o["expected_stranded_cost"] == pytest.approx(2.28, rel=1e-9)
    assert o["expected_drawn"] == pytest.approx(62.72 + 65 + 65, rel=1e-9)
    assert o["expected_cost"] == pytest.approx(203.30, rel=1e-9)
    o15 = _opt(r, "dc65_over150")
    assert o15["expected_overage"] == pytest.approx(6.64, rel=1e-9)
    assert o15["expected_overage_cost"] == pytest.approx(12.45, rel=1e-9)
    assert o15["expected_cost"] == pytest.approx(207.45, rel=1e-9)
    payg = _opt(r, "payg")
    assert payg["expected_cost"] == pytest.approx(249.20, rel=1e-9)
    assert payg["expected_overage_cost"] == 0 and payg["expected_stranded_cost"] == 0
    c = o["contracts"]["dc"]  # per contract, unit-valued keys kept beside the money
    assert c["kind"] == "dollar_commit" and c["unit"] == "USD"
    assert c["expected_overage_cost"] == pytest.approx(8.30, rel=1e-9)
    assert c["expected_stranded_cost"] == pytest.approx(2.28, rel=1e-9)


def test_dollar_commit_table_labels_money_and_commitment_dollars(dollar):
    r, _ = dollar
    text = commit.commit_text(r)
    lines = text.splitlines()
    i = next(k for k, x in enumerate(lines) if x.startswith("option"))
    head, units, rule = lines[i], lines[i + 1], lines[i + 2]
    assert set(rule) == {"-"}
    assert head.split("  ")[0] == "option"
    # the unit line: USD under the money columns, "commit USD" under the commitment-unit columns
    assert re.findall(r"commit USD", units) == ["commit USD", "commit USD"]
    assert len(re.findall(r"(?<!commit )USD", units)) == 7  # cost, P95, CVaR, stranded, overage, Δ, se
    row = next(x for x in lines if x.startswith("dc65 "))
    cells = re.split(r" {2,}", row.strip())
    headers = re.split(r" {2,}", head.strip())
    assert len(cells) == len(headers) == 12
    got = dict(zip(["option", "cost", "p95", "cvar", "stranded_usd", "overage_usd", "stranded_unit",
                    "overage_unit", "util", "p_below", "delta", "se"], cells))
    assert got["overage_usd"] == "8" and got["overage_unit"] == "7"  # 8.30 $ billed for 6.64 commit $
    assert got["stranded_usd"] == "2" and got["stranded_unit"] == "2"
    assert got["cost"] == "203"


def test_commit_json_has_money_beside_the_unit_keys(tmp_path, capsys):
    from sim.cli import main  # the whole tokensim command line (sim/cli.py or the sim/cli package)

    d = dict(BASE, name="dc_json", workloads=[chat(sessions_per_user_per_day={"dist": "uniform", "low": 5,
                                                                              "high": 15})],
             horizon=HORIZON,
             contracts=[{"name": "dc", "kind": "dollar_commit", "models": ["acme/m1"], "amount": 0,
                         "discount": 0.25, "term_months": 3}],
             strategies=[{"name": "payg"}, {"name": "dc60", "set": {"contracts.dc.amount": 60}}])
    f = tmp_path / "dc.yaml"
    f.write_text(yaml.safe_dump(d, sort_keys=False))
    assert main(["commit", str(f), "--paths", "8", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    keys = ("strategy", "commit", "expected_cost", "se_expected_cost", "p5_cost", "p50_cost", "p95_cost",
            "cvar_cost", "expected_stranded", "expected_overage", "expected_drawn", "stranded_unit",
            "utilization", "p_utilization_below_threshold", "difference_vs_optimum", "se_difference_vs_optimum",
            "on_frontier", "contracts", "expected_overage_cost", "expected_stranded_cost")
    for o in obj["options"]:
        assert all(k in o for k in keys), set(keys) - set(o)
        assert isinstance(o["expected_overage_cost"], float) and isinstance(o["expected_stranded_cost"], float)
    o = next(o for o in obj["options"] if o["strategy"] == "dc60")
    # overage at list (rate 1): every path's overage bill is its overage in commit $ / (1 − 0.25),
    # so the means are too; stranded commitment dollars are money as they are
    assert o["expected_overage"] > 0
    assert o["expected_overage_cost"] == pytest.approx(o["expected_overage"] / 0.75, rel=1e-12)
    assert o["expected_stranded_cost"] == pytest.approx(o["expected_stranded"], rel=1e-12, abs=1e-12)


# ---- token commit -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokens():
    sc = make([WORKLOAD], horizon=HORIZON, demand_noise=NOISE,
              contracts=[{"name": "tc", "kind": "token_commit", "models": ["acme/m1"], "amount": 0,
                          "discount": 0.3, "overage_rate": 1.0, "term_months": 3}],
              strategies=[{"name": "payg"},
                          {"name": "tc23", "set": {"contracts.tc.amount": 23e6}},
                          {"name": "tc23_roll", "set": {"contracts.tc.amount": 23e6, "contracts.tc.rollover_share": 0.5}},
                          {"name": "tc25_trueup", "set": {"contracts.tc.amount": 25e6, "contracts.tc.true_up": True}}])
    return _analyse(sc)


def test_token_commit_money_by_hand(tokens):
    r, ds = tokens
    # committed tokens cost p(1 − d) = 3.5e-6 × 0.7 = 2.45e-6 $; overage tokens p × r = 3.5e-6 $.
    # tc23, A = 23M tokens a month against 22.4M, 24.8M, 24.0M:
    #   Feb stranded 0.6M → 0.6e6 × 2.45e-6 = 1.47 $;  Mar overage 1.8M → 6.30 $;  Apr overage 1.0M → 3.50 $
    #   stranded 0.6M tokens / 1.47 $, overage 2.8M tokens / 9.80 $, cost 3 × 23e6 × 2.45e-6 + 9.80 = 178.85 $
    o = _opt(r, "tc23")
    assert o["expected_stranded"] == pytest.approx(0.6e6, rel=1e-9)
    assert o["expected_stranded_cost"] == pytest.approx(1.47, rel=1e-9)
    assert o["expected_overage"] == pytest.approx(2.8e6, rel=1e-9)
    assert o["expected_overage_cost"] == pytest.approx(9.80, rel=1e-9)
    assert o["expected_cost"] == pytest.approx(178.85, rel=1e-9)
    assert o["contracts"]["tc"]["unit"] == "tokens"
    # tc23_roll, half of the unused rolls over: Feb unused 0.6M, 0.3M carried, 0.3M stranded (0.735 $);
    #   Mar 23.3M available, overage 1.5M (5.25 $); Apr overage 1.0M (3.50 $)
    #   stranded 0.3M / 0.735 $, overage 2.5M / 8.75 $, cost 169.05 + 8.75 = 177.80 $
    o = _opt(r, "tc23_roll")
    assert o["expected_stranded"] == pytest.approx(0.3e6, rel=1e-9)
    assert o["expected_stranded_cost"] == pytest.approx(0.735, rel=1e-9)
    assert o["expected_overage"] == pytest.approx(2.5e6, rel=1e-9)
    assert o["expected_overage_cost"] == pytest.approx(8.75, rel=1e-9)
    assert o["expected_cost"] == pytest.approx(177.80, rel=1e-9)
    # tc25_trueup, one pool of 75M tokens for the term against 71.2M used: 3.8M short at the end,
    #   billed (the true-up) 3.8e6 × 2.45e-6 = 9.31 $ and that is the stranded cost; no overage;
    #   cost 75e6 × 2.45e-6 = 183.75 $
    o = _opt(r, "tc25_trueup")
    assert o["expected_stranded"] == pytest.approx(3.8e6, rel=1e-9)
    assert o["expected_stranded_cost"] == pytest.approx(9.31, rel=1e-9)
    assert o["expected_overage"] == pytest.approx(0.0, abs=1e-6) and o["expected_overage_cost"] == pytest.approx(0, abs=1e-9)
    assert o["expected_cost"] == pytest.approx(183.75, rel=1e-9)
    # the Dataset carries the money per month: Mar and Apr overage bills of tc23
    oc = ds["overage_cost"].sel(strategy="tc23", contract="tc").isel(path=0).values
    assert np.allclose(oc, [0.0, 6.30, 3.50], rtol=1e-9, atol=1e-12)
    assert ds["overage_cost"].attrs["units"] == "currency"


def test_provisioned_throughput_stranded_cost_is_the_unused_share_of_the_fee():
    # 1 unit of 10,000 tokens a minute = 600,000 tokens an hour, 18 × the 33,333 an hour of demand
    # (800 tokens × 1,000 sessions a day / 24 h), so nothing spills and no hour matters. Capacity per
    # month 600,000 × 24 × (28, 31, 30) = 403.2M, 446.4M, 432M tokens against 22.4M, 24.8M, 24M used:
    # 1/18 used each month, 17/18 stranded. Fee $100 a month: stranded cost 3 × 100 × 17/18 = 283.33 $,
    # no overage; cost 300 $.
    sc = make([WORKLOAD], horizon=HORIZON, demand_noise=NOISE,
              contracts=[{"name": "pt", "kind": "provisioned_throughput", "models": ["acme/m1"], "units": 0,
                          "tokens_per_minute_per_unit": 10_000, "price_per_unit_month": 100, "term_months": 3}],
              strategies=[{"name": "payg"}, {"name": "pt1", "set": {"contracts.pt.units": 1}}])
    r, _ = _analyse(sc)
    o = _opt(r, "pt1")
    assert o["expected_stranded"] == pytest.approx(403.2e6 + 446.4e6 + 432e6 - TOKENS.sum(), rel=1e-9)
    assert o["expected_stranded_cost"] == pytest.approx(300 * 17 / 18, rel=1e-9)
    assert o["expected_overage"] == pytest.approx(0, abs=1e-6) and o["expected_overage_cost"] == pytest.approx(0, abs=1e-9)
    assert o["expected_cost"] == pytest.approx(300, rel=1e-9)
    assert o["contracts"]["pt"]["unit"] == "tokens"


# ---- rendering ----------------------------------------------------------------------------------------------
def test_text_table_columns_never_touch():
    lines = text_table([("name", ""), ("a", "USD"), ("b", "tokens")],
                       [["x", amount_str(1e12), amount_str(1e15)], ["yy", amount_str(-0.0001), amount_str(None)]])
    # widths: "name" 4, 1e12 → "1,000,000,000,000" 17, 1e15 → "1,000,000,000,000,000" 21; gaps of 2
    assert lines[3] == "x" + " " * 3 + "  " + "1,000,000,000,000" + "  " + "1,000,000,000,000,000"
    assert lines[4] == "yy" + " " * 2 + "  " + " " * 16 + "0" + "  " + " " * 20 + "—"
    assert lines[0].endswith("b") and lines[1].endswith("tokens") and set(lines[2]) == {"-"}
    with pytest.raises(ValueError):
        text_table([("a",)], [["1", "2"]])


@pytest.mark.parametrize("scale_tokens, scale_money", [(1e15, 1e12), (1.0, 1.0), (1e15, 1e-3)])
def test_commit_table_stays_separated_at_any_magnitude(tokens, scale_tokens, scale_money):
    r, _ = tokens
    r = json.loads(json.dumps({k: v for k, v in r.items() if k != "utilization_samples"}))
    money = ("expected_cost", "p95_cost", "cvar_cost", "expected_stranded_cost", "expected_overage_cost",
             "difference_vs_optimum", "se_difference_vs_optimum")
    for i, o in enumerate(r["options"]):
        # distinct values near the top of each magnitude: 999…, then smaller per option
        for k in money:
            o[k] = (9.99 - i) * scale_money
        for c in o["contracts"].values():
            c["expected_stranded"] = (9.99 - i) * 0.1 * scale_tokens  # up to ~1e15 tokens
            c["expected_overage"] = 1.0e15 if scale_tokens == 1e15 and i == 0 else (9.99 - i) * scale_tokens
    lines = commit.commit_table(r)
    headers = re.split(r" {2,}", lines[0].strip())
    assert len(headers) == 12
    for o, line in zip(r["options"], lines[3:]):
        cells = re.split(r" {2,}", line.strip())
        assert len(cells) == len(headers), line
        c = o["contracts"]["tc"]
        assert cells[1] == amount_str(o["expected_cost"])
        assert cells[4] == amount_str(o["expected_stranded_cost"]) and cells[5] == amount_str(o["expected_overage_cost"])
        assert cells[6] == amount_str(c["expected_stranded"]) and cells[7] == amount_str(c["expected_overage"])
    if scale_tokens == 1e15:
        assert "1,000,000,000,000,000" in lines[3].split()
    # every column ends at the same place on every line (right-aligned numbers)
    ends = [m.end() for m in re.finditer(r"\S+(?: \S+)*", lines[1])]  # the unit line
    for line in lines[3:]:
        row_ends = [m.end() for m in re.finditer(r"\S+(?: \S+)*", line)]
        assert set(ends) <= set(row_ends), (ends, row_ends)


def test_nothing_to_compare_is_said_and_an_api_only_tco_has_no_empty_line(capsys):
    """A scenario without commitments: commit says there is nothing to compare (text and JSON); tco
    on an API-only scenario prints no empty "by year of purchase" line and says why."""
    import json as _json

    from sim.cli import main as _main

    f = str(Path(__file__).resolve().parents[1] / "scenarios" / "examples" / "single_chat.yaml")
    assert _main(["commit", f, "--paths", "20", "--json"]) == 0
    assert _json.loads(capsys.readouterr().out)["nothing_to_compare"] is True
    assert _main(["commit", f, "--paths", "20"]) == 0
    assert "Nothing to compare" in capsys.readouterr().out
    assert _main(["tco", f, "--paths", "10"]) == 0
    out = capsys.readouterr().out
    assert "by year of purchase: 2027: \n" not in out + "\n" and "enables no GPU pool" in out


def test_csv_floats_carry_no_noise(tmp_path):
    """Every CSV's floats are rounded to 12 significant digits and written shortest: 712.5000000000038
    is 712.5, 0.1 + 0.2 is 0.3, a cent of a billion and a trillion tokens survive, in positional notation."""
    import pandas as pd

    from sim.io.files import write_csv

    f = write_csv(tmp_path / "x.csv", pd.DataFrame({"spend": [712.5000000000038, 0.1 + 0.2, 1234567890.12],
                                                   "tokens": [1e12, 3.0, 7.0]}))
    assert f.read_text().splitlines()[1:] == ["712.5,1000000000000.0", "0.3,3.0", "1234567890.12,7.0"]
