"""``tokensim all``: the four steps of ``make run`` in one process give the four commands' files and objects."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import cli_json, refusal

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(ROOT / "scenarios" / "examples" / "single_chat.yaml")


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_all_writes_what_the_four_commands_write(tmp_path):
    import shutil

    out = tmp_path / "out"  # the same directory for both (the report names it), one after the other
    four = {
        "validate": cli_json(["validate", SCENARIO]),
        "estimate": cli_json(["estimate", SCENARIO, "--out", str(out)]),
        "run": cli_json(["run", SCENARIO, "--out", str(out), "--paths", "30", "--seed", "7", "--quiet"]),
        "report": cli_json(["report", str(out), "--scenario", SCENARIO, "-o", str(out / "report.html")]),
    }
    fb = _files(out)
    shutil.rmtree(out)
    obj = cli_json(["all", SCENARIO, "--out", str(out), "--paths", "30", "--seed", "7", "--quiet"])
    fa = _files(out)
    assert obj["ok"] is True and obj["command"] == "all" and obj["out"] == str(out)
    assert list(obj["steps"]) == ["validate", "estimate", "run", "report"]
    assert sorted(fa) == sorted(fb) and "report.html" in fa and any(k.startswith("results.zarr") for k in fa)
    assert [k for k in fa if fa[k] != fb[k]] == []  # every file, the report and the results store's chunks included

    def timeless(o):
        if isinstance(o, dict):
            return {k: timeless(v) for k, v in o.items() if k != "seconds"}
        return [timeless(v) for v in o] if isinstance(o, list) else o

    for name, o in four.items():
        assert timeless(obj["steps"][name]) == timeless(o), name
    assert obj["steps"]["run"]["paths"] == 30 and obj["steps"]["run"]["seed"] == 7


def test_all_text_names_each_step(tmp_path, capsys):
    from sim.cli import main

    assert main(["all", SCENARIO, "--out", str(tmp_path), "--paths", "10", "--quiet"]) == 0
    out = capsys.readouterr().out
    steps = [line.split()[2] for line in out.splitlines() if line.startswith("$ tokensim ")]
    assert steps == ["validate", "estimate", "run", "report"]
    assert "OK — scenario" in out and "Wrote" in out and (tmp_path / "report.html").is_file()


def test_all_refuses_before_any_step(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    text = Path(SCENARIO).read_text()
    bad.write_text(text.replace("months: 12", "months: 0").replace("ceiling: 200", "ceiling: -200"))
    want = refusal(["validate", str(bad)], capsys, "scenario", problems=2)
    assert refusal(["all", str(bad), "--out", str(tmp_path / "o")], capsys, "scenario", problems=2) == want
    assert all("bad.yaml" in m for m in want)
    msgs = refusal(["all", SCENARIO, "--out", str(tmp_path / "o"), "--strategy", "nope"], capsys, "usage")
    assert "unknown strategy 'nope'" in msgs[0]
    assert not (tmp_path / "o" / "report.html").exists() and not (tmp_path / "o" / "results.zarr").exists()


def test_all_json_is_one_object(tmp_path):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "sim.cli", "all", SCENARIO, "--out", str(tmp_path), "--paths", "5",
                        "--json"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["steps"]["report"]["report"] == str(tmp_path / "report.html")


def test_a_failing_step_is_named(tmp_path, capsys):
    """A step refused after the scenario loaded (here: another process holds the output directory) ends
    the job with exit 2 and one JSON object naming the step; the steps before it stand."""
    import subprocess
    import sys

    out = tmp_path / "busy"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c",
                               "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
                               "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)",
                               str(out / ".tokensim.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        from sim.cli import main

        assert main(["all", SCENARIO, "--out", str(out), "--paths", "5", "--json"]) == 2
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1
        obj = json.loads(lines[0])
        assert obj["ok"] is False and obj["error"] == "output" and obj["step"] == "estimate", obj
        assert str(out) in obj["problems"][0]
    finally:
        holder.kill()
        holder.wait()


def test_a_signal_in_the_run_step_stops_the_job_and_keeps_the_steps_before(tmp_path):
    """SIGINT while ``all`` is in its run step: exit 130, one JSON object; the estimate's files stay (that
    step was done), and neither results nor a report are put in place. (Before ``interrupt.reopen``,
    the estimate's commit left signals ignored for the rest of the job: it ran on to exit 0.)"""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "sim.cli", "all", SCENARIO, "--out", str(out), "--paths", "40000",
                          "--json", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staging = out / ".results.staging.zarr" / ".zattrs"
    t0 = time.time()
    while not staging.exists() and p.poll() is None and time.time() - t0 < 300:
        time.sleep(0.005)
    assert p.poll() is None, p.communicate()
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 130, stderr
    lines = stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["error"] == "interrupted", stdout
    assert (out / "estimate.json").is_file()  # the step before stays
    assert not (out / "results.zarr").exists() and not (out / "report.html").exists()


def test_a_signal_after_a_step_committed_stops_the_job_before_the_next():
    import signal

    import pytest

    from sim.io import interrupt

    restore = interrupt.install()
    try:
        interrupt.committed()
        interrupt.handler(signal.SIGINT, None)  # ignored by the step whose outputs are in place
        with pytest.raises(interrupt.Interrupted):
            interrupt.reopen()  # ... and raised before the next one
        interrupt.committed()
        interrupt.reopen()  # no signal: the next step runs, and a signal interrupts it again
        with pytest.raises(interrupt.Interrupted):
            interrupt.handler(signal.SIGTERM, None)
    finally:
        restore()
