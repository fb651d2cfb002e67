"""Readers of usage exports, detected by content (``--format auto``) or named.

Formats (the column names each needs are in ``NEEDS``):

- ``generic`` CSV or Parquet, one row per request (``timestamp``, ``input_tokens``, ``output_tokens``,
  optional ``cached_tokens``, ``cache_write_tokens``, ``reasoning_tokens``, ``model``, ``user``,
  ``project``, ``workload``, ``status``) or one row per period (``period_start``, optional
  ``period_end``, ``requests``, optional token columns, ``model``, ``cost``, ``currency``). In
  request rows ``input_tokens`` is the whole prompt; cached and cache-write tokens are taken out
  of it; with a ``status`` every row is an attempt and its failures are counted by outcome
  (``_outcomes``), so the retry rates are fitted.
- ``openai``: the organization Usage API (completions) and Costs API JSON: a page, a list of
  pages, or JSON lines of pages. ``input_tokens`` includes ``input_cached_tokens``.
- ``anthropic``: the Admin API messages usage report and cost report JSON; the input counts are
  disjoint; cost ``amount`` is a decimal string in cents.
- ``azure-trace`` (Azure LLM inference CSV: ``TIMESTAMP``, ``ContextTokens``, ``GeneratedTokens``),
  ``mooncake`` (JSON lines: ``timestamp`` ms, ``input_length``, ``output_length``) and ``servegen``
  (per-window rates: ``window_start_s``, ``total_rate_rps``, ``suspected_gap``; gap windows are
  missing data), the traces in ``calibration/traces/``.

- ``focus``: FOCUS 1.2/1.3 cost-and-usage exports, their AI Usage rows (ServiceCategory 'AI and
  Machine Learning' or a token meter); a row with CommitmentDiscountStatus Unused is idle
  commitment, not use (left out, with a warning). A FOCUS 1.3 Contract Commitment dataset is
  recognised (``COMMITMENT_DATASET``) and refused here: ``sim.calibrate.commitments`` reads it, and
  the cost rows' ContractApplied and CommitmentDiscount* columns.

CSV files are parsed by Arrow (single-threaded, every column as text) and request rows streamed in
chunks and summed per hour, so memory is bounded by the number of hours × groups, not by the file
(a sample of at most ``MAX_LENGTH_SAMPLE`` requests keeps their lengths). Every bad value is
reported with its file, line and column; a row with more or fewer fields than the header is named
by its line ("expected N fields, found M"), a broken JSON line by its line and column; isolated
bad rows are counted and the first few named, never dropped silently.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .usage import (EVERY, FAILURES, KEYS, MAX_LENGTH_SAMPLE, QUANTITIES, TOKEN_COLUMNS, Usage, UsageError,
                    empty_periods, problem)

EVERY_GROUP = {k: EVERY for k in KEYS}  # an empty bucket: no use by any model, project or user

CHUNK_ROWS = 250_000
CSV_BLOCK_BYTES = 8 << 20  # bytes the Arrow CSV parser reads at a time
COMPACT_ROWS = 1_000_000  # hourly sums kept before they are summed again
SHOW_ROWS = 5  # bad rows named in a message
NEEDS = {
    "generic": "timestamp, input_tokens, output_tokens (one row per request) or period_start, requests "
               "(one row per period)",
    "openai": "JSON pages whose data[] buckets have start_time, end_time and results[]",
    "anthropic": "JSON pages whose data[] buckets have starting_at, ending_at and results[]",
    "azure-trace": "TIMESTAMP, ContextTokens, GeneratedTokens",
    "mooncake": "JSON lines with timestamp, input_length, output_length",
    "servegen": "model, window_start_s, total_rate_rps, suspected_gap",
    "focus": "FOCUS 1.2/1.3 columns ChargePeriodStart, ChargePeriodEnd, ConsumedQuantity, BilledCost",
}
FORMATS = tuple(NEEDS)
# what ``detect`` calls a FOCUS 1.3 Contract Commitment dataset: no usage, so no reader here
# (``sim.calibrate.commitments`` reads it)
COMMITMENT_DATASET = "focus-contract-commitment"


# ---- opening files ----------------------------------------------------------------------------
def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _text_head(path: Path, n: int = 65536) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return fh.read(n).decode("utf-8", errors="replace")


def _columns(path: Path) -> list[str] | None:
    """The header of a CSV or Parquet file (None if it is neither)."""
    if _is_parquet(path):
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    head = _text_head(path).lstrip("\ufeff")
    if head.lstrip().startswith(("{", "[")):
        return None
    first = head.splitlines()[0] if head else ""
    return [c.strip().strip('"') for c in first.split(",")] if "," in first else None


def _chunks(path: Path, usecols=None) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first line number, chunk) of a CSV (line 1 is the header) or Parquet file (row 1 = line 2)."""
    if _is_parquet(path):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        line = 2
        for batch in pf.iter_batches(batch_size=CHUNK_ROWS, columns=usecols):
            df = batch.to_pandas()
            for c in df.columns:  # as a CSV is read: text columns with "" where empty (numbers stay numbers)
                col = df[c]
                if col.isna().all() or not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
                    df[c] = col.astype(object).where(col.notna(), "").astype(str)
            yield line, df
            line += len(df)
        return
    yield from _csv_chunks(path, usecols)


def _header(path: Path) -> list[str]:
    """The header of a CSV file as the csv module splits it (quoted names may hold commas)."""
    import csv
    import io

    head = _text_head(path).lstrip("\ufeff")
    return next(csv.reader(io.StringIO(head, newline="")), [])


class _Ragged:
    """Rows whose number of fields is not the header's, as the CSV parser finds them: the count
    and the first few (line, expected, found)."""

    def __init__(self):
        self.n = 0
        self.first: list[tuple[int | None, int, int]] = []

    def __call__(self, row) -> str:
        self.n += 1
        if len(self.first) <= SHOW_ROWS:
            self.first.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    def problems(self, file: str) -> list:
        out = [problem(file, f"expected {want} fields, found {got} (one field per column of the header)", line)
               for line, want, got in self.first[:SHOW_ROWS]]
        if self.n > SHOW_ROWS:
            line = self.first[SHOW_ROWS][0]
            out.append(problem(file, f"and {self.n - SHOW_ROWS:,} more row(s) whose number of fields is not the "
                                     "header's", line))
        return out


