"""The HTML report: one self-contained file (charts embedded as SVG), CSV tables beside it.

``build_report`` runs the pure analyses on a results Dataset and takes what needs an engine (the
TCO crossover and purchase-month sweep, the tornado: ``sim.studies.report`` computes them) as
finished results; it runs no engine. It draws the charts and returns the page and its tables;
``write_report`` writes them atomically (``sim.io.files``).

The page is for a reader without the manual: every section opens with its answer in one sentence
(collected at the top), every amount carries its currency, inputs are named by their labels
(``sim.scenario.labels``), and a section that has nothing to say for this scenario is left out
(no GPU section for an API-only scenario, no commit section without contracts). Every section is
about one strategy (``strategy``, default the first); "Strategies side by side" compares them all.
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
from . import fmt, plots

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
figure.chart{margin:.6em 0}figure.chart svg{max-width:100%;height:auto;display:block}
p.answer{font-size:1.05em;font-weight:600;color:#12406f;margin:.5em 0 .8em}
ul.answers{padding-left:1.2em}ul.answers li{margin:.25em 0}ul.answers a{color:#1f5fa8;text-decoration:none}
tr.chosen td{background:#eef4fb;font-weight:600}
"""


# ---- pieces of the page ----------------------------------------------------------------------------------
def _img(data: bytes, alt: str) -> str:
    """A chart: SVG (``sim.report.plots``) inline, its text readable; PNG as an embedded image."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        b64 = base64.b64encode(data).decode("ascii")
        return f'<img src="data:image/png;base64,{b64}" alt="{html.escape(alt)}">'
    svg = data.decode("utf-8")
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    # inline in HTML: the parser knows the SVG namespace, so the page names no URL (xlink:href is SVG 2 href)
    head, rest = svg.split(">", 1)
    head = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", head)
    svg = head + ">" + rest.replace("xlink:href=", "href=")
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(alt)}" ', 1)
    return f'<figure class="chart">{svg}</figure>'


def _fmt(v, kind: str = "money", currency: str | None = None) -> str:
    """A table cell: ``money`` (to the unit, with ``currency`` when given), ``price`` (three digits),
    ``pct``, ``times`` (a ratio, 6.1×), ``num``, ``tokens`` or ``text``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if kind == "text" or isinstance(v, str):
        return html.escape(str(v))
    if kind == "pct":
        return fmt.pct(v)
    if kind == "times":  # a return on cost: 6.1× (as the command line prints it)
        return f"{v:,.1f}×"
    if kind == "num":
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "tokens":
        return fmt.tokens(v)
    if kind == "price":
        return html.escape(fmt.price(v, currency))
    if kind == "compact":
        return html.escape(fmt.money(v, currency))
    if currency:
        return html.escape(fmt.money(v, currency, exact=True))
    return f"{v:,.0f}"


