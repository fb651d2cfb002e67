"""GPU hardware catalog: power, capex, rental prices and throughput curves per GPU.

Profiles live in ``calibration/hardware/<id>.yaml`` (one file per GPU; ``id`` = file stem). The
hand-written part of each file holds power, capex and rental ranges; the ``curves:`` part is
generated from ``calibration/hardware/throughput_points.csv`` by
``calibration/hardware/build_profiles.py`` (see its docstring for how frontiers, prefill rates and
derived curves are built). Every number in a profile carries a ``source``; the loader refuses a
file where a number has none.

Units: watts per GPU, USD per GPU, USD per GPU-hour, tokens per second.

Throughput curves
-----------------
A :class:`ThroughputCurve` is a Pareto frontier of (interactivity, throughput) points: output
tokens/s per GPU (prefill GPUs included) that one GPU sustains while every user sees at least
``interactivity`` output tokens/s (= 1 / TPOT). Between points it is read with a monotone cubic
(:class:`scipy.interpolate.PchipInterpolator`) in log-log space, clipped to the two neighbouring
points, so it passes exactly through the points and never rises with interactivity.

* below the smallest interactivity point: flat at the first point's throughput (running slower
  than the slowest benchmarked speed is not assumed to buy more throughput);
* above the largest point: ``0.0`` -- the GPU cannot serve that SLO for this model.

``prefill_tok_s_gpu`` is the input (prompt) token rate per GPU, a conservative lower bound derived
from the data. A pool can charge GPU-seconds = input / prefill + output / throughput_at(SLO).

Power
-----
``power_w(u) = allin_power_w x (idle + (1 - idle) x u)`` per GPU, before PUE, where
``allin_power_w`` is IT power at full load (TDP x server overhead) and ``u`` in [0, 1].

Capex
-----
``capex`` is the server's share per GPU excluding back-end network and storage;
``network_share`` and ``storage_share`` are fractions of total IT capex, so
IT capex per GPU = capex / (1 - network - storage) (see :meth:`GPUProfile.it_capex_per_gpu`).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import PchipInterpolator

from sim.catalog.sourced import SourcedFileError, SourcedReader, is_number

__all__ = [
    "HardwareError",
    "CurveNotFoundError",
    "ThroughputCurve",
    "GPUProfile",
    "DEFAULT_DIR",
    "load_hardware",
    "gpu_ids",
    "normalise_model_class",
]

#: ``<repo>/calibration/hardware`` (``sim/`` sits at the repository root).
DEFAULT_DIR: Path = Path(__file__).resolve().parents[2] / "calibration" / "hardware"
STATS: tuple[str, str, str] = ("low", "mode", "high")
RENTAL_TIERS: tuple[str, str, str] = ("on_demand", "reserved_1y", "reserved_3y")


class HardwareError(SourcedFileError):
    """A hardware profile is missing or malformed; the message names the file and key path."""


class CurveNotFoundError(KeyError):
    """No curve for the requested model class / precision; the message lists what exists."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def normalise_model_class(name: str) -> str:
    """Lowercase-hyphen model class name (``"Llama-3.3-70B"`` -> ``"llama-3.3-70b"``)."""
    return re.sub(r"[\s_/]+", "-", name.strip().lower())


