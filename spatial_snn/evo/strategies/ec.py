"""EC: Evolving Connectivity (Wang et al., NeurIPS 2023), NES over connection probabilities.

Each of ``n`` candidate connections is present independently with
probability ``p_e``; weights are fixed elsewhere (the codec). Generation:

* ask: masks ``k_i ~ Bernoulli(p)``, ``i < N`` (bool ``(N, n)``);
* tell: centred ranks ``w_i`` of the returns, the natural gradient of the
  Bernoulli family in its mean parameters

      ``g = mean_i(w_i (k_i - p))``,

  one Adam ascent step (optax's Adam, as in the paper's code),
  ``p <- p + lr (adam(g) - weight_decay p)`` (the paper's optional decay
  towards sparsity), then ``p <- clip(p, eps, 1 - eps)``.

The paper's defaults: learning rate 0.15, ``eps = 1e-3``, ``p = 0.5`` at
start (here any initial ``p``: the spatial prior or a uniform one, see the
codec). Ties in the returns share their mean rank; the paper's code breaks
them by position (the two agree when returns are distinct).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ...space.settings import setting
from . import optimizers
from .common import centred_ranks, check_candidates, check_fitness, population_size
from .optimizers import Optimizer

NAME = "ec"


@dataclass(frozen=True)
class Params:
    """EC settings.

    population : int
        Sampled networks per generation ``N``.
    optimizer : Optimizer
        Step on ``p``; the paper's Adam with learning rate 0.15.
    eps : float
        ``p`` stays in ``[eps, 1 - eps]`` (the paper: 1e-3).
    weight_decay : float
        Pull of ``p`` towards 0 per step (the paper: 0, optional).
    """

    population: int = 64
    optimizer: Optimizer = field(default_factory=lambda: Optimizer("adam", 0.15))
    eps: float = setting(
        1e-3, "Probabilities stay in [eps, 1 - eps].", "probability", low=0, high=0.5, low_open=True, high_open=True
    )
    weight_decay: float = setting(0.0, "Pull of the probabilities towards 0 per step (0: none).", low=0)

    def __post_init__(self):
        population_size("ec", self.population, even=False)
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(f"ec.optimizer: expected an Optimizer, got {type(self.optimizer).__name__}")
        if not (isinstance(self.eps, int | float) and 0 < self.eps < 0.5):
            raise ValueError(f"ec.eps: expected a number in (0, 0.5), got {self.eps!r}")
        if not (
            isinstance(self.weight_decay, int | float) and math.isfinite(self.weight_decay) and self.weight_decay >= 0
        ):
            raise ValueError(f"ec.weight_decay: expected a number >= 0, got {self.weight_decay!r}")


class State(NamedTuple):
    """p (n,) connection probabilities; Adam arrays opt_m, opt_v (n,), opt_count (); generation ()."""

    p: np.ndarray
    opt_m: np.ndarray
    opt_v: np.ndarray
    opt_count: np.ndarray
    generation: np.ndarray


def init(params: Params, p0, rng: np.random.Generator | None = None) -> State:
    """State with probabilities ``p0`` clipped to ``[eps, 1 - eps]`` (draws nothing)."""
    p = np.array(p0, dtype=np.float64)
    if p.ndim != 1 or p.size < 1:
        raise ValueError(f"p0: expected a 1-D array of at least one probability, got shape {p.shape}")
    if not np.all((p >= 0) & (p <= 1)):
        bad = p[~((p >= 0) & (p <= 1))][0]
        raise ValueError(f"p0: expected probabilities in [0, 1], got {bad}")
    m, v, count = optimizers.init_arrays(p.size)
    return State(np.clip(p, params.eps, 1 - params.eps), m, v, count, np.array(0, np.int64))


def ask(state: State, params: Params, rng: np.random.Generator) -> tuple[np.ndarray, State]:
    """``(N, n)`` bool masks ``k_i ~ Bernoulli(p)`` (``u < p``, ``u ~ U[0, 1)``)."""
    return rng.random((params.population, state.p.size)) < state.p, state


def gradient(state: State, fitness: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``g = mean_i(w_i (k_i - p))`` with centred ranks ``w``, (n,)."""
    w = centred_ranks(fitness)
    return (w @ (masks.astype(np.float64) - state.p)) / w.size


def tell(state: State, params: Params, candidates, fitness) -> State:
    """One Adam ascent step on ``p``, decay, clip."""
    k = check_candidates(candidates, params.population, state.p.size)
    if k.dtype != bool and not np.all((k == 0) | (k == 1)):
        raise ValueError("candidates: expected 0/1 connection masks (what ec.ask returned)")
    f = check_fitness(fitness, params.population)
    g = gradient(state, f, k)
    step, m, v, count = optimizers.step(params.optimizer, g, state.opt_m, state.opt_v, state.opt_count)
    p = state.p + step - params.optimizer.learning_rate * params.weight_decay * state.p
    return State(np.clip(p, params.eps, 1 - params.eps), m, v, count, state.generation + 1)


def most_probable(state: State) -> np.ndarray:
    """The paper's deterministic network: connections with ``p > 0.5``, (n,) bool."""
    return state.p > 0.5


def centre(state: State) -> np.ndarray:
    """The probabilities (the distribution's mean), (n,)."""
    return state.p.copy()
