"""Replay of a request trace against a GPU pool (arrival times and sizes given, no sessions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import simpy

from ..pools.resources import GpuPool, gpu_pool_from_curve
from .codes import _INF


def replay_trace(arrivals_s, prompt_tokens, output_tokens, *, curve, n_gpus: int, interactivity_slo: float,
                 ttft_slo_s: float = _INF, speedup: bool = True) -> tuple[pd.DataFrame, GpuPool]:
    """Replay a request trace (arrival seconds, prompt and output tokens) into a GPU pool.

    The pool has ``n_gpus`` GPUs with batch slots at the SLO read off ``curve`` (see
    ``sim.pools.resources.gpu_pool_from_curve``); ``speedup=False`` runs every stream at the SLO
    speed (fixed, known service times). Returns one row per request (queue, TTFT, speed,
    concurrency, SLO met) and the pool (for occupancy).
    """
    t = np.asarray(arrivals_s, float)
    order = np.argsort(t, kind="stable")
    t, p, o = t[order], np.asarray(prompt_tokens, float)[order], np.asarray(output_tokens, float)[order]
    env = simpy.Environment()
    pool = gpu_pool_from_curve(env, curve, n_gpus, interactivity_slo, speedup=speedup, name="replay")
    tickets = []

    def gen():
        for ti, pi, oi in zip(t.tolist(), p.tolist(), o.tolist()):
            d = ti - env.now
            if d > 0:
                yield env.timeout(d)
            tickets.append(pool.request(pi, oi))

    env.process(gen())
    env.run()
    admit = np.array([tk.t_admit for tk in tickets])
    df = pd.DataFrame(dict(t_s=t, prompt=p, output=o, queue_s=admit - t,
                           ttft_s=admit - t + np.array([tk.prefill_s for tk in tickets]),
                           tok_s=np.array([tk.speed for tk in tickets]),
                           concurrency=np.array([tk.conc for tk in tickets]),
                           hold_s=np.array([tk.hold for tk in tickets])))
    df["slo_met"] = (df["ttft_s"] <= ttft_slo_s) & (df["tok_s"] >= interactivity_slo * (1 - 1e-9))
    return df, pool
