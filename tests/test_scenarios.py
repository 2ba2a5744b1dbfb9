"""Scenario files: every shipped one loads, bad ones fail with a message that says what was expected."""

import dataclasses
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spatial_snn.runs.equal_footing import calibrated, network_footing
from spatial_snn.runs.scenario_checks import rule_for
from spatial_snn.runs.scenarios import load_scenario, scenario_from_dict
from spatial_snn.runs.setup import check_scenario
from spatial_snn.space.calibration import mean_fan_out

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
RECIPES = ROOT / "genomes" / "recipes"
TASKS = {
    "cartpole": "CartPole-v1",
    "pendulum": "Pendulum-v1",
    "inverted-pendulum": "InvertedPendulum-v5",
    "inverted-double-pendulum": "InvertedDoublePendulum-v5",
    "swimmer": "Swimmer-v5",
    "hopper": "Hopper-v5",
    "halfcheetah": "HalfCheetah-v5",
    "walker2d": "Walker2d-v5",
    "ant": "Ant-v5",
}
#: Tasks of ours with variants only (no default at the top of scenarios/).
VARIANT_TASKS = {"cue-delay": "SpatialSNN/CueDelay-v0"}
#: Tasks of our own (no published method, so no published preset): stem -> id.
OUR_TASKS = {"hexapod": "spatial_snn/Hexapod-v0"}
SOLVED = {"CartPole-v1": 475.0, "InvertedPendulum-v5": 950.0, "InvertedDoublePendulum-v5": 9100.0}
#: Our defaults at the top of scenarios/, the published presets and variants in its subfolders, and the
#: recipes of shipped genomes beside them.
SHIPPED = sorted(
    [
        *SCENARIOS.glob("*.toml"),
        *SCENARIOS.glob("published/*.toml"),
        *SCENARIOS.glob("variants/*.toml"),
        *RECIPES.glob("*.toml"),
    ]
)


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


def test_every_task_ships_our_defaults_and_the_published_settings():
    for stem in TASKS:
        assert (SCENARIOS / f"{stem}.toml").is_file()
        assert (SCENARIOS / "published" / f"{stem}-reference.toml").is_file()
    assert {p.parent.name for p in SCENARIOS.rglob("*.toml")} == {"scenarios", "published", "variants"}
    # the top holds our defaults only
    assert sorted(p.stem for p in SCENARIOS.glob("*.toml")) == sorted([*TASKS, *OUR_TASKS])


