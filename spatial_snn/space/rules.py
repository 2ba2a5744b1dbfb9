"""Connectivity rules: how distance sets connection probability, strength and delay.

For a pair of neurons at Euclidean distance ``d`` (position units):

* connection probability      ``p(d) = p0 * exp(-(d / length) ** shape)``
  (the reference method: ``p0 = 1, length = 0.5, shape = 1``, i.e. ``exp(-2 d)``);
* strength                    ``strength(d) = exp(-strength_decay * (d - strength_offset))``
  (reference: ``exp(-2 (d - 1))``);
* delay (sub-steps)           ``clip(ceil(d / conduction_speed), 1, max_delay)``; without a
  conduction speed every delay is one sub-step, the reference semantics.

With ``scaled = True`` (the ``spatial`` preset) strength and delay take the
reach ``(d / length) ** shape`` in place of ``d``, and ``period`` makes
distances minimum-image in a periodic box; see
:mod:`~spatial_snn.space.connectivity` for why (equal footing in every
dimension) and for what the cutoff radius truncates.

:class:`ConnectivityRule` holds the parameters of these laws and nothing else,
so the genome (which carries its rule), the samplers and the builder of
sparse matrices (:mod:`~spatial_snn.space.connectivity`) all import it from
here, and none of them imports another to reach it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincc, gammainccinv

__all__ = ["DEFAULT_CUTOFF", "ConnectivityRule"]

#: Default probability under which candidate pairs are ignored.
DEFAULT_CUTOFF = 1e-3


@dataclass(frozen=True)
class ConnectivityRule:
    """How distance sets connection probability, strength and delay.

    Parameters
    ----------
    p0, length, shape : float
        Recurrent probability ``p0 * exp(-(d / length) ** shape)``; ``length``
        in position units.
    io_p0, io_length : float
        The same law for input -> hidden and hidden -> output pairs.
    io_distance : float or None
        If set, every input/output pair is taken to lie at this distance (the
        reference layout: 1.0); if None, real Euclidean distances are used.
    self_distance : float or None
        Distance used for a neuron's connection to itself (reference: 1.0, as
        the published code overwrote the diagonal); None forbids self-loops.
    strength_decay, strength_offset : float
        ``strength(d) = exp(-strength_decay * (d - strength_offset))``.
    cutoff : float
        Probability below which pairs are not considered (sets ``radius``).
    conduction_speed : float or None
        Distance per sub-step (reach per sub-step if ``scaled``); None means
        every recurrent delay is 1 sub-step.
    max_delay : int
        Cap on delays, in sub-steps.
    scaled : bool
        Strength and delay take the reach ``(d / length) ** shape`` instead of
        ``d`` (see the module docstring); False is the published semantics.
    period : tuple of float or None
        Sides of a periodic box, one per axis of the positions; distances are
        minimum-image. None: unbounded space (published).
    """

    p0: float = 1.0
    length: float = 0.5
    shape: float = 1.0
    io_p0: float = 1.0
    io_length: float = 0.5
    io_distance: float | None = 1.0
    self_distance: float | None = 1.0
    strength_decay: float = 2.0
    strength_offset: float = 1.0
    cutoff: float = DEFAULT_CUTOFF
    conduction_speed: float | None = None
    max_delay: int = 8
    scaled: bool = False
    period: tuple[float, ...] | None = None

    def __post_init__(self):
        if self.period is not None:
            try:
                period = tuple(float(x) for x in self.period)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"ConnectivityRule.period: expected None or a tuple of 1-3 box sides, got {self.period!r}"
                ) from exc
            if not 1 <= len(period) <= 3 or not all(math.isfinite(x) and x > 0 for x in period):
                raise ValueError(
                    f"ConnectivityRule.period: expected 1-3 finite box sides > 0 (one per axis), got {period}"
                )
            object.__setattr__(self, "period", period)
        if not isinstance(self.scaled, bool):
            raise TypeError(f"ConnectivityRule.scaled: expected a bool, got {self.scaled!r}")
        for name in ("p0", "io_p0"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ValueError(f"ConnectivityRule.{name}: expected a probability in (0, 1], got {v}")
        for name in ("length", "io_length", "shape"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"ConnectivityRule.{name}: expected a finite value > 0, got {v}")
        if not 0.0 < self.cutoff < 1.0:
            raise ValueError(f"ConnectivityRule.cutoff: expected a value in (0, 1), got {self.cutoff}")
        for name in ("io_distance", "self_distance", "conduction_speed"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v >= 0):
                raise ValueError(f"ConnectivityRule.{name}: expected None or a value >= 0, got {v}")
        if self.conduction_speed is not None and self.conduction_speed <= 0:
            raise ValueError(f"ConnectivityRule.conduction_speed: expected > 0 or None, got {self.conduction_speed}")
        if not 1 <= int(self.max_delay) <= 255 or int(self.max_delay) != self.max_delay:
            raise ValueError(f"ConnectivityRule.max_delay: expected an integer in 1..255, got {self.max_delay}")
        if not math.isfinite(self.strength_decay) or not math.isfinite(self.strength_offset):
            raise ValueError("ConnectivityRule.strength_decay/strength_offset: expected finite values")

    # ----------------------------------------------------------------- laws
    def probability(self, d, io: bool = False) -> np.ndarray:
        """``p(d) = p0 * exp(-(d / length) ** shape)`` (io law if ``io``).

        ``d`` in position units; float32 input stays float32 (the samplers'
        fast path), anything else is computed in float64.
        """
        p0, length = (self.io_p0, self.io_length) if io else (self.p0, self.length)
        d = np.asarray(d)
        if d.dtype != np.float32:
            d = d.astype(np.float64)
        x = d / length
        if self.shape != 1.0:
            x = x**self.shape
        return p0 * np.exp(-x)

    def radius(self, io: bool = False, dim: int = 3) -> float:
        """Distance beyond which pairs never connect, position units.

        The larger of ``p(r) = cutoff`` and ``Q(dim / shape, (r / length) **
        shape) = cutoff``: beyond it ``p < cutoff`` and, in unbounded space
        of density 1, at most a fraction ``cutoff`` of a neuron's expected
        degree lies (the truncated mass). ``dim`` defaults to 3, the largest
        radius for ``shape <= 3``.
        """
        p0, length = (self.io_p0, self.io_length) if io else (self.p0, self.length)
        if p0 <= self.cutoff:
            return 0.0
        y = max(math.log(p0 / self.cutoff), _tail_reach(dim / self.shape, self.cutoff))
        return length * y ** (1.0 / self.shape)

    def truncated_fraction(self, io: bool = False, dim: int = 3) -> float:
        """Fraction of the expected degree beyond ``radius(io, dim)`` in unbounded ``dim``-D space."""
        p0, length = (self.io_p0, self.io_length) if io else (self.p0, self.length)
        if p0 <= self.cutoff:
            return 1.0
        return float(gammaincc(dim / self.shape, (self.radius(io, dim) / length) ** self.shape))

    def reach(self, d, io: bool = False) -> np.ndarray:
        """``(d / length) ** shape`` (``io_length`` if ``io``): distance in units of the law's length."""
        length = self.io_length if io else self.length
        d = np.asarray(d)
        if d.dtype != np.float32:
            d = d.astype(np.float64)
        x = d / length
        return x**self.shape if self.shape != 1.0 else x

    def strength(self, d, io: bool = False) -> np.ndarray:
        """``exp(-strength_decay * (z - strength_offset))``, ``z = reach(d, io)`` if ``scaled`` else ``d``.

        Float32 in, float32 out.
        """
        d = np.asarray(d)
        if d.dtype != np.float32:
            d = d.astype(np.float64)
        z = self.reach(d, io) if self.scaled else d
        return np.exp(-self.strength_decay * (z - self.strength_offset))

    def delay(self, d) -> np.ndarray:
        """Delay in sub-steps: ``clip(ceil(z / conduction_speed), 1, max_delay)`` (uint8).

        ``z = reach(d)`` if ``scaled``, else ``d``.
        """
        d = np.asarray(d, np.float64)
        if self.conduction_speed is None:
            return np.ones(d.shape, np.uint8)
        z = self.reach(d) if self.scaled else d
        return np.clip(np.ceil(z / self.conduction_speed), 1, self.max_delay).astype(np.uint8)

    @property
    def delay_slots(self) -> int:
        """Ring-buffer depth the kernels need for this rule (max delay + 1)."""
        return (1 if self.conduction_speed is None else int(self.max_delay)) + 1


def _tail_reach(a: float, fraction: float) -> float:
    """``y`` with ``Q(a, y) = fraction``: the reach beyond which that fraction of the degree lies."""
    return float(gammainccinv(a, fraction))
