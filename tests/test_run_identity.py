"""A corpus of crafted runs: files swapped between runs, lying caches, copied headers, hostile targets.

Each case builds a run whose files are valid on their own but do not belong
together (a part from a run of another seed, scenario or dimension; an
``index.h5`` that lies; a copied header; a ``parts`` attribute naming another
directory), or aims a command at a path it must not write (a device-like
path, an input, the run's own files). Every case must end in one clean line
naming the file (or in the right result, when the parts win over a cache),
and no file outside the run may change; refusals change nothing at all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings

import h5py
import numpy as np
import pytest

from spatial_snn.cli import main
from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.store import schema
from spatial_snn.store.archive import RunWriter
from spatial_snn.store.h5io import ArchiveFormatError, ArchiveWarning, crc32
from spatial_snn.store.pack import pack_run
from spatial_snn.store.run_reader import open_run

KEYS = ("generation", "best", "mean", "test", "env_steps")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_scenario):
    """Four finished tiny CartPole runs: A (seed 1, 2D), another seed, another scenario, another dimension."""
    root = tmp_path_factory.mktemp("runs")
    base = tiny_scenario(evolution={"generations": 3}, protocol={"test_every": 1, "test_episodes": 2})
    other = tiny_scenario(
        name="other", evolution={"generations": 3, "population": 6}, protocol={"test_every": 1, "test_episodes": 2}
    )
    made = {}
    for key, sc, seed, dim in (("a", base, 1, 2), ("seed", base, 2, 2), ("scenario", other, 1, 2), ("dim", base, 1, 1)):
        made[key] = root / f"{key}.h5"
        evolve(scenario_from_dict(sc), seed=seed, dim=dim, workers=1, archive=made[key])
    return made


def _copy_run(src, dst):
    shutil.copyfile(src, dst)
    shutil.copytree(f"{src}.d", f"{dst}.d")
    return dst


def _snapshot(root, skip=()) -> dict:
    """sha256 of every file under ``root`` (symlinks as their target text), except under ``skip``."""
    out = {}
    skip = [os.path.realpath(s) for s in skip]
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if any(os.path.realpath(path) == s or os.path.realpath(path).startswith(s + os.sep) for s in skip):
                continue
            if os.path.islink(path):
                out[path] = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as fh:
                    out[path] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _refused(capsys, argv, *names):
    """The command fails with one error line that names each of ``names``."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spatial-snn: error:"), err
    for name in names:
        assert str(name) in err[0], err[0]
    return err[0]


def _history(path):
    with open_run(path) as run:
        return {k: run.history[k] for k in KEYS}


# --------------------------------------------------------- swapped parts
@pytest.mark.parametrize("source", ["seed", "scenario", "dim"])
@pytest.mark.parametrize("gen", [1, 2])
def test_a_part_from_another_run_is_refused_by_every_reader_and_resume(tmp_path, runs, capsys, source, gen):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    part = f"{path}.d/{schema.generation_part(gen)}"
    shutil.copyfile(f"{runs[source]}.d/{schema.generation_part(gen)}", part)
    before = _snapshot(tmp_path)
    with pytest.raises(ArchiveFormatError, match="belongs to another run") as info:
        open_run(path)
    assert part in str(info.value) and "\n" not in str(info.value)
    for argv in (
        ["inspect", path],
        ["resume", path, "--workers", "1", "--generations", "4"],
        ["replay", path, "--episodes", "1"],
        ["export", path, "--to", tmp_path / "g.h5"],
        ["pack", path],
        ["curves", path, "--out", tmp_path / "c.png"],
    ):
        _refused(capsys, argv, part)
    assert _snapshot(tmp_path) == before  # refusals change nothing, the run's own files included


def test_a_header_copied_over_another_run_is_refused(tmp_path, runs, capsys):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    shutil.copyfile(runs["seed"], path)  # the header of the seed-2 run over run A's parts
    before = _snapshot(tmp_path)
    _refused(
        capsys,
        ["resume", path, "--workers", "1", "--generations", "4"],
        f"{path}.d/gen-000000.h5",
        "belongs to another run",
    )
    _refused(capsys, ["pack", path], "belongs to another run")
    assert _snapshot(tmp_path) == before


