"""Command line: a thin layer over the Python API (one call per command).

    spatial-snn evolve SCENARIO [--dim D] [--seed K] [--generations G] [--max-env-steps 3M] [--workers W]
    spatial-snn resume PATH [--generations N] [--max-env-steps 24M]
    spatial-snn batch SCENARIO --dims 1 2 3 --seeds 0-4
    spatial-snn inspect PATH [--plot out.png]
    spatial-snn replay PATH [--episodes N] [--video out.mp4]
    spatial-snn curves PATH... --out curves.png [--published SCORE] [--budget 4M] [--legend below]
    spatial-snn export PATH --to genomes/NAME.h5 | model.nir [--trace STEPS]
    spatial-snn report PATH [--episodes 10] [--json] [--figures DIR]
    spatial-snn pack PATH [--to OUT]

Every bad argument or scenario value is one line on stderr,
``spatial-snn: error: ...``, exit status 2, before any file is made. Ctrl-C
(or SIGTERM) is one line naming the archive and the command that continues
it (exit status 130; 143 for SIGTERM). Module imports are deferred into the
commands, so that Ctrl-C during start-up is caught as well.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from .runs.arguments import DIMS, SEED_MAX, check_seed
from .runs.paths import DEFAULT_ARCHIVE_DIR, archive_path

PROG = "spatial-snn"
#: Most episodes one ``replay`` runs (run several with other ``--seed`` values for more).
MAX_REPLAY_EPISODES = 10_000


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"`` -> [0, 3, 7]; each seed in 0..2**32-1."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                a, b = (int(x) for x in part.split("-", 1))
                if b - a > 10_000:
                    raise argparse.ArgumentTypeError(f"seeds: expected at most 10,000 seeds, got {text!r}")
                out.extend(range(a, b + 1))
            elif part:
                out.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(f"seeds: expected e.g. '0-4' or '0,3,7', got {text!r}") from None
    if not out:
        raise argparse.ArgumentTypeError(f"seeds: expected at least one seed, got {text!r}")
    try:
        return [check_seed(k) for k in out]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seed(text: str) -> int:
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in 0..{SEED_MAX} (2**32 - 1), got {text!r}") from None


def _steps(text: str) -> int:
    """An argparse type: a positive step count, e.g. 4000000, 4e6, 4M or 500k."""
    scale = {"k": 10**3, "m": 10**6, "g": 10**9}.get(text[-1:].lower(), 1)
    try:
        value = float(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise argparse.ArgumentTypeError(f"expected a step count such as 4000000, 4e6 or 4M, got {text!r}")
    return int(value)


def _count(limit: int | None = None, hint: str = ""):
    """An argparse type: an integer >= 1 (and <= ``limit``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < 1:
            raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
        if limit is not None and value > limit:
            raise argparse.ArgumentTypeError(f"expected at most {limit:,}, got {value:,}{hint}")
        return value

    return parse


def _score(text: str) -> float | str:
    """An argparse type: a finite score, or ``none``."""
    if text.strip().lower() == "none":
        return "none"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite score such as 3000, or 'none' for no line, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: ``spatial-snn: error: ...``, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {' '.join(message.split())} (see `{self.prog} --help`)\n")


def _executor(args):
    if getattr(args, "scheduler", None):
        from .tasks.distributed import dask_executor

        return dask_executor(args.scheduler)
    return None


def _with_budget(sc, steps: int | None):
    """``sc`` with ``--max-env-steps`` as its step budget (stored with the run, like every scenario value)."""
    if steps is None:
        return sc
    import dataclasses

    return dataclasses.replace(sc, protocol=dataclasses.replace(sc.protocol, max_env_steps=steps))


def _cmd_evolve(args) -> int:
    from .runs.runner import evolve
    from .runs.scenario_checks import check_run_args
    from .runs.scenarios import load_scenario
    from .runs.setup import resolve

    sc = _with_budget(load_scenario(args.scenario), args.max_env_steps)
    check_run_args(sc, args.dim, args.seed, args.generations, args.workers)
    out = Path(args.out) if args.out else archive_path(sc.name, args.dim, args.seed)
    if out.exists() and not (args.overwrite or args.resume):
        raise ValueError(f"{out} exists; pass --resume to continue it or --overwrite to replace it")
    if not (args.resume and out.exists()):  # never the scenario being read or the genome it starts from
        from .store.schema import FORMAT_NAME
        from .store.targets import check_replace

        inputs = [args.scenario] + ([sc.start.genome] if sc.start.genome else [])
        check_replace(out, FORMAT_NAME, overwrite=args.overwrite, inputs=inputs)
    # resolved once, failing fast on a broken scenario; a resumed run resolves with its stored bounds
    run = sc if args.resume and out.exists() else resolve(sc, args.dim, args.seed)
    args.archive = out  # for the Ctrl-C hint
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"evolving {sc.name} ({sc.env.id}) in {args.dim}D, seed {args.seed} -> {out}")
    res = evolve(
        run,
        dim=args.dim,
        seed=args.seed,
        generations=args.generations,
        workers=args.workers,
        executor=_executor(args),
        archive=out,
        overwrite=args.overwrite,
        resume=args.resume,
    )
    _report(res)
    return 0


