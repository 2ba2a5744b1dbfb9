"""ARS with a linear policy (Mania, Guy & Recht 2018) as a peer, on a Gymnasium v5 body.

The algorithm is sb3-contrib's ``ARS`` ("LinearPolicy": ``a = clip(W z)``, no
bias), with the rl-baselines3-zoo hyperparameters for the MuJoCo v3 bodies
(``HYPERPARAMS``). The update is the library's (perturbations, top ``n_top``
directions, step scaled by the returns' sd); the rollouts that score each
candidate are ours (``_train_episode``: one episode on plain
``gymnasium.make(task)``), because the library's ``evaluate_policy`` on a
``VecEnv`` costs 2.5-4x more CPU per env step here (``bench_rollouts.py``). Where the zoo normalises
observations (``VecNormalize(norm_obs=True, norm_reward=False)``), ours keeps
the library's ``RunningMeanStd`` and updates it with every training
observation before acting on it, as ``VecNormalize`` does in training mode.
Every score we report comes from :func:`evaluate` with the policy frozen into
numpy arrays, exactly those saved in the ``.npz`` beside the result::

    z = clip((obs - mean) / sqrt(var + eps), -clip_obs, clip_obs)   # z = obs without normalisation
    a = clip(W z, low, high)

Reset seeds are a contract, as in ``spatial_snn.evo.seeding``:

- training episodes: even seeds drawn from ``SeedSequence(seed, spawn_key=(1,))``;
- held-out test episodes (10, re-used at every checkpoint): odd seeds from
  ``SeedSequence(seed, spawn_key=(2,))``;
- final fresh episodes (100): the seeds ``spatial-snn replay --seed 2026`` drew when
  this peer was written,
  ``default_rng(SeedSequence(2026, spawn_key=(5,))).choice(2**30, 100, replace=False)``;
  replay has since drawn episode k's seed from its own stream (``spatial_snn.evo.seeding.replay_seeds``,
  commit 3c5951b), so these are other fresh episodes of the same kind. Kept, so that every result of
  the peer is scored alike and ``--backfill`` can rerun a result exactly;
  ``benchmarks/compare/compare.py`` scores each final policy on today's replay seeds;
  training and test seeds that fall among them are skipped, so the three sets are disjoint.

Only training steps count toward the budget; test and fresh-episode steps are
recorded apart. The selection reward adds ``alive_bonus_offset`` per step
(Hopper: -1, cancelling the healthy bonus); every reported score is the plain
task reward. The run checkpoints at every test point and resumes from there.

Runs only inside the peers' own virtual environment (see README.md there)::

    ../peers-venv/bin/python benchmarks/peers/ars_linear.py Hopper-v5 --seed 0 --budget 5000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# rl-baselines3-zoo hyperparams/ars.yml (github.com/DLR-RM/rl-baselines3-zoo, file read at commit
# 0103d98346593a15bebf2a234a6127efcb2a8ef0), the entries under "=== Mujoco Envs ===" headed "Params closest
# to original paper": every one n_envs 1, policy 'LinearPolicy'; learning_rate, delta_std, n_delta, n_top and
# alive_bonus_offset as there; normalize_obs True where the entry has
# normalize: "dict(norm_obs=True, norm_reward=False)" (Swimmer-v3's line is commented out). The zoo's
# n_timesteps (Swimmer 2e6, Hopper 7e6, HalfCheetah 1.25e7, Walker2d 7.5e7, Ant 7.5e7) is not used: budgets
# are run_all.sh's. env_kwargs: keyword arguments of gymnasium.make (none unless given).
HYPERPARAMS = {
    # zoo Swimmer-v3: learning_rate 0.02, delta_std 0.01, n_delta 1, n_top 1, alive_bonus_offset 0
    "Swimmer-v5": {
        "learning_rate": 0.02,
        "delta_std": 0.01,
        "n_delta": 1,
        "n_top": 1,
        "alive_bonus_offset": 0.0,
        "normalize_obs": False,
    },
    # zoo Hopper-v3: learning_rate 0.01, delta_std 0.025, n_delta 8, n_top 4, alive_bonus_offset -1
    "Hopper-v5": {
        "learning_rate": 0.01,
        "delta_std": 0.025,
        "n_delta": 8,
        "n_top": 4,
        "alive_bonus_offset": -1.0,
        "normalize_obs": True,
    },
    # zoo Walker2d-v3: learning_rate 0.03, delta_std 0.025, n_delta 40, n_top 30, alive_bonus_offset -1
    "Walker2d-v5": {
        "learning_rate": 0.03,
        "delta_std": 0.025,
        "n_delta": 40,
        "n_top": 30,
        "alive_bonus_offset": -1.0,
        "normalize_obs": True,
    },
    # zoo Ant-v3: learning_rate 0.015, delta_std 0.025, n_delta 60, n_top 20, alive_bonus_offset -1.
    # Observation: the 27 entries of scenarios/ant.toml (no contact forces), as ours sees them; Ant-v5's
    # default adds 78 contact-force entries. The reward (contact cost included) is Ant-v5's default either way.
    "Ant-v5": {
        "learning_rate": 0.015,
        "delta_std": 0.025,
        "n_delta": 60,
        "n_top": 20,
        "alive_bonus_offset": -1.0,
        "normalize_obs": True,
        "env_kwargs": {"include_cfrc_ext_in_observation": False},
    },
    # zoo HalfCheetah-v3: learning_rate 0.02, delta_std 0.03, n_delta 32, n_top 4, alive_bonus_offset 0
    "HalfCheetah-v5": {
        "learning_rate": 0.02,
        "delta_std": 0.03,
        "n_delta": 32,
        "n_top": 4,
        "alive_bonus_offset": 0.0,
        "normalize_obs": True,
    },
}
SEED_SPACE = 2**30
REPLAY_SEED, REPLAY_EPISODES = 2026, 100
_TRAIN, _TEST, _REPLAY = 1, 2, 5


def replay_seeds(seed: int = REPLAY_SEED, episodes: int = REPLAY_EPISODES) -> np.ndarray:
    """The peer's fresh reset seeds: those ``spatial-snn replay --seed SEED --episodes N`` used before
    commit 3c5951b (see the module docstring); not today's ``spatial_snn.evo.seeding.replay_seeds``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_REPLAY,)))
    return rng.choice(SEED_SPACE, size=episodes, replace=False).astype(np.int64)


