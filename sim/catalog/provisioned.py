"""Provisioned-capacity profiles (Azure PTU, Vertex GSU, Bedrock MU, xAI units) and their arithmetic.

Profiles live in ``calibration/provisioned/<provider>.yaml`` (``provider`` = file stem), keyed by
``provider/model``; ``calibration/provisioned/SOURCE.md`` gives the schema and every source. Every
number carries a ``source`` and a ``grade`` (``doc``, ``3p``, ``derived``); a number the provider
does not publish is ``null`` with a note, and the functions below refuse it
(:class:`MissingNumberError`) until :func:`override` supplies it.

Units: throughput in input tokens per second per unit; prices in USD per unit-hour and per
unit-month (1 month = 730 hours, :data:`HOURS_PER_MONTH`). A file states each figure as published
(``quoted``) and its conversions; the loader checks them against the quote (0.1 %) and uses the
quote converted exactly.

Token classes follow the repository (``sim/catalog/rates.py``, the DES request columns): ``input``
is uncached prompt tokens (cache writes included), ``cached`` the prompt tokens read from a cache,
``output`` every generated token *reasoning included*, ``reasoning`` the part of ``output`` that is
reasoning. A request's work is ``Σ weight × tokens`` over input, cached, visible output
(``output - reasoning``) and reasoning; when its prompt (``context``, default ``input + cached``) is
strictly above the profile's long-context threshold, the long-context weights apply to all of it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from sim.catalog.sourced import SourcedFileError, SourcedReader, is_number

__all__ = [
    "CLASSES",
    "DEFAULT_DIR",
    "GRADES",
    "HOURS_PER_MONTH",
    "TERMS",
    "Burndown",
    "MissingNumberError",
    "ProvisionedProfile",
    "ProvisionedProfileError",
    "TermPrice",
    "UnknownProfileError",
    "cost_per_hour",
    "cost_per_month",
    "legal_units",
    "load_profiles",
    "override",
    "profile",
    "unit_seconds",
    "work_tokens",
]

#: ``<repo>/calibration/provisioned`` (``sim/`` sits at the repository root).
DEFAULT_DIR: Path = Path(__file__).resolve().parents[2] / "calibration" / "provisioned"
HOURS_PER_MONTH = 730.0
HOURS: Mapping[str, float] = MappingProxyType({"hour": 1.0, "day": 24.0, "week": 168.0, "month": HOURS_PER_MONTH})
TERMS: tuple[str, ...] = ("hourly", "1w", "1m", "3m", "6m", "1y")
CLASSES: tuple[str, ...] = ("input", "cached_input", "output", "reasoning")
SPILLS: tuple[str, ...] = ("429", "pay_go")
GRADES: tuple[str, ...] = ("doc", "3p", "derived")
_TOL = 1e-3  # relative: a stated conversion must match its quote within rounding

_META = frozenset({"source", "grade", "note"})
_ROOT_KEYS = frozenset({"provider", "defaults", "profiles", "note"})
_PROFILE_KEYS = frozenset({"pay_go_model", "unit", "deployment", "throughput", "burndown", "minimum",
                           "increment", "prices", "spill", "excludes", "note"})
_REQUIRED = ("pay_go_model", "unit", "throughput", "burndown", "minimum", "increment", "prices", "spill",
             "excludes")
_MERGED = frozenset({"burndown", "prices"})  # defaults merge into these per entry


class ProvisionedProfileError(SourcedFileError):
    """A profile file is missing or malformed; the message names the file and key path."""


class UnknownProfileError(KeyError):
    """No profile of that name; ``suggestions`` holds the closest names."""

    def __init__(self, name: str, suggestions: list[str], available: list[str]) -> None:
        self.name, self.suggestions = name, suggestions
        msg = f"unknown provisioned profile {name!r}"
        if suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in suggestions) + "?"
        super().__init__(msg + f" (profiles: {', '.join(available)})")

    def __str__(self) -> str:
        return str(self.args[0])


class MissingNumberError(ValueError):
    """A number the provider does not publish is needed; supply it with :func:`override`."""


@dataclass(frozen=True)
class Burndown:
    """Weights in input tokens per token of each class (``None``: not public).

    ``long_context`` (weights without a further override) applies to a request whose prompt is
    strictly above ``long_context_threshold`` tokens.
    """

    input: float | None
    cached_input: float | None
    output: float | None
    reasoning: float | None
    long_context_threshold: float | None = None
    long_context: Burndown | None = None


@dataclass(frozen=True)
class TermPrice:
    """Price of one unit over one term (``None``: not public); ``quoted`` is the figure as published."""

    term: str
    usd_per_unit_hour: float | None
    usd_per_unit_month: float | None
    quoted: str
    note: str = ""


@dataclass(frozen=True, eq=False)
class ProvisionedProfile:
    """One provider's provisioned unit for one model.

    ``sources`` and ``grades`` map a key path (``throughput``, ``burndown.output``,
    ``burndown.long_context.input``, ``minimum``, ``prices.1m``, ``spill``, ...) to the citation of
    its number and its grade; ``notes`` maps key paths to their notes (``""``: the profile's own).
    """

    name: str
    provider: str
    model: str
    pay_go_model: str | None
    unit: str
    deployment: str
    tokens_per_second: float | None
    throughput_quoted: str
    burndown: Burndown
    minimum: int
    increment: int
    prices: Mapping[str, TermPrice]
    spill: str
    pay_go_option: bool
    excludes: tuple[str, ...]
    sources: Mapping[str, str]
    grades: Mapping[str, str]
    notes: Mapping[str, str]
    path: Path | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        """Key paths of the numbers that are not public (``throughput``, ``burndown.output``, ...)."""
        out = ["throughput"] if self.tokens_per_second is None else []
        out += [f"burndown.{c}" for c in CLASSES if getattr(self.burndown, c) is None]
        lc = self.burndown.long_context
        out += [f"burndown.long_context.{c}" for c in CLASSES if lc is not None and getattr(lc, c) is None]
        return tuple(out + [f"prices.{t}" for t, p in self.prices.items() if p.usd_per_unit_hour is None])


# ----------------------------------------------------------------------------- loading


class _Reader(SourcedReader):
    """Validating accessors; a key filled from ``defaults`` is reported at its place in ``defaults``."""

    error = ProvisionedProfileError

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.origins: list[tuple[str, str, str]] = []  # (profile path prefix, defaults path, profile)

    def fail(self, key: str, problem: str) -> SourcedFileError:
        for prefix, origin, name in sorted(self.origins, key=lambda o: -len(o[0])):
            if key == prefix or key.startswith(prefix + "."):
                return self.error(self.path, origin + key[len(prefix):], f"{problem} (default of {name})")
        return super().fail(key, problem)

    def mapping(self, m: Any, where: str, allowed: frozenset[str] | set[str], required: tuple[str, ...] = ()
                ) -> dict[str, Any]:
        if not isinstance(m, dict):
            raise self.fail(where, f"expected a mapping, got {type(m).__name__}")
        extra = set(m) - set(allowed)
        if extra:
            raise self.fail(where, f"unknown keys {sorted(map(str, extra))}; expected some of {sorted(allowed)}")
        for k in required:
            if k not in m:
                raise self.fail(f"{where}.{k}", "missing")
        return m

    def sourced(self, m: dict[str, Any], where: str) -> tuple[str, str, str]:
        """(source, grade, note) of ``m``; a source and a grade are required."""
        src = self.source(m, where)
        grade = m.get("grade")
        if grade not in GRADES:
            raise self.fail(f"{where}.grade", f"expected one of {list(GRADES)}, got {grade!r}")
        note = m.get("note", "")
        if not isinstance(note, str):
            raise self.fail(f"{where}.note", "expected text")
        return src, grade, note.strip()

    def optional(self, m: dict[str, Any], key: str, where: str, lo_open: bool = True) -> float | None:
        """``m[key]`` as a finite number in (0, inf) (``[0, inf)`` with ``lo_open=False``), or
        ``None``, which needs a ``note`` on ``m`` saying why."""
        if key not in m:
            raise self.fail(f"{where}.{key}", "missing (a number, or null with a note saying it is not public)")
        if m[key] is None:
            if not str(m.get("note", "")).strip():
                raise self.fail(f"{where}.{key}", "null needs a note saying why the number is not public")
            return None
        return self.number(m, key, f"{where}.{key}", lo=0, lo_open=lo_open)

    def text(self, m: dict[str, Any], key: str, where: str) -> str:
        v = m.get(key)
        if not isinstance(v, str) or not v.strip():
            raise self.fail(where, "missing or not a non-empty string")
        return v.strip()


class _Profile:
    """Reads one merged profile mapping, collecting sources under short key paths."""

    def __init__(self, r: _Reader, base: str) -> None:
        self.r, self.base = r, base
        self.sources: dict[str, str] = {}
        self.grades: dict[str, str] = {}
        self.notes: dict[str, str] = {}

    def w(self, key: str) -> str:
        return f"{self.base}.{key}"

    def sourced(self, m: dict[str, Any], key: str) -> None:
        src, grade, note = self.r.sourced(m, self.w(key))
        self.sources[key], self.grades[key] = src, grade
        if note:
            self.notes[key] = note

    def whole(self, p: dict[str, Any], key: str) -> int:
        m = self.r.mapping(p.get(key), self.w(key), {"value"} | _META, ("value",))
        self.sourced(m, key)
        v = m["value"]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise self.r.fail(self.w(f"{key}.value"), f"expected a whole number >= 1, got {v!r}")
        return v

    def throughput(self, p: dict[str, Any]) -> tuple[float | None, str]:
        key = "throughput"
        m = self.r.mapping(p[key], self.w(key), {"tokens_per_second", "quoted", "conversion"} | _META,
                           ("tokens_per_second", "quoted"))
        self.sourced(m, key)
        tps = self.r.optional(m, "tokens_per_second", self.w(key))
        q = m["quoted"]
        if tps is None:
            if q is not None:
                raise self.r.fail(self.w(f"{key}.quoted"), "must be null when tokens_per_second is null")
            return None, ""
        q = self.r.mapping(q, self.w(f"{key}.quoted"), {"value", "per", "what"}, ("value", "per", "what"))
        value = self.r.number(q, "value", self.w(f"{key}.quoted.value"))
        per = q["per"]
        if per not in ("second", "minute"):
            raise self.r.fail(self.w(f"{key}.quoted.per"), f"expected 'second' or 'minute', got {per!r}")
        want = value / (60.0 if per == "minute" else 1.0)
        if not math.isclose(tps, want, rel_tol=_TOL):
            raise self.r.fail(self.w(f"{key}.tokens_per_second"),
                              f"{tps:g} does not match the quote {value:g} per {per} (= {want:g} tokens/s)")
        if per == "minute" and not str(m.get("conversion", "")).strip():
            raise self.r.fail(self.w(f"{key}.conversion"), "missing: state the conversion to tokens per second")
        return want, f"{value:,g} {self.r.text(q, 'what', self.w(f'{key}.quoted.what'))}"

    def weights(self, m: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        b = self.r.mapping(m, self.w(key), allowed, CLASSES)
        out: dict[str, Any] = {}
        for c in CLASSES:
            cm = self.r.mapping(b[c], self.w(f"{key}.{c}"), {"value"} | _META, ("value",))
            self.sourced(cm, f"{key}.{c}")
            out[c] = self.r.optional(cm, "value", self.w(f"{key}.{c}"), lo_open=(c == "input"))
        return out

    def burndown(self, p: dict[str, Any]) -> Burndown:
        base = self.weights(p["burndown"], "burndown", set(CLASSES) | {"long_context"})
        lc = p["burndown"].get("long_context")
        if lc is None:
            return Burndown(**base)
        lc_w = self.weights(lc, "burndown.long_context", set(CLASSES) | {"threshold"})
        key = "burndown.long_context.threshold"
        m = self.r.mapping(lc.get("threshold"), self.w(key), {"value"} | _META, ("value",))
        self.sourced(m, key)
        thr = self.r.number(m, "value", self.w(f"{key}.value"))
        return Burndown(**base, long_context_threshold=thr, long_context=Burndown(**lc_w))

    def prices(self, p: dict[str, Any]) -> dict[str, TermPrice]:
        terms = self.r.mapping(p["prices"], self.w("prices"), set(TERMS))
        if not terms:
            raise self.r.fail(self.w("prices"), f"expected at least one term of {list(TERMS)}")
        out: dict[str, TermPrice] = {}
        for t in TERMS:
            if t not in terms:
                continue
            key = f"prices.{t}"
            m = self.r.mapping(terms[t], self.w(key), {"quoted", "usd_per_unit_hour", "usd_per_unit_month",
                                                        "conversion"} | _META,
                               ("quoted", "usd_per_unit_hour", "usd_per_unit_month"))
            self.sourced(m, key)
            hour = self.r.optional(m, "usd_per_unit_hour", self.w(key))
            month = self.r.optional(m, "usd_per_unit_month", self.w(key))
            q = m["quoted"]
            if q is None:
                if hour is not None or month is not None:
                    raise self.r.fail(self.w(f"{key}.quoted"), "missing: say which figure was published")
                out[t] = TermPrice(t, None, None, "", self.notes.get(key, ""))
                continue
            q = self.r.mapping(q, self.w(f"{key}.quoted"), {"amount", "per"}, ("amount", "per"))
            amount = self.r.number(q, "amount", self.w(f"{key}.quoted.amount"))
            per = q["per"]
            if per not in HOURS:
                raise self.r.fail(self.w(f"{key}.quoted.per"), f"expected one of {list(HOURS)}, got {per!r}")
            if hour is None or month is None:
                raise self.r.fail(self.w(key), "a quoted price needs both usd_per_unit_hour and usd_per_unit_month")
            want = amount / HOURS[per]
            if not math.isclose(hour, want, rel_tol=_TOL):
                raise self.r.fail(self.w(f"{key}.usd_per_unit_hour"),
                                  f"{hour:g} does not match the quote {amount:g} per {per} (= {want:g} per hour)")
            if not math.isclose(month, hour * HOURS_PER_MONTH, rel_tol=_TOL):
                raise self.r.fail(self.w(f"{key}.usd_per_unit_month"),
                                  f"{month:g} is not usd_per_unit_hour x 730 h (= {hour * HOURS_PER_MONTH:g})")
            if not str(m.get("conversion", "")).strip():
                raise self.r.fail(self.w(f"{key}.conversion"), "missing: state the conversion (730 h a month)")
            # the quote is authoritative; the written conversions were only checked against it
            out[t] = TermPrice(t, want, want * HOURS_PER_MONTH, f"{amount:,g} USD per unit-{per}",
                               self.notes.get(key, ""))
        return out


def _merge(r: _Reader, defaults: dict[str, Any], p: dict[str, Any], base: str, name: str) -> dict[str, Any]:
    out = dict(p)
    for k, dv in defaults.items():
        if k not in p:
            out[k] = dv
            r.origins.append((f"{base}.{k}", f"defaults.{k}", name))
        elif k in _MERGED and isinstance(dv, dict) and isinstance(p[k], dict):
            out[k] = {**dv, **p[k]}
            r.origins += [(f"{base}.{k}.{s}", f"defaults.{k}.{s}", name) for s in dv if s not in p[k]]
    return out


def _read_profile(r: _Reader, provider: str, name: Any, raw: Any, defaults: dict[str, Any]) -> ProvisionedProfile:
    base = f"profiles[{name}]"
    if not isinstance(name, str) or not name.startswith(f"{provider}/") or not name[len(provider) + 1:].strip():
        raise r.fail(base, f"a profile is named '{provider}/<model>' in {provider}.yaml")
    p = _merge(r, defaults, r.mapping(raw, base, _PROFILE_KEYS), base, name)
    r.mapping(p, base, _PROFILE_KEYS, _REQUIRED)
    rd = _Profile(r, base)
    pay_go = p["pay_go_model"]
    if pay_go is not None and (not isinstance(pay_go, str) or "/" not in pay_go):
        raise r.fail(rd.w("pay_go_model"), f"expected a price-catalog ref 'provider/model' or null, got {pay_go!r}")
    note = p.get("note", "")
    if not isinstance(note, str) or (pay_go is None and not note.strip()):
        raise r.fail(rd.w("note"), "expected text (required when pay_go_model is null: say why)")
    if note.strip():
        rd.notes[""] = note.strip()
    unit = r.text(p, "unit", rd.w("unit"))
    deployment = p.get("deployment", "")
    if not isinstance(deployment, str):
        raise r.fail(rd.w("deployment"), "expected text")
    tps, quoted = rd.throughput(p)
    burndown = rd.burndown(p)
    minimum, increment = rd.whole(p, "minimum"), rd.whole(p, "increment")
    if minimum % increment:
        raise r.fail(rd.w("minimum.value"), f"{minimum} is not a multiple of the increment {increment}")
    prices = rd.prices(p)
    s = r.mapping(p["spill"], rd.w("spill"), {"value", "pay_go_option"} | _META, ("value", "pay_go_option"))
    rd.sourced(s, "spill")
    spill = str(s["value"])
    if spill not in SPILLS:
        raise r.fail(rd.w("spill.value"), f"expected one of {list(SPILLS)}, got {s['value']!r}")
    if not isinstance(s["pay_go_option"], bool):
        raise r.fail(rd.w("spill.pay_go_option"), "expected true/false")
    e = r.mapping(p["excludes"], rd.w("excludes"), {"value"} | _META, ("value",))
    rd.sourced(e, "excludes")
    if not isinstance(e["value"], list) or not all(isinstance(x, str) and x.strip() for x in e["value"]):
        raise r.fail(rd.w("excludes.value"), "expected a list of request types (e.g. [batch]), possibly empty")
    return ProvisionedProfile(
        name=name, provider=provider, model=name[len(provider) + 1:], pay_go_model=pay_go, unit=unit,
        deployment=deployment.strip(), tokens_per_second=tps, throughput_quoted=quoted, burndown=burndown,
        minimum=minimum, increment=increment, prices=MappingProxyType(prices), spill=spill,
        pay_go_option=s["pay_go_option"], excludes=tuple(x.strip() for x in e["value"]),
        sources=MappingProxyType(rd.sources), grades=MappingProxyType(rd.grades),
        notes=MappingProxyType(rd.notes), path=r.path)


def _read_file(path: Path) -> list[ProvisionedProfile]:
    r = _Reader(path)
    doc = r.mapping(r.read(), "<root>", _ROOT_KEYS, ("provider", "profiles"))
    provider = r.text(doc, "provider", "provider")
    if provider != path.stem:
        raise r.fail("provider", f"{provider!r} must equal the file name {path.stem!r}")
    defaults = r.mapping(doc.get("defaults", {}), "defaults", _PROFILE_KEYS - {"pay_go_model", "note"})
    profiles = doc["profiles"]
    if not isinstance(profiles, dict) or not profiles:
        raise r.fail("profiles", "expected a mapping of 'provider/model' names to profiles")
    out = [_read_profile(r, provider, n, p, defaults) for n, p in profiles.items()]
    r.origins.clear()
    r.check_all_sourced(doc)  # after the specific checks, so their messages win
    return out


@functools.lru_cache(maxsize=8)
def _load_dir(directory: str) -> tuple[ProvisionedProfile, ...]:
    d = Path(directory)
    files = sorted(d.glob("*.yaml"))
    if not files:
        raise ProvisionedProfileError(d, "<directory>", "no *.yaml provisioned profiles found")
    seen: dict[str, Path] = {}
    out: list[ProvisionedProfile] = []
    for f in files:
        for p in _read_file(f):
            if p.name in seen:
                raise ProvisionedProfileError(f, f"profiles[{p.name}]", f"already defined in {seen[p.name]}")
            seen[p.name] = f
            out.append(p)
    return tuple(out)


def load_profiles(dir: Path | str | None = None) -> dict[str, ProvisionedProfile]:
    """All profiles in ``dir`` (default ``<repo>/calibration/provisioned``), keyed by name.

    Cached per resolved directory (``load_profiles.cache_clear()`` after editing files); each call
    returns a new dict of the same frozen profiles. Profiles with unpublished numbers load; the
    functions that need those numbers refuse them.

    Raises:
        ProvisionedProfileError: a file is missing, unparsable or invalid (file and key path).
    """
    d = Path(dir) if dir is not None else DEFAULT_DIR
    return {p.name: p for p in _load_dir(str(d.resolve()))}


load_profiles.cache_clear = _load_dir.cache_clear  # type: ignore[attr-defined]


def profile(name: str, dir: Path | str | None = None) -> ProvisionedProfile:
    """The profile ``name`` (any case; a bare model name if exactly one profile has it).

    Raises:
        UnknownProfileError: no such profile; the message suggests the closest names.
    """
    profiles = load_profiles(dir)
    if name in profiles:
        return profiles[name]
    low = str(name).strip().lower()
    by_low = {n.lower(): n for n in profiles}
    if low in by_low:
        return profiles[by_low[low]]
    bare = [p for p in profiles.values() if p.model.lower() == low.rsplit("/", 1)[-1]]
    if len(bare) == 1 and "/" not in low:
        return bare[0]
    close = difflib.get_close_matches(low, list(by_low), n=3, cutoff=0.6)
    close += [p.name.lower() for p in bare if p.name.lower() not in close]
    raise UnknownProfileError(str(name), [by_low[c] for c in close][:3], sorted(profiles))


def override(p: ProvisionedProfile, *, source: str, tokens_per_second: float | None = None,
             weights: Mapping[str, float] | None = None,
             prices: Mapping[str, float] | None = None) -> ProvisionedProfile:
    """A copy of ``p`` with user-supplied numbers (graded ``user``, sourced ``source``).

    ``weights`` replaces base burndown weights by class (not the long-context ones); ``prices``
    maps a term to USD per unit-hour (per month = × 730). E.g. a Bedrock MU quoted at I input and O
    output TPM: ``override(p, source=..., tokens_per_second=I / 60, weights={"output": I / O,
    "reasoning": I / O})``.
    """
    if not isinstance(source, str) or not source.strip():
        raise ValueError("override needs a non-empty source (where the numbers come from)")
    src = f"user: {source.strip()}"
    sources, grades = dict(p.sources), dict(p.grades)
    changes: dict[str, Any] = {}

    def positive(v: Any, what: str, zero_ok: bool = False) -> float:
        if not is_number(v) or not math.isfinite(v) or v < 0 or (v == 0 and not zero_ok):
            raise ValueError(f"{p.name}: {what} must be a finite number {'>=' if zero_ok else '>'} 0, got {v!r}")
        return float(v)

    if tokens_per_second is not None:
        changes["tokens_per_second"] = positive(tokens_per_second, "tokens_per_second")
        changes["throughput_quoted"] = f"{tokens_per_second:g} tokens per second per {p.unit} (user)"
        sources["throughput"], grades["throughput"] = src, "user"
    if weights:
        bad = set(weights) - set(CLASSES)
        if bad:
            raise ValueError(f"{p.name}: unknown token classes {sorted(bad)}; expected some of {list(CLASSES)}")
        w = {c: positive(v, f"weight {c}", zero_ok=c != "input") for c, v in weights.items()}
        changes["burndown"] = dataclasses.replace(p.burndown, **w)
        for c in w:
            sources[f"burndown.{c}"], grades[f"burndown.{c}"] = src, "user"
    if prices:
        new = dict(p.prices)
        for t, v in prices.items():
            if t not in TERMS:
                raise ValueError(f"{p.name}: unknown term {t!r}; expected one of {list(TERMS)}")
            h = positive(v, f"price {t}")
            new[t] = TermPrice(t, h, h * HOURS_PER_MONTH, f"{h:g} USD per unit-hour (user)")
            sources[f"prices.{t}"], grades[f"prices.{t}"] = src, "user"
        changes["prices"] = MappingProxyType(new)
    return dataclasses.replace(p, **changes, sources=MappingProxyType(sources), grades=MappingProxyType(grades))


# ----------------------------------------------------------------------------- arithmetic


def _tokens(x: ArrayLike, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{what} tokens must be finite and >= 0")
    return a


def _weighted(p: ProvisionedProfile, b: Burndown, parts: dict[str, np.ndarray], where: str,
              mask: np.ndarray | None = None) -> np.ndarray:
    total = np.zeros(np.broadcast(*parts.values()).shape)
    for c, x in parts.items():
        w = getattr(b, c)
        if w is None:
            if np.any((x if mask is None else np.where(mask, x, 0.0)) > 0):
                raise MissingNumberError(
                    f"{p.name}: the {where}.{c} weight is not public ({p.notes.get(f'burndown.{c}', 'no source')}); "
                    f"give it with override(profile, weights={{{c!r}: ...}}, source=...)")
            continue
        total = total + w * x
    return total


def work_tokens(p: ProvisionedProfile, input: ArrayLike, cached: ArrayLike, output: ArrayLike,
                reasoning: ArrayLike = 0.0, context: ArrayLike | None = None) -> float | np.ndarray:
    """Burndown-weighted tokens (input-token equivalents) of each request; vectorised.

    ``output`` includes ``reasoning`` (see the module docstring); ``context`` is the prompt size
    compared with the long-context threshold (default ``input + cached``).

    Raises:
        ValueError: negative or non-finite tokens, or ``reasoning > output``.
        MissingNumberError: a weight needed by non-zero tokens is not public.
    """
    i, c = _tokens(input, "input"), _tokens(cached, "cached")
    o, r = _tokens(output, "output"), _tokens(reasoning, "reasoning")
    if np.any(r > o):
        raise ValueError("reasoning tokens are part of output tokens: need reasoning <= output")
    parts = {"input": i, "cached_input": c, "output": o - r, "reasoning": r}
    b = p.burndown
    if b.long_context is None:
        work = _weighted(p, b, parts, "burndown")
    else:
        ctx = i + c if context is None else _tokens(context, "context")
        long = np.broadcast_to(ctx > b.long_context_threshold, np.broadcast(ctx, *parts.values()).shape)
        work = np.where(long, _weighted(p, b.long_context, parts, "burndown.long_context", long),
                        _weighted(p, b, parts, "burndown", ~long))
    return float(work) if work.ndim == 0 else work


def unit_seconds(p: ProvisionedProfile, input: ArrayLike, cached: ArrayLike, output: ArrayLike,
                 reasoning: ArrayLike = 0.0, context: ArrayLike | None = None) -> float | np.ndarray:
    """Seconds one unit needs for each request: :func:`work_tokens` / tokens per second per unit.

    Raises:
        MissingNumberError: the profile's throughput (or a needed weight) is not public.
    """
    if p.tokens_per_second is None:
        raise MissingNumberError(
            f"{p.name}: throughput per {p.unit} is not public ({p.notes.get('throughput', 'no source')}); "
            "give it with override(profile, tokens_per_second=..., source=...) before sizing")
    return work_tokens(p, input, cached, output, reasoning, context) / p.tokens_per_second


def legal_units(p: ProvisionedProfile, n: float) -> int:
    """The smallest purchase of at least ``n`` units: 0 for ``n == 0`` (buy none), else
    ``max(minimum, n rounded up to the increment)``."""
    if not is_number(n) or not math.isfinite(n) or n < 0:
        raise ValueError(f"{p.name}: a unit count must be a finite number >= 0, got {n!r}")
    if n == 0:
        return 0
    steps = n / p.increment
    return max(p.minimum, math.ceil(steps - 1e-9 * max(1.0, steps)) * p.increment)


def _price(p: ProvisionedProfile, term: str) -> TermPrice:
    if term not in p.prices:
        raise ValueError(f"{p.name}: no {term!r} term; terms: {', '.join(p.prices)}")
    tp = p.prices[term]
    if tp.usd_per_unit_hour is None:
        raise MissingNumberError(f"{p.name}: the {term} price is not public ({tp.note or 'no source'}); "
                                 f"give it with override(profile, prices={{{term!r}: usd_per_unit_hour}}, source=...)")
    return tp


def _units(p: ProvisionedProfile, units: ArrayLike) -> np.ndarray:
    u = np.asarray(units, dtype=float)
    if not np.all(np.isfinite(u)) or np.any(u < 0):
        raise ValueError(f"{p.name}: units must be finite and >= 0")
    return u


def cost_per_hour(p: ProvisionedProfile, units: ArrayLike, term: str) -> float | np.ndarray:
    """USD per hour of ``units`` units on ``term`` (vectorised; legality is the caller's: :func:`legal_units`)."""
    c = _units(p, units) * _price(p, term).usd_per_unit_hour
    return float(c) if c.ndim == 0 else c


def cost_per_month(p: ProvisionedProfile, units: ArrayLike, term: str) -> float | np.ndarray:
    """USD per month (730 h) of ``units`` units on ``term`` (vectorised)."""
    c = _units(p, units) * _price(p, term).usd_per_unit_month
    return float(c) if c.ndim == 0 else c
