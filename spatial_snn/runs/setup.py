"""Resolve once: (scenario, dimension, seed) -> everything a run needs.

:func:`resolve` makes **one** environment of the scenario's task and uses it
for everything that needs one before evolution starts: it checks the spaces,
estimates the encoder's observation bounds (unless they are given, e.g. by an
archive being resumed), sizes the encoder and the decoder, and runs one
environment step through the encoder, a tiny network and the decoder, so a
broken scenario fails in a second, not after an hour. The result, a frozen
:class:`RunSetup`, is what :func:`~spatial_snn.runs.runner.evolve` takes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..evo import seeding
from ..sim.network import Network
from ..space.layout import GenomeSpec, random_genome
from ..tasks.backends import check_torso_xy, feet_of, resolve_backend
from ..tasks.encoding import make_decoder, make_encoder
from ..tasks.envs import observation_bounds
from ..tasks.evaluation import Task
from ..tasks.rhythm import check_rhythm_space, make_rhythm
from .arguments import check_dim, check_seed
from .scenario_checks import open_env, scenario_body
from .scenarios import Scenario, as_scenario

#: Hidden neurons of the network that the scenario check steps once.
_CHECK_NEURONS = 8


@dataclass(frozen=True)
class RunSetup:
    """A scenario resolved for one run.

    Attributes
    ----------
    scenario : Scenario
    dim, seed : int
        Embedding dimension (1..3) and run seed.
    task : Task
        What workers need: environment, codec, timing and the encoder's
        observation bounds ``obs_low``, ``obs_high`` (``(obs_dim,)``); its
        ``backend`` is the resolved training backend (``test_task`` runs the
        held-out tests on gymnasium, so reported scores stay canonical).
    n_inputs, n_outputs : int
        Encoder channels and decoder units: the genome's input and output sizes.
    spec : GenomeSpec
        The network's layout, rule and parameter ranges in ``dim`` dimensions.
    """

    scenario: Scenario
    dim: int
    seed: int
    task: Task
    n_inputs: int
    n_outputs: int
    spec: GenomeSpec

    @property
    def test_task(self) -> Task:
        """The task of held-out tests: the same on gymnasium."""
        return dataclasses.replace(self.task, backend="gymnasium")

    def with_bounds(self, low, high) -> RunSetup:
        """The same setup with other observation bounds (e.g. those an archive stored)."""
        low, high = (tuple(float(x) for x in np.asarray(b).ravel()) for b in (low, high))
        if len(low) != len(self.task.obs_low) or len(high) != len(self.task.obs_high):
            raise ValueError(
                f"bounds: expected {len(self.task.obs_low)} values each (the observation size of "
                f"{self.task.env_id}), got {len(low)} and {len(high)}; resume the archive with the "
                "scenario it was written with"
            )
        return dataclasses.replace(self, task=dataclasses.replace(self.task, obs_low=low, obs_high=high))


def resolve(
    scenario,
    dim: int = 2,
    seed: int = 0,
    *,
    bounds: tuple | None = None,
    check: bool = True,
    backend: str | None = None,
    body: str | None = None,
) -> RunSetup:
    """Resolve a scenario for a run in ``dim`` dimensions with run seed ``seed``.

    Parameters
    ----------
    scenario : Scenario, dict or path to a TOML file
    dim : int
        Embedding dimension, 1..3.
    seed : int
        Run seed, 0..2**32 - 1; it also seeds the bounds estimate (``protocol.bounds_episodes``
        random-action episodes, only for observations without finite bounds).
    bounds : (low, high), optional
        Observation bounds to use instead of estimating them.
    check : bool
        Run one environment step through the encoder, a tiny network and the
        decoder (compiles the kernels on first use).
    backend : str, optional
        Training backend instead of ``scenario.env.backend`` (a resumed run
        keeps the one it started with).
    body : str, optional
        A body's XML text instead of reading ``scenario.env.xml_file`` (a
        resumed run keeps the text it stored, so it needs no file).

    Raises
    ------
    ValueError
        A bad dimension or seed, an unknown environment (naming close matches),
        unsupported spaces, or a codec that does not fit them.
    """
    sc = as_scenario(scenario)
    dim, seed = check_dim(dim), check_seed(seed)
    # the registered time limit, as the bounds estimate has always used; one step needs no other
    if body is None:
        body = scenario_body(sc.env)  # a missing or malformed body file: one ValueError
    elif sc.env.xml_file is None:
        raise ValueError(
            "body: a stored body needs a scenario with env.xml_file; resume the run with the scenario it stored"
        )
    env = open_env(sc.env.id, sc.env.task_kwargs, body=body)  # a bad id, kwarg or missing dependency: one ValueError
    try:
        if bounds is None:
            bounds = observation_bounds(
                sc.env.id,
                sc.env.task_kwargs,
                env.observation_space,
                seed=seed,
                episodes=sc.protocol.bounds_episodes,
                env=env,
            )
        low, high = (tuple(float(x) for x in np.asarray(b).ravel()) for b in bounds)
        # training episodes run with the training-only kwargs too: the backend must accept them all
        train_backend = resolve_backend(
            backend or sc.env.backend, sc.env.id, {**sc.env.task_kwargs, **sc.env.train_kwargs}, body
        )
        feet = ()
        if sc.search.strategy == "map_elites" and "gait" in sc.search.map_elites.descriptors:
            feet = feet_of(sc.env.id)  # a body without known feet: one ValueError
            if (backend or sc.env.backend) == "envpool":
                raise ValueError(
                    "env.backend: a gait descriptor reads foot contacts from gymnasium's MuJoCo data; "
                    'set backend = "gymnasium" (or "auto")'
                )
            train_backend = "gymnasium"
        torso_xy = sc.search.strategy == "map_elites" and "final_xy" in sc.search.map_elites.descriptors
        if torso_xy:
            check_torso_xy(sc.env.id)  # a body whose qpos[:2] is not the torso's x-y: one ValueError
            if (backend or sc.env.backend) == "envpool":
                raise ValueError(
                    "env.backend: a final_xy descriptor reads the torso position from gymnasium's MuJoCo data; "
                    'set backend = "gymnasium" (or "auto")'
                )
            train_backend = "gymnasium"
        task = Task(
            sc.env.id,
            sc.env.task_kwargs,
            sc.env.max_episode_steps,
            sc.network.substeps,
            sc.network.dt,
            sc.encoder,
            sc.decoder,
            low,
            high,
            train_backend,
            body_xml=body,
            feet=feet,
            torso_xy=torso_xy,
        )
        encoder = make_encoder(task.encoder, np.asarray(low), np.asarray(high))
        decoder = make_decoder(task.decoder, env.action_space)
        check_rhythm_space(task.decoder, env.action_space)
        spec = sc.network.spec(dim)
        if task.decoder.rhythm:  # one oscillator per action dimension, evolved with the network
            spec = dataclasses.replace(spec, rhythm=int(env.action_space.shape[0]))
        setup = RunSetup(sc, dim, seed, task, encoder.n_channels, decoder.n_units, spec)
        if check:
            _one_step(setup, env, encoder, decoder)
    finally:
        env.close()
    if check and sc.env.train_kwargs:  # the training environment must accept its own keyword arguments
        train_env = open_env(sc.env.id, {**sc.env.task_kwargs, **sc.env.train_kwargs}, body=body)
        try:
            _one_step(setup, train_env, encoder, decoder)
        finally:
            train_env.close()
    return setup


def _one_step(setup: RunSetup, env, encoder, decoder) -> None:
    """One environment step of a tiny random network: every piece of the codec meets the real spaces."""
    tiny = dataclasses.replace(
        setup.spec, n_hidden=min(setup.spec.n_hidden, _CHECK_NEURONS), mean_degree=None, io_degree=None
    )
    genome = random_genome(tiny, setup.n_inputs, setup.n_outputs, seeding.setup_rng(setup.seed))
    net = Network([genome], episodes=1, dt=setup.task.dt)
    obs, _ = env.reset(seed=0)
    action = decoder(net.step(encoder(np.asarray(obs, np.float64)[None]), setup.task.substeps))
    prior = make_rhythm(setup.task.decoder, [genome], 1, env.action_space)
    env.step((action if prior is None else prior(action))[0])


def check_scenario(scenario, dim: int = 2, seed: int = 0) -> Task:
    """The resolved task of a scenario, after one environment step (see :func:`resolve`)."""
    return resolve(scenario, dim, seed).task
