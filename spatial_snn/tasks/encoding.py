"""Encoders (observation -> input current) and decoders (output units -> action).

Both work on ``B`` networks at once (one row per network / episode) and are
called once per environment step, so they are plain vectorised numpy with
every constant precomputed at construction.

Encoders
--------
``reference`` (the published method): per observation dimension ``d`` with
bounds ``(low_d, high_d)``, min-max scaling to ``[-s, s]`` (``s = scale``):

    u_d = s * (2 (x_d - low_d) / (high_d - low_d) - 1) = a_d x_d + c_d

For the published symmetric bounds ``low_d = -high_d = b_d`` this is
``u_d = s x_d / b_d``. ``u`` is injected by the simulator as a constant current
(times the input weights) at each of the sub-steps of an environment step.
As published, values are **not clipped**: an observation beyond the bounds
gives a current beyond ``[-s, s]``.

``binned`` (as in the Spyx CartPole example): ``K = bins`` channels per
dimension, ``K`` equal bins of ``[low_d, high_d]``; the channel of the bin
holding ``x_d`` carries ``amplitude``, the others 0. Values outside the bounds
go to the edge bins. Channel ``d * K + k`` is bin ``k`` of dimension ``d``.

Decoders
--------
The network's output units are non-spiking; the decoder receives ``y``, their
mean over the sub-steps of the step, shape ``(B, n_units)``.

* ``argmax`` (Discrete(n), one unit per action): ``a = start + argmax_j y_j``,
  ties to the lowest index.
* ``linear`` (published, Box): ``a = clip(y / divisor, low, high)``.
* ``sigmoid`` (what the published code computed and then did not use):
  ``a = low + (high - low) * sigmoid(gain * y / divisor)``, always inside the
  bounds and ``y = 0`` at their middle.
* ``binned`` (Box): ``K = bins`` units per action dimension (unit ``j * K + k``
  is bin ``k`` of dimension ``j``); ``a_j`` is the centre of the winning bin,
  ``low_j + (k* + 1/2) (high_j - low_j) / K``.
* ``auto``: ``argmax`` for Discrete, ``linear`` for Box, as published.

With ``rhythm = true`` (Box actions with finite bounds only) the decoded
action becomes the residual of a rhythm generator whose genes the genome
carries (:mod:`~spatial_snn.tasks.rhythm`): in normalised units ``u`` (-1 the
low bound, +1 the high one), ``u = clip(rhythm + residual_scale * u_net, -1, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from ..space.settings import check, document, setting

ENCODERS = ("reference", "binned")
DECODERS = ("auto", "argmax", "linear", "sigmoid", "binned")


@document
@dataclass(frozen=True)
class EncoderSpec:
    """How observations become input currents: the scenario's ``[encoder]`` table.

    Parameters
    ----------
    kind : {"reference", "binned"}
        Min-max scaling to ``[-scale, scale]`` or one-hot bins.
    scale : float
        Half-width ``s`` of the reference range (published: 2.5).
    bins : int
        Bins per observation dimension (``binned``).
    amplitude : float
        Current of the active bin's channel (``binned``).
    normalise : bool
        Replace the fixed observation bounds, between generations, by
        ``mean +- normalise_width * std`` of every observation the population
        has received so far (running statistics, as in ARS / OpenAI-ES); see
        :mod:`~spatial_snn.tasks.moments`. The bounds used are stored with
        each generation and with the champion, so replays use them.
    normalise_width : float
        Standard deviations mapped to ``+-scale`` (reference) or to the edge
        bins (binned).
    """

    kind: str = setting(
        "reference",
        "Min-max scaling to [-scale, scale] (reference, published) or one-hot bins (binned).",
        choices=ENCODERS,
    )
    scale: float = setting(
        2.5, "Half-width s of the reference range (published: 2.5).", "input current", low=0, low_open=True
    )
    bins: int = setting(
        10, "Bins per observation dimension (binned).", "channels per observation", low=2, integer=True, limit=1_000
    )
    amplitude: float = setting(
        2.5, "Current of the active bin's channel (binned).", "input current", low=0, low_open=True
    )
    normalise: bool = setting(
        False,
        "Replace the fixed observation bounds, between generations, by running "
        "statistics of every observation the population has received.",
    )
    normalise_width: float = setting(
        3.0,
        "Standard deviations mapped to +-scale (reference) or to the edge bins (binned).",
        "standard deviations",
        low=0,
        low_open=True,
    )

    def __post_init__(self):
        check(self, "EncoderSpec")


@document
@dataclass(frozen=True)
class DecoderSpec:
    """How output units become actions: the scenario's ``[decoder]`` table (see the module docstring)."""

    kind: str = setting(
        "auto",
        "auto is the published choice (argmax for discrete actions, y / divisor clipped "
        "for continuous ones); argmax, linear, sigmoid or binned choose one.",
        choices=DECODERS,
    )
    divisor: float = setting(
        32.0, "y / divisor before clipping or the sigmoid (published: 32).", "output units", low=0, low_open=True
    )
    gain: float = setting(1.0, "Slope of the sigmoid in units of y / divisor.", low=0, low_open=True)
    bins: int = setting(5, "Units per action dimension (binned).", "units per action", low=2, integer=True, limit=1_000)
    rhythm: bool = setting(
        False,
        "Add a rhythm generator beneath the network (Box actions): one phase "
        "oscillator per action dimension whose frequency, coupling, amplitudes, phase offsets "
        "and centres are genes evolved with the network; the action is the rhythm plus "
        "residual_scale times the network's decoded action (docs/bodies.md).",
    )
    residual_scale: float = setting(
        1.0,
        "Weight of the network's action (in normalised units, [-1, 1]) added to "
        "the rhythm; 0 is the rhythm alone (its genes still evolve).",
        "normalised action units",
        low=0,
    )

    def __post_init__(self):
        check(self, "DecoderSpec")
        if not isinstance(self.rhythm, bool | np.bool_):
            raise TypeError(f"DecoderSpec.rhythm: expected a bool, got {self.rhythm!r}")