def _report(res) -> None:
    from .tasks.spread import mean_sd_se

    print(
        f"champion test score: "
        f"{mean_sd_se(res.test_score, res.test_returns.std(), res.test_returns.size)} "
        f"over {res.test_returns.size} held-out episodes; {res.env_steps} environment steps "
        f"in {res.wall_time:.0f} s"
    )
    if res.archive is not None:
        print(f"replay it: spatial-snn replay {shlex.quote(str(res.archive))} --episodes 10")
    invalid = int(sum(res.history.get("invalid_obs", [])))
    if invalid:
        print(
            f"{PROG}: warning: {invalid} training episodes ended early on a non-finite observation (NaN or "
            "inf) from the environment; they score the return up to that step (per generation: history "
            "'invalid_obs'); check the environment or its kwargs",
            file=sys.stderr,
        )


def _cmd_resume(args) -> int:
    from .runs.runner import resume

    args.archive = Path(args.path)
    res = resume(
        args.path,
        generations=args.generations,
        max_env_steps=args.max_env_steps,
        workers=args.workers,
        executor=_executor(args),
        allow_import=tuple(args.import_module),
        announce=print,
    )
    if res.generations_run == 0:
        print(
            f"nothing to resume: {args.path} is finished ({res.stop_reason}, {res.history['generation'].size} "
            f"generations){_EXTEND_HINT.get(res.stop_reason, '')}"
        )
        return 0
    _report(res)
    return 0


#: What extends a finished run, by why it finished.
_EXTEND_HINT = {
    "generation count reached": "; extend it with --generations N",
    "step budget spent": "; extend it with --max-env-steps N (more than it spent)",
}


def _cmd_batch(args) -> int:
    from .runs.batch import run_batch
    from .runs.scenario_checks import check_env, check_run_args
    from .runs.scenarios import load_scenario

    sc = _with_budget(load_scenario(args.scenario), args.max_env_steps)
    for seed in args.seeds:
        check_run_args(sc, args.dims[0], seed, args.generations, args.workers)
    check_env(sc.env)
    run_batch(
        sc,
        dims=args.dims,
        seeds=args.seeds,
        generations=args.generations,
        workers=args.workers,
        out_dir=Path(args.out_dir),
        executor=_executor(args),
        equal_footing=not args.allow_unequal_footing,
    )
    return 0


def _cmd_inspect(args) -> int:
    from .analysis.inspect import plot, summary
    from .store.run_reader import open_run

    for out in (args.plot, args.map):
        if out:  # a read-only command never writes onto the run it reads
            from .store.targets import check_output

            check_output(out, [args.path])
    with open_run(args.path) as run:
        print(summary(run))
        if args.plot:
            plot(run, args.plot)
            print(f"plot written to {args.plot}")
        if args.map:
            from .analysis.qd_map import save_map

            save_map(run, args.map, corrected=args.corrected)
            print(f"map written to {args.map}")
    return 0


def _cmd_replay(args) -> int:
    from .analysis.replay import replay
    from .store.targets import check_output
    from .tasks.spread import mean_sd_se

    if args.video:
        check_output(args.video, [args.path])

    returns = replay(
        args.path,
        episodes=args.episodes,
        seed=args.seed,
        video=args.video,
        max_frames=args.max_frames,
        allow_import=args.import_module,
        cell=args.cell,
    )
    print(f"return over {returns.size} fresh episodes: {mean_sd_se(returns.mean(), returns.std(), returns.size)}")
    if args.video:
        print(f"video written to {args.video}")
    return 0


def _cmd_pack(args) -> int:
    from .store.pack import pack_run

    out = pack_run(args.path, args.to, overwrite=args.overwrite)
    print(f"run packed into one file: {_shown(out)}")
    return 0


