"""Bad input, from the command line and from Python: one line naming the value and what is
allowed, never a traceback, and a non-zero exit status from the CLI.

Each table row is ``(input, the bad value as the message must name it, what-is-allowed
fragment)``. The last part of the file checks what ``load_runs``, ``summary`` and ``plot`` do
with run folders that do not belong to an experiment: left out, named with their path, and
the rest of the table kept.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_rl import config as configs
from course_rl import results, stats, study, tasks
from course_rl.config import Config

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None, prefix=(), timeout=300):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([*prefix, sys.executable, "-m", "course_rl", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


def assert_one_line(out, *needles):
    assert out.returncode != 0, out.stdout
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr, out.stderr
    assert len(lines) == 1, out.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ---- the command line ----------------------------------------------------------------------------
# {tmp}: a fresh folder; {file}: a file in it; {port}: a port where something that is not Ray listens
CLI_CASES = [
    # experiments and settings
    (("train", "no-such-experiment"), "no-such-experiment", "known experiments"),
    (("show", "a2c-cartpol"), "a2c-cartpol", "known experiments"),
    (("train", "a2c-cartpole", "--backend", "ode"), "ode", "choose from"),
    (("train", "a2c-cartpole", "--seed", "-3"), "-3", "from 0 to"),
    (("train", "a2c-cartpole", "--seed", "99999999999"), "99999999999", "from 0 to 4294967295"),
    (("train", "a2c-cartpole", "--seed", "x"), "'x'", "invalid int"),
    (("train", "a2c-cartpole", "--episodes", "0"), "episodes=0", "an integer >= actor_count"),
    (("train", "a2c-cartpole", "--set", "foo=1"), "'foo'", "fields: name, task"),
    (("train", "a2c-cartpole", "--set", "polcy_lr=1e-3"), "'polcy_lr'", "did you mean policy_lr"),
    (("train", "a2c-cartpole", "--set", "episodes"), "'episodes'", "field=value"),
    (("train", "a2c-cartpole", "--set", "episodes=1e3"), "episodes='1e3'", "an integer"),
    (("train", "a2c-cartpole", "--set", "episodes=10"), "episodes=10", ">= actor_count (25)"),
    (("train", "a2c-cartpole", "--set", "episodes=1000000000000"), "episodes=1000000000000",
     "at most 1,000,000"),
    (("train", "a2c-cartpole", "--set", "squash_means=maybe"), "squash_means='maybe'", "true or false"),
    (("train", "a2c-cartpole", "--set", "max_grad_norm=inf"), "max_grad_norm=inf", "a finite number >= 0"),
    (("train", "a2c-cartpole", "--set", "policy_lr=nan"), "policy_lr=nan", "a finite number > 0"),
    (("train", "a2c-cartpole", "--set", "persistence=1.5"), "persistence=1.5", "[0, 1)"),
    (("train", "a2c-cartpole", "--set", "gae_lambda=x"), "gae_lambda='x'", "a number or none"),
    (("train", "a2c-cartpole", "--set", "hidden_sizes=a,b"), "hidden_sizes='a,b'", "e.g. 64,64"),
    (("train", "a2c-cartpole", "--set", "hidden_sizes=0"), "hidden_sizes=(0,)", "positive integers"),
    (("train", "a2c-cartpole", "--set", "hidden_init=he_uniformm"), "hidden_init='he_uniformm'",
     "'he_uniform'"),
    (("train", "a2c-cartpole", "--set", "task=pendulum"), "task='pendulum'", "choose one of"),
    (("train", "a2c-cartpole", "--set", "name=../../x"), "name='../../x'", "no path separators"),
    (("train", "a2c-cartpole", "--set", "eval_episodes=100000"), "eval_episodes=100000", "at most 10,000"),
    (("show", "a2c-cartpole", "--set", "n_modes=0"), "n_modes=0", "an integer >= 1"),
    (("study", "a2c-cartpole", "--set", "clip_ratio=1", "--root", "{tmp}"), "clip_ratio=1.0", "[0, 1)"),
    # folders
    (("train", "a2c-cartpole", "--out", "{file}"), "{file}", "not a file"),
    (("train", "a2c-cartpole", "--out", "{file}/run"), "{file}/run", "is a file"),
    (("study", "a2c-cartpole", "--root", "{file}"), "{file}", "not a file"),
    (("study", "a2c-cartpole", "--root", "{file}/deeper/runs"), "{file}/deeper/runs", "is a file"),
    (("plot", "--out", "{file}"), "{file}", "not a file"),
    (("summary", "--root", "{tmp}/nowhere"), "nowhere", "not a folder of results"),
    (("summary", "--root", "{file}"), "{file}", "not a folder of results"),
    (("summary", "--experiments", "a2c-cartpol"), "'a2c-cartpol'", "experiments there: a2c-cartpole,"),
    (("plot", "--experiments", "a2c-cartpole", "nope", "--out", "{tmp}/fig"), "'nope'",
     "experiments there: a2c-cartpole,"),
    (("summary", "--root", "{tmp}"), "{tmp}", "no runs found"),
    # seeds and workers
    (("study", "a2c-cartpole", "--seeds", "0-99999999999", "--root", "{tmp}"), "99999999999",
     "seeds go from 0 to 4294967295"),
    (("study", "a2c-cartpole", "--seeds", "0-20000", "--root", "{tmp}"), "'0-20000'", "more than 10,000"),
    (("study", "a2c-cartpole", "--seeds", "9-2", "--root", "{tmp}"), "9-2", "the end is below the start"),
    (("study", "a2c-cartpole", "--seeds", "x", "--root", "{tmp}"), "'x'", "e.g. 0-19"),
    (("study", "a2c-cartpole", "--seeds", "-1", "--root", "{tmp}"), "'-1'", "non-negative integers"),
    (("study", "a2c-cartpole", "--workers", "0", "--root", "{tmp}"), "workers=0", "an integer >= 1"),
    # Ray
    (("study", "a2c-cartpole", "--ray", "127.0.0.1:1", "--root", "{tmp}"), "127.0.0.1:1", "cannot connect"),
    (("study", "a2c-cartpole", "--ray", "127.0.0.1:{port}", "--ray-timeout", "3", "--root", "{tmp}"),
     "127.0.0.1:{port}", "within 3 s"),
    (("study", "a2c-cartpole", "--ray", "127.0.0.1:{loopback_port}", "--root", "{tmp}"),
     "127.0.0.1:{loopback_port}", "set RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 for this command too"),
    (("study", "a2c-cartpole", "--ray", "somewhere", "--root", "{tmp}"), "'somewhere'", "host:port"),
    (("study", "a2c-cartpole", "--ray", "auto", "--ray-timeout", "0"), "'0'", "seconds > 0"),
    (("study", "a2c-cartpole", "--ray", "127.0.0.1:1", "--ray-token-file", "{tmp}/no-token",
      "--root", "{tmp}"), "no-token", "`ray get-auth-token`"),
]


@pytest.fixture
def places(tmp_path):
    """Substitutions for the table: a fresh folder, a file, a port with a non-Ray listener."""
    (tmp_path / "a-file").write_text("not a folder")
    listener, loopback = socket.socket(), socket.socket()
    listener.bind(("0.0.0.0", 0))  # reachable at every address of this machine
    loopback.bind(("127.0.0.1", 0))  # at 127.0.0.1 only
    for s in (listener, loopback):
        s.listen()
    yield {"tmp": str(tmp_path), "file": str(tmp_path / "a-file"),
           "port": str(listener.getsockname()[1]), "loopback_port": str(loopback.getsockname()[1])}
    listener.close()
    loopback.close()


@pytest.mark.parametrize("args, value, allowed", CLI_CASES,
                         ids=[" ".join(c[0]).replace("/", "|") for c in CLI_CASES])
def test_cli_bad_input_costs_one_line(args, value, allowed, places):
    if "--ray" in args:
        pytest.importorskip("ray")
    out = run_cli(*(a.format(**places) for a in args), cwd=places["tmp"])
    assert out.returncode == 2
    assert_one_line(out, value.format(**places), allowed)


def test_cli_bad_inputs_start_no_work(places):
    """A refused command wrote nothing: no runs folder, no lock file."""
    for args, _, _ in CLI_CASES:
        if args[0] in ("train", "study") and "--ray" not in args:
            run_cli(*(a.format(**places) for a in args), cwd=places["tmp"])
    leftovers = {p.relative_to(places["tmp"]).as_posix() for p in Path(places["tmp"]).rglob("*")}
    assert leftovers <= {"a-file"}, leftovers


def read_only_prefix(folder: Path):
    """A command prefix under which ``folder`` is read-only: chmod for a normal user; for root
    (whom permissions do not stop) a read-only bind mount in a private mount namespace."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return ()
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: cannot make a read-only folder")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"running as root and unshare -m is not permitted here: {probe.stderr.decode()[:80]}")
    script = (f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' && "
              'exec "$@"')
    return ("unshare", "-m", "sh", "-c", script, "sh")