def test_the_menu_names_every_shipped_scenario_and_each_file_is_settings_with_a_short_header():
    menu = (SCENARIOS / "README.md").read_text()
    for path in SHIPPED:
        rel = (
            path.relative_to(SCENARIOS).as_posix()
            if path.is_relative_to(SCENARIOS)
            else path.relative_to(ROOT).as_posix()
        )
        named = f"`{rel}`" in menu or (path.stem.endswith("-spatial") and "`variants/<task>-spatial.toml`" in menu)
        assert named, f"scenarios/README.md does not list {rel}"
        lines = path.read_text().splitlines()
        comments = [line for line in lines if line.lstrip().startswith("#")]
        assert len(comments) <= 4 and lines[len(comments)] == "", f"{rel}: a short header, then settings"
    provenance = (ROOT / "docs" / "scenario-provenance.md").read_text()
    assert all(f"`{p.relative_to(ROOT).as_posix()}`" in provenance for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_loads_and_starts_with_a_comment(path):
    sc = load_scenario(path)
    assert sc.name == path.stem
    task = path.stem
    for variant in (
        "-ec-spatial",
        "-ec-uniform",
        "-qd-gait",
        "-qd-layout",
        "-open-es",
        "-pgpe",
        "-sep-cma-es",
        "-ars",
        "-ga-then-es",
        "-stp",
        "-pomdp",
        "-reference",
        "-equal-degree",
        "-efficiency",
        "-spatial",
        "-refine",
        "-4m",
        "-adapt",
        "-floor",
        "-rhythm-alone",
        "-rhythm",
    ):
        task = task.removesuffix(variant)
    assert sc.env.id == {**TASKS, **VARIANT_TASKS, **OUR_TASKS}[task]
    assert sc.network.plasticity == path.stem.endswith("-stp")
    assert bool(sc.env.hide_obs) == ("-pomdp" in path.stem)
    assert path.read_text().startswith("# ")


def test_refine_scenarios_start_from_a_shipped_genome_with_the_same_codec():
    from spatial_snn.runs.setup import resolve
    from spatial_snn.runs.start import fit_start, load_start

    root = SCENARIOS.parent
    starts = [p for p in SHIPPED if load_scenario(p).start.genome is not None]
    assert sorted(p.stem for p in starts) == sorted(p.stem for p in RECIPES.glob("*.toml") if p.stem != "hopper-4m")
    for path in starts:
        sc = load_scenario(path)
        assert sc.start.genome.startswith("genomes/"), path
        start = load_start(
            dataclasses.replace(sc, start=dataclasses.replace(sc.start, genome=str(root / sc.start.genome)))
        )
        fit_start(start, resolve(sc, start.genome.dim, 0, check=False))  # raises if the codec differs


@pytest.mark.parametrize("stem", TASKS)
def test_reference_scenarios_have_the_published_settings(stem):
    sc = load_scenario(SCENARIOS / "published" / f"{stem}-reference.toml")
    assert sc.network.preset == "reference" and sc.network.n_hidden == 64
    assert sc.network.substeps == (4 if stem == "cartpole" else 64)
    assert (sc.evolution.population, sc.evolution.generations, sc.evolution.n_elite) == (100, 1000, 10)
    p = sc.protocol
    assert (p.episodes, p.fixed_seeds, p.curriculum) == (3, True, True)
    assert (p.curriculum_start, p.curriculum_growth) == (10, 1.1)
    assert (p.test_every, p.test_episodes, p.target) == (10, 100, None)
    assert sc.decoder.kind == "auto" and sc.decoder.divisor == 32 and sc.encoder.kind == "reference"


@pytest.mark.parametrize("stem", TASKS)
def test_our_scenarios_draw_fresh_seeds_and_stop_at_the_solved_threshold(stem):
    sc = load_scenario(SCENARIOS / f"{stem}.toml")
    assert not sc.protocol.fixed_seeds
    assert sc.protocol.target == SOLVED.get(sc.env.id, sc.protocol.target)
    assert sc.decoder.kind == ("argmax" if stem == "cartpole" else "sigmoid")
    ref = load_scenario(SCENARIOS / "published" / f"{stem}-reference.toml")
    assert sc.network.substeps <= ref.network.substeps and sc.evolution.population < ref.evolution.population


def test_equal_degree_scenario_calibrates_every_dimension_to_the_same_mean_degree():
    sc = load_scenario(SCENARIOS / "variants" / "cartpole-equal-degree.toml")
    footing = network_footing(sc, (1, 2, 3), 4, 2)
    assert calibrated(sc)
    for dim in (1, 2, 3):
        assert footing[dim]["init_degree"] == pytest.approx(1.0, rel=0.1)
    base = load_scenario(SCENARIOS / "cartpole.toml")
    assert sc.replace(name=base.name, network=replace(sc.network, mean_degree=None)) == base  # only mean_degree


def test_network_io_degree_calibrates_the_input_fan_out_of_the_spatial_preset():
    sc = scenario_from_dict({"network": {"preset": "spatial", "io_degree": 5.0}})
    assert calibrated(sc)
    for dim in (1, 2, 3):
        spec = sc.network.spec(dim)
        assert spec.io_degree == 5.0 and spec.rule.io_distance is None
        rule = rule_for(sc, dim, n_inputs=4)
        places = [spec.place(np.random.default_rng([3, i])) for i in range(256)]
        # uniform placements: one placement's fan-out varies ~30 %, the mean of 256 ~2 %
        assert mean_fan_out(spec.face_positions(4, outputs=False), places, rule) == pytest.approx(5.0, rel=0.05)
    # default: the reference fan-out n_hidden exp(-2); an explicit io_length turns calibration off
    assert scenario_from_dict({"network": {"preset": "spatial"}}).network.spec(2).io_degree == pytest.approx(
        64 * math.exp(-2)
    )
    fixed = scenario_from_dict({"network": {"preset": "spatial", "io_length": 2.0}}).network.spec(2)
    assert fixed.io_degree is None and fixed.resolved_rule().io_length == 2.0
    assert scenario_from_dict({}).network.spec(2).io_degree is None  # reference: io at distance 1


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_check_scenario_accepts_the_spatial_preset(dim, monkeypatch):
    import spatial_snn.runs.setup as setup

    steps = []  # the one env step goes through a genome of the spatial preset in this dimension
    network = setup.Network
    monkeypatch.setattr(setup, "Network", lambda genomes, *a, **k: steps.append(genomes) or network(genomes, *a, **k))
    sc = scenario_from_dict({"network": {"preset": "spatial", "substeps": 4}})
    _assert_task_follows(check_scenario(sc, dim=dim), sc)
    ((genome,),) = steps
    assert genome.dim == dim and genome.rule.io_distance is None  # spatial: io at real positions


def test_cartpole_default_is_sized_for_a_minute_on_two_cores():
    sc = load_scenario(SCENARIOS / "cartpole.toml")
    assert sc.evolution.population == 50 and sc.evolution.generations <= 60
    assert sc.protocol.target == 475 and sc.protocol.test_every == 5 and sc.protocol.test_episodes == 100


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[evolution]\npopulaton = 50\n", "evolution.populaton: unknown key; did you mean 'population'?"),
        ("[protocol]\ntest_evry = 5\n", "did you mean 'test_every'?"),
        ("[evolutoin]\npopulation = 50\n", "scenario.evolutoin: unknown key; did you mean 'evolution'?"),
        ("[network]\nsubstep = 8\n", "did you mean 'substeps'?"),
    ],
)
def test_unknown_key_names_the_nearest_valid_key(tmp_path, text, expected):
    with pytest.raises(ValueError, match="valid keys") as err:
        load_scenario(_write(tmp_path, text))
    assert expected in str(err.value)
    assert "bad.toml" in str(err.value)  # the file is named


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[evolution]\npopulation = 2\n", "evolution.population: expected an integer >= 4, got 2"),
        ("[network]\nsubsteps = 0\n", "network.substeps: expected an integer in 1..10000"),
        ("[protocol]\ntest_every = 0\n", "protocol.test_every: expected an integer >= 1, got 0"),
        ("[mutation]\nedge_add = 1.5\n", "MutationParams.edge_add: expected a value in [0, 1], got 1.5"),
        ("[encoder]\nbins = 1000000000\n", "encoder.bins: expected at most 1,000, got 1,000,000,000; set `allow_large"),
        ("[decoder]\nbins = 1000000000\n", "decoder.bins: expected at most 1,000, got 1,000,000,000; set `allow_large"),
        ("[encoder]\nbins = 1\n", "EncoderSpec.bins: expected an integer >= 2, got 1"),
        ("[network]\ndt = 0.5\n", "network.dt: expected a value in (0, 0.1], got 0.5"),
        (
            '[start]\ngenome = "x.h5"\n[evolution]\ninit_genome = "y.h5"\n',
            "evolution.init_genome: moved to start.genome, which is given too; drop evolution.init_genome",
        ),
        ('[decoder]\nkind = "sigmiod"\n', "expected one of ('auto', 'argmax', 'linear', 'sigmoid', 'binned')"),
        ('[network]\npreset = "grid"\n', "network.preset: expected one of ('reference', 'spatial'), got 'grid'"),
        ("[network]\nio_degree = 8.0\n", "network.io_degree: the reference preset puts every input/output pair"),
        ('[network]\npreset = "spatial"\nio_degree = 64.0\n', "network.io_degree: expected a value in (0, 64)"),
        (
            '[network]\npreset = "spatial"\nio_degree = 5.0\nio_length = 2.0\n',
            "network.io_degree, network.io_length: expected at most one",
        ),
        ('[env]\nbackend = "cpp"\n', "env.backend: expected one of ('auto', 'gymnasium', 'envpool'), got 'cpp'"),
    ],
)
def test_out_of_range_value_says_what_was_expected(tmp_path, text, expected):
    with pytest.raises(ValueError) as err:
        load_scenario(_write(tmp_path, text))
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[evolution]\npopulation = "50"\n', "evolution.population: expected int, got '50' (str)"),
        ("[protocol]\nepisodes = 2.5\n", "protocol.episodes: expected int, got 2.5 (float)"),
        ("[protocol]\nfixed_seeds = 1\n", "protocol.fixed_seeds: expected bool, got 1 (int)"),
        ("[env]\nid = 5\n", "env.id: expected str, got 5 (int)"),
        ("network = 5\n", "scenario.network: expected a table of settings, got int"),
    ],
)
def test_wrong_type_says_what_was_expected_and_what_was_given(tmp_path, text, expected):
    with pytest.raises((ValueError, TypeError)) as err:
        load_scenario(_write(tmp_path, text))
    assert expected in str(err.value)


