"""A sizing in the report: what ``tokensim size --json`` printed, as a procurement section.

``read_sizing`` checks the saved JSON key by key (a refusal names the file and the key path);
``sizing_section`` gives the section's HTML and its CSV tables: the answer in one sentence, the
plans at the stream's own load (units, cost per month, spill, p99 latencies, overload, whether
the objectives hold) and, when the sizing ran over a contract term, each unit count's
P(some month misses an objective) and expected cost, with the chart of both.
"""

from __future__ import annotations

import html
import json
import math

import pandas as pd

from ..analysis.common import AnalysisError, json_key, read_command_json
from . import plots

PLAN_KEYS = ("units", "cost_per_month", "spill_share", "overload_probability", "latency_s", "slo_met")


def _key(path: str, where: str, obj: dict, k: str):
    return json_key(path, where, obj, k, "size")


def _num(path: str, where: str, v, *, whole: bool = False, low: float | None = 0.0, high: float | None = None):
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if ok and whole:
        ok = float(v).is_integer()
    if ok and low is not None:
        ok = v >= low
    if ok and high is not None:
        ok = v <= high
    if not ok:
        rng = f" in [{low:g}, {high:g}]" if low is not None and high is not None else (f" >= {low:g}" if low is not None else "")
        raise AnalysisError(f"{path}: {where}: expected a finite {'whole ' if whole else ''}number{rng}, got "
                            f"{json.dumps(v)[:40]}")


def _plan(path: str, where: str, p) -> None:
    for k in PLAN_KEYS:
        _key(path, where, p, k)
    _num(path, f"{where}.units", p["units"], whole=True)
    _num(path, f"{where}.cost_per_month", p["cost_per_month"])
    _num(path, f"{where}.spill_share", p["spill_share"], high=1.0)
    _num(path, f"{where}.overload_probability", p["overload_probability"], high=1.0)
    lat = p["latency_s"]
    if not isinstance(lat, dict):
        raise AnalysisError(f"{path}: {where}.latency_s: expected an object of latencies by metric")
    for m in ("ttft", "e2e", "tpot"):
        if m == "tpot" and m not in lat:
            continue  # written before tpot was reported
        q = _key(path, f"{where}.latency_s", lat, m)
        if not isinstance(q, dict):
            raise AnalysisError(f"{path}: {where}.latency_s.{m}: expected an object of percentiles")
        _num(path, f"{where}.latency_s.{m}.p99", _key(path, f"{where}.latency_s.{m}", q, "p99"))
    if not isinstance(p["slo_met"], bool):
        raise AnalysisError(f"{path}: {where}.slo_met: expected true or false, got {json.dumps(p['slo_met'])[:20]}")


