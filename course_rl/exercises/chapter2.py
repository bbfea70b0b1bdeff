"""Exercises of chapter 2 (notebooks/02_policy_distribution.ipynb): the mixture policy.

Three of the original study's defects live here: the unshifted softmax (defect 3), the spread
sampled with sigmoid(-s) and scored with sigmoid(+s) (defect 1), and the "greedy" evaluation
that still drew its mode at random (defect 8).
"""

from __future__ import annotations

import numpy as np

from .core import Case, Exercise, Variant, register


# ------------------------------------------------------------------------------------------------
# 2.1 Mixture weights: a softmax that cannot overflow
# ------------------------------------------------------------------------------------------------

def mixture_weights(logits):
    """The mixture weights of every action coordinate: a softmax over the last axis.

    logits: an array of shape (..., K), float32 or float64, the network's K mode logits per
    coordinate. Returns weights of the same shape, positive and summing to 1 over the last axis.
    They must be finite for any finite logits (a network can output 100, or -1000).
    """
    logits = np.asarray(logits)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))  # the largest exp is exactly 1
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _logit_cases(rng):
    cases = []
    for _ in range(4):
        shape = (int(rng.integers(2, 5)), int(rng.integers(2, 5)))
        cases.append(Case("random logits", {"logits": 3 * rng.normal(size=shape)}))
    cases.append(Case("random float32 logits of a batch of 3 actors x 2 coordinates",
                      {"logits": (2 * rng.normal(size=(3, 2, 3))).astype(np.float32)}))
    cases += [
        Case("one mode", {"logits": rng.normal(size=(4, 1))}, edge=True),
        Case("one coordinate's logits, no batch axis", {"logits": np.array([0.5, -1.0, 2.0])}, edge=True),
        Case("a large float32 logit, as a network can output", {"logits": np.array([[100.0, 0.0]], np.float32)},
             edge=True, tags=frozenset({"extreme"})),
        Case("logits far apart", {"logits": np.array([[1000.0, 0.0, -5.0], [0.0, 1.0, 2.0]])},
             edge=True, tags=frozenset({"extreme"})),
        Case("very negative logits", {"logits": np.array([[-1000.0, -1000.0, -999.0]])},
             edge=True, tags=frozenset({"extreme"})),
    ]
    return cases


def _softmax_unshifted(logits):
    logits = np.asarray(logits)
    return np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)


