"""The course's tasks: the study's cart-pole and half-cheetah, on pybullet or MuJoCo physics.

Use :func:`make` to build an environment and :data:`TASKS` to learn about a task::

    from course_rl import tasks
    env = tasks.make("cheetah", backend="pybullet", seed=0)
    spec = tasks.TASKS["cheetah"]          # name, description, episode cap, score

Tasks (as modified by the original study):

* ``"cartpole"`` -- inverted pendulum. The agent gets reward 0 on every step and -1 on the step
  the pole falls (``terminated=True``); reaching the 1000-step limit is a truncation with
  reward 0. The reported score of an episode is the number of steps survived.
* ``"cheetah"`` -- half-cheetah with the unchanged reward (forward velocity minus
  0.1 * sum(a**2)), cut at 500 steps (``truncated=True``). The score is the reward sum.
* ``"cheetah_pixels"`` -- the same half-cheetah seen through a camera: every step renders a
  96x96 RGB frame and the observation is the 8-number latent code the study's VAE
  (:mod:`course_rl.vae`) gives that frame (one reparameterised sample; the observation
  wrapper and everything else the pixel task adds live in :mod:`course_rl.pixels`). Reward
  and 500-step cap as ``"cheetah"`` (the original forgot the cap for this task). pybullet
  backend only.

Backends (:data:`BACKENDS`):

* ``"pybullet"`` -- :mod:`course_rl.bullet_envs`, the recreated pybullet-gym environments the
  study used (``course_rl/InvertedPendulumBullet-v0``, ``course_rl/HalfCheetahBullet-v0``).
* ``"mujoco"`` -- gymnasium's ``InvertedPendulum-v5`` and ``HalfCheetah-v5``: same observation
  layouts and reward forms, but other constants (time step, masses, friction, the pendulum's
  force range), so returns are not comparable across backends.

Both backends give float32 observations and a ``Box(-1, 1)`` float32 action space.

Taught in notebooks/01_tasks.ipynb (the pixel task in notebooks/06_vision.ipynb).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.wrappers import RescaleAction, TransformObservation

__all__ = ["BACKENDS", "TASKS", "TASK_VERSIONS", "EpisodeCap", "FallPenaltyReward", "TaskSpec",
           "make", "observation_options", "version"]


def _bullet_envs():
    """:mod:`course_rl.bullet_envs` (importing it registers its environments), on first use.

    Importing pybullet only when a pybullet task is built keeps ``import course_rl.config``
    (which validates task names against :data:`TASKS`) free of any physics engine.
    """
    from . import bullet_envs

    return bullet_envs


BACKENDS: tuple[str, ...] = ("pybullet", "mujoco")
"""Physics engines a task can run on."""

_RENDER_MODES = {"pybullet": (None, "rgb_array"), "mujoco": (None, "rgb_array", "human")}


@dataclass(frozen=True)
class TaskSpec:
    """What a task is and how its episodes are scored.

    Attributes:
        name: key in :data:`TASKS` and first argument of :func:`make`.
        description: one-line summary for humans.
        max_episode_steps: the episode cap (truncation) of the task as :func:`make` builds it.
        score_name: what :meth:`score` measures, for axis labels ("steps survived", "return").
        score_kind: ``"length"`` (score = episode length) or ``"reward_sum"``.
        backends: the physics backends the task runs on (a subset of :data:`BACKENDS`).
        latent_codes: the observation is the VAE's codes of rendered frames (:func:`make` then
            takes ``latent=``, ``latent_frames=`` and ``previous_action=``, which a config's
            fields of those names set: :func:`observation_options`).

    Chapter 1 (notebooks/01_tasks.ipynb) reads them from :data:`TASKS`.
    """

    name: str
    description: str
    max_episode_steps: int
    score_name: str
    score_kind: str = "reward_sum"
    backends: tuple[str, ...] = BACKENDS
    latent_codes: bool = False

    def __post_init__(self) -> None:
        if self.score_kind not in ("length", "reward_sum"):
            raise ValueError(
                f"score_kind must be 'length' or 'reward_sum', got {self.score_kind!r}")
        unknown = [b for b in self.backends if b not in BACKENDS]
        if unknown or not self.backends:
            raise ValueError(f"backends must be a non-empty subset of {list(BACKENDS)}, "
                             f"got {self.backends!r}")

    def score(self, reward_sum: float, length: int) -> float:
        """Return the score reported for an episode with this reward sum and length.

        For the cart-pole this is the number of steps survived (the study's reported return);
        for the half-cheetah it is the reward sum.

        Taught in notebooks/01_tasks.ipynb.
        """
        return float(length) if self.score_kind == "length" else float(reward_sum)


# Extension point: a new task (e.g. the later "cheetah_pixels") needs one TaskSpec here and one
# builder in _BUILDERS below; make() then validates, seeds and renders it like the others.
TASKS: MappingProxyType[str, TaskSpec] = MappingProxyType({
    "cartpole": TaskSpec(
        name="cartpole",
        description="Balance a pole on a cart for up to 1000 steps; reward -1 when it falls, "
                    "else 0.",
        max_episode_steps=1000,
        score_name="steps survived",
        score_kind="length",
    ),
    "cheetah": TaskSpec(
        name="cheetah",
        description="Make a planar half-cheetah run forward; 500-step episodes, reward = "
                    "forward velocity - 0.1 * sum(a^2).",
        max_episode_steps=500,
        score_name="return",
        score_kind="reward_sum",
    ),
    "cheetah_pixels": TaskSpec(
        name="cheetah_pixels",
        description="The half-cheetah seen through a 96x96 camera: the observation is the VAE's "
                    "8-number latent code of each frame; reward and 500-step cap as 'cheetah'.",
        max_episode_steps=500,
        score_name="return",
        score_kind="reward_sum",
        backends=("pybullet",),  # the shipped VAE was trained on pybullet's frames
        latent_codes=True,
    ),
})
"""Registry of task specs, by name (read-only)."""


class FallPenaltyReward(gym.Wrapper):
    """The study's cart-pole reward: 0 on every step, -1 on the step the pole falls.

    The wrapped environment's own reward (+1 per step on both backends) is replaced. A fall is
    ``terminated=True``; hitting the time limit (``truncated=True`` only) earns 0, so the agent
    can tell a fall from the end of time. (The original code gave 0 to a fall on exactly step
    1000, as it could not tell the two apart; here that step earns -1.)

    Taught in notebooks/01_tasks.ipynb.
    """

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, (-1.0 if terminated else 0.0), terminated, truncated, info


class EpisodeCap(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """End every episode after ``max_steps`` steps with ``truncated=True``.

    The study cut half-cheetah episodes at 500 of the environment's 1000 steps. (The original
    treated this cut as the end of the episode; whether to bootstrap a value there is the
    agent's choice.)

    Taught in notebooks/01_tasks.ipynb.
    """

    def __init__(self, env: gym.Env, max_steps: int):
        gym.utils.RecordConstructorArgs.__init__(self, max_steps=max_steps)  # env.spec can remake it
        gym.Wrapper.__init__(self, env)
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) \
                or max_steps <= 0:
            raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
        self.max_steps = int(max_steps)
        self._steps = 0

    def reset(self, **kwargs):
        self._steps = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        return obs, reward, terminated, truncated or self._steps >= self.max_steps, info


class CheckedAction(gym.Wrapper):
    """Refuse an action of the wrong shape or with NaN or inf (``bullet_envs.check_action``).

    The project's pybullet environments check in their own ``step``; MuJoCo's would simulate
    a NaN action and return a NaN reward, so ``make`` puts this in front of them: the same bad
    action gets the same error on both engines. The action goes on unchanged.
    """

    def step(self, action):
        _bullet_envs().check_action(action, self.action_space.shape)
        return self.env.step(action)


@contextlib.contextmanager
def _mujoco_warnings_to_python() -> Iterator[None]:
    """Route MuJoCo's C warnings to Python while an environment is built.

    By default MuJoCo prints them and appends them to ``MUJOCO_LOG.TXT`` in the working
    directory (HalfCheetah-v5's model triggers a deprecation warning about ``settotalmass``
    with MuJoCo 4). Here that known warning is dropped and any other becomes a
    ``RuntimeWarning``.
    """
    import mujoco

    messages: list[str] = []
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(messages.append)  # called from C: only record here
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)
        for message in messages:
            if "settotalmass" not in message:
                warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=3)


def _mujoco_headless_default(render_mode: str | None) -> None:
    """Pick MuJoCo's EGL offscreen renderer when there is no display and no choice was made."""
    if render_mode == "rgb_array" and sys.platform.startswith("linux") \
            and not os.environ.get("MUJOCO_GL") and not os.environ.get("DISPLAY"):
        os.environ["MUJOCO_GL"] = "egl"


def _gym_make(env_id: str, backend: str, render_mode: str | None, kwargs: dict[str, Any],
              **extra: Any) -> gym.Env:
    kwargs = {**extra, **kwargs}
    if backend == "pybullet":
        return gym.make(env_id, render_mode=render_mode, disable_env_checker=True, **kwargs)
    _mujoco_headless_default(render_mode)
    with _mujoco_warnings_to_python():
        env = gym.make(env_id, render_mode=render_mode, disable_env_checker=True, **kwargs)
    return _float32_observations(env)


def _to_float32(obs: np.ndarray) -> np.ndarray:
    return np.asarray(obs, dtype=np.float32)


def _float32_observations(env: gym.Env) -> gym.Env:
    """Cast a Box environment's observations (MuJoCo's are float64) to float32."""
    space = env.observation_space
    space32 = gym.spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32),
                             dtype=np.float32)
    return TransformObservation(env, _to_float32, space32)