@pytest.mark.parametrize("args, shown", [
    (("train", "a2c-cartpole", "--out", "{ro}/run"), "{ro}/run"),
    (("study", "a2c-cartpole", "--root", "{ro}"), "{ro}"),
    (("study", "a2c-cartpole", "--root", "{ro}/deeper"), "{ro}/deeper"),
    (("plot", "--out", "{ro}/figures"), "{ro}/figures"),
])
def test_cli_read_only_folders_are_refused_before_any_work(args, shown, tmp_path):
    ro = tmp_path / "read-only"
    ro.mkdir()
    prefix = read_only_prefix(ro)
    try:
        out = run_cli(*(a.format(ro=ro) for a in args), prefix=prefix, cwd=tmp_path)
    finally:
        ro.chmod(0o755)
    assert out.returncode == 2
    assert_one_line(out, shown.format(ro=ro), "not writable", "choose a folder you can write to")
    assert list(ro.iterdir()) == []


def test_cli_too_many_workers_are_capped_with_a_warning(tmp_path):
    from joblib import cpu_count
    out = run_cli("study", "reinforce-cartpole", "--set", "episodes=2", "eval_every=1",
                  "eval_episodes=1", "hidden_sizes=8", "--seeds", "0", "--workers", "100",
                  "--root", str(tmp_path))
    assert out.returncode == 0, out.stderr
    warning = [line for line in out.stderr.splitlines() if "course-rl: warning" in line]
    assert len(warning) == 1 and f"100 workers on {cpu_count()} cores" in warning[0]
    assert "seed   0: best" in out.stdout


