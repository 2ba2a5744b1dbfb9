"""Runs with a [search] strategy (spatial_snn.runs.searching): from a scenario, resumed exactly, worker-independent."""

import numpy as np
import pytest

from spatial_snn.analysis.inspect import summary
from spatial_snn.evo.evolution import ORIGIN
from spatial_snn.evo.search import SEARCHES, STRATEGY_ORIGIN
from spatial_snn.runs.runner import evolve, resume
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.searching import stored_centre
from spatial_snn.space.genome import Genome
from spatial_snn.store import schema
from spatial_snn.store.run_reader import open_run

STRATEGIES = [s for s in SEARCHES if s not in ("ga", "map_elites")]  # map_elites: tests/test_qd_runs.py
KEYS = ("generation", "best", "mean", "test", "env_steps", "invalid_obs")
#: Steps large enough that the candidates of a tiny CartPole network behave differently.
WIDE = {
    "open_es": {"sigma": 0.5},
    "pgpe": {"sigma_init": 0.5},
    "sep_cma_es": {"sigma_init": 0.5},
    "ars": {"sigma": 0.5, "top_directions": 2},
}


def _scenario(tiny_scenario, strategy, generations=4, **search):
    d = tiny_scenario(
        evolution={"generations": generations, "population": 8}, protocol={"test_every": 2, "test_episodes": 4}
    )
    d["search"] = {"strategy": strategy, "genes": ["weights", "lif"], **WIDE, **search}
    return scenario_from_dict(d)


def _same_runs(a, b, generations):
    """Two archives hold the same history, populations, strategy records and champion."""
    with open_run(a) as ra, open_run(b) as rb:
        assert ra.n_generations == rb.n_generations == generations
        for k in KEYS:
            np.testing.assert_array_equal(ra.history[k], rb.history[k], err_msg=k)
        for g in range(generations):
            ga, gb = ra.generation(g), rb.generation(g)
            np.testing.assert_array_equal(ga["fitness"], gb["fitness"])
            assert sorted(ga["extra"]) == sorted(gb["extra"])
            for k in ga["extra"]:
                np.testing.assert_array_equal(ga["extra"][k], gb["extra"][k], err_msg=f"generation {g}: {k}")
        (ca, ia), (cb, ib) = ra.champion(), rb.champion()
        assert (ia["generation"], ia["index"]) == (ib["generation"], ib["index"])
        np.testing.assert_array_equal(ca.recurrent.weight, cb.recurrent.weight)
        np.testing.assert_array_equal(ca.tau_mem_inv, cb.tau_mem_inv)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_runs_from_a_scenario_and_archives_its_state(tmp_path, tiny_scenario, strategy):
    sc = _scenario(tiny_scenario, strategy, generations=3)
    res = evolve(sc, seed=1, workers=1, archive=tmp_path / "run.h5")
    assert len(res.history["best"]) == 3 and isinstance(res.champion, Genome)
    with open_run(tmp_path / "run.h5") as run:
        pops = [run.population(g) for g in range(3)]
        for g in range(3):
            gen = run.generation(g)
            assert np.all(gen["origin"] == STRATEGY_ORIGIN) and np.all(gen["parents"] == -1)
            assert STRATEGY_ORIGIN not in ORIGIN.values()  # not a code the GA uses
            extra = gen["extra"]
            assert set(extra) <= {n for n in extra if schema.is_generation_extra(n)}
            assert extra[schema.SEARCH_CANDIDATES].shape[0] == 8
            assert int(extra[schema.SEARCH_SWITCH][0]) == 0
            assert np.asarray(extra[schema.search_state_name("generation")]).ravel()[0] == g + 1  # after tell
        # every candidate of a generation is another network: the strategy searched, not copied
        assert len({p.recurrent.weight.tobytes() + p.tau_mem_inv.tobytes() for p in pops[1]}) > 1
        genome, info = run.champion()
        same = pops[info["generation"]][info["index"]]  # the champion is a sampled genome, tested as the GA's
        np.testing.assert_array_equal(genome.recurrent.weight, same.recurrent.weight)
        if strategy == "ec":  # EC samples connections: the networks differ in their synapses
            assert len({p.recurrent.pre.tobytes() for p in pops[1]}) > 1
        line = next(line for line in summary(run).splitlines() if line.startswith("search"))
        assert f"{strategy} from generation 0" in line  # inspect names the strategy and sums up its state
        assert ("candidate edges" if strategy == "ec" else "sigma") in line


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_resumed_search_equals_the_uninterrupted_run(tmp_path, tiny_scenario, strategy):
    sc = _scenario(tiny_scenario, strategy)
    evolve(sc, seed=2, workers=1, archive=tmp_path / "whole.h5")
    evolve(sc, seed=2, workers=1, generations=2, archive=tmp_path / "cut.h5")
    evolve(sc, seed=2, workers=1, archive=tmp_path / "cut.h5", resume=True)
    _same_runs(tmp_path / "whole.h5", tmp_path / "cut.h5", 4)


