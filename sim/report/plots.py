"""Charts of the report as PNG bytes (matplotlib's object API: no pyplot, no display needed)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

BLUE = "#1f5fa8"
COLORS = ["#1f5fa8", "#e07b24", "#3a9d5d", "#c23b3b", "#7d5ba6", "#8c6d46", "#d16fb0", "#6f6f6f", "#b5b82f", "#2cb5c0"]
POOL_COLORS = {"api": "#1f5fa8", "neocloud": "#e07b24", "neocloud_on_demand": "#f2b27a", "owned": "#3a9d5d",
               "saas": "#7d5ba6"}


def _money(cur: str = ""):
    def f(x, _pos=None):
        a = abs(x)
        for s, d in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
            if a >= d:
                return f"{x / d:,.3g}{s}"
        return f"{x:,.0f}"

    return FuncFormatter(f)


def _tokens(x, _pos=None):
    a = abs(x)
    for s, d in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= d:
            return f"{x / d:g}{s}"
    return f"{x:g}"


def png(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _fig(w: float = 9.0, h: float = 4.2, ncols: int = 1, nrows: int = 1):
    fig = Figure(figsize=(w, h))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def fan_chart(months: pd.DatetimeIndex, q: dict[str, np.ndarray], mean: np.ndarray, currency: str,
              title: str = "Monthly spend") -> bytes:
    """P5–P95 and P25–P75 bands, the median and the mean per month."""
    fig, ax = _fig()
    ax = ax[0, 0]
    x = months.to_pydatetime()
    ax.fill_between(x, q["p5"], q["p95"], color=BLUE, alpha=0.15, label="P5–P95 (9 in 10 futures)")
    ax.fill_between(x, q["p25"], q["p75"], color=BLUE, alpha=0.30, label="P25–P75 (half of futures)")
    ax.plot(x, q["p50"], color=BLUE, lw=2, label="median (P50)")
    ax.plot(x, mean, color="black", lw=1, ls="--", label="mean")
    ax.set_title(title)
    ax.set_ylabel(f"{currency} per month")
    ax.yaxis.set_major_formatter(_money())
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return png(fig)


def annual_histograms(samples: dict[str, np.ndarray], currency: str, budget: float | None = None,
                      confidence: float = 0.9) -> bytes:
    """One histogram of spend per period (year), with the budget and the budget at confidence."""
    keys = list(samples)
    n = len(keys)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = _fig(w=4.0 * ncols, h=3.2 * nrows, ncols=ncols, nrows=nrows)
    for ax, k in zip(axes.flat, keys):
        x = np.asarray(samples[k], float)
        ax.hist(x, bins=min(40, max(10, x.size // 20)), color=BLUE, alpha=0.75)
        qc = float(np.quantile(x, confidence))
        ax.axvline(float(np.median(x)), color="black", lw=1, ls="--", label="median")
        ax.axvline(qc, color="#3a9d5d", lw=1.5, label=f"P{confidence * 100:g} budget")
        if budget is not None:
            ax.axvline(budget, color="#c23b3b", lw=2, label=f"budget (exceeded in {np.mean(x > budget):.0%})")
        ax.set_title(str(k))
        ax.xaxis.set_major_formatter(_money())
        ax.set_xlabel(currency)
        ax.set_yticks([])
        ax.legend(fontsize=7, frameon=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle("Spend per year over the simulated futures", y=1.02)
    return png(fig)


def stacked_bars(tables: dict[str, pd.DataFrame], currency: str) -> bytes:
    """Mean spend per period stacked by group, one panel per table (e.g. business unit, pool)."""
    n = len(tables)
    fig, axes = _fig(w=5.2 * n, h=4.0, ncols=n)
    for ax, (title, t) in zip(axes.flat, tables.items()):
        bottom = np.zeros(len(t))
        for i, col in enumerate(t.columns):
            color = POOL_COLORS.get(col, COLORS[i % len(COLORS)])
            ax.bar(t.index.astype(str), t[col].values, bottom=bottom, color=color, label=str(col))
            bottom += t[col].values
        ax.set_title(title)
        ax.yaxis.set_major_formatter(_money())
        ax.set_ylabel(f"mean {currency}")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    return png(fig)


def commit_frontier(options: list[dict], samples: dict[str, np.ndarray], currency: str, threshold: float = 0.8) -> bytes:
    """Left: expected cost vs P95 per option, frontier joined. Right: commitment utilisation per option."""
    fig, axes = _fig(w=11, h=4.2, ncols=2)
    ax = axes[0, 0]
    xs = [o["expected_cost"] for o in options]
    ys = [o["p95_cost"] for o in options]
    ax.scatter(xs, ys, color=[("#3a9d5d" if o["on_frontier"] else "#999999") for o in options], zorder=3)
    for o in options:
        ax.annotate(o["strategy"], (o["expected_cost"], o["p95_cost"]), fontsize=7, xytext=(4, 3),
                    textcoords="offset points")
    front = sorted([o for o in options if o["on_frontier"]], key=lambda o: o["expected_cost"])
    ax.plot([o["expected_cost"] for o in front], [o["p95_cost"] for o in front], color="#3a9d5d", lw=1.5,
            label="efficient frontier")
    ax.set_xlabel(f"expected total cost, {currency}")
    ax.set_ylabel(f"P95 total cost, {currency}")
    ax.xaxis.set_major_formatter(_money())
    ax.yaxis.set_major_formatter(_money())
    ax.set_title("Commit options: mean vs bad case")
    ax.legend(fontsize=8, frameon=False)
    ax = axes[0, 1]
    names = [o["strategy"] for o in options if o["strategy"] in samples]
    if names:
        data = [np.asarray(samples[n]) * 100 for n in names]
        try:
            ax.boxplot(data, orientation="horizontal", whis=(5, 95), showfliers=False)
        except TypeError:  # matplotlib < 3.10
            ax.boxplot(data, vert=False, whis=(5, 95), showfliers=False)
        ax.set_yticks(range(1, len(names) + 1), [n[:22] for n in names], fontsize=7)
        ax.axvline(threshold * 100, color="#c23b3b", lw=1.5, ls="--", label=f"{threshold:.0%}")
        for i, n in enumerate(names):
            o = next(x for x in options if x["strategy"] == n)
            ax.annotate(f"P(<{threshold:.0%}) = {o['p_utilization_below_threshold']:.0%}", (2, i + 1.25), fontsize=7)
        ax.set_xlim(0, 105)
        ax.set_xlabel("commitment used over the term, % (box P25–P75, whiskers P5–P95)")
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no option commits anything", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title("Utilisation risk")
    return png(fig)


def tco_crossover(curves: pd.DataFrame, crossovers: dict, currency: str, volumes: dict | None = None) -> bytes:
    """Cost per million tokens against annual volume (log-log), crossovers marked."""
    fig, ax = _fig()
    ax = ax[0, 0]
    for pool, g in curves.groupby("pool", sort=False):
        label = {"neocloud": "neocloud, reserved GPUs", "neocloud_on_demand": "neocloud, on demand",
                 "owned": "owned GPUs", "api": "API"}.get(pool, pool)
        ax.plot(g["tokens_per_year"], g["usd_per_mtok"], lw=2, color=POOL_COLORS.get(pool, None), label=label)
    ymin, ymax = curves["usd_per_mtok"].min(), curves["usd_per_mtok"].max()
    for k, v in crossovers.items():
        if v:
            ax.axvline(v, color="#777777", lw=1, ls=":")
            ax.annotate(k.replace("_vs_", " → "), (v, ymax), rotation=90, fontsize=7, va="top", ha="right")
    if volumes:
        vals = [v for v in volumes.values() if v > 0]
        if vals:
            ax.axvspan(min(vals), max(vals), color="#ffd54f", alpha=0.3, label="this workload's yearly volume")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(max(ymin * 0.5, 1e-6), ymax * 2)
    ax.xaxis.set_major_formatter(FuncFormatter(_tokens))
    ax.set_xlabel("tokens per year")
    ax.set_ylabel(f"{currency} per million tokens")
    ax.set_title("Cost per token vs volume: where renting or owning GPUs beats the API")
    ax.legend(fontsize=8, frameon=True, loc="lower left")
    return png(fig)


def purchase_npv(table: pd.DataFrame, currency: str, best_month: int | None = None) -> bytes:
    """Expected NPV of savings by purchase month with the P10–P90 band; P(regret) on the right axis."""
    fig, ax = _fig()
    ax = ax[0, 0]
    x = table["month"].values
    ax.fill_between(x, table["p10"], table["p90"], color="#3a9d5d", alpha=0.2, label="P10–P90")
    ax.plot(x, table["expected_npv_savings"], color="#3a9d5d", lw=2, marker="o", label="expected NPV of savings")
    ax.axhline(0, color="black", lw=1)
    if best_month is not None:
        ax.axvline(best_month, color="#1f5fa8", ls="--", lw=1, label=f"best month ({best_month})")
    ax.set_xlabel("month the GPUs are ordered (0 = first month of the horizon)")
    ax.set_ylabel(f"{currency}")
    ax.yaxis.set_major_formatter(_money())
    ax2 = ax.twinx()
    ax2.plot(x, table["p_regret"] * 100, color="#c23b3b", lw=1.5, ls="-.", label="P(regret), %")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("P(regret), %", color="#c23b3b")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, frameon=False, loc="upper right")
    ax.set_title("When to buy GPUs: NPV of savings against buying none")
    return png(fig)


def tornado(df: pd.DataFrame, base: float, metric: str, currency: str, top: int = 12) -> bytes:
    """Horizontal bars from the metric at each input's P10 to its P90, largest swing on top."""
    d = df.head(top).iloc[::-1]
    fig, ax = _fig(h=max(2.5, 0.45 * len(d) + 1.2))
    ax = ax[0, 0]
    y = np.arange(len(d))
    lo = d["metric_at_low"].values - base
    hi = d["metric_at_high"].values - base
    ax.barh(y, lo, left=base, color="#1f5fa8", label="input at its P10")
    ax.barh(y, hi, left=base, color="#e07b24", label="input at its P90")
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y, [s if len(s) < 48 else "…" + s[-46:] for s in d["input"]], fontsize=8)
    ax.xaxis.set_major_formatter(_money())
    ax.set_xlabel(f"{metric}, {currency} (all other inputs at their means)")
    ax.set_title("What drives the forecast: each input swung from its P10 to its P90")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return png(fig)


