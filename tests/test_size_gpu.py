"""Sizing GPU replicas (owned, neocloud) against latency objectives.

The continuous-batching kernel (``batched_servers``) is checked against the DES's SimPy
``GpuPool`` request by request (an independent, slower implementation of the same rules), and
against the Kiefer–Wolfowitz multi-server queue when speeds do not depend on the batch; the
replica server against the DES's pool builder; costs by hand from the hardware catalog.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import simpy

from sim.catalog.hardware import load_hardware
from sim.cli import main
from sim.pools.gpu import context_factor
from sim.pools.queueing import BaselineLatency, batched_servers, fifo_servers
from sim.pools.resources import GpuPool, gpu_pool_from_curve
from sim.pools.servers import GpuCost, GpuServer
from sim.studies.size import parse_objective, size_stream
from tests.conftest import refusal


def _simpy(t, pf, ot, servers, slots, speeds, rate, reject=False):
    env = simpy.Environment()
    pool = GpuPool(env, servers, slots, list(speeds), prefill_tok_s=rate, record=False)
    tickets = [None] * t.size

    def arrive():
        last = 0.0
        for i in range(t.size):
            yield env.timeout(t[i] - last)
            last = t[i]
            if reject and not pool.has_free_slot():
                continue
            tickets[i] = pool.request(pf[i], ot[i])

    env.process(arrive())
    env.run()
    return tickets


@pytest.mark.parametrize("reject", [False, True])
@pytest.mark.parametrize("seed, integer_times", [(1, False), (2, True), (3, True)])
def test_batching_kernel_is_the_des_gpu_pool(seed, integer_times, reject):
    """Same admissions, concurrency, speeds and ends as the SimPy pool, request by request, with
    ties in arrival times (integer seconds) and at a load that queues."""
    rng = np.random.default_rng(seed)
    n = 2500
    t = np.sort(rng.uniform(0, 900, n))
    if integer_times:
        t = np.floor(t)
    pf = rng.integers(0, 3000, n).astype(float)
    ot = rng.integers(1, 600, n).astype(float)
    speeds = [0.0] + [80.0 / (1 + 0.15 * c) for c in range(1, 7)]
    tk = _simpy(t, pf, ot, 4, 6, speeds, 4000.0, reject)
    b = batched_servers(t, pf, ot, 4, 6, speeds, 4000.0, reject_when_full=reject)
    admitted = np.array([x is not None for x in tk])
    np.testing.assert_array_equal(~admitted, b.spilled)
    adm = np.array([x.t_admit for x in tk if x is not None])
    np.testing.assert_allclose(b.admit[admitted], adm, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(b.concurrency[admitted], [x.conc for x in tk if x is not None])
    np.testing.assert_allclose(b.end[admitted], [x.t_admit + x.hold for x in tk if x is not None], atol=1e-9)
    assert (b.admit[admitted] > t[admitted]).any() != reject  # it queues (or, rejecting, never waits)
    if reject:
        assert 0 < b.spilled.mean() < 1


def test_fixed_speeds_are_the_multi_server_fifo():
    """Speeds that do not depend on the batch and no prefill: R servers of S slots are R·S
    identical FIFO servers, so the waits are Kiefer–Wolfowitz's (itself checked against Erlang C)."""
    rng = np.random.default_rng(4)
    n = 20000
    t = np.cumsum(rng.exponential(1.0, n))
    ot = rng.exponential(25.0 * 3 * 4 * 0.85, n)  # holds of mean 3·4·0.85 s at 25 tok/s: ρ = 0.85 on 12 slots
    b = batched_servers(t, np.zeros(n), ot, 3, 4, [0.0] + [25.0] * 4, 1.0)
    np.testing.assert_allclose(b.admit - t, fifo_servers(t, ot / 25.0, 12), atol=1e-7)


def _server(gpu="mi300x", model="llama-3.3-70b", slo=25.0, n=4000, seed=5, pool="neocloud", prompt=1500.0):
    rng = np.random.default_rng(seed)
    fresh = np.round(prompt * np.exp(0.6 * rng.standard_normal(n)))
    out = np.round(250 * np.exp(0.5 * rng.standard_normal(n)))
    hw = load_hardware()
    s = GpuServer(hw[gpu], model, None, slo, fresh, np.zeros(n), out, None, BaselineLatency())
    price = hw[gpu].rental["on_demand"]["mode"]
    s.cost = GpuCost(pool, s.replica.gpus, 0.97, price_per_gpu_hour=price)
    return s, fresh, out, price


