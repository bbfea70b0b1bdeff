"""The study's two pybullet environments, rebuilt for gymnasium.

The original study used pybullet-gym's ``InvertedPendulumMuJoCoEnv-v0`` and
``HalfCheetahMuJoCoEnv-v0``. pybullet-gym is unmaintained and does not run with gymnasium, so
this module recreates both environments from the facts of those tasks: it loads the same MJCF
model files (shipped inside the ``pybullet`` wheel) with the same physics settings, observation
layouts, action scaling, reset noise, rewards and terminations.

Registered ids (registered when this module is imported, which :func:`course_rl.tasks.make`
does when it first builds a pybullet task):

* ``course_rl/InvertedPendulumBullet-v0`` -- :class:`InvertedPendulumBulletEnv`, 1000-step limit.
* ``course_rl/HalfCheetahBullet-v0`` -- :class:`HalfCheetahBulletEnv`, 1000-step limit.

Most users should not use these ids directly but call :func:`course_rl.tasks.make`, which adds
the study's reward modification (cart-pole) and 500-step cap (half-cheetah).

One deliberate addition to the original settings: contact pairs are processed in a sorted
order (pybullet's ``deterministicOverlappingPairs``), which makes a seeded episode reproducible
bit for bit, whatever the environment simulated before it. pybullet-gym leaves that order to
where its objects sit in memory, and with 5 solver iterations the order in which simultaneous
contacts are solved changes the result: its own half-cheetah episodes part ways from the first
step that solves two contacts in another order. Sorted is one of the orders it can take; with
its pairs sorted too, pybullet-gym and this module agree bit for bit (``tests/test_fidelity.py``,
against trajectories recorded from pybullet-gym).

Rendering: only ``render_mode="rgb_array"`` is supported. Frames come from pybullet's software
renderer (``ER_TINY_RENDERER``), so they need no display and no OpenGL. The half-cheetah's are
drawn three times faster by :mod:`course_rl.cheetah_frames`, identical bit for bit. A live ``"human"``
window is not offered (it would need a display); show the frames in the notebook instead.

Taught in notebooks/01_tasks.ipynb.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = [
    "HALF_CHEETAH_ID",
    "INVERTED_PENDULUM_ID",
    "HalfCheetahBulletEnv",
    "InvertedPendulumBulletEnv",
    "check_render_size",
    "register_envs",
    "suppress_c_output",
]


@contextlib.contextmanager
def suppress_c_output() -> Iterator[None]:
    """Silence everything the process writes to file descriptors 1 and 2 inside the block.

    pybullet prints its build time to the C-level standard error when it is imported, which
    ``contextlib.redirect_stdout``/``redirect_stderr`` cannot catch; this helper points both
    descriptors at ``os.devnull`` for the duration of the block (flushing Python's and C's
    buffers first and last). Python exceptions raised inside still propagate normally. If the
    descriptors cannot be redirected, the block simply runs unchanged. (The chapters import
    pybullet and TensorFlow inside it.)
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    try:
        saved = (os.dup(1), os.dup(2))
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        try:  # flush C stdio while it still points at devnull
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError, TypeError):
            pass
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


with suppress_c_output():
    import pybullet as pb
    import pybullet_data

INVERTED_PENDULUM_ID = "course_rl/InvertedPendulumBullet-v0"
HALF_CHEETAH_ID = "course_rl/HalfCheetahBullet-v0"

_MJCF_DIR = os.path.join(pybullet_data.getDataPath(), "mjcf")
_LOAD_FLAGS = pb.URDF_USE_SELF_COLLISION | pb.URDF_USE_SELF_COLLISION_EXCLUDE_ALL_PARENTS
_GRAVITY = 9.8
_SOLVER_ITERATIONS = 5
_CONTACT_ERP = 0.9  # pybullet-gym's scenes set this default contact ERP


