"""TensorFlow and Keras, imported once without the log lines their native libraries print.

Every TensorFlow import of the package goes through here::

    from .quiet_tf import tf          # instead of: import tensorflow as tf
    from .quiet_tf import keras       # instead of: import keras

Why: TensorFlow's C++ libraries write to file descriptor 2 while they load ("All log messages
before absl::InitializeLog() ...", "oneDNN custom operations are on", "Could not find cuda
drivers", CPU-feature notices) and when the first operation probes for GPUs (``E0000 ...
failed call to cuInit`` on machines without one). ``TF_CPP_MIN_LOG_LEVEL`` does not hide
these with TensorFlow 2.21, and Jupyter shows each as a pink stderr box. So the first import
runs with descriptor 2 pointed at a temporary file, the device probe runs inside the same
window, and afterwards every captured line that is not one of those known notices is written
back to stderr (a real error still shows). GPUs stay usable: nothing is disabled, only the
notices are dropped. Later imports are free (Python caches the module).

Chapters import TensorFlow the same way (notebooks/CONVENTIONS.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile

# later C++ INFO and WARNING logs (XLA notices while compiling); errors still show
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

NOTICES = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IWE]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\] .*("
    r"oneDNN custom operations are on|Could not find cuda drivers|cuInit|"
    r"TensorFlow binary is optimized|Unable to register cu|computation placer already registered"
    r"|TF-TRT Warning|successful NUMA node read)"
    r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler"
    r")")
"""Lines of the native libraries' start-up chatter: dropped from what the import writes."""


@contextlib.contextmanager
def _stderr_captured(lines: list[str]):
    """Point file descriptor 2 at a temporary file inside the block; its lines go to ``lines``."""
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):
        pass
    try:
        saved = os.dup(2)
        capture = tempfile.TemporaryFile(mode="w+b")
    except OSError:  # no descriptor 2 to redirect: nothing would be printed there anyway
        yield
        return
    try:
        os.dup2(capture.fileno(), 2)
        yield
    finally:
        try:  # flush C stdio while it still points at the file
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError, TypeError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        lines.extend(capture.read().decode("utf-8", "replace").splitlines())
        capture.close()


def _replay(lines: list[str]) -> None:
    kept = [line for line in lines if line.strip() and not NOTICES.match(line)]
    if kept:
        print("\n".join(kept), file=sys.stderr)


def _import():
    # (if the user imported TensorFlow first, the import is free but the probe may not be)
    lines: list[str] = []
    try:
        with _stderr_captured(lines):
            import tensorflow
            # the GPU probe logs "failed call to cuInit" on machines without a GPU; run it now,
            # inside the window, instead of at the first operation (10 ms)
            tensorflow.config.list_physical_devices()
            import keras
    finally:
        _replay(lines)
    return tensorflow, keras


tf, keras = _import()

__all__ = ["NOTICES", "keras", "tf"]
