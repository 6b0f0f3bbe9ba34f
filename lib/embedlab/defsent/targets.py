"""What definitions are projected onto: DefSent's tied word-prediction layer and DefSent+'s entry embeddings."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .. import encoders
from ..choices import check_choice
from ..encoders import Encoder
from .dictionary import as_entries, headword_key

ENTRY_TRANSFORMS = ("none", "whiten", "ica")


# --------------------------------------------------------------------------- DefSent: tied prediction layer

class TiedPredictionLayer(torch.nn.Module):
    """Frozen word-prediction layer: optional MLM transform, then scores against the shared, frozen token embeddings."""

    def __init__(self, token_embeddings: torch.nn.Embedding, transform: torch.nn.Module | None = None,
                 bias: torch.Tensor | None = None, kind: str = "token-embedding matrix (no MLM head shipped)"):
        super().__init__()
        self.token_embeddings = token_embeddings  # the encoder's own module: tied, not copied
        self.transform = transform
        self.register_buffer("bias", None if bias is None else bias.detach().clone())
        self.kind = kind
        if transform is not None:  # only the layer's own weights: the token embeddings are the encoder's module,
            transform.requires_grad_(False)  # and freezing them here froze them for every later copy (DefSent+)

    @property
    def weight(self) -> torch.Tensor:
        """The token-embedding matrix ``[vocab, H]`` the scores are taken against."""
        return self.token_embeddings.weight

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits ``[B, vocab]`` for pooled states ``[B, H]``."""
        if self.transform is not None:
            h = self.transform(h)
        return F.linear(h, self.weight, self.bias)


def _mlm_transform(model_path: str) -> tuple[torch.nn.Module, torch.Tensor | None] | None:
    """The MLM head's transform and output bias from a checkpoint, or ``None`` when it ships no head."""
    from transformers import AutoModelForMaskedLM

    try:
        mlm, info = AutoModelForMaskedLM.from_pretrained(model_path, output_loading_info=True)
    except (OSError, ValueError):
        return None
    prefix = mlm.base_model_prefix + "."
    if any(not k.startswith(prefix) for k in info.get("missing_keys", [])):
        return None  # head weights were freshly initialised: the checkpoint has no MLM head
    decoder = mlm.get_output_embeddings()
    head = getattr(mlm, "cls", None) or getattr(mlm, "lm_head", None)
    if head is None:
        return None
    if hasattr(head, "predictions"):  # BERT: cls.predictions.{transform, decoder, bias}
        transform = head.predictions.transform
    else:  # RoBERTa / XLM-R: lm_head.{dense, layer_norm, decoder, bias}
        transform = torch.nn.Sequential(head.dense, torch.nn.GELU(), head.layer_norm)
    return copy.deepcopy(transform).eval(), getattr(decoder, "bias", None)


def prediction_layer(encoder: Encoder, use_mlm_head: bool | None = None) -> TiedPredictionLayer:
    """DefSent's frozen prediction layer, tied to ``encoder``'s token embeddings.

    ``use_mlm_head=None`` uses the checkpoint's MLM transform and bias where one ships (hub BERT/RoBERTa)
    and the bare token-embedding matrix otherwise (the offline encoders); ``True`` insists on the head.
    """
    found = None
    if use_mlm_head is not False and encoder.name.split("+")[0] not in encoders.OFFLINE_ENCODERS:
        found = _mlm_transform(str(encoder.model.config._name_or_path))
    emb = encoder.model.get_input_embeddings()
    if found is None:
        if use_mlm_head:
            raise ValueError(f"encoder {encoder.name!r} ships no MLM head; use use_mlm_head=None or False "
                             "(the token-embedding matrix itself becomes the prediction layer)")
        return TiedPredictionLayer(emb)
    transform, bias = found
    layer = TiedPredictionLayer(emb, transform, bias, kind="pretrained MLM head (frozen) + tied token embeddings")
    return layer.to(emb.weight.device)  # the head comes from the checkpoint on the CPU; the encoder may be on a GPU


