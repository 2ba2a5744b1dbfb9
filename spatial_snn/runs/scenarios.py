"""Scenarios: a task and every setting of a run, as frozen dataclasses.

A scenario is a TOML file (``scenarios/*.toml``) with the tables ``[env]``,
``[network]``, ``[encoder]``, ``[decoder]``, ``[evolution]``, ``[mutation]``
and ``[protocol]`` plus a top-level ``name``. Every key is optional; the
defaults are the published settings. An unknown key is an error that names
the nearest valid key; every value is type- and range-checked by its
dataclass. :func:`~spatial_snn.runs.setup.resolve` turns a scenario into
the resolved setup of one run and steps it once, so a broken scenario fails
in a second, not after an hour.

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
from pathlib import Path

import numpy as np

from ..evo.evolution import EvolutionConfig
from ..evo.variation import MutationParams
from ..space.connectivity import ConnectivityRule
from ..space.layout import PLACEMENTS, GenomeSpec
from ..tasks.backends import BACKENDS
from ..tasks.encoding import DecoderSpec, EncoderSpec
from .paths import DEFAULT_ARCHIVE_DIR, archive_path  # noqa: F401 - re-exported

PRESETS = ("reference", "spatial")
#: Upper bounds of sizes, lifted by the scenario key ``allow_large = true``.
LIMITS = {
    "network.n_hidden": 100_000,
    "evolution.population": 10_000,
    "evolution.generations": 100_000,
    "protocol.episodes": 1_000,
    "protocol.test_episodes": 10_000,
    "protocol.confirm_episodes": 10_000,
    "protocol.bounds_episodes": 1_000,
    "env.max_episode_steps": 1_000_000,
    "network.substeps": 10_000,
    "network.max_delay": 10_000,
    "encoder.bins": 1_000,
    "decoder.bins": 1_000,
    "workers": 256,
}
#: Run seeds are 0..SEED_MAX (numpy's classic 32-bit seed range).
SEED_MAX = 2**32 - 1
#: A scenario name: letters, digits, '-', '_' and '.', starting with a letter or digit.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_LARGE_HINT = "set `allow_large = true` at the top of the scenario to go beyond it"


@dataclass(frozen=True)
class EnvConfig:
    """Environment: gymnasium id, keyword arguments, optional time-limit override.

    ``train_kwargs`` are merged over ``kwargs`` for the training episodes
    only (the fitness), e.g. ``{healthy_reward = 0}`` to take the survival
    bonus out of selection; tests, replays and reported scores use the task's
    own reward (``kwargs``).
    ``backend`` runs the training episodes on ``"gymnasium"``, on
    ``"envpool"`` (C++ batches; an error if EnvPool lacks the id or a keyword
    argument) or, with ``"auto"``, on EnvPool where it can and gymnasium
    elsewhere. Held-out tests always run on gymnasium.
    """

    id: str = "CartPole-v1"
    kwargs: dict = field(default_factory=dict)
    max_episode_steps: int | None = None
    train_kwargs: dict = field(default_factory=dict)
    backend: str = "auto"

    def __post_init__(self):
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"env.id: expected a gymnasium id such as 'Hopper-v5', got {self.id!r}")
        if not isinstance(self.kwargs, dict):
            raise ValueError(f"env.kwargs: expected a table of keyword arguments, got {self.kwargs!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"env.backend: expected one of {BACKENDS}, got {self.backend!r}")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ValueError(f"env.max_episode_steps: expected >= 1, got {self.max_episode_steps}")


@dataclass(frozen=True)
class NetworkConfig:
    """Network shape and embedding.

    ``preset = "reference"`` is the published network (integer grid,
    ``exp(-2 d)``, inputs/outputs at distance 1); ``"spatial"`` is ours
    (neurons, inputs and outputs uniform in a periodic box, laws of the reach
    ``(d / length) ** dim``, docs/dimensions.md; length calibrated
    to ``mean_degree`` so every dimension has the same mean degree, io length
    calibrated to ``io_degree`` input synapses per channel, default
    ``n_hidden exp(-2)`` as in the reference). ``io_length`` fixes the io
    length instead (no io calibration); set at most one of the two.
    """

    preset: str = "reference"
    n_hidden: int = 64
    placement: str | None = None
    mean_degree: float | None = None
    io_degree: float | None = None
    io_length: float | None = None
    conduction_speed: float | None = None
    max_delay: int = 8
    excitatory_fraction: float = 0.8
    substeps: int = 64
    dt: float = 1e-3

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"network.preset: expected one of {PRESETS}, got {self.preset!r}")
        if self.n_hidden < 1:
            raise ValueError(f"network.n_hidden: expected >= 1, got {self.n_hidden}")
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
        if self.placement is not None and self.placement not in PLACEMENTS:
            raise ValueError(f"network.placement: expected one of {PLACEMENTS}, got {self.placement!r}")
        if not 1 <= self.substeps <= 10_000:
            raise ValueError(f"network.substeps: expected 1..10000 sub-steps per env step, got {self.substeps}")
        if not (math.isfinite(self.dt) and 0 < self.dt <= 0.1):
            raise ValueError(f"network.dt: expected a time step in (0, 0.1] seconds, got {self.dt}")

    def spec(self, dim: int) -> GenomeSpec:
        """The :class:`GenomeSpec` of this network in ``dim`` dimensions."""
        if self.preset == "reference":
            base = GenomeSpec.reference(dim, self.n_hidden)
        else:
            base = GenomeSpec.spatial(dim, self.n_hidden, self.mean_degree or 4.0, self.io_degree)
        rule_changes = {"conduction_speed": self.conduction_speed, "max_delay": self.max_delay}
        changes = {"excitatory_fraction": self.excitatory_fraction}
        if self.io_length is not None:
            rule_changes["io_length"] = self.io_length
            changes["io_degree"] = None  # a fixed io length, not calibrated
        changes["rule"] = dataclasses.replace(base.rule, **rule_changes)
        if self.placement is not None:
            changes["placement"] = self.placement
        if self.mean_degree is not None:
            changes["mean_degree"] = self.mean_degree
        return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class ProtocolConfig:
    """How fitness and the reported test score are measured.

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

    episodes: int = 3
    fixed_seeds: bool = False
    curriculum: bool = False
    curriculum_start: int = 10
    curriculum_growth: float = 1.1
    test_every: int = 10
    test_episodes: int = 100
    target: float | None = None
    bounds_episodes: int = 10
    max_env_steps: int | None = None
    confirm_episodes: int = 0

    def __post_init__(self):
        for name in ("episodes", "test_every", "test_episodes", "curriculum_start", "bounds_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"protocol.{name}: expected an integer >= 1, got {getattr(self, name)}")
        if self.max_env_steps is not None and self.max_env_steps < 1:
            raise ValueError(f"protocol.max_env_steps: expected an integer >= 1 or none, got {self.max_env_steps}")
        if self.confirm_episodes < 0:
            raise ValueError(f"protocol.confirm_episodes: expected an integer >= 0, got {self.confirm_episodes}")
        if not (math.isfinite(self.curriculum_growth) and self.curriculum_growth >= 1.0):
            raise ValueError(f"protocol.curriculum_growth: expected a finite value >= 1, got {self.curriculum_growth}")
        if self.target is not None and not math.isfinite(self.target):
            raise ValueError(f"protocol.target: expected a finite score (or no target), got {self.target}; "
                             "drop the key to run every generation")


@dataclass(frozen=True)
class Scenario:
    """Everything a run needs, except the embedding dimension and the seed."""

    name: str = "scenario"
    env: EnvConfig = field(default_factory=EnvConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    decoder: DecoderSpec = field(default_factory=DecoderSpec)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    mutation: MutationParams = field(default_factory=MutationParams)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    allow_large: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(
                f"name: expected 1-100 letters, digits, '-', '_' or '.' starting with a letter or digit "
                f"(it names the archive file), got {self.name!r}; e.g. name = \"hopper-big\"")
        if not self.allow_large:
            for key, limit in LIMITS.items():
                section, _, attr = key.partition(".")
                value = getattr(getattr(self, section), attr, None) if attr else None
                if value is not None and value > limit:
                    raise ValueError(f"{key}: expected at most {limit:,}, got {value:,}; {_LARGE_HINT}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **sections) -> Scenario:
        return dataclasses.replace(self, **sections)


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


def _build(cls, data, where: str):
    if dataclasses.is_dataclass(data) and isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a table of settings, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ValueError(f"{where}.{key}: unknown key; {hint}valid keys: {', '.join(known)}")
    kwargs = {}
    for key, value in data.items():
        f = known[key]
        nested = _NESTED.get((cls, key))
        if nested is not None:
            kwargs[key] = _build(nested, value, f"{where}.{key}")
        else:
            kwargs[key] = _check_type(value, str(f.type), f"{where}.{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(where.split(".")[-1]) else f"{where}: {msg}") from None


_NESTED = {
    (Scenario, "env"): EnvConfig,
    (Scenario, "network"): NetworkConfig,
    (Scenario, "encoder"): EncoderSpec,
    (Scenario, "decoder"): DecoderSpec,
    (Scenario, "evolution"): EvolutionConfig,
    (Scenario, "mutation"): MutationParams,
    (Scenario, "protocol"): ProtocolConfig,
}


def scenario_from_dict(data: dict, name: str | None = None) -> Scenario:
    """Build a :class:`Scenario` from nested dicts (unknown keys are errors)."""
    data = dict(data)
    if name is not None and "name" not in data:
        data["name"] = name
    return _build(Scenario, data, "scenario")


def load_scenario(path) -> Scenario:
    """Load ``scenarios/NAME.toml``; the scenario's name defaults to the file stem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scenario file {path} not found; shipped scenarios are in scenarios/*.toml")
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
    length (1.0 unless set), not a calibrated one, and keeps it.
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


def check_run_args(sc: Scenario, dim: int, seed: int, generations: int | None = None,
                   workers: int | None = None) -> int:
    """Check the arguments of a run; return its generation count.

    ``generations`` (None: the scenario's) and ``workers`` (None: one per
    core) must be integers >= 1, bounded by :data:`LIMITS` unless the
    scenario sets ``allow_large``; ``seed`` is in ``0..SEED_MAX``.
    """
    if dim not in (1, 2, 3) or isinstance(dim, bool):
        raise ValueError(f"dim: expected 1, 2 or 3, got {dim!r}")
    if not _is_int(seed) or not 0 <= seed <= SEED_MAX:
        raise ValueError(f"seed: expected an integer in 0..{SEED_MAX} (2**32 - 1), got {seed!r}")
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
    keyword arguments the environment rejects, and unsupported spaces.
    """
    open_env(env.id, env.kwargs, env.max_episode_steps).close()


def open_env(env_id: str, kwargs: dict, max_episode_steps: int | None = None):
    """``make_env`` with its failures as one ValueError with the fix (see :func:`check_env`)."""
    import gymnasium

    from ..tasks.envs import make_env

    try:
        return make_env(env_id, kwargs, max_episode_steps)
    except (TypeError, ImportError, gymnasium.error.Error) as exc:
        raise ValueError(f"env: {' '.join(str(exc).split())}") from None


def rule_for(scenario: Scenario, dim: int, n_inputs: int | None = None) -> ConnectivityRule:
    """The resolved connectivity rule of a scenario in ``dim`` dimensions.

    ``n_inputs`` (the encoder's channel count) is needed when the io length
    is calibrated (``spatial`` preset without ``network.io_length``).
    """
    return scenario.network.spec(dim).resolved_rule(n_inputs)
