"""Static word vectors from a contextual encoder, every method ending as gensim ``KeyedVectors``.

Methods (:data:`METHODS`), each at any layer (0 = input embeddings .. ``n_layers``; negative indices
count from the end, ``-1`` = last):

* ``decontext-cls`` / ``decontext-mean``: the word alone through the encoder (``[CLS] word [SEP]``),
  its [CLS] vector (what the Turkish and Hungarian papers' code does) or the mean of its subword vectors;
* ``aggregate-cls``: the mean of the sentence [CLS] vectors of up to ``max_contexts`` sampled contexts of the
  word (the Turkish/Hungarian papers' code averages over all such sentences: ``max_contexts=None``);
* ``aggregate-subword``: the mean over up to ``max_contexts`` occurrences of the word's own pooled
  (mean) subword vectors (Bommasani et al. 2020). Contexts are sampled uniformly (seeded) among the word's
  occurrences (:func:`select_contexts`); the contexts-per-word distribution is returned as a diagnostic;
* ``input-layer``: the mean of the word's subword rows of the input embedding matrix (the Marathi
  paper's "first layer"; no forward pass, no layer);
* ``x2static``: a static table trained CBOW-style with negative sampling against the encoder's
  context vectors over every corpus sentence (Gupta & Jaggi 2021, :func:`embedlab.x2static.train_x2static`);
  words that never received an update are dropped, update counts are returned as a diagnostic.

Case: cased encoders see the text as given, uncased ones lower-cased with the language's rules
(``lowercase=None`` reads the tokenizer, :func:`encoder_lowercases`); :func:`match_case` maps evaluation words
onto a cased vocabulary with the same rules.

Efficiency: words alone and sentences each go through :func:`embedlab.encoders.hidden_state_batches`
(batched, length-sorted, ``torch.inference_mode``, all requested layers from one forward pass); every
sentence is encoded once and all its sampled words are pooled from that pass, aligned to subwords with
the fast tokenizer's ``word_ids()``. The aggregate methods and X2Static share that one pass (X2Static's
teacher vectors are computed once and kept, :mod:`embedlab.x2static`).
No instruction prefix (e5's ``query: ``) is added: the input is the word or the sentence itself.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from gensim.models import KeyedVectors

from .choices import check_names
from .encoders import Encoder, hidden_state_batches, pool
from .text import lowercase as _lowercase
from .x2static import teacher_cache_key, teacher_means, train_x2static, x2static_options

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


# --------------------------------------------------------------------------- case

def encoder_lowercases(encoder: Encoder) -> bool:
    """Whether the encoder's tokenizer lower-cases its input (an uncased model).

    Read from the tokenizer's ``do_lower_case`` (slow and fast BERT-style tokenizers) when it has one, else
    tested: ``"The Apple"`` and ``"the apple"`` tokenize to the same pieces only when the tokenizer lower-cases.
    """
    tok = encoder.tokenizer
    for value in (getattr(tok, "do_lower_case", None), getattr(tok, "init_kwargs", {}).get("do_lower_case")):
        if isinstance(value, bool):
            return value
    probe = "The Apple Is Here"
    return tok.tokenize(probe) == tok.tokenize(probe.lower())


def lowercase(text: str, language: str = "en") -> str:
    """Language-aware lower-casing (Turkish/Azerbaijani ``I`` -> ``ı``, ``İ`` -> ``i``), :mod:`embedlab.text`'s."""
    return _lowercase(text, language)


def match_case(words: Iterable[str], vocab: Sequence[str], language: str = "en") -> dict[str, str]:
    """Map evaluation words onto a (possibly cased) vocabulary with the language's casing rules.

    A word present as written maps to itself; otherwise to the most frequent (first in ``vocab`` order)
    vocabulary word with the same language-aware lower-case form (Turkish ``IŞIK`` -> ``ışık``, not
    ``işik``). Words with no such vocabulary word are left out.
    """
    present = set(vocab)
    folded: dict[str, str] = {}
    for v in vocab:
        folded.setdefault(_lowercase(v, language), v)
    out = {}
    for w in words:
        if w in present:
            out[w] = w
        else:
            hit = folded.get(_lowercase(w, language))
            if hit is not None:
                out[w] = hit
    return out


