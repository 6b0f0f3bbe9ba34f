"""The embedding cache: what an encoder computed from a text, kept on disk across runs and notebooks.

Entries live under ``$EMBEDLAB_CACHE/embeddings/<key>/`` (:func:`embedlab.assets.cache_dir`), one ``.npy`` file per
array plus ``meta.json``. A key is the sha256 of what the arrays depend on (:func:`make_key`): the model's content
(:attr:`embedlab.encoders.Encoder.cache_id`: a resolved commit or an asset's sha256), the sha256 of the text sequence
(:func:`text_digest`), layers, pooling, precision and ``max_length``; so an entry can never serve a stale vector,
and a rerun that changes only evaluation parameters finds every entry it needs.

An entry is written in a hidden folder beside it and renamed into place in one step, with a manifest of its files'
sha256 (:mod:`embedlab.assets.derived`), so a reader never sees half an entry, each use checks size and mtime, and
``embedlab assets verify`` re-hashes every entry. ``embedlab cache size`` / ``embedlab cache clear`` show and remove
them. ``EMBEDLAB_EMBEDDING_CACHE=off`` turns the cache off (a path puts it elsewhere). :data:`STATS` counts hits,
misses and stores in this process.
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from . import assets
from .assets import derived, integrity
from .util import pid_alive

FOLDER = "embeddings"
#: hits, misses and stores of this process (tests and benchmarks read it)
STATS: collections.Counter = collections.Counter()
_OFF = ("off", "0", "no", "false", "none")
_TMP = re.compile(r"^\.(?P<key>[0-9a-f]+)\.tmp-(?P<pid>\d+)-\d+$")


def enabled() -> bool:
    """Whether the cache is on (``EMBEDLAB_EMBEDDING_CACHE`` is not ``off``)."""
    return os.environ.get("EMBEDLAB_EMBEDDING_CACHE", "").strip().lower() not in _OFF


def root() -> Path:
    """The folder of the entries: ``$EMBEDLAB_EMBEDDING_CACHE`` when it is a path, else ``<cache>/embeddings``."""
    env = os.environ.get("EMBEDLAB_EMBEDDING_CACHE", "").strip()
    path = Path(env) if env and env.lower() not in _OFF and env.lower() != "on" else assets.cache_dir() / FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def text_digest(items: Iterable[str | Sequence[str]]) -> str:
    """sha256 of a sequence of texts, each a string or a list of words (the two never collide)."""
    h = hashlib.sha256()
    for x in items:
        h.update(b"s" + x.encode("utf-8") if isinstance(x, str) else b"w" + "\x1f".join(x).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def make_key(**parts: Any) -> str:
    """The key of an entry: sha256 of its parts as canonical JSON (e.g. model, text, layers, pooling, precision,
    max_length)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:40]


def load(key: str | None) -> dict[str, np.ndarray] | None:
    """The arrays of a complete entry (read-only memory maps), or None (off, no key, absent, or refused: a file
    changed after it was written, when the entry is removed and made again)."""
    path = locate(key)
    return None if path is None else {p.stem: np.load(p, mmap_mode="r") for p in sorted(path.glob("*.npy"))}


def locate(key: str | None, count: bool = True) -> Path | None:
    """The folder of a complete, unchanged entry, or None (see :func:`load`); ``count``: add to :data:`STATS`."""
    if key is None or not enabled():
        return None
    path = root() / key
    try:
        ok = derived.check(path) is not None
    except assets.CorruptCache as exc:
        warnings.warn(f"embedding cache entry {key} was refused and is made again: {exc}", stacklevel=2)
        shutil.rmtree(path, ignore_errors=True)
        ok = False
    if count:
        STATS["hits" if ok else "misses"] += 1
    return path if ok else None


def meta(key: str) -> dict[str, Any]:
    """An entry's ``meta.json``."""
    return json.loads((root() / key / "meta.json").read_text(encoding="utf-8"))


class Writer:
    """Arrays of an entry being made: :meth:`array` hands out a writable array (a memory map in the entry's hidden
    folder when the cache is on, else in memory); ``meta`` is written beside them."""

    def __init__(self, folder: Path | None, meta: dict[str, Any]):
        self.folder, self.meta, self.arrays = folder, dict(meta), {}

    def array(self, name: str, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
        if self.folder is None:
            a = np.zeros(shape, dtype=dtype)
        else:
            a = np.lib.format.open_memmap(self.folder / f"{name}.npy", mode="w+", dtype=dtype, shape=tuple(shape))
        self.arrays[name] = a
        return a

    def file(self, name: str) -> Path | None:
        """Where to write a file of the entry (None when nothing is written: no key or the cache off)."""
        return None if self.folder is None else self.folder / name


@contextlib.contextmanager
def writing(key: str | None, meta: dict[str, Any]) -> Iterator[Writer]:
    """Make an entry: yields a :class:`Writer`; on success the entry appears complete in one step (an existing one
    with the same key, made meanwhile by another process, is kept: same key, same content). Without a key or
    with the cache off, the arrays stay in memory and nothing is written."""
    if key is None or not enabled():
        yield Writer(None, meta)
        return
    final = root() / key
    tmp = final.with_name(f".{key}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        w = Writer(tmp, meta)
        yield w
        for a in w.arrays.values():
            a.flush()
        (tmp / "meta.json").write_text(json.dumps(w.meta, sort_keys=True, default=str), encoding="utf-8")
        m = derived.record(tmp, {"key": key, **w.meta})
        integrity.write_manifest(tmp, {**m, "derived": key})
        try:
            os.rename(tmp, final)
            STATS["stores"] += 1
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def entries() -> list[Path]:
    """Every complete entry."""
    base = root()
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def _bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def size() -> tuple[int, int]:
    """``(entries, bytes)`` of the cache."""
    found = entries()
    return len(found), sum(_bytes(p) for p in found)


def clear() -> tuple[int, int]:
    """Remove every entry, and what writers that died left behind (an entry being made by a live process is
    left alone); returns ``(entries, bytes)`` removed."""
    n, freed = 0, 0
    for p in sorted(root().iterdir()):
        tmp = _TMP.match(p.name)
        if p.name.startswith(".") and (tmp is None or pid_alive(tmp["pid"])):
            continue
        freed += _bytes(p) if p.is_dir() else p.stat().st_size
        n += tmp is None
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return n, freed
