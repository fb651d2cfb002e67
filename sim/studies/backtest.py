"""Rolling-origin backtests: fit on N days, forecast the next H through the Monte Carlo engine.

For each series and origin o (K origins, the last one leaving H days to forecast, spaced so they
cover the held-out days once where the series allows), the demand model is fitted on days
o − N … o − 1 only (``sim.calibrate.fit``), written as a scenario (``scenario_out``) and run by
``simulate_block`` with daily outputs; the held-out days o … o + H − 1 are never seen by the fit.
Scores per held-out day: inside P5–P95 and P25–P75, CRPS (from the paths, relative to the actual),
median ÷ actual − 1, and the PIT value; pooled over days, origins and series. Two naive baselines
are scored on the same days: the last training week repeated (a point forecast; its CRPS is the
absolute error) and the training days' empirical distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..calibrate.fit import fit_series
from ..calibrate.scenario_out import forecast_scenario
from ..calibrate.series import DailySeries
from ..catalog.prices import PriceBook
from ..mc.engine import simulate_block
from ..mc.sampling import draw, shape_points
from ..mc.tables import build_tables
from ..scenario import load_scenario_text

PIT_BINS = 10


def crps_sample(x: np.ndarray, y: float) -> float:
    """CRPS of the sample ``x`` at ``y``: E|X − y| − ½·E|X − X′| (sorted-sample form, O(n log n))."""
    x = np.sort(np.asarray(x, float))
    n = x.size
    return float(np.mean(np.abs(x - y)) - np.sum((2 * np.arange(1, n + 1) - n - 1) * x) / (n * n))


@dataclass
class DayScore:
    series: str
    origin: str
    day: str
    horizon: int
    actual: float
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float
    crps: float  # relative to the actual
    pit: float
    crps_last_week: float
    crps_train_spread: float


@dataclass
class Backtest:
    """Scores of every held-out day, and the pooled figures."""

    train_days: int
    horizon_days: int
    paths: int
    days: list[DayScore] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([d.__dict__ for d in self.days])

    def pooled(self, df: pd.DataFrame | None = None) -> dict:
        df = self.table() if df is None else df
        if df.empty:
            return {"days_evaluated": 0}
        a = df["actual"]
        pit = np.histogram(df["pit"], bins=PIT_BINS, range=(0.0, 1.0))[0]
        return {
            "days_evaluated": int(len(df)),
            "coverage": {"p5_p95": float(((df["p5"] <= a) & (a <= df["p95"])).mean()),
                         "p25_p75": float(((df["p25"] <= a) & (a <= df["p75"])).mean())},
            "crps": float(df["crps"].mean()),
            "bias": float((df["p50"] / a - 1).median()),
            "bias_mean": float((df["p50"] / a - 1).mean()),
            "pit": pit.tolist(),
            "baselines": {"last_week_repeated": {"crps": float(df["crps_last_week"].mean())},
                          "training_spread": {"crps": float(df["crps_train_spread"].mean())}},
        }

    def result(self) -> dict:
        df = self.table()
        return {"train_days": self.train_days, "horizon_days": self.horizon_days, "paths": self.paths,
                "pooled": self.pooled(df),
                "series": {s: self.pooled(g) for s, g in df.groupby("series")} if not df.empty else {},
                "warnings": self.warnings}


def _forecast(fit, hour_profile, skip: int, horizon: int, paths: int, seed: int) -> np.ndarray:
    """(paths, horizon) daily volume ``skip`` days after the day after the fit's last day: the
    forecast starts the day after the training window and runs through any missing days up to the
    origin, so the persistent shock evolves through them."""
    import yaml

    need = skip + horizon
    months = 1 if need <= 28 else -(-need // 28)
    start = _month_starting_on((fit.last_day + pd.Timedelta(days=1)).day_of_week)
    text = yaml.safe_dump(forecast_scenario(fit, start=start, months=months, hour_profile=hour_profile, paths=paths,
                                            seed=seed), sort_keys=False)
    sc = load_scenario_text(text, file="<backtest>")
    book = PriceBook(sc.price_date, sc.prices.overrides)
    tab = build_tables(sc, shape_points(sc, 1, True), book)
    out = simulate_block(sc, tab, draw(sc, np.arange(paths), tab.calls.shape[0]), book, keep_daily=True)
    return np.asarray(out["daily_sessions"][:, skip:skip + horizon, 0])


def _month_starting_on(weekday: int) -> str:
    """A month (from 2027) whose first day falls on ``weekday``: the forecast's day 0 keeps the
    weekday of the day after the training window, so fitted weekday effects land on the right days."""
    import datetime as dt

    for i in range(14):
        y, m = divmod(i, 12)
        if dt.date(2027 + y, m + 1, 1).weekday() == weekday:
            return f"{2027 + y:04d}-{m + 1:02d}"
    raise AssertionError("every weekday starts some month within 14 months")


COUNT_SCALE = 1e6  # volumes that are not counts (tokens, cost) are forecast as ~10⁶ units a day


def origins(n_days: int, train: int, horizon: int, k: int | None) -> list[int]:
    """Origins (index of the first forecast day): the latest leaves ``horizon`` days; K spaced back."""
    last = n_days - horizon
    if last < train:
        return []
    step = max(1, horizon)
    out = list(range(last, train - 1, -step))
    if k is not None:
        out = out[:k] if len(out) >= k else list(range(last, max(train, last - k + 1) - 1, -1))[:k]
    return sorted(out)


def backtest(series: list[DailySeries], train_days: int, horizon_days: int, n_origins: int | None = None,
             paths: int = 2000, seed: int = 20261201) -> Backtest:
    """Rolling-origin backtest of every series (see the module docstring)."""
    bt = Backtest(train_days, horizon_days, paths)
    for s in series:
        v = s.values
        os_ = origins(len(v), train_days, horizon_days, n_origins)
        if not os_:
            bt.warnings.append(f"{s.group}: {len(v)} days cannot hold {train_days} training and {horizon_days} "
                               "held-out days")
            continue
        for o in os_:
            train, test = v.iloc[o - train_days:o], v.iloc[o:o + horizon_days]
            if train.dropna().size < 4:
                bt.warnings.append(f"{s.group} origin {v.index[o].date()}: too few complete training days")
                continue
            # requests are counts (their Poisson noise is real); tokens and cost are not: scaled to
            # about 10⁶ units a day so the engine's count noise is negligible
            scale = 1.0 if s.quantity == "requests" else float(train.dropna().median()) / COUNT_SCALE or 1.0
            fit = fit_series(train / scale, s.group, s.quantity, seed=seed + o)
            bt.warnings.extend(w for w in fit.warnings if w not in bt.warnings)
            skip = int((v.index[o] - fit.last_day) / pd.Timedelta(days=1)) - 1  # missing days before the origin
            f = scale * _forecast(fit, s.hour_profile, skip, horizon_days, paths, seed + o)
            tr = train.dropna().to_numpy(float)
            for h in range(horizon_days):
                a = float(test.iloc[h]) if h < len(test) else np.nan
                if not np.isfinite(a) or a <= 0:
                    continue
                x = f[:, h]
                q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
                lw = train.iloc[-7 + h % 7] if train_days >= 7 else train.iloc[-1]
                bt.days.append(DayScore(
                    s.group, v.index[o].date().isoformat(), test.index[h].date().isoformat(), h + 1, a,
                    *map(float, q), crps_sample(x, a) / a, float(np.mean(x < a) + 0.5 * np.mean(x == a)),
                    float(abs(lw - a) / a) if np.isfinite(lw) else np.nan, crps_sample(tr, a) / a))
    return bt
