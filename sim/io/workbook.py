"""Spreadsheets (``--xlsx PATH``): one workbook, a sheet per table, every header with its unit.

Which columns are money
-----------------------
A table says so itself, where it is built: a :class:`Table` is a DataFrame and a ``units``
mapping, column -> unit. The unit :data:`MONEY` marks an amount of money in the scenario's
currency: its header shows the currency code ("spend (USD)") and its numbers are rounded to cents
(2 decimals, ``sim.io.files.cents``), in the workbook and in the CSV of the same table
(``files.write_csv(path, table.frame, money=table.money)``), so both hold the same numbers. A price
per unit of volume is not an amount: :data:`PER_MTOK` ("USD/MTok") keeps its digits, as does a
rate per token. Other units are text naming what a number counts ("tokens", "GPU-hours", "paths",
:data:`SHARE` for a fraction 0..1 shown as a percentage). A column left out of ``units`` is a label
(period, workload, pool) or a number without a unit (a rank). No column is taken for money by its
name: the code that builds a table knows what it holds, a rule on names would only guess ("cost" of
a price per token, "value" of a probability). A column whose unit changes from row to row (a table
of measures: a budget, then a probability) takes a :class:`ByRow`.

The workbook
------------
One sheet per table, in the order given, named as the table (Excel's 31 characters at most, the
characters it refuses replaced, a repeated name numbered). Row 1 is the header, bold and frozen.
The values are the CSV's (:func:`rounded`: money at cents, other floats at 12 significant digits),
numbers stored as numbers with a number format by unit ('#,##0.00' for money, '0.0%' for shares,
...), a missing value an empty cell, text as text (never a formula, even when it begins with '=').
Columns are as wide as their header or widest value, within limits. The file is written
atomically (``sim.io.files.atomic_write``): a reader never sees half a workbook.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from . import files

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MONEY = "{currency}"  # an amount of money in the scenario's currency: rounded to cents
PER_MTOK = "{currency}/MTok"  # a price per million tokens: not an amount, keeps its digits
SHARE = "share"  # a fraction 0..1 (shown as a percentage)

MAX_SHEET_NAME = 31  # Excel's limit
MAX_ROWS = 1_048_576  # rows of a sheet, the header's included
_BAD_NAME = re.compile(r"[\[\]:*?/\\]")
_MIN_WIDTH, _MAX_WIDTH = 8, 48  # column widths, in characters
_FORMATS = {MONEY: "#,##0.00", PER_MTOK: "#,##0.0000", SHARE: "0.0%",
            **{u: "#,##0" for u in ("tokens", "tokens/year", "requests", "sessions", "paths", "days")},
            **{u: "#,##0.0" for u in ("GPU-hours", "kWh")}}


@dataclass(frozen=True)
class ByRow:
    """The unit of a column that changes by row: ``units[row[key]]`` (``default`` for keys not listed).
    With ``units`` None the key column holds each row's unit itself (as text, never money)."""

    key: str
    units: Mapping[Any, str | None] | None = None
    default: str | None = None

    def unit(self, key_value: Any) -> str | None:
        if self.units is None:
            return None if _missing(key_value) or key_value == "" else str(key_value)
        return self.units.get(key_value, self.default)


Unit = Union[str, ByRow, None]


@dataclass
class Table:
    """A table and the unit of its columns (see the module docstring)."""

    frame: pd.DataFrame
    units: Mapping[str, Unit] = field(default_factory=dict)

    @property
    def money(self) -> list[str]:
        """The columns that are money in every row."""
        return [c for c in self.frame.columns if self.units.get(c) == MONEY]


def as_table(t: Table | pd.DataFrame) -> Table:
    return t if isinstance(t, Table) else Table(t)


def rounded(table: Table | pd.DataFrame) -> pd.DataFrame:
    """The table's frame as its CSV and its sheet hold it: money at cents (the money rows of a
    :class:`ByRow` column too), every other float column at ``files.CSV_DIGITS`` significant digits."""
    table = as_table(table)
    out = files.round_floats(table.frame, table.money)
    for c, u in table.units.items():
        if isinstance(u, ByRow) and c in out.columns and u.key in out.columns:
            is_money = [u.unit(k) == MONEY for k in table.frame[u.key].tolist()]
            if any(is_money):
                if out is table.frame:
                    out = out.copy()
                out[c] = [files.cents(v) if m else v for v, m in zip(out[c].tolist(), is_money)]
    return out


def unit_text(unit: str | None, currency: str) -> str | None:
    return None if unit is None else unit.replace("{currency}", currency or "currency")


def header(column: Any, unit: Unit, currency: str) -> str:
    """The header of ``column``: its name and its unit, "spend (USD)" (the name alone when it names
    the unit already, or has none)."""
    name = str(column)
    if isinstance(unit, ByRow):
        if unit.units is None:
            return f"{name} (unit: column {unit.key!r})"
        parts = [unit_text(unit.default, currency)] if unit.default else []
        parts += [f"{k}: {unit_text(v, currency) or 'no unit'}" for k, v in unit.units.items() if v != unit.default]
        return f"{name} ({'; '.join(parts)})" if parts else name
    u = unit_text(unit, currency)
    if not u or f"({u})" in name or name.endswith(f" {u}"):
        return name
    if name == u:  # "requests (count)", not "requests (requests)"
        return f"{name} ({'fraction' if unit == SHARE else 'count'})"
    return f"{name} ({u})"


