"""Faults and hostile files: a SIGKILL before every write, and a corpus of malformed archives.

The kill test builds an ``LD_PRELOAD`` shim with the system C compiler that
counts the calls that change files under the archive's directory (``write``,
``pwrite``, ``ftruncate``, ``rename``, ``link``, ``unlink``, ``mkdir``) and
raises SIGKILL before the k-th. A driver process (with the shim loaded, the
kernels compiled and CartPole imported) counts the calls of an uninterrupted
run, then for every k forks: a run killed at k, a ``resume`` killed at k,
and a final ``resume``; after each kill the archive must open and hold a
prefix of the uninterrupted history, and the final history must equal it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from spatial_snn.store import schema
from spatial_snn.store.archive import RunWriter
from spatial_snn.store.h5io import ArchiveFormatError, ArchiveWarning, set_json
from spatial_snn.store.pack import pack_run
from spatial_snn.store.run_reader import open_run

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long counter = 0;
long killshim_count(void) { return counter; }
void killshim_reset(void) { counter = 0; }

static int under(const char *path) {
    const char *prefix = getenv("KILLSHIM_PREFIX");
    char buf[8192];
    if (!prefix || !path) return 0;
    if (path[0] == '/') snprintf(buf, sizeof buf, "%s", path);
    else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) return 0;
        snprintf(buf, sizeof buf, "%s/%s", cwd, path);
    }
    return strncmp(buf, prefix, strlen(prefix)) == 0;
}
static int fd_under(int fd) {
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) return 0;
    target[n] = 0;
    return under(target);
}
static void tick(int hit) {
    const char *at = getenv("KILLSHIM_AT");
    if (!hit || !at) return;
    counter++;
    if (atol(at) > 0 && counter >= atol(at)) raise(SIGKILL);
}
#define REAL(name) static __typeof__(name) *real; if (!real) real = dlsym(RTLD_NEXT, #name)
ssize_t write(int fd, const void *b, size_t n) { REAL(write); tick(fd_under(fd)); return real(fd, b, n); }
ssize_t pwrite(int fd, const void *b, size_t n, off_t o) { REAL(pwrite); tick(fd_under(fd)); return real(fd, b, n, o); }
ssize_t pwrite64(int fd, const void *b, size_t n, off_t o) {
    REAL(pwrite64); tick(fd_under(fd)); return real(fd, b, n, o);
}
int ftruncate(int fd, off_t n) { REAL(ftruncate); tick(fd_under(fd)); return real(fd, n); }
int ftruncate64(int fd, off_t n) { REAL(ftruncate64); tick(fd_under(fd)); return real(fd, n); }
int rename(const char *a, const char *b) { REAL(rename); tick(under(a) || under(b)); return real(a, b); }
int renameat(int fa, const char *a, int fb, const char *b) {
    REAL(renameat); tick(under(a) || under(b)); return real(fa, a, fb, b);
}
int link(const char *a, const char *b) { REAL(link); tick(under(b)); return real(a, b); }
int linkat(int fa, const char *a, int fb, const char *b, int fl) {
    REAL(linkat); tick(under(b)); return real(fa, a, fb, b, fl);
}
int unlink(const char *a) { REAL(unlink); tick(under(a)); return real(a); }
int unlinkat(int fd, const char *a, int fl) { REAL(unlinkat); tick(under(a)); return real(fd, a, fl); }
int mkdir(const char *a, mode_t m) { REAL(mkdir); tick(under(a)); return real(a, m); }
"""

