"""Distribution specs: means, quantiles and supports against scipy and sampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from sim.scenario.distributions import PERT, Beta, Discrete, LogNormal, Normal, Triangular, Uniform

RNG = np.random.default_rng(3)
CASES = [
    Uniform(dist="uniform", low=2, high=5),
    Triangular(dist="triangular", low=1, mode=2, high=6),
    PERT(dist="pert", low=10, mode=12, high=30),
    Normal(dist="normal", mean=5, sd=2),
    LogNormal(dist="lognormal", median=100, p90=400),
    Beta(dist="beta", alpha=2, beta=5, low=0, high=10),
    Discrete(dist="discrete", values=[1, 2, 10], weights=[0.5, 0.3, 0.2]),
]


@pytest.mark.parametrize("d", CASES, ids=lambda d: d.dist)
def test_sample_mean_matches_mean(d):
    x = d.sample(RNG, 400_000)
    sd = x.std()
    assert abs(x.mean() - d.mean()) < 5 * sd / np.sqrt(x.size) + 1e-12
    lo, hi = d.support()
    assert x.min() >= lo and x.max() <= hi


def test_lognormal_median_and_p90_are_honoured():
    d = LogNormal(dist="lognormal", median=129, p90=424)
    assert d.quantile(0.5) == pytest.approx(129)
    assert d.quantile(0.9) == pytest.approx(424)


def test_pert_against_scipy_beta():
    d = PERT(dist="pert", low=1, mode=3, high=9)
    a = 1 + 4 * (3 - 1) / 8
    b = 1 + 4 * (9 - 3) / 8
    assert d.mean() == pytest.approx(1 + 8 * a / (a + b))
    assert d.quantile(0.3) == pytest.approx(1 + 8 * stats.beta.ppf(0.3, a, b))


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 100), st.floats(0, 100), st.floats(0, 100), st.floats(0.001, 0.999), st.floats(0.001, 0.999))
def test_ppf_is_monotone(a, b, c, u1, u2):
    lo, mode, hi = sorted([a, b, c])
    for d in (Triangular(dist="triangular", low=lo, mode=mode, high=hi),
              PERT(dist="pert", low=lo, mode=mode, high=hi + 1e-9)):
        q1, q2 = d.quantile(min(u1, u2)), d.quantile(max(u1, u2))
        assert q1 <= q2 + 1e-9
        assert lo - 1e-9 <= q1 <= hi + 1e-6
