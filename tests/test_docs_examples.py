"""Every example in README.md and docs/*.md runs as written (docs/nir.md is checked by tests/test_nir.py).

The ``bash`` and ``python`` blocks are taken from the documents as they are.
A command runs as written in a working folder that holds a copy of
``scenarios/`` and ``genomes/`` (as a fresh clone does), in the order the
document gives, so that ``inspect archive/cartpole-2d-seed0.h5`` reads the
archive the set-up command wrote. Three kinds of command do not run as
written, each listed below with its reason:

* :data:`SHORTENED`: long runs get arguments appended that cut their budget
  (``--generations 2``); everything else about them is as written;
* :data:`NOT_RUN`: commands that need what a test does not have (a Dask
  cluster, a network install, hours of evolution); a ``spatial-snn`` command
  among them is still parsed by the real argument parser, so a renamed flag
  fails here;
* blocks that are not examples (shell sessions of other tools).

The quick tests parse every command and check that every file under
``genomes/`` or ``scenarios/`` an example names exists; the slow tests run
the examples.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spatial_snn.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
#: The documents whose examples are checked (docs/nir.md: tests/test_nir.py and its own owner).
DOCUMENTS = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md") if p.name != "nir.md")]

#: Commands that cannot run in a test, with the reason; ``spatial-snn`` ones are parsed all the same.
NOT_RUN = {
    'pip install -e ".[dev]"': "installs the package (the test runs on the installed one)",
    "python -m pytest -q": "the test suite itself",
    'pip install "spatial-snn[dask]"': "installs from the network",
    "dask scheduler": "starts a Dask scheduler that runs until killed",
    "dask worker tcp://scheduler-host:8786 --nthreads 1 --nworkers 4": "needs a scheduler at scheduler-host",
    "dask worker tcp://scheduler-host:8786 --nthreads 1 --nworkers 16": "needs a scheduler at scheduler-host",
    'export NUMBA_CACHE_DIR="$TMPDIR/numba-cache-$USER"': "sets up a cluster machine's shell",
    "spatial-snn evolve scenarios/hopper.toml --scheduler tcp://host:8786": "needs a Dask scheduler",
    "spatial-snn evolve scenarios/hopper.toml --scheduler tcp://scheduler-host:8786": "needs a Dask scheduler",
    "spatial-snn evolve scenarios/hopper.toml --dim 3 --seed 0 --scheduler tcp://scheduler-host:8786": (
        "needs a Dask scheduler"
    ),
    "spatial-snn resume archive/hopper-3d-seed0.h5 --scheduler tcp://scheduler-host:8786": "needs a Dask scheduler",
    "spatial-snn batch scenarios/hopper.toml --dims 1 2 3 --seeds 0-4 --scheduler tcp://scheduler-host:8786": (
        "needs a Dask scheduler"
    ),
    "spatial-snn resume archive/hopper-2d-seed0.h5 --max-env-steps 24M": (
        "24M environment steps of Hopper: hours (tests/test_resume.py runs --max-env-steps on a tiny run)"
    ),
}
NOT_RUN_PREFIXES = {"export DASK_": "configures a Dask scheduler's shell"}
#: Python blocks that cannot run in a test (by their first line), with the reason.
PYTHON_NOT_RUN = {
    "from spatial_snn import evolve": "evolves Hopper on a Dask scheduler at scheduler-host",
    "from spatial_snn.evo.strategies.common import state_arrays, state_from_arrays": (
        "an outline of the ask/tell loop: x0, generations, rng_for and evaluate stand for the caller's"
    ),
}
#: Documents whose commands are only parsed, with the reason: each is a recipe of a documented result.
PARSED_ONLY = {
    "docs/scenario-provenance.md": "the commands that made documented results: full runs and 15-run batches, "
    "hours each",
    "docs/dimensions.md": "console sessions of the batches behind its tables (hours, folders outside the clone)",
    "docs/plasticity.md": "benchmarks/plasticity_compare.py over 5-10 seeds and three tasks: the comparison behind "
    "its tables (hours; it rewrites a shipped figure)",
    "docs/search.md": "the comparison's batches: 30 evolutions of 5M steps (about 6 CPU hours)",
    "docs/bodies.md": "the runs behind its tables (18 evolutions of 3M steps) and commands with <name> "
    "placeholders for their archives",
}
#: Documents the slow tests below run, in order, as a reader would.
RUN = ("README.md", "docs/archive.md", "docs/cluster.md", "docs/efficiency.md")
#: Long runs: the arguments appended in the test, and nothing else changed.
SHORTENED = {
    "spatial-snn evolve scenarios/hopper.toml --seed 0": "--generations 2 --workers 1",
    "spatial-snn batch scenarios/cartpole.toml --dims 1 2 3 --seeds 0-4": "--generations 1 --workers 1",
    "MUJOCO_GL=egl spatial-snn replay genomes/hopper-2d.h5 --video out/hopper.mp4": "--episodes 2 --max-frames 30",
    "spatial-snn report genomes/hopper-2d.h5 --figures out/": "--episodes 2",
}
#: ``console`` blocks show sessions that made a documented result (hours of runs, folders outside the
#: clone): their ``$ spatial-snn`` lines are parsed, not run.


def blocks(document: str) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block of ``document``."""
    text = (ROOT / document).read_text()
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def commands(code: str) -> list[str]:
    """The commands of a bash block as written: continuation lines joined, ``a && b`` split, comments and
    blank lines dropped."""
    out, current = [], ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current = re.sub(r"(^|\s)#.*$", "", current + line).strip()  # no '#' inside quotes in our docs
        out += [" ".join(part.split()) for part in current.split(" && ") if part.strip()]
        current = ""
    return out


