"""The AI-factory view of a Monte Carlo run, for the report: per strategy, GPU pool and month, what
the fleet turned power and money into (formulas and units: ``sim.pools.factory``).

:func:`factory_table` reads the results' factory variables (``facility_mw``, ``facility_energy_kwh``,
``idle_share``, ``cost_per_mtok_tier``) with ``tokens_*`` and ``spend``. Each row is one
(strategy, pool, month) in which the pool had GPUs paid on at least one path. Columns:

- ``tokens``, ``energy_mwh``, ``facility_mw``: means over all paths (a path without GPUs counts 0);
- ``tokens_per_mwh``, ``energy_kwh_per_mtok``, ``tokens_per_mw``, ``cost_per_mtok``: ratios of those
  path means (the fleet's expected tokens over its expected energy, and so on), not means of per-path
  ratios: a path counts by its size, and a path that served no token cannot make one undefined;
  NaN where the denominator is 0 (no token served on any path);
- ``idle_share``: mean over the paths with GPUs paid;
- one ``cost_per_mtok_<tier>`` column per goodput tier (``sim.pools.factory.tier_column``): mean over
  the paths with GPUs paid; NaN where a model the pool serves cannot reach the tier;
- ``energy_estimated``: True where the energy is an estimate (neocloud: no meter), ``paths_in_service``:
  the share of paths with GPUs paid, ``cost``: the pool's mean cost that month (currency), tokens or
  none (what yearly figures sum).

A run without a GPU pool in use (or a file written before these variables existed) gives an empty
DataFrame with the base columns.
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from ..pools.factory import GPU_POOLS, tier_column
from .common import month_index, period_labels

BASE_COLUMNS = ("strategy", "pool", "month", "tokens", "energy_mwh", "tokens_per_mwh", "energy_kwh_per_mtok",
                "tokens_per_mw", "idle_share", "cost_per_mtok")
TAIL_COLUMNS = ("facility_mw", "energy_estimated", "paths_in_service", "cost")
NEEDS = ("facility_mw", "facility_energy_kwh", "idle_share", "cost_per_mtok_tier", "spend", "tokens_input",
         "tokens_cached", "tokens_output")


def _ratio(num: xr.DataArray, den: xr.DataArray, scale: float = 1.0) -> xr.DataArray:
    return (num * scale / den.where(den > 0)).where(den > 0)


def factory_table(ds: xr.Dataset) -> pd.DataFrame:
    """The AI-factory table of results ``ds`` (module docstring); empty when no GPU pool was in use."""
    empty = pd.DataFrame(columns=list(BASE_COLUMNS + TAIL_COLUMNS))
    if any(v not in ds.data_vars for v in NEEDS) or "goodput_tier" not in ds.dims:
        return empty
    pools = [p for p in GPU_POOLS if p in set(map(str, ds["pool"].values))]
    if not pools:
        return empty
    d = ds[list(NEEDS)].sel(pool=pools)
    mw = d["facility_mw"].astype(float)
    active = mw > 0
    share = active.mean("path")
    if not bool(share.any()):
        return empty
    tokens = (d["tokens_input"].astype(float) + d["tokens_cached"] + d["tokens_output"]).sum("workload")
    cost = d["spend"].sum("workload")
    energy = d["facility_energy_kwh"].astype(float)
    tok_m, e_m, mw_m, cost_m = (x.mean("path") for x in (tokens, energy, mw, cost))
    tier = d["cost_per_mtok_tier"]
    cols = {
        "tokens": tok_m,
        "energy_mwh": e_m / 1000.0,
        "tokens_per_mwh": _ratio(tok_m, e_m, 1000.0),
        "energy_kwh_per_mtok": _ratio(e_m, tok_m, 1e6),
        "tokens_per_mw": _ratio(tok_m, mw_m),
        "idle_share": d["idle_share"].astype(float).where(active).mean("path"),
        "cost_per_mtok": _ratio(cost_m, tok_m, 1e6),
    }
    labels = [str(t) for t in ds["goodput_tier"].values]
    for t, lab in enumerate(labels):
        x = tier.isel(goodput_tier=t)
        cols[tier_column(lab)] = x.where(active & (x > 0)).mean("path")
    cols["facility_mw"] = mw_m
    cols["paths_in_service"] = share
    cols["cost"] = cost_m  # the pool's mean cost that month, paid whether or not a token was served
    t = xr.Dataset({k: v.drop_vars([c for c in v.coords if c not in ("strategy", "month", "pool")])
                    for k, v in cols.items()})
    df = t.to_dataframe().reset_index()
    df = df[df["paths_in_service"] > 0].copy()
    months = dict(zip(pd.DatetimeIndex(ds["month"].values), period_labels(month_index(ds), "month")))
    df["month"] = [months[pd.Timestamp(m)] for m in df["month"]]
    df["strategy"] = df["strategy"].astype(str)
    df["pool"] = df["pool"].astype(str)
    df["energy_estimated"] = df["pool"] != "owned"
    order = {s: i for i, s in enumerate(map(str, ds["strategy"].values))}
    df = df.sort_values(["strategy", "pool", "month"], key=lambda c: c.map(order) if c.name == "strategy" else c)
    tiers = [tier_column(lab) for lab in labels]
    return df[list(BASE_COLUMNS) + tiers + list(TAIL_COLUMNS)].reset_index(drop=True).astype(
        {c: float for c in BASE_COLUMNS[3:] + tuple(tiers) + ("facility_mw", "paths_in_service", "cost")})

