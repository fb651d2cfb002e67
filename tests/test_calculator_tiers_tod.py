"""Service tiers and time-of-day prices (issue 13, item 6), by hand and against genai-prices.

* ``--service-tier`` prices the library's ``service_tier`` price variants; it must equal
  ``calc_price(price_context={'service_tier': tier})``. A model the library has no such tier for is
  refused (exit 2, the tiers it has named) unless ``--tier-factor`` says what to assume.
* A model with time-of-day price windows (DeepSeek off-peak) is priced at the windows' prices
  averaged over the activity profile: the weights below are copied from the preset definitions
  (calibration/workloads/profiles.yaml, checked equal) and the windows from the library's data
  (checked too), and the averaged prices are worked out by hand. The engines use the same average
  for a workload's business unit's profile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import typing

import numpy as np
import pytest

from sim.cli import main
from tests.conftest import chat, make, refusal

DATE = "2026-11-01"
DAY = dt.date(2026, 11, 1)

# calibration/workloads/profiles.yaml, hour of the day 0..23 (UTC at utc_offset_hours 0)
BUSINESS_HOURS = [0.05, 0.03, 0.02, 0.02, 0.02, 0.05, 0.15, 0.45, 1.0, 1.35, 1.45, 1.4, 1.05, 1.25, 1.4, 1.35,
                  1.2, 0.9, 0.55, 0.35, 0.3, 0.25, 0.15, 0.08]  # sums to 14.82
NIGHTLY_BATCH = [1.6, 2.0, 2.0, 2.0, 1.8, 1.2, 0.5, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2,
                 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.2, 1.4]  # sums to 18.6

# deepseek-chat: peak 00:30-16:30 UTC (the library's TimeOfDateConstraint), off-peak the rest.
# Off-peak share = (half of hour 16 + hours 17..23 + half of hour 0) / day total:
#   business_hours: (0.6 + 0.9+0.55+0.35+0.3+0.25+0.15+0.08 + 0.025) / 14.82 = 3.205 / 14.82
#   nightly_batch:  (0.1 + 0.2+0.3+0.5+0.8+1.0+1.2+1.4 + 0.8) / 18.6 = 6.3 / 18.6
#   business_hours of users at UTC+8 (local = UTC + 8, so off-peak is local 00:30-08:30):
#                   (0.025 + 0.03+0.02+0.02+0.02+0.05+0.15+0.45 + 0.5) / 14.82 = 1.265 / 14.82
CHAT_OFF = {"business_hours": 3.205 / 14.82, "nightly_batch": 6.3 / 18.6}
CHAT_OFF_UTC8 = 1.265 / 14.82
CHAT_PEAK_RATES = (0.27, 1.10, 0.07)  # input, output, cache read, USD/MTok
CHAT_OFF_RATES = (0.135, 0.55, 0.035)
# deepseek-v4-flash: peak 01:00-04:00 and 06:00-10:00 UTC (on the hour), off-peak the rest
#   business_hours: (0.03+0.02+0.02 + 0.15+0.45+1.0+1.35) / 14.82 = 3.02 / 14.82
#   nightly_batch:  (2.0+2.0+2.0 + 0.5+0.3+0.2+0.2) / 18.6 = 7.2 / 18.6
FLASH_PEAK = {"business_hours": 3.02 / 14.82, "nightly_batch": 7.2 / 18.6}
FLASH_PEAK_RATES = (0.30, 1.20, 0.006)
FLASH_OFF_RATES = (0.15, 0.60, 0.003)


def _run(argv: list[str]) -> dict:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv + ["--json"]) == 0, buf.getvalue()
    return json.loads(buf.getvalue())


def _calc(model: str, *extra: str, inp: int = 10_000, cached: int = 4000, out: int = 1000) -> dict:
    return _run(["estimate", "--model", model, "--input-tokens", str(inp), "--cached-tokens", str(cached),
                 "--output-tokens", str(out), "--requests-per-month", "1000", "--price-date", DATE, *extra])


def _mix(off: float, off_rates, peak_rates) -> tuple[float, ...]:
    return tuple(off * o + (1 - off) * p for o, p in zip(off_rates, peak_rates))


# ---- the inputs the hand calculations rest on ------------------------------------------------
def test_the_hand_inputs_are_the_presets_and_the_library_windows():
    from genai_prices import data_snapshot

    from sim.cli.scenario_cmds import ACTIVITY_PRESETS
    from sim.demand.population import _presets
    from sim.scenario.population import ActivityProfile

    presets = _presets()
    assert presets["business_hours"]["hourly"] == BUSINESS_HOURS and sum(BUSINESS_HOURS) == pytest.approx(14.82)
    assert presets["nightly_batch"]["hourly"] == NIGHTLY_BATCH and sum(NIGHTLY_BATCH) == pytest.approx(18.6)
    assert ACTIVITY_PRESETS == typing.get_args(ActivityProfile.model_fields["preset"].annotation)
    assert set(ACTIVITY_PRESETS) == set(presets)
    assert ActivityProfile.model_fields["preset"].default == "business_hours"

    deepseek = next(p for p in data_snapshot.get_snapshot().providers if p.id == "deepseek")
    models = {m.id: m for m in deepseek.models}

    def window(c):
        return (c.start_time.strftime("%H:%M"), c.end_time.strftime("%H:%M"), str(c.start_time.tzinfo))

    def rates(mp):
        return (float(mp.input_mtok), float(mp.output_mtok), float(mp.cache_read_mtok))

    chat_prices = models["deepseek-chat"].prices
    assert chat_prices[0].constraint is None and rates(chat_prices[0].prices) == CHAT_OFF_RATES
    assert window(chat_prices[1].constraint) == ("00:30", "16:30", "UTC")
    assert rates(chat_prices[1].prices) == CHAT_PEAK_RATES
    flash = models["deepseek-v4-flash"].prices
    assert [window(c.constraint) for c in flash[3:]] == [("01:00", "04:00", "UTC"), ("06:00", "10:00", "UTC")]
    assert all(rates(c.prices) == FLASH_PEAK_RATES for c in flash[3:])
    assert flash[2].constraint.start_date <= DAY and rates(flash[2].prices) == FLASH_OFF_RATES


# ---- time-of-day prices: the calculator --------------------------------------------------------
@pytest.mark.parametrize("preset", ["business_hours", "nightly_batch"])
@pytest.mark.parametrize("model, off, off_rates, peak_rates", [
    ("deepseek/deepseek-chat", CHAT_OFF, CHAT_OFF_RATES, CHAT_PEAK_RATES),
    ("deepseek/deepseek-v4-flash", {k: 1 - v for k, v in FLASH_PEAK.items()}, FLASH_OFF_RATES, FLASH_PEAK_RATES),
])
def test_time_of_day_price_is_averaged_over_the_activity_profile(preset, model, off, off_rates, peak_rates):
    got = _calc(model, "--activity", preset)
    s = off[preset]
    p_in, p_out, p_read = _mix(s, off_rates, peak_rates)
    assert got["price_in_per_mtok"] == pytest.approx(p_in, rel=1e-12)
    assert got["price_out_per_mtok"] == pytest.approx(p_out, rel=1e-12)
    assert got["price_cached_per_mtok"] == pytest.approx(p_read, rel=1e-12)
    # 6,000 fresh + 4,000 cached input tokens and 1,000 output tokens
    assert got["cost_per_request"] == pytest.approx((6000 * p_in + 4000 * p_read + 1000 * p_out) / 1e6, rel=1e-12)
    assert got["time_of_day"]["activity"] == preset and got["time_of_day"]["utc_offset_hours"] == 0
    assert [w["window"] for w in got["time_of_day"]["windows"]] == ["off-peak", "peak"]
    assert got["time_of_day"]["windows"][0]["share"] == pytest.approx(s, rel=1e-12)
    assert f"time-of-day pricing: averaged over the {preset} activity profile (UTC): {100 * s:.1f} % of tokens at " \
           "the off-peak price" in got["notes"][0]
    assert got["assumptions"] == []  # --activity given


def test_business_hours_is_the_stated_default_and_differs_from_nightly():
    """No --activity: the scenario default (business_hours, UTC) is used and named in the assumptions;
    hand figures for 1,000 input + 100 output tokens of deepseek-chat."""
    got = _calc("deepseek/deepseek-chat", inp=1000, cached=0, out=100)
    s = CHAT_OFF["business_hours"]  # 0.216262
    assert got["time_of_day"]["activity"] == "business_hours"
    # input 0.135 s + 0.27 (1 - s) = 0.240805; output 0.55 s + 1.1 (1 - s) = 0.981056
    assert got["price_in_per_mtok"] == pytest.approx(0.2408046559, rel=1e-9)
    assert got["price_out_per_mtok"] == pytest.approx(0.9810560054, rel=1e-9)
    assert got["cost_per_request"] == pytest.approx((1000 * 0.27 + 100 * 1.1) / 1e6 * (1 - 0.5 * s), rel=1e-12)
    assert [a["key"] for a in got["assumptions"]] == ["activity.preset"]
    assert got["assumptions"][0]["value"] == "business_hours (the default)"
    assert "averaged over the business_hours activity profile (UTC): 21.6 % of tokens at the off-peak price" \
        in got["notes"][0]
    night = _calc("deepseek/deepseek-chat", "--activity", "nightly_batch", inp=1000, cached=0, out=100)
    # every off-peak rate is half the peak one: cost = peak cost x (1 - off-peak share / 2)
    assert night["cost_per_request"] / got["cost_per_request"] == pytest.approx(
        (1 - 0.5 * 6.3 / 18.6) / (1 - 0.5 * 3.205 / 14.82), rel=1e-12)
    assert night["cost_per_request"] < got["cost_per_request"]


def test_utc_offset_shifts_the_profile_onto_utc():
    got = _calc("deepseek/deepseek-chat", "--activity", "business_hours", "--utc-offset", "8")
    assert got["time_of_day"]["windows"][0]["share"] == pytest.approx(CHAT_OFF_UTC8, rel=1e-12)
    assert "business_hours activity profile of users at UTC+8 (UTC): 8.5 % of tokens" in got["notes"][0]


@pytest.mark.parametrize("preset, hourly", [("business_hours", BUSINESS_HOURS), ("nightly_batch", NIGHTLY_BATCH)])
def test_averaged_price_equals_calc_price_averaged_over_the_minutes(preset, hourly):
    """genai-prices' own calc_price at every minute of the UTC day, weighted by the hour's activity."""
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=10_000, cache_read_tokens=4000, output_tokens=1000)
    day = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    w = np.asarray(hourly) / sum(hourly)
    want = sum(w[m // 60] / 60 * float(calc_price(usage, "deepseek-chat", provider_id="deepseek",
                                                  genai_request_timestamp=day + dt.timedelta(minutes=m)).total_price)
               for m in range(24 * 60))
    assert _calc("deepseek/deepseek-chat", "--activity", preset)["cost_per_request"] == pytest.approx(want, rel=1e-9)


def test_activity_on_a_model_without_windows_is_a_warning():
    got = _calc("openai/gpt-4o", "--activity", "nightly_batch")
    assert got["time_of_day"] is None and any("--activity has no effect" in w for w in got["warnings"])


# ---- time-of-day prices: the price book and the engines -------------------------------------------
def test_price_book_hours():
    from sim.catalog.prices import PriceBook

    book = PriceBook(DAY)
    h24 = np.asarray(BUSINESS_HOURS)
    c24 = book.card("deepseek/deepseek-chat", hours=h24, hours_label="x")
    c168 = book.card("deepseek/deepseek-chat", hours=np.outer([1, 1, 1, 1, 1, 0.08, 0.05], h24).ravel(),
                     hours_label="x")
    assert c24 is c168  # the library's windows are daily: a week folds onto its hours
    assert c24.base.input == pytest.approx(_mix(CHAT_OFF["business_hours"], CHAT_OFF_RATES, CHAT_PEAK_RATES)[0])
    assert c24.batch_base.input == pytest.approx(0.5 * c24.base.input)  # no batch variant: our 0.5 x
    plain = book.card("deepseek/deepseek-chat")  # no hours: the price in force most of the UTC day (peak)
    assert plain.base.input == 0.27 and plain.time_of_day == ()
    assert book.card("openai/gpt-4o", hours=h24) is book.card("openai/gpt-4o")  # no windows: hours ignored
    for bad in (np.ones(23), np.zeros(24), np.r_[np.ones(23), np.nan], -np.ones(24)):
        with pytest.raises(ValueError):
            book.card("deepseek/deepseek-chat", hours=bad)
    with pytest.raises(ValueError):
        book.card("deepseek/deepseek-chat", dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc), hours=h24)


def _scenario(activity: dict, unit_activity: dict | None = None):
    bu = {"name": "bu", "users": {"curve": "fixed", "ceiling": 100}}
    if unit_activity is not None:
        bu["activity"] = unit_activity
    return make([chat(models={"api": "deepseek/deepseek-chat"})], activity=activity, business_units=[bu])


def test_engines_price_a_workload_over_its_business_units_profile():
    """Same volume (every day a full one), business_hours vs nightly_batch hours: the expected spend
    and the Monte Carlo's session cost scale by (1 - s/2), s the off-peak share; a business unit's
    own activity wins over the scenario's."""
    from sim.catalog.prices import PriceBook
    from sim.expected.forecast import run_expected
    from sim.mc.tables import API_COMP, build_tables

    flat_week = [1.0] * 7
    day = _scenario({"preset": "business_hours", "weekly": flat_week})
    night = _scenario({"preset": "nightly_batch"})
    own = _scenario({"preset": "business_hours", "weekly": flat_week}, {"preset": "nightly_batch"})
    ratio = (1 - 0.5 * CHAT_OFF["nightly_batch"]) / (1 - 0.5 * CHAT_OFF["business_hours"])
    spend = {k: run_expected(sc).total() for k, sc in (("day", day), ("night", night), ("own", own))}
    assert spend["night"] / spend["day"] == pytest.approx(ratio, rel=1e-9)
    assert spend["own"] == pytest.approx(spend["night"], rel=1e-12)
    cost = API_COMP.index("cost")
    per_session = {}
    for k, sc in (("day", day), ("night", night)):
        t = build_tables(sc, {}, PriceBook(sc.price_date, sc.prices.overrides))
        per_session[k] = t.api[0, 0, 0, 0, cost]
    assert per_session["night"] / per_session["day"] == pytest.approx(ratio, rel=1e-9)


