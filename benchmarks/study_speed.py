"""Wall time of a study with 1 worker and with N workers, side by side in one run.

    python benchmarks/study_speed.py --experiment a2c-cartpole --episodes 250 --seeds 4 --workers 2

Each worker is a separate process (joblib) training whole seeds, so the speed-up is bounded by
the number of cores and by each process's start-up (importing TensorFlow, compiling).
"""

import argparse
import tempfile
import time

from course_rl import config as configs
from course_rl.study import run_study


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default="a2c-cartpole")
    parser.add_argument("--episodes", type=int, default=250)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = configs.get(args.experiment).replace(episodes=args.episodes)
    seeds = list(range(args.seeds))
    times = {}
    for workers in (1, args.workers):
        with tempfile.TemporaryDirectory() as root:
            start = time.perf_counter()
            # 1 worker trains the seeds one after another in this process; N workers are fresh
            # processes that each pay TensorFlow's import before their first seed
            run_study(config, seeds, root=root, workers=workers, progress=False)
            times[workers] = time.perf_counter() - start
    print(f"{args.experiment}, {args.episodes} episodes x {args.seeds} seeds:")
    for workers, seconds in times.items():
        print(f"  {workers} worker(s): {seconds:7.1f} s")
    print(f"  speed-up of {args.workers} workers over 1: {times[1] / times[args.workers]:.2f}x")


if __name__ == "__main__":
    main()
