"""Pay-per-token API pool: list-price trends and rate-card pricing of token components."""

from __future__ import annotations

import numpy as np


def price_trend_factor(month_index: np.ndarray | float, change_per_year: float) -> np.ndarray:
    """Multiplier on list prices ``month_index`` months after the price date.

    Geometric: (1 + change_per_year) ** (months / 12); −0.3 means 30 % cheaper after a year.
    """
    return np.power(1.0 + change_per_year, np.asarray(month_index, dtype=float) / 12.0)


def alpha_components(error_rate: float, timeout_rate: float, timeout_output_share: float,
                     validation_failure_rate: float, max_attempts: int) -> tuple[float, float, float]:
    """Expected attempts and billed-token multipliers per logical call.

    Each attempt ends in success (s), provider error (e, not billed), timeout (t: input and a share
    of output billed) or validation failure (v: billed in full); any failure is retried up to
    ``max_attempts``. With f = e + t + v the expected number of attempts is (1 − f^m)/(1 − f).
    Returns (attempts, input multiplier, output multiplier).
    """
    f = error_rate + timeout_rate + validation_failure_rate
    m = max_attempts
    attempts = float(m) if f >= 1.0 else (1.0 - f**m) / (1.0 - f)
    alpha_in = attempts * (1.0 - error_rate)
    alpha_out = attempts * (1.0 - f + validation_failure_rate + timeout_rate * timeout_output_share)
    return attempts, alpha_in, alpha_out


def expected_price_factor(sc, model: str, horizon_months) -> np.ndarray:
    """The expected list-price multiplier of ``model`` (frontier or commodity trend, at its mean) in
    each of ``horizon_months`` (horizon month indices), relative to the scenario's price date."""
    from .valuation import MeanValues

    idx = sc.trend_offset + np.asarray(horizon_months, float)
    return np.asarray(api_trends(sc, MeanValues(), idx)[model in sc.pools.api.frontier_models], float)


def api_trends(sc, value, month_index: np.ndarray) -> dict[bool, np.ndarray]:
    """List-price multipliers by month for {frontier: ..., commodity: ...} models ((M,) or (P, M))."""
    from .valuation import column

    t = sc.pools.api.price_trend
    mi = np.asarray(month_index, float)
    return {True: price_trend_factor(mi, column(value(t.frontier_per_year, "pools.api.price_trend.frontier_per_year"))),
            False: price_trend_factor(mi, column(value(t.commodity_per_year, "pools.api.price_trend.commodity_per_year")))}
