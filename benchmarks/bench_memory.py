"""Peak memory of a large streamed run (not a test): tokensim run --zarr with N paths.

Usage: python benchmarks/bench_memory.py [--paths 100000]; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mc import scenario  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--block-size", type=int, default=2000)
    args = ap.parse_args()
    from sim.mc.runner import run

    sc = scenario()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.time()
        ds, path = run(sc, paths=args.paths, out=Path(tmp), zarr=True, block_size=args.block_size)
        total = ds["spend"].sum(["month", "pool", "workload"]).isel(strategy=0)
        p50 = float(total.quantile(0.5, dim="path"))
        secs = time.time() - t
        size = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    print(json.dumps({"paths": args.paths, "block_size": args.block_size, "seconds": round(secs, 1),
                      "p50_total_spend": round(p50), "store_mb": round(size / 2**20, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
