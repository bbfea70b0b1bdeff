"""The agent and the training loop: learning signals, validation, resuming."""


import numpy as np
import pytest
import tensorflow as tf

from course_rl import config as configs
from course_rl import results
from course_rl import policy as mix
from course_rl.agent import Agent
from course_rl.config import Config
from course_rl.returns import Trajectory
from course_rl.training import Checkpoint, Interrupted, stop_after, train

BANDIT = Config(name="bandit", task="cartpole", episodes=10, actor_count=1, hidden_sizes=(16,),
                n_modes=1, policy_lr=1e-2, value_lr=1e-2, discount=0.9, persistence=0.0,
                entropy_weight=0.0, minibatch_size=64, epochs=1)


def one_step_episodes(obs, actions, rewards):
    return [Trajectory(obs[i:i + 1], actions[i:i + 1], rewards[i:i + 1], truncated=False, final_obs=obs[i])
            for i in range(len(obs))]


def test_one_update_raises_log_prob_of_a_positive_advantage_action():
    cfg = BANDIT.replace(n_modes=3, policy_lr=1e-3, value_lr=1e-9, minibatch_size=1)
    agent = Agent(cfg, (2,), (2,), seed=1)
    obs = np.array([[0.3, -0.2]], np.float32)
    action = np.array([[0.4, -0.4]], np.float32)
    logp = lambda: float(mix.log_prob(agent.policy(obs), tf.constant(action), 2)[0])
    baseline = float(agent.values(obs)[0])
    before = logp()
    agent.update(one_step_episodes(obs, action, np.array([baseline + 1.0])))
    assert logp() > before
    # and a negative advantage lowers it
    before = logp()
    agent.update(one_step_episodes(obs, action, np.array([float(agent.values(obs)[0]) - 1.0])))
    assert logp() < before


def test_reinforce_solves_a_one_step_continuous_bandit():
    """Reward -(a - 0.6)^2: the greedy action must move to 0.6."""
    agent = Agent(BANDIT, (1,), (1,), seed=0)
    obs = np.ones((64, 1), np.float32)
    start = float(agent.act(obs[:1], agent.make_sampler(1), temp=0)[0, 0])
    for _ in range(250):
        sampler = agent.make_sampler(64)
        sampler.refresh()
        a = agent.act(obs, sampler)
        agent.update(one_step_episodes(obs, a, -(a[:, 0].astype(np.float64) - 0.6) ** 2))
    final = float(agent.act(obs[:1], agent.make_sampler(1), temp=0)[0, 0])
    assert abs(start - 0.6) > 0.2
    assert final == pytest.approx(0.6, abs=0.05)


def test_update_is_compiled_once():
    agent = Agent(BANDIT, (1,), (1,), seed=0)
    for n in (3, 70, 1100):  # 1, 2 and 18 minibatches of 64
        obs = np.ones((n, 1), np.float32)
        agent.update(one_step_episodes(obs, np.zeros((n, 1), np.float32), np.zeros(n)))
    assert [f.experimental_get_tracing_count() for f in agent._train.values()] == [1, 1]


@pytest.mark.parametrize("clip_ratio", [0.0, 0.2])
def test_clipped_surrogate_bounds_how_far_one_update_moves_the_policy(clip_ratio):
    """A hundred epochs on one positive-advantage action: the plain gradient
    drives its probability up several-fold, PPO's clip stops near 1 + eps (Adam's momentum
    carries it a little past)."""
    cfg = BANDIT.replace(n_modes=1, policy_lr=1e-3, value_lr=1e-9, minibatch_size=1, epochs=100,
                         gae_lambda=1.0, clip_ratio=clip_ratio)
    agent = Agent(cfg, (2,), (1,), seed=4)
    obs = np.array([[0.3, -0.2]], np.float32)
    action = np.array([[0.9]], np.float32)
    logp = lambda: float(mix.log_prob(agent.policy(obs), tf.constant(action), 1)[0])
    before = logp()
    agent.update(one_step_episodes(obs, action, np.array([float(agent.values(obs)[0]) + 1.0])))
    ratio = np.exp(logp() - before)
    if clip_ratio:
        assert 1.2 < ratio < 1.6
    else:
        assert ratio > 3.0


