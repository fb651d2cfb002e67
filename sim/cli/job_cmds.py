"""``tokensim all``: validate, estimate, run and report one scenario in one process (what ``make run`` does).

The four steps are the four commands themselves: each step's flags are parsed by that command's own
parser (``add_validate``, ``add_estimate``, ``add_run``, ``add_report``), and its function runs, so
every file written and every number printed is the one ``tokensim validate``, ``estimate``, ``run``
and ``report`` give. Why one process: each ``tokensim`` process pays the start-up of Python, numpy,
scipy, pandas, xarray and numba (1.3–3.5 s by machine) and the first call of each lazily imported
module; the job pays them once.

With ``--json`` stdout holds one object: ``{"ok": true, "steps": {"validate": {...}, "estimate":
{...}, "run": {...}, "report": {...}}, "seconds": ...}``, each step's object exactly as its command
prints it. A step that fails ends the job with its exit status; with ``--json`` the object is that
step's failure (``ok`` false, ``error``, ``problems``) with ``step`` naming it (and ``steps``, the
ones that finished, when the step itself reported the failure).

Signals: each step is interruptible as its command is (exit status 130, the step under way puts
nothing in place); the steps before it keep the files they put in place. A signal that arrives
once a step's files are in place stops the job before the next step (``interrupt.reopen``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import sys
import time
from pathlib import Path

from . import analysis_cmds, scenario_cmds
from ..io import interrupt
from .common import EXIT_OK, MAX_WORKERS, Checked, OutDir, UsageError, Whole, emit, flag_problems, load_checked
from .registry import Command

STEP_ATTR = "tokensim_step"  # set on an exception a step raised: the failure object's "step"


def add_all(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--out", action=Checked, check=OutDir(), metavar="DIR",
                   help="output directory of every step (default outputs/<scenario name>); the report is DIR/report.html")
    p.add_argument("--paths", action=Checked, check=scenario_cmds.PATHS, metavar="N",
                   help="Monte Carlo paths (default: the scenario's)")
    p.add_argument("--seed", action=Checked, check=scenario_cmds.SEED, metavar="S",
                   help="seed of the Monte Carlo (default: the scenario's)")
    p.add_argument("--workers", action=Checked, check=Whole(1, MAX_WORKERS), metavar="N",
                   help="numba threads of the Monte Carlo; at most the machine's (default: all cores)")
    p.add_argument("--strategy", metavar="NAME", help="the strategy the report is about (default: the first)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _step_args(name: str, add, argv: list[str], want_json: bool) -> argparse.Namespace:
    """``argv`` parsed by a parser built with a command's own ``add`` function (its flags, its defaults).

    Options are passed as ``--flag=VALUE`` and positionals after ``--``, so a value that starts with
    '-' is a value; a value the step's checks refuse is a usage error naming the step."""
    p = argparse.ArgumentParser(prog=f"tokensim all ({name})", add_help=False)

    def error(message: str) -> None:
        raise UsageError(f"{p.prog}: {message}")

    p.error = error  # type: ignore[method-assign]
    add(p)
    ns = p.parse_args(argv)
    bad = flag_problems([p])
    if bad:
        raise UsageError("; ".join(bad))
    ns.json = want_json
    return ns


def _capture(fn, ns: argparse.Namespace) -> tuple[int, dict | None]:
    """Run a command with stdout captured (``--json``): its exit status and the one object it printed."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = int(fn(ns))
    text = buf.getvalue().strip()
    return rc, (json.loads(text.splitlines()[-1]) if text else None)


def cmd_all(args: argparse.Namespace) -> int:
    t0 = time.time()
    want_json = bool(args.json)
    sc = load_checked(args.scenario)  # bad input stops here, located, as tokensim validate reports it
    strategies = [s.name for s in sc.all_strategies()]
    if args.strategy is not None and args.strategy not in strategies:  # before any step runs
        raise UsageError(f"--strategy: unknown strategy {args.strategy!r}; the scenario has: {', '.join(strategies)}")
    out = Path(args.out) if args.out else Path("outputs") / sc.name
    run_opts = [f"--out={out}"]
    for flag, v in (("--paths", args.paths), ("--seed", args.seed), ("--workers", args.workers)):
        if v is not None:
            run_opts.append(f"{flag}={v}")
    if args.quiet:
        run_opts.append("--quiet")
    report_opts = [f"--scenario={args.scenario}", f"--output={out / 'report.html'}"]
    if args.strategy:
        report_opts.append(f"--strategy={args.strategy}")
    plan = (  # (step, its parser's arguments, its function, options, positionals)
        ("validate", scenario_cmds.add_validate, scenario_cmds.cmd_validate, [], [args.scenario]),
        ("estimate", scenario_cmds.add_estimate, scenario_cmds.cmd_estimate, [f"--out={out}"], [args.scenario]),
        ("run", scenario_cmds.add_run, scenario_cmds.cmd_run, run_opts, [args.scenario]),
        ("report", analysis_cmds.add_report, analysis_cmds.cmd_report, report_opts, [str(out)]),
    )
    steps: dict[str, dict] = {}
    for k, (name, add, fn, opts, pos) in enumerate(plan):
        if k:
            interrupt.reopen()  # the step before put its outputs in place; a signal now stops the job
        if not want_json:
            shown = [*opts, "--", *pos] if any(x.startswith("-") for x in pos) else [*pos, *opts]  # as typed
            sys.stdout.write(("\n" if k else "") + f"$ {shlex.join(['tokensim', name, *shown])}\n")
            sys.stdout.flush()
        try:
            ns = _step_args(name, add, [*opts, "--", *pos], want_json)
            rc, obj = _capture(fn, ns) if want_json else (int(fn(ns)), None)
        except Exception as exc:
            setattr(exc, STEP_ATTR, name)  # sim.cli.app names the step in the failure it reports
            raise
        if rc != EXIT_OK and not want_json:
            return rc
        if rc != EXIT_OK:
            failed = dict(obj or {"ok": False, "error": "internal", "problems": [f"tokensim {name} failed"]})
            failed.update(step=name, steps=steps)
            emit(args, failed)  # the one object, through the same writer as every command's
            return rc
        steps[name] = obj or {}
    if want_json:
        emit(args, {"ok": True, "command": "all", "scenario": sc.name, "out": str(out), "steps": steps,
                    "seconds": round(time.time() - t0, 2)})
    return EXIT_OK


COMMANDS: tuple[Command, ...] = (
    Command("all", "validate, estimate, run and report a scenario in one process (what make run does)", add_all,
            cmd_all),
)
