"""NIR graphs -> controllers: :func:`from_nir` and :func:`read_nir`.

The inverse of :func:`~spatial_snn.store.nir_io.to_nir` (the mapping is
described there and in ``docs/nir.md``). The graph's structure is checked
node by node (one CubaLIF population, Linear or zero-bias Affine
projections, recurrent branches ``Linear -> CubaLIF`` or ``Linear -> Delay ->
CubaLIF``); effective weights are split back into genes and signs (Dale's
law) under the stored connectivity rule, so a graph written by ``to_nir``
comes back bit for bit. Every refusal is a
:class:`~spatial_snn.store.nir_io.NIRImportError` naming the node.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..space.connectivity import build, synapse_distances
from ..space.genome import Genome, Synapses
from ..space.rules import ConnectivityRule
from ..tasks.evaluation import Task, task_from_meta
from .genome_io import check_env_id
from .h5io import ArchiveFormatError, check_file
from .nir_io import FORMAT, NIRImportError, nir_package

__all__ = ["from_nir", "read_nir"]

_SUPPORTED = ("Input", "Output", "Linear", "Affine", "CubaLIF", "Delay")


def _weight(nodes: dict, name: str, shape: tuple[int, int]) -> np.ndarray:
    """Dense weight of a Linear (or zero-bias Affine) node, checked against ``shape``."""
    node = nodes[name]
    kind = type(node).__name__
    if kind not in ("Linear", "Affine"):
        raise NIRImportError(f"node {name!r}: expected a Linear or Affine node here, got {kind}")
    w = np.asarray(node.weight)
    if w.shape != shape:
        raise NIRImportError(f"node {name!r} ({kind}): expected a weight of shape {shape} (post, pre), got {w.shape}")
    if kind == "Affine" and np.any(np.asarray(node.bias) != 0):
        raise NIRImportError(
            f"node {name!r} (Affine): expected a zero bias, got a non-zero one; this package's synapses "
            "carry no constant current: fold the bias into the encoder or use a Linear node"
        )
    if not np.all(np.isfinite(w)):
        raise NIRImportError(f"node {name!r} ({kind}): expected finite weights")
    return w.astype(np.float32)


def _structure(graph) -> tuple[str, str, str, list[tuple[str, int]], str, str]:
    """Names of (input, w_in, lif, [(recurrent linear, delay steps)], w_out, output)."""
    nodes = graph.nodes
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in _SUPPORTED:
            raise NIRImportError(
                f"node {name!r}: unsupported node type {kind}; this package reads graphs of "
                f"{', '.join(_SUPPORTED)} (one CubaLIF population with Linear projections)"
            )

    def one(kind):
        found = [k for k, v in nodes.items() if type(v).__name__ == kind]
        if len(found) != 1:
            raise NIRImportError(f"graph: expected exactly one {kind} node, got {len(found)}: {found}")
        return found[0]

    inp, lif, out = one("Input"), one("CubaLIF"), one("Output")
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    pred: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in graph.edges:
        succ[a].append(b)
        pred[b].append(a)

    def single(name, links, what):
        if len(links[name]) != 1:
            raise NIRImportError(f"node {name!r}: expected exactly one {what}, got {links[name]}")
        return links[name][0]

    w_in = single(inp, succ, "successor (the input Linear)")
    if single(w_in, succ, "successor") != lif:
        raise NIRImportError(f"node {w_in!r}: expected an edge to the CubaLIF node {lif!r}")
    w_out = single(out, pred, "predecessor (the output Linear)")
    if single(w_out, pred, "predecessor") != lif:
        raise NIRImportError(f"node {w_out!r}: expected an edge from the CubaLIF node {lif!r}")
    recurrent = []
    for name in succ[lif]:
        if name == w_out:
            continue
        nxt = single(name, succ, "successor")
        if nxt == lif:
            recurrent.append((name, None))
        elif type(nodes[nxt]).__name__ == "Delay" and single(nxt, succ, "successor") == lif:
            recurrent.append((name, nxt))
        else:
            raise NIRImportError(
                f"node {name!r}: expected a path back to {lif!r} (Linear -> CubaLIF or Linear -> Delay -> "
                f"CubaLIF), got an edge to {nxt!r}"
            )
    for name in pred[lif]:
        if name != w_in and name not in [r for r, d in recurrent] + [d for r, d in recurrent if d]:
            raise NIRImportError(f"node {name!r}: unexpected edge into the CubaLIF node {lif!r}")
    return inp, w_in, lif, recurrent, w_out, out


def _meta(graph) -> dict:
    meta = dict(graph.metadata or {})
    for key, value in meta.items():
        if isinstance(value, bytes):
            meta[key] = value.decode()
    return meta


def _genes(effective: np.ndarray, strength: np.ndarray, name: str) -> np.ndarray:
    """float32 genes ``g > 0`` with ``float32(g * strength) == |effective|`` exactly."""
    target = np.abs(effective).astype(np.float32)
    s = strength.astype(np.float32)
    g = (target.astype(np.float64) / s.astype(np.float64)).astype(np.float32)
    ok = (g * s) == target
    for k in range(1, 9):
        if ok.all():
            break
        for direction in (np.float32(np.inf), np.float32(0)):
            cand = g[~ok]
            for _ in range(k):
                cand = np.nextafter(cand, direction)
            hit = (cand * s[~ok]) == target[~ok]
            idx = np.flatnonzero(~ok)[hit]
            g[idx], ok[idx] = cand[hit], True
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        raise NIRImportError(
            f"node {name!r}: weight {target[k]} (synapse {k}) has no exact gene under the stored "
            f"connectivity rule (strength {s[k]}); the graph was edited after export"
        )
    return g


def _signs(src: np.ndarray, vals: np.ndarray, count: int, unit: str, nodes_of) -> np.ndarray:
    """One sign per presynaptic unit (Dale's law): +1, -1, or 0 for a unit without synapses."""
    s = np.sign(vals).astype(np.int64)
    hi, lo = np.zeros(count, np.int64), np.zeros(count, np.int64)
    np.maximum.at(hi, src, s)
    np.minimum.at(lo, src, s)
    mixed = (hi > 0) & (lo < 0)
    if mixed.any():
        j = int(np.flatnonzero(mixed)[0])
        raise NIRImportError(
            f"nodes {nodes_of(j)}: {unit} {j}'s outgoing weights have both signs; this package obeys Dale's "
            "law (one sign per neuron or input channel): split the unit or drop the minority synapses"
        )
    return hi + lo


def _recurrent(nodes: dict, branches, n: int, gain: np.ndarray, dt: float):
    """Recurrent synapses of all branches, sorted by (pre, post): pre, post, weight, delay, branch name."""
    parts = []
    for name, delay in branches:
        w = _weight(nodes, name, (n, n)) * gain[:, None]
        steps = np.ones(n, np.int64)
        if delay is not None:
            tau = np.asarray(nodes[delay].delay, np.float64).reshape(-1)
            if tau.shape != (n,):
                raise NIRImportError(f"node {delay!r} (Delay): expected shape ({n},), got {tau.shape}")
            k = tau / dt
            if not np.all(np.isfinite(k) & (k >= 0) & np.isclose(k, np.round(k), atol=1e-6)):
                raise NIRImportError(f"node {delay!r} (Delay): expected whole multiples of dt = {dt} s, got {tau}")
            steps = 1 + np.round(k).astype(np.int64)
        post, pre = np.nonzero(w)
        parts.append((pre, post, w[post, pre], steps[post], np.full(pre.size, name, dtype=object)))
    if not parts:
        parts = [
            (np.zeros(0, np.int64),) * 2 + (np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, dtype=object))
        ]
    pre, post, w, d, names = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.lexsort((post, pre))
    pre, post, w, d, names = pre[order], post[order], w[order], d[order], names[order]
    dup = (np.diff(pre) == 0) & (np.diff(post) == 0)
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise NIRImportError(
            f"nodes {sorted({names[k], names[k + 1]})}: synapse {pre[k]} -> {post[k]} appears in two recurrent "
            "branches; this package keeps one synapse (one weight, one delay) per pair"
        )
    return pre.astype(np.int64), post.astype(np.int64), w.astype(np.float32), d.astype(np.int64), names


