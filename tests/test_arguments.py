"""dim and seed: one check, one bound and one message for evolve, resume, resolve, batches and the CLI."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from spatial_snn.cli import parse_seeds
from spatial_snn.runs.arguments import SEED_MAX, check_dim, check_dims, check_seed, check_seeds
from spatial_snn.runs.batch import run_batch
from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenario_checks import check_run_args
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import resolve

TINY = {
    "name": "args",
    "env": {"id": "CartPole-v1"},
    "network": {"n_hidden": 4},
    "evolution": {"population": 4, "generations": 1},
    "protocol": {"episodes": 1, "test_episodes": 1},
}
SEED_MESSAGE = f"seed: expected an integer in 0..{SEED_MAX} (2**32 - 1), got"


def test_the_bounds():
    assert [check_dim(d) for d in (1, 2, 3, np.int64(2))] == [1, 2, 3, 2]
    assert check_seed(0) == 0 and check_seed(SEED_MAX) == SEED_MAX and check_seed(np.uint32(7)) == 7
    for dim in (0, 4, 2.0, True, "2", None):
        with pytest.raises(ValueError, match="dim: expected 1, 2 or 3, got"):
            check_dim(dim)
    for seed in (-1, SEED_MAX + 1, 1.0, True, "0", None):
        with pytest.raises(ValueError) as info:
            check_seed(seed)
        assert str(info.value) == f"{SEED_MESSAGE} {seed!r}"
    assert check_dims((3, 1)) == [3, 1] and check_seeds([5, 0]) == [5, 0]
    for bad in ((), (1, 1)):
        with pytest.raises(ValueError, match="dims: expected distinct values among 1, 2, 3"):
            check_dims(bad)
    for bad in ((), (2, 2)):
        with pytest.raises(ValueError, match="seeds: expected distinct integers"):
            check_seeds(bad)


def _message(call) -> str:
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize("seed", [-1, SEED_MAX + 1])
def test_every_entry_point_refuses_a_bad_seed_with_the_same_message(tmp_path, seed):
    sc = scenario_from_dict(TINY)
    want = f"{SEED_MESSAGE} {seed!r}"
    assert _message(lambda: check_run_args(sc, 2, seed)) == want
    assert _message(lambda: resolve(sc, 2, seed, check=False)) == want
    assert _message(lambda: evolve(sc, seed=seed, archive=tmp_path / "run.h5")) == want
    assert _message(lambda: run_batch(sc, seeds=(seed,), out_dir=tmp_path)) == want
    with pytest.raises(argparse.ArgumentTypeError) as info:
        parse_seeds(f"0,{seed}")
    assert str(info.value) == want
    assert not list(tmp_path.iterdir())  # refused before any file is made


def test_every_entry_point_refuses_a_bad_dimension_with_the_same_message(tmp_path):
    sc = scenario_from_dict(TINY)
    want = "dim: expected 1, 2 or 3, got 4"
    assert _message(lambda: check_run_args(sc, 4, 0)) == want
    assert _message(lambda: resolve(sc, 4, 0, check=False)) == want
    assert _message(lambda: evolve(sc, dim=4, archive=tmp_path / "run.h5")) == want
    assert _message(lambda: run_batch(sc, dims=(2, 4), out_dir=tmp_path)) == want
    assert not list(tmp_path.iterdir())
