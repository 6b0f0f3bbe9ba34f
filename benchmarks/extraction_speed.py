"""Contextual extraction speed: embedlab's teacher pass (:func:`embedlab.extract.encode_contexts`, what X2Static
and the aggregate methods run over the corpus) vs what a user would write: one batched forward with
``output_hidden_states=True`` (batches of 32 in corpus order, padded per batch, ``torch.no_grad``), then the mean
token vector of each sentence at each requested layer. Both must give the same sentence means.

Prints tokens/s (real, non-padding tokens) for both and their ratio (target >= 2x), for our pass in float32 and
in bfloat16 (``precision="auto"``, where the CPU/GPU has fast bfloat16), and the share of this
machine's measured matmul peak each reaches: a float32 ``torch.matmul`` GFLOP/s measured in the same run (same
thread count), against the model's FLOPs per token (2 x the Transformer layers' weight parameters, plus the
attention products 4 x T x H per layer at each sentence's length T).

    python benchmarks/extraction_speed.py [--encoder e5-small] [--corpus tr-treebank] [--sentences 400] [--layers 4 8 12]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from embedlab import corpora, encoders, extract


def user_pass(enc, sentences, layers, batch_size=32, max_length=128):
    """What a user writes: batches of 32 in corpus order, one forward with all hidden states, per-layer means."""
    out = np.zeros((len(layers), len(sentences), enc.dim), dtype=np.float32)
    for start in range(0, len(sentences), batch_size):
        batch = enc.tokenizer(sentences[start:start + batch_size], is_split_into_words=True, padding=True,
                              truncation=True, max_length=max_length, return_tensors="pt")
        with torch.no_grad():
            hs = enc.model(**batch, output_hidden_states=True).hidden_states
        mask = batch["attention_mask"].unsqueeze(-1).float()
        for li, layer in enumerate(layers):
            out[li, start:start + batch_size] = ((hs[layer] * mask).sum(1) / mask.sum(1)).numpy()
    return out


def matmul_peak(seconds: float = 2.0, dtype: torch.dtype = torch.float32) -> float:
    """Best GFLOP/s of a few matmul shapes typical of a small encoder in ``dtype``, on the current thread count."""
    best = 0.0
    for m, k, n in ((2048, 384, 1536), (2048, 1536, 384), (1024, 1024, 1024)):
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        torch.matmul(a, b)
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            torch.matmul(a, b)
            reps += 1
        best = max(best, 2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9)
    return best


def model_flops(enc, lengths: np.ndarray) -> float:
    """FLOPs of a forward pass over sentences of the given token lengths (no padding): 2 x layer weights per
    token, plus QK^T and attention x V (4 x T x H per token per layer)."""
    weights = sum(p.numel() for name, p in enc.model.named_parameters()
                  if ".layer." in name and name.endswith("weight") and p.dim() == 2)
    n_layers, dim = enc.n_layers, enc.dim
    return float(2 * weights * lengths.sum() + 4 * n_layers * dim * (lengths.astype(np.float64) ** 2).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="e5-small")
    ap.add_argument("--corpus", default="tr-treebank")
    ap.add_argument("--sentences", type=int, default=400)
    ap.add_argument("--layers", type=int, nargs="+", default=[4, 8, 12])
    ap.add_argument("--repeats", type=int, default=2, help="time each pass this many times, keep the best")
    args = ap.parse_args()
    enc = encoders.load_encoder(args.encoder)
    layers = extract.resolve_layers(enc, args.layers)
    sents = [s for s in corpora.load_corpus(args.corpus).sentences if s][:args.sentences]
    vocab = sorted({w for s in sents for w in s})
    sample = extract.select_contexts(sents, vocab, max_contexts=1, all_sentences=True)
    assert len(sample.sentences) == len(sents)
    sample.occurrences = [[] for _ in sents]             # the teacher pass alone: sentence means, no word pooling
    lengths = np.array([len(ids) for ids in enc.tokenizer(sents, is_split_into_words=True, truncation=True,
                                                           max_length=128)["input_ids"]])
    n_tokens = int(lengths.sum())
    flops = model_flops(enc, lengths)
    low = extract.resolve_precision(enc, "auto")
    peaks = {p: matmul_peak(dtype=getattr(torch, p)) for p in dict.fromkeys(["float32", low])}

    def best_of(fn):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        return min(times), result

    means = {}
    timings = {}
    for precision in dict.fromkeys(["float32", low]):
        means[precision] = np.zeros((len(layers), len(sents), enc.dim), dtype=np.float32)
        timings[precision], _ = best_of(lambda: extract.encode_contexts(
            enc, sample, layers, progress=False, sentence_means=means[precision], precision=precision))
    t_user, user_means = best_of(lambda: user_pass(enc, sents, layers))
    print(f"{args.encoder}, layers {layers}, {len(sents)} sentences ({args.corpus}, corpus order), {n_tokens} tokens "
          f"(mean {lengths.mean():.1f}, max {lengths.max()}), {torch.get_num_threads()} torch threads")
    for precision, m in means.items():
        a, b = m.reshape(-1, enc.dim), user_means.reshape(-1, enc.dim)
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        print(f"embedlab {precision} vs user sentence means: max |diff| {np.abs(a - b).max():.2e}, min cosine {cos.min():.6f}")
    print("matmul peak (measured now): " + ", ".join(f"{p} {g:.1f} GFLOP/s" for p, g in peaks.items())
          + f"; model: {flops / n_tokens / 1e6:.1f} MFLOP/token")
    rows = [(f"embedlab teacher pass, {p}", t, p) for p, t in timings.items()]
    for name, t, p in rows + [("user batched forward, batch 32 unsorted, float32", t_user, "float32")]:
        print(f"{name}: {n_tokens / t:.0f} tokens/s, {flops / t / 1e9:.1f} GFLOP/s = "
              f"{flops / t / 1e9 / peaks[p]:.0%} of the {p} matmul peak")
    for p, t in timings.items():
        print(f"ratio (embedlab {p} / user tokens/s): {t_user / t:.2f}x  (target >= 2x)")


if __name__ == "__main__":
    main()
