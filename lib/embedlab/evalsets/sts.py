"""Sentence similarity and paraphrase: :class:`STSSet` (STS-B, SICK, STSb-TR, MahaSTS, STSb-mr) and
verse-aligned Bible paraphrase pairs."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from embedlab import assets
from ._common import _check_choice, _nonempty, _read_csv, _read_tsv
from .bible import BIBLE_EVAL_BOOKS, bible_verses, book_code


@dataclasses.dataclass
class STSSet:
    """Sentence pairs with similarity scores (DataFrame columns s1, s2, score)."""

    pairs: pd.DataFrame
    name: str
    language: str
    split: str
    source: str = ""
    scale: tuple[float, float] = (0.0, 5.0)

    def __post_init__(self) -> None:
        missing = {"s1", "s2", "score"} - set(self.pairs.columns)
        if missing:
            raise ValueError(f"STS pairs lack column(s) {sorted(missing)}")
        _nonempty(self.pairs, f"STS set {self.name!r} ({self.split})")
        self.pairs["score"] = self.pairs["score"].astype(float)
        lo, hi = self.scale
        bad = ~self.pairs["score"].between(lo, hi)
        if bad.any():
            raise ValueError(f"{self.name}: {int(bad.sum())} scores outside {self.scale}")

    def __len__(self) -> int:
        return len(self.pairs)


def _read_sts_benchmark(path: Path, header: bool) -> pd.DataFrame:
    """STS-B layout: tab-separated, no quoting, score/s1/s2 in columns 4/5/6 (some rows have 9 columns)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, 1):
            if header and lineno == 1:
                continue
            parts = line.rstrip("\r\n").split("\t")
            if not line.strip():
                continue
            if len(parts) < 7:
                raise ValueError(f"{path.name} line {lineno}: {len(parts)} columns, expected >= 7")
            rows.append((parts[5], parts[6], float(parts[4])))
    return pd.DataFrame(rows, columns=["s1", "s2", "score"])


STSB_SPLITS = ("train", "dev", "test")
SICK_SPLITS = ("train", "trial", "test")
MAHASTS_SPLITS = ("val", "test")


#: the STS benchmark and its machine translations: asset -> (language, label in errors, file per split, header row)
STSB_FILES = {"stsb": ("en", "STS-B", "sts-{split}.csv", False), "stsb-tr": ("tr", "STSb-TR", "stsb_tr_{split}.tsv", True),
              "stsb-mr": ("mr", "STSb-mr", "sts-{split}-mr.tsv", False)}


def _stsb_family(name: str, split: str) -> STSSet:
    language, label, pattern, header = STSB_FILES[name]
    _check_choice(f"{label} split", split, STSB_SPLITS)
    path = assets.fetch(name, progress=False) / pattern.format(split=split)
    return STSSet(_read_sts_benchmark(path, header=header), name, language, split, name)


def stsb(split: str = "test") -> STSSet:
    """STS benchmark (English): train 5,749 / dev 1,500 / test 1,379 pairs, scores 0-5."""
    return _stsb_family("stsb", split)


def stsb_tr(split: str = "test") -> STSSet:
    """STSb-TR: the STS benchmark machine-translated to Turkish (same sizes, scores 0-5)."""
    return _stsb_family("stsb-tr", split)


def stsb_mr(split: str = "test") -> STSSet:
    """The STS benchmark machine-translated to Marathi (L3Cube; same sizes, scores 0-5)."""
    return _stsb_family("stsb-mr", split)


def sick(split: str = "test") -> STSSet:
    """SICK-R relatedness (scores 1-5): TRAIN 4,439 / TRIAL 495 / TEST 4,906 by the SemEval_set column."""
    _check_choice("SICK split", split, SICK_SPLITS)
    df = _read_tsv(assets.fetch("sick", progress=False) / "SICK.txt", header=True)
    df = df[df["SemEval_set"] == split.upper()]
    out = pd.DataFrame({"s1": df["sentence_A"].values, "s2": df["sentence_B"].values,
                        "score": df["relatedness_score"].astype(float).values})
    return STSSet(out, "sick", "en", split, "sick", scale=(1.0, 5.0))