@dataclass(frozen=True, eq=False)
class ThroughputCurve:
    """Output throughput per GPU as a function of per-user interactivity, for one model class.

    ``interactivity`` (tok/s per user) is strictly increasing and ``throughput`` (output tok/s
    per GPU) strictly decreasing: a Pareto frontier. Both arrays are read-only.
    """

    model_class: str
    precision: str
    engine: str
    interactivity: np.ndarray
    throughput: np.ndarray
    prefill_tok_s_gpu: float
    source: str
    offline_max_tok_s_gpu: float | None = None
    derived: bool = False
    _log_interp: PchipInterpolator | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        i = np.array(self.interactivity, dtype=float)
        t = np.array(self.throughput, dtype=float)
        if i.ndim != 1 or t.shape != i.shape or i.size == 0:
            raise ValueError("interactivity and throughput must be 1-D arrays of equal, non-zero length")
        if not (np.all(np.isfinite(i)) and np.all(np.isfinite(t)) and i[0] > 0 and t[-1] > 0):
            raise ValueError("curve points must be finite and positive")
        if np.any(np.diff(i) <= 0) or np.any(np.diff(t) >= 0):
            raise ValueError("curve points must be a Pareto frontier: interactivity strictly "
                             "increasing, throughput strictly decreasing")
        if not self.prefill_tok_s_gpu > 0:
            raise ValueError("prefill_tok_s_gpu must be positive")
        i.setflags(write=False)
        t.setflags(write=False)
        object.__setattr__(self, "interactivity", i)
        object.__setattr__(self, "throughput", t)
        interp = PchipInterpolator(np.log(i), np.log(t), extrapolate=False) if i.size > 1 else None
        object.__setattr__(self, "_log_interp", interp)

    def throughput_at(self, interactivity: float | ArrayLike) -> float | np.ndarray:
        """Output tok/s per GPU while each user gets ``interactivity`` tok/s (vectorised).

        Flat below the first point, monotone PCHIP (log-log) between points, ``0.0`` above the
        last point (SLO not servable). NaN in, NaN out. Returns a float for scalar input.
        """
        x = np.asarray(interactivity, dtype=float)
        i, t = self.interactivity, self.throughput
        out = np.zeros(x.shape)
        out[x <= i[0]] = t[0]
        inside = (x > i[0]) & (x <= i[-1])
        if inside.any():
            xi = x[inside]
            assert self._log_interp is not None  # inside is empty for a one-point curve
            y = np.exp(self._log_interp(np.log(xi)))
            k = np.searchsorted(i, xi, side="left")  # i[k-1] < xi <= i[k]
            y = np.clip(y, t[k], t[k - 1])  # stay between the neighbouring points
            at_knot = xi == i[k]
            y[at_knot] = t[k][at_knot]
            out[inside] = y
        out[np.isnan(x)] = np.nan
        return float(out) if out.ndim == 0 else out

    def max_interactivity(self) -> float:
        """Highest per-user speed (tok/s) this GPU can serve for the model; above it throughput is 0."""
        return float(self.interactivity[-1])


