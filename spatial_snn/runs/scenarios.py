"""Scenarios: a task and every setting of a run, as frozen dataclasses.

A scenario is a TOML file (``scenarios/README.md`` lists the shipped ones)
with the tables ``[env]``, ``[network]``, ``[encoder]``, ``[decoder]``,
``[start]``, ``[evolution]``, ``[mutation]``, ``[search]`` (with a sub-table per
strategy) and ``[protocol]`` plus the
top-level ``name`` and ``allow_large``. Every key is optional; the defaults
are the published settings.

The table of keys: each key is declared once, in the dataclass of the part
that reads it (:func:`~spatial_snn.space.settings.setting`: default, unit,
bounds, limit, meaning), and :func:`scenario_keys` lists them all. That table
is what validation checks, what :data:`LIMITS` is made of and what
``docs/scenarios.md`` is generated from (:mod:`.scenario_doc`). An unknown
key is an error that names the nearest valid key. Keys that moved to another
table are read in their old place too (:data:`MOVED_KEYS`, :func:`migrate`).
:func:`~spatial_snn.runs.setup.resolve` turns a scenario into the resolved
setup of one run and steps it once, so a broken scenario fails in a second,
not after an hour.

Sizes have upper bounds (:data:`LIMITS`) so that a typo such as
``population = 100000000`` fails at once instead of starting a run that never
ends; a scenario that really needs more sets the top-level key
``allow_large = true``, the one way to lift every bound (``--generations``
included). A scenario ``name`` (which names the archive file) is made of
letters, digits, ``-``, ``_`` and ``.``: it cannot leave the archive folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from numbers import Real
from pathlib import Path

import numpy as np

from ..evo import map_elites
from ..evo.evolution import EvolutionConfig
from ..evo.search import SearchConfig
from ..evo.strategies.optimizers import Optimizer
from ..evo.strategies.registry import STRATEGIES
from ..evo.variation import MutationParams
from ..space.layout import PLACEMENTS, GenomeSpec
from ..space.rules import ConnectivityRule
from ..space.settings import Key, check, document, key_of, keys_of, setting
from ..tasks.backends import BACKENDS
from ..tasks.encoding import DecoderSpec, EncoderSpec
from ..tasks.envs import HIDE_OBS, split_hidden
from .arguments import check_dim, check_seed

PRESETS = ("reference", "spatial")
#: A scenario name: letters, digits, '-', '_' and '.', starting with a letter or digit.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_LARGE_HINT = "set `allow_large = true` at the top of the scenario to go beyond it"


@document
@dataclass(frozen=True)
class EnvConfig:
    """The environment: the scenario's ``[env]`` table.

    ``train_kwargs`` are merged over ``kwargs`` for the training episodes
    only (the fitness), e.g. ``{healthy_reward = 0}`` to take the survival
    bonus out of selection; tests, replays and reported scores use the task's
    own reward (``kwargs``). Held-out tests always run on gymnasium,
    whatever ``backend`` trains.
    """

    id: str = setting("CartPole-v1", "Gymnasium id of the task, e.g. Hopper-v5.")
    kwargs: dict = setting(
        None,
        "Keyword arguments of gymnasium.make (the task's own reward: tests, replays and reported scores).",
        factory=dict,
    )
    max_episode_steps: int | None = setting(
        None,
        "Overrides the environment's time limit; none keeps it.",
        "env steps",
        low=1,
        integer=True,
        limit=1_000_000,
    )
    train_kwargs: dict = setting(
        None,
        "Merged over kwargs for the training episodes only (the fitness), e.g. {healthy_reward = 0}.",
        factory=dict,
    )
    backend: str = setting(
        "auto",
        "Where training episodes run: gymnasium, envpool (C++ batches; an error if "
        "EnvPool lacks the id or a keyword argument) or auto (EnvPool where it can, gymnasium "
        "elsewhere).",
        choices=BACKENDS,
    )
    hide_obs: tuple[int, ...] = setting(
        (),
        "Observation entries hidden from the controller (a partially "
        "observed task), e.g. [1, 3]: CartPole without its velocities; the rest "
        "keep their order. Applies to training, tests and replays alike.",
        "indices",
    )
    xml_file: str | None = setting(
        None,
        "A MuJoCo body of one's own for a task that takes xml_file (the v5 "
        "locomotion tasks, spatial_snn/Hexapod-v0): a self-contained XML file, path "
        "relative to the working directory. Its text is stored with the run, which "
        "trains on gymnasium (EnvPool cannot load it); none: the task's own body.",
    )

    def __post_init__(self):
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"env.id: expected a gymnasium id such as 'Hopper-v5', got {self.id!r}")
        if not isinstance(self.kwargs, dict):
            raise ValueError(f"env.kwargs: expected a table of keyword arguments, got {self.kwargs!r}")
        if HIDE_OBS in self.kwargs:
            raise ValueError(
                f"env.kwargs: {HIDE_OBS} is a key of [env] itself, not a keyword argument of the "
                f"environment; write `{HIDE_OBS} = {self.kwargs[HIDE_OBS]!r}` under [env]"
            )
        try:
            split_hidden({HIDE_OBS: self.hide_obs})  # a list of distinct indices >= 0
        except ValueError as exc:
            raise ValueError(f"env.{exc}") from None
        if self.xml_file is not None and (not isinstance(self.xml_file, str) or not self.xml_file.strip()):
            raise ValueError(f"env.xml_file: expected the path of a MuJoCo XML file, got {self.xml_file!r}")
        for table in ("kwargs", "train_kwargs"):
            if "xml_file" in getattr(self, table):
                raise ValueError(
                    f"env.{table}.xml_file: name the body with env.xml_file instead (its text is "
                    "stored with the run, so it replays without the file)"
                )
        check(self, "env")

    @property
    def task_kwargs(self) -> dict:
        """Keyword arguments of :func:`~spatial_snn.tasks.envs.make_env`: ``kwargs``, plus ``hide_obs`` if any."""
        return {**self.kwargs, HIDE_OBS: list(self.hide_obs)} if self.hide_obs else dict(self.kwargs)


@document
@dataclass(frozen=True)
class NetworkConfig:
    """Network shape and embedding: the scenario's ``[network]`` table.

    ``preset = "reference"`` is the published network (integer grid,
    ``exp(-2 d)``, inputs/outputs at distance 1); ``"spatial"`` is ours
    (neurons, inputs and outputs uniform in a periodic box, laws of the reach
    ``(d / length) ** dim``, docs/dimensions.md; length calibrated
    to ``mean_degree`` so every dimension has the same mean degree, io length
    calibrated to ``io_degree`` input synapses per channel, default
    ``n_hidden exp(-2)`` as in the reference). ``io_length`` fixes the io
    length instead (no io calibration); set at most one of the two.
    """

    preset: str = setting(
        "reference",
        "reference: the published network (integer grid, p = exp(-2 d), inputs "
        "and outputs at distance 1); spatial: ours (uniform in a periodic box, scaled laws, "
        "calibrated lengths; docs/dimensions.md).",
        choices=PRESETS,
    )
    n_hidden: int = setting(64, "Hidden neurons.", "neurons", low=1, integer=True, limit=100_000)
    placement: str | None = setting(
        None, "Where hidden neurons sit (grid, jittered or uniform); none: the preset's.", choices=PLACEMENTS
    )
    mean_degree: float | None = setting(
        None,
        "Calibrate the recurrent length so the mean degree is this in every "
        "dimension; none: the preset's (spatial: 4, reference: uncalibrated).",
        "synapses per neuron",
        low=0,
        low_open=True,
    )
    io_degree: float | None = setting(
        None,
        "spatial preset: calibrate the io length to this many input synapses "
        "per channel (below n_hidden); none: n_hidden exp(-2), as in the "
        "reference.",
        "synapses per channel",
        low=0,
        low_open=True,
    )
    io_length: float | None = setting(
        None,
        "A fixed io length instead of a calibrated one (at most one of io_degree and io_length).",
        "position units",
        low=0,
        low_open=True,
    )
    conduction_speed: float | None = setting(
        None,
        "Distance per sub-step that sets recurrent delays (reach per "
        "sub-step in the spatial preset); none: every delay is one "
        "sub-step (published).",
        "distance per sub-step",
        low=0,
        low_open=True,
    )
    max_delay: int = setting(8, "Cap on synaptic delays.", "sub-steps", low=1, high=255, integer=True)
    excitatory_fraction: float = setting(
        0.8,
        "Probability that a neuron (or input channel) is excitatory (Dale's law; published 0.8).",
        "probability",
        low=0,
        high=1,
    )
    substeps: int = setting(
        64,
        "Network sub-steps per environment step (published: 64, CartPole 4).",
        "sub-steps",
        low=1,
        high=10_000,
        integer=True,
    )
    dt: float = setting(1e-3, "Time step of the neuron model.", "s", low=0, high=0.1, low_open=True)
    plasticity: bool = setting(
        False,
        "Tsodyks-Markram short-term plasticity: each neuron's outgoing synapses "
        "scale with its release u x, with genes U, tau_f, tau_d per neuron that evolve like "
        "the other neuron parameters (docs/plasticity.md); false: static synapses "
        "(published).",
    )

    def __post_init__(self):
        check(self, "network")
        if not isinstance(self.plasticity, bool):
            raise ValueError(f"network.plasticity: expected true or false, got {self.plasticity!r}")
        if self.io_degree is not None:
            if self.preset == "reference":
                raise ValueError(
                    "network.io_degree: the reference preset puts every input/output pair at distance 1, "
                    "so there is no io length to calibrate; use preset = 'spatial' or drop io_degree"
                )
            if self.io_length is not None:
                raise ValueError(
                    f"network.io_degree, network.io_length: expected at most one (io_degree calibrates "
                    f"io_length), got {self.io_degree} and {self.io_length}; drop one"
                )
            if not 0 < self.io_degree < self.n_hidden:
                raise ValueError(
                    f"network.io_degree: expected a value in (0, {self.n_hidden}) (synapses per input "
                    f"channel, below n_hidden), got {self.io_degree}"
                )

    def spec(self, dim: int) -> GenomeSpec:
        """The :class:`GenomeSpec` of this network in ``dim`` dimensions."""
        if self.preset == "reference":
            base = GenomeSpec.reference(dim, self.n_hidden)
        else:
            base = GenomeSpec.spatial(dim, self.n_hidden, self.mean_degree or 4.0, self.io_degree)
        rule_changes = {"conduction_speed": self.conduction_speed, "max_delay": self.max_delay}
        changes = {"excitatory_fraction": self.excitatory_fraction, "plasticity": self.plasticity}
        if self.io_length is not None:
            rule_changes["io_length"] = self.io_length
            changes["io_degree"] = None  # a fixed io length, not calibrated
        changes["rule"] = dataclasses.replace(base.rule, **rule_changes)
        if self.placement is not None:
            changes["placement"] = self.placement
        if self.mean_degree is not None:
            changes["mean_degree"] = self.mean_degree
        return dataclasses.replace(base, **changes)


@document
@dataclass(frozen=True)
class ProtocolConfig:
    """How fitness and the reported test score are measured: the scenario's ``[protocol]`` table.

    Fitness is the mean return over ``episodes`` episodes whose reset seeds
    are drawn fresh every generation (``fixed_seeds`` reuses generation 0's,
    as published). The optional curriculum caps episodes at
    ``ceil(curriculum_start * curriculum_growth ** generation)`` steps. Every
    ``test_every`` generations (and at the first and the last) the best genome runs
    ``test_episodes`` held-out episodes; that is the reported score. With
    ``confirm_episodes`` a test that beats the champion's score is confirmed
    first: the genome runs that many more held-out episodes and its score is
    the mean over all of them, so a lucky short test cannot crown it (the best
    of many noisy tests overstates what it picks). The run stops early once
    the test score reaches ``target``, or once it has used ``max_env_steps``
    environment steps (training and tests; a budget).
    """

    episodes: int = setting(
        3,
        "Training episodes per individual; fitness is their mean return.",
        "episodes",
        low=1,
        integer=True,
        limit=1_000,
    )
    fixed_seeds: bool = setting(
        False, "Reuse generation 0's episode seeds every generation (published); false draws fresh ones."
    )
    curriculum: bool = setting(
        False, "Cap episodes at ceil(curriculum_start * curriculum_growth ** generation) steps (published)."
    )
    curriculum_start: int = setting(
        10, "Episode cap of generation 0 under the curriculum.", "env steps", low=1, integer=True
    )
    curriculum_growth: float = setting(
        1.1, "Growth of the episode cap per generation under the curriculum.", "factor per generation", low=1
    )
    test_every: int = setting(
        10,
        "Test the best genome every this many generations (and at the first and the last).",
        "generations",
        low=1,
        integer=True,
    )
    test_episodes: int = setting(
        100,
        "Held-out episodes of a test; their mean is the reported score.",
        "episodes",
        low=1,
        integer=True,
        limit=10_000,
    )
    target: float | None = setting(None, "Stop once the test score reaches this; none runs every generation.", "return")
    bounds_episodes: int = setting(
        10,
        "Random-action episodes that measure the observation bounds of the reference encoder.",
        "episodes",
        low=1,
        integer=True,
        limit=1_000,
    )
    max_env_steps: int | None = setting(
        None,
        "Stop once the run has used this many environment steps (training and tests); none: no budget.",
        "env steps",
        low=1,
        integer=True,
    )
    confirm_episodes: int = setting(
        0,
        "A test that beats the champion's score is confirmed with this many more held-out episodes (0 = off).",
        "episodes",
        low=0,
        integer=True,
        limit=10_000,
    )

    def __post_init__(self):
        if self.target is not None and not (isinstance(self.target, Real) and math.isfinite(self.target)):
            raise ValueError(
                f"protocol.target: expected a finite score (or no target), got {self.target}; "
                "drop the key to run every generation"
            )
        check(self, "protocol")


@document
@dataclass(frozen=True)
class StartConfig:
    """What generation 0 starts from: the scenario's ``[start]`` table (read by :mod:`.start`)."""

    genome: str | None = setting(
        None,
        "Start from a controller instead of random genomes: a genome file, a run "
        "archive (its champion) or a .nir graph, path relative to the working "
        "directory. Generation 0 is that genome and population - 1 mutants of it; none: "
        "random genomes (published).",
    )

    def __post_init__(self):
        if self.genome is not None and (not isinstance(self.genome, str) or not self.genome.strip()):
            raise ValueError(f"start.genome: expected the path of a genome file, got {self.genome!r}")


