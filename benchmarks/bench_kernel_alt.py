"""``bench_kernel.py`` from a git revision and from the working tree, in alternating processes (not a test).

Each process loads its own package and its own numba cache, so neither kernel is compiled into the
other's process (``bench_kernel_ab.py`` pairs them in one process, where the second module loaded
measured 2–3 % slower than the first with identical code). The revision is checked out into a
temporary git worktree and imported through ``PYTHONPATH``; its first run compiles its kernel and is
not counted. Prints one JSON object: each side's kernel-over-floor ratios in run order and their
means.
Usage: python benchmarks/bench_kernel_alt.py --ref HEAD [--runs 4] [--paths 10000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench(tree: Path, args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, str(tree / "benchmarks" / "bench_kernel.py"), "--paths", str(args.paths),
                          "--threads", str(args.threads), "--repeat", "3"], cwd=tree, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="git revision to compare the working tree against")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_tree = Path(tmp) / "ref"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(ref_tree), args.ref], check=True)
        try:
            bench(ref_tree, argparse.Namespace(paths=100, threads=args.threads))  # compile the revision's kernel
            runs = {"ref": [], "new": []}
            for _ in range(args.runs):
                for side, tree in (("ref", ref_tree), ("new", ROOT)):
                    runs[side].append(bench(tree, args))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_tree)], check=True)
    ratio = {s: [r["kernel_over_draw_floor"] for r in rs] for s, rs in runs.items()}
    print(json.dumps({
        "ref": args.ref, "paths": args.paths, "threads": args.threads, "runs": args.runs,
        "ref_kernel_over_floor": ratio["ref"], "new_kernel_over_floor": ratio["new"],
        "ref_mean": round(sum(ratio["ref"]) / len(ratio["ref"]), 3),
        "new_mean": round(sum(ratio["new"]) / len(ratio["new"]), 3),
        "load_avg_1min": [r["load_avg_1min"] for rs in runs.values() for r in rs],
    }))


if __name__ == "__main__":
    main()
