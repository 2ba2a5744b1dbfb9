"""Pictures drawn from real shipped genomes, checked for what they show."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from spatial_snn.analysis.figures import episode_figure, network_figure
from spatial_snn.analysis.recording import record_episode
from spatial_snn.sim.network import set_threads
from spatial_snn.store.controller import load_controller

GENOMES = Path(__file__).resolve().parent.parent / "genomes"


def _is_picture(path: Path) -> bool:
    img = mpimg.imread(path)
    return img.ndim == 3 and img.shape[0] > 200 and np.ptp(img[..., :3]) > 0.5  # not blank


@pytest.mark.parametrize("name", ["cartpole-1d", "cartpole-2d", "cartpole-3d", "hopper-2d"])
def test_network_figure_draws_one_line_per_synapse(tmp_path, name):
    genome, _, _ = load_controller(GENOMES / f"{name}.h5")
    out = tmp_path / f"{name}.png"
    drawn = network_figure(genome, out, title=name)
    assert drawn["synapse_lines"] == genome.n_synapses
    assert (drawn["neurons"], drawn["inputs"], drawn["outputs"]) == (genome.n, genome.n_inputs, genome.n_outputs)
    assert drawn["legend_clear"]
    assert _is_picture(out)


def test_episode_figure_shows_every_recorded_spike_of_its_window(tmp_path):
    set_threads(1)
    genome, task, _ = load_controller(GENOMES / "cartpole-2d.h5")
    rec = record_episode(genome, task, seed=7, max_steps=60)
    assert rec.env_steps == 60
    out = tmp_path / "episode.png"
    drawn = episode_figure(rec, genome, out, window=40)
    in_window = int(np.count_nonzero(rec.spike_times < 40 * task.substeps))
    assert 0 < in_window < rec.spike_times.size  # the window cuts the episode
    assert drawn["spikes"] == in_window
    assert drawn["steps"] == 40 and drawn["traces"] == len(rec.traced) == 4
    assert drawn["observation_lines"] == rec.observations.shape[1] and drawn["action_lines"] == 1
    assert _is_picture(out)


def test_figures_are_written_as_palette_pngs_that_look_the_same_and_are_smaller(tmp_path):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from spatial_snn.analysis.png import save_png

    fig, ax = plt.subplots(figsize=(6, 4))
    rng = np.random.default_rng(0)
    for k in range(30):  # many thin antialiased lines, as in a network figure
        ax.plot(rng.random(40), lw=0.5 + k / 20, alpha=0.6)
    ax.set_title("thirty lines")
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=80)
    out = save_png(fig, tmp_path / "sub" / "lines.png", dpi=80)
    plt.close(fig)
    with Image.open(out) as img, Image.open(full) as ref:
        assert img.mode == "P" and img.size == ref.size
        a = np.asarray(img.convert("RGB"), np.int16)
        b = np.asarray(ref.convert("RGB"), np.int16)
    error = np.abs(a - b)  # per pixel and channel, of 255
    assert error.mean() < 4 and error.max() <= 32  # no colour visibly wrong: the same picture
    assert out.stat().st_size < 0.6 * len(full.getvalue())


def test_channel_styles_do_not_repeat_within_80_channels():
    from spatial_snn.analysis.figures import line_style

    styles = {(tuple(line_style(k)["color"]), line_style(k)["linestyle"]) for k in range(80)}
    assert len(styles) == 80
    assert len({tuple(line_style(k)["color"]) for k in range(20)}) == 20
