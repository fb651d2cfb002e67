"""What the HTML report needs from the engines: the TCO result and the tornado, for one strategy.

``sim.report.html.build_report`` runs nothing; the command that writes a report calls
``report_study`` first and hands its fields (``ReportStudy.kwargs``) to ``build_report``. A part
that cannot be computed for this scenario (an ``AnalysisError``) is left out with the reason, which
the report prints. Every part is about the report's strategy: the tornado varies the inputs under
it, and the purchase-month sweep replays *its* GPU order (none when it buys no GPUs; the report
then names the strategies that do). A scenario without a GPU option (API only) gets no TCO part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..analysis.common import AnalysisError
from ..analysis.sensitivity import varied_inputs
from ..analysis.tco import buys_gpus, default_workload, gpu_option
from ..scenario.distributions import mean_of
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
    gpu: bool | None = None  # the scenario has a GPU option (None: not known, no scenario)
    strategy: str | None = None  # the strategy every part is about
    gpu_buyers: list[str] = field(default_factory=list)  # strategies that order owned GPUs

    def kwargs(self) -> dict:
        """The keyword arguments of ``build_report`` this study fills."""
        return {"tco": self.tco, "tco_error": self.tco_error, "tornado": self.tornado,
                "tornado_error": self.tornado_error, "gpu": self.gpu, "gpu_buyers": list(self.gpu_buyers)}


def strategy_scenario(sc: Scenario, strategy: str | None) -> Scenario:
    """``sc`` as ``strategy`` runs it, with no other strategies (so nothing downstream picks another)."""
    names = [s.name for s in sc.all_strategies()]
    s = sc.with_strategy(strategy) if strategy in names else sc
    return s.model_copy(update={"strategies": [], "sweeps": []})


def _gpu_workload(sc_s: Scenario, sc: Scenario) -> str:
    """The workload a GPU question is about under the strategy: the largest one the strategy lets run on
    a GPU pool, else the scenario's (``sim.analysis.tco.default_workload``)."""
    cands = [w for w in sc_s.token_workloads if {"owned", "neocloud"} & set(w.allowed_pools)]
    if cands:
        return max(cands, key=lambda w: mean_of(sc_s.unit(w.business_unit).users.ceiling) * mean_of(w.rate)).name
    return default_workload(sc)


def _has_inputs(sc: Scenario, strategy: str | None) -> bool:
    """Whether the tornado has an input to vary (per-session draws such as turns are not inputs)."""
    try:
        varied_inputs(sc, strategy)
    except AnalysisError:
        return False
    return True


def report_study(sc: Scenario, *, strategy: str | None = None, tco_paths: int = 200,
                 sensitivity: bool = True) -> ReportStudy:
    """For ``strategy`` (the report's; the first when None): the TCO analysis when the scenario has a
    GPU option, its purchase-month sweep on ``tco_paths`` paths when the strategy orders GPUs (none
    when 0), and with ``sensitivity`` the tornado of total spend."""
    names = [s.name for s in sc.all_strategies()]
    strategy = strategy if strategy in names else names[0]
    tco = tco_error = tornado_df = tornado_error = None
    gpu = gpu_option(sc)
    buyers = [s.name for s in sc.all_strategies() if buys_gpus(sc.with_strategy(s))]
    if gpu:
        sc_s = strategy_scenario(sc, strategy)
        try:
            tco = tco_analysis(sc_s, workload=_gpu_workload(sc_s, sc), paths=tco_paths, draws=TCO_DRAWS,
                               run_sweep=tco_paths > 0 and buys_gpus(sc_s))
            if tco.get("purchase_sweep"):
                tco["purchase_template"] = strategy  # the strategy replayed (its settings are applied)
            tco["strategy"] = strategy
            tco["buys_gpus"] = buys_gpus(sc_s)  # else the owned split is of a notional fleet: not shown
        except AnalysisError as exc:
            tco_error = str(exc)
    if sensitivity and _has_inputs(sc, strategy):
        try:
            tornado_df = tornado(sc, "total_spend", strategy=strategy if sc.strategies or sc.sweeps else None)
        except AnalysisError as exc:
            tornado_error = str(exc)
    return ReportStudy(tco=tco, tco_error=tco_error, tornado=tornado_df, tornado_error=tornado_error, gpu=gpu,
                       strategy=strategy, gpu_buyers=buyers)
