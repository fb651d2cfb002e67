"""Commands from a user's own exports: calibrate (fit and write a scenario) and backtest.

A file that cannot be read raises ``sim.calibrate.usage.UsageError`` (located problems, exit
status 2, error kind "input"); everything is written atomically (``sim.io.files``).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from .common import Checked, Choice, OutFile, UsageError, Whole, emit
from .registry import Command

FORMAT_CHOICES = ("auto", "generic", "openai", "anthropic", "focus", "azure-trace", "mooncake", "servegen")
GROUPS = ("none", "workload", "model", "project", "user")
QUANTITY_CHOICES = ("auto", "requests", "tokens")
MAX_DAYS = 3660


def _read_all(files: list[str], fmt: str):
    from ..calibrate.formats import read
    from ..calibrate.usage import UsageError as FileError, merge

    parts, problems = [], []
    for f in files:
        try:
            parts.append(read(f, fmt))
        except FileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise FileError(problems)
    return merge(parts)


TOKEN_UNIT = 1000.0  # with --quantity tokens, one modelled request is at least 1,000 tokens of the group's mix


def _series(args: argparse.Namespace):
    """The usage read from the files and its daily series of the quantity asked for (``auto``:
    requests where the export counts them, else tokens: Anthropic reports and FOCUS bills do not)."""
    from ..calibrate.series import daily

    u = _read_all(args.files, args.format)
    group = None if args.group_by == "none" else args.group_by
    q = args.quantity
    if q == "auto":
        q = "requests" if u.periods["requests"].notna().any() else "tokens"
    series = daily(u, group, q)
    if q == "tokens":  # a modelled request is s.unit tokens: at least TOKEN_UNIT, and ~10⁵ requests a day at
        for s in series:  # the median, so the engine's Poisson count noise stays below 0.3 %
            s.unit = max(TOKEN_UNIT, float(s.values.dropna().median()) / 1e5)
            s.values = s.values / s.unit
    return u, series


def add_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="usage exports (CSV, Parquet, JSON)")
    p.add_argument("--format", action=Checked, check=Choice(FORMAT_CHOICES), default="auto")
    p.add_argument("--group-by", action=Checked, check=Choice(GROUPS), default="model")
    p.add_argument("--quantity", action=Checked, check=Choice(QUANTITY_CHOICES), default="auto",
                   help="the daily volume to fit: requests, or tokens (auto: requests when the export counts them)")
    p.add_argument("--train-until", default=None, help="last day (YYYY-MM-DD) the fit may see; later days are kept "
                                                       "as actuals only")
    p.add_argument("--months", action=Checked, check=Whole(1, 24), default=1,
                   help="months to forecast from the month after the last training day")
    p.add_argument("--start", default=None, metavar="YYYY-MM",
                   help="first month of the forecast, taken as the day after the last training day (for traces "
                        "without calendar dates, e.g. ServeGen's day 0 = 1970-01-01)")
    p.add_argument("--paths", action=Checked, check=Whole(1, 1_000_000), default=2000)
    p.add_argument("-o", "--output", action=Checked, check=OutFile((".yaml", ".yml")), required=True)


def cmd_calibrate(args: argparse.Namespace) -> int:
    import numpy as np
    import yaml

    from ..calibrate.fit import FitError, fit_series
    from ..calibrate.scenario_out import PLACEHOLDER, forecast_scenario
    from ..calibrate.shape import request_shape
    from ..io.files import staged, write_csv, write_text
    from ..scenario import load_scenario_text

    u, series = _series(args)
    group = None if args.group_by == "none" else args.group_by
    until = None
    if args.train_until:
        try:
            until = dt.date.fromisoformat(args.train_until)
        except ValueError:
            raise UsageError(f"--train-until must be a date YYYY-MM-DD, got {args.train_until!r}") from None
    out = Path(args.output)
    fits, docs, warnings = [], [], list(u.warnings)
    for s in series:
        v = s.values if until is None else s.values[s.values.index.date <= until]
        try:
            fit = fit_series(v, s.group, s.quantity)
        except FitError as exc:
            warnings.append(f"{exc} (not calibrated)")
            continue
        warnings.extend(fit.warnings)
        last = fit.last_day.date()
        if args.start:
            try:
                start = dt.date.fromisoformat(args.start + "-01")
            except ValueError:
                raise UsageError(f"--start must be a month YYYY-MM, got {args.start!r}") from None
            gap = 0
        else:
            start = dt.date(last.year + (last.month // 12), last.month % 12 + 1, 1)
            gap = (start - last).days - 1
        window = u.periods if group is None else u.periods[u.periods[group].astype(str).replace("", "(none)") == s.group]
        window = window[window["start"].dt.date <= last]
        shape = request_shape(window, start)
        if shape.model_ref is None:
            warnings.append(f"{s.group}: no catalog model to price it; requests are priced at a placeholder "
                            f"({PLACEHOLDER}, 1 per million tokens): set workloads[0].models.api")
        inp, outp = shape.input_per_request, shape.output_per_request
        if s.quantity == "tokens":  # a modelled request is s.unit tokens in the group's input/output mix
            tok_in = float(np.nansum([window[c].sum() for c in ("input_tokens", "cached_tokens", "cache_write_tokens")]))
            tok_out = float(np.nansum(window["output_tokens"]))
            inp, outp = s.unit * tok_in / (tok_in + tok_out), s.unit * tok_out / (tok_in + tok_out)
            shape = request_shape(window.assign(requests=(tok_in + tok_out) / s.unit / max(1, len(window))),
                                  start)
        elif inp is None:
            warnings.append(f"{s.group}: the export has no token counts per request; 1 input and 1 output token "
                            "per request assumed (a volume-only forecast)")
        lens = {}
        if u.lengths is not None and s.quantity == "requests":  # per-request lengths of this group's sample
            from ..calibrate.lengths import fit_lengths

            sample = u.lengths if group is None else u.lengths[u.lengths[group].astype(str).replace("", "(none)")
                                                                == s.group]
            lens = {k: fit_lengths(sample[k].to_numpy()) for k in ("input_tokens", "output_tokens")}
        sc = forecast_scenario(fit, start=f"{start.year:04d}-{start.month:02d}", months=args.months, gap=gap,
                               hour_profile=s.hour_profile, paths=args.paths, name=_name(s.group),
                               model=shape.model_ref, input_tokens=inp, output_tokens=outp, discount=shape.discount,
                               cached_share=shape.cached_share,
                               input_spec=_spec(lens.get("input_tokens")), output_spec=_spec(lens.get("output_tokens")))
        if shape.discount is not None and shape.discount < 0:
            warnings.append(f"{s.group}: billed {-shape.discount:.1%} above the catalog's list price for these tokens "
                            "(a premium tier, fees, or tokens the export does not show); not applied: set "
                            "prices.overrides to price it")
        sc["description"] = (f"Calibrated by tokensim calibrate from {', '.join(u.files)} ({', '.join(u.formats)}): "
                             f"{s.quantity} per day of {s.group}, fitted on {fit.days} days "
                             f"{fit.first_day.date()}..{last} (sim.calibrate.fit); every uncertain number is "
                             "its posterior (41 quantiles), correlations from the same draws.")
        text = yaml.safe_dump(sc, sort_keys=False)
        load_scenario_text(text, file=str(out))  # it must validate, or nothing is written
        fits.append(fit.summary() | {"requests": shape.summary(),
                                     "lengths": {k: {x: y for x, y in v.items() if not x.startswith("spec")}
                                                 for k, v in lens.items()}})
        docs.append((s.group, text))
    if not docs:
        raise UsageError("; ".join(warnings) or "nothing to calibrate")
    act = _actuals(u, None if args.group_by == "none" else args.group_by)
    files = {}
    with staged():
        for group, text in docs:
            path = out if len(docs) == 1 else out.with_name(f"{out.stem}.{_name(group)}{out.suffix}")
            write_text(path, text)
            files[group] = str(path)
        act_path = out.with_name(f"{out.stem}.actuals.csv")
        write_csv(act_path, act)
    res = {"ok": True, "command": "calibrate", "files": u.files, "formats": u.formats, "scenarios": files,
           "actuals": str(act_path), "fits": fits, "warnings": warnings}
    lines = [f"calibrated {len(fits)} series from {', '.join(u.files)}"]
    for f in fits:
        lines.append(f"  {f['group']}: {f['days']} days to {f['last_day']}, level {f['level_per_day']:,.0f}/day, "
                     f"trend {f['trend_per_day']['mean']:+.4f}/day (sd {f['trend_per_day']['sd']:.4f}), "
                     f"persistence {f['persistence']['mean']:.2f}, day sd {f['sigma_log']['mean']:.3f} -> "
                     f"{files[f['group']]}")
    lines += [f"  warning: {w}" for w in warnings]
    emit(args, res, "\n".join(lines))
    return 0


def _spec(fitted: dict | None) -> dict | None:
    """The length spec a fit chose (lognormal or empirical), or None (too few requests: the mean)."""
    return fitted["spec"] if fitted and fitted["choice"] in ("lognormal", "empirical") else None


def _actuals(u, group: str | None):
    """Every group's daily totals of each quantity the export carries (missing days empty), for
    budget-vs-actuals and later comparisons."""
    import pandas as pd

    from ..calibrate.series import daily
    from ..calibrate.usage import QUANTITIES

    cols = {}
    for q in QUANTITIES:
        if u.periods[q].notna().any():
            for s in daily(u, group, q):
                cols.setdefault(s.group, {})[q] = s.values
    frames = [pd.DataFrame(v).rename_axis("day").reset_index().assign(group=g) for g, v in cols.items()]
    act = pd.concat(frames, ignore_index=True)
    act["day"] = pd.to_datetime(act["day"]).dt.date
    act["workload"] = act["group"].map(_name)  # the workload name of the group in the calibrated scenario
    return act[["group", "workload", "day"] + [q for q in QUANTITIES if q in act.columns]]


def _name(group: str) -> str:
    from ..calibrate.scenario_out import safe_name

    return safe_name(group)


def add_backtest(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="usage exports (CSV, Parquet, JSON)")
    p.add_argument("--format", action=Checked, check=Choice(FORMAT_CHOICES), default="auto")
    p.add_argument("--group-by", action=Checked, check=Choice(GROUPS), default="model")
    p.add_argument("--quantity", action=Checked, check=Choice(QUANTITY_CHOICES + ("cost",)), default="auto",
                   help="the daily series to forecast and score: requests, tokens or cost (auto: requests when "
                        "counted, else tokens); cost is forecast as a volume of its own (prices constant in the window)")
    p.add_argument("--train-days", action=Checked, check=Whole(4, MAX_DAYS), required=True)
    p.add_argument("--horizon-days", action=Checked, check=Whole(1, 31), default=7)
    p.add_argument("--origins", action=Checked, check=Whole(1, 1000), default=None)
    p.add_argument("--paths", action=Checked, check=Whole(100, 100_000), default=2000)
    p.add_argument("--min-days", action=Checked, check=Whole(1, MAX_DAYS), default=None,
                   help="skip series with fewer complete days (default: train + horizon days)")
    p.add_argument("--csv", action=Checked, check=OutFile((".csv",)), default=None,
                   help="write every held-out day's forecast and actual here")
    p.add_argument("--html", action=Checked, check=OutFile((".html", ".htm")), default=None,
                   help="write a page with the scores, the band-vs-actual chart and the PIT histogram "
                        "(its tables as CSV beside it)")


def cmd_backtest(args: argparse.Namespace) -> int:
    from ..io.files import staged, write_csv
    from ..studies.backtest import backtest

    u, series = _series(args)
    need = args.min_days or args.train_days + args.horizon_days
    skipped = [s.group for s in series if s.values.size < need]
    keep = [s for s in series if s.values.size >= need]
    if not keep:
        raise UsageError(f"no series has {need} days (train {args.train_days} + horizon {args.horizon_days}); "
                         f"the longest has {max(s.values.size for s in series)}")
    bt = backtest(keep, args.train_days, args.horizon_days, args.origins, args.paths)
    r = bt.result()
    unit = keep[0].unit
    r["quantity"] = keep[0].quantity if unit == 1 else f"{keep[0].quantity} (×{unit:,.0f})"
    r["warnings"] = list(u.warnings) + r["warnings"] + [f"{g}: too short, skipped" for g in skipped]
    if r["pooled"].get("days_evaluated", 0) == 0:
        raise UsageError("no held-out day could be scored: " + "; ".join(r["warnings"]))
    if args.csv:
        with staged():
            write_csv(Path(args.csv), bt.table())
    if args.html:
        from ..report.backtest import backtest_page
        from ..report.html import write_report

        page, tables = backtest_page(r, bt.table(), u.files)
        r["html"] = [str(p) for p in write_report(Path(args.html), page, tables)]
    p = r["pooled"]
    text = [f"backtest: train {args.train_days} days, forecast {args.horizon_days}, {p['days_evaluated']} held-out "
            f"days over {len(r['series'])} series, {args.paths:,} paths",
            f"{'':14}{'P5-P95':>8}{'P25-P75':>9}{'CRPS':>8}{'bias':>8}{'last-wk':>9}{'spread':>8}"]
    for name, q in [("pooled", p)] + list(r["series"].items()):
        text.append(f"{name[:14]:14}{q['coverage']['p5_p95']:>8.0%}{q['coverage']['p25_p75']:>9.0%}{q['crps']:>8.3f}"
                    f"{q['bias']:>+8.1%}{q['baselines']['last_week_repeated']['crps']:>9.3f}"
                    f"{q['baselines']['training_spread']['crps']:>8.3f}")
    text.append("coverage: share of held-out days inside the band (nominal 90 % and 50 %); CRPS relative to the "
                "actual (lower is better; last-wk and spread are the naive baselines')")
    text += [f"warning: {w}" for w in r["warnings"]]
    emit(args, {"ok": True, "command": "backtest", **r}, "\n".join(text))
    return 0


COMMANDS: tuple[Command, ...] = (
    Command("calibrate", "fit demand to usage exports (OpenAI, Anthropic, generic, traces) and write a scenario",
            add_calibrate, cmd_calibrate),
    Command("backtest", "rolling-origin backtest of the fitted forecast: band coverage, CRPS, bias, PIT",
            add_backtest, cmd_backtest),
)
