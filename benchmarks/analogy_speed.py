"""Analogy evaluation speed: embedlab's vectorized 3CosAdd vs gensim ``KeyedVectors.evaluate_word_analogies``
(baseline) on the same vectors and questions; both must give the same accuracy. Target: >= 20x faster.
And against the strongest plain NumPy search (:func:`gemm_3cosadd`: one combined vector ``b - a + c`` per question,
a batched matrix product over the table in chunks, the question words masked, ``argmax``): the same answers,
target >= 1.0x. Every comparison is interleaved over ``--repeats`` rounds and printed with its spread.

Questions: Mikolov's ``questions-words.txt`` (19,544, from gensim's wheel). Vectors: a synthetic vocabulary
of ``--vocab`` words and ``--dim`` dimensions holding every question word, with each category's pairs
planted as ``b = a + offset + noise`` so that accuracy is neither 0 nor 1. Times are the best of
``--repeats`` runs each (interleaved, so other load on the machine affects both alike).

    python benchmarks/analogy_speed.py [--vocab 30000] [--dim 300] [--repeats 2]

``--big`` runs the paper-profile case instead (ours against the batched NumPy search; gensim on a sample): a ``--big-vocab`` (2,000,000) word table of random unit vectors
(``--dim`` dims, float32: 2.4 GB at 300 dims, like Facebook's Turkish fastText), ``--big-questions`` (3,000)
questions over ~2,000 distinct question words (the Turkish paper's sets have about that many). It reports the
evaluator's peak extra memory (tracemalloc: NumPy's allocations) and the process's peak RSS (``resource``)
after our pass, both against the 4 GB target, and the speed ratio against gensim. gensim answers one question
per full pass over the table, so it is timed on ``--gensim-sample`` questions and its time scaled to all
questions (linear in questions); on that sample the two accuracies must agree.

    python benchmarks/analogy_speed.py --big [--big-vocab 2000000] [--dim 300] [--gensim-sample 100]
"""
from __future__ import annotations

import os

os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse
import resource
import tempfile
import tracemalloc
import time
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from _common import interleave, load_average, ratio, spread  # noqa: E402
from embedlab import evalsets  # noqa: E402
from embedlab.evaluate import analogy  # noqa: E402


def gemm_3cosadd(vectors: np.ndarray, wa, wb, wc, questions: int = 512, chunk: int = 65536) -> np.ndarray:
    """What a competent NumPy user writes: unit rows, one vector ``b - a + c`` per question, and per block of
    questions a matrix product with each chunk of the (normalised on the fly) table, the three question words set
    to -inf, the best of each chunk kept. Returns the best candidate's index per question."""
    norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-12).astype(np.float32)
    unit = lambda rows: vectors[rows] / norms[rows, None]  # noqa: E731
    y = (unit(wb) - unit(wa) + unit(wc)).astype(np.float32)
    best = np.zeros(len(wa), dtype=np.int64)
    for q in range(0, len(wa), questions):
        qs = slice(q, q + questions)
        top = np.full(len(y[qs]), -np.inf, dtype=np.float32)
        for s in range(0, len(vectors), chunk):
            scores = y[qs] @ (vectors[s:s + chunk] / norms[s:s + chunk, None]).T
            for w in (wa[qs], wb[qs], wc[qs]):
                inside = np.flatnonzero((w >= s) & (w < s + chunk))
                scores[inside, w[inside] - s] = -np.inf
            j = scores.argmax(1)
            val = scores[np.arange(len(j)), j]
            better = val > top
            top[better], best[qs][better] = val[better], j[better] + s
    return best


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


