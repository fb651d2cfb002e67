"""Pydantic validation errors as located, plain-language problems.

Walks the schema along an error's location to name the key path the user wrote, suggests the
closest valid key or value, and words each error as what was expected and what was found.
"""

from __future__ import annotations

import difflib
import reprlib
import types
import typing
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .model import LocatedError, Scenario
from .problems import Problem, _fmt, _line


# ---- navigating the schema along a pydantic error location ---------------------------------
def _candidates(ann: Any) -> list[Any]:
    origin = get_origin(ann)
    if origin is Annotated:
        return _candidates(get_args(ann)[0])
    if origin in (Union, types.UnionType):
        return [c for a in get_args(ann) for c in _candidates(a)]
    return [ann]


def _is_model(c: Any) -> bool:
    return isinstance(c, type) and issubclass(c, BaseModel)


def _tag_values(c: type[BaseModel]) -> set:
    out: set = set()
    for key in ("kind", "dist"):
        f = c.model_fields.get(key)
        if f is not None and get_origin(f.annotation) is typing.Literal:
            out.update(get_args(f.annotation))
    return out


def _field_name(m: type[BaseModel], part: Any) -> str | None:
    """The field of ``m`` that a loc part or YAML key names (by name or by alias)."""
    if part in m.model_fields:
        return part
    for name, f in m.model_fields.items():
        if f.alias is not None and f.alias == part:
            return name
    return None


def _keys(models: list[type[BaseModel]]) -> list[str]:
    """The YAML keys the models accept (aliases where they have one)."""
    return sorted({f.alias or name for m in models for name, f in m.model_fields.items()})


def _walk_loc(loc: tuple) -> tuple[tuple, list[type[BaseModel]], bool]:
    """Clean a pydantic loc (drop union tags); return (clean path, models at the end, via-tag?)."""
    cands: list[Any] = [Scenario]
    clean: list = []
    tagged = False
    for part in loc:
        models = [c for c in cands if _is_model(c)]
        if isinstance(part, int):
            nxt = [a for c in cands if get_origin(c) is list for a in _candidates(get_args(c)[0])]
            clean.append(part)
            cands = nxt
            continue
        by_tag = [m for m in models if part in _tag_values(m)]
        if len(models) > 1 and by_tag:  # a tagged union picks its member (even if a field shares the name)
            tagged = True
            cands = by_tag
            continue
        named = [(m, _field_name(m, part)) for m in models]
        named = [(m, f) for m, f in named if f is not None]
        if named:
            clean.append(part)
            cands = [a for m, f in named for a in _candidates(m.model_fields[f].annotation)]
            continue
        # a union tag: a discriminator value or pydantic's name for a union member
        tagged = True
        by_tag = [m for m in models if part in _tag_values(m)]
        if by_tag:
            cands = by_tag
        elif part in ("float", "int", "str", "bool"):
            cands = [c for c in cands if getattr(c, "__name__", None) == part]
    return tuple(clean), [c for c in cands if _is_model(c)], tagged


def _get(data: Any, path: tuple) -> Any:
    for p in path:
        try:
            data = data[p]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _closest(word: str, options: list[str]) -> str | None:
    """The option the analyst most likely meant: a near spelling, or a key with a word added
    (``pue_ratio`` -> ``pue``, ``ceiling_users`` -> ``ceiling``)."""
    word = str(word)
    m = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if m:
        return m[0]
    parts = word.lower().replace("-", "_").split("_")
    inside = [o for o in options if len(o) >= 3 and (o in parts or word.lower().startswith(o + "_")
                                                      or o.startswith(word.lower() + "_"))]
    return max(inside, key=len) if inside else None


# names people reach for that the language spells differently (checked when nothing is close)
_SYNONYMS = {
    "dist": {"gamma": "lognormal", "weibull": "lognormal", "exponential": "lognormal",
             "loglogistic": "lognormal", "log-normal": "lognormal", "lognorm": "lognormal",
             "gaussian": "normal", "gauss": "normal", "norm": "normal", "triangle": "triangular",
             "tri": "triangular", "betapert": "pert", "beta-pert": "pert", "beta_pert": "pert",
             "constant": "fixed", "const": "fixed", "deterministic": "fixed", "point": "fixed",
             "choice": "discrete", "categorical": "discrete", "csv": "empirical", "data": "empirical",
             "samples": "empirical", "histogram": "empirical", "rect": "uniform", "flat": "uniform"},
    "kind": {"chatbot": "chat", "conversation": "chat", "assistant": "chat", "qa": "rag",
             "retrieval": "rag", "search": "rag", "agentic": "agent", "coding_agent": "agent",
             "offline": "batch", "saas": "embedded_saas", "seats": "embedded_saas"},
}


