"""What every command shares: output (one JSON object or text), errors, flag-value checks, loading.

Nothing here imports another module of ``sim.cli``: the command modules and ``app`` import this one,
so the package has no import cycle.

Flag values are checked by :class:`Checked` actions while the command line is parsed. A bad value
does not stop the parse: its message (naming the flag, what was expected and what was given) is
collected on the (sub-)parser, and ``app.main`` reports every such problem together, exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..limits import MAX_HORIZON_MONTHS, MAX_PATHS  # noqa: F401 - the caps of the scenario keys (re-exported)

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario.model import Scenario

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # SIGINT or SIGTERM (128 + SIGINT, the shell's convention for Ctrl-C)

PROBLEMS_ATTR = "_tokensim_flag_problems"  # parser attribute collecting bad flag values

MAX_SEED = 2**64 - 1  # seeds are mixed as unsigned 64-bit integers (sim.mc.rng)
MAX_MONTH_INDEX = MAX_HORIZON_MONTHS - 1  # a month of the longest horizon
MAX_DES_DAYS = 366.0  # the request-level simulation runs for at most a year of days
MAX_USERS = 10_000_000  # users of a request-level simulation (one intensity draw each)
MAX_WORKERS = 1024  # numba threads; more than the machine has are capped at what it has
MAX_TRAJECTORIES = 1000  # Morris trajectories (each costs k + 1 forecasts)
MAX_SOBOL_SAMPLES = 2**16  # Sobol base samples N (each costs 2k + 2 forecasts)


class UsageError(Exception):
    """Bad flags or values on the command line."""


class Finished(Exception):
    """Raised by --help and --version: the command is done, with this object (or text) to print."""

    def __init__(self, obj: dict, text: str):
        super().__init__(text)
        self.obj, self.text = obj, text


# ---- output -----------------------------------------------------------------------------------------
def finite(o: Any) -> Any:
    """JSON has no NaN or infinity: such values become null."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [finite(v) for v in o]
    return o


def jsonable(o: Any) -> Any:
    """``json.dumps`` default: numpy scalars and arrays as numbers and lists, anything else as text."""
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def emit(args: argparse.Namespace, obj: dict, text: str | None = None) -> None:
    """Print ``obj`` as one JSON line with --json, else ``text`` (when given)."""
    if getattr(args, "json", False):
        clean = finite(json.loads(json.dumps(obj, default=jsonable)))
        sys.stdout.write(json.dumps(clean, allow_nan=False) + "\n")
    elif text is not None:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))


# ---- the one scenario loader ----------------------------------------------------------------------------
def load_checked(path: str | Path) -> Scenario:
    """Load and check a scenario file: every command loads its scenario through this function.

    The catalog checks (``sim.checks.strategy_problems``: models priced, GPUs and curves known,
    SLOs reachable, models that fit their GPU, pools with capacity) run for the base scenario and
    every strategy. Raises ``sim.scenario.ScenarioError`` (every problem, located by file, line and
    key path) on bad input.
    """
    from ..checks import strategy_problems
    from ..scenario import load_scenario

    return load_scenario(path, checks=strategy_problems)


# ---- the one output directory ------------------------------------------------------------------------------
def output_dir(raw: str | None, default: Path) -> Path:
    """The command's output directory (``--out`` when given, else ``default``), taken for the rest of
    the command: created, locked so no other tokensim process writes into it, and cleared of the
    temporary files killed runs left (``sim.io.outdir``). Every command that writes into a directory
    calls this before its work starts; ``app.main`` releases it when the command ends. A directory
    another process holds raises ``OutputBusy`` (exit status 2, error kind "output")."""
    from ..io import outdir

    return outdir.claim(Path(raw) if raw else default)


# ---- the workbook of --xlsx ---------------------------------------------------------------------------------
def add_xlsx(p: argparse.ArgumentParser) -> None:
    """``--xlsx BOOK.xlsx``: the command's tables in one workbook, a sheet each (``sim.io.workbook``)."""
    p.add_argument("--xlsx", action=Checked, check=OutFile((".xlsx",)), metavar="BOOK.xlsx",
                   help="also write the command's tables to this Excel workbook, one sheet each (money at cents, "
                        "the unit in every header)")


def xlsx_target(args: argparse.Namespace) -> Path | None:
    """The ``--xlsx`` workbook, or None; its directory is taken for the rest of the command
    (:func:`output_dir`). Called before the command's work: a directory another process holds is
    refused before anything runs."""
    raw = getattr(args, "xlsx", None)
    if not raw:
        return None
    p = Path(raw)
    output_dir(str(p.parent), p.parent)
    return p


