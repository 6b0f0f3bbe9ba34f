"""Word similarity: Spearman correlation between cosine similarity and human scores, with coverage.

As gensim's ``KeyedVectors.evaluate_word_pairs`` (``dummy4unknown=False``), pairs with a word outside
the vocabulary are left out of the correlation and counted in ``coverage``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors
from scipy.stats import pearsonr, spearmanr


def pair_frame(pairs) -> pd.DataFrame:
    """Pairs as a DataFrame ``w1, w2, score`` (from a SimilaritySet, a DataFrame or 3-tuples)."""
    df = getattr(pairs, "pairs", pairs)
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(list(df), columns=["w1", "w2", "score"])
    missing = {"w1", "w2", "score"} - set(df.columns)
    if missing:
        raise ValueError(f"similarity pairs lack column(s) {sorted(missing)}; need w1, w2, score")
    if df.empty:
        raise ValueError("no similarity pairs")
    return df.reset_index(drop=True)


def word_similarity(kv: KeyedVectors, pairs, restrict: np.ndarray | None = None) -> dict[str, float]:
    """Spearman and Pearson correlation (cosine vs score) over covered pairs, plus pairs, covered, coverage."""
    df = pair_frame(pairs)
    ok = np.array([a in kv.key_to_index and b in kv.key_to_index for a, b in zip(df["w1"], df["w2"])], dtype=bool)
    if restrict is not None:
        ok &= np.asarray(restrict, dtype=bool)
    out = {"pairs": len(df), "covered": int(ok.sum()), "coverage": float(ok.mean()),
           "spearman": np.nan, "pearson": np.nan}
    if ok.sum() >= 3:
        a = np.stack([kv.get_vector(w, norm=True) for w in df["w1"][ok]])
        b = np.stack([kv.get_vector(w, norm=True) for w in df["w2"][ok]])
        cos = (a * b).sum(1)
        out["spearman"] = float(spearmanr(cos, df["score"][ok]).statistic)
        out["pearson"] = float(pearsonr(cos, df["score"][ok]).statistic)
    return out


def evaluate_many(embeddings: Mapping[str, KeyedVectors], pairs, same_pairs: bool = True) -> pd.DataFrame:
    """:func:`word_similarity` for every embedding; with ``same_pairs`` only pairs all of them cover."""
    df = pair_frame(pairs)
    restrict = None
    if same_pairs:
        restrict = np.logical_and.reduce([[a in kv.key_to_index and b in kv.key_to_index
                                           for a, b in zip(df["w1"], df["w2"])] for kv in embeddings.values()])
    rows = [{"embedding": name, **word_similarity(kv, df, restrict)} for name, kv in embeddings.items()]
    return pd.DataFrame(rows)
