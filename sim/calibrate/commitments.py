"""FOCUS 1.3 commitments: the Contract Commitment dataset as scenario ``contracts:`` entries, and
what a cost export's ``ContractApplied`` and ``CommitmentDiscount*`` columns say was drawn on them.

The columns are FOCUS 1.3's (FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, files
``specification/datasets/contract_commitment/dataset.md`` and ``…/columns/*.md``,
``specification/datasets/cost_and_usage/columns/contractapplied.md`` and
``commitmentdiscount{id,category,type,status,quantity,unit}.md``):

- the Contract Commitment dataset, one row per commitment: ``ContractCommitmentId``,
  ``ContractCommitmentCategory`` (``Spend`` or ``Usage``), ``ContractCommitmentCost`` (in
  ``BillingCurrency``; not null for Spend), ``ContractCommitmentQuantity`` and
  ``ContractCommitmentUnit`` (what a Usage commitment is measured in), ``ContractCommitmentPeriodStart``
  (inclusive) and ``…PeriodEnd`` (exclusive), ``ContractCommitmentType``, ``…Description``,
  ``ContractId``, ``ContractPeriodStart``/``End``. Two columns of the 1.4 working draft are read
  when present: ``ContractCommitmentDiscountPercentage`` and ``ContractCommitmentFulfillmentInterval``.
- ``ContractApplied`` on cost rows, a JSON object ``{"Elements": [{"ContractId", "ContractCommitmentId",
  "ContractCommitmentAppliedCost" | "ContractCommitmentAppliedQuantity" + "…AppliedUnit"}]}`` linking the
  charge to the commitments it drew on (the ``…ID`` spelling of the printed 1.3 text and the bare
  list of earlier drafts are read too).
- ``CommitmentDiscountId/Name/Category/Type/Status/Quantity/Unit`` on cost rows: commitment
  discounts (reservations, savings plans, CUDs) with their Used and Unused rows.

The dataset is read by ``read_commitments`` rather than by ``formats.read``: it holds no usage, and
a ``Usage`` always has periods (every caller fits or sums them); ``formats.detect`` recognises it
(``formats.COMMITMENT_DATASET``) so ``read`` refuses it by name, and ``is_commitment_dataset`` lets a
command sort its FILE arguments. What the scenario cannot express is a located warning, never dropped
silently; what is malformed is a located ``UsageError``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import formats as _f
from .usage import UsageError, problem

CATEGORIES = ("Spend", "Usage")
NEEDS = ("ContractCommitmentId", "ContractCommitmentCategory", "ContractCommitmentPeriodStart",
         "ContractCommitmentPeriodEnd", "ContractCommitmentCost", "ContractCommitmentQuantity",
         "ContractCommitmentUnit", "BillingCurrency")
DETECT = {"ContractCommitmentId", "ContractCommitmentCategory"}  # what marks the dataset
NULLS = {"", "null", "none", "nan"}  # FOCUS-Sample-Data writes NULL for a null cell
_SEATS = r"(?i)\b(seats?|licen[cs]es?|users?|subscriptions?)\b"
_PROVISIONED = r"(?i)\b(ptus?|provisioned|model[- ]?units?|mus?|throughput)\b"
_GPU = r"(?i)gpu|instance[- ]?hours?|node[- ]?hours?|capacity"
# ContractCommitmentFulfillmentInterval (FOCUS 1.4 draft) -> settlement period in months (None: the term)
_INTERVALS = {"monthly": 1, "quarterly": 3, "semi-annual": 6, "semiannual": 6, "annual": 12, "yearly": 12,
              "full commitment period": None, "total term": None}


# ---- the Contract Commitment dataset ----------------------------------------------------------
@dataclass(frozen=True)
class Commitment:
    """One row of a Contract Commitment dataset (times UTC; the end is exclusive)."""

    id: str
    category: str  # "Spend" (measured in cost) or "Usage" (measured in quantity × unit)
    cost: float  # ContractCommitmentCost in ``currency``; NaN when null
    quantity: float  # ContractCommitmentQuantity; NaN when null
    unit: str  # ContractCommitmentUnit
    currency: str  # BillingCurrency
    start: pd.Timestamp  # ContractCommitmentPeriodStart (inclusive)
    end: pd.Timestamp  # ContractCommitmentPeriodEnd (exclusive)
    type: str = ""  # ContractCommitmentType, the provider's label
    description: str = ""
    contract_id: str = ""
    contract_start: pd.Timestamp | None = None
    contract_end: pd.Timestamp | None = None
    discount: float = math.nan  # ContractCommitmentDiscountPercentage (1.4 draft), NaN when absent
    fulfillment: str = ""  # ContractCommitmentFulfillmentInterval (1.4 draft), "" when absent
    file: str = ""
    line: int = 0

    @property
    def amount(self) -> float:
        """What fulfils it: the cost of a Spend commitment, the quantity of a Usage one."""
        return self.cost if self.category == "Spend" else self.quantity

    def where(self, message: str, column: str = "ContractCommitmentId") -> str:
        """``message`` located at this commitment's row (the warning format of the readers)."""
        return str(problem(self.file, f"{self.id}: {message}", self.line, column))


@dataclass
class CommitmentFile:
    """The commitments of one dataset file, with what the reader noticed."""

    file: str
    commitments: list[Commitment]
    warnings: list[str] = field(default_factory=list)


