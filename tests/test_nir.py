"""NIR export/import: the round trip runs spike for spike as the original."""

import dataclasses
from pathlib import Path

import nir
import numpy as np
import pytest

from spatial_snn import Network, from_nir, load_genome, to_nir
from spatial_snn.sim.kernels import NEURON_UPDATES, SPIKES
from spatial_snn.space.connectivity import build
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.store.nir_import import read_nir
from spatial_snn.store.nir_io import NIRImportError
from spatial_snn.store.nir_trace import golden_trace, write_nir
from spatial_snn.tasks.encoding import make_decoder, make_encoder
from spatial_snn.tasks.envs import make_env
from spatial_snn.tasks.evaluation import Task, task_from_meta

GENOMES = Path(__file__).resolve().parent.parent / "genomes"
CARTPOLE_BOUNDS = (2.4, 3.0, 0.21, 3.5)


def cartpole_task(substeps=8) -> Task:
    return Task("CartPole-v1", substeps=substeps, obs_low=tuple(-b for b in CARTPOLE_BOUNDS), obs_high=CARTPOLE_BOUNDS)


def genome_for(preset: str, dim: int, delays: bool, seed: int = 0, n_in=4, n_out=2):
    spec = GenomeSpec.reference(dim=dim) if preset == "reference" else GenomeSpec.spatial(dim=dim)
    if delays:
        spec = dataclasses.replace(spec, rule=dataclasses.replace(spec.rule, conduction_speed=0.6, max_delay=5))
    return random_genome(spec, n_in, n_out, np.random.default_rng(seed))


def round_trip(genome, task, tmp_path):
    path = tmp_path / "model.nir"
    write_nir(path, to_nir(genome, task))
    return from_nir(nir.read(path))


def recorded_inputs(genome, task, seed=0, steps=60):
    """Encoded observations of one episode driven by ``genome`` itself: (T, n_in) float32."""
    env = make_env(task.env_id, task.env_kwargs, task.max_episode_steps)
    enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
    dec = make_decoder(task.decoder, env.action_space)
    net = Network([genome], dt=task.dt)
    obs, _ = env.reset(seed=seed)
    xs = []
    for _ in range(steps):
        x = enc(np.asarray(obs, np.float64)[None])
        xs.append(x[0])
        obs, _, term, trunc, _ = env.step(dec(net.step(x, task.substeps))[0])
        if term or trunc:
            break
    env.close()
    return np.array(xs, np.float32)


def assert_same_run(a, b, task, xs, action_space):
    """Outputs, actions, v, i and spike counts of ``a`` and ``b`` identical at every step."""
    dec = make_decoder(task.decoder, action_space)
    na, nb = Network([a], dt=task.dt), Network([b], dt=task.dt)
    for t, x in enumerate(xs):
        ya, yb = na.step(x[None], task.substeps), nb.step(x[None], task.substeps)
        assert np.array_equal(ya.view(np.int32), yb.view(np.int32)), f"outputs differ at step {t}"
        assert np.array_equal(dec(ya), dec(yb))
        for sa, sb in zip(na.state(0), nb.state(0), strict=True):
            assert np.array_equal(sa.view(np.int32), sb.view(np.int32)), f"state differs at step {t}"
        spikes_updates = [SPIKES, NEURON_UPDATES]
        assert np.array_equal(na.counters[:, spikes_updates], nb.counters[:, spikes_updates]), f"step {t}"
    return int(na.counters[0, 0])


