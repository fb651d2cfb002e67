"""Signals and concurrent runs (issue 9, items 4 and 5).

- SIGINT or SIGTERM anywhere: "tokensim: interrupted" on stderr (and one JSON object with --json),
  exit status 130, no results in place and no temporary file left; the finished blocks stay in
  the staging store ``.results.staging.zarr`` for --resume. Real signals to a real ``tokensim run`` in its kernel; in process, a
  real signal sent from inside the writers (h5netcdf's close, a Zarr append, the store's last step).
- SIGKILL leaves temporary files; the next run into the directory removes them (only those of dead
  processes) and --resume still gives the bytes of an uninterrupted run.
- One writer per output directory: a second run, des or estimate on a directory a run is writing
  is refused at once (exit 2, error kind "output", naming the directory and the holder's pid); the
  first run completes.
- A results file records the paths it holds: ``paths``, ``path_start``, ``path_stop`` and a path
  coordinate that is exactly 0 … paths - 1 in every strategy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.cli import main
from sim.io import interrupt, outdir
from sim.io.files import stale_temp
from sim.mc.runner import STAGING

ROOT = Path(__file__).resolve().parents[1]
CHAT = str(ROOT / "scenarios" / "examples" / "single_chat.yaml")
BATCH = str(ROOT / "scenarios" / "examples" / "batch_commit.yaml")
INTERRUPTED = {"ok": False, "error": "interrupted", "problems": ["tokensim: interrupted"]}


def _exe() -> list[str]:
    exe = Path(sys.executable).parent / "tokensim"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


def _start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(_exe() + argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _blocks_done(out: Path) -> int:
    """Blocks the run's staging store holds (its record, written after each append)."""
    try:
        return int(json.loads((out / STAGING / ".zattrs").read_text()).get("blocks_done", 0))
    except (OSError, ValueError):
        return 0


def _wait_for_block(out: Path, proc: subprocess.Popen, timeout: float = 120.0) -> int:
    """Wait until the run has appended its first block (it is then in the kernel of the next)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        found = _blocks_done(out)
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"the run ended before writing a block: {proc.returncode} {proc.communicate()}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no block file within the timeout")


def _temps(out: Path) -> list[str]:
    """Temporary files or stores anywhere under ``out``."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.name.endswith(".tmp"))


def _one_json(text: str) -> dict:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return json.loads(lines[0])


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# ---- real signals in the kernel ---------------------------------------------------------------------------
@pytest.mark.parametrize("sig, fmt", [(signal.SIGINT, "nc"), (signal.SIGTERM, "zarr")], ids=["SIGINT-nc", "SIGTERM-zarr"])
def test_a_signal_in_the_kernel_exits_130_and_leaves_nothing(tmp_path, sig, fmt):
    out = tmp_path / "out"
    argv = ["run", CHAT, "--paths", "6000", "--block-size", "250", "--out", str(out), "--json", "--quiet"]
    proc = _start(argv + (["--zarr"] if fmt == "zarr" else ["--netcdf"]))
    _wait_for_block(out, proc)
    time.sleep(0.05)  # into the next block's kernel
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert _one_json(stdout) == INTERRUPTED
    assert "tokensim: interrupted" in stderr
    assert "Traceback" not in stderr and "internal error" not in stderr and "SystemError" not in stderr
    assert not (out / "results.nc").exists() and not (out / "results.zarr").exists()
    assert _temps(out) == []  # no temporary file, no partial store
    done = _blocks_done(out)
    assert 1 <= done < 24  # the finished blocks stay for --resume
    with xr.open_zarr(out / STAGING, consolidated=False) as ds:  # whole blocks only
        assert ds.sizes["path"] == 250 * done and list(ds["path"].values) == list(range(250 * done))


# ---- real signals inside the writers (in process) -------------------------------------------------------------
def _signal_in(monkeypatch, target, name: str, when) -> list[int]:
    """Patch ``target.name`` to send this process SIGINT from inside it when ``when(*args)`` holds."""
    original = getattr(target, name)
    sent: list[int] = []

    def patched(*args, **kw):
        if not sent and when(*args, **kw):
            sent.append(1)
            os.kill(os.getpid(), signal.SIGINT)  # handled right here, in the middle of the write
        return original(*args, **kw)

    monkeypatch.setattr(target, name, patched)
    return sent


