"""Energy per operation on the devices NIR targets, each constant with its source.

A :class:`Device` prices the counts that ``report`` measures:

    E / env step = ACs x e_ac + MACs x e_mac + (ACs + MACs) x e_mem + neuron updates x e_neuron

in picojoules, where ACs (a spike times a weight) and MACs (an input current
times a weight) are counted one of two ways (:mod:`.metrics`):

* ``"kernel"``: as our kernel computes, the held input current once per
  environment step (a digital processor that keeps the current in a register
  does this);
* ``"hooks"``: as a NeuroBench hook count over the sub-steps, the input MACs
  once per sub-step (a neuromorphic chip has no held current: the input
  reaches the neurons again at every time step).

Each constant carries its source (title, year, where in it) and whether its
value was checked against that source here (``verified``); ``None`` means no
primary source for it was found, and the estimate is then not given. A chip
whose papers publish only per-workload figures (energy per inference, power on
one task) gets no estimate either: dividing such a figure by an operation count
needs that workload's counts and static share, which they do not give. Static
(idle) power is not priced: chip measurements are often dominated by it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEVICES", "Constant", "Device", "device_energy"]


@dataclass(frozen=True)
class Constant:
    """One energy constant: value in picojoules (``None``: not published in a source found), source, place."""

    value: float | None
    source: str
    where: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class Device:
    """Energy per AC, per MAC, per synaptic-operation memory read and per neuron update, and the count it uses."""

    key: str
    name: str
    e_ac: Constant
    e_mac: Constant
    e_mem: Constant
    e_neuron: Constant
    count: str  # "kernel" or "hooks"
    why_count: str

    def __post_init__(self):
        if self.count not in ("kernel", "hooks"):
            raise ValueError(f"device {self.key}: count: expected 'kernel' or 'hooks', got {self.count!r}")


_HOROWITZ = "M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014"
_DAVIES = "M. Davies et al., 'Loihi: A Neuromorphic Manycore Processor with On-Chip Learning', IEEE Micro 38(1), 2018"
_LOIHI_NOTE = (
    "pre-silicon SDF/SPICE simulation at 0.75 V, stated as consistent with early silicon; only the "
    "paper's first page was readable here, so the value is as independent third-party "
    "transcriptions of Table 2 give it (SANA-FE's Loihi architecture file, a constants audit; "
    "KerasSpiking's device table has the same 23.6 pJ and 81 pJ active)"
)
_NONE = "no per-operation energy in a primary source read here"


def _missing(where: str, note: str = _NONE) -> Constant:
    return Constant(None, "", where, False, note)


_AS_E_AC = "see e_ac"
_HOEPPNER19 = (
    "S. Hoeppner et al., 'Dynamic Power Management for Neuromorphic Many-Core Systems', IEEE "
    "Transactions on Circuits and Systems I 66(8), 2019 (arXiv 1903.08941)"
)
_SPINNAKER2_NOTE = (
    "value as KerasSpiking's device table gives it (nengo/keras-spiking, keras_spiking/"
    "model_energy.py, ModelEnergy.devices, citing this paper), the one transcription found; the "
    "paper's body not read here (its abstract gives only savings: 75% less PE power, "
    "80% less baseline power, 50% less energy per neuron and synapse computation); a 28 nm test chip, "
    "not the 22 nm SpiNNaker2, whose own papers read here (arXiv 2103.08392, 2401.04491, 1911.02385: "
    "abstracts) give no energy per event"
)
DEVICES: dict[str, Device] = {
    "digital-45nm": Device(
        "digital-45nm",
        "45 nm digital (float32)",
        e_ac=Constant(
            0.9,
            _HOROWITZ,
            "energy table, 45 nm 0.9 V: 32-bit float add",
            False,
            "value as quoted by secondary sources; the paper not read here",
        ),
        e_mac=Constant(
            4.6,
            _HOROWITZ,
            "same table: 32-bit float multiply 3.7 pJ + add 0.9 pJ",
            False,
            "value as quoted by secondary sources; the paper not read here",
        ),
        e_mem=Constant(
            10.0,
            _HOROWITZ,
            "same table: 64-bit read from an 8 KB SRAM",
            False,
            "one 64-bit synapse entry (target, weight) fetched per operation; 32 KB: 20 pJ, 1 MB: 100 pJ",
        ),
        e_neuron=Constant(None, _HOROWITZ, "", False, "neuron updates not priced (a few adds and a compare)"),
        count="kernel",
        why_count="a processor holds the input current over the sub-steps, as our kernel does",
    ),
    "loihi": Device(
        "loihi",
        "Intel Loihi (14 nm)",
        e_ac=Constant(23.6, _DAVIES, "Table 2: energy per synaptic spike op (min), a lower bound", False, _LOIHI_NOTE),
        e_mac=Constant(
            23.6, _DAVIES, "as e_ac: an input current reaches the core as synaptic ops too", False, _LOIHI_NOTE
        ),
        e_mem=Constant(
            0.0,
            _DAVIES,
            "included in the synaptic spike op (the synapse is read from the core's own SRAM as part of it)",
            False,
            "our reading of the architecture",
        ),
        e_neuron=Constant(
            52.0,
            _DAVIES,
            "Table 2: energy per neuron update, inactive (active: 81 pJ; which "
            "applies to our updates is not defined in what was read)",
            False,
            _LOIHI_NOTE,
        ),
        count="hooks",
        why_count="the chip re-delivers the input to the neurons at every time step",
    ),
    "loihi2": Device(
        "loihi2",
        "Intel Loihi 2 (Intel 4)",
        e_ac=_missing(
            "read: Intel Labs, 'Taking Neuromorphic Computing to the Next Level with Loihi 2', technology brief "
            "(2021), first page; Shrestha, Timcheck, Frady, Campos-Macias, Davies, 'Efficient Video and Audio "
            "Processing with Loihi 2', ICASSP 2024 (arXiv 2310.03251), abstract; Orchard et al., 'Efficient "
            "Neuromorphic Signal Processing with Loihi 2', SiPS 2021 (arXiv 2111.03746), abstract",
            "published per workload only (energy-delay-product gains against other chips; operation and "
            "bandwidth ratios in simulation), no energy per operation; web pages quoting ~1 pJ per synaptic op "
            "cite no primary source and are not used",
        ),
        e_mac=_missing(_AS_E_AC),
        e_mem=_missing(_AS_E_AC),
        e_neuron=_missing(_AS_E_AC),
        count="hooks",
        why_count="as Loihi",
    ),
    "spinnaker2": Device(
        "spinnaker2",
        "SpiNNaker2 (28 nm prototype figures)",
        e_ac=Constant(
            450.0,
            _HOEPPNER19,
            "energy per synaptic event, on the 28 nm four-PE SpiNNaker2 prototype "
            "(neuron and synapse code in software, per-core DVFS)",
            False,
            _SPINNAKER2_NOTE,
        ),
        e_mac=Constant(
            450.0,
            _HOEPPNER19,
            "as e_ac: an input current reaches the cores as synaptic events too",
            False,
            _SPINNAKER2_NOTE,
        ),
        e_mem=Constant(
            None,
            _HOEPPNER19,
            "",
            False,
            "not given apart; a measured per-event energy of a processor "
            "that fetches its synapse rows likely includes the fetch (our reading)",
        ),
        e_neuron=Constant(2190.0, _HOEPPNER19, "energy per neuron update, same prototype", False, _SPINNAKER2_NOTE),
        count="hooks",
        why_count="time-stepped: the input is applied every time step",
    ),
    "xylo": Device(
        "xylo",
        "SynSense Xylo Audio 2 (28 nm)",
        e_ac=_missing(
            "read (abstracts): Bos and Muir, 'Micro-power spoken keyword spotting on Xylo Audio 2', arXiv "
            "2406.15112 (2024): 291 uW dynamic inference power, 6.6 uJ per keyword-spotting inference; Bos and "
            "Muir, 'Sub-mW Neuromorphic SNN audio processing applications with Rockpool and Xylo', arXiv "
            "2208.12991 (2022): under 100 uW inference power",
            "workload figures only (verified against the abstracts): the synaptic ops and neuron updates behind "
            "6.6 uJ were not in what was read, so no energy per operation can be derived from it; '219 uW idle, "
            "93 uW dynamic' is quoted by open-neuromorphic.org, not read in a primary source",
        ),
        e_mac=_missing(_AS_E_AC),
        e_mem=_missing(_AS_E_AC),
        e_neuron=_missing(_AS_E_AC),
        count="hooks",
        why_count="time-stepped: the input is applied every time step",
    ),
}


def device_energy(
    device: Device, *, acs: float, macs_kernel: float, substeps: int, neuron_updates: float, control_rate: float
) -> dict:
    """Energy of one environment step (= one action, one "inference") on ``device``, in picojoules.

    ``acs``, ``macs_kernel`` and ``neuron_updates`` are per env step; the hook
    count uses ``macs_kernel x substeps``. Returns the terms, their sum, the
    energy per sub-step (a NeuroBench forward pass) and the power in real time
    (microwatts), or ``None`` for each where a constant is not published.
    """
    macs = macs_kernel * substeps if device.count == "hooks" else macs_kernel
    parts = {
        "synaptic_ops": None
        if device.e_ac.value is None or device.e_mac.value is None
        else acs * device.e_ac.value + macs * device.e_mac.value,
        "memory": None if device.e_mem.value is None else (acs + macs) * device.e_mem.value,
        "neuron_updates": None if device.e_neuron.value is None else neuron_updates * device.e_neuron.value,
    }
    known = [v for v in parts.values() if v is not None]
    total = sum(known) if parts["synaptic_ops"] is not None else None
    return {
        "device": device.name,
        "count": device.count,
        "acs": acs,
        "macs": macs,
        **{f"{k}_pj": v for k, v in parts.items()},
        "pj_per_env_step": total,
        "pj_per_substep": None if total is None else total / substeps,
        "power_uw": None if total is None else total * control_rate * 1e-6,
        "priced": [k for k, v in parts.items() if v is not None],
    }
