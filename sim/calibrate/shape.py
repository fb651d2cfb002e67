"""What one request of a group looks like, and what it was billed against list price.

From the training window of one group: mean tokens per request (all input, the cached share of it,
output), the model when the price catalog knows it, and, when the export carries cost, the
effective price paid against the catalog's list price for the same tokens. The scenario carries the
observed cache reads as a cached shared prefix and cache writes as fresh input (their premium is
not fitted), so the discount it carries is against that modelled cost and closes the gap to the bill.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..catalog.prices import PriceBook


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

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def model_candidates(name: str) -> list[str]:
    """Spellings of a billed model name to look up in the catalog: as billed, then lower case with
    words and digit runs hyphenated (FOCUS meters: 'Claude3.5Sonnet' -> 'claude-3.5-sonnet',
    'gpt 4o mini 0718' -> 'gpt-4o-mini-0718'), then without a trailing date or version stamp."""
    out = [name]
    t = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z]{2,})", "-", name.strip().lower())
    t = re.sub(r"[\s_]+", "-", t)
    out.append(t)
    out.append(re.sub(r"-(\d{4}|\d{8}|\d{4}-\d{2}-\d{2}|v\d+(:\d+)?)$", "", t))
    return list(dict.fromkeys(out))


def request_shape(periods: pd.DataFrame, price_date: _dt.date) -> RequestShape:
    """The shape of the requests in ``periods`` (one group's training window)."""
    tot = {c: float(periods[c].sum(min_count=1)) if periods[c].notna().any() else np.nan
           for c in ("requests", "input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens", "cost")}
    n = tot["requests"]
    fresh = np.nan_to_num(tot["input_tokens"])
    cached, write = np.nan_to_num(tot["cached_tokens"]), np.nan_to_num(tot["cache_write_tokens"])
    inp = fresh + cached + write
    have_tokens = not np.isnan(tot["input_tokens"]) or not np.isnan(tot["output_tokens"])
    models = sorted(set(periods["model"]) - {""})
    ref = None
    card = None
    if len(models) == 1:
        book = PriceBook(price_date)
        for name in model_candidates(models[0]):
            try:
                card = book.card(name)
                ref = f"{card.provider}/{card.model_id}"
                break
            except Exception:  # noqa: BLE001 - an unknown model: the caller says so
                card = None
    list_cost = modelled = None
    if card is not None and have_tokens:
        r = card.base
        out = np.nan_to_num(tot["output_tokens"]) * r.output
        list_cost = (fresh * r.input + cached * r.cached_input + write * r.cache_write_5m + out) / 1e6
        # as the scenario prices them: cache reads as a shared cached prefix, the rest of the input fresh
        modelled = ((fresh + write) * r.input + cached * r.cached_input + out) / 1e6
    billed = None if np.isnan(tot["cost"]) else tot["cost"]
    disc = (1.0 - billed / modelled) if billed is not None and modelled else None
    ok_n = n > 0 if not np.isnan(n) else False
    return RequestShape(
        n, inp / n if ok_n and have_tokens else None, cached / inp if inp > 0 else None,
        float(np.nan_to_num(tot["output_tokens"]) / n) if ok_n and have_tokens else None, ref, billed, list_cost,
        modelled, disc)
