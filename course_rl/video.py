"""Videos of episodes: replay a trained policy (or random actions) and embed the clip in a notebook.

Three steps, each usable on its own::

    from course_rl import video
    act = video.load_policy("results/a2c-cartpole/pybullet/seed-0")   # the run's best policy
    frames, score = video.record_episode("cartpole", act, seed=3)      # (T, H, W, 3) uint8
    video.to_html(frames)                                              # plays inline

or all at once: ``video.show_episode("cartpole", act)``.

Clips are embedded in the notebook itself (base64), so they play wherever the notebook is
opened (Jupyter, Colab, a static HTML export) without files beside it: MP4 as H.264 in
``yuv420p`` (the only pixel format every browser decodes), or an animated GIF. The data sits
on the ``<video>`` element itself (JupyterLab keeps it there in a notebook not yet trusted; it
strips a ``<source>`` child's), and each clip also carries a still for viewers that show no
HTML video (GitHub): a small animated GIF, or a poster frame when that would be too big.

Taught in notebooks/05_results.ipynb.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from . import policy as mix
from . import results, tasks
from .agent import NumpyPolicy, scale_of
from .config import Config

RANDOM = "random"
PERSISTENT_RANDOM = "persistent-random"


# ---- a finished run's policy ---------------------------------------------------------------------

class LoadedPolicy(NumpyPolicy):
    """A run's best policy as a plain function of observations (NumPy, no TensorFlow calls).

    Called as ``policy(obs, temp=0.0)``, it maps a batch of raw observations
    ``(n,) + obs_shape`` to actions ``(n,) + action_shape`` (one observation without the batch
    axis gives one action). With ``temp == 0`` (the default) the action is greedy: the mean of
    the most probable mode, as in the study's evaluations. With ``temp > 0`` it samples with the
    run's persistence, keeping one persistent noise per row of the batch (``reset()`` starts the
    noise afresh). Scaling and acting are ``agent.NumpyPolicy``'s, the agent's own acting path.
    """

    def __init__(self, config: Config, network, obs_shape, action_shape, seed: int = 0,
                 normalizer: tuple[np.ndarray, np.ndarray] | None = None):
        super().__init__(network, config, action_shape, scale=normalizer)
        self.obs_shape = tuple(obs_shape)
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        """Forget the persistent exploration noise (used only with ``temp > 0``)."""
        self._rng = np.random.default_rng(self._seed)
        self._sampler = None

    def __call__(self, obs, temp: float = 0.0) -> np.ndarray:
        obs = np.asarray(obs, np.float32)
        single = obs.shape == self.obs_shape
        if single:
            obs = obs[None]
        if obs.shape[1:] != self.obs_shape:
            raise ValueError(f"observations of shape {obs.shape[1:]} given to a policy trained on "
                             f"{self.obs_shape} ({self.config.task})")
        if temp == 0:
            actions = self.act(obs, temp=0.0)
        else:
            if self._sampler is None or self._sampler.n_actors != len(obs):
                self._sampler = self.make_sampler(len(obs), self._rng)
            self._sampler.refresh()
            actions = self.act(obs, self._sampler, temp)
        return actions[0] if single else actions

    def __repr__(self) -> str:
        return (f"LoadedPolicy({self.config.name!r}, task={self.config.task!r}, "
                f"obs {self.obs_shape} -> actions {self.action_shape}, K={self.config.n_modes})")


def _task_shapes(config: Config, backend: str) -> tuple[tuple, tuple]:
    env = tasks.make(config.task, backend=backend, **tasks.observation_options(config))
    try:
        return env.observation_space.shape, env.action_space.shape
    finally:
        env.close()


def _read_normalizer(folder: Path | None, config: Config, stats: dict | None = None):
    """``(shift, factor)`` of a normalising run's best policy (None for other runs)."""
    if not config.normalize_observations:
        return None
    if stats is None and folder is not None:
        stats = results.load_normalizer(folder)
    if stats is None:
        where = (f"{folder / results.NORMALIZER_FILE} does not exist" if folder is not None
                 else "the run has no folder")
        raise NotImplementedError(
            f"run {config.name!r} was trained with normalize_observations=True, so its policy "
            f"expects observations scaled by the training's running mean and variance; those "
            f"statistics are not saved with the run ({where}), so the policy cannot be replayed")
    return scale_of(stats["mean"], stats["var"])


