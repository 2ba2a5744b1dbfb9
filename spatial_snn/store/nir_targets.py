"""Export targets: our NIR graph rewritten so that another simulator's importer runs it as we do.

:func:`~spatial_snn.store.nir_io.to_nir` writes the controller as NIR's
CubaLIF means it (``r = 1``, ``w_in = tau_syn / dt``, per-neuron ``v_leak``
and thresholds). Importers read fewer fields than that: Norse 1.1 lets the
synaptic current leak towards ``v_leak`` as well, snnTorch 1.0 asserts
``v_leak = 0``, ``r = tau_mem / 1e-4`` and one threshold for all neurons, and
Spyx 1.0 reads only ``tau_syn``, ``tau_mem`` and ``v_threshold``, Rockpool
3.1 decays exactly and reads ``v_leak`` as a bias (``docs/nir.md`` has the
readings). :func:`retarget` rewrites the graph into an equivalent one that
uses only fields the importer reads, as it reads them. Per neuron ``k``,
with ``a_mem = dt / tau_mem``, ``a_syn = dt / tau_syn`` and
``g = a_mem / v_threshold``::

    I' = g (I + v_leak)       v' = v / v_threshold

turns our update ``v <- v + a_mem (v_leak - v + I)``,
``I <- (1 - a_syn) I + input`` into

    v' <- (1 - a_mem) v' + I'          threshold 1, reset to 0, no leak
    I' <- (1 - a_syn) I' + g input + g a_syn v_leak

so the incoming weights (``w_in`` and every ``w_rec*`` row) are scaled by
``g``, ``w_in`` becomes an ``Affine`` whose bias is ``g a_syn v_leak``, and
the CubaLIF gets ``v_leak = 0``, ``v_threshold = 1``, ``v_reset = 0``,
``r = tau_mem / dt`` and ``w_in = tau_syn / dt``. Forward Euler at ``dt`` of
that CubaLIF is the update above, so the graph still means our network in
NIR's own equations. Outgoing weights (``w_out``, the columns of ``w_rec``)
are unchanged: the spikes are the same.

What no rewrite can carry (stated in the metadata, measured in
``benchmarks/nir_consumers``): these importers update ``v`` from the current
*after* the step's input (ours: before), reset by subtraction (Spyx), and
start ``I'`` at 0 where ours starts at ``g v_leak``.

``snntorch`` additionally divides every time constant by ``dt / 1e-4``: its
importer fixes ``dt = 1e-4`` s, so the graph's decays per step equal ours
only on that clock (``metadata["time_scale"]``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["TARGETS", "retarget"]

#: Export targets and the importer each is written for.
TARGETS = {
    "spatial-snn": "NIR's CubaLIF as our kernel means it (exact round trip; the default)",
    "norse": "Norse 1.1 norse.torch.from_nir(graph, dt=metadata['dt'])",
    "snntorch": "snnTorch 1.0 snntorch.import_nir.import_from_nir(graph) (its dt is fixed at 1e-4 s)",
    "spyx": "Spyx 1.0 spyx.nir.from_nir(graph, x, dt=metadata['dt'])",
    "rockpool": "Rockpool 3.1 rockpool.nn.modules.torch.nir.from_nir(graph) (exact exponential decays; dt read "
    "from tau_mem / (1 + r); v_leak read as a bias added to v every step)",
}

#: What the rewrite cannot carry, per target (read in each importer's source; measured in benchmarks/nir_consumers).
_DIFFERENCES = {
    "norse": "v is updated from the current after the step's input (ours: before), so input and recurrent "
    "spikes reach v one step sooner; I' starts at 0 (ours: g v_leak)",
    "snntorch": "as norse; time constants are divided by dt / 1e-4 (metadata time_scale) for snnTorch's fixed "
    "dt of 1e-4 s",
    "rockpool": "as norse, without the start-up difference (the leak is Rockpool's per-step bias); the input "
    "enters the current already decayed by one step, so incoming weights are divided by 1 - dt/tau_syn; reset "
    "subtracts the threshold (ours: to 0) and a neuron may spike more than once in a step",
    "spyx": "a spike is read from v before the update (input timing as ours) but its recurrent input enters "
    "the current in the same step (ours: the next); reset subtracts the threshold (ours: to 0); I' starts at 0",
}

#: The time step snnTorch 1.0's importer assumes (``import_nir.py``: ``dt = 1e-4``).
SNNTORCH_DT = 1e-4


def retarget(graph, target: str):
    """``graph`` (written by ``to_nir``) rewritten for ``target``'s importer; a new ``nir.NIRGraph``.

    Parameters
    ----------
    graph : nir.NIRGraph
        A graph exported by :func:`~spatial_snn.store.nir_io.to_nir`.
    target : str
        One of :data:`TARGETS`; ``"spatial-snn"`` returns ``graph`` unchanged.

    Raises
    ------
    ValueError
        Unknown target; a graph that is not ours; a neuron with ``v_reset != 0``
        (the importers reset to 0), a threshold ``<= 0`` or ``tau_mem`` infinite;
        a ``Delay`` node (none of these importers reads one).
    """
    import nir

    if target not in TARGETS:
        raise ValueError(f"target: expected one of {', '.join(TARGETS)}, got {target!r}")
    meta = dict(graph.metadata or {})
    if meta.get("format") != "spatial-snn":
        raise ValueError(
            "graph: expected a graph exported by spatial-snn (metadata format 'spatial-snn'), "
            f"got format {meta.get('format')!r}"
        )
    if target == "spatial-snn":
        return graph
    nodes = graph.nodes
    delays = [k for k, v in nodes.items() if isinstance(v, nir.Delay)]
    if delays:
        raise ValueError(
            f"target {target}: node {delays[0]!r} is a Delay, which {target}'s importer does not "
            "read; export without --target, or evolve with delays of one sub-step"
        )
    dt = float(meta["dt"])
    lif = nodes["lif"]
    tau_syn, tau_mem = np.asarray(lif.tau_syn, np.float64), np.asarray(lif.tau_mem, np.float64)
    th, v_leak, v_reset = (np.asarray(getattr(lif, k), np.float64) for k in ("v_threshold", "v_leak", "v_reset"))
    if np.any(v_reset != 0):
        k = int(np.flatnonzero(v_reset != 0)[0])
        raise ValueError(
            f"target {target}: neuron {k} resets to v_reset = {v_reset[k]:g}, but the importer "
            "resets to 0; export without --target"
        )
    if np.any(th <= 0) or not np.all(np.isfinite(tau_mem)):
        k = int(np.flatnonzero((th <= 0) | ~np.isfinite(tau_mem))[0])
        raise ValueError(
            f"target {target}: neuron {k} has v_threshold {th[k]:g} and tau_mem {tau_mem[k]:g}; "
            "the rewrite needs a threshold > 0 and a finite tau_mem; export without --target"
        )
    a_mem, a_syn = dt / tau_mem, dt / tau_syn
    gain = a_mem / th
    f32 = np.float32
    if target == "rockpool":
        return _rockpool(graph, meta, dt, a_mem, a_syn, gain, v_leak)
    out = {}
    for name, node in nodes.items():
        if name == "w_in":
            w = np.asarray(node.weight, np.float64) * gain[:, None]
            out[name] = nir.Affine(weight=w.astype(f32), bias=(gain * a_syn * v_leak).astype(f32))
        elif name.startswith("w_rec"):
            out[name] = nir.Linear(weight=(np.asarray(node.weight, np.float64) * gain[:, None]).astype(f32))
        elif name == "lif":
            scale = SNNTORCH_DT / dt if target == "snntorch" else 1.0
            out[name] = nir.CubaLIF(
                tau_syn=tau_syn * scale,
                tau_mem=tau_mem * scale,
                r=tau_mem / dt,
                v_leak=np.zeros_like(th),
                v_threshold=np.ones_like(th),
                v_reset=np.zeros_like(th),
                w_in=tau_syn / dt,
            )
        else:
            out[name] = node
    meta.update(
        {
            "format": f"spatial-snn/{target}",
            "target": target,
            "target_importer": TARGETS[target],
            "target_rewrite": "per neuron g = (dt/tau_mem) / v_threshold: I' = g (I + v_leak), v' = v / v_threshold; "
            "incoming weights x g, w_in bias g (dt/tau_syn) v_leak; v_leak 0, v_threshold 1, v_reset 0, "
            "r = tau_mem/dt, w_in = tau_syn/dt",
            "target_differences": _DIFFERENCES[target],
        }
    )
    edges = list(graph.edges)
    if target == "snntorch":
        meta["time_scale"] = dt / SNNTORCH_DT
        # snnTorch wraps a lif <-> Linear 2-cycle into a sub-graph that feeds the layer's external input through
        # the recurrent weights too (import_nir.py, _create_rnn_subgraph); an identity relay makes the cycle
        # three nodes long, so nirtorch runs it as written
        n = th.size
        out["w_rec_relay"] = nir.Linear(weight=np.eye(n, dtype=f32))
        edges = [e for e in edges if e != ("lif", "w_rec")] + [("lif", "w_rec_relay"), ("w_rec_relay", "w_rec")]
        meta["target_rewrite"] += "; lif -> w_rec_relay (identity) -> w_rec -> lif"
    return nir.NIRGraph(nodes=out, edges=edges, metadata=meta)


def _rockpool(graph, meta: dict, dt: float, a_mem, a_syn, gain, v_leak):
    """Rockpool's reading: ``isyn <- b (isyn + input)``, ``v <- m v + isyn + bias``, decays ``exp(-dt/tau)``.

    With ``m = 1 - a_mem`` and ``b = 1 - a_syn`` (time constants ``-dt / log(1 - a)``), ``bias = g v_leak``
    (NIR's ``v_leak`` field, which Rockpool adds to ``v`` every step) and incoming weights ``x g / b``, its
    ``v`` is our ``v / v_threshold``.
    """
    import nir

    if np.any(a_mem >= 1) or np.any(a_syn >= 1):
        k = int(np.flatnonzero((a_mem >= 1) | (a_syn >= 1))[0])
        raise ValueError(
            f"target rockpool: neuron {k} forgets its state in one step (dt/tau = "
            f"{max(a_mem[k], a_syn[k]):g} >= 1), which exp(-dt/tau) cannot express; "
            "export without --target"
        )
    f32 = np.float32
    with np.errstate(divide="ignore"):
        tau_syn, tau_mem = -dt / np.log1p(-a_syn), -dt / np.log1p(-a_mem)
    scale = gain / (1.0 - a_syn)
    out = {}
    for name, node in graph.nodes.items():
        if name == "w_in" or name.startswith("w_rec"):
            out[name] = nir.Linear(weight=(np.asarray(node.weight, np.float64) * scale[:, None]).astype(f32))
        elif name == "lif":
            ones = np.ones_like(gain)
            out[name] = nir.CubaLIF(
                tau_syn=tau_syn,
                tau_mem=tau_mem,
                r=tau_mem / dt - 1.0,
                v_leak=gain * v_leak,
                v_threshold=ones,
                v_reset=0 * ones,
                w_in=tau_syn / dt,
            )
        else:
            out[name] = node
    meta.update(
        {
            "format": "spatial-snn/rockpool",
            "target": "rockpool",
            "target_importer": TARGETS["rockpool"],
            "target_rewrite": "per neuron g = (dt/tau_mem) / v_threshold, v' = v / v_threshold; tau = -dt / "
            "log(1 - dt/tau_ours); r = tau_mem/dt - 1 (Rockpool's dt = tau_mem / (1 + r)); incoming weights x g / "
            "(1 - dt/tau_syn); v_leak = g v_leak_ours, a per-step bias in Rockpool's reading, not NIR's; threshold 1",
            "target_differences": _DIFFERENCES["rockpool"],
        }
    )
    return nir.NIRGraph(nodes=out, edges=list(graph.edges), metadata=meta)