def test_a_one_gpu_replica_is_the_des_gpu():
    """MI300X holds Llama-3.3-70B (FP8) on one GPU: at contexts within the benchmark's (no derate) the
    replica's slots and speeds are those the DES builds for a GPU of the first generation
    (``gpu_pool_from_curve``, throughput scale 1) at the stream's decode share."""
    s, fresh, out, _ = _server(prompt=500.0)
    assert s.replica.gpus == 1
    assert float(context_factor(float(np.mean(fresh + out)))) == 1.0
    env = simpy.Environment()
    des = gpu_pool_from_curve(env, s.curve, 1, 25.0, throughput_scale=1.0, decode_share=s.decode_share)
    assert s.slots == des.slots
    np.testing.assert_allclose(s.speeds, des.speeds, rtol=1e-12)
    assert s.prefill_rate == pytest.approx(s.curve.prefill_tok_s_gpu)


def test_more_replicas_never_raise_latency_and_costs_are_the_catalog_rental():
    s, fresh, out, price = _server(gpu="h100-sxm", slo=20.0, n=6000)
    rng = np.random.default_rng(9)
    t = np.sort(rng.uniform(0, 900, fresh.size))  # ~6.7 requests a second: one replica queues
    for metric in ("ttft", "e2e"):
        p99 = [np.percentile(s.serve(t, 900.0, u, hybrid=False).metric(metric), 99) for u in (1, 2, 3, 4, 6)]
        assert all(a >= b - 1e-12 for a, b in zip(p99, p99[1:])) and p99[0] > p99[-1], (metric, p99)
    # 3 serving replicas at 97 % availability: 4 bought, × GPUs a replica × the on-demand mode
    assert s.cost.bought(3) == 4
    assert s.cost_per_hour(3) == pytest.approx(4 * s.replica.gpus * price)


