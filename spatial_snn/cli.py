"""Command line: a thin layer over the Python API.

    spatial-snn evolve SCENARIO [--dim D] [--seed K] [--generations G] [--workers W]
    spatial-snn resume PATH
    spatial-snn batch SCENARIO --dims 1 2 3 --seeds 0-4
    spatial-snn inspect PATH [--plot out.png]
    spatial-snn replay PATH [--episodes N] [--video out.mp4]
    spatial-snn export PATH --to genomes/NAME.h5
    spatial-snn pack PATH [--to OUT]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .runs.scenarios import DEFAULT_ARCHIVE_DIR, archive_path


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"`` -> [0, 3, 7]."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            elif part:
                out.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(f"seeds: expected e.g. '0-4' or '0,3,7', got {text!r}") from None
    if not out:
        raise argparse.ArgumentTypeError(f"seeds: expected at least one seed, got {text!r}")
    return out


def _executor(args):
    if getattr(args, "scheduler", None):
        from .tasks.distributed import dask_executor

        return dask_executor(args.scheduler)
    return None


def _cmd_evolve(args) -> int:
    from .runs.runner import check_scenario, evolve
    from .runs.scenarios import load_scenario

    sc = load_scenario(args.scenario)
    check_scenario(sc, args.dim, args.seed)
    out = Path(args.out) if args.out else archive_path(sc.name, args.dim, args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not (args.overwrite or args.resume):
        print(f"error: {out} exists; pass --resume to continue it or --overwrite to replace it",
              file=sys.stderr)
        return 2
    print(f"evolving {sc.name} ({sc.env.id}) in {args.dim}D, seed {args.seed} -> {out}")
    res = evolve(sc, dim=args.dim, seed=args.seed, generations=args.generations, workers=args.workers,
                 executor=_executor(args), archive=out, overwrite=args.overwrite, resume=args.resume)
    _report(res)
    return 0


def _report(res) -> None:
    print(f"champion test score: {res.test_score:.1f} +- {res.test_returns.std():.1f} "
          f"over {res.test_returns.size} held-out episodes; {res.env_steps} environment steps "
          f"in {res.wall_time:.0f} s")
    if res.archive is not None:
        print(f"replay it: spatial-snn replay {res.archive} --episodes 10")


def _cmd_resume(args) -> int:
    from .runs.runner import evolve
    from .runs.scenarios import stored_scenario
    from .store.archive import check_env_id, open_run

    with open_run(args.path) as run:
        cfg = run.config
        check_env_id(run.scenario.get("env", {}).get("id"), args.path, args.import_module)
    res = evolve(stored_scenario(cfg["scenario"]), dim=int(cfg["dim"]), seed=int(cfg["seed"]),
                 generations=args.generations or int(cfg["generations"]), workers=args.workers,
                 executor=_executor(args), archive=args.path, resume=True)
    _report(res)
    return 0


def _cmd_batch(args) -> int:
    from .runs.batch import run_batch

    run_batch(args.scenario, dims=args.dims, seeds=args.seeds, generations=args.generations,
              workers=args.workers, out_dir=Path(args.out_dir), executor=_executor(args))
    return 0


def _cmd_inspect(args) -> int:
    from .runs.inspect import plot, summary
    from .store.archive import open_run

    with open_run(args.path) as run:
        print(summary(run))
        if args.plot:
            plot(run, args.plot)
            print(f"plot written to {args.plot}")
    return 0


def _cmd_replay(args) -> int:
    from .runs.replay import replay

    returns = replay(args.path, episodes=args.episodes, seed=args.seed, video=args.video,
                     max_frames=args.max_frames, allow_import=args.import_module)
    print(f"return over {returns.size} fresh episodes: {returns.mean():.1f} +- {returns.std():.1f}")
    if args.video:
        print(f"video written to {args.video}")
    return 0


def _cmd_pack(args) -> int:
    from .store.archive import pack_run

    out = pack_run(args.path, args.to, overwrite=args.overwrite)
    print(f"run packed into one file: {out}")
    return 0


def _cmd_export(args) -> int:
    from .store.archive import open_run, save_genome

    with open_run(args.path) as run:
        ch = run.champion()
        if ch is None:
            print(f"error: {args.path} has no champion yet", file=sys.stderr)
            return 2
        genome, info = ch
        meta = {"task": run.config["task"], "scenario": run.config["scenario"]["name"],
                "dim": run.dim, "seed": run.seed, "generation": int(info["generation"]),
                "test_mean": float(sum(info["test_returns"]) / len(info["test_returns"])),
                "source": str(args.path)}
    save_genome(args.to, genome, meta, overwrite=args.overwrite)
    print(f"champion written to {args.to}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spatial-snn", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def run_opts(q, with_gens=True):
        if with_gens:
            q.add_argument("--generations", type=int, help="override the scenario's generation count")
        q.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
        q.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")

    q = sub.add_parser("evolve", help="evolve a controller for a scenario")
    q.add_argument("scenario")
    q.add_argument("--dim", type=int, default=2, choices=(1, 2, 3))
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", help="archive path (default archive/<scenario>-<dim>d-seed<k>.h5)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing archive")
    q.add_argument("--resume", action="store_true", help="continue an existing archive")
    run_opts(q)
    q.set_defaults(func=_cmd_evolve)

    q = sub.add_parser("resume", help="continue a run from its last complete generation")
    q.add_argument("path")
    q.add_argument("--import-module", action="append", default=[], metavar="MODULE",
                   help="allow a stored env id 'MODULE:Env' to import MODULE (only for files you trust)")
    run_opts(q)
    q.set_defaults(func=_cmd_resume)

    q = sub.add_parser("batch", help="run every (dim, seed) pair and summarise per dimension")
    q.add_argument("scenario")
    q.add_argument("--dims", type=int, nargs="+", default=[1, 2, 3], choices=(1, 2, 3))
    q.add_argument("--seeds", type=parse_seeds, default=[0])
    q.add_argument("--out-dir", default=str(DEFAULT_ARCHIVE_DIR))
    run_opts(q)
    q.set_defaults(func=_cmd_batch)

    q = sub.add_parser("inspect", help="summarise a run archive")
    q.add_argument("path")
    q.add_argument("--plot", help="write the fitness curves to this PNG")
    q.set_defaults(func=_cmd_inspect)

    q = sub.add_parser("replay", help="run the champion on fresh episodes")
    q.add_argument("path", help="run archive or genome file")
    q.add_argument("--episodes", type=int, default=10)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--video", help="record the first episode to this mp4/gif")
    q.add_argument("--max-frames", type=int, help="stop the video after this many frames")
    q.add_argument("--import-module", action="append", default=[], metavar="MODULE",
                   help="allow a stored env id 'MODULE:Env' to import MODULE (only for files you trust)")
    q.set_defaults(func=_cmd_replay)

    q = sub.add_parser("pack", help="join a run's header and generation parts into one self-contained file")
    q.add_argument("path")
    q.add_argument("--to", help="write the packed file here (default: replace PATH and remove PATH.d/)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --to file")
    q.set_defaults(func=_cmd_pack)

    q = sub.add_parser("export", help="write the champion as a standalone genome file")
    q.add_argument("path")
    q.add_argument("--to", required=True)
    q.add_argument("--overwrite", action="store_true")
    q.set_defaults(func=_cmd_export)
    return p


def main(argv=None) -> int:
    from .store.archive import ArchiveFormatError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, ImportError, RuntimeError, ArchiveFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; resume with `spatial-snn resume PATH`", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
