"""The numba hourly kernel: demand draws and merit-order dispatch, per path and hour.

Per path, per day: one demand shock (lognormal, mean 1, shared by all workloads without a shock of
their own; those draw theirs, correlated with it, ``sim.scenario.noise``), per workload a
Poisson count of sessions around users × rate × day weight × shock, and one normal for the noise
of the day's token total (N·μ + √N·σ·Z, so the token factor is r = 1 + (σ/μ)·Z/√N). The day is
spread over its hours by the activity profile. Each hour is dispatched in merit order — owned
GPUs, reserved neocloud, on-demand neocloud, then the API (or unserved) — over the pools each
workload may use. Within an hour, GPU demand is random around its mean (compound Poisson with
variance Σ s·r·g²); the expected work a pool of capacity C takes is μ − σ·L((C − μ)/σ) with the
normal loss function L, so overflow is exact in expectation without drawing more numbers. The
shared prefix's cache warmth is the conditional warmth given the day's drawn count, whose
expectation over the Poisson count is the expected-value engine's 1 − exp(−λ·TTL) (below).

With ``deterministic`` every count is its mean, r = 1 and σ = 0: the kernel then reproduces the
expected-value engine's hourly dispatch exactly.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..demand.daily import mean_shock
from .rng import mix64, normal, poisson

N_POOLS = 5  # api, owned, neocloud reserved, neocloud on-demand, unserved
API, OWNED, RES, OD, UNSERVED = 0, 1, 2, 3, 4


# The normal loss function L(z) = φ(z) − z·Q(z) on z ∈ [−8, 8], tabulated with its derivative
# L′(z) = −Q(z) every 1/64 for cubic Hermite interpolation. Why: in hours that bind, exp and erfc
# were half the dispatch's time; the interpolation error is at most h⁴/384·max|L⁗| = h⁴/384·φ(0)
# ≈ 6e-11 in L (L⁗ = (z² − 1)·φ), so a pool's expected work moves by at most 6e-11·σ.
LOSS_Z = 8.0
LOSS_H = 1.0 / 64.0


def _loss_table() -> np.ndarray:
    z = np.linspace(-LOSS_Z, LOSS_Z, int(round(2 * LOSS_Z / LOSS_H)) + 1)
    sf = np.array([0.5 * math.erfc(x / math.sqrt(2.0)) for x in z])
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    table = np.stack([pdf - z * sf, -sf], axis=1)
    table.flags.writeable = False
    return table


LOSS_TABLE = _loss_table()  # read-only: (2·8·64 + 1, 2) of L(z), L′(z)


@nb.njit(cache=True, inline="always")
def normal_loss(z):
    """L(z) = E[(Z − z)+] for a standard normal Z, |z| ≤ 8, by cubic Hermite interpolation."""
    x = (z + LOSS_Z) / LOSS_H
    j = int(x)
    if j >= LOSS_TABLE.shape[0] - 1:
        j = LOSS_TABLE.shape[0] - 2
    s = x - j
    s2 = s * s
    s3 = s2 * s
    return ((2.0 * s3 - 3.0 * s2 + 1.0) * LOSS_TABLE[j, 0] + (s3 - 2.0 * s2 + s) * LOSS_H * LOSS_TABLE[j, 1]
            + (3.0 * s2 - 2.0 * s3) * LOSS_TABLE[j + 1, 0] + (s3 - s2) * LOSS_H * LOSS_TABLE[j + 1, 1])


@nb.njit(cache=True, inline="always")
def _expected_min(mu, var, cap):
    """E[min(D, cap)] for D ~ Normal(mu, var) (mu itself capped when var = 0)."""
    if mu <= 0.0:
        return 0.0
    if var <= 0.0:
        return mu if mu < cap else cap
    s = math.sqrt(var)
    z = (cap - mu) / s
    if z > LOSS_Z:  # overflow probability below 1e-15
        return mu
    if z < -LOSS_Z:
        return cap
    out = mu - s * normal_loss(z)
    if out < 0.0:
        return 0.0
    return out if out < mu else mu


# ---- shared-prefix warmth given the day's drawn count ------------------------------------------
#
# The expected-value engine (sim/expected/forecast.py) makes a session that starts in hour h find
# the shared prefix warm with probability 1 − exp(−λ_h·TTL), λ_h = s_h·c/3600 calls per second,
# s_h = Λ·share_h the hour's mean sessions (Λ the day's), c calls per session, and weights it by
# sessions. Evaluating that formula at the *drawn* day count n instead of Λ is biased upwards: a
# session is more likely to fall on a busy day (size-biased sampling), so E[n·f(n)]/E[n] > f(Λ).
#
# What the kernel needs is the function w(n) with E[n·w(n)] = Λ·Σ_h share_h (1 − exp(−Λ·a_h)) for
# n ~ Poisson(Λ), with a_h = share_h·c·TTL/3600 (so Λ·a_h = λ_h·TTL). From the generating function
# E[n·x^(n−1)] = Λ·exp(−Λ(1 − x)), setting x = 1 − a_h gives it hour by hour:
#
#     w(n) = Σ_h share_h (1 − (1 − a_h)^(n−1))        (n ≥ 1; so a lone session, n = 1, is cold)
#
# Read as order statistics: given n sessions in the day, one of them starts in hour h with
# probability share_h, and each of the other n − 1 independently lands in the same hour
# (share_h) and has one of its c calls within the TTL before that start (c·TTL/3600: calls are the
# arrivals, as in the Poisson formula). Matching the identity for every Λ makes n·w(n) the
# coefficients of a power series, so this w is the only exact one that depends on n alone. It is
# a probability while a_h ≤ 1. Above that (a session alone "covering" more than its hour, e.g. TTL
# 1 h and more calls than 1/share_h) the unique unbiased value (1 − a_h)^(n−1) alternates in sign,
# and grows without bound once a_h > 2 (Lehmann's example (−1)^n for e^(−2Λ)): no bounded function
# of n alone is exact. Such an hour's term is therefore share_h for n ≥ 2 (x capped at 0: any other
# session covers it), and for a lone session (n = 1) share_h·(1 − exp(−Λ(a_h − 1))), the part of
# the Poisson formula no other session can explain (its own calls). That is in [0, share_h] and
# exact: E[n·w_h] = share_h·(Λ − Λe^(−Λ) + Λe^(−Λ)(1 − e^(−Λ(a_h − 1)))) = share_h·Λ(1 − e^(−Λ·a_h)),
# with Λ the Poisson mean the count was drawn from (after the day's shock).
#
# The kernel looks w up per (table, workload): exact values for m = n − 1 < WARM_DIRECT, then a
# cubic Hermite interpolant in ln m with exact derivatives on a grid of step WARM_STEP (error below
# 1e-7; a test checks it), and direct evaluation beyond the grid.

WARM_DIRECT = 64
WARM_STEP = 0.05
WARM_U0 = math.log(WARM_DIRECT)
WARM_NODES = int(math.ceil((math.log(1e9) - WARM_U0) / WARM_STEP)) + 1


def warm_tables(hourly: np.ndarray) -> np.ndarray:
    """The hour shares (W, 24) the shared-prefix warmth is worked out with (``run_kernel``'s warm_tab).

    The kernel builds its conditional-warmth tables itself (``conditional_warm_tables``): they
    depend on each table's calls per session and the TTL as well as on the hour shares.
    """
    return np.ascontiguousarray(np.asarray(hourly, dtype=np.float64))


@nb.njit(cache=True)
def lone_warmth(share, beta, lam):
    """w(1): Σ over hours with a_h = share_h·beta > 1 of share_h (1 − exp(−lam·(a_h − 1)))."""
    out = 0.0
    for h in range(share.size):
        a = share[h] * beta
        if a > 1.0:
            out += share[h] * (1.0 - math.exp(-lam * (a - 1.0)))
    return out


@nb.njit(cache=True)
def conditional_warmth(n, share, beta, lam):
    """Warmth of the shared prefix given n sessions in the day, drawn from Poisson(lam) (direct).

    Σ_h share_h (1 − (1 − min(a_h, 1))^(n−1)) for n ≥ 2, ``lone_warmth`` for n = 1, 0 for n = 0;
    a_h = share_h·beta, beta = calls per session × TTL / 3600.
    """
    m = n - 1.0
    if m < 0.0:
        return 0.0
    if m < 0.5:
        return lone_warmth(share, beta, lam)
    out = 0.0
    for h in range(share.size):
        a = share[h] * beta
        if a <= 0.0:
            continue
        if a >= 1.0:
            out += share[h]
        else:
            out += share[h] * (1.0 - math.exp(m * math.log1p(-a)))
    return out


@nb.njit(cache=True, parallel=True)
def conditional_warm_tables(share, calls, ttl):
    """Lookup tables of ``conditional_warmth`` per (table, workload): (direct, values, slopes).

    share (W, 24) hour shares; calls (K, W); ttl (W,) seconds. direct (K, W, WARM_DIRECT) holds
    w at m = n − 1 = 0, 1, … (at m = 0 only the part that does not depend on the Poisson mean, 0:
    ``_warm_lookup`` adds ``lone_warmth``); values and slopes (K, W, WARM_NODES) hold w and
    dw/d(ln m) at ln m = WARM_U0 + j·WARM_STEP.
    """
    K, W = calls.shape
    H = share.shape[1]
    direct = np.zeros((K, W, WARM_DIRECT))
    val = np.zeros((K, W, WARM_NODES))
    der = np.zeros((K, W, WARM_NODES))
    for t in nb.prange(K):
        lx = np.zeros(H)
        xm = np.ones(H)
        for w in range(W):
            if ttl[w] <= 0.0:
                continue
            beta = calls[t, w] * ttl[w] / 3600.0
            for h in range(H):
                a = share[w, h] * beta
                lx[h] = 0.0 if a <= 0.0 else (-np.inf if a >= 1.0 else math.log1p(-a))
            # m = 0, 1, …: x^m by repeated multiplication (x = 1 − min(a, 1))
            xm[:] = 1.0
            for i in range(WARM_DIRECT):
                v = 0.0
                for h in range(H):
                    v += share[w, h] * (1.0 - xm[h])
                    xm[h] *= 1.0 - min(share[w, h] * beta, 1.0)
                direct[t, w, i] = v
            for j in range(WARM_NODES):
                m = math.exp(WARM_U0 + j * WARM_STEP)
                v = 0.0
                d = 0.0
                for h in range(H):
                    if lx[h] == 0.0:
                        continue
                    if lx[h] == -np.inf:
                        v += share[w, h]
                        continue
                    e = math.exp(m * lx[h])
                    v += share[w, h] * (1.0 - e)
                    d -= share[w, h] * m * lx[h] * e  # d/d(ln m) of −x^m
                val[t, w, j] = v
                der[t, w, j] = d
    return direct, val, der


@nb.njit(cache=True, inline="always")
def _warm_lookup(direct, val, der, shares, beta, lam, t, w, n):
    """``conditional_warmth(n, shares[w], beta, lam)`` for a whole count n from the tables.

    Takes the (W, 24) shares and w rather than the row: a row is a view, and making one costs a
    reference-count increment and decrement (two calls and two atomic operations on a cache line
    both threads share) on every lookup, where only the rare branches below need the row.
    """
    m = n - 1.0
    if m < 0.0:
        return 0.0
    if m < 0.5:
        return lone_warmth(shares[w], beta, lam)
    if m < WARM_DIRECT:
        return direct[t, w, int(m)]
    pos = (math.log(m) - WARM_U0) / WARM_STEP
    j = int(pos)
    if j >= WARM_NODES - 1:
        return conditional_warmth(n, shares[w], beta, lam)
    s = pos - j
    s2 = s * s
    s3 = s2 * s
    return ((2.0 * s3 - 3.0 * s2 + 1.0) * val[t, w, j] + (s3 - 2.0 * s2 + s) * WARM_STEP * der[t, w, j]
            + (3.0 * s2 - 2.0 * s3) * val[t, w, j + 1] + (s3 - s2) * WARM_STEP * der[t, w, j + 1])


PEAK_MARGIN = 1e-9  # how far below a mix of two other hours an hour must lie to be dropped (see peak_hours)


@nb.njit(cache=True)
def peak_hours(prof, n_prof):
    """The hours that can hold a day's busiest hour, whatever the profiles' day totals.

    The day's hour tokens are Σ_j prof[j, h]·T_j with T_j ≥ 0, so an hour whose shares lie, in
    every profile, at least a factor 1 + PEAK_MARGIN below a convex mix λ·prof[:, a] + (1 − λ)·prof[:, b]
    of two other hours is never the unique maximum: its sum is at most max(sum_a, sum_b)/(1 + 1e-9),
    and floating-point sums of n_prof non-negative terms (in any order, fused or not) are within
    n_prof·2^−53 of exact, far inside that margin, so the maximum over the hours kept is the
    maximum over all 24 to the bit.
    An hour with no share above another's (and one that repeats an earlier hour's shares) is dropped
    without a margin: products and sums of non-negative numbers round monotonically.
    (Two hours are enough for two profiles — the frontier is piecewise linear between hull
    vertices; with more, some hours that could be dropped are kept, which is only slower.)
    Why: a whole day's peak used to be looked for in all 24 hours whenever its upper bound could
    raise the month's peak (most days, with a flat agent profile beside a business-hours one); the
    benchmark scenario's two profiles keep 2 hours. Returns the hours kept and their count.
    """
    keep = np.zeros(24, np.int64)
    nk = 0
    for x in range(24):
        dropped = False
        for a in range(24):  # no share above another hour's (or the same shares as an earlier one)
            if a == x:
                continue
            ge = True
            gt = False
            for j in range(n_prof):
                if prof[j, a] < prof[j, x]:
                    ge = False
                    break
                if prof[j, a] > prof[j, x]:
                    gt = True
            if ge and (gt or a < x):
                dropped = True
                break
        for a in range(24):
            if a == x or dropped:
                continue
            for b in range(a, 24):
                if b == x:
                    continue
                # λ ∈ [lo, hi] with λ·prof[j, a] + (1 − λ)·prof[j, b] ≥ (1 + margin)·prof[j, x] for all j
                lo = 0.0
                hi = 1.0
                for j in range(n_prof):
                    need = (1.0 + 2.0 * PEAK_MARGIN) * prof[j, x] - prof[j, b]
                    slope = prof[j, a] - prof[j, b]
                    if slope > 0.0:
                        lo = max(lo, need / slope)
                    elif slope < 0.0:
                        hi = min(hi, need / slope)
                    elif need > 0.0:
                        hi = -1.0
                if lo > hi:
                    continue
                lam = 0.5 * (lo + hi)
                ok = True  # checked directly, so the division's rounding cannot drop an hour wrongly
                for j in range(n_prof):
                    if lam * prof[j, a] + (1.0 - lam) * prof[j, b] < (1.0 + PEAK_MARGIN) * prof[j, x]:
                        ok = False
                        break
                if ok:
                    dropped = True
                    break
        if not dropped:
            keep[nk] = x
            nk += 1
    return keep, nk


@nb.njit(cache=True, inline="always")
def _fits(n_day, r_day, i, shares, h, g, q, allowed, col, cap, deterministic):
    """The GPU-seconds of day row ``i``'s workloads allowed on pool column ``col`` (GPU kind ``q``), at
    hour shares ``shares[:, h]`` ((W, H) and a column, not the column itself: a view costs two
    reference-count calls), fit in ``cap`` with 8 sd to spare."""
    mu = 0.0
    var = 0.0
    for w in range(shares.shape[0]):
        if allowed[w, col]:
            a = n_day[i, w] * r_day[i, w] * shares[w, h] * g[w, q]
            mu += a
            var += a * g[w, q]
    if deterministic:
        var = 0.0
    return mu + 8.0 * math.sqrt(var) <= cap


def run_kernel(keys, tab, lam_day, dayw, hourly, month_start, day_sigma, phi, start_dev, anchored, growth, own, wnoise,
               wanch, deterministic, calls, cv_tok, ttl, g0, g1, tok0, tok1, allowed, cap_own, cap_res, od_cap, usable_neo, spin_up,
               warm_tab, daily):
    """Simulate a block of paths (``simulate_paths`` with the warmth tables built for it).

    The engine builds the tables once per strategy and calls ``simulate_paths`` itself; this form
    takes the hour shares ``warm_tab`` (from ``warm_tables``) instead.
    """
    tables = conditional_warm_tables(warm_tab, calls, ttl)
    return simulate_paths(keys, tab, lam_day, dayw, hourly, month_start, day_sigma, phi, start_dev, anchored,
                          growth, own, wnoise, wanch, deterministic, calls, cv_tok,
                          ttl, g0, g1, tok0, tok1, allowed, cap_own, cap_res, od_cap, usable_neo, spin_up,
                          warm_tab, tables[0], tables[1], tables[2], daily)


@nb.njit(cache=True)
def _empty_outputs(P, M, W):
    """``simulate_paths``'s output arrays, uninitialised (see there for why)."""
    return (np.empty((P, M, W, N_POOLS)), np.empty((P, M, W, N_POOLS)), np.empty((P, M, W)), np.empty((P, M, W)),
            np.empty((P, M, W, 3)), np.empty((P, M)), np.empty((P, M)), np.empty((P, M, W)))


