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


class Contract(Model):
    """A pre-committed contract, settled per period.

    kinds: ``token_commit`` (``amount`` tokens per period at ``discount`` off list),
    ``dollar_commit`` (``amount`` of spend per period, drawn down at discounted rates),
    ``provisioned_throughput`` (``units`` × ``tokens_per_minute_per_unit`` capacity at
    ``price_per_unit_month``, spill to pay-go), ``reserved_gpus`` (see the neocloud pool's
    reservation), ``seats`` (``units`` seats at ``price_per_unit_month``).
    Unused commitment is stranded; ``rollover_share`` of it carries to the next period; use above
    the commitment is overage billed at ``overage_rate`` × list; with ``true_up`` a shortfall over
    the whole term is billed at its end instead of per period.
    """

    name: str = Field(description="Unique contract name (used by strategies).")
    kind: Literal["token_commit", "dollar_commit", "provisioned_throughput", "reserved_gpus", "seats"] = Field(
        description="Contract kind.")
    models: list[str] = Field(default_factory=list, description="provider/model refs covered (empty: all API models).")
    workloads: list[str] = Field(default_factory=list, description="Workloads covered (empty: every workload on the "
                                 "covered models), e.g. the one a provisioned deployment serves.")
    start_month: int = Field(0, ge=0, le=MAX_MONTH, description="First month of the term.")
    term_months: int = Field(12, ge=1, le=MAX_MONTH, description="Length of the term.")
    period_months: int = Field(1, ge=1, le=MAX_MONTH, description="Settlement period.")
    amount: NonNeg = unit("tokens or currency per period", default=0.0, description="Committed tokens (token_commit) or spend (dollar_commit) per period.")
    discount: Prob = unit("fraction", default=0.0, description="Discount off list on committed use.")
    overage_rate: NonNeg = unit("× list", default=1.0, description="Price of use above the commitment, as a multiple of list.")
    rollover_share: Prob = unit("share", default=0.0, description="Share of unused commitment carried to the next period.")
    true_up: bool = Field(False, description="Settle shortfall at the end of the term, not per period.")
    units: NonNeg = unit("units", default=0.0, description="Provisioned units or seats.")
    price_per_unit_month: Money = unit("currency/unit-month", default=0.0, description="Price per unit per month.")
    tokens_per_minute_per_unit: Tokens = unit("tokens/min", default=0.0, description="Throughput per provisioned unit.")

    @model_validator(mode="after")
    def _period(self) -> "Contract":
        if self.term_months % self.period_months:
            raise ValueError(
                f"term_months ({self.term_months}) must be a multiple of period_months ({self.period_months})")
        return self




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
