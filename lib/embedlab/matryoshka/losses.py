"""Training losses: sentence-transformers' base losses, MatryoshkaLoss (MRL), and the 2DMSE and Starbucks
losses written here on pooled (layer, leading dims) embeddings of one forward pass."""
from __future__ import annotations

import math
import random
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .data import _check
from .grid import dim_ladder

VARIANTS = ("baseline", "mrl", "2dmse", "starbucks")
BASE_LOSSES = ("cosent", "mnrl")
LAYER_WEIGHTINGS = ("uniform", "log")


def layer_weight(layer: int, scheme: str = "uniform") -> float:
    """Weight of a shallow layer's loss (1-based layer ``i``): ``uniform`` 1, ``log`` 1 / (1 + ln i) (ESE)."""
    _check("layer weighting", scheme, LAYER_WEIGHTINGS)
    if layer < 1:
        raise ValueError(f"layer {layer} out of range: shallow layers start at 1")
    return 1.0 if scheme == "uniform" else 1.0 / (1.0 + math.log(layer))


def starbucks_diagonal(n_layers: int, full_dim: int, n_pairs: int = 6, smallest: int = 8) -> list[tuple[int, int]]:
    """Starbucks' fixed (layer, dim) pairs, small to large: evenly spaced layers ending at the last, the
    ladder's largest dimensions (BERT-base: (2, 32), (4, 64), ..., (12, 768))."""
    ladder = dim_ladder(full_dim, smallest)
    n = min(n_pairs, n_layers, len(ladder))
    if n < 1:
        raise ValueError(f"no Starbucks pairs for {n_layers} layers and {full_dim} dims")
    return [(round(k * n_layers / n), d) for k, d in zip(range(1, n + 1), ladder[-n:])]


