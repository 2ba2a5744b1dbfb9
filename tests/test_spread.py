"""mean_sd_se: the one format of a score over episodes (sd of the episodes, se of their mean)."""

from __future__ import annotations

import math

import numpy as np

from spatial_snn.tasks.spread import mean_sd_se


def test_sd_is_the_episodes_spread_and_se_the_sample_sd_over_root_n():
    r = np.array([350.0, 352.0, 361.0, 349.5, 357.5])
    text = mean_sd_se(r.mean(), r.std(), r.size)
    se = r.std(ddof=1) / math.sqrt(r.size)
    assert text == f"{r.mean():.1f} +- {r.std():.1f} sd (se {se:.1f})"
    assert text == "354.0 +- 4.5 sd (se 2.3)"  # mean 1770 / 5; sd sqrt(101.5 / 5); se sqrt(101.5 / 4 / 5)


def test_one_episode_has_no_spread_and_none_or_nan_is_not_a_number():
    assert mean_sd_se(500.0, 0.0, 1) == "500.0 (1 episode: no sd)"
    assert mean_sd_se(math.nan, math.nan, 0) == "n/a"
    assert mean_sd_se(math.nan, math.nan, 5) == "n/a"