def assert_same_kernel_arrays(a, b, dt=1e-3):
    """Same effective weights and delays; synapses whose weight underflows to 0 are not exported."""
    ca, cb = build(a), build(b)
    for proj in ("input", "recurrent", "output"):
        pa, pb = getattr(ca, proj), getattr(cb, proj)
        kept = pa.data != 0
        if proj == "recurrent":
            assert np.array_equal(ca.delays[kept], cb.delays)
        pa = pa.copy()
        pa.eliminate_zeros()
        assert np.array_equal(pa.indptr, pb.indptr) and np.array_equal(pa.indices, pb.indices), proj
        assert np.array_equal(pa.data.view(np.int32), pb.data.view(np.int32)), proj
    for name in ("v_th", "v_reset", "v_leak"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in ("tau_mem_inv", "tau_syn_inv"):
        fa, fb = np.float32(dt * getattr(a, name)), np.float32(dt * getattr(b, name))
        assert np.array_equal(fa, fb), name
        assert np.allclose(getattr(a, name), getattr(b, name), rtol=1e-15, atol=0), name


@pytest.mark.parametrize("delays", [False, True])
@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("preset", ["reference", "spatial"])
def test_round_trip_is_spike_exact(preset, dim, delays, tmp_path):
    task = cartpole_task()
    genome = genome_for(preset, dim, delays, seed=dim)
    if delays:
        assert build(genome).delays.max() > 1, "the test genome must have multi-step delays"
    back, task_back = round_trip(genome, task, tmp_path)
    assert task_back == task
    assert_same_kernel_arrays(genome, back)
    for name in ("positions", "input_positions", "output_positions", "sign", "input_sign"):
        assert np.array_equal(getattr(genome, name), getattr(back, name)), name
    assert back.rule == genome.rule
    xs = recorded_inputs(genome, task, seed=dim)
    spikes = assert_same_run(genome, back, task, xs, make_env(task.env_id).action_space)
    assert spikes > 0, "a silent network would compare nothing"


def test_graph_has_the_documented_shape():
    task = cartpole_task()
    genome = genome_for("spatial", 2, True)
    g = to_nir(genome, task)
    n = genome.n
    assert isinstance(g.nodes["lif"], nir.CubaLIF)
    assert g.nodes["w_in"].weight.shape == (n, 4) and g.nodes["w_out"].weight.shape == (2, n)
    delays = np.unique(build(genome).delays)
    for d in delays[delays > 1]:
        assert ("lif", f"w_rec_d{d}") in g.edges and (f"delay_d{d}", "lif") in g.edges
        assert np.allclose(g.nodes[f"delay_d{d}"].delay, (d - 1) * task.dt)
    # every recurrent synapse sits in exactly one branch
    total = sum(np.count_nonzero(v.weight) for k, v in g.nodes.items() if k.startswith("w_rec"))
    assert total == len(genome.recurrent)
    lif = g.nodes["lif"]
    assert np.allclose(lif.tau_mem * genome.tau_mem_inv, 1.0) and np.all(lif.r == 1.0)
    assert np.allclose(lif.w_in * task.dt, lif.tau_syn)


@pytest.mark.parametrize("name", sorted(p.name for p in GENOMES.glob("*.h5")))
def test_every_shipped_champion_round_trips(name, tmp_path):
    genome, meta = load_genome(GENOMES / name)
    task = task_from_meta(meta["task"])
    back, task_back = round_trip(genome, task, tmp_path)
    assert task_back == task
    assert_same_kernel_arrays(genome, back, task.dt)
    env = make_env(task.env_id, task.env_kwargs)
    xs = recorded_inputs(genome, task, seed=7, steps=40)
    assert_same_run(genome, back, task, xs, env.action_space)


def test_write_nir_refuses_to_overwrite_and_leaves_no_temporary(tmp_path):
    task, genome = cartpole_task(), genome_for("reference", 2, False)
    path = tmp_path / "m.nir"
    write_nir(path, to_nir(genome, task))
    with pytest.raises(FileExistsError, match="overwrite"):
        write_nir(path, to_nir(genome, task))
    assert [p.name for p in tmp_path.iterdir()] == ["m.nir"]
    back, _ = read_nir(path)
    assert back.n == genome.n


# ------------------------------------------------------------------ bad input
def small_graph(**changes):
    task, genome = cartpole_task(), genome_for("reference", 1, False)
    g = to_nir(genome, task)
    nodes = {**g.nodes, **changes}
    return nir.NIRGraph(nodes=nodes, edges=list(g.edges), metadata=g.metadata, type_check=False), genome


def test_unsupported_node_type_is_named():
    g, genome = small_graph()
    g.nodes["w_rec"] = nir.Conv1d(
        input_shape=genome.n, weight=np.ones((1, 1, 1)), stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1)
    )
    with pytest.raises(NIRImportError, match="'w_rec'.*Conv1d"):
        from_nir(g)


