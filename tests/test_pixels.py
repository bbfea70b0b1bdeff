"""Tests of the pixel task's speed path and stacked observations: course_rl.cheetah_frames (frames
identical to pybullet's TinyRenderer) and the latent codes of several frames (course_rl.pixels),
with real rendering and the shipped encoder."""

from __future__ import annotations

import numpy as np
import pytest

from course_rl import cheetah_frames, pixels, tasks, training, video
from course_rl.agent import Agent
from course_rl.bullet_envs import HalfCheetahBulletEnv
from course_rl.config import EXPERIMENTS

F32 = np.float32


# ---------------------------------------------------------------- frames drawn fast, identical


@pytest.fixture
def count_whole_frames(monkeypatch):
    """Counts the frames TinyRenderer draws whole (``render_tinyrenderer``) while the test runs."""
    calls = []
    whole = HalfCheetahBulletEnv.render_tinyrenderer

    def counted(env):
        calls.append(env)
        return whole(env)
    monkeypatch.setattr(HalfCheetahBulletEnv, "render_tinyrenderer", counted)
    return calls, whole


def random_poses(envs, rng, sunk: bool):
    """Joint positions anywhere along the track (the floor ends at x = +-100), the torso up to
    0.7 m into the floor when ``sunk``."""
    for env in envs:
        q = rng.uniform(-0.6, 0.6, 9)
        q[0] = rng.uniform(-60, 140)
        q[1] = rng.uniform(-0.7, 0.2) if sunk else rng.uniform(0.0, 0.3)
        env.set_state(q, np.zeros(9))


@pytest.mark.parametrize("width,height", [(96, 96), (240, 160)])
def test_fast_frames_are_tinyrenderers_frames_bit_for_bit(width, height, count_whole_frames):
    """Random-action episodes: one set of environments draws its frames fast, a twin set (the same
    seeds and actions) has TinyRenderer draw each frame whole, as the pixel task did before: the
    frames are equal, and none was drawn whole on the fast side."""
    calls, whole = count_whole_frames
    fast_envs, whole_envs = ([HalfCheetahBulletEnv(render_mode="rgb_array", width=width,
                                                   height=height) for _ in range(3)]
                             for _ in range(2))
    rng = np.random.default_rng(0)
    for episode in range(2):
        seeds = rng.integers(1000, size=3)
        for env, twin, seed in zip(fast_envs, whole_envs, seeds):
            env.reset(seed=int(seed)), twin.reset(seed=int(seed))
        for _ in range(20):
            actions = rng.uniform(-1, 1, (3, 6))
            for env, twin, action in zip(fast_envs, whole_envs, actions):
                env.step(action), twin.step(action)
            fast = cheetah_frames.render_frames(fast_envs)
            assert fast.shape == (3, height, width, 3) and fast.dtype == np.uint8
            for frame, twin in zip(fast, whole_envs):
                np.testing.assert_array_equal(frame, whole(twin))
    assert calls == []
    np.testing.assert_array_equal(fast_envs[0].render(), whole(whole_envs[0]))  # render() too
    for env in fast_envs + whole_envs:
        env.close()


@pytest.mark.parametrize("width,height", [(96, 96), (240, 160)])
def test_fast_frames_of_any_pose_are_tinyrenderers(width, height, count_whole_frames):
    """The cheetah anywhere along the track, also sunk into the floor (where the fast path hands
    frames whose depths it cannot tell apart to TinyRenderer). TinyRenderer itself draws a rare
    pixel 1 colour level apart on alternate calls (see cheetah_frames), so each pixel must be
    one of two consecutive whole renders; nearly all frames are drawn fast."""
    calls, whole = count_whole_frames
    envs = [HalfCheetahBulletEnv(render_mode="rgb_array", width=width, height=height)
            for _ in range(4)]
    rng = np.random.default_rng(1)

    def check(fast):
        for frame, env in zip(fast, envs):
            one, other = whole(env), whole(env)
            assert (one != other).any(-1).sum() <= 2
            assert ((frame == one) | (frame == other)).all()

    for sunk in (False, True):
        for _ in range(10):
            random_poses(envs, rng, sunk)
            check(cheetah_frames.render_frames(envs))
    assert len(calls) <= 8
    for _ in range(300):  # until a foot is within round-off of the floor's depth
        random_poses(envs, rng, sunk=True)
        fast = cheetah_frames.render_frames(envs)
        if len(calls) > 8:
            break
    check(fast)
    assert len(calls) > 8
    for env in envs:
        env.close()


