"""tokensim size (sim.studies.size): sizing provisioned units for latency objectives from a trace.

Checked against an independent brute force (a plain-Python Lindley recursion with spill, priced
by hand from the profile's published numbers), hand cases, and monotonicity.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.catalog.prices import PriceBook
from sim.catalog.provisioned import profile
from sim.cli import main
from sim.pools.queueing import BaselineLatency
from sim.studies.size import parse_objective, size_trace
from tests.conftest import refusal

GSU = "vertex/gemini-2.5-flash-lite"  # 8,070 tokens/s per GSU; output ×4 (calibration/provisioned/vertex.yaml)


def _trace(n=3000, hours=0.5, seed=1, inp=2500.0, out=250.0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, hours * 3600, n))
    return pd.DataFrame({"t": pd.Timestamp("2026-11-02T09:00:00") + pd.to_timedelta(t, unit="s"),
                         "input_tokens": np.round(inp * np.exp(0.7 * rng.standard_normal(n))),
                         "output_tokens": np.round(out * np.exp(0.5 * rng.standard_normal(n)))})


def _brute(req, prof, objectives, term, limit, base, price_date):
    """Every legal count by hand: a Python Lindley recursion with spill, costs from the profile's
    prices and the catalog's pay-go rates; the cheapest count meeting every objective."""
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy()
    fresh, out = req["input_tokens"].to_numpy(float), req["output_tokens"].to_numpy(float)
    w_in, w_out = prof.burndown.input, prof.burndown.output
    us = (fresh * w_in + out * w_out) / prof.tokens_per_second
    card = PriceBook(price_date).card(prof.pay_go_model).base
    pay = (fresh * card.input + out * card.output) / 1e6
    hours = t[-1] / 3600 * t.size / (t.size - 1)  # n requests cover n mean gaps
    best = None
    for u in [0] + list(range(prof.minimum, 60, prof.increment)):
        waits, spilled, backlog_end = np.zeros(t.size), np.zeros(t.size, bool), 0.0
        for i in range(t.size):
            wait = max(0.0, backlog_end - t[i])
            if u == 0 or wait > limit:
                spilled[i] = True
                continue
            waits[i] = wait
            backlog_end = t[i] + wait + us[i] / u
        ttft = base.base_s + fresh / base.prefill_tok_s + waits
        e2e = ttft + out / base.decode_tok_s
        ok = all(np.percentile({"ttft": ttft, "e2e": e2e}[o.metric], o.percentile, method="inverted_cdf") <= o.seconds
                 for o in objectives)
        cost = u * prof.prices[term].usd_per_unit_month + pay[spilled].sum() / hours * 730
        if ok and (best is None or cost < best[1] - 1e-9):
            best = (u, cost)
    return best


@pytest.mark.parametrize("decode, slo", [(250.0, "p99 ttft <= 1.6s"), (250.0, "p95 ttft <= 0.9s"),
                                         (400.0, "p99 e2e <= 3s")])
def test_the_cheapest_plan_is_the_brute_force_optimum(decode, slo):
    req = _trace(n=4000, hours=0.25)
    prof = profile(GSU)
    base = BaselineLatency(decode_tok_s=decode)
    obj = [parse_objective(slo)]
    r = size_trace(req, prof, obj, term="1m", queue_limit_s=0.5, base=base, price_date=pd.Timestamp("2026-11-01").date())
    want = _brute(req, prof, obj, "1m", 0.5, base, pd.Timestamp("2026-11-01").date())
    assert want is not None and r.cheapest_plan is not None
    assert r.cheapest_plan.units == want[0]
    assert r.cheapest_plan.cost_per_month == pytest.approx(want[1], rel=1e-9)


