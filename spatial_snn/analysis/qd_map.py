"""What a MAP-Elites run found: its QD-score, coverage and best elite (:func:`map_lines`), and a heat map
of the archive (:func:`map_figure`).

Both read the last complete generation's record (``qd_*`` in its
``extra``, docs/archive.md); the corrected figures come from the elites
re-evaluated on fresh episodes at the end of the run, when it did that.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..evo import qd_archive as qa
from ..store import schema
from ..store.controller import cell_label, map_shape
from ..store.run_reader import Run
from ..tasks.backends import FEET
from .png import save_png


def _labels(run: Run, dims: int) -> list[str]:
    table = (run.scenario.get("search") or {}).get("map_elites") or {}
    names = list(table.get("descriptors", ["wiring_length", "synapses"]))
    if "gait" in names:  # one gait dimension per foot
        i = names.index("gait")
        env_id = str((run.scenario.get("env") or {}).get("id", ""))
        feet = FEET.get(env_id.split("-v")[0], tuple(f"foot {k}" for k in range(dims - len(names) + 1)))
        names[i : i + 1] = [f"{f} contact fraction" for f in feet]
    if "final_xy" in names:  # the torso's final x and y
        i = names.index("final_xy")
        names[i : i + 1] = ["final x", "final y"]
    return names if len(names) == dims else [f"descriptor {k}" for k in range(dims)]


def _train_kwargs(run: Run) -> dict:
    """The scenario's training-only environment arguments (training returns use another reward when set)."""
    kwargs = (run.scenario.get("env") or {}).get("train_kwargs")
    return kwargs if isinstance(kwargs, dict) else {}


def _offset(run: Run) -> float:
    table = (run.scenario.get("search") or {}).get("map_elites") or {}
    return float(table.get("qd_offset", 0.0))


def map_figures(extra: dict, offset: float, prefix: str = "qd_") -> tuple[float, float, int, int, int] | None:
    """QD-score, coverage, occupied cells, all cells and the best cell of one archive in ``extra``
    (``prefix`` ``qd_corrected_`` for the corrected one); None when ``extra`` holds none."""
    names = [n.replace("qd_", prefix, 1) for n in schema.QD_CELLS]
    if names[0] not in extra:
        return None
    cells = qa.Cells(*(np.asarray(extra[n]) for n in names))
    occupied = cells.occupied.astype(bool)
    cells = cells._replace(occupied=occupied)
    best = int(np.flatnonzero(occupied)[np.argmax(cells.objective[occupied])]) if occupied.any() else -1
    return qa.qd_score(cells, offset), qa.coverage(cells), int(occupied.sum()), occupied.size, best


def map_lines(run: Run) -> list[tuple[str, str]]:
    """``inspect``'s lines for a MAP-Elites run (none for other runs)."""
    try:
        extra, grid = map_shape(run)
    except ValueError:
        return []
    offset = _offset(run)
    dims = np.asarray(extra[schema.QD_MEASURES]).shape[1]
    if grid is None:
        kind = "CVT archive"
    else:
        kind = " x ".join(str(b) for b in grid) + " grid" if len(grid) > 1 else "one-dimensional grid"
    qd, cov, k, n, best = map_figures(extra, offset)
    lines = [("map", f"MAP-Elites, {kind} of {n} cells over {', '.join(_labels(run, dims))}")]
    if best < 0:
        return lines + [("QD-score", "no elite yet")]
    objective = np.asarray(extra[schema.QD_OBJECTIVE])
    gen, index = (int(x) for x in np.asarray(extra[schema.QD_ELITE])[best])
    off = f" (offset {offset:g})" if offset else ""
    lines += [
        ("QD-score", f"{qd:.1f}{off}, coverage {100 * cov:.1f} % ({k} of {n} cells), training returns"),
        (
            "best elite",
            f"{objective[best]:.1f} in cell {cell_label(best, grid)} (generation {gen}, index {index}); "
            f"replay it: --cell {cell_label(best, grid)}",
        ),
    ]
    corrected = map_figures(extra, offset, "qd_corrected_")
    if corrected is not None:
        cqd, ccov, ck, _, cbest = corrected
        episodes = np.asarray(extra[schema.QD_REEVALUATION_SEEDS]).size
        steps = extra.get(schema.QD_REEVALUATION_STEPS)
        spent = f", {int(np.sum(steps)):,} env steps beyond the run's" if steps is not None else ""
        fresh = np.asarray(extra[schema.QD_CORRECTED[1]])
        reward = " (the task's reward, as tests)" if _train_kwargs(run) else ""
        lines.append(
            (
                "corrected",
                f"QD-score {cqd:.1f}, coverage {100 * ccov:.1f} % ({ck} of {n} cells), best {fresh[cbest]:.1f} "
                f"in cell {cell_label(cbest, grid)}: the {k} elites re-run on {episodes} fresh episodes{reward}{spent}",
            )
        )
    return lines


