"""spatial-snn: evolve spatially embedded recurrent spiking neural networks.

The public API, layer by layer (imports flow one way, top to bottom):

* genomes and space: :class:`Genome`, :class:`GenomeSpec`, :func:`random_genome`,
  :class:`ConnectivityRule`, :func:`build` (genome -> CSR, rows = presynaptic);
* simulation: :class:`Network` (batched numba LIF kernels);
* variation: :func:`mutate`, :func:`crossover`, :func:`geometric_crossover`, :func:`prune`;
* tasks: :func:`make_env`, :class:`EncoderSpec`, :class:`DecoderSpec`, :func:`rollout`, :class:`WorkerPool`;
* runs: :func:`resolve`, :func:`evolve`, :func:`resume`, :func:`load_scenario`, :func:`open_run`,
  :func:`load_genome`, :func:`report`;
* exchange: :func:`to_nir`, :func:`from_nir` (NIR graphs, ``docs/nir.md``).

Each name is imported from its subpackage on first use, so ``import
spatial_snn.cli`` (and ``spatial-snn --help``) does not load numba, h5py,
DEAP or gymnasium. Nothing inside the package imports this module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

#: Public name -> the module that defines it.
_SOURCES = {
    "EvolutionConfig": "evo.evolution",
    "GeneticAlgorithm": "evo.evolution",
    "MutationParams": "evo.variation",
    "compact": "evo.variation",
    "connected_neurons": "evo.variation",
    "crossover": "evo.variation",
    "geometric_crossover": "evo.variation",
    "mutate": "evo.variation",
    "prune": "evo.variation",
    "run_batch": "runs.batch",
    "replay": "runs.replay",
    "report": "runs.report",
    "Result": "runs.runner",
    "RunInterrupted": "runs.runner",
    "check_scenario": "runs.setup",
    "evolve": "runs.runner",
    "resume": "runs.runner",
    "RunSetup": "runs.setup",
    "resolve": "runs.setup",
    "Scenario": "runs.scenarios",
    "load_scenario": "runs.scenarios",
    "scenario_from_dict": "runs.scenarios",
    "NEURON_UPDATES": "sim.network",
    "SPIKES": "sim.network",
    "SYN_EVENTS": "sim.network",
    "Network": "sim.network",
    "set_threads": "sim.network",
    "warmup": "sim.network",
    "Connectivity": "space.connectivity",
    "build": "space.connectivity",
    "ConnectivityRule": "space.rules",
    "Genome": "space.genome",
    "Synapses": "space.genome",
    "GenomeSpec": "space.layout",
    "ParameterRanges": "space.layout",
    "random_genome": "space.layout",
    "ArchiveFormatError": "store.archive",
    "ArchiveLockedError": "store.archive",
    "Run": "store.archive",
    "RunWriter": "store.archive",
    "load_genome": "store.archive",
    "open_run": "store.archive",
    "save_genome": "store.archive",
    "to_nir": "store.nir_io",
    "from_nir": "store.nir_io",
    "DecoderSpec": "tasks.encoding",
    "EncoderSpec": "tasks.encoding",
    "make_decoder": "tasks.encoding",
    "make_encoder": "tasks.encoding",
    "make_env": "tasks.envs",
    "observation_bounds": "tasks.envs",
    "Evaluation": "tasks.evaluation",
    "Task": "tasks.evaluation",
    "WorkerPool": "tasks.evaluation",
    "rollout": "tasks.evaluation",
}

__all__ = [
    "EvolutionConfig",
    "GeneticAlgorithm",
    "MutationParams",
    "compact",
    "connected_neurons",
    "crossover",
    "geometric_crossover",
    "mutate",
    "prune",
    "run_batch",
    "replay",
    "report",
    "to_nir",
    "from_nir",
    "Result",
    "RunInterrupted",
    "check_scenario",
    "evolve",
    "resume",
    "RunSetup",
    "resolve",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "NEURON_UPDATES",
    "SPIKES",
    "SYN_EVENTS",
    "Network",
    "set_threads",
    "warmup",
    "Connectivity",
    "build",
    "ConnectivityRule",
    "Genome",
    "Synapses",
    "GenomeSpec",
    "ParameterRanges",
    "random_genome",
    "ArchiveFormatError",
    "ArchiveLockedError",
    "Run",
    "RunWriter",
    "load_genome",
    "open_run",
    "save_genome",
    "DecoderSpec",
    "EncoderSpec",
    "make_decoder",
    "make_encoder",
    "make_env",
    "observation_bounds",
    "Evaluation",
    "Task",
    "WorkerPool",
    "rollout",
]


def __getattr__(name: str):
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'spatial_snn' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{source}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static analysers see the names where they are defined
    from .evo.evolution import EvolutionConfig, GeneticAlgorithm
    from .evo.variation import MutationParams, compact, connected_neurons, crossover, geometric_crossover, mutate, prune
    from .runs.batch import run_batch
    from .runs.replay import replay
    from .runs.runner import Result, evolve, resume
    from .runs.scenarios import Scenario, load_scenario, scenario_from_dict
    from .runs.setup import RunSetup, check_scenario, resolve
    from .sim.network import NEURON_UPDATES, SPIKES, SYN_EVENTS, Network, set_threads, warmup
    from .space.connectivity import Connectivity, build
    from .space.genome import Genome, Synapses
    from .space.layout import GenomeSpec, ParameterRanges, random_genome
    from .space.rules import ConnectivityRule
    from .store.archive import (
        ArchiveFormatError,
        ArchiveLockedError,
        Run,
        RunWriter,
        load_genome,
        open_run,
        save_genome,
    )
    from .tasks.encoding import DecoderSpec, EncoderSpec, make_decoder, make_encoder
    from .tasks.envs import make_env, observation_bounds
    from .tasks.evaluation import Evaluation, Task, WorkerPool, rollout
