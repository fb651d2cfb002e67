"""tokensim calibrate and tokensim backtest: outputs, JSON keys and the bad-input contract.

The backtest check is the honest one the fit can fail: on the ServeGen m-large and m-small series
(calibration/traces), fitting on 7 days and forecasting the next 7 (the only origin 14 days allow)
must beat both naive baselines in CRPS: the last training week repeated and the training days'
empirical spread. Coverage is reported (docs/calibration.md), not asserted here: 14 held-out days
from two series cannot pin a 90 % band closer than about ±16 % (one binomial standard error at
n = 14 is 8 %).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.scenario import load_scenario
from tests.conftest import refusal

ROOT = Path(__file__).resolve().parents[1]
SERVEGEN = str(ROOT / "calibration" / "traces" / "servegen_rate_10min.csv")
FIX = Path(__file__).resolve().parent / "fixtures" / "usage"


def test_backtest_beats_the_naive_baselines_on_servegen(capsys, tmp_path):
    csv = tmp_path / "days.csv"
    assert main(["backtest", SERVEGEN, "--train-days", "7", "--horizon-days", "7", "--paths", "1000",
                 "--csv", str(csv), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    p = r["pooled"]
    assert p["days_evaluated"] == 14 and set(r["series"]) == {"m-large", "m-small"}
    assert set(p["coverage"]) == {"p5_p95", "p25_p75"} and len(p["pit"]) == 10 and sum(p["pit"]) == 14
    assert p["crps"] < p["baselines"]["last_week_repeated"]["crps"]
    assert p["crps"] < p["baselines"]["training_spread"]["crps"]
    assert any("too short, skipped" in w for w in r["warnings"])  # deepseek-r1 and mm-image have one day
    assert csv.exists() and len(csv.read_text().splitlines()) == 15


def test_calibrate_writes_one_scenario_that_runs(capsys, tmp_path):
    out = tmp_path / "cal.yaml"
    assert main(["calibrate", SERVEGEN, "--train-until", "1970-01-07", "--start", "2027-01", "-o", str(out),
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["scenarios"]) == {"m-large", "m-small"} and set(r["scenarios"].values()) == {str(out)}
    assert r["scenario"] == str(out)
    assert [f["days"] for f in r["fits"]] == [7, 7]  # --train-until: days 0..6 only
    sc = load_scenario(out)
    assert sc.horizon.start == "2027-01"
    # every series a workload with its own business unit (its weekly profile) and its own day shock
    assert [w.name for w in sc.workloads] == ["m-large", "m-small"]
    assert [w.business_unit for w in sc.workloads] == ["m-large", "m-small"]
    rho = r["cross_series"]["correlation"]
    assert 0.0 <= rho < 1.0 and len(r["cross_series"]["pairs"]) == 1
    for w in sc.workloads:
        assert w.demand_noise is not None and w.demand_noise.start_deviation is not None
        assert float(w.demand_noise.correlation) == pytest.approx(rho ** 0.5, abs=1e-4)  # each pair: ρ
    acts = (tmp_path / "cal.actuals.csv").read_text().splitlines()
    assert acts[0] == "group,workload,day,requests" and len(acts) == 1 + 1 + 14 + 14 + 1  # every group, every day
    assert main(["run", str(out), "--paths", "50", "--out", str(tmp_path / "run"), "--quiet"]) == 0


def test_start_keeps_the_weekday_after_training(capsys, tmp_path):
    """--start takes the forecast's first day as the day after training, weekday included. 28 days
    from 1970-01-01 (a Thursday) end on a Wednesday; the day after is a Thursday and becomes
    2027-01-01, a Friday: the data's weekday k is the forecast's k + 1, so the scenario's weekly
    weights are the data's pattern (over its geometric mean) turned by one day."""
    import numpy as np

    pattern = np.array([1.0, 1.1, 1.2, 1.3, 1.4, 0.8, 0.6])  # Monday..Sunday
    days = [__import__("datetime").date(1970, 1, 1) + __import__("datetime").timedelta(d) for d in range(28)]
    rng = np.random.default_rng(1)
    rows = ["period_start,requests"] + [f"{d},{1e6 * pattern[d.weekday()] * np.exp(0.001 * rng.standard_normal()):.3f}"
                                        for d in days]
    f = tmp_path / "w.csv"
    f.write_text("\n".join(rows) + "\n")
    assert main(["calibrate", str(f), "--group-by", "none", "--start", "2027-01", "-o", str(tmp_path / "w.yaml"),
                 "--json"]) == 0
    capsys.readouterr()
    got = np.array(load_scenario(tmp_path / "w.yaml").activity.weekly)
    want = np.roll(pattern / np.exp(np.log(pattern).mean()), 1)
    assert np.allclose(got, want, rtol=0.01)


