"""Progress on long work goes to the terminal, never into a report.

Inside a report kernel the runner sets ``$EMBEDLAB_PROGRESS_LOG``: bars then append a line to that file every
couple of seconds (the runner shows the latest one in its terminal) and draw nothing in the notebook. Elsewhere
(a terminal, JupyterLab) they are ordinary tqdm bars on stderr. :func:`step` prints one line for the report.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_EVERY_S = 2.0


def _log_path() -> str | None:
    return os.environ.get("EMBEDLAB_PROGRESS_LOG") or None


def log(line: str) -> None:
    """Append one line to the runner's progress log (no-op outside a runner kernel)."""
    path = _log_path()
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {line}\n")


def bar(iterable: Iterable[T], desc: str = "", total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate with progress: the runner's log inside a report kernel, a tqdm bar on stderr elsewhere."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if not _log_path():
        from tqdm.auto import tqdm

        yield from tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr,
                        disable=os.environ.get("TQDM_DISABLE") == "1")
        return
    start = last = time.monotonic()
    log(f"{desc}: start ({total if total is not None else '?'} {unit})")
    i = 0
    for i, item in enumerate(iterable, 1):
        yield item
        now = time.monotonic()
        if now - last >= _EVERY_S:
            last = now
            rate = i / max(now - start, 1e-9)
            left = f", ~{(total - i) / rate:.0f} s left" if total else ""
            log(f"{desc}: {i}/{total if total is not None else '?'} {unit} ({now - start:.0f} s{left})")
    log(f"{desc}: done {i} {unit} in {time.monotonic() - start:.1f} s")


def step(message: str) -> None:
    """One line for the report (stdout) and the terminal (the runner's log) about a long step."""
    print(message, flush=True)
    log(message)
