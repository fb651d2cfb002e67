"""Round trip through every export format the readers take (issue 11): the engine simulates a known
workload, each path's daily volume is written as that format, read back (``formats.read``, the
format auto-detected), turned into the daily series ``tokensim calibrate`` fits
(``calibrate.volume_series``) and fitted (``fit.fit_series``); the fit's central 90 % posterior
interval must hold the true persistence, trend and day σ in about 90 % of the paths.

The workload is that of ``tests/test_calibrate_fit.py`` (persistence 0.5, day CV 0.15, growth
0.004 a day, 59 days, 10⁹ requests a day so the engine's Poisson noise, 3·10⁻⁵, is negligible).
Every format carries the same whole numbers n = round(2.5·10⁻⁷ · requests): about 250 requests
a day, so a file of one row per request stays small. The scaling moves only the level; the rounding
adds a relative error of sd about 0.29/250 = 1.2·10⁻³ (variance 1.3·10⁻⁶, 6·10⁻⁵ of the day shock's
ln(1 + 0.15²) = 0.022), so persistence, trend and σ are still those simulated.

Request rows are spread evenly through each day (the first after midnight), so their file's first
and last days are partial and the reader leaves them missing; the series fitted is days 2..58 of
the simulation (57 days) in every format, and the other formats are written for those days only.

Formats and what they count:

- requests: generic request rows (CSV, one row per request), generic periods (Parquet, one row a
  day), OpenAI Usage API completions JSON (pages of 30 one-day buckets; read together with a Costs
  API JSON, whose cost rows must not enter the volume);
- tokens (no request counts, so ``volume_series`` fits tokens): Anthropic usage report JSON (JSON
  lines of pages), FOCUS 1.2 CSV (one row per token meter a day, plus a non-AI row the reader must
  leave out) and FOCUS 1.2 Parquet (typed timestamps and numbers, nulls where empty). Every writer
  puts 800 tokens per request (input, cached, cache-write and output parts disjoint as each format
  counts them), so the token series is n · 800 / unit: the requests times a constant, and the true
  persistence, trend and σ of log tokens are those of log requests.

Coverage thresholds: with n paths the share of intervals holding the truth has standard error
√(0.9·0.1/n); the check is coverage ≥ 0.9 − 3·√(0.09/n): 0.758 for 40 paths (≥ 31 of 40), 0.699 for
20 (≥ 14 of 20); P(Binomial(40, 0.9) ≤ 30) = 0.005 and P(Binomial(20, 0.9) ≤ 13) = 0.002 if the
intervals are right. Against bands that are merely wide, φ's interval must also be narrower than
0.6 of the prior's range. The two formats with the most reading logic (request rows summed per hour
with partial days; FOCUS meters) use 40 paths, the others the first 20 (time: about 80 ms a fit).
All formats read the same numbers of the same paths, so their coverages are one experiment, not
six; what differs is the reading, which ``test_series_are_what_was_written`` and
``test_formats_agree_on_each_path`` check exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.calibrate import volume_series
from sim.calibrate.fit import PHI_GRID, fit_series
from sim.calibrate.formats import read
from sim.calibrate.usage import merge
from sim.demand.daily import day_sigma
from tests.test_calibrate_fit import CV, DAYS as SIM_DAYS, G, PHI, _simulated as simulated_fit_workload

SCALE = 2.5e-7  # requests written per request simulated: ~250 a day
START = pd.Timestamp("2027-01-01", tz="UTC")
FIT = slice(1, SIM_DAYS - 1)  # the days every format yields (request rows: first and last day partial)
IN, CACHED, WRITE, OUT = 600, 150, 30, 200  # tokens per request: whole prompt, its cached and cache-write parts, output
TOKENS = IN + OUT
MODEL = "gpt-4.1-mini-2025-04-14"

# format written -> (format detected, quantity fitted, paths)
FORMATS = {
    "generic-requests-csv": ("generic", "requests", 40),
    "generic-periods-parquet": ("generic", "requests", 20),
    "openai-json": ("openai", "requests", 20),
    "anthropic-json": ("anthropic", "tokens", 20),
    "focus-csv": ("focus", "tokens", 40),
    "focus-parquet": ("focus", "tokens", 20),
}
# tokens per request in each column of the periods read (disjoint: input is the fresh input)
_DISJOINT = {"input_tokens": IN - CACHED - WRITE, "cached_tokens": CACHED, "cache_write_tokens": WRITE,
             "output_tokens": OUT}
_SPLIT = {f: _DISJOINT for f in FORMATS} | {  # the completions API has no cache writes: they are fresh input
    "openai-json": {"input_tokens": IN - CACHED, "cached_tokens": CACHED, "output_tokens": OUT}}
SHARED = min(n for *_, n in FORMATS.values())  # paths every format reads


def _simulated() -> np.ndarray:
    """(PATHS, SIM_DAYS) daily requests of the engine: the workload of tests/test_calibrate_fit.py."""
    return simulated_fit_workload()


# ---- writers: one path's daily counts n (one a day from simulated day FIT.start) in each format
def _days(k: int, first: int = 0) -> pd.DatetimeIndex:
    """k days from simulated day ``first`` (0: START)."""
    return pd.date_range(START + pd.Timedelta(days=first), periods=k, freq="D")


def _request_rows_csv(f: Path, n: np.ndarray) -> None:
    """One row per request (every simulated day), evenly spread through its day: the first at
    half a spacing after midnight, so the file's first and last days are partial."""
    n = n.astype(np.int64)
    day = np.repeat(np.arange(n.size), n)
    k = np.arange(day.size) - np.repeat(np.cumsum(n) - n, n)  # index of the request within its day
    ms = np.round((day + (k + 0.5) / n[day]) * 86_400_000).astype(np.int64)
    t = np.datetime_as_string(np.datetime64("2027-01-01T00:00:00", "ms") + ms.astype("timedelta64[ms]"), unit="ms")
    pd.DataFrame({"timestamp": np.char.add(t, "Z"), "input_tokens": IN, "output_tokens": OUT,
                  "cached_tokens": CACHED, "cache_write_tokens": WRITE, "model": MODEL}).to_csv(f, index=False)


