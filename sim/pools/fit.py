"""Deployable replicas: the fewest GPUs that hold a workload's model and its SLO's batch.

The memory fit itself (weights + KV cache + runtime overhead, replicas of 1, 2, 4, 8 GPUs then
whole nodes) is ``sim.catalog.models.smallest_replica``. This module chooses its inputs, so every
engine and analysis sizes fleets the same way:

- precision: that of the throughput curve the pool serves the workload from; the KV cache is
  held at 8 bits when the weights are 8 bits or less (the serving configurations behind the
  FP8/FP4 curves run an FP8 KV cache), else at BF16;
- concurrency: a replica of g GPUs runs g × s streams, s = the batch slots one GPU has at the
  workload's interactivity SLO (``sim.pools.resources.slo_slots``: the curve's throughput at the
  SLO / the SLO). The replica is the smallest g in the allowed sizes that holds g × s streams;
- context: the workload's mean context per call on the GPU path (prompt, cached prefix
  included, plus output), given by the caller from the session anatomy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..catalog.models import ModelFitError, replica_sizes, smallest_replica
from .resources import slo_slots

__all__ = ["ModelFitError", "ReplicaFit", "kv_precision_for", "replica_for"]

_LOW_BIT = ("fp8", "fp4", "nvfp4", "mxfp4", "int8", "int4")


@dataclass(frozen=True)
class ReplicaFit:
    """The smallest replica of a workload's model on a pool's GPU."""

    gpus: int
    streams_per_gpu: int
    context_tokens: int
    precision: str
    explain: str


def kv_precision_for(precision: str) -> str:
    """KV-cache precision assumed for a weight precision (see the module docstring)."""
    return "fp8" if precision.lower() in _LOW_BIT else "bf16"


def replica_for(sc, w, pool: str, hw, context_tokens: float) -> ReplicaFit:
    """Smallest deployable replica of workload ``w``'s model on GPU pool ``pool``.

    Raises ``ModelFitError`` (a ValueError naming the model, GPU and sizes tried) when the model is
    not in the model catalog or no replica up to the largest allowed size holds it.
    """
    from ..scenario.distributions import mean_of

    gpu = hw[getattr(sc.pools, pool).gpu]
    model = getattr(w.models, pool)
    curve = gpu.curve(model, w.models.precision)
    slots = slo_slots(curve, mean_of(w.slo.interactivity_tok_s_user))
    ctx = max(1, int(math.ceil(context_tokens)))
    kv = kv_precision_for(curve.precision)
    last = None
    for g in replica_sizes():
        try:
            r = smallest_replica(model, curve.precision, gpu.memory_gb, context_tokens=ctx, concurrency=g * slots,
                                 kv_precision=kv, max_gpus=g)
        except ModelFitError as exc:
            last = exc
            if "maximum context" in str(exc) or "unknown" in str(exc).lower():
                raise ModelFitError(f"{model} on {gpu.id}: {exc}") from None
            continue
        return ReplicaFit(r.gpus, slots, ctx, curve.precision,
                          f"{r.gpus} × {gpu.id} hold {model} ({curve.precision}, KV {kv}) with {g * slots} streams of "
                          f"{ctx:,} tokens ({slots} per GPU at the SLO)")
    raise ModelFitError(f"{model} ({curve.precision}) does not fit {gpu.id} ({gpu.memory_gb:g} GB) with {slots} streams "
                        f"per GPU of {ctx:,} tokens (the batch its curve runs at the SLO) at any replica up to "
                        f"{replica_sizes()[-1]} GPUs: {last}")
