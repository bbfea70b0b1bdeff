"""The mixture-of-Gaussians policy against independent references (scipy, quadrature, Monte Carlo)."""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, stats
from scipy.special import expit

from course_rl import policy as mix


def random_outputs(rng, batch=4, action_shape=(2,), modes=3, scale=2.0):
    return rng.normal(0.0, scale, size=(batch,) + action_shape + (modes, 3)).astype(np.float32)


def scipy_log_density(actions, outputs, action_dim, spread_cap=None):
    """Reference: the mixture density written directly with scipy.stats.norm."""
    out = np.asarray(outputs, np.float64)
    logits = out[..., 0]
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    mu = np.clip(out[..., 1], -1, 1)
    cap = 1 / action_dim if spread_cap is None else spread_cap
    sd = 1 / (1 + np.exp(-out[..., 2])) * cap + 1e-4
    dens = (w * stats.norm.pdf(np.asarray(actions, np.float64)[..., None], mu, sd)).sum(-1)
    return np.log(dens).reshape(len(out), -1).sum(-1)


def test_density_integrates_to_one():
    rng = np.random.default_rng(0)
    out = random_outputs(rng, batch=1, action_shape=(1,), modes=3, scale=1.0)
    _, mu, sd = (a[0, 0] for a in mix.mixture_params(out, 1))
    breaks = np.sort(np.concatenate([mu + k * sd for k in (-8, -2, 0, 2, 8)]))
    total, _ = integrate.quad(lambda a: mix.mixture_density(np.array([[a]]), out, 1)[0, 0],
                              -4, 4, points=list(breaks), limit=500, epsabs=1e-12)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_log_prob_matches_scipy():
    rng = np.random.default_rng(1)
    out = random_outputs(rng, batch=16, action_shape=(3,), modes=3, scale=1.0)
    actions = rng.uniform(-1, 1, size=(16, 3)).astype(np.float32)
    ours = mix.log_prob(tf.constant(out), tf.constant(actions), 3).numpy()
    np.testing.assert_allclose(ours, scipy_log_density(actions, out, 3), rtol=1e-4, atol=1e-3)
    dens = mix.mixture_density(actions, out, 3)
    np.testing.assert_allclose(np.log(dens).sum(-1), scipy_log_density(actions, out, 3), rtol=1e-6)


def test_a_spread_cap_replaces_one_over_action_dim_for_acting_and_scoring():
    """Config.spread_cap: sigma = sigmoid(raw) * cap + floor, on both sides of the policy."""
    rng = np.random.default_rng(11)
    out = random_outputs(rng, batch=16, action_shape=(6,), modes=3, scale=1.0)
    actions = rng.uniform(-1, 1, size=(16, 6)).astype(np.float32)
    raw = out[..., 2].astype(np.float64)
    _, _, sd = mix.mixture_params(out, 6, spread_cap=0.8)
    np.testing.assert_allclose(sd, 0.8 / (1 + np.exp(-raw)) + 1e-4, rtol=1e-6)
    _, _, default = mix.mixture_params(out, 6)  # no cap: the original's 1 / action_dim, bit for bit
    np.testing.assert_array_equal(default, expit(out[..., 2]) / 6 + mix.STD_FLOOR)
    ours = mix.log_prob(tf.constant(out), tf.constant(actions), 6, spread_cap=0.8).numpy()
    np.testing.assert_allclose(ours, scipy_log_density(actions, out, 6, 0.8), rtol=1e-4, atol=1e-3)
    assert not np.allclose(ours, scipy_log_density(actions, out, 6))
    one = random_outputs(rng, batch=3, action_shape=(6,), modes=1)
    _, _, sd1 = mix.mixture_params(one, 6, spread_cap=0.8)
    exact = (0.5 * np.log(2 * np.pi * np.e * sd1[..., 0] ** 2)).sum(-1)
    np.testing.assert_allclose(mix.entropy_upper_bound(tf.constant(one), 6, spread_cap=0.8).numpy(),
                               exact, rtol=1e-5)
    # the sampler draws with the capped spread (Kolmogorov-Smirnov against the scored normal)
    single = np.array([[[[0.0, 0.1, 0.5]]] * 6]).reshape(1, 6, 1, 3)
    sampler = mix.MixturePolicySampler(20_000, (6,), 1, 0.0, rng, spread_cap=0.8)
    sampler.refresh()
    samples = sampler.select(np.repeat(single, 20_000, axis=0))[:, 0].astype(np.float64)
    capped = 0.8 / (1 + np.exp(-0.5)) + mix.STD_FLOOR
    assert stats.kstest(samples, stats.norm(0.1, capped).cdf).pvalue > 1e-3
    assert stats.kstest(samples, stats.norm(0.1, capped / 4.8).cdf).pvalue < 1e-6


