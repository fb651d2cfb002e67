"""GPU serving capacity: how many GPU-seconds a call takes at a latency target."""

from __future__ import annotations

import numpy as np


def gpu_seconds(prefill_tokens: np.ndarray | float, output_tokens: np.ndarray | float,
                prefill_tok_s_gpu: float, decode_tok_s_gpu: float) -> np.ndarray | float:
    """GPU-seconds to serve: prefill at the prefill rate plus decode at the SLO's throughput.

    ``decode_tok_s_gpu`` is the catalog curve read at the workload's interactivity target (output
    tokens per second per GPU with continuous batching); 0 means the GPU cannot meet the target.
    """
    if decode_tok_s_gpu <= 0:
        return np.inf * np.ones_like(np.asarray(output_tokens, dtype=float))
    return np.asarray(prefill_tokens, float) / prefill_tok_s_gpu + np.asarray(output_tokens, float) / decode_tok_s_gpu


def usable_seconds_per_gpu_hour(availability: float, headroom: float) -> float:
    """GPU-seconds of work one GPU-hour can take while keeping the SLA headroom."""
    return 3600.0 * availability * headroom
