"""Reading a split run: its parts' identity, their chain, and the index bound to them.

:class:`~.run_reader.Run` inherits these methods (as the writer inherits
:class:`~.writer_open.WriterOpening`). When a split run is opened, every
generation part is hashed (sha256 of its bytes) and must carry the header's
``run_id`` and ``run_digest`` and the digest of the part before it;
``index.h5`` is used only when it carries the run's identity, the digests of
the very parts it covers, and rows equal to the statistics in those parts'
bytes. Otherwise every part's own statistics are read and the disagreement
is noted (an :class:`~.h5io.ArchiveWarning` once the run is known good). A
header without identity (written before identities) is accepted in one
place, :func:`run_identity`. Layout and rules: ``docs/archive.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os

import h5py
import numpy as np

from . import schema
from .h5io import READ_ERRORS, ArchiveFormatError, check_file, get, get_json, one_line, open_checked, text_attr

__all__ = ["SplitRunReading", "check_all", "list_parts", "reading_errors", "run_identity"]


def run_identity(f, path: str, config: dict, seed: int, dim: int) -> tuple[str, str] | None:
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


@contextlib.contextmanager
def reading_errors(path: str, what: str):
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


def check_all(f: h5py.Group, where: str) -> None:
    """Read every dataset under ``f`` and verify its checksum (ArchiveFormatError naming ``where``)."""

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            get(obj.parent, obj.name.rpartition("/")[2])

    with reading_errors(where, "data"):
        f.visititems(visit)


class SplitRunReading:
    """Methods of :class:`~.run_reader.Run` for split runs (a header and its part files)."""

    def _part(self, name: str) -> h5py.File:
        return open_checked(os.path.join(self.parts_dir, name), schema.PART_FORMAT_NAME)

    def _check_part(self, p: h5py.File, name: str, gen: int, after: int) -> None:
        """A part belongs here: generation ``gen``, this run's identity, chained to generation ``after``."""
        where = os.path.join(self.parts_dir, name)
        with reading_errors(where, "part attributes"):
            stored = int(p.attrs["generation"])
            ident = _part_identity(p)
            previous = text_attr(p, schema.PREVIOUS) if ident is not None else None
        is_generation = name.startswith("gen-")
        if (stored != gen) if is_generation else (stored > after or stored < 0):
            raise ArchiveFormatError(
                f"{where}: holds generation {stored}, not {gen}; it was moved or copied "
                "from elsewhere: restore the run's own part"
            )
        if after < self.identity_from:  # written before the run had an identity
            if ident is not None:
                raise ArchiveFormatError(
                    f"{where}: belongs to another run (run_id {ident[0]}), not to {self.path}, "
                    "which was written before run identities; restore the run's own part"
                )
            return
        if ident != self.identity:
            other = f"run_id {ident[0]}" if ident else "no run identity"
            raise ArchiveFormatError(
                f"{where}: belongs to another run ({other}), not to {self.path} (run_id "
                f"{self.identity[0]}); restore the run's own part or open that run's header"
            )
        # a generation part follows the part before it; a champion part, the generation it was recorded after
        link = after - 1 if is_generation else after
        want = self.part_digests[link].hex() if link >= 0 else ""
        if previous != want:  # the part it follows is not the one the writer committed
            changed = os.path.join(self.parts_dir, schema.generation_part(link)) if link >= 0 else where
            raise ArchiveFormatError(
                f"{changed}: differs from the part the run committed ({name} records "
                "another digest for it): it was modified or replaced; restore the run's own part"
            )

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
                        not 0 <= k < len(layouts) for k in layout
                    ):
                        raise ValueError("digests, offsets and layouts do not match the history")
                    out["keys"] = [[str(key) for key in layouts[k]] for k in layout]
        except (ArchiveFormatError, *READ_ERRORS) as exc:
            self._notes.append(f"{name}: damaged ({one_line(exc)}); the generations' own statistics are used")
            return None
        ident = out["identity"]
        # an index of another run does not belong here (one written before identities does, under a header
        # without identity or one given an identity later: it is then checked against the parts)
        if ident != self.identity and (ident is not None or self.identity_from == 0):
            other = f"run_id {ident[0]}" if ident else "no run identity"
            self._foreign = ArchiveFormatError(  # raised once the parts are checked: a foreign part says so first
                f"{name}: belongs to another run ({other}), not to {self.path}; it is only a cache: remove it "
                "(the parts are read instead) or restore the run's own"
            )
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
        self._foreign = None
        index = self._read_index(n)
        trusted = index is not None and index["identity"] is not None and "digests" in index
        self.part_digests, self.stats_at = [], [None] * n
        with reading_errors(self.parts_dir, "generation parts"):
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
                    raise ArchiveFormatError(
                        f"{name}: differs from the part the run committed (its index.h5 "
                        "records another sha256 for it): it was modified or replaced; "
                        "restore the run's own part"
                    )
                if trusted and gen < index["m"]:  # bound to the parts' bytes, or not used at all
                    trusted = index["digests"][gen] == self.part_digests[gen] and self._index_row_matches(
                        index, gen, data
                    )
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
                with reading_errors(os.path.join(self.parts_dir, name), "generation part"):
                    keys = self._stats_into(p[schema.GENERATION], gen, columns)
                    self.stats_at[gen] = (p[schema.GENERATION]["stats"].id.get_offset(), keys)
                    if schema.CHAMPION in p:
                        best = ((gen, 0), name)
        if self._foreign is not None:
            raise self._foreign
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
        self._notes.append(
            f"{name}: disagrees with the generation parts ({bad}); the parts' own statistics are "
            "used (a resume rewrites the index)"
        )

    def _verify_split(self) -> None:
        """:meth:`Run.verify` of a split run: every part's checksums, identity and chain."""

        names = [schema.generation_part(g) for g in range(self.n_generations)]
        names += [c[2] for c in list_parts(self.parts_dir)[1] if c[0] < self.n_generations]
        for name in names:
            m = schema.PART_RE.match(name)
            gen = int(m.group(2))
            with self._part(name) as p:
                self._check_part(p, name, gen, gen)
                check_all(p, os.path.join(self.parts_dir, name))
            if (
                name.startswith("gen-")
                and schema.file_digest(os.path.join(self.parts_dir, name)) != self.part_digests[gen]
            ):
                raise ArchiveFormatError(
                    f"{os.path.join(self.parts_dir, name)}: changed since the run was opened; reopen it"
                )
