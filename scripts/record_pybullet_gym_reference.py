"""Record reference trajectories from the real pybullet-gym environments.

Writes ``tests/data/pybullet_gym_reference.npz``, which ``tests/test_fidelity.py`` replays on
the course's ``course_rl.bullet_envs`` to check that they are the same environments. This
script is the one place that knows how to rebuild that file; the test needs only the arrays.

pybullet-gym (github benelot/pybullet-gym, last commit bc68201c, 2021) is not on the package
index and needs the old ``gym`` API and ``numpy < 2``, so it runs in a venv of its own, outside
the project's environment. Use the same Python minor version and the same ``pybullet`` wheel
as the project (then both sides run the identical physics binary):

    git clone https://github.com/benelot/pybullet-gym /tmp/pybullet-gym
    git -C /tmp/pybullet-gym checkout bc68201c8101c4e30dde95f425647a0709ee2f29
    python3.11 -m venv /tmp/pgym-venv
    /tmp/pgym-venv/bin/pip install "pybullet==3.2.7" "numpy<2" "gym==0.23.1" "setuptools<70"
    PYTHONPATH=/tmp/pybullet-gym /tmp/pgym-venv/bin/python scripts/record_pybullet_gym_reference.py

(``pybullet==3.2.7`` is the version the project's venv has; ``pip show pybullet`` there tells.
``setuptools`` provides the ``pkg_resources`` that pybullet-gym imports.)

What it records, per environment (``HalfCheetahMuJoCoEnv``: 8 episodes,
``InvertedPendulumMuJoCoEnv``: 4 episodes; each instantiated directly, without gym's wrappers,
and reset twice: see :func:`make_env`), 300 steps an episode:

* a fixed initial joint state: after the resets every joint's position and velocity is set
  explicitly (``resetJointState``, through pybullet-gym's own ``Joint`` objects), so the
  course's environment can be put in exactly the same state. Positions ~ U(-0.1, 0.1) as a
  reset draws them; velocities 0 in even episodes, ~ U(-0.5, 0.5) in odd ones;
* fixed random actions, uniform in ``[-scale, scale]`` from a seeded generator (scale 1, and
  1.5 in each environment's last episode, to exercise the clipping);
* the observation after the state was set and after every step, every step's reward and
  termination flag;
* the horizon: how many states of the episode (the initial one counts) the real environment
  itself determines, the smaller of two measurements on its float64 joint state (positions
  and velocities, ``getJointState``):

  - chaos: the episode is re-run with the initial state nudged by +-1e-9, one joint position
    or velocity at a time and all positions at once (contact pairs sorted in all these runs,
    so that only the nudge differs); the chaos horizon is the first state at which a nudged
    run is off by more than 1e-4. Before it the real environment amplifies
    differences at most 1e5-fold, so a copy that differs from it only by round-off (1e-16
    relative) must agree with it to about 1e-11 there. (Contacts are stiff: a 1e-9 nudge of a
    foot's height moves joint velocities by about 1e-6 in one step, a linear response, not
    chaos; hence the threshold 1e-4 rather than 1e-6.)
  - order: the episode is re-run with its contacts solved in another order (see
    :func:`order_horizon`); the order horizon is the first state that differs at all.

Every run uses a freshly constructed environment (one physics client each), so no contact
history from an earlier episode reaches it. Takes about two minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
from importlib import metadata

import numpy as np

PYBULLET_GYM_COMMIT = "bc68201c8101c4e30dde95f425647a0709ee2f29"
NUDGE = 1e-9
DIVERGED = 1e-4
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                           "tests", "data", "pybullet_gym_reference.npz")


@contextlib.contextmanager
def quiet():
    """Silence Python's and C's stdout (pybullet-gym and pybullet print on every construction)."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def make_env(name: str):
    """A fresh pybullet-gym environment, reset twice (its own physics client).

    Twice, because the first reset of pybullet-gym's half-cheetah is not like the others: its
    ``changeDynamics`` loop over the robot's parts reaches the floor (body 0, link -1) only
    from the second reset on, when the floor has joined ``parts``; the first episode of a new
    env runs with the floor's rolling and spinning friction at 0 instead of 0.1. Every later
    reset also restores the state saved after the first one (``restoreState``). Training
    resets the same env hundreds of times, so the second and later episodes are the ones to copy.
    """
    with quiet():
        if name == "cheetah":
            from pybulletgym.envs.mujoco.envs.locomotion.half_cheetah_env import (
                HalfCheetahMuJoCoEnv,
            )
            env = HalfCheetahMuJoCoEnv()
        else:
            from pybulletgym.envs.mujoco.envs.pendulum.inverted_pendulum_env import (
                InvertedPendulumMuJoCoEnv,
            )
            env = InvertedPendulumMuJoCoEnv()
        env.seed(0)
        env.reset()
        env.reset()
    return env