def simulate_paths(keys, tab, lam_day, dayw, hourly, month_start, day_sigma, phi, start_dev, anchored, growth, own,
                   wnoise, wanch, deterministic, calls, cv_tok, ttl, g0, g1, tok0, tok1, allowed, cap_own, cap_res, od_cap,
                   usable_neo, spin_up, warm_tab, wt_direct, wt_val, wt_der, daily):
    """Simulate a block of paths: ``simulate_paths_into`` with its outputs allocated here.

    Returns S, SR (P, M, W, 5) sessions and token-weighted sessions per pool, warm_num, warm_den
    (P, M, W), gsec (P, M, W, 3) GPU-seconds on owned / reserved / on-demand, od_hours, peak_tok
    (P, M) and demand (P, M, W) sessions demanded.
    Why uninitialised: ``np.zeros`` zero-fills in one thread before the parallel loop; at 10,000
    paths the ~230 MB of outputs took 0.107 s to allocate, zero and fill in parallel, against
    0.080 s uninitialised. (numpy's own ``np.empty`` was slower in the kernel's run: it asks for
    transparent huge pages, and the kernel then compacts memory on first touch; docs/benchmarks.md.)
    The kernel writes every element: ``tests/test_kernel_outputs.py`` runs it into NaN-filled
    arrays and finds none left.
    """
    P, M, W = lam_day.shape
    out = _empty_outputs(P, M, W)
    simulate_paths_into(keys, tab, lam_day, dayw, hourly, month_start, day_sigma, phi, start_dev, anchored, growth, own,
                        wnoise, wanch, deterministic, calls, cv_tok, ttl, g0, g1, tok0, tok1, allowed, cap_own, cap_res,
                        od_cap, usable_neo, spin_up, warm_tab, wt_direct, wt_val, wt_der, daily, *out)
    return out