def _softmax_shifted_by_min(logits):
    logits = np.asarray(logits)
    shifted = np.exp(logits - logits.min(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _softmax_over_first_axis(logits):
    logits = np.asarray(logits)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


register(Exercise(
    id="mixture_weights", chapter=2, title="Mixture weights that cannot overflow",
    question=(
        "Turn the network's mode logits into mixture weights: a softmax over the last axis, "
        "as `policy.mixture_params` does. Your weights must stay finite for any finite logits: "
        "the network's outputs are float32, and nothing stops a logit from reaching 100."),
    reference=mixture_weights, cases=_logit_cases,
    exception_hints=((r"could not be broadcast",
                      "a max or a sum over axis=-1 drops that axis; keepdims=True keeps it "
                      "(with length 1), so that it broadcasts against the logits."),),
    hint="softmax(x) = exp(x) / sum(exp(x)) over the last axis (axis=-1, keepdims=True), and "
         "subtracting any constant from the logits changes nothing mathematically.",
    fact=("Shifting by the largest logit makes the largest exp exactly 1, so the sum lies "
          "between 1 and K: it can neither overflow nor be 0, whatever the network outputs."),
    variants=(
        Variant("shifted_by_min", _softmax_shifted_by_min,
                "You shifted the logits by their smallest value: then exp of the largest "
                "shifted logit still overflows when the logits are far apart (1000 and 0 give "
                "exp(1000) = inf, and inf / inf = nan).",
                "shift by the largest logit instead: logits.max(axis=-1, keepdims=True).",
                kind="overflow"),
        Variant("unshifted", _softmax_unshifted,
                "Your softmax is not shifted, so exp overflows for a large logit (above about 88 "
                "in float32, 709 in float64: inf / inf = nan) and underflows for very negative "
                "ones (0 / 0 = nan). This is the original code's defect 3.",
                "subtract logits.max(axis=-1, keepdims=True) before np.exp; the weights do not "
                "change.", kind="overflow", defect="defect 3: the softmax was not max-shifted",
                fails_on="extreme"),
        Variant("wrong_axis", _softmax_over_first_axis,
                "Your weights are normalised over the wrong axis: each action coordinate's K "
                "weights must sum to 1, and they are the last axis.",
                "sum over axis=-1 (with keepdims=True so that the division broadcasts).",
                kind="axis"),
        Variant("normalised_logits",
                lambda logits: np.asarray(logits) / np.asarray(logits).sum(axis=-1, keepdims=True),
                "You divided the logits by their sum without exponentiating: negative logits "
                "then give negative weights. A softmax normalises exp(logits).",
                "weights = exp(logits - max) / sum(exp(logits - max)).", kind="missing exp"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 2.2 The spread of each mode
# ------------------------------------------------------------------------------------------------

def mode_spreads(raw_spread, action_dim, floor=1e-4):
    """Standard deviations of the modes from the network's raw spread outputs s.

    raw_spread: an array of any shape; action_dim: the number of action coordinates n (1 for the
    cart-pole, 6 for the half-cheetah). Returns sigma = sigmoid(s) / n + floor, elementwise.
    """
    from scipy.special import expit   # sigmoid(s) = 1 / (1 + exp(-s)), without overflow warnings
    return expit(np.asarray(raw_spread, dtype=np.float64)) / action_dim + floor


def _spread_cases(rng):
    cases = [Case("random raw spreads, one action coordinate",
                  {"raw_spread": 2 * rng.normal(size=(5, 1, 3)), "action_dim": 1}),
             Case("random raw spreads of the half-cheetah",
                  {"raw_spread": 2 * rng.normal(size=(3, 6, 3)), "action_dim": 6}),
             Case("random raw spreads, two coordinates",
                  {"raw_spread": 3 * rng.normal(size=(4, 2, 2)), "action_dim": 2})]
    cases += [Case("s = 0, the output of a fresh network", {"raw_spread": np.zeros(4), "action_dim": 6}, edge=True),
              Case("very negative s", {"raw_spread": np.array([-1000.0, -50.0]), "action_dim": 1}, edge=True),
              Case("very large s", {"raw_spread": np.array([1000.0, 30.0]), "action_dim": 6}, edge=True),
              Case("a single number", {"raw_spread": 0.7, "action_dim": 1}, edge=True)]
    return cases


register(Exercise(
    id="mode_spreads", chapter=2, title="The spread of each mode",
    question=(
        "Write the standard deviation of the modes, $\\sigma = \\operatorname{sigmoid}(s)/n + "
        "10^{-4}$, from the network's raw spread outputs $s$."),
    reference=mode_spreads, cases=_spread_cases,
    hint="sigmoid(s) = 1 / (1 + exp(-s)); divide by action_dim, then add the floor.",
    fact=("At s = 0 the two formulas of the original, sigmoid(+s) and sigmoid(-s), both give "
          "0.5 / n: a fresh network outputs s near 0, so its defect 1 did little harm at first "
          "and more as training moved s."),
    variants=(
        Variant("sigmoid_of_minus_s",
                lambda raw_spread, action_dim, floor=1e-4:
                    1.0 / (1.0 + np.exp(np.asarray(raw_spread, np.float64))) / action_dim + floor,
                "Your spread is sigmoid(-s) = 1 / (1 + exp(s)): it agrees with sigmoid(+s) only "
                "at s = 0, and the two move in opposite directions as s changes. The original "
                "acted with this one and scored with sigmoid(+s) (defect 1), so its entropy bonus "
                "narrowed the distribution that acts.",
                "1 / (1 + exp(-s)) is sigmoid(s); mind the minus sign.", kind="sign",
                defect="defect 1: sampled with sigmoid(-s), scored with sigmoid(+s)"),
        Variant("not_divided_by_n",
                lambda raw_spread, action_dim, floor=1e-4:
                    1.0 / (1.0 + np.exp(-np.asarray(raw_spread, np.float64))) + floor,
                "You did not divide by the number of action coordinates: the cheetah's six "
                "spreads together would explore six times as much as one cart-pole spread.",
                "sigmoid(s) / action_dim + floor.", kind="missing scale"),
        Variant("no_floor",
                lambda raw_spread, action_dim, floor=1e-4:
                    1.0 / (1.0 + np.exp(-np.asarray(raw_spread, np.float64))) / action_dim,
                "You left out the floor: at s = -1000 your sigma is 0, a mode of zero width, "
                "whose log-density is infinite.",
                "add floor (1e-4), the smallest standard deviation, at the end.", kind="missing floor"),
        Variant("floor_divided_too",
                lambda raw_spread, action_dim, floor=1e-4:
                    (1.0 / (1.0 + np.exp(-np.asarray(raw_spread, np.float64))) + floor) / action_dim,
                "You added the floor before dividing by n, so the smallest spread of the "
                "cheetah's modes is 1e-4 / 6, not 1e-4.",
                "divide sigmoid(s) by action_dim first, then add floor.", kind="order"),
        Variant("exp_of_s",
                lambda raw_spread, action_dim, floor=1e-4:
                    np.exp(np.asarray(raw_spread, np.float64)) / action_dim + floor,
                "You used exp(s), which grows without bound (inf at s = 1000); the sigmoid keeps "
                "every sigma below 1/n.",
                "sigmoid(s) = 1 / (1 + exp(-s)).", kind="wrong function"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 2.3 Persistent noise: the refresh
# ------------------------------------------------------------------------------------------------

def refresh_noise(noise, persistence, coins, fresh):
    """One step of stochastic persistence: which actors keep their noise, which redraw it.

    noise: shape (n_actors, action_dim), each actor's current noise. persistence: p in [0, 1).
    coins: shape (n_actors,), one uniform draw in [0, 1) per actor. fresh: shape like noise,
    new draws. An actor keeps its whole noise row when its coin is below p, and otherwise takes
    its fresh row (probability 1 - p). Returns the new noise array.
    """
    redraw = np.asarray(coins) >= persistence      # one coin per actor, for all its coordinates
    return np.where(redraw[:, None], fresh, noise)


def _refresh_cases(rng):
    def case(n, d, p, label, coins=None, edge=False):
        return Case(label, {"noise": rng.normal(size=(n, d)), "persistence": p,
                            "coins": rng.random(n) if coins is None else np.asarray(coins, float),
                            "fresh": rng.normal(size=(n, d))}, edge=edge)
    cases = [case(int(rng.integers(3, 9)), int(rng.integers(1, 7)), float(rng.uniform(0.2, 0.9)),
                  "random actors") for _ in range(4)]
    cases[0] = case(6, 1, 0.5, "random actors, one coordinate each")
    cases += [case(4, 3, 0.0, "persistence 0, one coin exactly 0", coins=[0.0, 0.3, 0.7, 0.99], edge=True),
              case(5, 2, 0.5, "a coin exactly equal to the persistence", coins=[0.5, 0.1, 0.9, 0.5, 0.2],
                   edge=True),
              case(4, 4, 0.965, "the study's cart-pole persistence, as many actors as coordinates",
                   coins=[0.2, 0.97, 0.5, 0.999], edge=True),
              case(1, 6, 0.931, "one actor of the half-cheetah", coins=[0.95], edge=True)]
    return cases


register(Exercise(
    id="refresh_noise", chapter=2, title="Persistent noise: the refresh",
    question=(
        "Write one step of stochastic persistence, the heart of "
        "`MixturePolicySampler.refresh`: each actor keeps its noise with probability $p$ and "
        "otherwise redraws it. The random draws are given (one coin per actor and a fresh noise "
        "row per actor), so the answer is exact."),
    reference=refresh_noise, cases=_refresh_cases,
    exception_hints=((r"could not be broadcast",
                      "coins has one number per actor, shape (n_actors,), and noise one row per "
                      "actor: coins[:, None] applies each actor's coin to its whole row."),),
    hint="redraw where coin >= persistence; np.where(condition[:, None], fresh, noise).",
    fact=("Each actor keeps its noise with probability p per step, so its hold times are "
          "geometric: at p = 0.965 the mean is 1/(1 - p) = 28.6 steps and the median ln 0.5 / "
          "ln p = 19.5 (the original text called the median the expected time, defect 7)."),
    variants=(
        Variant("redraws_with_probability_p",
                lambda noise, persistence, coins, fresh:
                    np.where((np.asarray(coins) < persistence)[:, None], fresh, noise),
                "Your actors redraw with probability p and keep with probability 1 - p: at the "
                "study's p = 0.965 the noise would change at almost every step.",
                "a coin below the persistence keeps the noise; coin >= persistence redraws.",
                kind="inverted condition"),
        Variant("strict_inequality",
                lambda noise, persistence, coins, fresh:
                    np.where((np.asarray(coins) > persistence)[:, None], fresh, noise),
                "Your condition is coin > p: with persistence 0 an actor whose coin is exactly 0 "
                "keeps its noise, although p = 0 must redraw at every step.",
                "coin >= p: a coin in [p, 1) has probability exactly 1 - p.", kind="off-by-one"),
        Variant("always_redraws", lambda noise, persistence, coins, fresh: np.array(fresh, copy=True),
                "Your actors always take the fresh noise: that is persistence 0, whatever p is.",
                "only the actors whose coin is >= persistence redraw.", kind="ignores persistence"),
        Variant("never_redraws", lambda noise, persistence, coins, fresh: np.array(noise, copy=True),
                "Your noise never changes: every actor would hold its first draw for ever.",
                "the actors whose coin is >= persistence take their fresh row.",
                kind="ignores persistence"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 2.4 Sampling an action, and the greedy action
# ------------------------------------------------------------------------------------------------

def select_actions(weights, means, stds, mode_noise, gauss_noise, temp):
    """Actions of n actors from the mixture, with the temperature; greedy at temp == 0.

    weights, means, stds: shape (n, d, K), the mixture of each of d action coordinates.
    mode_noise: shape (n, d), uniform in [0, 1): picks the mode by inverse CDF, the first mode
    whose cumulative weight exceeds it (the last mode if rounding leaves none).
    gauss_noise: shape (n, d), standard normal. Returns actions of shape (n, d):
    mu_k + temp * sigma_k * z. At temp == 0 the action is greedy: the mean of the most probable
    mode, whatever the noise.
    """
    weights, means, stds = (np.asarray(x, dtype=np.float64) for x in (weights, means, stds))
    if temp == 0:
        mode = np.argmax(weights, axis=-1)
    else:
        cumulative = np.cumsum(weights, axis=-1)
        below = (np.asarray(mode_noise)[..., None] >= cumulative).sum(axis=-1)
        mode = np.minimum(below, weights.shape[-1] - 1)   # rounding: a cumulative sum of 0.9999999
    mu = np.take_along_axis(means, mode[..., None], axis=-1)[..., 0]
    sigma = np.take_along_axis(stds, mode[..., None], axis=-1)[..., 0]
    return mu + temp * sigma * np.asarray(gauss_noise)


def _mixture(rng, n, d, k):
    logits = 1.5 * rng.normal(size=(n, d, k))
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return {"weights": weights / weights.sum(-1, keepdims=True),
            "means": rng.uniform(-1, 1, (n, d, k)), "stds": rng.uniform(0.05, 0.5, (n, d, k))}


def _select_cases(rng):
    cases = []
    for temp, label in ((1.0, "temperature 1"), (0.5, "temperature 0.5"), (1.0, "temperature 1"),
                        (0.0, "greedy, temperature 0")):
        n, d, k = int(rng.integers(4, 9)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
        cases.append(Case(f"random mixtures, {label}", {**_mixture(rng, n, d, k),
                          "mode_noise": rng.random((n, d)), "gauss_noise": rng.normal(size=(n, d)),
                          "temp": temp}))
    greedy = _mixture(rng, 6, 1, 2)
    greedy["weights"] = np.broadcast_to([0.73, 0.27], (6, 1, 2)).copy()
    cases.append(Case("greedy, the K = 2 example of the chapter (weights 0.73 and 0.27)",
                      {**greedy, "mode_noise": np.linspace(0.05, 0.95, 6)[:, None],
                       "gauss_noise": rng.normal(size=(6, 1)), "temp": 0}, edge=True))
    cases.append(Case("one mode", {**_mixture(rng, 4, 2, 1), "mode_noise": rng.random((4, 2)),
                                   "gauss_noise": rng.normal(size=(4, 2)), "temp": 1.0}, edge=True))
    rounded = _mixture(rng, 2, 1, 3)
    rounded["weights"] = np.array([[[0.2, 0.3, 0.49999999]]] * 2)   # sums to 0.99999999
    cases.append(Case("a mode noise above the last cumulative weight (rounding)",
                      {**rounded, "mode_noise": np.array([[0.999999999], [0.1]]),
                       "gauss_noise": rng.normal(size=(2, 1)), "temp": 1.0}, edge=True))
    return cases


def _sampled_mode(weights, mode_noise):
    cumulative = np.cumsum(np.asarray(weights, np.float64), axis=-1)
    below = (np.asarray(mode_noise)[..., None] >= cumulative).sum(axis=-1)
    return np.minimum(below, np.shape(weights)[-1] - 1)


def _pick(array, mode):
    return np.take_along_axis(np.asarray(array, np.float64), mode[..., None], axis=-1)[..., 0]


def _greedy_still_samples(weights, means, stds, mode_noise, gauss_noise, temp):
    mode = _sampled_mode(weights, mode_noise)            # even at temp == 0
    return _pick(means, mode) + temp * _pick(stds, mode) * gauss_noise


def _always_most_probable(weights, means, stds, mode_noise, gauss_noise, temp):
    mode = np.argmax(weights, axis=-1)
    return _pick(means, mode) + temp * _pick(stds, mode) * gauss_noise


def _next_mode(weights, means, stds, mode_noise, gauss_noise, temp):
    mode = np.argmax(weights, axis=-1) if temp == 0 else np.minimum(
        _sampled_mode(weights, mode_noise) + 1, np.shape(weights)[-1] - 1)
    return _pick(means, mode) + temp * _pick(stds, mode) * gauss_noise


def _variance_as_scale(weights, means, stds, mode_noise, gauss_noise, temp):
    mode = np.argmax(weights, axis=-1) if temp == 0 else _sampled_mode(weights, mode_noise)
    return _pick(means, mode) + temp * _pick(stds, mode) ** 2 * gauss_noise


def _temperature_on_mean(weights, means, stds, mode_noise, gauss_noise, temp):
    mode = np.argmax(weights, axis=-1) if temp == 0 else _sampled_mode(weights, mode_noise)
    return temp * (_pick(means, mode) + _pick(stds, mode) * gauss_noise)


register(Exercise(
    id="select_actions", chapter=2, title="Sampling an action, and the greedy action",
    question=(
        "Write the sampler's action for n actors: pick each coordinate's mode by inverse CDF "
        "from its mode noise, then add the scaled Gaussian noise, $a = \\mu_k + "
        "\\text{temp}\\cdot\\sigma_k z$. At temperature 0 the action must be the greedy one "
        "of section 4."),
    reference=select_actions, cases=_select_cases,
    exception_hints=((r"out of bounds",
                      "a mode noise just below 1 can exceed the last cumulative weight when "
                      "rounding leaves the weights summing to 0.99999999: clamp the mode index "
                      "to K - 1 (np.minimum)."),),
    hint="mode = the number of cumulative weights <= u (np.cumsum, then a comparison and a "
         "sum over the last axis); np.take_along_axis picks each actor's mode.",
    fact=("At temperature 0 your actions ignore both noises, so a greedy evaluation of 100 "
          "episodes measures one policy; on the K = 2 example the original's would have taken "
          "the second mode for about one actor in four."),
    variants=(
        Variant("greedy_still_samples_the_mode", _greedy_still_samples,
                "At temperature 0 your action still depends on the mode noise: the Gaussian part "
                "is gone, but the mode is still drawn at random. That was the original's "
                "\"greedy\" evaluation (defect 8).",
                "at temp == 0 take the most probable mode, np.argmax(weights, axis=-1), and "
                "ignore both noises.", kind="study defect",
                defect="defect 8: greedy evaluation still drew the mode at random"),
        Variant("always_the_most_probable_mode", _always_most_probable,
                "Your sampler always takes the most probable mode, even at temperature 1: the "
                "policy never explores its other modes, and the mixture is one Gaussian in "
                "effect.",
                "only temp == 0 is greedy; otherwise the mode comes from the mode noise by "
                "inverse CDF.", kind="no exploration"),
        Variant("next_mode", _next_mode,
                "You pick the mode after the right one: mode k owns the interval "
                "[c_(k-1), c_k) of the cumulative weights c, so its index is the number of "
                "cumulative weights <= u.",
                "(u >= cumulative).sum(axis=-1), without a + 1.", kind="off-by-one"),
        Variant("variance_as_scale", _variance_as_scale,
                "You scaled the Gaussian noise by the variance sigma^2: the action is "
                "mu + temp * sigma * z, with the standard deviation.",
                "multiply z by sigma, not sigma**2.", kind="variance for std"),
        Variant("temperature_on_the_mean", _temperature_on_mean,
                "Your temperature scales the mean too: at temperature 0 your action is 0, not "
                "the mean of the best mode. The temperature scales only the spread.",
                "mu + temp * sigma * z.", kind="misplaced factor"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 2.5 The log-density of the mixture, stably
# ------------------------------------------------------------------------------------------------

def mixture_log_density(actions, weights, means, stds):
    """log p(a) of actions under the per-coordinate mixture, summed over the coordinates.

    actions: shape (n, d). weights, means, stds: shape (n, d, K). Per coordinate,
    p(a_i) = sum_k w_k N(a_i; mu_k, sigma_k^2); the coordinates are independent, so
    log p(a) = sum_i log p(a_i). Returns shape (n,). It must stay finite for an action far from
    every mode (40 standard deviations away, say).
    """
    from scipy.special import logsumexp
    z = (np.asarray(actions, dtype=np.float64)[..., None] - means) / stds
    log_modes = np.log(weights) - 0.5 * z**2 - np.log(stds) - 0.5 * np.log(2 * np.pi)
    return logsumexp(log_modes, axis=-1).sum(axis=-1)   # log of a sum of exps, without underflow


def _density_cases(rng):
    cases = []
    for _ in range(4):
        n, d, k = int(rng.integers(3, 7)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        mixture = _mixture(rng, n, d, k)
        cases.append(Case("random actions and mixtures",
                          {"actions": rng.uniform(-1, 1, (n, d)), **mixture}))
    cases.append(Case("one coordinate, one mode",
                      {"actions": rng.uniform(-1, 1, (5, 1)), **_mixture(rng, 5, 1, 1)}, edge=True))
    far = _mixture(rng, 2, 2, 2)
    far["means"][:] = -0.5
    far["stds"][:] = 0.01
    cases.append(Case("an action 140 standard deviations from every mode",
                      {"actions": np.array([[0.9, -0.5], [-0.5, -0.5]]), **far},
                      edge=True, tags=frozenset({"far"})))
    return cases


def _log_of_sum(actions, weights, means, stds):
    z = (np.asarray(actions)[..., None] - means) / stds
    density = np.sum(weights * np.exp(-0.5 * z**2) / (stds * np.sqrt(2 * np.pi)), axis=-1)
    return np.log(density).sum(axis=-1)


def _per_coordinate(actions, weights, means, stds):
    from scipy.special import logsumexp
    z = (np.asarray(actions)[..., None] - means) / stds
    return logsumexp(np.log(weights) - 0.5 * z**2 - np.log(stds) - 0.5 * np.log(2 * np.pi), axis=-1)


def _average_of_logs(actions, weights, means, stds):
    z = (np.asarray(actions)[..., None] - means) / stds
    log_modes = -0.5 * z**2 - np.log(stds) - 0.5 * np.log(2 * np.pi)
    return np.sum(weights * log_modes, axis=-1).sum(axis=-1)


def _no_normaliser(actions, weights, means, stds):
    from scipy.special import logsumexp
    z = (np.asarray(actions)[..., None] - means) / stds
    return logsumexp(np.log(weights) - 0.5 * z**2 - 0.5 * np.log(2 * np.pi), axis=-1).sum(axis=-1)


def _divided_by_sigma(actions, weights, means, stds):
    from scipy.special import logsumexp
    squared = (np.asarray(actions)[..., None] - means) ** 2 / stds
    return logsumexp(np.log(weights) - 0.5 * squared - np.log(stds) - 0.5 * np.log(2 * np.pi),
                     axis=-1).sum(axis=-1)


def _best_mode_only(actions, weights, means, stds):
    z = (np.asarray(actions)[..., None] - means) / stds
    log_modes = np.log(weights) - 0.5 * z**2 - np.log(stds) - 0.5 * np.log(2 * np.pi)
    return log_modes.max(axis=-1).sum(axis=-1)


register(Exercise(
    id="mixture_log_density", chapter=2, title="The log-density of the mixture, stably",
    question=(
        "The Monte-Carlo entropy estimate above, and every policy-gradient update, need "
        "$\\ln p(a)$ of the actions. Write it for the per-coordinate mixture, so that it stays "
        "finite however far an action lies from the modes (a policy that has narrowed scores "
        "old actions that far away)."),
    reference=mixture_log_density, cases=_density_cases,
    hint="log sum_k exp(x_k) with x_k = ln w_k + ln N(a; mu_k, sigma_k^2) = ln w_k - z^2/2 - "
         "ln sigma_k - ln(2 pi)/2; scipy.special.logsumexp does the sum without underflow.",
    fact=("log-sum-exp subtracts the largest term before exponentiating, like the shifted "
          "softmax; policy.log_prob does the same in TensorFlow, so a far-off action costs a "
          "large finite number of nats, not -inf."),
    variants=(
        Variant("log_of_underflowed_sum", _log_of_sum,
                "Your log-density is -inf for an action far from every mode: its density, about "
                "exp(-10000), underflows to 0 before the log is taken.",
                "stay in logs: scipy.special.logsumexp over the modes of ln w_k + ln N_k.",
                kind="underflow", fails_on="far"),
        Variant("one_per_coordinate", _per_coordinate,
                "You return one log-density per coordinate: the coordinates are independent, "
                "so the action's log-density is their sum.",
                "sum over the coordinate axis (axis=-1) at the end.", kind="axis"),
        Variant("average_of_logs", _average_of_logs,
                "You averaged the modes' log-densities, sum_k w_k ln N_k: that is a lower bound "
                "of ln sum_k w_k N_k (Jensen's inequality), not the log-density.",
                "the log of the weighted sum: logsumexp of ln w_k + ln N_k.", kind="log of a sum"),
        Variant("no_normaliser", _no_normaliser,
                "You left out -ln sigma_k: a narrow mode must be taller, so that each mode "
                "integrates to 1.",
                "ln N(a; mu, sigma^2) = -z^2/2 - ln sigma - ln(2 pi)/2.", kind="missing term"),
        Variant("squared_distance_over_sigma", _divided_by_sigma,
                "You divided the squared distance by sigma instead of sigma^2: the exponent is "
                "-(a - mu)^2 / (2 sigma^2).",
                "z = (a - mu) / sigma, then -z**2 / 2.", kind="variance for std"),
        Variant("best_mode_only", _best_mode_only,
                "You kept only the most likely mode (a max over the modes): the mixture adds "
                "every mode's share.",
                "logsumexp instead of max: it adds the exps of all the terms.", kind="max for sum"),
    ),
))
