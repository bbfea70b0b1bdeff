"""Studies: many seeds of an experiment, in parallel processes (joblib) or on a Ray cluster.

Every seed is an independent ``training.train`` call writing its own run folder, so a study
skips finished seeds and resumes interrupted ones simply by running again.

Taught in notebooks/05_results.ipynb.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from . import results
from .config import Config

DEFAULT_ROOT = Path("runs")


def parse_seeds(text: str) -> list[int]:
    """``"0-19"`` -> 0..19, ``"0,3,5-7"`` -> [0, 3, 5, 6, 7]."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ValueError(f"bad seed list {text!r}: use e.g. 0-19 or 0,2,5-7 (non-negative integers)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ValueError(f"bad seed range {part!r}: the end is below the start")
        seeds.extend(range(lo, hi + 1))
    return sorted(set(seeds))


def _limit_threads() -> None:
    """One process per core: keep each worker's numerical libraries single-threaded."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(var, "1")


def run_seed(config: Config, seed: int, backend: str, root: str, progress: bool = False) -> dict:
    """Train one seed into ``root`` (a worker's job); returns a small summary dict."""
    _limit_threads()
    from .training import train
    folder = results.run_dir(root, config.name, backend, seed)
    started = time.perf_counter()
    run = train(config, seed=seed, backend=backend, out=folder, progress=progress)
    return {"seed": seed, "best_eval_return": run.best_eval_return,
            "seconds": time.perf_counter() - started, "folder": str(folder)}


def run_study(config: Config, seeds, backend: str = "pybullet", root=DEFAULT_ROOT,
              workers: int = 1, ray_address: str | None = None, progress: bool = True) -> list[dict]:
    """Train ``config`` for every seed; finished seeds are loaded, interrupted ones resumed.

    ``workers`` processes share the seeds (joblib, one seed per task); with ``ray_address``
    ("auto", "local" or "ray://host:10001") the seeds run as Ray tasks on that cluster instead.
    """
    from tqdm.auto import tqdm
    seeds = list(seeds)
    root = str(root)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if ray_address is not None:
        return _run_on_ray(config, seeds, backend, root, ray_address, progress)
    if workers == 1:
        return [run_seed(config, s, backend, root, progress) for s in seeds]
    from joblib import Parallel, delayed
    jobs = (delayed(run_seed)(config, s, backend, root) for s in seeds)
    out = []
    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
    with tqdm(total=len(seeds), disable=not progress, desc=f"{config.name} seeds", unit="run") as bar:
        for summary in parallel(jobs):
            out.append(summary)
            bar.update(1)
    return sorted(out, key=lambda d: d["seed"])


def _run_on_ray(config, seeds, backend, root, address, progress):
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray needs the ray extra: pip install 'course_rl[ray]'") from None
    from tqdm.auto import tqdm
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=None if address == "local" else address, ignore_reinit_error=True,
                 log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(run_seed)
        pending = [remote.remote(config, s, backend, root) for s in seeds]
        out = []
        with tqdm(total=len(seeds), disable=not progress, desc=f"{config.name} seeds (ray)") as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                out.append(ray.get(done[0]))
                bar.update(1)
        return sorted(out, key=lambda d: d["seed"])
    finally:
        if started_here:
            ray.shutdown()
