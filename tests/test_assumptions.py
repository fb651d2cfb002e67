"""Defaults in the open: the assumptions a scenario does not write are named by estimate and run."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import cli_json
from sim.demand.assumptions import assumptions
from sim.demand.population import profile_arrays
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]




def test_the_silent_defaults_are_named(tmp_path):
    """single_chat writes no frontier list, trend, activity or noise: all three are named, with the
    preset's own weekend weights; the default scenario writes the first two, so only the noise is."""
    f = ROOT / "scenarios" / "examples" / "single_chat.yaml"
    sc = load_scenario(f)
    keys = [a.key for a in assumptions(sc)]
    assert keys == ["pools.api.frontier_models", "activity.preset", "demand_noise"]
    weekly, _ = profile_arrays(sc.activity)
    act = assumptions(sc)[1].effect
    assert f"Sat {weekly[5]:g}" in act and f"Sun {weekly[6]:g}" in act and weekly[5] < 1
    assert "-30% a year (the default)" in assumptions(sc)[0].effect
    est = cli_json(["estimate", str(f), "--out", str(tmp_path / "e")])
    assert [a["key"] for a in est["assumptions"]] == keys
    run = cli_json(["run", str(f), "--paths", "5", "--out", str(tmp_path / "r"), "--quiet"])
    assert [a["key"] for a in run["assumptions"]] == keys
    assert [a.key for a in assumptions(load_scenario(ROOT / "scenarios" / "default.yaml"))] == ["demand_noise"]


def test_the_report_prints_the_assumptions_in_force():
    """The report names the defaults the scenario leaves in force, with labels (not key paths)."""
    from sim.mc.runner import run
    from sim.report.html import build_report
    from tests.conftest import chat, make

    sc = make([chat()])
    ds, _ = run(sc, paths=3, deterministic=True)
    page, _, _ = build_report(ds, scenario=sc)
    i = page.index('id="assumptions"')
    block = page[i:page.index("</div>", i)]
    assert "commodity price trend" in block and "acme/m1" in block
    assert "pools.api.frontier_models" not in block  # a label, not the key path
