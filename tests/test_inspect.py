"""Text summary and fitness plot of a run archive."""

from __future__ import annotations

import numpy as np

from spatial_snn.analysis.inspect import figure, plot, summary, task_name
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.store.archive import RunWriter
from spatial_snn.store.run_reader import open_run

CONFIG = {  # the layout the runner writes (runs/runner.py), reduced to what inspect reads
    "scenario": {"name": "hopper-ref", "protocol": {"target": 1000.0, "test_episodes": 2}},
    "task": {"env_id": "Hopper-v5"},
    "generations": 50,
}
BEST = [10.0, 35.5, 1234.5, 900.0]
TEST = [np.nan, 20.0, np.nan, 1100.25]


def _run(tmp_path, n_gen=4, config=CONFIG, best=BEST, test=TEST):
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
                    best=best[g],
                    mean=best[g] / 2,
                    test=test[g],
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
    assert "1100.2 +- 100.0 sd (se 100.0) over 2 episodes" in text and "generation 3" in text
    assert f"{champ.n_synapses} synapses" in text
    assert f"sparsity {100 * champ.sparsity():.1f} %" in text
    assert "4,000,000" in text  # cumulative environment steps
    assert "1 h 06 min 40 s" in text  # 4000 s of wall time


def test_summary_of_a_run_extended_past_its_configured_generations(tmp_path):
    path, _ = _run(tmp_path, config={**CONFIG, "generations": 2})
    with open_run(path) as run:
        assert "generations  4 complete of 2 (a resume went on past it)\n" in summary(run)


def test_summary_of_a_run_without_generations(tmp_path):
    path, _ = _run(tmp_path, n_gen=0)
    with open_run(path) as run:
        text = summary(run)
    assert "no complete generation yet" in text and "none yet" in text and "not tested" in text
    assert "0 complete of 50" in text


def test_summary_of_an_archive_from_before_stop_reasons_says_what_it_knows(tmp_path):
    path, _ = _run(tmp_path)  # written without the "stopped" statistic; the champion's test is above the target
    with open_run(path) as run:
        assert "stopped      target reached\n" in summary(run)
    (tmp_path / "high").mkdir()
    high = {**CONFIG, "scenario": {**CONFIG["scenario"], "protocol": {"target": 5000.0}}}
    path, _ = _run(tmp_path / "high", config=high)
    with open_run(path) as run:
        assert "stopped      unknown (written before stop reasons were kept)\n" in summary(run)


def test_cpu_time_reads_in_seconds_minutes_or_hours():
    from spatial_snn.analysis.inspect import _cpu

    assert _cpu(4.25) == "4.2 s (all processes)"
    assert _cpu(600.0) == "10.0 min (all processes)"
    assert _cpu(3 * 3600.0) == "3.00 h (all processes)"
    assert _cpu(float("nan")) == "not recorded"


def test_task_name_reads_the_env_id_the_runner_stores():
    assert task_name({"task": {"env_id": "Ant-v5"}}) == "Ant-v5"
    assert task_name({}) == "unknown"
    assert task_name({"task": "Ant-v5"}) == "unknown"  # no writer stores this layout


# -------------------------------------------------------------------- plot
def _lines(ax) -> dict:
    """The plotted lines by legend label (without the test line's episode count)."""
    return {line.get_label().split(" (mean of")[0]: line for line in ax.get_lines()}


def _visible_markers(line) -> bool:
    return line.get_marker() not in ("None", "", " ", None) and line.get_markersize() >= 4


