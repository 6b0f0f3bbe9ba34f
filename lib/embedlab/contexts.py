"""The contexts of a word in a corpus and what one encoder pass pools from them.

:func:`select_contexts` samples each vocabulary word's contexts uniformly (seeded) among its occurrences;
:class:`ContextSample` holds them, per sentence and as flat arrays. :func:`pool_batches` consumes a pass
(:func:`embedlab.encoders.hidden_state_batches`' ``(rows, batch, states)``) and keeps, per sentence, the mean
token vector (special tokens included: X2Static's teacher) and the first token's vector ([CLS]), and, per
vocabulary word, the sum over its sampled contexts of its pooled (mean) subword vectors, aligned with the batch's
``word_index``. :func:`cls_sums` averages the sentence [CLS] vectors over a word's contexts afterwards, so the
aggregate-CLS method needs no pooling during the pass. A context counts when its word kept at least one token
after truncation (:func:`word_token_counts`).
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch


@dataclasses.dataclass
class ContextSample:
    """The sentences to encode and, in them, the sampled contexts of each vocabulary word.

    ``occurrences[s]`` lists the ``(word position, vocabulary id)`` pairs of sentence ``s`` used as
    aggregate contexts (may be empty when the sentence is only there for X2Static); ``targets[s]`` the
    vocabulary ids of all its vocabulary words (X2Static's targets); ``sentence_ids[s]`` its index in the
    corpus; ``counts`` the sampled contexts per word; ``corpus_counts`` every occurrence per word in the
    whole corpus (X2Static's subsampling and negative sampling use these, as the reference does).
    """

    sentences: list[list[str]]
    occurrences: list[list[tuple[int, int]]]
    targets: list[list[int]]
    counts: np.ndarray
    vocab: list[str]
    sentence_ids: np.ndarray | None = None
    corpus_counts: np.ndarray | None = None

    @property
    def n_words_covered(self) -> int:
        """Vocabulary words with at least one context."""
        return int((self.counts > 0).sum())

    def occurrence_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sampled contexts as flat arrays ``(sample row, word position, vocabulary id)``, by row then position."""
        n = [len(o) for o in self.occurrences]
        flat = [x for o in self.occurrences for x in o]
        rows = np.repeat(np.arange(len(n), dtype=np.int64), n)
        pos = np.fromiter((j for j, _ in flat), dtype=np.int64, count=len(flat))
        word = np.fromiter((v for _, v in flat), dtype=np.int64, count=len(flat))
        return rows, pos, word


def select_contexts(sentences: Sequence[Sequence[str]], vocab: Sequence[str], max_contexts: int | None = 10,
                    max_sentences: int | None = None, max_words: int | None = None, seed: int = 0,
                    all_sentences: bool = False) -> ContextSample:
    """Sample each vocabulary word's contexts uniformly (seeded) among its occurrences, up to ``max_contexts``.

    Every occurrence of a word is equally likely to be chosen, whatever the length of its sentence (each gets
    a seeded random key; a word keeps its ``max_contexts`` smallest keys); ``max_contexts=None`` keeps them all
    (the Hungarian reference averages over all sentences; Bommasani et al. 2020 use up to 100k contexts).
    ``max_sentences`` first draws that many corpus sentences uniformly at random and samples only in them
    (a cost bound). ``all_sentences=True`` also keeps every sentence with a vocabulary word, with or without
    sampled contexts, for X2Static, which trains on the whole corpus. ``max_words`` cuts sentences (None: no cut;
    the encoder truncates to its ``max_length`` tokens and contexts truncated away are not counted).
    """
    if max_contexts is not None and max_contexts < 1:
        raise ValueError(f"max_contexts must be >= 1 or None (all contexts), got {max_contexts}")
    index = {w: i for i, w in enumerate(vocab)}
    cut = [s[:max_words] if max_words else s for s in sentences]
    occ_s, occ_j, occ_v = [], [], []
    for s, sent in enumerate(cut):
        for j, w in enumerate(sent):
            v = index.get(w)
            if v is not None:
                occ_s.append(s)
                occ_j.append(j)
                occ_v.append(v)
    occ_s, occ_j, occ_v = (np.asarray(a, dtype=np.int64) for a in (occ_s, occ_j, occ_v))
    corpus_counts = np.bincount(occ_v, minlength=len(vocab)).astype(np.int64)
    rng = np.random.default_rng(seed)
    allowed = np.ones(len(occ_s), dtype=bool)
    if max_sentences is not None and max_sentences < len(cut):
        pick = np.zeros(len(cut), dtype=bool)
        pick[rng.choice(len(cut), size=max_sentences, replace=False)] = True
        allowed = pick[occ_s]
    keys = rng.random(len(occ_s))
    cand = np.flatnonzero(allowed)
    order = cand[np.lexsort((keys[cand], occ_v[cand]))]          # by word, then random key
    kept = np.zeros(len(occ_s), dtype=bool)
    if len(order):
        words_sorted = occ_v[order]
        first = np.r_[0, np.flatnonzero(np.diff(words_sorted)) + 1]
        starts = np.repeat(first, np.diff(np.r_[first, len(order)]))
        rank = np.arange(len(order)) - starts
        kept[order[rank < max_contexts] if max_contexts is not None else order] = True
    counts = np.bincount(occ_v[kept], minlength=len(vocab)).astype(np.int64)
    keep_sent = np.zeros(len(cut), dtype=bool)
    keep_sent[occ_s[kept]] = True
    if all_sentences:
        keep_sent[occ_s] = True
    ids = np.flatnonzero(keep_sent)
    pos = np.full(len(cut), -1, dtype=np.int64)
    pos[ids] = np.arange(len(ids))
    occurrences: list[list[tuple[int, int]]] = [[] for _ in ids]
    targets: list[list[int]] = [[] for _ in ids]
    for s, j, v, k in zip(occ_s.tolist(), occ_j.tolist(), occ_v.tolist(), kept.tolist()):
        p = pos[s]
        if p < 0:
            continue
        targets[p].append(v)
        if k:
            occurrences[p].append((j, v))
    return ContextSample([list(cut[i]) for i in ids], occurrences, targets, counts, list(vocab), ids, corpus_counts)


def contexts_per_word(counts: np.ndarray | torch.Tensor, vocab: Sequence[str]) -> pd.Series:
    """The number of contexts each word's aggregate vector averages (a Series indexed by word, named
    ``contexts``), for a table or histogram; see :func:`context_summary`."""
    return pd.Series(np.asarray(counts, dtype=np.int64), index=list(vocab), name="contexts")


def context_summary(per_word: pd.Series, cap: int | None) -> dict:
    """Words, min / median / mean / max contexts per word, share of words with one context, share at the cap."""
    c = per_word[per_word > 0]
    return {"words": int(len(c)), "min": int(c.min()) if len(c) else 0, "median": float(c.median()) if len(c) else 0.0,
            "mean": float(c.mean()) if len(c) else 0.0, "max": int(c.max()) if len(c) else 0,
            "share_one_context": float((c == 1).mean()) if len(c) else 0.0,
            "share_at_cap": float((c >= cap).mean()) if len(c) and cap is not None else None, "cap": cap}


# --------------------------------------------------------------------------- what one pass pools

def word_offsets(sentences: Iterable[Sequence[str]]) -> np.ndarray:
    """``[S + 1]`` start of each sentence's words in a flat list of all words."""
    return np.r_[0, np.cumsum([len(s) for s in sentences])].astype(np.int64)


def word_token_counts(word_ids: np.ndarray, token_offsets: np.ndarray, word_starts: np.ndarray) -> np.ndarray:
    """Per word of every sentence (flat, ``word_starts`` = :func:`word_offsets`), the tokens it kept after
    truncation, from a tokenization's flat ``word_ids`` (-1 for special tokens) and its per-sentence offsets."""
    sent = np.repeat(np.arange(len(token_offsets) - 1), np.diff(token_offsets))
    real = word_ids >= 0
    flat = word_starts[sent[real]] + word_ids[real]
    return np.bincount(flat, minlength=int(word_starts[-1])).astype(np.int32)


def pool_batches(passes, means: np.ndarray | None = None, cls: np.ndarray | None = None,
                 occurrences: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 subword_sums: torch.Tensor | None = None) -> None:
    """Consume a pass: each row's mean token vector (every real token, special ones included) into ``means[:, row]``
    and its first token's vector into ``cls[:, row]`` (``[L, S, H]`` arrays, e.g. memmaps; None: not kept); for the
    ``occurrences`` ``(row, word position, vocabulary id)`` (sorted by row), the mean of the word's tokens added to
    ``subword_sums[:, word]`` (``[L, V, H]``). A context whose word lost every token to truncation adds nothing."""
    if occurrences is not None:
        o_row, o_pos, o_word = occurrences
        first = np.searchsorted(o_row, np.arange(int(o_row.max(initial=-1)) + 2))
    for rows, batch, states in passes:
        states = states.float()
        mask = batch["attention_mask"]
        if means is not None:
            means[:, rows] = (states * mask.unsqueeze(-1)).sum(-2).div_(mask.sum(-1, keepdim=True).clamp(min=1)).numpy()
        if cls is not None:
            cls[:, rows] = states[:, :, 0].numpy()
        if occurrences is None:
            continue
        rows = np.asarray(rows)
        inside = rows < len(first) - 1
        lo, hi = np.zeros(len(rows), np.int64), np.zeros(len(rows), np.int64)
        lo[inside], hi[inside] = first[rows[inside]], first[rows[inside] + 1]
        k = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if (hi > lo).any() else np.zeros(0, np.int64)
        if not len(k):
            continue
        b_of = np.repeat(np.arange(len(rows)), hi - lo)                      # batch row of each occurrence
        index = batch["word_index"].numpy()
        width = int(max(index.max(), o_pos[k].max())) + 1
        lut = np.full(len(rows) * width, -1, dtype=np.int64)
        lut[b_of * width + o_pos[k]] = np.arange(len(k))
        b_tok, t_tok = np.nonzero(index >= 0)                                 # tokens by row, then position
        occ = lut[b_tok * width + index[b_tok, t_tok]]
        hit = occ >= 0
        b_tok, t_tok, occ = b_tok[hit], t_tok[hit], occ[hit]
        n_tok = np.bincount(occ, minlength=len(k))
        n_l, _, n_t, dim = states.shape
        weight = torch.from_numpy((1.0 / n_tok[occ]).astype(np.float32)).unsqueeze(-1)
        flat = states.reshape(n_l, -1, dim)[:, torch.from_numpy(b_tok * n_t + t_tok)]
        subword_sums.index_add_(1, torch.from_numpy(o_word[k][occ]), flat * weight)


def context_counts(occurrences: tuple[np.ndarray, np.ndarray, np.ndarray], valid: np.ndarray, n_vocab: int
                   ) -> np.ndarray:
    """Contexts per vocabulary word: the ``occurrences`` whose word kept a token (``valid``)."""
    return np.bincount(occurrences[2][valid], minlength=n_vocab).astype(np.int64)


def cls_sums(cls: np.ndarray, occurrences: tuple[np.ndarray, np.ndarray, np.ndarray], valid: np.ndarray,
             n_vocab: int) -> torch.Tensor:
    """Per layer and vocabulary word, the sum of the sentence [CLS] vectors (``cls`` ``[L, S, H]``) of its valid
    contexts: ``[L, V, H]``."""
    rows, _, word = (a[valid] for a in occurrences)
    out = torch.zeros(cls.shape[0], n_vocab, cls.shape[2])
    for s in range(0, len(rows), 65536):                                     # bounded memory on a memmap
        part = torch.from_numpy(np.asarray(cls[:, rows[s:s + 65536]], dtype=np.float32))
        out.index_add_(1, torch.from_numpy(word[s:s + 65536]), part)
    return out
