"""Finite or refused: every engine output is checked before anyone reads it.

A NaN or an infinity in a result is a bug or an input the checks missed; it must never become a
0 in a table (a sum that skips NaN, a mean of an empty slice). ``require_finite`` names the
variable and the first offending coordinates so the fault can be found.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


class NonFiniteResultError(ArithmeticError):
    """An engine produced NaN or infinity; the message names the variable and where."""


def require_finite(name: str, x, dims: Sequence[str] = (), coords: Mapping[str, Sequence] | None = None,
                   context: str = "") -> None:
    """Raise ``NonFiniteResultError`` if ``x`` holds a NaN or an infinity."""
    a = np.asarray(x)
    if a.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(a)
    if not bad.any():
        return
    idx = np.unravel_index(int(np.flatnonzero(bad)[0]), a.shape) if a.ndim else ()
    where = []
    for k, i in enumerate(idx):
        dim = dims[k] if k < len(dims) else f"axis{k}"
        label = coords[dim][i] if coords and dim in coords and i < len(coords[dim]) else i
        where.append(f"{dim}={label}")
    first = a[idx] if a.ndim else a
    raise NonFiniteResultError(
        f"{name} is not finite ({int(bad.sum()):,} of {a.size:,} values; first {first} at "
        f"{', '.join(where) or 'the scalar'}){': ' + context if context else ''}. This is a bug or an "
        "input outside what the model can represent; no result was written")
