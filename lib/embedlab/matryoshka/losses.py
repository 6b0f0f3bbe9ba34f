"""Training losses on pooled (layer, leading dims) embeddings of one forward pass.

Every variant applies a base loss from sentence-transformers (``CoSENTLoss`` for scored pairs,
``MultipleNegativesRankingLoss`` for plain pairs; their ``compute_loss_from_embeddings``) to sentence embeddings
pooled by :func:`embedlab.encoders.pool` (the one pooling implementation) from the hidden states of one forward
pass per text column:

* ``baseline``: the last layer at full size.
* ``mrl``: the last layer at every dimension of the ladder, each weighted 1 (as sentence-transformers'
  ``MatryoshkaLoss`` with its default weights).
* ``2dmse``: 2D Matryoshka (Li et al. 2024, AnglE's ``AngleTDMSETrainer``): the last layer at full size and at a
  sampled dimension ``d``, the same two at a sampled shallower layer ``i`` (uniform weight, or ESE's
  1 / (1 + ln(1 + i)), :func:`layer_weight`), and a KL term pulling layer ``i`` toward the last layer at full size.
* ``srl``: the Starbucks loss (Zhuang et al. 2024, ``sts/starbucks_loss.py``) *without* its masked-autoencoder
  pretraining, i.e. what the paper calls BERT-SRL: the base loss at every fixed (layer, dim) pair of the diagonal
  plus, for every shallower pair, a KL term to the last layer truncated to the same dims.

KL term (:func:`kl_term`): the two text columns are concatenated and the KL divergence is averaged over all rows
(``batchmean`` over ``2B``), as in sentence-transformers' ``AdaptiveLayerLoss``, Starbucks and AnglE (which encode
both columns as one batch). Temperature, scaling and whether the teacher is detached follow one of the
reference implementations (:data:`KL_CONVENTIONS`).

Precision: ``bfloat16`` runs the encoder's forward pass under ``torch.autocast`` (mixed precision: the weights,
their gradients' accumulation, AdamW and every loss term stay float32; the pooled embeddings are cast back to
float32 before the base loss and the KL term), ``float32`` runs it plainly.

Each loss keeps the terms of its last step in ``self.terms`` (``last-full`` is the base loss of the last layer at
full size, a quantity every variant computes and which is comparable across steps and variants).
"""
from __future__ import annotations

import dataclasses
import math
import random
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .. import encoders
from .data import _check
from .grid import dim_ladder

VARIANTS = ("baseline", "mrl", "2dmse", "srl")
BASE_LOSSES = ("cosent", "mnrl")
LAYER_WEIGHTINGS = ("uniform", "log")
TRAIN_PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}  # autocast dtype of the training forward pass


@dataclasses.dataclass(frozen=True)
class KLConvention:
    """How a reference implementation computes its layer-alignment KL term."""

    name: str
    temperature: float  # softmax(x / temperature) when ``divide``
    divide: bool  # divide the embeddings by the temperature before the softmax
    scale: float  # the KL term is multiplied by this (times the study's kl_weight)
    detach_teacher: bool
    source: str

    def describe(self) -> str:
        soft = f"softmax(x / {self.temperature:g})" if self.divide else "softmax(x)"
        return (f"{self.name}: KL(teacher || student) of {soft} over dimensions, batch mean over both text columns, "
                f"x {self.scale:g}, teacher {'detached' if self.detach_teacher else 'not detached'} ({self.source})")


KL_CONVENTIONS = {
    "angle": KLConvention("angle", 1.0, True, 1.0, False,
                          "AnglE AngleTDMSETrainer: T = 1, x T^2, teacher not detached"),
    "starbucks": KLConvention("starbucks", 0.3, False, 0.3, False,
                              "Starbucks starbucks_loss.py: no division by T, x kl_temperature = 0.3, "
                              "teacher cloned, not detached"),
    "sentence-transformers": KLConvention("sentence-transformers", 0.3, True, 0.3, True,
                                          "sentence-transformers AdaptiveLayerLoss: T = 0.3, x T, teacher detached"),
}
KL_CHOICES = (*KL_CONVENTIONS, "none")


