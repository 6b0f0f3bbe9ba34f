"""The Corpus: tokenized sentences with one metadata row per sentence, as written (``surface``) and lower-cased
(``sentences``, what static models, vocabularies and evaluation match on); joining and chunking them."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

# text normalisation lives in embedlab.text; re-exported here (and by the package) for code written against corpora
from ..text import lower_tokens, lowercase, sentence_split, tokenize  # noqa: F401

# --------------------------------------------------------------------------- the Corpus

@dataclass(repr=False)
class Corpus:
    """Tokenized sentences (lower-cased) plus a metadata frame with one row per sentence; ``surface`` holds the
    same tokens as written (None: the text has no other case, e.g. a source lower-cased at the source)."""

    name: str
    language: str
    sentences: list[list[str]]
    meta: pd.DataFrame
    surface: list[list[str]] | None = None

    def __post_init__(self) -> None:
        if len(self.meta) != len(self.sentences):
            raise ValueError(f"corpus {self.name!r}: {len(self.sentences)} sentences but {len(self.meta)} meta rows")
        if self.surface is not None and [len(s) for s in self.surface] != [len(s) for s in self.sentences]:
            raise ValueError(f"corpus {self.name!r}: surface tokens do not align with the sentences")
        self.meta = self.meta.reset_index(drop=True)

    @property
    def written(self) -> list[list[str]]:
        """The tokens as written (the lower-cased sentences where the corpus has no other case)."""
        return self.sentences if self.surface is None else self.surface

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self) -> Iterator[list[str]]:
        return iter(self.sentences)

    def __repr__(self) -> str:
        return f"Corpus({self.name!r}, {self.language}, {len(self):,} sentences, {self.n_tokens:,} tokens)"

    @property
    def n_tokens(self) -> int:
        """Number of tokens."""
        return sum(map(len, self.sentences))

    def vocab(self, min_count: int = 1) -> Counter:
        """Token counts, keeping types seen at least ``min_count`` times."""
        c = Counter(t for s in self.sentences for t in s)
        return c if min_count <= 1 else Counter({w: n for w, n in c.items() if n >= min_count})

    def texts(self) -> list[str]:
        """The untokenized text of every sentence."""
        return self.meta["text"].tolist()

    def subset(self, mask_or_n, name: str | None = None) -> "Corpus":
        """Sentences selected by a boolean mask, integer positions, or the first ``n``."""
        if isinstance(mask_or_n, (int, np.integer)):
            idx = np.arange(min(int(mask_or_n), len(self)))
        else:
            arr = np.asarray(mask_or_n)
            if arr.dtype == bool:
                if len(arr) != len(self):
                    raise ValueError(f"mask has length {len(arr)}, corpus {self.name!r} has {len(self)} sentences")
                idx = np.flatnonzero(arr)
            elif arr.size == 0 or np.issubdtype(arr.dtype, np.integer):
                idx = arr.astype(int)
            else:
                raise ValueError(f"subset takes an int, a boolean mask or integer positions, not {arr.dtype} values")
        return Corpus(name or self.name, self.language, [self.sentences[i] for i in idx],
                      self.meta.iloc[idx].reset_index(drop=True),
                      None if self.surface is None else [self.surface[i] for i in idx])

    def by(self, column: str) -> dict[object, "Corpus"]:
        """Split into one corpus per value of a meta column (sorted; missing values dropped)."""
        if column not in self.meta:
            raise ValueError(f"corpus {self.name!r} has no meta column {column!r}; columns: {list(self.meta.columns)}")
        groups = self.meta.groupby(column, sort=True, dropna=True).indices
        return {k: self.subset(v, name=f"{self.name}[{column}={k}]") for k, v in groups.items()}


def concat(corpora: Sequence[Corpus], name: str | None = None) -> Corpus:
    """One corpus from several (meta columns united; ``corpus`` column names each source)."""
    if not corpora:
        raise ValueError("concat needs at least one corpus")
    metas = [c.meta.assign(corpus=c.name) for c in corpora]
    langs = {c.language for c in corpora}
    cased = any(c.surface is not None for c in corpora)
    return Corpus(name or "+".join(c.name for c in corpora), langs.pop() if len(langs) == 1 else "multi",
                  [s for c in corpora for s in c.sentences], pd.concat(metas, ignore_index=True),
                  [s for c in corpora for s in c.written] if cased else None)


def cased_corpus(name: str, language: str, surface: list[list[str]], meta: pd.DataFrame) -> Corpus:
    """A corpus from tokens as written: ``sentences`` is their lower-cased view (:func:`embedlab.text.lower_tokens`)."""
    return Corpus(name, language, lower_tokens(surface, language), meta, surface)



_MAX_LEN = 1000


def _chunks(tokens: list[str], max_len: int | None) -> list[list[str]]:
    """Cut a token list into pieces of at most ``max_len`` (gensim truncates sentences at 10,000)."""
    if not max_len or len(tokens) <= max_len:
        return [tokens]
    return [tokens[i:i + max_len] for i in range(0, len(tokens), max_len)]

