"""TensorFlow's start-up chatter never reaches stderr: the package imports it through quiet_tf."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# what TensorFlow 2.21's native libraries print on a CPU machine (see course_rl/quiet_tf.py)
NOISE = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers",
         "cuInit", "cpu_feature_guard", "rebuild TensorFlow with the appropriate compiler")


def run_python(code):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}  # as a student has it
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=600, check=False)


def test_training_through_the_package_prints_no_tensorflow_notices():
    # a tiny run goes through every TensorFlow entry of the package: the networks, the
    # compiled updates (XLA), the first operation and its device probe
    done = run_python(
        "from course_rl import config, training\n"
        "c = config.Config(name='t', task='cartpole', episodes=4, actor_count=2, "
        "hidden_sizes=(8,), eval_every=2, eval_episodes=2, minibatch_size=16)\n"
        "run = training.train(c, seed=0, progress=False)\n"
        "print('trained', run.best_eval_return)\n")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained" in done.stdout
    noisy = [line for line in done.stderr.splitlines() if any(n in line for n in NOISE)]
    assert not noisy, "\n".join(noisy)


def test_other_stderr_output_of_the_import_window_still_shows():
    # what the window captures is written back, except the known notices
    done = run_python(
        "import os\n"
        "from course_rl import quiet_tf\n"
        "lines = []\n"
        "with quiet_tf._stderr_captured(lines):\n"
        "    os.write(2, b'I0000 00:00:1796029422.434127   14396 port.cc:153] oneDNN custom "
        "operations are on. You may see slightly different numerical results.\\n"
        "a real problem\\n')\n"
        "quiet_tf._replay(lines)\n")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "a real problem" in done.stderr
    assert "oneDNN" not in done.stderr


def test_every_tensorflow_import_of_the_package_goes_through_quiet_tf():
    # whichever function imports TensorFlow first decides whether its notices reach a notebook
    direct = re.compile(r"^\s*(import (tensorflow|keras)\b|from (tensorflow|keras)\b)", re.M)
    # (course_rl/exercises holds students' code, shown and run as a student writes it; the
    # chapters have imported TensorFlow quietly before any exercise runs)
    modules = [path for path in sorted((ROOT / "course_rl").rglob("*.py"))
               if path.name != "quiet_tf.py" and "exercises" not in path.parts]
    found = [f"{path.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 1}"
             for path in modules
             for text in [path.read_text()] for m in direct.finditer(text)]
    assert not found, "import through course_rl.quiet_tf instead:\n" + "\n".join(found)
