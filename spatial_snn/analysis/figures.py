"""Pictures of a controller: the network in its space, and one episode on one time axis.

:func:`network_figure` draws hidden neurons at their positions (1D on a line,
2D in the plane, 3D on 3D axes), excitatory and inhibitory in two colours,
every synapse as one line whose width grows with ``|w_eff|`` (coloured by the
sign of its source), and the input channels and output units where they sit.
:func:`episode_figure` stacks the observation, the spike raster, a few
membrane potentials and the actions of one recorded episode over the same
env-step axis. Both write a PNG and return what they drew, so tests can check
the content.
"""

from __future__ import annotations

import os

import numpy as np

from ..space.connectivity import build
from ..space.genome import Genome
from .png import save_png
from .recording import EpisodeRecord

EXC, INH, IN_COLOUR, OUT_COLOUR = "tab:red", "tab:blue", "tab:green", "black"


def _pyplot():
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, dpi: int) -> None:
    """Write ``fig`` as a PNG, making its folder."""
    save_png(fig, path, dpi)


def _display_positions(genome: Genome) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hidden, inputs, outputs) positions to draw; 1D gets a y of 0, inputs/outputs spread in y."""
    if genome.dim > 1:
        return genome.positions, genome.input_positions, genome.output_positions

    def spread(p):
        k = p.shape[0]
        return np.column_stack([p[:, 0], (np.arange(k) - (k - 1) / 2) * 1.0])

    return (
        np.column_stack([genome.positions[:, 0], np.zeros(genome.n)]),
        spread(genome.input_positions),
        spread(genome.output_positions),
    )


def _arc(a: np.ndarray, b: np.ndarray, k: int = 16) -> np.ndarray:
    """Points of a circular-looking arc from ``a`` to ``b`` above the line (1D recurrent synapses)."""
    t = np.linspace(0.0, 1.0, k)[:, None]
    mid = (a + b) / 2 + np.array([0.0, 0.25 * abs(b[0] - a[0]) + 0.3])
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * mid + t**2 * b


def _segments(genome: Genome, hid, inp, out) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """One polyline, |w_eff| and colour per synapse: input, recurrent, output (genome order)."""
    conn = build(genome)
    segs, widths, colours = [], [], []
    for name, mat, src, dst, sign in (
        ("input_synapses", conn.input, inp, hid, genome.input_sign),
        ("recurrent", conn.recurrent, hid, hid, genome.sign),
        ("output_synapses", conn.output, hid, out, genome.sign),
    ):
        syn = getattr(genome, name)
        if not len(syn):
            continue
        w = np.abs(np.asarray(mat[syn.pre, syn.post]).ravel())
        for p, q, wk in zip(syn.pre, syn.post, w, strict=True):
            a, b = src[p], dst[q]
            if name == "recurrent" and genome.dim == 1:
                segs.append(_arc(a, b))
            elif name == "recurrent" and p == q:  # self-loop: a small closed ring beside the neuron
                ang = np.linspace(0, 2 * np.pi, 13)[:, None]
                ring = np.zeros((13, a.size))
                ring[:, 0], ring[:, 1] = 0.2 * np.cos(ang[:, 0]) + 0.2, 0.2 * np.sin(ang[:, 0])
                segs.append(a + ring)
            else:
                segs.append(np.stack([a, b]))
            widths.append(wk)
            colours.append(EXC if sign[p] > 0 else INH)
    return segs, np.asarray(widths), colours


def network_figure(genome: Genome, path, *, title: str = "", channel_names=None) -> dict:
    """Draw ``genome`` in its space to the PNG ``path``.

    Returns a dict with ``synapse_lines`` (one per synapse, self-loops as
    rings), ``neurons`` (hidden neurons drawn), ``inputs``, ``outputs`` and
    ``legend_clear`` (the legend covers neither the axes nor the x label).
    """
    plt = _pyplot()
    from matplotlib.lines import Line2D

    hid, inp, out = _display_positions(genome)
    segs, w, colours = _segments(genome, hid, inp, out)
    lw = 0.3 + 2.7 * (w / w.max()) if w.size else w
    three = genome.dim == 3
    fig = plt.figure(figsize=(10.5, 6.0) if three else (7.5, 6.0) if genome.dim > 1 else (10, 4.8))
    # 3D: the axes on the left, the legend in a column of its own on the right, covering nothing
    ax = fig.add_axes((0.0, 0.02, 0.66, 0.86), projection="3d") if three else fig.add_subplot()
    if three:  # one line per synapse: 3D axes take them one by one (a few hundred here)
        lines = [
            ax.plot(*np.asarray(seg).T, linewidth=width, color=colour, alpha=0.45)[0]
            for seg, width, colour in zip(segs, lw, colours, strict=True)
        ]
    else:
        from matplotlib.collections import LineCollection

        coll = LineCollection(segs, linewidths=lw, colors=colours, alpha=0.45, capstyle="round")
        ax.add_collection(coll)
    exc = genome.sign > 0
    wired = np.zeros(genome.n, bool)
    rec = genome.recurrent
    for idx in (genome.input_synapses.post, rec.pre, rec.post, genome.output_synapses.pre):
        wired[idx] = True

    def scatter(p, **kw):
        ax.scatter(*p.T, **kw, depthshade=False) if three else ax.scatter(*p.T, **kw)

    for mask, colour in ((exc, EXC), (~exc, INH)):
        scatter(hid[mask & wired], s=36, c=colour, edgecolors="k", linewidths=0.5, zorder=3)
        scatter(hid[mask & ~wired], s=14, facecolors="none", edgecolors=colour, linewidths=0.6, zorder=3)
    scatter(inp, s=90, marker=">", c=IN_COLOUR, edgecolors="k", zorder=4)
    scatter(out, s=90, marker="s", c=OUT_COLOUR, zorder=4)
    names = list(channel_names) if channel_names is not None else [f"in {c}" for c in range(genome.n_inputs)]
    for c, p in enumerate(inp):
        (
            ax.text(*p, f" {names[c]}", fontsize=7, color="darkgreen")
            if three
            else ax.annotate(
                names[c],
                p,
                xytext=(-9, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=7,
                color="darkgreen",
            )
        )
    for o, p in enumerate(out):
        (
            ax.text(*p, f" out {o}", fontsize=7)
            if three
            else ax.annotate(f"out {o}", p, xytext=(8, 0), textcoords="offset points", va="center", fontsize=7)
        )
    handles = [
        Line2D([], [], marker="o", ls="", color=EXC, mec="k", label=f"excitatory neuron ({int((exc & wired).sum())})"),
        Line2D([], [], marker="o", ls="", color=INH, mec="k", label=f"inhibitory neuron ({int((~exc & wired).sum())})"),
        Line2D([], [], marker="o", ls="", mfc="none", mec="grey", label=f"unwired slot ({int((~wired).sum())})"),
        Line2D([], [], marker=">", ls="", color=IN_COLOUR, mec="k", label="input channel"),
        Line2D([], [], marker="s", ls="", color=OUT_COLOUR, label="output unit"),
        Line2D([], [], color="grey", lw=0.5, label="synapse (width ~ |w|, colour = source's sign)"),
    ]
    if genome.rule.io_distance is not None:
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                label=f"(the connectivity rule takes every input/output "
                f"synapse as distance {genome.rule.io_distance:g})",
            )
        )
    if three:
        ax.set_xlabel("x"), ax.set_ylabel("y"), ax.set_zlabel("z")
        allp = np.vstack([hid, inp, out])
        for setter, k in ((ax.set_xlim, 0), (ax.set_ylim, 1), (ax.set_zlim, 2)):
            setter(allp[:, k].min() - 0.5, allp[:, k].max() + 0.5)
        for h in handles:  # a narrow column: long labels on two lines
            h.set_label(h.get_label().replace(" (width", "\n(width").replace(" input/output", "\ninput/output"))
        legend = fig.legend(handles=handles, loc="center left", fontsize=7, bbox_to_anchor=(0.66, 0.5), frameon=False)
    else:
        ax.autoscale()
        ax.margins(0.08)
        ax.set_xlabel("position x")
        if genome.dim == 2:
            ax.set_ylabel("position y")
            ax.set_aspect("equal")
        else:
            ax.set_yticks([])
            ax.set_ylabel("(1D: inputs and outputs\nspread vertically)")
        # below the x-axis label, clear of it (1D figures are short: the label sits close to the ticks)
        legend = ax.legend(
            handles=handles,
            fontsize=7,
            loc="upper center",
            ncol=3,
            frameon=False,
            bbox_to_anchor=(0.5, -0.2 if genome.dim == 1 else -0.12),
        )
    subtitle = (
        f"{genome.n_synapses} synapses ({len(genome.input_synapses)} in, {len(rec)} recurrent, "
        f"{len(genome.output_synapses)} out)"
    )
    ax.set_title(f"{title}\n{subtitle}" if title else subtitle, fontsize=10)
    if not three:  # 3D axes are placed by hand above
        fig.tight_layout()
    _save(fig, path, dpi=100)
    # what the saved figure holds, after drawing
    drawn = sum(line in ax.lines for line in lines) if three else len(coll.get_segments())
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    clear = not any(box.overlaps(other.get_window_extent(renderer)) for other in (ax, ax.xaxis.label))
    plt.close(fig)
    return {
        "synapse_lines": drawn,
        "neurons": genome.n,
        "inputs": genome.n_inputs,
        "outputs": genome.n_outputs,
        "legend_clear": clear,
    }


#: Line styles after each round of the 20 colours of ``tab20``: 80 channels before a style repeats.
_DASHES = ("-", "--", ":", "-.")


def line_style(k: int) -> dict:
    """Colour and dash of channel ``k``: ``tab20``'s ten strong colours (``tab10``'s), then its ten light
    ones, then all twenty dashed, dotted, dash-dotted: no two of the first 80 channels look alike."""
    from matplotlib import colormaps

    i = k % 20
    return {"color": colormaps["tab20"](2 * i % 20 + (i >= 10)), "linestyle": _DASHES[(k // 20) % len(_DASHES)]}


def episode_figure(
    rec: EpisodeRecord, genome: Genome, path, *, title: str = "", window: int = 100, channel_names=None
) -> dict:
    """Observation, spike raster, membrane potentials and actions of the first ``window`` env steps.

    Returns a dict with ``spikes`` (raster points drawn), ``steps`` (env steps
    shown), ``traces`` (potentials drawn), ``observation_lines`` and ``action_lines``.
    """
    plt = _pyplot()
    steps = min(rec.env_steps, int(window))
    S = rec.substeps
    shown = rec.spike_times < steps * S
    t_sub = np.arange(steps * S) / S  # sub-step k ends at env step k / S
    legend = {"fontsize": 7, "loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False}

    def columns(n: int) -> int:  # at most 6 rows: a taller legend would push the panels apart
        return max(1, -(-n // 6))

    fig, axes = plt.subplots(4, 1, figsize=(11, 9), sharex=True, gridspec_kw={"height_ratios": [1.2, 2.2, 1.4, 1.0]})
    obs = rec.observations[:steps]
    names = list(channel_names) if channel_names is not None else [f"obs {c}" for c in range(obs.shape[1])]
    for c in range(obs.shape[1]):
        axes[0].step(np.arange(steps), obs[:, c], where="post", lw=1, label=names[c], **line_style(c))
    axes[0].set_ylabel("observation")
    axes[0].legend(**legend, ncol=columns(obs.shape[1]))
    exc = genome.sign[rec.spike_neurons[shown]] > 0
    x = rec.spike_times[shown] / S
    y = rec.spike_neurons[shown]
    axes[1].scatter(x[exc], y[exc], s=1.5, marker="|", c=EXC, label="excitatory")
    axes[1].scatter(x[~exc], y[~exc], s=1.5, marker="|", c=INH, label="inhibitory")
    axes[1].set_ylim(-1, genome.n)
    axes[1].set_ylabel("hidden neuron")
    axes[1].legend(**legend, markerscale=6)
    # titles start at the panel's left edge: a wide legend narrows the panel, and a centred title wider than
    # the panel would run off the figure's left edge
    axes[1].set_title(f"spikes ({int(shown.sum())} in {steps} env steps of {S} sub-steps)", fontsize=9, loc="left")
    rel = rec.v[: steps * S] / np.where(genome.v_th[rec.traced] != 0, genome.v_th[rec.traced], 1.0)
    for k, j in enumerate(rec.traced):
        n_spk = int(np.count_nonzero(rec.spike_neurons[shown] == j))
        axes[2].plot(t_sub, rel[:, k], lw=0.7, label=f"neuron {j} ({n_spk} spikes)")
    axes[2].axhline(1.0, color="k", ls=":", lw=0.8)
    if rel.size:
        axes[2].set_ylim(max(float(rel.min()), -3.0) - 0.1, 1.3)
    axes[2].set_ylabel("v / v_th")
    axes[2].set_title(
        "membrane potential / threshold after each sub-step, neurons spread over the episode's "
        "spike-count ranks (spikes: in this window);\ndotted: 1, crossed = spike and reset; "
        "a neuron that fires every sub-step stays at its reset",
        fontsize=9,
        loc="left",
    )
    if len(rec.traced):
        axes[2].legend(**legend)
    act = np.asarray(rec.actions[:steps], np.float64).reshape(steps, -1)
    for a in range(act.shape[1]):
        axes[3].step(np.arange(steps), act[:, a], where="post", lw=1, label=f"action {a}", **line_style(a))
    axes[3].set_ylabel("action")
    axes[3].legend(**legend, ncol=columns(act.shape[1]))
    axes[3].set_xlabel(
        f"environment step ({rec.dt * 1e3 * S:g} ms of network time each: {S} sub-steps of {rec.dt * 1e3:g} ms)"
    )
    axes[3].set_xlim(0, steps)
    head = f"one episode, first {steps} of {rec.env_steps} steps (episode return {rec.episode_return:.1f})"
    fig.suptitle(f"{title}: {head}" if title else head, fontsize=10)
    fig.tight_layout()
    _save(fig, path, dpi=90)
    # counted from the saved figure's artists
    drawn = {
        "spikes": sum(len(c.get_offsets()) for c in axes[1].collections),
        "steps": steps,
        "traces": len(axes[2].get_lines()) - 1,
        "observation_lines": len(axes[0].get_lines()),
        "action_lines": len(axes[3].get_lines()),
    }
    plt.close(fig)
    return drawn


def pareto_front(returns, costs) -> np.ndarray:
    """Indices of the non-dominated points (maximise return, minimise cost), by ascending cost."""
    r, c = np.asarray(returns, np.float64), np.asarray(costs, np.float64)
    keep = [i for i in range(r.size) if not np.any((r >= r[i]) & (c <= c[i]) & ((r > r[i]) | (c < c[i])))]
    return np.array(sorted(keep, key=lambda i: (c[i], -r[i])), np.int64)


def pareto_figure(generations: dict, path, *, cost_label: str, title: str = "") -> dict:
    """Return against cost of whole populations, the last one's Pareto front joined by a line.

    ``generations``: ``{label: (returns (N,), costs (N,))}`` in drawing order;
    the last entry's front is highlighted. Returns ``{"points": ..., "front": ...}``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    items = list(generations.items())
    shades = plt.cm.viridis(np.linspace(0.15, 0.85, len(items)))
    points = 0
    for (label, (r, c)), colour in zip(items, shades, strict=True):
        ax.scatter(c, r, s=14, color=colour, alpha=0.7, label=f"{label} ({len(r)} genomes)")
        points += len(r)
    r, c = (np.asarray(a, np.float64) for a in items[-1][1])
    front = pareto_front(r, c)
    pts = np.unique(np.column_stack([c[front], r[front]]), axis=0)  # genomes tied on both objectives: one point
    ax.plot(pts[:, 0], pts[:, 1], "-o", color="crimson", ms=5, lw=1.2, label=f"Pareto front of {items[-1][0]}")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel(cost_label)
    ax.set_ylabel("mean training return")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path, dpi=90)
    plt.close(fig)
    return {"points": points, "front": front}
