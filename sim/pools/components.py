"""Cost components: what a pool's cost is made of, as quantity × price (Infracost-style).

Each pool's cost is a list of named components with a unit, a quantity and a price per unit, so
a total is always the sum of its parts and a report can say what a dollar paid for. Quantities
and prices may be floats or arrays (months, or paths × months).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CostComponent:
    """One line of a pool's bill: ``quantity`` ``unit`` at ``price`` per unit."""

    pool: str
    name: str
    unit: str
    quantity: np.ndarray | float
    price: np.ndarray | float

    @property
    def cost(self) -> np.ndarray:
        return np.asarray(self.quantity, float) * np.asarray(self.price, float)


def total(components: list[CostComponent]) -> np.ndarray:
    """The sum of the components' costs (0 for none)."""
    out = np.zeros(())
    for c in components:
        out = out + c.cost
    return out


def by_name(components: list[CostComponent]) -> dict[str, np.ndarray]:
    return {c.name: c.cost for c in components}
