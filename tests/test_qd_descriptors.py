"""The MAP-Elites descriptors added beside gait and the layout ones: ``modularity`` (Newman's Q of the recurrent
graph under the spatial grid partition) and ``final_xy`` (the torso's final x-y, read from MuJoCo's data)."""

import dataclasses

import numpy as np
import pytest

from spatial_snn.evo.map_elites import MapElitesConfig, layout_descriptor, spatial_communities, spatial_modularity
from spatial_snn.runs.quality import dimensions, labels
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import resolve
from spatial_snn.space.genome import NEURON_PARAMS, Genome, Synapses
from spatial_snn.space.layout import random_genome
from spatial_snn.tasks.evaluation import Evaluation, rollout


def _graph(positions, pre, post) -> Genome:
    """A genome of hidden neurons at ``positions`` whose only synapses are the recurrent ``pre -> post``."""
    pos = np.asarray(positions, np.float64)
    n = len(pos)
    return Genome(
        positions=pos,
        input_positions=np.zeros((1, pos.shape[1])),
        output_positions=np.zeros((1, pos.shape[1])),
        **{name: np.ones(n) for name in NEURON_PARAMS},
        sign=np.ones(n, np.int8),
        input_sign=[1],
        input_synapses=Synapses.empty(),
        recurrent=Synapses(np.asarray(pre, np.int32), np.asarray(post, np.int32), np.ones(len(pre))),
        output_synapses=Synapses.empty(),
    )


def test_spatial_communities_split_the_bounding_box_into_equal_cells():
    pos = np.array([[0.0, 0.0], [0.99, 0.0], [1.0, 0.0], [2.0, 2.0], [0.0, 2.0], [1.5, 1.0]])
    # x edges 0, 1, 2 and y edges 0, 1, 2 (grid 2), the top edge in the last cell; row-major (x, y)
    np.testing.assert_array_equal(spatial_communities(pos, 2), [0, 0, 2, 3, 1, 3])
    np.testing.assert_array_equal(spatial_communities(pos, 1), np.zeros(6))
    # an axis on which all positions agree is one cell
    np.testing.assert_array_equal(spatial_communities(np.array([[1.0, 5.0], [3.0, 5.0]]), 2), [0, 2])


def test_modularity_of_two_triangles_joined_by_one_edge_is_the_hand_computed_value():
    # neurons 0-2 on the left (x < 1), 3-5 on the right, all at y = 0 (one cell along y): two cells;
    # two triangles and the bridge 2-3, so m = 7,
    # inside each cell 3 edges, degrees 2 + 2 + 3 = 7 per cell: Q = 2 * (3/7 - (7/14)^2) = 6/7 - 1/2 = 5/14
    pos = np.array([[0.0, 0.0], [0.2, 0.0], [0.5, 0.0], [1.5, 0.0], [1.8, 0.0], [2.0, 0.0]])
    pre, post = [0, 1, 2, 3, 4, 5, 2], [1, 2, 0, 4, 5, 3, 3]
    genome = _graph(pos, pre, post)
    assert spatial_modularity(genome, 2) == pytest.approx(5 / 14, abs=1e-12)
    # the reverse of every synapse, and autapses, leave the undirected simple graph, so Q, unchanged
    both = _graph(pos, pre + post + [0, 4], post + pre + [0, 4])
    assert spatial_modularity(both, 2) == pytest.approx(5 / 14, abs=1e-12)
    # one cell holds every edge: Q = 1 - 1 = 0; no edge at all: 0
    assert spatial_modularity(genome, 1) == pytest.approx(0.0, abs=1e-12)
    assert spatial_modularity(_graph(pos, [], []), 2) == 0.0
    # only bridges between the cells: a bipartite graph, Q = 0 - 2 * (1/2)^2 = -1/2
    cross = _graph(pos, [0, 1, 2], [3, 4, 5])
    assert spatial_modularity(cross, 2) == pytest.approx(-0.5, abs=1e-12)
    assert layout_descriptor(genome, "modularity", 2) == spatial_modularity(genome, 2)


