"""GPU serving capacity: how many GPU-seconds a call takes at a latency target."""

from __future__ import annotations

import numpy as np


# The catalog's throughput curves were measured with prompts of about one input token per output
# token (ISL/OSL ~1k/1k, calibration/hardware/build_profiles.py), so reading the curve already pays
# for that much prefill; only input beyond it is charged at the prefill rate.
BENCH_INPUT_PER_OUTPUT = 1.0


def gpu_seconds(prefill_tokens: np.ndarray | float, output_tokens: np.ndarray | float,
                prefill_tok_s_gpu: float, decode_tok_s_gpu: float) -> np.ndarray | float:
    """GPU-seconds to serve: output at the SLO's throughput, plus the extra prompt at the prefill rate.

    ``decode_tok_s_gpu`` is the catalog curve read at the workload's interactivity target (output
    tokens per second per GPU with continuous batching, its benchmark prompts included); 0 means
    the GPU cannot meet the target.
    """
    out = np.asarray(output_tokens, float)
    if decode_tok_s_gpu <= 0:
        return np.inf * np.ones_like(out)
    extra = np.maximum(np.asarray(prefill_tokens, float) - BENCH_INPUT_PER_OUTPUT * out, 0.0)
    return extra / prefill_tok_s_gpu + out / decode_tok_s_gpu


def usable_seconds_per_gpu_hour(availability: float, headroom: float) -> float:
    """GPU-seconds of work one GPU-hour can take while keeping the SLA headroom."""
    return 3600.0 * availability * headroom
