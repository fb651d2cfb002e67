"""Yearly cost lines of each pool for one workload's token mix, and the crossovers between them.

For one workload, at its own token mix and SLO (tokens T, API list cost and GPU-seconds per
session: a ``WorkloadMix``), each pool's yearly cost of serving V > 0 tokens a year is

    cost(V) = floor + per_gpu × gpus(V) + var × V
    gpus(V) = max(n_min, step × ceil(V / (step × cap)))      whole replicas (step > 0)
            = max(n_min, V / cap)                             per-second billing (step = 0)

- API: var = list cost per token (price trend applied to the month), nothing else;
- neocloud reserved: per_gpu = reserved price × 8,760 h; cap = tokens per GPU-hour at the SLO ×
  8,760 × usable share (availability × headroom, as the dispatch uses); n_min = step = the
  smallest deployable replica (``sim.catalog.models``);
- neocloud on demand: var = on-demand price / (tokens per GPU-hour × usable share);
- owned: the components of ``owned_components`` split into what is paid once any GPU is owned
  (floor: the staff floor), per GPU-year (depreciation, idle power, colocation, per-GPU staff,
  licence, support) and per token (power above idle); cap with the hardware generation bought in
  that month; n_min = step = the smallest replica.

A crossover of pools (a, b) is the annual volume above which b is cheaper for good: the supremum
of {V : cost_b(V) > cost_a(V)}. Each cost is linear between breakpoints (n_min × cap, and every
whole replica), so the supremum is found exactly segment by segment (``crossover``).

Unit costs ($ per million tokens at a utilisation u of the usable capacity, for a fleet of n
GPUs) come from the same lines: (floor + per_gpu × n + var × V) / V with V = n × cap × u.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .api import api_trends
from .gpu import usable_share
from .neocloud import neocloud_prices
from .owned import OWNED_COMPONENTS, owned_components, owned_inputs

HOURS_YEAR = 8760.0
PAIRS = (("api", "neocloud"), ("api", "owned"), ("neocloud", "owned"))
_MAX_SEGMENTS = 2_000_000  # breakpoints scanned by ``crossover`` before it refuses (a located error)


@dataclass(frozen=True)
class WorkloadMix:
    """What one session of a workload uses: tokens, API list cost per model, GPU-seconds per pool."""

    workload: str
    tokens: float
    api_cost: Mapping[str, float]  # ref -> list cost per session at the price date
    gpu_seconds: Mapping[str, float]  # pool -> GPU-seconds per session at the SLO (catalog speed)
    models: Mapping[str, str | None]  # pool -> model name
    replica_gpus: Mapping[str, int] = field(default_factory=dict)  # pool -> GPUs of the smallest replica


@dataclass(frozen=True)
class PoolLine:
    """Yearly cost of serving V tokens on one pool (see the module docstring)."""

    pool: str
    floor: float = 0.0
    per_gpu: float = 0.0
    var: float = 0.0
    cap: float = math.inf
    n_min: float = 0.0
    step: float = 0.0
    components: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)  # name -> (floor, per_gpu, var)

    @property
    def has_fleet(self) -> bool:
        return math.isfinite(self.cap) and (self.floor > 0 or self.per_gpu > 0)

    def gpus(self, volume) -> np.ndarray:
        v = np.asarray(volume, float)
        if not math.isfinite(self.cap):
            return np.zeros_like(v)
        if self.step > 0:
            unit = self.step * self.cap
            # a relative tolerance so an exact multiple of the replica does not buy one more
            n = self.step * np.ceil(v / unit * (1.0 - 1e-12))
        else:
            n = v / self.cap
        return np.where(v > 0, np.maximum(self.n_min, n), 0.0)

    def cost(self, volume) -> np.ndarray:
        v = np.asarray(volume, float)
        fixed = np.where(v > 0, self.floor, 0.0) + self.per_gpu * self.gpus(v) if self.has_fleet else 0.0
        return fixed + self.var * v

    def per_token_at_scale(self) -> float:
        """Cost per token of a large, fully used fleet (floor spread to nothing)."""
        return self.var + (self.per_gpu / self.cap if math.isfinite(self.cap) else 0.0)

    def breakpoints(self, upto: float) -> np.ndarray:
        """Volumes in (0, upto] where the cost changes slope or jumps."""
        if not self.has_fleet:
            return np.zeros(0)
        pts = [self.n_min * self.cap] if self.n_min > 0 else []
        if self.step > 0:
            unit = self.step * self.cap
            k = int(math.floor(upto / unit))
            if k > _MAX_SEGMENTS:
                raise ValueError(f"{self.pool}: {k:,} replicas below {upto:.3g} tokens/yr: too many to scan")
            return np.unique(np.r_[pts, unit * np.arange(1, k + 1)])
        return np.asarray([p for p in pts if p <= upto], float)

    def per_mtok(self, gpus: float, utilization: float) -> float:
        """$ per million tokens for a fleet of ``gpus`` used at ``utilization`` of its usable capacity."""
        v = gpus * self.cap * utilization
        if not v > 0:
            return math.nan
        return float((self.floor + self.per_gpu * gpus + self.var * v) / v * 1e6)


def crossover(a: PoolLine, b: PoolLine) -> float | None:
    """Annual tokens above which ``b`` is cheaper than ``a`` for good (None: never; 0: always)."""
    s_end = b.per_token_at_scale() - a.per_token_at_scale()
    if s_end > 0:
        # b costs more per token at scale: the gap grows like s_end·V (floors and one replica of
        # rounding are bounded), so b is dearer at every large enough volume — never for good
        return None

    def seg_f(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f = cost_b − cost_a at the open left end and at the right end of each segment."""
        mid = 0.5 * (lo + hi)
        out = []
        for v in (lo, hi):
            f = np.zeros_like(v)
            for sign, ln in ((1.0, b), (-1.0, a)):
                if ln.has_fleet:
                    if ln.step > 0:
                        g = ln.gpus(mid)  # constant on the segment
                    else:
                        g = np.maximum(ln.n_min, v / ln.cap)
                    f += sign * (ln.floor + ln.per_gpu * g)
                f += sign * ln.var * v
            out.append(f)
        return out[0], out[1]

    # beyond `bound` f <= 0 for good: f <= (floor_b − floor_a) + step_b·per_gpu_b + s_end·V once
    # both fleets are past their minimum (whole replicas cost at most one replica above continuous)
    knees = [ln.n_min * ln.cap for ln in (a, b) if ln.has_fleet]
    base = max(knees, default=0.0)
    amp = (b.floor if b.has_fleet else 0.0) - (a.floor if a.has_fleet else 0.0) \
        + (b.step * b.per_gpu if b.has_fleet and b.step > 0 else 0.0)
    unit = max([ln.step * ln.cap for ln in (a, b) if ln.has_fleet and ln.step > 0], default=0.0)
    if s_end < 0:
        bound = max(base, amp / -s_end if amp > 0 else 0.0) * (1.0 + 1e-9) + 1.0
    else:  # equal per-token cost at scale: the gap is periodic past both knees; scan two periods
        bound = max(base, 1.0) * 4.0 + 2.0 * unit
    if unit > 0 and bound / unit > _MAX_SEGMENTS:
        # a near tie puts the crossover past millions of replicas; ``bound`` is a valid upper
        # bound of it (b is cheaper at every volume above), far beyond any real workload
        return float(bound)
    pts = np.unique(np.r_[0.0, a.breakpoints(bound), b.breakpoints(bound), bound])
    lo, hi = pts[:-1], pts[1:]
    f_lo, f_hi = seg_f(lo, hi)
    if s_end >= 0 and (f_lo[-1] > 0 or f_hi[-1] > 0):
        return None  # b costs at least as much per token at scale and is dearer at the far end
    pos = np.flatnonzero((f_lo > 0) | (f_hi > 0))
    if pos.size == 0:
        return 0.0
    i = int(pos[-1])
    if f_hi[i] > 0:
        return float(hi[i])  # a's next replica is what makes b cheaper
    return float(lo[i] + f_lo[i] * (hi[i] - lo[i]) / (f_lo[i] - f_hi[i]))


