"""Analogy evaluation speed: embedlab's vectorized 3CosAdd vs gensim ``KeyedVectors.evaluate_word_analogies``
(baseline) on the same vectors and questions; both must give the same accuracy. Target: >= 20x faster.

Questions: Mikolov's ``questions-words.txt`` (19,544, from gensim's wheel). Vectors: a synthetic vocabulary
of ``--vocab`` words and ``--dim`` dimensions holding every question word, with each category's pairs
planted as ``b = a + offset + noise`` so that accuracy is neither 0 nor 1. Times are the best of
``--repeats`` runs each (interleaved, so other load on the machine affects both alike).

    python benchmarks/analogy_speed.py [--vocab 30000] [--dim 300] [--repeats 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from embedlab import evalsets
from embedlab.evaluate import analogy


def planted_vectors(questions, vocab: int, dim: int, seed: int = 0) -> KeyedVectors:
    """Random vectors for the question words plus filler words, with each category's pairs planted."""
    rng = np.random.default_rng(seed)
    words = list(dict.fromkeys(questions[["a", "b", "c", "d"]].to_numpy().ravel()))
    words += [f"filler{i}" for i in range(max(0, vocab - len(words)))]
    vecs = rng.normal(size=(len(words), dim)).astype(np.float32)
    index = {w: i for i, w in enumerate(words)}
    for _, g in questions.groupby("category"):
        offset = rng.normal(size=dim) * 0.8
        for a, b in set(map(tuple, g[["a", "b"]].to_numpy())) | set(map(tuple, g[["c", "d"]].to_numpy())):
            vecs[index[b]] = vecs[index[a]] + offset + rng.normal(size=dim) * 0.9
    kv = KeyedVectors(dim)
    kv.add_vectors(words, vecs)
    return kv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=30000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    qs = evalsets.english_analogies().questions
    kv = planted_vectors(qs, args.vocab, args.dim)
    ours_t, gensim_t = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "questions-words.txt"
        analogy.write_questions_words(qs, path)
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ours = analogy.evaluate_analogies(kv, qs, ["3cosadd"]).set_index("category").loc["overall", "accuracy"]
            ours_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            theirs, _ = kv.evaluate_word_analogies(str(path), restrict_vocab=len(kv), case_insensitive=False)
            gensim_t.append(time.perf_counter() - t0)
    print(f"{len(qs)} questions, {len(kv)} words x {args.dim} dims")
    print(f"accuracy: embedlab {ours:.6f}  gensim {theirs:.6f}  identical: {ours == theirs}")
    print(f"time (best of {args.repeats}): embedlab {min(ours_t):.2f} s  gensim {min(gensim_t):.2f} s")
    print(f"ratio (gensim time / embedlab time): {min(gensim_t) / min(ours_t):.1f}x  (target >= 20x)")


if __name__ == "__main__":
    main()
