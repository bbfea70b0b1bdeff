"""Where the time of a training run goes, measured side by side in one process.

    python benchmarks/agent_speed.py --task cheetah --backend pybullet --actors 10 --cycles 3

Prints, for one task and backend:
  1. raw env steps/s (uniform random actions, the environments stepped one after another),
     and the same episodes as the rollout replayed open-loop without an agent (the physics
     floor of exactly those states: a policy's gait makes contacts that random actions do not);
  2. rollout steps/s with acting (course_rl: lockstep actors, one NumPy policy call per step
     for all of them, persistent noise);
  3. whole-cycle steps/s (rollout plus the 16-epoch update, compiled with XLA);
  4. greedy-evaluation steps/s (20 environments in lockstep);
  5. the same cycle done the original way: one tf.function policy call per environment step,
     actors one after another, and one tf.function call per minibatch update (reference);
and projects the wall time of a full original-protocol run (training plus every evaluation)
for course_rl, the physics floor and the original way.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def raw_steps_per_second(envs, steps: int) -> float:
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(steps,) + envs[0].action_space.shape).astype(np.float32)
    for i, env in enumerate(envs):
        env.reset(seed=i)
    start = time.perf_counter()
    for k in range(steps):
        env = envs[k % len(envs)]
        _, _, terminated, truncated, _ = env.step(actions[k])
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def replay_steps_per_second(envs, seeds, transitions) -> float:
    """The physics floor of one rollout: the same episodes (same seeds, same actions) stepped
    open-loop with no agent. Physics is deterministic, so the states, contacts and costs are
    exactly the rollout's; the difference in time is what acting costs."""
    start = time.perf_counter()
    steps = 0
    for env, seed, episode in zip(envs, seeds, transitions):
        env.reset(seed=int(seed))
        for action in episode.actions:
            env.step(action)
        steps += len(episode.actions)
    return steps / (time.perf_counter() - start)


def original_way_cycle(agent, envs, spec, minibatch_fn, rng):
    """One cycle as the original code ran it: TF per step, actors in turn, TF per minibatch."""
    import tensorflow as tf

    from course_rl.returns import Trajectory

    policy_call = original_way_cycle.policy_call
    sampler = agent.make_sampler(len(envs))
    steps = 0
    episodes = []
    for actor, env in enumerate(envs):
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        log_o, log_a, log_r = [], [], []
        done = False
        while not done:
            sampler.refresh()
            out = policy_call(tf.constant(obs[None], tf.float32)).numpy()
            action = sampler.select(out, 1.0, [actor])[0]
            next_obs, r, term, trunc, _ = env.step(action)
            log_o.append(obs), log_a.append(action), log_r.append(r)
            obs, done = next_obs, term or trunc
            steps += 1
        episodes.append(Trajectory(np.array(log_o, np.float32), np.array(log_a, np.float32),
                                   np.array(log_r), truncated=bool(trunc and not term),
                                   final_obs=obs))
    obs, actions, targets, advantages = agent.targets(episodes)
    n = len(obs) * agent.config.epochs // agent.config.minibatch_size
    for _ in range(n):
        idx = rng.integers(len(obs), size=agent.config.minibatch_size)
        minibatch_fn(obs[idx][None], actions[idx][None], targets[idx][None],
                     advantages[idx][None], advantages[idx][None])
    return steps


