"""Analogy questions: :class:`AnalogySet`, the questions-words reader, the English and the papers' sets (the
morphological miner over treebanks is :mod:`.treebank_miner`)."""
from __future__ import annotations

import dataclasses
import unicodedata
from pathlib import Path
from typing import Sequence

import pandas as pd

from ._common import EvalSetUnavailable, _check_choice, _columns_and_rows, _gensim_file, _lowercase, _nonempty


def _is_word(form: str) -> bool:
    """Letters and combining marks only (Devanagari vowel signs are marks, not letters)."""
    return bool(form) and all(unicodedata.category(ch)[0] in "LM" for ch in form) \
        and unicodedata.category(form[0])[0] == "L"


@dataclasses.dataclass
class AnalogySet:
    """Analogy questions ``a : b :: c : d`` (DataFrame columns a, b, c, d, category)."""

    questions: pd.DataFrame
    name: str
    language: str
    source: str
    notes: str = ""
    pairs: pd.DataFrame | None = None  # mined sets: the word pairs the questions were built from
    stats: pd.DataFrame | None = None  # mined sets: per-relation filtering counts

    def __post_init__(self) -> None:
        _columns_and_rows(self.questions, {"a", "b", "c", "d", "category"}, "analogy questions", f"analogy set {self.name!r}")

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(self.questions["category"]))

    def vocabulary(self) -> set[str]:
        return set(self.questions[["a", "b", "c", "d"]].to_numpy().ravel())