@document
@dataclass(frozen=True)
class Scenario:
    """Everything a run needs, except the embedding dimension and the seed."""

    name: str = setting(
        "scenario",
        "Names the archive file: 1-100 letters, digits, '-', '_' or '.', starting "
        "with a letter or digit; a scenario file's name defaults to its file stem.",
    )
    env: EnvConfig = field(default_factory=EnvConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    decoder: DecoderSpec = field(default_factory=DecoderSpec)
    start: StartConfig = field(default_factory=StartConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    mutation: MutationParams = field(default_factory=MutationParams)
    search: SearchConfig = field(default_factory=SearchConfig)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    allow_large: bool = setting(
        False, "Lift every size limit (the keys with a limit, --generations and --workers included)."
    )

    def __post_init__(self):
        if not isinstance(self.name, str) or not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(
                f"name: expected 1-100 letters, digits, '-', '_' or '.' starting with a letter or digit "
                f'(it names the archive file), got {self.name!r}; e.g. name = "hopper-big"'
            )
        if not self.allow_large:
            for key, limit in LIMITS.items():
                section, _, attr = key.partition(".")
                value = getattr(getattr(self, section), attr, None) if attr else None
                if value is not None and value > limit:
                    raise ValueError(f"{key}: expected at most {limit:,}, got {value:,}; {_LARGE_HINT}")

    def to_dict(self) -> dict:
        """The scenario as nested dicts of its keys (what an archive stores; :func:`scenario_from_dict` reads it)."""
        return _key_dict(self)

    def replace(self, **sections) -> Scenario:
        return dataclasses.replace(self, **sections)


#: The scenario's tables, in file order: section name -> the dataclass whose fields are its keys.
SECTIONS = {f.name: f.default_factory for f in fields(Scenario) if f.default_factory is not dataclasses.MISSING}


#: Fields of a nested table that the run sets rather than the scenario: the hint for a scenario that sets them.
_RUN_SET = {
    "population": "the number of candidates is evolution.population",
    "directions": "ARS's directions are evolution.population / 2",
}
#: Nested tables: (dataclass, field) -> the dataclass of its table.
_NESTED = {
    (Scenario, "env"): EnvConfig,
    (Scenario, "network"): NetworkConfig,
    (Scenario, "encoder"): EncoderSpec,
    (Scenario, "decoder"): DecoderSpec,
    (Scenario, "start"): StartConfig,
    (Scenario, "evolution"): EvolutionConfig,
    (Scenario, "mutation"): MutationParams,
    (Scenario, "protocol"): ProtocolConfig,
    (Scenario, "search"): SearchConfig,
    **{(SearchConfig, name): module.Params for name, module in STRATEGIES.items()},
    **{(module.Params, "optimizer"): Optimizer for module in STRATEGIES.values()},
    (SearchConfig, "map_elites"): map_elites.MapElitesConfig,
}


def sub_tables(cls, default, prefix: str) -> list[tuple[str, type, object]]:
    """``(table, class, default instance)`` of a table and its nested tables, depth first (e.g. ``search``,
    ``search.open_es``, ``search.open_es.optimizer``); a nested table's defaults are its parent's."""
    out = [(prefix, cls, default)]
    for f in fields(cls):
        nested = _NESTED.get((cls, f.name))
        if nested is not None:
            out += sub_tables(nested, getattr(default, f.name), f"{prefix}.{f.name}")
    return out


def table_keys(cls, default) -> list[tuple[str, object, Key]]:
    """``(name, default, Key)`` of a table's keys, defaults read from ``default`` (a nested table's own)."""
    return [(name, getattr(default, name), key) for name, _, key in keys_of(cls)]


def scenario_keys() -> list[tuple[str, object, Key]]:
    """The table of every scenario key: ``(section.key, default, Key)``; top-level keys have no section."""
    top = list(keys_of(Scenario))
    return top + [
        (f"{table}.{name}", value, key)
        for section, cls in SECTIONS.items()
        for table, sub, default in sub_tables(cls, cls(), section)
        for name, value, key in table_keys(sub, default)
    ]


def _key_dict(obj) -> dict:
    """The declared keys and nested tables of a settings dataclass as a dict (tuples as lists)."""
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if (type(obj), f.name) in _NESTED:
            out[f.name] = _key_dict(value)
        elif key_of(f) is not None:
            out[f.name] = (
                list(value) if isinstance(value, tuple) else (dict(value) if isinstance(value, dict) else value)
            )
    return out


#: Upper bounds of sizes, lifted by the scenario key ``allow_large = true`` (made from the keys'
#: ``limit``; ``workers`` is an argument of a run, not a key).
LIMITS = {name: key.limit for name, _, key in scenario_keys() if key.limit is not None} | {"workers": 256}


_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "dict": (dict,)}


def _check_type(value, annotation: str, where: str):
    allowed = annotation.replace(" ", "").split("|")
    if value is None and "None" in allowed:
        return value
    for a in allowed:
        kinds = _TYPES.get(a)
        if kinds and isinstance(value, kinds) and not (a in ("int", "float") and isinstance(value, bool)):
            return float(value) if a == "float" else value
        if a.startswith("tuple") and isinstance(value, list | tuple):
            return tuple(value)
    raise ValueError(f"{where}: expected {annotation}, got {value!r} ({type(value).__name__})")


def _build(cls, data, where: str, base=None):
    if dataclasses.is_dataclass(data) and isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a table of settings, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls) if key_of(f) is not None or (cls, f.name) in _NESTED}
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'? " if close else ""
            if key in _RUN_SET:  # a field the run fills in, e.g. a strategy's population
                hint = f"{_RUN_SET[key]}; "
            raise ValueError(f"{where}.{key}: unknown key; {hint}valid keys: {', '.join(known)}")
    kwargs = {}
    for key, value in data.items():
        f = known[key]
        nested = _NESTED.get((cls, key))
        if nested is not None:  # a nested table starts from its parent's default (e.g. PGPE's ClipUp)
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
            kwargs[key] = _build(nested, value, f"{where}.{key}", default)
        else:
            kwargs[key] = _check_type(value, str(f.type), f"{where}.{key}")
    try:
        return cls(**kwargs) if base is None else dataclasses.replace(base, **kwargs)
    except (TypeError, ValueError) as exc:
        msg, parts = str(exc), where.split(".")
        if not msg.startswith(parts[-1]):
            raise ValueError(f"{where}: {msg}") from None
        parent = ".".join(parts[1:-1])  # a nested table's errors name their whole path: search.pgpe.sigma_init
        raise ValueError(f"{parent}.{msg}" if parent and not msg.startswith(parent + ".") else msg) from None


