"""ARS: augmented random search (Mania, Guy and Recht 2018), the update of V2-t.

Search over the mean ``theta`` with a fixed exploration noise ``nu``. The
"V2" half of V2-t (running observation normalisation) lives in evaluation;
this module is the "-t" update, Algorithm 2 of the paper:

* ask: directions ``delta_k ~ N(0, I)``, ``k < N`` (``N = directions``);
  candidates ``x = theta + nu [delta; -delta]`` (``2N`` rows, ``+`` half first);
* tell: returns ``r+_k``, ``r-_k``; keep the ``b = top_directions``
  directions with the largest ``max(r+_k, r-_k)``; with ``sigma_R`` the
  standard deviation of those ``2b`` returns,

      ``g = sum_{k in top b} (r+_k - r-_k) delta_k / (b sigma_R)``

  and ``theta <- theta + optimiser step(g)``; plain SGD (the paper's
  ``theta + alpha g``) by default. No fitness shaping: raw returns.
  ``sigma_R`` is floored at 1e-8 (all returns equal: no move), as evosax does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ...space.settings import setting
from . import optimizers
from .common import check_candidates, check_fitness, check_x0, positive
from .optimizers import Optimizer

NAME = "ars"
#: Floor of the returns' standard deviation.
SIGMA_R_MIN = 1e-8


@dataclass(frozen=True)
class Params:
    """ARS settings.

    directions : int
        Random directions per generation ``N``; the population is ``2N``.
    top_directions : int or None
        Directions used in the update ``b`` (1 <= b <= N); None = all (V2, no "-t").
    sigma : float
        Exploration noise ``nu``, gene units.
    optimizer : Optimizer
        Step on the mean; default SGD with the paper's step ``alpha = 0.02``.
    """

    directions: int = 32
    top_directions: int | None = setting(
        16,
        "Directions used in the update (the best by max(r+, r-)); none: all. At most evolution.population / 2.",
        "directions",
        low=1,
        integer=True,
    )
    sigma: float = setting(0.03, "Exploration noise nu.", "gene units", low=0, low_open=True)
    optimizer: Optimizer = field(default_factory=lambda: Optimizer("sgd", 0.02))

    def __post_init__(self):
        if not isinstance(self.directions, int) or isinstance(self.directions, bool) or self.directions < 1:
            raise ValueError(f"ars.directions: expected an integer >= 1, got {self.directions!r}")
        b = self.top_directions
        if b is not None and (not isinstance(b, int) or isinstance(b, bool) or not 1 <= b <= self.directions):
            raise ValueError(
                f"ars.top_directions: expected an integer in 1..{self.directions} (ars.directions) or None, got {b!r}"
            )
        positive("ars", "sigma", self.sigma)
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(f"ars.optimizer: expected an Optimizer, got {type(self.optimizer).__name__}")

    @property
    def population(self) -> int:
        """Candidates per generation, ``2 * directions``."""
        return 2 * self.directions

    @property
    def n_top(self) -> int:
        return self.directions if self.top_directions is None else int(self.top_directions)


class State(NamedTuple):
    """mean (n,); optimiser arrays opt_m, opt_v (n,), opt_count (); generation ()."""

    mean: np.ndarray
    opt_m: np.ndarray
    opt_v: np.ndarray
    opt_count: np.ndarray
    generation: np.ndarray


def init(params: Params, x0, rng: np.random.Generator | None = None) -> State:
    """State with ``theta = x0`` (draws nothing)."""
    mean = check_x0(x0)
    m, v, count = optimizers.init_arrays(mean.size)
    return State(mean, m, v, count, np.array(0, np.int64))


def ask(state: State, params: Params, rng: np.random.Generator) -> tuple[np.ndarray, State]:
    """``(2N, n)`` candidates ``theta + nu [delta; -delta]``."""
    delta = rng.standard_normal((params.directions, state.mean.size))
    return state.mean + params.sigma * np.concatenate([delta, -delta]), state


def top(fitness: np.ndarray, params: Params) -> np.ndarray:
    """Indices of the ``b`` directions with the largest ``max(r+, r-)``, best first (stable)."""
    n = params.directions
    best = np.maximum(fitness[:n], fitness[n:])
    return np.argsort(-best, kind="stable")[: params.n_top]


def tell(state: State, params: Params, candidates, fitness) -> State:
    """One step along the top-``b`` finite-difference estimate."""
    n = params.directions
    x = check_candidates(candidates, params.population, state.mean.size).astype(np.float64)
    r = check_fitness(fitness, params.population)
    keep = top(r, params)
    r_plus, r_minus = r[:n][keep], r[n:][keep]
    sigma_r = max(float(np.std(np.concatenate([r_plus, r_minus]))), SIGMA_R_MIN)
    delta = (x[:n][keep] - state.mean) / params.sigma
    g = (r_plus - r_minus) @ delta / (keep.size * sigma_r)
    step, m, v, count = optimizers.step(params.optimizer, g, state.opt_m, state.opt_v, state.opt_count)
    return State(state.mean + step, m, v, count, state.generation + 1)


def centre(state: State) -> np.ndarray:
    """The current policy ``theta``."""
    return state.mean.copy()
