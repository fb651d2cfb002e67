"""Charts of the report as SVG bytes (matplotlib's object API: no pyplot, no display needed).

Text stays text (``svg.fonttype: none``): tick labels are words a reader, a browser's search and
the report's tests can read. Money axes read "$1.5M" (``sim.report.fmt``), never "10⁶" or an
offset; shares read "20 %". A legend lists only what the chart draws; twin axes share their zero.
``sim.report.html`` embeds the SVG in the page.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.collections import Collection
from matplotlib.container import Container
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter, PercentFormatter

from . import fmt

BLUE = "#1f5fa8"
COLORS = ["#1f5fa8", "#e07b24", "#3a9d5d", "#c23b3b", "#7d5ba6", "#8c6d46", "#d16fb0", "#6f6f6f", "#b5b82f", "#2cb5c0"]
POOL_COLORS = {"api": "#1f5fa8", "neocloud": "#e07b24", "neocloud_on_demand": "#f2b27a", "owned": "#3a9d5d",
               "saas": "#7d5ba6"}
POOL_LABELS = {"api": "API (pay per token)", "neocloud": "rented GPUs", "neocloud_on_demand": "rented GPUs, on demand",
               "owned": "owned GPUs", "saas": "SaaS seats", "unserved": "unserved", "(shared)": "(shared capacity)"}
RC = {"svg.fonttype": "none", "font.family": "sans-serif",
      "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
      "axes.formatter.useoffset": False, "axes.formatter.limits": (-30, 30), "axes.unicode_minus": True}


def pool_label(name: str) -> str:
    return POOL_LABELS.get(str(name), str(name))


# ---- formatters ----------------------------------------------------------------------------------------
def money_tick(x: float, cur: str = "") -> str:
    """A money axis's tick label: '$1.5M', '$250k', '$0', '-$50k', '$20', '$0.50', '$0.02'."""
    a = abs(x)
    if a >= 1000 or a == 0:
        return fmt.money(x, cur)
    if abs(a - round(a)) < 1e-9 * max(a, 1):
        return f"{'-' if x < 0 else ''}{fmt.symbol(cur)}{round(a):,}"
    return fmt.price(x, cur)


def _money(cur: str = ""):
    """Tick labels of a money axis (``money_tick``)."""
    return FuncFormatter(lambda x, _pos=None: money_tick(x, cur))


def _tokens(x, _pos=None):
    return fmt.compact(x) if x else "0"


def _share_axis(axis) -> None:
    axis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" %"))


def _money_axis(axis, cur: str, log: bool = False) -> None:
    axis.set_major_formatter(_money(cur))
    if log:
        axis.set_minor_formatter(NullFormatter())


def wrap(text: str, width: int = 24, max_lines: int = 3) -> str:
    """``text`` on lines of at most ``width`` characters, broken after spaces, '_', '/' or '-' (a
    strategy name like commit_120k_month breaks at its underscores); nothing is cut off."""
    tokens = re.findall(r"[^ _/\-]+[ _/\-]?|[ _/\-]", str(text))
    lines: list[str] = [""]
    for t in tokens:
        if len(lines[-1]) + len(t.rstrip()) > width and lines[-1].strip() and len(lines) < max_lines:
            lines.append("")
        lines[-1] += t
    return "\n".join(line.rstrip() for line in lines)


# ---- figures -------------------------------------------------------------------------------------------
@contextmanager
def _style():
    with mpl.rc_context(RC):
        yield