def _kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) of softmax(embedding / T) over dimensions, teacher detached, scaled by T
    (as in sentence-transformers' AdaptiveLayerLoss)."""
    target = F.softmax(teacher.detach() / temperature, dim=-1)
    return F.kl_div(F.log_softmax(student / temperature, dim=-1), target, reduction="batchmean") * temperature


class LayerDimLoss(nn.Module):
    """A base sentence-transformers loss applied to pooled (layer, leading dims) embeddings of one forward pass."""

    def __init__(self, model, loss: nn.Module) -> None:
        super().__init__()
        if not hasattr(loss, "compute_loss_from_embeddings"):
            raise ValueError(f"{type(loss).__name__} cannot score precomputed embeddings; use CoSENTLoss or "
                             "MultipleNegativesRankingLoss")
        self.model, self.loss = model, loss
        self.n_layers = model[0].auto_model.config.num_hidden_layers
        self.full_dim = model.get_embedding_dimension()

    def layer_embeddings(self, sentence_features, layers: Sequence[int]) -> dict[int, list[torch.Tensor]]:
        """``{layer: [embeddings of each column]}`` pooled by the model's own modules after the Transformer."""
        out: dict[int, list[torch.Tensor]] = {l: [] for l in layers}
        for features in sentence_features:
            inputs = {k: features[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in features}
            hidden = self.model[0].auto_model(**inputs, output_hidden_states=True).hidden_states
            for l in layers:
                f = {**features, "token_embeddings": hidden[l]}
                for module in list(self.model)[1:]:
                    f = module(f)
                out[l].append(f["sentence_embedding"])
        return out

    def cell(self, embeddings: list[torch.Tensor], dim: int, labels) -> torch.Tensor:
        """The base loss on the leading ``dim`` dimensions."""
        return self.loss.compute_loss_from_embeddings([e[:, :dim] for e in embeddings], labels)


class TwoDMatryoshkaLoss(LayerDimLoss):
    """2DMSE: full-size last-layer loss, the loss at a sampled dimension ``d`` of the last layer, the same
    two at one sampled shallower layer ``i`` (weighted by :func:`layer_weight`), and KL alignment of
    layer ``i`` to the last layer (teacher detached).

    Written here because sentence-transformers' ``Matryoshka2dLoss`` samples the last layer's dimension
    too (its full-size loss is not always computed), may sample the input-embedding layer as the
    shallow one, and weights ``log`` as 1 / (1 + ln(1 + i)) rather than ESE's 1 / (1 + ln i).
    """

    def __init__(self, model, loss: nn.Module, dims: Sequence[int], layer_weighting: str = "uniform",
                 kl_weight: float = 1.0, kl_temperature: float = 0.3, seed: int = 0) -> None:
        super().__init__(model, loss)
        _check("layer weighting", layer_weighting, LAYER_WEIGHTINGS)
        if self.n_layers < 2:
            raise ValueError("2DMSE needs a model with at least two layers")
        self.dims = [d for d in dims if d < self.full_dim] or [self.full_dim]
        self.layer_weighting, self.kl_weight, self.kl_temperature = layer_weighting, kl_weight, kl_temperature
        self.rng = random.Random(seed)

    def forward(self, sentence_features, labels) -> torch.Tensor:
        """One step's loss; the shallow layer and the dimension are drawn from the loss's own seeded RNG."""
        i, d = self.rng.randint(1, self.n_layers - 1), self.rng.choice(self.dims)
        last, full = self.n_layers, self.full_dim
        emb = self.layer_embeddings(sentence_features, [i, last])
        loss = self.cell(emb[last], full, labels) + self.cell(emb[last], d, labels)
        shallow = self.cell(emb[i], full, labels) + self.cell(emb[i], d, labels)
        loss = loss + layer_weight(i, self.layer_weighting) * shallow
        if self.kl_weight > 0:
            loss = loss + self.kl_weight * sum(_kl(s, t, self.kl_temperature) for s, t in zip(emb[i], emb[last]))
        return loss


class StarbucksLoss(LayerDimLoss):
    """Starbucks SRL: the base loss at every fixed (layer, dim) pair, each weighted 1, plus KL alignment of
    every shallower pair to the last layer truncated to the same dims (teacher detached). Not in
    sentence-transformers."""

    def __init__(self, model, loss: nn.Module, pairs: Sequence[tuple[int, int]], kl_weight: float = 1.0,
                 kl_temperature: float = 0.3) -> None:
        super().__init__(model, loss)
        bad = [(l, d) for l, d in pairs if not (1 <= l <= self.n_layers and 1 <= d <= self.full_dim)]
        if not pairs or bad:
            raise ValueError(f"Starbucks pairs {bad or list(pairs)} out of range: layers 1..{self.n_layers}, "
                             f"dims 1..{self.full_dim}")
        self.pairs, self.kl_weight, self.kl_temperature = list(pairs), kl_weight, kl_temperature

    def forward(self, sentence_features, labels) -> torch.Tensor:
        """Sum of the base loss over the pairs (plus KL) from one forward pass."""
        last = self.n_layers
        emb = self.layer_embeddings(sentence_features, sorted({l for l, _ in self.pairs} | {last}))
        loss = sum(self.cell(emb[l], d, labels) for l, d in self.pairs)
        if self.kl_weight > 0:
            loss = loss + self.kl_weight * sum(_kl(s[:, :d], t[:, :d], self.kl_temperature)
                                               for l, d in self.pairs if l < last
                                               for s, t in zip(emb[l], emb[last]))
        return loss


def build_loss(variant: str, model, base: str = "cosent", dims: Sequence[int] | None = None,
               layer_weighting: str = "uniform", kl_weight: float = 1.0, kl_temperature: float = 0.3,
               starbucks_pairs: Sequence[tuple[int, int]] | None = None, seed: int = 0) -> nn.Module:
    """The training loss of one variant around a base loss (``cosent`` or ``mnrl``)."""
    try:
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # sentence-transformers 5
        from sentence_transformers import losses

    _check("variant", variant, VARIANTS)
    _check("base loss", base, BASE_LOSSES)
    inner = losses.CoSENTLoss(model) if base == "cosent" else losses.MultipleNegativesRankingLoss(model)
    full = model.get_embedding_dimension()
    dims = dim_ladder(full) if dims is None else list(dims)
    if variant == "baseline":
        return inner
    if variant == "mrl":
        return losses.MatryoshkaLoss(model, inner, sorted(set(dims) | {full}, reverse=True))
    if variant == "2dmse":
        return TwoDMatryoshkaLoss(model, inner, dims, layer_weighting, kl_weight, kl_temperature, seed)
    n_layers = model[0].auto_model.config.num_hidden_layers
    return StarbucksLoss(model, inner, starbucks_pairs or starbucks_diagonal(n_layers, full), kl_weight, kl_temperature)