def test_seeds(run_seed: int, episodes: int, exclude: np.ndarray) -> np.ndarray:
    """Held-out test seeds of a run: odd, distinct, none in ``exclude``."""
    rng = np.random.default_rng(np.random.SeedSequence(run_seed, spawn_key=(_TEST,)))
    seeds = 2 * rng.choice(SEED_SPACE, size=episodes + len(exclude), replace=False) + 1
    return seeds[~np.isin(seeds, exclude)][:episodes].astype(np.int64)


def act(params: dict, obs: np.ndarray) -> np.ndarray:
    """Deterministic action of the saved linear policy (see the module docstring)."""
    z = np.asarray(obs, np.float64)
    if params["normalize_obs"]:
        z = np.clip(
            (z - params["obs_mean"]) / np.sqrt(params["obs_var"] + params["epsilon"]),
            -params["clip_obs"],
            params["clip_obs"],
        )
    a = params["weight"].astype(np.float64) @ z
    return np.clip(a, params["action_low"], params["action_high"])


def make_env(task: str):
    """``gymnasium.make(task)`` with the task's ``env_kwargs`` (``HYPERPARAMS``), if any."""
    import gymnasium

    return gymnasium.make(task, **HYPERPARAMS.get(task, {}).get("env_kwargs", {}))


def evaluate(task: str, params: dict, seeds) -> tuple[np.ndarray, int]:
    """Plain task returns of ``params`` on one episode per reset seed, and the steps taken."""
    env = make_env(task)
    returns, steps = [], 0
    for s in seeds:
        obs, _ = env.reset(seed=int(s))
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(params, obs))
            total += float(reward)
            steps += 1
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.asarray(returns), steps


def _cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _write_atomic(path: Path, text: str | None = None, arrays: dict | None = None) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if arrays is not None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    else:
        tmp.write_text(text)
    os.replace(tmp, path)


