"""The pixel task: the half-cheetah seen through a camera, observed as the VAE's latent code.

``tasks.make("cheetah_pixels")`` builds it. Every step the environment renders a 96x96 RGB
frame and the encoder of the study's VAE (:mod:`course_rl.vae`: the model, its loss, its
training and its weights) turns the frame into an 8-number observation. This module holds
everything the task adds to the half-cheetah:

* :class:`LatentObservation`, the observation wrapper (one reparameterised sample of the
  latent code per frame, as the study did, or its mean; the codes of the last few frames
  stacked, so that the observation carries how fast the body moves);
* :func:`load_encoder`, the frozen encoder the environments share (the shipped one by default);
* :func:`latent_batch` / :class:`LatentBatch` (and :func:`observe`), which render and encode
  the frames of many environments in one call each (``training.run_episodes`` steps its
  actors this way);
* :func:`vae_fingerprint`, which names the shipped encoder (runs record it in their task version);
* :func:`collect_frames`, the frames of a randomly moving cheetah the VAE was trained on, and
  :func:`collect_states`, such frames beside the sensor readings of the same moments;
* :func:`step_timings`, what a step of the task costs (rendering, encoding, batched or not).

Only :mod:`course_rl.tasks` builds environments; it calls :func:`make_task` with a function
that builds the capped half-cheetah with its camera on. So this module does not import
``tasks``, and ``tasks`` imports this one only when a pixel task is asked for.

Taught in notebooks/06_vision.ipynb.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from . import vae as vae_module
from .policy import PersistentRandomActor
from .vae import IMAGE_SHAPE, FrameEncoder, latent_sample

__all__ = ["FRAME_SHAPE", "LATENTS", "LatentBatch", "LatentObservation", "check_latent",
           "collect_frames", "collect_states", "latent_batch", "load_encoder", "make_task",
           "observe", "render", "step_timings", "vae_fingerprint"]

FRAME_SHAPE = IMAGE_SHAPE
"""``(96, 96, 3)``: the frames the camera renders and the VAE reads (uint8 RGB)."""


# ---- the encoder ----------------------------------------------------------------------------------

_SHIPPED_ENCODER_CACHE: list[FrameEncoder] = []


def load_encoder(path=None) -> FrameEncoder:
    """A :class:`course_rl.vae.FrameEncoder` from a weights file (default: the shipped one).

    The shipped encoder is loaded once per process and shared, so that several environments
    can encode their frames together (see :func:`latent_batch`).
    """
    if path is not None:
        return FrameEncoder.load(path)
    if not _SHIPPED_ENCODER_CACHE:
        _SHIPPED_ENCODER_CACHE.append(FrameEncoder.load(vae_module.shipped_paths()["encoder"]))
    return _SHIPPED_ENCODER_CACHE[0]


def _encoder_from(source) -> FrameEncoder:
    """The encoder ``make("cheetah_pixels", vae=source)`` observes with."""
    if source is None or isinstance(source, (str, os.PathLike)):
        return load_encoder(source)
    if isinstance(source, vae_module.VAE):
        return source.frame_encoder()
    if isinstance(source, FrameEncoder):
        return source
    raise ValueError(f"vae must be None (the shipped VAE), a weights file, a VAE or a "
                     f"FrameEncoder, got {type(source).__name__}")


def vae_fingerprint() -> str:
    """The first 16 hex digits of the shipped encoder file's SHA-256.

    Another VAE makes another task: ``tasks.version("cheetah_pixels", ...)`` appends this.
    """
    encoder_file = vae_module.shipped_paths()["encoder"]
    return hashlib.sha256(encoder_file.read_bytes()).hexdigest()[:16]


# ---- the observation ------------------------------------------------------------------------------

LATENTS = ("sample", "mean")
"""How a frame becomes a code: one sample of the encoder's Gaussian (the study's) or its mean."""
MAX_LATENT_FRAMES = 100


def check_latent(latent, latent_frames, previous_action=False) -> None:
    """A ValueError naming a bad ``latent``, ``latent_frames`` or ``previous_action`` and what
    is allowed."""
    if not isinstance(previous_action, (bool, np.bool_)):
        raise ValueError(f"previous_action must be True or False, got {previous_action!r}")
    if latent not in LATENTS:
        raise ValueError(f"latent must be 'sample' or 'mean', got {latent!r}")
    if isinstance(latent_frames, bool) or not isinstance(latent_frames, (int, np.integer)) \
            or not 1 <= latent_frames <= MAX_LATENT_FRAMES:
        raise ValueError(f"latent_frames must be an integer from 1 to {MAX_LATENT_FRAMES} (the "
                         f"codes of that many latest frames), got {latent_frames!r}")


class LatentObservation(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Observe the VAE's latent codes of the rendered frames instead of the joint readings.

    After every reset and step the wrapped environment renders its 96x96 RGB frame and the
    encoder (:class:`course_rl.vae.FrameEncoder`) turns it into ``(mean, log_var)``. The frame's
    code is one reparameterised sample ``mean + exp(log_var / 2) * eps`` (``latent="sample"``,
    as the study did) or the mean (``latent="mean"``). ``eps ~ N(0, I)`` comes from the
    environment's own generator, so a seeded episode is reproducible.

    The observation is the codes of the last ``latent_frames`` frames, oldest first and newest
    last (``latent_frames * 8`` numbers; 1, the study's, is the current frame's code alone).
    One code says where the body is, the difference of two says how fast it moves. A reset
    fills the history with the first frame's code, as if the cheetah had stood still before.
    With ``previous_action`` the observation ends with the action of the step that led to the
    frame (clipped to the action space; zeros after a reset): the push behind the motion.

    ``reset_frame`` and ``step_frame`` return the raw uint8 frame instead of an observation
    (and leave the history alone). :func:`course_rl.training.run_episodes` steps many such
    environments with ``reset_physics`` / ``step_physics`` and observes them together
    (:class:`LatentBatch`: one render call and one encoder call for all), to the same
    observations as their own ``reset`` and ``step`` give (up to the encoder's float32
    round-off, which depends on the batch size).

    Taught in notebooks/06_vision.ipynb.
    """

    def __init__(self, env: gym.Env, encoder, latent: str = "sample", latent_frames: int = 1,
                 previous_action: bool = False):
        gym.utils.RecordConstructorArgs.__init__(self, encoder=encoder, latent=latent,
                                                 latent_frames=latent_frames,
                                                 previous_action=previous_action)
        gym.Wrapper.__init__(self, env)
        check_latent(latent, latent_frames, previous_action)
        self.encoder = encoder
        self.latent = latent
        self.latent_frames = int(latent_frames)
        self.previous_action = previous_action
        self.codes = np.zeros((self.latent_frames, encoder.latent_dim), np.float32)
        self.action = np.zeros(env.action_space.shape if previous_action else 0, np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf,
                                                (self.codes.size + self.action.size,), np.float32)

    def reset_physics(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the wrapped environment, render nothing; returns its info (:func:`observe`
        with ``first=True`` then starts the history)."""
        self.action[:] = 0.0
        return self.env.reset(seed=seed, options=options)[1]

    def step_physics(self, action):
        """Step the wrapped environment, render nothing: ``(reward, terminated, truncated,
        info)``."""
        if self.previous_action:
            space = self.env.action_space
            self.action[:] = np.clip(action, space.low, space.high)
        _, reward, terminated, truncated, info = self.env.step(action)
        return reward, terminated, truncated, info

    def remember(self, code: np.ndarray, first: bool) -> np.ndarray:
        """Add the newest frame's code to the history (the first code of an episode fills
        it); returns the observation: the history, oldest code first (then the previous
        action, with ``previous_action``)."""
        if first:
            self.codes[:] = code
        else:
            self.codes[:-1] = self.codes[1:]
            self.codes[-1] = code
        return np.concatenate([self.codes.ravel(), self.action])

    def reset_frame(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Like ``reset`` but return the rendered uint8 frame instead of the observation."""
        info = self.reset_physics(seed=seed, options=options)
        return self.env.render(), info

    def step_frame(self, action):
        """Like ``step`` but return the rendered uint8 frame instead of the observation."""
        reward, terminated, truncated, info = self.step_physics(action)
        return self.env.render(), reward, terminated, truncated, info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        info = self.reset_physics(seed=seed, options=options)
        return observe([self], first=True)[0], info

    def step(self, action):
        reward, terminated, truncated, info = self.step_physics(action)
        return observe([self])[0], reward, terminated, truncated, info


