"""Trained static word embeddings (word2vec CBOW/skip-gram, fastText in gensim and in the official
``fasttext`` package) as gensim ``KeyedVectors``, and the shared vocabulary every embedding of a run
is restricted to.

Defaults are gensim's / fastText's own, except ``workers=1`` (gensim with several workers is not
bit-deterministic) and a smaller hash ``bucket`` for fastText's character n-grams (the default
2,000,000 buckets cost 800 MB at 100 dimensions, far more than a corpus of a few 100k tokens fills).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from typing import Iterable, Mapping, Sequence

import numpy as np
from gensim.models import FastText, KeyedVectors, Word2Vec
from gensim.models.fasttext import FastTextKeyedVectors

from .choices import check_names

STATIC_MODELS = {
    "w2v-cbow": "word2vec CBOW (gensim)",
    "w2v-sg": "word2vec skip-gram (gensim)",
    "fasttext": "fastText skip-gram with character n-grams (gensim)",
    "fasttext-official": "fastText skip-gram with character n-grams (official fasttext package)",
}
#: relative training time on one corpus (the default Turkish run: 98, 69, 38 and 15 s), for scheduling longest first
TRAINING_COST = {"fasttext-official": 6.5, "fasttext": 4.6, "w2v-sg": 2.5, "w2v-cbow": 1.0}
DEFAULTS = dict(vector_size=100, window=5, min_count=3, epochs=5, negative=5, sample=1e-3, alpha=0.025,
                min_n=3, max_n=6, bucket=200_000)


def check_models(models: Iterable[str]) -> list[str]:
    """Validate static model names against :data:`STATIC_MODELS`."""
    return check_names("static model(s)", models, STATIC_MODELS)


def check_sentences(sentences: Sequence[Sequence[str]], what: str = "corpus") -> None:
    """Raise a ValueError for an empty corpus (no sentences or no tokens)."""
    if len(sentences) == 0 or not any(len(s) for s in sentences):
        raise ValueError(f"empty {what}: no tokens to train on")


def _hyper(kw: Mapping) -> dict:
    unknown = set(kw) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)}; allowed: {', '.join(DEFAULTS)}")
    return {**DEFAULTS, **kw}


def train_word2vec(sentences: Sequence[Sequence[str]], sg: int = 0, seed: int = 0, workers: int = 1,
                   **hyper) -> KeyedVectors:
    """word2vec (``sg=0`` CBOW, ``sg=1`` skip-gram) with gensim; returns its KeyedVectors."""
    check_sentences(sentences)
    h = _hyper(hyper)
    model = Word2Vec(sentences, sg=sg, vector_size=h["vector_size"], window=h["window"], min_count=h["min_count"],
                     epochs=h["epochs"], negative=h["negative"], sample=h["sample"], alpha=h["alpha"],
                     seed=seed, workers=workers)
    return model.wv


def train_fasttext(sentences: Sequence[Sequence[str]], sg: int = 1, seed: int = 0, workers: int = 1,
                   **hyper) -> KeyedVectors:
    """fastText with gensim (skip-gram by default); returns FastTextKeyedVectors (vectors for OOV words too)."""
    check_sentences(sentences)
    h = _hyper(hyper)
    model = FastText(sentences, sg=sg, vector_size=h["vector_size"], window=h["window"], min_count=h["min_count"],
                     epochs=h["epochs"], negative=h["negative"], sample=h["sample"], alpha=h["alpha"],
                     min_n=h["min_n"], max_n=h["max_n"], bucket=h["bucket"], seed=seed, workers=workers)
    return model.wv


def train_fasttext_official(sentences: Sequence[Sequence[str]], model: str = "skipgram", seed: int = 0,
                            threads: int = 1, lr: float = 0.05, t: float = 1e-4, **hyper) -> KeyedVectors:
    """fastText with the official ``fasttext`` package; every vocabulary word's vector into KeyedVectors.

    Learning rate and subsampling keep fastText's own defaults (``lr``, ``t``); gensim's ``alpha`` and
    ``sample`` are not used here. Training runs in a fresh Python subprocess: with one thread the
    package initialises only part of its input matrix and leaves the rest as it finds the memory, so
    a second training in the same process can start from another model's leftovers (observed: results
    that change, and "Encountered NaN", between runs in one process); a fresh process makes it repeatable.
    """
    check_sentences(sentences)
    h = _hyper(hyper)
    if model not in ("skipgram", "cbow"):
        raise ValueError(f"unknown fastText model {model!r}; allowed: 'skipgram', 'cbow'")
    options = dict(model=model, dim=h["vector_size"], ws=h["window"], minCount=h["min_count"], epoch=h["epochs"],
                   neg=h["negative"], t=t, lr=lr, minn=h["min_n"], maxn=h["max_n"], bucket=h["bucket"],
                   thread=threads, seed=seed, verbose=0)
    with tempfile.TemporaryDirectory(prefix="embedlab-ft-") as tmp:
        path = os.path.join(tmp, "corpus.txt")
        with open(path, "w", encoding="utf-8") as f:
            for s in sentences:
                if s:
                    f.write(" ".join(s) + "\n")
        proc = subprocess.run([sys.executable, "-c", _FASTTEXT_CHILD, path, json.dumps(options), tmp],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"official fastText training failed: {proc.stderr.strip()[-2000:]}")
        words = json.loads(open(os.path.join(tmp, "words.json"), encoding="utf-8").read())
        vectors = np.load(os.path.join(tmp, "vectors.npy"))
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors.astype(np.float32))
    return kv


# Runs in the child process: ``fasttext.train_unsupervised`` plus fastText's ``-seed`` option (its Python
# signature omits it), then every vocabulary word's vector (``</s>`` excluded) to words.json / vectors.npy.
_FASTTEXT_CHILD = """
import json, os, sys
import numpy as np
import fasttext_pybind
from fasttext import FastText as ft
path, options, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
options["input"] = path
args = {**ft.unsupervised_default, **options}
built = ft._build_args(args, set(options))
model = ft._FastText(args=built)
fasttext_pybind.train(model.f, built)
model.set_args(model.f.getArgs())
words = [w for w in model.words if w != "</s>"]
json.dump(words, open(os.path.join(out, "words.json"), "w", encoding="utf-8"), ensure_ascii=False)
np.save(os.path.join(out, "vectors.npy"), np.stack([model.get_word_vector(w) for w in words]))
"""


def train_static(model: str, sentences: Sequence[Sequence[str]], seed: int = 0, **hyper) -> KeyedVectors:
    """Train one of :data:`STATIC_MODELS` by name."""
    check_models([model])
    if model == "w2v-cbow":
        return train_word2vec(sentences, sg=0, seed=seed, **hyper)
    if model == "w2v-sg":
        return train_word2vec(sentences, sg=1, seed=seed, **hyper)
    if model == "fasttext":
        return train_fasttext(sentences, sg=1, seed=seed, **hyper)
    return train_fasttext_official(sentences, "skipgram", seed=seed, **hyper)


# --------------------------------------------------------------------------- the shared vocabulary

def shared_vocabulary(sentences: Sequence[Sequence[str]], max_size: int, min_count: int = 3,
                      include: Iterable[str] = (), max_include: int | None = None) -> list[str]:
    """One vocabulary for a run: the ``max_size`` most frequent words with at least ``min_count``
    occurrences, plus the words of ``include`` (e.g. evaluation words) that also occur ``min_count``
    times (at most ``max_include`` of them, most frequent first). Ordered by frequency (ties: alphabetical).

    Every trained model with the same ``min_count`` has a vector for each of these words, and an
    encoder can embed any of them, so all embeddings of a run can cover exactly this list.
    """
    check_sentences(sentences)
    if max_size < 1:
        raise ValueError(f"max_size must be >= 1, got {max_size}")
    counts = Counter(t for s in sentences for t in s)
    ranked = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    chosen = ranked[:max_size]
    extra = sorted({w for w in include if counts.get(w, 0) >= min_count} - set(chosen), key=lambda w: (-counts[w], w))
    chosen += extra[:max_include] if max_include is not None else extra
    if not chosen:
        raise ValueError(f"no word occurs at least min_count={min_count} times in the corpus")
    return sorted(chosen, key=lambda w: (-counts[w], w))


def restrict(kv: KeyedVectors, vocab: Sequence[str], name: str = "embedding") -> KeyedVectors:
    """A plain KeyedVectors holding exactly ``vocab`` (in that order); fastText vectors also for OOV words."""
    can_oov = isinstance(kv, FastTextKeyedVectors)
    missing = [w for w in vocab if w not in kv.key_to_index]
    if missing and not can_oov:
        raise ValueError(f"{name} lacks {len(missing)} of the {len(vocab)} shared-vocabulary words "
                         f"(e.g. {missing[:5]}); restrict to their intersection with common_vocabulary()")
    out = KeyedVectors(vector_size=kv.vector_size)
    out.add_vectors(list(vocab), np.stack([kv[w] for w in vocab]).astype(np.float32))
    return out


def within(kv: KeyedVectors, vocab: Sequence[str]) -> KeyedVectors:
    """``kv`` over the words of ``vocab`` it has (order kept); a fastText model has them all, building the others
    from character n-grams (:func:`restrict`)."""
    if isinstance(kv, FastTextKeyedVectors):
        return restrict(kv, vocab)
    keep = [w for w in vocab if w in kv.key_to_index]
    out = KeyedVectors(vector_size=kv.vector_size)
    out.add_vectors(keep, np.stack([kv[w] for w in keep]).astype(np.float32))
    return out


def common_vocabulary(embeddings: Mapping[str, KeyedVectors], vocab: Sequence[str]) -> list[str]:
    """The words of ``vocab`` (order kept) that every embedding has a vector for."""
    return [w for w in vocab if all(w in kv.key_to_index for kv in embeddings.values())]


def restrict_all(embeddings: Mapping[str, KeyedVectors], vocab: Sequence[str]) -> dict[str, KeyedVectors]:
    """Restrict every embedding to the words of ``vocab`` that all of them cover (see :func:`common_vocabulary`)."""
    if not embeddings:
        raise ValueError("no embeddings to restrict")
    common = common_vocabulary(embeddings, vocab)
    if not common:
        raise ValueError("the embeddings share no word of the vocabulary")
    return {name: restrict(kv, common, name) for name, kv in embeddings.items()}