def load_policy(run_or_folder, backend: str | None = None, seed: int = 0) -> LoadedPolicy:
    """The best policy of a finished run, ready to act: ``act(obs_batch, temp=0.0) -> actions``.

    Parameters
    ----------
    run_or_folder : path or results.Run
        A run folder (its config and best policy weights, as ``training.train(out=...)``
        writes them, see ``course_rl.results``), or a ``results.Run``: one trained without a
        folder carries its best weights in ``.best_policy``; one loaded from disk is read from
        its folder.
    backend : str or None
        Physics engine whose spaces fix the network's input and output shapes; by default the
        run folder's (``<experiment>/<backend>/seed-N``), else "pybullet" (both engines give
        the same shapes).
    seed : int
        Seeds the exploration noise when the policy is called with ``temp > 0``.

    Raises ValueError (naming the file) when the weights or config are missing or do not fit
    the task; NotImplementedError for runs with ``normalize_observations=True`` whose
    normaliser statistics were not saved.

    Taught in notebooks/05_results.ipynb.
    """
    from .networks import NumpyMLP, policy_network

    weights = folder = stats = None
    if isinstance(run_or_folder, results.Run):
        run = run_or_folder
        config = run.config
        if config is None:
            raise ValueError(f"{run.experiment!r} is one of the original study's runs: only its "
                             f"learning curves were kept, not its policy")
        if run.best_policy is not None:
            weights = [np.asarray(w) for w in run.best_policy]
            stats = run.best_normalizer
        elif run.path == Path("."):
            raise ValueError(f"run {run.experiment!r} has no best policy (no evaluation finished) "
                             f"and no folder to read {results.WEIGHTS_FILE} from")
        else:
            folder = run.path.parent if run.path.suffix == ".npz" else run.path
    else:
        folder = Path(run_or_folder)
        if not folder.is_dir():
            raise ValueError(f"no run folder at {folder}")
        config = results.load_config(folder)
    if folder is not None and not results.checked_file(folder, results.WEIGHTS_FILE).is_file():
        results.load_policy_weights(folder, None, config)  # names the missing file and what to do

    if backend is None:
        backend = folder.parent.name if folder is not None and folder.parent.name in tasks.BACKENDS \
            else "pybullet"
    normalizer = _read_normalizer(folder, config, stats)

    obs_shape, action_shape = _task_shapes(config, backend)
    model = policy_network(obs_shape, action_shape, config.n_modes, config.hidden_sizes,
                           config.hidden_init)
    if weights is not None:
        expected = [tuple(w.shape) for w in model.get_weights()]
        if [tuple(w.shape) for w in weights] != expected:
            raise ValueError(f"best_policy weights of shapes {[w.shape for w in weights]} do not "
                             f"fit {config.name!r} on {config.task!r} (expects {expected})")
        model.set_weights(weights)
    else:
        results.load_policy_weights(folder, model, config)
    return LoadedPolicy(config, NumpyMLP(model), obs_shape, action_shape, seed, normalizer)


def _as_policy(policy):
    """Accept a callable, None, "random", "persistent-random", a run folder or a Run."""
    if policy is None or callable(policy) or policy in (RANDOM, PERSISTENT_RANDOM):
        return policy
    if isinstance(policy, (str, os.PathLike, results.Run)):
        return load_policy(policy)
    raise TypeError(f"policy must be a callable, None, {RANDOM!r}, {PERSISTENT_RANDOM!r}, "
                    f"a run folder or a results.Run; got {type(policy).__name__}")


# ---- playing an episode --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _mujoco_gl_works(gl: str) -> bool:
    """Whether MuJoCo can draw a half-cheetah frame with ``MUJOCO_GL=gl`` beside TensorFlow,
    tried in a child process: where it cannot, the process that tries crashes. (Measured on a
    machine without a GPU: EGL draws alone, and crashes once TensorFlow is loaded.)"""
    import subprocess
    import sys

    probe = ("import tensorflow, gymnasium; env = gymnasium.make('HalfCheetah-v5', "
             "render_mode='rgb_array', width=8, height=8); env.reset(seed=0); env.render()")
    try:
        done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "MUJOCO_GL": gl},
                              capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _check_can_draw(backend: str) -> None:
    """MuJoCo draws its frames with OpenGL; where it cannot open a context (no display, no GPU
    or OSMesa driver) it would crash the process, so refuse in one line instead."""
    if backend != "mujoco":
        return
    tasks._mujoco_headless_default("rgb_array")  # (EGL when there is no display and no choice)
    gl = os.environ.get("MUJOCO_GL", "glfw")
    if not _mujoco_gl_works(gl):
        raise RuntimeError(f"MuJoCo cannot draw frames here: with MUJOCO_GL={gl} a test frame "
                           f"crashed (no display, no GPU or OSMesa driver, or EGL beside "
                           f"TensorFlow without a GPU); set "
                           f"MUJOCO_GL to one that works before Python starts, or record on "
                           f"backend='pybullet'")


