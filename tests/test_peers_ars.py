"""The ARS-linear peer (benchmarks/peers) keeps our fresh-episode protocol and scores its saved policy.

Only the parts of ``ars_linear.py`` that need no sb3-contrib are tested here
(the peer's library lives in its own venv): the seed sets, the frozen policy
``act``, the evaluation loop, and the ledger arithmetic of ``summarise.py``.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np

from spatial_snn.evo import seeding

PEERS = Path(__file__).resolve().parent.parent / "benchmarks" / "peers"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"peers_{name}", PEERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ars = _load("ars_linear")
summarise = _load("summarise")


def test_fresh_seeds_are_those_of_replay():
    ours = seeding.rng(2026, 5).choice(2**30, size=100, replace=False)
    assert ars.replay_seeds(2026, 100).tolist() == ours.tolist()


def test_test_seeds_are_odd_distinct_and_never_fresh():
    fresh = ars.replay_seeds()
    crafted = np.concatenate([fresh, ars.test_seeds(7, 5, np.array([], np.int64))[:2]])  # force two collisions
    tests = ars.test_seeds(7, 10, crafted)
    assert len(tests) == 10 and len(set(tests.tolist())) == 10
    assert np.all(tests % 2 == 1)
    assert not np.isin(tests, crafted).any()


def _params(weight, normalize, mean=None, var=None):
    n_act, n_obs = weight.shape
    return {
        "weight": weight.astype(np.float32),
        "action_low": -np.ones(n_act),
        "action_high": np.ones(n_act),
        "normalize_obs": normalize,
        "obs_mean": np.zeros(n_obs) if mean is None else mean,
        "obs_var": np.ones(n_obs) if var is None else var,
        "epsilon": 1e-8,
        "clip_obs": 10.0,
    }


def test_act_normalises_clips_and_clips_the_action():
    weight = np.array([[1.0, 0.0], [0.0, 0.5]])
    p = _params(weight, True, mean=np.array([1.0, 0.0]), var=np.array([4.0, 1e-4]))
    # z = ((3 - 1) / 2, clip(5 / 0.01, +-10)) = (1, 10); a = clip((1, 5), -1, 1)
    np.testing.assert_allclose(ars.act(p, np.array([3.0, 5.0])), [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(ars.act(p, np.array([1.5, 0.0])), [0.25, 0.0], atol=1e-6)
    raw = _params(weight, False, mean=np.array([100.0, 100.0]))  # stats ignored without normalisation
    np.testing.assert_allclose(ars.act(raw, np.array([0.3, -0.4])), [0.3, -0.2], atol=1e-6)


def test_evaluate_matches_a_plain_gymnasium_loop():
    import gymnasium

    env = gymnasium.make("Swimmer-v5")
    p = _params(np.full((2, 8), 0.05), False)
    returns, steps = ars.evaluate("Swimmer-v5", p, [11])
    obs, _ = env.reset(seed=11)
    total = 0.0
    for _ in range(1000):
        obs, reward, terminated, truncated, _ = env.step(np.clip(p["weight"].astype(np.float64) @ obs, -1, 1))
        total += reward
        if terminated or truncated:
            break
    assert steps == 1000
    assert returns[0] == total


def test_ledger_counts_every_process_to_its_last_record(tmp_path):
    rows = [
        {"event": "start", "kind": "smoke", "task": "Hopper-v5", "proc": "a", "train_steps": 0, "eval_steps": 0},
        {"event": "done", "kind": "smoke", "task": "Hopper-v5", "proc": "a", "train_steps": 50, "eval_steps": 7},
        {"event": "start", "kind": "run", "task": "Hopper-v5", "proc": "b", "train_steps": 0, "eval_steps": 0},
        {"event": "progress", "kind": "run", "task": "Hopper-v5", "proc": "b", "train_steps": 100, "eval_steps": 9},
        {"event": "start", "kind": "run", "task": "Hopper-v5", "proc": "c", "train_steps": 100, "eval_steps": 9},
        {"event": "done", "kind": "run", "task": "Hopper-v5", "proc": "c", "train_steps": 300, "eval_steps": 20},
    ]
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spent = summarise.ledger_spent(ledger)["Hopper-v5"]
    assert spent == {"steps": 57 + 109 + 211, "processes": 3, "smoke": 1, "discarded": 0, "unfinished": 1}
    with open(ledger, "a") as fh:
        fh.write(json.dumps({**rows[3], "event": "discarded"}) + "\n")
    spent = summarise.ledger_spent(ledger)["Hopper-v5"]
    assert (spent["discarded"], spent["unfinished"], spent["steps"]) == (1, 0, 57 + 109 + 211)


def test_saved_policy_round_trips_without_pickle(tmp_path):
    p = _params(np.arange(16.0).reshape(2, 8) / 100, True, mean=np.linspace(-1, 1, 8), var=np.full(8, 2.0))
    np.savez(tmp_path / "p.npz", **{k: np.asarray(v) for k, v in p.items()})
    back = ars.load_policy(tmp_path / "p.npz")
    obs = np.linspace(-3, 3, 8)
    assert back["normalize_obs"] is True
    np.testing.assert_array_equal(ars.act(back, obs), ars.act(p, obs))
