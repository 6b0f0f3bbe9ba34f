"""Slice-training throughput: CADE's frozen-context Numba trainer vs gensim 4 Word2Vec CBOW (baseline), 2 threads.

Two slices (two whole Bible translations) are trained with the same dimensions, window, negatives, subsampling and
epochs. Ours: one slice per thread (slices are independent given the frozen compass, so the result is the same
whatever the thread count: deterministic per seed). gensim: each slice with ``workers=2`` (its own multi-threading,
not bit-deterministic). Words/s counts raw corpus tokens x epochs over wall time (gensim's vocabulary is built
before timing; our time includes encoding the corpus). Best of ``--repeats`` interleaved runs, so other load on the
machine affects both alike. Also checks that the compass's context matrix is bit-identical after training.
Target: ratio >= 1.8x.

    python benchmarks/cade_throughput.py [--versions kjv web] [--epochs 2] [--repeats 3] [--threads 2]
"""
from __future__ import annotations

import argparse
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

from gensim.models import Word2Vec

from embedlab import cade, corpora
from embedlab.cade import training


def time_gensim(slices, config: cade.TrainingConfig, workers: int) -> float:
    """Seconds for gensim to train ``config.epochs`` CBOW epochs on every slice (vocabularies already built)."""
    models = []
    for sentences in slices:
        m = Word2Vec(vector_size=config.vector_size, window=config.window, negative=config.negative, sg=0, cbow_mean=1,
                     min_count=config.min_count, sample=config.sample, workers=workers, seed=config.seed)
        m.build_vocab(sentences)
        models.append(m)
    start = time.perf_counter()
    for m, sentences in zip(models, slices):
        m.train(sentences, total_examples=len(sentences), epochs=config.epochs)
    return time.perf_counter() - start


def time_frozen(slices, compass: Word2Vec, config: cade.TrainingConfig, threads: int) -> float:
    """Seconds for our trainer to train every slice against the frozen compass, one slice per thread."""
    starts = [training.word_seeded_vectors(compass.wv.index_to_key, config.vector_size, config.seed) for _ in slices]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        jobs = [pool.submit(cade.train_frozen_context, syn0, compass.syn1neg, s, compass.wv.key_to_index, config, i + 1)
                for i, (syn0, s) in enumerate(zip(starts, slices))]
        [j.result() for j in jobs]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--versions", nargs="+", default=["kjv", "web"], help="Bible translations, one slice each")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    slices = [corpora.english_bible(v).sentences for v in args.versions]
    tokens = sum(len(s) for sl in slices for s in sl)
    config = cade.TrainingConfig(epochs=args.epochs, slice_epochs=args.epochs)
    compass = cade.train_compass(dict(zip(args.versions, slices)), config)
    before = hashlib.sha256(compass.syn1neg.tobytes()).hexdigest()
    time_frozen([s[:200] for s in slices], compass, config, args.threads)   # compile (or load) the Numba kernel
    ours, theirs = [], []
    for _ in range(args.repeats):
        theirs.append(time_gensim(slices, config, args.threads))
        ours.append(time_frozen(slices, compass, config, args.threads))
    assert hashlib.sha256(compass.syn1neg.tobytes()).hexdigest() == before, "the frozen context matrix changed"
    words = tokens * args.epochs
    g, o = words / min(theirs), words / min(ours)
    print(f"corpus: {len(slices)} slices (bible {', '.join(args.versions)}), {tokens:,} tokens x {args.epochs} epochs; "
          f"dim {config.vector_size}, window {config.window}, negative {config.negative}, sample {config.sample}, "
          f"{args.threads} threads each")
    print(f"gensim Word2Vec CBOW, workers={args.threads} (baseline): {g:,.0f} words/s  "
          f"(runs: {', '.join(f'{t:.2f}s' for t in theirs)})")
    print(f"CADE frozen-context trainer, one slice per thread: {o:,.0f} words/s  "
          f"(runs: {', '.join(f'{t:.2f}s' for t in ours)})")
    print("compass context matrix bit-identical after training: yes")
    print(f"ratio ours / gensim: {o / g:.2f}x (target >= 1.8x)")


if __name__ == "__main__":
    main()
