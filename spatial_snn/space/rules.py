"""Connectivity rules: how distance sets connection probability, strength and delay.

For a pair of neurons at Euclidean distance ``d`` (position units):

* connection probability      ``p(d) = p0 * exp(-(d / length) ** shape)``
  (the reference method: ``p0 = 1, length = 0.5, shape = 1``, i.e. ``exp(-2 d)``);
* strength                    ``strength(d) = exp(-strength_decay * (d - strength_offset))``
  (reference: ``exp(-2 (d - 1))``);
* delay (sub-steps)           ``clip(ceil(d / conduction_speed), 1, max_delay)``; without a
  conduction speed every delay is one sub-step, the reference semantics.

:class:`ConnectivityRule` holds the parameters of these laws and nothing else,
so the genome (which carries its rule), the samplers and the builder of
sparse matrices (:mod:`~spatial_snn.space.connectivity`) all import it from
here, and none of them imports another to reach it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
        Distance per sub-step; None means every recurrent delay is 1 sub-step.
    max_delay : int
        Cap on delays, in sub-steps.
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

    def __post_init__(self):
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
            raise ValueError(
                f"ConnectivityRule.conduction_speed: expected > 0 or None, got {self.conduction_speed}"
            )
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

    def radius(self, io: bool = False) -> float:
        """Distance beyond which ``p(d) < cutoff``; pairs beyond it never connect."""
        p0, length = (self.io_p0, self.io_length) if io else (self.p0, self.length)
        if p0 <= self.cutoff:
            return 0.0
        return length * math.log(p0 / self.cutoff) ** (1.0 / self.shape)

    def strength(self, d) -> np.ndarray:
        """``exp(-strength_decay * (d - strength_offset))`` (float32 in, float32 out)."""
        d = np.asarray(d)
        if d.dtype != np.float32:
            d = d.astype(np.float64)
        return np.exp(-self.strength_decay * (d - self.strength_offset))

    def delay(self, d) -> np.ndarray:
        """Delay in sub-steps: ``clip(ceil(d / conduction_speed), 1, max_delay)`` (uint8)."""
        d = np.asarray(d, np.float64)
        if self.conduction_speed is None:
            return np.ones(d.shape, np.uint8)
        return np.clip(np.ceil(d / self.conduction_speed), 1, self.max_delay).astype(np.uint8)

    @property
    def delay_slots(self) -> int:
        """Ring-buffer depth the kernels need for this rule (max delay + 1)."""
        return (1 if self.conduction_speed is None else int(self.max_delay)) + 1
