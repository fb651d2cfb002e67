"""The scenario language: pydantic models loaded from YAML with located errors."""

from .distributions import DIST_KINDS, as_dist, mean_of
from .loader import (
                    Problem,
                    ScenarioError,
                    dump_scenario,
                    load_scenario,
                    load_scenario_text,
)
from .model import (
                    Horizon,
                    Scenario,
                    Strategy,
                    correlation_matrix,
                    get_path,
                    resolve_path,
                    set_path,
                    uncertain_fields,
)

__all__ = [
    "DIST_KINDS", "Horizon", "Problem", "Scenario", "ScenarioError", "Strategy", "as_dist",
    "correlation_matrix", "dump_scenario", "get_path", "load_scenario", "load_scenario_text",
    "mean_of", "resolve_path", "set_path", "uncertain_fields",
]
