"""The genetic algorithm: ask for offspring, tell nothing hidden.

:meth:`GeneticAlgorithm.ask` is a pure function of (generation, the previous
population, its fitness) and the run seed, so a run resumed from its archive
continues exactly. The GA knows nothing of environments, processes or files.

Next generation, "classic" scheme of the reference method (N individuals,
``m = elite`` parents, default ``round(sqrt(N))``):

* the best ``m`` unchanged (elites);
* one mutated copy of each elite;
* ``N - 2m - r`` children of crossover between random pairs of elites, each
  mutated;
* ``r = round(random_fraction * N)`` fresh random genomes.

With ``selection = "nsga2"`` the ``m`` parents are chosen by DEAP's NSGA-II
over (mean return, -cost) instead of by return alone; ``cost`` is one of
:data:`COSTS` (:meth:`GeneticAlgorithm.cost`): synaptic events per
environment step (the kernel's count: spikes x outgoing synapses), synaptic
operations per step (those events, the NeuroBench ACs, plus one MAC per input
synapse, every input channel taken as non-zero), non-zero weights, or wiring
length (sum of the lengths of all synapses, minimum-image on a periodic box:
:func:`~spatial_snn.space.connectivity.wiring_length`). Every new genome is pruned when ``prune`` is set (elites are
already pruned). Randomness: individual ``i`` of generation ``g`` draws only
from ``seeding.variation_rng(seed, g, i)``; parent pairing from
``seeding.selection_rng(seed, g)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from deap import base, tools

from ..space.connectivity import wiring_length
from ..space.genome import Genome
from ..space.layout import GenomeSpec, random_genome
from ..space.settings import check, document, setting
from . import seeding
from .crossover import crossover, geometric_crossover
from .pruning import prune
from .variation import MutationParams, mutate

#: How each individual came to be (the archive's ``origin`` codes).
ORIGIN = {"initial": 0, "elite": 1, "mutant": 2, "child": 3, "random": 4}
SELECTIONS = ("classic", "nsga2")
CROSSOVERS = ("published", "geometric", "none")
#: Ceiling of a self-adapting mutation strength (``EvolutionConfig.adapt_tau``); its floor is
#: ``EvolutionConfig.adapt_min``.
STRENGTH_MAX = 10.0
#: What NSGA-II minimises beside maximising the return.
COSTS = ("synaptic_events", "synaptic_ops", "nonzero_weights", "wiring_length")


@document
@dataclass(frozen=True)
class EvolutionConfig:
    """Population, selection and operator settings; defaults are the published ones.

    The scenario's ``[evolution]`` table. ``elite = None`` keeps
    ``round(sqrt(population))`` parents; every generation must hold them, a
    mutant of each and the random genomes (``2 elite + random <= population``).
    Self-adapting mutation strength (``adapt_tau > 0``) is set here because the
    GA adapts it: each individual's strength scales every ``[mutation]`` rate
    (:meth:`~spatial_snn.evo.variation.MutationParams.scaled`).
    """

    population: int = setting(
        100, "Individuals per generation (published: 100).", "individuals", low=4, integer=True, limit=10_000
    )
    generations: int = setting(
        1000, "Generations to run (published: 1000).", "generations", low=1, integer=True, limit=100_000
    )
    selection: str = setting(
        "classic",
        "How parents are chosen: by return alone (classic, published) or by DEAP's NSGA-II over (return, -cost).",
        choices=SELECTIONS,
    )
    crossover: str = setting(
        "published", "Crossover operator; none replaces children by mutants of random elites.", choices=CROSSOVERS
    )
    elite: int | None = setting(
        None, "Parents kept per generation; none means round(sqrt(population)).", "individuals", low=1, integer=True
    )
    random_fraction: float = setting(
        0.1, "Share of fresh random genomes per generation (published: 0.1).", "fraction", low=0, high=1, high_open=True
    )
    prune: bool = setting(True, "Prune every new genome (published pruning, done right).")
    prune_keep_tonic: bool = setting(
        False,
        "Pruning also keeps tonic neurons (v_leak > v_th: they fire "
        "without input) and what they reach, so a bias can survive.",
    )
    cost: str = setting(
        "synaptic_events", "Second NSGA-II objective, minimised; unused by classic selection.", choices=COSTS
    )
    adapt_tau: float = setting(
        0.0,
        "Learning rate of the self-adapting mutation strength: a new genome's "
        "strength is its parent's times exp(adapt_tau N(0, 1)); 0 = off, every mutation "
        "at the [mutation] rates.",
        low=0,
    )
    adapt_min: float = setting(
        0.01,
        "Floor of the self-adapting strength: a higher floor keeps structural "
        "mutations alive where self-adaptation would shrink every step towards nothing.",
        "strength",
        low=0,
        high=1,
        low_open=True,
    )

    def __post_init__(self):
        check(self, "evolution")
        m = self.n_elite
        if not 1 <= m or 2 * m + self.n_random > self.population:
            raise ValueError(
                f"evolution.elite: expected 1 <= elite and 2*elite + random <= population "
                f"({self.population}), got elite = {m}, random = {self.n_random}"
            )

    @property
    def n_elite(self) -> int:
        return int(self.elite) if self.elite is not None else max(1, round(math.sqrt(self.population)))

    @property
    def n_random(self) -> int:
        return int(round(self.random_fraction * self.population))


@dataclass(frozen=True, eq=False)
class Offspring:
    """A generation to evaluate: genomes with their lineage.

    parents : (N, 2) int64 indices into the previous generation (-1 = none);
    origin : (N,) int8 codes from :data:`ORIGIN`;
    strengths : (N,) float64 mutation strengths their offspring inherit
    (all 1 unless ``EvolutionConfig.adapt_tau > 0``).
    """

    genomes: list[Genome]
    parents: np.ndarray
    origin: np.ndarray
    strengths: np.ndarray


class _Fitness2(base.Fitness):
    """Two maximised objectives (module-level: no ``creator`` classes)."""

    weights = (1.0, 1.0)


class _Individual:
    __slots__ = ("fitness", "index")

    def __init__(self, index: int, values):
        self.index = index
        self.fitness = _Fitness2(tuple(float(v) for v in values))


class GeneticAlgorithm:
    """Ask/tell GA over genomes drawn from ``spec``.

    Parameters
    ----------
    config : EvolutionConfig
    spec : GenomeSpec
        Shape and rule of random genomes.
    mutation : MutationParams
    n_inputs, n_outputs : int
        Encoder channels and decoder units.
    seed : int
        The run seed (root of the seed tree).
    """

    def __init__(
        self,
        config: EvolutionConfig,
        spec: GenomeSpec,
        mutation: MutationParams,
        n_inputs: int,
        n_outputs: int,
        seed: int,
    ):
        self.config, self.spec, self.mutation = config, spec, mutation
        self.n_inputs, self.n_outputs, self.seed = n_inputs, n_outputs, int(seed)

    # ------------------------------------------------------------ helpers
    def _random(self, generation: int, i: int) -> Genome:
        return self._finish(
            random_genome(self.spec, self.n_inputs, self.n_outputs, seeding.variation_rng(self.seed, generation, i))
        )

    def _finish(self, g: Genome) -> Genome:
        return prune(g, self.config.prune_keep_tonic) if self.config.prune else g

    def cost(self, events_per_step, genomes: list[Genome]) -> np.ndarray:
        """The configured cost of each genome, ``(N,)`` float64 (minimised by NSGA-II).

        ``events_per_step`` (N,): synaptic events per environment step measured
        in evaluation; the other costs are read from the genomes.
        """
        events = np.asarray(events_per_step, np.float64)
        if events.shape != (len(genomes),):
            raise ValueError(f"events_per_step: expected shape ({len(genomes)},) (one per genome), got {events.shape}")
        kind = self.config.cost
        if kind == "synaptic_events":
            return events
        if kind == "synaptic_ops":
            return events + np.array([len(g.input_synapses) for g in genomes], np.float64)
        if kind == "nonzero_weights":
            return np.array([g.n_synapses for g in genomes], np.float64)
        return np.array([wiring_length(g) for g in genomes], np.float64)

    def parents(self, fitness: np.ndarray) -> np.ndarray:
        """Indices of the ``m`` parents, best first.

        fitness : (N, n_obj) -- column 0 is the mean return; column 1 (for
        NSGA-II) the negated :meth:`cost`.
        """
        fitness = np.asarray(fitness, np.float64)
        if fitness.ndim == 1:
            fitness = fitness[:, None]
        m = self.config.n_elite
        if self.config.selection == "nsga2":
            if fitness.shape[1] < 2:
                raise ValueError(f"fitness: NSGA-II needs 2 objectives, got shape {fitness.shape}")
            inds = [_Individual(i, f[:2]) for i, f in enumerate(fitness)]
            chosen = [ind.index for ind in tools.selNSGA2(inds, m)]
            return np.array(sorted(chosen, key=lambda i: (-fitness[i, 0], i)), np.int64)
        inds = [_Individual(i, (f[0], 0.0)) for i, f in enumerate(fitness)]
        # selBest sorts by fitness (stable), so ties keep index order
        return np.array([ind.index for ind in tools.selBest(inds, m)], np.int64)

    # ---------------------------------------------------------------- ask
    def initial(self, start: Genome | None = None) -> Offspring:
        """Generation 0: ``population`` random genomes, or ``start`` and mutants of it.

        With ``start`` (e.g. a shipped champion to refine), individual 0 is
        ``start`` exactly (not pruned again: pruning under other settings could
        change its outputs) and individual ``i`` a mutant drawn from the
        stream of random genome ``i``, pruned as every new genome; ``start``
        must have this GA's neuron count, inputs, outputs and dimension.
        """
        n = self.config.population
        if start is None:
            genomes, strengths = [self._random(0, i) for i in range(n)], [1.0] * n
        else:
            want = (self.spec.n_hidden, self.n_inputs, self.n_outputs, self.spec.dim)
            got = (start.n, start.n_inputs, start.n_outputs, start.dim)
            if got != want:
                raise ValueError(
                    f"start.genome: the genome has (neurons, inputs, outputs, dim) = {got}, "
                    f"the run needs {want}; start from a genome of this task and network"
                )
            have = 0 if start.rhythm is None else (len(start.rhythm) - 2) // 3
            if have != self.spec.rhythm:
                raise ValueError(
                    f"start.genome: the genome has {have} rhythm oscillators, the run needs "
                    f"{self.spec.rhythm} (decoder.rhythm); start from a genome evolved with the "
                    "same decoder"
                )
            mutants = [self._mutant(start, 1.0, seeding.variation_rng(self.seed, 0, i)) for i in range(1, n)]
            genomes = [start] + [g for g, _ in mutants]
            strengths = [1.0] + [s for _, s in mutants]
        return Offspring(
            genomes, np.full((n, 2), -1, np.int64), np.full(n, ORIGIN["initial"], np.int8), np.array(strengths)
        )

    def _mutant(self, genome: Genome, inherited: float, rng: np.random.Generator) -> tuple[Genome, float]:
        """A mutant of ``genome`` and its strength: ``inherited * exp(tau N(0, 1))`` within
        ``[adapt_min, STRENGTH_MAX]``, drawn from ``rng`` before the mutation (1, and no draw, when off)."""
        tau = self.config.adapt_tau
        if tau == 0:
            return self._finish(mutate(genome, rng, self.mutation, self.spec.ranges)), 1.0
        floor = self.config.adapt_min
        strength = float(np.clip(inherited * math.exp(tau * rng.standard_normal()), floor, STRENGTH_MAX))
        return self._finish(mutate(genome, rng, self.mutation.scaled(strength), self.spec.ranges)), strength

    def vary(self, a: Genome, b: Genome | None, rng: np.random.Generator) -> Genome:
        """A new genome from ``a``: first the child of ``a`` and ``b`` by this GA's crossover (when ``b`` is
        given and crossover is on), then a mutant at strength 1 (the "GA emitter" of MAP-Elites; ``ask`` does
        not call it, so the GA's own draws are unchanged)."""
        if b is not None and self.config.crossover != "none":
            op = crossover if self.config.crossover == "published" else geometric_crossover
            a = op(a, b, rng)[0]
        return self._mutant(a, 1.0, rng)[0]

    def ask(
        self, generation: int, population: list[Genome], fitness: np.ndarray, strengths: np.ndarray | None = None
    ) -> Offspring:
        """Offspring of ``population`` (scored ``fitness``, mutation ``strengths``, default all 1) as
        generation ``generation``."""
        if generation < 1:
            raise ValueError(f"generation: expected >= 1 (generation 0 comes from initial()), got {generation}")
        if len(population) != len(fitness):
            raise ValueError(f"fitness: expected {len(population)} rows, got {len(fitness)}")
        strengths = np.ones(len(population)) if strengths is None else np.asarray(strengths, np.float64)
        if strengths.shape != (len(population),) or not np.all(strengths > 0):
            raise ValueError(f"strengths: expected {len(population)} values > 0, got shape {strengths.shape}")
        cfg, n = self.config, self.config.population
        elite = self.parents(fitness)
        m, r = len(elite), cfg.n_random
        n_children = n - 2 * m - r
        pair_rng = seeding.selection_rng(self.seed, generation)
        genomes: list[Genome] = []
        parents, origin, strength = [], [], []

        def add(g, p, o, s=1.0):
            genomes.append(g), parents.append(p), origin.append(ORIGIN[o]), strength.append(s)

        for e in elite:
            add(population[e], (e, -1), "elite", strengths[e])
        for e in elite:
            rng = seeding.variation_rng(self.seed, generation, len(genomes))
            g, s = self._mutant(population[e], strengths[e], rng)
            add(g, (e, -1), "mutant", s)
        while n_children > 0:
            i = len(genomes)
            rng = seeding.variation_rng(self.seed, generation, i)
            a, b = pair_rng.choice(elite, size=2, replace=False) if m >= 2 else (elite[0], elite[0])
            if cfg.crossover == "none":
                kids = [population[a]]
                pairs = [(a, -1)]
            else:
                op = crossover if cfg.crossover == "published" else geometric_crossover
                kids = list(op(population[a], population[b], rng))
                pairs = [(a, b), (b, a)]
            inherited = math.sqrt(strengths[a] * strengths[b]) if cfg.crossover != "none" else strengths[a]
            for kid, p in list(zip(kids, pairs, strict=True))[:n_children]:
                g, s = self._mutant(kid, inherited, rng)
                add(g, p, "child", s)
                n_children -= 1
        while len(genomes) < n:
            add(self._random(generation, len(genomes)), (-1, -1), "random")
        return Offspring(genomes, np.array(parents, np.int64), np.array(origin, np.int8), np.array(strength))


def statistics(returns: np.ndarray) -> dict[str, float]:
    """Best / mean / std / worst of per-individual mean returns (deap.tools.Statistics)."""
    stats = tools.Statistics(key=float)
    stats.register("best", np.max)
    stats.register("mean", np.mean)
    stats.register("std", np.std)
    stats.register("worst", np.min)
    return {k: float(v) for k, v in stats.compile(list(np.asarray(returns, np.float64))).items()}


def curriculum_cap(generation: int, start: int, growth: float, limit: int | None) -> int | None:
    """Episode cap of the published curriculum: ``ceil(start * growth ** generation)``, up to ``limit``."""
    cap = math.ceil(start * growth ** min(generation, 500))
    return cap if limit is None else min(cap, int(limit))
