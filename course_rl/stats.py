"""Statistics over runs: the original study's mean +/- std, confidence intervals, comparisons.

The score of a run is its best greedy 100-episode mean return (``best_eval_return``), as in the
original study, which printed mean +/- population standard deviation (ddof=0) over seeds. A
best-of-evaluations score hides a run that peaks and falls back, so each run also has a
``final`` score (its last evaluation, the policy it ends with) and a ``last quarter`` score (the
mean of the last quarter of its evaluations); ``summary_rows`` and
``summary_table`` give all three per experiment.

Taught in notebooks/05_results.ipynb.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

from . import results


@dataclass(frozen=True)
class Description:
    n: int
    mean: float
    std: float          # population std (ddof=0), as the original printed it
    ci_low: float       # 95% t-interval of the mean
    ci_high: float

    def __str__(self):
        return f"{self.mean:.2f} +/- {self.std:.2f}"


def describe(values) -> Description:
    """Mean, population std and the 95% t-interval of the mean of ``values``."""
    x = np.asarray(values, np.float64)
    if x.size == 0:
        raise ValueError("no values to describe")
    mean = float(x.mean())
    if x.size < 2:
        return Description(1, mean, 0.0, float("nan"), float("nan"))
    sem = st.sem(x)
    if sem == 0:  # all runs equal (e.g. every cart-pole run at the 1000-step cap)
        return Description(int(x.size), mean, 0.0, mean, mean)
    low, high = st.t.interval(0.95, x.size - 1, loc=mean, scale=sem)
    return Description(int(x.size), mean, float(x.std()), float(low), float(high))


@dataclass(frozen=True)
class Comparison:
    difference: float      # mean(a) - mean(b)
    welch_t: float
    welch_p: float
    bootstrap_low: float   # 95% bootstrap CI of the difference of means
    bootstrap_high: float

    @property
    def interval_excludes_zero(self) -> bool:
        """True when the bootstrap interval lies wholly above or wholly below 0."""
        return self.bootstrap_low > 0 or self.bootstrap_high < 0


def compare(a, b, seed: int = 0) -> Comparison:
    """Welch's t-test and a bootstrap 95% interval of ``mean(a) - mean(b)``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"compare needs at least 2 values in each group (one per run), "
                         f"got {a.size} and {b.size}")
    with warnings.catch_warnings():
        # a group of identical scores (e.g. every run at the 1000-step cap) has variance 0,
        # which Welch's test handles exactly; scipy still warns about its moment calculation
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        t, p = st.ttest_ind(a, b, equal_var=False)
    boot = st.bootstrap((a, b), lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
                        n_resamples=5000, confidence_level=0.95, method="percentile",
                        random_state=np.random.default_rng(seed))
    return Comparison(float(a.mean() - b.mean()), float(t), float(p),
                      float(boot.confidence_interval.low), float(boot.confidence_interval.high))


MIN_RUNS = 5
"""Fewest runs per group :func:`versus` compares: a bootstrap over fewer seeds understates the
uncertainty."""


def versus(label: str, a, b, min_runs: int = MIN_RUNS) -> str:
    """One line on ``mean(a) - mean(b)``: the difference, its bootstrap 95% interval, Welch's p,
    and what they show together.

    A difference is called "higher" or "lower" only when the interval excludes 0 *and* p < 0.05;
    "weakly" when only one of the two says so; otherwise "no difference shown". With fewer than
    ``min_runs`` values in a group the line says that the comparison waits for more runs.

    Taught in notebooks/05_results.ipynb.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if min(a.size, b.size) < min_runs:
        return f"{label}: {a.size} and {b.size} runs; a comparison waits for {min_runs} of each"
    c = compare(a, b)
    direction = "higher" if c.difference > 0 else "lower"
    if c.interval_excludes_zero and c.welch_p < 0.05:
        verdict = f"{direction} (the interval excludes 0 and p < 0.05)"
    elif c.interval_excludes_zero:
        verdict = f"weakly {direction} (the interval excludes 0, but p >= 0.05)"
    elif c.welch_p < 0.05:
        verdict = f"weakly {direction} (p < 0.05, but the interval includes 0)"
    else:
        verdict = "no difference shown (the interval includes 0)"
    return (f"{label} = {c.difference:+.1f}, bootstrap 95% CI [{c.bootstrap_low:+.1f}, "
            f"{c.bootstrap_high:+.1f}], Welch p = {c.welch_p:.3g}: {verdict}")


def evaluation_summary(runs) -> dict[str, float]:
    """Means over ``runs`` of each run's ``first``, ``last``, ``average`` and ``best`` greedy
    evaluation (the mean return of an evaluation round). ``best`` is the score.

    Taught in notebooks/05_results.ipynb.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no runs to summarise")
    curves = [results.eval_series(r)[1] for r in runs]
    return {name: float(np.mean([f(y) for y in curves]))
            for name, f in (("first", lambda y: y[0]), ("last", lambda y: y[-1]),
                            ("average", np.mean), ("best", np.max))}


