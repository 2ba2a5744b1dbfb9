"""Small environments for evaluation tests (imported by gymnasium ids 'envs_for_tests:...')."""

import os

import gymnasium
import numpy as np
from gymnasium import spaces


class NaNAfter(gymnasium.Env):
    """Reward 1 per step; the observation turns NaN after ``nan_at`` steps."""

    def __init__(self, nan_at: int = 5):
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float64)
        self.action_space = spaces.Discrete(2)
        self.nan_at, self.t = nan_at, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(3), {}

    def step(self, action):
        self.t += 1
        obs = np.full(3, np.nan) if self.t >= self.nan_at else np.full(3, 0.1 * self.t)
        return obs, 1.0, False, False, {}


class DieOnce(NaNAfter):
    """Kills its process when made while ``flag`` exists (and removes the flag first)."""

    def __init__(self, flag: str = "", always: bool = False):
        super().__init__(nan_at=10**9)
        if flag and os.path.exists(flag):
            if not always:
                os.remove(flag)
            os._exit(3)


gymnasium.register("NaNAfter-v0", entry_point=NaNAfter, max_episode_steps=50)
gymnasium.register("DieOnce-v0", entry_point=DieOnce, max_episode_steps=20)
