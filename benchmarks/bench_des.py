"""Benchmark of the demand simulation (not a test; DESIGN.md §5 targets).

1. Calls simulated per second for a chat + agent mix: the default scenario's ``support_chat`` and
   ``coding_agent`` workloads only (prompt caching, retries and sub-agents on, as in the file),
   one business day at ``--users`` users. Counted: model-call attempts (rows of the request log)
   per wall-clock second of ``run_des``, table building included. Target: >= 50,000/s.
2. Wall time of a 10,000-user peak day of ``scenarios/default.yaml`` (all workloads, the month's
   busiest day). Target: <= 30 s.

Usage: python benchmarks/bench_des.py [--users 5000] [--repeat 3] [--month 0]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from sim.des.simulation import run_des
from sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]


def _timed(fn, repeat: int):
    walls, res = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        res = fn()
        walls.append(time.perf_counter() - t)
    return res, walls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=5000, help="users for the chat+agent mix")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--month", type=int, default=0, help="month of the peak day")
    args = ap.parse_args()
    sc = load_scenario(REPO / "scenarios" / "default.yaml")

    mix = sc.model_copy(deep=True)
    mix.workloads = [w for w in mix.workloads if w.name in ("support_chat", "coding_agent")]
    run_des(mix, days=0.05, users=200)  # warm imports and caches
    res, walls = _timed(lambda: run_des(mix, days=1.0, users=args.users, keep_requests=True), args.repeat)
    attempts = res.summary["attempts"]
    mix_out = dict(users=args.users, attempts=attempts, calls=res.summary["calls"],
                   sessions=res.summary["sessions"], wall_s=walls, best_calls_per_s=attempts / min(walls),
                   median_calls_per_s=attempts / statistics.median(walls))

    res, walls = _timed(lambda: run_des(sc, peak=True, users=10_000, start_month=args.month), args.repeat)
    peak_out = dict(day=res.summary["day0"], attempts=res.summary["attempts"], sessions=res.summary["sessions"],
                    wall_s=walls, best_wall_s=min(walls), median_wall_s=statistics.median(walls),
                    calls_per_s=res.summary["attempts"] / min(walls), cost_usd=res.summary["cost_usd"],
                    ttft_p95_s=res.summary["ttft_p95_s"])
    out = dict(python=platform.python_version(), machine=platform.machine(), chat_agent_mix=mix_out,
               peak_day_10k_users=peak_out,
               targets=dict(calls_per_s=50_000, peak_day_wall_s=30.0),
               met=dict(calls_per_s=mix_out["best_calls_per_s"] >= 50_000, peak_day=peak_out["best_wall_s"] <= 30.0))
    print(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