def read_sizing(path: str) -> dict:
    """What ``tokensim size --json`` printed, saved to ``path``, checked (refusals name the key path)."""
    obj = read_command_json(path, "size", "plans")
    if obj.get("command") != "size":
        raise AnalysisError(f"{path}: command: expected the output of tokensim size, got "
                            f"{json.dumps(obj.get('command'))[:30]}")
    for k in ("profile", "term"):
        if not isinstance(_key(path, "", obj, k), str):
            raise AnalysisError(f"{path}: {k}: expected text")
    objectives = _key(path, "", obj, "objectives")
    if not isinstance(objectives, list) or not objectives or not all(isinstance(o, str) for o in objectives):
        raise AnalysisError(f"{path}: objectives: expected a non-empty list of objectives as text")
    _num(path, "requests", _key(path, "", obj, "requests"), whole=True, low=2)
    _num(path, "hours", _key(path, "", obj, "hours"))
    m = _key(path, "", obj, "min_units_for_slo")
    if m is not None:
        _num(path, "min_units_for_slo", m, whole=True)
    cp = _key(path, "", obj, "cheapest_plan")
    if cp is not None:
        _plan(path, "cheapest_plan", cp)
    for name in ("frontier", "provisioned"):
        rows = _key(path, "", obj, name)
        if not isinstance(rows, list):
            raise AnalysisError(f"{path}: {name}: expected a list of plans")
        for i, p in enumerate(rows):
            _plan(path, f"{name}[{i}]", p)
    ot = obj.get("over_term")
    if ot is not None:
        if not isinstance(ot, dict):
            raise AnalysisError(f"{path}: over_term: expected an object")
        if not isinstance(_key(path, "over_term", ot, "term"), str):
            raise AnalysisError(f"{path}: over_term.term: expected text")
        dm = _key(path, "over_term", ot, "demand")
        months = _key(path, "over_term.demand", dm, "months")
        if not isinstance(months, list) or not months or not all(isinstance(x, str) for x in months):
            raise AnalysisError(f"{path}: over_term.demand.months: expected a non-empty list of months as text")
        _num(path, "over_term.demand.paths", _key(path, "over_term.demand", dm, "paths"), whole=True, low=1)
        rec = _key(path, "over_term", ot, "recommended")
        if rec is not None:
            if not isinstance(rec, dict) or _key(path, "over_term.recommended", rec, "plan") not in ("provisioned",
                                                                                                       "hybrid"):
                raise AnalysisError(f"{path}: over_term.recommended.plan: expected \"provisioned\" or \"hybrid\"")
            _num(path, "over_term.recommended.units", _key(path, "over_term.recommended", rec, "units"), whole=True)
            _num(path, "over_term.recommended.p_breach", _key(path, "over_term.recommended", rec, "p_breach"), high=1.0)
            _num(path, "over_term.recommended.expected_cost_per_month",
                 _key(path, "over_term.recommended", rec, "expected_cost_per_month"))
        at = _key(path, "over_term", ot, "min_units_at_target")
        if at is not None:
            _num(path, "over_term.min_units_at_target", at, whole=True)
        _num(path, "over_term.breach_target", _key(path, "over_term", ot, "breach_target"), high=1.0)
        plans = _key(path, "over_term", ot, "plans")
        if not isinstance(plans, list) or not plans:
            raise AnalysisError(f"{path}: over_term.plans: expected a non-empty list")
        for i, p in enumerate(plans):
            w = f"over_term.plans[{i}]"
            _num(path, f"{w}.units", _key(path, w, p, "units"), whole=True)
            prov = _key(path, w, p, "provisioned")
            pb = _key(path, f"{w}.provisioned", prov, "p_breach")
            if pb is not None or p["units"] > 0:
                _num(path, f"{w}.provisioned.p_breach", pb, high=1.0)
            for k in ("expected_cost_per_month", "expected_stranded_units"):
                _num(path, f"{w}.provisioned.{k}", _key(path, f"{w}.provisioned", prov, k))
            if p.get("hybrid") is not None:
                _num(path, f"{w}.hybrid.expected_cost_per_month",
                     _key(path, f"{w}.hybrid", p["hybrid"], "expected_cost_per_month"))
                _num(path, f"{w}.hybrid.p_breach", _key(path, f"{w}.hybrid", p["hybrid"], "p_breach"), high=1.0)
    return obj


def plans_table(obj: dict) -> pd.DataFrame:
    rows = obj["frontier"] or obj["provisioned"]
    return pd.DataFrame([{"units": p["units"], "cost per month (USD)": p["cost_per_month"],
                          "spill to pay-go": p["spill_share"], "p99 TTFT (s)": p["latency_s"]["ttft"]["p99"],
                          "p99 e2e (s)": p["latency_s"]["e2e"]["p99"],
                          "p99 TPOT (ms)": p["latency_s"]["tpot"]["p99"] * 1000 if "tpot" in p["latency_s"] else None,
                          "overload (1 s windows)": p["overload_probability"],
                          "objectives met": "yes" if p["slo_met"] else "no"} for p in rows])


