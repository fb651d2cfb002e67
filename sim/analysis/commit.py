"""Commitment sizing for procurement: compare commit options with common random numbers.

The options are the scenario's strategies that only change contracts (``contracts.*`` key paths,
or nothing: pay as you go). Every option is simulated on the same paths (``sim.studies.commit``
runs them; this module analyses the results), so a difference between two options is a
difference of decisions, not of luck; its standard error is that of the paired per-path
difference.

Per option: expected total cost over the horizon, its P95 and CVaR, expected stranded commitment
and expected overage, each both in money and in the contract's own unit, the distribution of
commitment utilisation (drawn / committed over the term) and P(utilisation < 80 %). The optimal
option for expected cost and for CVaR at a chosen level, and the efficient frontier (mean vs P95:
the options no other option beats on both).

Money and units. Money (``expected_stranded_cost``, ``expected_overage_cost``) is in the
scenario's currency and is what is billed; the unit values (``expected_stranded``,
``expected_overage``, ``expected_drawn``) are in the commitment's own unit. Settlement is per
period (``sim.pools.contracts.settle_commit``); for a period with covered list spend L, covered tokens T,
list price per token p = L / T (the reference price when T = 0), discount d and overage rate r:

- token commit — unit: tokens. Overage O tokens (use above the commitment) cost O · p · r.
  Stranded S tokens (committed, unused and not rolled over; what is still carried when the term
  ends) cost S · p(1 − d): the discounted committed price the period's commitment was billed at.
  Carried-over tokens that expire are valued at the price of the period they expire in (exact
  when the price per token does not change between periods). With a true-up the shortfall R at
  the end of the term is billed R · p(1 − d) at the last period's price, and that is its stranded
  cost.
- dollar commit — unit: commitment dollars ("commit USD"): covered use draws the commitment down
  by its discounted spend L(1 − d). Stranded commitment dollars are money already paid: stranded
  cost = stranded units. Overage O commitment dollars are use bought at list: billed
  O / (1 − d) · r (so with overage at list, 1 commit USD of overage is a bill of 1 / (1 − d) USD).
- provisioned throughput — unit: tokens of capacity. Stranded = capacity tokens not used; stranded
  cost = units × price per unit-month × the unused share of the month's capacity. Overage = covered
  tokens the capacity could not absorb in the term, billed at list (outside the term, or with no
  units, covered use is plain pay-as-you-go and no overage of the contract).

An option's unit totals add its contracts' values even when their units differ (``stranded_unit``
is then "mixed"; the table shows unit values per contract), money always adds up. Results written
before the money variables existed (``commit_stranded_cost``, ``overage_cost``) give None for the
money values.

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

from ..scenario.model import Scenario, Strategy
from .common import AnalysisError, amount_str, cvar, text_table, total_spend

COMMIT_KINDS = ("token_commit", "dollar_commit", "provisioned_throughput", "reserved_gpus")


def apply_strategy(sc: Scenario, strat: Strategy) -> Scenario:
    return sc.with_strategy(strat)


def _level(c) -> float:
    from ..scenario.distributions import mean_of

    if c.kind in ("token_commit", "dollar_commit"):
        if c.amount_by_year is not None:  # a ramp: its mean amount per period over the term
            return sum(mean_of(x) for x in c.amount_by_year) / (c.term_months / c.period_months)
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
    has_money = "commit_stranded_cost" in ds and "overage_cost" in ds
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
        stranded_cost_tot: float | None = 0.0 if has_money else None
        overage_cost_tot: float | None = 0.0 if has_money else None
        for c in contracts:
            dr = ds["commit_drawn"].sel(strategy=n, contract=c).sum("month").values
            st = ds["commit_stranded"].sel(strategy=n, contract=c).sum("month").values
            ov = ds["overage"].sel(strategy=n, contract=c).sum("month").values
            committed = dr + st
            info = {"expected_drawn": float(dr.mean()), "expected_stranded": float(st.mean()),
                    "expected_overage": float(ov.mean())}
            if has_money:
                info["expected_stranded_cost"] = float(ds["commit_stranded_cost"].sel(strategy=n, contract=c)
                                                       .sum("month").mean())
                info["expected_overage_cost"] = float(ds["overage_cost"].sel(strategy=n, contract=c)
                                                      .sum("month").mean())
                stranded_cost_tot += info["expected_stranded_cost"]
                overage_cost_tot += info["expected_overage_cost"]
            else:
                info["expected_stranded_cost"] = info["expected_overage_cost"] = None
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
        unit_kinds = {c.name: _unit_kind(c) for c in opts[n]["scenario"].contracts} if n in opts else {}
        cur = ds.attrs.get("currency", "")
        for c, info in by_contract.items():
            info["kind"] = kinds.get(c)
            info["unit_kind"] = uk = unit_kinds.get(c)
            info["unit"] = ("tokens" if uk in ("token_commit", "provisioned_throughput")
                            else cur if uk == "dollar_commit" else None)
        units = {info["unit"] for info in by_contract.values()}
        row["stranded_unit"] = units.pop() if len(units) == 1 else ("mixed" if units else None)
        row["expected_stranded"] = stranded_tot
        row["expected_overage"] = overage_tot
        row["expected_drawn"] = drawn_tot
        row["expected_stranded_cost"] = stranded_cost_tot  # money: the scenario's currency
        row["expected_overage_cost"] = overage_cost_tot
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
    def fmt(v: float) -> str:
        return amount_str(v) if abs(v) >= 100 else f"{v:,.6g}"

    return (" (" + ", ".join(f"{k} = {fmt(v)}" for k, v in commit.items()) + " per period)") if commit else ""


def _unit_kind(c) -> str:
    """The kind whose unit a contract's commit variables are in: a seats contract reports its
    commitment (tokens or commitment dollars), or its included tokens when it has none."""
    if c.kind == "seats":
        return c.commit.kind if c.commit is not None else "token_commit"
    return c.kind


def unit_label(kind: str | None, currency: str) -> str:
    """The label of a contract's own unit in tables: tokens, or commitment dollars."""
    if kind in ("token_commit", "provisioned_throughput"):
        return "tokens"
    if kind == "dollar_commit":
        return f"commit {currency}".strip()
    return "contract unit"


