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

    if not files:
        raise UsageError("no usage or billing export among the files (a FOCUS Contract Commitment dataset needs the "
                         "cost export whose usage it covers)")
    parts, problems = [], []
    for f in files:
        try:
            parts.append(read(f, fmt))
        except FileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise FileError(problems)
    return merge(parts)


def _series(args: argparse.Namespace, files: list[str] | None = None):
    """The usage read from the files and its daily volume series (``sim.calibrate.calibrate``)."""
    from ..calibrate.calibrate import volume_series

    u = _read_all(args.files if files is None else files, args.format)
    return u, volume_series(u, None if args.group_by == "none" else args.group_by, args.quantity)


def add_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="usage exports (CSV, Parquet, JSON); a FOCUS 1.3 Contract Commitment dataset among them "
                        "becomes the scenario's contracts")
    p.add_argument("--format", action=Checked, check=Choice(FORMAT_CHOICES), default="auto")
    p.add_argument("--group-by", action=Checked, check=Choice(GROUPS), default="model")
    p.add_argument("--quantity", action=Checked, check=Choice(QUANTITY_CHOICES), default="auto",
                   help="the daily volume to fit: requests, or tokens (auto: requests when the export counts them)")
    p.add_argument("--train-until", default=None, help="last day (YYYY-MM-DD) the fit may see; later days are kept "
                                                       "as actuals only")
    p.add_argument("--months", action=Checked, check=Whole(1, 24), default=1,
                   help="months to forecast from the month after the last training day")
    p.add_argument("--start", default=None, metavar="YYYY-MM",
                   help="first month of the forecast (default: the month after the last training day); for traces "
                        "without calendar dates (ServeGen's day 0 = 1970-01-01) it is taken as the day after the last "
                        "training day, weekday included")
    p.add_argument("--paths", action=Checked, check=Whole(1, 1_000_000), default=2000)
    p.add_argument("-o", "--output", action=Checked, check=OutFile((".yaml", ".yml")), required=True)


