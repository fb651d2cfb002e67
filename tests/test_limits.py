"""Every budget of ``sim.scenario.limits`` is enforced before anything is allocated, with one located
message and exit 2 — and a file just inside each budget still loads (so the limit is where the
README says it is, not lower)."""

from __future__ import annotations

import json
import pytest
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


from sim.cli import main
from sim import limits

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
    assert "workloads[0].turns.file: empirical distribution: 'turns.csv' is a FIFO, not a regular file" in refused(f, capsys)


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


# ---- found by review: aliases, bytes, compressed and special files, whole-number fields ----------------------
def test_a_recursive_alias_and_an_alias_chain_are_refused(tmp_path, capsys):
    f = tmp_path / "r.yaml"
    f.write_text("x: &r [1, *r]\n")
    assert "a recursive alias has no end" in refused(f, capsys)
    # 60 anchors of 25 levels each, every one nesting the previous: 1,500 levels once expanded
    lines = ["a0: &a0 {k: 1}"]
    for i in range(1, 61):
        inner = f"*a{i - 1}"
        for _ in range(25):
            inner = "{k: " + inner + "}"
        lines.append(f"a{i}: &a{i} {inner}")
    f.write_text("\n".join(lines) + "\n")
    assert f"nesting deeper than {limits.MAX_YAML_DEPTH} levels once aliases (*name) are expanded" in refused(f, capsys)


def test_characters_after_alias_expansion_are_bounded(tmp_path, capsys):
    """11 KB that expands to a 9,999-character text 180,000 times (1.8e9 characters) took 2 GB and 16 s."""
    f = tmp_path / "chars.yaml"
    f.write_text("t: &t " + "x" * 9_999 + "\n" + "l1: &l1 [" + ", ".join(["*t"] * 100) + "]\n"
                 + "l2: &l2 [" + ", ".join(["*l1"] * 100) + "]\n" + "horizon: {months: [" + ", ".join(["*l2"] * 18) + "]}\n")
    t = time.perf_counter()
    assert f"more than {limits.MAX_YAML_CHARS:,} characters of values once aliases" in refused(f, capsys)
    assert time.perf_counter() - t < 5.0


def _with_sample(tmp_path: Path, file_yaml: str) -> Path:
    f = tmp_path / "s.yaml"
    f.write_text(scenario().replace("models: {api", f"turns: {{dist: empirical, file: {file_yaml}, column: x}}, "
                                                    "models: {api"))
    return f


def test_empirical_samples_are_read_only_through_the_guarded_reader(tmp_path, capsys):
    import gzip

    os.mkfifo(tmp_path / "fifo.csv")
    # YAML bytes would be coerced to text past the loader's file checks, then opened: refused as a type
    assert "turns.file: binary values (!!binary) are not allowed" in refused(
        _with_sample(tmp_path, '!!binary "Zmlmby5jc3Y="'), capsys)
    # a compressed sample may unpack to far more than its size (214 KB held 220 MB)
    (tmp_path / "s.csv.gz").write_bytes(gzip.compress(b"x\n" + b"1\n" * 1000))
    assert "'s.csv.gz' is compressed (.gz); give the CSV file itself" in refused(_with_sample(tmp_path, "s.csv.gz"), capsys)
    (tmp_path / "inf.csv").write_text("x\n1\ninf\n")
    assert "holds 1 values that are not finite" in refused(_with_sample(tmp_path, "inf.csv"), capsys)
    # a strategy that points a field at a FIFO
    f = tmp_path / "st.yaml"
    (tmp_path / "ok.csv").write_text("x\n1\n2\n")
    f.write_text(scenario() + "strategies:\n  - name: s\n    set: {workloads.w0.turns: {dist: empirical, "
                 "file: fifo.csv, column: x}}\n")
    assert "'fifo.csv' is a FIFO, not a regular file" in refused(f, capsys)


def test_month_fields_are_bounded(tmp_path, capsys):
    f = tmp_path / "m.yaml"
    owned = ("pools:\n  owned: {enabled: true, gpu: h200, purchases: [{month: %s, gpus: 8}]}\n")
    base = scenario().replace("models: {api: openai/gpt-4o-mini}", "models: {api: openai/gpt-4o-mini, owned: llama-3.3-70b}, "
                              "allowed_pools: [api, owned]")
    f.write_text(base + owned % limits.MAX_MONTH)
    assert accepted(f, capsys)["ok"]
    f.write_text(base + owned % (10**20))
    assert f"pools.owned.purchases[0].month: input should be less than or equal to {limits.MAX_MONTH}" in refused(f, capsys)


@pytest.mark.parametrize("key, top, what", [
    ("business_units[0].users.ceiling", limits.MAX_USERS_PER_UNIT, "a number of users"),
    ("workloads[0].output_tokens", limits.MAX_TOKENS, "a token count"),
    ("pools.owned.capex_per_gpu", limits.MAX_MONEY, "an amount of money"),
    ("pools.api.price_trend.commodity_per_year", limits.MAX_TREND, "a yearly change"),
])
def test_physical_ceilings(tmp_path, capsys, key, top, what):
    from sim.scenario import load_scenario_text, set_path

    sc = load_scenario_text(scenario())
    set_path(sc, key.replace("[0]", ".0").replace("business_units.0", "business_units.support")
             .replace("workloads.0", "workloads.w0"), top)  # at the ceiling: accepted
    with pytest.raises(Exception) as exc:
        set_path(sc, key.replace("[0]", ".0").replace("business_units.0", "business_units.support")
                 .replace("workloads.0", "workloads.w0"), top * 10)
    assert what in str(exc.value) and f"{top:g}" in str(exc.value)


