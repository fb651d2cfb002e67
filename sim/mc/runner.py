"""Run a scenario's Monte Carlo: blocks of paths, every strategy, local threads or Dask.

A run is cut into blocks of ``block_size`` paths. Each block is simulated for every strategy with
the same draws (common random numbers) and appended, once, to the staging store
``DIR/.results.staging.zarr``; ``resume`` appends after the blocks it holds; the finished store
becomes ``DIR/results.zarr`` by a rename, or is exported once to ``DIR/results.nc``. A path's numbers depend only on the seed and its global index, so results do not
depend on the block size, the number of threads, or whether blocks ran on Dask workers.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from ..catalog.prices import PriceBook
from ..io.files import remove
from ..limits import DEFAULT_BLOCK
from ..scenario.model import Scenario
from ..pools.factory import GOODPUT_TIERS
from ..pools.owned import OWNED_COMPONENTS
from .engine import OUTCOME_VARS, POOLS, hour_profiles, simulate_block, warmth_tables
from .results import (BY_POOL_WORKLOAD, assemble_block, attach_attrs, describe, open_zarr_results, scenario_hash,
                      write_dataset, zarr_encoding, dtype_of)
from .checks import DAILY, FACTORY
from .sampling import draw, shape_points
from ..expected.session import SessionCache
from .tables import SessionTables, build_tables

DEFAULT_TABLES = 16


class RunError(Exception):
    """A run cannot start or finish (bad paths, unreachable scheduler, output not writable)."""


@dataclass
class Prepared:
    """What every block needs: one scenario and its session tables per strategy."""

    names: list[str]
    scenarios: list[Scenario]
    tables: list[SessionTables]
    k_tables: int
    deterministic: bool
    warmth: list = None  # per strategy: the kernel's shared-prefix warmth tables (``engine.warmth_tables``)
    daily: bool = False  # keep demand per day (run --daily)


def prepare(sc: Scenario, deterministic: bool = False, k_tables: int = DEFAULT_TABLES, daily: bool = False) -> Prepared:
    names, scs, tabs = [], [], []
    sessions = SessionCache()  # one per run: strategies share their unchanged workloads' sessions
    for strat in sc.all_strategies():
        s = sc.with_strategy(strat)
        book = PriceBook(s.price_date, s.prices.overrides)
        pts = shape_points(s, k_tables, deterministic)
        k = len(next(iter(pts.values()))) if pts else 1
        names.append(strat.name)
        scs.append(s)
        tabs.append(build_tables(s, pts, book, sessions))
    built: dict = {}  # strategies with the same hour shares, calls and TTLs share their tables
    warmth = []
    for s, tab in zip(scs, tabs):
        hourly = hour_profiles(s)[1]
        key = (hourly.tobytes(), tab.calls.tobytes(), tab.calls.shape, tab.ttl.tobytes())
        if key not in built:
            built[key] = warmth_tables(hourly, tab)
        warmth.append(built[key])
    return Prepared(names, scs, tabs, k if not deterministic else 1, deterministic, warmth, daily)


def run_block(prep: Prepared, paths: np.ndarray) -> xr.Dataset:
    """All strategies for one block of global path indices."""
    parts = []
    memo: dict = {}  # strategies with the same demand and capacity share one kernel call
    for i, (name, s, tab) in enumerate(zip(prep.names, prep.scenarios, prep.tables)):
        d = draw(s, paths, tab.calls.shape[0], prep.deterministic)
        block = simulate_block(s, tab, d, PriceBook(s.price_date, s.prices.overrides), prep.deterministic,
                               keep_daily=prep.daily, warmth=prep.warmth[i] if prep.warmth else None, memo=memo)
        parts.append((name, s, block, d))
    return assemble_block(parts, paths)


BLOCK_BYTES = 2_000_000_000  # the blocks of every strategy in memory (the one computed and the one being written)
NETCDF_BYTES = 4_000_000_000  # a NetCDF export holds the whole run in memory once


def bytes_per_path(sc: Scenario, daily: bool = False) -> int:
    """Bytes one path of every strategy takes in the results (the dtypes of ``results.dtype_of``; see
    ``results.assemble_block``), drawn inputs aside."""
    # token and SaaS workloads, each seats contract's fee line, and the idle line
    w = len(sc.workloads) + sum(c.kind == "seats" for c in sc.contracts) + 1
    p, c = len(POOLS), len(sc.contracts)
    values = {k: p * w for k in BY_POOL_WORKLOAD}  # per path-month
    values |= {k: w for k in ("unserved_tokens", "unserved_sessions", "demand_sessions")}
    values |= {k: p for k in ("gpu_hours", "utilization", "energy_kwh", *FACTORY)}
    values |= {"cost_per_mtok_tier": p * len(GOODPUT_TIERS)}
    values |= {k: c for k in ("commit_drawn", "commit_stranded", "overage", "commit_stranded_cost", "overage_cost")}
    values |= {"owned_cost": len(OWNED_COMPONENTS), "capex_cash": 1, "peak_hour_tokens": 1, "gpus_in_service": 1}
    n_out = sum(w_.outcome is not None for w_ in sc.token_workloads)  # workloads with an outcome
    values |= {k: n_out for k in OUTCOME_VARS}
    per_month = sum(n * np.dtype(dtype_of(k)).itemsize for k, n in values.items())
    once = n_out * np.dtype(dtype_of("cost_per_outcome")).itemsize  # per path, over the horizon
    per_day = len(DAILY) * w * np.dtype(dtype_of(DAILY[0])).itemsize if daily else 0
    return len(sc.all_strategies()) * (sc.horizon.months * per_month + once + sc.horizon.days * per_day)


def check_size(sc: Scenario, n: int, block_size: int, netcdf: bool, daily: bool = False,
               writer: bool = True) -> None:
    """Refuse, before any allocation, a run whose block or NetCDF export would not fit in memory.

    A block's copies: every strategy's arrays, the assembled block, the kernel's outputs, and, with
    ``writer`` (a streamed run in this process), the block the writer thread is appending."""
    per = bytes_per_path(sc, daily)
    copies = 4 if writer else 3
    block = per * min(block_size, n) * copies
    if block > BLOCK_BYTES:
        fit = max(1, BLOCK_BYTES // (copies * per))
        raise RunError(f"a block of {min(block_size, n):,} paths needs about {block / 1e9:.1f} GB "
                       f"({per:,} bytes per path over {len(sc.all_strategies())} strategies); "
                       f"use --block-size {fit:,} or fewer")
    if netcdf and per * n > NETCDF_BYTES:
        raise RunError(f"{n:,} paths make {per * n / 1e9:.1f} GB of results, more than a NetCDF export holds in "
                       f"memory ({NETCDF_BYTES / 1e9:.0f} GB); stream them with --zarr")


def run(sc: Scenario, *, paths: int | None = None, out: Path | None = None, block_size: int = DEFAULT_BLOCK,
        workers: int | None = None, scheduler: str | None = None, resume: bool = False,
        deterministic: bool = False, zarr: bool = False, progress: Callable[[int, int, float], None] | None = None,
        k_tables: int = DEFAULT_TABLES, daily: bool = False,
        before_commit: Callable[[xr.Dataset], None] | None = None) -> tuple[xr.Dataset, Path | None]:
    """Simulate ``paths`` paths of every strategy; write DIR/results.nc (``zarr``: DIR/results.zarr)
    when ``out`` is given, streaming blocks as they finish (:func:`_stream`).

    ``out`` is locked for the run (``sim.io.outdir``: another process writing there raises
    ``OutputBusy``), and stale temporary files there are removed. Each block's kernel and every
    write is a ``deferred`` section (``sim.io.interrupt``): under the CLI a signal stops the run
    between blocks, before the results are put in place; the finished blocks stay in the staging
    store for ``resume``, and no temporary file is left. ``before_commit(ds)`` (the CLI's
    summary) runs on the finished results just before they are put in place: once they are, the
    command is done and a signal no longer interrupts it (``interrupt.committed``).
    """
    n = int(paths if paths is not None else sc.paths)
    if n <= 0:
        raise RunError(f"paths must be a positive whole number, got {n}")
    if block_size <= 0:
        raise RunError(f"block size must be positive, got {block_size}")
    if workers is not None:
        import numba

        if workers < 1:
            raise RunError(f"workers must be >= 1, got {workers}")
        numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
    check_size(sc, n, block_size, netcdf=out is None or not zarr, daily=daily,
               writer=out is not None and not scheduler)
    opts = dict(n=n, block_size=block_size, scheduler=scheduler, resume=resume, deterministic=deterministic,
                zarr=zarr, progress=progress, k_tables=k_tables, before_commit=before_commit, daily=daily)
    if out is None:
        return _run(sc, None, **opts)
    from ..io import outdir
    from ..io.files import OutputError, ensure_dir

    try:
        ensure_dir(Path(out))
    except OutputError as exc:
        raise RunError(str(exc)) from None
    with outdir.locked(Path(out)):  # OutputBusy (an OutputError) when another process writes there
        return _run(sc, Path(out), **opts)


def _run(sc: Scenario, out: Path | None, *, n: int, block_size: int, scheduler: str | None, resume: bool,
         deterministic: bool, zarr: bool, progress: Callable[[int, int, float], None] | None,
         k_tables: int, before_commit: Callable[[xr.Dataset], None] | None,
         daily: bool = False) -> tuple[xr.Dataset, Path | None]:
    from ..io import interrupt

    with interrupt.deferred():  # the session tables run numba kernels too
        prep = prepare(sc, deterministic, k_tables, daily)
    blocks = [np.arange(a, min(a + block_size, n)) for a in range(0, n, block_size)]
    if out is None:  # in memory (the studies' small runs): no store, nothing to resume
        parts = []
        for b in blocks:
            with interrupt.deferred():
                parts.append(run_block(prep, b))
        ds = _normalise(xr.concat(parts, dim="path", join="outer", fill_value=0.0))
        _check_paths(ds["path"].values, ds["strategy"].values, n, prep.names)
        ds = attach_attrs(ds, sc, paths_total=n, deterministic=deterministic)
        ds.attrs["strategies"] = ",".join(prep.names)
        if before_commit is not None:
            before_commit(ds)
        return ds, None
    return _stream(sc, out, prep, blocks, n=n, block_size=block_size, scheduler=scheduler, resume=resume,
                   deterministic=deterministic, netcdf=not zarr, progress=progress, k_tables=k_tables,
                   before_commit=before_commit)  # prep carries daily


def _stream(sc: Scenario, out: Path, prep: Prepared, blocks: list[np.ndarray], *, n: int, block_size: int,
            scheduler: str | None, resume: bool, deterministic: bool, netcdf: bool,
            progress: Callable[[int, int, float], None] | None, k_tables: int,
            before_commit: Callable[[xr.Dataset], None] | None) -> tuple[xr.Dataset, Path]:
    """Write once: each finished block is appended, in path order, to the staging store
    ``DIR/.results.staging.zarr`` and never rewritten; when every block is in, the store is renamed
    to ``DIR/results.zarr`` (or, for NetCDF, exported once to ``DIR/results.nc``). The staging store
    records the run it belongs to and how many blocks it holds, so ``resume`` appends after them;
    memory holds at most the blocks that finished out of order (Dask), never the run."""
    from ..io import interrupt

    tag = f"{scenario_hash(sc)[:16]}-{n}-{block_size}-{int(deterministic)}-{k_tables}" + ("-daily" if prep.daily else "")
    staging = out / STAGING
    done = _resume_point(staging, tag, block_size, n) if resume else 0
    if done == 0:
        remove(staging)
    shutil.rmtree(out / ".chunks", ignore_errors=True)  # the block files of earlier versions
    results: dict[int, xr.Dataset] = {}
    next_write = done
    t0 = time.time()

    def flush() -> None:
        nonlocal next_write
        while next_write in results:
            part = describe(_normalise(results.pop(next_write)))  # units, meanings
            if next_write == 0:
                part.to_zarr(staging, mode="w", zarr_format=2, encoding=zarr_encoding(part, block_size))
            else:
                part.to_zarr(staging, append_dim="path", zarr_format=2)
            next_write += 1
            _mark(staging, tag, next_write)  # after the append: a block counts once all of it is in

    def finish(i: int, ds: xr.Dataset) -> None:
        with interrupt.deferred():  # an append is never cut: the store holds whole blocks
            results[i] = ds
            flush()
        if progress:
            progress(next_write, len(blocks), time.time() - t0)

    todo = list(range(done, len(blocks)))
    if scheduler:
        _run_dask(scheduler, prep, blocks, todo, finish)
    else:
        # Block i is appended by a writer thread while block i + 1 is computed: the append (xarray,
        # zarr, Zstandard) and the kernel (which releases the GIL) overlap. At most one block waits
        # to be written, so memory holds two blocks; the order, and so the bytes, are unchanged.
        from concurrent.futures import ThreadPoolExecutor, wait

        writing = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokensim-writer") as writer:
            try:
                for i in todo:
                    with interrupt.deferred():  # a signal stops the run between blocks, never inside the kernel
                        ds = run_block(prep, blocks[i])
                    if writing is not None:
                        writing.result()  # the previous append is in (its error, if any, is raised here)
                    writing = writer.submit(finish, i, ds)
                    del ds
                if writing is not None:
                    writing.result()
            finally:  # however the loop ends, the append under way finishes before anything else (the lock
                if writing is not None:  # on DIR is released after): the store holds whole blocks; a second
                    with interrupt.shielded():  # signal waits for it too; the error that ended the loop is raised
                        wait([writing])
    import zarr as _zarr

    with interrupt.deferred():
        _check_store(staging, n, prep.names)
        attrs = attach_attrs(xr.Dataset(), sc, paths_total=n, deterministic=deterministic).attrs
        attrs["strategies"] = ",".join(prep.names)
        group = _zarr.open_group(str(staging), mode="a")
        group.attrs.update(attrs)  # the staging bookkeeping (run_tag, blocks_done) stays until it is in place
        _zarr.consolidate_metadata(str(staging))
    final = out / ("results.nc" if netcdf else "results.zarr")
    if netcdf:  # an export of the finished store: the run in memory once, written once
        ds = _normalise(open_zarr_results(staging).load())
        for k in BOOKKEEPING:
            ds.attrs.pop(k, None)
        if before_commit is not None:
            before_commit(ds)
        with interrupt.deferred():
            interrupt.check()  # the last point where a signal leaves nothing in place
            write_dataset(ds, final)  # atomic
            remove(out / "results.zarr")  # a run directory holds one run: readers must not find an older one
            interrupt.committed()
            remove(staging)
        return ds, final
    if before_commit is not None:
        before_commit(open_zarr_results(staging))  # interruptible: nothing is in place yet
    with interrupt.deferred():
        interrupt.check()
        for k in BOOKKEEPING:
            group.attrs.pop(k, None)  # not a property of the results (it names the block size)
        _zarr.consolidate_metadata(str(staging))
        remove(final)
        os.replace(staging, final)
        remove(out / "results.nc")  # a run directory holds one run: readers must not find an older one
        interrupt.committed()
    return open_zarr_results(final), final


STAGING = ".results.staging.zarr"  # the store a run appends its blocks to (kept for --resume)
BOOKKEEPING = ("run_tag", "blocks_done")  # attributes of the staging store only


def _mark(store: Path, tag: str, blocks_done: int) -> None:
    import zarr as _zarr

    _zarr.open_group(str(store), mode="a").attrs.update(run_tag=tag, blocks_done=int(blocks_done))


def _resume_point(store: Path, tag: str, block_size: int, n: int) -> int:
    """Blocks of this run (``tag``) the staging store holds; arrays a killed append left longer are
    cut back to them. 0 when there is no store, it belongs to another run, or it holds fewer paths
    than its record says."""
    import zarr as _zarr

    try:
        group = _zarr.open_group(str(store), mode="r+")
        if group.attrs.get("run_tag") != tag:
            return 0
        done = int(group.attrs.get("blocks_done", 0))
        expected = min(done * block_size, n)
        if done <= 0 or int(group["path"].shape[0]) < expected:
            return 0
        for _, arr in group.arrays():
            dims = list(arr.attrs.get("_ARRAY_DIMENSIONS", []))
            if "path" in dims and arr.shape[dims.index("path")] != expected:
                shape = list(arr.shape)
                shape[dims.index("path")] = expected
                arr.resize(tuple(shape))
                if arr.shape[dims.index("path")] != expected:
                    return 0
        return done
    except Exception:  # noqa: BLE001 - no store, or one too damaged to read: start over
        return 0


def _check_paths(path: np.ndarray, strategy: np.ndarray, n: int, names: list[str]) -> None:
    """The results hold exactly paths 0 … n - 1, in order, for exactly the run's strategies (the
    attributes ``paths``, ``path_start`` and ``path_stop`` say so); else nothing is written."""
    path = np.asarray(path)
    if path.shape != (n,) or not np.array_equal(path, np.arange(n)):
        raise RuntimeError(f"the results would hold {path.size} paths ({path[:3].tolist()} …), not exactly the "
                           f"paths 0 … {n - 1} of the run: nothing written")
    if [str(s) for s in strategy] != list(names):
        raise RuntimeError(f"the results would hold strategies {[str(s) for s in strategy]}, not the run's "
                           f"{names}: nothing written")


def _check_store(store: Path, n: int, names: list[str]) -> None:
    """:func:`_check_paths` for a streamed store, and every variable holding all its paths."""
    with xr.open_zarr(store, consolidated=False) as z:  # xarray refuses variables of unequal path lengths
        _check_paths(z["path"].values, z["strategy"].values, n, names)


def _normalise(ds: xr.Dataset) -> xr.Dataset:
    """Same dtypes and no file encodings, whether a block was just computed or read back from disk,
    so a resumed run writes the same bytes as an uninterrupted one."""
    ds = ds.assign_coords(strategy=np.asarray(ds["strategy"].values, dtype=str),
                          month=np.asarray(ds["month"].values, dtype="datetime64[ns]"))
    for v in ds.variables.values():
        v.encoding = {}
    ds.encoding = {}
    return ds


def _run_dask(address: str, prep: Prepared, blocks: list, todo: list, finish) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - the dask extra is not installed
        raise RunError("--scheduler needs the dask extra: pip install 'tokensim[dask]'") from None
    try:
        client = Client(address, timeout="10s") if isinstance(address, str) else address
    except (OSError, TimeoutError) as exc:
        raise RunError(f"cannot reach the Dask scheduler at {address} within 10 s: {exc}") from None
    try:
        futs = {client.submit(run_block, prep, blocks[i], pure=False): i for i in todo}
        for fut in as_completed(futs):
            finish(futs[fut], fut.result())
    finally:
        if isinstance(address, str):
            client.close()
