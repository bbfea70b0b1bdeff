"""A real Ray cluster on this machine, bound to 127.0.0.1, with token authentication on (as
Ray 2.5x clusters have it by default), started with ``ray start --head`` as the README's
recipe does. Where this machine allows a private mount namespace, the cluster runs in one in
which the study's folder is hidden (a tmpfs over it), as it would be on another machine
without a shared filesystem; a second folder stays visible, as on a shared filesystem.

A two-seed ``course-rl study --ray`` with a relative ``--root`` must give exactly the runs of
a local study, in the folder asked for, either way. (Ray runs one node per machine when it is
bound to 127.0.0.1, so the recipe's ``ray start --address`` on worker machines is not run
here.) Skipped with the reason when Ray is not installed or a cluster cannot start here.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'course_rl[ray]')")
import psutil  # noqa: E402  (a dependency of ray[default])

from course_rl import results  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")
SETTINGS = ["--set", "episodes=4", "eval_every=2", "eval_episodes=3", "hidden_sizes=8"]
EXPERIMENT = "reinforce-cartpole+episodes=4+hidden_sizes=8+eval_every=2+eval_episodes=3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra) -> dict:
    """This environment without any Ray authentication settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    # Ray binds to 127.0.0.1 only as a one-node cluster, and its driver must know (else it
    # rewrites 127.0.0.1 to this machine's network address): RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
    env.update(PYTHONPATH=str(REPO), RAY_USAGE_STATS_ENABLED="0",
               RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", **extra)
    return env


def can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, token file, hidden study folder or None, visible folder): a one-node cluster."""
    if not RAY.exists():
        pytest.skip(f"no `ray` command beside {sys.executable}")
    base = tmp_path_factory.mktemp("ray-cluster")
    hidden_dir, shared_dir = base / "here-only", base / "shared"
    hidden_dir.mkdir()
    shared_dir.mkdir()
    token = base / "token"
    token.write_text(secrets.token_hex(16))
    temp = Path(tempfile.mkdtemp(prefix="crl-ray-", dir="/tmp"))  # short: Ray's socket paths
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = clean_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    head = [str(RAY), "start", "--head", f"--port={port}", "--num-cpus=2", "--node-ip-address=127.0.0.1",
            "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"]
    hidden = None
    if can_unshare():  # the cluster in its own mount namespace, where hidden_dir is empty
        hidden = hidden_dir
        head = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                f"mount -t tmpfs none '{hidden_dir}' && exec \"$@\"", "sh", *head]
    try:
        out = subprocess.run(head, capture_output=True, text=True, env=env, timeout=300)
        if out.returncode != 0:
            pytest.skip(f"a Ray cluster did not start here: {out.stderr.strip()[-300:]}")
        yield address, token, hidden, hidden_dir, shared_dir
    finally:
        # stop only the processes of this cluster (they carry its temp dir), by pid
        mine = [p for p in psutil.process_iter(["cmdline"])
                if any(str(temp) in part for part in (p.info["cmdline"] or []))]
        for p in mine:
            p.terminate()
        _, alive = psutil.wait_procs(mine, timeout=15)
        for p in alive:
            p.kill()
        shutil.rmtree(temp, ignore_errors=True)


def course_rl(*args, cwd, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "course_rl", *args], capture_output=True,
                          text=True, cwd=cwd, env=env or clean_env(), timeout=timeout)


def same_runs(a: Path, b: Path) -> None:
    """Every array of two run folders' traces (but the wall time) and their policy weights."""
    import h5py
    ra, rb = results.load_trace(a), results.load_trace(b)
    assert ra.config == rb.config
    keys = sorted(set(ra.arrays) - {"wall_time"})
    assert keys == sorted(set(rb.arrays) - {"wall_time"})
    for key in keys:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)

    def weights(path):
        out = []
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: out.append((name, obj[()])) if isinstance(obj, h5py.Dataset) else None)
        return out

    wa, wb = weights(a / "policy.weights.h5"), weights(b / "policy.weights.h5")
    assert [n for n, _ in wa] == [n for n, _ in wb] and len(wa) > 0
    for (name, x), (_, y) in zip(wa, wb):
        np.testing.assert_array_equal(x, y, err_msg=name)