def _layout(meta: dict, n: int, n_in: int, n_out: int, has_delays: str | None):
    """(rule, positions, default signs, task) from our metadata, or a neutral layout for a foreign graph."""
    if meta.get("format") == FORMAT:
        try:
            rule = ConnectivityRule(**json.loads(meta["rule"]))
            pos = {k: np.asarray(meta[k], np.float64) for k in ("positions", "input_positions", "output_positions")}
            task = task_from_meta(json.loads(meta["task"]))
            return rule, pos, np.asarray(meta["sign"]), np.asarray(meta["input_sign"]), task
        except (KeyError, TypeError, ValueError) as exc:
            raise NIRImportError(f"graph metadata: damaged spatial-snn metadata ({exc}); re-export the graph") from exc
    if has_delays:
        raise NIRImportError(
            f"node {has_delays!r} (Delay): delays are supported only in graphs written by spatial-snn (their "
            "delays follow from the neuron positions stored in the metadata)"
        )
    pos = {
        "positions": np.arange(n, dtype=np.float64)[:, None],
        "input_positions": np.zeros((n_in, 1)),
        "output_positions": np.zeros((n_out, 1)),
    }
    return ConnectivityRule(strength_decay=0.0), pos, np.ones(n, np.int8), np.ones(n_in, np.int8), None


