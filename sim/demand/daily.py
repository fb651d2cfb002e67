"""Day-level demand: drift and the persistent day shock (the formula both engines share).

Day d's sessions (d = days from the horizon's first day) are multiplied by exp(g·d) and by the
shock exp(x_d − σ²/2) with σ² = ln(1 + cv²) and x AR(1) with coefficient φ:
x_d = φ·x_(d−1) + √(1 − φ²)·σ·ε_d. Stationary, x_d ~ N(0, σ²) and the shock has mean 1. Started
from a known day before the horizon, whose log volume was ``start_deviation`` (δ) above its mean
level, x_(−1) = δ + σ²/2 and, k = d + 1 days later, x_d ~ N(φ^k·x_(−1), σ²(1 − φ^(2k))), so

    E[shock_d] = exp(φ^k·x_(−1) − σ²·φ^(2k)/2),

which is e^δ at k = 0 and tends to 1. The Monte Carlo kernel draws x; its deterministic mode and
the expected-value engine and the DES use this mean.

A workload with a ``demand_noise`` of its own (``sim.scenario.noise.WorkloadNoise``) has its own
x, σ, φ, start and drift in place of the scenario's; its innovations are ρ·ε + √(1 − ρ²)·η_w with
ε the common ones. The means above hold for it with its own parameters (ρ changes no mean).
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


def noise_of(scenario, workload=None):
    """The day noise a workload follows: its own ``demand_noise``, else the scenario's."""
    own = getattr(workload, "demand_noise", None)
    return own if own is not None else scenario.demand_noise


NOISE_FIELDS = ("day_cv", "persistence", "start_deviation", "growth_per_day", "correlation")


def workload_noise(workloads, values, paths: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's per-workload shock inputs: own (W,) bool, the workloads with their own noise;
    (P, W, 5) their σ of the log shock, persistence, start deviation, drift per day and correlation
    with the common innovations; (P, W) bool, whether their shock starts from ``start_deviation``.
    ``values`` gives each field's per-path values (``PathValues``) from its key path."""
    W = len(workloads)
    own = np.zeros(W, np.bool_)
    par = np.zeros((paths, W, 5))
    anch = np.zeros((paths, W), np.bool_)
    for j, w in enumerate(workloads):
        n = getattr(w, "demand_noise", None)
        if n is None:
            continue
        own[j] = True
        for i, f in enumerate(NOISE_FIELDS):
            field = getattr(n, f)
            if field is not None:
                v = np.broadcast_to(np.asarray(values(field, f"workloads.{w.name}.demand_noise.{f}"), float), paths)
                par[:, j, i] = day_sigma(v) if f == "day_cv" else v
        anch[:, j] = n.start_deviation is not None
    return own, par, anch


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