#: Keys that moved to the table of the part that reads them: old (section, key) -> new (section, key).
#: A start genome is not a GA setting (:mod:`.start` reads it); the GA, not :func:`mutate`, adapts strengths.
MOVED_KEYS = {
    ("evolution", "init_genome"): ("start", "genome"),
    ("mutation", "adapt_tau"): ("evolution", "adapt_tau"),
    ("mutation", "adapt_min"): ("evolution", "adapt_min"),
}


def migrate(data: dict) -> dict:
    """A scenario dict with every key of :data:`MOVED_KEYS` in its new place (a new dict; the input is kept).

    Scenario files and the scenarios stored in archives written before a key
    moved are read through here, and only here (:func:`scenario_from_dict`),
    so they keep loading. A key given in both its old and its new place is an
    error naming both.
    """
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for (old_section, old_key), (new_section, new_key) in MOVED_KEYS.items():
        old, new = out.get(old_section), out.get(new_section, {})
        if not (isinstance(old, dict) and old_key in old and isinstance(new, dict)):
            continue
        if new_key in new:
            raise ValueError(
                f"{old_section}.{old_key}: moved to {new_section}.{new_key}, which is given too; "
                f"drop {old_section}.{old_key}"
            )
        out[old_section] = {k: v for k, v in old.items() if k != old_key}
        out[new_section] = {**new, new_key: old[old_key]}
    return out