def test_mismatched_shape_is_named():
    g, genome = small_graph()
    g.nodes["w_out"] = nir.Linear(weight=np.ones((2, genome.n + 1), np.float32))
    with pytest.raises(NIRImportError, match=rf"'w_out'.*shape \(2, {genome.n}\)"):
        from_nir(g)


def test_mixed_signs_on_one_neuron_are_named():
    g, genome = small_graph()
    w = np.zeros((2, genome.n), np.float32)
    w[0, 0], w[1, 0] = 1.0, -1.0
    g.nodes["w_out"] = nir.Linear(weight=w)
    with pytest.raises(NIRImportError, match="'w_out'.*neuron 0.*both signs"):
        from_nir(g)


def test_foreign_graph_without_metadata_imports_with_unit_strength():
    n = 3
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "fc": nir.Linear(weight=np.array([[1.0, 0], [0, 2.0], [0, 0]], np.float32)),
        "neurons": nir.CubaLIF(
            tau_syn=np.full(n, 0.01),
            tau_mem=np.full(n, 0.02),
            r=np.ones(n),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
            v_reset=np.zeros(n),
            w_in=np.full(n, 10.0),
        ),
        "rec": nir.Linear(weight=np.array([[0, 0, 0], [0, 0, 0], [0.5, 0.25, 0]], np.float32)),
        "fc_out": nir.Linear(weight=np.array([[0, 0, 3.0]], np.float32)),
        "output": nir.Output(output_type={"output": np.array([1])}),
    }
    edges = [
        ("input", "fc"),
        ("fc", "neurons"),
        ("neurons", "rec"),
        ("rec", "neurons"),
        ("neurons", "fc_out"),
        ("fc_out", "output"),
    ]
    genome, task = from_nir(nir.NIRGraph(nodes=nodes, edges=edges))
    assert task is None
    conn = build(genome)
    assert np.array_equal(conn.input.toarray(), nodes["fc"].weight.T)
    assert np.array_equal(conn.recurrent.toarray(), nodes["rec"].weight.T)
    assert np.array_equal(conn.output.toarray(), nodes["fc_out"].weight.T)
    assert np.allclose(genome.tau_mem_inv, 50.0) and np.allclose(genome.tau_syn_inv, 100.0)


def test_foreign_delay_and_non_graph_files_get_clear_errors(tmp_path):
    g, genome = small_graph()
    meta = {k: v for k, v in g.metadata.items() if k != "format"}
    n = genome.n
    nodes = {
        **g.nodes,
        "w_rec": nir.Linear(weight=np.diag(genome.sign).astype(np.float32)),
        "late": nir.Delay(delay=np.full(n, 0.002)),
    }
    edges = [e for e in g.edges if e != ("w_rec", "lif")] + [("w_rec", "late"), ("late", "lif")]
    with pytest.raises(NIRImportError, match="'late'.*Delay"):
        from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False))
    bad = tmp_path / "not.nir"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(NIRImportError, match="not a readable NIR graph"):
        read_nir(bad)


# --------------------------------------------------------------- golden traces
@pytest.mark.parametrize("delays", [False, True])
def test_golden_trace_matches_the_kernel_and_shares_the_file(delays, tmp_path):
    task, genome = cartpole_task(substeps=4), genome_for("spatial", 2, delays, seed=5)
    trace = golden_trace(genome, task, seed=3, steps=30)  # raises if twin and kernel disagree
    path = tmp_path / "traced.nir"
    write_nir(path, to_nir(genome, task), trace)
    back, _ = from_nir(nir.read(path))
    data = nir.read_data(path)
    spikes = data.nodes["lif"].observables["spikes"].data
    v = data.nodes["lif"].observables["v"].data
    x = data.nodes["input"].observables["current"].data
    steps = data.nodes["output"].observables["mean"].data.shape[1]
    assert spikes.shape == (1, steps * task.substeps, genome.n) and spikes.dtype == bool
    # the imported genome, fed the recorded currents, reproduces the recorded spikes and potentials
    net = Network([back], dt=task.dt)
    for t in range(steps):
        y = net.step(x[:, t * task.substeps], task.substeps)
        assert np.array_equal(y[0], data.nodes["output"].observables["mean"].data[0, t])
        assert np.array_equal(net.state(0)[0], v[0, (t + 1) * task.substeps - 1])
    assert net.counters[0, SPIKES] == spikes.sum() > 0
    actions = data.nodes["output"].observables["action"].data[0, :, 0]
    assert set(np.unique(actions)) <= {0, 1}


