"""A researcher's own evaluation files beyond analogies and word pairs (those are read by
:func:`~embedlab.evalsets.analogies.read_analogy_file` and :func:`~embedlab.evalsets.similarity.read_similarity`):

* :func:`read_sts_file` — sentence pairs with a score: ``.tsv``/``.txt`` (tab) or ``.csv``, columns
  ``s1, s2, score`` (a header naming them, ``sentence1``/``sentence2`` too, or none: the first three columns);
* :func:`read_tagging_file` — CoNLL-U: one file (sentences split 80/10/10 by a stable hash of their ``sent_id``)
  or a folder with ``*train*.conllu``, ``*dev*.conllu`` and ``*test*.conllu`` (its own split); tags are UPOS;
* :func:`read_definitions` — a definition list: ``headword<TAB>definition`` lines (an optional header
  ``headword``/``word``, ``definition``; ``#`` comments skipped).
"""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ._common import _nonempty
from .conllu import UD_UPOS, read_conllu
from .dictionaries import Dictionary
from .sts import STSSet
from .tagging import TaggingSet, _hash_split, _sources

_STS_NAMES = {"s1": "s1", "sentence1": "s1", "s2": "s2", "sentence2": "s2", "score": "score", "label": "score"}


def _rows(path: Path) -> list[list[str]]:
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    with open(path, encoding="utf-8", newline="") as f:
        return [r for r in csv.reader(f, delimiter=sep, quoting=csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE)
                if r and any(c.strip() for c in r) and not r[0].startswith("#")]


def read_sts_file(path: Path | str, language: str = "en", name: str | None = None) -> STSSet:
    """Sentence pairs with similarity scores from a user file (see the module docstring); the score scale is the
    file's own (its lowest and highest score)."""
    path = Path(path)
    rows = _rows(path)
    if not rows:
        raise ValueError(f"STS file {path} is empty")
    head = [c.strip().lower() for c in rows[0]]
    if {"s1", "s2", "score"} <= {_STS_NAMES.get(c) for c in head}:
        cols = [head.index(next(c for c in head if _STS_NAMES.get(c) == k)) for k in ("s1", "s2", "score")]
        rows = rows[1:]
    else:
        cols = [0, 1, 2]
    data = []
    for i, r in enumerate(rows, 1):
        try:
            data.append((r[cols[0]].strip(), r[cols[1]].strip(), float(r[cols[2]])))
        except (IndexError, ValueError):
            raise ValueError(f"{path} row {i}: cannot read (sentence, sentence, score): {r!r}") from None
    df = _nonempty(pd.DataFrame(data, columns=["s1", "s2", "score"]), f"STS file {path}")
    return STSSet(df, name or path.stem, language, "test", str(path), (float(df.score.min()), float(df.score.max())))


def read_tagging_file(path: Path | str, language: str = "en", name: str | None = None) -> TaggingSet:
    """A POS tagging set from a user's CoNLL-U file or folder (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        splits = {}
        for split in ("train", "dev", "test"):
            found = sorted(path.glob(f"*{split}*.conllu"))
            if len(found) != 1:
                raise ValueError(f"CoNLL-U folder {path}: expected one *{split}*.conllu file, found "
                                 f"{len(found)} ({', '.join(f.name for f in found) or 'none'})")
            splits[split] = read_conllu(found[0])
        how = "the folder's own train/dev/test files"
    else:
        sents = read_conllu(path)
        splits = dict(zip(("train", "dev", "test"), _hash_split(sents, lambda s: s.sent_id, f"{path.name}:")))
        how = "one file split 80/10/10 by sha1(sent_id)"
    tagset = next((s.tagset for ss in splits.values() for s in ss), UD_UPOS)
    return TaggingSet(name or path.stem, language, tagset, *([(s.forms, s.tags) for s in splits[k]]
                                                            for k in ("train", "dev", "test")),
                      notes=f"user CoNLL-U {path}: UPOS; {how}", sources=_sources(**splits))


def read_definitions(path: Path | str, language: str = "en", name: str | None = None) -> Dictionary:
    """A user's definition list (``headword<TAB>definition`` lines) as a :class:`Dictionary`."""
    path = Path(path)
    rows = [r for r in _rows(path)]
    if rows and [c.strip().lower() for c in rows[0][:2]] in (["headword", "definition"], ["word", "definition"]):
        rows = rows[1:]
    bad = next((i for i, r in enumerate(rows, 1) if len(r) < 2 or not r[0].strip() or not r[1].strip()), None)
    if bad is not None:
        raise ValueError(f"{path} row {bad}: expected headword<TAB>definition, got {rows[bad - 1]!r}")
    df = pd.DataFrame([(r[0].strip(), "", " ".join(r[1].split()), str(path), "") for r in rows],
                      columns=["headword", "pos", "definition", "source", "synset_id"])
    return Dictionary(df, language, name or path.stem)
