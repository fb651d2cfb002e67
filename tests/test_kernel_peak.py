"""The kernel looks for a whole day's busiest hour only in ``peak_hours``: the maximum over those
hours must be the maximum over all 24, to the bit, for any non-negative profile totals."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from sim.mc.kernel import peak_hours

# shares drawn from a few values as well as freely, so ties, repeated hours and zero hours occur
SHARE = st.one_of(st.sampled_from([0.0, 0.01, 0.05, 0.1]), st.floats(0.0, 1.0))
PROFILES = st.integers(1, 4).flatmap(lambda n: st.lists(st.lists(SHARE, min_size=24, max_size=24), min_size=n, max_size=n))
TOTALS = st.lists(st.one_of(st.just(0.0), st.floats(0.0, 1e9)), min_size=4, max_size=4)


def _hour_sums(prof: np.ndarray, totals: list[float]) -> list[float]:
    out = []
    for h in range(24):
        x = 0.0
        for j in range(prof.shape[0]):
            x += prof[j, h] * totals[j]
        out.append(x)
    return out


@settings(max_examples=300, deadline=None)
@given(PROFILES, st.lists(TOTALS, min_size=1, max_size=8))
def test_the_kept_hours_hold_the_peak(rows, many_totals):
    prof = np.array(rows)
    sums = prof.sum(axis=1, keepdims=True)
    prof = np.where(sums > 0, prof / np.where(sums > 0, sums, 1.0), 1.0 / 24)  # each profile sums to 1
    keep, n = peak_hours(prof, prof.shape[0])
    kept = list(keep[:n])
    assert n >= 1 and len(set(kept)) == n and all(0 <= h < 24 for h in kept)
    for totals in many_totals:
        s = _hour_sums(prof, totals)
        assert max(s[h] for h in kept) == max(s)


def test_a_business_day_beside_a_flat_one_keeps_few_hours():
    # hand-made: office hours 9–17 and a flat profile; the peak is an office hour or, when the flat
    # profile dominates, any hour with its shares (all the same then: one of them)
    office = np.array([1.0 if 9 <= h < 17 else 0.0 for h in range(24)]) / 8
    flat = np.full(24, 1 / 24)
    keep, n = peak_hours(np.stack([office, flat]), 2)
    assert list(keep[:n]) == [9]  # hour 9 repeats 10–16's shares, and weakly dominates every other hour
