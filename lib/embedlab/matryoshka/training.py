"""Fine-tuning an embedlab encoder as a SentenceTransformer (``Transformer`` + ``Pooling``) with one variant's loss.

The loop is written here: sentence-transformers' trainer needs ``datasets`` and ``accelerate``, which
embedlab does not install.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .. import encoders, seeding
from .data import PairData, _check
from .grid import POOLINGS
from .losses import VARIANTS, build_loss


def sentence_transformer(encoder: encoders.Encoder, pooling: str = "mean", max_length: int = 64):
    """A fresh SentenceTransformer (``Transformer`` + ``Pooling``) over the encoder's weights."""
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.base.modules import Transformer
        from sentence_transformers.sentence_transformer.modules import Pooling
    except ImportError:  # sentence-transformers 5
        from sentence_transformers.models import Pooling, Transformer

    _check("pooling", pooling, POOLINGS)
    path = encoder.model.name_or_path
    if not Path(str(path)).is_dir():  # an in-memory or hub model: write it once to a temporary folder
        path = tempfile.mkdtemp(prefix="embedlab-st-")
        encoder.model.save_pretrained(path)
        encoder.tokenizer.save_pretrained(path)
    transformer = Transformer(str(path), max_seq_length=max_length)
    pool = Pooling(transformer.get_embedding_dimension(), pooling)
    return SentenceTransformer(modules=[transformer, pool], device="cuda" if torch.cuda.is_available() else "cpu")


@dataclasses.dataclass
class Training:
    """A fine-tuned encoder with its loss curve and wall time."""

    variant: str
    encoder: encoders.Encoder
    losses: list[float]
    seconds: float
    config: dict


def fine_tune(encoder: encoders.Encoder, pairs: PairData, variant: str, base: str | None = None,
              pooling: str = "mean", epochs: int = 1, batch_size: int = 32, lr: float = 2e-5,
              warmup_ratio: float = 0.1, max_length: int = 64, seed: int = 0, dims: Sequence[int] | None = None,
              layer_weighting: str = "uniform", kl_weight: float = 1.0, kl_temperature: float = 0.3,
              starbucks_pairs: Sequence[tuple[int, int]] | None = None, progress: bool = True) -> Training:
    """Fine-tune a copy of ``encoder`` with one variant's loss; same data order for every variant and seed.

    ``base`` defaults to ``cosent`` for scored pairs and ``mnrl`` for plain pairs.
    """
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    _check("variant", variant, VARIANTS)
    base = base or ("cosent" if pairs.labels is not None else "mnrl")
    if base == "cosent" and pairs.labels is None:
        raise ValueError(f"CoSENT needs scored pairs; {pairs.name!r} has none (use base='mnrl')")
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"need epochs >= 1 and batch_size >= 2, got epochs={epochs}, batch_size={batch_size}")
    seeding.seed_everything(seed)
    model = sentence_transformer(encoder, pooling, max_length)
    loss_fn = build_loss(variant, model, base, dims, layer_weighting, kl_weight, kl_temperature, starbucks_pairs, seed)
    steps = epochs * len(length_grouped_batches(pairs, batch_size, seed, 0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * steps), steps)
    prefix, history, t0 = encoder.query_prefix, [], time.perf_counter()
    model.train()
    bar = tqdm(total=steps, desc=f"training {variant}", disable=not progress, leave=False)
    for epoch in range(epochs):
        for idx in length_grouped_batches(pairs, batch_size, seed, epoch):
            features = [_features(model, [prefix + texts[i] for i in idx])
                        for texts in (pairs.texts_a, pairs.texts_b)]
            labels = None if pairs.labels is None else torch.tensor(pairs.labels[idx], device=model.device)
            loss = loss_fn(features, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            history.append(float(loss.detach()))
            bar.update(1)
    bar.close()
    model.eval()
    hf = model[0].auto_model.to(encoder.device)  # the tuned copy lives where the encoder does
    config = dict(base=base, pooling=pooling, epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length,
                  seed=seed, layer_weighting=layer_weighting, kl_weight=kl_weight, kl_temperature=kl_temperature,
                  train=pairs.name, n_pairs=len(pairs))
    tuned = encoders.Encoder(name=f"{encoder.name}+{variant}", model=hf, tokenizer=encoder.tokenizer,
                             source=f"{encoder.source}, fine-tuned ({variant}, {base}, {pairs.name})",
                             query_prefix=encoder.query_prefix)
    return Training(variant, tuned, history, time.perf_counter() - t0, config)


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


def _features(model, texts: list[str]) -> dict:
    """Tokenized features on the model's device."""
    batch = model.preprocess(texts)
    return {k: v.to(model.device) if torch.is_tensor(v) else v for k, v in batch.items()}


def train_variants(encoder: encoders.Encoder, pairs: PairData, variants: Sequence[str] = VARIANTS,
                   **kw) -> dict[str, Training]:
    """:func:`fine_tune` once per variant, each from the same starting weights, data order and seed."""
    for v in variants:
        _check("variant", v, VARIANTS)
    return {v: fine_tune(encoder, pairs, v, **kw) for v in variants}
