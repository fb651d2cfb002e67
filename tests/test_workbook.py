"""``--xlsx PATH``: estimate, budget, commit, tco and report write one workbook, a sheet per table.

Each sheet is read back with openpyxl and compared cell by cell with what the command writes as
CSV (estimate, report) or prints with --json (budget, commit, tco): the same rows and columns,
money to the cent (the CSV's money columns are at cents too), every other number as the CSV has
it; every numeric header carries its unit, row 1 is frozen. A bad --xlsx is a located usage error
(exit status 2, no traceback). Small runs: the batch-commit example, 8 paths.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sim.cli import main
from tests.conftest import cli_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "scenarios" / "examples"
BATCH, CHAT, OWNED = (str(EXAMPLES / f) for f in ("batch_commit.yaml", "single_chat.yaml", "coding_agent_owned.yaml"))




@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    """A results directory of the batch-commit example (4 commit options, 8 paths) and daily actuals
    of December 2026, the month before its forecast starts."""
    d = tmp_path_factory.mktemp("wb")
    cli_json(["run", BATCH, "--paths", "8", "--out", str(d / "run"), "--quiet"])
    days = pd.date_range("2026-12-01", "2026-12-31", freq="D")
    pd.DataFrame({"group": "docs", "workload": "docs", "day": days.strftime("%Y-%m-%d"),
                  "cost": [12.345678 + i for i in range(len(days))]}).to_csv(d / "acts.csv", index=False)
    return {"dir": d, "run": str(d / "run"), "actuals": str(d / "acts.csv")}


# ---- reading back ----------------------------------------------------------------------------------
def _sheet(book: Path, name: str) -> tuple[list[str], list[list]]:
    ws = openpyxl.load_workbook(book)[name]
    assert ws.freeze_panes == "A2"  # the header row stays in view
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    if not rows:  # a table without columns (a scenario with no GPU pool has no pool rows): its CSV is empty too
        return [], []
    return [str(h) for h in rows[0]], rows[1:]


def _is_money(header: str) -> bool:
    """A column of money in every row (a column whose unit changes by row names several units)."""
    return header.endswith("(USD)")


def _named(header: str, column: str) -> bool:
    """The sheet's header is the column's name, with its unit after it."""
    return header == column or header.startswith(f"{column} (")


def _check_units(headers: list[str], rows: list[list], unitless: tuple[str, ...] = ("rank", "year")) -> None:
    """Every column holding numbers names its unit; money cells are at cents, formatted as money."""
    for j, h in enumerate(headers):
        cells = [r[j] for r in rows if r[j] is not None]
        numeric = [v for v in cells if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numeric and h not in unitless:
            assert h.endswith(")") and " (" in h, f"no unit in header {h!r}"
        if _is_money(h):
            assert all(round(v, 2) == v for v in numeric), (h, numeric[:5])


def _same_as_csv(book: Path, sheet: str, path: Path) -> None:
    """Sheet ``sheet`` of ``book`` holds exactly the table of the CSV ``path``."""
    with open(path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    head, body = (table[0], table[1:]) if table else ([], [])
    headers, rows = _sheet(book, sheet)
    assert len(headers) == len(head) and all(_named(h, c) for h, c in zip(headers, head)), (headers, head)
    assert len(rows) == len(body), (sheet, len(rows), len(body))
    for i, (got, want) in enumerate(zip(rows, body)):
        for h, v, s in zip(headers, got, want):
            where = f"{sheet} row {i + 2} column {h!r}"
            if s == "":
                assert v is None, where
            elif isinstance(v, bool):
                assert str(v) == s, where
            elif isinstance(v, (int, float)):
                assert v == float(s), (where, v, s)  # the same number: money to the cent
                if _is_money(h):
                    assert round(float(s), 2) == float(s), (where, s)  # the CSV at cents too
            else:
                assert str(v) == s, where
    _check_units(headers, rows)


def _same(v, x, money: bool, where: str = "") -> None:
    """A sheet's cell ``v`` against the JSON value ``x``: money to the cent, other numbers to the CSV's
    12 significant digits."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)) or x == "":
        assert v is None, where
    elif isinstance(x, str):
        assert v == x, where
    elif money:
        assert v == round(x, 2), (where, v, x)
    else:
        assert v == pytest.approx(x, rel=1e-11, abs=1e-300), (where, v, x)


def _records(book: Path, sheet: str) -> list[dict]:
    headers, rows = _sheet(book, sheet)
    _check_units(headers, rows)
    return [dict(zip(headers, r)) for r in rows]


def _col(rec: dict, name: str) -> tuple[object, bool]:
    """The value of column ``name`` in a sheet row (its header carries the unit) and whether it is money."""
    hits = [h for h in rec if _named(h, name)]
    assert len(hits) == 1, (name, list(rec))
    return rec[hits[0]], _is_money(hits[0])