def test_size_gpu_trace_from_the_cli(capsys, tmp_path):
    """A trace sized on neocloud H100s: the smallest replica count is the first the objective holds at
    (checked by stepping counts one by one), its cost the rental by hand; refusals name the flag."""
    rng = np.random.default_rng(11)
    n = 3000
    t = np.sort(rng.uniform(0, 1800, n))
    f = tmp_path / "trace.csv"
    pd.DataFrame({"timestamp": (pd.Timestamp("2026-11-02T09:00:00") + pd.to_timedelta(t, unit="s")).astype(str),
                  "input_tokens": np.round(1500 * np.exp(0.6 * rng.standard_normal(n))).astype(int),
                  "output_tokens": np.round(250 * np.exp(0.5 * rng.standard_normal(n))).astype(int)}).to_csv(f, index=False)
    args = ["size", str(f), "--pool", "neocloud", "--profile", "h100-sxm/llama-3.3-70b", "--term", "hourly",
            "--slo", "p99 ttft <= 1s", "--slo", "p95 tpot <= 50ms"]
    assert main(args + ["--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["replica"]["gpus"] >= 1 and r["replica"]["interactivity_tok_s"] == pytest.approx(20.0)
    u = r["min_units_for_slo"]
    assert u is not None and r["cheapest_plan"]["units"] == u  # no pay-go model: the replicas alone
    from sim.calibrate.formats import read_requests

    req = read_requests(str(f), "auto").requests
    hw = load_hardware()
    s = GpuServer(hw["h100-sxm"], "llama-3.3-70b", None, 20.0, req["input_tokens"].to_numpy(float),
                  np.zeros(n), req["output_tokens"].to_numpy(float), None, BaselineLatency())
    s.cost = GpuCost("neocloud", s.replica.gpus, 0.97, price_per_gpu_hour=hw["h100-sxm"].rental["on_demand"]["mode"])
    tt = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy()
    span = tt[-1] * n / (n - 1)
    ok = [np.percentile(s.serve(tt, span, k, False).ttft, 99, method="inverted_cdf") <= 1.0 for k in range(1, u + 1)]
    assert ok[-1] and not any(ok[:-1])
    want = math.ceil(u / 0.97) * s.replica.gpus * hw["h100-sxm"].rental["on_demand"]["mode"] * 730
    assert r["cheapest_plan"]["cost_per_month"] == pytest.approx(want, abs=0.01)
    assert r["gpus_for_slo"] == math.ceil(u / 0.97) * s.replica.gpus
    m = refusal(args[:6] + ["--term", "1m", "--slo", "p99 ttft <= 1s", "--interactivity", "20"], capsys, "usage")
    assert "neocloud GPUs are priced" in m[0]
    m = refusal(["size", str(f), "--pool", "owned", "--profile", "h100-sxm/llama-3.3-70b", "--slo", "p99 ttft <= 1s"],
                capsys, "usage")
    assert "--interactivity" in m[0]
    m = refusal(["size", str(f), "--pool", "owned", "--profile", "z9/llama", "--slo", "p99 ttft <= 1s"], capsys, "usage")
    assert "GPU/MODEL" in m[0]
    m = refusal(["size", str(f), "--profile", "vertex/gemini-2.5-flash", "--slo", "p99 tpot <= 20ms"], capsys, "usage")
    assert "tpot objectives are for --pool owned|neocloud" in m[0]


def test_hybrid_gpu_plans_match_a_hand_priced_spill():
    """With a pay-go model, each hybrid plan is the replicas' rental plus the spilled requests at
    the model's list price per stream hour × 730 (by hand from the price card)."""
    from sim.catalog.prices import PriceBook

    s, fresh, out, price = _server(gpu="h100-sxm", slo=20.0, n=3000)
    rng = np.random.default_rng(12)
    t = np.sort(rng.uniform(0, 1800, fresh.size))
    req = pd.DataFrame({"t": pd.Timestamp("2026-11-02") + pd.to_timedelta(t, unit="s"), "input_tokens": fresh,
                        "output_tokens": out})
    card = PriceBook(pd.Timestamp("2026-11-01").date()).card("anthropic/claude-sonnet-4-5").base
    pay = (fresh * card.input + out * card.output) / 1e6
    r = size_stream(req, s, [parse_objective("p99 ttft <= 1s")], pay, term="hourly")
    tt = t - t[0]
    hours = tt[-1] / 3600 * t.size / (t.size - 1)
    assert len(r.frontier) >= 2
    for p in r.frontier:
        sp = s.serve(tt, hours * 3600, p.units, True).spilled if p.units else np.ones(t.size, bool)
        want = (s.cost.bought(p.units) * s.replica.gpus * price + pay[sp].sum() / hours) * 730
        assert p.cost_per_month == pytest.approx(want, rel=1e-9)


def test_owned_replicas_over_the_term_from_a_scenario(capsys, tmp_path):
    """A scenario workload sized on owned H200 replicas over a 3-month term: the pool-only breach
    probability never rises with replicas, and the owned cost of a count is the components' sum."""
    from sim.pools.owned import owned_inputs, owned_month_cost
    from sim.pools.valuation import MeanValues
    from sim.scenario import load_scenario
    from tests.test_size_term import _scenario_file

    f = _scenario_file(tmp_path)
    assert main(["size", str(f), "--workload", "c", "--pool", "owned", "--profile", "h200/llama-3.3-70b",
                 "--slo", "p99 ttft <= 1s", "--term", "3m", "--paths", "40", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["pool"] == "owned" and r["replica"]["gpus"] >= 1
    assert any("its API requests are sized as if served by llama-3.3-70b" in w for w in r["warnings"])
    plans = [p for p in r["over_term"]["plans"] if p["units"] > 0]
    pb = [p["provisioned"]["p_breach"] for p in plans]
    assert all(a >= b for a, b in zip(pb, pb[1:])) and pb[-1] <= 0.05
    sc = load_scenario(f)
    gpu = load_hardware()["h200"]
    c = owned_inputs(sc, gpu, MeanValues())
    u = r["min_units_for_slo"]
    p = next(x for x in r["provisioned"] if x["units"] == u)
    gpus = math.ceil(u / 0.95) * r["replica"]["gpus"]
    idle = sum(v for k, v in owned_month_cost(float(gpus), 0.0, 730.0, c).items() if k != "energy_kwh")
    full = sum(v for k, v in owned_month_cost(float(gpus), 1.0, 730.0, c).items() if k != "energy_kwh")
    assert idle <= p["cost_per_month"] <= full  # power at the utilisation served, between idle and full



def test_a_pool_that_never_serves_is_refused(capsys, tmp_path):
    import yaml

    from tests.conftest import chat, make

    sc = make([chat(name="c", sessions_per_user_per_day=4, models={"api": "google/gemini-2.5-flash-lite"})],
              horizon={"start": "2027-01", "months": 2}, pools={"neocloud": {"availability": 0.0}})
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(sc.model_dump(mode="json", exclude_none=True), sort_keys=False))
    m = refusal(["size", str(f), "--workload", "c", "--pool", "neocloud", "--profile", "h100-sxm/llama-3.3-70b",
                 "--slo", "p99 ttft <= 2s", "--term", "hourly"], capsys, "usage")
    assert "pools.neocloud.availability is 0" in m[0]
