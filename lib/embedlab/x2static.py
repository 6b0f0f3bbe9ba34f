"""X2Static (Gupta & Jaggi 2021): a static word table trained CBOW-style with negative sampling against a
contextual encoder's sentence vectors.

:func:`train_x2static` learns the table from each sentence's mean token vector (the teacher) and the vocabulary
ids of its words; :class:`X2StaticStats` says what training did (updates per word, losses, why a small corpus
gives few contexts). The teacher's sentence means come from :func:`embedlab.extract.encode_contexts`'s single
pass and are kept in an ``np.memmap`` (:func:`teacher_means`), reusable across epochs and runs: X2Static's
context vector does not depend on the target word (as in the authors' released code), so it is computed once
where the reference re-encodes every batch. :func:`embedlab.extract.static_embeddings` runs it as its
``x2static`` method.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from .progress import bar as progress_bar

# Gupta & Jaggi (2021), released code and README ("same hyperparameters as the paper").
X2STATIC_DEFAULTS = dict(epochs=1, lr=1e-3, negatives=10, t=5e-6, batch_size=128, seed=0, min_median_updates=10)


def x2static_options(overrides: dict | None = None) -> dict:
    """:data:`X2STATIC_DEFAULTS` with ``overrides``; an unknown option is a ValueError naming the allowed ones."""
    x2 = {**X2STATIC_DEFAULTS, **(overrides or {})}
    unknown = set(x2) - set(X2STATIC_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown X2Static option(s) {sorted(unknown)}; allowed: {', '.join(X2STATIC_DEFAULTS)}")
    return x2


@dataclasses.dataclass
class X2StaticStats:
    """What X2Static training did: per word, positive updates (times it was a kept target) and negative
    updates (times it was drawn as a negative); the mean clamped logistic loss per epoch; the median positive
    update count over words with at least one occurrence, and whether it is below ``min_median_updates``
    (``low``; ``message`` says so). ``subsample_count`` is the corpus count above which targets start to be
    dropped (``t`` x corpus tokens of vocabulary words)."""

    updates: np.ndarray
    negative_updates: np.ndarray
    losses: list[float]
    median_updates: float
    min_median_updates: int
    subsample_count: float
    n_sentences: int
    epochs: int
    #: per word, the number of distinct corpus sentences holding it (the contexts X2Static can learn it from)
    sentences_per_word: np.ndarray | None = None
    t: float | None = None
    #: per word, its corpus count (the frequencies subsampling and negatives use)
    counts: np.ndarray | None = None

    @property
    def updated(self) -> np.ndarray:
        """True for words that received at least one positive update (the words X2Static keeps)."""
        return self.updates > 0

    @property
    def low(self) -> bool:
        return self.median_updates < self.min_median_updates

    @property
    def message(self) -> str:
        return (f"X2Static: the median word got {self.median_updates:g} positive updates in {self.epochs} epoch(s) "
                f"over {self.n_sentences} sentences (warning below {self.min_median_updates}); "
                f"{int((~self.updated).sum())} word(s) got none and are dropped")

    @property
    def explanation(self) -> str:
        """Why X2Static may trail the encoder-only methods at this corpus size, built from this run's numbers:
        a word's vector is learned only from the teacher's mean vectors of the sentences holding it, so what
        bounds it is the number of distinct sentences per word (more epochs repeat the same few contexts), set
        against the reference's regime (one epoch over a Wikipedia dump, vocabulary words seen >= 10 times)."""
        spw = self.sentences_per_word
        if spw is None or not (spw > 0).any():
            return self.message
        seen = spw[spw > 0]
        occurring = spw > 0
        median_s = float(np.median(seen))
        few = float((seen < 10).mean())
        text = (f"X2Static learns a word only from the teacher's mean vectors of the sentences holding it: here the "
                f"median vocabulary word is in {median_s:g} of {self.n_sentences:,} sentences ({few:.0%} of words are "
                f"in fewer than 10) and got {float(np.median(self.updates[occurring])):g} positive updates in "
                f"{self.epochs} epoch(s)")
        if self.t is not None:
            text += f" (t = {self.t:g}: subsampling starts at {self.subsample_count:.3g} occurrences"
            if self.counts is not None:
                text += f", which {float((self.counts[occurring] > self.subsample_count).mean()):.0%} of these words exceed"
            text += ")"
        return (text + ". The reference trains one epoch over a Wikipedia dump keeping words seen at least 10 "
                f"times, so each vector averages many contexts; with about {median_s:g} contexts a word's vector "
                "mostly reflects the topics of its few sentences, and more epochs repeat the same contexts.")