def render(fig: Figure) -> bytes:
    """The figure as SVG (text as text, no date, ids unique to this chart).

    Why the ids are rewritten: a page inlines several charts, and matplotlib names a marker or a clip
    path by a hash of its content, so two charts would share ids. Each id gets a prefix from a digest
    of the chart's own SVG: unique per chart, and the same bytes for the same chart in any process
    (no counter: a second report in one process, as ``tokensim all`` makes, is byte-identical)."""
    buf = io.BytesIO()
    with mpl.rc_context({**RC, "svg.hashsalt": "tokensim"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    tag = "c" + hashlib.sha256(svg).hexdigest()[:8] + "-"
    # attributes only (an id, an href to one, a url() reference), never the charts' text
    ids = set(re.findall(rb'<[^>]*?\sid="([^"]+)"', svg))
    if not ids:
        return svg
    names = b"|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    return re.sub(rb'(\sid="|\shref="#|\sxlink:href="#|url\(#)(' + names + rb')(?=[")])',
                  lambda m: m[1] + tag.encode() + m[2], svg)


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


def _drawn(h) -> bool:
    """Whether a legend handle stands for something on the chart (a line of one point without a
    marker, an empty collection or bar set draws nothing)."""
    if isinstance(h, Line2D):
        n = len(np.atleast_1d(h.get_xdata()))
        marker = h.get_marker()
        return h.get_visible() and (n >= 2 or (n >= 1 and marker not in (None, "None", "", " ")))
    if isinstance(h, Container):
        return len(h) > 0
    if isinstance(h, Collection):
        return h.get_visible() and (len(h.get_paths()) > 0 or len(h.get_offsets()) > 0)
    return bool(getattr(h, "get_visible", lambda: True)())


def _legend(ax, handles=None, labels=None, **kw):
    """A legend of the handles that draw something; none when nothing is left."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    keep = [(h, lb) for h, lb in zip(handles, labels) if _drawn(h) and not str(lb).startswith("_")]
    if keep:
        kw.setdefault("frameon", False)
        kw.setdefault("fontsize", 8)
        return ax.legend([h for h, _ in keep], [lb for _, lb in keep], **kw)
    return None


def align_zeros(ax, ax2, top2: float = 1.0) -> None:
    """Put ``ax2``'s zero at the height of ``ax``'s zero; ``ax2`` runs 0..``top2`` above it (its
    ticks are shown only there)."""
    lo, hi = ax.get_ylim()
    if lo >= 0:
        ax.set_ylim(0, hi)
        ax2.set_ylim(0, top2)
    elif hi <= 0:
        ax.set_ylim(lo, max(-lo * 0.05, 1e-9))
        lo, hi = ax.get_ylim()
    lo, hi = ax.get_ylim()
    if lo < 0 < hi:
        f = -lo / (hi - lo)
        ax2.set_ylim(-f * top2 / (1 - f), top2)
    ax2.set_yticks(np.linspace(0, top2, 6))


# ---- the charts ---------------------------------------------------------------------------------------
def fan_chart(months: pd.DatetimeIndex, q: dict[str, np.ndarray], mean: np.ndarray, currency: str,
              title: str = "Monthly spend") -> bytes:
    """P5–P95 and P25–P75 bands, the median and the mean per month."""
    with _style():
        fig, ax = _fig()
        ax = ax[0, 0]
        x = months.to_pydatetime()
        ax.fill_between(x, q["p5"], q["p95"], color=BLUE, alpha=0.15, label="P5–P95 (9 in 10 futures)")
        ax.fill_between(x, q["p25"], q["p75"], color=BLUE, alpha=0.30, label="P25–P75 (half of futures)")
        ax.plot(x, q["p50"], color=BLUE, lw=2, label="median (P50)")
        ax.plot(x, mean, color="black", lw=1, ls="--", label="mean")
        ax.set_title(title)
        ax.set_ylabel(f"spend per month, {currency}")
        _money_axis(ax.yaxis, currency)
        ax.set_ylim(bottom=0)
        _legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4)  # below the axes: never on the fan
        return render(fig)


def annual_histograms(samples: dict[str, np.ndarray], currency: str, budget: float | None = None,
                      confidence: float = 0.9) -> bytes:
    """One histogram of spend per period (year), bar height the share of simulated futures, with the
    median, the budget at confidence and the budget given."""
    keys = list(samples)
    n = len(keys)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    with _style():
        fig, axes = _fig(w=4.2 * ncols, h=3.4 * nrows, ncols=ncols, nrows=nrows)
        for ax, k in zip(axes.flat, keys):
            x = np.asarray(samples[k], float)
            ax.hist(x, bins=min(40, max(10, x.size // 20)), color=BLUE, alpha=0.75,
                    weights=np.full(x.size, 1.0 / max(x.size, 1)))
            qc = float(np.quantile(x, confidence))
            ax.axvline(float(np.median(x)), color="black", lw=1, ls="--", label="median")
            ax.axvline(qc, color="#3a9d5d", lw=1.5, label=f"P{confidence * 100:g} budget")
            if budget is not None:
                ax.axvline(budget, color="#c23b3b", lw=2,
                           label=f"budget (exceeded in {fmt.pct(float(np.mean(x > budget)))})")
            ax.set_title(str(k))
            _money_axis(ax.xaxis, currency)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.set_xlabel(f"spend in the year, {currency}")
            _share_axis(ax.yaxis)
            ax.set_ylabel("share of simulated futures")
            _legend(ax, fontsize=7)
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        fig.suptitle("Spend per year over the simulated futures", y=1.02)
        fig.tight_layout()
        return render(fig)


def stacked_bars(tables: dict[str, pd.DataFrame], currency: str) -> bytes:
    """Mean spend per period stacked by group, one panel per table (e.g. business unit, pool)."""
    n = len(tables)
    with _style():
        fig, axes = _fig(w=5.4 * n, h=4.0, ncols=n)
        for ax, (title, t) in zip(axes.flat, tables.items()):
            bottom = np.zeros(len(t))
            for i, col in enumerate(t.columns):
                color = POOL_COLORS.get(col, COLORS[i % len(COLORS)])
                ax.bar(t.index.astype(str), t[col].values, bottom=bottom, color=color,
                       label=pool_label(col) if title.endswith("pool") else str(col))
                bottom += t[col].values
            ax.set_title(title)
            _money_axis(ax.yaxis, currency)
            ax.set_ylabel(f"mean spend, {currency}")
            ax.set_ylim(0, max(float(bottom.max()) if len(bottom) else 0.0, 1e-9) * 1.3)
            _legend(ax, fontsize=7, loc="upper left")
        return render(fig)


def strategy_comparison(rows: list[dict], currency: str, chosen: str | None = None,
                        budget_total: float | None = None) -> bytes:
    """Total spend per strategy: P5–P95 whisker, P25–P75 box, median tick, mean dot; the report's
    strategy in blue, the others grey."""
    n = len(rows)
    with _style():
        fig, ax = _fig(w=9.0, h=max(2.2, 0.62 * n + 1.2))
        ax = ax[0, 0]
        for i, r in enumerate(rows[::-1]):
            c = BLUE if r["strategy"] == chosen else "#777777"
            ax.plot([r["p5"], r["p95"]], [i, i], color=c, lw=1.5, label="P5–P95" if i == 0 else "_")
            ax.barh(i, r["p75"] - r["p25"], left=r["p25"], height=0.45, color=c, alpha=0.35,
                    label="P25–P75" if i == 0 else "_")
            ax.plot([r["p50"]], [i], marker="|", ms=14, color=c, lw=0, label="median" if i == 0 else "_")
            ax.plot([r["mean"]], [i], marker="o", ms=6, color=c, lw=0, label="mean" if i == 0 else "_")
        if budget_total is not None:
            ax.axvline(budget_total, color="#c23b3b", lw=1.5, ls="--", label="budget over the horizon")
        ax.set_yticks(range(n), [wrap(r["strategy"], 26) for r in rows[::-1]], fontsize=8)
        _money_axis(ax.xaxis, currency)
        ax.set_xlabel(f"total spend over the horizon, {currency}")
        ax.set_title("Strategies side by side (same simulated futures for each)")
        ax.set_ylim(-0.7, n - 0.3)
        _legend(ax, loc="lower right", fontsize=7)
        return render(fig)


def commit_frontier(options: list[dict], samples: dict[str, np.ndarray], currency: str, threshold: float = 0.8) -> bytes:
    """Left: expected cost vs P95 per option, frontier joined. Right: commitment utilisation per option."""
    with _style():
        fig, axes = _fig(w=12, h=4.6, ncols=2)
        ax = axes[0, 0]
        on = [o for o in options if o["on_frontier"]]
        off = [o for o in options if not o["on_frontier"]]
        if on:
            ax.scatter([o["expected_cost"] for o in on], [o["p95_cost"] for o in on], color="#3a9d5d", zorder=3,
                       label="on the frontier (a sensible choice)")
        if off:
            ax.scatter([o["expected_cost"] for o in off], [o["p95_cost"] for o in off], color="#999999", zorder=3,
                       label="dominated (another is cheaper both ways)")
        xs = [o["expected_cost"] for o in options]
        mid = (min(xs) + max(xs)) / 2
        for o in options:
            right = o["expected_cost"] > mid and len(options) > 1
            ax.annotate(wrap(o["strategy"], 20), (o["expected_cost"], o["p95_cost"]), fontsize=7,
                        xytext=(-5 if right else 5, 4), textcoords="offset points", ha="right" if right else "left")
        front = sorted(on, key=lambda o: o["expected_cost"])
        if len(front) >= 2:
            ax.plot([o["expected_cost"] for o in front], [o["p95_cost"] for o in front], color="#3a9d5d", lw=1.5,
                    label="efficient frontier")
        ax.margins(x=0.12, y=0.15)
        ax.set_xlabel(f"expected total cost, {currency}")
        ax.set_ylabel(f"P95 total cost (a bad case), {currency}")
        _money_axis(ax.xaxis, currency)
        _money_axis(ax.yaxis, currency)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_title("Commit options: mean vs bad case")
        _legend(ax, fontsize=7, loc="upper left")
        ax = axes[0, 1]
        names = [o["strategy"] for o in options if o["strategy"] in samples]
        if names:
            data = [np.asarray(samples[n]) * 100 for n in names]
            try:
                ax.boxplot(data, orientation="horizontal", whis=(5, 95), showfliers=False)
            except TypeError:  # matplotlib < 3.10
                ax.boxplot(data, vert=False, whis=(5, 95), showfliers=False)
            ax.set_yticks(range(1, len(names) + 1), [wrap(n, 22) for n in names], fontsize=7)
            ax.axvline(threshold * 100, color="#c23b3b", lw=1.5, ls="--", label=f"{threshold:.0%} used")
            for i, n in enumerate(names):
                o = next(x for x in options if x["strategy"] == n)
                ax.annotate(f"P(below {threshold:.0%}) = {fmt.pct(o['p_utilization_below_threshold'])}", (2, i + 1.3),
                            fontsize=7)
            ax.set_xlim(0, 105)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p=None: f"{x:.0f} %"))
            ax.set_xlabel("commitment used over the term (box P25–P75, whiskers P5–P95)")
            _legend(ax, fontsize=8, loc="lower right")
        else:
            ax.text(0.5, 0.5, "no option commits anything", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title("Utilisation risk")
        fig.tight_layout()
        return render(fig)


def tco_crossover(curves: pd.DataFrame, crossovers: dict, currency: str, volumes: dict | None = None) -> bytes:
    """Cost per million tokens against annual volume (both axes logarithmic, ticks in plain words),
    crossovers marked."""
    with _style():
        fig, ax = _fig(h=4.6)
        ax = ax[0, 0]
        for pool, g in curves.groupby("pool", sort=False):
            label = {"neocloud": "rented GPUs, reserved", "neocloud_on_demand": "rented GPUs, on demand",
                     "owned": "owned GPUs", "api": "API (pay per token)"}.get(pool, pool)
            ax.plot(g["tokens_per_year"], g["usd_per_mtok"], lw=2, color=POOL_COLORS.get(pool, None), label=label)
        ymin, ymax = curves["usd_per_mtok"].min(), curves["usd_per_mtok"].max()
        for k, v in crossovers.items():
            if v:
                a, _, b = k.partition("_vs_")
                ax.axvline(v, color="#777777", lw=1, ls=":")
                ax.annotate(f"{pool_label(a)} → {pool_label(b)}", (v, ymax), rotation=90, fontsize=7, va="top",
                            ha="right")
        if volumes:
            vals = [v for v in volumes.values() if v > 0]
            if vals:
                ax.axvspan(min(vals), max(vals), color="#ffd54f", alpha=0.3, label="this workload's yearly volume")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(max(ymin * 0.5, 1e-6), ymax * 2)
        ax.xaxis.set_major_formatter(FuncFormatter(_tokens))
        ax.xaxis.set_minor_formatter(NullFormatter())
        _money_axis(ax.yaxis, currency, log=True)
        ax.set_xlabel("tokens per year (logarithmic scale: each gridline ten times the last)")
        ax.set_ylabel(f"cost per million tokens, {currency}")
        ax.set_title("Cost per token vs volume: where renting or owning GPUs beats the API")
        _legend(ax, frameon=True, loc="lower left")
        return render(fig)


def purchase_npv(table: pd.DataFrame, currency: str, best_month: int | None = None) -> bytes:
    """Expected NPV of savings by purchase month with the P10–P90 band; P(regret) on the right axis,
    its 0 at the height of the savings' 0."""
    with _style():
        fig, ax = _fig()
        ax = ax[0, 0]
        x = table["month"].values
        ax.fill_between(x, table["p10"], table["p90"], color="#3a9d5d", alpha=0.2, label="P10–P90 of savings")
        ax.plot(x, table["expected_npv_savings"], color="#3a9d5d", lw=2, marker="o", label="expected NPV of savings")
        ax.axhline(0, color="black", lw=1)
        if best_month is not None:
            ax.axvline(best_month, color="#1f5fa8", ls="--", lw=1, label=f"best month ({best_month})")
        ax.set_xlabel("month the GPUs are ordered (0 = first month of the horizon)")
        ax.set_ylabel(f"NPV of savings, {currency}")
        _money_axis(ax.yaxis, currency)
        ax2 = ax.twinx()
        ax2.spines["top"].set_visible(False)
        ax2.plot(x, table["p_regret"], color="#c23b3b", lw=1.5, ls="-.", label="P(regret), right axis")
        align_zeros(ax, ax2, 1.0)
        _share_axis(ax2.yaxis)
        ax2.set_ylabel("P(regret)", color="#c23b3b")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        _legend(ax, h1 + h2, l1 + l2, loc="upper right")
        ax.set_title("When to buy GPUs: NPV of savings against buying none")
        return render(fig)


def tornado(df: pd.DataFrame, base: float, metric: str, currency: str, top: int = 12,
            names: dict[str, str] | None = None) -> bytes:
    """Horizontal bars from the metric at each input's P10 to its P90, largest swing on top; inputs
    by their labels (``names``: key path -> label)."""
    d = df.head(top).iloc[::-1]
    names = names or {}
    labels = [wrap(names.get(s, s), 46, 3) for s in d["input"]]
    lines = sum(lb.count("\n") + 1 for lb in labels)
    with _style():
        fig, ax = _fig(w=10.0, h=max(2.5, 0.3 * lines + 0.25 * len(d) + 1.3))
        ax = ax[0, 0]
        y = np.arange(len(d))
        lo = d["metric_at_low"].values - base
        hi = d["metric_at_high"].values - base
        ax.barh(y, lo, left=base, color="#1f5fa8", label="input at its P10")
        ax.barh(y, hi, left=base, color="#e07b24", label="input at its P90")
        ax.axvline(base, color="black", lw=1)
        ax.set_yticks(y, labels, fontsize=8)
        _money_axis(ax.xaxis, currency)
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.set_xlabel(f"{metric}, {currency} (all other inputs at their means; black line: all at their means)")
        ax.set_title("What drives the forecast: each input swung from its P10 to its P90")
        _legend(ax, loc="lower right")
        return render(fig)


def value_chart(df: pd.DataFrame, currency: str, unit_of: dict[str, str] | None = None) -> bytes:
    """Per workload, cost per outcome by strategy (P5–P95 whiskers) on the left and net value by
    strategy on the right."""
    wls = list(dict.fromkeys(df["workload"]))
    strats = list(dict.fromkeys(df["strategy"]))
    n = len(wls)
    with _style():
        fig, axes = _fig(w=11.0, h=max(2.4, 0.42 * len(strats) + 1.4) * n, ncols=2, nrows=n)
        for k, w in enumerate(wls):
            g = df[df["workload"] == w].set_index("strategy").reindex(strats)
            y = np.arange(len(strats))[::-1]
            a, b = axes[k, 0], axes[k, 1]
            cpo = g["cost_per_outcome"].to_numpy(float)
            lo = cpo - g.get("cost_per_outcome_p5", g["cost_per_outcome"]).to_numpy(float)
            hi = g.get("cost_per_outcome_p95", g["cost_per_outcome"]).to_numpy(float) - cpo
            a.barh(y, cpo, color=BLUE, alpha=0.8)
            a.errorbar(cpo, y, xerr=np.vstack([np.clip(lo, 0, None), np.clip(hi, 0, None)]), fmt="none",
                       ecolor="black", lw=1, capsize=3)
            a.set_yticks(y, [wrap(s, 22) for s in strats], fontsize=7)
            _money_axis(a.xaxis, currency)
            u = (unit_of or {}).get(w) or "outcome"
            a.set_title(f"{w}: cost per {u} (bar: expected, line: P5–P95)", fontsize=10)
            a.set_xlim(left=0)
            nv = g["net_value"].to_numpy(float)
            b.barh(y, nv, color=["#3a9d5d" if v >= 0 else "#c23b3b" for v in nv], alpha=0.85)
            b.axvline(0, color="black", lw=1)
            b.set_yticks(y, [wrap(s, 22) for s in strats], fontsize=7)
            _money_axis(b.xaxis, currency)
            b.xaxis.set_major_locator(MaxNLocator(5))
            b.set_title(f"{w}: net value over the horizon (value − cost)", fontsize=10)
        fig.tight_layout()
        return render(fig)


def factory_chart(df: pd.DataFrame, currency: str) -> bytes:
    """GPU pools month by month: tokens per MWh (left) and cost per million tokens (right), one line
    per strategy and pool."""
    with _style():
        fig, axes = _fig(w=11.0, h=3.8, ncols=2)
        a, b = axes[0, 0], axes[0, 1]
        for i, ((s, p), g) in enumerate(df.groupby(["strategy", "pool"], sort=False)):
            x = pd.DatetimeIndex(pd.to_datetime(g["month"].astype(str))).to_pydatetime()
            c = COLORS[i % len(COLORS)]
            lab = f"{s}: {pool_label(p)}"
            a.plot(x, g["tokens_per_mwh"].to_numpy(float), color=c, lw=1.8, label=lab)
            b.plot(x, g["cost_per_mtok"].to_numpy(float), color=c, lw=1.8, label=lab)
        a.yaxis.set_major_formatter(FuncFormatter(_tokens))
        a.set_ylabel("tokens per MWh")
        a.set_title("Tokens per megawatt-hour", fontsize=10)
        _money_axis(b.yaxis, currency)
        b.set_ylabel(f"cost per million tokens, {currency}")
        b.set_title("Cost per million tokens", fontsize=10)
        a.set_ylim(bottom=0)
        b.set_ylim(bottom=0)
        _legend(a, fontsize=7, loc="best")
        fig.autofmt_xdate()
        fig.tight_layout()
        return render(fig)


def backtest_bands(days: pd.DataFrame, unit: str = "requests") -> bytes:
    """Each series' held-out days: the P5–P95 and P25–P75 bands and the median of the forecast made
    at that day's origin, and the actual (one panel per series; origins one after another)."""
    series = list(dict.fromkeys(days["series"]))
    with _style():
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
            _legend(ax, fontsize=8, loc="best", frameon=True)
        fig.tight_layout()
        return render(fig)


def pit_histogram(pit: np.ndarray, bins: int = 10) -> bytes:
    """Histogram of probability-integral-transform values with the flat line a calibrated forecast
    would give (and its ±2 binomial standard deviations)."""
    return pit_counts_histogram(np.histogram(pit, bins=bins, range=(0.0, 1.0))[0])


def pit_counts_histogram(counts) -> bytes:
    """``pit_histogram`` of PIT values already counted into equal bins over 0..1 (a backtest's
    ``pit``)."""
    with _style():
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
        _legend(ax, fontsize=8, frameon=True)
        return render(fig)


def runway_chart(past: pd.DataFrame, forecast: pd.DataFrame, budget: float, currency: str,
                 runout: dict | None = None) -> bytes:
    """Cumulative spend of the year: the actual days (days filled at the burn rate dotted), then the
    forecast's P10–P90 band and median from the forecast's first day, the budget as a horizontal
    line and the runout dates (P10/P50/P90) that fall within the forecast."""
    with _style():
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
            ax.fill_between(x0, cols["p10"], cols["p90"], color=BLUE, alpha=0.2,
                            label="forecast P10–P90 (8 in 10 futures)")
            ax.plot(x0, cols["p50"], color=BLUE, lw=2, label="forecast median (P50)")
        ax.axhline(budget, color="#c23b3b", lw=2, label=f"budget {fmt.money(budget, currency, exact=True)}")
        marks = [(k, v) for k, v in (runout or {}).items() if v and v != "already exceeded"]
        for k, v in marks:
            ax.axvline(pd.Timestamp(v).to_pydatetime(), color="#c23b3b", lw=0.8, ls="--")
            ax.annotate(f"runs out {k.upper()}", (pd.Timestamp(v).to_pydatetime(), budget), rotation=90, fontsize=7,
                        va="top", ha="right", xytext=(-2, -4), textcoords="offset points")
        ax.set_ylabel(f"spent in the year so far, {currency}")
        _money_axis(ax.yaxis, currency)
        top = max([budget] + ([float(forecast["p90"].max())] if len(forecast) else [])
                  + ([float(past["cumulative"].max())] if len(past) else []))
        ax.set_ylim(0, top * 1.08 if top > 0 else 1.0)
        ax.set_title("Budget against actuals: spend to date, then the forecast")
        _legend(ax, loc="lower right")  # below the budget line and right of the actuals
        fig.autofmt_xdate()
        return render(fig)


def sizing_term(table: pd.DataFrame, target: float, unit: str = "units") -> bytes:
    """Over a contract term, by unit count: the expected cost per month (pool only, and with spill to
    pay-go) on the left; P(some month misses an objective) with the target on the right."""
    with _style():
        fig, axes = _fig(10.0, 3.8, 2, 1)
        a, b = axes[0, 0], axes[0, 1]
        u = table["units"].to_numpy(float)
        pool = table["pool only: cost per month (USD)"].to_numpy(float)
        a.plot(u, pool, color="#1f5fa8", lw=2, marker="o", ms=3, label="units alone")
        hyb = table["with spill: expected cost per month (USD)"].to_numpy(float)
        if np.isfinite(hyb).any():
            a.plot(u, hyb, color="#e07b24", lw=2, marker="s", ms=3, label="units + pay-go spill (expected)")
        a.set_xlabel(f"{unit} bought")
        a.set_ylabel("cost per month, USD")
        _money_axis(a.yaxis, "USD")
        a.set_ylim(bottom=0)
        _legend(a)
        a.set_title("Expected cost over the term")
        b.plot(u, table["pool only: P(breach)"].to_numpy(float), color="#1f5fa8", lw=2, marker="o", ms=3,
               label="units alone")
        hb = table["with spill: P(breach)"].to_numpy(float)
        if np.isfinite(hb).any():
            b.plot(u, hb, color="#e07b24", lw=2, marker="s", ms=3, label="units + pay-go spill")
        b.axhline(target, color="#c23b3b", ls="--", lw=1, label=f"target {fmt.pct(target)}")
        b.set_ylim(0, 1)
        _share_axis(b.yaxis)
        b.set_xlabel(f"{unit} bought")
        b.set_ylabel("P(a month misses an objective)")
        _legend(b)
        b.set_title("Risk of missing the objectives")
        return render(fig)