def _as_batch(x, width: int, what: str) -> np.ndarray:
    """``x`` as a 2-D array ``(B, width)``, or a ValueError naming the shapes."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"{what}: expected shape (B, {width}), got {x.shape}")
    return x


# ---------------------------------------------------------------- encoders
class Encoder:
    """Observation batch ``(B, obs_dim)`` -> input currents ``(B, n_channels)`` float32.

    Attributes
    ----------
    low, high : (obs_dim,) float64
        Observation bounds the encoder was made with.
    obs_dim, n_channels : int
    """

    low: np.ndarray
    high: np.ndarray
    obs_dim: int
    n_channels: int

    def __call__(self, obs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Encode ``obs`` (B, obs_dim); write into ``out`` (B, n_channels) if given."""
        obs = _as_batch(obs, self.obs_dim, "observations")
        if out is None:
            out = np.empty((obs.shape[0], self.n_channels), dtype=np.float32)
        elif out.shape != (obs.shape[0], self.n_channels) or out.dtype != np.float32:
            raise ValueError(
                f"out: expected float32 of shape {(obs.shape[0], self.n_channels)}, got {out.dtype} {out.shape}"
            )
        self._encode(obs, out)
        return out

    def _encode(self, obs: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError


class ReferenceEncoder(Encoder):
    """Min-max scaling ``u = a x + c`` to ``[-scale, scale]``, not clipped (published)."""

    def __init__(self, low: np.ndarray, high: np.ndarray, scale: float):
        self.low, self.high = low, high
        self.obs_dim = self.n_channels = low.shape[0]
        self.scale = float(scale)
        self._a = (2.0 * scale / (high - low)).astype(np.float32)
        self._c = (-scale * (high + low) / (high - low)).astype(np.float32)

    def _encode(self, obs, out):
        np.multiply(obs, self._a, out=out, casting="unsafe")
        out += self._c


class BinnedEncoder(Encoder):
    """One-hot over ``bins`` equal bins per dimension; edge bins take out-of-range values."""

    def __init__(self, low: np.ndarray, high: np.ndarray, bins: int, amplitude: float):
        self.low, self.high = low, high
        self.obs_dim = low.shape[0]
        self.bins = int(bins)
        self.n_channels = self.obs_dim * self.bins
        self.amplitude = np.float32(amplitude)
        self._per_unit = self.bins / (high - low)
        self._offset = np.arange(self.obs_dim) * self.bins

    def _encode(self, obs, out):
        k = obs - self.low
        k *= self._per_unit
        np.fmax(k, 0.0, out=k)  # fmax also maps NaN to bin 0 (rows to be dropped anyway)
        np.fmin(k, self.bins - 1, out=k)
        idx = k.astype(np.intp)
        idx += self._offset
        idx += np.arange(0, out.size, self.n_channels)[:, None]
        out.fill(0.0)
        out.reshape(-1)[idx.ravel()] = self.amplitude


def make_encoder(spec: EncoderSpec, low, high) -> Encoder:
    """Build the encoder of ``spec`` for observation bounds ``low < high``.

    Parameters
    ----------
    spec : EncoderSpec
    low, high : (obs_dim,) array_like
        Finite bounds, e.g. from :func:`spatial_snn.tasks.envs.observation_bounds`.
    """
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    if low.ndim != 1 or low.shape != high.shape or low.shape[0] < 1:
        raise ValueError(f"bounds: expected low and high of one shape (obs_dim,), got {low.shape} and {high.shape}")
    bad = ~(np.isfinite(low) & np.isfinite(high) & (high > low))
    if bad.any():
        raise ValueError(
            f"bounds: expected finite low < high, not so in dimensions {np.flatnonzero(bad)}; "
            "use spatial_snn.tasks.envs.observation_bounds to estimate infinite bounds"
        )
    if spec.kind == "reference":
        return ReferenceEncoder(low, high, spec.scale)
    return BinnedEncoder(low, high, spec.bins, spec.amplitude)


# ---------------------------------------------------------------- decoders
class Decoder:
    """Mean outputs ``(B, n_units)`` -> actions: ``(B,)`` int64 or ``(B, act_dim)`` float.

    Attributes
    ----------
    n_units : int
        Output units the network must have.
    """

    n_units: int

    def __call__(self, out: np.ndarray) -> np.ndarray:
        """Decode ``out`` (B, n_units)."""
        return self._decode(_as_batch(out, self.n_units, "outputs"))

    def _decode(self, out: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ArgmaxDecoder(Decoder):
    """``a = start + argmax_j y_j`` over one unit per discrete action."""

    def __init__(self, n: int, start: int = 0):
        self.n_units, self.start = int(n), int(start)

    def _decode(self, out):
        action = np.argmax(out, axis=1)
        if self.start:
            action += self.start
        return action.astype(np.int64, copy=False)


class _BoxDecoder(Decoder):
    def __init__(self, space: spaces.Box, divisor: float, gain: float = 1.0):
        self.low = np.asarray(space.low, dtype=np.float64)
        self.high = np.asarray(space.high, dtype=np.float64)
        self.dtype = space.dtype
        self.act_dim = self.n_units = space.shape[0]
        self.inv_divisor = 1.0 / float(divisor)
        self.gain = float(gain)


class LinearDecoder(_BoxDecoder):
    """``a = clip(y / divisor, low, high)`` (published)."""

    def _decode(self, out):
        a = out * self.inv_divisor
        np.clip(a, self.low, self.high, out=a)
        return a.astype(self.dtype, copy=False)


class SigmoidDecoder(_BoxDecoder):
    """``a = low + (high - low) * sigmoid(gain * y / divisor)``."""

    def _decode(self, out):
        z = out * (0.5 * self.gain * self.inv_divisor)
        # sigmoid(2z) = (1 + tanh z) / 2, overflow-free
        a = self.low + (self.high - self.low) * (0.5 * (1.0 + np.tanh(z)))
        return a.astype(self.dtype, copy=False)


class BinnedDecoder(_BoxDecoder):
    """``K`` units per dimension; the winning unit's bin centre in ``[low, high]``."""

    def __init__(self, space: spaces.Box, bins: int):
        super().__init__(space, divisor=1.0)
        self.bins = int(bins)
        self.n_units = self.act_dim * self.bins
        self._width = (self.high - self.low) / self.bins

    def _decode(self, out):
        k = np.argmax(out.reshape(out.shape[0], self.act_dim, self.bins), axis=2)
        a = self.low + (k + 0.5) * self._width
        return a.astype(self.dtype, copy=False)


def make_decoder(spec: DecoderSpec, action_space: spaces.Space) -> Decoder:
    """Build the decoder of ``spec`` for ``action_space`` (Discrete or 1-D Box).

    Raises
    ------
    ValueError
        A kind that does not fit the space (e.g. ``binned`` for Discrete), or
        ``sigmoid`` / ``binned`` with infinite Box bounds.
    """
    if isinstance(action_space, spaces.Discrete):
        if spec.kind not in ("auto", "argmax"):
            raise ValueError(
                f"decoder {spec.kind!r} needs a Box action space, got {action_space}; a "
                "Discrete space uses 'argmax' (one unit per action, which is already a "
                "binned readout), set DecoderSpec(kind='argmax') or 'auto'"
            )
        return ArgmaxDecoder(action_space.n, action_space.start)
    if not (isinstance(action_space, spaces.Box) and len(action_space.shape) == 1):
        raise ValueError(f"unsupported action space {action_space}; expected Discrete(n) or a Box of shape (act_dim,)")
    kind = "linear" if spec.kind == "auto" else spec.kind
    if kind == "argmax":
        raise ValueError(
            f"decoder 'argmax' needs a Discrete action space, got {action_space}; for a Box "
            "use 'binned' (argmax over K units per dimension), 'linear' or 'sigmoid'"
        )
    if kind in ("sigmoid", "binned"):
        finite = np.isfinite(action_space.low) & np.isfinite(action_space.high)
        if not finite.all():
            raise ValueError(
                f"decoder {kind!r} maps into the action bounds, but {action_space} has "
                f"infinite bounds in dimensions {np.flatnonzero(~finite)}; use 'linear'"
            )
    if kind == "linear":
        return LinearDecoder(action_space, spec.divisor)
    if kind == "sigmoid":
        return SigmoidDecoder(action_space, spec.divisor, spec.gain)
    return BinnedDecoder(action_space, spec.bins)


def invalid_rows(obs: np.ndarray) -> np.ndarray:
    """(B,) bool: True where a row of ``obs`` (B, obs_dim) holds NaN or +-inf."""
    obs = np.asarray(obs)
    if obs.ndim != 2:
        raise ValueError(f"observations: expected shape (B, obs_dim), got {obs.shape}")
    if not np.issubdtype(obs.dtype, np.inexact):
        return np.zeros(obs.shape[0], dtype=bool)
    return ~np.isfinite(obs).all(axis=1)