def _pct(x: float | None) -> str:
    return "—" if x is None else format(x, ".0%")


def commit_table(r: dict) -> list[str]:
    """The options table: money columns in the scenario's currency, then stranded and overage in
    each contract's own unit; every column labelled with its unit, widths fitted to the values."""
    cur = r["currency"] or "currency"
    cv = f"CVaR{r['cvar_level'] * 100:g}"
    thr = f"P(u<{r['utilization_threshold'] * 100:g}%)"
    contracts: dict[str, str | None] = {}
    for o in r["options"]:
        for c, info in o.get("contracts", {}).items():
            if contracts.get(c) is None:
                contracts[c] = info.get("unit_kind", info.get("kind"))
    several = len(contracts) > 1
    headers = [("option", ""), ("E[cost]", cur), ("P95", cur), (cv, cur),
               ("E[stranded]", cur), ("E[overage]", cur)]
    for c, kind in contracts.items():
        unit = unit_label(kind, r["currency"])
        headers += [("E[stranded]", c, unit), ("E[overage]", c, unit)] if several else \
                   [("E[stranded]", unit), ("E[overage]", unit)]
    headers += [("E[util]", ""), (thr, ""), ("Δ vs best", cur), ("± se", cur)]
    best = r["optimal_commit_expected_cost"]["strategy"]
    rows = []
    for o in r["options"]:
        mark = ("*" if o["strategy"] == best else "") + ("f" if o["on_frontier"] else "")
        u = o["utilization"]
        cells = [f"{o['strategy']} {mark}".rstrip(), amount_str(o["expected_cost"]), amount_str(o["p95_cost"]),
                 amount_str(o["cvar_cost"]), amount_str(o.get("expected_stranded_cost")),
                 amount_str(o.get("expected_overage_cost"))]
        for c in contracts:
            info = o.get("contracts", {}).get(c)
            cells += [amount_str(info["expected_stranded"]) if info else "—",
                      amount_str(info["expected_overage"]) if info else "—"]
        cells += [_pct(u["mean"] if u else None), _pct(o["p_utilization_below_threshold"] if u else None),
                  amount_str(o["difference_vs_optimum"]), amount_str(o["se_difference_vs_optimum"])]
        rows.append(cells)
    return text_table(headers, rows)


def commit_text(r: dict) -> str:
    cur = r["currency"]
    lines = [f"Commit options — scenario {r['scenario']!r}, {r['paths']} paths, common random numbers; "
             f"cost = total spend over the horizon, {cur}", ""]
    if len(r["options"]) < 2 or not any(o["commit"] for o in r["options"]):
        lines += ["Nothing to compare: the scenario has " + ("one option" if len(r["options"]) < 2 else
                                                             "no commitment in its options")
                  + ". Add a contract (contracts:) and strategies that size it (contracts.NAME.amount or .units), "
                  "or search provisioned units with --provisioned PROFILE --workload W --slo ...", ""]
    cv = f"CVaR{r['cvar_level'] * 100:g}"
    lines += commit_table(r)
    b, bc = r["optimal_commit_expected_cost"], r["optimal_commit_cvar"]
    kinds = {info.get("unit_kind", info.get("kind"))
             for o in r["options"] for info in o.get("contracts", {}).values()}
    money = cur or "currency"
    lines += ["", "* optimal for expected cost, f on the efficient frontier (mean vs P95)",
              f"E[stranded] and E[overage] in {money} are money billed: stranded = commitment paid for and not",
              "used, overage = use above the commitment at its billed rate; then the same in the commitment's",
              "own unit" + (":" if "dollar_commit" in kinds else ".")]
    if "dollar_commit" in kinds:
        lines += [f"commit {cur} = commitment dollars, drawn down by use at the discounted price, so x commit {cur}",
                  f"of overage is billed x / (1 − discount) × overage rate {money}."]
    lines += [f"Optimal for expected cost: {b['strategy']}{_levels(b['commit'])} at {b['expected_cost']:,.0f} {cur}",
              f"Optimal for {cv}: {bc['strategy']}{_levels(bc['commit'])} at {bc['cvar_cost']:,.0f} {cur}",
              f"Efficient frontier: {', '.join(r['efficient_frontier'])}"]
    for nv in r["newsvendor"]:
        unit = unit_label(nv["kind"], cur)
        lines.append(f"Newsvendor check ({nv['contract']}, discount {nv['discount']:.0%}, overage {nv['overage_rate']:g}× list): "
                     f"the {nv['critical_ratio']:.0%}-quantile of demand per period is {nv['newsvendor_amount']:,.0f} {unit}; "
                     f"best grid amount {amount_str(nv['grid_optimum_amount'])} {unit}"
                     + (f" ({nv['note']})" if nv["note"] else ""))
    return "\n".join(lines)