def _reason(command: str) -> str | None:
    return NOT_RUN.get(command) or next(
        (why for prefix, why in NOT_RUN_PREFIXES.items() if command.startswith(prefix)), None
    )


def _extra(command: str) -> str:
    return SHORTENED.get(command, "")


def _cli_words(command: str) -> list[str] | None:
    """The arguments after ``spatial-snn`` (environment assignments before it skipped), else None."""
    words = shlex.split(command, comments=True)
    while words and re.match(r"^[A-Z_]+=", words[0]):
        words = words[1:]
    return words[1:] if words and words[0] == "spatial-snn" else None


def _examples() -> list[tuple[str, str, str]]:
    """``(document, kind, text)`` for every bash command and python block."""
    out = []
    for doc in DOCUMENTS:
        for lang, code in blocks(doc):
            if lang == "bash":
                out += [(doc, "bash", c) for c in commands(code)]
            elif lang == "python":
                out.append((doc, "python", code))
            elif lang == "console":
                session = "\n".join(
                    line[2:] if line.startswith("$ ") else line
                    for line in code.splitlines()
                    if line.startswith(("$ ", " "))
                )
                out += [(doc, "console", c) for c in commands(session)]
    return out


# ------------------------------------------------------------------ quick checks
def test_every_spatial_snn_command_in_the_docs_parses():
    parser = build_parser()
    seen = 0
    for _, kind, text in _examples():
        words = _cli_words(text) if kind in ("bash", "console") else None
        if words is not None and not re.search(r"<[^>]*>", text):  # a <placeholder> is the reader's to fill
            parser.parse_args(words + shlex.split(_extra(text)))  # SystemExit (status 2) on a wrong flag
            seen += 1
    assert seen >= 15


def test_the_lists_of_commands_not_run_as_written_name_commands_the_docs_still_show():
    shown = {text for _, kind, text in _examples() if kind == "bash"}
    for key in (*NOT_RUN, *SHORTENED):
        assert key in shown, f"stale entry: {key!r} is in no document"
    firsts = {text.strip().splitlines()[0] for _, kind, text in _examples() if kind == "python"}
    assert set(PYTHON_NOT_RUN) <= firsts


