"""How the report writes numbers and draws its charts (sim.report.fmt, sim.report.plots), without a
browser: money with its currency, shares that never read "0 %" when not zero, plain tick labels,
legends of drawn artists only, twin axes sharing their zero, names wrapped and never cut."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.report import fmt, plots


def _texts(svg: bytes) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg.decode(), re.S)]


@pytest.mark.parametrize("v, want", [(0, "0 %"), (0.0004, "<0.1 %"), (0.002, "0.2 %"), (0.0123, "1.2 %"),
                                     (0.28, "28 %"), (0.9996, ">99.9 %"), (1, "100 %"), (130.9, "13,090 %")])
def test_shares(v, want):
    assert fmt.pct(v) == want


def test_money():
    assert fmt.money(1.234e6, "USD") == "$1.23M" and fmt.money(659_299, "USD") == "$659k"
    assert fmt.money(1_234_567, "USD", exact=True) == "$1,234,567" and fmt.money(-350_168, "USD") == "-$350k"
    assert fmt.money(5e5, "CHF") == "CHF 500k" and fmt.money(2e6, "EUR") == "€2M"
    assert fmt.money(1e15, "USD") == "$1,000T"  # never 1e+03T
    assert fmt.price(1.3245, "USD") == "$1.32" and fmt.price(0.0112, "USD") == "$0.0112"
    assert fmt.money(float("nan"), "USD") == "—"
    ticks = [plots.money_tick(x, "USD") for x in (0, 0.5, 1.5, 20, 250_000, 1.5e6, -5e4)]
    assert ticks == ["$0", "$0.50", "$1.50", "$20", "$250k", "$1.5M", "-$50k"]


def test_charts_use_plain_money_ticks_and_label_the_histogram_axis():
    rng = np.random.default_rng(1)
    svg = plots.annual_histograms({"2027": rng.lognormal(13, 0.3, 400)}, "USD", budget=6e5)
    t = _texts(svg)
    assert "share of simulated futures" in t and any(x.endswith(" %") for x in t)
    assert any(re.fullmatch(r"\$[\d.]+k", x) for x in t)
    curves = pd.DataFrame({"pool": ["api"] * 5 + ["owned"] * 5, "tokens_per_year": list(np.logspace(9, 13, 5)) * 2,
                           "usd_per_mtok": [0.7] * 5 + list(np.logspace(2, -2, 5))})
    t = _texts(plots.tco_crossover(curves, {"api_vs_owned": 1e11}, "USD", {"2027": 5e11}))
    assert "$1" in t and "$100" in t and "1T" in t  # log axes, plain labels
    assert not [x for x in t if re.search(r"10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]|×10|\de[+-]", x)]
    assert "<tspan" not in plots.tco_crossover(curves, {}, "USD").decode()  # no mathtext


def _option(name, mean, p95, front):
    return {"strategy": name, "expected_cost": mean, "p95_cost": p95, "cvar_cost": p95, "on_frontier": front,
            "p_utilization_below_threshold": 0.5}


def test_a_legend_lists_only_what_is_drawn():
    one = [_option("pay_as_you_go", 3.6e6, 5.6e6, True), _option("commit_120k_month", 4.5e6, 6.3e6, False)]
    t = _texts(plots.commit_frontier(one, {}, "USD"))
    assert "efficient frontier" not in t and "commit_120k_month" in t  # one frontier point: no line, no entry
    two = one + [_option("commit_60k_month", 3.8e6, 5.5e6, True)]
    assert "efficient frontier" in _texts(plots.commit_frontier(two, {}, "USD"))
    fig = Figure()
    ax = fig.subplots()
    ax.plot([1], [1], label="a point without a marker")
    ax.plot([1, 2], [1, 2], label="a line")
    leg = plots._legend(ax)
    assert [x.get_text() for x in leg.get_texts()] == ["a line"]


def test_twin_axes_share_their_zero():
    fig = Figure()
    ax = fig.subplots()
    ax.fill_between([0, 1, 2], [-3.5e5, -3e5, -1e5], [1.7e6, 1.5e6, 1e6])
    ax2 = ax.twinx()
    ax2.plot([0, 1, 2], [0.3, 0.3, 0.45])
    plots.align_zeros(ax, ax2, 1.0)
    (a, b), (c, d) = ax.get_ylim(), ax2.get_ylim()
    assert -a / (b - a) == pytest.approx(-c / (d - c)) and d == 1.0
    assert min(ax2.get_yticks()) == 0  # no negative probabilities on the right axis


def test_names_wrap_and_are_never_cut():
    for name in ("commit_120k_month", "agents_on_owned_h200", "a_very_long_strategy_name_with_many_parts_x"):
        w = plots.wrap(name, 10, 5)
        assert w.replace("\n", "") == name and max(len(x) for x in w.split("\n")) <= 12
    t = _texts(plots.strategy_comparison([{"strategy": "agents_on_owned_h200", "mean": 2.9e6, "p5": 2.4e6,
                                           "p25": 2.7e6, "p50": 2.8e6, "p75": 3e6, "p95": 3.4e6}], "USD"))
    assert "agents_on_owned_h200" in "".join(t)


def test_the_tornado_shows_labels():
    df = pd.DataFrame({"input": ["pools.api.price_trend.frontier_per_year"], "metric_at_low": [2.6e6],
                       "metric_at_high": [4.7e6], "base": [3.5e6]})
    t = _texts(plots.tornado(df, 3.5e6, "total spend", "USD",
                             names={"pools.api.price_trend.frontier_per_year": "Frontier API price change per year"}))
    assert "Frontier API price change per year" in t and not [x for x in t if "price_trend" in x]