def test_invalid_toml_and_missing_file_are_clear(tmp_path):
    with pytest.raises(ValueError, match="not valid TOML"):
        load_scenario(_write(tmp_path, "[evolution\n"))
    with pytest.raises(FileNotFoundError, match="scenarios/README.md"):
        load_scenario(tmp_path / "nope.toml")


OBS_DIMS = {"CartPole-v1": 4, "Hopper-v5": 11}


def _assert_task_follows(task, sc):
    """The task check_scenario returns carries the scenario's settings and usable observation bounds."""
    assert task.env_id == sc.env.id and task.env_kwargs == sc.env.task_kwargs  # kwargs, plus hide_obs if any
    assert (task.substeps, task.dt) == (sc.network.substeps, sc.network.dt)
    assert (task.encoder, task.decoder) == (sc.encoder, sc.decoder)
    low, high = np.asarray(task.obs_low), np.asarray(task.obs_high)
    assert low.shape == high.shape and low.size >= 1
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)
    return low.size


@pytest.mark.parametrize("stem", ["cartpole", "hopper"])
def test_check_scenario_runs_one_step_and_returns_the_task(stem):
    sc = load_scenario(SCENARIOS / f"{stem}.toml")
    task = check_scenario(sc, dim=2)
    assert task.env_id == TASKS[stem]
    assert _assert_task_follows(task, sc) == OBS_DIMS[task.env_id]


