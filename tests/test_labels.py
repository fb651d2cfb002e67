"""Human labels of scenario key paths (sim.scenario.labels): every uncertain input of the shipped
scenarios, and every field of the default scenario, gets words from the schema, never a key path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from sim.scenario import load_scenario
from sim.scenario.labels import label, labels
from sim.scenario.model import uncertain_fields

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.yaml"))
KEY_PATH = re.compile(r"\b[a-z_]+\.[a-z_]+\.[a-z_]+\b")


def _is_words(text: str, path: str) -> bool:
    return bool(text) and text != path and not KEY_PATH.search(text) and "." + path.split(".")[-1] not in text


@pytest.mark.parametrize("f", SCENARIOS, ids=lambda p: p.stem)
def test_every_uncertain_input_gets_a_label(f):
    sc = load_scenario(f)
    paths = list(uncertain_fields(sc))
    got = labels(paths, sc)
    for p in paths:
        assert _is_words(got[p], p), (p, got[p])
        assert _is_words(label(p), p), p  # without the scenario too
    assert len(set(got.values())) == len(paths)  # one label one input


def test_labels_read_like_the_schema():
    sc = load_scenario(ROOT / "scenarios" / "default.yaml")
    assert label("pools.api.price_trend.frontier_per_year", sc) == \
        "Pay-per-token API: change of frontier-tier prices per year"
    assert label("workloads.support_chat.sessions_per_user_per_day", sc).startswith("support_chat: sessions per")
    assert label("business_units.engineering.users.ceiling", sc) == "engineering: users at saturation"
    assert label("pools.owned.lead_time_months", sc) == "Owned GPUs: order to serving (months)"
    assert label("pools.owned.power_price_per_kwh", sc) == "Owned GPUs: electricity (USD per kWh)"  # its currency
    # a per-model table keeps the model (names may hold dots); an unnamed list item its number
    assert label("workloads.support_chat.outcome.success.openai/gpt-4.1-mini", sc).endswith("(openai/gpt-4.1-mini)")
    assert label("pools.owned.purchases.0.gpus", sc) == "Owned GPUs: GPUs bought (no. 1)"
    assert _is_words(label("no_such.section.field_name"), "no_such.section.field_name")


def _leaves(obj, prefix=""):
    if isinstance(obj, BaseModel) and not hasattr(obj, "dist"):
        for k in type(obj).model_fields:
            yield from _leaves(getattr(obj, k), f"{prefix}.{k}" if prefix else k)
    elif isinstance(obj, list) and obj and all(isinstance(x, BaseModel) for x in obj):
        for i, x in enumerate(obj):
            yield from _leaves(x, f"{prefix}.{getattr(x, 'name', None) or i}")
    else:
        yield prefix


def test_every_field_of_the_default_scenario_gets_words():
    sc = load_scenario(ROOT / "scenarios" / "default.yaml")
    paths = list(_leaves(sc))
    assert len(paths) > 150
    for p in paths:
        assert _is_words(label(p, sc), p), (p, label(p, sc))
