"""Separable CMA-ES (Ros and Hansen 2008): CMA-ES with a diagonal covariance.

The equations are those of Hansen's tutorial (arXiv 1604.03864, 2016) with
``C = diag(c)``, positive recombination weights only, and the separable
learning rates of Ros and Hansen (``c1`` and ``cmu`` times ``(n + 2) / 3``).
``n`` genes, ``lam`` candidates, ``mu = lam // 2`` parents,
``w_i ~ ln((lam + 1) / 2) - ln i`` normalised to sum 1,
``mu_eff = 1 / sum w_i^2``, ``chi = sqrt(n) (1 - 1/(4n) + 1/(21 n^2))``:

* ask: ``x_k = m + s * sqrt(c) * z_k``, ``z_k ~ N(0, I)``;
* tell, ``y_i = (x_(i) - m) / s`` sorted best first, ``y_w = sum_i w_i y_i``:

      ``m <- m + s y_w``
      ``p_s <- (1 - c_s) p_s + sqrt(c_s (2 - c_s) mu_eff) y_w / sqrt(c)``
      ``s <- s exp((c_s / d_s) (|p_s| / chi - 1))``
      ``h = |p_s| / sqrt(1 - (1 - c_s)^(2 (g + 1))) < (1.4 + 2 / (n + 1)) chi``
      ``p_c <- (1 - c_c) p_c + h sqrt(c_c (2 - c_c) mu_eff) y_w``
      ``c <- (1 + c1 (1 - h) c_c (2 - c_c) - c1 - cmu) c + c1 p_c^2 + cmu sum_i w_i y_i^2``

  with ``g`` the generations completed before this one, and the defaults
  ``c_s = (mu_eff + 2) / (n + mu_eff + 5)``,
  ``d_s = 1 + 2 max(0, sqrt((mu_eff - 1) / (n + 1)) - 1) + c_s``,
  ``c_c = (4 + mu_eff / n) / (n + 4 + 2 mu_eff / n)``,
  ``c1 = 2 / ((n + 1.3)^2 + mu_eff) * (n + 2) / 3``,
  ``cmu = min(1 - c1, 2 (mu_eff - 2 + 1 / mu_eff) / ((n + 2)^2 + mu_eff) * (n + 2) / 3)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ...space.settings import setting
from .common import check_candidates, check_fitness, check_x0, population_size, positive

NAME = "sep_cma_es"


@dataclass(frozen=True)
class Params:
    """Separable CMA-ES settings.

    population : int
        Candidates per generation ``lam`` (>= 4; the default rule is
        ``4 + floor(3 ln n)``, too small for noisy returns).
    sigma_init : float
        Initial global step size ``s``, gene units.
    c1, cmu : float or None
        Rank-one and rank-mu learning rates; None = the separable defaults
        of the module docstring (set them to compare with another library).
    """

    population: int = 64
    sigma_init: float = setting(0.02, "Initial global step size.", "gene units", low=0, low_open=True)
    c1: float | None = setting(
        None, "Rank-one learning rate; none: the separable default.", low=0, high=1, high_open=True
    )
    cmu: float | None = setting(
        None, "Rank-mu learning rate; none: the separable default.", low=0, high=1, high_open=True
    )

    def __post_init__(self):
        population_size("sep_cma_es", self.population, even=False)
        if self.population < 4:
            raise ValueError(f"sep_cma_es.population: expected an integer >= 4, got {self.population}")
        positive("sep_cma_es", "sigma_init", self.sigma_init)
        for name in ("c1", "cmu"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, int | float) and 0 <= v < 1):
                raise ValueError(f"sep_cma_es.{name}: expected None or a number in [0, 1), got {v!r}")


class Constants(NamedTuple):
    """Derived constants for ``n`` genes (recomputed, never stored)."""

    weights: np.ndarray
    mu_eff: float
    c_s: float
    d_s: float
    c_c: float
    c1: float
    cmu: float
    chi: float


def constants(params: Params, n: int) -> Constants:
    """The tutorial's default constants for ``n`` genes and ``params.population`` candidates."""
    lam = params.population
    mu = lam // 2
    w = math.log((lam + 1) / 2) - np.log(np.arange(1, mu + 1))
    w = w / w.sum()
    mu_eff = 1.0 / float(w @ w)
    c_s = (mu_eff + 2) / (n + mu_eff + 5)
    d_s = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_s
    c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    sep = (n + 2) / 3
    c1 = 2 / ((n + 1.3) ** 2 + mu_eff) * sep if params.c1 is None else float(params.c1)
    c1 = min(c1, 1.0)
    cmu_default = 2 * (mu_eff - 2 + 1 / mu_eff) / ((n + 2) ** 2 + mu_eff) * sep
    cmu = min(1 - c1, cmu_default) if params.cmu is None else float(params.cmu)
    chi = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    return Constants(w, mu_eff, c_s, d_s, c_c, c1, cmu, chi)


class State(NamedTuple):
    """mean, diagonal covariance ``cov``, paths p_sigma, p_c (n,); step size sigma (); generation ()."""

    mean: np.ndarray
    sigma: np.ndarray
    cov: np.ndarray
    p_sigma: np.ndarray
    p_c: np.ndarray
    generation: np.ndarray


def init(params: Params, x0, rng: np.random.Generator | None = None) -> State:
    """State at ``x0`` with ``cov = 1``, zero paths and ``sigma = sigma_init`` (draws nothing)."""
    mean = check_x0(x0)
    n = mean.size
    return State(mean, np.array(float(params.sigma_init)), np.ones(n), np.zeros(n), np.zeros(n), np.array(0, np.int64))


def ask(state: State, params: Params, rng: np.random.Generator) -> tuple[np.ndarray, State]:
    """``(lam, n)`` candidates ``mean + sigma sqrt(cov) z``."""
    z = rng.standard_normal((params.population, state.mean.size))
    return state.mean + float(state.sigma) * np.sqrt(state.cov) * z, state


def tell(state: State, params: Params, candidates, fitness) -> State:
    """The tutorial's update with a diagonal covariance (module docstring)."""
    n = state.mean.size
    k = constants(params, n)
    x = check_candidates(candidates, params.population, n).astype(np.float64)
    f = check_fitness(fitness, params.population)
    sigma = float(state.sigma)
    best = np.argsort(-f, kind="stable")[: k.weights.size]
    y = (x[best] - state.mean) / sigma
    y_w = k.weights @ y
    mean = state.mean + sigma * y_w
    p_sigma = (1 - k.c_s) * state.p_sigma + math.sqrt(k.c_s * (2 - k.c_s) * k.mu_eff) * y_w / np.sqrt(state.cov)
    norm = math.sqrt(float(p_sigma @ p_sigma))
    new_sigma = sigma * math.exp((k.c_s / k.d_s) * (norm / k.chi - 1))
    g = int(state.generation)
    h = float(norm / math.sqrt(1 - (1 - k.c_s) ** (2 * (g + 1))) < (1.4 + 2 / (n + 1)) * k.chi)
    p_c = (1 - k.c_c) * state.p_c + h * math.sqrt(k.c_c * (2 - k.c_c) * k.mu_eff) * y_w
    delta_h = (1 - h) * k.c_c * (2 - k.c_c)
    cov = (
        (1 + k.c1 * delta_h - k.c1 - k.cmu * k.weights.sum()) * state.cov
        + k.c1 * p_c * p_c
        + k.cmu * (k.weights @ (y * y))
    )
    return State(mean, np.array(new_sigma), cov, p_sigma, p_c, state.generation + 1)


def centre(state: State) -> np.ndarray:
    """The distribution's mean."""
    return state.mean.copy()
