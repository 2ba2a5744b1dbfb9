"""The runner's side of a ``[search]`` strategy: ask, tell and the archive record, in the parent only.

With ``search.strategy = "ga"`` and no ``then`` there is no :class:`SearchDriver`
and the loop is the GA's, draw for draw. Otherwise the driver turns a
:class:`~spatial_snn.evo.search.Search` into the loop's generations:

* :meth:`SearchDriver.ask` gives generation ``g``'s population (the
  strategy's candidates decoded to genomes, lineage ``-1``, origin
  ``strategy``) or None while a GA-then-ES run is still in its GA phase (the
  GA asks then). A GA-then-ES run switches at the first generation after
  :func:`~spatial_snn.evo.search.plateaued` holds on the running best training
  return; the template is the champion at that moment.
* :meth:`SearchDriver.tell` updates the state with the generation's mean
  training returns (the first fitness column, what the GA selects on).
* :meth:`SearchDriver.extra` is what the generation's archive record adds:
  the state after the update, the candidates, the switch generation and where
  the template is (names in :mod:`spatial_snn.store.schema`). A resumed run
  reads them from its last complete generation (:meth:`SearchDriver.begin`),
  so it continues to the history of an uninterrupted run, on the same branch.

``ask`` draws only from the strategy's stream ``(6, g)`` of the run seed and
``tell`` draws nothing, so the number of workers (or Dask) does not matter.
"""

from __future__ import annotations

import numpy as np

from ..evo.evolution import GeneticAlgorithm, Offspring
from ..evo.search import STRATEGY_ORIGIN, Search, make_search, plateaued
from ..space.genome import Genome
from ..store import schema
from ..store.run_reader import open_run
from .scenarios import stored_scenario
from .setup import RunSetup, resolve
from .start import load_start

#: ``search_template`` of a template that is not in the archive (the start genome, or the GA's first random one).
_NOT_STORED = (-1, -1)


