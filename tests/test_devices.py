"""Device energy table (spatial_snn.analysis.devices): sources, hand-computed estimates, the report that prints them."""

from __future__ import annotations

from pathlib import Path

import pytest

from spatial_snn.analysis.devices import DEVICES, Constant, Device, device_energy
from spatial_snn.analysis.report import format_report, report

GENOMES = Path(__file__).resolve().parent.parent / "genomes"


def test_every_constant_states_its_source_and_whether_it_was_checked():
    assert {"digital-45nm", "loihi", "loihi2", "spinnaker2", "xylo"} <= set(DEVICES)
    for dev in DEVICES.values():
        for c in (dev.e_ac, dev.e_mac, dev.e_mem, dev.e_neuron):
            assert isinstance(c.verified, bool)
            if c.value is not None:
                assert c.value >= 0 and c.source and c.where
            else:
                assert c.note or c.where  # a missing constant says why
        assert dev.count in ("kernel", "hooks") and dev.why_count
    with pytest.raises(ValueError, match="count"):
        Device("x", "x", *(Constant(1.0, "s", "w", False),) * 4, count="dense", why_count="")


def test_a_device_without_a_per_operation_constant_says_what_was_read_and_gets_no_estimate():
    for key in ("loihi2", "xylo"):
        dev = DEVICES[key]
        assert dev.e_ac.value is None and not dev.e_ac.verified
        assert dev.e_ac.where.startswith("read") and "arXiv" in dev.e_ac.where  # the primary sources read
        assert dev.e_ac.note  # why no figure could be taken or derived
        est = device_energy(dev, acs=3.0, macs_kernel=1.0, substeps=2, neuron_updates=6.0, control_rate=50.0)
        assert est["pj_per_env_step"] is None and est["pj_per_substep"] is None and est["power_uw"] is None


def test_estimates_by_hand_from_counts_and_table():
    loihi = device_energy(DEVICES["loihi"], acs=3.0, macs_kernel=1.0, substeps=2, neuron_updates=6.0, control_rate=50.0)
    assert loihi["macs"] == 2.0  # hook count: the input every sub-step
    assert loihi["pj_per_env_step"] == pytest.approx((3 + 2) * 23.6 + 6 * 52.0)
    assert loihi["pj_per_substep"] == pytest.approx(loihi["pj_per_env_step"] / 2)
    assert loihi["power_uw"] == pytest.approx(loihi["pj_per_env_step"] * 50 * 1e-6)
    digital = device_energy(
        DEVICES["digital-45nm"], acs=3.0, macs_kernel=1.0, substeps=2, neuron_updates=6.0, control_rate=50.0
    )
    assert digital["macs"] == 1.0  # kernel count
    assert digital["pj_per_env_step"] == pytest.approx(3 * 0.9 + 1 * 4.6 + (3 + 1) * 10.0)  # memory term kept
    assert digital["neuron_updates_pj"] is None and digital["priced"] == ["synaptic_ops", "memory"]
    spinnaker2 = device_energy(
        DEVICES["spinnaker2"], acs=3.0, macs_kernel=1.0, substeps=2, neuron_updates=6.0, control_rate=50.0
    )
    assert spinnaker2["pj_per_env_step"] == pytest.approx((3 + 2) * 450.0 + 6 * 2190.0)  # hooks, memory unpriced
    assert spinnaker2["memory_pj"] is None and spinnaker2["priced"] == ["synaptic_ops", "neuron_updates"]
    xylo = device_energy(DEVICES["xylo"], acs=3.0, macs_kernel=1.0, substeps=2, neuron_updates=6.0, control_rate=50.0)
    assert xylo["pj_per_env_step"] is None and xylo["power_uw"] is None


def test_report_prints_both_counts_and_device_estimates_from_the_table():
    rep = report(GENOMES / "cartpole-1d.h5", episodes=1, nulls=2)
    nb, s = rep["neurobench"], rep["controller"]["substeps"]
    # one estimate by hand: Loihi prices the hook count and neuron updates with the table's constants
    t = DEVICES["loihi"]
    by_hand = (
        nb["acs_per_step"] * t.e_ac.value
        + nb["macs_per_step"] * s * t.e_mac.value
        + nb["neuron_updates_per_step"] * t.e_neuron.value
    )
    assert rep["devices"]["loihi"]["pj_per_env_step"] == pytest.approx(by_hand)
    assert nb["synaptic_ops_per_step_hooks"] == pytest.approx(nb["acs_per_step"] + s * nb["macs_per_step"])
    text = format_report(rep)
    assert "synaptic ops / env step, kernel count" in text and "synaptic ops / env step, NeuroBench hook count" in text
    assert "Intel Loihi (14 nm): " in text and "hooks count" in text and "kernel count (" in text
    assert "Intel Loihi 2 (Intel 4): n/a" in text
