"""PGPE: parameter-exploring policy gradients (Sehnke et al. 2010), evosax's ClipUp variant.

Search distribution ``N(mean, diag(sigma^2))`` with one ``sigma`` per gene.
This is the variant of evosax 0.3.2's ``PGPE``: symmetric sampling, centred
ranks over the whole population, ClipUp (Toklu et al. 2020) on the mean and
Sehnke's per-gene ``sigma`` gradient with a bounded relative change.

* ask: ``e_j = sigma * z_j``, ``z_j ~ N(0, I)``, ``j < N/2``; candidates
  ``x = mean + [e; -e]`` (the ``+`` half first);
* tell, with centred ranks ``w`` split into ``w+`` and ``w-`` and ``b = mean(w)``:

      ``g_mean  = sum_j (w+_j - w-_j) e_j / N``
      ``g_sigma = sum_j (w+_j + w-_j - 2 b) (e_j^2 - sigma^2) / sigma / N``

  the mean takes one optimiser step along ``g_mean`` (ClipUp by default) and
  ``sigma <- clip(sigma + sigma_learning_rate g_sigma, (1 - c) sigma, (1 + c) sigma)``
  with ``c = sigma_max_change``.
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
    unit_interval,
)
from .optimizers import Optimizer

NAME = "pgpe"


@dataclass(frozen=True)
class Params:
    """PGPE settings.

    population : int
        Candidates per generation ``N`` (even: symmetric pairs).
    sigma_init : float
        Initial standard deviation of every gene.
    sigma_learning_rate : float
        Step on ``sigma`` along ``g_sigma`` (evosax: 0.1).
    sigma_max_change : float
        Largest relative change of ``sigma`` per generation (evosax: 0.2).
    optimizer : Optimizer
        Step on the mean; default ClipUp, learning rate 0.01, top speed 0.02,
        momentum 0.9 (evosax's defaults).
    """

    population: int = 64
    sigma_init: float = setting(0.02, "Initial standard deviation of every gene.", "gene units", low=0, low_open=True)
    sigma_learning_rate: float = setting(
        0.1, "Step on sigma along its search gradient (evosax: 0.1).", low=0, low_open=True
    )
    sigma_max_change: float = setting(
        0.2, "Largest relative change of sigma per generation.", low=0, high=1, low_open=True
    )
    optimizer: Optimizer = field(default_factory=lambda: Optimizer("clipup", 0.01, momentum=0.9, max_speed=0.02))

    def __post_init__(self):
        population_size("pgpe", self.population, even=True)
        positive("pgpe", "sigma_init", self.sigma_init)
        positive("pgpe", "sigma_learning_rate", self.sigma_learning_rate)
        unit_interval("pgpe", "sigma_max_change", self.sigma_max_change, closed_left=False)
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(f"pgpe.optimizer: expected an Optimizer, got {type(self.optimizer).__name__}")


class State(NamedTuple):
    """mean, sigma (n,); optimiser arrays opt_m, opt_v (n,), opt_count (); generation ()."""

    mean: np.ndarray
    sigma: np.ndarray
    opt_m: np.ndarray
    opt_v: np.ndarray
    opt_count: np.ndarray
    generation: np.ndarray


def init(params: Params, x0, rng: np.random.Generator | None = None) -> State:
    """State with the mean at ``x0`` and every ``sigma`` at ``sigma_init`` (draws nothing)."""
    mean = check_x0(x0)
    m, v, count = optimizers.init_arrays(mean.size)
    return State(mean, np.full(mean.size, float(params.sigma_init)), m, v, count, np.array(0, np.int64))


def ask(state: State, params: Params, rng: np.random.Generator) -> tuple[np.ndarray, State]:
    """``(N, n)`` candidates ``mean + [e; -e]``, ``e = sigma * z``."""
    e = state.sigma * rng.standard_normal((params.population // 2, state.mean.size))
    return state.mean + np.concatenate([e, -e]), state


def tell(state: State, params: Params, candidates, fitness) -> State:
    """Move the mean (optimiser step) and adapt every ``sigma``."""
    half = params.population // 2
    x = check_candidates(candidates, params.population, state.mean.size).astype(np.float64)
    w = centred_ranks(check_fitness(fitness, params.population))
    e = x[:half] - state.mean
    w_plus, w_minus = w[:half], w[half:]
    g_mean = (w_plus - w_minus) @ e / params.population
    baseline = w.mean()
    sigma = state.sigma
    g_sigma = (w_plus + w_minus - 2.0 * baseline) @ ((e * e - sigma * sigma) / sigma) / params.population
    c = params.sigma_max_change
    new_sigma = np.clip(sigma + params.sigma_learning_rate * g_sigma, (1.0 - c) * sigma, (1.0 + c) * sigma)
    delta, m, v, count = optimizers.step(params.optimizer, g_mean, state.opt_m, state.opt_v, state.opt_count)
    return State(state.mean + delta, new_sigma, m, v, count, state.generation + 1)


def centre(state: State) -> np.ndarray:
    """The distribution's mean."""
    return state.mean.copy()
