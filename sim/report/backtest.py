"""The backtest in HTML: pooled and per-series scores, the band-vs-actual chart and the PIT.

The section builders (``scores_table``, ``scores_html``, ``bands_html``, ``pit_html``, ``notes_html``)
make both the backtest's own page (``backtest_page``, ``tokensim backtest --html``) and the
backtest section of the main report (``sim.report.html.build_report``), which reads what
``tokensim backtest --json`` printed (``read_backtest``) and, for the band chart, its ``--csv``
table of held-out days (``read_backtest_days``). A file that is not one of those is refused with
an ``AnalysisError`` naming it (and the key path, or the line and column).
"""

from __future__ import annotations

import html
import json
import math

import numpy as np
import pandas as pd

from ..analysis.common import AnalysisError, json_key, read_command_json
from . import plots
from .html import CSS, _img, _table

READ = ("How to read: each held-out day was forecast from the days before its origin only. A calibrated "
        "forecast puts 90 % of actuals inside P5–P95 and 50 % inside P25–P75, and its PIT histogram is flat. "
        "CRPS is relative to the actual (0.1 = a typical error of 10 %), lower is better; the two naive "
        "baselines are scored on the same days.")
DAY_COLUMNS = ("series", "origin", "day", "actual", "p5", "p25", "p50", "p75", "p95", "pit")


def scores_table(result: dict) -> pd.DataFrame:
    """One row per series and the pooled one: days, coverage of both bands, CRPS, median bias, the baselines' CRPS."""
    rows = []
    for name, q in [("pooled", result["pooled"])] + list(result["series"].items()):
        rows.append({"series": name, "days": q["days_evaluated"], "P5–P95 coverage": q["coverage"]["p5_p95"],
                     "P25–P75 coverage": q["coverage"]["p25_p75"], "CRPS": q["crps"], "median bias": q["bias"],
                     "CRPS last week repeated": q["baselines"]["last_week_repeated"]["crps"],
                     "CRPS training spread": q["baselines"]["training_spread"]["crps"]})
    return pd.DataFrame(rows)


def scores_html(scores: pd.DataFrame) -> str:
    kinds = {c: "pct" for c in ("P5–P95 coverage", "P25–P75 coverage", "median bias")}
    kinds |= {c: "num" for c in ("CRPS", "CRPS last week repeated", "CRPS training spread", "days")}
    return _table(scores, kinds)


def bands_html(result: dict, days: pd.DataFrame) -> str:
    return _img(plots.backtest_bands(days, result.get("quantity", "requests")), "bands vs actuals")


def pit_html(result: dict, days: pd.DataFrame | None = None) -> str:
    """The PIT histogram: of the held-out days' values, or (without them) of the pooled counts."""
    if days is not None:
        return _img(plots.pit_histogram(days["pit"].to_numpy(float)), "PIT histogram")
    return _img(plots.pit_counts_histogram(result["pooled"]["pit"]), "PIT histogram")


def notes_html(result: dict, heading: str = "h2") -> str:
    if not result.get("warnings"):
        return ""
    return (f"<{heading}>Notes</{heading}><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in result["warnings"])
            + "</ul>")


def backtest_meta(result: dict) -> str:
    return f"train {result['train_days']} days, forecast {result['horizon_days']} days, {result['paths']:,} paths"


def backtest_page(result: dict, days: pd.DataFrame, sources: list[str]) -> tuple[str, dict[str, pd.DataFrame]]:
    """(page, CSV tables) of a backtest (``sim.studies.backtest.Backtest.result`` and its table)."""
    scores = scores_table(result)
    sec = [f'<div class="read">{READ}</div>',
           "<h2>Scores</h2>", scores_html(scores),
           "<h2>Forecast bands against what happened</h2>", bands_html(result, days),
           "<h2>Calibration (PIT)</h2>", pit_html(result, days)]
    if result.get("warnings"):
        sec.append(notes_html(result))
    meta = f"{backtest_meta(result)}; data: {html.escape(', '.join(sources))}"
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>tokensim backtest</title><style>{CSS}</style>"
            f"</head><body><h1>Backtest</h1><p class=\"meta\">{meta}</p>\n" + "\n".join(sec) + "\n</body></html>\n")
    return page, {"scores": scores, "days": days}


# ---- reading a backtest's output back ----------------------------------------------------------------------
def _number(path: str, where: str, v, whole: bool = False, low: float | None = None, high: float | None = None):
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (not whole or float(v).is_integer()) and (low is None or v >= low) and (high is None or v <= high)
    if not ok:
        rng = f" in {low:g}..{high:g}" if low is not None and high is not None else (f" >= {low:g}" if low is not None else "")
        raise AnalysisError(f"{path}: {where}: expected {'a whole number' if whole else 'a number'}{rng}, got "
                            f"{json.dumps(v)[:60]}")
    return v


