"""Bad command-line and scenario values: one line, exit status 2, no file made (issue 17).

The CLI runs in this process (``main([...])``); each case runs in an empty
working directory, so any file it made (an archive under ``archive/``, or one a
hostile scenario name would put outside it) shows up.
"""

from __future__ import annotations

import importlib.util
import math
import signal
from pathlib import Path

import pytest

from spatial_snn.cli import main
from spatial_snn.runs.arguments import SEED_MAX
from spatial_snn.runs.interrupts import Terminated, held_interrupts, terminate_like_interrupt
from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenario_checks import check_run_args
from spatial_snn.runs.scenarios import LIMITS, Scenario, scenario_from_dict

TINY = {
    "network.substeps": "2",
    "evolution.population": "4",
    "evolution.generations": "1",
    "protocol.episodes": "1",
    "protocol.test_every": "1",
    "protocol.test_episodes": "2",
}


def _toml(**changes) -> str:
    """TINY with ``changes`` (dotted key -> TOML value) as top-level dotted keys."""
    values = {**TINY, **changes}
    return "".join(f"{key} = {value}\n" for key, value in values.items())


def _scenario(tmp_path: Path, text: str, name: str = "sc") -> Path:
    """A scenario file outside the working directory (which must stay empty)."""
    path = tmp_path / "in" / f"{name}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def _run_cli(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own exit
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory; returns a function listing every file made in it."""
    work = tmp_path / "work" / "a" / "b"  # deep enough that '../../x' stays inside tmp_path
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return lambda: sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and "in" not in p.relative_to(tmp_path).parts[:1]
    )


def _assert_one_line(code, out, err, *words):
    assert code == 2, (code, err)
    assert out == ""
    assert err.startswith("spatial-snn: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


ARG_CASES = {
    "negative seed": (["--seed", "-1"], ["--seed", "0..4294967295"]),
    "seed beyond 64 bits": (["--seed", str(2**70)], ["--seed", str(2**70)]),
    "zero generations": (["--generations", "0"], ["--generations", ">= 1"]),
    "negative generations": (["--generations", "-5"], ["--generations", "-5"]),
    "zero workers": (["--workers", "0"], ["--workers", ">= 1"]),
    "negative workers": (["--workers", "-3"], ["--workers", "-3"]),
    "generations beyond the bound": (["--generations", "1000000"], ["generations", "100,000", "allow_large"]),
    "unknown dimension": (["--dim", "4"], ["--dim"]),
}


@pytest.mark.parametrize("case", list(ARG_CASES))
def test_bad_evolve_argument_is_one_line_and_makes_no_file(case, tmp_path, workdir, capsys):
    extra, words = ARG_CASES[case]
    sc = _scenario(tmp_path, _toml())
    _assert_one_line(*_run_cli(["evolve", sc, "--workers", "1", *extra], capsys), *words)
    assert workdir() == []


SCENARIO_CASES = {
    "env kwarg the env rejects": ({"env.kwargs": "{bogus = 1}"}, ["bogus", "fix"]),
    "unknown env id": ({"env.id": '"CartPoel-v1"'}, ["CartPoel-v1", "CartPole-v1"]),
    "huge n_hidden": ({"network.n_hidden": "1000000000"}, ["network.n_hidden", "100,000", "allow_large"]),
    "float n_hidden": ({"network.n_hidden": "1e9"}, ["network.n_hidden", "int"]),
    "target -inf": ({"protocol.target": "-inf"}, ["protocol.target", "finite"]),
    "target nan": ({"protocol.target": "nan"}, ["protocol.target", "finite"]),
    "population 1e20": ({"evolution.population": str(10**20)}, ["evolution.population", "10,000", "allow_large"]),
    "episodes 1e6": ({"protocol.episodes": "1000000"}, ["protocol.episodes", "1,000", "allow_large"]),
    "name leaving archive/": ({"name": '"../../x"'}, ["name", "../../x", "letters"]),
    "absolute name": ({"name": '"/x"'}, ["name", "/x"]),
    "curriculum growth nan": ({"protocol.curriculum_growth": "nan"}, ["curriculum_growth"]),
}


@pytest.mark.parametrize("case", list(SCENARIO_CASES))
def test_bad_scenario_value_is_one_line_and_makes_no_file(case, tmp_path, workdir, capsys):
    changes, words = SCENARIO_CASES[case]
    sc = _scenario(tmp_path, _toml(**changes))
    _assert_one_line(*_run_cli(["evolve", sc, "--workers", "1"], capsys), *words)
    assert workdir() == []


@pytest.mark.skipif(importlib.util.find_spec("Box2D") is not None, reason="Box2D is installed here")
def test_env_with_a_missing_dependency_names_the_package(tmp_path, workdir, capsys):
    sc = _scenario(tmp_path, _toml(**{"env.id": '"LunarLander-v3"'}))
    _assert_one_line(*_run_cli(["evolve", sc, "--workers", "1"], capsys), "LunarLander-v3", "gymnasium[box2d]")
    assert workdir() == []


@pytest.mark.parametrize(
    "argv, words",
    [
        (["replay", "x.h5", "--episodes", "0"], ["--episodes", ">= 1"]),
        (["replay", "x.h5", "--episodes", "100001"], ["--episodes", "10,000", "--seed"]),
        (["replay", "x.h5", "--seed", "-2"], ["--seed"]),
        (["batch", "sc.toml", "--seeds", "-1"], ["--seeds"]),
        (["batch", "sc.toml", "--seeds", f"0-{2**40}"], ["--seeds", "10,000"]),
        (["resume", "x.h5", "--workers", "0"], ["--workers"]),
    ],
)
def test_bad_arguments_of_other_commands_are_one_line(argv, words, workdir, capsys):
    _assert_one_line(*_run_cli(argv, capsys), *words)
    assert workdir() == []


def test_a_batch_with_a_bad_env_fails_before_any_run(tmp_path, workdir, capsys):
    sc = _scenario(tmp_path, _toml(**{"env.kwargs": "{bogus = 1}"}))
    _assert_one_line(*_run_cli(["batch", sc, "--dims", "1", "--workers", "1"], capsys), "bogus")
    assert workdir() == []


def test_nan_observations_at_run_time_end_their_episodes_with_one_warning(tmp_path, workdir, capsys):
    sc = _scenario(tmp_path, _toml(**{"env.id": '"envs_for_tests:NaNAfter-v0"'}))
    code, out, err = _run_cli(["evolve", sc, "--workers", "1"], capsys)
    assert code == 0, err
    assert err.count("\n") == 1 and err.startswith("spatial-snn: warning: ") and "non-finite" in err, err
    assert "champion test score" in out
    header = "work/a/b/archive/sc-2d-seed0.h5"  # and its generation files beside it, nothing else
    assert header in workdir() and all(f == header or f.startswith(header + ".d/") for f in workdir())


# ------------------------------------------------------------ Python API
def test_the_python_api_raises_value_error_before_making_a_file(tmp_path):
    sc = scenario_from_dict({**_tiny_dict(), "name": "api"})
    out = tmp_path / "api.h5"
    for kwargs in (
        {"seed": -1},
        {"seed": SEED_MAX + 1},
        {"generations": 0},
        {"generations": -5},
        {"workers": 0},
        {"workers": -3},
        {"dim": 4},
        {"seed": True},
    ):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            evolve(sc, archive=out, **kwargs)
        assert not out.exists()
    rejected = scenario_from_dict({**_tiny_dict(), "env": {"kwargs": {"bogus": 1}}})
    with pytest.raises(ValueError, match="bogus"):
        evolve(rejected, archive=out, workers=1)
    assert not out.exists()


def test_replay_of_no_episodes_raises_value_error(tmp_path):
    from spatial_snn.analysis.replay import replay

    for episodes in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="episodes"):
            replay(tmp_path / "missing.h5", episodes=episodes)


def test_scenario_values_raise_value_error():
    for bad in (
        {"name": "../../x"},
        {"name": ""},
        {"name": "a/b"},
        {"protocol": {"target": math.nan}},
        {"protocol": {"target": -math.inf}},
        {"network": {"n_hidden": LIMITS["network.n_hidden"] + 1}},
        {"evolution": {"population": 10**20}},
        {"protocol": {"test_episodes": 10**6}},
        {"env": {"max_episode_steps": 10**9}},
    ):
        with pytest.raises(ValueError):
            scenario_from_dict(bad)
    with pytest.raises(ValueError, match="name"):
        Scenario(name="../escape")


def test_allow_large_lifts_every_bound():
    big = {
        "network": {"n_hidden": 2 * LIMITS["network.n_hidden"]},
        "evolution": {"population": 2 * LIMITS["evolution.population"]},
    }
    with pytest.raises(ValueError, match="allow_large"):
        scenario_from_dict(big)
    sc = scenario_from_dict({**big, "allow_large": True})
    assert sc.network.n_hidden == 2 * LIMITS["network.n_hidden"]
    limit = LIMITS["evolution.generations"]
    with pytest.raises(ValueError, match="allow_large"):
        check_run_args(scenario_from_dict({}), 2, 0, limit + 1)
    assert check_run_args(sc, 2, 0, limit + 1) == limit + 1
    assert check_run_args(scenario_from_dict({}), 2, 0, None) == scenario_from_dict({}).evolution.generations


def test_a_ctrl_c_during_an_archive_write_is_raised_after_it():
    # Python's own handler, as in a terminal: a parent (e.g. GNU time, or a shell's background job)
    # may start this process with SIGINT ignored, and Python then installs none
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        finished = []
        with pytest.raises(KeyboardInterrupt):
            with held_interrupts():
                signal.raise_signal(signal.SIGINT)
                finished.append(True)  # the write goes on to its end
        assert finished == [True]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)


def test_a_sigterm_during_an_archive_write_is_raised_after_it_as_terminated():
    before = signal.getsignal(signal.SIGTERM)
    finished = []
    with pytest.raises(Terminated):
        with terminate_like_interrupt():
            with held_interrupts():
                signal.raise_signal(signal.SIGTERM)
                finished.append(True)  # the write goes on to its end
    assert finished == [True]
    assert signal.getsignal(signal.SIGTERM) == before  # the caller's handler is back


def _tiny_dict() -> dict:
    return {
        "network": {"substeps": 2},
        "evolution": {"population": 4, "generations": 1},
        "protocol": {"episodes": 1, "test_every": 1, "test_episodes": 2},
    }
