"""How well slices are aligned and modelled: stable-word similarity, vocabulary-overlap sweep, the held-out split
and a full-softmax CBOW likelihood."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from embedlab import progress as _progress

from .alignment import comparable_words, cross_similarity, self_retrieval
from .training import SliceModels, Slices, TrainingConfig, check_slices, train_all

RENAMED_SUFFIX = "⁑b"   # marks a word type that exists only in the second slice of the overlap sweep


def frequent_shared(models: SliceModels, a: str, b: str, n: int = 50) -> list[str]:
    """The ``n`` most frequent words of the two slices together among those comparable between them (function words)."""
    words = comparable_words(models, a, b)
    return sorted(words, key=lambda w: (-(models.counts[a][w] + models.counts[b][w]), w))[:n]


def alignment_quality(models: Mapping[str, SliceModels], pairs: Sequence[tuple[str, str]],
                      word_sets: Mapping[str, Sequence[str]] | None = None, n_frequent: int = 50) -> pd.DataFrame:
    """Mean cross-slice cosine similarity and self-retrieval P@1 of words whose usage should not change.

    Word sets: ``frequent`` (the pair's most frequent shared words) plus any named sets given (e.g. planted-free
    controls); only words comparable in the pair are used. Retrieval searches all comparable words.
    """
    rows = []
    for method, m in models.items():
        for a, b in pairs:
            vocab = comparable_words(m, a, b)
            known = set(vocab)
            sets = {"frequent": frequent_shared(m, a, b, n_frequent), **(word_sets or {})}
            for name, words in sets.items():
                ws = [w for w in words if w in known]
                if not ws:
                    continue
                rows.append({"method": method, "pair": f"{a}→{b}", "words": name, "n": len(ws),
                             "mean_cosine": float(cross_similarity(m, a, b, ws).mean()),
                             "p_at_1": self_retrieval(m, a, b, ws, vocab)})
    return pd.DataFrame(rows)


def split_halves(sentences: Sequence[Sequence[str]], seed: int = 0, max_tokens: int | None = None) -> tuple[list, list]:
    """Two random halves of a corpus's sentences (same language and style: no real shift between them)."""
    order = np.random.default_rng(seed).permutation(len(sentences))
    chosen, total = [], 0
    for i in order:
        if max_tokens and total >= max_tokens:
            break
        chosen.append(list(sentences[i]))
        total += len(sentences[i])
    return chosen[0::2], chosen[1::2]


def rename_types(sentences: Sequence[Sequence[str]], words: set[str]) -> list[list[str]]:
    """Sentences with every token in ``words`` replaced by a distinct type (``word`` + :data:`RENAMED_SUFFIX`)."""
    return [[t + RENAMED_SUFFIX if t in words else t for t in s] for s in sentences]


