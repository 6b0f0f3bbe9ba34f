"""Paper-scale 2D Matryoshka run without Jupyter, for a GPU machine: STS-B train (all 5,749 scored pairs,
CoSENT), the four variants (baseline, mrl, 2dmse, srl; KL terms as in AnglE's 2DMSE and Starbucks' code), each over
``--seeds`` training seeds (0, 1, ...), then the (layer x dimension) grid of every trained model on the full STS-B and
SICK-R test sets; the grid is averaged over seeds (``seed_sd``: their spread; ``grid_per_seed.csv`` keeps each).

The notebook's ``paper`` profile does the same with plots and a report; this script needs only the
library (no papermill or kernel), so it runs on a bare GPU box. ``--model-dir`` reads a local copy of
the encoder instead of :func:`embedlab.encoders.load_encoder`. Writes ``grid.csv``, ``latency.csv``
and ``summary.json`` to ``--out`` and prints selected cells (seed means).

Usage: ``python scripts/gpu_matryoshka_check.py [--encoder minilm | --model-dir DIR] [--epochs 4] [--seeds 3]
[--precision bfloat16] --out DIR``
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from embedlab import encoders, seeding
from embedlab import matryoshka as M


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="minilm")
    ap.add_argument("--model-dir", help="a local Hugging Face model folder (loaded as float32)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=3, help="training seeds per variant (0, 1, ...)")
    ap.add_argument("--precision", default="float32", choices=list(M.TRAIN_PRECISIONS),
                    help="the encoder's forward pass in training (bfloat16: autocast, mixed precision)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seeding.seed_everything(0)
    if args.model_dir:
        from transformers import AutoModel, AutoTokenizer

        model = AutoModel.from_pretrained(args.model_dir, dtype=torch.float32).eval().to(encoders.default_device())
        enc = encoders.Encoder(Path(args.model_dir).name, model, AutoTokenizer.from_pretrained(args.model_dir),
                               f"local:{args.model_dir}")
    else:
        enc = encoders.load_encoder(args.encoder)
    layers, dims = list(range(1, enc.n_layers + 1)), M.dim_ladder(enc.dim, 8)
    diagonal = M.starbucks_diagonal(enc.n_layers, enc.dim, smallest=8)
    tasks = M.evaluation_tasks(["stsb", "sick"], [], None)
    pairs = M.training_pairs("stsb", None)
    print(f"{enc.name} on {enc.device}; train {len(pairs)} pairs; tasks {[(t.name, len(t)) for t in tasks]}", flush=True)
    train_s = grid_s = 0.0
    frames, all_runs = [], {v: [] for v in M.VARIANTS}
    for seed in [None, *range(args.seeds)]:  # None: the base encoder, evaluated once
        t0 = time.perf_counter()
        runs = {} if seed is None else M.train_variants(
            enc, pairs, M.VARIANTS, pooling="mean", epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            max_length=args.max_length, seed=seed, dims=dims, srl_pairs=diagonal, precision=args.precision)
        train_s += time.perf_counter() - t0
        models = {"base": enc} if seed is None else {v: r.encoder for v, r in runs.items()}
        t0 = time.perf_counter()
        frames.append(M.evaluate_models(models, tasks, layers=layers, dims=dims, pooling="mean",
                                        max_length=args.max_length).assign(seed=seed))
        grid_s += time.perf_counter() - t0
        for v, r in runs.items():
            r.encoder = None  # evaluated: free the copy
            all_runs[v].append(r)
    per_seed = pd.concat(frames, ignore_index=True)
    per_seed.to_csv(args.out / "grid_per_seed.csv", index=False)
    grid = M.over_seeds(per_seed)
    grid.to_csv(args.out / "grid.csv", index=False)
    latency = M.layer_latency(enc, tasks[0].texts_a[:512], layers, max_length=args.max_length, repeats=3)
    latency.to_csv(args.out / "latency.csv", index=False)
    top = enc.n_layers
    for task in ("stsb", "sick"):
        for cell in [(top, enc.dim), (top, 64), (top, dims[0]), (max(1, top // 2), enc.dim), (1, enc.dim), diagonal[0]]:
            row = grid[(grid.task == task) & (grid.metric == "spearman") & (grid.layer == cell[0]) & (grid.dim == cell[1])]
            print(task, cell, {m: f"{v:.2f} (sd {sd:.2f})" for m, v, sd in zip(row.model, row.value, row.seed_sd)})
    summary = {"device": str(enc.device), "train_seconds": round(train_s, 1), "grid_seconds": round(grid_s, 1),
               "seeds": args.seeds, "precision": args.precision,
               "train_seconds_per_variant": {v: round(sum(r.seconds for r in rs), 1) for v, rs in all_runs.items()},
               "steps": {v: len(rs[0].losses) for v, rs in all_runs.items()},
               "last_full_loss_first_last": {v: [[round(float(r.term()[:10].mean()), 4),
                                                  round(float(r.term()[-10:].mean()), 4)] for r in rs]
                                             for v, rs in all_runs.items()},
               "kl": {"2dmse": "angle", "srl": "starbucks"}, "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
