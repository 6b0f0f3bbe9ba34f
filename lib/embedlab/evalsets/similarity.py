"""Word-pair similarity: :class:`SimilaritySet`, the reader, WordSim-353 and SimLex-999."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ._common import _gensim_file, _lowercase, _nonempty
from .analogies import english_analogies


@dataclasses.dataclass
class SimilaritySet:
    """Word pairs with human scores (DataFrame columns w1, w2, score)."""

    pairs: pd.DataFrame
    name: str
    language: str
    source: str = ""

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


def english_testsets() -> dict[str, Any]:
    """The ``gensim-testdata`` asset's three sets: questions-words, wordsim353, simlex999."""
    return {"questions-words": english_analogies(), "wordsim353": wordsim353(), "simlex999": simlex999()}
