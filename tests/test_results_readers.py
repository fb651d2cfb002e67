"""Commands that read a results file refuse one that cannot give an honest answer (issue 9).

``tokensim budget``, ``compare`` and ``report`` on a results file whose values are not finite, that
holds no path, lacks a variable the command reads, is not a tokensim results file, or mixes runs
(more paths than its attributes record, a path twice) exit 2 with one located message per problem
naming the file (and the variable and coordinates of the first bad value), exactly one JSON object
with --json, never a traceback, never ``ok: true`` with a mean of 0. Structure problems are error
kind "usage" (like a file that cannot be read), values that are not finite kind "result".

Fixtures: two small real runs (20 paths, two seeds) of the chat example, mutated with xarray and
written as NetCDF and Zarr.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.cli import main
from tests.conftest import refusal
from sim.finite import NonFiniteResultError

ROOT = Path(__file__).resolve().parents[1]
CHAT = str(ROOT / "scenarios" / "examples" / "single_chat.yaml")
PATHS = 20
AT = "strategy=base, path=2, month=2027-03-01, pool=api, workload=chatbot"


def _clean(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    for v in ds.variables.values():
        v.encoding = {}
    ds.encoding = {}
    return ds


def _write(ds: xr.Dataset, path: Path) -> str:
    ds = _clean(ds)
    if path.suffix == ".zarr":
        ds.to_zarr(path, mode="w", zarr_format=2)
    else:
        ds.to_netcdf(path, engine="h5netcdf")
    return str(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(results.nc of seed 20261122, its Dataset, the Dataset of seed 7, a directory for mutants)."""
    from sim.mc.results import open_results

    tmp = tmp_path_factory.mktemp("readers")
    files = []
    for name, seed in (("a", []), ("b", ["--seed", "7"])):
        assert main(["run", CHAT, "--paths", str(PATHS), "--out", str(tmp / name), "--quiet", "--json", "--netcdf",
                     *seed]) == 0
        files.append(tmp / name / "results.nc")
    a, b = open_results(files[0]), open_results(files[1])
    assert a.attrs["seed"] != b.attrs["seed"] and a.sizes["path"] == PATHS
    return files[0], a, b, tmp


def _refused(argv: list[str], capsys, kind: str, fragments: list[str], problems: int = 1, text: bool | None = None
             ) -> list[str]:
    """``conftest.refusal`` (exit 2, one JSON object, ``problems`` messages, also without --json), and
    the messages together hold ``fragments``."""
    msgs = refusal(argv, capsys, kind, problems)
    for f in fragments:
        assert f in "\n".join(msgs), (f, msgs)
    return msgs


def _commands(f: str, good: str, tmp: Path) -> list[list[str]]:
    return [["budget", f], ["compare", f, good],
            ["report", f, "-o", str(tmp / "r.html"), "--tco-paths", "0", "--no-sensitivity"]]