def test_plot_of_a_one_generation_run_shows_its_points_on_a_whole_generation_tick(tmp_path):
    path, _ = _run(tmp_path, n_gen=1, best=[480.0], test=[500.0])
    with open_run(path) as run:
        fig = figure(run)
    (ax,) = fig.axes
    lines = _lines(ax)
    assert lines.keys() == {"best (train)", "mean (train)", "test", "target 1000"}
    for label in ("best (train)", "mean (train)", "test"):
        assert len(lines[label].get_xdata()) == 1 and _visible_markers(lines[label]), label
    assert list(lines["best (train)"].get_ydata()) == [480.0] and list(lines["mean (train)"].get_ydata()) == [240.0]
    assert list(lines["test"].get_ydata()) == [500.0]
    assert list(ax.get_xticks()) == [0]
    lo, hi = ax.get_xlim()
    assert lo < 0 < hi and hi - lo <= 2  # the point sits inside, not on the frame
    assert "(mean of 2 episodes)" in [t.get_text() for t in ax.get_legend().get_texts()][2]


def test_plot_draws_every_generation_the_tested_ones_and_the_target(tmp_path):
    path, _ = _run(tmp_path)
    with open_run(path) as run:
        fig = figure(run)
    (ax,) = fig.axes
    lines = _lines(ax)
    np.testing.assert_array_equal(lines["best (train)"].get_xdata(), [0, 1, 2, 3])
    np.testing.assert_array_equal(lines["best (train)"].get_ydata(), BEST)
    np.testing.assert_array_equal(lines["mean (train)"].get_ydata(), np.array(BEST) / 2)
    np.testing.assert_array_equal(lines["test"].get_xdata(), [1, 3])  # only the tested generations
    np.testing.assert_array_equal(lines["test"].get_ydata(), [20.0, 1100.25])
    assert lines["test"].get_linestyle() == "None"  # no line implied between tests
    target = lines["target 1000"]
    assert list(target.get_ydata()) == [1000.0, 1000.0] and ax.get_ylim()[1] > 1000.0
    assert list(ax.get_xticks()) == [0, 1, 2, 3]
    assert "Hopper-v5 (hopper-ref), 3D, seed 11" == ax.get_title()


def test_plot_of_a_long_run_without_target_has_whole_generation_ticks(tmp_path):
    n = 16  # more than get a tick each
    best = list(np.linspace(0.0, 300.0, n))
    config = {**CONFIG, "scenario": {"name": "x", "protocol": {"target": None, "test_episodes": 5}}}
    path, _ = _run(tmp_path, n_gen=n, config=config, best=best, test=[np.nan] * n)
    with open_run(path) as run:
        fig = figure(run)
    (ax,) = fig.axes
    lines = _lines(ax)
    assert not any(label.startswith("target") for label in lines)
    assert len(lines["best (train)"].get_xdata()) == n and len(lines["test"].get_xdata()) == 0
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks)


def test_plot_writes_the_figure_as_png_also_for_an_empty_run(tmp_path):
    path, _ = _run(tmp_path)
    out = tmp_path / "curves.png"
    with open_run(path) as run:
        assert plot(run, out) == out
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 700 and int.from_bytes(data[20:24], "big") == 400  # IHDR size
    (tmp_path / "empty").mkdir()
    empty, _ = _run(tmp_path / "empty", n_gen=0)
    with open_run(empty) as run:
        fig = figure(run)
        plot(run, tmp_path / "empty.png")
    assert "no complete generation yet" in [t.get_text() for t in fig.axes[0].texts]
    assert (tmp_path / "empty.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_says_when_training_and_test_scores_use_different_rewards(tmp_path):
    plain, _ = _run(tmp_path)
    with open_run(plain) as run:
        ax = figure(run).axes[0]
        assert ax.get_ylabel() == "episode return" and "best (train)" in _lines(ax)
    (tmp_path / "hopper").mkdir()
    env = {"id": "Hopper-v5", "train_kwargs": {"healthy_reward": 0.0}}
    path, _ = _run(tmp_path / "hopper", config={**CONFIG, "scenario": {**CONFIG["scenario"], "env": env}})
    with open_run(path) as run:
        ax = figure(run).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "best (train, healthy_reward=0.0)" in labels
    assert "test (mean of 2 episodes, the task's reward)" in labels
    assert "rewards differ" in ax.get_ylabel()