DRIVER = textwrap.dedent(
    """
    import ctypes, json, os, shutil, sys, traceback
    import numpy as np
    from spatial_snn.runs.runner import evolve
    from spatial_snn.runs.scenarios import scenario_from_dict
    from spatial_snn.store.h5io import ArchiveFormatError
    from spatial_snn.store.run_reader import open_run

    work = sys.argv[1]
    shim = ctypes.CDLL(None)
    KEYS = ("generation", "best", "mean", "test", "env_steps", "invalid_obs")
    TINY = {"name": "tiny", "env": {"id": "CartPole-v1"}, "network": {"substeps": 4, "n_hidden": 16},
            "evolution": {"population": 6, "generations": 4},
            "protocol": {"episodes": 1, "test_every": 1, "test_episodes": 2}}

    def say(**kw):
        print(json.dumps(kw), flush=True)

    def history(path):
        with open_run(path) as run:
            h = {k: run.history[k].tolist() for k in KEYS}
            ch = run.champion()
            champ = None if ch is None else [ch[1]["generation"], ch[0].recurrent.weight.tolist()]
            return h, champ, run.n_generations

    def counted(path, sc, resume, at, seed=2, overwrite=False):
        os.environ["KILLSHIM_PREFIX"] = os.path.dirname(path) + "/"
        os.environ["KILLSHIM_AT"] = str(at)
        shim.killshim_reset()
        try:
            evolve(sc, seed=seed, workers=1, archive=path, resume=resume, overwrite=overwrite)
        finally:
            n = shim.killshim_count()
            del os.environ["KILLSHIM_PREFIX"], os.environ["KILLSHIM_AT"]
        return n

    def forked(path, sc, resume, at, overwrite=False):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                counted(path, sc, resume, at, overwrite=overwrite)
            except BaseException:
                traceback.print_exc()
                code = 3
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            return "killed" if os.WTERMSIG(status) == 9 else f"signal {os.WTERMSIG(status)}"
        return os.WEXITSTATUS(status)

    # the uninterrupted run, in this process (it also compiles the kernels before any fork)
    base = scenario_from_dict(TINY)
    os.makedirs(f"{work}/free")
    counted(f"{work}/free/run.h5", base, False, 0)
    free, _, _ = history(f"{work}/free/run.h5")
    tests = np.array(free["test"])
    gain = [g for g in range(1, len(tests)) if tests[g] > np.max(tests[:g])]
    target = float(tests[gain[0]]) if gain else None  # stops the run at a generation that sets a champion
    sc = scenario_from_dict({**TINY, "protocol": {**TINY["protocol"], "target": target}})
    os.makedirs(f"{work}/ref")
    writes = counted(f"{work}/ref/run.h5", sc, False, 0)
    ref, ref_champ, n_ref = history(f"{work}/ref/run.h5")
    say(kind="reference", writes=writes, generations=n_ref, target=target)
    for k in range(1, writes + 1):
        d = f"{work}/k{k}"
        os.makedirs(d)
        path = f"{d}/run.h5"
        outcomes = []
        for step, resume in (("evolve", False), ("resume", True), ("final", True)):
            outcome = forked(path, sc, resume, 0 if step == "final" else k)
            outcomes.append(outcome)
            if step == "final" and outcome != 0:
                say(kind="fail", k=k, step=step, why=f"exit {outcome}")
                break
            if not os.path.exists(path):
                continue  # killed before the header was linked: nothing was promised yet
            try:
                got, champ, n = history(path)
            except ArchiveFormatError as exc:
                say(kind="fail", k=k, step=step, why=f"does not open: {exc}")
                break
            if any(got[key] != ref[key][:n] for key in KEYS):
                say(kind="fail", k=k, step=step, why=f"not a prefix of the history: {got}")
                break
            if step == "final" and (n != n_ref or champ != ref_champ):
                say(kind="fail", k=k, step=step, why=f"{n} generations of {n_ref}, champion {champ and champ[0]}")
                break
        else:
            say(kind="ok", k=k, outcomes=outcomes)
        shutil.rmtree(d)

    # --overwrite of a finished run (seed 3) killed before every write: the old run whole, the new
    # header refused over the old parts (they belong to another run), or a prefix of the new run; never
    # the old generations under the new header. A second --overwrite then gives the uninterrupted run.
    os.makedirs(f"{work}/old")
    counted(f"{work}/old/run.h5", base, False, 0, seed=3)
    old, old_champ, n_old = history(f"{work}/old/run.h5")
    shutil.copytree(f"{work}/old", f"{work}/count")
    writes = counted(f"{work}/count/run.h5", sc, False, 0, overwrite=True)
    say(kind="reference-overwrite", writes=writes)
    for k in range(1, writes + 1):
        d = f"{work}/o{k}"
        shutil.copytree(f"{work}/old", d)
        path = f"{d}/run.h5"
        outcome = forked(path, sc, False, k, overwrite=True)
        try:
            with open_run(path) as run:
                seed = run.seed
            got, champ, n = history(path)
            if seed == 3 and (got != old or champ != old_champ):
                say(kind="fail", k=k, step="overwrite", why=f"old header, not the old run: {got}")
                continue
            if seed == 2 and any(got[key] != ref[key][:n] for key in KEYS):
                say(kind="fail", k=k, step="overwrite", why=f"new header, not a prefix of the new run: {got}")
                continue
        except ArchiveFormatError as exc:
            if "belongs to another run" not in str(exc):
                say(kind="fail", k=k, step="overwrite", why=f"does not open: {exc}")
                continue
        final = forked(path, sc, False, 0, overwrite=True)
        got, champ, n = history(path)
        if final != 0 or (got, champ, n) != (ref, ref_champ, n_ref) or sorted(os.listdir(d)) != ["run.h5",
                                                                                                  "run.h5.d"]:
            say(kind="fail", k=k, step="overwrite-final", why=f"exit {final}, {n} generations, {os.listdir(d)}")
            continue
        say(kind="ok-overwrite", k=k, outcome=outcome)
        shutil.rmtree(d)
    """
)