def scenario_from_dict(data: dict, name: str | None = None) -> Scenario:
    """Build a :class:`Scenario` from nested dicts (unknown keys are errors; moved keys go through :func:`migrate`)."""
    data = migrate(dict(data))
    if name is not None and "name" not in data:
        data["name"] = name
    return _build(Scenario, data, "scenario")


def load_scenario(path) -> Scenario:
    """Load a scenario file (e.g. ``scenarios/NAME.toml``); the scenario's name defaults to the file stem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scenario file {path} not found; the shipped ones are listed in scenarios/README.md")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    try:
        return scenario_from_dict(data, name=path.stem)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def stored_scenario(data: dict) -> Scenario:
    """The scenario of an archive written by this or an older version.

    Keys added since take their defaults, except where that would change the
    network: a ``spatial`` network stored without ``io_degree`` had a fixed io
    length (1.0 unless set), not a calibrated one, and keeps it. Keys that
    moved since (:data:`MOVED_KEYS`) are moved back into place by :func:`migrate`.
    """
    net = data.get("network") if isinstance(data, dict) else None
    if isinstance(net, dict) and "io_degree" not in net and net.get("preset") == "spatial":
        data = {**data, "network": {**net, "io_length": net.get("io_length") or 1.0}}
    return scenario_from_dict(data)


def as_scenario(scenario) -> Scenario:
    """Accept a Scenario, a dict, or a path to a TOML file."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return scenario_from_dict(scenario)
    if isinstance(scenario, str | Path):
        return load_scenario(scenario)
    raise TypeError(f"scenario: expected a Scenario, dict or TOML path, got {type(scenario).__name__}")