def _arrow_located(path: Path, names: list[str], exc: Exception) -> UsageError | None:
    """A value the Arrow parser cannot take (e.g. bytes that are not UTF-8) as a problem at its
    line and column, not the library's words (None: not such an error)."""
    import re

    m = re.search(r"In CSV column #(\d+): Row #(\d+): (.*)", str(exc))
    if not m:
        return None
    col = int(m.group(1))
    what = m.group(3).replace("CSV conversion error to string: ", "")
    if "UTF8" in what:
        what += " (the file must be UTF-8 text)"
    return UsageError([problem(str(path), f"cannot be read: {what}", int(m.group(2)),
                               names[col] if col < len(names) else f"column {col + 1}")])


def _located_batches(path: Path, names: list[str], open_reader: Callable):
    """The batches of ``open_reader()``, parse errors located (``_arrow_located``)."""
    import pyarrow as pa

    try:
        reader = open_reader()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            yield batch
    except pa.ArrowInvalid as exc:
        located = _arrow_located(path, names, exc)
        if located is None:
            raise
        raise located from None


def _csv_chunks(path: Path, usecols=None) -> Iterator[tuple[int, pd.DataFrame]]:
    """A CSV streamed by the Arrow parser, every column as text ("" where empty), in chunks of
    ``CHUNK_ROWS``. A row with more or fewer fields than the header is one located problem (its
    line, expected N fields, found M), raised once the whole file is read so every such row is
    counted; pandas' C parser blamed the column the row's fields slid into instead."""
    import pyarrow as pa
    import pyarrow.csv as pc

    names = _header(path)
    ragged = _Ragged()

    def open_reader():
        return pc.open_csv(
            pa.input_stream(str(path), compression="detect"),
            # single-threaded: only then does the parser know a bad row's line (and it is no slower here)
            read_options=pc.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
            parse_options=pc.ParseOptions(newlines_in_values=True, invalid_row_handler=ragged),
            convert_options=pc.ConvertOptions(column_types={c: pa.string() for c in names}, strings_can_be_null=False,
                                              quoted_strings_can_be_null=False, include_columns=usecols or []))

    line = 2
    pending: list = []
    rows = 0

    def flush() -> pd.DataFrame:
        df = pa.Table.from_batches(pending).to_pandas()
        pending.clear()
        return df

    for batch in _located_batches(path, names, open_reader):
        pending.append(batch)
        rows += batch.num_rows
        if rows >= CHUNK_ROWS:
            df = flush()
            rows = 0
            yield line, df
            line += len(df)
    if pending and sum(b.num_rows for b in pending):
        df = flush()
        yield line, df
    elif line == 2 and not ragged.n:  # a header and no rows: an empty table with the header's columns
        yield line, pd.DataFrame({c: pd.Series([], dtype=str) for c in (usecols or names)})
    if ragged.n:
        raise UsageError(ragged.problems(str(path)))


def _lines(rows: np.ndarray, first: int) -> str:
    shown = ", ".join(str(first + int(i)) for i in rows[:SHOW_ROWS])
    more = f" and {rows.size - SHOW_ROWS:,} more" if rows.size > SHOW_ROWS else ""
    return f"line{'s' if rows.size > 1 else ''} {shown}{more}"


class _Bad:
    """Bad values per (column, what) over all chunks: the count and the first few lines."""

    def __init__(self, file: str):
        self.file = file
        self.seen: dict[tuple[str, str], list] = {}
        self.counts = {"naive": 0}  # timestamps without a time zone (taken as UTC)
        self._only: np.ndarray | None = None

    def restricted(self, only: np.ndarray | None) -> "_Bad":
        """A view that reports only the rows in ``only``, into the same problems and counts."""
        if only is None:
            return self
        view = _Bad(self.file)
        view.seen, view.counts, view._only = self.seen, self.counts, np.asarray(only, bool)
        return view

    def only_mask(self, n: int) -> np.ndarray:
        return self._only if self._only is not None else np.ones(n, bool)

    def add(self, column: str, what: str, mask: np.ndarray, first_line: int) -> None:
        if self._only is not None:
            mask = np.asarray(mask, bool) & self._only
        rows = np.flatnonzero(mask)
        if rows.size:
            ent = self.seen.setdefault((column, what), [0, []])
            ent[0] += rows.size
            ent[1].extend((first_line + rows[:SHOW_ROWS]).tolist())

    def notes(self) -> list[str]:
        """What was read but said: timestamps taken as UTC."""
        n = self.counts["naive"]
        return [f"{self.file}: {n:,} timestamp(s) without a time zone, taken as UTC"] if n else []

    def raise_if_any(self) -> None:
        if not self.seen:
            return
        probs = []
        for (col, what), (n, lines) in self.seen.items():
            shown = ", ".join(str(x) for x in lines[:SHOW_ROWS])
            more = f" and {n - SHOW_ROWS:,} more" if n > SHOW_ROWS else ""
            probs.append(problem(self.file, f"{n:,} row{'s' if n > 1 else ''} with {what} (line{'s' if n > 1 else ''} "
                                            f"{shown}{more})", lines[0], col))
        raise UsageError(probs)


def _number(df: pd.DataFrame, col: str, bad: _Bad, line: int, required: bool,
            only: np.ndarray | None = None) -> np.ndarray:
    """The column as floats (NaN where empty); bad values are reported with their line (``only``:
    the rows that count, e.g. a FOCUS file's AI usage rows)."""
    if col not in df.columns:
        return np.full(len(df), np.nan)
    bad = bad.restricted(only)
    raw = df[col]
    if not pd.api.types.is_numeric_dtype(raw):
        txt = raw.astype(str).str.strip()
        empty = txt.eq("")
        val = pd.to_numeric(txt.where(~empty, None), errors="coerce").to_numpy(float)
        bad.add(col, "a value that is not a number", np.isnan(val) & ~empty.to_numpy(), line)
        if required:
            bad.add(col, "no value", empty.to_numpy(), line)
    else:
        val = raw.to_numpy(float, na_value=np.nan)
        if required:
            bad.add(col, "no value", np.isnan(val), line)
    bad.add(col, "a negative quantity", val < 0, line)
    bad.add(col, "an infinite quantity", np.isinf(val), line)
    return val


