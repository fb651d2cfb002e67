"""The workbook sheets (``--xlsx``) of budget, commit, tco and report: each table with its units.

A sheet is a ``sim.io.workbook.Table``: a DataFrame and the unit of its columns, declared here
where the table is built (``MONEY`` for amounts, rounded to cents; ``PER_MTOK`` for prices per
million tokens; ``SHARE`` for fractions; "tokens", "paths", ...). ``budget``, ``commit`` and ``tco``
write no CSV: their sheets are the tables they print, from the same result their ``--json``
prints, with a column for each key a printed table shows. ``report`` writes CSV tables beside its
page (built by ``sim.report.html`` and the section modules); :func:`report_sheets` gives each of
them its units by table name, and the same rounded tables go to the CSVs and the workbook
(``sim.io.workbook.rounded``). ``estimate``'s sheets are its CSV tables (``sim.report.estimate``).
"""

from __future__ import annotations

import pandas as pd

from ..analysis.commit import unit_label
from ..io.workbook import MONEY, PER_MTOK, SHARE, ByRow, Table

_LABELS = ("period", "dimension", "group", "business_unit", "month", "date", "strategy", "pool", "component")
MC_ERROR_UNITS = {"value": MONEY, "se": MONEY, "rel_se": SHARE, "paths_for_1pct": "paths"}
RUNWAY_UNITS = {"value": ByRow("measure", {"P(year total > budget)": SHARE}, MONEY),
                **{k: ByRow("measure", {"runs out": "date"}, MONEY) for k in ("p10", "p50", "p90")}}
COST_CURVE_UNITS = {"tokens_per_year": "tokens/year", "usd_per_mtok": PER_MTOK, "cost_per_year": MONEY}
PURCHASE_UNITS = {"month": "month of the horizon", **{k: MONEY for k in ("expected_npv_savings", "se", "p10", "p50",
                                                                          "p90")},
                  **{k: SHARE for k in ("p_regret", "expected_stranded_share", "p_stranded_over_half",
                                        "p_never_in_service")}}


def _stats(frame: pd.DataFrame, labels=_LABELS) -> dict:
    """Every column but the labels is money (tables of spend statistics: mean, sd, p5..p95)."""
    return {c: MONEY for c in frame.columns if c not in labels}


# ---- budget ---------------------------------------------------------------------------------------
def budget_sheets(r: dict, runway: dict | None = None) -> dict[str, Table]:
    """``tokensim budget``: spend by period (the printed table, all quantiles), by group, chargeback,
    Monte Carlo error, and with ``runway`` (``sim.analysis.runway.runway``) the runway."""
    total = r["total"].copy()
    units = _stats(total)
    conf = f"P{r['confidence'] * 100:g} budget"
    total[conf] = [r["budget_at_confidence"][p] for p in total["period"]]
    units[conf] = MONEY
    if r["p_exceed"] is not None:
        total["P(spend > budget)"] = [r["p_exceed"][p] for p in total["period"]]
        units["P(spend > budget)"] = SHARE
        total["budget"] = r["budget"]
        units["budget"] = MONEY
    total["partial period"] = ["yes" if p in r["partial_periods"] else "" for p in total["period"]]
    sheets = {f"spend_by_{r['period']}": Table(total, units),
              "spend_by_group": Table(r["quantiles"], _stats(r["quantiles"])),
              "chargeback": Table(r["chargeback"], {"mean": MONEY, "p50": MONEY, "p90": MONEY, "share": SHARE}),
              "monte_carlo_error": Table(r["mc_error"], MC_ERROR_UNITS)}
    if runway is not None:
        sheets["runway"] = Table(runway_table(runway), RUNWAY_UNITS)
    return sheets


def runway_table(r: dict) -> pd.DataFrame:
    """The runway's figures as the report's table ``runway`` holds them (measure, value, P10, P50, P90)."""
    budget, q = r["budget"], r["runout_date"]
    rows = [("budget", budget, None, None, None), ("year to date", r["ytd_spend"], None, None, None),
            ("burn rate per day", r["burn_rate_per_day"], None, None, None),
            ("remaining budget", budget - r["ytd_spend"], None, None, None),
            (f"rest of year ({r['forecast_from']}..{r['forecast_to']})", None,
             *(r["rest_of_year"][k] for k in ("p10", "p50", "p90"))),
            ("year total", None, *(r["year_total"][k] for k in ("p10", "p50", "p90"))),
            ("P(year total > budget)", r["p_exceed_year"], None, None, None),
            ("runs out", None, *(q[k] or "not within the horizon" for k in ("p10", "p50", "p90")))]
    return pd.DataFrame(rows, columns=["measure", "value", "p10", "p50", "p90"])


