"""CADE training: a gensim CBOW compass, then one model per slice trained against its frozen context matrix.

The reference implementation (TWEC/CADE) patches gensim 3.x; gensim 4 cannot freeze ``syn1neg``, so the
slice trainer below is our own Numba kernel. It mirrors gensim's CBOW negative-sampling step
(``w2v_fast_sentence_cbow_neg``: mean of the context vectors, the sigmoid table, skipped updates beyond
|x| >= 6, reduced windows, frequent-word subsampling, linear learning-rate decay) but never writes the
context matrix: it receives it as a read-only array, so a write would not even compile.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Mapping, Sequence

import numba
import numpy as np
from gensim.models import KeyedVectors, Word2Vec

from embedlab import progress as _progress

Slices = Mapping[str, Sequence[Sequence[str]]]
INITS = ("random", "compass")
_EXP_TABLE_SIZE, _MAX_EXP = 1000, 6.0
# gensim's table index is ``(x + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2)`` evaluated in C integer arithmetic:
# (1000 / 6) / 2 = 83, not 83.3 (so x is read slightly low); we use the same factor for training and scoring.
_TABLE_SCALE = float((_EXP_TABLE_SIZE // int(_MAX_EXP)) // 2)
_MODULO = np.uint64(281474976710655)
_MULT, _INC = np.uint64(25214903917), np.uint64(11)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Word2vec CBOW hyperparameters shared by the compass, the CADE slices and the baselines (CADE's defaults)."""

    vector_size: int = 100
    window: int = 5
    negative: int = 10
    epochs: int = 5            # compass and independent baselines
    slice_epochs: int = 5      # CADE slices
    alpha: float = 0.025
    min_alpha: float = 0.0001
    min_count: int = 5
    sample: float = 1e-3
    ns_exponent: float = 0.75
    init: str = "random"       # slice input vectors: "random" (seeded per word, as the reference) or "compass"
    hs: bool = False           # hierarchical softmax instead of negative sampling (the normalised-likelihood extra)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("vector_size", "window", "epochs", "slice_epochs", "min_count"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"training parameter {name} must be a positive integer, got {value!r}")
        if not isinstance(self.negative, (int, np.integer)) or self.negative < (0 if self.hs else 1):
            raise ValueError(f"training parameter negative must be a positive integer (0 allowed with hs), got {self.negative!r}")
        if not 0 < self.alpha <= 1 or not 0 <= self.min_alpha <= self.alpha:
            raise ValueError(f"need 0 < min_alpha <= alpha <= 1, got alpha={self.alpha!r}, min_alpha={self.min_alpha!r}")
        if self.sample < 0:
            raise ValueError(f"sample must be >= 0, got {self.sample!r}")
        if self.init not in INITS:
            raise ValueError(f"unknown slice init {self.init!r}; allowed: {', '.join(INITS)}")


def slice_counts(sentences: Sequence[Sequence[str]]) -> Counter:
    """Token counts of one slice."""
    return Counter(t for s in sentences for t in s)


def check_slices(slices: Slices, min_count: int = 1) -> dict[str, Counter]:
    """Validate slices (>= 2, none empty, some shared word) and return their token counts."""
    if not isinstance(slices, Mapping):
        raise ValueError(f"slices must be a mapping {{slice name: list of tokenized sentences}}, got {type(slices).__name__}")
    if len(slices) < 2:
        raise ValueError(f"CADE compares slices: need at least 2, got {len(slices)} ({', '.join(map(str, slices)) or 'none'})")
    counts = {}
    for name, sents in slices.items():
        if isinstance(sents, str) or (len(sents) and isinstance(sents[0], str)):
            raise ValueError(f"slice {name!r} must be a list of tokenized sentences (lists of strings), not strings")
        counts[name] = slice_counts(sents)
        if not counts[name]:
            raise ValueError(f"slice {name!r} is empty (no tokens); slices: "
                             + ", ".join(f"{k}={sum(slice_counts(v).values())}" for k, v in slices.items()))
    kept = [{w for w, n in c.items() if n >= min_count} for c in counts.values()]
    if not set.intersection(*kept):
        raise ValueError(f"the slices {list(slices)} share no word with at least {min_count} occurrences in each; "
                         "their vectors cannot be compared (lower min_count or check tokenization/language)")
    return counts


# --------------------------------------------------------------------------- compass and baselines (gensim)

