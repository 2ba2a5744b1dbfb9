"""Scenarios: a task and every setting of a run, as frozen dataclasses.

A scenario is a TOML file (``scenarios/README.md`` lists the shipped ones)
with the tables ``[env]``, ``[network]``, ``[encoder]``, ``[decoder]``,
``[start]``, ``[evolution]``, ``[mutation]``, ``[search]`` (with a sub-table per
strategy) and ``[protocol]`` plus the
top-level ``name`` and ``allow_large``. Every key is optional; the defaults
are the published settings.

The table of keys: each key is declared once, in the dataclass of the part
that reads it (:func:`~spatial_snn.space.settings.setting`: default, unit,
bounds, limit, meaning; the tables that belong to no other part are in
:mod:`.scenario_tables`), and :func:`scenario_keys` lists them all. That table
is what validation checks, what :data:`LIMITS` is made of and what
``docs/scenarios.md`` is generated from (:mod:`.scenario_doc`). An unknown
key is an error that names the nearest valid key. Keys that moved to another
table are read in their old place too (:data:`MOVED_KEYS`, :func:`migrate`).
:func:`~spatial_snn.runs.setup.resolve` turns a scenario into the resolved
setup of one run and steps it once, so a broken scenario fails in a second,
not after an hour; :mod:`.scenario_checks` checks the arguments of a run and
the scenario's environment.

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
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..evo import map_elites
from ..evo.evolution import EvolutionConfig
from ..evo.search import SearchConfig
from ..evo.strategies.optimizers import Optimizer
from ..evo.strategies.registry import STRATEGIES
from ..evo.variation import MutationParams
from ..space.settings import Key, document, key_of, keys_of, setting
from ..tasks.encoding import DecoderSpec, EncoderSpec
from .scenario_tables import EnvConfig, NetworkConfig, ProtocolConfig, StartConfig

#: A scenario name: letters, digits, '-', '_' and '.', starting with a letter or digit.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: The fix named by an error that a size is above its limit (:data:`LIMITS`).
LARGE_HINT = "set `allow_large = true` at the top of the scenario to go beyond it"


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
                    raise ValueError(f"{key}: expected at most {limit:,}, got {value:,}; {LARGE_HINT}")

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
