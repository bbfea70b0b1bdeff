"""Before and after a task version change: the superseded runs' scores beside the re-runs'.

When a task changes version (the pybullet half-cheetah went from v1 to v3 when its contacts were
made faithful to pybullet-gym's), its shipped runs are re-run and the old per-seed scores are
kept in ``course_rl/data/superseded/<name>.json``. This prints, for every experiment in that file,
the old and the new runs' best, final and last-quarter scores (mean [95% interval] over seeds),
Welch's test of new against old, and each one's Welch test against the original study's runs
(the test `course-rl summary` prints in its p column).

    python scripts/before_after.py [--superseded cheetah-pybullet-v1] [--root FOLDER]

``--root`` reads the new runs from a study folder instead of the shipped results.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

try:
    from course_rl import results, stats
except ImportError:  # running from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from course_rl import results, stats

SCORES = ("best", "final", "last_quarter")
RERUN_AS = {"a2c-cheetah-improved": "a2c-cheetah-stable",
            "reinforce-cheetah-improved": "reinforce-cheetah-stable"}
"""Experiments whose re-runs use newer settings: the improved half-cheetahs were re-run with the
stable settings (the issue on stable learning had landed), which change the same original."""


def cell(values) -> str:
    """``mean [low, high]`` of one score over seeds, or the value itself for one seed."""
    d = stats.describe(values)
    if d.n < 2:
        return f"{d.mean:.1f}"
    return f"{d.mean:.1f} [{d.ci_low:.0f}, {d.ci_high:.0f}]"


def welch_p(a, b) -> str:
    return f"{stats.compare(a, b).welch_p:.2g}" if min(len(a), len(b)) >= 2 else "-"


def before_after(superseded: str, root) -> list[str]:
    """The table's lines: two per experiment (before, after), then one of tests."""
    data = results.load_superseded(superseded)
    lines = [f"{'experiment':28s} {'runs':16s} {'n':>2s}  " + "  ".join(f"{s:>20s}" for s in SCORES)
             + f"  {'p vs original':>13s}"]
    for name, seeds in data["runs"].items():
        old = {s: np.array([v[s] for v in seeds.values()]) for s in SCORES}
        rerun = RERUN_AS.get(name, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the older runs that are left beside
            runs = results.load_runs(root, rerun)
        if runs and runs[0].task_version == data["task_version"]:
            runs = []  # not re-run yet
        new = {"best": stats.best_returns(runs), "final": stats.final_returns(runs),
               "last_quarter": stats.last_quarter_returns(runs)} if runs else None
        parent = stats._original_of(name, "pybullet")
        original = stats.best_returns(stats.complete_runs(results.load_original(parent)))
        for shown, label, group, version in (
                (name, data["task_version"], old, "before"),
                (rerun, runs[0].task_version if runs else "-", new, "after")):
            if group is None:
                lines.append(f"{shown:28s} {version + ': no runs yet':16s}")
                continue
            lines.append(f"{shown:28s} {version + ' ' + label.rsplit('/', 1)[-1]:16s} "
                         f"{len(group['best']):2d}  " + "  ".join(f"{cell(group[s]):>20s}" for s in SCORES)
                         + f"  {welch_p(group['best'], original):>13s}")
        if new is not None:
            tests = ", ".join(f"{s} {np.mean(new[s]) - np.mean(old[s]):+.1f} (p {welch_p(new[s], old[s])})"
                              for s in SCORES)
            lines.append(f"{'':28s} after - before: {tests}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--superseded", default="cheetah-pybullet-v1",
                        help="name of a file in course_rl/data/superseded (without .json)")
    parser.add_argument("--root", default=None, help="study folder of the new runs "
                        "(default: the shipped results)")
    args = parser.parse_args(argv)
    try:
        lines = before_after(args.superseded, args.root or results.shipped_root())
    except ValueError as err:
        parser.exit(2, f"before_after.py: error: {err}\n")
    print("\n".join(lines))
    print("mean [95% interval] over seeds; p = Welch's test (of the best scores against the "
          "original study's complete runs; after - before per score)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
