"""The one schema every export is read into, and the located error its readers raise.

A ``Usage`` is a table of periods (a request is a period of zero length at its timestamp): when,
which group (workload, model, project or user), how many requests and tokens of each kind, and
what it cost. A quantity the export does not carry is NaN, never 0; a period absent from the file
is missing data, never a zero day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..scenario.problems import Problem, ScenarioError

# token columns, disjoint: input is the uncached fresh input; cached and cache-write are the rest
TOKEN_COLUMNS = ("input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
# attempts that failed, by outcome (request rows with a ``status``; sim.demand.retry's outcomes)
FAILURES = ("failed_error", "failed_timeout", "failed_invalid")
QUANTITIES = ("requests",) + TOKEN_COLUMNS + ("cost",) + FAILURES
KEYS = ("model", "user", "project", "workload")
EVERY = "*"  # a key value meaning every group (a bucket the API reported empty: a zero for all)


class UsageError(ScenarioError):
    """An export could not be read: one located problem (file, line or row, column) per reason."""


def problem(file: str, message: str, line: int | None = None, column: str = "") -> Problem:
    return Problem(str(file), line, column, message)


@dataclass
class Usage:
    """Periods of use read from one or more exports (UTC), with what each reader noticed.

    ``periods`` columns: ``start``, ``end`` (UTC timestamps; end == start for one request),
    the ``QUANTITIES`` (float, NaN where the export does not say), ``currency`` and the ``KEYS``
    (strings, "" where absent). ``lengths`` holds per-request token counts when the export has one
    row per request (a sample of at most ``MAX_LENGTH_SAMPLE`` rows), for the length fits.
    """

    files: list[str]
    formats: list[str]
    periods: pd.DataFrame
    lengths: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    request_level: bool = False
    spans: list = field(default_factory=list)  # (first, last) request time of each request-level file
    requests: pd.DataFrame | None = None  # every request (``formats.read_requests`` only): time and tokens

    @property
    def currency(self) -> str | None:
        c = sorted(set(self.periods["currency"].dropna()) - {""})
        return c[0] if c else None


MAX_LENGTH_SAMPLE = 200_000


def empty_periods(n: int = 0) -> pd.DataFrame:
    """A periods table of ``n`` rows with every column, quantities NaN and keys ''."""
    df = pd.DataFrame({"start": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"),
                       "end": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")})
    for q in QUANTITIES:
        df[q] = np.nan
    df["currency"] = ""
    for k in KEYS:
        df[k] = ""
    return df


def merge(parts: list[Usage]) -> Usage:
    """One ``Usage`` of several files; mixed currencies are refused (one problem naming each)."""
    periods = pd.concat([u.periods for u in parts], ignore_index=True)
    cur = sorted(set(periods["currency"].dropna()) - {""})
    if len(cur) > 1:
        raise UsageError([problem(", ".join(sum((u.files for u in parts), [])),
                                  f"mixed currencies {', '.join(cur)}: convert the exports to one currency first")])
    lengths = [u.lengths for u in parts if u.lengths is not None]
    return Usage(sum((u.files for u in parts), []), sum((u.formats for u in parts), []), periods,
                 pd.concat(lengths, ignore_index=True) if lengths else None,
                 sum((u.warnings for u in parts), []), any(u.request_level for u in parts),
                 sum((u.spans for u in parts), []))
