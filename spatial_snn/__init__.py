"""spatial-snn: evolve spatially embedded recurrent spiking neural networks.

The public API, layer by layer (imports flow one way, top to bottom):

* genomes and space: :class:`Genome`, :class:`GenomeSpec`, :func:`random_genome`,
  :class:`ConnectivityRule`, :func:`build` (genome -> CSR, rows = presynaptic);
* simulation: :class:`Network` (batched numba LIF kernels);
* variation: :func:`mutate`, :func:`crossover`, :func:`geometric_crossover`, :func:`prune`;
* tasks: :func:`make_env`, :class:`EncoderSpec`, :class:`DecoderSpec`, :func:`rollout`, :class:`WorkerPool`;
* runs: :func:`evolve`, :func:`load_scenario`, :func:`open_run`, :func:`load_genome`;
* exchange: :func:`to_nir`, :func:`from_nir` (NIR graphs, ``docs/nir.md``).
"""

__version__ = "0.1.0"

from .evo.evolution import EvolutionConfig, GeneticAlgorithm
from .evo.variation import MutationParams, compact, connected_neurons, crossover, geometric_crossover, mutate, prune
from .runs.batch import run_batch
from .runs.replay import replay
from .runs.runner import Result, check_scenario, evolve
from .runs.scenarios import Scenario, load_scenario, scenario_from_dict
from .sim.network import NEURON_UPDATES, SPIKES, SYN_EVENTS, Network, set_threads, warmup
from .space.connectivity import Connectivity, ConnectivityRule, build
from .space.genome import Genome, Synapses
from .space.layout import GenomeSpec, ParameterRanges, random_genome
from .store.archive import ArchiveFormatError, ArchiveLockedError, Run, RunWriter, load_genome, open_run, save_genome
from .store.nir_io import NIRImportError, from_nir, to_nir
from .tasks.encoding import DecoderSpec, EncoderSpec, make_decoder, make_encoder
from .tasks.envs import make_env, observation_bounds
from .tasks.evaluation import Evaluation, Task, WorkerPool, rollout

__all__ = [
    "NIRImportError",
    "from_nir",
    "to_nir",
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