def joints(env, name: str) -> list:
    """pybullet-gym's Joint objects in the course's order (its qpos/qvel order)."""
    if name == "cheetah":
        return list(env.robot.ordered_joints)  # ignorex, ignorez, ignorey, bthigh, ..., ffoot
    return [env.robot.slider, env.robot.j1]


def set_state(env, name: str, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
    """Put the real env's joints in (qpos, qvel) and return its observation of that state."""
    for joint, q, v in zip(joints(env, name), qpos.tolist(), qvel.tolist()):
        joint.reset_current_position(q, v)  # resetJointState + its motor disabled, as reset does
    if name == "cheetah":
        env.robot.calc_potential()  # the reward's "x before" becomes the new torso x
    return np.asarray(env.robot.calc_state())


def joint_state(env, name: str) -> np.ndarray:
    """All joint positions then velocities, float64, straight from pybullet."""
    states = [j.get_state() for j in joints(env, name)]
    return np.array([s[0] for s in states] + [s[1] for s in states])


def run(name: str, qpos: np.ndarray, qvel: np.ndarray, actions: np.ndarray,
        sorted_pairs: bool = False, other_envs: int = 0):
    """One episode on a fresh real env: observations, rewards, terminations, joint states.

    ``sorted_pairs`` turns on pybullet's ``deterministicOverlappingPairs`` (the course's one
    addition); ``other_envs`` keeps that many other environments alive meanwhile, which moves
    the new env's memory (see :func:`order_horizon`).
    """
    others = [make_env(name) for _ in range(other_envs)]
    env = make_env(name)
    try:
        if sorted_pairs:
            env._p.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
        observations = [set_state(env, name, qpos, qvel)]
        states = [joint_state(env, name)]
        rewards, terminated = [], []
        for a in actions:
            obs, reward, done, _ = env.step(a)
            observations.append(np.asarray(obs))
            rewards.append(reward)
            terminated.append(done)
            states.append(joint_state(env, name))
    finally:
        for e in [env, *others]:
            e.close()
    return np.array(observations), np.array(rewards), np.array(terminated), np.array(states)


def first_over(deviation: np.ndarray, threshold: float) -> int:
    """How many states agree: the index of the first deviating by more than ``threshold``."""
    over = np.flatnonzero(deviation > threshold)
    return int(over[0]) if over.size else len(deviation)


def chaos_horizon(name, qpos, qvel, actions) -> tuple[int, np.ndarray]:
    """First state at which a 1e-9-nudged run is off by more than DIVERGED.

    Nudged runs and the run they are compared with all sort their contact pairs, so that
    only the nudge differs between them (see :func:`order_horizon` for the order). Also
    returns, per state, the largest deviation over all nudged runs.
    """
    *_, states = run(name, qpos, qvel, actions, sorted_pairs=True)
    n = len(qpos)
    nudges = [(np.eye(n)[i] * s, np.zeros(n)) for i in range(n) for s in (NUDGE, -NUDGE)]
    nudges += [(np.zeros(n), np.eye(n)[i] * s) for i in range(n) for s in (NUDGE, -NUDGE)]
    nudges += [(np.full(n, NUDGE), np.zeros(n))]
    deviation = np.zeros(len(states))
    for dq, dv in nudges:
        *_, nudged = run(name, qpos + dq, qvel + dv, actions, sorted_pairs=True)
        deviation = np.maximum(deviation, np.abs(nudged - states).max(axis=1))
    return first_over(deviation, DIVERGED), deviation


def order_horizon(name, qpos, qvel, actions, states):
    """First state at which the episode, with its contacts solved in another order, differs.

    pybullet-gym leaves pybullet's contact pairs unsorted; their order then depends on where
    the env's objects sit in memory (what else is alive in the process, or just another run
    of the same script: measured). With 5 solver iterations the order in which simultaneous
    contacts are solved changes the result, so from the first step that solves two contacts
    in a changed order on, the real environment has no one trajectory. Measured with the
    pairs sorted (pybullet's ``deterministicOverlappingPairs``, as the course does) and with
    one or two other envs alive. Returns the horizon, the deviation per state and the
    observations and rewards of the sorted run.
    """
    deviation = np.zeros(len(states))
    for variant in ({"sorted_pairs": True}, {"other_envs": 1}, {"other_envs": 2}):
        observations, rewards, _, again = run(name, qpos, qvel, actions, **variant)
        if variant == {"sorted_pairs": True}:
            sorted_run = (observations, rewards)
        deviation = np.maximum(deviation, np.abs(again - states).max(axis=1))
    return first_over(deviation, 0.0), deviation, sorted_run


def initial_state(name: str, episode: int, rng: np.random.Generator):
    """Positions ~ U(-0.1, 0.1) as a real reset draws them; velocities 0 in even episodes."""
    n = 9 if name == "cheetah" else 2
    qpos = rng.uniform(-0.1, 0.1, size=n)
    qvel = np.zeros(n) if episode % 2 == 0 else rng.uniform(-0.5, 0.5, size=n)
    return qpos, qvel


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="the .npz file to write")
    parser.add_argument("--episodes", type=int, default=8, help="half-cheetah episodes")
    parser.add_argument("--pendulum-episodes", type=int, default=4, help="cart-pole episodes")
    parser.add_argument("--steps", type=int, default=300, help="steps per episode")
    parser.add_argument("--seed", type=int, default=2024, help="seed of states and actions")
    args = parser.parse_args(argv)

    import gym  # noqa: F401  (fail early, with the plain ImportError, outside the right venv)
    import pybulletgym  # noqa: F401

    rng = np.random.default_rng(args.seed)
    arrays: dict[str, np.ndarray] = {}
    for name, act_dim, episodes in (("cheetah", 6, args.episodes),
                                     ("pendulum", 1, args.pendulum_episodes)):
        starts = [initial_state(name, e, rng) for e in range(episodes)]
        scales = [1.5 if e == episodes - 1 else 1.0 for e in range(episodes)]
        all_actions = [rng.uniform(-s, s, size=(args.steps, act_dim)) for s in scales]
        fields: dict[str, list] = {k: [] for k in (
            "qpos", "qvel", "action_scale", "actions", "observations", "rewards", "terminated",
            "chaos_horizon", "chaos_deviation", "order_horizon", "order_deviation",
            "horizon", "sorted_observations", "sorted_rewards")}
        for e in range(episodes):
            (qpos, qvel), actions = starts[e], all_actions[e]
            observations, rewards, terminated, states = run(name, qpos, qvel, actions)
            chaos, chaos_dev = chaos_horizon(name, qpos, qvel, actions)
            order, order_dev, (sorted_obs, sorted_rewards) = order_horizon(
                name, qpos, qvel, actions, states)
            print(f"{name} episode {e}: chaos horizon {chaos}, order horizon {order} "
                  f"(of {args.steps} steps)", flush=True)
            for key, value in (("qpos", qpos), ("qvel", qvel), ("action_scale", scales[e]),
                               ("actions", actions), ("observations", observations),
                               ("rewards", rewards), ("terminated", terminated),
                               ("chaos_horizon", chaos), ("chaos_deviation", chaos_dev),
                               ("order_horizon", order), ("order_deviation", order_dev),
                               ("horizon", min(chaos, order)),
                               ("sorted_observations", sorted_obs),
                               ("sorted_rewards", sorted_rewards)):
                fields[key].append(value)
        for key, values in fields.items():
            array = np.array(values)
            if key in ("observations", "sorted_observations", "chaos_deviation",
                       "order_deviation"):
                array = array.astype(np.float32)
            elif key.endswith("horizon"):
                array = array.astype(np.int64)
            arrays[f"{name}_{key}"] = array

    versions = {
        "pybullet": metadata.version("pybullet"),
        "gym": metadata.version("gym"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()}-{platform.machine()}",
    }
    arrays["meta_versions"] = np.array([f"{k}=={v}" for k, v in versions.items()])
    arrays["meta_pybullet_gym_commit"] = np.array(PYBULLET_GYM_COMMIT)
    arrays["meta_settings"] = np.array(
        [f"seed={args.seed}", f"episodes={args.episodes}",
         f"pendulum_episodes={args.pendulum_episodes}", f"steps={args.steps}",
         f"nudge={NUDGE}", f"diverged={DIVERGED}"])

    out = os.path.abspath(args.out)
    tmp = out + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, out)  # never leave a half-written file
    print(f"wrote {out} ({os.path.getsize(out)} bytes); {', '.join(arrays['meta_versions'])}")


if __name__ == "__main__":
    sys.exit(main())
