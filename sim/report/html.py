"""The HTML report: one self-contained file (charts embedded as base64 PNG), CSV tables beside it.

``build_report`` runs the pure analyses on a results Dataset and takes what needs an engine (the
TCO crossover and purchase-month sweep, the tornado: ``sim.studies.report`` computes them) as
finished results; it runs no engine. It draws the charts and returns the page and its tables;
``write_report`` writes them atomically (``sim.io.files``).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..io import files, outdir
from . import plots

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:2px solid #1f5fa8;padding-bottom:.2em}
.meta{color:#666;font-size:.9em}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:1em 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:170px;background:#f8fafd}
.card .v{font-size:1.35em;font-weight:600}.card .l{font-size:.82em;color:#555}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}th,td{padding:3px 9px;border-bottom:1px solid #e3e3e3;text-align:right}
th:first-child,td:first-child,td.t{text-align:left}th{background:#f0f3f8}
img{max-width:100%;height:auto;display:block;margin:.6em 0}.read{background:#fffbea;border-left:4px solid #e0b400;
padding:6px 12px;font-size:.92em}.note{color:#666;font-size:.85em}
"""


def _img(data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{b64}" alt="{html.escape(alt)}">'


def _fmt(v, kind: str = "money") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if kind == "pct":
        return f"{v:.0%}"
    if kind == "num":
        return f"{v:,.3g}"
    if kind == "text":
        return html.escape(str(v))
    return f"{v:,.0f}"


def _table(df: pd.DataFrame, kinds: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> str:
    kinds = kinds or {}
    headers = headers or {}
    cols = list(df.columns)
    def head(c: str) -> str:
        c = headers.get(c, str(c))
        return re.sub(r"^p(\d+(?:\.\d+)?)$", r"P\1", c)

    out = ["<table><tr>" + "".join(f"<th>{html.escape(head(c))}</th>" for c in cols) + "</tr>"]
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(cols, row):
            k = kinds.get(c, "text" if isinstance(v, str) else "money")
            cells.append(f'<td class="t">{_fmt(v, k)}</td>' if k == "text" else f"<td>{_fmt(v, k)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _tok(v) -> str:
    from ..analysis.common import tokens_str

    return tokens_str(v)


def build_report(ds: xr.Dataset, *, scenario=None, scenario_file: str | None = None, budget: float | None = None,
                 confidence: float = 0.9, strategy: str | None = None, tco: dict | None = None,
                 tco_error: str | None = None, tornado: pd.DataFrame | None = None,
                 tornado_error: str | None = None, actuals: pd.Series | None = None, runway: dict | None = None,
                 backtest: dict | None = None, backtest_days: pd.DataFrame | None = None,
                 backtest_file: str | None = None,
                 backtest_days_file: str | None = None,
                 sizings: list[tuple[str, dict]] | None = None) -> tuple[str, dict[str, pd.DataFrame], dict]:
    """(HTML page, CSV tables by name, summary numbers) for a results Dataset.

    ``tco`` is the TCO analysis of ``scenario`` (``sim.studies.tco.tco_analysis``) and ``tornado``
    its tornado of total spend (``sim.studies.sensitivity.tornado``), or None; ``tco_error`` and
    ``tornado_error`` say why one could not be computed. Without ``scenario`` both sections are
    left out.

    With ``actuals`` (daily actual cost, ``sim.analysis.runway.read_actuals``) and ``budget``, a
    section "Budget against actuals" shows ``runway`` (``sim.analysis.runway.runway`` of them; computed
    here when not given), the same dict ``tokensim budget --actuals`` prints, in ``summary["runway"]``.
    With ``backtest`` (``sim.report.backtest.read_backtest``) a section shows its scores and PIT, and
    with ``backtest_days`` (``read_backtest_days``) the bands against the held-out actuals. Each of
    ``sizings`` ((file, ``sim.report.sizing.read_sizing``)) adds a capacity-sizing section.
    """
    from ..analysis.budget import budget_analysis, period_spend
    from ..analysis.commit import commit_analysis
    from ..analysis.common import QUANTILES, AnalysisError, monthly_spend, qlabel

    cur = ds.attrs.get("currency", "")
    b = budget_analysis(ds, strategy=strategy, period="year", budget=budget, confidence=confidence)
    strat = b["strategy"]
    tables: dict[str, pd.DataFrame] = {"budget_by_year": b["total"], "budget_quantiles": b["quantiles"],
                                       "chargeback": b["chargeback"], "monte_carlo_error": b["mc_error"]}
    summary: dict = {"strategy": strat, "budget_at_confidence": b["budget_at_confidence"], "p_exceed": b["p_exceed"]}
    months = pd.DatetimeIndex(ds["month"].values)
    ms = monthly_spend(ds.sel(strategy=[strat])).sel(strategy=strat).values  # (path, month), one strategy read
    q = {qlabel(x): np.quantile(ms, x, axis=0) for x in QUANTILES}
    monthly = pd.DataFrame({"month": [f"{d.year:04d}-{d.month:02d}" for d in months], "mean": ms.mean(axis=0),
                            **{k: v for k, v in q.items()}})
    tables["monthly_quantiles"] = monthly
    sec: list[str] = []

    # ---- headline ---------------------------------------------------------------------------------
    cards = []
    tot = b["total"].set_index("period")
    for p in b["periods"]:
        part = " (part year)" if p in b["partial_periods"] else ""
        cards.append(f'<div class="card"><div class="l">{p}{part}: median / P{confidence * 100:g} budget</div>'
                     f'<div class="v">{_fmt(tot.loc[p, "p50"])} / {_fmt(b["budget_at_confidence"][p])}</div>'
                     + (f'<div class="l">P(spend &gt; {_fmt(budget)}) = {_fmt(b["p_exceed"][p], "pct")}</div>'
                        if budget is not None else "") + "</div>")
    horizon_total = ms.sum(axis=-1)
    cards.append(f'<div class="card"><div class="l">whole horizon: median (P5–P95)</div><div class="v">'
                 f'{_fmt(np.median(horizon_total))}</div><div class="l">{_fmt(np.quantile(horizon_total, 0.05))} – '
                 f'{_fmt(np.quantile(horizon_total, 0.95))} {html.escape(cur)}</div></div>')
    if actuals is not None:
        from ..analysis.runway import runway as runway_of

        if budget is None:
            raise AnalysisError("actuals need a budget: the year's budget whose runway they measure")
        runway = runway if runway is not None else runway_of(ds, actuals, budget, strategy=strat)
        summary["runway"] = runway
        rq = runway["runout_date"]
        cards.append(f'<div class="card"><div class="l">budget {_fmt(budget)} for {runway["year"]}: runs out '
                     f'(P50)</div><div class="v">{_runout(rq["p50"])}</div><div class="l">P10 {_runout(rq["p10"])} · '
                     f'P90 {_runout(rq["p90"])}</div></div>')
    sec.append('<div class="cards">' + "".join(cards) + "</div>")
    sec.append(f'<p class="read">How to read this report: every number comes from {b["paths"]:,} simulated futures '
               f'(Monte Carlo paths) of the scenario. "Median" is the middle future; a "P{confidence * 100:g} budget" '
               f'is an amount that is enough in {confidence:.0%} of futures. Amounts are in {html.escape(cur)}.</p>')

    # ---- 1 fan chart --------------------------------------------------------------------------------
    sec.append("<h2>1. Monthly spend and its uncertainty</h2>")
    sec.append(_img(plots.fan_chart(months, q, ms.mean(axis=0), cur, f"Monthly spend — strategy {strat}"),
                    "fan chart of monthly spend"))
    sec.append('<p class="read">The dark band holds the middle half of futures, the light band nine in ten. '
               'A widening fan means the later months are less certain (adoption, prices).</p>')

    # ---- 2 annual spend vs budget ------------------------------------------------------------------------
    sec.append("<h2>2. Yearly spend and the budget</h2>")
    yearly = period_spend(ds, strat, "year")
    samples = {str(p) + (" (part)" if str(p) in b["partial_periods"] else ""): yearly.sel(period=p).values
               for p in yearly["period"].values}
    sec.append(_img(plots.annual_histograms(samples, cur, budget, confidence), "histograms of yearly spend"))
    t = b["total"][["period", "mean", "p5", "p50", "p90", "p95"]].copy()
    t[f"P{confidence * 100:g} budget"] = [b["budget_at_confidence"][p] for p in t["period"]]
    kinds = {}
    if budget is not None:
        t["P(spend > budget)"] = [b["p_exceed"][p] for p in t["period"]]
        kinds["P(spend > budget)"] = "pct"
    sec.append(_table(t, kinds))
    sec.append('<p class="read">Each histogram shows how yearly spend is spread over the futures. The green line '
               f'is the P{confidence * 100:g} budget' + (", the red line the budget given; the legend says how often "
                                                         "it is exceeded" if budget is not None else "") + ".</p>")

    # ---- 3 by business unit and pool -----------------------------------------------------------------------
    sec.append("<h2>3. Who spends it: business units and pools</h2>")
    g = b["quantiles"]
    by_bu = g[g["dimension"] == "business_unit"].pivot_table(index="period", columns="group", values="mean", fill_value=0.0)
    by_pool = g[g["dimension"] == "pool"].pivot_table(index="period", columns="group", values="mean", fill_value=0.0)
    sec.append(_img(plots.stacked_bars({"by business unit": by_bu, "by pool": by_pool}, cur),
                    "spend by business unit and by pool"))
    cb = b["chargeback"].copy()
    if len(cb):
        cb = cb.rename(columns={"mean": "mean", "p50": "median", "p90": "P90", "share": "share of total"})
        sec.append("<p>Chargeback (showback) by business unit — what each unit would be charged, per year:</p>")
        sec.append(_table(cb, {"share of total": "pct"}))
    sec.append('<p class="read">Pools: <b>api</b> = pay-per-token providers, <b>neocloud</b> = rented GPUs, '
               '<b>owned</b> = our own GPUs (depreciation, power, facility, staff), <b>saas</b> = seat fees of '
               'embedded assistants. "(shared)" holds capacity paid for but not used by any workload.</p>')

    # ---- 4 commitments ---------------------------------------------------------------------------------------
    sec.append("<h2>4. How much to commit</h2>")
    try:
        cm = commit_analysis(ds, scenario) if ds.sizes.get("contract", 0) and ds.sizes["strategy"] > 1 else None
    except AnalysisError:
        cm = None
    if cm is not None and len(cm["options"]) > 1:
        sec.append(_img(plots.commit_frontier(cm["options"], cm["utilization_samples"], cur,
                                              cm["utilization_threshold"]), "commit options frontier and utilisation"))
        rows = [{"option": o["strategy"], "expected cost": o["expected_cost"], "P95 cost": o["p95_cost"],
                 f"CVaR{cm['cvar_level'] * 100:g}": o["cvar_cost"], "expected stranded": o["expected_stranded"],
                 "expected overage": o["expected_overage"], "unit (stranded, overage)": o.get("stranded_unit") or "",
                 "P(utilisation < 80%)": o["p_utilization_below_threshold"],
                 "on frontier": "yes" if o["on_frontier"] else ""} for o in cm["options"]]
        ct = pd.DataFrame(rows)
        tables["commit_options"] = ct
        sec.append(_table(ct, {"P(utilisation < 80%)": "pct"}))
        best = cm["optimal_commit_expected_cost"]
        sec.append(f'<p class="read">Lowest expected cost: <b>{html.escape(best["strategy"])}</b>. Lowest CVaR'
                   f'{cm["cvar_level"] * 100:g} (average of the worst {1 - cm["cvar_level"]:.0%} of futures): '
                   f'<b>{html.escape(cm["optimal_commit_cvar"]["strategy"])}</b>. Options on the green frontier are '
                   'the sensible choices: no other option is both cheaper on average and cheaper in a bad year. '
                   'Stranded = commitment paid for and not used.</p>')
        summary["optimal_commit"] = best["strategy"]
    else:
        sec.append('<p class="note">The results hold no commit options to compare (run a scenario whose strategies '
                   'vary a contract).</p>')

    # ---- 5 TCO ---------------------------------------------------------------------------------------------------
    sec.append("<h2>5. Renting or owning GPUs</h2>")
    if scenario is None:
        sec.append('<p class="note">The scenario file was not found, so the crossover, purchase-month and driver '
                   'sections are left out: pass --scenario FILE.</p>')
    else:
        tc = tco
        if tco_error is not None:
            sec.append(f'<p class="note">No TCO analysis: {html.escape(tco_error)}</p>')
        if tc is not None:
            sec.append(_img(plots.tco_crossover(tc["cost_curves"], tc["crossover_tokens_per_year"], cur,
                                                tc["expected_tokens_per_year"]), "cost per token against volume"))
            tables["tco_cost_curves"] = tc["cost_curves"]
            cr = pd.DataFrame([{"pools compared": k.replace("_vs_", " → "), "crossover tokens/year": _tok(v),
                                "P10": _tok(tc["crossover_distribution"]["pairs"].get(k, {}).get("p10")),
                                "P90": _tok(tc["crossover_distribution"]["pairs"].get(k, {}).get("p90"))}
                               for k, v in tc["crossover_tokens_per_year"].items()])
            sec.append(_table(cr))
            vol = ", ".join(f"{y}: {_tok(v)}" for y, v in tc["expected_tokens_per_year"].items())
            sec.append(f'<p class="read">For workload <b>{html.escape(tc["workload"])}</b>: each line is what a '
                       'million tokens costs on that pool at a given yearly volume. GPUs carry fixed costs (staff, '
                       'whole GPUs), so they are dear at low volume and cheap at high volume; where a line drops '
                       f'below the API line is the crossover. This workload\'s expected volume: {vol} tokens.</p>')
            summary["crossover_tokens_per_year"] = tc["crossover_tokens_per_year"]
            pa = tc.get("purchase_sweep")
            if pa:
                sec.append(_img(plots.purchase_npv(pa["table"], cur, pa["best_purchase_month"]),
                                "NPV of savings by purchase month"))
                tables["tco_purchase_months"] = pa["table"]
                pt = pa["table"][["month", "date", "expected_npv_savings", "p10", "p90", "p_regret",
                                  "expected_stranded_share"]].rename(columns={
                    "expected_npv_savings": "expected NPV of savings", "p_regret": "P(regret)",
                    "expected_stranded_share": "idle share of usable capacity"})
                sec.append(_table(pt, {"month": "num", "P(regret)": "pct", "idle share of usable capacity": "pct"}))
                if pa["best_purchase_month"] is None:
                    msg = "No purchase month saves money on average within the horizon: do not buy yet."
                else:
                    bc = pa["best_candidate"]
                    msg = (f"Best month to order: <b>{bc['date']}</b> (month {bc['month']}), expected NPV of savings "
                           f"{_fmt(bc['expected_npv_savings'])} {html.escape(cur)}; chance we regret it "
                           f"{bc['p_regret']:.0%}.")
                sec.append(f'<p class="read">{msg} The strategy {html.escape(tc.get("purchase_template", ""))!s} is '
                           f'replayed with its GPU order moved month by month ({pa["paths"]} futures each, discount '
                           f'rate {pa["discount_rate"]:.0%}); regret = the order loses money in that future.</p>')
                summary["best_purchase_month"] = pa["best_purchase_month"]
            elif tc.get("purchase_sweep_note"):
                sec.append(f'<p class="note">{html.escape(tc["purchase_sweep_note"])}</p>')
            if tc.get("owned_cost_per_mtok_by_component"):
                split = tc["owned_cost_per_mtok_by_component"]
                comp = pd.DataFrame([{"component": k, f"{cur} per million tokens": v} for k, v in split.items()]
                                    + [{"component": "total", f"{cur} per million tokens": sum(split.values())}])
                sec.append(f"<p>Owned GPU cost per million tokens by component ({tc['owned_fleet_gpus']:g} GPUs "
                           "used at their usable share):</p>")
                sec.append(_table(comp, {f"{cur} per million tokens": "num"}))

        # ---- 6 drivers --------------------------------------------------------------------------------------------
        sec.append("<h2>6. What drives the uncertainty</h2>")
        tornado_df = tornado
        if tornado_error is not None:
            sec.append(f'<p class="note">No tornado: {html.escape(tornado_error)}</p>')
        if tornado_df is not None and len(tornado_df):
            sec.append(_img(plots.tornado(tornado_df, float(tornado_df["base"].iloc[0]), "total spend", cur),
                            "tornado of input swings"))
            tables["tornado"] = tornado_df
            top = ", ".join(html.escape(x) for x in tornado_df["input"].head(3))
            sec.append(f'<p class="read">Each bar moves one uncertain input from a low case (P10) to a high case '
                       f'(P90) with everything else at its expected value. The longest bars are the inputs worth '
                       f'pinning down first: {top}.</p>')
            summary["top_drivers"] = list(tornado_df["input"].head(3))

    # ---- budget against actuals -------------------------------------------------------------------------------
    if actuals is not None:
        sec += _runway_section(ds, actuals, runway, tables)

    # ---- backtest ------------------------------------------------------------------------------------------------
    if backtest is not None:
        sec += _backtest_section(backtest, backtest_days, backtest_file, backtest_days_file, tables, summary)

    # ---- capacity sizing ------------------------------------------------------------------------------------------
    from .sizing import sizing_section

    for k, (file, obj) in enumerate(sizings or []):
        sec += sizing_section(obj, file, tables, summary, k)

    # ---- 7 method -------------------------------------------------------------------------------------------------
    sec.append("<h2>Method and accuracy</h2>")
    err = b["mc_error"]
    e = err[err["quantile"].isin(["p50", "p90", "p95"])][["period", "quantile", "value", "se", "rel_se", "paths_for_1pct"]]
    sec.append(_table(e, {"rel_se": "pct", "paths_for_1pct": "money"},
                      {"se": "standard error", "rel_se": "relative", "paths_for_1pct": "paths for ±1 %"}))
    sec.append('<p class="note">Standard errors of the quantiles come from the order statistics of the paths '
               '(binomial method); "paths for ±1 %" is the run size that would make the 95 % confidence interval '
               '±1 % of the value. Strategies are compared with common random numbers.</p>')

    title = f"AI spend forecast — {ds.attrs.get('scenario', '')}"
    meta = (f"scenario {html.escape(str(ds.attrs.get('scenario', '')))}"
            + (f" ({html.escape(str(scenario_file))})" if scenario_file else "")
            + f" · strategy {html.escape(strat)} · {b['paths']:,} paths · seed {ds.attrs.get('seed', '')} · "
            f"list prices {ds.attrs.get('price_date', '')} ({html.escape(str(ds.attrs.get('price_library', '')))}) · "
            f"tokensim {ds.attrs.get('tokensim_version', '')} · generated {dt.date.today().isoformat()}")
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
            f"<h1>{html.escape(title)}</h1><p class=\"meta\">{meta}</p>\n" + "\n".join(sec) + "\n</body></html>\n")
    return page, tables, summary


def _runout(v) -> str:
    """A runout date of ``runway`` as the report shows it."""
    return html.escape(v) if v else "not within the horizon"


def _runway_section(ds: xr.Dataset, actuals: pd.Series, r: dict, tables: dict[str, pd.DataFrame]) -> list[str]:
    """"Budget against actuals": cards, the cumulative chart, the table (CSV ``runway``, the chart's days
    ``runway_days``) and the notes of ``runway``."""
    from ..analysis.runway import runway_curves

    cur = r["currency"]
    budget = r["budget"]
    past, fc = runway_curves(ds, actuals, r)
    q = r["runout_date"]
    out = ["<h2>Budget against actuals</h2>"]
    cards = [("year to date" + (f" (from {r['ytd_from']})" if r["ytd_from"] else ""), _fmt(r["ytd_spend"]),
              f"{r['actual_days']} actual days"),
             ("burn rate, a day", _fmt(r["burn_rate_per_day"]), "mean of the last 30 known days"),
             ("remaining budget", _fmt(budget - r["ytd_spend"]), f"of {_fmt(budget)} {html.escape(cur)}"),
             (f"rest of {r['year']}: median", _fmt(r["rest_of_year"]["p50"]),
              f"P10 {_fmt(r['rest_of_year']['p10'])} – P90 {_fmt(r['rest_of_year']['p90'])}"),
             ("runs out: P10 / P50 / P90", " / ".join(_runout(q[k]) for k in ("p10", "p50", "p90")),
              f"{r['share_not_run_out']:.0%} of futures do not run out")]
    out.append('<div class="cards">' + "".join(f'<div class="card"><div class="l">{html.escape(a)}</div>'
                                               f'<div class="v">{b}</div><div class="l">{c}</div></div>'
                                               for a, b, c in cards) + "</div>")
    out.append(_img(plots.runway_chart(past, fc, budget, cur, q), "cumulative spend against the budget"))
    rows = [("budget", budget, None, None, None), ("year to date", r["ytd_spend"], None, None, None),
            ("burn rate per day", r["burn_rate_per_day"], None, None, None),
            ("remaining budget", budget - r["ytd_spend"], None, None, None),
            (f"rest of year ({r['forecast_from']}..{r['forecast_to']})", None,
             *(r["rest_of_year"][k] for k in ("p10", "p50", "p90"))),
            ("year total", None, *(r["year_total"][k] for k in ("p10", "p50", "p90"))),
            ("P(year total > budget)", r["p_exceed_year"], None, None, None),
            ("runs out", None, *(q[k] or "not within the horizon" for k in ("p10", "p50", "p90")))]
    t = pd.DataFrame(rows, columns=["measure", "value", "p10", "p50", "p90"])
    tables["runway"] = t
    days = pd.concat([past.rename(columns={"cost": "actual_cost", "cumulative": "actual_cumulative"}),
                      fc.rename(columns={k: f"forecast_cumulative_{k}" for k in ("p10", "p50", "p90", "mean")})],
                     ignore_index=True)
    days["day"] = pd.DatetimeIndex(days["day"]).strftime("%Y-%m-%d")
    tables["runway_days"] = days

    def cell(v, pct=False):
        if v is None:
            return ""
        if isinstance(v, str):
            return html.escape(v)
        return _fmt(v, "pct") if pct else _fmt(v)

    body = "".join(f'<tr><td class="t">{html.escape(m)}</td>'
                   f"<td>{cell(v, m.startswith('P('))}</td>"
                   + "".join(f"<td>{cell(x)}</td>" for x in (a, b, c)) + "</tr>" for m, v, a, b, c in rows)
    out.append(f"<table><tr><th>{html.escape(cur)}</th><th>value</th><th>P10</th><th>P50</th><th>P90</th></tr>"
               f"{body}</table>")
    out.append(f'<p class="read">The black line is what was spent in {r["year"]} before the forecast starts (from the '
               f'actuals of <code>tokensim calibrate</code>); the blue band holds eight in ten futures of the year\'s '
               f'spend from there, the red line is the budget. The date the budget runs out is counted path by path '
               f'(a month\'s spend spread evenly over its days): the early P10 date is where the band\'s upper edge '
               f'crosses the budget. "Not within the horizon": the budget lasts past {html.escape(r["forecast_to"])}, '
               f'the last day of {r["year"]} the forecast covers. The same figures as <code>tokensim budget '
               f'--actuals</code> (strategy {html.escape(r["strategy"])}).</p>')
    if r["notes"]:
        out.append('<ul class="note">' + "".join(f"<li>{html.escape(n)}</li>" for n in r["notes"]) + "</ul>")
    return out


def _backtest_section(result: dict, days: pd.DataFrame | None, file: str | None, days_file: str | None,
                      tables: dict[str, pd.DataFrame], summary: dict) -> list[str]:
    """"Backtest": the scores (CSV ``backtest_scores``), the bands against the held-out actuals when the
    days are given (CSV ``backtest_days``) and the PIT histogram; the pieces of the backtest's own page."""
    from . import backtest as bt

    scores = bt.scores_table(result)
    tables["backtest_scores"] = scores
    src = ", ".join(html.escape(str(f)) for f in (file, days_file) if f)
    out = ["<h2>Backtest: do the forecast's bands hold?</h2>",
           f'<p class="meta">{bt.backtest_meta(result)}' + (f"; from {src}" if src else "") + "</p>",
           f'<p class="read">{bt.READ}</p>', bt.scores_html(scores)]
    if days is not None:
        tables["backtest_days"] = days
        out += ["<h3>Forecast bands against what happened</h3>", bt.bands_html(result, days)]
    else:
        out.append('<p class="note">The band-vs-actual chart needs the held-out days: pass --backtest-days with the '
                   "file tokensim backtest --csv wrote.</p>")
    out += ["<h3>Calibration (PIT)</h3>", bt.pit_html(result, days), bt.notes_html(result, "h3")]
    p = result["pooled"]
    summary["backtest"] = {"file": file, "days_file": days_file, "days_evaluated": p["days_evaluated"],
                           "coverage": p["coverage"], "crps": p["crps"], "bias": p["bias"],
                           "series": list(result["series"])}
    return out


def write_report(path: Path, page: str, tables: dict[str, pd.DataFrame]) -> list[Path]:
    """Write the page and its CSV tables (``<stem>_<table>.csv`` beside it), put in place together, with
    the directory locked meanwhile (``sim.io.outdir``): an interrupted or failed write replaces nothing."""
    path = Path(path)
    written = []
    with outdir.locked(path.parent if str(path.parent) else Path(".")), files.staged():
        for name, df in tables.items():
            written.append(files.write_csv(path.with_name(f"{path.stem}_{name}.csv"), df))
        written.append(files.write_text(path, page))
    return written
