"""Safe file writes and checked reads: the one place that knows how to put data on disk.

Every file the package writes (a run's trace and checkpoint in :mod:`course_rl.results`, the
VAE's weights in :mod:`course_rl.vae`) goes through :func:`atomic_write`: the data goes to a
temporary file in the target's folder, which is then renamed over the target, so a crash leaves
either the old file or the new one, never half of one. :func:`load_npz` reads a ``.npz``
without pickles and turns every way of being unreadable into one :class:`ResultsError` naming
the file.

This module imports nothing of the package, so that any module may use it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["ResultsError", "atomic_write", "load_npz", "save_npz", "save_text"]

_UMASK = os.umask(0)
os.umask(_UMASK)


class ResultsError(ValueError):
    """A results file is missing, corrupt, truncated or not a course_rl trace."""


def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)`` and then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the target's suffixes: some writers (Keras) insist on them
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp.", suffix="".join(path.suffixes),
                               dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:  # on disk before the rename, so that a power cut cannot leave an empty target
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_npz(path, arrays: dict) -> None:
    """Write arrays to ``path`` atomically (compressed .npz, no pickles)."""
    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write(path, write)


def save_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    def write(tmp):
        Path(tmp).write_text(text)
    atomic_write(path, write)


def load_npz(path, advice: str = "restore it from a copy or write it again") -> dict:
    """Read a .npz written by ``save_npz``; a ResultsError names the file if it is unreadable,
    and ends with ``advice`` (what to do about it)."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"no results file at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as err:  # noqa: BLE001
        # damage shows up as any of BadZipFile, zlib.error, ValueError, EOFError, KeyError,
        # SyntaxError (a mangled array header), MemoryError (a header with a huge shape), ...
        message = " ".join(str(err).split())[:200]
        raise ResultsError(f"{path} is corrupt or truncated ({type(err).__name__}: {message}); "
                           f"{advice}") from None
