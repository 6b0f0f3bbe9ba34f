"""X2Static (Gupta & Jaggi 2021): a static word table trained CBOW-style with negative sampling against a
contextual encoder's sentence vectors.

:func:`train_x2static` learns the table from each sentence's mean token vector (the teacher) and the vocabulary
ids of its words; :class:`X2StaticStats` says what training did (updates per word, losses, why a small corpus
gives few contexts). The teacher's sentence means come from the corpus's single encoder pass
(:func:`embedlab.extract.context_pass`, kept in the embedding cache): X2Static's context vector does not depend on
the target word (as in the authors' released code), so it is computed once where the reference re-encodes every
batch. :func:`embedlab.extract.static_embeddings` runs it as its ``x2static`` method.

Speed: each batch's random draws (sentence order, subsampling, negatives) are made in Python exactly as before;
the step itself (gather the rows, score, clamped logistic loss, gradient per distinct row, sparse Adam) is one
fused Numba kernel (:func:`_step`) over both threads. It is deterministic whatever the thread count: scores are
independent per (target or negative), and each distinct row sums its gradient in the order the targets and
negatives come, as ``index_add_`` does. ``engine="torch"`` runs the same step as the original PyTorch loop, the
reference the kernel is tested against (same draws; float32 results within rounding of each other).
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Sequence

import numba
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
                   threads: int | None = None, return_stats: bool = False, min_median_updates: int = 10,
                   rows: np.ndarray | None = None, engine: str = "numba"):
    """X2Static (Gupta & Jaggi 2021): learn a ``[V, H]`` table whose rows score high against the context
    vector of sentences containing the word and low against it for negative samples.

    ``context_vectors[s]`` is sentence ``s``'s mean token vector from the encoder (any array: a memmap is read
    one batch at a time), ``targets[s]`` the vocabulary ids of its words; with ``rows``, target list ``s`` belongs to
    ``context_vectors[rows[s]]`` (e.g. a part of a corpus pass). Loss: clamped logistic loss on
    ``<c, e_target>`` plus on ``-<c, e_negative>`` for ``negatives`` samples drawn with probability proportional
    to ``sqrt(count)``; targets subsampled with threshold ``t`` against frequencies from ``counts`` (pass the
    full-corpus counts, as the reference does); sparse Adam (only the rows used in a batch move, as
    ``torch.optim.SparseAdam``), rows initialised uniformly in ``[-1/H, 1/H]``. Defaults are the paper's
    (:data:`X2STATIC_DEFAULTS`: 1 epoch, lr 0.001, 10 negatives, t = 5e-6, batches of 128 sentences).

    ``t`` is a relative-frequency threshold: a word is subsampled once its count exceeds about ``t`` x the corpus
    size, so it scales with the corpus by construction and needs no rescaling (the reference uses the same
    t = 5e-6 for every corpus). The learning rate is per Adam step and not rescaled either (as the reference);
    a small corpus gives fewer steps, which the update counts show.

    ``engine``: ``numba`` (the fused kernel on ``threads`` Numba threads, None: all; the same result at any count)
    or ``torch`` (the original loop on one torch thread, the reference). With ``return_stats`` returns
    ``(table, X2StaticStats)``; warns when the median word got fewer than ``min_median_updates`` positive updates.
    """
    if engine not in ("numba", "torch"):
        raise ValueError(f"unknown X2Static engine {engine!r}; allowed: numba, torch")
    before, before_nb = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(min(threads or numba.config.NUMBA_NUM_THREADS, numba.config.NUMBA_NUM_THREADS))
    try:
        table, stats = _x2static_loop(context_vectors, targets, vocab_size, counts, epochs, lr, negatives, t,
                                      batch_size, seed, progress, min_median_updates, rows, engine)
    finally:
        torch.set_num_threads(before)
        numba.set_num_threads(before_nb)
    if stats.low:
        warnings.warn(stats.message, stacklevel=2)
    return (table, stats) if return_stats else table


def _x2static_loop(context_vectors, targets, vocab_size, counts, epochs, lr, negatives, t, batch_size, seed,
                   progress, min_median_updates, rows=None, engine="numba") -> tuple[np.ndarray, X2StaticStats]:
    """The training loop of :func:`train_x2static`: sentences in a seeded random order, batches gathered from a
    CSR layout of the targets (no pass over every target per batch), each batch's step by ``engine``."""
    n_sent = len(targets) if rows is not None else len(context_vectors)
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
    step_fn = _torch_step if engine == "torch" else _numba_step(table, exp_avg, exp_avg_sq, negatives, batch_size,
                                                                int(lens.max(initial=0)))
    reject = _rejection_probs(counts, t)
    noise = torch.sqrt(torch.as_tensor(counts).clamp(min=0)).float()
    pos_updates = np.zeros(vocab_size, dtype=np.int64)
    neg_updates = np.zeros(vocab_size, dtype=np.int64)
    losses, step = [], 0
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
            b_rows = np.repeat(np.arange(len(batch)), b_lens)[sel]
            words = words[sel]
            n = len(words)
            c = np.asarray(context_vectors[batch if rows is None else rows[batch]], dtype=np.float32)
            neg = torch.multinomial(noise, negatives * n, replacement=True, generator=gen)
            step += 1
            size = lr * math.sqrt(1 - BETA2 ** step) / (1 - BETA1 ** step)
            loss_sum += step_fn(table, exp_avg, exp_avg_sq, c, b_rows, words, neg, size, negatives)
            loss_n += n
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


