"""Sizing speed on a 1,000,000-request stream (not a test): issue 12's target is one search over
unit counts in ≤ 30 s on 2 cores.

The stream: Poisson arrivals at a rate that loads ``--load`` (default 3) units of
gemini-2.5-flash-lite on Vertex provisioned throughput (8,070 tokens/s per GSU,
``../shared/research/pricing-ecosystem.md`` §3); input and output tokens lognormal (medians
1,000 and 200, σ 1.0 and 0.8). Work per request = input + ``--output-weight`` × output (the
burndown weights belong to the provisioned profiles, issue 12 item 1; 1 stands in here).

Timed (seconds, best of ``--repeat``):
- ``windows``: ``window_requirements`` for 1 s / 5 s / 60 s windows;
- ``search_fifo_single``: for each unit count 1..12, the pool's waits (``pool_waits``), TTFT and
  e2e (``latency``), their p50/p95/p99 and the SLO share — one search over unit counts;
- ``search_spill``: the same with spill to pay-go at a queue limit (``spill``);
- ``fifo_servers_c8``: 8 FIFO servers (replicas at one unit's rate each);
- ``size_total``: windows + both searches, the issue's "one search over unit counts";
- ``compile_or_cache_load``: the first call of each kernel (numba cache load, or compile).
With ``--servers-scan`` also the linear-scan vs heap timings of ``fifo_servers`` by c.
With ``--gpu`` also the GPU replica search (``sim.pools.servers.GpuServer`` through
``sim.studies.size.size_stream``: continuous batching on h100-sxm / llama-3.3-70b at 20 tok/s per
user, replicas doubled then bisected, no pay-go) and one ``batched_servers`` call.
Prints one JSON object.
Usage: python benchmarks/bench_size.py [--n 1000000] [--load 3] [--repeat 3] [--servers-scan] [--gpu]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sim.pools import queueing as q  # noqa: E402
from sim.pools.capacity import unit_seconds, window_requirements  # noqa: E402

RATE = 8070.0  # work tokens/s per GSU, gemini-2.5-flash-lite
IN_MED, IN_SIG = 1000.0, 1.0
OUT_MED, OUT_SIG = 200.0, 0.8


def stream(n: int, load: float, w_out: float, seed: int = 12):
    rng = np.random.default_rng(seed)
    mean_work = IN_MED * math.exp(IN_SIG**2 / 2) + w_out * OUT_MED * math.exp(OUT_SIG**2 / 2)
    lam = load * RATE / mean_work
    t = np.cumsum(rng.exponential(1.0 / lam, n))
    inp = np.round(rng.lognormal(math.log(IN_MED), IN_SIG, n))
    out = np.maximum(1.0, np.round(rng.lognormal(math.log(OUT_MED), OUT_SIG, n)))
    return lam, t, inp, out, unit_seconds(inp + w_out * out, RATE)


def best(f, repeat: int):
    r, dt = None, math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = f()
        dt = min(dt, time.perf_counter() - t0)
    return r, dt


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--load", type=float, default=3.0)
    ap.add_argument("--output-weight", type=float, default=1.0)
    ap.add_argument("--units", type=int, default=12)
    ap.add_argument("--slo-ttft", type=float, default=1.5)  # p99 TTFT (e2e here is output-bound)
    ap.add_argument("--queue-limit", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--servers-scan", action="store_true")
    ap.add_argument("--gpu", action="store_true")
    a = ap.parse_args(argv)

    lam, t, inp, out, us = stream(a.n, a.load, a.output_weight)
    model = q.BaselineLatency()

    t0 = time.perf_counter()  # first calls: numba cache load (or compile)
    q.pool_waits(t[:100], us[:100], 1.0)
    q.spill(t[:100], us[:100], 1.0, 0.1)
    q.fifo_servers(t[:100], us[:100], 8)
    q.fifo_servers(t[:100], us[:100], q.HEAP_MIN_SERVERS)
    compile_s = time.perf_counter() - t0

    win, win_s = best(lambda: window_requirements(t, us), a.repeat)

    def search():
        rows = []
        for u in range(1, a.units + 1):
            w = q.pool_waits(t, us, u)
            ttft, e2e = q.latency(t, inp, out, w, model)
            rows.append({"units": u, "wait_p99": q.percentiles(w, (99,))[99],
                         "e2e": q.percentiles(e2e), "ttft_p99": q.percentiles(ttft, (99,))[99],
                         "slo_share": q.slo_share(ttft, a.slo_ttft)})
        return rows

    def search_spill():
        rows = []
        for u in range(1, a.units + 1):
            s, w = q.spill(t, us, u, a.queue_limit)
            keep = ~s
            _, e2e = q.latency(t[keep], inp[keep], out[keep], w, model)
            rows.append({"units": u, "spill_share": float(s.mean()), "e2e_p99_admitted": q.percentiles(e2e, (99,))[99]})
        return rows

    rows, search_s = best(search, a.repeat)
    srows, spill_s = best(search_spill, a.repeat)
    w8, c8_s = best(lambda: q.fifo_servers(t, us, 8), a.repeat)
    _, single_s = best(lambda: q.pool_waits(t, us, 4), a.repeat)

    slo_units = next((r["units"] for r in rows if r["ttft_p99"] <= a.slo_ttft), None)
    res = {
        "n_requests": a.n, "cpus": os.cpu_count(), "arrival_rate_per_s": round(lam, 3),
        "span_h": round(float(t[-1] - t[0]) / 3600, 2), "mean_load_units": round(float(us.sum() / (t[-1] - t[0])), 3),
        "seconds": {"compile_or_cache_load": round(compile_s, 3), "windows": round(win_s, 4),
                    "pool_waits_one_count": round(single_s, 4),
                    f"search_fifo_single_1_{a.units}": round(search_s, 3),
                    f"search_spill_1_{a.units}": round(spill_s, 3), "fifo_servers_c8": round(c8_s, 4),
                    "size_total": round(win_s + search_s + spill_s, 3)},
        "windows_units": {str(L): {"p50": round(s.p50, 3), "p99": round(s.p99, 3), "p99.9": round(s.p999, 3),
                                   "max": round(s.max, 3), "overload_p_at_4": round(s.overload_probability(4.0), 5)}
                          for L, s in win.items()},
        "slo": f"p99 ttft <= {a.slo_ttft:.3g} s", "min_units_for_slo": slo_units,
        "search": [{"units": r["units"], "wait_p99": round(r["wait_p99"], 3), "ttft_p99": round(r["ttft_p99"], 3), "e2e_p99": round(r["e2e"][99], 3),
                    "slo_share": round(r["slo_share"], 4)} for r in rows],
        "spill_limit_s": a.queue_limit,
        "spill": [{"units": r["units"], "spill_share": round(r["spill_share"], 5)} for r in srows],
        "fifo_servers_c8_wait_p99": round(q.percentiles(w8, (99,))[99], 4),
    }
    if a.servers_scan:
        scan = {}
        for c in (2, 4, 8, 16, 24, 32, 64, 128):
            _, s1 = best(lambda: q._kw_scan(t, us, c), a.repeat)
            _, s2 = best(lambda: q._kw_heap(t, us, c), a.repeat)
            scan[str(c)] = {"scan": round(s1, 4), "heap": round(s2, 4)}
        res["servers_scan_vs_heap_s"] = scan
    if a.gpu:
        res["gpu"] = gpu_search(t, inp, out, a.repeat)
    print(json.dumps(res))


def gpu_search(t, inp, out, repeat: int) -> dict:
    import pandas as pd

    from sim.catalog.hardware import load_hardware
    from sim.pools.servers import GpuCost, GpuServer
    from sim.studies.size import parse_objective, size_stream

    gpu = load_hardware()["h100-sxm"]
    s = GpuServer(gpu, "llama-3.3-70b", None, 20.0, inp, np.zeros_like(inp), out, None, q.BaselineLatency())
    s.cost = GpuCost("neocloud", s.replica.gpus, 0.97, price_per_gpu_hour=gpu.rental["on_demand"]["mode"])
    req = pd.DataFrame({"t": pd.Timestamp("2026-11-02") + pd.to_timedelta(t - t[0], unit="s"), "input_tokens": inp,
                        "output_tokens": out})
    tt = np.ascontiguousarray(t - t[0])
    q.batched_servers(tt[:100], inp[:100], out[:100], 2, s.slots, s.speeds, s.prefill_rate)  # cache load
    r, dt = best(lambda: size_stream(req, s, [parse_objective("p99 ttft <= 2s")], None, term="hourly"), repeat)
    _, one = best(lambda: q.batched_servers(tt, inp, out, r.min_units_for_slo or 8, s.slots, s.speeds,
                                            s.prefill_rate), repeat)
    return {"replica_gpus": s.replica.gpus, "streams_per_replica": s.slots, "min_replicas_p99_ttft_2s": r.min_units_for_slo,
            "counts_searched": len(r.provisioned), "seconds_search": round(dt, 3),
            "seconds_batched_one_count": round(one, 3)}


if __name__ == "__main__":
    main()
