"""MAP-Elites runs (spatial_snn.runs.quality): from a scenario, archived every generation, resumed exactly,
worker-independent, re-evaluated on fresh episodes."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from spatial_snn.evo import qd_archive as qa
from spatial_snn.evo import seeding
from spatial_snn.evo.map_elites import MAP_ELITES_ORIGIN, layout_descriptor
from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.store import schema
from spatial_snn.store.run_reader import open_run
from spatial_snn.tasks.evaluation import rollout

KEYS = ("generation", "best", "mean", "test", "env_steps", "invalid_obs")
LAYOUT = {"descriptors": ["wiring_length", "synapses"], "low": [0.0, 0.0], "high": [300.0, 80.0], "bins": 5}


def _scenario(tiny_scenario, generations=4, **qd):
    d = tiny_scenario(
        evolution={"generations": generations, "population": 8}, protocol={"test_every": 2, "test_episodes": 4}
    )
    d["search"] = {"strategy": "map_elites", "map_elites": {**LAYOUT, **qd}}
    return scenario_from_dict(d)


def _same_runs(a, b, generations, skip_at=()):
    """Two archives hold the same history, fitness and MAP-Elites records (``skip_at``: generations whose
    re-evaluation only one of them ran, being the last of a cut run)."""
    with open_run(a) as ra, open_run(b) as rb:
        assert ra.n_generations == rb.n_generations == generations
        for k in KEYS:
            np.testing.assert_array_equal(ra.history[k], rb.history[k], err_msg=k)
        for g in range(generations):
            ga, gb = ra.generation(g), rb.generation(g)
            np.testing.assert_array_equal(ga["fitness"], gb["fitness"])
            names = [k for k in ga["extra"] if g not in skip_at or "corrected" not in k and "reevaluation" not in k]
            assert schema.QD_OCCUPIED in names
            for k in names:
                np.testing.assert_array_equal(ga["extra"][k], gb["extra"][k], err_msg=f"generation {g}: {k}")


def test_map_elites_runs_from_a_scenario_and_archives_its_map(tmp_path, tiny_scenario):
    path = tmp_path / "run.h5"
    evolve(_scenario(tiny_scenario, generations=3, reevaluate_episodes=3), seed=1, workers=1, archive=path)
    with open_run(path) as run:
        pops = [run.population(g) for g in range(3)]
        fits = [run.generation(g)["fitness"][:, 0] for g in range(3)]
        seen = np.zeros(25, bool)
        for g in range(3):
            gen = run.generation(g)
            extra = gen["extra"]
            assert all(schema.is_generation_extra(k) for k in extra)
            assert np.all(gen["origin"] == MAP_ELITES_ORIGIN) == (g > 0)  # generation 0 is the GA's
            # descriptors are the genomes' layout; the archive holds, per cell, the best candidate so far
            want = [[layout_descriptor(p, "wiring_length"), layout_descriptor(p, "synapses")] for p in pops[g]]
            np.testing.assert_array_equal(extra[schema.QD_DESCRIPTORS], want)
            cells = qa.grid_index(want, [0, 0], [300, 80], (5, 5))
            seen[cells] = True
            np.testing.assert_array_equal(extra[schema.QD_OCCUPIED], seen)
            for c in np.flatnonzero(seen):
                eg, ei = extra[schema.QD_ELITE][c]
                assert extra[schema.QD_OBJECTIVE][c] == fits[eg][ei]
                best = max(fits[h][i] for h in range(g + 1) for i in range(8) if cells_of(run, h)[i] == c)
                assert extra[schema.QD_OBJECTIVE][c] == best
            if g > 0:  # parents are occupied cells of the archive before this generation
                parents = extra[schema.QD_PARENTS][:, 0]
                assert np.all(run.generation(g - 1)["extra"][schema.QD_OCCUPIED][parents])
        last = run.generation(2)["extra"]
        # the corrected archive: every elite re-run on 3 fresh odd seeds that are not test seeds
        seeds = last[schema.QD_REEVALUATION_SEEDS]
        assert len(seeds) == 3 and np.all(seeds % 2 == 1)
        assert not set(seeds.tolist()) & set(seeding.test_seeds(1, 4).tolist())
        assert last[schema.QD_REEVALUATION_RETURNS].shape == (int(seen.sum()), 3)
        assert np.all(last[schema.QD_REEVALUATION_STEPS] >= 3)  # CartPole: at least one step per episode
        assert schema.QD_CORRECTED[0] not in run.generation(1)["extra"]
        c = int(last[schema.QD_REEVALUATION_CELLS][0])
        eg, ei = last[schema.QD_ELITE][c]
    from spatial_snn.store.controller import load_controller

    _, task, _ = load_controller(path)
    again = rollout(task, [pops[eg][ei]], seeds)
    np.testing.assert_allclose(again.returns[0], last[schema.QD_REEVALUATION_RETURNS][0])
    assert again.lengths[0].sum() == last[schema.QD_REEVALUATION_STEPS][0]


def cells_of(run, g):
    """The grid cell of each candidate of generation ``g`` (LAYOUT's grid)."""
    return qa.grid_index(run.generation(g)["extra"][schema.QD_DESCRIPTORS], [0, 0], [300, 80], (5, 5))


def test_resumed_map_elites_equals_the_uninterrupted_run(tmp_path, tiny_scenario):
    sc = _scenario(tiny_scenario, reevaluate_episodes=2)
    evolve(sc, seed=2, workers=1, archive=tmp_path / "whole.h5")
    evolve(sc, seed=2, workers=1, generations=2, archive=tmp_path / "cut.h5")
    evolve(sc, seed=2, workers=1, archive=tmp_path / "cut.h5", resume=True)
    _same_runs(tmp_path / "whole.h5", tmp_path / "cut.h5", 4, skip_at=(1,))


def test_three_descriptors_make_a_seeded_cvt_archive_of_layout_and_activity(tmp_path, tiny_scenario):
    qd = {"descriptors": ["wiring_length", "events_per_step", "spikes_per_step"]}
    sc = _scenario(tiny_scenario, generations=2, **qd, low=[0, 0, 0], high=[300, 50, 20], cells=16)
    sc = dataclasses.replace(
        sc, search=dataclasses.replace(sc.search, map_elites=dataclasses.replace(sc.search.map_elites, cvt_samples=500))
    )
    evolve(sc, seed=3, workers=1, archive=tmp_path / "a.h5")
    with open_run(tmp_path / "a.h5") as run:
        gen = run.generation(1)
    extra = gen["extra"]
    centroids = extra[schema.QD_CENTROIDS]
    want = qa.cvt_centroids([0, 0, 0], [300, 50, 20], 16, 500, 20, seeding.cvt_rng(3))
    np.testing.assert_array_equal(centroids, want)  # seeded, stored
    cells = qa.nearest_centroid(extra[schema.QD_DESCRIPTORS], centroids)
    assert np.all(extra[schema.QD_OCCUPIED][cells])
    # the activity descriptors are the counts of the generation's own training episodes (stored beside them)
    steps = gen["episode_lengths"].sum(axis=1)
    np.testing.assert_array_equal(extra[schema.QD_DESCRIPTORS][:, 1], gen["counters"][:, 1] / steps)
    np.testing.assert_array_equal(extra[schema.QD_DESCRIPTORS][:, 2], gen["counters"][:, 0] / steps)
    assert np.any(extra[schema.QD_DESCRIPTORS][:, 2] > 0)


@pytest.mark.slow
def test_one_and_two_workers_give_the_same_map(tmp_path, tiny_scenario):
    sc = _scenario(tiny_scenario, generations=3, reevaluate_episodes=2)
    evolve(sc, seed=3, workers=1, archive=tmp_path / "one.h5")
    evolve(sc, seed=3, workers=2, archive=tmp_path / "two.h5")
    _same_runs(tmp_path / "one.h5", tmp_path / "two.h5", 3)


@pytest.mark.slow
def test_dask_gives_the_same_map(tmp_path, tiny_scenario):
    distributed = pytest.importorskip("distributed")
    sc = _scenario(tiny_scenario, generations=3)
    evolve(sc, seed=3, workers=1, archive=tmp_path / "one.h5")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        evolve(sc, seed=3, executor=c.scheduler_address, archive=tmp_path / "dask.h5")
    _same_runs(tmp_path / "one.h5", tmp_path / "dask.h5", 3)


def test_foot_contacts_are_mujocos_contacts_with_the_floor():
    """GymBatch.contacts against MuJoCo's geometry: a foot touches the floor when some geom of it is closer to the
    floor than the larger of their margins (MuJoCo's rule for making a contact)."""
    import gymnasium as gym
    import mujoco

    from spatial_snn.tasks.backends import GymBatch, feet_of

    feet = feet_of("Walker2d-v5")
    env = gym.make("Walker2d-v5", max_episode_steps=100)
    batch = GymBatch([env], [0])
    model, data = env.unwrapped.model, env.unwrapped.data
    floor = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
    geoms = [np.flatnonzero(model.geom_bodyid == mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f)) for f in feet]
    rng, seen = np.random.default_rng(0), np.zeros(2, int)
    for episode in range(3):
        batch.seeds = [episode]
        batch.reset()
        for _ in range(100):
            _, _, done = batch.step(rng.uniform(-1, 1, (1, 6)).astype(np.float32), np.array([0]))
            got = batch.contacts(np.array([0]), feet)[0]
            want = [
                any(
                    mujoco.mj_geomDistance(model, data, floor, int(g), 1.0, None)
                    < max(model.geom_margin[floor], model.geom_margin[g])
                    for g in gs
                )
                for gs in geoms
            ]
            np.testing.assert_array_equal(got, want)
            seen += got
            if done[0]:
                break
    assert np.all(seen > 0)  # both feet touched down at some step: the check saw contacts, not only their absence
    with pytest.raises(ValueError, match="known feet"):
        feet_of("CartPole-v1")