@pytest.mark.slow
def test_sigkill_before_every_archive_write_keeps_a_resumable_prefix(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (cc): the kill shim is built at test time")
    (tmp_path / "shim.c").write_text(SHIM)
    subprocess.run(
        [cc, "-shared", "-fPIC", "-O1", "-o", str(tmp_path / "shim.so"), str(tmp_path / "shim.c"), "-ldl"],
        check=True,
        capture_output=True,
    )
    (tmp_path / "driver.py").write_text(DRIVER)
    (tmp_path / "work").mkdir()
    # workqueue: GNU OpenMP aborts a process that forks after using it
    env = {**os.environ, "LD_PRELOAD": str(tmp_path / "shim.so"), "NUMBA_THREADING_LAYER": "workqueue"}
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "work")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = lines[0]
    assert ref["kind"] == "reference" and ref["writes"] > 10, ref
    # seed 2 sets a new champion in generation 2; with that as the target the run stops there
    assert ref["target"] is not None and 2 <= ref["generations"] < 4, ref
    fails = [r for r in lines if r["kind"] == "fail"]
    assert not fails, fails[:5]
    oks = [r for r in lines if r["kind"] == "ok"]
    assert [r["k"] for r in oks] == list(range(1, ref["writes"] + 1))
    assert all(r["outcomes"][0] == "killed" for r in oks)  # every run was really cut at its k-th write
    assert sum(r["outcomes"][1] == "killed" for r in oks) >= 3  # and so were resumes
    over = next(r for r in lines if r["kind"] == "reference-overwrite")
    oks = [r for r in lines if r["kind"] == "ok-overwrite"]
    assert [r["k"] for r in oks] == list(range(1, over["writes"] + 1)) and over["writes"] > 10, over
    assert all(r["outcome"] == "killed" for r in oks)


# ------------------------------------------------------- malformed archives
FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "v1-run-cartpole.h5")
# the scenario, seed and generations the fixture was written with (by the single-file writer)
FIXTURE_SCENARIO = {
    "name": "tiny",
    "env": {"id": "CartPole-v1"},
    "network": {"substeps": 4, "n_hidden": 8},
    "evolution": {"population": 4, "generations": 3},
    "protocol": {"episodes": 1, "test_every": 2, "test_episodes": 2},
}


def _stats(gen):
    return dict(
        best=float(gen),
        mean=gen / 2,
        test=float("nan"),
        env_steps=10.0 * (gen + 1),
        wall_time=0.5 * (gen + 1),
        invalid_obs=0.0,
    )


