"""Word-pair similarity: :class:`SimilaritySet`, the reader, WordSim-353, SimLex-999, and Marathi gloss synonyms."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import corpora
from ._common import _gensim_file, _lowercase, _nonempty, _tarball_members
from .analogies import english_analogies


@dataclasses.dataclass
class SimilaritySet:
    """Word pairs with human scores (DataFrame columns w1, w2, score)."""

    pairs: pd.DataFrame
    name: str
    language: str
    source: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        missing = {"w1", "w2", "score"} - set(self.pairs.columns)
        if missing:
            raise ValueError(f"similarity pairs lack column(s) {sorted(missing)}")
        _nonempty(self.pairs, f"similarity set {self.name!r}")

    def __len__(self) -> int:
        return len(self.pairs)


def read_similarity(path: Path | str, language: str, sep: str | None = "\t", columns: Sequence[int] = (0, 1, 2),
                    comment: str = "#", header: bool = False, lowercase: bool = True,
                    name: str | None = None) -> SimilaritySet:
    """Read word-pair similarity judgements: one pair per line, ``comment`` lines skipped, ``header``
    skips the first non-comment line; ``columns`` give (word 1, word 2, score); ``sep=None`` splits on
    whitespace. Words are lowercased with the language's rules unless ``lowercase=False``."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no similarity file at {path}")
    rows, skipped_header = [], not header
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or (comment and line.startswith(comment)):
            continue
        if not skipped_header:
            skipped_header = True
            continue
        parts = line.split(sep) if sep else line.split()
        try:
            w1, w2, score = (parts[i].strip() for i in columns)
            score = float(score)
        except (IndexError, ValueError):
            raise ValueError(f"{path} line {lineno}: cannot read (word, word, score) from columns "
                             f"{tuple(columns)}: {line!r}") from None
        if lowercase:
            w1, w2 = _lowercase(w1, language), _lowercase(w2, language)
        rows.append((w1, w2, score))
    df = pd.DataFrame(rows, columns=["w1", "w2", "score"])
    return SimilaritySet(_nonempty(df, f"similarity file {path}"), name or path.stem, language, str(path))


def wordsim353() -> SimilaritySet:
    """WordSim-353 (353 pairs, scores 0-10) from gensim's wheel (two ``#`` comment lines)."""
    s = read_similarity(_gensim_file("wordsim353.tsv"), "en", name="wordsim353")
    s.source = "gensim-testdata:gensim/test/test_data/wordsim353.tsv"
    return s


def simlex999() -> SimilaritySet:
    """SimLex-999 (999 pairs, scores 0-10) from gensim's wheel (two ``#`` comment lines)."""
    s = read_similarity(_gensim_file("simlex999.txt"), "en", name="simlex999")
    s.source = "gensim-testdata:gensim/test/test_data/simlex999.txt"
    return s


def anlamver_offline() -> SimilaritySet:
    """AnlamVer relatedness (Ercan & Yildiz 2018; 500 Turkish pairs, scores 0-10) as shipped in the npm sample
    ``nlptoolkit-wordtovec`` 1.0.3 (``package/AnlamverRel.txt``, ``word word score``): the offline Turkish
    word-similarity set. Only that member of the sha256-pinned tarball is read."""
    import tempfile

    data = _tarball_members("nlptoolkit-wordtovec", ["package/AnlamverRel.txt"])["package/AnlamverRel.txt"]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "AnlamverRel.txt"
        path.write_bytes(data)
        s = read_similarity(path, "tr", sep=None, name="anlamver-npm")
    s.source = "nlptoolkit-wordtovec:package/AnlamverRel.txt"
    return s


