"""Checks that need the catalogs: run on every load, by every command, for the base and each strategy.

This layer sits above the engines (a memory fit needs the workload's mean context, which the
expected-value session anatomy gives) and is handed to ``sim.scenario.load_scenario`` as its
``checks`` callback, so the scenario layer never imports it.

A scenario the schema accepts can still be impossible to serve: a model with no price, a GPU not
in the catalog, an SLO no throughput curve reaches, a model that does not fit its GPU, a workload
whose pools never have capacity. Each problem is returned as (key path, message) so the loader
can place it at the file's line; no engine ever starts on such a scenario (an unreachable SLO
used to be dispatched at infinite GPU-seconds and reported as a spend of 0).
"""

from __future__ import annotations

import difflib
from typing import Callable

from .catalog.hardware import CurveNotFoundError, load_hardware
from .catalog.prices import PriceBook, UnknownModelError
from .scenario.distributions import mean_of

Located = tuple[tuple, str]


def catalog_problems(sc, hw, book: PriceBook) -> list[Located]:
    """Every model, GPU and throughput-curve name the scenario uses must be in the catalogs."""
    out: list[Located] = []

    def check_ref(ref: str | None, loc: tuple) -> None:
        if ref and not book.has(ref):
            sugg = book.suggestions(ref)
            out.append((loc, f"unknown model {ref!r}" + (f"; close matches: {', '.join(sugg)}" if sugg else "")
                        + " (or define it under prices.overrides with input and output prices)"))

    for pool in ("neocloud", "owned"):
        p = getattr(sc.pools, pool)
        if p.enabled and p.gpu not in hw:
            hint = difflib.get_close_matches(p.gpu, list(hw), n=3, cutoff=0.4)
            out.append((("pools", pool, "gpu"), f"unknown GPU {p.gpu!r}; catalog has: {', '.join(sorted(hw))}"
                        + (f" (closest: {', '.join(hint)})" if hint else "")))
    for i, w in enumerate(sc.workloads):
        if not hasattr(w, "models"):
            continue
        check_ref(w.models.api, ("workloads", i, "models", "api"))
        if w.levers.routing.enabled:
            check_ref(w.levers.routing.cheap_model, ("workloads", i, "levers", "routing", "cheap_model"))
        for pool in ("neocloud", "owned"):
            cls = getattr(w.models, pool)
            p = getattr(sc.pools, pool)
            if cls and pool in w.allowed_pools and p.enabled and p.gpu in hw:
                classes = sorted({c.model_class for c in hw[p.gpu].curves})
                if cls not in classes:
                    hint = difflib.get_close_matches(cls, classes, n=2, cutoff=0.5)
                    out.append((("workloads", i, "models", pool),
                                f"GPU {p.gpu!r} of pool {pool!r} cannot serve model class {cls!r}; it has curves "
                                f"for: {', '.join(classes)}" + (f" (closest: {', '.join(hint)})" if hint else "")))
    for i, c in enumerate(sc.contracts):
        for j, ref in enumerate(c.models):
            check_ref(ref, ("contracts", i, "models", j))
    for j, ref in enumerate(sc.pools.api.frontier_models):
        check_ref(ref, ("pools", "api", "frontier_models", j))
    return out


