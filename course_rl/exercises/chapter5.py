"""Exercises of chapter 5 (notebooks/05_results.ipynb): statistics over seeds."""

from __future__ import annotations

import numpy as np

from .core import Case, Exercise, Variant, register


def _scores(rng, n, mean, spread, cap=None):
    scores = rng.normal(mean, spread, n)
    return np.clip(scores, 0, cap) if cap else scores


# ------------------------------------------------------------------------------------------------
# 5.1 The confidence interval of a mean over seeds
# ------------------------------------------------------------------------------------------------

def mean_interval(scores, confidence=0.95):
    """The t-interval of the mean of one score per run.

    scores: a list or array of n >= 2 scores; confidence: e.g. 0.95. Returns (low, high): the
    mean -/+ the two-sided Student t quantile with n - 1 degrees of freedom times the standard
    error, the sample standard deviation (ddof=1) over sqrt(n).
    """
    from scipy import stats
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * scores.std(ddof=1) / np.sqrt(n)
    return float(scores.mean() - half), float(scores.mean() + half)


def _interval_cases(rng):
    cases = [Case("random scores", {"scores": _scores(rng, int(rng.integers(5, 25)), 500, 200)})
             for _ in range(3)]
    cases += [Case("20 cart-pole scores, capped at 1000", {"scores": _scores(rng, 20, 800, 250, cap=1000)}),
              Case("two runs: the t quantile is 12.7", {"scores": np.array([12.0, 25.0])}, edge=True),
              Case("a 90% interval", {"scores": _scores(rng, 8, 20, 5), "confidence": 0.9}, edge=True),
              Case("scores as a Python list", {"scores": [19.1, 21.5, 18.0, 22.4, 20.2]}, edge=True)]
    return cases


def _interval(scores, confidence=0.95, quantile=None, ddof=1, divisor="sqrt(n)"):
    from scipy import stats
    scores = np.asarray(scores, np.float64)
    n = len(scores)
    q = stats.t.ppf(0.5 + confidence / 2, n - 1) if quantile is None else quantile(confidence, n)
    half = q * scores.std(ddof=ddof) / {"sqrt(n)": np.sqrt(n), "n": n, "1": 1.0}[divisor]
    return float(scores.mean() - half), float(scores.mean() + half)


def _normal_quantile(confidence, n):
    from scipy import stats
    return stats.norm.ppf(0.5 + confidence / 2)


def _one_sided_quantile(confidence, n):
    from scipy import stats
    return stats.t.ppf(confidence, n - 1)


