"""Provisioned-capacity profiles (sim.catalog.provisioned, calibration/provisioned/*.yaml)."""

from __future__ import annotations

import copy
import datetime
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from sim.catalog.provisioned import (
    CLASSES,
    DEFAULT_DIR,
    GRADES,
    HOURS_PER_MONTH,
    MissingNumberError,
    ProvisionedProfileError,
    UnknownProfileError,
    cost_per_hour,
    cost_per_month,
    legal_units,
    load_profiles,
    override,
    profile,
    unit_seconds,
    work_tokens,
)

EXPECTED = {
    "azure/gpt-4.1", "azure/gpt-4.1-mini", "azure/gpt-4o", "azure/gpt-4o-mini", "azure/gpt-5", "azure/o3",
    "azure/o4-mini", "vertex/gemini-2.5-flash-lite", "vertex/gemini-2.5-flash", "vertex/gemini-2.5-pro",
    "vertex/gemini-2.0-flash", "xai/grok-4-1-fast-reasoning", "bedrock/model-unit",
}


@pytest.fixture(scope="module")
def profiles():
    return load_profiles()


# ----------------------------------------------------------------------------- the shipped files


def test_every_profile_loads_with_its_unit(profiles):
    assert set(profiles) == EXPECTED
    units = {n.split("/")[0]: p.unit for n, p in profiles.items()}
    assert units == {"azure": "PTU", "vertex": "GSU", "xai": "unit", "bedrock": "MU"}
    assert load_profiles(DEFAULT_DIR)["azure/gpt-4.1"] is profiles["azure/gpt-4.1"]  # cached


def test_every_number_carries_a_source_and_a_grade(profiles):
    for p in profiles.values():
        keys = ["throughput", "minimum", "increment", "spill", "excludes"]
        keys += [f"burndown.{c}" for c in CLASSES] + [f"prices.{t}" for t in p.prices]
        if p.burndown.long_context is not None:
            keys += [f"burndown.long_context.{c}" for c in CLASSES] + ["burndown.long_context.threshold"]
        for k in keys:
            assert p.sources.get(k, "").strip(), (p.name, k)
            assert p.grades[k] in GRADES, (p.name, k)
        for k in p.missing:  # a number that is not public says why
            assert p.notes.get(k, "").strip(), (p.name, k)


def test_names_resolve_in_the_price_catalog(profiles):
    from sim.catalog.prices import PriceBook

    book = PriceBook(datetime.date(2026, 6, 1))
    for p in profiles.values():
        if p.pay_go_model is None:
            assert p.name == "bedrock/model-unit" and "pay_go_model" in p.notes[""]
            continue
        card = book.card(p.pay_go_model)
        want = {"azure": "azure", "vertex": "google", "xai": "x-ai"}[p.provider]
        assert card.provider == want, p.name
        assert card.model_id.startswith(p.model), (p.name, card.model_id)  # azure/o3 -> o3-2025-04-16
        if p.provider == "azure":
            assert p.pay_go_model == p.name
    # the long-context override starts where the pay-go price cliff does
    pro = profiles["vertex/gemini-2.5-pro"]
    assert book.card(pro.pay_go_model).cliffs[0][0] == pro.burndown.long_context_threshold == 200_000


# ----------------------------------------------------------------------------- burndown by hand


def test_burndown_vertex_gemini_25_pro(profiles):
    p = profiles["vertex/gemini-2.5-pro"]
    # 1,000 fresh + 500 cached + 200 output of which 50 reasoning: 1000 + 0.1*500 + 8*150 + 8*50
    assert work_tokens(p, 1000, 500, 200, 50) == pytest.approx(2650)
    # prompt 260k > 200k: input x2, cached x0.2, output x12
    assert work_tokens(p, 250_000, 10_000, 1000) == pytest.approx(2 * 250_000 + 0.2 * 10_000 + 12 * 1000)
    # at exactly 200k the base weights apply (strictly above, like the price cliff)
    assert work_tokens(p, 200_000, 0, 10) == pytest.approx(200_000 + 80)
    # an explicit context decides, and the function is vectorised
    w = work_tokens(p, np.array([1000, 1000]), np.array([0, 0]), np.array([10, 10]),
                    context=np.array([1000, 300_000]))
    np.testing.assert_allclose(w, [1000 + 80, 2000 + 120])


