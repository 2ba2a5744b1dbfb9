"""Wiring and graph structure against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatial_snn.analysis import structure
from spatial_snn.space.connectivity import wire_lengths, wiring_length
from spatial_snn.space.genome import Genome, Synapses
from spatial_snn.space.rules import ConnectivityRule


def _line_genome(rec, weights=None, n=3, positions=(0.0, 1.0, 3.0)) -> Genome:
    rec = np.array(rec, np.int64).reshape(-1, 2)
    w = np.arange(1.0, len(rec) + 1) if weights is None else np.asarray(weights, float)
    return Genome(
        positions=np.array(positions, float)[:, None], input_positions=np.array([[-1.0]]),
        output_positions=np.array([[4.0]]),
        v_th=np.ones(n), v_reset=np.zeros(n), v_leak=np.zeros(n), tau_mem_inv=np.ones(n), tau_syn_inv=np.ones(n),
        sign=np.ones(n), input_sign=np.ones(1),
        input_synapses=Synapses([0], [0], [1.0]), recurrent=Synapses(rec[:, 0], rec[:, 1], w),
        output_synapses=Synapses([n - 1], [0], [1.0]),
        rule=ConnectivityRule(strength_decay=0.0, io_distance=None),
    )  # fmt: skip


def test_wiring_by_hand():
    # 0 -> 1 (d 1, w 1), 1 -> 2 (d 2, w 2), 2 -> 2 (d 0, w 3); input -1 -> 0 (d 1), 2 -> output at 4 (d 1)
    g = _line_genome([(0, 1), (1, 2), (2, 2)])
    w = structure.wiring(g)
    assert w["wiring_length"] == pytest.approx(1 + 2 + 0 + 1 + 1)
    assert w["wiring_cost"] == pytest.approx(1 * 1 + 2 * 2 + 3 * 0 + 1 + 1)  # strength 1: |w_eff| = gene
    assert w["recurrent_wiring_length"] == pytest.approx(3.0)
    assert w["mean_synapse_length"] == pytest.approx(1.5)  # self-loop excluded
    assert w["mean_neuron_distance"] == pytest.approx((1 + 3 + 2) / 3)
    assert math.isnan(w["corr_distance_weight_gene"])  # two non-self synapses: too few
    assert wiring_length(g) == pytest.approx(w["wiring_length"])


def test_a_synapse_that_wraps_around_the_periodic_box_is_as_long_as_the_short_way_round():
    # box of side 4: neurons at 0.5 and 3.5 are 1 apart across the edge, not 3; so are the
    # input at 3.9 and neuron 0.5 (0.6), and neuron 3.5 and the output at 0.1 (0.6)
    import dataclasses

    g = _line_genome([(0, 1), (1, 0), (0, 0)], n=2, positions=(0.5, 3.5))
    g = dataclasses.replace(
        g,
        input_positions=np.array([[3.9]]),
        output_positions=np.array([[0.1]]),
        rule=dataclasses.replace(g.rule, period=(4.0,)),
    )
    assert wire_lengths(g, "recurrent").tolist() == pytest.approx([1.0, 1.0, 0.0])
    assert wire_lengths(g, "input_synapses").tolist() == pytest.approx([0.6])
    assert wire_lengths(g, "output_synapses").tolist() == pytest.approx([0.6])
    w = structure.wiring(g)
    assert w["wiring_length"] == pytest.approx(1 + 1 + 0 + 0.6 + 0.6) == wiring_length(g)
    assert w["mean_synapse_length"] == pytest.approx(1.0)
    assert w["mean_neuron_distance"] == pytest.approx(1.0)
    # the same genome in unbounded space: the long way, 3 per recurrent synapse
    flat = dataclasses.replace(g, rule=dataclasses.replace(g.rule, period=None))
    assert wiring_length(flat) == pytest.approx(3 + 3 + 0 + 3.4 + 3.4)


def test_distance_weight_correlation_by_hand():
    pos = (0.0, 1.0, 3.0, 6.0)
    g = _line_genome([(0, 1), (0, 2), (0, 3)], weights=[3.0, 2.0, 1.0], n=4, positions=pos)
    # distances 1, 3, 6 against weights 3, 2, 1
    assert structure.wiring(g)["corr_distance_weight_gene"] == pytest.approx(np.corrcoef([1, 3, 6], [3, 2, 1])[0, 1])


def test_modularity_of_two_bridged_cliques_by_hand():
    a, b = range(4), range(4, 8)
    edges = [(i, j) for grp in (a, b) for i in grp for j in grp if i < j] + [(3, 4)]
    g = _line_genome(edges, n=8, positions=np.arange(8.0))
    s = structure.graph_structure(g, nulls=5, seed=0)
    # Q = sum_c L_c / m - (d_c / 2m)^2 with m = 13, L_c = 6, d_c = 13
    assert s["modularity"] == pytest.approx(2 * (6 / 13 - (13 / 26) ** 2))
    assert s["graph_edges"] == 13 and s["graph_nodes"] == 8
    assert s["null_graphs"] == 5 and np.isfinite(s["modularity_null_mean"]) and s["modularity_null_std"] >= 0
    # a clustered graph: C = (6 nodes x 1 + 2 nodes x 3 triangles / 6 pairs) / 8
    assert s["clustering"] == pytest.approx((6 + 2 * 0.5) / 8)
    assert np.isfinite(s["small_world_sigma"]) and 0 <= s["small_world_propensity"] <= 1


def test_graph_too_small_is_reported_not_raised():
    g = _line_genome([(0, 1)])
    s = structure.graph_structure(g)
    assert math.isnan(s["modularity"]) and "too small" in s["graph_note"]


def test_nulls_must_be_at_least_two():
    with pytest.raises(ValueError, match="nulls"):
        structure.graph_structure(_line_genome([(0, 1)]), nulls=1)


def test_louvain_and_nulls_are_deterministic_given_the_seed():
    rng = np.random.default_rng(3)
    pairs = {(int(i), int(j)) for i, j in rng.integers(0, 20, (80, 2)) if i != j}
    g = _line_genome(sorted(pairs), n=20, positions=np.arange(20.0))
    assert structure.graph_structure(g, nulls=3, seed=1) == structure.graph_structure(g, nulls=3, seed=1)
