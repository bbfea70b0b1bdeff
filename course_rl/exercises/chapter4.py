"""Exercises of chapter 4 (notebooks/04_a2c.ipynb): the entropy bound, n-step targets, GAE.

Two of the original study's defects live here: the n-step bootstrap that read the value of the
wrong state (defect 2), and time limits treated as the end of the world.
"""

from __future__ import annotations

import numpy as np

from .core import Case, Exercise, Variant, register


# ------------------------------------------------------------------------------------------------
# 4.1 The entropy upper bound
# ------------------------------------------------------------------------------------------------

def entropy_upper_bound(weights, stds):
    """The study's upper bound on the policy's entropy, per actor.

    weights, stds: shape (n, d, K), the mixture of each of d action coordinates of n actors.
    Per coordinate the bound is H(w) + sum_k w_k * 0.5 * ln(2 pi e sigma_k^2), with
    H(w) = -sum_k w_k ln w_k (and 0 ln 0 = 0: a weight can underflow to exactly 0). The
    coordinates are independent, so their bounds add. Returns shape (n,).
    """
    from scipy.special import xlogy   # xlogy(w, w) = w ln w, and 0 where w == 0
    weights, stds = np.asarray(weights, dtype=np.float64), np.asarray(stds, dtype=np.float64)
    mode_choice = -np.sum(xlogy(weights, weights), axis=-1)
    gaussians = np.sum(weights * 0.5 * np.log(2 * np.pi * np.e * stds**2), axis=-1)
    return (mode_choice + gaussians).sum(axis=-1)


def _weights(rng, shape):
    logits = 1.5 * rng.normal(size=shape)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def _entropy_cases(rng):
    cases = []
    for _ in range(4):
        shape = (int(rng.integers(2, 6)), int(rng.integers(2, 7)), int(rng.integers(2, 4)))
        cases.append(Case("random mixtures", {"weights": _weights(rng, shape),
                                              "stds": rng.uniform(0.01, 0.5, shape)}))
    cases += [Case("one mode: the bound is the Gaussian entropy",
                   {"weights": np.ones((3, 1, 1)), "stds": rng.uniform(0.05, 0.5, (3, 1, 1))}, edge=True),
              Case("a weight that underflowed to exactly 0",
                   {"weights": np.array([[[0.6, 0.4, 0.0]], [[0.2, 0.3, 0.5]]]),
                    "stds": np.full((2, 1, 3), 0.1)}, edge=True, tags=frozenset({"zero weight"}))]
    return cases


def _nan_at_zero_weight(weights, stds):
    weights, stds = np.asarray(weights, np.float64), np.asarray(stds, np.float64)
    mode_choice = -np.sum(weights * np.log(weights), axis=-1)
    return (mode_choice + np.sum(weights * 0.5 * np.log(2 * np.pi * np.e * stds**2), axis=-1)).sum(-1)


def _bound(weights, stds, mode_choice=1.0, weighted=True, log_of_sigma=False, per_coordinate=False):
    from scipy.special import xlogy
    weights, stds = np.asarray(weights, np.float64), np.asarray(stds, np.float64)
    h_w = -np.sum(xlogy(weights, weights), axis=-1)
    gauss = 0.5 * np.log(2 * np.pi * np.e * (stds if log_of_sigma else stds**2))
    total = mode_choice * h_w + np.sum((weights if weighted else 1.0) * gauss, axis=-1)
    return total if per_coordinate else total.sum(axis=-1)