def check_run_args(
    sc: Scenario, dim: int, seed: int, generations: int | None = None, workers: int | None = None
) -> int:
    """Check the arguments of a run; return its generation count.

    ``generations`` (None: the scenario's) and ``workers`` (None: one per
    core) must be integers >= 1, bounded by :data:`LIMITS` unless the
    scenario sets ``allow_large``; ``dim`` and ``seed`` as in :mod:`.arguments`.
    """
    check_dim(dim)
    check_seed(seed)
    n_gen = sc.evolution.generations if generations is None else generations
    for name, value in (("generations", n_gen), ("workers", workers)):
        if value is None:
            continue
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        limit = LIMITS["evolution.generations" if name == "generations" else name]
        if value > limit and not sc.allow_large:
            raise ValueError(f"{name}: expected at most {limit:,}, got {value:,}; {_LARGE_HINT}")
    return int(n_gen)


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_env(env: EnvConfig) -> None:
    """Make the scenario's environment once; any failure becomes one ValueError with its fix.

    Covers an unknown id, a missing dependency (e.g. Box2D for
    ``LunarLander-v3``: the message names the package to install),
    keyword arguments the environment rejects, unsupported spaces, and a
    missing or malformed body file (``env.xml_file``).
    """
    open_env(env.id, env.task_kwargs, env.max_episode_steps, scenario_body(env)).close()


def scenario_body(env: EnvConfig) -> str | None:
    """The text of the scenario's body file (None without ``env.xml_file``); one ValueError if it is bad."""
    from ..tasks.bodies import load_body

    return None if env.xml_file is None else load_body(env.xml_file)


def open_env(env_id: str, kwargs: dict, max_episode_steps: int | None = None, body: str | None = None):
    """``make_env`` with its failures as one ValueError with the fix (see :func:`check_env`)."""
    import gymnasium

    from ..tasks.envs import make_env

    try:
        return make_env(env_id, kwargs, max_episode_steps, body)
    except (TypeError, ImportError, gymnasium.error.Error) as exc:
        raise ValueError(f"env: {' '.join(str(exc).split())}") from None


def rule_for(scenario: Scenario, dim: int, n_inputs: int | None = None) -> ConnectivityRule:
    """The resolved connectivity rule of a scenario in ``dim`` dimensions.

    ``n_inputs`` (the encoder's channel count) is needed when the io length
    is calibrated (``spatial`` preset without ``network.io_length``).
    """
    return scenario.network.spec(dim).resolved_rule(n_inputs)
