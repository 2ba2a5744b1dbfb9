"""Rhythm genes: a central pattern generator (CPG) of coupled phase oscillators.

An optional block of a :class:`~spatial_snn.space.genome.Genome` (its
``rhythm`` field, None when off), independent of the neuron index: one
oscillator per action dimension ``j = 0..m-1``, and the genes as one flat
float64 array of length ``2 + 3 m``::

    [f, k, A_0..A_{m-1}, phi_0..phi_{m-1}, c_0..c_{m-1}]

* ``f``: frequency, cycles per environment step, in [:data:`F_MIN`, :data:`F_MAX`];
* ``k``: coupling strength, rad per step, in [0, :data:`K_MAX`];
* ``A_j``: amplitude, in normalised action units, in [0, 1];
* ``phi_j``: phase offset, rad, in [-pi, pi) (wrapped);
* ``c_j``: centre, normalised action units, in [-1, 1].

The oscillators start in phase, ``theta_j(0) = 0``, and advance once per
environment step (explicit Euler, one step of time 1)::

    theta_j <- theta_j + 2 pi f + (k / m) sum_i sin(theta_i - theta_j - (phi_i - phi_j))

so the coupling pulls the phase differences ``theta_i - theta_j`` towards
``phi_i - phi_j`` (the gait), at a rate set by ``k``. The rhythm of step
``t`` is ``r_j(t) = c_j + A_j sin(theta_j(t))``, in normalised action units
(``-1`` is an action's low bound, ``+1`` its high bound). The decoder adds
the network's bounded residual to it (``spatial_snn.tasks.rhythm``).

Pure numpy, batched over rows ``(B, m)``; no state is kept here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "F_MAX",
    "F_MIN",
    "K_MAX",
    "check_rhythm",
    "clip_rhythm",
    "random_rhythm",
    "rhythm_bounds",
    "rhythm_output",
    "rhythm_parts",
    "rhythm_size",
    "rhythm_step",
]

#: Frequency bounds, cycles per environment step (periods of 100 to 4 steps).
F_MIN, F_MAX = 0.01, 0.25
#: Largest coupling strength, rad per step.
K_MAX = 1.0
_GLOBAL = 2  # f, k


def rhythm_size(m: int) -> int:
    """Number of rhythm genes of ``m`` oscillators: ``2 + 3 m``."""
    return _GLOBAL + 3 * int(m)


def _oscillators(genes: np.ndarray) -> int:
    m, rest = divmod(genes.shape[-1] - _GLOBAL, 3)
    if rest or m < 1:
        raise ValueError(f"rhythm: expected 2 + 3 m genes (m >= 1 oscillators), got {genes.shape[-1]}")
    return m


def rhythm_parts(genes: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(f, k, A, phi, c)`` of genes ``(..., 2 + 3 m)``: shapes ``(...)``, ``(...)``, ``(..., m)`` x 3 (views)."""
    genes = np.asarray(genes, np.float64)
    m = _oscillators(genes)
    return (genes[..., 0], genes[..., 1], genes[..., 2 : 2 + m], genes[..., 2 + m : 2 + 2 * m], genes[..., 2 + 2 * m :])


def rhythm_bounds(m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)``, each ``(2 + 3 m,)``: the range of every gene of ``m`` oscillators."""
    low = np.concatenate([[F_MIN, 0.0], np.zeros(m), np.full(m, -np.pi), np.full(m, -1.0)])
    high = np.concatenate([[F_MAX, K_MAX], np.ones(m), np.full(m, np.pi), np.ones(m)])
    return low, high


def random_rhythm(m: int, rng: np.random.Generator) -> np.ndarray:
    """Genes of ``m`` oscillators, each uniform in its range (one draw of ``2 + 3 m`` numbers)."""
    low, high = rhythm_bounds(m)
    return rng.uniform(low, high)


def clip_rhythm(genes: np.ndarray) -> np.ndarray:
    """A copy of ``genes`` within their ranges: phases wrapped into [-pi, pi), the rest clipped."""
    genes = np.array(genes, np.float64)
    m = _oscillators(genes)
    low, high = rhythm_bounds(m)
    phase = slice(2 + m, 2 + 2 * m)
    genes[..., phase] = (genes[..., phase] + np.pi) % (2 * np.pi) - np.pi
    return np.clip(genes, low, high)


def check_rhythm(genes, name: str = "rhythm") -> np.ndarray:
    """``genes`` as a fresh 1-D float64 array of ``2 + 3 m`` finite genes within range, or a ValueError."""
    try:
        genes = np.array(genes, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a float array, got {type(genes).__name__}") from exc
    if genes.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of 2 + 3 m genes, got shape {genes.shape}")
    _oscillators(genes)
    if not np.all(np.isfinite(genes)):
        raise ValueError(f"{name}: expected finite genes")
    low, high = rhythm_bounds((genes.size - _GLOBAL) // 3)
    bad = (genes < low - 1e-12) | (genes > high + 1e-12)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}: gene {at} = {genes[at]} outside [{low[at]:g}, {high[at]:g}]")
    return genes


def rhythm_step(theta: np.ndarray, f: np.ndarray, k: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Phases one environment step on (new array): ``theta (B, m)``, ``f, k (B,)``, ``phi (B, m)``."""
    m = theta.shape[-1]
    err = theta - phi  # theta_i - phi_i
    pull = np.sin(err[..., None, :] - err[..., :, None]).sum(axis=-1)  # [b, j] = sum_i sin(err_i - err_j)
    return theta + 2 * np.pi * f[..., None] + (k[..., None] / m) * pull


def rhythm_output(theta: np.ndarray, amplitude: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``c_j + A_j sin(theta_j)``, normalised action units ``(B, m)``."""
    return centre + amplitude * np.sin(theta)
