"""Short fixed-seed runs whose every array is pinned (tests/test_pinned_runs.py).

``python tests/pinned_runs.py`` rewrites ``tests/data/pinned_runs.json`` (a SHA-256 digest of
each array's dtype, shape and bytes) from the current code: only do that on purpose, when a
change is *meant* to change what training computes.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "pinned_runs.json"


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


def main() -> None:
    digests = {}
    for label, experiment, backend, changes in CASES:
        digests[label] = {k: digest(v) for k, v in run_case(experiment, backend, changes).items()}
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA} ({sum(map(len, digests.values()))} arrays)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parents[1]))
    main()