def test_capped_ratio_is_exp_in_range_and_finite_with_zero_push_beyond():
    from course_rl.agent import MAX_LOG_RATIO, capped_ratio
    log_ratio = np.array([-30.0, -1.0, 0.0, 0.5, 19.0, 90.0, 200.0])  # exp(90) overflows float32
    log_p = tf.Variable(log_ratio.astype(np.float32))
    with tf.GradientTape() as tape:
        ratio = capped_ratio(log_p, tf.zeros(7))
        total = tf.reduce_sum(ratio * -1.0)  # negative advantages: the unbounded side of PPO
    grad = tape.gradient(total, log_p).numpy()
    expected = np.exp(np.minimum(log_ratio, MAX_LOG_RATIO))  # float64 reference
    np.testing.assert_allclose(ratio.numpy(), expected, rtol=1e-5)
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.float32(90.0)))  # what the cap prevents
    np.testing.assert_allclose(grad[:5], -expected[:5], rtol=1e-5)  # d(-r)/dlog p = -r
    assert np.all(grad[5:] == 0)


def test_losses_match_numpy_references():
    """Each loss function of a minibatch against its formula, computed in float64 NumPy."""
    from course_rl.agent import normalized, policy_gradient_objective, value_loss
    rng = np.random.default_rng(0)
    values, targets = rng.normal(size=9), rng.normal(size=9)
    f32 = lambda x: tf.constant(x, tf.float32)
    assert float(value_loss(f32(values), f32(targets))) == pytest.approx(
        np.sum((targets - values) ** 2), rel=1e-5)
    advantages = rng.normal(2.0, 3.0, size=64)
    np.testing.assert_allclose(normalized(f32(advantages)).numpy(),
                               (advantages - advantages.mean()) / advantages.std(), rtol=1e-4, atol=1e-5)
    log_p = rng.normal(size=9)
    assert float(policy_gradient_objective(f32(log_p), f32(advantages[:9]))) == pytest.approx(
        np.sum(log_p * advantages[:9]), rel=1e-5)


def test_clipped_objective_and_its_gradient_match_the_definition():
    """PPO's surrogate sum min(r A, clip(r) A) and its gradient in log pi: r A where the
    unclipped term is the smaller, 0 where the clipped ratio is (beyond 1 +/- eps, pushed on)."""
    from course_rl.agent import clipped_objective
    log_ratio = np.array([-0.6, -0.3, -0.1, 0.0, 0.1, 0.3, 0.6] * 2)
    advantages = np.repeat([1.5, -0.7], 7)
    log_p = tf.Variable(log_ratio.astype(np.float32))
    with tf.GradientTape() as tape:
        objective = clipped_objective(log_p, tf.zeros(14), tf.constant(advantages, tf.float32), 0.2)
    grad = tape.gradient(objective, log_p).numpy()
    r = np.exp(log_ratio)
    unclipped, clipped = r * advantages, np.clip(r, 0.8, 1.2) * advantages
    assert float(objective) == pytest.approx(np.minimum(unclipped, clipped).sum(), rel=1e-5)
    np.testing.assert_allclose(grad, np.where(unclipped <= clipped, unclipped, 0.0), rtol=1e-5, atol=1e-7)
    # positive advantages lose their push above 1.2, negative ones below 0.8
    assert list(grad[:7] == 0) == [False] * 5 + [True] * 2
    assert list(grad[7:] == 0) == [True] * 2 + [False] * 5


@pytest.mark.parametrize("edge", [False, True])
def test_entropy_bonus_is_the_bound_minus_the_edge_penalty(edge):
    """Against the mixture's parameters from the NumPy side (policy.mixture_params)."""
    from course_rl.agent import entropy_bonus
    outputs = np.random.default_rng(1).normal(size=(5, 2, 3, 3)).astype(np.float32)  # 5 rows, 2 coords, K=3
    w, mu, sigma = mix.mixture_params(outputs.astype(np.float64), 2, squash=True, std_floor=1e-3)
    bound = np.sum(w * (0.5 * np.log(2 * np.pi * np.e * sigma ** 2) - np.log(w)))
    penalty = np.sum(w * mu ** 4) if edge else 0.0
    ours = float(entropy_bonus(tf.constant(outputs), 2, 1e-3, edge_penalty=edge, squash=True))
    assert ours == pytest.approx(bound - penalty, rel=1e-5)


