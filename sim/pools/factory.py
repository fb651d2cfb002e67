"""The AI-factory view of a GPU pool: what a fleet turns power and money into, month by month.

For one GPU pool (owned or neocloud) in one month, with

- ``T``: tokens served: input, cached input and output (reasoning included), the count every
  tokensim table calls tokens;
- ``H``: GPU-hours paid: owned, GPUs in service × hours; neocloud, reserved and ``reserved_gpus``
  contract GPUs × hours + on-demand GPU-hours billed (spin-up included);
- ``h``: hours in the month;
- ``u``: utilisation of the paid GPU-hours (work at catalog speed / ``H``, in [0, 1]);
- ``E``: facility energy, kWh, PUE included (see *Energy*);
- ``C``: the pool's cost of the month, currency (owned: every component of ``sim.pools.owned``,
  the accrual view; neocloud: reservations, contracts and on-demand hours);
- ``P_gpu``: system power per GPU at full load, W (the catalog's ``allin_power_w``: TDP × server
  overhead, before PUE); ``PUE`` the facility's power usage effectiveness;

the figures are (units in brackets)::

    facility_mw         = H / h × P_gpu × PUE / 1e6       [MW]  facility power capacity of the fleet:
                                                                average GPUs paid × full-load power × PUE
    tokens_per_mwh      = T / (E / 1000)                  [tokens/MWh]
    energy_kwh_per_mtok = E / (T / 1e6)                   [kWh per million tokens]
    tokens_per_mw       = T / facility_mw                 [tokens per MW of facility power, in the month]
    idle_share          = 1 − u                           [share of paid GPU-hours]
    cost_per_mtok       = C / T × 1e6                     [currency per million tokens, idle time included]
    cost_per_mtok_tier  = (C / H) / R_t × 1e6             [currency per million tokens at tier t]

Goodput tiers
-------------
A tier is an interactivity band, tokens/s each user sees (= 1 / TPOT): ``GOODPUT_TIERS``.
``R_t`` is the tokens one paid GPU-hour serves at tier ``t``: the catalog curve of the pool's GPU
and the served model (``sim.pools.gpu.served_curve``, the curve the engines read) at interactivity
``t`` (``ThroughputCurve.throughput_at``: flat below its first point, 0 above its last), output
tok/s per GPU, × (1 + ``BENCH_INPUT_PER_OUTPUT``) × 3600. The curves were measured at ISL/OSL ~1k/1k
and reading them already pays for one prompt token per output token (``sim.pools.gpu``), so ``R_t``
counts both, in the tokens ``T`` counts; per million *output* tokens (the unit of published
InferenceX / SemiAnalysis figures) multiply the tier cost by 1 + ``BENCH_INPUT_PER_OUTPUT`` = 2.
A pool serving several workloads serves their mix: ``R_t = 1 / Σ_j s_j / R_t,j`` with ``s_j`` workload
``j``'s share of the month's tokens (GPU-time adds up, so rates combine harmonically; a month without
tokens weighs the pool's workloads equally). Owned GPUs bought later are faster
(``sim.pools.owned.owned_fleet``): ``R_t`` × effective / in-service GPUs. Tier costs are at 100 % use
of the paid GPU-hours and at the benchmark's prompt shape: they compare GPUs, pools and tiers; what
the pool's tokens actually cost, at their own shape and the utilisation reached, is
``cost_per_mtok``.

Energy
------
- owned: the pool's metered energy (``sim.pools.owned``: GPUs × P_gpu × (idle + (1 − idle) × u) ×
  PUE × hours, the scenario's ``pools.owned.pue``), passed in by the engine;
- neocloud: a provider bills GPU-hours, not energy, so there is no meter. It is **estimated** from the
  same power curve: ``E = H × GPUProfile.power_w(u) / 1000 × NEOCLOUD_PUE`` (``energy_estimated``).

No figure
---------
Every figure is finite. Where ``H`` = 0 (no GPU paid that month: ``facility_mw`` = 0, the mask) every
figure is 0; where ``T`` = 0, ``energy_kwh_per_mtok`` and ``cost_per_mtok`` are 0 (``tokens_per_mwh``
and ``tokens_per_mw`` are a true 0); where a tier lies beyond the curve of a model the pool serves
(that model cannot be served that fast), ``cost_per_mtok_tier`` is 0. A real energy or cost figure is
never 0 (positive energy, tokens and cost), so 0 there always reads "no figure".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .gpu import BENCH_INPUT_PER_OUTPUT, served_curve

# Interactivity bands, tokens/s per user (1 / TPOT), each read off the catalog curves:
# - 10: background and reading-pace use; near MLPerf's Server limits (p99 TPOT 200 ms = 5 tok/s for
#   Llama-2-70B, 80 ms = 12.5 tok/s for DeepSeek-R1: research/inference-anchors.md §1, mlcommons
#   loadgen mlperf.conf). Below the first point of nearly every catalog curve (their first points sit
#   at 5-90 tok/s), so it reads the curve's flat, highest-throughput end.
# - 25: interactive chat; MLPerf Interactive Llama-2-70B (p99 TPOT 40 ms = 25 tok/s, same table); the
#   schema's default SLO (20) and the default scenario's chat and agent SLOs (25-40) sit here.
# - 50: fast chat; the InferenceX "≥50 tok/s/user" column (research/inference-anchors.md §3.3).
# - 100: agent and reasoning loops where a user waits on long outputs; InferenceX "≥100"; the end of
#   the H100 and MI300X Llama-70B curves (106.9 and 159.8 tok/s), beyond several others (0 = cannot).
GOODPUT_TIERS: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0)

# PUE of a neocloud's facility, for its energy estimate (grade D):
# research/infra-economics.md §1 row pue (low 1.10 / mode 1.30 / high 1.58: Uptime's 2023 average
# 1.58, new large sites ≤ 1.3, Google ~1.10; S39) and §2.3 (liquid-cooled AI builds target 1.1-1.2).
# The mode, also the owned pool's default (sim/scenario/supply.py OwnedPool.pue): neoclouds build
# new, large AI sites, so it is if anything high.
NEOCLOUD_PUE = 1.3

GPU_POOLS = ("neocloud", "owned")
VARIABLES = ("tokens_per_mwh", "energy_kwh_per_mtok", "tokens_per_mw", "idle_share", "facility_mw",
             "facility_energy_kwh")  # by (..., pool); cost_per_mtok_tier by (..., pool, goodput_tier)


def tier_label(band: float) -> str:
    """The ``goodput_tier`` coordinate of a band: 10.0 -> ``"10 tok/s"``."""
    return f"{band:g} tok/s"


def tier_column(label: str) -> str:
    """Table column of a tier's cost per million tokens: ``"10 tok/s"`` -> ``"cost_per_mtok_10_tok_s"``."""
    return "cost_per_mtok_" + label.replace(" tok/s", "_tok_s").replace(" ", "_")


