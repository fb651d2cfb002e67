"""Commit options: simulate them with common random numbers, then analyse (``sim.analysis.commit``)."""

from __future__ import annotations

import xarray as xr

from ..analysis.commit import commit_analysis, options_scenario
from ..mc.runner import DEFAULT_BLOCK, run
from ..scenario.model import Scenario


def run_commit(sc: Scenario, *, paths: int | None = None, cvar_level: float = 0.95, threshold: float = 0.8,
               block_size: int = DEFAULT_BLOCK, out=None, deterministic: bool = False) -> tuple[dict, xr.Dataset]:
    """Simulate the commit options with common random numbers and analyse them."""
    ds, _ = run(options_scenario(sc), paths=paths, out=out, block_size=block_size, deterministic=deterministic)
    return commit_analysis(ds, sc, cvar_level=cvar_level, threshold=threshold), ds