def _collapsed_reinforce(std_floor=1e-4, raw_spread=-30.0, spread_cap=None):
    """A clipped-surrogate REINFORCE whose spreads sit on the floor, as the cheetah's did (or,
    with ``raw_spread=30``, on their cap)."""
    cfg = BANDIT.replace(n_modes=1, minibatch_size=8, gae_lambda=1.0, clip_ratio=0.2,
                         max_grad_norm=0.5, policy_lr=3e-4, std_floor=std_floor,
                         spread_cap=spread_cap)
    agent = Agent(cfg, (2,), (6,), seed=0)
    last = [layer for layer in agent.policy.layers if layer.get_weights()][-1]
    kernel, bias = last.get_weights()
    bias = bias.reshape(6, 1, 3)
    bias[..., 2] = raw_spread  # sigmoid(-30) ~ 1e-13: sigma = floor; sigmoid(30) = 1: the cap
    last.set_weights([kernel, bias.reshape(kernel.shape[-1:])])
    agent.fast_policy.update(agent.policy)
    return agent


def test_update_far_off_policy_stays_finite():
    """The first improved REINFORCE cheetah run went NaN when log pi - log pi_old reached ~100
    (exp overflowed). Feed the compiled update exactly that situation."""
    agent = _collapsed_reinforce()
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(1, 8, 2)).astype(np.float32)
    actions = rng.uniform(-0.5, 0.5, size=(1, 8, 6)).astype(np.float32)
    x = obs[0]
    log_p = agent._log_prob(x, actions[0])
    old = (log_p - 150.0)[None]  # the policy "was" e^150 times less likely to take these
    advantages = -np.ones((1, 8), np.float32)
    targets = np.zeros((1, 8), np.float32)
    agent._train[1](obs, actions, targets, advantages, old)
    assert all(np.isfinite(w).all() for w in agent.policy.get_weights())


def test_non_finite_weights_stop_training_with_a_clear_error():
    agent = Agent(BANDIT, (1,), (1,), seed=0)
    weights = agent.policy.get_weights()
    weights[0][0, 0] = np.nan
    agent.policy.set_weights(weights)
    obs = np.ones((4, 1), np.float32)
    with pytest.raises(FloatingPointError, match="non-finite .* policy network"):
        agent.update(one_step_episodes(obs, np.zeros((4, 1), np.float32), np.zeros(4)))


def _greedy_and_draws(agent, x, n=3000):
    """The agent's greedy action in state ``x`` (one row) and ``n`` actions it samples there."""
    sampler = agent.make_sampler(1)
    greedy = agent.act(x, sampler, temp=0)[0]
    draws = []
    for _ in range(n):
        sampler.refresh()
        draws.append(agent.act(x, sampler)[0])
    return greedy, np.array(draws, np.float64)


def test_std_floor_bounds_the_spread_the_agent_samples_and_scores_with():
    """With the spread's raw output at -30 every sigma equals the floor: samples around the
    greedy action have that standard deviation, and log_prob scores them with it."""
    from scipy import stats
    agent = _collapsed_reinforce(std_floor=0.02)
    x = np.zeros((1, 2), np.float32)
    greedy, draws = _greedy_and_draws(agent, x)
    assert np.std(draws - greedy, axis=0) == pytest.approx(np.full(6, 0.02), rel=0.1)
    a = draws[:5].astype(np.float32)
    expected = stats.norm.logpdf(a, greedy, 0.02).sum(-1)
    cfg = agent.config
    ours = mix.log_prob(agent.policy(np.repeat(x, 5, 0)), tf.constant(a), 6, cfg.squash_means,
                        0.0, cfg.std_floor).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-4)


