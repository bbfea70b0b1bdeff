"""The ``course-rl`` command line (also ``python -m course_rl``).

    course-rl list                                   the experiments, and how each differs from its parent
    course-rl show a2c-cartpole-improved             every field of one experiment
    course-rl train a2c-cartpole --seed 0            one run, resumable
    course-rl train a2c-cartpole --set policy_lr=3e-4 hidden_sizes=64,64
    course-rl study a2c-cheetah --seeds 0-9 --workers 2
    course-rl study a2c-cheetah --seeds 0-9 --ray auto
    course-rl summary                                best, final and last-quarter scores, with CIs
    course-rl plot --out figures                     training curves and violins

Runs go to ``runs/<experiment>/<backend>/seed-<N>/`` unless ``--root``/``--out`` say otherwise;
``summary`` and ``plot`` read ``--root`` (default: the results shipped with the package).
``--set field=value`` changes any ``Config`` field (``course-rl show NAME`` lists them); the
changed experiment is named after its changes (``a2c-cartpole+policy_lr=0.0003``) unless
``--set name=...`` names it. Bad input costs one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument costs one line on stderr, not a usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .config import EXPERIMENTS
    from .tasks import BACKENDS

    names = ", ".join(sorted(EXPERIMENTS))
    parser = _Parser(prog="course-rl", description="Train and study REINFORCE and A2C agents "
                     "(course_rl). Every experiment is a named config; see `course-rl list`.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="list the experiments and how each differs from its parent")

    def settings(p):
        p.add_argument("--set", dest="settings", nargs="+", action="extend", default=[],
                       metavar="FIELD=VALUE",
                       help="change config fields, e.g. --set policy_lr=3e-4 hidden_sizes=64,64 "
                            "gae_lambda=none squash_means=true (`course-rl show NAME` lists the "
                            "fields); the experiment is renamed after the changes unless "
                            "name=... is set")

    p = sub.add_parser("show", help="print every field of an experiment and what differs from its parent")
    p.add_argument("experiment", help=f"experiment name, one of: {names}")
    settings(p)

    p = sub.add_parser("train", help="train one seed of an experiment (resumes if interrupted)")
    p.add_argument("experiment", help=f"experiment name, one of: {names}")
    p.add_argument("--seed", type=int, default=0, help="random seed, a non-negative integer (default 0)")
    p.add_argument("--backend", default="pybullet", choices=BACKENDS,
                   help="physics engine (default pybullet, the original study's)")
    p.add_argument("--out", default=None,
                   help="run folder (default runs/<experiment>/<backend>/seed-<N>)")
    p.add_argument("--episodes", type=int, default=None,
                   help="override the number of training episodes (for quick trials; the "
                        "experiment is renamed <name>-<N>ep)")
    settings(p)

    p = sub.add_parser("study", help="train many seeds in parallel, skipping finished runs")
    p.add_argument("experiment", help=f"experiment name, one of: {names}")
    p.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-19 or 0,3,5-7 (default 0-4)")
    p.add_argument("--workers", type=int, default=1,
                   help="parallel processes (default 1; at most one per core)")
    p.add_argument("--backend", default="pybullet", choices=BACKENDS, help="physics engine")
    p.add_argument("--root", default="runs", help="results root folder (default runs)")
    p.add_argument("--no-wait", dest="wait", action="store_false",
                   help="skip seeds that another live process is training (default: wait for them)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the seeds as Ray tasks on this cluster: 'auto', 'local', host:port "
                        "(the head's GCS port) or ray://host:10001; finished runs are gathered "
                        "into --root on this machine")
    p.add_argument("--ray-token-file", default=None, metavar="FILE",
                   help="the cluster's authentication token (clusters started with "
                        "RAY_AUTH_MODE=token; `ray get-auth-token` on the head prints it); "
                        "default: RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH if set")
    p.add_argument("--ray-timeout", type=_positive_seconds, default=60.0, metavar="SECONDS",
                   help="give up connecting to the Ray cluster after this long (default 60)")
    settings(p)

    for name, helptext in (("summary", "print each experiment's best, final and last-quarter greedy "
                                       "returns (mean over runs, 95%% CI) beside the original study's"),
                           ("plot", "write training-curve and violin figures")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--root", default=None,
                       help="results root folder (default: the results shipped with course_rl)")
        p.add_argument("--backend", default="pybullet", choices=BACKENDS, help="physics engine")
        p.add_argument("--experiments", nargs="*", default=None, help="experiments (default: all found)")
        if name == "plot":
            p.add_argument("--out", default="figures", help="folder for the PNG files (default figures)")
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    text = " ".join(str(message).split())
    print(f"course-rl: warning: {text}", file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    shown, warnings.showwarning = warnings.showwarning, _one_line_warning
    try:
        return _dispatch(args)
    except (ValueError, RuntimeError, OSError, FloatingPointError) as err:
        text = " ".join(str(err).split()) or type(err).__name__
        print(f"course-rl: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course-rl: interrupted; finished runs and the last checkpoint are kept "
              "(run the same command again to resume)", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = shown


def _config(args):
    """The named experiment with ``--episodes`` and ``--set`` applied."""
    from . import config as configs
    config = configs.get(args.experiment)
    if getattr(args, "episodes", None) is not None:
        config = config.replace(episodes=args.episodes, name=f"{config.name}-{args.episodes}ep")
    return configs.with_settings(config, args.settings)


def _list() -> None:
    from . import config as configs
    from .config import format_value
    rows = [("experiment", "algorithm", "task", "episodes", "actors", "what it is")]
    for name, c in sorted(configs.EXPERIMENTS.items()):
        parent = configs.parent(name)
        if parent is None:
            what = (f"original study: modes={c.n_modes} hidden={format_value(c.hidden_sizes)} "
                    f"lr={c.policy_lr:g} discount={c.discount} persistence={c.persistence} "
                    f"entropy={c.entropy_weight}")
        else:
            changes = configs.differences(c, parent)
            what = f"{parent.name} with " + ", ".join(f"{k}={format_value(new)}"
                                                      for k, (_, new) in changes.items())
        rows.append((name, c.algorithm, c.task, str(c.episodes), str(c.actor_count), what))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(x.ljust(w) for x, w in zip(r, widths)) + "  " + r[5])
    print("(`course-rl show NAME` prints every field of one experiment)")


def _show(args) -> None:
    from . import config as configs
    from .config import format_value
    config = _config(args)
    reference = configs.get(args.experiment) if args.settings else configs.parent(config.name)
    kind = f"{config.algorithm} on {config.task}"
    print(f"{config.name}: {kind}" + (f", derived from {reference.name}" if reference else
                                      ", an experiment of the original study"))
    if config.description:
        print(config.description)
    print()
    changes = configs.differences(config, reference) if reference else {}
    rows = [("field", "value", reference.name if reference else "")]
    for field in configs.FIELD_KINDS:
        if field == "description":
            continue
        value = format_value(getattr(config, field))
        rows.append((field, value, format_value(changes[field][0]) if field in changes else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for i, r in enumerate(rows):
        mark = "*" if r[0] in changes else " "
        print(f"{mark if i else ' '} {r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2]}".rstrip())
    if reference:
        print(f"{len(changes)} field(s) differ from {reference.name} (marked *)"
              + (": " + ", ".join(changes) if changes else ""))


def _dispatch(args) -> int:
    from . import results
    from . import study as studies

    if args.command == "list":
        _list()
        return 0

    if args.command == "show":
        _show(args)
        return 0

    if args.command == "train":
        config = _config(args)
        if not 0 <= args.seed <= studies.MAX_SEED:
            raise ValueError(f"--seed must be an integer from 0 to {studies.MAX_SEED}, got {args.seed}")
        if args.out is not None:
            folder = studies.writable_folder(args.out, "--out")
        else:
            root = studies.writable_folder("runs", "results root")
            folder = results.run_dir(root, config.name, args.backend, args.seed)
            studies._limit_threads()
        summary = studies.train_folder(config, args.seed, args.backend, folder, progress=True)
        if summary["status"] == "held":
            raise RuntimeError(f"{folder} is being trained by another process "
                               f"({summary['holder']}); wait for it or stop it")
        if summary["recovered"]:
            warnings.warn(summary["recovered"], studies.StudyWarning)
        shown = args.out if args.out is not None else results.run_dir("runs", config.name,
                                                                       args.backend, args.seed)
        print(f"{config.name} seed {args.seed}: best greedy 100-episode mean "
              f"{summary['best_eval_return']:.2f} -> {shown}")
        return 0

    if args.command == "study":
        config = _config(args)
        seeds = studies.parse_seeds(args.seeds)
        out = studies.run_study(config, seeds, backend=args.backend, root=args.root,
                                workers=args.workers, ray_address=args.ray, wait=args.wait,
                                ray_timeout=args.ray_timeout, ray_token_file=args.ray_token_file)
        for s in out:
            if s["status"] == "held":
                print(f"seed {s['seed']:3d}: skipped, held by {s['holder']}")
            else:
                print(f"seed {s['seed']:3d}: best {s['best_eval_return']:9.2f}  "
                      f"({s['seconds']:.0f} s, {s['status']})")
        return 0

    if args.command in ("summary", "plot"):
        from . import stats
        root = Path(args.root) if args.root else results.shipped_root()
        if not root.is_dir():
            raise ValueError(f"--root {str(root)!r} is not a folder of results")
        found = sorted(p.name for p in root.glob("*") if (p / args.backend).is_dir())
        experiments = args.experiments or found
        unknown = [e for e in experiments if e not in found]
        if unknown:
            raise ValueError(f"no runs of {', '.join(map(repr, unknown))} under {root} for backend "
                             f"{args.backend}; experiments there: {', '.join(found) or 'none'}")
        if not experiments:
            raise ValueError(f"no runs found under {root} for backend {args.backend}")
        if args.command == "summary":
            print(stats.summary_table(root, experiments, args.backend))
            return 0
        from . import plots
        studies.writable_folder(args.out, "--out")
        written = plots.write_figures(root, experiments, args.backend, Path(args.out))
        for path in written:
            print(path)
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
