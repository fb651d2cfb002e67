"""Tables and files of the expected-value forecast."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import files, outdir
from ..pools.lines import basis_text


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


def write_estimate(fc, unit_costs: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write the forecast's tables under ``out_dir`` (locked meanwhile, ``sim.io.outdir``), put in place
    together: an interrupted or failed write leaves the previous set as it was."""
    with outdir.locked(Path(out_dir)) as out_dir, files.staged():
        written = [
            files.write_csv(out_dir / "estimate_monthly.csv", monthly_table(fc).reset_index()),
            files.write_csv(out_dir / "estimate_monthly_by_pool.csv", monthly_table(fc, "pool").reset_index()),
            files.write_csv(out_dir / "estimate_lines.csv", fc.lines),
            files.write_csv(out_dir / "estimate_pools.csv", fc.pools),
            files.write_csv(out_dir / "estimate_workloads.csv", fc.workloads),
            files.write_csv(out_dir / "estimate_unit_costs.csv", unit_costs),
            files.write_json(out_dir / "estimate.json", estimate_json(fc, unit_costs)),
        ]
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
    out.append("")
    out.append("Written: " + ", ".join(str(p) for p in written))
    return "\n".join(out)
