"""The archive schema: every name and number the writers and readers agree on.

Nothing here touches a file. :mod:`.archive` (the writer), :mod:`.run_reader`
and :mod:`.genome_io` import these names; neither side reads the other's
private state. The layout, field by field with units, is in
``docs/archive.md``.

Three kinds of HDF5 file carry a ``format`` root attribute:

* ``spatial-snn-run``: a run. ``format_version`` 2 is a *run header* at the
  user's path (config, seed, dim, ``run_data/``) whose generations are
  immutable part files in the directory ``<path>.d/``; ``format_version`` 1
  is one self-contained file (what the writer before the part files
  produced, and what :func:`~.pack.pack_run` produces).
* ``spatial-snn-run-part``: one part file, ``gen-NNNNNN.h5`` (a generation,
  with the champion it made, if any), ``champion-NNNNNN-K.h5`` (a champion
  recorded after generation ``NNNNNN`` was committed) or ``index.h5`` (the
  history and the champion's part name, a cache of what the parts hold).
* ``spatial-snn-genome``: a standalone genome file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np

from ..tasks.moments import ARRAY_NAMES

FORMAT_NAME = "spatial-snn-run"
PART_FORMAT_NAME = "spatial-snn-run-part"
GENOME_FORMAT_NAME = "spatial-snn-genome"
#: Run layouts: 1 = one self-contained file (old writer, packed runs); 2 = header + part files.
PACKED_VERSION = 1
SPLIT_VERSION = 2
#: Newest ``format_version`` this code reads, per kind.
MAX_VERSION = {FORMAT_NAME: SPLIT_VERSION, PART_FORMAT_NAME: 1, GENOME_FORMAT_NAME: 1}
#: Kept for callers of the old single constant (genome files and part files are version 1).
FORMAT_VERSION = 1
#: HDF5 format bounds: v2 object headers and superblock (checksummed), but not
#: the v3 superblock, whose "open for write" flag makes a killed file unopenable
#: without ``h5clear``.
LIBVER = ("v108", "v108")

#: Statistics every generation must give (the ``stats`` of a generation, and ``history``).
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
#: Optional per-generation test arrays (name, dtype), both or neither.
TEST_FIELDS = (("test_returns", np.float64), ("test_seeds", np.int64))

#: Group names: inside a packed file, and inside a part file.
GENERATIONS = "generations"
HISTORY = "history"
RUN_DATA = "run_data"
CHAMPION = "champion"
GENERATION = "generation"

#: Part file names in ``<path>.d/``; anything else there (temporary files) is ignored.
PARTS_SUFFIX = ".d"
PART_RE = re.compile(r"^(gen|champion)-(\d{6})(?:-(\d+))?\.h5$")
#: The part directory's index: the history and the champion's part, replaced after each commit
#: (a cache: readers check it against the parts and fall back to reading them).
INDEX_PART = "index.h5"
#: Most generations a reader accepts (a bound for crafted names and counts).
MAX_GENERATIONS = 10**7


def generation_name(gen: int) -> str:
    """``/generations/NNNNNN`` group name of a packed file."""
    return f"{int(gen):06d}"


def generation_part(gen: int) -> str:
    """File name of generation ``gen``'s part."""
    return f"gen-{int(gen):06d}.h5"


def champion_part(after: int, k: int) -> str:
    """File name of the ``k``-th champion recorded after generation ``after`` was committed."""
    return f"champion-{int(after):06d}-{int(k)}.h5"


def parts_dir(header_path) -> str:
    """The part directory of a run header: ``<real path of the header>.d``.

    Derived from the header's own path only, never from a value stored in a
    file (the ``parts`` attribute is written for information and not read):
    a symlink to a header finds its parts; a copy or a hard link under
    another name is another header, without parts.
    """
    return os.path.realpath(os.fspath(header_path)) + PARTS_SUFFIX


