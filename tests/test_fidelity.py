"""The course's pybullet environments against the real pybullet-gym ones (recorded trajectories).

``tests/data/pybullet_gym_reference.npz`` holds episodes recorded from pybullet-gym's
``HalfCheetahMuJoCoEnv`` and ``InvertedPendulumMuJoCoEnv`` by
``scripts/record_pybullet_gym_reference.py`` (what and how: ``tests/data/README.md``). Each
episode is replayed on the course's environment from the same joint state with the same
actions. Observations, rewards and terminations must agree to round-off over the states the
real environment itself determines (its horizon: before a 1e-9 nudge of its state grows past
1e-4, and before the order in which it solves simultaneous contacts, which pybullet-gym leaves
to memory layout, changes anything). The real half-cheetah with its contact pairs sorted, as
the course sorts them, was also recorded: against that the course must agree over every step.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from course_rl import bullet_envs

pb = bullet_envs.pb
REFERENCE = Path(__file__).parent / "data" / "pybullet_gym_reference.npz"
OBS_RTOL = 2.5e-7  # two float32 rounding steps: observations are float32
OBS_ATOL = 1e-9
REWARD_ATOL = 1e-9  # rewards are float64; round-off in x, divided by dt = 0.0165


def load_reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


REF = load_reference()
ENVS = {"cheetah": bullet_envs.HalfCheetahBulletEnv,
        "pendulum": bullet_envs.InvertedPendulumBulletEnv}
EPISODES = [(name, e) for name in ENVS for e in range(len(REF[f"{name}_qpos"]))]


def replay(env, name: str, episode: int, steps: int | None = None):
    """Observations (from the set state on), rewards and terminations of a reference episode."""
    env.reset(seed=0)
    observations = [env.set_state(REF[f"{name}_qpos"][episode], REF[f"{name}_qvel"][episode])]
    rewards, terminated = [], []
    for action in REF[f"{name}_actions"][episode][:steps]:
        obs, reward, term, _, _ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        terminated.append(term)
    return np.array(observations), np.array(rewards), np.array(terminated)


def assert_episode_matches(env, name: str, episode: int, states: int | None = None,
                           prefix: str = "") -> None:
    """The first ``states`` states (default: the horizon) equal the reference's to round-off.

    A reward and a termination belong to the state a step ends in, so ``states - 1`` of them.
    """
    states = REF[f"{name}_horizon"][episode] if states is None else states
    obs, rewards, terminated = replay(env, name, episode, steps=states - 1)
    where = f"{name} episode {episode}, first {states} states"
    np.testing.assert_allclose(obs, REF[f"{name}_{prefix}observations"][episode][:states],
                               rtol=OBS_RTOL, atol=OBS_ATOL, err_msg=f"{where}: observations")
    np.testing.assert_allclose(rewards, REF[f"{name}_{prefix}rewards"][episode][:states - 1],
                               rtol=0, atol=REWARD_ATOL, err_msg=f"{where}: rewards")
    if not prefix:
        np.testing.assert_array_equal(terminated, REF[f"{name}_terminated"][episode][:states - 1],
                                      err_msg=f"{where}: terminations")


def assert_cheetah_matches(make_env) -> None:
    """Every reference half-cheetah episode, within its horizon, on envs from ``make_env()``."""
    for episode in range(len(REF["cheetah_qpos"])):
        env = make_env()
        try:
            assert_episode_matches(env, "cheetah", episode)
        finally:
            env.close()


# ---------------------------------------------------------------- the reference itself


def test_reference_is_small_and_covers_enough_steps():
    assert REFERENCE.stat().st_size < 1_000_000
    assert str(REF["meta_pybullet_gym_commit"]).startswith("bc68201c")
    for name, n_obs, n_act in (("cheetah", 17, 6), ("pendulum", 4, 1)):
        episodes, steps, _ = REF[f"{name}_actions"].shape
        assert REF[f"{name}_actions"].shape[2] == n_act
        assert REF[f"{name}_observations"].shape == (episodes, steps + 1, n_obs)
        horizon = REF[f"{name}_horizon"]
        assert np.array_equal(horizon, np.minimum(REF[f"{name}_chaos_horizon"],
                                                  REF[f"{name}_order_horizon"]))
        assert ((horizon >= 2) & (horizon <= steps + 1)).all()
    # enough contact-rich steps for the guard to mean something (measured: 307 states)
    assert REF["cheetah_horizon"].sum() >= 150
    assert (REF["pendulum_horizon"] == REF["pendulum_actions"].shape[1] + 1).all()


# ---------------------------------------------------------------- agreement


@pytest.mark.parametrize("name, episode", EPISODES, ids=[f"{n}-{e}" for n, e in EPISODES])
def test_course_env_matches_pybullet_gym_within_horizon(name, episode):
    env = ENVS[name]()
    try:
        assert_episode_matches(env, name, episode)
    finally:
        env.close()


def installed_pybullet() -> str:
    """The installed pybullet's version; on Python 3.12+ it comes as pybullet-arm64 (pyproject)."""
    for distribution in ("pybullet", "pybullet-arm64"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            pass
    return "none"


SAME_BINARY = (
    f"pybullet=={installed_pybullet()}" in REF["meta_versions"]
    and f"platform=={platform.system()}-{platform.machine()}" in REF["meta_versions"]
)


@pytest.mark.skipif(not SAME_BINARY, reason="bit-for-bit agreement needs the recorded pybullet "
                    "build; the horizon test above covers other builds")
@pytest.mark.parametrize("episode", range(len(REF["cheetah_qpos"])))
def test_cheetah_matches_sorted_pybullet_gym_over_every_step(episode):
    """With its contact pairs sorted like the course's, pybullet-gym is the course, bit for bit.

    Past the horizon the reference itself is not reproducible (contact order), so this
    compares with the run of the real env whose pairs were sorted: all 300 steps, all the foot
    strikes, equal to round-off (measured: observations identical, rewards within 2.3e-16).
    """
    env = bullet_envs.HalfCheetahBulletEnv()
    try:
        assert_episode_matches(env, "cheetah", episode, REF["cheetah_actions"].shape[1] + 1,
                               prefix="sorted_")
    finally:
        env.close()


# ---------------------------------------------------------------- the guard has teeth


def test_intended_contacts_fail_the_comparison():
    with pytest.raises(AssertionError, match="cheetah episode"):
        assert_cheetah_matches(lambda: bullet_envs.HalfCheetahBulletEnv(contact="intended"))


def changed(target: str, **dynamics):
    """A factory of half-cheetahs with one contact parameter of the floor or all parts changed."""
    def make():
        env = bullet_envs.HalfCheetahBulletEnv()
        c = env.client
        links = ([(env.ground[0], -1)] if target == "floor" else
                 [(env.robot, j) for j in range(-1, pb.getNumJoints(env.robot, physicsClientId=c))])
        for body, link in links:
            pb.changeDynamics(body, link, **dynamics, physicsClientId=c)
        return env
    return make


# Each the way back to "intended" or to pybullet-gym's first episode, or a small nudge.
CHANGES = {
    "parts restitution 0.5 (as meant)": changed("parts", restitution=0.5),
    "parts restitution 0.01": changed("parts", restitution=0.01),
    "parts rolling friction 0.1 (as meant)": changed("parts", rollingFriction=0.1),
    "parts lateral friction 0.6": changed("parts", lateralFriction=0.6),
    "floor rolling friction 0 (first episode)": changed("floor", rollingFriction=0.0),
    "floor rolling friction 0.09": changed("floor", rollingFriction=0.09),
    "floor lateral friction 0.79": changed("floor", lateralFriction=0.79),
}


@pytest.mark.parametrize("make_env", CHANGES.values(), ids=CHANGES.keys())
def test_any_effective_contact_change_fails_the_comparison(make_env):
    with pytest.raises(AssertionError, match="cheetah episode"):
        assert_cheetah_matches(make_env)


@pytest.mark.parametrize("key, value", [("lateralFriction", 0.7), ("rollingFriction", 0.0)])
def test_part_dynamics_reach_the_floor_and_the_comparison(monkeypatch, key, value):
    monkeypatch.setitem(bullet_envs.PART_DYNAMICS, key, value)
    env = bullet_envs.HalfCheetahBulletEnv()
    try:
        assert pb.getDynamicsInfo(env.ground[0], -1, physicsClientId=env.client)[
            {"lateralFriction": 1, "rollingFriction": 6}[key]] == pytest.approx(value)
    finally:
        env.close()
    with pytest.raises(AssertionError, match="cheetah episode"):
        assert_cheetah_matches(bullet_envs.HalfCheetahBulletEnv)


# Bullet multiplies restitutions (parts at 0), and the planar cheetah cannot spin about a
# contact normal: these settings change nothing, so no comparison can (or needs to) see them.
NO_EFFECT = {
    "floor restitution 0": changed("floor", restitution=0.0),
    "floor spinning friction 0": changed("floor", spinningFriction=0.0),
    "floor spinning friction 1": changed("floor", spinningFriction=1.0),
    "parts spinning friction 0.1": changed("parts", spinningFriction=0.1),
}


@pytest.mark.parametrize("make_env", NO_EFFECT.values(), ids=NO_EFFECT.keys())
def test_contact_settings_without_effect_change_nothing(make_env):
    base, other = bullet_envs.HalfCheetahBulletEnv(), make_env()
    try:
        for episode in range(len(REF["cheetah_qpos"])):
            a = replay(base, "cheetah", episode, steps=150)
            b = replay(other, "cheetah", episode, steps=150)
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)
    finally:
        base.close()
        other.close()


