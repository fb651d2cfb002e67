"""tokensim command line: parses flags, calls the library, prints tables or one JSON object.

Layout (imports only go down this list, so there is no cycle)::

    common.py         emit / JSON, UsageError, exit codes, flag-value checks, load_checked()
    registry.py       Command (name, help, add_arguments, run) and build_parser(commands)
    scenario_cmds.py  validate, estimate, des, run
    analysis_cmds.py  budget, commit, tco, sensitivity, compare, report
    job_cmds.py       all: validate, estimate, run and report in one process (the two above)
    calibrate_cmds.py calibrate, backtest
    size_cmds.py      size
    catalog_cmds.py   models
    app.py            COMMANDS (every group's, in order) and main()

Exit status: 0 success, 2 bad input (scenario, flags, files), 1 an unexpected internal error.
"""

from .app import COMMANDS, build_parser, main
from .common import EXIT_BAD_INPUT, UsageError, load_checked
from .registry import Command

__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "Command", "UsageError", "build_parser", "load_checked", "main"]
