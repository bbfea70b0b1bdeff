"""How much of the half-cheetah's forward speed the VAE's codes of its last k frames carry.

The pixel task's observation is the codes of the last ``latent_frames`` frames (``Config``); this
measures what that buys. Every frame of whole episodes is rendered and encoded; the forward speed
(the sensors' x velocity) is read out linearly from the codes of the last k frames, and the
held-out R^2 of that read-out (``stats.cross_validated_r2``, folds by episode) is printed for
k = 1 .. ``--frames``, with each code a sample of the encoder's Gaussian (the study's) or its
mean. The states are those of the study's persistent random actor, or of a run's best policy
(``--policy RUN_FOLDER``, acting with ``--temp``).

    python scripts/velocity_readout.py [--episodes 40] [--frames 4] [--policy RUN_FOLDER] [--temp 1.0]
    python scripts/velocity_readout.py --sensors 3 ...   # every sensor reading from 3 frames' codes

The numbers behind ``a2c-cheetah-pixels-stable`` (see the comment above it in config.py)::

    python scripts/velocity_readout.py --episodes 40
    python scripts/velocity_readout.py --episodes 20 --temp 1.0 \\
        --policy course_rl/data/results/a2c-cheetah-improved/pybullet/seed-0

and behind ``a2c-cheetah-pixels-stable-wide-action`` (every one of the 17 readings, mean codes)::

    python scripts/velocity_readout.py --episodes 20 --steps 300 --temp 1.0 --sensors 3 \\
        --policy course_rl/data/results/a2c-cheetah-stable-wide/pybullet/seed-1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    from course_rl import pixels, stats, tasks
except ImportError:  # running from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from course_rl import pixels, stats, tasks
from course_rl.policy import PersistentRandomActor
from course_rl.vae import latent_sample

SENSORS = ("torso height", "torso pitch", "back thigh angle", "back shin angle",
           "back foot angle", "front thigh angle", "front shin angle", "front foot angle",
           "forward speed", "vertical speed", "pitch rate", "back thigh speed", "back shin speed",
           "back foot speed", "front thigh speed", "front shin speed", "front foot speed")
FORWARD_SPEED = SENSORS.index("forward speed")  # the sensors' x velocity (the reward's speed)
SKIP = 20  # first steps of an episode left out (the cheetah falls onto its feet)


def collect(episodes: int, n_envs: int, steps: int, policy, temp: float, seed: int):
    """Codes (mean, log-variance) of every frame and the sensor readings at each, per episode:
    arrays ``(episodes, steps + 1, ...)``."""
    rng = np.random.default_rng(seed)
    shape = pixels.FRAME_SHAPE
    envs = [tasks.make("cheetah", render_mode="rgb_array", width=shape[1], height=shape[0])
            for _ in range(n_envs)]
    encoder = pixels.load_encoder()
    actor = PersistentRandomActor(n_envs, (6,), 0.931, rng) if policy is None else None
    means, log_vars, speeds = [], [], []
    for _ in range(0, episodes, n_envs):
        obs = np.stack([env.reset(seed=int(rng.integers(2**31)))[0] for env in envs])
        if actor is not None:
            actor.reset()
        m, v, s = [], [], []
        for t in range(steps + 1):
            mean, log_var = encoder(pixels.render(envs))
            m.append(mean), v.append(log_var), s.append(obs)
            if t == steps:
                break
            actions = actor.act() if actor is not None else policy(obs, temp=temp)
            obs = np.stack([env.step(a)[0] for env, a in zip(envs, actions)])
        means.append(np.stack(m, 1)), log_vars.append(np.stack(v, 1)), speeds.append(np.stack(s, 1))
    for env in envs:
        env.close()
    return (np.concatenate(means)[:episodes], np.concatenate(log_vars)[:episodes],
            np.concatenate(speeds)[:episodes])


def readout(codes: np.ndarray, speeds: np.ndarray, k: int) -> float:
    """Held-out R^2 of ``speeds`` (one reading per frame, e.g. the forward speed) from the
    codes of the last ``k`` frames."""
    episodes, length = speeds.shape
    skip = min(SKIP, length - 1)
    stacked = np.concatenate([codes[:, skip - j:length - j] for j in range(k - 1, -1, -1)], -1)
    groups = np.repeat(np.arange(episodes), length - skip)
    return float(stats.cross_validated_r2(stacked.reshape(-1, stacked.shape[-1]),
                                          speeds[:, skip:].reshape(-1), groups,
                                          folds=min(5, episodes)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--frames", type=int, default=4, help="largest number of frames k")
    parser.add_argument("--policy", default=None,
                        help="a run folder whose best policy acts (default: the random actor)")
    parser.add_argument("--temp", type=float, default=1.0, help="the policy's sampling temperature")
    parser.add_argument("--envs", type=int, default=10, help="environments stepped together")
    parser.add_argument("--steps", type=int, default=tasks.TASKS["cheetah_pixels"].max_episode_steps,
                        help="steps per episode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sensors", type=int, default=None, metavar="K",
                        help="also read out every sensor reading from the mean codes of K frames")
    args = parser.parse_args(argv)
    if args.episodes < 2 or args.frames < 1 or args.envs < 1 or args.steps < args.frames + 1:
        parser.error(f"need --episodes >= 2, --frames >= 1, --envs >= 1 and --steps > --frames; "
                     f"got {args.episodes}, {args.frames}, {args.envs}, {args.steps}")
    if args.sensors is not None and not 1 <= args.sensors < args.steps:
        parser.error(f"--sensors K needs 1 <= K < --steps; got {args.sensors}")
    policy = None
    if args.policy is not None:
        from course_rl.video import load_policy
        policy = load_policy(Path(args.policy))
    started = time.perf_counter()
    means, log_vars, readings = collect(args.episodes, args.envs, args.steps, policy, args.temp,
                                        args.seed)
    speeds = readings[..., FORWARD_SPEED]
    samples = latent_sample(means, log_vars,
                            np.random.default_rng(args.seed).standard_normal(means.shape))
    who = "the persistent random actor" if policy is None else f"{args.policy} (temp {args.temp})"
    print(f"{args.episodes} episodes of {who}, {args.steps} steps, in "
          f"{time.perf_counter() - started:.0f} s; forward speed {speeds.mean():.2f} +/- "
          f"{speeds.std():.2f} m/s")
    print("held-out R^2 of the forward speed from the codes of the last k frames:")
    for name, codes in (("sample", samples), ("mean", means)):
        print(f"  {name:7s}" + "".join(f"  k={k}: {readout(codes, speeds, k):5.2f}"
                                      for k in range(1, args.frames + 1)))
    if args.sensors is not None:
        print(f"held-out R^2 of each sensor reading from the mean codes of the last {args.sensors} "
              f"frames:")
        for i, name in enumerate(SENSORS):
            print(f"  {name:22s} {readout(means, readings[..., i], args.sensors):5.2f}")


if __name__ == "__main__":
    main()
