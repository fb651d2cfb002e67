"""Load a scenario from YAML and report every problem with its file, line and key path.

YAML is parsed with PyYAML's safe loader (no tags that construct objects), through its node
tree so each key's line number is known (``sim.scenario.problems``). Validation errors from
pydantic (worded by ``sim.scenario.schema_errors``), cross-reference errors, missing files, bad
correlation matrices and whatever the caller's ``checks`` find (the catalog checks of
``sim.checks``: models, GPUs, SLOs, memory fit, capacity) are all turned into ``Problem`` records;
``ScenarioError`` carries the list. Nothing here prints or exits: the CLI formats the problems and
exits with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from .distributions import Empirical, load_empirical_column
from .model import (
    LocatedError,
    Scenario,
    _child,
    classify,
    correlation_matrix,
    get_path,
    resolve_path,
    set_path,
    split_path,
    uncertain_fields,
)
from ..io.files import UnreadableInput, read_regular
from ..limits import MAX_SCENARIO_BYTES
from .problems import Problem, ScenarioError, _compose, _fmt, _line, _yaml_problem  # noqa: F401 - Problem, ScenarioError are this module's API
from .schema_errors import _closest, _coerced_bools, _located_loc, _message, _pydantic_problems, _short, _what


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
            if obj.values.size:  # read when the field was validated (Empirical._load)
                return
            path = base_dir / obj.file
            try:
                obj.bind(load_empirical_column(path, obj.column))
            except ValueError as exc:  # UnreadableInput included
                add(loc + ("file",), f"empirical distribution: {str(obj.file)[:80]!r} {exc}")
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
            add(loc, f"value {_short(value)} is not valid for {path}: "
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
            have = [w.name for w in applied.token_workloads if w.outcome is not None]
            base = [w.name for w in sc.token_workloads if w.outcome is not None]
            if have != base:  # results compare strategies' outcomes workload by workload
                add(("strategies", i) if i < len(sc.strategies) else ("sweeps",),
                    f"strategy {strat.name!r} defines outcomes for {', '.join(have) or 'no workload'}, the scenario "
                    f"for {', '.join(base) or 'no workload'}: a strategy may change an outcome's values, not whether "
                    "a workload has one")
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
                column = obj.get("column")
                name = obj["file"]
                where = (file, _line(lines, loc + ("file",)), _fmt(loc + ("file",)))
                if "\x00" in name or len(name) > 1024 or any(len(part) > 255 for part in Path(name).parts):
                    out.append(Problem(*where, "empirical distribution: not a usable file name (a NUL byte, or "
                                       "longer than 1,024 characters / 255 per part)"))
                    return
                path = base_dir / name
                try:  # the guarded reader: a regular file within the size budget, or why not
                    load_empirical_column(path, column if isinstance(column, str) else None)
                except UnreadableInput as exc:
                    found = "not found" not in str(exc)
                    out.append(Problem(*where, f"empirical distribution: {name[:80]!r} {exc}" if found else
                                       f"empirical distribution: file not found: {name[:200]} (looked for "
                                       f"{path.absolute()}; paths are relative to the scenario file)"))
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


# ---- public ---------------------------------------------------------------------------------
def read_bounded(p: Path, limit: int, what: str, file: str) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (``sim.io.files.read_regular``),
    or ScenarioError saying why not."""
    try:
        raw = read_regular(p, limit, what)
    except UnreadableInput as exc:
        raise ScenarioError([Problem(file, None, "", str(exc))]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(file, None, "", f"cannot read: not UTF-8 text ({exc.reason} at byte "
                                     f"{exc.start})")]) from None


Checks = Callable[[Scenario], list[tuple[tuple, str]]]


def load_scenario(path: str | Path, checks: Checks | None = None) -> Scenario:
    """Read, validate and cross-check a scenario file; raise ScenarioError listing every problem.

    ``checks`` (e.g. ``sim.pools.checks.strategy_problems``: the checks that need the catalogs,
    which live above this layer) returns (key path, message) pairs, located like every other problem.
    """
    p = Path(path)
    file = str(path)
    text = read_bounded(p, MAX_SCENARIO_BYTES, "YAML file", file)
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
            probs = [Problem(file, _line(lines, _located_loc(e)), _fmt(_located_loc(e)),
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
