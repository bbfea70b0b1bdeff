"""Per-cycle diagnostics of an update and the learning knobs, against independent computations:
numerical integration for the KL, brute-force counts for the clip fraction, a separate gradient
tape for the gradient norms, NumPy for the explained variance and the reward scale."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from course_rl import policy as mix
from course_rl import results
from course_rl.agent import DIAGNOSTICS, Agent, approx_kl, clip_fraction, explained_variance, \
    policy_gradient_objective, value_loss
from course_rl.config import Config
from course_rl.returns import Trajectory, discounted_returns
from course_rl.training import Interrupted, stop_after, train

SMALL = Config(name="small", task="cartpole", episodes=10, actor_count=1, hidden_sizes=(16,),
               n_modes=2, policy_lr=1e-2, value_lr=1e-2, discount=0.9, persistence=0.0,
               entropy_weight=0.0, minibatch_size=16, epochs=1)


def episodes_of(obs, actions, rewards):
    """One episode of all samples (ending for real)."""
    return [Trajectory(obs, actions, np.asarray(rewards, np.float64), truncated=False,
                       final_obs=obs[-1])]


def random_case(agent, n, seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n,) + agent.obs_shape).astype(np.float32)
    sampler = agent.make_sampler(n)
    sampler.refresh()
    actions = agent.act(obs, sampler)
    return obs, actions, rng.normal(size=n)


# ---- the estimators ----------------------------------------------------------------------------

def _mixture_kl_by_quadrature(outputs_p, outputs_q, action_dim):
    """KL(p || q) of two per-coordinate mixtures (one row), integrated on a fine grid: the
    coordinates are independent, so the KL is the sum of the coordinates' KLs."""
    grid = np.linspace(-3, 3, 120001)
    step = grid[1] - grid[0]
    total = 0.0
    wp, mp, sp = mix.mixture_params(outputs_p, action_dim)
    wq, mq, sq = mix.mixture_params(outputs_q, action_dim)
    for i in range(action_dim):
        p = sum(w * stats.norm.pdf(grid, m, s) for w, m, s in zip(wp[0, i], mp[0, i], sp[0, i]))
        q = sum(w * stats.norm.pdf(grid, m, s) for w, m, s in zip(wq[0, i], mq[0, i], sq[0, i]))
        keep = p > 1e-300
        total += np.sum(p[keep] * (np.log(p[keep]) - np.log(q[keep]))) * step
    return total


def test_approx_kl_of_two_known_mixtures_matches_the_integral():
    """Samples of one mixture, scored by the package's log-density under it and under another:
    the k3 estimate agrees with the KL integrated numerically (within 4 standard errors)."""
    rng = np.random.default_rng(3)
    old = rng.normal(0, 0.8, size=(1, 2, 3, 3))  # 2 coordinates, 3 modes
    new = old + rng.normal(0, 0.3, size=old.shape)
    n = 200_000
    sampler = mix.MixturePolicySampler(n, (2,), 3, 0.0, rng)
    sampler.refresh()
    actions = sampler.select(np.repeat(old, n, 0))
    log_old = mix.log_prob(tf.constant(np.repeat(old, n, 0), tf.float32), actions, 2).numpy()
    log_new = mix.log_prob(tf.constant(np.repeat(new, n, 0), tf.float32), actions, 2).numpy()
    exact = _mixture_kl_by_quadrature(old, new, 2)
    log_r = log_new.astype(np.float64) - log_old
    standard_error = np.std(np.expm1(log_r) - log_r) / np.sqrt(n)
    assert 0.01 < exact < 1.0
    assert approx_kl(log_new, log_old) == pytest.approx(exact, abs=4 * standard_error)
    assert approx_kl(log_old, log_old) == 0.0


def test_clip_fraction_counts_ratios_outside_the_band():
    rng = np.random.default_rng(0)
    log_old, log_new = rng.normal(size=500), rng.normal(size=500) * 0.2
    count = 0
    for new, old in zip(log_new, log_old):  # brute force, one sample at a time
        ratio = np.exp(new) / np.exp(old)
        count += ratio < 0.8 or ratio > 1.2
    assert clip_fraction(log_new, log_old, 0.2) == count / 500
    assert clip_fraction(log_old, log_old, 0.2) == 0.0