def _small_run(path, n_gen=3, config=None, packed=False):
    """A small run (3 genomes a generation); packed into one file when asked."""
    from spatial_snn.space.layout import GenomeSpec, random_genome

    rng = np.random.default_rng(0)
    pop = [random_genome(GenomeSpec.reference(2, 6), 3, 2, rng) for _ in range(3)]
    config = (
        {"scenario": {"name": "x", "env": {"id": "CartPole-v1"}}, "task": {"env_id": "CartPole-v1"}}
        if config is None
        else config
    )
    split = f"{path}.split.h5" if packed else path
    with RunWriter(split, config=config, seed=1, dim=2, run_data={"obs_low": np.zeros(3)}) as w:
        for gen in range(n_gen):
            if gen == 1:
                w.write_champion(pop[0], generation=1, index=0, test_returns=[5.0], test_seeds=[9])
            w.write_generation(
                gen,
                population=pop,
                fitness=rng.normal(size=(3, 2)),
                episode_returns=np.zeros((3, 1)),
                episode_lengths=np.ones((3, 1)),
                episode_seeds=[gen],
                counters=np.zeros((3, 3)),
                parents=-np.ones((3, 2)),
                origin=np.zeros(3),
                stats=_stats(gen),
            )
    return pack_run(split, path) if packed else path


def _one_error(fn, path, part):
    with pytest.raises(ArchiveFormatError) as info:
        fn()
    text = str(info.value)
    assert "\n" not in text and str(path) in text and part in text, text
    return text


def _edit(path, fn):
    with h5py.File(path, "r+", locking=False) as f:
        fn(f)


def _read_everything(path):
    with open_run(path) as run:
        for gen in range(run.n_generations):
            run.generation(gen), run.population(gen)
        run.champion(), run.history, run.task, run.scenario


@pytest.mark.parametrize("layout", ["packed", "split"])
def test_a_count_larger_than_the_file_is_refused_before_allocating(tmp_path, layout):
    path = _small_run(tmp_path / "run.h5", packed=layout == "packed")
    # the split run's last part: an edited earlier part is refused at opening (the chain of parts)
    gen = 1 if layout == "packed" else 2
    where = "generations/000001" if layout == "packed" else None
    target = path if layout == "packed" else f"{path}.d/gen-000002.h5"
    group = where or "generation"
    _edit(target, lambda f: f[f"{group}/population"].attrs.__setitem__("n_genomes", np.int64(10**12)))
    if layout == "split":
        _one_error(lambda: open_run(path), target, "modified or replaced")  # the index has its sha256
        os.unlink(f"{path}.d/index.h5")  # without it, nothing records the last part's bytes: read lazily
    with open_run(path) as run:
        _one_error(lambda: run.population(gen), target, "n_genomes")

    def huge(f):  # a dataset declared 2**33 long that holds no data
        g = f[group]
        del g["fitness"]
        ds = g.create_dataset("fitness", shape=(2**33, 2), dtype="f8", chunks=(1024, 2))
        ds.attrs["crc32"] = np.uint32(0)

    _edit(target, huge)
    with open_run(path) as run:
        _one_error(lambda: run.generation(gen), target, "more than the whole file")


@pytest.mark.parametrize("config", [[], "x", {"task": {"env_id": "CartPole-v1"}}])
def test_a_config_that_is_not_a_run_config_is_one_error(tmp_path, config):
    path = _small_run(tmp_path / "run.h5", config={"a": 1})
    _edit(path, lambda f: set_json(f, "config", config))
    if isinstance(config, dict):
        _one_error(lambda: open_run(path), path, "run_digest")  # an edited config no longer matches the identity
        _edit(path, lambda f: [f.attrs.__delitem__(k) for k in (schema.RUN_ID, schema.RUN_DIGEST)])
        for part in os.listdir(f"{path}.d"):  # as a run from before identities: opens, and what needs the
            _edit(
                f"{path}.d/{part}",
                lambda f: [
                    f.attrs.__delitem__(k)
                    for k in (
                        schema.RUN_ID,  # scenario
                        schema.RUN_DIGEST,
                    )
                ],
            )  # says so
    if isinstance(config, dict):  # opens; what needs the scenario says it is missing
        with open_run(path) as run:
            _one_error(lambda: run.scenario, path, "scenario")
        from spatial_snn.cli import main

        assert main(["resume", str(path), "--workers", "1"]) == 2
    else:
        _one_error(lambda: open_run(path), path, "config")


