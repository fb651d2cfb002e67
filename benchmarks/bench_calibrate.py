"""Reading a large request-level export (not a test): wall time and peak memory of `calibrate`'s reader.

Writes a generic CSV of N requests (timestamp, input/output/cached tokens, model, user) over 60
days, then runs `tokensim calibrate` on it in a child process and reports its wall time, peak RSS
and the file size. The readers stream 250,000-row chunks and keep only hourly sums and a
200,000-request length sample, so memory should not grow with the file.

Usage: python benchmarks/bench_calibrate.py [--rows 5000000] [--dir /tmp/bench_calibrate]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, rows: int, chunk: int = 1_000_000) -> None:
    rng = np.random.default_rng(7)
    t0 = pd.Timestamp("2026-01-01", tz="UTC").value // 10**9
    with open(path, "w") as fh:
        fh.write("timestamp,input_tokens,output_tokens,cached_tokens,model,user\n")
        for a in range(0, rows, chunk):
            n = min(chunk, rows - a)
            ts = np.sort(rng.integers(t0, t0 + 60 * 86400, n))
            inp = rng.lognormal(7.0, 0.8, n).astype(int) + 1
            df = pd.DataFrame({"timestamp": pd.to_datetime(ts, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "input_tokens": inp, "output_tokens": rng.lognormal(5.0, 0.7, n).astype(int) + 1,
                               "cached_tokens": (inp * rng.uniform(0, 0.5, n)).astype(int),
                               "model": rng.choice(["gpt-4.1-mini", "gpt-4.1"], n),
                               "user": rng.integers(0, 500, n).astype(str)})
            df.to_csv(fh, header=False, index=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--dir", default="/tmp/bench_calibrate")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    f = d / f"requests_{args.rows}.csv"
    if not f.exists():
        write(f, args.rows)
    exe = Path(sys.executable).parent / "tokensim"
    t = time.perf_counter()
    r = subprocess.run([str(exe), "calibrate", str(f), "-o", str(d / "cal.yaml"), "--json"], capture_output=True,
                       text=True)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # MB (Linux: KB)
    out = json.loads(r.stdout)
    print(json.dumps({"rows": args.rows, "file_mb": round(f.stat().st_size / 1e6, 1), "seconds": round(wall, 1),
                      "peak_rss_mb": round(peak), "ok": out.get("ok"), "series": len(out.get("fits", [])),
                      "rows_per_s": round(args.rows / wall)}))


if __name__ == "__main__":
    main()
