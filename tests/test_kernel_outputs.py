"""The kernel writes every element of its outputs.

``sim.mc.kernel.simulate_paths`` allocates the output arrays uninitialised (``np.empty``), so an
element the kernel forgot would be garbage, not 0. Here the kernel is run into NaN-filled arrays
on a scenario that sends days every way the kernel knows (no GPU capacity, whole to the owned
pool, whole to the reserved pool, hour by hour through owned, reserved and on-demand GPUs and the
API, with a shared prompt prefix), and no NaN may be left.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.catalog.prices import PriceBook
from sim.mc import engine
from sim.mc.kernel import OD, OWNED, RES, simulate_paths, simulate_paths_into
from sim.mc.runner import prepare
from sim.mc.sampling import draw
from sim.scenario import load_scenario_text

ROOT = Path(__file__).resolve().parents[1]


def _scenario():
    base = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    for w in base["workloads"]:
        if w["kind"] != "embedded_saas":
            w["allowed_pools"] = ["owned", "neocloud", "api"]
            w["models"]["neocloud"] = w["models"].get("owned", "llama-3.3-70b")
    base["pools"]["owned"]["purchases"] = [{"month": 0, "gpus": 8}, {"month": 12, "gpus": 8}]
    base["pools"]["neocloud"].update(reserved_gpus=4, on_demand_max_gpus=8)
    base["strategies"] = []
    base["contracts"] = []
    return load_scenario_text(yaml.safe_dump(base), file="test", base_dir=ROOT / "scenarios")


def _kernel_args(monkeypatch, deterministic: bool) -> tuple:
    prep = prepare(_scenario())
    s, tab = prep.scenarios[0], prep.tables[0]
    captured = {}
    real = engine.simulate_paths

    def capture(*a):
        captured["a"] = a
        return real(*a)

    monkeypatch.setattr(engine, "simulate_paths", capture)
    engine.simulate_block(s, tab, draw(s, np.arange(64), tab.calls.shape[0]), PriceBook(s.price_date),
                          deterministic=deterministic)
    return captured["a"]


@pytest.mark.parametrize("deterministic", [False, True])
def test_every_output_element_is_written(monkeypatch, deterministic):
    a = _kernel_args(monkeypatch, deterministic)
    ref = simulate_paths(*a)
    S, od_hours = ref[0], ref[5]
    # the scenario reaches every destination (so every branch that writes has run)
    for q in (OWNED, RES, OD):
        assert S[..., q].sum() > 0, q
    assert od_hours.sum() > 0
    out = tuple(np.full_like(x, np.nan) for x in ref)
    simulate_paths_into(*a, *out)
    for i, (x, y) in enumerate(zip(out, ref)):
        assert not np.isnan(x).any(), i
        np.testing.assert_array_equal(x, y)
