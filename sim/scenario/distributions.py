"""Distribution specs: how a scenario says "this number is uncertain".

Every numeric scenario field accepts either a plain number (fixed) or a mapping with a
``dist`` key. Each spec knows its mean (used by the expected-value engine), its support
(used to reject impossible values before anything runs), its inverse CDF (used by the
Gaussian copula and Latin hypercube sampling) and E[min(X, cap)] (output caps).

Percent-point functions take uniforms in (0, 1), so correlated draws are produced by feeding
copula uniforms to ``ppf``; independent draws feed ``rng.random``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictStr,
    ValidationInfo,
    model_validator,
)
from scipy import stats

_Z90 = stats.norm.ppf(0.9)


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def mean(self) -> float:
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        raise NotImplementedError

    def ppf(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Independent draws (inverse-CDF, so results depend only on the generator)."""
        return self.ppf(rng.random(size))

    def quantile(self, q: float) -> float:
        return float(self.ppf(np.array([q]))[0])

    def mean_capped(self, cap: float) -> float:
        """E[min(X, cap)], by quadrature on the quantile function (exact enough for money)."""
        # Gauss-Legendre on u in (0,1): E[min(X,c)] = ∫ min(F^-1(u), c) du
        x, w = np.polynomial.legendre.leggauss(400)
        u = 0.5 * (x + 1.0)
        return float(0.5 * np.sum(w * np.minimum(self.ppf(u), cap)))

    @property
    def is_random(self) -> bool:
        return True

    @model_validator(mode="after")
    def _finite_parameters(self) -> "_Dist":
        # an infinite bound or a NaN weight makes every mean and draw non-finite: refuse it here,
        # where the loader can still say which key it was
        for name in type(self).model_fields:
            v = getattr(self, name)
            for x in (v if isinstance(v, (list, tuple)) else [v]):
                if isinstance(x, float) and not math.isfinite(x):
                    raise ValueError(f"{name} must be a finite number, got {x}")
        return self


class Fixed(_Dist):
    """A known number (the same as writing the number itself)."""

    dist: Literal["fixed"] = "fixed"
    value: float

    def mean(self) -> float:
        return self.value

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value, dtype=float)

    def mean_capped(self, cap: float) -> float:
        return min(self.value, cap)

    @property
    def is_random(self) -> bool:
        return False


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> "Uniform":
        if not self.low <= self.high:
            raise ValueError(f"uniform needs low <= high (got low={self.low}, high={self.high})")
        return self

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)