def _make_cartpole(backend: str, render_mode: str | None, kwargs: dict[str, Any]) -> gym.Env:
    if backend == "pybullet":
        env = _gym_make(_bullet_envs().INVERTED_PENDULUM_ID, backend, render_mode, kwargs)
    else:
        env = _gym_make("InvertedPendulum-v5", backend, render_mode, kwargs,
                        max_episode_steps=1000)
        env = CheckedAction(RescaleAction(env, np.float32(-1.0), np.float32(1.0)))
    return FallPenaltyReward(env)


def _make_cheetah(backend: str, render_mode: str | None, kwargs: dict[str, Any]) -> gym.Env:
    env_id = _bullet_envs().HALF_CHEETAH_ID if backend == "pybullet" else "HalfCheetah-v5"
    env = _gym_make(env_id, backend, render_mode, kwargs, max_episode_steps=1000)
    if backend == "mujoco":
        env = CheckedAction(env)
    return EpisodeCap(env, TASKS["cheetah"].max_episode_steps)


def _make_cheetah_pixels(backend: str, render_mode: str | None, kwargs: dict[str, Any]) -> gym.Env:
    from . import pixels  # only now: the pixel task's VAE needs TensorFlow

    def camera_cheetah(**camera_kwargs: Any) -> gym.Env:
        # the camera is always on: the observation is made from the frame (render_mode=None too)
        env = _gym_make(_bullet_envs().HALF_CHEETAH_ID, backend, "rgb_array", camera_kwargs,
                        max_episode_steps=1000)
        return EpisodeCap(env, TASKS["cheetah_pixels"].max_episode_steps)

    return pixels.make_task(camera_cheetah, **kwargs)