def crossovers(lines: Mapping[str, PoolLine]) -> dict[str, float | None]:
    return {f"{a}_vs_{b}": crossover(lines[a], lines[b]) for a, b in PAIRS if a in lines and b in lines}


@dataclass(frozen=True)
class LineParams:
    """A pool's cost-line parameters for every draw of a valuation: floats, or arrays (n,)."""

    floor: np.ndarray | float
    per_gpu: np.ndarray | float
    var: np.ndarray | float
    cap: np.ndarray | float
    n_min: float
    step: float
    components: Mapping[str, tuple] = field(default_factory=dict)


def pool_lines(sc, hw, mix: WorkloadMix, month: int, value) -> dict[str, LineParams]:
    """Cost-line parameters of each pool for ``mix`` at horizon month ``month``.

    Each number is a float or, for per-draw valuations, an array; ``line_of`` picks one draw as
    a ``PoolLine``.
    """
    t = np.asarray(float(month + sc.trend_offset))
    out: dict[str, LineParams] = {}
    if mix.api_cost and mix.tokens > 0:
        frontier = set(sc.pools.api.frontier_models)
        tr = api_trends(sc, value, t)
        a = sum(c * np.asarray(tr[r in frontier]).reshape(-1) for r, c in mix.api_cost.items()) / mix.tokens
        out["api"] = LineParams(0.0, 0.0, _flat(a), math.inf, 0.0, 0.0)
    if "neocloud" in mix.gpu_seconds:
        gpu = hw[sc.pools.neocloud.gpu]
        tok_h = mix.tokens / mix.gpu_seconds["neocloud"] * 3600.0
        usable = usable_share(sc, "neocloud", value)
        pr = neocloud_prices(sc, gpu, value, t)
        r = float(mix.replica_gpus.get("neocloud", 1))
        out["neocloud"] = LineParams(0.0, _flat(pr.reserved) * HOURS_YEAR, 0.0, tok_h * HOURS_YEAR * usable, r, r)
        out["neocloud_on_demand"] = LineParams(0.0, 0.0, _flat(pr.on_demand) / (tok_h * usable), math.inf, 0.0, 0.0)
    if "owned" in mix.gpu_seconds:
        o = sc.pools.owned
        gpu = hw[o.gpu]
        ci = owned_inputs(sc, gpu, value)
        g = value(o.generation_improvement_per_year, "pools.owned.generation_improvement_per_year")
        tok_h = mix.tokens / mix.gpu_seconds["owned"] * 3600.0 * (1.0 + np.asarray(g, float)) ** (t / 12.0)
        usable = usable_share(sc, "owned", value)
        h = HOURS_YEAR / 12.0
        # each component is affine in (GPUs, utilisation) given GPUs > 0: read it at three points
        c1 = {c.name: _flat(c.cost) for c in owned_components(1.0, 0.0, h, ci)}
        c2 = {c.name: _flat(c.cost) for c in owned_components(2.0, 0.0, h, ci)}
        c1u = {c.name: _flat(c.cost) for c in owned_components(1.0, 1.0, h, ci)}
        comps = {}
        for k in OWNED_COMPONENTS:
            per_gpu = 12.0 * (c2[k] - c1[k])
            comps[k] = (12.0 * c1[k] - per_gpu, per_gpu, 12.0 * (c1u[k] - c1[k]) / (tok_h * HOURS_YEAR))
        r = float(mix.replica_gpus.get("owned", 1))
        out["owned"] = LineParams(sum(c[0] for c in comps.values()), sum(c[1] for c in comps.values()),
                                  sum(c[2] for c in comps.values()), tok_h * HOURS_YEAR * usable, r, r, comps)
    return out


