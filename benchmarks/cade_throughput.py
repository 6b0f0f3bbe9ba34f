"""Slice-training throughput: CADE's frozen-context Numba trainer vs gensim 4 Word2Vec CBOW, at 1 and 2 threads.

Two slices (two whole Bible translations) are trained with the same dimensions, window, negatives, subsampling and
epochs. Ours: one slice per thread (slices are independent given the frozen compass and each slice's sampling is
seeded by its index alone, so the vectors are the same whatever the thread count: checked below). gensim: the
slices one after the other, each with ``workers=1`` or ``workers=2`` (its own multi-threading, not
bit-deterministic). Words/s counts raw corpus tokens x epochs over wall time (gensim's vocabulary is built before
timing; our time includes encoding the corpus). Every configuration runs once per round, rounds interleaved, best
of ``--repeats``, so other load on the machine affects both sides alike; the load average is printed, and "cores"
is process CPU time / wall time (2 threads can only be ~2x when the machine gives the process ~2 cores; words per
CPU-second staying flat from 1 to 2 threads is what shows the threads do not slow each other).
Also checks that the compass's context matrix is bit-identical after training.
Target: ours at 2 threads >= 1.8x gensim with workers=2.

    python benchmarks/cade_throughput.py [--versions kjv web] [--epochs 2] [--repeats 3] [--threads 2]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from gensim.models import Word2Vec

from embedlab import cade, corpora
from embedlab.cade import training

TARGET = 1.8


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def time_gensim(slices, config: cade.TrainingConfig, workers: int) -> tuple[float, float]:
    """Seconds for gensim to train ``config.epochs`` CBOW epochs on every slice (vocabularies already built)."""
    models = []
    for sentences in slices:
        m = Word2Vec(vector_size=config.vector_size, window=config.window, negative=config.negative, sg=0, cbow_mean=1,
                     min_count=config.min_count, sample=config.sample, workers=workers, seed=config.seed)
        m.build_vocab(sentences)
        models.append(m)

    def run():
        for m, sentences in zip(models, slices):
            m.train(sentences, total_examples=len(sentences), epochs=config.epochs)
    return _timed(run)


def time_frozen(slices, compass: Word2Vec, config: cade.TrainingConfig, threads: int) -> tuple[float, float, str]:
    """Seconds for our trainer to train every slice against the frozen compass, one slice per thread, and a hash
    of the trained vectors."""
    starts = [training.word_seeded_vectors(compass.wv.index_to_key, config.vector_size, config.seed) for _ in slices]

    def run():
        with ThreadPoolExecutor(threads) as pool:
            jobs = [pool.submit(cade.train_frozen_context, syn0, compass.syn1neg, s, compass.wv.key_to_index, config,
                                i + 1) for i, (syn0, s) in enumerate(zip(starts, slices))]
            [j.result() for j in jobs]
    wall, cpu = _timed(run)
    return wall, cpu, hashlib.sha256(np.concatenate(starts).tobytes()).hexdigest()


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
    counts = sorted({1, args.threads})
    runs: dict[str, list[tuple[float, float]]] = {}
    hashes = set()
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for n in counts:
            runs.setdefault(f"gensim{n}", []).append(time_gensim(slices, config, n))
            wall, cpu, digest = time_frozen(slices, compass, config, n)
            runs.setdefault(f"ours{n}", []).append((wall, cpu))
            hashes.add(digest)
        loads.append(os.getloadavg()[0])
    assert hashlib.sha256(compass.syn1neg.tobytes()).hexdigest() == before, "the frozen context matrix changed"
    assert len(hashes) == 1, "our vectors differ between runs or thread counts"
    words = tokens * args.epochs
    speed = {k: words / min(w for w, _ in v) for k, v in runs.items()}

    def line(label: str, key: str) -> str:
        best = min(runs[key])
        return (f"{label:<52s} {speed[key]:>11,.0f} words/s  cores {best[1] / best[0]:.2f}  "
                f"{words / best[1]:>11,.0f} words/CPU-s  "
                f"(runs: {', '.join(f'{w:.2f}s' for w, _ in runs[key])})")

    print(f"corpus: {len(slices)} slices (bible {', '.join(args.versions)}), {tokens:,} tokens x {args.epochs} epochs; "
          f"dim {config.vector_size}, window {config.window}, negative {config.negative}, sample {config.sample}; "
          f"{os.cpu_count()} CPUs, 1-min load average {min(loads):.1f}-{max(loads):.1f} during the runs")
    for n in counts:
        print(line(f"gensim Word2Vec CBOW, workers={n}", f"gensim{n}"))
        print(line(f"CADE frozen-context trainer, {n} thread{'s' * (n > 1)}", f"ours{n}"))
    print("compass context matrix bit-identical after training: yes; our vectors identical at "
          + " and ".join(map(str, counts)) + " threads in every run: yes")
    if args.threads > 1:
        print(f"our scaling {args.threads} threads / 1: {speed[f'ours{args.threads}'] / speed['ours1']:.2f}x, "
              f"gensim's: {speed[f'gensim{args.threads}'] / speed['gensim1']:.2f}x")
    print(f"ratio ours / gensim at 1 thread: {speed['ours1'] / speed['gensim1']:.2f}x")
    ratio = speed[f"ours{args.threads}"] / speed[f"gensim{args.threads}"]
    print(f"ratio ours / gensim at {args.threads} threads (workers={args.threads}): {ratio:.2f}x "
          f"(target >= {TARGET}x: {'met' if ratio >= TARGET else 'not met'})")


if __name__ == "__main__":
    main()