def _check_max_steps(max_steps) -> None:
    if max_steps is not None and not (isinstance(max_steps, (int, np.integer)) and max_steps >= 1):
        raise ValueError(f"max_steps must be None or an integer >= 1, got {max_steps!r}")


def record_episode(task: str, policy=None, backend: str = "pybullet", seed: int = 0,
                   max_steps: int | None = None, width: int = 240, height: int = 160,
                   every: int = 1, persistence: float = 0.931):
    """Play one episode and keep its rendered frames: returns ``(frames, score)``.

    Parameters
    ----------
    task : str
        Task name ("cartpole" or "cheetah").
    policy : callable, None, "persistent-random", run folder or results.Run
        A function ``policy(obs_batch) -> actions`` such as ``load_policy(...)``; None (or
        "random") for uniform random actions in [-1, 1]; "persistent-random" for the original
        study's data-collection actor (:class:`course_rl.policy.PersistentRandomActor`): a
        standard Gaussian action, redrawn with probability ``1 - persistence`` at each step and
        held otherwise (clipped to [-1, 1]).
    backend, seed : str, int
        Physics engine, and the episode's reset seed (also seeds random actions).
    max_steps : int or None
        Stop after this many steps (default: the task's episode cap).
    width, height : int
        Frame size in pixels.
    every : int
        Keep every ``every``-th frame (the first frame, after reset, is always kept):
        rendering costs more than the physics, and 2 turns the environments' ~61 steps per
        simulated second into a real-time 30 fps clip.
    persistence : float
        Persistence of the "persistent-random" actor (default: the study's cheetah value).

    Returns
    -------
    frames : uint8 array (T, height, width, 3)
    score : float
        The task's reported score of the steps played (``tasks.TASKS[task].score``).

    Taught in notebooks/05_results.ipynb.
    """
    if not (isinstance(every, (int, np.integer)) and every >= 1):
        raise ValueError(f"every must be an integer >= 1, got {every!r}")
    _check_max_steps(max_steps)
    if task not in tasks.TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {sorted(tasks.TASKS)}")
    spec = tasks.TASKS[task]
    _check_can_draw(backend)
    policy = _as_policy(policy)
    env = tasks.make(task, backend=backend, seed=seed, render_mode="rgb_array",
                     width=width, height=height)
    try:
        obs, _ = env.reset(seed=seed)
        shape = env.action_space.shape
        if policy == PERSISTENT_RANDOM:
            actor = mix.PersistentRandomActor(1, shape, persistence, np.random.default_rng(seed))
            actor.reset()
        if isinstance(policy, LoadedPolicy):
            policy.reset()
        frames = [env.render()]
        reward_sum, steps = 0.0, 0
        limit = max_steps if max_steps is not None else spec.max_episode_steps
        done = False
        while not done and steps < limit:
            if policy is None or policy == RANDOM:
                action = env.action_space.sample()
            elif policy == PERSISTENT_RANDOM:
                action = actor.act()[0].astype(np.float32)
            else:
                action = np.asarray(policy(np.asarray(obs, np.float32)[None]), np.float32)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            reward_sum += float(reward)
            steps += 1
            done = terminated or truncated
            if steps % every == 0:
                frames.append(env.render())
    finally:
        env.close()
    return np.stack(frames).astype(np.uint8), spec.score(reward_sum, steps)


