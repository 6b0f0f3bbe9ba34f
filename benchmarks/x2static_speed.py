"""X2Static training speed: the fused Numba kernel (:func:`embedlab.x2static._step`, 1 and 2 threads) against the
original PyTorch loop (``engine="torch"``, one torch thread, as the study ran it) on the same batches.

Synthetic corpus of the Turkish run's shape: ``--sentences`` sentences of ~``--length`` vocabulary words drawn from a
Zipf distribution over ``--vocab`` words, teacher vectors of ``--dim`` dimensions, the default run's ``t`` (1e-3)
and the paper's batch of 128 sentences and 10 negatives. All three use the same seed, hence the same sentence order,
subsampling and negatives; the update counts must be identical, the tables equal up to float32 rounding, and the
kernel's table the same at 1 and 2 threads. Passes are interleaved over ``--repeats`` rounds; the matmul peak of
this machine is printed as a reference for the load. Target: kernel >= 3x the loop.

    python benchmarks/x2static_speed.py [--vocab 30000] [--sentences 20000] [--dim 384] [--epochs 1] [--repeats 3]
"""
from __future__ import annotations

import os

os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse  # noqa: E402

import numpy as np  # noqa: E402

from _common import interleave, load_average, matmul_peak, ratio, spread  # noqa: E402
from embedlab import x2static  # noqa: E402

TARGET = 3.0


def corpus(vocab: int, sentences: int, length: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab + 1) ** 1.05
    p /= p.sum()
    lens = rng.poisson(length, size=sentences).clip(1, 120)
    flat = rng.choice(vocab, size=int(lens.sum()), p=p)
    cuts = np.cumsum(lens)[:-1]
    targets = [list(x) for x in np.split(flat, cuts)]
    return rng.standard_normal((sentences, dim), dtype=np.float32) * 0.1, targets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=30000)
    ap.add_argument("--sentences", type=int, default=20000)
    ap.add_argument("--length", type=int, default=14)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--t", type=float, default=1e-3)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    vectors, targets = corpus(args.vocab, args.sentences, args.length, args.dim)
    kw = dict(epochs=args.epochs, t=args.t, progress=False, return_stats=True, min_median_updates=0)
    x2static.train_x2static(vectors[:300], targets[:300], args.vocab, **kw)          # compile the kernel first
    passes = {"loop (torch, 1 thread)": lambda: x2static.train_x2static(vectors, targets, args.vocab, engine="torch", **kw),
              "kernel, 1 thread": lambda: x2static.train_x2static(vectors, targets, args.vocab, threads=1, **kw),
              "kernel, 2 threads": lambda: x2static.train_x2static(vectors, targets, args.vocab, threads=2, **kw)}
    print(f"load average before: {load_average()}; float32 matmul peak now: {matmul_peak():.0f} GFLOP/s")
    times, got = interleave(passes, args.repeats)
    (ref, ref_st), (one, one_st), (two, two_st) = (got[n] for n in passes)
    n_targets = sum(map(len, targets))
    print(f"{args.sentences:,} sentences, {n_targets:,} target tokens, vocabulary {args.vocab:,} x {args.dim} dims, "
          f"{args.epochs} epoch(s), t = {args.t:g}, {int(ref_st.updates.sum()):,} kept targets")
    for name, t in times.items():
        print(f"  {name}: {spread(t)}")
    print(f"same draws (update counts equal): {np.array_equal(ref_st.updates, one_st.updates)}; max |table diff| "
          f"kernel vs loop {np.abs(one - ref).max():.2e} (table scale {np.abs(ref).max():.2e}); kernel 1 vs 2 threads "
          f"bit-identical: {np.array_equal(one, two)}")
    loop = times["loop (torch, 1 thread)"]
    print(f"ratio kernel (1 thread) vs loop: {ratio(loop, times['kernel, 1 thread'])}")
    print(f"ratio kernel (2 threads) vs loop: {ratio(loop, times['kernel, 2 threads'])}  (target >= {TARGET:g}x)")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