BETA1, BETA2, EPS, CLAMP = 0.9, 0.999, 1e-8, 20.0


def _torch_step(table, exp_avg, exp_avg_sq, c, b_rows, words, neg, size, negatives) -> float:
    """One batch as the original PyTorch loop: gather, score, clamped loss, ``index_add_`` gradient, sparse Adam
    (the reference for :func:`_step`). Returns the batch's loss summed over targets and negatives."""
    n, dim = len(words), table.shape[1]
    c = torch.from_numpy(c)[torch.from_numpy(b_rows)]
    ids = torch.cat([torch.from_numpy(words), neg])
    score = (table[ids].view(negatives + 1, n, dim) * c).sum(-1)          # [1 + negatives, n]
    signed = torch.cat([score[:1], -score[1:]]).clamp(-CLAMP, CLAMP)
    loss = float(torch.nn.functional.softplus(-signed).mean(1).sum()) * n
    live = (score.abs() < CLAMP).float()                                  # the clamp's zero gradient
    dscore = torch.cat([-torch.sigmoid(-score[:1]), torch.sigmoid(score[1:])]) * live / n
    uniq, inv = torch.unique(ids, return_inverse=True)
    grad = torch.zeros(len(uniq), dim).index_add_(0, inv, (dscore.unsqueeze(-1) * c).reshape(-1, dim))
    m = exp_avg[uniq].mul_(BETA1).add_(grad, alpha=1 - BETA1)
    v = exp_avg_sq[uniq].mul_(BETA2).addcmul_(grad, grad, value=1 - BETA2)
    exp_avg[uniq], exp_avg_sq[uniq] = m, v
    table[uniq] -= size * m / (v.sqrt() + EPS)
    return loss


