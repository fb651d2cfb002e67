"""Shared helpers: build small scenarios from Python dicts."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "name": "t",
    "horizon": {"start": "2027-02", "months": 1},
    "prices": {"date": "2027-02-01",
               "overrides": [{"model": "acme/m1", "input": 2.0, "output": 8.0},
                             {"model": "acme/m2", "input": 1.0, "output": 4.0}]},
    "activity": {"preset": "always_on"},
    "business_units": [{"name": "bu", "users": {"curve": "fixed", "ceiling": 100}}],
    "workloads": [],
    "pools": {"api": {"price_trend": {"commodity_per_year": 0.0, "frontier_per_year": 0.0}}},
}


def chat(name="c", **kw):
    w = {"name": name, "kind": "chat", "business_unit": "bu", "sessions_per_user_per_day": 10, "turns": 1,
         "system_prompt_tokens": 500, "user_message_tokens": 100, "output_tokens": 200,
         "models": {"api": "acme/m1"}}
    w.update(kw)
    return w


def make(workloads, checks=True, **kw):
    from sim.scenario import load_scenario_text

    d = copy.deepcopy(BASE)
    d["workloads"] = workloads
    for k, v in kw.items():
        d[k] = v
    from sim.checks import strategy_problems

    return load_scenario_text(yaml.safe_dump(d, sort_keys=False), file="<test>", base_dir=ROOT,
                              checks=strategy_problems if checks else None)


@pytest.fixture
def make_scenario():
    return make


def cli_json(argv: list[str]) -> dict:
    """Run ``tokensim ARGV --json`` in process; it must succeed. Returns the one JSON object it prints
    (the last line: progress and notes never reach stdout, but a stray line must not hide it)."""
    import contextlib
    import io
    import json

    from sim.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv + ["--json"])
    assert code == 0, buf.getvalue()
    return json.loads(buf.getvalue().splitlines()[-1])


def refusal(argv: list[str], capsys, kind: str, problems: int = 1, plain: bool = True) -> list[str]:
    """Run ``tokensim ARGV --json`` in process and check the bad-input contract: exit 2, exactly one
    JSON object with ``ok: false`` and error ``kind``, ``problems`` messages (one per problem), each also
    on stderr, no traceback and no internal error; with ``plain`` the same without --json (nothing on
    stdout, the messages on stderr). Returns the messages."""
    import json

    from sim.cli import main

    code = main(argv + ["--json"])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err and "internal error" not in out + err
    lines = out.splitlines()
    assert len(lines) == 1, out  # exactly one JSON object
    obj = json.loads(lines[0])
    assert obj["ok"] is False and obj["error"] == kind, obj
    assert len(obj["problems"]) == problems, obj["problems"]
    assert all(m in err for m in obj["problems"])  # also on stderr
    if plain:
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == "" and all(m in err for m in obj["problems"]) and "Traceback" not in err
    return obj["problems"]
