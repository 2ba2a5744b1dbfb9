"""The runner's side of MAP-Elites (``search.strategy = "map_elites"``), in the parent process only.

:class:`QualityDriver` keeps the archive (:mod:`spatial_snn.evo.qd_archive`)
between generations:

* generation 0 is the GA's first generation (``ask`` returns None, the GA
  makes it: the same random genomes as a GA run);
* every later generation (:meth:`QualityDriver.ask`) is
  ``evolution.population`` candidates: parent cells drawn uniformly from the
  occupied cells and crossover choices from the stream ``(7, g)`` of the run
  seed, then candidate ``i`` made by
  :meth:`~spatial_snn.evo.evolution.GeneticAlgorithm.vary` (the GA's
  crossover and mutation) from the variation stream ``(0, g, i)``;
* :meth:`QualityDriver.add` places the evaluated candidates by their
  descriptors (layout from the genome, ``events_per_step``,
  ``spikes_per_step``, ``gait`` and ``final_xy`` from the training evaluation) with their mean training return;
* :meth:`QualityDriver.extra` is the archive's record for the generation
  (names in :mod:`spatial_snn.store.schema`); a resumed run reads it from the
  last complete generation, with the elites' genomes from the stored
  populations, so it continues as the uninterrupted run;
* :meth:`QualityDriver.reevaluate` (the last generation, with
  ``reevaluate_episodes > 0``) runs every elite on fresh held-out episodes
  and rebuilds the archive from those returns and descriptors: the corrected
  archive of the QD literature.

Nothing here depends on the worker count: the draws come from the seed tree
and the evaluations are the worker pool's (the same for any split, Dask too).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..evo import qd_archive as qa
from ..evo import seeding
from ..evo.evolution import GeneticAlgorithm, Offspring
from ..evo.map_elites import GRID_DIMS, LAYOUT, MAP_ELITES_ORIGIN, MapElitesConfig, layout_descriptor
from ..space.genome import Genome
from ..store import schema
from ..store.run_reader import open_run
from ..tasks.evaluation import Evaluation, WorkerPool
from .bookkeeping import Generation
from .setup import RunSetup


def dimensions(params: MapElitesConfig, feet: tuple) -> list[str]:
    """The descriptor name of each archive dimension (``gait`` once per foot, ``final_xy`` twice)."""
    out = []
    for name in params.descriptors:
        out += [name] * (len(feet) if name == "gait" else 2 if name == "final_xy" else 1)
    return out


def labels(params: MapElitesConfig, feet: tuple) -> list[str]:
    """A readable label per archive dimension, e.g. ``gait foot_left``, ``final x``."""
    out = []
    for name in params.descriptors:
        if name == "gait":
            out += [f"gait {f}" for f in feet]
        elif name == "final_xy":
            out += ["final x", "final y"]
        else:
            out.append(name)
    return out


class QualityDriver:
    """A MAP-Elites run between generations (see the module docstring); built by :meth:`begin`."""

    def __init__(self, setup: RunSetup, ga: GeneticAlgorithm):
        self.setup, self.ga = setup, ga
        self.params: MapElitesConfig = setup.scenario.search.map_elites
        self.feet = tuple(setup.task.feet)
        self.names = dimensions(self.params, self.feet)
        try:
            self.low, self.high = self.params.ranges(self.names)
        except ValueError as exc:
            raise ValueError(f"search.{exc}") from None
        d = len(self.names)
        self.grid = d <= GRID_DIMS
        if self.grid:
            self.bins = (self.params.bins,) * d
            self.centroids = None
            n_cells = self.params.bins**d
        else:
            self.bins = ()
            try:
                self.centroids = qa.cvt_centroids(
                    self.low,
                    self.high,
                    self.params.cells,
                    self.params.cvt_samples,
                    self.params.cvt_iterations,
                    seeding.cvt_rng(setup.seed),
                )
            except ValueError as exc:
                raise ValueError(f"search.map_elites.{exc}") from None
            n_cells = self.params.cells
        self.cells = qa.empty(n_cells, d)
        self.genomes: dict[int, Genome] = {}
        n = setup.scenario.evolution.population
        self.parents = np.full((n, 2), -1, np.int64)
        self.descriptors = np.zeros((n, d))
        self.status = np.zeros(n, np.int8)
        self.corrected: dict | None = None

    @classmethod
    def begin(cls, setup: RunSetup, ga: GeneticAlgorithm, resumed_from: int, archive) -> QualityDriver:
        """The driver of a run; ``resumed_from`` > 0 reads the archive of generation ``resumed_from - 1``."""
        driver = cls(setup, ga)
        if resumed_from == 0:
            return driver
        with open_run(archive) as run:
            extra = run.generation(resumed_from - 1)["extra"]
            if schema.QD_OCCUPIED not in extra:
                raise ValueError(
                    f"{archive}: generation {resumed_from - 1} holds no MAP-Elites archive; it was not written "
                    "by this scenario's search: resume it with the scenario it stored"
                )
            stored = qa.Cells(*(np.asarray(extra[name]) for name in schema.QD_CELLS))
            if stored.measures.shape != driver.cells.measures.shape:
                raise ValueError(
                    f"{archive}: the stored archive has {stored.measures.shape} cells x dimensions, this "
                    f"scenario makes {driver.cells.measures.shape}; resume with the scenario it stored"
                )
            driver.cells = qa.Cells(
                stored.occupied.astype(bool), stored.objective.astype(np.float64), stored.measures, stored.elite
            )
            if driver.centroids is not None:
                driver.centroids = np.asarray(extra[schema.QD_CENTROIDS], np.float64)
            populations: dict[int, list[Genome]] = {}
            for c in np.flatnonzero(driver.cells.occupied):
                gen, index = (int(x) for x in driver.cells.elite[c])
                if gen not in populations:
                    populations[gen] = run.population(gen)
                driver.genomes[int(c)] = populations[gen][index]
        return driver

    @property
    def name(self) -> str:
        return "map_elites"

    def index(self, measures: np.ndarray) -> np.ndarray:
        """The cell of each descriptor row."""
        if self.grid:
            return qa.grid_index(measures, self.low, self.high, self.bins)
        return qa.nearest_centroid(measures, self.centroids)

    def describe(self, genomes: list[Genome], ev: Evaluation) -> np.ndarray:
        """(N, d) descriptors of evaluated genomes."""
        cols = []
        for name in self.params.descriptors:
            if name in LAYOUT:
                grid = self.params.modularity_grid
                cols.append(np.array([[layout_descriptor(g, name, grid)] for g in genomes], np.float64).reshape(-1, 1))
            elif name == "events_per_step":
                cols.append(np.asarray(ev.events_per_step(), np.float64)[:, None])
            elif name == "spikes_per_step":
                cols.append(np.asarray(ev.spikes_per_step(), np.float64)[:, None])
            elif name == "final_xy":
                cols.append(np.asarray(ev.final_positions(), np.float64))
            else:  # gait
                cols.append(np.asarray(ev.contact_fractions(), np.float64))
        return np.hstack(cols)

    def ask(self, g: int, best_history=None, champion=None) -> Offspring | None:
        """Generation ``g``'s candidates (None at generation 0: the GA's first generation)."""
        n = self.setup.scenario.evolution.population
        if g == 0:
            self.parents = np.full((n, 2), -1, np.int64)
            return None
        rng = seeding.qd_rng(self.setup.seed, g)
        first = qa.choose_parents(self.cells, n, rng)
        cross = rng.random(n) < self.params.crossover_rate
        second = qa.choose_parents(self.cells, n, rng)
        cross &= second != first  # a child of one elite with itself is that elite
        genomes = [
            self.ga.vary(
                self.genomes[int(first[i])],
                self.genomes[int(second[i])] if cross[i] else None,
                seeding.variation_rng(self.setup.seed, g, i),
            )
            for i in range(n)
        ]
        self.parents = np.column_stack([first, np.where(cross, second, -1)]).astype(np.int64)
        return Offspring(genomes, np.full((n, 2), -1, np.int64), np.full(n, MAP_ELITES_ORIGIN, np.int8), np.ones(n))

    def record_champion(self, g: int, improved: bool, index: int) -> None:
        """Nothing to note: MAP-Elites' parents are its elites, not the champion."""

    def add(self, g: int, genomes: list[Genome], gen: Generation) -> None:
        """Offer generation ``g``'s evaluated candidates to the archive."""
        self.descriptors = self.describe(genomes, gen.ev)
        n = len(genomes)
        refs = np.column_stack([np.full(n, g), np.arange(n)]).astype(np.int64)
        self.cells, self.status = qa.insert(
            self.cells, self.index(self.descriptors), np.asarray(gen.fitness)[:, 0], self.descriptors, refs
        )
        for c in np.flatnonzero(self.cells.occupied):
            gen_c, i = (int(x) for x in self.cells.elite[c])
            if gen_c == g:
                self.genomes[int(c)] = genomes[i]
        self.corrected = None

    def reevaluate(self, pool: WorkerPool, gen: Generation) -> None:
        """Re-run every elite on ``reevaluate_episodes`` fresh held-out episodes (gymnasium, the generation's
        observation bounds) and rebuild the archive from those mean returns and descriptors."""
        k = self.params.reevaluate_episodes
        if k == 0 or not self.genomes:
            return
        proto = self.setup.scenario.protocol
        seeds = seeding.reevaluation_seeds(self.setup.seed, k, seeding.test_seeds(self.setup.seed, proto.test_episodes))
        cells = np.flatnonzero(self.cells.occupied)
        elites = [self.genomes[int(c)] for c in cells]
        ev = pool.run(dataclasses.replace(gen.task, backend="gymnasium"), elites, seeds, None)
        measures = self.describe(elites, ev)
        corrected, _ = qa.insert(
            qa.empty(*self.cells.measures.shape),
            self.index(measures),
            ev.returns.mean(axis=1),
            measures,
            self.cells.elite[cells],
        )
        self.corrected = dict(zip(schema.QD_CORRECTED, corrected, strict=True))
        self.corrected |= {
            schema.QD_REEVALUATION_SEEDS: np.asarray(seeds, np.int64),
            schema.QD_REEVALUATION_RETURNS: np.asarray(ev.returns, np.float64),
            schema.QD_REEVALUATION_CELLS: cells.astype(np.int64),
            schema.QD_REEVALUATION_STEPS: np.asarray(ev.lengths, np.int64).sum(axis=1),
        }

    def extra(self) -> dict:
        """The generation's archive record."""
        out = dict(zip(schema.QD_CELLS, self.cells, strict=True))
        out |= {
            schema.QD_BOUNDS: np.stack([self.low, self.high]),
            schema.QD_DESCRIPTORS: self.descriptors,
            schema.QD_PARENTS: self.parents,
            schema.QD_STATUS: self.status,
        }
        if self.centroids is not None:
            out[schema.QD_CENTROIDS] = self.centroids
        return out | (self.corrected or {})
