"""Shipped champions (genomes/*.h5) still reach the score written next to them.

``genomes/champions.toml`` lists each file with ``threshold`` (the mean return
it must reach on fresh episodes) and ``episodes``; the replay seeds are fresh
(never the run's training or test seeds).
"""

import tomllib
from pathlib import Path

import pytest

from spatial_snn import load_genome, replay

GENOMES = Path(__file__).resolve().parent.parent / "genomes"
LISTED = tomllib.loads((GENOMES / "champions.toml").read_text()) if (GENOMES / "champions.toml").exists() else {}


def test_every_shipped_genome_is_listed_with_a_threshold():
    files = {p.name for p in GENOMES.glob("*.h5")}
    assert files, "genomes/ ships no champion"
    assert files == set(LISTED), "genomes/*.h5 and genomes/champions.toml disagree"
    for name, entry in LISTED.items():
        assert entry["threshold"] > 0 and entry["episodes"] >= 10, name


def _marks(name: str):
    """MuJoCo replays take seconds each: slow; the CartPole ones stay in the quick subset."""
    return () if LISTED[name]["env_id"].startswith("CartPole") else pytest.mark.slow


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in sorted(LISTED)])
def test_champion_replays_at_or_above_its_threshold(name):
    entry = LISTED[name]
    genome, meta = load_genome(GENOMES / name)
    assert genome.n_synapses > 0
    assert meta["task"]["env_id"] == entry["env_id"]
    returns = replay(GENOMES / name, episodes=entry["episodes"], seed=2026)
    assert returns.mean() >= entry["threshold"], (name, returns.mean())
