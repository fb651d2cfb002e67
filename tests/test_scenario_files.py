"""Scenario files: every shipped scenario loads; load → dump → load is identical; the reference is current."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.scenario import dump_scenario, load_scenario, load_scenario_text
from sim.scenario.reference import DOC, render

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_scenarios_load_and_round_trip(path):
    sc = load_scenario(path)
    again = load_scenario_text(dump_scenario(sc), file="<dump>", base_dir=path.parent)
    assert again == sc
    assert again.model_dump() == sc.model_dump()


def test_reference_is_current():
    assert DOC.exists(), "run python -m sim.scenario.reference"
    assert DOC.read_text(encoding="utf-8") == render(), "docs/scenario-reference.md is stale: run make docs"


def test_reference_covers_every_key():
    from sim.scenario.reference import _models
    from sim.scenario.model import Scenario

    text = DOC.read_text(encoding="utf-8")
    for m in _models(Scenario):
        for name, f in m.model_fields.items():
            assert f"`{f.alias or name}`" in text, f"{m.__name__}.{name} missing from the reference"
            assert f.description, f"{m.__name__}.{name} has no description"


def test_empirical_distribution_reads_its_csv(tmp_path):
    (tmp_path / "turns.csv").write_text("turns\n1\n2\n3\n10\n")
    text = (ROOT / "scenarios" / "examples" / "single_chat.yaml").read_text()
    text = text.replace("turns: {dist: lognormal, median: 3, p90: 8}", "turns: {dist: empirical, file: turns.csv, column: turns}")
    (tmp_path / "s.yaml").write_text(text)
    sc = load_scenario(tmp_path / "s.yaml")
    d = sc.workloads[0].turns
    assert d.mean() == pytest.approx(4.0)
    assert d.support() == (1.0, 10.0)
    assert sorted(set(d.ppf(np.linspace(0.01, 0.99, 50)))) == [1.0, 2.0, 3.0, 10.0]
