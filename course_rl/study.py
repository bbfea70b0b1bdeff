"""Studies: many seeds of an experiment, in parallel processes (joblib) or on a Ray cluster.

Every seed is an independent ``training.train`` call writing its own run folder, so a study
skips finished seeds and resumes interrupted ones simply by running again.

A run folder is trained by one process at a time: a lock file ``seed-<N>.lock`` beside it
names the holder (pid, host, start). Another study on the same root skips or waits for the
seeds a live process holds, and takes over a lock whose holder died (saying so). Worker
processes stop when the study's process dies, however it dies.

With Ray, roots are made absolute before anything is sent to the cluster; a worker that sees
the study's root (a shared filesystem) trains in it, any other trains in a folder of its own
and sends the finished run back, so the results always land where the study was asked to put
them, which is checked at the end.

Taught in notebooks/05_results.ipynb.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import tempfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from . import results
from .config import Config

DEFAULT_ROOT = Path("runs")
MAX_SEED = 2**32 - 1
"""Largest seed accepted (numpy's and Keras' seeding work below 2**32)."""
MAX_STUDY_SEEDS = 10_000
"""Most seeds in one study (the course's largest has 20)."""


class StudyWarning(UserWarning):
    """Something a study did that its user should know: a held or recovered run, a capped
    worker count."""


def parse_seeds(text: str) -> list[int]:
    """``"0-19"`` -> 0..19, ``"0,3,5-7"`` -> [0, 3, 5, 6, 7]."""
    seeds: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ValueError(f"bad seed list {text!r}: use e.g. 0-19 or 0,2,5-7 (non-negative integers)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ValueError(f"bad seed range {part!r}: the end is below the start")
        if hi > MAX_SEED:
            raise ValueError(f"bad seed {hi} in {text!r}: seeds go from 0 to {MAX_SEED}")
        # count before building the list: 0-99999999999 must not exhaust the memory first
        if hi - lo + 1 + len(seeds) > MAX_STUDY_SEEDS:
            raise ValueError(f"seed list {text!r} has more than {MAX_STUDY_SEEDS:,} seeds, the most "
                             f"one study runs (course_rl.study.MAX_STUDY_SEEDS)")
        seeds.update(range(lo, hi + 1))
    return sorted(seeds)


def writable_folder(path, what: str = "folder") -> Path:
    """``path`` as an absolute path, created if needed, after checking that files can be
    written in it; a ValueError says why not (a file in the way, read-only, ...).

    Called before any work starts, so a bad ``--out``/``--root`` costs a sentence, not the
    first checkpoint of a long run.
    """
    text = str(path)
    path = Path(path).expanduser().absolute()
    for folder in (path, *path.parents):
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                where = "" if folder == path else f" ({folder} is a file)"
                raise ValueError(f"{what} {text!r} cannot be a folder{where}: choose a folder "
                                 f"path, not a file")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".course-rl-write-test.", dir=path)
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise ValueError(f"{what} {text!r} is not writable ({err.strerror}): choose a folder "
                         f"you can write to") from None
    return path


# ---- run locks -------------------------------------------------------------------------------

def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (to tell it from a later process given the same pid)."""
    try:
        import psutil
        return psutil.Process(pid).create_time()
    except Exception:  # no psutil, no such process, no access
        return None


def _pid_alive(pid: int, started: float | None) -> bool:
    try:
        import psutil
    except ImportError:
        if os.name == "nt":
            return True  # (os.kill would terminate it): assume it lives
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < 1.0
    except psutil.Error:
        return False


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run's lock, as its lock file says."""

    pid: int
    host: str
    since: float
    path: Path
    alive: bool | None = True
    """True: a live process on this host; None: on another host (cannot be checked here)."""

    def __str__(self):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        where = "" if self.alive else " (on another host: delete the lock file if that study is gone)"
        return f"pid {self.pid} on {self.host} since {when}{where}; lock file {self.path}"


_HELD_LOCKS: set = set()  # this process's locks, released by the watchdog before it exits


class RunLock:
    """The lock of one run folder: the file ``<folder>.lock`` beside it, holding the JSON of
    its holder (pid, host, process start time, time taken, and the study's id).

    ``acquire()`` returns None once the lock is ours, else the live ``LockHolder``. A lock
    whose process has died (same host, pid gone or reused) is taken over and the takeover is
    recorded in ``recovered``. ``release()`` removes the file if it is still ours.
    """

    def __init__(self, folder, study: str = ""):
        folder = Path(folder).absolute()
        self.path = folder.with_name(folder.name + ".lock")
        self.study = study
        self.recovered: str | None = None
        self._token = uuid.uuid4().hex
        self._held = False

    def _payload(self) -> str:
        pid = os.getpid()
        return json.dumps({"pid": pid, "host": socket.gethostname(), "since": time.time(),
                           "process_start": _process_start(pid), "study": self.study,
                           "token": self._token})

    def _create(self) -> bool:
        """Make the lock file with its whole content in one step; False if it exists."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(self._payload())
            try:
                os.link(tmp, self.path)  # atomic, and fails if the lock exists
            except FileExistsError:
                return False
            except OSError:  # a filesystem without hard links
                try:
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    return False
                with os.fdopen(fd, "w") as f:
                    f.write(Path(tmp).read_text())
        finally:
            os.remove(tmp)
        self._held = True
        _HELD_LOCKS.add(self)
        return True

    def read(self) -> dict | None:
        """The lock file's content; None if there is none, {} if it is unreadable."""
        try:
            info = json.loads(self.path.read_text())
            return info if isinstance(info, dict) and "pid" in info else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def holder(self, info: dict) -> LockHolder | None:
        """The live holder described by ``info``, or None if it is gone (a stale lock)."""
        if not info:  # unreadable: give a writer a moment, then call it stale
            try:
                young = time.time() - self.path.stat().st_mtime < 10
            except FileNotFoundError:
                return None
            return LockHolder(-1, "?", time.time(), self.path) if young else None
        holder = LockHolder(int(info["pid"]), str(info.get("host", "?")),
                            float(info.get("since", 0)), self.path)
        if holder.host != socket.gethostname():
            return LockHolder(holder.pid, holder.host, holder.since, self.path, alive=None)
        if holder.pid == os.getpid() or _pid_alive(holder.pid, info.get("process_start")):
            return holder
        return None

    def acquire(self) -> LockHolder | None:
        for _ in range(5):
            if self._create():
                return None
            info = self.read()
            if info is None:
                continue  # released meanwhile: try again
            live = self.holder(info)
            if live is not None:
                return live
            if self._take_over(info):
                what = (f"pid {info['pid']} on {info.get('host', '?')}, which is gone" if info
                        else "an unreadable lock file")
                self.recovered = f"took over the stale lock {self.path} ({what})"
                return None
            time.sleep(0.2)  # another process is taking it over: look again
        info = self.read() or {}
        return self.holder(info) or LockHolder(int(info.get("pid", -1)), "?", time.time(), self.path)

    def _take_over(self, stale: dict) -> bool:
        """Replace a stale lock by ours; one process at a time (a takeover directory)."""
        guard = self.path.with_name(self.path.name + ".takeover")
        try:
            os.mkdir(guard)
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                if time.time() - guard.stat().st_mtime > 60:  # left by a process that died
                    os.rmdir(guard)
            return False
        try:
            if self.read() != stale:
                return False  # changed hands meanwhile
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            return self._create()
        finally:
            os.rmdir(guard)

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        _HELD_LOCKS.discard(self)
        info = self.read()
        if info and info.get("token") == self._token:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)

    def __hash__(self):
        return hash(self._token)


