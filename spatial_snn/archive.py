"""Run archives: one crash-safe HDF5 file per evolution run, one writer.

Layout (field by field, with units, in ``docs/archive.md``)::

    /                   attrs: format, format_version, engine_version, config,
                        seed, dim, created, versions
    /generations/000000 attrs: generation, complete (written last), rng_state
        population/     the genome-group format of ``genome_io``
        fitness (N, n_obj), episode_returns (N, E), episode_lengths (N, E),
        episode_seeds (E,), counters (N, 3), parents (N, 2), origin (N,),
        stats (K,), [test_returns (T,), test_seeds (T,)], [extra/NAME]
    /history/KEY        (n_generations,) one resizable dataset per statistic
    /champion           attrs generation, index; genome/, test_returns, test_seeds
    /run_data/NAME      run-level arrays written once (observation bounds)

Crash safety: a generation is written, then marked ``complete``, then the
file is flushed; a reader and :class:`RunWriter` ``(resume=True)`` only see
complete generations, which are numbered 0, 1, ... without gaps. The
per-generation ``stats`` are the truth; ``/history`` is a fast copy for
plotting, rebuilt from them if it is damaged or longer than the complete
generations. A second writer is kept out by ``flock`` on ``PATH.lock``;
readers open the file without HDF5 file locking, so a live run can be read.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from contextlib import contextmanager

import h5py
import numpy as np

from .genome import Genome
from .genome_io import _READ_ERRORS as _ERRORS
from .genome_io import (
    FORMAT_VERSION,
    LIBVER,
    ArchiveFormatError,
    _crc,
    check_file,
    get,
    get_json,
    load_genome,
    one_line,
    open_checked,
    put,
    read_genomes,
    save_genome,
    set_json,
    text_attr,
    write_file_attrs,
    write_genomes,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HISTORY_KEYS",
    "ArchiveFormatError",
    "ArchiveLockedError",
    "Run",
    "RunWriter",
    "load_genome",
    "open_run",
    "read_genomes",
    "save_genome",
    "write_genomes",
]

FORMAT_NAME = "spatial-snn-run"
#: Statistics every generation must give; appended to ``/history``.
HISTORY_KEYS = ("best", "mean", "test", "env_steps", "wall_time", "invalid_obs")
#: (name, dtype, shape given N individuals and E episodes) of the per-generation arrays.
_GEN_FIELDS = (
    ("fitness", np.float64, None),
    ("episode_returns", np.float64, ("N", "E")),
    ("episode_lengths", np.int64, ("N", "E")),
    ("episode_seeds", np.int64, ("E",)),
    ("counters", np.int64, ("N", 3)),
    ("parents", np.int64, ("N", 2)),
    ("origin", np.int8, ("N",)),
)


class ArchiveLockedError(RuntimeError):
    """The archive is being written by another process (or writer)."""


class _WriterLock:
    """Exclusive ``flock`` on ``PATH.lock`` holding the writer's pid."""

    def __init__(self, path: str):
        self.path = f"{path}.lock"
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ArchiveLockedError(
                    f"{path} is being written by another process (pid {pid}); wait for it to finish or stop it"
                ) from None
            try:  # the previous holder may have unlinked the file before we locked it
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.unlink(self.path)  # while still locked: no one can hold a stale inode
            os.close(self._fd)
            self._fd = None


def _as_array(name: str, value, dtype, shape: tuple) -> np.ndarray:
    """``value`` as ``dtype`` with exactly ``shape``, or a ValueError naming both."""
    try:
        raw = np.asarray(value)
        arr = raw.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array of {np.dtype(dtype)}, got {type(value).__name__}") from exc
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {arr.shape}")
    if np.dtype(dtype).kind in "iu" and raw.dtype.kind == "f" and not np.array_equal(raw, arr):
        raise ValueError(f"{name}: expected integers, got non-integral floats")
    return arr


def _normalise(config) -> str:
    try:
        return json.dumps(config, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"config: expected a JSON-serialisable dict ({one_line(exc)})") from exc


