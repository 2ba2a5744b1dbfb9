"""Running observation statistics: one value for the moments behind normalised bounds.

With ``[encoder] normalise`` generation ``g`` is encoded with the bounds

    mean = sum / count,  std = sqrt(max(sumsq / count - mean^2, 0)),
    low, high = mean -+ width * std

of every observation the population received before ``g`` (running
statistics, as in ARS / OpenAI-ES). :class:`ObsMoments` holds
``(count, sum, sumsq)`` and is the only shape these take: the rollout's
totals (:meth:`~spatial_snn.tasks.evaluation.Evaluation.observation_moments`),
the run's tally, the archive's arrays and a genome file's meta all convert
through it.

On disk
-------
* run archive, per generation (``extra``) and for the moments a run started
  from (``run_data``, suffix ``0``): ``obs_count`` (1,) int64, ``obs_sum``
  and ``obs_sumsq`` (obs_dim,) float64 (:meth:`ObsMoments.to_arrays`);
* genome file meta: ``obs_moments = {"count": int, "sum": [...],
  "sumsq": [...]}`` (:meth:`ObsMoments.to_json`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral

import numpy as np

#: Archive array names, before a suffix (``""`` per generation, ``"0"`` for a run's start).
ARRAY_NAMES = ("obs_count", "obs_sum", "obs_sumsq")


@dataclass(frozen=True, eq=False)
class ObsMoments:
    """Count, sum and sum of squares of observations, per observation dimension.

    Attributes
    ----------
    count : int
        Observations summed (>= 0).
    sum, sumsq : (obs_dim,) float64, read-only
        Their sum and sum of squares.
    """

    count: int
    sum: np.ndarray
    sumsq: np.ndarray

    def __post_init__(self):
        total, total_sq = (_frozen(x) for x in (self.sum, self.sumsq))
        if total.ndim != 1 or total.shape != total_sq.shape:
            raise ValueError(
                f"ObsMoments: expected sum and sumsq of one shape (obs_dim,), got {total.shape} and {total_sq.shape}"
            )
        if isinstance(self.count, bool) or not isinstance(self.count, Integral) or self.count < 0:
            raise ValueError(f"ObsMoments.count: expected an integer >= 0, got {self.count!r}")
        object.__setattr__(self, "count", int(self.count))
        object.__setattr__(self, "sum", total)
        object.__setattr__(self, "sumsq", total_sq)

    @classmethod
    def empty(cls, obs_dim: int) -> ObsMoments:
        """No observations yet: bounds stay the fallback ones."""
        return cls(0, np.zeros(obs_dim), np.zeros(obs_dim))

    def merge(self, other: ObsMoments) -> ObsMoments:
        """These observations and ``other``'s (sums added in this order: ``self + other``)."""
        return ObsMoments(self.count + other.count, self.sum + other.sum, self.sumsq + other.sumsq)

    def bounds(self, width: float, low, high, min_std: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
        """Observation bounds ``mean -+ width * std`` (see the module docstring).

        A dimension that has not varied (``std < min_std``, e.g. a constant
        observation) keeps its fallback bounds ``low, high`` (``(obs_dim,)``);
        with ``count == 0`` all do.
        """
        low = np.array(low, np.float64)
        high = np.array(high, np.float64)
        if self.count <= 0:
            return low, high
        mean = self.sum / self.count
        std = np.sqrt(np.maximum(self.sumsq / self.count - mean * mean, 0.0))
        ok = np.isfinite(mean) & np.isfinite(std) & (std >= min_std)
        low[ok] = mean[ok] - width * std[ok]
        high[ok] = mean[ok] + width * std[ok]
        return low, high

    # ------------------------------------------------------------ archive
    def to_arrays(self, suffix: str = "") -> dict[str, np.ndarray]:
        """``{"obs_count<suffix>": (1,) int64, "obs_sum<suffix>": ..., "obs_sumsq<suffix>": ...}``."""
        count, total, total_sq = (name + suffix for name in ARRAY_NAMES)
        return {count: np.array([self.count], np.int64), total: np.array(self.sum), total_sq: np.array(self.sumsq)}

    @classmethod
    def from_arrays(cls, arrays: Mapping, suffix: str = "") -> ObsMoments | None:
        """The moments :meth:`to_arrays` wrote into ``arrays``; None when it holds none."""
        count, total, total_sq = (name + suffix for name in ARRAY_NAMES)
        if count not in arrays:
            return None
        return cls(
            int(np.asarray(arrays[count]).reshape(-1)[0]),
            np.asarray(arrays[total], np.float64),
            np.asarray(arrays[total_sq], np.float64),
        )

    # ------------------------------------------------------------ genome meta
    def to_json(self) -> dict:
        """``{"count": int, "sum": [float, ...], "sumsq": [float, ...]}``, for a genome file's meta."""
        return {"count": self.count, "sum": [float(x) for x in self.sum], "sumsq": [float(x) for x in self.sumsq]}

    @classmethod
    def from_json(cls, stored, obs_dim: int) -> ObsMoments:
        """What :meth:`to_json` wrote, checked: ``obs_dim`` finite values each.

        Raises
        ------
        ValueError
            ``stored`` is not such a dict (a damaged or hand-edited file).
        """
        expected = f"expected count >= 0 and finite sum and sumsq of {obs_dim} values each"
        try:
            count = stored["count"]
            total, total_sq = (np.asarray(stored[k], np.float64) for k in ("sum", "sumsq"))
            moments = cls(count, total, total_sq)
        except (TypeError, KeyError, ValueError):
            raise ValueError(expected) from None
        if moments.sum.shape != (obs_dim,) or not all(math.isfinite(x) for x in (*moments.sum, *moments.sumsq)):
            raise ValueError(expected)
        return moments

    def __eq__(self, other) -> bool:
        if not isinstance(other, ObsMoments):
            return NotImplemented
        return (
            self.count == other.count
            and np.array_equal(self.sum, other.sum)
            and np.array_equal(self.sumsq, other.sumsq)
        )

    __hash__ = None


def _frozen(values) -> np.ndarray:
    out = np.array(values, np.float64)
    out.flags.writeable = False
    return out