# ---------------------------------------------------------------- the reward's lagging x


def test_cheetah_reward_reads_x_one_substep_late():
    """The reward's x is ``rootx`` after the 3rd of the step's 4 substeps (as pybullet-gym's).

    Checked against a twin that steps the same physics one substep per call.
    """
    env, twin = bullet_envs.HalfCheetahBulletEnv(), bullet_envs.HalfCheetahBulletEnv()
    try:
        env.reset(seed=1)
        twin.reset(seed=1)
        c = twin.client
        pb.setPhysicsEngineParameter(fixedTimeStep=twin.dt / 4, numSubSteps=1, physicsClientId=c)
        x_third = pb.getJointState(twin.robot, twin.rootx, physicsClientId=c)[0]  # x at reset
        rng = np.random.default_rng(0)
        for _ in range(40):
            a = rng.uniform(-1, 1, 6)
            _, reward, *_ = env.step(a)
            x_before, xs = x_third, []
            for _ in range(4):
                pb.setJointMotorControlArray(twin.robot, twin._motors, pb.TORQUE_CONTROL,
                                             forces=(a * twin.power).tolist(), physicsClientId=c)
                pb.stepSimulation(physicsClientId=c)
                xs.append(pb.getJointState(twin.robot, twin.rootx, physicsClientId=c)[0])
            x_third = xs[2]
            assert reward == (x_third - x_before) / env.dt - 0.1 * float(np.dot(a, a))
            assert xs[3] == pb.getJointState(env.robot, env.rootx, physicsClientId=env.client)[0]
    finally:
        env.close()
        twin.close()


