"""Run archives and genome files: round trips, crash safety, one writer, bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from spatial_snn.space.genome import NEURON_PARAMS, Synapses
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.store import schema
from spatial_snn.store.archive import RunWriter
from spatial_snn.store.genome_io import load_genome, read_genomes, save_genome, write_genomes
from spatial_snn.store.h5io import ArchiveFormatError
from spatial_snn.store.pack import pack_run
from spatial_snn.store.run_reader import open_run
from spatial_snn.store.schema import FORMAT_NAME, HISTORY_KEYS
from spatial_snn.store.writer_lock import ArchiveLockedError

# Shared by the tests and the child processes: deterministic content per generation.
CHILD_LIB = textwrap.dedent(
    """
    import numpy as np
    from spatial_snn.space.layout import GenomeSpec, random_genome

    def gen_data(gen, n_pop=3, n_hidden=8):
        rng = np.random.default_rng(1000 + gen)
        pop = [random_genome(GenomeSpec.reference(2, n_hidden), 3, 2, rng) for _ in range(n_pop)]
        n, e = n_pop, 2
        return dict(
            population=pop, fitness=rng.normal(size=(n, 2)), episode_returns=rng.normal(size=(n, e)),
            episode_lengths=rng.integers(1, 1000, (n, e)), episode_seeds=np.arange(e) + 10 * gen,
            counters=rng.integers(0, 10**9, (n, 3)), parents=rng.integers(-1, n, (n, 2)),
            origin=rng.integers(0, 4, n).astype(np.int8),
            stats=dict(best=float(gen), mean=gen / 2, test=np.nan if gen % 3 else gen + 0.5,
                       env_steps=1000.0 * (gen + 1), wall_time=0.1 * (gen + 1), invalid_obs=0.0),
        )
    """
)
_ns: dict = {}
exec(compile(CHILD_LIB, "child_lib", "exec"), _ns)
gen_data = _ns["gen_data"]
CONFIG = {"task": {"env_id": "CartPole-v1"}, "population": 3, "generations": 100}


# ----------------------------------------------------------------- helpers
def assert_genome_equal(a, b):
    for name in ("positions", "input_positions", "output_positions", *NEURON_PARAMS, "sign", "input_sign"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    for name in ("input_synapses", "recurrent", "output_synapses"):
        for part in ("pre", "post", "weight"):
            x, y = getattr(getattr(a, name), part), getattr(getattr(b, name), part)
            assert x.dtype == y.dtype and np.array_equal(x, y), f"{name}.{part}"
    assert a.rule == b.rule


def assert_generation_equal(run, gen):
    want, got = gen_data(gen), run.generation(gen)
    for key in ("fitness", "episode_returns", "episode_lengths", "episode_seeds", "counters", "parents", "origin"):
        assert np.array_equal(got[key], want[key]), key
    assert got["stats"] == pytest.approx(want["stats"], nan_ok=True)
    for a, b in zip(run.population(gen), want["population"], strict=True):
        assert_genome_equal(a, b)


def write_gens(w, gens):
    for gen in gens:
        w.write_generation(gen, **gen_data(gen))


def new_writer(path, **kw):
    return RunWriter(path, config=CONFIG, seed=7, dim=2, **kw)


def spawn(tmp_path, body: str) -> subprocess.Popen:
    script = tmp_path / f"child_{time.monotonic_ns()}.py"
    header = "\nimport sys\nfrom spatial_snn.store.archive import RunWriter\n"
    script.write_text(CHILD_LIB + header + textwrap.dedent(body))
    return subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


# ----------------------------------------------------------- genome groups
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_genomes_round_trip_every_field_rule_and_empty_projection(tmp_path, dim):
    rng = np.random.default_rng(dim)
    base = [random_genome(GenomeSpec.reference(dim), 4, 2, rng) for _ in range(3)]
    other_rule = dataclasses.replace(base[1].rule, p0=0.5, conduction_speed=2.0, io_distance=None)
    genomes = [
        base[0],
        base[1].replace(rule=other_rule, recurrent=Synapses.empty()),
        base[2].replace(input_synapses=Synapses.empty(), output_synapses=Synapses.empty()),
        base[0].select_neurons([]),  # no hidden neuron at all
    ]
    with h5py.File(tmp_path / "g.h5", "w") as f:
        write_genomes(f.create_group("pop"), genomes)
        assert sorted(a for a in ("x", "y", "z") if a in f["pop"]) == ["x", "y", "z"][:dim]
        assert len(json.loads(f["pop"].attrs["rules"])) == 2  # unique rules + index
    with h5py.File(tmp_path / "g.h5", "r") as f:
        back = read_genomes(f["pop"])
        assert_genome_equal(read_genomes(f["pop"], [1])[0], genomes[1])
    assert len(back) == len(genomes)
    for a, b in zip(back, genomes, strict=True):
        assert_genome_equal(a, b)


def test_genome_file_round_trip_with_meta_and_refuses_overwrite(tmp_path):
    g = random_genome(GenomeSpec.reference(3), 5, 4, np.random.default_rng(0))
    path = tmp_path / "genomes" / "best.h5"
    path.parent.mkdir()
    meta = {"env_id": "Hopper-v5", "test_score": 2706.1, "decoder": {"bins": None}}
    save_genome(path, g, meta)
    back, meta_back = load_genome(path)
    assert_genome_equal(back, g)
    assert meta_back == meta
    with pytest.raises(FileExistsError, match="overwrite"):
        save_genome(path, g)
    save_genome(path, g.select_neurons([0, 1]), overwrite=True)
    assert load_genome(path)[0].n == 2
    with pytest.raises(ArchiveFormatError, match="genome file"):
        open_run(path)


# ------------------------------------------------------------- run archives
def test_run_round_trip_generations_attrs_run_data_and_extras(tmp_path):
    path = tmp_path / "run.h5"
    with new_writer(path) as w:
        w.set_run_data("obs_low", np.array([-1.0, -2.0]))
        w.set_run_data("obs_low", np.array([-1.0, -2.0]))  # same again: no-op (resume)
        with pytest.raises(ValueError, match="written once"):
            w.set_run_data("obs_low", np.zeros(2))
        d = gen_data(0)
        w.write_generation(
            0,
            **d,
            test_returns=[1.5, 2.5],
            test_seeds=[99, 100],
            extra={"descriptor": np.eye(3)},
            rng_state={"state": 2**100},
        )
        write_gens(w, [1, 2])
        assert w.next_generation == 3
    with open_run(path) as run:
        assert (run.config, run.seed, run.dim, run.n_generations) == (CONFIG, 7, 2, 3)
        assert run.attrs["format"] == FORMAT_NAME and run.attrs["format_version"] == schema.SPLIT_VERSION
        assert {"numpy", "h5py", "python"} <= set(run.attrs["versions"]) and run.attrs["created"][:2] == "20"
        assert run.attrs["engine_version"]
        for gen in range(3):
            assert_generation_equal(run, gen)
        g0 = run.generation(0)
        assert np.array_equal(g0["test_returns"], [1.5, 2.5]) and np.array_equal(g0["test_seeds"], [99, 100])
        assert np.array_equal(g0["extra"]["descriptor"], np.eye(3)) and g0["rng_state"] == {"state": 2**100}
        assert run.generation(1)["extra"] == {} and "test_returns" not in run.generation(1)
        assert_genome_equal(run.genome(2, 1), gen_data(2)["population"][1])
        assert_genome_equal(run.genome(-1, -1), gen_data(2)["population"][-1])
        assert np.array_equal(run.run_data("obs_low"), [-1.0, -2.0])
        with pytest.raises(IndexError, match="complete generations"):
            run.population(3)
        with pytest.raises(IndexError, match="genome index 3"):
            run.genome(0, 3)
        with pytest.raises(KeyError, match="obs_low"):
            run.run_data("obs_high")
        assert run.champion() is None
    with h5py.File(f"{path}.d/gen-000002.h5", "r") as f:  # plain h5py reads the same data
        assert np.array_equal(f["generation/fitness"][()], gen_data(2)["fitness"])
    packed = pack_run(path, tmp_path / "packed.h5")
    with h5py.File(packed, "r") as f:  # and, packed into one file, the layout of the single-file writer
        assert f.attrs["format_version"] == schema.PACKED_VERSION
        assert np.array_equal(f["generations/000002/fitness"][()], gen_data(2)["fitness"])
        assert np.array_equal(f["history/best"][()], [0.0, 1.0, 2.0])


def test_history_arrays_follow_generations_with_nan_for_untested(tmp_path):
    path = tmp_path / "run.h5"
    with new_writer(path) as w:
        write_gens(w, range(4))
        d = gen_data(4)
        w.write_generation(4, **{**d, "stats": {**d["stats"], "spikes_per_step": 12.5}})
    with open_run(path) as run:
        h = run.history
    assert set(h) == {"generation", *HISTORY_KEYS, "spikes_per_step"}
    assert np.array_equal(h["generation"], np.arange(5)) and h["generation"].dtype == np.int64
    assert np.array_equal(h["best"], np.arange(5.0))
    assert np.array_equal(h["env_steps"], 1000.0 * np.arange(1, 6))
    assert np.array_equal(h["test"], [0.5, np.nan, np.nan, 3.5, np.nan], equal_nan=True)
    assert np.array_equal(h["spikes_per_step"], [np.nan] * 4 + [12.5], equal_nan=True)


def test_champion_is_committed_with_its_generation_and_replaced_by_a_later_one(tmp_path):
    path = tmp_path / "run.h5"
    a, b = gen_data(0)["population"][:2]
    with new_writer(path) as w:
        write_gens(w, [0])
        w.write_champion(a, generation=0, index=0, test_returns=[1.0, 2.0], test_seeds=[99, 100])
        with w.run as run:  # of a committed generation: committed at once
            assert_genome_equal(run.champion()[0], a)
        w.write_champion(b, generation=2, index=1, test_returns=[3.0], test_seeds=[99])
        write_gens(w, [1])
        with w.run as run:  # of generation 2: waits for it
            assert run.champion()[1]["generation"] == 0
        write_gens(w, [2])
    with open_run(path) as run:
        genome, info = run.champion()
    assert_genome_equal(genome, b)
    assert (info["generation"], info["index"]) == (2, 1) and np.array_equal(info["test_returns"], [3.0])
    with h5py.File(f"{path}.d/gen-000002.h5", "r") as f:  # one file: the generation and its champion
        assert sorted(f) == ["champion", "generation"]


def test_write_generation_checks_order_and_shapes_and_leaves_nothing_half_written(tmp_path):
    path = tmp_path / "run.h5"
    with new_writer(path) as w:
        with pytest.raises(ValueError, match="expected 0"):
            w.write_generation(1, **gen_data(1))
        bad = {**gen_data(0), "counters": np.zeros((3, 2))}
        with pytest.raises(ValueError, match=r"counters: expected shape \(3, 3\), got \(3, 2\)"):
            w.write_generation(0, **bad)
        with pytest.raises(ValueError, match="missing"):
            w.write_generation(0, **{**gen_data(0), "stats": {"best": 1.0}})
        bad_extra = {**gen_data(0), "extra": {"ok": np.zeros(2), "bad": np.array([object()])}}
        with pytest.raises(TypeError):
            w.write_generation(0, **bad_extra)  # fails after the group was begun: rolled back
        write_gens(w, [0])
    with open_run(path) as run:
        assert run.n_generations == 1 and len(run.history["best"]) == 1
    assert sorted(os.listdir(f"{path}.d")) == ["gen-000000.h5", "index.h5"]  # no temporary file left behind


def test_new_run_refuses_an_existing_file_unless_overwrite(tmp_path):
    path = tmp_path / "run.h5"
    with new_writer(path) as w:
        write_gens(w, [0])
    with pytest.raises(FileExistsError, match="overwrite"):
        new_writer(path)
    with open_run(path) as run:
        assert run.n_generations == 1
    with new_writer(path, overwrite=True):
        pass
    with open_run(path) as run:
        assert run.n_generations == 0


def test_resume_drops_incomplete_generation_and_checks_seed(tmp_path):
    path = tmp_path / "run.h5"
    with new_writer(path) as w:
        write_gens(w, range(3))
    with open(f"{path}.d/.gen-000003.h5.tmp99", "wb") as fh:  # as left by a kill inside generation 3
        fh.write(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with open_run(path) as run:
        assert run.n_generations == 3 and len(run.history["best"]) == 3
    with pytest.raises(ValueError, match="seed"):
        RunWriter(path, seed=8, resume=True)
    with RunWriter(path, config=CONFIG, seed=7, dim=2, resume=True) as w:
        assert w.next_generation == 3
        write_gens(w, [3, 4])
    with open_run(path) as run:
        assert run.n_generations == 5
        for gen in range(5):
            assert_generation_equal(run, gen)


# ------------------------------------------------------ one writer, live reads
def test_second_writer_from_another_process_is_refused_through_any_name(tmp_path):
    path = tmp_path / "run.h5"
    child = spawn(
        tmp_path,
        f"""
        w = RunWriter({str(path)!r}, config={{}}, seed=1, dim=2, run_data={{"obs_low": [0.0]}})
        print("ready", flush=True); sys.stdin.readline(); w.close()
    """,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        os.symlink(path, tmp_path / "symlink.h5")
        os.link(path, tmp_path / "hardlink.h5")
        for name in ("run.h5", "symlink.h5", "hardlink.h5"):
            for kw in ({"resume": True}, {"overwrite": True}):
                with pytest.raises(ArchiveLockedError, match="another process"):
                    new_writer(tmp_path / name, **kw)
        with pytest.raises(ArchiveLockedError, match="another process"):
            pack_run(tmp_path / "symlink.h5")
    finally:
        child.communicate("\n", timeout=30)
    with RunWriter(tmp_path / "symlink.h5", resume=True) as w:  # free again once the first one closed
        assert w.next_generation == 0
        with open_run(tmp_path / "symlink.h5") as run:  # a symlink finds the parts beside the real header
            assert run.parts_dir == f"{path}.d"
        # a hard link under another name is another header: the parts are found by its own name only
        with pytest.raises(ArchiveFormatError, match="hardlink.h5.d is missing"):
            open_run(tmp_path / "hardlink.h5")


def test_live_run_is_readable_and_shows_only_complete_generations(tmp_path):
    path = tmp_path / "run.h5"
    child = spawn(
        tmp_path,
        f"""
        w = RunWriter({str(path)!r}, config={{"x": 1}}, seed=1, dim=2)
        for gen in range(2):
            w.write_generation(gen, **gen_data(gen))
        # as if a writer were inside generation 2: its part exists under a temporary name
        open(w.parts_dir + "/.gen-000002.h5.tmp1", "wb").write(b"partial")
        print("2", flush=True); sys.stdin.readline()
        w.write_generation(2, **gen_data(2))
        print("3", flush=True); sys.stdin.readline(); w.close()
    """,
    )
    try:
        assert child.stdout.readline().strip() == "2"
        with open_run(path) as run:
            assert run.n_generations == 2 and len(run.history["best"]) == 2
            assert_generation_equal(run, 1)
        child.stdin.write("\n"), child.stdin.flush()
        assert child.stdout.readline().strip() == "3"
        with open_run(path) as run:
            assert run.n_generations == 3
            assert_generation_equal(run, 2)
    finally:
        child.communicate("\n", timeout=30)


# ------------------------------------------------------------- crash safety
@pytest.mark.parametrize("kills", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_sigkill_at_random_moments_keeps_every_reported_generation_and_resumes(tmp_path, kills):
    path = tmp_path / "run.h5"
    rng = np.random.default_rng(4)
    reported, interrupted = -1, 0
    for attempt in range(kills):
        child = spawn(
            tmp_path,
            f"""
            w = RunWriter({str(path)!r}, config={{"k": 1}}, seed=1, dim=2,
                          overwrite={attempt == 0}, resume={attempt > 0})
            gens = range(w.next_generation, w.next_generation + 150)
            cache = [gen_data(g) for g in gens]
            print("ready", w.next_generation, flush=True)
            for d, gen in zip(cache, gens):
                if gen % 5 == 0:  # as the runner does: the champion first, committed with its generation
                    w.write_champion(d["population"][0], generation=gen, index=0,
                                     test_returns=[float(gen)], test_seeds=[99])
                w.write_generation(gen, **d)
                print(f"done {{gen}}", flush=True)
        """,
        )
        ready = child.stdout.readline().split()
        assert ready == ["ready", str(reported + 1)], ready
        time.sleep(rng.uniform(0.02, 0.3))
        child.kill()
        out, _ = child.communicate(timeout=30)
        lines = out.splitlines(keepends=True)  # a line cut by the kill does not count
        done = [int(line.split()[1]) for line in lines if line.startswith("done ") and line.endswith("\n")]
        interrupted += len(done) < 150  # killed while writing, not after the last generation
        reported = max(done, default=reported)
        with open_run(path) as run:
            assert run.n_generations >= reported + 1
            assert np.array_equal(run.history["best"], np.arange(run.n_generations))
            for gen in {0, reported, run.n_generations - 1} & set(range(run.n_generations)):
                assert_generation_equal(run, gen)
            champion = run.champion()  # of generations 0, 5, 10, ...: never one without the other
            assert champion is not None or run.n_generations == 0
            assert champion is None or champion[1]["generation"] == 5 * ((run.n_generations - 1) // 5)
            reported = run.n_generations - 1  # the next writer continues from there
    assert interrupted
    with RunWriter(path, resume=True) as w:
        start = w.next_generation
        write_gens(w, [start, start + 1])
    with open_run(path) as run:
        assert run.n_generations == start + 2 and np.array_equal(run.history["generation"], np.arange(start + 2))
        assert_generation_equal(run, start + 1)


# ----------------------------------------------------------------- bad input
def _one_line_error(path, match):
    with pytest.raises(ArchiveFormatError, match=match) as info:
        open_run(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_file_not_hdf5_and_directory_are_one_line_errors(tmp_path):
    _one_line_error(tmp_path / "nope.h5", "no such file")
    (tmp_path / "notes.h5").write_text("just text, not HDF5\n" * 10)
    _one_line_error(tmp_path / "notes.h5", "not an HDF5 file")
    _one_line_error(tmp_path, "directory")
    with pytest.raises(ArchiveFormatError, match="no such file"):
        RunWriter(tmp_path / "nope.h5", resume=True)
    with pytest.raises(ArchiveFormatError, match="no such file"):
        load_genome(tmp_path / "nope.h5")


def test_foreign_hdf5_and_newer_format_version_are_refused(tmp_path):
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["data"] = np.arange(3)
    _one_line_error(tmp_path / "foreign.h5", "another kind")
    path = tmp_path / "run.h5"
    with new_writer(path) as w:
        write_gens(w, [0])
    with h5py.File(path, "r+", locking=False) as f:
        f.attrs["format_version"] = schema.SPLIT_VERSION + 1
    _one_line_error(path, "newer spatial-snn")
    with pytest.raises(ArchiveFormatError, match="newer"):
        RunWriter(path, resume=True)


def test_archive_modules_never_pickle():
    import re

    import spatial_snn.store.archive
    import spatial_snn.store.durable
    import spatial_snn.store.genome_io
    import spatial_snn.store.h5io
    import spatial_snn.store.pack
    import spatial_snn.store.run_reader
    import spatial_snn.store.schema
    import spatial_snn.store.writer_lock
    import spatial_snn.store.writer_open

    pattern = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|joblib|dill|cloudpickle)\b|allow_pickle", re.M)
    for module in (
        spatial_snn.store.archive,
        spatial_snn.store.durable,
        spatial_snn.store.genome_io,
        spatial_snn.store.h5io,
        spatial_snn.store.pack,
        spatial_snn.store.run_reader,
        spatial_snn.store.schema,
        spatial_snn.store.writer_lock,
        spatial_snn.store.writer_open,
    ):
        with open(module.__file__) as fh:
            assert not pattern.search(fh.read()), module.__name__


# --------------------------------------------------------------------- fuzz
FUZZ = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from spatial_snn.store.h5io import ArchiveFormatError
    from spatial_snn.store.run_reader import open_run

    src, work, n_cases, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    def dump(path):
        items = []
        with open_run(path) as run:
            items.append(("attrs", json.dumps(run.attrs, sort_keys=True)))
            items.append(("n", run.n_generations))
            items += sorted(("h/" + k, v) for k, v in run.history.items())
            for gen in range(run.n_generations):
                d = run.generation(gen)
                items += [(f"{gen}/{k}", json.dumps(v) if isinstance(v, dict) else v) for k, v in sorted(d.items())]
                for i, g in enumerate(run.population(gen)):
                    items += [(f"{gen}/{i}/{k}", v) for k, v in sorted(vars(g).items())]
            ch = run.champion()
            items += [("champion", None)] if ch is None else [(f"c/{k}", v) for k, v in sorted(vars(ch[0]).items())]
            items += [("r/" + k, run.run_data(k)) for k in run.run_data_names]
        return items

    def same(a, b):
        if isinstance(a, np.ndarray):
            nan = a.dtype.kind == "f"
            return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=nan)
        if hasattr(a, "pre"):
            return all(same(getattr(a, p), getattr(b, p)) for p in ("pre", "post", "weight"))
        return a == b

    data = open(src, "rb").read()
    reference = dump(src)
    rng = np.random.default_rng(seed)
    marks = [i for sig in (b"OHDR", b"OCHK", b"FRHP", b"FHDB", b"FHIB", b"BTHD", b"BTLF", b"BTIN", b"TREE")
             for i in range(len(data)) if data.startswith(sig, i)] + [0]
    for case in range(n_cases):
        buf = bytearray(data)
        if case % 3 == 0:
            kind, buf = "truncate", buf[: int(rng.integers(0, len(data)))]
        else:
            kind = "flip-metadata" if case % 3 == 1 else "flip-anywhere"
            for _ in range(int(rng.integers(1, 4))):
                near = int(rng.choice(marks)) + int(rng.integers(0, 96))  # in/after a metadata block
                at = min(near, len(buf) - 1) if case % 3 == 1 else int(rng.integers(0, len(buf)))
                buf[at] ^= 1 << int(rng.integers(0, 8))
        path = f"{work}/case{case}.h5"
        open(path, "wb").write(bytes(buf))
        try:
            got = dump(path)
            pairs = zip(got, reference)
            ok = len(got) == len(reference) and all(k1 == k2 and same(v1, v2) for (k1, v1), (k2, v2) in pairs)
            outcome = "same" if ok else "WRONG DATA"
        except ArchiveFormatError as exc:
            outcome = "error" if "\\n" not in str(exc) else "MULTI-LINE ERROR"
        except BaseException as exc:
            outcome = f"OTHER {type(exc).__name__}: {exc}"
        print(json.dumps({"case": case, "kind": kind, "outcome": outcome}), flush=True)
    """
)


