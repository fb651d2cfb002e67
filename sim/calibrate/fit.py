"""Fit the day-level demand model of ``sim.demand.daily`` to a daily series, with its uncertainty.

Model: ln y_t = β₀ + β₁·t + w_(weekday t) + u_t, u_t = φ·u_(t−1) + e_t, e_t ~ N(0, σ_e²), t = 0 on
the last training day (so β₀ is the level of an average day there and β₁ the trend per day); the
weekday effects w (sum 0 over the week) are fitted from ``MIN_WEEKLY_DAYS`` days on. Posterior, exactly, on a grid of φ:

- prior φ uniform on ``PHI_GRID`` (−0.5 … 0.95: stationary; a near-unit root with a free trend
  from days of data extrapolates without bound), p(β, σ_e²) ∝ 1/σ_e² (Jeffreys);
- given φ, the Prais–Winsten transform makes the regression exact (the first day scaled by
  √(1 − φ²)), so β | σ_e², φ is normal around the GLS estimate, σ_e² | φ is scaled inverse χ² with
  T − k degrees of freedom, and p(φ | y) ∝ √(1 − φ²)·|X′X|^(−1/2)·SSR^(−(T−k)/2);
- the regression is ordinary least squares from statsmodels on the transformed data.

Why not the maximum-likelihood state-space fit: on 7–14 days its standard errors are asymptotic
and φ's is larger than its range (2.6 on m-large's first week), which makes bands either absurdly
wide or falsely narrow; the exact small-sample posterior carries the parameter uncertainty into
the forecast. Days missing from the series are skipped (the transform then uses the gap's φ^gap).

With fewer than ``MIN_TREND_DAYS`` days the trend is not fitted (prior: 0, a warning); fewer than
``MIN_DAYS`` is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PHI_GRID = np.linspace(-0.5, 0.95, 59)
MIN_DAYS = 4
MIN_TREND_DAYS = 6
MIN_WEEKLY_DAYS = 21  # three weeks: each weekday seen three times
DRAWS = 4000


class FitError(ValueError):
    """Too little data to fit."""


@dataclass
class DemandFit:
    """Posterior draws of the demand model of one series, and what the fit reports."""

    group: str
    quantity: str
    days: int  # days used
    first_day: pd.Timestamp
    last_day: pd.Timestamp
    last_log: float  # ln y on the last training day
    level: np.ndarray  # (DRAWS,) β₀: ln level of an average day on the last training day
    trend: np.ndarray  # β₁ per day
    phi: np.ndarray
    sigma_u: np.ndarray  # stationary sd of u: √(σ_e² / (1 − φ²))
    weekday: np.ndarray  # (7,) posterior mean log effect of Monday..Sunday, mean 0 (zeros: not fitted)
    last_weekday_effect: np.ndarray  # (DRAWS,) the effect of the last training day's weekday
    phi_posterior: np.ndarray  # (grid,) p(φ | y)
    residual_r1: float  # lag-1 autocorrelation of the OLS residuals (a fit statistic)
    innovations: pd.Series  # standardized innovations e_t / σ_e at the posterior mode of φ, by day
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        def s(x):
            return {"mean": float(np.mean(x)), "sd": float(np.std(x)), "p5": float(np.quantile(x, 0.05)),
                    "p95": float(np.quantile(x, 0.95))}

        return {"group": self.group, "quantity": self.quantity, "days": self.days,
                "first_day": self.first_day.date().isoformat(), "last_day": self.last_day.date().isoformat(),
                "level_per_day": float(np.exp(np.median(self.level))), "ln_level": s(self.level),
                "trend_per_day": s(self.trend), "persistence": s(self.phi), "sigma_log": s(self.sigma_u),
                "weekly": [float(x) for x in np.exp(self.weekday)],
                "residual_lag1_autocorrelation": self.residual_r1, "warnings": self.warnings}


def _design(t: np.ndarray, trend: bool, dow: np.ndarray | None = None, open_days: list[int] | None = None) -> np.ndarray:
    """Intercept, trend, and with ``dow`` (weekday of each day, Monday 0) a column per open weekday but
    the last, coded to sum to zero over the open weekdays, so the intercept stays the level of an
    average open day."""
    cols = [np.ones(t.size)] + ([t] if trend else [])
    if dow is not None:
        last = open_days[-1]
        for k in open_days[:-1]:
            cols.append((dow == k).astype(float) - (dow == last).astype(float))
    return np.column_stack(cols)


def _transform(y: np.ndarray, X: np.ndarray, t: np.ndarray, phi: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Prais–Winsten for possibly gapped days: each step uses φ^gap and scales by the innovation sd."""
    ys = np.empty_like(y)
    Xs = np.empty_like(X)
    s0 = math.sqrt(1.0 - phi * phi)
    ys[0], Xs[0] = s0 * y[0], s0 * X[0]
    logdet = math.log(s0)  # Σ log of the scale factors: the Jacobian
    gap = np.diff(t)
    for i in range(1, y.size):
        a = phi ** gap[i - 1]
        c = math.sqrt((1.0 - phi * phi) / (1.0 - a * a)) if a * a < 1.0 else 1.0
        ys[i] = c * (y[i] - a * y[i - 1])
        Xs[i] = c * (X[i] - a * X[i - 1])
        logdet += math.log(c)
    return ys, Xs, logdet


