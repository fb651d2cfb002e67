"""Run every benchmark (not tests) and print their JSON lines: `make bench`.

The numbers go into docs/benchmarks.md by hand, with the machine's load at the time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [
    ["bench_kernel.py", "--paths", "10000", "--threads", "2"],
    ["bench_kernel_parts.py", "--paths", "10000"],
    ["bench_run.py", "--paths", "10000", "25000", "100000", "--make-run"],
    ["bench_mc.py", "--paths", "10000", "--threads", "2"],
    ["bench_des.py", "--repeat", "2"],
    ["bench_dask.py", "--paths", "10000", "--block-size", "500"],
    ["bench_memory.py", "--paths", "100000"],
]

if __name__ == "__main__":
    for args in RUNS:
        if not (HERE / args[0]).exists():
            continue
        print(f"# {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], check=False)
