"""The 2D Matryoshka study's costs: the grid (one pass for every layer vs re-encoding once per layer) and a
training epoch in float32 vs bfloat16 autocast.

Grid: all three compute the same metrics at every (layer, leading dims) cell of one encoder, on STS-B test pairs
(``--task stsb``, needs the mirror or internet) or on KJV-Tyndale verse retrieval (``--task bible``, offline, the
study's default headline task):

* ours: ``matryoshka.evaluate_grid`` (one length-sorted ``inference_mode`` forward pass per batch keeps every layer);
* baseline "per-layer, truncated": for each layer l, encode again with the model cut after l (each layer
  evaluated as its own shallower model, as a user of a truncated 2D Matryoshka model would); expected ratio about
  (L + 1) / 2 plus per-pass overheads;
* baseline "per-layer, full model": for each layer l, run the whole model again and keep layer l;
  expected ratio about L.

The baselines use the same length-sorted ``inference_mode`` encoder (the strongest per-layer code a competent user
would write) and the same truncation and scoring code. Training (``--train-pairs``, 0 skips it): one epoch of the
``srl`` loss on Bible pairs with the encoder's forward pass in float32 and under bfloat16 autocast (the study's
``train_precision``), same batches and seed.

Rules of the house for benchmarks: ``OMP_WAIT_POLICY=PASSIVE`` (set before torch loads), the passes compared are
interleaved round by round (a change in machine load hits all alike), the float32 and bfloat16 matmul peaks are
measured in the same run, and every ratio is printed with its spread over the rounds (min to max).
Usage: ``python benchmarks/grid_speed.py [--encoder minilm] [--task bible] [--pairs 256] [--train-pairs 128]``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported

import argparse  # noqa: E402
import contextlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from embedlab import encoders, matryoshka  # noqa: E402
from extraction_speed import matmul_peak  # noqa: E402  (this folder is on the path when run as a script)


def rounds(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Wall time of each function in each of ``repeats`` rounds; the functions take turns within a round."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def ratio(times: dict[str, list[float]], slow: str, fast: str) -> str:
    """Best-time ratio slow / fast, with the spread of the per-round ratios."""
    per_round = np.array(times[slow]) / np.array(times[fast])
    return (f"ratio {min(times[slow]) / min(times[fast]):5.2f} (rounds {per_round.min():.2f} to "
            f"{per_round.max():.2f})")


def forward_flops(enc, texts, max_length: int) -> float:
    """Forward FLOPs over ``texts`` without padding: 2 x Transformer-layer weights per token, plus attention
    (4 x T x H per token per layer)."""
    lengths = np.array([len(ids) for ids in enc.tokenizer(list(texts), truncation=True,
                                                          max_length=max_length)["input_ids"]], dtype=np.float64)
    weights = sum(p.numel() for name, p in enc.model.named_parameters()
                  if ".layer." in name and name.endswith("weight") and p.dim() == 2)
    return float(2 * weights * lengths.sum() + 4 * enc.n_layers * enc.dim * (lengths ** 2).sum())


def per_layer(enc, task, layers, dims, truncate: bool) -> None:
    """Re-encode the distinct texts once per layer (model cut after it, or the full model); score its cells."""
    index = {t: i for i, t in enumerate(dict.fromkeys(task.texts_a + task.texts_b))}
    rows_a, rows_b = [index[t] for t in task.texts_a], [index[t] for t in task.texts_b]
    for layer in layers:
        with matryoshka.truncated(enc, layer) if truncate else contextlib.nullcontext():
            emb = encoders.sentence_embeddings(enc, list(index), [layer], max_length=64, progress=False)
        matryoshka.score_cells(emb[:, rows_a], emb[:, rows_b], task, dims)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--task", default="bible", choices=["bible", "stsb"])
    parser.add_argument("--pairs", type=int, default=256, help="evaluation pairs (2x as many texts)")
    parser.add_argument("--train-pairs", type=int, default=128, help="training pairs of the timed epoch (0: skip)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    peaks = {p: matmul_peak(dtype=getattr(torch, p)) for p in ("float32", "bfloat16")}
    enc = encoders.load_encoder(args.encoder)
    if args.task == "stsb":
        task = matryoshka.evaluation_tasks(sts=["stsb"], words=[], bible=None, max_pairs=args.pairs)[0]
    else:
        task = matryoshka.evaluation_tasks(sts=[], words=[], bible=("kjv", "tyn"), max_pairs={"bible": args.pairs})[0]
    layers, dims = matryoshka.check_cells(enc)
    times = rounds({
        "ours": lambda: matryoshka.evaluate_grid(enc, [task], layers, dims, max_length=64, progress=False),
        "truncated": lambda: per_layer(enc, task, layers, dims, truncate=True),
        "full": lambda: per_layer(enc, task, layers, dims, truncate=False)}, args.repeats)
    n = len(layers)
    ours = min(times["ours"])
    gflops = forward_flops(enc, dict.fromkeys(task.texts_a + task.texts_b), 64) / ours / 1e9
    print(f"{enc.name}: {task.name}, {n} layers x {len(dims)} dims = {n * len(dims)} cells, {2 * len(task)} texts, "
          f"{args.threads} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, best of {args.repeats} "
          f"interleaved rounds")
    print("matmul peak (measured now): " + ", ".join(f"{p} {g:.0f} GFLOP/s" for p, g in peaks.items()))
    print(f"ours (one pass, all layers)       {ours:8.2f} s   {gflops:.0f} GFLOP/s = "
          f"{gflops / peaks['float32']:.0%} of the float32 matmul peak")
    print(f"baseline per-layer, truncated     {min(times['truncated']):8.2f} s   "
          f"{ratio(times, 'truncated', 'ours')}  (expected about {(n + 1) / 2:.1f} + overheads)")
    print(f"baseline per-layer, full model    {min(times['full']):8.2f} s   {ratio(times, 'full', 'ours')}  "
          f"(expected about {n})")
    if args.train_pairs:
        pairs = matryoshka.training_pairs("bible", args.train_pairs, ("kjv", "tyn"))
        diagonal = matryoshka.starbucks_diagonal(enc.n_layers, enc.dim)
        epoch = {p: (lambda p=p: matryoshka.fine_tune(enc, pairs, "srl", batch_size=32, srl_pairs=diagonal,
                                                       progress=False, precision=p))
                 for p in matryoshka.TRAIN_PRECISIONS}
        t = rounds(epoch, args.repeats)
        print(f"training epoch, srl, {len(pairs)} pairs, batch 32: float32 {min(t['float32']):.2f} s, bfloat16 "
              f"autocast {min(t['bfloat16']):.2f} s   {ratio(t, 'float32', 'bfloat16')}")


if __name__ == "__main__":
    main()