def test_every_document_with_examples_is_run_or_says_why_not():
    runnable = {
        doc
        for doc, kind, text in _examples()
        if not (kind == "python" and text.strip().splitlines()[0] in PYTHON_NOT_RUN)
    }
    assert runnable <= set(RUN) | set(PARSED_ONLY), sorted(runnable - set(RUN) - set(PARSED_ONLY))
    for doc in PARSED_ONLY:  # nothing there would run anyway: its python blocks are listed too
        assert all(code.strip().splitlines()[0] in PYTHON_NOT_RUN for lang, code in blocks(doc) if lang == "python")


def test_every_shipped_file_an_example_names_exists():
    named = set()
    for _, _, text in _examples():
        named |= set(re.findall(r"\b((?:genomes|scenarios)/[\w./-]+\.(?:h5|toml|nir))\b", text))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"examples name files a clone does not have: {missing}"


# ------------------------------------------------------------------ running them
@pytest.fixture
def clone(tmp_path):
    """A working folder as a fresh clone has it: scenarios/ and genomes/, an empty archive/."""
    for name in ("scenarios", "genomes"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "archive").mkdir()
    return tmp_path


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"),
    }
    script = f'spatial-snn() {{ "{sys.executable}" -m spatial_snn.cli "$@"; }}\nset -e\n{command}\n'
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)


def _run_document(doc: str, cwd: Path, before: tuple[str, ...] = ()) -> list[str]:
    """Run every example of ``doc`` in order (``before``: commands a reader ran first); return what ran."""
    ran = []
    for command in before:
        done = _shell(command, cwd)
        assert done.returncode == 0, (command, done.stderr)
    for lang, code in blocks(doc):
        if lang == "bash":
            for command in commands(code):
                if _reason(command) is not None:
                    continue
                line = f"{command} {_extra(command)}".strip()
                done = _shell(line, cwd)
                assert done.returncode == 0, (doc, line, done.stdout[-2000:], done.stderr[-2000:])
                assert "Traceback" not in done.stderr, (line, done.stderr)
                ran.append(line)
        elif lang == "python" and code.strip().splitlines()[0] not in PYTHON_NOT_RUN:
            script = cwd / "example.py"
            script.write_text(code)
            done = _shell(f'"{sys.executable}" example.py', cwd)
            assert done.returncode == 0, (doc, code, done.stderr[-3000:])
            ran.append(code)
    return ran


@pytest.mark.slow
def test_readme_examples_run_as_written(clone):
    ran = _run_document("README.md", clone)
    assert any(r.startswith("spatial-snn evolve scenarios/cartpole.toml") for r in ran)
    assert (clone / "archive" / "cartpole-2d-seed0.h5").exists() and (clone / "out").is_dir()
    assert len(ran) >= 13  # 12 commands and the python block


@pytest.mark.slow
def test_archive_doc_example_runs_on_a_short_hopper_run(clone):
    assert _run_document(
        "docs/archive.md",
        clone,
        before=("spatial-snn evolve scenarios/hopper.toml --seed 0 --generations 2 --workers 1",),
    )


@pytest.mark.slow
def test_cluster_doc_local_cluster_example_runs(clone):
    pytest.importorskip("distributed")
    assert _run_document("docs/cluster.md", clone)


@pytest.mark.slow
def test_efficiency_doc_example_runs_on_the_run_it_describes(clone):
    assert _run_document(
        "docs/efficiency.md",
        clone,
        before=("spatial-snn evolve scenarios/variants/cartpole-efficiency.toml --workers 1",),
    )


def test_the_front_door_docstrings_say_what_comes_back():
    import spatial_snn as snn

    evolve_doc = snn.evolve.__doc__
    assert "Returns\n    -------\n    Result" in evolve_doc
    for key in (
        "generation",
        "best",
        "mean",
        "test",
        "env_steps",
        "wall_time",
        "cpu_time",
        "invalid_obs",
        "stopped",
        "cap",
        "best_index",
    ):
        assert f"``{key}``" in evolve_doc, key
    run_doc = snn.open_run.__doc__
    for offer in (
        "run.config",
        "run.history",
        "run.champion()",
        "run.population(g)",
        "run.generation(g)",
        "run.run_data(name)",
    ):
        assert offer in run_doc, offer
    assert "generations_run" in snn.resume.__doc__