def term_table(obj: dict) -> pd.DataFrame:
    out = []
    for p in obj["over_term"]["plans"]:
        h = p.get("hybrid") or {}
        out.append({"units": p["units"],
                    "pool only: cost per month (USD)": p["provisioned"]["expected_cost_per_month"] if p["units"] else None,
                    "pool only: P(breach)": p["provisioned"]["p_breach"] if p["units"] else None,
                    "with spill: expected cost per month (USD)": h.get("expected_cost_per_month"),
                    "with spill: P95 cost per month (USD)": h.get("p95_cost_per_month"),
                    "with spill: spill share": h.get("expected_spill_share"),
                    "with spill: P(breach)": h.get("p_breach"),
                    "stranded units (expected)": h.get("expected_stranded_units",
                                                       p["provisioned"]["expected_stranded_units"])})
    return pd.DataFrame(out)


def answer(obj: dict) -> str:
    """The section's answer in one sentence."""
    unit = obj.get("unit") or "units"
    obj_txt = " and ".join(obj["objectives"])
    s = f"For {obj_txt} on {obj['profile']}: "
    m, cp = obj["min_units_for_slo"], obj["cheapest_plan"]
    s += (f"{m} {unit} meet the objectives on their own" if m is not None else "no unit count meets them on its own")
    if cp is not None:
        s += (f"; the cheapest plan is {'pay-as-you-go alone' if cp['units'] == 0 else str(cp['units']) + ' ' + unit}"
              + (f" with {cp['spill_share']:.0%} spilled to pay-go" if 0 < cp["spill_share"] < 1 else "")
              + f" at {cp['cost_per_month']:,.0f} USD a month")
    ot = obj.get("over_term")
    if ot and ot.get("recommended"):
        r = ot["recommended"]
        s += (f"; over the {ot['term']} term, at P(a month misses them) ≤ {ot['breach_target']:.0%}, buy "
              + ("nothing: pay-as-you-go" if r["units"] == 0 else f"{r['units']} {unit}"
                 + (" with spill" if r["plan"] == "hybrid" else ""))
              + f" (expected {r['expected_cost_per_month']:,.0f} USD a month)")
    return s + "."


def sizing_section(obj: dict, file: str, tables: dict, summary: dict, index: int = 0) -> list[str]:
    """The section's HTML (and its CSV tables ``sizing[_k]_plans``, ``sizing[_k]_term``)."""
    from .html import _img, _table

    tag = "sizing" if index == 0 else f"sizing_{index + 1}"
    pt = plans_table(obj)
    tables[f"{tag}_plans"] = pt
    kinds = {"cost per month (USD)": "money", "spill to pay-go": "pct", "overload (1 s windows)": "pct",
             "p99 TTFT (s)": "num", "p99 e2e (s)": "num", "p99 TPOT (ms)": "num"}
    out = [f"<h2>Capacity sizing: {html.escape(obj['profile'])}</h2>",
           f'<p class="read"><b>{html.escape(answer(obj))}</b></p>',
           f'<p class="meta">{obj["requests"]:,} requests over {obj["hours"]:.2f} h, {html.escape(obj["term"])} term; '
           f"from {html.escape(file)}</p>", _table(pt, kinds)]
    entry = {"file": file, "profile": obj["profile"], "min_units_for_slo": obj["min_units_for_slo"],
             "cheapest_plan": obj["cheapest_plan"]}
    ot = obj.get("over_term")
    if ot:
        tt = term_table(obj)
        tables[f"{tag}_term"] = tt
        d = ot.get("demand", {})
        out += [f"<h3>Over the {html.escape(ot['term'])} term under uncertain demand</h3>",
                f'<p class="meta">{d.get("paths", "?")} Monte Carlo paths, '
                f'{html.escape(" to ".join(dict.fromkeys([d["months"][0], d["months"][-1]])) if d.get("months") else "")}'
                "</p>",
                _img(plots.sizing_term(tt, float(ot["breach_target"]), obj.get("unit") or "units"),
                     "expected cost and breach probability by unit count"),
                _table(tt, {c: ("money" if "USD" in c else "pct" if ("P(" in c or "share" in c) else "num")
                            for c in tt.columns if c != "units"}),
                '<p class="note">A breach is a month in which fewer requests than the objective\'s percentile meet '
                "its time, on that path; stranded units are the capacity bought and not used, day by day.</p>"]
        entry["recommended"] = ot.get("recommended")
    summary.setdefault("sizing", []).append(entry)
    return out