def _table(df: pd.DataFrame, kinds: dict[str, str] | None = None, headers: dict[str, str] | None = None,
           currency: str | None = None, highlight: tuple[str, str] | None = None) -> str:
    """An HTML table; a cell's kind by column (``kinds``), text for strings, else money (with
    ``currency``); ``highlight`` (column, value) marks the rows of the report's strategy."""
    kinds = kinds or {}
    headers = headers or {}
    cols = list(df.columns)

    def head(c: str) -> str:
        c = headers.get(c, str(c))
        return re.sub(r"^p(\d+(?:\.\d+)?)$", r"P\1", c)

    text = {c for c in cols if kinds.get(c) == "text" or (len(df) and isinstance(df[c].iloc[0], str))}
    th = {c: '<th class="t">' if c in text else "<th>" for c in cols}
    out = ["<table><tr>" + "".join(f"{th[c]}{html.escape(head(c))}</th>" for c in cols) + "</tr>"]
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(cols, row):
            k = kinds.get(c, "text" if isinstance(v, str) else "money")
            cells.append(f'<td class="t">{_fmt(v, k)}</td>' if k == "text" else f"<td>{_fmt(v, k, currency)}</td>")
        mark = highlight is not None and str(dict(zip(cols, row)).get(highlight[0])) == highlight[1]
        out.append(("<tr class=\"chosen\">" if mark else "<tr>") + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _tok(v) -> str:
    from ..analysis.common import tokens_str

    return tokens_str(v)


def _span(months: pd.DatetimeIndex) -> str:
    """The horizon in words: '2027–2029', '2027', 'Jan 2027–Jun 2028'."""
    a, b = months[0], months[-1]
    if a.month == 1 and b.month == 12:
        return f"{a.year}" if a.year == b.year else f"{a.year}–{b.year}"
    return f"{a:%b %Y}–{b:%b %Y}"


class _Page:
    """The sections of the page and their one-sentence answers (listed at the top)."""

    def __init__(self):
        self.parts: list[str] = []
        self.answers: list[tuple[str, str, str]] = []

    def section(self, title: str, answer: str) -> None:
        sid = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or f"s{len(self.answers)}"
        self.answers.append((sid, title, answer))
        self.parts.append(f'<a id="{sid}"></a><h2>{html.escape(title, quote=False)}</h2>')
        self.parts.append(f'<p class="answer">{answer}</p>')

    def add(self, *chunks: str) -> None:
        self.parts.extend(chunks)

    def summary(self) -> str:
        items = "".join(f'<li><a href="#{sid}">{html.escape(t)}</a>: {a}</li>' for sid, t, a in self.answers)
        return f'<a id="answers"></a><h2>The answers</h2><ul class="answers">{items}</ul>'


def _b(x) -> str:
    return f"<b>{html.escape(str(x))}</b>"


def _value_text(v) -> str:
    """A strategy's setting in a few words."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return f"{v:,.6g}"
    if isinstance(v, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_value_text(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "none" if not v else ("; " if any(isinstance(x, dict) for x in v) else ", ").join(
            _value_text(x) for x in v)
    return str(v)


def _settings(scenario, name: str) -> str:
    """What a strategy changes, in labels."""
    if scenario is None:
        return ""
    from ..scenario.labels import label

    s = next((x for x in scenario.all_strategies() if x.name == name), None)
    if s is None or not s.set:
        return "the scenario as written"
    return " · ".join(f"{label(k, scenario)}: {_value_text(v)}" for k, v in s.set.items())


# ---- the report --------------------------------------------------------------------------------------------
def build_report(ds: xr.Dataset, *, scenario=None, scenario_file: str | None = None, budget: float | None = None,
                 confidence: float = 0.9, strategy: str | None = None, tco: dict | None = None,
                 tco_error: str | None = None, tornado: pd.DataFrame | None = None,
                 tornado_error: str | None = None, gpu: bool | None = None, gpu_buyers: list[str] | None = None,
                 actuals: pd.Series | None = None, runway: dict | None = None,
                 backtest: dict | None = None, backtest_days: pd.DataFrame | None = None,
                 backtest_file: str | None = None,
                 backtest_days_file: str | None = None,
                 sizings: list[tuple[str, dict]] | None = None) -> tuple[str, dict[str, pd.DataFrame], dict]:
    """(HTML page, CSV tables by name, summary numbers) for a results Dataset, about ``strategy``.

    ``tco`` is the TCO analysis of ``scenario`` under that strategy (``sim.studies.report``) and
    ``tornado`` its tornado of total spend, or None; ``tco_error`` and ``tornado_error`` say why one
    could not be computed. ``gpu`` says whether the scenario has a GPU option at all (None: decided
    here from ``scenario``): without one there is no GPU section. ``gpu_buyers`` names the strategies
    that order GPUs (for the note when the report's strategy does not). Without ``scenario`` the GPU
    and driver sections are left out.

    With ``actuals`` (daily actual cost, ``sim.analysis.runway.read_actuals``) and ``budget``, a
    section "Budget against actuals" shows ``runway`` (``sim.analysis.runway.runway`` of them; computed
    here when not given), the same dict ``tokensim budget --actuals`` prints, in ``summary["runway"]``.
    With ``backtest`` (``sim.report.backtest.read_backtest``) a section shows its scores and PIT, and
    with ``backtest_days`` (``read_backtest_days``) the bands against the held-out actuals. Each of
    ``sizings`` ((file, ``sim.report.sizing.read_sizing``)) adds a capacity-sizing section.
    """
    from ..analysis.budget import budget_analysis
    from ..analysis.common import AnalysisError, pick_strategy

    strat = pick_strategy(ds, strategy)
    cur = str(ds.attrs.get("currency", "") or (scenario.currency if scenario is not None else ""))
    b = budget_analysis(ds, strategy=strat, period="year", budget=budget, confidence=confidence)
    tables: dict[str, pd.DataFrame] = {"budget_by_year": b["total"], "budget_quantiles": b["quantiles"],
                                       "chargeback": b["chargeback"], "monte_carlo_error": b["mc_error"]}
    summary: dict = {"strategy": strat, "budget_at_confidence": b["budget_at_confidence"], "p_exceed": b["p_exceed"]}
    months = pd.DatetimeIndex(ds["month"].values)
    span = _span(months)
    names = [str(s) for s in ds["strategy"].values]
    totals = _strategy_totals(ds)  # (strategy, path) spend over the horizon
    ms = _monthly(ds, strat)
    page = _Page()
    ctx = dict(ds=ds, scenario=scenario, strat=strat, cur=cur, b=b, span=span, names=names, totals=totals,
               budget=budget, confidence=confidence, tables=tables, summary=summary, months=months, ms=ms)
    if gpu is None and scenario is not None:
        from ..analysis.tco import gpu_option

        gpu = gpu_option(scenario)

    cards = _cards(ctx, actuals, runway)
    if actuals is not None:
        from ..analysis.runway import runway as runway_of

        if budget is None:
            raise AnalysisError("actuals need a budget: the year's budget whose runway they measure")
        runway = runway if runway is not None else runway_of(ds, actuals, budget, strategy=strat)
        summary["runway"] = runway
        cards = _cards(ctx, actuals, runway)
    outcomes = _outcomes(ds)

    _spend_sections(page, ctx)
    if len(names) > 1:
        _strategy_section(page, ctx, outcomes)
    _commit_section(page, ctx)
    if outcomes is not None:
        _value_section(page, ctx, outcomes)
    if scenario is not None and gpu:
        _gpu_sections(page, ctx, tco, tco_error, gpu_buyers or [])
    if gpu is not False:
        _factory_section(page, ctx)
    if scenario is not None:
        _driver_section(page, ctx, tornado, tornado_error)
    if actuals is not None:
        page.add(*_runway_section(ds, actuals, runway, tables, page))
    if backtest is not None:
        page.add(*_backtest_section(backtest, backtest_days, backtest_file, backtest_days_file, tables, summary,
                                    page))
    from .sizing import sizing_section

    for k, (file, obj) in enumerate(sizings or []):
        page.add(*_sizing(page, sizing_section(obj, file, tables, summary, k), obj, k))
    _method_section(page, ctx)

    title = f"AI spend forecast — {ds.attrs.get('scenario', '')}"
    meta = (f"scenario {html.escape(str(ds.attrs.get('scenario', '')))}"
            + (f" ({html.escape(str(scenario_file))})" if scenario_file else "")
            + f" · strategy {html.escape(strat)} · {b['paths']:,} paths · seed {ds.attrs.get('seed', '')} · "
            f"amounts in {html.escape(cur)} · "
            f"list prices {ds.attrs.get('price_date', '')} ({html.escape(str(ds.attrs.get('price_library', '')))}) · "
            f"tokensim {ds.attrs.get('tokensim_version', '')} · generated {dt.date.today().isoformat()}")
    intro = [cards,
             f'<p class="read">How to read this report: every number comes from {b["paths"]:,} simulated futures '
             f'(Monte Carlo paths) of the scenario under the strategy <b>{html.escape(strat)}</b>'
             + (" (pass --strategy NAME for another; the section “Strategies side by side” compares them all)"
                if len(names) > 1 else "")
             + f'. "Median" is the middle future; a "P{confidence * 100:g} budget" is an amount that is enough in '
             f'{confidence:.0%} of futures. Amounts are in {html.escape(cur)}.</p>']
    if scenario is None:
        intro.append('<p class="note">The scenario file was not found, so the GPU (rent or own) and driver '
                     'sections are left out: pass --scenario FILE.</p>')
    else:
        intro.append(_assumptions_note(scenario, strat))
    doc = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
           f"<h1>{html.escape(title)}</h1><p class=\"meta\">{meta}</p>\n" + "\n".join(intro) + "\n"
           + page.summary() + "\n" + "\n".join(page.parts) + "\n</body></html>\n")
    return doc, tables, summary


def _assumptions_note(scenario, strategy: str) -> str:
    """The defaults in force that the scenario does not write (``sim.demand.assumptions``), as a list."""
    from ..demand.assumptions import assumptions
    from ..scenario.labels import label

    try:
        sc = scenario.with_strategy(strategy)
    except KeyError:  # results of a strategy the scenario file no longer has: its base assumptions
        sc = scenario
    items = assumptions(sc)
    if not items:
        return ('<p class="note" id="assumptions">Assumptions: every default that changes results (price trends, '
                'activity, demand noise) is written in the scenario.</p>')
    li = "".join(f"<li><b>{html.escape(label(a.key, sc))}</b> = {html.escape(a.value)}: {html.escape(a.effect)}</li>"
                 for a in items)
    return (f'<div class="note" id="assumptions"><p>Assumptions in force that the scenario does not write '
            f'(write them to change them):</p><ul>{li}</ul></div>')


def _strategy_totals(ds: xr.Dataset) -> np.ndarray:
    from ..analysis.common import monthly_spend

    return np.asarray(monthly_spend(ds).sum("month").transpose("strategy", "path").values, dtype=float)


def _monthly(ds: xr.Dataset, strat: str) -> np.ndarray:
    from ..analysis.common import monthly_spend

    return np.asarray(monthly_spend(ds.sel(strategy=[strat])).sel(strategy=strat).transpose("path", "month").values,
                      dtype=float)


def _cards(c: dict, actuals, runway) -> str:
    b, cur, budget, conf = c["b"], c["cur"], c["budget"], c["confidence"]
    tot = b["total"].set_index("period")
    cards = []
    for p in b["periods"]:
        part = " (part year)" if p in b["partial_periods"] else ""
        cards.append(f'<div class="card"><div class="l">{p}{part}: median spend</div>'
                     f'<div class="v">{fmt.money(tot.loc[p, "p50"], cur)}</div>'
                     f'<div class="l">P{conf * 100:g} budget {fmt.money(b["budget_at_confidence"][p], cur)}</div>'
                     + (f'<div class="l">P(spend &gt; {fmt.money(budget, cur)}) = {fmt.pct(b["p_exceed"][p])}</div>'
                        if budget is not None else "") + "</div>")
    h = c["ms"].sum(axis=-1)
    cards.append(f'<div class="card"><div class="l">{c["span"]} total: median</div><div class="v">'
                 f'{fmt.money(np.median(h), cur)}</div><div class="l">P5–P95: {fmt.money(np.quantile(h, 0.05), cur)} – '
                 f'{fmt.money(np.quantile(h, 0.95), cur)}</div></div>')
    if actuals is not None and runway is not None:
        rq = runway["runout_date"]
        cards.append(f'<div class="card"><div class="l">budget {fmt.money(budget, cur)} for {runway["year"]}: runs '
                     f'out (P50)</div><div class="v">{_runout(rq["p50"])}</div><div class="l">P10 {_runout(rq["p10"])} · '
                     f'P90 {_runout(rq["p90"])}</div></div>')
    return '<div class="cards">' + "".join(cards) + "</div>"


# ---- spend ------------------------------------------------------------------------------------------------
def _spend_sections(page: _Page, c: dict) -> None:
    from ..analysis.budget import period_spend
    from ..analysis.common import QUANTILES, qlabel

    ms, cur, b, strat, span, budget, conf = c["ms"], c["cur"], c["b"], c["strat"], c["span"], c["budget"], c["confidence"]
    q = {qlabel(x): np.quantile(ms, x, axis=0) for x in QUANTILES}
    c["tables"]["monthly_quantiles"] = pd.DataFrame({"month": [f"{d.year:04d}-{d.month:02d}" for d in c["months"]],
                                                     "mean": ms.mean(axis=0), **q})
    h = ms.sum(axis=-1)
    c["summary"]["horizon_total"] = {"mean": float(h.mean()), "p5": float(np.quantile(h, 0.05)),
                                     "p95": float(np.quantile(h, 0.95))}
    page.section("Monthly spend and its uncertainty",
                 f"Expected {span} spend is {_b(fmt.money(h.mean(), cur))}; there is a 5 % chance it exceeds "
                 f"{_b(fmt.money(np.quantile(h, 0.95), cur))}.")
    page.add(_img(plots.fan_chart(c["months"], q, ms.mean(axis=0), cur, f"Monthly spend — strategy {strat}"),
                  "fan chart of monthly spend"),
             '<p class="read">The dark band holds the middle half of futures, the light band nine in ten. '
             'A widening fan means the later months are less certain (adoption, prices).</p>')

    # yearly spend and the budget
    periods = b["periods"]
    bac = b["budget_at_confidence"]
    full = [p for p in periods if p not in b["partial_periods"]] or periods
    if budget is not None:
        ans = (f"A budget of {_b(fmt.money(budget, cur))} a year is exceeded with a chance of "
               + fmt.join_words([f"{fmt.pct(b['p_exceed'][p])} in {p}" for p in full]) + ".")
    else:
        ans = (f"To cover a year's spend in {conf:.0%} of futures, budget "
               + fmt.join_words([f"{_b(fmt.money(bac[p], cur))} for {p}" for p in full]) + ".")
    page.section("Yearly spend and the budget", ans)
    yearly = period_spend(c["ds"], strat, "year")
    samples = {str(p) + (" (part)" if str(p) in b["partial_periods"] else ""): yearly.sel(period=p).values
               for p in yearly["period"].values}
    page.add(_img(plots.annual_histograms(samples, cur, budget, conf), "histograms of yearly spend"))
    t = b["total"][["period", "mean", "p5", "p50", "p90", "p95"]].copy()
    t[f"P{conf * 100:g} budget"] = [bac[p] for p in t["period"]]
    kinds = {}
    if budget is not None:
        t["P(spend > budget)"] = [b["p_exceed"][p] for p in t["period"]]
        kinds["P(spend > budget)"] = "pct"
    page.add(_table(t, kinds, currency=cur),
             '<p class="read">Each histogram shows how yearly spend is spread over the futures: a bar\'s height is the '
             f'share of futures with that spend. The green line is the P{conf * 100:g} budget'
             + (", the red line the budget given; the legend says how often it is exceeded" if budget is not None
                else "") + ".</p>")

    # who spends it
    g = b["quantiles"]
    by_bu = g[g["dimension"] == "business_unit"].pivot_table(index="period", columns="group", values="mean",
                                                             fill_value=0.0)
    by_pool = g[g["dimension"] == "pool"].pivot_table(index="period", columns="group", values="mean", fill_value=0.0)
    bu_tot = by_bu.sum(axis=0).sort_values(ascending=False)
    pool_tot = by_pool.sum(axis=0).sort_values(ascending=False)
    total = float(bu_tot.sum()) or 1.0
    ptotal = float(pool_tot.sum()) or 1.0
    ans = "No spend by business unit."
    if len(bu_tot) == 1:
        ans = f"All {fmt.money(total, cur)} expected over {span} is {_b(bu_tot.index[0])}'s"
        if len(pool_tot):
            ans += ("; " + ("all" if len(pool_tot[pool_tot > 0]) == 1 else fmt.pct(pool_tot.iloc[0] / ptotal))
                    + f" of it goes to {_b(plots.pool_label(pool_tot.index[0]))}")
        ans += "."
    elif len(bu_tot):
        ans = (f"{_b(bu_tot.index[0])} spends the most: {_b(fmt.money(bu_tot.iloc[0], cur))} of "
               f"{fmt.money(total, cur)} expected over {span} ({fmt.pct(bu_tot.iloc[0] / total)})")
        if len(pool_tot):
            ans += (f"; by pool, {fmt.pct(pool_tot.iloc[0] / ptotal)} of it goes to "
                    f"{_b(plots.pool_label(pool_tot.index[0]))}")
        ans += "."
    page.section("Who spends it: business units and pools", ans)
    page.add(_img(plots.stacked_bars({"by business unit": by_bu, "by pool": by_pool}, cur),
                  "spend by business unit and by pool"))
    cb = b["chargeback"].copy()
    if len(cb):
        cb = cb.rename(columns={"business_unit": "business unit", "p50": "median", "p90": "P90",
                                "share": "share of total"})
        page.add("<p>Chargeback (showback) by business unit — what each unit would be charged, per year:</p>",
                 _table(cb, {"share of total": "pct"}, currency=cur))
    page.add('<p class="read">Pools: <b>API</b> = pay-per-token providers, <b>rented GPUs</b> = a neocloud, '
             '<b>owned GPUs</b> = our own (depreciation, power, facility, staff), <b>SaaS seats</b> = seat fees of '
             'embedded assistants. "(shared)" holds capacity paid for but not used by any workload.</p>')


# ---- strategies ------------------------------------------------------------------------------------------
def _p_some_year_over(ds: xr.Dataset, strategy: str, budget: float, partial: list[str]) -> float:
    from ..analysis.budget import period_spend

    y = period_spend(ds, strategy, "year")
    keep = [p for p in y["period"].values if str(p) not in partial] or list(y["period"].values)
    v = np.asarray(y.sel(period=keep).transpose("path", "period").values, dtype=float)
    return float(np.mean((v > budget).any(axis=1)))


def _strategy_section(page: _Page, c: dict, outcomes: pd.DataFrame | None) -> None:
    cur, names, totals, strat, budget = c["cur"], c["names"], c["totals"], c["strat"], c["budget"]
    rows, chart = [], []
    for i, s in enumerate(names):
        x = totals[i]
        r = {"strategy": s, "what it changes": _settings(c["scenario"], s), "mean": float(x.mean()),
             "p5": float(np.quantile(x, 0.05)), "p50": float(np.quantile(x, 0.5)), "p95": float(np.quantile(x, 0.95))}
        chart.append({**r, "p25": float(np.quantile(x, 0.25)), "p75": float(np.quantile(x, 0.75))})
        if budget is not None:
            r["P(some year over budget)"] = _p_some_year_over(c["ds"], s, budget, c["b"]["partial_periods"])
        rows.append(r)
    t = pd.DataFrame(rows)
    kinds = {"strategy": "text", "P(some year over budget)": "pct"}
    by_strategy = None
    if outcomes is not None:
        by_strategy = outcomes.groupby("strategy", sort=False).agg(net_value=("net_value", "sum"), cost=("cost", "sum"),
                                                                   outcomes=("outcomes", "sum"))
        t["net value"] = [float(by_strategy["net_value"].get(s, np.nan)) for s in names]
        wl = list(dict.fromkeys(outcomes["workload"]))
        for w in wl:
            o = outcomes[outcomes["workload"] == w].set_index("strategy")
            col = f"cost per {o['unit'].iloc[0]}" + (f" ({w})" if len(wl) > 1 else "")
            t[col] = [float(o["cost_per_outcome"].get(s, np.nan)) for s in names]
            kinds[col] = "price"
    c["tables"]["strategies"] = t
    lo, hi = t.loc[t["mean"].idxmin()], t.loc[t["mean"].idxmax()]
    ans = (f"{_b(lo['strategy'])} has the lowest expected spend ({fmt.money(lo['mean'], cur)}) and "
           f"{_b(hi['strategy'])} the highest ({fmt.money(hi['mean'], cur)}) over {c['span']}")
    if by_strategy is not None and len(by_strategy):
        best = by_strategy["net_value"].idxmax()
        ans += f"; {_b(best)} adds the most net value ({fmt.money(by_strategy['net_value'].max(), cur)})"
    ans += f"; this report follows {_b(strat)}."
    page.section("Strategies side by side", ans)
    changes = "".join(f"<li><b>{html.escape(r['strategy'])}</b>: {html.escape(r['what it changes'])}</li>"
                      for r in rows)
    page.add(_img(plots.strategy_comparison(chart, cur, strat), "total spend by strategy"),
             _table(t.drop(columns=["what it changes"]).rename(columns={"p5": "P5", "p50": "median", "p95": "P95"}),
                    kinds, currency=cur, highlight=("strategy", strat)),
             f'<p>What each strategy changes:</p><ul class="note">{changes}</ul>' if c["scenario"] is not None else "",
             '<p class="read">Every strategy is simulated on the same futures (common random numbers), so the '
             'differences come from the strategies, not from luck. The highlighted row is the strategy the rest '
             'of the report is about.' + (' "P(some year over budget)": the share of futures in which at least one '
                                          'full year exceeds the budget.' if budget is not None else "")
             + (' Net value = what the outcomes are worth minus what they cost (see “Value and outcomes”).'
                if by_strategy is not None else "") + "</p>")


def _commit_section(page: _Page, c: dict) -> None:
    from ..analysis.commit import commit_analysis
    from ..analysis.common import AnalysisError

    ds, cur = c["ds"], c["cur"]
    if not ds.sizes.get("contract", 0):
        return  # no contracts: nothing to commit
    contracts = fmt.join_words([str(x) for x in ds["contract"].values])
    try:
        cm = commit_analysis(ds, c["scenario"]) if ds.sizes["strategy"] > 1 else None
    except AnalysisError:
        cm = None
    if cm is None or len(cm["options"]) <= 1:
        page.section("How much to commit", f"No commit options to compare: the strategies do not vary the "
                                           f"commitment of {html.escape(contracts)}.")
        return
    best, best_cvar = cm["optimal_commit_expected_cost"], cm["optimal_commit_cvar"]
    lvl = f"CVaR{cm['cvar_level'] * 100:g}"
    if best["strategy"] == best_cvar["strategy"]:
        ans = (f"{_b(best['strategy'])} has both the lowest expected cost ({fmt.money(best['expected_cost'], cur)}) and "
               f"the lowest bad-case cost ({lvl} {fmt.money(best['cvar_cost'], cur)}).")
    else:
        ans = (f"{_b(best['strategy'])} has the lowest expected cost ({fmt.money(best['expected_cost'], cur)}); "
               f"{_b(best_cvar['strategy'])} the lowest bad-case cost ({lvl} {fmt.money(best_cvar['cvar_cost'], cur)}).")
    page.section("How much to commit", ans)
    page.add(_img(plots.commit_frontier(cm["options"], cm["utilization_samples"], cur, cm["utilization_threshold"]),
                  "commit options frontier and utilisation"))
    thr = f"P(utilisation < {cm['utilization_threshold']:.0%})"
    rows = [{"option": o["strategy"], "expected cost": o["expected_cost"], "P95 cost": o["p95_cost"],
             lvl: o["cvar_cost"], "expected stranded": o["expected_stranded"],
             "expected overage": o["expected_overage"], "unit (stranded, overage)": o.get("stranded_unit") or "",
             thr: o["p_utilization_below_threshold"], "on frontier": "yes" if o["on_frontier"] else ""}
            for o in cm["options"]]
    ct = pd.DataFrame(rows)
    c["tables"]["commit_options"] = ct
    money_unit = all((o.get("stranded_unit") or cur) == cur for o in cm["options"])
    page.add(_table(ct, {thr: "pct", "expected stranded": "money" if money_unit else "num",
                         "expected overage": "money" if money_unit else "num"}, currency=cur,
                    highlight=("option", c["strat"])),
             f'<p class="read">{lvl}: the average cost of the worst {1 - cm["cvar_level"]:.0%} of futures. Options '
             'on the green frontier are the sensible choices: no other option is both cheaper on average and '
             'cheaper in a bad year. Stranded = commitment paid for and not used.</p>')
    c["summary"]["optimal_commit"] = best["strategy"]


# ---- value and outcomes --------------------------------------------------------------------------------------
def _outcomes(ds: xr.Dataset) -> pd.DataFrame | None:
    """``sim.analysis.outcomes.outcome_table`` of the results, None without rows."""
    from ..analysis import outcomes as oc

    t = oc.outcome_table(ds)
    return t if t is not None and len(t) else None


def _value_section(page: _Page, c: dict, t: pd.DataFrame) -> None:
    cur, strat, span = c["cur"], c["strat"], c["span"]
    wls = list(dict.fromkeys(t["workload"]))

    def spread(w: str) -> float:  # the workload whose cost per outcome the strategies change the most
        x = t.loc[t["workload"] == w, "cost_per_outcome"].astype(float)
        return float((x.max() - x.min()) / x.min()) if len(x) > 1 and x.min() > 0 else 0.0

    w0 = max(wls, key=spread)
    g = t[t["workload"] == w0].sort_values("cost_per_outcome", kind="stable")
    outcome, unit = str(g["outcome"].iloc[0]), str(g["unit"].iloc[0])
    if len(g) > 1:
        cheap = g.iloc[0]
        by_nv = g.sort_values("net_value", ascending=False, kind="stable")
        ans = (f"Per {html.escape(outcome)}, " + fmt.join_words(
            [f"{_b(r.strategy)} costs {fmt.price(r.cost_per_outcome, cur)}" for r in g.itertuples()]))
        if by_nv.iloc[0]["strategy"] == cheap["strategy"]:
            nxt = by_nv.iloc[1]
            gap = float(cheap["net_value"] - nxt["net_value"])
            if gap < 1e-3 * max(abs(float(cheap["value"])), 1.0):
                ans += (f": {_b(cheap['strategy'])} is the cheapest per {html.escape(unit)}; its net value is within "
                        f"0.1 % of {html.escape(str(nxt['strategy']))}'s.")
            else:
                ans += (f": {_b(cheap['strategy'])} is the cheapest per {html.escape(unit)} and adds "
                        f"{fmt.money(gap, cur)} more net value than {html.escape(str(nxt['strategy']))} over {span}.")
        else:
            ans += (f": {_b(cheap['strategy'])} is the cheapest per {html.escape(unit)}, but "
                    f"{_b(by_nv.iloc[0]['strategy'])} adds the most net value "
                    f"({fmt.money(by_nv.iloc[0]['net_value'], cur)} over {span}).")
    else:
        r = g.iloc[0]
        roi = "—" if r["roi"] is None or pd.isna(r["roi"]) else f"{r['roi']:,.1f}×"
        ans = (f"Per {html.escape(outcome)}, {_b(r['strategy'])} costs {fmt.price(r['cost_per_outcome'], cur)}; over "
               f"{span} the outcomes are worth {fmt.money(r['value'], cur)}, {fmt.money(r['net_value'], cur)} net of "
               f"their cost (ROI {roi}).")
    page.section("Value and outcomes", ans)
    ranked = t.sort_values(["workload", "net_value"], ascending=[True, False], kind="stable")
    page.add(_img(plots.value_chart(ranked, cur, {w: str(t.loc[t["workload"] == w, "outcome"].iloc[0]) for w in wls}),
                  "cost per outcome and net value by strategy"))
    show = pd.DataFrame({
        "strategy": ranked["strategy"], "workload": ranked["workload"], "outcome": ranked["outcome"],
        "outcomes": ranked["outcomes"], "success rate (AI)": ranked["success_rate"],
        "cost per outcome": ranked["cost_per_outcome"], "P5": ranked["cost_per_outcome_p5"],
        "P95": ranked["cost_per_outcome_p95"], "value": ranked["value"], "net value": ranked["net_value"],
        "net value P5": ranked["net_value_p5"], "net value P95": ranked["net_value_p95"], "ROI": ranked["roi"],
        "value per million tokens": ranked["value_per_mtok"]})
    c["tables"]["outcomes"] = t
    page.add(_table(show, {"outcomes": "int", "success rate (AI)": "pct", "cost per outcome": "price", "P5": "price",
                           "P95": "price", "value": "compact", "net value": "compact", "net value P5": "compact",
                           "net value P95": "compact", "ROI": "times", "value per million tokens": "price"},
                    currency=cur, highlight=("strategy", strat)),
             '<p class="read">Ranked by net value within each workload. Cost per outcome = everything the outcomes '
             'cost (model spend, human fallback, review) divided by the outcomes achieved; its P5–P95 is over the '
             'futures. Net value = value of the outcomes − their cost; ROI = net value / cost. Value per million '
             'tokens says how much business value each million tokens buys.</p>')
    best = t.groupby("strategy", sort=False)["net_value"].sum()
    c["summary"]["best_net_value_strategy"] = str(best.idxmax())


# ---- GPUs ------------------------------------------------------------------------------------------------------
def _cheapest_at(curves: pd.DataFrame, volume: float) -> dict[str, float]:
    """Cost per million tokens of each pool at ``volume`` tokens a year (log interpolation)."""
    out = {}
    for pool, g in curves.groupby("pool", sort=False):
        x, y = np.log(g["tokens_per_year"].to_numpy(float)), g["usd_per_mtok"].to_numpy(float)
        if volume > 0 and len(x):
            out[str(pool)] = float(np.interp(math.log(volume), x, y))
    return out


def _gpu_sections(page: _Page, c: dict, tc: dict | None, err: str | None, buyers: list[str]) -> None:
    cur, strat = c["cur"], c["strat"]
    if tc is None:
        page.section("Renting or owning GPUs", f"No TCO analysis: {html.escape(err or 'not computed')}.")
        return
    wl = tc["workload"]
    vols = {y: v for y, v in tc["expected_tokens_per_year"].items() if v > 0}
    vol = float(np.mean(list(vols.values()))) if vols else 0.0
    at = _cheapest_at(tc["cost_curves"], vol)
    cross = tc["crossover_tokens_per_year"]
    if at:
        best = min(at, key=at.get)
        ans = (f"At {_b(wl)}'s expected volume (about {fmt.tokens(vol)} tokens a year), the cheapest way to serve it "
               f"is {_b(plots.pool_label(best))} ({fmt.price(at[best], cur)} per million tokens"
               + (f" against {fmt.price(at['api'], cur)} on the API" if best != "api" and "api" in at else "") + ")")
        beats = [(k.partition("_vs_")[2], v) for k, v in cross.items() if k.startswith("api_vs_")]
        said = [f"{plots.pool_label(p)} above {fmt.tokens(v)}" for p, v in beats if v]
        if said:
            ans += "; the API loses to " + fmt.join_words(said) + " tokens a year"
        ans += "."
    else:
        ans = f"The workload {_b(wl)} has no expected volume to place on the cost curves."
    page.section("Renting or owning GPUs", ans)
    page.add(_img(plots.tco_crossover(tc["cost_curves"], cross, cur, tc["expected_tokens_per_year"]),
                  "cost per token against volume"))
    c["tables"]["tco_cost_curves"] = tc["cost_curves"]
    cr = pd.DataFrame([{"pools compared": " → ".join(plots.pool_label(p) for p in k.split("_vs_")),
                        "crossover tokens/year": _tok(v),
                        "P10": _tok(tc["crossover_distribution"]["pairs"].get(k, {}).get("p10")),
                        "P90": _tok(tc["crossover_distribution"]["pairs"].get(k, {}).get("p90"))}
                       for k, v in cross.items()])
    page.add(_table(cr))
    vtxt = ", ".join(f"{y}: {_tok(v)}" for y, v in tc["expected_tokens_per_year"].items())
    page.add(f'<p class="read">For workload <b>{html.escape(wl)}</b> under {html.escape(strat)}: each line is what a '
             'million tokens costs on that pool at a given yearly volume. GPUs carry fixed costs (staff, '
             'whole GPUs), so they are dear at low volume and cheap at high volume; where a line drops '
             f'below the API line is the crossover. This workload\'s expected volume: {vtxt} tokens.</p>')
    c["summary"]["crossover_tokens_per_year"] = cross
    if tc.get("owned_cost_per_mtok_by_component") and tc.get("buys_gpus", True):
        split = tc["owned_cost_per_mtok_by_component"]
        comp = pd.DataFrame([{"component": k, "per million tokens": v} for k, v in split.items()]
                            + [{"component": "total", "per million tokens": sum(split.values())}])
        n = tc["owned_fleet_gpus"]
        page.add(f"<p>Owned GPU cost per million tokens by component ({n:g} GPU{'' if n == 1 else 's'} "
                 "used at their usable share):</p>", _table(comp, {"per million tokens": "price"}, currency=cur))

    pa = tc.get("purchase_sweep")
    if pa:
        if pa["best_purchase_month"] is None:
            ans = (f"Under {_b(strat)}, no purchase month saves money on average within the horizon: do not buy the "
                   "GPUs yet.")
        else:
            bc = pa["best_candidate"]
            ans = (f"Under {_b(strat)}, ordering the GPUs in {_b(bc['date'])} saves "
                   f"{_b(fmt.money(bc['expected_npv_savings'], cur))} in expectation (NPV), with a "
                   f"{fmt.pct(bc['p_regret'])} chance that the order loses money.")
        page.section("When to buy GPUs", ans)
        page.add(_img(plots.purchase_npv(pa["table"], cur, pa["best_purchase_month"]), "NPV of savings by purchase month"))
        c["tables"]["tco_purchase_months"] = pa["table"]
        pt = pa["table"][["month", "date", "expected_npv_savings", "p10", "p90", "p_regret",
                          "expected_stranded_share"]].rename(columns={
            "expected_npv_savings": "expected NPV of savings", "p_regret": "P(regret)",
            "expected_stranded_share": "idle share of usable capacity"})
        page.add(_table(pt, {"month": "int", "P(regret)": "pct", "idle share of usable capacity": "pct"}, currency=cur),
                 f'<p class="read">The GPU order of {html.escape(strat)} is replayed with its month moved '
                 f'({pa["paths"]} futures each, discount rate {fmt.pct(pa["discount_rate"])}), against the same strategy '
                 'without GPUs; regret = the order loses money in that future.</p>')
        c["summary"]["best_purchase_month"] = pa["best_purchase_month"]
    else:
        others = [s for s in buyers if s != strat]
        msg = f"{html.escape(strat)} orders no GPUs, so no purchase month is replayed"
        if others:
            msg += (f"; {html.escape(fmt.join_words(others))} "
                    f"{'does' if len(others) == 1 else 'do'}: see its report with --strategy {html.escape(others[0])}")
        page.add(f'<p class="note">{msg}.</p>')


def _factory_section(page: _Page, c: dict) -> None:
    """"AI factory": the GPU pools of the report's strategy (``sim.analysis.factory.factory_table``)."""
    from ..analysis import factory as fa

    t = fa.factory_table(c["ds"].sel(strategy=[c["strat"]]))  # the report's strategy only
    mine = t[t["strategy"] == c["strat"]] if t is not None and len(t) else None
    if mine is None or not len(mine):
        return
    cur = c["cur"]
    c["tables"]["factory"] = t
    tiers = [col for col in t.columns if col.startswith("cost_per_mtok_") and col != "cost_per_mtok"]
    d = mine.assign(year=mine["month"].astype(str).str[:4])  # cost: the pool's, months without tokens included
    rows = []
    for (pool, year), g in d.groupby(["pool", "year"], sort=False):
        tok, mwh, cost = float(g["tokens"].sum()), float(g["energy_mwh"].sum()), float(g["cost"].sum())
        r = {"pool": plots.pool_label(pool), "year": year, "tokens": tok, "energy (MWh)": mwh,
             "tokens per MWh": tok / mwh if mwh > 0 else np.nan,
             "kWh per million tokens": mwh * 1000 / (tok / 1e6) if tok > 0 else np.nan,
             "idle share": float(g["idle_share"].mean()), "cost per million tokens": cost / tok * 1e6 if tok > 0 else np.nan}
        for col in tiers:
            r[f"cost per million tokens at {col[len('cost_per_mtok_'):].replace('_tok_s', ' tok/s')}"] = \
                float(g[col].mean())
        rows.append(r)
    yt = pd.DataFrame(rows)
    last = yt.iloc[-1]
    ans = (f"In {last['year']}, the {html.escape(last['pool'])} of {_b(c['strat'])} turn a megawatt-hour into "
           f"{_b(fmt.tokens(last['tokens per MWh']))} tokens ({last['kWh per million tokens']:.3g} kWh per million "
           f"tokens) at {_b(fmt.price(last['cost per million tokens'], cur))} per million tokens; "
           f"{fmt.pct(last['idle share'])} of their time is idle.")
    page.section("AI factory: what the GPUs turn power into", ans)
    page.add(_img(plots.factory_chart(mine, cur), "tokens per MWh and cost per million tokens by month"))
    kinds = {"tokens": "tokens", "energy (MWh)": "num", "tokens per MWh": "tokens", "kWh per million tokens": "num",
             "idle share": "pct", "cost per million tokens": "price",
             **{k: "price" for k in yt.columns if k.startswith("cost per million tokens at")}}
    page.add(_table(yt, kinds, currency=cur),
             '<p class="read">Per year, from the monthly figures of the CSV table: energy is the facility\'s (IT load '
             'times PUE; rented GPUs are an estimate, no meter); idle share = the share of paid GPU time that served '
             'no token; "at N tok/s" = what a million tokens would cost if every user must see at least N tokens per '
             'second (faster service leaves fewer users per GPU).</p>')


def _driver_section(page: _Page, c: dict, df: pd.DataFrame | None, err: str | None) -> None:
    from ..scenario.labels import labels as labels_of

    cur, sc = c["cur"], c["scenario"]
    if df is None or not len(df):
        if err is not None:
            page.section("What drives the uncertainty", f"No tornado: {html.escape(err)}.")
        return
    names = labels_of(list(df["input"]), sc)
    moving = df[df["swing"] > 0]
    still = [names[p] for p in df.loc[df["swing"] <= 0, "input"]]
    if not len(moving):
            return  # the uncertain inputs (an outcome's value, say) move no spend: nothing to rank
    top = moving.iloc[0]
    ans = (f"Total spend is most sensitive to {_b(names[top['input']])}: between its P10 and P90 the {c['span']} total "
           f"moves from {fmt.money(min(top['metric_at_low'], top['metric_at_high']), cur)} to "
           f"{fmt.money(max(top['metric_at_low'], top['metric_at_high']), cur)}")
    nxt = [names[p] for p in moving["input"].iloc[1:3]]
    if nxt:
        ans += "; next come " + fmt.join_words([_b(n) for n in nxt])
    page.section("What drives the uncertainty", ans + ".")
    page.add(_img(plots.tornado(moving, float(df["base"].iloc[0]), "total spend", cur, names=names),
                  "tornado of input swings"))
    t = df.copy()
    t.insert(1, "label", [names[p] for p in t["input"]])
    c["tables"]["tornado"] = t
    show = pd.DataFrame({"input": t["label"], "P10 value": t["low_value"], "P90 value": t["high_value"],
                         "total spend at P10": t["metric_at_low"], "total spend at P90": t["metric_at_high"],
                         "swing": t["swing"]})[t["swing"].to_numpy() > 0].head(12)
    page.add(_table(show, {"P10 value": "num", "P90 value": "num"}, currency=cur),
             f'<p class="read">Each bar moves one uncertain input from a low case (P10) to a high case (P90) with '
             f'everything else at its expected value, under {html.escape(c["strat"])}. The longest bars are the inputs '
             'worth pinning down first. The CSV table names each input also by its key path in the scenario file.'
             + (f" Uncertain but without effect on spend (left out): {html.escape('; '.join(still))}." if still else "")
             + "</p>")
    c["summary"]["top_drivers"] = list(moving["input"].head(3))
    c["summary"]["top_driver_labels"] = [names[p] for p in moving["input"].head(3)]


def _sizing(page: _Page, chunks: list[str], obj: dict, k: int) -> list[str]:
    """A capacity-sizing section (``sim.report.sizing``) with its answer listed at the top and shown as
    the section's answer."""
    from .sizing import answer

    sid = f"capacity-sizing-{k + 1}"
    ans = html.escape(answer(obj))
    page.answers.append((sid, f"Capacity sizing: {obj['profile']}", ans))
    out = list(chunks)
    out[0] = f'<a id="{sid}"></a>' + out[0]
    if len(out) > 1 and out[1].startswith('<p class="read"><b>'):
        out[1] = f'<p class="answer">{ans}</p>'
    return out


def _method_section(page: _Page, c: dict) -> None:
    b = c["b"]
    err = b["mc_error"]
    e = err[err["quantile"].isin(["p50", "p90", "p95"])][["period", "quantile", "value", "se", "rel_se",
                                                           "paths_for_1pct"]]
    worst = float(e["rel_se"].max()) if len(e) else float("nan")
    need = int(e["paths_for_1pct"].max()) if len(e) else 0
    ans = (f"At {b['paths']:,} paths the yearly quantiles shown carry a relative standard error "
           + ("below 0.1 %" if worst < 0.001 else f"of at most {fmt.pct(worst)}")
           + (f"; about {need:,} paths would bring each within ±1 %." if need > b["paths"] else
              ", within ±1 % already."))
    page.section("Method and accuracy", ans)
    page.add(_table(e, {"rel_se": "pct", "paths_for_1pct": "int"},
                    {"se": "standard error", "rel_se": "relative", "paths_for_1pct": "paths for ±1 %"},
                    currency=c["cur"]),
             '<p class="note">Standard errors of the quantiles come from the order statistics of the paths '
             '(binomial method); "paths for ±1 %" is the run size that would make the 95 % confidence interval '
             '±1 % of the value. Strategies are compared with common random numbers.</p>')


def _runout(v) -> str:
    """A runout date of ``runway`` as the report shows it."""
    return html.escape(v) if v else "not within the horizon"


def _runway_section(ds: xr.Dataset, actuals: pd.Series, r: dict, tables: dict[str, pd.DataFrame],
                    page: _Page | None = None) -> list[str]:
    """"Budget against actuals": cards, the cumulative chart, the table (CSV ``runway``, the chart's days
    ``runway_days``) and the notes of ``runway``."""
    from ..analysis.runway import runway_curves

    cur = r["currency"]
    budget = r["budget"]
    past, fc = runway_curves(ds, actuals, r)
    q = r["runout_date"]

    def m(v) -> str:
        return html.escape(fmt.money(v, cur, exact=True))

    if q["p50"]:
        ans = (f"The {r['year']} budget of {_b(fmt.money(budget, cur))} runs out around {_b(q['p50'])} (P50; "
               f"P10 {_runout(q['p10'])}, P90 {_runout(q['p90'])}).")
    else:
        ans = (f"The {r['year']} budget of {_b(fmt.money(budget, cur))} lasts the year in "
               f"{fmt.pct(r['share_not_run_out'])} of futures.")
    out = []
    if page is not None:
        page.answers.append(("budget-against-actuals", "Budget against actuals", ans))
    out += ['<a id="budget-against-actuals"></a><h2>Budget against actuals</h2>', f'<p class="answer">{ans}</p>']
    cards = [("year to date" + (f" (from {r['ytd_from']})" if r["ytd_from"] else ""), m(r["ytd_spend"]),
              f"{r['actual_days']} actual days"),
             ("burn rate, a day", m(r["burn_rate_per_day"]), "mean of the last 30 known days"),
             ("remaining budget", m(budget - r["ytd_spend"]), f"of {m(budget)}"),
             (f"rest of {r['year']}: median", m(r["rest_of_year"]["p50"]),
              f"P10 {m(r['rest_of_year']['p10'])} – P90 {m(r['rest_of_year']['p90'])}"),
             ("runs out: P10 / P50 / P90", " / ".join(_runout(q[k]) for k in ("p10", "p50", "p90")),
              f"{fmt.pct(r['share_not_run_out'])} of futures do not run out")]
    out.append('<div class="cards">' + "".join(f'<div class="card"><div class="l">{html.escape(a)}</div>'
                                               f'<div class="v">{b}</div><div class="l">{c}</div></div>'
                                               for a, b, c in cards) + "</div>")
    out.append(_img(plots.runway_chart(past, fc, budget, cur, q), "cumulative spend against the budget"))
    from .sheets import runway_table

    t = runway_table(r)
    tables["runway"] = t
    rows = [tuple(None if isinstance(x, float) and math.isnan(x) else x for x in row)
            for row in t.itertuples(index=False)]
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
        return fmt.pct(v) if pct else m(v)

    body = "".join(f'<tr><td class="t">{html.escape(mm)}</td>'
                   f"<td>{cell(v, mm.startswith('P('))}</td>"
                   + "".join(f"<td>{cell(x)}</td>" for x in (a, b, c)) + "</tr>" for mm, v, a, b, c in rows)
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
                      tables: dict[str, pd.DataFrame], summary: dict, page: _Page | None = None) -> list[str]:
    """"Backtest": the scores (CSV ``backtest_scores``), the bands against the held-out actuals when the
    days are given (CSV ``backtest_days``) and the PIT histogram; the pieces of the backtest's own page."""
    from . import backtest as bt

    scores = bt.scores_table(result)
    tables["backtest_scores"] = scores
    src = ", ".join(html.escape(str(f)) for f in (file, days_file) if f)
    p = result["pooled"]
    cov = (p.get("coverage") or {}).get("p5_p95")
    ans = (f"Over {p['days_evaluated']:,} held-out days, {fmt.pct(cov)} of the actual days fell inside the forecast's "
           "P5–P95 band (a calibrated forecast: 90 %)." if cov is not None else "The backtest scores are below.")
    title = "Backtest: do the forecast's bands hold?"
    if page is not None:
        page.answers.append(("backtest", title, ans))
    out = [f'<a id="backtest"></a><h2>{html.escape(title, quote=False)}</h2>', f'<p class="answer">{ans}</p>',
           f'<p class="meta">{bt.backtest_meta(result)}' + (f"; from {src}" if src else "") + "</p>",
           f'<p class="read">{bt.READ}</p>', bt.scores_html(scores)]
    if days is not None:
        tables["backtest_days"] = days
        out += ["<h3>Forecast bands against what happened</h3>", bt.bands_html(result, days)]
    else:
        out.append('<p class="note">The band-vs-actual chart needs the held-out days: pass --backtest-days with the '
                   "file tokensim backtest --csv wrote.</p>")
    out += ["<h3>Calibration (PIT)</h3>", bt.pit_html(result, days), bt.notes_html(result, "h3")]
    summary["backtest"] = {"file": file, "days_file": days_file, "days_evaluated": p["days_evaluated"],
                           "coverage": p["coverage"], "crps": p["crps"], "bias": p["bias"],
                           "series": list(result["series"])}
    return out


def chart_count(page: str) -> int:
    """The charts on a page (SVG figures and embedded images)."""
    return page.count('<figure class="chart">') + page.count("<img ")


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