# ---- workers -----------------------------------------------------------------------------------

def _limit_threads() -> None:
    """One process per core: keep each worker's numerical libraries single-threaded."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(var, "1")


_WATCHED: set = set()


def _stop_with(pid: int) -> None:
    """In a worker process: exit (releasing this process's run locks) as soon as process
    ``pid``, the study's, is gone; a killed study must not leave workers training on."""
    if pid == os.getpid() or pid in _WATCHED:
        return
    _WATCHED.add(pid)
    is_parent = os.getppid() == pid
    started = _process_start(pid)

    def watch():
        while True:
            time.sleep(0.5)
            gone = os.getppid() != pid if is_parent else not _pid_alive(pid, started)
            if gone:
                for lock in list(_HELD_LOCKS):
                    with contextlib.suppress(Exception):
                        lock.release()
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="course-rl-stop-with-study").start()


def _finished(folder: Path) -> bool:
    return (folder / results.TRACE_FILE).exists()


def train_folder(config: Config, seed: int, backend: str, folder, progress: bool = False,
                 lock: bool = True) -> dict:
    """Train (or resume, or load) one run in ``folder`` under its lock; a summary dict.

    ``status`` says what happened: "trained", "resumed", "finished before", or "held" when
    another live process holds the run (then ``holder`` says who, and nothing was done).
    """
    from .training import train
    folder = Path(folder)
    run_lock = RunLock(folder)
    if lock:
        holder = run_lock.acquire()
        if holder is not None:
            return {"seed": seed, "status": "held", "holder": str(holder), "folder": str(folder)}
    try:
        status = ("finished before" if _finished(folder) else
                  "resumed" if (folder / results.CHECKPOINT_FILE).exists() else "trained")
        started = time.perf_counter()
        run = train(config, seed=seed, backend=backend, out=folder, progress=progress)
    finally:
        run_lock.release()
    return {"seed": seed, "best_eval_return": run.best_eval_return, "status": status,
            "seconds": time.perf_counter() - started, "folder": str(folder),
            "recovered": run_lock.recovered}