def test_a_camera_the_floor_painter_does_not_know_gets_tinyrenderers_frames(count_whole_frames):
    """Looking straight down, the floor's triangles are clipped otherwise: TinyRenderer draws."""
    calls, whole = count_whole_frames

    class LookingDown(HalfCheetahBulletEnv):
        _camera = {**HalfCheetahBulletEnv._camera, "pitch": -89.0, "distance": 50.0}

    env = LookingDown(render_mode="rgb_array", width=96, height=96)
    env.reset(seed=0)
    np.testing.assert_array_equal(env.render(), whole(env))
    assert calls == [env]
    env.close()


def test_the_floor_alone_is_tinyrenderers_floor():
    """The floor painter against TinyRenderer with the cheetah hidden, camera anywhere along
    the track: no pixel differs, and only a few were worked out step by step."""
    from course_rl.bullet_envs import pb
    env = HalfCheetahBulletEnv(render_mode="rgb_array", width=96, height=96)
    for link in range(-1, pb.getNumJoints(env.robot, physicsClientId=env.client)):
        pb.changeVisualShape(env.robot, link, rgbaColor=[1, 1, 1, 0], physicsClientId=env.client)
    painter = cheetah_frames.FloorPainter(96, 96, env._projection)
    rng = np.random.default_rng(1)
    views, references = [], []
    for x in rng.uniform(-60, 160, 40):
        env.set_state(np.r_[x, np.zeros(8)], np.zeros(9))
        views.append(env._view_matrix())
        references.append(env.render_tinyrenderer())
    floors, ok, _ = painter.paint(np.array(views, F32))
    assert ok.all()
    np.testing.assert_array_equal(floors, np.stack(references))
    env.close()


def test_the_floor_colours_do_not_depend_on_the_normals_last_bit():
    """TinyRenderer's normalised normal can be 1 ulp off (0, 0, 1); the texture's two colours
    come out the same either way (cheetah_frames shades with the exact normal)."""
    import os

    import pybullet_data
    from PIL import Image
    path = os.path.join(pybullet_data.getDataPath(), "checker_blue.png")
    texels = np.unique(np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3), axis=0)
    assert len(texels) == 2  # blue and white checks
    shaded = cheetah_frames._shade(texels)
    np.testing.assert_array_equal(  # (the painter's texture is these two colours)
        np.unique(shaded, axis=0), np.unique(cheetah_frames.floor_texture().reshape(-1, 3), axis=0))
    for z in (np.nextafter(F32(1), F32(0)), np.nextafter(F32(1), F32(2))):
        np.testing.assert_array_equal(cheetah_frames._shade(texels, z), shaded)
    assert not np.array_equal(cheetah_frames._shade(texels, F32(0.99)), shaded)  # (it can tell)


# ---------------------------------------------------------------- stacked latent codes


def codes_of(env, frames):
    """The encoder's means of ``frames``, one frame per call (as a single environment does)."""
    return np.concatenate([env.encoder.mean(frame[None]) for frame in frames])