def test_explained_variance_of_known_critics():
    rng = np.random.default_rng(1)
    targets = rng.normal(3.0, 2.0, size=1000)
    noise = rng.normal(size=1000)
    assert explained_variance(targets, targets) == 1.0
    assert explained_variance(targets, np.full(1000, targets.mean())) == pytest.approx(0.0, abs=1e-12)
    by_hand = 1 - np.sum((noise - noise.mean()) ** 2) / np.sum((targets - targets.mean()) ** 2)
    assert explained_variance(targets, targets - noise) == pytest.approx(by_hand, rel=1e-12)
    assert np.isnan(explained_variance(np.ones(5), np.zeros(5)))


# ---- what an update reports --------------------------------------------------------------------

def _gradient_norms(agent, obs, actions, rewards):
    """Global norms of the first minibatch's gradients, from a tape of our own."""
    cfg = agent.config
    x = agent.preprocess(obs)
    _, _, targets, _ = agent.targets(episodes_of(obs, actions, rewards))
    with tf.GradientTape(persistent=True) as tape:
        values = agent.value(x, training=True)[:, 0]
        loss_v = value_loss(values, targets)
        log_p = mix.log_prob(agent.policy(x, training=True), actions, agent.action_dim,
                             cfg.squash_means, cfg.log_density_floor, cfg.std_floor)
        objective = policy_gradient_objective(log_p, tf.stop_gradient(targets - values))
    return (float(tf.linalg.global_norm(tape.gradient(objective, agent.policy.trainable_variables))),
            float(tf.linalg.global_norm(tape.gradient(loss_v, agent.value.trainable_variables))))


@pytest.mark.parametrize("max_grad_norm", [0.0, 0.5])
def test_gradient_norms_before_clipping_match_a_separate_tape(max_grad_norm):
    cfg = SMALL.replace(max_grad_norm=max_grad_norm)
    agent = Agent(cfg, (3,), (2,), seed=0)
    obs, actions, rewards = random_case(agent, 16)  # one minibatch, one epoch: one step
    policy_norm, value_norm = _gradient_norms(agent, obs, actions, rewards)
    report = agent.update(episodes_of(obs, actions, rewards))
    assert policy_norm > 0.5 and value_norm > 0.5  # so that clipping was at work
    assert report["policy_grad_norm"] == pytest.approx(policy_norm, rel=1e-4)
    assert report["value_grad_norm"] == pytest.approx(value_norm, rel=1e-4)


def test_mean_loss_divides_the_gradient_by_the_minibatch_size():
    obs = rewards = actions = None
    norms = {}
    for reduction in ("sum", "mean"):
        agent = Agent(SMALL.replace(loss_reduction=reduction), (3,), (2,), seed=0)
        if obs is None:
            obs, actions, rewards = random_case(agent, 16)
        norms[reduction] = agent.update(episodes_of(obs, actions, rewards))
    for key in ("policy_grad_norm", "value_grad_norm"):
        assert norms["sum"][key] / norms["mean"][key] == pytest.approx(16, rel=1e-5)
    # the recorded losses are per sample either way
    assert norms["sum"]["value_rmse"] == pytest.approx(norms["mean"]["value_rmse"], rel=1e-6)


def test_update_reports_kl_clip_fraction_and_explained_variance_of_its_samples():
    """Against the pre- and post-update policy scored in NumPy (mixture_density) and a brute
    force count, and the critic's explained variance computed by hand."""
    cfg = SMALL.replace(epochs=4, gae_lambda=0.9, clip_ratio=0.1, policy_lr=3e-2)
    agent = Agent(cfg, (3,), (2,), seed=1)
    obs, actions, rewards = random_case(agent, 40, seed=2)
    episodes = episodes_of(obs, actions, rewards)
    _, _, targets, _ = agent.targets(episodes)
    values = agent.values(obs)
    x = agent.preprocess(obs)

    def log_densities(floor):
        density = mix.mixture_density(actions, agent.fast_policy(x), 2, cfg.squash_means, cfg.std_floor)
        return np.log(density + floor).sum(axis=-1)

    exact_before, floored_before = log_densities(0.0), log_densities(cfg.log_density_floor)
    report = agent.update(episodes)
    exact_after, floored_after = log_densities(0.0), log_densities(cfg.log_density_floor)
    r = np.exp(exact_after - exact_before)
    assert report["approx_kl"] == pytest.approx(np.mean(r - 1 - np.log(r)), rel=1e-3)
    assert report["approx_kl"] > 1e-4
    outside = sum(abs(np.exp(a - b) - 1) > 0.1 for a, b in zip(floored_after, floored_before))
    assert 0 < outside < 40
    assert report["clip_fraction"] == outside / 40
    residual = targets.astype(np.float64) - values
    assert report["explained_variance"] == pytest.approx(
        1 - np.var(residual) / np.var(targets.astype(np.float64)), rel=1e-5)
    assert report["epochs_run"] == 4


