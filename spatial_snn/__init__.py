"""spatial-snn: evolve spatially embedded recurrent spiking neural networks.

The front door: what a user starts from.

* runs: :func:`evolve`, :func:`resume`, :func:`resolve` (a scenario resolved for
  one run), :func:`load_scenario` / :class:`Scenario`, :func:`run_batch`
  (dimensions x seeds);
* analysis: :func:`replay`, :func:`report` (efficiency, wiring, figures);
* files: :func:`open_run` (run archives), :func:`load_genome` (genome files),
  :func:`export` (a champion as a genome file or a NIR graph),
  :func:`to_nir` / :func:`from_nir` (NIR graphs, ``docs/nir.md``);
* the objects: :class:`Genome`, :class:`GenomeSpec`, :class:`Network`.

Everything else is imported from its subpackage (``spatial_snn.space``,
``.sim``, ``.evo``, ``.tasks``, ``.store``, ``.analysis``, ``.runs``; see the README's layout).
Each name is imported on first use, so ``import spatial_snn.cli`` (and
``spatial-snn --help``) does not load numba, h5py, DEAP or gymnasium. Nothing
inside the package imports this module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

#: Public name -> the module that defines it.
_SOURCES = {
    "evolve": "runs.runner",
    "resume": "runs.runner",
    "resolve": "runs.setup",
    "load_scenario": "runs.scenarios",
    "Scenario": "runs.scenarios",
    "open_run": "store.run_reader",
    "load_genome": "store.genome_io",
    "export": "store.export",
    "Genome": "space.genome",
    "GenomeSpec": "space.layout",
    "Network": "sim.network",
    "replay": "analysis.replay",
    "report": "analysis.report",
    "run_batch": "runs.batch",
    "to_nir": "store.nir_io",
    "from_nir": "store.nir_import",
}

__all__ = [
    "evolve",
    "resume",
    "resolve",
    "load_scenario",
    "Scenario",
    "open_run",
    "export",
    "load_genome",
    "Genome",
    "GenomeSpec",
    "Network",
    "replay",
    "report",
    "run_batch",
    "to_nir",
    "from_nir",
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
    from .analysis.replay import replay
    from .analysis.report import report
    from .runs.batch import run_batch
    from .runs.runner import evolve, resume
    from .runs.scenarios import Scenario, load_scenario
    from .runs.setup import resolve
    from .sim.network import Network
    from .space.genome import Genome
    from .space.layout import GenomeSpec
    from .store.export import export
    from .store.genome_io import load_genome
    from .store.nir_import import from_nir
    from .store.nir_io import to_nir
    from .store.run_reader import open_run