def marathi_gloss_synonyms(seed: int = 0) -> SimilaritySet:
    """Offline Marathi near-synonyms from the English-Marathi dictionary (``marathi-shabda``).

    Positive pairs (score 1): two different one-word Marathi glosses of the same English headword (e.g.
    ``abattoir`` -> कत्तलखाना, खाटीकखाना). Negative pairs (score 0): as many seeded random pairs of the same
    words glossing no common headword. The scores are binary, so the metric is ROC-AUC of the cosine
    (:func:`embedlab.evaluate.similarity.word_similarity` adds ``roc_auc`` and its bootstrap interval for such
    sets; :func:`~embedlab.evaluate.similarity.primary_metric` says so), not a rank correlation. In the ``mr-glosses`` corpus each gloss is its own
    sentence, so a one-word gloss never shares a context with its synonym there.
    """
    corpus = corpora.marathi_glosses()
    heads = pd.DataFrame({"headword": corpus.meta["headword"].to_numpy(),
                          "word": [s[0] if len(s) == 1 else None for s in corpus.sentences]}).dropna()
    groups = heads.groupby("headword")["word"].apply(lambda w: sorted(set(w)))
    positives = {tuple(sorted((a, b))) for ws in groups for i, a in enumerate(ws) for b in ws[i + 1:]}
    senses: dict[str, set] = {}
    for head, ws in groups.items():
        for w in ws:
            senses.setdefault(w, set()).add(head)
    words = sorted({w for pair in positives for w in pair})
    rng = np.random.default_rng(seed)
    negatives: set[tuple[str, str]] = set()
    while len(negatives) < len(positives):
        a, b = rng.choice(len(words), 2, replace=False)
        pair = tuple(sorted((words[a], words[b])))
        if pair not in positives and not senses[pair[0]] & senses[pair[1]]:
            negatives.add(pair)
    rows = [(a, b, 1.0) for a, b in sorted(positives)] + [(a, b, 0.0) for a, b in sorted(negatives)]
    return SimilaritySet(pd.DataFrame(rows, columns=["w1", "w2", "score"]), "mr-gloss-synonyms", "mr",
                         "marathi-shabda:EnglishMarathi.Meaning1..4",
                         notes=f"{len(positives)} synonym pairs (one-word glosses of one English headword) "
                               f"scored 1, {len(negatives)} random pairs scored 0")


def english_testsets() -> dict[str, Any]:
    """The ``gensim-testdata`` asset's three sets: questions-words, wordsim353, simlex999."""
    return {"questions-words": english_analogies(), "wordsim353": wordsim353(), "simlex999": simlex999()}


#: name -> asset of the Turkish paper's similarity sets (authors' repository at 225a37d)
TURKISH_PAPER_SIMILARITY = {"wordsimtr": "tr-wordsimtr", "anlamver": "tr-anlamver"}


def turkish_paper_similarity(name: str = "anlamver", path: Path | str | None = None) -> SimilaritySet:
    """The Turkish paper's similarity sets: ``wordsimtr`` (WordSimTr, 140 pairs; the repository's
    ``similarity/syntactic.txt``) and ``anlamver`` (AnlamVer, 500 pairs; ``similarity/semantic.txt``), one
    ``word word score`` line each (whitespace-separated, no header, scores 0-10). URL assets pinned to the
    authors' commit (not in the offline mirror: internet once, or the cache); ``path`` reads a local copy."""
    from embedlab import assets
    from ._common import EvalSetUnavailable, _check_choice

    _check_choice("Turkish paper similarity set", name, TURKISH_PAPER_SIMILARITY)
    asset = TURKISH_PAPER_SIMILARITY[name]
    if path is None:
        try:
            folder = assets.fetch(asset, progress=False)
        except assets.AssetUnavailable as exc:
            raise EvalSetUnavailable(f"{name} ({asset}) needs internet once (not in the offline mirror): {exc}") \
                from exc
        path = folder / assets._url_basename(assets.get(asset).files[0]["url"])
    s = read_similarity(path, "tr", sep=None, name=f"tr-{name}")
    s.source = f"{asset}:{Path(path).name}"
    return s
