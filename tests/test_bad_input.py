"""Bad scenarios are rejected with a message that names the file, the line, the key path and
what was expected; the CLI exits 2 without a traceback.

The corpus is ``tests/bad_scenarios/``: each file is ``_base.yaml`` (a minimal valid scenario)
with exactly one thing wrong, described by its first comment line. ``expected.yaml`` gives, per
file, the line a problem must point at and a substring the problem must contain.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim.checks import strategy_problems
from sim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "bad_scenarios"
EXPECTED: dict = yaml.safe_load((CORPUS / "expected.yaml").read_text())
CASES = sorted(p.stem for p in CORPUS.glob("*.yaml") if p.name != "expected.yaml" and not p.name.startswith("_"))
REL = lambda name: f"tests/bad_scenarios/{name}.yaml"  # noqa: E731 - paths as a user would type them

# words of pydantic's internals that must never reach an analyst
INTERNALS = ("tagged-union", "function-after", "pydantic", "Traceback", "model_fields", "ValidationError")


def test_corpus_and_expectations_match(_procs):
    # (requests _procs so the CLI subprocesses run alongside the in-process tests)
    assert len(CASES) >= 30
    assert sorted(EXPECTED) == CASES, "every bad scenario needs an entry in expected.yaml and vice versa"


def test_base_scenario_is_valid():
    sc = load_scenario(CORPUS / "_base.yaml", checks=strategy_problems)
    assert sc.name == "base"


@pytest.fixture(autouse=False)
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("name", CASES)
def test_bad_scenario_is_reported(name, in_root):
    exp = EXPECTED[name]
    with pytest.raises(ScenarioError) as info:
        load_scenario(REL(name), checks=strategy_problems)
    problems = info.value.problems
    assert problems, "a ScenarioError must list at least one problem"
    shown = "\n".join(str(p) for p in problems)
    for p in problems:
        assert p.file == REL(name), f"problem does not name the file: {p}"
        assert str(p).startswith(REL(name)), str(p)
        assert p.message.strip(), f"empty message: {p!r}"
        assert not any(w in str(p) for w in INTERNALS), f"internal detail leaked: {p}"
    hits = [p for p in problems if exp["contains"] in str(p)]
    assert hits, f"no problem contains {exp['contains']!r}; got:\n{shown}"
    assert any(p.line == exp["line"] for p in hits), (
        f"expected line {exp['line']} for {exp['contains']!r}; got:\n{shown}")
    if exp["line"] is not None:
        assert any(str(p).startswith(f"{REL(name)}:{exp['line']}: ") for p in hits)


@pytest.mark.parametrize("name", CASES)
def test_cli_validate_in_process(name, in_root, capsys):
    """Every bad file through the real CLI entry point: status 2, one JSON object, no traceback."""
    from sim.cli import main

    assert main(["validate", REL(name), "--json"]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in out + err
    lines = out.splitlines()
    assert len(lines) == 1, out
    obj = json.loads(lines[0])
    assert obj["ok"] is False and obj["error"] == "scenario"
    assert obj["problems"] and all(isinstance(p, str) and p.startswith(REL(name)) for p in obj["problems"])
    assert err.strip(), "problems must also be printed on stderr"
    assert EXPECTED[name]["contains"] in err

    assert main(["validate", REL(name)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and EXPECTED[name]["contains"] in err and "Traceback" not in err


# ---- a handful of real subprocesses, started together so the file stays fast ---------------
def _command() -> list[str]:
    exe = Path(sys.executable).parent / "tokensim"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


RUNS = {
    "text": ["validate", REL("unknown_key_workload")],
    "json": ["validate", REL("yaml_unclosed_bracket"), "--json"],
    "missing": ["validate", "does/not/exist.yaml"],
    "directory": ["validate", "tests/bad_scenarios"],
}


@pytest.fixture(scope="module")
def _procs() -> dict[str, subprocess.Popen]:
    procs = {k: subprocess.Popen(_command() + argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for k, argv in RUNS.items()}
    yield procs
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.communicate()


@pytest.fixture(scope="module")
def runs(_procs) -> dict[str, subprocess.CompletedProcess]:
    out = {}
    for k, p in _procs.items():
        stdout, stderr = p.communicate(timeout=120)
        out[k] = subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)
    return out


def test_cli_text_output(runs):
    r = runs["text"]
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert (f"{REL('unknown_key_workload')}:17: workloads[0].turnz: unknown key 'turnz'; did you mean 'turns'?"
            in r.stderr)


def test_cli_json_output(runs):
    r = runs["json"]
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stdout.splitlines()) == 1
    obj = json.loads(r.stdout)
    assert obj["ok"] is False and obj["error"] == "scenario"
    assert any(p.startswith(f"{REL('yaml_unclosed_bracket')}:11: malformed YAML") for p in obj["problems"])


def test_cli_missing_file(runs):
    r = runs["missing"]
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert "does/not/exist.yaml: file not found" in r.stderr


@pytest.mark.parametrize("target, words", [("does/not/exist.yaml", "file not found"),
                                           ("tests/bad_scenarios", "is a directory, expected a YAML file")])
def test_cli_missing_file_and_directory_json(target, words, in_root, capsys):
    from sim.cli import main

    assert main(["validate", target, "--json"]) == 2
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 and "Traceback" not in err
    obj = json.loads(out)
    assert obj == {"ok": False, "error": "scenario", "problems": [f"{target}: {words}"]}


def test_cli_directory(runs):
    r = runs["directory"]
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert "tests/bad_scenarios: is a directory, expected a YAML file" in r.stderr