def fit_series(values: pd.Series, group: str = "all", quantity: str = "requests", seed: int = 0) -> DemandFit:
    """The posterior of the demand model for one daily series (NaN days are missing)."""
    import statsmodels.api as sm

    seen = values.dropna()
    known = seen[seen > 0]
    warnings: list[str] = []
    # a weekday on which every observed day had no use (weekends of an office tool) is closed: weight 0
    sdow = np.asarray(seen.index.day_of_week)
    closed = [k for k in range(7) if (sdow == k).sum() >= 2 and not (seen[sdow == k] > 0).any()]
    other_zero = int(((seen <= 0) & ~np.isin(sdow, closed)).sum())
    if other_zero:
        warnings.append(f"{group}: {other_zero} day(s) with no use left out of the fit (a log-volume model); "
                        "the forecast does not produce zero days")
    if known.size < MIN_DAYS:
        raise FitError(f"{group}: {known.size} day(s) with {quantity}; at least {MIN_DAYS} complete days are needed")
    day0 = known.index[-1]
    t = np.asarray((known.index - day0) / pd.Timedelta(days=1), float)
    y = np.log(known.to_numpy(float))
    trend = known.size >= MIN_TREND_DAYS
    if not trend:
        warnings.append(f"{group}: {known.size} days are too few for a trend (at least {MIN_TREND_DAYS}); "
                        "prior used: no trend")
    open_days = [k for k in range(7) if k not in closed]
    dow = np.asarray(known.index.day_of_week) if known.size >= MIN_WEEKLY_DAYS and len(open_days) > 1 else None
    X = _design(t, trend, dow, open_days)
    T, k = X.shape
    nb = 2 if trend else 1  # level and trend columns; the weekday columns follow
    fits = []
    logp = np.empty(PHI_GRID.size)
    for i, phi in enumerate(PHI_GRID):
        ys, Xs, logdet = _transform(y, X, t, float(phi))
        r = sm.OLS(ys, Xs).fit()
        ssr = float(r.ssr)
        xtx_inv = np.asarray(r.normalized_cov_params)
        logp[i] = logdet + 0.5 * np.linalg.slogdet(xtx_inv)[1] - 0.5 * (T - k) * math.log(max(ssr, 1e-300))
        fits.append((np.asarray(r.params), ssr, xtx_inv))
    if not np.all(np.isfinite(logp)):
        raise FitError(f"{group}: the fit is degenerate (the {quantity} series cannot separate its level, trend and "
                       "weekday effects); give more days or --group-by none")
    w = np.exp(logp - logp.max())
    w /= w.sum()
    rng = np.random.default_rng([seed, 0x51AB])
    gi = rng.choice(PHI_GRID.size, size=DRAWS, p=w)
    level = np.empty(DRAWS)
    slope = np.zeros(DRAWS)
    s2 = np.empty(DRAWS)
    week = np.zeros((DRAWS, 7))
    for g in np.unique(gi):  # per grid point, its draws at once
        idx = np.flatnonzero(gi == g)
        b, ssr, V = fits[g]
        se2 = ssr / rng.chisquare(T - k, size=idx.size)
        z = rng.standard_normal((idx.size, k)) @ np.linalg.cholesky(V).T
        beta = b[None, :] + z * np.sqrt(se2)[:, None]
        level[idx] = beta[:, 0]
        if trend:
            slope[idx] = beta[:, 1]
        if dow is not None:
            eff = beta[:, nb:]
            week[np.ix_(idx, open_days[:-1])] = eff
            week[idx, open_days[-1]] = -eff.sum(axis=1)
        s2[idx] = se2
    phi = PHI_GRID[gi]
    sigma_u = np.sqrt(s2 / (1.0 - phi * phi))
    # the day's innovations at the posterior mode of φ (cross-series correlation, sim.calibrate.calibrate)
    gm = int(np.argmax(w))
    ys, Xs, _ = _transform(y, X, t, float(PHI_GRID[gm]))
    e = ys - Xs @ fits[gm][0]
    sd_e = math.sqrt(fits[gm][1] / max(T - k, 1))
    innovations = pd.Series(e / sd_e if sd_e > 0 else np.zeros(T), index=known.index)
    res = sm.OLS(y, X).fit().resid
    r1 = float(np.sum(res[1:] * res[:-1]) / np.sum(res * res)) if np.sum(res * res) > 0 else 0.0
    if dow is None:
        warnings.append(f"{group}: {T} days are too few for a weekly pattern (at least {MIN_WEEKLY_DAYS}); prior "
                        "used: every day alike")
    # the level is that of an average day; the last day's weekday effect is not part of its deviation
    last_effect = week[:, int(known.index[-1].day_of_week)]
    week[:, closed] = -np.inf  # closed weekdays: weight exp(−inf) = 0
    if closed:
        names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        warnings.append(f"{group}: no use on any {', '.join(names[k] for k in closed)}: weekly weight 0")
    return DemandFit(group, quantity, T, known.index[0], day0, float(y[-1]), level, slope, phi,
                     sigma_u, week.mean(axis=0), last_effect, w, r1, innovations,
                     warnings)