register(Exercise(
    id="entropy_upper_bound", chapter=4, title="The entropy bonus's upper bound",
    question=(
        "Write the entropy bound of the bonus in NumPy, from the weights and standard "
        "deviations (`policy.entropy_upper_bound` computes it in TensorFlow from the network's "
        "outputs)."),
    reference=entropy_upper_bound, cases=_entropy_cases,
    hint="per coordinate: -sum_k w_k ln w_k + sum_k w_k * 0.5 * ln(2 pi e sigma_k^2), summed over "
         "the last axis; then sum the coordinates (axis 1).",
    fact=("For one mode the bound is the exact Gaussian entropy, ln sigma + 1.42; with K modes it "
          "overshoots by at most H(w) (ln K nats for equal weights) when the modes coincide."),
    variants=(
        Variant("nan_at_a_zero_weight", _nan_at_zero_weight,
                "Your bound is nan when a weight is exactly 0 (a softmax underflows to 0 for a "
                "logit 750 below the others): 0 * ln 0 gives 0 * -inf = nan, but the term "
                "must count as 0.",
                "scipy.special.xlogy(w, w) is w ln w with 0 at w = 0 (the original used "
                "tf.math.multiply_no_nan for this).", kind="nan", fails_on="zero weight"),
        Variant("no_mode_entropy", lambda weights, stds: _bound(weights, stds, mode_choice=0.0),
                "You left out H(w), the entropy of choosing the mode: sum_k w_k H(N_k) alone is "
                "the entropy given the mode; the bound adds -sum_k w_k ln w_k.",
                "add -sum_k w_k ln w_k per coordinate.", kind="missing term"),
        Variant("mode_entropy_with_wrong_sign", lambda weights, stds: _bound(weights, stds, mode_choice=-1.0),
                "Your mode-choice term is sum_k w_k ln w_k, which is <= 0: the entropy of the "
                "weights is minus that.",
                "H(w) = -sum_k w_k ln w_k.", kind="sign"),
        Variant("unweighted_gaussians", lambda weights, stds: _bound(weights, stds, weighted=False),
                "You added every mode's Gaussian entropy at full weight: each is weighted by "
                "its probability w_k.",
                "sum_k w_k * 0.5 * ln(2 pi e sigma_k^2).", kind="missing weight"),
        Variant("log_of_sigma", lambda weights, stds: _bound(weights, stds, log_of_sigma=True),
                "You used ln(2 pi e sigma) where the Gaussian entropy has ln(2 pi e sigma^2): "
                "half of it is ln sigma + 1.42.",
                "square the standard deviation inside the logarithm.", kind="variance for std"),
        Variant("one_bound_per_coordinate", lambda weights, stds: _bound(weights, stds, per_coordinate=True),
                "You return one bound per action coordinate: the coordinates are independent, "
                "so their entropies add up to the policy's.",
                "sum over the coordinate axis (axis=1) at the end.", kind="axis"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 4.2 n-step targets, bootstrapped from the right state
# ------------------------------------------------------------------------------------------------

def n_step_targets(rewards, values, n, gamma):
    """n-step bootstrapped value targets of one episode that ended for real (a fall).

    rewards: shape (T,); values: shape (T,), values[t] = V(s_t); n >= 1. The target of step t is
    r_t + gamma r_{t+1} + ... + gamma^(n-1) r_{t+n-1} + gamma^n V(s_{t+n}) when t + n < T,
    else the Monte-Carlo return. Returns a float64 array of shape (T,).
    """
    from scipy.signal import lfilter
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    full = lfilter([1.0], [1.0, -gamma], rewards[::-1])[::-1]   # Monte-Carlo returns R_t
    targets = full.copy()
    head = len(rewards) - n                 # the steps t whose bootstrap state s_(t+n) exists
    if head > 0:
        scale = gamma ** n
        # the first n rewards of R_t are R_t - gamma^n R_(t+n); then bootstrap from s_(t+n)
        targets[:head] = full[:head] - scale * full[n:] + scale * values[n:]
    return targets


def _monte_carlo(rewards, gamma):
    from scipy.signal import lfilter
    return lfilter([1.0], [1.0, -gamma], np.asarray(rewards, np.float64)[::-1])[::-1]


def _n_step(rewards, values, n, gamma, index_shift=0, power_shift=0, bootstrap=True):
    """The targets with the bootstrap read at t + n + index_shift, discounted by gamma^(n + power_shift)."""
    rewards, values = np.asarray(rewards, np.float64), np.asarray(values, np.float64)
    full = _monte_carlo(rewards, gamma)
    targets = full.copy()
    head = len(rewards) - n
    if head > 0:
        index = np.arange(head) + n + index_shift
        bootstrap_term = gamma ** (n + power_shift) * values[index] if bootstrap else 0.0
        targets[:head] = full[:head] - gamma ** n * full[n:] + bootstrap_term
    return targets


def _targets_cases(rng):
    def case(T, n, label, gamma=None, edge=False):
        return Case(label, {"rewards": rng.normal(size=T), "values": rng.normal(size=T), "n": n,
                            "gamma": float(rng.uniform(0.8, 0.99)) if gamma is None else gamma}, edge=edge)
    cases = [case(int(rng.integers(8, 40)), int(rng.integers(2, 6)), "a random episode") for _ in range(4)]
    cases += [case(12, 1, "n = 1: the one-step TD target", edge=True),
              case(5, 5, "n = T: nothing to bootstrap from", edge=True),
              case(4, 9, "n > T", edge=True),
              case(1, 3, "an episode of one step", edge=True),
              case(10, 3, "gamma = 1", gamma=1.0, edge=True)]
    return cases


register(Exercise(
    id="n_step_targets", chapter=4, title="n-step targets, bootstrapped from the right state",
    question=(
        "Write the n-step targets of an episode that ended with a fall, as "
        "`returns.n_step_targets` does: n discounted rewards, then the critic's value of the "
        "state n steps later."),
    reference=n_step_targets, cases=_targets_cases, dtype="float64", rtol=1e-7, atol=1e-9,
    exception_hints=((r"out of bounds|could not be broadcast",
                      "near the end of the episode t + n reaches T and there is no s_(t+n): "
                      "only the first T - n steps bootstrap, the others get the Monte-Carlo "
                      "return."),),
    hint="for t + n < T: sum_{i<n} gamma^i r_(t+i) + gamma^n values[t + n]; for the last n "
         "steps, the plain return to come.",
    fact=("n = 1 gives the TD(0) target r_t + gamma V(s_(t+1)), n >= T the Monte-Carlo return. "
          "Every reported run of the original used Monte-Carlo targets, which is why its defect 2 "
          "changed none of them."),
    variants=(
        Variant("bootstraps_from_s_t",
                lambda rewards, values, n, gamma: _n_step(rewards, values, n, gamma, index_shift=-n),
                "Your bootstrap reads V(s_t), the value of the very state the target is for: "
                "the critic would be asked to predict itself, and the bootstrap would carry no "
                "news about where the episode went. This was the original's defect 2.",
                "after the n rewards r_t .. r_(t+n-1) the episode is in s_(t+n): values[t + n].",
                kind="wrong index", defect="defect 2: the n-step bootstrap read the wrong state"),
        Variant("bootstraps_one_step_early",
                lambda rewards, values, n, gamma: _n_step(rewards, values, n, gamma, index_shift=-1),
                "Your bootstrap reads V(s_(t+n-1)), one state too early: after the n rewards "
                "r_t .. r_(t+n-1) the episode is in s_(t+n).",
                "values[t + n], not values[t + n - 1].", kind="off-by-one"),
        Variant("discounted_once_too_few",
                lambda rewards, values, n, gamma: _n_step(rewards, values, n, gamma, power_shift=-1),
                "You discount the bootstrap by gamma^(n-1): it stands for the rewards from "
                "step t + n on, so it weighs gamma^n.",
                "scale the value by gamma**n.", kind="wrong power"),
        Variant("no_bootstrap_term",
                lambda rewards, values, n, gamma: _n_step(rewards, values, n, gamma, bootstrap=False),
                "You stopped after n rewards but left out gamma^n V(s_(t+n)), the critic's "
                "estimate of everything after them.",
                "add gamma**n * values[t + n] where t + n < T.", kind="missing term"),
        Variant("monte_carlo_everywhere", lambda rewards, values, n, gamma: _monte_carlo(rewards, gamma),
                "Your targets are Monte-Carlo returns everywhere: no bootstrap at all (that is "
                "n_steps = 0 in the course's Config).",
                "keep only n rewards and add gamma^n V(s_(t+n)) where t + n < T.",
                kind="missing bootstrap"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 4.3 GAE, with a time limit at the last step
# ------------------------------------------------------------------------------------------------

def gae_advantages(rewards, values, gamma, lam, final_value):
    """Generalised advantage estimates of one episode.

    rewards, values: shape (T,), values[t] = V(s_t). final_value: V(s_T), the value of the state
    after the last step when a time limit cut the episode (0.0 when the episode ended for real).
    With delta_t = r_t + gamma V(s_(t+1)) - V(s_t), returns A_t = sum_{i>=0} (gamma lam)^i
    delta_(t+i), a float64 array of shape (T,).
    """
    from scipy.signal import lfilter
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    following = np.append(values[1:], final_value)     # V(s_(t+1)); V(s_T) completes the cut
    deltas = rewards + gamma * following - values
    return lfilter([1.0], [1.0, -gamma * lam], deltas[::-1])[::-1]


def _gae(rewards, values, gamma, lam, final_value, decay=None, next_index=1, add_values=False,
         forwards=False):
    from scipy.signal import lfilter
    rewards, values = np.asarray(rewards, np.float64), np.asarray(values, np.float64)
    following = np.append(values[1:], final_value) if next_index == 1 else values
    deltas = rewards + gamma * following - values
    decay = gamma * lam if decay is None else decay
    if forwards:
        advantages = lfilter([1.0], [1.0, -decay], deltas)
    else:
        advantages = lfilter([1.0], [1.0, -decay], deltas[::-1])[::-1]
    return advantages + values if add_values else advantages


def _gae_cases(rng):
    def case(T, lam, final, label, gamma=None, edge=False):
        return Case(label, {"rewards": rng.normal(size=T), "values": rng.normal(size=T),
                            "gamma": float(rng.uniform(0.8, 0.99)) if gamma is None else gamma,
                            "lam": lam, "final_value": final}, edge=edge)
    cases = [case(int(rng.integers(5, 40)), float(rng.uniform(0.3, 0.97)), float(rng.normal(3, 1)),
                  "a random episode cut by the time limit") for _ in range(3)]
    cases += [case(20, 0.95, 0.0, "an episode that ended for real (final_value 0)"),
              case(8, 0.0, 2.0, "lam = 0: the one-step TD errors", edge=True),
              case(8, 1.0, 2.0, "lam = 1: the return minus V", edge=True),
              case(1, 0.95, 5.0, "an episode of one step, cut by the time limit", edge=True),
              case(10, 0.9, -1.5, "gamma = 1", gamma=1.0, edge=True)]
    return cases


register(Exercise(
    id="gae_advantages", chapter=4, title="GAE, with a time limit at the last step",
    question=(
        "Write generalised advantage estimation for one episode, as `returns.gae_advantages` "
        "does, including its last step: when the time limit cut the episode, "
        "$V(s_T)$ = `final_value` stands for everything the cut hid (section 4)."),
    reference=gae_advantages, cases=_gae_cases, dtype="float64", rtol=1e-7, atol=1e-9,
    exception_hints=((r"out of bounds|could not be broadcast",
                      "values holds V(s_0) .. V(s_(T-1)); the state after the last step is "
                      "final_value's: np.append(values[1:], final_value) gives V(s_(t+1)) for "
                      "every t."),),
    hint="delta_t = r_t + gamma * V(s_(t+1)) - V(s_t) with V(s_T) = final_value, then the "
         "discounted sum of the deltas with gamma * lam (backwards, like the returns).",
    fact=("lam = 1 gives G_t - V(s_t) (chapter 3's improved REINFORCE), lam = 0 the one-step TD "
          "error; the improved A2C uses 0.95. Completing the 500-step cut with V(s_T) keeps the "
          "critic's targets consistent for a body that does not see the clock."),
    variants=(
        Variant("time_limit_treated_as_the_end",
                lambda rewards, values, gamma, lam, final_value: _gae(rewards, values, gamma, lam, 0.0),
                "Your last step ignores final_value: the time limit is treated as the end of "
                "the world. A cut episode goes on, so its last TD error is r + gamma V(s_T) - "
                "V(s_(T-1)). The original treated its time limits as terminal (section 4).",
                "append final_value to values[1:] to get V(s_(t+1)) for every step.",
                kind="truncation treated as termination",
                defect="time limits treated as terminal states"),
        Variant("decays_by_lam_only",
                lambda rewards, values, gamma, lam, final_value: _gae(rewards, values, gamma, lam, final_value, decay=lam),
                "You decay the TD errors by lam alone: the weight of delta_(t+i) is "
                "(gamma lam)^i, the discount included.",
                "filter with gamma * lam.", kind="wrong decay"),
        Variant("decays_by_gamma_only",
                lambda rewards, values, gamma, lam, final_value: _gae(rewards, values, gamma, lam, final_value, decay=gamma),
                "You decay the TD errors by gamma alone: that is lam = 1 whatever lam is, the "
                "Monte-Carlo return minus V(s_t).",
                "filter with gamma * lam.", kind="wrong decay"),
        Variant("delta_reads_the_same_state",
                lambda rewards, values, gamma, lam, final_value: _gae(rewards, values, gamma, lam, final_value, next_index=0),
                "Your TD errors use V(s_t) where V(s_(t+1)) belongs: delta_t = r_t + gamma "
                "V(s_(t+1)) - V(s_t) compares the value before the step with the value after it.",
                "shift the values by one: np.append(values[1:], final_value).", kind="off-by-one"),
        Variant("returns_the_targets",
                lambda rewards, values, gamma, lam, final_value: _gae(rewards, values, gamma, lam, final_value, add_values=True),
                "You return A_t + V(s_t), the lambda-returns: those are the critic's targets. "
                "The advantages are without the + V(s_t).",
                "return the discounted sum of the deltas itself.", kind="wrong quantity"),
        Variant("sums_forwards_in_time",
                lambda rewards, values, gamma, lam, final_value: _gae(rewards, values, gamma, lam, final_value, forwards=True),
                "Your sum runs forwards in time: A_t adds the TD errors of the steps *after* t.",
                "reverse the deltas, filter, and reverse back.", kind="reversed"),
    ),
))