class Triangular(_Dist):
    """Triangular with ``low`` <= ``mode`` <= ``high``."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> "Triangular":
        if not (self.low <= self.mode <= self.high):
            raise ValueError(
                f"triangular needs low <= mode <= high (got {self.low}, {self.mode}, {self.high})")
        return self

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        a, c, b = self.low, self.mode, self.high
        if b == a:
            return np.full(u.shape, a)
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
        return np.where(u < fc, left, right)


class PERT(_Dist):
    """Beta-PERT with ``low`` <= ``mode`` <= ``high`` and shape ``lamb`` (4 = classic PERT)."""

    dist: Literal["pert"]
    low: float
    mode: float
    high: float
    lamb: float = Field(4.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> "PERT":
        if self.low > self.mode:
            raise ValueError(f"PERT low ({self.low}) is greater than mode ({self.mode})")
        if self.mode > self.high:
            raise ValueError(f"PERT mode ({self.mode}) is greater than high ({self.high})")
        return self

    def _ab(self) -> tuple[float, float]:
        r = self.high - self.low
        a = 1.0 + self.lamb * (self.mode - self.low) / r
        b = 1.0 + self.lamb * (self.high - self.mode) / r
        return a, b

    def mean(self) -> float:
        return (self.low + self.lamb * self.mode + self.high) / (self.lamb + 2.0)

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if self.high == self.low:
            return np.full(u.shape, self.low)
        a, b = self._ab()
        return self.low + (self.high - self.low) * stats.beta.ppf(u, a, b)


class Normal(_Dist):
    """Normal with ``mean`` and standard deviation ``sd``; optional truncation bounds."""

    dist: Literal["normal"]
    mean_: float = Field(alias="mean")
    sd: float = Field(ge=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    def mean(self) -> float:  # type: ignore[override]
        return self.mean_

    def support(self) -> tuple[float, float]:
        if self.sd == 0:
            return (self.mean_, self.mean_)
        return (-math.inf, math.inf)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.mean_ + self.sd * stats.norm.ppf(np.asarray(u, dtype=float))


class LogNormal(_Dist):
    """Lognormal given by its ``median`` and 90th percentile ``p90`` (p90 >= median > 0)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    p90: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> "LogNormal":
        if self.p90 < self.median:
            raise ValueError(f"lognormal p90 ({self.p90}) is below its median ({self.median})")
        return self

    @property
    def sigma(self) -> float:
        return math.log(self.p90 / self.median) / _Z90

    @property
    def mu(self) -> float:
        return math.log(self.median)

    def mean(self) -> float:
        return math.exp(self.mu + 0.5 * self.sigma**2)

    def support(self) -> tuple[float, float]:
        # strictly positive: the smallest positive float stands for the open bound at 0
        return (math.ulp(0.0), math.inf) if self.sigma > 0 else (self.median, self.median)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.exp(self.mu + self.sigma * stats.norm.ppf(np.asarray(u, dtype=float)))

    def mean_capped(self, cap: float) -> float:
        # Closed form: E[min(X,c)] = E[X] Φ((ln c − μ − σ²)/σ) + c (1 − Φ((ln c − μ)/σ))
        if cap <= 0:
            return 0.0
        mu, s = self.mu, self.sigma
        if s == 0:
            return min(self.median, cap)
        lc = math.log(cap)
        return (self.mean() * stats.norm.cdf((lc - mu - s * s) / s)
                + cap * (1.0 - stats.norm.cdf((lc - mu) / s)))


class Beta(_Dist):
    """Beta(``alpha``, ``beta``) scaled to [``low``, ``high``] (default [0, 1])."""

    dist: Literal["beta"]
    alpha: float = Field(gt=0)
    beta: float = Field(gt=0)
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _order(self) -> "Beta":
        if not self.low < self.high:
            raise ValueError(f"beta needs low < high (got {self.low}, {self.high})")
        return self

    def mean(self) -> float:
        return self.low + (self.high - self.low) * self.alpha / (self.alpha + self.beta)

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * stats.beta.ppf(
            np.asarray(u, dtype=float), self.alpha, self.beta)