def with_trained_transform(layer: TiedPredictionLayer) -> TiedPredictionLayer:
    """Give a head-less prediction layer a trainable linear transform that starts as the identity (so step 0 scores
    exactly as the bare token-embedding matrix does); the token embeddings stay frozen. It stands in for the
    pretrained MLM transform DefSent keeps frozen, which the offline encoders do not ship."""
    if layer.transform is not None:
        raise ValueError("this prediction layer has a pretrained MLM transform, which DefSent keeps frozen; a trained "
                         "transform is only for encoders that ship none (set the head learning rate to None)")
    h = layer.weight.shape[1]
    lin = torch.nn.Linear(h, h).to(layer.weight.device)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(h))
        lin.bias.zero_()
    layer.transform = lin  # set after __init__ (which freezes a shipped transform): this one trains
    layer.kind = "token-embedding matrix (frozen) + a trained linear transform from the identity (no MLM head shipped)"
    return layer


# --------------------------------------------------------------------------- DefSent+: entry embeddings

def entry_embeddings(encoder: Encoder, entries: Any, pooling: str = "mean", max_length: int = 64,
                     progress: bool = True, language: str = "en") -> tuple[list[str], np.ndarray]:
    """DefSent+'s entry embeddings: per headword, the average of the encoder's encodings of all its definitions.

    Returns ``(headword keys sorted, [n_entries, H] float32)``. As the authors' GenerateEntryEmbeddings.py:
    ``cls`` averages the last layer's first token ("ac"); ``mean`` (and ``max``) pool over every token of the
    definition *including* the special tokens ("amp": attention-masked mean).
    """
    df = as_entries(entries)
    emb = encoders.sentence_embeddings(encoder, list(df.definition), [encoder.n_layers], pooling,
                                       max_length=max_length, exclude_special=False, progress=progress)[0]
    return average_by_headword(df.headword, emb, language)


def average_by_headword(headwords: Sequence[str], emb: np.ndarray,
                        language: str = "en") -> tuple[list[str], np.ndarray]:
    """Average the rows of ``emb`` that share a headword key: ``(keys sorted, [n_keys, H] float32)``."""
    codes, names = pd.factorize(pd.Series(list(headwords)).map(lambda w: headword_key(w, language)), sort=True)
    sums = np.zeros((len(names), emb.shape[1]), dtype=np.float64)
    np.add.at(sums, codes, emb)
    return list(names), (sums / np.bincount(codes)[:, None]).astype(np.float32)


def isotropize(x: np.ndarray, transform: str = "whiten", scale: float = 100.0, seed: int = 42,
               max_iter: int = 1000) -> np.ndarray:
    """Whiten (PCA) or ICA-transform the rows of ``x`` keeping the dimension, times ``scale``; ``none``: unchanged.

    ``ica`` follows the authors' ICA-transform.py: StandardScaler, FastICA(n_components=d, whiten='unit-variance',
    fun='logcosh', tol=1e-4, max_iter=1000, random_state=42), then times 100 (``scale``). It is computed in float64
    on one BLAS thread: in float32 FastICA stops at ``max_iter`` short of ``tol`` and its result depends on the
    number of BLAS threads (a different unmixing on another machine); float64 converges and does not. The authors
    run it in float32 (their entry tensor is float32, and scikit-learn keeps float32 in every version that has
    ``whiten='unit-variance'``, 1.1 on): a difference the study's notes name.
    """
    check_choice("entry transform", transform, ENTRY_TRANSFORMS)
    if transform == "none":
        return x
    x = np.asarray(x, dtype=np.float64)
    if len(x) <= x.shape[1]:
        raise ValueError(f"{transform} needs more entries than dimensions ({x.shape[1]}); got {len(x)} entries")
    if transform == "whiten":
        from sklearn.decomposition import PCA

        out = PCA(whiten=True, random_state=seed).fit_transform(x)
    else:
        import warnings

        from sklearn.decomposition import FastICA
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.preprocessing import StandardScaler
        from threadpoolctl import threadpool_limits

        with warnings.catch_warnings(), threadpool_limits(1):  # d x d products: one thread is faster on a busy CPU
            warnings.simplefilter("ignore", ConvergenceWarning)
            out = FastICA(n_components=x.shape[1], whiten="unit-variance", fun="logcosh", max_iter=max_iter,
                          tol=1e-4, random_state=seed).fit_transform(StandardScaler().fit_transform(x))
    return (out * scale).astype(np.float32)


