"""Token lengths per request: a lognormal where it fits, else the data's own quantiles.

Lognormal by maximum likelihood on ln(tokens) (written in the scenario's median/p90 form), with its
Kolmogorov–Smirnov distance D to the sample (scipy.stats.kstest). The rule of
``calibration/fit_workloads.py`` (issue 3): lognormal when D < ``KS_LOGNORMAL``, else the empirical
distribution as a ``discrete`` of ``QUANTILES`` equal-probability quantiles (mean kept to the
quantiles' resolution). Fewer than ``MIN_SAMPLE`` requests: the mean only.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

KS_LOGNORMAL = 0.08
QUANTILES = 41
MIN_SAMPLE = 200
Z90 = 1.2815515655446004


def fit_lengths(x: np.ndarray) -> dict:
    """The spec and fit statistics of one length sample (tokens per request)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x) & (x > 0)]
    if x.size < MIN_SAMPLE:
        return {"n": int(x.size), "choice": "mean", "spec": float(x.mean()) if x.size else None}
    lx = np.log(x)
    mu, sigma = float(lx.mean()), float(lx.std())
    d = float(stats.kstest(x, "lognorm", args=(sigma, 0.0, math.exp(mu))).statistic) if sigma > 0 else 1.0
    logn = {"dist": "lognormal", "median": math.exp(mu), "p90": math.exp(mu + Z90 * sigma)}
    u = (np.arange(QUANTILES) + 0.5) / QUANTILES
    emp = {"dist": "discrete", "values": [float(f"{v:.7g}") for v in np.quantile(x, u)]}
    choice = "lognormal" if d < KS_LOGNORMAL and sigma > 0 else "empirical"
    return {"n": int(x.size), "choice": choice, "ks_D": d, "mean": float(x.mean()), "median": float(np.median(x)),
            "p90": float(np.quantile(x, 0.9)), "spec": logn if choice == "lognormal" else emp,
            "spec_lognormal": logn, "spec_empirical": emp}