def write_xlsx(path: Path, sheets: dict, currency: str, obj: dict) -> str:
    """Write ``sheets`` (name -> ``sim.io.workbook.Table``) to the workbook ``path``, record it as
    ``obj["xlsx"]`` (the command's JSON) and return the line the text prints."""
    from ..io.workbook import write_workbook

    write_workbook(path, sheets, currency=currency)
    obj["xlsx"] = str(path)
    return f"Wrote {path} ({len(sheets)} sheet{'' if len(sheets) == 1 else 's'})"


# ---- flag values -------------------------------------------------------------------------------------------
class Invalid(ValueError):
    """A flag value does not fit. ``text`` says what was expected ("a date YYYY-MM-DD"); the message
    is "FLAG must be TEXT, got 'VALUE'" (without the value when ``show_value`` is false: the text
    names it already; as is when ``verbatim``)."""

    def __init__(self, text: str, *, show_value: bool = True, verbatim: bool = False):
        super().__init__(text)
        self.show_value, self.verbatim = show_value, verbatim


@dataclass(frozen=True)
class Whole:
    """A whole number in lo..hi."""

    lo: int
    hi: int
    note: str = ""

    def expected(self) -> str:
        top = str(self.hi)
        if self.lo == 1:
            what = f"a positive whole number up to {top}"
        elif self.lo == 0:
            what = f"a whole number from 0 to {top}"
        else:
            what = f"a whole number from {self.lo} to {top}"
        return what + (f" ({self.note})" if self.note else "")

    def __call__(self, raw: str) -> int:
        s = raw.strip().replace("_", "")
        if not re.fullmatch(r"[+-]?\d+", s):
            raise Invalid(self.expected())
        v = int(s)
        if not self.lo <= v <= self.hi:
            raise Invalid(self.expected())
        return v


@dataclass(frozen=True)
class Number:
    """A finite number; ``gt``/``ge`` and ``le`` bound it."""

    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def expected(self) -> str:
        parts = []
        if self.gt is not None:
            parts.append(f"> {self.gt:g}")
        if self.ge is not None:
            parts.append(f">= {self.ge:g}")
        if self.le is not None:
            parts.append(f"<= {self.le:g}")
        return "a finite number" + (" " + " and ".join(parts) if parts else "")

    def __call__(self, raw: str) -> float:
        try:
            v = float(raw)
        except ValueError:
            raise Invalid(self.expected()) from None
        if (not math.isfinite(v) or (self.gt is not None and not v > self.gt)
                or (self.ge is not None and not v >= self.ge) or (self.le is not None and not v <= self.le)):
            raise Invalid(self.expected())
        return v


@dataclass(frozen=True)
class Probability:
    """A number strictly between 0 and 1."""

    def expected(self) -> str:
        return "a number strictly between 0 and 1"

    def __call__(self, raw: str) -> float:
        try:
            v = float(raw)
        except ValueError:
            raise Invalid("must lie strictly between 0 and 1", verbatim=True) from None
        if not 0.0 < v < 1.0:  # also refuses nan
            raise Invalid("must lie strictly between 0 and 1", verbatim=True)
        return v


@dataclass(frozen=True)
class Date:
    """A calendar date YYYY-MM-DD."""

    def expected(self) -> str:
        return "a date YYYY-MM-DD"

    def __call__(self, raw: str) -> dt.date:
        s = raw.strip()
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s)
        if not m:
            raise Invalid("a date YYYY-MM-DD, e.g. 2026-11-01")
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise Invalid(f"a real calendar date YYYY-MM-DD ({exc})") from None


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of words."""

    options: tuple[str, ...]

    def expected(self) -> str:
        return "one of " + ", ".join(self.options)

    def __call__(self, raw: str) -> str:
        if raw not in self.options:
            raise Invalid(f"one of {', '.join(self.options)} (invalid choice)")
        return raw


@dataclass(frozen=True)
class MonthList:
    """Whole horizon months separated by commas, e.g. 0,6,12."""

    def expected(self) -> str:
        return f"whole months from 0 to {MAX_MONTH_INDEX} separated by commas, e.g. 0,6,12"

    def __call__(self, raw: str) -> list[int]:
        items = [x.strip() for x in raw.split(",") if x.strip()]
        if not items or not all(re.fullmatch(r"\d+", x) for x in items):
            raise Invalid(self.expected())
        months = sorted({int(x) for x in items})
        if months[-1] > MAX_MONTH_INDEX:
            raise Invalid(self.expected())
        return months


_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


@dataclass(frozen=True)
class SchedulerAddress:
    """A Dask scheduler address: [scheme://]host:port."""

    def expected(self) -> str:
        return (f"a Dask scheduler address [SCHEME://]HOST:PORT, e.g. tcp://10.0.0.5:8786 "
                f"(SCHEME one of {', '.join(_SCHEMES)}; PORT 1..65535)")

    def __call__(self, raw: str) -> str:
        s = raw.strip()
        scheme, sep, rest = s.partition("://")
        if not sep:
            scheme, rest = "tcp", s
        if scheme == "inproc":
            if rest:
                return s
            raise Invalid(self.expected())
        m = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})", rest)
        if scheme not in _SCHEMES or not m or not 1 <= int(m[2]) <= 65535:
            raise Invalid(self.expected())
        return s


