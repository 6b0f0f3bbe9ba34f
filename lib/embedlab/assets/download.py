"""Downloads: the mirror of raw GitHub files, streamed HTTP with progress, and atomic checked writes (a file
appears in the cache only once its bytes passed their check)."""
from __future__ import annotations

import os
import shutil
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from .. import progress as _progress
from ..util import atomic_path
from .registry import AssetError, AssetUnavailable, url_basename

_RAW_GITHUB = "https://raw.githubusercontent.com/"
_MIRROR: Path | None = None


def set_mirror(path: Path | str | None) -> None:
    """Use ``path`` as the mirror directory for URL assets (``None``: back to ``$EMBEDLAB_MIRROR``).

    A path that is not an existing directory is an error (no silent fallback to the network)."""
    global _MIRROR
    if path and not Path(path).is_dir():
        raise AssetError(_mirror_message(Path(path), "--mirror"))
    _MIRROR = Path(path) if path else None


def _mirror_message(path: Path, origin: str) -> str:
    return (f"mirror directory {path} (from {origin}) does not exist or is not a directory; fix the path, or "
            "unset EMBEDLAB_MIRROR / drop --mirror to download from the canonical URLs")


def mirror_dir() -> Path | None:
    """The active mirror directory, if any; an error when ``$EMBEDLAB_MIRROR`` names no directory."""
    if _MIRROR is not None:
        return _MIRROR
    env = os.environ.get("EMBEDLAB_MIRROR")
    if not env:
        return None
    if not Path(env).is_dir():
        raise AssetError(_mirror_message(Path(env), "EMBEDLAB_MIRROR"))
    return Path(env)


def mirror_path(url: str, mirror: Path) -> Path | None:
    """Where a raw GitHub URL lies in a mirror: ``github/<owner>/<repo>/<sha>/<path>``."""
    if not url.startswith(_RAW_GITHUB):
        return None
    rest = urllib.parse.unquote(url[len(_RAW_GITHUB):])
    return mirror / "github" / rest


def fetch_checked(url: str, dest: Path, check: Callable[[Path, str], None], progress: bool,
                  desc: str | None = None, use_mirror: bool = False) -> None:
    """Put ``url``'s bytes at ``dest`` atomically: they land in a temporary file beside it (from the mirror when
    ``use_mirror`` and it holds the file, else downloaded), ``check(tmp, source)`` must pass, then they replace
    ``dest``. A failed check or a killed process leaves nothing at ``dest``."""
    with atomic_path(dest) as tmp:
        mirror = mirror_dir() if use_mirror else None
        local = mirror_path(url, mirror) if mirror else None
        if local is not None and local.exists():
            shutil.copyfile(local, tmp)
            source = f"mirror file {local}"
        else:
            download_file(url, tmp, progress, *([desc] if desc else []))
            source = url
        check(tmp, source)


# --------------------------------------------------------------------------- progress

class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _LogBar(_NoBar):
    """Download progress as lines in the runner's progress log (what its terminal shows)."""

    def __init__(self, total: int | None, desc: str):
        self.total, self.desc, self.done, self._time, self._last = total, desc, 0, time.monotonic, 0.0
        _progress.log(f"download {desc}: start ({(total or 0) / 2**20:.1f} MiB)")

    def update(self, n: int) -> None:
        self.done += n
        if self._time() - self._last >= 2.0:
            self._last = self._time()
            of = f" of {self.total / 2**20:.1f}" if self.total else ""
            _progress.log(f"download {self.desc}: {self.done / 2**20:.1f}{of} MiB")

    def close(self) -> None:
        _progress.log(f"download {self.desc}: done {self.done / 2**20:.1f} MiB")


def _progress_bar(total: int | None, desc: str, enabled: bool):
    """A terminal progress bar on stderr; inside a report kernel (``$EMBEDLAB_PROGRESS_LOG`` set by the runner)
    lines in the runner's log instead, so that no bar lands in a notebook; nothing when off."""
    if not enabled:
        return _NoBar()
    if os.environ.get("EMBEDLAB_PROGRESS_LOG"):
        return _LogBar(total, desc)
    if os.environ.get("EMBEDLAB_RUN_DIR"):
        return _NoBar()
    from tqdm import tqdm  # the plain (terminal) tqdm, never notebook widgets

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, leave=False)


def download_file(url: str, dest: Path, progress: bool, desc: str | None = None) -> None:
    """Download ``url`` (http(s) or file) to ``dest``; raise AssetUnavailable when it cannot be had."""
    try:
        if url.startswith("file:"):
            with urllib.request.urlopen(url) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            return
        import requests

        with requests.get(url, stream=True, timeout=60) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("content-length") or 0) or None
            bar = _progress_bar(total, desc or url_basename(url), progress)
            try:
                with open(dest, "wb") as out:
                    for block in resp.iter_content(1 << 16):
                        out.write(block)
                        bar.update(len(block))
            finally:
                bar.close()
    except Exception as exc:  # connection errors, HTTP errors, a missing local file
        raise AssetUnavailable(
            f"could not download {url}: {type(exc).__name__}: {exc}.\n"
            "Offline? Point EMBEDLAB_MIRROR (or `embedlab --mirror DIR`) at a directory laid out as "
            "github/<owner>/<repo>/<sha>/<path>, or put the file in the cache yourself.") from exc
