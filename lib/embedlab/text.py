"""Text normalisation shared by every corpus and evaluation set: tokenization, language-aware lower-casing
(Turkish/Azerbaijani dotted and dotless i), the lower-cased view of text tokenized as written, and a rule-based
sentence splitter.

Kept apart from :mod:`embedlab.corpora` so that evaluation code can normalise words the same way as the
corpora without reaching into the corpus loaders.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["tokenize", "lowercase", "lower_tokens", "sentence_split", "TURKIC"]


def _mark_class() -> str:
    """A regex character class body for all Unicode combining marks (category M)."""
    cps = [c for r in (range(0x300, 0x20000), range(0xE0100, 0xE01F0))
           for c in r if unicodedata.category(chr(c)).startswith("M")]
    ranges, start, prev = [], cps[0], cps[0]
    for c in cps[1:] + [-1]:
        if c != prev + 1:
            ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
            start = c
        prev = c
    return "".join(ranges)


_APOS = "'’ʼ`´"
_APOS_MAP = str.maketrans({c: "'" for c in _APOS[1:]})


def _token_re(marks: str) -> re.Pattern:
    """Numbers, words (with ``marks`` and inner apostrophes/hyphens), or single punctuation characters."""
    w = rf"[\w{marks}]"
    return re.compile(rf"(\d+(?:[.,]\d+)+|{w}+(?:['\-‐‑]{w}+)*)|([^\s\w{marks}])")


_TOKEN = _token_re(_mark_class())                     # \w plus every combining mark (Devanagari matras...)
_TOKEN_ASCII = _token_re("")                          # same result on ASCII text, several times faster
_TURKIC = {"tr", "az"}
#: languages whose I/İ lower-case to ı/i
TURKIC = frozenset(_TURKIC)


def lowercase(text: str, language: str = "en") -> str:
    """Lower-case ``text``; Turkish/Azerbaijani map I to ı and İ to i (İ to i everywhere)."""
    text = text.replace("İ", "i")
    if language in _TURKIC:
        text = text.replace("I", "ı")
    return text.lower()


def tokenize(text: str, language: str = "en", keep_punct: bool = False, lower: bool = True) -> list[str]:
    """Split text into lower-cased words (``lower=False``: as written; apostrophes/hyphens inside words kept; marks
    stay in words)."""
    text = unicodedata.normalize("NFC", text).translate(_APOS_MAP)
    if lower:
        text = lowercase(text, language)
    pairs = (_TOKEN_ASCII if text.isascii() else _TOKEN).findall(text)
    return [w or p for w, p in pairs] if keep_punct else [w for w, _ in pairs if w]


def lower_tokens(sentences, language: str = "en", memo: dict | None = None) -> list[list[str]]:
    """The lower-cased view of tokenized sentences, token for token (:func:`lowercase` with ``language``'s rules;
    each distinct form is lower-cased once, and equal forms share one string)."""
    memo = {} if memo is None else memo

    def low(w: str) -> str:
        out = memo.get(w)
        if out is None:
            out = memo[w] = lowercase(w, language)
        return out

    return [[low(w) for w in s] for s in sentences]


_ABBREV = {
    "en": {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "cf", "no", "fig", "prof", "jr", "sr",
           "inc", "ltd", "co", "vol", "pp", "p", "ch", "ed", "al", "approx"},
    "tr": {"dr", "prof", "doç", "yrd", "av", "sn", "vb", "vs", "bkz", "alb", "yzb", "bnb", "tuğg", "org",
           "gen", "kur", "cad", "sok", "mah", "apt", "no", "s", "c", "ts", "m.ö", "m.s", "t.c", "yy", "ör",
           "bşk", "müd", "hz", "sf", "age", "a.g.e", "vd", "mr", "st", "haz", "çev"},
}
_BOUNDARY = re.compile(r"(?:[.!?…]+|[।॥]+)[\"'”’»)\]]*(?=\s|$)")


def sentence_split(text: str, language: str = "en") -> list[str]:
    """Rule-based splitter: line breaks, . ! ? … and the danda; skips abbreviations; rejoins broken lines."""
    abbrev = _ABBREV.get(language, _ABBREV["en"])
    lines: list[str] = []
    for line in text.splitlines():                                # a lower-case line continues the last
        line = line.strip()
        if lines and line[:1].islower():
            lines[-1] = lines[-1][:-1] + line if lines[-1].endswith("-") else f"{lines[-1]} {line}"
        elif line:
            lines.append(line)
    out: list[str] = []
    for line in lines:
        start = 0
        for m in _BOUNDARY.finditer(line):
            end = m.end()
            rest = line[end:].lstrip()
            nxt = rest[:1]
            if nxt and nxt.islower():                                 # continues in lower case
                continue
            if m.group()[0] == ".":
                prev = re.search(r"(\S+)$", line[start:m.start()])
                word = lowercase(prev.group(1), language).strip("(\"'“‘") if prev else ""
                if word in abbrev or (len(word) == 1 and word.isalpha()):
                    continue                                          # abbreviation or initial
                if language in _TURKIC and word.isdigit() and nxt:
                    continue                                          # Turkish ordinal: "1. Şube"
            sent = line[start:end].strip()
            if sent:
                out.append(sent)
            start = end
        tail = line[start:].strip()
        if tail:
            out.append(tail)
    return out
