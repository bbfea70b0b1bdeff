"""Discounted returns, value targets and advantages of an episode (a ``Trajectory``).

Taught in notebooks/03_reinforce.ipynb (Monte-Carlo returns) and notebooks/04_a2c.ipynb
(n-step bootstrapped targets and GAE).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.signal import lfilter


class Trajectory(NamedTuple):
    """One played episode, what an update learns from (``training.run_episodes`` records them,
    ``agent.Agent.targets`` turns them into value targets and advantages). ``T`` is its length.
    """

    obs: np.ndarray
    """(T,) + obs_shape float32: the observation s_t each action was chosen in (as the task
    returned it, before any normalisation)."""
    actions: np.ndarray
    """(T,) + action_shape float32: the action a_t taken."""
    rewards: np.ndarray
    """(T,) float64: the reward r_t that followed."""
    truncated: bool
    """True if a time limit cut the episode (the task would have gone on), False if it ended
    for real (or has not been cut at all)."""
    final_obs: np.ndarray
    """obs_shape float32: the observation s_T after the last step, whose value bootstraps a
    truncated episode's targets (``Config.bootstrap_truncated``)."""


def discounted_returns(rewards, discount: float) -> np.ndarray:
    """``G_t = sum_{i>=0} discount^i r_{t+i}`` for one episode, in float64.

    A first-order linear filter run backwards in time computes exactly that recursion,
    ``G_t = r_t + discount * G_{t+1}``, in C (no Python loop over offsets).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.size == 0:
        return rewards
    return lfilter([1.0], [1.0, -float(discount)], rewards[::-1])[::-1]


def n_step_targets(rewards, discount: float, n_steps: int = 0, values=None,
                   final_value: float = 0.0) -> np.ndarray:
    """Value targets for one episode, in float64.

    ``n_steps <= 0``: Monte-Carlo returns (``final_value`` discounted onto each step: 0 when the
    episode ended for real, ``V(s_T)`` to bootstrap a time-limit truncation).

    ``n_steps > 0``: ``G_t = r_t + ... + discount^(n-1) r_{t+n-1} + discount^n V(s_{t+n})`` where
    ``t + n`` is still inside the episode, else the Monte-Carlo return. ``values[t]`` must be
    ``V(s_t)`` for ``t = 0..T-1``. (Defect 2 of the original: it bootstrapped from ``s_t``
    instead of ``s_{t+n}``.) Vectorised: the truncated sum is ``R_t - discount^n R_{t+n}``
    with ``R`` the full discounted return.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    length = rewards.size
    full = discounted_returns(rewards, discount)
    if final_value:
        full = full + final_value * discount ** np.arange(length, 0, -1, dtype=np.float64)
    if n_steps <= 0 or n_steps >= length:
        return full
    if values is None or len(values) != length:
        raise ValueError("n-step targets need values V(s_t) for every step of the episode")
    head = length - n_steps  # steps t whose bootstrap state s_{t+n} lies inside the episode
    targets = full.copy()
    scale = discount ** n_steps
    targets[:head] = full[:head] - scale * full[n_steps:] + scale * np.asarray(values, np.float64)[n_steps:]
    return targets


def gae_advantages(rewards, values, discount: float, lam: float,
                   final_value: float = 0.0) -> np.ndarray:
    """Generalised advantage estimates (Schulman et al. 2016) for one episode, in float64.

    ``A_t = sum_{i>=0} (discount * lam)^i delta_{t+i}`` with the TD errors
    ``delta_t = r_t + discount * V(s_{t+1}) - V(s_t)``, ``V(s_T) = final_value`` (0 when the
    episode really ended). ``lam = 1`` gives the Monte-Carlo return minus ``V(s_t)``; ``lam = 0``
    the one-step TD error. ``A_t + V(s_t)`` is the matching value target (the lambda-return).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if values.shape != rewards.shape:
        raise ValueError(f"GAE needs one value per reward: got {values.shape} values for "
                         f"{rewards.shape} rewards")
    following = np.append(values[1:], float(final_value))
    deltas = rewards + discount * following - values
    return discounted_returns(deltas, discount * lam)


def half_life(discount: float) -> float:
    """Steps after which a reward's weight has halved: ``ln 0.5 / ln discount``.

    (Defect 7 of the original text: it gave 62.5 steps for 0.99; the half-life is 69.0.)
    """
    return math.log(0.5) / math.log(discount)


def horizon(discount: float) -> float:
    """The effective horizon ``1 / (1 - discount)``: the return of a constant reward of 1."""
    return 1.0 / (1.0 - discount)
