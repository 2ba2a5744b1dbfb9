"""Run archives: a header plus immutable per-generation part files, one writer.

Layout (field by field, with units, in ``docs/archive.md``; names in
:mod:`.schema`)::

    run.h5              header: attrs format, format_version = 2, parts,
                        engine_version, config, seed, dim, created, versions;
                        run_data/NAME (observation bounds)
    run.h5.d/gen-000000.h5
                        one generation: generation/ (population/, fitness,
                        episode_returns, ..., stats), champion/ if it made one
    run.h5.d/champion-000004-1.h5
                        a champion recorded after generation 4 was committed
    run.h5.d/index.h5   history and the champion's part name (a cache bound to the
                        parts by their sha256 and the offsets of their stats)

Identity: the header, every part and the index carry ``run_id`` (random)
and ``run_digest`` (sha256 of config, seed, dim); each generation part
records the sha256 of the part before it (``previous``), so the committed
generations form a chain that readers check. The part directory is derived
from the header's path, never from a stored value (:mod:`.targets`).

Crash safety: HDF5 does not journal its metadata, so no HDF5 file is ever
modified in place. Every file is written whole under a temporary name,
fsynced, renamed into place (atomic on POSIX) and the directory fsynced
(:mod:`.durable`). A
writer killed at any moment leaves the previous state plus ignorable
temporary files: the header either exists whole or not at all, and the
committed generations are the part files ``gen-000000 .. gen-(n-1)``. A
champion is committed inside the part of the generation that tested it, so
a generation and its champion appear together or not at all.
:func:`~.pack.pack_run` joins a run into one self-contained file (``format_version``
1, the layout of the single-file writer of before), which :func:`open_run`
reads as well; :class:`RunWriter` ``(resume=True)`` continues either layout
(a packed file is first split again).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import h5py
import numpy as np

from ..space.genome import Genome
from . import schema
from .durable import commit_file
from .genome_io import write_champion_group, write_genomes
from .h5io import check_file, put, set_json, write_file_attrs
from .run_reader import Run, open_run
from .schema import FORMAT_NAME, GENERATION_FIELDS, HISTORY_KEYS
from .targets import check_replace
from .writer_lock import WriterLock
from .writer_open import WriterOpening, config_json


# ------------------------------------------------------------------ checks
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


def _check_name(what: str, name) -> None:
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"{what}: expected a non-empty name without '/', got {name!r}")


class RunWriter(WriterOpening):
    """The only writer of a run archive (a context manager).

    Parameters
    ----------
    path : str or PathLike
        The run header; its parts go to the directory ``path + ".d"``.
    config : dict
        The resolved scenario (JSON-serialisable); stored as the ``config``
        attribute. On resume, if given, it must equal the stored one.
    seed : int
        Run seed. dim : int, embedding dimension 1..3.
    overwrite : bool
        Replace an existing run at ``path`` (refused by default; only a
        run archive is replaced, see :func:`~.targets.check_replace`).
    resume : bool
        Open an existing run and continue after its last committed
        generation (``next_generation``).
    run_data : dict of str -> array, optional
        Run-level arrays (e.g. ``obs_low``, ``obs_high``) committed with the
        header, so a run never exists without them.

    Raises
    ------
    FileExistsError
        New run, ``path`` exists and ``overwrite`` is False.
    ArchiveLockedError
        Another writer holds the run (through any path to the same file).
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
        run_data: dict | None = None,
    ):
        self.path = path = os.fspath(path)
        self._lock: WriterLock | None = None
        self._dir_lock: WriterLock | None = None
        self._pending: dict | None = None  # a champion waiting for its generation
        self._open = False
        self._deferred: dict | None = None  # a new run's header, until its run data are known
        if overwrite and resume:
            raise ValueError("overwrite and resume: expected at most one of them, got both")
        run_data = {k: np.asarray(v) for k, v in (run_data or {}).items()}
        for k in run_data:
            _check_name("run_data key", k)
        if resume:
            check_file(path)
        else:
            if config is None or seed is None or dim is None:
                raise ValueError("config, seed, dim: required for a new run (resume=False)")
            if not isinstance(config, dict):
                raise TypeError(f"config: expected a dict, got {type(config).__name__}")
            if dim not in (1, 2, 3):
                raise ValueError(f"dim: expected 1, 2 or 3, got {dim}")
            config_json(config)
            if os.path.lexists(path) and not overwrite:
                raise FileExistsError(
                    f"{path}: exists; pass overwrite=True to replace it or resume=True to continue it"
                )
            if os.path.lexists(path):  # only a run archive is replaced, never a device, a folder or another file
                check_replace(path, FORMAT_NAME, overwrite=True)
            parent = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(parent):
                raise FileNotFoundError(f"{path}: directory {parent} does not exist; create it first")
        self._open = True
        try:
            if resume:
                self._resume(config, seed, dim, run_data)
            else:
                self._create(config, int(seed), int(dim), run_data, overwrite)
        except BaseException:
            self._open = False  # a writer that failed to open publishes nothing
            self.close()
            raise

    # ------------------------------------------------------------- writing
    def _fill_part(self, f: h5py.File, gen: int, after: int | None = None) -> None:
        """Root attributes of a part: kind, generation, the run's identity and the chain link
        (sha256 of generation part ``after``, by default ``gen - 1``; "" for none)."""
        write_file_attrs(f, schema.PART_FORMAT_NAME)
        f.attrs["generation"] = np.int64(gen)
        self._fill_identity(f)
        after = gen - 1 if after is None else after
        previous = self._digests[after].hex() if 0 <= after < len(self._digests) else ""
        f.attrs[schema.PREVIOUS] = np.bytes_(previous.encode("ascii"))

    def _fill_identity(self, f: h5py.File) -> None:
        f.attrs[schema.RUN_ID] = np.bytes_(self.run_id.encode("ascii"))
        f.attrs[schema.RUN_DIGEST] = np.bytes_(self.run_digest.encode("ascii"))

    def set_run_data(self, name: str, array) -> None:
        """Store a run-level array once (e.g. ``"obs_low"``, ``"obs_high"``).

        Setting the same name again with equal data is a no-op (resume);
        different data is a ValueError. Prefer ``RunWriter(run_data=...)``:
        a new name rewrites the header (atomically).
        """
        _check_name("name", name)
        self._check_open()
        arr = np.asarray(array)
        if name in self._run_data:
            old = self._run_data[name]
            if old.shape == arr.shape and np.array_equal(old, arr, equal_nan=arr.dtype.kind == "f"):
                return
            raise ValueError(f"run data {name!r}: already stored with other values; it is written once")
        if self._deferred is not None:  # published with the header
            self._run_data[name] = arr
            return
        attrs = {"config": self.config, "seed": self.seed, "dim": self.dim}
        with open_run(self.path) as run:
            attrs["created"] = run.attrs.get("created")
        self._publish_header(attrs, {**self._run_data, name: arr}, replace=True)

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
        """Commit generation ``gen`` (must equal ``next_generation``) as one part file.

        A champion given to :meth:`write_champion` for this generation is
        committed in the same file. Shapes (``N`` individuals, ``E``
        episodes each, ``n_obj`` objectives): ``fitness (N, n_obj)`` or
        ``(N,)``; ``episode_returns, episode_lengths (N, E)``;
        ``episode_seeds (E,)``; ``counters (N, 3)`` = spikes, synaptic
        events, neuron updates; ``parents (N, 2)``, -1 = none; ``origin
        (N,)`` int8 code; ``stats`` must hold :data:`HISTORY_KEYS` (``test``
        NaN when not tested; ``env_steps`` and ``wall_time`` cumulative);
        ``test_returns, test_seeds (T,)`` optional; ``extra``: arrays stored
        under ``extra/``; ``rng_state``: JSON-able state stored as an attribute.
        """
        self._check_open()
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
            arrays[name] = _as_array(name, given[name], dtype, tuple(dims.get(s, s) for s in shape))
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
        for k, v in extra.items():
            _check_name("extra key", k)
            if v.dtype.kind not in "biuf":
                raise TypeError(f"extra[{k!r}]: expected a numeric array, got dtype {v.dtype}")
        if rng_state is not None:
            json.dumps(rng_state)
        champion = self._pending if self._pending and self._pending["generation"] == gen else None
        self._publish_deferred()

        where: list[int] = []

        def fill(f):
            self._fill_part(f, gen)
            g = f.create_group(schema.GENERATION)
            g.attrs["generation"] = np.int64(gen)
            if rng_state is not None:
                set_json(g, "rng_state", rng_state)
            write_genomes(g.create_group("population"), population)
            for key, arr in arrays.items():
                put(g, key, arr, arr.dtype)
            stats = put(g, "stats", stat_values, np.float64)
            set_json(stats, "keys", stat_keys)
            where.append(stats.id.get_offset())  # the index binds its history to these bytes
            if extra:
                xg = g.create_group("extra")
                for key, arr in extra.items():
                    put(xg, key, arr, arr.dtype)
            g.attrs["complete"] = np.bool_(True)
            if champion is not None:
                write_champion_group(f.create_group(schema.CHAMPION), champion)

        digest = commit_file(self.parts_dir, schema.generation_part(gen), fill)
        self._digests.append(digest)
        self._stats_at.append((where[-1], stat_keys))
        self.next_generation += 1
        self._champions_after = 0
        if champion is not None:
            self._pending = None
            self._champion = (gen, 0, schema.generation_part(gen))
        for key in set(self._history) | set(stat_keys):
            column = self._history.setdefault(key, [np.nan] * gen)
            column.append(gen if key == "generation" else float(stats.get(key, np.nan)))
        self._write_index()

    def write_champion(self, genome: Genome, *, generation: int, index: int, test_returns, test_seeds) -> None:
        """Record a new champion (the runner decides when a genome is better).

        A champion of a generation not yet written is committed inside that
        generation's part by :meth:`write_generation` (so a kill can never
        keep one without the other); a champion of a committed generation
        is committed at once as a part of its own. ``test_returns,
        test_seeds (T,)``: returns of the champion's test episodes and their seeds.
        """
        self._check_open()
        if not isinstance(genome, Genome) or genome.dim != self.dim:
            raise ValueError(f"genome: expected a Genome of dim {self.dim}")
        t = np.shape(test_returns)[:1]
        champion = {
            "genome": genome,
            "generation": int(generation),
            "index": int(index),
            "test_returns": _as_array("test_returns", test_returns, np.float64, t),
            "test_seeds": _as_array("test_seeds", test_seeds, np.int64, t),
        }
        if champion["generation"] >= self.next_generation:
            self._pending = champion
            return
        if self.next_generation == 0:
            raise ValueError("generation: no generation is committed yet")
        self._publish_deferred()
        self._champions_after += 1
        name = schema.champion_part(self.next_generation - 1, self._champions_after)
        after = self.next_generation - 1
        commit_file(
            self.parts_dir,
            name,
            lambda f: (
                self._fill_part(f, champion["generation"], after),
                write_champion_group(f.create_group(schema.CHAMPION), champion),
            ),
        )
        self._champion = (self.next_generation - 1, self._champions_after, name)
        self._write_index()

    def _write_index(self) -> None:
        """Replace ``index.h5`` (the history and the champion's part): a cache that spares
        readers opening every part; they check it against the parts."""

        def fill(f):
            write_file_attrs(f, schema.PART_FORMAT_NAME)
            self._fill_identity(f)  # and the sha256 of every part it covers: a swapped part does not match
            put(f, schema.DIGESTS, np.frombuffer(b"".join(self._digests), np.uint8).reshape(-1, 32), np.uint8)
            layouts = [list(k) for k in dict.fromkeys(tuple(keys) for _, keys in self._stats_at)]
            put(f, schema.STATS_OFFSETS, [at for at, _ in self._stats_at], np.int64)
            put(f, schema.STATS_LAYOUT, [layouts.index(list(keys)) for _, keys in self._stats_at], np.int32)
            set_json(f, schema.STATS_LAYOUTS, layouts)
            h = f.create_group(schema.HISTORY)
            for key, values in self._history.items():
                dtype = np.int64 if key == "generation" else np.float64
                put(h, key, np.asarray(values, dtype), dtype)
            set_json(f, "champion", list(self._champion) if self._champion else None)

        commit_file(self.parts_dir, schema.INDEX_PART, fill)

    # ----------------------------------------------------------- lifecycle
    def _check_open(self) -> None:
        if not self._open:
            raise ValueError(f"{self.path}: the writer is closed")

    @property
    def run(self) -> Run:
        """A read view of what has been committed so far (a new snapshot each time; close it)."""
        self._check_open()
        self._publish_deferred()
        return open_run(self.path)

    def close(self) -> None:
        """Publish a new run's header if nothing has yet, release the lock (idempotent).

        Every commit is already on disk; a pending champion whose generation
        was never written is dropped.
        """
        try:
            if self._open:
                self._publish_deferred()
        finally:
            self._open = False
            if self._lock is not None:
                self._lock.release()
                self._lock = None
            if getattr(self, "_dir_lock", None) is not None:
                self._dir_lock.release()
                self._dir_lock = None

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
