"""Trained results kept across runs: what a deterministic training step made from its inputs, reused when nothing
it depends on has changed.

A step (a static model, an X2Static table, a tagger sweep, a fine-tuned encoder's grid, DefSent's scored spaces) is
keyed by its kind, a digest of its inputs (:func:`digest`: texts, arrays, vectors, hyperparameters, seed) and
:func:`code_version`, the sha256 of every source file of this package together with the versions of the packages that
shape results. So any change of code, data, parameter, seed or library makes the step run again, and an entry can
never serve a result the current code would not compute. joblib.Memory keys on the cached function's own source
only (a changed callee would serve stale results), hence this small layer over :mod:`embedlab.embedcache`.

Entries share the embedding cache's folder, atomic writes, sha256 manifests, ``embedlab cache size|clear`` and
``EMBEDLAB_EMBEDDING_CACHE=off``; ``EMBEDLAB_TRAINED_CACHE=off`` turns off this layer alone (the test suite does,
so that a test comparing two trainings compares two trainings). A training step must not leave state behind that
later steps read (a global random generator, say): every step seeds its own generators, so skipping it changes no other number, and
``benchmarks/rerun_speed.py`` checks that a warm rerun's metrics equal the cold run's. :data:`STATS` counts reuses.
"""
from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
import dataclasses
import importlib
import math
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


# --------------------------------------------------------------------------- the stored form
# Entries hold no pickle (no cache format that can carry code, issue 11): a JSON tree of plain values, with numeric
# arrays in .npy files (allow_pickle=False), data frames column by column, KeyedVectors (and gensim fastText's
# n-gram tables) by their arrays, and embedlab's own dataclasses by their fields. joblib and numpy's object arrays
# would pickle, hence this short codec.

TREE = "tree.json"


def _array(a: np.ndarray, folder: Path, files: list[str]) -> dict:
    if a.dtype.kind in "biufc":
        name = f"a{len(files)}.npy"
        files.append(name)
        np.save(folder / name, np.ascontiguousarray(a), allow_pickle=False)
        return {"__a": name}
    return {"__ao": [_encode(v, folder, files) for v in a.tolist()], "dtype": a.dtype.str}


def _encode(x: Any, folder: Path, files: list[str]) -> Any:
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import FastTextKeyedVectors

    enc = lambda v: _encode(v, folder, files)  # noqa: E731
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else {"__f": repr(x)}
    if x is pd.NA:
        return {"__na": 1}
    if isinstance(x, np.generic):
        return enc(x.item())
    if isinstance(x, np.ndarray):
        return _array(x, folder, files)
    if isinstance(x, tuple):
        return {"__t": [enc(v) for v in x]}
    if isinstance(x, list):
        return [enc(v) for v in x]
    if isinstance(x, Mapping):
        return {"__d": [[enc(k), enc(v)] for k, v in x.items()]}
    if isinstance(x, pd.DataFrame):
        return {"__df": [[enc(c), _column(x.iloc[:, i], folder, files)] for i, c in enumerate(x.columns)],
                "index": _index(x.index, folder, files), "n": len(x)}
    if isinstance(x, pd.Series):
        return {"__s": _column(x, folder, files), "name": enc(x.name),
                "index": _index(x.index, folder, files)}
    if isinstance(x, KeyedVectors):
        out = {"keys": list(x.index_to_key), "vectors": _array(np.asarray(x.vectors), folder, files)}
        if isinstance(x, FastTextKeyedVectors):
            out.update(min_n=x.min_n, max_n=x.max_n, bucket=x.bucket,
                       vectors_vocab=_array(np.asarray(x.vectors_vocab), folder, files),
                       vectors_ngrams=_array(np.asarray(x.vectors_ngrams), folder, files))
        return {"__kv": out}
    if dataclasses.is_dataclass(x) and type(x).__module__.startswith("embedlab."):
        return {"__dc": f"{type(x).__module__}:{type(x).__qualname__}",
                "fields": {f.name: enc(getattr(x, f.name)) for f in dataclasses.fields(x) if f.init}}
    raise TypeError(f"memo cannot store a {type(x).__qualname__}")


def _column(col: pd.Series, folder: Path, files: list[str]) -> dict:
    values = col.to_numpy()
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biufc":
        return {"values": _array(values, folder, files), "dtype": str(col.dtype),
                "name": _encode(col.name, folder, files)}
    return {"values": [_encode(v, folder, files) for v in col.astype(object).tolist()], "dtype": str(col.dtype),
            "name": _encode(col.name, folder, files)}


