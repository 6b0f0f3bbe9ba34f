"""Contextual extraction speed: embedlab's corpus pass (:func:`embedlab.extract.context_pass`, what aggregate-CLS,
aggregate-subword and X2Static's teacher read) against the strongest pass a competent user would write, in float32
and in bfloat16, and the share of this machine's matmul peak each reaches.

The user's pass: sentences sorted by token length, batches of 32 tokenized with padding, ``torch.inference_mode``,
one forward with the hidden states, the mean token vector of each sentence at the requested layers; in bfloat16 the
same under ``torch.autocast`` (the precision our pass runs in). Ours: tokenized once, the same length-sorted order
and precision, batches of short sentences grown to 2,048 padded tokens (:func:`embedlab.encoders.length_batches`),
the Linear weights cast once per pass instead of at every call. Both must give the same sentence
means (cosine printed). Every round runs both sides in both precisions and measures the float32 and bfloat16 matmul
peaks (:func:`_common.matmul_peak`), the order rotated, so load falls on all alike. The peak fraction is the model's
FLOPs (2 x the Transformer layers' weights per token, plus the attention products at each sentence's own length) per
second over that round's peak. Targets: bfloat16 >= 70% of its peak, float32 >= 65%. Last, one profiled pass per
precision says where the time goes and how fast the Linear layers' matmuls alone run (the ceiling of the pass).

    python benchmarks/extraction_speed.py [--encoder e5-small] [--corpus tr-treebank] [--sentences 800] [--repeats 3]
"""
from __future__ import annotations

import os

os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _common import interleave, load_average, matmul_peak, ratio, spread  # noqa: E402
from embedlab import corpora, encoders, extract  # noqa: E402

TARGETS = {"float32": 0.65, "bfloat16": 0.70}


def user_pass(enc, sentences, layers, precision, batch_size=32, max_length=128):
    """A competent user's pass: length-sorted batches, inference_mode, autocast for bfloat16, per-layer means."""
    tok = enc.tokenizer
    lengths = [len(x) for x in tok(sentences, is_split_into_words=True, truncation=True, max_length=max_length)["input_ids"]]
    order = np.argsort(lengths)[::-1]
    out = np.zeros((len(layers), len(sentences), enc.dim), dtype=np.float32)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bfloat16" else torch.autocast("cpu", enabled=False)
    with torch.inference_mode(), ctx:
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            batch = tok([sentences[i] for i in idx], is_split_into_words=True, padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
            hs = enc.model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].unsqueeze(-1).float()
            for li, layer in enumerate(layers):
                out[li, idx] = ((hs[layer].float() * mask).sum(1) / mask.sum(1)).numpy()
    return out


def model_flops(enc, lengths: np.ndarray) -> float:
    """FLOPs of a forward pass over sentences of the given token lengths (no padding): 2 x layer weights per
    token, plus QK^T and attention x V (4 x T x H per token per layer)."""
    weights = sum(p.numel() for name, p in enc.model.named_parameters()
                  if ".layer." in name and name.endswith("weight") and p.dim() == 2)
    return float(2 * weights * lengths.sum() + 4 * enc.n_layers * enc.dim * (lengths.astype(np.float64) ** 2).sum())


def breakdown(enc, sents, rows, layers, precision: str, peak: float) -> None:
    """Where one pass spends its time (torch profiler, self time per op), and the GFLOP/s of the Linear layers'
    matmuls alone (their FLOPs over the padded tokens they ran on) against the matmul ``peak``."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        extract.context_pass(enc, sents, rows, layers, precision=precision, progress=False, cache=False)
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in ops)
    print(f"{precision} pass, share of its time by op: " + ", ".join(
        f"{e.key.replace('aten::', '')} {e.self_cpu_time_total / total:.0%}" for e in ops[:6]))
    lengths = encoders.tokenize(enc, sents, 128, split_into_words=True).lengths
    ordered = np.sort(lengths)[::-1]
    padded = sum((b - a) * int(ordered[a]) for a, b in encoders.length_batches(ordered, 32))
    weights = sum(p.numel() for name, p in enc.model.named_parameters()
                  if ".layer." in name and name.endswith("weight") and p.dim() == 2)
    addmm = sum(e.self_cpu_time_total for e in ops if e.key == "aten::addmm") / 1e6
    rate = 2 * weights * padded / addmm / 1e9
    print(f"  the Linear layers' matmuls alone: {rate:.0f} GFLOP/s on {padded} padded tokens, {rate / peak:.0%} of "
          f"the {precision} peak ({peak:.0f} GFLOP/s): the ceiling of a pass whose other ops took no time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="e5-small")
    ap.add_argument("--corpus", default="tr-treebank")
    ap.add_argument("--sentences", type=int, default=800)
    ap.add_argument("--layers", type=int, nargs="+", default=[-1])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    enc = encoders.load_encoder(args.encoder)
    layers = extract.resolve_layers(enc, args.layers)
    sents = [s for s in corpora.load_corpus(args.corpus).sentences if s][:args.sentences]
    lengths = encoders.tokenize(enc, sents, 128, split_into_words=True).lengths
    flops, n_tokens = model_flops(enc, lengths), int(lengths.sum())
    rows = np.arange(len(sents))

    def ours(p):
        return lambda: np.asarray(extract.context_pass(enc, sents, rows, layers, precision=p, progress=False,
                                                       cache=False).means)

    passes = {"peak float32": lambda: matmul_peak(torch.float32), "peak bfloat16": lambda: matmul_peak(torch.bfloat16)}
    for p in ("float32", "bfloat16"):
        passes[f"embedlab {p}"] = ours(p)
        passes[f"user {p}"] = (lambda p=p: user_pass(enc, sents, layers, p))
    print(f"load average before: {load_average()}; {torch.get_num_threads()} torch threads")
    times, got = interleave(passes, args.repeats, keep_all=True)
    print(f"{args.encoder}, layers {layers}, {len(sents)} sentences of {args.corpus}, {n_tokens} tokens (mean "
          f"{lengths.mean():.1f}), {flops / n_tokens / 1e6:.1f} MFLOP/token")
    for p in ("float32", "bfloat16"):
        a, b = got[f"embedlab {p}"][-1].reshape(-1, enc.dim), got[f"user {p}"][-1].reshape(-1, enc.dim)
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        print(f"{p}: embedlab vs user sentence means: min cosine {cos.min():.6f}, max |diff| {np.abs(a - b).max():.2e}")
    for p in ("float32", "bfloat16"):
        peaks = got[f"peak {p}"]                          # each round's own peak
        for who in ("embedlab", "user"):
            t = times[f"{who} {p}"]
            fr = [flops / x / 1e9 / pk for x, pk in zip(t, peaks)]
            print(f"{who} {p}: {spread(t)}, {n_tokens / statistics.median(t):.0f} tokens/s, "
                  f"{statistics.median(fr):.0%} of the {p} peak (rounds {min(fr):.0%}-{max(fr):.0%})")
        print(f"{p} matmul peak per round: {', '.join(f'{x:.0f}' for x in peaks)} GFLOP/s; target >= "
              f"{TARGETS[p]:.0%} of it")
        print(f"ratio embedlab / user {p}: {ratio(times[f'user {p}'], times[f'embedlab {p}'])}")
    for p in ("float32", "bfloat16"):
        breakdown(enc, sents, rows, layers, p, statistics.median(got[f"peak {p}"]))
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
