"""Tables and files of the expected-value forecast.

Each table declares the unit of its columns where it is built (:func:`estimate_tables`, see
``sim.io.workbook``): money (spend, cost) is written at cents to its CSV and to the workbook of
``--xlsx``, which holds the same tables, one sheet each, plus the yearly table the text prints.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

from ..analysis.common import text_table
from ..io import files, outdir
from ..io.workbook import MONEY, PER_MTOK, SHARE, Table, write_workbook
from .sheets import FACTORY_UNITS
from ..pools.lines import basis_text
from ..pools.outcomes import outcome_ratios
from ..pools.owned import OWNED_COMPONENTS

TOKENS = ("tokens_input", "tokens_cached", "tokens_cache_write", "tokens_output", "tokens_reasoning")
LINE_UNITS = {"sessions": "sessions", "requests": "requests", **{k: "tokens" for k in TOKENS}, "spend": MONEY,
              "gpu_hours": "GPU-hours"}
POOL_UNITS = {"gpus": "GPUs", "gpu_hours_capacity": "GPU-hours", "gpu_hours_used": "GPU-hours", "utilization": SHARE,
              "energy_kwh": "kWh", "cost": MONEY, "capex_cash": MONEY, **{k: MONEY for k in OWNED_COMPONENTS},
              # the AI-factory columns (sim.pools.factory), as the report's factory table declares them
              **FACTORY_UNITS, "facility_energy_kwh": "kWh", "cost_per_mtok": PER_MTOK}
WORKLOAD_UNITS = {"alpha": "billed / first-attempt tokens", "attempts_per_call": "attempts",
                  "calls_per_session": "calls", "quota_stop_share": SHARE, "sessions_total": "sessions"}


def monthly_table(fc, by: str = "workload") -> pd.DataFrame:
    """Spend by month (rows) and ``by`` (columns), with a total column."""
    t = fc.lines.pivot_table(index="month", columns=by, values="spend", aggfunc="sum", fill_value=0.0)
    t = t.reindex(fc.meta["months"], fill_value=0.0)
    t["total"] = t.sum(axis=1)
    return t


def yearly_table(fc, by: str = "business_unit") -> pd.DataFrame:
    lines = fc.lines.assign(year=fc.lines["month"].str[:4])
    t = lines.pivot_table(index="year", columns=by, values="spend", aggfunc="sum", fill_value=0.0)
    t["total"] = t.sum(axis=1)
    return t


def _unit_cost_unit(column: str) -> str | None:
    if "_usd_per_mtok" in column:
        return PER_MTOK
    if column == "tokens_per_session":
        return "tokens"
    if column.endswith("_tokens_per_gpu_hour"):
        return "tokens/GPU-hour"
    if column.endswith(("_fleet_gpus", "_replica_gpus")):
        return "GPUs"
    return None


def estimate_tables(fc, unit_costs: pd.DataFrame) -> dict[str, Table]:
    """The forecast's tables with the unit of every column, by name: ``estimate_NAME.csv`` each."""
    monthly = monthly_table(fc).reset_index()
    by_pool = monthly_table(fc, "pool").reset_index()
    return {
        "monthly": Table(monthly, {c: MONEY for c in monthly.columns if c != "month"}),
        "monthly_by_pool": Table(by_pool, {c: MONEY for c in by_pool.columns if c != "month"}),
        "lines": Table(fc.lines, LINE_UNITS),
        "pools": Table(fc.pools, {**POOL_UNITS, **{c: PER_MTOK for c in fc.pools.columns if c.startswith("cost_per_mtok")}}),
        "workloads": Table(fc.workloads, WORKLOAD_UNITS),
        "unit_costs": Table(unit_costs, {c: u for c in unit_costs.columns if (u := _unit_cost_unit(c))}),
        **({"outcomes": Table(fc.outcomes, OUTCOME_UNITS)} if not fc.outcomes.empty else {}),
    }


OUTCOME_UNITS = {"work_units": "units of work", "ai_outcomes": "outcomes", "outcomes": "outcomes",
                 **{k: MONEY for k in ("spend", "fallback_cost", "review_cost", "outcome_cost", "value", "net_value")}}