def _rejection_probs(counts: np.ndarray, t: float) -> np.ndarray:
    """X2Static's subsampling: drop a target with probability ``1 - min(1, sqrt(t/f) + t/f)``, ``f`` its share of
    all vocabulary-word tokens of the corpus."""
    f = counts / max(counts.sum(), 1)
    with np.errstate(divide="ignore"):
        keep = np.where(f > 0, np.minimum(1.0, np.sqrt(t / f) + t / f), 1.0)
    return 1.0 - keep


def train_x2static(context_vectors: torch.Tensor | np.ndarray, targets: Sequence[Sequence[int]], vocab_size: int,
                   counts: np.ndarray | None = None, epochs: int = 1, lr: float = 1e-3, negatives: int = 10,
                   t: float = 5e-6, batch_size: int = 128, seed: int = 0, progress: bool = True,
                   threads: int = 1, return_stats: bool = False, min_median_updates: int = 10):
    """X2Static (Gupta & Jaggi 2021): learn a ``[V, H]`` table whose rows score high against the context
    vector of sentences containing the word and low against it for negative samples.

    ``context_vectors[s]`` is sentence ``s``'s mean token vector from the encoder (any array: a memmap is read
    one batch at a time), ``targets[s]`` the vocabulary ids of its words. Loss: clamped logistic loss on
    ``<c, e_target>`` plus on ``-<c, e_negative>`` for ``negatives`` samples drawn with probability proportional
    to ``sqrt(count)``; targets subsampled with threshold ``t`` against frequencies from ``counts`` (pass the
    full-corpus counts, as the reference does); sparse Adam (only the rows used in a batch move, as
    ``torch.optim.SparseAdam``), rows initialised uniformly in ``[-1/H, 1/H]``. Defaults are the paper's
    (:data:`X2STATIC_DEFAULTS`: 1 epoch, lr 0.001, 10 negatives, t = 5e-6, batches of 128 sentences).

    ``t`` is a relative-frequency threshold: a word is subsampled once its count exceeds about ``t`` x the corpus
    size, so it scales with the corpus by construction and needs no rescaling (the reference uses the same
    t = 5e-6 for every corpus). The learning rate is per Adam step and not rescaled either (as the reference);
    a small corpus gives fewer steps, which the update counts show.

    Hand-written gradient and update (the loss is a dot product): autograd with sparse embeddings spent most
    of its time coalescing one gradient row per use of a word. Runs on ``threads`` torch threads (one is
    faster for these small operations, and bit-reproducible). With ``return_stats`` returns
    ``(table, X2StaticStats)``; warns when the median word got fewer than ``min_median_updates`` positive updates.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        table, stats = _x2static_loop(context_vectors, targets, vocab_size, counts, epochs, lr, negatives, t,
                                      batch_size, seed, progress, min_median_updates)
    finally:
        torch.set_num_threads(before)
    if stats.low:
        warnings.warn(stats.message, stacklevel=2)
    return (table, stats) if return_stats else table


def _x2static_loop(context_vectors, targets, vocab_size, counts, epochs, lr, negatives, t, batch_size, seed,
                   progress, min_median_updates) -> tuple[np.ndarray, X2StaticStats]:
    """The training loop of :func:`train_x2static`: sentences in a seeded random order, batches gathered from a
    CSR layout of the targets (no pass over every target per batch)."""
    n_sent = len(context_vectors)
    if n_sent != len(targets) or n_sent == 0:
        raise ValueError(f"need one target list per context vector; got {n_sent} vectors, {len(targets)} lists")
    lens = np.fromiter((len(t_) for t_ in targets), dtype=np.int64, count=n_sent)
    offsets = np.r_[0, np.cumsum(lens)]
    word_ids = np.fromiter((v for t_ in targets for v in t_), dtype=np.int64, count=int(offsets[-1]))
    if counts is None:
        counts = np.bincount(word_ids, minlength=vocab_size)
    counts = np.asarray(counts, dtype=np.float64)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    dim = int(np.asarray(context_vectors[0]).shape[-1])
    table = torch.empty(vocab_size, dim).uniform_(-1.0 / dim, 1.0 / dim, generator=gen)
    exp_avg, exp_avg_sq = torch.zeros_like(table), torch.zeros_like(table)
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    reject = _rejection_probs(counts, t)
    noise = torch.sqrt(torch.as_tensor(counts).clamp(min=0)).float()
    pos_updates = np.zeros(vocab_size, dtype=np.int64)
    neg_updates = np.zeros(vocab_size, dtype=np.int64)
    losses = []
    n_batches = math.ceil(n_sent / batch_size)
    ticker = iter(progress_bar(range(epochs * n_batches), desc="X2Static", total=epochs * n_batches, unit="batch")
                  ) if progress else None
    for _ in range(epochs):
        order = rng.permutation(n_sent)
        loss_sum, loss_n = 0.0, 0
        for start in range(0, n_sent, batch_size):
            if ticker is not None:
                next(ticker, None)
            batch = np.sort(order[start:start + batch_size])
            b_lens = lens[batch]
            total = int(b_lens.sum())
            if total == 0:
                continue
            first = np.repeat(offsets[batch] - np.r_[0, np.cumsum(b_lens)[:-1]], b_lens)
            occ = first + np.arange(total)
            words = word_ids[occ]
            sel = rng.random(total) >= reject[words]
            if not sel.any():
                continue
            rows = np.repeat(np.arange(len(batch)), b_lens)[sel]
            words = words[sel]
            n = len(words)
            c = torch.from_numpy(np.asarray(context_vectors[batch], dtype=np.float32))[torch.from_numpy(rows)]
            neg = torch.multinomial(noise, negatives * n, replacement=True, generator=gen)
            ids = torch.cat([torch.from_numpy(words), neg])
            score = (table[ids].view(negatives + 1, n, dim) * c).sum(-1)          # [1 + negatives, n]
            signed = torch.cat([score[:1], -score[1:]]).clamp(-20, 20)
            loss_sum += float(torch.nn.functional.softplus(-signed).mean(1).sum()) * n
            loss_n += n
            live = (score.abs() < 20).float()                                   # the clamp's zero gradient
            dscore = torch.cat([-torch.sigmoid(-score[:1]), torch.sigmoid(score[1:])]) * live / n
            uniq, inv = torch.unique(ids, return_inverse=True)
            grad = torch.zeros(len(uniq), dim).index_add_(0, inv, (dscore.unsqueeze(-1) * c).reshape(-1, dim))
            step += 1
            m = exp_avg[uniq].mul_(beta1).add_(grad, alpha=1 - beta1)
            v = exp_avg_sq[uniq].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            exp_avg[uniq], exp_avg_sq[uniq] = m, v
            size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
            table[uniq] -= size * m / (v.sqrt() + eps)
            pos_updates += np.bincount(words, minlength=vocab_size)
            neg_updates += np.bincount(neg.numpy(), minlength=vocab_size)
        losses.append(loss_sum / max(loss_n, 1))
    if ticker is not None:
        for _ in ticker:
            pass
    occurring = counts > 0
    median = float(np.median(pos_updates[occurring])) if occurring.any() else 0.0
    sent_of = np.repeat(np.arange(n_sent, dtype=np.int64), lens)
    pairs = np.unique(sent_of * vocab_size + word_ids)                  # distinct (sentence, word)
    per_word = np.bincount(pairs % vocab_size, minlength=vocab_size)
    stats = X2StaticStats(pos_updates, neg_updates, losses, median, int(min_median_updates),
                          float(t * counts.sum()), n_sent, int(epochs), per_word, float(t), counts)
    return table.numpy().copy(), stats


# --------------------------------------------------------------------------- the teacher's sentence means

def teacher_cache_key(encoder, layers: Sequence[int], sentences: Sequence[Sequence[str]], max_length: int,
                      lowercase: bool, language: str) -> str:
    """A content hash of what the teacher's sentence means depend on (``encoder``: its ``name`` and ``source``)."""
    h = hashlib.sha256()
    h.update(json.dumps([encoder.name, encoder.source, list(layers), max_length, lowercase, language]).encode())
    for s in sentences:
        h.update("\u241f".join(s).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:24]


