"""Exercises of chapter 3 (notebooks/03_reinforce.ipynb): returns, the loss, PPO's clip."""

from __future__ import annotations

import math

import numpy as np

from .core import Case, Exercise, Variant, nested_loop_depth, register


# ------------------------------------------------------------------------------------------------
# 3.1 Discounted returns without a loop over offsets
# ------------------------------------------------------------------------------------------------

def discounted_returns(rewards, gamma):
    """The discounted return to come of every step of one episode.

    rewards: shape (T,). Returns G_t = sum_{i >= 0} gamma^i r_{t+i} for t = 0 .. T-1, a float64
    array of shape (T,), without a Python loop over the offsets i (one pass over the steps).
    """
    from scipy.signal import lfilter
    rewards = np.asarray(rewards, dtype=np.float64)
    # the filter y_n = x_n + gamma * y_(n-1), run on the reversed rewards, is G_t = r_t + gamma G_(t+1)
    return lfilter([1.0], [1.0, -gamma], rewards[::-1])[::-1]


def _returns_cases(rng):
    cases = [Case("a random episode", {"rewards": rng.normal(size=int(rng.integers(5, 60))),
                                       "gamma": float(rng.uniform(0.8, 0.999))}) for _ in range(4)]
    cases += [Case("an episode of one step", {"rewards": np.array([2.0]), "gamma": 0.95}, edge=True),
              Case("the study's cart-pole reward, a fall at step 30",
                   {"rewards": np.r_[np.zeros(29), -1.0], "gamma": 0.95}, edge=True),
              Case("gamma = 1: plain sums", {"rewards": rng.normal(size=8), "gamma": 1.0}, edge=True),
              Case("gamma = 0: only the present reward", {"rewards": rng.normal(size=6), "gamma": 0.0},
                   edge=True, tags=frozenset({"powers"})),
              Case("rewards as a Python list", {"rewards": [1, 0, 0, 2], "gamma": 0.5}, edge=True),
              Case("a long episode, 1200 steps at gamma = 0.5",
                   {"rewards": rng.normal(size=1200), "gamma": 0.5}, edge=True, tags=frozenset({"powers"}))]
    return cases


def _forwards_in_time(rewards, gamma):
    from scipy.signal import lfilter
    return lfilter([1.0], [1.0, -gamma], np.asarray(rewards, dtype=np.float64))


def _powers_of_gamma(rewards, gamma):
    rewards = np.asarray(rewards, dtype=np.float64)
    powers = gamma ** np.arange(len(rewards), dtype=np.float64)
    return np.cumsum((powers * rewards)[::-1])[::-1] / powers


def _review_returns(fn):
    depth = nested_loop_depth(fn)
    if depth is not None and depth >= 2:
        return ("your function nests a loop inside a loop, so an episode of T steps costs about "
                "T^2 / 2 operations: half a million for 1000 steps. The recursion G_t = r_t + "
                "gamma G_(t+1) needs one pass, and scipy.signal.lfilter runs that pass in C.")
    return None