def map_figure(run: Run, corrected: bool = False):
    """A heat map of the archive: the best training return of each cell (blank: empty), as a ``Figure``.

    One or two descriptor dimensions draw the grid over the descriptors'
    ranges; a CVT archive draws its centroids in the first two dimensions,
    coloured by their elite's return. ``corrected``: the re-evaluated archive.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    extra, grid = map_shape(run)
    prefix = "qd_corrected_" if corrected else "qd_"
    names = [n.replace("qd_", prefix, 1) for n in schema.QD_CELLS]
    if names[0] not in extra:
        raise ValueError(f"corrected: {run.path} holds no re-evaluated map (reevaluate_episodes was 0)")
    occupied = np.asarray(extra[names[0]], bool)
    objective = np.where(occupied, np.asarray(extra[names[1]], np.float64), np.nan)
    low, high = np.asarray(extra[schema.QD_BOUNDS], np.float64)
    labels = _labels(run, low.size)
    fig = Figure(figsize=(6.4, 5.0 if grid is None or len(grid) == 2 else 3.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if grid is not None and len(grid) == 2:
        image = ax.imshow(
            objective.reshape(grid).T,
            origin="lower",
            extent=(low[0], high[0], low[1], high[1]),
            aspect="auto",
            cmap="viridis",
            interpolation="nearest",
        )
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
    elif grid is not None:
        image = ax.imshow(
            objective[None, :], extent=(low[0], high[0], 0, 1), aspect="auto", cmap="viridis", interpolation="nearest"
        )
        ax.set_yticks([])
        ax.set_xlabel(labels[0])
    else:
        centroids = np.asarray(extra[schema.QD_CENTROIDS], np.float64)
        ax.scatter(centroids[~occupied, 0], centroids[~occupied, 1], s=12, facecolors="none", edgecolors="0.75")
        image = ax.scatter(centroids[occupied, 0], centroids[occupied, 1], c=objective[occupied], s=30, cmap="viridis")
        ax.set_xlabel(f"{labels[0]} (CVT centroids, first two of {low.size} dimensions)")
        ax.set_ylabel(labels[1])
    qd, cov, k, n, _ = map_figures(extra, _offset(run), prefix)
    name = run.scenario.get("name", "")
    what = "corrected (fresh episodes)" if corrected else "training returns"
    ax.set_title(f"{name}: QD-score {qd:.0f}, coverage {100 * cov:.0f} % ({k}/{n}), {what}", fontsize=9)
    fig.colorbar(image, ax=ax, label="return, fresh episodes" if corrected else "best training return")
    fig.tight_layout()
    return fig


def save_map(run: Run, out_png: str | os.PathLike, corrected: bool = False) -> Path:
    """Write :func:`map_figure` to ``out_png`` and return its path."""
    return save_png(map_figure(run, corrected), out_png)