@dataclass(frozen=True, eq=False)
class GPUProfile:
    """One GPU type: power, capex and rental ranges, throughput curves, and their sources.

    ``capex``, ``network_share`` and ``storage_share`` are ``{"low", "mode", "high"}`` dicts (PERT
    bounds); ``rental`` maps tier (``on_demand``, ``reserved_1y``, ``reserved_3y``) to such a dict.
    ``sources`` maps a key path (e.g. ``"rental_usd_per_gpu_hour.on_demand"``,
    ``"curves.llama-3.3-70b/fp8.prefill_tok_s_gpu"``) to its source text.
    """

    id: str
    name: str
    vendor: str
    memory_gb: float
    tdp_w: float
    allin_power_w: float
    idle_power_fraction: float
    capex: dict[str, float]
    network_share: dict[str, float]
    storage_share: dict[str, float]
    rental: dict[str, dict[str, float]]
    curves: tuple[ThroughputCurve, ...]
    release_year: int
    sources: dict[str, str]
    path: Path | None = None

    def model_classes(self) -> list[str]:
        """Model classes with at least one curve, sorted."""
        return sorted({c.model_class for c in self.curves})

    def curve(self, model_class: str, precision: str | None = None) -> ThroughputCurve:
        """The curve for ``model_class`` (any case/spacing) and ``precision``.

        With ``precision=None`` the best precision is returned: the curve with the highest
        throughput at its low-interactivity end (ties: higher max interactivity). Quality effects
        of low precision are not considered; pass ``precision`` to choose.

        Raises:
            CurveNotFoundError: no such curve; the message lists the available ones.
        """
        mc = normalise_model_class(model_class)
        found = [c for c in self.curves if c.model_class == mc]
        if precision is not None:
            found = [c for c in found if c.precision == precision.strip().lower()]
        if not found:
            have = ", ".join(f"{c.model_class}/{c.precision}" for c in self.curves) or "none"
            want = mc if precision is None else f"{mc}/{precision}"
            raise CurveNotFoundError(f"GPU {self.id!r} has no curve {want!r}; available: {have}")
        return max(found, key=lambda c: (c.throughput[0], c.max_interactivity(), c.precision))

    def power_w(self, utilization: float | ArrayLike) -> float | np.ndarray:
        """IT power per GPU (W, before PUE): ``allin x (idle + (1 - idle) x u)``, u in [0, 1]."""
        u = np.asarray(utilization, dtype=float)
        if np.any(np.isnan(u)) or np.any((u < 0) | (u > 1)):
            raise ValueError(f"utilization must be in [0, 1], got {utilization!r}")
        idle = self.idle_power_fraction
        p = self.allin_power_w * (idle + (1.0 - idle) * u)
        return float(p) if p.ndim == 0 else p

    def it_capex_per_gpu(self, stat: str = "mode") -> float:
        """Total IT capex per GPU (USD): ``capex / (1 - network_share - storage_share)`` at ``stat``."""
        if stat not in STATS:
            raise ValueError(f"stat must be one of {STATS}, got {stat!r}")
        return self.capex[stat] / (1.0 - self.network_share[stat] - self.storage_share[stat])


# ----------------------------------------------------------------------------- loading


class _Reader(SourcedReader):
    """Validating accessors that report ``file: key.path: problem`` as :class:`HardwareError`."""

    error = HardwareError

    def value(self, doc: dict[str, Any], key: str, where: str | None = None, **bounds: Any) -> float:
        where = where or key
        m = self.node(doc, key, where, dict)
        self.source(m, where)
        return self.number(m, "value", f"{where}.value", **bounds)

    def prange(self, doc: dict[str, Any], key: str, where: str | None = None,
               hi: float = math.inf) -> dict[str, float]:
        where = where or key
        m = self.node(doc, key, where, dict)
        self.source(m, where)
        r = {s: self.number(m, s, f"{where}.{s}", hi=hi) for s in STATS}
        if not r["low"] <= r["mode"] <= r["high"]:
            raise self.fail(where, f"need low <= mode <= high, got {r}")
        return r


def _read_curve(r: _Reader, c: Any, where: str) -> ThroughputCurve:
    if not isinstance(c, dict):
        raise r.fail(where, "expected a mapping")
    mc = r.node(c, "model_class", f"{where}.model_class", str)
    if mc != normalise_model_class(mc):
        raise r.fail(f"{where}.model_class", f"{mc!r} is not lowercase-hyphen")
    prec = r.node(c, "precision", f"{where}.precision", str).lower()
    label = f"curves.{mc}/{prec}"
    src = r.source(c, label)
    pts = r.node(c, "points", f"{label}.points", list)
    if not pts:
        raise r.fail(f"{label}.points", "empty")
    for n, p in enumerate(pts):
        if not (isinstance(p, list) and len(p) == 2 and all(is_number(x) for x in p)):
            raise r.fail(f"{label}.points[{n}]", f"expected [interactivity, throughput], got {p!r}")
    offline = r.value(c, "offline_max_tok_s_gpu", f"{label}.offline_max_tok_s_gpu") \
        if "offline_max_tok_s_gpu" in c else None
    derived = c.get("derived", False)
    if not isinstance(derived, bool):
        raise r.fail(f"{label}.derived", "expected true/false")
    try:
        return ThroughputCurve(
            model_class=mc, precision=prec,
            engine=r.node(c, "engine", f"{label}.engine", str),
            interactivity=np.array([p[0] for p in pts], dtype=float),
            throughput=np.array([p[1] for p in pts], dtype=float),
            prefill_tok_s_gpu=r.value(c, "prefill_tok_s_gpu", f"{label}.prefill_tok_s_gpu"),
            source=src, offline_max_tok_s_gpu=offline, derived=derived)
    except ValueError as exc:
        if isinstance(exc, HardwareError):
            raise
        raise r.fail(f"{label}.points", str(exc)) from None


