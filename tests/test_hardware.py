"""Tests for the GPU hardware catalog (sim.catalog.hardware) and its generator script."""

from __future__ import annotations

import csv
import importlib.util
import math
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.catalog.hardware import (
    DEFAULT_DIR,
    CurveNotFoundError,
    GPUProfile,
    HardwareError,
    ThroughputCurve,
    gpu_ids,
    load_hardware,
)

REPO = Path(__file__).resolve().parents[1]
HW_DIR = REPO / "calibration" / "hardware"
REQUIRED = {"h100-sxm", "h200", "b200", "gb200-nvl72", "mi300x", "mi355x"}


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("build_profiles", HW_DIR / "build_profiles.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HW = load_hardware()
ALL_CURVES: list[tuple[str, ThroughputCurve]] = [(g, c) for g, p in HW.items() for c in p.curves]
CURVE_IDS = [f"{g}:{c.model_class}/{c.precision}" for g, c in ALL_CURVES]


# ------------------------------------------------------------------ loading and sources


def test_default_directory_and_required_profiles() -> None:
    assert DEFAULT_DIR == HW_DIR
    assert REQUIRED <= set(gpu_ids())
    for gid in REQUIRED:
        p = HW[gid]
        assert isinstance(p, GPUProfile) and p.id == gid and p.path == HW_DIR / f"{gid}.yaml"
        assert p.curves, gid
        assert "llama-3.3-70b" in p.model_classes(), gid  # the main 70B class exists everywhere
        assert 2020 <= p.release_year <= 2026
    assert load_hardware()["h100-sxm"] is HW["h100-sxm"]  # cached


def _unsourced_numbers(node: Any, where: str = "", sourced: bool = False) -> list[str]:
    """Independent re-implementation of the 'every number has a source' rule."""
    bad: list[str] = []
    if isinstance(node, dict):
        src = node.get("source")
        sourced = sourced or (isinstance(src, str) and len(src.strip()) > 10)
        for k, v in node.items():
            bad += _unsourced_numbers(v, f"{where}.{k}", sourced)
    elif isinstance(node, list):
        for n, v in enumerate(node):
            bad += _unsourced_numbers(v, f"{where}[{n}]", sourced)
    elif isinstance(node, (int, float)) and not isinstance(node, bool) and not sourced:
        bad.append(where)
    return bad


@pytest.mark.parametrize("gid", sorted(REQUIRED))
def test_every_number_has_a_source(gid: str) -> None:
    doc = yaml.safe_load((HW_DIR / f"{gid}.yaml").read_text(encoding="utf-8"))
    assert _unsourced_numbers(doc) == []
    # derived numbers say so
    for key in ("allin_power_w_per_gpu", "idle_power_fraction"):
        assert doc[key]["grade"] == "D"
    for tier, m in doc["rental_usd_per_gpu_hour"].items():
        assert m["grade"] in {"A", "B", "C", "D"}, tier
    for c in doc["curves"]:
        assert c["prefill_tok_s_gpu"]["grade"] == "D"
        if c["derived"]:
            assert "grade D" in c["source"]


def test_ranges_are_ordered_and_plausible() -> None:
    for gid, p in HW.items():
        modes = [p.rental[t]["mode"] for t in ("on_demand", "reserved_1y", "reserved_3y")]
        assert modes == sorted(modes, reverse=True), gid  # longer commitment, lower price
        assert 10_000 < p.capex["mode"] < 100_000, gid
        assert p.tdp_w < p.allin_power_w < 2 * p.tdp_w, gid
        assert p.allin_power_w == pytest.approx(p.tdp_w * 1.45)  # the documented multiplier
        assert 0 < p.idle_power_fraction < 1
    h = HW["h100-sxm"]
    assert (h.tdp_w, h.capex["mode"], h.rental["on_demand"]["mode"]) == (700, 36250, 2.95)
    assert h.it_capex_per_gpu() == pytest.approx(36250 / (1 - 0.10 - 0.02))


# ------------------------------------------------------------------ curves


@pytest.mark.parametrize(("gid", "curve"), ALL_CURVES, ids=CURVE_IDS)
def test_curve_is_frontier_and_passes_through_points(gid: str, curve: ThroughputCurve) -> None:
    i, t = curve.interactivity, curve.throughput
    assert np.all(np.diff(i) > 0) and np.all(np.diff(t) < 0)
    for x, y in zip(i, t):
        assert curve.throughput_at(x) == y  # exactly
    assert np.array_equal(curve.throughput_at(i), t)
    # below the first point: flat at the first throughput
    assert curve.throughput_at(0.0) == t[0]
    assert curve.throughput_at(i[0] / 2) == t[0]
    # above the last point: the GPU cannot serve that SLO
    assert curve.max_interactivity() == i[-1]
    assert curve.throughput_at(np.nextafter(i[-1], np.inf)) == 0.0
    assert curve.throughput_at(i[-1] * 1.5) == 0.0
    assert np.all(curve.throughput_at(np.array([i[-1] + 1.0, 1e6])) == 0.0)
    # between two neighbouring points: between their throughputs
    for k in range(len(i) - 1):
        for x in (0.5 * (i[k] + i[k + 1]), math.sqrt(i[k] * i[k + 1]), i[k] + 1e-9):
            assert t[k + 1] <= curve.throughput_at(x) <= t[k]
    # a dense grid is non-increasing
    grid = np.linspace(0.0, i[-1] * 1.2, 2001)
    assert np.all(np.diff(curve.throughput_at(grid)) <= 1e-9 * t[0])
    # prefill (compute-bound) beats decode-bound output throughput
    assert curve.prefill_tok_s_gpu > t[0]
    assert math.isnan(curve.throughput_at(float("nan")))


@settings(max_examples=300, deadline=None)
@given(
    k=st.integers(min_value=0, max_value=len(ALL_CURVES) - 1),
    a=st.floats(min_value=0.0, max_value=1.3, allow_nan=False),
    b=st.floats(min_value=0.0, max_value=1.3, allow_nan=False),
)
def test_throughput_is_non_increasing_in_interactivity(k: int, a: float, b: float) -> None:
    _, curve = ALL_CURVES[k]
    lo, hi = sorted((a * curve.max_interactivity(), b * curve.max_interactivity()))
    y_lo, y_hi = curve.throughput_at(lo), curve.throughput_at(hi)
    assert y_lo >= y_hi - 1e-12 * curve.throughput[0]
    assert 0.0 <= y_hi <= curve.throughput[0]


def test_curve_lookup() -> None:
    b200 = HW["b200"]
    assert b200.curve("Llama-3.3-70B").precision == "fp4"  # best: highest throughput
    assert b200.curve("llama-3.3-70b", "FP8").precision == "fp8"
    with pytest.raises(CurveNotFoundError, match=r"llama-3.3-70b/fp8.*available"):
        HW["mi355x"].curve("llama-3.3-70b", "fp8")
    with pytest.raises(CurveNotFoundError) as err:
        HW["mi300x"].curve("deepseek-r1")
    assert "mi300x" in str(err.value) and "gpt-oss-120b/fp4" in str(err.value)
    assert isinstance(err.value, KeyError)


def _mlperf(rows: list[dict[str, str]], gpu: str, prec: str, scenario: str) -> float:
    (hit,) = [r for r in rows if (r["gpu"], r["model"], r["precision"], r["concurrency"])
              == (gpu, "Llama-2-70B", prec, scenario)]
    return float(hit["throughput_tok_s_gpu"])


@pytest.mark.parametrize(("gid", "gpu", "ref_gid", "ref_gpu", "prec"), [
    ("gb200-nvl72", "GB200 NVL72", "b200", "B200", "fp4"),
    ("mi355x", "MI355X", "b200", "B200", "fp4"),
    ("mi300x", "MI300X", "h200", "H200 SXM", "fp8"),
])
def test_derived_70b_curves_scale_the_reference(gid: str, gpu: str, ref_gid: str, ref_gpu: str,
                                                prec: str) -> None:
    with open(HW_DIR / "throughput_points.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ratio = min(_mlperf(rows, gpu, prec, s) / _mlperf(rows, ref_gpu, prec, s)
                for s in ("Server", "Interactive"))
    c, ref = HW[gid].curve("llama-3.3-70b", prec), HW[ref_gid].curve("llama-3.3-70b", prec)
    assert c.derived and not ref.derived
    assert np.array_equal(c.interactivity, ref.interactivity)
    np.testing.assert_allclose(c.throughput, ref.throughput * ratio, rtol=2e-4, atol=0.06)


# ------------------------------------------------------------------ generator


def test_yaml_curves_equal_regenerated_curves() -> None:
    bp = _build_module()
    built = bp.build_curves(HW_DIR / "throughput_points.csv")
    assert REQUIRED <= set(built)
    for gid in REQUIRED:
        doc = yaml.safe_load((HW_DIR / f"{gid}.yaml").read_text(encoding="utf-8"))
        assert doc["curves"] == built[gid], gid
    assert bp.write_profiles(HW_DIR, check=True, log=lambda _m: None) == []  # byte-identical


def test_pareto_frontier_drops_dominated_points() -> None:
    bp = _build_module()
    pts = [(10.0, 100.0), (20.0, 120.0), (20.0, 90.0), (30.0, 50.0), (25.0, 50.0),
           (40.0, 60.0), (40.0, 60.0), (50.0, 10.0)]
    assert bp.pareto_frontier(pts) == [(20.0, 120.0), (40.0, 60.0), (50.0, 10.0)]
    assert bp.pareto_frontier([]) == []


# ------------------------------------------------------------------ power


@pytest.mark.parametrize("gid", sorted(REQUIRED))
def test_power_matches_hand_formula(gid: str) -> None:
    p = HW[gid]
    assert p.power_w(0.0) == pytest.approx(p.allin_power_w * p.idle_power_fraction)
    assert p.power_w(1.0) == pytest.approx(p.allin_power_w)
    u = np.array([0.0, 0.25, 1.0])
    np.testing.assert_allclose(
        p.power_w(u), p.allin_power_w * (p.idle_power_fraction + (1 - p.idle_power_fraction) * u))
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError):
            p.power_w(bad)


