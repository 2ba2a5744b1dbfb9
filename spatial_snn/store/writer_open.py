"""How the run archive's writer opens a run: a new one, a resumed one, a packed one split.

:class:`~spatial_snn.store.archive.RunWriter` (the only writer, with the
layout and the crash-safety argument in its module docstring) opens a run
with these methods. A new run's header is written whole and linked at its
path atomically, locked before anyone can see it, and published with its run
data (observation bounds) as soon as they are known; a resumed run is checked
against the stored seed, dimension and config; a packed (single-file) run is
split into a header plus parts first.

Identity and containment (``docs/archive.md``): a new run gets a random
``run_id`` and the ``run_digest`` of its config, seed and dimension, which
the header, every part and the index carry; a run begun before identities
gets one when it is resumed (``identity_from`` = its generation count). The
part directory is ``<real path of the header>.d``, whatever a file says, is
locked with the header, and must be a real directory that holds nothing but
the run's files. An overwritten run's old directory is renamed aside in one
step once the new header is in place, then emptied, so no kill can show the
old generations under the new header.
"""

from __future__ import annotations

import contextlib
import json
import os

import numpy as np

from . import schema
from .durable import commit_file, fsync_dir, remove_temporaries, write_tmp
from .genome_io import write_champion_group
from .h5io import get_json, one_line, put, set_json, write_file_attrs
from .run_parts import list_parts
from .run_reader import Run, open_run
from .schema import FORMAT_NAME, HISTORY_KEYS
from .targets import check_run_dir, clean_retired, retire_dir
from .writer_lock import WriterLock


def config_json(config) -> str:
    try:
        return json.dumps(config, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"config: expected a JSON-serialisable dict ({one_line(exc)})") from exc