def _cmd_export(args) -> int:
    from .store.export import export

    out = export(
        args.path,
        args.to,
        overwrite=args.overwrite,
        trace=args.trace,
        trace_seed=args.trace_seed,
        target=args.target,
        allow_import=tuple(args.import_module),
        cell=args.cell,
    )
    what = "NIR graph" if out.suffix == ".nir" else ("elite of cell " + args.cell if args.cell else "champion")
    print(
        f"{what} written to {_shown(out)}"
        + (" (with a golden trace)" if args.trace else "")
        + (f" for {args.target}'s importer" if args.target != "spatial-snn" else "")
    )
    return 0


def _cmd_report(args) -> int:
    from .analysis.report import format_report, report, to_json

    if args.figures:
        from .store.targets import check_output

        check_output(args.figures, [args.path])
    rep = report(args.path, episodes=args.episodes, seed=args.seed, figures=args.figures)
    print(to_json(rep) if args.json else format_report(rep))
    return 0


def _cmd_curves(args) -> int:
    from .analysis.curves import at_budget, format_budget, plot_curves, published_score, read_curve
    from .store.targets import check_output

    check_output(args.out, args.paths)
    curves = [read_curve(path) for path in args.paths]
    if args.budget is not None:
        print(format_budget(at_budget(curves, args.budget), args.budget))
    published = (
        published_score(curves) if args.published is None else (None if args.published == "none" else args.published)
    )
    out = plot_curves(
        curves, args.out, published=published, title=args.title, champion=not args.every_test, legend=args.legend
    )
    for c in curves:
        best = f"{c.test.max():.1f} at {c.env_steps[c.test.argmax()]:,.0f} steps" if c.test.size else "no test yet"
        print(f"{c.label}: best test {best}")
    print(f"learning curves written to {out}")
    return 0


_DESCRIPTION = """\
Evolve spiking neural networks whose neurons have positions in 1D, 2D or 3D space
to control gymnasium / MuJoCo bodies; then inspect, replay, report on and export
the controllers. Every run is an HDF5 archive you can resume.
"""

