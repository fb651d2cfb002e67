"""Capacity pools: cost and capacity formulas as plain functions on arrays.

The expected-value engine, the demand simulation and the Monte Carlo kernel all price through
these functions (the kernel through arrays they prepare), so a formula lives in one place.
"""