def test_check_scenario_fails_on_an_unknown_env_id_before_any_rollout(monkeypatch):
    import spatial_snn.tasks.evaluation as evaluation

    rollouts = []
    monkeypatch.setattr(evaluation, "rollout", lambda *a, **k: rollouts.append(a))
    sc = scenario_from_dict({"env": {"id": "Hoper-v5"}})
    with pytest.raises(ValueError, match="Hopper-v5"):
        check_scenario(sc)
    assert rollouts == []


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_check_scenario_passes_for_every_shipped_scenario(path):
    sc = load_scenario(path)
    _assert_task_follows(check_scenario(sc, dim=3), sc)


@pytest.mark.parametrize("stem", TASKS)
def test_every_task_ships_a_spatial_scenario_that_differs_only_in_network_and_mutation(stem):
    ours = load_scenario(SCENARIOS / f"{stem}.toml")
    spatial = load_scenario(SCENARIOS / "variants" / f"{stem}-spatial.toml")
    net, mut = spatial.network, spatial.mutation
    assert net.preset == "spatial" and net.conduction_speed is not None  # delays from distance
    assert mut.position_rate > 0 and mut.position_sigma > 0 and mut.position_swap > 0  # positions evolve
    assert spatial.network.spec(2).rule.io_distance is None  # inputs and outputs placed in space
    for section in ("env", "encoder", "decoder", "evolution", "protocol"):
        assert getattr(spatial, section) == getattr(ours, section), section
    assert (net.n_hidden, net.substeps) == (ours.network.n_hidden, ours.network.substeps)


