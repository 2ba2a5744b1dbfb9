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
from ..space.settings import check, document, setting
from . import map_elites, seeding
from .edge_codec import PRIORS, EdgeCodec
from .gene_vector import BOUNDS, GeneVector, GeneVectorSpec
from .strategies import ars, ec, open_es, pgpe, sep_cma_es
from .strategies.common import state_arrays, state_from_arrays
from .strategies.optimizers import Optimizer
from .strategies.registry import STRATEGIES

#: What ``search.strategy`` may name: today's GA, one of the strategies, or MAP-Elites (quality-diversity).
SEARCHES = ("ga", *STRATEGIES, "map_elites")


#: The archive's ``origin`` code of a strategy's candidates (beside the GA's codes in ``evolution.ORIGIN``).
STRATEGY_ORIGIN = 5
#: The evolution strategies a GA-then-ES schedule may switch to (EC moves edges, not genes).
ES_NAMES = tuple(k for k in STRATEGIES if k != "ec")


@document
@dataclass(frozen=True)
class SearchConfig:
    """How a run searches: the scenario's ``[search]`` table (the GA, today's behaviour, by default).

    ``strategy = "ga"`` runs the genetic algorithm of ``[evolution]`` and
    ``[mutation]``, draw for draw as before. Any other strategy searches
    around one fixed template network (the ``[start] genome``, or the first
    random genome of generation 0): an evolution strategy (``open_es``,
    ``pgpe``, ``sep_cma_es``, ``ars``) moves the continuous ``genes`` of it;
    ``ec`` (Evolving Connectivity) samples its connections from per-edge
    probabilities that start at ``prior``. ``evolution.population`` is the
    number of candidates per generation (ARS: two per direction). ``then``
    names an evolution strategy that takes over from the GA's champion once
    the best training return has gained less than ``plateau_gain``
    (relative) over ``plateau_window`` generations. Each strategy's own
    settings are the sub-table of its name, e.g. ``[search.open_es]`` and
    ``[search.open_es.optimizer]``; docs/search.md has the equations.
    ``map_elites`` keeps the best genome of each descriptor cell and varies
    them with the GA's operators (``[search.map_elites]``,
    docs/quality-diversity.md).
    """

    strategy: str = setting(
        "ga",
        "ga (the genetic algorithm of [evolution], published) or an evolution strategy "
        "over a fixed network's genes (open_es, pgpe, sep_cma_es, ars) or Evolving "
        "Connectivity (ec), or MAP-Elites over the GA's operators (map_elites).",
        choices=SEARCHES,
    )
    then: str | None = setting(
        None,
        "With strategy = ga: the evolution strategy that continues from the GA's "
        "champion once the best return plateaus (GA-then-ES); none: the GA throughout.",
        choices=ES_NAMES,
    )
    genes: tuple[str, ...] = setting(
        ("weights",),
        "Which genes an evolution strategy moves: any of weights, lif "
        "(the LIF parameters whose range is not one value) and positions (the "
        "distance laws stay in force).",
        factory=lambda: ("weights",),
    )
    bounds: str = setting("clip", "How an evolution strategy keeps bounded genes within their ranges.", choices=BOUNDS)
    prior: str = setting(
        "spatial",
        "EC's initial connection probabilities: spatial (the rule's distance law) or "
        "uniform (each projection at its mean probability: the same expected degree).",
        choices=PRIORS,
    )
    plateau_window: int = setting(
        20, "GA-then-ES: generations over which the gain is measured.", "generations", low=1, integer=True
    )
    plateau_gain: float = setting(
        0.01,
        "GA-then-ES: switch once the running best training return has gained less "
        "than this (relative to max(|best|, 1)) over plateau_window generations.",
        "fraction",
        low=0,
    )
    open_es: open_es.Params = field(default_factory=open_es.Params)
    pgpe: pgpe.Params = field(default_factory=pgpe.Params)
    sep_cma_es: sep_cma_es.Params = field(default_factory=sep_cma_es.Params)
    ars: ars.Params = field(default_factory=ars.Params)
    ec: ec.Params = field(default_factory=ec.Params)
    map_elites: map_elites.MapElitesConfig = field(default_factory=map_elites.MapElitesConfig)

    def __post_init__(self):
        if self.strategy not in SEARCHES:
            near = difflib.get_close_matches(str(self.strategy), SEARCHES, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else '; write one of them, e.g. strategy = "open_es"'
            raise ValueError(f"search.strategy: expected one of {SEARCHES}, got {self.strategy!r}{hint}")
        if self.then is not None and (self.strategy != "ga" or self.then not in ES_NAMES):
            raise ValueError(
                f"search.then: expected an evolution strategy of {ES_NAMES} after strategy = 'ga', "
                f'got then = {self.then!r} after {self.strategy!r}; set strategy = "ga" and an '
                "evolution strategy as then, or drop then"
            )
        object.__setattr__(self, "genes", tuple(self.genes))
        try:
            GeneVectorSpec(self.genes, self.bounds)
        except ValueError as exc:
            raise ValueError(f'search.{exc}; e.g. genes = ["weights", "lif"]') from None
        check(self, "search")

    def params(self, name: str, population: int):
        """The ``Params`` of strategy ``name`` with the run's population (ARS: ``population / 2`` directions)."""
        base = getattr(self, name)
        try:
            if name == "ars":
                if population % 2:
                    raise ValueError(
                        f"evolution.population: ARS needs an even population (2 x directions), "
                        f"got {population}; make it even"
                    )
                return dataclasses.replace(base, directions=population // 2)
            return dataclasses.replace(base, population=population)
        except ValueError as exc:
            msg = str(exc)
            if msg.startswith(f"{name}."):
                msg = f"search.{msg} (evolution.population is {population}); change either"
            raise ValueError(msg) from None


def make_search(
    config: SearchConfig, template: Genome, population: int, ranges: ParameterRanges, seed: int, name: str | None = None
) -> Search:
    """The :class:`Search` a config asks for, over ``template`` (``name`` overrides ``config.strategy``,
    e.g. ``config.then`` when a GA-then-ES run switches)."""
    name = config.strategy if name is None else name
    if name in ("ga", "map_elites"):
        raise ValueError(f"search.strategy: {name!r} runs on the GA's operators, not a Search")
    params = config.params(name, population)
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
            raise ValueError(
                f"search.{name}.{key}: unknown setting{hint} (the population comes from evolution.population)"
            )
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
