"""The backtest's HTML page: pooled and per-series scores, the band-vs-actual chart and the PIT."""

from __future__ import annotations

import html

import pandas as pd

from . import plots
from .html import CSS, _img, _table


def backtest_page(result: dict, days: pd.DataFrame, sources: list[str]) -> tuple[str, dict[str, pd.DataFrame]]:
    """(page, CSV tables) of a backtest (``sim.studies.backtest.Backtest.result`` and its table)."""
    rows = []
    for name, q in [("pooled", result["pooled"])] + list(result["series"].items()):
        rows.append({"series": name, "days": q["days_evaluated"], "P5–P95 coverage": q["coverage"]["p5_p95"],
                     "P25–P75 coverage": q["coverage"]["p25_p75"], "CRPS": q["crps"], "median bias": q["bias"],
                     "CRPS last week repeated": q["baselines"]["last_week_repeated"]["crps"],
                     "CRPS training spread": q["baselines"]["training_spread"]["crps"]})
    scores = pd.DataFrame(rows)
    kinds = {c: "pct" for c in ("P5–P95 coverage", "P25–P75 coverage", "median bias")}
    kinds |= {c: "num" for c in ("CRPS", "CRPS last week repeated", "CRPS training spread", "days")}
    sec = [
        "<div class=\"read\">How to read: each held-out day was forecast from the days before its origin only. "
        "A calibrated forecast puts 90 % of actuals inside P5–P95 and 50 % inside P25–P75, and its PIT "
        "histogram is flat. CRPS is relative to the actual (0.1 = a typical error of 10 %), lower is better; the "
        "two naive baselines are scored on the same days.</div>",
        "<h2>Scores</h2>", _table(scores, kinds),
        "<h2>Forecast bands against what happened</h2>", _img(plots.backtest_bands(days, result.get("quantity", "requests")), "bands vs actuals"),
        "<h2>Calibration (PIT)</h2>", _img(plots.pit_histogram(days["pit"].to_numpy(float)), "PIT histogram"),
    ]
    if result.get("warnings"):
        sec.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in result["warnings"])
                   + "</ul>")
    meta = (f"train {result['train_days']} days, forecast {result['horizon_days']} days, {result['paths']:,} paths; "
            f"data: {html.escape(', '.join(sources))}")
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>tokensim backtest</title><style>{CSS}</style>"
            f"</head><body><h1>Backtest</h1><p class=\"meta\">{meta}</p>\n" + "\n".join(sec) + "\n</body></html>\n")
    return page, {"scores": scores, "days": days}
