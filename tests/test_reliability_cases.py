"""Minimal reproductions that once gave a forecast of $0, an inf, an internal error, or wrote
outside outputs/.

Each must now be refused on load by every command, with exit 2 and one located message (file,
line, key path, what was expected) — never an internal error and never a number.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main

HERE = Path(__file__).resolve().parent / "reliability_cases"

CASES = {
    # file: (key path, words the message must contain)
    "D03_empirical_nul_byte": ("workloads[0].turns.file", "not a usable file name"),
    "D04_empirical_name_too_long": ("workloads[0].turns.file", "not a usable file name"),
    "D01_deep_nesting": ("", "nesting deeper than 32 levels"),
    "D02_empirical_symlink_loop": ("workloads[0].turns.file", "'loop_a' cannot open: Too many levels of symbolic links"),
    "D05_override_inf": ("prices.overrides[0].input", "must be a finite number (not .nan or .inf); got the number inf"),
    "D05b_override_cached_1e308": ("prices.overrides[0]", "cached_input must be a finite price of at most 60,000"),
    "D09_horizon_year0": ("horizon.start", "must start between 2000 and 2100"),
    "D09b_horizon_year9999": ("horizon.start", "must start between 2000 and 2100"),
    "D13_price_date_far": ("prices.date", "must lie between 2000 and 2100"),
    "D13b_horizon_year1": ("horizon.start", "must start between 2000 and 2100"),
    "D06_alias_bomb": ("", "more than 200,000 values once aliases (*name) are expanded"),
    "D10_weekly_nan": ("activity.weekly[0]", "must be a finite number"),
    "D10b_hourly_inf": ("activity.hourly[0]", "must be a finite number"),
    "D10c_weekly_tiny": ("activity", "at least 1e-06 of a full working day"),
    "D11_uniform_inf": ("workloads[0].sessions_per_user_per_day.high", "must be a finite number"),
    "D11b_lognormal_p90_inf": ("workloads[0].output_tokens.p90", "must be a finite number"),
    "D11c_discrete_nan_weight": ("workloads[0].sessions_per_user_per_day.weights[0]", "must be a finite number"),
    "D11d_fixed_inf": ("workloads[0].sessions_per_user_per_day.value", "must be a finite number"),
    "D12_ceiling_1e308": ("business_units[0].users.ceiling", "a number of users must lie in [0, 1e+10], got 1e+308"),
    "D15_sweep_lognormal_huge": ("sweeps[0].values[0]", "a token count must lie in [0, 1e+15], but this lognormal "
                                 "distribution has mean inf"),
    "D16_strategy_unknown_gpu": ("strategies[0].set.pools.owned.gpu", "unknown GPU 'nonexistent-gpu'"),
    "D17_name_absolute_path": ("name", "cannot name a folder under outputs/"),
    "D17b_name_traversal": ("name", "cannot name a folder under outputs/"),
    "D17c_name_nul": ("name", "cannot name a folder under outputs/"),
    "D18_huge_value_in_message": ("name", "a list of 20,000 items; at most 10,000 are allowed"),
}
# several values wrong in one list: one message each, all located, the first checked for its words
MANY = {"D10_weekly_nan": 7}


@pytest.mark.parametrize("command", ["validate", "estimate", "run"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_case_is_refused_with_a_located_message(case, command, tmp_path, capsys):
    path, words = CASES[case]
    f = HERE / f"{case}.yaml"
    if case == "D02_empirical_symlink_loop":  # git cannot hold a symlink loop: make one
        f = tmp_path / f.name
        f.write_text((HERE / f.name).read_text())
        (tmp_path / "loop_a").symlink_to("loop_a")
    argv = [command, str(f), "--json"] + (["--out", str(tmp_path / "out")] if command != "validate" else [])
    code = main(argv)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    obj = json.loads(lines[0])
    assert obj["ok"] is False and obj["error"] == "scenario"
    assert len(obj["problems"]) == MANY.get(case, 1), obj["problems"]
    msg = obj["problems"][0]
    assert len(msg) < 600, msg  # a message is one readable line, whatever the input holds
    prefix, _, rest = msg.partition(f": {path}: " if path else ": ")
    assert prefix.startswith(f"{f}:") and prefix.rsplit(":", 1)[1].isdigit(), msg  # file:line
    assert words in rest, msg
    assert not (tmp_path / "out").exists()  # nothing written
