"""The ``course-rl`` command line (also ``python -m course_rl``).

    course-rl list                                   the experiments and their settings
    course-rl train a2c-cartpole --seed 0            one run, resumable
    course-rl study a2c-cheetah --seeds 0-9 --workers 2
    course-rl study a2c-cheetah --seeds 0-9 --ray auto
    course-rl summary                                the original-style table
    course-rl plot --out figures                     training curves and violins

Runs go to ``runs/<experiment>/<backend>/seed-<N>/`` unless ``--root``/``--out`` say otherwise;
``summary`` and ``plot`` read ``--root`` (default: the results shipped with the package).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument costs one line on stderr, not a usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .config import EXPERIMENTS
    from .tasks import BACKENDS

    names = ", ".join(sorted(EXPERIMENTS))
    parser = _Parser(prog="course-rl", description="Train and study REINFORCE and A2C agents "
                     "(course_rl). Every experiment is a named config; see `course-rl list`.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="list the experiments and their hyperparameters")

    p = sub.add_parser("train", help="train one seed of an experiment (resumes if interrupted)")
    p.add_argument("experiment", help=f"experiment name, one of: {names}")
    p.add_argument("--seed", type=int, default=0, help="random seed, a non-negative integer (default 0)")
    p.add_argument("--backend", default="pybullet", choices=BACKENDS,
                   help="physics engine (default pybullet, the original study's)")
    p.add_argument("--out", default=None,
                   help="run folder (default runs/<experiment>/<backend>/seed-<N>)")
    p.add_argument("--episodes", type=int, default=None,
                   help="override the number of training episodes (for quick trials)")

    p = sub.add_parser("study", help="train many seeds in parallel, skipping finished runs")
    p.add_argument("experiment", help=f"experiment name, one of: {names}")
    p.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-19 or 0,3,5-7 (default 0-4)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--backend", default="pybullet", choices=BACKENDS, help="physics engine")
    p.add_argument("--root", default="runs", help="results root folder (default runs)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the seeds as Ray tasks on this cluster ('auto', 'local', or "
                        "ray://host:port); the root must be on a filesystem all nodes share")

    for name, helptext in (("summary", "print mean +/- std of the best 100-episode returns"),
                           ("plot", "write training-curve and violin figures")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--root", default=None,
                       help="results root folder (default: the results shipped with course_rl)")
        p.add_argument("--backend", default="pybullet", choices=BACKENDS, help="physics engine")
        p.add_argument("--experiments", nargs="*", default=None, help="experiments (default: all found)")
        if name == "plot":
            p.add_argument("--out", default="figures", help="folder for the PNG files (default figures)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except (ValueError, RuntimeError, FileNotFoundError, FloatingPointError) as err:
        print(f"course-rl: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course-rl: interrupted; finished runs and the last checkpoint are kept "
              "(run the same command again to resume)", file=sys.stderr)
        return 130


def _dispatch(args) -> int:
    from . import config as configs
    from . import results

    if args.command == "list":
        width = max(map(len, configs.EXPERIMENTS))
        for name, c in sorted(configs.EXPERIMENTS.items()):
            print(f"{name:{width}s} {c.algorithm:9s} task={c.task} episodes={c.episodes} "
                  f"actors={c.actor_count} modes={c.n_modes} hidden={list(c.hidden_sizes)} "
                  f"lr={c.policy_lr:g} discount={c.discount} persistence={c.persistence} "
                  f"entropy={c.entropy_weight}")
        return 0

    if args.command == "train":
        from .study import run_seed
        config = configs.get(args.experiment)
        if args.episodes is not None:
            config = config.replace(episodes=args.episodes, name=f"{config.name}-{args.episodes}ep")
        if args.seed < 0:
            raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
        if args.out is not None:
            from .training import train
            run = train(config, seed=args.seed, backend=args.backend, out=Path(args.out))
            summary = {"seed": args.seed, "best_eval_return": run.best_eval_return, "folder": args.out}
        else:
            summary = run_seed(config, args.seed, args.backend, "runs", progress=True)
        print(f"{config.name} seed {args.seed}: best greedy 100-episode mean "
              f"{summary['best_eval_return']:.2f} -> {summary['folder']}")
        return 0

    if args.command == "study":
        from .study import parse_seeds, run_study
        config = configs.get(args.experiment)
        seeds = parse_seeds(args.seeds)
        out = run_study(config, seeds, backend=args.backend, root=args.root,
                        workers=args.workers, ray_address=args.ray)
        for s in out:
            print(f"seed {s['seed']:3d}: best {s['best_eval_return']:9.2f}  ({s['seconds']:.0f} s)")
        return 0

    if args.command in ("summary", "plot"):
        from . import stats
        root = Path(args.root) if args.root else results.shipped_root()
        experiments = args.experiments or sorted(
            p.name for p in root.glob("*") if (p / args.backend).is_dir())
        if not experiments:
            raise ValueError(f"no runs found under {root} for backend {args.backend}")
        if args.command == "summary":
            print(stats.summary_table(root, experiments, args.backend))
            return 0
        from . import plots
        written = plots.write_figures(root, experiments, args.backend, Path(args.out))
        for path in written:
            print(path)
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
