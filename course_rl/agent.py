"""The advantage actor-critic agent: REINFORCE and A2C are this one agent with other settings.

* REINFORCE: one actor, Monte-Carlo returns, a learned baseline, no entropy bonus.
* A2C: several actors in lockstep, an entropy bonus, optionally n-step bootstrapped targets.

After each cycle of episodes the agent makes ``epochs`` passes over the cycle's samples in
minibatches, maximising the policy objective ``sum(log pi(a|s) * A + beta * H(s))`` and
minimising the value loss ``sum(A^2)`` with ``A = G - V(s)``, as the original study did.
``Config.loss_reduction = "mean"`` divides both by the minibatch size instead (CleanRL, SB3).
Each term is a small function of one minibatch's tensors (``value_loss``,
``policy_gradient_objective``, ``normalized``, ``clipped_objective``, ``entropy_bonus``);
``Agent.policy_objective`` puts the policy's terms together as the config asks, and
``Agent._train_minibatches`` is the compiled loop that applies their gradients.

Every update also reports what it did (``DIAGNOSTICS``, recorded per cycle in the trace): how
far the policy moved (approximate KL, clip fraction), how good the critic was (explained
variance), how much it explores (entropy bound, mean spread) and how large the gradients were
before clipping. They are computed outside the compiled update, from the cycle's samples.

Acting goes through a ``NumpyPolicy``: observation scaling, the NumPy copy of the policy
network and the mixture's greedy or sampled action (``video.load_policy`` builds one too).

Speed: all passes of a cycle run in one compiled TensorFlow call (a ``tf.function`` with a fixed
input signature, so it is traced once per agent); acting runs in NumPy on weights copied after
the update.

Taught in notebooks/03_reinforce.ipynb and notebooks/04_a2c.ipynb.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from . import policy as mix
from .config import Config
from .networks import NumpyMLP, policy_network, value_network
from .returns import Trajectory, gae_advantages, n_step_targets

CHUNK = 16  # minibatches per compiled call
MAX_LOG_RATIO = 20.0  # cap on log(pi / pi_old) in the clipped surrogate (see ``capped_ratio``)


# ---- the losses: pure functions of one minibatch's tensors (TensorFlow) ------------------------

def value_loss(values, targets):
    """The critic's loss: squared errors ``(G - V(s))^2``, summed over the minibatch.

    Summed, not averaged, as the original study did: the step size then grows with the
    minibatch (``Config.loss_reduction = "mean"`` divides by it in the update loop).
    Taught in notebooks/03_reinforce.ipynb.
    """
    from .quiet_tf import tf
    return tf.reduce_sum(tf.square(targets - values))


def normalized(advantages):
    """Advantages standardised over the minibatch: mean 0, standard deviation 1.

    Taught in notebooks/03_reinforce.ipynb.
    """
    from .quiet_tf import tf
    mean, var = tf.nn.moments(advantages, axes=[0])
    return (advantages - mean) / (tf.sqrt(var) + 1e-8)


def policy_gradient_objective(log_p, advantages):
    """REINFORCE's objective ``sum log pi(a|s) * A``: its gradient is the policy gradient.

    ``advantages`` are constants here (no gradient flows into the critic through them).
    Taught in notebooks/03_reinforce.ipynb.
    """
    from .quiet_tf import tf
    return tf.reduce_sum(log_p * advantages)


def capped_ratio(log_p, old_log_p):
    """PPO's probability ratio ``pi / pi_old = exp(log_p - old_log_p)``, overflow-free.

    The log-ratio is capped at ``MAX_LOG_RATIO`` (a ratio of 5e8) before ``exp``. Inside the
    clipped surrogate this changes nothing for a positive advantage (past ``1 + clip`` the
    sample gives no gradient anyway); for a negative one, a sample whose probability grew more
    than e^20-fold within one update gets no further push instead of an infinite one. Without
    the cap, a policy whose spreads had collapsed (sigma ~ 1e-3) moved log-probabilities by
    60+ nats in one Adam step, ``exp`` overflowed float32, and the weights became NaN
    (reinforce-cheetah-improved, first run; tests/test_agent.py reproduces the overflow).
    """
    from .quiet_tf import tf
    return tf.exp(tf.minimum(log_p - old_log_p, MAX_LOG_RATIO))


def clipped_objective(log_p, old_log_p, advantages, clip_ratio: float):
    """PPO's clipped surrogate ``sum min(r A, clip(r, 1 - eps, 1 + eps) A)`` (Schulman et al.
    2017), with ``r = pi(a|s) / pi_old(a|s)`` and ``eps = clip_ratio``.

    At ``r = 1`` its gradient is the policy gradient's; a sample whose ratio has left
    ``[1 - eps, 1 + eps]`` in the direction its advantage favours gives no gradient, so later
    epochs over the same samples cannot push it further. Taught in notebooks/03_reinforce.ipynb.
    """
    from .quiet_tf import tf
    ratio = capped_ratio(log_p, old_log_p)
    kept = tf.clip_by_value(ratio, 1 - clip_ratio, 1 + clip_ratio)
    return tf.reduce_sum(tf.minimum(ratio * advantages, kept * advantages))


def entropy_bonus(outputs, action_dim: int, std_floor: float, edge_penalty: bool = False,
                  squash: bool = False, spread_cap: float | None = None):
    """The entropy bonus ``sum H_bound(s) - sum_k w_k mu_k^4`` of a minibatch, before its weight.

    ``H_bound`` is the mixture's entropy upper bound (``policy.entropy_upper_bound``); with
    ``edge_penalty`` the original's penalty on means near the clipped edges is subtracted
    (``policy.edge_penalty``). Taught in notebooks/04_a2c.ipynb.
    """
    from .quiet_tf import tf
    bonus = mix.entropy_upper_bound(outputs, action_dim, std_floor, spread_cap)
    if edge_penalty:
        bonus -= mix.edge_penalty(outputs, squash)
    return tf.reduce_sum(bonus)


# ---- diagnostics: what an update did, from the cycle's samples (NumPy, outside the update) ----

DIAGNOSTICS = ("approx_kl", "clip_fraction", "explained_variance", "entropy_bound", "mean_spread",
               "policy_grad_norm", "value_grad_norm", "epochs_run")
"""Per-cycle diagnostics ``Agent.update`` reports beside ``value_rmse`` and ``mean_objective``
(their meaning: ``results.TRACE_KEYS``)."""

DIAGNOSTIC_CLIP = 0.2  # the clip fraction of a config without clipping: "would be clipped at 0.2"


def approx_kl(log_p_new, log_p_old) -> float:
    """``KL(pi_old || pi_new)`` estimated on samples drawn from ``pi_old``: the mean of
    ``(r - 1) - ln r`` with ``r = pi_new / pi_old`` (Schulman's "k3" estimator: unbiased, and
    every term is >= 0, unlike the plain mean of ``-ln r``). Float64."""
    log_r = np.asarray(log_p_new, np.float64) - np.asarray(log_p_old, np.float64)
    return float(np.mean(np.expm1(log_r) - log_r))


def clip_fraction(log_p_new, log_p_old, clip_ratio: float) -> float:
    """Fraction of samples whose ratio ``r = pi_new / pi_old`` lies outside
    ``[1 - clip_ratio, 1 + clip_ratio]``."""
    ratio = np.exp(np.asarray(log_p_new, np.float64) - np.asarray(log_p_old, np.float64))
    return float(np.mean(np.abs(ratio - 1.0) > clip_ratio))


def explained_variance(targets, values) -> float:
    """``1 - Var(targets - values) / Var(targets)``: 1 for a perfect critic, 0 for one no better
    than a constant, negative for a worse one; NaN when the targets do not vary."""
    targets, values = np.asarray(targets, np.float64), np.asarray(values, np.float64)
    spread = np.var(targets)
    return float(1.0 - np.var(targets - values) / spread) if spread > 0 else float("nan")


# ---- observation scaling ----------------------------------------------------------------------

def scale_of(mean, var):
    """``(shift, factor)`` of ``standardize`` from a mean and a variance (float32)."""
    mean, var = np.asarray(mean, np.float64), np.asarray(var, np.float64)
    return mean.astype(np.float32), (1.0 / np.sqrt(var + 1e-8)).astype(np.float32)


def standardize(obs: np.ndarray, shift: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``(obs - shift) * factor``, clipped to +/-10: how a normalising agent's networks see obs."""
    return np.clip((obs - shift) * factor, -10.0, 10.0)


