"""The training loop: cycles of lockstep episodes, updates, greedy evaluations, checkpoints.

One cycle: every actor runs one episode (all actors step together, each in its own
environment with its own persistent noise); the agent then learns from the cycle's samples.
Every ``eval_every`` training episodes, and once at the end, the greedy policy plays
``eval_episodes`` episodes; the best mean and its policy weights are kept.

``train`` writes its results to a run folder (see ``course_rl.results``) and a checkpoint at
every evaluation: started again with the same arguments, an interrupted run resumes from its
last checkpoint and a finished run is loaded, not recomputed.

Taught in notebooks/03_reinforce.ipynb.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import results, tasks
from .agent import Agent
from .config import Config

EVAL_ENVS = 20  # evaluation episodes run this many at a time, in lockstep


@dataclass
class Episodes:
    """What ``run_episodes`` returns: scores and lengths per episode, and (optionally) the
    transitions as ``(obs, actions, rewards, truncated, final_obs)`` per episode."""

    scores: np.ndarray
    lengths: np.ndarray
    transitions: list = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.lengths.sum())


def run_episodes(envs, agent: Agent, seeds, temp: float = 1.0, sampler=None,
                 record: bool = False, spec=None) -> Episodes:
    """Play ``len(seeds)`` episodes on ``envs`` in lockstep; episode ``k`` resets with ``seeds[k]``.

    All environments act at once through one batched NumPy policy call per step. When there are
    more episodes than environments, an environment starts the next episode as soon as its
    current one ends. ``record=True`` keeps the transitions (needs one episode per env).

    Pixel tasks (``tasks.latent_batch(envs)`` is not None): each environment returns its raw
    frame and the frames of all actors are encoded together, one encoder call per step; the
    observations are the same as the environments' own one-at-a-time encoding.
    """
    n_envs, n_episodes = len(envs), len(seeds)
    if record and n_episodes != n_envs:
        raise ValueError("record=True needs exactly one episode per environment")
    if sampler is None and temp != 0:
        sampler = agent.make_sampler(n_envs)
    n_start = min(n_envs, n_episodes)
    episode_of = np.full(n_envs, -1)
    episode_of[:n_start] = np.arange(n_start)
    next_episode = n_start
    obs = np.zeros((n_envs,) + agent.obs_shape, np.float32)
    latents = tasks.latent_batch(envs)
    if latents is None:
        steps, resets, store = [e.step for e in envs], [e.reset for e in envs], obs
    else:  # pixel task: the envs return frames, stored here and encoded all at once per step
        steps, resets = [e.step_frame for e in envs], [e.reset_frame for e in envs]
        store = np.zeros((n_envs,) + latents.frame_shape, np.uint8)
    for i in range(n_start):
        store[i] = resets[i](seed=int(seeds[i]))[0]
    if latents is not None:
        obs[:n_start] = latents.encode(store[:n_start], range(n_start))
    active = episode_of >= 0
    reward_sums = np.zeros(n_episodes)
    lengths = np.zeros(n_episodes, np.int64)
    log_obs, log_actions, log_rewards = [], [], []
    truncated = np.zeros(n_envs, bool)
    final_obs = np.zeros_like(obs)
    while active.any():
        rows = np.flatnonzero(active)
        if temp != 0:
            sampler.refresh(active)
        actions = agent.act(obs[rows], sampler, temp, rows)
        rewards = np.zeros(n_envs)
        if record:
            log_obs.append(obs.copy())
            full = np.zeros((n_envs,) + agent.action_shape, np.float32)
            full[rows] = actions
            log_actions.append(full)
        for action, i in zip(actions, rows):
            o, r, terminated, trunc, _ = steps[i](action)
            k = episode_of[i]
            rewards[i] = r
            reward_sums[k] += r
            lengths[k] += 1
            if terminated or trunc:
                truncated[i] = trunc and not terminated
                # (a last frame is encoded before the reset reseeds the env's latent noise)
                final_obs[i] = o if latents is None else latents.encode(o[None], [i])[0]
                if next_episode < n_episodes:
                    episode_of[i] = next_episode
                    o = resets[i](seed=int(seeds[next_episode]))[0]
                    next_episode += 1
                else:
                    active[i] = False
            store[i] = o
        if latents is not None:
            live = np.flatnonzero(active)
            obs[live] = latents.encode(store[live], live)
        if record:
            log_rewards.append(rewards)
    scores = np.array([spec.score(reward_sums[k], lengths[k]) for k in range(n_episodes)]) \
        if spec is not None else reward_sums
    transitions = []
    if record:
        stacked = np.stack(log_obs), np.stack(log_actions), np.stack(log_rewards)
        for i in range(n_envs):
            t = lengths[i]
            transitions.append((stacked[0][:t, i], stacked[1][:t, i], stacked[2][:t, i],
                                bool(truncated[i]), final_obs[i].copy()))
    return Episodes(scores, lengths, transitions)


class _Recorder:
    """Per-run arrays that grow cycle by cycle (and go into checkpoints and the trace)."""

    def __init__(self):
        self.train_returns, self.train_lengths = [], []
        self.value_rmse, self.mean_objective = [], []
        self.eval_returns, self.eval_numbers = [], []
        self.best_eval_return = -np.inf
        self.best_policy = None
        self.best_normalizer = None  # observation statistics that go with the best policy
        self.wall_time = 0.0
        self.env_steps = 0

    def arrays(self, config: Config) -> dict:
        return {
            "training_episode_returns": np.asarray(self.train_returns, np.float64).reshape(-1, config.actor_count),
            "training_episode_lengths": np.asarray(self.train_lengths, np.int64).reshape(-1, config.actor_count),
            "eval_episode_returns": np.asarray(self.eval_returns, np.float64).reshape(-1, config.eval_episodes),
            "eval_episode_numbers": np.asarray(self.eval_numbers, np.int64),
            "value_rmse": np.asarray(self.value_rmse, np.float64),
            "mean_objective": np.asarray(self.mean_objective, np.float64),
            "best_eval_return": np.asarray(self.best_eval_return, np.float64),
            "wall_time": np.asarray(self.wall_time),
            "env_steps": np.asarray(self.env_steps, np.int64),
        }

    def restore(self, arrays: dict) -> None:
        self.train_returns = list(arrays["training_episode_returns"].ravel())
        self.train_lengths = list(arrays["training_episode_lengths"].ravel())
        self.eval_returns = list(arrays["eval_episode_returns"])
        self.eval_numbers = list(arrays["eval_episode_numbers"])
        self.value_rmse = list(arrays["value_rmse"])
        self.mean_objective = list(arrays["mean_objective"])
        self.best_eval_return = float(arrays["best_eval_return"])
        self.wall_time = float(arrays["wall_time"])
        self.env_steps = int(arrays["env_steps"])


def _rng_state(rng: np.random.Generator) -> np.ndarray:
    return np.asarray(json.dumps(rng.bit_generator.state))


def _set_rng_state(rng: np.random.Generator, state) -> None:
    rng.bit_generator.state = json.loads(str(state))


def train(config: Config, seed: int = 0, backend: str = "pybullet", out: str | Path | None = None,
          callback=None, progress: bool = True, checkpoint_seconds: float = 120.0,
          stop_after_cycles: int | None = None):
    """Train an agent as ``config`` says; returns a ``results.Run``.

    Parameters
    ----------
    config : Config
        The experiment (``course_rl.config.EXPERIMENTS[name]`` or a modified copy).
    seed : int
        Seeds the network initialisation, the exploration noise, the minibatches and every
        episode's reset: the same seed gives the same run.
    backend : str
        Physics engine: "pybullet" (the original study's) or "mujoco".
    out : path or None
        Run folder (see ``course_rl.results``). With a folder, the run is saved, checkpointed
        and resumable; without one, nothing is written.
    callback : callable or None
        Called as ``callback(run_so_far: dict, cycle: int)`` after every cycle (live plots).
    progress : bool
        Show a tqdm progress bar over cycles.
    checkpoint_seconds : float
        Also checkpoint when this long has passed since the last checkpoint.
    stop_after_cycles : int or None
        Stop (with a checkpoint) after this many cycles in this call, as an interruption
        would; used to test resuming.
    """
    from tqdm.auto import tqdm

    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if backend not in tasks.BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {list(tasks.BACKENDS)}")
    folder = Path(out) if out is not None else None
    if folder is not None:
        done = folder / "trace.npz"
        if done.exists():
            run = results.load_trace(done)
            if run.config != config:
                raise ValueError(f"{folder} holds a finished run of another config; "
                                 f"choose another --out folder or delete it")
            return run

    spec = tasks.TASKS[config.task]
    seeds = np.random.SeedSequence(seed)
    env_rng = np.random.default_rng(seeds.spawn(1)[0])
    train_envs = [tasks.make(config.task, backend=backend) for _ in range(config.actor_count)]
    n_eval_envs = min(config.eval_episodes, EVAL_ENVS)
    eval_envs = train_envs[:n_eval_envs] + [tasks.make(config.task, backend=backend)
                                            for _ in range(n_eval_envs - len(train_envs))]
    obs_shape = train_envs[0].observation_space.shape
    action_shape = train_envs[0].action_space.shape
    agent = Agent(config, obs_shape, action_shape, seed)
    sampler = agent.make_sampler(config.actor_count)
    record = _Recorder()
    eval_cycles = set(config.eval_cycles)
    start_cycle = 0

    task_version = tasks.version(config.task, backend)
    checkpoint = folder / "checkpoint.npz" if folder is not None else None
    if checkpoint is not None and checkpoint.exists():
        state = results.load_npz(checkpoint)
        if Config.from_dict(json.loads(str(state["config_json"]))) != config:
            raise ValueError(f"{checkpoint} belongs to another config; delete it to start afresh")
        before = results.checkpoint_task_version(state, config.task, backend)
        if before != task_version:
            raise ValueError(f"{checkpoint} was made with another {config.task!r} task "
                             f"(version {before!r}, now {task_version!r}: the environment or "
                             f"the shipped VAE changed); delete the run folder to start afresh")
        agent.set_state({k[6:]: v for k, v in state.items() if k.startswith("agent/")})
        sampler.set_state({"mode_noise": state["sampler/mode_noise"],
                           "gauss_noise": state["sampler/gauss_noise"]})
        _set_rng_state(agent.rng, state["rng/agent"])
        _set_rng_state(env_rng, state["rng/env"])
        record.restore(state)
        n_best = int(state["best/count"])
        record.best_policy = [state[f"best/w{i}"] for i in range(n_best)] if n_best else None
        if "best/normalizer/mean" in state:
            record.best_normalizer = {"mean": state["best/normalizer/mean"],
                                      "var": state["best/normalizer/var"]}
        start_cycle = int(state["cycle"])

    def save_checkpoint(next_cycle: int):
        if checkpoint is None:
            return
        arrays = record.arrays(config)
        arrays.update({f"agent/{k}": v for k, v in agent.get_state().items()})
        arrays.update({f"sampler/{k}": v for k, v in sampler.state().items()})
        arrays["rng/agent"] = _rng_state(agent.rng)
        arrays["rng/env"] = _rng_state(env_rng)
        arrays["config_json"] = np.asarray(config.to_json())
        arrays["cycle"] = np.asarray(next_cycle)
        arrays["task_version"] = np.asarray(task_version)
        best = record.best_policy or []
        arrays["best/count"] = np.asarray(len(best))
        arrays.update({f"best/w{i}": w for i, w in enumerate(best)})
        if record.best_normalizer is not None:
            arrays.update({f"best/normalizer/{k}": v for k, v in record.best_normalizer.items()})
        results.save_npz(checkpoint, arrays)

    def evaluate(episodes_done: int):
        eval_seeds = env_rng.integers(2**31, size=config.eval_episodes)
        ep = run_episodes(eval_envs, agent, eval_seeds, temp=0.0, spec=spec)
        record.env_steps += ep.steps
        record.eval_returns.append(ep.scores)
        record.eval_numbers.append(episodes_done)
        mean = float(ep.scores.mean())
        if mean > record.best_eval_return:
            record.best_eval_return = mean
            record.best_policy = agent.policy_weights()
            if agent.normalizer is not None:
                record.best_normalizer = {"mean": agent.normalizer.mean.copy(),
                                          "var": agent.normalizer.var.copy()}

    bar = tqdm(total=config.cycles, initial=start_cycle, disable=not progress,
               desc=f"{config.name} seed {seed}", unit="cycle")
    started = last_checkpoint = time.perf_counter()
    wall_before = record.wall_time
    cycle = start_cycle
    try:
        while cycle < config.cycles:
            if stop_after_cycles is not None and cycle - start_cycle >= stop_after_cycles:
                record.wall_time = wall_before + time.perf_counter() - started
                save_checkpoint(cycle)
                return None
            train_seeds = env_rng.integers(2**31, size=config.actor_count)
            ep = run_episodes(train_envs, agent, train_seeds, temp=1.0, sampler=sampler,
                              record=True, spec=spec)
            value_rmse, objective = agent.update(ep.transitions)
            record.env_steps += ep.steps
            record.train_returns.extend(ep.scores)
            record.train_lengths.extend(ep.lengths)
            record.value_rmse.append(value_rmse)
            record.mean_objective.append(objective)
            evaluated = cycle in eval_cycles
            if evaluated:
                evaluate(cycle * config.actor_count)
            cycle += 1
            now = time.perf_counter()
            record.wall_time = wall_before + now - started
            if cycle < config.cycles and (evaluated or now - last_checkpoint > checkpoint_seconds):
                save_checkpoint(cycle)
                last_checkpoint = now
            bar.update(1)
            bar.set_postfix(train=f"{np.mean(ep.scores):.1f}", best=f"{record.best_eval_return:.1f}")
            if callback is not None:
                callback(record.arrays(config), cycle)
        evaluate(config.cycles * config.actor_count)
        record.wall_time = wall_before + time.perf_counter() - started
    finally:
        bar.close()
        for env in {id(e): e for e in train_envs + eval_envs}.values():
            env.close()

    arrays = record.arrays(config)
    arrays["task_version"] = np.asarray(task_version)
    arrays["backend"] = np.asarray(backend)
    if folder is not None:
        results.save_trace(folder, config, arrays)
        if record.best_policy is not None:
            save_policy_weights(folder / "policy.weights.h5", config, obs_shape, action_shape,
                                record.best_policy)
        if record.best_normalizer is not None:
            results.save_npz(folder / "normalizer.npz", record.best_normalizer)
        if checkpoint.exists():
            checkpoint.unlink()
        return results.load_trace(folder)
    return results.Run(Path("."), config, config.name, seed, arrays, record.best_policy,
                       record.best_normalizer)


def save_policy_weights(path, config: Config, obs_shape, action_shape, weights) -> None:
    """Write policy weights as a Keras ``.weights.h5`` file (atomically)."""
    from .networks import policy_network
    model = policy_network(obs_shape, action_shape, config.n_modes, config.hidden_sizes,
                           config.hidden_init)
    model.set_weights(weights)
    results.atomic_write(path, lambda tmp: model.save_weights(tmp))
