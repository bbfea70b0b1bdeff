"""Figures of runs: learning curves, score distributions, comparisons with the original study.

Every function takes runs (``course_rl.results.Run``, or the plain arrays dict a training
callback receives) and returns a matplotlib ``Figure``; nothing is shown or kept open.
Figures are built without pyplot, so a notebook displays a returned figure exactly once and
scripts need not close anything.

Curves are plotted against the training episode. Each run is drawn faintly, the mean of the
runs strongly, with a shaded 95% t-interval of that mean when there are two runs or more.
Runs of different lengths (the original study's interrupted runs) are each drawn in full, and
the mean and its band stop where the shortest run stops.

Taught in notebooks/05_results.ipynb.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot  # noqa: F401  (in a notebook, this sets up inline display of figures)
import numpy as np
from matplotlib.figure import Figure
from scipy import stats as st

from . import results
from . import stats
# A run's curves are read by ``results``, which owns the run format.
from .results import cycle_series, eval_series, running_mean  # noqa: F401


# ---- the one drawing helper ----------------------------------------------------------------------

def _mean_band(ax, curves, color, label=None, individual=True) -> None:
    """Draw ``(x, y)`` curves faintly (if ``individual``), their mean and its 95% t-band.

    Mean and band cover the common prefix: the length of the shortest curve.
    """
    if individual:
        for x, y in curves:
            ax.plot(x, y, color=color, alpha=0.25, lw=0.7)
    n = min(len(y) for _, y in curves)
    x = min(curves, key=lambda c: len(c[1]))[0][:n]
    ys = np.stack([y[:n] for _, y in curves])
    mean = ys.mean(axis=0)
    ax.plot(x, mean, color=color, lw=2, label=label)
    if len(curves) >= 2:
        # t-interval of the mean: mean +/- t_{0.975, k-1} * sem (written this way so that a
        # zero spread, e.g. every run at the cap, gives a zero-width band instead of NaN)
        half = st.t.interval(0.95, len(curves) - 1)[1] * st.sem(ys, axis=0)
        ax.fill_between(x, mean - half, mean + half, color=color, alpha=0.2, lw=0)


def mean_band(ax, runs, color: str, label: str | None = None, key: str = "eval",
              scale: float = 1.0, individual: bool = True) -> None:
    """Draw the mean curve of ``runs`` on ``ax`` with its 95% t-band (two runs or more).

    ``key`` "eval": greedy return at each evaluation; "train": on-policy return per cycle.
    ``scale`` multiplies the returns (e.g. 0.5 to set 1000-step episodes beside 500-step ones);
    ``individual`` also draws each run faintly. Taught in notebooks/06_vision.ipynb.
    """
    if key not in ("eval", "train"):
        raise ValueError(f"key={key!r}: choose 'eval' or 'train'")
    series = eval_series if key == "eval" else cycle_series
    curves = [(x, scale * y) for x, y in (series(r) for r in runs)]
    if not curves:
        raise ValueError("no runs to draw")
    _mean_band(ax, curves, color, label, individual)


def _runs_label(runs) -> str:
    name = runs[0].experiment if isinstance(runs[0], results.Run) else "run"
    return f"{name} ({len(runs)} run{'s' if len(runs) != 1 else ''})"


# ---- figures -------------------------------------------------------------------------------------

def training_curves(runs, title: str | None = None, axes=None, color: str = "C0",
                    extra=()) -> Figure:
    """The original study's four panels for one experiment's runs.

    (1) on-policy return per cycle, (2) greedy return at each evaluation, (3) value loss
    (RMSE) per cycle, (4) mean policy objective per cycle; one-actor runs are smoothed over
    100 episodes. Pass ``axes`` (four axes, e.g. from an earlier call's ``fig.axes``) to redraw
    in place, as a live plot does: they are cleared first. Runs in ``extra`` (e.g. interrupted
    ones, left out of the mean) are drawn dashed in grey.

    Taught in notebooks/05_results.ipynb.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no runs to plot")
    if axes is None:
        fig = Figure(figsize=(10, 6.5), layout="constrained")
        axes = fig.subplots(2, 2, sharex=True)
    axes = np.asarray(axes).ravel()
    fig = axes[0].figure
    smooth = "\n(running mean of 100)" if results.arrays_of(runs[0])["training_episode_returns"].shape[1] == 1 else ""
    panels = [
        ("train", f"on-policy return{smooth}"),
        ("eval", "greedy return\n(mean of an evaluation)"),
        ("value_rmse", f"value loss RMSE{smooth}"),
        ("mean_objective", f"mean objective{smooth}"),
    ]
    for ax, (key, ylabel) in zip(axes, panels):
        ax.clear()
        series = eval_series if key == "eval" else lambda r, k=key: cycle_series(r, k)
        _mean_band(ax, [series(r) for r in runs], color)
        for run in extra:
            ax.plot(*series(run), color="dimgrey", ls="--", lw=1)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[2:]:
        ax.set_xlabel("training episode")
    fig.suptitle(title or _runs_label(runs))
    return fig


# ---- what each update did: the per-cycle diagnostics ----------------------------------------------

DIAGNOSTIC_PANELS = (
    ("approx_kl", "approx. KL per update\n(how far the policy moved)"),
    ("clip_fraction", "clip fraction\n(ratio outside 1 ± ε)"),
    ("explained_variance", "explained variance\n(the critic; 1 is perfect)"),
    ("mean_spread", "mean spread\n(std of a mode)"),
    ("entropy_bound", "entropy bound\n(nats per action)"),
    ("grad_norm", "gradient norm\nbefore clipping"),
)
"""The six panels of :func:`diagnostics`: a trace key (``grad_norm`` draws ``policy_grad_norm``
and ``value_grad_norm``) and its axis label."""

NO_DIAGNOSTICS = "no diagnostics recorded"


def has_diagnostics(run) -> bool:
    """True when a run (a ``Run`` or its arrays) recorded per-cycle diagnostics
    (``agent.DIAGNOSTICS``) with at least one finite value: runs trained before course_rl
    recorded them (the shipped ones, the original study's) have none."""
    from .agent import DIAGNOSTICS
    a = results.arrays_of(run)
    return any(key in a and np.isfinite(np.asarray(a[key], np.float64)).any() for key in DIAGNOSTICS)


def _labelled_runs(runs) -> dict:
    """``{label: run}`` from one run (a ``Run`` or arrays), a list of runs or a dict of them."""
    if isinstance(runs, results.Run) or (isinstance(runs, dict) and "training_episode_returns" in runs):
        runs = [runs]
    if isinstance(runs, dict):
        return dict(runs)
    runs = list(runs)
    labels = [f"{r.experiment}, seed {r.seed}" if isinstance(r, results.Run) else f"run {i}"
              for i, r in enumerate(runs)]
    return dict(zip(labels, runs))


def diagnostics(runs, title: str | None = None, axes=None, config=None) -> Figure:
    """What each update of a run did, per training cycle, in six panels.

    (1) approximate KL between the policy that collected a cycle and the updated one, log
    scale (the config's ``target_kl`` dotted); (2) the fraction of the cycle's samples whose
    probability ratio ended outside ``1 ± clip_ratio`` (0.2 without clipping); (3) the
    critic's explained variance before the update (axis cut at -1); (4) the mean spread of
    the modes and (5) the policy's entropy bound: how much it still explores; (6) the policy
    (solid) and value (dashed) gradient norms before clipping, log scale (the config's
    ``max_grad_norm`` dotted). One-actor runs are also drawn as a running mean of 100 cycles.

    ``runs``: one run (a ``results.Run`` or the arrays a training callback receives), or a
    dict ``{label: run}`` to overlay several, e.g. ``{"collapsing": run_a, "healthy": run_b}``.
    ``axes``: six axes to redraw in place (``widgets.LiveBoard`` does); ``config``: the
    reference lines' config when ``runs`` are bare arrays (a ``Run`` carries its own). Each
    cycle's value is drawn as a line with ``gid`` set to its trace key. A run without
    diagnostics (trained before they were recorded) is named in the title; if none has any,
    the figure says "no diagnostics recorded".

    Taught in notebooks/05_results.ipynb.
    """
    labelled = _labelled_runs(runs)
    if not labelled:
        raise ValueError("no runs to plot")
    with_data = {k: r for k, r in labelled.items() if has_diagnostics(r)}
    without = [k for k in labelled if k not in with_data]
    if axes is None and not with_data:  # a note, not six empty panels
        fig = Figure(figsize=(7, 0.9))
        fig.text(0.5, 0.5, f"{title or ', '.join(labelled)}: {NO_DIAGNOSTICS}\n(trained before "
                 f"course_rl recorded the per-cycle diagnostics)", ha="center", va="center")
        return fig
    if axes is None:
        fig = Figure(figsize=(10, 5.2), layout="constrained")
        axes = fig.subplots(2, 3, sharex=True)
    axes = np.asarray(axes).ravel()
    if axes.size != len(DIAGNOSTIC_PANELS):
        raise ValueError(f"diagnostics draws {len(DIAGNOSTIC_PANELS)} panels, got {axes.size} axes")
    fig = axes[0].figure
    for ax, (key, ylabel) in zip(axes, DIAGNOSTIC_PANELS):
        ax.clear()
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[3:]:
        ax.set_xlabel("training episode")
    if not with_data:  # (a live board's axes)
        for ax in axes:
            ax.set_yticks([])
        axes[1].text(0.5, 0.5, f"{NO_DIAGNOSTICS}\n(trained before course_rl recorded them)",
                     transform=axes[1].transAxes, ha="center", va="center", color="dimgrey")
        fig.suptitle(f"{title or ', '.join(labelled)}: {NO_DIAGNOSTICS}")
        return fig
    for i, (label, run) in enumerate(with_data.items()):
        color = f"C{i}" if len(with_data) > 1 else "C0"
        _draw_diagnostics(axes, results.arrays_of(run), color,
                          label if len(with_data) > 1 else None,
                          run.config if isinstance(run, results.Run) else config)
    _finish_diagnostic_axes(axes)
    if len(with_data) > 1:
        axes[0].legend(fontsize=7)
    from matplotlib.lines import Line2D
    axes[5].legend([Line2D([], [], color="dimgrey"), Line2D([], [], color="dimgrey", ls="--")],
                   ["policy", "value"], fontsize=7, loc="best")
    heading = title or ", ".join(with_data)
    if without:
        heading += f" ({NO_DIAGNOSTICS} for {', '.join(without)})"
    fig.suptitle(heading)
    return fig


def _draw_diagnostics(axes, a: dict, color: str, label, config) -> None:
    actors = np.shape(a["training_episode_returns"])[1]

    def draw(ax, key, **style):
        if key not in a:
            return
        y = np.asarray(a[key], np.float64)
        x = np.arange(len(y)) * actors + actors / 2
        if actors == 1:  # one episode per update: noisy; the running mean shows the trend
            ax.plot(x, y, color=color, alpha=0.25, lw=0.6, gid=key, **style)
            finite = np.isfinite(y)  # (NaN: cycles of a resumed checkpoint from before them)
            smooth = running_mean(np.where(finite, y, 0), results.WINDOW) / np.maximum(
                running_mean(finite, results.WINDOW), 1e-12)
            ax.plot(x, np.where(running_mean(finite, results.WINDOW) > 0, smooth, np.nan),
                    color=color, lw=1.6,
                    label=label if key != "value_grad_norm" else None, **style)
        else:
            ax.plot(x, y, color=color, lw=1.4, gid=key, label=label if key != "value_grad_norm"
                    else None, **style)

    for ax, (key, _) in zip(axes, DIAGNOSTIC_PANELS):
        if key == "grad_norm":
            draw(ax, "policy_grad_norm")
            draw(ax, "value_grad_norm", ls="--")
        else:
            draw(ax, key)
    if config is not None:  # the config's limits, dotted in the run's colour
        for ax, limit, text in ((axes[0], config.target_kl, "target_kl"),
                                (axes[5], config.max_grad_norm or None, "clipped at")):
            if limit is not None:
                ax.axhline(limit, color=color, ls=":", lw=1, gid="reference")
                ax.text(0.01, limit, f" {text} {limit:g}", fontsize=7, color=color, va="bottom",
                        transform=ax.get_yaxis_transform())


def _finish_diagnostic_axes(axes) -> None:
    """Log scales where every drawn value is positive (KL, gradient norms); the explained
    variance's axis cut at -1 (a critic far worse than a constant would flatten the rest)."""
    def values(ax):
        ys = [np.asarray(line.get_ydata(), np.float64) for line in ax.get_lines()
              if line.get_gid() not in (None, "reference")]
        y = np.concatenate(ys) if ys else np.empty(0)
        return y[np.isfinite(y)]

    for index in (0, 5):
        ax, y = axes[index], values(axes[index])
        if y.size and (y > 0).all():
            ax.set_yscale("log")
            # an outlier (e.g. the first cycle's KL, while the observation scaling settles)
            # would squash every other cycle into a line: it is named instead
            usual = np.percentile(y, 95)
            if y.size >= 20 and y.max() > 100 * usual:
                ax.set_ylim(top=10 * usual)
                ax.text(0.98, 0.96, f"max {y.max():.2g} (off the chart)", fontsize=7,
                        color="dimgrey", ha="right", va="top", transform=ax.transAxes)
    y = values(axes[2])
    if y.size:
        low, high = max(y.min(), -1.0), max(y.max(), 1.0)
        axes[2].set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
    axes[1].set_ylim(-0.03, 1.03)


def crop_to_runs(fig: Figure, margin: float = 0.1) -> Figure:
    """Set each axes' y-range to its drawn curves (plus ``margin`` of their spread), not the bands.

    The 95% band of a mean of two or three runs is very wide (the t quantile is 12.7 for two
    runs and 4.3 for three), and it would otherwise set the y-range and flatten the runs
    themselves. Returns ``fig``. Taught in notebooks/06_vision.ipynb.
    """
    for ax in fig.axes:
        ys = [np.asarray(line.get_ydata(), np.float64) for line in ax.get_lines()]
        y = np.concatenate(ys) if ys else np.empty(0)
        y = y[np.isfinite(y)]
        if y.size:
            pad = margin * np.ptp(y) or 1.0
            ax.set_ylim(y.min() - pad, y.max() + pad)
    return fig


def violin(groups: dict, title: str | None = None,
           ylabel: str = "best 100-episode mean return") -> Figure:
    """Distribution of a score per run (by default each run's best greedy return) per group.

    A violin per group (when its values spread), its mean as a black bar, and every run as a
    jittered dot. Taught in notebooks/05_results.ipynb.
    """
    names = list(groups)
    values = [np.asarray(groups[k], np.float64).ravel() for k in names]
    fig = Figure(figsize=(1.6 * len(names) + 2.5, 4), layout="constrained")
    ax = fig.subplots()
    # a kernel density needs two distinct values (many cart-pole runs sit exactly at the cap)
    spread = [i for i, v in enumerate(values) if np.unique(v).size >= 2]
    if spread:
        parts = ax.violinplot([values[i] for i in spread], positions=spread, showextrema=False)
        for body, i in zip(parts["bodies"], spread):
            body.set_facecolor(f"C{i}")
            body.set_alpha(0.35)
    rng = np.random.default_rng(0)
    for i, v in enumerate(values):
        ax.scatter(i + rng.uniform(-0.08, 0.08, v.size), v, s=12, color=f"C{i}", zorder=3)
        ax.hlines(v.mean(), i - 0.25, i + 0.25, color="black", lw=2, zorder=4)
    ax.set_xticks(range(len(names)), [f"{k}\n(n={v.size})" for k, v in zip(names, values)],
                  fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def compare_curves(groups: dict, key: str = "eval", title: str | None = None,
                   figsize: tuple[float, float] = (7, 4)) -> Figure:
    """Mean curves of several groups of runs on one axes, each with its 95% band.

    ``key`` "eval": greedy return at each evaluation; "train": on-policy return per cycle.
    ``figsize`` in inches (a smaller figure keeps a notebook's stored outputs small).
    E.g. ``{"original study": load_original(...), "this reproduction": load_runs(...)}``.
    Taught in notebooks/05_results.ipynb.
    """
    if key not in ("eval", "train"):
        raise ValueError(f"key={key!r}: choose 'eval' or 'train'")
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    series = eval_series if key == "eval" else cycle_series
    for i, (name, runs) in enumerate(groups.items()):
        if runs:
            _mean_band(ax, [series(r) for r in runs], f"C{i}", f"{name} (n={len(runs)})",
                       individual=False)
    ax.set_xlabel("training episode")
    ax.set_ylabel("greedy return" if key == "eval" else "on-policy return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def image_grid(images, titles=None, ncols: int | None = None, size: float = 1.2,
               title: str | None = None, cmap: str | None = None) -> Figure:
    """A grid of images without axes: uint8 RGB frames, or 2-d maps drawn with ``cmap``.

    ``ncols`` images per row (default: all in one row), each ``size`` inches wide, with an
    optional title over each (``titles``) and over the grid (``title``).
    Taught in notebooks/06_vision.ipynb.
    """
    images = list(images)
    if not images:
        raise ValueError("no images to show")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    fig = Figure(figsize=(size * ncols, size * nrows + 0.3 * bool(title)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(images):
            ax.axis("off")
            continue
        ax.imshow(images[k], interpolation="nearest", cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("0.8")
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


# ---- the persistence x entropy-weight sweep --------------------------------------------------------

def sweep_heatmap(ax, scores, persistences, entropy_weights, counts=None,
                  label: str = "mean score"):
    """Draw a grid of scores (rows: persistences, columns: entropy weights) as a heatmap.

    ``scores[i, j]`` is the mean score at ``(persistences[i], entropy_weights[j])``, NaN where
    no run was computed (drawn grey, "n/a"); ``counts[i, j]`` (optional) is printed under each
    score as the number of runs. Returns the image. (:func:`sweep_figure` and
    ``widgets.sweep_explorer`` draw the sweep with it.)
    """
    from matplotlib import colormaps

    scores = np.asarray(scores, np.float64)
    if scores.shape != (len(persistences), len(entropy_weights)):
        raise ValueError(f"scores of shape {scores.shape} for {len(persistences)} persistences "
                         f"and {len(entropy_weights)} entropy weights")
    finite = scores[np.isfinite(scores)]
    low, high = (finite.min(), max(finite.max(), finite.min() + 1)) if finite.size else (0, 1)
    image = ax.imshow(np.ma.masked_invalid(scores), origin="lower", aspect="auto", vmin=low,
                      vmax=high, cmap=colormaps["viridis"].with_extremes(bad="lightgrey"))
    ax.figure.colorbar(image, ax=ax, label=label)
    middle = finite.mean() if finite.size else 0.0
    for i, j in np.ndindex(scores.shape):
        value = scores[i, j]
        if np.isnan(value):
            ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="dimgrey")
            continue
        text = f"{value:.0f}" + (f"\n(n={int(counts[i][j])})" if counts is not None else "")
        ax.text(j, i, text, ha="center", va="center", fontsize=7,
                color="black" if value > middle else "white")
    ax.set_xticks(range(len(entropy_weights)), [f"{b:g}" for b in entropy_weights])
    ax.set_yticks(range(len(persistences)), [f"{p:g}" for p in persistences])
    ax.set_xlabel("entropy weight β")
    ax.set_ylabel("persistence p")
    return image


def sweep_figure(points: dict, persistences, entropy_weights,
                 ylim: tuple[float, float] | None = None) -> Figure:
    """The sweep at a glance: the mean score of each grid point as a heatmap (left), and the
    same means with their 95% t-intervals against the persistence, one line per entropy
    weight (right).

    ``points``: ``{(persistence, entropy_weight): runs}`` (``widgets.find_sweep``); grid points
    without runs are left grey. ``ylim``: the right panel's y-range.
    Taught in notebooks/05_results.ipynb.
    """
    if not points:
        raise ValueError("no sweep points to draw")
    table = {key: stats.describe(stats.best_returns(runs)) for key, runs in points.items()}
    P, B = list(persistences), list(entropy_weights)
    scores = np.array([[table[(p, b)].mean if (p, b) in table else np.nan for b in B] for p in P])
    counts = np.array([[table[(p, b)].n if (p, b) in table else 0 for b in B] for p in P])
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.4))
    sweep_heatmap(left, scores, P, B, counts)
    for j, b in enumerate(B):
        rows = [(i, table[(p, b)]) for i, p in enumerate(P) if (p, b) in table]
        if rows:
            x = np.array([i for i, _ in rows]) + 0.08 * (j - 1)
            mean = np.array([d.mean for _, d in rows])
            half = np.array([d.ci_high - d.mean if d.n > 1 else 0 for _, d in rows])
            right.errorbar(x, mean, yerr=half, marker="o", capsize=3, label=f"β = {b:g}")
    right.set(xticks=range(len(P)), xticklabels=[f"{p:g}" for p in P], xlabel="persistence p",
              ylabel="mean score (95% CI)", title="score of the grid points")
    if ylim is not None:
        right.set_ylim(*ylim)
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    return fig


# ---- all figures of a results folder -------------------------------------------------------------

def _original_runs(experiment: str) -> list:
    """The original study's complete runs of ``experiment``, or [] if it has none."""
    try:
        return stats.complete_runs(results.load_original(experiment))
    except ValueError:
        return []


def write_figures(root, experiments, backend: str, out_dir) -> list[Path]:
    """Write the figures of every experiment found under ``root`` to ``out_dir`` as PNG.

    ``<exp>-curves.png`` per experiment, ``<exp>-vs-original.png`` where the original study
    has runs of it, and ``<task>-violin.png`` per task with both reinforce-* and a2c-* runs.
    Returns the written paths. Behind ``course-rl plot``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name):
        path = out_dir / name
        fig.savefig(path, dpi=100, bbox_inches="tight")
        fig.clear()
        written.append(path)

    by_task: dict[str, dict] = {}
    for exp in experiments:
        runs = results.load_runs(root, exp, backend)
        if not runs:
            continue
        original = _original_runs(exp)
        save(training_curves(runs, title=f"{exp} ({backend}, {len(runs)} runs)"), f"{exp}-curves.png")
        if original:
            save(compare_curves({"original study": original, "this reproduction": runs},
                                title=f"{exp}: greedy return"), f"{exp}-vs-original.png")
        groups = by_task.setdefault(runs[0].config.task, {})
        groups[exp] = stats.best_returns(runs)
        if original:
            groups[f"{exp} (original)"] = stats.best_returns(original)
    for task, groups in by_task.items():
        if any(k.startswith("reinforce-") for k in groups) and any(k.startswith("a2c-") for k in groups):
            save(violin(groups, title=f"{task}: best greedy return per run"), f"{task}-violin.png")
    return written