def test_a_part_edited_in_place_breaks_the_chain_and_pack_refuses_before_deleting(tmp_path, runs, capsys):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    part = f"{path}.d/gen-000000.h5"
    with h5py.File(part, "r+", locking=False) as f:  # valid on its own: the checksum is recomputed
        stats = f["generation/stats"]
        values = stats[()] + 1.0
        stats[...] = values
        stats.attrs["crc32"] = np.uint32(crc32(values))
    before = _snapshot(tmp_path)
    _refused(capsys, ["inspect", path], part, "modified or replaced")
    _refused(capsys, ["pack", path], part)
    _refused(capsys, ["pack", path, "--to", tmp_path / "one.h5"], part)
    assert _snapshot(tmp_path) == before and not os.path.exists(tmp_path / "one.h5")


def test_pack_refuses_a_damaged_part_and_deletes_nothing(tmp_path, runs, capsys):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    last = f"{path}.d/gen-000002.h5"
    with h5py.File(last, "r+", locking=False) as f:  # the last part: no later part records its digest
        f["generation/fitness"][0, 0] += 1.0  # its checksum no longer matches
    before = _snapshot(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ArchiveWarning)  # the index no longer matches it either
        with pytest.raises(ArchiveFormatError, match="gen-000002.h5"):
            pack_run(path)
    assert _snapshot(tmp_path) == before


# -------------------------------------------------------- lying caches
def test_an_index_from_another_run_is_refused_and_a_damaged_one_said(tmp_path, runs, capsys):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    want = _history(path)
    index = f"{path}.d/index.h5"
    shutil.copyfile(f"{runs['seed']}.d/index.h5", index)  # same length, other values
    before = _snapshot(tmp_path)
    for argv in (["inspect", path], ["resume", path, "--workers", "1", "--generations", "4"], ["pack", path]):
        _refused(capsys, argv, index, "belongs to another run")
    assert _snapshot(tmp_path) == before
    with open(index, "r+b") as fh:  # damaged: a cache that cannot be read, so the parts are
        fh.seek(100)
        fh.write(b"\0" * 300)
    with pytest.warns(ArchiveWarning, match="damaged"):
        got = _history(path)
    assert all(np.array_equal(got[k], want[k], equal_nan=True) for k in KEYS)
    assert main(["inspect", str(path)]) == 0
    err = capsys.readouterr().err
    assert "spatial-snn: warning:" in err and "index.h5" in err and "Traceback" not in err


def test_an_index_that_lies_about_its_own_run_loses_to_the_parts(tmp_path, runs):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    want = _history(path)
    with h5py.File(f"{path}.d/index.h5", "r+", locking=False) as f:  # valid on its own: checksums recomputed
        best = f["history/best"]
        lie = best[()] + 100.0
        best[...] = lie
        best.attrs["crc32"] = np.uint32(crc32(lie))
    with pytest.warns(ArchiveWarning, match="disagrees with the generation parts"):
        got = _history(path)
    assert all(np.array_equal(got[k], want[k], equal_nan=True) for k in KEYS)


def test_the_runs_own_index_may_lag_its_parts_silently_but_never_differ_from_one(tmp_path):
    path = tmp_path / "run.h5"
    with RunWriter(path, config={"a": 1}, seed=1, dim=2) as w:
        for gen in range(2):
            w.write_generation(gen, **_generation(gen, best=float(gen)))
        shutil.copyfile(f"{path}.d/index.h5", tmp_path / "index-after-1.h5")
        w.write_generation(2, **_generation(2, best=2.0))
    shutil.copyfile(tmp_path / "index-after-1.h5", f"{path}.d/index.h5")  # as after a kill: one behind
    with warnings.catch_warnings():
        warnings.simplefilter("error", ArchiveWarning)
        with open_run(path) as run:
            assert run.history["best"].tolist() == [0.0, 1.0, 2.0]
    last = f"{path}.d/gen-000001.h5"
    with h5py.File(last, "r+", locking=False) as f:  # valid on its own, but not what the run committed
        f.attrs["engine_version"] = np.bytes_(b"edited")
    with pytest.raises(ArchiveFormatError, match="modified or replaced") as info:
        open_run(path)
    assert last in str(info.value)


def test_a_packed_history_that_lies_loses_to_the_generations(tmp_path, runs):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    want = _history(path)
    pack_run(path)
    with h5py.File(path, "r+", locking=False) as f:
        best = f["history/best"]
        lie = best[()] - 7.0
        best[...] = lie
        best.attrs["crc32"] = np.uint32(crc32(lie))
    with pytest.warns(ArchiveWarning, match="disagrees with the generations' own statistics"):
        got = _history(path)
    assert all(np.array_equal(got[k], want[k], equal_nan=True) for k in KEYS)