def _numba_step(table, exp_avg, exp_avg_sq, negatives: int, batch_size: int, max_targets: int):
    """A step function running :func:`_step` on the tables' memory, with its work arrays allocated once."""
    vocab, dim = table.shape
    most = (negatives + 1) * batch_size * max(max_targets, 1)
    slot = np.full(vocab, -1, dtype=np.int64)
    work = {k: np.empty(most, dtype=dt) for k, dt in (("score", np.float32), ("dscore", np.float32),
                                                      ("loss", np.float64), ("uniq", np.int64), ("start", np.int64),
                                                      ("order", np.int64), ("of", np.int64))}
    grad = np.empty((0, dim), dtype=np.float32)
    arrays = tuple(x.numpy() for x in (table, exp_avg, exp_avg_sq))

    def step(table_, m_, v_, c, b_rows, words, neg, size, negatives_) -> float:
        nonlocal grad
        ids = np.concatenate([words, neg.numpy()])
        if len(ids) > len(work["score"]):
            for k, a in work.items():
                work[k] = np.empty(len(ids), dtype=a.dtype)
        if len(grad) < len(ids):
            grad = np.empty((len(ids), dim), dtype=np.float32)
        return _step(*arrays, c, b_rows.astype(np.int64), ids, len(words), np.float32(size), slot, grad,
                     *(work[k] for k in ("score", "dscore", "loss", "uniq", "start", "order", "of")))

    return step


@numba.njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _step(table, exp_avg, exp_avg_sq, c, b_rows, ids, n, size, slot, grad, score, dscore, loss, uniq, start, order,
          of):  # pragma: no cover - compiled
    """One X2Static batch, fused: ``ids`` are the ``n`` kept targets then ``negatives`` blocks of ``n`` negatives;
    position ``p`` scores ``table[ids[p]]`` against ``c[b_rows[p % n]]``. Scores, the clamped logistic loss and its
    derivative per position run in parallel; the distinct rows (in order of first use) get their gradient summed in
    position order (as ``index_add_``) and a sparse Adam step, in parallel over rows. ``slot`` (one entry per
    vocabulary row, -1) is restored on return. Returns the loss summed over positions."""
    p_all, dim = len(ids), table.shape[1]
    one, clamp, inv_n = np.float32(1.0), np.float32(CLAMP), np.float32(1.0) / np.float32(n)
    b1, b2, eps = np.float32(BETA1), np.float32(BETA2), np.float32(EPS)
    for p in numba.prange(p_all):
        row, ctx = table[ids[p]], c[b_rows[p % n]]
        s = np.float32(0.0)
        for h in range(dim):
            s += row[h] * ctx[h]
        score[p] = s
        sc = min(max(s, -clamp), clamp)
        if p < n:                                     # a target: loss softplus(-s), d/ds = -sigmoid(-s)
            loss[p] = math.log1p(math.exp(-sc))
            d = -one / (one + np.float32(math.exp(s)))
        else:                                         # a negative: loss softplus(s), d/ds = sigmoid(s)
            loss[p] = math.log1p(math.exp(sc))
            d = one / (one + np.float32(math.exp(-s)))
        dscore[p] = d * inv_n if abs(s) < clamp else np.float32(0.0)
    n_uniq = 0
    for p in range(p_all):                            # distinct rows in order of first use, positions grouped
        r = ids[p]
        if slot[r] < 0:
            slot[r] = n_uniq
            uniq[n_uniq] = r
            start[n_uniq] = 0
            n_uniq += 1
        of[p] = slot[r]
        start[slot[r]] += 1
    total = 0
    for u in range(n_uniq):
        k = start[u]
        start[u] = total
        total += k
    for p in range(p_all):
        u = of[p]
        order[start[u]] = p
        start[u] += 1
    for u in numba.prange(n_uniq):
        lo = start[u - 1] if u > 0 else 0
        g = grad[u]
        g[:] = 0.0
        for q in range(lo, start[u]):
            p = order[q]
            d, ctx = dscore[p], c[b_rows[p % n]]
            for h in range(dim):
                g[h] += d * ctx[h]
        r = uniq[u]
        row, m, v = table[r], exp_avg[r], exp_avg_sq[r]
        for h in range(dim):
            m[h] = m[h] * b1 + (one - b1) * g[h]
            v[h] = v[h] * b2 + (one - b2) * g[h] * g[h]
            row[h] -= size * m[h] / (math.sqrt(v[h]) + eps)
        slot[r] = -1
    out = 0.0
    for p in range(p_all):
        out += loss[p]
    return out
