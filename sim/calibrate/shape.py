"""What one request of a group looks like, and what it was billed against list price.

From the training window of one group: mean tokens per request (all input, the cached share of it,
output), the model when the price catalog knows it, and, when the export carries cost, the
effective price paid against the catalog's list price for the same tokens. The scenario carries the
observed cache reads as a cached shared prefix, so the discount it carries is against that
modelled cost and closes the gap to the bill.

A group of one catalog model without cache writes is priced by that model's card. A group of
several models (a project that calls two) or with cache writes is priced by a card of its own
(``card``): per direction the token-weighted mean of its models' list rates in the window, cache
writes at their premium folded into the input rate (the scenario's input beyond the cached prefix
is the fresh and written tokens together). That card reproduces the window's list cost exactly, so
the discount against it is the negotiated one; it holds while the mix and the write share hold.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..catalog.prices import PriceBook
from .usage import FAILURES


@dataclass
class RequestShape:
    requests: float
    input_per_request: float | None  # all input tokens (fresh, cached, cache-write)
    cached_share: float | None  # of the input
    output_per_request: float | None
    model_ref: str | None  # "provider/model" when the catalog knows the group's model
    billed: float | None  # cost in the window (export currency)
    list_cost: float | None  # the same tokens at the catalog's list price, cache reads and writes at theirs
    modelled_cost: float | None  # as the calibrated scenario prices them (cache reads at the cached rate,
    # cache writes at the input rate)
    discount: float | None  # 1 − billed / modelled: closes the gap to the bill
    card: dict | None = None  # the group's own rates (USD/MTok) when a mix or cache writes price it
    mix: dict | None = None  # model -> share of the window's tokens (known models)
    unknown_models: tuple = ()  # billed models the catalog does not know
    catalog: dict | None = None  # billed model name -> the catalog's "provider/model"
    list_rates: dict | None = None  # the one catalog model's list rates (USD/MTok), when it prices the group
    retry: dict | None = None  # per-attempt failure rates, when request rows carry a status
    calls_per_attempt: float = 1.0  # logical calls per attempt the rows count: (1 − f)/(1 − f^A)

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def model_candidates(name: str) -> list[str]:
    """Spellings of a billed model name to look up in the catalog: as billed, then lower case with
    words (camel case too) and digit runs hyphenated (FOCUS meters: 'Claude3.5Sonnet' -> 'claude-3.5-sonnet',
    'ClaudeSonnet4.5' -> 'claude-sonnet-4.5',
    'gpt 4o mini 0718' -> 'gpt-4o-mini-0718'), then without a trailing date or version stamp."""
    out = [name]
    t = re.sub(r"(?<=[a-z])(?=[A-Z])", "-", name.strip())  # camel case: 'ClaudeSonnet4.5' -> 'Claude-Sonnet4.5'
    t = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z]{2,})", "-", t.lower())
    t = re.sub(r"[\s_]+", "-", t)
    out.append(t)
    out.append(re.sub(r"-(\d{4}|\d{8}|\d{4}-\d{2}-\d{2}|v\d+(:\d+)?)$", "", t))
    return list(dict.fromkeys(out))


MAX_ATTEMPTS = 3  # the scenario's default (sim.scenario.workloads.Retry): request rows do not say


def request_shape(periods: pd.DataFrame, price_date: _dt.date, book: PriceBook | None = None) -> RequestShape:
    """The shape of the requests in ``periods`` (one group's training window).

    Where request rows carry a status, every row is an attempt: with per-attempt failure rates e
    (error, nothing billed), t (timeout: input and half the output billed) and v (invalid: all
    billed), f = e + t + v, and ``MAX_ATTEMPTS`` A, a logical call makes (1 − f^A)/(1 − f) attempts,
    of which a share 1 − e bills its input and 1 − e − t/2 its output. Tokens per request are
    therefore per billed attempt (input over the non-error rows, output over the rows that bill it),
    so the scenario's retry model re-creates the billed totals; the volume counts attempts, and the
    rate is scaled by ``calls_per_attempt``."""
    tot = {c: float(periods[c].sum(min_count=1)) if periods[c].notna().any() else np.nan
           for c in ("requests", "input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens", "cost")}
    n = tot["requests"]
    fresh = np.nan_to_num(tot["input_tokens"])
    cached, write = np.nan_to_num(tot["cached_tokens"]), np.nan_to_num(tot["cache_write_tokens"])
    inp = fresh + cached + write
    have_tokens = not np.isnan(tot["input_tokens"]) or not np.isnan(tot["output_tokens"])
    models = sorted(set(periods["model"]) - {""})
    book = book or PriceBook(price_date)
    cards = {m: _find(book, m) for m in models}
    unknown = tuple(m for m, c in cards.items() if c is None)
    billed = None if np.isnan(tot["cost"]) else tot["cost"]
    ok_n = n > 0 if not np.isnan(n) else False
    retry, per_attempt = None, 1.0
    n_in = n_out = n
    if ok_n and all(c in periods for c in FAILURES) and periods["failed_error"].notna().any():
        e, t, v = (float(periods[c].sum()) / n for c in FAILURES)
        f = min(e + t + v, 0.999)
        retry = {"error_rate": round(e, 6), "timeout_rate": round(t, 6), "validation_failure_rate": round(v, 6),
                 "max_attempts": MAX_ATTEMPTS}
        per_attempt = (1.0 - f) / (1.0 - f ** MAX_ATTEMPTS)
        n_in, n_out = n * (1.0 - e), n * (1.0 - e - 0.5 * t)
    inp_per = inp / n_in if ok_n and have_tokens and n_in > 0 else None
    out_per = float(np.nan_to_num(tot["output_tokens"]) / n_out) if ok_n and have_tokens and n_out > 0 else None
    cached_share = cached / inp if inp > 0 else None
    ref = card_rates = mix = list_rates = None
    list_cost = modelled = None
    if models and not unknown and have_tokens:
        per = {m: _tokens(periods[periods["model"] == m]) for m in models}
        total = sum(sum(v) for v in per.values())
        mix = {m: (sum(v) / total if total > 0 else 0.0) for m, v in per.items()}
        list_cost = sum((f * c.base.input + k * c.base.cached_input + w * c.base.cache_write_5m + o * c.base.output)
                        for (f, k, w, o), c in ((per[m], cards[m]) for m in models)) / 1e6
        if len(models) == 1 and write <= 0:
            c = cards[models[0]]
            ref = f"{c.provider}/{c.model_id}"
            modelled = list_cost  # reads at the cached rate, the rest at the input rate: the list cost
            list_rates = {"input": c.base.input, "cached_input": c.base.cached_input,
                          "cache_write_5m": c.base.cache_write_5m, "output": c.base.output}
        else:  # a card of the group's own: rates weighted by each direction's tokens
            # a direction the window has no tokens of (no cache reads, say) is weighted by all the
            # group's tokens instead, so the card never prices it at 0
            allw = {m: sum(per[m]) for m in models}

            def rate(get, weight):
                den = sum(weight(m) for m in models)
                if den <= 0:
                    weight, den = allw.get, sum(allw.values())
                return round(sum(weight(m) * get(m) for m in models) / den, 9) if den > 0 else 0.0

            fw = sum(per[m][0] + per[m][2] for m in models)
            card_rates = {
                "input": (round(sum(per[m][0] * cards[m].base.input + per[m][2] * cards[m].base.cache_write_5m
                                    for m in models) / fw, 9) if fw > 0 else rate(lambda m: cards[m].base.input, allw.get)),
                "cached_input": rate(lambda m: cards[m].base.cached_input, lambda m: per[m][1]),
                "output": rate(lambda m: cards[m].base.output, lambda m: per[m][3]),
            }
            card_rates["cache_write_5m"] = card_rates["input"]  # the writes' premium is in the input rate
            modelled = ((fresh + write) * card_rates["input"] + cached * card_rates["cached_input"]
                        + np.nan_to_num(tot["output_tokens"]) * card_rates["output"]) / 1e6
    disc = (1.0 - billed / modelled) if billed is not None and modelled else None
    found = {m: f"{c.provider}/{c.model_id}" for m, c in cards.items() if c is not None}
    return RequestShape(n, inp_per, cached_share, out_per, ref, billed, list_cost, modelled, disc, card_rates, mix,
                        unknown, found, list_rates, retry, per_attempt)


def _find(book: PriceBook, name: str):
    """The catalog card of a billed model name (``model_candidates``), or None."""
    for cand in model_candidates(name):
        if book.has(cand):
            return book.card(cand)
    return None


def _tokens(rows: pd.DataFrame) -> tuple[float, float, float, float]:
    """(fresh input, cache reads, cache writes, output) tokens of ``rows``."""
    return tuple(float(np.nansum(rows[c].to_numpy(float))) for c in
                 ("input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens"))