# ---------------------------------------------------------- containment
def test_a_copied_header_is_not_a_second_writer_of_the_original(tmp_path, runs, capsys):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    copy = tmp_path / "copy.h5"
    shutil.copyfile(path, copy)
    before = _snapshot(tmp_path)
    for argv in (["resume", copy, "--workers", "1", "--generations", "4"], ["pack", copy], ["inspect", copy]):
        _refused(capsys, argv, f"{copy}.d")
    assert _snapshot(tmp_path) == before  # the original's parts untouched


def test_a_parts_attribute_naming_another_directory_is_never_followed(tmp_path, runs, capsys):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    victim = tmp_path / "victim.h5.d"
    victim.mkdir()
    (victim / ".keep").write_text("mine")
    (victim / "gen-000000.h5").write_bytes(b"not the run's")
    (victim / "notes.txt").write_text("mine too")
    with h5py.File(path, "r+", locking=False) as f:
        f.attrs["parts"] = np.bytes_(b"victim.h5.d")
    outside = _snapshot(tmp_path, skip=[path, f"{path}.d"])
    assert main(["resume", str(path), "--workers", "1", "--generations", "4"]) == 0
    with open_run(path) as run:
        assert run.parts_dir == f"{path}.d" and run.n_generations == 4
    assert main(["pack", str(path)]) == 0
    capsys.readouterr()
    assert _snapshot(tmp_path, skip=[path, f"{path}.d"]) == outside  # the victim directory is intact
    assert sorted(os.listdir(victim)) == [".keep", "gen-000000.h5", "notes.txt"]


def test_a_part_directory_that_is_a_symlink_or_holds_other_files_is_refused(tmp_path, runs, capsys):
    path = _copy_run(runs["a"], tmp_path / "run.h5")
    elsewhere = tmp_path / "elsewhere"
    os.rename(f"{path}.d", elsewhere)
    os.symlink(elsewhere, f"{path}.d")
    before = _snapshot(tmp_path)
    _refused(capsys, ["resume", path, "--workers", "1", "--generations", "4"], f"{path}.d")
    _refused(capsys, ["pack", path], f"{path}.d")
    assert _snapshot(tmp_path) == before
    os.unlink(f"{path}.d")
    os.rename(elsewhere, f"{path}.d")
    (tmp_path / "run.h5.d" / "thesis.tex").write_text("not the run's")
    before = _snapshot(tmp_path)
    _refused(capsys, ["pack", path], "thesis.tex")
    _refused(capsys, ["resume", path, "--workers", "1", "--generations", "4"], "thesis.tex")
    assert _snapshot(tmp_path) == before


# ------------------------------------------------------ no destructive path
def test_overwrite_replaces_only_a_file_of_the_expected_kind(tmp_path, runs, capsys, tiny_toml):
    scenario = tiny_toml(tmp_path / "sc.toml", evolution={"generations": 1})
    run = _copy_run(runs["a"], tmp_path / "run.h5")
    genome = tmp_path / "g.h5"
    assert main(["export", str(run), "--to", str(genome)]) == 0
    fifo = tmp_path / "device.h5"  # stands for a device node: not a regular file
    os.mkfifo(fifo)
    text = tmp_path / "notes.h5"
    text.write_text("not an archive")
    folder = tmp_path / "folder.h5"
    folder.mkdir()
    capsys.readouterr()
    before = _snapshot(tmp_path)
    for out in (fifo, folder):
        _refused(capsys, ["evolve", scenario, "--out", out, "--overwrite"], out, "not a regular file")
        _refused(capsys, ["export", run, "--to", out, "--overwrite"], out)
    _refused(capsys, ["evolve", scenario, "--out", scenario, "--overwrite"], scenario, "reads")  # its own input
    _refused(capsys, ["evolve", scenario, "--out", text, "--overwrite"], text, "not a spatial-snn file")
    _refused(capsys, ["evolve", scenario, "--out", genome, "--overwrite"], genome, "a genome file")
    _refused(capsys, ["export", run, "--to", run, "--overwrite"], run, "reads")
    _refused(capsys, ["export", run, "--to", f"{run}.d/gen-000001.h5", "--overwrite"], "gen-000001.h5")
    _refused(capsys, ["export", run, "--to", text, "--overwrite"], text)
    _refused(capsys, ["pack", run, "--to", f"{run}.d/gen-000000.h5", "--overwrite"], "gen-000000.h5")
    _refused(capsys, ["pack", run, "--to", genome, "--overwrite"], genome, "a genome file")
    assert _snapshot(tmp_path) == before
    assert main(["export", str(run), "--to", str(genome), "--overwrite"]) == 0  # the expected kind: replaced