@pytest.mark.parametrize("damage", ["strings", "two-d", "contiguous-short", "missing", "declared-huge"])
def test_a_damaged_history_is_rebuilt_and_does_not_block_resume(tmp_path, damage):
    path = _small_run(tmp_path / "run.h5", packed=True)
    with open_run(path) as run:
        want = run.history

    def edit(f):
        h = f["history"]
        if damage == "missing":
            del f["history"]
            return
        del h["best"]
        if damage == "strings":
            h["best"] = np.array([b"a", b"b", b"c"])
        elif damage == "two-d":
            h["best"] = np.zeros((3, 2))
        elif damage == "contiguous-short":
            h["best"] = np.zeros(1)
        else:
            h.create_dataset("best", shape=(2**33,), dtype="f8", chunks=(1024,))
        h["best"].attrs["crc32"] = np.uint32(0)

    _edit(path, edit)
    with pytest.warns(ArchiveWarning, match="/history is damaged"), open_run(path) as run:  # and says so
        got = run.history
    assert set(got) == set(want) and all(np.array_equal(got[k], want[k], equal_nan=True) for k in want)
    with pytest.warns(ArchiveWarning), RunWriter(path, resume=True) as w:  # resume splits the file again
        assert w.next_generation == 3
    with open_run(path) as run:
        assert run.split and np.array_equal(run.history["best"], want["best"])


def test_a_fifo_or_a_directory_named_h5_is_refused_without_opening(tmp_path):
    fifo = tmp_path / "x.h5"
    os.mkfifo(fifo)
    for fn in (lambda: open_run(fifo), lambda: RunWriter(fifo, resume=True)):
        _one_error(fn, fifo, "not a regular file")
    from spatial_snn.store.genome_io import load_genome

    _one_error(lambda: load_genome(fifo), fifo, "not a regular file")


def test_split_runs_with_foreign_parts_names_or_gaps_are_one_error(tmp_path):
    path = _small_run(tmp_path / "run.h5")
    _edit(path, lambda f: f.attrs.__setitem__("parts", np.bytes_(b"../../etc")))
    with open_run(path) as run:  # the stored name is not read: the parts sit beside the header, by its name
        assert run.parts_dir == f"{path}.d" and run.n_generations == 3
    path = _small_run(tmp_path / "gap.h5")
    os.unlink(f"{path}.d/gen-000001.h5")
    _one_error(lambda: open_run(path), f"{path}.d", "gen-000001.h5 is missing")
    path = _small_run(tmp_path / "garbage.h5")
    with open(f"{path}.d/gen-000002.h5", "r+b") as fh:
        fh.seek(200)
        fh.write(os.urandom(400))
    _one_error(lambda: _read_everything(path), f"{path}.d/gen-000002.h5", "")
    path = _small_run(tmp_path / "seed.h5")
    _edit(path, lambda f: f.attrs.__setitem__("seed", np.bytes_(b"1")))
    _one_error(lambda: open_run(path), path, "seed")


def test_an_archive_never_chooses_a_module_to_import(tmp_path):
    config = {"scenario": {"name": "x", "env": {"id": "evil_module:Env"}}, "task": {"env_id": "evil_module:Env"}}
    path = _small_run(tmp_path / "run.h5", config=config)
    with open_run(path) as run:
        _one_error(lambda: run.task, path, "import the module 'evil_module'")
    with open_run(path, allow_import=["evil_module"]) as run:
        assert run.task["env_id"] == "evil_module:Env"  # the user named it: allowed
    from spatial_snn.cli import main
    from spatial_snn.store.controller import load_controller

    _one_error(lambda: load_controller(path), path, "--import-module evil_module")
    assert main(["resume", str(path), "--workers", "1"]) == 2
    assert main(["replay", str(path), "--episodes", "1"]) == 2
    assert "evil_module" not in sys.modules


def test_the_old_single_file_archive_opens_as_written(tmp_path):
    with open_run(FIXTURE) as run:
        assert not run.split and run.n_generations == 2 and run.attrs["format_version"] == 1
        assert np.array_equal(run.history["generation"], [0, 1])
        assert len(run.population(1)) == 4 and run.champion() is not None
        assert run.scenario["name"] == "tiny" and run.task["env_id"] == "CartPole-v1"


