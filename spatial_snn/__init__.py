"""spatial-snn: evolve spatially embedded recurrent spiking neural networks.

The public API, layer by layer (imports flow one way, top to bottom):

* genomes and space: :class:`Genome`, :class:`GenomeSpec`, :func:`random_genome`,
  :class:`ConnectivityRule`, :func:`build` (genome -> CSR, rows = presynaptic);
* simulation: :class:`Network` (batched numba LIF kernels);
* variation: :func:`mutate`, :func:`crossover`, :func:`geometric_crossover`, :func:`prune`;
* tasks: :func:`make_env`, :class:`EncoderSpec`, :class:`DecoderSpec`, :func:`rollout`, :class:`WorkerPool`;
* runs: :func:`evolve`, :func:`load_scenario`, :func:`open_run`, :func:`load_genome`.

Names are imported on first use (PEP 562), so ``import spatial_snn`` and the
command line start in milliseconds and a Ctrl-C during start-up reaches the
command line's handler instead of printing an import traceback.
"""

import importlib

__version__ = "0.1.0"

_MODULES = {  # module -> the public names it defines, imported on first use
    ".evo.evolution": "EvolutionConfig GeneticAlgorithm",
    ".evo.variation": "MutationParams compact connected_neurons crossover geometric_crossover mutate prune",
    ".runs.batch": "run_batch",
    ".runs.replay": "replay",
    ".runs.runner": "Result RunInterrupted check_scenario evolve",
    ".runs.scenarios": "Scenario load_scenario scenario_from_dict",
    ".sim.network": "NEURON_UPDATES SPIKES SYN_EVENTS Network set_threads warmup",
    ".space.connectivity": "Connectivity ConnectivityRule build",
    ".space.genome": "Genome Synapses",
    ".space.layout": "GenomeSpec ParameterRanges random_genome",
    ".store.archive": "ArchiveFormatError ArchiveLockedError Run RunWriter load_genome open_run save_genome",
    ".tasks.encoding": "DecoderSpec EncoderSpec make_decoder make_encoder",
    ".tasks.envs": "make_env observation_bounds",
    ".tasks.evaluation": "Evaluation Task WorkerPool rollout",
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names.split()}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "run_batch",
    "warmup",
    "set_threads",
    "SYN_EVENTS",
    "SPIKES",
    "NEURON_UPDATES",
    "replay",
    "save_genome",
    "open_run",
    "load_genome",
    "RunWriter",
    "Run",
    "ArchiveLockedError",
    "ArchiveFormatError",
    "Connectivity",
    "ConnectivityRule",
    "DecoderSpec",
    "EncoderSpec",
    "Evaluation",
    "EvolutionConfig",
    "GeneticAlgorithm",
    "Genome",
    "GenomeSpec",
    "MutationParams",
    "Network",
    "ParameterRanges",
    "Result",
    "RunInterrupted",
    "Scenario",
    "Synapses",
    "Task",
    "WorkerPool",
    "build",
    "check_scenario",
    "compact",
    "connected_neurons",
    "crossover",
    "evolve",
    "geometric_crossover",
    "load_scenario",
    "make_decoder",
    "make_encoder",
    "make_env",
    "mutate",
    "observation_bounds",
    "prune",
    "random_genome",
    "rollout",
    "scenario_from_dict",
]