def test_ga_then_es_switches_on_a_plateau_and_resumes_on_the_same_branch(tmp_path, tiny_scenario):
    # a gain no run reaches: the GA hands over after plateau_window + 1 generations
    sc = _scenario(tiny_scenario, "ga", generations=5, then="pgpe", plateau_window=1, plateau_gain=100.0)
    whole = evolve(sc, seed=4, workers=1, archive=tmp_path / "whole.h5")
    with open_run(tmp_path / "whole.h5") as run:
        origins = [set(run.generation(g)["origin"].tolist()) for g in range(5)]
        assert STRATEGY_ORIGIN not in origins[0] | origins[1]
        assert origins[2:] == [{STRATEGY_ORIGIN}] * 3
        extra = run.generation(4)["extra"]
        assert int(extra[schema.SEARCH_SWITCH][0]) == 2
        t_gen, t_index = (int(x) for x in extra[schema.SEARCH_TEMPLATE])
        assert t_gen < 2  # the GA's champion at the switch, kept in the archive
        assert schema.SEARCH_SWITCH not in run.generation(1)["extra"]
        template = run.population(t_gen)[t_index]
    # the distribution's centre, from the stored state: the template's network with moved genes
    centre, later = stored_centre(tmp_path / "whole.h5", 2), stored_centre(tmp_path / "whole.h5")
    for g in (centre, later):
        np.testing.assert_array_equal(g.recurrent.pre, template.recurrent.pre)
        np.testing.assert_array_equal(g.recurrent.post, template.recurrent.post)
    assert not np.array_equal(centre.recurrent.weight, later.recurrent.weight)
    with pytest.raises(ValueError, match="generation 1 was made by the GA"):
        stored_centre(tmp_path / "whole.h5", 1)
    # cut in the GA phase (the switch is decided again) and in the ES phase (read back); each cut run ends on a
    # generation the whole run tests too (a run tests its last generation)
    for cut in (2, 4):
        path = tmp_path / f"cut{cut}.h5"
        evolve(sc, seed=4, workers=1, generations=cut, archive=path)
        # the scenario as the archive stored it ([search] and its sub-tables included), or as given
        if cut == 4:  # an extension of the stored generation count: the cut run stored 4
            resumed = resume(path, workers=1, generations=5)
        else:
            resumed = evolve(sc, seed=4, workers=1, archive=path, resume=True)
        np.testing.assert_array_equal(resumed.history["best"], whole.history["best"])
        _same_runs(tmp_path / "whole.h5", path, 5)


def test_the_default_search_is_the_ga_draw_for_draw(tiny_scenario):
    plain = scenario_from_dict(tiny_scenario(evolution={"generations": 2}))
    explicit = scenario_from_dict({**tiny_scenario(evolution={"generations": 2}), "search": {"strategy": "ga"}})
    assert plain == explicit
    a, b = evolve(plain, seed=0, workers=1), evolve(explicit, seed=0, workers=1)
    for k in KEYS:
        np.testing.assert_array_equal(a.history[k], b.history[k])


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["sep_cma_es", "ec"])
def test_one_and_two_workers_give_the_same_search_history(tmp_path, tiny_scenario, strategy):
    sc = _scenario(tiny_scenario, strategy, generations=3)
    evolve(sc, seed=3, workers=1, archive=tmp_path / "one.h5")
    evolve(sc, seed=3, workers=2, archive=tmp_path / "two.h5")
    _same_runs(tmp_path / "one.h5", tmp_path / "two.h5", 3)


@pytest.mark.slow
def test_dask_gives_the_same_search_history(tmp_path, tiny_scenario):
    distributed = pytest.importorskip("distributed")
    sc = _scenario(tiny_scenario, "open_es", generations=3)
    evolve(sc, seed=3, workers=1, archive=tmp_path / "one.h5")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        evolve(sc, seed=3, executor=c.scheduler_address, archive=tmp_path / "dask.h5")
    _same_runs(tmp_path / "one.h5", tmp_path / "dask.h5", 3)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('strategy = "cma"', "search.strategy: expected one of"),
        (
            'strategy = "open_es"\n[search.open_es]\nsigam = 0.1',
            "search.open_es.sigam: unknown key; did you mean 'sigma'",
        ),
        ('strategy = "pgpe"\n[search.pgpe]\nsigma_init = -1.0', "search.pgpe.sigma_init: expected a finite number > 0"),
        ('then = "ec"', "search.then: expected an evolution strategy"),
    ],
)
def test_a_bad_search_key_is_one_line_naming_the_key(evolve_error, table, message):
    lines = evolve_error("[search]\n" + table + "\n")
    assert len(lines) == 1 and message in lines[0], lines


@pytest.mark.parametrize("strategy", ["open_es", "ec"])
def test_a_search_champion_replays_its_test_and_exports_like_any_genome(tmp_path, tiny_scenario, strategy):
    from spatial_snn.cli import main
    from spatial_snn.store.controller import load_controller
    from spatial_snn.tasks.evaluation import rollout

    path = tmp_path / "run.h5"
    evolve(_scenario(tiny_scenario, strategy, generations=2), seed=6, workers=1, archive=path)
    genome, task, _ = load_controller(path)
    with open_run(path) as run:
        _, info = run.champion()
    again = rollout(task, [genome], info["test_seeds"]).returns[0]
    np.testing.assert_array_equal(again, info["test_returns"])  # the champion is what was tested
    assert main(["export", str(path), "--to", str(tmp_path / "champion.nir")]) == 0
    assert (tmp_path / "champion.nir").stat().st_size > 0
