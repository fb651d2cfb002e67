"""One group of an export from daily series to a calibrated scenario (what ``tokensim calibrate`` runs).

``volume_series`` picks the daily volume (requests where the export counts them, else tokens, in
units large enough that the engine's count noise is negligible), ``calibrate_group`` fits one
series and builds its scenario (demand fit, request shape, token lengths, price), and
``actuals_table`` is every group's daily totals for budget-vs-actuals.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .fit import fit_series
from .lengths import fit_lengths
from .scenario_out import PLACEHOLDER, forecast_scenario, safe_name
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


def calibrate_group(u: Usage, s: DailySeries, group_by: str | None, *, until: _dt.date | None = None,
                    start: _dt.date | None = None, months: int = 1, paths: int = 2000) -> GroupCalibration:
    """Fit ``s`` (on days up to ``until``) and write its scenario from ``start`` (default: the month
    after the last training day; a given start is taken as the day after it). Raises ``FitError``."""
    v = s.values if until is None else s.values[s.values.index.date <= until]
    fit = fit_series(v, s.group, s.quantity)
    warnings = list(fit.warnings)
    last = fit.last_day.date()
    if start is None:
        start = _dt.date(last.year + (last.month // 12), last.month % 12 + 1, 1)
        gap = (start - last).days - 1
    else:
        gap = 0
    window = rows_of(u.periods, group_by, s.group)
    window = window[window["start"].dt.date <= last]
    shape = request_shape(window, start)
    if shape.model_ref is None:
        warnings.append(f"{s.group}: no catalog model to price it; requests are priced at a placeholder "
                        f"({PLACEHOLDER}, 1 per million tokens): set workloads[0].models.api")
    inp, outp = shape.input_per_request, shape.output_per_request
    if s.quantity == "tokens":  # a modelled request is s.unit tokens in the group's input/output mix
        tok_in = float(np.nansum([window[c].sum() for c in ("input_tokens", "cached_tokens", "cache_write_tokens")]))
        tok_out = float(np.nansum(window["output_tokens"]))
        inp, outp = s.unit * tok_in / (tok_in + tok_out), s.unit * tok_out / (tok_in + tok_out)
        shape = request_shape(window.assign(requests=(tok_in + tok_out) / s.unit / max(1, len(window))), start)
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
                           hour_profile=s.hour_profile, paths=paths, name=safe_name(s.group),
                           model=shape.model_ref, input_tokens=inp, output_tokens=outp, discount=shape.discount,
                           cached_share=shape.cached_share, input_spec=_spec(lens.get("input_tokens")),
                           output_spec=_spec(lens.get("output_tokens")))
    sc["description"] = (f"Calibrated by tokensim calibrate from {', '.join(u.files)} ({', '.join(u.formats)}): "
                         f"{s.quantity} per day of {s.group}, fitted on {fit.days} days "
                         f"{fit.first_day.date()}..{last} (sim.calibrate.fit); every uncertain number is "
                         "its posterior (41 quantiles), correlations from the same draws.")
    summary = fit.summary() | {"requests": shape.summary(),
                               "lengths": {k: {x: y for x, y in f.items() if not x.startswith("spec")}
                                           for k, f in lens.items()}}
    return GroupCalibration(s.group, sc, summary, warnings)


def _spec(fitted: dict | None) -> dict | None:
    """The length spec a fit chose (lognormal or empirical), or None (too few requests: the mean)."""
    return fitted["spec"] if fitted and fitted["choice"] in ("lognormal", "empirical") else None


def actuals_table(u: Usage, group_by: str | None) -> pd.DataFrame:
    """Every group's daily totals of each quantity the export carries (missing days empty), with the
    workload name the group has in its calibrated scenario."""
    cols: dict[str, dict] = {}
    for q in QUANTITIES:
        if u.periods[q].notna().any():
            for s in daily(u, group_by, q):
                cols.setdefault(s.group, {})[q] = s.values
    frames = [pd.DataFrame(v).rename_axis("day").reset_index().assign(group=g) for g, v in cols.items()]
    act = pd.concat(frames, ignore_index=True)
    act["day"] = pd.to_datetime(act["day"]).dt.date
    act["workload"] = act["group"].map(safe_name)
    return act[["group", "workload", "day"] + [q for q in QUANTITIES if q in act.columns]]