_BUILDERS: dict[str, Callable[[str, str | None, dict[str, Any]], gym.Env]] = {
    "cartpole": _make_cartpole,
    "cheetah": _make_cheetah,
    "cheetah_pixels": _make_cheetah_pixels,
}


TASK_VERSIONS: MappingProxyType = MappingProxyType({
    ("cartpole", "pybullet"): 1,
    ("cartpole", "mujoco"): 1,
    ("cheetah", "pybullet"): 3,
    ("cheetah", "mujoco"): 1,
    ("cheetah_pixels", "pybullet"): 3,
})
"""The version of each task on each backend: it goes up whenever the same config and seed would
give other observations or rewards. History:

* cheetah and cheetah_pixels on pybullet, v2 (2026-11-30): the contacts as pybullet-gym ran
  them (the cheetah's parts at restitution 0, see ``bullet_envs.CONTACT_AS_RUN``); v1 gave the
  parts the settings pybullet-gym meant (restitution 0.5), so foot strikes bounced.
* cheetah and cheetah_pixels on pybullet, v3 (2026-11-30): the reward reads the torso's x as
  pybullet-gym does, from the pose cached at the start of the step's last substep (v2 read the
  current ``rootx``); observations unchanged, rewards now equal pybullet-gym's to round-off
  (``tests/test_fidelity.py``).

Every run records ``tasks.version(task, backend)``; runs written before versions existed are
read as v1 (``results.Run.task_version``).
"""


def version(name: str, backend: str, latent: str = "sample", latent_frames: int = 1,
            previous_action: bool = False) -> str:
    """The version string a run of task ``name`` on ``backend`` records, e.g.
    ``"cheetah/pybullet/v3"``; the pixel task appends its VAE's fingerprint
    (``"cheetah_pixels/pybullet/v3+vae:0123456789abcdef"``) and, when its observation is not the
    study's single sampled code, what it is instead (``"...+vae:0123456789abcdef+latent:mean
    +frames:3"``, without the space, and ``+action`` with the previous action; pass a config's
    settings with
    ``**observation_options(config)``), so that a checkpoint of another observation is refused."""
    if (name, backend) not in TASK_VERSIONS:
        raise ValueError(f"task {name!r} has no version on backend {backend!r}; "
                         f"known: {sorted(TASK_VERSIONS)}")
    text = version_string(name, backend, TASK_VERSIONS[name, backend], fingerprint(name))
    if TASKS[name].latent_codes:
        from .pixels import check_latent
        check_latent(latent, latent_frames, previous_action)
        text += (f"+latent:{latent}" if latent != "sample" else "") \
            + (f"+frames:{latent_frames}" if latent_frames != 1 else "") \
            + ("+action" if previous_action else "")
    elif (latent, latent_frames, previous_action) != ("sample", 1, False):
        raise ValueError(f"task {name!r} observes no latent codes: latent={latent!r}, "
                         f"latent_frames={latent_frames!r} and previous_action="
                         f"{previous_action!r} are allowed for "
                         f"{sorted(n for n, t in TASKS.items() if t.latent_codes)} only")
    return text


