"""Genome: validation messages, select_neurons re-indexing and purity."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatial_snn import GenomeSpec
from spatial_snn.space.connectivity import build
from spatial_snn.space.genome import NEURON_PARAMS, Genome, Synapses
from spatial_snn.space.layout import random_genome

N, N_IN, N_OUT, DIM = 4, 2, 3, 2


def small_genome(**changes) -> Genome:
    """A hand-made valid genome (4 hidden, 2 inputs, 3 outputs, 2D), fields replaced by ``changes``."""
    fields = dict(
        positions=np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        input_positions=np.array([[-1.0, 0.0], [-1.0, 1.0]]),
        output_positions=np.array([[2.0, 0.0], [2.0, 0.5], [2.0, 1.0]]),
        v_th=np.full(N, 1.0),
        v_reset=np.zeros(N),
        v_leak=np.zeros(N),
        tau_mem_inv=np.full(N, 100.0),
        tau_syn_inv=np.full(N, 200.0),
        sign=np.array([1, -1, 1, 1]),
        input_sign=np.array([1, -1]),
        input_synapses=Synapses([0, 1], [1, 2], [1.0, 2.0]),
        recurrent=Synapses([0, 1, 2], [1, 2, 0], [1.0, 1.0, 1.0]),
        output_synapses=Synapses([3], [2], [5.0]),
    )
    fields.update(changes)
    return Genome(**fields)


def test_small_genome_is_valid():
    g = small_genome()
    assert (g.n, g.dim, g.n_inputs, g.n_outputs, g.n_synapses) == (N, DIM, N_IN, N_OUT, 6)


# (changes, field, expected, actual): every fragment must appear in the message
INVALID = {
    "positions 1-D": (dict(positions=np.zeros(N)), "positions", "(n, dim)", "(4,)"),
    "dim 4": (dict(positions=np.zeros((N, 4))), "positions", "1..3", "dim = 4"),
    "dim 0": (dict(positions=np.zeros((N, 0))), "positions", "1..3", "dim = 0"),
    "input_positions dim": (dict(input_positions=np.zeros((N_IN, 3))), "input_positions", "(k, 2)", "(2, 3)"),
    "output_positions 1-D": (dict(output_positions=np.zeros(N_OUT)), "output_positions", "(k, 2)", "(3,)"),
    "v_th length": (dict(v_th=np.ones(N + 1)), "v_th", "(4,)", "(5,)"),
    "tau_mem_inv 2-D": (dict(tau_mem_inv=np.ones((N, 1))), "tau_mem_inv", "(4,)", "(4, 1)"),
    "sign length": (dict(sign=np.ones(N - 1)), "sign", "(4,)", "(3,)"),
    "input_sign length": (dict(input_sign=np.ones(N_IN + 1)), "input_sign", "(2,)", "(3,)"),
    "positions nan": (dict(positions=np.array([[0, 0], [1, 0], [0, np.nan], [1, 1.0]])), "positions", "finite", "nan"),
    "input_positions inf": (
        dict(input_positions=np.array([[-1, 0], [np.inf, 1.0]])),
        "input_positions",
        "finite",
        "inf",
    ),
    "v_leak nan": (dict(v_leak=np.array([0, 0, np.nan, 0])), "v_leak", "finite", "nan"),
    "tau_syn_inv negative": (dict(tau_syn_inv=np.array([1, -1.0, 1, 1])), "tau_syn_inv", ">= 0", "-1.0"),
    "weight nan": (dict(recurrent=Synapses([0, 1], [1, 2], [1.0, np.nan])), "recurrent.weight", "finite", "nan"),
    "weight inf": (dict(input_synapses=Synapses([0], [1], [np.inf])), "input_synapses.weight", "finite", "inf"),
    "weight zero": (dict(recurrent=Synapses([0, 1], [1, 2], [1.0, 0.0])), "recurrent.weight", "> 0", "got 0.0"),
    "weight negative": (dict(output_synapses=Synapses([0], [1], [-2.0])), "output_synapses.weight", "> 0", "-2.0"),
    "post length": (dict(input_synapses=Synapses([0, 1], [1], [1.0, 1.0])), "input_synapses.post", "(2,)", "(1,)"),
    "weight length": (dict(recurrent=Synapses([0, 1, 2], [1, 2, 0], [1.0, 1.0])), "recurrent.weight", "(3,)", "(2,)"),
    "pre 2-D": (dict(recurrent=Synapses([[0, 1]], [[1, 2]], [[1.0, 1.0]])), "recurrent.pre", "1-D", "(1, 2)"),
    "input pre >= n_in": (dict(input_synapses=Synapses([2], [0], [1.0])), "input_synapses.pre", "[0, 2)", "got 2"),
    "recurrent post >= n": (dict(recurrent=Synapses([0], [4], [1.0])), "recurrent.post", "[0, 4)", "got 4"),
    "output pre negative": (dict(output_synapses=Synapses([-1], [0], [1.0])), "output_synapses.pre", "[0, 4)", "-1"),
    "output post >= n_out": (
        dict(output_synapses=Synapses([0], [3], [1.0])),
        "output_synapses.post",
        "[0, 3)",
        "got 3",
    ),
    "sign 0": (dict(sign=np.array([1, 0, 1, 1])), "sign", "+1", "got 0"),
    "sign 2": (dict(sign=np.array([1, 1, 2, 1])), "sign", "-1", "got 2"),
    "sign 255 (int8 wraps to -1)": (dict(sign=np.array([1, 1, 255, 1])), "sign", "+1", "got 255"),
    "sign 0.5": (dict(sign=np.array([1, 0.5, 1, 1])), "sign", "+1", "0.5"),
    "input_sign 1.5": (dict(input_sign=np.array([1.5, 1])), "input_sign", "-1", "1.5"),
}


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_invalid_genome_raises_value_error_naming_field_expected_and_actual(case):
    changes, field, expected, actual = case
    with pytest.raises(ValueError) as info:
        small_genome(**changes)
    message = str(info.value)
    for fragment in (field, expected, actual):
        assert fragment in message, f"{fragment!r} missing from {message!r}"


@pytest.mark.parametrize(
    "pre, actual",
    [([0.5], "0.5"), ([np.nan], "nan"), (np.array([2**32], np.int64), "4294967296")],
    ids=["fractional", "nan", "beyond int32 (would wrap to 0)"],
)
def test_synapse_indices_are_never_silently_cast(pre, actual):
    with pytest.raises(ValueError) as info:
        Synapses(pre, [0], [1.0])
    assert "Synapses.pre" in str(info.value) and "integer" in str(info.value)
    assert actual in str(info.value)


def test_integral_indices_of_other_dtypes_are_accepted():
    syn = Synapses(np.array([0.0, 2.0]), np.array([1, 3], np.int64), [1, 2])
    assert syn.pre.dtype == np.int32 and syn.pre.tolist() == [0, 2]
    assert Synapses([], [], []).pre.dtype == np.int32


def dense(syn: Synapses, shape) -> np.ndarray:
    m = np.zeros(shape)
    m[syn.pre, syn.post] = syn.weight
    return m


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    as_mask=st.booleans(),
    data=st.data(),
)
def test_select_neurons_reindexes_every_field_and_synapse_together(n, seed, as_mask, data, genome_arrays):
    rng = np.random.default_rng(seed)
    spec = GenomeSpec(n_hidden=n, dim=2, placement="jittered", mean_degree=None)
    g = random_genome(spec, 3, 2, rng)
    if as_mask:
        mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        idx = np.flatnonzero(mask)
        selector = mask
    else:
        idx = np.array(data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n)), np.int64)
        selector = idx
    before = {name: arr.copy() for name, arr in genome_arrays(g).items()}
    s = g.select_neurons(selector)

    assert s.n == idx.size
    for name in ("positions", *NEURON_PARAMS, "sign"):
        np.testing.assert_array_equal(getattr(s, name), getattr(g, name)[idx], err_msg=name)
    for name in ("input_positions", "output_positions", "input_sign"):
        np.testing.assert_array_equal(getattr(s, name), getattr(g, name), err_msg=name)
    expected = {
        "input_synapses": dense(g.input_synapses, (g.n_inputs, n))[:, idx],
        "recurrent": dense(g.recurrent, (n, n))[np.ix_(idx, idx)],
        "output_synapses": dense(g.output_synapses, (n, g.n_outputs))[idx, :],
    }
    for p, m in expected.items():
        got = getattr(s, p)
        np.testing.assert_array_equal(dense(got, m.shape), m, err_msg=p)
        assert len(got) == np.count_nonzero(m), p  # nothing dropped, nothing extra
    # positions travel with their neurons, so effective weights are re-indexed too
    full, sub = build(g), build(s)
    np.testing.assert_array_equal(sub.recurrent.toarray(), full.recurrent.toarray()[np.ix_(idx, idx)])
    np.testing.assert_array_equal(sub.output.toarray(), full.output.toarray()[idx, :])
    np.testing.assert_array_equal(sub.input.toarray(), full.input.toarray()[:, idx])

    # pure: the input genome is unchanged and shares no memory with the result
    for name, arr in genome_arrays(g).items():
        np.testing.assert_array_equal(arr, before[name], err_msg=name)
    for name, arr in genome_arrays(s).items():
        assert not np.shares_memory(arr, genome_arrays(g)[name]), name


@pytest.mark.parametrize(
    "idx, fragment",
    [([0, 0], "distinct"), ([4], "[0, 4)"), ([-1], "[0, 4)"), ([0.5], "integer"), ([True, False], "mask")],
)
def test_select_neurons_rejects_bad_indices(idx, fragment):
    with pytest.raises(ValueError, match=None) as info:
        small_genome().select_neurons(idx)
    assert fragment in str(info.value)