def _is_final_nc(f, *a, **kw) -> bool:
    return Path(f.filename).name.startswith(".results.nc.")


@pytest.mark.parametrize("where", ["netcdf-close", "zarr-append", "zarr-commit", "summary"])
def test_a_signal_during_the_write_exits_130_and_leaves_nothing(tmp_path, monkeypatch, capsys, where):
    import h5netcdf
    import zarr

    if where == "netcdf-close":  # h5py releasing the final file: where the interrupt used to be swallowed
        sent = _signal_in(monkeypatch, h5netcdf.File, "close", _is_final_nc)
    elif where == "zarr-append":  # the second block appended to the streamed store
        sent = _signal_in(monkeypatch, xr.Dataset, "to_zarr", lambda self, *a, **kw: "append_dim" in kw)
    elif where == "zarr-commit":  # the store's last step before it is put in place
        sent = _signal_in(monkeypatch, zarr, "consolidate_metadata", lambda *a, **kw: True)
    else:  # the printed summary is worked out before the results are put in place
        from sim.analysis import common

        sent = _signal_in(monkeypatch, common, "total_spend", lambda *a, **kw: True)
    out = tmp_path / "out"
    argv = ["run", CHAT, "--paths", "40", "--block-size", "20", "--out", str(out), "--json"]
    handler = signal.getsignal(signal.SIGINT)
    code = main(argv + (["--zarr"] if where.startswith("zarr") else ["--netcdf"]))
    stdout, stderr = capsys.readouterr()
    assert sent, "the signal was not sent"
    assert code == 130, stdout + stderr
    assert _one_json(stdout) == INTERRUPTED and "tokensim: interrupted" in stderr
    assert "Exception ignored" not in stderr and "Traceback" not in stderr
    assert not (out / "results.nc").exists() and not (out / "results.zarr").exists()
    assert _temps(out) == []
    assert _blocks_done(out) >= 1  # kept for --resume
    assert signal.getsignal(signal.SIGINT) is handler  # main restored the handler it found
    assert not outdir.held(out)  # and released the directory


@pytest.mark.parametrize("fmt", ["nc", "zarr"])
def test_a_signal_once_the_results_are_in_place_changes_nothing(tmp_path, monkeypatch, capsys, fmt):
    """Exit status 130 means nothing was put in place; once the results are, the run is done (exit 0)."""
    from sim.mc import runner

    if fmt == "nc":  # the staging store is removed once results.nc is in place
        sent = _signal_in(monkeypatch, runner, "remove",
                          lambda p, *a, **kw: Path(p).name == STAGING and (Path(p).parent / "results.nc").exists())
    else:  # the store renamed into place is opened for the caller
        sent = _signal_in(monkeypatch, runner, "open_zarr_results", lambda p, *a, **kw: Path(p).name == "results.zarr")
    code = main(["run", CHAT, "--paths", "40", "--block-size", "20", "--out", str(tmp_path), "--json"]
                + (["--zarr"] if fmt == "zarr" else ["--netcdf"]))
    stdout, stderr = capsys.readouterr()
    assert sent and code == 0, stdout + stderr
    obj = _one_json(stdout)
    assert obj["ok"] is True and Path(obj["results"]).exists() and _temps(tmp_path) == []
    assert "interrupted" not in stderr


def test_an_interrupt_numba_turned_into_a_system_error_is_reported_as_interrupted(tmp_path, monkeypatch, capsys):
    from sim.mc import runner

    def kernel(prep, paths):  # what numba does with a KeyboardInterrupt raised as a jitted call returns
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("CPUDispatcher(<function run_kernel>) returned a result with an exception set")

    monkeypatch.setattr(runner, "run_block", kernel)
    code = main(["run", CHAT, "--paths", "10", "--out", str(tmp_path), "--json"])
    stdout, stderr = capsys.readouterr()
    assert code == 130 and _one_json(stdout) == INTERRUPTED and "internal" not in stderr


def test_deferred_sections_hold_one_signal_and_a_second_stops_at_once():
    before = signal.getsignal(signal.SIGINT)
    restore = interrupt.install()
    try:
        with pytest.raises(interrupt.Interrupted):
            with interrupt.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                reached = True  # the signal is held: the step goes on
        assert reached
        with pytest.raises(interrupt.Interrupted):
            with interrupt.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)  # the impatient second Ctrl-C
                pytest.fail("a second signal must stop the step")
        with pytest.raises(interrupt.Interrupted):
            os.kill(os.getpid(), signal.SIGINT)  # outside a section: at once
            for _ in range(1000):
                pass
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is before and not interrupt.pending()
    assert not interrupt.caused_by_interrupt(SystemError("a real internal error"))


