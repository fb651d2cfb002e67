"""A streamed run's memory does not grow with its paths (issue 10: write once, stream always).

A 20,000-path run of the default scenario's workloads (one strategy, 36 months) makes
20,000 × ``bytes_per_path`` ≈ 0.66 GB of results. A runner that held the run, or concatenated
it, would need at least that much more memory than a 500-path run; a streaming one needs the
same plus a constant. The run happens in a fresh interpreter that reports its own peak RSS
(``resource``), so other tests' memory is not counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys
from pathlib import Path
from sim.scenario import load_scenario_text
from sim.mc.runner import bytes_per_path, run
sc = load_scenario_text(Path(sys.argv[1]).read_text(), file=sys.argv[1], base_dir=Path("scenarios"))
n = int(sys.argv[2])
ds, path = run(sc, paths=n, out=Path(sys.argv[3]), zarr=True, block_size=500)
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "bytes_per_path": bytes_per_path(sc), "paths": int(ds.sizes["path"])}))
"""


def _peak(scenario: Path, paths: int, out: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", CHILD, str(scenario), str(paths), str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_peak_memory_of_a_streamed_run_does_not_grow_with_paths(tmp_path):
    base = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    base["strategies"] = []
    base["contracts"] = []
    scenario = tmp_path / "one_strategy.yaml"
    scenario.write_text(yaml.safe_dump(base))
    small = _peak(scenario, 500, tmp_path / "small")
    large = _peak(scenario, 20_000, tmp_path / "large")
    assert large["paths"] == 20_000
    run_bytes = large["bytes_per_path"] * 20_000
    assert run_bytes > 0.5e9  # the whole run would be this much more memory, at least
    growth = (large["peak_kb"] - small["peak_kb"]) * 1024
    print(f"growth {growth / 1e6:.0f} MB, run {run_bytes / 1e6:.0f} MB, peaks {small['peak_kb'] // 1024} and {large['peak_kb'] // 1024} MB")
    # bound: half the run's size. Holding or concatenating the run needs >= run_bytes more; streaming
    # needs the same blocks of 500 paths either way (measured: a few tens of MB of difference)
    assert growth < 0.5 * run_bytes, (growth, run_bytes)