@pytest.mark.slow
def test_the_old_single_file_archive_resumes_to_the_uninterrupted_history(tmp_path):
    from spatial_snn.runs.runner import evolve
    from spatial_snn.runs.scenarios import scenario_from_dict
    from spatial_snn.runs.setup import resolve

    sc = scenario_from_dict(FIXTURE_SCENARIO)
    old = tmp_path / "old.h5"
    shutil.copyfile(FIXTURE, old)
    resumed = evolve(sc, seed=3, workers=1, generations=2, archive=old, resume=True)  # a finished run stays
    assert len(resumed.history["generation"]) == 2
    resumed = evolve(sc, seed=3, workers=1, generations=3, archive=old, resume=True)
    # the old run trained on gymnasium (it predates backends) and so does its resumption
    whole = evolve(resolve(sc, 2, 3, backend="gymnasium"), workers=1, generations=3, archive=tmp_path / "whole.h5")
    for key in ("generation", "best", "mean", "test", "env_steps", "invalid_obs"):
        assert np.array_equal(resumed.history[key], whole.history[key], equal_nan=True), key
    with open_run(old) as a, open_run(tmp_path / "whole.h5") as b:
        assert a.split and a.n_generations == b.n_generations == 3
        assert np.array_equal(a.generation(2)["fitness"], b.generation(2)["fitness"])
        assert np.array_equal(a.champion()[0].recurrent.weight, b.champion()[0].recurrent.weight)
    packed = pack_run(old)  # and packed back into one file, in place
    assert os.path.samefile(packed, old) and not os.path.exists(f"{old}.d")
    with open_run(old) as a:
        assert not a.split and a.n_generations == 3 and a.attrs["format_version"] == schema.PACKED_VERSION


def test_pack_command_joins_a_run_into_one_file_that_opens_and_resumes(tmp_path):
    from spatial_snn.cli import main

    path = _small_run(tmp_path / "run.h5")
    with open_run(path) as run:
        want, champ = run.history, run.champion()
    assert main(["pack", str(path), "--to", str(tmp_path / "one.h5")]) == 0
    assert main(["pack", str(path)]) == 0  # in place
    assert not os.path.exists(f"{path}.d")
    for p in (path, tmp_path / "one.h5"):
        with open_run(p) as run:
            assert not run.split and all(np.array_equal(run.history[k], want[k], equal_nan=True) for k in want)
            assert run.champion()[1]["generation"] == champ[1]["generation"] == 1
    with RunWriter(path, resume=True) as w:
        assert w.next_generation == 3
    with open_run(path) as run:
        assert run.split and run.n_generations == 3 and run.champion()[1]["generation"] == 1


def test_the_index_is_only_a_cache_a_stale_or_damaged_one_changes_nothing(tmp_path):
    early = _small_run(tmp_path / "early.h5", n_gen=1)  # its index describes generation 0 only
    path = _small_run(tmp_path / "whole.h5")
    with open_run(path) as run:
        want = run.history
    shutil.copyfile(f"{early}.d/index.h5", f"{path}.d/index.h5")  # another run's: does not belong here
    _one_error(lambda: open_run(path), f"{path}.d/index.h5", "belongs to another run")
    shutil.copyfile(f"{early}.d/index.h5", f"{path}.d/index.h5")
    with open(f"{path}.d/index.h5", "r+b") as fh:
        fh.seek(100)
        fh.write(os.urandom(300))
    with pytest.warns(ArchiveWarning, match="damaged"), open_run(path) as run:
        assert all(np.array_equal(run.history[k], want[k], equal_nan=True) for k in want)
        assert run.champion()[1]["generation"] == 1
    os.unlink(f"{path}.d/index.h5")
    with open_run(path) as run:
        assert run.n_generations == 3 and run.champion()[1]["generation"] == 1


def test_a_new_run_appears_with_its_run_data_never_without(tmp_path):
    path = tmp_path / "run.h5"
    w = RunWriter(path, config={"a": 1}, seed=1, dim=2)  # run data to come: nothing on disk yet
    w.set_run_data("obs_low", np.zeros(2))
    w.set_run_data("obs_high", np.ones(2))
    assert not os.path.exists(path)  # a kill here leaves no run, not one without its bounds
    with w.run as run:  # the first commit (or a read, or close) publishes the header whole
        assert run.n_generations == 0 and np.array_equal(run.run_data("obs_high"), np.ones(2))
    w.close()
    with RunWriter(tmp_path / "empty.h5", config={}, seed=1, dim=2):
        pass
    with open_run(tmp_path / "empty.h5") as run:  # closed without a generation: an empty run
        assert run.n_generations == 0 and run.run_data_names == []
