"""The kernel against its own earlier version, paired in one process (not a test).

The kernel module at git revision ``--ref`` is loaded beside the working tree's, both are compiled,
and the two are timed alternately on the benchmark scenario's inputs (``bench_kernel.py``), with
the draw floor between pairs. Prints one JSON object: whether every output array is identical, the
best times, and the median of the paired ratios (new over ref; below 1 is faster), which is steadier
on a shared machine than a ratio of best times.
Usage: python benchmarks/bench_kernel_ab.py --ref HEAD~1 [--paths 4000] [--pairs 10]
(set NUMBA_NUM_THREADS=1 for the steadiest figures). The kernel loaded second measured 2–3 % slower
than the first with identical code (1.026 at HEAD against HEAD): for smaller differences use
``bench_kernel_alt.py``, which runs the two in separate, alternating processes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernel import draw_floor, floor_inputs, kernel_args, named  # noqa: E402
from bench_mc import scenario  # noqa: E402


def load_ref(rev: str, where: Path):
    """``sim.mc.kernel`` as of ``rev``, imported as ``sim.mc._kernel_ref`` (its relative imports
    resolve against the working tree's package)."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:sim/mc/kernel.py"], check=True,
                         capture_output=True, text=True).stdout
    path = where / "_kernel_ref.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("sim.mc._kernel_ref", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="git revision of the kernel to compare against")
    ap.add_argument("--paths", type=int, default=4000)
    ap.add_argument("--pairs", type=int, default=10)
    args = ap.parse_args()
    from sim.mc.kernel import simulate_paths as new

    with tempfile.TemporaryDirectory() as tmp:
        ref = load_ref(args.ref, Path(tmp)).simulate_paths
        a = kernel_args(scenario(), args.paths)
        k = named(a)
        floor_args = floor_inputs(k)
        same = all(np.array_equal(x, y) for x, y in zip(ref(*a), new(*a)))
        draw_floor(*floor_args)
        t_ref, t_new, t_floor = [], [], []
        for i in range(args.pairs):
            order = ((ref, t_ref), (new, t_new)) if i % 2 == 0 else ((new, t_new), (ref, t_ref))
            for fn, out in order:
                t = time.perf_counter()
                fn(*a)
                out.append(time.perf_counter() - t)
            t = time.perf_counter()
            draw_floor(*floor_args)
            t_floor.append(time.perf_counter() - t)
    r, n, f = np.array(t_ref), np.array(t_new), min(t_floor)
    print(json.dumps({
        "ref": args.ref, "paths": args.paths, "pairs": args.pairs, "same_bytes": bool(same),
        "ref_s": round(float(r.min()), 3), "new_s": round(float(n.min()), 3), "floor_s": round(f, 3),
        "ref_over_floor": round(float(r.min()) / f, 3), "new_over_floor": round(float(n.min()) / f, 3),
        "new_over_ref_median_paired": round(float(np.median(n / r)), 3),
    }))


if __name__ == "__main__":
    main()
