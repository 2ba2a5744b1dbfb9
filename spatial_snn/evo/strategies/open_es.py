"""OpenES: the evolution strategy of Salimans et al. (2017), as in evosax's ``Open_ES``.

Search distribution ``N(mean, sigma^2 I)`` with a fixed ``sigma``. Generation:

* ask: ``eps_j ~ N(0, I)``, ``j < N/2``, and their mirrors ``-eps_j``
  (antithetic; candidates ``x = mean + sigma [eps; -eps]``, the ``+`` half
  first), or ``N`` independent draws without ``antithetic``;
* tell: centred ranks ``w_i in [-0.5, 0.5]`` of the returns, the
  search-gradient estimate

      ``g = sum_i w_i (x_i - mean) / (N sigma^2)``,

  decoupled L2 weight decay ``g <- g - weight_decay * mean`` (the
  ``l2coeff`` of OpenAI's reference code), then one optimiser step
  (:mod:`.optimizers`, Adam by default) added to the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ...space.settings import setting
from . import optimizers
from .common import (
    centred_ranks,
    check_candidates,
    check_fitness,
    check_x0,
    population_size,
    positive,
)
from .optimizers import Optimizer

NAME = "open_es"


@dataclass(frozen=True)
class Params:
    """OpenES settings.

    population : int
        Candidates per generation ``N`` (even when ``antithetic``).
    sigma : float
        Standard deviation of the perturbations, in gene units.
    optimizer : Optimizer
        Step on the mean (default Adam, learning rate 0.01).
    weight_decay : float
        L2 coefficient subtracted from the gradient (0: none).
    antithetic : bool
        Mirrored sampling.
    """

    population: int = 64
    sigma: float = setting(0.02, "Standard deviation of the perturbations.", "gene units", low=0, low_open=True)
    optimizer: Optimizer = field(default_factory=lambda: Optimizer("adam", 0.01))
    weight_decay: float = setting(0.0, "L2 coefficient subtracted from the gradient (0: none).", low=0)
    antithetic: bool = setting(True, "Mirrored sampling (the + half first).")

    def __post_init__(self):
        population_size("open_es", self.population, self.antithetic)
        positive("open_es", "sigma", self.sigma)
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(f"open_es.optimizer: expected an Optimizer, got {type(self.optimizer).__name__}")
        if not (isinstance(self.weight_decay, int | float) and self.weight_decay >= 0):
            raise ValueError(f"open_es.weight_decay: expected a number >= 0, got {self.weight_decay!r}")


class State(NamedTuple):
    """mean (n,); optimiser arrays opt_m, opt_v (n,) and opt_count (); generation ()."""

    mean: np.ndarray
    opt_m: np.ndarray
    opt_v: np.ndarray
    opt_count: np.ndarray
    generation: np.ndarray


def init(params: Params, x0, rng: np.random.Generator | None = None) -> State:
    """State with the mean at ``x0`` (draws nothing; ``rng`` kept for the common signature)."""
    mean = check_x0(x0)
    m, v, count = optimizers.init_arrays(mean.size)
    return State(mean, m, v, count, np.array(0, np.int64))


def ask(state: State, params: Params, rng: np.random.Generator) -> tuple[np.ndarray, State]:
    """``(N, n)`` candidates ``mean + sigma eps`` (the ``+`` half first if antithetic)."""
    n = state.mean.size
    if params.antithetic:
        eps = rng.standard_normal((params.population // 2, n))
        eps = np.concatenate([eps, -eps])
    else:
        eps = rng.standard_normal((params.population, n))
    return state.mean + params.sigma * eps, state


def gradient(state: State, params: Params, candidates: np.ndarray, fitness: np.ndarray) -> np.ndarray:
    """The search-gradient estimate ``g`` (before weight decay), (n,)."""
    w = centred_ranks(fitness)
    return w @ (candidates - state.mean) / (params.population * params.sigma**2)


def tell(state: State, params: Params, candidates, fitness) -> State:
    """Move the mean one optimiser step along the search gradient."""
    x = check_candidates(candidates, params.population, state.mean.size).astype(np.float64)
    f = check_fitness(fitness, params.population)
    g = gradient(state, params, x, f)
    if params.weight_decay:
        g = g - params.weight_decay * state.mean
    delta, m, v, count = optimizers.step(params.optimizer, g, state.opt_m, state.opt_v, state.opt_count)
    return State(state.mean + delta, m, v, count, state.generation + 1)


def centre(state: State) -> np.ndarray:
    """The distribution's mean: the network to report as the strategy's current best guess."""
    return state.mean.copy()
