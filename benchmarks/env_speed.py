"""Raw environment speed of each task on each physics backend.

Steps every environment built by ``course_rl.tasks.make`` (each task on each backend it runs
on) with pre-generated uniform random actions (resetting when an episode ends) and prints steps
per second side by side, then compares the pybullet half-cheetah with the 6,000 steps/s target.
For reference it also times the bare pybullet physics of the cheetah (torques +
stepSimulation, no observation, reward or wrappers): the environment cannot be faster than that.
The pixel task renders and encodes every frame: give it fewer steps with ``--pixel-steps``.

    python benchmarks/env_speed.py --steps 20000 [--repeats 3] [--tasks cartpole,cheetah]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    from course_rl import bullet_envs, tasks
except ImportError:  # running from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from course_rl import bullet_envs, tasks

CHEETAH_TARGET = 6000.0


def env_speed(name: str, backend: str, steps: int, seed: int) -> float:
    """Steps per second of ``tasks.make(name, backend)`` under uniform random actions."""
    env = tasks.make(name, backend=backend, seed=seed)
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1.0, 1.0, (steps,) + env.action_space.shape).astype(np.float32)
    env.reset()
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def cheetah_physics_speed(steps: int, seed: int) -> float:
    """Steps per second of the bare pybullet cheetah physics (same actions, same resets)."""
    env = bullet_envs.HalfCheetahBulletEnv()
    pb, client, body, motors = bullet_envs.pb, env.client, env.robot, env._motors
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1.0, 1.0, (steps, 6)).astype(np.float32)
    forces = (np.clip(actions.astype(np.float64), -1, 1) * env.power).tolist()
    env.reset(seed=seed)
    cap = tasks.TASKS["cheetah"].max_episode_steps
    start = time.perf_counter()
    for i, f in enumerate(forces):
        pb.setJointMotorControlArray(body, motors, pb.TORQUE_CONTROL, forces=f,
                                     physicsClientId=client)
        pb.stepSimulation(physicsClientId=client)
        if (i + 1) % cap == 0:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20000, help="steps per measurement")
    parser.add_argument("--seed", type=int, default=0, help="seed of actions and resets")
    parser.add_argument("--repeats", type=int, default=1,
                        help="measure each this many times and keep the best (timing noise)")
    parser.add_argument("--pixel-steps", type=int, default=2000,
                        help="steps per measurement of the pixel task (a render and an encoder "
                             "call each)")
    parser.add_argument("--tasks", default=",".join(tasks.TASKS),
                        help="comma-separated task names (default: all)")
    args = parser.parse_args(argv)
    if args.steps <= 0 or args.repeats <= 0 or args.pixel_steps <= 0:
        parser.error(f"--steps, --pixel-steps and --repeats must be positive, got {args.steps}, "
                     f"{args.pixel_steps}, {args.repeats}")
    names = args.tasks.split(",")
    unknown = [n for n in names if n not in tasks.TASKS]
    if unknown:
        parser.error(f"unknown task(s) {unknown}; choose from {list(tasks.TASKS)}")

    def steps(name: str) -> int:
        return args.pixel_steps if name == "cheetah_pixels" else args.steps

    speeds = {(name, backend): max(env_speed(name, backend, steps(name), args.seed)
                                   for _ in range(args.repeats))
              for name in names for backend in tasks.TASKS[name].backends}
    physics = max(cheetah_physics_speed(args.steps, args.seed) for _ in range(args.repeats))

    print(f"raw env steps/s, uniform random actions, {args.steps:,} steps each "
          f"({args.pixel_steps:,} for cheetah_pixels), best of {args.repeats}")
    width = max(len(n) for n in names) + 2
    header = f"{'task':<{width}}" + "".join(f"{b:>14}" for b in tasks.BACKENDS)
    print(header)
    print("-" * len(header))
    for name in names:  # a task that does not run on a backend gets a "-"
        print(f"{name:<{width}}" + "".join(f"{speeds[name, b]:>14,.0f}" if (name, b) in speeds
                                           else f"{'-':>14}" for b in tasks.BACKENDS))
    print()
    cheetah = speeds.get(("cheetah", "pybullet"))
    if cheetah is None:
        print(f"bare pybullet cheetah physics: {physics:,.0f} steps/s")
        return
    print(f"pybullet cheetah: {cheetah:,.0f} steps/s = {cheetah / CHEETAH_TARGET:.2f} x the "
          f"{CHEETAH_TARGET:,.0f} steps/s target")
    print(f"  bare physics (torques + stepSimulation only): {physics:,.0f} steps/s = "
          f"{physics / CHEETAH_TARGET:.2f} x target; environment overhead "
          f"{1e6 / cheetah - 1e6 / physics:.0f} us/step")


if __name__ == "__main__":
    main()
