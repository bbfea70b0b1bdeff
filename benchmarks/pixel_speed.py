"""Speed of the pixel task: physics, rendering, VAE encoding and acting, for 10 environments.

Prints, for ``--envs`` environments stepped together (default 10):

* frames/s of the whole step -- physics, render, encode, act -- the way training runs it
  (``pixels.observe``: the frames drawn by ``course_rl.cheetah_frames``, one encoder call for
  all environments) and the way it ran before (each frame drawn by TinyRenderer whole,
  ``render_tinyrenderer``, then the same encoder call), measured side by side in one run:
  tries of the two alternate, and the best try of each counts (other programs on the machine
  can only slow a try down). Wall-clock and CPU time (this process) are both given: on a busy
  machine the CPU time says what a core of its own would do;
* where the time goes: each part alone, per frame;
* ``pixels.step_timings``: the same parts as chapter 6 shows them;

then times one real A2C training cycle (10 actors x 500 steps, and the update), one greedy
evaluation round (20 environments x 500 steps) and one REINFORCE episode, and projects the
wall time of a full run (250 cycles and 11 evaluations of 100 episodes, as a2c-cheetah-pixels
runs; and 2500 episodes of REINFORCE).

    python benchmarks/pixel_speed.py [--envs 10] [--steps 40] [--tries 5] [--episode-steps 500]

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
from course_rl.vae import latent_sample

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


def observe_tinyrenderer(envs) -> np.ndarray:
    """``pixels.observe`` as it was before ``course_rl.cheetah_frames``: every frame drawn by
    TinyRenderer whole, then one encoder call for all (the same frames and codes)."""
    encoder = envs[0].encoder
    mean, log_var = encoder(np.stack([env.unwrapped.render_tinyrenderer() for env in envs]))
    noise = np.stack([env.unwrapped.np_random.standard_normal(encoder.latent_dim) for env in envs])
    codes = mean if envs[0].latent == "mean" else latent_sample(mean, log_var, noise)
    return np.stack([env.remember(code, False) for env, code in zip(envs, codes)])


def best_times(parts: dict, calls: int, tries: int) -> dict:
    """``{name: (best wall seconds, best CPU seconds)}`` of ``calls`` calls of each part, over
    ``tries`` rounds in which the parts take turns."""
    best = {name: [np.inf, np.inf] for name in parts}
    for _ in range(tries):
        for name, part in parts.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for k in range(calls):
                part(k)
            best[name][0] = min(best[name][0], time.perf_counter() - wall)
            best[name][1] = min(best[name][1], time.process_time() - cpu)
    return best


def pipeline(n_envs: int, n_steps: int, tries: int) -> None:
    """The whole step, before and after, and its parts."""
    envs = pixel_envs(n_envs, EPISODE_STEPS)
    agent = Agent(EXPERIMENTS["a2c-cheetah-pixels"], (8,), (6,), seed=0)
    sampler = agent.make_sampler(n_envs)
    rows = np.arange(n_envs)
    actions = np.random.default_rng(0).uniform(-1, 1, (n_steps, n_envs, 6))
    obs = pixels.latent_batch(envs).reset(rows, rows)
    frames = pixels.render(envs)
    encoder = envs[0].encoder
    encoder(frames)  # the first call of a batch size traces the graph

    def physics(k):
        for env, action in zip(envs, actions[k % n_steps]):
            env.step_physics(action)

    def act(k):
        sampler.refresh()
        agent.act(obs, sampler, 1.0, rows)

    def step_with(observe):
        def step(k):
            physics(k)
            act(k)
            observe(envs)
        return step

    whole = best_times({"before": step_with(observe_tinyrenderer), "after": step_with(pixels.observe)},
                       n_steps, tries)
    frames_timed = n_envs * n_steps
    print(f"\n{n_envs} environments, physics + render + encode + act, best of {tries} tries of "
          f"{n_steps} steps each:")
    for name, label in (("before", "before: TinyRenderer draws every frame whole"),
                        ("after", "after: pixels.observe (cheetah_frames)")):
        wall, cpu = whole[name]
        print(f"  {label:46s} wall {rate(frames_timed, wall)}   CPU {rate(frames_timed, cpu)}")
    print(f"  speed-up: {whole['before'][0] / whole['after'][0]:.2f}x wall clock, "
          f"{whole['before'][1] / whole['after'][1]:.2f}x CPU time")

    parts = best_times({
        "physics": physics,
        "render, TinyRenderer (before)": lambda k: [env.unwrapped.render_tinyrenderer() for env in envs],
        "render, cheetah_frames (after)": lambda k: pixels.render(envs),
        f"encode, {n_envs} frames per call": lambda k: encoder(frames),
        "act (NumPy policy, sampled)": act}, n_steps, tries)
    print(f"where the time goes (per frame, best of {tries}):")
    for name, (wall, cpu) in parts.items():
        print(f"  {name:36s} wall {wall / frames_timed * 1e3:6.3f} ms   "
              f"CPU {cpu / frames_timed * 1e3:6.3f} ms")
    for env in envs:
        env.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", type=int, default=10, help="environments stepped together")
    parser.add_argument("--steps", type=int, default=40, help="steps per timing")
    parser.add_argument("--tries", type=int, default=5, help="tries of each timing (best counts)")
    parser.add_argument("--episode-steps", type=int, default=EPISODE_STEPS,
                        help=f"length of the timed training and evaluation episodes (the task: "
                             f"{EPISODE_STEPS})")
    args = parser.parse_args(argv)
    if args.envs < 1 or args.steps < 1 or args.tries < 1 \
            or not 1 <= args.episode_steps <= EPISODE_STEPS:
        parser.error(f"--envs, --steps and --tries must be positive and --episode-steps in "
                     f"[1, {EPISODE_STEPS}]; got {args.envs}, {args.steps}, {args.tries}, "
                     f"{args.episode_steps}")
    scale = EPISODE_STEPS / args.episode_steps

    pipeline(args.envs, args.steps, args.tries)

    envs = pixel_envs(args.envs, EPISODE_STEPS)
    print("\npixels.step_timings (chapter 6):")
    for label, seconds in pixels.step_timings(envs, n_steps=args.steps, repeats=args.tries).items():
        print(f"  {label:34s}", rate(1, seconds))
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
    print(f"\nA2C cycle: rollout 10 x 500 steps {rollout:.1f} s, update {update:.1f} s; "
          f"evaluation round 20 x 500 steps {evaluation:.1f} s"
          + (f" (measured on {args.episode_steps}-step episodes)" if scale != 1 else ""))
    evaluations = len(config.eval_cycles) + 1
    eval_total = evaluations * config.eval_episodes / 20 * evaluation
    a2c = config.cycles * (rollout + update) + eval_total
    print(f"projected a2c-cheetah-pixels ({config.cycles} cycles + {evaluations} x "
          f"{config.eval_episodes} eval episodes): {a2c / 3600:.1f} h (training "
          f"{config.cycles * (rollout + update) / 3600:.1f} h, evaluation {eval_total / 3600:.1f} h)")
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
