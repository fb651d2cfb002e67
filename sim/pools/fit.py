"""Deployable replicas: the fewest GPUs that hold a workload's model and its SLO's batch.

The memory fit itself (weights + KV cache + runtime overhead, replicas of 1, 2, 4, 8 GPUs then
whole nodes) is ``sim.catalog.models.smallest_replica``. This module chooses its inputs, so every
engine and analysis sizes fleets the same way:

- precision: that of the throughput curve the pool serves the workload from; the KV cache is
  held at 8 bits when the weights are 8 bits or less (the serving configurations behind the
  FP8/FP4 curves run an FP8 KV cache), else at BF16;
- concurrency: a replica of g GPUs runs g × s streams, s = the streams one GPU runs at the
  workload's interactivity SLO *at its context*: the curve's throughput at the SLO, derated for
  long contexts exactly as the engines charge GPU-seconds (``sim.pools.gpu.context_factor``),
  divided by the SLO. The replica is the smallest g in the allowed sizes that holds g × s streams
  (a curve measured at 1k/1k prompts runs far more streams than fit at 40k-token contexts, and the
  engines already charge for that slower decode). A replica spans more than one node (8 GPUs) only
  when the weights need it. When the SLO's batch does not fit even then, the forecast would
  overstate what a GPU serves, so it is a located error (a memory-bound batch with derated
  throughput is the planned refinement, docs/architecture.md);
- context: the workload's mean context per call on the GPU path (prompt, cached prefix
  included, plus output), given by the caller from the session anatomy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..catalog.models import ModelFitError, replica_sizes, smallest_replica
from .gpu import context_factor

__all__ = ["ModelFitError", "ReplicaFit", "fit_replica", "kv_precision_for", "replica_for"]

_LOW_BIT = ("fp8", "fp4", "nvfp4", "mxfp4", "int8", "int4")
# GPUs in one node (HGX/DGX and MI300X platforms: 8): a replica spans more only when its weights need it
NODE_GPUS = 8


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
    return fit_replica(gpu, model, gpu.curve(model, w.models.precision), float(mean_of(w.slo.interactivity_tok_s_user)),
                       context_tokens)


def fit_replica(gpu, model: str, curve, slo: float, context_tokens: float) -> ReplicaFit:
    """Smallest replica of ``model`` on ``gpu`` (a ``GPUProfile``) serving at ``slo`` tok/s per user from
    ``curve`` at a mean context of ``context_tokens`` (the rules of the module docstring)."""
    ctx = max(1, int(math.ceil(context_tokens)))
    i = max(float(slo), float(curve.interactivity[0]))
    slots = max(1, int(math.floor(float(curve.throughput_at(i)) * float(context_factor(ctx)) / i + 1e-9)))
    kv = kv_precision_for(curve.precision)

    def holds(g: int, streams: int) -> bool:
        try:
            smallest_replica(model, curve.precision, gpu.memory_gb, context_tokens=ctx, concurrency=streams,
                             kv_precision=kv, max_gpus=g)
            return True
        except ModelFitError as exc:
            if "maximum context" in str(exc) or "unknown" in str(exc).lower():
                raise ModelFitError(f"{model} on {gpu.id}: {exc}") from None
            return False

    sizes = replica_sizes()
    # the fewest GPUs that hold the weights and one stream per GPU: more than a node only when the
    # weights need it (DeepSeek-R1 on H100); a bigger batch never justifies spanning more nodes
    g_min = next((g for g in sizes if holds(g, g)), None)
    if g_min is None:
        raise ModelFitError(f"{model} ({curve.precision}) does not fit {gpu.id} ({gpu.memory_gb:g} GiB) even with one "
                            f"stream per GPU of {ctx:,} tokens at any replica of up to {sizes[-1]} GPUs")
    limit = max(NODE_GPUS, g_min)
    for g in (x for x in sizes if g_min <= x <= limit):
        if holds(g, g * slots):
            return ReplicaFit(g, slots, ctx, curve.precision,
                              f"{g} × {gpu.id} hold {model} ({curve.precision}, KV {kv}) with {g * slots} streams of "
                              f"{ctx:,} tokens ({slots} per GPU at the SLO)")
    fit = max((k for k in range(1, slots) if holds(limit, limit * k)), default=0)
    raise ModelFitError(f"{model} ({curve.precision}, KV {kv}) on {gpu.id} ({gpu.memory_gb:g} GiB): its throughput "
                        f"curve runs {slots} streams per GPU at {slo:g} tok/s per user at this context ({ctx:,} "
                        f"tokens), but at most {fit} fit next to the weights in a replica of {limit} GPUs; the "
                        "forecast would overstate what a GPU serves. Shorten the context, raise the SLO, or "
                        "choose a GPU with more memory")


