"""Interactive pieces of the notebooks: a live training board, sliders over the policy and the sweep.

* ``LiveBoard``: the four training panels, redrawn in place while a run trains (pass it as
  the ``callback`` of ``training.train``), and on request the per-cycle diagnostics under them.
* ``policy_explorer()``: persistence, modes, temperature and spread of the mixture policy, and
  the exploration they produce, redrawn as the sliders move.
* ``sweep_explorer()``: the precomputed persistence x entropy-weight sweep, browsed by sliders.
* ``live_run_panel()``: sliders and a Run button that train an A2C/REINFORCE run live.

Every widget draws itself once when it is built, with its default values, and never waits for
input, so a notebook that builds them runs top to bottom unattended (CI, nbval). Figures are
rendered to PNG and shown in ``ipywidgets.Image`` widgets (or, for a bare ``LiveBoard``, in one
updatable notebook display), which works the same in Jupyter, JupyterLab and Colab.

A first look without a kernel: the widgets above display as one output holding the live widget
*and* a PNG picture of their state when displayed (``Panel``), with a one-line note as the text
fallback. A live JupyterLab, Colab or VS Code shows the widget; where no widget can run (GitHub,
nbviewer without widget state, JupyterLab before the notebook is trusted) the picture shows.
Controls wrap to the output's width (a 1024-px window with the file browser open fits them).

Set the environment variable ``COURSE_RL_FAST=1`` to make runs tiny (see ``fast_mode``).

Imported in a notebook kernel, this module shows warnings in one line, ``Kind: message``,
without the file they were raised in (``one_line_warning``): a notebook's stored outputs would
otherwise carry a temporary cell file's or the package's install path.

Taught in notebooks/02_policy_distribution.ipynb, 03_reinforce.ipynb, 04_a2c.ipynb.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
import math
import os
import re
import signal
import threading
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from . import config as cfg
from . import plots, results
from . import policy as mix

FAST_ENV = "COURSE_RL_FAST"


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning as ``Kind: message`` on one line, without where it was raised (a
    ``warnings.showwarning``, installed when this module is imported in a notebook kernel)."""
    import sys

    text = " ".join(str(message).split())
    print(f"{category.__name__}: {text}", file=file if file is not None else sys.stderr)


def _in_notebook_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return type(get_ipython()).__name__ == "ZMQInteractiveShell"


if _in_notebook_kernel():
    warnings.showwarning = one_line_warning


