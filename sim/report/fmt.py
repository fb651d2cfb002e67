"""How the report writes numbers: money with its currency, shares that never read "0 %" when not zero.

``money(1.23e6, "USD")`` is "$1.23M", ``money(1234567, "USD", exact=True)`` "$1,234,567",
``money(5e5, "CHF")`` "CHF 500k"; ``pct(0.0004)`` "<0.1 %", ``pct(0.9996)`` ">99.9 %", ``pct(0)`` "0 %".
The charts' axes use the same words (``sim.report.plots``).
"""

from __future__ import annotations

import math

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩"}


def symbol(currency: str | None) -> str:
    """The sign written before an amount: "$" for USD, "CHF " for a currency without one."""
    c = (currency or "").strip().upper()
    if not c:
        return ""
    return SYMBOLS.get(c, f"{c} ")


def _finite(v) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def compact(x: float, digits: int = 3) -> str:
    """1.234e6 -> '1.23M', 950 -> '950', 12345 -> '12.3k' (no sign handling beyond '-')."""
    a = abs(x)
    for s, d in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= d * 0.9995:
            v = x / d
            return f"{v:,.0f}{s}" if abs(v) >= 10 ** digits else f"{v:.{digits}g}{s}"
    if a >= 100 or a == 0:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:.{digits}g}"
    return f"{x:.2g}" if a < 0.01 else f"{x:.2f}"


def money(v, currency: str | None, *, exact: bool = False) -> str:
    """An amount with its currency: compact ('$1.23M') or ``exact`` to the unit ('$1,234,567'; below
    100 with cents). None or not finite: '—'."""
    if not _finite(v):
        return "—"
    v = float(v)
    sign = "-" if v < 0 else ""
    a = abs(v)
    if exact:
        body = f"{a:,.0f}" if a >= 100 or a == 0 else (f"{a:,.2f}" if a >= 0.01 else f"{a:.2g}")
    else:
        body = compact(a)
    return f"{sign}{symbol(currency)}{body}"


def pct(v, *, digits: int | None = None) -> str:
    """A share as a percentage: '12 %', '3.4 %' below 10 %, '<0.1 %' for a small share that is not
    zero, '>99.9 %' for one just short of all; exactly 0 and 1 read '0 %' and '100 %'."""
    if not _finite(v):
        return "—"
    v = float(v)
    if v == 0:
        return "0 %"
    if v == 1:
        return "100 %"
    if 0 < v < 0.001:
        return "<0.1 %"
    if 0.999 < v < 1:
        return ">99.9 %"
    if digits is not None:
        return f"{v * 100:.{digits}f} %"
    if abs(v) < 0.1 or 0.99 < v < 1:
        s = f"{v * 100:.1f}"
        return f"{s.rstrip('0').rstrip('.') if s.endswith('.0') else s} %"
    return f"{v * 100:,.0f} %"


def tokens(x) -> str:
    """A token count: '674B', '1.17T'."""
    if not _finite(x):
        return "—"
    return compact(float(x))


def join_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def price(v, currency: str | None) -> str:
    """A unit price to three significant digits: '$1.32', '$0.0112', '$12.5', '$1,250'."""
    if not _finite(v):
        return "—"
    v = float(v)
    a = abs(v)
    body = f"{a:,.0f}" if a >= 100 else f"{a:.2f}" if a >= 0.1 else f"{a:.3g}" if a > 0 else "0"
    return f"{'-' if v < 0 else ''}{symbol(currency)}{body}"
