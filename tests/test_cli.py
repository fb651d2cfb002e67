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


# ---- the package: one registry, no import cycle, both entry points ------------------------------
def test_cli_package_has_no_import_cycle():
    import ast

    pkg = ROOT / "sim" / "cli"
    mods = {f.stem for f in pkg.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for f in pkg.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(a.name for a in node.names)
        graph[f.stem] = deps & mods
    seen: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(m: str, stack: list[str]) -> None:
        seen[m] = 1
        for d in graph[m]:
            assert seen.get(d) != 1, f"import cycle: {' -> '.join(stack + [m, d])}"
            if d not in seen:
                visit(d, stack + [m])
        seen[m] = 2

    for m in graph:
        if m not in seen:
            visit(m, [])
    assert graph["common"] == set()  # the bottom: imports nothing of the package
    assert not (ROOT / "sim" / "cli.py").exists() and not (ROOT / "sim" / "cli_analysis.py").exists()


def test_registry_lists_every_command_once():
    from sim.cli import COMMANDS, build_parser
    from sim.cli.registry import parsers

    names = [c.name for c in COMMANDS]
    assert names == ["validate", "estimate", "des", "run", "all", "budget", "commit", "tco", "sensitivity", "compare",
                     "report", "calibrate", "backtest", "size", "models"]
    for sp in parsers(build_parser())[1:]:
        assert "--json" in sp._option_string_actions and "--help" in sp._option_string_actions


def test_entry_points_agree():
    exe = Path(sys.executable).parent / "tokensim"
    a = run("--version", "--json")
    assert a.returncode == 0 and one_json(a.stdout) == {"ok": True, "name": "tokensim", "version": "0.1.0"}
    if exe.exists():
        b = subprocess.run([str(exe), "--version", "--json"], capture_output=True, text=True, timeout=120)
        assert b.returncode == 0 and b.stdout == a.stdout


def test_interrupt_is_one_json_object(monkeypatch, capsys):
    import sim.cli.scenario_cmds as cmds
    from sim.cli import main

    def stop(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(cmds, "load_checked", stop)
    assert main(["validate", "x.yaml", "--json"]) == 130
    out, err = capsys.readouterr()
    assert one_json(out) == {"ok": False, "error": "interrupted", "problems": ["tokensim: interrupted"]}
    assert "interrupted" in err and "Traceback" not in err
