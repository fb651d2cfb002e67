"""Demand: population and activity, session anatomy, and (issue 3) the SimPy simulation."""
