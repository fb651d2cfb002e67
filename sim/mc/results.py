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
from .engine import OWNED_COMPONENTS, POOLS

BY_POOL_WORKLOAD = ("tokens_input", "tokens_cached", "tokens_output", "tokens_reasoning", "requests", "sessions",
                    "spend")


def scenario_hash(sc: Scenario) -> str:
    """SHA-256 of the scenario's canonical JSON (stable across runs and machines)."""
    data = json.dumps(sc.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def block_dataset(block, sc: Scenario, paths: np.ndarray) -> xr.Dataset:
    """One strategy's block of paths (a ``sim.mc.engine.BlockResult``) as a Dataset with dims
    (path, month, pool, workload, ...)."""
    wl = block.workloads + block.saas + [IDLE]
    W, S = len(block.workloads), len(block.saas)
    P, M = block["spend"].shape[:2]
    data = {}
    for name in BY_POOL_WORKLOAD:
        full = np.zeros((P, M, len(POOLS), len(wl)))
        full[:, :, :, :W] = block[name]
        data[name] = full
    data["spend"][:, :, 3, W:W + S] = block["saas_spend"]
    data["tokens_input"][:, :, 3, W:W + S] = block["saas_tokens_input"]
    data["tokens_output"][:, :, 3, W:W + S] = block["saas_tokens_output"]
    data["spend"][:, :, :, -1] = block["idle_cost"]
    unserved = np.zeros((P, M, len(wl)))
    unserved[:, :, :W] = block["unserved_tokens"]
    unserved_s = np.zeros((P, M, len(wl)))
    unserved_s[:, :, :W] = block["unserved_sessions"]
    demand_s = np.zeros((P, M, len(wl)))
    demand_s[:, :, :W] = block["demand_sessions"]
    months = pd.DatetimeIndex([d.isoformat() for d in sc.horizon.month_starts()])
    coords = {"path": paths.astype(np.int64), "month": months, "pool": list(POOLS), "workload": wl,
              "contract": block.contracts, "owned_component": list(OWNED_COMPONENTS)}
    units = {w.name: w.business_unit for w in sc.workloads}
    coords["business_unit"] = ("workload", [units.get(w, "(shared)") for w in wl])
    d4 = ("path", "month", "pool", "workload")
    ds = xr.Dataset(
        {k: (d4, v) for k, v in data.items()}
        | {
            "unserved_tokens": (("path", "month", "workload"), unserved),
            "unserved_sessions": (("path", "month", "workload"), unserved_s),
            "demand_sessions": (("path", "month", "workload"), demand_s),
            "gpu_hours": (("path", "month", "pool"), block["gpu_hours"]),
            "utilization": (("path", "month", "pool"), block["utilization"]),
            "energy_kwh": (("path", "month", "pool"), block["energy_kwh"]),
            "commit_drawn": (("path", "month", "contract"), block["commit"][..., 0]),
            "commit_stranded": (("path", "month", "contract"), block["commit"][..., 1]),
            "overage": (("path", "month", "contract"), block["commit"][..., 2]),
            "commit_stranded_cost": (("path", "month", "contract"), block["commit"][..., 3]),
            "overage_cost": (("path", "month", "contract"), block["commit"][..., 4]),
            "owned_cost": (("path", "month", "owned_component"), block["owned_cost"]),
            "capex_cash": (("path", "month"), block["capex_cash"]),
            "peak_hour_tokens": (("path", "month"), block["peak_hour_tokens"]),
            "gpus_in_service": (("path", "month"), block["gpus_in_service"]),
        },
        coords=coords,
    )
    return ds


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
    """Zarr chunks for ``ds``: ``path_chunk`` paths, whole along every other dimension.

    Given as encoding (not ``ds.chunk``), so writing numpy-backed data needs no chunk manager: Zarr
    results work without dask installed.
    """
    enc = {}
    for name, v in ds.variables.items():
        if "path" in v.dims:
            enc[name] = {"chunks": tuple(max(1, path_chunk) if d == "path" else max(1, ds.sizes[d]) for d in v.dims)}
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