register(Exercise(
    id="discounted_returns", chapter=3, title="Discounted returns without a loop over offsets",
    question=(
        "Write `returns.discounted_returns` yourself: the return to come $G_t$ of every step of "
        "an episode, in float64, without summing the powers of $\\gamma$ again for every step "
        "(the double loop above costs $O(T^2)$)."),
    reference=discounted_returns, cases=_returns_cases, dtype="float64", rtol=1e-7, atol=1e-9,
    review=_review_returns,
    hint="run the recursion G_t = r_t + gamma * G_(t+1) backwards from the last step, in one "
         "loop or with scipy.signal.lfilter([1], [1, -gamma], rewards[::-1])[::-1].",
    fact=("With gamma = 0.99 a reward 69 steps ahead counts half (ln 0.5 / ln gamma), and a "
          "constant reward of 1 is worth 1 / (1 - gamma) = 100."),
    variants=(
        Variant("forwards_in_time", _forwards_in_time,
                "Your G_t adds up the rewards *before* step t: the recursion ran forwards in "
                "time. The return to come looks ahead, to the end of the episode.",
                "reverse the rewards, filter, and reverse the result back ([::-1] twice).",
                kind="reversed"),
        Variant("leaves_out_r_t",
                lambda rewards, gamma: discounted_returns(rewards, gamma) - np.asarray(rewards, np.float64),
                "Your G_t starts one step late: it leaves out r_t itself, the reward of the step "
                "the return belongs to.",
                "G_t = r_t + gamma * G_(t+1); the last step's return is its own reward.",
                kind="off-by-one"),
        Variant("discounted_from_the_start",
                lambda rewards, gamma: (float(gamma) ** np.arange(len(rewards))) * discounted_returns(rewards, gamma),
                "You discounted from the start of the episode (gamma^(t+i) instead of gamma^i): "
                "the discount of the return to come starts afresh at step t.",
                "the reward i steps after t weighs gamma^i, whatever t is.", kind="wrong power"),
        Variant("undiscounted", lambda rewards, gamma: np.cumsum(np.asarray(rewards, np.float64)[::-1])[::-1],
                "Your returns ignore gamma: they are plain sums of the rewards to come.",
                "weigh the reward i steps ahead by gamma^i.", kind="discount ignored"),
        Variant("powers_of_gamma", _powers_of_gamma,
                "Your returns are right on short episodes but inf or nan on long ones (or at "
                "gamma = 0): dividing by gamma^t underflows (0.5^1200 is 0 in float64) and 0 / 0 "
                "is nan. Vectorising with powers of gamma is not safe.",
                "use the recursion instead, backwards in one pass (or scipy.signal.lfilter).",
                kind="overflow", fails_on="powers"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 3.2 How far ahead the agent looks
# ------------------------------------------------------------------------------------------------

def half_life(gamma):
    """The number of steps after which a reward's discount weight gamma^h has halved.

    gamma: the discount, 0 < gamma < 1. Returns h with gamma^h = 0.5, a float.
    """
    return float(np.log(0.5) / np.log(gamma))


def _half_life_cases(rng):
    cases = [Case("the cart-pole's discount", {"gamma": 0.95}),
             Case("the half-cheetah's discount", {"gamma": 0.99})]
    cases += [Case("a random discount", {"gamma": float(rng.uniform(0.6, 0.999))}) for _ in range(3)]
    cases += [Case("gamma = 0.5: one step", {"gamma": 0.5}, edge=True),
              Case("a small discount", {"gamma": 0.1}, edge=True)]
    return cases


register(Exercise(
    id="half_life", chapter=3, title="How far ahead the agent looks",
    question=(
        "A reward $h$ steps ahead weighs $\\gamma^h$. After how many steps has that weight "
        "halved? (The original text gave 62.5 steps for $\\gamma = 0.99$.)"),
    reference=half_life, cases=_half_life_cases,
    hint="solve gamma^h = 0.5 for h: take logarithms of both sides.",
    fact=("gamma = 0.99 gives 69.0 steps and 0.95 gives 13.5; the original text's 62.5 for 0.99 "
          "was a slip (defect 7, in the prose only)."),
    variants=(
        Variant("the_horizon", lambda gamma: 1.0 / (1.0 - gamma),
                "That is the horizon 1 / (1 - gamma), the return of a constant reward of 1 (20 "
                "steps for 0.95), not the half-life.",
                "the half-life solves gamma^h = 0.5.", kind="wrong quantity"),
        Variant("first_order_approximation", lambda gamma: math.log(2.0) / (1.0 - gamma),
                "You used the approximation ln 2 / (1 - gamma): close for gamma near 1 (69.3 "
                "instead of 69.0 at 0.99) but 13.9 instead of 13.5 at 0.95, and far off for "
                "small discounts.",
                "use ln(gamma) itself, not its approximation -(1 - gamma).", kind="approximation"),
        Variant("negative", lambda gamma: math.log(2.0) / math.log(gamma),
                "Your half-life is negative: ln 2 > 0 and ln gamma < 0.",
                "h = ln 0.5 / ln gamma, both logarithms negative.", kind="sign"),
        Variant("half_the_horizon", lambda gamma: 0.5 / (1.0 - gamma),
                "That is half the horizon, 0.5 / (1 - gamma): the weights gamma^h do not fall "
                "linearly, so halving the horizon does not halve the weight.",
                "solve gamma^h = 0.5 for h.", kind="wrong quantity"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 3.3 REINFORCE's loss, and the stop-gradient
# ------------------------------------------------------------------------------------------------

def policy_loss(log_p, returns, values):
    """REINFORCE's policy loss for one minibatch, in TensorFlow.

    log_p: the log-probabilities ln pi(a_t | s_t) of the actions taken, shape (n,), output of the
    policy network. returns: the returns G_t, shape (n,). values: the value network's V(s_t),
    shape (n,), also differentiable. Returns the scalar loss the optimiser minimises: minus the
    sum over the minibatch of ln pi(a_t | s_t) * A_t, with the advantage A_t = G_t - V(s_t) a
    constant weight that no gradient flows through.
    """
    import tensorflow as tf
    advantage = tf.stop_gradient(returns - values)   # a weight for the policy, not a path to V
    return -tf.reduce_sum(log_p * advantage)


def _loss_and_gradients(fn, inputs):
    """Call ``fn`` on differentiable inputs; observe the loss and its two gradients."""
    from course_rl.quiet_tf import tf
    log_p = tf.Variable(np.asarray(inputs["log_p"], np.float32))
    values = tf.Variable(np.asarray(inputs["values"], np.float32))
    returns = tf.constant(np.asarray(inputs["returns"], np.float32))
    with tf.GradientTape() as tape:
        loss = fn(log_p, returns, values)
    if loss is None:
        return None
    grads = tape.gradient(loss, [log_p, values]) if tf.is_tensor(loss) else [None, None]
    grads = [np.zeros(v.shape, np.float32) if g is None else g.numpy() for g, v in zip(grads, (log_p, values))]
    return np.asarray(loss), grads[0], grads[1]


def _loss_cases(rng):
    def case(n, label, same=False, edge=False):
        returns = rng.normal(-0.5, 0.5, n)
        return Case(label, {"log_p": rng.normal(-1.0, 1.0, n), "returns": returns,
                            "values": returns.copy() if same else rng.normal(-0.5, 0.5, n)}, edge=edge)
    return ([case(int(rng.integers(3, 13)), "a random minibatch") for _ in range(4)]
            + [case(1, "a minibatch of one sample", edge=True),
               case(5, "a critic that predicts every return exactly (advantages 0)", same=True, edge=True)])


def _no_stop_gradient(log_p, returns, values):
    from course_rl.quiet_tf import tf
    return -tf.reduce_sum(log_p * (returns - values))


def _objective_not_loss(log_p, returns, values):
    from course_rl.quiet_tf import tf
    return tf.reduce_sum(log_p * tf.stop_gradient(returns - values))


def _no_baseline(log_p, returns, values):
    from course_rl.quiet_tf import tf
    return -tf.reduce_sum(log_p * returns)


def _mean_not_sum(log_p, returns, values):
    from course_rl.quiet_tf import tf
    return -tf.reduce_mean(log_p * tf.stop_gradient(returns - values))


def _left_tensorflow(log_p, returns, values):
    return float(-np.sum(log_p.numpy() * (returns.numpy() - values.numpy())))


register(Exercise(
    id="policy_loss", chapter=3, title="REINFORCE's loss, and the stop-gradient",
    question=(
        "Write the policy loss of one minibatch as `Agent._train_minibatches` does for the "
        "original runs: the negative of $\\sum \\ln\\pi(a\\mid s)\\,A$ with $A = G - V(s)$. "
        "The check differentiates your loss with respect to both `log_p` and `values`."),
    reference=policy_loss, cases=_loss_cases, call=_loss_and_gradients,
    parts=("loss", "gradient with respect to log_p", "gradient with respect to values"),
    rtol=1e-4, atol=1e-5,
    hint="advantage = tf.stop_gradient(returns - values); loss = -tf.reduce_sum(log_p * advantage).",
    fact=("The loss's value says little (it mixes log-densities and advantages); its gradient, "
          "-sum A grad ln pi, is the policy-gradient estimate of section 1, and the "
          "stop-gradient keeps the critic out of it."),
    variants=(
        Variant("no_stop_gradient", _no_stop_gradient,
                "Your loss has the right value, but its gradient reaches the value network: "
                "without a stop-gradient the policy loss would also move V(s), to make the "
                "advantages of likely actions larger. The advantage must be a constant weight.",
                "wrap it: tf.stop_gradient(returns - values).", kind="stop-gradient"),
        Variant("objective_not_loss", _objective_not_loss,
                "Your loss has the opposite sign: you return the objective (or use V - G as the "
                "advantage). Keras optimisers minimise, so this would make the actions that did "
                "better than expected less likely.",
                "return minus the sum of log_p * (G - V).", kind="sign"),
        Variant("no_baseline", _no_baseline,
                "You weight the log-probabilities by the returns alone, without the baseline "
                "V(s). The estimate stays unbiased but is much noisier (section 1), and on the "
                "cart-pole, where every return is <= 0, it pushes every action down.",
                "the advantage is returns - values.", kind="missing baseline"),
        Variant("mean_not_sum", _mean_not_sum,
                "You average over the minibatch; the course sums, as the original did, so that "
                "its learning rates mean what the study's meant (a mean divides every step by "
                "the minibatch size).",
                "tf.reduce_sum, not tf.reduce_mean.", kind="reduction"),
        Variant("left_tensorflow", _left_tensorflow,
                "Your loss is a plain number: it left TensorFlow (.numpy(), float() or a NumPy "
                "function), so the GradientTape cannot differentiate it and training would not "
                "move at all.",
                "use TensorFlow operations from the inputs to the loss (tf.reduce_sum, "
                "tf.stop_gradient).", kind="no gradient"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 3.4 PPO's clipped objective for one sample
# ------------------------------------------------------------------------------------------------

def ppo_objective(log_p, old_log_p, advantage, clip=0.2):
    """PPO's clipped surrogate objective of one sample.

    log_p: ln pi(a | s) under the policy being updated; old_log_p: under the policy that played
    the episode; advantage: A; clip: epsilon. With the ratio r = pi / pi_old, returns
    min(r A, clip(r, 1 - epsilon, 1 + epsilon) A), a float. It must be finite when both
    log-probabilities are very negative (-800, say).
    """
    ratio = np.exp(log_p - old_log_p)    # exp of the difference: no 0 / 0 for tiny probabilities
    kept = np.clip(ratio, 1.0 - clip, 1.0 + clip)
    return float(np.minimum(ratio * advantage, kept * advantage))


def _ppo_cases(rng):
    def case(log_p, old, advantage, label, clip=0.2, edge=True, tags=frozenset()):
        return Case(label, {"log_p": log_p, "old_log_p": old, "advantage": advantage, "clip": clip},
                    edge=edge, tags=tags)
    cases = [case(float(rng.uniform(-3, 0.5)), float(rng.uniform(-3, 0.5)), float(rng.normal()),
                  "a random sample", edge=False) for _ in range(4)]
    log15, log05 = math.log(1.5), math.log(0.5)
    cases += [case(-1.0, -1.0, 1.0, "an unchanged policy (ratio 1)"),
              case(log15 - 2, -2.0, 1.0, "ratio 1.5, positive advantage"),
              case(log15 - 2, -2.0, -1.0, "ratio 1.5, negative advantage"),
              case(log05 - 2, -2.0, 1.0, "ratio 0.5, positive advantage"),
              case(log05 - 2, -2.0, -1.0, "ratio 0.5, negative advantage"),
              case(-0.5, -0.7, 0.0, "advantage 0"),
              case(log15 - 2, -2.0, 2.0, "ratio 1.5, clip 0.1", clip=0.1),
              case(-800.0, -801.0, 1.0, "two tiny probabilities (log-probabilities -800 and -801)",
                   tags=frozenset({"tiny"}))]
    return cases


def _separate_exps(log_p, old_log_p, advantage, clip=0.2):
    ratio = np.exp(log_p) / np.exp(old_log_p)
    return float(np.minimum(ratio * advantage, np.clip(ratio, 1 - clip, 1 + clip) * advantage))


def _ratio(log_p, old_log_p):
    return np.exp(log_p - old_log_p)


register(Exercise(
    id="ppo_objective", chapter=3, title="PPO's clipped objective for one sample",
    question=(
        "Write the clipped surrogate of the improved variants for one sample, from the two "
        "log-probabilities and the advantage: $\\min(rA,\\ \\mathrm{clip}(r, 1-\\epsilon, "
        "1+\\epsilon)A)$ with $r = \\pi/\\pi_\\text{old}$."),
    reference=ppo_objective, cases=_ppo_cases,
    exception_hints=((r"division by zero",
                      "both probabilities underflowed to 0 (math.exp(-800) is 0.0) before the "
                      "division: take one exponential of the difference, exp(log_p - old_log_p)."),),
    hint="r = exp(log_p - old_log_p); the objective is the smaller of r * A and "
         "clip(r, 1 - clip, 1 + clip) * A.",
    fact=("At r = 1 its gradient is that of ln pi * A, the plain objective; once r leaves "
          "[0.8, 1.2] in the direction A favours, the sample stops pushing. The package also caps "
          "the log-ratio at 20 before exp, after a real overflow (chapter 5)."),
    variants=(
        Variant("ratio_of_two_exps", _separate_exps,
                "Your objective is nan for two tiny probabilities: exp(-800) underflows to 0, "
                "and 0 / 0 is nan. Log-probabilities that low are real once a policy narrows.",
                "take one exponential of the difference: exp(log_p - old_log_p).",
                kind="underflow", fails_on="tiny"),
        Variant("max_not_min",
                lambda log_p, old_log_p, advantage, clip=0.2: float(np.maximum(
                    _ratio(log_p, old_log_p) * advantage,
                    np.clip(_ratio(log_p, old_log_p), 1 - clip, 1 + clip) * advantage)),
                "You take the larger of the two terms: PPO takes the smaller, a pessimistic "
                "bound, so that the clip can only remove an incentive, never add one.",
                "np.minimum(r * A, clip(r) * A).", kind="min for max"),
        Variant("clipped_term_only",
                lambda log_p, old_log_p, advantage, clip=0.2: float(
                    np.clip(_ratio(log_p, old_log_p), 1 - clip, 1 + clip) * advantage),
                "You use only the clipped term. Where the update made an action with a negative "
                "advantage more likely (r > 1.2), the unclipped term r * A is lower, and the "
                "minimum keeps it so that the mistake is corrected.",
                "the minimum of r * A and clip(r) * A.", kind="missing min"),
        Variant("no_clip",
                lambda log_p, old_log_p, advantage, clip=0.2: float(_ratio(log_p, old_log_p) * advantage),
                "You return r * A without the clip: the importance-weighted objective, which "
                "keeps pushing a sample however far its ratio has moved.",
                "also compute clip(r, 1 - clip, 1 + clip) * A and take the minimum.",
                kind="missing clip"),
        Variant("ratio_upside_down",
                lambda log_p, old_log_p, advantage, clip=0.2: ppo_objective(old_log_p, log_p, advantage, clip),
                "Your ratio is upside down, pi_old / pi: r is the new policy's probability over "
                "the old one's.",
                "r = exp(log_p - old_log_p).", kind="inverted"),
        Variant("log_ratio_as_ratio",
                lambda log_p, old_log_p, advantage, clip=0.2: float(np.minimum(
                    (log_p - old_log_p) * advantage,
                    np.clip(log_p - old_log_p, 1 - clip, 1 + clip) * advantage)),
                "You used the log-ratio log_p - old_log_p as the ratio: r = exp of it, which is "
                "1 (not 0) when the policy has not changed.",
                "r = np.exp(log_p - old_log_p).", kind="missing exp"),
    ),
))
