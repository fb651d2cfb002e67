"""Kernel speed as ratios measured in one run (not a test), so a busy machine cancels out.

1. **Draw floor** (the benchmark scenario of ``bench_mc.py``: 5 workloads × 3 pools): the kernel's
   time over the time of a numba loop that makes exactly the kernel's random draws (one day shock
   per path-day, a Poisson count and a token-noise normal per workload-day) and nothing else.
   Target ≤ 1.6.
2. **Plain-numpy reference** (one API-only chat workload, ``scenarios/examples/single_chat.yaml``
   without the prompt cache, 36 months): a single-threaded numpy Monte Carlo of the same model
   (lognormal day shock, Poisson sessions, normal token noise, monthly sums and the peak hour)
   over the kernel, per path-month. Target ≥ 1 (the kernel at least as fast).

Each timing is the best of ``--repeat`` alternating runs. Prints one JSON object.
Usage: python benchmarks/bench_kernel.py [--paths 10000] [--threads 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numba as nb
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mc import scenario as bench_scenario  # noqa: E402

from sim.mc.rng import mix64, normal, poisson  # noqa: E402


@nb.njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def draw_floor(keys, lam_day, dayw, month_start, day_sigma, cv_tok, tab):
    # day_sigma (P,): the kernel's stationary, non-persistent day shock (phi = 0) draws the same
    """The kernel's random draws and nothing else (their sum, so none is optimised away)."""
    P, M, W = lam_day.shape
    out = np.zeros(P)
    for p in nb.prange(P):
        k_shock = mix64(keys[p] ^ np.uint64(0x51))
        k_pois = mix64(keys[p] ^ np.uint64(0x52))
        k_noise = mix64(keys[p] ^ np.uint64(0x53))
        t = tab[p]
        acc = 0.0
        for m in range(M):
            for d in range(month_start[m], month_start[m + 1]):
                shock = math.exp(day_sigma[p] * normal(k_shock, d) - 0.5 * day_sigma[p] * day_sigma[p])
                for w in range(W):
                    c = d * W + w
                    n = poisson(lam_day[p, m, w] * dayw[w, d] * shock, k_pois, c)
                    if n > 0.0:
                        acc += n * (1.0 + cv_tok[t, w] * normal(k_noise, c) / math.sqrt(n))
        out[p] = acc
    return out


def kernel_args(sc, paths: int):
    """The arguments ``simulate_block`` passes to ``simulate_paths`` for the first strategy (a tuple; ``named``
    maps them to the kernel's parameter names)."""
    from sim.catalog.prices import PriceBook
    from sim.mc import engine
    from sim.mc.runner import prepare
    from sim.mc.sampling import draw

    prep = prepare(sc)
    s, tab = prep.scenarios[0], prep.tables[0]
    captured = {}
    orig = engine.simulate_paths

    def capture(*a):
        captured["args"] = a
        return orig(*a)

    engine.simulate_paths = capture
    try:
        engine.simulate_block(s, tab, draw(s, np.arange(paths), tab.calls.shape[0]), PriceBook(s.price_date))
    finally:
        engine.simulate_paths = orig
    return captured["args"]


def named(a) -> dict:
    """The kernel arguments ``a`` by parameter name (positions change when the kernel gains inputs)."""
    import inspect

    from sim.mc.kernel import simulate_paths

    return dict(zip(inspect.signature(simulate_paths).parameters, a))