def render(envs) -> np.ndarray:
    """The current frames of environments, ``(n, 96, 96, 3)`` uint8, in one render call when
    they are pybullet half-cheetahs (:func:`course_rl.cheetah_frames.render_frames`)."""
    from .bullet_envs import HalfCheetahBulletEnv
    from .cheetah_frames import render_frames

    bases = [env.unwrapped for env in envs]
    if all(isinstance(base, HalfCheetahBulletEnv) for base in bases):
        return render_frames(bases)
    return np.stack([env.render() for env in envs])


def observe(envs, first: bool | np.ndarray = False) -> np.ndarray:
    """Render and encode the current frames of :class:`LatentObservation` environments sharing
    one encoder and latent mode (one render call, one encoder call), add each code to its
    environment's history (``first``: the first frame of an episode, for all or per
    environment) and return the observations, ``(n, latent_frames * latent_dim)`` (plus the
    action size with ``previous_action``)."""
    envs = list(envs)
    first = np.broadcast_to(np.asarray(first, bool), (len(envs),))
    encoder, latent = envs[0].encoder, envs[0].latent
    mean, log_var = encoder(render(envs))
    if latent == "mean":
        codes = mean
    else:  # each environment draws its own noise, so batching does not change any observation
        noise = np.stack([env.unwrapped.np_random.standard_normal(encoder.latent_dim)
                          for env in envs])
        codes = latent_sample(mean, log_var, noise)
    return np.stack([env.remember(code, bool(f)) for env, code, f in zip(envs, codes, first)])


