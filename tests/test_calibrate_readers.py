"""Usage readers (sim.calibrate.formats) and daily series (sim.calibrate.series): the fixtures in
tests/fixtures/usage were written by hand from each format's documentation, so every total below
is worked out from the fixture, not read back from the code."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.formats import detect, read
from sim.calibrate.series import daily
from sim.calibrate.usage import UsageError

FIX = Path(__file__).resolve().parent / "fixtures" / "usage"
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, fmt", [
    ("openai_usage.json", "openai"), ("openai_costs.json", "openai"), ("anthropic_usage.json", "anthropic"),
    ("anthropic_cost.json", "anthropic"), ("generic_requests.csv", "generic"), ("generic_periods.csv", "generic"),
    ("focus_1_2.csv", "focus"),
])
def test_formats_are_detected_by_content(name, fmt):
    assert detect(FIX / name)[0] == fmt


def test_shipped_traces_are_detected():
    tr = ROOT / "calibration" / "traces"
    assert detect(tr / "servegen_rate_10min.csv")[0] == "servegen"
    assert detect(tr / "azure_conv_2023.csv")[0] == "azure-trace"
    assert detect(tr / "mooncake_conversation_trace.jsonl.gz")[0] == "mooncake"


def test_openai_usage_input_includes_cached():
    u = read(FIX / "openai_usage.json")
    p = u.periods.sort_values("start")
    assert len(p) == 6  # two pages of three daily buckets
    day = np.arange(6)
    assert np.allclose(p["requests"], 10 + day)
    assert np.allclose(p["cached_tokens"], 200 * (10 + day))
    assert np.allclose(p["input_tokens"], 800 * (10 + day))  # 1000·n − 200·n: the uncached part
    assert np.allclose(p["output_tokens"], 300 * (10 + day))
    assert set(p["model"]) == {"gpt-4.1-mini-2025-04-14"} and set(p["project"]) == {"proj_a"}
    assert str(p["start"].iloc[0]) == "2026-01-01 00:00:00+00:00"


def test_openai_costs_and_anthropic_cents():
    c = read(FIX / "openai_costs.json").periods
    assert c["cost"].sum() == pytest.approx(sum(0.5 + d / 10 for d in range(6)))
    assert set(c["currency"]) == {"USD"}
    a = read(FIX / "anthropic_cost.json").periods
    assert np.allclose(a["cost"], 1.2345)  # "123.45" is in cents


def test_anthropic_usage_counts_are_disjoint_and_requests_unknown():
    p = read(FIX / "anthropic_usage.json").periods.sort_values("start")
    assert np.allclose(p["input_tokens"], 5000 + np.arange(6))
    assert np.allclose(p["cache_write_tokens"], 150) and np.allclose(p["cached_tokens"], 2000)
    assert p["requests"].isna().all()  # the report has no request counts: NaN, never 0


def test_generic_requests_take_cached_out_of_input_and_sum_per_day():
    u = read(FIX / "generic_requests.csv")
    s = daily(u, None, "requests")[0]
    # day d has 24·(d + 1) requests; the extra request at 23:59:59 of day 2 ends the span there,
    # so day 2 counts as complete only if the span reaches its end: it does not (23:59:59 < 24:00)
    assert s.values.iloc[0] == 24 and s.values.iloc[1] == 48
    assert math.isnan(s.values.iloc[2])
    assert u.periods["input_tokens"].sum() == pytest.approx(sum(24 * sum(1000 + k - 200 for k in range(d + 1))
                                                                for d in range(3)) + 1000)
    assert len(u.lengths) == 24 * 6 + 1


def test_absent_periods_are_missing_not_zero():
    s = daily(read(FIX / "generic_periods.csv"), None, "requests")[0]
    assert list(s.values.index.strftime("%d")) == ["01", "02", "03", "04", "05", "06"]
    assert math.isnan(s.values.iloc[3]) and s.values.iloc[4] == 104


def test_servegen_gaps_are_imputed_from_the_hour_profile():
    u = read(ROOT / "calibration" / "traces" / "servegen_rate_10min.csv")
    assert any("37 window(s)" in w for w in u.warnings)
    by = {s.group: s for s in daily(u, "model")}
    raw = pd.read_csv(ROOT / "calibration" / "traces" / "servegen_rate_10min.csv")
    ml = raw[raw.model == "m-large"]
    want = (ml.total_rate_rps * 600).groupby(ml.day_index).sum().to_numpy()
    assert np.allclose(by["m-large"].values.to_numpy(), want)  # no gaps: the plain sums
    small = by["m-small"]
    assert small.imputed.sum() == 6  # days 7 and 9..13 have gap windows
    ms = raw[(raw.model == "m-small") & (raw.suspected_gap == 0)]
    seen = (ms.total_rate_rps * 600).groupby(ms.day_index).sum().to_numpy()
    assert np.all(small.values.to_numpy() >= seen - 1e-6)  # completed days only grow


# ---- bad input: one located message each ---------------------------------------------------------
def _err(tmp_path, name, text, fmt="auto"):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(UsageError) as e:
        read(f, fmt)
    return [str(p) for p in e.value.problems]


def test_bad_inputs_are_located(tmp_path):
    m = _err(tmp_path, "e.csv", "")
    assert m == [f"{tmp_path / 'e.csv'}: the file is empty: no usage to calibrate on"]
    m = _err(tmp_path, "u.csv", "when,tokens\n1,2\n")
    assert "could not tell the format" in m[0] and "generic needs" in m[0] and "servegen needs" in m[0]
    m = _err(tmp_path, "m.csv", "timestamp,input_tokens\n2026-01-01T00:00:00Z,5\n", "generic")
    assert "missing column(s) output_tokens" in m[0] and ":1:" in m[0]
    rows = "timestamp,input_tokens,output_tokens\n" + "2026-01-01T00:00:00Z,5,1\n" * 3 + "yesterday,5,1\n" + \
           "2026-01-01T01:00:00Z,-4,1\n" + "2026-01-01T02:00:00Z,x,1\n"
    m = _err(tmp_path, "b.csv", rows)
    assert len(m) == 3
    assert any(":5: timestamp: 1 row with a timestamp that cannot be read (line 5)" in x for x in m)
    assert any(":6: input_tokens: 1 row with a negative quantity (line 6)" in x for x in m)
    assert any(":7: input_tokens: 1 row with a value that is not a number (line 7)" in x for x in m)


def test_mixed_currencies_and_empty_buckets_are_refused(tmp_path):
    import json

    from sim.calibrate.usage import merge

    a = read(FIX / "openai_costs.json")
    b = read(FIX / "openai_costs.json")
    b.periods["currency"] = "EUR"
    with pytest.raises(UsageError, match="mixed currencies EUR, USD"):
        merge([a, b])
    f = tmp_path / "empty.json"
    f.write_text(json.dumps({"object": "page", "data": [{"start_time": 0, "end_time": 86400, "results": []}]}))
    with pytest.raises(UsageError, match="no usage rows"):
        read(f)


def test_focus_ai_rows_by_direction_unit_and_model():
    """tests/fixtures/usage/focus_1_2.csv: 7 days of Bedrock (tokens, direction in x_UsageType),
    Azure OpenAI (1K blocks, x_SkuMeterName) and Vertex (1M units, SkuMeter) rows, plus EC2 and tax
    rows that are not AI usage. Day d (1..7) bills n = 10⁶·d Bedrock input tokens, n/5 output, n/2
    cache reads and n/10 cache writes; Azure n/1000 K input and n/4000 K output; Vertex 2·d M input."""
    u = read(FIX / "focus_1_2.csv")
    assert u.formats == ["focus"]
    by = u.periods.groupby("model")[["input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens",
                                      "cost"]].sum()
    tri = 28  # Σ d for d = 1..7
    assert by.loc["Claude3.5Sonnet", "input_tokens"] == 1e6 * tri
    assert by.loc["Claude3.5Sonnet", "output_tokens"] == 2e5 * tri
    assert by.loc["Claude3.5Sonnet", "cached_tokens"] == 5e5 * tri
    assert by.loc["Claude3.5Sonnet", "cache_write_tokens"] == 1e5 * tri
    assert by.loc["gpt 4o mini 0718", "input_tokens"] == 1e6 * tri  # 1K blocks × 1,000
    assert by.loc["gpt 4o mini 0718", "output_tokens"] == 2.5e5 * tri
    assert by.loc["Gemini 2.5 Flash", "input_tokens"] == 2e6 * tri  # 1M units
    # cost: Bedrock $3 in / $15 out / $0.30 read / $3.75 write per M; EC2 ($10) and tax ($1) are not AI usage
    assert by["cost"].sum() == pytest.approx(tri * (3 + 0.2 * 15 + 0.5 * 0.3 + 0.1 * 3.75) + tri * (0.15 + 0.25 * 0.6)
                                             + tri * 0.6)
    assert u.periods["requests"].isna().all()


def test_focus_without_ai_rows_or_with_an_unknown_unit_is_refused(tmp_path):
    head = "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,ServiceName,ConsumedQuantity,ConsumedUnit,BilledCost,BillingCurrency,SkuMeter\n"
    m = _err(tmp_path, "f.csv", head + "2026-06-01T00:00:00Z,2026-06-02T00:00:00Z,Usage,Compute,EC2,24,Hours,10,USD,Box\n")
    assert "no AI rows" in m[0]
    m = _err(tmp_path, "g.csv", head + "2026-06-01T00:00:00Z,2026-06-02T00:00:00Z,Usage,AI and Machine Learning,X,"
                                       "5,Pages,1,USD,Model input tokens\n")
    assert "ConsumedUnit 'Pages', which is not a token count" in m[0]


@pytest.mark.parametrize("name", ["generic_requests.csv", "generic_periods.csv", "focus_1_2.csv"])
def test_parquet_reads_as_its_csv(tmp_path, name):
    """The same table as Parquet (typed columns, empty cells as nulls) gives the same periods."""
    src = FIX / name
    pq = tmp_path / (src.stem + ".parquet")
    pd.read_csv(src).to_parquet(pq)
    a, b = read(src).periods, read(pq).periods
    cols = ["requests", "input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens", "cost"]
    assert a["start"].equals(b["start"]) and list(a["model"]) == list(b["model"])
    assert np.allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), equal_nan=True)


def test_read_requests_keeps_every_request_in_time_order(tmp_path):
    """The request stream sizing reads: every row kept (its time, the whole prompt, the cached part,
    the output), sorted by time; a period export is refused by name."""
    from sim.calibrate.formats import read_requests
    from sim.calibrate.usage import UsageError

    f = tmp_path / "r.csv"
    f.write_text("timestamp,input_tokens,cached_tokens,output_tokens,model\n"
                 "2026-03-01T00:00:02Z,100,40,10,m\n2026-03-01T00:00:01Z,200,0,20,m\n"
                 "2026-03-01T00:00:03Z,300,300,30,m\n")
    r = read_requests(f).requests
    assert list(r["input_tokens"]) == [200, 100, 300] and list(r["cached_tokens"]) == [0, 40, 300]
    assert list(r["output_tokens"]) == [20, 10, 30]
    assert (r["t"].diff().dropna() > pd.Timedelta(0)).all()
    with pytest.raises(UsageError) as e:
        read_requests(FIX / "openai_usage.json")
    assert "openai exports count periods, not requests" in str(e.value)