@pytest.mark.slow
def test_gait_runs_train_on_gymnasium_and_store_the_contact_fraction(tmp_path):
    import dataclasses

    from spatial_snn.store.controller import load_controller

    d = {
        "name": "hopper-gait",
        "env": {"id": "Hopper-v5", "max_episode_steps": 60},
        "network": {"substeps": 4},
        "evolution": {"population": 4, "generations": 2},
        "protocol": {"episodes": 2, "test_every": 1, "test_episodes": 2},
        "search": {"strategy": "map_elites", "map_elites": {"descriptors": ["gait"], "bins": 10}},
    }
    evolve(scenario_from_dict(d), seed=0, workers=1, archive=tmp_path / "h.h5")
    with open_run(tmp_path / "h.h5") as run:
        genomes, extra = run.population(1), run.generation(1)["extra"]
        fitness = run.generation(1)["fitness"][:, 0]
    assert extra[schema.QD_BOUNDS].tolist() == [[0.0], [1.0]]
    _, task, _ = load_controller(tmp_path / "h.h5")
    task = dataclasses.replace(task, feet=("foot",), backend="gymnasium")
    ev = rollout(task, genomes, seeding.train_seeds(0, 1, 2))
    np.testing.assert_array_equal(ev.returns.mean(axis=1), fitness)  # the generation's own training episodes
    np.testing.assert_array_equal(extra[schema.QD_DESCRIPTORS], ev.contact_fractions())
    assert np.all((extra[schema.QD_DESCRIPTORS] >= 0) & (extra[schema.QD_DESCRIPTORS] <= 1))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('descriptors = ["wiring"]', "search.map_elites.descriptors: expected names from"),
        ("bins = 0", "search.map_elites.bins: expected an integer >= 1"),
        ('descriptors = ["synapses"]\nlow = [0.0, 1.0]', "search.map_elites.low: expected 1 values"),
        ('descriptors = ["gait"]', "needs a body with known feet"),
        ('descriptors = ["final_xy"]', "'final_xy' needs a body whose qpos[:2] is the torso's x-y"),
        ("modularity_grid = 0", "search.map_elites.modularity_grid: expected an integer >= 1"),
        ("cells = 1", "search.map_elites.cells: expected an integer >= 2"),
        ("crossover_rat = 0.1", "search.map_elites.crossover_rat: unknown key; did you mean 'crossover_rate'"),
    ],
)
def test_a_bad_map_elites_key_is_one_line_naming_the_key(evolve_error, table, message):
    lines = evolve_error('[search]\nstrategy = "map_elites"\n[search.map_elites]\n' + table + "\n")
    assert len(lines) == 1 and message in lines[0], lines