def backtest_bands(days: pd.DataFrame, unit: str = "requests") -> bytes:
    """Each series' held-out days: the P5–P95 and P25–P75 bands and the median of the forecast made
    at that day's origin, and the actual (one panel per series; origins one after another)."""
    series = list(dict.fromkeys(days["series"]))
    fig, axes = _fig(9.0, 2.8 * len(series), 1, len(series))
    for ax, s in zip(axes[:, 0], series):
        d = days[days["series"] == s].reset_index(drop=True)
        x = np.arange(len(d))
        ax.fill_between(x, d["p5"], d["p95"], color=BLUE, alpha=0.15, step="mid", label="P5–P95")
        ax.fill_between(x, d["p25"], d["p75"], color=BLUE, alpha=0.30, step="mid", label="P25–P75")
        ax.plot(x, d["p50"], color=BLUE, lw=1.2, drawstyle="steps-mid", label="median forecast")
        ax.plot(x, d["actual"], "o", color="#c23b3b", ms=4, label="actual (held out)")
        starts = np.flatnonzero(d["origin"].ne(d["origin"].shift()))
        for i in starts[1:]:
            ax.axvline(i - 0.5, color="#999", lw=0.8, ls=":")
        ax.set_xticks(x[:: max(1, len(x) // 10)])
        ax.set_xticklabels(d["day"].iloc[:: max(1, len(x) // 10)], rotation=30, ha="right", fontsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(_tokens))
        ax.set_ylabel(f"{unit} per day")
        ax.set_title(f"{s}: forecast bands vs held-out actuals (dotted lines: a new origin)", fontsize=10)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return png(fig)


def pit_histogram(pit: np.ndarray, bins: int = 10) -> bytes:
    """Histogram of probability-integral-transform values with the flat line a calibrated forecast
    would give (and its ±2 binomial standard deviations)."""
    return pit_counts_histogram(np.histogram(pit, bins=bins, range=(0.0, 1.0))[0])


def pit_counts_histogram(counts) -> bytes:
    """``pit_histogram`` of PIT values already counted into equal bins over 0..1 (a backtest's
    ``pit``)."""
    fig, ax = _fig(6.0, 3.4)
    ax = ax[0, 0]
    counts = np.asarray(counts, float)
    bins = len(counts)
    edges = np.linspace(0.0, 1.0, bins + 1)
    n = max(1, int(counts.sum()))
    ax.bar(edges[:-1], counts, width=1.0 / bins, align="edge", color=BLUE, alpha=0.7, edgecolor="white")
    e = n / bins
    sd = math.sqrt(n * (1 / bins) * (1 - 1 / bins))
    ax.axhline(e, color="#333", lw=1, label="calibrated (flat)")
    ax.axhspan(max(0.0, e - 2 * sd), e + 2 * sd, color="#999", alpha=0.15, label="±2 sd of a flat histogram")
    ax.set_xlabel("PIT: share of forecast paths below the actual")
    ax.set_ylabel("held-out days")
    ax.set_title("Probability integral transform (U: bands too narrow; ∩: too wide)", fontsize=10)
    ax.legend(fontsize=8)
    return png(fig)


def runway_chart(past: pd.DataFrame, forecast: pd.DataFrame, budget: float, currency: str,
                 runout: dict | None = None) -> bytes:
    """Cumulative spend of the year: the actual days (days filled at the burn rate dotted), then the
    forecast's P10–P90 band and median from the forecast's first day, the budget as a horizontal
    line and the runout dates (P10/P50/P90) that fall within the forecast."""
    fig, ax = _fig()
    ax = ax[0, 0]
    if len(past):
        x = pd.DatetimeIndex(past["day"]).to_pydatetime()
        y = past["cumulative"].to_numpy(float)
        known = ~past["filled"].to_numpy(bool)
        ax.plot(x, np.where(known, y, np.nan), color="black", lw=2, label="actual spend, cumulative")
        if (~known).any():  # a filled day joined to its neighbours, dotted
            edge = ~known | np.r_[~known[1:], False] | np.r_[False, ~known[:-1]]
            ax.plot(x, np.where(edge, y, np.nan), color="black", lw=1.2, ls=":",
                    label="days without actuals, at the burn rate")
    if len(forecast):
        f = forecast
        x0 = pd.DatetimeIndex(f["day"]).to_pydatetime()
        if len(past):  # the fan starts where the actuals (and the filled days) end
            x0 = np.r_[[pd.Timestamp(past["day"].iloc[-1]).to_pydatetime()], x0]
            start = float(past["cumulative"].iloc[-1])
            cols = {k: np.r_[start, f[k].to_numpy(float)] for k in ("p10", "p50", "p90")}
        else:
            cols = {k: f[k].to_numpy(float) for k in ("p10", "p50", "p90")}
        ax.fill_between(x0, cols["p10"], cols["p90"], color=BLUE, alpha=0.2, label="forecast P10–P90 (8 in 10 futures)")
        ax.plot(x0, cols["p50"], color=BLUE, lw=2, label="forecast median (P50)")
    ax.axhline(budget, color="#c23b3b", lw=2, label=f"budget {budget:,.0f} {currency}")
    marks = [(k, v) for k, v in (runout or {}).items() if v and v != "already exceeded"]
    for k, v in marks:
        ax.axvline(pd.Timestamp(v).to_pydatetime(), color="#c23b3b", lw=0.8, ls="--")
        ax.annotate(f"runs out {k.upper()}", (pd.Timestamp(v).to_pydatetime(), budget), rotation=90, fontsize=7,
                    va="top", ha="right", xytext=(-2, -4), textcoords="offset points")
    ax.set_ylabel(f"{currency} spent in the year so far")
    ax.yaxis.set_major_formatter(_money())
    top = max([budget] + ([float(forecast["p90"].max())] if len(forecast) else [])
              + ([float(past["cumulative"].max())] if len(past) else []))
    ax.set_ylim(0, top * 1.08 if top > 0 else 1.0)
    ax.set_title("Budget against actuals: spend to date, then the forecast")
    ax.legend(loc="lower right", fontsize=8, frameon=False)  # below the budget line and right of the actuals
    fig.autofmt_xdate()
    return png(fig)


def sizing_term(table: pd.DataFrame, target: float, unit: str = "units") -> bytes:
    """Over a contract term, by unit count: the expected cost per month (pool only, and with spill to
    pay-go) on the left; P(some month misses an objective) with the target on the right."""
    fig, axes = _fig(10.0, 3.8, 2, 1)
    a, b = axes[0, 0], axes[0, 1]
    u = table["units"].to_numpy(float)
    pool = table["pool only: cost per month (USD)"].to_numpy(float)
    a.plot(u, pool, color="#1f5fa8", lw=2, marker="o", ms=3, label="units alone")
    hyb = table["with spill: expected cost per month (USD)"].to_numpy(float)
    if np.isfinite(hyb).any():
        a.plot(u, hyb, color="#e07b24", lw=2, marker="s", ms=3, label="units + pay-go spill (expected)")
    a.set_xlabel(f"{unit} bought")
    a.set_ylabel("USD per month")
    a.yaxis.set_major_formatter(_money("USD"))
    a.set_ylim(bottom=0)
    a.legend(fontsize=8, frameon=False)
    a.set_title("Expected cost over the term")
    b.plot(u, table["pool only: P(breach)"].to_numpy(float) * 100, color="#1f5fa8", lw=2, marker="o", ms=3,
           label="units alone")
    hb = table["with spill: P(breach)"].to_numpy(float)
    if np.isfinite(hb).any():
        b.plot(u, hb * 100, color="#e07b24", lw=2, marker="s", ms=3, label="units + pay-go spill")
    b.axhline(target * 100, color="#c23b3b", ls="--", lw=1, label=f"target {target:.0%}")
    b.set_ylim(0, 100)
    b.set_xlabel(f"{unit} bought")
    b.set_ylabel("P(a month misses an objective), %")
    b.legend(fontsize=8, frameon=False)
    b.set_title("Risk of missing the objectives")
    return png(fig)