# ---- service tiers ------------------------------------------------------------------------------
TIER_CASES = [  # model, tier, input (all of it), cached, output
    ("openai/gpt-5", "flex", 20_000, 8000, 3000),
    ("openai/gpt-5", "priority", 20_000, 8000, 3000),
    ("openai/gpt-5-nano", "flex", 5000, 0, 500),
    ("openai/gpt-4o", "priority", 3000, 1024, 400),
    ("openai/o3", "fast", 4000, 2000, 6000),
    ("openai/gpt-4.1", "default", 2000, 0, 200),
    ("google/gemini-3.8-flash-tts", "priority", 1000, 0, 5000),
]


@pytest.mark.parametrize("model, tier, inp, cached, out", TIER_CASES)
def test_service_tier_equals_calc_price(model, tier, inp, cached, out):
    from genai_prices import Usage, calc_price

    provider, name = model.split("/", 1)
    want = calc_price(Usage(input_tokens=inp, cache_read_tokens=cached, output_tokens=out), name,
                      provider_id=provider, genai_request_timestamp=dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc),
                      price_context={"service_tier": tier})
    got = _calc(model, "--service-tier", tier, inp=inp, cached=cached, out=out)
    assert got["service_tier"] == tier and got["tier_factor"] is None
    assert got["cost_per_request"] == pytest.approx(float(want.total_price), rel=1e-9, abs=1e-12)
    std = _calc(model, inp=inp, cached=cached, out=out)
    assert std["service_tier"] is None
    if tier == "default":
        assert got["cost_per_request"] == std["cost_per_request"]
    else:
        assert got["cost_per_request"] != std["cost_per_request"]
        assert any(n.startswith(f"service tier '{tier}'") for n in got["notes"])