def test_stacked_codes_are_the_last_frames_codes_newest_last():
    env = tasks.make("cheetah_pixels", latent="mean", latent_frames=3, seed=0)
    assert env.observation_space.shape == (24,) and env.observation_space.dtype == np.float32
    obs, _ = env.reset(seed=3)
    frames = [env.render()]
    assert obs.shape == (24,) and obs.dtype == np.float32
    rng = np.random.default_rng(0)
    observations = [obs]
    for _ in range(5):
        obs, *_ = env.step(rng.uniform(-1, 1, 6))
        frames.append(env.render())
        observations.append(obs)
    codes = codes_of(env, frames)
    # after the reset, the first frame's code three times; then a window sliding one frame a step
    padded = np.concatenate([codes[:1], codes[:1], codes])
    for t, obs in enumerate(observations):
        np.testing.assert_allclose(obs.reshape(3, 8), padded[t:t + 3], atol=1e-6)
    assert not np.allclose(codes[-1], codes[-2], atol=1e-3)  # (the frames do change)
    env.close()


def test_a_reset_clears_the_history():
    env = tasks.make("cheetah_pixels", latent="mean", latent_frames=4)
    fresh = tasks.make("cheetah_pixels", latent="mean", latent_frames=4)
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(6):
        env.step(rng.uniform(-1, 1, 6))
    obs, _ = env.reset(seed=2)
    np.testing.assert_array_equal(obs, fresh.reset(seed=2)[0])
    np.testing.assert_allclose(obs.reshape(4, 8), np.tile(codes_of(env, [env.render()]), (4, 1)),
                               atol=1e-6)
    for e in (env, fresh):
        e.close()


@pytest.mark.parametrize("latent", ["sample", "mean"])
def test_observed_together_or_alone_the_observations_agree(latent):
    """LatentBatch (one render and one encoder call for several environments) against each
    environment's own reset and step, sampled codes included (each draws its own noise)."""
    together = [tasks.make("cheetah_pixels", latent=latent, latent_frames=2) for _ in range(3)]
    alone = [tasks.make("cheetah_pixels", latent=latent, latent_frames=2) for _ in range(3)]
    batch = pixels.latent_batch(together)
    assert batch is not None
    first = batch.reset(range(3), [5, 6, 7])
    np.testing.assert_allclose(first, [env.reset(seed=s)[0] for env, s in zip(alone, (5, 6, 7))],
                               atol=1e-5)
    rng = np.random.default_rng(1)
    for _ in range(4):
        actions = rng.uniform(-1, 1, (3, 6))
        for env, action in zip(together, actions):
            env.step_physics(action)
        np.testing.assert_allclose(batch.observe(range(3)),
                                   [env.step(a)[0] for env, a in zip(alone, actions)], atol=1e-5)
    # a batch needs one encoder, latent mode and number of frames
    assert pixels.latent_batch(together + [tasks.make("cheetah_pixels", latent_frames=3)]) is None
    for env in together + alone:
        env.close()


def short_stacked_env(steps: int = 30):
    env = HalfCheetahBulletEnv(render_mode="rgb_array", width=96, height=96)
    return pixels.LatentObservation(tasks.EpisodeCap(env, steps), pixels.load_encoder(),
                                    "sample", latent_frames=3)


def test_training_episodes_see_what_one_environment_sees():
    """run_episodes (Lockstep: physics one by one, then one render and one encoder call) with
    more episodes than environments: each episode replayed alone gives its observations, its
    last observation and its rewards."""
    agent = Agent(EXPERIMENTS["a2c-cheetah-pixels-stable"], (24,), (6,), seed=0)
    envs = [short_stacked_env() for _ in range(2)]
    actors = training.Lockstep(envs, [11, 12, 13], (24,))
    log = {k: [] for k in range(3)}
    while actors.active.any():
        rows = np.flatnonzero(actors.active)
        actions = agent.act(actors.obs[rows], agent.make_sampler(2), 1.0, rows)
        episodes = actors.episode_of[rows].copy()
        before = actors.obs[rows].copy()
        actors.step(rows, actions)
        for j, k in enumerate(episodes):
            log[k].append((before[j], actions[j]))
    for k, seed in enumerate((11, 12, 13)):
        env = short_stacked_env()
        obs, _ = env.reset(seed=seed)
        assert len(log[k]) == 30
        for seen, action in log[k]:
            np.testing.assert_allclose(seen, obs, atol=1e-5)
            obs, *_ = env.step(action)
        env.close()
    assert actors.lengths.tolist() == [30, 30, 30]
    for env in envs:
        env.close()


