"""A strategy over genomes (spatial_snn.evo.search): settings, seed tree, resume, a real task."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from spatial_snn.evo import seeding
from spatial_snn.evo.edge_codec import EdgeCodec
from spatial_snn.evo.gene_vector import GeneVector, GeneVectorSpec
from spatial_snn.evo.search import Search, SearchConfig, make_search, plateaued, strategy_params
from spatial_snn.evo.strategies import ars, open_es
from spatial_snn.evo.strategies.optimizers import Optimizer
from spatial_snn.space.layout import GenomeSpec, ParameterRanges, random_genome


@pytest.fixture(scope="module")
def template():
    return random_genome(GenomeSpec.spatial(dim=2, n_hidden=20), 4, 2, np.random.default_rng(0))


def _score(genomes, target: float = 40.0) -> np.ndarray:
    """A stand-in return: recurrent weight genes near ``target``."""
    return np.array([-np.mean((g.recurrent.weight - target) ** 2) for g in genomes])


def test_strategy_params_from_scenario_values():
    p = strategy_params("open_es", 16, {"sigma": 0.05, "optimizer": {"name": "sgd", "learning_rate": 0.1}})
    assert p == open_es.Params(population=16, sigma=0.05, optimizer=Optimizer("sgd", 0.1))
    assert strategy_params("ars", 16, {"top_directions": 4}) == ars.Params(directions=8, top_directions=4)
    with pytest.raises(ValueError, match="search.open_es.sigam: unknown setting; did you mean 'sigma'"):
        strategy_params("open_es", 16, {"sigam": 0.1})
    with pytest.raises(ValueError, match="optimizer.learnig_rate: unknown setting; did you mean 'learning_rate'"):
        strategy_params("pgpe", 16, {"optimizer": {"learnig_rate": 0.1}})
    with pytest.raises(ValueError, match="search.strategy: expected one of"):
        strategy_params("cma", 16)
    with pytest.raises(ValueError, match="ARS needs an even population"):
        strategy_params("ars", 15)


def test_search_draws_generation_g_from_its_own_stream(template):
    codec = GeneVector(template, GeneVectorSpec(("weights",)), ParameterRanges())
    params = strategy_params("open_es", 8, {"sigma": 0.05})
    search = Search("open_es", params, codec, seed=3)
    state = search.initial_state()
    x, genomes = search.ask(state, 5)
    expected, _ = open_es.ask(state, params, seeding.strategy_rng(3, 5))
    assert np.array_equal(x, expected)
    assert len(genomes) == 8 and genomes[0].n_synapses == template.n_synapses
    assert not np.array_equal(x, search.ask(state, 6)[0])


def test_a_search_resumed_from_an_hdf5_state_repeats_the_uninterrupted_history(template, tmp_path):
    codec = GeneVector(template, GeneVectorSpec(("weights", "lif")), ParameterRanges())
    search = Search("pgpe", strategy_params("pgpe", 10, {"sigma_init": 0.05}), codec, seed=1)

    def run(state, start, stop):
        seen = []
        for g in range(start, stop):
            x, genomes = search.ask(state, g)
            seen.append(x)
            state = search.tell(state, x, _score(genomes))
        return state, seen

    straight, seen_all = run(search.initial_state(), 0, 6)
    half, _ = run(search.initial_state(), 0, 3)
    with h5py.File(tmp_path / "gen.h5", "w") as f:
        for k, v in search.state_arrays(half).items():
            f[f"strategy/{k}"] = v
    with h5py.File(tmp_path / "gen.h5", "r") as f:
        back = search.state_from_arrays({k: f["strategy"][k][()] for k in f["strategy"]})
    resumed, seen_rest = run(back, 3, 6)
    for a, b in zip(seen_all[3:], seen_rest, strict=True):
        assert np.array_equal(a, b)
    for k in straight._fields:
        assert np.array_equal(getattr(straight, k), getattr(resumed, k)), k


def test_ec_search_improves_and_its_centre_is_the_most_probable_network(template):
    codec = EdgeCodec(template, "uniform")
    target = EdgeCodec(template, "spatial").encode()  # the template's own wiring
    search = Search("ec", strategy_params("ec", 24), codec, seed=0)
    state = search.initial_state()
    start = -np.sum((state.p > 0.5) != target)
    for g in range(40):
        masks, _ = search.ask(state, g)
        state = search.tell(state, masks, -np.sum(masks != target, axis=1).astype(float))
    centre = search.centre_genome(state)
    assert np.array_equal(codec.encode(centre), state.p > 0.5)
    assert -np.sum((state.p > 0.5) != target) > start + 0.5 * abs(start)


def test_strategy_and_codec_must_match(template):
    with pytest.raises(TypeError, match="strategy 'ec' needs an EdgeCodec"):
        Search("ec", strategy_params("ec", 8), GeneVector(template, GeneVectorSpec(), ParameterRanges()), 0)
    with pytest.raises(TypeError, match="needs a GeneVector"):
        Search("open_es", strategy_params("open_es", 8), EdgeCodec(template), 0)


def test_search_config_defaults_to_the_ga_and_names_bad_values(template):
    assert SearchConfig().strategy == "ga"
    with pytest.raises(ValueError, match="search.strategy: .* got 'open-es'; did you mean 'open_es'"):
        SearchConfig(strategy="open-es")
    with pytest.raises(ValueError, match="search.then: expected an evolution strategy"):
        SearchConfig(strategy="open_es", then="pgpe")
    with pytest.raises(ValueError, match="search.then"):
        SearchConfig(then="ec")
    with pytest.raises(ValueError, match="genes.groups"):
        SearchConfig(strategy="pgpe", genes=("delays",))
    with pytest.raises(ValueError, match="search.prior"):
        SearchConfig(strategy="ec", prior="gaussian")
    ranges = ParameterRanges()
    es = make_search(
        SearchConfig(strategy="ga", then="sep_cma_es", genes=("weights", "positions")),
        template,
        12,
        ranges,
        0,
        name="sep_cma_es",
    )
    assert isinstance(es.codec, GeneVector) and es.codec.spec.groups == ("weights", "positions")
    assert es.params.population == 12
    ec_search = make_search(SearchConfig(strategy="ec", prior="uniform"), template, 12, ranges, 0)
    assert isinstance(ec_search.codec, EdgeCodec) and ec_search.codec.prior == "uniform"
    with pytest.raises(ValueError, match="not a Search"):
        make_search(SearchConfig(), template, 12, ranges, 0)


def test_plateau_rule():
    assert not plateaued([1.0, 2.0], window=2, min_gain=0.01)  # too short to tell
    assert not plateaued([100.0, 100.0, 120.0], window=2, min_gain=0.1)  # +20 %
    assert plateaued([100.0, 100.0, 105.0], window=2, min_gain=0.1)  # +5 %
    with pytest.raises(ValueError, match="window"):
        plateaued([1.0], window=0, min_gain=0.1)


@pytest.mark.slow
def test_sep_cma_es_over_weights_and_lif_parameters_balances_cartpole():
    """The engine end to end on a real task: a random reference network, batched rollouts, 6 generations."""
    from spatial_snn.tasks.evaluation import Task, rollout

    low = (-4.8, -5.0, -0.42, -5.0)
    task = Task("CartPole-v1", substeps=4, obs_low=low, obs_high=tuple(-x for x in low))
    template = random_genome(GenomeSpec.reference(2), 4, 2, seeding.variation_rng(0, 0, 0))
    codec = GeneVector(template, GeneVectorSpec(("weights", "lif")), ParameterRanges())
    search = Search("sep_cma_es", strategy_params("sep_cma_es", 16, {"sigma_init": 0.1}), codec, seed=0)
    state = search.initial_state()
    best = []
    for g in range(6):
        x, genomes = search.ask(state, g)
        returns = rollout(task, genomes, seeding.train_seeds(0, g, 2)).returns.mean(axis=1)
        best.append(returns.max())
        state = search.tell(state, x, returns)
    template_return = rollout(task, [template], seeding.train_seeds(0, 0, 2)).returns.mean()
    assert template_return < 50  # measured: 31.0
    assert max(best) >= 300, best  # measured: 500 in generation 3