# ---------------------------------------------------------------- identity
#: Root attributes binding the files of a run to each other (header, parts, index, packed file).
RUN_ID = "run_id"
RUN_DIGEST = "run_digest"
#: Part attribute: sha256 (hex) of the bytes of the generation part before it ("" for generation 0).
PREVIOUS = "previous"
#: Header attribute: the first generation whose part carries the identity (> 0 only for a run
#: begun before identities, given one when it was resumed).
IDENTITY_FROM = "identity_from"
#: Index dataset: sha256 of each part it covers, (m, 32) uint8.
DIGESTS = "digests"
#: Index datasets binding its history to the parts' bytes: the file offset of each part's
#: ``generation/stats`` (m,) int64, and which key list (attribute ``stats_layouts``, JSON) it has (m,) int32.
STATS_OFFSETS = "stats_offsets"
STATS_LAYOUT = "stats_layout"
STATS_LAYOUTS = "stats_layouts"


def run_digest(config: dict, seed: int, dim: int) -> str:
    """sha256 (hex) of the stored scenario, seed and dimension (canonical JSON)."""
    text = json.dumps({"config": config, "seed": int(seed), "dim": int(dim)}, sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def new_run_id() -> str:
    """A random run id (128 bits, hex): two runs of one scenario, seed and dim still differ."""
    return os.urandom(16).hex()


def file_digest(path: str) -> bytes:
    """sha256 of a file's bytes (the link of the chain of generation parts)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.digest()


# ------------------------------------------------------------------ run data and generation extras
# Every name the runner stores beside the fixed fields above. Writers and readers
# use these constants, never the bare strings; docs/archive.md lists their meaning.

#: History statistic beside :data:`HISTORY_KEYS`: processor seconds spent so far (NaN in old archives).
CPU_TIME = "cpu_time"
#: History statistic: why the run stopped after this generation (a code of
#: :data:`STOP_REASONS`; 0: it went on, or was interrupted after it). Absent (NaN) in
#: generations written before it was kept.
STOP_KEY = "stopped"
STOP_REASONS = {1: "target reached", 2: "step budget spent", 3: "generation count reached"}

#: ``run_data`` (run-level arrays, written once): the encoder's observation bounds, float64.
OBS_LOW = "obs_low"
OBS_HIGH = "obs_high"
#: ``run_data``: the observation moments a normalising run started from (an
#: ``[start] genome``): (1,) int64 count, (obs_dim,) float64 sum and sum of squares.
OBS_MOMENTS0 = tuple(name + "0" for name in ARRAY_NAMES)  # ObsMoments.to_arrays("0")
#: ``run_data``: (1,) int64 environment steps behind a ``[start] genome``.
START_ENV_STEPS = "start_env_steps"
#: ``run_data``: prefix of ``extension_<k>``, (3,) int64 ``[first generation, generations,
#: max_env_steps or -1]`` for the ``k``-th resume that extended the run.
EXTENSION_PREFIX = "extension_"
#: ``run_data`` names that are not numbered.
RUN_DATA_NAMES = (OBS_LOW, OBS_HIGH, *OBS_MOMENTS0, START_ENV_STEPS)

#: Per-generation ``extra`` (what resuming needs beyond the population): with
#: normalisation the generation's bounds (:data:`OBS_LOW`, :data:`OBS_HIGH`) and the
#: running moments after it, (1,) int64 count, (obs_dim,) float64 sum and sum of squares.
OBS_MOMENTS = ARRAY_NAMES  # the names ObsMoments.to_arrays writes
#: Per-generation ``extra``: (N,) float64 self-adapting strengths the offspring inherit
#: (absent while every strength is 1).
MUTATION_STRENGTHS = "mutation_strengths"
#: Per-generation ``extra`` of a generation an evolution strategy or EC made (``[search]``):
#: the strategy's state after its update (what the next generation asks from), one array per
#: field of the strategy's ``State``, named ``search_state_<field>`` (e.g. ``search_state_mean``,
#: ``search_state_sigma``; 0-d arrays for scalars).
SEARCH_STATE_PREFIX = "search_state_"
#: ``(N, n)`` float64 (bool for EC) the generation's candidates, in population order.
SEARCH_CANDIDATES = "search_candidates"
#: ``(1,)`` int64 the first generation the strategy made (0 unless a GA-then-ES run switched).
SEARCH_SWITCH = "search_switch"
#: ``(2,)`` int64 ``[generation, index]`` of the template network in this archive's populations;
#: ``[-1, -1]``: the ``[start] genome``, or generation 0's first random genome of the GA's stream.
SEARCH_TEMPLATE = "search_template"
# MAP-Elites (``search.strategy = "map_elites"``, spatial_snn/runs/quality.py): the archive after the
# generation, one row per cell (docs/quality-diversity.md).
#: ``(cells,)`` bool: which cells hold an elite.
QD_OCCUPIED = "qd_occupied"
#: ``(cells,)`` float64: the elite's mean training return (0 where empty).
QD_OBJECTIVE = "qd_objective"
#: ``(cells, d)`` float64: the elite's descriptor (0 where empty).
QD_MEASURES = "qd_measures"
#: ``(cells, 2)`` int64: ``[generation, index]`` of the elite's genome in this archive's populations (-1: empty).
QD_ELITE = "qd_elite"
#: ``(2, d)`` float64: the low and high end of each descriptor dimension.
QD_BOUNDS = "qd_bounds"
#: ``(cells, d)`` float64: the CVT centroids (a CVT archive only).
QD_CENTROIDS = "qd_centroids"
#: ``(N, d)`` float64: the descriptors of the generation's candidates, in population order.
QD_DESCRIPTORS = "qd_descriptors"
#: ``(N, 2)`` int64: the cells of each candidate's parent elites (-1: none; generation 0: -1).
QD_PARENTS = "qd_parents"
#: ``(N,)`` int8: each candidate's insertion status (0 kept out, 1 improved a cell, 2 new cell).
QD_STATUS = "qd_status"
#: ``(E,)`` int64: the fresh seeds the elites were re-evaluated on (odd, none a test seed).
QD_REEVALUATION_SEEDS = "qd_reevaluation_seeds"
#: ``(k, E)`` float64: each re-evaluated elite's returns, elites in cell order.
QD_REEVALUATION_RETURNS = "qd_reevaluation_returns"
#: ``(k,)`` int64: the cell each re-evaluated elite held.
QD_REEVALUATION_CELLS = "qd_reevaluation_cells"
#: ``(k,)`` int64: the environment steps of each re-evaluated elite's episodes (not in the run's ``env_steps``).
QD_REEVALUATION_STEPS = "qd_reevaluation_steps"
#: The archive fields, in :class:`~spatial_snn.evo.qd_archive.Cells` order.
QD_CELLS = (QD_OCCUPIED, QD_OBJECTIVE, QD_MEASURES, QD_ELITE)
#: The archive rebuilt from the elites re-evaluated on fresh episodes (the last generation of a run with
#: ``reevaluate_episodes > 0``): the same four fields, ``qd_corrected_occupied`` etc.
QD_CORRECTED = tuple(name.replace("qd_", "qd_corrected_", 1) for name in QD_CELLS)
#: Every per-generation ``extra`` name (state fields: :func:`is_generation_extra`).
GENERATION_EXTRAS = (
    OBS_LOW,
    OBS_HIGH,
    *OBS_MOMENTS,
    MUTATION_STRENGTHS,
    SEARCH_CANDIDATES,
    SEARCH_SWITCH,
    SEARCH_TEMPLATE,
    *QD_CELLS,
    QD_BOUNDS,
    QD_CENTROIDS,
    QD_DESCRIPTORS,
    QD_PARENTS,
    QD_STATUS,
    *QD_CORRECTED,
    QD_REEVALUATION_SEEDS,
    QD_REEVALUATION_RETURNS,
    QD_REEVALUATION_CELLS,
    QD_REEVALUATION_STEPS,
)


def search_state_name(field: str) -> str:
    """``extra`` name of a strategy state field."""
    return SEARCH_STATE_PREFIX + field


def is_generation_extra(name: str) -> bool:
    """Whether ``name`` is a declared per-generation ``extra`` name."""
    return name in GENERATION_EXTRAS or (name.startswith(SEARCH_STATE_PREFIX) and len(name) > len(SEARCH_STATE_PREFIX))


def extension_name(k: int) -> str:
    """``run_data`` name of the ``k``-th extension of a run (k = 0, 1, ...)."""
    return f"{EXTENSION_PREFIX}{int(k)}"


def extension_index(name: str) -> int | None:
    """``k`` of an ``extension_<k>`` name; None for any other name."""
    digits = name.removeprefix(EXTENSION_PREFIX)
    return int(digits) if digits != name and digits.isdigit() else None


def is_run_data_name(name: str) -> bool:
    """Whether ``name`` is a declared ``run_data`` name."""
    return name in RUN_DATA_NAMES or extension_index(name) is not None
