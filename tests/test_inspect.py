"""Text summary and fitness plot of a run archive."""

from __future__ import annotations

import numpy as np

from spatial_snn.runs.inspect import plot, summary, task_name
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.store.archive import RunWriter, open_run

CONFIG = {"scenario": {"name": "hopper-ref"}, "task": {"env_id": "Hopper-v5"}, "generations": 50}
BEST = [10.0, 35.5, 1234.5, 900.0]
TEST = [np.nan, 20.0, np.nan, 1100.25]


def _run(tmp_path, n_gen=4, config=CONFIG):
    rng = np.random.default_rng(0)
    pop = [random_genome(GenomeSpec.reference(3), 4, 2, rng) for _ in range(2)]
    path = tmp_path / "run.h5"
    with RunWriter(path, config=config, seed=11, dim=3) as w:
        for g in range(n_gen):
            w.write_generation(
                g,
                population=pop,
                fitness=np.zeros((2, 1)),
                episode_returns=np.zeros((2, 1)),
                episode_lengths=np.ones((2, 1)),
                episode_seeds=[g],
                counters=np.zeros((2, 3)),
                parents=-np.ones((2, 2)),
                origin=np.zeros(2),
                stats=dict(
                    best=BEST[g],
                    mean=BEST[g] / 2,
                    test=TEST[g],
                    env_steps=1_000_000.0 * (g + 1),
                    wall_time=1000.0 * (g + 1),
                    invalid_obs=0.0,
                ),
            )
        if n_gen:
            w.write_champion(pop[1], generation=3, index=1, test_returns=[1000.25, 1200.25], test_seeds=[1, 2])
    return path, pop[1]


def test_summary_names_task_dimension_scores_champion_and_cost(tmp_path):
    path, champ = _run(tmp_path)
    with open_run(path) as run:
        text = summary(run)
    assert "Hopper-v5" in text and "hopper-ref" in text and "3D" in text
    assert "4 complete of 50" in text
    assert "1234.5 (generation 2)" in text
    assert "1100.2 +- 100.0 over 2 episodes" in text and "generation 3" in text
    assert f"{champ.n_synapses} synapses" in text
    assert f"sparsity {100 * champ.sparsity():.1f} %" in text
    assert "4,000,000" in text  # cumulative environment steps
    assert "1 h 06 min 40 s" in text  # 4000 s of wall time


def test_summary_of_a_run_extended_past_its_configured_generations(tmp_path):
    path, _ = _run(tmp_path, config={**CONFIG, "generations": 2})
    with open_run(path) as run:
        assert "generations  4 complete\n" in summary(run)


def test_summary_of_a_run_without_generations(tmp_path):
    path, _ = _run(tmp_path, n_gen=0)
    with open_run(path) as run:
        text = summary(run)
    assert "no complete generation yet" in text and "none yet" in text and "not tested" in text


def test_task_name_fallbacks():
    assert task_name({"task": {"env_id": "Ant-v5"}}) == "Ant-v5"
    assert task_name({"task": "Swimmer-v5"}) == "Swimmer-v5"
    assert task_name({"env_id": "CartPole-v1"}) == "CartPole-v1"
    assert task_name({}) == "unknown"


def test_plot_writes_a_png(tmp_path):
    path, _ = _run(tmp_path)
    out = tmp_path / "curves.png"
    with open_run(path) as run:
        assert plot(run, out) == out
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    (tmp_path / "empty").mkdir()
    empty, _ = _run(tmp_path / "empty", n_gen=0)
    with open_run(empty) as run:
        plot(run, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes()[:4] == b"\x89PNG"
