"""Word similarity: Spearman correlation between cosine similarity and human scores, with coverage.

As gensim's ``KeyedVectors.evaluate_word_pairs`` (``dummy4unknown=False``), pairs with a word outside
the vocabulary are left out of the correlation and counted in ``coverage``.

Sets whose scores are binary (synonym = 1 / random pair = 0, e.g. the Marathi gloss synonyms) are a
detection task: their metric is ROC-AUC of the cosine (``roc_auc``, with a bootstrap interval), not a rank
correlation; :func:`primary_metric` says which one a set's report should lead with. :func:`pair_cosines` keeps
the per-pair cosines for paired bootstrap differences between embeddings.
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


def is_binary(pairs) -> bool:
    """Whether the set's scores take exactly the two values 0 and 1 (a detection set: report ROC-AUC)."""
    return set(np.unique(pair_frame(pairs)["score"].astype(float))) == {0.0, 1.0}


def primary_metric(pairs) -> str:
    """``"roc_auc"`` for binary sets (:func:`is_binary`), else ``"spearman"``."""
    return "roc_auc" if is_binary(pairs) else "spearman"


def roc_auc(labels, scores) -> float:
    """ROC-AUC of ``scores`` for binary ``labels`` (NaN when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if labels.size == 0 or labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def pair_cosines(kv: KeyedVectors, pairs, restrict: np.ndarray | None = None) -> pd.DataFrame:
    """Per pair: ``pair`` (row in the set), w1, w2, score, ``covered`` and ``cosine`` (NaN where not covered)."""
    df = pair_frame(pairs)
    ok = np.array([a in kv.key_to_index and b in kv.key_to_index for a, b in zip(df["w1"], df["w2"])], dtype=bool)
    if restrict is not None:
        ok &= np.asarray(restrict, dtype=bool)
    cos = np.full(len(df), np.nan)
    if ok.any():
        a = np.stack([kv.get_vector(w, norm=True) for w in df["w1"][ok]])
        b = np.stack([kv.get_vector(w, norm=True) for w in df["w2"][ok]])
        cos[ok] = (a * b).sum(1)
    return pd.DataFrame({"pair": np.arange(len(df)), "w1": df["w1"], "w2": df["w2"], "score": df["score"],
                         "covered": ok, "cosine": cos})


def word_similarity(kv: KeyedVectors, pairs, restrict: np.ndarray | None = None, ci: bool = False,
                    seed: int = 0) -> dict[str, float]:
    """Spearman and Pearson correlation (cosine vs score) over covered pairs, plus pairs, covered, coverage.

    Binary sets (:func:`is_binary`) also get ``roc_auc``. With ``ci``: 95% bootstrap intervals over pairs
    (``spearman_lo/hi``, and ``roc_auc_lo/hi`` for binary sets).
    """
    from .. import stats

    df = pair_frame(pairs)
    per = pair_cosines(kv, df, restrict)
    ok = per["covered"].to_numpy()
    binary = is_binary(df)
    out = {"pairs": len(df), "covered": int(ok.sum()), "coverage": float(ok.mean()),
           "spearman": np.nan, "pearson": np.nan}
    if binary:
        out["roc_auc"] = np.nan
    if ci:
        out.update(spearman_lo=np.nan, spearman_hi=np.nan)
        if binary:
            out.update(roc_auc_lo=np.nan, roc_auc_hi=np.nan)
    if ok.sum() >= 3:
        cos, gold = per["cosine"][ok].to_numpy(), df["score"][ok].to_numpy(dtype=float)
        out["spearman"] = float(spearmanr(cos, gold).statistic)
        out["pearson"] = float(pearsonr(cos, gold).statistic)
        if binary:
            out["roc_auc"] = roc_auc(gold, cos)
        if ci:
            out["spearman_lo"], out["spearman_hi"] = stats.spearman_ci(cos, gold, seed=seed)
            if binary:
                out["roc_auc_lo"], out["roc_auc_hi"] = stats.bootstrap_ci(roc_auc, gold, cos, seed=seed)
    return out


def evaluate_many(embeddings: Mapping[str, KeyedVectors], pairs, same_pairs: bool = True, ci: bool = False,
                  per_pair: bool = False, seed: int = 0):
    """:func:`word_similarity` for every embedding; with ``same_pairs`` only pairs all of them cover.

    ``per_pair=True`` returns ``(table, per_pair)``: :func:`pair_cosines` of every embedding stacked (column
    ``embedding``; the same ``pair`` ids for all, for paired differences)."""
    df = pair_frame(pairs)
    restrict = None
    if same_pairs:
        restrict = np.logical_and.reduce([[a in kv.key_to_index and b in kv.key_to_index
                                           for a, b in zip(df["w1"], df["w2"])] for kv in embeddings.values()])
    rows = [{"embedding": name, **word_similarity(kv, df, restrict, ci=ci, seed=seed)}
            for name, kv in embeddings.items()]
    table = pd.DataFrame(rows)
    if not per_pair:
        return table
    per = pd.concat([pair_cosines(kv, df, restrict).assign(embedding=name) for name, kv in embeddings.items()],
                    ignore_index=True)
    return table, per
