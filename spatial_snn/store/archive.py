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
generations. A second writer is kept out by ``flock`` on ``PATH.lock``
(:mod:`.writer_lock`); readers (:mod:`.run_reader`: :func:`open_run`,
:class:`Run`, re-exported here) open the file without HDF5 file locking, so
a live run can be read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import h5py
import numpy as np

from ..space.genome import Genome
from .genome_io import load_genome, read_genomes, save_genome, write_genomes
from .h5io import (
    FORMAT_VERSION,
    LIBVER,
    ArchiveFormatError,
    check_file,
    crc32,
    get,
    one_line,
    open_checked,
    put,
    set_json,
    write_file_attrs,
)
from .run_reader import FORMAT_NAME, GENERATION_FIELDS, HISTORY_KEYS, Run, open_run
from .writer_lock import ArchiveLockedError, WriterLock

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
        self._lock: WriterLock | None = None
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
        self._lock = WriterLock(path)
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
            ds.attrs["crc32"] = np.uint32(crc32(arr))

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
        for name, dtype, shape in GENERATION_FIELDS[1:]:
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