# ---- SIGKILL: stale temporary files, then an exact resume -------------------------------------------------------
def test_stale_temps_of_a_killed_run_are_removed_and_resume_is_exact(tmp_path, capsys):
    argv = ["run", CHAT, "--paths", "1000", "--block-size", "125", "--json", "--quiet", "--netcdf"]
    ref = tmp_path / "ref"
    assert main(argv + ["--out", str(ref)]) == 0
    capsys.readouterr()

    out = tmp_path / "out"
    proc = _start(argv + ["--out", str(out)])
    _wait_for_block(out, proc)
    proc.kill()  # SIGKILL: no handler runs, the lock goes with the process
    proc.communicate(timeout=60)
    assert not (out / "results.nc").exists()
    assert 1 <= _blocks_done(out) < 8
    (out / ".chunks").mkdir()  # the block folder of earlier versions

    dead = _dead_pid()
    stale = [out / f".results.nc.tokensim-{dead}-abcd1234.tmp",  # a killed run's final write
             out / ".results.nc.k3j4h5g6.tmp",  # the same, named by an earlier version
             out / ".chunks" / f".x-00007.nc.tokensim-{dead}-q1w2e3r4.tmp",  # an earlier version's block write
             out / ".chunks" / ".whatever.abcdefgh.tmp"]
    for f in stale:
        f.write_bytes(b"half a file")
    stale_dirs = [out / ".results.zarr.tmp", out / f".results.zarr.tokensim-{dead}-x1y2z3w4.tmp"]
    for d in stale_dirs:
        (d / "spend").mkdir(parents=True)
        (d / "spend" / "0.0").write_bytes(b"x")
    keep = [out / f".results.nc.tokensim-{os.getpid()}-live0001.tmp",  # a live process's: not ours to remove
            out / ".notes.tmp", out / ".my.backup.tmp", out / "notes.txt"]  # the user's
    for f in keep:
        f.write_bytes(b"keep me")

    code = main(argv + ["--out", str(out), "--resume"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stdout + stderr
    assert [p for p in stale + stale_dirs if p.exists()] == []
    assert all(p.read_bytes() == b"keep me" for p in keep)
    assert _one_json(stdout)["paths"] == 1000
    assert (out / "results.nc").read_bytes() == (ref / "results.nc").read_bytes()  # resume is exact
    assert not (out / ".chunks").exists() and not (out / STAGING).exists()


def test_stale_temp_names():
    dead = _dead_pid()
    assert stale_temp(f".results.nc.tokensim-{dead}-abc_1234.tmp")
    assert stale_temp(f".estimate.csv.tokensim-{dead}-abcd1234.tmp")
    assert not stale_temp(f".estimate.csv.tokensim-{os.getpid()}-abcd1234.tmp")  # alive
    assert stale_temp(".results.zarr.tmp") and stale_temp(".results.nc.abcdefgh.tmp")
    assert not stale_temp(".estimate.csv.abcdefgh.tmp")  # an earlier version's, outside .chunks: kept
    assert stale_temp(".x-00001.nc.abcdefgh.tmp", owned=True)
    assert not stale_temp(".notes.tmp") and not stale_temp("results.nc") and not stale_temp(".tokensim.lock")


# ---- one writer per output directory ------------------------------------------------------------------------
def test_a_second_writer_is_refused_while_the_first_completes(tmp_path, capsys):
    out = tmp_path / "out"
    first = _start(["run", CHAT, "--paths", "4000", "--block-size", "250", "--out", str(out), "--json", "--quiet",
                    "--netcdf"])
    try:
        _wait_for_block(out, first)  # it holds the lock
        # the first run keeps appending: its temporaries (ours .tmp, zarr-python's .partial, renamed into
        # place within the write) come and go
        before = {p.name for p in out.rglob("*") if not p.name.endswith((".tmp", ".partial"))}
        for argv in (["run", CHAT, "--paths", "50", "--zarr", "--out", str(out)],
                     ["run", CHAT, "--paths", "50", "--out", str(out), "--resume"],
                     ["des", CHAT, "--out", str(out)],
                     ["estimate", CHAT, "--out", str(out)]):
            t0 = time.time()
            code = main(argv + ["--json"])
            stdout, stderr = capsys.readouterr()
            assert code == 2, (argv, stdout, stderr)
            obj = _one_json(stdout)
            assert obj["ok"] is False and obj["error"] == "output", obj
            msg = obj["problems"][0]
            assert str(out) in msg and f"pid {first.pid}" in msg and "in use by another tokensim process" in msg
            assert time.time() - t0 < 10  # refused at once, not after a run
        assert first.poll() is None, "the first run should still be running"
        assert before <= {p.name for p in out.rglob("*")}  # nothing of the first run's was touched
    finally:
        stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    obj = _one_json(stdout)
    assert obj["ok"] is True and obj["paths"] == 4000
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        assert ds.attrs["paths"] == 4000 and np.array_equal(ds["path"].values, np.arange(4000))
    assert _temps(out) == [] and not (out / "results.zarr").exists() and not (out / STAGING).exists()
    # the lock went with the first run: the directory is free again
    with outdir.locked(out):
        pass


def test_a_lock_held_by_another_process_refuses_the_library_and_the_report_too(tmp_path, capsys):
    from sim.io.files import OutputError
    from sim.report.html import write_report

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from sim.io import outdir; "
                               f"outdir.acquire({str(tmp_path)!r}); print('held', flush=True); time.sleep(60)"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match=f"pid {holder.pid}"):
            write_report(tmp_path / "r.html", "<html></html>", {})
        assert not (tmp_path / "r.html").exists()
        from sim.cli import load_checked
        from sim.mc.runner import run

        with pytest.raises(outdir.OutputBusy):
            run(load_checked(CHAT), paths=5, out=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    write_report(tmp_path / "r.html", "<html></html>", {})  # free once the holder is gone
    assert (tmp_path / "r.html").exists() and _temps(tmp_path) == []


# ---- a results store records the paths it holds -----------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["nc", "zarr"])
def test_results_record_exactly_the_paths_they_hold(tmp_path, capsys, fmt):
    code = main(["run", BATCH, "--paths", "30", "--block-size", "8", "--out", str(tmp_path), "--json"]
                + (["--zarr"] if fmt == "zarr" else ["--netcdf"]))
    stdout, _ = capsys.readouterr()
    assert code == 0, stdout
    p = Path(_one_json(stdout)["results"])
    ds = xr.open_zarr(p).load() if fmt == "zarr" else xr.load_dataset(p, engine="h5netcdf")
    a = ds.attrs
    assert (a["paths"], a["path_start"], a["path_stop"]) == (30, 0, 30)
    assert a["strategies"].split(",") == [str(s) for s in ds["strategy"].values] and ds.sizes["strategy"] == 4
    assert np.array_equal(ds["path"].values, np.arange(30))
    for v in ds.data_vars:
        if "path" in ds[v].dims:
            assert ds[v].sizes["path"] == 30  # every strategy holds every path


def test_the_writer_refuses_paths_that_are_not_exactly_the_run():
    from sim.mc.runner import _check_paths

    _check_paths(np.arange(5), np.array(["a", "b"]), 5, ["a", "b"])
    for path in (np.arange(6), np.array([0, 1, 2, 3, 3]), np.array([1, 2, 3, 4, 5])):
        with pytest.raises(RuntimeError, match="nothing written"):
            _check_paths(path, np.array(["a", "b"]), 5, ["a", "b"])
    with pytest.raises(RuntimeError, match="strategies"):
        _check_paths(np.arange(5), np.array(["a"]), 5, ["a", "b"])


def test_a_set_of_files_that_cannot_all_be_replaced_names_the_one_that_failed(tmp_path):
    # the second target's backup name is taken, so it cannot be put in place: the first is rolled
    # back, and the message names the second, the one that failed
    from sim.io.files import OutputError, TEMP_SUFFIX, atomic_write, staged, temp_prefix

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("old a")
    b.write_text("old b")
    (tmp_path / f"{temp_prefix(b)}previous{TEMP_SUFFIX}").write_text("in the way")
    with pytest.raises(OutputError, match="b.csv"):
        with staged():
            atomic_write(a, lambda p: p.write_text("new a"))
            atomic_write(b, lambda p: p.write_text("new b"))
    assert a.read_text() == "old a" and b.read_text() == "old b"
