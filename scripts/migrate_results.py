"""Give finished run folders written before manifests existed their ``manifest.json``.

A run folder is finished once its manifest records the size and SHA-256 of each of its files
(``course_rl.results``, the commit protocol). Folders finished by an older course_rl have a
trace but no manifest: they still load (unverified). This script checks each such folder (its
trace and config load, its policy weights load into the policy network, its normaliser is
there if the run normalised observations) and writes the manifest; folders that already have
one are verified. It never rewrites a run's data files.

    python scripts/migrate_results.py                 # the shipped results (course_rl/data/results)
    python scripts/migrate_results.py runs --check    # only report, write nothing

Exit status 1 if a folder is damaged or incomplete (each is named, with what is wrong).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from course_rl import results, video


def migrate(root: Path, check_only: bool = False, quick: bool = False,
            exclude: tuple = ()) -> dict:
    """Counts of ``migrated``, ``verified`` (manifest already there), ``excluded``, ``failed``;
    prints each failure. ``exclude``: folders under ``root`` (e.g. "a2c-cheetah/pybullet") left
    as they are."""
    counts = {"migrated": 0, "verified": 0, "excluded": 0, "failed": 0}
    for trace in sorted(root.rglob(results.TRACE_FILE)):
        folder = trace.parent
        if any(folder.is_relative_to(root / e) for e in exclude):
            counts["excluded"] += 1
            continue
        try:
            committed = results.read_manifest(folder) is not None
            run = results.load_trace(folder)
            missing = results._missing_files(folder, run.config)
            if missing:
                raise results.ResultsError(f"{folder} lacks {', '.join(missing)}")
            if not quick:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    video.load_policy(folder)  # weights (and normaliser) fit the network
        except (ValueError, NotImplementedError) as err:
            counts["failed"] += 1
            print(f"FAILED {folder}: {err}", file=sys.stderr)
            continue
        if committed:
            counts["verified"] += 1
        else:
            if not check_only:
                results.write_manifest(folder)
            counts["migrated"] += 1
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=results.shipped_root(),
                        help="folder searched for run folders (default: the shipped results)")
    parser.add_argument("--check", action="store_true", help="report only, write nothing")
    parser.add_argument("--quick", action="store_true",
                        help="skip loading each policy into its network (faster)")
    parser.add_argument("--exclude", action="append", default=[], metavar="FOLDER",
                        help="leave the run folders under ROOT/FOLDER as they are (repeatable), "
                             "e.g. runs another process is still replacing")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"no folder at {args.root}")
    counts = migrate(args.root, args.check, args.quick, tuple(args.exclude))
    verb = "would get" if args.check else "got"
    print(f"{args.root}: {counts['migrated']} run(s) {verb} a manifest, {counts['verified']} "
          f"verified, {counts['excluded']} excluded, {counts['failed']} damaged or incomplete")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
