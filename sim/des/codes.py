"""What the simulation's parts share: pool and outcome codes, request-log columns, the run's state."""

from __future__ import annotations

import math

import simpy

from ..demand.retry import OUTCOMES
from ..pools.resources import ApiPool, GpuPool

POOLS = ("api", "owned", "neocloud", "semantic_cache")
_API, _OWNED, _NEO, _SEM = 0, 1, 2, 3
OUTCOME_NAMES = OUTCOMES + ("semantic_hit",)
_SEM_HIT = 4
SEMANTIC_HIT_S = 0.05  # latency of a semantic-cache answer (assumption)
REQUEST_COLUMNS = ("session", "t_s", "pool", "model", "fresh", "cached", "write", "output", "reasoning",
                   "queue_s", "ttft_s", "tok_s", "concurrency", "slo_met", "attempt", "outcome", "batch")
_NCOL = len(REQUEST_COLUMNS)
_INF = math.inf


class _Sim:
    def __init__(self, env: simpy.Environment, api: ApiPool):
        self.env = env
        self.api = api
        self.lat_base = api.latency.ttft_base_s
        self.lat_prefill = api.latency.prefill_tok_s
        self.lat_decode = api.latency.decode_tok_s
        self.models: list[str] = []
        self._codes: dict[str, int] = {}
        self.gpu_pools: dict[tuple[str, str], GpuPool] = {}
        self.gpu_meta: dict[tuple[str, str], dict] = {}

    def model_code(self, ref: str) -> int:
        c = self._codes.get(ref)
        if c is None:
            c = self._codes[ref] = len(self.models)
            self.models.append(ref)
        return c


class DesInputError(ValueError):
    """A request-level simulation cannot be set up as asked (the CLI reports it as a usage error)."""
