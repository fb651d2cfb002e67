"""Load a scenario from YAML and report every problem with its file, line and key path.

YAML is parsed with PyYAML's safe loader (no tags that construct objects), through its node
tree so each key's line number is known. Validation errors from pydantic, cross-reference
errors, unknown models and GPUs, missing files and bad correlation matrices are all turned into
``Problem`` records; ``ScenarioError`` carries the list. Nothing here prints or exits: the CLI
formats the problems and exits with status 2.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Any, Annotated, Union, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from .distributions import Empirical, load_empirical_column
from .model import (LocatedError, Scenario, _child, classify, correlation_matrix, get_path, resolve_path, set_path,
                    split_path, uncertain_fields)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class ScenarioError(Exception):
    """A scenario could not be loaded; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---- YAML with line numbers -----------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    pass


def _compose(text: str, file: str) -> tuple[Any, dict[tuple, int], list[Problem]]:
    """Parse YAML; return the data, a map key-path -> line, and duplicate-key problems."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    problems: list[Problem] = []

    def build(n: yaml.Node, path: tuple) -> Any:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            out: dict = {}
            for k_node, v_node in n.value:
                if not isinstance(k_node, yaml.ScalarNode):
                    problems.append(Problem(file, k_node.start_mark.line + 1, _fmt(path),
                                            "keys must be plain words, not lists or mappings"))
                    continue
                key = _scalar(k_node)
                kp = path + (key,)
                if key in out:
                    problems.append(Problem(file, k_node.start_mark.line + 1, _fmt(kp),
                                            "duplicate key (YAML would silently keep the last one)"))
                lines[kp] = k_node.start_mark.line + 1
                out[key] = build(v_node, kp)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(v, path + (i,)) for i, v in enumerate(n.value)]
        return _scalar(n)

    if node is None:
        return None, lines, problems
    return build(node, ()), lines, problems


def _scalar(n: yaml.Node) -> Any:
    loader = _Loader("")
    try:
        return loader.construct_object(n, deep=True)
    except (ValueError, OverflowError, yaml.constructor.ConstructorError):
        # e.g. 2026-02-30 looks like a YAML timestamp but is no date: keep the text so the
        # field's validator reports it with its key path
        return n.value if isinstance(n, yaml.ScalarNode) else None
    finally:
        loader.dispose()


def _fmt(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    for k in range(len(path), -1, -1):
        if path[:k] in lines:
            return lines[path[:k]]
    return None


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
    """A value as the analyst wrote it, with its YAML type."""
    if v is None:
        return "nothing (an empty value)"
    if isinstance(v, bool):
        return f"a true/false value ({str(v).lower()})"
    if isinstance(v, (int, float)):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the text {v!r}"
    if isinstance(v, dict):
        return f"a mapping {v!r}"
    if isinstance(v, list):
        return f"a list {v!r}"
    return repr(v)


_NUM_HINT = ("expected a number or a distribution such as {dist: pert, low: 1, mode: 2, high: 4} "
             "(kinds: fixed, uniform, triangular, pert, normal, lognormal, beta, discrete, empirical)")
_NUM_ERRORS = ("float_parsing", "float_type", "int_parsing", "int_type")


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
            clean, _, _ = _walk_loc(loc)
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


# ---- semantic checks after the schema ------------------------------------------------------
def _bad_key_path(sc: Scenario, path: str, exc: KeyError) -> str:
    """Explain why a key path (as used by strategies, sweeps and correlations) does not resolve."""
    parts = split_path(path)
    obj: Any = sc
    for k, key in enumerate(parts):
        where = ".".join(parts[:k]) or "the scenario"
        if isinstance(obj, list):
            options = [str(getattr(it, "name", i)) for i, it in enumerate(obj)]
            what = "item"
        elif isinstance(obj, BaseModel):
            options = list(type(obj).model_fields)
            what = "key"
        else:
            return f"key path {path!r} does not exist: {where} is a value, it has no {key!r}"
        nxt = _child(obj, key)
        if nxt is None:
            hint = _closest(key, options)
            return (f"key path {path!r} does not exist: {where} has no {what} {key!r}"
                    + (f"; did you mean {hint!r}?" if hint else f" (it has: {', '.join(options)})"))
        obj = nxt[0]
    return f"key path {path!r}: {exc.args[0] if exc.args else 'cannot be set'}"


def _semantic_problems(sc: Scenario, base_dir: Path, lines: dict, file: str) -> list[Problem]:
    out: list[Problem] = []

    def add(loc: tuple, msg: str) -> None:
        out.append(Problem(file, _line(lines, loc), _fmt(loc), msg))

    # empirical distributions: load their files now so a run never starts without them
    def walk(obj: Any, loc: tuple) -> None:
        if isinstance(obj, Empirical):
            path = (base_dir / obj.file).resolve()
            try:
                obj.bind(load_empirical_column(path, obj.column))
            except FileNotFoundError:
                add(loc + ("file",), f"empirical distribution: file not found: {obj.file} (looked in {path.parent})")
            except ValueError as exc:
                add(loc, str(exc))
            return
        if isinstance(obj, list):
            for i, it in enumerate(obj):
                walk(it, loc + (i,))
        elif isinstance(obj, BaseModel):
            for k in type(obj).model_fields:
                walk(getattr(obj, k), loc + (k,))

    walk(sc, ())

    # models and GPUs are checked against the catalogs by the caller's ``checks`` (sim.pools.checks)

    # correlations: fields must exist and be uncertain; the matrix must be a correlation matrix
    unc = uncertain_fields(sc)
    ok = True
    for i, c in enumerate(sc.correlations):
        for j, f in enumerate(c.between):
            try:
                resolve_path(sc, f)
            except KeyError as exc:
                add(("correlations", i, "between", j), _bad_key_path(sc, f, exc))
                ok = False
                continue
            if f not in unc:
                add(("correlations", i, "between", j),
                    f"{f} is not uncertain (give it a distribution) so it cannot be correlated")
                ok = False
                continue
            kind = classify(f)
            if kind != "scale":
                why = ("varies from session to session within a future" if kind == "session"
                       else "sets what a session costs and is drawn at stratified points")
                add(("correlations", i, "between", j),
                    f"{f} {why}; only inputs drawn once per future (users, adoption, session rates, "
                    "prices, trends, GPU and owned-fleet inputs) can be correlated")
                ok = False
        if c.between[0] == c.between[1]:
            add(("correlations", i, "between"), "a field cannot be correlated with itself")
            ok = False
    if ok and sc.correlations:
        names, m = correlation_matrix(sc)
        eig = np.linalg.eigvalsh(m)
        if eig.min() < -1e-10:
            add(("correlations",), "the rank correlations are inconsistent: the matrix over "
                f"{', '.join(names)} is not positive semi-definite (smallest eigenvalue {eig.min():.3f}); "
                "weaken some of them")

    # strategies and sweeps: key paths must exist and values must be valid
    def check_set(path: str, value: Any, loc: tuple) -> None:
        try:
            new = set_path(sc, path, value)
        except KeyError as exc:
            add(loc, _bad_key_path(sc, path, exc))
            return
        except ValidationError as exc:
            add(loc, f"value {value!r} is not valid for {path}: "
                + "; ".join(_message(e) for e in exc.errors()))
            return
        if isinstance(value, bool) and not isinstance(get_path(new, path), bool):
            add(loc, f"value {value!r} is not valid for {path}: expected a number, got a true/false value")

    for i, s in enumerate(sc.strategies):
        for path, value in s.set.items():
            check_set(path, value, ("strategies", i, "set", path))
    for i, sw in enumerate(sc.sweeps):
        for j, value in enumerate(sw.values):
            check_set(sw.field, value, ("sweeps", i, "values", j))
            if out and out[-1].path.startswith(_fmt(("sweeps", i))) and "does not exist" in out[-1].message:
                out[-1] = Problem(file, _line(lines, ("sweeps", i, "field")), _fmt(("sweeps", i, "field")),
                                  out[-1].message)
                break
    base_reserved_bad = False
    for k, c in enumerate(sc.contracts):
        if c.kind == "reserved_gpus" and not sc.pools.neocloud.enabled:
            base_reserved_bad = True
            add(("contracts", k, "kind"), "a reserved_gpus contract needs pools.neocloud.enabled: true "
                "(its GPUs serve in the neocloud pool)")
    # a strategy as a whole must still be a consistent scenario (names, pools, models)
    if not out:
        for i, strat in enumerate(sc.all_strategies()):
            try:
                applied = sc
                for path, value in strat.set.items():
                    applied = set_path(applied, path, value)
                applied._cross_refs()
            except LocatedError as exc:
                add(("strategies", i) if i < len(sc.strategies) else ("sweeps",),
                    f"strategy {strat.name!r} makes the scenario inconsistent: {_fmt(exc.loc)}: {exc.msg}")
                continue
            except (KeyError, ValidationError):
                continue  # reported above
            for c in applied.contracts:
                if c.kind == "reserved_gpus" and not applied.pools.neocloud.enabled and not base_reserved_bad:
                    add(("strategies", i) if i < len(sc.strategies) else ("sweeps",),
                        f"strategy {strat.name!r} has reserved_gpus contract {c.name!r} but pools.neocloud is not enabled")
    return out


def _empirical_problems(data: Any, base_dir: Path, lines: dict, file: str) -> list[Problem]:
    """Every {dist: empirical} mapping must name a readable CSV file with a numeric column."""
    out: list[Problem] = []

    def walk(obj: Any, loc: tuple) -> None:
        if isinstance(obj, dict):
            if obj.get("dist") == "empirical" and isinstance(obj.get("file"), str):
                path = (base_dir / obj["file"]).resolve()
                column = obj.get("column")
                if not path.is_file():
                    out.append(Problem(file, _line(lines, loc + ("file",)), _fmt(loc + ("file",)),
                                       f"empirical distribution: file not found: {obj['file']} "
                                       f"(looked for {path}; paths are relative to the scenario file)"))
                elif isinstance(column, str):
                    try:
                        load_empirical_column(path, column)
                    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds
                        out.append(Problem(file, _line(lines, loc + ("column",)), _fmt(loc + ("column",)),
                                           f"empirical distribution: {exc}"))
                return
            for k, v in obj.items():
                walk(v, loc + (k,))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, loc + (i,))

    walk(data, ())
    return out


def _yaml_problem(exc: yaml.YAMLError, file: str) -> Problem:
    """A YAML syntax error as a Problem on the line where the parser stopped, with a hint."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark else None
    what = getattr(exc, "problem", None) or str(exc)
    ctx, ctx_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    msg = f"malformed YAML: {what}"
    if ctx and ctx_mark is not None and ctx_mark.line + 1 != line:
        msg += f" ({ctx} that starts on line {ctx_mark.line + 1})"
    elif ctx:
        msg += f" ({ctx})"
    if ctx and "flow" in ctx:
        msg += "; is a closing bracket missing?"
    if "'\\t'" in what or "\t" in what:
        msg += "; indent with spaces, not tabs"
    if "mapping values are not allowed" in what:
        msg += "; check the indentation of this line (or quote a value that contains ': ')"
    return Problem(file, line, "", msg)


