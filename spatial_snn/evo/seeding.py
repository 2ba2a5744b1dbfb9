"""The seed tree: one ``run_seed`` spawns every random stream of a run.

Streams are addressed by a path, never by the order in which they are asked
for, so a result depends only on *what* is computed, not on which worker or
in which order::

    run_seed
    |- (0, g, i)   variation: generation g, individual i
    |- (1, g)      training episode seeds of generation g (even numbers)
    |- (2,)        the run's held-out test episode seeds (odd numbers)
    |- (3,)        set-up (observation-bound estimation)
    |- (4, g)      selection: parent pairing in generation g
    |- (5,)        held-out seeds that confirm a new champion (odd, none a test seed)
    |- (6, g)      search strategy: the samples an evolution strategy asks for in generation g

Replays have a tree of their own, rooted at the replay seed the user picks
(not a run seed)::

    replay_seed
    |- (6, k)      reset seed of replay episode k (``replay``, ``report``)

Training seeds are even and test seeds odd, so the two sets are disjoint by
construction.
"""

from __future__ import annotations

import numpy as np

_VARIATION, _TRAIN, _TEST, _SETUP, _SELECTION, _CONFIRM, _STRATEGY = 0, 1, 2, 3, 4, 5, 6
_QD, _CVT, _REEVALUATE = 7, 8, 9
_REPLAY = 6  # under a replay seed, not a run seed: see the module docstring
_SEED_SPACE = 2**30


def _sequence(run_seed: int, *path: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(int(run_seed), spawn_key=tuple(int(p) for p in path))


def rng(run_seed: int, *path: int) -> np.random.Generator:
    """Generator for the stream at ``path`` under ``run_seed``."""
    return np.random.default_rng(_sequence(run_seed, *path))


def variation_rng(run_seed: int, generation: int, individual: int) -> np.random.Generator:
    """Stream that creates individual ``individual`` of generation ``generation``."""
    return rng(run_seed, _VARIATION, generation, individual)


def setup_rng(run_seed: int) -> np.random.Generator:
    return rng(run_seed, _SETUP)


def train_seeds(run_seed: int, generation: int, episodes: int, fixed: bool = False) -> np.ndarray:
    """Reset seeds of the ``episodes`` training episodes of a generation (even).

    Drawn fresh every generation and shared by all its individuals; with
    ``fixed`` the generation-0 seeds are used throughout (the published protocol).
    """
    g = 0 if fixed else generation
    draws = rng(run_seed, _TRAIN, g).choice(_SEED_SPACE, size=episodes, replace=False)
    return (2 * draws).astype(np.int64)


def test_seeds(run_seed: int, episodes: int) -> np.ndarray:
    """The run's held-out test seeds (odd, hence disjoint from training seeds)."""
    draws = rng(run_seed, _TEST).choice(_SEED_SPACE, size=episodes, replace=False)
    return (2 * draws + 1).astype(np.int64)


def confirm_seeds(run_seed: int, episodes: int, tests: np.ndarray) -> np.ndarray:
    """Held-out seeds that confirm a new champion: odd, distinct, none among ``tests`` (the test seeds)."""
    draws = rng(run_seed, _CONFIRM).choice(_SEED_SPACE, size=episodes + len(tests), replace=False)
    seeds = (2 * draws + 1).astype(np.int64)
    return seeds[~np.isin(seeds, tests)][:episodes]


def selection_rng(run_seed: int, generation: int) -> np.random.Generator:
    """Stream for generation-level choices (which parents pair up)."""
    return rng(run_seed, _SELECTION, generation)


def strategy_rng(run_seed: int, generation: int) -> np.random.Generator:
    """Stream an evolution strategy's ``ask`` draws generation ``generation``'s samples from."""
    return rng(run_seed, _STRATEGY, generation)


def qd_rng(run_seed: int, generation: int) -> np.random.Generator:
    """Stream MAP-Elites draws generation ``generation``'s parent cells and crossover choices from."""
    return rng(run_seed, _QD, generation)


def cvt_rng(run_seed: int) -> np.random.Generator:
    """Stream of the samples a run's CVT centroids are fitted to."""
    return rng(run_seed, _CVT)


def reevaluation_seeds(run_seed: int, episodes: int, tests: np.ndarray) -> np.ndarray:
    """Fresh seeds to re-evaluate MAP-Elites' elites on: odd (never a training seed), distinct, none among
    ``tests`` (the run's test seeds)."""
    draws = rng(run_seed, _REEVALUATE).choice(_SEED_SPACE, size=episodes + len(tests), replace=False)
    seeds = (2 * draws + 1).astype(np.int64)
    return seeds[~np.isin(seeds, tests)][:episodes]


def replay_seeds(seed: int, episodes: int) -> np.ndarray:
    """Reset seeds of replay episodes ``0 .. episodes - 1`` under the replay ``seed``.

    Episode ``k``'s seed comes from its own stream ``(6, k)``, so it is the
    same whatever the episode count: the first of 10 episodes is the one
    episode of a replay of 1. Two episodes share a seed with probability
    about ``episodes**2 / 2**31``.
    """
    return np.array(
        [_sequence(seed, _REPLAY, k).generate_state(1)[0] % _SEED_SPACE for k in range(int(episodes))], np.int64
    )
