"""ObsMoments: the one shape of running observation statistics, and its archive and meta forms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spatial_snn.tasks.moments import ObsMoments


def _of(obs) -> ObsMoments:
    obs = np.asarray(obs, np.float64)
    return ObsMoments(len(obs), obs.sum(axis=0), (obs * obs).sum(axis=0))


def test_merge_is_the_moments_of_both_sets_of_observations():
    a, b = np.array([[1.0, -2.0], [3.0, 0.5]]), np.array([[5.0, 4.0]])
    both = _of(a).merge(_of(b))
    assert both == _of(np.concatenate([a, b]))
    assert ObsMoments.empty(2).merge(_of(a)) == _of(a)  # nothing seen yet adds nothing


def test_bounds_are_mean_plus_minus_width_std_and_a_constant_dimension_keeps_its_fallback():
    obs = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    low, high = _of(obs).bounds(2.0, [-9, -9], [9, 9])
    sd = np.sqrt(8 / 3)
    np.testing.assert_allclose(low, [3 - 2 * sd, -9])
    np.testing.assert_allclose(high, [3 + 2 * sd, 9])
    assert [b.tolist() for b in ObsMoments.empty(2).bounds(2.0, [-1, -2], [1, 2])] == [[-1, -2], [1, 2]]


def test_archive_arrays_round_trip_with_and_without_a_suffix():
    m = _of([[0.25, 7.0], [1.5, -3.0]])
    arrays = m.to_arrays()
    assert sorted(arrays) == ["obs_count", "obs_sum", "obs_sumsq"]
    assert arrays["obs_count"].dtype == np.int64 and arrays["obs_count"].shape == (1,)
    assert ObsMoments.from_arrays(arrays) == m
    assert sorted(m.to_arrays("0")) == ["obs_count0", "obs_sum0", "obs_sumsq0"]
    assert ObsMoments.from_arrays(m.to_arrays("0"), "0") == m
    assert ObsMoments.from_arrays({"obs_low": np.zeros(2)}) is None  # a generation that kept none


def test_genome_meta_round_trips_and_damage_is_one_clear_error():
    m = _of([[0.1, 2.0], [0.3, -1.0]])
    stored = m.to_json()
    assert stored == {"count": 2, "sum": [0.1 + 0.3, 1.0], "sumsq": [0.1**2 + 0.3**2, 5.0]}
    assert ObsMoments.from_json(stored, 2) == m
    for bad in (
        {"count": 2, "sum": [1.0], "sumsq": [1.0]},
        stored | {"count": -1},
        stored | {"count": True},
        stored | {"count": 2.0},
        stored | {"sum": [np.nan, 1.0]},
        {"count": 2, "sum": [1.0, 2.0]},
        [2, [1, 2], [1, 2]],
        stored | {"sumsq": "x"},
    ):
        with pytest.raises(ValueError, match="expected count >= 0 and finite sum and sumsq of 2 values each"):
            ObsMoments.from_json(bad, 2)


def test_a_value_cannot_change():
    m = _of([[1.0, 2.0]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.count = 3
    with pytest.raises(ValueError, match="read-only"):
        m.sum[0] = 9.0
    source = np.array([1.0, 2.0])
    kept = ObsMoments(1, source, source)
    source[0] = 5.0  # the value holds a copy
    assert kept.sum[0] == 1.0


def test_bad_shapes_or_counts_are_refused():
    with pytest.raises(ValueError, match=r"one shape \(obs_dim,\), got \(2,\) and \(3,\)"):
        ObsMoments(1, np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="count: expected an integer >= 0, got -1"):
        ObsMoments(-1, np.zeros(2), np.zeros(2))