@contextlib.contextmanager
def teacher_means(shape: tuple[int, int, int], key: str, cache_dir=None, meta: dict | None = None
                  ) -> Iterator[tuple[np.ndarray, bool, Callable[[], None]]]:
    """The teacher's sentence means ``[L, S, H]`` as a float32 ``np.memmap``: yields ``(means, cached, seal)``.

    Under ``cache_dir`` the file is kept: a complete one with the same ``key`` and shape is reused (``cached``
    true, read-only), else a new one is written and ``seal()`` flushes it and marks it complete (with ``meta``).
    Without ``cache_dir`` it lives in a temporary directory removed on exit (``seal()`` only flushes).
    """
    with contextlib.ExitStack() as stack:
        if cache_dir is not None:
            folder = Path(cache_dir)
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="embedlab-x2static-")))
        path = folder / f"x2static-teacher-{key}.f32"
        done = folder / f"x2static-teacher-{key}.json"
        if cache_dir is not None and path.exists() and done.exists() and \
                json.loads(done.read_text())["shape"] == list(shape):
            yield np.memmap(path, dtype=np.float32, mode="r", shape=shape), True, lambda: None
        else:
            means = np.memmap(path, dtype=np.float32, mode="w+", shape=shape)

            def seal() -> None:
                means.flush()
                if cache_dir is not None:
                    done.write_text(json.dumps({"shape": list(shape), **(meta or {})}))

            yield means, False, seal
