"""The training loop: cycles of lockstep episodes, updates, greedy evaluations, checkpoints.

One cycle: every actor runs one episode (all actors step together, each in its own
environment with its own persistent noise); the agent then learns from the cycle's samples.
Every ``eval_every`` training episodes, and once at the end, the greedy policy plays
``eval_episodes`` episodes; the best mean and its policy weights are kept.

``train`` writes its results to a run folder (see ``course_rl.results``) and a checkpoint
(``Checkpoint``) at every evaluation: started again with the same arguments, an interrupted
run resumes from its last checkpoint and a finished run is loaded, not recomputed.

Taught in notebooks/03_reinforce.ipynb.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import pixels, results, tasks
from .agent import DIAGNOSTICS, Agent
from .config import Config
from .returns import Trajectory

EVAL_ENVS = 20  # evaluation episodes run this many at a time, in lockstep


@dataclass
class Episodes:
    """What ``run_episodes`` returns: scores and lengths per episode, and (with ``record=True``)
    each episode's ``returns.Trajectory``."""

    scores: np.ndarray
    lengths: np.ndarray
    transitions: list[Trajectory] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return int(self.lengths.sum())


def run_episodes(envs, agent: Agent, seeds, temp: float = 1.0, sampler=None,
                 record: bool = False, spec=None) -> Episodes:
    """Play ``len(seeds)`` episodes on ``envs`` in lockstep; episode ``k`` resets with ``seeds[k]``.

    All environments act at once through one batched NumPy policy call per step. When there are
    more episodes than environments, an environment starts the next episode as soon as its
    current one ends (``Lockstep``). ``temp == 0`` plays greedily; ``record=True`` keeps each
    episode's ``Trajectory`` (needs one episode per environment). ``spec`` (a ``tasks.TaskSpec``)
    turns reward sums into the task's scores.
    """
    n_envs = len(envs)
    if record and len(seeds) != n_envs:
        raise ValueError("record=True needs exactly one episode per environment")
    if sampler is None and temp != 0:
        sampler = agent.make_sampler(n_envs)
    actors = Lockstep(envs, seeds, agent.obs_shape)
    log_obs, log_actions, log_rewards = [], [], []
    while actors.active.any():
        rows = np.flatnonzero(actors.active)
        if temp != 0:
            sampler.refresh(actors.active)  # each actor keeps its noise with p = persistence
        actions = agent.act(actors.obs[rows], sampler, temp, rows)  # one call for all actors
        if record:
            log_obs.append(actors.obs.copy())
            full = np.zeros((n_envs,) + agent.action_shape, np.float32)
            full[rows] = actions
            log_actions.append(full)
        rewards = actors.step(rows, actions)
        if record:
            log_rewards.append(rewards)
    scores = actors.reward_sums if spec is None else \
        np.array([spec.score(r, n) for r, n in zip(actors.reward_sums, actors.lengths)])
    transitions = []
    if record:
        obs, actions, rewards = np.stack(log_obs), np.stack(log_actions), np.stack(log_rewards)
        for i in range(n_envs):
            t = actors.lengths[i]
            transitions.append(Trajectory(obs=obs[:t, i], actions=actions[:t, i],
                                          rewards=rewards[:t, i], truncated=bool(actors.truncated[i]),
                                          final_obs=actors.final_obs[i].copy()))
    return Episodes(scores, actors.lengths, transitions)