def test_read_only_commands_never_write_onto_a_run(tmp_path, runs, capsys):
    run = _copy_run(runs["a"], tmp_path / "run.h5")
    hard = tmp_path / "hard.h5"
    os.link(f"{run}.d/gen-000000.h5", hard)  # another name of one of the run's files
    before = _snapshot(tmp_path)
    _refused(capsys, ["inspect", run, "--plot", run], run)
    _refused(capsys, ["inspect", run, "--plot", f"{run}.d/gen-000002.h5"], "gen-000002.h5")
    _refused(capsys, ["inspect", run, "--plot", f"{run}.d/new.png"], "new.png")
    _refused(capsys, ["inspect", run, "--plot", hard], hard)  # an HDF5 file is never replaced by a picture
    _refused(capsys, ["curves", run, "--out", run], run)
    _refused(capsys, ["report", run, "--figures", f"{run}.d"], f"{run}.d")
    _refused(capsys, ["replay", run, "--video", f"{run}.d/x.mp4"], "x.mp4")
    assert _snapshot(tmp_path) == before
    with open_run(run) as r:
        assert r.n_generations == 3


def test_a_nir_file_never_chooses_a_module_to_import(tmp_path, runs, capsys):
    import sys

    import nir

    path = tmp_path / "model.nir"
    assert main(["export", str(runs["a"]), "--to", str(path)]) == 0
    graph = nir.read(path)
    import json

    task = json.loads(graph.metadata["task"])
    task["env_id"] = "evil_nir_module:Env"
    graph.metadata["task"] = json.dumps(task)
    os.unlink(path)
    nir.write(path, graph)
    capsys.readouterr()
    _refused(capsys, ["replay", path, "--episodes", "1"], path, "--import-module evil_nir_module")
    _refused(capsys, ["export", path, "--to", tmp_path / "again.nir"], path, "evil_nir_module")
    _refused(capsys, ["report", path, "--episodes", "1"], path, "evil_nir_module")
    assert "evil_nir_module" not in sys.modules


# ------------------------------------------------------------ kill points
def _generation(gen, best):
    from spatial_snn.space.layout import GenomeSpec, random_genome

    pop = [random_genome(GenomeSpec.reference(2, 4), 2, 2, np.random.default_rng(gen)) for _ in range(2)]
    stats = {
        "best": best,
        "mean": best,
        "test": np.nan,
        "env_steps": 10.0 * (gen + 1),
        "wall_time": 1.0,
        "invalid_obs": 0.0,
    }
    return dict(
        population=pop,
        fitness=np.zeros((2, 1)),
        episode_returns=np.zeros((2, 1)),
        episode_lengths=np.ones((2, 1)),
        episode_seeds=[gen],
        counters=np.zeros((2, 3)),
        parents=-np.ones((2, 2)),
        origin=np.zeros(2),
        stats=stats,
    )


class _Killed(BaseException):
    pass


@pytest.mark.parametrize("run_data", [True, False])
def test_a_kill_after_an_overwriting_runs_first_commit_never_shows_the_old_history(tmp_path, run_data):
    """The stale-index kill: killed between the new run's first part and its index, the old index
    (which then covers exactly as many generations) must not show the old history as the new run's."""
    path = tmp_path / "run.h5"
    with RunWriter(path, config={"old": 1}, seed=1, dim=2, run_data={"obs_low": np.zeros(2)}) as old:
        old.write_generation(0, **_generation(0, best=-123.0))
    w = RunWriter(
        path, config={"new": 1}, seed=2, dim=2, overwrite=True, run_data={"obs_low": np.ones(2)} if run_data else None
    )

    def killed():
        raise _Killed

    w._write_index = killed  # a kill right after the first part is committed, before the index
    with pytest.raises(_Killed):
        w.write_generation(0, **_generation(0, best=7.0))
    w._lock.release(), w._dir_lock.release()  # as the kernel does for a killed process
    with warnings.catch_warnings():
        warnings.simplefilter("error", ArchiveWarning)  # nothing of the old run is even looked at
        with open_run(path) as run:
            assert (run.seed, run.config, run.n_generations) == (2, {"new": 1}, 1)
            assert run.history["best"].tolist() == [7.0]
    assert sorted(os.listdir(tmp_path)) == ["run.h5", "run.h5.d"]  # the old directory emptied and gone
    with RunWriter(path, resume=True) as again:  # and resume goes on from the new run
        assert again.next_generation == 1
    with open_run(path) as run:
        assert run.history["best"].tolist() == [7.0] and run.seed == 2


