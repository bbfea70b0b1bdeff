"""How a one-mode policy's spread evolves during training, with and without the original's defect 1.

    python scripts/spread_probe.py reinforce-cartpole           # the course's (fixed) REINFORCE
    python scripts/spread_probe.py reinforce-cartpole-defect1   # the original's mismatch restored

Trains seed 0 of the experiment in a temporary folder, pausing at the listed episodes. At each
pause it rebuilds the agent from the checkpoint and runs 20 on-policy episodes, recording per
step the spread actions are drawn with, the spread they are scored with (equal unless the
defect is on: sigmoid(-s) vs sigmoid(+s)), and whether the drawn action's scored density is
below the original's floor 1e-4 (then log(p + 1e-4) is flat in the mean: no gradient).
Seed 0 trains exactly like seed 0 of the shipped study, so the pauses look inside that run.
Chapter 3 quotes its output. One-mode, one-dimensional-action experiments only.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from course_rl import config, policy, tasks, training
from course_rl.agent import Agent


def probe(agent: Agent, env, episodes: int = 20, seed: int = 1) -> dict:
    cfg = agent.config
    rng = np.random.default_rng(seed)
    sampler = agent.actor.make_sampler(1, np.random.default_rng(0))  # a fresh seed-0 agent's noise
    drawn, scored, flat, lengths = [], [], [], []
    for _ in range(episodes):
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        for t in range(100_000):
            out = agent.actor.outputs(obs[None])
            flipped = out * np.array([1, 1, -1 if cfg.original_spread_defect else 1])
            scored.append(policy.mixture_params(out, 1, std_floor=cfg.std_floor, spread_cap=cfg.spread_cap)[2].item())
            drawn.append(policy.mixture_params(flipped, 1, std_floor=cfg.std_floor, spread_cap=cfg.spread_cap)[2].item())
            sampler.refresh()
            action = agent.act(obs[None], sampler)
            flat.append(policy.mixture_density(action, out, 1, cfg.squash_means, cfg.std_floor,
                                              cfg.spread_cap)[0, 0]
                        < cfg.log_density_floor)
            obs, _, terminated, truncated, _ = env.step(action[0])
            if terminated or truncated:
                break
        lengths.append(t + 1)
    return dict(drawn=np.median(drawn), scored=np.median(scored), flat=np.mean(flat),
                length=np.mean(lengths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    parser.add_argument("--at", default="250,500,1000,1500,2000,3000,3999",
                        help="episodes at which to look (comma-separated, below the run's length)")
    args = parser.parse_args()
    cfg = config.get(args.experiment)
    if cfg.n_modes != 1 or cfg.actor_count != 1:
        parser.error("one-mode, one-actor experiments only (e.g. reinforce-cartpole)")
    env = tasks.make(cfg.task)
    print(f"{cfg.name}, seed 0: median spread drawn / scored, share of actions with no gradient "
          "for the mean, mean on-policy episode length")
    with tempfile.TemporaryDirectory() as folder:
        done = 0
        for stop in (int(x) for x in args.at.split(",")):
            try:
                training.train(cfg, seed=0, out=folder, progress=False,
                               callback=training.stop_after(stop - done))
                parser.error(f"--at {stop}: the run ended before episode {stop}")
            except training.Interrupted:
                done = stop
            agent = Agent(cfg, env.observation_space.shape, env.action_space.shape, 0)
            training.Checkpoint(folder, cfg, "pybullet", agent).restore()
            p = probe(agent, env)
            print(f"  episode {stop:5d}: spread {p['drawn']:.3g} / {p['scored']:.3g}, "
                  f"no gradient {p['flat']:4.0%}, on-policy length {p['length']:.0f}", flush=True)


if __name__ == "__main__":
    main()
