"""Decision analyses: pure functions of a results Dataset or a scenario, returning dicts and tables.

- ``budget``: spend quantiles by period, P(spend > budget), budget at confidence, chargeback,
  Monte Carlo error of each quantile (finance);
- ``commit``: commit options with common random numbers, utilisation risk, newsvendor and CVaR
  optima, the efficient frontier (procurement);
- ``tco``: crossover volumes API / neocloud / owned, cost per token vs volume, purchase-month
  NPV sweep, P(regret), stranded capacity (planners);
- ``sensitivity``: tornado, Morris and Sobol indices on the expected-value engine;
- ``compare``: two scenarios or two results side by side.
"""