def test_gpt5_flex_by_hand():
    # gpt-5 flex: $0.625 input, $0.0625 cached, $5 output per MTok (half of 1.25 / 0.125 / 10)
    got = _calc("openai/gpt-5", "--service-tier", "flex", inp=20_000, cached=8000, out=3000)
    assert got["cost_per_request"] == pytest.approx((12_000 * 0.625 + 8000 * 0.0625 + 3000 * 5) / 1e6, rel=1e-12)


@pytest.mark.parametrize("model, tier, tiers", [
    ("anthropic/claude-sonnet-4-5", "priority", "its tiers: none"),
    ("openai/gpt-4o", "flex", "its tiers: default, fast, priority"),
    ("azure/gpt-4o", "priority", "its tiers: none"),  # found through the fallback: no variants applied
    ("deepseek/deepseek-chat", "flex", "its tiers: none"),
])
def test_a_tier_the_library_lacks_is_refused(model, tier, tiers, capsys):
    argv = ["estimate", "--model", model, "--input-tokens", "10", "--output-tokens", "1", "--requests-per-month",
            "5", "--price-date", DATE, "--service-tier", tier]
    m = refusal(argv, capsys, "usage")[0]
    assert m.startswith("tokensim: --service-tier: ") and f"has no {tier!r} tier" in m and tiers in m
    assert "--tier-factor" in m