def _encoder_text(items, lower: bool, language: str):
    """What the encoder sees: words or tokenized sentences, lower-cased with the language's rules when ``lower``."""
    if not lower:
        return list(items)
    return [_lowercase(x, language) if isinstance(x, str) else [_lowercase(w, language) for w in x] for x in items]


# --------------------------------------------------------------------------- contexts: one pass

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


PRECISIONS = ("float32", "bfloat16", "float16", "auto")


def resolve_precision(encoder: Encoder, precision: str = "float32") -> str:
    """The precision a context pass runs in: ``float32``; ``bfloat16`` / ``float16`` (``torch.autocast`` on the
    encoder's device: weights stay float32, matmuls and attention run in the lower precision, outputs of
    LayerNorm come back float32); ``auto`` = ``bfloat16`` where the device has fast bfloat16 (a CUDA GPU that
    supports it, a CPU with AVX512-BF16/AMX through oneDNN), ``float16`` on other GPUs, else ``float32``."""
    check_names("precision", [precision], PRECISIONS, nonempty=True)
    if precision != "auto":
        return precision
    kind = encoder.device.type
    if kind == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if kind == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "bfloat16"
    return "float32"


def _autocast(encoder: Encoder, precision: str):
    """A context manager running the encoder's forward passes in ``precision`` (resolved)."""
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=encoder.device.type, dtype=getattr(torch, precision))


@dataclasses.dataclass
class ContextStates:
    """Sums over contexts from one pass: per layer, word sums of pooled subwords and of sentence [CLS]
    vectors (``[L, V, H]``), context counts (``[V]``) and each sentence's mean token vector (``[L, S, H]``;
    a tensor, the caller's array/memmap, or None when not asked for)."""

    layers: list[int]
    subword_sums: torch.Tensor
    cls_sums: torch.Tensor
    counts: torch.Tensor
    sentence_means: torch.Tensor | np.ndarray | None
    n_tokens: int


def encode_contexts(encoder: Encoder, sample: ContextSample, layers: Sequence[int], batch_size: int = 32,
                    max_length: int = 128, progress: bool = True, sentence_means: bool | np.ndarray = True,
                    lowercase: bool = False, language: str = "en", precision: str = "float32") -> ContextStates:
    """Encode the sample's sentences once (batched, length-sorted, every layer from one forward pass); pool all
    their sampled context words and, when ``sentence_means`` is not False, each sentence's mean token vector
    (special tokens included, as X2Static's reference) from that pass.

    ``sentence_means``: True keeps the means in a ``[L, S, H]`` tensor; an array (e.g. an ``np.memmap``
    ``[L, S, H]`` float32) receives them; False skips them and encodes only sentences with sampled contexts.
    ``lowercase`` lower-cases the encoder's input with ``language``'s rules (positions are unchanged).
    ``precision`` (:func:`resolve_precision`): ``bfloat16`` runs the pass under ``torch.autocast`` (about 2.2x
    faster for e5-small on an AVX512-BF16 CPU, sentence means within cosine 0.99999 of float32; X2Static's
    reference runs its teacher in half precision).
    """
    layers = resolve_layers(encoder, layers)
    if not sample.sentences:
        raise ValueError("no context sentences to encode: no vocabulary word occurs in the corpus")
    n_l, n_v, n_s, dim = len(layers), len(sample.vocab), len(sample.sentences), encoder.dim
    sub = torch.zeros(n_l, n_v, dim)
    cls = torch.zeros(n_l, n_v, dim)
    counts = torch.zeros(n_v)
    if sentence_means is True:
        means = torch.zeros(n_l, n_s, dim)
    elif sentence_means is False or sentence_means is None:
        means = None
    else:
        means = sentence_means
        if tuple(means.shape) != (n_l, n_s, dim):
            raise ValueError(f"sentence_means array has shape {tuple(means.shape)}; need {(n_l, n_s, dim)}")
    todo = np.arange(n_s) if means is not None else np.array([s for s in range(n_s) if sample.occurrences[s]])
    if len(todo) == 0:
        return ContextStates(layers, sub, cls, counts, means, 0)
    inputs = _encoder_text([sample.sentences[s] for s in todo], lowercase, language)
    passes = hidden_state_batches(encoder, inputs, layers, batch_size, max_length, split_into_words=True,
                                  progress=progress, desc="contexts")
    with _autocast(encoder, resolve_precision(encoder, precision)):
        n_tokens = _pool_contexts(passes, todo, sample, means, sub, cls, counts)
    return ContextStates(layers, sub, cls, counts, means, n_tokens)