def test_bad_latent_settings_are_refused_in_one_line():
    for value in (0, -1, 101, 2.5, True, "3"):
        with pytest.raises(ValueError, match=rf"^latent_frames must be an integer from 1 to 100 "
                                             rf"\(the codes of that many latest frames\), got "
                                             rf"{value!r}$"):
            tasks.make("cheetah_pixels", latent_frames=value)
    with pytest.raises(ValueError, match="^latent_frames=0 is not allowed: an integer >= 1"):
        EXPERIMENTS["a2c-cheetah-pixels"].replace(latent_frames=0)
    with pytest.raises(ValueError, match=r"^latent_frames=3 is not allowed: 1 for task 'cheetah'"):
        EXPERIMENTS["a2c-cheetah"].replace(latent_frames=3)
    with pytest.raises(ValueError, match=r"^latent='median' is not allowed"):
        EXPERIMENTS["a2c-cheetah-pixels"].replace(latent="median")
    with pytest.raises(ValueError, match="^latent_frames must be an integer"):
        tasks.version("cheetah_pixels", "pybullet", latent_frames=0)
    with pytest.raises(ValueError, match="observes no latent codes"):
        tasks.version("cheetah", "pybullet", latent_frames=2)


def test_the_task_version_names_the_observation(tmp_path):
    plain = tasks.version("cheetah_pixels", "pybullet")
    assert "+frames" not in plain and "+latent" not in plain  # the shipped runs' version
    stable = EXPERIMENTS["a2c-cheetah-pixels-stable"]
    assert tasks.version("cheetah_pixels", "pybullet", **tasks.observation_options(stable)) \
        == plain + "+latent:mean+frames:3"
    assert tasks.version("cheetah_pixels", "pybullet", latent_frames=2) == plain + "+frames:2"
    assert tasks.observation_options(EXPERIMENTS["a2c-cheetah"]) == {}
    # a checkpoint recorded for another observation is refused
    config = stable.replace(episodes=10, eval_episodes=1)
    agent = Agent(config, (24,), (6,), seed=0)
    checkpoint = training.Checkpoint(tmp_path, config, "pybullet", agent)
    assert checkpoint.task_version.endswith("+latent:mean+frames:3")
    arrays = checkpoint._arrays(1)
    arrays["task_version"] = np.asarray(plain)
    from course_rl import results
    results.save_checkpoint(tmp_path, arrays)
    with pytest.raises(ValueError, match="another 'cheetah_pixels' task"):
        training.Checkpoint(tmp_path, config, "pybullet", Agent(config, (24,), (6,))).restore()


def test_the_stable_pixel_experiment_trains_on_stacked_codes():
    """Two short cycles of a2c-cheetah-pixels-stable: the agent sees 24 numbers, the run records
    the task version of that observation."""
    config = EXPERIMENTS["a2c-cheetah-pixels-stable"].replace(
        episodes=4, actor_count=2, eval_every=4, eval_episodes=2)
    assert EXPERIMENTS["a2c-cheetah-pixels-stable"].latent_frames == 3
    run = training.train(config, seed=0, progress=False)
    assert str(run.arrays["task_version"]).endswith("+latent:mean+frames:3")
    assert run.arrays["training_episode_returns"].shape == (2, 2)
    assert run.best_policy[0].shape[0] == 24


