"""Word analogies ``a : b :: c : ?``: 3CosAdd and 3CosMul, accuracy and MRR@k, per category and overall,
with coverage; vectorized over questions.

Conventions follow gensim (``KeyedVectors.most_similar`` / ``most_similar_cosmul`` /
``evaluate_word_analogies``): cosine on unit vectors, the three question words are never answers,
a question is *answerable* when all four words are in the vocabulary, and accuracy is over answerable
questions (coverage is reported beside it). 3CosAdd ranks candidates by ``cos(x, b) - cos(x, a) +
cos(x, c)``, 3CosMul by ``s(x, b) s(x, c) / (s(x, a) + 1e-6)`` with ``s = (1 + cos) / 2`` (Levy &
Goldberg 2014). MRR@k scores ``1 / rank`` when the answer is within the top ``k``, else 0.

Speed: the cosine rows of the distinct question words against the whole vocabulary are computed once
(one matrix product); then one compiled, parallel pass per question combines its three rows, excludes the
question words, and finds both the best candidate and the answer's rank (:func:`_best_and_rank`).
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numba
import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from ..choices import check_names

ANALOGY_METHODS = ("3cosadd", "3cosmul")
OVERALL = "overall"


def check_methods(methods: Iterable[str]) -> list[str]:
    """Validate analogy methods against :data:`ANALOGY_METHODS`."""
    return check_names("analogy method(s)", methods, ANALOGY_METHODS, nonempty=True)


def question_frame(questions) -> pd.DataFrame:
    """Questions as a DataFrame ``a, b, c, d, category`` (from an AnalogySet, a DataFrame or 5-tuples)."""
    df = getattr(questions, "questions", questions)
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(list(df), columns=["a", "b", "c", "d", "category"])
    missing = {"a", "b", "c", "d", "category"} - set(df.columns)
    if missing:
        raise ValueError(f"analogy questions lack column(s) {sorted(missing)}; need a, b, c, d, category")
    if df.empty:
        raise ValueError("no analogy questions")
    return df.reset_index(drop=True)


def answerable(kv: KeyedVectors, questions) -> np.ndarray:
    """Boolean mask of questions whose four words are all in ``kv``."""
    df = question_frame(questions)
    vocab = kv.key_to_index
    return np.all([[w in vocab for w in df[col]] for col in "abcd"], axis=0)


def common_questions(embeddings: Mapping[str, KeyedVectors], questions) -> np.ndarray:
    """Mask of questions answerable by every embedding (to compare all models on the same questions)."""
    return np.logical_and.reduce([answerable(kv, questions) for kv in embeddings.values()])


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@numba.njit(parallel=True, cache=True)
def _best_and_rank(sims, a, b, c, d, wa, wb, wc, cosmul):  # pragma: no cover - compiled
    """For each question: the best candidate and the answer's 1-based rank, in one fused pass over the vocabulary.

    ``sims[i]`` holds the cosine of question word i with every vocabulary word; ``a``, ``b``, ``c`` index
    ``sims``, ``d`` and ``wa``/``wb``/``wc`` the vocabulary. 3CosAdd scores ``sb - sa + sc``, 3CosMul
    ``((1 + sb) / 2) * ((1 + sc) / 2) / ((1 + sa) / 2 + 1e-6)`` (Levy & Goldberg 2014), in float32 like the
    NumPy expression; the three question words are excluded; ties go to the lower index (``np.argmax``).
    Hand-written: NumPy needs about six passes over a [questions x vocabulary] block for this.
    """
    n, v = len(a), sims.shape[1]
    one, two, eps = np.float32(1.0), np.float32(2.0), np.float32(1e-6)
    pred = np.zeros(n, dtype=np.int64)
    rank = np.zeros(n, dtype=np.int64)
    for q in numba.prange(n):
        ra, rb, rc = sims[a[q]], sims[b[q]], sims[c[q]]
        target = -np.inf
        if d[q] != wa[q] and d[q] != wb[q] and d[q] != wc[q]:
            if cosmul:
                target = ((one + rb[d[q]]) / two) * ((one + rc[d[q]]) / two) / ((one + ra[d[q]]) / two + eps)
            else:
                target = rb[d[q]] - ra[d[q]] + rc[d[q]]
        best, best_j, above = -np.inf, 0, 0
        for j in range(v):
            if j == wa[q] or j == wb[q] or j == wc[q]:
                continue
            if cosmul:
                score = ((one + rb[j]) / two) * ((one + rc[j]) / two) / ((one + ra[j]) / two + eps)
            else:
                score = rb[j] - ra[j] + rc[j]
            if score > best:
                best, best_j = score, j
            if score > target:
                above += 1
        pred[q], rank[q] = best_j, above + 1
    return pred, rank


def analogy_ranks(kv: KeyedVectors, questions, methods: Sequence[str] = ANALOGY_METHODS,
                  restrict: np.ndarray | None = None) -> pd.DataFrame:
    """Per question and method: whether it was answered, the predicted word, the answer's 1-based rank.

    Unanswerable questions (or those outside ``restrict``) get ``answered=False`` and rank 0.
    """
    methods = check_methods(methods)
    df = question_frame(questions)
    mask = answerable(kv, df)
    if restrict is not None:
        mask &= np.asarray(restrict, dtype=bool)
    idx = {col: np.array([kv.key_to_index.get(w, -1) for w in df[col]]) for col in "abcd"}
    rows = np.flatnonzero(mask)
    vectors = _unit(np.asarray(kv.vectors, dtype=np.float32))
    words = np.unique(np.concatenate([idx[c][rows] for c in "abc"])) if len(rows) else np.zeros(0, int)
    where = np.full(len(vectors), -1)
    where[words] = np.arange(len(words))
    sims = vectors[words] @ vectors.T if len(words) else np.zeros((0, len(vectors)), np.float32)
    out = []
    for method in methods:
        pred = np.full(len(df), -1)
        rank = np.zeros(len(df), dtype=np.int64)
        if len(rows):
            a, b, c, d = (where[idx[col][rows]] for col in "abcd")
            d_index = idx["d"][rows]
            p, rk = _best_and_rank(sims, a, b, c, d_index, idx["a"][rows], idx["b"][rows], idx["c"][rows],
                                   method == "3cosmul")
            pred[rows], rank[rows] = p, rk
        out.append(pd.DataFrame({"method": method, "category": df["category"], "answered": mask,
                                 "predicted": [kv.index_to_key[p] if p >= 0 else "" for p in pred],
                                 "rank": rank, "correct": mask & (pred == idx["d"])}))
    return pd.concat(out, ignore_index=True)


def summarize(ranks: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """Per method and category (plus ``overall``): questions, answered, coverage, accuracy, MRR@k."""
    r = ranks.assign(rr=np.where(ranks["answered"] & (ranks["rank"] <= k) & (ranks["rank"] > 0),
                                 1.0 / ranks["rank"].clip(lower=1), 0.0))
    rows = []
    for method, g in r.groupby("method", sort=False):
        for cat, h in list(g.groupby("category", sort=False)) + [(OVERALL, g)]:
            ans = h[h["answered"]]
            rows.append({"method": method, "category": cat, "questions": len(h), "answered": len(ans),
                         "coverage": len(ans) / len(h), "accuracy": ans["correct"].mean() if len(ans) else np.nan,
                         f"mrr@{k}": ans["rr"].mean() if len(ans) else np.nan})
    return pd.DataFrame(rows)


def evaluate_analogies(kv: KeyedVectors, questions, methods: Sequence[str] = ANALOGY_METHODS, k: int = 10,
                       restrict: np.ndarray | None = None) -> pd.DataFrame:
    """Accuracy and MRR@k per method and category (see :func:`summarize`); ``restrict`` limits the questions."""
    return summarize(analogy_ranks(kv, questions, methods, restrict=restrict), k)


def evaluate_many(embeddings: Mapping[str, KeyedVectors], questions, methods: Sequence[str] = ANALOGY_METHODS,
                  k: int = 10, same_questions: bool = True) -> pd.DataFrame:
    """:func:`evaluate_analogies` for every embedding (column ``embedding``); with ``same_questions``
    every model answers only the questions all of them can answer."""
    df = question_frame(questions)
    restrict = common_questions(embeddings, df) if same_questions else None
    frames = [evaluate_analogies(kv, df, methods, k, restrict).assign(embedding=name)
              for name, kv in embeddings.items()]
    out = pd.concat(frames, ignore_index=True)
    return out[["embedding"] + [c for c in out.columns if c != "embedding"]]


def write_questions_words(questions, path) -> None:
    """Write questions in the Mikolov ``questions-words`` format (``: category`` headers), e.g. for gensim."""
    df = question_frame(questions)
    with open(path, "w", encoding="utf-8") as f:
        for cat, g in df.groupby("category", sort=False):
            f.write(f": {cat}\n")
            for a, b, c, d in g[["a", "b", "c", "d"]].itertuples(index=False):
                f.write(f"{a} {b} {c} {d}\n")
