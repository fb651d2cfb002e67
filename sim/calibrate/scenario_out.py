"""A fitted series as scenario text: each parameter its posterior, correlations between them.

Each uncertain parameter is written as a ``discrete`` distribution of ``QUANTILES`` equal-probability
quantiles of its posterior draws, and every pair as a rank correlation (Spearman, from the same
draws), so the Monte Carlo's Gaussian copula carries the joint posterior (the level and the start
deviation are almost exactly opposed: the last day is observed). The unit of work is one request
(a one-turn chat session), so the engine's sessions are the series' requests.

Mapping to ``demand_noise`` (sim.demand.daily), with day 0 the horizon's first day, ``gap`` days
after the last training day: rate = exp(β₀ + β₁·(gap + 1) + σ_u²/2) (the mean level of an average
day, the shock having mean 1), the weekly activity exp(w) (posterior means; geometric mean 1),
growth_per_day = β₁ (clipped so the horizon stays within the scenario's bound), persistence = φ,
day_cv = √(exp(σ_u²) − 1), start_deviation = x₋₁ − σ_u²/2 with x₋₁ = φ^gap·u_T + √(σ_u²(1 − φ^(2·gap)))·ε,
u_T = ln y_T − β₀ − w(last weekday): the AR(1) state carried through the gap days.
"""

from __future__ import annotations

import math
import re

import numpy as np
from scipy import stats

from .fit import DemandFit

QUANTILES = 41
GROWTH_BOUND = 0.05  # the scenario's bound on growth_per_day
PLACEHOLDER = "calibrated/unpriced"  # the model of a series the catalog cannot price


def safe_name(group: str) -> str:
    """A group's name as a workload or scenario name: letters, digits, '_' and '-' (at most 60)."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", group).strip("_-") or "series"
    return s[:60] if s[0].isalnum() else f"g{s}"[:60]


def workload_names(groups: list[str]) -> dict[str, str]:
    """Each group's workload name: ``safe_name``, made unique by a suffix where two groups collide (in
    sorted order of the groups, so the same groups always get the same names)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for g in sorted(set(groups)):
        base = safe_name(g)
        name, i = base, 2
        while name in used:
            name, i = f"{base[:56]}_{i}", i + 1
        used.add(name)
        out[g] = name
    return out


def _discrete(x: np.ndarray) -> dict | float:
    """41 equal-probability quantiles of the draws (a number when they are all one value); values
    within 1e-12 of 0 are 0 (a degenerate posterior's ±1e-17 is no value the scenario takes)."""
    u = (np.arange(QUANTILES) + 0.5) / QUANTILES
    vals = np.quantile(x, u)
    vals = np.where(np.abs(vals) < 1e-12, 0.0, vals)
    if np.ptp(vals) <= 1e-12 * max(1.0, float(np.abs(vals).max())):
        return float(np.median(vals))
    return {"dist": "discrete", "values": [sig(v) for v in vals]}


def sig(v: float) -> float:
    """``v`` to 7 significant digits: far below any posterior's spread, and half the file's size."""
    return float(f"{float(v):.7g}")


def demand_parameters(fit: DemandFit, gap: int = 0, horizon_days: int = 31) -> dict[str, np.ndarray]:
    """Posterior draws of the scenario's demand fields for a horizon starting ``gap`` days after the fit.
    The trend is clipped so that neither the horizon (the scenario's bound) nor the gap and the
    horizon together carry it beyond e^14."""
    s2 = fit.sigma_u ** 2
    bound = growth_bound(gap, horizon_days)
    g = np.clip(fit.trend, -bound, bound)
    u_t = fit.last_log - fit.level - fit.last_weekday_effect
    # x one day before the horizon, gap days after the last observed one: φ^gap·u_T plus the AR(1)
    # innovations of the gap days, variance σ²(1 − φ^(2·gap)) (a draw per posterior draw; fixed seed)
    eps = np.random.default_rng(0x5DA7).standard_normal(u_t.size)
    x_prev = fit.phi ** gap * u_t + np.sqrt(s2 * (1.0 - fit.phi ** (2 * gap))) * eps
    return {
        "rate": np.exp(fit.level + g * (gap + 1) + s2 / 2),
        "growth_per_day": g,
        "persistence": fit.phi,
        "day_cv": np.sqrt(np.expm1(s2)),
        "start_deviation": np.clip(x_prev - s2 / 2, -5.0, 5.0),
    }