def floor_inputs(k: dict) -> tuple:
    """``draw_floor``'s arguments from the kernel's (``named``)."""
    return tuple(k[x] for x in ("keys", "lam_day", "dayw", "month_start", "day_sigma", "cv_tok", "tab"))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def numpy_reference(a, seed: int = 1):
    """Plain single-threaded numpy Monte Carlo of one API-only workload without a shared prefix."""
    k = named(a)
    tab, lam_day, dayw, hourly, month_start = k["tab"], k["lam_day"], k["dayw"], k["hourly"], k["month_start"]
    day_sigma, cv_tok, ttl, tok0 = k["day_sigma"], k["cv_tok"], k["ttl"], k["tok0"]
    assert lam_day.shape[2] == 1 and ttl[0] == 0.0
    rng = np.random.default_rng(seed)
    P, M, _ = lam_day.shape
    D = int(month_start[-1])
    month_of_day = np.repeat(np.arange(M), np.diff(month_start))
    shock = np.exp(day_sigma[:, None] * rng.standard_normal((P, D)) - 0.5 * day_sigma[:, None] ** 2)
    n = rng.poisson(lam_day[:, month_of_day, 0] * dayw[0] * shock).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(n > 0, 1.0 + cv_tok[tab, 0][:, None] * rng.standard_normal((P, D)) / np.sqrt(n), 1.0)
    np.maximum(r, 0.0, out=r)
    nr = n * r
    starts = month_start[:-1]
    sessions = np.add.reduceat(n, starts, axis=1)
    served = np.add.reduceat(nr, starts, axis=1)
    peak = np.maximum.reduceat(nr * (tok0[tab, 0] * hourly[0].max())[:, None], starts, axis=1)
    return sessions, served, peak


def single_chat():
    from sim.scenario import load_scenario_text

    base = yaml.safe_load((ROOT / "scenarios" / "examples" / "single_chat.yaml").read_text())
    base["horizon"]["months"] = 36
    base["workloads"][0]["levers"]["prompt_cache"]["enabled"] = False
    return load_scenario_text(yaml.safe_dump(base), file="single_chat", base_dir=ROOT / "scenarios")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from sim.mc.kernel import simulate_paths as run_kernel

    threads = min(args.threads, nb.config.NUMBA_NUM_THREADS)
    out: dict = {"paths": args.paths, "threads": threads, "threading_layer": None}

    # 1. the benchmark scenario against its draw floor
    nb.set_num_threads(threads)
    a = kernel_args(bench_scenario(), args.paths)
    k = named(a)
    floor_args = floor_inputs(k)
    run_kernel(*a), draw_floor(*floor_args)  # compile / load the cache
    out["threading_layer"] = nb.threading_layer()
    tk, tf = [], []
    for _ in range(args.repeat):
        tk.append(best(lambda: run_kernel(*a), 1))
        tf.append(best(lambda: draw_floor(*floor_args), 1))
    out["bench_kernel_s"] = round(min(tk), 3)
    out["bench_draw_floor_s"] = round(min(tf), 3)
    out["kernel_over_draw_floor"] = round(min(tk) / min(tf), 2)

    # 2. one API-only workload against plain numpy (single-threaded), per path-month
    b = kernel_args(single_chat(), args.paths)
    P, M = named(b)["lam_day"].shape[:2]
    numpy_reference(b)
    ref, k1, k2 = [], [], []
    for _ in range(args.repeat):
        ref.append(best(lambda: numpy_reference(b), 1))
        nb.set_num_threads(1)
        k1.append(best(lambda: run_kernel(*b), 1))
        nb.set_num_threads(threads)
        k2.append(best(lambda: run_kernel(*b), 1))
    S, SR, *_ = run_kernel(*b)
    sessions, served, _peak = numpy_reference(b)
    out.update({
        "api_only_path_months": P * M,
        "numpy_reference_ns_per_path_month": round(min(ref) / (P * M) * 1e9, 1),
        "kernel_1_thread_ns_per_path_month": round(min(k1) / (P * M) * 1e9, 1),
        f"kernel_{threads}_threads_ns_per_path_month": round(min(k2) / (P * M) * 1e9, 1),
        "numpy_over_kernel_1_thread": round(min(ref) / min(k1), 2),
        f"numpy_over_kernel_{threads}_threads": round(min(ref) / min(k2), 2),
        # the two are the same model: their mean monthly sessions agree to Monte Carlo error
        "mean_sessions_kernel_over_numpy": round(float(S[..., 0].sum(-1).mean() / sessions.mean()), 4),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
