"""Every flag value is checked: a bad one exits 2 with one message naming the flag and what was
expected (never a traceback, never an internal error), and one JSON object on stdout with --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import COMMANDS, main
from tests.conftest import refusal
from sim.cli.common import MAX_PATHS, MAX_SEED

ROOT = Path(__file__).resolve().parents[1]
CHAT = str(ROOT / "scenarios" / "examples" / "single_chat.yaml")
BATCH = str(ROOT / "scenarios" / "examples" / "batch_commit.yaml")
OWNED = str(ROOT / "scenarios" / "examples" / "coding_agent_owned.yaml")
CALC = ["estimate", "--model", "openai/gpt-4o", "--input-tokens", "1", "--output-tokens", "1",
        "--requests-per-month", "1"]
BIG = str(2**70)

# (id, argv, what the one message must contain: the flag, then what was expected)
CASES = [
    ("price-date slashes", CALC + ["--price-date", "2026/11/01"], ["--price-date", "YYYY-MM-DD", "'2026/11/01'"]),
    ("price-date Feb 30", CALC + ["--price-date", "2026-02-30"], ["--price-date", "calendar date", "2026-02-30"]),
    ("input-tokens inf", CALC[:3] + ["--input-tokens", "inf"] + CALC[5:], ["--input-tokens", "finite"]),
    ("input-tokens abc", CALC[:3] + ["--input-tokens", "abc"] + CALC[5:], ["--input-tokens", "finite"]),
    ("requests overflow", CALC[:-1] + ["1e400"], ["--requests-per-month", "finite"]),
    ("price-in nan", ["estimate", "--input-tokens", "1", "--output-tokens", "1", "--requests-per-month", "1",
                      "--price-in", "nan", "--price-out", "1"], ["--price-in", "finite"]),
    ("price-out negative", ["estimate", "--input-tokens", "1", "--output-tokens", "1", "--requests-per-month", "1",
                            "--price-in", "1", "--price-out", "-1"], ["--price-out", ">= 0"]),
    ("des days nan", ["des", CHAT, "--days", "nan"], ["--days", "finite number > 0 and <= 366"]),
    ("des days inf", ["des", CHAT, "--days", "inf"], ["--days", "<= 366"]),
    ("des days negative", ["des", CHAT, "--days", "-1"], ["--days", "> 0"]),
    ("des days huge", ["des", CHAT, "--days", "1e9"], ["--days", "<= 366"]),
    ("des seed negative", ["des", CHAT, "--seed", "-1"], ["--seed", f"0 to {MAX_SEED}"]),
    ("des seed 2**64", ["des", CHAT, "--seed", str(2**64)], ["--seed", f"0 to {MAX_SEED}"]),
    ("des users huge", ["des", CHAT, "--users", BIG], ["--users", "up to 10000000"]),
    ("des users zero", ["des", CHAT, "--users", "0"], ["--users", "positive whole number"]),
    ("des month negative", ["des", CHAT, "--month", "-1"], ["--month", "0 to 239"]),
    ("des month past horizon", ["des", CHAT, "--month", "99"], ["--month", "0..11"]),
    ("run seed 2**64", ["run", CHAT, "--seed", str(2**64)], ["--seed", f"0 to {MAX_SEED}"]),
    ("run seed negative", ["run", CHAT, "--seed", "-1"], ["--seed", "whole number from 0"]),
    ("run paths 1e9", ["run", CHAT, "--paths", "1000000000"], ["--paths", f"up to {MAX_PATHS}", "scenario key paths"]),
    ("run paths zero", ["run", CHAT, "--paths", "0"], ["--paths", "positive"]),
    ("run paths fraction", ["run", CHAT, "--paths", "1.5"], ["--paths", "whole number"]),
    ("run paths nan", ["run", CHAT, "--paths", "nan"], ["--paths", "whole number"]),
    ("run block-size zero", ["run", CHAT, "--block-size", "0"], ["--block-size", "positive"]),
    ("run block-size huge", ["run", CHAT, "--block-size", BIG], ["--block-size", f"up to {MAX_PATHS}"]),
    ("run workers zero", ["run", CHAT, "--workers", "0"], ["--workers", "up to 1024"]),
    ("run workers huge", ["run", CHAT, "--workers", BIG], ["--workers", "up to 1024"]),
    ("run scheduler bogus", ["run", CHAT, "--scheduler", "bogus"], ["--scheduler", "HOST:PORT"]),
    ("run scheduler bad scheme", ["run", CHAT, "--scheduler", "http://h:8786"], ["--scheduler", "SCHEME"]),
    ("run scheduler bad port", ["run", CHAT, "--scheduler", "tcp://h:99999"], ["--scheduler", "PORT 1..65535"]),
    ("budget nan", ["budget", "r.nc", "--budget", "nan"], ["--budget", "finite"]),
    ("budget inf", ["budget", "r.nc", "--budget", "inf"], ["--budget", "finite"]),
    ("budget negative", ["budget", "r.nc", "--budget", "-5"], ["--budget", ">= 0"]),
    ("confidence nan", ["budget", "r.nc", "--confidence", "nan"], ["--confidence", "between 0 and 1"]),
    ("confidence 1.5", ["budget", "r.nc", "--confidence", "1.5"], ["--confidence", "between 0 and 1"]),
    ("period choice", ["budget", "r.nc", "--period", "decade"], ["--period", "invalid choice", "month, quarter"]),
    ("commit paths 1e9", ["commit", BATCH, "--paths", "1000000000"], ["--paths", f"up to {MAX_PATHS}"]),
    ("commit cvar nan", ["commit", BATCH, "--cvar", "nan"], ["--cvar", "between 0 and 1"]),
    ("commit threshold inf", ["commit", BATCH, "--threshold", "inf"], ["--threshold", "between 0 and 1"]),
    ("tco draws 2**70", ["tco", OWNED, "--draws", BIG], ["--draws", f"0 to {MAX_PATHS}", "scenario key paths"]),
    ("tco draws negative", ["tco", OWNED, "--draws", "-1"], ["--draws", "whole number from 0"]),
    ("tco month huge", ["tco", OWNED, "--month", BIG], ["--month", "0 to 239"]),
    ("tco paths 1e9", ["tco", OWNED, "--paths", "1000000000"], ["--paths", f"up to {MAX_PATHS}"]),
    ("tco purchase-months", ["tco", OWNED, "--purchase-months", "-3"], ["--purchase-months", "whole months"]),
    ("tco purchase-months words", ["tco", OWNED, "--purchase-months", "jan,feb"], ["--purchase-months", "0,6,12"]),
    ("sensitivity trajectories", ["sensitivity", BATCH, "--trajectories", BIG], ["--trajectories", "2 to 1000"]),
    ("sensitivity trajectories 1", ["sensitivity", BATCH, "--trajectories", "1"], ["--trajectories", "2 to 1000"]),
    ("sensitivity samples", ["sensitivity", BATCH, "--samples", BIG], ["--samples", "2 to 65536"]),
    ("sensitivity method", ["sensitivity", BATCH, "--method", "bogus"], ["--method", "invalid choice", "morris"]),
    ("compare paths 1e9", ["compare", CHAT, BATCH, "--paths", "1000000000"], ["--paths", f"up to {MAX_PATHS}"]),
    ("report budget nan", ["report", "r.nc", "-o", "r.html", "--budget", "nan"], ["--budget", "finite"]),
    ("report tco-paths huge", ["report", "r.nc", "-o", "r.html", "--tco-paths", BIG], ["--tco-paths", "0 to"]),
    ("report output suffix", ["report", "r.nc", "-o", "r.pdf"], ["-o/--output", ".html"]),
    ("unknown flag", ["run", CHAT, "--bogus"], ["unrecognized arguments: --bogus"]),
    ("missing positional", ["run"], ["tokensim run", "SCENARIO"]),
    ("unknown command", ["bogus"], ["COMMAND", "invalid choice"]),
]


@pytest.fixture
def blocker(tmp_path) -> Path:
    f = tmp_path / "a-file"
    f.write_text("x")
    return f


def path_cases(tmp: Path, blocker: Path) -> list[tuple[str, list[str], list[str], str]]:
    """(id, argv, fragments, error kind) of missing files, directories and unwritable outputs."""
    (tmp / "empty").mkdir()
    return [
        ("validate missing", ["validate", str(tmp / "nope.yaml")], ["nope.yaml: file not found"], "scenario"),
        ("run missing", ["run", str(tmp / "nope.yaml")], ["nope.yaml: file not found"], "scenario"),
        ("commit missing", ["commit", str(tmp / "nope.yaml")], ["nope.yaml: file not found"], "scenario"),
        ("des directory", ["des", str(tmp)], ["is a directory, expected a YAML file"], "scenario"),
        ("report results missing", ["report", str(tmp / "x.nc"), "-o", str(tmp / "r.html")],
         ["results file not found"], "usage"),
        ("budget missing", ["budget", str(tmp / "nope.nc")], ["results file not found"], "usage"),
        ("budget directory", ["budget", str(tmp / "empty")], ["directory without results.nc or results.zarr"], "usage"),
        ("budget not results", ["budget", str(blocker)], ["cannot read results file"], "usage"),
        ("run --out a file", ["run", CHAT, "--out", str(blocker)], ["--out", "writable directory", "is a file"],
         "usage"),
        ("des --out under a file", ["des", CHAT, "--out", str(blocker / "sub")],
         ["--out", "cannot create output directory", "is a file"], "usage"),
        ("estimate --out under a file", ["estimate", CHAT, "--out", str(blocker / "sub")], ["--out", "is a file"],
         "usage"),
        ("report -o a directory", ["report", str(tmp / "x.nc"), "-o", str(tmp)], ["-o/--output", "is a directory"],
         "usage"),
        ("report -o under a file", ["report", str(tmp / "x.nc"), "-o", str(blocker / "r.html")],
         ["-o/--output", "is a file"], "usage"),
    ]


def _check(argv: list[str], fragments: list[str], kind: str, capsys) -> str:
    (msg,) = refusal(argv, capsys, kind)  # one located message for one problem
    for f in fragments:
        assert f in msg, (f, msg)
    return msg


@pytest.mark.parametrize("argv, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_flag_value(argv, fragments, capsys):
    _check(argv, fragments, "usage", capsys)


@pytest.mark.parametrize("i", range(13))
def test_bad_path(i, tmp_path, blocker, capsys):
    _, argv, fragments, kind = path_cases(tmp_path, blocker)[i]
    _check(argv, fragments, kind, capsys)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_out(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        _check(["run", CHAT, "--out", str(ro / "x")], ["--out", "not writable"], "usage", capsys)
        _check(["report", "r.nc", "-o", str(ro / "r.html")], ["-o/--output", "not writable"], "usage", capsys)
    finally:
        ro.chmod(0o700)


def test_every_bad_flag_is_reported_at_once(capsys):
    assert main(["run", CHAT, "--paths", "nan", "--seed", "-1", "--block-size", "0", "--json"]) == 2
    obj = json.loads(capsys.readouterr().out)
    assert [p.split()[2] for p in obj["problems"]] == ["--paths", "--seed", "--block-size"]


def test_caps_are_the_scenario_keys():
    from sim.cli.common import MAX_MONTH_INDEX
    from sim.scenario.model import Horizon, Scenario

    def le(model, key):
        return [m.le for m in model.model_fields[key].metadata if getattr(m, "le", None) is not None]

    assert le(Scenario, "paths") == [MAX_PATHS]
    assert le(Horizon, "months") == [MAX_MONTH_INDEX + 1]


def test_good_values_at_the_caps_parse():
    from sim.cli import build_parser

    a = build_parser().parse_args(["run", CHAT, "--seed", str(MAX_SEED), "--paths", str(MAX_PATHS),
                                   "--scheduler", "tcp://[::1]:8786", "--workers", "1024"])
    assert (a.seed, a.paths, a.scheduler, a.workers) == (MAX_SEED, MAX_PATHS, "tcp://[::1]:8786", 1024)
    a = build_parser().parse_args(CALC + ["--price-date", "2028-02-29"])
    assert str(a.price_date) == "2028-02-29"
    a = build_parser().parse_args(["tco", OWNED, "--purchase-months", "12, 0,6"])
    assert a.purchase_months == [0, 6, 12]


@pytest.mark.parametrize("argv, key", [(["--version"], "version"), (["--help"], "help"),
                                       *[([c.name, "--help"], "help") for c in COMMANDS]])
def test_help_and_version_are_one_json_object(argv, key, capsys):
    assert main(argv + ["--json"]) == 0
    out, _ = capsys.readouterr()
    assert len(out.splitlines()) == 1
    obj = json.loads(out)
    assert obj["ok"] is True and isinstance(obj[key], str) and obj[key]
    if argv[0] != "--version":
        assert obj["help"].startswith("usage: tokensim")
    assert main(argv) == 0  # text without --json
    assert not capsys.readouterr().out.startswith("{")


# ---- the real entry points, started together ------------------------------------------------
SUBPROCESS = {
    "version": (["--version", "--json"], 0),
    "help": (["run", "--help", "--json"], 0),
    "seed": (["run", CHAT, "--seed", str(2**64), "--json"], 2),
    "date": (CALC + ["--price-date", "2026-02-30", "--json"], 2),
    "scheduler": (["run", CHAT, "--paths", "2", "--scheduler", "bogus", "--json"], 2),
    "draws": (["tco", OWNED, "--draws", BIG, "--json"], 2),
}


def _exe() -> list[str]:
    exe = Path(sys.executable).parent / "tokensim"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


@pytest.fixture(scope="module")
def procs():
    started = {}
    for k, (argv, _) in SUBPROCESS.items():
        cmd = ([sys.executable, "-m", "sim.cli"] if k == "help" else _exe()) + argv
        started[k] = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for k, p in started.items():
        stdout, stderr = p.communicate(timeout=300)
        out[k] = (p.returncode, stdout, stderr)
    return out


@pytest.mark.parametrize("key", list(SUBPROCESS))
def test_entry_point(key, procs):
    code, out, err = procs[key]
    assert code == SUBPROCESS[key][1], err
    assert "Traceback" not in err
    assert len(out.splitlines()) == 1
    obj = json.loads(out)
    assert obj["ok"] is (code == 0)
