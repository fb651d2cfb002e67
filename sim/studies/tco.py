"""Self-host timing: the expected volumes and the purchase-month sweep, then the TCO analysis.

The expected-value engine gives the workload's expected tokens per year (where they sit on the
cost curves); the Monte Carlo replays the owned-GPU strategy at each candidate purchase month.
Everything else is a pure function of the scenario (``sim.analysis.tco``).
"""

from __future__ import annotations

from ..analysis.tco import (NO_PURCHASE_STRATEGY, check_month, default_workload, expected_tokens_per_year,
                            purchase_analysis, purchase_fields, sweep_scenario, tco_economics, workload_mix)
from ..catalog.prices import PriceBook
from ..expected.forecast import run_expected
from ..mc.runner import DEFAULT_BLOCK, run
from ..scenario.model import Scenario


def tco_analysis(sc: Scenario, *, workload: str | None = None, paths: int | None = None, month: int = 0,
                 draws: int = 400, purchase_months: list[int] | None = None, run_sweep: bool = True,
                 block_size: int = DEFAULT_BLOCK) -> dict:
    """Crossovers (deterministic and over draws), cost curves, owned split, purchase-month sweep."""
    workload = workload or default_workload(sc)
    book = PriceBook(sc.price_date, sc.prices.overrides)
    mix = workload_mix(sc, workload, book)
    check_month(sc, month)
    volume = expected_tokens_per_year(run_expected(sc, None, book).lines, workload)
    out = tco_economics(sc, mix, workload, volume=volume, month=month, draws=draws)
    if run_sweep:
        sw = sweep_scenario(sc, purchase_months)
        if sw is None:
            out["purchase_sweep_note"] = NO_PURCHASE_STRATEGY
        else:
            sweep_sc, names, tmpl = sw
            ds, _ = run(sweep_sc, paths=paths, block_size=block_size)
            out.update(purchase_fields(purchase_analysis(ds, sc, names), tmpl))
    return out