def test_spread_and_entropy_of_a_collapsed_policy_are_the_floor():
    """Spreads pinned at the floor (raw spread -30): the mean spread is the floor and the
    entropy bound that of 6 Gaussians of that spread (one mode)."""
    cfg = SMALL.replace(n_modes=1, std_floor=0.02)
    agent = Agent(cfg, (2,), (6,), seed=0)
    last = [layer for layer in agent.policy.layers if layer.get_weights()][-1]
    kernel, bias = last.get_weights()
    bias = bias.reshape(6, 1, 3)
    bias[..., 2] = -30.0
    last.set_weights([np.zeros_like(kernel), bias.reshape(-1)])
    agent.fast_policy.update(agent.policy)
    obs, actions, rewards = random_case(agent, 16)
    report = agent.update(episodes_of(obs, actions, rewards))
    assert report["mean_spread"] == pytest.approx(0.02, rel=1e-6)
    assert report["entropy_bound"] == pytest.approx(6 * stats.norm(0, 0.02).entropy(), rel=1e-5)


# ---- the knobs ---------------------------------------------------------------------------------

def test_annealed_learning_rate_falls_linearly_over_the_cycles():
    cfg = SMALL.replace(lr_anneal=True, episodes=4, value_lr=1e-3)
    agent = Agent(cfg, (3,), (2,), seed=0)
    obs, actions, rewards = random_case(agent, 16)
    seen = []
    for cycle in range(cfg.cycles):
        agent.update(episodes_of(obs, actions, rewards), cycle)
        seen.append((float(agent.policy_opt.learning_rate), float(agent.value_opt.learning_rate)))
    np.testing.assert_allclose(seen, [(1e-2 * f, 1e-3 * f) for f in (1, 0.75, 0.5, 0.25)], rtol=1e-6)
    # without the knob the rate stays put
    plain = Agent(SMALL, (3,), (2,), seed=0)
    plain.update(episodes_of(obs, actions, rewards), 3)
    assert float(plain.policy_opt.learning_rate) == pytest.approx(1e-2)


@pytest.mark.parametrize("target_kl, epochs_run", [(None, 8), (1e-9, 1), (1e9, 8)])
def test_target_kl_stops_the_epochs_early(target_kl, epochs_run):
    cfg = SMALL.replace(epochs=8, target_kl=target_kl, gae_lambda=1.0, clip_ratio=0.2)
    agent = Agent(cfg, (3,), (2,), seed=0)
    obs, actions, rewards = random_case(agent, 40)
    report = agent.update(episodes_of(obs, actions, rewards))
    assert report["epochs_run"] == epochs_run
    if target_kl == 1e-9:
        assert report["approx_kl"] > 1e-9  # it stopped because the first epoch passed it


def test_scaled_rewards_divide_the_targets_by_the_std_of_the_running_return():
    cfg = SMALL.replace(scale_rewards=True, discount=0.8)
    agent = Agent(cfg, (3,), (2,), seed=0)
    plain = Agent(SMALL.replace(discount=0.8), (3,), (2,), seed=0)
    rng = np.random.default_rng(4)
    batches = [[Trajectory(np.zeros((n, 3), np.float32), np.zeros((n, 2), np.float32),
                           rng.normal(2.0, 1.0, size=n), truncated=False,
                           final_obs=np.zeros(3, np.float32)) for n in (7, 12)] for _ in range(2)]
    running = []
    for episodes in batches:
        for e in episodes:  # R_t = 0.8 R_{t-1} + r_t, restarting with each episode
            total = 0.0
            for r in e.rewards:
                total = 0.8 * total + r
                running.append(total)
        _, _, scaled, _ = agent.targets(episodes)
        _, _, unscaled, _ = plain.targets(episodes)
        np.testing.assert_allclose(scaled, unscaled / np.std(running), rtol=1e-3)


# ---- the trace ---------------------------------------------------------------------------------