def test_burndown_azure(profiles):
    # gpt-4.1: 1 output = 4 input; cached tokens deducted 100% -> weight 0
    assert work_tokens(profiles["azure/gpt-4.1"], 1000, 3000, 100) == pytest.approx(1400)
    assert work_tokens(profiles["azure/gpt-5"], 1000, 3000, 100, 60) == pytest.approx(1800)  # 1 out = 8 in
    assert work_tokens(profiles["azure/gpt-4o"], 0, 0, 833) == pytest.approx(2499)  # 833 out TPM ~ 2,500 in
    assert "interpretation" in profiles["azure/gpt-4.1"].notes["burndown.cached_input"].lower()


def test_burndown_vertex_and_xai_simple(profiles):
    assert work_tokens(profiles["vertex/gemini-2.0-flash"], 100, 1000, 10) == pytest.approx(100 + 100 + 40)
    assert work_tokens(profiles["vertex/gemini-2.5-flash"], 0, 0, 10) == pytest.approx(90)
    # xAI: 12,500 output TPM per unit = 31,500 input TPM per unit
    assert work_tokens(profiles["xai/grok-4-1-fast-reasoning"], 0, 0, 12_500) == pytest.approx(31_500)


def test_work_tokens_refuses_bad_tokens(profiles):
    p = profiles["azure/gpt-4.1"]
    with pytest.raises(ValueError, match="reasoning <= output"):
        work_tokens(p, 10, 0, 5, 6)
    with pytest.raises(ValueError, match="input tokens must be finite and >= 0"):
        work_tokens(p, np.array([1.0, -1.0]), 0, 0)
    with pytest.raises(ValueError, match="output tokens"):
        work_tokens(p, 1, 0, math.nan)


# ----------------------------------------------------------------------------- unit-seconds


def test_unit_seconds_by_hand(profiles):
    lite = profiles["vertex/gemini-2.5-flash-lite"]
    assert lite.tokens_per_second == 8070
    assert unit_seconds(lite, 8070, 0, 0) == pytest.approx(1.0)  # 1 GSU-second
    assert unit_seconds(lite, 0, 0, 8070) == pytest.approx(4.0)  # output x4
    # Azure gpt-4.1: 3,000 input TPM per PTU = 50 tokens/s, so 3,000 input tokens = 60 PTU-seconds
    assert unit_seconds(profiles["azure/gpt-4.1"], 3000, 0, 0) == pytest.approx(60.0)
    np.testing.assert_allclose(unit_seconds(lite, np.array([8070, 16140]), 0, 0), [1.0, 2.0])


# ----------------------------------------------------------------------------- legal purchases


def test_legal_units(profiles):
    az, vx = profiles["azure/gpt-4.1"], profiles["vertex/gemini-2.5-flash-lite"]
    assert (az.minimum, az.increment, vx.minimum, vx.increment) == (15, 5, 1, 1)
    assert [legal_units(az, n) for n in (0, 1, 15, 16, 20, 20 * (1 + 1e-12), 20.5, 2.69)] == \
        [0, 15, 15, 20, 20, 20, 25, 15]
    assert [legal_units(vx, n) for n in (0, 0.01, 1, 2.69, 3)] == [0, 1, 1, 3, 3]
    with pytest.raises(ValueError, match=">= 0"):
        legal_units(az, -1)


# ----------------------------------------------------------------------------- prices