# ---- accepted -----------------------------------------------------------------------------------------
def test_a_good_results_file_is_accepted_by_every_reader(runs, capsys):
    nc, a, _, tmp = runs
    z = _write(a, tmp / "good.zarr")
    want = float(a["spend"].sum(["month", "pool", "workload"]).mean())
    for f in (str(nc), str(nc.parent), z):
        assert main(["budget", f, "--period", "horizon", "--json"]) == 0
        obj = json.loads(capsys.readouterr().out)
        assert obj["ok"] is True and obj["paths"] == PATHS
        assert obj["total"][0]["mean"] == pytest.approx(want) and want > 0
    assert main(["compare", str(nc), z, "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["ok"] is True and obj["paired"] is True
    out = tmp / "good.html"
    assert main(["report", z, "-o", str(out), "--tco-paths", "0", "--no-sensitivity", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["ok"] is True and out.exists()


# ---- values that are not finite: kind "result" -----------------------------------------------------------
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_spend_all_nan_is_refused_never_a_mean_of_0(runs, capsys, suffix):
    nc, a, _, tmp = runs
    bad = a.copy(deep=True)
    bad["spend"][:] = np.nan
    f = _write(bad, tmp / f"nan{suffix}")
    n = bad["spend"].size
    for argv in _commands(f, str(nc), tmp):
        _refused(argv, capsys, "result", [f"{f}: spend is not finite ({n:,} of {n:,} values; first nan at "
                                          "strategy=base, path=0, month=2027-01-01, pool=api, workload=chatbot)"])


def test_a_few_bad_values_are_located(runs, capsys):
    nc, a, _, tmp = runs
    bad = a.copy(deep=True)
    bad["spend"][0, 2, 2, 0, 0] = np.nan  # path 2, March, api, chatbot
    bad["spend"][0, 5, 7, 0, 0] = np.inf
    bad["tokens_output"][0, 4, 1, 0, 0] = -np.inf
    f = _write(bad, tmp / "few.nc")
    n = bad["spend"].size
    for argv in _commands(f, str(nc), tmp)[::2]:  # budget and report read spend only
        _refused(argv, capsys, "result", [f"{f}: spend is not finite (2 of {n:,} values; first nan at {AT})"])
    # compare reads tokens too: one message per variable
    msgs = _refused(["compare", f, str(nc)], capsys, "result",
                    [f"{f}: spend is not finite (2 of {n:,} values; first nan at {AT})",
                     f"{f}: tokens_output is not finite (1 of {n:,} values; first -inf at strategy=base, path=4, "
                     "month=2027-02-01, pool=api, workload=chatbot)"], problems=2)
    assert msgs[0].startswith("tokensim: ")


# ---- structure: kind "usage" --------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_zero_paths_are_refused(runs, capsys, suffix):
    nc, a, _, tmp = runs
    f = _write(a.isel(path=[]), tmp / f"zero{suffix}")
    for argv in _commands(f, str(nc), tmp):
        _refused(argv, capsys, "usage", [f"{f}: holds no paths", "nothing to summarise"])


def test_a_spend_only_file_answers_what_spend_can_and_refuses_the_rest(runs, capsys):
    nc, a, _, tmp = runs
    f = _write(a[["spend"]], tmp / "spend_only.nc")
    # budget reads spend only: the same honest answer as the full file
    assert main(["budget", f, "--period", "horizon", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["total"][0]["mean"] == pytest.approx(float(a["spend"].sum(["month", "pool", "workload"]).mean()))
    _refused(["compare", f, str(nc)], capsys, "usage",
             [f"{f}: variables tokens_input, tokens_cached, tokens_output, unserved_tokens missing, which tokensim "
              "compare reads", "the file holds spend", "another tool or an older tokensim version"])
    # with several strategies (commit options) the report reads the commitments too
    two = xr.concat([a, a.assign_coords(strategy=["alt"])], dim="strategy")
    two.attrs["strategies"] = "base,alt"
    f2 = _write(two[["spend"]], tmp / "spend_only_2.nc")
    _refused(["report", f2, "-o", str(tmp / "r.html"), "--tco-paths", "0", "--no-sensitivity"], capsys, "usage",
             [f"{f2}: variables commit_drawn, commit_stranded, overage, utilization missing, which tokensim report "
              "reads"])
    # a cut-down file that lost the business units cannot be grouped: refused, not a KeyError
    f3 = _write(a[["spend"]].drop_vars("business_unit"), tmp / "no_bu.nc")
    _refused(["budget", f3], capsys, "usage", [f"{f3}: not a tokensim results file: coordinate business_unit missing"])


def test_a_file_from_another_tool_is_refused(runs, capsys):
    nc, a, _, tmp = runs
    other = a.copy()
    other.attrs = {"title": "someone else's cube"}
    f = _write(other, tmp / "other.nc")
    for argv in _commands(f, str(nc), tmp):
        _refused(argv, capsys, "usage", [f"{f}: not a tokensim results file: attributes scenario, scenario_hash, "
                                         "seed, paths, currency, months missing", "another tool"])


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_silently_mixed_store_is_refused(runs, capsys, suffix):
    """Two runs (two seeds) in one store, the attributes of one: too many paths, each path twice."""
    nc, a, b, tmp = runs
    mixed = xr.concat([a, b], dim="path")
    mixed.attrs = dict(a.attrs)
    f = _write(mixed, tmp / f"mixed{suffix}")
    for argv in _commands(f, str(nc), tmp):
        _refused(argv, capsys, "usage",
                 [f"{f}: holds {2 * PATHS} paths but its attribute paths says {PATHS}", "mixes runs",
                  f"{f}: path coordinates are not unique ({PATHS} of {2 * PATHS} are repeats; first repeated path=0)"],
                 problems=2)


def test_each_inconsistency_alone_is_refused(runs, capsys):
    nc, a, b, tmp = runs
    # more paths than the attributes say, all distinct (the second run's renumbered)
    more = xr.concat([a, b.assign_coords(path=b["path"].values + PATHS)], dim="path")
    more.attrs = dict(a.attrs)
    f = _write(more, tmp / "more.nc")
    _refused(["budget", f], capsys, "usage", [f"{f}: holds {2 * PATHS} paths but its attribute paths says {PATHS}"])
    # as many paths as recorded, half of them twice
    dup = xr.concat([a.isel(path=slice(0, PATHS // 2)), b.isel(path=slice(0, PATHS // 2))], dim="path")
    dup.attrs = dict(a.attrs)
    f = _write(dup, tmp / "dup.nc")
    _refused(["budget", f], capsys, "usage", [f"{f}: path coordinates are not unique ({PATHS // 2} of {PATHS} are "
                                              "repeats; first repeated path=0)"])
    # as many distinct paths as recorded, but not the indices recorded (another run's paths 100..119)
    other = b.assign_coords(path=b["path"].values + 100)
    other.attrs = {**a.attrs, "path_start": 0, "path_stop": PATHS}
    f = _write(other, tmp / "other_paths.nc")
    _refused(["budget", f], capsys, "usage", [f"{f}: path coordinates are not 0..{PATHS - 1} in order",
                                              "position 0 holds path=100"])
    # months and strategies that do not match the attributes
    short = a.isel(month=slice(0, 6))
    f = _write(short, tmp / "short.nc")
    _refused(["budget", f], capsys, "usage", [f"{f}: holds 6 months but its attribute months says 12"])
    renamed = a.assign_coords(strategy=["other"])
    f = _write(renamed, tmp / "renamed.nc")
    _refused(["budget", f], capsys, "usage", [f"{f}: holds strategies other but its attribute strategies says 'base'"])


def test_compare_reports_the_problems_of_both_files(runs, capsys):
    _, a, _, tmp = runs
    nan = a.copy(deep=True)
    nan["spend"][0, 2, 2, 0, 0] = np.nan
    fa = _write(nan, tmp / "cmp_nan.nc")
    fb = _write(a.isel(path=[]), tmp / "cmp_zero.nc")
    _refused(["compare", fa, fb], capsys, "usage", [f"{fa}: spend is not finite", f"{fb}: holds no paths"],
             problems=2)


# ---- the layers below the CLI -------------------------------------------------------------------------------
def test_the_analyses_refuse_non_finite_or_empty_results_themselves(runs, tmp_path):
    from sim.analysis.budget import budget_analysis
    from sim.analysis.common import AnalysisError
    from sim.analysis.compare import compare_datasets
    from sim.mc.checks import NonFiniteResultsFileError, ResultsFileError
    from sim.mc.results import open_results

    nc, a, _, _ = runs
    bad = a.copy(deep=True)
    bad["spend"][0, 2, 2, 0, 0] = np.nan
    for call in (lambda: budget_analysis(bad), lambda: compare_datasets(a, bad)):
        with pytest.raises(NonFiniteResultError, match=f"spend is not finite .*first nan at {AT}"):
            call()
    with pytest.raises(AnalysisError, match="no paths"):
        budget_analysis(a.isel(path=[]))
    huge = a.copy(deep=True)
    huge["spend"][:] = 1e308  # finite values whose sum is not
    with pytest.warns(RuntimeWarning), pytest.raises(NonFiniteResultError, match="sum is not"):
        budget_analysis(huge)
    # open_results checks on request
    f = _write(bad, tmp_path / "bad.nc")
    with pytest.raises(NonFiniteResultsFileError) as e:
        open_results(f, ["spend"], purpose="tokensim budget")
    assert e.value.kind == "result" and e.value.problems[0].startswith(f"{f}: spend is not finite")
    with pytest.raises(ResultsFileError) as e:
        open_results(nc, ["spend", "bogus"], purpose="a notebook")
    assert e.value.kind == "usage" and "bogus missing, which a notebook reads" in e.value.problems[0]
    assert open_results(nc, ["spend"]).sizes["path"] == PATHS


def test_checks_and_sums_read_by_slices_of_paths_agree_with_whole_arrays(monkeypatch):
    # a large store is checked and summed slice by slice; the slices must cover every path once
    import xarray as xr

    from sim import finite
    from sim.analysis.common import sum_by_paths

    rng = np.random.default_rng(3)
    da = xr.DataArray(rng.random((2, 1001, 3, 4)), dims=("strategy", "path", "month", "pool"))
    monkeypatch.setattr(finite, "SLICE_BYTES", 8 * 2 * 3 * 4 * 100)  # 100 paths a slice
    slices = finite.path_slices(da, finite.SLICE_BYTES)
    assert len(slices) == 11 and slices[-1] == slice(1000, 1100)
    assert np.array_equal(np.concatenate([np.arange(1001)[s] for s in slices]), np.arange(1001))
    monkeypatch.setattr(finite, "path_slices", lambda v, b=finite.SLICE_BYTES: slices)
    from sim.analysis import common

    monkeypatch.setattr(common, "path_slices", lambda v, b=finite.SLICE_BYTES: slices)
    assert finite.all_finite(da)
    got = sum_by_paths(da, ["month", "pool"])
    assert got.sizes["path"] == 1001
    assert np.allclose(got.values, da.sum(["month", "pool"]).values, rtol=1e-15)
    bad = da.copy()
    bad[1, 1000, 2, 3] = np.nan  # in the last slice only
    assert not finite.all_finite(bad)
    assert "path" in finite.dataset_nonfinite(xr.Dataset({"spend": bad}), ["spend"])[0]