class LatentBatch:
    """Several :class:`LatentObservation` environments observed together: ``reset`` and
    ``observe`` render and encode all the frames they are asked for in one go.

    Made by :func:`latent_batch`; all environments share one encoder, latent mode and number of
    stacked frames.

    Taught in notebooks/06_vision.ipynb.
    """

    def __init__(self, envs):
        self.envs = list(envs)
        self.encoder = self.envs[0].encoder
        self.latent = self.envs[0].latent

    def reset(self, rows, seeds) -> np.ndarray:
        """Reset environments ``rows[k]`` with ``seeds[k]``; their first observations."""
        for i, seed in zip(rows, seeds):
            self.envs[i].reset_physics(seed=int(seed))
        return self.observe(rows, first=True)

    def observe(self, rows, first: bool = False) -> np.ndarray:
        """The observations of environments ``rows`` now (see :func:`observe`)."""
        rows = list(rows)
        if not rows:
            return np.zeros((0,) + self.envs[0].observation_space.shape, np.float32)
        return observe([self.envs[i] for i in rows], first)


def latent_batch(envs) -> LatentBatch | None:
    """A :class:`LatentBatch` if every env is a pixel task sharing one encoder, latent mode and
    number of stacked frames, else ``None``.

    (``make("cheetah_pixels")`` shares the shipped encoder between all its environments.)

    Taught in notebooks/06_vision.ipynb.
    """
    if not envs or not all(isinstance(env, LatentObservation) for env in envs):
        return None
    first = envs[0]
    if any(env.encoder is not first.encoder or env.latent != first.latent
           or env.latent_frames != first.latent_frames
           or env.previous_action != first.previous_action for env in envs):
        return None
    return LatentBatch(envs)


# ---- the task -------------------------------------------------------------------------------------

def make_task(camera_env: Callable[..., gym.Env], vae=None, latent: str = "sample",
              latent_frames: int = 1, previous_action: bool = False,
              **kwargs: Any) -> LatentObservation:
    """The pixel task on the environment ``camera_env(width=, height=, **kwargs)`` builds.

    ``tasks.make("cheetah_pixels", vae=..., latent=..., latent_frames=...)`` calls this with a
    builder of the capped half-cheetah whose camera is always on. ``vae``: ``None`` (the
    shipped VAE), a weights file, a :class:`course_rl.vae.VAE` (a snapshot of its encoder is
    taken) or a :class:`course_rl.vae.FrameEncoder`. ``latent``: ``"sample"`` (the study's) or
    ``"mean"``. ``latent_frames``: how many latest frames' codes the observation stacks (1, the
    study's). ``previous_action``: the observation ends with the previous step's action
    (False, the study's). The frames are 96x96, the size the VAE reads: a ``width`` or ``height`` other
    than that is refused.
    """
    height, width = FRAME_SHAPE[:2]
    if kwargs.pop("width", width) != width or kwargs.pop("height", height) != height:
        raise ValueError(f"the cheetah_pixels frames are {width}x{height}, the size its VAE "
                         f"was trained on; pass no width or height (or exactly those)")
    check_latent(latent, latent_frames, previous_action)
    encoder = _encoder_from(vae)
    return LatentObservation(camera_env(width=width, height=height, **kwargs), encoder, latent,
                             latent_frames, previous_action)


# ---- training frames ------------------------------------------------------------------------------

