"""Static word vectors from a contextual encoder, every method ending as gensim ``KeyedVectors``.

Methods (:data:`METHODS`), each at any layer (0 = input embeddings .. ``n_layers``; negative indices
count from the end, ``-1`` = last):

* ``decontext-cls`` / ``decontext-mean``: the word alone through the encoder (``[CLS] word [SEP]``),
  its [CLS] vector (what the Turkish and Hungarian papers' code does) or the mean of its subword vectors;
* ``aggregate-cls``: the mean of the sentence [CLS] vectors of up to ``max_contexts`` sentences that
  contain the word (the Turkish/Hungarian papers' code averages over all such sentences);
* ``aggregate-subword``: the mean over up to ``max_contexts`` occurrences of the word's own pooled
  (mean) subword vectors (Bommasani et al. 2020);
* ``input-layer``: the mean of the word's subword rows of the input embedding matrix (the Marathi
  paper's "first layer"; no forward pass, no layer);
* ``x2static``: a static table trained CBOW-style with negative sampling against the encoder's
  context vectors (Gupta & Jaggi 2021, :func:`train_x2static`).

Efficiency: words alone and sentences each go through :func:`embedlab.encoders.hidden_state_batches`
(batched, length-sorted, ``torch.inference_mode``, all requested layers from one forward pass); every
sampled sentence is encoded once and all its words are pooled from that pass, aligned to subwords with
the fast tokenizer's ``word_ids()``. The aggregate methods and X2Static share that one pass (X2Static's
context vectors do not depend on the target word, as in the authors' released code, so they are
cached and reused across epochs). No instruction prefix (e5's ``query: ``) is added: the input is the
word or the sentence itself.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np
import torch
from gensim.models import KeyedVectors

from .choices import check_names
from .encoders import Encoder, hidden_state_batches, pool

METHODS = {
    "decontext-cls": "the word alone; [CLS] vector",
    "decontext-mean": "the word alone; mean of its subword vectors",
    "aggregate-cls": "mean [CLS] vector of sentences containing the word",
    "aggregate-subword": "mean over contexts of the word's pooled subword vectors (Bommasani et al. 2020)",
    "input-layer": "mean of the word's subword input embeddings",
    "x2static": "CBOW-style table trained on the encoder's context vectors (Gupta & Jaggi 2021)",
}
LAYERLESS = ("input-layer",)
CONTEXT_METHODS = ("aggregate-cls", "aggregate-subword", "x2static")

# Gupta & Jaggi (2021), released code and README ("same hyperparameters as the paper").
X2STATIC_DEFAULTS = dict(epochs=1, lr=1e-3, negatives=10, t=5e-6, batch_size=128, seed=0)


def check_methods(methods: Sequence[str]) -> list[str]:
    """Validate method names against :data:`METHODS`."""
    return check_names("extraction method(s)", methods, METHODS, nonempty=True)


def resolve_layers(encoder: Encoder, layers: Sequence[int]) -> list[int]:
    """Layer indices with negatives counted from the end (``-1`` = last); out of range raises ValueError."""
    n = encoder.n_layers
    out = []
    for layer in layers:
        layer = int(layer)
        if not -(n + 1) <= layer <= n:
            raise ValueError(f"layer {layer} out of range for {encoder.name}: allowed 0 (input embeddings) to {n} "
                             f"(last Transformer layer), or -1 to -{n + 1} counted from the end")
        out.append(layer + n + 1 if layer < 0 else layer)
    if not out:
        raise ValueError(f"no layers given; allowed 0 to {n} for {encoder.name}")
    return list(dict.fromkeys(out))


def embedding_name(encoder: Encoder | str, method: str, layer: int | None = None) -> str:
    """The name a static embedding from an encoder gets in tables: ``e5-small/aggregate-cls@12``."""
    enc = encoder if isinstance(encoder, str) else encoder.name
    return f"{enc}/{method}" if method in LAYERLESS else f"{enc}/{method}@{layer}"


def _keyed(words: Sequence[str], vectors: np.ndarray, keep: np.ndarray | None = None) -> KeyedVectors:
    """KeyedVectors over ``words`` (only those with ``keep`` true and a non-zero vector)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    ok = np.linalg.norm(vectors, axis=1) > 0
    if keep is not None:
        ok &= keep
    kv = KeyedVectors(vector_size=vectors.shape[1])
    if ok.any():
        kv.add_vectors([w for w, k in zip(words, ok) if k], vectors[ok])
    return kv