def tier_tokens_per_gpu_hour(curve, bands: Sequence[float] = GOODPUT_TIERS) -> np.ndarray:
    """Tokens (prompt and output at the benchmark's shape) one GPU-hour serves at each band, (T,).

    ``curve.throughput_at(band) × (1 + BENCH_INPUT_PER_OUTPUT) × 3600``; 0 where the band is beyond
    the curve.
    """
    out = np.asarray(curve.throughput_at(np.asarray(bands, float)), float)
    return out * (1.0 + BENCH_INPUT_PER_OUTPUT) * 3600.0


@dataclass(frozen=True)
class FactoryPool:
    """What the factory figures of one GPU pool take from scenario and catalog.

    ``tier_rates`` (W, T): tokens per GPU-hour at each tier of each token workload served on the pool
    (``sc.token_workloads`` order), 0 for a workload the pool does not serve (``on_pool`` False).
    ``pue`` is a float, or a (P, 1) column for per-path draws.
    """

    pool: str
    gpu: object  # sim.catalog.hardware.GPUProfile
    pue: float | np.ndarray
    metered: bool  # owned: the engine's metered energy; neocloud: estimated here
    on_pool: np.ndarray
    tier_rates: np.ndarray
    bands: tuple[float, ...] = GOODPUT_TIERS

    @property
    def labels(self) -> list[str]:
        return [tier_label(b) for b in self.bands]