class Lockstep:
    """Environments playing a list of episodes together: ``obs`` holds one row per environment,
    ``step(rows, actions)`` steps the environments of ``rows``, and an environment whose episode
    ends starts the next unplayed one (episode ``k`` resets with ``seeds[k]``) or goes inactive.

    Pixel tasks (``pixels.latent_batch(envs)`` is not None): the environments step their
    physics one by one, then their frames are rendered and encoded all at once, one render call
    and one encoder call per step; the observations are the same as the environments' own
    ``step`` gives.
    """

    def __init__(self, envs, seeds, obs_shape):
        n_envs, n_episodes = len(envs), len(seeds)
        self.envs = envs
        self.seeds = seeds
        n_start = min(n_envs, n_episodes)
        self.episode_of = np.full(n_envs, -1)  # the episode each environment plays
        self.episode_of[:n_start] = np.arange(n_start)
        self.next_episode = n_start
        self.obs = np.zeros((n_envs,) + tuple(obs_shape), np.float32)
        self.latents = pixels.latent_batch(envs)
        self._reset(list(range(n_start)), seeds[:n_start])
        self.active = self.episode_of >= 0
        self.reward_sums = np.zeros(n_episodes)
        self.lengths = np.zeros(n_episodes, np.int64)
        self.truncated = np.zeros(n_envs, bool)  # how each environment's last episode ended
        self.final_obs = np.zeros_like(self.obs)  # and the observation it ended in

    def _reset(self, rows, seeds) -> None:
        if self.latents is not None:
            self.obs[rows] = self.latents.reset(rows, seeds)
            return
        for i, seed in zip(rows, seeds):
            self.obs[i] = self.envs[i].reset(seed=int(seed))[0]

    def step(self, rows, actions) -> np.ndarray:
        """Step environment ``rows[j]`` with ``actions[j]``; returns every environment's reward
        (0 for the others)."""
        rewards = np.zeros(len(self.obs))
        ended = []
        for action, i in zip(actions, rows):
            if self.latents is None:
                o, r, terminated, trunc, _ = self.envs[i].step(action)
                self.obs[i] = o
            else:
                r, terminated, trunc, _ = self.envs[i].step_physics(action)
            k = self.episode_of[i]
            rewards[i] = r
            self.reward_sums[k] += r
            self.lengths[k] += 1
            if terminated or trunc:
                self.truncated[i] = trunc and not terminated
                ended.append(i)
        if self.latents is not None:
            # (an ended episode's last frame too, before a reset reseeds the env's latent noise)
            self.obs[rows] = self.latents.observe(rows)
        restart, restart_seeds = [], []
        for i in ended:
            self.final_obs[i] = self.obs[i]
            if self.next_episode < len(self.seeds):
                self.episode_of[i] = self.next_episode
                restart.append(i)
                restart_seeds.append(self.seeds[self.next_episode])
                self.next_episode += 1
            else:
                self.active[i] = False
        if restart:
            self._reset(restart, restart_seeds)
        return rewards


def evaluate(envs, agent: Agent, seeds, spec=None) -> Episodes:
    """The greedy policy (``temp = 0``: the mean of the most probable mode) plays one episode
    per seed."""
    return run_episodes(envs, agent, seeds, temp=0.0, spec=spec)


