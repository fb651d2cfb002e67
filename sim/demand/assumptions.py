"""The assumptions in force that a scenario did not write (issue 13, item 7): defaults in the open.

Two defaults change results a lot without a word: every API model not listed in
``pools.api.frontier_models`` follows the *commodity* price trend (−30 %/yr by default), and the
default activity preset counts ``sessions_per_user_per_day`` per full working day, so weekends run
at the preset's weekend weight. ``assumptions(sc)`` names them, with the day-level demand noise when
it is the default; ``estimate`` and ``run`` print them and put them in their JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario.distributions import mean_of
from .population import profile_arrays

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Assumption:
    """One default in force: its key path, its value and what it does."""

    key: str
    value: str
    effect: str

    def to_json(self) -> dict:
        return {"key": self.key, "value": self.value, "effect": self.effect}


def _api_models(sc) -> list[str]:
    refs = []
    for w in sc.token_workloads:
        if "api" in w.allowed_pools and w.models.api:
            refs.append(w.models.api)
        if w.levers.routing.enabled and w.levers.routing.cheap_model:
            refs.append(w.levers.routing.cheap_model)
    return list(dict.fromkeys(refs))


def assumptions(sc) -> list[Assumption]:
    """The defaults ``sc`` leaves in force, in the order a reader meets them."""
    out: list[Assumption] = []
    api = sc.pools.api
    trend = api.price_trend
    refs = _api_models(sc)
    commodity = [r for r in refs if r not in api.frontier_models]
    written_trend = "price_trend" in api.model_fields_set
    c_rate, f_rate = mean_of(trend.commodity_per_year), mean_of(trend.frontier_per_year)
    if commodity and ("frontier_models" not in api.model_fields_set or not written_trend):
        out.append(Assumption(
            "pools.api.frontier_models", ", ".join(api.frontier_models) or "(none listed)",
            f"{', '.join(commodity)} follow{'s' if len(commodity) == 1 else ''} the commodity price trend, "
            f"{c_rate:+.0%} a year{'' if written_trend else ' (the default)'}, from the price date; list a model "
            f"under frontier_models to give it the frontier trend ({f_rate:+.0%} a year)"))
    units = [b for b in sc.business_units if b.activity is None]
    if units and "activity" not in sc.model_fields_set:
        weekly, _ = profile_arrays(sc.activity)
        low = [f"{d} {w:g}" for d, w in zip(DAY_NAMES, weekly) if w < 1.0]
        out.append(Assumption(
            "activity.preset", sc.activity.preset + " (the default)",
            f"{', '.join(b.name for b in units)}: per-user rates count per full working day"
            + (f"; {', '.join(low)} of one" if low else "")
            + ": give activity (or a business unit's activity) to change it"))
    if "demand_noise" not in sc.model_fields_set:
        n = sc.demand_noise
        out.append(Assumption(
            "demand_noise", f"day_cv {mean_of(n.day_cv):g}, persistence {mean_of(n.persistence):g}",
            "the Monte Carlo's day-to-day demand shock is the default fitted on the ServeGen traces"))
    return out


def assumptions_text(items: list[Assumption]) -> str:
    if not items:
        return ""
    return "Assumptions in force that the scenario does not write:\n" + "\n".join(
        f"  {a.key} = {a.value}: {a.effect}" for a in items)
