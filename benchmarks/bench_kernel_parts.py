"""Where the kernel's time over its draw floor goes, by switching parts off through its inputs (not a test).

The benchmark scenario of ``bench_kernel.py`` (5 workloads × 3 pools) is run as it is and with:

- ``caps_unbounded``: every owned / reserved GPU capacity > 0 made 1e30, so every day in those
  months fits its pool whole and the hour-by-hour dispatch never runs;
- ``no_gpu``: no GPU capacity at all (every day goes whole to the API);
- ``no_shared_prefix``: TTL 0, so no warmth lookup;
- ``no_gpu_no_shared_prefix``: both.

Each is timed over the draw floor (``bench_kernel.draw_floor``) in alternation, best of
``--repeat``; the difference from ``base`` is the part's share of the floor. Prints one JSON object.
Usage: python benchmarks/bench_kernel_parts.py [--paths 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernel import draw_floor, floor_inputs, kernel_args, named  # noqa: E402
from bench_mc import scenario  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from sim.mc.kernel import simulate_paths

    names = list(inspect.signature(simulate_paths).parameters)
    a = kernel_args(scenario(), args.paths)
    k = named(a)
    floor_args = floor_inputs(k)

    def variant(**change):
        d = dict(k)
        d.update(change)
        return tuple(d[n] for n in names)

    no_gpu = {"cap_own": np.zeros_like(k["cap_own"]), "cap_res": np.zeros_like(k["cap_res"]),
              "od_cap": np.zeros_like(k["od_cap"])}
    variants = {
        "base": a,
        "caps_unbounded": variant(cap_own=np.where(k["cap_own"] > 0, 1e30, 0.0),
                                  cap_res=np.where(k["cap_res"] > 0, 1e30, 0.0)),
        "no_gpu": variant(**no_gpu),
        "no_shared_prefix": variant(ttl=np.zeros_like(k["ttl"])),
        "no_gpu_no_shared_prefix": variant(ttl=np.zeros_like(k["ttl"]), **no_gpu),
    }
    simulate_paths(*a), draw_floor(*floor_args)  # compile / load the cache
    times = {n: [] for n in ["floor", *variants]}
    for _ in range(args.repeat):
        t = time.perf_counter()
        draw_floor(*floor_args)
        times["floor"].append(time.perf_counter() - t)
        for n, v in variants.items():
            t = time.perf_counter()
            simulate_paths(*v)
            times[n].append(time.perf_counter() - t)
    best = {n: min(ts) for n, ts in times.items()}
    out = {"paths": args.paths, "draw_floor_s": round(best["floor"], 3)}
    out.update({f"{n}_over_floor": round(best[n] / best["floor"], 2) for n in variants})
    out["hourly_dispatch_share_of_floor"] = round((best["base"] - best["caps_unbounded"]) / best["floor"], 2)
    out["shared_prefix_share_of_floor"] = round((best["base"] - best["no_shared_prefix"]) / best["floor"], 2)
    out["load_avg_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
