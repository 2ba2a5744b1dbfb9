"""With and without short-term plasticity at the same budget: runs, fresh-episode scores, activity.

For each base scenario ``scenarios/variants/<base>.toml`` (or ``scenarios/<base>.toml``) and its
``-stp`` twin (``[network] plasticity = true``, nothing else differs), evolve 2D runs for the
given seeds with ``--generations`` generations (the same budget in generations; a run that
reaches its target stops early), one worker, then measure every champion on ``--episodes``
fresh episodes (reset seeds not used in training or testing): mean return, spikes and
synaptic events per env step. Existing archives in ``--out-dir`` are reused, not rerun.

Prints a markdown table (median and range over seeds) and writes a figure of the
per-seed fresh scores.

Usage::

    nice -n 10 python benchmarks/plasticity_compare.py --out-dir archive/stp-runs \\
        --bases cue-delay cartpole-pomdp cartpole --seeds 0 1 2 --generations 15 --figure docs/figures/plasticity.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import load_scenario
from spatial_snn.sim.kernels import SPIKES, SYN_EVENTS
from spatial_snn.store.controller import load_controller
from spatial_snn.store.run_reader import open_run
from spatial_snn.tasks.evaluation import rollout

ROOT = Path(__file__).resolve().parents[1]
FRESH_SEED = 7_000_000  # fresh-episode reset seeds start here (far from training and test seeds)


def _scenario_path(stem: str) -> Path:
    for path in (ROOT / "scenarios" / "variants" / f"{stem}.toml", ROOT / "scenarios" / f"{stem}.toml"):
        if path.is_file():
            return path
    raise SystemExit(f"no scenario {stem}.toml in scenarios/ or scenarios/variants/")


def _variant(stem: str) -> str:
    """The -stp twin of a base scenario (cartpole's is variants/cartpole-stp.toml)."""
    return f"{stem}-stp"


def _run(stem: str, seed: int, generations: int, out_dir: Path) -> Path:
    archive = out_dir / f"{stem}-2d-seed{seed}.h5"
    if not archive.exists():
        evolve(
            load_scenario(_scenario_path(stem)), dim=2, seed=seed, generations=generations, workers=1, archive=archive
        )
    return archive


def _measure(archive: Path, episodes: int) -> dict:
    genome, task, _ = load_controller(archive)
    ev = rollout(task, [genome], FRESH_SEED + np.arange(episodes))
    steps = int(ev.lengths.sum())
    with open_run(archive) as run:
        env_steps = int(run.history["env_steps"][-1])
    return {
        "score": float(ev.returns.mean()),
        "spikes": ev.counters[0, SPIKES] / steps,
        "events": ev.counters[0, SYN_EVENTS] / steps,
        "env_steps": env_steps,
        "plastic": genome.plastic,
    }


def _cell(values) -> str:
    v = np.asarray(values, float)
    return f"{np.median(v):.3g} [{v.min():.3g}, {v.max():.3g}]"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, required=True)
    ap.add_argument("--bases", nargs="+", default=["cue-delay", "cartpole-pomdp", "cartpole"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--generations", type=int, default=15)
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--figure", type=Path, default=None)
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict]] = {}
    for base in args.bases:
        for stem in (base, _variant(base)):
            results[stem] = []
            for seed in args.seeds:
                m = _measure(_run(stem, seed, args.generations, args.out_dir), args.episodes)
                results[stem].append(m)
                print(
                    f"{stem} seed {seed}: fresh {m['score']:.2f}, spikes/step {m['spikes']:.2f}, "
                    f"events/step {m['events']:.2f}, env steps {m['env_steps']}",
                    flush=True,
                )
    print(
        f"\n2D, seeds {args.seeds}, {args.generations} generations, {args.episodes} fresh episodes per champion; "
        "median [min, max] over seeds\n"
    )
    print("| scenario | plasticity | fresh score | spikes / env step | synaptic events / env step | env steps |")
    print("|---|---|---|---|---|---|")
    for stem, ms in results.items():
        print(
            f"| `{stem}` | {'yes' if ms[0]['plastic'] else 'no'} | {_cell([m['score'] for m in ms])} | "
            f"{_cell([m['spikes'] for m in ms])} | {_cell([m['events'] for m in ms])} | "
            f"{_cell([m['env_steps'] for m in ms])} |"
        )
    if args.figure is not None:
        _figure(results, args.bases, args.figure)


def _figure(results: dict, bases: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(bases), figsize=(3.2 * len(bases), 3.2), squeeze=False)
    for ax, base in zip(axes[0], bases, strict=True):
        for x, stem in enumerate((base, _variant(base))):
            scores = [m["score"] for m in results[stem]]
            ax.scatter(np.full(len(scores), x) + np.linspace(-0.08, 0.08, len(scores)), scores, color=f"C{x}")
            ax.hlines(np.median(scores), x - 0.25, x + 0.25, color=f"C{x}")
        ax.set_xticks([0, 1], ["static", "plastic"])
        ax.set_xlim(-0.6, 1.6)
        ax.set_title(base, fontsize=10)
        ax.set_ylabel("fresh-episode score (per seed)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
