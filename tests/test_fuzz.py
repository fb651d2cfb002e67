"""The fast fuzz profile: mutated shipped scenarios through validate, estimate and run, each in a
memory-capped worker with a time budget per case (see tests/fuzz.py for the contract it checks).

The long profile (``make fuzz``: 10,000 cases) uses the same code; its counts are in docs/fuzz.md.
"""

from __future__ import annotations

import json

from tests import fuzz


def test_fast_fuzz_profile(tmp_path):
    summary = fuzz.run(cases=80, workers=2, seed_=20261201, case_seconds=60.0, memory_gb=4.0,
                       failures_dir=tmp_path / "failures")
    saved = sorted(p.name for p in (tmp_path / "failures").glob("*.yaml"))
    assert summary["cases"] == 80, summary
    assert summary["failures"] == 0, json.dumps(summary) + "\n" + "\n".join(
        (tmp_path / "failures" / n).read_text()[:600] for n in saved[:3])
    # the profile must exercise both sides of the contract, or it checks nothing
    assert summary["counts"].get("refused", 0) > 0 and summary["counts"].get("finite", 0) > 0, summary
