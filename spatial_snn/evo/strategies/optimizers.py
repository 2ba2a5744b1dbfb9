"""Gradient-ascent steps on a search distribution's mean: SGD, Adam, ClipUp.

Each step is a pure function of the ascent direction ``g`` (n,) and the
optimiser's arrays ``m``, ``v`` (n,) and ``count`` (0-d int64), and returns
``(delta, m, v, count)``; the caller adds ``delta`` to the mean. The
equations are those of optax (``sgd``, ``adam``) and of ClipUp (Toklu et al.
2020, as in evosax's ``clipup``), written for ascent:

* SGD with momentum ``mu``:  ``m <- g + mu m``; ``delta = lr m``
  (``mu = 0``: plain SGD, ``delta = lr g``);
* Adam: ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
  ``t <- t + 1``, ``delta = lr m_hat / (sqrt(v_hat) + eps)`` with
  ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``;
* ClipUp: ``u = g / (|g| + eps)``, ``m <- mu m + u``, ``m`` rescaled to norm
  ``max_speed / lr`` if longer, ``delta = lr m`` (so ``|delta| <= max_speed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...space.settings import setting
from .common import positive, unit_interval

OPTIMIZERS = ("sgd", "adam", "clipup")


@dataclass(frozen=True)
class Optimizer:
    """Which step moves the mean, and its settings.

    Parameters
    ----------
    name : {"sgd", "adam", "clipup"}
    learning_rate : float
        Step scale ``lr``.
    momentum : float
        SGD and ClipUp momentum (0: none; ClipUp's authors use 0.9).
    beta1, beta2, eps : float
        Adam's moment decays and denominator jitter (optax's defaults); ``eps``
        is also ClipUp's normalisation jitter.
    max_speed : float or None
        ClipUp's largest step norm; None = ``2 * learning_rate``.
    """

    name: str = setting("adam", "The step on the mean: sgd, adam or clipup.", choices=OPTIMIZERS)
    learning_rate: float = setting(0.01, "Step scale lr.", "gene units", low=0, low_open=True)
    momentum: float = setting(0.0, "SGD and ClipUp momentum (0: none).", low=0, high=1)
    beta1: float = setting(0.9, "Adam's decay of the first moment.", low=0, high=1)
    beta2: float = setting(0.999, "Adam's decay of the second moment.", low=0, high=1)
    eps: float = setting(1e-8, "Adam's denominator jitter (and ClipUp's normalisation jitter).", low=0, low_open=True)
    max_speed: float | None = setting(
        None, "ClipUp's largest step norm; none: 2 learning_rate.", "gene units", low=0, low_open=True
    )

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise ValueError(f"optimizer.name: expected one of {OPTIMIZERS}, got {self.name!r}")
        positive("optimizer", "learning_rate", self.learning_rate)
        positive("optimizer", "eps", self.eps)
        for name in ("momentum", "beta1", "beta2"):
            unit_interval("optimizer", name, getattr(self, name))
        if self.max_speed is not None:
            positive("optimizer", "max_speed", self.max_speed)

    @property
    def speed_limit(self) -> float:
        """ClipUp's largest step norm."""
        return 2.0 * self.learning_rate if self.max_speed is None else float(self.max_speed)


def init_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero ``(m, v, count)`` for ``n`` genes."""
    return np.zeros(n), np.zeros(n), np.array(0, np.int64)


def step(opt: Optimizer, g: np.ndarray, m: np.ndarray, v: np.ndarray, count: np.ndarray):
    """One ascent step: ``(delta, m, v, count)`` (new arrays; inputs untouched)."""
    g = np.asarray(g, np.float64)
    t = np.array(int(count) + 1, np.int64)
    lr = opt.learning_rate
    if opt.name == "sgd":
        m = g + opt.momentum * m if opt.momentum else g.copy()
        return lr * m, m, v.copy(), t
    if opt.name == "adam":
        m = opt.beta1 * m + (1.0 - opt.beta1) * g
        v = opt.beta2 * v + (1.0 - opt.beta2) * g * g
        m_hat = m / (1.0 - opt.beta1 ** int(t))
        v_hat = v / (1.0 - opt.beta2 ** int(t))
        return lr * m_hat / (np.sqrt(v_hat) + opt.eps), m, v, t
    # clipup
    u = g / (math.sqrt(float(g @ g)) + opt.eps)
    m = opt.momentum * m + u
    limit = opt.speed_limit / lr
    norm = math.sqrt(float(m @ m))
    if norm > limit:
        m = m * (limit / norm)
    return lr * m, m, v.copy(), t
