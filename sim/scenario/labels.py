"""Human labels for scenario key paths, made from the schema's field descriptions.

``label("pools.api.price_trend.frontier_per_year")`` is "Pay-per-token API: change of
frontier-tier prices per year" and ``label("workloads.support_chat.sessions_per_user_per_day")``
"support_chat: sessions per active user on a full working day": the first clause of the field's
``description`` (sources and remarks in a trailing parenthesis left out), its unit when the words do
not already say it, and in front the name of the business unit, workload or contract the path runs
through (else the section it belongs to: the pool, the demand noise). Nothing here is written per
field: a new field is labelled by its description. Reports and charts show these labels, never the
raw key path.
"""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from .distributions import _Dist
from .model import Scenario, split_path
from .schema_errors import _candidates

# units that say nothing a reader needs beside the words (shares, ratios, probabilities)
_DIMENSIONLESS = re.compile(r"^(ratio|share.*|probability|fraction|multiplier|×.*|correlation|lag-1.*|ln .*|1/month|"
                            r"tokens or currency.*)$")
_YEARLY = {"fraction/yr", "per year"}


def _strip_markup(text: str) -> str:
    return re.sub(r"``?([^`]+)``?", r"\1", text)


def _outside(text: str, sep: str) -> str:
    """``text`` up to the first ``sep`` outside parentheses."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text.startswith(sep, i):
            return text[:i]
    return text


def _first_clause(desc: str) -> str:
    """The first clause of a description: its first sentence up to a ';', a trailing parenthesis
    (sources, remarks) left out, and a leading one-word qualifier ("Logistic: ...") moved behind."""
    d = " ".join(_strip_markup(desc).split())
    d = re.split(r"(?<=[a-z0-9)%])\.\s+(?=[A-Z])", d, maxsplit=1)[0]
    d = _outside(_outside(d, "; "), ", e.g.").rstrip(" .")
    while True:
        s = re.sub(r"\s*\([^()]*\)$", "", d)
        if s == d or len(s) < 8:
            break
        d = s
    qual = ""
    m = re.match(r"^([A-Z][A-Za-z-]*): (.+)$", d)
    if m:
        qual, d = m.group(1), m.group(2)
    else:
        d = _outside(d, ": ")
    d = d.rstrip(" .,")
    return f"{d} ({qual})" if qual else d


def _lower_first(s: str) -> str:
    if len(s) > 1 and s[0].isupper() and not s[1].isupper() and not s[1].isdigit() and s[1] != "-":
        return s[0].lower() + s[1:]
    return s


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def _unit_of(f) -> str:
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    return str(extra.get("unit") or "")


def _with_unit(phrase: str, unit: str, currency: str) -> str:
    if not unit or _DIMENSIONLESS.match(unit):
        return phrase
    if unit in _YEARLY:
        return phrase if re.search(r"\b(year|yr|yearly|annual)", phrase, re.I) else f"{phrase} per year"
    if unit.startswith("currency"):
        rest = unit[len("currency"):].lstrip("/")
        return f"{phrase} ({currency}" + (f" per {rest}" if rest else "") + ")"
    word = re.split(r"[ /]", unit)[0].lower().rstrip("s")
    if word and re.search(rf"\b{re.escape(word)}", phrase.lower()):
        return phrase
    return f"{phrase} ({unit})"


def _field(m: type[BaseModel], key: str):
    if key in m.model_fields:
        return key, m.model_fields[key]
    for name, f in m.model_fields.items():
        if f.alias == key:
            return name, f
    return None, None


def _models_in(ann: Any) -> tuple[list[type[BaseModel]], str | None]:
    """(model classes a field may hold, 'list'/'dict'/None) of an annotation."""
    kind = None
    out: list[type[BaseModel]] = []
    for c in _candidates(ann):
        origin = get_origin(c)
        inner = [c]
        if origin is list:
            kind, inner = "list", list(get_args(c)[:1])
        elif origin is dict:
            kind, inner = kind or "dict", list(get_args(c)[1:2])
        for cc in inner:
            for x in _candidates(cc):
                if isinstance(x, type) and issubclass(x, BaseModel) and not issubclass(x, _Dist) and x not in out:
                    out.append(x)
    return out, kind


def _walk(path: str, scenario: Scenario | None):
    """The steps of ``path`` through the schema: ("field", name, FieldInfo, owner class), ("item", name)
    for a named list item, ("key", text) for a mapping's key; None when the path is not the schema's."""
    parts = split_path(path)
    cls: type[BaseModel] | None = Scenario
    obj: Any = scenario
    steps: list[tuple] = []
    i = 0
    while i < len(parts):
        if cls is None:
            return None
        name, f = _field(cls, parts[i])
        if f is None:
            return None
        steps.append(("field", name, f, cls))
        obj = getattr(obj, name, None) if obj is not None else None
        models, kind = _models_in(f.annotation)
        i += 1
        if i >= len(parts):
            break
        if kind == "list" or isinstance(obj, list):
            key = parts[i]
            steps.append(("index", int(key)) if key.isdigit() else ("item", key))
            item = None
            if isinstance(obj, list):
                item = next((x for x in obj if getattr(x, "name", None) == key), None)
                if item is None and key.isdigit() and int(key) < len(obj):
                    item = obj[int(key)]
            i += 1
            nxt = parts[i] if i < len(parts) else None
            if item is not None and isinstance(item, BaseModel):
                cls, obj = type(item), item
            else:
                cls = next((m for m in models if nxt is None or _field(m, nxt)[1] is not None), None)
                obj = None
            continue
        if kind == "dict" or isinstance(obj, dict):
            steps.append(("key", ".".join(parts[i:])))  # a model name may hold dots (gpt-4.1-mini)
            break
        if not models:  # a number or distribution with more keys (a distribution's parameter)
            steps.append(("key", ".".join(parts[i:]).replace("_", " ")))
            break
        cls = type(obj) if isinstance(obj, BaseModel) else next(
            (m for m in models if _field(m, parts[i])[1] is not None), models[0])
    return steps


def _phrase(f, owner: type[BaseModel], name: str) -> str:
    desc = f.description or name.replace("_", " ")
    if re.match(r"^[a-z_]+: ", desc):  # "schema: ...; code: ...": a list of the values, not a name
        return name.replace("_", " ")
    m = re.match(r"^As above,?\s*(.*)$", desc.strip())
    if m:  # "As above, output.": the field before it, qualified
        names = list(owner.model_fields)
        k = names.index(name)
        if k > 0:
            prev = owner.model_fields[names[k - 1]]
            return f"{_first_clause(prev.description or names[k - 1])}, {m.group(1).rstrip(' .')}".rstrip(", ")
    return _first_clause(desc)


def label(path: str, scenario: Scenario | None = None) -> str:
    """A reader's label for a scenario key path (see the module's docstring); with ``scenario`` the
    named items are looked up in it (the workload's kind picks its fields) and money units read its
    currency. A path the schema does not know still gets words, not dots."""
    currency = scenario.currency if scenario is not None else "currency"
    steps = _walk(path, scenario)
    if not steps or not any(s[0] == "field" for s in steps):
        parts = split_path(path)
        return ": ".join(p.replace("_", " ") for p in parts[-2:]) if parts else path
    fields = [s for s in steps if s[0] == "field"]
    leaf = fields[-1]
    phrase = _with_unit(_phrase(leaf[2], leaf[3], leaf[1]), _unit_of(leaf[2]), currency)
    keys = [s[1] for s in steps if s[0] == "key"]
    if keys:
        phrase += f" ({keys[-1]})"
    idx = [s[1] for s in steps if s[0] == "index"]
    if idx:
        phrase += f" (no. {idx[-1] + 1})"
    items = [s[1] for s in steps if s[0] == "item"]
    if items:
        return f"{' / '.join(items)}: {_lower_first(phrase)}"
    # no named item: the section the field sits in (a pool, the demand noise), at most two levels down
    ctx = [s for s in fields[:-1][:2] if s[2].description]
    if ctx:
        return f"{_first_clause(ctx[-1][2].description)}: {_lower_first(phrase)}"
    return _upper_first(phrase)


def labels(paths, scenario: Scenario | None = None) -> dict[str, str]:
    """``label`` of each path; labels that would coincide keep the path's last key apart."""
    out = {p: label(p, scenario) for p in paths}
    seen: dict[str, list[str]] = {}
    for p, lb in out.items():
        seen.setdefault(lb, []).append(p)
    for lb, ps in seen.items():
        if len(ps) > 1:
            for p in ps:
                out[p] = f"{lb} [{split_path(p)[-1].replace('_', ' ')}]"
    return out


__all__ = ["label", "labels"]