def kl_term(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor], convention: str | KLConvention,
            dim: int | None = None) -> torch.Tensor:
    """KL(teacher || student) over dimensions for the columns of one step, averaged over all ``2B`` rows.

    ``student``/``teacher``: one ``[B, H]`` tensor per text column; ``dim`` truncates both to the leading dims.
    """
    conv = KL_CONVENTIONS[convention] if isinstance(convention, str) else convention
    s, t = torch.cat(list(student), 0), torch.cat(list(teacher), 0)
    if dim is not None:
        s, t = s[:, :dim], t[:, :dim]
    if conv.detach_teacher:
        t = t.detach()
    if conv.divide:
        s, t = s / conv.temperature, t / conv.temperature
    return F.kl_div(F.log_softmax(s, dim=-1), F.softmax(t, dim=-1), reduction="batchmean") * conv.scale


def layer_weight(layer: int, scheme: str = "uniform") -> float:
    """Weight of a shallow layer's loss: ``uniform`` 1, ``log`` 1 / (1 + ln(1 + i)) (ESE).

    ``i`` is the hidden-state index (0 = the input embeddings, 1..L = the Transformer layers), embedlab's layer
    numbering and the index both references weight: AnglE's ``AngleESETrainer`` (``all_layer_outputs`` are the
    model's ``hidden_states``) and sentence-transformers' ``AdaptiveLayerLoss`` / ``Matryoshka2dLoss``
    (``layer_weighting="log"``; index 0 is the embedding layer output).
    """
    _check("layer weighting", scheme, LAYER_WEIGHTINGS)
    if layer < 0:
        raise ValueError(f"layer {layer} out of range: layers start at 0 (the input embeddings)")
    return 1.0 if scheme == "uniform" else 1.0 / (1.0 + math.log(1 + layer))


def starbucks_diagonal(n_layers: int, full_dim: int, n_pairs: int = 6, smallest: int = 8) -> list[tuple[int, int]]:
    """Starbucks' fixed (layer, dim) pairs, small to large: evenly spaced layers ending at the last, the
    ladder's largest dimensions (BERT-base: (2, 32), (4, 64), ..., (12, 768))."""
    ladder = dim_ladder(full_dim, smallest)
    n = min(n_pairs, n_layers, len(ladder))
    if n < 1:
        raise ValueError(f"no Starbucks pairs for {n_layers} layers and {full_dim} dims")
    return [(round(k * n_layers / n), d) for k, d in zip(range(1, n + 1), ladder[-n:])]


def base_loss(name: str) -> nn.Module:
    """sentence-transformers' CoSENT or MultipleNegativesRanking loss, used on precomputed embeddings only."""
    try:
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # sentence-transformers 5
        from sentence_transformers import losses

    _check("base loss", name, BASE_LOSSES)
    return losses.CoSENTLoss(None) if name == "cosent" else losses.MultipleNegativesRankingLoss(None)


