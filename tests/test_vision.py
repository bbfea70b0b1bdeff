"""Tests of course_rl.vae and the pixel task "cheetah_pixels", course_rl.pixels (real rendering,
real networks)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from course_rl import pixels, tasks, vae
from course_rl.agent import Agent
from course_rl.config import EXPERIMENTS
from course_rl.training import run_episodes


@pytest.fixture(scope="module")
def small_vae():
    return vae.VAE(latent_dim=8, seed=0)


def synthetic_frames(n: int, seed: int = 0) -> np.ndarray:
    """Coloured rectangles on a light background: easy structure for a VAE to pick up."""
    rng = np.random.default_rng(seed)
    frames = np.full((n,) + vae.IMAGE_SHAPE, 220, np.uint8)
    for f in frames:
        x, y = rng.integers(0, 64, size=2)
        f[y:y + 32, x:x + 32] = rng.integers(0, 256, size=3)
    return frames


# ---------------------------------------------------------------- frames


def test_render_96x96_frames_show_the_cheetah():
    env = tasks.make("cheetah", render_mode="rgb_array", width=96, height=96, seed=0)
    env.reset()
    frame = env.render()
    env.close()
    assert frame.shape == (96, 96, 3) and frame.dtype == np.uint8
    assert frame.std() > 10 and len(np.unique(frame.reshape(-1, 3), axis=0)) > 20
    r, g, b = (frame[..., c].astype(int) for c in range(3))
    assert ((r > g + 30) & (r > b + 30)).sum() > 20  # the brown body on the blue-white ground


def test_collect_frames_is_uint8_and_reproducible():
    a, stats = pixels.collect_frames(6, seed=3, keep_prob=0.5, n_envs=2, progress=False,
                                     verbose=False)
    b, _ = pixels.collect_frames(6, seed=3, keep_prob=0.5, n_envs=2, progress=False,
                                 verbose=False)
    assert a.shape == (6, 96, 96, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert stats["megabytes"] == pytest.approx(a.nbytes / 2**20)
    assert stats["env_steps"] >= 6 and stats["seconds"] > 0


# ---------------------------------------------------------------- the VAE


def test_encoder_and_decoder_shapes(small_vae):
    frames = synthetic_frames(3)
    assert small_vae.encoder.output_shape == (None, 16)
    assert small_vae.decoder.output_shape == (None, 96, 96, 3)
    mean, log_var = small_vae.encode(frames)
    assert mean.shape == log_var.shape == (3, 8) and mean.dtype == np.float32
    z = small_vae.sample_latent(frames, rng=1)
    assert z.shape == (3, 8) and np.array_equal(z, small_vae.sample_latent(frames, rng=1))
    images = small_vae.decode(z)
    assert images.shape == (3, 96, 96, 3) and images.dtype == np.uint8
    # the acting copy agrees with the Keras model
    fast_mean, fast_log_var = small_vae.frame_encoder()(frames)
    np.testing.assert_allclose(fast_mean, mean, atol=1e-6)
    np.testing.assert_allclose(fast_log_var, log_var, atol=1e-6)


def test_loss_decreases_on_a_small_batch():
    model = vae.VAE(latent_dim=8, seed=1, learning_rate=1e-3)
    frames = synthetic_frames(16)
    history = model.train(frames, epochs=12, batch_size=8, seed=0, progress=False,
                          jit_compile=False)  # XLA's one-off compile would cost ~15 s here
    assert len(history["loss"]) == 24
    for key in ("loss", "reconstruction", "kl", "mse", "probe_cosine"):
        assert np.isfinite(history[key]).all()
    np.testing.assert_allclose(history["loss"], history["reconstruction"] + history["kl"],
                               rtol=1e-5)
    assert (history["kl"] >= 0).all() and (history["reconstruction"] > -1).all()
    assert history["loss"][-3:].mean() < 0.8 * history["loss"][:3].mean()
    assert (np.abs(history["probe_cosine"]) <= 1 + 1e-9).all()


def test_saved_vae_reloads_to_identical_outputs(small_vae, tmp_path):
    frames = synthetic_frames(4)
    path = tmp_path / "vae.npz"
    small_vae.save(path)
    again = vae.VAE.load(path)
    np.testing.assert_array_equal(again.encode_mean(frames), small_vae.encode_mean(frames))
    z = np.random.default_rng(0).standard_normal((2, 8))
    np.testing.assert_array_equal(again.decode(z), small_vae.decode(z))
    # the shipping layout: encoder at full precision, decoder in float16 in another file
    small_vae.save(tmp_path / "enc.npz", parts=("encoder",))
    small_vae.save(tmp_path / "dec.npz", parts=("decoder",), decoder_dtype="float16")
    split = vae.VAE.load(tmp_path / "enc.npz", tmp_path / "dec.npz")
    np.testing.assert_array_equal(split.encode_mean(frames), small_vae.encode_mean(frames))
    assert np.abs(split.decode(z).astype(int) - small_vae.decode(z)).max() <= 2
    assert (tmp_path / "dec.npz").stat().st_size < 0.6 * path.stat().st_size


def test_missing_or_mismatched_weights_file_is_a_clear_error(small_vae, tmp_path):
    missing = tmp_path / "nowhere.npz"
    with pytest.raises(ValueError, match="nowhere.npz"):
        small_vae.load_weights(missing)
    with pytest.raises(ValueError, match="nowhere.npz"):
        tasks.make("cheetah_pixels", vae=missing)
    four = tmp_path / "latent4.npz"
    vae.VAE(latent_dim=4).save(four)
    with pytest.raises(ValueError, match=r"latent4\.npz.*latent size 4"):
        small_vae.load_weights(four)
    with pytest.raises(ValueError, match=r"latent4\.npz"):
        vae.VAE.load(four, latent_dim=8)
    not_vae = tmp_path / "other.npz"
    np.savez(not_vae, x=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz"):
        small_vae.load_weights(not_vae)


def test_shipped_vae_and_history_load():
    paths = vae.shipped_paths()
    for path in paths.values():
        assert path.is_file(), path
    assert paths["encoder"].stat().st_size + paths["decoder"].stat().st_size < 10 * 2**20
    encoder = pixels.load_encoder()
    assert encoder is pixels.load_encoder()  # shared, so environments can batch their frames
    assert encoder.latent_dim == 8
    history = vae.load_history()
    assert len(history["loss"]) == len(history["probe_cosine"]) > 100
    assert history["loss"][-20:].mean() < 0.5 * history["loss"][:5].mean()
    assert history["info"]["runs"][0]["train_frames"] > 0


# ---------------------------------------------------------------- the pixel task


def test_pixel_task_passes_the_env_checker():
    env = tasks.make("cheetah_pixels", seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    env.close()
    # unbounded observations (as MuJoCo's) and "checking a wrapper" are expected warnings
    unexpected = [str(w.message) for w in caught
                  if "infinity" not in str(w.message) and "unwrapped" not in str(w.message)]
    assert unexpected == []


def test_pixel_task_observations_and_500_step_cap():
    env = tasks.make("cheetah_pixels", seed=0)
    assert env.observation_space.shape == (8,) and env.observation_space.dtype == np.float32
    obs, _ = env.reset()
    assert obs.shape == (8,) and obs.dtype == np.float32 and np.isfinite(obs).all()
    assert env.render().shape == (96, 96, 3)
    rng = np.random.default_rng(0)
    for t in range(1, 501):
        obs, reward, terminated, truncated, _ = env.step(rng.uniform(-1, 1, 6))
        assert obs.shape == (8,) and obs.dtype == np.float32 and np.isfinite(reward)
        assert not terminated and truncated == (t == 500)
    env.close()
    # a seeded reset gives the same sampled observation again
    env = tasks.make("cheetah_pixels")
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    env.close()
    np.testing.assert_array_equal(a, b)


def test_pixel_task_is_pybullet_only():
    with pytest.raises(ValueError, match="pybullet"):
        tasks.make("cheetah_pixels", backend="mujoco")
    with pytest.raises(ValueError, match="96x96"):
        tasks.make("cheetah_pixels", width=64, height=64)
    tasks.make("cheetah_pixels", width=96, height=96).close()  # the one size allowed


def test_batched_encoding_equals_one_at_a_time():
    envs = [tasks.make("cheetah_pixels", latent="mean") for _ in range(3)]
    batch = pixels.latent_batch(envs)
    assert batch is not None and pixels.latent_batch([tasks.make("cheetah")]) is None
    frames = np.stack([env.reset_frame(seed=s)[0] for s, env in enumerate(envs)])
    np.testing.assert_array_equal(pixels.render(envs), frames)  # one render call for all
    batched = batch.reset(range(3), range(3))
    single = np.stack([env.reset(seed=s)[0] for s, env in enumerate(envs)])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(batched, envs[0].encoder.mean(frames), atol=1e-5)
    for env in envs:
        env.close()


def short_pixel_env(latent: str, steps: int = 40):
    """The pixel task with shorter episodes (the 500-step cap is tested above)."""
    from course_rl import bullet_envs
    env = bullet_envs.HalfCheetahBulletEnv(render_mode="rgb_array", width=96, height=96)
    return pixels.LatentObservation(tasks.EpisodeCap(env, steps), pixels.load_encoder(), latent)


def test_run_episodes_batches_the_encoder_without_changing_observations():
    agent = Agent(EXPERIMENTS["a2c-cheetah-pixels"], (8,), (6,), seed=0)
    for latent in ("mean", "sample"):
        envs = [short_pixel_env(latent) for _ in range(3)]
        episodes = run_episodes(envs, agent, [11, 12, 13], temp=1.0, record=True)
        assert list(episodes.lengths) == [40, 40, 40]
        # replay episode 1 with its own actions on a fresh environment, one frame at a time
        episode = episodes.transitions[1]
        assert episode.truncated and episode.obs.shape == (40, 8)
        env = short_pixel_env(latent)
        replay = [env.reset(seed=12)[0]]
        replay_rewards = []
        for a in episode.actions:
            o, r, *_ = env.step(a)
            replay.append(o)
            replay_rewards.append(r)
        np.testing.assert_allclose(np.array(replay[:-1]), episode.obs, atol=1e-5)
        np.testing.assert_allclose(replay[-1], episode.final_obs, atol=1e-5)
        np.testing.assert_array_equal(replay_rewards, episode.rewards)
        for e in envs + [env]:
            e.close()


def test_the_pixel_task_observes_through_the_vae_it_is_given(small_vae, tmp_path):
    """vae= a VAE, a FrameEncoder or a weights file: each one's codes are the observations."""
    small_vae.save(tmp_path / "enc.npz", parts=("encoder",))
    for source in (small_vae, small_vae.frame_encoder(), tmp_path / "enc.npz"):
        env = tasks.make("cheetah_pixels", vae=source, latent="mean")
        frame, _ = env.reset_frame(seed=4)
        obs, _ = env.reset(seed=4)
        np.testing.assert_allclose(obs, small_vae.encode_mean(frame)[0], atol=1e-6)
        assert not np.allclose(obs, pixels.load_encoder().mean(frame[None])[0], atol=1e-3)
        env.close()
    with pytest.raises(ValueError, match="vae must be .* got int"):
        tasks.make("cheetah_pixels", vae=3)
    with pytest.raises(ValueError, match="latent must be 'sample' or 'mean', got 'median'"):
        tasks.make("cheetah_pixels", latent="median")