def factory_pool(sc, pool: str, hw, value, bands: Sequence[float] = GOODPUT_TIERS) -> FactoryPool:
    """The ``FactoryPool`` of ``pool`` ("owned" or "neocloud") in scenario ``sc``.

    ``hw``: the hardware catalog; ``value``: a valuation (``sim.pools.valuation``) for the owned PUE.
    """
    from .valuation import column

    p = getattr(sc.pools, pool)
    wls = sc.token_workloads
    on = np.array([bool(p.enabled and pool in w.allowed_pools and getattr(w.models, pool)) for w in wls], dtype=bool)
    rates = np.zeros((len(wls), len(bands)))
    for j, w in enumerate(wls):
        if on[j]:
            rates[j] = tier_tokens_per_gpu_hour(served_curve(sc, w, pool, hw), bands)
    metered = pool == "owned"
    pue = column(value(p.pue, "pools.owned.pue")) if metered else NEOCLOUD_PUE
    return FactoryPool(pool, hw[p.gpu], pue, metered, on, rates, tuple(float(b) for b in bands))


def mix_tokens_per_gpu_hour(fp: FactoryPool, tokens_by_workload: np.ndarray) -> np.ndarray:
    """Tokens per GPU-hour at each tier for the month's mix of workloads, (..., T) from (..., W).

    ``1 / Σ_j s_j / R_t,j`` over the pool's workloads, ``s_j`` their token shares (equal shares in a
    month without tokens); 0 where a workload with a share cannot be served at the tier, or the pool
    serves no workload.
    """
    tw = np.asarray(tokens_by_workload, float)
    idx = np.flatnonzero(fp.on_pool)
    lead, n_t = tw.shape[:-1], fp.tier_rates.shape[1]
    if idx.size == 0:
        return np.zeros(lead + (n_t,))
    r = fp.tier_rates[idx]  # (k, T), the pool's workloads
    if (r == r[0]).all():  # one model (or the same curve for all): the mix is that curve
        return np.broadcast_to(r[0], lead + (n_t,)).copy()
    tok = tw[..., idx]
    tot = tok.sum(-1, keepdims=True)
    share = np.where(tot > 0, tok / np.where(tot > 0, tot, 1.0), 1.0 / idx.size)  # (..., k)
    inv = share @ np.where(r > 0, 1.0 / np.where(r > 0, r, 1.0), 0.0)  # (..., T): Σ_j s_j / R_t,j
    cannot = ((share > 0).astype(float) @ (r <= 0).astype(float)) > 0  # a served workload cannot reach t
    with np.errstate(divide="ignore"):
        return np.where(cannot | (inv <= 0), 0.0, 1.0 / np.where(inv > 0, inv, 1.0))


def estimated_energy_kwh(fp: FactoryPool, paid_gpu_hours, utilization) -> np.ndarray:
    """Facility energy (kWh) of paid GPU-hours at a utilisation, from the catalog's power curve:
    ``H × GPUProfile.power_w(u) / 1000 × PUE`` (the owned pool's formula, for a pool with no meter)."""
    u = np.clip(np.nan_to_num(np.asarray(utilization, float)), 0.0, 1.0)
    return np.asarray(paid_gpu_hours, float) * np.asarray(fp.gpu.power_w(u), float) / 1000.0 * fp.pue


@dataclass(frozen=True)
class FactoryFigures:
    """The factory figures of one pool (module docstring), arrays of the inputs' shape (...), the
    tiers (..., T). Every value finite; 0 = no figure (module docstring, *No figure*)."""

    facility_energy_kwh: np.ndarray
    facility_mw: np.ndarray
    tokens: np.ndarray
    tokens_per_mwh: np.ndarray
    energy_kwh_per_mtok: np.ndarray
    tokens_per_mw: np.ndarray
    idle_share: np.ndarray
    cost_per_mtok: np.ndarray
    tier_tokens_per_gpu_hour: np.ndarray
    cost_per_mtok_tier: np.ndarray
    energy_estimated: bool