# ---- the Python API ---------------------------------------------------------------------------------

API_CASES = [
    (lambda tmp: Config(max_grad_norm=math.inf), "max_grad_norm=inf", "a finite number >= 0"),
    (lambda tmp: Config(max_grad_norm=math.nan), "max_grad_norm=nan", "a finite number >= 0"),
    (lambda tmp: Config(hidden_init="glorot"), "hidden_init='glorot'", "one of ['random_normal'"),
    (lambda tmp: Config(name="../../x"), "name='../../x'", "no path separators"),
    (lambda tmp: Config(name="/abs"), "name='/abs'", "no path separators"),
    (lambda tmp: Config(name=".hidden"), "name='.hidden'", "starting with a letter or digit"),
    (lambda tmp: Config(name=""), "name=''", "1-200 letters"),
    (lambda tmp: Config(name=7), "name=7", "a string"),
    (lambda tmp: Config(episodes=True), "episodes=True", "an integer"),
    (lambda tmp: Config(actor_count=True), "actor_count=True", "an integer"),
    (lambda tmp: Config(squash_means=1), "squash_means=1", "true or false"),
    (lambda tmp: Config(policy_lr=True), "policy_lr=True", "a number"),
    (lambda tmp: Config(persistence="0.5"), "persistence='0.5'", "a number"),
    (lambda tmp: Config(episodes=10**12), "episodes=1000000000000", "at most 1,000,000"),
    (lambda tmp: Config(episodes=2.5e3), "episodes=2500.0", "an integer"),
    (lambda tmp: Config(hidden_sizes=(10**9,)), "hidden_sizes=(1000000000,)", "at most 10,000"),
    (lambda tmp: Config(hidden_sizes="64"), "hidden_sizes='64'", "positive integers"),
    (lambda tmp: Config(hidden_sizes=(True, 8)), "hidden_sizes=(True, 8)", "positive integers"),
    (lambda tmp: Config(gae_lambda=math.nan), "gae_lambda=nan", "None or a number in [0, 1]"),
    (lambda tmp: Config(discount=math.inf), "discount=inf", "[0, 1]"),
    (lambda tmp: Config(entropy_weight=-math.inf), "entropy_weight=-inf", "a finite number >= 0"),
    (lambda tmp: Config(epochs=10**6), "epochs=1000000", "at most 1,000"),
    (lambda tmp: Config().replace(polciy_lr=1), "polciy_lr", "fields: name, task"),
    (lambda tmp: Config.from_dict({"episodez": 3}), "episodez", "known fields"),
    (lambda tmp: configs.with_settings(Config(), ["policy_lr"]), "'policy_lr'", "field=value"),
    (lambda tmp: configs.get("a2c-cartpol"), "a2c-cartpol", "known experiments"),
    (lambda tmp: study.parse_seeds("0-99999999999"), "99999999999", "from 0 to 4294967295"),
    (lambda tmp: study.parse_seeds("0-50000"), "'0-50000'", "more than 10,000"),
    (lambda tmp: study.run_study(configs.get("a2c-cartpole"), [0], root=tmp, workers=0,
                                 progress=False), "workers=0", "an integer >= 1"),
    (lambda tmp: study.run_study(configs.get("a2c-cartpole"), [0], root=tmp, workers=True,
                                 progress=False), "workers=True", "an integer >= 1"),
    (lambda tmp: study.run_study(configs.get("a2c-cartpole"), [-1], root=tmp, progress=False),
     "[-1]", "integers from 0 to"),
    (lambda tmp: study.run_study(configs.get("a2c-cartpole"), [0], root=tmp, backend="ode",
                                 progress=False), "'ode'", "choose one of"),
    (lambda tmp: study.run_study(configs.get("a2c-cartpole"), [0], root=tmp / "f" / "x",
                                 progress=False), "f/x", "is a file"),
    (lambda tmp: study.writable_folder(tmp / "f", "--out"), "/f'", "not a file"),
]