def cross_validated_r2(inputs, targets, groups, folds: int = 5) -> np.ndarray:
    """Held-out R^2 of a linear least-squares read-out of ``targets`` from ``inputs``, per column.

    The samples are split into ``folds`` by ``groups % folds`` (e.g. the episode a sample
    comes from, so that no fold is fitted on the neighbours of the samples it predicts); each
    fold is predicted by the least-squares fit (with an intercept) to the other folds. R^2 is
    ``1 - SSE / SST`` of those held-out predictions: 1 is perfect, 0 is no better than the
    mean, below 0 is worse.

    Taught in notebooks/06_vision.ipynb.
    """
    x = np.asarray(inputs, np.float64)
    y = np.asarray(targets, np.float64)
    groups = np.asarray(groups)
    if x.ndim != 2 or y.ndim not in (1, 2) or len(x) != len(y) or len(groups) != len(x):
        raise ValueError(f"inputs (n, k), targets (n,) or (n, m) and groups (n,) must have one "
                         f"row per sample, got {x.shape}, {y.shape}, {groups.shape}")
    column = y.ndim == 1
    y = y.reshape(len(y), -1)
    design = np.c_[x, np.ones(len(x))]
    predicted = np.zeros_like(y)
    for fold in range(folds):
        test = groups % folds == fold
        if test.all() or not test.any():
            raise ValueError(f"fold {fold} of {folds} (groups % {folds}) holds "
                             f"{'every' if test.all() else 'no'} sample; use more groups")
        weights, *_ = np.linalg.lstsq(design[~test], y[~test], rcond=None)
        predicted[test] = design[test] @ weights
    r2 = 1 - ((y - predicted) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    return r2[0] if column else r2


def best_returns(runs) -> np.ndarray:
    """Each run's best greedy 100-episode mean (the original's score); runs of different task
    versions are refused (``results.require_one_task_version``)."""
    results.require_one_task_version(runs)
    return np.array([r.best_eval_return for r in runs])


def best_returns_at(runs, episodes) -> np.ndarray:
    """Each run's best greedy mean over its evaluations at the given training ``episodes`` only.

    A best-of-evaluations score grows with the number of evaluations, so runs evaluated on
    different schedules are compared at their common evaluation points (e.g. the pixel runs,
    evaluated every 250 episodes, against proprioceptive runs evaluated every 50).
    """
    results.require_one_task_version(runs)
    wanted = np.asarray(sorted(set(float(e) for e in episodes)))
    scores = []
    for run in runs:
        x, y = results.eval_series(run)
        keep = np.isin(x, wanted)
        missing = np.setdiff1d(wanted, x)
        if missing.size:
            raise ValueError(f"run {getattr(run, 'path', run)} was not evaluated at episodes "
                             f"{missing.astype(int).tolist()}")
        scores.append(y[keep].max())
    return np.array(scores)


def complete_runs(runs) -> list:
    """The runs that trained as many episodes as the longest of them.

    The original study's reinforce-cheetah seeds 12 and 14 were interrupted (851 and 51 of
    2500 episodes); its printed table counts only its complete seeds 0-11.
    """
    runs = list(runs)
    if not runs:
        return runs
    longest = max(r["training_episode_returns"].size for r in runs)
    return [r for r in runs if r["training_episode_returns"].size == longest]


def final_returns(runs) -> np.ndarray:
    """Each run's last greedy evaluation (its mean return): the policy the run ends with."""
    results.require_one_task_version(runs)
    return np.array([results.eval_series(r)[1][-1] for r in runs])


def last_quarter_return(run) -> float:
    """Mean of the last quarter of one run's greedy evaluations (each a mean return): the last
    ``n // 4`` of its ``n`` evaluations, at least one. A run evaluated at 0, 250, ..., 2500
    episodes (11 evaluations) averages those at 2250 and 2500; one evaluated every 50 episodes
    (51), the 12 from 1950 to 2500. (The rule of the scores recorded for issue 19, e.g.
    ``course_rl/data/superseded/*.json``.)"""
    y = results.eval_series(run)[1]
    return float(y[-max(1, y.size // 4):].mean())


def last_quarter_returns(runs) -> np.ndarray:
    """``last_quarter_return`` of each run (runs of different task versions are refused)."""
    results.require_one_task_version(runs)
    return np.array([last_quarter_return(r) for r in runs])


@dataclass(frozen=True)
class SummaryRow:
    """One experiment's line of ``summary_table``: its three scores over its runs.

    ``best``, ``final`` and ``last_quarter`` describe (``describe``) the runs' best evaluation,
    last evaluation and last-quarter mean. ``source`` is "ours" or "original study" (the
    original's complete runs); ``original`` names the original experiment that ``welch_p``
    (Welch's test of the best scores) compares with, or is None; ``task_version`` is the runs'
    and ``current_version`` the task's version today ("" for the original's runs).
    """
    experiment: str
    source: str
    best: Description
    final: Description
    last_quarter: Description
    original: str | None = None
    welch_p: float = float("nan")
    task_version: str = ""
    current_version: str = ""

    @property
    def n(self) -> int:
        return self.best.n

    @property
    def older_task(self) -> bool:
        """True when the runs were made on an older version of their task than today's."""
        return self.task_version != self.current_version


def _scores(runs) -> tuple[np.ndarray, Description, Description, Description]:
    best = best_returns(runs)
    return (best, describe(best), describe(final_returns(runs)),
            describe(last_quarter_returns(runs)))


VARIANT_SUFFIXES = ("-action", "-wide", "-improved", "-stable", "-defect1")
"""An experiment named ``<original>`` plus one or more of these (``a2c-cheetah-stable-wide``) is
compared with the original's runs."""


def _original_of(name: str, backend: str) -> str | None:
    """The original experiment an experiment is set beside: itself, or the one an ``-improved``
    (``-stable``, ``-defect1``) variant changes; None on another backend than pybullet (the original
    ran on pybullet only; returns differ between engines) and for the pixel experiments (the
    original's two pixel runs were interrupted, ran episodes of up to 1000 steps and were
    evaluated every 50 episodes: notebooks/06_vision.ipynb compares them with care)."""
    if backend != "pybullet":
        return None
    for suffix in VARIANT_SUFFIXES:
        name = name.removesuffix(suffix)
    return None if name.endswith("-pixels") else name


def summary_rows(root, experiments, backend: str = "pybullet") -> list[SummaryRow]:
    """The rows of ``summary_table``: one per experiment with runs under ``root`` (in the order
    given), then one per original experiment they are compared with (``source`` "original
    study", its complete runs, ``complete_runs``).

    An experiment whose runs cannot be summarised (e.g. runs of different task versions) is
    left out with a ``results.SkippedRunWarning`` naming it. E.g. the final scores of every
    experiment: ``{r.experiment: r.final.mean for r in summary_rows(root, names)}``.

    Taught in notebooks/05_results.ipynb.
    """
    from .tasks import observation_options, version as current_version

    ours, originals = [], {}
    for name in experiments:
        try:
            runs = results.load_runs(root, name, backend)
            if not runs:
                continue
            best, *described = _scores(runs)
            parent = _original_of(name, backend)
            if parent is not None and parent not in originals:
                try:
                    originals[parent] = complete_runs(results.load_original(parent))
                except ValueError:  # the original study has no runs of it
                    originals[parent] = []
            p = float("nan")
            if parent is not None and originals[parent] and len(runs) > 1 and len(originals[parent]) > 1:
                p = compare(best, best_returns(originals[parent])).welch_p
            ours.append(SummaryRow(name, "ours", *described,
                                   original=parent if originals.get(parent) else None, welch_p=p,
                                   task_version=runs[0].task_version,
                                   current_version=current_version(runs[0].config.task, backend,
                                                                  **observation_options(runs[0].config))))
        except ValueError as err:  # (ResultsError too) one experiment's trouble is not the table's
            warnings.warn(f"{name} ({backend}): left out of the table: {err}",
                          results.SkippedRunWarning, stacklevel=2)
    compared = {row.original for row in ours if row.original is not None}
    rows = list(ours)
    for parent, runs in originals.items():
        if parent in compared:
            rows.append(SummaryRow(parent, "original study", *_scores(runs)[1:]))
    return rows


def _mean_text(mean: float) -> str:
    """A mean as the table prints it: one decimal below 100 in size, none from 100 on (the
    interval beside it has none), so that the table fits 120 columns."""
    return f"{mean:.0f}" if abs(mean) >= 100 else f"{mean:.1f}"


def _cell(d: Description) -> str:
    """``mean [low, high]`` of a description (the mean alone for a single run)."""
    if d.n < 2:
        return _mean_text(d.mean)
    return f"{_mean_text(d.mean)} [{d.ci_low:.0f}, {d.ci_high:.0f}]"


def _version_number(task_version: str) -> str:
    return task_version.split("+")[0].rsplit("/", 1)[-1]


def summary_table(root, experiments, backend: str = "pybullet") -> str:
    """The table ``course-rl summary`` prints: per experiment, the mean over its runs of three
    scores, each with its 95% t-interval, then the original study's runs of the experiments
    compared with it (on pybullet).

    ``best``: each run's best greedy 100-episode mean (the original study's score, which it
    printed as mean +/- std: ``describe``); ``final``: its last evaluation; ``last quarter``:
    the mean of the last quarter of its evaluations (``last_quarter_return``).
    ``p``: Welch's test of the best scores against the original study's runs of the same
    experiment (for an ``-improved``, ``-stable`` or ``-defect1`` variant: of the one it changes). ``task``:
    the task version the runs were made on, starred when the task has changed since.
    Fits 120 columns. The rows as data: ``summary_rows``.

    Taught in notebooks/05_results.ipynb.
    """
    rows = summary_rows(root, experiments, backend)
    header = ("experiment", "n", "best", "final", "last quarter", "p", "task")
    ours = [r for r in rows if r.source == "ours"]
    originals = [r for r in rows if r.source != "ours"]

    def cells(r: SummaryRow) -> tuple:
        p = "-" if np.isnan(r.welch_p) else f"{r.welch_p:.2g}"
        task = "-" if r.source != "ours" else _version_number(r.task_version) + "*" * r.older_task
        return (r.experiment, str(r.n), _cell(r.best), _cell(r.final), _cell(r.last_quarter), p, task)

    table = [header] + [cells(r) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(header))]
    right = {1}  # n is right-aligned

    def line(t):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(t, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [line(header), rule] + [line(cells(r)) for r in ours]
    if originals:
        lines += [rule, "the original study (its complete runs, pybullet-gym):"]
        lines += [line(cells(r)) for r in originals]
    notes = [f"best = each run's best greedy 100-episode mean return (the original's score); final "
             f"= its last evaluation; last quarter = the mean of the last quarter of its "
             f"evaluations. Shown: the mean over runs [95% CI]. Backend {backend}."]
    if originals:
        notes.append("p = Welch's test of best against the original study's runs of the "
                     "experiment (of a variant, e.g. -improved, -stable, -stable-wide or -defect1: of "
                     "the original it changes).")
    elif backend != "pybullet":
        notes.append(f"p = Welch's test of best against the original study: none on {backend}.")
    older = sorted({_current(r) for r in ours if r.older_task})
    if older:
        notes.append("task* = runs of an older task version than today's (" + ", ".join(older) + ").")
    if any("-pixels" in r.experiment for r in ours):
        notes.append("The pixel experiments are not compared with the original's (see chapter 6).")
    lines.append("")
    for note in notes:
        lines += _wrap(note, 118)
    return "\n".join(lines)


def _current(row: SummaryRow) -> str:
    task, _, number = row.current_version.split("+")[0].split("/")
    return f"{task} now {number}"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap
    return textwrap.wrap(text, width, break_on_hyphens=False, subsequent_indent="  ")
