"""The command line and studies: real (tiny) runs, joblib workers and a local Ray instance."""

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from course_rl import config as configs
from course_rl import results
from course_rl.config import Config
from course_rl.study import parse_seeds, run_study

TINY = Config(name="tiny", task="cartpole", episodes=4, actor_count=2, hidden_sizes=(8,),
              n_modes=2, policy_lr=1e-3, value_lr=1e-3, discount=0.95, persistence=0.9,
              entropy_weight=0.01, eval_every=2, eval_episodes=3)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "course_rl", *args], capture_output=True, text=True,
                          timeout=600)


def test_help_documents_every_command():
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("list", "train", "study", "summary", "plot"):
        assert command in out.stdout
    out = run_cli("study", "--help")
    for option in ("--seeds", "--workers", "--backend", "--root", "--ray"):
        assert option in out.stdout


@pytest.mark.parametrize("args,needle", [
    (("train", "no-such-experiment"), "no-such-experiment"),
    (("train", "a2c-cartpole", "--backend", "ode"), "ode"),
    (("train", "a2c-cartpole", "--seed", "-3"), "-3"),
    (("study", "a2c-cartpole", "--seeds", "9-2"), "9-2"),
    (("study", "a2c-cartpole", "--seeds", "x"), "x"),
])
def test_bad_arguments_get_one_line(args, needle):
    out = run_cli(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr


def test_train_writes_a_run_folder(tmp_path):
    out = run_cli("train", "a2c-cartpole", "--episodes", "25", "--seed", "1", "--out", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr
    run = results.load_trace(tmp_path / "run")
    assert run.config.episodes == 25 and run["eval_episode_returns"].shape == (2, 100)
    assert (tmp_path / "run" / "config.json").exists() and (tmp_path / "run" / "policy.weights.h5").exists()


def test_summary_prints_best_final_and_last_quarter_beside_the_original():
    out = run_cli("summary", "--root", str(results.shipped_root()))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(map(len, lines)) <= 120  # a terminal of 120 columns
    header = re.split(r"\s{2,}", lines[0].strip())
    assert header == ["experiment", "n", "best", "final", "last quarter", "p", "task"]
    rule = lines.index(lines[1], 2)  # ours above it, the original study's runs below
    assert lines[rule + 1].startswith("the original study")
    cells = {line.split()[0]: re.split(r"\s{2,}", line.strip()) for line in lines[2:rule]}
    original = {}
    for line in lines[rule + 2:]:
        if not line:  # then the notes
            break
        original[line.split()[0]] = re.split(r"\s{2,}", line.strip())
    # the original study's printed result (814.14 +/- 226.46 over 20 runs) is its row's best
    assert original["reinforce-cartpole"][1:3] == ["20", "814 [705, 923]"]
    assert set(original) == {"reinforce-cartpole", "a2c-cartpole", "reinforce-cheetah", "a2c-cheetah"}
    # every experiment of ours has the three scores, each with an interval (a single run, as
    # while a re-run lands seed by seed, has none)
    for name, row in cells.items():
        score = r"-?[0-9.]+" + (r" \[-?\d+, -?\d+\]" if row[1] != "1" else "")
        assert all(re.fullmatch(score, c) for c in row[2:5]), row
    # an improved or defect variant is tested against the original of the experiment it
    # changes; the ablations and sweeps have no original
    assert {"reinforce-cartpole-improved", "reinforce-cartpole-defect1",
            "a2c-cheetah-improved"} <= set(cells)
    for name in ("reinforce-cartpole-improved", "a2c-cheetah-improved", "reinforce-cartpole"):
        assert float(cells[name][5]) < 1, name
    assert cells["a2c-cartpole-sweep-p0-b0"][5] == "-"


def test_summary_on_mujoco_has_no_original_column(tmp_path):
    shipped = results.shipped_root() / "reinforce-cartpole" / "pybullet" / "seed-0"
    shutil.copytree(shipped, tmp_path / "reinforce-cartpole" / "mujoco" / "seed-0")
    out = run_cli("summary", "--root", str(tmp_path), "--backend", "mujoco")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("reinforce-cartpole"))
    assert line.split()[-2] == "-"  # no p-value (then the task version)
    assert "the original study (" not in out.stdout and "none on mujoco" in out.stdout


def test_parse_seeds():
    assert parse_seeds("0-3,7,9-10") == [0, 1, 2, 3, 7, 9, 10]
    with pytest.raises(ValueError):
        parse_seeds("3-1")


def test_study_with_two_workers_skips_finished_runs(tmp_path):
    first = run_study(TINY, [0, 1, 2], root=tmp_path, workers=2, progress=False)
    assert [s["seed"] for s in first] == [0, 1, 2]
    files = sorted(tmp_path.glob("tiny/pybullet/seed-*/*"))
    assert len(files) >= 9  # config.json, trace.npz and the policy weights of each seed
    written = {f: f.stat().st_mtime_ns for f in files}
    wall_times = [float(r["wall_time"]) for r in results.load_runs(tmp_path, "tiny", "pybullet")]
    # a recomputed run would rewrite its files with the same numbers (same seed): only their
    # modification times and the recorded wall times tell a skipped run from a recomputed one
    again = run_study(TINY, [0, 1, 2], root=tmp_path, workers=2, progress=False)
    for a, b in zip(first, again):
        assert a["best_eval_return"] == b["best_eval_return"]
    assert sorted(tmp_path.glob("tiny/pybullet/seed-*/*")) == files
    assert {f: f.stat().st_mtime_ns for f in files} == written
    runs = results.load_runs(tmp_path, "tiny", "pybullet")
    assert [r.seed for r in runs] == [0, 1, 2]
    assert [float(r["wall_time"]) for r in runs] == wall_times
    # same seed, same run, whichever worker ran it
    single = run_study(TINY, [1], root=tmp_path / "single", workers=1, progress=False)
    np.testing.assert_array_equal(results.load_runs(tmp_path / "single", "tiny")[0]["eval_episode_returns"],
                                  runs[1]["eval_episode_returns"])
    assert single[0]["best_eval_return"] == first[1]["best_eval_return"]


def test_study_on_a_local_ray_instance(tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = run_study(TINY, [0, 1], root=tmp_path, ray_address="auto", progress=False)
    finally:
        ray.shutdown()
    assert [s["seed"] for s in out] == [0, 1]
    assert len(results.load_runs(tmp_path, "tiny")) == 2


# ---- configs from the command line: --set, show, list ------------------------------------------

def test_train_with_set_changes_fields_and_names_the_run_after_them(tmp_path):
    out = subprocess.run([sys.executable, "-m", "course_rl", "train", "reinforce-cartpole", "--set",
                          "episodes=2", "eval_every=1", "eval_episodes=1", "hidden_sizes=8,4",
                          "policy_lr=1e-3", "gae_lambda=0.9", "squash_means=true"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    name = ("reinforce-cartpole+episodes=2+hidden_sizes=8,4+policy_lr=0.001+squash_means=true"
            "+gae_lambda=0.9+eval_every=1+eval_episodes=1")
    run = results.load_trace(tmp_path / "runs" / name / "pybullet" / "seed-0")
    want = configs.get("reinforce-cartpole").replace(
        name=name, episodes=2, eval_every=1, eval_episodes=1, hidden_sizes=(8, 4), policy_lr=1e-3,
        gae_lambda=0.9, squash_means=True)
    assert run.config == want
    assert run.config.description == ("reinforce-cartpole with episodes=2, hidden_sizes=8,4, "
                                      "policy_lr=0.001, squash_means=true, gae_lambda=0.9, "
                                      "eval_every=1, eval_episodes=1.")


def test_set_of_an_unchanged_value_or_a_name_keeps_or_gives_the_name():
    base = configs.get("a2c-cartpole")
    assert configs.with_settings(base, ["episodes=4000"]) == base
    assert configs.with_settings(base, ["episodes=4000"]).name == "a2c-cartpole"
    named = configs.with_settings(base, ["episodes=50", "name=quick"])
    assert named.name == "quick" and named.episodes == 50


@pytest.mark.parametrize("name", sorted(configs.EXPERIMENTS))
def test_every_value_show_prints_reads_back_through_set(name):
    c = configs.get(name)
    settings = [f"{f}={configs.format_value(getattr(c, f))}" for f in configs.FIELD_KINDS
                if f != "description"]
    again = configs.with_settings(configs.Config(), settings)
    assert again == c and again.name == c.name


def test_show_prints_every_field_and_marks_what_differs_from_the_parent():
    out = run_cli("show", "a2c-cartpole-ablation-no-clip")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "a2c-cartpole-ablation-no-clip: A2C on cartpole, derived from a2c-cartpole-improved"
    table = {line[2:].split()[0]: line for line in lines if line[:2] in ("  ", "* ")}
    assert set(table) == set(configs.FIELD_KINDS) - {"description"} | {"field"}
    marked = {f for f, line in table.items() if line.startswith("*")}
    assert marked == {"episodes", "clip_ratio", "eval_every", "eval_episodes"}
    assert table["clip_ratio"].split()[1:] == ["clip_ratio", "0.0", "0.2"]  # value, then the parent's
    assert table["gae_lambda"].split()[1:] == ["0.95"]
    assert lines[-1].startswith("4 field(s) differ from a2c-cartpole-improved")
    original = run_cli("show", "a2c-cartpole")
    assert "an experiment of the original study" in original.stdout.splitlines()[0]
    assert not [line for line in original.stdout.splitlines() if line.startswith("* ")]


def test_every_derived_experiment_is_its_parent_plus_the_listed_differences():
    originals = {"reinforce-cartpole", "a2c-cartpole", "reinforce-cheetah", "a2c-cheetah"}
    assert {n for n in configs.EXPERIMENTS if configs.parent(n) is None} == originals
    for name, c in configs.EXPERIMENTS.items():
        parent = configs.parent(name)
        if parent is not None:
            changes = {k: new for k, (_, new) in configs.differences(c, parent).items()}
            assert changes and parent.replace(name=name, **changes) == c


def test_list_tells_every_experiment_apart():
    out = run_cli("list")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split(None, 1)[1] for line in out.stdout.splitlines()[1:-1]}
    assert set(rows) == set(configs.EXPERIMENTS)
    assert len(set(rows.values())) == len(rows)  # no two rows read the same after the name
    for change, shown in (("no-clip", "clip_ratio=0.0"), ("no-gae", "gae_lambda=none"),
                          ("no-normalization", "normalize_observations=false"),
                          ("persistence", "persistence=0.965")):
        assert shown in rows[f"a2c-cartpole-ablation-{change}"]
    assert "original_spread_defect=true" in rows["reinforce-cartpole-defect1"]


def test_algorithm_names_the_clipped_variants_ppo():
    assert configs.get("reinforce-cartpole").algorithm == "REINFORCE"
    assert configs.get("a2c-cheetah").algorithm == "A2C"
    for c in configs.IMPROVED:
        assert c.algorithm == "PPO-clip"
    assert configs.get("a2c-cartpole-ablation-no-clip").algorithm == "A2C"