register(Exercise(
    id="mean_interval", chapter=5, title="The confidence interval of a mean over seeds",
    question=(
        "Write the 95% confidence interval of the mean that `stats.describe` prints: how well "
        "a handful of seeds pin down an experiment's mean score."),
    reference=mean_interval, cases=_interval_cases, parts=("low", "high"),
    hint="mean -/+ t * s / sqrt(n), with s = np.std(scores, ddof=1) and "
         "t = scipy.stats.t.ppf(0.5 + confidence / 2, n - 1).",
    fact=("The interval is about 2 s / sqrt(n) wide on each side: with 20 seeds the original's "
          "cart-pole means are known only to within roughly +/-100 to 120 steps."),
    variants=(
        Variant("normal_quantile", lambda scores, confidence=0.95: _interval(scores, confidence, quantile=_normal_quantile),
                "You used the normal quantile (1.96 for 95%) instead of Student's t with n - 1 "
                "degrees of freedom: with few seeds the interval comes out too narrow (t is "
                "2.78 for 5 seeds and 12.7 for 2).",
                "scipy.stats.t.ppf(0.5 + confidence / 2, n - 1).", kind="wrong distribution"),
        Variant("population_std", lambda scores, confidence=0.95: _interval(scores, confidence, ddof=0),
                "Your standard deviation divides by n (np.std's default, ddof=0, the "
                "original's printed spread); the standard error of the mean uses the sample "
                "standard deviation, ddof=1.",
                "np.std(scores, ddof=1).", kind="ddof"),
        Variant("standard_deviation_not_error",
                lambda scores, confidence=0.95: _interval(scores, confidence, divisor="1"),
                "That is an interval for the score of one run (mean +/- t s), not for the mean: "
                "the mean of n runs is sqrt(n) times more precise.",
                "divide the standard deviation by sqrt(n): the standard error.", kind="missing sqrt(n)"),
        Variant("divided_by_n", lambda scores, confidence=0.95: _interval(scores, confidence, divisor="n"),
                "You divided the standard deviation by n: the standard error is s / sqrt(n).",
                "np.sqrt(n), not n.", kind="wrong power"),
        Variant("one_sided_quantile", lambda scores, confidence=0.95: _interval(scores, confidence, quantile=_one_sided_quantile),
                "You used the one-sided quantile t.ppf(0.95): a two-sided 95% interval leaves "
                "2.5% in each tail, so it needs t.ppf(0.975).",
                "t.ppf(0.5 + confidence / 2, n - 1).", kind="one-sided"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 5.2 Welch's test on two lists of returns
# ------------------------------------------------------------------------------------------------

def welch_test(a, b):
    """Welch's t-test of the difference between two groups of scores (one per run).

    a, b: lists or arrays of scores, of any lengths >= 2. Returns (difference, t, p): the
    difference of the means mean(a) - mean(b), Welch's t statistic and its two-sided p-value
    (Welch's test does not assume that the two groups have equal variances).
    """
    from scipy import stats
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    t, p = stats.ttest_ind(a, b, equal_var=False)
    return float(a.mean() - b.mean()), float(t), float(p)


def _welch_cases(rng):
    cases = [Case("two random groups", {"a": _scores(rng, int(rng.integers(5, 20)), 500, 150),
                                        "b": _scores(rng, int(rng.integers(5, 20)), 420, 250)})
             for _ in range(3)]
    cases += [Case("20 cart-pole scores each, capped at 1000",
                   {"a": _scores(rng, 20, 800, 230, cap=1000), "b": _scores(rng, 20, 630, 260, cap=1000)}),
              Case("groups of 3 and 12 runs", {"a": _scores(rng, 3, 40, 40), "b": _scores(rng, 12, 20, 3)},
                   edge=True),
              Case("scores as Python lists", {"a": [17.9, 25.0, 10.3, 19.5], "b": [19.8, 18.1, 22.0, 20.9, 15.9]},
                   edge=True)]
    return cases


def _manual_welch(a, b, ddof=1, normal=False):
    from scipy import stats
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    va, vb = a.var(ddof=ddof) / len(a), b.var(ddof=ddof) / len(b)
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    p = 2 * (stats.norm.sf(abs(t)) if normal else stats.t.sf(abs(t), df))
    return float(a.mean() - b.mean()), float(t), float(p)


def _student(a, b):
    from scipy import stats
    t, p = stats.ttest_ind(a, b)
    return float(np.mean(a) - np.mean(b)), float(t), float(p)


register(Exercise(
    id="welch_test", chapter=5, title="Welch's test on two lists of returns",
    question=(
        "Compare two experiments the way `stats.compare` does: the difference of their mean "
        "scores, Welch's $t$ and its two-sided $p$-value. Once it passes, run it on the "
        "original's cart-pole scores, `welch_test(stats.best_returns(ORIGINAL[\"reinforce-cartpole\"]), "
        "stats.best_returns(ORIGINAL[\"a2c-cartpole\"]))`: what does $p$ say, and what does it "
        "not say?"),
    reference=welch_test, cases=_welch_cases, parts=("difference", "t", "p"),
    exception_hints=((r"unequal length|same length|shape",
                      "the two groups are independent runs of two experiments and need not "
                      "have the same size: a paired test (ttest_rel) does not apply."),),
    hint="scipy.stats.ttest_ind(a, b, equal_var=False) gives t and p; the difference is "
         "mean(a) - mean(b).",
    fact=("On the original's cart-pole scores (20 runs each) Welch's p is about 0.02: a "
          "difference this large would be rare if the two algorithms had the same mean, but p "
          "says nothing about how large the difference is; its interval (chapter 5) does."),
    variants=(
        Variant("student_t_test", _student,
                "You ran Student's t-test, which pools the two variances (scipy's ttest_ind does "
                "that unless told otherwise). Welch's test does not assume that the two groups "
                "spread alike, and the runs of two algorithms rarely do.",
                "scipy.stats.ttest_ind(a, b, equal_var=False).", kind="wrong test"),
        Variant("one_sided_p",
                lambda a, b: (welch_test(a, b)[0], welch_test(a, b)[1], welch_test(a, b)[2] / 2),
                "Your p-value is half of Welch's two-sided one: a one-sided test, which would "
                "only be right if you had decided on the direction of the difference before "
                "seeing the data.",
                "the two-sided p, as ttest_ind returns it.", kind="one-sided"),
        Variant("b_minus_a",
                lambda a, b: (-welch_test(a, b)[0], -welch_test(a, b)[1], welch_test(a, b)[2]),
                "Your difference and t have the opposite sign: the difference is mean(a) - "
                "mean(b), and t has the sign of the difference.",
                "ttest_ind(a, b, ...) and np.mean(a) - np.mean(b), in that order.", kind="sign"),
        Variant("population_variances", lambda a, b: _manual_welch(a, b, ddof=0),
                "Your variances divide by n (np.var's default, ddof=0): the test's sample "
                "variances divide by n - 1, which matters with few runs.",
                "np.var(x, ddof=1), or scipy.stats.ttest_ind(a, b, equal_var=False).", kind="ddof"),
        Variant("normal_p_value", lambda a, b: _manual_welch(a, b, normal=True),
                "Your p-value comes from the normal distribution: with a few runs per group the "
                "t distribution's heavier tails matter, and the normal p is too small.",
                "p = 2 * scipy.stats.t.sf(|t|, df) with Welch's degrees of freedom, or ttest_ind.",
                kind="wrong distribution"),
    ),
))
