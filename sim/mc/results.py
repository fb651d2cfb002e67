"""Results as an xarray Dataset: assembly from blocks, attributes, NetCDF / Zarr I/O."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .. import __version__
from ..catalog.prices import library_version
from ..expected.forecast import IDLE
from ..scenario.model import Scenario
from ..pools.factory import GOODPUT_TIERS, NEOCLOUD_PUE, tier_label
from .checks import DAILY, DIMS, FACTORY
from .engine import OUTCOME_VARS, OWNED_COMPONENTS, POOLS

BY_POOL_WORKLOAD = ("tokens_input", "tokens_cached", "tokens_output", "tokens_reasoning", "requests", "sessions",
                    "spend")


def scenario_hash(sc: Scenario) -> str:
    """SHA-256 of the scenario's canonical JSON (stable across runs and machines)."""
    data = json.dumps(sc.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


# Stored dtypes (issue 10). float32 keeps 24 bits, a relative rounding of at most 2^-24 ≈ 6e-8 per
# value: far below the Monte Carlo error of any quantity tokensim reports (a 10,000-path mean of a
# spread of 10 % is known to 1e-3), and exact for whole numbers below 2^24 (GPU counts). It is used
# for physical quantities. Money, contract quantities (a commitment's drawn, stranded and overage,
# in tokens or currency: finance reconciles them to the cent) and the drawn inputs stay float64.
FLOAT32 = ("tokens_input", "tokens_cached", "tokens_output", "tokens_reasoning", "requests", "sessions",
           "unserved_tokens", "unserved_sessions", "demand_sessions", "gpu_hours", "utilization", "energy_kwh",
           "peak_hour_tokens", "gpus_in_service", "work_units", "ai_outcomes", "outcomes", *FACTORY, *DAILY)


def dtype_of(name: str) -> type:
    """The dtype a results variable is stored in (``FLOAT32``, else float64)."""
    return np.float32 if name in FLOAT32 else np.float64


def _union(lists: list[list[str]]) -> list[str]:
    """Names in order of first appearance over the strategies."""
    out: list[str] = []
    for names in lists:
        out += [n for n in names if n not in out]
    return out


def _cols(idx: list[int]) -> slice | list[int]:
    """A slice for consecutive columns (a strided copy, much faster than fancy indexing), else the list."""
    if idx and idx == list(range(idx[0], idx[0] + len(idx))):
        return slice(idx[0], idx[0] + len(idx))
    return idx


def assemble_block(parts: list, paths: np.ndarray) -> xr.Dataset:
    """One block of paths of every strategy as a Dataset with dims (strategy, path, month, pool,
    workload, ...), written straight into arrays of the block's size (no per-strategy Dataset, no
    concatenation).

    ``parts``: (strategy name, strategy-applied scenario, ``sim.mc.engine.BlockResult``, ``Draws``)
    per strategy. The workload and contract axes are the union over strategies (first appearance;
    the idle line last); a strategy without a workload, contract or drawn input holds 0 there.
    """
    n_s, P = len(parts), int(paths.size)
    sc0 = parts[0][1]
    M = parts[0][2]["spend"].shape[1]
    wl = _union([b.workloads + b.saas for _, _, b, _ in parts]) + [IDLE]
    contracts = _union([b.contracts for _, _, b, _ in parts])
    oc_wl = _outcome_workloads(parts)
    col = {w: i for i, w in enumerate(wl)}
    np_, nw, nc = len(POOLS), len(wl), len(contracts)

    def alloc(name, *shape):
        return np.zeros((n_s, P, M) + shape, dtype=dtype_of(name))

    data = {k: alloc(k, np_, nw) for k in BY_POOL_WORKLOAD}
    for k in ("unserved_tokens", "unserved_sessions", "demand_sessions"):
        data[k] = alloc(k, nw)
    for k in ("gpu_hours", "utilization", "energy_kwh", *FACTORY):
        data[k] = alloc(k, np_)
    data["cost_per_mtok_tier"] = alloc("cost_per_mtok_tier", np_, len(GOODPUT_TIERS))
    commit = {k: alloc(k, nc) for k in ("commit_drawn", "commit_stranded", "overage", "commit_stranded_cost",
                                        "overage_cost")}
    data["owned_cost"] = alloc("owned_cost", len(OWNED_COMPONENTS))
    if oc_wl:
        for k in OUTCOME_VARS:
            data[k] = alloc(k, len(oc_wl))
        data["cost_per_outcome"] = np.zeros((n_s, P, len(oc_wl)))
    for k in ("capex_cash", "peak_hour_tokens", "gpus_in_service"):
        data[k] = alloc(k)
    D = parts[0][2]["daily_requests"].shape[1]
    if D:  # run --daily: demand per day of the token workloads (0 on SaaS and idle lines)
        for k in DAILY:
            data[k] = np.zeros((n_s, P, D, nw), dtype=dtype_of(k))
    inputs: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for i, (_, sc, block, draws) in enumerate(parts):
        tw = _cols([col[w] for w in block.workloads])
        sw = _cols([col[w] for w in block.saas])
        for k in BY_POOL_WORKLOAD:
            data[k][i][..., tw] = block[k]
        data["spend"][i][:, :, 3, sw] = block["saas_spend"]
        data["tokens_input"][i][:, :, 3, sw] = block["saas_tokens_input"]
        data["tokens_output"][i][:, :, 3, sw] = block["saas_tokens_output"]
        data["spend"][i][:, :, :, -1] = block["idle_cost"]
        for k in ("unserved_tokens", "unserved_sessions", "demand_sessions"):
            data[k][i][..., tw] = block[k]
        for k in ("gpu_hours", "utilization", "energy_kwh", "owned_cost", "capex_cash", "peak_hour_tokens",
                  "gpus_in_service", *FACTORY, "cost_per_mtok_tier"):
            data[k][i] = block[k]
        if D:
            for k in DAILY:
                data[k][i][..., tw] = block[k]
        if oc_wl:
            for k in (*OUTCOME_VARS, "cost_per_outcome"):
                data[k][i] = block[k]
        cc = _cols([contracts.index(c) for c in block.contracts])
        for j, k in enumerate(commit):
            commit[k][i][..., cc] = block["commit"][..., j]
        for path, vals in draws.scale.items():
            inputs.setdefault(f"input:{path}", np.zeros((n_s, P)))[i] = vals
        for path, vals in draws.shape_points.items():
            inputs.setdefault(f"input:{path}", np.zeros((n_s, P)))[i] = np.asarray(vals, float)[draws.table_of_path]
        units.update({w.name: w.business_unit for w in sc.workloads if w.name not in units})
        # a seats contract's fee line belongs to the business unit its seats follow (else shared)
        units.update({c.name: c.business_unit for c in sc.contracts
                      if c.kind == "seats" and c.business_unit and c.name not in units})
    months = pd.DatetimeIndex([d.isoformat() for d in sc0.horizon.month_starts()])
    coords = {"strategy": [name for name, *_ in parts], "path": paths.astype(np.int64), "month": months,
              "pool": list(POOLS), "workload": wl, "contract": contracts, "owned_component": list(OWNED_COMPONENTS),
              "business_unit": ("workload", [units.get(w, "(shared)") for w in wl]),
              "goodput_tier": [tier_label(b) for b in GOODPUT_TIERS],
              "goodput_tier_tok_s_user": ("goodput_tier", np.asarray(GOODPUT_TIERS, float))}
    if oc_wl:
        o = {w.name: w.outcome for w in sc0.token_workloads if w.outcome is not None}
        coords |= {"outcome_workload": oc_wl, "outcome": ("outcome_workload", [o[w].name for w in oc_wl]),
                   "outcome_unit": ("outcome_workload", [o[w].unit for w in oc_wl])}
    if D:
        coords["day"] = pd.date_range(sc0.horizon.start_date.isoformat(), periods=D, freq="D")
    variables = {k: (DIMS[k], v) for k, v in (data | commit).items()}
    variables |= {k: (("strategy", "path"), v) for k, v in inputs.items()}
    return xr.Dataset(variables, coords=coords)


def _outcome_workloads(parts: list) -> list[str]:
    """The workloads with an outcome: the same in every strategy (a strategy that adds or drops one
    would leave the others' cost per outcome undefined there, so it is refused)."""
    first = parts[0][2].outcomes
    for name, _, b, _ in parts[1:]:
        if b.outcomes != first:
            raise ValueError(f"strategy {name!r} has outcomes for {', '.join(b.outcomes) or 'no workload'} but strategy "
                             f"{parts[0][0]!r} for {', '.join(first) or 'no workload'}: every strategy must define "
                             "the same workloads' outcomes (change an outcome's values, not whether it exists)")
    return list(first)


def describe(ds: xr.Dataset) -> xr.Dataset:
    """Units and meanings as variable attributes."""
    doc = {
        "tokens_input": ("tokens", "input tokens billed at the input or cache-write rate (not cache reads)"),
        "tokens_cached": ("tokens", "input tokens read from a prompt cache"),
        "tokens_output": ("tokens", "output tokens, reasoning included"),
        "tokens_reasoning": ("tokens", "hidden reasoning tokens (part of tokens_output)"),
        "requests": ("calls", "model calls, retries and cascade calls included"),
        "sessions": ("sessions", "sessions, tasks or documents served"),
        "spend": ("currency", "spend after contracts; GPU pool costs shown back by GPU-seconds"),
        "unserved_tokens": ("tokens", "demand no allowed pool could take"),
        "unserved_sessions": ("sessions", "sessions no allowed pool could take"),
        "demand_sessions": ("sessions", "sessions demanded (drawn), before dispatch"),
        "gpu_hours": ("GPU-hours", "work served, at catalog speed"),
        "utilization": ("share", "gpu_hours / GPU-hours paid for"),
        "energy_kwh": ("kWh", "facility energy of owned GPUs (PUE included)"),
        "commit_drawn": ("tokens or currency", "commitment used"),
        "commit_stranded": ("tokens or currency", "commitment paid for and unused"),
        "overage": ("tokens or currency", "use above the commitment"),
        "commit_stranded_cost": ("currency", "what the stranded commitment was paid: stranded tokens at the "
                                             "period's committed price p(1 - d), stranded commitment dollars as is"),
        "overage_cost": ("currency", "what the overage is billed: tokens at overage_rate x list, commitment "
                                     "dollars / (1 - d) x overage_rate"),
        "owned_cost": ("currency", "owned-fleet cost by component (accrual view)"),
        "capex_cash": ("currency", "cash paid for GPU orders (cash view)"),
        "peak_hour_tokens": ("tokens", "largest hourly token demand of the month"),
        "gpus_in_service": ("GPUs", "owned GPUs serving"),
        # the AI-factory view of the GPU pools (sim.pools.factory has the formulas); tokens = input, cached
        # input and output served by the pool; 0 = no figure (never NaN)
        "facility_mw": ("MW", "facility power capacity of the GPUs paid for: average GPUs paid x full-load system "
                              "power (catalog allin_power_w) x PUE; also the mask of the factory variables: 0 where "
                              "the pool had no GPU paid that month (API and SaaS pools always), and every factory "
                              "variable is then 0"),
        "facility_energy_kwh": ("kWh", "facility energy of the pool, PUE included: owned, energy_kwh (metered); "
                                       "neocloud, an ESTIMATE from the catalog power curve at the utilisation "
                                       f"served x PUE {NEOCLOUD_PUE:g} (sim.pools.factory.NEOCLOUD_PUE; rentals are billed by "
                                       "the GPU-hour, not metered)"),
        "tokens_per_mwh": ("tokens/MWh", "tokens served / facility_energy_kwh x 1000 (0 where no GPU was paid)"),
        "energy_kwh_per_mtok": ("kWh/MTok", "facility_energy_kwh per million tokens served (0 where the pool "
                                            "served no token or no GPU was paid)"),
        "tokens_per_mw": ("tokens/MW-month", "tokens served in the month per MW of facility power capacity "
                                             "(facility_mw; 0 where no GPU was paid)"),
        "idle_share": ("share", "1 - utilization of the GPU-hours paid for (0 where no GPU was paid)"),
        "cost_per_mtok_tier": ("currency/MTok", "the pool's cost per paid GPU-hour / tokens one GPU-hour serves at "
                                                "the goodput tier's interactivity (catalog curve of the pool's GPU "
                                                "and served models, prompt and output at the benchmark's 1:1 shape, "
                                                "x 2 for per million output tokens), at 100 % use; 0 where no GPU "
                                                "was paid or a served model cannot reach the tier"),
        "work_units": ("units of work", "sessions, tasks or documents demanded of a workload with an outcome "
                                        "(served + unserved)"),
        "ai_outcomes": ("outcomes", "units of work whose outcome the AI achieved"),
        "outcomes": ("outcomes", "outcomes achieved: by the AI, plus the human fallback's where one is defined"),
        "fallback_cost": ("currency", "human fallback for the units the AI failed"),
        "review_cost": ("currency", "human review of every unit of work"),
        "outcome_cost": ("currency", "spend + fallback_cost + review_cost: the whole cost of the outcomes"),
        "value": ("currency", "outcomes x value per outcome"),
        "net_value": ("currency", "value - outcome_cost"),
        "cost_per_outcome": ("currency/outcome", "outcome_cost / outcomes over the horizon"),
        "daily_sessions": ("sessions", "sessions demanded on the day (run --daily), before dispatch"),
        "daily_requests": ("calls", "model calls demanded on the day, at the month's calls per session"),
        "daily_tokens": ("tokens", "tokens demanded on the day (input, cached and output)"),
    }
    for k, (u, d) in doc.items():
        if k in ds:
            ds[k].attrs.update(units=u, description=d)
    return ds


def attach_attrs(ds: xr.Dataset, sc: Scenario, *, paths_total: int, deterministic: bool) -> xr.Dataset:
    """The run's record: the scenario (name and hash), the seed, and the paths the file holds:
    ``paths`` of them per strategy, with global indices exactly ``path_start`` (0) … ``path_stop`` - 1
    in order (the runner checks the coordinate against them before writing)."""
    ds.attrs.update(
        scenario=sc.name, scenario_hash=scenario_hash(sc), seed=int(sc.seed), paths=int(paths_total),
        path_start=0, path_stop=int(paths_total),
        currency=sc.currency, price_date=sc.price_date.isoformat(), tokensim_version=__version__,
        price_library=f"genai-prices {library_version()}", deterministic=int(deterministic),
        horizon_start=sc.horizon.start, months=int(sc.horizon.months),
    )
    return describe(ds)


def zarr_encoding(ds: xr.Dataset, path_chunk: int) -> dict:
    """Zarr chunks for ``ds``: ``path_chunk`` paths, whole along every other dimension; data
    variables compressed with Zstandard at its default level 3.

    Given as encoding (not ``ds.chunk``), so writing numpy-backed data needs no chunk manager: Zarr
    results work without dask installed. Zstandard level 3 (measured on a 500-path block of the
    default scenario, docs/benchmarks.md): a store 3.4× smaller than Zarr's default (Blosc LZ4),
    written and read no slower; most of a block is zeros (pools and workloads that never meet).
    """
    from numcodecs import Zstd

    enc = {}
    for name, v in ds.variables.items():
        if "path" in v.dims:
            enc[name] = {"chunks": tuple(max(1, path_chunk) if d == "path" else max(1, ds.sizes[d]) for d in v.dims)}
            if name in ds.data_vars:
                enc[name]["compressors"] = (Zstd(level=3),)
    return enc


def open_zarr_results(path: str | Path) -> xr.Dataset:
    """A Zarr results store, lazily: dask arrays by chunk when dask is installed, else xarray's lazily
    indexed arrays (a slice reads only its chunks). Either way nothing is read until used."""
    return xr.open_zarr(path)


def write_dataset(ds: xr.Dataset, path: Path) -> Path:
    """Write NetCDF (``.nc``) or Zarr (``.zarr``) atomically: a temporary sibling, then a rename.

    Signals are deferred while writing (``sim.io.interrupt``): SIGINT or SIGTERM removes the
    temporary file or store and leaves ``path`` as it was."""
    from ..io import interrupt
    from ..io.files import atomic_write, ensure_dir, remove, temp_dir

    path = Path(path)
    if path.suffix == ".zarr":
        import os

        ensure_dir(path.parent)
        with interrupt.deferred():
            tmp = temp_dir(path)
            try:
                remove(tmp)  # to_zarr creates the store
                ds.to_zarr(tmp, mode="w", zarr_format=2, encoding=zarr_encoding(ds, min(1024, ds.sizes["path"])))
                interrupt.check()
                if path.exists():
                    remove(path)
                os.replace(tmp, path)
            except BaseException:
                remove(tmp)
                raise
        return path
    encoding = {k: {"zlib": True, "complevel": 1} for k in ds.data_vars}
    return atomic_write(path, lambda p: ds.to_netcdf(p, engine="h5netcdf", encoding=encoding))


def results_file(path: str | Path) -> Path:
    """The results file ``path`` names: itself, or DIR/results.nc (else DIR/results.zarr) for a run directory."""
    p = Path(path)
    if p.is_dir() and (p / "results.nc").exists():
        return p / "results.nc"
    if p.is_dir() and (p / "results.zarr").exists():
        return p / "results.zarr"
    return p


def open_results(path: str | Path, variables=None, *, purpose: str = "this command", optional=()) -> xr.Dataset:
    """A results file (NetCDF or Zarr, or the run directory holding one), in memory.

    With ``variables`` (the ones the caller reads), the file is also checked
    (``sim.mc.checks.check_results``): a tokensim results file, those variables present and finite,
    at least one path, paths consistent with the attributes; else ``ResultsFileError`` naming the
    file and each problem.
    """
    p = results_file(path)
    if variables is not None:
        from .checks import check_results

        return check_results(_read_results(p), tuple(variables), source=str(p), purpose=purpose,
                             optional=tuple(optional))
    return _read_results(p)


def _read_results(p: Path) -> xr.Dataset:
    if p.suffix == ".zarr":
        # lazily, without dask: a variable is read when a command first uses it, so `budget` on
        # 100,000 paths holds the spend it sums, not every variable of the run
        return xr.open_zarr(p, chunks=None)
    with xr.open_dataset(p, engine="h5netcdf") as ds:
        return ds.load()
