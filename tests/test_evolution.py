"""The GA: the classic scheme's composition, purity of ask, NSGA-II, curriculum."""

import numpy as np
import pytest

from spatial_snn.evo.evolution import ORIGIN, EvolutionConfig, GeneticAlgorithm, curriculum_cap, statistics
from spatial_snn.evo.variation import MutationParams
from spatial_snn.space.layout import GenomeSpec


def _ga(selection="classic", crossover="published", population=20, seed=0):
    cfg = EvolutionConfig(population=population, selection=selection, crossover=crossover)
    return GeneticAlgorithm(cfg, GenomeSpec.reference(2), MutationParams(), 4, 2, seed)


def _signature(genomes):
    return [(g.recurrent.pre.tobytes(), g.recurrent.weight.tobytes(), g.v_th.tobytes()) for g in genomes]


def test_classic_generation_has_the_published_composition():
    ga = _ga(population=100)
    pop = ga.initial().genomes
    fitness = np.arange(100, dtype=float)[:, None]
    off = ga.ask(1, pop, fitness)
    counts = {k: int(np.sum(off.origin == v)) for k, v in ORIGIN.items()}
    assert counts == {"initial": 0, "elite": 10, "mutant": 10, "child": 70, "random": 10}
    # elites are the 10 best, unchanged, best first
    assert off.parents[:10, 0].tolist() == list(range(99, 89, -1))
    for k in range(10):
        assert off.genomes[k] is pop[99 - k]
    # every child descends from two elites
    kids = off.parents[off.origin == ORIGIN["child"]]
    assert np.all(kids >= 90)


def test_ask_is_a_pure_function_of_generation_population_and_fitness():
    ga = _ga()
    pop = ga.initial().genomes
    fit = np.random.default_rng(1).random((20, 1))
    a = ga.ask(3, pop, fit)
    ga.ask(4, pop, fit)  # another call in between changes nothing
    b = _ga().ask(3, pop, fit)  # nor does a fresh GA object
    assert _signature(a.genomes) == _signature(b.genomes)
    assert np.array_equal(a.parents, b.parents)
    c = ga.ask(5, pop, fit)
    assert _signature(a.genomes) != _signature(c.genomes)


def test_crossover_children_differ_from_both_parents():
    ga = _ga(crossover="published")
    pop = ga.initial().genomes
    off = ga.ask(1, pop, np.arange(20.0)[:, None])
    differ = 0
    for g, (a, b) in zip(off.genomes, off.parents, strict=True):
        if b < 0:
            continue
        edges = {(int(p), int(q)) for p, q in zip(g.recurrent.pre, g.recurrent.post, strict=True)}
        pa = {(int(p), int(q)) for p, q in zip(pop[a].recurrent.pre, pop[a].recurrent.post, strict=True)}
        pb = {(int(p), int(q)) for p, q in zip(pop[b].recurrent.pre, pop[b].recurrent.post, strict=True)}
        differ += edges != pa and edges != pb
    assert differ >= 3


def test_nsga2_prefers_non_dominated_individuals():
    ga = _ga(selection="nsga2")
    # individual 0 dominates everyone on both objectives; 1 is best on events only
    fit = np.array([[10.0, -1.0], [0.0, 0.0]] + [[5.0 - k * 0.1, -5.0] for k in range(18)])
    parents = ga.parents(fit)
    assert 0 in parents and 1 in parents
    assert len(parents) == ga.config.n_elite
    with pytest.raises(ValueError, match="2 objectives"):
        ga.parents(fit[:, :1])


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="evolution.selection"):
        EvolutionConfig(selection="tournament")
    with pytest.raises(ValueError, match="evolution.elite"):
        EvolutionConfig(population=10, elite=5)


def test_curriculum_grows_by_the_factor_up_to_the_limit():
    caps = [curriculum_cap(g, 10, 1.1, 1000) for g in range(80)]
    assert caps[0] == 10 and caps[1] == 11 and caps[10] == 26
    assert all(b >= a for a, b in zip(caps, caps[1:], strict=False))
    assert caps[-1] == 1000
    assert curriculum_cap(10_000, 10, 1.1, None) > 1000


def test_statistics_summarise_returns():
    s = statistics(np.array([1.0, 2.0, 3.0]))
    assert s["best"] == 3.0 and s["mean"] == 2.0 and s["worst"] == 1.0


def _cost_ga(cost):
    cfg = EvolutionConfig(population=20, selection="nsga2", cost=cost)
    return GeneticAlgorithm(cfg, GenomeSpec.reference(2), MutationParams(), 4, 2, 0)


def test_nsga2_costs_are_read_from_evaluation_or_genome():
    from spatial_snn.space.connectivity import wiring_length

    pop = _cost_ga("synaptic_events").initial().genomes[:3]
    events = np.array([5.0, 0.0, 2.5])
    assert _cost_ga("synaptic_events").cost(events, pop).tolist() == events.tolist()
    ops = _cost_ga("synaptic_ops").cost(events, pop)
    assert ops.tolist() == [e + len(g.input_synapses) for e, g in zip(events, pop, strict=True)]
    assert _cost_ga("nonzero_weights").cost(events, pop).tolist() == [g.n_synapses for g in pop]
    wl = _cost_ga("wiring_length").cost(events, pop)
    assert wl.tolist() == [wiring_length(g) for g in pop] and np.all(wl > 0)
    with pytest.raises(ValueError, match="one per genome"):
        _cost_ga("synaptic_ops").cost(events[:2], pop)


def test_unknown_cost_names_the_choices():
    with pytest.raises(ValueError, match="evolution.cost: expected one of"):
        EvolutionConfig(cost="energy")


def test_nsga2_on_a_genome_cost_keeps_the_cheap_good_individual():
    ga = _cost_ga("nonzero_weights")
    pop = ga.initial().genomes
    weights = ga.cost(np.zeros(20), pop)
    returns = np.full(20, 10.0)
    cheapest = int(np.argmin(weights))
    returns[cheapest] = 10.0  # ties on return: only the cost separates them
    fitness = np.column_stack([returns, -weights])
    assert cheapest in ga.parents(fitness).tolist()
