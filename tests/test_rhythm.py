"""The rhythm prior: oscillator equations, the action it makes, and its genes through variation and storage."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from gymnasium import spaces

from spatial_snn.evo.crossover import crossover, geometric_crossover
from spatial_snn.evo.variation import MutationParams, mutate
from spatial_snn.runs.runner import evolve, resume
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import resolve
from spatial_snn.space.codec import decode_batch, encode_batch
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.space.rhythm import check_rhythm, clip_rhythm, rhythm_parts, rhythm_size, rhythm_step
from spatial_snn.store.controller import load_controller
from spatial_snn.store.genome_io import load_genome, save_genome
from spatial_snn.tasks.encoding import DecoderSpec
from spatial_snn.tasks.evaluation import pack, rollout, task_meta, unpack
from spatial_snn.tasks.rhythm import RhythmPrior, make_rhythm


def _genome(seed=0, rhythm=3, n_in=4, n_out=3):
    return random_genome(GenomeSpec(n_hidden=12, dim=2, rhythm=rhythm), n_in, n_out, np.random.default_rng(seed))


def test_two_oscillators_follow_a_hand_computed_trace():
    # f = 0.1 cycles/step, k = 0.5, phi = (0, pi/2), theta(0) = (0, 0); (k / m) = 0.25
    f, k, phi = np.array([0.1]), np.array([0.5]), np.array([[0.0, math.pi / 2]])
    theta1 = rhythm_step(np.zeros((1, 2)), f, k, phi)
    # theta_0 += 0.2 pi + 0.25 sin(0 - 0 - (pi/2 - 0)) = 0.2 pi - 0.25 ; theta_1 += 0.2 pi + 0.25 sin(pi/2)
    np.testing.assert_allclose(theta1, [[0.2 * math.pi - 0.25, 0.2 * math.pi + 0.25]], rtol=0, atol=1e-15)
    theta2 = rhythm_step(theta1, f, k, phi)
    d = 0.5 - math.pi / 2  # (theta_1 - theta_0) - (phi_1 - phi_0) after step 1
    want = [theta1[0, 0] + 0.2 * math.pi + 0.25 * math.sin(d), theta1[0, 1] + 0.2 * math.pi + 0.25 * math.sin(-d)]
    np.testing.assert_allclose(theta2[0], want, rtol=0, atol=1e-14)


def test_coupling_pulls_the_phases_to_the_offsets_and_none_leaves_them_in_step():
    phi = np.array([[0.0, 1.0, -2.0]])
    theta = np.zeros((1, 3))
    loose = theta.copy()
    for _ in range(300):
        theta = rhythm_step(theta, np.array([0.05]), np.array([0.8]), phi)
        loose = rhythm_step(loose, np.array([0.05]), np.array([0.0]), phi)
    lag = np.angle(np.exp(1j * ((theta - theta[:, :1]) - (phi - phi[:, :1]))))
    assert np.abs(lag).max() < 1e-6
    np.testing.assert_allclose(loose - loose[:, :1], 0.0, atol=1e-9)


def test_prior_maps_rhythm_and_bounded_residual_into_the_action_bounds():
    space = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32))
    # f, k, A0, A1, phi0, phi1, c0, c1
    genes = np.array([[0.25, 0.0, 0.5, 1.0, 0.0, 0.0, 0.2, -0.5]])
    prior = RhythmPrior(genes, space, residual_scale=0.5)
    net = np.array([[2.0, 0.5]], np.float32)  # u_net = (1, 0)
    a0 = prior(net)  # theta = 0: u = c + 0.5 u_net = (0.7, -0.5)
    np.testing.assert_allclose(a0, [[-2 + 1.7 * 2, 0.25]], atol=1e-6)
    a1 = prior(net)  # theta = pi/2: u = clip(0.2 + 0.5 + 0.5, ...) = 1 ; -0.5 + 1 + 0 = 0.5
    np.testing.assert_allclose(a1, [[2.0, 0.75]], atol=1e-6)
    assert a1.dtype == np.float32


def _task(rhythm: bool, residual_scale: float = 1.0):
    sc = scenario_from_dict(
        {
            "name": "r",
            "env": {"id": "Swimmer-v5", "max_episode_steps": 30},
            "network": {"n_hidden": 8, "substeps": 2},
            "decoder": {"kind": "sigmoid", "rhythm": rhythm, "residual_scale": residual_scale},
            "protocol": {"bounds_episodes": 1},
        }
    )
    return resolve(sc, check=False)


def test_off_ignores_rhythm_genes_and_draws_the_same_network():
    setup = _task(False)
    assert setup.spec.rhythm == 0
    plain = random_genome(setup.spec, setup.n_inputs, setup.n_outputs, np.random.default_rng(4))
    spec_on = dataclasses.replace(setup.spec, rhythm=2)
    carrying = random_genome(spec_on, setup.n_inputs, setup.n_outputs, np.random.default_rng(4))
    assert plain.rhythm is None and carrying.rhythm.shape == (rhythm_size(2),)
    np.testing.assert_array_equal(plain.recurrent.weight, carrying.recurrent.weight)  # rhythm drawn last
    a = rollout(setup.task, [plain], [1, 2])
    b = rollout(setup.task, [carrying], [1, 2])
    np.testing.assert_array_equal(a.returns, b.returns)  # off: actions bit for bit the network's


def test_rhythm_alone_does_not_depend_on_the_network():
    setup = _task(True, residual_scale=0.0)
    assert setup.spec.rhythm == 2  # Swimmer: two joints
    one = random_genome(setup.spec, setup.n_inputs, setup.n_outputs, np.random.default_rng(1))
    other = random_genome(setup.spec, setup.n_inputs, setup.n_outputs, np.random.default_rng(2)).replace(
        rhythm=one.rhythm
    )
    np.testing.assert_array_equal(rollout(setup.task, [one], [3]).returns, rollout(setup.task, [other], [3]).returns)
    alone = RhythmPrior(one.rhythm[None], spaces.Box(-1, 1, (2,), np.float32), 0.0)
    assert np.array_equal(
        alone(np.array([[1.0, -1.0]])),
        alone.__class__(one.rhythm[None], spaces.Box(-1, 1, (2,), np.float32), 0.0)(np.array([[-1.0, 0.3]])),
    )


def test_a_genome_without_rhythm_genes_is_refused_when_on():
    with pytest.raises(ValueError, match="rhythm genes"):
        make_rhythm(DecoderSpec(rhythm=True), [_genome(rhythm=0)], 1, spaces.Box(-1, 1, (3,), np.float32))
    with pytest.raises(ValueError, match="finite bounds"):
        make_rhythm(DecoderSpec(rhythm=True), [_genome()], 1, spaces.Discrete(3))


def test_mutation_touches_rhythm_genes_only_when_the_genome_has_them():
    params = MutationParams(rhythm_rate=0.5)
    with_r, without = _genome(7), _genome(7, rhythm=0)
    a, b = (
        mutate(with_r, np.random.default_rng(9), params, GenomeSpec().ranges),
        mutate(without, np.random.default_rng(9), params, GenomeSpec().ranges),
    )
    assert b.rhythm is None
    np.testing.assert_array_equal(a.recurrent.weight, b.recurrent.weight)  # same draws before the rhythm
    np.testing.assert_array_equal(a.v_th, b.v_th)
    assert not np.array_equal(a.rhythm, with_r.rhythm)
    assert np.array_equal(a.rhythm, check_rhythm(a.rhythm))  # within range
    still = mutate(with_r, np.random.default_rng(9), MutationParams(rhythm_rate=0.0), GenomeSpec().ranges)
    np.testing.assert_array_equal(still.rhythm, with_r.rhythm)


@pytest.mark.parametrize("op", [crossover, geometric_crossover])
def test_crossover_children_share_the_parents_rhythm_genes_between_them(op):
    a, b = _genome(1), _genome(2)
    c1, c2 = op(a, b, np.random.default_rng(5))
    for j in range(len(a.rhythm)):
        assert {c1.rhythm[j], c2.rhythm[j]} == {a.rhythm[j], b.rhythm[j]}
    f, k, amp, phi, c = rhythm_parts(c1.rhythm)
    fa, _, ampa, phia, ca = rhythm_parts(a.rhythm)
    from_a = amp == ampa  # an oscillator's amplitude, phase and centre travel together
    np.testing.assert_array_equal(phi == phia, from_a)
    np.testing.assert_array_equal(c == ca, from_a)
    plain1, plain2 = op(_genome(1, rhythm=0), _genome(2, rhythm=0), np.random.default_rng(5))
    np.testing.assert_array_equal(plain1.recurrent.pre, c1.recurrent.pre)  # no extra draws before the rhythm


def test_phases_wrap_and_genes_clip_into_range():
    genes = clip_rhythm(np.array([9.0, -1.0, 2.0, 3 * math.pi, -3.0]))
    np.testing.assert_allclose(genes, [0.25, 0.0, 1.0, -math.pi, -1.0], atol=1e-12)  # 3 pi wraps to -pi
    with pytest.raises(ValueError, match="2 \\+ 3 m"):
        check_rhythm(np.zeros(4))


def test_rhythm_genes_survive_codec_transport_and_genome_files(tmp_path):
    g, plain = _genome(3), _genome(4, rhythm=0)
    back = decode_batch(encode_batch([g, plain, g]))
    np.testing.assert_array_equal(back[0].rhythm, g.rhythm)
    assert back[1].rhythm is None
    assert decode_batch(encode_batch([plain]))[0].rhythm is None and "rhythm" not in encode_batch([plain])
    np.testing.assert_array_equal(unpack(pack(g)).rhythm, g.rhythm)
    save_genome(tmp_path / "g.h5", g, {"note": "x"})
    loaded, _ = load_genome(tmp_path / "g.h5")
    np.testing.assert_array_equal(loaded.rhythm, g.rhythm)
    save_genome(tmp_path / "p.h5", plain, {"note": "x"})
    assert load_genome(tmp_path / "p.h5")[0].rhythm is None


def _small_run(residual_scale: float, population: int, generations: int):
    """A tiny Swimmer run with a rhythm (two joints, two oscillators)."""
    return scenario_from_dict(
        {
            "name": "rh",
            "env": {"id": "Swimmer-v5", "max_episode_steps": 20},
            "network": {"n_hidden": 8, "substeps": 2},
            "decoder": {"kind": "sigmoid", "rhythm": True, "residual_scale": residual_scale},
            "evolution": {"population": population, "generations": generations},
            "protocol": {"episodes": 1, "test_every": 1, "test_episodes": 2, "bounds_episodes": 1},
        }
    )


def test_a_rhythm_run_archives_resumes_and_exports_its_genes(tmp_path):
    sc = _small_run(0.5, population=6, generations=2)
    first = evolve(sc, seed=2, workers=1, generations=1, archive=tmp_path / "run.h5")
    assert first.champion.rhythm is not None
    res = resume(tmp_path / "run.h5", generations=2, workers=1)
    genome, task, info = load_controller(tmp_path / "run.h5")
    np.testing.assert_array_equal(genome.rhythm, res.champion.rhythm)
    assert task.decoder.rhythm and task.decoder.residual_scale == 0.5
    save_genome(tmp_path / "champ.h5", genome, {"task": task_meta(task)})
    again, task2, _ = load_controller(tmp_path / "champ.h5")
    np.testing.assert_array_equal(again.rhythm, genome.rhythm)
    np.testing.assert_array_equal(rollout(task2, [again], [4]).returns, rollout(task, [genome], [4]).returns)


def test_cli_exports_a_rhythm_champion_to_nir_with_its_genes_and_report_runs(tmp_path, capsys):
    from spatial_snn.analysis.replay import replay
    from spatial_snn.analysis.report import format_report, report
    from spatial_snn.cli import main
    from spatial_snn.store.nir_import import read_nir

    sc = _small_run(0.3, population=4, generations=1)
    evolve(sc, seed=1, workers=1, archive=tmp_path / "run.h5")
    assert main(["export", str(tmp_path / "run.h5"), "--to", str(tmp_path / "c.h5")]) == 0
    assert main(["export", str(tmp_path / "c.h5"), "--to", str(tmp_path / "c.nir"), "--trace", "5"]) == 0
    capsys.readouterr()
    genome, _, _ = load_controller(tmp_path / "c.h5")
    back, task = read_nir(tmp_path / "c.nir")
    np.testing.assert_array_equal(back.rhythm, genome.rhythm)
    assert task.decoder.rhythm and task.decoder.residual_scale == 0.3
    np.testing.assert_array_equal(
        replay(tmp_path / "c.nir", episodes=2, seed=3), replay(tmp_path / "c.h5", episodes=2, seed=3)
    )
    out = report(tmp_path / "c.h5", episodes=2, nulls=2)
    assert np.isfinite(out["returns"]["mean"])
    assert out["controller"]["rhythm_oscillators"] == 2 and "rhythm generator of 2" in format_report(out)


def test_a_start_genome_must_have_the_runs_rhythm():
    from spatial_snn.evo.evolution import EvolutionConfig, GeneticAlgorithm

    spec = GenomeSpec(n_hidden=12, dim=2, rhythm=3)
    ga = GeneticAlgorithm(EvolutionConfig(population=4), spec, MutationParams(), 4, 3, 0)
    with pytest.raises(ValueError, match="0 rhythm oscillators, the run needs 3"):
        ga.initial(_genome(1, rhythm=0))
    offspring = ga.initial(_genome(1))
    assert all(g.rhythm is not None and len(g.rhythm) == rhythm_size(3) for g in offspring.genomes)
    assert all(g.rhythm is not None for g in ga.initial().genomes)