class Recorder:
    """What a run records, cycle by cycle: the trace's arrays and the best policy so far."""

    def __init__(self):
        self.train_returns, self.train_lengths = [], []
        self.value_rmse, self.mean_objective = [], []
        self.diagnostics = {key: [] for key in DIAGNOSTICS}
        self.eval_returns, self.eval_numbers = [], []
        self.best_eval_return = -np.inf
        self.best_policy = None
        self.best_normalizer = None  # observation statistics that go with the best policy
        self.wall_time = 0.0
        self.env_steps = 0

    def add_cycle(self, episodes: Episodes, report: dict) -> None:
        """A training cycle: its episodes and what the update reported (``Agent.update``)."""
        self.env_steps += episodes.steps
        self.train_returns.extend(episodes.scores)
        self.train_lengths.extend(episodes.lengths)
        self.value_rmse.append(report["value_rmse"])
        self.mean_objective.append(report["mean_objective"])
        for key in DIAGNOSTICS:
            self.diagnostics[key].append(report.get(key, np.nan))

    def add_evaluation(self, episodes: Episodes, episodes_done: int, agent: Agent) -> None:
        """A greedy evaluation after ``episodes_done`` training episodes; the agent's policy
        (and its observation statistics) is kept if its mean is the best so far."""
        self.env_steps += episodes.steps
        self.eval_returns.append(episodes.scores)
        self.eval_numbers.append(episodes_done)
        mean = float(episodes.scores.mean())
        if mean > self.best_eval_return:
            self.best_eval_return = mean
            self.best_policy = agent.policy_weights()
            if agent.normalizer is not None:
                self.best_normalizer = {"mean": agent.normalizer.mean.copy(),
                                        "var": agent.normalizer.var.copy()}

    def arrays(self, config: Config) -> dict:
        """The trace's arrays so far (``results.TRACE_KEYS``)."""
        return {
            "training_episode_returns": np.asarray(self.train_returns, np.float64).reshape(-1, config.actor_count),
            "training_episode_lengths": np.asarray(self.train_lengths, np.int64).reshape(-1, config.actor_count),
            "eval_episode_returns": np.asarray(self.eval_returns, np.float64).reshape(-1, config.eval_episodes),
            "eval_episode_numbers": np.asarray(self.eval_numbers, np.int64),
            "value_rmse": np.asarray(self.value_rmse, np.float64),
            "mean_objective": np.asarray(self.mean_objective, np.float64),
            **{key: np.asarray(values, np.float64) for key, values in self.diagnostics.items()},
            "best_eval_return": np.asarray(self.best_eval_return, np.float64),
            "wall_time": np.asarray(self.wall_time),
            "env_steps": np.asarray(self.env_steps, np.int64),
        }

    def state(self, config: Config) -> dict:
        """The arrays plus the best policy, for a checkpoint."""
        state = self.arrays(config)
        best = self.best_policy or []
        state["best/count"] = np.asarray(len(best))
        state.update({f"best/w{i}": w for i, w in enumerate(best)})
        if self.best_normalizer is not None:
            state.update({f"best/normalizer/{k}": v for k, v in self.best_normalizer.items()})
        return state

    def restore(self, state: dict) -> None:
        self.train_returns = list(state["training_episode_returns"].ravel())
        self.train_lengths = list(state["training_episode_lengths"].ravel())
        self.eval_returns = list(state["eval_episode_returns"])
        self.eval_numbers = list(state["eval_episode_numbers"])
        self.value_rmse = list(state["value_rmse"])
        self.mean_objective = list(state["mean_objective"])
        # checkpoints written before the diagnostics existed: NaN for the cycles they cover
        self.diagnostics = {key: list(state.get(key, np.full(len(self.value_rmse), np.nan)))
                            for key in DIAGNOSTICS}
        self.best_eval_return = float(state["best_eval_return"])
        self.wall_time = float(state["wall_time"])
        self.env_steps = int(state["env_steps"])
        n_best = int(state["best/count"])
        self.best_policy = [state[f"best/w{i}"] for i in range(n_best)] if n_best else None
        if "best/normalizer/mean" in state:
            self.best_normalizer = {"mean": state["best/normalizer/mean"],
                                    "var": state["best/normalizer/var"]}


