"""Valuations: how a pool builder reads an uncertain scenario field.

Every pool builder takes a *valuation* ``value(field, key, catalog=None)``:

- ``field`` is the scenario value (a number, a distribution, or None when the scenario leaves it
  to the catalog);
- ``key`` is its key path (``pools.owned.capex_per_gpu``), the name under which draws are stored;
- ``catalog`` is the catalog's ``{low, mode, high}`` range used when ``field`` is None.

Three valuations cover every engine:

- ``MeanValues``: the mean of each field, the catalog's mode (expected-value engine, estimate,
  deterministic TCO);
- ``PathValues``: one value per Monte Carlo path, read by key path from ``sim.mc.sampling.Draws``;
  a random field whose key was not drawn is an error, never a silent mean;
- ``LatinValues``: ``n`` independent Latin-hypercube draws per key (the TCO crossover
  distribution), catalog ranges drawn as PERT(low, mode, high).

A valuation returns a float or an array of shape ``(P,)``; ``column`` turns the latter into
``(P, 1)`` so it broadcasts against ``(P, months)`` arrays.
"""

from __future__ import annotations

import zlib
from typing import Mapping, Protocol

import numpy as np

from ..scenario.distributions import PERT, _Dist, mean_of


class Valuation(Protocol):
    """value(field, key, catalog) -> float or (P,) array; ``paths`` is P, or None for scalars."""

    paths: int | None

    def __call__(self, field: object, key: str | None = None, catalog: Mapping | None = None) -> float | np.ndarray: ...


class MissingDrawError(KeyError):
    """A random field was read under a key path that has no draws (a bug in the caller)."""


def column(x: float | np.ndarray) -> float | np.ndarray:
    """A (P,) array as (P, 1); scalars unchanged."""
    a = np.asarray(x, float)
    return a[:, None] if a.ndim == 1 else (float(a) if a.ndim == 0 else a)


class MeanValues:
    """Every field at its mean; a field left to the catalog at the catalog's mode."""

    paths: int | None = None

    def __call__(self, field: object, key: str | None = None, catalog: Mapping | None = None) -> float:
        if field is None:
            if catalog is None:
                raise MissingDrawError(f"{key}: no value and no catalog default")
            return float(catalog["mode"])
        return float(mean_of(field))


class PathValues:
    """One value per Monte Carlo path: ``scale`` maps key path -> (P,) draws.

    ``by_id`` (id of the distribution object -> draws) serves callers that pass the field without
    its key (contract settlement, adoption curves); either way an undrawn random field raises.
    """

    def __init__(self, scale: Mapping[str, np.ndarray], paths: int, by_id: Mapping[int, np.ndarray] | None = None):
        self.scale = scale
        self.paths = int(paths)
        self.by_id = by_id or {}

    def __call__(self, field: object, key: str | None = None, catalog: Mapping | None = None) -> float | np.ndarray:
        if isinstance(field, _Dist) and field.is_random:
            got = self.scale.get(key) if key is not None else self.by_id.get(id(field))
            if got is None:
                raise MissingDrawError(f"{key}: a random field with no draws (drawn keys: "
                                       f"{', '.join(sorted(self.scale)) or 'none'})")
            return got
        if field is None:
            if catalog is None:
                raise MissingDrawError(f"{key}: no value and no catalog default")
            return float(catalog["mode"])  # catalog ranges are not drawn per path (stated in docs)
        return float(mean_of(field))


class LatinValues:
    """``n`` Latin-hypercube draws per key path; catalog ranges as PERT(low, mode, high)."""

    def __init__(self, n: int, seed: int):
        self.paths = int(n)
        self.seed = int(seed)
        self.varied: list[str] = []

    def _u(self, key: str) -> np.ndarray:
        rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
        return (rng.permutation(self.paths) + rng.random(self.paths)) / self.paths

    def __call__(self, field: object, key: str | None = None, catalog: Mapping | None = None) -> float | np.ndarray:
        if key is None:
            raise MissingDrawError("LatinValues needs the key path of every field it draws")
        if field is None and catalog is not None and catalog["high"] > catalog["low"]:
            self.varied.append(key + " (catalog range)")
            return PERT(dist="pert", low=catalog["low"], mode=catalog["mode"], high=catalog["high"]).ppf(self._u(key))
        if isinstance(field, _Dist) and field.is_random:
            self.varied.append(key)
            return field.ppf(self._u(key))
        return MeanValues()(field, key, catalog)