def run_seed(config: Config, seed: int, backend: str, root: str, progress: bool = False,
             study_pid: int | None = None) -> dict:
    """Train one seed into ``root`` (a worker's job); returns ``train_folder``'s summary.

    ``study_pid``: the study's process; this worker exits when it is gone.
    """
    if study_pid is not None:
        _stop_with(study_pid)
    _limit_threads()
    folder = results.run_dir(root, config.name, backend, seed)
    return train_folder(config, seed, backend, folder, progress)


# ---- studies -----------------------------------------------------------------------------------

def _usable_workers(workers, n_seeds: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r} is not allowed: an integer >= 1")
    from joblib import cpu_count
    cores = cpu_count()
    if workers > cores:
        warnings.warn(f"{workers} workers on {cores} cores would only slow each other down; "
                      f"using {cores}", StudyWarning, stacklevel=3)
        workers = cores
    return max(1, min(workers, n_seeds))


def run_study(config: Config, seeds, backend: str = "pybullet", root=DEFAULT_ROOT,
              workers: int = 1, ray_address: str | None = None, progress: bool = True,
              wait: bool = True, poll_seconds: float = 5.0, ray_timeout: float = 60.0,
              ray_token_file=None) -> list[dict]:
    """Train ``config`` for every seed; finished seeds are loaded, interrupted ones resumed.

    ``workers`` processes share the seeds (joblib, one seed per task; at most one per core);
    with ``ray_address`` ("auto", "local", "host:port" or "ray://host:10001") the seeds run
    as Ray tasks on that cluster instead (``ray_timeout`` seconds to connect;
    ``ray_token_file``: the cluster's authentication token, see ``connect_ray``).

    Seeds that another live process is training are waited for (``wait=True``, looking every
    ``poll_seconds``) or skipped (their summary has ``status="held"``). Returns one summary
    dict per seed (see ``train_folder``), by seed.
    """
    from tqdm.auto import tqdm
    seeds = list(seeds)
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= MAX_SEED]
    if bad:
        raise ValueError(f"seeds {bad[:5]} are not allowed: integers from 0 to {MAX_SEED}")
    if backend not in _backends():
        raise ValueError(f"unknown backend {backend!r}; choose one of {list(_backends())}")
    root = writable_folder(root, "results root")  # absolute: Ray workers run elsewhere
    if ray_address is not None:
        out = _run_on_ray(config, seeds, backend, root, ray_address, progress, ray_timeout,
                          ray_token_file)
    else:
        workers = _usable_workers(workers, len(seeds))
        if workers == 1:
            out = [run_seed(config, s, backend, root, progress) for s in seeds]
        else:
            from joblib import Parallel, delayed
            jobs = (delayed(run_seed)(config, s, backend, root, study_pid=os.getpid()) for s in seeds)
            out = []
            parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
            with tqdm(total=len(seeds), disable=not progress, desc=f"{config.name} seeds",
                      unit="run") as bar:
                for summary in parallel(jobs):
                    out.append(summary)
                    bar.update(1)
    out = _wait_for_held(config, backend, root, out, wait, poll_seconds, progress)
    for s in out:
        if s.get("recovered"):
            warnings.warn(f"seed {s['seed']}: {s['recovered']}", StudyWarning, stacklevel=2)
    _check_folders(config, backend, root, out)
    return sorted(out, key=lambda d: d["seed"])


def _backends():
    from .tasks import BACKENDS
    return BACKENDS


def _wait_for_held(config, backend, root, out, wait, poll_seconds, progress) -> list[dict]:
    held = [s for s in out if s["status"] == "held"]
    if not held:
        return out
    done = [s for s in out if s["status"] != "held"]
    for s in held:
        warnings.warn(f"seed {s['seed']} is being trained by another process ({s['holder']}); "
                      + ("waiting for it" if wait else "skipped"), StudyWarning, stacklevel=3)
    if not wait:
        return out
    while held:
        time.sleep(poll_seconds)
        still = []
        for s in held:  # the other process finished it (then it loads) or died (then we train)
            summary = run_seed(config, s["seed"], backend, root, progress)
            (still if summary["status"] == "held" else done).append(summary)
        held = still
    return done


