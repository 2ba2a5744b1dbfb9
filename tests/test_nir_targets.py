"""Export targets (spatial_snn.store.nir_targets): the rewritten graphs still mean our network.

The consumers themselves (Norse, snnTorch, Spyx, Rockpool) are heavy and run in
benchmarks/nir_consumers. Here a float64 numpy simulator with OUR update order
reads only the rewritten graph's parameters and must reproduce the golden
trace's spikes: the rewrite changes variables, not the network.
"""

import dataclasses

import nir
import numpy as np
import pytest

from spatial_snn import to_nir
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.store.nir_import import from_nir
from spatial_snn.store.nir_io import NIRImportError
from spatial_snn.store.nir_targets import SNNTORCH_DT, TARGETS, retarget
from spatial_snn.store.nir_trace import golden_trace, write_nir
from spatial_snn.tasks.evaluation import Task

BOUNDS = (2.4, 3.0, 0.21, 3.5)


def task(substeps=4) -> Task:
    return Task("CartPole-v1", substeps=substeps, obs_low=tuple(-b for b in BOUNDS), obs_high=BOUNDS)


def genome(seed=3, delays=False):
    spec = GenomeSpec.spatial(dim=2)
    if delays:
        spec = dataclasses.replace(spec, rule=dataclasses.replace(spec.rule, conduction_speed=0.6, max_delay=5))
    return random_genome(spec, 4, 2, np.random.default_rng(seed))


def _our_order(graph, x: np.ndarray, dt: float, decay, i0):
    """Spikes (T, n) of the rewritten graph run with our order: v from the previous current, reset to 0."""
    lif, nodes = graph.nodes["lif"], graph.nodes
    a_mem, a_syn = decay
    w_in = np.asarray(nodes["w_in"].weight, float)
    bias = np.asarray(getattr(nodes["w_in"], "bias", np.zeros(w_in.shape[0])), float)
    w_rec = np.asarray(nodes["w_rec"].weight, float)
    th = np.asarray(lif.v_threshold, float)
    v, i, z = np.zeros(th.size), np.asarray(i0, float).copy(), np.zeros(th.size, bool)
    out = []
    for xt in x:
        v = (1 - a_mem) * v + i
        i = (1 - a_syn) * i
        z_new = v > th
        v = np.where(z_new, 0.0, v)
        i = i + w_in @ xt + bias + w_rec @ z
        z = z_new
        out.append(z)
    return np.array(out)


@pytest.fixture(scope="module")
def traced():
    t, g = task(), genome()
    trace = golden_trace(g, t, seed=1, steps=40)
    x = trace.nodes["input"].observables["current"].data[0].astype(float)
    spikes = trace.nodes["lif"].observables["spikes"].data[0]
    assert spikes.sum() > 20  # a trace with spikes to compare
    return g, t, x, spikes


@pytest.mark.parametrize("target", ["norse", "snntorch", "spyx"])
def test_rewritten_graph_reproduces_our_spikes_in_our_order(target, traced):
    g, t, x, spikes = traced
    graph = retarget(to_nir(g, t), target)
    lif = graph.nodes["lif"]
    clock = SNNTORCH_DT if target == "snntorch" else t.dt  # the dt the target's importer assumes
    a_mem, a_syn = clock / np.asarray(lif.tau_mem), clock / np.asarray(lif.tau_syn)
    assert np.allclose(a_mem, t.dt * g.tau_mem_inv) and np.allclose(a_syn, t.dt * g.tau_syn_inv)
    # fields the importers read: no leak, one threshold, r and w_in that make Euler's input gains 1
    assert np.all(lif.v_leak == 0) and np.all(lif.v_threshold == 1) and np.all(lif.v_reset == 0)
    assert np.allclose(np.asarray(lif.r) * a_mem, 1) and np.allclose(np.asarray(lif.w_in) * a_syn, 1)
    gain = t.dt * g.tau_mem_inv / g.v_th
    got = _our_order(graph, x, t.dt, (a_mem, a_syn), i0=gain * g.v_leak)  # ours starts at I' = g v_leak
    assert np.array_equal(got, spikes)