def _time(df: pd.DataFrame, col: str, bad: _Bad, line: int, unit: str | None = None,
          only: np.ndarray | None = None) -> pd.Series:
    """The column as UTC timestamps; a time without a zone is taken as UTC (``bad.naive`` counts them)."""
    bad = bad.restricted(only)
    raw = df[col]
    if unit is not None:
        num = pd.to_numeric(raw, errors="coerce")
        t = pd.to_datetime(num, unit=unit, utc=True, errors="coerce")
    else:
        txt = raw.astype(str).str.strip()
        t = pd.to_datetime(txt, utc=True, errors="coerce", format="ISO8601")  # fast; the rest parsed one by one
        again = t.isna() & txt.ne("")
        if again.any():
            t[again] = pd.to_datetime(txt[again], utc=True, errors="coerce", format="mixed")
        zone = txt.str.contains(r"(?:Z|[+-]\d\d:?\d\d|UTC|GMT)\s*$", case=False, regex=True)
        bad.counts["naive"] += int((t.notna() & ~zone).to_numpy()[bad.only_mask(len(t))].sum())
    bad.add(col, "a timestamp that cannot be read", t.isna().to_numpy(), line)
    return t


# ---- request rows, summed per hour ------------------------------------------------------------
class _HourSums:
    """Requests summed per (hour, keys) over streamed chunks, with a sample of their lengths."""

    def __init__(self, file: str, fmt: str, seed: int = 0, keep: bool = False):
        self.file, self.fmt = file, fmt
        self.keep = keep  # keep every request too (time, tokens, model): ``read_requests``
        self.rows: list[pd.DataFrame] = []
        self.parts: list[pd.DataFrame] = []
        self.sample: list[pd.DataFrame] = []
        self.n = 0
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None
        self.rng = np.random.default_rng(seed)

    def add(self, t: pd.Series, q: dict[str, np.ndarray], keys: dict[str, pd.Series]) -> None:
        if not len(t):
            return
        # naive UTC hours: numpy datetime64 (a tz-aware .to_numpy() builds one Timestamp object a row)
        df = pd.DataFrame({"start": t.dt.floor("h").dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(), **{k: np.asarray(v, float) for k, v in q.items()},
                           **{k: keys[k].to_numpy(str) if k in keys else "" for k in KEYS}})
        df["requests"] = 1.0
        lo, hi = t.min(), t.max()
        self.first = lo if self.first is None else min(self.first, lo)
        self.last = hi if self.last is None else max(self.last, hi)
        g = df.groupby(["start", *KEYS], sort=False).sum(min_count=1).reset_index()
        self.parts.append(g)
        if sum(len(x) for x in self.parts) > COMPACT_ROWS:  # memory bounded by the distinct hours × keys
            self.parts = [pd.concat(self.parts, ignore_index=True).groupby(["start", *KEYS], sort=False)
                          .sum(min_count=1).reset_index()]
        # the length sample, uniform over the whole file: every request gets a random key and the
        # MAX_LENGTH_SAMPLE smallest keys are kept (the whole prompt: fresh, cached and cache-write)
        whole = np.asarray(q.get("input_tokens", np.full(len(df), np.nan)), float)
        for c in ("cached_tokens", "cache_write_tokens"):
            if c in q:
                whole = whole + np.nan_to_num(np.asarray(q[c], float))
        lens = pd.DataFrame({"input_tokens": whole,
                             "output_tokens": np.asarray(q.get("output_tokens", np.full(len(df), np.nan)), float),
                             **{k: df[k].to_numpy() for k in KEYS}, "key": self.rng.random(len(df))})
        failed = sum(np.asarray(q[c], float) for c in FAILURES if c in q)
        if not np.isscalar(failed):  # a failed attempt's tokens are not a request's length
            lens = lens[failed == 0]
        self.n += len(df)
        if self.keep:
            self.rows.append(pd.DataFrame({
                "t": t.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(),
                "input_tokens": whole,
                "output_tokens": np.asarray(q.get("output_tokens", np.full(len(df), np.nan)), float),
                **{c: np.nan_to_num(np.asarray(q[c], float)) for c in ("cached_tokens", "cache_write_tokens") + FAILURES
                   if c in q},
                "model": df["model"].to_numpy()}))
        kept = pd.concat(self.sample + [lens], ignore_index=True)
        self.sample = [kept.nsmallest(MAX_LENGTH_SAMPLE, "key") if len(kept) > MAX_LENGTH_SAMPLE else kept]

    def usage(self, currency: str = "") -> Usage:
        if not self.parts:
            raise UsageError([problem(self.file, f"no requests in this {self.fmt} file")])
        g = pd.concat(self.parts, ignore_index=True).groupby(["start", *KEYS], sort=True).sum(min_count=1).reset_index()
        out = empty_periods(len(g))
        out["start"] = pd.to_datetime(g["start"], utc=True)
        out["end"] = out["start"] + pd.Timedelta(hours=1)
        for c in QUANTITIES:
            if c in g:
                out[c] = g[c].to_numpy(float)
        for k in KEYS:
            out[k] = g[k].to_numpy(str)
        out["currency"] = currency
        lengths = pd.concat(self.sample, ignore_index=True).drop(columns="key")
        reqs = pd.concat(self.rows, ignore_index=True) if self.keep else None
        return Usage([self.file], [self.fmt], out, lengths.reset_index(drop=True), [], True, [(self.first, self.last)],
                     reqs)


def _request_rows(path: Path, fmt: str, cols: dict[str, str], ts_unit: str | None = None,
                  keep: bool = False) -> Usage:
    """Request rows of a CSV/Parquet file; ``cols`` maps our names to the file's columns (``keep``:
    every request kept in ``Usage.requests`` as well)."""
    f = str(path)
    acc = _HourSums(f, fmt, keep=keep)
    bad = _Bad(f)
    for line, df in _chunks(path):
        t = _time(df, cols["timestamp"], bad, line, ts_unit)
        q = {}
        for ours in ("input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens"):
            if ours in cols and cols[ours] in df.columns:
                q[ours] = _number(df, cols[ours], bad, line, ours in ("input_tokens", "output_tokens"))
        if "cached_tokens" in q or "cache_write_tokens" in q:  # input_tokens is the whole prompt: take them out
            rest = q["input_tokens"] - np.nan_to_num(q.get("cached_tokens", 0.0)) - np.nan_to_num(q.get("cache_write_tokens", 0.0))
            bad.add(cols.get("cached_tokens", "cached_tokens"), "cached + cache-write tokens above input_tokens",
                    rest < 0, line)
            q["input_tokens"] = rest
        if "status" in cols and cols["status"] in df.columns:
            q.update(_outcomes(df[cols["status"]], bad, line))
        keys = {k: df[k].astype(str) for k in KEYS if k in df.columns}
        ok = t.notna().to_numpy() & np.all([np.isfinite(v) | np.isnan(v) for v in q.values()], axis=0)
        acc.add(t[ok], {k: v[ok] for k, v in q.items()}, {k: v[ok] for k, v in keys.items()})
    bad.raise_if_any()
    u = acc.usage()
    u.warnings.extend(bad.notes())
    return u