def test_zero_units_when_pay_go_is_cheaper_and_meets_the_objective():
    """At ~1.7 requests a second, pay-go for flash-lite costs far less than one GSU ($2,700 a month
    on the 1-month term), and with no queue its p99 TTFT is the baseline's: zero units is chosen."""
    req = _trace(n=3000, hours=0.5)
    r = size_trace(req, profile(GSU), [parse_objective("p99 ttft <= 2s")], term="1m")
    assert r.cheapest_plan is not None and r.cheapest_plan.units == 0 and r.cheapest_plan.spill_share == 1.0
    assert r.cheapest_plan.cost_per_month < 2700


def test_a_hand_case_one_unit_never_queues():
    """A request every 2 s, each 1,000 input and 0 output tokens: 1,000 / 8,070 = 0.124 GSU-seconds,
    so one GSU never queues and its cost is the 1-month price as quoted, $3.6986 a GSU-hour × 730 h
    = $2,699.98 a month."""
    n = 200
    req = pd.DataFrame({"t": pd.Timestamp("2026-11-02") + pd.to_timedelta(np.arange(n) * 2.0, unit="s"),
                        "input_tokens": np.full(n, 1000.0), "output_tokens": np.zeros(n)})
    r = size_trace(req, profile(GSU), [parse_objective("p99 ttft <= 0.6s")], term="1m")
    one = next(p for p in r.provisioned if p.units == 1)
    assert one.latency["ttft"][99.0] == pytest.approx(0.5 + 1000 / 20000)  # the baseline, no wait
    assert one.cost_per_month == pytest.approx(3.6986 * 730, rel=1e-9) and r.min_units_for_slo == 1
    assert r.windows["1s"]["max"] == pytest.approx(1000 / 8070, abs=5e-5)  # reported to 4 decimals


def test_a_higher_percentile_never_needs_fewer_units():
    req = _trace(n=6000, hours=0.25, seed=4)
    base = BaselineLatency(decode_tok_s=300.0)
    need = [size_trace(req, profile(GSU), [parse_objective(f"p{q} ttft <= 2.5s")], base=base).min_units_for_slo
            for q in (50, 90, 99, 99.9)]
    assert all(n is not None for n in need) and need == sorted(need)