def read_questions_words(path: Path | str, language: str = "en", lowercase: bool = True,
                         name: str | None = None, default_section: str | None = None) -> AnalogySet:
    """Read a Mikolov-format analogy file: ``: section`` headers, then ``a b c d`` per line.

    Words are lowercased with the language's rules (Turkish ``I``->``ı``, ``İ``->``i``) unless
    ``lowercase=False``. Questions before any header belong to ``default_section`` (when given; the
    Turkish paper's files have no header and one relation per file: pass the file name); without it such a
    question is an error. This is also the way to load the Turkish and Hungarian papers' sets.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no analogy file at {path}")
    rows, section = [], None
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.split()
        if len(words) != 4:
            raise ValueError(f"{path} line {lineno}: expected 4 words, got {len(words)}: {line!r}")
        if section is None and default_section is None:
            raise ValueError(f"{path} line {lineno}: question before any ': section' header")
        if lowercase:
            words = [_lowercase(w, language) for w in words]
        rows.append((*words, default_section if section is None else section))
    df = pd.DataFrame(rows, columns=["a", "b", "c", "d", "category"])
    return AnalogySet(_nonempty(df, f"analogy file {path}"), name or path.stem, language, str(path))


def read_analogy_file(path: Path | str, language: str, name: str | None = None, lowercase: bool = True
                      ) -> AnalogySet:
    """A user's analogy file (the ``file:`` sets): questions-words format, where questions before any
    ``: section`` header (or a file with no header at all, ``a b c d`` per line) take the file name as
    their category. ``name`` defaults to ``file:<path>`` (make it a file name with
    :func:`embedlab.report.safe_name` before using it as one)."""
    path = Path(path)
    return read_questions_words(path, language, lowercase, name or f"file:{path}", default_section=path.stem)


# ---------------------------------------------------------------------------- the Turkish paper's sets

#: group -> asset of the Turkish paper's analogy sets (Sarıtaş, Öz & Güngör 2024; the authors' repository at
#: 225a37d): Güngör et al.'s verb conjugation, noun inflection, derivational and mixed suffixes, Kurt's semantic set,
#: and the repository's ``tasks/analogy.txt`` sample (``sample``; not among the default groups)
TURKISH_PAPER_GROUPS = {"verb": "tr-paper-verb", "noun": "tr-paper-noun", "derivational": "tr-paper-derivational",
                        "mixed": "tr-paper-mixed", "semantic": "tr-paper-semantic", "sample": "tr-paper-analogy-sample"}
#: the groups with a column in the paper's results (verb, noun and semantic MRR)
TURKISH_PAPER_REPORTED = ("verb", "noun", "semantic")


def read_relation_folder(folder: Path | str, language: str, group: str, lowercase: bool = True,
                         files: Sequence[str] | None = None) -> pd.DataFrame:
    """Questions of a folder of header-less analogy files, one relation per file (``a b c d`` per line, the
    relation = the file name without ``.txt``): columns a, b, c, d, category (relation), group."""
    folder = Path(folder)
    paths = [folder / f for f in files] if files is not None else sorted(folder.glob("*.txt"))
    if not paths:
        raise ValueError(f"no analogy files (*.txt) in {folder}")
    frames = []
    for p in paths:
        q = read_questions_words(p, language, lowercase, default_section=p.stem).questions
        frames.append(q.assign(group=group))
    return pd.concat(frames, ignore_index=True)


def turkish_paper_analogies(groups: Sequence[str] | str = ("verb", "noun", "derivational", "mixed", "semantic"),
                            root: Path | str | None = None) -> AnalogySet:
    """The Turkish paper's analogy sets by group: ``verb`` (fiil çekim ekleri, 13 relations), ``noun`` (isim
    çekim ekleri, 14), ``derivational`` (yapım ekleri, 6), ``mixed`` (yapım-çekim ekleri karışık, 1) and
    ``semantic`` (Kurt: family, synonyms, currency, city-region, antonyms, country-capital; 6).

    Each relation is one file of ``a b c d`` lines with no header; the relation is the file name
    (``category``), the group its folder (``group``). The files are URL assets (:data:`TURKISH_PAPER_GROUPS`)
    pinned to the authors' commit with sha256: not in the offline mirror, so they need internet once (or
    the cache); without it :class:`EvalSetUnavailable` says so. ``root`` reads ``<root>/<group>/*.txt``
    instead (files laid out by group). The paper reports MRR over the top 10 per group
    (:func:`embedlab.evaluate.analogy.summarize` with ``by="group"``).
    """
    from embedlab import assets

    groups = [groups] if isinstance(groups, str) else list(groups)
    if not groups:
        raise ValueError(f"no groups given; allowed: {', '.join(TURKISH_PAPER_GROUPS)}")
    frames = []
    for g in groups:
        _check_choice("Turkish paper analogy group", g, TURKISH_PAPER_GROUPS)
        if root is not None:
            folder = Path(root) / g
        else:
            try:
                folder = assets.fetch(TURKISH_PAPER_GROUPS[g], progress=False)
            except assets.AssetUnavailable as exc:
                raise EvalSetUnavailable(f"the Turkish paper's {g!r} analogies ({TURKISH_PAPER_GROUPS[g]}) need "
                                         f"internet once (not in the offline mirror): {exc}") from exc
        frames.append(read_relation_folder(folder, "tr", g))
    df = pd.concat(frames, ignore_index=True)
    return AnalogySet(df, "tr-paper" if len(groups) > 1 else f"tr-paper-{groups[0]}", "tr",
                      str(root) if root is not None else ", ".join(TURKISH_PAPER_GROUPS[g] for g in groups),
                      notes=f"Turkish paper's sets (authors' repository @225a37d), groups {', '.join(groups)}; "
                            f"{df['category'].nunique()} relations")


def english_analogies() -> AnalogySet:
    """Mikolov et al.'s ``questions-words.txt`` from gensim's wheel: 19,544 questions in 14 sections."""
    s = read_questions_words(_gensim_file("questions-words.txt"), "en", name="questions-words")
    s.source = "gensim-testdata:gensim/test/test_data/questions-words.txt"
    return s


PAPER_ANALOGY_LANGUAGES = ("tr", "hu")


def paper_analogies(language: str, path: Path | str | None = None) -> AnalogySet:
    """The Turkish / Hungarian papers' analogy sets: not in the mirror, so a file must be supplied.

    With ``path`` (a questions-words file) this is :func:`read_questions_words`; without it,
    :class:`EvalSetUnavailable` (a :class:`ValueError`) explains what to supply. Offline runs can use
    :func:`treebank_analogies` instead.
    """
    _check_choice("language for paper analogies", language, PAPER_ANALOGY_LANGUAGES)
    if path is None:
        raise EvalSetUnavailable(
            f"the {language!r} paper's analogy set is not redistributed with embedlab and is not in the "
            f"offline mirror; supply it as a questions-words file (': section' headers, 4 words a line): "
            f"paper_analogies({language!r}, path=...) or read_questions_words(path, {language!r}). "
            f"Offline alternative: treebank_analogies({language!r}).")
    s = read_questions_words(path, language, name=f"paper-{language}")
    return s