def _key(path: str, where: str, obj, key: str):
    return json_key(path, where, obj, key, "backtest")


def _scores(path: str, where: str, q) -> None:
    n = _number(path, f"{where}.days_evaluated", _key(path, where, q, "days_evaluated"), whole=True, low=1)
    cov = _key(path, where, q, "coverage")
    for band in ("p5_p95", "p25_p75"):
        _number(path, f"{where}.coverage.{band}", _key(path, f"{where}.coverage", cov, band), low=0, high=1)
    _number(path, f"{where}.crps", _key(path, where, q, "crps"), low=0)
    _number(path, f"{where}.bias", _key(path, where, q, "bias"))
    base = _key(path, where, q, "baselines")
    for b in ("last_week_repeated", "training_spread"):
        crps = _key(path, f"{where}.baselines.{b}", _key(path, f"{where}.baselines", base, b), "crps")
        if crps is not None:  # null when no training week was complete (NaN in JSON is null)
            _number(path, f"{where}.baselines.{b}.crps", crps, low=0)
    pit = _key(path, where, q, "pit")
    if not isinstance(pit, list) or not pit:
        raise AnalysisError(f"{path}: {where}.pit: expected a list of counts, got {json.dumps(pit)[:60]}")
    for i, c in enumerate(pit):
        _number(path, f"{where}.pit[{i}]", c, whole=True, low=0)
    if sum(pit) != n:
        raise AnalysisError(f"{path}: {where}.pit: the counts add up to {sum(pit)}, not days_evaluated ({n})")


def read_backtest(path: str) -> dict:
    """The result ``tokensim backtest --json`` printed, saved to ``path``: checked key by key (each
    refusal names the file and the key path)."""
    obj = read_command_json(path, "backtest", "scores")
    if "command" in obj and obj["command"] != "backtest":
        raise AnalysisError(f"{path}: command: the output of tokensim {obj['command']}, not of tokensim backtest")
    for k in ("train_days", "horizon_days", "paths"):
        _number(path, k, _key(path, "", obj, k), whole=True, low=1)
    _scores(path, "pooled", _key(path, "", obj, "pooled"))
    series = _key(path, "", obj, "series")
    if not isinstance(series, dict) or not series:
        raise AnalysisError(f"{path}: series: expected an object of the scores per series, got {json.dumps(series)[:60]}")
    for name, q in series.items():
        _scores(path, f"series.{name}", q)
    w = obj.get("warnings", [])
    if not isinstance(w, list):
        raise AnalysisError(f"{path}: warnings: expected a list of text, got {json.dumps(w)[:60]}")
    q = obj.get("quantity", "requests")
    return {**obj, "warnings": [str(x) for x in w], "quantity": str(q)}


def read_backtest_days(path: str, result: dict) -> pd.DataFrame:
    """The held-out days ``tokensim backtest --csv`` wrote, checked (each refusal names the file, and
    the line and column) and matched to ``result``, the backtest's JSON: the same series and days."""
    try:
        df = pd.read_csv(path, dtype={"series": str, "origin": str, "day": str})
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise AnalysisError(f"{path}: cannot read the backtest's days ({exc}) (write them with tokensim backtest "
                            "--csv)") from None
    missing = [c for c in DAY_COLUMNS if c not in df.columns]
    if missing:
        raise AnalysisError(f"{path}: no {', '.join(missing)} column (the held-out days tokensim backtest --csv "
                            "writes)")
    for c in ("origin", "day"):
        bad = pd.to_datetime(df[c], errors="coerce", format="%Y-%m-%d").isna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise AnalysisError(f"{path}:{i + 2}: {c}: not a date YYYY-MM-DD: {df[c].iloc[i]!r}")
    for c in ("actual", "p5", "p25", "p50", "p75", "p95", "pit"):
        v = pd.to_numeric(df[c], errors="coerce")
        bad = ~np.isfinite(v.to_numpy(float)) | ((v < 0) | (v > 1) if c == "pit" else v < 0).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "a share in 0..1" if c == "pit" else "a number >= 0"
            raw = df[c].iloc[i]
            got = repr(raw) if isinstance(raw, str) else ("nothing" if pd.isna(raw) else f"{raw:g}")
            raise AnalysisError(f"{path}:{i + 2}: {c}: expected {what}, got {got}")
        df[c] = v.astype(float)
    if df["series"].isna().any():
        raise AnalysisError(f"{path}:{int(np.flatnonzero(df['series'].isna())[0]) + 2}: series: empty")
    want = {s: q["days_evaluated"] for s, q in result["series"].items()}
    have = df["series"].value_counts().to_dict()
    if have != want:
        raise AnalysisError(f"{path}: not the held-out days of that backtest: days per series "
                            f"{dict(sorted(have.items()))} here, {dict(sorted(want.items()))} in its scores")
    return df