class SearchDriver:
    """A run's strategy between generations (see the module docstring); built by :meth:`begin`."""

    def __init__(self, setup: RunSetup, ga: GeneticAlgorithm, start_genome: Genome | None):
        self.setup, self.ga, self.config = setup, ga, setup.scenario.search
        self.start_genome = start_genome
        self.search: Search | None = None
        self.state = None
        self.switch: int | None = None  # first generation the strategy made
        self.template_ref = _NOT_STORED
        self.champion_ref = _NOT_STORED  # (generation, index) of the champion (a GA-then-ES template)
        self.candidates: np.ndarray | None = None

    @classmethod
    def begin(
        cls, setup: RunSetup, ga: GeneticAlgorithm, resumed_from: int, archive, start_genome: Genome | None
    ) -> SearchDriver | None:
        """The driver of a run (None for the GA alone); ``resumed_from`` > 0 reads the state of generation
        ``resumed_from - 1`` from ``archive``."""
        config = setup.scenario.search
        if config.strategy == "ga" and config.then is None:
            return None
        driver = cls(setup, ga, start_genome)
        if resumed_from == 0:
            if config.strategy != "ga":
                driver._start(0, driver._first_template(), _NOT_STORED, config.strategy)
            return driver
        with open_run(archive) as run:
            extra = run.generation(resumed_from - 1)["extra"]
            champion = run.champion()
            if champion is not None:
                driver.champion_ref = (int(champion[1]["generation"]), int(champion[1]["index"]))
            if schema.SEARCH_SWITCH not in extra:
                if config.strategy != "ga":
                    raise ValueError(
                        f"{archive}: generation {resumed_from - 1} holds no {config.strategy} state; "
                        "it was not written by this scenario's search: resume it with the version "
                        "that wrote it"
                    )
                return driver  # a GA-then-ES run still in its GA phase
            ref = tuple(int(x) for x in np.asarray(extra[schema.SEARCH_TEMPLATE]).ravel())
            template = driver._first_template() if ref == _NOT_STORED else run.population(ref[0])[ref[1]]
        switch = int(np.asarray(extra[schema.SEARCH_SWITCH]).ravel()[0])
        driver._start(switch, template, ref, config.strategy if config.strategy != "ga" else config.then)
        fields = {
            name.removeprefix(schema.SEARCH_STATE_PREFIX): np.asarray(value)
            for name, value in extra.items()
            if name.startswith(schema.SEARCH_STATE_PREFIX)
        }
        scalars = [k for k, v in driver.search.state_arrays(driver.state).items() if v.ndim == 0]
        fields |= {k: fields[k].reshape(()) for k in scalars if k in fields and fields[k].size == 1}  # stored (1,)
        driver.state = driver.search.state_from_arrays(fields)
        return driver

    @property
    def name(self) -> str | None:
        """The strategy making the generations now (None in a GA phase)."""
        return None if self.search is None else self.search.name

    def _first_template(self) -> Genome:
        """The ``[start] genome``, else the first random genome of the GA's generation 0."""
        if self.start_genome is None and self.setup.scenario.start.genome is not None:  # a resumed run
            self.start_genome = load_start(self.setup.scenario).genome
        return self.start_genome if self.start_genome is not None else self.ga.initial().genomes[0]

    def _start(self, switch: int, template: Genome, ref: tuple, name: str) -> None:
        sc = self.setup.scenario
        self.search = make_search(
            self.config, template, sc.evolution.population, self.setup.spec.ranges, self.setup.seed, name=name
        )
        self.state = self.search.initial_state()
        self.switch, self.template_ref = switch, ref

    def ask(self, g: int, best_history, champion: Genome | None) -> Offspring | None:
        """Generation ``g``'s population, or None when the GA makes it (GA-then-ES before the switch).

        ``best_history``: the best training return of every generation before ``g``; ``champion``: the
        run's champion (the template if the run switches now).
        """
        if self.search is None:
            running = np.maximum.accumulate(np.asarray(best_history, np.float64)) if len(best_history) else []
            if champion is None or not plateaued(running, self.config.plateau_window, self.config.plateau_gain):
                return None
            self._start(g, champion, self.champion_ref, self.config.then)
        self.candidates, genomes = self.search.ask(self.state, g)
        n = len(genomes)
        return Offspring(genomes, np.full((n, 2), -1, np.int64), np.full(n, STRATEGY_ORIGIN, np.int8), np.ones(n))

    def record_champion(self, g: int, improved: bool, index: int) -> None:
        """Note where the champion is (a GA-then-ES run's template when it switches)."""
        if improved:
            self.champion_ref = (int(g), int(index))

    def tell(self, fitness: np.ndarray) -> None:
        """Update the strategy with the generation's mean training returns (no-op in a GA phase)."""
        if self.search is not None:
            self.state = self.search.tell(self.state, self.candidates, np.asarray(fitness)[:, 0])

    def extra(self) -> dict | None:
        """The generation's archive record of the strategy (None in a GA phase)."""
        if self.search is None:
            return None
        out = {schema.search_state_name(k): v for k, v in self.search.state_arrays(self.state).items()}
        candidates = np.asarray(self.candidates)
        return out | {
            schema.SEARCH_CANDIDATES: candidates if candidates.dtype == bool else candidates.astype(np.float64),
            schema.SEARCH_SWITCH: np.array([self.switch], np.int64),
            schema.SEARCH_TEMPLATE: np.array(self.template_ref, np.int64),
        }


def stored_centre(path, generation: int | None = None) -> Genome:
    """The search distribution's centre after ``generation`` (default: the last) of an archived run, as a genome.

    The ES mean decoded over the template, or EC's most probable network
    (every edge with ``p > 0.5``); the run does not score it (docs/search.md).
    Raises ValueError when that generation was not made by a strategy.
    """
    with open_run(path) as run:
        config, n = run.config, run.n_generations
        bounds = (run.run_data(schema.OBS_LOW), run.run_data(schema.OBS_HIGH))
    generation = n - 1 if generation is None else int(generation)
    if not 0 <= generation < n:
        raise ValueError(f"generation: expected 0..{n - 1} (the complete generations of {path}), got {generation}")
    sc = stored_scenario(config["scenario"])
    setup = resolve(sc, int(config["dim"]), int(config["seed"]), bounds=bounds, check=False)
    ga = GeneticAlgorithm(sc.evolution, setup.spec, sc.mutation, setup.n_inputs, setup.n_outputs, setup.seed)
    driver = SearchDriver.begin(setup, ga, generation + 1, path, None)
    if driver is None or driver.search is None:
        raise ValueError(f"{path}: generation {generation} was made by the GA; it has no search distribution")
    return driver.search.centre_genome(driver.state)