def _read_profile(path: Path) -> GPUProfile:
    r = _Reader(path)
    doc = r.read()
    pid = r.node(doc, "id", "id", str)
    if pid != path.stem:
        raise r.fail("id", f"{pid!r} must equal the file name {path.stem!r}")
    rental_doc = r.node(doc, "rental_usd_per_gpu_hour", "rental_usd_per_gpu_hour", dict)
    rental = {t: r.prange(rental_doc, t, f"rental_usd_per_gpu_hour.{t}") for t in RENTAL_TIERS}
    curves_doc = r.node(doc, "curves", "curves", list)
    curves = tuple(_read_curve(r, c, f"curves[{n}]") for n, c in enumerate(curves_doc))
    seen: set[tuple[str, str]] = set()
    for c in curves:
        if (c.model_class, c.precision) in seen:
            raise r.fail(f"curves.{c.model_class}/{c.precision}", "duplicate curve")
        seen.add((c.model_class, c.precision))
    tdp = r.value(doc, "tdp_w")
    allin = r.value(doc, "allin_power_w_per_gpu")
    if allin < tdp:
        raise r.fail("allin_power_w_per_gpu.value", f"{allin} W is below tdp_w {tdp} W")
    year = r.value(doc, "release_year", lo=1990, hi=2100)
    if year != int(year):
        raise r.fail("release_year.value", "must be a whole year")
    profile = GPUProfile(
        id=pid,
        name=r.node(doc, "name", "name", str),
        vendor=r.node(doc, "vendor", "vendor", str),
        memory_gb=r.value(doc, "memory_gb"),
        tdp_w=tdp,
        allin_power_w=allin,
        idle_power_fraction=r.value(doc, "idle_power_fraction", lo=0.0, hi=1.0, lo_open=False),
        capex=r.prange(doc, "capex_per_gpu_usd"),
        network_share=r.prange(doc, "network_share", hi=0.5),
        storage_share=r.prange(doc, "storage_share", hi=0.5),
        rental=rental,
        curves=curves,
        release_year=int(year),
        sources=dict(r.sources),
        path=path,
    )
    r.check_all_sourced(doc)  # after the specific checks, so their messages win
    return profile


@functools.lru_cache(maxsize=8)
def _load_dir(directory: str) -> tuple[GPUProfile, ...]:
    d = Path(directory)
    files = sorted(d.glob("*.yaml"))
    if not files:
        raise HardwareError(d, "<directory>", "no *.yaml hardware profiles found")
    return tuple(_read_profile(f) for f in files)


def load_hardware(directory: Path | str | None = None) -> dict[str, GPUProfile]:
    """All profiles in ``directory`` (default ``<repo>/calibration/hardware``), keyed by id.

    Results are cached per resolved directory (call ``load_hardware.cache_clear()`` after editing
    files in a running process); each call returns a new dict of the same frozen profiles.

    Raises:
        HardwareError: a file is missing, unparsable or invalid (message: file and key path).
    """
    d = Path(directory) if directory is not None else DEFAULT_DIR
    return {p.id: p for p in _load_dir(str(d.resolve()))}


load_hardware.cache_clear = _load_dir.cache_clear  # type: ignore[attr-defined]


def gpu_ids() -> list[str]:
    """Sorted ids of the default catalog's GPU profiles."""
    return sorted(load_hardware())
