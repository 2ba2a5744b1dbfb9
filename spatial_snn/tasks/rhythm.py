"""The rhythm prior: a genome's rhythm genes turned into actions beneath the network's.

With ``[decoder] rhythm = true`` every genome carries the genes of one phase
oscillator per action dimension (:mod:`spatial_snn.space.rhythm`: the
equations, ranges and gene layout). For ``B`` rows (networks / episodes) a
:class:`RhythmPrior` keeps the phases ``theta (B, m)``, zero at the start of
an episode, and per environment step maps the decoder's action ``a_net`` to::

    u_net = 2 (a_net - low) / (high - low) - 1                  (in [-1, 1]: bounded)
    u     = clip(c + A sin(theta) + residual_scale * u_net, -1, 1)
    a     = low + (u + 1) (high - low) / 2

then advances ``theta`` one step. The rhythm is open-loop: it depends on the
step count and the genes only. ``residual_scale = 0`` is the rhythm alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium import spaces

from ..space.genome import Genome
from ..space.rhythm import rhythm_output, rhythm_parts, rhythm_size, rhythm_step
from .encoding import DecoderSpec


class RhythmPrior:
    """Rhythm plus bounded residual for ``B`` rows (see the module docstring).

    Parameters
    ----------
    genes : (B, 2 + 3 m) float64
        Row ``b``'s rhythm genes.
    action_space : gymnasium.spaces.Box
        ``(m,)`` with finite bounds.
    residual_scale : float
    """

    def __init__(self, genes: np.ndarray, action_space: spaces.Box, residual_scale: float):
        self.f, self.k, self.amplitude, self.phi, self.centre = (np.array(p) for p in rhythm_parts(genes))
        self.low = np.asarray(action_space.low, np.float64)
        self.high = np.asarray(action_space.high, np.float64)
        self.dtype = action_space.dtype
        self.scale = float(residual_scale)
        self.theta = np.zeros(self.amplitude.shape)

    def __call__(self, actions: np.ndarray) -> np.ndarray:
        """Actions ``(B, m)`` of this step from the decoder's ``actions`` ``(B, m)``; advances the phases."""
        span = self.high - self.low
        u_net = 2.0 * (np.asarray(actions, np.float64) - self.low) / span - 1.0
        u = np.clip(rhythm_output(self.theta, self.amplitude, self.centre) + self.scale * u_net, -1.0, 1.0)
        self.theta = rhythm_step(self.theta, self.f, self.k, self.phi)
        return (self.low + (u + 1.0) * span / 2.0).astype(self.dtype)


def check_rhythm_space(spec: DecoderSpec, action_space: spaces.Space) -> None:
    """One ValueError unless a rhythm can drive ``action_space`` (a 1-D Box with finite bounds)."""
    if not spec.rhythm:
        return
    ok = isinstance(action_space, spaces.Box) and len(action_space.shape) == 1
    if not ok or not np.all(np.isfinite(action_space.low) & np.isfinite(action_space.high)):
        raise ValueError(
            f"decoder.rhythm: needs a Box action space with finite bounds, got {action_space}; "
            "set decoder.rhythm = false for this task"
        )


def make_rhythm(
    spec: DecoderSpec, genomes: Sequence[Genome], episodes: int, action_space: spaces.Space
) -> RhythmPrior | None:
    """The prior of ``genomes`` x ``episodes`` rows (row ``g * episodes + e``); None when ``spec.rhythm`` is off.

    Raises
    ------
    ValueError
        A genome without rhythm genes, or with genes for another action size.
    """
    if not spec.rhythm:
        return None
    check_rhythm_space(spec, action_space)
    want = rhythm_size(action_space.shape[0])
    for k, g in enumerate(genomes):
        if g.rhythm is None or len(g.rhythm) != want:
            got = "none" if g.rhythm is None else len(g.rhythm)
            raise ValueError(
                f"genome {k}: decoder.rhythm needs {want} rhythm genes (one oscillator per action "
                f"dimension), got {got}; evolve it with decoder.rhythm = true"
            )
    genes = np.repeat(np.stack([g.rhythm for g in genomes]), int(episodes), axis=0)
    return RhythmPrior(genes, action_space, spec.residual_scale)