def test_a_pixel_policys_episode_keeps_the_frames_and_codes_it_acted_on():
    """video.record_pixel_episode: the frames are the episode's, each code is the encoder's mean
    of its frame, and the score is what a fresh environment pays for the same greedy policy."""
    config = EXPERIMENTS["a2c-cheetah-pixels-stable"].replace(
        episodes=2, actor_count=2, eval_every=2, eval_episodes=1)
    run = training.train(config, seed=1, progress=False)
    act = video.load_policy(run)
    frames, codes, score = video.record_pixel_episode(act, seed=4, max_steps=12)
    assert frames.shape == (13, 96, 96, 3) and frames.dtype == np.uint8 and codes.shape == (13, 8)
    env = tasks.make("cheetah_pixels", latent="mean", latent_frames=3)
    obs, _ = env.reset(seed=4)
    np.testing.assert_array_equal(frames[0], env.render())
    np.testing.assert_allclose(codes, codes_of(env, frames), atol=1e-5)
    total = 0.0
    for t in range(12):
        obs, reward, *_ = env.step(act(obs))
        total += reward
        np.testing.assert_array_equal(frames[t + 1], env.render())
    env.close()
    assert score == pytest.approx(total, abs=1e-9)
    with pytest.raises(ValueError, match="'a2c-cheetah' acts on 'cheetah'"):
        video.record_pixel_episode(video.LoadedPolicy(
            EXPERIMENTS["a2c-cheetah"], act.network, (17,), (6,)), seed=0)


def test_the_previous_action_ends_the_observation():
    """With previous_action the observation is the stacked codes (the same as without it) and
    then the action of the step that led to the frame, clipped; zeros after a reset; observed
    together (LatentBatch) or alone, the same."""
    acting = [tasks.make("cheetah_pixels", latent="mean", latent_frames=2, previous_action=True)
              for _ in range(2)]
    plain = tasks.make("cheetah_pixels", latent="mean", latent_frames=2)
    assert acting[0].observation_space.shape == (22,)
    batch = pixels.latent_batch(acting)
    assert batch is not None and pixels.latent_batch(acting + [plain]) is None
    first = batch.reset([0, 1], [4, 4])
    np.testing.assert_allclose(first[0, :16], plain.reset(seed=4)[0], atol=1e-5)
    np.testing.assert_array_equal(first[:, 16:], 0.0)
    rng = np.random.default_rng(2)
    for _ in range(3):
        action = rng.uniform(-1.5, 1.5, 6)
        for env in acting:
            env.step_physics(action)
        together = batch.observe([0, 1])
        alone = plain.step(action)[0]
        for obs in together:
            np.testing.assert_allclose(obs[:16], alone, atol=1e-5)
            np.testing.assert_array_equal(obs[16:], np.clip(action, -1, 1).astype(np.float32))
    obs, _ = acting[0].reset(seed=5)
    np.testing.assert_array_equal(obs[16:], 0.0)
    for env in acting + [plain]:
        env.close()


def test_the_previous_action_is_in_the_task_version_and_checked():
    plain = tasks.version("cheetah_pixels", "pybullet")
    config = EXPERIMENTS["a2c-cheetah-pixels-stable-wide-action"]
    assert config.previous_action
    assert tasks.version("cheetah_pixels", "pybullet", **tasks.observation_options(config)) \
        == plain + "+latent:mean+frames:3+action"
    from course_rl.config import differences
    assert differences(config, EXPERIMENTS["a2c-cheetah-pixels-stable-wide"]) \
        == {"previous_action": (False, True)}
    with pytest.raises(ValueError, match="^previous_action must be True or False, got 1$"):
        tasks.make("cheetah_pixels", previous_action=1)
    with pytest.raises(ValueError, match=r"^previous_action=True is not allowed: false for task "):
        EXPERIMENTS["a2c-cheetah"].replace(previous_action=True)
    with pytest.raises(ValueError, match="observes no latent codes"):
        tasks.version("cheetah", "pybullet", previous_action=True)