def test_log_prob_finite_for_extreme_outputs():
    out = np.array([[[[1e4, 50.0, -1e4], [-1e4, -50.0, 1e4], [0.0, 0.0, 80.0]]]], np.float32)
    actions = np.array([[5.0]], np.float32)  # far outside every mode
    with tf.GradientTape() as tape:
        x = tf.constant(out)
        tape.watch(x)
        lp = mix.log_prob(x, tf.constant(actions), 1)
    grad = tape.gradient(lp, x)
    assert np.all(np.isfinite(lp.numpy()))
    assert np.all(np.isfinite(grad.numpy()))
    weights, means, stds = mix.mixture_params(out * 1e3, 1)  # softmax of 1e7 must not overflow
    assert np.all(np.isfinite(weights)) and weights.sum() == pytest.approx(1.0)


def test_entropy_bound_is_at_least_monte_carlo_entropy():
    rng = np.random.default_rng(2)
    out = random_outputs(rng, batch=6, action_shape=(1,), modes=3, scale=1.0)
    bound = mix.entropy_upper_bound(tf.constant(out), 1).numpy()
    for row in range(len(out)):
        w, mu, sd = (a[0, 0] for a in mix.mixture_params(out[row:row + 1], 1))
        modes = rng.choice(3, size=200_000, p=w)
        samples = rng.normal(mu[modes], sd[modes])
        dens = (w * stats.norm.pdf(samples[:, None], mu, sd)).sum(-1)
        mc_entropy = -np.mean(np.log(dens))
        stderr = np.std(np.log(dens)) / math.sqrt(len(samples))
        assert bound[row] >= mc_entropy - 4 * stderr
    # one mode: the bound is the exact Gaussian entropy
    one = random_outputs(rng, batch=3, action_shape=(2,), modes=1)
    _, _, sd = mix.mixture_params(one, 2)
    exact = (0.5 * np.log(2 * np.pi * np.e * sd[..., 0] ** 2)).sum(-1)
    np.testing.assert_allclose(mix.entropy_upper_bound(tf.constant(one), 2).numpy(), exact, rtol=1e-5)


@pytest.mark.parametrize("persistence", [0.0, 0.5, 0.931])
def test_noise_refresh_rate_is_one_minus_persistence(persistence):
    rng = np.random.default_rng(3)
    sampler = mix.MixturePolicySampler(50, (2,), 3, persistence, rng)
    steps = 2000
    for _ in range(steps):
        sampler.refresh()
    rate = sampler.refreshes / (steps * 50)
    expected = 1 - persistence
    stderr = math.sqrt(expected * (1 - expected) / (steps * 50)) + 1e-12
    assert abs(rate - expected) < 5 * stderr


def test_persistent_noise_holds_actions_constant():
    rng = np.random.default_rng(4)
    sampler = mix.MixturePolicySampler(3, (2,), 2, 0.9, rng)
    out = random_outputs(rng, batch=3, action_shape=(2,), modes=2)
    actions = []
    for _ in range(400):
        sampler.refresh()
        actions.append(sampler.select(out))
    changes = np.mean([np.any(a != b) for a, b in zip(actions, actions[1:])])
    assert changes == pytest.approx(1 - 0.9 ** 3, abs=0.06)  # any of 3 actors refreshing


def test_samples_follow_the_scored_distribution():
    """Sampling and scoring use one distribution (the original's defect 1 broke this)."""
    rng = np.random.default_rng(5)
    out = random_outputs(rng, batch=1, action_shape=(1,), modes=3, scale=1.0)
    sampler = mix.MixturePolicySampler(20_000, (1,), 3, 0.0, rng)
    sampler.refresh()
    samples = sampler.select(np.repeat(out, 20_000, axis=0))[:, 0].astype(np.float64)
    w, mu, sd = (a[0, 0] for a in mix.mixture_params(out, 1))
    cdf = lambda x: (w * stats.norm.cdf(np.asarray(x)[..., None], mu, sd)).sum(-1)
    assert stats.kstest(samples, cdf).pvalue > 1e-3


def test_flip_spread_draws_with_the_originals_mirrored_spread():
    """The defect-1 experiment's sampler draws with sigmoid(-s) while log_prob scores sigmoid(+s)."""
    rng = np.random.default_rng(7)
    out = np.array([[[[0.0, 0.2, 1.5]]]])  # one coordinate, one mode, raw spread 1.5
    sampler = mix.MixturePolicySampler(20_000, (1,), 1, 0.0, rng, flip_spread=True)
    sampler.refresh()
    samples = sampler.select(np.repeat(out, 20_000, axis=0))[:, 0].astype(np.float64)
    drawn = 1 / (1 + np.exp(1.5)) + mix.STD_FLOOR   # sigmoid(-1.5): 0.18
    scored = mix.mixture_params(out, 1)[2][0, 0, 0]  # sigmoid(+1.5): 0.82
    assert scored == pytest.approx(1 / (1 + np.exp(-1.5)) + mix.STD_FLOOR)
    assert stats.kstest(samples, stats.norm(0.2, drawn).cdf).pvalue > 1e-3
    assert stats.kstest(samples, stats.norm(0.2, scored).cdf).pvalue < 1e-6