def _flat(x) -> np.ndarray | float:
    a = np.asarray(x, float).reshape(-1)
    return float(a[0]) if a.size == 1 else a


def line_of(pool: str, p: LineParams, i: int | None = None) -> PoolLine:
    """The ``PoolLine`` of draw ``i`` (or of a scalar valuation) from ``pool_lines``' parameters."""
    def s(x) -> float:
        x = np.asarray(x, float)
        return float(x) if x.ndim == 0 else float(x[0] if i is None else x[i])

    return PoolLine(pool, s(p.floor), s(p.per_gpu), s(p.var), s(p.cap), float(p.n_min), float(p.step),
                    {k: tuple(s(y) for y in c) for k, c in p.components.items()})


def lines_at(sc, hw, mix: WorkloadMix, month: int, value) -> dict[str, PoolLine]:
    return {k: line_of(k, v) for k, v in pool_lines(sc, hw, mix, month, value).items()}


def component_split_per_mtok(line: PoolLine, gpus: float, utilization: float = 1.0) -> dict[str, float]:
    """Owned cost per million tokens by component for a fleet of ``gpus`` at ``utilization``."""
    v = gpus * line.cap * utilization
    return {k: (floor + per_gpu * gpus + var * v) / v * 1e6 if v > 0 else math.nan
            for k, (floor, per_gpu, var) in line.components.items()}


