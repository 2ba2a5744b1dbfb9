"""How a controller is wired in its space: wiring length, distances, modularity, small-worldness.

Distances here are physical: the distance between the two ends' positions,
minimum-image on the periodic box of the ``spatial`` preset
(:func:`~spatial_snn.space.connectivity.wire_lengths`; a self-loop has length
0), whatever distance the connectivity rule assumes for input and output
synapses (the reference preset puts every input and output at distance 1).
Weights are effective weights ``|w_eff| = weight * strength(d)`` (the sign
dropped) unless named genes.

Graph measures use the recurrent synapses between distinct hidden neurons as
an undirected, unweighted graph over the neurons that touch a synapse
(networkx); every figure is set against ``nulls`` degree-preserving random
graphs (``double_edge_swap``, 10 swaps per edge) and reported with the nulls'
mean and standard deviation:

* modularity ``Q`` of the Louvain partition (``louvain_communities`` then
  ``modularity``, resolution and seed recorded);
* small-world index ``sigma = (C / C_rand) / (L / L_rand)`` (Humphries &
  Gurney 2008), ``C`` the average clustering, ``L`` the average shortest path
  of the largest connected component;
* small-world propensity ``phi = 1 - sqrt((dC^2 + dL^2) / 2)`` (Muldoon,
  Bridgeford & Bassett 2016) with ``dC = (C_latt - C) / (C_latt - C_rand)``
  and ``dL = (L - L_rand) / (L_latt - L_rand)``, each clipped to [0, 1], the
  lattice from networkx's degree-preserving ``lattice_reference``.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from ..space.connectivity import build, point_distances, wire_lengths
from ..space.genome import Genome

_MAX_PAIRS = 1_000_000


def _abs_weights(genome: Genome) -> dict[str, np.ndarray]:
    """|w_eff| per synapse, aligned with the genome's synapse order."""
    conn = build(genome)
    out = {}
    for name, mat in (("input_synapses", conn.input), ("recurrent", conn.recurrent), ("output_synapses", conn.output)):
        syn = getattr(genome, name)
        # CSR rows sorted by (pre, post); look every synapse up in it
        out[name] = np.abs(np.asarray(mat[syn.pre, syn.post]).ravel()) if len(syn) else np.empty(0)
    return out


def _mean_pair_distance(pos: np.ndarray, rng: np.random.Generator, period=None) -> float:
    """Mean distance over distinct pairs (all pairs, or 10^6 random ones for big networks).

    Minimum-image on the periodic box ``period`` if given, like the synapse lengths."""
    k = pos.shape[0]
    if k < 2:
        return math.nan
    if k * (k - 1) // 2 <= _MAX_PAIRS:
        a, b = np.triu_indices(k, 1)
    else:
        a = rng.integers(0, k, _MAX_PAIRS)
        b = (a + rng.integers(1, k, _MAX_PAIRS)) % k
    return float(point_distances(pos[a], pos[b], period).mean())


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3 or np.std(x) == 0 or np.std(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def wiring(genome: Genome, seed: int = 0) -> dict:
    """Wiring length and how synapse length relates to distance and weight.

    Returns
    -------
    dict with ``wiring_length`` (sum of d over all synapses), ``wiring_cost``
    (sum of |w_eff| d), the same two over recurrent synapses only,
    ``mean_synapse_length`` (recurrent, self-loops excluded),
    ``mean_neuron_distance`` (distinct pairs of neurons touching a synapse),
    and the Pearson correlations of distance with the weight gene and with
    |w_eff| (recurrent, self-loops excluded).
    """
    rng = np.random.default_rng(seed)
    w = _abs_weights(genome)
    total_d = total_wd = 0.0
    for name in ("input_synapses", "recurrent", "output_synapses"):
        d = wire_lengths(genome, name)
        total_d += float(d.sum())
        total_wd += float((w[name] * d).sum())
    rec = genome.recurrent
    d_rec = wire_lengths(genome, "recurrent")
    off = rec.pre != rec.post
    wired = np.zeros(genome.n, bool)
    for idx in (genome.input_synapses.post, rec.pre, rec.post, genome.output_synapses.pre):
        wired[idx] = True
    return {
        "wiring_length": total_d,
        "wiring_cost": total_wd,
        "recurrent_wiring_length": float(d_rec.sum()),
        "recurrent_wiring_cost": float((w["recurrent"] * d_rec).sum()),
        "mean_synapse_length": float(d_rec[off].mean()) if off.any() else math.nan,
        "mean_neuron_distance": _mean_pair_distance(genome.positions[wired], rng, genome.rule.period),
        "corr_distance_weight_gene": _pearson(d_rec[off], rec.weight[off].astype(np.float64)),
        "corr_distance_abs_weight": _pearson(d_rec[off], w["recurrent"][off]),
    }


def recurrent_graph(genome: Genome) -> nx.Graph:
    """Undirected graph of recurrent synapses between distinct hidden neurons (wired neurons only)."""
    rec = genome.recurrent
    g = nx.Graph()
    g.add_edges_from((int(a), int(b)) for a, b in zip(rec.pre, rec.post, strict=True) if a != b)
    return g


def _path_length(g: nx.Graph) -> float:
    if g.number_of_nodes() < 2:
        return math.nan
    giant = g.subgraph(max(nx.connected_components(g), key=len))
    return nx.average_shortest_path_length(giant) if giant.number_of_nodes() > 1 else math.nan


def _louvain_q(g: nx.Graph, resolution: float, seed: int) -> float:
    comms = nx.community.louvain_communities(g, resolution=resolution, seed=seed)
    return float(nx.community.modularity(g, comms, resolution=resolution))


def _stats(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, np.float64)
    a = a[np.isfinite(a)]
    return (float(a.mean()), float(a.std())) if a.size else (math.nan, math.nan)


def _clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0) if math.isfinite(x) else math.nan