@pytest.mark.parametrize("spread_cap, sigma", [(None, 1 / 6), (0.7, 0.7)])
def test_the_agent_samples_scores_and_reports_the_spread_cap(spread_cap, sigma):
    """With the spread's raw output at +30 every sigma sits on its cap (``Config.spread_cap``,
    by default 1 / action_dim): samples have it, log_prob scores with it, the update reports it."""
    from scipy import stats
    agent = _collapsed_reinforce(raw_spread=30.0, spread_cap=spread_cap)
    x = np.zeros((1, 2), np.float32)
    greedy, draws = _greedy_and_draws(agent, x)
    sigma += 1e-4  # the floor
    assert np.std(draws - greedy, axis=0) == pytest.approx(np.full(6, sigma), rel=0.1)
    a = np.clip(draws[:8], -1, 1).astype(np.float32)
    exact = stats.norm.logpdf(a, greedy, sigma).sum(-1)
    snapshot = agent._policy_snapshot(np.repeat(x, 8, 0), a)
    np.testing.assert_allclose(snapshot["exact_log_p"], exact, rtol=1e-4)
    episode = Trajectory(np.repeat(x, 8, 0), a, np.ones(8), False, x[0])
    assert agent.update([episode])["mean_spread"] == pytest.approx(sigma, rel=1e-5)


def test_gae_targets_are_monte_carlo_returns_at_lambda_one():
    """With gae_lambda = 1 the value targets are the Monte-Carlo returns, whatever the values."""
    agent = Agent(BANDIT.replace(gae_lambda=1.0, discount=0.5), (1,), (1,), seed=0)
    obs = np.arange(4, dtype=np.float32)[:, None]
    rewards = np.array([1.0, 0.0, 2.0, -1.0])
    episode = [Trajectory(obs, np.zeros((4, 1), np.float32), rewards, truncated=False, final_obs=obs[-1])]
    _, _, targets, advantages = agent.targets(episode)
    np.testing.assert_allclose(targets, [1.375, 0.75, 1.5, -1.0], rtol=1e-6)
    np.testing.assert_allclose(advantages, targets - agent.values(obs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("gae_lambda", [0.5, None])
def test_gae_agent_uses_the_pre_update_values(gae_lambda):
    """An update of several minibatches, twice: once with a value network that learns fast, once
    with one that hardly moves. With GAE the advantages come from the values before the update,
    so the policy ends up exactly the same; the original (gae_lambda None) takes each
    minibatch's advantages from the value network of the moment, so there it does not."""
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(24, 2)).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(24, 1)).astype(np.float32)
    rewards = rng.normal(size=24)
    episode = [Trajectory(obs, actions, rewards, truncated=True, final_obs=obs[-1])]
    policies = []
    for value_lr in (1e-1, 1e-9):
        cfg = BANDIT.replace(gae_lambda=gae_lambda, value_lr=value_lr, policy_lr=1e-2,
                             minibatch_size=8, epochs=3, hidden_sizes=(8,))
        agent = Agent(cfg, (2,), (1,), seed=3)
        before = agent.values(obs)
        agent.update(episode)
        if value_lr == 1e-1:
            assert np.abs(agent.values(obs) - before).max() > 0.1  # the values really moved
        policies.append(agent.policy_weights())
    same = all(np.array_equal(a, b) for a, b in zip(*policies))
    assert same == (gae_lambda is not None)