def is_commitment_dataset(path: str | Path) -> bool:
    """Whether ``path`` is a FOCUS Contract Commitment dataset (CSV or Parquet, by its columns)."""
    try:
        cols = _f._columns(Path(path))
    except (OSError, EOFError, ValueError):
        return False
    return cols is not None and DETECT <= set(cols)


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as stripped text, "" where null (or absent)."""
    if col not in df.columns:
        return pd.Series("", index=df.index)
    t = df[col].astype(str).str.strip()
    return t.where(~t.str.lower().isin(NULLS), "")


def _nulls_out(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    df = df.copy()
    for c in cols:
        if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]) and \
                not pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = _text(df, c)
    return df


def _empty(df: pd.DataFrame, col: str, value: np.ndarray) -> np.ndarray:
    """Where the cell is null (not where it holds something that is not a number: that is its own problem)."""
    if pd.api.types.is_numeric_dtype(df[col]):
        return np.isnan(value)
    return (_text(df, col) == "").to_numpy()


def read_commitments(path: str | Path) -> CommitmentFile:
    """The commitments of a Contract Commitment dataset (CSV or Parquet). Missing columns, values
    that are not numbers or times, an unknown category, a Spend row without a cost or a Usage row
    without a quantity and unit, a period that ends before it starts, a repeated id and mixed
    currencies are each a located problem (file, line, column) of one ``UsageError``."""
    p = Path(path)
    f = str(p)
    if not p.is_file():
        raise UsageError([problem(f, "no such file")])
    cols = _f._columns(p)
    if cols is None:
        raise UsageError([problem(f, "a Contract Commitment dataset is a CSV or Parquet table; this is not one")])
    miss = [c for c in NEEDS if c not in cols]
    if miss:
        raise UsageError([problem(f, f"missing column(s) {', '.join(miss)}: a FOCUS 1.3 Contract Commitment dataset "
                                     f"has {', '.join(NEEDS)}", 1)])
    bad = _f._Bad(f)
    rows: list[dict] = []
    probs: list = []
    for line, raw in _f._chunks(p):
        df = _nulls_out(raw, raw.columns)
        ids = _text(df, "ContractCommitmentId")
        cat = _text(df, "ContractCommitmentCategory")
        norm = cat.str.capitalize()
        bad.add("ContractCommitmentId", "no value", (ids == "").to_numpy(), line)
        known = norm.isin(CATEGORIES).to_numpy()
        for v in sorted(set(cat[~known & (cat != "")])):
            hit = (cat == v).to_numpy() & ~known
            bad.add("ContractCommitmentCategory", f"unknown category {v!r} (expected Spend or Usage)", hit, line)
        bad.add("ContractCommitmentCategory", "no value", (cat == "").to_numpy(), line)
        start = _f._time(df, "ContractCommitmentPeriodStart", bad, line)
        end = _f._time(df, "ContractCommitmentPeriodEnd", bad, line)
        cost = _f._number(df, "ContractCommitmentCost", bad, line, False)
        qty = _f._number(df, "ContractCommitmentQuantity", bad, line, False)
        unit = _text(df, "ContractCommitmentUnit")
        cur = _text(df, "BillingCurrency").str.upper()
        spend = (norm == "Spend").to_numpy()
        usage = (norm == "Usage").to_numpy()
        no_cost = _empty(df, "ContractCommitmentCost", cost)
        no_qty = _empty(df, "ContractCommitmentQuantity", qty)
        bad.add("ContractCommitmentCost", "a Spend commitment without a cost (its amount)", spend & no_cost, line)
        bad.add("BillingCurrency", "a Spend commitment without a currency", spend & (cur == "").to_numpy(), line)
        bad.add("ContractCommitmentQuantity", "a Usage commitment without a quantity (its amount)",
                usage & no_qty, line)
        bad.add("ContractCommitmentUnit", "a Usage commitment without a unit", usage & (unit == "").to_numpy(), line)
        ok_t = start.notna().to_numpy() & end.notna().to_numpy()
        bad.add("ContractCommitmentPeriodEnd", "a period ending at or before it starts",
                ok_t & (end <= start).to_numpy(), line)
        c_start = _f._time(df, "ContractPeriodStart", bad, line) if "ContractPeriodStart" in df.columns else None
        c_end = _f._time(df, "ContractPeriodEnd", bad, line) if "ContractPeriodEnd" in df.columns else None
        disc = (_f._number(df, "ContractCommitmentDiscountPercentage", bad, line, False)
                if "ContractCommitmentDiscountPercentage" in df.columns else np.full(len(df), np.nan))
        bad.add("ContractCommitmentDiscountPercentage", "a discount above 1 (it is a fraction, 0 to 1)", disc > 1, line)
        interval = _text(df, "ContractCommitmentFulfillmentInterval")
        kind, text, cid = (_text(df, c) for c in ("ContractCommitmentType", "ContractCommitmentDescription", "ContractId"))
        for i in range(len(df)):
            rows.append({
                "id": ids.iat[i], "category": norm.iat[i], "cost": float(cost[i]), "quantity": float(qty[i]),
                "unit": unit.iat[i], "currency": cur.iat[i], "start": start.iat[i], "end": end.iat[i],
                "type": kind.iat[i], "description": text.iat[i], "contract_id": cid.iat[i],
                "contract_start": None if c_start is None or pd.isna(c_start.iat[i]) else c_start.iat[i],
                "contract_end": None if c_end is None or pd.isna(c_end.iat[i]) else c_end.iat[i],
                "discount": float(disc[i]), "fulfillment": interval.iat[i], "file": f, "line": line + i})
    bad.raise_if_any()
    if not rows:
        raise UsageError([problem(f, "no commitments in this Contract Commitment dataset")])
    seen: dict[str, int] = {}
    for r in rows:
        if r["id"] in seen:
            probs.append(problem(f, f"ContractCommitmentId {r['id']!r} repeats line {seen[r['id']]} (one row per "
                                    "commitment)", r["line"], "ContractCommitmentId"))
        seen.setdefault(r["id"], r["line"])
    probs.extend(_mixed_currencies(rows))
    if probs:
        raise UsageError(probs)
    return CommitmentFile(f, [Commitment(**r) for r in rows], bad.notes())


def _mixed_currencies(rows: list[dict]) -> list:
    """One problem per currency when the rows (``file``, ``line``, ``currency``) have more than one."""
    by: dict[str, list[tuple[str, int]]] = {}
    for r in rows:
        if r["currency"]:
            by.setdefault(r["currency"], []).append((r["file"], r["line"]))
    if len(by) < 2:
        return []
    names = ", ".join(sorted(by))
    out = []
    for cur, at in sorted(by.items()):
        shown = ", ".join(f"{fl}:{ln}" for fl, ln in at[:_f.SHOW_ROWS]) + (" …" if len(at) > _f.SHOW_ROWS else "")
        out.append(problem(at[0][0], f"mixed currencies {names}: {cur} at {shown}; convert the commitments to one "
                                     "currency first", at[0][1], "BillingCurrency"))
    return out


# ---- what a cost export drew on them ----------------------------------------------------------
@dataclass
class AppliedUse:
    """One contract commitment as the ``ContractApplied`` elements of a cost export draw on it."""

    commitment_id: str
    contract_id: str = ""
    cost: float = 0.0  # Σ ContractCommitmentAppliedCost of Usage rows (billing currency)
    ai_cost: float = 0.0  # of which AI rows
    quantity: dict[str, float] = field(default_factory=dict)  # Σ ContractCommitmentAppliedQuantity per unit
    ai_quantity: dict[str, float] = field(default_factory=dict)
    purchase_cost: float = 0.0  # applied on Purchase rows (the commitment bought)
    unused_cost: float = 0.0  # applied on the rows that are its unused portion (ResourceId = its id)
    rows: int = 0
    list_cost: float = 0.0  # of the Usage rows drawing on it: what they list at and were contracted at
    contracted_cost: float = 0.0
    billed_cost: float = 0.0
    first: pd.Timestamp | None = None  # ChargePeriodStart of its first row, ChargePeriodEnd of its last
    last: pd.Timestamp | None = None
    models: set[str] = field(default_factory=set)  # the AI rows' model names (as ``formats`` reads them)

    def tokens(self, ai: bool = False) -> float:
        """Applied quantities whose unit is a token count, in tokens (NaN when there are none)."""
        q = self.ai_quantity if ai else self.quantity
        tok = [v * s for u, v in q.items() for s in [float(_f._unit_scale(pd.Series([u]))[0])] if np.isfinite(s)]
        return float(sum(tok)) if tok else math.nan

    @property
    def ai_share(self) -> float:
        """The AI rows' share of what was drawn (cost, else token quantity); NaN when nothing was."""
        if self.cost > 0:
            return self.ai_cost / self.cost
        t = self.tokens()
        return self.tokens(True) / t if t and np.isfinite(t) and t > 0 else math.nan

    @property
    def billed_discount(self) -> float:
        """1 − ContractedCost / ListCost of the rows that drew on it (NaN without list costs)."""
        return 1.0 - self.contracted_cost / self.list_cost if self.list_cost > 0 else math.nan


