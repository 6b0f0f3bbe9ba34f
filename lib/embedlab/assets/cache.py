"""The cache folder: where it is, a lock per asset, and the removal of what killed fetches left behind."""
from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import os
import re
import shutil
import time
from pathlib import Path

from ..util import pid_alive
from .registry import CacheError

#: leftovers (``.part-*`` / ``.tmp-*`` downloads, ``.extract-*`` folders) of a fetch older than this are removed
STALE_SECONDS = 300
#: the process id in a leftover's name: ``.<file>.tmp-<pid>-...`` (embedlab.util), ``.part-<pid>`` (older
#: versions), ``.extract-<pid>-...``
_PID_IN_NAME = re.compile(r"(?:\.part|\.tmp|\.extract)-(\d+)(?:-|$)")


def cache_dir() -> Path:
    """Cache root: ``$EMBEDLAB_CACHE`` or the user cache directory; a clear error when it is not usable."""
    env = os.environ.get("EMBEDLAB_CACHE")
    root = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedlab"
    why = None
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        why = "a file is in the way (it must be a directory)"
    except OSError as exc:
        why = f"{type(exc).__name__}: {exc.strerror or exc}"
    if why is None and not os.access(root, os.W_OK | os.X_OK):
        why = "not writable"
    if why is not None:
        raise CacheError(_cache_message(root, why))
    return root


def _cache_message(path: Path, why: str) -> str:
    env = os.environ.get("EMBEDLAB_CACHE")
    where = f"EMBEDLAB_CACHE={env}" if env else "EMBEDLAB_CACHE is not set, so the default is used"
    return (f"the embedlab cache cannot be used: {path}: {why} ({where}). Point EMBEDLAB_CACHE at a writable "
            "directory, e.g. `export EMBEDLAB_CACHE=$HOME/embedlab-cache`.")


def mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


@contextlib.contextmanager
def lock(key: str):
    """An exclusive, process-wide lock on ``<cache>/locks/<key>.lock`` (released when the process dies)."""
    path = mkdir(cache_dir() / "locks") / f"{key}.lock"
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def clean_leftovers(folder: Path, *patterns: str) -> list[Path]:
    """Remove leftovers of killed fetches matching any of ``patterns`` in ``folder`` (call with its lock held).

    A leftover goes when the process named in it is gone, or when it is older than :data:`STALE_SECONDS`
    (names without a pid, e.g. from older embedlab versions)."""
    removed = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for p in folder.iterdir():
        if not any(fnmatch.fnmatchcase(p.name, pattern) for pattern in patterns):
            continue
        pid = _PID_IN_NAME.search(p.name)
        try:
            stale = (pid is not None and int(pid[1]) != os.getpid() and not pid_alive(int(pid[1]))) \
                or now - p.lstat().st_mtime > STALE_SECONDS
        except FileNotFoundError:
            continue
        if stale:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed
