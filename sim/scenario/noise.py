"""Day-level demand noise and drift, for the whole scenario or one workload (sim.demand.daily)."""

from __future__ import annotations

from .types import DailyGrowth, LogDeviation, Model, NonNeg, Persistence, Prob, unit


class DemandNoise(Model):
    """Day-to-day randomness and drift of demand beyond Poisson arrivals (one definition, sim.demand.daily).

    Every workload's sessions on day d (days from the horizon's first day) are multiplied by
    exp(growth_per_day·d) and by a lognormal day shock exp(x_d − σ²/2), σ² = ln(1 + day_cv²), whose
    log x_d is AR(1): x_d = persistence·x_(d−1) + √(1 − persistence²)·σ·ε_d, stationary (mean 1) or,
    with ``start_deviation``, started from the day before the horizon. The expected-value engine and
    the DES use the mean of that multiplier; the Monte Carlo draws it per path.

    Defaults are fitted on days 0–6 only of the ServeGen m-small and m-large traces (days 7–13 are
    held out for the backtests; calibration/traces/servegen_rate_10min.csv): day_cv the mean of the
    two weeks' coefficients of variation of daily volume (0.081 and 0.162), persistence their lag-1
    autocorrelation of log volume (0.02 and 0.03, no evidence of persistence in a week: 0). The
    fitted values for a user's own data come from ``tokensim calibrate``.
    """

    day_cv: NonNeg = unit("ratio", default=0.121, description="Coefficient of variation of daily volume.")
    persistence: Persistence = unit(
        "lag-1 autocorrelation", default=0.0,
        description="Day-to-day autocorrelation of log volume (AR(1) coefficient, -0.99 to 0.99).")
    growth_per_day: DailyGrowth = unit(
        "ln change per day", default=0.0,
        description="Continuous drift of demand: sessions on day d are multiplied by exp(growth_per_day·d) "
                    "(0.001 ≈ +44 % a year), on top of the business units' adoption.")
    start_deviation: LogDeviation | None = unit(
        "ln(volume / mean)", default=None,
        description="Log deviation from its mean level of the day before the horizon starts (e.g. the last "
                    "observed day); the AR(1) shock starts from it. Absent: the shock starts stationary.")


class WorkloadNoise(DemandNoise):
    """A workload's own day shock and drift, in place of the scenario's ``demand_noise``.

    It replaces the scenario's block whole: a field left out takes its default here, not the
    scenario's value. Its AR(1) log shock has its own σ, persistence, start and drift; its daily
    innovations are ε_w = ρ·ε + √(1 − ρ²)·η_w, ε the scenario's common innovations and η_w the
    workload's own, so ``correlation`` ρ is the correlation with the common innovations and two
    workloads with their own noise have innovations correlated ρ₁·ρ₂ (``tokensim calibrate`` writes
    √ρ̂ for every series, so each pair has the fitted ρ̂).
    """

    correlation: Prob = unit(
        "correlation", default=0.0,
        description="Correlation of this workload's daily innovations with the scenario's common ones (0: "
                    "independent; 1: the common draws, through this workload's own σ and persistence); two "
                    "workloads with their own noise are correlated by the product of theirs.")
