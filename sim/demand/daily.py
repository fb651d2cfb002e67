"""Day-level demand: drift and the persistent day shock (the formula both engines share).

Day d's sessions (d = days from the horizon's first day) are multiplied by exp(g·d) and by the
shock exp(x_d − σ²/2) with σ² = ln(1 + cv²) and x AR(1) with coefficient φ:
x_d = φ·x_(d−1) + √(1 − φ²)·σ·ε_d. Stationary, x_d ~ N(0, σ²) and the shock has mean 1. Started
from a known day before the horizon, whose log volume was ``start_deviation`` (δ) above its mean
level, x_(−1) = δ + σ²/2 and, k = d + 1 days later, x_d ~ N(φ^k·x_(−1), σ²(1 − φ^(2k))), so

    E[shock_d] = exp(φ^k·x_(−1) − σ²·φ^(2k)/2),

which is e^δ at k = 0 and tends to 1. The Monte Carlo kernel draws x; its deterministic mode and
the expected-value engine and the DES use this mean.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..scenario.distributions import mean_of


def day_sigma(day_cv) -> np.ndarray | float:
    """σ of the log day shock for a coefficient of variation of daily volume (number or array)."""
    cv = np.asarray(day_cv, float)
    out = np.sqrt(np.log1p(cv * cv))
    return float(out) if out.ndim == 0 else out


@nb.njit(cache=True)
def mean_shock(phi, sigma, start_dev, k):
    """E[shock] k days after the anchored day (``start_dev`` its log deviation), for a number or an
    array k (the kernel calls it per day, the expected engine over all days at once)."""
    x0 = start_dev + 0.5 * sigma * sigma
    pk = phi ** k
    return np.exp(pk * x0 - 0.5 * sigma * sigma * pk * pk)


def mean_day_factors(noise, days: int, offset: int = 0) -> np.ndarray:
    """The mean multiplier of sessions on days ``offset`` … ``offset + days − 1`` of the horizon,
    at the means of the ``demand_noise`` fields: exp(g·d) × E[shock_d]."""
    g = float(mean_of(noise.growth_per_day))
    phi = float(mean_of(noise.persistence))
    sig = day_sigma(float(mean_of(noise.day_cv)))
    sd = math.nan if noise.start_deviation is None else float(mean_of(noise.start_deviation))
    d = np.arange(offset, offset + days, dtype=float)
    shock = np.ones(days) if math.isnan(sd) else mean_shock(phi, sig, sd, d + 1.0)
    return np.exp(g * d) * shock