def observation_options(config) -> dict[str, Any]:
    """The keyword arguments of :func:`make` (and :func:`version`) that a config's observation
    fields set: ``latent``, ``latent_frames`` and ``previous_action`` for a pixel task, none
    for the others."""
    if not TASKS[config.task].latent_codes:
        return {}
    return {"latent": config.latent, "latent_frames": config.latent_frames,
            "previous_action": config.previous_action}


def version_string(name: str, backend: str, number: int, vae_fingerprint: str = "") -> str:
    """The format of a task version: ``task/backend/vN`` and ``+vae:<fingerprint>`` if any."""
    text = f"{name}/{backend}/v{number}"
    return f"{text}+vae:{vae_fingerprint}" if vae_fingerprint else text


def fingerprint(name: str) -> str:
    """What else than the config decides a task's observations: for ``"cheetah_pixels"`` the
    first 16 hex digits of the shipped VAE encoder's SHA-256 (another VAE is another task);
    ``""`` for the other tasks. Runs record it, and resuming refuses a changed one."""
    if name != "cheetah_pixels":
        return ""
    from .pixels import vae_fingerprint
    return vae_fingerprint()


def make(name: str, backend: str = "pybullet", seed: int | None = None,
         render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """Build the environment of task ``name`` on physics ``backend``.

    Args:
        name: a key of :data:`TASKS` ("cartpole", "cheetah" or "cheetah_pixels").
        backend: one of :data:`BACKENDS` ("pybullet", the study's engine, or "mujoco");
            "cheetah_pixels" runs on pybullet only.
        seed: ``None`` or a non-negative int. When given, the first ``reset()`` called without
            a seed behaves exactly like ``reset(seed=seed)`` (the environment's random
            generator is seeded now; the environment is not reset here), and the action space
            is seeded too, so ``env.action_space.sample()`` is reproducible. An explicit
            ``reset(seed=...)`` later takes precedence as usual.
        render_mode: ``None`` or ``"rgb_array"`` (both backends; ``"human"`` on MuJoCo only,
            which needs a display). On Linux without a display, MuJoCo's ``rgb_array`` uses
            the EGL offscreen renderer (``MUJOCO_GL=egl`` is set if ``MUJOCO_GL`` is unset).
        **kwargs: passed to the environment constructor, e.g. ``width=`` and ``height=`` of
            rendered frames (positive ints). "cheetah_pixels" takes ``vae=`` (``None``: the
            shipped VAE; or a weights file, a :class:`course_rl.vae.VAE` or a
            :class:`course_rl.vae.FrameEncoder`), ``latent=`` (``"sample"``, the default
            and the study's choice, or ``"mean"``) and ``latent_frames=`` (how many latest
            frames' codes the observation stacks, newest last; 1 by default, the study's
            choice) and ``previous_action=`` (the observation ends with the previous step's
            action; False by default); its frames are always 96x96 and its camera
            is always on (``render()`` returns the frame the agent sees). See
            :func:`course_rl.pixels.make_task`.

    Returns:
        A gymnasium environment with float32 observations and a ``Box(-1, 1)`` float32 action
        space, carrying the study's modifications (see :class:`FallPenaltyReward` and
        :class:`EpisodeCap`).

    Raises:
        ValueError: unknown task or backend, bad seed, bad render mode or render size; the
            message names the bad value and what is allowed.

    Taught in notebooks/01_tasks.ipynb.
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {sorted(TASKS)}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")
    if backend not in TASKS[name].backends:
        raise ValueError(f"task {name!r} does not run on backend {backend!r}; "
                         f"choose one of {list(TASKS[name].backends)}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
    if render_mode not in _RENDER_MODES[backend]:
        raise ValueError(f"unsupported render_mode {render_mode!r} for backend {backend!r}; "
                         f"choose one of {list(_RENDER_MODES[backend])}")
    if ("width" in kwargs or "height" in kwargs) and name != "cheetah_pixels":
        _bullet_envs().check_render_size(kwargs.get("width", 1), kwargs.get("height", 1))

    env = _BUILDERS[name](backend, render_mode, dict(kwargs))
    if seed is not None:
        base = env.unwrapped
        base._np_random, base._np_random_seed = seeding.np_random(int(seed))
        env.action_space.seed(int(seed))
    return env