def test_inspect_map_replay_and_export_take_an_elite_by_its_cell(tmp_path, tiny_scenario):
    from spatial_snn.analysis.inspect import summary
    from spatial_snn.analysis.replay import replay
    from spatial_snn.store.controller import load_controller
    from spatial_snn.store.genome_io import load_genome

    path = tmp_path / "run.h5"
    evolve(_scenario(tiny_scenario, generations=2, reevaluate_episodes=2), seed=5, workers=1, archive=path)
    with open_run(path) as run:
        extra = run.generation(1)["extra"]
        text = summary(run)
        occupied = extra[schema.QD_OCCUPIED]
        objective = extra[schema.QD_OBJECTIVE]
        best = int(np.flatnonzero(occupied)[np.argmax(objective[occupied])])
        x, y = np.unravel_index(best, (5, 5))
        elite = run.population(int(extra[schema.QD_ELITE][best][0]))[int(extra[schema.QD_ELITE][best][1])]
        empty = np.unravel_index(int(np.flatnonzero(~occupied)[0]), (5, 5))
    lines = dict(line.split(None, 1) for line in text.splitlines() if line.split()[0] in ("QD-score", "corrected"))
    assert lines["QD-score"].startswith(f"{objective[occupied].sum():.1f}, coverage {100 * occupied.mean():.1f} %")
    assert f"cell {x},{y}" in text and "fresh episodes" in lines["corrected"]
    # replay and export of the best cell: that elite, on the replay seeds, and as a genome file
    _, task, _ = load_controller(path, cell=f"{x},{y}")
    want = rollout(task, [elite], seeding.replay_seeds(0, 2)).returns[0]
    np.testing.assert_array_equal(replay(path, episodes=2, cell=f"{x},{y}"), want)
    out = subprocess.run(
        [sys.executable, "-m", "spatial_snn.cli", "export", str(path), "--cell", f"{x},{y}", "--to", "e.h5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    genome, meta = load_genome(tmp_path / "e.h5")
    np.testing.assert_array_equal(genome.recurrent.weight, elite.recurrent.weight)
    assert meta["cell"] == f"{x},{y}" and meta["train_mean"] == objective[best]
    # the heat map is a PNG of the figure's size
    png = tmp_path / "map.png"
    out = subprocess.run(
        [sys.executable, "-m", "spatial_snn.cli", "inspect", str(path), "--map", str(png)], capture_output=True
    )
    assert out.returncode == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fresh = tmp_path / "corrected.png"
    out = subprocess.run(
        [sys.executable, "-m", "spatial_snn.cli", "inspect", str(path), "--map", str(fresh), "--corrected"],
        capture_output=True,
    )
    assert out.returncode == 0 and fresh.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # one line for a cell that is empty, out of the grid, or asked of a run without a map
    ga = tmp_path / "ga.h5"
    evolve(scenario_from_dict(tiny_scenario(evolution={"generations": 1})), seed=0, workers=1, archive=ga)
    for run_path, cell, message in [
        (path, f"{empty[0]},{empty[1]}", "is empty"),
        (path, "5,0", "expected 2 numbers, each 0..4 (the map is a 5 x 5 grid)"),
        (path, "a", "expected 2 numbers"),
        (ga, "0,0", "holds no MAP-Elites map"),
    ]:
        out = subprocess.run(
            [sys.executable, "-m", "spatial_snn.cli", "replay", str(run_path), "--cell", cell, "--episodes", "1"],
            capture_output=True,
            text=True,
        )
        lines = out.stderr.strip().splitlines()
        assert out.returncode != 0 and len(lines) == 1 and message in lines[0], out.stderr
