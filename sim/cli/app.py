"""``tokensim``: the registered commands, parsing, dispatch and the exit status.

Exit status: 0 success, 2 bad input (scenario, flags, files, an output directory another process
holds), 1 an unexpected internal error (reported in one line, with the traceback only when
TOKENSIM_DEBUG is set), 130 interrupted by SIGINT or SIGTERM ("tokensim: interrupted"; nothing new is
in place: see ``sim.io.interrupt``). With ``--json`` stdout holds exactly one JSON object, whatever
happens; messages also go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import analysis_cmds, calibrate_cmds, catalog_cmds, job_cmds, registry, scenario_cmds, size_cmds
from ..io import interrupt, outdir
from .common import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    Finished,
    UsageError,
    emit,
    flag_problems,
)
from .registry import Command, parsers

COMMANDS: tuple[Command, ...] = (scenario_cmds.COMMANDS + job_cmds.COMMANDS + analysis_cmds.COMMANDS
                                 + calibrate_cmds.COMMANDS + size_cmds.COMMANDS + catalog_cmds.COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    """The ``tokensim`` parser with every registered command."""
    return registry.build_parser(COMMANDS)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in argv

    def interrupted() -> int:
        with interrupt.shielded():  # a second Ctrl-C does not cut the message
            if want_json:
                sys.stdout.write(json.dumps({"ok": False, "error": "interrupted",
                                             "problems": ["tokensim: interrupted"]}) + "\n")
            sys.stderr.write("tokensim: interrupted\n")
            sys.stdout.flush()
        return EXIT_INTERRUPTED

    # SIGINT and SIGTERM raise KeyboardInterrupt at a safe point (never inside a kernel or a write);
    # the output directories the command took are released however it ends
    restore = interrupt.install()
    try:
        try:
            return _main(argv, want_json)
        except KeyboardInterrupt:
            return interrupted()
        except Exception as exc:  # an exception an interrupt turned into another (numba's SystemError)
            if interrupt.caused_by_interrupt(exc) or interrupt.pending():
                return interrupted()
            raise
    finally:
        with interrupt.shielded():
            outdir.release_claims()
        restore()


def _main(argv: list[str], want_json: bool) -> int:
    step = None  # the step of ``tokensim all`` that failed (job_cmds.STEP_ATTR on its exception)

    def fail(problems: list[str], kind: str) -> int:
        if want_json:
            obj = {"ok": False, "error": kind, "problems": problems}
            if step:
                obj["step"] = step
            sys.stdout.write(json.dumps(obj) + "\n")
        for msg in problems:
            sys.stderr.write(msg + "\n")
        return EXIT_BAD_INPUT

    # argparse exits with status 2 on bad flags; keep its message (after the command's name) but honour --json
    def parse_error(prog: str):
        def error(message: str) -> None:
            raise UsageError(f"{prog}: {message}")

        return error

    all_parsers = []
    try:
        parser = build_parser()
        all_parsers = parsers(parser)
        for p in all_parsers:
            p.error = parse_error(p.prog)  # type: ignore[method-assign]
        args = parser.parse_args(argv)
        bad = flag_problems(all_parsers)
        if bad:
            return fail(bad, "usage")
        command: Command | None = getattr(args, "_command", None)
        if command is None:
            parser.print_help(sys.stderr)
            return fail(["tokensim: give a command (see --help)"], "usage")
        return int(command.run(args))
    except Finished as done:  # --help, --version
        emit(argparse.Namespace(json=want_json), done.obj, done.text)
        return 0
    except UsageError as exc:
        step = getattr(exc, job_cmds.STEP_ATTR, None)
        msg = str(exc) if str(exc).startswith("tokensim") else f"tokensim: {exc}"
        return fail(flag_problems(all_parsers) + [msg], "usage")
    except Exception as exc:
        step = getattr(exc, job_cmds.STEP_ATTR, None)
        if interrupt.caused_by_interrupt(exc) or interrupt.pending():
            raise interrupt.Interrupted() from exc  # reported by main, exit status 130
        from ..io.files import OutputError
        from ..scenario import ScenarioError

        from ..calibrate.usage import UsageError as InputFileError

        if isinstance(exc, InputFileError):  # a usage export that cannot be read
            return fail([str(p) for p in exc.problems], "input")
        if isinstance(exc, ScenarioError):
            return fail([str(p) for p in exc.problems], "scenario")
        if isinstance(exc, OutputError):
            return fail([f"tokensim: {exc}"], "output")
        from ..finite import NonFiniteResultError

        if isinstance(exc, NonFiniteResultError):  # located: which variable, where; nothing written
            return fail([f"tokensim: {exc}"], "result")
        if os.environ.get("TOKENSIM_DEBUG"):
            raise
        msg = f"tokensim: internal error: {type(exc).__name__}: {exc} (set TOKENSIM_DEBUG=1 for details)"
        if want_json:
            sys.stdout.write(json.dumps({"ok": False, "error": "internal", "problems": [msg],
                                         **({"step": step} if step else {})}) + "\n")
        sys.stderr.write(msg + "\n")
        return EXIT_INTERNAL

