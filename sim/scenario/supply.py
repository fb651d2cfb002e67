"""Where tokens are served and what it costs: pools, contracts, price overrides.

Defaults marked "catalog" are read from the hardware catalog (``calibration/hardware/*.yaml``),
where each number carries its source; defaults written here cite
``shared/research/infra-economics.md`` (table rows named in the description).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..limits import MAX_MONTH, MAX_PRICE_PER_MTOK
from .types import Model, Money, NonNeg, Positive, Prob, Ratio, Tokens, Trend, unit


class RateLimits(Model):
    """Provider rate limits on the API pool (per model deployment)."""

    rpm: Positive | None = unit("requests/min", default=None, description="Requests per minute; none = unlimited.")
    tpm: Positive | None = unit("tokens/min", default=None, description="Tokens per minute; none = unlimited.")


class PriceTrend(Model):
    """Yearly change of API list prices (−0.3 = 30 % cheaper each year).

    Defaults: commodity tiers fall (infra-economics.md "api_price_decline_fixed_capability",
    taken conservatively at ~2×/yr for a fixed model), frontier tiers flat
    ("frontier_list_price_change" mode 0).
    """

    commodity_per_year: Trend = unit("fraction/yr", default=-0.3, description="Change of commodity-tier prices.")
    frontier_per_year: Trend = unit("fraction/yr", default=0.0, description="Change of frontier-tier prices.")


class ApiPool(Model):
    """Pay-per-token API."""

    enabled: bool = Field(True, description="Offer this pool to workloads.")
    frontier_models: list[str] = Field(
        default_factory=list, description="provider/model refs that follow the frontier price trend (others: commodity).")
    price_trend: PriceTrend = Field(default_factory=PriceTrend, description="List-price trend.")
    rate_limits: RateLimits = Field(default_factory=RateLimits, description="Rate limits.")


class NeocloudPool(Model):
    """Rented GPUs: reserved for a term (take-or-pay) and on-demand with a spin-up lag."""

    enabled: bool = Field(False, description="Offer this pool to workloads.")
    gpu: str = Field("h100-sxm", description="GPU id from the hardware catalog.")
    reserved_gpus: NonNeg = unit("GPUs", default=0.0, description="GPUs reserved for the term.")
    reserved_start_month: int = Field(0, ge=0, le=MAX_MONTH, description="Month the reservation starts.")
    reserved_term_months: int = Field(12, ge=1, le=MAX_MONTH, description="Reservation term.")
    on_demand_max_gpus: NonNeg = unit("GPUs", default=0.0, description="Cap on on-demand GPUs (0 = none).")
    on_demand_price_per_gpu_hour: Money | None = unit(
        "currency/GPU-h", default=None, description="On-demand price; default: catalog mode for the GPU.")
    reserved_price_per_gpu_hour: Money | None = unit(
        "currency/GPU-h", default=None, description="Reserved price; default: catalog 1-year mode.")
    price_trend_per_year: Trend = unit(
        "fraction/yr", default=-0.15, description="Rental price drift (infra-economics.md h100_rental_annual_drift mode).")
    spin_up_hours: NonNeg = unit("h", default=0.5, description="Lag before on-demand GPUs serve.")
    availability: Prob = unit("share", default=0.97, description="Share of GPU time able to serve.")
    gpu_headroom: Ratio = unit("share", default=0.8, description="Target peak utilisation when serving (SLA headroom).")


class Purchase(Model):
    """A purchase of owned GPUs."""

    month: int = Field(ge=0, le=MAX_MONTH, description="Month the order is placed (0 = first month).")
    gpus: NonNeg = unit("GPUs", description="GPUs bought.")


class OwnedPool(Model):
    """Owned GPUs ("AI factory"): capex, power, facility, staff, licences.

    Defaults are the modes of infra-economics.md §1 (rows named per field).
    """

    enabled: bool = Field(False, description="Offer this pool to workloads.")
    gpu: str = Field("h200", description="GPU id from the hardware catalog.")
    purchases: list[Purchase] = Field(default_factory=list, description="Orders of GPUs.")
    lead_time_months: NonNeg = unit("months", default=4.0, description="Order to serving (server_lead_time mode 16 weeks).")
    capex_per_gpu: Money | None = unit(
        "currency/GPU", default=None, description="All-in server capex per GPU; default: catalog mode.")
    network_share: Prob = unit("share of capex", default=0.10, description="Network capex share (network_share_of_it_capex).")
    storage_share: Prob = unit("share of capex", default=0.02, description="Storage capex share (storage_share_of_it_capex).")
    useful_life_years: Positive = unit("years", default=5.0, description="Straight-line depreciation life (book_useful_life_servers).")
    residual_value_share: Prob = unit("share of capex", default=0.10, description="Resale value at end of life.")
    pue: Positive = unit("ratio", default=1.3, description="Power usage effectiveness (pue mode).")
    power_price_per_kwh: Money = unit("currency/kWh", default=0.085, description="Electricity (elec_price_us_industrial mode).")
    colocation_per_kw_month: Money = unit("currency/kW-month", default=190.0, description="Colocation on nameplate kW (colo_rate_north_america mode).")
    staff_fte: NonNeg = unit("FTE", default=1.0, description="Operations staff floor.")
    gpus_per_fte: Positive = unit("GPUs/FTE", default=150.0, description="Extra FTE per this many GPUs (gpus_per_ops_fte).")
    staff_cost_per_fte_year: Money = unit("currency/yr", default=250000.0, description="Loaded FTE cost (ops_fte_loaded_cost).")
    licence_per_gpu_year: Money = unit("currency/GPU-yr", default=0.0, description="Software licence (nvaie_license: 0 with vLLM/SGLang, 4,500 with NVAIE).")
    support_share_per_year: Prob = unit("share of capex/yr", default=0.06, description="Hardware support and spares (hw_support_and_spares).")
    availability: Prob = unit("share", default=0.95, description="Share of GPU time able to serve (failures, maintenance).")
    gpu_headroom: Ratio = unit("share", default=0.8, description="Target peak utilisation when serving (SLA headroom).")
    generation_improvement_per_year: NonNeg = unit(
        "fraction/yr", default=0.3, description="Throughput-per-capex gain for GPUs bought later (40-50%/generation, 12-18 month cadence).")

    @model_validator(mode="after")
    def _shares(self) -> "OwnedPool":
        from .distributions import support_of

        if support_of(self.network_share)[1] + support_of(self.storage_share)[1] >= 1.0:
            raise ValueError("network_share + storage_share must stay below 1 (they are shares of total IT capex)")
        return self


class Pools(Model):
    """The three kinds of capacity."""

    api: ApiPool = Field(default_factory=ApiPool, description="Pay-per-token API.")
    neocloud: NeocloudPool = Field(default_factory=NeocloudPool, description="Rented GPUs.")
    owned: OwnedPool = Field(default_factory=OwnedPool, description="Owned GPUs.")


TRUE_UP_CADENCES = ("monthly", "quarterly", "annual")
_YEARS = MAX_MONTH // 12


def _amount_by_year() -> Any:
    return unit("tokens or currency per contract year", default=None, min_length=1, max_length=_YEARS, description=(
        "A ramped commitment: the amount of each contract year (year 1, 2, ...), one per 12 months of the "
        "term, spread evenly over the year's months (a period's amount is the sum of its months' 1/12 "
        "shares); replaces `amount`."))


def _monthly_minimum() -> Any:
    return unit("tokens or currency per month", default=0.0, description=(
        "Least use charged in each month of a pooled period (12-month pool, true-up): a month's use below "
        "it draws the pool down by the minimum anyway (the shortfall is stranded) while the pool lasts. "
        "0: none."))


def _located(loc: tuple, msg: str) -> ValueError:
    from .model import LocatedError  # the scenario module imports this one

    return LocatedError(loc, msg)


def _one_amount(terms: Any) -> None:
    from .distributions import support_of

    if terms.amount_by_year is not None and support_of(terms.amount)[1] > 0:
        raise _located(("amount",), "give amount (per period) or amount_by_year (a ramp), not both")


def _ramp_problem(terms: Any, term_months: int, where: tuple) -> tuple | None:
    if terms.amount_by_year is None:
        return None
    years = len(terms.amount_by_year)
    if years * 12 != term_months:
        return (where + ("amount_by_year",), f"{years} yearly amounts cover {years * 12} months, but the term is "
                f"{term_months} months; give one amount per 12 months of the term")
    return None


class SeatCommit(Model):
    """The consumption commitment of a seats contract: settled on the covered use the seats' included
    tokens leave, with the contract's start, term, models and workloads.

    A block of its own rather than the contract's ``amount``/``discount``/``true_up`` keys: on a seats
    contract ``true_up`` is the seat true-up cadence and ``units``/``price_per_unit_month`` are the fixed
    seat form, so the commitment's terms (its own ``true_up`` among them) stay apart from the seat
    terms; a strategy sets them as ``contracts.NAME.commit.amount``.
    """

    kind: Literal["token_commit", "dollar_commit"] = Field(description="Committed tokens or committed spend.")
    amount: NonNeg = unit("tokens or currency per period", default=0.0,
                          description="Committed tokens (token_commit) or spend (dollar_commit) per period.")
    amount_by_year: list[NonNeg] | None = _amount_by_year()
    discount: Prob = unit("fraction", default=0.0, description="Discount off list on committed use.")
    overage_rate: NonNeg = unit("× list", default=1.0, description="Price of use above the commitment, as a multiple of list.")
    period_months: int = Field(1, ge=1, le=MAX_MONTH, description=(
        "Settlement period; 12 is an annual drawdown pool (a year's amount used in any of its months, "
        "stranded known at the year end)."))
    rollover_share: Prob = unit("share", default=0.0, description="Share of unused commitment carried to the next period (0: none).")
    true_up: bool = Field(False, description="One pool for the whole term, shortfall billed at its end.")
    monthly_minimum: NonNeg = _monthly_minimum()

    @model_validator(mode="after")
    def _amounts(self) -> "SeatCommit":
        _one_amount(self)
        return self


class Contract(Model):
    """A pre-committed contract, settled per period.

    kinds: ``token_commit`` (``amount`` tokens per period at ``discount`` off list),
    ``dollar_commit`` (``amount`` of spend per period, drawn down at discounted rates),
    ``provisioned_throughput`` (``units`` × ``tokens_per_minute_per_unit`` capacity at
    ``price_per_unit_month``, spill to pay-go), ``reserved_gpus`` (see the neocloud pool's
    reservation), ``seats`` (``units`` seats at ``price_per_unit_month``, or seats that follow a
    business unit's users, with included tokens and a consumption ``commit``).
    Unused commitment is stranded; ``rollover_share`` of it carries to the next period; use above
    the commitment is overage billed at ``overage_rate`` × list; with ``true_up`` a shortfall over
    the whole term is billed at its end instead of per period. ``period_months: 12`` is an annual
    drawdown pool; ``amount_by_year`` ramps the commitment by contract year.

    Seats following ``business_unit``: a month needs ceil(users × ``seats_per_user``) whole seats,
    at least ``minimum_seats``. ``true_up`` is then the seat true-up cadence: at each true-up (the
    term's first month and every 1, 3 or 12 months after it: ``monthly``, ``quarterly``,
    ``annual``) the billed seats become the most seats needed in any month of the term so far, that
    month included, and are billed every month until the next true-up: seats added between two
    true-ups are paid from the next one on (never back-billed), and billed seats never go down within
    the term. ``false`` (the default): no true-up, each month bills the seats it needs (up and down).
    Each billed seat includes ``included_tokens_per_seat_month`` of the covered use that month (use
    it or lose it), drawn down first; the rest goes to ``commit`` if there is one, else is billed at
    ``overage_rate`` × list. The fee (``fee_per_seat_month`` × billed seats) is shown back to the
    business unit; a fixed seat count's fee is shared.
    """

    name: str = Field(description="Unique contract name (used by strategies).")
    kind: Literal["token_commit", "dollar_commit", "provisioned_throughput", "reserved_gpus", "seats"] = Field(
        description="Contract kind.")
    models: list[str] = Field(default_factory=list, description="provider/model refs covered (empty: all API models).")
    workloads: list[str] = Field(default_factory=list, description="Workloads covered (empty: every workload on the "
                                 "covered models), e.g. the one a provisioned deployment serves.")
    start_month: int = Field(0, ge=0, le=MAX_MONTH, description="First month of the term.")
    term_months: int = Field(12, ge=1, le=MAX_MONTH, description="Length of the term.")
    period_months: int = Field(1, ge=1, le=MAX_MONTH, description=(
        "Settlement period; 12 is an annual drawdown pool (a year's amount used in any of its months, "
        "stranded known at the year end)."))
    amount: NonNeg = unit("tokens or currency per period", default=0.0, description="Committed tokens (token_commit) or spend (dollar_commit) per period.")
    discount: Prob = unit("fraction", default=0.0, description="Discount off list on committed use.")
    overage_rate: NonNeg = unit("× list", default=1.0, description="Price of use above the commitment, as a multiple of list.")
    rollover_share: Prob = unit("share", default=0.0, description="Share of unused commitment carried to the next period (0: none).")
    true_up: bool | Literal["monthly", "quarterly", "annual"] = Field(False, description=(
        "token_commit, dollar_commit: settle the shortfall at the end of the term, not per period (one pool "
        "for the term). seats following a business unit: the seat true-up cadence, monthly, quarterly or "
        "annual (false: seats follow the users each month, up and down)."))
    units: NonNeg = unit("units", default=0.0, description="Provisioned units or seats.")
    price_per_unit_month: Money = unit("currency/unit-month", default=0.0, description="Price per unit per month.")
    tokens_per_minute_per_unit: Tokens = unit("tokens/min", default=0.0, description="Throughput per provisioned unit.")
    amount_by_year: list[NonNeg] | None = _amount_by_year()
    monthly_minimum: NonNeg = _monthly_minimum()
    business_unit: str | None = Field(None, description=(
        "seats: the business unit whose users the seats follow (instead of a fixed `units`); the fee is "
        "shown back to it."))
    seats_per_user: Prob = unit("seats per user", default=1.0, description="seats following a business unit: seats per user.")
    minimum_seats: NonNeg = unit("seats", default=0.0, description="seats following a business unit: the fewest seats billed.")
    fee_per_seat_month: Money | None = unit("currency/seat-month", default=None, description=(
        "seats: fee per billed seat per month (default: `price_per_unit_month`)."))
    included_tokens_per_seat_month: Tokens | None = unit("tokens/seat-month", default=None, description=(
        "seats: covered tokens included in each billed seat's fee each month (use it or lose it); none: "
        "the seats include no use."))
    commit: SeatCommit | None = Field(None, description=(
        "seats: a token or dollar commitment settled together with the seats on the covered use beyond "
        "the included tokens."))

    @model_validator(mode="after")
    def _period(self) -> "Contract":
        if self.term_months % self.period_months:
            raise ValueError(
                f"term_months ({self.term_months}) must be a multiple of period_months ({self.period_months})")
        return self

    @field_validator("true_up", mode="before")
    @classmethod
    def _cadence(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, str) and v in TRUE_UP_CADENCES):
            return v
        if isinstance(v, int) and v in (0, 1):  # what the plain true/false field accepted
            return bool(v)
        from .schema_errors import _what  # one message, not one per branch of the union

        raise ValueError(f"expected true or false, or a seat true-up cadence ({', '.join(TRUE_UP_CADENCES)}); "
                         f"got {_what(v)}")

    @model_validator(mode="after")
    def _kind_fields(self) -> "Contract":
        from .distributions import support_of

        given = self.model_fields_set
        seat_keys = ("business_unit", "seats_per_user", "minimum_seats", "fee_per_seat_month",
                     "included_tokens_per_seat_month", "commit")
        commits = ("token_commit", "dollar_commit")
        if self.kind != "seats":
            for k in seat_keys:
                if k in given and getattr(self, k) is not None:
                    raise _located((k,), f"{k} belongs to a seats contract; this is a {self.kind} contract")
            if isinstance(self.true_up, str):
                raise _located(("true_up",), f"a cadence ({self.true_up!r}) is a seats contract's seat true-up; a "
                               f"{self.kind} contract's true_up is true or false")
        if self.kind not in commits:
            for k in ("amount_by_year", "monthly_minimum"):
                if k in given and getattr(self, k) not in (None, 0, 0.0):
                    raise _located((k,), f"{k} belongs to a token_commit or dollar_commit contract (or a seats "
                                   f"contract's commit); this is a {self.kind} contract")
        else:
            _one_amount(self)
        problem = self.term_problem()
        if problem is not None:
            raise _located(*problem)
        if self.kind == "seats":
            follows = self.business_unit is not None
            if self.true_up is True:
                raise _located(("true_up",), "a seats contract's true_up is its seat true-up cadence: monthly, "
                               "quarterly or annual (false: seats follow the users each month)")
            if follows and support_of(self.units)[1] > 0:
                raise _located(("units",), "give units (a fixed seat count) or business_unit (seats that follow "
                               "its users), not both")
            if not follows:
                for k in ("seats_per_user", "minimum_seats", "true_up"):
                    if k in given and (k != "true_up" or self.true_up):
                        raise _located((k,), f"{k} applies to seats that follow a business unit's users; give "
                                       "business_unit (or a fixed units count without it)")
            if "fee_per_seat_month" not in given and "price_per_unit_month" not in given:
                raise _located(("fee_per_seat_month",), "a seats contract needs its fee: give fee_per_seat_month "
                               "(0 for seats that cost nothing, written as such)")
            if self.fee_per_seat_month is not None and support_of(self.price_per_unit_month)[1] > 0:
                raise _located(("fee_per_seat_month",), "give fee_per_seat_month or price_per_unit_month (its older "
                               "name), not both")
        return self

    def term_problem(self) -> tuple | None:
        """(key path below the contract, message) when a ramp or a seats contract's commitment does not fit
        the term, else None (checked here and again on the scenario: a strategy may set the commitment
        alone)."""
        if self.kind in ("token_commit", "dollar_commit"):
            return _ramp_problem(self, self.term_months, ())
        if self.kind == "seats" and self.commit is not None:
            if self.term_months % self.commit.period_months:
                return (("commit", "period_months"), f"the contract's term_months ({self.term_months}) must be a "
                        f"multiple of the commitment's period_months ({self.commit.period_months})")
            return _ramp_problem(self.commit, self.term_months, ("commit",))
        return None


class PriceOverride(Model):
    """A private or negotiated API rate, or a model the price library lacks (USD per million tokens)."""

    model: str = Field(description="provider/model reference.")
    input: float | None = unit("currency/MTok", default=None, ge=0, description="Input price.")
    output: float | None = unit("currency/MTok", default=None, ge=0, description="Output price.")
    cached_input: float | None = unit("currency/MTok", default=None, ge=0, description="Cache-read price.")
    cache_write_5m: float | None = unit("currency/MTok", default=None, ge=0, description="5-minute cache-write price.")
    cache_write_1h: float | None = unit("currency/MTok", default=None, ge=0, description="1-hour cache-write price.")
    batch_factor: float | None = unit("× standard", default=None, gt=0, le=1, description="Batch price multiplier.")
    discount: float | None = unit("fraction", default=None, ge=0, le=1, description="Negotiated discount off every list rate.")

    @model_validator(mode="after")
    def _pair(self) -> "PriceOverride":
        if (self.input is None) != (self.output is None):
            raise ValueError("give both input and output prices, or neither")
        for k in ("input", "output", "cached_input", "cache_write_5m", "cache_write_1h"):
            v = getattr(self, k)
            if v is not None and not (math.isfinite(v) and v <= MAX_PRICE_PER_MTOK):
                raise ValueError(f"{k} must be a finite price of at most {MAX_PRICE_PER_MTOK:,.0f} per million "
                                 f"tokens, got {v}")
        return self


class Prices(Model):
    """Which prices apply."""

    date: str | None = Field(None, description="Price-list date YYYY-MM-DD (default: the horizon start).")
    overrides: list[PriceOverride] = Field(default_factory=list, description="Private rates and extra models.")

    @field_validator("date", mode="before")
    @classmethod
    def _iso(cls, v: Any) -> Any:
        if isinstance(v, (_dt.date, _dt.datetime)):
            v = v.isoformat()[:10]
        if isinstance(v, str):
            try:
                d = _dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"expected a date as YYYY-MM-DD, got {v!r}") from None
            if not 2000 <= d.year <= 2100:  # the horizon's bounds (sim.scenario.model.YEARS)
                raise ValueError(f"the price date must lie between 2000 and 2100, got {v!r}")
        return v