def test_keys_moved_to_the_part_that_reads_them_load_from_their_old_place(tmp_path):
    from spatial_snn.runs.scenarios import MOVED_KEYS, migrate, stored_scenario

    old = {
        "evolution": {"population": 10, "init_genome": "genomes/x.h5"},
        "mutation": {"adapt_tau": 0.5, "adapt_min": 0.1, "edge_add": 0.02},
    }
    new = {
        "start": {"genome": "genomes/x.h5"},
        "evolution": {"population": 10, "adapt_tau": 0.5, "adapt_min": 0.1},
        "mutation": {"edge_add": 0.02},
    }
    assert migrate(old) == new and "init_genome" in old["evolution"]  # a new dict; the input is kept
    assert scenario_from_dict(old) == scenario_from_dict(new)
    # an old scenario file, and an archive's scenario stored whole by a version before the move
    path = _write(tmp_path, '[evolution]\ninit_genome = "genomes/x.h5"\n[mutation]\nadapt_tau = 0.5\n')
    sc = load_scenario(path)
    assert (sc.start.genome, sc.evolution.adapt_tau, sc.evolution.adapt_min) == ("genomes/x.h5", 0.5, 0.01)
    stored = scenario_from_dict(new).to_dict()
    for (old_section, old_key), (new_section, new_key) in MOVED_KEYS.items():
        stored[old_section][old_key] = stored[new_section].pop(new_key)
    del stored["start"]
    assert stored_scenario(stored) == scenario_from_dict(new)


def test_the_table_of_keys_is_every_key_the_loader_accepts():
    from spatial_snn.runs.scenarios import _NESTED, Scenario, scenario_keys
    from spatial_snn.space.settings import key_of

    run_sizes = {"population", "directions"}  # a strategy's size comes from evolution.population, not a key

    def fields_of(cls, prefix):  # every field of a table and of its nested tables, by dotted name
        out = []
        for f in dataclasses.fields(cls):
            name = f"{prefix}{f.name}"
            if (cls, f.name) in _NESTED:
                out += fields_of(_NESTED[(cls, f.name)], name + ".")
            elif not (cls.__module__.startswith("spatial_snn.evo.strategies") and f.name in run_sizes):
                out.append((name, f))
        return out

    accepted = fields_of(Scenario, "")
    table = [name for name, _, _ in scenario_keys()]
    assert sorted(table) == sorted(name for name, _ in accepted) and len(set(table)) == len(table)
    assert [name for name, f in accepted if key_of(f) is None] == []
    assert "search.open_es.sigma" in table and "search.pgpe.optimizer.learning_rate" in table
    with pytest.raises(ValueError, match="search.open_es.population: unknown key"):
        scenario_from_dict({"search": {"open_es": {"population": 8}}})
    for name, default, key in scenario_keys():
        assert key.meaning.strip(), name
        if default is not None and (key.choices or key.low is not None or key.high is not None):
            assert key.admits(default), f"{name}: the default {default!r} is outside {key.bounds()}"


def test_limits_come_from_the_table_and_every_size_has_one():
    from spatial_snn.runs.scenarios import LIMITS, scenario_keys

    table = {name: key for name, _, key in scenario_keys()}
    assert {k: v for k, v in LIMITS.items() if k != "workers"} == {
        name: key.limit for name, key in table.items() if key.limit is not None
    }
    sizes = (
        "network.n_hidden",
        "encoder.bins",
        "decoder.bins",
        "evolution.population",
        "evolution.generations",
        "protocol.episodes",
        "protocol.test_episodes",
        "protocol.bounds_episodes",
        "env.max_episode_steps",
    )
    assert all(table[name].limit for name in sizes)
    big = {"encoder": {"kind": "binned", "bins": 10**9}, "allow_large": True}
    assert scenario_from_dict(big).encoder.bins == 10**9  # allow_large lifts it


def test_docs_scenarios_md_is_what_the_table_generates():
    from spatial_snn.runs.scenario_doc import render

    doc = SCENARIOS.parent / "docs" / "scenarios.md"
    assert doc.read_text() == render(), (
        "docs/scenarios.md differs from the table of keys; regenerate it: python -m spatial_snn.runs.scenario_doc"
    )
