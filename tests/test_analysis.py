"""Decision analyses and the report: newsvendor optimum, budget shares, TCO closed form, drivers, HTML."""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from sim.analysis import budget, common, tco
from sim.catalog.hardware import load_hardware
from sim.mc.runner import run
from sim.scenario import load_scenario
from sim.studies import commit, sensitivity
from tests.conftest import BASE, chat, make

NO_RETRY = {"error_rate": 0, "timeout_rate": 0, "validation_failure_rate": 0, "max_attempts": 1}
PER_SESSION_TOKENS = 500 + 100 + 200  # system + user message + output of conftest.chat, one turn, no cache


def _cli(argv: list[str], capsys) -> tuple[int, dict]:
    from sim.cli import main

    code = main(argv + ["--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out  # exactly one JSON object
    return code, json.loads(out[0])


# ---- budget -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    """Two strategies (commit levels) of an uncertain chat over a year: 80 paths."""
    sc = make([chat(sessions_per_user_per_day={"dist": "uniform", "low": 5, "high": 15})],
              horizon={"start": "2027-01", "months": 14},
              business_units=[{"name": "bu", "users": {"curve": "fixed", "ceiling": {"dist": "pert", "low": 50,
                                                                                    "mode": 100, "high": 200}}}],
              contracts=[{"name": "tc", "kind": "token_commit", "amount": 0, "discount": 0.2, "term_months": 12}],
              strategies=[{"name": "payg"}, {"name": "commit", "set": {"contracts.tc.amount": 2.0e7}}])
    out = tmp_path_factory.mktemp("res")
    ds, path = run(sc, paths=80, out=out)
    return ds, path


def test_p_exceed_is_the_share_of_paths_above_the_budget(small_results):
    ds, _ = small_results
    monthly = ds["spend"].sel(strategy="payg").sum(["pool", "workload"]).values  # (path, month)
    years = np.array([str(m)[:4] for m in ds["month"].values])
    y2027 = monthly[:, years == "2027"].sum(axis=1)
    y2028 = monthly[:, years == "2028"].sum(axis=1)
    bud = float(np.median(y2027)) * 1.1
    r = budget.budget_analysis(ds, strategy="payg", period="year", budget=bud, confidence=0.8)
    assert r["periods"] == ["2027", "2028"] and r["partial_periods"] == ["2028"]
    assert r["p_exceed"]["2027"] == pytest.approx(np.mean(y2027 > bud), abs=1e-12)
    assert r["p_exceed"]["2028"] == pytest.approx(np.mean(y2028 > bud), abs=1e-12)
    assert 0 < r["p_exceed"]["2027"] < 0.5
    # the budget at confidence c is exceeded in at most a share 1 - c of paths
    b80 = r["budget_at_confidence"]["2027"]
    assert b80 == pytest.approx(np.quantile(y2027, 0.8))
    assert np.mean(y2027 > b80) <= 0.2 + 1e-9
    # groups add up to the total, chargeback shares to one
    q = r["quantiles"]
    for dim in ("business_unit", "workload", "pool"):
        assert q[(q["dimension"] == dim) & (q["period"] == "2027")]["mean"].sum() == pytest.approx(y2027.mean(), rel=1e-9)
    cb = r["chargeback"]
    assert cb[cb["period"] == "2027"]["share"].sum() == pytest.approx(1.0)
    # quarters: 5 of them, the last partial
    rq = budget.budget_analysis(ds, strategy="payg", period="quarter")
    assert rq["periods"][0] == "2027-Q1" and rq["partial_periods"] == ["2028-Q1"] and rq["p_exceed"] is None


def test_quantile_standard_error_matches_theory():
    # order-statistic SE of the median of n normals ≈ sqrt(q(1-q)/n) / φ(0) = 1.2533/sqrt(n)
    rng = np.random.default_rng(1)
    n = 4000
    ses = [common.quantile_se(rng.standard_normal(n), 0.5) for _ in range(20)]
    assert np.mean(ses) == pytest.approx(math.sqrt(0.25 / n) / stats.norm.pdf(0), rel=0.15)
    q = 0.95
    ses = [common.quantile_se(rng.standard_normal(n), q) for _ in range(20)]
    assert np.mean(ses) == pytest.approx(math.sqrt(q * (1 - q) / n) / stats.norm.pdf(stats.norm.ppf(q)), rel=0.2)
    # paths for ±1 %: the relative half-width falls as 1/sqrt(n)
    assert common.paths_for_precision(100, 10.0, 0.2) == math.ceil(100 * (1.96 * 0.2 / 0.1) ** 2)


def test_budget_cli_json_contract_and_bad_input(small_results, capsys, tmp_path):
    _, path = small_results
    code, obj = _cli(["budget", str(path), "--budget", "100000", "--period", "year"], capsys)
    assert code == 0 and set(obj["p_exceed"]) == {"2027", "2028"} and set(obj["budget_at_confidence"]) == {"2027", "2028"}
    code, obj = _cli(["budget", str(path)], capsys)
    assert code == 0 and "p_exceed" not in obj and "budget_at_confidence" in obj
    for argv, msg in ((["budget", str(tmp_path / "nope.nc")], "not found"),
                      (["budget", str(path), "--confidence", "1.5"], "between 0 and 1"),
                      (["budget", str(path), "--strategy", "zzz"], "unknown strategy"),
                      (["budget", str(path), "--period", "decade"], "invalid choice")):
        code, obj = _cli(argv, capsys)
        assert code == 2 and obj["ok"] is False and msg in obj["problems"][0], obj


# ---- commitments: the newsvendor ---------------------------------------------------------------------------
def test_commit_analysis_finds_the_newsvendor_quantile():
    # demand per month D = users × r × days × tokens per session, r ~ U(5, 15): known distribution
    users, days, d = 100, 28, 0.3
    unit = users * days * PER_SESSION_TOKENS  # tokens per unit of r (February 2027: 28 days)
    grid = list(range(5, 16))
    sc = make([chat(sessions_per_user_per_day={"dist": "uniform", "low": 5, "high": 15}, retry=NO_RETRY)],
              horizon={"start": "2027-02", "months": 1}, demand_noise={"day_cv": 0.0},
              contracts=[{"name": "tc", "kind": "token_commit", "models": ["acme/m1"], "amount": 0, "discount": d,
                          "overage_rate": 1.0, "term_months": 1}],
              sweeps=[{"field": "contracts.tc.amount", "values": [float(r * unit) for r in grid]}])
    r, ds = commit.run_commit(sc, paths=300)
    assert len(r["options"]) == len(grid)
    true_opt = (5 + d * 10) * unit  # d-quantile of demand
    best = r["optimal_commit_expected_cost"]["amount"]
    assert abs(best - true_opt) <= unit + 1e-6  # within the grid resolution
    nv = r["newsvendor"][0]
    assert nv["critical_ratio"] == pytest.approx(d)
    assert nv["newsvendor_amount"] == pytest.approx(true_opt, rel=0.04)
    # the demand the analysis reads is the demand we built, and the cost is the newsvendor cost
    demand = (ds["commit_drawn"] + ds["overage"]).isel(strategy=-1, contract=0, month=0).values
    rate = ds["input:workloads.c.sessions_per_user_per_day"].isel(strategy=0).values
    assert np.allclose(demand, rate * unit, rtol=0.02)
    p = (600 * 2.0 + 200 * 8.0) / 1e6 / PER_SESSION_TOKENS  # list price per token
    for o in r["options"]:
        a = o["commit"]["tc"]
        expect = np.mean(a * p * (1 - d) + p * np.maximum(demand - a, 0.0))
        assert o["expected_cost"] == pytest.approx(expect, rel=1e-6)
        assert o["expected_stranded"] == pytest.approx(np.mean(np.maximum(a - demand, 0.0)), rel=1e-6, abs=1e-3)
    # utilisation risk and the frontier are consistent with the numbers
    big = r["options"][-1]
    assert big["p_utilization_below_threshold"] == pytest.approx(np.mean(demand / big["commit"]["tc"] < 0.8))
    front = [o for o in r["options"] if o["on_frontier"]]
    assert r["optimal_commit_expected_cost"]["strategy"] in [o["strategy"] for o in front]
    for o in r["options"]:
        assert any(f["expected_cost"] <= o["expected_cost"] and f["p95_cost"] <= o["p95_cost"] for f in front)
    assert r["optimal_commit_cvar"]["cvar_cost"] == min(o["cvar_cost"] for o in r["options"])


# ---- TCO: closed-form crossover --------------------------------------------------------------------------------
def _tco_scenario(**owned):
    o = {"enabled": True, "gpu": "h200", "capex_per_gpu": 30000, "network_share": 0.1, "storage_share": 0.02,
         "useful_life_years": 5, "residual_value_share": 0.1, "pue": 1.3, "power_price_per_kwh": 0.1,
         "colocation_per_kw_month": 190, "staff_fte": 1.0, "gpus_per_fte": 150, "staff_cost_per_fte_year": 250000,
         "licence_per_gpu_year": 1000, "support_share_per_year": 0.06, "availability": 0.9, "gpu_headroom": 0.8,
         "generation_improvement_per_year": 0.0, "lead_time_months": 2}
    o.update(owned)
    return make([chat(retry=NO_RETRY, models={"api": "acme/m1", "owned": "llama-3.3-70b", "neocloud": "llama-3.3-70b"},
                      slo={"interactivity_tok_s_user": 20})],
                horizon={"start": "2027-02", "months": 12},
                pools={"api": {"price_trend": {"commodity_per_year": 0.0, "frontier_per_year": 0.0}},
                       "neocloud": {"enabled": True, "gpu": "h100-sxm", "reserved_price_per_gpu_hour": 2.0,
                                    "availability": 1.0, "gpu_headroom": 0.5},
                       "owned": o})


def _hand_crossover(a: float, floor: float, per_gpu: float, var: float, cap: float, r: int = 1) -> float | None:
    """Smallest V with floor + per_gpu·r·ceil(V/(r·cap)) + var·V <= a·V for good (whole replicas of r).

    On the k-th replica's segment ((k−1)·r·cap, k·r·cap] the gap cost − a·V falls linearly, so it is
    largest at the segment's start: g(k) = floor + per_gpu·r·k − (a − var)·(k − 1)·r·cap. g falls
    with k when (a − var)·r·cap > per_gpu·r, so the last segment with g(k) > 0 holds the crossover,
    at the root (floor + per_gpu·r·k)/(a − var) of its line.
    """
    if a <= var + per_gpu / cap:
        return None
    k = 1
    while floor + per_gpu * r * (k + 1) - (a - var) * k * r * cap > 0:  # g(k + 1) > 0: go on
        k += 1
    return (floor + per_gpu * r * k) / (a - var)


@pytest.mark.parametrize("staff_fte", [1.0, 10.0])  # crossover within the first GPU / with a larger fleet
def test_tco_crossover_equals_the_closed_form(staff_fte):
    sc = _tco_scenario(staff_fte=staff_fte)
    mix = tco.workload_mix(sc, "c")
    lines = tco.lines_at(sc, mix)
    cross = tco.crossovers(lines)
    assert set(cross) == {"api_vs_neocloud", "api_vs_owned", "neocloud_vs_owned"}
    a = (600 * 2.0 + 200 * 8.0) / 1e6 / PER_SESSION_TOKENS
    hw = load_hardware()
    # owned, by hand from the scenario's numbers and the catalog's H200 profile
    g = hw["h200"]
    cv = g.curve("llama-3.3-70b")
    sec = (600 - 200) / cv.prefill_tok_s_gpu + 200 / float(cv.throughput_at(20))  # prompt beyond 1:1 + decode
    tok_h = PER_SESSION_TOKENS / sec * 3600
    cap = tok_h * 8760 * 0.9 * 0.8
    capex = 30000 / (1 - 0.1 - 0.02)
    kw = g.allin_power_w / 1000
    per_gpu = (capex * 0.9 / 5 + kw * g.idle_power_fraction * 1.3 * 8760 * 0.1 + kw * 190 * 12 + 250000 / 150
               + 1000 + capex * 0.06)
    var = kw * (1 - g.idle_power_fraction) * 1.3 * 0.1 / tok_h
    v_own = _hand_crossover(a, staff_fte * 250000.0, per_gpu, var, cap)
    assert v_own is not None and cross["api_vs_owned"] == pytest.approx(v_own, rel=1e-9)
    assert (v_own <= cap) == (staff_fte == 1.0)  # within the first GPU, and with a larger fleet
    assert lines["api"].var == pytest.approx(a, rel=1e-12)
    # neocloud reserved: 2 $/GPU-hour, no floor, whole replicas of 2 H100: Llama-3.3-70B in FP8 is
    # 70.6 GB of weights (65.7 GiB) + 3.5 GiB of runtime + activations, over the 72 GiB a vLLM-style
    # server leaves usable on one 80 GiB GPU (0.9 × 80; the hand calculation is in test_models.py)
    assert lines["neocloud"].n_min == 2 and lines["neocloud"].step == 2
    assert lines["owned"].n_min == 1  # 141 GiB H200: one GPU holds it
    h = hw["h100-sxm"].curve("llama-3.3-70b")
    sec_n = (600 - 200) / h.prefill_tok_s_gpu + 200 / float(h.throughput_at(20))
    cap_n = PER_SESSION_TOKENS / sec_n * 3600 * 8760 * 0.5
    v_neo = _hand_crossover(a, 0.0, 2.0 * 8760, 0.0, cap_n, r=2)
    assert cross["api_vs_neocloud"] == (None if v_neo is None else pytest.approx(v_neo, rel=1e-9))
    # at the crossover both cost the same; a bit above it the owned pool is cheaper
    v = cross["api_vs_owned"]
    assert float(lines["owned"].cost(v)) == pytest.approx(float(lines["api"].cost(v)), rel=1e-9)
    assert float(lines["owned"].cost(1.1 * v)) < float(lines["api"].cost(1.1 * v))
    # the general piecewise search (owned vs neocloud, both with fixed costs) against brute force
    grid = np.logspace(8, 15, 20001)
    diff = lines["owned"].cost(grid) - lines["neocloud"].cost(grid)
    v_on = cross["neocloud_vs_owned"]
    assert v_on is not None and np.all(diff[grid > v_on * 1.0001] < 0)
    assert np.any(diff[(grid < v_on * 0.9999) & (grid > v_on * 0.5)] > 0)
    # owned split by component adds up to the owned cost per token of that fleet
    split = tco.owned_split_per_mtok(lines["owned"], 10.0)
    assert sum(split.values()) == pytest.approx(float(lines["owned"].cost(10 * cap)) / (10 * cap) * 1e6, rel=1e-9)
    # with every input fixed (capex and rental prices given, not left to the catalog's ranges) there is no spread
    d = tco.crossover_distribution(sc, mix, n=50)
    assert d["pairs"]["api_vs_owned"]["p10"] == pytest.approx(v_own, rel=1e-9)
    assert d["pairs"]["api_vs_owned"]["p90"] == pytest.approx(v_own, rel=1e-9)


def test_tco_purchase_sweep_and_cli_contract(capsys, tmp_path):
    sc = _tco_scenario()
    d = sc.model_dump(mode="json", by_alias=True, exclude_none=True)
    d["business_units"][0]["users"]["ceiling"] = {"dist": "uniform", "low": 20000, "high": 60000}
    d["workloads"][0]["allowed_pools"] = ["api"]
    d["strategies"] = [{"name": "payg"},
                       {"name": "own", "set": {"workloads.c.allowed_pools": ["owned", "api"],
                                               "pools.owned.purchases": [{"month": 3, "gpus": 2}]}}]
    f = tmp_path / "tco.yaml"
    f.write_text(yaml.safe_dump(d, sort_keys=False))
    code, obj = _cli(["tco", str(f), "--paths", "24", "--draws", "40", "--purchase-months", "0,3,6"], capsys)
    assert code == 0, obj
    assert set(obj["crossover_tokens_per_year"]) == {"api_vs_neocloud", "api_vs_owned", "neocloud_vs_owned"}
    assert "best_purchase_month" in obj
    table = obj["purchase_sweep"]["table"]
    assert [row["month"] for row in table] == [0, 3, 6]
    assert obj["best_purchase_month"] in (None, 0, 3, 6)
    best = max(table, key=lambda r: r["expected_npv_savings"])
    if best["expected_npv_savings"] > 0:
        assert obj["best_purchase_month"] == best["month"] and obj["p_regret"] == best["p_regret"]
    for row in table:
        assert 0 <= row["p_regret"] <= 1 and row["p10"] <= row["p90"]


# ---- sensitivity ----------------------------------------------------------------------------------------------------
def test_tornado_and_morris_rank_the_dominant_input_first():
    sc = make([chat(sessions_per_user_per_day={"dist": "uniform", "low": 9.9, "high": 10.1}, turns=2)],
              horizon={"start": "2027-02", "months": 3},
              business_units=[{"name": "bu", "users": {"curve": "fixed",
                                                      "ceiling": {"dist": "uniform", "low": 50, "high": 150}}}],
              pools={"api": {"price_trend": {"commodity_per_year": {"dist": "uniform", "low": -0.02, "high": 0.0},
                                             "frontier_per_year": 0.0}}})
    dominant = "business_units.bu.users.ceiling"
    t = sensitivity.tornado(sc)
    assert t["input"].iloc[0] == dominant
    assert set(t["input"]) == {dominant, "workloads.c.sessions_per_user_per_day",
                               "pools.api.price_trend.commodity_per_year"}  # per-session turns excluded
    # spend is proportional to users: the swing is the P10→P90 range of users × spend per user
    assert t["swing"].iloc[0] == pytest.approx(t["base"].iloc[0] * (140 - 60) / 100, rel=1e-6)
    m = sensitivity.morris(sc, trajectories=6)
    assert m["input"].iloc[0] == dominant and m["mu_star"].iloc[0] > 10 * m["mu_star"].iloc[1]
    s = sensitivity.sobol(sc, n=16)
    assert s["input"].iloc[0] == dominant and s["ST"].iloc[0] > 0.9


def test_sensitivity_bad_metric_is_a_usage_error(capsys):
    code, obj = _cli(["sensitivity", str(Path(__file__).resolve().parents[1] / "scenarios" / "examples" /
                                          "batch_commit.yaml"), "--metric", "pool:moon"], capsys)
    assert code == 2 and "pool" in obj["problems"][0]


# ---- commit and compare through the CLI -----------------------------------------------------------------------------------
def test_commit_and_compare_cli_contracts(small_results, capsys, tmp_path):
    ex = Path(__file__).resolve().parents[1] / "scenarios" / "examples" / "batch_commit.yaml"
    code, obj = _cli(["commit", str(ex), "--paths", "30"], capsys)
    assert code == 0, obj
    assert obj["optimal_commit_expected_cost"]["strategy"] in [o["strategy"] for o in obj["options"]]
    assert len(obj["options"]) == 4
    for o in obj["options"]:
        for k in ("expected_cost", "p95_cost", "expected_stranded", "expected_overage"):
            assert isinstance(o[k], (int, float))
    _, path = small_results
    code, obj = _cli(["compare", str(path), str(path)], capsys)
    assert code == 0 and obj["paired"]
    tot = next(r for r in obj["table"] if r["metric"] == "total_spend")
    assert tot["difference"] == 0 and tot["se_difference"] == 0
    code, obj = _cli(["compare", str(path), str(ex)], capsys)
    assert code == 2 and "not one of each" in obj["problems"][0]


# ---- report --------------------------------------------------------------------------------------------------------
CHECK_SCRIPT = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push('error: ' + (e.message || (e.target && e.target.tagName) || 'resource'));
}, true);
(function () {
  var ce = console.error;
  console.error = function () { window.__errors.push('console: ' + Array.prototype.join.call(arguments, ' '));
                                 ce.apply(console, arguments); };
})();
window.addEventListener('load', function () {
  var imgs = [];
  document.querySelectorAll('img').forEach(function (im) {
    var r = im.getBoundingClientRect();
    imgs.push({w: im.naturalWidth, h: im.naturalHeight, rw: r.width, rh: r.height, ok: im.complete});
  });
  document.querySelectorAll('figure.chart > svg').forEach(function (sv) {  // inline SVG charts
    var r = sv.getBoundingClientRect(), vb = sv.viewBox.baseVal;
    imgs.push({w: vb ? vb.width : 0, h: vb ? vb.height : 0, rw: r.width, rh: r.height,
               ok: sv.querySelectorAll('path, text').length > 10});
  });
  var pre = document.createElement('pre');
  pre.id = 'tokensim-check';
  pre.textContent = 'CHECK' + JSON.stringify({images: imgs, errors: window.__errors}) + 'END';
  document.body.appendChild(pre);
});
</script>"""


def _chromium() -> str | None:
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if exe:
        return exe
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=900,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        except (OSError, subprocess.TimeoutExpired):
            return None
    return shutil.which("chromium")


def _load_in_chromium(exe: str, page: Path, profile: Path) -> tuple[dict, str]:
    r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1200,900",
                        "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                       capture_output=True, text=True, timeout=180)
    m = re.search(r'<pre id="tokensim-check">CHECK(.*?)END</pre>', r.stdout, re.S)
    assert m, f"no check output from chromium (rc {r.returncode}): {r.stderr[-2000:]}"
    return json.loads(html.unescape(m.group(1))), r.stderr


def _report_scenario(tmp_path: Path) -> Path:
    d = yaml.safe_load(yaml.safe_dump(BASE))
    d.update(name="rep", horizon={"start": "2027-01", "months": 12},
             business_units=[{"name": "bu", "users": {"curve": "linear", "start": 2000,
                                                     "ceiling": {"dist": "pert", "low": 5000, "mode": 8000, "high": 12000},
                                                     "ramp_months": 6}},
                             {"name": "ops", "users": {"curve": "fixed", "ceiling": 300}}],
             workloads=[chat(sessions_per_user_per_day={"dist": "triangular", "low": 5, "high": 15, "mode": 8},
                             models={"api": "acme/m1", "owned": "llama-3.3-70b"}),
                        chat("d", business_unit="ops", models={"api": "acme/m2"})],
             contracts=[{"name": "tc", "kind": "token_commit", "models": ["acme/m1"], "amount": 0, "discount": 0.2,
                         "term_months": 12}],
             strategies=[{"name": "payg"}, {"name": "commit_low", "set": {"contracts.tc.amount": 5.0e8}},
                         {"name": "commit_high", "set": {"contracts.tc.amount": 1.5e9}},
                         {"name": "own", "set": {"workloads.c.allowed_pools": ["owned", "api"],
                                                 "pools.owned.purchases": [{"month": 2, "gpus": 2}]}}])
    d["pools"]["owned"] = {"enabled": True, "gpu": "h200", "lead_time_months": 2}
    f = tmp_path / "rep.yaml"
    f.write_text(yaml.safe_dump(d, sort_keys=False))
    return f


def test_report_is_self_contained_and_renders(tmp_path, capsys):
    f = _report_scenario(tmp_path)
    sc = load_scenario(f)
    _, res = run(sc, paths=40, out=tmp_path / "out")
    out = tmp_path / "site" / "report.html"
    code, obj = _cli(["report", str(res), "-o", str(out), "--budget", "2e6", "--scenario", str(f),
                      "--tco-paths", "16", "--strategy", "own"], capsys)  # the strategy that buys GPUs
    assert code == 0, obj
    page = out.read_text()
    charts = re.findall(r'<figure class="chart"><svg role="img" aria-label="([^"]+)"', page)  # inline SVG
    assert len(charts) == obj["images"] and "<img " not in page
    assert {"fan chart of monthly spend", "histograms of yearly spend", "spend by business unit and by pool",
            "total spend by strategy", "commit options frontier and utilisation", "cost per token against volume",
            "NPV of savings by purchase month", "tornado of input swings"} <= set(charts), charts
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere
    csvs = sorted(p.name for p in out.parent.glob("report_*.csv"))
    assert {"report_budget_by_year.csv", "report_chargeback.csv", "report_commit_options.csv",
            "report_tco_purchase_months.csv", "report_tornado.csv"} <= set(csvs)
    assert not list(out.parent.glob(".*.tmp"))  # atomic writes leave no temporary file
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium is not installed and cannot be installed here (apt-get install -y chromium); "
                    "the headless rendering check did not run")
    probe = out.parent / "probe.html"
    probe.write_text(page.replace("<head>", "<head>" + CHECK_SCRIPT, 1))
    res, stderr = _load_in_chromium(exe, probe, tmp_path / "chrome-profile")
    assert res["errors"] == [], res["errors"]
    assert not re.search(r"CONSOLE.*(Uncaught|Error)", stderr), stderr[-2000:]
    assert len(res["images"]) == len(charts)
    for im in res["images"]:
        assert im["ok"] and im["w"] > 100 and im["h"] > 100 and im["rw"] > 0 and im["rh"] > 0, im


def test_the_browser_check_catches_a_broken_page(tmp_path):
    # the check above could pass vacuously; a page with a broken image and a script error must fail it
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if exe is None:
        pytest.skip("chromium is not installed: no browser check to validate")
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head>" + CHECK_SCRIPT + "</head><body>"
                   '<img src="data:image/png;base64,AAAA"><script>undefined_function();</script></body></html>')
    res, _ = _load_in_chromium(exe, bad, tmp_path / "p")
    assert res["images"][0]["w"] == 0
    assert any("undefined_function" in e for e in res["errors"])
