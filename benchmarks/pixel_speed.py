"""Speed of the pixel task: rendering + VAE encoding, one at a time and batched over actors.

Prints frames per second of

* the standalone environment (``env.step``: physics, a 96x96 render and one encoder call);
* for 10 and 20 environments (``--envs``), ``course_rl.pixels.step_timings``: physics + render
  alone, the encoder alone one frame per call and all frames in one call, and a full step with
  one encoder call for all environments (what ``training.run_episodes`` does) versus each
  encoding its own frame;

then times one real A2C training cycle (10 actors x 500 steps, and the update), one greedy
evaluation round (20 environments x 500 steps) and one REINFORCE episode, and projects the
wall time of a full run with the original protocol (2500 training episodes, 51 evaluations
of 100 episodes).

    python benchmarks/pixel_speed.py [--envs 10,20] [--steps 40] [--episode-steps 500]

``--episode-steps`` shorter than the task's 500 cuts the timed episodes short (the projection
scales them back up): a quick check that the benchmark runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    from course_rl import pixels, tasks
except ImportError:  # running from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from course_rl import pixels, tasks
from course_rl.agent import Agent
from course_rl.config import EXPERIMENTS
from course_rl.training import run_episodes

EPISODE_STEPS = tasks.TASKS["cheetah_pixels"].max_episode_steps


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:6.0f} frames/s ({seconds / n * 1e3:.2f} ms/frame)"


def pixel_envs(n: int, episode_steps: int) -> list:
    """``n`` pixel-task environments sharing the shipped encoder, with ``episode_steps`` caps."""
    if episode_steps == EPISODE_STEPS:
        return [tasks.make("cheetah_pixels") for _ in range(n)]
    shape = pixels.FRAME_SHAPE
    return [pixels.LatentObservation(
        tasks.EpisodeCap(tasks.make("cheetah", render_mode="rgb_array", width=shape[1],
                                    height=shape[0]), episode_steps),
        pixels.load_encoder()) for _ in range(n)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", default="10,20",
                        help="comma-separated numbers of environments stepped together")
    parser.add_argument("--steps", type=int, default=40, help="steps per timing")
    parser.add_argument("--episode-steps", type=int, default=EPISODE_STEPS,
                        help=f"length of the timed training and evaluation episodes (the task: "
                             f"{EPISODE_STEPS})")
    args = parser.parse_args(argv)
    try:
        env_counts = [int(n) for n in args.envs.split(",")]
    except ValueError:
        parser.error(f"--envs must be comma-separated integers, got {args.envs!r}")
    if min(env_counts) < 1 or args.steps < 1 or not 1 <= args.episode_steps <= EPISODE_STEPS:
        parser.error(f"--envs and --steps must be positive and --episode-steps in "
                     f"[1, {EPISODE_STEPS}]; got {args.envs}, {args.steps}, {args.episode_steps}")
    scale = EPISODE_STEPS / args.episode_steps

    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (5 * args.steps, 6))
    env = tasks.make("cheetah_pixels", seed=0)
    env.reset()
    env.step(actions[0])  # the first encoder call traces the graph
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    print("standalone env (physics + render + encode 1 frame):",
          rate(len(actions), time.perf_counter() - start))
    env.close()

    for n in env_counts:
        envs = pixel_envs(n, EPISODE_STEPS)
        for label, seconds in pixels.step_timings(envs, n_steps=args.steps, repeats=1).items():
            print(f"{n} envs, {label:34s}", rate(1, seconds))
        for e in envs:
            e.close()

    config = EXPERIMENTS["a2c-cheetah-pixels"]
    envs = pixel_envs(20, args.episode_steps)
    agent = Agent(config, (8,), (6,), seed=0)
    start = time.perf_counter()
    episodes = run_episodes(envs[:10], agent, list(range(10)), sampler=agent.make_sampler(10),
                            record=True)
    rollout = (time.perf_counter() - start) * scale
    agent.update(episodes.transitions)  # the first update compiles
    start = time.perf_counter()
    agent.update(episodes.transitions)
    update = (time.perf_counter() - start) * scale
    start = time.perf_counter()
    run_episodes(envs, agent, list(range(100, 120)), temp=0.0)
    evaluation = (time.perf_counter() - start) * scale
    print(f"A2C cycle: rollout 10 x 500 steps {rollout:.1f} s, update {update:.1f} s; "
          f"evaluation round 20 x 500 steps {evaluation:.1f} s"
          + (f" (measured on {args.episode_steps}-step episodes)" if scale != 1 else ""))
    eval_total = 51 * 5 * evaluation  # 51 evaluations of 100 episodes, 20 at a time
    a2c = 250 * (rollout + update) + eval_total
    print(f"projected a2c-cheetah-pixels (250 cycles + 51 x 100 eval episodes): {a2c / 3600:.1f} h "
          f"(training {250 * (rollout + update) / 3600:.1f} h, evaluation {eval_total / 3600:.1f} h)")
    single_agent = Agent(EXPERIMENTS["reinforce-cheetah-pixels"], (8,), (6,), seed=0)
    start = time.perf_counter()
    episode = run_episodes(envs[:1], single_agent, [0], record=True)
    rollout1 = (time.perf_counter() - start) * scale
    single_agent.update(episode.transitions)
    start = time.perf_counter()
    single_agent.update(episode.transitions)
    update1 = (time.perf_counter() - start) * scale
    reinforce = 2500 * (rollout1 + update1) + eval_total
    print(f"REINFORCE episode: rollout {rollout1:.1f} s, update {update1:.2f} s; projected "
          f"reinforce-cheetah-pixels: {reinforce / 3600:.1f} h")
    for e in envs:
        e.close()


if __name__ == "__main__":
    main()
