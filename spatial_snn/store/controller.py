"""Read a controller from disk: the champion of a run archive, a genome file or a ``.nir`` graph.

A controller is a genome and the task it was evolved for (environment,
encoder with its observation bounds, decoder, sub-steps). A run that
normalised its observations stores the bounds of every generation; the
champion keeps those of its own generation, and the running moments behind
them (:func:`champion_moments`) so a refinement goes on from them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..space.genome import Genome
from ..tasks.evaluation import Task, task_from_meta
from ..tasks.moments import ObsMoments
from . import schema
from .genome_io import load_genome
from .h5io import ArchiveFormatError
from .run_reader import open_run


def load_controller(path, *, allow_import=(), cell: str | None = None) -> tuple[Genome, Task, dict]:
    """(genome, task, info) from a run archive (its champion), a genome file or a ``.nir`` graph.

    A stored ``env_id`` of the form ``module:Env`` is refused unless that
    module is in ``allow_import``: a file does not choose what code runs.
    ``cell`` (a MAP-Elites run archive only): the elite of that cell of the
    last generation's map instead of the champion (:func:`map_elite`).
    """
    path = Path(path)
    if cell is not None:
        with open_run(path, allow_import=allow_import) as run:
            genome, info = map_elite(run, cell)
            return genome, generation_task(run, info["generation"]), info
    if path.suffix == ".nir":
        from .nir_import import read_nir
        from .nir_io import NIRImportError

        genome, task = read_nir(path, allow_import=allow_import)
        if task is None:
            raise NIRImportError(
                f"{path}: the graph carries no task (environment, encoder, decoder); only "
                "graphs written by `spatial-snn export ... --to model.nir` replay on their own"
            )
        return genome, task, {"source": str(path)}
    try:
        with open_run(path, allow_import=allow_import) as run:
            ch = run.champion()
            if ch is None:
                raise ArchiveFormatError(
                    f"{path}: the run has no champion yet (no test has run); let it run past its first test generation"
                )
            genome, info = ch
            info = dict(info)
            moments = champion_moments(run, info)
            if moments is not None:
                info["obs_moments"] = moments.to_json()
            info["env_steps"] = champion_env_steps(run, info)
            return genome, champion_task(run, info), info
    except ArchiveFormatError as first:
        try:
            genome, meta = load_genome(path, allow_import=allow_import)
        except ArchiveFormatError as second:
            if "import the module" in str(second):
                raise
            raise first from None
        if not isinstance(meta.get("task"), dict):
            raise ArchiveFormatError(
                f"{path}: the genome file names no task (meta['task']); write it with "
                "`spatial-snn export RUN.h5 --to FILE.h5`, or pass "
                "meta={'task': task_meta(task)} to save_genome"
            ) from None
        return genome, task_from_meta(meta["task"]), meta


def map_shape(run) -> tuple[dict, tuple[int, ...] | None]:
    """The last generation's MAP-Elites record (``extra``) and its grid shape (None for a CVT archive).

    Raises ValueError when the run is not a MAP-Elites run.
    """
    n = run.n_generations
    extra = run.generation(n - 1)["extra"] if n else {}
    if schema.QD_OCCUPIED not in extra:
        raise ValueError(
            f"cell: {run.path} holds no MAP-Elites map (search.strategy is not map_elites, or no generation "
            "is complete); drop --cell to use the champion"
        )
    if schema.QD_CENTROIDS in extra:
        return extra, None
    n, dims = np.asarray(extra[schema.QD_MEASURES]).shape  # a grid has bins ** dims cells
    return extra, (round(n ** (1.0 / dims)),) * dims


def cell_label(cell: int, grid: tuple[int, ...] | None) -> str:
    """A cell as the user writes it: grid coordinates ``3,7`` or a CVT cell number ``12``."""
    if grid is None:
        return str(int(cell))
    return ",".join(str(int(i)) for i in np.unravel_index(int(cell), grid))


def parse_cell(text: str, grid: tuple[int, ...] | None, n_cells: int) -> int:
    """The flat cell of ``text`` (``3,7`` on a grid, ``12`` in a CVT archive), or one ValueError naming the range."""
    shape = " x ".join(str(b) for b in grid) + " grid" if grid is not None else f"CVT archive of {n_cells} cells"
    want = f"{len(grid)} numbers, each 0..{grid[0] - 1}" if grid is not None else f"one number 0..{n_cells - 1}"
    try:
        parts = [int(p) for p in str(text).split(",")]
    except ValueError:
        parts = []
    dims = grid if grid is not None else (n_cells,)
    if len(parts) != len(dims) or not all(0 <= p < d for p, d in zip(parts, dims, strict=True)):
        raise ValueError(f"cell: expected {want} (the map is a {shape}), got {text!r}")
    return int(np.ravel_multi_index(tuple(parts), dims))


def map_elite(run, cell: str) -> tuple[Genome, dict]:
    """The elite in ``cell`` of the last generation's map, and its info (generation, index, cell, training
    return); one ValueError for a cell out of range or empty."""
    extra, grid = map_shape(run)
    occupied = np.asarray(extra[schema.QD_OCCUPIED], bool)
    c = parse_cell(cell, grid, occupied.size)
    if not occupied[c]:
        raise ValueError(
            f"cell: {cell} is empty ({int(occupied.sum())} of {occupied.size} cells hold an elite); "
            "pick an occupied cell (`spatial-snn inspect --map PNG` draws the map)"
        )
    gen, index = (int(x) for x in np.asarray(extra[schema.QD_ELITE])[c])
    info = {
        "generation": gen,
        "index": index,
        "cell": cell_label(c, grid),
        "train_mean": float(np.asarray(extra[schema.QD_OBJECTIVE])[c]),
        "descriptors": np.asarray(extra[schema.QD_MEASURES])[c].tolist(),
    }
    return run.population(gen)[index], info


def generation_task(run, generation: int) -> Task:
    """The task of generation ``generation``'s genomes: the run's, with that generation's observation bounds."""
    return champion_task(run, {"generation": generation})