def _ledger(path: Path, **record) -> None:
    record["utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def _make_model(task: str, hp: dict, train_rng: np.random.Generator, exclude: set):
    """sb3-contrib's ARS whose candidates are scored by our rollout loop (see ``OurRolloutARS``)."""
    import torch as th
    from sb3_contrib import ARS
    from stable_baselines3.common.running_mean_std import RunningMeanStd

    class OurRolloutARS(ARS):
        """The library's update (``_do_one_update``: perturb, keep the top ``n_top``, step scaled by the
        returns' sd); each candidate's selection return comes from :func:`_train_episode` instead of the
        library's ``evaluate_policy`` on a ``VecEnv`` (the same quantity, 2.5-4x less CPU here)."""

        def evaluate_candidates(self, candidate_weights, callback, async_eval):
            returns = th.zeros(self.pop_size, device=self.device)
            callback.on_rollout_start()
            shape = (self.action_space.shape[0], self.observation_space.shape[0])
            for i in range(self.pop_size):
                weight = candidate_weights[i].cpu().numpy().reshape(shape)
                for _ in range(self.n_eval_episodes):
                    reward, steps = _train_episode(self.train_env, weight, self.obs_rms, self.norm, next_seed)
                    returns[i] += reward + self.alive_bonus_offset * steps
                    self.num_timesteps += steps
            callback.on_rollout_end()
            return returns

    def next_seed() -> int:
        while True:
            s = 2 * int(train_rng.integers(SEED_SPACE))
            if s not in exclude:
                return s

    model = OurRolloutARS(
        "LinearPolicy",
        make_env(task),
        n_delta=hp["n_delta"],
        n_top=hp["n_top"],
        learning_rate=hp["learning_rate"],
        delta_std=hp["delta_std"],
        alive_bonus_offset=hp["alive_bonus_offset"],
        seed=None,
        verbose=0,
        device="cpu",
    )
    model.train_env = make_env(task)
    model.obs_rms = RunningMeanStd(shape=model.observation_space.shape) if hp["normalize_obs"] else None
    model.norm = {"epsilon": 1e-8, "clip_obs": 10.0}  # VecNormalize's defaults
    model._last_obs = np.zeros((1, *model.observation_space.shape))  # learn() need not reset the unused VecEnv
    return model


def _train_episode(env, weight: np.ndarray, obs_rms, norm: dict, next_seed) -> tuple[float, int]:
    """Plain return and length of one training episode; updates ``obs_rms`` (if any) with every
    observation before acting on it, as ``VecNormalize(norm_obs=True)`` does in training mode."""
    obs, _ = env.reset(seed=next_seed())
    low, high = env.action_space.low, env.action_space.high
    total, steps, done = 0.0, 0, False
    while not done:
        z = obs
        if obs_rms is not None:
            obs_rms.update(obs[None])
            z = np.clip(
                (obs - obs_rms.mean) / np.sqrt(obs_rms.var + norm["epsilon"]), -norm["clip_obs"], norm["clip_obs"]
            )
        obs, reward, terminated, truncated, _ = env.step(np.clip(weight @ z, low, high))
        total += float(reward)
        steps += 1
        done = terminated or truncated
    if obs_rms is not None:
        obs_rms.update(obs[None])
    return total, steps


def _params(model, hp: dict) -> dict:
    import torch as th

    space = model.action_space
    weight = th.nn.utils.parameters_to_vector(model.policy.parameters()).detach().cpu().numpy()
    n_obs = model.observation_space.shape[0]
    params = {
        "weight": weight.reshape(space.shape[0], n_obs).astype(np.float32),
        "action_low": space.low.astype(np.float64),
        "action_high": space.high.astype(np.float64),
        "normalize_obs": bool(hp["normalize_obs"]),
        "obs_mean": np.zeros(n_obs),
        "obs_var": np.ones(n_obs),
        "obs_count": 0.0,
        "epsilon": model.norm["epsilon"],
        "clip_obs": model.norm["clip_obs"],
    }
    if model.obs_rms is not None:
        params.update(
            obs_mean=model.obs_rms.mean.copy(), obs_var=model.obs_rms.var.copy(), obs_count=float(model.obs_rms.count)
        )
    return params


def _check_act(model, params: dict, task: str) -> float:
    """Largest gap between :func:`act` and the library's own ``VecNormalize.normalize_obs`` and
    ``predict`` on 50 states (checks that the saved parameters are the library's policy)."""
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    vecnorm = None
    if model.obs_rms is not None:
        vecnorm = VecNormalize(DummyVecEnv([lambda: make_env(task)]), training=False, norm_obs=True, norm_reward=False)
        vecnorm.obs_rms = model.obs_rms.copy()
    env = make_env(task)
    obs, _ = env.reset(seed=1)
    gap = 0.0
    for _ in range(50):
        z = vecnorm.normalize_obs(obs[None]) if vecnorm is not None else obs[None]
        theirs = model.predict(z, deterministic=True)[0][0]
        ours = act(params, obs)
        gap = max(gap, float(np.max(np.abs(theirs - ours))))
        obs, _, terminated, truncated, _ = env.step(ours)
        if terminated or truncated:
            obs, _ = env.reset(seed=3)
    env.close()
    return gap


def train(
    task: str,
    seed: int,
    budget: int,
    out: Path,
    ckpt_dir: Path,
    ledger: Path,
    test_every: int = 250_000,
    test_episodes: int = 10,
    kind: str = "run",
) -> dict | None:
    """Train (or resume) one run; write ``out/<task>-s<seed>.json`` and ``.npz``. Returns the record."""
    import sb3_contrib
    import stable_baselines3
    import stable_baselines3.common.utils
    import torch as th

    th.set_num_threads(1)
    hp = HYPERPARAMS[task]
    name = f"{task}-s{seed}"
    result_path, policy_path = out / f"{name}.json", out / f"{name}.npz"
    if result_path.exists():
        print(f"{result_path} exists: nothing to do")
        return None
    ckpt_json, ckpt_npz = ckpt_dir / f"{name}-b{budget}.json", ckpt_dir / f"{name}-b{budget}.npz"
    fresh = replay_seeds()
    tests = test_seeds(seed, test_episodes, fresh)
    stable_baselines3.common.utils.set_random_seed(seed)
    train_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_TRAIN,)))
    model = _make_model(task, hp, train_rng, set(fresh.tolist()))
    state = {"curve": [], "eval_steps": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0, "resumes": 0, "best": None}
    best = {}  # the policy of the best test point so far: {name: array} as _params gives
    if ckpt_json.exists():
        state = json.loads(ckpt_json.read_text())
        with np.load(ckpt_npz) as z:
            best = {k[len("best_") :]: z[k] for k in z.files if k.startswith("best_")}
            model.weights = th.as_tensor(z["weights"])
            model.policy.load_from_vector(model.weights.cpu())
            th.set_rng_state(th.as_tensor(z["torch_rng"], dtype=th.uint8))
            if model.obs_rms is not None:
                model.obs_rms.mean, model.obs_rms.var = z["obs_mean"].copy(), z["obs_var"].copy()
                model.obs_rms.count = float(z["obs_count"])
        train_rng.bit_generator.state = state["train_rng"]
        model.num_timesteps, model._n_updates = state["train_steps"], state["updates"]
        state["resumes"] += 1
    start_train, start_eval = model.num_timesteps, state["eval_steps"]
    cpu0, wall0 = _cpu_seconds(), time.time()
    cpu_base, wall_base = state["cpu_seconds"], state["wall_seconds"]
    proc = f"{os.getpid()}@{time.time():.0f}"
    _ledger(
        ledger,
        event="start",
        kind=kind,
        task=task,
        seed=seed,
        budget=budget,
        proc=proc,
        train_steps=start_train,
        eval_steps=start_eval,
    )

    def checkpoint() -> None:
        params = _params(model, hp)
        returns, steps = evaluate(task, params, tests)
        state["eval_steps"] += steps
        state["curve"].append([int(model.num_timesteps), float(returns.mean())])
        if state.get("best") is None or returns.mean() > state["best"]["test_mean"]:
            state["best"] = {"train_steps": int(model.num_timesteps), "test_mean": float(returns.mean())}
            best.clear()
            best.update({k: np.asarray(v) for k, v in params.items()})
        state.update(
            train_steps=int(model.num_timesteps),
            updates=int(model._n_updates),
            train_rng=train_rng.bit_generator.state,
            cpu_seconds=cpu_base + _cpu_seconds() - cpu0,
            wall_seconds=wall_base + time.time() - wall0,
        )
        _write_atomic(
            ckpt_npz,
            arrays={
                "weights": model.weights.cpu().numpy(),
                "torch_rng": th.get_rng_state().numpy(),
                "obs_mean": params["obs_mean"],
                "obs_var": params["obs_var"],
                "obs_count": np.float64(params["obs_count"]),
                **{f"best_{k}": v for k, v in best.items()},
            },
        )
        _write_atomic(ckpt_json, text=json.dumps(state))
        _ledger(
            ledger,
            event="progress",
            kind=kind,
            task=task,
            seed=seed,
            proc=proc,
            train_steps=int(model.num_timesteps),
            eval_steps=state["eval_steps"],
        )
        print(
            f"{name}: {model.num_timesteps} steps, test mean {returns.mean():.1f}, {state['cpu_seconds']:.0f} CPU s",
            flush=True,
        )

    if not state["curve"]:
        checkpoint()
    while model.num_timesteps < budget:
        mark = min(budget, (model.num_timesteps // test_every + 1) * test_every)
        model.learn(total_timesteps=mark - model.num_timesteps, reset_num_timesteps=False)
        checkpoint()

    params = _params(model, hp)
    returns, steps = evaluate(task, params, fresh)
    state["eval_steps"] += steps
    best_returns, steps = evaluate(task, load_policy_arrays(best), fresh)
    state["eval_steps"] += steps
    best_path = out / f"{name}-best.npz"
    record = {
        "task": task,
        "seed": seed,
        "budget": budget,
        "kind": kind,
        "train_env_steps": int(model.num_timesteps),
        "updates": int(model._n_updates),
        "eval_env_steps": int(state["eval_steps"]),
        "cpu_seconds": cpu_base + _cpu_seconds() - cpu0,
        "wall_seconds": wall_base + time.time() - wall0,
        "resumes": state["resumes"],
        "curve": state["curve"],
        "test_episodes": test_episodes,
        "test_seeds": tests.tolist(),
        "fresh_seed": REPLAY_SEED,
        "fresh_seeds": fresh.tolist(),
        "fresh_mean": float(returns.mean()),
        "fresh_sd": float(returns.std(ddof=1)),
        "fresh_se": float(returns.std(ddof=1) / np.sqrt(len(returns))),
        "fresh_returns": returns.tolist(),
        "best_test": {
            **state["best"],
            "policy_file": best_path.name,
            "fresh_mean": float(best_returns.mean()),
            "fresh_sd": float(best_returns.std(ddof=1)),
            "fresh_se": float(best_returns.std(ddof=1) / np.sqrt(len(best_returns))),
            "fresh_returns": best_returns.tolist(),
            "note": "the policy of the best 10-episode test point (selection by held-out test, "
            "as a GA champion is chosen); the headline fresh_* fields are the final policy's",
        },
        "act_vs_library_max_gap": _check_act(model, params, task),
        "library": {
            "sb3_contrib": sb3_contrib.__version__,
            "stable_baselines3": stable_baselines3.__version__,
            "torch": th.__version__,
            "gymnasium": __import__("gymnasium").__version__,
            "mujoco": __import__("mujoco").__version__,
            "python": sys.version.split()[0],
        },
        "algorithm": "sb3_contrib.ARS('LinearPolicy') update; training rollouts and scores by ours",
        "hyperparameters": hp,
        "hyperparameters_source": f"rl-baselines3-zoo hyperparams/ars.yml, entry {task.replace('-v5', '-v3')}",
        "policy_file": policy_path.name,
    }
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(policy_path, arrays={k: np.asarray(v) for k, v in params.items()})
    _write_atomic(best_path, arrays=best)
    _write_atomic(result_path, text=json.dumps(record, indent=1) + "\n")
    _ledger(
        ledger,
        event="done",
        kind=kind,
        task=task,
        seed=seed,
        proc=proc,
        train_steps=record["train_env_steps"],
        eval_steps=record["eval_env_steps"],
    )
    print(
        f"{name}: fresh {record['fresh_mean']:.1f} +- {record['fresh_sd']:.1f} sd "
        f"(se {record['fresh_se']:.1f}) after {record['train_env_steps']} steps",
        flush=True,
    )
    return record


def load_policy_arrays(arrays: dict) -> dict:
    """The arguments of :func:`act` from the arrays of a policy ``.npz`` (scalars unwrapped)."""
    params = dict(arrays)
    params["normalize_obs"] = bool(params["normalize_obs"])
    for k in ("epsilon", "clip_obs"):
        params[k] = float(params[k])
    return params


def load_policy(path: Path) -> dict:
    """The arrays :func:`act` needs, from a policy ``.npz`` written by :func:`train`."""
    with np.load(path) as z:
        return load_policy_arrays({k: z[k] for k in z.files})


def _replay(task: str, path: Path, episodes: int, seed: int) -> int:
    if not path.is_file() or episodes < 1:
        print(
            f"error: --replay needs an existing policy .npz and --episodes >= 1, got {path} and {episodes}",
            file=sys.stderr,
        )
        return 2
    try:
        params = load_policy(path)
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {path} is not a policy file written by ars_linear.py ({err})", file=sys.stderr)
        return 2
    returns, _ = evaluate(task, params, replay_seeds(seed, episodes))
    sd = returns.std(ddof=1) if episodes > 1 else 0.0
    print(
        f"{task} {path.name}: {returns.mean():.1f} +- {sd:.1f} sd (se {sd / np.sqrt(episodes):.1f}) "
        f"over {episodes} fresh episodes (the peer's seeds for {seed}, not today's spatial-snn replay's)"
    )
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("task", help=f"one of {sorted(HYPERPARAMS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=int, default=5_000_000, help="training env steps")
    p.add_argument("--test-every", type=int, default=250_000)
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--checkpoints", type=Path, default=HERE / "checkpoints")
    p.add_argument("--ledger", type=Path, default=HERE / "ledger.jsonl")
    p.add_argument("--kind", default="run", help="'run' or 'smoke' (recorded in the ledger)")
    p.add_argument(
        "--backfill",
        action="store_true",
        help="for a finished result without best_test (written before it existed): train again into "
        "checkpoints/backfill/ and, if the final policy's fresh returns come out identical, add "
        "best_test and its policy to the result",
    )
    p.add_argument(
        "--replay",
        type=Path,
        metavar="NPZ",
        help="instead of training, score a saved policy on fresh episodes (needs no sb3-contrib)",
    )
    p.add_argument("--episodes", type=int, default=REPLAY_EPISODES, help="with --replay")
    p.add_argument("--replay-seed", type=int, default=REPLAY_SEED, help="with --replay: seed of the peer's fresh seeds")
    a = p.parse_args(argv)
    if a.replay is not None:
        return _replay(a.task, a.replay, a.episodes, a.replay_seed)
    if a.task not in HYPERPARAMS:
        print(f"error: task {a.task!r} has no hyperparameters; expected one of {sorted(HYPERPARAMS)}", file=sys.stderr)
        return 2
    if a.budget < 1 or a.test_every < 1:
        print(f"error: --budget and --test-every must be >= 1, got {a.budget} and {a.test_every}", file=sys.stderr)
        return 2
    try:
        import sb3_contrib  # noqa: F401
    except ImportError:
        print(
            "error: sb3_contrib is not importable; run with the peers' venv (benchmarks/peers/README.md)",
            file=sys.stderr,
        )
        return 2
    for d in (a.out, a.checkpoints, a.ledger.parent):
        d.mkdir(parents=True, exist_ok=True)
    if a.backfill:
        return _backfill(a)
    train(a.task, a.seed, a.budget, a.out, a.checkpoints, a.ledger, a.test_every, kind=a.kind)
    return 0


def _backfill(a) -> int:
    name = f"{a.task}-s{a.seed}"
    path = a.out / f"{name}.json"
    if not path.exists():
        print(f"error: {path} does not exist; --backfill completes finished results only", file=sys.stderr)
        return 2
    old = json.loads(path.read_text())
    if "best_test" in old:
        print(f"{path} has best_test: nothing to do")
        return 0
    tmp = a.checkpoints / "backfill"
    tmp.mkdir(parents=True, exist_ok=True)
    new = (
        json.loads((tmp / f"{name}.json").read_text())
        if (tmp / f"{name}.json").exists()
        else train(a.task, a.seed, old["budget"], tmp, tmp, a.ledger, a.test_every, kind="backfill")
    )
    if new["fresh_returns"] != old["fresh_returns"] or new["curve"] != old["curve"]:
        print(
            f"error: the rerun of {name} differs from its result (fresh {new['fresh_mean']:.2f} against "
            f"{old['fresh_mean']:.2f}); {path} left as it was, the rerun is in {tmp}",
            file=sys.stderr,
        )
        return 1
    os.replace(tmp / new["best_test"]["policy_file"], a.out / new["best_test"]["policy_file"])
    old["best_test"] = {**new["best_test"], "backfilled": "by an identical rerun (same curve and fresh returns)"}
    old["backfill_env_steps"] = new["train_env_steps"] + new["eval_env_steps"]
    _write_atomic(path, text=json.dumps(old, indent=1) + "\n")
    print(f"{name}: best_test added (fresh {old['best_test']['fresh_mean']:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