def test_tier_factor_where_the_library_has_no_tier():
    """Vertex Priority PayGo 1.8 x (pricing-ecosystem.md §3.2) for a model without the library tier."""
    got = _calc("google/gemini-2.5-pro", "--service-tier", "priority", "--tier-factor", "1.8")
    std = _calc("google/gemini-2.5-pro")
    assert got["cost_per_request"] == pytest.approx(1.8 * std["cost_per_request"], rel=1e-12)
    assert got["service_tier"] == "priority" and got["tier_factor"] == 1.8
    assert any("1.8 × standard assumed (--tier-factor)" in w for w in got["warnings"])
    lib = _calc("openai/gpt-5", "--service-tier", "flex", "--tier-factor", "0.7")
    assert lib["tier_factor"] is None and any("--tier-factor ignored" in w for w in lib["warnings"])
    given = _run(["estimate", "--price-in", "2", "--price-out", "8", "--input-tokens", "1000", "--output-tokens", "100",
                  "--requests-per-month", "1", "--service-tier", "priority", "--tier-factor", "2"])
    assert given["cost_per_request"] == pytest.approx(2 * (1000 * 2 + 100 * 8) / 1e6) and given["tier_factor"] == 2


@pytest.mark.parametrize("extra, text", [
    (["--tier-factor", "2"], "--tier-factor is for --service-tier"),
    (["--service-tier", "flex", "--batch"], "give one"),
    (["--utc-offset", "3"], "--utc-offset is for --activity"),
    (["--activity", "weekends"], "--activity must be one of business_hours, always_on, nightly_batch, servegen"),
    (["--activity", "always_on", "--utc-offset", "15"], "--utc-offset must be a whole number from -12 to 14"),
    (["--service-tier", "  "], "--service-tier must name a tier"),
])
def test_flag_refusals(extra, text, capsys):
    argv = ["estimate", "--model", "openai/gpt-5", "--input-tokens", "10", "--output-tokens", "1",
            "--requests-per-month", "5", "--price-date", DATE, *extra]
    assert text in refusal(argv, capsys, "usage")[0]