def original_way_eval(agent, env, episodes, rng):
    import tensorflow as tf
    policy_call = original_way_cycle.policy_call
    steps = 0
    for _ in range(episodes):
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        done = False
        while not done:
            out = policy_call(tf.constant(obs[None], tf.float32)).numpy()
            from course_rl.policy import greedy_actions
            obs, _, term, trunc, _ = env.step(greedy_actions(out)[0])
            done = term or trunc
            steps += 1
    return steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="cheetah")
    parser.add_argument("--backend", default="pybullet")
    parser.add_argument("--experiment", default="a2c-cheetah",
                        help="config whose hyperparameters and protocol are used")
    parser.add_argument("--actors", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--raw-steps", type=int, default=20_000,
                        help="steps of the raw environment-speed measurement")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from course_rl import config as configs
    from course_rl import tasks
    from course_rl.agent import Agent
    from course_rl.training import run_episodes

    cfg = configs.get(args.experiment).replace(task=args.task, actor_count=args.actors,
                                                episodes=max(args.actors, configs.get(args.experiment).episodes))
    spec = tasks.TASKS[args.task]
    envs = [tasks.make(args.task, backend=args.backend) for _ in range(args.actors)]
    eval_envs = envs + [tasks.make(args.task, backend=args.backend) for _ in range(max(0, 20 - args.actors))]
    obs_shape, action_shape = envs[0].observation_space.shape, envs[0].action_space.shape
    agent = Agent(cfg, obs_shape, action_shape, seed=0)
    rng = np.random.default_rng(0)

    # warm up: compile both update functions and touch every code path once
    ep = run_episodes(envs, agent, rng.integers(2**31, size=args.actors), record=True, spec=spec)
    agent.update(ep.transitions * 2)
    original_way_cycle.policy_call = tf.function(lambda x: agent.policy(x))
    mb = cfg.minibatch_size
    minibatch_fn = tf.function(agent._train_minibatches, input_signature=[
        tf.TensorSpec((1, mb) + obs_shape, tf.float32), tf.TensorSpec((1, mb) + action_shape, tf.float32),
        tf.TensorSpec((1, mb), tf.float32), tf.TensorSpec((1, mb), tf.float32),
        tf.TensorSpec((1, mb), tf.float32)])
    original_way_cycle(agent, envs[:1], spec, minibatch_fn, rng)

    raw = raw_steps_per_second(envs, args.raw_steps)

    start, steps, replays = time.perf_counter(), 0, []
    for _ in range(args.cycles):
        seeds = rng.integers(2**31, size=args.actors)
        ep = run_episodes(envs, agent, seeds, record=True, spec=spec)
        steps += ep.steps
        replays.append((seeds, ep.transitions))
    rollout = steps / (time.perf_counter() - start)
    replay = np.mean([replay_steps_per_second(envs, s, t) for s, t in replays])

    start, steps = time.perf_counter(), 0
    for _ in range(args.cycles):
        ep = run_episodes(envs, agent, rng.integers(2**31, size=args.actors), record=True, spec=spec)
        agent.update(ep.transitions)
        steps += ep.steps
    cycle = steps / (time.perf_counter() - start)

    start = time.perf_counter()
    ep = run_episodes(eval_envs[:20], agent, rng.integers(2**31, size=args.eval_episodes), temp=0.0, spec=spec)
    evaluation = ep.steps / (time.perf_counter() - start)

    start, steps = time.perf_counter(), 0
    for _ in range(max(1, args.cycles // 2)):
        steps += original_way_cycle(agent, envs, spec, minibatch_fn, rng)
    original_cycle = steps / (time.perf_counter() - start)
    start = time.perf_counter()
    steps = original_way_eval(agent, envs[0], max(2, args.eval_episodes // 4), rng)
    original_eval = steps / (time.perf_counter() - start)

    print(f"task {args.task}, backend {args.backend}, {args.actors} actors, config {args.experiment}")
    rows = [("raw env steps, random actions", raw),
            ("same episodes replayed, no agent", replay), ("rollout with acting", rollout),
            ("whole cycle (rollout + update)", cycle), ("greedy evaluation (20 envs)", evaluation),
            ("original way: cycle", original_cycle), ("original way: evaluation", original_eval)]
    for name, value in rows:
        print(f"  {name:34s} {value:9,.0f} steps/s  {value / raw:5.2f} x raw  {value / replay:5.2f} x replay")

    # a full original-protocol run: every training step plus every evaluation
    full = configs.get(args.experiment)
    if full.task == args.task:
        length = spec.max_episode_steps
        train_steps = full.episodes * length
        eval_steps = (len(full.eval_cycles) + 1) * full.eval_episodes * length
        ours = train_steps / cycle + eval_steps / evaluation
        floor = (train_steps + eval_steps) / replay
        original = train_steps / original_cycle + eval_steps / original_eval
        print(f"projected full {full.name} run ({train_steps:,} training + {eval_steps:,} evaluation "
              f"steps at full episode length):")
        print(f"  course_rl {ours / 60:6.1f} min = {ours / floor:4.2f} x the physics floor "
              f"of the replayed episodes ({floor / 60:.1f} min); original way {original / 60:6.1f} min = "
              f"{original / ours:4.1f} x slower than course_rl")


if __name__ == "__main__":
    main()
