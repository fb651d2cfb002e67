"""Settlement of pre-committed contracts (pure functions on arrays).

Arrays may carry leading dimensions (paths, strategies); the last axis is months. A term is split
into periods of ``period_months``; each period's commitment is drawn down by covered use; unused
commitment is stranded, ``rollover_share`` of it carries into the next period, use above the
commitment is overage at ``overage_rate`` × list. With ``true_up`` the shortfall is settled once
at the end of the term (use in any period counts against the whole term's commitment).

Token commit at discount d and overage at list: cost(A) = A·p(1−d) + p·E[(T − A)+], minimised
where P(T > A) = 1 − d, i.e. the commit is the d-quantile of demand (the newsvendor rule the
commitment analysis relies on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Settlement:
    """Per-month results of one contract (arrays shaped like the usage input)."""

    cost: np.ndarray  # what is paid for covered use (commitment + overage)
    drawn: np.ndarray  # commitment used (same unit as the commitment)
    stranded: np.ndarray  # commitment unused and not rolled over
    overage: np.ndarray  # use above the commitment (same unit as the commitment)
    overage_cost: np.ndarray


def settle_commit(use: np.ndarray, list_cost: np.ndarray, amount: float, *, unit: str, discount: float,
                  overage_rate: float, start_month: int, term_months: int, period_months: int,
                  rollover_share: float = 0.0, true_up: bool = False,
                  reference_price: float = 0.0) -> Settlement:
    """Settle a token or dollar commitment month by month.

    ``use`` is covered use per month in tokens (``unit="tokens"``) and ``list_cost`` its cost at
    list price. For a token commit, committed tokens cost list×(1−d) each (at that period's average
    list price per token); for a dollar commit, ``amount`` of spend per period buys use at
    list×(1−d). Outside the term, use is billed at list. The commitment is billed at the end of
    each period (month index of the period's last month). ``reference_price`` (list currency
    per token) values a token commitment in periods with no use.
    """
    use = np.asarray(use, float)
    list_cost = np.asarray(list_cost, float)
    months = use.shape[-1]
    cost = list_cost.copy()
    drawn = np.zeros_like(use)
    stranded = np.zeros_like(use)
    overage = np.zeros_like(use)
    overage_cost = np.zeros_like(use)
    end = min(start_month + term_months, months)
    if amount <= 0 or start_month >= months:
        return Settlement(cost, drawn, stranded, overage, overage_cost)
    cost[..., start_month:end] = 0.0
    carry = np.zeros(use.shape[:-1])
    periods = [(a, min(a + period_months, end)) for a in range(start_month, end, period_months)]
    term_short = np.zeros(use.shape[:-1])
    for a, b in periods:
        u = use[..., a:b].sum(-1)
        lc = list_cost[..., a:b].sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            # list price per token; a period without use values the commitment at the reference
            p = np.where(u > 0, lc / np.where(u > 0, u, 1.0), reference_price)
        if unit == "tokens":
            demand = u
            value_per_unit = p * (1.0 - discount)  # what a committed token costs
        else:  # dollars: use measured as discounted spend
            demand = lc * (1.0 - discount)
            value_per_unit = np.ones_like(u)
        commit = amount * (b - a) / period_months + carry
        d = np.minimum(demand, commit)
        over = np.maximum(demand - commit, 0.0)
        unused = commit - d
        carry = rollover_share * unused
        strand = unused - carry
        if unit == "tokens":
            over_cost = over * p * overage_rate
            commit_cost = (amount * (b - a) / period_months) * value_per_unit
        else:
            over_cost = over / max(1.0 - discount, 1e-12) * overage_rate
            commit_cost = amount * (b - a) / period_months * np.ones_like(u)
        last = b - 1
        if true_up:
            # pay only for what was drawn now; the shortfall is settled at the end of the term
            pay = d * value_per_unit
            term_short = term_short + strand * value_per_unit
        else:
            pay = commit_cost
        cost[..., last] += pay + over_cost
        drawn[..., last] += d
        stranded[..., last] += strand
        overage[..., last] += over
        overage_cost[..., last] += over_cost
    if true_up:
        cost[..., end - 1] += term_short
    return Settlement(cost, drawn, stranded, overage, overage_cost)


def seat_cost(seats: np.ndarray | float, fee_per_seat_month: float) -> np.ndarray:
    """Seat fees per month."""
    return np.asarray(seats, float) * fee_per_seat_month
