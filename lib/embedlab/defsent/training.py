"""Training DefSent and DefSent+ with the authors' hyperparameters as defaults; seeded and deterministic."""
from __future__ import annotations

import copy
import dataclasses
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .. import encoders
from ..choices import check_choice
from ..encoders import Encoder
from .dictionary import as_entries, headword_key, require_single_token
from .targets import EntryClassifier, entry_embeddings, isotropize, pooler_head, prediction_layer

TRAIN_HEADS = ("pooler", "none")

# DefSent learning rates by (model family, pooling): the authors' run scripts for the base models
# (hppRC/defsent, experiments/scripts/run-{bert,roberta}-base0.sh).
DEFSENT_LR = {("bert", "cls"): 2 ** -17.5, ("bert", "mean"): 2 ** -16.5, ("bert", "max"): 2 ** -16.5,
              ("roberta", "cls"): 2 ** -17.5, ("roberta", "mean"): 8e-6, ("roberta", "max"): 4e-6}


@dataclasses.dataclass
class TrainConfig:
    """Optimisation settings of one training run (field defaults: DefSent's, with the BERT mean-pooling rate)."""

    learning_rate: float = 2 ** -16.5
    batch_size: int = 16
    epochs: int = 1
    optimizer: str = "adam"      # "adam" (DefSent) or "adamw" (DefSent+)
    schedule: str = "warmup"     # "warmup": linear warm-up then constant (DefSent); "linear": linear decay (DefSent+)
    warmup_ratio: float = 0.1
    adam_eps: float = 1e-8
    max_grad_norm: float | None = None
    max_length: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, ("adam", "adamw"))
        check_choice("schedule", self.schedule, ("warmup", "linear"))
        if self.batch_size < 1 or self.epochs < 1 or not self.learning_rate > 0:
            raise ValueError(f"batch_size and epochs must be >= 1 and learning_rate > 0; got batch_size="
                             f"{self.batch_size}, epochs={self.epochs}, learning_rate={self.learning_rate}")


def model_family(encoder: Encoder) -> str:
    """``roberta`` for RoBERTa-type checkpoints, ``bert`` otherwise (selects DefSent's learning rate)."""
    return "roberta" if "roberta" in str(encoder.model.config.model_type) else "bert"


def defsent_config(encoder: Encoder, pooling: str, **overrides: Any) -> TrainConfig:
    """DefSent's settings: Adam, 10% linear warm-up then constant, batch 16, one epoch, learning rate by pooling.

    ``None`` overrides are ignored, so notebook parameters can pass ``None`` for "the paper's value".
    """
    check_choice("pooling", pooling, encoders.POOLINGS)
    kw: dict[str, Any] = {"learning_rate": DEFSENT_LR[(model_family(encoder), pooling)]}
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**kw)


def defsent_plus_config(**overrides: Any) -> TrainConfig:
    """DefSent+'s settings (authors' TrainEncoder.py): AdamW (eps 1e-6), linear decay without warm-up,
    gradient clipping 1.0, one epoch; batch size and learning rate are command-line arguments there,
    so 16 and 1e-5 here follow DefSent."""
    kw: dict[str, Any] = dict(learning_rate=1e-5, optimizer="adamw", schedule="linear", warmup_ratio=0.0,
                              adam_eps=1e-6, max_grad_norm=1.0)
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**kw)


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps: int):
    warm = int(steps * config.warmup_ratio)

    def factor(step: int) -> float:
        if step < warm:
            return step / max(1, warm)
        return 1.0 if config.schedule == "warmup" else max(0.0, (steps - step) / max(1, steps - warm))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def pooled(model: torch.nn.Module, tokenizer, texts: Sequence[str], pooling: str, max_length: int) -> torch.Tensor:
    """Pooled last-layer states ``[B, H]`` of a batch of texts (with gradients); special tokens left out of mean/max."""
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt",
                      return_special_tokens_mask=True)
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    inputs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    states = model(**inputs).last_hidden_state
    return encoders.pool(states, batch["attention_mask"], pooling, batch["special_tokens_mask"])


