"""Benchmark of the Monte Carlo kernel (not a test): paths × 36 months at hourly resolution.

Scenario: 5 token workloads on 3 pools (owned H200s, reserved + on-demand neocloud H100s, API),
capacity binding part of the time so every dispatch stage does work. Prints one JSON object.
Usage: python benchmarks/bench_mc.py [--paths 10000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numba
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def scenario():
    from sim.scenario import load_scenario_text

    base = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    for w in base["workloads"]:
        if w["kind"] != "embedded_saas":
            w["allowed_pools"] = ["owned", "neocloud", "api"]
            w["models"]["neocloud"] = w["models"].get("owned", "llama-3.3-70b")
            if w["models"]["neocloud"] == "gpt-oss-120b":
                w["models"]["neocloud"] = "gpt-oss-120b"
    base["workloads"].append(dict(base["workloads"][0], name="support_chat_2", business_unit="operations"))
    base["pools"]["owned"]["purchases"] = [{"month": 0, "gpus": 8}, {"month": 12, "gpus": 8}]
    base["pools"]["neocloud"].update(reserved_gpus=4, on_demand_max_gpus=8)
    base["strategies"] = []
    base["contracts"] = []
    return load_scenario_text(yaml.safe_dump(base), file="bench", base_dir=ROOT / "scenarios")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    from sim.catalog.prices import PriceBook
    from sim.mc import engine
    from sim.mc.runner import prepare
    from sim.mc.sampling import draw

    sc = scenario()
    t = time.time()
    prep = prepare(sc)
    t_prep = time.time() - t
    s, tab = prep.scenarios[0], prep.tables[0]
    book = PriceBook(s.price_date)
    engine.simulate_block(s, tab, draw(s, np.arange(4), 1), book)  # compile / load the cache
    kernel_s = [0.0, 0.0]
    orig = engine.simulate_paths

    def timed(*a):
        t0, c0 = time.time(), time.process_time()
        out = orig(*a)
        kernel_s[0] += time.time() - t0
        kernel_s[1] += time.process_time() - c0
        return out

    engine.simulate_paths = timed
    paths = np.arange(args.paths)
    t = time.time()
    d = draw(s, paths, tab.calls.shape[0])
    t_draw = time.time() - t
    t = time.time()
    out = engine.simulate_block(s, tab, d, book)
    t_block = time.time() - t
    W = len(s.token_workloads)
    owned_share = float(out["sessions"][:, :, 2].sum() / out["demand_sessions"].sum())
    neo_share = float(out["sessions"][:, :, 1].sum() / out["demand_sessions"].sum())
    print(json.dumps({
        "paths": args.paths, "months": s.horizon.months, "hours": int(s.horizon.months * 730.5), "workloads": W,
        "pools": 3, "threads": numba.get_num_threads(), "prepare_tables_s": round(t_prep, 2),
        "draw_inputs_s": round(t_draw, 3), "kernel_s": round(kernel_s[0], 2),
        "kernel_cpu_s": round(kernel_s[1], 2), "load_avg_1min": round(__import__("os").getloadavg()[0], 2),
        "kernel_plus_costs_s": round(t_block, 2),
        "path_hours_per_s": round(args.paths * 26304 / kernel_s[0] / 1e6, 1),
        "share_served_owned": round(owned_share, 3), "share_served_neocloud": round(neo_share, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
