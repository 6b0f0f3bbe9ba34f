"""Cross-slice vector pairs per method: CADE (aligned by construction), Procrustes (Hamilton et al. 2016), unaligned."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.linalg import orthogonal_procrustes

from .training import SliceModels


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def check_pair(models: SliceModels, a: str, b: str) -> None:
    """Raise a ValueError naming the known slices when ``a`` or ``b`` is not one of them."""
    for s in (a, b):
        if s not in models.vectors:
            raise ValueError(f"unknown slice {s!r}; known slices: {', '.join(map(str, models.slices))}")


def comparable_words(models: SliceModels, a: str, b: str, min_count: int | None = None) -> list[str]:
    """Words with at least ``min_count`` occurrences (default: the training min_count) in both slices and vectors in both."""
    check_pair(models, a, b)
    m = models.config.min_count if min_count is None else min_count
    ca, cb = models.counts[a], models.counts[b]
    va, vb = models.vectors[a].key_to_index, models.vectors[b].key_to_index
    return [w for w in va if w in vb and ca.get(w, 0) >= m and cb.get(w, 0) >= m]


def procrustes_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Orthogonal R minimising ||source R - target|| on unit-length rows (histwords' alignment)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):          # a d x d SVD: BLAS threads only add overhead (30x slower on a busy CPU)
        r, _ = orthogonal_procrustes(unit_rows(source), unit_rows(target))
    return r


def rotation(models: SliceModels, a: str, b: str) -> np.ndarray | None:
    """The map of slice ``b`` into slice ``a``: a Procrustes rotation fitted on every word both vocabularies hold
    (the anchors) for the Procrustes method, none for CADE (aligned by construction) and unaligned models."""
    check_pair(models, a, b)
    if models.method != "procrustes":
        return None
    ka, kb = models.vectors[a], models.vectors[b]
    key = ("rotation", a, b, id(ka), id(kb), len(ka), len(kb))   # fitted once per pair of these vectors
    if key not in models.cache:
        anchors = [w for w in ka.key_to_index if w in kb.key_to_index]
        models.cache[key] = procrustes_rotation(kb[anchors], ka[anchors])
    return models.cache[key]


def pair_vectors(models: SliceModels, a: str, b: str, words: Sequence[str],
                 words_b: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors of ``words`` in slice ``a`` and of ``words_b`` (default: the same words) in ``b``, mapped into ``a``."""
    r = rotation(models, a, b)
    xa = models.vectors[a][list(words)]
    xb = models.vectors[b][list(words if words_b is None else words_b)]
    return unit_rows(xa), unit_rows(xb if r is None else xb @ r)


def cross_similarity(models: SliceModels, a: str, b: str, words: Sequence[str],
                     words_b: Sequence[str] | None = None) -> np.ndarray:
    """Cosine similarity of each word's vector in ``a`` with its (or its ``words_b`` counterpart's) vector in ``b``."""
    xa, xb = pair_vectors(models, a, b, words, words_b)
    return (xa * xb).sum(axis=1)


def self_retrieval(models: SliceModels, a: str, b: str, queries: Sequence[str], candidates: Sequence[str],
                   targets: Sequence[str] | None = None, k: int = 1) -> float:
    """Share of ``queries`` (vectors in ``b``) whose target (itself by default) is among its ``k`` nearest ``candidates`` in ``a``."""
    targets = list(queries) if targets is None else list(targets)
    if not len(queries):
        return float("nan")
    r = rotation(models, a, b)
    qb = models.vectors[b][list(queries)]
    sims = unit_rows(qb if r is None else qb @ r) @ unit_rows(models.vectors[a][list(candidates)]).T
    k = min(k, len(candidates))
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    cand = np.asarray(candidates, dtype=object)
    return float(np.mean([t in set(cand[row]) for t, row in zip(targets, top)]))
