"""The study's data: slices of dated Bible translations, Turkish periods against modern text, or any user corpus,
and the slice pairs the study compares."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from embedlab import corpora

SOURCES = ("bible", "turkish", "user")
TREEBANK_SLICE = "modern"


def bible_slices(versions: Sequence[str], books: Sequence | str | None = None) -> dict[str, list[list[str]]]:
    """One slice per English translation (keyed by version code, in the order given), optionally some books only.

    ``books`` may be ``"shared"`` (the books every given translation covers: Tyndale, for one, has 33 of 66),
    ``"OT"``/``"NT"`` or anything :func:`embedlab.corpora.english_bible` accepts.
    """
    if isinstance(versions, str):
        raise ValueError(f"versions must be a list of version codes, got the string {versions!r}")
    bad = [v for v in versions if v not in corpora.BIBLE_VERSIONS]
    if bad:
        raise ValueError(f"unknown Bible version(s) {bad}; allowed: {', '.join(corpora.BIBLE_VERSIONS)}")
    out = {}
    full = {v: corpora.english_bible(v) for v in versions}
    if books == "shared":
        shared = set.intersection(*(set(c.meta["book_num"]) for c in full.values()))
        return {v: c.subset(c.meta["book_num"].isin(shared).to_numpy()).sentences for v, c in full.items()}
    for v in versions:
        c = full[v]
        if books in ("OT", "NT"):
            c = c.subset((c.meta["testament"] == books).to_numpy())
        elif books is not None:
            c = corpora.english_bible(v, books)
        out[v] = c.sentences
    return out


def bible_coverage(versions: Sequence[str]) -> pd.DataFrame:
    """Per translation: year, books, verses and tokens it holds, and whether it covers every book the others do."""
    rows, books = [], {}
    for v in versions:
        c = corpora.english_bible(v)
        books[v] = set(c.meta["book_num"])
        rows.append({"version": v, "name": corpora.BIBLE_VERSIONS[v][0], "year": corpora.BIBLE_VERSIONS[v][1],
                     "books": len(books[v]), "verses": len(c.sentences), "tokens": sum(map(len, c.sentences))})
    shared = set.intersection(*books.values()) if books else set()
    df = pd.DataFrame(rows)
    df["books_shared_by_all"] = len(shared)
    return df


def turkish_slices(periods: Sequence[Sequence[int]], treebank: bool = True) -> dict[str, list[list[str]]]:
    """Atatürk's texts split into year ranges ``[first, last]`` (keyed ``"first-last"``), plus the modern treebank text."""
    if not periods:
        raise ValueError("periods must list at least one [first_year, last_year] range")
    texts = corpora.ataturk_texts("tr")
    years = texts.meta["year"].astype("float").to_numpy()
    out = {}
    for p in periods:
        if len(p) != 2 or p[0] > p[1]:
            raise ValueError(f"a period must be [first_year, last_year] with first <= last, got {p!r}")
        mask = (years >= p[0]) & (years <= p[1])
        out[f"{p[0]}-{p[1]}"] = texts.subset(mask).sentences
    if treebank:
        out[TREEBANK_SLICE] = corpora.turkish_treebank().sentences
    return out


def user_slices(sources, language: str = "en") -> dict[str, list[list[str]]]:
    """Slices from a folder of text files (one per slice), a table with a ``slice`` column, or a slice asset;
    several such sources (e.g. the TWEC example's per-year assets) are merged."""
    out: dict[str, list[list[str]]] = {}
    for source in [sources] if isinstance(sources, str) else sources:
        for k, c in corpora.text_slices(source, language).by("slice").items():
            if str(k) in out:
                raise ValueError(f"slice {str(k)!r} appears in more than one source ({list(sources)}); rename one")
            out[str(k)] = c.sentences
    return out


def slice_years(source: str, names: Sequence[str]) -> dict[str, float]:
    """A year for each slice when the source dates it (Bible: publication year; Turkish: period middle, treebank 2016)."""
    if source == "bible":
        return {n: float(corpora.BIBLE_VERSIONS[n][1]) for n in names}
    if source == "turkish":
        return {n: 2016.0 if n == TREEBANK_SLICE else float(np.mean([int(y) for y in n.split("-")])) for n in names}
    return {}


def load_slices(source: str, versions: Sequence[str] = (), books=None, periods: Sequence = (), treebank: bool = True,
                path: str | Sequence[str] | None = None, language: str = "en", max_tokens: int | None = None,
                seed: int = 0) -> dict[str, list[list[str]]]:
    """Slices from one of :data:`SOURCES`, each optionally cut to a random ``max_tokens`` sample of its sentences."""
    if source not in SOURCES:
        raise ValueError(f"unknown slice source {source!r}; allowed: {', '.join(SOURCES)}")
    if source == "bible":
        out = bible_slices(versions, books)
    elif source == "turkish":
        out = turkish_slices(periods, treebank)
    else:
        if not path:
            raise ValueError("source='user' needs path: a folder of .txt files, a .csv/.tsv with text and slice, "
                             "an asset, or a list of these")
        out = user_slices(path, language)
    return {k: cap_tokens(v, max_tokens, seed) for k, v in out.items()} if max_tokens else out


def cap_tokens(sentences: Sequence[Sequence[str]], max_tokens: int, seed: int = 0) -> list[list[str]]:
    """A random sample of whole sentences holding about ``max_tokens`` tokens, in corpus order."""
    order = np.random.default_rng(seed).permutation(len(sentences))
    lengths = np.asarray([len(sentences[i]) for i in order])
    keep = np.sort(order[: int(np.searchsorted(np.cumsum(lengths), max_tokens, side="right"))])
    return [list(sentences[i]) for i in keep]


def describe(slices: dict, years: dict | None = None, min_count: int = 5) -> pd.DataFrame:
    """Sentences, tokens, types and frequent types per slice (and the year when known)."""
    rows = []
    for name, sents in slices.items():
        counts = pd.Series([t for s in sents for t in s]).value_counts()
        rows.append({"slice": name, "year": (years or {}).get(name), "sentences": len(sents), "tokens": int(counts.sum()),
                     "types": len(counts), f"types_{min_count}+": int((counts >= min_count).sum())})
    return pd.DataFrame(rows)


def study_slices(cfg) -> dict[str, list[list[str]]]:
    """The slices a study ``Config`` names, checked against the slice names its other parameters use (for user
    slices these are known only once read)."""
    slices = load_slices(cfg.source, versions=cfg.bible_versions, books=cfg.bible_books, periods=cfg.turkish_periods,
                         treebank=cfg.turkish_treebank, path=cfg.user_paths or None, language=cfg.language,
                         max_tokens=cfg.max_tokens_per_slice or None, seed=cfg.seed)
    names = list(slices)
    for field in ("planted_reference", "planted_slice", "overlap_slice", "trace_reference"):
        if getattr(cfg, field) not in names:
            raise ValueError(f"parameter {field!r}: given {getattr(cfg, field)!r}; allowed: one of the slices "
                             f"{', '.join(map(repr, names))}")
    return slices


def slice_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """Consecutive slices, and the first with the last when there are more than two."""
    names = list(names)
    return list(zip(names[:-1], names[1:])) + ([(names[0], names[-1])] if len(names) > 2 else [])
