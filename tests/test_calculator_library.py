"""The one-line calculator against the price library's own ``calc_price`` (genai-prices).

``tokensim estimate --model ...`` prices through our rate cards; genai-prices prices the same
usage with its own code (input tokens include cache reads and writes, as the providers report
them; per-request fees included; the batch variant through its price context). They must agree
to the cent's millionth on every case: cache reads and writes, long-context tiers, batch, fees.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json

import pytest

from sim.catalog.rates import _BATCH_CONTEXT
from sim.cli import main
from tests.conftest import refusal

WHEN = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
CASES = [  # ref, input (all of it), cached, cache writes, output, batch
    ("anthropic/claude-sonnet-4-5", 1000, 200, 100, 500, False),
    ("anthropic/claude-sonnet-4-5", 250_000, 100_000, 0, 2000, False),  # above the 200k cliff
    ("anthropic/claude-sonnet-4-5", 3000, 0, 0, 800, True),
    ("anthropic/claude-haiku-4-5", 12_000, 8000, 2000, 300, False),
    ("anthropic/claude-opus-4-1", 5000, 0, 5000, 1000, False),
    ("openai/gpt-4o", 2000, 1024, 0, 400, False),
    ("openai/gpt-4o", 2000, 0, 0, 400, True),
    ("openai/gpt-4.1-mini", 50_000, 40_000, 0, 1500, False),
    ("openai/gpt-4.1", 900, 0, 0, 90, True),
    ("openai/o3", 4000, 2000, 0, 6000, False),
    ("google/gemini-2.5-pro", 150_000, 0, 0, 4000, False),
    ("google/gemini-2.5-pro", 300_000, 100_000, 0, 4000, False),  # above its 200k tier
    ("google/gemini-2.5-flash", 8000, 4000, 0, 1000, False),
    ("google/gemini-2.5-flash-lite", 20_000, 0, 0, 200, False),
    ("perplexity/sonar", 1000, 0, 0, 500, False),  # 12 USD per 1,000 requests beside the tokens
    ("x-ai/grok-4-1-fast-reasoning", 30_000, 10_000, 0, 2000, False),
    ("deepseek/deepseek-v3.1-terminus", 6000, 3000, 0, 700, False),  # deepseek-chat's time-of-day prices are
    # averaged over an activity profile: against calc_price in tests/test_calculator_tiers_tod.py
    ("mistral/mistral-large-latest", 7000, 0, 0, 900, False),
    ("openai/gpt-4o-mini", 1500, 0, 0, 300, True),
    ("anthropic/claude-3-5-haiku", 2500, 500, 500, 250, False),
]


def _estimate(ref, inp, cached, write, out, batch) -> dict:
    argv = ["estimate", "--model", ref, "--input-tokens", str(inp), "--cached-tokens", str(cached),
            "--cache-write-tokens", str(write), "--output-tokens", str(out), "--requests-per-month", "1000",
            "--price-date", "2026-11-01", "--json"] + (["--batch"] if batch else [])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv) == 0, buf.getvalue()
    return json.loads(buf.getvalue())


@pytest.mark.parametrize("ref, inp, cached, write, out, batch", CASES)
def test_calculator_equals_calc_price(ref, inp, cached, write, out, batch):
    from genai_prices import Usage, calc_price

    provider, model = ref.split("/", 1)
    want = calc_price(Usage(input_tokens=inp, cache_read_tokens=cached, cache_write_tokens=write, output_tokens=out),
                      model, provider_id=provider, genai_request_timestamp=WHEN,
                      price_context=_BATCH_CONTEXT if batch else None)
    got = _estimate(ref, inp, cached, write, out, batch)
    assert got["cost_per_request"] == pytest.approx(float(want.total_price), rel=1e-9, abs=1e-12)
    assert got["monthly_cost"] == pytest.approx(1000 * float(want.total_price), rel=1e-9)


def test_users_per_day_and_the_calculator_refusals(capsys):
    """100 users × 20 a calendar day = 60,875 requests a month (365.25/12 days); parts of the input
    larger than it, a batch price the library lacks, and mixed request flags are refused."""
    argv = ["estimate", "--model", "openai/gpt-4o", "--input-tokens", "1000", "--output-tokens", "100",
            "--price-date", "2026-11-01"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv + ["--users", "100", "--per-user-per-day", "20", "--json"]) == 0
    assert json.loads(buf.getvalue())["requests_per_month"] == pytest.approx(100 * 20 * 365.25 / 12)
    m = refusal(argv + ["--requests-per-month", "5", "--cached-tokens", "800", "--cache-write-tokens", "300"], capsys,
                "usage")
    assert "cannot exceed it" in m[0]
    m = refusal(["estimate", "--model", "perplexity/sonar", "--input-tokens", "10", "--output-tokens", "1",
                 "--requests-per-month", "5", "--batch", "--price-date", "2026-11-01"], capsys, "usage")
    assert "no batch price" in m[0] and "--batch-factor" in m[0]
    m = refusal(argv + ["--requests-per-month", "5", "--users", "3"], capsys, "usage")
    assert "not both" in m[0]