def fast_mode() -> bool:
    """True when ``COURSE_RL_FAST`` is set to anything but "", "0", "false", "no" or "off".

    Notebooks use it to shrink their runs so that CI executes every notebook in minutes.
    Taught in notebooks/03_reinforce.ipynb.
    """
    return os.environ.get(FAST_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def figure_png(fig: Figure, dpi: float = 80) -> bytes:
    """Render a matplotlib figure to PNG bytes (no pyplot, no GUI)."""
    buf = io.BytesIO()
    # light compression: these PNGs are redrawn often and never stored
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _widgets():
    import ipywidgets
    return ipywidgets


# ---- layout and the static first look --------------------------------------------------------------

def _slider_layout():
    """Sliders take their column's width (read-outs stay visible in a narrow output area)."""
    return _widgets().Layout(width="100%", min_width="240px", max_width="460px")


def _controls(*columns):
    """Columns of controls side by side, wrapping under each other when the output is narrow."""
    w = _widgets()
    boxes = [w.VBox(list(c), layout=w.Layout(flex="1 1 300px", min_width="240px",
                                              max_width="470px"))
             if isinstance(c, (list, tuple)) else c for c in columns]
    return w.HBox(boxes, layout=w.Layout(flex_flow="row wrap", width="100%",
                                         align_items="flex-start"))


def _image(**layout):
    """An Image widget shown at the PNG's own size (a flex box would stretch it, blurred),
    shrunk only when the output is narrower."""
    w = _widgets()
    return w.Image(format="png", layout=w.Layout(align_self="flex-start", max_width="100%",
                                                 height="auto", **layout))


def _plain(text: str) -> str:
    """HTML read-out to one line of plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def card_png(lines, width: int, title: str | None = None, dpi: float = 80) -> bytes:
    """PNG of a few lines of text, ``width`` pixels wide: the static stand-in for controls."""
    import textwrap
    chars = max(20, int(width / (0.56 * 11 * dpi / 72)))  # about 0.56 em per character
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, chars) or [""]
    rows = len(wrapped) + (title is not None)
    height = (rows * 11 * 1.45 + 14) / 72  # inches
    fig = Figure(figsize=(width / dpi, height), dpi=dpi)
    y = 1.0 - 7 / 72 / height
    step = 11 * 1.45 / 72 / height
    if title is not None:
        fig.text(0.012, y, title, fontsize=11, weight="bold", va="top")
        y -= step
    for line in wrapped:
        fig.text(0.012, y, line, fontsize=11, va="top", family="DejaVu Sans")
        y -= step
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="#f5f5f5")
    return buf.getvalue()


def _png_width(png: bytes) -> int:
    return int.from_bytes(png[16:20], "big")  # the IHDR chunk's width


def stack_png(*pngs: bytes) -> bytes:
    """PNGs stacked top to bottom on white (left-aligned), as one well-compressed PNG."""
    import PIL.Image
    images = [PIL.Image.open(io.BytesIO(p)).convert("RGB") for p in pngs if p]
    out = PIL.Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)),
                        "white")
    y = 0
    for image in images:
        out.paste(image, (0, y))
        y += image.height
    buf = io.BytesIO()
    out.save(buf, format="png", optimize=True)
    return buf.getvalue()


@functools.cache
def _panel_class():
    w = _widgets()

    class Panel(w.VBox):
        """A ``VBox`` that a notebook stores with a static picture of itself.

        Its ``static_view`` (a function returning ``(png_bytes, note)``) is called when the
        panel is displayed: the output then holds the live widget, the PNG and the one-line
        note as ``text/plain`` (instead of the repr ``VBox(children=(...``).
        """

        static_view = None

        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            if self.static_view is not None:
                png, note = self.static_view()
                bundle["image/png"] = base64.b64encode(png).decode("ascii")
                bundle["text/plain"] = note
            return bundle

    return Panel


def panel(children, static_view):
    """A ``VBox`` of ``children`` displayed with a static picture (see ``Panel``):
    ``static_view()`` returns ``(png_bytes, one_line_note)``."""
    box = _panel_class()(children)
    box.static_view = static_view
    return box


# ---- the live training board ---------------------------------------------------------------------

class LiveBoard:
    """The four training panels of a run, redrawn in place while it trains (as d2l's ProgressBoard).

    Use it as the callback of ``training.train``::

        board = LiveBoard(cycles=config.cycles)
        run = training.train(config, callback=board)     # or callback=board.update
        board.close(run)                                  # final draw, with the last evaluation

    With ``diagnostics=True`` (or after ``set_diagnostics(True)``) a second block under them
    shows what each update did, as ``plots.diagnostics`` draws it: approximate KL, clip
    fraction, explained variance, mean spread, entropy bound and gradient norms per cycle.

    ``update(arrays, cycle)`` redraws ``plots.training_curves`` in the same figure, at most every
    ``every_seconds`` (and never more than a quarter of the time: a slow redraw spaces the next
    one out), and always when ``cycle == cycles``; the other calls return at once.

    Parameters
    ----------
    cycles : int or None
        The run's number of cycles (``config.cycles``), so the last cycle is always drawn.
    title : str or None
        Figure title.
    every_seconds : float
        Minimum time between two redraws.
    image : ipywidgets.Image or None
        Draw into this widget (as ``live_run_panel`` does). By default the board shows itself
        as one notebook output that each redraw replaces (``display(..., display_id=True)``).
    show : bool
        False: draw but display nothing (outside IPython nothing is displayed anyway).
    diagnostics : bool
        Also draw the per-cycle diagnostics, in a second block of six panels
        (``diagnostic_axes``); a run without them (older code) gets "no diagnostics recorded".
    config : Config or None
        The run's config, for the diagnostics' reference lines (``target_kl``, ``max_grad_norm``).

    Taught in notebooks/03_reinforce.ipynb.
    """

    DIAGNOSTICS_HEIGHT = 3.9  # inches added under the four panels by the diagnostics

    def __init__(self, cycles: int | None = None, title: str | None = None,
                 every_seconds: float = 0.75, image=None, show: bool = True,
                 figsize=(9.0, 5.6), dpi: float = 80, color: str = "C0",
                 diagnostics: bool = False, config=None):
        self.cycles = cycles
        self.title = title
        self.every_seconds = float(every_seconds)
        self.image = image
        self.show = show
        self.dpi = dpi
        self.color = color
        self.figsize = tuple(figsize)
        self.config = config
        self.diagnostics = bool(diagnostics)
        self._lock = threading.RLock()  # a toggle (widget thread) against a redraw (the run's)
        self._build_figure()
        self.handle = None
        self.arrays = None
        self.cycle = None
        self.draws = 0          # how many times the figure was redrawn
        self.draw_seconds = 0.0  # time spent redrawing, in all
        self._last_draw = -math.inf
        self._last_cost = 0.0
        self._pending = False    # an update arrived since the last draw

    def update(self, arrays: dict, cycle: int) -> bool:
        """Record the run so far; redraw if enough time has passed or this is the last cycle.

        Returns whether it redrew.
        """
        self.arrays, self.cycle, self._pending = arrays, cycle, True
        last = self.cycles is not None and cycle >= self.cycles
        gap = max(self.every_seconds, 4 * self._last_cost)
        if last or time.perf_counter() - self._last_draw >= gap:
            self.draw()
            return True
        return False

    __call__ = update

    def _build_figure(self) -> None:
        """The figure: the four training panels (``axes``), and under them the six diagnostic
        panels (``diagnostic_axes``, else None) when ``diagnostics`` is on."""
        width, height = self.figsize
        if not self.diagnostics:
            self.fig = Figure(figsize=(width, height), layout="constrained")
            self.axes = self.fig.subplots(2, 2, sharex=True)
            self.training_figure = self.fig
            self.diagnostic_axes = None
            return
        self.fig = Figure(figsize=(width, height + self.DIAGNOSTICS_HEIGHT), layout="constrained")
        top, bottom = self.fig.subfigures(2, 1, height_ratios=(height, self.DIAGNOSTICS_HEIGHT))
        self.training_figure = top
        self.axes = top.subplots(2, 2, sharex=True)
        self.diagnostic_axes = bottom.subplots(2, 3, sharex=True)

    def set_diagnostics(self, on: bool) -> None:
        """Show (True) or hide the diagnostic panels; redraws at once if a run was drawn."""
        with self._lock:
            if bool(on) == self.diagnostics:
                return
            self.diagnostics = bool(on)
            self._build_figure()
            if self.arrays is not None:
                self.draw()

    def draw(self) -> None:
        """Redraw now with the latest arrays."""
        with self._lock:
            if self.arrays is None:
                return
            started = time.perf_counter()
            cycle = f", cycle {self.cycle}" + (f" of {self.cycles}" if self.cycles else "")
            plots.training_curves([self.arrays], title=f"{self.title or 'training'}{cycle}",
                                  axes=self.axes, color=self.color)
            if self.diagnostic_axes is not None:
                plots.diagnostics(self.arrays, title="what each update did", config=self.config,
                                  axes=self.diagnostic_axes)
            if self.cycles:  # the whole run's width from the start: the curves grow to the right
                actors = np.shape(self.arrays["training_episode_returns"])[1]
                self.axes[0, 0].set_xlim(0, self.cycles * actors)
                if self.diagnostic_axes is not None:
                    self.diagnostic_axes[0, 0].set_xlim(0, self.cycles * actors)
            self._mark_sparse_lines()
            self._show(figure_png(self.fig, self.dpi))
            self._pending = False
            self._last_draw = time.perf_counter()
            self._last_cost = self._last_draw - started
            self.draw_seconds += self._last_cost
            self.draws += 1

    def _all_axes(self) -> list:
        extra = [] if self.diagnostic_axes is None else list(self.diagnostic_axes.ravel())
        return list(self.axes.ravel()) + extra

    def _mark_sparse_lines(self) -> None:
        from matplotlib.ticker import MaxNLocator
        for ax in self._all_axes():
            # a curve of one point is invisible as a line (the first cycle, the first
            # evaluation): few points get markers
            for line in ax.get_lines():
                if line.get_gid() == "reference":  # a config's limit (plots.diagnostics)
                    continue
                if len(line.get_xdata()) <= 25:
                    line.set_marker("o")
                    line.set_markersize(4 if len(line.get_xdata()) > 1 else 6)
            # a short run (fast mode) would get ticks at 2.5, 7.5, ... episodes
            ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))

    def _show(self, png: bytes) -> None:
        if self.image is not None:
            self.image.value = png
            self.image.layout.display = None
        elif self.show and _in_ipython():
            from IPython.display import display
            bundle = {"image/png": base64.b64encode(png).decode("ascii"),
                      "text/plain": f"training board: {self.title or 'training'}"}
            if self.handle is None:
                self.handle = display(bundle, raw=True, display_id=True)
            else:
                self.handle.update(bundle, raw=True)

    def blank(self, note: str = "starting...") -> None:
        """Draw the four panels empty, titled with ``note``: what a new run shows at once,
        before its first cycle (loading TensorFlow and building environments takes seconds)."""
        titles = ("on-policy return", "greedy return (mean of an evaluation)",
                  "value loss RMSE", "mean objective")
        with self._lock:
            for ax, ylabel in zip(self.axes.ravel(), titles):
                ax.clear()
                ax.set_ylabel(ylabel, fontsize=9)
                ax.grid(alpha=0.3)
            for ax in self.axes[1]:
                ax.set_xlabel("training episode")
            if self.diagnostic_axes is not None:
                for ax, (_, ylabel) in zip(self.diagnostic_axes.ravel(), plots.DIAGNOSTIC_PANELS):
                    ax.clear()
                    ax.set_ylabel(ylabel, fontsize=8)
                    ax.grid(alpha=0.3)
                self.diagnostic_axes[0, 0].figure.suptitle("what each update did")
            self.training_figure.suptitle(f"{self.title or 'training'}: {note}")
            self._show(figure_png(self.fig, self.dpi))

    def close(self, run=None) -> None:
        """Final draw: with ``run`` (what ``train`` returned, including the final evaluation)
        or else with the last arrays, if they have not been drawn yet."""
        if run is not None:
            self.arrays = run.arrays if isinstance(run, results.Run) else run
            self._pending = True
        if self._pending:
            self.draw()


# ---- the policy explorer -------------------------------------------------------------------------

def _nice_limit(x: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is >= x (x > 0)."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= x * (1 - 1e-12))


class PolicyExplorer:
    """See ``policy_explorer``. Attributes after each redraw: ``actions`` (steps, actors),
    ``traces`` (steps, 3) the drawn ones, ``positions`` (steps, actors) the walks,
    ``measured_hold_time`` and ``redraw_seconds``."""

    STEPS = 300
    ACTORS = 200   # actors simulated; the first SHOWN are drawn as traces
    SHOWN = 3
    MAX_MODES = 5
    LIMIT = 1.6    # action axis range

    def __init__(self, seed: int = 0, persistence: float = 0.9, n_modes: int = 3,
                 temp: float = 1.0, spread: float = -2.0):
        w = _widgets()
        self.seed = seed
        rng = np.random.default_rng(seed)
        # FIXED network outputs of one state, one action coordinate: (logit, mean, spread) per
        # mode; the spread column is replaced by the slider value. The means are jittered
        # around spread-out places, so that any K modes stay apart.
        places = np.array([0.1, -0.55, 0.6, -0.2, 0.85])
        self.raw = np.stack([rng.normal(0.0, 0.7, self.MAX_MODES),
                             places + rng.uniform(-0.08, 0.08, self.MAX_MODES),
                             np.zeros(self.MAX_MODES)], axis=-1)
        style = {"description_width": "110px"}
        self.persistence = w.FloatSlider(value=persistence, min=0.0, max=0.99, step=0.01,
                                         description="persistence p", style=style,
                                         layout=_slider_layout())
        self.n_modes = w.IntSlider(value=n_modes, min=1, max=self.MAX_MODES,
                                   description="modes K", style=style, layout=_slider_layout())
        self.temp = w.FloatSlider(value=temp, min=0.0, max=2.0, step=0.05,
                                  description="temperature", style=style, layout=_slider_layout())
        self.spread = w.FloatSlider(value=spread, min=-5.0, max=3.0, step=0.25,
                                    description="raw spread s", style=style,
                                    layout=_slider_layout())
        self.label = w.HTML()
        self.image = _image()
        self._build_figure()
        for slider in (self.persistence, self.n_modes, self.temp, self.spread):
            slider.observe(self.redraw, names="value")
        controls = _controls([self.persistence, self.n_modes], [self.temp, self.spread])
        self.widget = panel([controls, self.label, self.image], self.static_view)
        self.widget.explorer = self  # reach the data from the returned widget
        self.redraw()

    def static_view(self) -> tuple[bytes, str]:
        """The picture stored with the notebook: the slider values and read-out, the figure."""
        values = (f"persistence p = {self.persistence.value:.2f},  modes K = {self.n_modes.value},"
                  f"  temperature = {self.temp.value:.2f},  raw spread s = {self.spread.value:.2f}")
        card = card_png([values, _plain(self.label.value)], _png_width(self.image.value),
                        title="Policy explorer (run the notebook to move the sliders)")
        return (stack_png(card, self.image.value),
                f"Policy explorer at {values.replace('  ', ' ')} (run the notebook to move "
                f"the sliders)")

    def _build_figure(self) -> None:
        # Speed: the artists are made once and only their data change, and only they are drawn
        # at a redraw, over a cached image of the rest (axes, ticks, labels, legends: most of
        # the drawing time). The y-limits move in steps of 1-2-5, and only a change of limits
        # redraws everything.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        self.fig = Figure(figsize=(9.5, 5.2), dpi=80)
        self.canvas = FigureCanvasAgg(self.fig)
        self._limits = self._background = None
        grid = self.fig.add_gridspec(2, 2, height_ratios=(1, 1.1), left=0.07, right=0.98,
                                     bottom=0.09, top=0.94, hspace=0.45, wspace=0.2)
        steps = np.arange(1, self.STEPS + 1)
        zeros = np.zeros(self.STEPS)
        lim = self.LIMIT

        ax = self.ax_traces = self.fig.add_subplot(grid[0, :])
        self.trace_lines = [ax.plot(steps, zeros, lw=1.2, drawstyle="steps-post",
                                    label=f"actor {i + 1}")[0] for i in range(self.SHOWN)]
        for y in (-1, 1):
            ax.axhline(y, color="grey", lw=0.8, ls="--")
        ax.set(xlim=(1, self.STEPS), ylim=(-lim, lim), xlabel="step", ylabel="action")
        ax.set_title("(a) actions of three actors (the environment clips them to [-1, 1])",
                     fontsize=10)
        ax.legend(loc="upper right", fontsize=8, ncol=3, framealpha=1)

        ax = self.ax_density = self.fig.add_subplot(grid[1, 0])
        self.bins = np.linspace(-lim, lim, 81)
        self.grid = np.linspace(-lim, lim, 321)
        self.hist = ax.stairs(np.zeros(80), self.bins, fill=True, color="C0", alpha=0.4,
                              label="sampled actions")
        self.density_line, = ax.plot(self.grid, 0 * self.grid, color="C3", lw=1.5,
                                     label="policy density")
        self.mode_marks, = ax.plot([], [], "v", color="C3", ms=7, clip_on=False,
                                   label="mode means")
        ax.set(xlim=(-lim, lim), xlabel="action")
        ax.set_title("(b) the mixture and a histogram of the actions", fontsize=10)
        ax.legend(fontsize=8, loc="upper left", framealpha=1)

        ax = self.ax_walk = self.fig.add_subplot(grid[1, 1])
        self.band = None
        self.reference_lines = [ax.plot(steps, zeros, color="black", lw=1, ls="--",
                                        label="RMS without persistence" if i == 0 else None)[0]
                                for i in range(2)]
        self.walk_lines = [ax.plot(steps, zeros, lw=1.2, color=f"C{i}")[0]
                           for i in range(self.SHOWN)]
        ax.fill_between([], [], [], color="C0", alpha=0.15, lw=0,
                        label=f"RMS over {self.ACTORS} actors")  # legend entry only
        ax.set(xlim=(1, self.STEPS), xlabel="step", ylabel="position")
        ax.set_title("(c) exploration: position driven by the action noise", fontsize=10)
        ax.legend(fontsize=8, loc="upper left", framealpha=1)
        self.dynamic = (self.trace_lines + [self.hist, self.density_line, self.mode_marks]
                        + self.reference_lines + self.walk_lines)
        for artist in self.dynamic:
            artist.set_animated(True)

    def _render(self, limits) -> bytes:
        """PNG of the figure: the cached background plus the data artists (see above)."""
        import PIL.Image
        if limits != self._limits:
            self.ax_density.set_ylim(0, limits[0])
            self.ax_walk.set_ylim(-limits[1], limits[1])
            self.canvas.draw()  # everything but the animated artists
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self._limits = limits
        else:
            self.canvas.restore_region(self._background)
        for artist in self.dynamic + [self.band]:
            self.fig.draw_artist(artist)
        for ax in (self.ax_traces, self.ax_density, self.ax_walk):
            self.fig.draw_artist(ax.get_legend())  # keep the legends above the data
        buf = io.BytesIO()
        rgb = np.asarray(self.canvas.buffer_rgba())[..., :3]
        PIL.Image.fromarray(rgb).save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def outputs(self) -> np.ndarray:
        """The fixed network outputs for the current K and spread: shape (K, 3)."""
        out = self.raw[: self.n_modes.value].copy()
        out[:, 2] = self.spread.value
        return out

    def simulate(self) -> np.ndarray:
        """Actions (steps, actors) of ACTORS actors acting STEPS times on the fixed outputs.

        Steps through ``MixturePolicySampler.refresh`` as acting does, keeping each step's
        noises, then selects every step's actions in one vectorised ``select`` call.
        """
        out = self.outputs()
        k, n, steps = len(out), self.ACTORS, self.STEPS
        sampler = mix.MixturePolicySampler(n, (1,), k, self.persistence.value,
                                           np.random.default_rng(self.seed))
        mode_noise = np.empty((steps, n, 1))
        gauss_noise = np.empty((steps, n, 1))
        for t in range(steps):
            sampler.refresh()
            mode_noise[t], gauss_noise[t] = sampler.mode_noise, sampler.gauss_noise
        every_step = mix.MixturePolicySampler(steps * n, (1,), k, 0.0, np.random.default_rng(0))
        every_step.set_state({"mode_noise": mode_noise.reshape(-1, 1),
                              "gauss_noise": gauss_noise.reshape(-1, 1)})
        batch = np.broadcast_to(out, (steps * n, 1, k, 3))
        return every_step.select(batch, self.temp.value)[:, 0].reshape(steps, n).astype(np.float64)

    @staticmethod
    def hold_time(actions: np.ndarray) -> float:
        """Mean length of the runs of identical consecutive actions (per actor, pooled)."""
        changes = np.count_nonzero(np.diff(actions, axis=0), axis=0)
        return actions.size / float((changes + 1).sum())

    def redraw(self, _change=None) -> None:
        started = time.perf_counter()
        p, temp = self.persistence.value, self.temp.value
        out = self.outputs()
        weights, means, stds = (a[0, 0] for a in mix.mixture_params(out[None, None]))
        actions = self.actions = self.simulate()
        self.traces = actions[:, : self.SHOWN]
        self.measured_hold_time = self.hold_time(actions)
        # the exploration: the walk driven by the action noise, i.e. the actions minus the
        # action the policy takes on average (at temperature 0 there is no noise)
        mean_action = float(weights @ means) if temp > 0 else float(actions[0, 0])
        self.positions = np.cumsum(actions - mean_action, axis=0)
        variance = max(float(weights @ (means ** 2 + (temp * stds) ** 2)) - mean_action ** 2, 0.0) \
            if temp > 0 else 0.0
        steps = np.arange(1, self.STEPS + 1)

        for line, trace in zip(self.trace_lines, self.traces.T):
            line.set_ydata(trace)

        counts, _ = np.histogram(actions, self.bins)
        counts = counts / (actions.size * np.diff(self.bins))
        self.hist.set_data(counts, self.bins)
        if temp > 0:
            z = (self.grid[:, None] - means) / (temp * stds)
            density = (weights * np.exp(-0.5 * z * z)
                       / (temp * stds * math.sqrt(2 * math.pi))).sum(axis=-1)
            self.density_line.set_data(self.grid, density)
            top = max(density.max(), counts.max())
        else:  # greedy: all the probability on one action
            self.density_line.set_data([actions[0, 0]] * 2, [0, 1e3])
            top = counts.max()
        self.mode_marks.set_data(means, np.zeros_like(means))

        rms = np.sqrt((self.positions ** 2).mean(axis=1))
        reference = np.sqrt(variance * steps)
        if self.band is not None:
            self.band.remove()
        self.band = self.ax_walk.fill_between(steps, -rms, rms, color="C0", alpha=0.15, lw=0,
                                              animated=True)
        self.reference_lines[0].set_ydata(reference)
        self.reference_lines[1].set_ydata(-reference)
        for line, walk in zip(self.walk_lines, self.positions.T):
            line.set_ydata(walk)
        bound = max(float(np.abs(self.positions[:, : self.SHOWN]).max()), float(rms.max()),
                    float(reference.max()), 1.0)
        self.image.value = self._render((_nice_limit(min(top * 1.1, 40.0)), _nice_limit(1.05 * bound)))

        median = mix.median_hold_time(p)
        mean = mix.expected_hold_time(p)
        measured = ("no noise at temperature 0" if temp == 0 else
                    f"measured here: <b>{self.measured_hold_time:.1f}</b>")
        self.label.value = (
            f"Noise held for a median of <b>{median:.1f}</b> steps (ln 0.5 / ln p) and a mean of "
            f"<b>{mean:.1f}</b> (1 / (1 - p)); {measured}. After {self.STEPS} steps the RMS "
            f"distance is <b>{rms[-1]:.1f}</b> (without persistence: {reference[-1]:.1f}).")
        self.redraw_seconds = time.perf_counter() - started


def policy_explorer(seed: int = 0):
    """Sliders over the mixture policy's persistence, modes, temperature and spread.

    On fixed (seeded) random network outputs for one action coordinate, redrawn at each slider
    move: (a) 300 steps of actions of three actors, sampled by ``MixturePolicySampler``; (b) the
    mixture density over a histogram of the actions of 200 actors; (c) the exploration it
    produces: the position of a point pushed by each actor's action noise (the cumulative sum
    of its actions minus their mean), with the spread over the 200 actors and, dashed, the
    spread the same noise would give without persistence. Persistence makes the walks travel
    further: held noise adds up instead of cancelling.

    Returns an ``ipywidgets.VBox``; its ``.explorer`` attribute holds the sliders and the data
    drawn last (``actions``, ``traces``, ``positions``, ``measured_hold_time``).

    Taught in notebooks/02_policy_distribution.ipynb.
    """
    return PolicyExplorer(seed).widget


# ---- the sweep explorer --------------------------------------------------------------------------

def find_sweep(root, experiment_prefix: str = "a2c-cartpole-sweep",
               backend: str = "pybullet") -> dict:
    """``{(persistence, entropy_weight): [Run, ...]}`` of the sweep runs found under ``root``.

    Sweep experiments are named as ``config.sweep_name`` names them,
    ``<prefix>-p<persistence>-b<entropy weight>``; points without finished runs are left out.
    """
    root = Path(root)
    pattern = re.compile(re.escape(experiment_prefix) + r"-p([0-9.eE+-]+?)-b([0-9.eE+-]+)")
    found = {}
    if not root.is_dir():
        return found
    for folder in sorted(root.iterdir()):
        match = pattern.fullmatch(folder.name)
        if not match or not folder.is_dir():
            continue
        try:
            point = (float(match.group(1)), float(match.group(2)))
        except ValueError:
            continue
        runs = results.load_runs(root, folder.name, backend)
        if runs:
            found[point] = runs
    return found


class SweepExplorer:
    """See ``sweep_explorer``. Attributes: ``points`` ({(p, beta): runs}), ``persistences``,
    ``entropy_weights``, ``best`` (grid of mean best returns, NaN where no runs),
    ``selected`` ((p, beta)), ``selected_runs`` and ``message`` (None when runs exist)."""

    def __init__(self, root=None, experiment_prefix: str = "a2c-cartpole-sweep",
                 backend: str = "pybullet"):
        w = _widgets()
        self.root = Path(root) if root is not None else results.shipped_root()
        self.points = find_sweep(self.root, experiment_prefix, backend)
        self.selected, self.selected_runs = None, []
        if not self.points:
            self.message = (
                f"No sweep results found under {self.root} (looked for "
                f"{experiment_prefix}-p&lt;persistence&gt;-b&lt;entropy weight&gt;/{backend}/seed-N). "
                f"Train them with <code>course-rl study &lt;name&gt; --root &lt;root&gt;</code> for "
                f"each name of <code>[c.name for c in course_rl.config.sweep_configs()]</code>, "
                f"then build this widget again with that root.")
            self.widget = panel([w.HTML(f"<p style='color:#a33'>{self.message}</p>")],
                                lambda: (card_png([_plain(self.message)], 760,
                                                  title="Sweep explorer"),
                                         "Sweep explorer: no sweep results found"))
            self.widget.explorer = self
            return
        self.message = None
        self.persistences = sorted({p for p, _ in self.points})
        self.entropy_weights = sorted({b for _, b in self.points})
        self.best = np.full((len(self.persistences), len(self.entropy_weights)), np.nan)
        for (p, b), runs in self.points.items():
            self.best[self.persistences.index(p), self.entropy_weights.index(b)] = \
                np.mean([r.best_eval_return for r in runs])
        self.curves = {k: [results.eval_series(r) for r in runs] for k, runs in self.points.items()}
        ys = np.concatenate([y for curves in self.curves.values() for _, y in curves])
        low = min(0.0, float(ys.min()))
        self.ylim = (low, max(float(ys.max()) * 1.05, low + 1.0))
        self.task = next(iter(self.points.values()))[0].config.task

        # start at the original study's setting when the grid has it, else at the best point
        original = cfg.A2C_CARTPOLE
        start = (original.persistence, original.entropy_weight)
        if start not in self.points:
            start = max(self.points, key=lambda k: np.mean([r.best_eval_return
                                                           for r in self.points[k]]))
        style = {"description_width": "130px"}
        self.persistence = w.SelectionSlider(
            options=[(f"{p:g}", p) for p in self.persistences], value=start[0],
            description="persistence p", style=style, layout=_slider_layout())
        self.entropy_weight = w.SelectionSlider(
            options=[(f"{b:g}", b) for b in self.entropy_weights], value=start[1],
            description="entropy weight β", style=style, layout=_slider_layout())
        self.label = w.HTML()
        self.image = _image()
        self.fig = Figure(figsize=(10, 4.2))
        grid = self.fig.add_gridspec(1, 2, width_ratios=(1.6, 1), left=0.07, right=0.97,
                                     bottom=0.13, top=0.9, wspace=0.25)
        self.ax_curves = self.fig.add_subplot(grid[0])
        self.ax_grid = self.fig.add_subplot(grid[1])
        self._draw_heatmap()
        for slider in (self.persistence, self.entropy_weight):
            slider.observe(self.redraw, names="value")
        self.widget = panel([_controls([self.persistence], [self.entropy_weight]), self.label,
                             self.image], self.static_view)
        self.widget.explorer = self
        self.redraw()

    def static_view(self) -> tuple[bytes, str]:
        """The picture stored with the notebook: the read-out above the figure."""
        card = card_png([_plain(self.label.value)], _png_width(self.image.value),
                        title="Sweep explorer (run the notebook to move the sliders)")
        return (stack_png(card, self.image.value),
                f"Sweep explorer at {_plain(self.label.value)} (run the notebook to move the "
                f"sliders)")

    def _draw_heatmap(self) -> None:
        ax = self.ax_grid
        plots.sweep_heatmap(ax, self.best, self.persistences, self.entropy_weights,
                            label="mean best greedy return")
        ax.set_title("all grid points", fontsize=10)
        from matplotlib.patches import Rectangle
        self.marker = ax.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="red", lw=2.5))

    def redraw(self, _change=None) -> None:
        p, b = self.persistence.value, self.entropy_weight.value
        self.selected = (p, b)
        self.selected_runs = self.points.get((p, b), [])
        self.marker.set_xy((self.entropy_weights.index(b) - 0.5, self.persistences.index(p) - 0.5))
        ax = self.ax_curves
        ax.clear()
        if self.selected_runs:
            plots._mean_band(ax, self.curves[(p, b)], "C0", label="mean of the seeds")
            best = np.mean([r.best_eval_return for r in self.selected_runs])
            n = len(self.selected_runs)
            self.label.value = (f"persistence {p:g}, entropy weight {b:g}: {n} seed{'s' * (n != 1)}, "
                                f"mean best greedy return <b>{best:.1f}</b>")
            ax.legend(fontsize=8, loc="lower right")
        else:
            ax.text(0.5, 0.5, "no runs at this grid point", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
            self.label.value = f"persistence {p:g}, entropy weight {b:g}: no runs"
        ax.set_ylim(*self.ylim)
        ax.set_xlabel("training episode")
        ax.set_ylabel("greedy return (evaluation mean)")
        ax.set_title(f"{self.task}: p = {p:g}, β = {b:g} (thin: each seed)", fontsize=10)
        ax.grid(alpha=0.3)
        self.image.value = figure_png(self.fig)


def sweep_explorer(root=None, experiment_prefix: str = "a2c-cartpole-sweep",
                   backend: str = "pybullet"):
    """Browse the precomputed persistence x entropy-weight sweep with two sliders.

    Shows the greedy-return curves of the chosen grid point (each seed faintly, their mean with
    a 95% band) beside a heatmap of the mean best greedy return over the whole grid, the chosen
    point framed in red. Runs are read from ``<root>/<sweep name>/<backend>/seed-N`` with sweep
    names as ``config.sweep_name`` writes them (default root: the shipped results). Without any
    sweep runs it shows a message instead.

    Returns an ``ipywidgets.VBox``; its ``.explorer`` attribute holds the data.

    Taught in notebooks/04_a2c.ipynb.
    """
    return SweepExplorer(root, experiment_prefix, backend).widget


# ---- a live run --------------------------------------------------------------------------------

def _kernel_loop():
    """The IPython kernel's main-thread event loop (tornado IOLoop), or None outside one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return getattr(getattr(get_ipython(), "kernel", None), "io_loop", None)


@contextlib.contextmanager
def _interruptible(stop: threading.Event, main_loop=None):
    """Let Stop (the kernel interrupt, SIGINT) end the run inside the block.

    In the main thread SIGINT raises KeyboardInterrupt (ipykernel ignores SIGINT between
    messages and does not always turn it back on for a widget message, so we do). But
    ipykernel 7 may run a widget's click handler in another thread (a subshell), where no
    signal arrives: then the main thread's loop (``main_loop``, by default the kernel's)
    installs a handler that sets ``stop``, which the run checks after every cycle."""
    if threading.current_thread() is threading.main_thread():
        saved = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, saved)
        return
    loop = main_loop if main_loop is not None else _kernel_loop()
    if loop is None:
        yield
        return
    previous = []
    loop.add_callback(lambda: previous.append(
        signal.signal(signal.SIGINT, lambda *_: stop.set())))
    try:
        yield
    finally:
        loop.add_callback(lambda: previous and signal.signal(signal.SIGINT, previous.pop()))


class LiveRunPanel:
    """See ``live_run_panel``. ``run()`` trains once with the sliders' values (as the button
    does) and returns the ``results.Run``, or None when the values make no valid config."""

    def __init__(self, base="a2c-cartpole", episodes: int = 300, seed: int = 0,
                 backend: str = "pybullet"):
        w = _widgets()
        self.base = cfg.get(base) if isinstance(base, str) else base
        self.seed, self.backend = seed, backend
        actors = self.base.actor_count
        if fast_mode():  # about 20 episodes, and at least two cycles: curves, not points
            episodes = actors * max(2, math.ceil(20 / actors))
            self.eval_episodes = 5
        else:
            self.eval_episodes = min(self.base.eval_episodes, 20)
        episodes = max(actors, int(round(episodes / actors)) * actors)
        style = {"description_width": "130px"}
        self.persistence = w.FloatSlider(value=min(self.base.persistence, 0.99), min=0.0, max=0.99,
                                         step=0.005, readout_format=".3f",
                                         description="persistence p", style=style,
                                         layout=_slider_layout())
        self.entropy_weight = w.FloatSlider(value=self.base.entropy_weight, min=0.0, max=0.5,
                                            step=0.01, description="entropy weight β",
                                            style=style, layout=_slider_layout())
        self.episodes = w.IntSlider(value=episodes, min=actors, max=max(4 * episodes, 40 * actors),
                                    step=actors, description="episodes", style=style,
                                    layout=_slider_layout())
        self.button = w.Button(description="Run", button_style="primary", icon="play")
        self.button.on_click(self._clicked)
        self.diagnostics = w.ToggleButton(
            value=False, description="Diagnostics", icon="stethoscope",
            tooltip="also draw what each update did: approximate KL, clip fraction, explained "
                    "variance, spread, entropy bound, gradient norms")
        self.diagnostics.observe(self._toggled, names="value")
        self.status = w.HTML()
        self.image = _image(display="none")
        self.output = w.Output()
        self.last_run = None
        self.board = None
        self.main_loop = None  # the kernel's, found at a run (a test sets its own)
        for slider in (self.persistence, self.entropy_weight, self.episodes):
            slider.observe(self.redraw, names="value")
        self.widget = panel([_controls([self.persistence, self.entropy_weight, self.episodes],
                                       w.VBox([self.button, self.diagnostics])),
                             self.status, self.output, self.image], self.static_view)
        self.widget.panel = self
        self.widget.run = self.run
        self.redraw()

    def static_view(self) -> tuple[bytes, str]:
        """The picture stored with the notebook: the settings and status, and the board if a
        run has been drawn."""
        values = (f"persistence p = {self.persistence.value:.3f},  entropy weight β = "
                  f"{self.entropy_weight.value:g},  episodes = {self.episodes.value}")
        board = self.image.value if self.image.layout.display != "none" else b""
        width = _png_width(board) if board else 720
        card = card_png([values, _plain(self.status.value)], width,
                        title="Live run (run the notebook, then press Run to train)")
        return (stack_png(card, board),
                f"Live run panel at {values.replace('  ', ' ')} (run the notebook, then press "
                f"Run to train)")

    def config(self):
        """The config the sliders describe (raises ValueError for an invalid one)."""
        episodes = int(self.episodes.value)
        actors = self.base.actor_count
        eval_every = max(actors, int(round(episodes / 10 / actors)) * actors)
        return self.base.replace(
            name=f"{self.base.name}-live", persistence=float(self.persistence.value),
            entropy_weight=float(self.entropy_weight.value), episodes=episodes,
            eval_every=eval_every, eval_episodes=self.eval_episodes)

    def redraw(self, _change=None) -> None:
        try:
            config = self.config()
        except ValueError as err:
            self.status.value = f"<span style='color:#a33'>{html.escape(str(err))}</span>"
            return
        self.status.value = (
            f"{config.algorithm} on {config.task}: {config.episodes} episodes in {config.cycles} "
            f"cycles of {config.actor_count}, greedy evaluation ({config.eval_episodes} episodes) "
            f"every {config.eval_every}. Press <b>Run</b> to train (seed {self.seed}).")

    def _clicked(self, _button) -> None:
        self.run(raise_errors=False)

    def _toggled(self, change) -> None:
        """The Diagnostics button: the board shows or hides them (the last run's at once)."""
        if self.board is not None:
            self.board.set_diagnostics(change["new"])

    def run(self, raise_errors: bool = True):
        """Train with the current slider values, drawing the four panels live; returns the Run."""
        from . import training
        try:
            config = self.config()
        except ValueError as err:
            self.status.value = (f"<span style='color:#a33'>Cannot run these settings: "
                                 f"{html.escape(str(err))}</span>")
            return None
        self.button.disabled = True
        self.board = LiveBoard(cycles=config.cycles, image=self.image,
                               title=f"{config.name}: p = {config.persistence:g}, "
                                     f"β = {config.entropy_weight:g}",
                               diagnostics=self.diagnostics.value, config=config)
        # at once, not at the first cycle seconds later: the last run's board must not stand
        # beside the new run's status
        self.board.blank("starting (TensorFlow and the environments load first)...")
        self.status.value = f"training {config.name} (seed {self.seed})..."
        self.output.clear_output()
        error, run = None, None
        started = time.perf_counter()
        try:
            stop = threading.Event()

            def on_cycle(arrays, cycle):
                self.board.update(arrays, cycle)  # (kept when stopping: drawn at the end)
                if stop.is_set():
                    raise KeyboardInterrupt

            with self.output, _interruptible(stop, self.main_loop):  # the progress bar: output
                try:
                    run = training.train(config, seed=self.seed, backend=self.backend,
                                         callback=on_cycle, progress=True)
                except BaseException as err:  # caught here: the Output widget would swallow it
                    error = err
                    if not raise_errors and isinstance(err, Exception):
                        traceback.print_exc()
        finally:
            self.button.disabled = False
        if isinstance(error, KeyboardInterrupt):  # the user pressed Stop: not a failure
            self.board.close()
            done = f"after cycle {self.board.cycle} of {config.cycles}" \
                if self.board.cycle else "before the first cycle"
            self.status.value = (f"stopped {done} ({time.perf_counter() - started:.0f} s); press "
                                 f"<b>Run</b> to start again.")
            if raise_errors:
                raise error  # called from code: the cell stops too
            return None
        if error is not None:
            self.status.value = (f"<span style='color:#a33'>training failed: "
                                 f"{html.escape(f'{type(error).__name__}: {error}')}</span>")
            if raise_errors or not isinstance(error, Exception):
                raise error
            return None
        self.board.close(run)
        self.last_run = run
        self.status.value = (f"done in {time.perf_counter() - started:.0f} s: best greedy return "
                             f"<b>{run.best_eval_return:.1f}</b> ({config.name}, seed {self.seed}).")
        return run


def live_run_panel(base="a2c-cartpole", episodes: int = 300, seed: int = 0,
                   backend: str = "pybullet"):
    """Sliders for persistence, entropy weight and episodes, and a Run button that trains live.

    A click trains ``base`` (an experiment name or a Config) with the slider values, greedy
    evaluations about every tenth of the run (``eval_episodes`` at most 20) and no files
    written, showing a progress bar and the four training panels as they grow (blanked at the
    click, so the last run's board never stands beside a new run's status). The Diagnostics
    toggle adds the per-cycle diagnostics under them (``LiveBoard(diagnostics=True)``). Interrupting the
    kernel (Stop) ends the run with "stopped" and keeps what it drew. In fast mode
    (``COURSE_RL_FAST=1``) the run defaults to about 20 episodes (at least two cycles) and 5
    evaluation episodes.

    Returns an ``ipywidgets.VBox``; call its ``.run()`` to train once without clicking (it
    returns the ``results.Run``); ``.panel`` holds the sliders and ``last_run``.

    Taught in notebooks/03_reinforce.ipynb and notebooks/04_a2c.ipynb.
    """
    return LiveRunPanel(base, episodes, seed, backend).widget
