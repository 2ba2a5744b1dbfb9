"""A task that needs memory: remember a cue across a delay (``SpatialSNN/CueDelay-v0``).

An episode is ``trials`` trials of ``cue_steps + delay_steps + 1`` steps each.
In a trial, one of two cues (drawn uniformly from the environment's
``np_random``, so the episode is fixed by the reset seed) is shown for
``cue_steps`` steps, then nothing for ``delay_steps`` steps, then a go signal
for one step. Observation (3,) float32 in [0, 1]: ``[cue A, cue B, go]``.
Action: ``Discrete(2)``. The action at the go step earns reward 1 when it
names the trial's cue and 0 otherwise; every other step earns 0. The return
is the number of trials answered right: ``trials`` at best, ``trials / 2`` in
expectation for a controller that cannot remember (the go step looks the
same after either cue). The episode terminates after the last go step.

The id is registered with gymnasium when :mod:`spatial_snn.tasks.envs` is
imported, so ``[env] id = "SpatialSNN/CueDelay-v0"`` works in a scenario and
in every worker; ``trials``, ``cue_steps`` and ``delay_steps`` are
``[env] kwargs``.
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

#: The gymnasium id of :class:`CueDelay`.
CUE_DELAY_ID = "SpatialSNN/CueDelay-v0"


class CueDelay(gymnasium.Env):
    """Remember which of two cues was shown, across ``delay_steps`` blank steps (module docstring).

    Parameters
    ----------
    trials : int
        Trials per episode (>= 1).
    cue_steps : int
        Steps a cue is shown (>= 1).
    delay_steps : int
        Blank steps between the cue and the go signal (>= 0).
    """

    metadata = {"render_modes": []}

    def __init__(self, trials: int = 10, cue_steps: int = 2, delay_steps: int = 5, render_mode=None):
        for name, value, low in (("trials", trials, 1), ("cue_steps", cue_steps, 1), ("delay_steps", delay_steps, 0)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"CueDelay {name}: expected an integer >= {low}, got {value!r}")
        self.trials, self.cue_steps, self.delay_steps = int(trials), int(cue_steps), int(delay_steps)
        self.period = self.cue_steps + self.delay_steps + 1
        self.observation_space = spaces.Box(0.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.render_mode = render_mode
        self._cues = np.zeros(self.trials, np.int64)
        self._t = 0

    def _observation(self) -> np.ndarray:
        obs = np.zeros(3, np.float32)
        if self._t >= self.trials * self.period:
            return obs
        phase = self._t % self.period
        if phase < self.cue_steps:
            obs[self._cues[self._t // self.period]] = 1.0
        elif phase == self.period - 1:
            obs[2] = 1.0
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._cues = self.np_random.integers(0, 2, self.trials)
        self._t = 0
        return self._observation(), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"CueDelay action: expected 0 or 1, got {action!r}")
        trial, phase = divmod(self._t, self.period)
        reward = float(int(action) == self._cues[trial]) if phase == self.period - 1 else 0.0
        self._t += 1
        terminated = self._t >= self.trials * self.period
        return self._observation(), reward, terminated, False, {"trial": trial}


def register() -> None:
    """Register :data:`CUE_DELAY_ID` with gymnasium (once per process)."""
    if CUE_DELAY_ID not in gymnasium.registry:
        gymnasium.register(CUE_DELAY_ID, entry_point=CueDelay)
