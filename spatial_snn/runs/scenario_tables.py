"""The scenario's own tables: ``[env]``, ``[network]``, ``[protocol]`` and ``[start]``.

Each table is a frozen dataclass whose fields are its keys, each declared once
with :func:`~spatial_snn.space.settings.setting` (default, unit, bounds, limit,
meaning) and validated in ``__post_init__``. The other tables are the settings
dataclasses of the parts that read them (``[encoder]``, ``[decoder]``,
``[evolution]``, ``[mutation]``, ``[search]``); :class:`~.scenarios.Scenario`
gathers them all, and :mod:`.scenarios` loads them from TOML.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Real

from ..space.layout import PLACEMENTS, GenomeSpec
from ..space.settings import check, document, setting
from ..tasks.backends import BACKENDS
from ..tasks.envs import HIDE_OBS, split_hidden

PRESETS = ("reference", "spatial")


@document
@dataclass(frozen=True)
class EnvConfig:
    """The environment: the scenario's ``[env]`` table.

    ``train_kwargs`` are merged over ``kwargs`` for the training episodes
    only (the fitness), e.g. ``{healthy_reward = 0}`` to take the survival
    bonus out of selection; tests, replays and reported scores use the task's
    own reward (``kwargs``). Held-out tests always run on gymnasium,
    whatever ``backend`` trains.
    """

    id: str = setting("CartPole-v1", "Gymnasium id of the task, e.g. Hopper-v5.")
    kwargs: dict = setting(
        None,
        "Keyword arguments of gymnasium.make (the task's own reward: tests, replays and reported scores).",
        factory=dict,
    )
    max_episode_steps: int | None = setting(
        None,
        "Overrides the environment's time limit; none keeps it.",
        "env steps",
        low=1,
        integer=True,
        limit=1_000_000,
    )
    train_kwargs: dict = setting(
        None,
        "Merged over kwargs for the training episodes only (the fitness), e.g. {healthy_reward = 0}.",
        factory=dict,
    )
    backend: str = setting(
        "auto",
        "Where training episodes run: gymnasium, envpool (C++ batches; an error if "
        "EnvPool lacks the id or a keyword argument) or auto (EnvPool where it can, gymnasium "
        "elsewhere).",
        choices=BACKENDS,
    )
    hide_obs: tuple[int, ...] = setting(
        (),
        "Observation entries hidden from the controller (a partially "
        "observed task), e.g. [1, 3]: CartPole without its velocities; the rest "
        "keep their order. Applies to training, tests and replays alike.",
        "indices",
    )
    xml_file: str | None = setting(
        None,
        "A MuJoCo body of one's own for a task that takes xml_file (the v5 "
        "locomotion tasks, spatial_snn/Hexapod-v0): a self-contained XML file, path "
        "relative to the working directory. Its text is stored with the run, which "
        "trains on gymnasium (EnvPool cannot load it); none: the task's own body.",
    )

    def __post_init__(self):
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"env.id: expected a gymnasium id such as 'Hopper-v5', got {self.id!r}")
        if not isinstance(self.kwargs, dict):
            raise ValueError(f"env.kwargs: expected a table of keyword arguments, got {self.kwargs!r}")
        if HIDE_OBS in self.kwargs:
            raise ValueError(
                f"env.kwargs: {HIDE_OBS} is a key of [env] itself, not a keyword argument of the "
                f"environment; write `{HIDE_OBS} = {self.kwargs[HIDE_OBS]!r}` under [env]"
            )
        try:
            split_hidden({HIDE_OBS: self.hide_obs})  # a list of distinct indices >= 0
        except ValueError as exc:
            raise ValueError(f"env.{exc}") from None
        if self.xml_file is not None and (not isinstance(self.xml_file, str) or not self.xml_file.strip()):
            raise ValueError(f"env.xml_file: expected the path of a MuJoCo XML file, got {self.xml_file!r}")
        for table in ("kwargs", "train_kwargs"):
            if "xml_file" in getattr(self, table):
                raise ValueError(
                    f"env.{table}.xml_file: name the body with env.xml_file instead (its text is "
                    "stored with the run, so it replays without the file)"
                )
        check(self, "env")

    @property
    def task_kwargs(self) -> dict:
        """Keyword arguments of :func:`~spatial_snn.tasks.envs.make_env`: ``kwargs``, plus ``hide_obs`` if any."""
        return {**self.kwargs, HIDE_OBS: list(self.hide_obs)} if self.hide_obs else dict(self.kwargs)


@document
@dataclass(frozen=True)
class NetworkConfig:
    """Network shape and embedding: the scenario's ``[network]`` table.

    ``preset = "reference"`` is the published network (integer grid,
    ``exp(-2 d)``, inputs/outputs at distance 1); ``"spatial"`` is ours
    (neurons, inputs and outputs uniform in a periodic box, laws of the reach
    ``(d / length) ** dim``, docs/dimensions.md; length calibrated
    to ``mean_degree`` so every dimension has the same mean degree, io length
    calibrated to ``io_degree`` input synapses per channel, default
    ``n_hidden exp(-2)`` as in the reference). ``io_length`` fixes the io
    length instead (no io calibration); set at most one of the two.
    """

    preset: str = setting(
        "reference",
        "reference: the published network (integer grid, p = exp(-2 d), inputs "
        "and outputs at distance 1); spatial: ours (uniform in a periodic box, scaled laws, "
        "calibrated lengths; docs/dimensions.md).",
        choices=PRESETS,
    )
    n_hidden: int = setting(64, "Hidden neurons.", "neurons", low=1, integer=True, limit=100_000)
    placement: str | None = setting(
        None, "Where hidden neurons sit (grid, jittered or uniform); none: the preset's.", choices=PLACEMENTS
    )
    mean_degree: float | None = setting(
        None,
        "Calibrate the recurrent length so the mean degree is this in every "
        "dimension; none: the preset's (spatial: 4, reference: uncalibrated).",
        "synapses per neuron",
        low=0,
        low_open=True,
    )
    io_degree: float | None = setting(
        None,
        "spatial preset: calibrate the io length to this many input synapses "
        "per channel (below n_hidden); none: n_hidden exp(-2), as in the "
        "reference.",
        "synapses per channel",
        low=0,
        low_open=True,
    )
    io_length: float | None = setting(
        None,
        "A fixed io length instead of a calibrated one (at most one of io_degree and io_length).",
        "position units",
        low=0,
        low_open=True,
    )
    conduction_speed: float | None = setting(
        None,
        "Distance per sub-step that sets recurrent delays (reach per "
        "sub-step in the spatial preset); none: every delay is one "
        "sub-step (published).",
        "distance per sub-step",
        low=0,
        low_open=True,
    )
    max_delay: int = setting(8, "Cap on synaptic delays.", "sub-steps", low=1, high=255, integer=True)
    excitatory_fraction: float = setting(
        0.8,
        "Probability that a neuron (or input channel) is excitatory (Dale's law; published 0.8).",
        "probability",
        low=0,
        high=1,
    )
    substeps: int = setting(
        64,
        "Network sub-steps per environment step (published: 64, CartPole 4).",
        "sub-steps",
        low=1,
        high=10_000,
        integer=True,
    )
    dt: float = setting(1e-3, "Time step of the neuron model.", "s", low=0, high=0.1, low_open=True)
    plasticity: bool = setting(
        False,
        "Tsodyks-Markram short-term plasticity: each neuron's outgoing synapses "
        "scale with its release u x, with genes U, tau_f, tau_d per neuron that evolve like "
        "the other neuron parameters (docs/plasticity.md); false: static synapses "
        "(published).",
    )

    def __post_init__(self):
        check(self, "network")
        if not isinstance(self.plasticity, bool):
            raise ValueError(f"network.plasticity: expected true or false, got {self.plasticity!r}")
        if self.io_degree is not None:
            if self.preset == "reference":
                raise ValueError(
                    "network.io_degree: the reference preset puts every input/output pair at distance 1, "
                    "so there is no io length to calibrate; use preset = 'spatial' or drop io_degree"
                )
            if self.io_length is not None:
                raise ValueError(
                    f"network.io_degree, network.io_length: expected at most one (io_degree calibrates "
                    f"io_length), got {self.io_degree} and {self.io_length}; drop one"
                )
            if not 0 < self.io_degree < self.n_hidden:
                raise ValueError(
                    f"network.io_degree: expected a value in (0, {self.n_hidden}) (synapses per input "
                    f"channel, below n_hidden), got {self.io_degree}"
                )

    def spec(self, dim: int) -> GenomeSpec:
        """The :class:`GenomeSpec` of this network in ``dim`` dimensions."""
        if self.preset == "reference":
            base = GenomeSpec.reference(dim, self.n_hidden)
        else:
            base = GenomeSpec.spatial(dim, self.n_hidden, self.mean_degree or 4.0, self.io_degree)
        rule_changes = {"conduction_speed": self.conduction_speed, "max_delay": self.max_delay}
        changes = {"excitatory_fraction": self.excitatory_fraction, "plasticity": self.plasticity}
        if self.io_length is not None:
            rule_changes["io_length"] = self.io_length
            changes["io_degree"] = None  # a fixed io length, not calibrated
        changes["rule"] = dataclasses.replace(base.rule, **rule_changes)
        if self.placement is not None:
            changes["placement"] = self.placement
        if self.mean_degree is not None:
            changes["mean_degree"] = self.mean_degree
        return dataclasses.replace(base, **changes)


@document
@dataclass(frozen=True)
class ProtocolConfig:
    """How fitness and the reported test score are measured: the scenario's ``[protocol]`` table.

    Fitness is the mean return over ``episodes`` episodes whose reset seeds
    are drawn fresh every generation (``fixed_seeds`` reuses generation 0's,
    as published). The optional curriculum caps episodes at
    ``ceil(curriculum_start * curriculum_growth ** generation)`` steps. Every
    ``test_every`` generations (and at the first and the last) the best genome runs
    ``test_episodes`` held-out episodes; that is the reported score. With
    ``confirm_episodes`` a test that beats the champion's score is confirmed
    first: the genome runs that many more held-out episodes and its score is
    the mean over all of them, so a lucky short test cannot crown it (the best
    of many noisy tests overstates what it picks). The run stops early once
    the test score reaches ``target``, or once it has used ``max_env_steps``
    environment steps (training and tests; a budget).
    """

    episodes: int = setting(
        3,
        "Training episodes per individual; fitness is their mean return.",
        "episodes",
        low=1,
        integer=True,
        limit=1_000,
    )
    fixed_seeds: bool = setting(
        False, "Reuse generation 0's episode seeds every generation (published); false draws fresh ones."
    )
    curriculum: bool = setting(
        False, "Cap episodes at ceil(curriculum_start * curriculum_growth ** generation) steps (published)."
    )
    curriculum_start: int = setting(
        10, "Episode cap of generation 0 under the curriculum.", "env steps", low=1, integer=True
    )
    curriculum_growth: float = setting(
        1.1, "Growth of the episode cap per generation under the curriculum.", "factor per generation", low=1
    )
    test_every: int = setting(
        10,
        "Test the best genome every this many generations (and at the first and the last).",
        "generations",
        low=1,
        integer=True,
    )
    test_episodes: int = setting(
        100,
        "Held-out episodes of a test; their mean is the reported score.",
        "episodes",
        low=1,
        integer=True,
        limit=10_000,
    )
    target: float | None = setting(None, "Stop once the test score reaches this; none runs every generation.", "return")
    bounds_episodes: int = setting(
        10,
        "Random-action episodes that measure the observation bounds of the reference encoder.",
        "episodes",
        low=1,
        integer=True,
        limit=1_000,
    )
    max_env_steps: int | None = setting(
        None,
        "Stop once the run has used this many environment steps (training and tests); none: no budget.",
        "env steps",
        low=1,
        integer=True,
    )
    confirm_episodes: int = setting(
        0,
        "A test that beats the champion's score is confirmed with this many more held-out episodes (0 = off).",
        "episodes",
        low=0,
        integer=True,
        limit=10_000,
    )

    def __post_init__(self):
        if self.target is not None and not (isinstance(self.target, Real) and math.isfinite(self.target)):
            raise ValueError(
                f"protocol.target: expected a finite score (or no target), got {self.target}; "
                "drop the key to run every generation"
            )
        check(self, "protocol")


@document
@dataclass(frozen=True)
class StartConfig:
    """What generation 0 starts from: the scenario's ``[start]`` table (read by :mod:`.start`)."""

    genome: str | None = setting(
        None,
        "Start from a controller instead of random genomes: a genome file, a run "
        "archive (its champion) or a .nir graph, path relative to the working "
        "directory. Generation 0 is that genome and population - 1 mutants of it; none: "
        "random genomes (published).",
    )

    def __post_init__(self):
        if self.genome is not None and (not isinstance(self.genome, str) or not self.genome.strip()):
            raise ValueError(f"start.genome: expected the path of a genome file, got {self.genome!r}")
