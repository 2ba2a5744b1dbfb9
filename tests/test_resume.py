"""Archived runs: killed at random points and resumed, they reproduce an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from spatial_snn.analysis.inspect import summary
from spatial_snn.runs.runner import evolve, resume
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.store import schema
from spatial_snn.store.run_reader import open_run

KEYS = ("generation", "best", "mean", "test", "env_steps", "invalid_obs")


@pytest.fixture
def tiny(tiny_scenario):
    """Six generations, a test every second one: room to cut a run and resume it."""
    return tiny_scenario(evolution={"generations": 6}, protocol={"test_every": 2, "test_episodes": 4})


def _compare(a: dict, b: dict):
    for k in KEYS:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize(("generations", "cut"), [(3, 1), pytest.param(6, 2, marks=pytest.mark.slow)])
def test_resumed_run_equals_uninterrupted_run(tmp_path, tiny, generations, cut):
    sc = scenario_from_dict({**tiny, "evolution": {**tiny["evolution"], "generations": generations}})
    whole = evolve(sc, seed=5, workers=1, archive=tmp_path / "whole.h5")
    evolve(sc, seed=5, workers=1, generations=cut, archive=tmp_path / "cut.h5")
    resumed = evolve(sc, seed=5, workers=1, archive=tmp_path / "cut.h5", resume=True)
    _compare(whole.history, resumed.history)
    with open_run(tmp_path / "whole.h5") as a, open_run(tmp_path / "cut.h5") as b:
        _compare(a.history, b.history)
        assert a.n_generations == b.n_generations == generations
        last_a, last_b = a.generation(generations - 1), b.generation(generations - 1)
        np.testing.assert_array_equal(last_a["fitness"], last_b["fitness"])
        ga, gb = a.champion()[0], b.champion()[0]
        assert np.array_equal(ga.recurrent.weight, gb.recurrent.weight)


def test_resume_continues_an_archive_with_its_stored_scenario_dim_and_seed(tmp_path, tiny):
    sc = scenario_from_dict(tiny)
    whole = evolve(sc, dim=1, seed=5, workers=1)
    evolve(sc, dim=1, seed=5, workers=1, generations=2, archive=tmp_path / "cut.h5")
    assert len(resume(tmp_path / "cut.h5", workers=1).history["best"]) == 2  # the stored count: done
    resumed = resume(tmp_path / "cut.h5", workers=1, generations=6)
    assert (resumed.dim, resumed.seed, resumed.scenario) == (1, 5, sc)
    _compare(whole.history, resumed.history)
    with open_run(tmp_path / "cut.h5") as run:
        assert run.n_generations == 6


def test_existing_archive_is_not_overwritten(tmp_path, tiny):
    sc = scenario_from_dict({**tiny, "evolution": {"population": 10, "generations": 1}})
    path = tmp_path / "run.h5"
    evolve(sc, seed=0, workers=1, archive=path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        evolve(sc, seed=0, workers=1, archive=path)
    assert path.read_bytes() == before


_CHILD = r"""
import json, sys
from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import scenario_from_dict
if __name__ == "__main__":
    sc = scenario_from_dict(json.loads(sys.argv[1]))
    evolve(sc, seed=5, workers=1, archive=sys.argv[2], resume=True,
           callback=lambda row: print("done", row["generation"], flush=True))
    print("finished", flush=True)
