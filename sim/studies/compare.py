"""Two scenarios: simulate both on the same seed and paths, then compare (``sim.analysis.compare``)."""

from __future__ import annotations

from ..analysis.common import AnalysisError
from ..analysis.compare import compare_datasets, only_strategy, rank_strategies
from ..mc.runner import run


def compare_scenarios(sc_a, sc_b, *, paths: int | None = None, strategy_a: str | None = None,
                      strategy_b: str | None = None, labels: tuple[str, str] = ("A", "B")) -> dict:
    """Simulate both scenarios (B with A's seed: common random numbers) and compare them."""
    if sc_a.currency != sc_b.currency:
        raise AnalysisError(f"the scenarios use different currencies ({sc_a.currency}, {sc_b.currency})")
    n = int(paths if paths is not None else min(sc_a.paths, sc_b.paths))
    sc_b = sc_b.model_copy(update={"seed": sc_a.seed})
    da = run(only_strategy(sc_a, strategy_a), paths=n)[0]
    db = run(only_strategy(sc_b, strategy_b), paths=n)[0]
    return compare_datasets(da, db, labels=labels)


def rank_scenario(sc, *, paths: int | None = None, label: str = "") -> dict:
    """Simulate every strategy of ``sc`` (common random numbers) and rank them (``rank_strategies``)."""
    return rank_strategies(run(sc, paths=int(paths if paths is not None else sc.paths))[0], label or sc.name)
