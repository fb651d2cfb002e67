"""Complete daily series per group from a ``Usage``, with collection gaps as missing days.

A day's total is known when its periods cover it. Periods of an hour or less that cover at least
half a day (``MIN_COVER``) are completed by the group's hour-of-day profile (the share of a
complete day's volume in the hours that were seen); a day covered less is missing (NaN), never 0.
Periods longer than a day are spread evenly over their days. Request-level files cover only
from their first to their last request, so partial first and last days are missing too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .usage import Usage, UsageError, problem

MIN_COVER = 0.5
DAY = pd.Timedelta(days=1)


@dataclass
class DailySeries:
    """One group's daily totals of one quantity: ``values`` indexed by day (NaN: missing)."""

    group: str
    quantity: str
    values: pd.Series
    imputed: pd.Series  # True where the day was completed from its covered hours
    hour_profile: np.ndarray  # (24,) shares of a day's volume by UTC hour (uniform when unknown)

    @property
    def known(self) -> pd.Series:
        return self.values.dropna()


def _hour_profile(p: pd.DataFrame, q: str) -> np.ndarray:
    short = p[(p["end"] - p["start"]) <= pd.Timedelta(hours=1)]
    if short.empty:
        return np.full(24, 1 / 24)
    by = short.groupby(short["start"].dt.hour)[q].sum()
    prof = by.reindex(range(24), fill_value=0.0).to_numpy(float)
    n_days = short["start"].dt.floor("D").nunique()
    if prof.sum() <= 0 or n_days < 1:
        return np.full(24, 1 / 24)
    return prof / prof.sum()


def daily(u: Usage, group_by: str | None, quantity: str = "requests") -> list[DailySeries]:
    """Daily series of ``quantity`` per value of ``group_by`` (None: one series of everything);
    ``tokens`` is every token column together (input, cached, cache-write, output)."""
    p = u.periods
    if quantity == "tokens":
        p = p.assign(tokens=p[["input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens"]].sum(
            axis=1, min_count=1))
    if p[quantity].notna().sum() == 0:
        raise UsageError([problem(", ".join(u.files), f"the export has no {quantity} to fit")])
    if group_by and group_by not in p.columns:
        raise UsageError([problem(", ".join(u.files), f"cannot group by {group_by!r}")])
    groups = [("all", p)] if not group_by else [(str(k) or "(none)", g) for k, g in p.groupby(group_by, sort=True)]
    span = p.attrs.get("span")
    out = []
    for name, g in groups:
        g = g[g[quantity].notna()]
        if g.empty:
            continue
        dur = (g["end"] - g["start"]).dt.total_seconds().to_numpy()
        long = dur > 86400
        day = g["start"].dt.floor("D")
        vals = pd.Series(g[quantity].to_numpy(float)[~long], index=day[~long]).groupby(level=0).sum()
        cover = pd.Series(np.minimum(dur[~long], 86400.0), index=day[~long]).groupby(level=0).sum() / 86400.0
        prof = _hour_profile(g, quantity)
        seen = pd.DataFrame({"day": day[~long].to_numpy(), "hour": g["start"].dt.hour.to_numpy()[~long]})
        share_seen = seen.drop_duplicates().groupby("day")["hour"].apply(lambda h: prof[h.to_numpy()].sum())
        for i in np.flatnonzero(long):  # spread periods longer than a day over their days
            d0 = g["start"].iloc[i].floor("D")
            days = pd.date_range(d0, g["end"].iloc[i] - pd.Timedelta(seconds=1), freq="D")
            for d in days:
                vals[d] = vals.get(d, 0.0) + g[quantity].iloc[i] / len(days)
                cover[d] = 1.0
                share_seen[d] = 1.0
        idx = pd.date_range(vals.index.min(), vals.index.max(), freq="D")
        vals, cover = vals.reindex(idx), cover.reindex(idx).fillna(0.0)
        share_seen = share_seen.reindex(idx).fillna(0.0)
        if span is not None:  # request rows: the first and last day are covered only in part
            first, last = span
            partial = (idx < first.floor("D") + (DAY if first != first.floor("D") else pd.Timedelta(0))) | (
                idx + DAY > last)
            cover[partial] = np.minimum(cover[partial], 0.0)
        full = cover >= 1.0 - 1e-9
        ok = cover >= MIN_COVER
        imputed = ok & ~full
        est = vals.copy()
        est[imputed] = vals[imputed] / share_seen[imputed].where(share_seen[imputed] > 0)
        est[~ok] = np.nan
        out.append(DailySeries(name, quantity, est, imputed, prof))
    if not out:
        raise UsageError([problem(", ".join(u.files), f"no rows with {quantity}")])
    return out
