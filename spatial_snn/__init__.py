"""spatial-snn: evolve spatially embedded recurrent spiking neural networks.

The public API, layer by layer (imports flow one way, top to bottom):

* genomes and space: :class:`Genome`, :class:`GenomeSpec`, :func:`random_genome`,
  :class:`ConnectivityRule`, :func:`build` (genome -> CSR, rows = presynaptic);
* simulation: :class:`Network` (batched numba LIF kernels);
* variation: :func:`mutate`, :func:`crossover`, :func:`geometric_crossover`, :func:`prune`;
* tasks: :func:`make_env`, :class:`EncoderSpec`, :class:`DecoderSpec`, :func:`rollout`, :class:`WorkerPool`;
* runs: :func:`evolve`, :func:`load_scenario`, :func:`open_run`, :func:`load_genome`.
"""

__version__ = "0.1.0"

from .archive import ArchiveFormatError, ArchiveLockedError, Run, RunWriter, load_genome, open_run, save_genome
from .batch import run_batch
from .connectivity import Connectivity, ConnectivityRule, build
from .encoding import DecoderSpec, EncoderSpec, make_decoder, make_encoder
from .envs import make_env, observation_bounds
from .evaluation import Evaluation, Task, WorkerPool, rollout
from .evolution import EvolutionConfig, GeneticAlgorithm
from .genome import Genome, Synapses
from .layout import GenomeSpec, ParameterRanges, random_genome
from .network import NEURON_UPDATES, SPIKES, SYN_EVENTS, Network, set_threads, warmup
from .replay import replay
from .runner import Result, check_scenario, evolve
from .scenarios import Scenario, load_scenario, scenario_from_dict
from .variation import MutationParams, compact, connected_neurons, crossover, geometric_crossover, mutate, prune

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
