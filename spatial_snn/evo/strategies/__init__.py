"""Search strategies with one interface: ``init / ask / tell`` on explicit state.

One algorithm per module (evosax's layout), pure numpy; evaluation lives
outside. Each module ``s`` in :data:`STRATEGIES` has

* ``s.Params``: a frozen dataclass, validated when built;
* ``s.State``: a ``NamedTuple`` of numpy arrays (store it with
  :func:`state_arrays`, read it back with :func:`state_from_arrays`);
* ``s.init(params, x0, rng) -> state``;
* ``s.ask(state, params, rng) -> (candidates, state)``: ``(population, n)``;
* ``s.tell(state, params, candidates, fitness) -> state``: ``fitness`` the
  ``(population,)`` returns of ``candidates``, **maximised**;
* ``s.centre(state)``: the distribution's mean.

All randomness comes from the ``np.random.Generator`` given to ``ask``.
"""

from __future__ import annotations

from . import ars, ec, open_es, pgpe, sep_cma_es
from ._common import centred_ranks, state_arrays, state_from_arrays
from .optimizers import Optimizer

#: Strategy name -> module.
STRATEGIES = {m.NAME: m for m in (open_es, pgpe, sep_cma_es, ars, ec)}

__all__ = ["STRATEGIES", "Optimizer", "centred_ranks", "state_arrays", "state_from_arrays"]
