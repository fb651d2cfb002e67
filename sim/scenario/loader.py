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
from typing import Any, Annotated, Union, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from .distributions import Empirical, load_empirical_column
from .model import LocatedError, Scenario, correlation_matrix, resolve_path, set_path, uncertain_fields


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
        if any(part in m.model_fields for m in models):
            clean.append(part)
            cands = [a for m in models if part in m.model_fields
                     for a in _candidates(m.model_fields[part].annotation)]
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
    m = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    return m[0] if m else None


_NUM_HINT = ("expected a number or a distribution such as {dist: pert, low: 1, mode: 2, high: 4} "
             "(kinds: fixed, uniform, triangular, pert, normal, lognormal, beta, discrete, empirical)")


def _pydantic_problems(err: ValidationError, data: Any, lines: dict, file: str) -> list[Problem]:
    groups: dict[tuple, list[dict]] = {}
    for e in err.errors():
        clean, _, _ = _walk_loc(tuple(e["loc"]))
        groups.setdefault(clean, []).append(e)
    problems: list[Problem] = []
    for clean, errs in groups.items():
        value = _get(data, clean)
        msgs: list[str] = []
        types_ = {e["type"] for e in errs}
        if "extra_forbidden" in types_:
            parent_models = _walk_loc(tuple(errs[0]["loc"])[:-1])[1]
            options = sorted({f for m in parent_models for f in m.model_fields})
            key = clean[-1]
            hint = _closest(key, options)
            msg = f"unknown key {key!r}"
            msg += f"; did you mean {hint!r}?" if hint else f"; valid keys: {', '.join(options)}"
            msgs.append(msg)
        elif "union_tag_invalid" in types_ or "union_tag_not_found" in types_:
            e = next(e for e in errs if e["type"].startswith("union_tag"))
            ctx = e.get("ctx", {})
            tag = ctx.get("discriminator", "").strip("'")
            expected = ctx.get("expected_tags", "")
            got = ctx.get("tag")
            if got is not None:
                hint = _closest(got, [t.strip(" '") for t in expected.split(",")])
                msgs.append(f"unknown {tag} {got!r}" + (f"; did you mean {hint!r}?" if hint else "")
                            + f" (expected one of {expected})")
            elif isinstance(value, dict) and tag == "dist":
                msgs.append(_NUM_HINT)
            else:
                msgs.append(f"missing key {tag!r} (expected one of {expected})")
        elif any(e["type"] in ("float_parsing", "float_type") for e in errs) and len(errs) > 1:
            # "number or distribution" union where neither branch fits
            if isinstance(value, dict) and "dist" in value:
                inner = [e for e in errs if e["type"] not in ("float_parsing", "float_type")]
                msgs.extend(_message(e) for e in inner)
            else:
                msgs.append(f"{_NUM_HINT}; got {value!r}")
        else:
            for e in errs:
                msgs.append(_message(e))
        seen: set[str] = set()
        for m in msgs:
            if m not in seen:
                seen.add(m)
                problems.append(Problem(file, _line(lines, clean), _fmt(clean), m))
    return problems


def _message(e: dict) -> str:
    t, msg = e["type"], e["msg"]
    if t == "missing":
        return "required key is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if t in ("float_parsing", "float_type", "int_parsing", "int_type", "bool_parsing", "bool_type",
             "string_type", "list_type", "dict_type", "model_type"):
        return f"{msg[0].lower()}{msg[1:]}, got {e.get('input')!r}"
    if t.startswith("literal_error"):
        return f"{msg[0].lower()}{msg[1:]}, got {e.get('input')!r}"
    return msg[0].lower() + msg[1:] if msg else t