def collect_frames(n_frames: int, seed: int = 0, persistence: float = 0.931,
                   keep_prob: float = 0.1, n_envs: int = 4, episode_steps: int = 500,
                   progress: bool = True, verbose: bool = True) -> tuple[np.ndarray, dict]:
    """Frames of a randomly moving half-cheetah, as the study gathered them for its VAE.

    The study's random actor (:class:`course_rl.policy.PersistentRandomActor`) acts: every
    actor keeps its action ``a ~ N(0, I)`` (clipped to [-1, 1]) for another step with
    probability ``persistence`` and draws a new one otherwise (the study: 0.931, a new action
    every 14.5 steps on average). ``n_envs`` pybullet half-cheetahs step in lockstep; after each
    step each environment keeps its frame with probability ``keep_prob`` (rendering only the
    kept ones), so consecutive kept frames are about ten steps apart. Episodes last
    ``episode_steps`` steps (the pixel task's cap). Frames are 96x96 RGB, pybullet's true colours
    from the tracking camera of :class:`course_rl.bullet_envs.HalfCheetahBulletEnv` (the camera
    of the environments the study used did not follow the cheetah), stored as uint8 (the
    original kept float64 copies, eight times the memory: its defect 6).

    Returns ``(frames, stats)``: ``frames`` is ``(n_frames, 96, 96, 3)`` uint8 in collection
    order; ``stats`` has ``megabytes``, ``seconds``, ``env_steps`` and ``episodes``.

    Taught in notebooks/06_vision.ipynb.
    """
    from tqdm.auto import tqdm

    from .bullet_envs import HalfCheetahBulletEnv

    if not (isinstance(n_frames, (int, np.integer)) and n_frames >= 1):
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}")
    if not 0.0 < keep_prob <= 1.0:
        raise ValueError(f"keep_prob must be in (0, 1], got {keep_prob!r}")
    rng = np.random.default_rng(seed)
    actor = PersistentRandomActor(n_envs, (6,), persistence, rng)
    envs = [HalfCheetahBulletEnv(render_mode="rgb_array", width=FRAME_SHAPE[1],
                                 height=FRAME_SHAPE[0]) for _ in range(n_envs)]
    frames = np.zeros((int(n_frames),) + FRAME_SHAPE, np.uint8)
    kept = steps = episodes = 0
    started = time.perf_counter()
    try:
        with tqdm(total=int(n_frames), disable=not progress, desc="frames", unit="frame") as bar:
            while kept < n_frames:
                for env in envs:
                    env.reset(seed=int(rng.integers(2**31)))
                episodes += n_envs
                actor.reset()
                for _ in range(episode_steps):
                    actions = actor.act()
                    keep = rng.random(n_envs) < keep_prob
                    for i, env in enumerate(envs):
                        env.step(actions[i])
                        if keep[i] and kept < n_frames:
                            frames[kept] = env.render()
                            kept += 1
                            bar.update(1)
                    steps += n_envs
                    if kept >= n_frames:
                        break
    finally:
        for env in envs:
            env.close()
    stats = {"megabytes": frames.nbytes / 2**20, "seconds": time.perf_counter() - started,
             "env_steps": steps, "episodes": episodes}
    if verbose:
        print(f"{n_frames} frames ({stats['megabytes']:.0f} MB as uint8) from {steps} steps of "
              f"{episodes} episodes in {stats['seconds']:.0f} s")
    return frames, stats


def collect_states(n_episodes: int, per_episode: int, seed: int = 0,
                   persistence: float = 0.931) -> dict[str, np.ndarray]:
    """Frames of the persistent random cheetah beside what its sensors read at the same moment.

    ``n_episodes`` 500-step episodes of the study's random actor
    (:class:`course_rl.policy.PersistentRandomActor`); in each, ``per_episode`` steps picked at
    random after the first 20 are kept. Returns arrays with one row per kept step: ``frame``
    (96x96 uint8, after the step), ``previous`` (the frame before it), ``obs`` (the 17 sensor
    readings after the step), ``x`` (the torso's position along the track, m) and ``episode``.
    The read-out experiment of chapter 6 asks how much of the sensors a VAE code recovers.

    Taught in notebooks/06_vision.ipynb.
    """
    from .bullet_envs import HalfCheetahBulletEnv, pb

    steps = 500
    if not (isinstance(per_episode, (int, np.integer)) and 1 <= per_episode <= steps - 20):
        raise ValueError(f"per_episode must be an integer in [1, {steps - 20}], got {per_episode!r}")
    rng = np.random.default_rng(seed)
    actor = PersistentRandomActor(1, (6,), persistence, rng)
    env = HalfCheetahBulletEnv(render_mode="rgb_array", width=FRAME_SHAPE[1], height=FRAME_SHAPE[0])
    out: dict[str, list] = {"frame": [], "previous": [], "obs": [], "x": [], "episode": []}
    try:
        for episode in range(n_episodes):
            env.reset(seed=int(rng.integers(2**31)))
            keep = set(rng.choice(np.arange(20, steps), per_episode, replace=False).tolist())
            actor.reset()
            for t in range(steps):
                action = actor.act()[0]
                if t in keep:
                    out["previous"].append(env.render())
                obs, *_ = env.step(action)
                if t in keep:
                    out["frame"].append(env.render())
                    out["obs"].append(obs)
                    out["x"].append(pb.getJointState(env.robot, env.rootx,
                                                     physicsClientId=env.client)[0])
                    out["episode"].append(episode)
    finally:
        env.close()
    return {k: np.array(v) for k, v in out.items()}


