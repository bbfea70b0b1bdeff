"""Discounted and n-step returns against brute-force double loops."""

import numpy as np
import pytest

from course_rl.returns import (discounted_returns, gae_advantages, half_life, horizon,
                               n_step_targets)


def brute_force(rewards, discount, n_steps=0, values=None, final_value=0.0):
    T = len(rewards)
    out = np.zeros(T)
    for t in range(T):
        horizon_end = T if n_steps <= 0 else min(T, t + n_steps)
        for i in range(t, horizon_end):
            out[t] += discount ** (i - t) * rewards[i]
        if n_steps > 0 and t + n_steps < T:
            out[t] += discount ** n_steps * values[t + n_steps]
        elif horizon_end == T:
            out[t] += discount ** (T - t) * final_value
    return out


@pytest.mark.parametrize("discount", [0.0, 0.5, 0.95, 0.99, 1.0])
def test_monte_carlo_returns(discount):
    rewards = np.random.default_rng(0).normal(size=57)
    np.testing.assert_allclose(discounted_returns(rewards, discount), brute_force(rewards, discount),
                               rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("n_steps", [1, 3, 10, 56, 57, 100])
def test_n_step_targets(n_steps):
    rng = np.random.default_rng(n_steps)
    rewards, values = rng.normal(size=57), rng.normal(size=57)
    np.testing.assert_allclose(n_step_targets(rewards, 0.9, n_steps, values),
                               brute_force(rewards, 0.9, n_steps, values), rtol=1e-10, atol=1e-10)


def test_bootstrapped_truncation():
    rewards = np.random.default_rng(1).normal(size=20)
    np.testing.assert_allclose(n_step_targets(rewards, 0.97, 0, final_value=3.0),
                               brute_force(rewards, 0.97, final_value=3.0), rtol=1e-12)


def test_cartpole_return_of_a_fall():
    # the modified cart-pole reward: 0 per step and -1 when the pole falls at the last step
    rewards = np.zeros(100)
    rewards[-1] = -1
    g = discounted_returns(rewards, 0.95)
    assert g[-1] == -1 and g[0] == pytest.approx(-(0.95 ** 99))
    assert g.dtype == np.float64


def test_half_life_and_horizon():
    assert half_life(0.99) == pytest.approx(68.97, abs=0.01)  # not 62.5 (defect 7)
    assert horizon(0.95) == pytest.approx(20)


def brute_force_gae(rewards, values, discount, lam, final_value):
    """GAE as the lambda-weighted mix of n-step advantages (its definition), by double loop."""
    T = len(rewards)
    out = np.zeros(T)
    for t in range(T):
        # A_t = (1 - lam) sum_{n>=1} lam^(n-1) A_t^(n), where A_t^(n) for t+n >= T is the full
        # bootstrapped return: the tail weights sum to lam^(T-t-1)
        for n in range(1, T - t + 1):
            target = brute_force(rewards[t:], discount, n, np.append(values[t:], 0.0)[: T - t],
                                 final_value)[0] if t + n < T else \
                brute_force(rewards[t:], discount, final_value=final_value)[0]
            weight = (1 - lam) * lam ** (n - 1) if n < T - t else lam ** (n - 1)
            out[t] += weight * (target - values[t])
    return out


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
@pytest.mark.parametrize("final_value", [0.0, 2.5])
def test_gae_matches_its_definition(lam, final_value):
    rng = np.random.default_rng(7)
    rewards, values = rng.normal(size=23), rng.normal(size=23)
    np.testing.assert_allclose(gae_advantages(rewards, values, 0.9, lam, final_value),
                               brute_force_gae(rewards, values, 0.9, lam, final_value),
                               rtol=1e-10, atol=1e-10)


def test_gae_limits_are_td_error_and_monte_carlo():
    rng = np.random.default_rng(8)
    rewards, values = rng.normal(size=30), rng.normal(size=30)
    td = rewards + 0.95 * np.append(values[1:], 1.5) - values
    np.testing.assert_allclose(gae_advantages(rewards, values, 0.95, 0.0, 1.5), td, rtol=1e-12)
    np.testing.assert_allclose(gae_advantages(rewards, values, 0.95, 1.0, 1.5),
                               brute_force(rewards, 0.95, final_value=1.5) - values, rtol=1e-10)
    with pytest.raises(ValueError, match="one value per reward"):
        gae_advantages(rewards, values[:-1], 0.95, 0.9)
