"""Exports that broke the first version of calibrate and backtest (a review's reproductions): each
must be refused with a located message (exit 2), or read the way its format means."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.formats import read
from sim.calibrate.series import daily
from sim.calibrate.usage import UsageError
from sim.cli import main
from tests.conftest import refusal


def _oai(buckets):
    return json.dumps({"object": "page", "data": buckets, "has_more": False})


def _bucket(day, results):
    t0 = 1767225600 + 86400 * day
    return {"object": "bucket", "start_time": t0, "end_time": t0 + 86400, "results": results}


RESULT = {"input_tokens": 1000, "input_cached_tokens": 0, "output_tokens": 100, "num_model_requests": 10,
          "model": "gpt-4.1-mini"}


@pytest.mark.parametrize("name, text, message", [
    ("results_str.json", _oai([_bucket(0, "oops")]), "[0].data[0].results: expected a list of result objects"),
    ("start_null.json", _oai([{**_bucket(0, [RESULT]), "start_time": None}]),
     "[0].data[0].start_time: expected Unix seconds, got None"),
    ("focus_no_end.csv", "ChargePeriodStart,ConsumedQuantity,BilledCost,ServiceCategory\n2026-01-01,1,1,AI\n",
     "missing column(s) ChargePeriodEnd"),
    ("broken.parquet", "PAR1 this is not parquet", "cannot be read as Parquet"),
    ("lines.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 1}\n{"timestamp": 1,\n',
     "cannot be read as"),
])
def test_malformed_exports_are_located_refusals(capsys, tmp_path, name, text, message):
    f = tmp_path / name
    f.write_text(text)
    m = refusal(["calibrate", str(f), "-o", str(tmp_path / "x.yaml")], capsys, "input")
    assert message in m[0] and m[0].startswith(str(f))


def test_a_file_named_gz_that_is_not_gzip(capsys, tmp_path):
    f = tmp_path / "u.csv.gz"
    f.write_bytes(b"not gzip at all")
    m = refusal(["calibrate", str(f), "-o", str(tmp_path / "x.yaml")], capsys, "input")
    assert "BadGzipFile" in m[0] or "gzip" in m[0].lower()
    g = tmp_path / "ok.csv.gz"
    g.write_bytes(gzip.compress(b"period_start,requests\n2026-01-01,5\n"))
    assert read(g).periods["requests"].sum() == 5


def _periods(days, values, start="2026-03-02"):
    d = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame({"period_start": d.strftime("%Y-%m-%d"),
                         "period_end": (d + pd.Timedelta(days=1)).strftime("%Y-%m-%d"), "requests": values,
                         "model": "m1"})


def test_closed_weekends_get_weight_zero(capsys, tmp_path):
    days = 35
    idx = pd.date_range("2026-03-02", periods=days, freq="D")  # a Monday
    vals = np.where(idx.day_of_week >= 5, 0, 1000 + 10 * np.arange(days) + 37 * (np.arange(days) % 3))
    f = tmp_path / "office.csv"
    _periods(days, vals).to_csv(f, index=False)
    assert main(["calibrate", str(f), "-o", str(tmp_path / "o.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    week = r["fits"][0]["weekly"]
    assert week[5] == 0 and week[6] == 0 and all(w > 0.5 for w in week[:5])
    assert any("no use on any Saturday, Sunday" in w for w in r["warnings"])


def test_request_rows_in_business_hours_make_whole_days(tmp_path):
    """Requests only 09:00–17:00: the hours between are observed (no request), so every day inside
    the export's span is complete; the first and last calendar days are partial and missing."""
    rows = ["timestamp,input_tokens,output_tokens"]
    for d in range(10):
        for h in range(9, 17):
            rows.append(f"2026-03-{d + 2:02d}T{h:02d}:15:00Z,100,10")
    f = tmp_path / "b.csv"
    f.write_text("\n".join(rows) + "\n")
    s = daily(read(f), None)[0]
    assert s.values.isna().tolist() == [True] + [False] * 8 + [True]
    assert (s.values.dropna() == 8).all()


def test_overlapping_or_repeated_periods_are_refused(capsys, tmp_path):
    df = _periods(10, 100)
    f = tmp_path / "dup.csv"
    pd.concat([df, df.iloc[[4]]]).to_csv(f, index=False)
    m = refusal(["calibrate", str(f), "-o", str(tmp_path / "x.yaml")], capsys, "input")
    assert "1 period(s) overlap an earlier period" in m[0] and ":12:" in m[0]


