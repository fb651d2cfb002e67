"""The command line: one JSON object with --json, atomic files, exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def one_json(stdout: str) -> dict:
    obj = json.loads(stdout)  # raises if there is anything but one JSON document
    assert isinstance(obj, dict)
    return obj


def test_calculator_with_catalog_price():
    # gpt-4o: $2.50 in, $10 out per MTok (pricing-ecosystem.md §1.3): 1e6 × (1000 × 2.5 + 500 × 10)/1e6 = $7,500
    r = run("estimate", "--model", "openai/gpt-4o", "--input-tokens", "1000", "--output-tokens", "500",
            "--requests-per-month", "1000000", "--price-date", "2026-11-22", "--json")
    assert r.returncode == 0, r.stderr
    assert one_json(r.stdout)["monthly_cost"] == pytest.approx(7500.0)


def test_calculator_with_own_prices_needs_no_catalog():
    r = run("estimate", "--model", "in-house/llm", "--input-tokens", "2000", "--output-tokens", "100",
            "--requests-per-month", "50000", "--price-in", "0.4", "--price-out", "1.6", "--json")
    assert r.returncode == 0, r.stderr
    assert one_json(r.stdout)["monthly_cost"] == pytest.approx(50000 * (2000 * 0.4 + 100 * 1.6) / 1e6)


def test_calculator_unknown_model_suggests():
    r = run("estimate", "--model", "openai/gpt-4-o", "--input-tokens", "1", "--output-tokens", "1",
            "--requests-per-month", "1", "--json")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    obj = one_json(r.stdout)
    assert obj["ok"] is False and "openai/gpt-4o" in " ".join(obj["problems"])


def test_bad_flag_is_status_2_with_json():
    r = run("estimate", "--input-tokens", "abc", "--json")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert one_json(r.stdout)["ok"] is False


def test_estimate_default_scenario_writes_tables(tmp_path):
    r = run("estimate", str(ROOT / "scenarios" / "default.yaml"), "--out", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    obj = one_json(r.stdout)
    assert obj["price_library"].startswith("genai-prices ")
    assert len(obj["monthly_spend"]) == 36
    assert obj["total_spend"] == pytest.approx(sum(obj["monthly_spend"].values()))
    assert obj["total_spend"] == pytest.approx(sum(obj["spend_by_pool"].values()))
    assert obj["total_spend"] == pytest.approx(sum(obj["spend_by_business_unit"].values()))
    names = {p.name for p in tmp_path.iterdir()}
    assert {"estimate_monthly.csv", "estimate_lines.csv", "estimate.json"} <= names
    assert not [n for n in names if n.endswith(".tmp")]


def test_estimate_text_and_strategy(tmp_path):
    r = run("estimate", str(ROOT / "scenarios" / "default.yaml"), "--out", str(tmp_path),
            "--strategy", "agents_on_owned_h200")
    assert r.returncode == 0, r.stderr
    assert "Expected monthly spend" in r.stdout and "2029-12" in r.stdout
    r = run("estimate", str(ROOT / "scenarios" / "default.yaml"), "--strategy", "nope", "--json")
    assert r.returncode == 2 and "pay_as_you_go" in one_json(r.stdout)["problems"][0]


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("estimate", str(ROOT / "scenarios" / "default.yaml"), "--out", str(blocker / "sub"), "--json")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot create output directory" in one_json(r.stdout)["problems"][0]


def test_validate_ok_json():
    r = run("validate", str(ROOT / "scenarios" / "default.yaml"), "--json")
    assert r.returncode == 0
    obj = one_json(r.stdout)
    assert obj["ok"] and "pools.api.price_trend.commodity_per_year" in obj["uncertain_fields"]


def test_des_summary_json(tmp_path):
    r = run("des", str(ROOT / "scenarios" / "default.yaml"), "--days", "1", "--users", "300", "--out", str(tmp_path),
            "--json")
    assert r.returncode == 0, r.stderr
    obj = one_json(r.stdout)
    for key in ("calls", "alpha", "cache_hit_rate", "ttft_p95_s", "goodput_share", "retries", "throttled_calls"):
        assert key in obj
    assert obj["calls"] > 0 and obj["alpha"] >= 1.0 and 0 < obj["cache_hit_rate"] < 1
    assert (tmp_path / "sessions_support_chat.parquet").exists() and (tmp_path / "requests.parquet").exists()
    r = run("des", str(ROOT / "scenarios" / "default.yaml"), "--days", "0", "--json")
    assert r.returncode == 2 and "Traceback" not in r.stderr