def growth_bound(gap: int, horizon_days: int) -> float:
    """The largest |trend| a day a forecast ``gap`` days after the fit, of ``horizon_days`` days, carries."""
    return min(GROWTH_BOUND, 14.0 / (horizon_days + gap + 1))


def _consistent(rho_s: np.ndarray) -> np.ndarray:
    """The sample's rank correlations made a valid scenario matrix: entries below ``MIN_RHO`` in size
    dropped, rounded to 4 decimals, and shrunk towards 0 until the matrix is positive definite (the
    loader's check; a ρ = ±1 pair of the posterior is otherwise singular and refused)."""
    r = np.where(np.abs(rho_s) >= MIN_RHO, rho_s, 0.0)
    np.fill_diagonal(r, 1.0)
    for _ in range(200):
        out = np.round(r, 4)
        if np.linalg.eigvalsh(out).min() > 1e-6:
            return out
        off = r - np.eye(len(r))
        r = np.eye(len(r)) + 0.97 * off
    return np.eye(len(r))


MIN_RHO = 0.05
FIELDS = {"rate": "workloads.{w}.sessions_per_user_per_day", "growth_per_day": "demand_noise.growth_per_day",
          "persistence": "demand_noise.persistence", "day_cv": "demand_noise.day_cv",
          "start_deviation": "demand_noise.start_deviation"}


def _scaled(spec: dict, f: float) -> dict:
    """A lognormal or discrete length spec multiplied by ``f``."""
    if spec["dist"] == "lognormal":
        return {**spec, "median": spec["median"] * f, "p90": spec["p90"] * f}
    return {**spec, "values": [v * f for v in spec["values"]]}


def forecast_scenario(fit: DemandFit, *, start: str = "2027-01", months: int = 1, gap: int = 0,
                      hour_profile: np.ndarray | None = None, paths: int = 2000, seed: int = 20261201,
                      model: str | None = None, input_tokens: float | None = None, output_tokens: float | None = None,
                      discount: float | None = None, cached_share: float | None = None,
                      input_spec: dict | None = None, output_spec: dict | None = None,
                      name: str | None = None, card: dict | None = None, retry: dict | None = None,
                      rate_factor: float = 1.0) -> dict:
    """Scenario (as a dict for YAML) forecasting ``fit``'s series from ``start``.

    ``model`` a catalog model ("provider/model", priced by the library, less ``discount``); without
    one the requests are priced at a placeholder of 1 per million tokens (``PLACEHOLDER``), which the
    caller must say. ``card`` (USD/MTok rates, ``sim.calibrate.shape``) prices the group by rates of
    its own, as model ``calibrated/<name>``, less ``discount``. ``retry`` (per-attempt failure rates,
    ``sim.calibrate.shape``) is the workload's retry block; the series then counts attempts, and
    ``rate_factor`` (logical calls per attempt) turns its level into calls. Tokens per request
    default to 1 in and 1 out (a volume-only series)."""
    w = name or "series"
    days = months * 31
    par = demand_parameters(fit, gap, days)
    par["rate"] = par["rate"] * rate_factor
    if card is not None:
        model = f"calibrated/{w}"
    ref = model or PLACEHOLDER
    inp = 1.0 if input_tokens is None else float(input_tokens)
    cached = round(float(inp * cached_share), 3) if cached_share and input_tokens else 0.0
    # tokens unknown (a volume-only series): 1 in and 1 out; a known 0 stays 0
    wl = {"name": w, "kind": "chat", "business_unit": "calibrated", "sessions_per_user_per_day": _discrete(par["rate"]),
          "turns": 1, "system_prompt_tokens": cached, "user_message_tokens": inp - cached,
          "output_tokens": 1.0 if output_tokens is None else float(output_tokens), "models": {"api": ref}}
    if cached > 0:  # the observed cache reads: a shared prefix of that size, cacheable whatever its length
        wl["levers"] = {"prompt_cache": {"enabled": True, "shared_prefix": True, "min_tokens": 0}}
    if input_spec is not None and inp > 0:  # the fitted prompt lengths, less the cached prefix (mean kept: × 1 − c)
        wl["user_message_tokens"] = _scaled(input_spec, (inp - cached) / inp if inp > 0 else 1.0)
    if output_spec is not None:
        wl["output_tokens"] = output_spec
    if retry:
        wl["retry"] = dict(retry)
    disc = {"discount": round(float(discount), 6)} if discount is not None and discount > 0 else {}
    if model is None:
        over = [{"model": ref, "input": 1.0, "output": 1.0}]
    elif card is not None:
        over = [{"model": ref, **card, **disc}]
    else:
        over = [{"model": ref, **disc}] if disc else []
    hourly = (hour_profile if hour_profile is not None else np.full(24, 1 / 24)).tolist()
    noise = {k: _discrete(par[k]) for k in ("day_cv", "persistence", "growth_per_day", "start_deviation")}
    names = [k for k in ("rate", "growth_per_day", "persistence", "day_cv", "start_deviation")
             if not isinstance(wl["sessions_per_user_per_day"] if k == "rate" else noise[k], float)]
    corr = []
    if len(names) > 1:
        rho = _consistent(np.atleast_2d(stats.spearmanr(np.column_stack([par[k] for k in names])).statistic))
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                r = float(rho[i, j])
                if r != 0.0:
                    corr.append({"between": [FIELDS[names[i]].format(w=w), FIELDS[names[j]].format(w=w)],
                                 "rho": round(r, 4)})
    return {
        "name": f"calibrated {safe_name(fit.group)}", "seed": seed, "paths": paths,
        "horizon": {"start": start, "months": months},
        "prices": {"date": f"{start}-01", "overrides": over},
        "activity": {"weekly": [round(float(x), 6) for x in np.exp(fit.weekday)], "hourly": hourly},
        "demand_noise": noise,
        "business_units": [{"name": "calibrated", "users": {"curve": "fixed", "ceiling": 1}, "intensity_sigma": 0.0}],
        "workloads": [wl],
        "pools": {"api": {"price_trend": {"commodity_per_year": 0.0, "frontier_per_year": 0.0}}},
        "correlations": corr,
    }


