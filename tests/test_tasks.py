"""Tests of course_rl.tasks and course_rl.bullet_envs on the real physics engines (no mocks)."""

from __future__ import annotations

import dataclasses
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from course_rl import bullet_envs, tasks

pb = bullet_envs.pb
TASK_NAMES = ("cartpole", "cheetah")
SHAPES = {"cartpole": ((4,), (1,)), "cheetah": ((17,), (6,))}


def pd_action(obs: np.ndarray) -> np.ndarray:
    """A hand-tuned controller that keeps the pole up on both backends: push toward the lean."""
    x, theta, v, omega = (float(u) for u in obs)
    return np.clip(np.array([3 * theta + 0.5 * omega + 0.1 * x + 0.3 * v], np.float32), -1, 1)


def rollout(env: gym.Env, actions: np.ndarray, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Observations and rewards of one episode (stopping early at its end)."""
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for a in actions:
        obs, r, terminated, truncated, _ = env.step(a)
        observations.append(obs)
        rewards.append(r)
        if terminated or truncated:
            break
    return np.array(observations), np.array(rewards)


def torso_link(client: int, body: int) -> int:
    for j in range(pb.getNumJoints(body, physicsClientId=client)):
        if pb.getJointInfo(body, j, physicsClientId=client)[12] == b"torso":
            return j
    raise AssertionError("no torso link")


# ---------------------------------------------------------------- spaces and registry


@pytest.mark.parametrize("backend", tasks.BACKENDS)
@pytest.mark.parametrize("name", TASK_NAMES)
def test_spaces_shapes_and_dtypes(name, backend):
    obs_shape, act_shape = SHAPES[name]
    env = tasks.make(name, backend=backend, seed=0)
    try:
        assert env.observation_space.shape == obs_shape
        assert env.observation_space.dtype == np.float32
        assert env.action_space == gym.spaces.Box(-1.0, 1.0, act_shape, np.float32)
        obs, info = env.reset()
        assert obs.shape == obs_shape and obs.dtype == np.float32 and isinstance(info, dict)
        assert env.observation_space.contains(obs)
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert obs.shape == obs_shape and obs.dtype == np.float32
        assert isinstance(reward, float)
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
    finally:
        env.close()


def test_task_specs_and_scores():
    assert set(tasks.TASKS) == set(TASK_NAMES) | {"cheetah_pixels"}  # see test_vision.py
    assert tasks.BACKENDS == ("pybullet", "mujoco")
    cart, cheetah = tasks.TASKS["cartpole"], tasks.TASKS["cheetah"]
    assert (cart.max_episode_steps, cheetah.max_episode_steps) == (1000, 500)
    assert cart.score(reward_sum=-1.0, length=237) == 237.0
    assert cheetah.score(reward_sum=12.5, length=500) == 12.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        cart.max_episode_steps = 5
    with pytest.raises(TypeError):
        tasks.TASKS["other"] = cart


def test_registration_is_idempotent():
    bullet_envs.register_envs()
    bullet_envs.register_envs()
    for env_id in (bullet_envs.INVERTED_PENDULUM_ID, bullet_envs.HALF_CHEETAH_ID):
        assert gym.spec(env_id).max_episode_steps == 1000


# ---------------------------------------------------------------- cart-pole reward


@pytest.mark.parametrize("backend", tasks.BACKENDS)
def test_cartpole_penalty_only_on_the_falling_step(backend):
    env = tasks.make("cartpole", backend=backend, seed=1)
    env.reset()
    rewards, terminations = [], []
    for _ in range(1000):
        _, r, terminated, truncated, _ = env.step(np.ones(1, np.float32))  # push until it falls
        rewards.append(r)
        terminations.append(terminated)
        assert not truncated
        if terminated:
            break
    env.close()
    assert terminations[-1] and not any(terminations[:-1])
    assert rewards[-1] == -1.0
    assert rewards[:-1] == [0.0] * (len(rewards) - 1)
    assert 2 < len(rewards) < 200


@pytest.mark.parametrize("backend", tasks.BACKENDS)
def test_cartpole_time_limit_is_a_truncation_with_reward_zero(backend):
    env = tasks.make("cartpole", backend=backend, seed=2)
    obs, _ = env.reset()
    for step in range(1, 1001):
        obs, r, terminated, truncated, _ = env.step(pd_action(obs))
        assert r == 0.0 and not terminated
        assert truncated == (step == 1000)
    env.close()
    assert tasks.TASKS["cartpole"].score(0.0, step) == 1000


# ---------------------------------------------------------------- cheetah reward and cap


def test_cheetah_reward_is_forward_velocity_minus_control_cost():
    env = tasks.make("cheetah", backend="pybullet", seed=3)
    base = env.unwrapped
    client, body = base.client, base.robot
    torso = torso_link(client, body)

    def torso_x() -> float:
        # as pybullet-gym reads it: the pose cached at the start of the step's last substep
        # (no forward kinematics; tests/test_fidelity.py checks the rewards against pybullet-gym)
        return pb.getLinkState(body, torso, physicsClientId=client)[0][0]

    rng = np.random.default_rng(0)
    env.reset()
    for _ in range(60):
        a = rng.uniform(-1, 1, 6).astype(np.float32)
        x_before = torso_x()
        _, r, terminated, truncated, _ = env.step(a)
        x_after = torso_x()
        expected = (x_after - x_before) / 0.0165 - 0.1 * float(np.sum(a.astype(np.float64) ** 2))
        assert r == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert not terminated and not truncated
    env.close()


@pytest.mark.parametrize("backend", tasks.BACKENDS)
def test_cheetah_is_truncated_at_500_steps(backend):
    env = tasks.make("cheetah", backend=backend, seed=4)
    for _ in range(2):  # the cap restarts with each episode
        env.reset()
        for step in range(1, 501):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            assert not terminated
            assert truncated == (step == 500)
    env.close()


# ---------------------------------------------------------------- seeding


@pytest.mark.parametrize("backend", tasks.BACKENDS)
@pytest.mark.parametrize("name", TASK_NAMES)
def test_same_seed_same_trajectory_different_seed_differs(name, backend):
    actions = np.random.default_rng(5).uniform(-1, 1, (60,) + SHAPES[name][1]).astype(np.float32)
    runs = []
    for seed in (7, 7, 8):
        env = tasks.make(name, backend=backend)
        runs.append(rollout(env, actions, seed))
        env.close()
    (obs_a, rew_a), (obs_b, rew_b), (obs_c, _) = runs
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    assert not np.array_equal(obs_a[0], obs_c[0])


@pytest.mark.parametrize("backend", tasks.BACKENDS)
@pytest.mark.parametrize("name", TASK_NAMES)
def test_make_seed_applies_to_first_reset_and_action_space(name, backend):
    seeded, unseeded = tasks.make(name, backend=backend, seed=11), tasks.make(name, backend=backend)
    np.testing.assert_array_equal(seeded.reset()[0], unseeded.reset(seed=11)[0])
    other = tasks.make(name, backend=backend, seed=11)
    np.testing.assert_array_equal(seeded.action_space.sample(), other.action_space.sample())
    for env in (seeded, unseeded, other):
        env.close()


def test_pybullet_episode_does_not_depend_on_earlier_episodes():
    actions = np.random.default_rng(6).uniform(-1, 1, (150, 6)).astype(np.float32)
    fresh = tasks.make("cheetah")
    expected, _ = rollout(fresh, actions, seed=12)
    used = tasks.make("cheetah")
    rollout(used, actions[::-1], seed=99)  # a different episode first, with ground contacts
    again, _ = rollout(used, actions, seed=12)
    np.testing.assert_array_equal(expected, again)
    fresh.close()
    used.close()


# ---------------------------------------------------------------- rendering


def warm_pixels(frame: np.ndarray) -> np.ndarray:
    """The cheetah is tan/pink; the ground is blue and white: red clearly above blue."""
    return frame[..., 0].astype(int) - frame[..., 2].astype(int) > 40


@pytest.mark.parametrize("name", TASK_NAMES)
def test_pybullet_frames_have_requested_size_and_content(name):
    env = tasks.make(name, render_mode="rgb_array", width=80, height=56, seed=0)
    env.reset()
    env.step(env.action_space.sample())
    frame = env.render()
    env.close()
    assert frame.shape == (56, 80, 3) and frame.dtype == np.uint8
    assert frame.std() > 10.0


def test_cheetah_camera_follows_the_torso():
    env = tasks.make("cheetah", render_mode="rgb_array", width=96, height=96, seed=0)
    env.reset()
    base = env.unwrapped
    client, body = base.client, base.robot
    rootx, rootz = base._joints[0], base._joints[1]
    pb.resetJointState(body, rootx, 10.0, 0.0, physicsClientId=client)  # 10 m down the track
    with_cheetah = env.render()
    pb.resetJointState(body, rootz, -50.0, 0.0, physicsClientId=client)  # hide it underground
    empty_ground = env.render()
    env.close()
    centre = (slice(24, 72), slice(16, 80))
    assert warm_pixels(with_cheetah)[centre].sum() > 40
    assert warm_pixels(empty_ground).sum() == 0
    assert empty_ground.std() > 10.0  # the checkered ground is visible


# ---------------------------------------------------------------- gymnasium's checker


@pytest.mark.parametrize("env_id", [bullet_envs.INVERTED_PENDULUM_ID, bullet_envs.HALF_CHEETAH_ID])
@pytest.mark.parametrize("render_mode", [None, "rgb_array"])
def test_check_env_passes(env_id, render_mode):
    env = gym.make(env_id, render_mode=render_mode, width=48, height=48)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    env.close()
    # Observations are unbounded (as in gymnasium's own MuJoCo tasks); anything else is a bug.
    unexpected = [str(w.message) for w in caught if "infinity" not in str(w.message)]
    assert unexpected == []


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, bad",
    [
        ({"name": "acrobot"}, "acrobot"),
        ({"name": "cheetah", "backend": "bogus-engine"}, "bogus-engine"),
        ({"name": "cheetah", "seed": -3}, "-3"),
        ({"name": "cheetah", "seed": 2.5}, "2.5"),
        ({"name": "cartpole", "render_mode": "rgb_array", "width": -7}, "-7"),
        ({"name": "cheetah", "render_mode": "rgb_array", "height": 0.5}, "0.5"),
        ({"name": "cheetah", "backend": "mujoco", "width": -9}, "-9"),
        ({"name": "cheetah", "render_mode": "depth"}, "depth"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_value(kwargs, bad):
    with pytest.raises(ValueError) as info:
        tasks.make(**kwargs)
    assert bad in str(info.value)


def test_unknown_task_lists_the_choices():
    with pytest.raises(ValueError, match="cartpole"):
        tasks.make("walker")


def test_bad_size_on_the_env_itself():
    with pytest.raises(ValueError, match="-1"):
        bullet_envs.HalfCheetahBulletEnv(render_mode="rgb_array", width=-1)
