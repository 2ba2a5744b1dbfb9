"""Export a stored controller: a run's champion as a genome file, or any controller as a NIR graph.

``export(path, to)`` reads the controller at ``path`` and writes ``to``; the
suffix of ``to`` chooses the format: ``.nir`` a NIR graph (``docs/nir.md``),
anything else a genome file (HDF5, what ``genomes/*.h5`` are). A genome file
carries the task, the run it came from, the champion's generation and test
score, the environment steps behind it and, for a run that normalised its
observations, the running moments behind its bounds (``obs_moments``), so a
refinement (``[start] genome``) goes on from them.
"""

from __future__ import annotations

from pathlib import Path

from .controller import (
    champion_env_steps,
    champion_moments,
    champion_task,
    generation_task,
    load_controller,
    map_elite,
)
from .genome_io import save_genome
from .run_reader import open_run
from .schema import GENOME_FORMAT_NAME
from .targets import NIR_KIND, check_replace


def export(
    path,
    to,
    *,
    overwrite: bool = False,
    trace: int = 0,
    trace_seed: int = 0,
    target: str = "spatial-snn",
    allow_import=(),
    cell: str | None = None,
) -> Path:
    """Write the controller stored at ``path`` to ``to`` and return ``Path(to)``.

    Parameters
    ----------
    path : path
        A run archive (its champion); for a ``.nir`` target also a genome file
        or a ``.nir`` graph.
    to : path
        ``NAME.h5`` (a genome file) or ``NAME.nir`` (a NIR graph); its folder
        is made if missing.
    overwrite : bool
        Replace an existing ``to`` of the same kind (else FileExistsError);
        never the run being read, its parts, or another kind of file.
    trace, trace_seed : int
        ``.nir`` only: include a golden trace of one episode of up to
        ``trace`` environment steps (0: none), reset with ``trace_seed``.
    target : str
        ``.nir`` only: rewrite the graph for another simulator's importer, a
        key of :data:`~spatial_snn.store.nir_targets.TARGETS` (``docs/nir.md``).
    allow_import : see :func:`~spatial_snn.store.controller.load_controller`.
    cell : str, optional
        A MAP-Elites run: export the elite of this cell of the map (e.g.
        ``"3,7"``) instead of the champion.
    """
    to = Path(to)
    nir = to.suffix == ".nir"
    # checked before anything is read: never onto the run, its parts or another kind of file
    check_replace(to, NIR_KIND if nir else GENOME_FORMAT_NAME, overwrite=overwrite, inputs=[path])
    if to.suffix != ".nir" and trace:
        raise ValueError(
            f"trace: a golden trace goes into a .nir graph only, got {to.name!r}; export to NAME.nir, or pass no trace"
        )
    if to.suffix != ".nir" and target != "spatial-snn":
        raise ValueError(f"target {target!r} applies to a NIR graph only, got {to.name!r}; export to NAME.nir")
    if to.suffix == ".nir":  # the folder of ``to`` is made once there is something to write
        from .nir_io import to_nir
        from .nir_targets import retarget
        from .nir_trace import golden_trace, write_nir

        genome, task, _ = load_controller(path, allow_import=allow_import, cell=cell)
        steps = _trace_steps(trace)
        graph = retarget(to_nir(genome, task), target)
        data = golden_trace(genome, task, seed=trace_seed, steps=steps) if steps else None
        to.parent.mkdir(parents=True, exist_ok=True)
        write_nir(to, graph, data, overwrite=overwrite, inputs=[path])
        return to
    from ..tasks.evaluation import task_meta

    with open_run(path, allow_import=allow_import) as run:
        if cell is not None:
            genome, info = map_elite(run, cell)
            meta = {
                "task": task_meta(generation_task(run, info["generation"])),
                "scenario": run.scenario.get("name"),
                "dim": run.dim,
                "seed": run.seed,
                "generation": info["generation"],
                "cell": info["cell"],
                "train_mean": info["train_mean"],
                "source": str(path),
                "env_steps": champion_env_steps(run, info),
            }
            to.parent.mkdir(parents=True, exist_ok=True)
            save_genome(to, genome, meta, overwrite=overwrite, inputs=[path])
            return to
        ch = run.champion()
        if ch is None:
            raise ValueError(f"{path} has no champion yet; let the run pass its first test generation")
        genome, info = ch
        name = run.scenario.get("name")
        if not isinstance(name, str) or not len(info["test_returns"]):
            raise ValueError(
                f"{path}: the scenario has no name or the champion no test returns; the archive "
                "was not written by spatial-snn's runner or was edited: restore it from a copy"
            )
        meta = {
            "task": task_meta(champion_task(run, info)),
            "scenario": name,
            "dim": run.dim,
            "seed": run.seed,
            "generation": int(info["generation"]),
            "test_mean": float(sum(info["test_returns"]) / len(info["test_returns"])),
            "source": str(path),
            "env_steps": champion_env_steps(run, info),
        }
        moments = champion_moments(run, info)
        if moments is not None:  # a refining run ([start] genome) goes on from the statistics behind the bounds
            meta["obs_moments"] = moments.to_json()
    to.parent.mkdir(parents=True, exist_ok=True)
    save_genome(to, genome, meta, overwrite=overwrite, inputs=[path])
    return to


def _trace_steps(trace) -> int:
    if isinstance(trace, bool) or not isinstance(trace, int) or trace < 0:
        raise ValueError(f"trace: expected an integer >= 0 (env steps; 0: no trace), got {trace!r}")
    return trace
