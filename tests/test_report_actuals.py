"""tokensim report --actuals and --backtest: the "Budget against actuals" and "Backtest" sections.

The flow is the README's (calibrate the example exports in calibration/exports/, run, budget
--actuals), small: 3 months, 50 paths, a backtest of one origin on 100 paths. The report's runway
must be the one tokensim budget --actuals prints (the same function on the same inputs); a bad
flag combination or a file that is not a backtest's output is refused with exit status 2 and a
message naming the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import cli_json, refusal

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT / "calibration" / "exports"




@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    d = tmp_path_factory.mktemp("flow")
    usage, costs = str(EXPORTS / "openai_usage_completions.json"), str(EXPORTS / "openai_costs.json")
    cal = cli_json(["calibrate", usage, costs, "--months", "3", "-o", str(d / "support.yaml")])
    mini = cal["scenarios"]["gpt-4.1-mini-2025-04-14"]
    cli_json(["run", mini, "--paths", "50", "--out", str(d / "mini"), "--quiet"])
    bt = cli_json(["backtest", usage, "--train-days", "28", "--horizon-days", "7", "--origins", "1", "--paths", "100",
                "--csv", str(d / "bt_days.csv")])
    (d / "bt.json").write_text(json.dumps(bt) + "\n")
    return {"dir": d, "results": str(d / "mini"), "actuals": str(d / "support.actuals.csv"),
            "bt": str(d / "bt.json"), "bt_days": str(d / "bt_days.csv"), "backtest": bt}


@pytest.mark.parametrize("within", [False, True])  # the budget lasts past the horizon, or runs out within it
def test_report_runway_is_budgets_runway(flow, tmp_path, within):
    res, acts = flow["results"], flow["actuals"]
    probe = cli_json(["budget", res, "--budget", "1e12", "--actuals", acts])["runway"]
    rest = probe["rest_of_year"]
    budget = f"{probe['ytd_spend'] + (0.5 * rest['p10'] if within else 1.5 * rest['p90']):.0f}"
    bud = cli_json(["budget", res, "--budget", budget, "--actuals", acts])["runway"]
    out = tmp_path / "r.html"
    rep = cli_json(["report", res, "-o", str(out), "--budget", budget, "--actuals", acts])
    assert rep["runway"] == bud  # every field, the runout dates and the year to date among them
    assert rep["runway"]["runout_date"] == bud["runout_date"] and rep["runway"]["ytd_spend"] == bud["ytd_spend"]
    page = out.read_text()
    assert "<h2>Budget against actuals</h2>" in page and 'aria-label="cumulative spend against the budget"' in page
    for k in ("p10", "p50", "p90"):
        assert (bud["runout_date"][k] or "not within the horizon") in page
    assert f"{bud['ytd_spend']:,.0f}" in page and f"{float(budget) - bud['ytd_spend']:,.0f}" in page
    t = pd.read_csv(tmp_path / "r_runway.csv").set_index("measure")
    assert t.loc["year to date", "value"] == round(bud["ytd_spend"], 2)  # money in a CSV: at cents
    assert t.loc["burn rate per day", "value"] == round(bud["burn_rate_per_day"], 2)
    assert t.loc["runs out", "p50"] == (bud["runout_date"]["p50"] or "not within the horizon")
    days = pd.read_csv(tmp_path / "r_runway_days.csv")
    past = days[days["actual_cumulative"].notna()]
    assert past["actual_cumulative"].iloc[-1] == pytest.approx(bud["ytd_spend"], abs=0.006)  # the chart ends at YTD
    fc = days[days["forecast_cumulative_p50"].notna()]
    assert fc["day"].iloc[0] == bud["forecast_from"] and fc["day"].iloc[-1] == bud["forecast_to"]
    if within:
        assert all(bud["runout_date"].values())  # every path runs out within the year
        assert bud["forecast_from"] < bud["runout_date"]["p10"] <= bud["runout_date"]["p50"] <= bud["runout_date"]["p90"]
    else:
        assert not any(bud["runout_date"].values()) and "not within the horizon" in page


def test_report_backtest_section(flow, tmp_path):
    out = tmp_path / "r.html"
    rep = cli_json(["report", flow["results"], "-o", str(out), "--backtest", flow["bt"], "--backtest-days",
                 flow["bt_days"]])
    bt = flow["backtest"]
    page = out.read_text()
    assert "<h2>Backtest: do the forecast's bands hold?</h2>" in page
    assert 'aria-label="bands vs actuals"' in page and 'aria-label="PIT histogram"' in page
    assert rep["backtest"]["days_evaluated"] == bt["pooled"]["days_evaluated"]
    assert rep["backtest"]["coverage"] == bt["pooled"]["coverage"] and rep["backtest"]["crps"] == bt["pooled"]["crps"]
    scores = pd.read_csv(tmp_path / "r_backtest_scores.csv")
    assert list(scores["series"]) == ["pooled", *bt["series"]]
    assert scores["P5–P95 coverage"].iloc[0] == pytest.approx(bt["pooled"]["coverage"]["p5_p95"])
    assert (tmp_path / "r_backtest_days.csv").exists()
    # without the days: the scores and the PIT (from the pooled counts), no band chart
    rep = cli_json(["report", flow["results"], "-o", str(tmp_path / "s.html"), "--backtest", flow["bt"]])
    page = (tmp_path / "s.html").read_text()
    assert 'aria-label="PIT histogram"' in page and 'aria-label="bands vs actuals"' not in page and "--backtest-days" in page
    assert rep["images"] == len(re.findall(r'<figure class="chart">|<img ', page))  # the charts (inline SVG)


def test_report_refuses_bad_combinations_and_files(flow, capsys, tmp_path):
    res, out = flow["results"], str(tmp_path / "r.html")
    m = refusal(["report", res, "-o", out, "--actuals", flow["actuals"]], capsys, "usage")
    assert m == ["tokensim: --actuals needs --budget: the year's budget whose runway it measures"]
    m = refusal(["report", res, "-o", out, "--backtest-days", flow["bt_days"]], capsys, "usage")
    assert "--backtest-days needs --backtest" in m[0]
    bad = tmp_path / "bad.json"
    bad.write_text('{"ok": true, "command": "backtest", "pooled": ')
    m = refusal(["report", res, "-o", out, "--backtest", str(bad)], capsys, "usage")
    assert m[0].startswith(f"tokensim: {bad}:1:") and "not JSON" in m[0]
    broken = dict(flow["backtest"], pooled={**flow["backtest"]["pooled"], "coverage": {"p5_p95": "high"}})
    bad.write_text(json.dumps(broken))
    m = refusal(["report", res, "-o", out, "--backtest", str(bad)], capsys, "usage")
    assert m == [f'tokensim: {bad}: pooled.coverage.p5_p95: expected a number in 0..1, got "high"']
    other = tmp_path / "budget.json"  # another command's output
    other.write_text(json.dumps({"ok": True, "strategy": "base"}))
    m = refusal(["report", res, "-o", out, "--backtest", str(other)], capsys, "usage")
    assert m[0].startswith(f"tokensim: {other}: ") and "tokensim backtest --json" in m[0]
    days = tmp_path / "days.csv"
    pd.read_csv(flow["bt_days"]).iloc[:-1].to_csv(days, index=False)  # a day short: not that backtest's days
    m = refusal(["report", res, "-o", out, "--backtest", flow["bt"], "--backtest-days", str(days)], capsys, "usage")
    assert m[0].startswith(f"tokensim: {days}: not the held-out days of that backtest")
    assert not Path(out).exists()


def test_report_sizing_section(flow, tmp_path, capsys):
    """``report --size`` shows what ``size --json`` printed: the answer, the plans' table and, over the
    term, the breach probabilities (the CSV holds the JSON's numbers); a broken file is refused."""
    import yaml

    from tests.conftest import chat, make

    sc = make([chat(name="c", sessions_per_user_per_day=4, turns=3, models={"api": "google/gemini-2.5-flash-lite"})],
              horizon={"start": "2027-01", "months": 3}, paths=40,
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 400}, "intensity_sigma": 0.0}])
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(sc.model_dump(mode="json", exclude_none=True), sort_keys=False))
    sz = cli_json(["size", str(f), "--workload", "c", "--profile", "vertex/gemini-2.5-flash-lite", "--slo",
                "p99 ttft <= 1.5s", "--term", "1m", "--decode-tok-s", "250"])
    (tmp_path / "size.json").write_text(json.dumps(sz))
    out = tmp_path / "r.html"
    rep = cli_json(["report", flow["results"], "-o", str(out), "--size", str(tmp_path / "size.json")])
    page = out.read_text()
    assert "<h2>Capacity sizing: vertex/gemini-2.5-flash-lite</h2>" in page
    assert 'aria-label="expected cost and breach probability by unit count"' in page
    assert rep["sizing"][0]["min_units_for_slo"] == sz["min_units_for_slo"]
    term = pd.read_csv(tmp_path / "r_sizing_term.csv")
    assert list(term["units"]) == [p["units"] for p in sz["over_term"]["plans"]]
    pb = [p["provisioned"]["p_breach"] for p in sz["over_term"]["plans"] if p["units"] > 0]
    assert term["pool only: P(breach)"].dropna().tolist() == pytest.approx(pb)
    broken = dict(sz, frontier=[{**sz["frontier"][0], "spill_share": 2.0}])
    (tmp_path / "bad.json").write_text(json.dumps(broken))
    m = refusal(["report", flow["results"], "-o", str(tmp_path / "x.html"), "--size", str(tmp_path / "bad.json")],
                capsys, "usage")
    assert m[0].startswith(f"tokensim: {tmp_path / 'bad.json'}: frontier[0].spill_share: expected a finite number")
    ot = {k: v for k, v in sz["over_term"].items() if k != "term"}
    for broken, where in ((dict(sz, over_term=ot), "over_term.term: missing"),
                          (dict(sz, over_term={**sz["over_term"], "recommended": {"plan": "hybrid"}}),
                           "over_term.recommended.units: missing"),
                          (dict(sz, frontier=[{**sz["frontier"][0], "latency_s": [1, 2]}]),
                           "frontier[0].latency_s: expected an object")):
        (tmp_path / "bad.json").write_text(json.dumps(broken))
        m = refusal(["report", flow["results"], "-o", str(tmp_path / "x.html"), "--size", str(tmp_path / "bad.json")],
                    capsys, "usage")
        assert where in m[0], m