# ---- semantic checks after the schema ------------------------------------------------------
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
                add(loc + ("file",), f"file not found: {obj.file} (looked in {path.parent})")
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

    # models and GPUs must exist in the catalogs
    from ..catalog.prices import PriceBook
    from ..catalog.hardware import load_hardware

    book = PriceBook(sc.price_date, sc.prices.overrides)

    def check_ref(ref: str | None, loc: tuple) -> None:
        if ref and not book.has(ref):
            sugg = book.suggestions(ref)
            add(loc, f"unknown model {ref!r}" + (f"; close matches: {', '.join(sugg)}" if sugg else "")
                + " (or define it under prices.overrides with input and output prices)")

    hw = load_hardware()
    for pool in ("neocloud", "owned"):
        p = getattr(sc.pools, pool)
        if p.enabled and p.gpu not in hw:
            hint = difflib.get_close_matches(p.gpu, list(hw), n=3, cutoff=0.4)
            add(("pools", pool, "gpu"), f"unknown GPU {p.gpu!r}; catalog has: {', '.join(sorted(hw))}"
                + (f" (closest: {', '.join(hint)})" if hint else ""))
    for i, w in enumerate(sc.workloads):
        if not hasattr(w, "models"):
            continue
        check_ref(w.models.api, ("workloads", i, "models", "api"))
        if w.levers.routing.enabled:
            check_ref(w.levers.routing.cheap_model, ("workloads", i, "levers", "routing", "cheap_model"))
        for pool in ("neocloud", "owned"):
            cls = getattr(w.models, pool)
            p = getattr(sc.pools, pool)
            if cls and pool in w.allowed_pools and p.enabled and p.gpu in hw:
                gpu = hw[p.gpu]
                classes = sorted({c.model_class for c in gpu.curves})
                if cls not in classes:
                    hint = difflib.get_close_matches(cls, classes, n=2, cutoff=0.5)
                    add(("workloads", i, "models", pool),
                        f"GPU {p.gpu!r} of pool {pool!r} cannot serve model class {cls!r}; it has curves for: "
                        f"{', '.join(classes)}" + (f" (closest: {', '.join(hint)})" if hint else ""))
    for i, c in enumerate(sc.contracts):
        for j, ref in enumerate(c.models):
            check_ref(ref, ("contracts", i, "models", j))
    for j, ref in enumerate(sc.pools.api.frontier_models):
        check_ref(ref, ("pools", "api", "frontier_models", j))

    # correlations: fields must exist and be uncertain; the matrix must be a correlation matrix
    unc = uncertain_fields(sc)
    ok = True
    for i, c in enumerate(sc.correlations):
        for j, f in enumerate(c.between):
            try:
                resolve_path(sc, f)
            except KeyError as exc:
                add(("correlations", i, "between", j), f"{exc.args[0]}")
                ok = False
                continue
            if f not in unc:
                add(("correlations", i, "between", j),
                    f"{f} is not uncertain (give it a distribution) so it cannot be correlated")
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

    # strategies: key paths must exist and values must be valid
    for i, s in enumerate(sc.all_strategies()):
        for path, value in s.set.items():
            try:
                set_path(sc, path, value)
            except KeyError as exc:
                add(("strategies", i, "set", path), str(exc.args[0]))
            except ValidationError as exc:
                add(("strategies", i, "set", path),
                    f"value {value!r} is not valid here: " + "; ".join(_message(e) for e in exc.errors()))
    return out


# ---- public ---------------------------------------------------------------------------------
def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and cross-check a scenario file; raise ScenarioError listing every problem."""
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
    return load_scenario_text(text, file=file, base_dir=p.parent)


def load_scenario_text(text: str, file: str = "<string>", base_dir: Path | None = None) -> Scenario:
    """As load_scenario, from YAML text."""
    base_dir = base_dir or Path.cwd()
    try:
        data, lines, problems = _compose(text, file)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else None
        what = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([Problem(file, line, "", f"malformed YAML: {what}")]) from None
    if problems:
        raise ScenarioError(problems)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, 1, "", "expected a mapping of keys (horizon, business_units, "
                                     f"workloads, ...) at the top level, got {type(data).__name__}")])
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        located = [e for e in exc.errors() if isinstance(e.get("ctx", {}).get("error"), LocatedError)]
        if located and len(located) == len(exc.errors()):
            probs = [Problem(file, _line(lines, e["ctx"]["error"].loc), _fmt(e["ctx"]["error"].loc),
                             e["ctx"]["error"].msg) for e in located]
        else:
            probs = _pydantic_problems(exc, data, lines, file)
        raise ScenarioError(probs) from None
    problems = _semantic_problems(sc, base_dir, lines, file)
    if problems:
        raise ScenarioError(problems)
    return sc


def dump_scenario(sc: Scenario) -> str:
    """YAML text that loads back to an identical scenario."""
    data = sc.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
