"""Helpers shared by the analyses: periods, quantile labels, totals, tail measures, JSON."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..finite import NonFiniteResultError, dataset_nonfinite, nonfinite_summary, path_slices

QUANTILES = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
PERIODS = ("month", "quarter", "year", "horizon")


class AnalysisError(ValueError):
    """An analysis cannot run on this input (unknown strategy, missing variable, bad option)."""


def qlabel(q: float) -> str:
    """0.05 -> 'p5', 0.5 -> 'p50', 0.975 -> 'p97.5'."""
    v = q * 100.0
    return f"p{v:.0f}" if abs(v - round(v)) < 1e-9 else f"p{v:g}"


def pick_strategy(ds: xr.Dataset, strategy: str | None) -> str:
    names = [str(s) for s in ds["strategy"].values]
    if strategy is None:
        return names[0]
    if strategy not in names:
        raise AnalysisError(f"unknown strategy {strategy!r}; the results hold: {', '.join(names)}")
    return strategy


def month_index(ds: xr.Dataset) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ds["month"].values)


def period_labels(months: pd.DatetimeIndex, period: str) -> np.ndarray:
    """One label per month: '2027-01', '2027-Q1', '2027' or 'YYYY-MM..YYYY-MM' for the horizon."""
    if period == "month":
        return np.array([f"{d.year:04d}-{d.month:02d}" for d in months])
    if period == "quarter":
        return np.array([f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}" for d in months])
    if period == "year":
        return np.array([f"{d.year:04d}" for d in months])
    if period == "horizon":
        a, b = months[0], months[-1]
        return np.array([f"{a.year:04d}-{a.month:02d}..{b.year:04d}-{b.month:02d}"] * len(months))
    raise AnalysisError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")


def period_sizes(period: str) -> int:
    return {"month": 1, "quarter": 3, "year": 12}.get(period, 0)


def partial_periods(months: pd.DatetimeIndex, period: str) -> list[str]:
    """Periods the horizon covers only in part (a year with fewer than 12 months, ...)."""
    n = period_sizes(period)
    if not n:
        return []
    labels = period_labels(months, period)
    uniq, counts = np.unique(labels, return_counts=True)
    return [str(u) for u, c in zip(uniq, counts) if c < n]


def by_period(da: xr.DataArray, period: str) -> xr.DataArray:
    """Sum a DataArray with a ``month`` dim into a ``period`` dim (labels in time order).

    Sums here never skip NaN (``skipna=False``): a NaN must stay NaN and be refused
    (:func:`require_summable`), never become a spend of 0.
    """
    labels = period_labels(pd.DatetimeIndex(da["month"].values), period)
    order = list(dict.fromkeys(labels))
    out = da.assign_coords(period=("month", labels)).groupby("period").sum("month", skipna=False)
    return out.sel(period=order)


def total_spend(ds: xr.Dataset) -> xr.DataArray:
    """Spend over the horizon per (strategy, path)."""
    return sum_by_paths(ds["spend"], ["month", "pool", "workload"])


def monthly_spend(ds: xr.Dataset) -> xr.DataArray:
    """Spend per (strategy, path, month)."""
    return sum_by_paths(ds["spend"], ["pool", "workload"])


def sum_by_paths(da: xr.DataArray, dims: list[str]) -> xr.DataArray:
    """``da.sum(dims, skipna=False)``, read by slices of paths (``sim.finite.path_slices``) so a lazily
    opened 100,000-path store is summed without being held whole."""
    slices = path_slices(da)
    if len(slices) == 1:
        return da.sum(dims, skipna=False)
    return xr.concat([da.isel(path=sl).sum(dims, skipna=False) for sl in slices], dim="path")


def require_summable(ds: xr.Dataset, agg: xr.DataArray | dict, variables=("spend",), what: str = "spend") -> None:
    """Refuse to summarise ``agg`` (sums of ``variables`` of ``ds`` per path, a DataArray or a dict of
    arrays) when it holds no path or a value that is not finite: an ``AnalysisError`` for no paths, a
    ``NonFiniteResultError`` naming the variable and the coordinates of the first bad value (or the
    sum, when finite values overflow) otherwise. Cheap on good data: only ``agg`` is scanned."""
    if "path" in ds.dims and ds.sizes["path"] == 0:
        raise AnalysisError("the results hold no paths: there is nothing to summarise")
    arrays = agg.items() if isinstance(agg, dict) else [(what, agg)]
    for name, a in arrays:
        vals = np.asarray(getattr(a, "values", a))
        if vals.dtype.kind not in "fc" or np.isfinite(vals).all():
            continue
        src = ds.encoding.get("source") or "results"
        found = dataset_nonfinite(ds, variables)
        if found:
            raise NonFiniteResultError(f"{src}: " + f"; {src}: ".join(found) + "; no answer from these results "
                                       "would be honest")
        dims = tuple(getattr(a, "dims", ()))
        coords = {d: np.asarray(a[d].values) for d in dims if d in a.coords} if dims else None
        raise NonFiniteResultError(f"{src}: {nonfinite_summary(f'{name} (summed)', vals, dims, coords)}: the "
                                   "values are finite but their sum is not (too large to add up)")


def cvar(x: np.ndarray, level: float) -> float:
    """Mean of the worst (1 − level) share of outcomes (costs: the upper tail).

    With n samples the tail holds the ceil(n(1 − level)) largest values (at least one).
    """
    x = np.sort(np.asarray(x, float))
    k = max(1, int(math.ceil(x.size * (1.0 - level) - 1e-9)))
    return float(x[-k:].mean())


def quantile_se(x: np.ndarray, q: float) -> float:
    """Monte Carlo standard error of the q-quantile by the order-statistic (binomial) method.

    The rank of the true quantile among n samples is Binomial(n, q): ±1 standard deviation of it,
    sqrt(n q (1 − q)), spans two order statistics whose half-distance estimates the standard error
    (distribution-free; no density estimate needed).
    """
    x = np.sort(np.asarray(x, float))
    n = x.size
    if n < 2:
        return 0.0
    s = math.sqrt(n * q * (1.0 - q))
    lo = int(math.floor(n * q - s))
    hi = int(math.ceil(n * q + s))
    lo = min(max(lo, 1), n) - 1
    hi = min(max(hi, 1), n) - 1
    return float(0.5 * (x[hi] - x[lo]))


def paths_for_precision(n: int, value: float, se: float, rel: float = 0.01, z: float = 1.96) -> int | None:
    """Paths needed for a 95 % confidence half-width of ``rel`` × value (se falls as 1/sqrt(n))."""
    if value == 0 or not np.isfinite(se):
        return None
    if se == 0:
        return int(n)
    return int(math.ceil(n * (z * se / (rel * abs(value))) ** 2))


def summarize(x: np.ndarray, quantiles=QUANTILES) -> dict:
    x = np.asarray(x, float)
    if x.size == 0:
        raise AnalysisError("nothing to summarise: no paths")
    out = {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0}
    qs = np.quantile(x, quantiles)
    out.update({qlabel(q): float(v) for q, v in zip(quantiles, qs)})
    return out


def discount_factors(months: int, rate: float) -> np.ndarray:
    """(1 + r)^(−m/12) for m = 0..months−1 (cash at the start of each month)."""
    return (1.0 + rate) ** (-np.arange(months) / 12.0)


def month_hours_of(ds: xr.Dataset) -> np.ndarray:
    m = month_index(ds)
    return np.asarray(m.days_in_month, float) * 24.0


def jsonable(o: Any) -> Any:
    """Plain JSON types: DataFrames become lists of records, numpy scalars numbers, NaN None."""
    if isinstance(o, pd.DataFrame):
        return [jsonable(r) for r in o.to_dict(orient="records")]
    if isinstance(o, pd.Series):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return [jsonable(v) for v in o.tolist()]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating, float)):
        v = float(o)
        return v if math.isfinite(v) else None
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, (pd.Timestamp,)):
        return o.isoformat()
    return o


def money(x: float | None, width: int = 0) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return f"{'—':>{width}}"
    return f"{x:>{width},.0f}"


def tokens_str(x: float | None) -> str:
    if x is None or not np.isfinite(x):
        return "never"
    for unit, f in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= f:
            return f"{x / f:,.3g}{unit}"
    return f"{x:,.0f}"


def amount_str(x: float | None, decimals: int = 0) -> str:
    """A number with thousands separators, '—' when missing or not finite (no padding)."""
    if x is None or not np.isfinite(x):
        return "—"
    if round(float(x), decimals) == 0:
        x = 0.0  # no "-0" from rounding noise
    return f"{x:,.{decimals}f}"


def text_table(headers, rows, *, left: int = 1, gap: int = 2) -> list[str]:
    """Lines of a plain-text table whose columns can never run together.

    ``headers[j]`` is the header of column j as a sequence of lines, top to bottom: a shorter header
    keeps its first line on top and, if it has more than one, its last line (the unit) at the
    bottom; ``rows`` are sequences of cell strings. Each column is as wide as its widest cell or header line and columns are separated by
    at least ``gap`` spaces, whatever the magnitude of the numbers. The first ``left`` columns are
    left-aligned, the others right-aligned. Returns the header lines, a rule and one line per row.
    """
    headers = [[h] if isinstance(h, str) else list(h) for h in headers]
    n = len(headers)
    rows = [list(r) for r in rows]
    for r in rows:
        if len(r) != n:
            raise ValueError(f"row has {len(r)} cells for {n} columns: {r}")
    depth = max((len(h) for h in headers), default=0)
    headers = [h[:-1] + [""] * (depth - len(h)) + h[-1:] if len(h) > 1 else h + [""] * (depth - len(h))
               for h in headers]
    widths = [max([len(x) for x in headers[j]] + [len(r[j]) for r in rows]) for j in range(n)]
    sep = " " * max(gap, 1)

    def line(cells) -> str:
        return sep.join(c.ljust(w) if j < left else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line([h[i] for h in headers]) for i in range(depth)]
    out.append("-" * (sum(widths) + len(sep) * (n - 1)))
    out += [line(r) for r in rows]
    return out


def json_key(path: str, where: str, obj, key: str, command: str):
    """``obj[key]`` of the saved output of ``tokensim COMMAND --json`` at ``path``; an ``AnalysisError``
    naming the file and the key path when ``obj`` is not an object or lacks the key."""
    import json

    if not isinstance(obj, dict):
        raise AnalysisError(f"{path}: {where or 'the top level'}: expected an object, got {json.dumps(obj)[:60]}")
    if key not in obj:
        raise AnalysisError(f"{path}: {(where + '.') if where else ''}{key}: missing (the file is not the output of "
                            f"tokensim {command} --json)")
    return obj[key]


def read_command_json(path: str, command: str, what: str) -> dict:
    """The one JSON object ``tokensim COMMAND --json`` printed, saved to ``path`` (``what``: what it
    holds, for the messages); an ``AnalysisError`` naming the file (and the line and column) for a
    file that cannot be read, is not JSON, is not an object or was a refusal."""
    import json

    hint = f"(save the output of tokensim {command} --json)"
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnalysisError(f"{path}: cannot read the {command} ({exc.strerror if isinstance(exc, OSError) else exc})"
                            f" {hint}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnalysisError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg} {hint}") from None
    if not isinstance(obj, dict):
        raise AnalysisError(f"{path}: expected the JSON object tokensim {command} --json prints, got "
                            f"{type(obj).__name__}")
    if obj.get("ok") is False:
        raise AnalysisError(f"{path}: the {command} was refused (ok: false), it holds no {what}: "
                            + "; ".join(map(str, obj.get("problems") or [])))
    return obj
