"""The streamed Zarr route (``tokensim run --zarr``): readable, equal to the NetCDF run, resumable,
and working without dask (zarr is a declared dependency; dask is only the optional extra)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from sim.cli import load_checked, main
from sim.mc.results import open_results
from sim.mc.runner import STAGING, run

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "examples" / "single_chat.yaml"
PATHS, BLOCK = 200, 50  # four blocks


def _cli(argv: list[str], capsys) -> dict:
    code = main(argv + ["--json"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    lines = out.splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def _files(store: Path) -> dict[str, bytes]:
    return {str(f.relative_to(store)): f.read_bytes() for f in sorted(store.rglob("*")) if f.is_file()}


@pytest.fixture(scope="module")
def netcdf_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("nc")
    assert main(["run", str(SCENARIO), "--paths", str(PATHS), "--block-size", str(BLOCK), "--out", str(out),
                 "--quiet", "--netcdf"]) == 0
    return out / "results.nc"


def test_streamed_run_equals_the_netcdf_run(netcdf_run, tmp_path, capsys):
    obj = _cli(["run", str(SCENARIO), "--paths", str(PATHS), "--block-size", str(BLOCK), "--zarr",
                "--out", str(tmp_path)], capsys)
    store = Path(obj["results"])
    assert store == tmp_path / "results.zarr" and store.is_dir()
    assert not (tmp_path / ".chunks").exists() and not (tmp_path / STAGING).exists()
    z, nc = open_results(store), open_results(netcdf_run)
    assert z.sizes["path"] == PATHS and list(z["path"].values) == list(range(PATHS))
    xr.testing.assert_identical(z, nc)  # every value, coordinate and attribute
    # the analyses read either file and give the same answer
    a = _cli(["budget", str(store), "--period", "year"], capsys)
    b = _cli(["budget", str(netcdf_run), "--period", "year"], capsys)
    for d in (a, b):
        d.pop("results"), d.pop("seconds")
    assert a == b
    # a directory holding results.zarr is accepted too
    assert _cli(["budget", str(tmp_path)], capsys)["ok"] is True


def test_resume_completes_an_interrupted_streamed_run(netcdf_run, tmp_path, capsys):
    sc = load_checked(SCENARIO)  # what `tokensim run` runs
    full, p_full = run(sc, paths=PATHS, block_size=BLOCK, out=tmp_path / "a", zarr=True)

    def boom(done, total, elapsed):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(sc, paths=PATHS, block_size=BLOCK, out=tmp_path / "b", zarr=True, progress=boom)
    assert not (tmp_path / "b" / "results.zarr").exists()  # nothing half-written where readers look
    import zarr

    # the two finished blocks stay in the staging store, written once, for --resume to append after
    assert zarr.open_group(str(tmp_path / "b" / STAGING), mode="r").attrs["blocks_done"] == 2

    obj = _cli(["run", str(SCENARIO), "--paths", str(PATHS), "--block-size", str(BLOCK), "--zarr", "--resume",
                "--out", str(tmp_path / "b")], capsys)
    p = Path(obj["results"])
    assert p == tmp_path / "b" / "results.zarr"
    assert not (tmp_path / "b" / STAGING).exists() and not (tmp_path / "b" / ".chunks").exists()
    xr.testing.assert_identical(open_results(p), full.load())
    assert _files(p) == _files(p_full)  # the same bytes as the uninterrupted run
    xr.testing.assert_identical(open_results(p), open_results(netcdf_run))


def test_streamed_route_needs_no_dask(tmp_path):
    """As in a fresh install without the dask extra: `import dask` fails."""
    code = f"""
import json, sys
sys.modules["dask"] = None  # import dask -> ImportError
from sim.cli import main
from sim.mc.results import open_results
argv = ["run", {str(SCENARIO)!r}, "--paths", "60", "--block-size", "25", "--zarr", "--out", {str(tmp_path)!r}]
assert main(argv + ["--json"]) == 0
assert main(argv + ["--resume", "--json"]) == 0
ds = open_results({str(tmp_path / "results.zarr")!r})
assert ds.sizes["path"] == 60 and float(ds["spend"].sum()) > 0
print("dask" in sys.modules and sys.modules["dask"] is not None)
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                       check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    out = r.stdout.strip().splitlines()
    assert len(out) == 3, out  # one JSON object per run, then the probe
    assert all(json.loads(line)["results"].endswith("results.zarr") for line in out[:2])
    assert out[-1] == "False"  # dask was never imported


def test_the_default_store_is_the_streamed_one(netcdf_run, tmp_path, capsys):
    """`run` without a format flag writes results.zarr (memory independent of the path count), with
    the values of the NetCDF export; naming both formats is a usage error."""
    obj = _cli(["run", str(SCENARIO), "--paths", str(PATHS), "--block-size", str(BLOCK), "--out", str(tmp_path)],
               capsys)
    assert Path(obj["results"]) == tmp_path / "results.zarr" and not (tmp_path / "results.nc").exists()
    xr.testing.assert_identical(open_results(tmp_path), open_results(netcdf_run))
    assert main(["run", str(SCENARIO), "--zarr", "--netcdf", "--out", str(tmp_path), "--json"]) == 2
    assert "not allowed with argument" in json.loads(capsys.readouterr().out)["problems"][0]


def test_a_run_directory_holds_one_run(netcdf_run, tmp_path, capsys):
    """A run replaces the other format's results in its directory, so a reader of the directory never
    finds an older run beside the new one (readers prefer results.nc)."""
    import shutil

    shutil.copy(netcdf_run, tmp_path / "results.nc")
    obj = _cli(["run", str(SCENARIO), "--paths", "20", "--block-size", str(BLOCK), "--out", str(tmp_path)], capsys)
    assert Path(obj["results"]).name == "results.zarr" and not (tmp_path / "results.nc").exists()
    assert open_results(tmp_path).sizes["path"] == 20


def test_stored_dtypes_are_the_documented_ones_and_float32_keeps_2_to_the_minus_24(tmp_path):
    # README "Stored types": physical quantities float32, money float64; a float32 value is the
    # float64 one the engine computed, rounded once (relative error at most 2^-24)
    import numpy as np

    from sim.catalog.prices import PriceBook
    from sim.mc.engine import simulate_block
    from sim.mc.results import FLOAT32, assemble_block
    from sim.mc.runner import prepare
    from sim.mc.sampling import draw

    sc = load_checked(SCENARIO)
    ds, path = run(sc, paths=40, block_size=20, out=tmp_path, zarr=True)
    for v in ds.data_vars:
        want = np.float32 if v in FLOAT32 else np.float64
        assert ds[v].dtype == want, v
    assert {"spend", "commit_stranded_cost", "overage_cost", "owned_cost", "capex_cash"}.isdisjoint(FLOAT32)
    prep = prepare(sc)
    s, tab = prep.scenarios[0], prep.tables[0]
    paths = np.arange(40)
    d = draw(s, paths, tab.calls.shape[0])
    block = simulate_block(s, tab, d, PriceBook(s.price_date))
    stored = assemble_block([(prep.names[0], s, block, d)], paths)
    exact = block["tokens_output"]  # float64, (path, month, pool, token workload)
    got = stored["tokens_output"].values[0][..., : exact.shape[-1]].astype(float)
    assert np.all(np.abs(got - exact) <= 2.0**-24 * np.abs(exact))
    assert np.array_equal(stored["spend"].values[0][..., : exact.shape[-1]], block["spend"])