def _suggest(tag: str, got: Any, options: list[str]) -> str | None:
    hint = _closest(got, options)
    if hint is None and isinstance(got, str):
        hint = _SYNONYMS.get(tag, {}).get(got.strip().lower().replace(" ", "_"))
        if hint not in options:
            hint = None
    return hint


def _what(v: Any) -> str:
    """A value as the analyst wrote it, with its YAML type (long values cut: a message is one line)."""
    if v is None:
        return "nothing (an empty value)"
    if isinstance(v, bool):
        return f"a true/false value ({str(v).lower()})"
    if isinstance(v, int) and abs(v) >= 10**30:
        return f"a {len(str(abs(v))):,}-digit whole number"
    if isinstance(v, (int, float)):
        return f"the number {_short(v)}"
    if isinstance(v, str):
        return f"the text {_short(v)}"
    if isinstance(v, dict):
        return f"a mapping {_short(v)}"
    if isinstance(v, list):
        return f"a list of {len(v):,} items {_short(v)}" if len(v) > 10 else f"a list {_short(v)}"
    return _short(v)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 100
_REPR.maxlist = _REPR.maxdict = 6
_REPR.maxlevel = 3


def _short(value: Any, limit: int = 120) -> str:
    """A bounded repr: never builds the whole text of a huge value (aliases can make one)."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NUM_HINT = ("expected a number or a distribution such as {dist: pert, low: 1, mode: 2, high: 4} "
             "(kinds: fixed, uniform, triangular, pert, normal, lognormal, beta, discrete, empirical)")
_NUM_ERRORS = ("float_parsing", "float_type", "int_parsing", "int_type")


def _located_loc(e: dict) -> tuple | None:
    """The key path of an error a validator raised as a LocatedError: its loc is relative to the model
    whose validator raised it (the scenario's: the whole path; a contract's: below contracts[i])."""
    err = e.get("ctx", {}).get("error")
    if not isinstance(err, LocatedError):
        return None
    return _walk_loc(tuple(e["loc"]))[0] + tuple(err.loc)


def _pydantic_problems(err: ValidationError, data: Any, lines: dict, file: str) -> list[Problem]:
    errors = err.errors()
    # A mapping given to a "number or distribution" field fails both branches; the number
    # branch's complaint ("input should be a valid number") only hides the real one.
    def _num_branch_of_dist(e: dict) -> bool:
        loc = tuple(e["loc"])
        return (e["type"] in _NUM_ERRORS and isinstance(e.get("input"), dict) and loc[-1:] == ("float",)
                and any(o is not e and tuple(o["loc"])[:len(loc) - 1] == loc[:-1] for o in errors))

    errors = [e for e in errors if not _num_branch_of_dist(e)]

    groups: dict[tuple, list[dict]] = {}
    unknown: dict[tuple, list] = {}  # clean path -> [key, parent models]
    for e in errors:
        loc = tuple(e["loc"])
        if e["type"] == "extra_forbidden":
            parent, models, _ = _walk_loc(loc[:-1])
            clean = parent + (loc[-1],)
            unknown[clean] = [loc[-1], models]
        else:
            clean = _located_loc(e) or _walk_loc(loc)[0]
        groups.setdefault(clean, []).append(e)

    # an unknown key that is a misspelling of a missing required key: report it once
    covered: set[tuple] = set()
    hints: dict[tuple, str | None] = {}
    for clean, (key, models) in unknown.items():
        hint = _closest(key, _keys(models))
        hints[clean] = hint
        if hint is not None:
            covered.add(clean[:-1] + (hint,))

    problems: list[Problem] = []
    for clean, errs in groups.items():
        value = _get(data, clean)
        msgs: list[str] = []
        types_ = {e["type"] for e in errs}
        path = clean
        if "extra_forbidden" in types_:
            key, models = unknown[clean]
            hint = hints[clean]
            msg = f"unknown key {key!r}"
            if hint:
                msg += f"; did you mean {hint!r}?"
                if any(e["type"] == "missing" for e in groups.get(clean[:-1] + (hint,), [])):
                    msg += f" ({hint!r} is required)"
            else:
                msg += f"; valid keys here: {', '.join(_keys(models))}"
            msgs.append(msg)
        elif types_ == {"missing"} and clean in covered:
            continue
        elif "union_tag_invalid" in types_ or "union_tag_not_found" in types_:
            e = next(e for e in errs if e["type"].startswith("union_tag"))
            ctx = e.get("ctx", {})
            tag = ctx.get("discriminator", "").strip("'")
            expected = ctx.get("expected_tags", "")
            got = ctx.get("tag")
            if got is not None:
                options = [t.strip(" '") for t in expected.split(",")]
                hint = _suggest(tag, got, options)
                raw = value.get(tag) if isinstance(value, dict) else got
                what = f"unknown {tag} {raw!r}" if isinstance(raw, str) else f"{tag} is {_what(raw)}"
                msgs.append(what + (f"; did you mean {hint!r}?" if hint else "")
                            + f" (expected one of {expected})")
                if isinstance(value, dict) and tag in value:
                    path = clean + (tag,)
            elif isinstance(value, dict) and tag == "dist":
                msgs.append(_NUM_HINT + "; this mapping has no 'dist' key")
            elif not isinstance(value, dict):
                msgs.append((_NUM_HINT if tag == "dist" else f"expected a mapping with a {tag!r} key")
                            + f"; got {_what(value)}")
            else:
                msgs.append(f"missing key {tag!r} (expected one of {expected})")
        elif "finite_number" in types_ and not isinstance(value, dict):
            # .nan/.inf given to a "number or distribution" field: the number is the problem, not
            # the distribution branch's "expected a mapping"
            msgs.append(_message(next(e for e in errs if e["type"] == "finite_number")))
        elif any(e["type"] in _NUM_ERRORS for e in errs) and len(errs) > 1:
            # "number or distribution" union where neither branch fits
            if isinstance(value, dict) and "dist" in value:
                inner = [e for e in errs if e["type"] not in _NUM_ERRORS]
                msgs.extend(_message(e) for e in inner)
            else:
                msgs.append(f"{_NUM_HINT}; got {_what(value)}")
        else:
            for e in errs:
                msgs.append(_message(e, clean))
        seen: set[str] = set()
        for m in msgs:
            if m not in seen:
                seen.add(m)
                problems.append(Problem(file, _line(lines, path), _fmt(path), m))
    problems.sort(key=lambda p: (p.line or 0))
    return problems


def _lower_first(msg: str) -> str:
    """Lower-case pydantic's capital first letter, but keep acronyms (PERT) as written."""
    if len(msg) > 1 and msg[0].isupper() and not msg[1].isupper():
        return msg[0].lower() + msg[1:]
    return msg