def _compare(book: Path, sheet: str, want: list[dict], keys: dict[str, str] | None = None) -> None:
    """Sheet rows against JSON records: column (sheet) -> key (JSON), every key when ``keys`` is None."""
    got = _records(book, sheet)
    assert len(got) == len(want), (sheet, len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        for col, key in (keys or {k: k for k in w}).items():
            v, money = _col(g, col)
            _same(v, w[key], money, f"{sheet} row {i + 2} {col}")


# ---- the five commands -------------------------------------------------------------------------------
def test_estimate_xlsx_holds_its_csv_tables(tmp_path):
    book = tmp_path / "book" / "estimate.xlsx"  # a directory that does not exist yet is created
    obj = cli_json(["estimate", CHAT, "--out", str(tmp_path / "out"), "--xlsx", str(book)])
    assert obj["xlsx"] == str(book) and book.is_file()
    assert not [p for p in book.parent.iterdir() if p.name.endswith(".tmp")]  # written atomically
    wb = openpyxl.load_workbook(book)
    csvs = sorted(p.name for p in (tmp_path / "out").glob("estimate_*.csv"))
    assert wb.sheetnames == ["monthly", "monthly_by_pool", "lines", "pools", "workloads", "unit_costs",
                             "yearly_by_business_unit"]
    assert sorted(f"estimate_{s}.csv" for s in wb.sheetnames if s != "yearly_by_business_unit") == csvs
    for s in wb.sheetnames[:-1]:
        _same_as_csv(book, s, tmp_path / "out" / f"estimate_{s}.csv")
    headers, rows = _sheet(book, "lines")
    assert "spend (USD)" in headers and "tokens_input (tokens)" in headers and "requests (count)" in headers
    ws = wb["lines"]
    j = headers.index("spend (USD)") + 1
    assert ws.cell(row=2, column=j).number_format == "#,##0.00" and ws.column_dimensions["A"].width >= 8
    yearly = _records(book, "yearly_by_business_unit")
    assert {r["year"]: r["total (USD)"] for r in yearly} == {y: round(v, 2) for y, v in obj["annual_spend"].items()}
    monthly = _records(book, "monthly")
    assert [r["total (USD)"] for r in monthly] == [round(v, 2) for v in obj["monthly_spend"].values()]


def test_budget_xlsx_is_its_json(results, tmp_path):
    book = tmp_path / "budget.xlsx"
    obj = cli_json(["budget", results["run"], "--budget", "4000", "--actuals", results["actuals"], "--xlsx", str(book)])
    assert obj["xlsx"] == str(book)
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["spend_by_year", "spend_by_group", "chargeback", "monte_carlo_error", "runway"]
    _compare(book, "spend_by_year", obj["total"])
    got = _records(book, "spend_by_year")
    for g, w in zip(got, obj["total"]):
        assert g["P90 budget (USD)"] == round(obj["budget_at_confidence"][w["period"]], 2)
        assert g["P(spend > budget) (share)"] == obj["p_exceed"][w["period"]]
        assert g["budget (USD)"] == 4000
    _compare(book, "spend_by_group", obj["quantiles"])
    _compare(book, "chargeback", obj["chargeback"])
    _compare(book, "monte_carlo_error", obj["mc_error"])
    rw = obj["runway"]
    runway = {r["measure"]: r for r in _records(book, "runway")}
    value = next(h for h in next(iter(runway.values())) if h.startswith("value ("))
    assert runway["year to date"][value] == round(rw["ytd_spend"], 2)
    assert runway["burn rate per day"][value] == round(rw["burn_rate_per_day"], 2) != rw["burn_rate_per_day"]
    assert runway["P(year total > budget)"][value] == rw["p_exceed_year"]  # a share, not rounded to cents
    total = runway["year total"]
    assert [total[h] for h in total if h.startswith(("p10", "p50", "p90"))] == \
        [round(rw["year_total"][k], 2) for k in ("p10", "p50", "p90")]


def test_commit_xlsx_is_its_json(tmp_path):
    book = tmp_path / "commit.xlsx"
    obj = cli_json(["commit", BATCH, "--paths", "8", "--xlsx", str(book)])
    assert obj["xlsx"] == str(book)
    assert openpyxl.load_workbook(book).sheetnames == ["options", "contracts", "newsvendor"]
    keys = {k: k for k in ("expected_cost", "se_expected_cost", "p5_cost", "p50_cost", "p95_cost",
                           "expected_stranded_cost", "expected_overage_cost", "difference_vs_optimum",
                           "se_difference_vs_optimum")}
    _compare(book, "options", obj["options"], {"option": "strategy", "cvar95_cost": "cvar_cost", **keys})
    for g, o in zip(_records(book, "options"), obj["options"]):
        assert g["p_utilization_below_80% (share)"] == o["p_utilization_below_threshold"]
        assert g["on_frontier"] == ("yes" if o["on_frontier"] else None)
    contracts = [{"option": o["strategy"], "contract": c, **info} for o in obj["options"]
                 for c, info in o["contracts"].items()]
    _compare(book, "contracts", contracts, {k: k for k in (
        "option", "contract", "kind", "expected_drawn", "expected_stranded", "expected_overage",
        "expected_stranded_cost", "expected_overage_cost")})
    assert {r["unit"] for r in _records(book, "contracts")} == {"commit USD"}
    nv = obj["newsvendor"][0]
    row = _records(book, "newsvendor")[0]
    assert _col(row, "newsvendor_amount")[0] == pytest.approx(nv["newsvendor_amount"], rel=1e-11)
    assert _col(row, "discount")[0] == nv["discount"] and row["contract"] == nv["contract"]


def test_tco_xlsx_is_its_json(tmp_path):
    book = tmp_path / "tco.xlsx"
    obj = cli_json(["tco", OWNED, "--paths", "2", "--draws", "20", "--purchase-months", "0", "--xlsx", str(book)])
    assert obj["xlsx"] == str(book)
    assert openpyxl.load_workbook(book).sheetnames == ["cost_at_scale", "crossovers", "crossover_by_year",
                                                       "pool_lines", "cost_curves", "expected_volume",
                                                       "owned_cost_split", "purchase_months"]
    _compare(book, "cost_curves", obj["cost_curves"])
    _compare(book, "purchase_months", obj["purchase_sweep"]["table"])
    _compare(book, "pool_lines", [{"pool": p, **v} for p, v in obj["pool_lines"].items()])
    _compare(book, "crossover_by_year", obj["crossover_by_year"])
    _compare(book, "cost_at_scale", [{"pool": p, "cost_per_mtok_at_scale": v}
                                     for p, v in obj["usd_per_mtok_at_scale"].items()])
    cross = _records(book, "crossovers")
    assert [r["pools compared"] for r in cross] == list(obj["crossover_tokens_per_year"])
    for r in cross:
        d = obj["crossover_distribution"]["pairs"][r["pools compared"]]
        assert _col(r, "crossover (expected inputs)")[0] == pytest.approx(
            obj["crossover_tokens_per_year"][r["pools compared"]], rel=1e-11)
        assert _col(r, "p50")[0] == pytest.approx(d["p50"], rel=1e-11) and _col(r, "p_never")[0] == d["p_never"]
    split = _records(book, "owned_cost_split")
    assert [r["component"] for r in split[:-1]] == list(obj["owned_cost_per_mtok_by_component"])
    assert "cost_per_mtok (USD/MTok)" in split[0]  # a price per million tokens keeps its digits
    assert split[0]["cost_per_mtok (USD/MTok)"] == pytest.approx(
        next(iter(obj["owned_cost_per_mtok_by_component"].values())), rel=1e-11)
    hd, _ = _sheet(book, "purchase_months")
    assert "expected_npv_savings (USD)" in hd and "p_regret (share)" in hd


def test_report_xlsx_holds_its_csv_tables(results, tmp_path):
    from sim.report.sheets import report_units

    out, book = tmp_path / "r.html", tmp_path / "tables.xlsx"
    obj = cli_json(["report", results["run"], "--scenario", BATCH, "-o", str(out), "--budget", "4000", "--actuals",
                 results["actuals"], "--tco-paths", "0", "--no-sensitivity", "--xlsx", str(book)])
    assert obj["xlsx"] == str(book)
    csvs = [Path(f) for f in obj["files"] if f.endswith(".csv")]
    names = [p.stem[len("r_"):] for p in csvs]
    assert openpyxl.load_workbook(book).sheetnames == names
    assert {"budget_by_year", "commit_options", "runway", "runway_days"} <= set(names)
    for name, p in zip(names, csvs):
        assert report_units(name, pd.read_csv(p)), f"the report's table {name} declares no units"
        _same_as_csv(book, name, p)
    runway = pd.read_csv(tmp_path / "r_runway.csv").set_index("measure")
    assert runway.loc["year to date", "value"] == round(obj["runway"]["ytd_spend"], 2)
    assert runway.loc["P(year total > budget)", "value"] == pytest.approx(obj["runway"]["p_exceed_year"], rel=1e-11)


def test_every_report_table_has_units():
    """Each table the report can write (its sections, the backtest's and the sizing's) declares its units:
    one typical column each."""
    from sim.io.workbook import MONEY, PER_MTOK, SHARE, ByRow
    from sim.report.sheets import report_units

    typical = {"budget_by_year": ("p95", MONEY), "budget_quantiles": ("mean", MONEY), "chargeback": ("share", SHARE),
               "monte_carlo_error": ("paths_for_1pct", "paths"), "monthly_quantiles": ("p50", MONEY),
               "strategies": ("P(some year over budget)", SHARE), "outcomes": ("net_value_p5", MONEY),
               "factory": ("cost_per_mtok_interactive", PER_MTOK), "commit_options": ("CVaR95", MONEY),
               "tco_cost_curves": ("usd_per_mtok", PER_MTOK), "tco_purchase_months": ("p_regret", SHARE),
               "tornado": ("swing", MONEY), "runway_days": ("forecast_cumulative_p50", MONEY),
               "backtest_scores": ("P5–P95 coverage", SHARE), "backtest_days": ("p95", "requests a day"),
               "sizing_plans": ("cost per month (USD)", MONEY), "sizing_2_term": ("pool only: P(breach)", SHARE)}
    for name, (column, unit) in typical.items():
        assert report_units(name, pd.DataFrame({column: [1.0]})).get(column) == unit, name
    assert isinstance(report_units("runway", pd.DataFrame({"value": [1.0]}))["value"], ByRow)


# ---- bad paths ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["estimate", CHAT], ["budget", "RESULTS"], ["commit", BATCH], ["tco", OWNED],
                                     ["report", "RESULTS", "-o", "OUT/r.html"]])
