"""One group of an export from daily series to a calibrated scenario (what ``tokensim calibrate`` runs).

``volume_series`` picks the daily volume (requests where the export counts them, else tokens, in
units large enough that the engine's count noise is negligible), ``calibrate_group`` fits one
series and builds its scenario (demand fit, request shape, token lengths, price), and
``actuals_table`` is every group's daily totals for budget-vs-actuals.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..catalog.prices import PriceBook
from .fit import DemandFit, fit_series
from .lengths import fit_lengths
from .scenario_out import PLACEHOLDER, growth_bound, combined_scenario, forecast_scenario, workload_names
from .series import NO_GROUP, DailySeries, daily
from .shape import request_shape
from .usage import QUANTITIES, Usage

TOKEN_UNIT = 1000.0  # with tokens as the volume, one modelled request is at least 1,000 tokens of the group's mix


def volume_series(u: Usage, group_by: str | None, quantity: str = "auto") -> list[DailySeries]:
    """Daily series of the volume to fit (``auto``: requests where the export counts them, else
    tokens: Anthropic reports and FOCUS bills do not count requests)."""
    q = quantity
    if q == "auto":
        q = "requests" if u.periods["requests"].notna().any() else "tokens"
    series = daily(u, group_by, q)
    if q == "tokens":  # a modelled request is s.unit tokens: at least TOKEN_UNIT, and ~10⁵ requests a day at
        for s in series:  # the median, so the engine's Poisson count noise stays below 0.3 %
            s.unit = max(TOKEN_UNIT, float(s.values.dropna().median()) / 1e5)
            s.values = s.values / s.unit
    return series


def rows_of(frame: pd.DataFrame, group_by: str | None, group: str) -> pd.DataFrame:
    """The rows of ``frame`` (periods or the length sample) that belong to ``group``."""
    if group_by is None:
        return frame
    return frame[frame[group_by].astype(str).replace("", NO_GROUP) == group]


@dataclass
class GroupCalibration:
    """A fitted group: its scenario (a dict for YAML), what the fit reports, and its warnings."""

    group: str
    scenario: dict
    summary: dict
    warnings: list[str] = field(default_factory=list)
    fit: DemandFit | None = None
    billed: float | None = None  # cost in the training window, and as the scenario prices it
    modelled: float | None = None
    list_rates: dict | None = None  # its catalog model's list rates, when one prices it


STALE_DAYS = 14


def training_values(s: DailySeries, until: _dt.date | None) -> pd.Series:
    """The days of ``s`` the fit may see."""
    return s.values if until is None else s.values[s.values.index.date <= until]


def last_training_day(series: list[DailySeries], until: _dt.date | None) -> _dt.date | None:
    """The latest day of use any series may fit on (None when no series has one)."""
    return max((v[v > 0].index[-1].date() for v in (training_values(s, until) for s in series) if (v > 0).any()),
               default=None)


def forecast_start(series: list[DailySeries], until: _dt.date | None) -> _dt.date | None:
    """The first day of the month after the latest last training day of any series (a common horizon;
    None when no series has a day of use)."""
    last = last_training_day(series, until)
    if last is None:
        return None
    return _dt.date(last.year + (last.month // 12), last.month % 12 + 1, 1)


def calibrate_group(u: Usage, s: DailySeries, group_by: str | None, *, until: _dt.date | None = None,
                    start: _dt.date | None = None, next_day: bool = False, months: int = 1, paths: int = 2000,
                    name: str | None = None, export_last: _dt.date | None = None,
                    book: PriceBook | None = None) -> GroupCalibration:
    """Fit ``s`` (on days up to ``until``) and write its scenario from ``start`` (default: the month
    after the last training day), with the days between carried by the AR(1) state. With
    ``next_day`` (traces without calendar dates) ``start`` is taken as the day after the last
    training day, its weekday included: the weekly profile is turned so the week goes on from the
    training days. ``name`` is the workload's (default ``safe_name`` of the group). A group whose last
    day of use is more than ``STALE_DAYS`` before ``export_last`` (the export's last training day) is
    warned about. Raises ``FitError``."""
    fit = fit_series(training_values(s, until), s.group, s.quantity)
    warnings = list(fit.warnings)
    last = fit.last_day.date()
    if start is None:
        start = _dt.date(last.year + (last.month // 12), last.month % 12 + 1, 1)
    if next_day:
        gap = 0
        # the day after training becomes start: weekday k of the data is weekday k + shift of the forecast
        shift = (start.weekday() - (last + _dt.timedelta(days=1)).weekday()) % 7
        fit.weekday = np.roll(fit.weekday, shift)
    else:
        gap = (start - last).days - 1
    ahead = gap + months * 31
    g = float(np.mean(fit.trend))
    b = growth_bound(gap, months * 31)
    gc = float(np.clip(g, -b, b))
    if np.ptp(fit.trend) > 0 and ahead > 4 * fit.days and abs(gc) * ahead > 0.5:
        carried = f"{gc:+.4f} a day (the bound for that span)" if gc != g else "it"
        warnings.append(f"{s.group}: a trend of {g:+.4f} a day fitted on {fit.days} days is carried {ahead} days "
                        f"ahead as {carried}: ×{math.exp(gc * ahead):.3g} at its mean; forecast fewer --months, or "
                        "give more history")
    if export_last is not None and (export_last - last).days > STALE_DAYS:
        warnings.append(f"{s.group}: no use in the export's last {(export_last - last).days} days (its last day is "
                        f"{last}, the export's {export_last}); it is forecast as if it went on from then: leave it "
                        "out (--group-by, or edit the scenario) if it has stopped")
    window = rows_of(u.periods, group_by, s.group)
    window = window[window["start"].dt.date <= last]
    book = book or PriceBook(start)  # one price book for the group's lookups (the caller may share one)
    shape = request_shape(window, start, book)
    if shape.unknown_models:
        warnings.append(f"{s.group}: the catalog does not know {', '.join(shape.unknown_models)}; requests are "
                        f"priced at a placeholder ({PLACEHOLDER}, 1 per million tokens): set the workload's "
                        "models.api, or prices.overrides")
    elif shape.model_ref is None and shape.card is None:
        warnings.append(f"{s.group}: no model in the export to price it; requests are priced at a placeholder "
                        f"({PLACEHOLDER}, 1 per million tokens): set the workload's models.api")
    inp, outp = shape.input_per_request, shape.output_per_request
    if s.quantity == "tokens":  # a modelled request is s.unit tokens in the group's input/output mix
        tok_in = float(np.nansum([window[c].sum() for c in ("input_tokens", "cached_tokens", "cache_write_tokens")]))
        tok_out = float(np.nansum(window["output_tokens"]))
        inp, outp = s.unit * tok_in / (tok_in + tok_out), s.unit * tok_out / (tok_in + tok_out)
        shape = request_shape(window.assign(requests=(tok_in + tok_out) / s.unit / max(1, len(window))), start, book)
    elif inp is None:
        warnings.append(f"{s.group}: the export has no token counts per request; 1 input and 1 output token "
                        "per request assumed (a volume-only forecast)")
    lens = {}
    if u.lengths is not None and s.quantity == "requests":  # per-request lengths of this group's sample
        sample = rows_of(u.lengths, group_by, s.group)
        lens = {k: fit_lengths(sample[k].to_numpy()) for k in ("input_tokens", "output_tokens")}
    if shape.discount is not None and shape.discount < 0:
        warnings.append(f"{s.group}: billed {-shape.discount:.1%} above the catalog's list price for these tokens "
                        "(a premium tier, fees, or tokens the export does not show); not applied: set "
                        "prices.overrides to price it")
    sc = forecast_scenario(fit, start=f"{start.year:04d}-{start.month:02d}", months=months, gap=gap,
                           hour_profile=s.hour_profile, paths=paths, name=name or workload_names([s.group])[s.group],
                           model=shape.model_ref, input_tokens=inp, output_tokens=outp, discount=shape.discount,
                           cached_share=shape.cached_share, input_spec=_spec(lens.get("input_tokens")),
                           output_spec=_spec(lens.get("output_tokens")), card=shape.card,
                           retry=shape.retry if s.quantity == "requests" else None,
                           rate_factor=shape.calls_per_attempt if s.quantity == "requests" else 1.0)
    sc["description"] = (f"Calibrated by tokensim calibrate from {', '.join(u.files)} ({', '.join(u.formats)}): "
                         f"{s.quantity} per day of {s.group}, fitted on {fit.days} days "
                         f"{fit.first_day.date()}..{last} (sim.calibrate.fit); every uncertain number is "
                         "its posterior (41 quantiles), correlations from the same draws.")
    summary = fit.summary() | {"requests": shape.summary(),
                               "lengths": {k: {x: y for x, y in f.items() if not x.startswith("spec")}
                                           for k, f in lens.items()}}
    return GroupCalibration(s.group, sc, summary, warnings, fit, shape.billed, shape.modelled_cost, shape.list_rates)


MIN_COMMON_DAYS = 7


def innovation_correlation(fits: list[DemandFit]) -> dict:
    """The correlation of the series' daily innovations, as one number for every pair (the
    equicorrelated model ``combined_scenario`` writes): the mean of the pairwise correlations over
    their common days, weighted by those days, at least 0 (a shared factor cannot be negative).
    Pairs with fewer than ``MIN_COMMON_DAYS`` common days are left out."""
    pairs = []
    for i in range(len(fits)):
        for j in range(i + 1, len(fits)):
            a, b = fits[i].innovations.align(fits[j].innovations, join="inner")
            if a.size >= MIN_COMMON_DAYS and a.std() > 0 and b.std() > 0:
                pairs.append((fits[i].group, fits[j].group, float(np.corrcoef(a, b)[0, 1]), int(a.size)))
    if not pairs:
        return {"correlation": 0.0, "pairs": []}
    r = np.array([p[2] for p in pairs])
    n = np.array([p[3] for p in pairs], float)
    rho = float(np.clip(np.sum(r * n) / n.sum(), 0.0, 0.99))
    return {"correlation": rho, "pairs": [{"between": [a, b], "rho": x, "days": d} for a, b, x, d in pairs]}


def combine(cals: list[GroupCalibration], source: str = "the exports") -> tuple[dict, dict]:
    """One scenario for every calibrated group (``combined_scenario``), and the cross-series
    correlation it carries (``innovation_correlation``); ``source`` names the exports in its
    description. One group: its own scenario as it is."""
    if len(cals) == 1:
        return cals[0].scenario, {"correlation": None, "pairs": []}
    cross = innovation_correlation([c.fit for c in cals])
    sc = combined_scenario([c.scenario for c in cals], cross["correlation"], name=f"calibrated {len(cals)} series",
                           rates=[c.list_rates for c in cals])
    sc["description"] = (f"Calibrated by tokensim calibrate from {source}: {len(cals)} series, each a workload "
                         "with its own business unit (weekly and hourly profile) and day shock, their daily "
                         f"innovations correlated {cross['correlation']:.3f} (the mean over pairs of series); every "
                         "uncertain number is its posterior (41 quantiles), correlations from the same draws.")
    return sc, cross


def _spec(fitted: dict | None) -> dict | None:
    """The length spec a fit chose (lognormal or empirical), or None (too few requests: the mean)."""
    return fitted["spec"] if fitted and fitted["choice"] in ("lognormal", "empirical") else None


def actuals_table(u: Usage, group_by: str | None, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Every group's daily totals of each quantity the export carries (missing days empty), with the
    workload name the group has in its calibrated scenario (``names``; default ``workload_names``)."""
    cols: dict[str, dict] = {}
    for q in QUANTITIES:
        if u.periods[q].notna().any():
            for s in daily(u, group_by, q):
                cols.setdefault(s.group, {})[q] = s.values
    frames = [pd.DataFrame(v).rename_axis("day").reset_index().assign(group=g) for g, v in cols.items()]
    act = pd.concat(frames, ignore_index=True)
    act["day"] = pd.to_datetime(act["day"]).dt.date
    names = {**workload_names(list(cols)), **(names or {})}
    act["workload"] = act["group"].map(names)
    return act[["group", "workload", "day"] + [q for q in QUANTITIES if q in act.columns]]
