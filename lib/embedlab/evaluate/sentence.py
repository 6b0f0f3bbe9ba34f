"""Sentence-level evaluation: STS Spearman, paraphrase retrieval (MRR, recall@k) and isotropy."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import spearmanr


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def cosine_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two ``[..., N, H]`` arrays (leading axes, e.g. layers, are kept)."""
    return (_unit(a) * _unit(b)).sum(-1)


def sts_spearman(emb1: np.ndarray, emb2: np.ndarray, gold: Sequence[float]) -> float | np.ndarray:
    """Spearman correlation (x100) between cosine similarity of paired embeddings and gold scores.

    Works on ``[N, H]`` (returns a float) or ``[K, N, H]`` (returns ``K`` values, e.g. one per layer).
    """
    gold = np.asarray(gold, dtype=np.float64)
    if len(gold) == 0:
        raise ValueError("empty STS set: no pairs to score")
    sims = cosine_pairs(emb1, emb2)
    if sims.ndim == 1:
        return float(spearmanr(sims, gold).statistic * 100)
    return np.array([spearmanr(s, gold).statistic * 100 for s in sims.reshape(-1, sims.shape[-1])]).reshape(sims.shape[:-1])


def retrieval_ranks(queries: np.ndarray, candidates: np.ndarray, gold: Sequence[int] | None = None,
                    batch_size: int = 1024) -> np.ndarray:
    """1-based rank of each query's gold candidate by cosine (default gold: the same row index)."""
    q, c = _unit(queries), _unit(candidates)
    gold = np.arange(len(q)) if gold is None else np.asarray(gold)
    if len(q) == 0 or len(c) == 0:
        raise ValueError("empty retrieval set: need at least one query and one candidate")
    ranks = np.empty(len(q), dtype=np.int64)
    for s in range(0, len(q), batch_size):
        sims = q[s:s + batch_size] @ c.T
        target = sims[np.arange(len(sims)), gold[s:s + batch_size]]
        ranks[s:s + batch_size] = (sims > target[:, None]).sum(1) + 1
    return ranks


def retrieval_metrics(ranks: np.ndarray, ks: Sequence[int] = (1, 3, 10)) -> dict[str, float]:
    """MRR and recall@k (x100) from 1-based ranks."""
    ranks = np.asarray(ranks)
    out = {"mrr": float(np.mean(1.0 / ranks) * 100)}
    out.update({f"recall@{k}": float(np.mean(ranks <= k) * 100) for k in ks})
    return out


def paraphrase_retrieval(emb_a: np.ndarray, emb_b: np.ndarray, ks: Sequence[int] = (1, 10)) -> dict[str, float]:
    """Find each row of ``emb_a``'s counterpart (same index) among all rows of ``emb_b``."""
    return retrieval_metrics(retrieval_ranks(emb_a, emb_b), ks)


def isotropy(emb: np.ndarray, n_pairs: int = 20000, seed: int = 0) -> dict[str, float]:
    """Isotropy of an embedding cloud.

    ``avg_cosine``: mean cosine between random distinct pairs (0 for an isotropic space);
    ``partition_ratio``: min/max of the partition function Z(c) = sum_i exp(c . w_i) over the
    principal directions c (Mu & Viswanath 2018; 1 for a perfectly isotropic space).
    """
    x = np.asarray(emb, dtype=np.float64)
    if len(x) < 2:
        raise ValueError("isotropy needs at least two embeddings")
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(x), n_pairs), rng.integers(0, len(x), n_pairs)
    keep = i != j
    u = _unit(x)
    avg_cos = float((u[i[keep]] * u[j[keep]]).sum(1).mean())
    _, directions = np.linalg.eigh(x.T @ x)  # eigenvectors of W^T W, as in the paper
    z = np.exp(np.clip(x @ directions, -50, 50)).sum(0)
    return {"avg_cosine": avg_cos, "partition_ratio": float(z.min() / z.max())}