def record_pixel_episode(policy, seed: int = 0, max_steps: int | None = None):
    """Play one episode of a pixel-task run's policy and keep what the agent saw: returns
    ``(frames, codes, score)``.

    ``policy`` is a run folder, a ``results.Run`` or a :class:`LoadedPolicy` of a
    ``cheetah_pixels`` experiment; the episode is played greedily on the pixel task with that
    run's observation settings (``latent``, ``latent_frames``). ``frames`` are the 96x96 uint8
    frames the encoder read, ``(T, 96, 96, 3)``, and ``codes`` the newest frame's code in each
    observation, ``(T, latent_dim)`` (decode them with ``vae.load_shipped().decode(codes)`` to
    see what the policy's input shows), from the reset to the last step.

    Taught in notebooks/06_vision.ipynb.
    """
    policy = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
    config = policy.config
    if not tasks.TASKS[config.task].latent_codes:
        raise ValueError(f"record_pixel_episode plays a pixel task's policy; {config.name!r} "
                         f"acts on {config.task!r} (use record_episode)")
    _check_max_steps(max_steps)
    spec = tasks.TASKS[config.task]
    env = tasks.make(config.task, seed=seed, **tasks.observation_options(config))
    try:
        obs, _ = env.reset(seed=seed)
        frames, codes = [env.render()], [env.codes[-1].copy()]
        reward_sum, steps, done = 0.0, 0, False
        limit = max_steps if max_steps is not None else spec.max_episode_steps
        while not done and steps < limit:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            reward_sum += float(reward)
            steps += 1
            done = terminated or truncated
            frames.append(env.render())
            codes.append(env.codes[-1].copy())
    finally:
        env.close()
    return np.stack(frames).astype(np.uint8), np.stack(codes), spec.score(reward_sum, steps)


# ---- embedding ---------------------------------------------------------------------------------

def _even(frames: np.ndarray) -> np.ndarray:
    """Pad height and width to even sizes (H.264 in yuv420p halves both for colour)."""
    h, w = frames.shape[1:3]
    if h % 2 or w % 2:
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frames


