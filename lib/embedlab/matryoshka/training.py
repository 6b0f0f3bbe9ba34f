"""Fine-tuning an in-memory copy of an embedlab encoder with one variant's loss (:mod:`.losses`).

The loop is written here (sentence-transformers' trainer needs ``datasets`` and ``accelerate``, which embedlab does
not install). The encoder's weights are deep-copied in memory (no temporary model folder is written), trained on
:func:`embedlab.encoders.default_device` (``$EMBEDLAB_DEVICE``, else a visible GPU, else the CPU) and pooled by
:func:`embedlab.encoders.pool`, the same pooling the grid uses.
"""
from __future__ import annotations

import copy
import dataclasses
import time
from typing import Sequence

import numpy as np
import torch

from .. import encoders, progress as _progress, seeding
from .data import PairData, _check
from .losses import KL_CHOICES, VARIANTS, build_loss


@dataclasses.dataclass
class Training:
    """A fine-tuned encoder with its loss curve, per-step loss terms and wall time."""

    variant: str
    encoder: encoders.Encoder
    losses: list[float]
    seconds: float
    config: dict
    terms: list[dict] = dataclasses.field(default_factory=list)  # per step: each loss term (and 2DMSE's draws)

    def term(self, name: str = "last-full") -> np.ndarray:
        """One loss term per step (``last-full``: the base loss of the last layer at full size)."""
        return np.array([t.get(name, np.nan) for t in self.terms], float)


def fine_tune(encoder: encoders.Encoder, pairs: PairData, variant: str, base: str | None = None,
              pooling: str = "mean", epochs: int = 1, batch_size: int = 32, lr: float = 2e-5,
              warmup_ratio: float = 0.1, max_length: int = 64, seed: int = 0, dims: Sequence[int] | None = None,
              layer_weighting: str = "uniform", kl_2dmse: str = "angle", kl_srl: str = "starbucks",
              kl_weight: float = 1.0, srl_pairs: Sequence[tuple[int, int]] | None = None,
              device: str | None = None, progress: bool = True, starbucks_pairs=None,
              precision: str = "float32") -> Training:
    """Fine-tune an in-memory copy of ``encoder`` with one variant's loss; every variant trained with the same
    ``seed`` sees the same batches in the same order (the seed also sets dropout and 2DMSE's draws).

    ``base`` defaults to ``cosent`` for scored pairs and ``mnrl`` for plain pairs. ``precision``: the encoder's
    forward pass in ``float32`` or under ``bfloat16`` autocast (:mod:`.losses`). ``starbucks_pairs`` is an old
    name of ``srl_pairs``.
    """
    from transformers import get_linear_schedule_with_warmup

    _check("variant", variant, VARIANTS)
    _check("KL convention", kl_2dmse, KL_CHOICES)
    _check("KL convention", kl_srl, KL_CHOICES)
    base = base or ("cosent" if pairs.labels is not None else "mnrl")
    if base == "cosent" and pairs.labels is None:
        raise ValueError(f"CoSENT needs scored pairs; {pairs.name!r} has none (use base='mnrl')")
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"need epochs >= 1 and batch_size >= 2, got epochs={epochs}, batch_size={batch_size}")
    seeding.seed_everything(seed)
    device = device or encoders.default_device()
    model = copy.deepcopy(encoder.model).to(device)
    loss_fn = build_loss(variant, model, base, dims, layer_weighting, kl_2dmse, kl_srl, kl_weight,
                         srl_pairs or starbucks_pairs, seed, pooling, precision)
    steps = epochs * len(length_grouped_batches(pairs, batch_size, seed, 0))
    # fused: one pass over the weights per step (5x faster on a CPU than the per-tensor default; the weights agree
    # with it to ~2e-7 after 20 steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01,
                                  fused=torch.device(device).type in ("cpu", "cuda"))
    schedule = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * steps), steps)
    prefix, history, terms, t0 = encoder.query_prefix, [], [], time.perf_counter()
    model.train()
    batches = [(e, idx) for e in range(epochs) for idx in length_grouped_batches(pairs, batch_size, seed, e)]
    it = _progress.bar(batches, desc=f"training {variant}", unit="step") if progress else batches
    for _, idx in it:
        features = [_features(encoder.tokenizer, [prefix + texts[i] for i in idx], max_length, device)
                    for texts in (pairs.texts_a, pairs.texts_b)]
        labels = None if pairs.labels is None else torch.tensor(pairs.labels[idx], device=device)
        loss = loss_fn(features, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        history.append(float(loss.detach()))
        terms.append(dict(loss_fn.terms))
    model.eval()
    config = dict(base=base, pooling=pooling, epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length,
                  seed=seed, precision=precision, layer_weighting=layer_weighting, kl_2dmse=kl_2dmse, kl_srl=kl_srl,
                  kl_weight=kl_weight, train=pairs.name, n_pairs=len(pairs), device=str(device))
    tuned = encoders.Encoder(name=f"{encoder.name}+{variant}", model=model, tokenizer=encoder.tokenizer,
                             source=f"{encoder.source}, fine-tuned ({variant}, {base}, {pairs.name})",
                             query_prefix=encoder.query_prefix)
    return Training(variant, tuned, history, time.perf_counter() - t0, config, terms)


def length_grouped_batches(pairs: PairData, batch_size: int, seed: int = 0, epoch: int = 0) -> list[np.ndarray]:
    """Seeded shuffled batches of pairs of similar length (each run of 16 batches sorted by length), so
    little compute goes to padding; batches of fewer than two pairs are dropped."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(pairs))
    lengths = np.array([len(a) + len(b) for a, b in zip(pairs.texts_a, pairs.texts_b)])
    batches = []
    for start in range(0, len(order), 16 * batch_size):
        chunk = order[start:start + 16 * batch_size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches)) if len(batches[i]) >= 2]


def _features(tokenizer, texts: list[str], max_length: int, device) -> dict:
    """Tokenized features on ``device``."""
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}


def train_variants(encoder: encoders.Encoder, pairs: PairData, variants: Sequence[str] = VARIANTS,
                   **kw) -> dict[str, Training]:
    """:func:`fine_tune` once per variant, each from the same starting weights, data order and seed."""
    for v in variants:
        _check("variant", v, VARIANTS)
    return {v: fine_tune(encoder, pairs, v, **kw) for v in variants}