_EXAMPLES = """\
examples:
  spatial-snn evolve scenarios/cartpole.toml                 # solve CartPole-v1 in 2D
  spatial-snn inspect archive/cartpole-2d-seed0.h5           # how the run went and why it ended
  spatial-snn replay genomes/hopper-2d-1ep.h5 --episodes 10  # a shipped champion on fresh episodes
  spatial-snn resume archive/hopper-2d-seed0.h5              # after a crash or Ctrl-C

`spatial-snn COMMAND --help` explains each command; README.md has more.
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's and the examples' line breaks; shows every default that is a value."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default is argparse.SUPPRESS or default == []:
            return text
        shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else default
        return f"{text} (default: {shown})"


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    p = _Parser(prog=PROG, description=_DESCRIPTION, epilog=_EXAMPLES, formatter_class=_Formatter)
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def parser(name, text):
        return sub.add_parser(name, help=text, description=text, formatter_class=_Formatter)

    def run_opts(q, with_gens=True):
        if with_gens:
            q.add_argument("--generations", type=_count(), help="override the scenario's generation count")
        q.add_argument("--workers", type=_count(), help="local worker processes (default: one per core)")
        q.add_argument(
            "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 (default: none, local workers)"
        )

    def budget_opt(q):
        q.add_argument(
            "--max-env-steps",
            type=_steps,
            help="override the scenario's step budget (protocol.max_env_steps), e.g. 3M; it is stored with the "
            "run, so continue an interrupted run with the same value",
        )

    def import_opt(q):
        q.add_argument(
            "--import-module",
            action="append",
            default=[],
            metavar="MODULE",
            help="allow a stored env id 'MODULE:Env' to import MODULE (only for files you trust)",
        )

    q = parser("evolve", "evolve a controller for a scenario")
    q.add_argument("scenario", help="scenario TOML file, e.g. scenarios/cartpole.toml")
    q.add_argument("--dim", type=int, default=2, choices=DIMS, help="dimension of the space neurons live in")
    q.add_argument("--seed", type=_seed, default=0, help="run seed, 0..2**32-1; the same seed gives the same run")
    q.add_argument("--out", help="archive path (default archive/<scenario>-<dim>d-seed<k>.h5)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing archive")
    q.add_argument("--resume", action="store_true", help="continue an existing archive")
    run_opts(q)
    budget_opt(q)
    q.set_defaults(func=_cmd_evolve)

    q = parser("resume", "continue a run from its last complete generation")
    q.add_argument("path", help="run archive")
    import_opt(q)
    q.add_argument(
        "--max-env-steps",
        type=_steps,
        help="extend the run's own step budget (protocol.max_env_steps), e.g. 24M (default: the stored one)",
    )
    run_opts(q)
    q.set_defaults(func=_cmd_resume)

    q = parser("batch", "run every (dim, seed) pair and summarise per dimension")
    q.add_argument("scenario", help="scenario TOML file")
    q.add_argument("--dims", type=int, nargs="+", default=list(DIMS), choices=DIMS, help="dimensions to compare")
    q.add_argument("--seeds", type=parse_seeds, default=[0], help="run seeds, e.g. 0-4 or 0,3,7")
    q.add_argument("--out-dir", default=str(DEFAULT_ARCHIVE_DIR), help="folder for the run archives")
    q.add_argument(
        "--allow-unequal-footing",
        action="store_true",
        help="run even if the dimensions' random genomes differ in degree, fan-out/in, strength or delay",
    )
    run_opts(q)
    budget_opt(q)
    q.set_defaults(func=_cmd_batch)

    q = parser("inspect", "summarise a run archive: progress, scores, why it ended, cost")
    q.add_argument("path", help="run archive")
    q.add_argument("--plot", metavar="PNG", help="also write the fitness curves to this .png file")
    q.add_argument(
        "--map", metavar="PNG", help="a MAP-Elites run: also draw its map (best return per cell) to this .png"
    )
    q.add_argument(
        "--corrected", action="store_true", help="with --map: draw the map of the elites re-run on fresh episodes"
    )
    q.set_defaults(func=_cmd_inspect)

    q = parser("curves", "learning curves of runs: env steps vs held-out test score")
    q.add_argument("paths", nargs="+", help="run archives (one line each)")
    q.add_argument("--out", required=True, metavar="PNG", help=".png file to write")
    q.add_argument(
        "--published",
        type=_score,
        help="draw this score as a horizontal line (default: the published row of the runs' task; none: no line)",
    )
    q.add_argument("--title", help="figure title (default: the task)")
    q.add_argument("--every-test", action="store_true", help="plot each test as measured, not the best so far")
    q.add_argument(
        "--legend",
        choices=("inside", "below"),
        default="inside",  # curves.LEGENDS (lazy import)
        help="inside the axes (their least covered corner) or below them, covering no curve",
    )
    q.add_argument(
        "--budget",
        type=_steps,
        help="also compare the runs at this many environment steps "
        "(e.g. 4M): median and range per scenario and dimension",
    )
    q.set_defaults(func=_cmd_curves)

    q = parser("replay", "run the champion on fresh episodes (episode k is the same whatever --episodes)")
    q.add_argument("path", help="run archive, genome file or .nir graph")
    q.add_argument(
        "--episodes",
        type=_count(MAX_REPLAY_EPISODES, "; run several replays with other --seed values for more"),
        default=10,
        help="fresh episodes to run",
    )
    q.add_argument("--seed", type=_seed, default=0, help="replay seed: picks the episodes' reset seeds")
    q.add_argument("--video", help="record the first episode to this .mp4 or .gif file")
    q.add_argument(
        "--cell", help="a MAP-Elites run: the elite of this cell of the map (e.g. 3,7) instead of the champion"
    )
    q.add_argument(
        "--max-frames", type=_count(), help="stop the video after this many frames (default: the whole episode)"
    )
    import_opt(q)
    q.set_defaults(func=_cmd_replay)

    q = parser("pack", "join a run's header and generation parts into one self-contained file")
    q.add_argument("path", help="run archive")
    q.add_argument("--to", help="write the packed file here (default: replace PATH and remove PATH.d/)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --to file")
    q.set_defaults(func=_cmd_pack)

    q = parser("export", "write the champion as a genome file (.h5) or a NIR graph (.nir)")
    q.add_argument("path", help="run archive (its champion); for .nir also a genome file")
    q.add_argument("--to", required=True, help="NAME.h5 for a genome file, or NAME.nir for NIR (docs/nir.md)")
    q.add_argument(
        "--cell", help="a MAP-Elites run: the elite of this cell of the map (e.g. 3,7) instead of the champion"
    )
    q.add_argument(
        "--trace",
        type=_count(),
        default=0,
        metavar="STEPS",
        help=".nir only: include a golden trace of one episode of up to STEPS env steps (default: none)",
    )
    q.add_argument("--trace-seed", type=_seed, default=0, help="reset seed of the traced episode")
    q.add_argument(
        "--target",
        default="spatial-snn",
        choices=["spatial-snn", "norse", "snntorch", "spyx", "rockpool"],
        help=".nir only: rewrite the graph for that simulator's NIR importer (docs/nir.md)",
    )
    q.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing genome file (.h5) or NIR graph (.nir), never another kind of file",
    )
    q.add_argument(
        "--import-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="allow a stored env id 'MODULE:Env' to import MODULE (only for files you trust)",
    )
    q.set_defaults(func=_cmd_export)

    q = parser("report", "efficiency metrics, wiring and pictures of a stored controller")
    q.add_argument("path", help="run archive (its champion) or genome file")
    q.add_argument("--episodes", type=_count(MAX_REPLAY_EPISODES), default=10, help="fresh episodes to measure on")
    q.add_argument("--seed", type=_seed, default=0, help="replay seed of the episodes (as replay)")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.add_argument("--figures", metavar="DIR", help="write the network and episode pictures (PNG) to this folder")
    q.set_defaults(func=_cmd_report)
    return p


def _is_user_error(exc: BaseException) -> bool:
    """Errors that carry a message for the user (ours, the archive's and gymnasium's), not bugs."""
    if isinstance(exc, ValueError | OSError | ImportError | RuntimeError | OverflowError):
        return True
    h5io, gym = sys.modules.get("spatial_snn.store.h5io"), sys.modules.get("gymnasium.error")
    return (h5io is not None and isinstance(exc, h5io.ArchiveFormatError)) or (
        gym is not None and isinstance(exc, gym.Error)
    )


#: Keyword arguments that library messages name, and the flags that say the same here.
_FLAGS = {"overwrite=True": "--overwrite", "resume=True": "--resume"}


def _in_cli_words(message: str) -> str:
    """A library message as the command line says it: ``pass overwrite=True`` -> ``pass --overwrite``."""
    for word, flag in _FLAGS.items():
        message = message.replace(f"{word} ({flag})", flag).replace(word, flag)
    return message


def _shown(path) -> str:
    """``path`` relative to the working directory when it lies under it, else as it is."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