def from_nir(graph) -> tuple[Genome, Task | None]:
    """A genome (and its task, if the graph carries one) from a NIR graph.

    Graphs written by :func:`to_nir` come back with their positions, signs,
    rule and task; the kernel then runs them spike for spike as the original.
    Other graphs of the supported shape (one CubaLIF, Linear projections, no
    Delay) are read with unit strength and neurons on a line; their task is
    ``None``.

    Raises
    ------
    NIRImportError
        Unsupported node types, shapes that do not match, mixed signs on one
        neuron's outgoing weights, delays that are not whole steps; the message
        names the node.
    """
    nir = nir_package()
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph: expected a nir.NIRGraph, got {type(graph).__name__}")
    inp, w_in_name, lif_name, branches, w_out_name, out = _structure(graph)
    nodes, meta = graph.nodes, _meta(graph)
    lif = nodes[lif_name]
    n = int(np.asarray(lif.v_threshold).size)
    n_in = int(np.asarray(nodes[inp].input_type["input"]).prod())
    n_out = int(np.asarray(nodes[out].output_type["output"]).prod())
    dt = float(meta.get("dt", 1e-3))
    params = {}
    for field in ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"):
        a = np.asarray(getattr(lif, field), np.float64).reshape(-1)
        if a.shape != (n,):
            raise NIRImportError(f"node {lif_name!r} (CubaLIF): expected {field} of shape ({n},), got {a.shape}")
        params[field] = a
    for field in ("tau_syn", "tau_mem", "r", "w_in"):
        if not np.all(params[field] > 0):
            raise NIRImportError(f"node {lif_name!r} (CubaLIF): expected {field} > 0 for every neuron")
    # our current enters unscaled (r = 1, w_in = tau_syn / dt); other values scale the incoming weights
    gain = params["r"] * params["w_in"] * dt / params["tau_syn"]
    gain = np.where(np.isclose(gain, 1.0, rtol=1e-6, atol=0), 1.0, gain).astype(np.float32)
    w_in = _weight(nodes, w_in_name, (n, n_in)) * gain[:, None]
    w_out = _weight(nodes, w_out_name, (n_out, n))
    pre, post, w_rec, d_rec, names = _recurrent(nodes, branches, n, gain, dt)
    in_post, in_pre = np.nonzero(w_in)
    order = np.lexsort((in_post, in_pre))
    in_pre, in_post = in_pre[order], in_post[order]
    o_pre, o_post = np.nonzero(w_out.T)
    rec_names = {j: names[pre == j].tolist() for j in np.unique(pre)}
    signs = _signs(
        np.concatenate([pre, o_pre]),
        np.concatenate([w_rec, w_out.T[o_pre, o_post]]),
        n,
        "neuron",
        lambda j: sorted({*rec_names.get(j, []), w_out_name}),
    )
    in_signs = _signs(in_pre, w_in[in_post, in_pre], n_in, "input channel", lambda c: [w_in_name])
    delayed = next((d for _, d in branches if d is not None), None) if np.any(d_rec != 1) else None
    rule, pos, sign0, in_sign0, task = _layout(meta, n, n_in, n_out, delayed)
    try:
        draft = Genome(
            **pos,
            v_th=params["v_threshold"], v_reset=params["v_reset"], v_leak=params["v_leak"],
            tau_mem_inv=1.0 / params["tau_mem"], tau_syn_inv=1.0 / params["tau_syn"],
            sign=np.where(signs != 0, signs, sign0), input_sign=np.where(in_signs != 0, in_signs, in_sign0),
            input_synapses=Synapses(in_pre, in_post, np.ones(in_pre.size, np.float32)),
            recurrent=Synapses(pre, post, np.ones(pre.size, np.float32)),
            output_synapses=Synapses(o_pre, o_post, np.ones(o_pre.size, np.float32)),
            rule=rule,
        )  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise NIRImportError(f"graph metadata: does not fit the nodes ({exc})") from exc
    genes = {}
    for proj, name, eff in (
        ("input_synapses", w_in_name, w_in[in_post, in_pre]),
        ("recurrent", "recurrent Linear", w_rec),
        ("output_synapses", w_out_name, w_out.T[o_pre, o_post]),
    ):
        strength = rule.strength(synapse_distances(draft, proj).astype(np.float32), io=proj != "recurrent")
        genes[proj] = _genes(eff, np.asarray(strength), name)
    genome = draft.replace(
        input_synapses=Synapses(in_pre, in_post, genes["input_synapses"]),
        recurrent=Synapses(pre, post, genes["recurrent"]),
        output_synapses=Synapses(o_pre, o_post, genes["output_synapses"]),
    )
    if meta.get("format") == FORMAT and "rhythm" in meta:  # a rhythm generator's genes (to_nir's metadata)
        try:
            genome = genome.replace(rhythm=np.asarray(meta["rhythm"], np.float64))
        except (ValueError, TypeError) as exc:
            raise NIRImportError(f"graph metadata: damaged rhythm genes ({exc}); re-export the graph") from exc
    if pre.size:
        got = build(genome).delays.astype(np.int64)  # CSR order is our (pre, post) order
        if not np.array_equal(got, d_rec):
            k = int(np.flatnonzero(got != d_rec)[0])
            raise NIRImportError(
                f"node {names[k]!r}: synapse {pre[k]} -> {post[k]} has a delay of {d_rec[k]} steps, but the "
                f"stored positions and rule give {got[k]}; the graph was edited after export"
            )
    return genome, task


# -------------------------------------------------------------------- files
def read_nir(path, *, allow_import=()) -> tuple[Genome, Task | None]:
    """``from_nir(nir.read(path))``, with a clear error for a file that is not a NIR graph.

    The guard of run archives and genome files holds here too: a stored
    ``env_id`` of the form ``module:Env`` is refused unless ``module`` is in
    ``allow_import`` (a file does not choose what code runs).
    """
    nir = nir_package()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such NIR file")
    try:
        check_file(path)  # a regular HDF5 file: a FIFO or device named .nir would block
    except ArchiveFormatError as exc:
        raise NIRImportError(f"{path}: not a readable NIR graph ({str(exc).split(': ', 1)[-1]})") from None
    try:
        graph = nir.read(path)
    except (OSError, KeyError, ValueError, TypeError, AssertionError) as exc:
        raise NIRImportError(f"{path}: not a readable NIR graph ({type(exc).__name__}: {exc})") from exc
    genome, task = from_nir(graph)
    if task is not None:
        check_env_id(task.env_id, path, allow_import)
    return genome, task