@dataclass
class DiscountUse:
    """One commitment discount (``CommitmentDiscountId``) over the Usage rows of a cost export."""

    id: str
    name: str = ""
    category: str = ""  # Spend or Usage
    type: str = ""
    unit: str = ""  # CommitmentDiscountUnit
    used_quantity: float = 0.0  # Σ CommitmentDiscountQuantity of Used rows, in ``unit``
    unused_quantity: float = 0.0  # … of Unused rows
    used_cost: float = 0.0  # Σ EffectiveCost (BilledCost where absent) of Used rows
    unused_cost: float = 0.0
    rows: int = 0
    ai: bool = False  # some of its rows are AI rows

    @property
    def utilisation(self) -> float:
        """Used share of the commitment discount: by quantity, else by cost (NaN when neither)."""
        q = self.used_quantity + self.unused_quantity
        if q > 0:
            return self.used_quantity / q
        c = self.used_cost + self.unused_cost
        return self.used_cost / c if c > 0 else math.nan


@dataclass
class CommitmentUse:
    """What the cost exports say of commitments: per ``ContractCommitmentId`` (``ContractApplied``)
    and per ``CommitmentDiscountId``, with the billed totals the shares are of."""

    files: list[str]
    billed_cost: float = 0.0  # Σ BilledCost of every row
    ai_billed_cost: float = 0.0  # … of the AI Usage rows (what ``formats`` reads as usage)
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    contracts: dict[str, AppliedUse] = field(default_factory=dict)
    discounts: dict[str, DiscountUse] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def covered_share(self, commitment_id: str, ai: bool = True) -> float:
        """Share of the (AI) billed cost that was applied to ``commitment_id`` (NaN when unknown)."""
        a = self.contracts.get(commitment_id)
        total = self.ai_billed_cost if ai else self.billed_cost
        if a is None or total <= 0:
            return math.nan
        return (a.ai_cost if ai else a.cost) / total

    def summary(self) -> dict:
        """JSON-ready: per commitment what was drawn and its share of the bill, per commitment
        discount its utilisation."""
        def r(x: float, n: int = 6):
            return None if x is None or not np.isfinite(x) else round(float(x), n)

        return {
            "files": self.files, "billed_cost": r(self.billed_cost), "ai_billed_cost": r(self.ai_billed_cost),
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
            "contract_commitments": [
                {"id": a.commitment_id, "contract_id": a.contract_id, "rows": a.rows, "applied_cost": r(a.cost),
                 "applied_quantity": {u: r(v) for u, v in a.quantity.items()}, "ai_share": r(a.ai_share),
                 "share_of_ai_billed_cost": r(self.covered_share(a.commitment_id)),
                 "share_of_billed_cost": r(self.covered_share(a.commitment_id, ai=False)),
                 "billed_discount": r(a.billed_discount), "purchase_cost": r(a.purchase_cost),
                 "unused_cost": r(a.unused_cost), "models": sorted(a.models)}
                for a in self.contracts.values()],
            "commitment_discounts": [
                {"id": d.id, "name": d.name, "category": d.category, "type": d.type, "unit": d.unit, "ai": d.ai,
                 "used_quantity": r(d.used_quantity), "unused_quantity": r(d.unused_quantity),
                 "used_cost": r(d.used_cost), "unused_cost": r(d.unused_cost), "utilisation": r(d.utilisation)}
                for d in self.discounts.values()],
        }