def test_numpy_acting_matches_keras():
    agent = Agent(BANDIT.replace(hidden_sizes=(8, 5), n_modes=2), (3,), (2,), seed=2)
    x = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    np.testing.assert_allclose(agent.fast_policy(x), agent.policy(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(agent.fast_value(x), agent.value(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("field,value,match", [
    ("persistence", 1.0, "persistence"), ("persistence", -0.1, "persistence"),
    ("entropy_weight", -0.01, "entropy_weight"), ("n_modes", 0, "n_modes"),
    ("policy_lr", 0.0, "policy_lr"), ("value_lr", -1e-3, "value_lr"),
    ("actor_count", 0, "actor_count"), ("task", "pendulum", "pendulum"),
    ("gae_lambda", 1.5, "gae_lambda"), ("clip_ratio", -0.2, "clip_ratio"),
    ("clip_ratio", 1.0, "clip_ratio"), ("std_floor", 0.0, "std_floor"),
    ("std_floor", 1.0, "std_floor"), ("spread_cap", 0.0, "spread_cap"),
    ("spread_cap", 1.5, "spread_cap"),
])
def test_bad_hyperparameters_are_refused(field, value, match):
    with pytest.raises(ValueError, match=match):
        BANDIT.replace(**{field: value})


# The original study's settings, read off its notebook (../shared/seed/000_ad98dc0a79ba04b7.txt)
# and typed in here, not copied from config.py. Per experiment, from its "test_<ALGO>_<task>"
# cell: AdvantageAgent(rng, actor_count, policy, value, t_max, discount, persistence,
# entropy_weight); Network(obs, FFANN_factory(hidden), learning rate, is_policy, shape, modes)
# for both networks; Simulation(agent, task, cycles). Section 2.2.1 REINFORCE cart-pole, 2.2.2
# REINFORCE cheetah, 2.3.1 A2C cart-pole, 2.3.2 A2C cheetah, 5.2.2.1 and 5.2.2.2 the same two
# cheetah agents on the VAE task.
SEED_NOTEBOOK = {
    # name: (task, actors, cycles, hidden sizes, modes, learning rate, discount, persistence,
    #        entropy weight)
    "reinforce-cartpole": ("cartpole", 1, 4000, (40, 20), 1, 1e-4, 0.95, 0.965, 0.0),
    "a2c-cartpole": ("cartpole", 25, 160, (40, 20), 3, 1e-4, 0.95, 0.965, 0.05),
    "reinforce-cheetah": ("cheetah", 1, 2500, (160, 80), 3, 1e-5, 0.99, 0.931, 0.0),
    "a2c-cheetah": ("cheetah", 10, 250, (160, 80), 3, 1e-5, 0.99, 0.931, 0.05),
    "reinforce-cheetah-pixels": ("cheetah_pixels", 1, 2500, (160, 80), 3, 1e-5, 0.99, 0.931, 0.0),
    "a2c-cheetah-pixels": ("cheetah_pixels", 10, 250, (160, 80), 3, 1e-5, 0.99, 0.931, 0.05),
}


@pytest.mark.parametrize("name", list(SEED_NOTEBOOK))
def test_original_configs_match_the_study(name):
    task, actors, cycles, hidden, modes, lr, gamma, persistence, beta = SEED_NOTEBOOK[name]
    c = configs.get(name)
    assert (c.task, c.actor_count, c.cycles, c.episodes) == (task, actors, cycles, actors * cycles)
    assert (c.hidden_sizes, c.n_modes, c.policy_lr, c.value_lr) == (hidden, modes, lr, lr)
    assert (c.discount, c.persistence, c.entropy_weight) == (gamma, persistence, beta)
    # t_max = 0 in every AdvantageAgent call: Monte-Carlo returns, no n-step bootstrap
    assert (c.n_steps, c.gae_lambda, c.bootstrap_truncated) == (0, None, False)
    # section 0.3, Simulation.run: "train for 16 epochs"; section 1.1, AdvantageAgent.__init__:
    # minibatch_size = 128; "+0.0001" under every spread and inside the log of every density
    assert (c.epochs, c.minibatch_size, c.std_floor, c.log_density_floor) == (16, 128, 1e-4, 1e-4)
    assert (c.clip_ratio, c.normalize_observations, c.normalize_advantages) == (0.0, False, False)
    # section 0.3, Simulation.evaluate: `for i in range(100)` greedy episodes, "every 50 training
    # episodes" (`n % (50 / actor_count)`) and once more at the end. The pixel runs evaluate every 250 episodes instead: the one
    # change of protocol config.py documents (every frame is rendered and encoded).
    every = 250 if task == "cheetah_pixels" else 50
    assert c.eval_episodes == 100
    assert c.eval_cycles == [n for n in range(cycles) if n % (every / actors) < 1]
    assert len(c.eval_cycles) + 1 == {"cartpole": 81, "cheetah": 51, "cheetah_pixels": 11}[task]


def test_unknown_experiment_is_refused():
    with pytest.raises(ValueError, match="no-such"):
        configs.get("no-such")


SHORT = Config(name="short", task="cartpole", episodes=12, actor_count=3, hidden_sizes=(8,),
               n_modes=2, policy_lr=1e-3, value_lr=1e-3, discount=0.95, persistence=0.9,
               entropy_weight=0.01, eval_every=6, eval_episodes=5)


def test_interrupted_run_resumes_to_the_same_trace(tmp_path):
    whole = train(SHORT, seed=3, out=tmp_path / "whole", progress=False)
    with pytest.raises(Interrupted, match="after 2 cycles"):
        train(SHORT, seed=3, out=tmp_path / "cut", progress=False, callback=stop_after(2))
    assert (tmp_path / "cut" / "checkpoint.npz").exists()
    assert not (tmp_path / "cut" / "trace.npz").exists()
    # the checkpoint restores an agent alone too (scripts/spread_probe.py looks inside runs so)
    agent = Agent(SHORT, (4,), (1,), seed=0)
    assert Checkpoint(tmp_path / "cut", SHORT, "pybullet", agent).restore() == 2
    state = results.load_checkpoint(tmp_path / "cut")
    for got, saved in zip(agent.policy.get_weights(), [state[f"agent/policy/w{i}"] for i in range(4)]):
        np.testing.assert_array_equal(got, saved)
    resumed = train(SHORT, seed=3, out=tmp_path / "cut", progress=False)
    assert not (tmp_path / "cut" / "checkpoint.npz").exists()
    for key in ("training_episode_returns", "eval_episode_returns", "value_rmse", "mean_objective",
                "best_eval_return", "env_steps"):
        np.testing.assert_array_equal(whole[key], resumed[key], err_msg=key)
    assert whole["eval_episode_returns"].shape == (3, 5)  # cycles 0 and 2, and the end
    # a finished run is loaded, not recomputed
    again = train(SHORT, seed=3, out=tmp_path / "cut", progress=False)
    assert again["wall_time"] == resumed["wall_time"]
    # another config in the same folder is refused
    with pytest.raises(ValueError, match="another config"):
        train(SHORT.replace(entropy_weight=0.02), seed=3, out=tmp_path / "cut", progress=False)


def test_a_crash_while_finishing_leaves_a_run_that_resumes(tmp_path, monkeypatch):
    """The trace is written last: a run folder without one is unfinished and resumes from its
    checkpoint to the same trace."""
    whole = train(SHORT, seed=2, progress=False)
    save_trace = results.save_trace

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(results, "save_trace", crash)
    with pytest.raises(OSError, match="disk full"):
        train(SHORT, seed=2, out=tmp_path, progress=False)
    assert results.finished_run(tmp_path, SHORT) is None
    assert (tmp_path / "checkpoint.npz").exists() and (tmp_path / "policy.weights.h5").exists()
    monkeypatch.setattr(results, "save_trace", save_trace)
    resumed = train(SHORT, seed=2, out=tmp_path, progress=False)
    for key in ("training_episode_returns", "eval_episode_returns", "value_rmse", "best_eval_return"):
        np.testing.assert_array_equal(whole[key], resumed[key], err_msg=key)
    assert not (tmp_path / "checkpoint.npz").exists()


def test_resuming_refuses_a_task_whose_observations_changed(tmp_path, monkeypatch):
    """A pixel run's checkpoint records its VAE; a run must not continue through another one."""
    import hashlib

    from course_rl import tasks, vae
    encoder = vae.shipped_paths()["encoder"].read_bytes()
    assert tasks.fingerprint("cheetah_pixels") == hashlib.sha256(encoder).hexdigest()[:16]
    assert tasks.fingerprint("cartpole") == ""
    monkeypatch.setattr(tasks, "fingerprint", lambda name: "0123456789abcdef")
    with pytest.raises(Interrupted):
        train(SHORT, seed=1, out=tmp_path, progress=False, callback=stop_after(1))
    monkeypatch.setattr(tasks, "fingerprint", lambda name: "fedcba9876543210")
    with pytest.raises(ValueError, match="another 'cartpole' task .*delete the run folder"):
        train(SHORT, seed=1, out=tmp_path, progress=False)


def test_a_run_records_its_task_version_and_backend():
    """Every trace says which version of its task made it, so statistics never mix versions."""
    from course_rl import tasks
    run = train(SHORT, seed=0, progress=False)
    assert str(run["task_version"]) == tasks.version("cartpole", "pybullet") == "cartpole/pybullet/v1"
    assert str(run["backend"]) == "pybullet"
    assert tasks.version("cheetah", "pybullet") == "cheetah/pybullet/v3"
    assert tasks.version("cheetah_pixels", "pybullet").startswith("cheetah_pixels/pybullet/v3+vae:")
