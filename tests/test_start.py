"""Runs that start from a controller (``[evolution] init_genome``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from spatial_snn.evo.evolution import EvolutionConfig, GeneticAlgorithm
from spatial_snn.evo.pruning import prune
from spatial_snn.evo.variation import MutationParams
from spatial_snn.runs.replay import load_controller
from spatial_snn.runs.runner import evolve, resume
from spatial_snn.space.layout import GenomeSpec, random_genome

GENOMES = Path(__file__).resolve().parent.parent / "genomes"
SOLVED = GENOMES / "cartpole-2d.h5"  # solves CartPole-v1 (500 on every fresh episode)


@pytest.fixture
def same(genome_arrays):
    """``same(g, h)``: every array of the two genomes equal (conftest's ``genome_arrays``)."""
    def equal(g, h):
        x, y = genome_arrays(g), genome_arrays(h)
        return all(np.array_equal(x[k], y[k]) for k in x)

    return equal


def _cartpole(init_genome, **protocol) -> dict:
    """scenarios/cartpole.toml (the codec that made cartpole-2d.h5), small."""
    return {"name": "start", "env": {"id": "CartPole-v1"},
            "network": {"preset": "reference", "n_hidden": 64, "substeps": 4},
            "encoder": {"kind": "reference"}, "decoder": {"kind": "argmax"},
            "evolution": {"population": 6, "generations": 1, "init_genome": str(init_genome)},
            "protocol": {"episodes": 2, "test_every": 1, "test_episodes": 3, **protocol}}


def test_generation_0_is_the_start_and_mutants_of_it(same):
    spec = GenomeSpec.reference(dim=2, n_hidden=16)
    start = random_genome(spec, 4, 2, np.random.default_rng(0))  # not pruned: generation 0 keeps it as it is
    assert not same(prune(start), start)
    ga = GeneticAlgorithm(EvolutionConfig(population=8), spec, MutationParams(), 4, 2, seed=5)
    first = ga.initial(start).genomes
    assert len(first) == 8 and same(first[0], start)
    assert all(same(prune(g), g) for g in first[1:])  # mutants are pruned as every new genome
    assert not any(same(g, start) for g in first[1:])  # every other one is a mutant
    assert all((g.n, g.n_inputs, g.n_outputs, g.dim) == (16, 4, 2, 2) for g in first)
    again = GeneticAlgorithm(EvolutionConfig(population=8), spec, MutationParams(), 4, 2, seed=5).initial(start)
    assert all(same(a, b) for a, b in zip(first, again.genomes, strict=True))  # the seed fixes them
    with pytest.raises(ValueError, match="init_genome: the genome has"):
        ga.initial(random_genome(dataclasses.replace(spec, n_hidden=12), 4, 2, np.random.default_rng(0)))


def test_a_run_started_from_a_solved_controller_keeps_its_codec_and_solves_at_once(tmp_path):
    genome, task, _ = load_controller(SOLVED)
    result = evolve(_cartpole(SOLVED), dim=2, seed=3, workers=1, archive=tmp_path / "run.h5")
    # the start keeps its stored observation bounds (the run's own estimate would differ)
    assert result.task.obs_low == task.obs_low and result.task.obs_high == task.obs_high
    assert result.history["best"][0] == 500.0  # generation 0 holds the solved controller
    assert result.test_score == 500.0
    # a resumed run needs the file no more: its generation 0 is in the archive
    moved = tmp_path / "moved.h5"
    moved.write_bytes(SOLVED.read_bytes())
    evolve(_cartpole(moved), dim=2, seed=3, workers=1, archive=tmp_path / "again.h5")
    moved.unlink()
    more = resume(tmp_path / "again.h5", generations=2, workers=1)
    assert len(more.history["best"]) == 2


def test_a_start_that_does_not_fit_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="init_genome: .*nowhere.h5 is not a file"):
        evolve(_cartpole(tmp_path / "nowhere.h5"), dim=2, seed=0, workers=1)
    other = _cartpole(SOLVED)
    other["network"]["substeps"] = 8
    with pytest.raises(ValueError, match="init_genome: .* was evolved with substeps 4, the scenario has 8"):
        evolve(other, dim=2, seed=0, workers=1, archive=tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()  # refused before any file is made
    with pytest.raises(ValueError, match="init_genome: the genome has"):
        evolve(_cartpole(SOLVED) | {"network": {"preset": "reference", "n_hidden": 32, "substeps": 4}},
               dim=2, seed=0, workers=1)


def test_a_run_stopped_before_its_first_generation_resumes_from_its_start(tmp_path, monkeypatch, same):
    import spatial_snn.runs.runner as runner
    from spatial_snn.store.archive import open_run

    real = runner._evaluate

    def stop_at_once(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_evaluate", stop_at_once)
    with pytest.raises(KeyboardInterrupt):
        evolve(_cartpole(SOLVED), dim=2, seed=3, workers=1, archive=tmp_path / "run.h5")
    monkeypatch.setattr(runner, "_evaluate", real)
    with open_run(tmp_path / "run.h5") as run:
        assert run.n_generations == 0
    done = resume(tmp_path / "run.h5", workers=1)
    genome, _, _ = load_controller(SOLVED)
    with open_run(tmp_path / "run.h5") as run:
        assert same(run.population(0)[0], genome)  # not a random genome
    assert done.history["best"][0] == 500.0
