"""A strategy over genomes: strategy + codec + seed tree, ask / tell like the GA.

:class:`Search` ties one strategy of :mod:`.strategies` to a codec of a fixed
template network (:class:`~.gene_vector.GeneVector` for the evolution
strategies, :class:`~.edge_codec.EdgeCodec` for EC) and to the run's seed
tree: generation ``g`` draws its samples from ``seeding.strategy_rng(seed,
g)`` only, so ``ask`` is a pure function of (state, generation) and a run
resumed from a stored state repeats the uninterrupted history. Fitness
arrives as numbers; nothing here knows environments, workers or files.

:func:`strategy_params` builds a strategy's ``Params`` from plain scenario
values (a TOML table), naming the nearest valid key for a misspelt one.
:func:`plateaued` is a switching rule for a GA-then-ES schedule.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..space.genome import Genome
from ..space.layout import ParameterRanges
from . import seeding
from .edge_codec import PRIORS, EdgeCodec
from .gene_vector import GeneVector, GeneVectorSpec
from .strategies.common import state_arrays, state_from_arrays
from .strategies.optimizers import Optimizer
from .strategies.registry import STRATEGIES

#: What ``search.strategy`` may name: today's GA or one of the strategies.
SEARCHES = ("ga", *STRATEGIES)


@dataclass(frozen=True)
class SearchConfig:
    """How a run searches (scenario values; the GA, today's behaviour, by default).

    strategy : str
        ``"ga"`` or a strategy of :data:`~.strategies.registry.STRATEGIES`.
    then : str or None
        GA-then-ES: with ``strategy = "ga"``, the evolution strategy that takes
        over from the GA's champion once :func:`plateaued` says so
        (``plateau_window`` generations, relative gain below ``plateau_gain``).
    genes, bounds : what an evolution strategy moves (:class:`~.gene_vector.GeneVectorSpec`).
    prior : {"spatial", "uniform"}
        EC's initial probabilities (:class:`~.edge_codec.EdgeCodec`).
    settings : dict
        The strategy's ``Params`` fields (see :func:`strategy_params`).
    """

    strategy: str = "ga"
    then: str | None = None
    genes: tuple[str, ...] = ("weights",)
    bounds: str = "clip"
    prior: str = "spatial"
    settings: dict = field(default_factory=dict)
    plateau_window: int = 20
    plateau_gain: float = 0.01

    def __post_init__(self):
        if self.strategy not in SEARCHES:
            near = difflib.get_close_matches(str(self.strategy), SEARCHES, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"search.strategy: expected one of {SEARCHES}, got {self.strategy!r}{hint}")
        if self.then is not None and (self.strategy != "ga" or self.then not in STRATEGIES or self.then == "ec"):
            es = tuple(k for k in STRATEGIES if k != "ec")
            raise ValueError(f"search.then: expected an evolution strategy of {es} after strategy = 'ga', "
                             f"got then = {self.then!r} after {self.strategy!r}")
        object.__setattr__(self, "genes", tuple(self.genes))
        GeneVectorSpec(self.genes, self.bounds)  # validates both
        if self.prior not in PRIORS:
            raise ValueError(f"search.prior: expected one of {PRIORS}, got {self.prior!r}")
        if not isinstance(self.plateau_window, int) or self.plateau_window < 1:
            raise ValueError(f"search.plateau_window: expected an integer >= 1, got {self.plateau_window!r}")
        if not isinstance(self.plateau_gain, int | float) or self.plateau_gain < 0:
            raise ValueError(f"search.plateau_gain: expected a number >= 0, got {self.plateau_gain!r}")


def make_search(config: SearchConfig, template: Genome, population: int, ranges: ParameterRanges, seed: int,
                name: str | None = None) -> Search:
    """The :class:`Search` a config asks for, over ``template`` (``name`` overrides ``config.strategy``,
    e.g. ``config.then`` when a GA-then-ES run switches)."""
    name = config.strategy if name is None else name
    if name == "ga":
        raise ValueError("search.strategy: 'ga' runs the genetic algorithm, not a Search")
    params = strategy_params(name, population, config.settings)
    if name == "ec":
        codec = EdgeCodec(template, config.prior)
    else:
        codec = GeneVector(template, GeneVectorSpec(config.genes, config.bounds), ranges)
    return Search(name, params, codec, seed)


def strategy_params(name: str, population: int, settings: dict | None = None):
    """``STRATEGIES[name].Params`` from a population size and a dict of settings.

    ``settings`` keys are the Params fields; ``optimizer`` may be a dict of
    :class:`~.strategies.optimizers.Optimizer` fields. ARS takes ``population`` as
    ``2 * directions``. Unknown keys are one ValueError naming the nearest.
    """
    if name not in STRATEGIES:
        raise ValueError(f"search.strategy: expected one of {sorted(STRATEGIES)}, got {name!r}")
    module = STRATEGIES[name]
    settings = dict(settings or {})
    fields = {f.name for f in dataclasses.fields(module.Params)}
    for key in settings:
        if key not in fields or key in ("population", "directions"):
            near = difflib.get_close_matches(key, sorted(fields - {"population", "directions"}), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"search.{name}.{key}: unknown setting{hint} (the population comes from "
                             "evolution.population)")
    if isinstance(settings.get("optimizer"), dict):
        opt = settings["optimizer"]
        opt_fields = {f.name for f in dataclasses.fields(Optimizer)}
        for key in opt:
            if key not in opt_fields:
                near = difflib.get_close_matches(key, sorted(opt_fields), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ValueError(f"search.{name}.optimizer.{key}: unknown setting{hint}")
        settings["optimizer"] = Optimizer(**opt)
    if name == "ars":
        if population % 2:
            raise ValueError(f"evolution.population: ARS needs an even population (2 x directions), got {population}")
        return module.Params(directions=population // 2, **settings)
    return module.Params(population=population, **settings)


class Search:
    """Ask / tell over genomes with one strategy and one codec.

    Parameters
    ----------
    name : str
        A key of :data:`~.strategies.registry.STRATEGIES`.
    params
        That strategy's ``Params``.
    codec : GeneVector or EdgeCodec
        ``EdgeCodec`` exactly when ``name == "ec"``.
    seed : int
        The run seed (root of the seed tree).
    """

    def __init__(self, name: str, params: Any, codec: GeneVector | EdgeCodec, seed: int):
        if name not in STRATEGIES:
            raise ValueError(f"search.strategy: expected one of {sorted(STRATEGIES)}, got {name!r}")
        if (name == "ec") != isinstance(codec, EdgeCodec):
            want = "an EdgeCodec" if name == "ec" else "a GeneVector"
            raise TypeError(f"codec: strategy {name!r} needs {want}, got {type(codec).__name__}")
        self.name, self.params, self.codec, self.seed = name, params, codec, int(seed)
        self.module = STRATEGIES[name]

    def initial_state(self):
        """The state before generation 0: the template's genes, or EC's prior probabilities."""
        x0 = self.codec.initial_probabilities() if self.name == "ec" else self.codec.encode()
        return self.module.init(self.params, x0)

    def ask(self, state, generation: int) -> tuple[np.ndarray, list[Genome]]:
        """Generation ``generation``'s candidates (population, n) and their genomes."""
        candidates, _ = self.module.ask(state, self.params, seeding.strategy_rng(self.seed, generation))
        return candidates, self.codec.decode_all(candidates)

    def tell(self, state, candidates: np.ndarray, fitness) -> Any:
        """The next state from the candidates' returns (maximised)."""
        return self.module.tell(state, self.params, candidates, fitness)

    def centre_genome(self, state) -> Genome:
        """The distribution's centre as a genome: the ES mean, or EC's most probable network."""
        if self.name == "ec":
            return self.codec.decode(self.module.most_probable(state))
        return self.codec.decode(self.module.centre(state))

    def state_arrays(self, state) -> dict[str, np.ndarray]:
        """The state as arrays for the archive (one dataset each)."""
        return state_arrays(state)

    def state_from_arrays(self, arrays: dict):
        """The state stored by :meth:`state_arrays`."""
        return state_from_arrays(self.module.State, arrays)


def plateaued(best_so_far, window: int, min_gain: float) -> bool:
    """True when the best return has gained less than ``min_gain`` (relative) over the last ``window`` generations.

    ``best_so_far`` is the running best per generation; the gain is
    ``(b[-1] - b[-1 - window]) / max(|b[-1 - window]|, 1)``. False while the
    history is shorter than ``window + 1``.
    """
    b = np.asarray(best_so_far, np.float64)
    if window < 1:
        raise ValueError(f"window: expected an integer >= 1, got {window}")
    if b.size <= window:
        return False
    before = b[-1 - window]
    return bool((b[-1] - before) / max(abs(before), 1.0) < min_gain)
