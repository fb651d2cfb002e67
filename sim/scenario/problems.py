"""Located problems of a scenario file, and YAML parsed with the line of every key.

Every problem names the file, the line, the key path and what was expected; a scenario that
fails to load raises ``ScenarioError`` with all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ..limits import MAX_KEY_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, MAX_YAML_CHARS, MAX_YAML_DEPTH, MAX_YAML_NODES


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
class YAMLLimitError(yaml.YAMLError):
    """The YAML is well-formed but exceeds a budget of ``sim.limits``."""

    def __init__(self, message: str, mark: Any = None):
        super().__init__(message)
        self.message, self.problem_mark = message, mark


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting budget (its composer recurses once per level)."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise YAMLLimitError(f"nesting deeper than {MAX_YAML_DEPTH} levels; a scenario needs at most 7",
                                     self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str, file: str) -> tuple[Any, dict[tuple, int], list[Problem]]:
    """Parse YAML; return the data, a map key-path -> line, and duplicate-key and size problems.

    Aliases are expanded here (the composer shares one node between them), within budgets: the
    count of values and of characters after expansion (a 432-byte "billion laughs" file stops after
    MAX_YAML_NODES values instead of growing to gigabytes), the nesting depth of the expanded tree,
    and no alias inside the value it names (a recursive alias).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    problems: list[Problem] = []
    count = chars = 0
    active: set[int] = set()  # collection nodes on the path being built: a repeat is a recursive alias
    constructor = _Loader("")  # one constructor for every scalar (a new one each cost 4 s on 10,000 workloads)

    def build(n: yaml.Node, path: tuple) -> Any:
        nonlocal count, chars
        count += 1
        if count > MAX_YAML_NODES:
            raise YAMLLimitError(f"more than {MAX_YAML_NODES:,} values once aliases (*name) are expanded; "
                                 "a scenario needs a few hundred", n.start_mark)
        if len(path) > MAX_YAML_DEPTH:
            raise YAMLLimitError(f"nesting deeper than {MAX_YAML_DEPTH} levels once aliases (*name) are expanded",
                                 n.start_mark)
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, (yaml.MappingNode, yaml.SequenceNode)):
            if id(n) in active:
                raise YAMLLimitError("an alias (*name) inside the value it names: a recursive alias has no end",
                                     n.start_mark)
            active.add(id(n))
            try:
                return build_collection(n, path)
            finally:
                active.discard(id(n))
        chars += len(n.value) if isinstance(n.value, str) else 0
        if chars > MAX_YAML_CHARS:
            raise YAMLLimitError(f"more than {MAX_YAML_CHARS:,} characters of values once aliases (*name) are "
                                 "expanded", n.start_mark)
        if isinstance(n.value, str) and len(n.value) > MAX_TEXT_CHARS:
            problems.append(Problem(file, n.start_mark.line + 1, _fmt(path),
                                    f"a text of {len(n.value):,} characters; at most {MAX_TEXT_CHARS:,} are allowed"))
            return None
        value = _scalar(n, constructor)
        if isinstance(value, bytes):  # pydantic would coerce bytes to text, past every check on text
            problems.append(Problem(file, n.start_mark.line + 1, _fmt(path),
                                    "binary values (!!binary) are not allowed; write the text itself"))
            return None
        return value

    def build_collection(n: yaml.Node, path: tuple) -> Any:
        if len(n.value) > MAX_LIST_ITEMS:
            what = "mapping" if isinstance(n, yaml.MappingNode) else "list"
            unit = "keys" if what == "mapping" else "items"
            problems.append(Problem(file, n.start_mark.line + 1, _fmt(path),
                                    f"a {what} of {len(n.value):,} {unit}; at most {MAX_LIST_ITEMS:,} are allowed"))
            return None
        if isinstance(n, yaml.SequenceNode):
            return [build(v, path + (i,)) for i, v in enumerate(n.value)]
        out: dict = {}
        for k_node, v_node in n.value:
            if not isinstance(k_node, yaml.ScalarNode):
                problems.append(Problem(file, k_node.start_mark.line + 1, _fmt(path),
                                        "keys must be plain words, not lists or mappings"))
                continue
            if len(k_node.value) > MAX_KEY_CHARS:
                problems.append(Problem(file, k_node.start_mark.line + 1, _fmt(path),
                                        f"a key of {len(k_node.value):,} characters; keys are words of at most "
                                        f"{MAX_KEY_CHARS} characters"))
                continue
            key = _scalar(k_node, constructor)
            kp = path + (key,)
            if key in out:
                problems.append(Problem(file, k_node.start_mark.line + 1, _fmt(kp),
                                        "duplicate key (YAML would silently keep the last one)"))
            lines[kp] = k_node.start_mark.line + 1
            out[key] = build(v_node, kp)
        return out

    try:
        if node is None:
            return None, lines, problems
        return build(node, ()), lines, problems
    finally:
        constructor.dispose()


def _scalar(n: yaml.Node, constructor: yaml.SafeLoader) -> Any:
    try:
        return constructor.construct_object(n, deep=True)
    except (ValueError, OverflowError, yaml.constructor.ConstructorError):
        # e.g. 2026-02-30 looks like a YAML timestamp but is no date: keep the text so the
        # field's validator reports it with its key path
        constructor.constructed_objects.clear()
        constructor.recursive_objects.clear()
        return n.value if isinstance(n, yaml.ScalarNode) else None


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



def _yaml_problem(exc: yaml.YAMLError, file: str) -> Problem:
    """A YAML syntax error as a Problem on the line where the parser stopped, with a hint."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark else None
    if isinstance(exc, YAMLLimitError):
        return Problem(file, line, "", exc.message)
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