_OK = {"ok", "success", "succeeded", "completed", "complete", "done"}
_ERROR = {"error", "failed", "failure", "rate_limited", "rate-limited", "throttled", "overloaded", "cancelled"}
_TIMEOUT = {"timeout", "timed_out", "timed-out", "deadline_exceeded"}
_INVALID = {"invalid", "validation_failed", "validation-failed", "unusable", "refused"}


def _outcomes(col: pd.Series, bad: "_Bad", line: int) -> dict[str, np.ndarray]:
    """A request row's ``status`` as the attempt's outcome (``sim.demand.retry``): 1.0 in the column of
    its failure, 0 elsewhere. HTTP codes: 2xx ok; 408 and 504 timeouts; 422 an unusable answer;
    429, 5xx and other 4xx errors (nothing billed). Words: ok/success, error/failed/rate_limited,
    timeout, invalid/validation_failed. Anything else is a located bad value."""
    v = col.astype(str).str.strip().str.lower()
    code = pd.to_numeric(v, errors="coerce").to_numpy(float)
    is_code = np.isfinite(code) & (code >= 100) & (code < 600) & (code == np.round(code))
    timeout = (is_code & np.isin(code, (408, 504))) | v.isin(_TIMEOUT).to_numpy()
    invalid = (is_code & (code == 422)) | v.isin(_INVALID).to_numpy()
    okay = (is_code & (code >= 200) & (code < 300)) | v.isin(_OK).to_numpy()
    error = (is_code & (code >= 400) & ~timeout & ~invalid) | v.isin(_ERROR).to_numpy()
    known = timeout | invalid | okay | error | (is_code & (code < 400))
    bad.add("status", "a value that is not a status (an HTTP code, or ok, error, timeout, invalid)", ~known & (v != "").to_numpy(),
            line)
    return {"failed_error": error.astype(float), "failed_timeout": timeout.astype(float),
            "failed_invalid": invalid.astype(float)}


def _period_rows(path: Path) -> Usage:
    f = str(path)
    bad = _Bad(f)
    parts = []
    for line, df in _chunks(path):
        out = empty_periods(len(df))
        out["start"] = _time(df, "period_start", bad, line).to_numpy()
        out["end"] = (_time(df, "period_end", bad, line).to_numpy() if "period_end" in df.columns else pd.NaT)
        for q in QUANTITIES:
            out[q] = _number(df, q, bad, line, q == "requests")
        out["currency"] = df["currency"].astype(str).str.strip().to_numpy() if "currency" in df.columns else ""
        for k in KEYS:
            if k in df.columns:
                out[k] = df[k].astype(str).to_numpy()
        out.index = np.arange(line, line + len(df))
        parts.append(out)
    bad.raise_if_any()
    if not parts or not sum(len(p) for p in parts):
        raise UsageError([problem(f, "no rows in this generic period file")])
    p = pd.concat(parts)
    if p["end"].isna().all():  # no period_end: every period lasts the file's most common step between starts
        starts = np.sort(p["start"].unique())
        step = pd.Series(np.diff(starts)).mode().iloc[0] if starts.size > 1 else pd.Timedelta(days=1)
        p["end"] = p["start"] + step
    bad_end = (p["end"] <= p["start"]).to_numpy()
    if bad_end.any():
        rows = p.index.to_numpy()[bad_end]
        raise UsageError([problem(f, f"{rows.size:,} period(s) ending at or before they start ({_lines(rows, 0)})",
                                  int(rows[0]), "period_end")])
    # a period file holds each group's use once: overlapping or repeated periods would count twice
    q = p.sort_values("start", kind="stable")
    prev_end = q.groupby(list(KEYS), sort=False)["end"].transform(lambda e: e.cummax().shift())
    over = (q["start"] < prev_end).to_numpy()
    if over.any():
        rows = q.index.to_numpy()[over]
        raise UsageError([problem(f, f"{rows.size:,} period(s) overlap an earlier period of the same model, user, "
                                     f"project and workload ({_lines(np.sort(rows), 0)}); each period must be "
                                     "counted once", int(np.sort(rows)[0]), "period_start")])
    return Usage([f], ["generic"], p.reset_index(drop=True), None, bad.notes(), False)


def _servegen(path: Path) -> Usage:
    f = str(path)
    bad = _Bad(f)
    parts = []
    gaps = 0
    for line, df in _chunks(path):
        rate = _number(df, "total_rate_rps", bad, line, True)
        t0 = _number(df, "window_start_s", bad, line, True)
        gap = _number(df, "suspected_gap", bad, line, False) if "suspected_gap" in df.columns else np.zeros(len(df))
        keep = np.nan_to_num(gap) == 0  # a collection gap is missing data, not a zero window
        gaps += int((~keep).sum())
        out = empty_periods(int(keep.sum()))
        start = pd.Timestamp("1970-01-01", tz="UTC") + pd.to_timedelta(t0[keep], unit="s")
        out["start"] = start
        out["end"] = start + pd.Timedelta(seconds=600)
        out["requests"] = rate[keep] * 600.0
        out["model"] = df["model"].astype(str).to_numpy()[keep] if "model" in df.columns else ""
        parts.append(out)
    bad.raise_if_any()
    p = pd.concat(parts, ignore_index=True)
    warn = [f"{f}: {gaps:,} window(s) marked suspected_gap are treated as missing data"] if gaps else []
    return Usage([f], ["servegen"], p, None, warn, False)


