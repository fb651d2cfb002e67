"""Monte Carlo engine: agreement with the expected-value engine, conservation, reproducibility."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.expected.forecast import run_expected
from sim.mc.runner import RunError, run
from sim.scenario import load_scenario
from tests.conftest import chat, make

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default():
    return load_scenario(ROOT / "scenarios" / "default.yaml")


def test_deterministic_kernel_equals_expected_value_engine(default):
    # all inputs at their means and Poisson replaced by its mean: two independent implementations
    ds, _ = run(default, paths=1, deterministic=True)
    for s in ds["strategy"].values:
        fc = run_expected(default, str(s))
        mc = ds.sel(strategy=s).isel(path=0)
        assert float(mc["spend"].sum()) == pytest.approx(fc.total(), rel=1e-9)
        ev_pool = fc.lines.groupby("pool")["spend"].sum()
        for pool in ("api", "owned", "saas"):
            assert float(mc["spend"].sel(pool=pool).sum()) == pytest.approx(float(ev_pool.get(pool, 0.0)), rel=1e-9,
                                                                            abs=1e-6)
        ev_m = fc.monthly_total().values
        assert np.allclose(mc["spend"].sum(["pool", "workload"]).values, ev_m, rtol=1e-9)
        tok = fc.lines[fc.lines["pool"] != "saas"]
        # tokens are stored as float32 (sim.mc.results.FLOAT32): each value within 2^-24 of its own,
        # so a float64 sum of them is within 2^-24 of the exact one
        assert float(mc["tokens_output"].sel(pool=["api", "neocloud", "owned"]).astype(float).sum()) == pytest.approx(
            float(tok["tokens_output"].sum()), rel=2.0**-24 + 1e-9)


def _capacity_bound():
    w = [chat(sessions_per_user_per_day=300, allowed_pools=["owned"], models={"owned": "llama-3.3-70b"},
              turns={"dist": "lognormal", "median": 3, "p90": 9}),
         chat("d", sessions_per_user_per_day=100, allowed_pools=["owned", "api"],
              models={"api": "acme/m1", "owned": "llama-3.3-70b"})]
    return make(w, horizon={"start": "2027-02", "months": 3},
                pools={"api": {"price_trend": {"commodity_per_year": 0.0}},
                       "owned": {"enabled": True, "gpu": "h200", "lead_time_months": 0,
                                 "purchases": [{"month": 0, "gpus": 1}]}})


def test_sessions_conserved_per_path():
    ds, _ = run(_capacity_bound(), paths=40)
    served = ds["sessions"].sum("pool") + ds["unserved_sessions"]
    assert np.allclose(served.values, ds["demand_sessions"].values, rtol=1e-9, atol=1e-6)
    assert float(ds["unserved_sessions"].sum()) > 0  # the single GPU really is too small
    assert float(ds["sessions"].sel(pool="owned").sum()) > 0
    own = ds["utilization"].sel(pool="owned")
    assert float(own.max()) <= 0.95 * 0.8 + 1e-9  # availability × headroom


def test_mean_of_paths_matches_expected_value():
    # API only, no path-level uncertainty: E[spend] over paths = the expected-value spend (CLT bound)
    sc = make([chat(turns={"dist": "lognormal", "median": 3, "p90": 9}, sessions_per_user_per_day=2)],
              horizon={"start": "2027-02", "months": 2})
    ds, _ = run(sc, paths=400)
    tot = ds["spend"].sum(["month", "pool", "workload"]).isel(strategy=0).values
    ev = run_expected(sc).total()
    assert abs(tot.mean() - ev) < 4 * tot.std(ddof=1) / np.sqrt(tot.size)
    assert tot.std() > 0


def test_same_seed_same_dataset_across_blocks_and_threads(tmp_path):
    import numba

    sc = _capacity_bound()
    a, _ = run(sc, paths=130, block_size=64, workers=1)
    b, _ = run(sc, paths=130, block_size=1000, workers=2 if numba.config.NUMBA_NUM_THREADS >= 2 else 1)
    xr.testing.assert_identical(a, b)
    c, _ = run(sc, paths=130, block_size=50)
    assert np.array_equal(a["spend"].values, c["spend"].values)
    d, _ = run(sc.model_copy(update={"seed": sc.seed + 1}), paths=130)
    assert not np.array_equal(a["spend"].values, d["spend"].values)


def test_prefix_of_paths_is_stable():
    # path i's numbers depend only on the seed and i: the first 50 of 130 paths equal a 50-path run
    sc = _capacity_bound()
    a, _ = run(sc, paths=130, block_size=64)
    b, _ = run(sc, paths=50)
    xr.testing.assert_allclose(a.isel(path=slice(0, 50)), b.drop_attrs().assign_attrs(a.attrs), rtol=0, atol=0)


def test_dask_local_cluster_gives_the_same_bytes():
    distributed = pytest.importorskip("distributed")
    sc = _capacity_bound()
    local, _ = run(sc, paths=60, block_size=20)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        with distributed.Client(cl) as client:
            remote, _ = run(sc, paths=60, block_size=20, scheduler=client)
    xr.testing.assert_identical(local, remote)


def test_resume_completes_an_interrupted_run(tmp_path):
    sc = _capacity_bound()
    full, p_full = run(sc, paths=90, block_size=30, out=tmp_path / "a")

    def boom(done, total, elapsed):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(sc, paths=90, block_size=30, out=tmp_path / "b", progress=boom)
    assert not (tmp_path / "b" / "results.nc").exists()  # nothing half-written
    import zarr

    from sim.mc.runner import STAGING

    assert zarr.open_group(str(tmp_path / "b" / STAGING), mode="r").attrs["blocks_done"] == 2  # kept, once
    resumed, p = run(sc, paths=90, block_size=30, out=tmp_path / "b", resume=True)
    xr.testing.assert_identical(full, resumed)
    assert p.read_bytes() == p_full.read_bytes()


def test_bad_run_inputs(tmp_path):
    sc = _capacity_bound()
    with pytest.raises(RunError, match="positive"):
        run(sc, paths=0)
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(RunError, match="cannot create output directory"):
        run(sc, paths=2, out=blocker / "x")


def test_cli_run_json_and_unreachable_scheduler(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(ROOT / "scenarios" / "examples" / "single_chat.yaml"),
                        "--paths", "20", "--out", str(tmp_path), "--json", "--netcdf"], capture_output=True, text=True,
                       timeout=600,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["paths"] == 20 and Path(obj["results"]).exists()
    ds = xr.open_dataset(obj["results"], engine="h5netcdf")
    for v in ("tokens_input", "tokens_cached", "tokens_output", "requests", "spend", "gpu_hours", "utilization",
              "energy_kwh", "unserved_tokens", "commit_drawn", "commit_stranded", "overage"):
        assert v in ds
    assert ds.attrs["seed"] >= 0 and ds.attrs["scenario_hash"] and ds.attrs["price_library"].startswith("genai")
    ds.close()
    r = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(ROOT / "scenarios" / "examples" / "single_chat.yaml"),
                        "--paths", "5", "--scheduler", "tcp://127.0.0.1:9", "--json"], capture_output=True,
                       text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot reach the Dask scheduler" in json.loads(r.stdout)["problems"][0]
    r = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(ROOT / "scenarios" / "examples" / "single_chat.yaml"),
                        "--paths", "0", "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2 and "positive" in json.loads(r.stdout)["problems"][0]


def test_deterministic_equality_with_neocloud_and_contracts():
    # neocloud reserved + on-demand with spin-up, provisioned throughput on the overflow model, a
    # token commit with true-up and rollover, and a token commit on a model nobody uses
    w = [chat(sessions_per_user_per_day=400, allowed_pools=["neocloud", "api"],
              models={"api": "acme/m1", "neocloud": "llama-3.3-70b"}, turns={"dist": "pert", "low": 1, "mode": 3, "high": 8})]
    sc = make(w, horizon={"start": "2027-02", "months": 6},
              pools={"api": {"price_trend": {"commodity_per_year": -0.2}},
                     "neocloud": {"enabled": True, "gpu": "h100-sxm", "reserved_gpus": 1, "on_demand_max_gpus": 1,
                                  "spin_up_hours": 0.5}},
              contracts=[{"name": "pt", "kind": "provisioned_throughput", "models": ["acme/m1"], "units": 2,
                          "tokens_per_minute_per_unit": 20000, "price_per_unit_month": 500, "term_months": 6},
                         {"name": "tc", "kind": "token_commit", "models": ["acme/m1"], "amount": 2e8, "discount": 0.2,
                          "term_months": 6, "period_months": 2, "rollover_share": 0.5, "true_up": True},
                         {"name": "idle", "kind": "token_commit", "models": ["acme/m2"], "amount": 1e8,
                          "discount": 0.1, "term_months": 6}])
    ds, _ = run(sc, paths=1, deterministic=True)
    fc = run_expected(sc)
    mc = ds.isel(strategy=0, path=0)
    assert float(mc["spend"].sum()) == pytest.approx(fc.total(), rel=1e-9)
    assert np.allclose(mc["spend"].sum(["pool", "workload"]).values, fc.monthly_total().values, rtol=1e-9)
    # the unused commitment is still paid: 1e8 tokens a month at 90 % of acme/m2's mean list rate
    idle = fc.lines[fc.lines["pool"] == "contract:idle"]["spend"].sum()
    assert idle == pytest.approx(6 * 1e8 * 0.9 * (1.0 + 4.0) / 2 / 1e6)


def test_normal_loss_table_within_its_derived_error_bound():
    """The tabulated loss function L(z) = φ(z) − z·Q(z): cubic Hermite with exact derivatives every
    h = 1/64 errs by at most h⁴/384·max|L⁗| = h⁴/384·φ(0) (L⁗ = (z² − 1)·φ); checked off the nodes
    against scipy's closed form, and E[min(D, cap)] against direct quadrature."""
    from scipy import integrate, stats

    from sim.mc.kernel import LOSS_H, _expected_min, normal_loss

    z = np.linspace(-8.0, 8.0, 20_011)  # not a multiple of the node spacing
    exact = stats.norm.pdf(z) - z * stats.norm.sf(z)
    got = np.array([normal_loss(x) for x in z])
    bound = LOSS_H ** 4 / 384 * stats.norm.pdf(0.0)
    assert np.abs(got - exact).max() <= bound * 1.01 + 1e-15
    mu, sd, cap = 1000.0, 120.0, 1100.0
    direct = integrate.quad(lambda x: min(x, cap) * stats.norm.pdf(x, mu, sd), mu - 12 * sd, mu + 12 * sd,
                            points=[cap], limit=200)[0]
    assert abs(_expected_min(mu, sd * sd, cap) - direct) <= sd * bound * 1.01 + 1e-9