def _nearest_existing(p: Path) -> Path:
    q = p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def _unusable_dir(p: Path) -> str | None:
    """Why directory ``p`` cannot take output files (it is a file, or cannot be created or written), or None."""
    if p.exists():
        if not p.is_dir():
            return f"{p} is a file"
        if not os.access(p, os.W_OK | os.X_OK):
            return f"{p} is not writable"
        return None
    base = _nearest_existing(p.absolute())
    if not base.is_dir():
        return f"cannot create output directory {p}: {base} is a file"
    if not os.access(base, os.W_OK | os.X_OK):
        return f"cannot create output directory {p}: {base} is not writable"
    return None


@dataclass(frozen=True)
class OutDir:
    """An output directory that exists and is writable, or can be created."""

    def expected(self) -> str:
        return "a writable directory"

    def __call__(self, raw: str) -> str:
        why = _unusable_dir(Path(raw))
        if why:
            raise Invalid(f"a writable directory; {why}", show_value=False)
        return raw


@dataclass(frozen=True)
class OutFile:
    """An output file with one of ``suffixes`` whose directory is writable or can be created."""

    suffixes: tuple[str, ...]

    def expected(self) -> str:
        return f"a file name ending in {' or '.join(self.suffixes)} in a writable directory"

    def __call__(self, raw: str) -> str:
        p = Path(raw)
        if p.is_dir():
            raise Invalid(f"a file name, but {raw} is a directory", show_value=False)
        if p.suffix.lower() not in self.suffixes:
            raise Invalid(f"a file name ending in {' or '.join(self.suffixes)}")
        why = _unusable_dir(p.parent)
        if why:
            raise Invalid(f"a file in a writable directory; {why}", show_value=False)
        return raw


class Checked(argparse.Action):
    """Store a flag's value after ``check`` converts it; a bad value becomes a located problem.

    ``add_argument("--days", action=Checked, check=Number(gt=0, le=366))``: the message names the
    flag, what was expected and what was given, e.g. ``--days must be a finite number > 0 and <= 366,
    got 'nan'``. Problems are collected on the parser (not raised) so every bad flag is reported at
    once; :func:`flag_problems` reads them back.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, check: Callable[[str], Any], **kw: Any):
        if kw.get("metavar") is None and isinstance(check, Choice):
            kw["metavar"] = "{" + ",".join(check.options) + "}"
        super().__init__(option_strings, dest, **kw)
        self.check = check

    def __call__(self, parser, namespace, values, option_string=None):
        name = "/".join(self.option_strings) or str(self.metavar or self.dest)
        if isinstance(values, list):  # nargs
            out, ok = [], True
            for v in values:
                r = _convert(self.check, name, v, parser)
                ok = ok and r is not _BAD
                out.append(r)
            setattr(namespace, self.dest, out if ok else None)
            return
        r = _convert(self.check, name, values, parser)
        setattr(namespace, self.dest, None if r is _BAD else r)


_BAD = object()


def _convert(check: Callable[[str], Any], name: str, raw: Any, parser: argparse.ArgumentParser) -> Any:
    if not isinstance(raw, str):  # a default that is already a value
        return raw
    try:
        return check(raw)
    except Invalid as exc:
        msg = f"{parser.prog}: {name} {'' if exc.verbatim else 'must be '}{exc}"
        if exc.show_value:
            msg += f", got {raw!r}"
        parser.__dict__.setdefault(PROBLEMS_ATTR, []).append(msg)
        return _BAD


def flag_problems(parsers: Sequence[argparse.ArgumentParser]) -> list[str]:
    """The bad flag values found while these parsers parsed (empty when every value fits)."""
    return [m for p in parsers for m in p.__dict__.get(PROBLEMS_ATTR, [])]