def _check_frames(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim == 3:  # grey frames
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.ndim != 4 or frames.shape[-1] not in (3, 4) or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty (T, H, W, 3) array, got shape {frames.shape}")
    if frames.dtype != np.uint8:
        if np.issubdtype(frames.dtype, np.floating) and frames.max() <= 1.0:
            frames = frames * 255.0
        frames = np.clip(frames, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frames[..., :3])


def encode_mp4(frames, fps: float = 30, crf: int = 28) -> bytes:
    """H.264 MP4 bytes (yuv420p, even sizes, ``+faststart`` so browsers play it at once).

    ``crf`` is x264's constant rate factor: 18 is visually lossless, 28 (the default) keeps
    rendered scenes sharp at a few kB per second of 240x160 video.
    """
    import imageio_ffmpeg

    frames = _even(_check_frames(frames))
    h, w = frames.shape[1:3]
    fd, path = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    try:
        writer = imageio_ffmpeg.write_frames(
            path, (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=None,
            macro_block_size=2, ffmpeg_log_level="error",
            output_params=["-crf", str(int(crf)), "-preset", "medium", "-movflags", "+faststart",
                           "-threads", "1"])
        writer.send(None)
        for frame in frames:
            writer.send(frame)
        writer.close()
        return Path(path).read_bytes()
    finally:
        os.remove(path)


def encode_gif(frames, fps: float = 30) -> bytes:
    """Animated GIF bytes that loop forever (GIF stores delays in 1/100 s: fps is rounded)."""
    import imageio.v3 as iio

    frames = _check_frames(frames)
    return iio.imwrite("<bytes>", frames, extension=".gif", duration=1000.0 / fps, loop=0)


STILL_BYTES = 100_000
"""Largest animated GIF stored beside a clip; a clip whose GIF would be bigger gets a poster."""

STILL_FPS = 10
"""Frame rate of that GIF (frames are dropped to reach it): motion, at a fraction of the size."""


def encode_gif_small(frames, fps: float = 30, colors: int = 64) -> bytes:
    """A compact looping GIF: one palette of ``colors`` shared by all frames (no flicker, and
    unchanged pixels compress away), frames dropped to at most ``STILL_FPS`` per second."""
    import PIL.Image

    frames = _check_frames(frames)
    step = max(1, round(fps / STILL_FPS))
    frames = frames[::step]
    picks = np.linspace(0, len(frames) - 1, min(4, len(frames))).astype(int)
    palette = PIL.Image.fromarray(np.concatenate(frames[picks], axis=0)).quantize(
        colors=colors, method=PIL.Image.Quantize.MEDIANCUT)
    images = [PIL.Image.fromarray(f).quantize(palette=palette, dither=PIL.Image.Dither.NONE)
              for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=max(20, round(1000 * step / fps)), optimize=True)
    return buf.getvalue()


def still_image(frames, fps: float = 30, max_bytes: int = STILL_BYTES) -> tuple[bytes, str]:
    """The clip for viewers without HTML video: ``(data, mime type)``.

    A compact animated GIF (``encode_gif_small``), at half size if the full-size one is over
    ``max_bytes``; if that is too, a PNG of the middle frame (a poster).
    """
    import PIL.Image

    frames = _check_frames(frames)
    gif = encode_gif_small(frames, fps)
    if len(gif) > max_bytes and min(frames.shape[1:3]) >= 64:
        half = np.stack([np.asarray(PIL.Image.fromarray(f).reduce(2)) for f in frames])
        gif = encode_gif_small(half, fps)
    if len(gif) <= max_bytes:
        return gif, "image/gif"
    buf = io.BytesIO()
    PIL.Image.fromarray(frames[len(frames) // 2]).save(buf, format="png", optimize=True)
    return buf.getvalue(), "image/png"


@functools.cache
def _clip_class():
    from IPython.display import HTML

    class Clip(HTML):
        """An HTML clip that a notebook stores with a still (``still``, ``still_mime``) and a
        one-line ``note`` as text: viewers that show no HTML video show the still."""

        def __init__(self, body: str, still: bytes, still_mime: str, note: str):
            super().__init__(body)
            self.still, self.still_mime, self.note = still, still_mime, note

        def _repr_mimebundle_(self, include=None, exclude=None):
            return {"text/html": self.data, "text/plain": self.note,
                    self.still_mime: base64.b64encode(self.still).decode("ascii")}

    return Clip


def to_html(frames, fps: float = 30, fmt: str = "mp4", caption: str | None = None):
    """Embed frames in the notebook as a looping clip: an ``IPython.display.HTML``.

    ``fmt="mp4"``: a ``<video controls autoplay loop muted>`` with H.264 data inline (small:
    a 10 s 240x160 clip is well under 100 kB). ``fmt="gif"``: an ``<img>`` (bigger, but plays in
    places that show no video). ``caption`` is shown under the clip. Displayed, the clip also
    stores ``still_image(frames)`` (an animated GIF of modest size, or a poster frame) and the
    caption as plain text, for viewers that show no HTML (GitHub).

    Taught in notebooks/05_results.ipynb.
    """
    frames = _check_frames(frames)
    h, w = frames.shape[1:3]
    if fmt == "mp4":
        data = base64.b64encode(encode_mp4(frames, fps)).decode("ascii")
        # src on <video> itself: JupyterLab's sanitiser (untrusted notebooks) keeps it there
        # but strips a <source> child's src, which left a black player
        body = (f'<video width="{w + w % 2}" height="{h + h % 2}" controls autoplay loop muted '
                f'playsinline src="data:video/mp4;base64,{data}">'
                f'Your browser does not play H.264 video.</video>')
    elif fmt == "gif":
        data = base64.b64encode(encode_gif(frames, fps)).decode("ascii")
        body = f'<img width="{w}" height="{h}" src="data:image/gif;base64,{data}">'
    else:
        raise ValueError(f"fmt={fmt!r}: choose 'mp4' or 'gif'")
    if caption:
        body = (f'<figure style="margin:0">{body}<figcaption style="font-size:90%">'
                f'{html.escape(caption)}</figcaption></figure>')
    still, mime = still_image(frames, fps)
    seconds = len(frames) / fps
    note = (f"video, {seconds:.1f} s" + (f": {caption}" if caption else "")
            + ("" if mime == "image/gif" else " (a still frame here; the clip plays in "
               "JupyterLab, Colab or nbviewer)"))
    return _clip_class()(body, still, mime, note)


def show_episode(task: str, policy=None, backend: str = "pybullet", seed: int = 0,
                 max_steps: int | None = None, width: int = 240, height: int = 160,
                 every: int = 2, fps: float = 30, fmt: str = "mp4", caption: bool | str = True):
    """Play one episode and embed it: ``record_episode`` then ``to_html``.

    By default every second step is kept and played at 30 fps, which is about real time (the
    environments step ~61 times per simulated second). ``caption=True`` writes the task, the
    policy and the score under the clip.

    Taught in notebooks/05_results.ipynb.
    """
    policy = _as_policy(policy)
    frames, score = record_episode(task, policy, backend, seed, max_steps, width, height, every)
    if caption is True:
        spec = tasks.TASKS[task]
        who = policy if isinstance(policy, str) and policy in (RANDOM, PERSISTENT_RANDOM) else (
            "random actions" if policy is None else
            getattr(getattr(policy, "config", None), "name", None) or "policy")
        caption = f"{task} ({backend}), {who}, seed {seed}: {spec.score_name} {score:g}"
    return to_html(frames, fps, fmt, caption or None)