def train_classifier(model: torch.nn.Module, tokenizer, texts: Sequence[str], labels: Sequence[int],
                     score: torch.nn.Module, pooling: str, config: TrainConfig, prefix: str = "",
                     progress: bool = True, desc: str = "training") -> list[float]:
    """Fine-tune ``model`` so that ``score(pooled(text))`` classifies each text into its label (cross-entropy).

    Only parameters with ``requires_grad`` are updated; batches come in a seeded random order; dropout is
    on during training. Returns the loss of every step.
    """
    from tqdm.auto import tqdm

    if len(texts) == 0 or len(texts) != len(labels):
        raise ValueError(f"need one label per training text and at least one text; got {len(texts)} texts "
                         f"and {len(labels)} labels")
    torch.manual_seed(config.seed)
    score.to(next(model.parameters()).device)  # a head loaded or initialised apart from the model
    params = [p for p in [*model.parameters(), *score.parameters()] if p.requires_grad]
    opt_cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    optimizer = opt_cls(params, lr=config.learning_rate, eps=config.adam_eps)
    steps_per_epoch = -(-len(texts) // config.batch_size)
    scheduler = _scheduler(optimizer, config, steps_per_epoch * config.epochs)
    labels_t = torch.tensor(np.array(labels), dtype=torch.long)
    gen = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    model.train()
    bar = tqdm(total=steps_per_epoch * config.epochs, desc=desc, disable=not progress, leave=False)
    for _ in range(config.epochs):
        order = torch.randperm(len(texts), generator=gen)
        for start in range(0, len(texts), config.batch_size):
            idx = order[start:start + config.batch_size]
            h = pooled(model, tokenizer, [prefix + texts[i] for i in idx.tolist()], pooling, config.max_length)
            loss = F.cross_entropy(score(h), labels_t[idx].to(h.device))
            optimizer.zero_grad()
            loss.backward()
            if config.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            bar.update(1)
    bar.close()
    model.eval()
    return losses


@dataclasses.dataclass
class Trained:
    """A fine-tuned copy of an encoder, with what a report needs about its training."""

    encoder: Encoder
    variant: str
    pooling: str
    losses: list[float]
    config: TrainConfig
    n_train: int
    n_classes: int
    note: str = ""
    targets: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def _trainable_copy(encoder: Encoder, suffix: str) -> Encoder:
    return dataclasses.replace(encoder, name=f"{encoder.name}+{suffix}", model=copy.deepcopy(encoder.model))


def train_defsent(encoder: Encoder, entries: Any, pooling: str = "mean", config: TrainConfig | None = None,
                  use_mlm_head: bool | None = None, progress: bool = True) -> Trained:
    """DefSent: fine-tune a copy of ``encoder`` to predict each definition's single-token headword.

    The embedding block (token, position, type embeddings and their LayerNorm) and the tied prediction
    layer stay frozen, as in the authors' code; ``encoder`` itself is not modified.
    """
    check_choice("pooling", pooling, encoders.POOLINGS)
    df = as_entries(entries)
    token_ids = require_single_token(encoder, df)
    config = config or defsent_config(encoder, pooling)
    enc = _trainable_copy(encoder, f"defsent-{pooling}")
    enc.model.get_input_embeddings().requires_grad_(False)
    if getattr(enc.model, "embeddings", None) is not None:
        enc.model.embeddings.requires_grad_(False)
    head = prediction_layer(enc, use_mlm_head)
    losses = train_classifier(enc.model, enc.tokenizer, list(df.definition), token_ids, head, pooling, config,
                              enc.query_prefix, progress, desc=f"DefSent ({pooling})")
    return Trained(enc, "defsent", pooling, losses, config, len(df), len(set(token_ids.tolist())), head.kind)


def train_defsent_plus(encoder: Encoder, entries: Any, pooling: str = "mean", config: TrainConfig | None = None,
                       transform: str = "none", scale: float = 100.0, head: str = "pooler",
                       entry_definitions: Any = None, entry_table: tuple[list[str], np.ndarray] | None = None,
                       progress: bool = True) -> Trained:
    """DefSent+: fine-tune a copy of ``encoder`` to classify each definition into its entry (any headword length).

    Entry embeddings average the encodings, by ``encoder`` itself before training, of ``entry_definitions``
    (default: the training ``entries``; e.g. the whole dictionary, so an entry is every definition of
    its headword) and stay frozen, optionally :func:`isotropize`-d; ``entry_table`` passes precomputed
    ``(keys, averaged embeddings)`` instead. ``head="pooler"`` trains through a copy of the pooler,
    dropped afterwards, as the authors do.
    """
    check_choice("pooling", pooling, encoders.POOLINGS)
    check_choice("training head", head, TRAIN_HEADS)
    df = as_entries(entries)
    config = config or defsent_plus_config()
    if entry_table is None:
        source = df if entry_definitions is None else as_entries(entry_definitions)
        source = source[source.headword.map(headword_key).isin(set(df.headword.map(headword_key)))]
        entry_table = entry_embeddings(encoder, source, pooling, config.max_length, progress)
    names, raw = entry_table
    table = isotropize(raw, transform, scale, config.seed)
    labels = pd.Index(names).get_indexer(df.headword.map(headword_key))
    if (labels < 0).any():
        missing = sorted(set(df.headword[labels < 0]))[:5]
        raise ValueError(f"entry_definitions lack the training headword(s) {missing}: every entry needs a definition")
    enc = _trainable_copy(encoder, f"defsent+-{pooling}")
    score = EntryClassifier(table, pooler_head(enc, config.seed) if head == "pooler" else None)
    losses = train_classifier(enc.model, enc.tokenizer, list(df.definition), labels, score, pooling, config,
                              enc.query_prefix, progress, desc=f"DefSent+ ({pooling})")
    used = head if score.head is not None else "none"
    return Trained(enc, "defsent+", pooling, losses, config, len(df), len(names),
                   f"{len(names)} entries, transform={transform}, training head={used}",
                   {"entries (averaged)": raw, f"entries ({transform})": table})
