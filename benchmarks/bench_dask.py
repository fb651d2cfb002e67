"""Scale-out benchmark (not a test): the same run on a Dask LocalCluster of 1 and 2 workers.

Each worker is a process with one numba thread. Prints one JSON object with both wall times,
the speed-up, and whether the two runs and an in-process run give identical Datasets.
Usage: python benchmarks/bench_dask.py [--paths 4000] [--block-size 250]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mc import scenario  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=4000)
    ap.add_argument("--block-size", type=int, default=250)
    args = ap.parse_args()
    os.environ["NUMBA_NUM_THREADS"] = "1"  # inherited by the worker processes
    import xarray as xr
    from distributed import Client, LocalCluster

    from sim.mc.runner import run

    sc = scenario()
    out = {"paths": args.paths, "block_size": args.block_size}
    results = {}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                Client(cl) as client:
            run(sc, paths=2 * args.block_size, block_size=args.block_size, scheduler=client)  # warm the workers
            t = time.time()
            ds, _ = run(sc, paths=args.paths, block_size=args.block_size, scheduler=client)
            out[f"workers_{n}_s"] = round(time.time() - t, 2)
            results[n] = ds
    out["speedup"] = round(out["workers_1_s"] / out["workers_2_s"], 2)
    local, _ = run(sc, paths=args.paths, block_size=1000, workers=1)
    try:
        xr.testing.assert_identical(results[1], results[2])
        xr.testing.assert_identical(results[2], local)
        out["identical_to_local"] = True
    except AssertionError:
        out["identical_to_local"] = False
    print(json.dumps(out))


if __name__ == "__main__":
    main()