def overlap_sweep(sentences: Sequence[Sequence[str]], shared_fractions: Sequence[float] = (1.0, 0.75, 0.5, 0.25, 0.1),
                  config: TrainingConfig = TrainingConfig(), probe_fraction: float = 0.2, max_tokens: int | None = None,
                  seed: int = 0, progress: bool = True, threads: int = 1) -> pd.DataFrame:
    """Alignment reliability as two slices share fewer word types (the CADE paper's vocabulary-overlap concern).

    The corpus is split into random halves A and B (no real shift). A fixed random ``probe_fraction`` of the
    frequent types is always renamed in B (``w`` -> ``w⁑b``), so it is never a shared anchor; of the other
    frequent types only ``shared_fraction`` stay shared. Reliability = P@1 and P@10 of finding ``w`` among A's
    words from ``w⁑b`` in B, per method. (Raw cosines are not used: word2vec vectors share a large common
    direction, so any rotation that aligns it gives high cosines even between unrelated words.)
    """
    bad = [f for f in shared_fractions if not 0 < f <= 1]
    if bad or not shared_fractions:
        raise ValueError(f"shared fractions must lie in (0, 1], got {list(shared_fractions)}")
    if not 0 < probe_fraction < 1:
        raise ValueError(f"probe_fraction must lie in (0, 1), got {probe_fraction!r}")
    a, b = split_halves(sentences, seed, max_tokens)
    counts = check_slices({"A": a, "B": b}, config.min_count)
    eligible = sorted(w for w in counts["A"] if counts["A"][w] >= config.min_count and counts["B"].get(w, 0) >= config.min_count)
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(eligible))
    n_probe = max(1, int(round(probe_fraction * len(order))))
    probes = order[:n_probe]
    frequent_b = {w for w, n in counts["B"].items() if n >= config.min_count}
    rest = list(rng.permutation(sorted(frequent_b - set(probes))))
    rows = []
    for frac in (_progress.bar(shared_fractions, desc="vocabulary-overlap sweep") if progress else shared_fractions):
        hidden = set(probes) | set(rest[:int(round((1 - frac) * len(rest)))])
        slices = {"A": a, "B": rename_types(b, hidden)}
        models = train_all(slices, config, progress=False, threads=threads)
        vocab_a, vocab_b = ({w for w, n in c.items() if n >= config.min_count} for c in models["cade"].counts.values())
        for method, m in models.items():
            found = [p for p in probes if p + RENAMED_SUFFIX in m.vectors["B"].key_to_index and p in m.vectors["A"].key_to_index]
            renamed = [p + RENAMED_SUFFIX for p in found]
            cand = [w for w in m.vectors["A"].key_to_index if m.counts["A"].get(w, 0) >= config.min_count]
            rows.append({"shared_fraction": frac, "method": method,
                         "vocab_jaccard": len(vocab_a & vocab_b) / len(vocab_a | vocab_b),
                         "probe_p_at_1": self_retrieval(m, "A", "B", renamed, cand, found, k=1),
                         "probe_p_at_10": self_retrieval(m, "A", "B", renamed, cand, found, k=10),
                         "n_probes": len(found),
                         "shared_types": len(set(m.vectors["A"].key_to_index) & set(m.vectors["B"].key_to_index))})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- held-out likelihood (TWEC's evaluation)

def holdout(slices: Slices, fraction: float = 0.1, seed: int = 0) -> tuple[dict, dict]:
    """Split each slice's sentences at random into training and held-out parts."""
    if not 0 <= fraction < 1:
        raise ValueError(f"held-out fraction must lie in [0, 1), got {fraction!r}")
    train, test = {}, {}
    for i, (name, sents) in enumerate(slices.items()):
        mask = np.random.default_rng(seed + i).random(len(sents)) < fraction
        train[name] = [s for s, m in zip(sents, mask) if not m]
        test[name] = [s for s, m in zip(sents, mask) if m]
    return train, test


def _contexts(sentences: Sequence[Sequence[str]], index: Mapping[str, int], window: int) -> tuple[list, np.ndarray]:
    """Every position's (context indices, target index) over in-vocabulary tokens."""
    contexts, targets = [], []
    for s in sentences:
        ids = [index[t] for t in s if t in index]
        for i, t in enumerate(ids):
            ctx = ids[max(0, i - window):i] + ids[i + 1:i + 1 + window]
            if ctx:
                contexts.append(ctx)
                targets.append(t)
    return contexts, np.asarray(targets, dtype=np.int64)


def context_means(contexts: Sequence[Sequence[int]], n_words: int) -> sparse.csr_matrix:
    """A [positions, words] sparse matrix whose rows average each position's context words."""
    lengths = np.fromiter((len(c) for c in contexts), dtype=np.int64, count=len(contexts))
    cols = np.fromiter((i for c in contexts for i in c), dtype=np.int64, count=int(lengths.sum()))
    rows = np.repeat(np.arange(len(contexts)), lengths)
    return sparse.csr_matrix((np.repeat(1.0 / lengths, lengths), (rows, cols)), shape=(len(contexts), n_words))


def cbow_loglik(inputs: np.ndarray, outputs: np.ndarray, contexts: Sequence[Sequence[int]], targets: np.ndarray,
                block: int = 4096) -> np.ndarray:
    """log p(target | context) under a CBOW model's full softmax (mean of context inputs against all outputs)."""
    hidden = (context_means(contexts, len(inputs)) @ inputs.astype(np.float64)).astype(np.float32)
    out_t = np.ascontiguousarray(outputs.T, dtype=np.float32)
    out = np.empty(len(targets))
    for start in range(0, len(targets), block):
        logits = hidden[start:start + block] @ out_t
        top = logits.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        out[start:start + len(logits)] = logits[np.arange(len(logits)), targets[start:start + block]] - lse
    return out


def anisotropy(models: SliceModels, n_words: int = 1000, n_pairs: int = 20000, seed: int = 0) -> pd.DataFrame:
    """Per slice: mean cosine between random pairs of its ``n_words`` most frequent words (vectors that all point one
    way make any alignment score high and every neighbourhood alike) and the norm of the mean unit vector."""
    from .alignment import unit_rows

    rng = np.random.default_rng(seed)
    rows = []
    for s, kv in models.vectors.items():
        words = [w for w, _ in models.counts[s].most_common() if w in kv.key_to_index][:n_words]
        if len(words) < 2:
            continue
        x = unit_rows(kv[words])
        i, j = rng.integers(0, len(words), n_pairs), rng.integers(0, len(words), n_pairs)
        keep = i != j
        rows.append({"method": models.method, "slice": s, "n_words": len(words),
                     "mean_pair_cosine": float((x[i[keep]] * x[j[keep]]).sum(axis=1).mean()),
                     "mean_direction_norm": float(np.linalg.norm(x.mean(axis=0)))})
    return pd.DataFrame(rows)
