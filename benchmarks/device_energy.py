"""Device energy per action for the shipped Hopper and CartPole champions (docs/efficiency.md's table).

    PYTHONPATH=. python benchmarks/device_energy.py [--episodes 10] [--out benchmarks/device_energy.md]

Runs ``report`` (fresh episodes, replay's reset seeds) on each champion and
writes both operation counts and every device's estimate per env step (one
action, what the published anchors call one inference) and per sub-step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spatial_snn.analysis.devices import DEVICES
from spatial_snn.analysis.report import report

ROOT = Path(__file__).resolve().parent.parent
CHAMPIONS = ["hopper-2d-1ep", "cartpole-2d"]


def _e(pj) -> str:
    if pj is None:
        return "n/a"
    for unit, scale in (("uJ", 1e6), ("nJ", 1e3)):
        if pj >= scale:
            return f"{pj / scale:.3g} {unit}"
    return f"{pj:.3g} pJ"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "device_energy.md")
    args = ap.parse_args(argv)
    lines = [
        "| champion | ACs / step | MACs / step: kernel / hooks | synaptic ops / step: kernel / hooks "
        "| neuron updates / step | " + " | ".join(d.name for d in DEVICES.values()) + " |",
        "|---|---|---|---|---|" + "---|" * len(DEVICES),
    ]
    for name in CHAMPIONS:
        rep = report(ROOT / "genomes" / f"{name}.h5", episodes=args.episodes, nulls=2)
        nb, dev = rep["neurobench"], rep["devices"]
        cells = [
            f"{_e(d['pj_per_env_step'])} ({_e(d['pj_per_substep'])} per sub-step; {d['count']})"
            if d["pj_per_env_step"] is not None
            else "n/a"
            for d in dev.values()
        ]
        lines.append(
            f"| {name} ({rep['returns']['mean']:.1f}, {args.episodes} episodes) | {nb['acs_per_step']:.1f} "
            f"| {nb['macs_per_step']:.1f} / {nb['macs_per_step_hooks']:.1f} "
            f"| {nb['synaptic_ops_per_step']:.1f} / {nb['synaptic_ops_per_step_hooks']:.1f} "
            f"({nb['synaptic_ops_per_step_hooks'] / nb['synaptic_ops_per_step']:.2f}x) "
            f"| {nb['neuron_updates_per_step']:.1f} | " + " | ".join(cells) + " |"
        )
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