# ---- commit ---------------------------------------------------------------------------------------
def _levels(commit: dict) -> str:
    return ", ".join(f"{k} = {v:,.0f}" if abs(v) >= 100 else f"{k} = {v:g}" for k, v in commit.items())


def commit_sheets(r: dict, searched: dict | None = None) -> dict[str, Table]:
    """``tokensim commit``: the options (money in the currency), each option's contracts (in their own
    unit), the newsvendor check, and with ``searched`` (``--provisioned``) the options the search added."""
    cur = r["currency"]
    cv = f"cvar{r['cvar_level'] * 100:g}_cost"
    below = f"p_utilization_below_{r['utilization_threshold'] * 100:g}%"
    best, best_cvar = r["optimal_commit_expected_cost"]["strategy"], r["optimal_commit_cvar"]["strategy"]
    rows, contracts = [], []
    for o in r["options"]:
        u = o.get("utilization")
        optimal = [w for w, b in (("expected cost", best), ("CVaR", best_cvar)) if o["strategy"] == b]
        rows.append({"option": o["strategy"], "commit per period": _levels(o["commit"]),
                     "expected_cost": o["expected_cost"], "se_expected_cost": o["se_expected_cost"],
                     "p5_cost": o["p5_cost"], "p50_cost": o["p50_cost"], "p95_cost": o["p95_cost"],
                     cv: o["cvar_cost"], "expected_stranded_cost": o.get("expected_stranded_cost"),
                     "expected_overage_cost": o.get("expected_overage_cost"),
                     "utilization_mean": u["mean"] if u else None,
                     below: o["p_utilization_below_threshold"] if u else None,
                     "difference_vs_optimum": o["difference_vs_optimum"],
                     "se_difference_vs_optimum": o["se_difference_vs_optimum"],
                     "on_frontier": "yes" if o["on_frontier"] else "", "optimal for": " and ".join(optimal)})
        for c, info in o.get("contracts", {}).items():
            cu = info.get("utilization")
            contracts.append({"option": o["strategy"], "contract": c, "kind": info.get("kind") or "",
                              "unit": unit_label(info.get("kind"), cur),
                              "expected_drawn": info["expected_drawn"], "expected_stranded": info["expected_stranded"],
                              "expected_overage": info["expected_overage"],
                              "expected_stranded_cost": info.get("expected_stranded_cost"),
                              "expected_overage_cost": info.get("expected_overage_cost"),
                              "utilization_mean": cu["mean"] if cu else None,
                              "p_utilization_below": info.get("p_utilization_below")})
    money = ("expected_cost", "se_expected_cost", "p5_cost", "p50_cost", "p95_cost", cv, "expected_stranded_cost",
             "expected_overage_cost", "difference_vs_optimum", "se_difference_vs_optimum")
    sheets = {"options": Table(pd.DataFrame(rows), {**{k: MONEY for k in money}, "utilization_mean": SHARE,
                                                    below: SHARE})}
    in_unit = ByRow("unit")  # each row's unit is in its column "unit"
    if contracts:
        sheets["contracts"] = Table(pd.DataFrame(contracts), {
            "expected_drawn": in_unit, "expected_stranded": in_unit, "expected_overage": in_unit,
            "expected_stranded_cost": MONEY, "expected_overage_cost": MONEY, "utilization_mean": SHARE,
            "p_utilization_below": SHARE})
    if r["newsvendor"]:
        nv = pd.DataFrame([{"contract": n["contract"], "kind": n["kind"], "unit": unit_label(n["kind"], cur),
                            "discount": n["discount"], "overage_rate": n["overage_rate"],
                            "critical_ratio": n["critical_ratio"],
                            "demand_per_period_mean": n["demand_per_period"]["mean"],
                            "demand_per_period_p5": n["demand_per_period"]["p5"],
                            "demand_per_period_p95": n["demand_per_period"]["p95"],
                            "newsvendor_amount": n["newsvendor_amount"],
                            "grid_optimum_amount": n["grid_optimum_amount"], "note": n["note"]}
                           for n in r["newsvendor"]])
        sheets["newsvendor"] = Table(nv, {"discount": SHARE, "overage_rate": "× list price", "critical_ratio": SHARE,
                                          **{c: in_unit for c in nv.columns if c.startswith("demand_")
                                             or c.endswith("_amount")}})
    if searched:
        opts = pd.DataFrame(searched["options"])
        sheets["provisioned_options"] = Table(opts, {"units": "units"})
    return sheets


