"""TWEC's held-out likelihood of negative-sampling CBOW models (Di Carlo et al. 2019, ``TWEC.evaluate``).

TWEC's gensim fork (valedica/gensim, "fast score cbow neg") scores a negative-sampling CBOW model directly: at
each position of a sentence, with ``h`` the mean of the input vectors of the full window (no reduced window, no
subsampling),

    log sigma(h . c_w) + (1 / negative) * sum over the drawn negatives n != w of log sigma(-h . c_n),

where ``c`` is the context matrix (``syn1neg``) and the ``negative`` draws come from the model's own unigram^0.75
table (a draw equal to ``w`` is skipped but still divides by ``negative``). A sentence's score is the sum over its
in-vocabulary words (at most 10,000, as gensim). Our kernel below computes that score; it is not a normalised
probability (the negative term is a sampled estimate), so its values compare models of one run, not other papers'.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Mapping, Sequence

import numba
import numpy as np
import pandas as pd

from .training import _INC, _MODULO, _MULT, SliceModels, Slices, encode, sampling_tables, word_seeded_vectors

MAX_SENTENCE_LEN = 10000   # gensim's (and TWEC's) cap on the words scored in one sentence


@numba.njit(cache=True, nogil=True, fastmath=True)
def _log_sigmoid(x):  # pragma: no cover - compiled
    """log(1 / (1 + exp(-x))) without overflow (TWEC's ``-logaddexp(0, -x)``)."""
    return -(max(0.0, -x) + np.log1p(np.exp(-abs(x))))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _score_cbow_neg(syn0, syn1neg, corpus, offsets, cum_table, window, negative, max_len,
                    next_random):  # pragma: no cover - compiled
    """Per sentence, the sum over positions of TWEC's negative-sampling score (see the module docstring). The
    draws run on one stream (gensim's linear congruential generator) over the sentences in order, advancing
    ``negative`` times per position whatever is skipped, so two models scored from the same start see the same
    draws at the same positions. A draw x maps to the first word with ``cum_table >= x`` (TWEC's ``bisect_left``)."""
    size = syn0.shape[1]
    n_sent = offsets.shape[0] - 1
    out = np.zeros(n_sent, dtype=np.float64)
    neu1 = np.empty(size, dtype=np.float32)
    cum_last = np.uint64(cum_table[cum_table.shape[0] - 1])
    for s in range(n_sent):
        start = offsets[s]
        n = min(offsets[s + 1] - start, max_len)
        score = 0.0
        for i in range(n):
            word = corpus[start + i]
            count = 0
            for d in range(size):
                neu1[d] = 0.0
            for m in range(max(0, i - window), min(n, i + window + 1)):
                if m != i:
                    count += 1
                    row = corpus[start + m]
                    for d in range(size):
                        neu1[d] += syn0[row, d]
            if count > 0:
                inv = np.float32(1.0) / np.float32(count)
                for d in range(size):
                    neu1[d] *= inv
            f = np.float32(0.0)
            for d in range(size):
                f += neu1[d] * syn1neg[word, d]
            score += _log_sigmoid(float(f))
            for _neg in range(negative):
                x = (next_random >> np.uint64(16)) % cum_last
                target = np.searchsorted(cum_table, x)
                next_random = (next_random * _MULT + _INC) & _MODULO
                if target == word:
                    continue
                f = np.float32(0.0)
                for d in range(size):
                    f += neu1[d] * syn1neg[target, d]
                score += _log_sigmoid(-float(f)) / negative
        out[s] = score
    return out


def _start(seed: int) -> np.uint64:
    return (np.uint64(seed) * np.uint64(0x9E3779B1) + np.uint64(12345)) & _MODULO


def _score(inputs: np.ndarray, syn1neg: np.ndarray, cum_table: np.ndarray, encoded: tuple, window: int,
           negative: int, seed: int) -> np.ndarray:
    corpus, offsets = encoded
    return _score_cbow_neg(np.ascontiguousarray(inputs, dtype=np.float32),
                           np.ascontiguousarray(syn1neg, dtype=np.float32), corpus, offsets, cum_table, int(window),
                           int(negative), MAX_SENTENCE_LEN, _start(seed))


def score_sentences(inputs: np.ndarray, syn1neg: np.ndarray, counts: np.ndarray, key_to_index: Mapping[str, int],
                    sentences: Sequence[Sequence[str]], window: int, negative: int, ns_exponent: float = 0.75,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """TWEC's negative-sampling score of each sentence under input vectors ``inputs`` and context matrix
    ``syn1neg`` (rows in ``key_to_index``'s order), negatives drawn by the model's own word ``counts``; returns the
    per-sentence scores and the number of in-vocabulary words scored in each. The draws start from ``seed``."""
    encoded = encode(sentences, key_to_index)
    cum_table = sampling_tables(np.asarray(counts), 0.0, ns_exponent)[1]
    return (_score(inputs, syn1neg, cum_table, encoded, window, negative, seed),
            np.minimum(np.diff(encoded[1]), MAX_SENTENCE_LEN))


def full_inputs(models: SliceModels, name: str) -> np.ndarray:
    """A CADE slice's input matrix over the whole compass vocabulary, as its trainer left it: words absent from
    the slice never move from their start vector (seeded per word, or the compass's with ``init="compass"``)."""
    compass, cfg = models.compass, models.config
    if cfg.init == "compass":
        syn0 = compass.wv.vectors.astype(np.float32, copy=True)
    else:
        syn0 = word_seeded_vectors(compass.wv.index_to_key, cfg.vector_size, cfg.seed)
    kv = models.vectors[name]
    syn0[[compass.wv.key_to_index[w] for w in kv.index_to_key]] = kv.vectors
    return syn0


def model_counts(models: SliceModels, name: str | None) -> np.ndarray:
    """Word counts over the compass vocabulary: slice ``name``'s (its negatives) or, for None, the compass's."""
    wv = models.compass.wv
    if name is None:
        return np.array([wv.get_vecattr(w, "count") for w in wv.index_to_key], dtype=np.int64)
    c = models.counts[name]
    return np.array([c.get(w, 0) for w in wv.index_to_key], dtype=np.int64)


def twec_heldout(cade: SliceModels, test: Slices, seed: int = 0,
                 threads: int = 1) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """TWEC's held-out evaluation of negative-sampling CADE models (the ones whose shifts are reported).

    Each slice's held-out sentences are scored (:func:`score_sentences`) by every slice model and by the static
    compass, with the compass's frozen ``syn1neg`` and each model's own negative table. TWEC scores only models of
    one vocabulary (its code refuses others), so the words scored are those every slice model was trained on (the
    compass words present in every slice); other words are dropped, as gensim drops unknown words, and the table
    says what share of the held-out tokens was scored.
    *Posterior log probability* (MPLP) = log of the mean over the sentences of the posterior probability, under a
    uniform prior, of the slice the sentence came from (chance: log 1/#slices). *Normalised log-likelihood* (NLL) =
    the sentences' summed score under their own slice's model / the number of scored words; the compass's NLL on
    the same sentences is the reference a slice model should beat.

    Returns the per-slice table and, per slice, the per-sentence frame (``n_words``, ``ll_<model>`` for every slice
    model and the compass, ``posterior``) from which bootstrap intervals are drawn.
    """
    return twec_heldout_runs([cade], test, seed, threads)[0]


def twec_heldout_runs(runs: Sequence[SliceModels], test: Slices, seed: int = 0,
                      threads: int = 1) -> list[tuple[pd.DataFrame, dict[str, pd.DataFrame]]]:
    """:func:`twec_heldout` of several CADE runs (training seeds) on one compass: the compass scores each held-out
    sentence once, every run's slice models score it with the same draws; ``threads`` models score side by side."""
    cfg, compass = runs[0].config, run_compass(runs)

    def scorer(run: SliceModels | None, name: str | None):
        inputs = compass.wv.vectors if run is None else full_inputs(run, name)
        cum = sampling_tables(model_counts(run or runs[0], name), 0.0, cfg.ns_exponent)[1]
        return lambda enc: _score(inputs, compass.syn1neg, cum, enc, cfg.window, cfg.negative, seed)

    return heldout_runs(runs, test, scorer, threads)


def run_compass(runs: Sequence[SliceModels]):
    """The one compass of every run (a ValueError when a run has none or another)."""
    compass = runs[0].compass
    if compass is None or any(r.compass is not compass for r in runs):
        raise ValueError("the held-out evaluation needs CADE models with their compass (one compass for every run)")
    return compass


def heldout_runs(runs: Sequence[SliceModels], test: Slices, scorer, threads: int = 1) -> list:
    """Per run, TWEC's per-slice table and per-sentence frames: every held-out sentence scored by the compass
    (``scorer(None, None)``) and by each run's slice models (``scorer(run, name)``); a scorer returns a function of
    the encoded sentences giving one score per sentence. Scored words: those every slice model was trained on."""
    compass = run_compass(runs)
    names = runs[0].slices
    shared = set.intersection(*(set(r.vectors[n].key_to_index) for r in runs for n in names))
    index = {w: i for w, i in compass.wv.key_to_index.items() if w in shared}
    held = {n: [s for s in test.get(n, []) if any(t in index for t in s)] for n in names}
    held = {n: (sents, encode(sents, index)) for n, sents in held.items() if sents}
    models = {None: scorer(None, None)} | {(i, n): scorer(r, n) for i, r in enumerate(runs) for n in names}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        jobs = {(m, h): pool.submit(fn, enc) for m, fn in models.items() for h, (_, enc) in held.items()}
        scored = {k: j.result() for k, j in jobs.items()}
    return [_twec_tables(names, held, scored, i) for i in range(len(runs))]


def _twec_tables(names, held, scored, run) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """One run's per-slice table and per-sentence frames from the scores of every (model, held-out slice)."""
    rows, per_sentence = [], {}
    for i, name in enumerate(names):
        if name not in held:
            continue
        sents, (_, offsets) = held[name]
        df = pd.DataFrame({f"ll_{n}": scored[(run, n), name] for n in names} | {"ll_compass": scored[None, name]})
        df.insert(0, "n_words", np.minimum(np.diff(offsets), MAX_SENTENCE_LEN))
        ll = df[[f"ll_{n}" for n in names]].to_numpy()
        post = np.exp(ll - ll.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        df["posterior"] = post[:, i]
        per_sentence[name] = df
        rows.append({"slice": name, "sentences": len(df), "words": int(df["n_words"].sum()),
                     "scored_share": float(df["n_words"].sum() / sum(len(s) for s in sents)),
                     "posterior_log_probability": float(np.log(df["posterior"].mean())),
                     "chance_log_probability": float(np.log(1 / len(names))),
                     "nll_cade": float(df[f"ll_{name}"].sum() / df["n_words"].sum()),
                     "nll_compass": float(df["ll_compass"].sum() / df["n_words"].sum())})
    return pd.DataFrame(rows), per_sentence