def combined_scenario(parts: list[dict], correlation: float, name: str = "calibrated",
                      rates: list[dict | None] | None = None) -> dict:
    """One scenario holding every group's scenario (``forecast_scenario`` dicts, one workload each):
    each group its own business unit (its weekly and hourly activity) and its own ``demand_noise``
    (a workload's own day shock, its innovations loading √``correlation`` on the common ones, so two
    groups' are correlated ``correlation``), the correlations of its posterior renamed to its
    workload's key paths. Price overrides of one model are merged. Groups billed alike on a model
    they share keep its override; where their discounts differ each such group gets a card of its
    own, ``calibrated/<w>``, at the model's list ``rates`` (one per part) less its own discount, so
    each workload is priced as billed."""
    first = parts[0]
    rates = rates or [None] * len(parts)
    bus, wls, corr = [], [], []
    overrides: dict[str, dict] = {}
    disc: dict[str, list[tuple[int, float]]] = {}  # model -> (part, its discount) of the groups using it
    for i, sc in enumerate(parts):
        wl = dict(sc["workloads"][0])
        w = wl["name"]
        wl["business_unit"] = w
        # loading √ρ on the common innovations: each pair of groups is then correlated ρ (sim.scenario.noise)
        wl["demand_noise"] = {**sc["demand_noise"], "correlation": round(math.sqrt(max(float(correlation), 0.0)), 4)}
        bus.append({**sc["business_units"][0], "name": w, "activity": sc["activity"]})
        wls.append(wl)
        for c in sc["correlations"]:
            corr.append({**c, "between": [k.replace("demand_noise.", f"workloads.{w}.demand_noise.", 1)
                                          if k.startswith("demand_noise.") else k for k in c["between"]]})
        for o in sc["prices"]["overrides"]:
            overrides.setdefault(o["model"], dict(o))
        own = next((o for o in sc["prices"]["overrides"] if o["model"] == wl["models"]["api"]), {})
        if "input" not in own:  # a catalog model (a card of its own is the group's alone)
            d = float(own.get("discount", 0.0))
            disc.setdefault(wl["models"]["api"], []).append((i, d))
    for m, uses in disc.items():
        ds = [d for _, d in uses]
        if len(uses) < 2 or max(ds) - min(ds) <= 1e-4:
            continue
        overrides.pop(m, None)  # billed differently: each group at the list rates less its own discount
        for i, d in uses:
            if rates[i] is None:
                continue
            ref = f"calibrated/{wls[i]['name']}"
            wls[i]["models"] = {**wls[i]["models"], "api": ref}
            overrides[ref] = {"model": ref, **{k: float(v) for k, v in rates[i].items()},
                              **({"discount": round(d, 6)} if d > 0 else {})}
    return {
        "name": name, "seed": first["seed"], "paths": first["paths"], "horizon": first["horizon"],
        "prices": {"date": first["prices"]["date"], "overrides": list(overrides.values())},
        "business_units": bus, "workloads": wls, "pools": first["pools"], "correlations": corr,
    }
