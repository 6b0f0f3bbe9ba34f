"""Contextual extraction speed: embedlab's one batched, length-sorted pass for every layer
(:func:`embedlab.extract.encode_contexts`) vs a naive loop (baseline) that runs the encoder once per
sentence and per layer. Both pool every vocabulary word's subwords at each layer; the results must agree.
Tokens/s counts the real (non-padding) tokens of the sentences once. Target: >= 5x more tokens/s.

    python benchmarks/extraction_speed.py [--encoder e5-small] [--sentences 120] [--layers 4 8 12]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from embedlab import corpora, encoders, extract, static


def naive(enc, sample, layers):
    """Per sentence and per layer: a forward pass, then each context word's mean subword vector summed per word."""
    sums = np.zeros((len(layers), len(sample.vocab), enc.dim), dtype=np.float64)
    for sent, occ in zip(sample.sentences, sample.occurrences):
        for li, layer in enumerate(layers):
            batch = enc.tokenizer([sent], is_split_into_words=True, truncation=True, max_length=128, return_tensors="pt")
            with torch.no_grad():
                out = enc.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                output_hidden_states=True)
            h = out.hidden_states[layer][0]
            wids = batch.word_ids(0)
            for j, v in occ:
                toks = [t for t, w in enumerate(wids) if w == j]
                if toks:
                    sums[li, v] += h[toks].mean(0).numpy()
    return sums


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="e5-small")
    ap.add_argument("--corpus", default="tr-treebank")
    ap.add_argument("--sentences", type=int, default=120)
    ap.add_argument("--layers", type=int, nargs="+", default=[4, 8, 12])
    args = ap.parse_args()
    enc = encoders.load_encoder(args.encoder)
    layers = extract.resolve_layers(enc, args.layers)
    sents = [s for s in corpora.load_corpus(args.corpus).sentences if 5 <= len(s) <= 40]
    vocab = static.shared_vocabulary(sents, 2000, 2)
    sample = extract.select_contexts(sents, vocab, max_contexts=50, max_sentences=args.sentences, seed=0)
    n_tokens = sum(len(enc.tokenizer(s, is_split_into_words=True, truncation=True, max_length=128)["input_ids"])
                   for s in sample.sentences)
    t0 = time.perf_counter()
    ours = extract.encode_contexts(enc, sample, layers, progress=False)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = naive(enc, sample, layers)
    t_naive = time.perf_counter() - t0
    diff = float(np.abs(ours.subword_sums.numpy() - base).max())
    print(f"{args.encoder}, layers {layers}, {len(sample.sentences)} sentences, {n_tokens} tokens, "
          f"{torch.get_num_threads()} torch threads")
    print(f"max |ours - naive| over word sums: {diff:.2e}")
    print(f"tokens/s: embedlab {n_tokens / t_ours:.0f}  naive per-sentence per-layer loop {n_tokens / t_naive:.0f}")
    print(f"ratio (embedlab / naive tokens/s): {t_naive / t_ours:.1f}x  (target >= 5x)")


if __name__ == "__main__":
    main()