def _check_folders(config, backend, root, out) -> None:
    """Every seed the study ran must now be a finished run folder under ``root``."""
    missing = [s["seed"] for s in out if s["status"] != "held"
               and not _finished(results.run_dir(root, config.name, backend, s["seed"]))]
    if missing:
        raise RuntimeError(f"seeds {missing} reported finished but have no finished run folder "
                           f"under {root / config.name / backend}")


# ---- Ray -----------------------------------------------------------------------------------------

def _token_setup(token_file) -> None:
    """Token authentication (Ray >= 2.52 clusters): a token file turns it on for this driver;
    so does RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH when RAY_AUTH_MODE is not set."""
    if token_file is not None:
        path = Path(token_file).expanduser().absolute()
        if not path.is_file() or not path.read_text().strip():
            raise ValueError(f"--ray-token-file {str(token_file)!r} is not a file holding a token: "
                             f"give the file `ray get-auth-token` prints on the cluster's head")
        os.environ["RAY_AUTH_TOKEN_PATH"] = str(path)
        os.environ.pop("RAY_AUTH_TOKEN", None)
        os.environ["RAY_AUTH_MODE"] = "token"
    elif "RAY_AUTH_MODE" not in os.environ and (os.environ.get("RAY_AUTH_TOKEN")
                                                or os.environ.get("RAY_AUTH_TOKEN_PATH")):
        os.environ["RAY_AUTH_MODE"] = "token"


def _reachable(host: str, port: int, timeout: float) -> OSError | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return err


def _probe(address: str, timeout: float) -> None:
    """Fail fast when nothing listens at ``address`` (Ray itself would retry for minutes)."""
    bare = address.removeprefix("ray://")
    host, sep, port = bare.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--ray {address!r} is not a Ray address: use host:port (the head's "
                         f"GCS port, e.g. 10.0.0.5:6379), ray://host:10001, 'auto' or 'local'")
    host, port = host.strip("[]"), int(port)
    err = _reachable(host, port, timeout)
    if err is not None:
        reason = "timed out" if isinstance(err, TimeoutError) else err.strerror or str(err)
        raise RuntimeError(f"no Ray cluster at {address}: cannot connect ({reason}); start one "
                           f"with `ray start --head` or check the address") from None
    # Ray replaces a loopback address by this machine's network address before connecting, so
    # a cluster that listens on 127.0.0.1 only (started with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0,
    # Ray's one-node mode) would be waited for in vain unless this process runs in that mode too
    import ipaddress
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback and not address.startswith("ray://"):
        from ray._private import ray_constants, services
        if getattr(ray_constants, "ENABLE_RAY_CLUSTER", False):
            public = services.get_node_ip_address()
            if not ipaddress.ip_address(public).is_loopback and _reachable(public, port, timeout):
                raise RuntimeError(f"the Ray cluster at {address} listens on {host} only (a "
                                   f"one-node cluster started with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0)"
                                   f" and Ray would connect to {public}: set "
                                   f"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 for this command too")


@contextlib.contextmanager
def _stderr_to(file, keep=lambda: False):
    """Send file descriptor 2 (where Ray's C++ core logs) to ``file`` for a while; if ``keep()``
    says so at the end (a connection attempt still running), C-level output stays silenced
    for good and Python's ``sys.stderr`` alone goes on writing to the terminal."""
    import sys
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        if keep():
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
            sys.stderr = os.fdopen(saved, "w", buffering=1)
        else:
            os.dup2(saved, 2)
            os.close(saved)