def test_the_task_version_names_the_shipped_encoder_file():
    import hashlib
    digest = hashlib.sha256(vae.shipped_paths()["encoder"].read_bytes()).hexdigest()
    assert pixels.vae_fingerprint() == digest[:16]
    number = tasks.TASK_VERSIONS["cheetah_pixels", "pybullet"]
    assert tasks.version("cheetah_pixels", "pybullet") == \
        f"cheetah_pixels/pybullet/v{number}+vae:{digest[:16]}"


def test_step_timings_times_every_part_per_frame():
    envs = [tasks.make("cheetah_pixels") for _ in range(2)]
    timings = pixels.step_timings(envs, n_steps=2, repeats=1)
    assert list(timings) == ["physics", "render, 2 frames per call", "physics + render",
                             "encoder alone, 1 frame per call", "encoder alone, 2 frames per call",
                             "full step, batched encoding", "full step, one frame per call"]
    assert all(0 < t < 10 for t in timings.values())
    with pytest.raises(ValueError, match="pixel-task environments"):
        pixels.step_timings([tasks.make("cheetah")])
    for env in envs:
        env.close()


def test_collect_frames_acts_as_the_persistent_random_actor():
    """The frames are those of one cheetah driven by the actor's actions, stepped by hand."""
    from course_rl import bullet_envs
    from course_rl.policy import PersistentRandomActor
    frames, stats = pixels.collect_frames(5, seed=7, keep_prob=1.0, n_envs=1, progress=False,
                                          verbose=False)
    assert stats["env_steps"] == 5 and stats["episodes"] == 1
    rng = np.random.default_rng(7)
    env = bullet_envs.HalfCheetahBulletEnv(render_mode="rgb_array", width=96, height=96)
    env.reset(seed=int(rng.integers(2**31)))
    actor = PersistentRandomActor(1, (6,), 0.931, rng)
    actor.reset()
    expected = []
    for _ in range(5):
        env.step(actor.act()[0])
        rng.random(1)  # collect_frames' draw of which frames to keep
        expected.append(env.render())
    env.close()
    np.testing.assert_array_equal(frames, np.stack(expected))
