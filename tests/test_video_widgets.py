"""Videos and widgets: real (tiny) runs and episodes, widgets built and driven headless."""

import base64
import json
import os
import re
import shutil

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import imageio.v3 as iio  # noqa: E402

from course_rl import config, results, training, video, widgets  # noqa: E402
from course_rl import policy as mix  # noqa: E402
from course_rl.config import Config  # noqa: E402

TINY = Config(name="tiny", task="cartpole", episodes=4, actor_count=2, hidden_sizes=(8,),
              n_modes=2, policy_lr=1e-3, value_lr=1e-3, discount=0.95, persistence=0.9,
              entropy_weight=0.01, eval_every=2, eval_episodes=3, epochs=1, minibatch_size=16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The same tiny run twice: in memory (with .best_policy) and written to a run folder."""
    memory = training.train(TINY, seed=0, progress=False)
    folder = tmp_path_factory.mktemp("runs") / "tiny" / "pybullet" / "seed-0"
    training.train(TINY, seed=0, out=folder, progress=False)
    return memory, folder


def observations(n=16, seed=0):
    return np.random.default_rng(seed).normal(0, 0.5, size=(n, 4)).astype(np.float32)


# ---- video ---------------------------------------------------------------------------------------

def test_record_random_cartpole():
    frames, score = video.record_episode("cartpole", None, seed=0, width=64, height=48)
    assert frames.dtype == np.uint8 and frames.shape[1:] == (48, 64, 3)
    assert score == len(frames) - 1  # the reset frame, then one per step; score = steps survived
    assert 0 < score < 1000
    assert frames.std() > 10 and np.abs(np.diff(frames.astype(int), axis=0)).sum() > 0
    fewer, same = video.record_episode("cartpole", None, seed=0, width=64, height=48, every=3)
    assert same == score and len(fewer) == 1 + score // 3
    capped, steps = video.record_episode("cartpole", "persistent-random", seed=1, width=32,
                                         height=32, max_steps=5)
    assert steps <= 5 and len(capped) == steps + 1


def test_record_with_a_trained_policy_is_deterministic(trained):
    memory, _ = trained
    act = video.load_policy(memory)
    logs = []
    for _ in range(2):
        log = []

        def logged(obs):
            log.append(act(obs))
            return log[-1]

        frames, score = video.record_episode("cartpole", logged, seed=3, width=48, height=32)
        logs.append((frames, score, np.concatenate(log)))
    (f1, s1, a1), (f2, s2, a2) = logs
    assert s1 == s2 and len(a1) == s1
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(f1, f2)


def decoded(html_obj, mime):
    match = re.search(rf'src="data:{mime};base64,([A-Za-z0-9+/=]+)"', html_obj.data)
    assert match, html_obj.data[:200]
    return base64.b64decode(match.group(1))


def test_to_html_mp4_and_gif_decode_to_the_frames():
    frames = np.zeros((20, 47, 63, 3), np.uint8)  # odd sizes: the mp4 pads them to even
    for t in range(20):
        frames[t, 10:20, 3 * t:3 * t + 8] = (255, 128, 0)
    html_mp4 = video.to_html(frames, fps=20, caption="a <test>")
    assert "<video" in html_mp4.data and "autoplay loop muted" in html_mp4.data
    assert "a &lt;test&gt;" in html_mp4.data
    mp4 = decoded(html_mp4, "video/mp4")
    assert mp4[4:8] == b"ftyp"
    back = iio.imread(mp4, extension=".mp4", index=None)
    assert back.shape == (20, 48, 64, 3)
    gif = decoded(video.to_html(frames, fmt="gif"), "image/gif")
    assert gif.startswith(b"GIF89a")
    assert iio.imread(gif, extension=".gif", index=None).shape[:3] == (20, 47, 63)
    with pytest.raises(ValueError, match="fmt"):
        video.to_html(frames, fmt="avi")


def test_a_ten_second_clip_is_small():
    # the half-cheetah on a moving checkerboard is the hard case for the encoder
    # (episodes stop at 500 steps: 251 frames, looped to 300 = 10 s at 30 fps)
    frames, _ = video.record_episode("cheetah", "persistent-random", seed=0, every=2)
    assert frames.shape == (251, 160, 240, 3)
    size = len(video.encode_mp4(np.concatenate([frames, frames[:49]]), fps=30))
    print(f"10 s of 240x160 cheetah at 30 fps: {size / 1e3:.0f} kB mp4")
    assert size < 300_000


def test_load_policy_from_a_folder_matches_the_in_memory_run(trained, tmp_path):
    from course_rl.networks import policy_network
    memory, folder = trained
    obs = observations()
    from_memory = video.load_policy(memory)(obs)
    # what the agent's greedy evaluation computes from the same weights, through Keras
    model = policy_network((4,), (1,), TINY.n_modes, TINY.hidden_sizes)
    model.set_weights(memory.best_policy)
    expected = mix.greedy_actions(np.asarray(model(obs)), 1)
    np.testing.assert_allclose(from_memory, expected, atol=1e-5)
    np.testing.assert_allclose(video.load_policy(folder)(obs), from_memory, atol=1e-6)
    # a Run loaded from disk reads its folder; one observation gives one action
    act = video.load_policy(results.load_trace(folder))
    np.testing.assert_allclose(act(obs[0]), from_memory[0], atol=1e-6)
    assert act(obs, temp=1.0).shape == (16, 1)
    # the weights written by save_policy_weights round-trip exactly
    copy = tmp_path / "copy"
    results.save_trace(copy, TINY, memory.arrays)
    results.save_policy_weights(copy, TINY, (4,), (1,), memory.best_policy)
    np.testing.assert_array_equal(video.load_policy(copy)(obs), from_memory)


def test_load_policy_refuses_what_it_cannot_load(trained, tmp_path):
    _, folder = trained
    no_weights = tmp_path / "no-weights"
    shutil.copytree(folder, no_weights)
    (no_weights / "policy.weights.h5").unlink()
    with pytest.raises(ValueError, match=r"policy\.weights\.h5"):
        video.load_policy(no_weights)
    other = tmp_path / "other-shape"
    shutil.copytree(folder, other)
    (other / "config.json").write_text(TINY.replace(hidden_sizes=(5, 3)).to_json())
    with pytest.raises(ValueError, match=r"config\.json is damaged"):  # the manifest's checksum
        video.load_policy(other)
    (other / "manifest.json").unlink()  # (as a run of an older course_rl: no checksums)
    with pytest.raises(ValueError, match=r"policy\.weights\.h5"):
        video.load_policy(other)
    with pytest.raises(ValueError, match="config.json"):
        video.load_policy(tmp_path)
    normalised = tmp_path / "normalised"
    shutil.copytree(folder, normalised)
    d = json.loads((folder / "config.json").read_text())
    (normalised / "config.json").write_text(json.dumps({**d, "normalize_observations": True}))
    (normalised / "manifest.json").unlink()  # (an edited file of a committed run is "damaged")
    with pytest.raises(NotImplementedError, match="normalize_observations"):
        video.load_policy(normalised)


# ---- widgets -------------------------------------------------------------------------------------

def test_fast_mode(monkeypatch):
    monkeypatch.delenv("COURSE_RL_FAST", raising=False)
    assert not widgets.fast_mode()
    for value, fast in (("1", True), ("yes", True), ("0", False), ("", False), ("false", False)):
        monkeypatch.setenv("COURSE_RL_FAST", value)
        assert widgets.fast_mode() is fast


def test_policy_explorer_shows_the_hold_time():
    box = widgets.policy_explorer(seed=0)
    explorer = box.explorer
    assert explorer.traces.shape == (300, 3) and explorer.image.value[:4] == b"\x89PNG"
    explorer.persistence.value = 0.0
    assert explorer.measured_hold_time == pytest.approx(1.0, abs=0.01)
    explorer.persistence.value = 0.9
    assert 8 < explorer.measured_hold_time < 12  # 1 / (1 - 0.9) = 10, cut by the 300 steps
    assert "6.6" in explorer.label.value  # the median, ln 0.5 / ln 0.9
    held = np.abs(explorer.positions[-1]).mean()
    explorer.persistence.value = 0.0
    assert np.abs(explorer.positions[-1]).mean() < held / 2  # persistence travels further
    explorer.temp.value = 0.0
    assert np.ptp(explorer.traces) == 0  # greedy: no exploration
    explorer.temp.value = 1.0
    explorer.n_modes.value = 1
    assert np.unique(np.round(explorer.actions, 6)).size > 100


def fake_sweep_run(root, p, b, seed):
    name = config.sweep_name(p, b)
    cfg = Config(name=name, task="cartpole", episodes=40, actor_count=4, hidden_sizes=(8,),
                 persistence=p, entropy_weight=b, eval_every=20, eval_episodes=2)
    level = 100 * p + 1000 * b + seed  # identifies the run in its curves
    numbers = [c * cfg.actor_count for c in cfg.eval_cycles] + [cfg.episodes]
    evals = np.full((len(numbers), 2), level)
    results.save_trace(results.run_dir(root, name, "pybullet", seed), cfg, {
        "training_episode_returns": np.full((cfg.cycles, cfg.actor_count), level),
        "eval_episode_returns": evals, "eval_episode_numbers": np.array(numbers),
        "value_rmse": np.ones(cfg.cycles), "mean_objective": np.zeros(cfg.cycles),
        "best_eval_return": np.asarray(level)})


def test_sweep_explorer_on_fake_runs(tmp_path):
    for p in (0.0, 0.965):
        for b in (0.0, 0.05):
            if (p, b) != (0.0, 0.0):  # one missing grid point
                for seed in (0, 1):
                    fake_sweep_run(tmp_path, p, b, seed)
    (tmp_path / "a2c-cartpole").mkdir()  # not a sweep experiment
    explorer = widgets.sweep_explorer(root=tmp_path).explorer
    assert explorer.message is None
    assert explorer.persistences == [0.0, 0.965] and explorer.entropy_weights == [0.0, 0.05]
    assert explorer.selected == (0.965, 0.05)  # starts at the original study's setting
    assert [r.seed for r in explorer.selected_runs] == [0, 1]
    assert all(r.config.persistence == 0.965 and r.config.entropy_weight == 0.05
               for r in explorer.selected_runs)
    explorer.persistence.value = 0.0
    assert explorer.selected == (0.0, 0.05)
    assert [r.best_eval_return for r in explorer.selected_runs] == [50.0, 51.0]
    np.testing.assert_allclose(explorer.best, [[np.nan, 50.5], [97.0, 147.0]])
    explorer.entropy_weight.value = 0.0
    assert explorer.selected_runs == [] and "no runs" in explorer.label.value
    empty = widgets.sweep_explorer(root=tmp_path / "nothing-here")
    assert "No sweep results" in empty.explorer.message
    assert "No sweep results" in empty.children[0].value


def test_live_board_throttles():
    arrays = {"training_episode_returns": np.ones((3, 2)), "eval_episode_returns": np.ones((2, 3)),
              "eval_episode_numbers": np.array([0, 4]), "value_rmse": np.ones(3),
              "mean_objective": np.zeros(3)}
    board = widgets.LiveBoard(cycles=5, show=False, every_seconds=60)
    drew = [board.update(arrays, cycle) for cycle in range(1, 6)]
    assert drew == [True, False, False, False, True] and board.draws == 2  # first and last
    board.close()
    assert board.draws == 2
    board.close(arrays)
    assert board.draws == 3


def test_widgets_build_headless_with_defaults(tmp_path):
    import ipywidgets
    assert isinstance(widgets.policy_explorer(), ipywidgets.VBox)
    assert isinstance(widgets.sweep_explorer(root=tmp_path), ipywidgets.VBox)
    panel = widgets.live_run_panel()  # a2c-cartpole: built, not trained
    assert isinstance(panel, ipywidgets.VBox) and panel.panel.last_run is None
    assert "Run" in panel.panel.status.value


def test_live_run_panel_trains_once(monkeypatch):
    monkeypatch.setenv("COURSE_RL_FAST", "1")
    panel = widgets.live_run_panel(base=TINY, episodes=300, seed=0)
    assert panel.panel.episodes.value == 20
    panel.panel.persistence.value = 0.5
    run = panel.run()
    assert run.config.persistence == 0.5 and run.config.eval_episodes == 5
    assert run["training_episode_returns"].shape == (10, 2)
    assert panel.panel.last_run is run and panel.panel.board.draws >= 2
    assert panel.panel.image.value[:4] == b"\x89PNG" and "best greedy return" in panel.panel.status.value
    panel.panel.eval_episodes = 0  # an invalid config shows a message, not a traceback
    assert panel.run() is None and "Cannot run" in panel.panel.status.value


def test_load_policy_replays_a_normalised_squashed_run(tmp_path):
    from course_rl import video
    from course_rl.config import Config
    from course_rl.training import train
    cfg = Config(name="norm", task="cartpole", episodes=4, actor_count=2, hidden_sizes=(8,),
                 n_modes=2, policy_lr=1e-2, value_lr=1e-2, discount=0.95, persistence=0.5,
                 entropy_weight=0.0, eval_every=2, eval_episodes=3, normalize_observations=True,
                 squash_means=True)
    in_memory = train(cfg, seed=0, progress=False)
    train(cfg, seed=0, out=tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "normalizer.npz").exists()
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(video.load_policy(in_memory)(obs), video.load_policy(tmp_path / "run")(obs),
                               rtol=1e-6)


# ---- what a notebook stores: stills beside clips, pictures beside widgets ------------------------

def bundle(obj):
    from IPython.core.formatters import DisplayFormatter
    data, _ = DisplayFormatter().format(obj)
    return data


def moving_square(t=60, h=64, w=96):
    frames = np.full((t, h, w, 3), 30, np.uint8)
    for i in range(t):
        frames[i, 20:40, i:i + 20] = (255, 200, 0)
    return frames


def test_a_clip_is_stored_with_a_still_and_a_one_line_note():
    frames = moving_square()
    data = bundle(video.to_html(frames, fps=30, caption="a square"))
    # the MP4 on the <video> element: JupyterLab's sanitiser strips a <source> child's src
    assert re.search(r'<video [^>]*src="data:video/mp4;base64,', data["text/html"])
    assert "<source" not in data["text/html"]
    gif = base64.b64decode(data["image/gif"])
    back = iio.imread(gif, extension=".gif", index=None)
    assert back.shape == (20, 64, 96, 3)  # 30 fps -> every 3rd frame (10 fps)
    # the square moved: the GIF's frames follow the clip's
    assert np.abs(back[0].astype(int) - frames[0]).mean() < 8
    assert np.abs(back[-1].astype(int) - frames[57]).mean() < 8
    assert data["text/plain"] == "video, 2.0 s: a square" and "\n" not in data["text/plain"]


def test_a_big_clip_gets_a_half_size_gif_or_a_poster():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, size=(30, 80, 120, 3), dtype=np.uint8)  # incompressible
    full = video.encode_gif_small(noise, fps=10)
    still, mime = video.still_image(noise, fps=10, max_bytes=len(full) - 1)
    assert mime == "image/gif" and iio.imread(still, extension=".gif", index=None).shape == (30, 40, 60, 3)
    still, mime = video.still_image(noise, fps=10, max_bytes=1000)
    assert mime == "image/png"
    np.testing.assert_array_equal(iio.imread(still, extension=".png"), noise[15])
    data = bundle(video.to_html(noise, fps=10))
    assert "image/gif" not in data or len(base64.b64decode(data["image/gif"])) <= video.STILL_BYTES


def stored_picture(box):
    data = bundle(box)
    assert "application/vnd.jupyter.widget-view+json" in data  # still the live widget
    text = data["text/plain"]
    assert "\n" not in text and "children=" not in text and "Box(" not in text, text
    return iio.imread(base64.b64decode(data["image/png"]), extension=".png"), text


def test_widgets_are_stored_with_a_picture_of_their_state(tmp_path):
    box = widgets.policy_explorer(seed=0)
    picture, text = stored_picture(box)
    figure = iio.imread(box.explorer.image.value, extension=".png")[..., :3]
    # the figure at the bottom of the picture, under a card naming the slider values
    assert picture.shape[1] == figure.shape[1] and picture.shape[0] > figure.shape[0]
    np.testing.assert_array_equal(picture[-figure.shape[0]:, :, :3], figure)
    assert "persistence p = 0.90" in text
    box.explorer.persistence.value = 0.5  # a redraw: the picture follows the state
    assert "persistence p = 0.50" in stored_picture(box)[1]

    for p in (0.0, 0.965):
        fake_sweep_run(tmp_path, p, 0.05, 0)
    _, text = stored_picture(widgets.sweep_explorer(root=tmp_path))
    assert "persistence 0.965, entropy weight 0.05" in text
    _, text = stored_picture(widgets.sweep_explorer(root=tmp_path / "nothing"))
    assert "no sweep results" in text

    panel = widgets.live_run_panel(base=TINY)
    picture, text = stored_picture(panel)
    assert "press Run" in text and picture.shape[1] == 720


def test_controls_have_no_fixed_pixel_widths():
    # 420-px sliders cut off their read-outs in a 1024-px window with the file browser open
    import ipywidgets

    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    for box in (widgets.policy_explorer(), widgets.live_run_panel(base=TINY)):
        sliders = [w for w in walk(box) if isinstance(w, ipywidgets.widgets.widget_int._Int)
                   or isinstance(w, ipywidgets.widgets.widget_float._Float)]
        assert sliders
        for s in sliders:
            assert s.layout.width == "100%", s.layout.width
        images = [w for w in walk(box) if isinstance(w, ipywidgets.Image)]
        assert images and all(i.layout.align_self == "flex-start" for i in images)
        wrapping = [w for w in walk(box) if isinstance(w, ipywidgets.HBox)]
        assert all(h.layout.flex_flow == "row wrap" for h in wrapping)


def board_arrays(cycles, actors):
    return {"training_episode_returns": np.arange(cycles * actors, dtype=float).reshape(cycles, actors),
            "eval_episode_returns": np.ones((1, 3)), "eval_episode_numbers": np.array([0]),
            "value_rmse": np.ones(cycles), "mean_objective": np.zeros(cycles)}


def test_live_board_shows_a_single_cycle_with_markers_and_integer_ticks():
    board = widgets.LiveBoard(cycles=2, show=False)
    board.update(board_arrays(1, 10), 1)
    for ax in board.axes.ravel():
        lines = [line for line in ax.get_lines() if len(line.get_xdata())]
        assert lines, ax.get_ylabel()
        assert all(line.get_marker() == "o" for line in lines if len(line.get_xdata()) == 1)
        ticks = ax.get_xticks()
        np.testing.assert_array_equal(ticks, np.round(ticks))


def test_live_run_panel_blanks_the_board_at_once_and_stops_quietly(monkeypatch):
    from course_rl import training as training_module
    monkeypatch.setenv("COURSE_RL_FAST", "1")
    panel = widgets.live_run_panel(base=TINY).panel
    seen = {}

    def interrupted(config, seed, backend, callback, progress):
        # what the browser shows before the first cycle: an empty board, not the last run's
        seen["image"] = panel.image.value
        seen["title"] = panel.board.fig._suptitle.get_text()
        callback(board_arrays(1, 2), 1)
        raise KeyboardInterrupt

    monkeypatch.setattr(training_module, "train", interrupted)
    assert panel.run(raise_errors=False) is None
    assert seen["image"][:4] == b"\x89PNG" and "starting" in seen["title"]
    assert panel.status.value.startswith("stopped after cycle 1 of 10")
    assert "failed" not in panel.status.value and "#a33" not in panel.status.value
    assert not panel.button.disabled
    with pytest.raises(KeyboardInterrupt):  # called from code: the cell stops as well
        panel.run()
    assert panel.status.value.startswith("stopped")


def test_stop_reaches_a_run_in_another_thread(monkeypatch):
    # ipykernel 7 may handle a Run click in a subshell thread, where SIGINT never arrives: the
    # main thread's loop then installs a handler that asks the run to stop after its cycle
    import os
    import queue
    import signal
    import threading
    import time
    from course_rl import training as training_module

    monkeypatch.setenv("COURSE_RL_FAST", "1")
    panel = widgets.live_run_panel(base=TINY).panel
    calls = queue.Queue()

    class MainLoop:  # stands in for the kernel's IOLoop: callbacks run in the main thread
        def add_callback(self, function):
            calls.put(function)

    panel.main_loop = MainLoop()
    cycles = []

    def endless(config, seed, backend, callback, progress):
        for cycle in range(1, 10_000):
            time.sleep(0.01)
            cycles.append(cycle)
            callback(board_arrays(cycle, 2), cycle)

    monkeypatch.setattr(training_module, "train", endless)
    before = signal.getsignal(signal.SIGINT)
    worker = threading.Thread(target=panel.run, kwargs={"raise_errors": False}, daemon=True)
    worker.start()
    calls.get(timeout=30)()            # the handler goes in, in the main thread
    while not cycles:
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)  # the kernel interrupt
    worker.join(timeout=60)
    calls.get(timeout=30)()            # ...and comes out again
    assert not worker.is_alive()
    assert panel.status.value.startswith("stopped after cycle"), panel.status.value
    assert len(cycles) < 9_999
    assert signal.getsignal(signal.SIGINT) is before


# ---- the diagnostics on the live board -----------------------------------------------------------

DIAGNOSTIC_KEYS = ("approx_kl", "clip_fraction", "explained_variance", "mean_spread",
                   "entropy_bound", "policy_grad_norm", "value_grad_norm")


def stream_of_cycles(cycles, actors, seed=0):
    """What ``train`` hands its callback after each cycle: the arrays so far, diagnostics too."""
    rng = np.random.default_rng(seed)
    full = {"training_episode_returns": rng.uniform(0, 100, (cycles, actors)),
            "value_rmse": rng.uniform(size=cycles), "mean_objective": rng.normal(size=cycles),
            **{k: rng.uniform(0.01, 1, cycles) for k in DIAGNOSTIC_KEYS},
            "epochs_run": np.full(cycles, 10.0)}
    for cycle in range(1, cycles + 1):
        arrays = {k: v[:cycle] for k, v in full.items()}
        arrays["eval_episode_returns"] = np.ones((1 + cycle // 5, 3))
        arrays["eval_episode_numbers"] = np.arange(1 + cycle // 5) * 5 * actors
        yield cycle, arrays


def diagnostic_line(board, key):
    lines = [line for ax in board.diagnostic_axes.ravel() for line in ax.get_lines()
             if line.get_gid() == key]
    assert len(lines) == 1, key
    return lines[0]


def test_live_board_draws_the_diagnostics_cycle_by_cycle():
    board = widgets.LiveBoard(cycles=12, show=False, every_seconds=0, diagnostics=True,
                              config=TINY.replace(target_kl=0.05))
    assert board.axes.shape == (2, 2) and board.diagnostic_axes.shape == (2, 3)
    pictures = set()
    for cycle, arrays in stream_of_cycles(12, 4):
        if not board.update(arrays, cycle):  # (spaced out to 4 times a slow draw's cost)
            board.draw()
        for key in DIAGNOSTIC_KEYS:
            np.testing.assert_array_equal(diagnostic_line(board, key).get_ydata(), arrays[key])
            np.testing.assert_array_equal(diagnostic_line(board, key).get_xdata(),
                                          np.arange(cycle) * 4 + 2)
        pictures.add(widgets.figure_png(board.fig))
    assert len(pictures) == 12
    # the whole run's width from the first cycle, as the training panels
    assert board.diagnostic_axes[0, 0].get_xlim() == (0, 48)
    target = [line for line in board.diagnostic_axes[0, 0].get_lines() if line.get_gid() == "reference"]
    assert [line.get_ydata()[0] for line in target] == [0.05]


def test_live_board_toggles_the_diagnostics_and_names_a_run_without_them():
    board = widgets.LiveBoard(cycles=2, show=False)
    assert board.diagnostic_axes is None and len(board.fig.axes) == 4
    board.update(board_arrays(1, 10), 1)  # arrays of code older than the diagnostics
    small = widgets.figure_png(board.fig)
    board.set_diagnostics(True)           # redraws at once, in a taller figure
    assert board.draws == 2 and len(board.fig.axes) == 10
    assert iio.imread(widgets.figure_png(board.fig), extension=".png").shape[0] > \
        iio.imread(small, extension=".png").shape[0]
    texts = [t.get_text() for ax in board.diagnostic_axes.ravel() for t in ax.texts]
    assert any("no diagnostics recorded" in t for t in texts)
    board.set_diagnostics(False)
    assert board.diagnostic_axes is None and len(board.fig.axes) == 4 and board.draws == 3
    board.blank()  # a blank board with diagnostics: empty panels, titled
    board.set_diagnostics(True)
    board.blank("starting")
    assert all(not ax.get_lines() for ax in board.diagnostic_axes.ravel())


def test_live_run_panel_diagnostics_toggle(monkeypatch):
    from course_rl import training as training_module
    monkeypatch.setenv("COURSE_RL_FAST", "1")
    panel = widgets.live_run_panel(base=TINY).panel
    assert panel.diagnostics.value is False

    def fake_train(config, seed, backend, callback, progress):
        for cycle, arrays in stream_of_cycles(config.cycles, config.actor_count):
            callback(arrays, cycle)
        return results.Run(None, config, config.name, seed, dict(arrays, best_eval_return=1.0))

    monkeypatch.setattr(training_module, "train", fake_train)
    run = panel.run()
    assert panel.board.diagnostic_axes is None
    before = panel.image.value
    panel.diagnostics.value = True  # after the run: the finished board gains its diagnostics
    assert panel.board.diagnostic_axes is not None and panel.image.value != before
    np.testing.assert_array_equal(diagnostic_line(panel.board, "approx_kl").get_ydata(),
                                  run["approx_kl"])
    panel.run()  # the next run's board has them from the start
    assert panel.board.diagnostic_axes is not None and panel.board.config.name == "tiny-live"


def test_a_warning_in_a_notebook_is_one_line_without_its_file(capsys):
    import warnings

    from course_rl.results import SkippedRunWarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = widgets.one_line_warning
        warnings.warn("a2c-cheetah (pybullet): left out 2 run(s)\n   of another task version",
                      SkippedRunWarning)
    err = capsys.readouterr().err
    assert err == "SkippedRunWarning: a2c-cheetah (pybullet): left out 2 run(s) of another task version\n"


def test_recording_mujoco_where_it_cannot_draw_is_refused_in_one_line(monkeypatch):
    """Where MuJoCo cannot draw (this CI machine: no display, no GPU, and EGL crashes once
    TensorFlow is loaded), recording is refused by name instead of crashing the process."""
    if video._mujoco_gl_works(os.environ.get("MUJOCO_GL", "egl" if not os.environ.get("DISPLAY") else "glfw")):
        pytest.skip("MuJoCo can draw on this machine")
    with pytest.raises(RuntimeError, match="MuJoCo cannot draw frames here") as err:
        video.record_episode("cheetah", None, backend="mujoco", max_steps=2)
    assert "\n" not in str(err.value)
    monkeypatch.setattr(video, "_mujoco_gl_works", lambda gl: True)  # and where it can, no refusal
    video._check_can_draw("mujoco")


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10"])
def test_a_bad_episode_length_is_refused_in_one_line(bad):
    with pytest.raises(ValueError, match=rf"max_steps must be None or an integer >= 1, got {bad!r}"):
        video.record_episode("cartpole", None, max_steps=bad)
