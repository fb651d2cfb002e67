"""Commitment sizing for procurement: compare commit options with common random numbers.

The options are the scenario's strategies that only change contracts (``contracts.*`` key paths,
or nothing: pay as you go). Every option is simulated on the same paths, so a difference between
two options is a difference of decisions, not of luck; its standard error is that of the paired
per-path difference.

Per option: expected total cost over the horizon, its P95 and CVaR, expected stranded commitment,
expected overage (both in the contract's own unit: tokens or currency), the distribution of
commitment utilisation (drawn / committed over the term) and P(utilisation < 80 %). The optimal
option for expected cost and for CVaR at a chosen level, and the efficient frontier (mean vs P95:
the options no other option beats on both).

Newsvendor cross-check: with discount d and overage at r × list, the cost of a per-period commit A
against demand D is A·p(1 − d) + r·p·E[(D − A)+], minimised where P(D > A) = (1 − d)/r, i.e. at
the 1 − (1 − d)/r quantile of per-period demand — the d-quantile with overage at list. Demand per
period is read from a run (drawn + overage of any option with a positive commitment) and pooled
over periods (periods with equal list price per unit).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ..scenario.model import Scenario, Strategy, set_path
from .common import AnalysisError, cvar, total_spend

COMMIT_KINDS = ("token_commit", "dollar_commit", "provisioned_throughput", "reserved_gpus")


def apply_strategy(sc: Scenario, strat: Strategy) -> Scenario:
    for path, value in strat.set.items():
        sc = set_path(sc, path, value)
    return sc


def _level(c) -> float:
    from ..scenario.distributions import mean_of

    if c.kind in ("token_commit", "dollar_commit"):
        return mean_of(c.amount)
    return mean_of(c.units)


def commit_options(sc: Scenario) -> list[dict]:
    """The strategies that are commit options, with each one's commitment per contract.

    A commit option changes nothing but contracts; when no strategy qualifies, every strategy is
    an option. Returns dicts with ``strategy`` (a Strategy), ``commit`` (contract -> amount or
    units per period) and ``scenario`` (the scenario with the strategy applied).
    """
    strategies = sc.all_strategies()
    chosen = [s for s in strategies if all(k.startswith("contracts.") for k in s.set)]
    if not chosen:
        chosen = strategies
    out = []
    for s in chosen:
        s_sc = apply_strategy(sc, s)
        commit = {c.name: _level(c) for c in s_sc.contracts if c.kind in COMMIT_KINDS}
        out.append({"strategy": s, "commit": commit, "scenario": s_sc})
    return out


def options_scenario(sc: Scenario) -> Scenario:
    """``sc`` with only its commit options as strategies (sweeps expanded)."""
    opts = [o["strategy"] for o in commit_options(sc)]
    return sc.model_copy(update={"strategies": opts, "sweeps": []})


def run_commit(sc: Scenario, *, paths: int | None = None, cvar_level: float = 0.95, threshold: float = 0.8,
               block_size: int = 500, out=None) -> tuple[dict, xr.Dataset]:
    """Simulate the commit options with common random numbers and analyse them."""
    from ..mc.runner import run

    ds, _ = run(options_scenario(sc), paths=paths, out=out, block_size=block_size)
    return commit_analysis(ds, sc, cvar_level=cvar_level, threshold=threshold), ds


def _period_ends(c, months: int) -> list[int]:
    end = min(c.start_month + c.term_months, months)
    return [min(a + c.period_months, end) - 1 for a in range(c.start_month, end, c.period_months)]


def _reserved_months(s_sc: Scenario, months: int) -> np.ndarray:
    res = np.zeros(months, bool)
    neo = s_sc.pools.neocloud
    from ..scenario.distributions import mean_of

    if neo.enabled and mean_of(neo.reserved_gpus) > 0:
        res[neo.reserved_start_month:neo.reserved_start_month + neo.reserved_term_months] = True
    for c in s_sc.contracts:
        if c.kind == "reserved_gpus" and mean_of(c.units) > 0:
            res[c.start_month:c.start_month + c.term_months] = True
    return res


def commit_analysis(ds: xr.Dataset, sc: Scenario | None = None, *, cvar_level: float = 0.95,
                    threshold: float = 0.8) -> dict:
    """Analyse the commit options found in ``ds`` (all its strategies when ``sc`` is None)."""
    if not 0.0 < cvar_level < 1.0:
        raise AnalysisError(f"CVaR level must lie strictly between 0 and 1, got {cvar_level}")
    names_ds = [str(s) for s in ds["strategy"].values]
    if sc is not None:
        opts = {o["strategy"].name: o for o in commit_options(sc)}
        names = [n for n in names_ds if n in opts]
    else:
        opts = {}
        names = names_ds
    if not names:
        raise AnalysisError("the results hold none of the scenario's commit options")
    tot = total_spend(ds)
    M = ds.sizes["month"]
    contracts = [str(c) for c in ds["contract"].values] if "contract" in ds.dims else []
    costs = {n: tot.sel(strategy=n).values for n in names}
    rows = []
    samples: dict[str, np.ndarray] = {}
    for n in names:
        x = costs[n]
        row = {"strategy": n, "commit": dict(opts[n]["commit"]) if n in opts else {},
               "expected_cost": float(x.mean()),
               "se_expected_cost": float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0,
               "p5_cost": float(np.quantile(x, 0.05)), "p50_cost": float(np.quantile(x, 0.5)),
               "p95_cost": float(np.quantile(x, 0.95)), "cvar_cost": cvar(x, cvar_level)}
        by_contract = {}
        util_paths = []
        stranded_tot = overage_tot = drawn_tot = 0.0
        for c in contracts:
            dr = ds["commit_drawn"].sel(strategy=n, contract=c).sum("month").values
            st = ds["commit_stranded"].sel(strategy=n, contract=c).sum("month").values
            ov = ds["overage"].sel(strategy=n, contract=c).sum("month").values
            committed = dr + st
            info = {"expected_drawn": float(dr.mean()), "expected_stranded": float(st.mean()),
                    "expected_overage": float(ov.mean())}
            if np.all(committed > 0):
                u = dr / committed
                util_paths.append(u)
                info["utilization"] = {"mean": float(u.mean()), "p5": float(np.quantile(u, 0.05)),
                                       "p50": float(np.quantile(u, 0.5)), "p95": float(np.quantile(u, 0.95))}
                info["p_utilization_below"] = float(np.mean(u < threshold))
            by_contract[c] = info
            stranded_tot += info["expected_stranded"]
            overage_tot += info["expected_overage"]
            drawn_tot += info["expected_drawn"]
        kinds = {c.name: c.kind for c in opts[n]["scenario"].contracts} if n in opts else {}
        cur = ds.attrs.get("currency", "")
        for c, info in by_contract.items():
            info["unit"] = ("tokens" if kinds.get(c) in ("token_commit", "provisioned_throughput")
                            else cur if kinds.get(c) == "dollar_commit" else None)
        units = {info["unit"] for info in by_contract.values()}
        row["stranded_unit"] = units.pop() if len(units) == 1 else ("mixed" if units else None)
        row["expected_stranded"] = stranded_tot
        row["expected_overage"] = overage_tot
        row["expected_drawn"] = drawn_tot
        if util_paths:
            u = np.min(np.vstack(util_paths), axis=0)  # the worst-used commitment of each path
            row["utilization"] = {"mean": float(u.mean()), "p5": float(np.quantile(u, 0.05)),
                                  "p50": float(np.quantile(u, 0.5)), "p95": float(np.quantile(u, 0.95))}
            row["p_utilization_below_threshold"] = float(np.mean(u < threshold))
            samples[n] = u
        else:
            row["utilization"] = None
            row["p_utilization_below_threshold"] = None
        if n in opts:
            res = _reserved_months(opts[n]["scenario"], M)
            if res.any():
                gu = ds["utilization"].sel(strategy=n, pool="neocloud").values[:, res].mean(axis=1)
                row["gpu_reservation_utilization"] = {"mean": float(gu.mean()), "p5": float(np.quantile(gu, 0.05)),
                                                      "p95": float(np.quantile(gu, 0.95)),
                                                      "p_below_threshold": float(np.mean(gu < threshold))}
        row["contracts"] = by_contract
        rows.append(row)
    best = min(rows, key=lambda r: r["expected_cost"])
    best_cvar = min(rows, key=lambda r: r["cvar_cost"])
    for r in rows:
        d = costs[r["strategy"]] - costs[best["strategy"]]
        r["difference_vs_optimum"] = float(d.mean())
        r["se_difference_vs_optimum"] = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else 0.0
    frontier = []
    for r in sorted(rows, key=lambda r: (r["expected_cost"], r["p95_cost"])):
        if not frontier or r["p95_cost"] < frontier[-1]["p95_cost"]:
            frontier.append(r)
    for r in rows:
        r["on_frontier"] = any(f is r for f in frontier)

    def pick(r: dict) -> dict:
        return {"strategy": r["strategy"], "commit": r["commit"], "amount": _single(r["commit"]),
                "expected_cost": r["expected_cost"], "p95_cost": r["p95_cost"], "cvar_cost": r["cvar_cost"]}

    return {
        "scenario": ds.attrs.get("scenario", ""),
        "currency": ds.attrs.get("currency", ""),
        "paths": int(ds.sizes["path"]),
        "cvar_level": cvar_level,
        "utilization_threshold": threshold,
        "options": rows,
        "optimal_commit_expected_cost": pick(best),
        "optimal_commit_cvar": pick(best_cvar),
        "efficient_frontier": [r["strategy"] for r in frontier],
        "newsvendor": _newsvendor(ds, opts, names) if opts else [],
        "utilization_samples": samples,  # per option, per path (plots; not part of the JSON)
    }


def _single(commit: dict) -> float | None:
    vals = [v for v in commit.values()]
    return vals[0] if len(vals) == 1 else None


def _newsvendor(ds: xr.Dataset, opts: dict, names: list[str]) -> list[dict]:
    """The analytic optimum per token/dollar commit contract whose amount the options vary."""
    out = []
    M = ds.sizes["month"]
    contracts = [str(c) for c in ds["contract"].values] if "contract" in ds.dims else []
    for cname in contracts:
        amounts = {n: opts[n]["commit"].get(cname) for n in names}
        vals = {v for v in amounts.values() if v is not None}
        if len(vals) < 2:
            continue
        n_max = max((n for n in names if amounts[n] is not None), key=lambda n: amounts[n])
        if not amounts[n_max] or amounts[n_max] <= 0:
            continue
        c = next(x for x in opts[n_max]["scenario"].contracts if x.name == cname)
        if c.kind not in ("token_commit", "dollar_commit"):
            continue
        from ..scenario.distributions import mean_of

        d, r = mean_of(c.discount), mean_of(c.overage_rate)
        ends = [e for e in _period_ends(c, M)]
        use = (ds["commit_drawn"] + ds["overage"]).sel(strategy=n_max, contract=cname).values[:, ends].ravel()
        crit = 1.0 - (1.0 - d) / r if r > 0 else 0.0
        amount = float(np.quantile(use, crit)) if crit > 0 else 0.0
        best = min(names, key=lambda n: float(total_spend(ds).sel(strategy=n).mean()))
        note = ("rollover or true-up: the simple quantile rule does not hold exactly"
                if (mean_of(c.rollover_share) > 0 or c.true_up) else "")
        out.append({"contract": cname, "kind": c.kind, "discount": d, "overage_rate": r,
                    "critical_ratio": crit, "demand_per_period": {"mean": float(use.mean()),
                                                                  "p5": float(np.quantile(use, 0.05)),
                                                                  "p95": float(np.quantile(use, 0.95))},
                    "newsvendor_amount": amount, "grid_optimum_amount": amounts.get(best),
                    "grid": sorted(vals), "note": note})
    return out


def _levels(commit: dict) -> str:
    return (" (" + ", ".join(f"{k} = {v:,.6g}" for k, v in commit.items()) + " per period)") if commit else ""


def commit_text(r: dict) -> str:
    cur = r["currency"]
    lines = [f"Commit options — scenario {r['scenario']!r}, {r['paths']} paths, common random numbers; "
             f"cost = total spend over the horizon, {cur}", ""]
    cv = f"CVaR{r['cvar_level'] * 100:g}"
    thr = f"P(u<{r['utilization_threshold'] * 100:g}%)"
    head = (f"{'option':<26}{'E[cost]':>14}{'P95':>14}{cv:>14}{'E[stranded]':>14}{'E[overage]':>14}"
            f"{'E[util]':>9}{thr:>11}{'Δ vs best':>14}{'± se':>10}")
    lines += [head, "-" * len(head)]
    for o in r["options"]:
        u = o["utilization"]
        mark = ("*" if o["strategy"] == r["optimal_commit_expected_cost"]["strategy"] else "") + \
               ("f" if o["on_frontier"] else "")
        lines.append(f"{(o['strategy'] + ' ' + mark)[:25]:<26}{o['expected_cost']:>14,.0f}{o['p95_cost']:>14,.0f}"
                     f"{o['cvar_cost']:>14,.0f}{o['expected_stranded']:>14,.0f}{o['expected_overage']:>14,.0f}"
                     f"{(format(u['mean'], '.0%') if u else '—'):>9}"
                     f"{(format(o['p_utilization_below_threshold'], '.0%') if u else '—'):>11}"
                     f"{o['difference_vs_optimum']:>14,.0f}{o['se_difference_vs_optimum']:>10,.0f}")
    b, bc = r["optimal_commit_expected_cost"], r["optimal_commit_cvar"]
    lines += ["", "* optimal for expected cost, f on the efficient frontier (mean vs P95)",
              f"Optimal for expected cost: {b['strategy']}{_levels(b['commit'])} at {b['expected_cost']:,.0f} {cur}",
              f"Optimal for {cv}: {bc['strategy']}{_levels(bc['commit'])} at {bc['cvar_cost']:,.0f} {cur}",
              f"Efficient frontier: {', '.join(r['efficient_frontier'])}"]
    for nv in r["newsvendor"]:
        lines.append(f"Newsvendor check ({nv['contract']}, discount {nv['discount']:.0%}, overage {nv['overage_rate']:g}× list): "
                     f"the {nv['critical_ratio']:.0%}-quantile of demand per period is {nv['newsvendor_amount']:,.0f}; "
                     f"best grid amount {nv['grid_optimum_amount']:,.0f}" + (f" ({nv['note']})" if nv["note"] else ""))
    return "\n".join(lines)
