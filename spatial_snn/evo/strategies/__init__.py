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

The registry of names is :data:`~spatial_snn.evo.strategies.registry.STRATEGIES`;
shared pieces (centred ranks, state <-> arrays) are in :mod:`.common`, the
mean's update rules in :mod:`.optimizers`.

All randomness comes from the ``np.random.Generator`` given to ``ask``.
"""
