"""spatial-snn: evolve spatially embedded recurrent spiking neural networks."""

from .connectivity import Connectivity, ConnectivityRule, build
from .genome import Genome, Synapses
from .layout import GenomeSpec, ParameterRanges, random_genome

__version__ = "0.1.0"

__all__ = [
    "Connectivity",
    "ConnectivityRule",
    "Genome",
    "GenomeSpec",
    "ParameterRanges",
    "Synapses",
    "build",
    "random_genome",
]
