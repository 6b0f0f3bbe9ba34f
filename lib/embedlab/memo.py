"""Trained results kept across runs: what a deterministic training step made from its inputs, reused when nothing
it depends on has changed.

A step (a static model, an X2Static table, a tagger sweep, CADE's slice models, a fine-tuned encoder) is keyed by
its kind, a digest of its inputs (:func:`digest`: texts, arrays, vectors, hyperparameters, seed) and
:func:`code_version`, the sha256 of every source file of this package together with the versions of the packages that
shape results. So any change of code, data, parameter, seed or library makes the step run again, and an entry can
never serve a result the current code would not compute. joblib.Memory keys on the cached function's own source
only (a changed callee would serve stale results), hence this small layer over :mod:`embedlab.embedcache`.

Entries share the embedding cache's folder, atomic writes, sha256 manifests, ``embedlab cache size|clear`` and
``EMBEDLAB_EMBEDDING_CACHE=off``; ``EMBEDLAB_TRAINED_CACHE=off`` turns off this layer alone (the test suite does,
so that a test comparing two trainings compares two trainings). A training step must not leave state behind that later steps read (a global
random generator, say): every step seeds its own generators, so skipping it changes no other number, and
``benchmarks/rerun_speed.py`` checks that a warm rerun's metrics equal the cold run's. :data:`STATS` counts reuses.
"""
from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import numpy as np
import pandas as pd

from . import embedcache
from .provenance import package_versions

T = TypeVar("T")
#: reused and trained steps of this process, by kind
STATS: collections.Counter = collections.Counter()


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """sha256 of this package's source files (path and content) and the versions of the packages that shape
    results (:data:`embedlab.provenance.TRACKED_PACKAGES`)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(json.dumps(package_versions(), sort_keys=True).encode())
    return h.hexdigest()


def _is_corpus(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(
        isinstance(s, (list, tuple)) and all(isinstance(w, str) for w in s) for s in x)


def _feed(h, x: Any) -> None:
    from gensim.models import KeyedVectors

    if x is None or isinstance(x, (bool, int, float, str)):
        h.update(f"{type(x).__name__}:{x!r}\x1e".encode("utf-8"))
    elif isinstance(x, bytes):
        h.update(b"b:" + x + b"\x1e")
    elif isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        h.update(f"a:{a.dtype.str}:{a.shape}\x1e".encode())
        h.update(a.view(np.uint8).reshape(-1) if a.size else b"")
    elif isinstance(x, (pd.DataFrame, pd.Series)):
        cols, types = (x.columns, x.dtypes) if isinstance(x, pd.DataFrame) else ([x.name], [x.dtype])
        h.update(f"pd:{type(x).__name__}:{list(map(str, cols))}:{list(map(str, types))}\x1e".encode())
        _feed(h, pd.util.hash_pandas_object(x, index=True).to_numpy())
    elif isinstance(x, KeyedVectors):
        h.update(b"kv:")
        _feed(h, list(x.index_to_key))
        _feed(h, np.asarray(x.vectors))
    elif isinstance(x, Mapping):
        h.update(f"d:{len(x)}\x1e".encode())
        for k in sorted(x, key=repr):
            _feed(h, k)
            _feed(h, x[k])
    elif _is_corpus(x):
        h.update(b"t:" + embedcache.text_digest(x).encode() + b"\x1e")      # token lists: the fast path
    elif isinstance(x, (list, tuple, set, frozenset)):
        items = sorted(x, key=repr) if isinstance(x, (set, frozenset)) else x
        h.update(f"l:{len(items)}\x1e".encode())
        for v in items:
            _feed(h, v)
    elif hasattr(x, "detach") and hasattr(x, "cpu"):                          # a torch tensor
        _feed(h, x.detach().cpu().float().numpy() if str(x.dtype) == "torch.bfloat16" else x.detach().cpu().numpy())
    elif hasattr(x, "__dataclass_fields__"):
        _feed(h, {"__class__": type(x).__qualname__, **{k: getattr(x, k) for k in x.__dataclass_fields__}})
    else:
        raise TypeError(f"memo.digest cannot hash a {type(x).__qualname__}; pass its content (arrays, texts, numbers)")


def digest(*parts: Any) -> str:
    """sha256 of ``parts`` by content: numbers, strings, arrays, tensors, data frames, KeyedVectors, dataclasses and
    nested lists/dicts/sets of them (a list of token lists is hashed as a corpus)."""
    h = hashlib.sha256()
    for p in parts:
        _feed(h, p)
    return h.hexdigest()


#: what :func:`lookup` returns for a step not in the cache
MISSING = object()


def enabled() -> bool:
    """Whether trained results are kept: the embedding cache is on and ``EMBEDLAB_TRAINED_CACHE`` is not ``off``."""
    return embedcache.enabled() and os.environ.get("EMBEDLAB_TRAINED_CACHE", "").strip().lower() not in \
        ("off", "0", "no", "false", "none")


def lookup(kind: str, inputs: Mapping[str, Any]) -> tuple[str | None, Any]:
    """``(key, value)`` of a step: its stored result, or :data:`MISSING` (key None when the cache is off)."""
    if not enabled():
        return None, MISSING
    key = embedcache.make_key(kind=f"trained:{kind}", inputs=digest(dict(inputs)), code=code_version())
    path = embedcache.locate(key, count=False)
    if path is None or not (path / "value.pkl").is_file():
        return key, MISSING
    with open(path / "value.pkl", "rb") as f:
        value = pickle.load(f)          # our own entry, checked against its sha256 manifest by locate()
    STATS[f"{kind} reused"] += 1
    return key, value


def store(key: str | None, kind: str, value: T) -> T:
    """Keep ``value`` under ``key`` (from :func:`lookup`; None: nothing is kept); returns ``value``."""
    STATS[f"{kind} trained"] += 1
    if key is not None:
        with embedcache.writing(key, {"kind": f"trained:{kind}"}) as w:
            target = w.file("value.pkl")
            if target is not None:
                with open(target, "wb") as f:
                    pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    return value


def cached(kind: str, inputs: Mapping[str, Any], compute: Callable[[], T]) -> T:
    """``compute()``'s result, reused from the cache when ``kind``, ``inputs`` (hashed by :func:`digest`) and the
    code are unchanged; otherwise computed and stored (atomically). With the cache off, just ``compute()``."""
    key, value = lookup(kind, inputs)
    return value if value is not MISSING else store(key, kind, compute())


def summary() -> str:
    """One line for the terminal: what this process reused and trained."""
    return ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items())) or "nothing cached"