def test_size_cli_json_keys_and_refusals(capsys, tmp_path):
    f = tmp_path / "trace.csv"
    req = _trace(n=2000, hours=0.25)
    pd.DataFrame({"timestamp": req["t"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "input_tokens": req["input_tokens"],
                  "output_tokens": req["output_tokens"]}).to_csv(f, index=False)
    assert main(["size", str(f), "--profile", GSU, "--slo", "p99 ttft <= 1.5s", "--decode-tok-s", "250",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"min_units_for_slo", "cheapest_plan", "frontier"} <= set(r)
    assert {"units", "cost_per_month", "spill_share", "slo_met"} <= set(r["cheapest_plan"])
    assert r["frontier"][0]["units"] == 0  # then each count until the units alone cost more than the best plan
    m = refusal(["size", str(f), "--profile", GSU, "--slo", "p99 latency < 2"], capsys, "usage")
    assert "is not a latency objective" in m[0]
    m = refusal(["size", str(f), "--profile", "vertex/gemini-2.5-flash-lit", "--slo", "p99 ttft <= 1s"], capsys,
                "usage")
    assert "gemini-2.5-flash-lite" in m[0]  # the suggestion
    m = refusal(["size", str(f), "--profile", "bedrock/model-unit", "--slo", "p99 ttft <= 1s"], capsys, "usage")
    assert "not public" in m[0]
    m = refusal(["size", str(f), "--profile", GSU, "--slo", "p99 ttft <= 1s", "--term", "6m"], capsys, "usage")
    assert "is sold on" in m[0]

    m = refusal(["size", str(f), "--profile", GSU, "--slo", "p99 ttft < 1s"], capsys, "usage")
    assert "strict < is not taken" in m[0]


def test_the_smallest_size_is_found_beyond_the_busiest_second():
    """The shipped Azure code trace, p99 TTFT ≤ 0.89 s on flash-lite: the all-pay-go baseline meets
    it (0.87 s), but the queue needs far more units than its busiest second (which a search bounded
    by it missed). An independent linear scan over the counts, a Python Lindley recursion, must give
    the same smallest count as the doubling-and-bisection search."""
    from pathlib import Path

    from sim.calibrate.formats import read_requests

    req = read_requests(Path(__file__).resolve().parents[1] / "calibration/traces/azure_code_2023.csv").requests
    prof = profile(GSU)
    obj = [parse_objective("p99 ttft <= 0.89s")]
    r = size_trace(req, prof, obj)
    t = (req["t"] - req["t"].iloc[0]).dt.total_seconds().to_numpy()
    fresh, out = req["input_tokens"].to_numpy(float), req["output_tokens"].to_numpy(float)
    us = (fresh * prof.burndown.input + out * prof.burndown.output) / prof.tokens_per_second
    base = BaselineLatency()
    want = None
    for u in range(1, 200):
        waits, end = np.zeros(t.size), 0.0
        for i in range(t.size):
            waits[i] = max(0.0, end - t[i])
            end = t[i] + waits[i] + us[i] / u
        ttft = base.base_s + fresh / base.prefill_tok_s + waits
        if np.percentile(ttft, 99, method="inverted_cdf") <= 0.89:
            want = u
            break
    assert want is not None and want > r.windows["1s"]["max"] + 1
    assert r.min_units_for_slo == want


def test_a_trace_spanning_years_is_refused_and_failed_attempts_are_not_demand(tmp_path):
    from sim.calibrate.formats import read_requests

    far = pd.DataFrame({"t": pd.to_datetime(["2026-01-01", "2100-01-01"]), "input_tokens": [1.0, 1.0],
                        "output_tokens": [1.0, 1.0]})
    with pytest.raises(ValueError, match="give at most 92 days"):
        size_trace(far, profile(GSU), [parse_objective("p99 ttft <= 1s")])
    f = tmp_path / "s.csv"
    f.write_text("timestamp,input_tokens,output_tokens,status\n2026-03-01T00:00:00Z,10,1,200\n"
                 "2026-03-01T00:00:01Z,10,0,429\n2026-03-01T00:00:02Z,10,1,200\n")
    u = read_requests(f)
    assert len(u.requests) == 2 and any("1 failed attempt(s)" in w for w in u.warnings)


def test_a_scenario_workload_as_the_source(capsys, tmp_path):
    """A scenario SOURCE is its workload's API requests on the busiest day (the DES): the CLI's plan
    is size_trace's on that same stream, and the source is named in the JSON."""
    import yaml

    from sim.scenario import load_scenario
    from sim.studies.size import scenario_requests
    from tests.conftest import chat, make

    sc = make([chat(name="c", sessions_per_user_per_day=4, turns=3, models={"api": "google/gemini-2.5-flash-lite"})],
              horizon={"start": "2027-01", "months": 2},
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": 400}, "intensity_sigma": 0.0}])
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(sc.model_dump(mode="json", exclude_none=True), sort_keys=False))
    req, info = scenario_requests(load_scenario(f), "c")
    assert len(req) > 100 and (req["t"].diff().dropna() >= pd.Timedelta(0)).all()
    want = size_trace(req, profile(GSU), [parse_objective("p99 ttft <= 2s")])
    assert main(["size", str(f), "--workload", "c", "--profile", GSU, "--slo", "p99 ttft <= 2s", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["simulated"]["workload"] == "c" and r["requests"] == len(req)
    assert r["min_units_for_slo"] == want.min_units_for_slo
    assert r["cheapest_plan"]["units"] == want.cheapest_plan.units
    m = refusal(["size", str(f), "--profile", GSU, "--slo", "p99 ttft <= 2s"], capsys, "usage")
    assert "needs --workload" in m[0]
    m = refusal(["size", str(f), "--workload", "nope", "--profile", GSU, "--slo", "p99 ttft <= 2s"], capsys, "usage")
    assert "unknown workload 'nope'" in m[0]
