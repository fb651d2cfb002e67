"""From a user's own usage and billing exports to fitted demand (readers, daily series, fits).

``formats`` reads each export into one ``Usage`` (periods with requests, tokens and cost), ``series``
turns it into complete daily series per group, ``fit`` fits the demand model of
``sim.demand.daily`` to them, and ``scenario_out`` writes the fit as a scenario. The backtest that
runs the fitted scenarios through the Monte Carlo engine is ``sim.studies.backtest``.
"""
