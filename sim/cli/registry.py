"""The command registry: a typed list of commands and the one parser built from it.

A :class:`Command` is a name, a one-line help, a function adding its arguments to its sub-parser,
and the function running it. ``build_parser(commands)`` gives every command ``-h/--help`` and
``--json`` (so every command takes ``--json``), and ``tokensim --version``. Command modules
(``scenario_cmds``, ``analysis_cmds``) each export a ``COMMANDS`` tuple; ``app`` concatenates them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import __version__
from .common import Finished

PROG = "tokensim"
DESCRIPTION = "Forecast AI token spend: API, neocloud and owned GPUs."


@dataclass(frozen=True)
class Command:
    """One ``tokensim`` sub-command."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class _Help(argparse.Action):
    """-h/--help: the parser's help as text, or as {"ok": true, "help": ...} with --json."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        text = parser.format_help()
        command = parser.prog[len(PROG):].strip() or None
        raise Finished({"ok": True, "command": command, "help": text}, text)


class _Version(argparse.Action):
    """--version: ``tokensim X.Y.Z``, or {"ok": true, "name": "tokensim", "version": ...} with --json."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        raise Finished({"ok": True, "name": PROG, "version": __version__}, f"{PROG} {__version__}")


def build_parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    """The ``tokensim`` parser with one sub-parser per command (names must be unique)."""
    p = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, add_help=False)
    p.add_argument("-h", "--help", action=_Help, help="show this help (one JSON object with --json)")
    p.add_argument("--version", action=_Version, help="show the version (one JSON object with --json)")
    p.add_argument("--json", action="store_true", help="print one JSON object (with --help or --version)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    seen: set[str] = set()
    for c in commands:
        if c.name in seen:
            raise ValueError(f"command {c.name!r} registered twice")
        seen.add(c.name)
        sp = sub.add_parser(c.name, help=c.help, description=c.help, add_help=False)
        sp.add_argument("-h", "--help", action=_Help, help="show this help (one JSON object with --json)")
        c.add_arguments(sp)
        sp.add_argument("--json", action="store_true", help="print one JSON object")
        sp.set_defaults(_command=c)
    return p


def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and its sub-parsers."""
    out = [parser]
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            out.extend(a.choices.values())
    return out