def test_a_contract_scoped_to_a_workload_leaves_the_others_at_list():
    """``workloads: [a]``: the provisioned units absorb a's tokens only; b, on the same model, is billed
    as with no contract (both engines), and a is billed as when it is the model's only workload."""
    from sim.expected.forecast import run_expected
    from tests.conftest import chat

    def two(contracts):
        w = [chat(name=n, models={"api": "acme/m1"}) for n in ("a", "b")]
        return make(w, horizon={"start": "2027-02", "months": 3}, contracts=contracts)

    pt = {"name": "pt", "kind": "provisioned_throughput", "models": ["acme/m1"], "units": 1,
          "tokens_per_minute_per_unit": 20000, "price_per_unit_month": 500, "term_months": 3}
    scoped, none = run_expected(two([{**pt, "workloads": ["a"]}])), run_expected(two([]))
    by = lambda fc, n: fc.lines[fc.lines["workload"] == n]["spend"].sum()  # noqa: E731
    assert by(scoped, "b") == pytest.approx(by(none, "b"), rel=1e-12)
    assert by(scoped, "a") != pytest.approx(by(none, "a"), rel=1e-3)
    ds, _ = run(two([{**pt, "workloads": ["a"]}]), paths=1, deterministic=True)
    assert float(ds["spend"].isel(strategy=0, path=0).sum()) == pytest.approx(scoped.total(), rel=1e-9)
    with pytest.raises(Exception, match="unknown workload 'zz'"):
        two([{**pt, "workloads": ["zz"]}])
