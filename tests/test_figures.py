"""Pictures drawn from real shipped genomes, checked for what they show."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from spatial_snn.runs.figures import episode_figure, network_figure
from spatial_snn.runs.recording import record_episode
from spatial_snn.runs.replay import load_controller
from spatial_snn.sim.network import set_threads

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
