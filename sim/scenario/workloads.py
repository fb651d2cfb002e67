"""What users do with models: the workload kinds and their levers.

Token fields are per model call unless named otherwise. Session structure (history re-sent
each turn, agent context growing each step) is computed by ``sim.demand.sessions`` from these
fields; nothing here multiplies anything.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, field_validator, model_validator

from .distributions import mean_of
from .noise import WorkloadNoise
from .types import Model, Money, Num, NonNeg, Positive, Prob, Ratio, Tokens, unit

PoolName = Literal["api", "neocloud", "owned"]


class ModelChoice(Model):
    """Which model serves this workload in each pool.

    ``api`` is a price-catalog reference ``provider/model`` (e.g. ``anthropic/claude-sonnet-4-5``);
    ``neocloud`` and ``owned`` name a model class of the hardware catalog (e.g. ``llama-3.3-70b``).
    """

    api: str | None = Field(None, description="provider/model for the pay-per-token API.")
    neocloud: str | None = Field(None, description="Model class served on rented GPUs.")
    owned: str | None = Field(None, description="Model class served on owned GPUs.")
    precision: str | None = Field(None, description="Precision on GPU pools (fp8, fp4, ...); default: best available.")


class SLO(Model):
    """Service level a GPU pool must meet for this workload."""

    interactivity_tok_s_user: Positive = unit(
        "tokens/s per user", default=20.0,
        description="Decode speed each user must see; GPU throughput is read off the catalog curve here.")
    ttft_s: Positive = unit("s", default=3.0, description="Time-to-first-token target.")


class Tools(Model):
    """Tool (function) definitions sent with each call."""

    count: NonNeg = unit("tools", default=0.0, description="Number of tools exposed.")
    tokens_each: Tokens = unit("tokens", default=250.0, description="Schema tokens per tool definition.")
    mode: Literal["schema", "code"] = Field(
        "schema", description="schema: every definition re-sent each call; code: a small constant API stub.")
    code_mode_tokens: Tokens = unit("tokens", default=400.0, description="Tokens of the code-mode stub.")


class History(Model):
    """How much of the conversation each turn re-sends.

    ``full`` re-sends every earlier turn (input grows quadratically with turns), ``window``
    keeps the last ``window_turns`` turns (linear), ``summary`` keeps the last ``window_turns``
    plus a running summary of ``summary_tokens``, refreshed by an extra call each time
    ``window_turns`` turns have rolled out of the window.
    """

    policy: Literal["full", "window", "summary"] = Field("full", description="History policy.")
    window_turns: NonNeg = unit("turns", default=6.0, description="Turns kept by window/summary.")
    summary_tokens: Tokens = unit("tokens", default=400.0, description="Size of the running summary.")


class RAG(Model):
    """Retrieved context added to each call (not kept in history)."""

    chunks: NonNeg = unit("chunks", default=0.0, description="Chunks retrieved per call.")
    chunk_tokens: Tokens = unit("tokens", default=400.0, description="Tokens per chunk.")
    compression: Ratio = unit("ratio", default=1.0, description="Kept share after context compression (1 = none).")


class PromptCache(Model):
    """Provider prompt caching: a prefix sent again within the TTL is read at the cache rate."""

    enabled: bool = Field(False, description="Mark prompts for caching.")
    ttl: Literal["5m", "1h"] = Field("5m", description="Cache time-to-live (1h costs a higher write premium).")
    min_tokens: NonNeg = unit("tokens", default=1024.0, description="Minimum cacheable prefix (provider rule).")
    shared_prefix: bool = Field(True, description="System prompt and tools are identical across users, so one user's write serves others.")


class SemanticCache(Model):
    """Answer cache in front of the model: a hit needs no model call."""

    enabled: bool = Field(False, description="Use a semantic cache.")
    hit_rate: Prob = unit("share of calls", default=0.0, description="Share of calls answered from the cache.")


class Routing(Model):
    """Cascade: a cheap model answers first; a share escalates to the primary (both billed)."""

    enabled: bool = Field(False, description="Use the cascade.")
    cheap_model: str | None = Field(None, description="provider/model of the first, cheap model (API pool).")
    escalation_probability: Prob = unit("probability", default=0.3, description="Share of calls escalated.")


class Outcome(Model):
    """What a unit of work (a session, task or document) is for, and what achieving it is worth.

    Each unit of work achieves the outcome with the probability of the model that served it
    (``success``). With a cascade (``levers.routing``) the cheap model answers first and its
    failures escalate to the primary model, so P(outcome) = p_cheap + min(e, 1 − p_cheap)·p_primary,
    e the escalation probability; e defaults to 1 − p_cheap (escalation follows from the cheap
    model's failure rate) when ``levers.routing.escalation_probability`` is not written. A unit the
    AI fails (or no pool could serve) goes to the human fallback when ``human_fallback_cost`` is
    given — a person achieves the outcome at that cost — and is lost otherwise.
    (``sim.pools.outcomes`` holds the formulas.)
    """

    name: str = Field(min_length=1, max_length=80, description="What is achieved, e.g. 'ticket resolved'.")
    # per model: plain numbers (a model reference holds '/' and '.', so it cannot be a key path to draw
    # under); one success for every model may be a distribution
    success: Union[Prob, dict[str, Annotated[float, Field(ge=0.0, le=1.0)]]] = unit(
        "probability",
        description="Probability that a unit of work achieves the outcome: one number or distribution for every "
                    "model, or one number per model (provider/model on the API, the model class on GPU pools).")
    value: Money = unit("currency/outcome", description="What one outcome is worth to the business.")
    human_fallback_cost: Money | None = unit(
        "currency/unit of work", default=None,
        description="Cost of a person achieving the outcome when the AI fails; omitted: a failed unit is lost.")
    review_cost: Money = unit("currency/unit of work", default=0.0,
                              description="Human review of every unit of work, successful or not.")
    # (after the fields above: in the class body this name hides the ``unit`` helper they use)
    unit: str = Field("outcome", min_length=1, max_length=40,
                      description="What is counted, e.g. 'ticket' (cost per ticket resolved).")

    @field_validator("success", mode="before")
    @classmethod
    def _per_model_numbers(cls, v):
        if isinstance(v, dict) and "dist" not in v:
            bad = [k for k, x in v.items() if not isinstance(x, (int, float)) or isinstance(x, bool)]
            if bad:
                raise ValueError(f"per-model success probabilities are numbers in [0, 1] ({', '.join(map(str, bad))} "
                                 "is not); an uncertain success is one distribution for every model")
        return v

    def success_of(self, model: str | None) -> Num:
        """The success probability of ``model`` (KeyError if a per-model table lacks it)."""
        if isinstance(self.success, dict):
            return self.success[model]
        return self.success

    def success_key(self, workload: str) -> str:
        """The key path under which the success probability is drawn (only one success is uncertain)."""
        return f"workloads.{workload}.outcome.success"


class Levers(Model):
    """Cost levers; each can be switched on to compare baseline and optimised spend."""

    prompt_cache: PromptCache = Field(default_factory=PromptCache, description="Prompt caching.")
    semantic_cache: SemanticCache = Field(default_factory=SemanticCache, description="Semantic cache.")
    routing: Routing = Field(default_factory=Routing, description="Routing / cascade.")
    output_cap_tokens: NonNeg | None = unit(
        "tokens", default=None, description="Hard cap on output (incl. reasoning) per call; none if omitted.")
    batch_share: Prob = unit("share of calls", default=0.0, description="Share of calls sent to the batch API.")
    compression: Ratio = unit(
        "ratio", default=1.0, description="Kept share of RAG context and tool results after prompt compression.")


class Retry(Model):
    """Failed calls and how they are retried.

    Each attempt ends in exactly one of: success; provider error (not billed); timeout (input
    and ``timeout_output_share`` of the output billed); validation failure (billed in full, the
    answer is unusable). Failed attempts are retried up to ``max_attempts`` with exponential
    backoff and jitter. The overhead multiplier alpha (billed tokens / first-attempt tokens)
    follows; ``alpha`` overrides it (e.g. from a bill) until the demand simulation measures one.
    """

    error_rate: Prob = unit("probability", default=0.0, description="Provider error (5xx/429) per attempt.")
    timeout_rate: Prob = unit("probability", default=0.0, description="Timeout per attempt.")
    timeout_output_share: Prob = unit("share", default=0.5, description="Share of output billed on a timeout.")
    validation_failure_rate: Prob = unit("probability", default=0.0, description="Unusable answer per attempt.")
    max_attempts: int = Field(3, ge=1, le=100, description="Attempts per call including the first.")
    backoff_base_s: NonNeg = unit("s", default=1.0, description="First backoff delay.")
    backoff_cap_s: NonNeg = unit("s", default=30.0, description="Largest backoff delay.")
    alpha: Positive | None = unit(
        "multiplier", default=None, description="Override: billed tokens per first-attempt token.")

    @model_validator(mode="after")
    def _total(self) -> "Retry":
        from .distributions import support_of

        hi = sum(support_of(v)[1] for v in (self.error_rate, self.timeout_rate, self.validation_failure_rate))
        if hi > 1.0:
            raise ValueError("error_rate + timeout_rate + validation_failure_rate can exceed 1; "
                             "they are exclusive outcomes of one attempt")
        return self


class _WorkloadBase(Model):
    name: str = Field(description="Unique workload name.")
    business_unit: str = Field(description="Name of the business unit whose users generate it.")
    models: ModelChoice = Field(description="Model per pool.")
    allowed_pools: list[PoolName] = Field(
        default_factory=lambda: ["api"], min_length=1,
        description="Pools this workload may run on, in no particular order (dispatch uses merit order).")
    slo: SLO = Field(default_factory=SLO, description="Latency target on GPU pools.")
    system_prompt_tokens: Tokens = unit("tokens", default=800.0, description="System prompt per call.")
    output_tokens: Tokens = unit("tokens", default=300.0, description="Visible output per call.")
    reasoning_multiplier: NonNeg = unit(
        "× output", default=0.0, description="Hidden reasoning tokens per output token (billed as output).")
    tools: Tools = Field(default_factory=Tools, description="Tool definitions.")
    rag: RAG = Field(default_factory=RAG, description="Retrieved context.")
    levers: Levers = Field(default_factory=Levers, description="Cost levers.")
    retry: Retry = Field(default_factory=Retry, description="Failures and retries.")
    demand_noise: WorkloadNoise | None = Field(
        None, description="This workload's own day shock and drift (default: the scenario's demand_noise, shared "
                          "by every workload without its own).")
    outcome: Outcome | None = Field(
        None, description="What a unit of work achieves and what that is worth (cost per outcome, value, ROI).")

    RATE_FIELD: ClassVar[str] = ""  # the field holding units of work per user per full day

    @property
    def rate(self):
        """Units of work (sessions, tasks, documents) per active user on a full working day."""
        return getattr(self, self.RATE_FIELD)

    @property
    def rate_key(self) -> str:
        return f"workloads.{self.name}.{self.RATE_FIELD}"

    def escalation_follows_outcome(self) -> bool:
        """Whether a cascade escalates the cheap model's failures: an outcome gives the cheap model's
        success and ``levers.routing.escalation_probability`` is not written."""
        r = self.levers.routing
        if "escalation_probability" in r.model_fields_set or self.outcome is None or not r.cheap_model:
            return False
        return not isinstance(self.outcome.success, dict) or r.cheap_model in self.outcome.success

    def escalation(self) -> Num:
        """Share of a cascade's calls escalated to the primary model: as written, else (with an outcome
        giving the cheap model's success) the cheap model's mean failure rate, else the default."""
        r = self.levers.routing
        if not self.escalation_follows_outcome():
            return r.escalation_probability
        # billing is linear in the share, so the mean failure rate bills the mean of per-future escalations
        return 1.0 - float(mean_of(self.outcome.success_of(r.cheap_model)))


class ChatWorkload(_WorkloadBase):
    """Conversational sessions of several turns; history is re-sent each turn."""

    kind: Literal["chat"] = Field(description="Workload kind.")
    RATE_FIELD: ClassVar[str] = "sessions_per_user_per_day"
    sessions_per_user_per_day: NonNeg = unit("sessions", description="Sessions per active user on a full working day.")
    turns: Positive = unit("turns", default=6.0, description="Turns (model calls) per session.")
    user_message_tokens: Tokens = unit("tokens", default=80.0, description="User message per turn.")
    think_time_s: NonNeg = unit("s", default=45.0, description="User time between a reply and the next message.")
    history: History = Field(default_factory=History, description="History policy.")


class RagWorkload(ChatWorkload):
    """Question answering over retrieved documents (a chat whose calls carry RAG context)."""

    kind: Literal["rag"] = Field(description="Workload kind.")  # type: ignore[assignment]
    turns: Positive = unit("turns", default=1.5, description="Turns (model calls) per session.")
    rag: RAG = Field(default_factory=lambda: RAG(chunks=5.0), description="Retrieved context.")


class SubAgents(Model):
    """Sub-agent fan-out: a step may spawn a sub-task of its own steps."""

    probability_per_step: Prob = unit("probability", default=0.0, description="Chance a step spawns a sub-agent.")
    steps: Positive = unit("steps", default=4.0, description="Steps of a sub-agent task.")


class AgentWorkload(_WorkloadBase):
    """Agent tasks: steps re-send a growing context of earlier steps and tool results."""

    kind: Literal["agent"] = Field(description="Workload kind.")
    RATE_FIELD: ClassVar[str] = "tasks_per_user_per_day"
    tasks_per_user_per_day: NonNeg = unit("tasks", description="Tasks per active user on a full working day.")
    steps: Positive = unit("steps", default=12.0, description="Model calls per task (before sub-agents).")
    task_prompt_tokens: Tokens = unit("tokens", default=600.0, description="Task description sent with every step.")
    tool_result_tokens: Tokens = unit("tokens", default=900.0, description="Tool output appended to the context per step.")
    step_time_s: NonNeg = unit("s", default=8.0, description="Tool execution time between steps.")
    subagents: SubAgents = Field(default_factory=SubAgents, description="Sub-agent fan-out.")
    quota_tokens: Tokens | None = unit(
        "tokens", default=None, description="Hard cap on tokens per task (input + output); the task stops at the quota.")


class BatchWorkload(_WorkloadBase):
    """Document jobs sent to the batch API (discounted, delayed)."""

    kind: Literal["batch"] = Field(description="Workload kind.")
    RATE_FIELD: ClassVar[str] = "documents_per_user_per_day"
    documents_per_user_per_day: NonNeg = unit("documents", description="Documents per active user per full day.")
    input_tokens_per_document: Tokens = unit("tokens", default=3000.0, description="Document tokens per call.")
    calls_per_document: Positive = unit("calls", default=1.0, description="Model calls per document.")
    completion_hours: Positive = unit("h", default=24.0, description="Batch completion window.")


class EmbeddedSaasWorkload(Model):
    """A SaaS tool with AI inside: seat fees, with hidden token use reported for visibility only."""

    kind: Literal["embedded_saas"] = Field(description="Workload kind.")
    name: str = Field(description="Unique workload name.")
    business_unit: str = Field(description="Business unit that holds the seats.")
    seats_per_user: Prob = unit("seats per user", default=1.0, description="Share of the unit's users with a seat.")
    fee_per_seat_month: NonNeg = unit("currency/seat-month", description="Seat fee.")
    hidden_input_tokens_per_seat_month: Tokens = unit(
        "tokens", default=0.0, description="Estimated tokens the vendor consumes per seat (visibility only).")
    hidden_output_tokens_per_seat_month: Tokens = unit("tokens", default=0.0, description="As above, output.")


Workload = Annotated[
    Union[ChatWorkload, RagWorkload, AgentWorkload, BatchWorkload, EmbeddedSaasWorkload],
    Field(discriminator="kind"),
]
TOKEN_WORKLOADS = (ChatWorkload, RagWorkload, AgentWorkload, BatchWorkload)