def mahasts(split: str = "test") -> STSSet:
    """MahaSTS (Marathi): val 840 / test 1,692 pairs, scores 0-5 (train is not in the mirror)."""
    if split == "train":
        raise ValueError("MahaSTS train split is not in the offline mirror (over its size limit); "
                         "allowed: 'val', 'test'")
    _check_choice("MahaSTS split", split, MAHASTS_SPLITS)
    df = _read_csv(assets.fetch("mahasts", progress=False) / f"{split}.csv")
    out = pd.DataFrame({"s1": df["Sentence1"].values, "s2": df["Sentence2"].values,
                        "score": df["Label"].astype(float).values})
    return STSSet(out, "mahasts", "mr", split, "mahasts")


STS_SETS: dict[str, Callable[[str], STSSet]] = {"stsb": stsb, "sick": sick, "stsb-tr": stsb_tr,
                                                "mahasts": mahasts, "stsb-mr": stsb_mr}


def sts_pairs(name: str, split: str = "test") -> STSSet:
    """Registry loader for the STS assets (``stsb``, ``sick``, ``stsb-tr``, ``mahasts``, ``stsb-mr``)."""
    _check_choice("STS set", name, STS_SETS)
    return STS_SETS[name](split)


def bible_paraphrases(version_a: str, version_b: str, books: Iterable[Any] | None = None) -> pd.DataFrame:
    """Verse-aligned pairs of two English Bible versions (DataFrame verse_id, ref, book, s1, s2) for
    paraphrase retrieval, aligned on :mod:`embedlab.corpora`'s verse ids (KJV versification); verses
    empty or missing in either version are skipped (``tyn`` covers only part of the Bible; ``dr``
    follows the Vulgate's numbering, so its ids match the KJV's only where the two agree); ``books``
    restricts to some books (USFM codes, English names or numbers)."""
    if version_a == version_b:
        raise ValueError(f"the two Bible versions must differ; got {version_a!r} twice")
    a, b = bible_verses(version_a), bible_verses(version_b)
    if books is not None:
        codes = {book_code(x) for x in books}
        a, b = a[a["book"].isin(codes)], b[b["book"].isin(codes)]
    m = a[["verse_id", "ref", "book", "text"]].merge(b[["verse_id", "text"]], on="verse_id", suffixes=("_a", "_b"))
    out = m.rename(columns={"text_a": "s1", "text_b": "s2"})[["verse_id", "ref", "book", "s1", "s2"]]
    return _nonempty(out.reset_index(drop=True), f"aligned verses of {version_a!r} and {version_b!r}")


def bible_paraphrase_split(version_a: str, version_b: str, eval_books: Iterable[Any] = BIBLE_EVAL_BOOKS,
                           max_pairs: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train_pairs, eval_pairs)`` of :func:`bible_paraphrases` with disjoint books: eval pairs come
    from ``eval_books`` (default :data:`BIBLE_EVAL_BOOKS`), train pairs from all other books; each side
    is capped at ``max_pairs`` by a seeded sample (kept in canonical order)."""
    codes = {book_code(x) for x in eval_books}
    if not codes:
        raise ValueError("eval_books is empty")
    pairs = bible_paraphrases(version_a, version_b)
    is_eval = pairs["book"].isin(codes)
    out = []
    for part, what in ((pairs[~is_eval], "train"), (pairs[is_eval], "eval")):
        _nonempty(part, f"{what} pairs of {version_a!r}/{version_b!r} (eval books {sorted(codes)})")
        if max_pairs is not None and len(part) > max_pairs:
            rng = np.random.default_rng(seed)
            part = part.iloc[np.sort(rng.choice(len(part), size=max_pairs, replace=False))]
        out.append(part.reset_index(drop=True))
    return out[0], out[1]