# ---- JSON exports -----------------------------------------------------------------------------
def _json_pages(path: Path) -> list[dict]:
    """The pages of a JSON export: one object, a list of objects, or JSON lines of objects. A broken
    document is located at its line and column; a broken JSON line at that line (and its column)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig") as fh:
        text = fh.read()
    try:
        obj = json.loads(text)
        pages = obj if isinstance(obj, list) else [obj]
    except json.JSONDecodeError as whole:
        lines = text.split("\n")  # not splitlines(): JSON strings may hold U+2028 and other line breaks
        if not _first_line_is_json(lines):  # one document (pretty-printed, say): where it breaks
            raise UsageError([problem(str(path), f"not JSON: {_json_where(whole)}", whole.lineno)]) from None
        pages = []
        for i, ln in enumerate(lines, 1):
            if not ln.strip():
                continue
            try:
                pages.append(json.loads(ln))
            except json.JSONDecodeError as exc:
                raise UsageError([problem(str(path), f"this JSON line is not JSON: {_json_where(exc)}", i)]) from None
    if not all(isinstance(p, dict) for p in pages):
        raise UsageError([problem(str(path), "expected JSON objects (pages with a data list)")])
    return pages


def _first_line_is_json(lines: list[str]) -> bool:
    """Whether the first non-empty line is a whole JSON value: the file is JSON lines."""
    first = next((ln for ln in lines if ln.strip()), "")
    try:
        json.loads(first)
    except json.JSONDecodeError:
        return False
    return True


def _json_where(exc: json.JSONDecodeError) -> str:
    return f"{exc.msg} at column {exc.colno}" if exc.lineno == 1 else f"{exc.msg} at line {exc.lineno}, column {exc.colno}"


def _bucket_time(path: Path, where: str, value, unix: bool) -> pd.Timestamp:
    """A bucket's start or end: Unix seconds (OpenAI) or an ISO 8601 time (Anthropic; UTC if no zone)."""
    try:
        if unix:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ValueError
            return pd.Timestamp(int(value), unit="s", tz="UTC")
        t = pd.Timestamp(str(value)) if isinstance(value, str) else None
        if t is None or pd.isna(t):
            raise ValueError
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    except (ValueError, TypeError, OverflowError):
        what = "Unix seconds" if unix else "an ISO 8601 time"
        raise UsageError([problem(str(path), f"expected {what}, got {value!r}", None, where)]) from None


def _buckets(path: Path, pages: list[dict], start_key: str, end_key: str,
             unix: bool) -> Iterator[tuple[str, pd.Timestamp, pd.Timestamp, dict | None]]:
    """(where, start, end, result) of every result of every bucket of every page; a bucket with no
    results yields one (…, None): the API reports no use then, an observed zero."""
    for i, page in enumerate(pages):
        data = page.get("data")
        if not isinstance(data, list):
            raise UsageError([problem(str(path), "a page has no data list", None, f"[{i}].data")])
        for j, b in enumerate(data):
            where = f"[{i}].data[{j}]"
            if not isinstance(b, dict) or start_key not in b or end_key not in b:
                raise UsageError([problem(str(path), f"a bucket has no {start_key}/{end_key}", None, where)])
            start = _bucket_time(path, f"{where}.{start_key}", b[start_key], unix)
            end = _bucket_time(path, f"{where}.{end_key}", b[end_key], unix)
            if end <= start:
                raise UsageError([problem(str(path), f"the bucket ends ({end}) at or before it starts ({start})", None,
                                          where)])
            results = b.get("results", [])
            if results is None:
                results = []
            if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
                raise UsageError([problem(str(path), "expected a list of result objects", None, f"{where}.results")])
            if not results:
                yield f"{where}.results", start, end, None
            for k, r in enumerate(results):
                yield f"{where}.results[{k}]", start, end, r


def _num(path: Path, where: str, r: dict, key: str, probs: list, required: bool = False) -> float:
    cur = r
    for part in key.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None:
        if required:
            probs.append(problem(str(path), "missing", None, f"{where}.{key}"))
        return np.nan
    try:
        v = float(cur)
    except (TypeError, ValueError):
        probs.append(problem(str(path), f"expected a number, got {cur!r}", None, f"{where}.{key}"))
        return np.nan
    if not np.isfinite(v) or v < 0:
        probs.append(problem(str(path), f"expected a finite quantity >= 0, got {cur!r}", None, f"{where}.{key}"))
        return np.nan
    return v


def _rows_to_usage(path: Path, fmt: str, rows: list[dict], probs: list) -> Usage:
    if probs:
        raise UsageError(probs[:50])
    if any("cost" in r for r in rows if not r.get("empty")):  # a cost report: an empty bucket cost nothing
        rows = [{"start": r["start"], "end": r["end"], "cost": 0.0, "empty": True, **EVERY_GROUP} if r.get("empty")
                else r for r in rows]
    if not rows or all(r.get("empty") for r in rows):
        raise UsageError([problem(str(path), f"no usage rows in this {fmt} export (empty buckets)")])
    df = pd.DataFrame(rows).drop(columns="empty", errors="ignore")
    out = empty_periods(len(df))
    for c in df.columns:
        out[c] = df[c].to_numpy()
    out["start"] = pd.to_datetime(out["start"], utc=True)
    out["end"] = pd.to_datetime(out["end"], utc=True)
    return Usage([str(path)], [fmt], out, None, [], False)


def _openai(path: Path) -> Usage:
    pages = _json_pages(path)
    rows, probs = [], []
    for where, start, end, r in _buckets(path, pages, "start_time", "end_time", unix=True):
        if r is None:  # an empty bucket: no use that day
            rows.append({"start": start, "end": end, "requests": 0.0, "input_tokens": 0.0, "cached_tokens": 0.0,
                         "output_tokens": 0.0, "empty": True, **EVERY_GROUP})
            continue
        key = {"model": str(r.get("model") or ""), "project": str(r.get("project_id") or ""),
               "user": str(r.get("user_id") or "")}
        if "amount" in r or str(r.get("object", "")).endswith("costs.result"):
            amt = r.get("amount") or {}
            v = _num(path, where, r, "amount.value", probs, True)
            item = str(r.get("line_item") or "")
            # a line item is "<model>, <input|output|...>": its model joins the usage rows of that model
            key["model"] = key["model"] or item.split(",")[0].strip()
            rows.append({"start": start, "end": end, "cost": v, "currency": str(amt.get("currency", "")).upper(), **key,
                         "workload": item})
            continue
        inp = _num(path, where, r, "input_tokens", probs, True)
        cached = _num(path, where, r, "input_cached_tokens", probs)
        write = _num(path, where, r, "input_cache_write_tokens", probs)
        fresh = inp - np.nan_to_num(cached) - np.nan_to_num(write)
        if fresh < 0:
            probs.append(problem(str(path), f"input_cached_tokens above input_tokens ({cached:g} > {inp:g}): "
                                            "input_tokens includes the cached ones", None, f"{where}.input_cached_tokens"))
        rows.append({"start": start, "end": end, "requests": _num(path, where, r, "num_model_requests", probs, True),
                     "input_tokens": fresh, "cached_tokens": cached, "cache_write_tokens": write,
                     "output_tokens": _num(path, where, r, "output_tokens", probs, True), **key})
    return _rows_to_usage(path, "openai", rows, probs)