@pytest.mark.parametrize("call, value, allowed", API_CASES, ids=[c[1] for c in API_CASES])
def test_api_bad_input_raises_one_line(call, value, allowed, tmp_path):
    (tmp_path / "f").write_text("a file")
    with pytest.raises(ValueError) as err:
        call(tmp_path)
    text = str(err.value)
    assert "\n" not in text and value in text and allowed in text, text


# the same bad action, the same error, on both engines
BAD_ACTIONS = [
    ("cartpole", np.array([np.nan], np.float32), "array([nan], dtype=float32)"),
    ("cartpole", np.array([np.inf]), "array([inf])"),
    ("cartpole", np.zeros(2, np.float32), "array([0., 0.], dtype=float32)"),  # was: first element used
    ("cartpole", np.float32(0.5), repr(np.float32(0.5))),
    ("cartpole", np.zeros((1, 1)), "array([[0.]])"),
    ("cartpole", "left", "'left'"),
    ("cheetah", np.full(6, np.nan, np.float32), "array([nan, nan, nan, nan, nan, nan], dtype=float32)"),
    ("cheetah", np.r_[np.zeros(5), -np.inf], "array([ 0., 0., 0., 0., 0., -inf])"),
    ("cheetah", np.zeros(7), "array([0., 0., 0., 0., 0., 0., 0.])"),
    ("cheetah", None, "None"),
]


@pytest.mark.parametrize("task, action, shown", BAD_ACTIONS,
                         ids=[f"{t}-{s}" for t, _, s in BAD_ACTIONS])
def test_a_bad_action_gets_the_same_error_on_both_engines(task, action, shown):
    messages = []
    for backend in tasks.BACKENDS:
        env = tasks.make(task, backend=backend, seed=0)
        env.reset()
        with pytest.raises(ValueError) as err:
            env.step(action)
        env.close()
        messages.append(str(err.value))
    size = 1 if task == "cartpole" else 6
    assert messages[0] == messages[1], messages
    assert f"action {shown} is not allowed" in messages[0]
    assert f"{size} finite number" in messages[0] and f"shape ({size},)" in messages[0]


def test_good_actions_still_step_on_both_engines():
    for backend in tasks.BACKENDS:
        env = tasks.make("cheetah", backend=backend, seed=0)
        env.reset()
        for action in (np.zeros(6, np.float32), [0.5] * 6, np.full(6, 3.0)):  # clipped, not refused
            assert np.isfinite(env.step(action)[1])
        env.close()


# ---- run folders that do not belong: left out by name, the rest of the table kept ----------------------

def shipped(name, seed):
    return results.run_dir(results.shipped_root(), name, "pybullet", seed)


