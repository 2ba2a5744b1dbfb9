"""Reading run archives: :func:`open_run` and :class:`Run`.

Two layouts (:mod:`.schema`, ``docs/archive.md``), one reader:

* a *split* run (``format_version`` 2, what :class:`~.archive.RunWriter`
  writes): a header file at the user's path and one immutable part file per
  generation in ``<path>.d/``; the generations are the part files
  ``gen-000000.h5 .. gen-(n-1).h5`` found there (the directory listing is
  the index), the history is read from their ``stats``, and the champion is
  the last one committed (inside a generation's part, or a champion part).
* a *packed* run (``format_version`` 1): one self-contained file, as written
  by the single-file writer of before and by :func:`~.pack.pack_run`.

Every count is bounded by what the files hold before anything is allocated,
every dataset's checksum is verified, and any damage ends in one
:class:`ArchiveFormatError` naming the file and the part. Files are opened
without HDF5 file locking, so a run that is being written can be read.

Identity (``docs/archive.md``): the part directory is derived from the
header's own path; the parts' identity and chain and the index bound to
them are checked by :mod:`.run_parts`, whose methods :class:`Run` inherits.
A packed file's ``/history`` is checked against its generations' ``stats``.
Caches that disagree with the data lose, with an :class:`ArchiveWarning`.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings

import h5py
import numpy as np

from ..space.genome import Genome
from . import schema
from .genome_io import check_env_id, read_genomes
from .h5io import READ_ERRORS, ArchiveFormatError, ArchiveWarning, get, get_json, one_line, open_checked, text_attr
from .run_parts import SplitRunReading, check_all, list_parts, reading_errors, run_identity
from .schema import FORMAT_NAME, GENERATION_FIELDS, HISTORY_KEYS

__all__ = ["MissingRunData", "Run", "open_run"]


class MissingRunData(ArchiveFormatError, KeyError):
    """A run-level array the run does not store (an :class:`ArchiveFormatError` and a KeyError)."""

    __str__ = Exception.__str__


def open_run(path, *, allow_import=()) -> Run:
    """Open a run archive read-only (no HDF5 file locking: live runs can be read).

    Only committed generations are visible; the :class:`Run` is a snapshot
    taken at opening, so reopen to see generations written since. Use it as
    a context manager (``with open_run(path) as run:``).

    What a run offers: ``run.config`` (the resolved scenario, dimension,
    seed, generation count, task), ``run.seed``, ``run.dim``,
    ``run.n_generations``; ``run.history`` (one array per statistic over the
    generations: ``best``, ``mean``, ``test``, ``env_steps``, ``wall_time``,
    ``cpu_time``, ``stopped``, ...); ``run.champion()`` (the genome with the
    best held-out test and a dict with its ``generation``, ``test_returns``
    and ``test_seeds``, or None); ``run.population(g)``, ``run.genome(g, i)``
    and ``run.generation(g)`` (fitness, episode returns, lengths and seeds,
    parents, origin, ``extra``) of generation ``g`` (negative counts from the
    end); ``run.run_data(name)`` for ``run.run_data_names`` (observation
    bounds, extensions of the run).

    Raises
    ------
    ArchiveFormatError
        Missing file, not a regular file, not HDF5, another kind of HDF5
        file, newer ``format_version``, missing parts, or damaged / truncated.

    ``allow_import``: modules that :attr:`Run.task` may name in an
    ``env_id`` of the form ``module:Env`` (see :func:`check_env_id`).
    """
    return Run(os.fspath(path), allow_import=allow_import)


class Run(SplitRunReading):
    """Read access to a run archive (see :func:`open_run`).

    Attributes
    ----------
    path : str
    config : dict
        The resolved scenario the run was started with.
    seed, dim : int
    attrs : dict
        All root attributes, decoded (``format``, ``format_version``,
        ``engine_version``, ``created``, ``versions``, ...).
    n_generations : int
        Committed generations (numbered ``0 .. n_generations - 1``).
    split : bool
        True for a header with part files, False for one packed file.
    """

    def __init__(self, path: str, *, allow_import=()):
        self.path = path
        self.allow_import = tuple(allow_import)
        self._f = f = open_checked(path, FORMAT_NAME)
        self._notes: list[str] = []  # caches that disagree with the data: said once the run is known good
        try:
            self._load()
        except BaseException:
            f.close()
            raise
        for note in self._notes:
            warnings.warn(note, ArchiveWarning, stacklevel=3)

    def _load(self) -> None:
        f, path = self._f, self.path
        with reading_errors(path, "root attributes"):
            attrs = {}
            for key in f.attrs:
                if key in ("config", "versions"):
                    attrs[key] = get_json(f, key)
                elif f.attrs[key].dtype.kind == "S":
                    attrs[key] = text_attr(f, key)
                else:
                    attrs[key] = np.asarray(f.attrs[key]).reshape(-1)[:1].tolist()
                    attrs[key] = attrs[key][0] if attrs[key] else None
            self.attrs = attrs
            for key, kind in (("config", dict), ("seed", int), ("dim", int)):
                if not isinstance(attrs.get(key), kind) or isinstance(attrs.get(key), bool):
                    raise ValueError(f"{key}: expected {kind.__name__}, got {type(attrs.get(key)).__name__}")
            self.config, self.seed, self.dim = attrs["config"], attrs["seed"], attrs["dim"]
            if self.dim not in (1, 2, 3):
                raise ValueError(f"dim: expected 1, 2 or 3, got {self.dim}")
            self.split = attrs["format_version"] == schema.SPLIT_VERSION
        with reading_errors(path, "identity attributes"):
            self.identity = run_identity(f, path, self.config, self.seed, self.dim)
            self.identity_from = int(f.attrs.get(schema.IDENTITY_FROM, 0)) if self.identity else math.inf
        if self.split:
            # derived from the header's own path only: nothing stored in a file decides where the parts are
            self.parts_dir = schema.parts_dir(path)
            if not os.path.isdir(self.parts_dir) or os.path.islink(self.parts_dir):
                raise ArchiveFormatError(
                    f"{path}: its part directory {self.parts_dir} is missing (or not a plain directory); a run's "
                    "generations sit beside its header under the header's name + '.d': a copied or renamed "
                    "header has none; move the directory along with the header, or pack the run first"
                )
            self.n_generations, champions = list_parts(self.parts_dir)
            self._load_split(champions)
        else:
            self.parts_dir = None
            self.part_digests, self.stats_at = [], []
            self._load_packed()

    # ----------------------------------------------------------- split runs
    def _stats_into(self, g: h5py.Group, gen: int, columns: dict) -> None:
        keys, values = get_json(g["stats"], "keys"), get(g, "stats", np.float64, 1)
        if not isinstance(keys, list) or len(keys) != len(values) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"{g.name}/stats: {len(values)} values for keys {keys!r}")
        for key, value in zip(keys, values, strict=True):
            columns.setdefault(key, np.full(self.n_generations, np.nan))[gen] = value
        return keys

    def _complete(self, columns: dict) -> dict:
        for key in HISTORY_KEYS:
            columns.setdefault(key, np.full(self.n_generations, np.nan))
        return columns

    # ---------------------------------------------------------- packed runs
    def _load_packed(self) -> None:
        f, path = self._f, self.path
        with reading_errors(path, "generation index /generations"):
            groups = f[schema.GENERATIONS]
            if not isinstance(groups, h5py.Group) or len(groups) > schema.MAX_GENERATIONS:
                raise ValueError("expected a group of at most 10**7 generations")
            names = sorted(groups, key=lambda s: (len(s), s))
            if names != [schema.generation_name(k) for k in range(len(names))]:
                raise ValueError(f"generation groups are not numbered 0..{len(names) - 1} without gaps")
            # the old writer linked groups only once complete; at most the last can be unfinished
            if names and not bool(groups[names[-1]].attrs.get("complete", False)):
                names.pop()
            self._names = names
            self.n_generations = len(names)
        with reading_errors(path, "history"):
            self._history = self._packed_history()
        self._champion_part = self._champion = None

    def _packed_history(self) -> dict[str, np.ndarray]:
        """The generations' own ``stats``; ``/history`` (a copy) is checked against them, and any
        disagreement or damage is reported with an :class:`ArchiveWarning` (the stats win)."""
        n = self.n_generations
        columns: dict[str, np.ndarray] = {"generation": np.arange(n, dtype=np.int64)}
        for gen in range(n):
            with self.generation_group(gen) as g:
                self._stats_into(g, gen, columns)
        problem = None
        try:
            hist = {
                key: get(self._f[schema.HISTORY], key, np.float64 if key != "generation" else np.int64, 1)
                for key in self._f[schema.HISTORY]
            }
            if any(len(arr) < n for arr in hist.values()) or "generation" not in hist:
                raise ValueError("shorter than the complete generations")
            if not np.array_equal(hist["generation"][:n], np.arange(n)):
                raise ValueError("generation numbers out of order")
            for key, arr in hist.items():
                if key in columns and not np.array_equal(arr[:n], columns[key], equal_nan=True):
                    problem = f"disagrees with the generations' own statistics ({key})"
                    break
                columns.setdefault(key, arr[:n].copy())  # a column the stats do not hold: kept as stored
        except READ_ERRORS as exc:
            problem = f"is damaged ({one_line(exc)})"
        if problem is not None:
            self._notes.append(f"{self.path}: /history {problem}; the generations' own statistics are used")
        return self._complete(columns)

    # --------------------------------------------------------------- access
    @property
    def champion_commit(self) -> tuple[int, int, str] | None:
        """Where a split run's champion was committed: ``(after, k, part name)``.

        ``(g, 0, "gen-g.h5")`` for a champion inside generation ``g``'s part,
        ``(after, k, "champion-after-k.h5")`` for a champion part; None for a
        packed run or a run without champion. The writer continues from it.
        """
        return (*self._champion[0], self._champion[1]) if self.split and self._champion else None

    @contextlib.contextmanager
    def generation_group(self, gen: int):
        """The h5py group of generation ``gen``, open for the ``with`` block (low-level access;
        the writer and ``pack_run`` copy it whole)."""
        n = self.n_generations
        if not isinstance(gen, int | np.integer) or not -n <= gen < n:
            raise IndexError(f"generation {gen}: expected an index into the {n} complete generations")
        gen = int(gen) % n
        if not self.split:
            with reading_errors(self.path, f"generation {gen}"):
                group = self._f[schema.GENERATIONS][self._names[gen]]
            yield group
            return
        name = os.path.join(self.parts_dir, schema.generation_part(gen))
        with open_checked(name, schema.PART_FORMAT_NAME) as p:
            with reading_errors(name, f"generation {gen}"):
                group = p[schema.GENERATION]
            yield group

    @property
    def history(self) -> dict[str, np.ndarray]:
        """Per-generation statistics, one ``(n_generations,)`` array per key.

        Keys: ``generation`` and :data:`HISTORY_KEYS` (``best``, ``mean``,
        ``test``, ``env_steps``, ``wall_time``, ``invalid_obs``), plus any
        extra statistic the runner gave.
        """
        return {key: arr.copy() for key, arr in self._history.items()}

    @property
    def scenario(self) -> dict:
        """``config["scenario"]``, the stored scenario (ArchiveFormatError if absent)."""
        sc = self.config.get("scenario")
        if not isinstance(sc, dict):
            raise ArchiveFormatError(
                f"{self.path}: config has no scenario object (got {type(sc).__name__}); "
                "the archive was not written by spatial-snn's runner and cannot be resumed or replayed"
            )
        return sc

    @property
    def task(self) -> dict:
        """``config["task"]``, the task description the runner stored (env id checked by :func:`check_env_id`)."""
        task = self.config.get("task")
        if not isinstance(task, dict):
            raise ArchiveFormatError(
                f"{self.path}: config has no task object (got {type(task).__name__}); the archive cannot be replayed"
            )
        check_env_id(task.get("env_id"), self.path, self.allow_import)
        return task

    def population(self, gen: int) -> list[Genome]:
        """All genomes of generation ``gen`` (negative indices count from the end)."""
        with self.generation_group(gen) as g, reading_errors(g.file.filename, f"generation {gen}"):
            return read_genomes(g["population"])

    def genome(self, gen: int, idx: int) -> Genome:
        """Genome ``idx`` of generation ``gen``."""
        with self.generation_group(gen) as g:
            with reading_errors(g.file.filename, f"generation {gen}"):
                population = g["population"]
            return read_genomes(population, [idx])[0]  # IndexError for a bad idx, else ArchiveFormatError

    def generation(self, gen: int) -> dict:
        """Arrays of generation ``gen``: the ``write_generation`` fields.

        Keys: ``fitness, episode_returns, episode_lengths, episode_seeds,
        counters, parents, origin``, ``test_returns, test_seeds`` (when
        tested), ``stats`` (dict), ``extra`` (dict), ``rng_state`` (or None).
        """
        with self.generation_group(gen) as g, reading_errors(g.file.filename, f"generation {gen}"):
            out = {name: get(g, name, dtype) for name, dtype, _ in GENERATION_FIELDS}
            for name, dtype in schema.TEST_FIELDS:
                if name in g:
                    out[name] = get(g, name, dtype, 1)
            keys, values = get_json(g["stats"], "keys"), get(g, "stats", np.float64, 1)
            out["stats"] = dict(zip(keys, values.tolist(), strict=True))
            out["extra"] = {k: get(g["extra"], k) for k in g["extra"]} if "extra" in g else {}
            out["rng_state"] = get_json(g, "rng_state") if "rng_state" in g.attrs else None
        return out

    def champion(self) -> tuple[Genome, dict] | None:
        """``(genome, info)`` of the champion, or None; info: test_returns, test_seeds,
        generation, index.

        ArchiveFormatError when the champion names a generation the run does
        not hold complete (an old single-file archive killed mid-generation).
        """
        found = self._stored_champion()
        if found is not None and not 0 <= found[1]["generation"] < self.n_generations:
            raise ArchiveFormatError(
                f"{self.path}: its champion was tested in generation {found[1]['generation']}, but the run holds "
                f"{self.n_generations} complete generations (damaged, or the writer was stopped inside that "
                "generation); restore the file from a copy"
            )
        return found

    def _stored_champion(self) -> tuple[Genome, dict] | None:
        """The champion as stored, not checked against the complete generations (the writer's split)."""
        if self.split:
            if self._champion_part is None:
                return None
            name = os.path.join(self.parts_dir, self._champion_part)
            with open_checked(name, schema.PART_FORMAT_NAME) as p, reading_errors(name, "champion"):
                return self._read_champion(p[schema.CHAMPION])
        with reading_errors(self.path, "champion"):
            if schema.CHAMPION not in self._f:
                return None
            return self._read_champion(self._f[schema.CHAMPION])

    def verify(self) -> None:
        """Read every dataset of every generation and champion and check its checksum, and every
        part's identity and chain; ArchiveFormatError naming the first file that fails."""
        if self.split:
            self._verify_split()
            return
        for key in (schema.GENERATIONS, schema.CHAMPION, schema.RUN_DATA):  # /history is a copy, checked
            if key in self._f:  # against the generations' stats when the file is opened
                with reading_errors(self.path, key):
                    group = self._f[key]
                check_all(group, self.path)

    @staticmethod
    def _read_champion(c: h5py.Group) -> tuple[Genome, dict]:
        genome = read_genomes(c["genome"])[0]
        info = {
            "test_returns": get(c, "test_returns", np.float64, 1),
            "test_seeds": get(c, "test_seeds", np.int64, 1),
            "generation": int(c.attrs["generation"]),
            "index": int(c.attrs["index"]),
        }
        return genome, info

    @property
    def run_data_names(self) -> list[str]:
        with reading_errors(self.path, "run data"):
            return sorted(self._f[schema.RUN_DATA]) if schema.RUN_DATA in self._f else []

    def run_data(self, name: str) -> np.ndarray:
        """A run-level array stored with the writer's ``run_data`` (e.g. ``obs_low``)."""
        names = self.run_data_names
        if name not in names:
            raise MissingRunData(
                f"{self.path}: run data {name!r} is missing (stored: {names}); the header was not "
                "written by spatial-snn's runner, or was damaged: restore it from a copy"
            )
        with reading_errors(self.path, f"run data {name}"):
            return get(self._f[schema.RUN_DATA], name)

    def close(self) -> None:
        if self._f.id.valid:
            self._f.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Run({self.path!r}, dim={self.dim}, seed={self.seed}, generations={self.n_generations})"
