"""The controller report end to end: Python API, table, JSON and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatial_snn import report as report_api
from spatial_snn.analysis.replay import replay
from spatial_snn.analysis.report import format_report, report, to_json
from spatial_snn.cli import main
from spatial_snn.store.controller import load_controller
from spatial_snn.tasks.spread import mean_sd_se

GENOMES = Path(__file__).resolve().parent.parent / "genomes"


@pytest.mark.slow
def test_report_of_a_shipped_champion(tmp_path):
    path = GENOMES / "cartpole-2d.h5"
    genome, _, _ = load_controller(path)
    rep = report(path, episodes=2, nulls=3, figures=tmp_path)
    assert report_api is report
    # the same fresh seeds as replay
    assert rep["returns"]["mean"] == pytest.approx(float(replay(path, episodes=2).mean()))
    nb = rep["neurobench"]
    assert nb["nonzero_weights"] == genome.n_synapses
    assert nb["on_path_weights"] <= nb["nonzero_weights"]
    assert nb["synaptic_ops_per_step"] == pytest.approx(nb["acs_per_step"] + nb["macs_per_step"])
    assert 0 < nb["activation_sparsity"] < 1
    assert nb["execution_rate_hz"] == 50.0 * 4  # CartPole: tau = 0.02 s, 4 sub-steps
    assert rep["energy"]["energy_memory_inclusive_pj_per_step"] > rep["energy"]["energy_ops_45nm_pj_per_step"]
    assert rep["figures"]["network_drawn"]["synapse_lines"] == genome.n_synapses
    assert Path(rep["figures"]["network"]).is_file() and Path(rep["figures"]["episode"]).is_file()
    text = format_report(rep)
    assert "synaptic ops / env step" in text and "modularity Q" in text and "NeuroBench v2.3" in text
    r = rep["returns"]
    assert mean_sd_se(r["mean"], r["std"], r["episodes"]) in text
    assert json.loads(to_json(rep))["neurobench"]["nonzero_weights"] == genome.n_synapses


@pytest.mark.slow
def test_cli_report_prints_json(capsys):
    assert main(["report", str(GENOMES / "inverted-pendulum-2d.h5"), "--episodes", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["controller"]["env_id"] == "InvertedPendulum-v5"
    assert out["returns"]["episodes"] == 1


def test_report_rejects_a_bad_episode_count():
    with pytest.raises(ValueError, match="episodes: expected an integer >= 1"):
        report(GENOMES / "cartpole-2d.h5", episodes=0)


def test_cli_report_on_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.h5")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spatial-snn: error:") and err.count("\n") == 1


def test_the_table_formats_every_number_one_way():
    from spatial_snn.analysis.report import _fmt

    assert [_fmt(v) for v in (5000, 12, 12345.6, 1234.56, 12.3456, 0.123456)] == [
        "5,000",
        "12",
        "12,346",
        "1,235",
        "12.35",
        "0.1235",
    ]
    assert _fmt(0.00012345) == "1.234e-04" and _fmt(float("nan")) == "n/a" and _fmt(0.0) == "0"
    assert "e+" not in _fmt(98765.4)  # no scientific notation for large values