@nb.njit(cache=True, parallel=True, fastmath=True, error_model="numpy", nogil=True)  # nogil: the writer thread runs meanwhile
def simulate_paths_into(keys, tab, lam_day, dayw, hourly, month_start, day_sigma, phi, start_dev, anchored, growth, own,
                        wnoise, wanch, deterministic, calls, cv_tok, ttl, g0, g1, tok0, tok1, allowed, cap_own, cap_res,
                        od_cap, usable_neo, spin_up, warm_tab, wt_direct, wt_val, wt_der, daily,
                        S, SR, warm_num, warm_den, gsec, od_hours, peak_tok, demand):
    """Simulate a block of paths into the output arrays (``simulate_paths``'s, every element
    overwritten). Shapes: P paths, M months, D days, W workloads, K tables.

    keys (P,) uint64; tab (P,) table index; lam_day (P, M, W) sessions per full working day;
    dayw (W, D) day weights; hourly (W, 24) hour shares; month_start (M + 1,) first day of each
    month; day_sigma, phi, start_dev, anchored, growth (P,) the day shock's σ, its AR(1) coefficient,
    the log deviation of the day before the horizon (used where ``anchored``; elsewhere the shock
    starts stationary) and the drift per day (``sim.demand.daily``), the scenario's common day shock;
    own (W,) the workloads with their own shock, whose σ, φ, start deviation, drift and correlation
    with the common innovations are wnoise (P, W, 5) and whose anchoring is wanch (P, W); calls, cv_tok (K, W); ttl (W,) shared-prefix TTL in s (0: none); g0, g1 (K, W, 2)
    GPU-seconds per session on owned / neocloud at warmth 0 and 1; tok0, tok1 (K, W) tokens per
    session; allowed (W, 3) api / owned / neocloud; cap_own, cap_res (P, M) GPU-seconds per hour;
    od_cap, usable_neo, spin_up (P,); warm_tab (W, 24) hour shares for the shared-prefix warmth, from
    ``warm_tables``, and wt_direct, wt_val, wt_der its ``conditional_warm_tables``; daily (P, D, W)
    receives each day's demanded tokens when it has D columns (a diagnostic; pass (P, 0, W) to skip
    it).

    Shared-prefix warmth: each day adds n·w(n) to warm_num and n to warm_den, w the conditional
    warmth given the drawn count (see ``conditional_warmth``), so E[warm_num] / E[warm_den] is the
    expected-value engine's session-weighted 1 − exp(−λ_h·TTL) for Poisson counts.

    Days that need no hourly dispatch skip the hour loop: a path-month with no GPU capacity sends
    each day's sessions whole to the API (or unserved), and a day whose busiest hour fits in the
    owned pool with 8 sd to spare is served there whole. The busiest hour of such a day is worked
    out only when an upper bound on it (each workload at its own busiest hour) could raise the
    month's peak; the bound is computed with the same operations on larger numbers, so skipping is
    exact in floating point too.
    """
    P, M, W = lam_day.shape
    hmax = np.zeros((W, 1))  # each workload's busiest hour share (the peak's upper bound), as a column
    cls = np.zeros(W, np.int64)  # GPU pools a workload may use: 1 owned, 2 neocloud, 3 both, 0 neither
    for w in range(W):
        cls[w] = (1 if allowed[w, 1] else 0) + (2 if allowed[w, 2] else 0)
    # distinct hour profiles: workloads that share one are dispatched together
    pid = np.zeros(W, np.int64)
    prof = np.zeros((W, 24))
    NP = 0
    for w in range(W):
        pid[w] = NP
        for j in range(NP):
            same = True
            for h in range(24):
                if prof[j, h] != hourly[w, h]:
                    same = False
                    break
            if same:
                pid[w] = j
                break
        if pid[w] == NP:
            prof[NP, :] = hourly[w, :]
            NP += 1
    for w in range(W):
        for h in range(24):
            if hourly[w, h] > hmax[w, 0]:
                hmax[w, 0] = hourly[w, h]
    # hours by total share, busiest first: the hour-by-hour fit check of a day meets a binding hour first
    hord = np.argsort(-hourly.sum(axis=0))
    pmax = np.zeros(W)  # each profile's busiest hour share
    for j in range(NP):
        for h in range(24):
            if prof[j, h] > pmax[j]:
                pmax[j] = prof[j, h]
    cand, NC = peak_hours(prof, NP)
    for p in nb.prange(P):
        k_shock = mix64(keys[p] ^ np.uint64(0x51))
        k_pois = mix64(keys[p] ^ np.uint64(0x52))
        k_noise = mix64(keys[p] ^ np.uint64(0x53))
        t = tab[p]
        n_day = np.zeros((31, W))
        r_day = np.ones((31, W))
        warm = np.zeros(W)
        g = np.zeros((W, 2))
        tok = np.zeros(W)
        acc_s = np.zeros((W, N_POOLS))
        acc_r = np.zeros((W, N_POOLS))
        acc_g = np.zeros((W, 3))
        Bs = np.zeros((4, W, 2))  # per class, profile and GPU pool kind (owned, neocloud): the day's GPU-seconds
        Vs = np.zeros((4, W, 2))  # and their variance
        Ts = np.zeros(W)  # tokens per profile
        shc = np.zeros((4, W, 4))  # per class and profile: share of the day served by each stage, and by none
        hs = np.zeros((7, 24))  # per hour: tokens; owned GPU-seconds and variance; class 2's and 3's neocloud ones
        hf = np.zeros((8, 24))  # per hour: each class's share served by each stage
        wn = np.zeros(W)  # the month's warm_num, warm_den and demand, kept local (stored once a month)
        wd = np.zeros(W)
        dem = np.zeros(W)
        prev_od = 0.0
        sig = day_sigma[p]
        ph = phi[p]
        g_day = growth[p]
        stationary = not anchored[p]  # (a flag: fastmath assumes no NaN, so isnan would be folded away)
        innov = math.sqrt(1.0 - ph * ph) * sig
        half_var = 0.5 * sig * sig
        iid = stationary and ph == 0.0
        log_shock = 0.0 if stationary else start_dev[p] + 0.5 * sig * sig  # the log shock of the day before
        # workloads with their own shock: ε_w = ρ·ε + √(1 − ρ²)·η_w, through their own AR(1)
        k_wshock = mix64(keys[p] ^ np.uint64(0x54))
        w_log = np.zeros(W)
        w_c = np.zeros(W)  # innovation scale on the common draw, √(1 − φ²)·σ·ρ
        w_i = np.zeros(W)  # and on the workload's own, √(1 − φ²)·σ·√(1 − ρ²)
        for w in range(W):
            if own[w]:
                sg, pw_, rho = wnoise[p, w, 0], wnoise[p, w, 1], wnoise[p, w, 4]
                inn = math.sqrt(1.0 - pw_ * pw_) * sg
                w_c[w] = inn * rho
                w_i[w] = inn * math.sqrt(1.0 - rho * rho)
                w_log[w] = wnoise[p, w, 2] + 0.5 * sg * sg if wanch[p, w] else 0.0
        for m in range(M):
            d0, d1 = month_start[m], month_start[m + 1]
            wn[:] = 0.0
            wd[:] = 0.0
            dem[:] = 0.0
            # pass 1: the month's draws and the warmth of shared prompt caches
            for d in range(d0, d1):
                z = 0.0
                if deterministic:
                    shock = 1.0 if stationary else mean_shock(ph, sig, start_dev[p], d + 1.0)
                else:
                    # AR(1) log shock; independent days (ph = 0, stationary start) take x = σ·ε directly
                    z = normal(k_shock, d)
                    if iid or (d == 0 and stationary):
                        log_shock = sig * z
                    else:
                        log_shock = ph * log_shock + innov * z
                    shock = math.exp(log_shock - half_var)
                if g_day != 0.0:
                    shock *= math.exp(g_day * d)
                for w in range(W):
                    c = d * W + w
                    sw = shock
                    if own[w]:
                        sg = wnoise[p, w, 0]
                        if deterministic:
                            sw = mean_shock(wnoise[p, w, 1], sg, wnoise[p, w, 2], d + 1.0) if wanch[p, w] else 1.0
                        else:
                            e = w_c[w] * z + w_i[w] * normal(k_wshock, c)
                            if d == 0 and not wanch[p, w]:  # stationary start: x = σ·(ρ·ε + √(1 − ρ²)·η)
                                pw_ = wnoise[p, w, 1]
                                w_log[w] = e / math.sqrt(1.0 - pw_ * pw_)
                            else:
                                w_log[w] = wnoise[p, w, 1] * w_log[w] + e
                            sw = math.exp(w_log[w] - 0.5 * sg * sg)
                        if wnoise[p, w, 3] != 0.0:
                            sw *= math.exp(wnoise[p, w, 3] * d)
                    lam = lam_day[p, m, w] * dayw[w, d] * sw
                    if deterministic:
                        n = lam
                        r = 1.0
                    else:
                        n = poisson(lam, k_pois, c)
                        r = 1.0
                        if n > 0.0:
                            r = 1.0 + cv_tok[t, w] * normal(k_noise, c) / math.sqrt(n)
                            if r < 0.0:
                                r = 0.0
                    n_day[d - d0, w] = n
                    dem[w] += n
                    r_day[d - d0, w] = r
                    if ttl[w] > 0.0:
                        if deterministic:  # exact, so the expected-value engine is matched to rounding
                            for h in range(24):
                                s = n * hourly[w, h]
                                lam_s = s * calls[t, w] / 3600.0
                                wn[w] += s * (1.0 - math.exp(-lam_s * ttl[w]))
                        else:
                            wn[w] += n * _warm_lookup(wt_direct, wt_val, wt_der, warm_tab, calls[t, w] * ttl[w] / 3600.0,
                                                      lam, t, w, n)
                        wd[w] += n
            for w in range(W):
                warm_num[p, m, w] = wn[w]
                warm_den[p, m, w] = wd[w]
                demand[p, m, w] = dem[w]
                pw = wn[w] / wd[w] if wd[w] > 0.0 else 0.0
                warm[w] = pw
                for q in range(2):
                    g[w, q] = (1.0 - pw) * g0[t, w, q] + pw * g1[t, w, q]
                tok[w] = (1.0 - pw) * tok0[t, w] + pw * tok1[t, w]
            if daily.shape[1] > 0:
                for d in range(d0, d1):
                    for w in range(W):
                        daily[p, d, w, 0] = n_day[d - d0, w]
                        daily[p, d, w, 1] = n_day[d - d0, w] * r_day[d - d0, w] * tok[w]
            # pass 2: dispatch hour by hour (accumulate locally, store once a month)
            acc_s[:, :] = 0.0
            acc_r[:, :] = 0.0
            acc_g[:, :] = 0.0
            peak = 0.0
            od_month = 0.0
            any_gpu = cap_own[p, m] > 0.0 or cap_res[p, m] > 0.0 or od_cap[p] > 0.0
            # a day whose busiest hour fits in the owned pool with room to spare (8 sd) is served
            # there whole, without the hourly loop; it needs every GPU workload allowed on owned
            all_owned = True
            all_neo = True  # likewise on the reserved neocloud pool, in months without owned GPUs
            for w in range(W):
                if (allowed[w, 1] or allowed[w, 2]) and not allowed[w, 1]:
                    all_owned = False
                if (allowed[w, 1] or allowed[w, 2]) and not allowed[w, 2]:
                    all_neo = False
            for d in range(d0, d1):
                whole = not any_gpu  # no GPU capacity this month: the day goes whole to the API
                to = API  # where a whole day's GPU work goes: OWNED, RES (or nowhere: API)
                if any_gpu and all_neo and cap_own[p, m] <= 0.0 and cap_res[p, m] > 0.0:
                    whole = _fits(n_day, r_day, d - d0, hmax, 0, g, 1, allowed, 2, cap_res[p, m], deterministic)
                    to = RES
                elif any_gpu and all_owned and cap_own[p, m] > 0.0:
                    to = OWNED
                    # first the bound with every workload at its busiest hour, then hour by hour
                    whole = _fits(n_day, r_day, d - d0, hmax, 0, g, 0, allowed, 1, cap_own[p, m], deterministic)
                    if not whole:
                        whole = True
                        for ih in range(24):
                            if not _fits(n_day, r_day, d - d0, hourly, hord[ih], g, 0, allowed, 1, cap_own[p, m],
                                         deterministic):
                                whole = False
                                break
                if whole:
                    # the peak hour from each profile's tokens (Ts): the bound takes each profile at
                    # its busiest hour, the same operations on numbers no smaller, so it is exact
                    for j in range(NP):
                        Ts[j] = 0.0
                    for w in range(W):
                        Ts[pid[w]] += n_day[d - d0, w] * r_day[d - d0, w] * tok[w]
                    bound = 0.0
                    for j in range(NP):
                        bound += pmax[j] * Ts[j]
                    if bound > peak:
                        for ic in range(NC):
                            h = cand[ic]
                            hour_tok = 0.0
                            for j in range(NP):
                                hour_tok += prof[j, h] * Ts[j]
                            if hour_tok > peak:
                                peak = hour_tok
                    for w in range(W):
                        n = n_day[d - d0, w]
                        nr = n * r_day[d - d0, w]
                        if to == OWNED and allowed[w, 1]:
                            acc_s[w, OWNED] += n
                            acc_r[w, OWNED] += nr
                            acc_g[w, 0] += nr * g[w, 0]
                        elif to == RES and allowed[w, 2]:
                            acc_s[w, RES] += n
                            acc_r[w, RES] += nr
                            acc_g[w, 1] += nr * g[w, 1]
                        else:
                            dest = API if allowed[w, 0] else UNSERVED
                            acc_s[w, dest] += n
                            acc_r[w, dest] += nr
                    if od_cap[p] > 0.0:
                        prev_od = 0.0
                    continue
                # hour by hour. Workloads fall in classes by the GPU pools they may use (1 owned,
                # 2 neocloud, 3 both; 0 neither, or no tokens today), and share hour profiles (pid):
                # a stage serves the same share of every workload it takes, so the hours need only
                # each (class, profile)'s day totals (Bs, Vs: mean and variance of GPU-seconds; Ts:
                # tokens), and a workload's day is its class's served share of each hour weighted
                # by its profile (shc).
                for j in range(NP):
                    Ts[j] = 0.0
                    for c in range(4):
                        for q in range(2):
                            Bs[c, j, q] = 0.0
                            Vs[c, j, q] = 0.0
                for w in range(W):
                    nr = n_day[d - d0, w] * r_day[d - d0, w]
                    c = cls[w] if nr > 0.0 else 0
                    j = pid[w]
                    Ts[j] += nr * tok[w]
                    for q in range(2):  # only the pools the class may use: g is inf elsewhere
                        if (c == 3) or (c == 1 + q):
                            x = nr * g[w, q]
                            Bs[c, j, q] += x
                            Vs[c, j, q] += x * g[w, q]
                # the hours' sums first (loops over the 24 hours: independent, vectorised), then
                # the merit order hour by hour (scalar, in hour order: spin-up follows the previous
                # hour), then each (class, profile)'s served shares as sums over the hours
                hs[:, :] = 0.0
                for j in range(NP):
                    a_own = Bs[1, j, 0] + Bs[3, j, 0]
                    av_own = Vs[1, j, 0] + Vs[3, j, 0]
                    for h in range(24):
                        x = prof[j, h]
                        hs[0, h] += x * Ts[j]
                        hs[1, h] += x * a_own
                        hs[2, h] += x * av_own
                        hs[3, h] += x * Bs[2, j, 1]
                        hs[4, h] += x * Vs[2, j, 1]
                        hs[5, h] += x * Bs[3, j, 1]
                        hs[6, h] += x * Vs[3, j, 1]
                for h in range(24):
                    if hs[0, h] > peak:
                        peak = hs[0, h]
                    b_own, v_own, b2, v2, b3, v3 = hs[1, h], hs[2, h], hs[3, h], hs[4, h], hs[5, h], hs[6, h]
                    f0 = 0.0
                    f1 = 0.0
                    f2 = 0.0
                    od_gpus = 0.0
                    if cap_own[p, m] > 0.0 and b_own > 0.0:
                        f0 = _expected_min(b_own, 0.0 if deterministic else v_own, cap_own[p, m]) / b_own
                    l3 = 1.0 - f0  # class 3's share left after the owned pool
                    if cap_res[p, m] > 0.0:
                        mu = b2 + b3 * l3
                        if mu > 0.0:
                            f1 = _expected_min(mu, 0.0 if deterministic else v2 + v3 * l3, cap_res[p, m]) / mu
                    if od_cap[p] > 0.0:
                        mu = (b2 + b3 * l3) * (1.0 - f1)
                        if mu > 0.0:
                            done = _expected_min(mu, 0.0 if deterministic else (v2 + v3 * l3) * (1.0 - f1), od_cap[p])
                            f2 = done / mu
                            od_gpus = done / usable_neo[p]
                        # GPUs are billed for the hour; each GPU added is billed its spin-up too
                        od_month += od_gpus
                        if od_gpus > prev_od:
                            od_month += (od_gpus - prev_od) * spin_up[p]
                        prev_od = od_gpus
                    # each stage's share of the hour (as products: exactly 0 where a stage took everything)
                    r1 = 1.0 - f1
                    hf[0, h] = f0
                    hf[1, h] = 1.0 - f0
                    hf[2, h] = f1
                    hf[3, h] = r1 * f2
                    hf[4, h] = r1 * (1.0 - f2)
                    hf[5, h] = l3 * f1
                    hf[6, h] = l3 * r1 * f2
                    hf[7, h] = l3 * r1 * (1.0 - f2)
                # each (class, profile)'s share of the day served by each stage, and by none
                shc[:, :, :] = 0.0
                for j in range(NP):
                    s10 = 0.0
                    s13 = 0.0
                    s21 = 0.0
                    s22 = 0.0
                    s23 = 0.0
                    s31 = 0.0
                    s32 = 0.0
                    s33 = 0.0
                    for h in range(24):
                        x = prof[j, h]
                        s10 += x * hf[0, h]
                        s13 += x * hf[1, h]
                        s21 += x * hf[2, h]
                        s22 += x * hf[3, h]
                        s23 += x * hf[4, h]
                        s31 += x * hf[5, h]
                        s32 += x * hf[6, h]
                        s33 += x * hf[7, h]
                    shc[1, j, 0] = s10
                    shc[1, j, 3] = s13
                    shc[2, j, 1] = s21
                    shc[2, j, 2] = s22
                    shc[2, j, 3] = s23
                    shc[3, j, 0] = s10
                    shc[3, j, 1] = s31
                    shc[3, j, 2] = s32
                    shc[3, j, 3] = s33
                for w in range(W):
                    n = n_day[d - d0, w]
                    nr = n * r_day[d - d0, w]
                    c = cls[w] if nr > 0.0 else 0
                    dest = API if allowed[w, 0] else UNSERVED
                    rest = 1.0  # the share no GPU stage served goes on to the API (or is unserved)
                    if c > 0:
                        j = pid[w]
                        for k in range(3):  # owned, reserved, on-demand
                            sh = shc[c, j, k]
                            if sh > 0.0:
                                acc_s[w, 1 + k] += n * sh
                                acc_r[w, 1 + k] += nr * sh
                                acc_g[w, k] += nr * sh * g[w, 0 if k == 0 else 1]
                        rest = shc[c, j, 3]
                    acc_s[w, dest] += n * rest
                    acc_r[w, dest] += nr * rest
            peak_tok[p, m] = peak
            od_hours[p, m] = od_month
            for w in range(W):
                for q in range(N_POOLS):
                    S[p, m, w, q] = acc_s[w, q]
                    SR[p, m, w, q] = acc_r[w, q]
                for q in range(3):
                    gsec[p, m, w, q] = acc_g[w, q]
