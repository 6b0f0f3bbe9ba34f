"""Dictionary entries for DefSent: validation, the 8:1:1 headword split (no definition text on both sides), seeded
sampling, single-token headwords."""
from __future__ import annotations

import unicodedata
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..encoders import Encoder
from ..text import lowercase

SPLITS = ("train", "valid", "test")


def as_entries(dictionary: Any) -> pd.DataFrame:
    """A dictionary as a DataFrame ``headword, definition`` (from an evalsets.Dictionary, a DataFrame or pairs)."""
    df = getattr(dictionary, "entries", dictionary)
    if isinstance(df, pd.DataFrame):
        df = df.rename(columns={"word": "headword"})
        missing = {"headword", "definition"} - set(df.columns)
        if missing:
            raise ValueError(f"dictionary table lacks column(s) {sorted(missing)}; has {list(df.columns)}")
        extra = [c for c in ("token_id",) if c in df.columns]
        df = df[["headword", "definition", *extra]]
    else:
        df = pd.DataFrame(list(df), columns=["headword", "definition"])
    df = df.dropna(subset=["headword", "definition"]).astype({"headword": str, "definition": str})
    df = df[(df.headword.str.strip() != "") & (df.definition.str.strip() != "")].reset_index(drop=True)
    if df.empty:
        raise ValueError("empty dictionary: no (headword, definition) pairs with text on both sides")
    return df


def headword_key(word: str, language: str = "en") -> str:
    """The key that groups spellings of one headword for splitting and for DefSent+ entries: the language's
    lowercasing (Turkish: ``İ``->``i``, ``I``->``ı``, so *İspanya* and *ispanya* are one key), whitespace trimmed."""
    return lowercase(" ".join(str(word).split()), language)


def normalise_definition(text: str) -> str:
    """A definition's text for comparison: casefolded, whitespace collapsed, punctuation stripped at both ends."""
    t = " ".join(str(text).casefold().split())
    i, j = 0, len(t)
    while i < j and (t[i] == " " or unicodedata.category(t[i]).startswith("P")):
        i += 1
    while j > i and (t[j - 1] == " " or unicodedata.category(t[j - 1]).startswith("P")):
        j -= 1
    return t[i:j]


def definitions_in(rows: pd.DataFrame, others: Iterable[pd.DataFrame]) -> pd.Series:
    """Per row of ``rows``: whether its normalised definition is also a definition of any table in ``others``."""
    seen = {normalise_definition(d) for df in others for d in df.definition}
    return rows.definition.map(normalise_definition).isin(seen)


def split_by_headword(entries: Any, seed: int = 0, ratios: Sequence[float] = (8, 1, 1),
                      language: str = "en", disjoint_definitions: bool = True) -> dict[str, pd.DataFrame]:
    """Split definitions into train/valid/test by headword (8:1:1 by default), as DefSent does.

    No headword (compared by :func:`headword_key` in ``language``) is in two splits; the order of headwords is a
    seeded shuffle. ``disjoint_definitions`` (default): no definition text (compared by
    :func:`normalise_definition`) is both in train and in valid/test either. WordNet gives one row per synonym
    and gloss, so a held-out headword's gloss is often a training headword's gloss too; such a gloss goes wholly
    to the held-out side: its training rows are dropped, and the held-out splits keep every row (they remain the
    same sample of held-out headwords). ``len(entries) - sum(len(split))`` rows were dropped.
    """
    df = as_entries(entries)
    if len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f"ratios must be three non-negative numbers (train, valid, test); got {tuple(ratios)}")
    keys = df.headword.map(lambda w: headword_key(w, language))
    words = np.array(sorted(set(keys)))
    if len(words) < 3:
        raise ValueError(f"need at least 3 distinct headwords to split; got {len(words)}")
    words = words[np.random.default_rng(seed).permutation(len(words))]
    c = np.cumsum(ratios) / sum(ratios)
    parts = dict(zip(SPLITS, np.split(words, [int(len(words) * c[0]), int(len(words) * c[1])])))
    out = {name: df[keys.isin(set(ws))].reset_index(drop=True) for name, ws in parts.items()}
    return without_held_out_definitions(out) if disjoint_definitions else out


def without_held_out_definitions(parts: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``parts`` with the training rows dropped whose normalised definition is also a valid or test definition."""
    train = parts["train"]
    keep = ~definitions_in(train, [parts["valid"], parts["test"]])
    return {**parts, "train": train[keep].reset_index(drop=True)}


def sample_by_headword(entries: pd.DataFrame, max_definitions: int | None, seed: int = 0,
                       language: str = "en") -> pd.DataFrame:
    """Whole headwords (all their definitions) drawn in seeded random order, up to ``max_definitions`` rows."""
    if max_definitions is None or len(entries) <= max_definitions:
        return entries.reset_index(drop=True)
    keys = entries.headword.map(lambda w: headword_key(w, language))
    order = pd.unique(keys.iloc[np.random.default_rng(seed).permutation(len(keys))])
    sizes = keys.value_counts().reindex(order).to_numpy()
    n = max(1, int(np.searchsorted(np.cumsum(sizes), max_definitions, side="right")))
    return entries[keys.isin(set(order[:n]))].reset_index(drop=True)


def sample_definitions(entries: pd.DataFrame, max_definitions: int | None, seed: int = 0) -> pd.DataFrame:
    """A seeded uniform sample of ``max_definitions`` rows (kept in dictionary order); all rows when ``None``."""
    if max_definitions is None or len(entries) <= max_definitions:
        return entries.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(seed).choice(len(entries), max_definitions, replace=False))
    return entries.iloc[keep].reset_index(drop=True)


def headword_token_ids(encoder: Encoder, words: Sequence[str]) -> list[list[int]]:
    """Token ids of each headword as a word on its own (with the word-boundary marker, without special tokens)."""
    unique = list(dict.fromkeys(words))
    ids = encoder.tokenizer(unique, add_special_tokens=False, return_attention_mask=False,
                            return_token_type_ids=False)["input_ids"]
    lookup = dict(zip(unique, ids))
    return [lookup[w] for w in words]


def single_token_entries(encoder: Encoder, entries: Any) -> pd.DataFrame:
    """Entries whose headword is exactly one (known) token of the encoder's vocabulary, with that ``token_id``."""
    df = as_entries(entries)
    ids = headword_token_ids(encoder, df.headword)
    unk = encoder.tokenizer.unk_token_id
    keep = np.array([len(i) == 1 and i[0] != unk for i in ids], dtype=bool)
    return df[keep].assign(token_id=[i[0] for i, k in zip(ids, keep) if k]).reset_index(drop=True)


def require_single_token(encoder: Encoder, df: pd.DataFrame) -> np.ndarray:
    """The headwords' token ids; ``ValueError`` listing offenders when a headword is not exactly one token."""
    ids = headword_token_ids(encoder, df.headword)
    unk = encoder.tokenizer.unk_token_id
    bad = [w for w, i in zip(df.headword, ids) if len(i) != 1 or i[0] == unk]
    if bad:
        raise ValueError(f"DefSent predicts one vocabulary token per definition, but {len(bad)} of {len(df)} "
                         f"headwords are not one token for {encoder.name} (e.g. {bad[:5]}); filter with "
                         "defsent.single_token_entries(encoder, entries) or use DefSent+ (no such limit)")
    return np.array([i[0] for i in ids])