class RunningNormalizer:
    """Running mean and variance of observations (Chan et al.'s parallel update)."""

    def __init__(self, shape):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = 1e-4

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, np.float64).reshape((-1,) + self.mean.shape)
        n = batch.shape[0]
        if n == 0:
            return
        mean, var = batch.mean(axis=0), batch.var(axis=0)
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + var * n + delta ** 2 * self.count * n / total) / total
        self.count = total

    def scale(self):
        """``(shift, factor)`` such that ``(obs - shift) * factor`` is standardised (float32)."""
        return scale_of(self.mean, self.var)


class NumpyPolicy:
    """The policy as actors use it: observation scaling, the NumPy copy of the policy network,
    and the mixture's greedy action or a sampler's draw (no TensorFlow call).

    The agent acts through one while it trains (``Agent.actor``, refreshed after every update);
    ``video.load_policy`` builds one from a finished run's best weights.

    Parameters
    ----------
    network : networks.NumpyMLP
        The policy network's NumPy copy.
    config : Config
        The run's config (mean squashing, and the sampler ``make_sampler`` builds).
    action_shape : tuple
        Shape of one action.
    scale : (shift, factor) or None
        Observation scaling (``standardize``), for runs with ``normalize_observations``.
    """

    def __init__(self, network: NumpyMLP, config: Config, action_shape, scale=None):
        self.network = network
        self.config = config
        self.action_shape = tuple(action_shape)
        self.action_dim = int(np.prod(self.action_shape))
        self.scale = scale

    def preprocess(self, obs: np.ndarray) -> np.ndarray:
        """Observations as the network sees them: float32, standardised if the run was."""
        obs = np.asarray(obs, dtype=np.float32)
        if self.scale is None:
            return obs
        shift, factor = self.scale
        return standardize(obs, shift, factor)

    def outputs(self, obs: np.ndarray) -> np.ndarray:
        """Raw network outputs ``(n,) + action_shape + (K, 3)`` for a batch of observations."""
        return self.network(self.preprocess(obs))

    def make_sampler(self, n_actors: int, rng: np.random.Generator) -> mix.MixturePolicySampler:
        """Persistent exploration noise for ``n_actors`` actors, drawn from ``rng``."""
        return mix.MixturePolicySampler.for_config(self.config, n_actors, self.action_shape, rng)

    def act(self, obs: np.ndarray, sampler: mix.MixturePolicySampler | None = None,
            temp: float = 1.0, rows=slice(None)) -> np.ndarray:
        """Actions for a batch of raw observations: greedy (the mean of the most probable mode)
        if ``temp == 0``, else drawn with ``sampler``'s noise for the actors ``rows``."""
        outputs = self.outputs(obs)
        if temp == 0:
            return mix.greedy_actions(outputs, self.action_dim, self.config.squash_means)
        return sampler.select(outputs, temp, rows)