class WriterOpening:
    """Opening a run for :class:`~spatial_snn.store.archive.RunWriter`, which inherits these methods.

    They set and use the writer's attributes (``path``, ``parts_dir``,
    ``config``, ``seed``, ``dim``, the lock, the history and the champion) and
    call its ``_fill_part``, ``_write_index`` and ``set_run_data``.
    """

    def _publish_header(self, attrs: dict, run_data: dict, replace: bool) -> None:
        """Write the header whole, lock it, then link it at ``path`` (atomically)."""

        def fill(f):
            write_file_attrs(f, FORMAT_NAME, schema.SPLIT_VERSION)
            f.attrs["parts"] = np.bytes_(os.path.basename(self.parts_dir).encode())  # for information only
            f.attrs[schema.RUN_ID] = np.bytes_(self.run_id.encode("ascii"))
            f.attrs[schema.RUN_DIGEST] = np.bytes_(self.run_digest.encode("ascii"))
            f.attrs[schema.IDENTITY_FROM] = np.int64(self._identity_from)
            set_json(f, "config", attrs["config"])
            f.attrs["seed"] = np.int64(attrs["seed"])
            f.attrs["dim"] = np.int64(attrs["dim"])
            if attrs.get("created"):
                f.attrs["created"] = np.bytes_(attrs["created"].encode("ascii"))
            rd = f.create_group(schema.RUN_DATA)
            for name, arr in run_data.items():
                put(rd, name, arr, arr.dtype)

        tmp = write_tmp(self.parts_dir, "header.h5", fill)
        target = os.path.realpath(self.path)  # through a symlink: replace the file, not the link
        try:
            if replace:  # locked before the rename: the path never names an unlocked header
                lock = WriterLock.adopt(os.open(tmp, os.O_RDONLY | os.O_CLOEXEC), self.path)
                try:
                    os.replace(tmp, target)
                except BaseException:
                    lock.release()
                    raise
            else:  # link fails if someone created the run meanwhile; whoever locks it first writes it
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    raise FileExistsError(
                        f"{self.path}: created by another writer meanwhile; resume it or choose another path"
                    ) from None
                lock = WriterLock(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        fsync_dir(os.path.dirname(target))
        old, self._lock = self._lock, lock
        if old is not None:
            old.release()
        self._run_data = dict(run_data)

    def _publish_deferred(self) -> None:
        if self._deferred is not None:
            replace, self._deferred = self._deferred["replace"], None
            self._publish_header(
                {"config": self.config, "seed": self.seed, "dim": self.dim}, self._run_data, replace=replace
            )
            if self._retire:  # the new header is in place: the old generations leave in one rename
                self._retire = False
                self._dir_lock = retire_dir(self.parts_dir, self._dir_lock)

    def _lock_dir(self) -> None:
        """Lock the part directory (beside the header lock): one writer per directory as well."""
        check_run_dir(self.parts_dir)
        os.makedirs(self.parts_dir, exist_ok=True)
        check_run_dir(self.parts_dir)  # made by someone else meanwhile: still a plain directory
        self._dir_lock = WriterLock(self.parts_dir)
        clean_retired(self.parts_dir)

    def _create(self, config: dict, seed: int, dim: int, run_data: dict, overwrite: bool) -> None:
        existing = os.path.lexists(self.path)
        if existing:  # overwrite: nobody may be writing it
            self._lock = WriterLock(self.path)
        self.parts_dir = schema.parts_dir(self.path)
        self._lock_dir()
        remove_temporaries(self.parts_dir)
        old = [n for n in os.listdir(self.parts_dir) if schema.PART_RE.match(n) or n == schema.INDEX_PART]
        if old and not overwrite:
            raise FileExistsError(
                f"{self.parts_dir}: holds parts of a run whose header {self.path} is gone; "
                "pass overwrite=True to delete them, or move them away"
            )
        self._retire = bool(old)
        self.dim, self.seed, self.config = dim, seed, json.loads(config_json(config))
        self.run_id, self.run_digest = schema.new_run_id(), schema.run_digest(self.config, seed, dim)
        self._identity_from = 0
        self._digests: list[bytes] = []
        self._stats_at: list[tuple[int, list]] = []
        # the header appears with its run data: now if given, else at the first commit (or close),
        # so a kill in between leaves no run rather than one without its observation bounds
        self._run_data = dict(run_data)
        self._deferred = {"replace": existing}
        if run_data:
            self._publish_deferred()
        self.next_generation = 0
        self._champions_after = 0
        self._history: dict[str, list] = {k: [] for k in ("generation", *HISTORY_KEYS)}
        self._champion = None

    def _resume(self, config, seed, dim, run_data: dict) -> None:
        self._lock = WriterLock(self.path)
        self._retire = False
        with open_run(self.path) as run:
            stored = {"seed": run.seed, "dim": run.dim}
            for name, given in (("seed", seed), ("dim", dim)):
                if given is not None and int(given) != stored[name]:
                    raise ValueError(
                        f"{name}: the run was written with {stored[name]}, got {given}; "
                        "pass the stored value or start a new run"
                    )
            if config is not None and config_json(config) != config_json(run.config):
                keys = sorted(
                    k
                    for k in set(config) | set(run.config)
                    if config_json(config.get(k)) != config_json(run.config.get(k))
                )
                raise ValueError(
                    f"config: differs from the stored one in {keys}; resume with Run.config or start a new run"
                )
            self.dim, self.seed, self.config = run.dim, run.seed, run.config
            self.next_generation = run.n_generations
            self._history = {k: v.tolist() for k, v in run.history.items()}
            stored_data = {k: run.run_data(k) for k in run.run_data_names}
            # a run begun before identities gets one now, from its next generation on (docs/archive.md)
            self.run_id, self.run_digest = run.identity or (
                schema.new_run_id(),
                schema.run_digest(run.config, run.seed, run.dim),
            )
            if run.split:
                self.parts_dir = run.parts_dir
                self._lock_dir()
                self._digests, self._stats_at = list(run.part_digests), list(run.stats_at)
                remove_temporaries(self.parts_dir)
                self._run_data = stored_data
                self._champions_after = len(
                    [c for c in list_parts(self.parts_dir)[1] if c[0] == self.next_generation - 1]
                )
                self._champion = run.champion_commit
                self._identity_from = run.identity_from
                if run.identity is None:  # migrate: the header first, so the new index matches it
                    self._identity_from = run.n_generations
                    attrs = {
                        "config": run.config,
                        "seed": run.seed,
                        "dim": run.dim,
                        "created": run.attrs.get("created"),
                    }
                    self._publish_header(attrs, stored_data, replace=True)
                self._write_index()
            else:
                self._split(run, stored_data)
        for name, arr in run_data.items():
            self.set_run_data(name, arr)

    def _split(self, run: Run, run_data: dict) -> None:
        """Turn a packed (single-file) run into a header plus parts, replacing the file atomically."""
        self.parts_dir = schema.parts_dir(self.path)
        self._lock_dir()
        remove_temporaries(self.parts_dir)
        for name in sorted(os.listdir(self.parts_dir), reverse=True):  # left by an earlier split, then packed
            if schema.PART_RE.match(name) or name == schema.INDEX_PART:
                os.unlink(os.path.join(self.parts_dir, name))
        self._identity_from, self._digests, self._stats_at = 0, [], []
        run.verify()  # every checksum of what is copied, before anything is written from it
        champion = run._stored_champion()
        for gen in range(run.n_generations):
            with run.generation_group(gen) as src:

                def fill(f, src=src, gen=gen):
                    self._fill_part(f, gen)
                    f.copy(src, schema.GENERATION)
                    stats = f[schema.GENERATION]["stats"]
                    self._stats_at.append((stats.id.get_offset(), get_json(stats, "keys")))
                    if champion is not None and champion[1]["generation"] == gen:
                        write_champion_group(f.create_group(schema.CHAMPION), {**champion[1], "genome": champion[0]})

                self._digests.append(commit_file(self.parts_dir, schema.generation_part(gen), fill))
        self._champions_after = 0
        g = champion[1]["generation"] if champion is not None else -1
        self._champion = (g, 0, schema.generation_part(g)) if 0 <= g < run.n_generations else None
        self._write_index()
        attrs = {"config": run.config, "seed": run.seed, "dim": run.dim, "created": run.attrs.get("created")}
        self._publish_header(attrs, run_data, replace=True)