class _Collect:
    """Problems of one kind per (column, what): the count, the first lines and the first detail."""

    def __init__(self, file: str):
        self.file = file
        self.seen: dict[tuple[str, str], list] = {}

    def add(self, column: str, what: str, line: int, detail: str = "") -> None:
        ent = self.seen.setdefault((column, what), [0, [], detail])
        ent[0] += 1
        if len(ent[1]) < _f.SHOW_ROWS:
            ent[1].append(line)

    def problems(self) -> list:
        out = []
        for (col, what), (n, lines, detail) in self.seen.items():
            more = f" and {n - len(lines):,} more" if n > len(lines) else ""
            first = f"; line {lines[0]}: {detail}" if detail else ""
            out.append(problem(self.file, f"{n:,} row{'s' if n > 1 else ''} with {what} (line{'s' if n > 1 else ''} "
                                          f"{', '.join(map(str, lines))}{more}){first}", lines[0], col))
        return out


def _key(d: dict, name: str):
    """``d[name]`` with the key's case ignored (the 1.3 text prints ``…ID``, its errata ``…Id``)."""
    low = name.lower()
    for k, v in d.items():
        if isinstance(k, str) and k.lower() == low:
            return v
    return None


def _applied_number(v) -> float | None:
    """A JSON number (or a numeric string); None when null; NaN when it is not a finite number."""
    if v is None or (isinstance(v, str) and v.strip().lower() in NULLS):
        return None
    if isinstance(v, bool):
        return math.nan
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def _elements(cell: str) -> tuple[list | None, str]:
    """The elements of a ContractApplied value, or (None, why not)."""
    try:
        obj = json.loads(cell)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at character {exc.pos + 1} of the value"
    if isinstance(obj, dict):
        els = _key(obj, "Elements")
        if els is None:
            els = _key(obj, "ContractApplied")  # an early draft's form
    else:
        els = obj  # a bare list, as early drafts printed it
    if not isinstance(els, list):
        return None, 'expected a JSON object {"Elements": [...]}'
    return els, ""


