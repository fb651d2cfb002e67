"""Outcomes and value: what the spend buys, per workload (the formulas; both engines call them).

A workload with an ``outcome`` (``sim.scenario.workloads.Outcome``) counts its units of work
(sessions, tasks, documents) demanded, n = the units served on each pool + the units no pool
could take. For the units served on a pool whose model succeeds with probability p:

    p_pool     = success of the pool's model; on the API with a cascade (levers.routing):
                 p_cheap + min(e, 1 − p_cheap)·p_primary   (e: escalation share; the cheap model's
                 failures escalate first, and an escalated unit succeeds if the primary does)
    ai_outcomes = Σ_pool n_pool·p_pool                       (unserved units achieve nothing)
    failures    = n − ai_outcomes
    outcomes    = n            with a human fallback (a person achieves each failure),
                  ai_outcomes  without one (a failure is lost)
    fallback_cost = failures · human_fallback_cost          (0 without a fallback)
    review_cost   = n · review_cost
    cost          = spend + fallback_cost + review_cost      (spend: the workload's, after contracts
                                                             and show-back, with its share of contract
                                                             lines: contracts.contract_line_shares)
    value         = outcomes · value per outcome
    net_value     = value − cost
    cost_per_outcome = Σ_months cost / Σ_months outcomes     (over the horizon)
    ROI           = net_value / cost

Every input may be a distribution: the valuation (``sim.pools.valuation``) gives its mean in the
expected-value engine and one draw per path in the Monte Carlo engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..scenario.distributions import mean_of
from .valuation import Valuation, column

@dataclass(frozen=True)
class OutcomeResult:
    """One workload's outcome accounting, each array shaped like the session counts given."""

    units: np.ndarray  # units of work demanded (served + unserved)
    ai_outcomes: np.ndarray
    outcomes: np.ndarray
    fallback_cost: np.ndarray
    review_cost: np.ndarray
    cost: np.ndarray  # spend + fallback + review
    value: np.ndarray
    net_value: np.ndarray


def pool_success(w, value: Valuation, escalation: float | np.ndarray | None = None) -> dict[str, float | np.ndarray]:
    """P(outcome) of a unit of work of ``w`` served on each pool it may use (floats or (P,) draws).

    ``escalation``: a written escalation share as the session tables billed it (a shape field: the
    Monte Carlo engine passes each path's (P,) table value); None: its mean. When the escalation
    follows the outcome (``w.escalation_follows_outcome()``) every failure escalates: 1 − p_cheap."""
    o = w.outcome
    out: dict[str, float | np.ndarray] = {}

    def p(model):
        return value(o.success_of(model), o.success_key(w.name))

    for pool in w.allowed_pools:
        model = getattr(w.models, pool)
        if pool == "api" and w.levers.routing.enabled and w.levers.routing.cheap_model:
            cheap = p(w.levers.routing.cheap_model)
            if w.escalation_follows_outcome():
                esc = 1.0 - cheap  # every failure escalates, in each future (its mean is what is billed)
            else:
                esc = float(mean_of(w.escalation())) if escalation is None else escalation
            out[pool] = cheap + np.minimum(esc, 1.0 - cheap) * p(model)
        elif model is not None:
            out[pool] = p(model)
    return out


def settle_outcomes(w, sessions: Mapping[str, np.ndarray], unserved: np.ndarray, spend: np.ndarray,
                    value: Valuation, escalation: float | np.ndarray | None = None) -> OutcomeResult:
    """The outcome accounting of workload ``w``.

    ``sessions``: units served per pool (arrays (M,) or (P, M)); ``unserved``: units no pool took;
    ``spend``: the workload's spend, same shape. Path draws (P,) broadcast over months.
    """
    o = w.outcome
    ps = pool_success(w, value, escalation)
    units = np.asarray(unserved, float) + sum(np.asarray(s, float) for s in sessions.values())
    ai = sum((np.asarray(s, float) * column(ps[pool]) for pool, s in sessions.items() if pool in ps),
             np.zeros_like(units))
    failures = np.maximum(units - ai, 0.0)  # (rounding: ai ≤ units exactly in real numbers)
    key = f"workloads.{w.name}.outcome"
    if o.human_fallback_cost is not None:
        outcomes = units
        fallback = failures * column(value(o.human_fallback_cost, f"{key}.human_fallback_cost"))
    else:
        outcomes = ai
        fallback = np.zeros_like(units)
    review = units * column(value(o.review_cost, f"{key}.review_cost"))
    cost = np.asarray(spend, float) + fallback + review
    val = outcomes * column(value(o.value, f"{key}.value"))
    return OutcomeResult(units, ai, outcomes, fallback, review, cost, val, val - cost)


def cost_per_outcome(cost: np.ndarray, outcomes: np.ndarray, axis: int = -1) -> np.ndarray:
    """Σ cost / Σ outcomes along ``axis`` (the months); inf where no outcome was achieved (callers
    refuse it with its location: a workload that achieves nothing has no cost per outcome)."""
    c, n = np.sum(cost, axis=axis), np.sum(outcomes, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, c / np.where(n > 0, n, 1.0), np.inf)


def outcome_ratios(work_units: float, ai_outcomes: float, outcomes: float, cost: float, value: float,
                   net_value: float, tokens: float) -> dict[str, float | None]:
    """The ratios of horizon totals every table of outcomes shows: ``success_rate`` (AI outcomes per
    unit of work), ``cost_per_outcome``, ``roi`` (net value / cost), ``value_per_mtok`` (value per
    million tokens); None where the denominator is 0 (no figure, never a 0)."""
    def ratio(a: float, b: float, scale: float = 1.0) -> float | None:
        return float(a * scale / b) if b > 0 else None

    return {"success_rate": ratio(ai_outcomes, work_units), "cost_per_outcome": ratio(cost, outcomes),
            "roi": ratio(net_value, cost), "value_per_mtok": ratio(value, tokens, 1e6)}