def cmd_calibrate(args: argparse.Namespace) -> int:
    import yaml

    from ..calibrate.calibrate import actuals_table, calibrate_group, combine, forecast_start, last_training_day
    from ..limits import MAX_SCENARIO_BYTES, MAX_WORKLOADS
    from ..calibrate.scenario_out import workload_names
    from ..catalog.prices import PriceBook
    from ..calibrate.fit import FitError
    from ..io.files import staged, write_csv, write_text
    from ..scenario import load_scenario_text

    until = start = None
    if args.train_until:
        try:
            until = dt.date.fromisoformat(args.train_until)
        except ValueError:
            raise UsageError(f"--train-until must be a date YYYY-MM-DD, got {args.train_until!r}") from None
    if args.start:
        try:
            start = dt.date.fromisoformat(args.start + "-01")
        except ValueError:
            raise UsageError(f"--start must be a month YYYY-MM, got {args.start!r}") from None
    from ..calibrate.commitments import is_commitment_dataset

    commit_files = [f for f in args.files if Path(f).is_file() and is_commitment_dataset(f)]
    u, series = _series(args, [f for f in args.files if f not in commit_files])
    group = None if args.group_by == "none" else args.group_by
    last = max((s.values.index[-1] for s in series), default=None)
    if start is None and last is not None and last.year < 2000:
        raise UsageError(f"the export's days end on {last.date()}: a trace without calendar dates (ServeGen and "
                         "Mooncake count from 1970-01-01); give the forecast's first month with --start YYYY-MM")
    out = Path(args.output)
    if len(series) > MAX_WORKLOADS:
        raise UsageError(f"{len(series):,} groups by {args.group_by}: a scenario holds at most {MAX_WORKLOADS} "
                         "workloads; use a coarser --group-by")
    names = workload_names([s.group for s in series])
    trained = last_training_day(series, until)
    if start is None:
        start_day, next_day = forecast_start(series, until), False
    else:
        # a trace without calendar dates: --start is the day after training, weekday included; dated
        # data keep their weekdays and carry the days between through the AR(1) state
        next_day = trained is not None and trained.year < 2000
        if trained is not None and not next_day and start <= trained:
            raise UsageError(f"--start {args.start} is not after the last training day ({trained}): the forecast "
                             "must start after the days it is fitted on (or use --train-until)")
        start_day = start
    cals, warnings = [], list(u.warnings)
    book = PriceBook(start_day) if start_day is not None else None  # shared by every group's price lookups
    for s in series:
        try:
            c = calibrate_group(u, s, group, until=until, start=start_day, next_day=next_day, months=args.months,
                                paths=args.paths, name=names[s.group], export_last=trained, book=book)
        except FitError as exc:
            warnings.append(f"{exc} (not calibrated)")
            continue
        warnings.extend(c.warnings)
        cals.append(c)
    if not cals:
        raise UsageError("; ".join(warnings) or "nothing to calibrate")
    scenario, cross = combine(cals, f"{', '.join(u.files)} ({', '.join(u.formats)})")
    commitments = None
    if commit_files:
        commitments = _commitments(commit_files, u, scenario)
        warnings.extend(commitments.pop("warnings"))
    text = yaml.safe_dump(scenario, sort_keys=False)
    size = len(text.encode())
    if size > MAX_SCENARIO_BYTES:  # the loader would refuse to read it back
        raise UsageError(f"{len(cals):,} groups by {args.group_by} make a scenario of {size:,} bytes; a scenario file "
                         f"may be at most {MAX_SCENARIO_BYTES:,}: use a coarser --group-by")
    load_scenario_text(text, file=str(out))  # it must validate, or nothing is written
    act = actuals_table(u, group, names)
    with staged():
        write_text(out, text)
        act_path = out.with_name(f"{out.stem}.actuals.csv")
        write_csv(act_path, act)
    fits = [c.summary | {"workload": names[c.group]} for c in cals]
    res = {"ok": True, "command": "calibrate", "files": u.files, "formats": u.formats, "scenario": str(out),
           "scenarios": {c.group: str(out) for c in cals}, "actuals": str(act_path), "fits": fits,
           "cross_series": cross, "warnings": warnings}
    if commitments is not None:
        res["commitments"] = commitments
    lines = [f"calibrated {len(fits)} series from {', '.join(u.files)} -> {out}"]
    for f in fits:
        lines.append(f"  {f['group']}: {f['days']} days to {f['last_day']}, level {f['level_per_day']:,.0f}/day, "
                     f"trend {f['trend_per_day']['mean']:+.4f}/day (sd {f['trend_per_day']['sd']:.4f}), "
                     f"persistence {f['persistence']['mean']:.2f}, day sd {f['sigma_log']['mean']:.3f}")
    if cross["correlation"] is not None:
        pairs = cross["pairs"]
        shown = ", ".join(f"{q['rho']:+.2f} over {q['days']} days" for q in pairs[:3]) + (", ..." if len(pairs) > 3 else "")
        lines.append(f"  day-to-day innovations correlated {cross['correlation']:.2f} between series (the mean over "
                     f"{len(pairs)} pair{'s' if len(pairs) != 1 else ''}: {shown or 'none with 7 common days'}; at least 0)")
    if commitments is not None:
        lines.append(f"  contracts from {', '.join(commit_files)}: "
                     f"{', '.join(commitments['contracts']) or 'none the scenario can express'}")
    lines += [f"  warning: {w}" for w in warnings]
    emit(args, res, "\n".join(lines))
    return 0


def _commitments(files: list[str], u, scenario: dict) -> dict:
    """The FOCUS Contract Commitment datasets as the scenario's ``contracts`` (added to ``scenario``),
    what the FOCUS cost exports among the usage files drew on them, and the warnings."""
    from ..calibrate.commitments import commitment_use, contract_entries, read_commitments, utilisation
    from ..calibrate.usage import UsageError as FileError

    read, problems, warnings = [], [], []
    for f in files:
        try:
            cf = read_commitments(f)
        except FileError as exc:
            problems.extend(exc.problems)
            continue
        read.extend(cf.commitments)
        warnings.extend(cf.warnings)
    if problems:
        raise FileError(problems)
    focus = [f for f, fmt in zip(u.files, u.formats) if fmt == "focus"]
    use = commitment_use(focus) if focus else None
    if use is not None:
        warnings.extend(use.warnings)
    h = scenario["horizon"]
    ce = contract_entries(read, start=h["start"], months=int(h["months"]), use=use, currency=u.currency)
    warnings.extend(ce.warnings)
    scenario["contracts"] = ce.entries
    return {"files": files, "contracts": [e["name"] for e in ce.entries], "ids": ce.names,
            "use": use.summary() if use is not None else None,
            "utilisation": utilisation(read, use) if use is not None else [], "warnings": warnings}


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
