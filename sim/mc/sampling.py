"""Per-path draws of the scenario's uncertain inputs.

Three kinds of uncertain field:

- **per-session** fields (turns, steps, message and output sizes, think and tool time, document
  size, calls per document) describe how sessions differ from each other inside one future; their
  distribution is used whole by the session tables (means and variances), never drawn per path;
- **shape** fields (the other fields of a workload: prompt sizes, tools, retry and cache rates,
  routing, SLO, ...) change what a session costs; they are drawn at K stratified (Latin hypercube)
  points and each path uses one of the K session tables;
- **scale** fields (users and adoption, session rates, price trends, GPU prices, owned-fleet
  inputs, ...) are drawn per path and applied in the kernel or in the cost step.

Scale fields may be rank-correlated (Gaussian copula: Spearman ρ_s becomes the normal
correlation 2·sin(π·ρ_s/6)). Every uniform comes from ``sim.mc.rng`` keyed by (seed, global path
index, a stream named after the field), so adding a path, a strategy or a chunk never moves
another path's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..scenario.model import SHAPE_STREAM, Scenario, classify, correlation_matrix, uncertain_fields
from .rng import path_keys, stream_id, stream_uniforms

@dataclass
class Draws:
    """Values of the uncertain inputs for a block of paths."""

    paths: np.ndarray  # global path indices
    scale: dict[str, np.ndarray]  # key path -> (P,) values
    table_of_path: np.ndarray  # (P,) index into the K session tables
    shape_points: dict[str, np.ndarray]  # key path -> (K,) values of each table
    by_id: dict[int, np.ndarray]  # id(dist object) -> (P,) values, for the cost formulas


def shape_points(sc: Scenario, k: int, mean_mode: bool) -> dict[str, np.ndarray]:
    """Latin-hypercube values of the shape fields at K strata (means when ``mean_mode``)."""
    unc = {p: d for p, d in uncertain_fields(sc).items() if classify(p) == "shape"}
    out: dict[str, np.ndarray] = {}
    for path, d in sorted(unc.items()):
        if mean_mode:
            out[path] = np.array([d.mean()])
            continue
        rng = np.random.default_rng([sc.seed, stream_id(path)])
        u = (rng.permutation(k) + 0.5) / k
        out[path] = d.ppf(u)
    return out


def draw(sc: Scenario, paths: np.ndarray, k_tables: int, mean_mode: bool = False) -> Draws:
    """Draw every scale input for the given global path indices."""
    unc = uncertain_fields(sc)
    scale = {p: d for p, d in unc.items() if classify(p) == "scale"}
    keys = path_keys(sc.seed, paths.astype(np.int64))
    n = paths.size
    values: dict[str, np.ndarray] = {}
    if mean_mode:
        values = {p: np.full(n, d.mean()) for p, d in scale.items()}
        table = np.zeros(n, dtype=np.int64)
    else:
        u = {p: stream_uniforms(keys, stream_id(p), 1)[:, 0] for p in scale}
        names, rho_s = correlation_matrix(sc)
        names = [nm for nm in names if nm in u]
        if names:
            rho_s = rho_s[np.ix_([correlation_matrix(sc)[0].index(x) for x in names],
                                 [correlation_matrix(sc)[0].index(x) for x in names])]
            rho = 2.0 * np.sin(np.pi * rho_s / 6.0)
            w, v = np.linalg.eigh(rho)
            lower = v * np.sqrt(np.clip(w, 0.0, None))  # a square root that tolerates semi-definite
            z = stats.norm.ppf(np.column_stack([u[nm] for nm in names]))
            zc = z @ lower.T
            for j, nm in enumerate(names):
                u[nm] = stats.norm.cdf(zc[:, j])
        values = {p: scale[p].ppf(u[p]) for p in scale}
        t = stream_uniforms(keys, stream_id(SHAPE_STREAM), 1)[:, 0]
        table = np.minimum((t * k_tables).astype(np.int64), k_tables - 1)
    by_id = {id(d): values[p] for p, d in scale.items()}
    return Draws(paths, values, table, shape_points(sc, k_tables, mean_mode), by_id)