"""


@pytest.mark.slow
def test_run_killed_at_random_points_resumes_to_the_same_history(tmp_path, tiny):
    sc = scenario_from_dict(tiny)
    reference = evolve(sc, seed=5, workers=1)
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    path = tmp_path / "killed.h5"
    rng = np.random.default_rng(0)
    kills = 0
    for _ in range(10):
        proc = subprocess.Popen(
            [sys.executable, str(script), json.dumps(tiny), str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for = int(rng.integers(0, 3))  # kill after this many more generations are reported
        seen, finished = 0, False
        for line in proc.stdout:
            if line.startswith("finished"):
                finished = True
                break
            seen += 1
            if seen > wait_for:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
        proc.stdout.close()
        proc.wait()
        if finished:
            break
        with open_run(path) as run:  # every killed file opens
            assert run.n_generations >= 1
    assert kills >= 2
    with open_run(path) as run:
        assert run.n_generations == 6
        _compare(reference.history, run.history)


def test_resuming_a_run_that_reached_its_target_evolves_nothing(tmp_path, tiny):
    sc = scenario_from_dict({**tiny, "protocol": {**tiny["protocol"], "target": 1.0}})
    path = tmp_path / "done.h5"
    first = evolve(sc, seed=0, workers=1, archive=path)
    assert len(first.history["best"]) == 1
    again = evolve(sc, seed=0, workers=1, archive=path, resume=True)
    assert len(again.history["best"]) == 1
    assert again.test_score == first.test_score
    with open_run(path) as run:
        assert run.n_generations == 1


def test_a_run_stopped_by_its_step_budget_resumes_with_a_larger_one(tmp_path, tiny):
    from spatial_snn.cli import main

    whole = evolve(scenario_from_dict(tiny), seed=3, workers=1, archive=tmp_path / "whole.h5")
    steps = [int(x) for x in whole.history["env_steps"]]
    sc = scenario_from_dict({**tiny, "protocol": {**tiny["protocol"], "max_env_steps": steps[1]}})
    path = tmp_path / "cut.h5"
    evolve(sc, seed=3, workers=1, archive=path)
    with open_run(path) as run:
        assert run.n_generations == 2  # the budget stopped it
        config = run.config
    assert list(resume(path, workers=1).history["env_steps"]) == steps[:2]  # the stored budget: nothing more
    with open_run(path) as run:
        assert not any(name.startswith("extension_") for name in run.run_data_names)
    assert main(["resume", str(path), "--workers", "1", "--max-env-steps", str(steps[3])]) == 0
    with open_run(path) as run:
        assert run.n_generations == 4 and run.config == config  # the archive keeps its scenario
        _compare({k: v[:4] for k, v in whole.history.items()}, run.history)
        assert run.run_data("extension_0").tolist() == [2, 6, steps[3]]  # ... and says what it went on with
        assert f"from generation 2: 6 generations, {steps[3]:,} env steps" in summary(run)
    resume(path, generations=5, max_env_steps=steps[5], workers=1)
    with open_run(path) as run:
        assert run.n_generations == 5 and run.run_data("extension_1").tolist() == [4, 5, steps[5]]
        assert all(schema.is_run_data_name(name) for name in run.run_data_names)  # declared names only
    with pytest.raises(ValueError, match="max_env_steps: expected an integer >= 1"):
        resume(path, max_env_steps=0, workers=1)
    with open_run(path) as run:
        assert run.n_generations == 5 and "extension_2" not in run.run_data_names


def _as_written_before_identities(path):
    """Remove the run identity from an archive's header and parts, as a version before identities wrote it."""
    import h5py

    from spatial_snn.store import schema

    for name in os.listdir(f"{path}.d"):
        if name.endswith(".h5"):
            with h5py.File(f"{path}.d/{name}", "r+") as f:
                for key in (schema.RUN_ID, schema.RUN_DIGEST, schema.PREVIOUS):
                    f.attrs.pop(key, None)
    with h5py.File(path, "r+") as f:
        for key in (schema.RUN_ID, schema.RUN_DIGEST, schema.IDENTITY_FROM):
            f.attrs.pop(key, None)


def _as_written_before_io_degree(path):
    """Rewrite an archive's stored scenario as a version without ``network.io_degree`` wrote it."""
    import h5py

    from spatial_snn.store.h5io import get_json, set_json

    _as_written_before_identities(path)  # that version wrote no run identity either
    with h5py.File(path, "r+") as f:
        config = get_json(f, "config")
        network = config["scenario"]["network"]
        del network["io_degree"]
        if network["preset"] == "spatial":
            network["io_length"] = None  # then the preset's fixed 1.0
        set_json(f, "config", config)
        return config


@pytest.mark.parametrize("preset", ["reference", "spatial"])
def test_a_run_written_before_io_degree_resumes_with_its_own_io_law(tmp_path, preset, tiny):
    from spatial_snn.cli import main

    # the io law of then: io at distance 1 (reference), a fixed io length 1.0 (spatial)
    network = {**tiny["network"], "preset": preset, **({"io_length": 1.0} if preset == "spatial" else {})}
    path = tmp_path / "old.h5"
    evolve(scenario_from_dict({**tiny, "network": network}), seed=1, workers=1, generations=1, archive=path)
    stored = _as_written_before_io_degree(path)
    assert main(["resume", str(path), "--workers", "1", "--generations", "2"]) == 0
    with open_run(path) as run:
        assert run.n_generations == 2 and run.config == stored  # the stored scenario is kept as written
        assert run.identity is not None and run.identity_from == 1  # given an identity from the resume on
        io_lengths = {g.rule.io_length for k in range(2) for g in run.population(k)}
    assert io_lengths == ({1.0} if preset == "spatial" else {0.5})  # new genomes drawn with the old law