def test_a_constant_series_still_makes_a_valid_scenario(capsys, tmp_path):
    f = tmp_path / "flat.csv"
    _periods(12, 500).assign(model="").to_csv(f, index=False)
    assert main(["calibrate", str(f), "-o", str(tmp_path / "flat.yaml"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["fits"][0]["group"] == "(none)"


def test_backtest_of_a_month_and_through_missing_days(capsys, tmp_path):
    rng = np.random.default_rng(4)
    n = 50
    vals = np.round(1e5 * np.exp(0.002 * np.arange(n) + 0.05 * rng.standard_normal(n)))
    f = tmp_path / "s.csv"
    _periods(n, vals).to_csv(f, index=False)
    assert main(["backtest", str(f), "--train-days", "14", "--horizon-days", "31", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pooled"]["days_evaluated"] == 31
    g = tmp_path / "gaps.csv"
    _periods(n, vals).drop(index=[12, 13]).to_csv(g, index=False)  # the two days before an origin
    assert main(["backtest", str(g), "--train-days", "14", "--horizon-days", "7", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["pooled"]
    assert abs(r["bias"]) < 0.05  # a flat 5 %-noise series: the forecast must not drift off by the gap


def test_runway_actuals_with_a_missing_group_day(tmp_path):
    from sim.analysis.runway import read_actuals

    f = tmp_path / "a.csv"
    f.write_text("group,workload,day,cost\na,a,2026-05-01,10\nb,b,2026-05-01,10\na,a,2026-05-02,\nb,b,2026-05-02,10\n"
                 "a,a,2026-05-03,4\n")
    a = read_actuals(str(f))
    assert a.iloc[0] == 20 and np.isnan(a.iloc[1]) and a.iloc[2] == 4  # b had no row on the 3rd: no use


# ---- a ragged CSV row, a broken JSON line: located at their line -----------------------------------
HEADER = "timestamp,input_tokens,output_tokens\n"
GOOD = "2026-01-01T00:00:00Z,5,1\n"


@pytest.mark.parametrize("rows, line, found", [
    ([GOOD, "2026-01-01T00:00:00Z,5,1,9\n", GOOD], 3, 4),  # one field too many
    ([GOOD, GOOD, "2026-01-01T00:00:00Z,5\n"], 4, 2),  # one too few: was "output_tokens: no value"
    (["2026-01-01T00:00:00Z,5,1,9\n", GOOD], 2, 4),  # the first row: pandas took column 1 as the index
    ([GOOD, '2026-01-01T00:00:00Z,"5,1"\n'], 3, 2),  # a quoted comma is one field
])
def test_a_ragged_csv_row_is_located_at_its_line(capsys, tmp_path, rows, line, found):
    f = tmp_path / "r.csv"
    f.write_text(HEADER + "".join(rows))
    m = refusal(["calibrate", str(f), "-o", str(tmp_path / "x.yaml")], capsys, "input")
    assert m == [f"{f}:{line}: expected 3 fields, found {found} (one field per column of the header)"]


def test_ragged_rows_are_counted_and_the_first_few_named(tmp_path):
    f = tmp_path / "many.csv.gz"
    body = "".join(GOOD if i % 1000 else "2026-01-01T00:00:00Z,5\n" for i in range(1, 20_001))
    f.write_bytes(gzip.compress((HEADER + body).encode()))
    with pytest.raises(UsageError) as e:
        read(f)
    m = [str(p) for p in e.value.problems]
    assert len(m) == 6 and m[0] == f"{f}:1001: expected 3 fields, found 2 (one field per column of the header)"
    assert m[5] == f"{f}:6001: and 15 more row(s) whose number of fields is not the header's"


def test_a_quoted_newline_and_bytes_that_are_not_utf8(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('timestamp,input_tokens,output_tokens,model\n2026-01-01T00:00:00Z,5,1,"a\nb"\n' + GOOD.strip() + ",m\n")
    assert read(f).periods["requests"].sum() == 2
    g = tmp_path / "latin1.csv"
    g.write_bytes((HEADER + GOOD).encode() + b"2026-01-01T00:00:00Z,5,1\xe9\n")
    with pytest.raises(UsageError) as e:
        read(g)
    assert [str(p) for p in e.value.problems] == [
        f"{g}:3: output_tokens: cannot be read: invalid UTF8 data (the file must be UTF-8 text)"]


def _page(day):
    return _oai([_bucket(day, [RESULT])])


def test_a_broken_json_line_is_located_at_its_line(capsys, tmp_path):
    f = tmp_path / "pages.jsonl"
    f.write_text(_page(0) + "\n" + _page(1) + "\n" + _page(2).replace('"data":', '"data"', 1) + "\n")
    m = refusal(["calibrate", str(f), "-o", str(tmp_path / "x.yaml")], capsys, "input")
    col = _page(2).index('"data"') + len('"data" ') + 1  # 1-based: where ':' was due, after the space
    assert m == [f"{f}:3: this JSON line is not JSON: Expecting ':' delimiter at column {col}"]


def test_a_broken_json_document_is_located_at_its_line_and_column(tmp_path):
    f = tmp_path / "pretty.json"
    f.write_text(json.dumps(json.loads(_page(0)), indent=2).replace('"results": [', '"results": [,', 1))
    with pytest.raises(UsageError) as e:
        read(f, "openai")
    m = [str(p) for p in e.value.problems]
    assert len(m) == 1 and m[0].startswith(f"{f}:8: not JSON: Expecting value at line 8, column ")


def test_a_broken_mooncake_line_is_located(tmp_path):
    f = tmp_path / "trace.jsonl"
    f.write_text('{"timestamp": 0, "input_length": 5, "output_length": 1}\n' * 3 + '{"timestamp": 9,, "x": 1}\n')
    with pytest.raises(UsageError) as e:
        read(f)
    want = (f"{f}:4: cannot be read as JSON lines: this line is not JSON: Expecting property name enclosed in "
            "double quotes at column 17")
    assert [str(p) for p in e.value.problems] == [want]
