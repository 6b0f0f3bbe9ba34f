"""Semantic-shift measures between two slices: cosine distance, LNCS and nearest-neighbour intersection.

All three are distances (higher = more shift). Cosine distance needs aligned spaces; LNCS (Hamilton et al. 2016,
"Cultural shift or linguistic drift?", k = 25 neighbours) and neighbour intersection (Gonen et al. 2020, k = 1000)
compare each word's neighbourhood within its own slice, so they need no alignment (and are the same for Procrustes
and unaligned). Both k are capped to the number of comparable words minus one.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .alignment import check_pair, comparable_words, cross_similarity, pair_vectors
from .training import SliceModels

MEASURES = ("cosine_distance", "lncs", "nn_intersection")
LABELS = {"cosine_distance": "cosine distance", "lncs": "LNCS distance", "nn_intersection": "NN-intersection distance"}
K_LNCS, K_NN = 25, 1000   # Hamilton et al. 2016; Gonen et al. 2020


def top_k_neighbours(x: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """Indices of each row's ``k`` most cosine-similar other rows (unit rows in, [n, k] out, most similar first)."""
    n = len(x)
    k = min(k, n - 1)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        sims = x[start:start + block] @ x.T
        sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        out[start:start + block] = np.take_along_axis(part, order, axis=1)
    return out