class Discrete(_Dist):
    """One of ``values`` with probabilities ``weights`` (normalised; equal if omitted)."""

    dist: Literal["discrete"]
    values: list[float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> "Discrete":
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"discrete has {len(self.values)} values but {len(self.weights)} weights")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("discrete weights must be >= 0 and sum to more than 0")
        return self

    def _p(self) -> np.ndarray:
        w = np.ones(len(self.values)) if self.weights is None else np.asarray(self.weights, float)
        return w / w.sum()

    def mean(self) -> float:
        return float(np.dot(self._p(), self.values))

    def support(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        order = np.argsort(self.values, kind="stable")
        v = np.asarray(self.values, float)[order]
        cdf = np.cumsum(self._p()[order])
        idx = np.searchsorted(cdf, np.asarray(u, dtype=float), side="right")
        return v[np.minimum(idx, len(v) - 1)]


class Empirical(_Dist):
    """Resample a column of a CSV file (path relative to the scenario file)."""

    dist: Literal["empirical"]
    file: StrictStr  # a path as text: YAML !!binary (bytes) would be coerced past the loader's file checks
    column: StrictStr
    _values: np.ndarray = PrivateAttr(default_factory=lambda: np.zeros(0))

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> "Empirical":
        # the loader passes the scenario's folder; the column is read here so that range checks
        # of the field see the real values (a missing file is reported by the loader first)
        base = (info.context or {}).get("base_dir") if info is not None else None
        if base is not None and self.values.size == 0:
            self.bind(load_empirical_column(Path(base) / self.file, self.column))
        return self

    def bind(self, values: np.ndarray) -> None:
        # frozen model: private state is set through pydantic's private-attribute dict
        self.__pydantic_private__["_values"] = np.sort(np.asarray(values, dtype=float))

    @property
    def values(self) -> np.ndarray:
        return self.__pydantic_private__["_values"]

    def __eq__(self, other: object) -> bool:
        # the loaded values are an array: compare them element-wise, not by truth value
        if not isinstance(other, Empirical):
            return NotImplemented
        return (self.file, self.column) == (other.file, other.column) and np.array_equal(self.values, other.values)

    __hash__ = None  # type: ignore[assignment]

    def mean(self) -> float:
        return float(self.values.mean())

    def support(self) -> tuple[float, float]:
        if self.values.size == 0:
            raise ValueError(f"empirical distribution: no values loaded from {self.file} column {self.column!r}")
        return (float(self.values[0]), float(self.values[-1]))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        # Inverse of the empirical CDF (a step function): each value has mass 1/n.
        v = self.values
        idx = np.floor(np.asarray(u, dtype=float) * len(v)).astype(np.int64)
        return v[np.clip(idx, 0, len(v) - 1)]


Distribution = Annotated[
    Union[Fixed, Uniform, Triangular, PERT, Normal, LogNormal, Beta, Discrete, Empirical],
    Field(discriminator="dist"),
]
DIST_KINDS = ("fixed", "uniform", "triangular", "pert", "normal", "lognormal", "beta",
              "discrete", "empirical")


def mean_of(x: "float | _Dist") -> float:
    """The mean of a number or a distribution spec."""
    return float(x) if isinstance(x, (int, float)) else x.mean()


def as_dist(x: "float | _Dist") -> _Dist:
    """A number as a Fixed spec; a spec unchanged."""
    return Fixed(value=float(x)) if isinstance(x, (int, float)) else x


COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")


def load_empirical_column(path: Path, column: str | None) -> np.ndarray:
    """Read one numeric column of a CSV file; raise ValueError with a readable message.

    The file is read through ``sim.io.files.read_regular`` (a regular file of at most
    MAX_EMPIRICAL_BYTES) and parsed from those bytes uncompressed: a compressed sample could
    unpack to far more than its size (a 214 KB .gz held 220 MB), so it is refused. ``column`` None
    checks the file only.
    """
    import io

    import pandas as pd

    from ..io.files import UnreadableInput, read_regular
    from ..limits import MAX_EMPIRICAL_BYTES

    if Path(path).suffix.lower() in COMPRESSED:
        raise UnreadableInput(f"is compressed ({Path(path).suffix}); give the CSV file itself")
    raw = read_regular(Path(path), MAX_EMPIRICAL_BYTES, "CSV file")
    if column is None:
        return np.zeros(0)
    frame = pd.read_csv(io.BytesIO(raw), compression=None)
    name = Path(path).name
    if column not in frame.columns:
        raise ValueError(f"column {column!r} not in {name} (columns: {', '.join(map(str, frame.columns))[:300]})")
    values = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy(float)
    if values.size == 0:
        raise ValueError(f"column {column!r} of {name} has no numeric values")
    if not np.isfinite(values).all():
        raise ValueError(f"column {column!r} of {name} holds {int((~np.isfinite(values)).sum()):,} values that "
                         "are not finite (inf or -inf); remove them")
    return values


def support_of(x: Any) -> tuple[float, float]:
    if isinstance(x, (int, float)):
        return (float(x), float(x))
    return x.support()
