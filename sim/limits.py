"""The fixed budgets a scenario file must fit, checked before anything is allocated.

A scenario is a planning document written by a person: a few kilobytes, a few dozen workloads.
These limits sit one to two orders of magnitude above the largest real scenario we know of
(``scenarios/default.yaml``: 5 KB, 5 workloads, 4 strategies) and far below what would exhaust a
24 GB laptop, so they refuse only hostile or runaway input (a YAML alias bomb, 500-deep nesting,
20,000 generated workloads, a FIFO given as the file). The README's "Limits" table lists them;
``tests/test_limits.py`` checks each one is enforced with a located message.
"""

from __future__ import annotations

MAX_SCENARIO_BYTES = 1_000_000  # the default scenario is 5 KB; 1 MB is ~200 times that
MAX_EMPIRICAL_BYTES = 200_000_000  # an empirical CSV sample; pandas needs ~3x this in memory
MAX_YAML_DEPTH = 32  # the deepest real key path has 7 levels (strategies[i].set.<path>: {dist: discrete, values: [..]})
MAX_YAML_NODES = 200_000  # values after aliases are expanded (a "billion laughs" file is refused here)
MAX_YAML_CHARS = 2_000_000  # characters of values after aliases are expanded (twice the largest file)
MAX_KEY_CHARS = 200  # characters of a key (the longest real one is a strategy's key path, ~60)
MAX_LIST_ITEMS = 10_000  # items of any one YAML list (discrete values, sweep values, ...)
MAX_TEXT_CHARS = 10_000  # characters of any one YAML text value
MAX_WORKLOADS = 500  # each costs a kernel lane per strategy; estimate stays under ~1 GB at 500
MAX_BUSINESS_UNITS = 500
MAX_STRATEGIES = 200  # strategies and sweep values together: each is a full forecast
MAX_STRATEGY_WORKLOADS = 20_000  # strategies x workloads: 500 x 200 took 40 s only to validate
MAX_CONTRACTS = 200

MAX_PATHS = 10_000_000  # Monte Carlo paths (scenario key and --paths); a run also needs the disk and memory for them
MAX_HORIZON_MONTHS = 240  # twenty years
MAX_MONTH = 1200  # any month index or term (start months, terms, periods): a century

# Physical ceilings of scenario numbers (beyond them a value is a typo or an attack, not a plan;
# below them every product the engines form stays far inside float64).
MAX_USERS_PER_UNIT = 1e10  # more than the people on Earth
MAX_TOKENS = 1e15  # tokens in one field (per call, per seat-month, a yearly commitment: above any sold today)
MAX_MONEY = 1e12  # currency in one price or cost field
MAX_VALUE = 1e12  # any other count, duration or rate
MAX_TREND = 10.0  # a yearly change of +1,000 %
MAX_GROWTH_LN = 14.0  # demand_noise.growth_per_day × horizon days: ×1.2e6 over the horizon at most
MIN_MAGNITUDE = 1e-12  # a non-zero number smaller than this is 0 written oddly (1e-320 underflowed in one engine)
MIN_ACTIVITY = 1e-6  # smallest non-zero weekly activity weight (1e-320 made every session vanish: $0)
MAX_DAY_ACTIVITY = 10.0  # a day ten times as busy as a full working day is a typo, not a forecast
# the dearest list price in genai-prices 0.2.3 is o1-pro output at $600/MTok: anything 100x that is a typo
MAX_PRICE_PER_MTOK = 60_000.0

# paths per block: 1,000 appends a block of the default scenario's 4 strategies to the store in one
# go (~0.15 GB) and keeps a 10,000-path run near 1 GB of memory; 500 made the run 22 % slower
# (per-variable append overhead), 2,000 only 2 % faster for 0.4 GB more (docs/benchmarks.md)
DEFAULT_BLOCK = 1000