def number_format(unit: str | None) -> str:
    if unit is None:
        return "General"
    if unit in _FORMATS:
        return _FORMATS[unit]
    if unit.endswith("/MTok"):
        return _FORMATS[PER_MTOK]
    return "General"


def sheet_names(names: list[str]) -> list[str]:
    """Excel sheet names for ``names``: at most 31 characters, none of []:*?/\\ , unique regardless of case."""
    out: list[str] = []
    taken: set[str] = set()
    for raw in names:
        base = _BAD_NAME.sub("_", str(raw)).strip("'").strip() or "table"
        if base.lower() == "history":  # reserved by Excel
            base = "history_"
        name, k = base[:MAX_SHEET_NAME], 1
        while name.lower() in taken:
            k += 1
            tail = f"~{k}"
            name = base[:MAX_SHEET_NAME - len(tail)] + tail
        taken.add(name.lower())
        out.append(name)
    return out


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return not math.isfinite(float(v))
    try:
        import pandas as pd

        return v is pd.NaT or v is pd.NA
    except ImportError:  # pragma: no cover
        return False


def cell_value(v: Any) -> Any:
    """A Python value a cell can hold: numbers as numbers, NaN and None empty, dates as the CSV writes them."""
    import numpy as np
    import pandas as pd

    if _missing(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def _shown(v: Any, fmt: str) -> int:
    """About how many characters a cell shows."""
    if v is None:
        return 0
    if isinstance(v, bool):
        return 5
    if isinstance(v, (int, float)):
        if fmt == "0.0%":
            return len(f"{v:.1%}")
        if fmt.startswith("#,##0"):
            decimals = len(fmt.split(".")[1]) if "." in fmt else 0
            return len(f"{v:,.{decimals}f}")
        return len(f"{v:.10g}")
    return max((len(x) for x in str(v).splitlines()), default=0)


def _fill_sheet(ws, table: Table, currency: str) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    frame = rounded(table)
    cols = list(frame.columns)
    if len(frame) + 1 > MAX_ROWS:
        raise files.OutputError(f"table {ws.title!r} has {len(frame):,} rows, more than a sheet holds "
                                f"({MAX_ROWS - 1:,} below the header)")
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    widths = []
    for j, c in enumerate(cols, start=1):
        h = header(c, table.units.get(c), currency)
        cell = ws.cell(row=1, column=j, value=ILLEGAL_CHARACTERS_RE.sub("", h))
        cell.font, cell.alignment = bold, wrap
        widths.append(min(len(h), _MAX_WIDTH))
    keys = {c: frame[u.key].tolist() for c, u in table.units.items()
            if isinstance(u, ByRow) and c in frame.columns and u.key in frame.columns}
    for j, c in enumerate(cols, start=1):
        unit = table.units.get(c)
        col_fmt = number_format(unit_or_none(unit))
        for i, v in enumerate(frame[c].tolist()):
            x = cell_value(v)
            if x is None:
                continue
            if isinstance(x, str):
                x = ILLEGAL_CHARACTERS_RE.sub("", x)
            cell = ws.cell(row=i + 2, column=j, value=x)
            fmt = col_fmt
            if c in keys:
                fmt = number_format(unit.unit(keys[c][i]))
            if isinstance(x, str):
                cell.data_type = "s"  # text, never a formula
            elif fmt != "General" and not isinstance(x, bool):
                cell.number_format = fmt
            if i < 2000:  # the widths from the first rows are enough
                widths[j - 1] = max(widths[j - 1], min(_shown(x, fmt), _MAX_WIDTH))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(_MIN_WIDTH, w + 2)
    ws.freeze_panes = "A2"


def unit_or_none(unit: Unit) -> str | None:
    return unit if isinstance(unit, str) else None


def write_workbook(path: Path, sheets: Mapping[str, Table | pd.DataFrame], *, currency: str = "") -> Path:
    """Write ``sheets`` (sheet name -> table, in order) to the workbook ``path``, atomically.

    ``currency`` is the code money headers show. Raises ``files.OutputError`` when the file
    cannot be written (or a table has more rows than a sheet holds)."""
    from openpyxl import Workbook

    if not sheets:
        raise ValueError("a workbook needs at least one table")
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "tokensim"
    for name, t in zip(sheet_names(list(sheets)), sheets.values()):
        _fill_sheet(wb.create_sheet(title=name), as_table(t), currency)

    def save(p: Path) -> None:
        try:
            wb.save(p)
        except OSError as exc:
            raise files.OutputError(f"cannot write {path}: {exc.strerror or exc}") from None

    return files.atomic_write(Path(path), save)
