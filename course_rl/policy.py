"""The policy distribution: a per-coordinate mixture of Gaussians with stochastic persistence.

A policy network outputs, for every action coordinate, ``K`` modes of three numbers each:
a logit (mixture weight), a raw mean and a raw spread. So its output has shape
``action_shape + (K, 3)``. This module turns such outputs into a distribution:

* mixture weights ``w = softmax(logits)`` over the ``K`` modes;
* means ``mu = clip(raw_mean, -1, 1)``;
* standard deviations ``sigma = sigmoid(raw_spread) / action_dim + floor``: dividing by the
  number of action coordinates keeps the total exploration of a many-jointed body in check, and
  the floor (the original's 1e-4, ``Config.std_floor``) keeps every mode a proper density. A
  ``spread_cap`` replaces the cap ``1 / action_dim``: ``sigma = sigmoid(raw_spread) * cap + floor``
  (``Config.spread_cap``; ``spread_scale``).

Acting happens in NumPy (``MixturePolicySampler``), many actors at once; scoring and the
entropy bonus happen in TensorFlow (``log_prob``, ``entropy_upper_bound``) inside the compiled
update. Both read the parameters through the same formulas, and the tests check that they agree.

Taught in notebooks/02_policy_distribution.ipynb.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, ndtri

STD_FLOOR = 1e-4

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# NumPy side: parameters and sampling
# --------------------------------------------------------------------------------------------

def squash_means(raw, squash: bool):
    """Means in [-1, 1]: clipped (the original) or squashed by tanh (``squash=True``).

    Clipping has a flaw the original never hit with its tiny learning rates: once a raw mean
    leaves [-1, 1] its gradient is zero, so a mode pushed past the edge stays there (the
    agent then pins the actuator at full force). tanh keeps a gradient everywhere.
    """
    return np.tanh(raw) if squash else np.clip(raw, -1.0, 1.0)


def spread_scale(squashed, action_dim: int, spread_cap: float | None = None):
    """A mode's standard deviation before the floor, from ``squashed = sigmoid(raw_spread)`` in
    (0, 1): ``squashed / action_dim`` (the original's cap), or ``squashed * spread_cap`` when a
    cap is given. NumPy and TensorFlow alike: acting and scoring read spreads through it."""
    return squashed / action_dim if spread_cap is None else squashed * spread_cap


def mixture_params(outputs: np.ndarray, action_dim: int | None = None, squash: bool = False,
                   std_floor: float = STD_FLOOR, spread_cap: float | None = None):
    """Weights, means and standard deviations from raw network outputs (NumPy).

    ``outputs`` has shape ``batch + action_shape + (K, 3)``; each returned array has shape
    ``batch + action_shape + (K,)``. ``action_dim`` (the number of action coordinates, by
    default the product of the action shape assuming one batch axis) caps the spread at
    ``1 / action_dim``, unless ``spread_cap`` sets the cap; ``std_floor`` is the smallest
    standard deviation.
    """
    outputs = np.asarray(outputs)
    if action_dim is None:
        action_dim = int(np.prod(outputs.shape[1:-2]))
    logits = outputs[..., 0]
    # Defect 3 of the original: its softmax was not shifted by the maximum, so exp overflowed
    # (inf / inf = nan weights) for logits above ~88.7 in float32, the network's output type
    # (~709 in float64). Shifting changes nothing mathematically.
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    weights = shifted / shifted.sum(axis=-1, keepdims=True)
    means = squash_means(outputs[..., 1], squash)
    # Defect 1 of the original: it sampled with sigmoid(-x) but scored with sigmoid(+x), so
    # actions were judged under another distribution than the one that drew them. Here one
    # formula serves both (this one and ``_tf_params`` below).
    stds = spread_scale(expit(outputs[..., 2]), action_dim, spread_cap) + std_floor
    return weights, means, stds


def mixture_density(actions, outputs, action_dim: int | None = None, squash: bool = False,
                    std_floor: float = STD_FLOOR, spread_cap: float | None = None) -> np.ndarray:
    """Per-coordinate mixture density ``p(a_i)`` (NumPy, for teaching plots and tests)."""
    weights, means, stds = mixture_params(outputs, action_dim, squash, std_floor, spread_cap)
    z = (np.asarray(actions)[..., None] - means) / stds
    return np.sum(weights * np.exp(-0.5 * z * z) / (stds * math.sqrt(2 * math.pi)), axis=-1)


class MixturePolicySampler:
    """Draws actions for ``n_actors`` actors at once, with stochastic persistence.

    Each actor keeps two uniform noises per action coordinate: one that picks the mode (by
    inverse CDF over the mixture weights) and one that becomes the Gaussian quantile
    ``z = Phi^-1(u)``. At every step each actor refreshes both noises with probability
    ``1 - persistence``; otherwise it reuses them, so its exploration stays correlated in time
    for ``1 / (1 - persistence)`` steps on average (median ``ln 0.5 / ln persistence``).

    The action is ``mu[mode] + temp * sigma[mode] * z``. With ``temp == 0`` the policy is greedy:
    the mean of the most probable mode. (Defect 8 of the original: its "greedy" evaluation
    still chose the mode at random.)

    Taught in notebooks/02_policy_distribution.ipynb.
    """

    def __init__(self, n_actors: int, action_shape: tuple[int, ...], n_modes: int,
                 persistence: float, rng: np.random.Generator, squash: bool = False,
                 std_floor: float = STD_FLOOR, flip_spread: bool = False,
                 spread_cap: float | None = None):
        check_persistence(persistence)
        if int(n_actors) < 1:
            raise ValueError(f"n_actors must be >= 1, got {n_actors!r}")
        if int(n_modes) < 1:
            raise ValueError(f"n_modes must be >= 1, got {n_modes!r}")
        self.n_actors = int(n_actors)
        self.action_shape = tuple(action_shape)
        self.action_dim = int(np.prod(self.action_shape))
        self.n_modes = int(n_modes)
        self.persistence = float(persistence)
        self.squash = bool(squash)
        self.std_floor = float(std_floor)
        self.flip_spread = bool(flip_spread)  # the original's defect 1, for the experiment on it
        self.spread_cap = spread_cap
        self.rng = rng
        shape = (self.n_actors,) + self.action_shape
        self.mode_noise = rng.random(shape)
        self.gauss_noise = ndtri(rng.random(shape))
        self.refreshes = 0  # how many actor-steps refreshed their noise (for teaching/tests)

    @classmethod
    def for_config(cls, config, n_actors: int, action_shape, rng: np.random.Generator):
        """The sampler a ``Config`` acts with (modes, persistence, squashing, floor, defect 1, cap)."""
        return cls(n_actors, action_shape, config.n_modes, config.persistence, rng,
                   config.squash_means, config.std_floor, config.original_spread_defect,
                   config.spread_cap)

    def refresh(self, active: np.ndarray | None = None) -> None:
        """Redraw each (active) actor's noises with probability ``1 - persistence``."""
        redraw = self.rng.random(self.n_actors) >= self.persistence
        if active is not None:
            redraw &= active
        count = int(redraw.sum())
        if count:
            shape = (count,) + self.action_shape
            self.mode_noise[redraw] = self.rng.random(shape)
            self.gauss_noise[redraw] = ndtri(self.rng.random(shape))
            self.refreshes += count

    def select(self, outputs: np.ndarray, temp: float = 1.0, rows=slice(None)) -> np.ndarray:
        """Actions for the actors ``rows`` given network outputs ``(len(rows),) + action_shape + (K, 3)``.

        Does not refresh the noise: call ``refresh`` once per environment step first.
        """
        if temp == 0:
            return greedy_actions(outputs, self.action_dim, self.squash)
        if self.flip_spread:  # draw with sigmoid(-raw) as the original did (scored with +raw)
            outputs = np.asarray(outputs).copy()
            outputs[..., 2] *= -1
        weights, means, stds = mixture_params(outputs, self.action_dim, self.squash, self.std_floor,
                                              self.spread_cap)
        if self.n_modes == 1:
            mu, sigma = means[..., 0], stds[..., 0]
        else:
            cumulative = np.cumsum(weights, axis=-1)
            u = self.mode_noise[rows][..., None]
            # the count of cumulative weights below u is the inverse-CDF mode index; the
            # minimum guards against a last cumulative weight of 0.9999999 < u
            mode = np.minimum((u >= cumulative).sum(axis=-1), self.n_modes - 1)[..., None]
            mu = np.take_along_axis(means, mode, axis=-1)[..., 0]
            sigma = np.take_along_axis(stds, mode, axis=-1)[..., 0]
        return (mu + temp * sigma * self.gauss_noise[rows]).astype(np.float32)

    def state(self) -> dict:
        """Noise arrays, for checkpoints (the generator's state is saved by its owner)."""
        return {"mode_noise": self.mode_noise.copy(), "gauss_noise": self.gauss_noise.copy()}

    def set_state(self, state: dict) -> None:
        self.mode_noise[...] = state["mode_noise"]
        self.gauss_noise[...] = state["gauss_noise"]


def greedy_actions(outputs: np.ndarray, action_dim: int | None = None, squash: bool = False) -> np.ndarray:
    """The greedy action: the mean of the most probable mode, per coordinate (no noise)."""
    outputs = np.asarray(outputs)
    means = squash_means(outputs[..., 1], squash)
    mode = np.argmax(outputs[..., 0], axis=-1)[..., None]  # softmax keeps the order of logits
    return np.take_along_axis(means, mode, axis=-1)[..., 0].astype(np.float32)


def check_persistence(persistence: float) -> float:
    """Validate a persistence value: a probability in [0, 1)."""
    p = float(persistence)
    if not (0.0 <= p < 1.0) or math.isnan(p):
        raise ValueError(
            f"persistence must be in [0, 1) (the probability of keeping the exploration noise "
            f"for another step; 1 would never refresh it), got {persistence!r}")
    return p


def expected_hold_time(persistence: float) -> float:
    """Mean number of steps a noise is held: ``1 / (1 - p)`` (geometric distribution)."""
    return 1.0 / (1.0 - check_persistence(persistence))


def median_hold_time(persistence: float) -> float:
    """Median number of steps before a refresh: ``ln 0.5 / ln p``.

    The original text called this the "expected switch time" (defect 7); it is the median.
    """
    p = check_persistence(persistence)
    return 0.0 if p == 0 else math.log(0.5) / math.log(p)


class PersistentRandomActor:
    """The study's random actor: a standard Gaussian action, held for a random number of steps.

    No policy at all: each of ``n_actors`` actors draws an action ``a ~ N(0, I)`` when an
    episode starts (:meth:`reset`), and at every step (:meth:`act`) keeps it with probability
    ``persistence`` or draws a new one otherwise, so an action is held for
    ``1 / (1 - persistence)`` steps on average (:func:`expected_hold_time`). The actions come out
    clipped to the action box [-1, 1]. The study gathered its VAE's frames with this actor
    (persistence 0.931); it also shows what exploration that persists does to a body without any
    learning. Unlike :class:`MixturePolicySampler`, which holds the *noise* of a policy, this
    holds the whole action.

    Every draw comes from ``rng``, in a fixed order (per step: one uniform per actor, then the
    new actions of the actors that redraw), so a caller may share the generator with its own
    draws and stay reproducible.

    Taught in notebooks/06_vision.ipynb.
    """

    def __init__(self, n_actors: int, action_shape: tuple[int, ...], persistence: float,
                 rng: np.random.Generator):
        if isinstance(n_actors, bool) or not isinstance(n_actors, (int, np.integer)) \
                or n_actors < 1:
            raise ValueError(f"n_actors must be an integer >= 1, got {n_actors!r}")
        self.n_actors = int(n_actors)
        self.action_shape = tuple(action_shape)
        self.persistence = check_persistence(persistence)
        self.rng = rng
        self.held: np.ndarray | None = None  # (n_actors,) + action_shape, float64, unclipped

    def reset(self) -> None:
        """Start an episode: every actor draws a fresh action."""
        self.held = self.rng.standard_normal((self.n_actors,) + self.action_shape)

    def act(self) -> np.ndarray:
        """One step: ``(n_actors,) + action_shape`` float64 actions in [-1, 1].

        Each actor redraws its action with probability ``1 - persistence`` first.
        """
        if self.held is None:
            raise RuntimeError("PersistentRandomActor.act() before reset(): call reset() when "
                               "an episode starts")
        redraw = self.rng.random(self.n_actors) > self.persistence
        self.held[redraw] = self.rng.standard_normal((int(redraw.sum()),) + self.action_shape)
        return np.clip(self.held, -1.0, 1.0)


# --------------------------------------------------------------------------------------------
# TensorFlow side: log-probability and entropy, used inside the compiled update
# --------------------------------------------------------------------------------------------

def _tf_params(outputs, action_dim: int, squash: bool = False, std_floor: float = STD_FLOOR,
               spread_cap: float | None = None):
    from .quiet_tf import tf
    log_weights = tf.nn.log_softmax(outputs[..., 0], axis=-1)  # max-shifted internally
    means = tf.tanh(outputs[..., 1]) if squash else tf.clip_by_value(outputs[..., 1], -1.0, 1.0)
    stds = spread_scale(tf.sigmoid(outputs[..., 2]), action_dim, spread_cap) + std_floor
    return log_weights, means, stds


def log_prob(outputs, actions, action_dim: int, squash: bool = False, floor: float = 0.0,
             std_floor: float = STD_FLOOR, spread_cap: float | None = None):
    """Log-density of ``actions`` (batch + action_shape) under the mixture, summed over coordinates.

    Per coordinate, ``log(p(a_i) + floor)`` computed as a log-sum-exp over the modes (and the
    floor), so it is finite and overflow-free for any network output. ``floor`` is the original
    study's ``+1e-4`` on each coordinate's density (``Config.log_density_floor``): it bounds a
    coordinate's log-density below by ``ln floor`` and so caps how hard one action the policy
    now finds very unlikely can pull on the gradient when the same batch is reused for many
    epochs. ``floor=0`` gives the exact log-density. Returns shape ``(batch,)``.
    """
    from .quiet_tf import tf
    log_weights, means, stds = _tf_params(outputs, action_dim, squash, std_floor, spread_cap)
    z = (tf.expand_dims(actions, -1) - means) / stds
    log_modes = -0.5 * tf.square(z) - tf.math.log(stds) - _LOG_SQRT_2PI
    per_coordinate = tf.reduce_logsumexp(log_weights + log_modes, axis=-1)
    if floor > 0:
        per_coordinate = tf.math.reduce_logsumexp(
            tf.stack([per_coordinate, tf.fill(tf.shape(per_coordinate), math.log(floor))]), axis=0)
    return tf.reduce_sum(tf.reshape(per_coordinate, [tf.shape(per_coordinate)[0], -1]), axis=-1)


def entropy_upper_bound(outputs, action_dim: int, std_floor: float = STD_FLOOR,
                        spread_cap: float | None = None):
    """The original study's entropy bound, per batch row.

    For each coordinate, the entropy of a mixture is at most the entropy of the mode choice plus
    the expected entropy of the chosen Gaussian: ``H <= H(w) + sum_k w_k * 0.5 ln(2 pi e s_k^2)``
    (equality when the modes do not overlap). Summed over the independent coordinates.
    """
    from .quiet_tf import tf
    log_weights, _, stds = _tf_params(outputs, action_dim, std_floor=std_floor, spread_cap=spread_cap)
    weights = tf.exp(log_weights)
    gauss = 0.5 * tf.math.log(2.0 * math.pi * math.e * tf.square(stds))
    per_coordinate = tf.reduce_sum(weights * (gauss - log_weights), axis=-1)
    return tf.reduce_sum(tf.reshape(per_coordinate, [tf.shape(per_coordinate)[0], -1]), axis=-1)


def edge_penalty(outputs, squash: bool = False):
    """``sum_k w_k mu_k^4`` per row: the original's penalty on means near the clip at +/-1.

    A clipped mean stops receiving gradient, and the Gaussian entropy formula ignores that the
    environment clips actions at +/-1; the original subtracted this term from the entropy
    bonus to keep modes away from the edges. Kept as a separate, named term.
    """
    from .quiet_tf import tf
    log_weights, means, _ = _tf_params(outputs, 1, squash)
    per_coordinate = tf.reduce_sum(tf.exp(log_weights) * tf.pow(means, 4), axis=-1)
    return tf.reduce_sum(tf.reshape(per_coordinate, [tf.shape(per_coordinate)[0], -1]), axis=-1)
