"""Reading the catalogs' sourced YAML files: every number carries a ``source``.

A catalog file (``calibration/hardware/<id>.yaml``, ``calibration/models/<id>.yaml``) is a mapping
whose numbers sit in ``{value, source, grade, note}`` mappings (or ``{low, mode, high, source}``
ranges). :class:`SourcedReader` reads one such file and fetches typed nodes, numbers with range
checks and required sources, collecting each source under its key path; :meth:`check_all_sourced`
refuses a number that has no source on itself or an ancestor. Every problem is a
:class:`SourcedFileError` (each catalog derives its own) whose message is ``file: key.path: problem``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import yaml

__all__ = ["SourcedFileError", "SourcedReader", "is_number"]


def is_number(x: Any) -> bool:
    """An int or float, not a bool."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class SourcedFileError(ValueError):
    """A sourced catalog file is missing or malformed; the message names the file and key path."""

    def __init__(self, file: Path | str, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        super().__init__(f"{file}: {key}: {problem}")


class SourcedReader:
    """Validating accessors over one file that report ``file: key.path: problem``.

    Subclasses set :attr:`error` to their catalog's :class:`SourcedFileError` subclass. ``sources``
    maps each key path read through :meth:`source` to its (stripped) source text.
    """

    error: ClassVar[type[SourcedFileError]] = SourcedFileError

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sources: dict[str, str] = {}

    def fail(self, key: str, problem: str) -> SourcedFileError:
        return self.error(self.path, key, problem)

    def read(self) -> dict[str, Any]:
        """The file's top-level mapping (keys ``<yaml>``, ``<file>``, ``<root>`` on failure)."""
        try:
            doc = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise self.fail("<yaml>", f"cannot parse: {exc}") from None
        except OSError as exc:
            raise self.fail("<file>", f"cannot read: {exc}") from None
        if not isinstance(doc, dict):
            raise self.fail("<root>", "expected a mapping")
        return doc

    def node(self, data: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
        """``data[key]``, which must be present and of ``kind`` (a bool only where ``kind is bool``)."""
        if not isinstance(data, dict) or key not in data:
            raise self.fail(where, "missing")
        v = data[key]
        if not isinstance(v, kind) or isinstance(v, bool) and kind is not bool:
            raise self.fail(where, f"expected {getattr(kind, '__name__', kind)}, got {type(v).__name__}")
        return v

    def in_range(self, v: float, where: str, lo: float = 0.0, hi: float = math.inf,
                 lo_open: bool = True) -> None:
        """Refuse ``v`` unless finite and in ``(lo, hi]`` (``[lo, hi]`` with ``lo_open=False``).

        The message shows ``lo`` and ``hi`` as given (``0`` and ``0.0`` read differently).
        """
        if not math.isfinite(v) or v < lo or (lo_open and v == lo) or v > hi:
            raise self.fail(where, f"value {v!r} out of range ({lo}, {hi}]")

    def number(self, data: dict[str, Any], key: str, where: str, lo: float = 0.0,
               hi: float = math.inf, lo_open: bool = True) -> float:
        """``data[key]`` as a float: a number that passes :meth:`in_range`."""
        v = self.node(data, key, where, (int, float))
        self.in_range(v, where, lo, hi, lo_open)
        return float(v)

    def source(self, data: dict[str, Any], where: str) -> str:
        """The non-empty ``source`` of mapping ``data``, recorded under ``where``."""
        src = data.get("source") if isinstance(data, dict) else None
        if not isinstance(src, str) or not src.strip():
            raise self.fail(f"{where}.source", "missing or empty source")
        self.sources[where] = src.strip()
        return src.strip()

    def check_all_sourced(self, doc: Any) -> None:
        """Every number must sit inside a mapping (itself or an ancestor) that has a source."""
        self._check_sourced(doc, "", False)

    def _check_sourced(self, node: Any, where: str, sourced: bool) -> None:
        if isinstance(node, dict):
            sourced = sourced or (isinstance(node.get("source"), str) and bool(node["source"].strip()))
            for k, v in node.items():
                self._check_sourced(v, f"{where}.{k}" if where else str(k), sourced)
        elif isinstance(node, list):
            for n, v in enumerate(node):
                self._check_sourced(v, f"{where}[{n}]", sourced)
        elif is_number(node) and not sourced:
            raise self.fail(where, "number without a source")
