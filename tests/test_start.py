"""Runs that start from a controller (``[start] genome``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from spatial_snn.evo.evolution import EvolutionConfig, GeneticAlgorithm
from spatial_snn.evo.pruning import prune
from spatial_snn.evo.variation import MutationParams
from spatial_snn.runs.runner import evolve, resume
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.store.controller import load_controller

GENOMES = Path(__file__).resolve().parent.parent / "genomes"
SOLVED = GENOMES / "cartpole-2d.h5"  # solves CartPole-v1 (500 on every fresh episode)


@pytest.fixture
def same(genome_arrays):
    """``same(g, h)``: every array of the two genomes equal (conftest's ``genome_arrays``)."""

    def equal(g, h):
        x, y = genome_arrays(g), genome_arrays(h)
        return all(np.array_equal(x[k], y[k]) for k in x)

    return equal


def _cartpole(start_genome, **protocol) -> dict:
    """scenarios/cartpole.toml (the codec that made cartpole-2d.h5), small."""
    return {
        "name": "start",
        "env": {"id": "CartPole-v1"},
        "network": {"preset": "reference", "n_hidden": 64, "substeps": 4},
        "encoder": {"kind": "reference"},
        "decoder": {"kind": "argmax"},
        "start": {"genome": str(start_genome)},
        "evolution": {"population": 6, "generations": 1},
        "protocol": {"episodes": 2, "test_every": 1, "test_episodes": 3, **protocol},
    }


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
    with pytest.raises(ValueError, match="start.genome: the genome has"):
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
    with pytest.raises(ValueError, match="start.genome: .*nowhere.h5 is not a file"):
        evolve(_cartpole(tmp_path / "nowhere.h5"), dim=2, seed=0, workers=1)
    other = _cartpole(SOLVED)
    other["network"]["substeps"] = 8
    with pytest.raises(ValueError, match="start.genome: .* was evolved with substeps 4, the scenario has 8"):
        evolve(other, dim=2, seed=0, workers=1, archive=tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()  # refused before any file is made
    with pytest.raises(
        ValueError,
        match=r"start.genome: .*cartpole-2d.h5 has \(neurons, inputs, outputs, dim\) = "
        r"\(64, 4, 2, 2\), the run needs \(32, 4, 2, 2\)",
    ):
        evolve(
            _cartpole(SOLVED) | {"network": {"preset": "reference", "n_hidden": 32, "substeps": 4}},
            dim=2,
            seed=0,
            workers=1,
        )


def test_a_run_stopped_before_its_first_generation_resumes_from_its_start(tmp_path, monkeypatch, same):
    import spatial_snn.runs.runner as runner
    from spatial_snn.store.run_reader import open_run

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


def test_a_normalising_run_refines_from_the_statistics_behind_the_bounds(tmp_path):
    """Export keeps the moments the champion's bounds came from and the steps that made it; a refining
    run goes on from both."""
    import json

    import h5py

    from spatial_snn.analysis.curves import read_curve
    from spatial_snn.analysis.inspect import summary
    from spatial_snn.cli import main
    from spatial_snn.store.run_reader import open_run
    from spatial_snn.tasks.moments import ObsMoments

    normalising = {"kind": "reference", "normalise": True}
    first = _cartpole(SOLVED) | {"encoder": normalising}
    first["evolution"], first["start"] = {"population": 6, "generations": 3}, {}  # a random start
    evolve(first, dim=2, seed=5, workers=1, archive=tmp_path / "run.h5")
    assert main(["export", str(tmp_path / "run.h5"), "--to", str(tmp_path / "champ.h5")]) == 0
    genome, task, meta = load_controller(tmp_path / "champ.h5")
    moments = meta["obs_moments"]
    assert meta["generation"] >= 1 and moments["count"] > 0  # seed 5: a later test beat generation 0's
    low, high = ObsMoments.from_json(moments, 4).bounds(3.0, np.full(4, np.nan), np.full(4, np.nan))
    assert tuple(low) == task.obs_low and tuple(high) == task.obs_high  # exactly the champion's bounds

    refine = _cartpole(tmp_path / "champ.h5") | {"encoder": normalising}
    refine["evolution"]["generations"] = 2
    evolve(refine, dim=2, seed=2, workers=1, archive=tmp_path / "refine.h5")
    # the lineage's environment steps: the start's are kept, curves and exports go on from them
    with open_run(tmp_path / "run.h5") as run:
        made = int(run.history["env_steps"][meta["generation"]])
    assert meta["env_steps"] == made
    own = read_curve(tmp_path / "refine.h5")
    with open_run(tmp_path / "refine.h5") as run:
        assert int(run.run_data("start_env_steps")[0]) == made
        assert np.array_equal(own.env_steps, made + run.history["env_steps"][np.isfinite(run.history["test"])])
        assert f"+ {made:,} that made the start genome" in summary(run)
        g0, g1 = run.generation(0)["extra"], run.generation(1)["extra"]
        refined = int(g0["obs_count"][0])
        assert tuple(g0["obs_low"]) == task.obs_low  # generation 0 encodes the start as it was evolved
        # the moments go on from the start's: generation 1's bounds are the start's and generation 0's together
        assert int(g1["obs_count"][0]) > refined > moments["count"]
        both = ObsMoments.from_arrays(g0).bounds(3.0, np.full(4, np.nan), np.full(4, np.nan))
        assert np.array_equal(g1["obs_low"], both[0]) and np.array_equal(g1["obs_high"], both[1])
        assert int(run.run_data("obs_count0")[0]) == moments["count"]
        from spatial_snn.store import schema

        # every name the runner stored is declared in the schema
        assert all(schema.is_run_data_name(name) for name in run.run_data_names)
        assert set(g0) | set(g1) <= set(schema.GENERATION_EXTRAS)
    # a champion of generation 0 (a one-generation run) is exported with the moments its run started from
    evolve(
        refine | {"start": {"genome": str(tmp_path / "champ.h5")}, "evolution": {"population": 6, "generations": 1}},
        dim=2,
        seed=2,
        workers=1,
        archive=tmp_path / "one.h5",
    )
    assert main(["export", str(tmp_path / "one.h5"), "--to", str(tmp_path / "again.h5")]) == 0
    again = load_controller(tmp_path / "again.h5")[2]
    assert again["obs_moments"] == moments
    with open_run(tmp_path / "one.h5") as run:
        assert again["env_steps"] == made + int(run.history["env_steps"][0])
    # without the moments (a file exported before they were kept) the run's own statistics take over
    with h5py.File(tmp_path / "champ.h5", "r+") as f:
        old = json.loads(f.attrs["meta"])
        del old["obs_moments"]
        f.attrs["meta"] = json.dumps(old)
    evolve(refine, dim=2, seed=2, workers=1, archive=tmp_path / "plain.h5")
    with open_run(tmp_path / "plain.h5") as run:  # the same episodes, counted from zero
        assert int(run.generation(0)["extra"]["obs_count"][0]) == refined - moments["count"]
        assert "obs_count0" not in run.run_data_names
    # damaged moments or steps: one clear error, nothing written
    with h5py.File(tmp_path / "champ.h5", "r+") as f:
        f.attrs["meta"] = json.dumps(old | {"obs_moments": {"count": 5, "sum": [1.0], "sumsq": [1.0]}})
    with pytest.raises(ValueError, match="obs_moments is damaged .* export the genome again"):
        evolve(refine, dim=2, seed=2, workers=1, archive=tmp_path / "bad.h5")
    assert not (tmp_path / "bad.h5").exists()
    with h5py.File(tmp_path / "champ.h5", "r+") as f:
        f.attrs["meta"] = json.dumps(old | {"env_steps": -3})
    with pytest.raises(ValueError, match="meta env_steps is -3, not a count >= 0; export the genome again"):
        evolve(refine, dim=2, seed=2, workers=1, archive=tmp_path / "bad.h5")
    assert not (tmp_path / "bad.h5").exists()


def test_generation_0_of_a_refinement_tests_the_start_not_its_luckiest_mutant(tmp_path, same):
    """A mutant with a lucky training episode must not replace the start before any test has compared them."""
    from spatial_snn.cli import main
    from spatial_snn.store.run_reader import open_run

    first = _cartpole(SOLVED)
    first["evolution"], first["start"] = {"population": 6, "generations": 2}, {}  # random: a mediocre controller
    evolve(first, dim=2, seed=1, workers=1, archive=tmp_path / "run.h5")
    assert main(["export", str(tmp_path / "run.h5"), "--to", str(tmp_path / "champ.h5")]) == 0
    start, _, _ = load_controller(tmp_path / "champ.h5")
    evolve(_cartpole(tmp_path / "champ.h5"), dim=2, seed=3, workers=1, archive=tmp_path / "refine.h5")
    with open_run(tmp_path / "refine.h5") as run:
        trained = run.generation(0)["fitness"][:, 0]
        champion, info = run.champion()
    assert int(np.argmax(trained)) != 0  # seed 3: a mutant trained better than the start
    assert (info["generation"], info["index"]) == (0, 0) and same(champion, start)