def _word_token_mask(batch, n_rows: int) -> torch.Tensor:
    """``[B, T]`` true where a token belongs to a word (not a special or padding token)."""
    return torch.tensor([[w is not None for w in batch.word_ids(i)] for i in range(n_rows)], dtype=torch.bool)


# --------------------------------------------------------------------------- decontextualized and input layer

def decontextualized(encoder: Encoder, words: Sequence[str], layers: Sequence[int], batch_size: int = 256,
                     progress: bool = True) -> dict[str, np.ndarray]:
    """Each word alone through the encoder: ``{"cls": [L, V, H], "mean": [L, V, H]}`` from one pass per batch."""
    layers = resolve_layers(encoder, layers)
    cls = np.zeros((len(layers), len(words), encoder.dim), dtype=np.float32)
    mean = np.zeros_like(cls)
    for idx, batch, states in hidden_state_batches(encoder, list(words), layers, batch_size, max_length=32,
                                                   progress=progress, desc="words alone"):
        in_word = _word_token_mask(batch, len(idx))
        cls[:, idx] = states[:, :, 0].float().numpy()
        mean[:, idx] = pool(states, batch["attention_mask"] * in_word, "mean").float().numpy()
    return {"cls": cls, "mean": mean}


def input_layer(encoder: Encoder, words: Sequence[str]) -> np.ndarray:
    """Mean of each word's subword rows of the input embedding matrix: ``[V, H]`` (no forward pass)."""
    ids = encoder.tokenizer(list(words), add_special_tokens=False)["input_ids"]
    flat = torch.tensor([i for seq in ids for i in seq], dtype=torch.long)
    offsets = torch.tensor(np.concatenate([[0], np.cumsum([len(s) for s in ids])[:-1]]), dtype=torch.long)
    weight = encoder.model.get_input_embeddings().weight
    with torch.inference_mode():
        out = torch.nn.functional.embedding_bag(flat.to(weight.device), weight, offsets.to(weight.device), mode="mean")
    return out.float().cpu().numpy()


# --------------------------------------------------------------------------- contexts: one pass

@dataclasses.dataclass
class ContextSample:
    """Sentences chosen to give each vocabulary word up to ``max_contexts`` contexts.

    ``occurrences[s]`` lists the ``(word position, vocabulary id)`` pairs of sentence ``s`` used as
    contexts; ``targets[s]`` the vocabulary ids of all its vocabulary words (X2Static's targets).
    """

    sentences: list[list[str]]
    occurrences: list[list[tuple[int, int]]]
    targets: list[list[int]]
    counts: np.ndarray
    vocab: list[str]

    @property
    def n_words_covered(self) -> int:
        """Vocabulary words with at least one context."""
        return int((self.counts > 0).sum())


def _cover_order(sentences: Sequence[Sequence[str]], index: Mapping[str, int], max_words: int,
                 rank: np.ndarray) -> list[int]:
    """Sentences in greedy set-cover order: each next one adds the most not-yet-covered vocabulary words
    per token (lazy greedy with a heap; ties broken by the seeded ``rank``). Stops when all are covered."""
    import heapq

    types = [{index[w] for w in s[:max_words] if w in index} for s in sentences]
    cost = [min(len(s), max_words) + 2 for s in sentences]
    heap = [(-len(t) / cost[i], rank[i], i) for i, t in enumerate(types) if t]
    heapq.heapify(heap)
    covered: set[int] = set()
    order = []
    while heap:
        _, r, i = heapq.heappop(heap)
        gain = len(types[i] - covered)
        if gain == 0:
            continue
        if heap and -gain / cost[i] > heap[0][0]:       # stale priority: push back with the true one
            heapq.heappush(heap, (-gain / cost[i], r, i))
            continue
        order.append(i)
        covered |= types[i]
    return order