def _index(index: pd.Index, folder: Path, files: list[str]) -> dict | None:
    """An index that is not the default 0..n-1 range, as a column (None: the default)."""
    default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    return None if default else _column(index.to_series(), folder, files)


def _unindex(c: dict | None, folder: Path, default: pd.Index) -> pd.Index:
    return default if c is None else pd.Index(_uncolumn(c, folder), name=_decode(c["name"], folder))


def _uncolumn(c: dict, folder: Path) -> pd.Series:
    values = _decode(c["values"], folder)
    if isinstance(values, np.ndarray):
        return pd.Series(values, name=_decode(c["name"], folder))
    s = pd.Series(values, dtype=object, name=_decode(c["name"], folder))
    return s if c["dtype"] == "object" else s.astype(c["dtype"])


def _decode(x: Any, folder: Path) -> Any:
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import FastTextKeyedVectors

    dec = lambda v: _decode(v, folder)  # noqa: E731
    if isinstance(x, list):
        return [dec(v) for v in x]
    if not isinstance(x, dict):
        return x
    if "__a" in x:
        return np.load(folder / x["__a"], allow_pickle=False)
    if "__ao" in x:
        return np.array([dec(v) for v in x["__ao"]], dtype=np.dtype(x["dtype"]))
    if "__f" in x:
        return float(x["__f"])
    if "__na" in x:
        return pd.NA
    if "__t" in x:
        return tuple(dec(v) for v in x["__t"])
    if "__d" in x:
        return {_hashable(dec(k)): dec(v) for k, v in x["__d"]}
    if "__df" in x:
        cols = [(dec(c), _uncolumn(col, folder)) for c, col in x["__df"]]
        df = pd.DataFrame({i: s for i, (_, s) in enumerate(cols)}, index=pd.RangeIndex(x["n"]))
        df.columns = [c for c, _ in cols]
        df.index = _unindex(x["index"], folder, df.index)
        return df
    if "__s" in x:
        s = _uncolumn(x["__s"], folder).rename(dec(x["name"]))
        s.index = _unindex(x["index"], folder, s.index)
        return s
    if "__kv" in x:
        k = x["__kv"]
        vectors = dec(k["vectors"])
        if "bucket" in k:
            kv = FastTextKeyedVectors(vectors.shape[1], k["min_n"], k["max_n"], k["bucket"])
            kv.add_vectors(k["keys"], dec(k["vectors_vocab"]))
            kv.vectors_vocab = kv.vectors
            kv.vectors_ngrams = dec(k["vectors_ngrams"])
            kv.recalc_char_ngram_buckets()
            kv.vectors = vectors
        else:
            kv = KeyedVectors(vectors.shape[1])
            kv.add_vectors(k["keys"], vectors)
        return kv
    if "__dc" in x:
        module, _, name = x["__dc"].partition(":")
        if not module.startswith("embedlab."):
            raise ValueError(f"memo entry names a class outside embedlab: {x['__dc']}")
        cls = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"memo entry names {x['__dc']}, which is not a dataclass")
        return cls(**{f: dec(v) for f, v in x["fields"].items()})
    return {k: dec(v) for k, v in x.items()}


def _hashable(k: Any) -> Any:
    return tuple(_hashable(v) for v in k) if isinstance(k, (list, tuple)) else k


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
    if path is None or not (path / TREE).is_file():
        return key, MISSING
    value = _decode(json.loads((path / TREE).read_text(encoding="utf-8")), path)
    STATS[f"{kind} reused"] += 1
    return key, value


def store(key: str | None, kind: str, value: T) -> T:
    """Keep ``value`` under ``key`` (from :func:`lookup`; None: nothing is kept); returns ``value``."""
    STATS[f"{kind} trained"] += 1
    if key is not None:
        with embedcache.writing(key, {"kind": f"trained:{kind}"}) as w:
            if w.file(TREE) is not None:
                files: list[str] = []
                tree = _encode(value, w.folder, files)
                w.file(TREE).write_text(json.dumps(tree), encoding="utf-8")
    return value


def cached(kind: str, inputs: Mapping[str, Any], compute: Callable[[], T]) -> T:
    """``compute()``'s result, reused from the cache when ``kind``, ``inputs`` (hashed by :func:`digest`) and the
    code are unchanged; otherwise computed and stored (atomically). With the cache off, just ``compute()``."""
    key, value = lookup(kind, inputs)
    return value if value is not MISSING else store(key, kind, compute())


def summary() -> str:
    """One line for the terminal: what this process reused and trained."""
    return ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items())) or "nothing cached"