def outcome_summary(fc) -> dict:
    """Per workload with an outcome, over the horizon: outcomes, cost per outcome, value, net value,
    ROI, value per million tokens (the expected-value engine's figures; ``sim.pools.outcomes``)."""
    if fc.outcomes.empty:
        return {}
    tok = fc.lines[fc.lines["pool"] != "unserved"]
    tok = (tok["tokens_input"] + tok["tokens_cached"] + tok["tokens_output"]).groupby(tok["workload"]).sum()
    out = {}
    for w, g in fc.outcomes.groupby("workload", sort=False):
        t = g[["work_units", "ai_outcomes", "outcomes", "spend", "fallback_cost", "review_cost", "outcome_cost", "value",
               "net_value"]].sum()
        n_tok = float(tok.get(w, 0.0))
        out[str(w)] = {"outcome": str(g["outcome"].iloc[0]), "unit": str(g["unit"].iloc[0]),
                       **{k: float(v) for k, v in t.items()}, "tokens": n_tok,
                       **outcome_ratios(t["work_units"], t["ai_outcomes"], t["outcomes"], t["outcome_cost"],
                                        t["value"], t["net_value"], n_tok)}
    return out


def estimate_sheets(fc, unit_costs: pd.DataFrame) -> dict[str, Table]:
    """The sheets of ``tokensim estimate --xlsx``: the CSV tables, then the yearly table the text prints."""
    yearly = yearly_table(fc).reset_index()
    return {**estimate_tables(fc, unit_costs),
            "yearly_by_business_unit": Table(yearly, {c: MONEY for c in yearly.columns if c != "year"})}


def write_estimate(fc, unit_costs: pd.DataFrame, out_dir: Path, xlsx: Path | None = None) -> list[Path]:
    """Write the forecast's tables under ``out_dir`` (locked meanwhile, ``sim.io.outdir``), and with
    ``xlsx`` the workbook of them there, put in place together: an interrupted or failed write leaves the
    previous set as it was. Returns the files written, the workbook not among them."""
    tables = estimate_tables(fc, unit_costs)
    with contextlib.ExitStack() as stack:
        out_dir = stack.enter_context(outdir.locked(Path(out_dir)))
        if xlsx is not None:
            stack.enter_context(outdir.locked(Path(xlsx).parent))
        stack.enter_context(files.staged())
        written = [files.write_csv(out_dir / f"estimate_{name}.csv", t.frame, money=t.money)
                   for name, t in tables.items()]
        written.append(files.write_json(out_dir / "estimate.json", estimate_json(fc, unit_costs)))
        if xlsx is not None:
            write_workbook(Path(xlsx), estimate_sheets(fc, unit_costs), currency=fc.meta["currency"])
    return written


def estimate_json(fc, unit_costs: pd.DataFrame) -> dict:
    m = monthly_table(fc)
    y = yearly_table(fc)
    return {
        "ok": True,
        "scenario": fc.meta["scenario"],
        "strategy": fc.meta["strategy"],
        "currency": fc.meta["currency"],
        "price_date": fc.meta["price_date"],
        "price_library": fc.meta["price_library"],
        "tokensim": fc.meta["tokensim"],
        "total_spend": float(m["total"].sum()),
        "monthly_spend": {k: float(v) for k, v in m["total"].items()},
        "annual_spend": {k: float(v) for k, v in y["total"].items()},
        "spend_by_business_unit": _sum(fc.lines, "business_unit"),
        "spend_by_workload": _sum(fc.lines, "workload"),
        "spend_by_pool": _sum(fc.lines, "pool"),
        "spend_by_model": _sum(fc.lines[fc.lines["model"] != ""], "model"),
        "tokens": {k: float(fc.lines[k].sum()) for k in ("tokens_input", "tokens_cached", "tokens_cache_write",
                                                         "tokens_output", "tokens_reasoning")},
        "requests": float(fc.lines["requests"].sum()),
        "alpha": {r.workload: float(r.alpha) for r in fc.workloads.itertuples()},
        "cost_per_mtok": unit_costs.set_index("workload").to_dict(orient="index"),
        "outcomes": outcome_summary(fc),
    }


def _sum(lines: pd.DataFrame, by: str) -> dict:
    return {str(k): float(v) for k, v in lines.groupby(by)["spend"].sum().items()}


def _money(x: float) -> str:
    return f"{x:,.0f}"


