"""Generate docs/scenario-reference.md from the scenario models (run: python -m sim.scenario.reference)."""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .distributions import _Dist
from .model import Scenario
from .schema_errors import _candidates

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"

_INTRO = """# Scenario reference

Generated from the models in `sim/scenario/` by `python -m sim.scenario.reference`; a test fails
when this file is out of date. A scenario is one YAML file, read with safe-load semantics (it can
never execute code). Unknown keys are errors. Lists of named items (business units, workloads,
contracts, strategies) are addressed by name in key paths: `workloads.support_chat.turns`.

## Numbers and distributions

Every field typed **number or distribution** accepts a plain number or a mapping with a `dist`
key. The expected-value engine uses each distribution's mean (and, for session lengths, the
whole distribution, because tokens grow quadratically with turns); the Monte Carlo engine draws
from it. A field's allowed range is checked over the whole support of its distribution.

| dist | keys | meaning |
|---|---|---|
| `fixed` | `value` | a known number (same as writing the number) |
| `uniform` | `low`, `high` | uniform on [low, high] |
| `triangular` | `low`, `mode`, `high` | triangular |
| `pert` | `low`, `mode`, `high`, `lamb` (4) | Beta-PERT; `lamb` sets the weight of the mode |
| `normal` | `mean`, `sd` | normal (unbounded: not allowed for counts or probabilities) |
| `lognormal` | `median`, `p90` | lognormal given by its median and 90th percentile |
| `beta` | `alpha`, `beta`, `low` (0), `high` (1) | beta scaled to [low, high] |
| `discrete` | `values`, `weights` | one of the values with the given weights |
| `empirical` | `file`, `column` | resample a CSV column (path relative to the scenario file) |

Rank correlations between uncertain fields go under `correlations` (`between: [path, path]`,
`rho`); together they must form a positive semi-definite matrix.
"""


def _type_name(ann: Any) -> str:
    cands = _candidates(ann)
    names: list[str] = []
    has_dist = any(isinstance(c, type) and issubclass(c, _Dist) for c in cands)
    for c in cands:
        if c is type(None):
            continue
        if isinstance(c, type) and issubclass(c, _Dist):
            continue
        origin = get_origin(c)
        if origin is list:
            names.append(f"list of {_type_name(get_args(c)[0])}")
        elif origin is dict:
            names.append("mapping")
        elif origin is typing.Literal:
            names.append(" \\| ".join(f"`{a}`" for a in get_args(c)))
        elif isinstance(c, type) and issubclass(c, BaseModel):
            names.append(f"[{c.__name__}](#{c.__name__.lower()})")
        elif c is float:
            names.append("number or distribution" if has_dist else "number")
        elif isinstance(c, type):
            names.append({"int": "integer", "str": "text", "bool": "true/false"}.get(c.__name__, c.__name__))
    out = " or ".join(dict.fromkeys(names))
    if type(None) in cands:
        out += " (optional)"
    return out


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def visit(m: type[BaseModel]) -> None:
        if m in seen or issubclass(m, _Dist):
            return
        seen.append(m)
        for f in m.model_fields.values():
            for c in _candidates(f.annotation):
                for cc in [c] + ([a for a in get_args(c)] if get_origin(c) in (list, dict) else []):
                    for ccc in _candidates(cc):
                        if isinstance(ccc, type) and issubclass(ccc, BaseModel):
                            visit(ccc)

    visit(root)
    return seen


def _default(f) -> str:
    if f.is_required():
        return "**required**"
    if f.default_factory is not None:
        try:
            v = f.default_factory()
        except TypeError:
            return "(see type)"
        if isinstance(v, BaseModel):
            return "(defaults)"
        return f"`{v!r}`" if v not in ([], {}) else "empty"
    if f.default is PydanticUndefined or f.default is None:
        return "none"
    return f"`{f.default!r}`" if not isinstance(f.default, str) else f"`{f.default}`"


def render() -> str:
    parts = [_INTRO]
    for m in _models(Scenario):
        parts.append(f"## {m.__name__}\n")
        doc = (m.__doc__ or "").strip()
        if doc:
            parts.append(" ".join(line.strip() for line in doc.splitlines()) + "\n")
        parts.append("| key | type | unit | default | meaning |")
        parts.append("|---|---|---|---|---|")
        for name, f in m.model_fields.items():
            key = f.alias or name
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
            unit = extra.get("unit", "")
            desc = (f.description or "").replace("|", "\\|")
            parts.append(f"| `{key}` | {_type_name(f.annotation)} | {unit} | {_default(f)} | {desc} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python -m sim.scenario.reference", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
