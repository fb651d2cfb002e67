"""The import graph has no upward import and no cycle (import-linter contracts in .importlinter).

scenario -> catalog -> pools -> demand -> expected -> mc | des -> checks -> analysis -> studies ->
report -> cli, with sim.io and sim.finite on the ground floor (docs/architecture.md). A second
contract keeps sim.analysis and sim.report pure: neither imports an engine (the Monte Carlo runner
or engine, the expected forecast, the SimPy model), directly or through another module; the
studies (sim.studies) run them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_layers_contract_holds():
    # a subprocess so import-linter's own import graph build sees the package as installed
    r = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                        f"sys.exit(lint_imports(config_filename={str(ROOT / '.importlinter')!r}, no_cache=True, "
                        "no_logo=True))"],
                       cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def _lint_copy_with(tmp_path, module: str, line: str) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the package with ``line`` appended to ``module`` (a path under sim/)."""
    import shutil

    bad = tmp_path / "pkg"
    shutil.copytree(ROOT / "sim", bad / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    p = bad / "sim" / module
    p.write_text(p.read_text() + "\n" + line + "\n")
    (tmp_path / ".importlinter").write_text((ROOT / ".importlinter").read_text())
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                           f"sys.exit(lint_imports(config_filename={str(tmp_path / '.importlinter')!r}, "
                           "no_cache=True, no_logo=True))"],
                          cwd=bad, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(bad)})


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contract is not vacuous: a pools module importing the Monte Carlo engine must fail it."""
    r = _lint_copy_with(tmp_path, "pools/api.py", "from ..mc import engine as _upward  # noqa: E402,F401")
    assert r.returncode != 0 and "sim.pools is not allowed to import sim.mc" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("module, line, message", [
    # allowed by the layers (analysis sits above the engines), refused by the purity contract
    ("analysis/tco.py", "from ..mc.runner import run as _engine  # noqa: E402,F401",
     "sim.analysis is not allowed to import sim.mc.runner"),
    ("analysis/budget.py", "from ..expected.forecast import run_expected as _engine  # noqa: E402,F401",
     "sim.analysis is not allowed to import sim.expected.forecast"),
    # the report may not reach an engine through a study either
    ("report/html.py", "from ..studies.tco import tco_analysis as _engine  # noqa: E402,F401",
     "sim.report is not allowed to import sim.mc.runner"),
])
def test_an_engine_import_breaks_the_purity_contract(tmp_path, module, line, message):
    r = _lint_copy_with(tmp_path, module, line)
    assert r.returncode != 0 and message in r.stdout, r.stdout + r.stderr
    assert "Data flows one way" in r.stdout and "1 kept, 1 broken" in r.stdout, r.stdout