def neighbour_sets(x: np.ndarray, k_small: int, k_large: int, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k_small`` and ``k_large`` most cosine-similar other rows as index sets ([n, k], in no order):
    what LNCS and neighbour intersection need, without sorting the neighbours."""
    n = len(x)
    k_small, k_large = min(k_small, n - 1), min(k_large, n - 1)
    big = max(k_small, k_large)
    small_out = np.empty((n, k_small), dtype=np.int64)
    large_out = np.empty((n, k_large), dtype=np.int64)
    for start in range(0, n, block):
        sims = x[start:start + block] @ x.T
        sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf
        part = np.argpartition(-sims, big - 1, axis=1)[:, :big] if big < n else np.argsort(-sims, axis=1)[:, :big]
        top = np.take_along_axis(sims, part, axis=1)
        for k, out in ((k_small, small_out), (k_large, large_out)):
            sub = part if k == big else np.take_along_axis(part, np.argpartition(-top, k - 1, axis=1)[:, :k], axis=1)
            out[start:start + block] = sub
    return small_out, large_out


def lncs(xa: np.ndarray, xb: np.ndarray, na: np.ndarray, nb: np.ndarray, block: int = 2048) -> np.ndarray:
    """Local neighbourhood change: cosine distance of a word's similarities to the union of its neighbours in both
    slices (``na``/``nb``: each word's neighbour indices in a and b)."""
    out = np.empty(len(xa))
    xa, xb = xa.astype(np.float64), xb.astype(np.float64)   # near-parallel vectors: float32 would reorder words
    for start in range(0, len(xa), block):
        rows = slice(start, start + block)
        pa, pb, ya, yb = na[rows], nb[rows], xa[rows], xb[rows]
        dup = (pb[:, :, None] == pa[:, None, :]).any(axis=2)             # b's neighbours already among a's
        sa = np.concatenate([np.einsum("ikd,id->ik", xa[pa], ya), np.where(dup, 0, np.einsum("ikd,id->ik", xa[pb], ya))], 1)
        sb = np.concatenate([np.einsum("ikd,id->ik", xb[pa], yb), np.where(dup, 0, np.einsum("ikd,id->ik", xb[pb], yb))], 1)
        denom = np.linalg.norm(sa, axis=1) * np.linalg.norm(sb, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rows] = np.where(denom > 0, 1.0 - (sa * sb).sum(axis=1) / denom, 1.0)
    return out


def nn_overlap_distance(na: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """1 - |N_a ∩ N_b| / k for each word's k nearest neighbours in the two slices (each row's indices distinct)."""
    both = np.sort(np.concatenate([na, nb], axis=1), axis=1)
    return 1.0 - (both[:, 1:] == both[:, :-1]).sum(axis=1) / na.shape[1]


def effective_k(k: int, n_words: int) -> int:
    """``k`` capped to the other comparable words (a word's neighbours exclude itself)."""
    return max(1, min(k, n_words - 1))


def shift_scores(models: SliceModels, a: str, b: str, words: Sequence[str] | None = None,
                 min_count: int | None = None, k: int = K_LNCS, k_nn: int = K_NN,
                 measures: Sequence[str] = MEASURES) -> pd.DataFrame:
    """Every measure (or those in ``measures``) for the words comparable between ``a`` and ``b`` (neighbours
    searched among those words).

    Returns a frame indexed by word with one column per measure plus each slice's count; ``attrs`` holds the
    neighbourhood sizes actually used (``k_lncs``, ``k_nn``: capped to the vocabulary).
    """
    check_pair(models, a, b)
    if k < 1 or k_nn < 1:
        raise ValueError(f"neighbourhood sizes must be >= 1, got k={k}, k_nn={k_nn}")
    vocab = comparable_words(models, a, b, min_count)
    if len(vocab) < 2:
        raise ValueError(f"slices {a!r} and {b!r} share {len(vocab)} word(s) with enough occurrences; need at least 2")
    xa, xb = pair_vectors(models, a, b, vocab)
    bad = [m for m in measures if m not in MEASURES]
    if bad:
        raise ValueError(f"unknown shift measure(s) {bad}; allowed: {', '.join(MEASURES)}")
    kl, kn = effective_k(k, len(vocab)), effective_k(k_nn, len(vocab))
    cols = {"cosine_distance": 1.0 - (xa * xb).sum(axis=1)}
    if "lncs" in measures or "nn_intersection" in measures:
        (la, ga), (lb, gb) = neighbour_sets(xa, kl, kn), neighbour_sets(xb, kl, kn)
        cols.update(lncs=lncs(xa, xb, la, lb), nn_intersection=nn_overlap_distance(ga, gb))
    df = pd.DataFrame({**{m: cols[m] for m in measures}, f"count_{a}": [models.counts[a][w] for w in vocab],
                       f"count_{b}": [models.counts[b][w] for w in vocab]}, index=pd.Index(vocab, name="word"))
    df.attrs.update(k_lncs=kl, k_nn=kn, n_comparable=len(vocab))
    if words is not None:
        missing = [w for w in words if w not in df.index]
        df = df.loc[[w for w in words if w in df.index]]
        df.attrs["missing"] = missing
    return df


def full_ranking(by_method: dict, a: str, b: str, min_count: int | None = None, k: int = K_LNCS,
                 k_nn: int = K_NN, scores: dict | None = None) -> pd.DataFrame:
    """Every comparable word of a slice pair with every measure of every method and its count in each slice,
    ranked by the first method's cosine distance (what a user checks known changes against).

    ``by_method`` maps a label (e.g. ``"cade"``, ``"procrustes"``) to its models; LNCS and neighbour intersection
    are given once for Procrustes/unaligned (they need no alignment and agree). ``scores`` may hold a label's
    :func:`shift_scores` already computed with these settings."""
    parts, counts = [], None
    seen_free = False
    for label, models in by_method.items():
        sc = (scores or {}).get(label)
        sc = shift_scores(models, a, b, min_count=min_count, k=k, k_nn=k_nn) if sc is None else sc
        cols = ["cosine_distance"]
        free = models.method in ("procrustes", "unaligned")
        if not (free and seen_free):
            cols += ["lncs", "nn_intersection"]
        seen_free |= free
        parts.append(sc[cols].rename(columns={c: f"{label} {LABELS[c]}" for c in cols}))
        counts = sc[[f"count_{a}", f"count_{b}"]] if counts is None else counts.combine_first(sc[[f"count_{a}", f"count_{b}"]])
    out = pd.concat([counts, *parts], axis=1)
    first = parts[0].columns[0]
    out = out.sort_values(first, ascending=False, kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def neighbours(models: SliceModels, slice_name: str, word: str, topn: int = 5, min_count: int | None = None) -> list[str]:
    """A word's nearest neighbours within one slice, among words seen at least ``min_count`` times there."""
    kv = models.vectors[slice_name]
    if word not in kv.key_to_index:
        return []
    m = models.config.min_count if min_count is None else min_count
    counts = models.counts[slice_name]
    out = []
    for w, _ in kv.most_similar(word, topn=topn * 20 + 50):
        if counts.get(w, 0) >= m:
            out.append(w)
            if len(out) == topn:
                break
    return out


def top_shifted(models: SliceModels, a: str, b: str, n: int = 10, measure: str = "cosine_distance", k: int = K_LNCS,
                topn_neighbours: int = 5, min_count: int | None = None, rank_min_count: int = 0,
                scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``n`` most shifted words between ``a`` and ``b`` by ``measure``, with their neighbours in each slice.

    ``rank_min_count`` keeps rare words (whose vectors are noisy and look shifted) out of the ranking only.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown shift measure {measure!r}; allowed: {', '.join(MEASURES)}")
    scores = shift_scores(models, a, b, min_count=min_count, k=k, k_nn=k) if scores is None else scores
    frequent = (scores[f"count_{a}"] >= rank_min_count) & (scores[f"count_{b}"] >= rank_min_count)
    top = scores[frequent].sort_values(measure, ascending=False, kind="stable").head(n)
    return pd.DataFrame({
        "word": top.index, LABELS[measure]: top[measure].round(3).to_numpy(),
        f"count_{a}": top[f"count_{a}"].to_numpy(), f"count_{b}": top[f"count_{b}"].to_numpy(),
        f"neighbours in {a}": [", ".join(neighbours(models, a, w, topn_neighbours, min_count)) for w in top.index],
        f"neighbours in {b}": [", ".join(neighbours(models, b, w, topn_neighbours, min_count)) for w in top.index]})


def trajectories(models: SliceModels, words: Sequence[str], reference: str | None = None,
                 min_count: int | None = None, topn_neighbours: int = 4) -> pd.DataFrame:
    """Each word's cosine similarity to itself in the ``reference`` slice (default: the first), slice by slice.

    Rows: word x slice, with the similarity (NaN where the word is too rare in either slice) and its neighbours.
    """
    ref = models.slices[0] if reference is None else reference
    check_pair(models, ref, ref)
    m = models.config.min_count if min_count is None else min_count
    rows = []
    for s in models.slices:
        ok = [w for w in words if models.counts[ref].get(w, 0) >= m and models.counts[s].get(w, 0) >= m
              and w in models.vectors[ref].key_to_index and w in models.vectors[s].key_to_index]
        sims = dict(zip(ok, cross_similarity(models, ref, s, ok))) if ok else {}
        for w in words:
            rows.append({"word": w, "slice": s, "similarity": float(sims[w]) if w in sims else np.nan,
                         "count": models.counts[s].get(w, 0),
                         "neighbours": ", ".join(neighbours(models, s, w, topn_neighbours, m))
                         if models.counts[s].get(w, 0) >= m else ""})
    return pd.DataFrame(rows)


def ranking_agreement(seed_models: Sequence[SliceModels], pairs: Sequence[tuple[str, str]], n: int = 10,
                      rank_min_count: int = 0) -> pd.DataFrame:
    """How far one method's cosine-distance shift rankings agree across training seeds, per slice pair: the mean
    and lowest Spearman correlation between two seeds' distances over the comparable words, and the share of the
    first seed's ``n`` most shifted words (among those seen ``rank_min_count`` times in both slices) that are among
    the ``n`` most shifted of every seed."""
    from scipy.stats import spearmanr

    rows = []
    for a, b in pairs:
        words = comparable_words(seed_models[0], a, b)
        dist = np.stack([1.0 - cross_similarity(m, a, b, words) for m in seed_models])
        c = seed_models[0].counts
        frequent = np.array([c[a][w] >= rank_min_count and c[b][w] >= rank_min_count for w in words])
        tops = [set(np.flatnonzero(frequent)[np.argsort(-d[frequent], kind="stable")[:n]]) for d in dist]
        rhos = [spearmanr(dist[i], dist[j]).statistic for i in range(len(dist)) for j in range(i + 1, len(dist))]
        rows.append({"pair": f"{a}→{b}", "words": len(words), "seeds": len(dist),
                     "spearman_mean": float(np.mean(rhos)) if rhos else np.nan,
                     "spearman_min": float(np.min(rhos)) if rhos else np.nan,
                     f"top_{n}_in_every_seed": len(set.intersection(*tops)) / max(1, len(tops[0]))})
    return pd.DataFrame(rows)