#: What every command imports, loaded with Ctrl-C held back (see :func:`main`).
_HEAVY_MODULES = ("spatial_snn.runs.runner", "spatial_snn.store.archive")


def main(argv=None) -> int:
    """Run one command; return the exit status (0 ok, 2 bad input or failure, 130 Ctrl-C, 143 SIGTERM,
    141 when the reader of the output went away, as for other unix tools)."""
    import signal
    import warnings

    from .runs.interrupts import terminate_like_interrupt

    # a file-size limit (ulimit -f) makes writes fail with EFBIG, an error line, instead of killing the process
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__name__ == "ArchiveWarning":  # the archive's own: one line, like errors
            print(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        with terminate_like_interrupt():  # `kill PID` stops a run as Ctrl-C does: between generations, with a report
            status = _run(argv)
            sys.stdout.flush()  # a reader that went away shows here, not in the interpreter's exit
            return status
    except BrokenPipeError:
        return _broken_pipe()
    finally:
        warnings.showwarning = shown


#: Exit status when the reader of our output went away (``report --json | head``): 128 + SIGPIPE,
#: what a shell reports for ``yes | head``, quietly.
BROKEN_PIPE_STATUS = 141


def _broken_pipe() -> int:
    """Stop quietly: point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE_STATUS


def _run(argv) -> int:
    import importlib

    from .runs.interrupts import held_interrupts, interrupts_ignored, stop_line, terminated

    args = None
    try:
        args = build_parser().parse_args(argv)
        # a Ctrl-C that cuts an import short can surface as a misleading ImportError (numpy's C
        # extension does this): finish the imports first, then stop
        with held_interrupts():
            for name in _HEAVY_MODULES:
                importlib.import_module(name)
        return args.func(args)
    except KeyboardInterrupt as exc:
        with interrupts_ignored():  # a second Ctrl-C or SIGTERM must not turn the one line into a traceback
            print(
                stop_line(
                    exc,
                    getattr(args, "command", None),
                    getattr(args, "archive", None),
                    getattr(args, "generations", None),
                    PROG,
                ),
                file=sys.stderr,
            )
        return 143 if terminated(exc) else 130
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except Exception as exc:
        if not _is_user_error(exc):
            raise
        print(f"{PROG}: error: {_in_cli_words(' '.join(str(exc).split()))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