def _anthropic(path: Path) -> Usage:
    pages = _json_pages(path)
    rows, probs = [], []
    for where, start, end, r in _buckets(path, pages, "starting_at", "ending_at", unix=False):
        if r is None:  # an empty bucket: no use then
            rows.append({"start": start, "end": end, "input_tokens": 0.0, "cached_tokens": 0.0,
                         "cache_write_tokens": 0.0, "output_tokens": 0.0, "empty": True, **EVERY_GROUP})
            continue
        key = {"model": str(r.get("model") or ""), "project": str(r.get("workspace_id") or "")}
        if "amount" in r:  # the cost report: a decimal string in cents
            v = _num(path, where, r, "amount", probs, True)
            rows.append({"start": start, "end": end, "cost": v / 100.0, "currency": str(r.get("currency", "")).upper(),
                         **key, "workload": str(r.get("cost_type") or "")})
            continue
        w5 = _num(path, where, r, "cache_creation.ephemeral_5m_input_tokens", probs)
        w1 = _num(path, where, r, "cache_creation.ephemeral_1h_input_tokens", probs)
        rows.append({"start": start, "end": end, "requests": np.nan,
                     "input_tokens": _num(path, where, r, "uncached_input_tokens", probs, True),
                     "cached_tokens": _num(path, where, r, "cache_read_input_tokens", probs),
                     "cache_write_tokens": np.nansum([w5, w1]) if not (np.isnan(w5) and np.isnan(w1)) else np.nan,
                     "output_tokens": _num(path, where, r, "output_tokens", probs, True), **key})
    return _rows_to_usage(path, "anthropic", rows, probs)


def _mooncake(path: Path, keep: bool = False) -> Usage:
    f = str(path)
    acc = _HourSums(f, "mooncake", keep=keep)
    bad = _Bad(f)
    for line, df in _json_line_chunks(path):
        t = _time(df, "timestamp", bad, line, "ms")
        q = {"input_tokens": _number(df, "input_length", bad, line, True),
             "output_tokens": _number(df, "output_length", bad, line, True)}
        acc.add(t, q, {})
    bad.raise_if_any()
    u = acc.usage()
    u.warnings.append(f"{f}: Mooncake timestamps are milliseconds from the trace's start; day 0 is 1970-01-01")
    return u


def _json_line_chunks(path: Path) -> Iterator[tuple[int, pd.DataFrame]]:
    line = 1
    try:
        for df in pd.read_json(path, lines=True, chunksize=CHUNK_ROWS, compression="infer"):
            yield line, df
            line += len(df)
    except ValueError:
        bad = _bad_json_line(path)
        if bad is None:
            raise
        raise UsageError([problem(str(path), f"cannot be read as JSON lines: this line is not JSON: {bad[1]}",
                                  bad[0])]) from None


def _bad_json_line(path: Path) -> tuple[int, str] | None:
    """The first line of a JSON-lines file that is not JSON, and why (None: every line is)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="\n") as fh:
        for i, ln in enumerate(fh, 1):
            if not ln.strip():
                continue
            try:
                json.loads(ln)
            except json.JSONDecodeError as exc:
                return i, _json_where(exc)
    return None


# ---- FOCUS 1.2 / 1.3 cost-and-usage exports ---------------------------------------------------
AI_CATEGORY = "AI and Machine Learning"
_METER_COLS = ("x_SkuMeterName", "SkuMeter", "x_UsageType", "SkuPriceDetails", "ChargeDescription")
# token direction from the meter text, most specific first (Bedrock usage types, Azure meter names,
# Vertex SKU descriptions: sim/calibrate docs and shared/research/pricing-ecosystem.md §2.3)
_DIRECTIONS = (("cached_tokens", r"cache[-_ ]?read|cached[-_ ]?input|cache[-_ ]?hit|cached"),
               ("cache_write_tokens", r"cache[-_ ]?write|cache[-_ ]?creation"),
               ("output_tokens", r"output|completion|generated|\bout\b|outp"),
               ("input_tokens", r"input|prompt|\binp\b|\bin\b"))
_UNIT = r"(?i)^\s*(?:(\d+(?:\.\d+)?)\s*([kKmM])?\s*)?(tokens?|units?)?\s*$"


def _unit_scale(unit: pd.Series) -> np.ndarray:
    """Tokens per unit of ConsumedUnit: 'Tokens' 1, '1K' or '1K Tokens' or '1000 Tokens' 1e3, '1M' 1e6;
    NaN for a unit that is not a token count (hours, requests, ...)."""
    m = unit.astype(str).str.extract(_UNIT)
    num = pd.to_numeric(m[0], errors="coerce").fillna(1.0)
    mult = m[1].str.lower().map({"k": 1e3, "m": 1e6}).fillna(1.0)
    ok = m[2].notna() | m[0].notna()
    return np.where(ok, num * mult, np.nan)


def focus_ai_rows(df: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Which rows of a FOCUS chunk are AI (ServiceCategory 'AI and Machine Learning' or a token
    meter), their meter text, and which meters name tokens."""
    cat = df["ServiceCategory"].astype(str).str.strip() if "ServiceCategory" in df.columns else pd.Series("", index=df.index)
    meter = pd.Series("", index=df.index)
    for c in _METER_COLS:
        if c in df.columns:
            meter = meter + " " + df[c].astype(str)
    tokenish = meter.str.contains(r"token", case=False, regex=True)
    return (cat == AI_CATEGORY) | tokenish, meter, tokenish


