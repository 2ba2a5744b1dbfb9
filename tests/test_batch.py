"""run_batch: one archive per (dim, seed), summary CSV + PNG, skip complete runs, resume interrupted ones."""

import csv
from dataclasses import replace

import numpy as np
import pytest

from spatial_snn.analysis.summary import summarise
from spatial_snn.runs.batch import run_batch
from spatial_snn.runs.equal_footing import check_footing, network_footing
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.store.run_reader import open_run


@pytest.fixture
def tiny(tiny_scenario):
    """The tiny scenario made smaller still: a batch runs it several times."""
    return tiny_scenario(
        network={"n_hidden": 16},
        evolution={"population": 8, "generations": 2},
        protocol={"episodes": 1, "test_episodes": 3, "bounds_episodes": 1},
    )


def _mtimes(paths):
    return {p: p.stat().st_mtime_ns for p in paths}


@pytest.mark.parametrize("seeds", [(0,), pytest.param((0, 1), marks=pytest.mark.slow)], ids=["1seed", "2seeds"])
def test_batch_writes_one_archive_per_pair_a_csv_row_per_dim_and_a_plot(tmp_path, capsys, tiny, seeds):
    records = run_batch(tiny, dims=(1, 3), seeds=seeds, workers=1, out_dir=tmp_path)
    assert [(r["dim"], r["seed"]) for r in records] == [(d, s) for d in (1, 3) for s in seeds]
    archives = sorted(tmp_path.glob("*.h5"))
    assert [p.name for p in archives] == [f"tiny-{d}d-seed{s}.h5" for d in (1, 3) for s in seeds]
    for r in records:
        assert r["complete"] and not r["skipped"] and r["resumed_from"] is None
        assert r["generations"] == 2 and r["env_steps"] > 0 and np.isfinite(r["test"])
        with open_run(r["archive"]) as run:
            assert (run.dim, run.seed, run.n_generations) == (r["dim"], r["seed"], 2)
    with (tmp_path / "tiny-summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [row["dim"] for row in rows] == ["1", "3"]
    assert all(row["runs"] == row["complete"] == str(len(seeds)) for row in rows)
    mean_1d = np.mean([r["test"] for r in records if r["dim"] == 1])
    assert float(rows[0]["test_mean"]) == pytest.approx(mean_1d, rel=1e-5)
    assert (tmp_path / "tiny-summary.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "test score" in out and "differ in mean neuron distance" in out  # published grids are flagged

    before = _mtimes(archives)
    again = run_batch(tiny, dims=(1, 3), seeds=seeds, workers=1, out_dir=tmp_path)
    assert all(r["skipped"] for r in again)
    assert _mtimes(archives) == before
    assert [r["test"] for r in again] == [r["test"] for r in records]


def test_interrupted_run_is_resumed_not_restarted(tmp_path, tiny):
    first = run_batch(tiny, dims=(2,), seeds=(0,), generations=1, workers=1, out_dir=tmp_path)
    path = tmp_path / "tiny-2d-seed0.h5"
    with open_run(path) as run:
        wall0, created = run.history["wall_time"][0], run.attrs["created"]
    assert first[0]["generations"] == 1
    second = run_batch(tiny, dims=(2,), seeds=(0,), generations=2, workers=1, out_dir=tmp_path)
    assert not second[0]["skipped"] and second[0]["resumed_from"] == 1
    with open_run(path) as run:
        assert run.n_generations == 2
        # wall time is not reproducible: an unchanged value means generation 0 was kept, not redone
        assert run.history["wall_time"][0] == wall0 and run.attrs["created"] == created
        assert run.history["env_steps"][1] > run.history["env_steps"][0]


def test_run_reaching_the_target_counts_as_complete(tmp_path, tiny):
    sc = {**tiny, "protocol": {**tiny["protocol"], "target": 1.0}}  # any controller scores >= 1
    run_batch(sc, dims=(1,), seeds=(0,), generations=5, workers=1, out_dir=tmp_path)
    with open_run(tmp_path / "tiny-1d-seed0.h5") as run:
        assert run.n_generations == 1
    again = run_batch(sc, dims=(1,), seeds=(0,), generations=5, workers=1, out_dir=tmp_path)
    assert again[0]["skipped"] and again[0]["complete"]


def test_archive_of_another_scenario_is_neither_skipped_nor_resumed(tmp_path, tiny):
    run_batch(tiny, dims=(1,), seeds=(0,), generations=1, workers=1, out_dir=tmp_path)
    changed = {**tiny, "evolution": {**tiny["evolution"], "population": 10}}
    with pytest.raises(
        ValueError, match=r"tiny-1d-seed0.h5: written with another scenario \(differs in \['evolution'\]\)"
    ):
        run_batch(changed, dims=(1,), seeds=(0,), generations=1, workers=1, out_dir=tmp_path)


def test_spatial_preset_has_the_same_mean_degree_in_every_dimension(tiny):
    sc = scenario_from_dict({**tiny, "network": {"preset": "spatial", "n_hidden": 27, "mean_degree": 4.0}})
    footing = network_footing(sc, (1, 2, 3), 4, 2)
    degrees = [footing[d]["init_degree"] for d in (1, 2, 3)]
    np.testing.assert_allclose(degrees, 4.0, rtol=0.1)
    # whereas the published grids differ: denser in more dimensions
    ref = network_footing(scenario_from_dict({**tiny, "network": {"n_hidden": 27}}), (1, 2, 3), 4, 2)
    assert ref[1]["init_degree"] < ref[2]["init_degree"] < ref[3]["init_degree"]
    assert ref[1]["init_distance"] > ref[3]["init_distance"]


def test_spatial_preset_has_the_same_input_fan_out_in_every_dimension(tiny):
    sc = scenario_from_dict({**tiny, "network": {"preset": "spatial", "n_hidden": 27}})
    footing = network_footing(sc, (1, 2, 3), 4, 2)
    check_footing(sc, footing)  # passes
    fan_out = [footing[d]["init_input_fan_out"] for d in (1, 2, 3)]
    np.testing.assert_allclose(fan_out, 27 * np.exp(-2), rtol=0.05)  # the reference fan-out
    realised = [footing[d]["init_input_synapses"] / 4 for d in (1, 2, 3)]
    np.testing.assert_allclose(realised, 27 * np.exp(-2), rtol=0.15)  # 32 genomes: ~5% sampling error
    # with a fixed io length a 3D channel reaches about twice the neurons of a 1D one (4.19 vs 2 L^dim)
    fixed = network_footing(sc.replace(network=replace(sc.network, io_length=1.0)), (1, 3), 4, 2)
    assert fixed[3]["init_input_fan_out"] > 1.5 * fixed[1]["init_input_fan_out"]
    # published layout: every io pair at distance 1, n exp(-2) per channel in every dimension
    ref = network_footing(scenario_from_dict({**tiny, "network": {"n_hidden": 27}}), (1, 3), 4, 2)
    assert ref[1]["init_input_fan_out"] == ref[3]["init_output_fan_in"] == pytest.approx(27 * np.exp(-2))


def test_equal_footing_check_names_an_unequal_input_fan_out(tiny):
    sc = scenario_from_dict({**tiny, "network": {"preset": "spatial", "n_hidden": 27}})
    footing = {d: {"init_degree": 4.0, "init_input_fan_out": f} for d, f in ((1, 3.0), (2, 3.6), (3, 4.0))}
    with pytest.raises(ValueError, match=r"input synapses per channel differs by dimension .*network.io_degree"):
        check_footing(sc, footing)
    check_footing(sc.replace(network=replace(sc.network, io_length=1.0)), footing)  # not calibrated: not checked
    footing[2]["init_degree"] = 5.0
    with pytest.raises(ValueError, match="realised mean recurrent degree differs"):
        check_footing(sc, footing)


def test_archives_written_before_io_degree_are_recognised_unless_their_io_law_changed(tmp_path, tiny):
    import h5py

    from spatial_snn.store import schema
    from spatial_snn.store.h5io import get_json, set_json

    spatial = {**tiny, "network": {**tiny["network"], "preset": "spatial"}}
    for sc, out in ((tiny, tmp_path / "ref"), (spatial, tmp_path / "spatial")):
        run_batch(sc, dims=(1,), seeds=(0,), generations=1, workers=1, out_dir=out)
        with h5py.File(out / "tiny-1d-seed0.h5", "r+") as f:  # as a version without io_degree wrote it
            config = get_json(f, "config")
            del config["scenario"]["network"]["io_degree"]
            set_json(f, "config", config)
            for key in (schema.RUN_ID, schema.RUN_DIGEST, schema.IDENTITY_FROM):  # nor run identities
                f.attrs.pop(key, None)
        for part in (out / "tiny-1d-seed0.h5.d").glob("*.h5"):
            with h5py.File(part, "r+") as f:
                for key in (schema.RUN_ID, schema.RUN_DIGEST, schema.PREVIOUS):
                    f.attrs.pop(key, None)
    assert run_batch(tiny, dims=(1,), seeds=(0,), generations=1, workers=1, out_dir=tmp_path / "ref")[0]["skipped"]
    # a spatial run of then had a fixed io length, today's is calibrated: another scenario
    with pytest.raises(ValueError, match=r"written with another scenario \(differs in \['network'\]\)"):
        run_batch(spatial, dims=(1,), seeds=(0,), generations=1, workers=1, out_dir=tmp_path / "spatial")


def test_bad_arguments_fail_before_any_run(tmp_path, tiny):
    with pytest.raises(ValueError, match="dim: expected 1, 2 or 3, got 4"):
        run_batch(tiny, dims=(1, 4), out_dir=tmp_path)
    with pytest.raises(ValueError, match="dims: expected distinct values among 1, 2, 3"):
        run_batch(tiny, dims=(2, 2), out_dir=tmp_path)
    with pytest.raises(ValueError, match=r"seed: expected an integer in 0\.\.4294967295 \(2\*\*32 - 1\), got -1"):
        run_batch(tiny, seeds=(-1,), out_dir=tmp_path)
    with pytest.raises(ValueError, match="seeds: expected distinct integers"):
        run_batch(tiny, seeds=(3, 3), out_dir=tmp_path)
    with pytest.raises(ValueError, match="CartPole-v1"):
        run_batch({**tiny, "env": {"id": "CartPol-v1"}}, out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_summary_of_one_seed_has_zero_std_and_nan_without_champion():
    recs = [
        {"dim": 2, "complete": True, "test": 10.0, "n_synapses": 5, "sparsity": 0.9, "env_steps": 100,
         "wall_time": 1.0, "champion_degree": 0.5},
        {"dim": 3, "complete": False, "test": float("nan"), "n_synapses": float("nan"), "sparsity": float("nan"),
         "env_steps": 0, "wall_time": 0.0, "champion_degree": float("nan")},
    ]  # fmt: skip
    rows = summarise(recs)
    assert rows[0]["test_std"] == 0.0 and rows[0]["test_mean"] == 10.0
    assert np.isnan(rows[1]["test_mean"]) and rows[1]["complete"] == 0


def test_equal_footing_check_refuses_distributions_that_differ_and_names_the_way_out(tmp_path, tiny, monkeypatch):
    from spatial_snn.runs import batch
    from spatial_snn.space.footing import footing_samples
    from spatial_snn.space.layout import GenomeSpec
    from spatial_snn.space.rules import ConnectivityRule

    sc = scenario_from_dict({**tiny, "network": {"preset": "spatial", "n_hidden": 27, "substeps": 4}})
    footing = network_footing(sc, (1, 3), 4, 2)
    assert set(footing[1]["samples"]) >= {"recurrent_degree", "io_strength", "delay"}
    check_footing(sc, footing)  # the spatial preset passes
    # the law before issue 15: equal means of degree and fan-out, but io strength 1e-5 in 1D
    rule = ConnectivityRule(io_distance=None, io_length=1.0, self_distance=None)
    for d in (1, 3):
        spec = GenomeSpec(n_hidden=27, dim=d, placement="jittered", rule=rule, mean_degree=4.0, io_degree=3.6)
        footing[d]["samples"] = footing_samples(spec, 4, 2, 32, np.random.default_rng(d))
    with pytest.raises(ValueError, match=r"equal footing: .*io_strength.*--allow-unequal-footing"):
        check_footing(sc, footing)
    # run_batch refuses before any run, and runs when told to
    monkeypatch.setattr(batch, "network_footing", lambda *a: footing)
    with pytest.raises(ValueError, match="io_strength"):
        run_batch(sc, dims=(1, 3), seeds=(0,), generations=1, workers=1, out_dir=tmp_path / "a")
    assert not (tmp_path / "a").exists()
    records = run_batch(
        sc, dims=(1,), seeds=(0,), generations=1, workers=1, out_dir=tmp_path / "b", equal_footing=False
    )
    assert len(records) == 1


def test_a_start_genome_that_fits_one_dimension_fails_before_any_run(tmp_path):
    from pathlib import Path

    solved = Path(__file__).resolve().parent.parent / "genomes" / "cartpole-2d.h5"  # 2D, reference codec
    sc = {
        "name": "start",
        "env": {"id": "CartPole-v1"},
        "network": {"preset": "reference", "n_hidden": 64, "substeps": 4},
        "encoder": {"kind": "reference"},
        "decoder": {"kind": "argmax"},
        "start": {"genome": str(solved)},
        "evolution": {"population": 4, "generations": 1},
        "protocol": {"episodes": 1, "test_episodes": 2},
    }
    with pytest.raises(
        ValueError,
        match=r"start.genome: .*cartpole-2d.h5 has .* = \(64, 4, 2, 2\), "
        r"the run needs \(64, 4, 2, 3\)",
    ):
        run_batch(sc, dims=(2, 3), seeds=(0,), out_dir=tmp_path / "out", equal_footing=False)
    assert not (tmp_path / "out").exists()  # the 2D run, which fits, did not run first