def test_modularity_equals_networkx_on_the_same_partition():
    nx = pytest.importorskip("networkx")
    from spatial_snn.space.layout import GenomeSpec

    rng = np.random.default_rng(7)
    genomes = [
        (random_genome(GenomeSpec(), 4, 2, np.random.default_rng(seed)), grid) for seed, grid in [(0, 2), (1, 3)]
    ]
    # 3-D, float positions, reciprocal pairs, repeats and autapses
    pre, post = rng.integers(0, 40, 300), rng.integers(0, 40, 300)
    genomes.append((_graph(rng.uniform(-1, 3, (40, 3)), np.r_[pre, post[:50]], np.r_[post, pre[:50]]), 2))
    for genome, grid in genomes:
        rec = genome.recurrent
        graph = nx.Graph()
        graph.add_edges_from((int(a), int(b)) for a, b in zip(rec.pre, rec.post, strict=True) if a != b)
        nodes = np.array(sorted(graph.nodes))
        cells = spatial_communities(np.asarray(genome.positions)[nodes], grid)
        parts = [set(nodes[cells == c].tolist()) for c in np.unique(cells)]
        want = nx.community.modularity(graph, parts)
        assert graph.number_of_edges() > 20 and len(parts) > 1  # a graph and partition worth comparing
        assert spatial_modularity(genome, grid) == pytest.approx(want, abs=1e-12)


def test_final_xy_is_two_dimensions_with_its_default_range():
    params = MapElitesConfig(descriptors=("final_xy", "modularity"))
    names = dimensions(params, ())
    assert names == ["final_xy", "final_xy", "modularity"]
    assert labels(params, ()) == ["final x", "final y", "modularity"]
    low, high = params.ranges(names)
    assert low.tolist() == [-30.0, -30.0, -0.5] and high.tolist() == [30.0, 30.0, 1.0]
    with pytest.raises(ValueError, match="modularity_grid"):
        MapElitesConfig(modularity_grid=0)


@pytest.mark.parametrize("env_id", ["Ant-v5", "spatial_snn/Hexapod-v0"])
def test_torso_positions_are_the_torso_bodys_world_position(env_id):
    """GymBatch.positions reads qpos[:2]; MuJoCo's forward kinematics of the same state put the torso body's
    world position (xpos) at the same x-y."""
    import gymnasium as gym
    import mujoco

    import spatial_snn.tasks.envs  # noqa: F401  (registers spatial_snn/Hexapod-v0)
    from spatial_snn.tasks.backends import GymBatch, check_torso_xy

    check_torso_xy(env_id)
    env = gym.make(env_id, max_episode_steps=50)
    batch = GymBatch([env], [0])
    batch.reset()
    rng, moved = np.random.default_rng(0), 0.0
    model, data = env.unwrapped.model, env.unwrapped.data
    copy = mujoco.MjData(model)  # data.xpos is of the state before the last step: recompute it aside
    start = batch.positions(np.array([0]))[0]
    for _ in range(40):
        _, _, done = batch.step(rng.uniform(-1, 1, (1, *env.action_space.shape)).astype(np.float32), np.array([0]))
        got = batch.positions(np.array([0]))[0]
        copy.qpos[:] = data.qpos
        mujoco.mj_kinematics(model, copy)
        np.testing.assert_allclose(got, copy.body("torso").xpos[:2], rtol=0, atol=1e-12)
        moved = max(moved, float(np.abs(got - start).max()))
        if done[0]:
            break
    assert moved > 1e-3  # the torso moved: the check compared changing positions


def test_final_xy_refuses_a_body_without_a_free_torso():
    import gymnasium as gym

    from spatial_snn.tasks.backends import GymBatch, check_torso_xy

    for env_id in ("Hopper-v5", "CartPole-v1"):
        with pytest.raises(ValueError, match="'final_xy' needs a body whose qpos"):
            check_torso_xy(env_id)
    batch = GymBatch([gym.make("Hopper-v5")], [0])
    batch.reset()
    with pytest.raises(ValueError, match="not a free joint"):
        batch.positions(np.array([0]))


def _ant(**qd):
    d = {
        "name": "ant-omni",
        "env": {"id": "Ant-v5", "max_episode_steps": 15},
        "network": {"substeps": 2},
        "evolution": {"population": 4, "generations": 2},
        "protocol": {"episodes": 2, "test_every": 1, "test_episodes": 2},
        "search": {"strategy": "map_elites", "map_elites": {"descriptors": ["final_xy"], "bins": 6, **qd}},
    }
    return scenario_from_dict(d)