def _focus(path: Path) -> Usage:
    f = str(path)
    bad = _Bad(f)
    parts, n_ai, skipped_units = [], 0, {}
    unused = [0, 0.0]  # AI rows with CommitmentDiscountStatus Unused, and their BilledCost
    for line, df in _chunks(path):
        ai, meter, tokenish = focus_ai_rows(df)
        charge = df["ChargeCategory"].astype(str).str.strip() if "ChargeCategory" in df.columns else pd.Series("Usage", index=df.index)
        use = ai & (charge == "Usage")
        if "CommitmentDiscountStatus" in df.columns:  # the unused part of a commitment discount: paid, not used
            idle = use & (df["CommitmentDiscountStatus"].astype(str).str.strip().str.lower() == "unused")
            if idle.any():
                unused[0] += int(idle.sum())
                unused[1] += float(np.nansum(_number(df, "BilledCost", bad, line, False, only=idle.to_numpy())[idle.to_numpy()]))
                use = use & ~idle
        n_ai += int(ai.sum())
        if not use.any():
            continue
        u_ = use.to_numpy()
        d = df[u_]
        m = meter[u_]
        # parsed on the whole chunk so a bad value's line is its line in the file; only AI usage rows count
        start = _time(df, "ChargePeriodStart", bad, line, only=u_)[u_]
        end = _time(df, "ChargePeriodEnd", bad, line, only=u_)[u_]
        qty = _number(df, "ConsumedQuantity", bad, line, False, only=u_)[u_]
        unit = d["ConsumedUnit"] if "ConsumedUnit" in d.columns else pd.Series("", index=d.index)
        scale = _unit_scale(unit)
        cost = _number(df, "BilledCost", bad, line, True, only=u_)[u_]
        out = empty_periods(len(d))
        out["start"], out["end"] = start.to_numpy(), end.to_numpy()
        out["cost"] = cost
        out["currency"] = d["BillingCurrency"].astype(str).str.upper().to_numpy() if "BillingCurrency" in d.columns else ""
        assigned = np.zeros(len(d), bool)
        for col, pat in _DIRECTIONS:
            hit = m.str.contains(pat, case=False, regex=True).to_numpy() & ~assigned & np.isfinite(scale)
            out.loc[hit, col] = (qty * scale)[hit]
            assigned |= hit
        req = unit.astype(str).str.contains(r"request", case=False).to_numpy()
        out.loc[req, "requests"] = qty[req]
        for name, k in unit[~(assigned | req) & tokenish[u_].to_numpy()].value_counts().items():
            skipped_units[str(name)] = skipped_units.get(str(name), 0) + int(k)
        out["model"] = _focus_model(d, m).to_numpy()
        out["project"] = d["SubAccountId"].astype(str).to_numpy() if "SubAccountId" in d.columns else ""
        out["workload"] = d["ServiceName"].astype(str).to_numpy() if "ServiceName" in d.columns else ""
        parts.append(out)
    bad.raise_if_any()
    if not parts:
        why = "no AI rows" if n_ai == 0 else f"{n_ai:,} AI rows but none with ChargeCategory Usage"
        raise UsageError([problem(f, f"{why}: a FOCUS export's AI rows have ServiceCategory '{AI_CATEGORY}' or a "
                                     "token meter (SkuMeter, x_SkuMeterName, x_UsageType)")])
    if skipped_units:
        raise UsageError([problem(f, f"{n:,} token row(s) with ConsumedUnit {u!r}, which is not a token count "
                                     "(expected Tokens, 1K, 1M, 1000 Tokens)", None, "ConsumedUnit")
                          for u, n in skipped_units.items()])
    p = pd.concat(parts, ignore_index=True)
    notes = bad.notes()
    if unused[0]:
        notes.append(f"{f}: {unused[0]:,} AI row(s) with CommitmentDiscountStatus Unused (billed {unused[1]:,.2f}): the "
                     "idle part of a commitment discount, not use; left out of the usage "
                     "(sim.calibrate.commitments.commitment_use reports it)")
    return Usage([f], ["focus"], p, None, notes, False)


def _focus_model(d: pd.DataFrame, meter: pd.Series) -> pd.Series:
    """The model of each row: an x_Model column when there is one, else the meter text without its
    direction, unit and region words (e.g. Bedrock 'USE1-Claude3.5Sonnet-input-tokens' -> 'Claude3.5Sonnet')."""
    if "x_Model" in d.columns:
        return d["x_Model"].astype(str)
    src = pd.Series("", index=d.index)
    for c in ("x_SkuMeterName", "x_UsageType", "SkuMeter"):  # per row, the first that is filled in
        if c in d.columns:
            src = src.where(src != "", d[c].astype(str).str.strip())
    src = src.where(src != "", meter)
    t = src.astype(str).str.replace(r"^[A-Z]{2,4}\d-", "", regex=True)
    t = t.str.replace(r"(?i)[-_ ]*(cache[-_ ]?(read|write|creation)|cached|input|output|prompt|completion|inp|outp|"
                      r"tokens?|count|glbl|global|regional|batch|\d+[kKmM])\b", " ", regex=True)
    return t.str.replace(r"[-_ ]+", " ", regex=True).str.strip()


def _generic(path: Path, keep: bool = False) -> Usage:
    cols = _columns(path) or []
    if "timestamp" in cols:
        return _request_rows(path, "generic", {c: c for c in ("timestamp", "status") + TOKEN_COLUMNS}, keep=keep)
    if keep:
        raise UsageError([problem(str(path), "one row per period, not per request: sizing needs each request's "
                                             "time and tokens (timestamp, input_tokens, output_tokens)")])
    return _period_rows(path)


READERS: dict[str, Callable[[Path], Usage]] = {
    "generic": _generic,
    "openai": _openai,
    "anthropic": _anthropic,
    "azure-trace": lambda p, keep=False: _request_rows(p, "azure-trace", {"timestamp": "TIMESTAMP",
                                                                           "input_tokens": "ContextTokens",
                                                                           "output_tokens": "GeneratedTokens"}, keep=keep),
    "mooncake": _mooncake,
    "servegen": _servegen,
    "focus": _focus,
}




