"""Studies: orchestration that runs the engines, then hands their results to pure analyses.

A study takes a scenario and its flags, runs the Monte Carlo (``sim.mc.runner.run``) or the
expected-value engine (``sim.expected.forecast.run_expected``) as often as it needs, and calls the
functions of ``sim.analysis`` on what they return. Nothing below this layer runs an engine to
analyse, and nothing above it (``sim.report``) runs one at all.

- ``commit``: the commit options simulated with common random numbers, then ``commit_analysis``;
- ``compare``: two scenarios simulated on the same seed and paths, then ``compare_datasets``;
- ``tco``: the expected volumes and the purchase-month sweep, then the TCO analysis;
- ``sensitivity``: tornado, Morris and Sobol designs evaluated on the expected-value engine;
- ``report``: what the HTML report needs from the engines (the TCO result and the tornado).
"""
