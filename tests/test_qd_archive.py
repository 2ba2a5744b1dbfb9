"""MAP-Elites archive and operators (spatial_snn.evo.qd_archive) against loop transcriptions of the rules.

The same functions are compared with pyribs 0.12 in ``benchmarks/qd_vs_pyribs.py`` (separate environment).
"""

import numpy as np
import pytest

from spatial_snn.evo import qd_archive as me


def _loop_insert(occupied, objective, elite, index, obj, refs):
    """MAP-Elites one candidate at a time against the archive before the batch: the best of a cell's batch enters
    if the cell is empty or it beats the old elite strictly; the first of equals wins."""
    occupied, objective, elite = occupied.copy(), objective.copy(), elite.copy()
    before_occ, before_obj = occupied.copy(), objective.copy()
    status = []
    best_in_batch = {}
    for i, c in enumerate(index):
        ok = (not before_occ[c]) or obj[i] > before_obj[c]
        status.append(0 if not ok else (1 if before_occ[c] else 2))
        if ok and (c not in best_in_batch or obj[i] > obj[best_in_batch[c]]):
            best_in_batch[c] = i
    for c, i in best_in_batch.items():
        occupied[c], objective[c], elite[c] = True, obj[i], refs[i]
    return occupied, objective, elite, np.array(status)


def test_insertion_follows_the_map_elites_rule_batch_by_batch():
    rng = np.random.default_rng(0)
    cells = me.empty(12, 2)
    occ, obj, elite = np.zeros(12, bool), np.zeros(12), np.full((12, 2), -1)
    for b in range(20):
        index = rng.integers(0, 12, size=16)
        objective = np.round(rng.normal(size=16), 1)  # ties within a batch and with the archive
        refs = np.column_stack([np.full(16, b), np.arange(16)])
        cells, status = me.insert(cells, index, objective, rng.normal(size=(16, 2)), refs)
        occ, obj, elite, want = _loop_insert(occ, obj, elite, index, objective, refs)
        np.testing.assert_array_equal(status, want)
        np.testing.assert_array_equal(cells.occupied, occ)
        np.testing.assert_array_equal(cells.objective[occ], obj[occ])
        np.testing.assert_array_equal(cells.elite[occ], elite[occ])
    assert me.coverage(cells) == occ.mean()
    assert me.qd_score(cells, offset=-10.0) == pytest.approx(np.sum(obj[occ] + 10.0))


def test_grid_index_bins_clips_and_flattens_row_major():
    low, high, bins = [0.0, -1.0], [1.0, 1.0], (4, 2)
    m = np.array([[0.0, -1.0], [0.26, 0.5], [0.999, 0.0], [2.0, -5.0], [0.25 - 1e-9, 0.0]])
    got = me.grid_index(m, low, high, bins)
    # bins: x in quarters, y in halves; the 1e-6 epsilon puts a value a hair below an edge into the upper bin
    np.testing.assert_array_equal(got, [0 * 2 + 0, 1 * 2 + 1, 3 * 2 + 1, 3 * 2 + 0, 1 * 2 + 1])
    assert me.grid_coordinates(got[1], bins) == (1, 1)
    np.testing.assert_array_equal(me.grid_index([[1e300, -1e300]], low, high, bins), [3 * 2 + 0])  # far out: the edge
    with pytest.raises(ValueError, match="finite"):
        me.grid_index([[np.nan, 0.0]], low, high, bins)


def test_cvt_centroids_are_seeded_inside_the_box_and_cells_are_nearest():
    a = me.cvt_centroids([0, 0, 0], [1, 2, 3], 16, 2000, 5, np.random.default_rng(7))
    b = me.cvt_centroids([0, 0, 0], [1, 2, 3], 16, 2000, 5, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert np.all(a >= 0) and np.all(a <= [1, 2, 3]) and len(np.unique(a, axis=0)) == 16
    points = np.random.default_rng(8).random((50, 3)) * [1, 2, 3]
    want = [int(np.argmin([np.sum((p - c) ** 2) for c in a])) for p in points]
    np.testing.assert_array_equal(me.nearest_centroid(points, a), want)
    with pytest.raises(ValueError, match="cvt_samples"):
        me.cvt_centroids([0], [1], 10, 5, 1, np.random.default_rng(0))


def test_parents_come_from_occupied_cells_and_operators_move_along_the_line():
    cells = me.empty(10, 1)
    cells, _ = me.insert(cells, [2, 7], [1.0, 2.0], [[0.2], [0.7]], [[0, 0], [0, 1]])
    parents = me.choose_parents(cells, 100, np.random.default_rng(0))
    assert set(parents.tolist()) == {2, 7}
    x, y = np.zeros((5, 3)), np.ones((5, 3))
    z = me.iso_line(x, y, 0.0, 1.0, np.random.default_rng(1))  # no isotropic part: on the line through x and y
    assert np.allclose(z, z[:, :1]) and not np.allclose(z, 0)
    with pytest.raises(ValueError, match="no elite"):
        me.choose_parents(me.empty(3, 1), 1, np.random.default_rng(0))
