"""The ServeGen backtest table of docs/calibration.md (not a test): four window lengths, pooled.

Usage: .venv/bin/python calibration/backtest_servegen.py   (about 10 s)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.calibrate.formats import read
from sim.calibrate.series import daily
from sim.studies.backtest import Backtest, backtest

WINDOWS = ((7, 7), (7, 3), (5, 2), (7, 1))


def main() -> None:
    u = read(Path(__file__).resolve().parent / "traces" / "servegen_rate_10min.csv")
    series = [s for s in daily(u, "model") if s.group in ("m-large", "m-small")]
    tables = []
    print("| train / forecast | days | P5–P95 | P25–P75 | CRPS | median bias | CRPS last week | CRPS spread |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n, h in WINDOWS:
        b = backtest(series, n, h, paths=2000)
        t = b.table()
        tables.append(t)
        _row(f"{n} / {h}", b.pooled(t))
    _row("**all scored days**", Backtest(0, 0, 2000).pooled(pd.concat(tables, ignore_index=True)))


def _row(name: str, p: dict) -> None:
    print(f"| {name} | {p['days_evaluated']} | {p['coverage']['p5_p95']:.0%} | {p['coverage']['p25_p75']:.0%} | "
          f"{p['crps']:.3f} | {p['bias']:+.1%} | {p['baselines']['last_week_repeated']['crps']:.3f} | "
          f"{p['baselines']['training_spread']['crps']:.3f} |")


if __name__ == "__main__":
    main()
