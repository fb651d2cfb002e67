"""What the HTML report needs from the engines: the TCO result and the tornado.

``sim.report.html.build_report`` runs nothing; the command that writes a report calls
``report_study`` first and hands its fields to ``build_report``. A part that cannot be computed
for this scenario (an ``AnalysisError``) is left out with the reason, which the report prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..analysis.common import AnalysisError
from ..scenario.model import Scenario
from .sensitivity import tornado
from .tco import tco_analysis

TCO_DRAWS = 200  # draws of the crossover distribution in the report


@dataclass(frozen=True)
class ReportStudy:
    """The engine-computed parts of a report: each one, or why it is missing (None: not asked for)."""

    tco: dict | None = None
    tco_error: str | None = None
    tornado: pd.DataFrame | None = None
    tornado_error: str | None = None


def report_study(sc: Scenario, *, strategy: str | None = None, tco_paths: int = 200,
                 sensitivity: bool = True) -> ReportStudy:
    """The TCO analysis (purchase-month sweep on ``tco_paths`` paths; none when 0) and, with
    ``sensitivity``, the tornado of total spend under ``strategy`` (the report's strategy; the base
    scenario when the scenario has no such strategy)."""
    tco = tco_error = tornado_df = tornado_error = None
    try:
        tco = tco_analysis(sc, paths=tco_paths, draws=TCO_DRAWS, run_sweep=tco_paths > 0)
    except AnalysisError as exc:
        tco_error = str(exc)
    if sensitivity:
        try:
            tornado_df = tornado(sc, "total_spend",
                                 strategy=strategy if strategy in [s.name for s in sc.all_strategies()] else None)
        except AnalysisError as exc:
            tornado_error = str(exc)
    return ReportStudy(tco=tco, tco_error=tco_error, tornado=tornado_df, tornado_error=tornado_error)
