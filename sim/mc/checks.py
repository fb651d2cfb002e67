"""Can this results file give an honest answer? Checked before any analysis reads it.

``tokensim budget``, ``compare`` and ``report`` read a results file (NetCDF or Zarr) written by
``tokensim run``. A file that is not one, that lacks a variable the command reads, that holds no
path, that holds more or fewer paths than its attributes record or the same path twice (two runs
writing to one ``--out``), or whose values are not finite would otherwise give a traceback or,
worse, a plausible answer: a sum that skips NaN prints a spend of 0 with ``ok: true``.

:func:`results_problems` returns every problem, one located message each, naming the file (and the
variable and the coordinates of the first bad value for a non-finite one);
:func:`check_results` raises :class:`ResultsFileError` with them. Two kinds, as the CLI reports
them (exit status 2 either way):

- ``"usage"``: the file's structure is wrong (not a tokensim results file, a variable missing, no
  paths, paths inconsistent with the attributes). Like a file that cannot be read at all, it is a
  bad argument: the wrong file, or one cut down or mixed.
- ``"result"``: the structure is right but a value the command reads is NaN or infinite: the
  same kind as an engine output that is not finite (``sim.finite``).

Structure problems win the kind when both occur. This module reads a Dataset only: it imports no
engine, so the analyses and the report may call it (``.importlinter``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..finite import NonFiniteResultError, dataset_nonfinite, path_slices

# attrs written by sim.mc.results.attach_attrs that a reader needs (scenario and hash: the report finds
# the scenario file; seed: compare pairs paths; paths and months: the consistency checks; currency)
REQUIRED_ATTRS = ("scenario", "scenario_hash", "seed", "paths", "currency", "months")
INDEX = ("strategy", "path", "month", "pool", "workload")  # dimensions every results file has
DAILY = ("daily_sessions", "daily_requests", "daily_tokens")  # written by run --daily
# the AI-factory variables by (strategy, path, month, pool): sim.pools.factory.VARIABLES
FACTORY = ("tokens_per_mwh", "energy_kwh_per_mtok", "tokens_per_mw", "idle_share", "facility_mw",
           "facility_energy_kwh")
# the dimensions of each results variable: sim.mc.results.assemble_block writes them from this table
DIMS: dict[str, tuple[str, ...]] = {
    **{v: INDEX for v in ("tokens_input", "tokens_cached", "tokens_output", "tokens_reasoning",
                                     "requests", "sessions", "spend")},
    **{v: ("strategy", "path", "month", "workload") for v in ("unserved_tokens", "unserved_sessions",
                                                            "demand_sessions")},
    **{v: ("strategy", "path", "month", "pool") for v in ("gpu_hours", "utilization", "energy_kwh")},
    # the AI-factory view of the GPU pools (sim.pools.factory; 0 = no figure, facility_mw = 0 = no GPUs)
    **{v: ("strategy", "path", "month", "pool") for v in FACTORY},
    "cost_per_mtok_tier": ("strategy", "path", "month", "pool", "goodput_tier"),
    **{v: ("strategy", "path", "month", "contract") for v in ("commit_drawn", "commit_stranded", "overage",
                                                            "commit_stranded_cost", "overage_cost")},
    "owned_cost": ("strategy", "path", "month", "owned_component"),
    **{v: ("strategy", "path", "month") for v in ("capex_cash", "peak_hour_tokens", "gpus_in_service")},
    # workloads with an outcome (sim.pools.outcomes): accounting per month, cost per outcome over the horizon
    **{v: ("strategy", "path", "month", "outcome_workload") for v in ("work_units", "ai_outcomes", "outcomes",
                                                                    "fallback_cost", "review_cost", "outcome_cost",
                                                                    "value", "net_value")},
    "cost_per_outcome": ("strategy", "path", "outcome_workload"),
    # run --daily only: demand per day (before dispatch) of each token workload
    **{v: ("strategy", "path", "day", "workload") for v in DAILY},
}

# what each reading command uses
BUDGET = ("spend",)
COMPARE = ("spend", "tokens_input", "tokens_cached", "tokens_output", "unserved_tokens")
REPORT = ("spend",)
OUTCOMES = ("outcomes", "ai_outcomes", "work_units", "value", "net_value", "outcome_cost", "fallback_cost",
            "review_cost", "cost_per_outcome")  # read when present (scenarios without outcomes lack them)
REPORT_COMMIT = ("commit_drawn", "commit_stranded", "overage", "utilization")  # when it holds commit options
OPTIONAL_COMMIT = ("commit_stranded_cost", "overage_cost")  # read when present (older files lack them)

KIND_STRUCTURE, KIND_VALUES = "usage", "result"
RERUN = "write one with: tokensim run SCENARIO --out DIR"


class ResultsFileError(ValueError):
    """A results file cannot give an honest answer. ``problems``: one located message each; ``kind``:
    ``"usage"`` (structure) or ``"result"`` (values not finite)."""

    def __init__(self, problems: Sequence[str], kind: str):
        super().__init__("; ".join(problems))
        self.problems, self.kind = list(problems), kind


class NonFiniteResultsFileError(ResultsFileError, NonFiniteResultError):
    """Only values are wrong: also a ``NonFiniteResultError`` (the CLI's error kind "result")."""


def _names(xs: Iterable, limit: int = 8) -> str:
    xs = [str(x) for x in xs]
    return ", ".join(xs[:limit]) + (f" and {len(xs) - limit} more" if len(xs) > limit else "")


def _whole(v) -> int | None:
    try:
        f = float(np.asarray(v).item())
    except (TypeError, ValueError):
        return None
    return int(f) if np.isfinite(f) and f == int(f) else None


def results_problems(ds, variables: Sequence[str] = BUDGET, *, source: str = "results",
                     purpose: str = "this command", optional: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(structure problems, value problems) of the results Dataset ``ds`` read from ``source`` for a
    command (``purpose``) that reads ``variables`` (all required) and ``optional`` (when present).

    Each problem is one message starting with ``source``. Empty lists: the file can be read honestly.
    """
    bad: list[str] = []
    say = bad.append
    where = f"{source}:"
    other = "the file may come from another tool or an older tokensim version"

    missing = [a for a in REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        say(f"{where} not a tokensim results file: attribute{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} missing ({other}; {RERUN})")
    absent = [d for d in INDEX if d not in ds.dims or d not in ds.coords]
    if "business_unit" not in ds.coords:
        absent.append("business_unit")
    if absent:
        say(f"{where} not a tokensim results file: coordinate{'s' if len(absent) > 1 else ''} "
            f"{', '.join(absent)} missing ({other}; {RERUN})")
    lacking = [v for v in variables if v not in ds.data_vars]
    if lacking:
        held = [str(v) for v in ds.data_vars if not str(v).startswith("input:")]
        say(f"{where} variable{'s' if len(lacking) > 1 else ''} {', '.join(lacking)} missing, which {purpose} "
            f"reads (the file holds {_names(held) or 'no variables'}; {other}, or was cut down; {RERUN})")
    readable = []
    for v in [*variables, *optional]:
        if v not in ds.data_vars:
            continue
        da = ds[v]
        if da.dtype.kind not in "fiu":
            say(f"{where} {v} is not numeric (dtype {da.dtype}) ({other})")
            continue
        want = DIMS.get(v)
        if want is not None and set(da.dims) != set(want):
            say(f"{where} {v} has dimensions ({', '.join(map(str, da.dims))}), a tokensim results file has "
                f"({', '.join(want)}) ({other})")
            continue
        readable.append(v)

    if "month" in ds.coords and "month" in ds.dims:
        m = np.asarray(ds["month"].values)
        if m.dtype.kind != "M":
            say(f"{where} the month coordinate holds {m.dtype} values, not dates ({other})")
        elif np.isnat(m).any():
            say(f"{where} the month coordinate has a missing date at position {int(np.argmax(np.isnat(m)))}")
        months = _whole(ds.attrs.get("months"))
        if "months" in ds.attrs and months is None:
            say(f"{where} attribute months is not a whole number: {ds.attrs['months']!r}")
        elif months is not None and months != m.size:
            say(f"{where} holds {m.size:,} months but its attribute months says {months:,}: the file is "
                "incomplete or mixes runs; rerun into an empty directory")
    if "strategy" in ds.coords and "strategy" in ds.dims:
        names = [str(s) for s in ds["strategy"].values]
        if not names:
            say(f"{where} holds no strategy (the strategy dimension is empty): nothing to summarise; {RERUN}")
        elif len(set(names)) != len(names):
            say(f"{where} strategy names are not unique ({_names(names)}): the file mixes runs")
        rec = ds.attrs.get("strategies")
        if isinstance(rec, str) and names and rec != ",".join(names):
            say(f"{where} holds strategies {_names(names)} but its attribute strategies says {rec!r}: the file "
                "mixes runs; rerun into an empty directory")

    if "path" in ds.dims:
        n = int(ds.sizes["path"])
        recorded = _whole(ds.attrs.get("paths"))
        if n == 0:
            say(f"{where} holds no paths (the path dimension is empty): there is nothing to summarise; {RERUN}")
        if "paths" in ds.attrs and recorded is None:
            say(f"{where} attribute paths is not a whole number: {ds.attrs['paths']!r}")
        elif recorded is not None and n and recorded != n:
            per = " per strategy" if ds.sizes.get("strategy", 1) > 1 else ""
            say(f"{where} holds {n:,} paths{per} but its attribute paths says {recorded:,}: the file is "
                "incomplete or mixes runs (two runs writing to one --out?); rerun into an empty directory")
        if "path" in ds.coords and n:
            p = np.asarray(ds["path"].values)
            uniq, first, counts = np.unique(p, return_index=True, return_counts=True)
            if uniq.size != p.size:
                rep = counts > 1
                first_dup = uniq[rep][np.argmin(first[rep])]
                say(f"{where} path coordinates are not unique ({p.size - uniq.size:,} of {p.size:,} are repeats; "
                    f"first repeated path={first_dup}): the file mixes runs (two runs writing to one --out, or "
                    "results joined by hand); rerun into an empty directory")
            else:
                # newer files record the global indices they hold: exactly path_start .. path_stop - 1, in order
                start, stop = _whole(ds.attrs.get("path_start")), _whole(ds.attrs.get("path_stop"))
                if start is not None and stop is not None and stop - start == p.size:
                    off = np.flatnonzero(p != np.arange(start, stop))
                    if off.size:
                        i = int(off[0])
                        say(f"{where} path coordinates are not {start}..{stop - 1} in order, as its attributes "
                            f"path_start and path_stop say (position {i} holds path={p[i]}): the file mixes runs; "
                            "rerun into an empty directory")

    # spend is read once: its horizon sums per path are finite exactly when every value is finite and
    # they do not overflow (a NaN or an infinity makes its sum one); only a file that fails is read again
    # to locate the bad values
    summed_ok = True
    if "spend" in readable and "path" in ds["spend"].dims:
        sp = ds["spend"]
        over = [d for d in sp.dims if d not in ("path", "strategy")]
        with np.errstate(over="ignore", invalid="ignore"):  # by slices of paths
            summed_ok = all(np.isfinite((sp if sl == slice(None) else sp.isel(path=sl)).sum(over, skipna=False)
                                        .values).all()
                            for sl in path_slices(sp))
    scan = [v for v in readable if not (v == "spend" and summed_ok and "path" in ds["spend"].dims)]
    values = [f"{where} {m}; no answer from this file would be honest (it is damaged or was written by a faulty "
              "run: rerun tokensim run)" for m in dataset_nonfinite(ds, scan)]
    if not values and not summed_ok:  # finite values whose horizon total is not (1e308 in two months)
        values.append(f"{where} spend summed over the horizon is not finite (the values are finite but too "
                      "large to add up); no answer from this file would be honest")
    return bad, values


def check_results(ds, variables: Sequence[str] = BUDGET, *, source: str = "results", purpose: str = "this command",
                  optional: Sequence[str] = ()):
    """``ds`` unchanged if :func:`results_problems` finds nothing, else raise :class:`ResultsFileError`
    (kind "usage") or :class:`NonFiniteResultsFileError` (kind "result") with every problem."""
    structure, values = results_problems(ds, variables, source=source, purpose=purpose, optional=optional)
    if structure:
        raise ResultsFileError(structure + values, KIND_STRUCTURE)
    if values:
        raise NonFiniteResultsFileError(values, KIND_VALUES)
    return ds


def report_variables(ds) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) variables of ``tokensim report`` on ``ds``: with more than one strategy (commit
    options, maybe) the commit section reads the commitment variables, which every run writes (with an
    empty contract dimension when the scenario has no contract)."""
    if ds.sizes.get("strategy", 0) > 1:
        return REPORT + REPORT_COMMIT, OPTIONAL_COMMIT + OUTCOMES
    return REPORT, OUTCOMES