def connect_ray(address: str, timeout: float = 60.0, token_file=None) -> bool:
    """Connect this process to the Ray cluster at ``address`` (or start a local one for
    "local"); returns True if this call did (the caller shuts it down).

    Errors are one sentence: nothing listening, no answer within ``timeout`` seconds, a
    cluster that wants an authentication token (pass ``token_file``, the file ``ray
    get-auth-token`` prints on the head, or set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN).
    """
    import ray
    if ray.is_initialized():
        return False
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"ray timeout {timeout!r} is not allowed: a number of seconds > 0")
    _token_setup(token_file)
    with contextlib.suppress(Exception):  # make a changed RAY_AUTH_MODE count if ray was imported
        ray._raylet.Config.initialize("")
    if address not in ("auto", "local"):
        _probe(address, min(timeout, 10.0))
    outcome: dict = {}

    def init():
        try:
            ray.init(address=None if address == "local" else address, ignore_reinit_error=True,
                     log_to_driver=False)
            outcome["ok"] = True
        except BaseException as err:  # reported below, in the calling thread
            outcome["error"] = err

    # Ray waits minutes for an address that answers but is not a Ray head: run it in a thread
    # we can stop waiting for, and keep its C++ retries off the terminal
    thread = threading.Thread(target=init, daemon=True, name="course-rl-ray-init")
    with tempfile.TemporaryFile() as log:
        with _stderr_to(log, keep=thread.is_alive):
            thread.start()
            thread.join(timeout)
        log.seek(0)
        text = log.read().decode(errors="replace")
    if outcome.get("ok"):
        return True
    mode = os.environ.get("RAY_AUTH_MODE", "unset")
    error = outcome.get("error")
    if "InvalidAuthToken" in text or "Unauthenticated" in text or "AuthenticationError" in type(error).__name__:
        raise RuntimeError(f"the Ray cluster at {address} refused this driver's authentication "
                           f"token (RAY_AUTH_MODE={mode}): it was started with token "
                           f"authentication; pass --ray-token-file FILE (the token of `ray "
                           f"get-auth-token` on its head) or set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN")
    if error is None:
        raise RuntimeError(f"no answer from a Ray cluster at {address} within {timeout:g} s: is it "
                           f"the head's GCS port (6379 unless `ray start --port` said otherwise)? "
                           f"(--ray-timeout sets the wait)")
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    hint = (" (is token authentication off on the cluster? this driver has RAY_AUTH_MODE=token)"
            if mode == "token" else "")
    raise RuntimeError(f"could not connect to the Ray cluster at {address}: {first}{hint}")


def _origin(root: Path) -> str:
    return f"{socket.gethostname()}:{root}"


def _ray_task(config: Config, seed: int, backend: str, root: str, study: str, origin: str) -> dict:
    """A Ray task: train one seed; in the study's root if this node sees it (the study's lock
    file is there), else in a folder of this node, returning the finished run's files."""
    _limit_threads()
    folder = results.run_dir(root, config.name, backend, seed)
    info = RunLock(folder).read()
    if info and info.get("study") == study:  # the same filesystem as the study's process
        summary = train_folder(config, seed, backend, folder, lock=False)
        summary["files"] = None
        return summary
    key = hashlib.sha256(origin.encode()).hexdigest()[:16]
    local = Path(tempfile.gettempdir()) / "course_rl-ray" / key / config.name / backend / f"seed-{seed}"
    summary = train_folder(config, seed, backend, local)
    if summary["status"] != "held":
        summary["files"] = results.run_files(local)
    summary["node"] = socket.gethostname()
    return summary


def _run_on_ray(config, seeds, backend, root: Path, address, progress, timeout, token_file):
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray needs the ray extra: pip install 'course_rl[ray]'") from None
    from tqdm.auto import tqdm
    started_here = connect_ray(address, timeout, token_file)
    study = uuid.uuid4().hex
    out, locks = [], {}
    try:
        # the study's process holds the locks: it is the one that answers for the root
        for s in seeds:
            folder = results.run_dir(root, config.name, backend, s)
            lock = RunLock(folder, study=study)
            holder = lock.acquire()
            if holder is not None:
                out.append({"seed": s, "status": "held", "holder": str(holder), "folder": str(folder)})
            elif _finished(folder):  # loaded here: a worker may not even see it
                out.append(dict(train_folder(config, s, backend, folder, lock=False),
                                recovered=lock.recovered))
                lock.release()
            else:
                locks[s] = lock
        remote = ray.remote(num_cpus=1)(_ray_task)
        pending = {remote.remote(config, s, backend, str(root), study, _origin(root)): s
                   for s in locks}
        with tqdm(total=len(pending), disable=not progress, desc=f"{config.name} seeds (ray)") as bar:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                seed = pending.pop(done[0])
                summary = ray.get(done[0])
                files = summary.pop("files", None)
                folder = results.run_dir(root, config.name, backend, seed)
                if files is not None:
                    results.write_run_files(folder, files)
                summary["folder"] = str(folder)
                summary["recovered"] = locks[seed].recovered
                out.append(summary)
                bar.update(1)
        return out
    finally:
        for lock in locks.values():
            lock.release()
        if started_here:
            ray.shutdown()
