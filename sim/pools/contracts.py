"""Settlement of pre-committed contracts (pure functions on arrays).

Arrays may carry leading dimensions (paths, strategies); the last axis is months. A term is split
into periods of ``period_months``; each period's commitment is drawn down by covered use; unused
commitment is stranded, ``rollover_share`` of it carries into the next period (what is still
carried at the end of the term expires, stranded), use above the commitment is overage at
``overage_rate`` × list. With ``true_up`` the whole term's commitment is one pool: use in any
period draws it down, overage starts only once it is used up, and the shortfall is billed at the
end of the term.

Token commit at discount d and overage at list: cost(A) = A·p(1−d) + p·E[(T − A)+], minimised
where P(T > A) = 1 − d, i.e. the commit is the d-quantile of demand (the newsvendor rule the
commitment analysis relies on).

A period of 12 months is an annual drawdown pool: the year's amount is used by any month of the
contract year, and what is drawn, stranded and over is booked in the year's last month, when it
is known. A ramp gives each contract year its own amount (a period's amount is the sum of its
months' 1/12 shares of their year's amount). A monthly minimum draws a pooled period down by at
least the minimum each month while the pool lasts; the shortfall is stranded.

Seats (``seats_needed``, ``billed_seats``): a business unit's users × seats per user, whole seats,
at least the minimum, billed from each true-up on at the most seats needed so far in the term.
A seats contract's included tokens (billed seats × tokens per seat, each month) draw the covered
use down first; its commitment, if any, settles the rest like a commit contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Settlement:
    """Per-month results of one contract (arrays shaped like the usage input)."""

    cost: np.ndarray  # what is paid for covered use (commitment + overage)
    drawn: np.ndarray  # commitment used (same unit as the commitment)
    stranded: np.ndarray  # commitment unused and not rolled over
    overage: np.ndarray  # use above the commitment (same unit as the commitment)
    overage_cost: np.ndarray  # what the overage is billed (currency)
    # what the stranded commitment was paid (currency): stranded tokens × the period's committed
    # price p·(1 − d), or stranded commitment dollars as they are (already money)
    stranded_cost: np.ndarray | None = None


def settle_commit(use: np.ndarray, list_cost: np.ndarray, amount: float, *, unit: str, discount: float,
                  overage_rate: float, start_month: int, term_months: int, period_months: int,
                  rollover_share: float = 0.0, true_up: bool = False,
                  reference_price: float = 0.0, period_amounts: list | None = None,
                  monthly_minimum: float = 0.0) -> Settlement:
    """Settle a token or dollar commitment month by month.

    ``use`` is covered use per month in tokens (``unit="tokens"``) and ``list_cost`` its cost at
    list price. For a token commit, committed tokens cost list×(1−d) each (at that period's average
    list price per token); for a dollar commit, ``amount`` of spend per period buys use at
    list×(1−d). Outside the term, use is billed at list. The commitment is billed at the end of
    each period (month index of the period's last month). ``reference_price`` (list currency
    per token) values a token commitment in periods with no use. ``period_amounts`` (one per period
    of the term; ``ramp_amounts``) replaces ``amount`` for a ramped commitment.
    ``monthly_minimum`` (in the commitment's unit): each month draws the pool (the period's, or the
    term's with a true-up) down by at least this much while it lasts; the shortfall is stranded.
    """
    use = np.asarray(use, float)
    list_cost = np.asarray(list_cost, float)
    months = use.shape[-1]
    cost = list_cost.copy()
    drawn = np.zeros_like(use)
    stranded = np.zeros_like(use)
    overage = np.zeros_like(use)
    overage_cost = np.zeros_like(use)
    stranded_cost = np.zeros_like(use)
    end = min(start_month + term_months, months)
    periods = [(a, min(a + period_months, end)) for a in range(start_month, end, period_months)]
    amounts = [amount] * len(periods) if period_amounts is None else list(period_amounts)[:len(periods)]
    if start_month >= months or all(np.all(np.asarray(x) <= 0) for x in amounts):
        return Settlement(cost, drawn, stranded, overage, overage_cost, stranded_cost)
    cost[..., start_month:end] = 0.0
    lead = use.shape[:-1]
    carry = np.zeros(lead)
    minimum = monthly_minimum if np.any(np.asarray(monthly_minimum) > 0) else None
    # with a true-up the whole term's commitment is one pool: use in any period draws it down
    remaining = sum((x * (b - a) / period_months for x, (a, b) in zip(amounts, periods)), np.zeros(lead)) \
        if true_up else None
    value_last = np.zeros(lead)
    for i, (a, b) in enumerate(periods):
        u = use[..., a:b].sum(-1)
        lc = list_cost[..., a:b].sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            # list price per token; a period without use values the commitment at the reference.
            # Under one token of use the ratio is rounding noise (a GPU pool's overflow to the API
            # can be 1e-9 tokens): it priced a 2e8-token commitment at 1e17 once, so it is not used
            p = np.where(u >= 1.0, lc / np.where(u >= 1.0, u, 1.0), reference_price)
        if unit == "tokens":
            demand = u
            monthly = use[..., a:b]
            value_per_unit = p * (1.0 - discount)  # what a committed token costs
        else:  # dollars: use measured as discounted spend
            demand = lc * (1.0 - discount)
            monthly = list_cost[..., a:b] * (1.0 - discount)
            value_per_unit = np.ones_like(u)
        value_last = value_per_unit
        new_commit = amounts[i] * (b - a) / period_months
        if true_up:
            if minimum is None:
                d = np.minimum(demand, remaining)
                remaining = remaining - d
                short = np.zeros(lead)
            else:
                d, short, remaining = _draw_monthly(monthly, remaining, minimum)
            strand = short
            pay = (d + short) * value_per_unit  # drawn now; any shortfall is billed at the end of the term
        else:
            commit = new_commit + carry
            if minimum is None:
                d = np.minimum(demand, commit)
                unused, short = commit - d, 0.0
            else:
                d, short, unused = _draw_monthly(monthly, commit, minimum)
            last_period = i == len(periods) - 1
            carry = np.zeros(lead) if last_period else rollover_share * unused
            strand = unused - carry + short  # at the end of the term a rolled-over remainder expires
            pay = new_commit * value_per_unit
        over = np.maximum(demand - d, 0.0)
        if unit == "tokens":
            over_cost = over * p * overage_rate
        else:
            over_cost = over / np.maximum(1.0 - discount, 1e-12) * overage_rate
        last = b - 1
        cost[..., last] += pay + over_cost
        drawn[..., last] += d
        stranded[..., last] += strand
        overage[..., last] += over
        overage_cost[..., last] += over_cost
        stranded_cost[..., last] += strand * value_per_unit
    if true_up:
        cost[..., end - 1] += remaining * value_last
        stranded[..., end - 1] += remaining
        stranded_cost[..., end - 1] += remaining * value_last
    return Settlement(cost, drawn, stranded, overage, overage_cost, stranded_cost)


def _draw_monthly(monthly: np.ndarray, pool: np.ndarray, minimum) -> tuple:
    """Draw ``pool`` down month by month by each month's use (``monthly``: (..., months of the period)),
    and by at least ``minimum`` while it lasts: (use drawn, minimum shortfall charged, pool left)."""
    drawn = np.zeros(np.shape(pool))
    short = np.zeros(np.shape(pool))
    for k in range(monthly.shape[-1]):
        x = monthly[..., k]
        d = np.minimum(x, pool)
        pool = pool - d
        s = np.minimum(np.maximum(minimum - x, 0.0), pool)
        pool = pool - s
        drawn = drawn + d
        short = short + s
    return drawn, short, pool


def ramp_amounts(amount_by_year, value, start_month: int, term_months: int, period_months: int) -> list:
    """Per-period amounts of a ramped commitment: a period's amount is the sum, over its months, of
    1/12 of the amount of the contract year the month falls in (year k: months 12k … 12k + 11 of the
    term). Values are floats or per-path arrays, as ``value`` gives them."""
    years = [value(x) for x in amount_by_year]
    return [sum(years[(m - start_month) // 12] / 12.0 for m in range(a, a + period_months))
            for a in range(start_month, start_month + term_months, period_months)]


def seat_cost(seats: np.ndarray | float, fee_per_seat_month: float) -> np.ndarray:
    """Seat fees per month."""
    return np.asarray(seats, float) * fee_per_seat_month


TRUE_UP_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}


def seats_needed(users: np.ndarray, seats_per_user, minimum_seats=0.0) -> np.ndarray:
    """Whole seats a business unit needs each month: ceil(users × seats_per_user), at least
    ``minimum_seats`` (rounded up too). A product within 1e-9 (relative 1e-12) above a whole number
    is that number: float noise in a user count never buys a seat."""
    x = np.asarray(users, float) * _col(seats_per_user)
    whole = np.ceil(x - (1e-9 + 1e-12 * np.abs(x)))
    m = np.asarray(_col(minimum_seats), float)
    return np.maximum(whole, np.ceil(m - (1e-9 + 1e-12 * np.abs(m))))


def billed_seats(need: np.ndarray, start_month: int, term_months: int, true_up) -> np.ndarray:
    """Seats billed each month of the term (0 outside it) for the seats ``need``ed each month.

    ``true_up`` False: the seats needed, month by month. A cadence (``monthly``, ``quarterly``,
    ``annual``: every 1, 3, 12 months from the term's first month): at each true-up the billed seats
    become the most seats needed in any month of the term so far, that month included, and stay
    until the next true-up; they never go down within the term, and seats needed between true-ups
    are billed from the next true-up on.
    """
    need = np.asarray(need, float)
    out = np.zeros_like(need)
    M = need.shape[-1]
    a, b = start_month, min(start_month + term_months, M)
    if a >= b:
        return out
    if not true_up:
        out[..., a:b] = need[..., a:b]
        return out
    step = TRUE_UP_MONTHS[true_up]
    peak = np.maximum.accumulate(need[..., a:b], axis=-1)
    for t in range(a, b, step):
        out[..., t:min(t + step, b)] = peak[..., t - a, None]
    return out


def contract_seats(c, users: dict | None, value, months: int) -> tuple[np.ndarray, np.ndarray]:
    """(seats billed, seat fee) per month of a seats contract: ``units`` fixed seats over the term, or
    the seats its business unit's users need (``users[name]``: (..., months)), trued up as
    ``c.true_up`` says, at ``fee_per_seat_month`` (default ``price_per_unit_month``)."""
    a, b = c.start_month, min(c.start_month + c.term_months, months)
    if c.business_unit is None:
        in_term = np.zeros(months)
        in_term[a:b] = 1.0
        seats = _col(value(c.units)) * in_term
    else:
        need = seats_needed(users[c.business_unit], value(c.seats_per_user), value(c.minimum_seats))
        seats = billed_seats(need, c.start_month, c.term_months, c.true_up)
    fee = c.fee_per_seat_month if c.fee_per_seat_month is not None else c.price_per_unit_month
    return seats, seats * _col(value(fee))


def _col(x):
    """A per-path (P,) value as (P, 1), so it broadcasts against (P, months); scalars unchanged."""
    return np.asarray(x, float)[..., None] if np.ndim(x) else x


@dataclass
class ApiSettlement:
    """API spend after contracts, per (workload, model) key, plus each contract's settlement."""

    cost: dict  # (workload, ref) -> (..., M) spend after contracts
    contracts: dict  # contract name -> dict(drawn, stranded, overage, cost) arrays (..., M)
    idle: dict  # contract name -> (..., M) commitment paid in months with no covered use
    # seats contract name -> dict(seats=billed seats, fee=seat fee) arrays (..., M), every seats contract
    seats: dict = field(default_factory=dict)


def fallback_token_price(contract, book, refs_in_use) -> float:
    """List price per token (mean of input and output rates) of the models a contract covers.

    Values a token commitment in a run where the covered models see no use at all, so take-or-pay
    still costs what was committed.
    """
    refs = list(contract.models) or list(refs_in_use)
    prices = []
    for r in refs:
        try:
            card = book.card(r)
        except LookupError:
            continue
        prices.append((card.base.input + card.base.output) / 2.0 / 1e6)
    return float(np.mean(prices)) if prices else 0.0


def _settle_terms(terms, c, use, lst, ref_price: float, value) -> Settlement:
    """Settle commitment ``terms`` (a commit contract, or a seats contract's ``commit``) over the
    start and term of contract ``c`` on covered ``use`` (tokens) and its list cost ``lst``."""
    ramp = (ramp_amounts(terms.amount_by_year, value, c.start_month, c.term_months, terms.period_months)
            if terms.amount_by_year is not None else None)
    return settle_commit(use, lst, value(terms.amount), unit="tokens" if terms.kind == "token_commit" else "dollars",
                         discount=value(terms.discount), overage_rate=value(terms.overage_rate),
                         start_month=c.start_month, term_months=c.term_months, period_months=terms.period_months,
                         rollover_share=value(terms.rollover_share), true_up=bool(terms.true_up),
                         reference_price=ref_price, period_amounts=ramp,
                         monthly_minimum=value(terms.monthly_minimum))


def _reference_price(c, book, cost: dict, use, lst) -> float:
    """List price per token of a contract's covered use over the run, or of its models when unused."""
    fallback = fallback_token_price(c, book, {k[1] for k in cost}) if book is not None else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.where(use.sum(-1) > 0, lst.sum(-1) / np.where(use.sum(-1) > 0, use.sum(-1), 1.0), fallback)
    return float(np.mean(ref))


def settle_api_contracts(contracts, cost: dict, tokens: dict, hour_share: dict, hour_month: np.ndarray,
                         month_hours: np.ndarray, value=float, book=None, users: dict | None = None) -> ApiSettlement:
    """Apply token/dollar commits, provisioned throughput and seats to API list spend.

    ``cost`` and ``tokens`` map (workload, model ref) to list spend and tokens per month (any
    leading dims, months last). ``hour_share[w]`` spreads a month's volume of workload w over its
    hours (summing to 1 within each month), which sets how much of it provisioned throughput can
    absorb. Covered spend is replaced by the settled cost, shared in proportion to list spend;
    commitment paid in a month with no covered use is reported in ``idle``. ``users`` (business
    unit -> users per month) sizes seats that follow a unit; every seats contract's billed seats and
    fee are in ``seats``. A seats contract with included tokens or a commitment settles its covered
    use too: included tokens first (``drawn``/``stranded`` of the contract when it has no
    commitment, ``included_drawn`` always), the rest by the commitment in its unit, or at
    ``overage_rate`` × list within the term.
    """
    settled = {k: np.asarray(v, float).copy() for k, v in cost.items()}
    out: dict = {}
    idle: dict = {}
    seat_out: dict = {}
    some = next(iter(settled.values()), None)
    lead = some.shape[:-1] if some is not None else ()
    M = month_hours.size
    for c in contracts:
        if c.kind == "seats":
            seats, fee = contract_seats(c, users, value, M)
            seat_out[c.name] = dict(seats=seats, fee=fee)
            if c.included_tokens_per_seat_month is None and c.commit is None:
                continue
        elif c.kind not in ("token_commit", "dollar_commit", "provisioned_throughput"):
            continue
        covered = [k for k in settled if (not c.models or k[1] in c.models)
                   and (not c.workloads or k[0] in c.workloads)]
        lst = sum((settled[k] for k in covered), np.zeros(lead + (M,)))
        use = sum((np.asarray(tokens[k], float) for k in covered), np.zeros(lead + (M,)))
        a, b = c.start_month, min(c.start_month + c.term_months, M)
        if c.kind == "provisioned_throughput":
            cap_h = value(c.units) * value(c.tokens_per_minute_per_unit) * 60.0
            cap_h = np.asarray(cap_h, float)[..., None] if np.ndim(cap_h) else cap_h
            H = hour_month.size
            tok_h = np.zeros(lead + (H,))
            cost_h = {}
            for k in covered:
                share = hour_share[k[0]]
                tok_h = tok_h + np.asarray(tokens[k], float)[..., hour_month] * share
                cost_h[k] = np.asarray(settled[k], float)[..., hour_month] * share
            in_term = (hour_month >= a) & (hour_month < b)
            with np.errstate(invalid="ignore", divide="ignore"):
                f = np.where(in_term & (tok_h > 0), np.minimum(1.0, cap_h / np.where(tok_h > 0, tok_h, 1.0)), 0.0)
            unit_cost = np.zeros(M)
            unit_cost[a:b] = 1.0
            unit_cost = unit_cost * np.asarray(value(c.units) * value(c.price_per_unit_month), float)[..., None] \
                if np.ndim(value(c.units) * value(c.price_per_unit_month)) else unit_cost * value(c.units) * value(c.price_per_unit_month)
            spill = sum((_month_sum(cost_h[k] * (1.0 - f), hour_month, M) for k in covered), np.zeros(lead + (M,)))
            new = spill + unit_cost
            used = _month_sum(tok_h * f, hour_month, M)
            # overage is use above the capacity bought, in the term: outside it, or with no units, the
            # covered use is plain pay-as-you-go, not overage of this contract
            live = in_term & (np.asarray(cap_h, float) > 0)
            over_tok = _month_sum(np.where(live, tok_h * (1 - f), 0.0), hour_month, M)
            over_cost = sum((_month_sum(np.where(live, cost_h[k] * (1.0 - f), 0.0), hour_month, M) for k in covered),
                            np.zeros(lead + (M,)))
            cap_m = np.zeros(M)
            cap_m[a:b] = 1.0
            cap_m = cap_m * month_hours * cap_h
            with np.errstate(invalid="ignore", divide="ignore"):  # unused share of the capacity paid for
                idle_share = np.where(cap_m > 0, (cap_m - used) / np.where(cap_m > 0, cap_m, 1.0), 0.0)
            out[c.name] = dict(drawn=used, stranded=cap_m - used, overage=over_tok, cost=new, overage_cost=over_cost,
                               stranded_cost=unit_cost * idle_share)
        elif c.kind == "seats":
            included = (seats * _col(value(c.included_tokens_per_seat_month))
                        if c.included_tokens_per_seat_month is not None else np.zeros_like(seats))
            inc = np.minimum(use, included)  # included tokens draw the covered use down first
            rest = use - inc
            with np.errstate(invalid="ignore", divide="ignore"):
                rest_lst = lst * np.where(use > 0, rest / np.where(use > 0, use, 1.0), 1.0)
            extra = dict(included_tokens=included + 0.0 * use, included_drawn=inc, seats=seats + 0.0 * use,
                         seat_fee=fee + 0.0 * use)
            if c.commit is not None:
                st = _settle_terms(c.commit, c, rest, rest_lst, _reference_price(c, book, cost, use, lst), value)
                new = st.cost
                out[c.name] = dict(drawn=st.drawn, stranded=st.stranded, overage=st.overage, cost=st.cost,
                                   overage_cost=st.overage_cost, stranded_cost=st.stranded_cost, **extra)
            else:  # no commitment: the included tokens are the contract's prepaid quantity (tokens)
                live = np.zeros(M)
                live[a:b] = 1.0
                rate = _col(value(c.overage_rate))
                over_cost = rest_lst * rate * live
                new = rest_lst * (1.0 - live) + over_cost
                out[c.name] = dict(drawn=inc, stranded=included - inc, overage=rest * live, cost=new,
                                   overage_cost=over_cost, stranded_cost=np.zeros_like(new), **extra)
        else:
            st = _settle_terms(c, c, use, lst, _reference_price(c, book, cost, use, lst), value)
            new = st.cost
            out[c.name] = dict(drawn=st.drawn, stranded=st.stranded, overage=st.overage, cost=st.cost,
                               overage_cost=st.overage_cost, stranded_cost=st.stranded_cost)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(lst > 0, new / np.where(lst > 0, lst, 1.0), 0.0)
        for k in covered:
            settled[k] = settled[k] * ratio
        idle[c.name] = np.where(lst > 0, 0.0, new)
    return ApiSettlement(settled, out, idle, seat_out)


def _month_sum(x: np.ndarray, hour_month: np.ndarray, months: int) -> np.ndarray:
    """Sum an (..., H) hourly array into (..., M) months."""
    starts = np.r_[0, np.flatnonzero(np.diff(hour_month)) + 1]
    out = np.add.reduceat(x, starts, axis=-1)
    if out.shape[-1] < months:
        pad = np.zeros(out.shape[:-1] + (months - out.shape[-1],))
        out = np.concatenate([out, pad], axis=-1)
    return out


def contract_line_shares(contracts, st: ApiSettlement, unit_of: dict[str, str]) -> dict[str, np.ndarray]:
    """Each contract's own lines — a seats contract's fee, a commitment paid in months with no covered
    use — shared over the token workloads it covers: workload -> cost (..., M).

    Covered: the workloads whose API use the contract settles (its ``models`` and ``workloads``
    scope; a seats contract of a business unit, without a scope, its unit's workloads). The share
    follows each workload's settled API spend that month, equally where none had any. This is a view
    for the cost of outcomes (``sim.pools.outcomes``): the spend variables keep these lines as
    they are, so totals are unchanged. A contract that covers no workload in use keeps its lines.
    """
    out: dict[str, np.ndarray] = {}
    for c in contracts:
        lines = [np.asarray(x, float) for x in ((st.seats.get(c.name) or {}).get("fee"), st.idle.get(c.name))
                 if x is not None]
        if not lines:
            continue
        keys = [k for k in st.cost if (not c.models or k[1] in c.models) and (not c.workloads or k[0] in c.workloads)
                and (c.kind != "seats" or c.models or c.workloads or c.business_unit is None
                     or unit_of.get(k[0]) == c.business_unit)]
        names = list(dict.fromkeys(k[0] for k in keys))
        if not names:
            continue
        amount = sum(lines[1:], lines[0])
        spend = {n: sum(np.asarray(st.cost[k], float) for k in keys if k[0] == n) for n in names}
        total = sum(spend.values())
        for n in names:
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(total > 0, spend[n] / np.where(total > 0, total, 1.0), 1.0 / len(names))
            out[n] = out.get(n, 0.0) + amount * share
    return out
