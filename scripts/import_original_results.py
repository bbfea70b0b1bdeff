"""Convert the original study's traces (../shared/seed/original_results) into package data.

Usage: python scripts/import_original_results.py SOURCE_DIR [--out FOLDER]

Writes course_rl/data/original/<experiment>-seed<N>.npz (or FOLDER/...) with a ``format`` tag,
the experiment names of course_rl.config and ``best_eval_return`` for
``best_100_episode_return``. The data are the original study's (A. Leite,
"continuous-rl-exploration", 2022).
"""

import argparse
from pathlib import Path

import numpy as np

PACKAGE_DATA = Path(__file__).resolve().parents[1] / "course_rl" / "data" / "original"

NAMES = {"REINFORCE-cartpole": "reinforce-cartpole", "A2C-cartpole": "a2c-cartpole",
         "REINFORCE-cheetah": "reinforce-cheetah", "A2C-cheetah": "a2c-cheetah",
         "REINFORCE-cheetahVAE": "reinforce-cheetah-pixels", "A2C-cheetahVAE": "a2c-cheetah-pixels"}


def main(source: str, out: Path = PACKAGE_DATA) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(Path(source).glob("*.npz")):
        condition, seed = f.stem.rsplit("-", 1)
        with np.load(f, allow_pickle=False) as d:
            arrays = {
                "format": np.asarray("course_rl.original/1"),
                "training_episode_returns": d["training_episode_returns"],
                "eval_episode_returns": d["eval_episode_returns"],
                "value_rmse": d["value_rmse"],
                "mean_objective": d["mean_objective"],
                "best_eval_return": d["best_100_episode_return"],
            }
        np.savez_compressed(out / f"{NAMES[condition]}-seed{seed}.npz", **arrays)
        print(f.name, "->", f"{NAMES[condition]}-seed{seed}.npz")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="folder of the original's <condition>-<seed>.npz traces")
    parser.add_argument("--out", default=str(PACKAGE_DATA),
                        help="where to write (default: the package's data/original)")
    args = parser.parse_args()
    main(args.source, Path(args.out))