RUN = Config(name="short", task="cartpole", episodes=12, actor_count=3, hidden_sizes=(8,),
             n_modes=2, policy_lr=1e-3, value_lr=1e-3, discount=0.95, persistence=0.9,
             entropy_weight=0.01, eval_every=6, eval_episodes=5)


def test_a_run_records_every_diagnostic_per_cycle_and_resumes_older_checkpoints(tmp_path):
    whole = train(RUN, seed=3, progress=False)
    for key in DIAGNOSTICS:
        assert key in results.TRACE_KEYS
        assert whole[key].shape == (RUN.cycles,) and np.isfinite(whole[key]).all(), key
    # a checkpoint written before the diagnostics existed resumes, with NaN for its cycles
    with pytest.raises(Interrupted):
        train(RUN, seed=3, out=tmp_path, progress=False, callback=stop_after(2))
    state = results.load_checkpoint(tmp_path)
    results.save_checkpoint(tmp_path, {k: v for k, v in state.items() if k not in DIAGNOSTICS})
    resumed = train(RUN, seed=3, out=tmp_path, progress=False)
    np.testing.assert_array_equal(resumed["value_rmse"], whole["value_rmse"])
    for key in DIAGNOSTICS:
        assert np.isnan(resumed[key][:2]).all()
        np.testing.assert_array_equal(resumed[key][2:], whole[key][2:])


@pytest.mark.parametrize("field, value", [
    ("loss_reduction", "median"), ("lr_anneal", 1), ("target_kl", 0.0), ("target_kl", float("inf")),
    ("scale_rewards", "yes")])
def test_bad_knobs_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        SMALL.replace(**{field: value})


def test_stable_variants_are_the_improved_configs_plus_a_kl_limit_and_annealing():
    """... and, for REINFORCE (one actor when improved), five episodes per update and spreads
    floored at 0.1 (the REINFORCE cheetah's improved variant already has that floor)."""
    from course_rl import config as configs
    for improved, stable in zip(configs.IMPROVED, configs.STABLE):
        reinforce = improved.actor_count == 1
        assert stable.name == improved.name.replace("-improved", "-stable")
        assert configs.get(stable.name) is stable
        assert stable.replace(name=improved.name, description=improved.description, target_kl=None,
                              lr_anneal=False, actor_count=improved.actor_count,
                              std_floor=improved.std_floor) == improved
        assert (stable.target_kl, stable.lr_anneal) == (0.02, True)
        assert stable.actor_count == (5 if reinforce else improved.actor_count)
        assert stable.std_floor == (0.1 if reinforce else improved.std_floor)
        assert stable.episodes == improved.episodes
        assert ("spreads floored at 0.1" in stable.description) == (reinforce or improved.std_floor == 0.1)
    assert all(c.target_kl is None for c in configs.ORIGINAL + configs.IMPROVED)


def test_the_wide_variant_is_the_stable_cheetah_with_white_noise_of_spread_up_to_one():
    """a2c-cheetah-stable-wide changes exploration only, and is compared with the original study's
    a2c-cheetah (its name carries two variant suffixes)."""
    from course_rl import config as configs, stats
    wide, stable = configs.get("a2c-cheetah-stable-wide"), configs.get("a2c-cheetah-stable")
    assert configs.differences(wide, stable) == {"persistence": (0.931, 0.0),
                                                 "spread_cap": (None, 1.0)}
    assert configs.parent(wide.name) is stable
    assert stats._original_of(wide.name, "pybullet") == "a2c-cheetah"
    assert stats._original_of(wide.name, "mujoco") is None


def test_the_wide_ablation_undoes_one_thing_of_the_wide_variant_each():
    from course_rl import config as configs
    wide = configs.get("a2c-cheetah-stable-wide")
    expected = {"held-noise": {"persistence": (0.0, 0.931)},
                "one-mode": {"n_modes": (3, 1)},
                "no-entropy-bonus": {"entropy_weight": (0.05, 0.0)}}
    ablations = {c.name: c for c in configs.wide_ablation_configs()}
    assert set(ablations) == {f"a2c-cheetah-stable-wide-ablation-{k}" for k in expected}
    for key, diff in expected.items():
        config = configs.get(f"a2c-cheetah-stable-wide-ablation-{key}")
        assert configs.differences(config, wide) == diff
        assert configs.parent(config.name) is wide
        assert config.algorithm == "PPO-clip"