_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short",
                 "too_long", "int_from_float", "multiple_of")


def _message(e: dict, clean: tuple | None = None) -> str:
    t, msg = e["type"], e["msg"]
    if t == "missing":
        return "required key is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    msg = _lower_first(msg)
    if t in ("model_type", "model_attributes_type") and clean is not None:
        models = _walk_loc(tuple(e["loc"]))[1]
        if models:
            return f"expected a mapping with keys such as {', '.join(_keys(models)[:8])}; got {_what(e.get('input'))}"
    if t in ("dict_type", "dict_parsing"):
        return f"expected a mapping of key: value; got {_what(e.get('input'))}"
    if t in ("list_type",):
        return f"expected a list such as [a, b]; got {_what(e.get('input'))}"
    if t in ("too_long", "too_short"):  # the count says it all; the list itself may be huge
        return msg.replace(" after validation", "")
    if t == "finite_number":
        return f"must be a finite number (not .nan or .inf); got {_what(e.get('input'))}"
    if t in _NUM_ERRORS or t in ("bool_parsing", "bool_type", "string_type", "model_type",
                                 "model_attributes_type", "date_from_datetime_parsing"):
        return f"{msg}; got {_what(e.get('input'))}"
    if t.startswith("literal_error") or t in _BOUND_ERRORS:
        return f"{msg}; got {_what(e.get('input'))}"
    return msg or t


def _coerced_bools(sc: BaseModel, data: Any, lines: dict, file: str) -> list[Problem]:
    """true/false given where a number is expected (pydantic silently reads them as 1/0)."""
    out: list[Problem] = []

    def check(value: Any, raw: Any, loc: tuple) -> None:
        if isinstance(raw, bool) and not isinstance(value, bool):
            out.append(Problem(file, _line(lines, loc), _fmt(loc),
                               f"expected a number, got a true/false value ({str(raw).lower()})"))
        elif isinstance(value, BaseModel) and isinstance(raw, dict):
            walk(value, raw, loc)
        elif isinstance(value, list) and isinstance(raw, list):
            for i, (v, r) in enumerate(zip(value, raw)):
                check(v, r, loc + (i,))

    def walk(model: BaseModel, raw: dict, loc: tuple) -> None:
        for name, f in type(model).model_fields.items():
            key = f.alias if f.alias is not None and f.alias in raw else name
            if key in raw:
                check(getattr(model, name), raw[key], loc + (key,))

    walk(sc, data, ())
    return out