def champion_task(run, info: dict) -> Task:
    """The task the champion of ``run`` was tested with.

    A run with observation normalisation stores the bounds of each generation
    beside it (``extra/obs_low``, ``extra/obs_high``); the champion keeps
    those of its generation. Other runs use the run's task as stored.
    """
    task = task_from_meta(run.task)  # a clear error naming the file when the archive has none
    extra = run.generation(int(info["generation"]))["extra"]
    if schema.OBS_LOW in extra and schema.OBS_HIGH in extra:
        task = dataclasses.replace(
            task,
            obs_low=tuple(float(x) for x in extra[schema.OBS_LOW]),
            obs_high=tuple(float(x) for x in extra[schema.OBS_HIGH]),
        )
    return task


def start_env_steps(run) -> int:
    """Environment steps behind the genome a run started from (``[start] genome``); 0 for a random start.

    Stored as ``run_data`` ``start_env_steps`` when the start knew its own
    (a run archive's champion, or a genome file exported with ``env_steps``).
    """
    if schema.START_ENV_STEPS not in run.run_data_names:
        return 0
    return int(np.asarray(run.run_data(schema.START_ENV_STEPS)).reshape(-1)[0])


def champion_env_steps(run, info: dict) -> int:
    """Environment steps to the champion: the run's, up to its generation, plus those behind its start."""
    h = run.history
    row = int(np.flatnonzero(np.asarray(h["generation"]) == int(info["generation"]))[0])
    return int(h["env_steps"][row]) + start_env_steps(run)


def champion_moments(run, info: dict) -> ObsMoments | None:
    """The running observation moments the champion's bounds were made from; None without normalisation.

    Generation ``g`` of a normalising run is encoded with bounds from the
    observations of the generations before it: the moments stored with
    generation ``g - 1``, or for ``g = 0`` those the run started from
    (``run_data`` with suffix ``0``, when it started from a genome that
    carried them; none otherwise). Their
    :meth:`~spatial_snn.tasks.moments.ObsMoments.bounds` are the champion's
    bounds again; a run that refines the champion (``[start] genome``)
    goes on from them.
    """
    gen = int(info["generation"])
    if schema.OBS_LOW not in run.generation(gen)["extra"]:
        return None
    if gen > 0:
        return ObsMoments.from_arrays(run.generation(gen - 1)["extra"])
    names = schema.OBS_MOMENTS0
    if names[0] in run.run_data_names:
        return ObsMoments.from_arrays({name: run.run_data(name) for name in names}, "0")
    return ObsMoments.empty(len(run.run_data(schema.OBS_LOW)))