@pytest.mark.parametrize("n_cases", [12, pytest.param(200, marks=pytest.mark.slow)])
def test_fuzzed_packed_archives_end_in_archive_format_error_or_correct_data(tmp_path, n_cases):
    split = tmp_path / "split.h5"
    with new_writer(split) as w:
        w.set_run_data("obs_low", np.array([-1.0, -2.0, -3.0]))
        for gen in range(9):  # > 8 generations: /generations uses dense link storage
            w.write_generation(gen, **gen_data(gen, n_pop=1 + gen % 2, n_hidden=4), rng_state={"g": gen})
        w.write_champion(gen_data(3)["population"][0], generation=3, index=0, test_returns=[1.0], test_seeds=[9])
    path = pack_run(split, tmp_path / "run.h5")
    script = tmp_path / "fuzz.py"
    script.write_text(FUZZ)
    (tmp_path / "cases").mkdir()
    args = [sys.executable, str(script), str(path), str(tmp_path / "cases"), str(n_cases), "12345"]
    try:  # a generous bound against a reader that hangs on a damaged file, not a speed check
        proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as exc:
        last = (exc.stdout or b"").decode(errors="replace").splitlines()[-1:]
        pytest.fail(f"fuzz process still running after {exc.timeout} s; last case finished: {last}")
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, f"fuzz process died ({proc.returncode}) after {results[-1:]}: {proc.stderr[-2000:]}"
    assert len(results) == n_cases
    bad = [r for r in results if r["outcome"] not in ("same", "error")]
    assert not bad, bad[:5]
    outcomes = {(r["kind"], r["outcome"]) for r in results}
    assert ("truncate", "error") in outcomes and ("flip-metadata", "error") in outcomes  # the fuzz bites


def test_extension_names_round_trip_and_other_names_are_not_extensions():
    from spatial_snn.store import schema

    assert [schema.extension_index(schema.extension_name(k)) for k in (0, 1, 12)] == [0, 1, 12]
    for name in ("extension_", "extension_x", "extension_-1", "obs_low", "start_env_steps"):
        assert schema.extension_index(name) is None
    assert schema.is_run_data_name("start_env_steps") and schema.is_run_data_name("extension_3")
    assert not schema.is_run_data_name("mutation_strengths")  # a per-generation name, not run data