def test_rockpool_rewrite_reproduces_our_spikes_with_its_exponential_decays(traced):
    g, t, x, spikes = traced
    graph = retarget(to_nir(g, t), "rockpool")
    lif = graph.nodes["lif"]
    assert np.allclose(np.min(lif.tau_mem / (1 + lif.r)), t.dt)  # the dt Rockpool's importer infers
    m, b = np.exp(-t.dt / lif.tau_mem), np.exp(-t.dt / lif.tau_syn)
    assert np.allclose(m, 1 - t.dt * g.tau_mem_inv) and np.allclose(b, 1 - t.dt * g.tau_syn_inv)
    w_in, w_rec = (np.asarray(graph.nodes[k].weight, float) for k in ("w_in", "w_rec"))
    bias = np.asarray(lif.v_leak, float)  # Rockpool adds v_leak to v every step
    v, isyn, z, got = np.zeros(g.n), np.zeros(g.n), np.zeros(g.n, bool), []
    for xt in x:  # Rockpool's reading of the fields, in our order: v from the previous isyn, reset to 0
        v = m * v + isyn + bias
        z_new = v > lif.v_threshold
        v = np.where(z_new, 0.0, v)
        isyn = b * (isyn + w_in @ xt + w_rec @ z)
        z = z_new
        got.append(z)
    assert np.array_equal(np.array(got), spikes)


def test_snntorch_target_breaks_the_two_node_cycle_with_an_identity_relay():
    graph = retarget(to_nir(genome(), task()), "snntorch")
    assert ("lif", "w_rec") not in graph.edges
    assert {("lif", "w_rec_relay"), ("w_rec_relay", "w_rec"), ("w_rec", "lif")} <= set(graph.edges)
    assert np.array_equal(graph.nodes["w_rec_relay"].weight, np.eye(graph.nodes["lif"].v_threshold.size))
    assert graph.metadata["time_scale"] == pytest.approx(task().dt / SNNTORCH_DT)


def test_default_target_is_the_unchanged_graph_and_says_what_it_means():
    graph = to_nir(genome(), task())
    assert retarget(graph, "spatial-snn") is graph
    for key in ("integration", "reset", "initial_state", "update_order", "delay_convention"):
        assert graph.metadata[key]
    assert set(TARGETS) == {"spatial-snn", "norse", "snntorch", "spyx", "rockpool"}


def test_refusals_name_the_problem(tmp_path):
    t = task()
    with pytest.raises(ValueError, match="target: expected one of"):
        retarget(to_nir(genome(), t), "lava")
    with pytest.raises(ValueError, match="is a Delay"):
        retarget(to_nir(genome(seed=5, delays=True), t), "norse")
    g = genome()
    g = dataclasses.replace(g, v_reset=np.full(g.n, 0.5))
    with pytest.raises(ValueError, match="resets to v_reset = 0.5"):
        retarget(to_nir(g, t), "snntorch")
    io = {"input": nir.Input({"input": np.array([1])}), "output": nir.Output({"output": np.array([1])})}
    other = nir.NIRGraph(nodes=io, edges=[("input", "output")], metadata={})
    with pytest.raises(ValueError, match="exported by spatial-snn"):
        retarget(other, "norse")
    # a rewritten graph is for the other simulator: our importer does not take it for an exact copy
    path = tmp_path / "norse.nir"
    write_nir(path, retarget(to_nir(genome(), t), "norse"))
    with pytest.raises(NIRImportError):
        from_nir(nir.read(path))


def test_cli_target_needs_a_nir_file(tmp_path, capsys):
    from pathlib import Path

    from spatial_snn.cli import main

    src = Path(__file__).resolve().parent.parent / "genomes" / "cartpole-2d.h5"
    assert main(["export", str(src), "--to", str(tmp_path / "x.h5"), "--target", "norse"]) != 0
    err = capsys.readouterr().err  # the API's check, in the API's words
    assert "target 'norse' applies to a NIR graph only" in err and "export to NAME.nir" in err
    assert main(["export", str(src), "--to", str(tmp_path / "x.nir"), "--target", "snntorch"]) == 0
    assert nir.read(tmp_path / "x.nir").metadata["target"] == "snntorch"
    # the command line offers exactly the targets the module knows
    from spatial_snn.cli import build_parser

    export = build_parser()._subparsers._group_actions[0].choices["export"]
    target = next(a for a in export._actions if a.dest == "target")
    assert set(target.choices) == set(TARGETS)