# ---------------------------------------------------------------- set_state


def test_set_state_puts_the_joints_where_asked():
    env = bullet_envs.HalfCheetahBulletEnv()
    try:
        env.reset(seed=0)
        qpos, qvel = np.linspace(-0.2, 0.2, 9), np.linspace(1.0, -1.0, 9)
        qpos[0] = 5.0  # far along x: the next reward must not count the jump as progress
        obs = env.set_state(qpos, qvel)
        np.testing.assert_array_equal(obs, np.concatenate([qpos[1:], qvel]).astype(np.float32))
        got = pb.getJointStates(env.robot, env._joints, physicsClientId=env.client)
        np.testing.assert_array_equal([s[0] for s in got], qpos)
        np.testing.assert_array_equal([s[1] for s in got], qvel)
        _, reward, *_ = env.step(np.zeros(6))
        assert abs(reward) < 5  # x moves about qvel[0] * dt; a stale x before would give -300
    finally:
        env.close()
    env = bullet_envs.InvertedPendulumBulletEnv()
    try:
        env.reset(seed=0)
        obs = env.set_state([0.3, -0.05], [0.1, 0.2])
        np.testing.assert_array_equal(obs, np.array([0.3, -0.05, 0.1, 0.2], np.float32))
    finally:
        env.close()


@pytest.mark.parametrize("qpos, qvel, bad", [
    ([0.0, 0.1, 0.2], [0.0, 0.0], "qpos"),
    ([0.0, 0.1], [0.0, float("nan")], "qvel"),
    ([0.0, "x"], [0.0, 0.0], "qpos"),
])
def test_set_state_refuses_bad_input_naming_it(qpos, qvel, bad):
    env = bullet_envs.InvertedPendulumBulletEnv()
    try:
        env.reset(seed=0)
        with pytest.raises(ValueError, match=f"{bad} must be 2 finite numbers"):
            env.set_state(qpos, qvel)
    finally:
        env.close()
