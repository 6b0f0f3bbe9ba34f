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
from .. import progress as _progress
from ..choices import check_choice
from ..encoders import Encoder
from .dictionary import as_entries, headword_key, require_single_token
from .targets import EntryClassifier, entry_embeddings, isotropize, pooler_head, prediction_layer, with_trained_transform

TRAIN_HEADS = ("pooler", "none")

# DefSent learning rates by (model family, pooling): the authors' run scripts for the base models
# (hppRC/defsent @ d488c2d, experiments/scripts/run-{bert,roberta}-base0.sh): 5.656854249492381e-06 = 4e-6*sqrt(2),
# 1.1313708498984761e-05 = 8e-6*sqrt(2); RoBERTa mean 8e-6 and max 4e-6.
DEFSENT_LR = {("bert", "cls"): 4e-6 * 2 ** 0.5, ("bert", "mean"): 8e-6 * 2 ** 0.5, ("bert", "max"): 8e-6 * 2 ** 0.5,
              ("roberta", "cls"): 4e-6 * 2 ** 0.5, ("roberta", "mean"): 8e-6, ("roberta", "max"): 4e-6}
DEFSENT_PLUS_LR = 1e-5  # a command-line argument in the authors' TrainEncoder.py (their examples: 1e-6 to 2e-5)