# ---- public ---------------------------------------------------------------------------------
Checks = Callable[[Scenario], list[tuple[tuple, str]]]


def load_scenario(path: str | Path, checks: Checks | None = None) -> Scenario:
    """Read, validate and cross-check a scenario file; raise ScenarioError listing every problem.

    ``checks`` (e.g. ``sim.pools.checks.strategy_problems``: the checks that need the catalogs,
    which live above this layer) returns (key path, message) pairs, located like every other problem.
    """
    p = Path(path)
    file = str(path)
    if not p.exists():
        raise ScenarioError([Problem(file, None, "", "file not found")])
    if p.is_dir():
        raise ScenarioError([Problem(file, None, "", "is a directory, expected a YAML file")])
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(file, None, "", f"cannot read: {exc}")]) from None
    return load_scenario_text(text, file=file, base_dir=p.parent, checks=checks)


def load_scenario_text(text: str, file: str = "<string>", base_dir: Path | None = None,
                       checks: Checks | None = None) -> Scenario:
    """As load_scenario, from YAML text."""
    base_dir = base_dir or Path.cwd()
    try:
        data, lines, problems = _compose(text, file)
    except yaml.YAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None
    if problems:
        raise ScenarioError(problems)
    if not isinstance(data, dict):
        got = "the file is empty" if data is None else f"got {_what(data)}"
        raise ScenarioError([Problem(file, 1, "", "expected a mapping of keys (horizon, business_units, "
                                     f"workloads, ...) at the top level; {got}")])
    problems = _empirical_problems(data, base_dir, lines, file)
    if problems:  # checked first: an unreadable sample cannot be validated
        raise ScenarioError(problems)
    try:
        sc = Scenario.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        located = [e for e in exc.errors() if isinstance(e.get("ctx", {}).get("error"), LocatedError)]
        if located and len(located) == len(exc.errors()):
            probs = [Problem(file, _line(lines, e["ctx"]["error"].loc), _fmt(e["ctx"]["error"].loc),
                             e["ctx"]["error"].msg) for e in located]
        else:
            probs = _pydantic_problems(exc, data, lines, file)
        raise ScenarioError(probs) from None
    problems = _coerced_bools(sc, data, lines, file) + _semantic_problems(sc, base_dir, lines, file)
    if problems:
        raise ScenarioError(problems)
    if checks is not None:
        problems = [Problem(file, _line(lines, loc), _fmt(loc), msg) for loc, msg in checks(sc)]
        if problems:
            raise ScenarioError(problems)
    return sc


def dump_scenario(sc: Scenario) -> str:
    """YAML text that loads back to an identical scenario."""
    data = sc.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
