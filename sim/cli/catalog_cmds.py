"""tokensim models: list or search the model catalog (``sim.catalog.listing``)."""

from __future__ import annotations

import argparse

from .common import Checked, UsageError, Whole, emit
from .registry import Command


def add_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", nargs="?", default=None, metavar="QUERY",
                   help="part of a model's ref or name, any case (e.g. sonnet, gpt-4.1, gemini-2.5)")
    p.add_argument("--provider", default=None, metavar="P", help="only this provider (e.g. anthropic, openai, google)")
    p.add_argument("--price-date", default=None, metavar="YYYY-MM-DD", help="prices in force on this date (default today)")
    p.add_argument("--limit", action=Checked, check=Whole(1, 100_000), default=50, metavar="N",
                   help="at most N rows in the table (--json lists every match)")
    p.add_argument("--no-deprecated", action="store_true", help="leave out models the library marks deprecated")


def cmd_models(args: argparse.Namespace) -> int:
    import datetime as dt

    from ..catalog.listing import list_models
    from ..catalog.prices import PriceBook

    when = dt.date.today()
    if args.price_date is not None:
        try:
            when = dt.date.fromisoformat(args.price_date)
        except ValueError:
            raise UsageError(f"--price-date must be a calendar date YYYY-MM-DD, got {args.price_date!r}") from None
    book = PriceBook(when)
    if args.provider and not any(p.id.lower() == args.provider.strip().lower() for p, _ in book.library_models()):
        have = sorted({p.id for p, _ in book.library_models()})
        raise UsageError(f"--provider {args.provider!r}: not a provider of the price library; it has: {', '.join(have)}")
    rows, unpriced = list_models(book, args.query, args.provider, include_deprecated=not args.no_deprecated)
    obj = {"ok": True, "command": "models", "price_date": when.isoformat(), "source": book.source,
           "count": len(rows), "unpriced": unpriced, "models": [r.to_json() for r in rows]}
    lines = [f"{len(rows):,} model(s) in {book.source}, prices on {when.isoformat()}, USD per million tokens"
             + (f" matching {args.query!r}" if args.query else "") + (f" of {args.provider}" if args.provider else "")
             + ":", f"{'ref':<48}{'input':>9}{'output':>9}{'cached':>9}{'write5m':>9}{'batch':>8}{'context':>10}  notes"]
    for r in rows[:args.limit]:
        notes = []
        if r.long_context_thresholds:
            notes.append("long context above " + ", ".join(f"{t:,}" for t in r.long_context_thresholds))
        if r.per_1k_requests:
            notes.append(f"{r.per_1k_requests:g} USD per 1,000 requests (not in token costs)")
        if r.deprecated:
            notes.append("deprecated")
        batch = f"{r.batch_factor:g}×" + ("" if r.batch_from_library else "*")
        ctx = f"{r.context_window:,}" if r.context_window else "—"
        lines.append(f"{r.ref[:47]:<48}{r.input_price:>9.3g}{r.output_price:>9.3g}{r.cached_input_price:>9.3g}"
                     f"{r.cache_write_5m_price:>9.3g}{batch:>8}{ctx:>10}  {'; '.join(notes)}")
    if len(rows) > args.limit:
        lines.append(f"({len(rows) - args.limit:,} more: --limit N, or --json for all)")
    lines.append("* no batch price in the library: batch runs at our 0.5 × default (sim/catalog/rates.py)")
    if unpriced:
        lines.append(f"{unpriced} matching model(s) have no price on {when.isoformat()} and are left out")
    emit(args, obj, "\n".join(lines))
    return 0


COMMANDS: tuple[Command, ...] = (
    Command("models", "list or search the model catalog: prices, cache rates, batch, context", add_models, cmd_models),
)