def test_a_run_written_before_keys_moved_resumes_to_the_same_history(tmp_path, tiny):
    """``[mutation] adapt_tau``, ``adapt_min`` and ``[evolution] init_genome`` as an older version stored them."""
    import h5py

    from spatial_snn.store.h5io import get_json, set_json

    sc = scenario_from_dict(
        {
            **tiny,
            "evolution": {**tiny["evolution"], "population": 10, "generations": 3, "adapt_tau": 0.7, "adapt_min": 0.05},
        }
    )
    whole = evolve(sc, seed=2, workers=1, archive=tmp_path / "whole.h5")
    path = tmp_path / "old.h5"
    evolve(sc, seed=2, workers=1, generations=2, archive=path)
    with h5py.File(path, "r+") as f:
        config = get_json(f, "config")
        scenario = config["scenario"]
        scenario["mutation"] |= {k: scenario["evolution"].pop(k) for k in ("adapt_tau", "adapt_min")}
        scenario["evolution"]["init_genome"] = scenario.pop("start")["genome"]
        set_json(f, "config", config)
    _as_written_before_identities(path)  # nor run identities
    resumed = resume(path, generations=3, workers=1)
    for key in ("best", "mean", "test", "env_steps"):
        np.testing.assert_array_equal(whole.history[key], resumed.history[key], err_msg=key)
    with open_run(path) as run:
        assert run.config == config  # the stored scenario is kept as written


def test_resuming_a_finished_run_says_so_in_one_line_and_records_nothing(tmp_path, tiny, capsys):
    from spatial_snn.cli import main

    path = tmp_path / "done.h5"
    evolve(scenario_from_dict(tiny), seed=3, workers=1, generations=2, archive=path)
    with open_run(path) as run:
        names, history = set(run.run_data_names), run.history
    capsys.readouterr()
    for extra in ([], ["--max-env-steps", "24M"], ["--generations", "1"]):
        assert main(["resume", str(path), "--workers", "1", *extra]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out == [
            f"nothing to resume: {path} is finished (generation count reached, 2 generations); "
            "extend it with --generations N"
        ], extra
    res = resume(path, max_env_steps=24_000_000, workers=1)
    assert (res.generations_run, res.stop_reason) == (0, "generation count reached")
    with open_run(path) as run:
        assert set(run.run_data_names) == names  # no extension entry
        _compare(history, run.history)
    assert main(["resume", str(path), "--workers", "1", "--generations", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"resuming {path} at generation 2 of 3 (tiny, 2D, seed 3)"
    with open_run(path) as run:
        text = summary(run)
        assert "3 complete of 3" in text and "stopped      generation count reached" in text


def test_inspect_says_why_a_run_ended(tmp_path, tiny):
    def stopped(path):
        with open_run(path) as run:
            return next(line for line in summary(run).splitlines() if line.startswith("stopped")).split("  ")[-1]

    sc = scenario_from_dict(tiny)
    evolve(sc, seed=3, workers=1, generations=2, archive=tmp_path / "gens.h5")
    assert stopped(tmp_path / "gens.h5") == "generation count reached"
    target = scenario_from_dict({**tiny, "protocol": {**tiny["protocol"], "target": 1.0}})
    evolve(target, seed=0, workers=1, archive=tmp_path / "target.h5")
    assert stopped(tmp_path / "target.h5") == "target reached"
    steps = int(evolve(sc, seed=3, workers=1, generations=2).history["env_steps"][0])
    budget = scenario_from_dict({**tiny, "protocol": {**tiny["protocol"], "max_env_steps": steps}})
    res = evolve(budget, seed=3, workers=1, archive=tmp_path / "budget.h5")
    assert res.stop_reason == "step budget spent" and res.generations_run == 1
    assert stopped(tmp_path / "budget.h5") == "step budget spent"
    calls = []

    def interrupt(row):
        calls.append(row)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evolve(sc, seed=3, workers=1, archive=tmp_path / "cut.h5", callback=interrupt)
    assert stopped(tmp_path / "cut.h5") == "not finished: interrupted, or still running"
    assert [row["stopped"] for row in calls] == [0, 0]