def test_prices_per_month_are_per_hour_times_730(profiles):
    files = {f.stem: yaml.safe_load(f.read_text()) for f in DEFAULT_DIR.glob("*.yaml")}
    n = 0
    for p in profiles.values():
        raw = files[p.provider]
        for term, tp in p.prices.items():
            entry = raw["profiles"][p.name].get("prices", {}).get(term) or raw["defaults"]["prices"][term]
            if tp.usd_per_unit_hour is None:
                assert entry["usd_per_unit_month"] is None and tp.note
                continue
            assert tp.usd_per_unit_month == pytest.approx(tp.usd_per_unit_hour * HOURS_PER_MONTH)
            # the figures as written in the file agree within rounding
            assert entry["usd_per_unit_month"] == pytest.approx(entry["usd_per_unit_hour"] * 730, rel=1e-3)
            n += 1
    assert n > 20
    az, vx, xai = profiles["azure/gpt-4.1"], profiles["vertex/gemini-2.5-flash"], profiles["xai/grok-4-1-fast-reasoning"]
    assert cost_per_month(az, 20, "1y") == pytest.approx(20 * 221)
    assert cost_per_hour(az, 15, "1m") == pytest.approx(15 * 260 / 730)
    assert cost_per_hour(az, 15, "hourly") == pytest.approx(15.0)
    assert cost_per_month(vx, 2, "1m") == pytest.approx(2 * 3.6986 * 730)
    assert cost_per_month(xai, 1, "1m") == pytest.approx(10 / 24 * 730)  # $10 per unit-day
    np.testing.assert_allclose(cost_per_month(vx, np.array([0, 1, 3]), "1y"), [0, 2.7397 * 730, 3 * 2.7397 * 730])
    with pytest.raises(ValueError, match="no '3m' term"):
        cost_per_month(az, 15, "3m")


# ----------------------------------------------------------------------------- Bedrock needs the user's numbers


def test_bedrock_refuses_to_size_until_overridden(profiles):
    mu = profiles["bedrock/model-unit"]
    assert mu.tokens_per_second is None and "throughput" in mu.missing
    with pytest.raises(MissingNumberError, match="throughput per MU is not public.*override"):
        unit_seconds(mu, 1000, 0, 100)
    with pytest.raises(MissingNumberError, match="output weight is not public"):
        work_tokens(mu, 1000, 0, 100)
    with pytest.raises(MissingNumberError, match="1m price is not public"):
        cost_per_month(mu, 1, "1m")
    # a quote of 60,000 input and 6,000 output TPM per MU
    mine = override(mu, source="account manager quote", tokens_per_second=1000,
                    weights={"output": 10, "reasoning": 10}, prices={"1m": 20.0})
    assert unit_seconds(mine, 1000, 0, 100) == pytest.approx(2.0)
    assert cost_per_month(mine, 2, "1m") == pytest.approx(2 * 20 * 730)
    assert mine.grades["throughput"] == "user" and mine.sources["throughput"] == "user: account manager quote"
    with pytest.raises(MissingNumberError, match="cached_input weight"):  # still unknown
        unit_seconds(mine, 1000, 10, 100)
    assert mu.tokens_per_second is None  # the catalog's profile is unchanged
    with pytest.raises(ValueError, match="source"):
        override(mu, source=" ", tokens_per_second=1)
    with pytest.raises(ValueError, match="tokens_per_second must be"):
        override(mu, source="x", tokens_per_second=-1)


# ----------------------------------------------------------------------------- lookup


def test_profile_lookup_and_suggestions():
    assert profile("azure/gpt-4.1").tokens_per_second == 50
    assert profile("Vertex/Gemini-2.5-Flash-Lite").name == "vertex/gemini-2.5-flash-lite"
    assert profile("gemini-2.5-pro").name == "vertex/gemini-2.5-pro"  # bare model, one profile has it
    with pytest.raises(UnknownProfileError, match=r"did you mean 'azure/gpt-4\.1'"):
        profile("azure/gpt4.1")
    with pytest.raises(UnknownProfileError, match="did you mean 'xai/grok-4-1-fast-reasoning'"):
        profile("x-ai/grok-4-1-fast-reasoning")
    try:
        profile("azure/gpt-4.2")
    except UnknownProfileError as e:
        assert e.suggestions and str(e).startswith("unknown provisioned profile 'azure/gpt-4.2'")


# ----------------------------------------------------------------------------- bad files are refused, located


