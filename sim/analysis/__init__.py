"""Decision analyses: pure functions of a results Dataset or a scenario, returning dicts and tables.

Nothing here runs an engine: ``sim.studies`` runs the Monte Carlo or the expected-value engine and
hands the results to these functions (the ``forbidden`` contract in ``.importlinter``).

- ``budget``: spend quantiles by period, P(spend > budget), budget at confidence, chargeback,
  Monte Carlo error of each quantile (finance);
- ``commit``: commit options analysed on paths simulated with common random numbers,
  utilisation risk, newsvendor and CVaR optima, the efficient frontier (procurement);
- ``tco``: crossover volumes API / neocloud / owned, cost per token vs volume, the purchase-month
  scenarios and their NPV, P(regret), stranded capacity (planners);
- ``sensitivity``: the inputs a design varies, the metrics it reads and its text;
- ``compare``: two results side by side.
"""