def pool_problems(sc, *, hw=None, book_of: Callable | None = None) -> list[Located]:
    """Every catalog-dependent problem of ``sc`` as (key path, message); [] when it can be served.

    Names first (``catalog_problems``); only a scenario whose names all resolve is checked for
    capacity, SLOs and memory fit (the later checks would repeat the same fault).
    """
    from .expected.unit_costs import gpu_context_tokens
    from .pools.fit import ModelFitError, replica_for

    hw = hw or load_hardware()
    book: PriceBook = book_of(sc) if book_of else PriceBook(sc.price_date, sc.prices.overrides)
    out: list[Located] = catalog_problems(sc, hw, book)
    if out:
        return out

    def prices() -> PriceBook:
        return book

    index = {w.name: i for i, w in enumerate(sc.workloads)}
    for w in sc.token_workloads:
        i = index[w.name]
        here = ("workloads", i)
        capable = False
        for j, pool in enumerate(w.allowed_pools):
            p = getattr(sc.pools, pool)
            if not p.enabled:
                out.append((here + ("allowed_pools", j), f"workload {w.name!r} may use pool {pool!r}, which is not "
                            f"enabled (pools.{pool}.enabled: true, or remove it from allowed_pools)"))
                continue
            model = getattr(w.models, pool)
            if not model:
                out.append((here + ("models",), f"workload {w.name!r} may use pool {pool!r} but names no model "
                            f"for it (models.{pool})"))
                continue
            if pool == "api":
                try:
                    prices().card(model)
                    capable = True
                except UnknownModelError as exc:
                    out.append((here + ("models", "api"), f"the API pool cannot price {model!r}: {exc}"))
                continue
            if p.gpu not in hw:
                continue  # reported once above
            try:
                curve = hw[p.gpu].curve(model, w.models.precision)
            except CurveNotFoundError as exc:
                out.append((here + ("models", pool), f"workload {w.name!r}: pool {pool!r} ({p.gpu}) cannot serve "
                            f"{model!r}: {exc}"))
                continue
            slo = mean_of(w.slo.interactivity_tok_s_user)
            if curve.max_interactivity() < slo:
                out.append((here + ("slo", "interactivity_tok_s_user"),
                            f"workload {w.name!r}: pool {pool!r} ({p.gpu}, {model}/{curve.precision}) cannot meet {slo:g} tok/s per "
                            f"user: the fastest point of its throughput curve is {curve.max_interactivity():g} "
                            "tok/s; lower the SLO, or serve the workload elsewhere"))
                continue
            try:
                fit = replica_for(sc, w, pool, hw, gpu_context_tokens(w, prices()))
            except ModelFitError as exc:
                out.append((here + ("models", pool), f"workload {w.name!r}: {exc}"))
                continue
            peak = _peak_gpus(sc, pool)
            if 0 < peak < fit.gpus:
                loc = ("pools", "owned", "purchases") if pool == "owned" else ("pools", "neocloud", "reserved_gpus")
                out.append((loc, f"workload {w.name!r}: pool {pool!r} has at most {peak:g} GPUs, fewer than one "
                            f"deployable replica of {model} on {p.gpu} ({fit.explain})"))
                continue
            if peak > 0:
                capable = True
        if w.levers.routing.enabled:
            ref = w.levers.routing.cheap_model
            if not sc.pools.api.enabled:
                out.append((here + ("levers", "routing"), f"routing sends the cheap model {ref!r} to the API "
                            "pool, which is not enabled"))
            else:
                try:
                    prices().card(ref)
                except UnknownModelError as exc:
                    out.append((here + ("levers", "routing", "cheap_model"), f"the API pool cannot price {ref!r}: {exc}"))
        if not capable and not any(loc[:2] == here for loc, _ in out):
            out.append((here + ("allowed_pools",), f"workload {w.name!r}: none of its allowed pools "
                        f"{list(w.allowed_pools)} ever has capacity (no API allowed, and no GPUs reserved, on "
                        "demand or purchased): every session would go unserved"))
    return out


def _peak_gpus(sc, pool: str) -> float:
    from .pools.lines import peak_gpus
    from .pools.valuation import MeanValues

    return peak_gpus(sc, pool, MeanValues())


def _pool_has_gpus(sc, pool: str) -> bool:
    """True when the pool has GPUs in service within the horizon (an order that arrives after the
    horizon ends, or a reservation outside it, serves nothing)."""
    return _peak_gpus(sc, pool) > 0


def strategy_problems(sc, **kw) -> list[Located]:
    """``pool_problems`` of the base scenario and of each strategy applied to it."""
    out = pool_problems(sc, **kw)
    seen = {msg for _, msg in out}
    for i, strat in enumerate(sc.all_strategies()):
        if not strat.set:
            continue
        try:
            applied = sc.with_strategy(strat)
        except Exception:  # noqa: BLE001 - the loader reports strategies that do not apply
            continue
        loc = ("strategies", i) if i < len(sc.strategies) else ("sweeps",)
        for where, msg in pool_problems(applied, **kw):
            if msg not in seen:
                out.append((_strategy_loc(applied, strat, where, loc), f"strategy {strat.name!r}: {msg}"))
                seen.add(msg)
    return out


def _strategy_loc(applied, strat, where: tuple, default: tuple) -> tuple:
    """The strategy's own ``set`` key that caused a problem at ``where`` (else the strategy)."""
    parts = [applied.workloads[x].name if k == 1 and where[0] == "workloads" and isinstance(x, int) else str(x)
             for k, x in enumerate(where)]
    dotted = ".".join(parts)
    for key in strat.set:
        if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
            return default + ("set", key) if default[0] == "strategies" else default
    return default


def require_servable(sc) -> None:
    """Raise ValueError listing every problem ``pool_problems`` finds (for scenarios built in code)."""
    problems = pool_problems(sc)
    if problems:
        raise ValueError("; ".join(msg for _, msg in problems))
