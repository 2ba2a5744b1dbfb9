"""The one ragged-genome codec: worker batches and archive groups are the same arrays."""

import dataclasses

import numpy as np
import pytest

from spatial_snn.space.codec import PARTS, decode_batch, encode_batch
from spatial_snn.space.genome import NEURON_PARAMS, Synapses
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.tasks.evaluation import pack_batch


def _genomes(dim=2):
    rng = np.random.default_rng(dim)
    gs = [random_genome(GenomeSpec.reference(dim, 6 + k), 3, 2, rng) for k in range(3)]
    empty = Synapses(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32))
    gs[1] = dataclasses.replace(gs[1], recurrent=empty, rule=dataclasses.replace(gs[1].rule, p0=0.5))
    return gs


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_a_batch_round_trips_every_field_and_rule_and_picks_by_index(dim):
    genomes = _genomes(dim)
    batch = encode_batch(genomes)
    assert len(batch["rules"]) == 2 and batch["rule_index"].tolist() == [0, 1, 0]
    for picked in (None, [2, 0], [-1]):
        back = decode_batch(batch, picked)
        want = genomes if picked is None else [genomes[k] for k in picked]
        for g, h in zip(want, back, strict=True):
            for name in ("positions", "input_positions", "output_positions", *NEURON_PARAMS, "sign", "input_sign"):
                assert getattr(g, name).dtype == getattr(h, name).dtype
                assert np.array_equal(getattr(g, name), getattr(h, name)), name
            for proj in ("input_synapses", "recurrent", "output_synapses"):
                for f in ("pre", "post", "weight"):
                    assert np.array_equal(getattr(getattr(g, proj), f), getattr(getattr(h, proj), f))
            assert g.rule == h.rule


def test_the_worker_transport_is_this_codec():
    genomes = _genomes()
    a, b = pack_batch(genomes), encode_batch(genomes)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k] for k in a)


@pytest.mark.parametrize("damage", ["count-too-large", "negative-count", "short-array", "rule-index"])
def test_counts_that_disagree_with_the_arrays_are_one_value_error(damage):
    batch = encode_batch(_genomes())
    if damage == "count-too-large":
        batch["counts/neurons"] = batch["counts/neurons"] + np.array([10**12, 0, 0])
    elif damage == "negative-count":
        batch["counts/recurrent"] = batch["counts/recurrent"] * np.array([1, 1, -1])
    elif damage == "short-array":
        batch["v_th"] = batch["v_th"][:-1]
    else:
        batch["rule_index"] = np.array([0, 5, 0], np.int32)
    with pytest.raises(ValueError, match="counts/|v_th|rule_index"):
        decode_batch(batch)


def test_every_part_names_arrays_of_one_length_per_genome():
    batch = encode_batch(_genomes())
    for part, names in PARTS.items():
        total = int(batch[f"counts/{part}"].sum())
        assert all(len(batch[n]) == total for n in names), part