def _periods_parquet(f: Path, n: np.ndarray) -> None:
    d = _days(n.size, FIT.start)
    pd.DataFrame({"period_start": d, "period_end": d + pd.Timedelta(days=1), "requests": n.astype(np.int64),
                  "input_tokens": (IN - CACHED - WRITE) * n, "cached_tokens": CACHED * n,
                  "cache_write_tokens": WRITE * n, "output_tokens": OUT * n, "model": MODEL,
                  "cost": 1e-6 * n * (0.4 * IN + 1.6 * OUT), "currency": "USD"}).to_parquet(f, index=False)


def _openai_json(usage: Path, costs: Path, n: np.ndarray) -> None:
    """Usage API completions (pages of 30 one-day buckets; input_tokens includes the cached ones) and
    the Costs API (one page, a line item per direction)."""
    t0 = [int(d.timestamp()) for d in _days(n.size, FIT.start)]
    buckets, cost_buckets = [], []
    for t, x in zip(t0, n.astype(int).tolist()):
        buckets.append({"object": "bucket", "start_time": t, "end_time": t + 86400, "results": [
            {"object": "organization.usage.completions.result", "input_tokens": IN * x,
             "input_cached_tokens": CACHED * x, "output_tokens": OUT * x, "input_audio_tokens": 0,
             "output_audio_tokens": 0, "num_model_requests": x, "model": MODEL, "project_id": "proj_a",
             "user_id": None, "api_key_id": None, "batch": None, "service_tier": None}]})
        cost_buckets.append({"object": "bucket", "start_time": t, "end_time": t + 86400, "results": [
            {"object": "organization.costs.result", "amount": {"value": round(v * x * 1e-6, 6), "currency": "usd"},
             "line_item": f"gpt-4.1-mini, {item}", "project_id": "proj_a"}
            for item, v in (("input", 0.4 * (IN - CACHED)), ("cached input", 0.1 * CACHED),
                            ("output", 1.6 * OUT))]})
    pages = [{"object": "page", "data": buckets[i:i + 30], "has_more": i + 30 < len(buckets),
              "next_page": f"page_{i // 30 + 2}" if i + 30 < len(buckets) else None}
             for i in range(0, len(buckets), 30)]
    usage.write_text(json.dumps(pages, indent=1))
    costs.write_text(json.dumps({"object": "page", "data": cost_buckets, "has_more": False, "next_page": None},
                                indent=1))


