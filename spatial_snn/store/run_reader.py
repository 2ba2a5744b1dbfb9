"""Reading run archives: :func:`open_run` and :class:`Run`.

Two layouts (:mod:`.schema`, ``docs/archive.md``), one reader:

* a *split* run (``format_version`` 2, what :class:`~.archive.RunWriter`
  writes): a header file at the user's path and one immutable part file per
  generation in ``<path>.d/``; the generations are the part files
  ``gen-000000.h5 .. gen-(n-1).h5`` found there (the directory listing is
  the index), the history is read from their ``stats``, and the champion is
  the last one committed (inside a generation's part, or a champion part).
* a *packed* run (``format_version`` 1): one self-contained file, as written
  by the single-file writer of before and by :func:`~.archive.pack_run`.

Every count is bounded by what the files hold before anything is allocated,
every dataset's checksum is verified, and any damage ends in one
:class:`ArchiveFormatError` naming the file and the part. Files are opened
without HDF5 file locking, so a run that is being written can be read.

Identity (``docs/archive.md``): the part directory is derived from the
header's own path; every generation part is hashed (sha256 of its bytes) and
must carry the header's ``run_id`` and ``run_digest`` and the digest of the
part before it. ``index.h5`` is used only when it carries the run's identity
and the digests of the very parts it covers; otherwise every part's own
statistics are read, and an index or packed ``/history`` that disagrees with
them is reported with an :class:`ArchiveWarning`. A header without identity
(written before identities) is read as it was written: :func:`_identity` is
the one place that accepts it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import warnings

import h5py
import numpy as np

from ..space.genome import Genome
from . import schema
from .genome_io import check_env_id, read_genomes
from .h5io import (
    READ_ERRORS,
    ArchiveFormatError,
    ArchiveWarning,
    check_file,
    get,
    get_json,
    one_line,
    open_checked,
    text_attr,
)
from .schema import FORMAT_NAME, GENERATION_FIELDS, HISTORY_KEYS

__all__ = ["FORMAT_NAME", "GENERATION_FIELDS", "HISTORY_KEYS", "MissingRunData", "Run", "check_env_id",
           "list_parts", "open_run"]


class MissingRunData(ArchiveFormatError, KeyError):
    """A run-level array the run does not store (an :class:`ArchiveFormatError` and a KeyError)."""

    __str__ = Exception.__str__


def _identity(f, path: str, config: dict, seed: int, dim: int) -> tuple[str, str] | None:
    """``(run_id, run_digest)`` of a header or packed file; None for one written before identities.

    The one place that accepts a file without identity (a *legacy* run). A
    digest that does not match the stored config, seed and dim is refused: the
    file was edited or pieced together.
    """
    if schema.RUN_ID not in f.attrs:
        return None
    run_id, digest = text_attr(f, schema.RUN_ID), text_attr(f, schema.RUN_DIGEST)
    if digest != schema.run_digest(config, seed, dim):
        raise ArchiveFormatError(
            f"{path}: its config, seed or dim do not match its run_digest (the header was edited or pieced "
            "together from another run's); restore it from a copy"
        )
    return run_id, digest


def _part_identity(p) -> tuple[str, str] | None:
    if schema.RUN_ID not in p.attrs:
        return None
    return text_attr(p, schema.RUN_ID), text_attr(p, schema.RUN_DIGEST)


def open_run(path, *, allow_import=()) -> Run:
    """Open a run archive read-only (no HDF5 file locking: live runs can be read).

    Only committed generations are visible; the :class:`Run` is a snapshot
    taken at opening, so reopen to see generations written since.

    Raises
    ------
    ArchiveFormatError
        Missing file, not a regular file, not HDF5, another kind of HDF5
        file, newer ``format_version``, missing parts, or damaged / truncated.

    ``allow_import``: modules that :attr:`Run.task` may name in an
    ``env_id`` of the form ``module:Env`` (see :func:`check_env_id`).
    """
    return Run(os.fspath(path), allow_import=allow_import)


@contextlib.contextmanager
def _reading(path: str, what: str):
    """Turn low-level read errors into a one-line :class:`ArchiveFormatError`."""
    try:
        yield
    except ArchiveFormatError:
        raise
    except READ_ERRORS as exc:
        raise ArchiveFormatError(
            f"{path}: damaged {what} ({one_line(exc)}); restore the file from a copy, "
            "or reopen it if a writer is running"
        ) from exc


def list_parts(directory: str) -> tuple[int, list[tuple[int, int, str]]]:
    """``(n_generations, champion parts)`` of a part directory.

    ``n_generations``: the generation parts ``0 .. n-1`` (numbered without
    gaps; a gap is damage). Champion parts: ``(after, k, name)`` sorted.
    Temporary files (a writer killed mid-write) are ignored.
    """
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise ArchiveFormatError(
            f"{directory}: the run's part directory cannot be listed ({one_line(exc)}); "
            "it must sit beside the run header, as written"
        ) from exc
    gens, champions = set(), []
    for name in names:
        m = schema.PART_RE.match(name)
        if m is None:
            continue
        if m.group(1) == "gen" and m.group(3) is None:
            gens.add(int(m.group(2)))
        elif m.group(1) == "champion" and m.group(3) is not None:
            champions.append((int(m.group(2)), int(m.group(3)), name))
    n = len(gens)
    if gens != set(range(n)):
        missing = min(set(range(n)) - gens)
        raise ArchiveFormatError(
            f"{directory}: generation part {schema.generation_part(missing)} is missing but later ones exist; "
            "restore it from a copy (parts are never deleted by the writer)"
        )
    return n, sorted(champions)


class Run:
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
        with _reading(path, "root attributes"):
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
        with _reading(path, "identity attributes"):
            self.identity = _identity(f, path, self.config, self.seed, self.dim)
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
    def _part(self, name: str) -> h5py.File:
        return open_checked(os.path.join(self.parts_dir, name), schema.PART_FORMAT_NAME)

    def _check_part(self, p: h5py.File, name: str, gen: int, after: int) -> None:
        """A part belongs here: generation ``gen``, this run's identity, chained to generation ``after``."""
        where = os.path.join(self.parts_dir, name)
        with _reading(where, "part attributes"):
            stored = int(p.attrs["generation"])
            ident = _part_identity(p)
            previous = text_attr(p, schema.PREVIOUS) if ident is not None else None
        is_generation = name.startswith("gen-")
        if (stored != gen) if is_generation else (stored > after or stored < 0):
            raise ArchiveFormatError(f"{where}: holds generation {stored}, not {gen}; it was moved or copied "
                                     "from elsewhere: restore the run's own part")
        if after < self.identity_from:  # written before the run had an identity
            if ident is not None:
                raise ArchiveFormatError(f"{where}: belongs to another run (run_id {ident[0]}), not to {self.path}, "
                                         "which was written before run identities; restore the run's own part")
            return
        if ident != self.identity:
            other = f"run_id {ident[0]}" if ident else "no run identity"
            raise ArchiveFormatError(f"{where}: belongs to another run ({other}), not to {self.path} (run_id "
                                     f"{self.identity[0]}); restore the run's own part or open that run's header")
        # a generation part follows the part before it; a champion part, the generation it was recorded after
        link = after - 1 if is_generation else after
        want = self.part_digests[link].hex() if link >= 0 else ""
        if previous != want:  # the part it follows is not the one the writer committed
            changed = os.path.join(self.parts_dir, schema.generation_part(link)) if link >= 0 else where
            raise ArchiveFormatError(f"{changed}: differs from the part the run committed ({name} records "
                                     "another digest for it): it was modified or replaced; restore the run's own part")

    def _read_index(self, n: int) -> dict | None:
        """What ``index.h5`` holds, or None if absent, unreadable or another run's (noted).

        The index is a cache the writer replaces (atomically) after each
        commit; it may lag the parts by one generation, never lead them.
        """
        name = os.path.join(self.parts_dir, schema.INDEX_PART)
        if not os.path.lexists(name):
            return None
        try:
            with open_checked(name, schema.PART_FORMAT_NAME) as f:
                h = f[schema.HISTORY]
                gen = get(h, "generation", np.int64, 1)
                m = len(gen)
                if m > n and np.array_equal(gen, np.arange(m)):
                    return None  # written after the parts were listed (a live run): read the parts
                if not np.array_equal(gen, np.arange(m)):
                    raise ValueError(f"covers generations {gen[:1].tolist()}..{gen[-1:].tolist()}, the run {n}")
                columns = {key: get(h, key, np.float64, 1) for key in h if key != "generation"}
                if any(len(col) != m for col in columns.values()):
                    raise ValueError("history columns of different lengths")
                champ = get_json(f, "champion")
                if champ is not None:
                    after, k, part = int(champ[0]), int(champ[1]), str(champ[2])
                    if schema.PART_RE.match(part) is None or after >= n:
                        raise ValueError(f"champion part {part!r} after generation {after}")
                    champ = ((after, k), part)
                out = {"m": m, "columns": columns, "champion": champ, "identity": _part_identity(f)}
                if schema.DIGESTS in f:
                    out["digests"] = [bytes(d) for d in get(f, schema.DIGESTS, np.uint8, 2)]
                    out["offsets"] = get(f, schema.STATS_OFFSETS, np.int64, 1)
                    layout = get(f, schema.STATS_LAYOUT, np.int64, 1)
                    layouts = get_json(f, schema.STATS_LAYOUTS)
                    if not (len(out["digests"]) == len(out["offsets"]) == len(layout) == m) or any(
                            not 0 <= k < len(layouts) for k in layout):
                        raise ValueError("digests, offsets and layouts do not match the history")
                    out["keys"] = [[str(key) for key in layouts[k]] for k in layout]
        except (ArchiveFormatError, *READ_ERRORS) as exc:
            self._notes.append(f"{name}: damaged ({one_line(exc)}); the generations' own statistics are used")
            return None
        ident = out["identity"]
        if ident is not None and ident != self.identity:
            self._notes.append(f"{name}: belongs to another run (run_id {ident[0]}); ignored, the generations' "
                               "own statistics are used")
            return None
        return out

    @staticmethod
    def _index_row_matches(index: dict, g: int, data: bytes) -> bool:
        """The index's history row ``g`` equals the stats in part ``g``'s bytes (at the offset it names,
        under the key list the part itself stores)."""
        keys, at = index["keys"][g], int(index["offsets"][g])
        if at < 0 or at + 8 * len(keys) > len(data):
            return False
        if json.dumps(keys, sort_keys=True, allow_nan=True).encode("ascii") not in data:
            return False  # the part's own ``keys`` attribute names them in this order
        values = dict(zip(keys, np.frombuffer(data, "<f8", len(keys), at).tolist(), strict=True))
        if any(key not in index["columns"] for key in keys if key != "generation"):
            return False
        for key, col in index["columns"].items():
            want, got = values.get(key, math.nan), col[g]
            if not (want == got or (math.isnan(want) and math.isnan(got))):
                return False
        return True

    def _load_split(self, champions) -> None:
        n = self.n_generations
        index = self._read_index(n)
        trusted = index is not None and index["identity"] is not None and "digests" in index
        self.part_digests, self.stats_at = [], [None] * n
        with _reading(self.parts_dir, "generation parts"):
            for gen in range(n):
                name = os.path.join(self.parts_dir, schema.generation_part(gen))
                check_file(name)
                with open(name, "rb") as fh:
                    data = fh.read()
                self.part_digests.append(hashlib.sha256(data).digest())
                if trusted and gen < index["m"] and index["digests"][gen] != self.part_digests[gen]:
                    # the run's own index may lag its parts, never differ from one: parts are never rewritten
                    with self._part(schema.generation_part(gen)) as p:  # another run's part says so first
                        self._check_part(p, schema.generation_part(gen), gen, gen)
                    raise ArchiveFormatError(f"{name}: differs from the part the run committed (its index.h5 "
                                             "records another sha256 for it): it was modified or replaced; "
                                             "restore the run's own part")
                if trusted and gen < index["m"]:  # bound to the parts' bytes, or not used at all
                    trusted = index["digests"][gen] == self.part_digests[gen] and \
                        self._index_row_matches(index, gen, data)
                    if trusted:
                        self.stats_at[gen] = (int(index["offsets"][gen]), index["keys"][gen])
        columns: dict[str, np.ndarray] = {"generation": np.arange(n, dtype=np.int64)}
        best = None  # (commit order key, part name) of the last committed champion
        start = 0
        if trusted:
            start, best = index["m"], index["champion"]
            for key, col in index["columns"].items():
                columns[key] = np.full(n, np.nan)
                columns[key][:start] = col
        for gen in range(start, n):
            name = schema.generation_part(gen)
            with self._part(name) as p:
                self._check_part(p, name, gen, gen)
                with _reading(os.path.join(self.parts_dir, name), "generation part"):
                    keys = self._stats_into(p[schema.GENERATION], gen, columns)
                    self.stats_at[gen] = (p[schema.GENERATION]["stats"].id.get_offset(), keys)
                    if schema.CHAMPION in p:
                        best = ((gen, 0), name)
        if index is not None and not trusted:
            self._compare_index(index, columns)
        for after, k, name in champions:
            if after < n and (best is None or (after, k) > best[0]):
                with self._part(name) as p:
                    self._check_part(p, name, after, after)
                best = ((after, k), name)
        self._champion = best
        self._champion_part = best[1] if best else None
        self._history = self._complete(columns)

    def _compare_index(self, index, columns: dict) -> None:
        """An index not bound to these parts: the parts win; say so if it claims other values."""
        m, indexed = index["m"], index["columns"]
        name = os.path.join(self.parts_dir, schema.INDEX_PART)
        for key, col in indexed.items():
            mine = columns.get(key)
            if mine is None or not np.array_equal(np.asarray(mine[:m], np.float64), col, equal_nan=True):
                bad = key
                break
        else:
            if self.identity is None:
                return  # a run from before identities: its index agrees with the parts
            bad = "the part digests"
        self._notes.append(f"{name}: disagrees with the generation parts ({bad}); the parts' own statistics are "
                           "used (a resume rewrites the index)")

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
        with _reading(path, "generation index /generations"):
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
        with _reading(path, "history"):
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
            hist = {key: get(self._f[schema.HISTORY], key, np.float64 if key != "generation" else np.int64, 1)
                    for key in self._f[schema.HISTORY]}
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
            with _reading(self.path, f"generation {gen}"):
                group = self._f[schema.GENERATIONS][self._names[gen]]
            yield group
            return
        name = os.path.join(self.parts_dir, schema.generation_part(gen))
        with open_checked(name, schema.PART_FORMAT_NAME) as p:
            with _reading(name, f"generation {gen}"):
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
            raise ArchiveFormatError(f"{self.path}: config has no task object (got {type(task).__name__}); "
                                     "the archive cannot be replayed")
        check_env_id(task.get("env_id"), self.path, self.allow_import)
        return task

    def population(self, gen: int) -> list[Genome]:
        """All genomes of generation ``gen`` (negative indices count from the end)."""
        with self.generation_group(gen) as g, _reading(g.file.filename, f"generation {gen}"):
            return read_genomes(g["population"])

    def genome(self, gen: int, idx: int) -> Genome:
        """Genome ``idx`` of generation ``gen``."""
        with self.generation_group(gen) as g:
            with _reading(g.file.filename, f"generation {gen}"):
                population = g["population"]
            return read_genomes(population, [idx])[0]  # IndexError for a bad idx, else ArchiveFormatError

    def generation(self, gen: int) -> dict:
        """Arrays of generation ``gen``: the ``write_generation`` fields.

        Keys: ``fitness, episode_returns, episode_lengths, episode_seeds,
        counters, parents, origin``, ``test_returns, test_seeds`` (when
        tested), ``stats`` (dict), ``extra`` (dict), ``rng_state`` (or None).
        """
        with self.generation_group(gen) as g, _reading(g.file.filename, f"generation {gen}"):
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
            with open_checked(name, schema.PART_FORMAT_NAME) as p, _reading(name, "champion"):
                return self._read_champion(p[schema.CHAMPION])
        with _reading(self.path, "champion"):
            if schema.CHAMPION not in self._f:
                return None
            return self._read_champion(self._f[schema.CHAMPION])

    def verify(self) -> None:
        """Read every dataset of every generation and champion and check its checksum, and every
        part's identity and chain; ArchiveFormatError naming the first file that fails."""

        def check_all(f: h5py.Group, where: str) -> None:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    get(obj.parent, obj.name.rpartition("/")[2])

            with _reading(where, "data"):
                f.visititems(visit)

        if not self.split:  # /history is a copy, checked against the stats when opened
            for key in (schema.GENERATIONS, schema.CHAMPION, schema.RUN_DATA):
                if key in self._f:
                    with _reading(self.path, key):
                        group = self._f[key]
                    check_all(group, self.path)
            return
        names = [schema.generation_part(g) for g in range(self.n_generations)]
        names += [c[2] for c in list_parts(self.parts_dir)[1] if c[0] < self.n_generations]
        for name in names:
            m = schema.PART_RE.match(name)
            gen = int(m.group(2))
            with self._part(name) as p:
                self._check_part(p, name, gen, gen)
                check_all(p, os.path.join(self.parts_dir, name))
            if name.startswith("gen-") and schema.file_digest(os.path.join(self.parts_dir, name)) != \
                    self.part_digests[gen]:
                raise ArchiveFormatError(f"{os.path.join(self.parts_dir, name)}: changed since the run was opened; "
                                         "reopen it")

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
        with _reading(self.path, "run data"):
            return sorted(self._f[schema.RUN_DATA]) if schema.RUN_DATA in self._f else []

    def run_data(self, name: str) -> np.ndarray:
        """A run-level array stored with the writer's ``run_data`` (e.g. ``obs_low``)."""
        names = self.run_data_names
        if name not in names:
            raise MissingRunData(f"{self.path}: run data {name!r} is missing (stored: {names}); the header was not "
                                 "written by spatial-snn's runner, or was damaged: restore it from a copy")
        with _reading(self.path, f"run data {name}"):
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
