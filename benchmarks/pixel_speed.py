"""Speed of the pixel task: rendering + VAE encoding, one at a time and batched over actors.

Prints frames per second of

* the standalone environment (``env.step``: physics, a 96x96 render and one encoder call);
* physics + render alone, and the encoder alone at batch sizes 1, 10 and 20;
* 10 and 20 environments stepped together with one encoder call per step (what
  ``training.run_episodes`` does) versus each encoding its own frame;

then times one real A2C training cycle (10 actors x 500 steps, and the update), one greedy
evaluation round (20 environments x 500 steps) and one REINFORCE episode, and projects the
wall time of a full run with the original protocol (2500 training episodes, 51 evaluations
of 100 episodes).

    python benchmarks/pixel_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

try:
    from course_rl import tasks, vae
except ImportError:  # running from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from course_rl import tasks, vae
from course_rl.agent import Agent
from course_rl.config import EXPERIMENTS
from course_rl.training import run_episodes


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:6.0f} frames/s ({seconds / n * 1e3:.2f} ms/frame)"


def main() -> None:
    encoder = vae.load_encoder()
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (200, 6))

    env = tasks.make("cheetah_pixels", seed=0)
    env.reset()
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    print("standalone env (physics + render + encode 1 frame):", rate(200, time.perf_counter() - start))
    start = time.perf_counter()
    for a in actions:
        env.step_frame(a)
    print("physics + render only:                             ", rate(200, time.perf_counter() - start))
    frames = np.stack([env.step_frame(a)[0] for a in actions[:20]])
    env.close()
    for b in (1, 10, 20):
        encoder(frames[:b])
        start = time.perf_counter()
        for _ in range(30):
            encoder(frames[:b])
        print(f"encoder alone, batch {b:2d}:                          ",
              rate(30 * b, time.perf_counter() - start))

    for n in (10, 20):
        envs = [tasks.make("cheetah_pixels") for _ in range(n)]
        batch = tasks.latent_batch(envs)
        for s, e in enumerate(envs):
            e.reset(seed=s)
        store = np.zeros((n,) + vae.IMAGE_SHAPE, np.uint8)
        start = time.perf_counter()
        for a in actions[:40]:
            for i, e in enumerate(envs):
                store[i] = e.step_frame(a)[0]
            batch.encode(store, range(n))
        batched = time.perf_counter() - start
        start = time.perf_counter()
        for a in actions[:40]:
            for e in envs:
                e.step(a)
        single = time.perf_counter() - start
        print(f"{n} envs, one encoder call per step:                ", rate(40 * n, batched))
        print(f"{n} envs, one encoder call per env:                 ", rate(40 * n, single))
        for e in envs:
            e.close()

    config = EXPERIMENTS["a2c-cheetah-pixels"]
    envs = [tasks.make("cheetah_pixels") for _ in range(20)]
    agent = Agent(config, (8,), (6,), seed=0)
    start = time.perf_counter()
    episodes = run_episodes(envs[:10], agent, list(range(10)), sampler=agent.make_sampler(10),
                            record=True)
    rollout = time.perf_counter() - start
    agent.update(episodes.transitions)  # the first update compiles
    start = time.perf_counter()
    agent.update(episodes.transitions)
    update = time.perf_counter() - start
    start = time.perf_counter()
    run_episodes(envs, agent, list(range(100, 120)), temp=0.0)
    evaluation = time.perf_counter() - start
    print(f"A2C cycle: rollout 10 x 500 steps {rollout:.1f} s, update {update:.1f} s; "
          f"evaluation round 20 x 500 steps {evaluation:.1f} s")
    eval_total = 51 * 5 * evaluation  # 51 evaluations of 100 episodes, 20 at a time
    a2c = 250 * (rollout + update) + eval_total
    print(f"projected a2c-cheetah-pixels (250 cycles + 51 x 100 eval episodes): {a2c / 3600:.1f} h "
          f"(training {250 * (rollout + update) / 3600:.1f} h, evaluation {eval_total / 3600:.1f} h)")
    single_agent = Agent(EXPERIMENTS["reinforce-cheetah-pixels"], (8,), (6,), seed=0)
    start = time.perf_counter()
    episode = run_episodes(envs[:1], single_agent, [0], record=True)
    rollout1 = time.perf_counter() - start
    single_agent.update(episode.transitions)
    start = time.perf_counter()
    single_agent.update(episode.transitions)
    update1 = time.perf_counter() - start
    reinforce = 2500 * (rollout1 + update1) + eval_total
    print(f"REINFORCE episode: rollout {rollout1:.1f} s, update {update1:.2f} s; projected "
          f"reinforce-cheetah-pixels: {reinforce / 3600:.1f} h")
    for e in envs:
        e.close()


if __name__ == "__main__":
    main()