def estimate_text(fc, unit_costs: pd.DataFrame, written: list[Path]) -> str:
    m = monthly_table(fc)
    cur = fc.meta["currency"]
    cols = [c for c in m.columns if c != "total"] + ["total"]
    width = max(10, *(len(c) for c in cols))
    head = f"{'month':<8}" + "".join(f"{c:>{width + 1}}" for c in cols)
    out = [f"Expected monthly spend, {cur} — scenario {fc.meta['scenario']!r}, strategy {fc.meta['strategy']!r} "
           f"(list prices {fc.meta['price_date']}, {fc.meta['price_library']})", "", head, "-" * len(head)]
    for month, row in m.iterrows():
        out.append(f"{month:<8}" + "".join(f"{_money(row[c]):>{width + 1}}" for c in cols))
    out.append("-" * len(head))
    y = yearly_table(fc)
    out.append("")
    out.append("By year and business unit:")
    ycols = list(y.columns)
    yw = max(12, *(len(c) for c in ycols))
    out.append(f"{'year':<6}" + "".join(f"{c:>{yw + 1}}" for c in ycols))
    for year, row in y.iterrows():
        out.append(f"{year:<6}" + "".join(f"{_money(row[c]):>{yw + 1}}" for c in ycols))
    out.append("")
    out.append("Retry overhead alpha (billed / first-attempt tokens): " + ", ".join(
        f"{r.workload} {r.alpha:.3f}" for r in fc.workloads.itertuples()))
    if not unit_costs.empty:
        out.append("")
        out.append(f"Cost per million tokens ({cur}), at each workload's token mix and SLO:")
        show = [c for c in unit_costs.columns if c.endswith("usd_per_mtok") or "usd_per_mtok_u" in c]
        label = {}
        for c in show:
            name, _, util = c.partition("_usd_per_mtok")
            name = name.replace("neocloud_reserved", "neo res").replace("neocloud_on_demand", "neo on-demand")
            label[c] = f"{name} @{util[2:]}%" if util.startswith("_u") else name
        width = {c: max(8, len(label[c])) + 2 for c in show}  # each column as wide as its label
        wl_w = max(10, *(len(str(x)) for x in unit_costs["workload"])) + 1
        out.append(f"{'workload':<{wl_w}}" + "".join(f"{label[c]:>{width[c]}}" for c in show))
        for r in unit_costs.itertuples(index=False):
            d = r._asdict()
            out.append(f"{d['workload']:<{wl_w}}" + "".join(
                f"{d[c]:>{width[c]}.3f}" if pd.notna(d.get(c)) else f"{'-':>{width[c]}}" for c in show))
        out.append("(GPU pools at the utilisation shown, as a share of usable capacity = availability × headroom;"
                   " owned includes depreciation, power, colocation, staff, licences and support)")
        for r in unit_costs.to_dict(orient="records"):
            for pool in ("neocloud", "owned"):
                n = r.get(f"{pool}_fleet_gpus")
                if n is not None and pd.notna(n):
                    basis = r.get(f"{pool}_fleet_basis")
                    rep = r.get(f"{pool}_replica_gpus", 1)
                    why = basis_text(basis)
                    if basis != "replica":
                        why += f", in {rep:g}-GPU replica{'s' if n != rep else ''}"
                    out.append(f"  {r['workload']} on {pool}: {n:g} GPU{'s' if n != 1 else ''} ({why})")
    oc = outcome_summary(fc)
    if oc:
        out += ["", f"Outcomes over the horizon ({cur}):"]
        rows = [[w, f"{r['outcomes']:,.0f} {r['unit']}", "—" if r["success_rate"] is None else f"{r['success_rate']:.1%}",
                 f"{r['outcome_cost']:,.0f}", "—" if r["cost_per_outcome"] is None else f"{r['cost_per_outcome']:,.2f}",
                 f"{r['value']:,.0f}", f"{r['net_value']:,.0f}", "—" if r["roi"] is None else f"{r['roi']:.1f}×",
                 "—" if r["value_per_mtok"] is None else f"{r['value_per_mtok']:,.2f}"]
                for w, r in oc.items()]
        out += text_table(["workload", "outcomes", "AI success", "cost", f"{cur}/outcome", "value", "net value", "ROI",
                           "value/MTok"], rows)
        out.append("(cost = spend + human fallback + review; net value = value − cost; ROI = net value / cost)")
    out.append("")
    out.append("Written: " + ", ".join(str(p) for p in written))
    return "\n".join(out)
