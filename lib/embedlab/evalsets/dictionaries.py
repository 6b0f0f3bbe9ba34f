"""Dictionaries: :class:`Dictionary`, WordNet / KeNet glosses and definition-modelling pairs."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from pathlib import Path
from typing import Sequence

import pandas as pd

from embedlab import assets
from embedlab.assets import derived
from embedlab.util import atomic_path
from ._common import _check_choice, _columns_and_rows, _nonempty, _read_tsv


_TABLE_COLUMNS = ("headword", "pos", "definition", "source", "synset_id")


def _save_table(df: pd.DataFrame, path: Path) -> None:
    """Write a table of strings to an SQLite file atomically (a format that carries data, never code)."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with contextlib.closing(sqlite3.connect(tmp)) as con, con:
            con.execute(f"CREATE TABLE entries ({', '.join(f'{c} TEXT NOT NULL' for c in _TABLE_COLUMNS)})")
            con.executemany(f"INSERT INTO entries VALUES ({', '.join('?' * len(_TABLE_COLUMNS))})",
                            df[list(_TABLE_COLUMNS)].astype(str).itertuples(index=False, name=None))
        os.chmod(tmp, 0o644)


def _load_table(path: Path) -> pd.DataFrame:
    """Read a table written by :func:`_save_table` (read-only; rows in insertion order)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as con:
        rows = con.execute(f"SELECT {', '.join(_TABLE_COLUMNS)} FROM entries ORDER BY rowid").fetchall()
    return pd.DataFrame(rows, columns=list(_TABLE_COLUMNS))


@dataclasses.dataclass
class Dictionary:
    """Dictionary entries (DataFrame headword, pos, definition, source, synset_id) of one language."""

    entries: pd.DataFrame
    language: str
    name: str = ""

    def __post_init__(self) -> None:
        _columns_and_rows(self.entries, {"headword", "pos", "definition", "source", "synset_id"}, "dictionary entries", f"dictionary {self.name!r}")

    def __len__(self) -> int:
        return len(self.entries)


WORDNET_FILES = {"en": "english_wordnet_version_31.xml", "tr": "turkish_wordnet.xml"}
WORDNET_POS = {"n": "noun", "v": "verb", "a": "adj", "b": "adv", "c": "conj", "i": "interj", "p": "prep",
               "r": "pron"}
_WORDNET_PARSER_VERSION = 1


def _parse_wordnet(path: Path) -> pd.DataFrame:
    import xml.etree.ElementTree as ET

    rows = []
    for _, el in ET.iterparse(path, events=("end",)):
        if el.tag != "SYNSET":
            continue
        sid = (el.findtext("ID") or "").strip()
        pos = (el.findtext("POS") or "").strip()
        definition = " ".join((el.findtext("DEF") or "").split())
        literals = []
        syn = el.find("SYNONYM")
        if syn is not None:
            for lit in syn.findall("LITERAL"):
                word = " ".join((lit.text or "").split())
                if word and not (word.startswith("(") and word.endswith(")")) and word not in literals:
                    literals.append(word)
        if definition:
            rows += [(w, WORDNET_POS.get(pos, pos), definition, sid) for w in literals]
        el.clear()
    return pd.DataFrame(rows, columns=["headword", "pos", "definition", "synset_id"])


def wordnet_definitions(language: str = "en") -> Dictionary:
    """WordNet glosses from ``nlptoolkit-wordnet``: ``en`` Princeton WordNet 3.1, ``tr`` KeNet.

    One row per (synset literal, synset definition); multiword literals keep their spaces; synsets
    without a definition and KeNet's parenthesised placeholder literals (``(özel isim)``) are skipped.
    The parsed table is cached under ``assets.cache_dir()/"parsed"`` keyed by the archive's sha256, its own
    sha256 recorded when it is made and checked on use (a changed table is made again, with a warning).
    """
    _check_choice("WordNet language", language, WORDNET_FILES)
    a = assets.get("nlptoolkit-wordnet")
    root = assets.fetch("nlptoolkit-wordnet", progress=False)  # cheap when cached; records provenance
    cache = assets.cache_dir() / "parsed" / f"wordnet-{language}-{a.sha256[:16]}-v{_WORDNET_PARSER_VERSION}.sqlite"
    with derived.lock(cache):
        df = _checked_table(cache)
        if df is None:
            data = root / f"nlptoolkit_wordnet-{a.version}" / "WordNet" / "data"
            df = _parse_wordnet(data / WORDNET_FILES[language])
            df.insert(3, "source", "wordnet-3.1" if language == "en" else "kenet")
            _save_table(df, cache)
            derived.record(cache, {"asset": a.name, "sha256": a.sha256, "parser_version": _WORDNET_PARSER_VERSION})
    return Dictionary(df, language, f"wordnet-{language}")


def _checked_table(cache: Path) -> pd.DataFrame | None:
    """The cached table when it matches its record; ``None`` (it is made again) when it is not there, was never
    recorded, cannot be read or was changed after it was made (a warning names the file and both sha256)."""
    try:
        if derived.check(cache) is None:
            return None
        return _load_table(cache)
    except assets.CorruptCache as exc:
        warnings.warn(f"{exc} Making it again now.", stacklevel=3)
    except Exception:  # a corrupt or foreign file
        pass
    return None


DEFINITION_ASSETS = {"commondefs": ["word", "pos", "source", "definition"],
                     "oxford-defs": ["word", "example", "definition"]}
#: the files of each set; a set's train file may be an asset of its own
DEFINITION_FILES = {"commondefs": ("valid", "test"), "oxford-defs": ("train", "valid", "test")}
TRAIN_FILE_ASSETS = {"oxford-defs": "oxford-defs-train"}  # pinned by its git blob id (see data/assets.yaml)


def definition_pairs(asset: str, split: str | None = None, splits: Sequence[str] | None = None) -> pd.DataFrame:
    """(word, definition) rows of a definition-modelling set, with a ``split`` column.

    ``commondefs`` (WordNet + GCIDE, valid/test): word, pos, source, definition; ``oxford-defs`` (Ishiwatari et
    al.'s train/valid/test): word, example, definition. ``split``: one file; ``splits``: several; neither: all.
    """
    _check_choice("definition set", asset, DEFINITION_ASSETS)
    files = DEFINITION_FILES[asset]
    wanted = [split] if split is not None else list(splits) if splits is not None else list(files)
    for sp in wanted:
        _check_choice(f"{asset} split", sp, files)
    frames = []
    for sp in wanted:
        root = assets.fetch(TRAIN_FILE_ASSETS.get(asset, asset) if sp == "train" else asset, progress=False)
        df = _read_tsv(root / f"{sp}.txt", header=False, names=DEFINITION_ASSETS[asset])
        frames.append(df.assign(split=sp))
    return _nonempty(pd.concat(frames, ignore_index=True), f"{asset} {'+'.join(wanted)}")
