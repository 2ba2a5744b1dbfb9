"""Reading run archives: :func:`open_run` and :class:`Run`.

A run archive is written by :class:`spatial_snn.store.archive.RunWriter` (the
layout, crash safety and single-writer rule are in that module and in
``docs/archive.md``). This module defines what both sides agree on
(:data:`FORMAT_NAME`, :data:`HISTORY_KEYS`, the per-generation fields) and
the reader: only complete generations are visible, every dataset's checksum
is verified, and ``/history`` is rebuilt from the per-generation ``stats``
when it is damaged. Files are opened without HDF5 file locking, so a run
that is being written can be read. Any damage ends in
:class:`ArchiveFormatError`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import h5py
import numpy as np

from ..space.genome import Genome
from .genome_io import read_genomes
from .h5io import READ_ERRORS, ArchiveFormatError, get, get_json, one_line, open_checked, text_attr

__all__ = ["FORMAT_NAME", "GENERATION_FIELDS", "HISTORY_KEYS", "Run", "open_run"]

FORMAT_NAME = "spatial-snn-run"
#: Statistics every generation must give; appended to ``/history``.
HISTORY_KEYS = ("best", "mean", "test", "env_steps", "wall_time", "invalid_obs")
#: (name, dtype, shape given N individuals and E episodes) of the per-generation arrays.
GENERATION_FIELDS = (
    ("fitness", np.float64, None),
    ("episode_returns", np.float64, ("N", "E")),
    ("episode_lengths", np.int64, ("N", "E")),
    ("episode_seeds", np.int64, ("E",)),
    ("counters", np.int64, ("N", 3)),
    ("parents", np.int64, ("N", 2)),
    ("origin", np.int8, ("N",)),
)


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
    except READ_ERRORS as exc:
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
        except READ_ERRORS:
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
            out = {name: get(g, name, dtype) for name, dtype, _ in GENERATION_FIELDS}
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