# ---- tco ------------------------------------------------------------------------------------------
def tco_sheets(r: dict) -> dict[str, Table]:
    """``tokensim tco``: cost per million tokens at scale, crossovers (and by year), the pools' cost
    lines, the cost curves, the workload's volume, the owned split and the purchase-month sweep."""
    sheets = {"cost_at_scale": Table(pd.DataFrame([{"pool": p, "cost_per_mtok_at_scale": v}
                                                   for p, v in r["usd_per_mtok_at_scale"].items()]),
                                     {"cost_per_mtok_at_scale": PER_MTOK})}
    dist = (r.get("crossover_distribution") or {}).get("pairs", {})
    rows = []
    for k, v in r["crossover_tokens_per_year"].items():
        d = dist.get(k) or {}
        rows.append({"pools compared": k, "crossover (expected inputs)": v, "p10": d.get("p10"), "p50": d.get("p50"),
                     "p90": d.get("p90"), "p_never": d.get("p_never"),
                     "draws": (r.get("crossover_distribution") or {}).get("draws")})
    cross = pd.DataFrame(rows, columns=["pools compared", "crossover (expected inputs)", "p10", "p50", "p90",
                                        "p_never", "draws"])
    sheets["crossovers"] = Table(cross, {"crossover (expected inputs)": "tokens/year", "p10": "tokens/year",
                                         "p50": "tokens/year", "p90": "tokens/year", "p_never": SHARE,
                                         "draws": "draws"})
    if r["crossover_by_year"]:
        by_year = pd.DataFrame(r["crossover_by_year"])
        sheets["crossover_by_year"] = Table(by_year, {
            c: (PER_MTOK if c.endswith("_usd_per_mtok_at_scale") else "tokens/year" if "_vs_" in c
                else "month of the horizon" if c == "month" else None) for c in by_year.columns})
    lines = pd.DataFrame([{"pool": p, **v} for p, v in r["pool_lines"].items()])
    sheets["pool_lines"] = Table(lines, {"floor_per_year": MONEY, "per_gpu_year": MONEY,
                                         "per_token": "{currency}/token", "tokens_per_gpu_year": "tokens/year",
                                         "min_gpus": "GPUs", "replica_gpus": "GPUs"})
    sheets["cost_curves"] = Table(r["cost_curves"], COST_CURVE_UNITS)
    vol = pd.DataFrame([{"year": y, "tokens": v} for y, v in r["expected_tokens_per_year"].items()],
                       columns=["year", "tokens"])
    sheets["expected_volume"] = Table(vol, {"tokens": "tokens"})
    split = r.get("owned_cost_per_mtok_by_component")
    if split:
        comp = pd.DataFrame([{"component": k, "cost_per_mtok": v} for k, v in split.items()]
                            + [{"component": "total", "cost_per_mtok": sum(split.values())}])
        sheets["owned_cost_split"] = Table(comp, {"cost_per_mtok": PER_MTOK})
    pa = r.get("purchase_sweep")
    if pa:
        sheets["purchase_months"] = Table(pa["table"], PURCHASE_UNITS)
    return sheets


# ---- report ---------------------------------------------------------------------------------------
def _sizing_units(frame: pd.DataFrame) -> dict:
    units = {}
    for c in frame.columns:
        if "(USD)" in c:
            units[c] = MONEY
        elif c.endswith("(s)"):
            units[c] = "s"
        elif c.endswith("(ms)"):
            units[c] = "ms"
        elif "P(" in c or "share" in c or c in ("spill to pay-go", "overload (1 s windows)"):
            units[c] = SHARE
        elif c == "units" or c.startswith("stranded units"):
            units[c] = "units"
    return units


