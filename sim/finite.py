"""Finite or refused: every engine output is checked before anyone reads it.

A NaN or an infinity in a result is a bug or an input the checks missed; it must never become a
0 in a table (a sum that skips NaN, a mean of an empty slice). ``require_finite`` names the
variable and the first offending coordinates so the fault can be found; ``dataset_nonfinite`` does
the same for the variables of a results Dataset a reader is about to use (``sim.mc.checks``).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


class NonFiniteResultError(ArithmeticError):
    """An engine produced NaN or infinity; the message names the variable and where."""


def _label(v) -> str:
    """A coordinate value as a reader would write it: a midnight datetime as its date (2027-03-01)."""
    a = np.asarray(v)
    if a.dtype.kind == "M":
        day = a.astype("datetime64[D]")
        return str(day) if day == a else str(a.astype("datetime64[s]"))
    return str(v)


def nonfinite_summary(name: str, x, dims: Sequence[str] = (), coords: Mapping[str, Sequence] | None = None
                      ) -> str | None:
    """"NAME is not finite (N of M values; first nan at dim=label, ...)", or None when ``x`` is finite.

    ``dims`` name the axes of ``x`` and ``coords`` (optional) label their positions; an axis with no
    label is shown by position.
    """
    a = np.asarray(x)
    if a.dtype.kind not in "fc":
        return None
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    idx = np.unravel_index(int(np.argmax(bad)), a.shape) if a.ndim else ()
    where = []
    for k, i in enumerate(idx):
        dim = dims[k] if k < len(dims) else f"axis{k}"
        label = _label(coords[dim][i]) if coords and dim in coords and i < len(coords[dim]) else i
        where.append(f"{dim}={label}")
    first = a[idx] if a.ndim else a
    return (f"{name} is not finite ({int(bad.sum()):,} of {a.size:,} values; first {first} at "
            f"{', '.join(where) or 'the scalar'})")


SLICE_BYTES = 100_000_000  # what a check reads of a lazily opened variable at a time


def path_slices(v, slice_bytes: int = SLICE_BYTES):
    """Slices of the ``path`` dimension of a DataArray ``v`` holding about ``slice_bytes`` each (the
    whole dimension when ``v`` has none or is small)."""
    n = int(v.sizes.get("path", 0))
    if n == 0 or v.nbytes <= slice_bytes:
        return [slice(None)]
    step = max(1, int(slice_bytes * n // max(v.nbytes, 1)))
    return [slice(a, a + step) for a in range(0, n, step)]


def all_finite(v) -> bool:
    """No NaN or infinity in the DataArray ``v``, read by slices of paths (``path_slices``)."""
    if v.dtype.kind not in "fc":
        return True
    for sl in path_slices(v):
        part = v if sl == slice(None) else v.isel(path=sl)
        if not np.isfinite(np.asarray(part.values)).all():
            return False
    return True


def dataset_nonfinite(ds, names: Sequence[str]) -> list[str]:
    """One :func:`nonfinite_summary` per variable of ``names`` (in a Dataset ``ds``) holding a NaN or an
    infinity, located by the variable's own dimensions and coordinate labels; variables absent from
    ``ds`` or not floating point are skipped."""
    out = []
    for name in names:
        if name not in ds.variables:
            continue
        v = ds[name]
        if all_finite(v):  # read by slices of paths: a 100,000-path store is never held whole
            continue
        coords = {d: np.asarray(ds[d].values) for d in v.dims if d in ds.coords}
        msg = nonfinite_summary(name, v.values, tuple(v.dims), coords)
        if msg:
            out.append(msg)
    return out


def require_finite(name: str, x, dims: Sequence[str] = (), coords: Mapping[str, Sequence] | None = None,
                   context: str = "") -> None:
    """Raise ``NonFiniteResultError`` if ``x`` holds a NaN or an infinity."""
    msg = nonfinite_summary(name, x, dims, coords)
    if msg is None:
        return
    raise NonFiniteResultError(
        f"{msg}{': ' + context if context else ''}. This is a bug or an "
        "input outside what the model can represent; no result was written")
