"""The import graph has no upward import and no cycle (import-linter contracts in .importlinter).

scenario -> catalog -> pools -> demand -> expected -> mc | des -> checks -> analysis -> studies ->
report -> cli, with sim.io and sim.finite on the ground floor (docs/architecture.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layers_contract_holds():
    # a subprocess so import-linter's own import graph build sees the package as installed
    r = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                        f"sys.exit(lint_imports(config_filename={str(ROOT / '.importlinter')!r}, no_cache=True, "
                        "no_logo=True))"],
                       cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contract is not vacuous: a pools module importing the Monte Carlo engine must fail it."""
    cfg = (ROOT / ".importlinter").read_text()
    bad = tmp_path / "pkg"
    # copy the package with one upward import added (pools -> mc)
    import shutil

    shutil.copytree(ROOT / "sim", bad / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    p = bad / "sim" / "pools" / "api.py"
    p.write_text(p.read_text() + "\nfrom ..mc import engine as _upward  # noqa: E402,F401\n")
    (tmp_path / ".importlinter").write_text(cfg)
    r = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                        f"sys.exit(lint_imports(config_filename={str(tmp_path / '.importlinter')!r}, no_cache=True, "
                        "no_logo=True))"],
                       cwd=bad, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(bad)})
    assert r.returncode != 0 and "sim.pools is not allowed to import sim.mc" in r.stdout, r.stdout + r.stderr