def train_word2vec(sentences: Sequence[Sequence[str]], config: TrainingConfig, seed: int) -> Word2Vec:
    """A gensim 4 CBOW negative-sampling word2vec with ``config``'s settings (one worker: deterministic)."""
    kwargs = dict(vector_size=config.vector_size, window=config.window, negative=config.negative,
                  epochs=config.epochs, alpha=config.alpha, min_alpha=config.min_alpha, min_count=config.min_count,
                  sample=config.sample, ns_exponent=config.ns_exponent, sg=0, cbow_mean=1, hs=int(config.hs),
                  workers=1, seed=seed)
    if config.hs:
        kwargs["negative"] = 0
    return Word2Vec(sentences=[list(s) for s in sentences], **kwargs)


def train_compass(slices: Slices, config: TrainingConfig) -> Word2Vec:
    """The compass: CBOW word2vec on the concatenation of all slices."""
    return train_word2vec([s for sents in slices.values() for s in sents], config, seed=config.seed)


# --------------------------------------------------------------------------- frozen-context slice trainer

def encode(sentences: Sequence[Sequence[str]], key_to_index: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Sentences as one int32 array of vocabulary indices (unknown words dropped, as gensim does) plus offsets."""
    ids, offsets = [], [0]
    for s in sentences:
        ids.extend(key_to_index[t] for t in s if t in key_to_index)
        offsets.append(len(ids))
    return np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64)


def sampling_tables(counts: np.ndarray, sample: float, ns_exponent: float,
                    domain: int = 2 ** 31 - 1) -> tuple[np.ndarray, np.ndarray]:
    """gensim's subsampling thresholds (``sample_int``) and negative-sampling cumulative table for ``counts``."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if sample:
        threshold = sample * total
        with np.errstate(divide="ignore", invalid="ignore"):
            keep = np.where(counts > 0, (np.sqrt(counts / threshold) + 1) * (threshold / counts), 1.0)
        keep = np.minimum(keep, 1.0)
    else:
        keep = np.ones_like(counts)
    sample_int = (keep * (2 ** 32 - 1)).astype(np.uint32)
    power = counts ** ns_exponent
    cum_table = np.round(np.cumsum(power) / power.sum() * domain).astype(np.uint32)
    return sample_int, cum_table


def negative_guide(cum_table: np.ndarray, bits: int = 16) -> tuple[np.ndarray, int]:
    """A lookup table for negative sampling: ``guide[b]`` is the first index t with ``cum_table[t] > b << shift``,
    a lower bound of the sampled index for every draw x with ``x >> shift == b`` (about ``2 ** bits`` buckets)."""
    last = int(cum_table[-1])
    shift = max(0, last.bit_length() - bits)
    starts = np.arange((last >> shift) + 1, dtype=np.int64) << shift
    return np.searchsorted(cum_table, starts, side="right").astype(np.int64), shift


def _exp_table() -> np.ndarray:
    """gensim's precomputed sigmoid on [-6, 6) in 1000 steps."""
    x = np.exp((np.arange(_EXP_TABLE_SIZE) / _EXP_TABLE_SIZE * 2 - 1) * _MAX_EXP)
    return (x / (x + 1)).astype(np.float32)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _cbow_frozen(syn0, syn1, corpus, offsets, sample_int, cum_table, guide, guide_shift, codes, points, code_starts,
                 exp_table, window, negative, hs, epochs, alpha0, min_alpha, next_random):  # pragma: no cover - compiled
    """CBOW over ``epochs`` passes, updating ``syn0`` only (``syn1`` is read-only): negative sampling against
    ``syn1`` as ``syn1neg``, or (``hs``) hierarchical softmax against ``syn1`` as gensim's ``syn1`` with the
    compass's Huffman ``codes``/``points`` (word w's path is ``code_starts[w]:code_starts[w + 1]``).

    A negative for draw x is gensim's ``bisect_left(cum_table, x + 1)``, the first index with ``cum_table[t] > x``,
    found by a short forward scan from ``guide[x >> guide_shift]`` (see :func:`negative_guide`): the same word as
    the binary search, about twice as fast overall. A word's output units (its targets and labels) are drawn before
    any of them is read, in gensim's order, so their rows load while the dot products run; 2-D indexing keeps
    array views (and their reference counts) out of the inner loops. Same vectors as the plain loop, bit for bit."""
    size = syn0.shape[1]
    n_sent = offsets.shape[0] - 1
    max_len = 0
    for s in range(n_sent):
        max_len = max(max_len, offsets[s + 1] - offsets[s])
    buf = np.empty(max(max_len, 1), dtype=np.int32)
    neu1 = np.empty(size, dtype=np.float32)
    work = np.empty(size, dtype=np.float32)
    max_code = 1
    for w in range(code_starts.shape[0] - 1):
        max_code = max(max_code, code_starts[w + 1] - code_starts[w])
    tgt = np.empty(max(max_code, negative + 1), dtype=np.int64)
    lab = np.empty(max(max_code, negative + 1), dtype=np.float32)
    cum_last = np.uint64(cum_table[cum_table.shape[0] - 1])
    total = float(corpus.shape[0]) * epochs
    scale = np.float32(_TABLE_SCALE)
    done = 0
    trained = 0
    for _ in range(epochs):
        for s in range(n_sent):
            alpha = max(min_alpha, alpha0 - (alpha0 - min_alpha) * done / total)
            alpha32 = np.float32(alpha)
            n = 0
            for p in range(offsets[s], offsets[s + 1]):
                w = corpus[p]
                draw = next_random >> np.uint64(16)
                next_random = (next_random * _MULT + _INC) & _MODULO
                if np.uint64(sample_int[w]) < draw:
                    continue
                buf[n] = w
                n += 1
            done += offsets[s + 1] - offsets[s]
            trained += n
            for i in range(n):
                b = np.int64((next_random >> np.uint64(16)) % np.uint64(window))
                next_random = (next_random * _MULT + _INC) & _MODULO
                j = max(0, i - window + b)
                k = min(n, i + window + 1 - b)
                count = 0
                for d in range(size):
                    neu1[d] = 0.0
                for m in range(j, k):
                    if m != i:
                        count += 1
                        row = buf[m]
                        for d in range(size):
                            neu1[d] += syn0[row, d]
                if count == 0:
                    continue
                inv = np.float32(1.0 / count)
                for d in range(size):
                    neu1[d] *= inv
                    work[d] = 0.0
                word = buf[i]
                n_out = 0
                if hs:
                    for c in range(code_starts[word], code_starts[word + 1]):
                        tgt[n_out] = points[c]
                        lab[n_out] = np.float32(1.0) - np.float32(codes[c])
                        n_out += 1
                else:
                    tgt[0] = word
                    lab[0] = np.float32(1.0)
                    n_out = 1
                    for _neg in range(negative):
                        x = (next_random >> np.uint64(16)) % cum_last
                        target = guide[np.int64(x) >> guide_shift]
                        while cum_table[target] <= x:
                            target += 1
                        next_random = (next_random * _MULT + _INC) & _MODULO
                        if target != word:
                            tgt[n_out] = target
                            lab[n_out] = np.float32(0.0)
                            n_out += 1
                for u in range(n_out):
                    target = tgt[u]
                    f_dot = np.float32(0.0)
                    for d in range(size):
                        f_dot += neu1[d] * syn1[target, d]
                    if f_dot <= -_MAX_EXP or f_dot >= _MAX_EXP:
                        continue
                    g = (lab[u] - exp_table[int((f_dot + _MAX_EXP) * scale)]) * alpha32
                    for d in range(size):
                        work[d] += g * syn1[target, d]
                for m in range(j, k):
                    if m != i:
                        row = buf[m]
                        for d in range(size):
                            syn0[row, d] += work[d]
    return trained


def huffman_tables(model: Word2Vec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A hierarchical-softmax model's Huffman codes and inner-node points, flattened (word w: ``starts[w]:starts[w+1]``)."""
    if not model.hs:
        raise ValueError("the model was not trained with hierarchical softmax (hs=1): it has no Huffman tree")
    codes = model.wv.expandos["code"]
    points = model.wv.expandos["point"]
    starts = np.zeros(len(codes) + 1, dtype=np.int64)
    starts[1:] = np.cumsum([len(c) for c in codes])
    return (np.concatenate(codes).astype(np.uint8), np.concatenate(points).astype(np.int64), starts)


_NO_CODES = (np.zeros(1, dtype=np.uint8), np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))


def output_matrix(model: Word2Vec) -> np.ndarray:
    """The context (output) matrix a slice trains against: ``syn1`` (hierarchical softmax) or ``syn1neg``."""
    return model.syn1 if model.hs else model.syn1neg


def initial_vectors(n_words: int, size: int, seed: int) -> np.ndarray:
    """gensim 4's input-vector initialisation: uniform in [-1/size, 1/size) from ``default_rng(seed)``."""
    v = np.random.default_rng(seed).random((n_words, size), dtype=np.float32)
    return (v * 2.0 - 1.0) / size


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def word_seeded_vectors(words: Sequence[str], size: int, seed: int) -> np.ndarray:
    """Start vectors seeded by each word and ``seed`` alone (uniform in [-1/size, 1/size)), so a word starts from
    the same vector in every slice, as gensim 3 (``seeded_vector(word + str(seed))``, used by TWEC/CADE) did."""
    import hashlib

    keys = np.array([int.from_bytes(hashlib.blake2b(f"{w}\x00{seed}".encode("utf-8"), digest_size=8).digest(), "little")
                     for w in words], dtype=np.uint64)
    with np.errstate(over="ignore"):
        grid = keys[:, None] + np.arange(size, dtype=np.uint64)[None, :] * np.uint64(0xD1B54A32D192ED03)
        bits = _splitmix64(grid) >> np.uint64(40)                      # 24 random bits per coordinate
    u = bits.astype(np.float32) / np.float32(1 << 24)
    return ((u * 2.0 - 1.0) / size).astype(np.float32)


def train_frozen_context(syn0: np.ndarray, syn1neg: np.ndarray, sentences: Sequence[Sequence[str]],
                         key_to_index: Mapping[str, int], config: TrainingConfig, seed: int,
                         huffman: tuple | None = None) -> int:
    """Train input vectors ``syn0`` in place against the frozen context matrix ``syn1neg`` (with ``huffman``, the
    compass's (codes, points, starts) from :func:`huffman_tables`: its hierarchical-softmax ``syn1``); returns
    words trained. Negative samples and subsampling follow the slice's own counts (as the reference's per-slice
    gensim model)."""
    if syn0.shape != syn1neg.shape or syn0.dtype != np.float32 or not syn0.flags.c_contiguous:
        raise ValueError(f"syn0 must be C-contiguous float32 with syn1neg's shape {syn1neg.shape}, got {syn0.shape} {syn0.dtype}")
    if config.hs and huffman is None:
        raise ValueError("hierarchical softmax (hs=True) needs the compass's Huffman tables (huffman=...)")
    corpus, offsets = encode(sentences, key_to_index)
    if corpus.size == 0:
        raise ValueError("the slice has no word of the compass vocabulary: nothing to train")
    counts = np.bincount(corpus, minlength=len(syn0))
    sample_int, cum_table = sampling_tables(counts, config.sample, config.ns_exponent)
    frozen = np.ascontiguousarray(syn1neg, dtype=np.float32).view()
    frozen.flags.writeable = False        # numba types it read-only: the kernel cannot write it
    codes, points, starts = huffman if config.hs else _NO_CODES
    start = np.uint64(seed) * np.uint64(2654435761) + np.uint64(1)
    guide, guide_shift = negative_guide(cum_table)
    return int(_cbow_frozen(syn0, frozen, corpus, offsets, sample_int, cum_table, guide, guide_shift, codes, points,
                            starts, _exp_table(), config.window, config.negative, bool(config.hs), config.slice_epochs,
                            config.alpha, config.min_alpha, start & _MODULO))


def train_slice(sentences: Sequence[Sequence[str]], compass: Word2Vec, config: TrainingConfig, seed: int) -> KeyedVectors:
    """One CADE slice: input vectors for the compass words that occur in the slice, trained on the frozen compass.

    Start vectors: the compass's own (``init="compass"``) or seeded per word by ``config.seed`` (``"random"``), so
    every slice starts a word from the same vector, as gensim 3 did for TWEC/CADE; ``seed`` drives the slice's
    sampling (subsampling, windows, negatives)."""
    vocab = compass.wv.key_to_index
    if config.init == "compass":
        syn0 = compass.wv.vectors.astype(np.float32, copy=True)
    else:
        syn0 = word_seeded_vectors(compass.wv.index_to_key, config.vector_size, config.seed)
    huffman = huffman_tables(compass) if config.hs else None
    train_frozen_context(syn0, output_matrix(compass), sentences, vocab, config, seed, huffman=huffman)
    present = slice_counts(sentences)
    keep = [w for w in compass.wv.index_to_key if present.get(w, 0) > 0]
    kv = KeyedVectors(config.vector_size, dtype=np.float32)
    kv.add_vectors(keep, syn0[[vocab[w] for w in keep]])
    return kv


# --------------------------------------------------------------------------- the three methods' models

METHODS = ("cade", "procrustes", "unaligned")


@dataclasses.dataclass
class SliceModels:
    """Per-slice word vectors of one method, with each slice's token counts (and the compass for CADE)."""

    method: str
    vectors: dict[str, KeyedVectors]
    counts: dict[str, Counter]
    config: TrainingConfig
    compass: Word2Vec | None = None
    models: dict[str, Word2Vec] | None = None   # the independent gensim models (baselines)
    cache: dict = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)  # e.g. rotations

    @property
    def slices(self) -> list[str]:
        """Slice names in order."""
        return list(self.vectors)

    def as_method(self, method: str) -> "SliceModels":
        """The same vectors viewed as another method (independent models: 'unaligned' or 'procrustes')."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
        if (method == "cade") != (self.method == "cade"):
            raise ValueError(f"{self.method} vectors cannot be viewed as {method}: CADE and independent models differ")
        return dataclasses.replace(self, method=method)


def train_cade(slices: Slices, config: TrainingConfig = TrainingConfig(), progress: bool = True,
               threads: int = 1) -> SliceModels:
    """Compass on all slices, then one frozen-context model per slice (CADE)."""
    return train_all(slices, config, progress, threads, methods=("cade",))["cade"]


def train_independent(slices: Slices, config: TrainingConfig = TrainingConfig(), progress: bool = True,
                      threads: int = 1) -> SliceModels:
    """One independently trained word2vec per slice (the unaligned baseline; Procrustes aligns them pairwise)."""
    return train_all(slices, config, progress, threads, methods=("unaligned",))["unaligned"]


def train_all(slices: Slices, config: TrainingConfig = TrainingConfig(), progress: bool = True, threads: int = 1,
              methods: Sequence[str] = METHODS, compass: Word2Vec | None = None,
              counts: Mapping[str, Counter] | None = None) -> dict[str, SliceModels]:
    """CADE, Procrustes-aligned and unaligned models of the same slices, keyed by method.

    Every model trains single-threaded from its own seed (compass: ``seed``; slice i: ``seed + 1 + i``), so
    ``threads`` > 1 only runs independent models side by side (gensim and the Numba kernel release the GIL):
    the vectors are identical whatever ``threads`` is. A given ``compass`` (trained on these slices) is reused
    instead of training one, given ``counts`` (:func:`check_slices` of these slices) instead of counting again.
    """
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; allowed: {', '.join(METHODS)}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads!r}")
    counts = check_slices(slices, config.min_count) if counts is None else counts
    names = list(slices)
    want_cade = "cade" in methods
    want_indep = any(m != "cade" for m in methods)
    total = (len(names) + (compass is None)) * want_cade + len(names) * want_indep
    bar = _Counter(total, "training compass, slices, baselines" + (" (hierarchical softmax)" if config.hs else ""),
                   progress)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        submit = lambda fn, *args: _tracked(pool.submit(fn, *args), bar)
        compass_job = submit(train_compass, slices, config) if want_cade and compass is None else None
        indep_jobs = {n: submit(train_word2vec, slices[n], config, config.seed + 1 + i)
                      for i, n in enumerate(names)} if want_indep else {}
        out = {}
        if want_cade:
            compass = compass if compass_job is None else compass_job.result()
            jobs = {n: submit(train_slice, slices[n], compass, config, config.seed + 1 + i) for i, n in enumerate(names)}
            out["cade"] = SliceModels("cade", {n: j.result() for n, j in jobs.items()}, counts, config, compass=compass)
        if want_indep:
            models = {n: j.result() for n, j in indep_jobs.items()}
            independent = SliceModels("unaligned", {n: m.wv for n, m in models.items()}, counts, config, models=models)
            out.update({m: independent.as_method(m) for m in methods if m != "cade"})
    return {m: out[m] for m in methods}


def train_seeds(slices: Slices, config: TrainingConfig, seeds: Sequence[int], progress: bool = True,
                threads: int = 1, methods: Sequence[str] = METHODS,
                compass: Word2Vec | str | None = None) -> list[dict[str, SliceModels]]:
    """:func:`train_all` once per training seed (``config.seed`` replaced by each of ``seeds``), keyed by method.

    ``compass``: None trains one per seed; ``"shared"`` trains it once (first seed) and trains every seed's slices
    on it; a model is reused for every seed."""
    share = isinstance(compass, str)
    if share and compass != "shared":
        raise ValueError(f"compass must be None, 'shared' or a trained compass, got {compass!r}")
    given = None if share else compass
    counts = check_slices(slices, config.min_count) if len(seeds) else {}
    out = []
    for s in seeds:
        out.append(train_all(slices, dataclasses.replace(config, seed=int(s)), progress, threads, methods, given,
                             counts))
        if share and given is None and "cade" in methods:
            given = out[0]["cade"].compass
    return out


class _Counter:
    """Finished-model count for the runner's progress log (never drawn in a report)."""

    def __init__(self, total: int, desc: str, on: bool):
        self.total, self.desc, self.on, self.done = total, desc, on, 0

    def update(self) -> None:
        self.done += 1
        if self.on:
            _progress.log(f"{self.desc}: {self.done}/{self.total} models")


def _tracked(job: Future, bar) -> Future:
    """Advance the progress bar when ``job`` finishes."""
    job.add_done_callback(lambda _: bar.update())
    return job