@dataclass(frozen=True)
class Fleet:
    """The fleet a unit cost is quoted for, and why that one."""

    gpus: float
    basis: str  # "scenario": the scenario's own fleet; "strategy:<name>"; "replica": none, smallest replica


def basis_text(basis: str | None) -> str:
    """Where a unit cost's fleet comes from (``Fleet.basis``), in words."""
    if basis == "scenario":
        return "the scenario's own fleet"
    if basis and basis.startswith("strategy:"):
        return f"the fleet strategy {basis.split(':', 1)[1]!r} buys"
    return "one smallest deployable replica: the scenario has no such fleet"


def peak_gpus(sc, pool: str, value, on_demand: bool = True) -> float:
    """The most GPUs ``pool`` has in service in any month of the horizon (mean over draws).

    Owned: GPUs in service (lead time and life applied). Neocloud: reserved GPUs of the pool and
    of contracts, plus the on-demand cap when ``on_demand`` (both serve at once).
    """
    from .neocloud import on_demand_cap, reserved_schedule
    from .owned import owned_fleet

    M = sc.horizon.months
    if pool == "owned":
        return owned_fleet(sc, value, M, sc.trend_offset).peak
    g = np.asarray(reserved_schedule(sc, value, M).gpus, float)
    n = float(g.max(-1).mean()) if g.size else 0.0
    return n + (float(np.mean(on_demand_cap(sc, value))) if on_demand else 0.0)


def fleet_for(sc, pool: str, line: PoolLine, value) -> Fleet:
    """The fleet the scenario has on ``pool``, rounded up to whole replicas.

    Owned: the largest fleet in service in any month; else the GPUs the first owned-GPU strategy
    buys; else one smallest replica. Neocloud: the largest reservation (pool and contracts); else
    one replica. The basis says which, so a table can state when no fleet exists.
    """
    step = max(line.step, 1.0)

    def whole(n: float) -> float:
        return float(max(line.n_min, step * math.ceil(n / step - 1e-9)))

    n = peak_gpus(sc, pool, value, on_demand=False)  # a unit cost is quoted for the committed fleet
    if n > 0:
        return Fleet(whole(n), "scenario")
    if pool == "owned":
        from ..scenario.model import set_path

        for s in sc.all_strategies():
            if s.set.get("pools.owned.purchases"):
                s_sc = set_path(sc, "pools.owned.purchases", s.set["pools.owned.purchases"])
                tot = sum(float(np.mean(value(p.gpus, f"pools.owned.purchases.{i}.gpus")))
                          for i, p in enumerate(s_sc.pools.owned.purchases))
                if tot > 0:
                    return Fleet(whole(tot), f"strategy:{s.name}")
    return Fleet(float(max(line.n_min, 1.0)), "replica")