class EntryClassifier(torch.nn.Module):
    """DefSent+'s scorer: an optional trainable head, then dot products with frozen entry embeddings (no bias)."""

    def __init__(self, entries: np.ndarray, head: torch.nn.Module | None = None):
        super().__init__()
        self.register_buffer("entries", torch.as_tensor(entries, dtype=torch.float32))
        self.head = head

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Entry logits ``[B, n_entries]``."""
        return (self.head(h) if self.head is not None else h) @ self.entries.T


def pooler_head(encoder: Encoder, seed: int = 0) -> torch.nn.Module | None:
    """A trainable copy of the encoder's pooler for pooled ``[B, H]`` input, which the authors train through in
    DefSent+ (BERT: the pretrained dense + tanh).

    For RoBERTa-type checkpoints the authors' TrainEncoder.py copies the MLM head's ``lm_head.dense`` into the
    pooler and swaps tanh for GELU; we do the same where the checkpoint ships that head. A pooler the checkpoint
    did not ship is re-initialised from ``seed``.
    """
    pooler = getattr(encoder.model, "pooler", None)
    if pooler is None:
        return None
    head = copy.deepcopy(pooler)
    mlm_dense = _roberta_mlm_dense(encoder) if "roberta" in str(encoder.model.config.model_type) else None
    if mlm_dense is not None:
        with torch.no_grad():
            head.dense.weight.copy_(mlm_dense.weight)
            head.dense.bias.copy_(mlm_dense.bias)
        head.activation = torch.nn.GELU()
    elif not _shipped(encoder, "pooler.dense.weight"):
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            w = torch.empty(head.dense.weight.shape).normal_(0.0, float(encoder.model.config.initializer_range),
                                                             generator=gen)  # drawn on the CPU: same on any device
            head.dense.weight.copy_(w)
            head.dense.bias.zero_()
    head.requires_grad_(True)
    return torch.nn.Sequential(torch.nn.Unflatten(1, (1, encoder.dim)), head)  # the pooler reads [B, T, H] at T=0


def _roberta_mlm_dense(encoder: Encoder) -> torch.nn.Linear | None:
    """The MLM head's ``lm_head.dense`` of a RoBERTa checkpoint, or ``None`` when it ships no head."""
    from transformers import AutoModelForMaskedLM

    try:
        mlm, info = AutoModelForMaskedLM.from_pretrained(str(encoder.model.config._name_or_path),
                                                         output_loading_info=True)
    except (OSError, ValueError):
        return None
    if any("lm_head.dense" in k for k in info.get("missing_keys", [])) or not hasattr(mlm, "lm_head"):
        return None
    return copy.deepcopy(mlm.lm_head.dense).to(encoder.device)


def _shipped(encoder: Encoder, key: str) -> bool:
    """Whether the checkpoint directory holds tensor ``key`` (safetensors); other layouts count as shipped."""
    files = sorted(Path(str(encoder.model.config._name_or_path)).glob("*.safetensors"))
    if not files:
        return True
    from safetensors import safe_open

    for f in files:
        with safe_open(str(f), "pt") as st:
            if any(k == key or k.endswith("." + key) for k in st.keys()):
                return True
    return False