def test_users_below_one_are_refused(tmp_path, capsys):
    f = tmp_path / "u.yaml"
    f.write_text(scenario().replace("ceiling: 200", "ceiling: 0.001"))
    assert "a number of users is 0 or at least 1, got 0.001" in refused(f, capsys)


def test_strategies_times_workloads(tmp_path, capsys):
    n = limits.MAX_STRATEGY_WORKLOADS // limits.MAX_WORKLOADS + 1  # 41 strategies of 500 workloads
    values = ", ".join(str(1 + i) for i in range(n))
    f = tmp_path / "sw.yaml"
    f.write_text(scenario(limits.MAX_WORKLOADS, f"sweeps:\n  - field: workloads.w0.turns\n    values: [{values}]\n"))
    assert f"at most {limits.MAX_STRATEGY_WORKLOADS:,} strategy-workloads are allowed" in refused(f, capsys)


def test_a_run_that_would_not_fit_is_refused_before_it_starts(tmp_path):
    """bytes_per_path is the results' real size (every data variable but the sampled inputs), so the
    refusals below are arithmetic on what a run would hold, not guesses."""
    from sim.mc.runner import NETCDF_BYTES, RunError, bytes_per_path, run
    from sim.scenario import load_scenario_text

    sc = load_scenario_text(scenario(3, "strategies:\n  - {name: a, set: {workloads.w0.turns: 2}}\n"))
    ds, _ = run(sc, paths=3)
    held = sum(v.nbytes for k, v in ds.data_vars.items() if not k.startswith("input:"))
    assert held == 3 * bytes_per_path(sc)
    n = NETCDF_BYTES // bytes_per_path(sc) + 1
    with pytest.raises(RunError, match="stream them with --zarr"):
        run(sc, paths=n, out=tmp_path)
    with pytest.raises(RunError, match="use --block-size"):
        run(sc, paths=limits.MAX_PATHS, block_size=limits.MAX_PATHS, out=tmp_path, zarr=True)
    assert not (tmp_path / "results.nc").exists()


def test_a_streamed_block_counts_the_block_being_written():
    """A streamed run holds four copies of a block (the strategies' arrays, the assembled block, the
    kernel's outputs, and the block the writer thread is appending); a run without the writer three."""
    from sim.mc.runner import BLOCK_BYTES, RunError, bytes_per_path, check_size
    from sim.scenario import load_scenario_text

    sc = load_scenario_text(scenario(3, ""))
    per = bytes_per_path(sc)
    b = int(BLOCK_BYTES / (3.5 * per))  # 3 copies fit, 4 do not
    assert 3 * per * b <= BLOCK_BYTES < 4 * per * b
    check_size(sc, b, b, netcdf=False, writer=False)
    with pytest.raises(RunError, match=f"use --block-size {BLOCK_BYTES // (4 * per):,} or fewer"):
        check_size(sc, b, b, netcdf=False, writer=True)


def test_a_results_fifo_is_refused_not_read(tmp_path, capsys):
    os.mkfifo(tmp_path / "r.nc")
    code = main(["budget", str(tmp_path / "r.nc"), "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and "is not a regular file (a FIFO, device or socket)" in json.loads(out)["problems"][0]


def test_a_table_set_is_replaced_whole_or_not_at_all(tmp_path, capsys):
    chat = str(Path(__file__).resolve().parents[1] / "scenarios" / "examples" / "single_chat.yaml")
    assert main(["estimate", chat, "--out", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in tmp_path.glob("estimate*")}
    (tmp_path / "estimate_lines.csv").unlink()
    (tmp_path / "estimate_lines.csv").mkdir()  # a directory in the way of one table
    code = main(["estimate", chat, "--out", str(tmp_path), "--json"])
    out, _ = capsys.readouterr()
    assert code == 2 and json.loads(out)["error"] == "output"
    after = {p.name: p.read_bytes() for p in tmp_path.glob("estimate*") if p.is_file()}
    assert after == {k: v for k, v in before.items() if k != "estimate_lines.csv"}  # nothing replaced
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_numbers_too_small_to_be_anything_but_zero_are_refused(tmp_path, capsys):
    """The fuzz found documents_per_user_per_day = 2.2e-308: 4e-307 dollars in the expected-value
    engine, 0.0 in the Monte Carlo (float64 underflow). A non-zero magnitude below 1e-12 is refused."""
    f = tmp_path / "tiny.yaml"
    f.write_text(scenario().replace("sessions_per_user_per_day: 15", "sessions_per_user_per_day: 2.2e-308"))
    assert f"must be 0 or at least {limits.MIN_MAGNITUDE:g} in size, got 2.2e-308" in refused(f, capsys)
    f.write_text(scenario().replace("sessions_per_user_per_day: 15",
                                    "sessions_per_user_per_day: {dist: uniform, low: 0, high: 1.0e-300}"))
    assert "a uniform distribution within ±1e-300" in refused(f, capsys)
    f.write_text(scenario().replace("sessions_per_user_per_day: 15", f"sessions_per_user_per_day: {limits.MIN_MAGNITUDE}"))
    assert accepted(f, capsys)["ok"]


def test_found_by_the_long_fuzz(tmp_path, capsys):
    """A workload named by YAML bytes ("fifo.csv") broke every key path (KeyError in run); a name with
    a dot is refused, and binary values anywhere."""
    f = tmp_path / "b.yaml"
    f.write_text(scenario().replace("name: w0", 'name: !!binary "Zmlmby5jc3Y="'))
    assert "workloads[0].name: binary values (!!binary) are not allowed" in refused(f, capsys)
    f.write_text(scenario().replace("name: w0", "name: fifo.csv"))
    assert "workloads[0].name: name 'fifo.csv' contains '.'" in refused(f, capsys)
