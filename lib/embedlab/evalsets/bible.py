"""Bible verses as evaluation data: book codes, verse tables and the held-out books, shared by the
classification and paraphrase sets (texts from :mod:`embedlab.corpora`, imported lazily)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import _check_choice, _nonempty


# Held-out books for Bible paraphrase retrieval: one or two from each part of the canon (USFM codes).
BIBLE_EVAL_BOOKS: tuple[str, ...] = ("RUT", "JON", "ECC", "MRK", "JAS", "PHP")
HUNGARIAN_BIBLE_VERSIONS = ("hu", "bible-hu", "ruf")


def book_code(book: Any) -> str:
    """USFM code (``GEN`` ... ``REV``) of a book given by code, English name or number 1-66."""
    from embedlab.corpora import BIBLE_BOOKS

    codes = list(BIBLE_BOOKS)
    if isinstance(book, (int, np.integer)) or (isinstance(book, str) and book.strip().isdigit()):
        if 1 <= int(book) <= len(codes):
            return codes[int(book) - 1]
    key = str(book).strip().upper()
    for code, name in BIBLE_BOOKS.items():
        if key in (code, name.upper()):
            return code
    raise ValueError(f"unknown Bible book {book!r}; allowed: numbers 1-66, English names or USFM codes "
                     f"{', '.join(codes)}")


def bible_verses(version: str) -> pd.DataFrame:
    """Verses of one Bible (DataFrame verse_id, ref, book, testament, genre, text; empty verses dropped).

    English versions (``kjv``, ``asv``, ...: :data:`embedlab.corpora.BIBLE_VERSIONS`) come from
    :func:`embedlab.corpora.english_bible`, ``hu`` from :func:`embedlab.corpora.hungarian_bible` (RÚF);
    ``verse_id`` is the integer ``BBCCCVVV`` of :mod:`embedlab.corpora`, ``book`` the USFM code.
    """
    from embedlab import corpora

    allowed = list(corpora.BIBLE_VERSIONS) + list(HUNGARIAN_BIBLE_VERSIONS)
    _check_choice("Bible version", version, allowed)
    corpus = corpora.hungarian_bible() if version in HUNGARIAN_BIBLE_VERSIONS else corpora.english_bible(version)
    meta = corpus.meta
    df = pd.DataFrame({"verse_id": meta["verse_id"].to_numpy(), "ref": meta["ref"].to_numpy(),
                       "book": meta["book"].to_numpy(), "testament": meta["testament"].to_numpy(),
                       "genre": meta["genre"].to_numpy(), "text": meta["text"].to_numpy()})
    df = df[df["text"].str.strip() != ""].reset_index(drop=True)
    return _nonempty(df, f"Bible {version!r}")
