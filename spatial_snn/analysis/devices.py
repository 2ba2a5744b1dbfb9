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
primary source for it was found, and the estimate is then not given. Static
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
_LOIHI_NOTE = ("pre-silicon SDF/SPICE simulation figures, stated as consistent with early silicon; value as "
               "quoted verbatim from the table by two independent third-party transcriptions, the paper itself "
               "not read here")
_NONE = "no per-operation energy in a primary source found here (searched: papers, datasheets)"


def _missing(where: str) -> Constant:
    return Constant(None, "", where, False, _NONE)


DEVICES: dict[str, Device] = {
    "digital-45nm": Device(
        "digital-45nm", "45 nm digital (float32)",
        e_ac=Constant(0.9, _HOROWITZ, "energy table, 45 nm 0.9 V: 32-bit float add", False,
                      "value as quoted by secondary sources; the paper not read here"),
        e_mac=Constant(4.6, _HOROWITZ, "same table: 32-bit float multiply 3.7 pJ + add 0.9 pJ", False,
                       "value as quoted by secondary sources; the paper not read here"),
        e_mem=Constant(10.0, _HOROWITZ, "same table: 64-bit read from an 8 KB SRAM", False,
                       "one 64-bit synapse entry (target, weight) fetched per operation; 32 KB: 20 pJ, 1 MB: 100 pJ"),
        e_neuron=Constant(None, _HOROWITZ, "", False, "neuron updates not priced (a few adds and a compare)"),
        count="kernel", why_count="a processor holds the input current over the sub-steps, as our kernel does"),
    "loihi": Device(
        "loihi", "Intel Loihi (14 nm)",
        e_ac=Constant(23.6, _DAVIES, "Table 2, p. 96: energy per synaptic spike op (min)", False, _LOIHI_NOTE),
        e_mac=Constant(23.6, _DAVIES, "as e_ac: an input current reaches the core as synaptic ops too", False,
                       _LOIHI_NOTE),
        e_mem=Constant(0.0, _DAVIES, "included in the synaptic spike op (the synapse is read from the core's "
                       "own SRAM as part of it)", False, "our reading of the architecture"),
        e_neuron=Constant(52.0, _DAVIES, "Table 2, p. 96: energy per neuron update, inactive (active: 81 pJ)",
                          False, _LOIHI_NOTE),
        count="hooks", why_count="the chip re-delivers the input to the neurons at every time step"),
    "loihi2": Device(
        "loihi2", "Intel Loihi 2 (Intel 4)",
        e_ac=_missing("Intel's Loihi 2 brief (2021) and benchmark papers give workload energies, not per op"),
        e_mac=_missing(""), e_mem=_missing(""), e_neuron=_missing(""),
        count="hooks", why_count="as Loihi"),
    "spinnaker2": Device(
        "spinnaker2", "SpiNNaker2 (22 nm FDSOI)",
        e_ac=_missing("Hoeppner et al. 2021 (arXiv 2103.08392) and Mayr et al. 2019 (arXiv 1911.02385) abstracts "
                      "give no per-event figure"),
        e_mac=_missing(""), e_mem=_missing(""), e_neuron=_missing(""),
        count="hooks", why_count="time-stepped: the input is applied every time step"),
    "xylo": Device(
        "xylo", "SynSense Xylo Audio 2 (28 nm)",
        e_ac=_missing("Bos and Muir 2024 (arXiv 2406.15112) give 6.6 uJ and 291 uW dynamic per keyword-spotting "
                      "inference, a workload figure, not per op"),
        e_mac=_missing(""), e_mem=_missing(""), e_neuron=_missing(""),
        count="hooks", why_count="time-stepped: the input is applied every time step"),
}


def device_energy(device: Device, *, acs: float, macs_kernel: float, substeps: int, neuron_updates: float,
                  control_rate: float) -> dict:
    """Energy of one environment step (= one action, one "inference") on ``device``, in picojoules.

    ``acs``, ``macs_kernel`` and ``neuron_updates`` are per env step; the hook
    count uses ``macs_kernel x substeps``. Returns the terms, their sum, the
    energy per sub-step (a NeuroBench forward pass) and the power in real time
    (microwatts), or ``None`` for each where a constant is not published.
    """
    macs = macs_kernel * substeps if device.count == "hooks" else macs_kernel
    parts = {
        "synaptic_ops": None if device.e_ac.value is None or device.e_mac.value is None
        else acs * device.e_ac.value + macs * device.e_mac.value,
        "memory": None if device.e_mem.value is None else (acs + macs) * device.e_mem.value,
        "neuron_updates": None if device.e_neuron.value is None else neuron_updates * device.e_neuron.value,
    }
    known = [v for v in parts.values() if v is not None]
    total = sum(known) if parts["synaptic_ops"] is not None else None
    return {
        "device": device.name, "count": device.count, "acs": acs, "macs": macs,
        **{f"{k}_pj": v for k, v in parts.items()},
        "pj_per_env_step": total,
        "pj_per_substep": None if total is None else total / substeps,
        "power_uw": None if total is None else total * control_rate * 1e-6,
        "priced": [k for k, v in parts.items() if v is not None],
    }