def test_power_hand_numbers_h100() -> None:
    h = HW["h100-sxm"]
    assert h.power_w(0) == pytest.approx(700 * 1.45 * 0.30)  # 304.5 W
    assert h.power_w(1) == pytest.approx(1015.0)
    assert h.power_w(0.5) == pytest.approx(1015.0 * 0.65)


# ------------------------------------------------------------------ malformed files


def _drop_tdp_source(d: dict[str, Any]) -> None:
    del d["tdp_w"]["source"]


def _bad_capex_order(d: dict[str, Any]) -> None:
    d["capex_per_gpu_usd"]["low"] = 1e9


def _non_monotone_points(d: dict[str, Any]) -> None:
    d["curves"][0]["points"][1][1] = 1e9


def _missing_rental_tier(d: dict[str, Any]) -> None:
    del d["rental_usd_per_gpu_hour"]["reserved_3y"]


def _unsourced_extra_number(d: dict[str, Any]) -> None:
    d["fans"] = {"count": 8}


def _bad_precision_type(d: dict[str, Any]) -> None:
    d["curves"][1]["prefill_tok_s_gpu"]["value"] = "fast"


@pytest.mark.parametrize(("mutate", "key"), [
    (_drop_tdp_source, "tdp_w.source"),
    (_bad_capex_order, "capex_per_gpu_usd"),
    (_non_monotone_points, "curves.llama-3.3-70b/fp8.points"),
    (_missing_rental_tier, "rental_usd_per_gpu_hour.reserved_3y"),
    (_unsourced_extra_number, "fans.count"),
    (_bad_precision_type, "curves.llama-2-70b/fp8.prefill_tok_s_gpu.value"),
])
def test_malformed_yaml_names_file_and_key(tmp_path: Path, mutate: Callable[[dict[str, Any]], None],
                                           key: str) -> None:
    doc = yaml.safe_load((HW_DIR / "h100-sxm.yaml").read_text(encoding="utf-8"))
    mutate(doc)
    target = tmp_path / "h100-sxm.yaml"
    target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(HardwareError) as err:
        load_hardware(tmp_path)
    assert str(target) in str(err.value) and err.value.file == str(target)
    assert err.value.key == key, str(err.value)
    assert key in str(err.value)


def test_unparsable_and_misnamed_files(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(HardwareError, match=r"broken\.yaml: <yaml>"):
        load_hardware(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(HW_DIR / "h200.yaml", other / "renamed.yaml")
    with pytest.raises(HardwareError, match=r"renamed\.yaml: id: 'h200' must equal"):
        load_hardware(other)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(HardwareError, match="no \\*.yaml"):
        load_hardware(empty)
