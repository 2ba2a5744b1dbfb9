"""Training env steps per CPU second: the library's rollouts against ours (``ars_linear._train_episode``).

The library scores an ARS candidate with ``evaluate_policy`` on a one-env
``DummyVecEnv`` (``VecNormalize`` where the zoo normalises); ours runs the same
linear policy on plain ``gymnasium.make(task)``. Both score the same fixed
random linear policy on the same number of episodes; prints steps per CPU
second of each and the ratio. Peers' venv only::

    ../peers-venv/bin/python benchmarks/peers/bench_rollouts.py [--episodes 30]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> None:
    import gymnasium
    import torch as th
    from ars_linear import HYPERPARAMS, _train_episode
    from sb3_contrib import ARS
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--episodes", type=int, default=30)
    a = p.parse_args(argv)
    th.set_num_threads(1)
    for task, hp in HYPERPARAMS.items():
        venv = DummyVecEnv([lambda task=task: gymnasium.make(task)])
        if hp["normalize_obs"]:
            venv = VecNormalize(venv, norm_obs=True, norm_reward=False)
        model = ARS("LinearPolicy", venv, verbose=0, device="cpu")
        rng = np.random.default_rng(0)
        weight = (0.1 * rng.standard_normal(model.n_params)).astype(np.float32)
        model.policy.load_from_vector(weight)
        venv.seed(0)
        t0 = time.process_time()
        _, lengths = evaluate_policy(
            model.policy, venv, n_eval_episodes=a.episodes, return_episode_rewards=True, warn=False
        )
        theirs = sum(lengths) / (time.process_time() - t0)
        env = gymnasium.make(task)
        rms = RunningMeanStd(shape=env.observation_space.shape) if hp["normalize_obs"] else None
        seeds = iter(range(0, 2 * a.episodes, 2))
        w = weight.reshape(env.action_space.shape[0], -1)
        t0 = time.process_time()
        steps = sum(
            _train_episode(env, w, rms, {"epsilon": 1e-8, "clip_obs": 10.0}, seeds.__next__)[1]
            for _ in range(a.episodes)
        )
        ours = steps / (time.process_time() - t0)
        print(
            f"{task}: library {theirs:,.0f} steps per CPU s ({sum(lengths)} steps), "
            f"ours {ours:,.0f} ({steps} steps): ours / library = {ours / theirs:.1f}"
        )


if __name__ == "__main__":
    main()