class Agent:
    """An actor-critic agent built from a ``Config``.

    Parameters
    ----------
    config : Config
        Hyperparameters (see ``course_rl.config.Config``).
    obs_shape, action_shape : tuple
        Shapes of one observation and one action.
    seed : int
        Seeds the network initialisation, the exploration noise and the minibatch order.
    """

    def __init__(self, config: Config, obs_shape, action_shape, seed: int = 0):
        from .quiet_tf import keras
        from .quiet_tf import tf

        self.config = config
        self.obs_shape = tuple(obs_shape)
        self.action_shape = tuple(action_shape)
        self.action_dim = int(np.prod(self.action_shape))
        self.rng = np.random.default_rng(seed)
        keras.utils.set_random_seed(int(seed) % 2**31)

        self.policy = policy_network(self.obs_shape, self.action_shape, config.n_modes,
                                     config.hidden_sizes, config.hidden_init)
        self.value = value_network(self.obs_shape, config.hidden_sizes, config.hidden_init)
        self.policy_opt = keras.optimizers.Adam(config.policy_lr)
        self.value_opt = keras.optimizers.Adam(config.value_lr)
        self.policy_opt.build(self.policy.trainable_variables)
        self.value_opt.build(self.value.trainable_variables)
        self.normalizer = RunningNormalizer(self.obs_shape) if config.normalize_observations else None
        self.return_normalizer = RunningNormalizer(()) if config.scale_rewards else None

        self.fast_policy = NumpyMLP(self.policy)
        self.fast_value = NumpyMLP(self.value)
        # until the first update, a normalising agent's scaling only clips at +/-10
        scale = (np.zeros(self.obs_shape, np.float32), np.ones(self.obs_shape, np.float32)) \
            if self.normalizer is not None else None
        self.actor = NumpyPolicy(self.fast_policy, config, self.action_shape, scale)

        # XLA compiles for fixed shapes only: one function for a chunk of CHUNK minibatches and
        # one for a single minibatch, so any number of minibatches reuses two compilations.
        self._train = {}
        for chunk in (CHUNK, 1):
            mb = config.minibatch_size
            self._train[chunk] = tf.function(
                self._train_minibatches, jit_compile=True,
                input_signature=[tf.TensorSpec((chunk, mb) + self.obs_shape, tf.float32),
                                 tf.TensorSpec((chunk, mb) + self.action_shape, tf.float32)]
                + [tf.TensorSpec((chunk, mb), tf.float32)] * 3)

    # ---- acting (NumPy) -------------------------------------------------------------------------
    def preprocess(self, obs: np.ndarray) -> np.ndarray:
        """Observations as the networks see them (standardised if configured)."""
        return self.actor.preprocess(obs)

    def make_sampler(self, n_actors: int) -> mix.MixturePolicySampler:
        """Persistent exploration noise for ``n_actors`` actors."""
        return self.actor.make_sampler(n_actors, self.rng)

    def act(self, obs: np.ndarray, sampler: mix.MixturePolicySampler, temp: float = 1.0,
            rows=slice(None)) -> np.ndarray:
        """Actions for a batch of raw observations (one row per actor in ``rows``).

        ``temp == 0`` acts greedily and needs no sampler."""
        return self.actor.act(obs, sampler, temp, rows)

    def values(self, obs: np.ndarray) -> np.ndarray:
        """V(s) for a batch of raw observations (NumPy)."""
        return self.fast_value(self.preprocess(obs))[:, 0]

    # ---- learning (TensorFlow) ------------------------------------------------------------------
    def targets(self, episodes: list[Trajectory]):
        """Stack a cycle's episodes into (observations, actions, value targets, advantages).

        Targets are Monte-Carlo returns or n-step bootstrapped ones; with ``gae_lambda`` set
        they are lambda-returns and the advantages are GAE(lambda), both from the value network
        before this cycle's update (otherwise the advantages are zeros: the minibatches compute
        them). Float64 math, float32 results.
        """
        cfg = self.config
        all_targets, all_advantages = [], []
        reward_factor = self._reward_factor(episodes) if cfg.scale_rewards else 1.0
        for episode in episodes:
            rewards = episode.rewards * reward_factor if cfg.scale_rewards else episode.rewards
            final_value = 0.0
            if episode.truncated and cfg.bootstrap_truncated:
                final_value = float(self.values(np.asarray(episode.final_obs)[None])[0])
            if cfg.gae_lambda is not None:
                values = self.values(episode.obs)
                advantages = gae_advantages(rewards, values, cfg.discount, cfg.gae_lambda,
                                            final_value)
                all_targets.append(advantages + values)
                all_advantages.append(advantages)
            else:
                values = self.values(episode.obs) if 0 < cfg.n_steps < len(rewards) else None
                all_targets.append(n_step_targets(rewards, cfg.discount, cfg.n_steps, values,
                                                  final_value))
                all_advantages.append(np.zeros(len(rewards)))
        return tuple(np.concatenate(part).astype(np.float32)
                     for part in ([e.obs for e in episodes], [e.actions for e in episodes],
                                  all_targets, all_advantages))

    def _reward_factor(self, episodes: list[Trajectory]) -> float:
        """``1 / std`` of the discounted return so far (``scale_rewards``), this cycle included.

        As Stable-Baselines3's ``VecNormalize``: the running return ``R_t = discount * R_{t-1}
        + r_t`` (restarting with each episode) feeds a running variance; rewards are divided by
        its standard deviation, not centred (a shift would change which states look good)."""
        discount = self.config.discount
        running = [lfilter([1.0], [1.0, -discount], np.asarray(e.rewards, np.float64))
                   for e in episodes]
        self.return_normalizer.update(np.concatenate(running))
        return float(1.0 / np.sqrt(self.return_normalizer.var + 1e-8))

    def minibatch_indices(self, n_samples: int) -> np.ndarray:
        """``epochs`` shuffled passes over ``n_samples``, cut into full minibatches.

        The last minibatch is topped up with random samples, so every sample is used ``epochs``
        times (a few once more) and every minibatch has the same size (one compiled shape).
        """
        cfg = self.config
        order = np.concatenate([self.rng.permutation(n_samples) for _ in range(cfg.epochs)])
        short = -len(order) % cfg.minibatch_size
        if short:
            order = np.concatenate([order, self.rng.integers(n_samples, size=short)])
        return order.reshape(-1, cfg.minibatch_size).astype(np.int32)

    def update(self, episodes: list[Trajectory], cycle: int | None = None) -> dict:
        """Learn from one cycle's episodes (cycle number ``cycle`` of the run, for
        ``lr_anneal``); returns ``value_rmse`` and ``mean_objective`` (per sample) and the
        ``DIAGNOSTICS``, as floats keyed by their trace names."""
        cfg = self.config
        if cfg.lr_anneal and cycle is not None:
            self.set_learning_rates(1.0 - cycle / cfg.cycles)
        obs, actions, targets, advantages = self.targets(episodes)
        values_before = self.values(obs)  # (the critic's diagnostic, before the update)
        if self.normalizer is not None:
            # the statistics move only between cycles, so acting and learning see one scaling
            self.normalizer.update(obs)
            self.actor.scale = self.normalizer.scale()
        x = self.preprocess(obs)
        before = self._policy_snapshot(x, actions)
        old_log_p = np.zeros(len(obs), np.float32)
        if cfg.clip_ratio > 0:  # the policy before this update, for PPO's ratio
            old_log_p = before["log_p"]
        index = self.minibatch_indices(len(obs))
        batches = [part[index] for part in (x, actions, targets, advantages, old_log_p)]
        if cfg.target_kl is None:
            totals, epochs_run = self._train_chunked(batches), cfg.epochs
        else:  # one epoch's share of the minibatches at a time, then a look at the KL
            totals, epochs_run = np.zeros(5), 0
            for rows in np.array_split(np.arange(len(index)), cfg.epochs):
                totals += self._train_chunked([b[rows] for b in batches])
                epochs_run += 1
                after = self._policy_snapshot(x, actions)
                if approx_kl(after["exact_log_p"], before["exact_log_p"]) > cfg.target_kl:
                    break
        self._check_finite()
        self.fast_policy.update(self.policy)
        self.fast_value.update(self.value)
        total_objective, total_value_loss, policy_norms, value_norms, steps = totals
        used = steps * cfg.minibatch_size
        after = self._policy_snapshot(x, actions)
        weights, _, stds = mix.mixture_params(before["outputs"], self.action_dim,
                                              cfg.squash_means, cfg.std_floor, cfg.spread_cap)
        return {
            "value_rmse": float(np.sqrt(total_value_loss / used)),
            "mean_objective": float(total_objective / used),
            "approx_kl": approx_kl(after["exact_log_p"], before["exact_log_p"]),
            "clip_fraction": clip_fraction(after["log_p"], before["log_p"],
                                           cfg.clip_ratio or DIAGNOSTIC_CLIP),
            "explained_variance": explained_variance(targets, values_before),
            "entropy_bound": float(np.mean(mix.entropy_upper_bound(
                before["outputs"], self.action_dim, cfg.std_floor, cfg.spread_cap))),
            "mean_spread": float(np.mean(np.sum(weights * stds, axis=-1))),
            "policy_grad_norm": float(policy_norms / steps),
            "value_grad_norm": float(value_norms / steps),
            "epochs_run": float(epochs_run),
        }

    def set_learning_rates(self, fraction: float) -> None:
        """Both optimisers at ``fraction`` of the config's learning rates (``lr_anneal``)."""
        self.policy_opt.learning_rate.assign(self.config.policy_lr * fraction)
        self.value_opt.learning_rate.assign(self.config.value_lr * fraction)

    def _policy_snapshot(self, x: np.ndarray, actions: np.ndarray) -> dict:
        """The policy network's outputs on preprocessed observations ``x``, the log-probability
        of ``actions`` as the surrogate scores them (``log_p``: with the config's
        ``log_density_floor``) and their exact log-density (``exact_log_p``, for the KL)."""
        cfg = self.config
        out = self.policy(x, training=False)
        log_p = mix.log_prob(out, actions, self.action_dim, cfg.squash_means,
                             cfg.log_density_floor, cfg.std_floor, cfg.spread_cap)
        exact = mix.log_prob(out, actions, self.action_dim, cfg.squash_means, 0.0, cfg.std_floor,
                             cfg.spread_cap)
        return {"outputs": np.asarray(out), "log_p": np.asarray(log_p, np.float32),
                "exact_log_p": np.asarray(exact, np.float64)}

    def _train_chunked(self, batches) -> np.ndarray:
        """All minibatches (``batches[j][i]`` is part ``j`` of minibatch ``i``) through the two
        compiled functions, CHUNK at a time; returns the sums over minibatches of the objective,
        the value loss, the policy and value gradient norms, and the number of minibatches."""
        totals = np.zeros(5)
        start, n = 0, len(batches[0])
        while start < n:
            chunk = CHUNK if n - start >= CHUNK else 1
            part = slice(start, start + chunk)
            sums = self._train[chunk](*(b[part] for b in batches))
            totals[:4] += [float(v) for v in sums]
            totals[4] += chunk
            start += chunk
        return totals

    def _check_finite(self) -> None:
        """Stop with a clear error if an update left a NaN or inf in either network."""
        for name, model in (("policy", self.policy), ("value", self.value)):
            if not all(np.isfinite(w).all() for w in model.get_weights()):
                raise FloatingPointError(
                    f"the last update left non-finite (NaN or inf) weights in the {name} network; "
                    "this run cannot continue. Its last checkpoint (if any) is kept; try a smaller "
                    "learning rate, a larger std_floor or an entropy bonus")

    def _log_prob(self, x: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """log pi(a|s) under the current policy network, for preprocessed observations."""
        return self._policy_snapshot(x, actions)["log_p"]

    def policy_objective(self, s, a, advantages, old_log_p):
        """The policy objective of one minibatch, as the config composes it (TensorFlow).

        The plain policy gradient or PPO's clipped surrogate (``clip_ratio > 0``), plus the
        entropy bonus (``entropy_weight > 0``); each term is one of the functions above.
        """
        cfg = self.config
        out = self.policy(s, training=True)
        log_p = mix.log_prob(out, a, self.action_dim, cfg.squash_means, cfg.log_density_floor,
                             cfg.std_floor, cfg.spread_cap)
        if cfg.clip_ratio > 0:
            objective = clipped_objective(log_p, old_log_p, advantages, cfg.clip_ratio)
        else:
            objective = policy_gradient_objective(log_p, advantages)
        if cfg.entropy_weight > 0:
            objective += cfg.entropy_weight * entropy_bonus(out, self.action_dim, cfg.std_floor,
                                                            cfg.edge_penalty, cfg.squash_means,
                                                            cfg.spread_cap)
        return objective

    def _train_minibatches(self, obs, actions, targets, advantages, old_log_p):
        """Gradient steps on minibatches ``obs[i], actions[i], ...``, one after another.

        The plumbing around ``value_loss`` and ``policy_objective``: tapes, the loss reduction,
        gradient clipping and the optimisers, in a loop that XLA compiles. ``advantages`` and
        ``old_log_p`` are used only with ``gae_lambda`` and ``clip_ratio``. Returns the sums over
        the minibatches of the objective and the value loss (both summed over samples) and of
        the two gradients' global norms before clipping.
        """
        from .quiet_tf import tf
        cfg = self.config
        policy_vars = self.policy.trainable_variables
        value_vars = self.value.trainable_variables

        def clip(grads):
            """The gradients clipped as configured, and their global norm before clipping."""
            if cfg.max_grad_norm > 0:
                return tf.clip_by_global_norm(grads, cfg.max_grad_norm)
            return grads, tf.linalg.global_norm(grads)

        def reduce(loss):  # a minibatch's summed loss, or its mean over the minibatch
            return loss / cfg.minibatch_size if cfg.loss_reduction == "mean" else loss

        total_objective = tf.constant(0.0)
        total_value_loss = tf.constant(0.0)
        policy_norms = tf.constant(0.0)
        value_norms = tf.constant(0.0)
        for i in tf.range(tf.shape(obs)[0]):
            s, a, g = obs[i], actions[i], targets[i]
            with tf.GradientTape() as value_tape:
                values = self.value(s, training=True)[:, 0]
                loss_v = value_loss(values, g)
                reduced_v = reduce(loss_v)
            value_grads = value_tape.gradient(reduced_v, value_vars)
            # without GAE the advantage is the error of the value network of the moment
            advantage = advantages[i] if cfg.gae_lambda is not None else \
                tf.stop_gradient(g - values)
            if cfg.normalize_advantages:
                advantage = normalized(advantage)
            with tf.GradientTape() as policy_tape:
                objective = self.policy_objective(s, a, advantage, old_log_p[i])
                loss = -reduce(objective)  # optimisers minimise
            policy_grads, policy_norm = clip(policy_tape.gradient(loss, policy_vars))
            value_grads, value_norm = clip(value_grads)
            self.policy_opt.apply_gradients(zip(policy_grads, policy_vars))
            self.value_opt.apply_gradients(zip(value_grads, value_vars))
            total_objective += objective
            total_value_loss += loss_v
            policy_norms += policy_norm
            value_norms += value_norm
        return total_objective, total_value_loss, policy_norms, value_norms

    # ---- state for checkpoints ----------------------------------------------------------------
    def get_state(self) -> dict:
        """Everything that determines future behaviour, as plain arrays (for checkpoints)."""
        state = {}
        for prefix, model in (("policy", self.policy), ("value", self.value)):
            for i, w in enumerate(model.get_weights()):
                state[f"{prefix}/w{i}"] = np.asarray(w)
        for prefix, opt in (("policy_opt", self.policy_opt), ("value_opt", self.value_opt)):
            for i, v in enumerate(opt.variables):
                state[f"{prefix}/v{i}"] = np.asarray(v)
        if self.normalizer is not None:
            state["normalizer/mean"] = self.normalizer.mean
            state["normalizer/var"] = self.normalizer.var
            state["normalizer/count"] = np.asarray(self.normalizer.count)
        if self.return_normalizer is not None:
            state["return_normalizer/mean"] = self.return_normalizer.mean
            state["return_normalizer/var"] = self.return_normalizer.var
            state["return_normalizer/count"] = np.asarray(self.return_normalizer.count)
        return state

    def set_state(self, state: dict) -> None:
        for prefix, model in (("policy", self.policy), ("value", self.value)):
            n = len(model.get_weights())
            model.set_weights([state[f"{prefix}/w{i}"] for i in range(n)])
        for prefix, opt in (("policy_opt", self.policy_opt), ("value_opt", self.value_opt)):
            for i, v in enumerate(opt.variables):
                v.assign(state[f"{prefix}/v{i}"])
        if self.normalizer is not None:
            self.normalizer.mean = np.asarray(state["normalizer/mean"], np.float64)
            self.normalizer.var = np.asarray(state["normalizer/var"], np.float64)
            self.normalizer.count = float(state["normalizer/count"])
            self.actor.scale = self.normalizer.scale()
        if self.return_normalizer is not None:
            self.return_normalizer.mean = np.asarray(state["return_normalizer/mean"], np.float64)
            self.return_normalizer.var = np.asarray(state["return_normalizer/var"], np.float64)
            self.return_normalizer.count = float(state["return_normalizer/count"])
        self.fast_policy.update(self.policy)
        self.fast_value.update(self.value)

    def policy_weights(self) -> list[np.ndarray]:
        return [np.asarray(w) for w in self.policy.get_weights()]
