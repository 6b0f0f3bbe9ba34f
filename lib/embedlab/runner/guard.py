"""The runner's hold on its processes and folders: one runner per profile and reports folder (a lock), local
workers that end with the runner, and every process it started stopped when it is interrupted.

* :func:`profile_lock` — an exclusive ``flock`` on ``<reports>/<profile>/.runner.lock``; the system drops it when
  the runner dies (even by ``kill -9``); a second runner gets a :class:`PlanError` naming the holder.
* :func:`worker_init` — run in each local worker process: it ignores Ctrl-C (the runner handles it) and watches its
  parent; when the runner is gone (``kill -9``) the worker stops its kernels and exits, so nothing it started
  writes into the reports later.
* :func:`stop_descendants` — every process below this one (workers, kernels), terminated then killed.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

from .plans import PlanError

LOCK_NAME = ".runner.lock"


@contextlib.contextmanager
def profile_lock(profile_dir: Path, profile: str) -> Iterator[None]:
    """Hold the profile folder's lock while running; an unwritable folder or a held lock is a one-line
    :class:`PlanError`."""
    profile_dir = Path(profile_dir)
    try:
        profile_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(profile_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise PlanError(f"reports folder {profile_dir}: cannot write there ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            raise PlanError(f"profile {profile!r} is already being run into {profile_dir} by {holder}; wait for it "
                            "to end or stop it (one runner at a time per profile and reports folder)") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}).encode())
        yield
    finally:
        os.close(fd)  # closing drops the lock; the file stays (removing it would race a waiting runner)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"process {info['pid']} on {info['host']} (started {info['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another runner"


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids of every process (Linux ``/proc``; empty elsewhere)."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out.setdefault(ppid, []).append(int(entry.parent.name))
    return out


def descendants(pid: int | None = None) -> list[int]:
    """Every process below ``pid`` (default: this one), children first."""
    tree, out, todo = _children(), [], [pid or os.getpid()]
    while todo:
        kids = tree.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def stop_descendants(keep: set[int] = frozenset(), grace: float = 3.0) -> None:
    """Terminate every process below this one (local workers, notebook kernels) but those in ``keep``; kill those
    left after ``grace`` seconds."""
    pids = [p for p in descendants() if p not in keep]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.time() + grace
        while sig == signal.SIGTERM and time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap our own children so they do not linger as zombies
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    except OSError:
        return False


def worker_init(parent: int, every: float = 0.5) -> None:
    """In a local worker: leave Ctrl-C to the runner, and exit (stopping its kernels first) once the runner that
    started it is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        for pid in descendants():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="embedlab-parent-watch", daemon=True).start()
