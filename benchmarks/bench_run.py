"""End to end (not a test): `tokensim run` on the default scenario, wall time and peak RSS per size.

Each size runs in its own child process (`tokensim run SCENARIO --paths N --out TMP --quiet`,
the default Zarr store), measured with `resource.getrusage(RUSAGE_CHILDREN)` after that child alone
(a fresh measuring process per size). Linearity: seconds per 1,000 paths at each size, and the
ratio of the largest size's to the smallest's. `--make-run` also times `make run` into a temporary
directory (`tokensim all`: validate, estimate, 2,000-path run and report in one process) and, in the
same sitting, the four commands as four processes, and prints the ratio.

Usage: python benchmarks/bench_run.py [--paths 10000 100000] [--make-run]; one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKENSIM = Path(sys.executable).parent / "tokensim"

MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t
print(json.dumps({"rc": r.returncode, "wall_s": wall,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measure(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, nargs="+", default=[10_000])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.yaml"))
    ap.add_argument("--make-run", action="store_true")
    args = ap.parse_args()
    rows = []
    for n in args.paths:
        with tempfile.TemporaryDirectory() as tmp:
            m = measure([str(TOKENSIM), "run", args.scenario, "--paths", str(n), "--out", tmp, "--quiet"])
            size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        row = {"paths": n, "wall_s": round(m["wall_s"], 1), "s_per_1k_paths": round(m["wall_s"] / n * 1000, 2),
               "peak_rss_mb": round(m["peak_rss_mb"]), "store_mb": round(size / 2**20, 1), "rc": m["rc"],
               "load_avg_1min": round(os.getloadavg()[0], 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if len(rows) > 1:
        print(json.dumps({"linearity_s_per_path_largest_over_smallest":
                          round(rows[-1]["s_per_1k_paths"] / rows[0]["s_per_1k_paths"], 2)}))
    if args.make_run:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            r = subprocess.run(["make", "run", f"OUT={tmp}"], cwd=ROOT, capture_output=True, text=True)
            make_s = time.perf_counter() - t
        sc = str(ROOT / "scenarios" / "default.yaml")
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            rcs = [subprocess.run([str(TOKENSIM), *cmd], cwd=ROOT, capture_output=True).returncode
                   for cmd in (["validate", sc], ["estimate", sc, "--out", tmp], ["run", sc, "--out", tmp, "--quiet"],
                               ["report", tmp, "--scenario", sc, "-o", f"{tmp}/report.html"])]
            four_s = time.perf_counter() - t
        print(json.dumps({"make_run_wall_s": round(make_s, 1), "rc": r.returncode,
                          "four_commands_wall_s": round(four_s, 1), "four_rc": max(rcs),
                          "four_commands_over_make_run": round(four_s / make_s, 2),
                          "load_avg_1min": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