def test_openai_export_calibrates(capsys, tmp_path):
    out = tmp_path / "o.yaml"
    assert main(["calibrate", str(FIX / "openai_usage.json"), "--group-by", "none", "-o", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["formats"] == ["openai"] and r["fits"][0]["days"] == 6
    assert load_scenario(out).horizon.start == "2026-02"  # the month after the last day


def test_bad_exports_are_refused_with_located_messages(capsys, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    m = refusal(["calibrate", str(empty), "-o", str(tmp_path / "x.yaml")], capsys, "input")
    assert m == [f"{empty}: the file is empty: no usage to calibrate on"]
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,input_tokens,output_tokens\nsoon,1,1\n2026-01-01T00:00:00Z,-1,1\n")
    m = refusal(["backtest", str(bad), "--train-days", "7"], capsys, "input", problems=2)
    assert any(":2: timestamp:" in x for x in m) and any(":3: input_tokens:" in x for x in m)
    # both files at once: one message per problem of each
    refusal(["calibrate", str(empty), str(bad), "-o", str(tmp_path / "x.yaml")], capsys, "input", problems=3)
    assert not (tmp_path / "x.yaml").exists()


def test_too_short_for_a_backtest_is_a_usage_error(capsys):
    m = refusal(["backtest", str(FIX / "generic_periods.csv"), "--train-days", "7", "--horizon-days", "3"], capsys,
                "usage")
    assert "no series has 10 days" in m[0]


def test_billed_cost_reconciles_through_the_catalog(capsys, tmp_path):
    """Billed at 75 % of gpt-4.1-mini's list price ($0.40 in, $1.60 out per million, genai-prices):
    the fit finds a 25 % discount, and the calibrated scenario prices a request at the billed cost
    per request of the training window (within 1 %)."""
    from sim.expected.forecast import run_expected

    rows = ["period_start,period_end,requests,input_tokens,output_tokens,model,cost,currency"]
    for d in range(10):
        n = 1000 + 10 * d
        list_cost = n * (2000 * 0.40 + 500 * 1.60) / 1e6
        rows.append(f"2026-03-{d + 1:02d},2026-03-{d + 2:02d},{n},{2000 * n},{500 * n},gpt-4.1-mini,"
                    f"{0.75 * list_cost:.10f},USD")
    f = tmp_path / "bill.csv"
    f.write_text("\n".join(rows) + "\n")
    out = tmp_path / "b.yaml"
    assert main(["calibrate", str(f), "-o", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    shape = r["fits"][0]["requests"]
    assert shape["model_ref"] == "openai/gpt-4.1-mini" and abs(shape["discount"] - 0.25) < 1e-9
    sc = load_scenario(out)
    fc = run_expected(sc)
    per_request = fc.total() / float(fc.lines["sessions"].sum())
    billed = 0.75 * (2000 * 0.40 + 500 * 1.60) / 1e6  # per request, every day alike
    assert abs(per_request / billed - 1) < 0.01


def test_focus_and_anthropic_exports_calibrate_on_tokens(capsys, tmp_path):
    """Neither a FOCUS bill nor Anthropic's usage report counts requests: the fit is on tokens (a
    modelled request is 1,000 tokens of the group's mix), and the billed models are found in the
    catalog from their meter names."""
    assert main(["calibrate", str(FIX / "focus_1_2.csv"), "-o", str(tmp_path / "f.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    refs = {f["group"]: f["requests"]["catalog"][f["group"]] for f in r["fits"]}
    assert refs["Claude3.5Sonnet"] == "anthropic/claude-3-5-sonnet" and refs["Gemini 2.5 Flash"] == "google/gemini-2.5-flash"
    # Bedrock's cache writes are priced at their premium: the group has a card of its own
    by = {f["group"]: f["requests"] for f in r["fits"]}
    assert by["Claude3.5Sonnet"]["model_ref"] is None and by["Claude3.5Sonnet"]["card"] is not None
    assert by["Gemini 2.5 Flash"]["model_ref"] == "google/gemini-2.5-flash"
    assert all(f["quantity"] == "tokens" for f in r["fits"])
    sc = load_scenario(r["scenario"])
    name = next(f["workload"] for f in r["fits"] if f["group"] == "Claude3.5Sonnet")
    w = next(x for x in sc.workloads if x.name == name)
    # Bedrock mix per day: n in + n/2 read + n/10 write = 1.6 n input, n/5 output: 1.6 / 1.8 of 1,000 tokens,
    # the cache reads (0.5 / 1.8) as a cached shared prefix
    assert w.system_prompt_tokens + w.user_message_tokens == pytest.approx(1000 * 1.6 / 1.8)
    assert w.system_prompt_tokens == pytest.approx(1000 * 0.5 / 1.8, abs=1e-3) and w.levers.prompt_cache.enabled
    assert w.output_tokens == pytest.approx(1000 * 0.2 / 1.8)
    assert main(["calibrate", str(FIX / "anthropic_usage.json"), "-o", str(tmp_path / "a.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    q = r["fits"][0]["requests"]
    assert r["fits"][0]["quantity"] == "tokens" and q["catalog"] == {"claude-sonnet-4-5-20250929": "anthropic/claude-sonnet-4-5"}
    assert q["card"] is not None  # its 5 m and 1 h cache writes, at their premium


def test_budget_runway_from_actuals(capsys, tmp_path):
    """An export of 56 days at 1 % growth a day, billed with a cost column: calibrate, run, then
    budget --actuals. Year to date, burn rate and the runout day are recomputed here by hand, day by
    day, from the actuals and the results file (a month's spend spread evenly over its days)."""
    import datetime as dt

    import numpy as np
    import pandas as pd
    import xarray as xr

    rows = ["period_start,period_end,requests,input_tokens,output_tokens,model,cost,currency"]
    d0 = dt.date(2026, 2, 1)
    costs = []
    for d in range(56):
        day = d0 + dt.timedelta(days=d)
        n = int(100000 * 1.01 ** d)
        costs.append(0.8 * n * (2000 * 0.40 + 500 * 1.60) / 1e6)
        rows.append(f"{day},{day + dt.timedelta(days=1)},{n},{2000 * n},{500 * n},gpt-4.1-mini,{costs[-1]:.6f},USD")
    bill = tmp_path / "bill.csv"
    bill.write_text("\n".join(rows) + "\n")
    assert main(["calibrate", str(bill), "--months", "9", "-o", str(tmp_path / "c.yaml")]) == 0
    assert main(["run", str(tmp_path / "c.yaml"), "--paths", "100", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["budget", str(tmp_path / "run"), "--budget", "100000", "--actuals", str(tmp_path / "c.actuals.csv"),
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["runway"]
    costs = np.round(costs, 6)
    burn = costs[-30:].mean()
    assert r["burn_rate_per_day"] == pytest.approx(burn, rel=1e-9)
    ytd = costs.sum() + 3 * burn  # Mar 29..31 are unknown: at the burn rate
    assert r["ytd_spend"] == pytest.approx(ytd, rel=1e-9)
    ds = xr.open_zarr(tmp_path / "run" / "results.zarr")
    spend = ds["spend"].isel(strategy=0).sum(["pool", "workload"]).values  # (path, month) Apr..Dec
    months = pd.DatetimeIndex(ds["month"].values)
    hits = []
    for p in range(spend.shape[0]):  # day by day, path by path
        cum, day_i, hit = ytd, 0, None
        for m, start in enumerate(months):
            days = pd.Period(start, "M").days_in_month
            for _ in range(days):
                cum += spend[p, m] / days
                if hit is None and cum > 100000:
                    hit = day_i
                day_i += 1
        hits.append(hit)
    p50 = int(np.quantile(np.array(hits), 0.5, method="lower"))
    assert r["runout_date"]["p50"] == (dt.date(2026, 4, 1) + dt.timedelta(days=p50)).isoformat()
    assert r["year_total"]["p50"] == pytest.approx(ytd + np.median(spend.sum(1)), rel=1e-9)
    # --actuals without a budget is a usage error
    m = refusal(["budget", str(tmp_path / "run"), "--actuals", str(tmp_path / "c.actuals.csv")], capsys, "usage")
    assert "--actuals needs --budget" in m[0]


def test_backtest_html_page_and_other_quantities(capsys, tmp_path):
    import re

    page = tmp_path / "bt.html"
    assert main(["backtest", SERVEGEN, "--train-days", "7", "--horizon-days", "2", "--paths", "500",
                 "--html", str(page), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    text = page.read_text()
    assert len(re.findall(r'<figure class="chart"><svg ', text)) == 2 and "PIT" in text  # charts inline as SVG
    assert (tmp_path / "bt_scores.csv").exists() and (tmp_path / "bt_days.csv").exists()
    assert sorted(Path(p).name for p in r["html"]) == ["bt.html", "bt_days.csv", "bt_scores.csv"]
    # tokens and cost of a billed export: 10 days, train 7 and forecast 3 from the one origin they allow
    rows = ["period_start,period_end,requests,input_tokens,output_tokens,model,cost,currency"]
    for d in range(10):
        n = 1000 + 37 * d + (d % 3) * 50
        rows.append(f"2026-03-{d + 1:02d},2026-03-{d + 2:02d},{n},{2000 * n},{500 * n},gpt-4.1-mini,{n * 0.0016:.6f},USD")
    f = tmp_path / "bill.csv"
    f.write_text("\n".join(rows) + "\n")
    for q in ("tokens", "cost"):
        assert main(["backtest", str(f), "--train-days", "7", "--horizon-days", "3", "--quantity", q, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["pooled"]["days_evaluated"] == 3


def test_example_openai_exports_reconcile_and_are_current(capsys, tmp_path):
    """calibration/exports: billed at 85 % of list with 35 % / 55 % of the input read from the cache.
    The fit finds the 15 % discount, and the calibrated scenarios (cache reads as a cached shared
    prefix) price a request at the billed cost per request within 1 %. The files are what
    make_exports.py writes (deterministic)."""
    import importlib.util

    from sim.expected.forecast import run_expected

    ex = ROOT / "calibration" / "exports"
    spec = importlib.util.spec_from_file_location("make_exports", ex / "make_exports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.HERE = tmp_path
    mod.main()
    for name in ("openai_usage_completions.json", "openai_costs.json"):
        assert (tmp_path / name).read_bytes() == (ex / name).read_bytes(), f"{name} is stale: run make_exports.py"
    assert main(["calibrate", str(ex / "openai_usage_completions.json"), str(ex / "openai_costs.json"),
                 "-o", str(tmp_path / "s.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    fc = run_expected(load_scenario(r["scenario"]))  # one scenario, a workload per model
    for f in r["fits"]:
        shape = f["requests"]
        assert abs(shape["discount"] - 0.15) < 1e-6 and abs(shape["billed"] / shape["list_cost"] - 0.85) < 1e-6
        lines = fc.lines[fc.lines["workload"] == f["workload"]]
        per_request = float(lines["spend"].sum()) / float(lines["sessions"].sum())
        assert abs(per_request / (shape["billed"] / shape["requests"]) - 1) < 0.01


def test_request_lengths_are_fitted_lognormal_or_empirical(capsys, tmp_path):
    """Request rows whose prompts are lognormal (median 1,500, σ 0.6) and whose outputs are two
    modes (50 or 800 tokens): the prompt is written as a lognormal (KS D < 0.08) and the output as the
    data's quantiles, each mean kept."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(11)
    n = 12 * 2000
    ts = pd.Timestamp("2026-04-01", tz="UTC") + pd.to_timedelta(np.sort(rng.uniform(0, 12 * 86400, n)), unit="s")
    inp = np.round(np.exp(np.log(1500) + 0.6 * rng.standard_normal(n)))
    out = np.where(rng.random(n) < 0.5, 50, 800)
    f = tmp_path / "r.csv"
    pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "input_tokens": inp, "output_tokens": out,
                  "model": "gpt-4.1-mini"}).to_csv(f, index=False)
    assert main(["calibrate", str(f), "-o", str(tmp_path / "r.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    lens = r["fits"][0]["lengths"]
    assert lens["input_tokens"]["choice"] == "lognormal" and lens["input_tokens"]["ks_D"] < 0.08
    assert lens["output_tokens"]["choice"] == "empirical"
    w = load_scenario(r["scenario"]).workloads[0]
    assert w.user_message_tokens.median == pytest.approx(1500, rel=0.03)
    assert w.output_tokens.mean() == pytest.approx(out.mean(), rel=0.03)


def test_a_model_mix_with_cache_writes_is_priced_by_its_own_card_and_reconciles(capsys, tmp_path):
    """A project calling two models, with cache reads and writes, billed at 80 % of list. List rates
    (genai-prices, USD/MTok): claude-sonnet-4-5 3 in / 15 out / 0.30 read / 3.75 write (5 m),
    claude-haiku-4-5 1 / 5 / 0.10 / 1.25. Per day: sonnet 100 requests of 1,000 fresh, 500 read,
    200 written, 300 out tokens; haiku 300 requests of 800 fresh, 0 read, 100 written, 150 out.
    By hand: fresh + written sonnet 120,000, haiku 270,000 tokens; input rate
    (100,000·3 + 20,000·3.75 + 240,000·1 + 30,000·1.25) / 390,000 = 652,500 / 390,000 = 1.6731 $/MTok;
    read rate 0.30 (sonnet only); output (30,000·15 + 45,000·5) / 75,000 = 9.0; the discount 20 %."""
    from sim.expected.forecast import run_expected

    rows = ["period_start,period_end,requests,input_tokens,cached_tokens,cache_write_tokens,output_tokens,model,"
            "project,cost,currency"]
    for d in range(12):
        day, nxt = f"2026-03-{d + 1:02d}", f"2026-03-{d + 2:02d}"
        for model, n, fresh, read, wr, out, r in (
                ("claude-sonnet-4-5", 100, 1000, 500, 200, 300, (3, 0.3, 3.75, 15)),
                ("claude-haiku-4-5", 300, 800, 0, 100, 150, (1, 0.1, 1.25, 5))):
            k = 1 + 0.01 * d
            nn = n * k
            cost = 0.8 * nn * (fresh * r[0] + read * r[1] + wr * r[2] + out * r[3]) / 1e6
            rows.append(f"{day},{nxt},{nn},{fresh * nn},{read * nn},{wr * nn},{out * nn},{model},p1,{cost:.10f},USD")
    f = tmp_path / "mix.csv"
    f.write_text("\n".join(rows) + "\n")
    assert main(["calibrate", str(f), "--group-by", "project", "-o", str(tmp_path / "m.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    shape = r["fits"][0]["requests"]
    assert shape["card"]["input"] == pytest.approx(652_500 / 390_000, rel=1e-8)
    assert shape["card"]["cached_input"] == pytest.approx(0.30) and shape["card"]["output"] == pytest.approx(9.0)
    assert shape["discount"] == pytest.approx(0.20, abs=1e-9)
    assert shape["mix"]["claude-haiku-4-5"] == pytest.approx(300 * 1050 / (300 * 1050 + 100 * 2000))
    fc = run_expected(load_scenario(tmp_path / "m.yaml"))
    per_request = fc.total() / float(fc.lines["sessions"].sum())
    assert per_request == pytest.approx(shape["billed"] / shape["requests"], rel=0.01)


def test_focus_contract_commitments_become_the_scenarios_contracts(capsys, tmp_path):
    """The FOCUS 1.3 fixture: usage to 2026-06-07, so the horizon starts 2026-07 (6 months). By hand
    from tests/fixtures/usage/focus_1_3_contract_commitments.csv: the 24,000 USD calendar-2026 spend
    commitment has 6 of 12 months left, the export does not cover the months since January (a
    straight-line drawdown: 12,000 left) and AI rows drew 50 % of what ContractApplied shows was
    drawn on it: 6,000 over 6 months, 1,000 a month. The 1.8 B-token Apr–Sep commitment has 3 of its
    6 months left: 0.9 B over 3 months, 3e8 a month. 50 seats for 11,400 a year: 19 a seat-month.
    The GPU-hours reservation is a warning (no contract kind), the 2025 one ended."""
    out = tmp_path / "c.yaml"
    assert main(["calibrate", str(FIX / "focus_1_3.csv"), str(FIX / "focus_1_3_contract_commitments.csv"),
                 "--months", "6", "-o", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["commitments"]["contracts"] == ["cc-aws-edp-2026", "cc-claude-tokens-2026", "cc-q-developer-seats-2026"]
    sc = load_scenario(out)
    assert sc.horizon.start == "2026-07"
    by = {c.name: c for c in sc.contracts}
    assert by["cc-aws-edp-2026"].kind == "dollar_commit" and float(by["cc-aws-edp-2026"].amount) == pytest.approx(1000)
    assert by["cc-claude-tokens-2026"].kind == "token_commit"
    assert float(by["cc-claude-tokens-2026"].amount) == pytest.approx(3e8)
    assert by["cc-claude-tokens-2026"].term_months == 3
    assert float(by["cc-q-developer-seats-2026"].price_per_unit_month) == pytest.approx(19.0)
    assert any("cc-gpu-reservation-2026q2" in w and "not a contract entry" in w for w in r["warnings"])
    assert any("cc-aws-edp-2025" in w and "ended" in w for w in r["warnings"])
    # the meter 'ClaudeSonnet4.5' is found in the catalog (camel case split)
    assert any(f["requests"]["catalog"].get("ClaudeSonnet4.5") == "anthropic/claude-sonnet-4-5" for f in r["fits"])
    assert main(["run", str(out), "--paths", "50", "--out", str(tmp_path / "run"), "--quiet"]) == 0


def test_a_commitment_dataset_alone_is_refused(capsys, tmp_path):
    m = refusal(["calibrate", str(FIX / "focus_1_3_contract_commitments.csv"), "-o", str(tmp_path / "x.yaml")],
                capsys, "usage")
    assert "no usage or billing export" in m[0]


def _weekly_csv(path, days, start, groups=("g",), stop=None):
    """Generic periods with a weekly pattern (Mon..Sun 1.0 … 0.6) and tiny noise; ``stop`` {group: last day}."""
    import datetime as dt

    import numpy as np

    pattern = np.array([1.0, 1.1, 1.2, 1.3, 1.4, 0.8, 0.6])
    rng = np.random.default_rng(2)
    rows = ["period_start,requests,project"]
    for g in groups:
        for k in range(days):
            d = start + dt.timedelta(k)
            if stop and g in stop and d > stop[g]:
                break
            rows.append(f"{d},{1e5 * pattern[d.weekday()] * np.exp(0.001 * rng.standard_normal()):.3f},{g}")
    path.write_text("\n".join(rows) + "\n")
    return pattern


def test_start_on_dated_data_keeps_the_calendar_weekdays(capsys, tmp_path):
    """Dated data keep their weekdays whatever --start says (the profile turns only for traces
    without dates); a --start on or before the last training day is refused."""
    import datetime as dt

    import numpy as np

    f = tmp_path / "d.csv"
    _weekly_csv(f, 35, dt.date(2026, 9, 1))
    weekly = []
    for extra in ([], ["--start", "2027-01"]):
        assert main(["calibrate", str(f), "--group-by", "none", *extra, "-o", str(tmp_path / "d.yaml"), "--json"]) == 0
        capsys.readouterr()
        weekly.append(np.array(load_scenario(tmp_path / "d.yaml").activity.weekly))
    assert np.allclose(weekly[0], weekly[1], rtol=1e-6)
    m = refusal(["calibrate", str(f), "--group-by", "none", "--start", "2026-10", "-o", str(tmp_path / "x.yaml")],
                capsys, "usage")
    assert "not after the last training day (2026-10-05)" in m[0]


def test_a_group_that_stopped_is_warned_about(capsys, tmp_path):
    import datetime as dt

    f = tmp_path / "s.csv"
    _weekly_csv(f, 60, dt.date(2026, 8, 1), groups=("live", "gone"), stop={"gone": dt.date(2026, 8, 28)})
    assert main(["calibrate", str(f), "--group-by", "project", "-o", str(tmp_path / "s.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    # 60 days from 2026-08-01 end on 2026-09-29; "gone" stopped on 2026-08-28, 32 days before
    stale = [w for w in r["warnings"] if "no use in the export's last" in w]
    assert len(stale) == 1 and stale[0].startswith("gone: no use in the export's last 32 days")


def test_too_many_groups_or_bytes_for_one_scenario_are_refused(capsys, tmp_path, monkeypatch):
    import datetime as dt

    import sim.limits

    f = tmp_path / "m.csv"
    _weekly_csv(f, 14, dt.date(2026, 8, 1), groups=("a", "b", "c"))
    monkeypatch.setattr(sim.limits, "MAX_WORKLOADS", 2)
    m = refusal(["calibrate", str(f), "--group-by", "project", "-o", str(tmp_path / "x.yaml")], capsys, "usage")
    assert "3 groups by project: a scenario holds at most 2 workloads" in m[0]
    monkeypatch.setattr(sim.limits, "MAX_WORKLOADS", 500)
    monkeypatch.setattr(sim.limits, "MAX_SCENARIO_BYTES", 5000)
    m = refusal(["calibrate", str(f), "--group-by", "project", "-o", str(tmp_path / "x.yaml")], capsys, "usage")
    assert "a scenario file may be at most 5,000" in m[0] and not (tmp_path / "x.yaml").exists()


def test_groups_billed_differently_on_one_model_are_each_priced_as_billed(capsys, tmp_path):
    """Three projects on gpt-4o-mini (genai-prices list: 0.15 in, 0.60 out per MTok), 1,000 in and 200 out
    tokens a request: list 0.00027 a request. q1 billed 20 % below list, q2 40 % below, q3 25 % above
    (a premium not applied: at list). Each workload's cost per request must be its own within 1 %:
    0.000216, 0.000162 and 0.00027."""
    from sim.expected.forecast import run_expected

    per = 1000 * 0.15 / 1e6 + 200 * 0.60 / 1e6
    rows = ["period_start,period_end,requests,input_tokens,output_tokens,model,project,cost,currency"]
    for d in range(10):
        for proj, k in (("q1", 0.8), ("q2", 0.6), ("q3", 1.25)):
            n = 1000 + 7 * d
            rows.append(f"2026-03-{d + 1:02d},2026-03-{d + 2:02d},{n},{1000 * n},{200 * n},gpt-4o-mini,{proj},"
                        f"{k * per * n:.10f},USD")
    f = tmp_path / "q.csv"
    f.write_text("\n".join(rows) + "\n")
    assert main(["calibrate", str(f), "--group-by", "project", "-o", str(tmp_path / "q.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    fc = run_expected(load_scenario(tmp_path / "q.yaml"))
    want = {"q1": 0.8 * per, "q2": 0.6 * per, "q3": per}
    for f_ in r["fits"]:
        lines = fc.lines[fc.lines["workload"] == f_["workload"]]
        got = float(lines["spend"].sum()) / float(lines["sessions"].sum())
        assert got == pytest.approx(want[f_["group"]], rel=0.01), f_["group"]


def test_retries_from_request_rows_with_a_status(capsys, tmp_path):
    """Request rows with a status: 5,000 logical calls a day of gpt-4.1-mini (0.40 in / 1.60 out per
    MTok), 1,000 input and 300 output tokens; each attempt fails independently, error (429: nothing
    billed) 3 %, timeout (504: input and half the output billed) 2 %, invalid (422: all billed) 1 %,
    up to 3 attempts. By hand, f = 0.06 and a call makes (1 − f³)/(1 − f) = 1.0636 attempts and
    bills per attempt (1 − 0.03)·1,000 input and (1 − 0.03 − 0.01)·300 output tokens: the calibrated
    scenario must give the retry rates (binomial SE < 0.1 %), 5,000 calls a day (±2 %, the fit's
    level over 12 days) and the billed cost per call within 1 %."""
    import numpy as np
    import pandas as pd

    from sim.expected.forecast import run_expected

    rng = np.random.default_rng(5)
    days, calls = 14, 5000
    rows = []
    for d in range(days):
        t0 = pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=d)
        n = calls
        att = []
        alive = np.ones(n, bool)
        for k in range(3):  # attempt k + 1 of the calls that have not succeeded
            u = rng.random(n)
            status = np.where(u < 0.03, 429, np.where(u < 0.05, 504, np.where(u < 0.06, 422, 200)))
            att.append(status[alive])
            alive = alive & (status != 200)
        s = np.concatenate(att)
        ts = t0 + pd.to_timedelta(np.sort(rng.uniform(60, 86_340, s.size)), unit="s")
        rows.append(pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                  "input_tokens": np.where(s == 429, 0, 1000),
                                  "output_tokens": np.where(s == 429, 0, np.where(s == 504, 150, 300)),
                                  "status": s, "model": "gpt-4.1-mini"}))
    f = tmp_path / "r.csv"
    pd.concat(rows).to_csv(f, index=False)
    assert main(["calibrate", str(f), "-o", str(tmp_path / "r.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    retry = r["fits"][0]["requests"]["retry"]
    att = 1 + 0.06 + 0.06 ** 2
    for k, p in (("error_rate", 0.03), ("timeout_rate", 0.02), ("validation_failure_rate", 0.01)):
        assert retry[k] == pytest.approx(p, abs=4 * (p * (1 - p) / (12 * calls * att)) ** 0.5)
    sc = load_scenario(tmp_path / "r.yaml")
    w = sc.workloads[0]
    assert float(w.retry.error_rate) == pytest.approx(retry["error_rate"])
    fc = run_expected(sc)
    per_day = float(fc.lines["sessions"].sum()) / 30  # April
    assert per_day == pytest.approx(calls, rel=0.02)
    by_hand = att * ((1 - 0.03) * 1000 * 0.40 + (1 - 0.03 - 0.01) * 300 * 1.60) / 1e6
    assert float(fc.lines["spend"].sum()) / float(fc.lines["sessions"].sum()) == pytest.approx(by_hand, rel=0.01)


def test_an_unknown_status_is_a_located_bad_value(capsys, tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("timestamp,input_tokens,output_tokens,status\n2026-03-01T00:00:00Z,1,1,200\n"
                 "2026-03-01T00:01:00Z,1,1,maybe\n2026-03-01T00:02:00Z,1,1,ok\n")
    m = refusal(["calibrate", str(f), "-o", str(tmp_path / "x.yaml")], capsys, "input")
    assert any(":3: status: 1 row with a value that is not a status" in x for x in m)
