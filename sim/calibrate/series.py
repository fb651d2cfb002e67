"""Complete daily series per group from a ``Usage``, with collection gaps as missing days.

A day's total is known when its periods cover it. Periods of an hour or less that cover at least
half a day (``MIN_COVER``) are completed by the group's hour-of-day profile (the share of a
complete day's volume in the hours that were seen); a day covered less is missing (NaN), never 0.
Periods longer than a day are spread evenly over their days. A request-level file covers every
day from its first to its last request (a day without a request had none); its first and last
calendar days are partial (the file does not say when collection stopped) and are missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .usage import EVERY, Usage, UsageError, problem

MIN_COVER = 0.5
NO_GROUP = "(none)"  # the group of rows without a value of the grouping key
DAY = pd.Timedelta(days=1)


@dataclass
class DailySeries:
    """One group's daily totals of one quantity: ``values`` indexed by day (NaN: missing)."""

    group: str
    quantity: str
    values: pd.Series
    imputed: pd.Series  # True where the day was completed from its covered hours
    hour_profile: np.ndarray  # (24,) shares of a day's volume by UTC hour (uniform when unknown)
    unit: float = 1.0  # the quantity per unit of ``values`` (tokens per modelled request, with --quantity tokens)

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
    if not group_by:
        groups = [("all", p)]
    else:  # rows keyed EVERY (an empty bucket: zero use) belong to every group
        star = p[group_by] == EVERY
        groups = [(str(k) or NO_GROUP, pd.concat([g, p[star]])) for k, g in p[~star].groupby(group_by, sort=True)]
    span = (min(a for a, _ in u.spans), max(b for _, b in u.spans)) if u.spans else None
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
        if span is not None:  # request rows: every hour inside the export's span was seen (no row: no
            # request); the first and last day are covered only in part, so they are missing
            first, last = span
            inside = (idx >= first) & (idx + DAY <= last)
            vals = vals.where(~inside, vals.fillna(0.0))
            cover = pd.Series(np.where(inside, 1.0, 0.0), index=idx)
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
