"""A labelled extra beside TWEC's score: the held-out likelihood of hierarchical-softmax CADE models.

TWEC's negative-sampling score (:mod:`.scoring`) is a sampled estimate, not a probability. A second compass and
CADE slices trained with hierarchical softmax (``hs=True``, one training seed, otherwise the same settings) give a
normalised probability of every held-out word: gensim's ``Word2Vec.score`` (CBOW + hierarchical softmax), which
our kernel below reproduces with any input vectors, so every slice scores under the compass's Huffman tree and
``syn1``. These are not the models whose shifts are ranked; they say whether a proper likelihood tells the slices
apart where TWEC's score does not.
"""
from __future__ import annotations

from typing import Sequence

import numba
import numpy as np
from gensim.models import Word2Vec

from .scoring import MAX_SENTENCE_LEN, full_inputs, heldout_runs
from .training import _MAX_EXP, _TABLE_SCALE, SliceModels, Slices, _exp_table, encode, huffman_tables


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
            count = np.float32(0.0)
            neu1[:] = 0.0
            for m in range(max(0, i - window), min(n, i + window + 1)):
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


def _score_hs(inputs: np.ndarray, model: Word2Vec, encoded: tuple) -> np.ndarray:
    corpus, offsets = encoded
    codes, points, starts = huffman_tables(model)
    log_table = np.log(_exp_table()).astype(np.float32)
    return _score_cbow_hs(np.ascontiguousarray(inputs, dtype=np.float32), np.ascontiguousarray(model.syn1, dtype=np.float32),
                          corpus, offsets, codes, points, starts, log_table, model.window, MAX_SENTENCE_LEN)


def score_sentences_hs(inputs: np.ndarray, model: Word2Vec,
                       sentences: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """gensim's ``Word2Vec.score`` for CBOW + hierarchical softmax with input vectors ``inputs`` (rows in the
    order of ``model``'s vocabulary) and ``model``'s tree and ``syn1``: per-sentence log probability and the number
    of in-vocabulary words scored in each sentence."""
    encoded = encode(sentences, model.wv.key_to_index)
    return _score_hs(inputs, model, encoded), np.minimum(np.diff(encoded[1]), MAX_SENTENCE_LEN)


def heldout_hs(cade_hs: SliceModels, test: Slices, threads: int = 1):
    """TWEC's held-out measures (as :func:`.scoring.twec_heldout`: the same words, posterior and normalised
    log-likelihood) of hierarchical-softmax CADE models: a normalised probability instead of TWEC's score."""
    compass = cade_hs.compass
    if compass is None or not compass.hs:
        raise ValueError("heldout_hs needs CADE models trained with hierarchical softmax (hs=True) and their compass")

    def scorer(run, name):
        inputs = compass.wv.vectors if run is None else full_inputs(run, name)
        return lambda enc: _score_hs(inputs, compass, enc)

    return heldout_runs([cade_hs], test, scorer, threads)[0]
