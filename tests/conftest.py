"""Fixtures shared by the test modules: the tiny scenario and genome helpers.

Helpers are fixtures that return a function (pytest's "factory as fixture"), so a
test module never imports another test module or this file. Session scope: they
hold no state, and module-scoped fixtures and hypothesis tests may use them.
The numpy twins of the kernels are in ``naive.py``.
"""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest

from spatial_snn.space.genome import NEURON_PARAMS, PROJECTIONS, Genome, Synapses
from spatial_snn.space.rules import ConnectivityRule

#: The smallest scenario that still runs a real evolution: CartPole-v1, the
#: reference network at 4 sub-steps, 10 genomes, 3 generations, 2 training and
#: 5 test episodes, a test after every generation. A few seconds on one core.
TINY_SCENARIO = {
    "name": "tiny",
    "env": {"id": "CartPole-v1"},
    "network": {"substeps": 4},
    "evolution": {"population": 10, "generations": 3},
    "protocol": {"episodes": 2, "test_every": 1, "test_episodes": 5},
}

#: Genome fields with one entry (row) per neuron, input or output.
GENOME_FIELDS = ("positions", "input_positions", "output_positions", *NEURON_PARAMS, "sign", "input_sign")


def _tiny(**sections: dict) -> dict:
    """``TINY_SCENARIO`` with the keys of each given section replaced (a fresh deep copy)."""
    out = copy.deepcopy(TINY_SCENARIO)
    for name, values in sections.items():
        if isinstance(values, dict):
            out[name] = {**out.get(name, {}), **values}
        else:
            out[name] = values
    return out


def _toml(scenario: dict) -> str:
    """The text of a TOML file for a scenario dict of tables of scalars."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, int | float):
            return repr(v)
        raise TypeError(f"tiny_toml: expected str, bool, int or float, got {v!r} ({type(v).__name__})")

    lines = [f"{k} = {value(v)}" for k, v in scenario.items() if not isinstance(v, dict)]
    for table, values in scenario.items():
        if isinstance(values, dict):
            lines += [f"[{table}]", *(f"{k} = {value(v)}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def tiny_scenario():
    """``tiny_scenario(evolution={"generations": 6})``: the tiny scenario as a dict,
    with the named keys of each section replaced; a fresh copy on every call."""
    return _tiny


@pytest.fixture(scope="session")
def tiny_toml():
    """``tiny_toml(path, **sections)``: write the tiny scenario (sections replaced
    as in ``tiny_scenario``) as a TOML file at ``path`` and return ``path``."""

    def write(path, **sections):
        path.write_text(_toml(_tiny(**sections)))
        return path

    return write


@pytest.fixture
def evolve_error(tmp_path, tiny_toml):
    """``evolve_error(text)``: the stderr lines of ``spatial-snn evolve`` (a fresh interpreter) on the tiny
    scenario with ``text`` appended, asserting that the command failed."""

    def run(text: str) -> list[str]:
        path = tiny_toml(tmp_path / "bad.toml")
        path.write_text(path.read_text() + text)
        out = subprocess.run(
            [sys.executable, "-m", "spatial_snn.cli", "evolve", str(path), "--workers", "1"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert out.returncode != 0, out.stdout
        return out.stderr.strip().splitlines()

    return run


# ----------------------------------------------------------------- genomes
def _genome_arrays(g: Genome) -> dict:
    """Every array of a genome by name (``"recurrent.pre"`` etc. for synapses); views, not copies."""
    out = {name: getattr(g, name) for name in GENOME_FIELDS}
    for p in PROJECTIONS:
        for part in ("pre", "post", "weight"):
            out[f"{p}.{part}"] = getattr(getattr(g, p), part)
    return out


def _assert_same_genome(a: Genome, b: Genome) -> None:
    """Equal arrays with equal dtypes in every field, and the same rule."""
    x, y = _genome_arrays(a), _genome_arrays(b)
    for name in x:
        assert x[name].dtype == y[name].dtype and np.array_equal(x[name], y[name]), name
    assert a.rule == b.rule


@pytest.fixture(scope="session")
def genome_arrays():
    """``genome_arrays(g)``: every array of a genome by name (views)."""
    return _genome_arrays


@pytest.fixture(scope="session")
def assert_same_genome():
    """``assert_same_genome(a, b)``: every field equal, dtypes included, same rule."""
    return _assert_same_genome


@pytest.fixture(scope="session")
def golden_genome():
    """``golden_genome()``: three neurons on a line at x = 0, 1, 2, with the
    hand-computed trace in ``test_kernels.py`` (``test_golden_trace_three_neurons_ten_substeps``).

    dt = 1/8 s; tau_mem_inv = 4/s gives a_mem = 1/2; tau_syn_inv = 8/s (n0)
    gives a_syn = 1, 4/s (n1, n2) a_syn = 1/2. strength_decay = 0 makes every
    strength 1; conduction speed 1 makes delay = distance (max 2, D = 3 slots).
    """

    def make() -> Genome:
        return Genome(
            positions=np.array([[0.0], [1.0], [2.0]]),
            input_positions=np.array([[-1.0]]),
            output_positions=np.array([[3.0]]),
            v_th=[1.0, 0.25, 0.5],
            v_reset=[0.0, 0.0, -0.5],
            v_leak=[0.0, 0.0, 0.0],
            tau_mem_inv=[4.0, 4.0, 4.0],
            tau_syn_inv=[8.0, 4.0, 4.0],
            sign=[1, 1, -1],
            input_sign=[1],
            input_synapses=Synapses([0], [0], [2.0]),  # x -> n0, w 2
            recurrent=Synapses([0, 0, 2], [1, 2, 1], [1.0, 2.0, 1.0]),  # n0->n1 d1, n0->n2 d2, n2-|n1 d1
            output_synapses=Synapses([1, 2], [0, 0], [1.0, 0.5]),  # n1 -> out +1, n2 -> out -0.5
            rule=ConnectivityRule(strength_decay=0.0, conduction_speed=1.0, max_delay=2),
        )

    return make
