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

Efficiency: one pass per text per encoder. The words alone go through
:func:`embedlab.encoders.hidden_state_batches` once (:func:`decontextualized`) and the corpus once
(:func:`context_pass`: tokenized once, batched, length-sorted, ``torch.inference_mode``, every requested layer
from one forward pass in one precision). That pass keeps each sentence's mean and [CLS] vectors and pools every
sampled context's subwords (:mod:`embedlab.contexts`); aggregate-CLS, aggregate-subword and X2Static's teacher all
read it, and so does a learning curve over parts of the corpus (:func:`x2static_embeddings`). Both passes are kept
in the embedding cache (:mod:`embedlab.embedcache`), so a rerun on the same text encodes nothing.
No instruction prefix (e5's ``query: ``) is added: the input is the word or the sentence itself.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch
from gensim.models import KeyedVectors

from . import contexts, embedcache, memo
from .choices import check_names
from .contexts import ContextSample, context_summary, contexts_per_word, select_contexts  # noqa: F401 (re-exported)
from .encoders import ENCODED_TOKENS, PRECISIONS, Encoder, hidden_state_batches, pool, resolve_precision, tokenize  # noqa: F401
from .text import lowercase as _lowercase
from .x2static import X2StaticStats, train_x2static, x2static_options

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


# --------------------------------------------------------------------------- decontextualized and input layer

def decontextualized(encoder: Encoder, words: Sequence[str], layers: Sequence[int], batch_size: int = 256,
                     progress: bool = True, cache: bool = True) -> dict[str, np.ndarray]:
    """Each word alone through the encoder, one pass over the vocabulary: ``{"cls": [L, V, H], "mean": [L, V, H]}``
    (float32; from the embedding cache when this model already did the same words, with ``cache``)."""
    layers = resolve_layers(encoder, layers)
    key = embedcache.make_key(kind="words-alone", model=encoder.cache_id, text=embedcache.text_digest(words),
                              layers=layers, pooling=["cls", "mean-of-word-tokens"], precision="float32",
                              max_length=32, format=2) if cache and encoder.cache_id else None
    got = embedcache.load(key)
    if got is not None:
        return {"cls": np.array(got["cls"]), "mean": np.array(got["mean"])}
    shape = (len(layers), len(words), encoder.dim)
    with embedcache.writing(key, {"encoder": encoder.name}) as w:
        cls, mean = w.array("cls", shape), w.array("mean", shape)
        for idx, batch, states in hidden_state_batches(encoder, list(words), layers, batch_size, max_length=32,
                                                       progress=progress, desc="words alone"):
            in_word = batch["word_index"] >= 0
            cls[:, idx] = states[:, :, 0].float().numpy()
            mean[:, idx] = pool(states, batch["attention_mask"] * in_word, "mean").float().numpy()
    return {"cls": np.array(cls), "mean": np.array(mean)}


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


# --------------------------------------------------------------------------- contexts: one pass per text

@dataclasses.dataclass
class ContextPass:
    """One encoder pass over a corpus's sentences (the pass's rows: ``rows``, their corpus indices), pooled: per row
    its mean token vector (X2Static's teacher; special tokens included) and [CLS] vector (``means`` / ``cls``,
    ``[L, S, H]``; None when not asked for), per word of every row the tokens it kept (``word_tokens``, flat with
    ``word_starts``), and, where asked, per vocabulary word the sum over its sampled contexts of its pooled subwords
    (``subword_sums`` ``[L, V, H]``, with ``counts``). ``corpus_tokens``: encoder tokens of the rows' text;
    ``encoded_tokens``: tokens this call encoded (0 when everything came from the embedding cache)."""

    encoder: str
    layers: list[int]
    sentences: Sequence[Sequence[str]]
    rows: np.ndarray
    means: np.ndarray | None
    cls: np.ndarray | None
    word_tokens: np.ndarray | None
    word_starts: np.ndarray
    corpus_tokens: int
    encoded_tokens: int
    precision: str
    cached: dict[str, bool]
    subword_sums: torch.Tensor | None = None
    counts: np.ndarray | None = None

    def rows_of(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """The pass rows of ``sentences`` (the corpus's own sentence lists, e.g. from ``Corpus.subset``, or equal
        ones); a sentence the pass never encoded is a KeyError."""
        by_id = {id(s): i for i, s in enumerate(self.sentences)}
        row_of = np.full(len(self.sentences), -1, dtype=np.int64)
        row_of[self.rows] = np.arange(len(self.rows))
        by_text: dict | None = None
        out = np.empty(len(sentences), dtype=np.int64)
        for k, s in enumerate(sentences):
            i = by_id.get(id(s))
            if i is None or row_of[i] < 0:
                by_text = by_text or {tuple(self.sentences[j]): j for j in self.rows.tolist()}
                i = by_text[tuple(s)]
            out[k] = row_of[i]
        return out


def _occurrences_valid(cp: ContextPass, occurrences) -> np.ndarray:
    """Which contexts ``(row, position, word)`` kept at least one token of their word."""
    rows, pos, _ = occurrences
    return cp.word_tokens[cp.word_starts[rows] + pos] > 0


def context_pass(encoder: Encoder, sentences: Sequence[Sequence[str]], rows: np.ndarray, layers: Sequence[int], *,
                 surface: Sequence[Sequence[str]] | None = None, lowercase: bool = False, language: str = "en",
                 max_length: int = 128, precision: str = "float32", batch_size: int = 32,
                 sentence_level: bool = True, occurrences=None, vocab: Sequence[str] = (), progress: bool = True,
                 cache: bool = True) -> ContextPass:
    """Encode the corpus sentences ``rows`` once (batched, length-sorted, every layer, one precision) and pool what
    is asked: the sentence-level vectors (``sentence_level``) and the subword sums of ``occurrences``
    (``(row, position, vocabulary id)`` arrays in pass-row space, over ``vocab``). Each comes from the embedding
    cache (:mod:`embedlab.embedcache`) when an entry for the same model, text, layers, precision and ``max_length``
    (and, for the sums, the same contexts) is there; what is missing is computed in one pass and stored.
    ``surface``: the text as written, which the encoder reads (lower-cased when ``lowercase``)."""
    layers = resolve_layers(encoder, layers)
    text = _encoder_text([(surface or sentences)[i] for i in rows], lowercase, language)
    resolved = resolve_precision(encoder, precision)
    model = encoder.cache_id if cache else None
    base = dict(model=model, text=embedcache.text_digest(text), layers=layers, precision=resolved,
                max_length=max_length, format=2) if model else None   # 2: batches by padded tokens
    key_s = embedcache.make_key(kind="sentences", pooling=["mean", "cls", "word-tokens"], **base) if base else None
    key_w = None
    if occurrences is not None and base:
        h = embedcache.text_digest([list(vocab)] + [[str(x) for x in a.tolist()] for a in occurrences])
        key_w = embedcache.make_key(kind="subwords", pooling="subword-mean", contexts=h, **base)
    n_l, n_s, dim = len(layers), len(rows), encoder.dim
    got_s = embedcache.load(key_s)
    got_w = embedcache.load(key_w) if occurrences is not None else None
    need_s = sentence_level and got_s is None
    need_w = occurrences is not None and got_w is None
    cp = ContextPass(encoder.name, layers, sentences, np.asarray(rows), None, None, None, contexts.word_offsets(text),
                     0, 0, resolved, {"sentences": got_s is not None, "subwords": got_w is not None})
    if got_s is not None:
        cp.means, cp.cls, cp.word_tokens = got_s["means"], got_s["cls"], got_s["word_tokens"]
        cp.corpus_tokens = int(embedcache.meta(key_s)["corpus_tokens"])
    if got_w is not None:
        cp.subword_sums, cp.counts = torch.from_numpy(np.array(got_w["sums"])), np.array(got_w["counts"])
    if not (need_s or need_w):
        return cp
    todo = np.arange(n_s) if need_s else np.unique(occurrences[0])
    part = [text[i] for i in todo]
    tokens = tokenize(encoder, part, max_length, split_into_words=True)
    before = ENCODED_TOKENS[encoder.name]
    with embedcache.writing(key_s if need_s else None, {"encoder": encoder.name}) as ws:
        if need_s:
            cp.means, cp.cls = ws.array("means", (n_l, n_s, dim)), ws.array("cls", (n_l, n_s, dim))
            cp.corpus_tokens = ws.meta["corpus_tokens"] = tokens.n_tokens
        if got_s is None:                          # the tokens each word kept, from this pass's tokenization
            cp.word_tokens = ws.array("word_tokens", (int(cp.word_starts[-1]),), np.int32) if need_s else \
                np.zeros(int(cp.word_starts[-1]), np.int32)
            starts = contexts.word_offsets(part)
            flat = contexts.word_token_counts(tokens.word_ids, tokens.offsets, starts)
            cp.word_tokens[np.repeat(cp.word_starts[todo] - starts[:-1], np.diff(starts)) + np.arange(len(flat))] = flat
        sub = torch.zeros(n_l, len(vocab), dim) if need_w else None
        passes = ((todo[idx], b, s) for idx, b, s in hidden_state_batches(
            encoder, None, layers, batch_size, max_length, progress=progress, desc="contexts", precision=resolved,
            tokens=tokens))
        contexts.pool_batches(passes, cp.means if need_s else None, cp.cls if need_s else None,
                              occurrences if need_w else None, sub)
    cp.encoded_tokens = ENCODED_TOKENS[encoder.name] - before
    cp.corpus_tokens = cp.corpus_tokens or tokens.n_tokens
    if need_w:
        counts = contexts.context_counts(occurrences, _occurrences_valid(cp, occurrences), len(vocab))
        with embedcache.writing(key_w, {"encoder": encoder.name}) as ww:
            ww.array("sums", tuple(sub.shape))[:] = sub.numpy()
            ww.array("counts", counts.shape, np.int64)[:] = counts
        cp.subword_sums, cp.counts = sub, counts
    return cp


def x2static_embeddings(cp: ContextPass, words: Sequence[str], sentences: Sequence[Sequence[str]],
                        x2static: Mapping | None = None, progress: bool = True,
                        sample: contexts.ContextSample | None = None
                        ) -> tuple[dict[str, KeyedVectors], dict[str, X2StaticStats]]:
    """X2Static at every layer of a context pass over ``sentences``: the pass's corpus or any part of it (e.g. a
    learning-curve fraction, whose counts then drive subsampling and negatives); the teacher's sentence vectors
    are the pass's rows, so nothing is encoded. ``sample``: :func:`select_contexts` of ``sentences`` with
    ``all_sentences=True``, when the caller has it. Returns the embeddings and each one's
    :class:`embedlab.x2static.X2StaticStats`."""
    x2 = x2static_options(x2static)
    if sample is None:
        sample = contexts.select_contexts(sentences, words, max_contexts=1, all_sentences=True)
    if cp.means is None:
        raise ValueError("this context pass kept no sentence vectors (sentence_level=False): X2Static needs them")
    rows = cp.rows_of([sentences[i] for i in sample.sentence_ids])
    targets = [np.asarray(t, dtype=np.int64) for t in sample.targets]
    same = {"targets": np.concatenate(targets) if targets else np.zeros(0, np.int64), "rows": np.asarray(rows),
            "lengths": np.array([len(t) for t in targets], dtype=np.int64), "vocab_size": len(words),
            "counts": None if sample.corpus_counts is None else np.asarray(sample.corpus_counts),
            "options": dict(x2)}
    out, stats = {}, {}
    for li, layer in enumerate(cp.layers):
        name = embedding_name(cp.encoder, "x2static", layer)
        table, stats[name] = memo.cached(     # a table trained before from the same sentence vectors and targets
            "x2static", {**same, "teacher": np.asarray(cp.means[li])},
            lambda: train_x2static(cp.means[li], sample.targets, len(words), counts=sample.corpus_counts, rows=rows,
                                   progress=progress, return_stats=True, **x2))
        out[name] = _keyed(words, table, stats[name].updated)
    return out, stats


# --------------------------------------------------------------------------- everything for a run

def static_embeddings(encoder: Encoder, words: Sequence[str], methods: Sequence[str], layers: Sequence[int],
                      sentences: Sequence[Sequence[str]] | None = None, max_contexts: int | None = 10,
                      max_sentences: int | None = None, x2static: Mapping | None = None, seed: int = 0,
                      batch_size: int = 32, progress: bool = True, *, lowercase: bool | None = None,
                      language: str = "en", max_length: int = 128, cache: bool = True,
                      precision: str = "float32", diagnostics: dict | None = None,
                      surface: Sequence[Sequence[str]] | None = None,
                      surface_words: Sequence[str] | None = None) -> dict[str, KeyedVectors]:
    """Static embeddings of ``words`` from ``encoder`` for every method x layer, named by
    :func:`embedding_name`. ``sentences`` (tokenized, e.g. ``Corpus.sentences``) are needed by the
    aggregate methods and X2Static; ``x2static`` overrides :data:`embedlab.x2static.X2STATIC_DEFAULTS`.

    * One pass per text: the words alone go through the encoder once (:func:`decontextualized`) and the corpus
      once (:func:`context_pass`), which serves aggregate-CLS, aggregate-subword and X2Static's teacher; with
      ``cache`` both come from the embedding cache when this model already encoded the same text the same way.
    * Aggregate methods average up to ``max_contexts`` contexts per word sampled uniformly (seeded) among the
      word's occurrences (None: all of them), optionally within ``max_sentences`` random sentences
      (:func:`select_contexts`).
    * X2Static trains over every corpus sentence that holds a vocabulary word, with subsampling and negatives
      from full-corpus counts (as the reference); the teacher's sentence means are the pass's
      (:func:`x2static_embeddings`). Words never updated are dropped; a warning when the median word got few
      (``min_median_updates``).
    * ``lowercase``: whether the encoder's input (words and sentences) is lower-cased with ``language``'s rules
      (Turkish dotted/dotless i); None takes it from the tokenizer (:func:`encoder_lowercases`): cased encoders
      see the text as given. The vectors stay keyed by ``words`` as given.
    * ``precision`` of the context pass (:func:`embedlab.encoders.resolve_precision`): ``float32`` (exact), or
      ``bfloat16`` / ``auto`` for a pass about 2x faster on a CPU with AVX512-BF16 (the reference runs its X2Static
      teacher in half precision). Words alone (decontextualized) always run in float32.
    * ``surface`` / ``surface_words``: the text as written (sentences aligned token for token with the lower-cased
      ``sentences``; one written form per word of ``words``): what the encoder reads (lower-cased by ``lowercase``),
      while ``words`` and ``sentences`` stay the keys that words are matched by. None: the encoder reads those.

    ``diagnostics`` (a dict, filled in place): ``"lowercase"`` (bool used), ``"contexts_per_word"`` (Series of
    contexts each aggregate vector averages, after truncation), ``"contexts_summary"`` (:func:`context_summary`),
    ``"x2static"`` ({embedding name: :class:`embedlab.x2static.X2StaticStats`}), ``"teacher_tokens"`` (tokens the
    context pass encoded), ``"corpus_tokens"`` (encoder tokens of the corpus text), ``"vocabulary_tokens"`` (tokens
    the words-alone pass encoded), ``"precision"`` (the context pass's, resolved), ``"teacher_cached"`` and
    ``"cached"`` (what came from the embedding cache), ``"seconds"`` (words alone, context pass, X2Static),
    ``"context_pass"`` (the :class:`ContextPass`, for a learning
    curve over parts of the corpus).
    A word without a usable vector (no context, no subword tokens, no X2Static update) is left out of that
    embedding; :func:`embedlab.static.restrict_all` then keeps the words all embeddings share.
    """
    methods = check_methods(methods)
    layers = resolve_layers(encoder, layers)
    form = dict(zip(words, surface_words)) if surface_words is not None else {}
    words = list(dict.fromkeys(words))
    if not words:
        raise ValueError("no words to embed")
    written = [form.get(w, w) for w in words]
    x2 = x2static_options(x2static)
    needs_context = [m for m in methods if m in CONTEXT_METHODS]
    if needs_context and not sentences:
        raise ValueError(f"methods {needs_context} need sentences (an empty corpus was given)")
    diag = diagnostics if diagnostics is not None else {}
    lower = encoder_lowercases(encoder) if lowercase is None else bool(lowercase)
    diag["lowercase"] = lower
    seconds = diag["seconds"] = {}
    out: dict[str, KeyedVectors] = {}
    if "input-layer" in methods:
        out[embedding_name(encoder, "input-layer")] = _keyed(words, input_layer(encoder, _encoder_text(written, lower, language)))
    if {"decontext-cls", "decontext-mean"} & set(methods):
        before, t0 = ENCODED_TOKENS[encoder.name], time.perf_counter()
        dec = decontextualized(encoder, _encoder_text(written, lower, language), layers, progress=progress, cache=cache)
        diag["vocabulary_tokens"] = ENCODED_TOKENS[encoder.name] - before
        seconds["words alone"] = time.perf_counter() - t0
        for method, key in (("decontext-cls", "cls"), ("decontext-mean", "mean")):
            if method in methods:
                for li, layer in enumerate(layers):
                    out[embedding_name(encoder, method, layer)] = _keyed(words, dec[key][li])
    if not needs_context:
        return out
    want_x2 = "x2static" in methods
    sample = contexts.select_contexts(sentences, words, max_contexts, max_sentences, seed=seed, all_sentences=want_x2)
    aggregates = [m for m in ("aggregate-cls", "aggregate-subword") if m in methods]
    rows = np.flatnonzero([len(s) > 0 for s in sentences]) if want_x2 else sample.sentence_ids
    row_of = np.full(len(sentences), -1, dtype=np.int64)
    row_of[rows] = np.arange(len(rows))
    s_row, pos, word = sample.occurrence_arrays()
    occ = (row_of[sample.sentence_ids[s_row]], pos, word)
    t0 = time.perf_counter()
    cp = context_pass(encoder, sentences, rows, layers, surface=surface, lowercase=lower, language=language,
                      max_length=max_length, precision=precision, batch_size=batch_size,
                      sentence_level=want_x2 or "aggregate-cls" in methods,
                      occurrences=occ if "aggregate-subword" in methods else None, vocab=words, progress=progress,
                      cache=cache)
    seconds["context pass"] = time.perf_counter() - t0
    diag.update(teacher_tokens=cp.encoded_tokens, corpus_tokens=cp.corpus_tokens, precision=cp.precision,
                teacher_cached=cp.cached["sentences"], cached=dict(cp.cached), context_pass=cp)
    x2_out: dict[str, KeyedVectors] = {}
    if want_x2:
        t0 = time.perf_counter()
        x2_out, diag["x2static"] = x2static_embeddings(cp, words, sentences, x2, progress=progress, sample=sample)
        seconds["x2static"] = time.perf_counter() - t0
    counts = np.zeros(len(words), np.int64)
    if aggregates:
        counts = cp.counts if cp.counts is not None else \
            contexts.context_counts(occ, _occurrences_valid(cp, occ), len(words))
        per_word = contexts.contexts_per_word(counts, words)
        diag["contexts_per_word"] = per_word
        diag["contexts_summary"] = contexts.context_summary(per_word, max_contexts)
    n = torch.from_numpy(np.maximum(counts, 1).astype(np.float32)).unsqueeze(-1)
    sums = {"aggregate-subword": cp.subword_sums}
    if "aggregate-cls" in methods:
        sums["aggregate-cls"] = contexts.cls_sums(cp.cls, occ, _occurrences_valid(cp, occ), len(words))
    for li, layer in enumerate(layers):                       # per layer: aggregates, then X2Static
        for m in aggregates:
            out[embedding_name(encoder, m, layer)] = _keyed(words, (sums[m][li] / n).numpy(), counts > 0)
        name = embedding_name(encoder, "x2static", layer)
        if name in x2_out:
            out[name] = x2_out[name]
    return out