@dataclasses.dataclass
class TrainConfig:
    """Optimisation settings of one training run (field defaults: DefSent's, with the BERT mean-pooling rate)."""

    learning_rate: float = 8e-6 * 2 ** 0.5
    head_learning_rate: float | None = None  # the trainable scoring head's rate; None: learning_rate (the authors')
    batch_size: int = 16
    epochs: int = 1
    optimizer: str = "adam"      # "adam" (DefSent) or "adamw" (DefSent+)
    schedule: str = "warmup"     # "warmup": linear warm-up then constant (DefSent); "linear": linear decay (DefSent+)
    warmup_ratio: float = 0.1
    adam_eps: float = 1e-8
    max_grad_norm: float | None = None
    max_length: int = 64
    seed: int = 0
    precision: str = "float32"   # the forward pass in training: float32, or bfloat16 autocast (float32 weights, loss)

    def __post_init__(self) -> None:
        check_choice("precision", self.precision, ("float32", "bfloat16"))
        check_choice("optimizer", self.optimizer, ("adam", "adamw"))
        check_choice("schedule", self.schedule, ("warmup", "linear"))
        if self.head_learning_rate is not None and not self.head_learning_rate > 0:
            raise ValueError(f"head_learning_rate must be > 0 or None; got {self.head_learning_rate}")
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
    gradient clipping 1.0, one epoch, weight decay 0 (transformers' AdamW); batch 32 as in the authors' readme;
    the learning rate is a command-line argument there (1e-5 here)."""
    kw: dict[str, Any] = dict(learning_rate=DEFSENT_PLUS_LR, batch_size=32, optimizer="adamw", schedule="linear",
                              warmup_ratio=0.0,
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
    """Pooled last-layer states ``[B, H]`` of a batch of texts (with gradients); mean/max run over every
    non-padding token, special tokens included, as both authors' code does."""
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    inputs = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    states = model(**inputs).last_hidden_state
    return encoders.pool(states, batch["attention_mask"], pooling)


def train_classifier(model: torch.nn.Module, tokenizer, texts: Sequence[str], labels: Sequence[int],
                     score: torch.nn.Module, pooling: str, config: TrainConfig, prefix: str = "",
                     progress: bool = True, desc: str = "training") -> list[float]:
    """Fine-tune ``model`` so that ``score(pooled(text))`` classifies each text into its label (cross-entropy).

    Only parameters with ``requires_grad`` are updated (those of ``score`` at ``config.head_learning_rate`` when
    it is set); batches come in a seeded random order; dropout is on during training; the forward pass runs under
    bfloat16 autocast when ``config.precision`` says so (the loss in float32). Returns every step's loss.
    """
    if len(texts) == 0 or len(texts) != len(labels):
        raise ValueError(f"need one label per training text and at least one text; got {len(texts)} texts "
                         f"and {len(labels)} labels")
    torch.manual_seed(config.seed)
    score.to(next(model.parameters()).device)  # a head loaded or initialised apart from the model
    body = [p for p in model.parameters() if p.requires_grad]
    head = [p for p in score.parameters() if p.requires_grad]
    params = body + head
    groups = [{"params": body}, {"params": head, "lr": config.head_learning_rate or config.learning_rate}]
    opt_cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    # fused: one pass over the weights per step (5x faster on a CPU than the per-tensor default, which is most of a
    # step for a 250k-token embedding matrix; the weights agree with it to ~2e-7 after 20 steps)
    optimizer = opt_cls([g for g in groups if g["params"]], lr=config.learning_rate, eps=config.adam_eps,
                        weight_decay=0.0, fused=next(model.parameters()).device.type in ("cpu", "cuda"))
    steps_per_epoch = -(-len(texts) // config.batch_size)
    scheduler = _scheduler(optimizer, config, steps_per_epoch * config.epochs)
    labels_t = torch.tensor(np.array(labels), dtype=torch.long)
    gen = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    model.train()
    batches = [order[start:start + config.batch_size] for order in
               (torch.randperm(len(texts), generator=gen) for _ in range(config.epochs))
               for start in range(0, len(texts), config.batch_size)]
    device = next(model.parameters()).device.type
    for idx in (_progress.bar(batches, desc=desc, unit="step") if progress else batches):
        with torch.autocast(device, dtype=torch.bfloat16, enabled=config.precision == "bfloat16"):
            h = pooled(model, tokenizer, [prefix + texts[i] for i in idx.tolist()], pooling, config.max_length)
            logits = score(h)
        loss = F.cross_entropy(logits.float(), labels_t[idx].to(h.device))
        optimizer.zero_grad()
        loss.backward()
        if config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
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
    head: Any = None  # DefSent: the prediction layer it was trained against (with its trained transform, if any)


def _trainable_copy(encoder: Encoder, suffix: str) -> Encoder:
    return dataclasses.replace(encoder, name=f"{encoder.name}+{suffix}", model=copy.deepcopy(encoder.model))


def train_defsent(encoder: Encoder, entries: Any, pooling: str = "mean", config: TrainConfig | None = None,
                  use_mlm_head: bool | None = None, progress: bool = True) -> Trained:
    """DefSent: fine-tune a copy of ``encoder`` to predict each definition's single-token headword.

    The embedding block (token, position, type embeddings and their LayerNorm) and the tied prediction
    layer stay frozen, as in the authors' code; ``encoder`` itself is not modified. With
    ``config.head_learning_rate`` set and no MLM head shipped, a linear transform in front of the token embeddings
    (identity at the start) is trained at that rate, standing in for the frozen pretrained MLM transform.
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
    if config.head_learning_rate is not None:
        head = with_trained_transform(head)
    losses = train_classifier(enc.model, enc.tokenizer, list(df.definition), token_ids, head, pooling, config,
                              enc.query_prefix, progress, desc=f"DefSent ({pooling})")
    head.eval()
    note = head.kind + (f" at lr {config.head_learning_rate:g}" if config.head_learning_rate is not None else "")
    return Trained(enc, "defsent", pooling, losses, config, len(df), len(set(token_ids.tolist())), note, head=head)


def train_defsent_plus(encoder: Encoder, entries: Any, pooling: str = "mean", config: TrainConfig | None = None,
                       transform: str = "ica", scale: float = 100.0, head: str = "pooler",
                       entry_definitions: Any = None, entry_table: tuple[list[str], np.ndarray] | None = None,
                       progress: bool = True, language: str = "en", ica_max_iter: int = 1000,
                       entry_encoder: Encoder | None = None, stage: int = 1) -> Trained:
    """DefSent+: fine-tune a copy of ``encoder`` to classify each definition into its entry (any headword length).

    Entry embeddings average the encodings, by ``entry_encoder`` (default: ``encoder`` itself before training),
    of ``entry_definitions`` (default: the training ``entries``) and stay frozen, tied as a bias-free linear head;
    ``transform="ica"`` (default, the authors' ICA-transform.py) standardizes them, applies FastICA and
    multiplies by ``scale`` (100), which gives the logits their range: raw averaged encodings are nearly
    parallel, so with ``transform="none"`` every entry scores about the same and the loss stays at ln N.
    ``entry_table`` passes precomputed ``(keys, averaged embeddings)`` instead. ``head="pooler"`` trains through
    a copy of the pooler (RoBERTa: the MLM head's dense + GELU), dropped afterwards, as the authors do.
    """
    check_choice("pooling", pooling, encoders.POOLINGS)
    check_choice("training head", head, TRAIN_HEADS)
    df = as_entries(entries)
    config = config or defsent_plus_config()

    def key(w: str) -> str:
        return headword_key(w, language)
    if entry_table is None:
        source = df if entry_definitions is None else as_entries(entry_definitions)
        source = source[source.headword.map(key).isin(set(df.headword.map(key)))]
        entry_table = entry_embeddings(entry_encoder or encoder, source, pooling, config.max_length, progress,
                                       language)
    names, raw = entry_table
    table = isotropize(raw, transform, scale, 42, ica_max_iter)
    labels = pd.Index(names).get_indexer(df.headword.map(key))
    if (labels < 0).any():
        missing = sorted(set(df.headword[labels < 0]))[:5]
        raise ValueError(f"entry_definitions lack the training headword(s) {missing}: every entry needs a definition")
    enc = _trainable_copy(encoder, f"defsent+-{pooling}" + (f"-stage{stage}" if stage > 1 else ""))
    score = EntryClassifier(table, pooler_head(enc, config.seed) if head == "pooler" else None)
    losses = train_classifier(enc.model, enc.tokenizer, list(df.definition), labels, score, pooling, config,
                              enc.query_prefix, progress, desc=f"DefSent+ ({pooling}, stage {stage})")
    used = head if score.head is not None else "none"
    return Trained(enc, "defsent+", pooling, losses, config, len(df), len(names),
                   f"stage {stage}: {len(names)} entries from {(entry_encoder or encoder).name}, "
                   f"transform={transform}, training head={used}"
                   + (f" at lr {config.head_learning_rate:g}" if config.head_learning_rate and used != "none" else ""),
                   {"entries (averaged)": raw, f"entries ({transform})": table})


def progressive_separate_training(encoder: Encoder, entries: Any, stages: int = 2, pooling: str = "mean",
                                  config: TrainConfig | None = None, entry_definitions: Any = None,
                                  on_stage=None, first_entries: tuple[list[str], np.ndarray] | None = None,
                                  **kwargs: Any) -> list[Trained]:
    """DefSent+'s progressive separate training (PST): stage 1 builds the entries with ``encoder`` and trains a
    copy of it; stage k rebuilds the entries with the encoder trained at stage k-1 and trains a fresh copy of the
    ORIGINAL ``encoder`` against them. ``first_entries``: stage 1's ``(keys, averaged embeddings)`` when already
    computed (they depend on ``encoder`` and the definitions only, not on the training seed). ``on_stage(trained)``
    is called after each stage (e.g. to evaluate); only the previous stage's encoder is kept alive. Returns every
    stage's :class:`Trained` (encoders of all but the last released when ``on_stage`` is given)."""
    if stages < 1:
        raise ValueError(f"PST needs at least one stage; got {stages}")
    out: list[Trained] = []
    previous: Encoder | None = None
    for k in range(1, stages + 1):
        t = train_defsent_plus(encoder, entries, pooling, config, entry_definitions=entry_definitions,
                               entry_table=first_entries if k == 1 else None, entry_encoder=previous, stage=k,
                               **kwargs)
        if on_stage is not None:
            on_stage(t)
        if previous is not None and on_stage is not None and out:
            out[-1].encoder = dataclasses.replace(out[-1].encoder, model=None)  # free the stage k-1 model
        previous = t.encoder
        out.append(t)
    return out
