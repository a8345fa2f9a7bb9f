"""The min/max summary draws what the samples hold: checked against brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.minmax import MinMaxPyramid


def _brute_range(time_s, values, valid, t0, t1):
    inside = (time_s >= t0) & (time_s <= t1) & valid
    if not inside.any():
        return None
    return values[inside].min(), values[inside].max()


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(0, 5000),
    seed=st.integers(0, 2**31),
    invalid_share=st.sampled_from([0.0, 0.05, 0.9, 1.0]),
    window=st.tuples(st.floats(-10, 110), st.floats(-10, 110)),
)
def test_value_range_matches_brute_force(count, seed, invalid_share, window):
    rng = np.random.default_rng(seed)
    time_s = np.sort(rng.uniform(0, 100, count))
    values = rng.normal(0, 10, count)
    valid = rng.uniform(0, 1, count) >= invalid_share
    values[~valid] = 6553.5  # the "not available" pattern a DBC signal sits at
    t0, t1 = sorted(window)

    got = MinMaxPyramid(time_s, values, valid).value_range(t0, t1)

    expected = _brute_range(time_s, values, valid, t0, t1)
    if expected is None:
        assert got is None
    else:
        assert got == (expected[0], expected[1])


@settings(max_examples=40, deadline=None)
@given(count=st.integers(100, 200_000), seed=st.integers(0, 2**31), columns=st.integers(50, 2000))
def test_view_keeps_every_peak_and_stays_near_two_points_per_column(count, seed, columns):
    rng = np.random.default_rng(seed)
    time_s = np.cumsum(rng.uniform(0.001, 0.02, count))
    values = rng.normal(0, 1, count)
    spike = int(rng.integers(0, count))
    values[spike] = 1000.0
    pyramid = MinMaxPyramid(time_s, values)

    x, y = pyramid.view(time_s[0], time_s[-1], columns)

    if count > 2 * columns:
        assert len(x) <= 2 * columns + 4  # two points per bucket, at most a bucket a column
    else:
        assert len(x) <= count  # few enough to draw the samples themselves
    assert np.nanmax(y) == 1000.0  # the one spike survives any zoom level
    assert np.nanmin(y) == values.min()
    assert np.all(np.diff(x) >= 0)


def test_invalid_samples_become_gaps_not_spikes():
    time_s = np.arange(100_000) * 0.01
    values = np.full(100_000, 3.7)
    valid = np.ones(100_000, bool)
    valid[40_000:50_000] = False
    values[~valid] = 6.5535  # would be a spike if drawn

    pyramid = MinMaxPyramid(time_s, values, valid)
    for columns in (200, 1600, 100_000):
        x, y = pyramid.view(0, 1000, columns)
        assert np.nanmax(y) == 3.7
        gap = (x > 420) & (x < 480)
        assert np.isnan(y[gap]).all() and gap.any()
    assert pyramid.value_range(0, 1000) == (3.7, 3.7)
    assert pyramid.value_range(420, 480) is None


def test_unsorted_times_are_summarised_in_time_order():
    time_s = np.array([0.0, 1.0, 0.5, 2.0, 3.0])
    values = np.array([1.0, 2.0, 9.0, 4.0, 5.0])
    pyramid = MinMaxPyramid(time_s, values)
    x, y = pyramid.view(0, 3, 100)
    assert list(x) == [0.0, 0.5, 1.0, 2.0, 3.0]
    assert list(y) == [1.0, 9.0, 2.0, 4.0, 5.0]