@pytest.fixture
def messy_root(tmp_path):
    """Five shipped reinforce-cartpole runs, then: a run of another experiment (seed-99), a
    ``seed-01`` copy of seed 1, a copy of seed 2 under seed-7, a ``seed-abc`` folder, a
    truncated trace (seed-8) and a run of another backend's folder name."""
    clean = tmp_path / "clean"
    messy = tmp_path / "messy"
    for seed in range(5):
        for root in (clean, messy):
            shutil.copytree(shipped("reinforce-cartpole", seed),
                            results.run_dir(root, "reinforce-cartpole", "pybullet", seed))
    folder = messy / "reinforce-cartpole" / "pybullet"
    shutil.copytree(shipped("reinforce-cartpole-improved", 0), folder / "seed-99")
    shutil.copytree(folder / "seed-1", folder / "seed-01")
    shutil.copytree(folder / "seed-2", folder / "seed-7")
    shutil.copytree(folder / "seed-3", folder / "seed-abc")
    shutil.copytree(folder / "seed-4", folder / "seed-8")
    data = (folder / "seed-8" / "trace.npz").read_bytes()
    (folder / "seed-8" / "trace.npz").write_bytes(data[: len(data) // 2])
    return clean, messy


LEFT_OUT = {"seed-99": "another config (experiment 'reinforce-cartpole-improved')",
            "seed-01": "is not seed-<N>", "seed-7": "a copy of the run of seed 2",
            "seed-abc": "is not seed-<N>", "seed-8": "trace.npz is damaged"}


def test_load_runs_leaves_out_and_names_what_does_not_belong(messy_root):
    clean, messy = messy_root
    with pytest.warns(results.SkippedRunWarning) as caught:
        runs = results.load_runs(messy, "reinforce-cartpole")
    assert [r.seed for r in runs] == [0, 1, 2, 3, 4]
    messages = [str(w.message) for w in caught if w.category is results.SkippedRunWarning]
    folder = messy / "reinforce-cartpole" / "pybullet"
    for name, reason in LEFT_OUT.items():
        assert any(f"{folder / name}" in m and reason in m for m in messages), (name, messages)
    assert len(messages) == len(LEFT_OUT)


def test_summary_is_the_clean_table_and_lists_what_it_left_out(messy_root):
    clean, messy = messy_root
    want = run_cli("summary", "--root", str(clean))
    got = run_cli("summary", "--root", str(messy))
    assert got.returncode == 0 and want.returncode == 0, got.stderr
    assert got.stdout == want.stdout  # same n, mean, CI, Welch p
    warnings_ = got.stderr.strip().splitlines()
    assert len(warnings_) == len(LEFT_OUT) and "Traceback" not in got.stderr
    for name in LEFT_OUT:
        assert sum(f"pybullet/{name}:" in w for w in warnings_) == 1, (name, warnings_)


def test_plot_draws_the_clean_runs(messy_root, tmp_path):
    clean, messy = messy_root
    out = run_cli("plot", "--root", str(messy), "--out", str(tmp_path / "fig"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fig" / "reinforce-cartpole-curves.png").exists()
    assert len(out.stderr.strip().splitlines()) == len(LEFT_OUT)


def test_one_experiment_that_fails_leaves_the_rest_of_the_table(messy_root, monkeypatch):
    clean, messy = messy_root
    shutil.copytree(shipped("a2c-cartpole", 0), results.run_dir(messy, "a2c-cartpole", "pybullet", 0))
    real = stats.best_returns

    def failing(runs):
        if runs and runs[0].experiment == "a2c-cartpole":
            raise results.ResultsError("a2c-cartpole: made to fail")
        return real(runs)

    monkeypatch.setattr(stats, "best_returns", failing)
    with pytest.warns(results.SkippedRunWarning, match="a2c-cartpole.*left out of the table.*made to fail"):
        table = stats.summary_table(messy, ["a2c-cartpole", "reinforce-cartpole"])
    lines = table.splitlines()
    ours = [line.split()[0] for line in lines[2:lines.index(lines[1], 2)]]  # up to the next rule
    assert ours == ["reinforce-cartpole"]
    assert [r.experiment for r in stats.summary_rows(messy, ["reinforce-cartpole"])] == \
        ["reinforce-cartpole", "reinforce-cartpole"]  # ours, then the original study's


def test_every_hidden_init_allowed_is_a_keras_initializer():
    import keras
    for name in configs.HIDDEN_INITS:
        assert keras.initializers.get(name) is not None, name
