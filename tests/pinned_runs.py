"""Short fixed-seed runs whose every array is pinned (tests/test_pinned_runs.py).

``python tests/pinned_runs.py`` rewrites ``tests/data/pinned_runs.json`` (a SHA-256 digest of
each array's dtype, shape and bytes) from the current code: only do that on purpose, when a
change is *meant* to change what training computes.

The digests are exact, and exactness depends on one thing besides the code: OpenBLAS (NumPy's
matrix library) picks its kernels by CPU at run time, and kernels sum in different orders. On an
AVX-512 AMD EPYC, its own choice changed 53 of the 65 arrays of the a2c-cheetah case; with
``OPENBLAS_CORETYPE=SkylakeX`` none. So every case runs in a child process with the kernel
named (``OPENBLAS_CORETYPE``), and the file keeps the digests of each kernel this script could
run: ``{kernel: {case: {array: digest}}}``. A kernel needs its CPU features (``KERNELS``).
The thread counts move the bits too (TensorFlow splits its sums over its intra-op threads), so
the child also gets the recording machine's, two of each (``THREADS``), whatever the parent
process set (``study._limit_threads`` sets them to 1 in a process that ran a study's seed).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "pinned_runs.json"
KERNELS = {"SkylakeX": ("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"),
           "Haswell": ("avx2", "fma")}
"""OpenBLAS kernels the digests are recorded for, with the CPU flags each one needs."""
THREADS = {var: "2" for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                                  "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
"""Thread counts of the children: those of the 2-core machines that recorded the digests."""


def digest(array) -> str:
    a = np.ascontiguousarray(np.asarray(array))
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()[:32]

# (label, experiment, backend, changes): an original and an improved variant of each task,
# both backends where they run, a few cycles each
CASES = (
    ("reinforce-cartpole", "reinforce-cartpole", "pybullet", dict(episodes=4, eval_every=2, eval_episodes=3)),
    ("a2c-cartpole-improved", "a2c-cartpole-improved", "pybullet",
     dict(episodes=75, eval_every=25, eval_episodes=3, minibatch_size=64, epochs=2)),
    ("a2c-cartpole-improved-mujoco", "a2c-cartpole-improved", "mujoco",
     dict(episodes=75, eval_every=25, eval_episodes=3, minibatch_size=64, epochs=2)),
    ("a2c-cheetah", "a2c-cheetah", "pybullet", dict(episodes=30, eval_every=10, eval_episodes=2, epochs=2)),
    ("reinforce-cheetah-improved", "reinforce-cheetah-improved", "pybullet",
     dict(episodes=3, eval_every=2, eval_episodes=2, epochs=2)),
    ("a2c-cheetah-improved-mujoco", "a2c-cheetah-improved", "mujoco",
     dict(episodes=30, eval_every=10, eval_episodes=2, epochs=2)),
)


def run_case(experiment: str, backend: str, changes: dict) -> dict:
    """Every array of a short run: its trace, its best policy, and the full state (weights,
    optimiser, noise, random generators) it checkpoints after its first cycle."""
    from course_rl import config, results
    from course_rl.agent import DIAGNOSTICS
    from course_rl.training import train

    cfg = config.get(experiment).replace(**changes)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        interrupted(cfg, backend, folder)
        state = results.load_npz(folder / "checkpoint.npz")
        out.update({f"checkpoint/{k}": v for k, v in state.items()
                    if k.startswith(("agent/", "sampler/", "rng/", "best/"))})
        run = train(cfg, seed=1, backend=backend, out=folder, progress=False)
        # (the per-cycle diagnostics came after the digests: they describe the run, the
        # digests pin that recording them leaves training as it was)
        out.update({f"trace/{k}": v for k, v in run.arrays.items()
                    if k not in ("wall_time", "task_version", "backend") + DIAGNOSTICS})
    whole = train(cfg, seed=1, backend=backend, progress=False)
    out.update({f"best/w{i}": w for i, w in enumerate(whole.best_policy)})
    return out


def interrupted(cfg, backend, folder) -> None:
    """Train one cycle into ``folder`` and stop, leaving its checkpoint."""
    from course_rl.training import Interrupted, stop_after, train
    try:
        train(cfg, seed=1, backend=backend, out=folder, progress=False, callback=stop_after(1))
    except Interrupted:
        return
    raise AssertionError("the run was not interrupted")


def kernels_here() -> list[str]:
    """The kernels of ``KERNELS`` this CPU can run (none off Linux x86-64)."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in open("/proc/cpuinfo")
                      if line.startswith("flags")), [])
    except OSError:
        return []
    return [kernel for kernel, needs in KERNELS.items() if set(needs) <= set(flags)]


def digests_in_child(label: str, kernel: str) -> dict[str, str]:
    """Run case ``label`` in a fresh process on OpenBLAS kernel ``kernel``; its digests."""
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, **THREADS)
    done = subprocess.run([sys.executable, __file__, "--case", label], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"pinned case {label} on {kernel} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv) -> None:
    if argv[:1] == ["--case"]:  # a child: one case, its digests as one JSON line
        case = next(c for c in CASES if c[0] == argv[1])
        print(json.dumps({k: digest(v) for k, v in run_case(*case[1:]).items()}))
        return
    pins = json.loads(DATA.read_text()) if DATA.exists() else {}
    for kernel in kernels_here():
        pins[kernel] = {label: digests_in_child(label, kernel) for label, *_ in CASES}
        print(f"{kernel}: {sum(map(len, pins[kernel].values()))} arrays")
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA} (kernels {sorted(pins)}; the others kept as they were)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parents[1]))
    main(sys.argv[1:])