PER_OUTCOME = "{currency} per outcome"  # a price per outcome: not an amount, keeps its digits
FACTORY_UNITS = {"tokens": "tokens", "energy_mwh": "MWh", "tokens_per_mwh": "tokens/MWh",
                 "energy_kwh_per_mtok": "kWh/MTok", "tokens_per_mw": "tokens/MW", "idle_share": SHARE,
                 "facility_mw": "MW", "paths_in_service": SHARE, "cost": MONEY}


def _outcome_units(frame: pd.DataFrame) -> dict:
    """The outcome accounting (``sim.analysis.outcomes.outcome_table``): money, prices per outcome, shares."""
    units: dict = {}
    for c in frame.columns:
        if c.startswith("cost_per_outcome"):
            units[c] = PER_OUTCOME
        elif c in ("spend", "fallback_cost", "review_cost", "cost", "outcome_cost", "value") or c.startswith("net_value"):
            units[c] = MONEY
        elif c in ("success_rate", "p_best"):
            units[c] = SHARE
        elif c == "roi":
            units[c] = "× cost"  # net value / cost, as the command line prints it (6.1×)
        elif c in ("ai_outcomes", "outcomes"):
            units[c] = ByRow("unit")
        elif c in ("sessions", "work_units"):
            units[c] = "work units"
        elif c == "tokens":
            units[c] = "tokens"
        elif c == "value_per_mtok":
            units[c] = PER_MTOK
    return units


def report_units(name: str, frame: pd.DataFrame, quantity: str = "requests") -> dict:
    """The units of the report's CSV table ``name`` (the keys of ``build_report``'s tables); ``quantity``
    is what a backtest counted. A table not known here has none (``tests/test_workbook`` lists them all)."""
    if name in ("budget_by_year", "budget_quantiles", "monthly_quantiles"):
        return _stats(frame)
    if name == "chargeback":
        return {"mean": MONEY, "p50": MONEY, "p90": MONEY, "share": SHARE}
    if name == "monte_carlo_error":
        return MC_ERROR_UNITS
    if name == "strategies":
        return {c: (MONEY if c in ("mean", "p5", "p25", "p50", "p75", "p95", "net value") else
                    SHARE if c.startswith("P(") else PER_OUTCOME if c.startswith("cost per ") else None)
                for c in frame.columns}
    if name == "outcomes":
        return _outcome_units(frame)
    if name == "factory":
        return {**{c: PER_MTOK for c in frame.columns if c.startswith("cost_per_mtok")}, **FACTORY_UNITS}
    if name == "commit_options":
        in_unit = ByRow("unit (stranded, overage)")
        return {c: (MONEY if c in ("expected cost", "P95 cost") or c.startswith("CVaR") else
                    in_unit if c in ("expected stranded", "expected overage") else
                    SHARE if c.startswith("P(") else None) for c in frame.columns}
    if name == "tco_cost_curves":
        return COST_CURVE_UNITS
    if name == "tco_purchase_months":
        return PURCHASE_UNITS
    if name == "tornado":
        return {"low_value": "the input's unit", "high_value": "the input's unit", "metric_at_low": MONEY,
                "metric_at_high": MONEY, "swing": MONEY, "base": MONEY}
    if name == "runway":
        return RUNWAY_UNITS
    if name == "runway_days":
        return {c: MONEY for c in frame.columns if c.startswith(("actual_", "forecast_cumulative_"))}
    if name == "backtest_scores":
        return {"days": "days", "P5–P95 coverage": SHARE, "P25–P75 coverage": SHARE, "median bias": SHARE,
                **{c: "share of the actual" for c in frame.columns if c.startswith("CRPS")}}
    if name == "backtest_days":
        return {**{c: f"{quantity} a day" for c in ("actual", "p5", "p25", "p50", "p75", "p95")}, "pit": SHARE}
    if name.startswith("sizing") and name.endswith(("_plans", "_term")):
        return _sizing_units(frame)
    return {}


def report_sheets(tables: dict[str, pd.DataFrame], quantity: str = "requests") -> dict[str, Table]:
    """The report's CSV tables with their units, by name, in order."""
    return {name: Table(df, {c: u for c, u in report_units(name, df, quantity).items() if c in df.columns})
            for name, df in tables.items()}