def select_contexts(sentences: Sequence[Sequence[str]], vocab: Sequence[str], max_contexts: int = 5,
                    max_sentences: int | None = None, max_words: int = 64, seed: int = 0) -> ContextSample:
    """Pick sentences so that each vocabulary word gets up to ``max_contexts`` contexts, within
    ``max_sentences`` sentences.

    First every word gets one context, with as few tokens as possible (greedy set cover: the sentence
    adding the most uncovered words per token first); then sentences in a seeded random order are added
    while they give some word one of its first ``max_contexts`` contexts. Sentences are cut to
    ``max_words`` words. Hand-written: no library samples contexts per word under a budget.
    """
    if max_contexts < 1:
        raise ValueError(f"max_contexts must be >= 1, got {max_contexts}")
    index = {w: i for i, w in enumerate(vocab)}
    counts = np.zeros(len(vocab), dtype=np.int64)
    rng = np.random.default_rng(seed)
    rank = rng.permutation(len(sentences))
    chosen: dict[int, list[tuple[int, int]]] = {}
    limit = max_sentences or len(sentences)
    for need, order in ((1, _cover_order(sentences, index, max_words, rank)), (max_contexts, np.argsort(rank))):
        for s in order:
            if len(chosen) >= limit:
                break
            if s in chosen:
                continue
            hits = [(j, index[w]) for j, w in enumerate(sentences[s][:max_words]) if w in index]
            if not any(counts[v] < need for _, v in hits):
                continue
            used = []
            for j, v in hits:
                if counts[v] < max_contexts:
                    counts[v] += 1
                    used.append((j, v))
            chosen[int(s)] = used
    ids = sorted(chosen)
    sents = [list(sentences[s][:max_words]) for s in ids]
    targets = [[index[w] for w in sent if w in index] for sent in sents]
    return ContextSample(sents, [chosen[s] for s in ids], targets, counts, list(vocab))


@dataclasses.dataclass
class ContextStates:
    """Sums over contexts from one pass: per layer, word sums of pooled subwords and of sentence [CLS]
    vectors (``[L, V, H]``), context counts (``[V]``) and each sentence's mean token vector (``[L, S, H]``)."""

    layers: list[int]
    subword_sums: torch.Tensor
    cls_sums: torch.Tensor
    counts: torch.Tensor
    sentence_means: torch.Tensor
    n_tokens: int


def encode_contexts(encoder: Encoder, sample: ContextSample, layers: Sequence[int], batch_size: int = 32,
                    max_length: int = 128, progress: bool = True) -> ContextStates:
    """Encode every sampled sentence once; pool all its context words and its mean vector from that pass."""
    layers = resolve_layers(encoder, layers)
    if not sample.sentences:
        raise ValueError("no context sentences to encode: no vocabulary word occurs in the corpus")
    n_l, n_v, n_s, dim = len(layers), len(sample.vocab), len(sample.sentences), encoder.dim
    sub = torch.zeros(n_l, n_v, dim)
    cls = torch.zeros(n_l, n_v, dim)
    counts = torch.zeros(n_v)
    means = torch.zeros(n_l, n_s, dim)
    n_tokens = 0
    for idx, batch, states in hidden_state_batches(encoder, sample.sentences, layers, batch_size, max_length,
                                                   split_into_words=True, progress=progress, desc="contexts"):
        states = states.float()
        n_b, n_t = states.shape[1], states.shape[2]
        n_tokens += int(batch["attention_mask"].sum())
        means[:, torch.from_numpy(np.ascontiguousarray(idx, dtype=np.int64))] = pool(states, batch["attention_mask"], "mean")
        tok_rows, tok_word, tok_weight, occ_rows, occ_word = [], [], [], [], []
        for b, s in enumerate(idx):
            positions: dict[int, list[int]] = {}
            for t, w in enumerate(batch.word_ids(b)):
                if w is not None:
                    positions.setdefault(w, []).append(b * n_t + t)
            for j, v in sample.occurrences[s]:
                toks = positions.get(j)
                if not toks:                     # truncated away
                    continue
                tok_rows += toks
                tok_word += [v] * len(toks)
                tok_weight += [1.0 / len(toks)] * len(toks)
                occ_rows.append(b)
                occ_word.append(v)
        if not occ_rows:
            continue
        flat = states.reshape(n_l, n_b * n_t, dim)
        weight = torch.tensor(tok_weight).unsqueeze(-1)
        sub.index_add_(1, torch.tensor(tok_word), flat[:, tok_rows] * weight)
        cls.index_add_(1, torch.tensor(occ_word), states[:, occ_rows, 0])
        counts.index_add_(0, torch.tensor(occ_word), torch.ones(len(occ_word)))
    return ContextStates(layers, sub, cls, counts, means, n_tokens)