def _anthropic_json(f: Path, n: np.ndarray) -> None:
    """Messages usage report: JSON lines, one page of 7 one-day buckets a line; input counts disjoint."""
    d = _days(n.size + 1, FIT.start).strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    buckets = [{"starting_at": d[i], "ending_at": d[i + 1], "results": [
        {"uncached_input_tokens": (IN - CACHED - WRITE) * x,
         "cache_creation": {"ephemeral_5m_input_tokens": 2 * WRITE * x // 3, "ephemeral_1h_input_tokens": WRITE * x // 3},
         "cache_read_input_tokens": CACHED * x, "output_tokens": OUT * x, "server_tool_use": {"web_search_requests": 0},
         "model": "claude-sonnet-4-5-20250929", "workspace_id": "wrkspc_1", "api_key_id": None,
         "service_tier": "standard", "context_window": "0-200k"}]} for i, x in enumerate(n.astype(int).tolist())]
    lines = [json.dumps({"data": buckets[i:i + 7], "has_more": i + 7 < len(buckets),
                         "next_page": f"p{i // 7 + 1}" if i + 7 < len(buckets) else None})
             for i in range(0, len(buckets), 7)]
    f.write_text("\n".join(lines) + "\n")


def _focus_frame(n: np.ndarray) -> pd.DataFrame:
    """FOCUS 1.2 rows as Amazon Bedrock bills them: one Usage row a day per token meter (the input
    meters disjoint), and an EC2 row a day that is not AI usage."""
    rows = []
    meters = (("input-tokens", IN - CACHED - WRITE, 3.0), ("output-tokens", OUT, 15.0),
              ("cache-read-input-token-count", CACHED, 0.3), ("cache-write-input-token-count", WRITE, 3.75))
    for d, x in zip(_days(n.size, FIT.start), n.astype(int).tolist()):
        base = {"BillingAccountId": "aws-1", "SubAccountId": "acct-42", "ChargePeriodStart": d,
                "ChargePeriodEnd": d + pd.Timedelta(days=1), "ChargeCategory": "Usage", "ChargeClass": None,
                "ProviderName": "AWS", "SkuId": None, "SkuMeter": None, "SkuPriceDetails": None,
                "BillingCurrency": "USD", "x_SkuMeterName": None}
        for meter, per, price in meters:
            q = per * x
            rows.append(base | {"ServiceCategory": "AI and Machine Learning", "ServiceSubcategory": "Generative AI",
                                "ServiceName": "Amazon Bedrock", "ConsumedQuantity": float(q), "ConsumedUnit": "Tokens",
                                "PricingQuantity": q / 1000, "PricingUnit": "1000 Tokens",
                                "ListCost": q * price / 1e6, "EffectiveCost": q * price / 1e6,
                                "BilledCost": q * price / 1e6, "x_UsageType": f"USE1-Claude3.5Sonnet-{meter}"})
        rows.append(base | {"ServiceCategory": "Compute", "ServiceSubcategory": "Virtual Machines",
                            "ServiceName": "Amazon Elastic Compute Cloud", "ConsumedQuantity": 24.0,
                            "ConsumedUnit": "Hrs", "PricingQuantity": 24.0, "PricingUnit": "Hrs", "ListCost": 2.3,
                            "EffectiveCost": 2.3, "BilledCost": 2.3, "x_UsageType": "USE1-BoxUsage:m5.large"})
    return pd.DataFrame(rows)


def _focus_csv(f: Path, n: np.ndarray) -> None:
    df = _focus_frame(n)
    for c in ("ChargePeriodStart", "ChargePeriodEnd"):
        df[c] = df[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df.to_csv(f, index=False)


def _focus_parquet(f: Path, n: np.ndarray) -> None:
    _focus_frame(n).to_parquet(f, index=False)


def _write_and_read(fmt: str, d: Path, p: int, n_sim: np.ndarray):
    """Write path p (its counts on every simulated day) as ``fmt`` and read it back."""
    n = n_sim[FIT]
    if fmt == "generic-requests-csv":
        f = d / f"req{p}.csv"
        _request_rows_csv(f, n_sim)  # every simulated day: the reader drops the first and last
        return read(f)
    if fmt == "generic-periods-parquet":
        _periods_parquet(f := d / f"periods{p}.parquet", n)
        return read(f)
    if fmt == "openai-json":
        _openai_json(fu := d / f"openai_usage{p}.json", fc := d / f"openai_costs{p}.json", n)
        return merge([read(fu), read(fc)])
    if fmt == "anthropic-json":
        _anthropic_json(f := d / f"anthropic{p}.jsonl", n)
        return read(f)
    if fmt == "focus-csv":
        _focus_csv(f := d / f"focus{p}.csv", n)
        return read(f)
    _focus_parquet(f := d / f"focus{p}.parquet", n)
    return read(f)


# ---- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def counts() -> np.ndarray:
    """(PATHS, SIM_DAYS) whole requests a day written in every format."""
    return np.round(SCALE * _simulated())


@pytest.fixture(scope="module")
def fitted(counts, tmp_path_factory):
    """fitted(fmt) -> list over its paths of (usage, series, fit), computed once per format."""
    cache: dict[str, list] = {}

    def get(fmt: str) -> list:
        if fmt not in cache:
            d = tmp_path_factory.mktemp(fmt)
            out = []
            for p in range(FORMATS[fmt][2]):
                u = _write_and_read(fmt, d, p, counts[p])
                (s,) = volume_series(u, None)
                out.append((u, s, fit_series(s.values, seed=p)))
            cache[fmt] = out
        return cache[fmt]

    return get


def _coverage(fits, get, truth) -> float:
    return float(np.mean([np.quantile(get(f), 0.05) <= truth <= np.quantile(get(f), 0.95) for f in fits]))


# ---- tests ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_series_are_what_was_written(fmt, fitted, counts):
    """The detected format, the quantity fitted, and the daily series exactly: the written requests
    (or n · 800 tokens in units of s.unit) on days 2..58, nothing on the partial days; the token
    parts land in their own columns (disjoint), and cost rows or non-AI rows add no volume."""
    detected, quantity, _ = FORMATS[fmt]
    want_days = _days(SIM_DAYS)[FIT]
    for p, (u, s, _) in enumerate(fitted(fmt)):
        n = counts[p, FIT]
        assert set(u.formats) == {detected}
        assert s.quantity == quantity
        v = s.values.dropna()
        assert v.index.equals(want_days)
        if quantity == "requests":
            np.testing.assert_array_equal(v.to_numpy(), n)
        else:
            np.testing.assert_allclose(v.to_numpy() * s.unit, TOKENS * n, rtol=1e-12)
        per = u.periods
        for col, k in _SPLIT[fmt].items():
            written = k * (counts[p].sum() if fmt == "generic-requests-csv" else n.sum())
            assert per[col].sum() == pytest.approx(written, rel=1e-12), col
        if fmt == "openai-json":
            assert u.currency == "USD" and per["cost"].sum() > 0


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip_recovers_persistence_trend_and_noise(fmt, fitted):
    fits = [f for *_, f in fitted(fmt)]
    lo = 0.9 - 3 * math.sqrt(0.9 * 0.1 / len(fits))
    cov = {"phi": _coverage(fits, lambda f: f.phi, PHI), "trend": _coverage(fits, lambda f: f.trend, G),
           "sigma": _coverage(fits, lambda f: f.sigma_u, day_sigma(CV))}
    assert all(c >= lo for c in cov.values()), (fmt, len(fits), lo, cov)
    width = np.mean([np.quantile(f.phi, 0.95) - np.quantile(f.phi, 0.05) for f in fits])
    assert width < 0.6 * (PHI_GRID[-1] - PHI_GRID[0])


def test_formats_agree_on_each_path(fitted):
    """On each shared path the requests formats read the very same numbers, so their fits (same seed)
    give the same posterior mean of φ; the token formats read those numbers times 800 / unit, a
    constant the level absorbs, so their exact posterior p(φ | y) on the grid is the same as well."""
    req = [f for f, (_, q, _) in FORMATS.items() if q == "requests"]
    tok = [f for f, (_, q, _) in FORMATS.items() if q == "tokens"]
    for p in range(SHARED):
        ref = fitted(req[0])[p][2]
        for fmt in req[1:]:
            assert np.mean(fitted(fmt)[p][2].phi) == pytest.approx(np.mean(ref.phi), abs=1e-12), (fmt, p)
        for fmt in tok:
            f = fitted(fmt)[p][2]
            np.testing.assert_allclose(f.phi_posterior, ref.phi_posterior, rtol=0, atol=1e-12,
                                       err_msg=f"{fmt} path {p}")
            assert np.mean(f.phi) == pytest.approx(np.mean(ref.phi), abs=1e-9), (fmt, p)