class RunWriter:
    """The only writer of a run archive (a context manager).

    Parameters
    ----------
    path : str or PathLike
    config : dict
        The resolved scenario (JSON-serialisable); stored as the ``config``
        attribute. On resume, if given, it must equal the stored one.
    seed : int
        Run seed. dim : int, embedding dimension 1..3.
    overwrite : bool
        Replace an existing file at ``path`` (refused by default).
    resume : bool
        Open an existing run, drop incomplete generations and continue
        after the last complete one (``next_generation``).

    Raises
    ------
    FileExistsError
        New run, ``path`` exists and ``overwrite`` is False.
    ArchiveLockedError
        Another writer holds the run.
    ArchiveFormatError
        On resume: missing, foreign, damaged or newer file.
    """

    def __init__(
        self,
        path,
        *,
        config: dict | None = None,
        seed: int | None = None,
        dim: int | None = None,
        overwrite: bool = False,
        resume: bool = False,
    ):
        self.path = path = os.fspath(path)
        self._f: h5py.File | None = None
        self._lock: _WriterLock | None = None
        if overwrite and resume:
            raise ValueError("overwrite and resume: expected at most one of them, got both")
        if resume:
            check_file(path)
        else:
            if config is None or seed is None or dim is None:
                raise ValueError("config, seed, dim: required for a new run (resume=False)")
            if not isinstance(config, dict):
                raise TypeError(f"config: expected a dict, got {type(config).__name__}")
            if dim not in (1, 2, 3):
                raise ValueError(f"dim: expected 1, 2 or 3, got {dim}")
            if os.path.exists(path) and not overwrite:
                raise FileExistsError(
                    f"{path}: exists; pass overwrite=True (--overwrite) to replace it or resume=True to continue it"
                )
            parent = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(parent):
                raise FileNotFoundError(f"{path}: directory {parent} does not exist; create it first")
        self._lock = _WriterLock(path)
        try:
            if resume:
                self._resume(config, seed, dim)
            else:
                self._create(config, int(seed), int(dim))
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ opening
    def _create(self, config: dict, seed: int, dim: int) -> None:
        _normalise(config)
        self._f = f = h5py.File(self.path, "w", libver=LIBVER, locking=False)
        write_file_attrs(f, FORMAT_NAME)
        set_json(f, "config", config)
        f.attrs["seed"] = np.int64(seed)
        f.attrs["dim"] = np.int64(dim)
        for name in ("generations", "history", "run_data"):
            f.create_group(name)
        self.dim, self.seed, self.config = dim, seed, json.loads(_normalise(config))
        self.next_generation = 0
        self._history = {k: [] for k in ("generation", *HISTORY_KEYS)}
        self._write_history()
        f.flush()

    def _resume(self, config, seed, dim) -> None:
        self._f = f = open_checked(self.path, FORMAT_NAME, mode="r+")
        run = Run(f, self.path)
        stored = {"seed": run.seed, "dim": run.dim}
        for name, given in (("seed", seed), ("dim", dim)):
            if given is not None and int(given) != stored[name]:
                raise ValueError(
                    f"{name}: the run was written with {stored[name]}, got {given}; "
                    "pass the stored value or start a new run"
                )
        if config is not None and _normalise(config) != _normalise(run.config):
            keys = sorted(
                k for k in set(config) | set(run.config) if _normalise(config.get(k)) != _normalise(run.config.get(k))
            )
            raise ValueError(
                f"config: differs from the stored one in {keys}; resume with Run.config or start a new run"
            )
        self.dim, self.seed, self.config = run.dim, run.seed, run.config
        self.next_generation = run.n_generations
        gens = f["generations"]
        for name in list(gens):
            if name not in run._names:
                del gens[name]
        self._history = {k: list(v) for k, v in run.history.items()}
        for name in list(f["history"]):
            if name not in self._history:
                del f["history"][name]
        self._write_history()
        f.flush()

    # ------------------------------------------------------------- writing
    def _write_history(self) -> None:
        hist = self._f["history"]
        for key, values in self._history.items():
            arr = np.asarray(values, np.int64 if key == "generation" else np.float64)
            if key not in hist:
                fill = 0 if key == "generation" else np.nan
                hist.create_dataset(key, shape=(0,), maxshape=(None,), chunks=(256,), dtype=arr.dtype, fillvalue=fill)
            ds = hist[key]
            ds.resize(arr.shape)
            if arr.size:
                ds[:] = arr
            ds.attrs["crc32"] = np.uint32(_crc(arr))

    def set_run_data(self, name: str, array) -> None:
        """Store a run-level array once (e.g. ``"obs_low"``, ``"obs_high"``).

        Setting the same name again with equal data is a no-op (resume);
        different data is a ValueError.
        """
        _check_name("name", name)
        arr = np.asarray(array)
        group = self._file["run_data"]
        if name in group:
            if np.array_equal(get(group, name), arr, equal_nan=arr.dtype.kind == "f"):
                return
            raise ValueError(f"run data {name!r}: already stored with other values; it is written once")
        put(group, name, arr, arr.dtype)
        self._f.flush()

    def write_generation(
        self,
        gen: int,
        *,
        population: Sequence[Genome],
        fitness,
        episode_returns,
        episode_lengths,
        episode_seeds,
        counters,
        parents,
        origin,
        stats: dict[str, float],
        test_returns=None,
        test_seeds=None,
        extra: dict[str, np.ndarray] | None = None,
        rng_state: dict | None = None,
    ) -> None:
        """Append generation ``gen`` (must equal ``next_generation``), mark it complete, flush.

        Shapes (``N`` individuals, ``E`` episodes each, ``n_obj`` objectives):
        ``fitness (N, n_obj)`` or ``(N,)``; ``episode_returns, episode_lengths
        (N, E)``; ``episode_seeds (E,)``; ``counters (N, 3)`` = spikes,
        synaptic events, neuron updates; ``parents (N, 2)``, -1 = none;
        ``origin (N,)`` int8 code; ``stats`` must hold :data:`HISTORY_KEYS`
        (``test`` NaN when not tested; ``env_steps`` and ``wall_time``
        cumulative); ``test_returns, test_seeds (T,)`` optional;
        ``extra``: arrays stored under ``extra/``; ``rng_state``: JSON-able
        state stored as an attribute.
        """
        f = self._file
        if int(gen) != self.next_generation:
            raise ValueError(
                f"gen: expected {self.next_generation} (generations are written in order, without gaps), got {gen}"
            )
        population = list(population)
        for k, g in enumerate(population):
            if not isinstance(g, Genome) or g.dim != self.dim:
                raise ValueError(
                    f"population[{k}]: expected a Genome of dim {self.dim}, got {getattr(g, 'dim', type(g).__name__)}"
                )
        n = len(population)
        fit = np.asarray(fitness, np.float64)
        fit = fit.reshape(n, 1) if fit.ndim == 1 else fit
        e = np.shape(episode_seeds)[0] if np.ndim(episode_seeds) == 1 else -1
        dims = {"N": n, "E": e}
        arrays = {"fitness": _as_array("fitness", fit, np.float64, (n, fit.shape[-1] if fit.ndim == 2 else 1))}
        given = dict(
            episode_returns=episode_returns,
            episode_lengths=episode_lengths,
            episode_seeds=episode_seeds,
            counters=counters,
            parents=parents,
            origin=origin,
        )
        for name, dtype, shape in _GEN_FIELDS[1:]:
            value = given[name]
            arrays[name] = _as_array(name, value, dtype, tuple(dims.get(s, s) for s in shape))
        missing = [k for k in HISTORY_KEYS if k not in stats]
        if missing:
            raise ValueError(f"stats: expected keys {list(HISTORY_KEYS)}, missing {missing}")
        stat_keys = list(HISTORY_KEYS) + sorted(k for k in stats if k not in HISTORY_KEYS)
        stat_values = np.array([float(stats[k]) for k in stat_keys])
        if (test_returns is None) != (test_seeds is None):
            raise ValueError("test_returns, test_seeds: expected both or neither")
        if test_returns is not None:
            t = np.shape(test_returns)[:1]
            arrays["test_returns"] = _as_array("test_returns", test_returns, np.float64, t)
            arrays["test_seeds"] = _as_array("test_seeds", test_seeds, np.int64, t)
        extra = {k: np.asarray(v) for k, v in (extra or {}).items()}
        for k in extra:
            _check_name("extra key", k)
        if rng_state is not None:
            json.dumps(rng_state)

        name = f"{int(gen):06d}"
        gens = f["generations"]
        if name in gens:
            del gens[name]
        # Write the generation as an unlinked group, flush, then publish it: a
        # crash at any point leaves either no link or a link to flushed data.
        g = gens.create_group(None)
        g.attrs["generation"] = np.int64(gen)
        if rng_state is not None:
            set_json(g, "rng_state", rng_state)
        write_genomes(g.create_group("population"), population)
        for key, arr in arrays.items():
            put(g, key, arr, arr.dtype)
        set_json(put(g, "stats", stat_values, np.float64), "keys", stat_keys)
        if extra:
            xg = g.create_group("extra")
            for key, arr in extra.items():
                put(xg, key, arr, arr.dtype)
        g.attrs["complete"] = np.bool_(True)  # last inside the group
        f.flush()
        before = {k: len(v) for k, v in self._history.items()}
        try:
            gens[name] = g
            for key in set(self._history) | set(stat_keys):
                column = self._history.setdefault(key, [np.nan] * gen)
                column.append(gen if key == "generation" else float(stats.get(key, np.nan)))
            self._write_history()
            f.flush()
        except BaseException:
            for key in list(self._history):
                if key in before:
                    del self._history[key][before[key] :]
                else:
                    del self._history[key]
            if name in gens:
                del gens[name]
            raise
        self.next_generation += 1

    def write_champion(self, genome: Genome, *, generation: int, index: int, test_returns, test_seeds) -> None:
        """Replace ``/champion`` (the runner decides when a genome is better), flush.

        ``test_returns, test_seeds (T,)``: returns of the champion's test
        episodes and the seeds they used.
        """
        f = self._file
        if not isinstance(genome, Genome) or genome.dim != self.dim:
            raise ValueError(f"genome: expected a Genome of dim {self.dim}")
        t = np.shape(test_returns)[:1]
        returns = _as_array("test_returns", test_returns, np.float64, t)
        seeds = _as_array("test_seeds", test_seeds, np.int64, t)
        c = f.create_group(None)  # unlinked until flushed, as in write_generation
        c.attrs["generation"] = np.int64(generation)
        c.attrs["index"] = np.int64(index)
        write_genomes(c.create_group("genome"), [genome])
        put(c, "test_returns", returns, np.float64)
        put(c, "test_seeds", seeds, np.int64)
        f.flush()
        if "champion" in f:
            del f["champion"]
        f["champion"] = c
        f.flush()

    # ----------------------------------------------------------- lifecycle
    @property
    def _file(self) -> h5py.File:
        if self._f is None or not self._f.id.valid:
            raise ValueError(f"{self.path}: the writer is closed")
        return self._f

    @property
    def run(self) -> Run:
        """A read view of what has been written so far (same file handle)."""
        return Run(self._file, self.path)

    def close(self) -> None:
        """Flush, close the file and release the lock (idempotent)."""
        try:
            if self._f is not None and self._f.id.valid:
                self._f.flush()
                self._f.close()
        finally:
            self._f = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_name(what: str, name) -> None:
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"{what}: expected a non-empty name without '/', got {name!r}")


