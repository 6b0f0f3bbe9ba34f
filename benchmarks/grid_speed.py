"""Grid evaluation cost: our single pass for every layer vs re-encoding once per layer.

All three compute the same metrics at every (layer, leading dims) cell of one encoder, on STS-B test pairs
(``--task stsb``, needs the mirror or internet) or on KJV-Tyndale verse retrieval (``--task bible``, offline, the
study's default headline task):

* ours: ``matryoshka.evaluate_grid`` (one forward pass per batch keeps every layer);
* baseline "per-layer, truncated": for each layer l, encode again with the model cut after l (each layer
  evaluated as its own shallower model); expected ratio about (L + 1) / 2 plus per-pass overheads;
* baseline "per-layer, full model": for each layer l, run the whole model again and keep layer l;
  expected ratio about L.

Truncation to leading dimensions and scoring are the same code in all three. Times are the best of
``--repeats`` runs. Usage: ``python benchmarks/grid_speed.py [--encoder minilm] [--task bible] [--pairs 256]``.
"""
from __future__ import annotations

import argparse
import contextlib
import time

import torch

from embedlab import encoders, matryoshka


def best_times(fns: dict, repeats: int) -> dict[str, float]:
    """Best wall time of each function over ``repeats`` rounds; rounds interleave the functions so that a
    change in machine load hits all of them alike."""
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    enc = encoders.load_encoder(args.encoder)
    if args.task == "stsb":
        task = matryoshka.evaluation_tasks(sts=["stsb"], words=[], bible=None, max_pairs=args.pairs)[0]
    else:
        task = matryoshka.evaluation_tasks(sts=[], words=[], bible=("kjv", "tyn"), max_pairs={"bible": args.pairs})[0]
    layers, dims = matryoshka.check_cells(enc)
    times = best_times({
        "ours": lambda: matryoshka.evaluate_grid(enc, [task], layers, dims, max_length=64, progress=False),
        "truncated": lambda: per_layer(enc, task, layers, dims, truncate=True),
        "full": lambda: per_layer(enc, task, layers, dims, truncate=False)}, args.repeats)
    ours, truncated, full = times["ours"], times["truncated"], times["full"]
    n = len(layers)
    print(f"{enc.name}: {task.name}, {n} layers x {len(dims)} dims = {n * len(dims)} cells, {2 * len(task)} texts, "
          f"{args.threads} threads, best of {args.repeats}")
    print(f"ours (one pass, all layers)       {ours:8.2f} s")
    print(f"baseline per-layer, truncated     {truncated:8.2f} s   ratio {truncated / ours:5.2f}  "
          f"(expected about {(n + 1) / 2:.1f} + overheads)")
    print(f"baseline per-layer, full model    {full:8.2f} s   ratio {full / ours:5.2f}  (expected about {n})")


if __name__ == "__main__":
    main()