def test_golden_trace_rejects_a_bad_length():
    with pytest.raises(ValueError, match="steps: expected an integer >= 1"):
        golden_trace(genome_for("reference", 1, False), cartpole_task(), steps=0)


# ------------------------------------------------------------------ CLI, replay
@pytest.mark.slow
def test_cli_exports_a_champion_to_nir_and_replay_gives_the_same_returns(tmp_path, capsys):
    from spatial_snn import replay
    from spatial_snn.cli import main

    out = tmp_path / "cartpole.nir"
    assert main(["export", str(GENOMES / "cartpole-2d.h5"), "--to", str(out), "--trace", "20"]) == 0
    assert "golden trace" in capsys.readouterr().out
    assert nir.read_data(out).nodes["lif"].observables["spikes"].data.shape[1] == 20 * 4
    assert main(["export", str(GENOMES / "cartpole-2d.h5"), "--to", str(out)]) == 2
    assert "overwrite" in capsys.readouterr().err
    ours = replay(GENOMES / "cartpole-2d.h5", episodes=3, seed=11)
    theirs = replay(out, episodes=3, seed=11)
    assert np.array_equal(ours, theirs)


def test_replay_of_a_foreign_graph_says_it_has_no_task(tmp_path, capsys):
    from spatial_snn.cli import main

    g, _ = small_graph()
    graph = nir.NIRGraph(nodes=g.nodes, edges=g.edges, metadata={}, type_check=False)
    nir.write(tmp_path / "foreign.nir", graph)
    assert main(["replay", str(tmp_path / "foreign.nir")]) == 2
    assert "carries no task" in capsys.readouterr().err


def test_an_edited_delay_or_damaged_metadata_is_named():
    task, genome = cartpole_task(), genome_for("spatial", 2, True, seed=4)
    g = to_nir(genome, task)
    d = next(k for k in g.nodes if k.startswith("delay_d"))
    nodes = {**g.nodes, d: nir.Delay(delay=g.nodes[d].delay + task.dt)}
    with pytest.raises(NIRImportError, match=r"'w_rec_d\d+'.*delay of .* the graph was edited after export"):
        from_nir(nir.NIRGraph(nodes=nodes, edges=list(g.edges), metadata=g.metadata, type_check=False))
    meta = {**g.metadata, "positions": g.metadata["positions"][:-1]}
    with pytest.raises(NIRImportError, match="graph metadata: does not fit the nodes"):
        from_nir(nir.NIRGraph(nodes=g.nodes, edges=list(g.edges), metadata=meta, type_check=False))
    meta = {k: v for k, v in g.metadata.items() if k != "rule"}
    with pytest.raises(NIRImportError, match="graph metadata: damaged"):
        from_nir(nir.NIRGraph(nodes=g.nodes, edges=list(g.edges), metadata=meta, type_check=False))


def test_to_nir_takes_the_task_a_genome_file_stores_as_in_the_docs(tmp_path):
    # docs/nir.md: genome, meta = load_genome(path); to_nir(genome, meta["task"])
    from spatial_snn.store.controller import load_controller

    genome, meta = load_genome(GENOMES / "cartpole-2d.h5")
    graph = to_nir(genome, meta["task"])
    _, task, _ = load_controller(GENOMES / "cartpole-2d.h5")
    same = to_nir(genome, task)
    assert graph.metadata["task"] == same.metadata["task"]
    assert np.array_equal(graph.nodes["w_rec"].weight, same.nodes["w_rec"].weight)
    write_nir(tmp_path / "m.nir", graph)
    back, back_task = from_nir(nir.read(tmp_path / "m.nir"))
    assert back_task == task
    with pytest.raises(TypeError, match="expected a Task"):
        to_nir(genome, "CartPole-v1")