def away_folder(root: Path) -> Path:
    """Where a Ray worker that cannot see ``root`` trains (``study._ray_task``)."""
    key = hashlib.sha256(f"{socket.gethostname()}:{root}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "course_rl-ray" / key


@pytest.mark.parametrize("where", ["hidden from the cluster", "shared with the cluster"])
def test_a_study_on_the_cluster_lands_in_the_requested_root_identical_to_a_local_one(cluster, where):
    address, token, hidden, hidden_dir, shared_dir = cluster
    folder = hidden_dir if where.startswith("hidden") else shared_dir
    if where.startswith("hidden") and hidden is None:
        pytest.skip("cannot hide a folder from the cluster here (needs root and unshare -m)")
    local = course_rl("study", "reinforce-cartpole", *SETTINGS, "--seeds", "0-1", "--root",
                      "local-runs", cwd=folder)
    assert local.returncode == 0, local.stderr
    shutil.rmtree(away_folder(folder / "runs"), ignore_errors=True)
    out = course_rl("study", "reinforce-cartpole", *SETTINGS, "--seeds", "0-1", "--ray", address,
                    "--ray-token-file", str(token), "--root", "runs", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    for seed in (0, 1):
        same_runs(results.run_dir(folder / "runs", EXPERIMENT, "pybullet", seed),
                  results.run_dir(folder / "local-runs", EXPERIMENT, "pybullet", seed))
    assert not list((folder / "runs").rglob("*.lock"))
    assert not list((folder / "runs").rglob(".*"))  # no half-moved folders left
    # the workers trained in a folder of their own (and sent the runs back) exactly when they
    # could not see the root
    away = away_folder(folder / "runs")
    assert (away / EXPERIMENT / "pybullet" / "seed-0" / "trace.npz").exists() == (folder == hidden)
    shutil.rmtree(away, ignore_errors=True)
    # run again: both seeds are finished, loaded, not trained
    again = course_rl("study", "reinforce-cartpole", *SETTINGS, "--seeds", "0-1", "--ray", address,
                      "--ray-token-file", str(token), "--root", "runs", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("finished before") == 2, again.stdout


def test_the_token_can_come_from_the_environment(cluster):
    address, token, _, folder, _ = cluster
    env = clean_env(RAY_AUTH_TOKEN=token.read_text())  # RAY_AUTH_MODE=token is implied
    out = course_rl("study", "reinforce-cartpole", *SETTINGS, "--seeds", "2", "--ray", address,
                    "--root", "env-runs", cwd=folder, env=env)
    assert out.returncode == 0, out.stderr
    assert (results.run_dir(folder / "env-runs", EXPERIMENT, "pybullet", 2) / "trace.npz").exists()
    shutil.rmtree(away_folder(folder / "env-runs"), ignore_errors=True)


@pytest.mark.parametrize("how", ["no token", "wrong token"])
def test_a_missing_or_wrong_token_is_one_line(cluster, how, tmp_path):
    address = cluster[0]
    args = ["study", "reinforce-cartpole", *SETTINGS, "--seeds", "0", "--ray", address,
            "--root", str(tmp_path / "runs")]
    if how == "wrong token":
        wrong = tmp_path / "wrong-token"
        wrong.write_text(secrets.token_hex(16))
        args += ["--ray-token-file", str(wrong)]
    out = course_rl(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert address in lines[0] and "token" in lines[0] and "--ray-token-file" in lines[0]
    assert not list((tmp_path / "runs").rglob("seed-*"))


def test_a_driver_not_in_one_node_mode_is_told_so(cluster, tmp_path):
    """Without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, Ray would connect to this machine's network
    address instead of 127.0.0.1 and wait for minutes; the CLI says what to set."""
    address, token = cluster[0], cluster[1]
    env = clean_env()
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    out = course_rl("study", "reinforce-cartpole", *SETTINGS, "--seeds", "0", "--ray", address,
                    "--ray-token-file", str(token), "--root", "runs", cwd=tmp_path, env=env)
    if out.returncode == 0:
        pytest.skip("this machine has no network address besides 127.0.0.1")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0" in lines[0], out.stderr