def check_action(action: Any, shape: tuple) -> np.ndarray:
    """``action`` as a float64 array, if it has the action space's ``shape`` and only finite
    numbers; otherwise a ``ValueError`` naming it and what is allowed. Both engines check with
    it (``tasks.make`` puts it in front of MuJoCo's environments), so a bad action gets the same
    error on either, instead of a silently used first element or a NaN reward.
    """
    try:
        a = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        a = None
    if a is None or a.shape != shape or not np.isfinite(a).all():
        size = int(np.prod(shape))
        raise ValueError(f"action {' '.join(repr(action).split())} is not allowed: {size} finite number{'s' * (size > 1)} "
                         f"in an array of shape {shape} (values outside [-1, 1] are clipped)")
    return a


def check_render_size(width: Any, height: Any) -> tuple[int, int]:
    """Check a frame size and return it as ``(width, height)`` Python ints.

    Each must be a positive integer (bools are refused); otherwise a ``ValueError`` naming the
    bad value is raised.
    """
    for label, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"render {label} must be a positive integer, got {value!r}")
    return int(width), int(height)


class _BulletEnv(gym.Env[np.ndarray, np.ndarray]):
    """Shared plumbing: own DIRECT physics client, physics settings, model loading, camera."""

    # render_fps: 1 / 0.0165 s = 60.6 frames per simulated second, rounded.
    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 61}

    _model_file: str
    _dt: float = 0.0165  # seconds of simulated time per env step
    _substeps: int = 1
    _camera: dict[str, float]  # distance, yaw, pitch, target_z
    _fov: float = 60.0

    def __init__(self, render_mode: str | None = None, width: int = 320, height: int = 240):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"unsupported render_mode {render_mode!r}; allowed: None, "
                + ", ".join(repr(m) for m in self.metadata["render_modes"])
            )
        self.render_mode = render_mode
        self.width, self.height = check_render_size(width, height)
        self.client = -1
        with suppress_c_output():
            client = pb.connect(pb.DIRECT)
        if client < 0:
            raise RuntimeError("could not start a pybullet DIRECT physics client")
        self.client = client
        pb.setGravity(0, 0, -_GRAVITY, physicsClientId=client)
        pb.setDefaultContactERP(_CONTACT_ERP, physicsClientId=client)
        pb.setPhysicsEngineParameter(
            fixedTimeStep=self._dt,
            numSolverIterations=_SOLVER_ITERATIONS,
            numSubSteps=self._substeps,
            # Our one addition: sort contact pairs so that an episode depends only on its seed
            # and actions. pybullet's default, used by pybullet-gym, leaves the order in which
            # simultaneous contacts are solved to memory layout (see the module docstring).
            deterministicOverlappingPairs=1,
            physicsClientId=client,
        )
        self._build_scene()
        self._projection = pb.computeProjectionMatrixFOV(
            fov=self._fov, aspect=self.width / self.height, nearVal=0.1, farVal=100.0,
            physicsClientId=client,
        )

    @property
    def dt(self) -> float:
        """Simulated seconds per environment step."""
        return self._dt

    def _build_scene(self) -> None:
        raise NotImplementedError

    def _load_model(self) -> tuple[int, ...]:
        """Load the MJCF model with self-collision and disable every joint's default motor."""
        c = self.client
        bodies = pb.loadMJCF(
            os.path.join(_MJCF_DIR, self._model_file),
            flags=_LOAD_FLAGS | pb.MJCF_COLORS_FROM_FILE,
            physicsClientId=c,
        )
        for body in bodies:
            n = pb.getNumJoints(body, physicsClientId=c)
            if n:
                pb.setJointMotorControlArray(
                    body, list(range(n)), pb.POSITION_CONTROL,
                    targetPositions=[0.0] * n, targetVelocities=[0.0] * n,
                    positionGains=[0.1] * n, velocityGains=[0.1] * n, forces=[0.0] * n,
                    physicsClientId=c,
                )
        return tuple(bodies)

    @staticmethod
    def _joint_index(body: int, name: str, client: int) -> int:
        for j in range(pb.getNumJoints(body, physicsClientId=client)):
            if pb.getJointInfo(body, j, physicsClientId=client)[1].decode() == name:
                return j
        raise KeyError(f"joint {name!r} not found in the model")

    def set_state(self, qpos: Any, qvel: Any) -> np.ndarray:
        """Put every joint at the given positions and velocities; return the new observation.

        ``qpos`` and ``qvel`` each hold one number per joint, in the order of the class
        docstring (MuJoCo's ``qpos``/``qvel``): ``[cart x, pole angle]`` for the cart-pole,
        ``[rootx, rootz, rooty, bthigh, bshin, bfoot, fthigh, fshin, ffoot]`` for the
        half-cheetah. Like a reset, it does not step the simulation. It lets a test start the
        environment in an exact state, e.g. one recorded from pybullet-gym
        (``tests/test_fidelity.py``); a ``ValueError`` names a wrong shape or a non-finite value.
        """
        n = len(self._joints)
        values = []
        for label, value in (("qpos", qpos), ("qvel", qvel)):
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                array = None
            if array is None or array.shape != (n,) or not np.isfinite(array).all():
                raise ValueError(f"{label} must be {n} finite numbers, got {value!r}")
            values.append(array.tolist())
        for j, q, v in zip(self._joints, *values):
            pb.resetJointState(self.robot, j, q, v, physicsClientId=self.client)
        return self._observe_set_state()

    def _observe_set_state(self) -> np.ndarray:
        raise NotImplementedError

    def _camera_target_x(self) -> float:
        return 0.0

    def render(self) -> np.ndarray | None:
        """Return an ``(height, width, 3)`` uint8 frame, or ``None`` if render_mode is None."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='rgb_array'")
            return None
        return self._frame()

    def _view_matrix(self) -> tuple:
        """The camera's view matrix now (16 floats, column-major, as pybullet's)."""
        cam = self._camera
        return pb.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=(self._camera_target_x(), 0.0, cam["target_z"]),
            distance=cam["distance"], yaw=cam["yaw"], pitch=cam["pitch"], roll=0.0,
            upAxisIndex=2, physicsClientId=self.client,
        )

    def render_tinyrenderer(self) -> np.ndarray:
        """The frame as pybullet's software renderer draws the whole scene: ``(height, width,
        3)`` uint8, whatever ``render_mode`` is. (``render`` returns this frame; the
        half-cheetah's draws it faster, see :mod:`course_rl.cheetah_frames`.)"""
        _, _, rgba, _, _ = pb.getCameraImage(
            self.width, self.height, self._view_matrix(), self._projection,
            renderer=pb.ER_TINY_RENDERER, flags=pb.ER_NO_SEGMENTATION_MASK,
            physicsClientId=self.client,
        )
        rgba = np.asarray(rgba, dtype=np.uint8).reshape(self.height, self.width, 4)
        return np.ascontiguousarray(rgba[:, :, :3])

    _frame = render_tinyrenderer

    def close(self) -> None:
        """Disconnect the physics client (safe to call more than once)."""
        if self.client >= 0:
            try:
                pb.disconnect(physicsClientId=self.client)
            except pb.error:
                pass
            self.client = -1

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may already be gone
            pass


class InvertedPendulumBulletEnv(_BulletEnv):
    """Cart-pole (inverted pendulum) on pybullet, as pybullet-gym's InvertedPendulumMuJoCoEnv-v0.

    * Physics: one 0.0165 s step per env step, 5 solver iterations, gravity 9.8, model
      ``mjcf/inverted_pendulum.xml`` loaded with self-collision, no ground.
    * Observation (4,) float32: ``[cart x, pole angle, cart velocity, pole angular velocity]``.
    * Action (1,) in [-1, 1]: slider force ``100 * clip(a, -1, 1)`` newtons (torque control).
    * Reset: cart at 0, pole angle ~ U(-0.1, 0.1), zero velocities (drawn from ``np_random``).
    * Reward +1 every step; terminated when ``|angle| > 0.2`` or the state is not finite.
    * Time limit (registration): 1000 steps.

    Rendering (``render_mode="rgb_array"``): a fixed side view of the rail, cart and pole.
    (Chapter 1 builds it with ``tasks.make("cartpole")``.)
    """

    _model_file = "inverted_pendulum.xml"
    _substeps = 1
    _camera = {"distance": 2.0, "yaw": 0.0, "pitch": -5.0, "target_z": 0.25}
    force_scale = 100.0
    angle_limit = 0.2

    def __init__(self, render_mode: str | None = None, width: int = 320, height: int = 240):
        super().__init__(render_mode=render_mode, width=width, height=height)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def _build_scene(self) -> None:
        c = self.client
        rail, cart = self._load_model()
        self.robot = cart
        self.rail = rail
        self.slider = self._joint_index(cart, "slider", c)
        self.hinge = self._joint_index(cart, "hinge", c)
        self._joints = [self.slider, self.hinge]

    def _observe(self) -> np.ndarray:
        (x, vx, _, _), (theta, vtheta, _, _) = pb.getJointStates(
            self.robot, self._joints, physicsClientId=self.client
        )
        return np.array((x, theta, vx, vtheta), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode: cart at 0, pole angle ~ U(-0.1, 0.1), at rest."""
        super().reset(seed=seed)
        c, body = self.client, self.robot
        angle = float(self.np_random.uniform(-0.1, 0.1))
        pb.resetJointState(body, self.slider, 0.0, 0.0, physicsClientId=c)
        pb.resetJointState(body, self.hinge, angle, 0.0, physicsClientId=c)
        return self._observe(), {}

    def _observe_set_state(self) -> np.ndarray:
        return self._observe()

    def step(self, action):
        """Push the cart with ``100 * clip(action)`` N for one 0.0165 s step."""
        a = float(check_action(action, (1,))[0])
        force = self.force_scale * min(1.0, max(-1.0, a))
        c = self.client
        pb.setJointMotorControl2(
            self.robot, self.slider, pb.TORQUE_CONTROL, force=force, physicsClientId=c
        )
        pb.stepSimulation(physicsClientId=c)
        obs = self._observe()
        terminated = bool(not np.isfinite(obs).all() or abs(obs[1]) > self.angle_limit)
        return obs, 1.0, terminated, False, {}


PART_DYNAMICS = {"lateralFriction": 0.8, "spinningFriction": 0.1, "rollingFriction": 0.1,
                 "restitution": 0.5}
"""The contact settings pybullet-gym's half-cheetah means to give every one of its body parts."""

CONTACTS = ("as_run", "intended")
CONTACT_AS_RUN = "as_run"
"""How the course's half-cheetah sets its contacts: as pybullet-gym's really did.

pybullet-gym (``half_cheetah.py``, ``robot_specific_reset``) calls
``changeDynamics(part.bodyIndex, part.bodyPartIndex, **PART_DYNAMICS)`` for every body part.
``bodyIndex`` is the part's position in the robot's list of bodies (0), not its pybullet body
id, and body id 0 is the floor, loaded first. So the settings land on the floor's base (link
-1; the floor has no other links) and the cheetah's parts keep pybullet's defaults:
restitution 0, no rolling or spinning friction. Bullet multiplies the two restitutions at a
contact (0.5 x 0 = 0): the real environment's feet do not bounce. With the settings where they
were meant (``contact="intended"``, 0.5 x 0.5 = 0.25) foot strikes bounce and a bounding gait
runs about 11% slower. The original study's results were produced on the environment as it ran,
so the course copies the bug; ``tests/test_fidelity.py`` checks it against trajectories recorded
from the real pybullet-gym environment. (From an environment's second episode on, to be exact:
its first ``robot_specific_reset`` runs before the floor has joined the robot's parts, so only
the floor's scene settings hold in the first episode, without rolling or spinning friction. The
course copies the later episodes, nearly all of any training run.)
"""


class HalfCheetahBulletEnv(_BulletEnv):
    """Half-cheetah on pybullet, as pybullet-gym's HalfCheetahMuJoCoEnv-v0.

    * Physics: 4 substeps of 0.0165/4 s per env step (dt = 0.0165 s), 5 solver iterations,
      gravity 9.8, model ``mjcf/half_cheetah.xml`` loaded with self-collision; the ground is
      ``plane_stadium.sdf`` with lateral friction 0.8, restitution 0.5 and spinning and rolling
      friction 0.1; the cheetah's parts keep pybullet's defaults (restitution 0), so a foot
      strike does not bounce. That is what pybullet-gym *ran*, not what it meant: see
      :data:`CONTACT_AS_RUN`. ``contact="intended"`` gives the settings it meant instead.
    * Observation (17,) float32 (MuJoCo's layout): positions of
      ``[rootz, rooty, bthigh, bshin, bfoot, fthigh, fshin, ffoot]``, then the 9 velocities of
      ``[rootx, rootz, rooty, bthigh, bshin, bfoot, fthigh, fshin, ffoot]``.
    * Action (6,) in [-1, 1], joints ``[bthigh, bshin, bfoot, fthigh, fshin, ffoot]``;
      torque ``clip(a, -1, 1) * power`` with ``power = (120, 90, 60, 140, 60, 30)``.
    * Reset: all 9 joints (root slides and hinge included) ~ U(-0.1, 0.1), zero velocities.
    * Reward: ``(torso x after - torso x before) / dt - 0.1 * sum(a**2)``. As in pybullet-gym,
      the control cost uses the action as given, the torque its clipped value. Never terminates.
      As in pybullet-gym, the torso's x is the link pose pybullet cached at the start of the
      step's last substep (``getLinkState``), so after a step it lags ``rootx`` by 0.0165/4 s;
      the sum of an episode's rewards differs from ``rootx``'s progress only by that lag.
    * Time limit (registration): 1000 steps.

    Rendering (``render_mode="rgb_array"``): a side view whose camera follows the torso's x
    position over a checkered ground, so the cheetah stays in frame however far it runs.

    Taught in notebooks/06_vision.ipynb (its camera; chapter 1 builds it with
    ``tasks.make("cheetah")``).
    """

    _model_file = "half_cheetah.xml"
    _substeps = 4
    _camera = {"distance": 3.0, "yaw": 0.0, "pitch": -20.0, "target_z": 0.35}
    joint_names = ("ignorex", "ignorez", "ignorey", "bthigh", "bshin", "bfoot",
                   "fthigh", "fshin", "ffoot")
    power = np.array([120.0, 90.0, 60.0, 140.0, 60.0, 30.0])
    control_cost_weight = 0.1

    def __init__(self, render_mode: str | None = None, width: int = 320, height: int = 240,
                 contact: str = "as_run"):
        if contact not in CONTACTS:
            raise ValueError(f"contact must be one of {list(CONTACTS)}, got {contact!r}")
        self.contact = contact
        super().__init__(render_mode=render_mode, width=width, height=height)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(17,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(6,), dtype=np.float32)
        self._x_before = 0.0

    def _build_scene(self) -> None:
        c = self.client
        ground = pb.loadSDF(
            os.path.join(pybullet_data.getDataPath(), "plane_stadium.sdf"), physicsClientId=c
        )
        for g in ground:
            pb.changeDynamics(g, -1, lateralFriction=0.8, restitution=0.5, physicsClientId=c)
        self.ground = tuple(ground)
        self._floor_shown = True
        (body,) = self._load_model()
        self.robot = body
        if self.contact == "as_run":
            # pybullet-gym's call lands on body 0, link -1: the floor (see CONTACT_AS_RUN)
            pb.changeDynamics(ground[0], -1, **PART_DYNAMICS, physicsClientId=c)
        else:
            for link in range(-1, pb.getNumJoints(body, physicsClientId=c)):
                pb.changeDynamics(body, link, **PART_DYNAMICS, physicsClientId=c)
        self._joints = [self._joint_index(body, n, c) for n in self.joint_names]
        self._motors = self._joints[3:]
        self.rootx = self._joints[0]
        self._torso = next(j for j in range(pb.getNumJoints(body, physicsClientId=c))
                           if pb.getJointInfo(body, j, physicsClientId=c)[12] == b"torso")

    def _torso_x(self) -> float:
        """The torso's x as pybullet-gym's reward reads it: the link's cached pose.

        ``getLinkState`` without ``computeForwardKinematics`` returns the pose pybullet cached at
        the start of the last physics substep, not the pose after it: after a step it lags
        ``rootx`` by one of the 4 substeps (after a joint reset it is current). pybullet-gym's
        reward is computed from this lagging x, so the course reads the same number.
        """
        return pb.getLinkState(self.robot, self._torso, physicsClientId=self.client)[0][0]

    def _read(self) -> tuple[np.ndarray, float]:
        """The observation and the torso's x position (as the reward reads it)."""
        states = pb.getJointStates(self.robot, self._joints, physicsClientId=self.client)
        pos, vel, _, _ = zip(*states)
        return np.array(pos[1:] + vel, dtype=np.float32), self._torso_x()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode: all 9 joints ~ U(-0.1, 0.1), at rest."""
        super().reset(seed=seed)
        c, body = self.client, self.robot
        start = self.np_random.uniform(-0.1, 0.1, size=len(self._joints))
        for j, q in zip(self._joints, start.tolist()):
            pb.resetJointState(body, j, q, 0.0, physicsClientId=c)
        obs, self._x_before = self._read()
        return obs, {}

    def _observe_set_state(self) -> np.ndarray:
        obs, self._x_before = self._read()  # the next reward's "x before" is the new x
        return obs

    def step(self, action):
        """Apply ``clip(action) * power`` torques for one step (4 physics substeps)."""
        a = check_action(action, (6,))
        cost = float(np.dot(a, a))
        if not math.isfinite(cost):
            raise ValueError(f"action must be finite, got {action!r}")
        client, body = self.client, self.robot
        pb.setJointMotorControlArray(
            body, self._motors, pb.TORQUE_CONTROL,
            forces=(np.minimum(np.maximum(a, -1.0), 1.0) * self.power).tolist(),
            physicsClientId=client,
        )
        pb.stepSimulation(physicsClientId=client)
        pos, vel, _, _ = zip(*pb.getJointStates(body, self._joints, physicsClientId=client))
        x = self._torso_x()
        reward = (x - self._x_before) / self._dt - self.control_cost_weight * cost
        self._x_before = x
        return np.array(pos[1:] + vel, dtype=np.float32), reward, False, False, {}

    def _camera_target_x(self) -> float:
        return pb.getJointState(self.robot, self.rootx, physicsClientId=self.client)[0]

    def _frame(self) -> np.ndarray:
        from .cheetah_frames import render_frames

        return render_frames([self])[0]

    def _show_floor(self, shown: bool) -> None:
        if shown != self._floor_shown:
            pb.changeVisualShape(self.ground[0], -1, rgbaColor=[1, 1, 1, 1 if shown else 0],
                                 physicsClientId=self.client)
            self._floor_shown = shown

    def render_cheetah_alone(self, view) -> tuple[np.ndarray, np.ndarray]:
        """TinyRenderer's frame of the cheetah without the floor, through the view matrix
        ``view``: ``(height, width, 4)`` RGBA uint8 and its depth buffer ``(height, width)``
        (1 where nothing is drawn). :mod:`course_rl.cheetah_frames` lays it over the floor it
        draws itself. (The floor stays hidden from pybullet's renderer until
        ``render_tinyrenderer`` shows it for a frame.)"""
        self._show_floor(False)
        _, _, rgba, depth, _ = pb.getCameraImage(
            self.width, self.height, view, self._projection, renderer=pb.ER_TINY_RENDERER,
            flags=pb.ER_NO_SEGMENTATION_MASK, physicsClientId=self.client)
        return (np.asarray(rgba, np.uint8).reshape(self.height, self.width, 4),
                np.asarray(depth, np.float32).reshape(self.height, self.width))

    def render_tinyrenderer(self) -> np.ndarray:
        hidden = not self._floor_shown
        self._show_floor(True)
        try:
            return super().render_tinyrenderer()
        finally:
            if hidden:
                self._show_floor(False)


def register_envs() -> None:
    """Register both environments with gymnasium (does nothing if already registered)."""
    for env_id, entry_point in (
        (INVERTED_PENDULUM_ID, "course_rl.bullet_envs:InvertedPendulumBulletEnv"),
        (HALF_CHEETAH_ID, "course_rl.bullet_envs:HalfCheetahBulletEnv"),
    ):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=1000)


register_envs()