class Checkpoint:
    """A run's resumable state, kept in its folder (``results.CHECKPOINT_FILE``).

    It holds the agent (weights, optimisers, observation normaliser) and its random generator,
    the actors' exploration noise (``sampler``), the generator of episode seeds (``env_rng``),
    the record so far with the best policy (``record``), and the config and task version they
    belong to. Resuming a checkpoint of another config or task version is refused. Without a
    folder there is nothing to restore and saving does nothing.

    ``sampler``, ``env_rng`` and ``record`` may be left out to restore the agent alone (e.g.
    ``scripts/spread_probe.py`` looks inside a paused run).
    """

    def __init__(self, folder, config: Config, backend: str, agent: Agent, sampler=None,
                 env_rng: np.random.Generator | None = None, record: Recorder | None = None):
        self.folder = Path(folder) if folder is not None else None
        self.config = config
        self.backend = backend
        self.task_version = tasks.version(config.task, backend, **tasks.observation_options(config))
        self.agent, self.sampler, self.env_rng, self.record = agent, sampler, env_rng, record

    def restore(self) -> int:
        """Load the saved state into the objects, if there is one; returns the cycle to go on
        from (0 without a checkpoint).

        A damaged checkpoint (unreadable, keys missing, arrays that do not fit) is ignored with
        a warning naming it, and the objects are left as they were: the run starts again from
        its first cycle, to the same results. A checkpoint of another config or task version
        is refused.
        """
        if self.folder is None:
            return 0
        where = self.folder / results.CHECKPOINT_FILE
        try:
            state = results.load_checkpoint(self.folder)
        except results.ResultsError as err:
            return self._ignore(str(err))
        if state is None:
            return 0
        try:
            saved_config = results.checkpoint_config(state)
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            return self._ignore(f"{where} holds no valid config ({type(err).__name__})")
        if saved_config != self.config:
            raise ValueError(f"{where} belongs to another config; delete it to start afresh")
        before = results.checkpoint_task_version(state, self.config.task, self.backend)
        if before != self.task_version:
            raise ValueError(f"{where} was made with another {self.config.task!r} task "
                             f"(version {before!r}, now {self.task_version!r}: the environment or "
                             f"the shipped VAE changed); delete the run folder to start afresh")
        # diagnostics are optional: a checkpoint from before they existed resumes with NaN for its cycles
        missing = sorted(set(self._arrays(0)) - {"task_version"} - set(DIAGNOSTICS) - set(state))
        if missing:
            return self._ignore(f"{where} lacks {', '.join(missing[:3])}"
                                + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
        fresh = self._snapshot()
        try:
            cycle = int(state["cycle"])
            if not 0 < cycle <= self.config.cycles:
                raise ValueError(f"cycle {cycle} out of range")
            self.agent.set_state(_with_prefix(state, "agent/"))
            _set_rng_state(self.agent.rng, state["rng/agent"])
            if self.sampler is not None:
                self.sampler.set_state(_with_prefix(state, "sampler/"))
            if self.env_rng is not None:
                _set_rng_state(self.env_rng, state["rng/env"])
            if self.record is not None:
                self.record.restore(state)
                if len(self.record.value_rmse) != cycle:
                    raise ValueError(f"{len(self.record.value_rmse)} cycles recorded, not {cycle}")
        except Exception as err:  # noqa: BLE001 (whatever a damaged state raises, undo it)
            self._restore_snapshot(fresh)
            return self._ignore(f"{where} does not fit the run ({type(err).__name__}: "
                                f"{' '.join(str(err).split())[:120]})")
        return cycle

    def _ignore(self, reason: str) -> int:
        import warnings
        message = reason if "ignored" in reason else \
            f"{reason}; it is ignored and the run starts again from its first cycle"
        warnings.warn(message, stacklevel=3)
        return 0

    def _snapshot(self) -> dict:
        """The objects' state before a restore, to undo a restore that fails halfway."""
        snapshot = {"agent": self.agent.get_state(),
                    "rng/agent": copy.deepcopy(self.agent.rng.bit_generator.state)}
        if self.sampler is not None:
            snapshot["sampler"] = self.sampler.state()
        if self.env_rng is not None:
            snapshot["rng/env"] = copy.deepcopy(self.env_rng.bit_generator.state)
        if self.record is not None:
            snapshot["record"] = copy.deepcopy(vars(self.record))
        return snapshot

    def _restore_snapshot(self, snapshot: dict) -> None:
        self.agent.set_state(snapshot["agent"])
        self.agent.rng.bit_generator.state = snapshot["rng/agent"]
        if self.sampler is not None:
            self.sampler.set_state(snapshot["sampler"])
        if self.env_rng is not None:
            self.env_rng.bit_generator.state = snapshot["rng/env"]
        if self.record is not None:
            vars(self.record).clear()
            vars(self.record).update(snapshot["record"])

    def save(self, next_cycle: int) -> None:
        """Save everything needed to go on with cycle ``next_cycle``."""
        if self.folder is None:
            return
        results.save_checkpoint(self.folder, self._arrays(next_cycle))

    def _arrays(self, next_cycle: int) -> dict:
        """What a checkpoint holds (of the objects this one was given)."""
        arrays = self.record.state(self.config) if self.record is not None else {}
        arrays.update({f"agent/{k}": v for k, v in self.agent.get_state().items()})
        if self.sampler is not None:
            arrays.update({f"sampler/{k}": v for k, v in self.sampler.state().items()})
        arrays["rng/agent"] = _rng_state(self.agent.rng)
        if self.env_rng is not None:
            arrays["rng/env"] = _rng_state(self.env_rng)
        arrays["config_json"] = np.asarray(self.config.to_json())
        arrays["cycle"] = np.asarray(next_cycle)
        arrays["task_version"] = np.asarray(self.task_version)
        return arrays


def _with_prefix(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _rng_state(rng: np.random.Generator) -> np.ndarray:
    return np.asarray(json.dumps(rng.bit_generator.state))


def _set_rng_state(rng: np.random.Generator, state) -> None:
    rng.bit_generator.state = json.loads(str(state))


class Interrupted(Exception):
    """Raised by a ``train`` callback to stop a run as an interruption would: ``train`` saves a
    checkpoint of the cycles done and re-raises it (``stop_after`` makes such a callback)."""


def stop_after(cycles: int):
    """A ``train`` callback that interrupts the run after ``cycles`` cycles of that call."""
    done = 0

    def callback(run_so_far, cycle):
        nonlocal done
        done += 1
        if done >= cycles:
            raise Interrupted(f"stopped after {cycles} cycles, at cycle {cycle}")
    return callback


def _make_envs(config: Config, backend: str) -> tuple[list, list]:
    """One environment per actor, and up to ``EVAL_ENVS`` for evaluations (sharing the first)."""
    options = tasks.observation_options(config)
    train_envs = [tasks.make(config.task, backend=backend, **options)
                  for _ in range(config.actor_count)]
    n_eval_envs = min(config.eval_episodes, EVAL_ENVS)
    eval_envs = train_envs[:n_eval_envs] + [tasks.make(config.task, backend=backend, **options)
                                            for _ in range(n_eval_envs - len(train_envs))]
    return train_envs, eval_envs


def train(config: Config, seed: int = 0, backend: str = "pybullet", out: str | Path | None = None,
          callback=None, progress: bool = True, checkpoint_seconds: float = 120.0):
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
        If it raises ``Interrupted``, the run stops with a checkpoint (``stop_after``).
    progress : bool
        Show a tqdm progress bar over cycles.
    checkpoint_seconds : float
        Also checkpoint when this long has passed since the last checkpoint.
    """
    from tqdm.auto import tqdm

    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if backend not in tasks.BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {list(tasks.BACKENDS)}")
    folder = Path(out) if out is not None else None
    finished = results.finished_run(folder, config) if folder is not None else None
    if finished is not None:
        return finished

    spec = tasks.TASKS[config.task]
    env_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])  # episode seeds
    train_envs, eval_envs = _make_envs(config, backend)
    obs_shape = train_envs[0].observation_space.shape
    action_shape = train_envs[0].action_space.shape
    agent = Agent(config, obs_shape, action_shape, seed)
    sampler = agent.make_sampler(config.actor_count)
    record = Recorder()
    checkpoint = Checkpoint(folder, config, backend, agent, sampler, env_rng, record)
    start_cycle = cycle = checkpoint.restore()
    eval_cycles = set(config.eval_cycles)

    bar = tqdm(total=config.cycles, initial=start_cycle, disable=not progress,
               desc=f"{config.name} seed {seed}", unit="cycle")
    started = last_checkpoint = time.perf_counter()
    wall_before = record.wall_time
    try:
        while cycle < config.cycles:
            # one episode per actor, then an update from all of them
            train_seeds = env_rng.integers(2**31, size=config.actor_count)
            ep = run_episodes(train_envs, agent, train_seeds, temp=1.0, sampler=sampler,
                              record=True, spec=spec)
            record.add_cycle(ep, agent.update(ep.transitions, cycle))
            # the greedy policy's evaluation, every eval_every episodes
            evaluated = cycle in eval_cycles
            if evaluated:
                eval_seeds = env_rng.integers(2**31, size=config.eval_episodes)
                record.add_evaluation(evaluate(eval_envs, agent, eval_seeds, spec),
                                      cycle * config.actor_count, agent)
            cycle += 1
            # a checkpoint after each evaluation, and every checkpoint_seconds
            now = time.perf_counter()
            record.wall_time = wall_before + now - started
            if cycle < config.cycles and (evaluated or now - last_checkpoint > checkpoint_seconds):
                checkpoint.save(cycle)
                last_checkpoint = now
            bar.update(1)
            bar.set_postfix(train=f"{np.mean(ep.scores):.1f}", best=f"{record.best_eval_return:.1f}")
            if callback is not None:
                try:
                    callback(record.arrays(config), cycle)
                except Interrupted:
                    record.wall_time = wall_before + time.perf_counter() - started
                    checkpoint.save(cycle)
                    raise
        eval_seeds = env_rng.integers(2**31, size=config.eval_episodes)
        record.add_evaluation(evaluate(eval_envs, agent, eval_seeds, spec),
                              config.cycles * config.actor_count, agent)
        record.wall_time = wall_before + time.perf_counter() - started
    finally:
        bar.close()
        for env in {id(e): e for e in train_envs + eval_envs}.values():  # (they share some)
            env.close()

    arrays = record.arrays(config)
    arrays["task_version"] = np.asarray(checkpoint.task_version)
    arrays["backend"] = np.asarray(backend)
    if folder is None:
        return results.Run(Path("."), config, config.name, seed, arrays, record.best_policy,
                           record.best_normalizer)
    return results.finish_run(folder, config, arrays, record.best_policy, record.best_normalizer,
                              obs_shape, action_shape)