def _bad(tmp_path: Path, stem: str, edit: Callable[[dict[str, Any]], None]) -> str:
    doc = copy.deepcopy(yaml.safe_load((DEFAULT_DIR / f"{stem}.yaml").read_text()))
    edit(doc)
    d = tmp_path / str(len(list(tmp_path.iterdir())))  # a fresh directory per file
    d.mkdir()
    (d / f"{stem}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ProvisionedProfileError) as e:
        load_profiles(d)
    msg = str(e.value)
    assert msg.startswith(str(d / f"{stem}.yaml") + ": "), msg
    return msg


def test_missing_throughput_is_refused(tmp_path):
    msg = _bad(tmp_path, "vertex", lambda d: d["profiles"]["vertex/gemini-2.5-flash"].pop("throughput"))
    assert "profiles[vertex/gemini-2.5-flash].throughput: missing" in msg


def test_null_throughput_without_a_note_is_refused(tmp_path):
    def edit(d):
        t = d["profiles"]["vertex/gemini-2.5-flash"]["throughput"]
        t.update(tokens_per_second=None, quoted=None)
    msg = _bad(tmp_path, "vertex", edit)
    assert "profiles[vertex/gemini-2.5-flash].throughput.tokens_per_second: null needs a note" in msg


def test_negative_price_is_refused_at_its_default(tmp_path):
    msg = _bad(tmp_path, "azure", lambda d: d["defaults"]["prices"]["1m"].update(usd_per_unit_hour=-0.35))
    assert "defaults.prices.1m.usd_per_unit_hour: value -0.35 out of range (0, inf]" in msg
    assert "(default of azure/gpt-4.1)" in msg


def test_negative_price_in_a_profile_is_refused(tmp_path):
    msg = _bad(tmp_path, "xai", lambda d: d["profiles"]["xai/grok-4-1-fast-reasoning"]["prices"]["1m"]["quoted"]
               .update(amount=-10))
    assert "profiles[xai/grok-4-1-fast-reasoning].prices.1m.quoted.amount: value -10 out of range" in msg


def test_unknown_keys_are_refused(tmp_path):
    msg = _bad(tmp_path, "azure", lambda d: d["profiles"]["azure/gpt-5"].update(througput={"value": 1}))
    assert "profiles[azure/gpt-5]: unknown keys ['througput']" in msg
    msg = _bad(tmp_path, "azure", lambda d: d["profiles"]["azure/gpt-5"]["burndown"]["output"].update(weight=2))
    assert "profiles[azure/gpt-5].burndown.output: unknown keys ['weight']" in msg
    msg = _bad(tmp_path, "vertex", lambda d: d["defaults"]["prices"].update({"2y": {}}))
    assert "defaults.prices: unknown keys ['2y']" in msg and "(default of vertex/gemini-2.5-flash-lite)" in msg


def test_inconsistent_conversions_and_missing_sources_are_refused(tmp_path):
    msg = _bad(tmp_path, "azure", lambda d: d["profiles"]["azure/gpt-4.1"]["throughput"].update(tokens_per_second=3000))
    assert "profiles[azure/gpt-4.1].throughput.tokens_per_second: 3000 does not match the quote 3000 per minute" in msg
    msg = _bad(tmp_path, "vertex", lambda d: d["defaults"]["prices"]["1m"].update(usd_per_unit_month=3000))
    assert "defaults.prices.1m.usd_per_unit_month: 3000 is not usd_per_unit_hour x 730 h" in msg
    msg = _bad(tmp_path, "vertex", lambda d: d["defaults"]["minimum"].pop("source"))
    assert "defaults.minimum.source: missing or empty source" in msg
    msg = _bad(tmp_path, "azure", lambda d: d["defaults"]["minimum"].update(value=12))
    assert "defaults.minimum.value: 12 is not a multiple of the increment 5" in msg
    msg = _bad(tmp_path, "xai", lambda d: d["profiles"]["xai/grok-4-1-fast-reasoning"]["spill"].update(value="overflow"))
    assert "spill.value: expected one of ['429', 'pay_go']" in msg
    msg = _bad(tmp_path, "xai", lambda d: d["profiles"]["xai/grok-4-1-fast-reasoning"]["burndown"]["output"]
               .update(grade="blog"))
    assert "burndown.output.grade: expected one of ['doc', '3p', 'derived']" in msg
