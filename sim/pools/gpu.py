"""GPU serving capacity: how many GPU-seconds a call takes at a latency target."""

from __future__ import annotations

import numpy as np


# The catalog's throughput curves were measured with prompts of about one input token per output
# token (ISL/OSL ~1k/1k, calibration/hardware/build_profiles.py), so reading the curve already pays
# for that much prefill; only input beyond it is charged at the prefill rate.
BENCH_INPUT_PER_OUTPUT = 1.0

# Decode reads the model weights once per step and every user's KV cache: at long contexts the
# KV traffic (and the memory it takes, which caps the batch) dominates and per-GPU throughput
# falls. Throughput at a mean context of L tokens = curve × (1 + L_bench/L_half) / (1 + L/L_half),
# where L_half is the context at which KV reads equal weight reads at a benchmark batch.
# Derivation (grade D, an assumption to replace with measured long-context curves): Llama-70B in
# fp8 reads ~70 GB of weights per step and 160 kB of KV per token (80 layers × 8 KV heads × 128 ×
# K,V × 1 byte); at a batch of 64 users KV equals weights at 70e9 / (64 × 160e3) ≈ 6,800 tokens.
# The curves were measured at ~1k input + 1k output, a mean context of ~1,500 tokens.
KV_HALF_CONTEXT_TOKENS = 6800.0
BENCH_CONTEXT_TOKENS = 1500.0


def context_factor(context_tokens: float | np.ndarray) -> float | np.ndarray:
    """Decode throughput at a mean context length, relative to the benchmark's (≤ 1 beyond it)."""
    c = np.maximum(np.asarray(context_tokens, float), BENCH_CONTEXT_TOKENS)
    return (1.0 + BENCH_CONTEXT_TOKENS / KV_HALF_CONTEXT_TOKENS) / (1.0 + c / KV_HALF_CONTEXT_TOKENS)


def gpu_seconds(prefill_tokens: np.ndarray | float, output_tokens: np.ndarray | float,
                prefill_tok_s_gpu: float, decode_tok_s_gpu: float,
                context_tokens: float | np.ndarray | None = None) -> np.ndarray | float:
    """GPU-seconds to serve: output at the SLO's throughput, plus the extra prompt at the prefill rate.

    ``decode_tok_s_gpu`` is the catalog curve read at the workload's interactivity target (output
    tokens per second per GPU with continuous batching, its benchmark prompts included); 0 means
    the GPU cannot meet the target. ``context_tokens`` (the output-weighted mean prompt size,
    cached prefix included) slows decode by ``context_factor``; None leaves the curve as measured.
    """
    out = np.asarray(output_tokens, float)
    if decode_tok_s_gpu <= 0:
        return np.inf * np.ones_like(out)
    extra = np.maximum(np.asarray(prefill_tokens, float) - BENCH_INPUT_PER_OUTPUT * out, 0.0)
    decode = decode_tok_s_gpu if context_tokens is None else decode_tok_s_gpu * context_factor(context_tokens)
    return extra / prefill_tok_s_gpu + out / decode


def usable_seconds_per_gpu_hour(availability: float, headroom: float) -> float:
    """GPU-seconds of work one GPU-hour can take while keeping the SLA headroom."""
    return 3600.0 * availability * headroom


def usable_share(sc, pool: str, value) -> float | np.ndarray:
    """Share of a GPU-hour a pool can fill at its SLO: availability × headroom (float or (P,))."""
    p = getattr(sc.pools, pool)
    return (value(p.availability, f"pools.{pool}.availability")
            * value(p.gpu_headroom, f"pools.{pool}.gpu_headroom"))


def served_curve(sc, w, pool: str, hw):
    """The catalog curve (``ThroughputCurve``) workload ``w`` is served from on ``pool``: the pool's GPU,
    the workload's model class for that pool and its precision (best available when unset).

    Raises ``sim.catalog.hardware.CurveNotFoundError`` when the pool's GPU has no curve for the model.
    """
    gpu = hw[getattr(sc.pools, pool).gpu]
    return gpu.curve(getattr(w.models, pool), w.models.precision)


def gpu_rates(sc, w, pool: str, hw) -> tuple[float, float]:
    """(prefill tok/s, decode tok/s) per GPU for workload ``w`` on ``pool`` at its SLO (the mean SLO).

    Raises ``sim.catalog.hardware.CurveNotFoundError`` when the pool's GPU has no curve for the
    model; the decode rate is 0 when the curve cannot reach the SLO.
    """
    from ..scenario.distributions import mean_of

    curve = served_curve(sc, w, pool, hw)
    return curve.prefill_tok_s_gpu, float(curve.throughput_at(mean_of(w.slo.interactivity_tok_s_user)))
