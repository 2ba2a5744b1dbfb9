"""Runs that start from a controller: ``[start] genome`` (formerly ``[evolution] init_genome``).

A run normally starts from random genomes. With ``[start] genome`` it starts
from a genome file, a run archive's champion or a ``.nir`` graph: generation
0 is that genome and mutants of it
(:meth:`~spatial_snn.evo.evolution.GeneticAlgorithm.initial`), to refine a
shipped champion or to continue a finished run under other settings (say,
with nudges, ``[mutation] perturb_rate``). The genome is a controller only
together with its codec, so the run adopts the stored observation bounds and
refuses a file whose encoder, decoder or timing differ from the scenario's.

With ``[encoder] normalise = true`` the run goes on from the running
observation moments the start's bounds were made from (a run archive keeps
them with every generation, ``spatial-snn export`` writes them into the
genome file's meta as ``obs_moments``): its bounds then move as slowly as
the original run's would have, and the start genome stays encoded as it was
evolved. A genome file without them (exported before they were kept) serves
its bounds to generation 0 only; from generation 1 the bounds come from this
run's own statistics, so the start genome is encoded differently.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..space.genome import Genome
from ..tasks.evaluation import Task
from ..tasks.moments import ObsMoments
from .setup import RunSetup


@dataclasses.dataclass(frozen=True)
class Start:
    """The controller a run starts from: its genome, its task, and where it came from."""

    genome: Genome
    task: Task
    source: str
    moments: ObsMoments | None = None  # the statistics behind the bounds; None when not stored
    env_steps: int | None = None  # environment steps that made the genome; None when not stored

    @property
    def bounds(self) -> tuple[tuple, tuple]:
        return tuple(self.task.obs_low), tuple(self.task.obs_high)


def load_start(scenario) -> Start | None:
    """The controller ``scenario.start.genome`` names, None when it names none.

    Raises
    ------
    ValueError
        The file does not exist or holds no controller.
    """
    path = scenario.start.genome
    if path is None:
        return None
    if not Path(path).is_file():
        raise ValueError(
            f"start.genome: {path} is not a file; give a genome file (genomes/NAME.h5), "
            "a run archive or a .nir graph, relative to the working directory"
        )
    from ..store.controller import load_controller

    genome, task, info = load_controller(path)
    steps = info.get("env_steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 0):
        raise ValueError(
            f"start.genome: {path}: meta env_steps is {steps!r}, not a count >= 0; export "
            "the genome again from its run archive, or start from the archive itself"
        )
    return Start(genome, task, str(path), _moments(info.get("obs_moments"), len(task.obs_low), str(path)), steps)


def _moments(stored, n_obs: int, source: str) -> ObsMoments | None:
    """``obs_moments`` of a genome's meta, checked; None when it has none."""
    if stored is None:
        return None
    try:
        return ObsMoments.from_json(stored, n_obs)
    except ValueError as exc:
        raise ValueError(
            f"start.genome: {source}: meta obs_moments is damaged ({exc}); export the "
            "genome again from its run archive, or start from the archive itself"
        ) from None


def fit_start(start: Start, setup: RunSetup) -> RunSetup:
    """``setup`` with the start's observation bounds, after checking that the start fits the run.

    Raises
    ------
    ValueError
        The start's codec or timing (sub-steps, dt, encoder, decoder), its
        observation size, its shape (neurons, inputs, outputs, dimension) or
        its connectivity rule differ from the run's.
    """
    mine, theirs = setup.task, start.task
    for name in ("substeps", "dt", "encoder", "decoder"):
        if getattr(theirs, name) != getattr(mine, name):
            raise ValueError(
                f"start.genome: {start.source} was evolved with {name} "
                f"{getattr(theirs, name)!r}, the scenario has {getattr(mine, name)!r}; set the "
                f"scenario's {name} to the genome's, or start from a genome evolved with it"
            )
    if len(theirs.obs_low) != len(mine.obs_low):
        raise ValueError(
            f"start.genome: {start.source} observes {len(theirs.obs_low)} values, "
            f"{mine.env_id} {len(mine.obs_low)}; start from a genome of this task"
        )
    want = (setup.spec.n_hidden, setup.n_inputs, setup.n_outputs, setup.spec.dim)
    got = (start.genome.n, start.genome.n_inputs, start.genome.n_outputs, start.genome.dim)
    if got != want:
        raise ValueError(
            f"start.genome: {start.source} has (neurons, inputs, outputs, dim) = {got}, "
            f"the run needs {want}; start from a genome of this task, network and dimension"
        )
    rule = setup.spec.resolved_rule(setup.n_inputs)
    if start.genome.rule != rule:
        raise ValueError(
            f"start.genome: {start.source} has another connectivity rule than the "
            "scenario's network (preset, grid, lengths); start from a genome evolved with the "
            "scenario's [network]"
        )
    if start.genome.plastic != setup.spec.plasticity:
        raise ValueError(
            f"start.genome: {start.source} is {'plastic' if start.genome.plastic else 'static'}, "
            f"the scenario's network.plasticity is {str(setup.spec.plasticity).lower()}; set it to "
            f"{str(start.genome.plastic).lower()} or start from a genome evolved with it"
        )
    return setup.with_bounds(*start.bounds)
