"""Every budget of ``sim.scenario.limits`` is enforced before anything is allocated, with one located
message and exit 2 — and a file just inside each budget still loads (so the limit is where the
README says it is, not lower)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


from sim.cli import main
from sim.scenario import limits

GOOD = """name: r
horizon: {start: 2027-01, months: 12}
prices: {date: 2026-11-01}
business_units:
  - name: support
    users: {curve: fixed, ceiling: 200}
workloads:
"""
WORKLOAD = ("  - {{name: w{i}, kind: chat, business_unit: support, sessions_per_user_per_day: 15, "
            "models: {{api: openai/gpt-4o-mini}}}}\n")


def scenario(workloads: int = 1, extra: str = "") -> str:
    return GOOD + "".join(WORKLOAD.format(i=i) for i in range(workloads)) + extra


def refused(path: Path | str, capsys, command: str = "validate") -> str:
    code = main([command, str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err, (code, out, err)
    (line,) = out.splitlines()
    obj = json.loads(line)
    assert obj["ok"] is False and obj["error"] == "scenario"
    (msg,) = obj["problems"]
    assert msg.startswith(str(path)) and len(msg) < 400, msg
    return msg


def accepted(path: Path, capsys) -> dict:
    code = main(["validate", str(path), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0, out
    return json.loads(out)


def test_file_size(tmp_path, capsys):
    f = tmp_path / "big.yaml"
    body = scenario()
    f.write_text(body + "#" * (limits.MAX_SCENARIO_BYTES - len(body.encode())))  # exactly at the limit
    assert accepted(f, capsys)["ok"]
    f.write_text(body + "#" * (limits.MAX_SCENARIO_BYTES - len(body.encode()) + 1))
    assert f"may be at most {limits.MAX_SCENARIO_BYTES:,} bytes" in refused(f, capsys)


def test_twenty_thousand_workloads_refused_fast(tmp_path, capsys):
    """D07: 20,000 workloads took 13-19 s to validate and > 4 GB to estimate; now refused at once."""
    f = tmp_path / "D07.yaml"
    f.write_text(scenario(20_000))
    t = time.perf_counter()
    msg = refused(f, capsys, "estimate")
    assert time.perf_counter() - t < 2.0  # a size check, not a parse (a derivation: fstat only)
    assert "may be at most" in msg


def test_workload_count(tmp_path, capsys):
    f = tmp_path / "w.yaml"
    f.write_text(scenario(limits.MAX_WORKLOADS))
    assert accepted(f, capsys)["workloads"] == limits.MAX_WORKLOADS
    f.write_text(scenario(limits.MAX_WORKLOADS + 1))
    msg = refused(f, capsys)
    assert f":7: workloads: list should have at most {limits.MAX_WORKLOADS} items, not {limits.MAX_WORKLOADS + 1}" in msg


def test_strategy_count_includes_sweeps(tmp_path, capsys):
    n = limits.MAX_STRATEGIES
    f = tmp_path / "s.yaml"
    values = ", ".join(str(1 + i) for i in range(n))
    f.write_text(scenario(extra=f"sweeps:\n  - field: workloads.w0.turns\n    values: [{values}]\n"))
    assert len(accepted(f, capsys)["strategies"]) == n
    f.write_text(scenario(extra=f"strategies:\n  - name: one\n    set: {{workloads.w0.turns: 2}}\n"
                          f"sweeps:\n  - field: workloads.w0.turns\n    values: [{values}]\n"))
    assert f"sweeps: {n + 1:,} strategies (strategies plus sweep values); at most {n} are allowed" in refused(f, capsys)


def test_nesting_depth(tmp_path, capsys):
    f = tmp_path / "deep.yaml"
    ok = limits.MAX_YAML_DEPTH - 1  # the top-level mapping is one level
    f.write_text(scenario(extra="description_list: " + "[" * ok + "]" * ok + "\n"))
    msg = refused(f, capsys)  # parsed fine; refused as an unknown key, not for its depth
    assert "unknown key 'description_list'" in msg
    f.write_text(scenario(extra="description_list: " + "[" * (ok + 1) + "]" * (ok + 1) + "\n"))
    assert f"nesting deeper than {limits.MAX_YAML_DEPTH} levels" in refused(f, capsys)


def test_alias_expansion_budget(tmp_path, capsys):
    f = tmp_path / "bomb.yaml"
    # 10 x 10 x ... : level k holds 10**k scalars; 6 levels = 1,111,110 values > 200,000
    lines = ["x0: &a0 [l, l, l, l, l, l, l, l, l, l]"]
    lines += [f"x{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]" for k in range(1, 6)]
    f.write_text("\n".join(lines) + "\n")
    t = time.perf_counter()
    msg = refused(f, capsys)
    assert time.perf_counter() - t < 5.0
    assert f"more than {limits.MAX_YAML_NODES:,} values once aliases" in msg


def test_list_and_text_length(tmp_path, capsys):
    f = tmp_path / "l.yaml"
    f.write_text(scenario(extra="description: [" + ", ".join(["1"] * (limits.MAX_LIST_ITEMS + 1)) + "]\n"))
    assert f"description: a list of {limits.MAX_LIST_ITEMS + 1:,} items; at most" in refused(f, capsys)
    f.write_text(scenario(extra="description: " + "x" * limits.MAX_TEXT_CHARS + "\n"))
    assert accepted(f, capsys)["ok"]
    f.write_text(scenario(extra="description: " + "x" * (limits.MAX_TEXT_CHARS + 1) + "\n"))
    assert f"description: a text of {limits.MAX_TEXT_CHARS + 1:,} characters" in refused(f, capsys)


def test_fifo_device_and_directory_are_refused_without_reading(tmp_path, capsys):
    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)  # opening a FIFO for reading blocks until a writer comes: it must not be read
    assert "is a FIFO, not a regular file" in refused(fifo, capsys)
    assert "is a device or socket, not a regular file" in refused("/dev/zero", capsys)
    assert "is a directory" in refused(tmp_path, capsys)


def test_empirical_sample_must_be_a_regular_file(tmp_path, capsys):
    os.mkfifo(tmp_path / "turns.csv")
    f = tmp_path / "s.yaml"
    f.write_text(scenario().replace("models: {api", "turns: {dist: empirical, file: turns.csv, column: x}, models: {api"))
    assert "workloads[0].turns.file: empirical distribution: 'turns.csv' is not a regular file" in refused(f, capsys)


def test_limits_hold_in_a_memory_capped_process(tmp_path):
    """The alias bomb and 20,000 workloads, in a process limited to 1.5 GB of address space (the
    interpreter with numpy, scipy, pandas and pydantic imported maps ~0.9 GB): refused, not killed."""
    bomb = tmp_path / "bomb.yaml"
    lines = ["x0: &a0 [l, l, l, l, l, l, l, l, l, l]"]
    lines += [f"x{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]" for k in range(1, 9)]
    bomb.write_text("\n".join(lines) + "\n")

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    r = subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(bomb), "--json"], capture_output=True,
                       text=True, timeout=60, preexec_fn=cap, cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 2, r.stderr
    assert "values once aliases" in json.loads(r.stdout)["problems"][0]