def _pool_contexts(passes, todo, sample, means, sub, cls, counts) -> int:
    """Pool the sampled contexts (and sentence means) of every batch of the pass into the running sums; returns
    the number of (non-padding) tokens encoded."""
    n_tokens = 0
    for idx, batch, states in passes:
        n_tokens += int(batch["attention_mask"].sum())
        states = states.float()
        rows = todo[idx]
        n_l, n_b, n_t, dim = states.shape
        if means is not None:
            pooled = pool(states, batch["attention_mask"], "mean")
            if isinstance(means, torch.Tensor):
                means[:, torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64))] = pooled
            else:
                means[:, rows] = pooled.numpy()
        tok_rows, tok_word, tok_weight, occ_rows, occ_word = [], [], [], [], []
        for b, s in enumerate(rows):
            if not sample.occurrences[s]:
                continue
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
    return n_tokens


# --------------------------------------------------------------------------- everything for a run

def static_embeddings(encoder: Encoder, words: Sequence[str], methods: Sequence[str], layers: Sequence[int],
                      sentences: Sequence[Sequence[str]] | None = None, max_contexts: int | None = 10,
                      max_sentences: int | None = None, x2static: Mapping | None = None, seed: int = 0,
                      batch_size: int = 32, progress: bool = True, *, lowercase: bool | None = None,
                      language: str = "en", max_length: int = 128, cache_dir: str | os.PathLike | None = None,
                      precision: str = "float32", diagnostics: dict | None = None) -> dict[str, KeyedVectors]:
    """Static embeddings of ``words`` from ``encoder`` for every method x layer, named by
    :func:`embedding_name`. ``sentences`` (tokenized, e.g. ``Corpus.sentences``) are needed by the
    aggregate methods and X2Static; ``x2static`` overrides :data:`embedlab.x2static.X2STATIC_DEFAULTS`.

    * Aggregate methods average up to ``max_contexts`` contexts per word sampled uniformly (seeded) among the
      word's occurrences (None: all of them), optionally within ``max_sentences`` random sentences
      (:func:`select_contexts`).
    * X2Static trains over every corpus sentence that holds a vocabulary word, with subsampling and negatives
      from full-corpus counts (as the reference); the teacher's sentence means come from the same single pass
      as the aggregate contexts, kept under ``cache_dir`` for a later call (:func:`embedlab.x2static.teacher_means`).
      Words never updated are dropped; a warning when the median word got few (``min_median_updates``).
    * ``lowercase``: whether the encoder's input (words and sentences) is lower-cased with ``language``'s rules
      (Turkish dotted/dotless i); None takes it from the tokenizer (:func:`encoder_lowercases`): cased encoders
      see the text as given. The vectors stay keyed by ``words`` as given.
    * ``precision`` of the context pass (aggregate + X2Static teacher; :func:`resolve_precision`): ``float32``
      (exact), or ``bfloat16`` / ``auto`` for a pass about 2x faster on a CPU with AVX512-BF16 (the reference
      runs its X2Static teacher in half precision). Words alone (decontextualized) always run in float32.

    ``diagnostics`` (a dict, filled in place): ``"lowercase"`` (bool used), ``"contexts_per_word"`` (Series of
    contexts each aggregate vector averages, after truncation), ``"contexts_summary"`` (:func:`context_summary`),
    ``"x2static"`` ({embedding name: :class:`embedlab.x2static.X2StaticStats`}), ``"teacher_tokens"`` (tokens encoded),
    ``"precision"`` (the context pass's, resolved), ``"teacher_cached"`` (X2Static's means read from ``cache_dir``).
    A word without a usable vector (no context, no subword tokens, no X2Static update) is left out of that
    embedding; :func:`embedlab.static.restrict_all` then keeps the words all embeddings share.
    """
    methods = check_methods(methods)
    layers = resolve_layers(encoder, layers)
    words = list(dict.fromkeys(words))
    if not words:
        raise ValueError("no words to embed")
    x2 = x2static_options(x2static)
    needs_context = [m for m in methods if m in CONTEXT_METHODS]
    if needs_context and not sentences:
        raise ValueError(f"methods {needs_context} need sentences (an empty corpus was given)")
    diag = diagnostics if diagnostics is not None else {}
    lower = encoder_lowercases(encoder) if lowercase is None else bool(lowercase)
    diag["lowercase"] = lower
    out: dict[str, KeyedVectors] = {}
    if "input-layer" in methods:
        out[embedding_name(encoder, "input-layer")] = _keyed(words, input_layer(encoder, _encoder_text(words, lower, language)))
    if {"decontext-cls", "decontext-mean"} & set(methods):
        dec = decontextualized(encoder, _encoder_text(words, lower, language), layers, progress=progress)
        for method, key in (("decontext-cls", "cls"), ("decontext-mean", "mean")):
            if method in methods:
                for li, layer in enumerate(layers):
                    out[embedding_name(encoder, method, layer)] = _keyed(words, dec[key][li])
    if not needs_context:
        return out
    want_x2 = "x2static" in methods
    sample = select_contexts(sentences, words, max_contexts, max_sentences, seed=seed, all_sentences=want_x2)
    with contextlib.ExitStack() as stack:
        means: bool | np.ndarray = False
        cached = False
        if want_x2:
            shape = (len(layers), len(sample.sentences), encoder.dim)
            key = teacher_cache_key(encoder, layers, sample.sentences, max_length, lower, language)
            means, cached, seal = stack.enter_context(
                teacher_means(shape, key, cache_dir, {"encoder": encoder.name, "layers": list(layers)}))
        states = encode_contexts(encoder, sample, layers, batch_size=batch_size, max_length=max_length,
                                 progress=progress, sentence_means=False if cached else means, lowercase=lower,
                                 language=language, precision=precision)
        if want_x2:
            seal()
        diag["teacher_tokens"] = states.n_tokens
        diag["precision"] = resolve_precision(encoder, precision)
        diag["teacher_cached"] = cached
        n = states.counts.clamp(min=1).unsqueeze(-1)
        covered = (states.counts > 0).numpy()
        if {"aggregate-cls", "aggregate-subword"} & set(methods):
            per_word = contexts_per_word(states.counts.numpy(), words)
            diag["contexts_per_word"] = per_word
            diag["contexts_summary"] = context_summary(per_word, max_contexts)
        for li, layer in enumerate(layers):
            if "aggregate-cls" in methods:
                out[embedding_name(encoder, "aggregate-cls", layer)] = _keyed(words, (states.cls_sums[li] / n).numpy(), covered)
            if "aggregate-subword" in methods:
                out[embedding_name(encoder, "aggregate-subword", layer)] = _keyed(words, (states.subword_sums[li] / n).numpy(), covered)
            if want_x2:
                name = embedding_name(encoder, "x2static", layer)
                table, stats = train_x2static(means[li], sample.targets, len(words), counts=sample.corpus_counts,
                                              progress=progress, return_stats=True, **x2)
                out[name] = _keyed(words, table, stats.updated)
                diag.setdefault("x2static", {})[name] = stats
        del means
    return out
