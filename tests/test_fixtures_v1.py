"""Files written by format version 1 keep opening, replaying and resuming.

``tests/fixtures/v1-run-cartpole-tiny.h5`` is a 2-generation CartPole-v1 run
archive (2D, seed 0, 4 genomes of 8 hidden neurons) and
``tests/fixtures/v1-genome-cartpole.h5`` its champion exported as a genome
file, both written by :func:`write_fixtures` with the code of format version 1
(package 0.1.0). They are committed and never rewritten: a change to the
readers, the scenario or the task description that breaks them fails here.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from spatial_snn.analysis.replay import replay
from spatial_snn.runs.runner import resume
from spatial_snn.runs.scenarios import stored_scenario
from spatial_snn.space.genome import NEURON_PARAMS, PROJECTIONS
from spatial_snn.store.genome_io import load_genome
from spatial_snn.store.run_reader import open_run

FIXTURES = Path(__file__).parent / "fixtures"
RUN = FIXTURES / "v1-run-cartpole-tiny.h5"
GENOME = FIXTURES / "v1-genome-cartpole.h5"
SCENARIO = {
    "name": "cartpole-tiny",
    "env": {"id": "CartPole-v1"},
    "network": {"n_hidden": 8, "substeps": 4},
    "evolution": {"population": 4, "generations": 2},
    "protocol": {"episodes": 2, "test_every": 1, "test_episodes": 2},
}


def write_fixtures(out: Path) -> None:
    """Write both fixtures into ``out`` (run once, when the format version changes)."""
    from spatial_snn.cli import main
    from spatial_snn.runs.runner import evolve
    from spatial_snn.runs.scenarios import scenario_from_dict

    evolve(scenario_from_dict(SCENARIO), dim=2, seed=0, workers=1, archive=out / RUN.name)
    assert main(["export", str(out / RUN.name), "--to", str(out / GENOME.name)]) == 0


def _same_genome(a, b) -> bool:
    arrays = ("positions", "input_positions", "output_positions", *NEURON_PARAMS, "sign", "input_sign")
    same = all(np.array_equal(getattr(a, k), getattr(b, k)) for k in arrays)
    for name in PROJECTIONS:
        x, y = getattr(a, name), getattr(b, name)
        same &= all(np.array_equal(getattr(x, k), getattr(y, k)) for k in ("pre", "post", "weight"))
    return same and a.rule == b.rule


def test_the_fixtures_are_small():
    for path in (RUN, GENOME):
        assert path.stat().st_size < 100_000, f"{path} has grown to {path.stat().st_size} bytes"


def test_a_v1_run_archive_opens_with_its_scenario_history_and_champion():
    with open_run(RUN) as run:
        assert run.attrs["format_version"] == 1
        assert (run.n_generations, run.dim, run.seed) == (2, 2, 0)
        assert stored_scenario(run.config["scenario"]).env.id == "CartPole-v1"
        assert run.history["best"].shape == (2,) and np.all(run.history["best"] >= run.history["mean"])
        assert len(run.population(1)) == 4
        champion, info = run.champion()
        assert champion.positions.shape[1] == 2 and info["test_returns"].shape == (2,)


def test_a_v1_genome_file_opens_as_the_champion_it_was_exported_from():
    genome, meta = load_genome(GENOME)
    with open_run(RUN) as run:
        champion, _ = run.champion()
        assert meta["task"] == run.config["task"]
    assert _same_genome(genome, champion)


def test_a_v1_genome_file_and_its_run_replay_identically():
    a = replay(GENOME, episodes=3, seed=1)
    b = replay(RUN, episodes=3, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3,) and np.all(a >= 1)  # every CartPole episode lasts at least one step


def test_a_v1_run_archive_resumes(tmp_path):
    path = tmp_path / RUN.name
    shutil.copy(RUN, path)
    res = resume(path, generations=3, workers=1)
    assert (res.dim, res.seed) == (2, 0)
    with open_run(RUN) as old, open_run(path) as new:
        assert new.n_generations == 3 and new.config == old.config
        for key in ("best", "mean", "env_steps"):
            np.testing.assert_array_equal(new.history[key][:2], old.history[key], err_msg=key)
        np.testing.assert_array_equal(new.run_data("obs_low"), old.run_data("obs_low"))
        assert all(g.positions.shape[1] == 2 for g in new.population(2))


if __name__ == "__main__":  # pragma: no cover - python tests/test_fixtures_v1.py DIR
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES
    if any((target / p.name).exists() for p in (RUN, GENOME)):
        pytest.exit(f"{target} already holds the fixtures; they are never rewritten in place")
    target.mkdir(parents=True, exist_ok=True)
    write_fixtures(target)