def test_final_xy_is_the_mean_final_torso_position_whatever_the_split():
    import gymnasium as gym

    n_obs = gym.make("Ant-v5").observation_space.shape[0]
    setup = resolve(_ant(), 2, 0, bounds=(np.full(n_obs, -5.0), np.full(n_obs, 5.0)), check=False)
    task = setup.task
    assert task.torso_xy and task.backend == "gymnasium"
    rng = np.random.default_rng(0)
    genomes = [random_genome(setup.spec, setup.n_inputs, setup.n_outputs, rng) for _ in range(2)]
    seeds = [3, 4]
    whole = rollout(task, genomes, seeds)
    assert whole.final_xy.shape == (2, 2, 2)
    # split by genome and by episode (as workers split work): the same numbers
    parts = Evaluation.concat([Evaluation.join_episodes([rollout(task, [g], [s]) for s in seeds]) for g in genomes])
    np.testing.assert_array_equal(parts.final_xy, whole.final_xy)
    np.testing.assert_array_equal(whole.final_positions(), whole.final_xy.mean(axis=1))
    # an episode started from the reset pose moves: not the reset's x-y (0 +- reset noise of 0.1)
    assert np.abs(whole.final_xy).max() > 0.0
    # without torso_xy there are no positions, and asking for them is one error
    plain = rollout(dataclasses.replace(task, torso_xy=False), genomes[:1], seeds[:1])
    assert plain.final_xy is None
    with pytest.raises(ValueError, match="final_xy: this evaluation ran without"):
        plain.final_positions()


def test_final_xy_with_envpool_or_on_a_body_without_a_free_torso_is_one_error():
    import gymnasium as gym

    n_obs = gym.make("Ant-v5").observation_space.shape[0]
    bounds = (np.full(n_obs, -5.0), np.full(n_obs, 5.0))
    with pytest.raises(ValueError, match="final_xy descriptor reads the torso position"):
        resolve(_ant(), 2, 0, bounds=bounds, check=False, backend="envpool")
    d = {
        "name": "hopper-xy",
        "env": {"id": "Hopper-v5"},
        "search": {"strategy": "map_elites", "map_elites": {"descriptors": ["final_xy"]}},
    }
    with pytest.raises(ValueError, match="'final_xy' needs a body whose qpos"):
        resolve(scenario_from_dict(d), 2, 0, bounds=(np.full(11, -5.0), np.full(11, 5.0)), check=False)


def test_an_ant_map_elites_run_stores_the_final_xy_and_modularity(tmp_path):
    from spatial_snn.evo import seeding
    from spatial_snn.runs.runner import evolve
    from spatial_snn.store import schema
    from spatial_snn.store.controller import load_controller
    from spatial_snn.store.run_reader import open_run

    sc = _ant(descriptors=["final_xy", "modularity"], cells=16, cvt_samples=500)
    evolve(sc, seed=0, workers=1, archive=tmp_path / "a.h5")
    with open_run(tmp_path / "a.h5") as run:
        genomes, extra = run.population(1), run.generation(1)["extra"]
        fitness = run.generation(1)["fitness"][:, 0]
    _, task, _ = load_controller(tmp_path / "a.h5")
    task = dataclasses.replace(task, torso_xy=True, backend="gymnasium")
    ev = rollout(task, genomes, seeding.train_seeds(0, 1, 2))
    np.testing.assert_array_equal(ev.returns.mean(axis=1), fitness)  # the generation's own training episodes
    got = extra[schema.QD_DESCRIPTORS]
    np.testing.assert_array_equal(got[:, :2], ev.final_positions())
    np.testing.assert_array_equal(got[:, 2], [spatial_modularity(g, 2) for g in genomes])


@pytest.mark.slow
def test_an_ant_final_xy_map_is_the_same_on_one_and_two_workers(tmp_path):
    from spatial_snn.runs.runner import evolve
    from spatial_snn.store import schema
    from spatial_snn.store.run_reader import open_run

    sc = _ant(reevaluate_episodes=2)
    evolve(sc, seed=2, workers=1, archive=tmp_path / "one.h5")
    evolve(sc, seed=2, workers=2, archive=tmp_path / "two.h5")
    with open_run(tmp_path / "one.h5") as a, open_run(tmp_path / "two.h5") as b:
        for g in range(2):
            ea, eb = a.generation(g)["extra"], b.generation(g)["extra"]
            assert schema.QD_DESCRIPTORS in ea and set(ea) == set(eb)
            for k in ea:
                np.testing.assert_array_equal(ea[k], eb[k], err_msg=f"generation {g}: {k}")
