"""Budget against actuals: year-to-date spend, burn rate, the rest of the year and the runout date.

Actuals are the daily ``cost`` that ``tokensim calibrate`` writes (``*.actuals.csv``: group,
workload, day, …, cost), summed over the groups whose workload is in the results (all groups when
none is); missing days stay missing (the burn rate is the mean of known days).
The year is the calendar year of the forecast's first month. Year to date is the actual cost of
that year's days before the forecast starts, from the first actual day on (an export does not hold
what came before it: said in ``notes``); missing days, and the days between the last actual and the
forecast's start, are filled at the burn rate, the mean of the last 30 known days (each said in
``notes``).
The rest of the year is each path's forecast spend of the year's remaining months; a month's
spend is spread evenly over its days, so the runout date is the first day on which year-to-date
plus the path's spend so far exceeds the budget. Quantiles of dates are over paths; a path that
does not run out within the year counts as running out after it.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd
import xarray as xr

from .common import AnalysisError, pick_strategy

BURN_DAYS = 30
QS = (0.1, 0.5, 0.9)


def read_actuals(path: str, workloads: list[str] | None = None) -> pd.Series:
    """Daily actual cost (day → cost) from a calibrate actuals CSV; refused without a cost column.
    With ``workloads`` (the results' workloads) and a ``workload`` column, only those rows count
    when any match: a scenario calibrated from one group is compared with that group's bill."""
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"{path}: cannot read the actuals ({exc})") from None
    missing = [c for c in ("day", "cost") if c not in df.columns]
    if missing:
        raise AnalysisError(f"{path}: the actuals have no {' or '.join(missing)} column (they come from "
                            "tokensim calibrate of an export with cost: OpenAI or Anthropic cost reports, FOCUS, "
                            "a generic period file with cost)")
    day = pd.to_datetime(df["day"], errors="coerce")
    if day.isna().any():
        i = int(np.flatnonzero(day.isna())[0])
        raise AnalysisError(f"{path}:{i + 2}: day: not a date: {df['day'].iloc[i]!r}")
    cost = pd.to_numeric(df["cost"], errors="coerce")
    bad = df["cost"].notna() & cost.isna() | (cost < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnalysisError(f"{path}:{i + 2}: cost: expected an amount >= 0, got {df['cost'].iloc[i]!r}")
    keep = np.ones(len(df), bool)
    if workloads and "workload" in df.columns and df["workload"].isin(workloads).any():
        keep = df["workload"].isin(workloads).to_numpy()
    group = df["group"].astype(str) if "group" in df.columns else pd.Series("all", index=df.index)
    # a group's row with no cost is a missing day, and the day's total is then unknown (NaN); a day
    # before a group's first row (or after its last) is one on which that group had no use
    t = pd.DataFrame({"day": day[keep], "group": group[keep], "cost": cost[keep]})
    out = t.groupby("day")["cost"].apply(lambda c: c.sum() if c.notna().all() else np.nan)
    if out.notna().sum() == 0:
        raise AnalysisError(f"{path}: no day with a cost")
    return out


def _year_spend(ds: xr.Dataset, strategy: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The forecast's months of its first calendar year and each path's spend in them (path, month)."""
    months = pd.DatetimeIndex(ds["month"].values)
    sp = ds["spend"].sel(strategy=strategy).sum(["pool", "workload"], skipna=False).load()  # (path, month)
    in_year = months.year == months[0].year
    spend = np.asarray(sp.values[:, in_year], float)
    if not np.isfinite(spend).all():
        raise AnalysisError("the results' spend is not finite")
    return months[in_year], spend


def _cumulative(m_year: pd.DatetimeIndex, spend: np.ndarray, ytd: float) -> tuple[pd.Timestamp, np.ndarray]:
    """(the forecast's first day, year-to-date plus each path's spend so far, by day (path, day)): a
    month's spend spread evenly over its days."""
    days_in = np.array([pd.Period(m, "M").days_in_month for m in m_year])
    daily = np.repeat(spend / days_in[None, :], days_in, axis=1)  # (path, day) even within months
    return pd.Timestamp(m_year[0]), ytd + np.cumsum(daily, axis=1)


def runway(ds: xr.Dataset, actuals: pd.Series, budget: float, strategy: str | None = None) -> dict:
    """The runway of ``budget`` for the forecast's first calendar year (see the module docstring)."""
    if not np.isfinite(budget) or budget < 0:
        raise AnalysisError(f"budget must be a finite amount >= 0, got {budget}")
    strategy = pick_strategy(ds, strategy)
    m_year, spend = _year_spend(ds, strategy)
    start = m_year[0]
    year = start.year
    notes = []
    jan1 = pd.Timestamp(_dt.date(year, 1, 1))
    after = actuals[actuals.index >= start]
    if len(after):
        notes.append(f"{len(after)} actual day(s) from {after.index[0].date()} on fall inside the forecast and are "
                     "not used (rerun calibrate with a later --train-until)")
    before = actuals[actuals.index < start]
    known = before.dropna()
    if known.empty:
        raise AnalysisError(f"no actual day with a cost before the forecast starts ({start.date()})")
    burn = float(known.iloc[-BURN_DAYS:].mean())
    act = before[before.index >= jan1]
    ytd = float(act.sum())  # NaN days skipped here, filled below
    missing = int(act.isna().sum())
    if missing:
        ytd += missing * burn
        notes.append(f"{missing} day(s) of {year} with no known cost are filled at the burn rate ({burn:,.2f} a day)")
    last = before.index[-1]
    gap_from = max(last + pd.Timedelta(days=1), jan1)
    gap = max(0, (start - gap_from).days)
    if gap > 0:
        ytd += gap * burn
        notes.append(f"{gap} day(s) from {gap_from.date()} to the forecast's start have no actuals and are filled at "
                     f"the burn rate ({burn:,.2f} a day)")
    first = act.index[0] if len(act) else None
    if first is not None and first > jan1:
        notes.append(f"year to date counts from the first actual day ({first.date()}): spend before it is not in the "
                     "export")
    if not len(act):
        notes.append(f"no actual cost in {year} before the forecast starts: year to date is only the filled days")
    first_day, cum = _cumulative(m_year, spend, ytd)
    over = cum > budget
    hit = np.where(over.any(axis=1), over.argmax(axis=1), cum.shape[1])  # index of the runout day
    year_end = pd.Timestamp(_dt.date(year, 12, 31))
    covered_to = first_day + pd.Timedelta(days=cum.shape[1] - 1)
    rest = spend.sum(axis=1)
    total = ytd + rest

    def date_q(q: float):
        i = float(np.quantile(hit, q, method="lower"))
        if ytd > budget:
            return "already exceeded"
        if i >= cum.shape[1]:
            return None  # after the forecast's last day of the year
        return (first_day + pd.Timedelta(days=int(i))).date().isoformat()

    if covered_to < year_end:
        notes.append(f"the forecast covers {year} only to {covered_to.date()}: the rest of the year and the runout "
                     "are to that day")
    return {
        "strategy": strategy, "year": year, "budget": budget, "currency": ds.attrs.get("currency", ""),
        "actual_days": int(act.notna().sum()), "ytd_from": (first.date().isoformat() if first is not None else None),
        "ytd_spend": ytd, "burn_rate_per_day": burn,
        "forecast_from": first_day.date().isoformat(), "forecast_to": covered_to.date().isoformat(),
        "rest_of_year": {f"p{int(q * 100)}": float(np.quantile(rest, q)) for q in QS},
        "year_total": {f"p{int(q * 100)}": float(np.quantile(total, q)) for q in QS},
        "p_exceed_year": float(np.mean(total > budget)),
        "runout_date": {f"p{int(q * 100)}": date_q(q) for q in QS},
        "share_not_run_out": float(np.mean(hit >= cum.shape[1])) if ytd <= budget else 0.0,
        "notes": notes,
    }


def runway_curves(ds: xr.Dataset, actuals: pd.Series, r: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What ``runway`` (its result ``r``) counted, day by day, for a chart: (the actual days of the
    year before the forecast, cumulative; the forecast's cumulative P10/P50/P90 over paths).

    The first frame (day, cost, filled, cumulative) holds the year's actual days from the first one
    (a day with no known cost, and each day between the last actual and the forecast's start, at the
    burn rate: ``filled``); its last cumulative is ``r["ytd_spend"]``. The second (day, p10, p50, p90,
    mean) is the same year-to-date plus each path's spend so far that ``runway`` finds the runout day
    on, from the forecast's first day to ``r["forecast_to"]``."""
    m_year, spend = _year_spend(ds, r["strategy"])
    start = m_year[0]
    jan1 = pd.Timestamp(_dt.date(r["year"], 1, 1))
    burn = r["burn_rate_per_day"]
    before = actuals[actuals.index < start]
    act = before[before.index >= jan1]
    days = list(act.index)
    cost = list(act.to_numpy(float))
    filled = list(act.isna().to_numpy())
    gap_from = max(before.index[-1] + pd.Timedelta(days=1), jan1)
    gap = pd.date_range(gap_from, start - pd.Timedelta(days=1), freq="D")
    days += list(gap)
    cost += [np.nan] * len(gap)
    filled += [True] * len(gap)
    c = np.array(cost, float)
    past = pd.DataFrame({"day": pd.DatetimeIndex(days), "cost": c, "filled": filled,
                         "cumulative": np.cumsum(np.where(np.isnan(c), burn, c))})
    first_day, cum = _cumulative(m_year, spend, r["ytd_spend"])
    fc = pd.DataFrame({"day": pd.date_range(first_day, periods=cum.shape[1], freq="D"),
                       **{f"p{int(q * 100)}": np.quantile(cum, q, axis=0) for q in QS}, "mean": cum.mean(axis=0)})
    return past, fc


def runway_text(r: dict) -> str:
    cur = r["currency"]
    q = r["runout_date"]
    lines = [f"Budget runway {r['year']}: budget {r['budget']:,.0f} {cur}, strategy {r['strategy']!r}",
             f"  year to date  {r['ytd_spend']:>14,.0f}  ({r['actual_days']} actual days; burn rate "
             f"{r['burn_rate_per_day']:,.0f} a day)",
             f"  rest of year  P10 {r['rest_of_year']['p10']:,.0f}  P50 {r['rest_of_year']['p50']:,.0f}  "
             f"P90 {r['rest_of_year']['p90']:,.0f}  (forecast {r['forecast_from']}..{r['forecast_to']})",
             f"  year total    P10 {r['year_total']['p10']:,.0f}  P50 {r['year_total']['p50']:,.0f}  "
             f"P90 {r['year_total']['p90']:,.0f};  P(year > budget) {r['p_exceed_year']:.1%}",
             "  runs out      " + "  ".join(f"{k.upper()} {v or 'not in ' + str(r['year'])}" for k, v in q.items())
             + f"  ({r['share_not_run_out']:.0%} of paths do not run out)"]
    lines += [f"  note: {n}" for n in r["notes"]]
    return "\n".join(lines)
