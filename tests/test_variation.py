"""Invariants of the variation operators (mutation, crossover, pruning)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.spatial import cKDTree

from spatial_snn.evo.crossover import crossover, geometric_crossover
from spatial_snn.evo.pruning import compact, connected_neurons, prune
from spatial_snn.evo.variation import MutationParams, mutate
from spatial_snn.space.connectivity import build, synapse_distances
from spatial_snn.space.genome import NEURON_PARAMS, PROJECTIONS, Genome, Synapses
from spatial_snn.space.layout import GenomeSpec, ParameterRanges, random_genome

FIELDS = ("positions", "input_positions", "output_positions", *NEURON_PARAMS, "sign", "input_sign")
OFF = MutationParams(edge_delete=0, weight_resample=0, edge_add=0, sign_flip=0, param_resample=0)  # every event off
RANGES = ParameterRanges(v_reset=(-1.0, 0.0))  # a resampled v_reset is visible (parents have 0)


# ----------------------------------------------------------------- helpers
def _genome(seed=0, spec=None, n_in=4, n_out=3) -> Genome:
    spec = spec or GenomeSpec.spatial(dim=2, n_hidden=64)
    return random_genome(spec, n_in, n_out, np.random.default_rng(seed))


def _arrays(g: Genome) -> dict:
    out = {f: getattr(g, f) for f in FIELDS}
    for p in PROJECTIONS:
        for part in ("pre", "post", "weight"):
            out[f"{p}.{part}"] = getattr(getattr(g, p), part)
    return out


def _snapshot(g: Genome) -> dict:
    return {k: v.copy() for k, v in _arrays(g).items()}


def _same(g: Genome, h: Genome) -> bool:
    x, y = _arrays(g), _arrays(h)
    return all(x[k].shape == y[k].shape and np.array_equal(x[k], y[k]) for k in x)


def _keys(g: Genome, projection: str) -> np.ndarray:
    syn = getattr(g, projection)
    return syn.pre.astype(np.int64) * 1_000_000 + syn.post


def _pairs(g: Genome, projection: str) -> set:
    syn = getattr(g, projection)
    return set(zip(syn.pre.tolist(), syn.post.tolist(), strict=True))


def _records(g: Genome, projection: str) -> list:
    syn = getattr(g, projection)
    return sorted(zip(syn.pre.tolist(), syn.post.tolist(), syn.weight.tolist(), strict=True))


def _outgoing(g: Genome, projection: str, unit: int) -> list:
    return [r for r in _records(g, projection) if r[0] == unit]


def _structure(g: Genome) -> tuple:
    return tuple(frozenset(_pairs(g, p)) for p in PROJECTIONS)


def _toy(n, inputs=(), recurrent=(), outputs=(), n_in=1, n_out=1) -> Genome:
    """A hand-wired 1-D genome; synapses as lists of (pre, post), weight 1."""

    def syn(pairs):
        pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
        return Synapses(pairs[:, 0], pairs[:, 1], np.ones(len(pairs)))

    return Genome(
        positions=np.arange(n, dtype=float)[:, None],
        input_positions=np.full((n_in, 1), -1.0),
        output_positions=np.full((n_out, 1), float(n)),
        v_th=np.ones(n), v_reset=np.zeros(n), v_leak=np.zeros(n),
        tau_mem_inv=np.full(n, 100.0), tau_syn_inv=np.full(n, 200.0),
        sign=np.ones(n), input_sign=np.ones(n_in),
        input_synapses=syn(inputs), recurrent=syn(recurrent), output_synapses=syn(outputs),
    )  # fmt: skip


def _within(count, trials, p, sigmas=4.0) -> bool:
    return abs(count - trials * p) <= sigmas * np.sqrt(trials * p * (1 - p)) + 1


# ---------------------------------------------------------- params, purity
@pytest.mark.parametrize(
    "bad",
    [{"edge_delete": -0.1}, {"edge_add": 1.5}, {"sign_flip": float("nan")},
     {"position_sigma": -1.0}, {"position_rate": 2}, {"perturb_rate": -0.5},
     {"perturb_sigma": float("inf")}],
)  # fmt: skip
def test_mutation_params_reject_values_outside_their_domain(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"MutationParams.{name}"):
        MutationParams(**bad)


def _operators():
    full = MutationParams(position_sigma=0.3, position_rate=0.5)
    spatial = dataclasses.replace(full, spatial_add=True, edge_add=0.3)
    return {
        "mutate": lambda a, b, r: mutate(a, r, full, RANGES),
        "mutate_spatial": lambda a, b, r: mutate(a, r, spatial, RANGES),
        "crossover": lambda a, b, r: crossover(a, b, r),
        "geometric_crossover": lambda a, b, r: geometric_crossover(a, b, r),
        "prune": lambda a, b, r: prune(a),
        "compact": lambda a, b, r: compact(a),
    }


@pytest.mark.parametrize("op", list(_operators()))
def test_operators_leave_parent_arrays_unchanged(op):
    a, b = _genome(1), _genome(2)
    before_a, before_b = _snapshot(a), _snapshot(b)
    out = _operators()[op](a, b, np.random.default_rng(3))
    for before, g in ((before_a, a), (before_b, b)):
        after = _arrays(g)
        for k, v in before.items():
            assert np.array_equal(v, after[k]), f"{op} wrote into {k}"
    # children own their arrays: writing into one later cannot reach a parent
    for child in out if isinstance(out, tuple) else (out,):
        for k, v in _arrays(child).items():
            assert not any(np.shares_memory(v, x) for g in (a, b) for x in _arrays(g).values()), k


@pytest.mark.parametrize("op", ["mutate", "mutate_spatial", "crossover", "geometric_crossover"])
def test_operators_are_deterministic_given_the_seed(op):
    a, b = _genome(1), _genome(2)
    f = _operators()[op]

    def run(seed):
        out = f(a, b, np.random.default_rng(seed))
        return out if isinstance(out, tuple) else (out,)

    assert all(_same(x, y) for x, y in zip(run(7), run(7), strict=True))
    assert not all(_same(x, y) for x, y in zip(run(7), run(8), strict=True))


def test_operators_reject_a_legacy_rng():
    with pytest.raises(TypeError, match="np.random.Generator"):
        mutate(_genome(), np.random.RandomState(0), MutationParams(), RANGES)


def test_mutation_with_every_event_off_copies_the_genome():
    g = _genome()
    assert _same(mutate(g, np.random.default_rng(0), OFF, RANGES), g)


# --------------------------------------------------------- mutation rates
@pytest.fixture(scope="module")
def big():
    """A 2000-neuron reference genome (published rule: io at distance 1, self-loops)."""
    return _genome(11, GenomeSpec.reference(dim=2, n_hidden=2000), n_in=8, n_out=4)


def test_uniform_mutation_rates_match_their_probabilities(big):
    p = MutationParams()  # the published rates
    m = mutate(big, np.random.default_rng(5), p, RANGES)
    space = {"input_synapses": 8 * 2000, "recurrent": 2000 * 2000, "output_synapses": 2000 * 4}
    for proj, possible in space.items():
        old, new = _keys(big, proj), _keys(m, proj)
        assert np.unique(new).size == new.size, f"{proj}: duplicate synapses"
        kept = np.isin(old, new)
        added = ~np.isin(new, old)
        assert _within(np.sum(~kept), old.size, p.edge_delete), proj
        assert _within(added.sum(), possible - old.size, p.edge_add), proj
        # resampled weights among the survivors (keys are sorted in both genomes)
        w_old = getattr(big, proj).weight[np.argsort(old)][np.isin(np.sort(old), new)]
        w_new = getattr(m, proj).weight[np.argsort(new)][np.isin(np.sort(new), old)]
        assert _within(np.sum(w_old != w_new), kept.sum(), p.weight_resample), proj
        w_added = getattr(m, proj).weight[added]
        assert w_added.min() >= RANGES.weight[0] and w_added.max() <= RANGES.weight[1]
    assert _within(np.sum(m.sign != big.sign), big.n, p.sign_flip)
    for name in NEURON_PARAMS:
        assert _within(np.sum(getattr(m, name) != getattr(big, name)), big.n, p.param_resample)
    assert np.array_equal(m.positions, big.positions)


def test_nudges_are_small_steps_at_their_rate_clipped_to_the_range_and_change_nothing_else(big):
    p = dataclasses.replace(OFF, perturb_rate=0.3, perturb_sigma=0.02)
    m = mutate(big, np.random.default_rng(6), p, RANGES)
    lo, hi = RANGES.weight
    for proj in ("input_synapses", "recurrent", "output_synapses"):
        a, b = getattr(big, proj), getattr(m, proj)
        assert np.array_equal(a.pre, b.pre) and np.array_equal(a.post, b.post), proj  # structure kept
        moved = a.weight != b.weight
        assert _within(moved.sum(), a.weight.size, p.perturb_rate), proj
        assert b.weight.min() >= lo and b.weight.max() <= hi, proj
        step = (b.weight[moved].astype(np.float64) - a.weight[moved]) / (hi - lo)
        inside = (b.weight[moved] > lo) & (b.weight[moved] < hi)  # not clipped
        assert abs(step[inside].std() / p.perturb_sigma - 1) < 0.1, proj  # a nudge, not a resample
    for name in NEURON_PARAMS:
        lo, hi = getattr(RANGES, name)
        moved = getattr(m, name) != getattr(big, name)
        # parents' v_reset sits at its range's top (0): half its nudges are clipped back to 0
        rate = p.perturb_rate / 2 if name == "v_reset" else p.perturb_rate
        assert _within(moved.sum(), big.n, rate), name
        assert getattr(m, name).min() >= lo and getattr(m, name).max() <= hi, name
    assert np.array_equal(m.sign, big.sign) and np.array_equal(m.positions, big.positions)


def test_without_nudges_mutation_draws_what_the_published_operators_draw():
    g = _genome(4)
    published = mutate(g, np.random.default_rng(9), MutationParams(), RANGES)
    assert _same(published, mutate(g, np.random.default_rng(9), MutationParams(perturb_sigma=0.5), RANGES))
    assert not _same(published, mutate(g, np.random.default_rng(9), MutationParams(perturb_rate=0.5), RANGES))


def test_uniform_edge_addition_ignores_distance(big):
    p = dataclasses.replace(OFF, edge_add=0.01)
    m = mutate(big, np.random.default_rng(6), p, RANGES)
    added = m.recurrent.take(~np.isin(_keys(m, "recurrent"), _keys(big, "recurrent")))
    d_added = np.linalg.norm(big.positions[added.pre] - big.positions[added.post], axis=1)
    i, j = np.random.default_rng(0).integers(0, big.n, (2, 200_000))
    d_all = np.linalg.norm(big.positions[i] - big.positions[j], axis=1)
    assert d_added.mean() == pytest.approx(d_all.mean(), rel=0.03)
    for idx in (added.pre, added.post):  # every slot equally likely, as pre and as post
        counts = np.bincount(idx, minlength=big.n).reshape(10, -1).sum(axis=1)
        assert np.all(np.abs(counts - len(added) / 10) < 5 * np.sqrt(len(added) / 10))


def _expected_addition(g, m, projection, src, dst, p_add, io):
    """Per absent candidate pair within the radius: distance and probability ``p * p(d) / p0``."""
    rule, box = g.rule, g.rule.period
    if box is not None:  # periodic box: minimum-image distances (positions folded into [0, side))
        src, dst = (np.where(np.mod(x, box) >= box, 0.0, np.mod(x, box)) for x in (src, dst))
    pairs = cKDTree(src, boxsize=box).sparse_distance_matrix(
        cKDTree(dst, boxsize=box), rule.radius(io, src.shape[1]), output_type="ndarray"
    )
    i, j, d = pairs["i"], pairs["j"], pairs["v"]
    if projection == "recurrent":
        d = np.where(i == j, rule.self_distance, d)
    absent = ~np.isin(i.astype(np.int64) * 1_000_000 + j, _keys(g, projection))
    prob = p_add * rule.probability(d[absent], io=io) / (rule.io_p0 if io else rule.p0)
    added = getattr(m, projection).take(~np.isin(_keys(m, projection), _keys(g, projection)))
    return d[absent], prob, synapse_distances(m.replace(**{projection: added}), projection)


def _check_follows(d, prob, d_added):
    assert abs(d_added.size - prob.sum()) < 4 * np.sqrt(prob.sum())
    expected = np.sum(prob * d) / prob.sum()
    assert d_added.mean() == pytest.approx(expected, abs=4 * d.std() / np.sqrt(d_added.size))


@pytest.mark.parametrize("p0", [1.0, 0.4])
def test_spatial_edge_addition_follows_the_distance_rule(big, p0):
    g = big.replace(rule=dataclasses.replace(big.rule, p0=p0, io_p0=p0))
    p_add = 0.5
    m = mutate(g, np.random.default_rng(7), dataclasses.replace(OFF, edge_add=p_add, spatial_add=True), RANGES)
    d, prob, d_added = _expected_addition(g, m, "recurrent", g.positions, g.positions, p_add, False)
    _check_follows(d, prob, d_added)
    assert d_added.mean() < 0.2 * np.linalg.norm(np.ptp(g.positions, axis=0))  # uniform: ~0.5 side
    # io pairs at the rule's io_distance: probability p * p(io_distance) / io_p0
    q = p_add * float(g.rule.probability(g.rule.io_distance, io=True)) / g.rule.io_p0
    added_in = np.sum(~np.isin(_keys(m, "input_synapses"), _keys(g, "input_synapses")))
    assert _within(added_in, 8 * 2000 - len(g.input_synapses), q)


def test_spatial_edge_addition_uses_real_input_and_output_distances():
    g = _genome(8, GenomeSpec.spatial(dim=2, n_hidden=900), n_in=30, n_out=30)
    assert g.rule.io_distance is None
    p_add = 0.8
    m = mutate(g, np.random.default_rng(2), dataclasses.replace(OFF, edge_add=p_add, spatial_add=True), RANGES)
    for proj, src, dst in (
        ("input_synapses", g.input_positions, g.positions),
        ("output_synapses", g.positions, g.output_positions),
    ):
        _check_follows(*_expected_addition(g, m, proj, src, dst, p_add, True))


@pytest.mark.parametrize("spatial_add", [False, True])
def test_edge_addition_respects_a_rule_without_self_loops(spatial_add):
    g = _genome(3, GenomeSpec.spatial(dim=1, n_hidden=12))  # self_distance None
    assert g.rule.self_distance is None
    m = mutate(
        g,
        np.random.default_rng(0),
        dataclasses.replace(OFF, edge_add=1.0, spatial_add=spatial_add),
        RANGES,
    )
    assert not np.any(m.recurrent.pre == m.recurrent.post)
    if not spatial_add:  # every absent off-diagonal pair added
        assert len(m.recurrent) == 12 * 11
        assert len(m.input_synapses) == 4 * 12 and len(m.output_synapses) == 12 * 3


def test_position_moves_keep_synapse_genes_and_effective_weights_follow():
    g = _genome(4)  # spatial rule: every projection uses real distances
    p = dataclasses.replace(OFF, position_sigma=0.3, position_rate=0.5)
    m = mutate(g, np.random.default_rng(1), p, RANGES)
    moved = np.any(m.positions != g.positions, axis=1)
    assert _within(moved.sum(), g.n, 0.5)
    assert _same(m.replace(positions=g.positions), g)
    new, old = build(m), build(g)
    for proj, name, pre_pos, post_pos in (
        ("recurrent", "recurrent", m.positions, m.positions),
        ("input_synapses", "input", m.input_positions, m.positions),
        ("output_synapses", "output", m.positions, m.output_positions),
    ):
        syn = getattr(m, proj)
        d = np.linalg.norm(pre_pos[syn.pre] - post_pos[syn.post], axis=1)
        if g.rule.period is not None:  # minimum image in the periodic box
            diff = pre_pos[syn.pre] - post_pos[syn.post]
            d = np.linalg.norm(diff - np.asarray(g.rule.period) * np.round(diff / g.rule.period), axis=1)
        sign = m.input_sign if proj == "input_synapses" else m.sign
        expected = syn.weight * g.rule.strength(d, io=proj != "recurrent") * sign[syn.pre]
        got = np.asarray(getattr(new, name)[syn.pre, syn.post]).ravel()
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        assert not np.allclose(getattr(new, name).toarray(), getattr(old, name).toarray())


# ---------------------------------------------------------------- crossover
def _sources(child: Genome, a: Genome, b: Genome) -> np.ndarray:
    """Per hidden neuron: True if it came from b (parents' v_th are distinct)."""
    from_b = child.v_th == b.v_th
    assert np.all(from_b | (child.v_th == a.v_th)), "a neuron's v_th comes from neither parent"
    return from_b


def _check_provenance(child, base, other, from_other, from_other_in):
    for f in (*NEURON_PARAMS, "sign"):
        assert np.array_equal(getattr(child, f), np.where(from_other, getattr(other, f), getattr(base, f))), f
    assert np.array_equal(child.positions, np.where(from_other[:, None], other.positions, base.positions))
    for proj in ("recurrent", "output_synapses"):
        for i in range(child.n):
            src = other if from_other[i] else base
            assert _outgoing(child, proj, i) == _outgoing(src, proj, i), (proj, i)
    for k in range(child.n_inputs):
        src = other if from_other_in[k] else base
        assert _outgoing(child, "input_synapses", k) == _outgoing(src, "input_synapses", k)
        assert child.input_sign[k] == src.input_sign[k]


def _input_sources(child, a, b):
    """Input channels: True from b, False from a, None when both parents' channels agree."""

    def channel(g, k):
        return (
            _outgoing(g, "input_synapses", k),
            int(g.input_sign[k]),
            g.input_positions[k].tolist(),
        )

    out = []
    for k in range(child.n_inputs):
        mine, ca, cb = channel(child, k), channel(a, k), channel(b, k)
        assert mine in (ca, cb), f"input channel {k} matches neither parent"
        out.append(None if ca == cb else mine == cb)
    return out


@pytest.mark.parametrize("op", [crossover, geometric_crossover])
def test_crossover_children_mix_whole_neurons_from_both_parents(op):
    a, b = _genome(1, n_in=6), _genome(2, n_in=6)
    c1, c2 = op(a, b, np.random.default_rng(0))
    swap = _sources(c1, a, b)
    assert 0 < swap.sum() < a.n
    swap_in = np.array([bool(s) for s in _input_sources(c1, a, b)])
    _check_provenance(c1, a, b, swap, swap_in)
    _check_provenance(c2, b, a, swap, swap_in)  # the complementary swap
    for c in (c1, c2):  # the published code silently copied a parent
        assert _structure(c) != _structure(a) and _structure(c) != _structure(b)
    for proj in PROJECTIONS:  # the children partition the parents' synapses
        assert sorted(_records(c1, proj) + _records(c2, proj)) == sorted(_records(a, proj) + _records(b, proj))


def test_crossover_swaps_a_random_half():
    a, b = _genome(1, n_in=6), _genome(2, n_in=6)
    for seed in range(5):
        swap = _sources(crossover(a, b, np.random.default_rng(seed))[0], a, b)
        assert swap.sum() == a.n // 2


def _separable(x: np.ndarray, label: np.ndarray) -> bool:
    """Is there a hyperplane w.x = c with label on the + side (LP feasibility)?"""
    y = np.where(label, 1.0, -1.0)
    a_ub = -y[:, None] * np.hstack([x, -np.ones((len(x), 1))])
    res = linprog(np.zeros(x.shape[1] + 1), A_ub=a_ub, b_ub=-np.ones(len(x)), bounds=(None, None))
    return res.status == 0


def test_geometric_crossover_splits_neurons_and_inputs_by_one_hyperplane():
    a, b = _genome(1, n_in=6), _genome(2, n_in=6)
    split_seen = 0
    for seed in range(6):
        c1, _ = geometric_crossover(a, b, np.random.default_rng(seed))
        from_a = ~_sources(c1, a, b)
        ins = _input_sources(c1, a, b)
        known = np.array([s is not None for s in ins])
        from_a_in = np.array([s is False for s in ins])[known]
        x = np.vstack([a.positions, a.input_positions[known]])
        assert _separable(x, np.concatenate([from_a, from_a_in])), seed
        split_seen += 0 < from_a.sum() < a.n
    assert split_seen >= 4
    # the separability check can fail: a random half is not a hyperplane split
    assert not _separable(a.positions, np.random.default_rng(0).permutation(a.n) < a.n // 2)


@pytest.mark.parametrize("op", [crossover, geometric_crossover])
def test_crossover_rejects_parents_of_different_shapes(op):
    a, b = _genome(1, n_in=4), _genome(2, n_in=5)
    with pytest.raises(ValueError, match=r"a = \(64, 4, 3, 2\) and b = \(64, 5, 3, 2\)"):
        op(a, b, np.random.default_rng(0))


# ------------------------------------------------------------------ pruning
def test_prune_keeps_a_loop_inside_a_connected_path():
    # in -> A -> C <-> E -> B -> out with A, C, E, B = 0, 1, 2, 3 (the published bug cut it all)
    g = _toy(4, inputs=[(0, 0)], recurrent=[(0, 1), (1, 2), (2, 1), (2, 3)], outputs=[(3, 0)])
    assert _structure(prune(g)) == _structure(g)


@pytest.mark.parametrize(
    "extra, removed",
    [
        ([(1, 4), (4, 5)], {4, 5}),  # dangling chain with no path to an output
        ([(4, 5), (5, 4), (5, 3)], {4, 5}),  # closed loop that receives no input
        ([(4, 4)], {4}),  # only a self-loop
        ([(1, 4), (4, 4)], {4}),  # input but no output, with a self-loop
    ],
)
def test_prune_removes_neurons_off_every_input_output_path(extra, removed):
    core = [(0, 1), (1, 2), (2, 1), (2, 3)]
    g = _toy(6, inputs=[(0, 0)], recurrent=core + extra, outputs=[(3, 0)])
    p = prune(g)
    assert _pairs(p, "recurrent") == set(core)
    assert not connected_neurons(p)[sorted(removed)].any()
    assert p.n == g.n  # slots stay, index-aligned


def test_prune_drops_io_synapses_of_removed_neurons_and_keeps_self_loops_on_paths():
    g = _toy(4, inputs=[(0, 0), (0, 2)], recurrent=[(0, 1), (1, 1)], outputs=[(1, 0), (3, 0)])
    p = prune(g)
    assert _pairs(p, "input_synapses") == {(0, 0)}
    assert _pairs(p, "recurrent") == {(0, 1), (1, 1)}
    assert _pairs(p, "output_synapses") == {(1, 0)}


def _dense_prune_mask(g: Genome) -> np.ndarray:
    """Naive twin: transitive closure of the dense adjacency matrix."""
    adj = np.zeros((g.n, g.n), bool)
    adj[g.recurrent.pre, g.recurrent.post] = True
    reach = adj | np.eye(g.n, dtype=bool)
    for _ in range(int(np.ceil(np.log2(max(g.n, 2)))) + 1):
        reach = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
    fed = np.zeros(g.n, bool)
    fed[g.input_synapses.post] = True
    feeds = np.zeros(g.n, bool)
    feeds[g.output_synapses.pre] = True
    return reach[fed].any(axis=0) & reach[:, feeds].any(axis=1)


@pytest.mark.parametrize("seed", range(6))
def test_prune_matches_a_dense_reachability_twin_is_idempotent_and_never_adds(seed):
    rng = np.random.default_rng(seed)
    g = mutate(_genome(seed, GenomeSpec.reference(dim=1 + seed % 3)), rng, MutationParams(), RANGES)
    p = prune(g)
    keep = _dense_prune_mask(g)
    assert np.array_equal(connected_neurons(p), keep)
    assert _pairs(p, "recurrent") == {(i, j) for i, j in _pairs(g, "recurrent") if keep[i] and keep[j]}
    for proj in PROJECTIONS:
        assert set(_records(p, proj)) <= set(_records(g, proj))
    assert _same(prune(p), p)


def test_compact_of_a_pruned_genome_keeps_its_effective_weights():
    g = mutate(_genome(5, GenomeSpec.reference(dim=2)), np.random.default_rng(0), MutationParams(), RANGES)
    p = prune(g)
    c = compact(p)
    kept = connected_neurons(p)
    assert c.n == kept.sum() < g.n and c.n_synapses == p.n_synapses
    full, small = build(p), build(c)
    np.testing.assert_array_equal(small.input.toarray(), full.input.toarray()[:, kept])
    np.testing.assert_array_equal(small.recurrent.toarray(), full.recurrent.toarray()[kept][:, kept])
    np.testing.assert_array_equal(small.output.toarray(), full.output.toarray()[kept])
    for f in NEURON_PARAMS:
        assert np.array_equal(getattr(c, f), getattr(p, f)[kept])