def detect(path: Path) -> tuple[str | None, list[str]]:
    """The format of ``path`` by its content, and why each format was ruled out."""
    why: list[str] = []
    cols = _columns(path)
    if cols is not None:
        s = set(cols)
        tests = [("servegen", {"window_start_s", "total_rate_rps"}),
                 ("azure-trace", {"TIMESTAMP", "ContextTokens", "GeneratedTokens"}),
                 (COMMITMENT_DATASET, {"ContractCommitmentId", "ContractCommitmentCategory"}),
                 ("focus", {"ChargePeriodStart", "BilledCost"}),
                 ("generic", {"timestamp", "input_tokens", "output_tokens"}),
                 ("generic", {"period_start", "requests"})]
        for fmt, need in tests:
            if need <= s:
                return fmt, why
        why.append(f"a table with columns {', '.join(cols[:12])}{' …' if len(cols) > 12 else ''}: "
                   + "; ".join(f"{k} needs {v}" for k, v in NEEDS.items()
                               if k not in ("openai", "anthropic", "mooncake")))
        return None, why
    head = _text_head(path).lstrip("\ufeff").lstrip()
    if not head:
        return None, ["the file is empty"]
    first = head.splitlines()[0]
    try:
        obj = json.loads(first)
    except json.JSONDecodeError:
        try:
            obj = json.loads(_text_head(path, 50_000_000).lstrip("\ufeff"))
        except json.JSONDecodeError:
            return None, ["not a CSV with a header, not Parquet, and not JSON"]
    if isinstance(obj, list):
        obj = obj[0] if obj else {}
    if isinstance(obj, dict):
        if {"timestamp", "input_length", "output_length"} <= set(obj):
            return "mooncake", why
        data = obj.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            if "start_time" in data[0]:
                return "openai", why
            if "starting_at" in data[0]:
                return "anthropic", why
        why.append("JSON, but neither an OpenAI page (data[].start_time), an Anthropic page (data[].starting_at) "
                   "nor Mooncake lines (timestamp, input_length, output_length)")
    return None, why


REQUEST_FORMATS = ("generic", "azure-trace", "mooncake")  # formats with one row per request


def read_requests(path: str | Path, fmt: str = "auto") -> Usage:
    """Read a request-level export (``REQUEST_FORMATS``) keeping every request in ``Usage.requests``
    (columns t, input_tokens (the whole prompt), output_tokens, cached_tokens and cache_write_tokens
    where the file has them, model), sorted by time; other formats are refused (located)."""
    p = Path(path)
    got = fmt
    if fmt == "auto" and p.is_file() and p.stat().st_size > 0:
        got = _wrapped(p, fmt, lambda: (detect(p)[0] or "auto", None))[0]
    if got not in REQUEST_FORMATS:
        if got == "auto":
            return read(p, fmt)  # the reader's own message: no such file, empty, undetectable
        raise UsageError([problem(str(p), f"{got} exports count periods, not requests: sizing needs one row per "
                                          f"request ({', '.join(REQUEST_FORMATS)})")])
    u = _wrapped(p, got, lambda: READERS[got](p, keep=True))
    r = u.requests
    failed = np.zeros(len(r), bool)
    for c in FAILURES:
        if c in r:
            failed |= r[c].to_numpy(float) > 0
    if failed.any():  # a failed attempt is not demand: its retry is in the trace too
        u.warnings.append(f"{p}: {int(failed.sum()):,} failed attempt(s) (status) left out: their retries are the demand")
    u.requests = r[~failed].drop(columns=[c for c in FAILURES if c in r]).sort_values("t", kind="stable") \
        .reset_index(drop=True)
    return u


def read(path: str | Path, fmt: str = "auto") -> Usage:
    """Read one export (``fmt`` one of ``FORMATS`` or ``auto``); anything unreadable raises a located
    ``UsageError``."""
    p = Path(path)
    return _wrapped(p, fmt, lambda: _read(p, fmt))


def _wrapped(p: Path, fmt: str, run) -> Usage:
    """``run()``, with the libraries' errors on a corrupt file as one located ``UsageError``."""
    try:
        return run()
    except UsageError:
        raise
    except (OSError, EOFError, ValueError, UnicodeDecodeError, KeyError, TypeError, IndexError) as exc:
        # a corrupt Parquet or gzip file, a JSON line that is not JSON, a ragged CSV: the library's words
        import pyarrow as pa

        try:
            parquet = isinstance(exc, pa.ArrowException) and _is_parquet(p)
        except OSError:
            parquet = False
        kind = "Parquet" if parquet else (fmt if fmt != "auto" else "a usage export")
        raise UsageError([problem(str(p), f"cannot be read as {kind}: {type(exc).__name__}: {exc}"[:500])]) from None


def _read(p: Path, fmt: str) -> Usage:
    if not p.is_file():
        raise UsageError([problem(str(p), "a directory, not an export file" if p.is_dir() else "no such file")])
    if p.stat().st_size == 0:
        raise UsageError([problem(str(p), "the file is empty: no usage to calibrate on")])
    if fmt == "auto":
        found, why = detect(p)
        if found is None:
            raise UsageError([problem(str(p), "could not tell the format: " + "; ".join(why)
                                      + f". Name one with --format ({', '.join(FORMATS)})")])
        fmt = found
    if fmt == COMMITMENT_DATASET:
        raise UsageError([problem(str(p), "a FOCUS 1.3 Contract Commitment dataset (the terms of contracts, no usage): "
                                          "it is read with sim.calibrate.commitments.read_commitments, and its "
                                          "commitments become scenario contracts: entries")])
    if fmt not in READERS:
        raise UsageError([problem(str(p), f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)} or auto")])
    if fmt in ("generic", "azure-trace", "servegen", "focus"):
        cols = _columns(p)
        need = {"azure-trace": {"TIMESTAMP", "ContextTokens", "GeneratedTokens"},
                "servegen": {"window_start_s", "total_rate_rps"},
                "focus": {"ChargePeriodStart", "ChargePeriodEnd", "ConsumedQuantity", "BilledCost"}}.get(fmt)
        if cols is None:
            raise UsageError([problem(str(p), f"a {fmt} file is a CSV or Parquet table; this is not one")])
        if fmt == "generic":
            s = set(cols)
            if not ({"timestamp", "input_tokens", "output_tokens"} <= s or {"period_start", "requests"} <= s):
                miss = sorted({"timestamp", "input_tokens", "output_tokens"} - s)
                raise UsageError([problem(str(p), f"missing column(s) {', '.join(miss)}: a generic file needs "
                                                  + NEEDS["generic"], 1)])
        elif need and not need <= set(cols):
            raise UsageError([problem(str(p), f"missing column(s) {', '.join(sorted(need - set(cols)))}: a {fmt} "
                                              f"file needs {NEEDS[fmt]}", 1)])
    return READERS[fmt](p)
