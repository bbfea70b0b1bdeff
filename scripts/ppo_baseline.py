"""The off-the-shelf baseline the learning issue measures against: Stable-Baselines3's PPO with
its default settings on the course's half-cheetah.

PPO's defaults (a 64-64 tanh network, one environment, 2048 steps per rollout, 10 epochs of
minibatches of 64, Adam 3e-4, clip 0.2, GAE 0.95) with ``VecNormalize`` (observations and
rewards), on 500-step episodes of the course's ``tasks.make("cheetah")`` for 1.25 million steps,
the budget of the course's 2500 training episodes. Greedy (deterministic) returns are printed
every 250,000 steps (20 episodes) and at the end (100 episodes, the study's evaluation).

Stable-Baselines3 needs PyTorch, which the course does not use, so this runs in a venv of its
own with the course's source on ``PYTHONPATH`` (no TensorFlow is imported):

    python3.11 -m venv /tmp/sb3-venv
    /tmp/sb3-venv/bin/pip install stable-baselines3 torch gymnasium pybullet scipy mujoco
    PYTHONPATH=. OMP_NUM_THREADS=1 /tmp/sb3-venv/bin/python scripts/ppo_baseline.py --seed 0

Measured (2026-11-30, one core each, pybullet, task cheetah/pybullet/v3): seed 0 greedy 888,
1065, 1093, 1148 and 1178 after 250k ... 1.25M steps, final 100-episode mean 1202, 29 min.
(On task v1, before the contacts were made faithful: 1240 and 1276; on MuJoCo's HalfCheetah-v5:
913 and 1014.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

try:
    from course_rl import tasks
except ImportError:  # running from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from course_rl import tasks

STEPS = 1_250_000
EVERY = 250_000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="pybullet", choices=tasks.BACKENDS)
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps (default 1.25M)")
    parser.add_argument("--final-episodes", type=int, default=100)
    args = parser.parse_args(argv)
    try:
        import torch
        from stable_baselines3 import PPO
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
    except ImportError as err:
        raise SystemExit(f"ppo_baseline.py needs stable-baselines3 and torch ({err}); see its "
                         f"docstring for the venv it runs in")
    torch.set_num_threads(1)

    def make():
        return tasks.make("cheetah", backend=args.backend)

    env = VecNormalize(DummyVecEnv([make]), norm_obs=True, norm_reward=True)
    model = PPO("MlpPolicy", env, seed=args.seed, device="cpu", verbose=0)

    def greedy(episodes: int, first_seed: int) -> float:
        test, returns = make(), []
        for k in range(episodes):
            obs, _ = test.reset(seed=first_seed + k)
            total, done = 0.0, False
            while not done:
                action, _ = model.predict(env.normalize_obs(obs[None]), deterministic=True)
                obs, reward, terminated, truncated, _ = test.step(action[0])
                total += reward
                done = terminated or truncated
            returns.append(total)
        test.close()
        return float(np.mean(returns))

    started = time.time()

    class Report(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % EVERY == 0:
                print(f"{self.num_timesteps} steps: greedy {greedy(20, 10_000 + self.num_timesteps):.0f} "
                      f"({time.time() - started:.0f} s)", flush=True)
            return True

    print(f"task {tasks.version('cheetah', args.backend)}, seed {args.seed}", flush=True)
    model.learn(args.steps, callback=Report())
    final = greedy(args.final_episodes, 10_000)
    print(json.dumps({"seed": args.seed, "task": tasks.version("cheetah", args.backend),
                      "final_greedy": round(final, 2), "episodes": args.final_episodes,
                      "seconds": round(time.time() - started)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