# --------------------------------------------------------------------------- X2Static

def _rejection_probs(counts: np.ndarray, t: float) -> np.ndarray:
    """X2Static's subsampling: drop a target with probability ``1 - min(1, sqrt(t/f) + t/f)``."""
    f = counts / max(counts.sum(), 1)
    with np.errstate(divide="ignore"):
        keep = np.where(f > 0, np.minimum(1.0, np.sqrt(t / f) + t / f), 1.0)
    return 1.0 - keep


def train_x2static(context_vectors: torch.Tensor | np.ndarray, targets: Sequence[Sequence[int]], vocab_size: int,
                   counts: np.ndarray | None = None, epochs: int = 1, lr: float = 1e-3, negatives: int = 10,
                   t: float = 5e-6, batch_size: int = 128, seed: int = 0, progress: bool = True,
                   threads: int = 1) -> np.ndarray:
    """X2Static (Gupta & Jaggi 2021): learn a ``[V, H]`` table whose rows score high against the context
    vector of sentences containing the word and low against it for negative samples.

    ``context_vectors[s]`` is sentence ``s``'s mean token vector from the encoder, ``targets[s]`` the
    vocabulary ids of its words. Loss: clamped logistic loss on ``<c, e_target>`` plus on
    ``-<c, e_negative>`` for ``negatives`` samples drawn with probability proportional to
    ``sqrt(count)``; targets subsampled with threshold ``t``; sparse Adam (only the rows used in a
    batch move, as ``torch.optim.SparseAdam``), rows initialised uniformly in ``[-1/H, 1/H]``. Defaults
    are the paper's (:data:`X2STATIC_DEFAULTS`: 1 epoch, lr 0.001, 10 negatives, t = 5e-6, batches of
    128 sentences). Hand-written gradient and update (the loss is a dot product): autograd with sparse
    embeddings spent most of its time coalescing one gradient row per use of a word. Runs on
    ``threads`` torch threads (one is faster for these small operations, and bit-reproducible).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _x2static_loop(context_vectors, targets, vocab_size, counts, epochs, lr, negatives, t, batch_size,
                              seed, progress)
    finally:
        torch.set_num_threads(before)


def _x2static_loop(context_vectors, targets, vocab_size, counts, epochs, lr, negatives, t, batch_size, seed,
                   progress) -> np.ndarray:
    """The training loop of :func:`train_x2static`."""
    from tqdm.auto import tqdm

    ctx = torch.as_tensor(np.asarray(context_vectors), dtype=torch.float32)
    if len(ctx) != len(targets) or len(ctx) == 0:
        raise ValueError(f"need one target list per context vector; got {len(ctx)} vectors, {len(targets)} lists")
    if counts is None:
        counts = np.bincount(np.concatenate([np.asarray(t_, dtype=np.int64) for t_ in targets]), minlength=vocab_size)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    dim = ctx.shape[1]
    table = torch.empty(vocab_size, dim).uniform_(-1.0 / dim, 1.0 / dim, generator=gen)
    exp_avg, exp_avg_sq = torch.zeros_like(table), torch.zeros_like(table)
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    reject = _rejection_probs(np.asarray(counts, dtype=np.float64), t)
    noise = torch.sqrt(torch.as_tensor(np.asarray(counts, dtype=np.float64)).clamp(min=0)).float()
    sent_ids = np.concatenate([np.full(len(t_), s) for s, t_ in enumerate(targets)]).astype(np.int64)
    word_ids = np.concatenate([np.asarray(t_, dtype=np.int64) for t_ in targets])
    in_batch = np.zeros(len(ctx), dtype=bool)
    bar = tqdm(total=epochs * math.ceil(len(ctx) / batch_size), desc="X2Static", disable=not progress, leave=False)
    for _ in range(epochs):
        order = rng.permutation(len(ctx))
        for start in range(0, len(order), batch_size):
            in_batch[:] = False
            in_batch[order[start:start + batch_size]] = True
            sel = in_batch[sent_ids] & (rng.random(len(sent_ids)) >= reject[word_ids])
            bar.update(1)
            if not sel.any():
                continue
            c = ctx[torch.from_numpy(sent_ids[sel])]
            n = len(c)
            ids = torch.cat([torch.from_numpy(word_ids[sel]),
                             torch.multinomial(noise, negatives * n, replacement=True, generator=gen)])
            score = (table[ids].view(negatives + 1, n, dim) * c).sum(-1)          # [1 + negatives, n]
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
    bar.close()
    return table.numpy().copy()


# --------------------------------------------------------------------------- everything for a run

def static_embeddings(encoder: Encoder, words: Sequence[str], methods: Sequence[str], layers: Sequence[int],
                      sentences: Sequence[Sequence[str]] | None = None, max_contexts: int = 5,
                      max_sentences: int | None = None, x2static: Mapping | None = None, seed: int = 0,
                      batch_size: int = 32, progress: bool = True) -> dict[str, KeyedVectors]:
    """Static embeddings of ``words`` from ``encoder`` for every method x layer, named by
    :func:`embedding_name`. ``sentences`` (tokenized, e.g. ``Corpus.sentences``) are needed by the
    aggregate methods and X2Static; ``x2static`` overrides :data:`X2STATIC_DEFAULTS`.

    A word without a usable vector (no context in the sample, or no subword tokens) is left out of that
    embedding; :func:`embedlab.static.restrict_all` then keeps the words all embeddings share.
    """
    methods = check_methods(methods)
    layers = resolve_layers(encoder, layers)
    words = list(dict.fromkeys(words))
    if not words:
        raise ValueError("no words to embed")
    x2 = {**X2STATIC_DEFAULTS, **(x2static or {})}
    unknown = set(x2) - set(X2STATIC_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown X2Static option(s) {sorted(unknown)}; allowed: {', '.join(X2STATIC_DEFAULTS)}")
    needs_context = [m for m in methods if m in CONTEXT_METHODS]
    if needs_context and not sentences:
        raise ValueError(f"methods {needs_context} need sentences (an empty corpus was given)")
    out: dict[str, KeyedVectors] = {}
    if "input-layer" in methods:
        out[embedding_name(encoder, "input-layer")] = _keyed(words, input_layer(encoder, words))
    if {"decontext-cls", "decontext-mean"} & set(methods):
        dec = decontextualized(encoder, words, layers, progress=progress)
        for method, key in (("decontext-cls", "cls"), ("decontext-mean", "mean")):
            if method in methods:
                for li, layer in enumerate(layers):
                    out[embedding_name(encoder, method, layer)] = _keyed(words, dec[key][li])
    if needs_context:
        sample = select_contexts(sentences, words, max_contexts, max_sentences, seed=seed)
        states = encode_contexts(encoder, sample, layers, batch_size=batch_size, progress=progress)
        n = states.counts.clamp(min=1).unsqueeze(-1)
        covered = (states.counts > 0).numpy()
        index = {w: i for i, w in enumerate(words)}
        corpus_counts = np.zeros(len(words))
        for sent in sentences:
            for w in sent:
                if w in index:
                    corpus_counts[index[w]] += 1
        for li, layer in enumerate(layers):
            if "aggregate-cls" in methods:
                out[embedding_name(encoder, "aggregate-cls", layer)] = _keyed(words, (states.cls_sums[li] / n).numpy(), covered)
            if "aggregate-subword" in methods:
                out[embedding_name(encoder, "aggregate-subword", layer)] = _keyed(words, (states.subword_sums[li] / n).numpy(), covered)
            if "x2static" in methods:
                table = train_x2static(states.sentence_means[li], sample.targets, len(words), counts=corpus_counts,
                                       progress=progress, **x2)
                seen = np.bincount(np.concatenate([np.asarray(t_, dtype=np.int64) for t_ in sample.targets]),
                                   minlength=len(words)) > 0
                out[embedding_name(encoder, "x2static", layer)] = _keyed(words, table, seen)
    return out