# ------------------------------------------------------------------ reading
def open_run(path) -> Run:
    """Open a run archive read-only (no HDF5 file locking: live runs can be read).

    Only complete generations are visible; the :class:`Run` is a snapshot
    taken at opening, so reopen to see generations written since.

    Raises
    ------
    ArchiveFormatError
        Missing file, not HDF5, another kind of HDF5 file, newer
        ``format_version``, or damaged / truncated.
    """
    path = os.fspath(path)
    f = open_checked(path, FORMAT_NAME)
    try:
        return Run(f, path, owns_file=True)
    except BaseException:
        f.close()
        raise


@contextmanager
def _reading(path: str, what: str):
    """Turn low-level read errors into a one-line :class:`ArchiveFormatError`."""
    try:
        yield
    except ArchiveFormatError:
        raise
    except _ERRORS as exc:
        raise ArchiveFormatError(
            f"{path}: damaged {what} ({one_line(exc)}); restore the file from a copy, "
            "or reopen it if a writer is running"
        ) from exc


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
        Complete generations (numbered ``0 .. n_generations - 1``).
    """

    def __init__(self, f: h5py.File, path: str, *, owns_file: bool = False):
        self._f, self.path, self._owns = f, path, owns_file
        with _reading(path, "root attributes"):
            attrs = {}
            for key in f.attrs:
                if key in ("config", "versions"):
                    attrs[key] = get_json(f, key)
                elif f.attrs[key].dtype.kind == "S":
                    attrs[key] = text_attr(f, key)
                else:
                    attrs[key] = f.attrs[key].item()
            self.attrs = attrs
            self.config, self.seed, self.dim = attrs["config"], int(attrs["seed"]), int(attrs["dim"])
        with _reading(path, "generation index"):
            groups = f["generations"]
            names = sorted(groups, key=lambda s: (len(s), s))
            if names != [f"{k:06d}" for k in range(len(names))]:
                raise ValueError(f"generation groups are not numbered 0..{len(names) - 1} without gaps")
            # groups are linked only once complete, so at most the last one can be
            # unfinished (a group left by an interrupted manual edit or older writer)
            if names and not bool(groups[names[-1]].attrs.get("complete", False)):
                names.pop()
            self._names = names
            self.n_generations = len(self._names)
        with _reading(path, "history"):
            self._history = self._load_history()

    def _load_history(self) -> dict[str, np.ndarray]:
        """``/history`` trimmed to the complete generations; rebuilt from them if damaged."""
        n = self.n_generations
        try:
            hist = {key: get(self._f["history"], key, None, 1) for key in self._f["history"]}
            if any(len(arr) < n for arr in hist.values()):
                raise ValueError("history shorter than the complete generations")
            if not np.array_equal(hist["generation"][:n], np.arange(n)):
                raise ValueError("generation")
            return {key: arr[:n].copy() for key, arr in hist.items()}
        except _ERRORS:
            pass  # the fast copy is damaged: the per-generation stats are the truth
        columns: dict[str, np.ndarray] = {"generation": np.arange(n, dtype=np.int64)}
        for gen in range(n):
            g = self._group(gen)
            keys, values = get_json(g["stats"], "keys"), get(g, "stats", np.float64, 1)
            if len(keys) != len(values):
                raise ValueError(f"{g.name}/stats: {len(values)} values for {len(keys)} keys")
            for key, value in zip(keys, values, strict=True):
                columns.setdefault(key, np.full(n, np.nan))[gen] = value
        for key in HISTORY_KEYS:
            columns.setdefault(key, np.full(n, np.nan))
        return columns

    def _group(self, gen: int) -> h5py.Group:
        n = self.n_generations
        if not isinstance(gen, int | np.integer) or not -n <= gen < n:
            raise IndexError(f"generation {gen}: expected an index into the {n} complete generations")
        with _reading(self.path, f"generation {gen}"):
            return self._f["generations"][self._names[int(gen) % n]]

    @property
    def history(self) -> dict[str, np.ndarray]:
        """Per-generation statistics, one ``(n_generations,)`` array per key.

        Keys: ``generation`` and :data:`HISTORY_KEYS` (``best``, ``mean``,
        ``test``, ``env_steps``, ``wall_time``, ``invalid_obs``), plus any
        extra statistic the runner gave.
        """
        return {key: arr.copy() for key, arr in self._history.items()}

    def population(self, gen: int) -> list[Genome]:
        """All genomes of generation ``gen`` (negative indices count from the end)."""
        g = self._group(gen)
        with _reading(self.path, f"generation {gen}"):
            population = g["population"]
        return read_genomes(population)  # raises ArchiveFormatError itself

    def genome(self, gen: int, idx: int) -> Genome:
        """Genome ``idx`` of generation ``gen``."""
        g = self._group(gen)
        with _reading(self.path, f"generation {gen}"):
            population = g["population"]
        return read_genomes(population, [idx])[0]  # IndexError for a bad idx, else ArchiveFormatError

    def generation(self, gen: int) -> dict:
        """Arrays of generation ``gen``: the ``write_generation`` fields.

        Keys: ``fitness, episode_returns, episode_lengths, episode_seeds,
        counters, parents, origin``, ``test_returns, test_seeds`` (when
        tested), ``stats`` (dict), ``extra`` (dict), ``rng_state`` (or None).
        """
        g = self._group(gen)
        with _reading(self.path, f"generation {gen}"):
            out = {name: get(g, name, dtype) for name, dtype, _ in _GEN_FIELDS}
            for name, dtype in (("test_returns", np.float64), ("test_seeds", np.int64)):
                if name in g:
                    out[name] = get(g, name, dtype, 1)
            keys, values = get_json(g["stats"], "keys"), get(g, "stats", np.float64, 1)
            out["stats"] = dict(zip(keys, values.tolist(), strict=True))
            out["extra"] = {k: get(g["extra"], k) for k in g["extra"]} if "extra" in g else {}
            out["rng_state"] = get_json(g, "rng_state") if "rng_state" in g.attrs else None
        return out

    def champion(self) -> tuple[Genome, dict] | None:
        """``(genome, info)`` of the champion, or None; info: test_returns, test_seeds,
        generation, index."""
        with _reading(self.path, "champion"):
            if "champion" not in self._f:
                return None
            c = self._f["champion"]
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
            return sorted(self._f["run_data"])

    def run_data(self, name: str) -> np.ndarray:
        """A run-level array stored with ``RunWriter.set_run_data``."""
        names = self.run_data_names
        if name not in names:
            raise KeyError(f"run data {name!r}: not in {self.path}; stored: {names}")
        with _reading(self.path, "run data"):
            return get(self._f["run_data"], name)

    def close(self) -> None:
        if self._owns and self._f.id.valid:
            self._f.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Run({self.path!r}, dim={self.dim}, seed={self.seed}, generations={self.n_generations})"
