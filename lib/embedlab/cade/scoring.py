"""TWEC's held-out likelihood: gensim's ``Word2Vec.score`` (CBOW + hierarchical softmax) with any input vectors,
so the compass and every CADE slice score the same sentences under the compass's Huffman tree and ``syn1``."""
from __future__ import annotations

from typing import Sequence

import numba
import numpy as np
from gensim.models import Word2Vec

from .training import _MAX_EXP, _TABLE_SCALE, _exp_table, encode, huffman_tables


@numba.njit(cache=True, nogil=True)
def _score_cbow_hs(syn0, syn1, corpus, offsets, codes, points, code_starts, log_table, window,
                   max_len):  # pragma: no cover - compiled
    """Per sentence, gensim's ``score_sentence_cbow``: the sum over positions of log p(word | mean of the full
    window) under hierarchical softmax (no subsampling, no reduced window, path terms beyond |x| >= 6 skipped,
    sentences cut at ``max_len`` in-vocabulary words)."""
    size = syn0.shape[1]
    n_sent = offsets.shape[0] - 1
    out = np.zeros(n_sent, dtype=np.float64)
    neu1 = np.empty(size, dtype=np.float32)
    scale = np.float32(_TABLE_SCALE)
    for s in range(n_sent):
        start = offsets[s]
        n = min(offsets[s + 1] - start, max_len)
        score = np.float32(0.0)
        for i in range(n):
            word = corpus[start + i]
            j = max(0, i - window)
            k = min(n, i + window + 1)
            count = np.float32(0.0)
            neu1[:] = 0.0
            for m in range(j, k):
                if m != i:
                    count += np.float32(1.0)
                    row = syn0[corpus[start + m]]
                    for d in range(size):
                        neu1[d] += row[d]
            if count > np.float32(0.5):
                inv = np.float32(1.0) / count
                for d in range(size):
                    neu1[d] *= inv
            for c in range(code_starts[word], code_starts[word + 1]):
                row = syn1[points[c]]
                f = np.float32(0.0)
                for d in range(size):
                    f += neu1[d] * row[d]
                if codes[c]:
                    f = -f
                if f <= -_MAX_EXP or f >= _MAX_EXP:
                    continue
                score += log_table[int((f + _MAX_EXP) * scale)]
        out[s] = score
    return out



def score_sentences(inputs: np.ndarray, model: Word2Vec, sentences: Sequence[Sequence[str]],
                    syn1: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """gensim's ``Word2Vec.score`` for CBOW + hierarchical softmax with input vectors ``inputs`` (rows in the
    order of ``model``'s vocabulary) and ``model``'s tree and ``syn1`` (or the given one): per-sentence log
    probability and the number of in-vocabulary words scored in each sentence."""
    corpus, offsets = encode(sentences, model.wv.key_to_index)
    codes, points, starts = huffman_tables(model)
    syn1 = model.syn1 if syn1 is None else syn1
    log_table = np.log(_exp_table()).astype(np.float32)
    scores = _score_cbow_hs(np.ascontiguousarray(inputs, dtype=np.float32), np.ascontiguousarray(syn1, dtype=np.float32),
                            corpus, offsets, codes, points, starts, log_table, model.window, 10000)
    return scores, np.minimum(np.diff(offsets), 10000)