def test_greedy_picks_the_mean_of_the_most_probable_mode():
    rng = np.random.default_rng(6)
    out = random_outputs(rng, batch=5, action_shape=(2,), modes=3)
    sampler = mix.MixturePolicySampler(5, (2,), 3, 0.5, rng)
    w, mu, _ = mix.mixture_params(out, 2)
    expected = np.take_along_axis(mu, w.argmax(-1)[..., None], -1)[..., 0]
    for _ in range(5):
        sampler.refresh()
        np.testing.assert_allclose(sampler.select(out, temp=0), expected, rtol=1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan")])
def test_bad_persistence_is_refused(bad):
    with pytest.raises(ValueError, match="persistence"):
        mix.MixturePolicySampler(1, (1,), 1, bad, np.random.default_rng())


def test_hold_times():
    assert mix.expected_hold_time(0.95) == pytest.approx(20.0)
    assert mix.median_hold_time(0.5) == pytest.approx(1.0)


def test_tanh_squashed_means_match_scipy_and_keep_gradients():
    rng = np.random.default_rng(7)
    out = random_outputs(rng, batch=8, action_shape=(2,), modes=2, scale=1.5)
    actions = rng.uniform(-1, 1, size=(8, 2)).astype(np.float32)
    squashed = out.copy()
    squashed[..., 1] = np.tanh(out[..., 1])  # tanh(x) lies in [-1, 1]: the clip is then a no-op
    ours = mix.log_prob(tf.constant(out), tf.constant(actions), 2, squash=True).numpy()
    np.testing.assert_allclose(ours, scipy_log_density(actions, squashed, 2), rtol=1e-4, atol=1e-3)
    # a raw mean far past the edge still gets a gradient with tanh, none with the clip
    far = np.zeros((1, 1, 1, 3), np.float32)
    far[..., 1] = 3.0
    for squash, has_gradient in ((True, True), (False, False)):
        x = tf.constant(far)
        with tf.GradientTape() as tape:
            tape.watch(x)
            lp = mix.log_prob(x, tf.constant([[0.0]]), 1, squash=squash)
        assert (abs(float(tape.gradient(lp, x)[0, 0, 0, 1])) > 1e-6) == has_gradient


def test_density_floor_matches_the_original_formula():
    rng = np.random.default_rng(8)
    out = random_outputs(rng, batch=6, action_shape=(3,), modes=3, scale=1.0)
    actions = rng.uniform(-1.5, 1.5, size=(6, 3)).astype(np.float32)
    dens = mix.mixture_density(actions, out, 3)
    expected = np.log(dens + 1e-4).sum(-1)  # the original's log(sum_k w_k N_k + 1e-4)
    ours = mix.log_prob(tf.constant(out), tf.constant(actions), 3, floor=1e-4).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)
    far = mix.log_prob(tf.constant(out), tf.constant(actions + 50), 3, floor=1e-4).numpy()
    np.testing.assert_allclose(far, 3 * np.log(1e-4), rtol=1e-5)  # floored, finite


def test_persistent_random_actor_replays_the_originals_random_agent():
    """One actor: the same actions as the study's RandomAgent, written out here step by step
    (draw N(0, I) at the start; each step redraw if a uniform exceeds the persistence)."""
    actor = mix.PersistentRandomActor(1, (6,), 0.8, np.random.default_rng(11))
    actor.reset()
    ours = [actor.act()[0] for _ in range(300)]
    rng = np.random.default_rng(11)
    held = rng.normal(size=6)
    reference = []
    for _ in range(300):
        if rng.random() > 0.8:
            held = rng.normal(size=6)
        reference.append(np.clip(held, -1, 1))
    np.testing.assert_array_equal(np.array(ours), np.array(reference))
    assert np.abs(ours).max() == 1.0  # clipped to the action box


def test_persistent_random_actor_holds_each_action_for_a_geometric_time():
    p, n_actors, steps = 0.9, 200, 400
    actor = mix.PersistentRandomActor(n_actors, (2,), p, np.random.default_rng(12))
    actor.reset()
    history = np.array([actor.held.copy() for _ in range(steps) if actor.act() is not None])
    changes = np.any(np.diff(history, axis=0) != 0, axis=-1)  # (steps - 1, n_actors)
    rate, expected = changes.mean(), 1 - p
    assert abs(rate - expected) < 5 * math.sqrt(expected * p / changes.size)
    # the held actions are standard normal before clipping
    assert stats.kstest(history[::50].ravel(), "norm").pvalue > 1e-3
    with pytest.raises(RuntimeError, match="reset"):
        mix.PersistentRandomActor(1, (1,), p, np.random.default_rng()).act()
    with pytest.raises(ValueError, match="persistence"):
        mix.PersistentRandomActor(1, (1,), 1.0, np.random.default_rng())
