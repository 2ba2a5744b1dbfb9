"""Self-adapting mutation strength (``[evolution] adapt_tau``): inherited, log-normally varied, resumable."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatial_snn.analysis.inspect import summary
from spatial_snn.evo import seeding
from spatial_snn.evo.evolution import ORIGIN, STRENGTH_MAX, EvolutionConfig, GeneticAlgorithm
from spatial_snn.evo.variation import MutationParams
from spatial_snn.runs.runner import evolve, resume
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.space.layout import GenomeSpec
from spatial_snn.store import schema
from spatial_snn.store.run_reader import open_run


def _ga(tau, population=20, seed=0, floor=0.01):
    return GeneticAlgorithm(
        EvolutionConfig(population=population, adapt_tau=tau, adapt_min=floor),
        GenomeSpec.reference(2),
        MutationParams(),
        4,
        2,
        seed,
    )


def _changed(a, b) -> int:
    """How many recurrent synapses and neuron thresholds differ between two genomes."""
    edges = {(int(p), int(q)): w for p, q, w in zip(a.recurrent.pre, a.recurrent.post, a.recurrent.weight, strict=True)}
    other = {(int(p), int(q)): w for p, q, w in zip(b.recurrent.pre, b.recurrent.post, b.recurrent.weight, strict=True)}
    return sum(edges.get(k) != other.get(k) for k in edges.keys() | other.keys()) + int(np.sum(a.v_th != b.v_th))


def test_scaled_multiplies_every_probability_capped_at_one_and_both_sigmas():
    p = MutationParams(perturb_rate=0.2, perturb_sigma=0.02, position_sigma=0.1, position_rate=0.3)
    big = p.scaled(4.0)
    assert (big.edge_delete, big.weight_resample, big.param_resample) == pytest.approx((0.2, 0.4, 0.4))
    assert big.position_rate == 1.0 and big.perturb_rate == pytest.approx(0.8)  # capped at 1
    assert (big.perturb_sigma, big.position_sigma) == pytest.approx((0.08, 0.4))
    assert big.spatial_add == p.spatial_add
    with pytest.raises(ValueError, match="strength: expected a finite value > 0"):
        p.scaled(0.0)
    with pytest.raises(ValueError, match="adapt_tau: expected a finite value >= 0"):
        EvolutionConfig(adapt_tau=-0.1)


def test_without_adaptation_every_strength_is_one_and_nothing_extra_is_drawn():
    off, on = _ga(0.0), _ga(0.5)
    pop = off.initial().genomes
    fit = np.random.default_rng(1).random((20, 1))
    a = off.ask(1, pop, fit)
    assert np.all(a.strengths == 1.0)
    b = off.ask(1, pop, fit, np.full(20, 3.0))  # strengths are ignored when off: tau 0 draws nothing
    assert all(_changed(x, y) == 0 for x, y in zip(a.genomes, b.genomes, strict=True))
    c = on.ask(1, pop, fit)
    assert not np.all(c.strengths == 1.0)


def test_offspring_inherit_their_parents_strength_times_a_lognormal_factor():
    ga, tau = _ga(0.5), 0.5
    pop = ga.initial().genomes
    fit = np.arange(20.0)[:, None]
    strengths = np.geomspace(0.1, 5.0, 20)
    off = ga.ask(2, pop, fit, strengths)
    for i, (origin, (a, b), s) in enumerate(zip(off.origin, off.parents, off.strengths, strict=True)):
        assert 0.01 <= s <= STRENGTH_MAX
        if origin == ORIGIN["elite"]:
            assert s == strengths[a]  # an elite keeps its strength with its genome
        elif origin == ORIGIN["mutant"]:
            # the factor is the first draw of the individual's own stream
            z = seeding.variation_rng(0, 2, i).standard_normal()
            assert s == pytest.approx(strengths[a] * math.exp(tau * z))
        elif origin == ORIGIN["child"]:
            ratio = math.log(s / math.sqrt(strengths[a] * strengths[b])) / tau
            assert abs(ratio) < 6  # the geometric mean of both parents, varied
        else:
            assert s == 1.0 and origin == ORIGIN["random"]
    again = _ga(0.5).ask(2, pop, fit, strengths)  # a pure function of its arguments
    assert np.array_equal(off.strengths, again.strengths)
    with pytest.raises(ValueError, match="strengths: expected 20 values > 0"):
        ga.ask(2, pop, fit, np.zeros(20))


def test_a_weak_strength_makes_mutants_nearer_their_parents_than_a_strong_one():
    ga = _ga(1e-9)  # adapting, but the factor is 1: the strengths given are the strengths used
    pop = ga.initial().genomes
    fit = np.arange(20.0)[:, None]
    near = ga.ask(1, pop, fit, np.full(20, 0.1))
    far = ga.ask(1, pop, fit, np.full(20, 5.0))
    m = EvolutionConfig(population=20).n_elite
    # mutants of the elites follow them; mutant k descends from elite k
    d_near = [_changed(near.genomes[m + k], pop[near.parents[m + k, 0]]) for k in range(m)]
    d_far = [_changed(far.genomes[m + k], pop[far.parents[m + k, 0]]) for k in range(m)]
    assert sum(d_near) * 5 < sum(d_far)


def test_an_adapting_run_stores_its_strengths_and_resumes_to_the_same_history(tmp_path, tiny_scenario):
    tiny = tiny_scenario(evolution={"population": 10, "generations": 4, "adapt_tau": 0.7})
    whole = evolve(scenario_from_dict(tiny), seed=4, workers=1, archive=tmp_path / "whole.h5")
    evolve(scenario_from_dict(tiny), seed=4, workers=1, generations=2, archive=tmp_path / "cut.h5")
    resumed = resume(tmp_path / "cut.h5", generations=4, workers=1)
    for key in ("best", "mean", "test", "env_steps"):
        np.testing.assert_array_equal(whole.history[key], resumed.history[key], err_msg=key)
    with open_run(tmp_path / "whole.h5") as a, open_run(tmp_path / "cut.h5") as b:
        assert "mutation_strengths" not in a.generation(0)["extra"]  # random genomes start at 1: not stored
        for g in range(1, 4):
            sa, sb = a.generation(g)["extra"], b.generation(g)["extra"]
            assert np.array_equal(sa["mutation_strengths"], sb["mutation_strengths"])
            assert [x.v_th.tobytes() for x in a.population(g)] == [x.v_th.tobytes() for x in b.population(g)]
        last = a.generation(3)["extra"]["mutation_strengths"]
        assert set(a.generation(3)["extra"]) <= set(schema.GENERATION_EXTRAS)  # declared names only
        assert len(set(last.round(9))) > 1
        assert f"strength median {np.median(last):.3g}" in summary(a)  # inspect shows them


def test_the_strength_floor_holds_and_its_default_changes_nothing():
    pop = _ga(0.5).initial().genomes
    fit = np.arange(20.0)[:, None]
    tiny = np.full(20, 0.011)  # just above the default floor: most draws fall below 0.2
    low = _ga(0.5).ask(3, pop, fit, tiny)
    floored = _ga(0.5, floor=0.2).ask(3, pop, fit, tiny)
    new = low.origin != ORIGIN["elite"]
    assert np.min(low.strengths[new]) < 0.2 and np.min(floored.strengths[new]) == pytest.approx(0.2)
    assert np.all(floored.strengths[new] >= 0.2)
    # the draws are the same; only the clip differs
    same = low.strengths >= 0.2
    assert np.array_equal(low.strengths[same & new], floored.strengths[same & new])
    default = GeneticAlgorithm(
        EvolutionConfig(population=20, adapt_tau=0.5), GenomeSpec.reference(2), MutationParams(), 4, 2, 0
    ).ask(3, pop, fit, tiny)
    assert np.array_equal(default.strengths, low.strengths)
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="evolution.adapt_min: expected a value in \\(0, 1\\]"):
            EvolutionConfig(adapt_min=bad)