def _ratio(num, den, scale: float = 1.0) -> np.ndarray:
    """num × scale / den where den > 0, else 0."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num * scale if scale != 1.0 else num, den, out=out, where=den > 0)
    return out


def factory_figures(fp: FactoryPool, tokens_by_workload, paid_gpu_hours, hours, utilization, cost,
                    energy_kwh=None, generation=1.0) -> FactoryFigures:
    """The figures of one pool from a month's (or months') quantities, any common shape (...).

    ``tokens_by_workload`` (..., W) tokens served by token workload; ``paid_gpu_hours``, ``hours``,
    ``utilization`` (of the paid GPU-hours), ``cost`` (...); ``energy_kwh`` the metered facility
    energy (owned; None: estimated, ``estimated_energy_kwh``); ``generation`` the owned fleet's
    effective / in-service GPUs (tier throughput of later generations), 1 for rented GPUs.
    """
    tw = np.asarray(tokens_by_workload, float)
    T, H, cost = tw.sum(-1), np.asarray(paid_gpu_hours, float), np.asarray(cost, float)
    shape = np.broadcast_shapes(T.shape, H.shape, cost.shape)
    n_t = len(fp.bands)
    b = lambda x: x if np.shape(x) == shape else np.broadcast_to(x, shape).astype(float)  # noqa: E731
    paid = H > 0
    if not paid.any():  # no GPU paid in any month: every figure 0 (no figure)
        z = np.zeros(shape)
        return FactoryFigures(z, z, b(T), z, z, z, z, z, np.zeros(shape + (n_t,)), np.zeros(shape + (n_t,)),
                              not fp.metered)
    u = np.clip(np.asarray(utilization, float), 0.0, 1.0)
    # where nothing is paid: H = 0, so the estimate, mw, cost per GPU-hour and tiers are 0, and so are
    # the owned fleet's metered energy and tokens (no GPU in service serves nothing)
    E = estimated_energy_kwh(fp, H, u) if energy_kwh is None else np.where(paid, np.asarray(energy_kwh, float), 0.0)
    mw = _ratio(H, hours) * (fp.gpu.allin_power_w / 1e6) * fp.pue
    rate = mix_tokens_per_gpu_hour(fp, tw) * np.asarray(generation, float)[..., None]
    tier = _ratio(_ratio(cost, H)[..., None], rate, 1e6)
    return FactoryFigures(
        facility_energy_kwh=b(E), facility_mw=b(mw), tokens=b(T),
        tokens_per_mwh=b(_ratio(T, E, 1000.0)),
        energy_kwh_per_mtok=b(_ratio(E, T, 1e6)),
        tokens_per_mw=b(_ratio(T, mw)),
        idle_share=b(np.where(paid, 1.0 - u, 0.0)),
        cost_per_mtok=b(_ratio(np.where(paid, cost, 0.0), T, 1e6)),
        tier_tokens_per_gpu_hour=np.broadcast_to(rate, shape + (n_t,)).astype(float),
        cost_per_mtok_tier=np.broadcast_to(tier, shape + (n_t,)).astype(float),
        energy_estimated=not fp.metered)


def factory_by_pool(sc, hw, value, pools: Sequence[str], tokens, paid_gpu_hours, hours, utilization, cost,
                    energy_kwh, generation: Mapping[str, np.ndarray] | None = None,
                    bands: Sequence[float] = GOODPUT_TIERS) -> dict[str, np.ndarray]:
    """The Monte Carlo's factory variables for every pool of ``pools`` (results order).

    Arrays in: ``tokens`` (..., pool, W) tokens served; ``paid_gpu_hours``, ``utilization``, ``cost``,
    ``energy_kwh`` (metered; used for the owned pool) (..., pool); ``hours`` broadcasting with (...);
    ``generation`` maps a pool to its effective / in-service GPUs (...). Out: ``VARIABLES`` (..., pool)
    and ``cost_per_mtok_tier`` (..., pool, T); pools that are not GPU pools, or are off, hold 0.
    """
    generation = generation or {}
    lead = np.shape(paid_gpu_hours)[:-1]
    # pool-major, so each pool's figures are written contiguously; returned as (..., pool[, T]) views
    out = {k: np.zeros((len(pools),) + lead) for k in VARIABLES}
    tier = np.zeros((len(pools),) + lead + (len(bands),))
    for i, pool in enumerate(pools):
        if pool not in GPU_POOLS or not getattr(sc.pools, pool).enabled or not (paid_gpu_hours[..., i] > 0).any():
            continue
        fp = factory_pool(sc, pool, hw, value, bands)
        f = factory_figures(fp, tokens[..., i, :], paid_gpu_hours[..., i], hours, utilization[..., i], cost[..., i],
                            energy_kwh[..., i] if fp.metered else None, generation.get(pool, 1.0))
        for k in VARIABLES:
            out[k][i] = getattr(f, k)
        tier[i] = f.cost_per_mtok_tier
    res = {k: np.moveaxis(v, 0, -1) for k, v in out.items()}
    res["cost_per_mtok_tier"] = np.moveaxis(tier, 0, -2)
    return res