def commitment_use(paths: str | Path | Sequence[str | Path]) -> CommitmentUse:
    """Read the ``ContractApplied`` and ``CommitmentDiscount*`` columns of FOCUS cost exports (CSV or
    Parquet): per commitment what was drawn, by which rows (AI or not) and at what discount off list;
    per commitment discount its Used and Unused quantity and cost. A value that cannot be read is a
    located problem (file, line, column) of one ``UsageError``; an export with neither column is a
    warning (nothing to report), not an error."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out = CommitmentUse([str(p) for p in paths])
    for p in map(Path, paths):
        _one_export(p, out)
    return out


def _one_export(p: Path, out: CommitmentUse) -> None:
    f = str(p)
    cols = _f._columns(p) if p.is_file() else None
    if cols is None:
        raise UsageError([problem(f, "no such file" if not p.is_file() else "a FOCUS cost export is a CSV or Parquet "
                                                                             "table; this is not one")])
    if "ContractApplied" not in cols and "CommitmentDiscountId" not in cols:
        out.warnings.append(f"{f}: no ContractApplied or CommitmentDiscountId column: no commitment is drawn on in "
                            "this export")
        return
    bad = _f._Bad(f)
    col = _Collect(f)
    for line, raw in _f._chunks(p):
        df = _nulls_out(raw, [c for c in ("ContractApplied", "CommitmentDiscountId", "CommitmentDiscountStatus",
                                          "CommitmentDiscountCategory", "ChargeCategory", "ResourceId")
                              if c in raw.columns])
        n = len(df)
        ai, meter, _ = _f.focus_ai_rows(df)
        ai = ai.to_numpy()
        charge = _text(df, "ChargeCategory") if "ChargeCategory" in df.columns else pd.Series("Usage", index=df.index)
        usage = (charge == "Usage").to_numpy()
        billed = _f._number(df, "BilledCost", bad, line, False)
        out.billed_cost += float(np.nansum(billed))
        out.ai_billed_cost += float(np.nansum(billed[ai & usage]))
        linked = np.zeros(n, bool)
        applied = _text(df, "ContractApplied") if "ContractApplied" in df.columns else pd.Series("", index=df.index)
        disc_id = _text(df, "CommitmentDiscountId") if "CommitmentDiscountId" in df.columns else pd.Series("", index=df.index)
        linked |= (applied != "").to_numpy() | (disc_id != "").to_numpy()
        if not linked.any():
            continue
        lst = _f._number(df, "ListCost", bad, line, False, only=linked)
        contracted = _f._number(df, "ContractedCost", bad, line, False, only=linked)
        effective = _f._number(df, "EffectiveCost", bad, line, False, only=linked)
        cstart = _f._time(df, "ChargePeriodStart", bad, line, only=linked) if "ChargePeriodStart" in df.columns else None
        cend = _f._time(df, "ChargePeriodEnd", bad, line, only=linked) if "ChargePeriodEnd" in df.columns else None
        resource = _text(df, "ResourceId").tolist()
        models = _f._focus_model(df, meter).astype(str).tolist()
        cells, kinds = applied.tolist(), charge.tolist()
        drew: dict[str, list[int]] = {}  # the rows (of this chunk) that drew on each commitment
        for i in np.flatnonzero((applied != "").to_numpy()):
            els, why = _elements(cells[i])
            if els is None:
                col.add("ContractApplied", "a ContractApplied value that cannot be read", line + i, why)
                continue
            for e in els:
                if not isinstance(e, dict):
                    col.add("ContractApplied", "an element that is not a JSON object", line + i)
                    continue
                cid = _key(e, "ContractCommitmentId")
                if not isinstance(cid, (str, int)) or not str(cid).strip():
                    col.add("ContractApplied", "an element without a ContractCommitmentId", line + i)
                    continue
                cid = str(cid).strip()
                cost = _applied_number(_key(e, "ContractCommitmentAppliedCost"))
                qty = _applied_number(_key(e, "ContractCommitmentAppliedQuantity"))
                unit = _key(e, "ContractCommitmentAppliedUnit")
                unit = "" if unit is None else str(unit).strip()
                if (cost is not None and math.isnan(cost)) or (qty is not None and math.isnan(qty)):
                    col.add("ContractApplied", "an applied cost or quantity that is not a number", line + i,
                            json.dumps(e)[:200])
                    continue
                if cost is None and qty is None:
                    col.add("ContractApplied", "an element with neither ContractCommitmentAppliedCost nor "
                                               "ContractCommitmentAppliedQuantity", line + i)
                    continue
                if qty is not None and not unit:
                    col.add("ContractApplied", "an applied quantity without ContractCommitmentAppliedUnit", line + i)
                    continue
                a = out.contracts.setdefault(cid, AppliedUse(cid))
                a.contract_id = a.contract_id or str(_key(e, "ContractId") or "")
                a.rows += 1
                if kinds[i] == "Purchase":
                    a.purchase_cost += cost or 0.0
                    continue
                if kinds[i] == "Usage" and resource[i] == cid:  # the unused portion of the commitment
                    a.unused_cost += cost or 0.0
                    continue
                a.cost += cost or 0.0
                if qty is not None:
                    a.quantity[unit] = a.quantity.get(unit, 0.0) + qty
                if ai[i]:
                    a.ai_cost += cost or 0.0
                    if qty is not None:
                        a.ai_quantity[unit] = a.ai_quantity.get(unit, 0.0) + qty
                    a.models.add(models[i])
                if np.isfinite(lst[i]) and np.isfinite(contracted[i]):
                    a.list_cost += lst[i]
                    a.contracted_cost += contracted[i]
                a.billed_cost += 0.0 if np.isnan(billed[i]) else billed[i]
                drew.setdefault(cid, []).append(int(i))
        for cid, idx in drew.items():
            a = out.contracts[cid]
            for t, pick, attr in ((cstart, min, "first"), (cend, max, "last")):
                if t is not None:
                    v = t.iloc[idx].dropna()
                    if len(v):
                        x = v.min() if pick is min else v.max()
                        setattr(a, attr, x if getattr(a, attr) is None else pick(getattr(a, attr), x))
        if (disc_id != "").any():
            _discount_rows(df, line, disc_id, usage, ai, effective, billed, bad, col, out)
        if cstart is not None and cend is not None:
            s, e = cstart[linked].dropna(), cend[linked].dropna()
            if len(s):
                out.first = s.min() if out.first is None else min(out.first, s.min())
            if len(e):
                out.last = e.max() if out.last is None else max(out.last, e.max())
    probs = col.problems()
    try:
        bad.raise_if_any()
    except UsageError as exc:
        probs = exc.problems + probs
    if probs:
        raise UsageError(probs)
    out.warnings.extend(bad.notes())


def _discount_rows(df, line, disc_id, usage, ai, effective, billed, bad, col, out) -> None:
    has = (disc_id != "").to_numpy()
    cat = _text(df, "CommitmentDiscountCategory").str.capitalize()
    status = _text(df, "CommitmentDiscountStatus").str.capitalize()
    wrong = has & (cat != "").to_numpy() & ~cat.isin(CATEGORIES).to_numpy()
    for i in np.flatnonzero(wrong):
        col.add("CommitmentDiscountCategory", "an unknown CommitmentDiscountCategory (expected Spend or Usage)",
                line + i, repr(cat.iat[i]))
    wrong = has & usage & (status != "").to_numpy() & ~status.isin(("Used", "Unused")).to_numpy()
    for i in np.flatnonzero(wrong):
        col.add("CommitmentDiscountStatus", "an unknown CommitmentDiscountStatus (expected Used or Unused)",
                line + i, repr(status.iat[i]))
    qty = _f._number(df, "CommitmentDiscountQuantity", bad, line, False, only=has)
    cost = np.where(np.isfinite(effective), effective, billed)
    names, types, units = (_text(df, c).tolist() for c in ("CommitmentDiscountName", "CommitmentDiscountType",
                                                           "CommitmentDiscountUnit"))
    ids, cats, states = disc_id.tolist(), cat.tolist(), status.tolist()
    for i in np.flatnonzero(has & usage):  # purchases are left out: they would count the commitment twice
        d = out.discounts.setdefault(ids[i], DiscountUse(ids[i]))
        d.name, d.category = d.name or names[i], d.category or cats[i]
        d.type, d.unit = d.type or types[i], d.unit or units[i]
        d.rows += 1
        d.ai |= bool(ai[i])
        q = 0.0 if np.isnan(qty[i]) else float(qty[i])
        c = 0.0 if np.isnan(cost[i]) else float(cost[i])
        if states[i] == "Unused":
            d.unused_quantity += q
            d.unused_cost += c
        else:
            d.used_quantity += q
            d.used_cost += c


# ---- scenario contracts: entries --------------------------------------------------------------
@dataclass
class ContractEntries:
    """Scenario ``contracts:`` entries made of commitments, what could not be expressed (located
    warnings) and which contract each commitment became."""

    entries: list[dict]
    warnings: list[str]
    names: dict[str, str]  # commitment id -> contract name (only those that became an entry)


def _month_index(t: pd.Timestamp) -> float:
    """Months since year 0 (fractional within the month): 2026-07-01 is 2026·12 + 6."""
    t = pd.Timestamp(t)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    first = pd.Timestamp(year=t.year, month=t.month, day=1)
    return t.year * 12 + (t.month - 1) + (t - first) / pd.Timedelta(days=first.days_in_month)


def _horizon_index(start) -> int:
    if isinstance(start, str):
        m = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2})?", start.strip())
        if not m:
            raise ValueError(f"expected the horizon start as YYYY-MM, got {start!r}")
        return int(m.group(1)) * 12 + int(m.group(2)) - 1
    if isinstance(start, (_dt.date, _dt.datetime, pd.Timestamp)):
        return start.year * 12 + start.month - 1
    raise ValueError(f"expected the horizon start as YYYY-MM, got {start!r}")


def _contract_name(cid: str, used: set[str]) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", cid).strip("_-") or "commitment"
    s = (s if s[0].isalpha() else f"c_{s}")[:56]
    name, k = s, 2
    while name in used:
        name, k = f"{s}_{k}", k + 1
    used.add(name)
    return name


def _n(x: float) -> str:
    """A quantity for a message: 1,800,000,000 or 12.5 (no exponent)."""
    return f"{x:,.2f}".rstrip("0").rstrip(".") if np.isfinite(x) else "unknown"


def _r(x: float) -> float:
    """A rounded number for YAML (12 significant digits, no float noise)."""
    return float(f"{x:.12g}")


def contract_entries(commitments: Iterable[Commitment], *, start, months: int, use: CommitmentUse | None = None,
                     models: Sequence[str] = (), discount: float | None = 0.0, currency: str | None = None,
                     scale_to_ai: bool = True) -> ContractEntries:
    """Scenario ``contracts:`` entries for ``commitments`` over the horizon ``start`` (YYYY-MM) +
    ``months``.

    Spend commitments become ``dollar_commit``, Usage commitments in tokens (Tokens, 1K, 1M, 1000
    Tokens…) ``token_commit``, Usage commitments in seats (or licences, users) ``seats`` at
    ContractCommitmentCost / (seats × months). Other units (GPU-hours, provisioned throughput units,
    credits, hours…), commitments that end before the horizon or start after it are warnings and no
    entry. The commitment period is the term: ``start_month`` from the horizon start; one that began
    before the horizon keeps what is left of it (from ``use`` where the export covers the whole
    elapsed part, else a straight-line drawdown, said in a warning). Without a fulfilment interval
    (FOCUS 1.3 has none) a commitment is one pool over its term, shortfall billed at the end
    (``true_up``); the 1.4 draft's ``ContractCommitmentFulfillmentInterval`` sets ``period_months``.

    ``use`` (``commitment_use`` of the cost exports): with ``scale_to_ai``, a commitment that non-AI
    charges also drew on (an enterprise agreement covering all cloud spend) is scaled to the AI
    rows' share of what was drawn, which the scenario models. ``models`` are the catalog refs the
    entries cover (empty: every API model, a warning). ``discount`` is written into every entry;
    the default 0 because a calibrated scenario's price override already carries the billed rate
    (a contract discount would count it twice); None takes each commitment's
    ContractCommitmentDiscountPercentage, else the discount its rows were billed at. ``currency``
    (the scenario's or usage export's): a commitment in another currency is refused, as are mixed
    currencies and repeated ids (``UsageError``).
    """
    cs = list(commitments)
    h0 = _horizon_index(start)
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if discount is not None and not 0.0 <= discount <= 1.0:
        raise ValueError(f"discount is a fraction from 0 to 1, got {discount}")
    probs = _mixed_currencies([{"currency": c.currency, "line": c.line, "file": c.file} for c in cs])
    seen: dict[str, Commitment] = {}
    for c in cs:
        if c.id in seen:
            o = seen[c.id]
            probs.append(problem(c.file, f"ContractCommitmentId {c.id!r} is also {o.file}:{o.line} (one row per "
                                         "commitment)", c.line, "ContractCommitmentId"))
        seen.setdefault(c.id, c)
        if currency and c.currency and c.currency.upper() != currency.upper():
            probs.append(problem(c.file, f"{c.id}: the commitment is in {c.currency}, the usage in {currency.upper()}: "
                                         "convert one of them first", c.line, "BillingCurrency"))
    if probs:
        raise UsageError(probs)
    entries: list[dict] = []
    warnings: list[str] = []
    names: dict[str, str] = {}
    used_names: set[str] = set()
    for c in cs:
        e = _entry(c, h0, months, use, list(models), discount, scale_to_ai, warnings)
        if e is None:
            continue
        e = {"name": _contract_name(c.id, used_names), **e}
        names[c.id] = e["name"]
        entries.append(e)
    return ContractEntries(entries, warnings, names)


def _kind(c: Commitment) -> tuple[str | None, float, str]:
    """(contract kind, tokens per unit, why not) of a commitment."""
    if c.category == "Spend":
        return "dollar_commit", 1.0, ""
    scale = float(_f._unit_scale(pd.Series([c.unit]))[0])
    if np.isfinite(scale) and re.search(r"(?i)token|^\s*\d*\s*[km]?\s*$", c.unit):
        return "token_commit", scale, ""
    if re.search(_SEATS, c.unit):
        return "seats", 1.0, ""
    n = c.quantity
    per = f"{_n(c.cost / n)} {c.currency} per {c.unit}" if np.isfinite(c.cost) and n > 0 else "no price"
    if re.search(_PROVISIONED, c.unit) or re.search(_PROVISIONED, c.type):
        return None, 0.0, (f"provisioned throughput ({_n(n)} {c.unit}, {per}): a provisioned_throughput contract "
                           "needs tokens_per_minute_per_unit, which the dataset does not carry; add it by hand")
    if re.search(_GPU, c.unit) or re.search(_GPU, c.type):
        return None, 0.0, (f"a GPU or capacity commitment ({_n(n)} {c.unit}, {per}): reserved GPUs are "
                           "pools.neocloud's reservation (a reserved_gpus contract); add it by hand")
    return None, 0.0, (f"a Usage commitment in {c.unit!r} ({_n(n)}, {per}): tokensim contracts commit tokens, "
                       "spend or seats, so it is not expressed")


def _entry(c: Commitment, h0: int, months: int, use: CommitmentUse | None, models: list[str],
           discount: float | None, scale_to_ai: bool, warnings: list[str]) -> dict | None:
    kind, scale, why = _kind(c)
    if kind is None:
        warnings.append(c.where(f"not a contract entry: {why}", "ContractCommitmentUnit"))
        return None
    s_f, e_f = _month_index(c.start), _month_index(c.end)
    s_i, e_i = round(s_f), round(e_f)
    if abs(s_f - s_i) > 0.05 or abs(e_f - e_i) > 0.05:
        warnings.append(c.where(f"its period {c.start.date()}..{c.end.date()} is not whole months: taken as "
                                f"{max(1, e_i - s_i)} month(s) from {s_i // 12:04d}-{s_i % 12 + 1:02d} (contracts "
                                "settle by the month)", "ContractCommitmentPeriodStart"))
    n = max(1, e_i - s_i)
    rel = s_i - h0
    if rel + n <= 0:
        warnings.append(c.where(f"not a contract entry: its period ended ({c.end.date()}) before the horizon starts",
                                "ContractCommitmentPeriodEnd"))
        return None
    if rel >= months:
        warnings.append(c.where(f"not a contract entry: it starts ({c.start.date()}) after the horizon's last month",
                                "ContractCommitmentPeriodStart"))
        return None
    start_month, elapsed = max(rel, 0), max(-rel, 0)
    term = rel + n - start_month
    if rel + n > months:
        warnings.append(c.where(f"its term runs {rel + n - months} month(s) past the horizon's end: settled over the "
                                "horizon only (the commitment pro rata)", "ContractCommitmentPeriodEnd"))
    applied = use.contracts.get(c.id) if use is not None else None
    if kind == "seats":
        if not np.isfinite(c.cost):
            warnings.append(c.where(f"not a contract entry: {_n(c.quantity)} {c.unit} without a ContractCommitmentCost "
                                    "have no price", "ContractCommitmentCost"))
            return None
        price = c.cost / c.quantity / n if c.quantity > 0 else 0.0
        if elapsed:
            warnings.append(c.where(f"began {elapsed} month(s) before the horizon: the {term} month(s) left are "
                                    "modelled", "ContractCommitmentPeriodStart"))
        return {"kind": "seats", "start_month": start_month, "term_months": term, "units": _r(c.quantity),
                "price_per_unit_month": _r(price)}
    total = c.cost if kind == "dollar_commit" else c.quantity * scale
    what = c.currency if kind == "dollar_commit" else "tokens"
    left = total
    if elapsed:
        drawn = (applied.cost if kind == "dollar_commit" else applied.tokens()) if applied else math.nan
        whole = (applied is not None and applied.first is not None and applied.last is not None
                 and applied.first <= c.start + pd.Timedelta(days=1)
                 and _month_index(applied.last) >= h0 - 2 / 30)
        if whole and np.isfinite(drawn):
            left = max(total - drawn, 0.0)
            warnings.append(c.where(f"began {elapsed} month(s) before the horizon: {_n(drawn)} {what} drawn by then "
                                    f"(ContractApplied), {_n(left)} of {_n(total)} left for the {term} month(s) left "
                                    "of its term", "ContractCommitmentPeriodStart"))
        else:
            left = total * term / n
            warnings.append(c.where(f"began {elapsed} month(s) before the horizon and the export does not cover the "
                                    f"months since: {_n(left)} of {_n(total)} {what} taken as left for the {term} "
                                    "month(s) left of its term (a straight-line drawdown)", "ContractCommitmentPeriodStart"))
    if use is not None:
        share = applied.ai_share if applied is not None else math.nan
        if applied is None:
            warnings.append(c.where("no charge of the cost export draws on it (ContractApplied): taken to cover the "
                                    "scenario's API use"))
        elif not np.isfinite(share):
            warnings.append(c.where("the cost export's rows draw nothing on it as use (only purchases or its unused "
                                    "portion, ContractApplied): taken to cover the scenario's API use"))
        elif scale_to_ai and share <= 0:
            warnings.append(c.where("not a contract entry: only non-AI charges draw on it (ContractApplied), and the "
                                    "scenario models AI use"))
            return None
        elif scale_to_ai and share < 1 - 1e-9:
            warnings.append(c.where(f"AI charges drew {share:.1%} of what was drawn on it (ContractApplied), the rest "
                                    f"other services the scenario does not model: {share:.1%} of it is modelled "
                                    f"({_n(left * share)} of {_n(left)} {what})"))
            left *= share
    period, true_up = 1, True
    interval = c.fulfillment.strip().lower()
    if not interval:
        warnings.append(c.where(f"settled as one pool over its {term} month(s) with any shortfall billed at the end "
                                "(true_up; FOCUS 1.3 does not say how a commitment is fulfilled): set period_months "
                                "and true_up: false if it resets each period"))
    elif interval in _INTERVALS:
        p = _INTERVALS[interval]
        if p is not None:
            if term % p or elapsed % p:
                warnings.append(c.where(f"its {c.fulfillment} fulfilment does not fit the {term} month(s) left in the "
                                        "horizon: settled as one pool over them (true_up)",
                                        "ContractCommitmentFulfillmentInterval"))
            else:
                period, true_up = p, False
    elif interval in ("hourly", "daily", "weekly"):
        period, true_up = 1, False
        warnings.append(c.where(f"its {c.fulfillment} fulfilment is finer than a month: settled monthly (less "
                                "stranded than it really is)", "ContractCommitmentFulfillmentInterval"))
    else:
        warnings.append(c.where(f"its fulfilment interval {c.fulfillment!r} has no monthly equivalent: settled as one "
                                "pool over the term (true_up)", "ContractCommitmentFulfillmentInterval"))
    d = _discount(c, applied, discount, warnings)
    if not models:
        seen = f"; the rows that drew on it are {', '.join(sorted(applied.models))}" if applied and applied.models else ""
        warnings.append(c.where("covers every API model of the scenario (the dataset does not name models): set "
                                f"models to the catalog refs it covers{seen}"))
    return {"kind": kind, "models": list(models), "start_month": start_month, "term_months": term,
            "period_months": period, "amount": _r(left / term * period), "discount": _r(d), "overage_rate": 1.0,
            "rollover_share": 0.0, "true_up": true_up}


def _discount(c: Commitment, applied: AppliedUse | None, discount: float | None, warnings: list[str]) -> float:
    billed = applied.billed_discount if applied is not None else math.nan
    own = c.discount if np.isfinite(c.discount) else billed
    src = "ContractCommitmentDiscountPercentage" if np.isfinite(c.discount) else \
        "the rows that drew on it were billed at ContractedCost / ListCost"
    if discount is None:
        if not np.isfinite(own):
            warnings.append(c.where("no discount known (no ContractCommitmentDiscountPercentage, no list costs of the "
                                    "rows that drew on it): discount 0"))
            return 0.0
        return float(min(max(own, 0.0), 1.0))
    if np.isfinite(own) and abs(own - discount) > 0.005:
        warnings.append(c.where(f"discount {discount:g} written, though {own:.1%} off list is known ({src}): a "
                                "calibrated scenario's price override carries the billed rate already; set discount "
                                f"{own:.4g} if the scenario's prices are list prices"))
    return float(discount)


def utilisation(commitments: Iterable[Commitment], use: CommitmentUse) -> list[dict]:
    """How each commitment is being drawn, from the cost exports: what the export's days inside its
    period drew on it, against the commitment pro rata over those days (``pace`` 1: on track to use
    it exactly; below 1: heading for a shortfall). JSON-ready."""
    out = []
    for c in commitments:
        a = use.contracts.get(c.id)
        span = (c.end - c.start) / pd.Timedelta(days=1)
        lo = max(c.start, use.first) if use.first is not None else None
        hi = min(c.end, use.last) if use.last is not None else None
        days = max((hi - lo) / pd.Timedelta(days=1), 0.0) if lo is not None and hi is not None else 0.0
        kind, scale, _ = _kind(c)
        if a is None:
            drawn = math.nan
        elif c.category == "Spend":
            drawn = a.cost
        elif kind == "token_commit":
            drawn = a.tokens() / scale
        else:
            drawn = sum(v for u, v in a.quantity.items() if u.strip().lower() == c.unit.strip().lower())
        expected = c.amount * days / span if span > 0 and np.isfinite(drawn) else math.nan
        pace = drawn / expected if expected and np.isfinite(drawn) and expected > 0 else math.nan

        def r(x):
            return None if not np.isfinite(x) else round(float(x), 6)

        out.append({"id": c.id, "category": c.category, "type": c.type, "amount": r(c.amount),
                    "unit": c.currency if c.category == "Spend" else c.unit, "start": c.start.isoformat(),
                    "end": c.end.isoformat(), "days_in_export": r(days), "drawn_in_export": r(drawn),
                    "pro_rata": r(expected), "pace": r(pace),
                    "ai_share": r(a.ai_share) if a is not None else None,
                    "billed_discount": r(a.billed_discount) if a is not None else None})
    return out