# ---- speed ----------------------------------------------------------------------------------------

def step_timings(envs, n_steps: int = 20, repeats: int = 3, seed: int = 0) -> dict[str, float]:
    """Seconds per frame of each part of a pixel-task step, the best of ``repeats`` tries.

    ``envs``: pixel-task environments sharing one encoder, e.g. ``[tasks.make("cheetah_pixels")
    for _ in range(10)]``; they are reset with seeds 0, 1, ... and stepped ``n_steps`` times
    with uniform random actions (drawn with ``seed``). Every entry is timed over
    ``len(envs) * n_steps`` frames:

    * ``"physics"``: ``step_physics`` of every environment, nothing rendered;
    * ``"render, N frames per call"`` (N = ``len(envs)``): the frames of all environments in
      one call (:func:`render`), the physics not stepped;
    * ``"physics + render"``: ``step_frame`` of every environment (a render per frame);
    * ``"encoder alone, 1 frame per call"`` and ``"encoder alone, N frames per call"``: the
      encoder on frames already rendered;
    * ``"full step, batched encoding"``: the physics of every environment, then one render
      call and one encoder call for all (:func:`observe`, what ``training.run_episodes`` does);
    * ``"full step, one frame per call"``: each environment's own ``step``.

    The best of several tries is kept because other programs on the machine can only slow a
    try down. The first encoder call of each batch size (which traces the graph) is not timed.
    """
    batch = latent_batch(envs)
    if batch is None:
        raise ValueError("envs must be pixel-task environments sharing one encoder "
                         "(tasks.make('cheetah_pixels'))")
    if not (isinstance(n_steps, (int, np.integer)) and n_steps >= 1
            and isinstance(repeats, (int, np.integer)) and repeats >= 1):
        raise ValueError(f"n_steps and repeats must be positive integers, got {n_steps!r}, "
                         f"{repeats!r}")
    n_envs = len(envs)
    actions = np.random.default_rng(seed).uniform(-1, 1, (n_steps,) + envs[0].action_space.shape)
    encoder = batch.encoder
    store = np.zeros((n_envs,) + FRAME_SHAPE, np.uint8)
    for i, env in enumerate(envs):
        store[i] = env.reset_frame(seed=i)[0]
    batch.observe(range(n_envs), first=True)

    def physics(a):
        for env in envs:
            env.step_physics(a)

    def render_all(a):
        for i, env in enumerate(envs):
            store[i] = env.step_frame(a)[0]

    def step_batched(a):
        physics(a)
        batch.observe(range(n_envs))

    def step_one_by_one(a):
        for env in envs:
            env.step(a)

    def best(step, calls):
        tries = []
        for _ in range(repeats):
            start = time.perf_counter()
            for k in range(calls):
                step(actions[k % n_steps])
            tries.append(time.perf_counter() - start)
        return min(tries) / (n_envs * n_steps)

    encoder(store), encoder(store[:1])  # the first call of a new batch size traces the graph
    return {"physics": best(physics, n_steps),
            f"render, {n_envs} frames per call": best(lambda a: render(envs), n_steps),
            "physics + render": best(render_all, n_steps),
            "encoder alone, 1 frame per call": best(lambda a: encoder(store[:1]), n_steps * n_envs),
            f"encoder alone, {n_envs} frames per call": best(lambda a: encoder(store), n_steps),
            "full step, batched encoding": best(step_batched, n_steps),
            "full step, one frame per call": best(step_one_by_one, n_steps)}
