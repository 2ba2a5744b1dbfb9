"""Where runs live on disk: ``archive/<scenario>-<dim>d-seed<k>.h5``.

Kept apart from :mod:`~spatial_snn.runs.scenarios` so that the command line
can name default paths without importing the numerical stack.
"""

from __future__ import annotations

from pathlib import Path

#: Directory of run archives, relative to the working directory.
DEFAULT_ARCHIVE_DIR = Path("archive")


def archive_path(scenario_name: str, dim: int, seed: int, root: Path = DEFAULT_ARCHIVE_DIR) -> Path:
    """``<root>/<scenario>-<dim>d-seed<k>.h5``."""
    return Path(root) / f"{scenario_name}-{dim}d-seed{seed}.h5"