def test_bad_xlsx_path_is_a_usage_error(command, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    argv = [a.replace("OUT", str(tmp_path)) for a in command]
    for bad, says in ((str(tmp_path), "is a directory"), (str(tmp_path / "t.csv"), "ending in .xlsx"),
                      (str(tmp_path / "file" / "t.xlsx"), "is a file")):
        code = main(argv + ["--xlsx", bad, "--json"])
        cap = capsys.readouterr()
        assert code == 2, cap
        obj = json.loads(cap.out.splitlines()[-1])
        assert obj["ok"] is False and obj["error"] == "usage"
        assert any("--xlsx" in p and says in p for p in obj["problems"]), obj
        assert "Traceback" not in cap.err
    assert not (tmp_path / "t.xlsx").exists()


def test_calculator_refuses_xlsx(capsys):
    code = main(["estimate", "--model", "openai/gpt-4o", "--input-tokens", "1", "--output-tokens", "1",
                 "--requests-per-month", "1", "--xlsx", "x.xlsx", "--json"])
    obj = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 2 and "--xlsx" in obj["problems"][0]


# ---- the writer --------------------------------------------------------------------------------------------
def test_writer_names_rounds_and_keeps_text(tmp_path):
    from sim.io.files import write_csv
    from sim.io.workbook import MONEY, SHARE, ByRow, Table, write_workbook

    long = "a_table_name_much_longer_than_excel_allows"
    frame = pd.DataFrame({"measure": ["budget", "P(over)", "=1+1"], "value": [1234.5678, 0.4567, float("nan")],
                          "spend": [0.005, -0.004, 1e9 + 0.126], "tokens": [1e12, 2.5, 3.0]})
    t = Table(frame, {"value": ByRow("measure", {"P(over)": SHARE}, MONEY), "spend": MONEY, "tokens": "tokens"})
    book = write_workbook(tmp_path / "b.xlsx", {long: t, long + "2": frame, "a/b:c": frame}, currency="EUR")
    wb = openpyxl.load_workbook(book)
    assert [len(n) <= 31 for n in wb.sheetnames] == [True] * 3 and len(set(wb.sheetnames)) == 3
    assert wb.sheetnames[2] == "a_b_c"
    headers, rows = _sheet(book, wb.sheetnames[0])
    assert headers == ["measure", "value (EUR; P(over): share)", "spend (EUR)", "tokens (count)"]
    assert [r[1] for r in rows] == [1234.57, 0.4567, None]  # cents for the money rows only; NaN empty
    assert [r[2] for r in rows] == [0.01, 0.0, 1000000000.13]
    assert rows[2][0] == "=1+1" and wb[wb.sheetnames[0]]["A4"].data_type == "s"  # text, not a formula
    assert wb[wb.sheetnames[0]]["C2"].number_format == "#,##0.00" and wb[wb.sheetnames[0]]["B3"].number_format == "0.0%"
    f = write_csv(tmp_path / "x.csv", frame, money=["spend"])
    assert [line.split(",")[2] for line in f.read_text().splitlines()[1:]] == ["0.01", "0.0", "1000000000.13"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
