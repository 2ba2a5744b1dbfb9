"""A six-legged walker of ours (``spatial_snn/Hexapod-v0``), in the style of gymnasium's Ant-v5.

The body is ``bodies/hexapod.xml`` (or any MuJoCo file with a free-jointed
``torso`` given as ``xml_file``): a flat torso, three legs a side, each with
a hip yaw, a hip pitch and a knee (18 actuators, actions in [-1, 1]).

Reward per step (``dt = frame_skip * timestep``, 0.05 s by default)::

    reward = forward_reward_weight * dx/dt + healthy_reward * healthy
             - ctrl_cost_weight * |a|^2 - contact_cost_weight * |clip(cfrc_ext)|^2

with ``dx/dt`` the torso's x velocity over the step. The episode terminates
(``terminate_when_unhealthy``) once the state is not finite or the torso's
height leaves ``healthy_z_range``. The observation is ``qpos[2:]`` (the x, y
position left out), ``qvel`` and, only if ``include_cfrc_ext_in_observation``
(off by default), the external contact forces of every body but the world.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gymnasium import utils
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from gymnasium.spaces import Box

#: The shipped body, in the repository's ``bodies/`` folder.
DEFAULT_XML = str(Path(__file__).resolve().parents[2] / "bodies" / "hexapod.xml")


class HexapodEnv(MujocoEnv, utils.EzPickle):
    """Forward walking of a six-legged body (see the module docstring for reward and termination)."""

    metadata = {"render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"]}

    def __init__(
        self,
        xml_file: str = DEFAULT_XML,
        frame_skip: int = 5,
        forward_reward_weight: float = 1.0,
        ctrl_cost_weight: float = 0.1,
        contact_cost_weight: float = 0.0,
        healthy_reward: float = 0.5,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple = (0.08, 0.6),
        contact_force_range: tuple = (-1.0, 1.0),
        reset_noise_scale: float = 0.1,
        include_cfrc_ext_in_observation: bool = False,
        **kwargs,
    ):
        utils.EzPickle.__init__(
            self,
            xml_file,
            frame_skip,
            forward_reward_weight,
            ctrl_cost_weight,
            contact_cost_weight,
            healthy_reward,
            terminate_when_unhealthy,
            healthy_z_range,
            contact_force_range,
            reset_noise_scale,
            include_cfrc_ext_in_observation,
            **kwargs,
        )
        self._forward_reward_weight = forward_reward_weight
        self._ctrl_cost_weight = ctrl_cost_weight
        self._contact_cost_weight = contact_cost_weight
        self._healthy_reward = healthy_reward
        self._terminate_when_unhealthy = terminate_when_unhealthy
        self._healthy_z_range = tuple(healthy_z_range)
        self._contact_force_range = tuple(contact_force_range)
        self._reset_noise_scale = reset_noise_scale
        self._include_cfrc = include_cfrc_ext_in_observation
        camera = {"type": 2, "trackbodyid": 1, "distance": 1.8, "elevation": -25.0}  # follows the torso
        MujocoEnv.__init__(self, xml_file, frame_skip, observation_space=None, default_camera_config=camera, **kwargs)
        self.metadata = {**self.metadata, "render_fps": int(np.round(1.0 / self.dt))}
        size = self.data.qpos.size - 2 + self.data.qvel.size
        if self._include_cfrc:
            size += self.data.cfrc_ext[1:].size
        self.observation_space = Box(-np.inf, np.inf, shape=(size,), dtype=np.float64)

    @property
    def is_healthy(self) -> bool:
        state = self.state_vector()
        low, high = self._healthy_z_range
        return bool(np.isfinite(state).all() and low <= state[2] <= high)

    def _contact_forces(self) -> np.ndarray:
        return np.clip(self.data.cfrc_ext[1:], *self._contact_force_range)

    def step(self, action):
        x_before = self.data.body("torso").xpos[0]
        self.do_simulation(action, self.frame_skip)
        x_velocity = (self.data.body("torso").xpos[0] - x_before) / self.dt
        healthy = self.is_healthy
        forward = self._forward_reward_weight * x_velocity
        survive = self._healthy_reward * healthy
        ctrl = self._ctrl_cost_weight * float(np.sum(np.square(action)))
        contact = self._contact_cost_weight * float(np.sum(np.square(self._contact_forces())))
        reward = forward + survive - ctrl - contact
        terminated = (not healthy) and self._terminate_when_unhealthy
        info = {
            "reward_forward": forward,
            "reward_survive": survive,
            "reward_ctrl": -ctrl,
            "reward_contact": -contact,
            "x_position": self.data.qpos[0],
            "x_velocity": x_velocity,
        }
        if self.render_mode == "human":
            self.render()
        return self._get_obs(), reward, terminated, False, info

    def _get_obs(self) -> np.ndarray:
        parts = [self.data.qpos.flatten()[2:], self.data.qvel.flatten()]
        if self._include_cfrc:
            parts.append(self._contact_forces().flatten())
        return np.concatenate(parts)

    def reset_model(self):
        noise = self._reset_noise_scale
        qpos = self.init_qpos + self.np_random.uniform(-noise, noise, self.model.nq)
        qvel = self.init_qvel + noise * self.np_random.standard_normal(self.model.nv)
        self.set_state(qpos, qvel)
        return self._get_obs()
