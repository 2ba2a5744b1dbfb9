"""Learning curves from run archives."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_snn.analysis.curves import best_so_far, plot_curves, read_curve
from spatial_snn.cli import main
from spatial_snn.runs.runner import evolve

TINY = {
    "name": "curve",
    "env": {"id": "CartPole-v1"},
    "network": {"n_hidden": 12, "substeps": 2},
    "evolution": {"population": 6, "generations": 4},
    "protocol": {"episodes": 1, "test_every": 2, "test_episodes": 2, "bounds_episodes": 1},
}


def test_curve_holds_the_tested_generations(tmp_path):
    result = evolve(TINY, dim=1, seed=0, workers=1, archive=tmp_path / "a.h5")
    curve = read_curve(tmp_path / "a.h5")
    tested = np.isfinite(result.history["test"])
    np.testing.assert_array_equal(curve.test, result.history["test"][tested])
    np.testing.assert_array_equal(curve.env_steps, result.history["env_steps"][tested])
    assert (curve.dim, curve.seed, curve.env_id) == (1, 0, "CartPole-v1")
    assert np.all(np.diff(best_so_far(curve)) >= 0) and best_so_far(curve)[-1] == curve.test.max()


def test_figure_has_one_line_per_run_and_the_published_line(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    for seed in (0, 1):
        evolve(TINY, dim=2, seed=seed, workers=1, archive=tmp_path / f"s{seed}.h5")
    curves = [read_curve(tmp_path / f"s{seed}.h5") for seed in (0, 1)]
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look inside it
    plot_curves(curves, tmp_path / "c.png", published=450.0)
    (ax,) = figures[0].axes
    lines = ax.get_lines()
    assert len(lines) == 3
    for line, c in zip(lines[:2], curves, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), best_so_far(c))
    assert list(lines[2].get_ydata()) == [450.0, 450.0]
    assert (tmp_path / "c.png").stat().st_size > 0


def test_cli_prints_each_run(tmp_path, capsys):
    evolve(TINY, dim=2, seed=0, workers=1, archive=tmp_path / "a.h5")
    assert main(["curves", str(tmp_path / "a.h5"), "--out", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "curve 2D seed 0: best test" in out and (tmp_path / "c.png").exists()


def test_published_line_defaults_to_the_tasks_published_row():
    from spatial_snn.analysis.curves import PUBLISHED, Curve, published_score

    hopper = Curve("h", "Hopper-v5", 2, 0, np.array([1.0]), np.array([2.0]))
    swimmer = Curve("s", "Swimmer-v5", 2, 0, np.array([1.0]), np.array([2.0]))
    assert published_score([hopper, hopper]) == PUBLISHED["Hopper-v5"] == 2706.1
    assert published_score([hopper, swimmer]) is None  # mixed tasks: no single row
    assert published_score([Curve("c", "CartPole-v1", 2, 0, np.array([1.0]), np.array([2.0]))]) is None


def test_an_ablation_figure_has_one_colour_and_one_legend_entry_per_arm(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from spatial_snn.analysis.curves import Curve

    def curve(group, seed):
        return Curve(
            f"{group} seed {seed}",
            "Hopper-v5",
            2,
            seed,
            np.array([1e6, 2e6]),
            np.array([100.0 + seed, 200.0]),
            group,
            2e6,
        )

    curves = [curve(g, s) for g in ("full 2D", "base 2D") for s in (0, 1, 2)]
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    plot_curves(curves, tmp_path / "a.png", published=2706.1)
    (ax,) = figures[0].axes
    lines = ax.get_lines()[:6]
    assert len({line.get_color() for line in lines[:3]}) == 1 and len({line.get_color() for line in lines[3:]}) == 1
    assert lines[0].get_color() != lines[3].get_color()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["full 2D (3 seeds)", "base 2D (3 seeds)", "published 2706.1"]


def test_runs_compared_at_a_budget_use_the_champion_then_and_skip_runs_not_there_yet():
    from spatial_snn.analysis.curves import Curve, at_budget, format_budget, score_at

    def curve(seed, steps, test, total, group="arm 2D"):
        return Curve(
            f"{group} seed {seed}",
            "Hopper-v5",
            2,
            seed,
            np.array(steps, float),
            np.array(test, float),
            group,
            float(total),
        )

    a = curve(0, [1e6, 2e6, 3e6, 5e6], [100, 300, 200, 900], 5e6)
    b = curve(1, [1e6, 4e6], [50, 400], 4e6)
    short = curve(2, [1e6], [700], 2.5e6)
    other = curve(0, [1e6, 4e6], [10, 20], 4e6, group="other 2D")
    assert score_at(a, 4e6) == 300  # best test so far, not the last one, and nothing after the budget
    assert score_at(b, 4e6) == 400 and np.isnan(score_at(short, 4e6))
    rows = at_budget([a, b, short, other], 4e6)
    assert [r["group"] for r in rows] == ["arm 2D", "other 2D"]
    arm = rows[0]
    assert arm["scores"] == [(0, 300.0), (1, 400.0)] and arm["short"] == [2]
    assert (arm["n"], arm["median"], arm["min"], arm["max"]) == (2, 350.0, 300.0, 400.0)
    text = format_budget(rows, 4e6)
    assert "arm 2D: n=2  median 350" in text and "not there yet: s2" in text


def test_a_run_that_stopped_at_its_target_counts_at_any_larger_budget(tmp_path):
    from spatial_snn.analysis.curves import score_at

    low = {**TINY, "protocol": {**TINY["protocol"], "test_every": 1, "target": 5.0}}
    result = evolve(low, dim=2, seed=0, workers=1, archive=tmp_path / "t.h5")
    curve = read_curve(tmp_path / "t.h5")
    assert curve.reached_target and len(result.history["test"]) < TINY["evolution"]["generations"]
    assert score_at(curve, 1e9) == curve.test.max()  # not "not there yet": it stopped, done
    untargeted = read_curve(_evolved(tmp_path / "u.h5"))
    assert not untargeted.reached_target and np.isnan(score_at(untargeted, 1e9))


def _evolved(path):
    evolve(TINY, dim=2, seed=0, workers=1, archive=path)
    return path


def test_cli_budget_accepts_suffixes_and_refuses_nonsense(tmp_path, capsys):
    evolve(TINY, dim=2, seed=0, workers=1, archive=tmp_path / "a.h5")
    assert main(["curves", str(tmp_path / "a.h5"), "--out", str(tmp_path / "c.png"), "--budget", "1k"]) == 0
    assert "after 1,000 environment steps" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["curves", str(tmp_path / "a.h5"), "--out", str(tmp_path / "c.png"), "--budget", "lots"])
    assert "expected a step count" in capsys.readouterr().err


def test_a_legend_below_covers_no_curve_and_the_cli_passes_it_on(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from spatial_snn.analysis import curves as mod
    from spatial_snn.analysis.curves import Curve

    assert mod.LEGENDS == ("inside", "below")  # the CLI's choices, spelled out there to keep its import light
    runs = [Curve(f"r{s}", "Hopper-v5", 2, s, np.array([1e6, 2e6]), np.array([100.0, 200.0 + s])) for s in (0, 1)]
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    for where in mod.LEGENDS:
        plot_curves(runs, tmp_path / f"{where}.png", published=2706.1, legend=where)
        fig = figures[-1]
        fig.canvas.draw()
        (ax,) = fig.axes
        box, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
        assert (box.y1 < axes.y0) == (where == "below")
        assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)  # not cut off
        assert ax.get_ylim()[1] > 2706.1 + 100  # the published line, above every curve, is not on the frame
    with pytest.raises(ValueError, match="legend: expected one of"):
        plot_curves(runs, tmp_path / "x.png", legend="left")
    evolve(TINY, dim=2, seed=0, workers=1, archive=tmp_path / "a.h5")
    assert main(["curves", str(tmp_path / "a.h5"), "--out", str(tmp_path / "c.png"), "--legend", "below"]) == 0
    fig = figures[-1]
    fig.canvas.draw()
    assert fig.axes[0].get_legend().get_window_extent().y1 < fig.axes[0].get_window_extent().y0