# ------------------------------------------------------- one clean line
OLD = os.path.join(os.path.dirname(__file__), "fixtures", "v1-run-cartpole-tiny.h5")


def _crafted_old(tmp_path, name, edit):
    import json

    path = tmp_path / name
    shutil.copyfile(OLD, path)
    with h5py.File(path, "r+", locking=False) as f:
        edit(f, json)
    return path


def test_crafted_old_archives_are_one_line_each(tmp_path, capsys):
    def champion_beyond(f, json):
        f["champion"].attrs["generation"] = np.int64(7)

    def no_run_data(f, json):
        del f["run_data"]

    def config(key, value):
        def edit(f, json):
            c = json.loads(f.attrs["config"])
            if value is None:
                del c[key]
            else:
                c[key] = value
            f.attrs["config"] = np.bytes_(json.dumps(c).encode())

        return edit

    def no_test_returns(f, json):
        for name, dtype in (("test_returns", np.float64), ("test_seeds", np.int64)):
            del f[f"champion/{name}"]
            f["champion"].create_dataset(name, data=np.zeros(0, dtype)).attrs["crc32"] = np.uint32(0)

    beyond = _crafted_old(tmp_path, "beyond.h5", champion_beyond)
    for argv in (
        ["replay", beyond, "--episodes", "1"],
        ["resume", beyond, "--workers", "1"],
        ["export", beyond, "--to", tmp_path / "g.h5"],
        ["export", beyond, "--to", tmp_path / "g.nir"],
    ):
        _refused(capsys, argv, beyond, "generation 7")
    bare = _crafted_old(tmp_path, "bare.h5", no_run_data)
    _refused(capsys, ["resume", bare, "--workers", "1"], bare, "obs_low")
    unnamed = _crafted_old(tmp_path, "unnamed.h5", config("scenario", None))
    _refused(capsys, ["export", unnamed, "--to", tmp_path / "g.h5"], unnamed, "scenario")
    endless = _crafted_old(tmp_path, "endless.h5", config("generations", float("inf")))
    _refused(capsys, ["resume", endless, "--workers", "1"], endless, "generations")
    untested = _crafted_old(tmp_path, "untested.h5", no_test_returns)
    _refused(capsys, ["export", untested, "--to", tmp_path / "g.h5"], untested, "test returns")
    assert not os.path.exists(tmp_path / "g.h5") and not os.path.exists(tmp_path / "g.nir")


def test_a_file_size_limit_is_an_error_line_not_a_crash(tmp_path):
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    for out in ("g.h5", "g.nir", "packed.h5"):
        command = ["pack", OLD, "--to", out] if out == "packed.h5" else ["export", OLD, "--to", out]
        proc = subprocess.run(
            [sys.executable, "-m", "spatial_snn.cli", *command],
            cwd=tmp_path,
            text=True,
            capture_output=True,
            preexec_fn=limit,
            timeout=300,
        )
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and "cannot be written" in lines[0], proc.stderr
        assert os.listdir(tmp_path) == []  # nothing half-written is left


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "x"])
def test_curves_refuses_a_published_score_that_is_not_a_number(tmp_path, runs, capsys, text):
    with pytest.raises(SystemExit) as info:
        main(["curves", str(runs["a"]), "--out", str(tmp_path / "c.png"), f"--published={text}"])
    assert info.value.code == 2 and "'none'" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "c.png")


@pytest.mark.parametrize("section", ["encoder", "decoder"])
def test_bins_have_a_bound(tiny_scenario, section):
    with pytest.raises(ValueError, match=f"{section}.bins: expected at most 1,000"):
        scenario_from_dict(tiny_scenario(**{section: {"bins": 10**9}}))
