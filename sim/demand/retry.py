"""Failed calls and their retries: the outcome of one attempt and the backoff before the next.

Each attempt ends in exactly one outcome (as in ``sim.scenario.workloads.Retry`` and
``sim.pools.api.alpha_components``): success; provider error (nothing billed); timeout (input
and ``timeout_output_share`` of the output billed); validation failure (billed in full, answer
unusable). A failure is retried after an exponential backoff with full jitter,
U(0, min(cap, base·2^(k−1))) after the k-th attempt, up to ``max_attempts`` attempts. The
simulation counts billed tokens, so alpha = billed / first-attempt tokens comes out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario.distributions import mean_of

__all__ = ["OK", "ERROR", "TIMEOUT", "INVALID", "OUTCOMES", "RetryPolicy"]

OK, ERROR, TIMEOUT, INVALID = 0, 1, 2, 3
OUTCOMES = ("ok", "error", "timeout", "invalid")


@dataclass(frozen=True)
class RetryPolicy:
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_output_share: float = 0.5
    validation_failure_rate: float = 0.0
    max_attempts: int = 3
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 30.0

    @classmethod
    def from_scenario(cls, r) -> "RetryPolicy":
        """From a scenario ``Retry`` block (distributions enter at their means)."""
        return cls(mean_of(r.error_rate), mean_of(r.timeout_rate), mean_of(r.timeout_output_share),
                   mean_of(r.validation_failure_rate), int(r.max_attempts), mean_of(r.backoff_base_s),
                   mean_of(r.backoff_cap_s))

    @property
    def failure_rate(self) -> float:
        return self.error_rate + self.timeout_rate + self.validation_failure_rate

    def outcome(self, u: float) -> int:
        """Outcome of an attempt from a uniform draw ``u`` in [0, 1)."""
        if u < self.error_rate:
            return ERROR
        u -= self.error_rate
        if u < self.timeout_rate:
            return TIMEOUT
        u -= self.timeout_rate
        if u < self.validation_failure_rate:
            return INVALID
        return OK

    def billed_shares(self, outcome: int) -> tuple[float, float]:
        """(share of the prompt billed, share of the output billed) for an outcome."""
        if outcome == ERROR:
            return 0.0, 0.0
        if outcome == TIMEOUT:
            return 1.0, self.timeout_output_share
        return 1.0, 1.0

    def backoff(self, attempt: int, u: float) -> float:
        """Wait after failed attempt number ``attempt`` (1-based): full jitter, capped."""
        return u * min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** (attempt - 1))