def graph_structure(genome: Genome, *, nulls: int = 20, resolution: float = 1.0, seed: int = 0) -> dict:
    """Modularity and small-worldness of the recurrent graph against degree-preserving nulls.

    Fields are NaN when the graph is too small for a measure (fewer than 4
    nodes or 2 edges, or no edge swap possible); ``graph_note`` says why.
    """
    if isinstance(nulls, bool) or int(nulls) != nulls or nulls < 2:
        raise ValueError(f"nulls: expected an integer >= 2 (null graphs to compare with), got {nulls!r}")
    g = recurrent_graph(genome)
    out = {
        "graph_nodes": g.number_of_nodes(),
        "graph_edges": g.number_of_edges(),
        "louvain_resolution": resolution,
        "louvain_seed": seed,
        "null_graphs": int(nulls),
    }
    keys = (
        "modularity",
        "modularity_null_mean",
        "modularity_null_std",
        "clustering",
        "clustering_null_mean",
        "clustering_null_std",
        "path_length",
        "path_length_null_mean",
        "path_length_null_std",
        "small_world_sigma",
        "small_world_propensity",
    )
    out.update(dict.fromkeys(keys, math.nan))
    out["graph_note"] = ""
    if g.number_of_nodes() < 4 or g.number_of_edges() < 2:
        out["graph_note"] = "recurrent graph too small (fewer than 4 neurons or 2 edges)"
        return out
    e = g.number_of_edges()
    q_null, c_null, l_null = [], [], []
    try:
        for k in range(nulls):
            h = g.copy()
            nx.double_edge_swap(h, nswap=10 * e, max_tries=1000 * e, seed=seed + 1 + k)
            q_null.append(_louvain_q(h, resolution, seed))
            c_null.append(nx.average_clustering(h))
            l_null.append(_path_length(h))
        giant = g.subgraph(max(nx.connected_components(g), key=len)).copy()
        latt = (
            nx.lattice_reference(giant, niter=5, connectivity=False, seed=seed)
            if giant.number_of_nodes() >= 4 and giant.number_of_edges() >= 2
            else None
        )
    except (nx.NetworkXError, nx.NetworkXAlgorithmError) as exc:
        out["graph_note"] = f"no degree-preserving null ({exc})"
        return out
    q = _louvain_q(g, resolution, seed)
    c, path = nx.average_clustering(g), _path_length(g)
    out["modularity"], (out["modularity_null_mean"], out["modularity_null_std"]) = q, _stats(q_null)
    out["clustering"], (out["clustering_null_mean"], out["clustering_null_std"]) = c, _stats(c_null)
    out["path_length"], (out["path_length_null_mean"], out["path_length_null_std"]) = path, _stats(l_null)
    c_r, l_r = out["clustering_null_mean"], out["path_length_null_mean"]
    if c_r > 0 and path > 0 and l_r > 0:
        out["small_world_sigma"] = (c / c_r) / (path / l_r)
    if latt is not None:
        c_l, l_l = nx.average_clustering(latt), _path_length(latt)
        d_c = _clip01((c_l - c) / (c_l - c_r)) if c_l != c_r else 0.0
        d_l = _clip01((path - l_r) / (l_l - l_r)) if l_l != l_r else 0.0
        out["small_world_propensity"] = 1.0 - math.sqrt((d_c**2 + d_l**2) / 2.0)
    return out


def structure(genome: Genome, *, nulls: int = 20, resolution: float = 1.0, seed: int = 0) -> dict:
    """:func:`wiring` and :func:`graph_structure` in one dict."""
    return {**wiring(genome, seed), **graph_structure(genome, nulls=nulls, resolution=resolution, seed=seed)}