def random_unit_table(vocab: int, dim: int, seed: int = 0, block: int = 100_000) -> KeyedVectors:
    """``vocab`` random unit vectors (float32, filled block by block so no float64 copy is ever made)."""
    rng = np.random.default_rng(seed)
    vecs = np.empty((vocab, dim), dtype=np.float32)
    for s in range(0, vocab, block):
        x = rng.standard_normal((min(block, vocab - s), dim), dtype=np.float32)
        vecs[s:s + len(x)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    kv = KeyedVectors(dim)
    kv.index_to_key = [f"w{i}" for i in range(vocab)]
    kv.key_to_index = {w: i for i, w in enumerate(kv.index_to_key)}
    kv.vectors = vecs
    return kv


def big_case(args) -> None:
    """2M-word table, ~2,000 distinct question words: memory and speed against gensim."""
    import pandas as pd

    kv = random_unit_table(args.big_vocab, args.dim)
    rng = np.random.default_rng(1)
    pool = rng.choice(args.big_vocab, size=args.question_words, replace=False)
    qs = pd.DataFrame(rng.choice(pool, size=(args.big_questions, 4)), columns=list("abcd"))
    qs = qs[qs.nunique(axis=1) == 4].reset_index(drop=True)
    # plant every other answer: d gets a fresh word whose vector is unit(b - a + c + noise), so accuracy is
    # neither 0 nor 1 and the a/b/c words stay ~2,000
    free = np.setdiff1d(np.arange(args.big_vocab), pool)[:len(qs) // 2]
    planted = np.arange(0, 2 * len(free), 2)
    qs.loc[planted, "d"] = free
    v = kv.vectors
    x = v[qs.loc[planted, "b"]] - v[qs.loc[planted, "a"]] + v[qs.loc[planted, "c"]]
    x += rng.standard_normal(x.shape, dtype=np.float32) * np.float32(2.0 / np.sqrt(args.dim))
    v[free] = x / np.linalg.norm(x, axis=1, keepdims=True)
    words = np.unique(qs[list("abc")].to_numpy())
    for col in "abcd":
        qs[col] = [kv.index_to_key[i] for i in qs[col]]
    qs["category"] = "random"
    table_gb = kv.vectors.nbytes / 2**30
    idx = {c: np.array([kv.key_to_index[w] for w in qs[c]]) for c in "abcd"}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    tracemalloc.start()
    ours = analogy.analogy_ranks(kv, qs, ["3cosadd"])                  # first: its memory, before any baseline
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    passes = {"embedlab": lambda: analogy.search(kv.vectors, idx["a"], idx["b"], idx["c"], idx["d"], ["3cosadd"]),
              "numpy gemm": lambda: gemm_3cosadd(kv.vectors, idx["a"], idx["b"], idx["c"])}
    times, got = interleave(passes, args.repeats)
    same = np.array_equal(got["embedlab"]["3cosadd"][0], got["numpy gemm"])
    sample = qs.iloc[:args.gensim_sample]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "questions-words.txt"
        analogy.write_questions_words(sample, path)
        t0 = time.perf_counter()
        theirs, _ = kv.evaluate_word_analogies(str(path), restrict_vocab=len(kv), case_insensitive=False)
        gensim_t = (time.perf_counter() - t0) * len(qs) / len(sample)
    mine = float(ours["correct"].iloc[:len(sample)].mean())
    print(f"{len(qs)} questions over {len(words)} distinct question words; {len(kv)} words x {args.dim} dims "
          f"(table {table_gb:.2f} GB); load average {load_average()}")
    print(f"peak extra memory of the evaluator (tracemalloc): {peak / 2**30:.3f} GB; process peak RSS after it: "
          f"{rss:.2f} GB (before: {rss0:.2f} GB); target <= 4 GB: {rss <= 4}")
    print(f"answers identical to the batched NumPy search: {same}; accuracy on the {len(sample)}-question sample: "
          f"embedlab {mine:.6f}  gensim {theirs:.6f}  identical: {mine == theirs}")
    print(f"time: embedlab {spread(times['embedlab'])}; numpy gemm {spread(times['numpy gemm'])}; gensim "
          f"{gensim_t:.1f} s scaled from {len(sample)} questions")
    print(f"ratio embedlab vs batched NumPy GEMM: {ratio(times['numpy gemm'], times['embedlab'])}  (target >= 1.0x)")
    print(f"ratio (gensim time / embedlab median time): {gensim_t / np.median(times['embedlab']):.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=30000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--big", action="store_true", help="the 2M-word memory case instead")
    ap.add_argument("--big-vocab", type=int, default=2_000_000)
    ap.add_argument("--big-questions", type=int, default=3000)
    ap.add_argument("--question-words", type=int, default=2000)
    ap.add_argument("--gensim-sample", type=int, default=100)
    args = ap.parse_args()
    if args.big:
        return big_case(args)
    qs = evalsets.english_analogies().questions
    kv = planted_vectors(qs, args.vocab, args.dim)
    idx = {c: np.array([kv.key_to_index[w] for w in qs[c]]) for c in "abcd"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "questions-words.txt"
        analogy.write_questions_words(qs, path)
        passes = {"embedlab": lambda: analogy.evaluate_analogies(kv, qs, ["3cosadd"]),
                  "gensim": lambda: kv.evaluate_word_analogies(str(path), restrict_vocab=len(kv),
                                                               case_insensitive=False),
                  "numpy gemm": lambda: gemm_3cosadd(kv.vectors, idx["a"], idx["b"], idx["c"])}
        times, got = interleave(passes, args.repeats)
    ours = got["embedlab"].set_index("category").loc["overall", "accuracy"]
    theirs = got["gensim"][0]
    found = analogy.search(kv.vectors, idx["a"], idx["b"], idx["c"], idx["d"], ["3cosadd"])["3cosadd"][0]
    print(f"{len(qs)} questions, {len(kv)} words x {args.dim} dims; load average {load_average()}")
    print(f"accuracy: embedlab {ours:.6f}  gensim {theirs:.6f}  identical: {ours == theirs}; answers identical to "
          f"the batched NumPy search: {np.array_equal(found, got['numpy gemm'])}")
    for name, t in times.items():
        print(f"time {name}: {spread(t)}")
    print(f"ratio (gensim time / embedlab time): {ratio(times['gensim'], times['embedlab'])}  (target >= 20x)")
    print(f"ratio (batched NumPy GEMM / embedlab): {ratio(times['numpy gemm'], times['embedlab'])}  (target >= 1.0x)")


if __name__ == "__main__":
    main()
