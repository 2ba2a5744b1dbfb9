"""The seed tree: streams addressed by path, train and test seeds disjoint."""

import numpy as np

from spatial_snn.evo import seeding


def test_streams_depend_only_on_their_path():
    a = seeding.variation_rng(7, 3, 5).random(4)
    # asking for other streams first changes nothing
    seeding.variation_rng(7, 3, 4).random(100)
    seeding.train_seeds(7, 3, 10)
    b = seeding.variation_rng(7, 3, 5).random(4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, seeding.variation_rng(7, 3, 6).random(4))
    assert not np.array_equal(a, seeding.variation_rng(8, 3, 5).random(4))


def test_training_seeds_are_fresh_each_generation_unless_fixed():
    g0, g1 = seeding.train_seeds(0, 0, 5), seeding.train_seeds(0, 1, 5)
    assert not np.array_equal(g0, g1)
    assert np.array_equal(seeding.train_seeds(0, 9, 5, fixed=True), g0)
    assert len(set(g0.tolist())) == 5


def test_test_seeds_never_overlap_training_seeds():
    test = set(seeding.test_seeds(0, 1000).tolist())
    train = set(np.concatenate([seeding.train_seeds(0, g, 50) for g in range(200)]).tolist())
    assert not test & train
    assert all(s % 2 == 1 for s in test) and all(s % 2 == 0 for s in train)


def test_replay_episode_k_is_the_same_whatever_the_episode_count():
    ten = seeding.replay_seeds(2026, 10)
    assert np.array_equal(seeding.replay_seeds(2026, 1), ten[:1])
    assert np.array_equal(seeding.replay_seeds(2026, 3), ten[:3])
    assert len(set(ten.tolist())) == 10 and ten.min() >= 0 and ten.max() < 2**30
    assert not np.array_equal(seeding.replay_seeds(2027, 10), ten)