class LayerDimLoss(nn.Module):
    """A base loss applied to pooled (layer, leading dims) embeddings of one forward pass per text column."""

    def __init__(self, model: nn.Module, loss: nn.Module, pooling: str = "mean", precision: str = "float32") -> None:
        super().__init__()
        if not hasattr(loss, "compute_loss_from_embeddings"):
            raise ValueError(f"{type(loss).__name__} cannot score precomputed embeddings; use CoSENTLoss or "
                             "MultipleNegativesRankingLoss")
        _check("pooling", pooling, encoders.POOLINGS)
        _check("training precision", precision, TRAIN_PRECISIONS)
        self.model, self.loss, self.pooling, self.precision = model, loss, pooling, precision
        self.n_layers = int(model.config.num_hidden_layers)
        self.full_dim = int(model.config.hidden_size)
        self.terms: dict[str, float] = {}

    def layer_embeddings(self, sentence_features, layers: Sequence[int]) -> dict[int, list[torch.Tensor]]:
        """``{layer: [embeddings of each column]}`` pooled by :func:`embedlab.encoders.pool`."""
        out: dict[int, list[torch.Tensor]] = {l: [] for l in layers}
        dtype = TRAIN_PRECISIONS[self.precision]
        for f in sentence_features:
            inputs = {k: f[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in f}
            with torch.autocast(f["input_ids"].device.type, dtype=dtype, enabled=dtype is not None):
                hidden = self.model(**inputs, output_hidden_states=True).hidden_states
            for l in layers:  # float32 from here on (a no-op without autocast)
                out[l].append(encoders.pool(hidden[l].float(), f["attention_mask"], self.pooling))
        return out

    def cell(self, embeddings: list[torch.Tensor], dim: int, labels) -> torch.Tensor:
        """The base loss on the leading ``dim`` dimensions."""
        return self.loss.compute_loss_from_embeddings([e[:, :dim] for e in embeddings], labels)

    def _total(self, parts: dict[str, torch.Tensor], weights: dict[str, float] | None = None) -> torch.Tensor:
        weights = weights or {}
        self.terms = {k: float(v.detach()) for k, v in parts.items()}
        return sum(weights.get(k, 1.0) * v for k, v in parts.items())


class BaselineLoss(LayerDimLoss):
    """The base loss at the last layer, full size."""

    def forward(self, sentence_features, labels) -> torch.Tensor:
        emb = self.layer_embeddings(sentence_features, [self.n_layers])
        return self._total({"last-full": self.cell(emb[self.n_layers], self.full_dim, labels)})


class MatryoshkaDimLoss(LayerDimLoss):
    """MRL: the base loss at the last layer for every dimension of the ladder, each weighted 1."""

    def __init__(self, model, loss, dims: Sequence[int], pooling: str = "mean", precision: str = "float32") -> None:
        super().__init__(model, loss, pooling, precision)
        self.dims = sorted({int(d) for d in dims if d <= self.full_dim} | {self.full_dim}, reverse=True)

    def forward(self, sentence_features, labels) -> torch.Tensor:
        emb = self.layer_embeddings(sentence_features, [self.n_layers])[self.n_layers]
        return self._total({("last-full" if d == self.full_dim else f"last-{d}"): self.cell(emb, d, labels)
                            for d in self.dims})


class TwoDMatryoshkaLoss(LayerDimLoss):
    """2DMSE: full-size last-layer loss, the loss at a sampled dimension ``d`` of the last layer, the same two at
    one sampled shallower layer ``i`` (weighted by :func:`layer_weight`), and KL alignment of layer ``i`` to the
    last layer at full size (:func:`kl_term`).

    Written here because sentence-transformers' ``Matryoshka2dLoss`` samples the last layer's dimension too (its
    full-size loss is not always computed) and may sample the input-embedding layer as the shallow one (AnglE's
    2DMSE trainer draws ``i`` from 1..L-1, as this loss does). Its ``log`` weighting is the same as ours.
    """

    def __init__(self, model, loss, dims: Sequence[int], layer_weighting: str = "uniform", kl: str = "angle",
                 kl_weight: float = 1.0, seed: int = 0, pooling: str = "mean", precision: str = "float32") -> None:
        super().__init__(model, loss, pooling, precision)
        _check("layer weighting", layer_weighting, LAYER_WEIGHTINGS)
        _check("KL convention", kl, KL_CHOICES)
        if self.n_layers < 2:
            raise ValueError("2DMSE needs a model with at least two layers")
        self.dims = [d for d in dims if d < self.full_dim] or [self.full_dim]
        self.layer_weighting, self.kl, self.kl_weight = layer_weighting, kl, kl_weight
        self.rng = random.Random(seed)
        self.draws: list[tuple[int, int]] = []

    def forward(self, sentence_features, labels) -> torch.Tensor:
        """One step's loss; the shallow layer and the dimension are drawn from the loss's own seeded RNG."""
        i, d = self.rng.randint(1, self.n_layers - 1), self.rng.choice(self.dims)
        self.draws.append((i, d))
        last, full = self.n_layers, self.full_dim
        emb = self.layer_embeddings(sentence_features, [i, last])
        w = layer_weight(i, self.layer_weighting)
        parts = {"last-full": self.cell(emb[last], full, labels), "last-d": self.cell(emb[last], d, labels),
                 "shallow-full": self.cell(emb[i], full, labels), "shallow-d": self.cell(emb[i], d, labels)}
        weights = {"shallow-full": w, "shallow-d": w}
        if self.kl != "none" and self.kl_weight > 0:
            parts["kl"] = kl_term(emb[i], emb[last], self.kl)
            weights["kl"] = self.kl_weight
        out = self._total(parts, weights)
        self.terms.update(layer=i, dim=d)
        return out


class SRLLoss(LayerDimLoss):
    """Starbucks Representation Learning loss (no SMAE pretraining): the base loss at every fixed (layer, dim)
    pair, each weighted 1, plus for every shallower pair a KL term to the last layer cut to the same dims."""

    def __init__(self, model, loss, pairs: Sequence[tuple[int, int]], kl: str = "starbucks", kl_weight: float = 1.0,
                 pooling: str = "mean", precision: str = "float32") -> None:
        super().__init__(model, loss, pooling, precision)
        _check("KL convention", kl, KL_CHOICES)
        bad = [(l, d) for l, d in pairs if not (1 <= l <= self.n_layers and 1 <= d <= self.full_dim)]
        if not pairs or bad:
            raise ValueError(f"Starbucks pairs {bad or list(pairs)} out of range: layers 1..{self.n_layers}, "
                             f"dims 1..{self.full_dim}")
        self.pairs, self.kl, self.kl_weight = [tuple(p) for p in pairs], kl, kl_weight
        if (self.n_layers, self.full_dim) not in self.pairs:  # the full model is always trained (Starbucks' 'loss')
            self.pairs.append((self.n_layers, self.full_dim))

    def forward(self, sentence_features, labels) -> torch.Tensor:
        """Sum of the base loss over the pairs (plus KL) from one forward pass per column."""
        last = self.n_layers
        emb = self.layer_embeddings(sentence_features, sorted({l for l, _ in self.pairs} | {last}))
        parts, weights = {}, {}
        for l, d in self.pairs:
            parts["last-full" if (l, d) == (last, self.full_dim) else f"{l}-{d}"] = self.cell(emb[l], d, labels)
        if self.kl != "none" and self.kl_weight > 0:
            for l, d in self.pairs:
                if l < last:
                    parts[f"kl-{l}-{d}"] = kl_term(emb[l], emb[last], self.kl, dim=d)
                    weights[f"kl-{l}-{d}"] = self.kl_weight
        return self._total(parts, weights)


def build_loss(variant: str, model: nn.Module, base: str = "cosent", dims: Sequence[int] | None = None,
               layer_weighting: str = "uniform", kl_2dmse: str = "angle", kl_srl: str = "starbucks",
               kl_weight: float = 1.0, srl_pairs: Sequence[tuple[int, int]] | None = None, seed: int = 0,
               pooling: str = "mean", precision: str = "float32") -> LayerDimLoss:
    """The training loss of one variant around a base loss (``cosent`` or ``mnrl``) for a Hugging Face model;
    ``precision`` is that of the encoder's forward pass (:data:`TRAIN_PRECISIONS`)."""
    _check("variant", variant, VARIANTS)
    inner = base_loss(base)
    full = int(model.config.hidden_size)
    dims = dim_ladder(full) if dims is None else list(dims)
    if variant == "baseline":
        return BaselineLoss(model, inner, pooling, precision)
    if variant == "mrl":
        return MatryoshkaDimLoss(model, inner, dims, pooling, precision)
    if variant == "2dmse":
        return TwoDMatryoshkaLoss(model, inner, dims, layer_weighting, kl_2dmse, kl_weight, seed, pooling, precision)
    n_layers = int(model.config.num_hidden_layers)
    return SRLLoss(model, inner, srl_pairs or starbucks_diagonal(n_layers, full), kl_srl, kl_weight, pooling,
                   precision)
