"""Slice-training throughput: CADE's frozen-context Numba trainer vs gensim 4 Word2Vec CBOW (baseline).

Same corpus (a Bible translation), dimensions, window, negatives, subsampling, epochs and thread count (1: both
are single-threaded). Words/s counts raw corpus tokens x epochs over wall time (the vocabulary is built before
timing gensim; our time includes encoding the corpus). Best of ``--repeats`` interleaved runs, so other load on
the machine affects both alike. Target: ratio >= 0.5.

    python benchmarks/cade_throughput.py [--version kjv] [--epochs 2] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

from gensim.models import Word2Vec

from embedlab import cade, corpora
from embedlab.cade import training


def time_gensim(sentences, config: cade.TrainingConfig) -> float:
    """Seconds for gensim to train ``config.epochs`` CBOW epochs (vocabulary already built)."""
    model = Word2Vec(vector_size=config.vector_size, window=config.window, negative=config.negative, sg=0, cbow_mean=1,
                     min_count=config.min_count, sample=config.sample, workers=1, seed=config.seed)
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=config.epochs)
    return time.perf_counter() - start


def time_frozen(sentences, compass: Word2Vec, config: cade.TrainingConfig) -> float:
    """Seconds for our trainer to train ``config.slice_epochs`` epochs against the frozen compass."""
    syn0 = training.initial_vectors(len(compass.wv), config.vector_size, seed=1)
    start = time.perf_counter()
    cade.train_frozen_context(syn0, compass.syn1neg, sentences, compass.wv.key_to_index, config, seed=1)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", default="kjv", help="Bible translation used as the corpus")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sentences = corpora.english_bible(args.version).sentences
    tokens = sum(map(len, sentences))
    config = cade.TrainingConfig(epochs=args.epochs, slice_epochs=args.epochs)
    compass = cade.train_word2vec(sentences, config, seed=0)
    time_frozen(sentences[:200], compass, config)          # compile (or load) the Numba kernel
    ours, theirs = [], []
    for _ in range(args.repeats):
        theirs.append(time_gensim(sentences, config))
        ours.append(time_frozen(sentences, compass, config))
    words = tokens * args.epochs
    g, o = words / min(theirs), words / min(ours)
    print(f"corpus: bible-{args.version}, {tokens:,} tokens x {args.epochs} epochs; dim {config.vector_size}, "
          f"window {config.window}, negative {config.negative}, sample {config.sample}, 1 thread each")
    print(f"gensim Word2Vec CBOW (baseline): {g:,.0f} words/s  (runs: {', '.join(f'{t:.2f}s' for t in theirs)})")
    print(f"CADE frozen-context trainer:     {o:,.0f} words/s  (runs: {', '.join(f'{t:.2f}s' for t in ours)})")
    print(f"ratio ours / gensim: {o / g:.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main()
