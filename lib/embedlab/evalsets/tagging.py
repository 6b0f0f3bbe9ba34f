"""Sequence labelling: :class:`TaggingSet`, POS tagging splits from the treebanks, MahaNER."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from embedlab import assets
from ._common import _bucket, _check_choice, _nonempty, _read_tsv
from .conllu import TR_TREEBANK_TAGSET, UD_UPOS, turkish_treebank_sentences, ud_treebank


Tagged = tuple[list[str], list[str]]


@dataclasses.dataclass
class TaggingSet:
    """Sequence-labelling splits: ``train``/``dev``/``test`` lists of ``(tokens, tags)``."""

    name: str
    language: str
    tagset: str
    train: list[Tagged]
    dev: list[Tagged]
    test: list[Tagged]
    notes: str = ""
    #: per split, the sentences' ids and texts (``(sent_id, text)``, aligned with the split) where known
    sources: dict[str, list[tuple[str, str]]] | None = None

    def __post_init__(self) -> None:
        for split in ("train", "dev", "test"):
            data = _nonempty(getattr(self, split), f"{self.name} {split}")
            for toks, tags in data:
                if len(toks) != len(tags):
                    raise ValueError(f"{self.name} {split}: {len(toks)} tokens but {len(tags)} tags")

    @property
    def tags(self) -> list[str]:
        return sorted({t for split in (self.train, self.dev, self.test) for _, tags in split for t in tags})

    def sizes(self) -> dict[str, int]:
        return {s: len(getattr(self, s)) for s in ("train", "dev", "test")}


POS_LANGUAGES = {"tr": "turkish-treebanks", "tr-ud": "ud-tr-imst", "hu": "ud-hu-szeged", "mr": "ud-mr-ufal"}


def _hash_split(items: list, key: Callable[[Any], str], salt: str) -> tuple[list, list, list]:
    """Deterministic 80/10/10 split by a stable hash of each item's key (buckets 0-7 / 8 / 9)."""
    out: tuple[list, list, list] = ([], [], [])
    for it in items:
        b = _bucket(salt + key(it))
        out[0 if b < 8 else 1 if b == 8 else 2].append(it)
    return out


def pos_tagging(language: str) -> TaggingSet:
    """Part-of-speech tagging splits.

    ``tr``: ``turkish-treebanks`` surface words (IGs merged) tagged with the POS of their last IG
    (14-tag set, ``tagset == TR_TREEBANK_TAGSET``); the package has no split, so sentences go to
    train/dev/test by a stable hash of ``sent_id`` (about 80/10/10). ``tr-ud`` (UD Turkish-IMST),
    ``hu`` (UD Hungarian-Szeged), ``mr`` (UD Marathi-UFAL): UPOS of syntactic words, official splits.
    """
    _check_choice("language for POS tagging", language, POS_LANGUAGES)
    if language == "tr":
        sents = turkish_treebank_sentences(merge=True)
        train, dev, test = _hash_split(sents, lambda s: s.sent_id, "pos-tr:")
        conv = lambda ss: [(s.forms, s.tags) for s in ss]  # noqa: E731
        return TaggingSet("pos-tr", language, TR_TREEBANK_TAGSET, conv(train), conv(dev), conv(test),
                          notes="turkish-treebanks web+wiki; inflectional groups merged into surface words, "
                                "POS of the last IG; no official split: 80/10/10 by sha1(sent_id)",
                          sources=_sources(train=train, dev=dev, test=test))
    asset = POS_LANGUAGES[language]
    splits = ud_treebank(asset)
    conv = lambda ss: [(s.forms, s.tags) for s in ss]  # noqa: E731
    return TaggingSet(f"pos-{language}", language, UD_UPOS, conv(splits["train"]), conv(splits["dev"]),
                      conv(splits["test"]), notes=f"{asset}: UPOS of syntactic words (multiword tokens "
                                                  f"split), official train/dev/test",
                      sources=_sources(**{k: splits[k] for k in ("train", "dev", "test")}))


def _sources(**splits) -> dict[str, list[tuple[str, str]]]:
    return {k: [(s.sent_id, s.text or s.detokenize()) for s in ss] for k, ss in splits.items()}


def held_out_sentences(tagging_set: TaggingSet, splits: Sequence[str] = ("dev", "test")) -> pd.DataFrame:
    """The sentences of ``splits`` (default dev and test) of a tagging set: columns ``split``, ``sent_id``
    (empty where unknown), ``text`` (the treebank's ``# text``, else the tokens joined by spaces) and
    ``tokens`` (the lowercased word tokens of :func:`embedlab.corpora.tokenize`, the corpora's tokenizer).

    For removing them from a training corpus that contains the same treebank (the Turkish default corpus
    holds the turkish-treebanks sentences): see :func:`held_out_mask`.
    """
    from embedlab.corpora import tokenize

    rows = []
    lang = tagging_set.language.split("-")[0]
    for split in splits:
        _check_choice("tagging split", split, ("train", "dev", "test"))
        data = getattr(tagging_set, split)
        src = (tagging_set.sources or {}).get(split) or [("", " ".join(toks)) for toks, _ in data]
        for sent_id, text in src:
            rows.append({"split": split, "sent_id": sent_id, "text": text, "tokens": tuple(tokenize(text, lang))})
    return pd.DataFrame(rows, columns=["split", "sent_id", "text", "tokens"])


def pos_test_texts(language: str, splits: Sequence[str] = ("dev", "test")) -> pd.DataFrame:
    """:func:`held_out_sentences` of :func:`pos_tagging` ``(language)``: what a study removes from its corpus."""
    return held_out_sentences(pos_tagging(language), splits)


def held_out_mask(sentences: Sequence[Sequence[str]], held_out: pd.DataFrame, sent_ids: Sequence[str] | None = None,
                  min_tokens: int = 3) -> np.ndarray:
    """Boolean mask of corpus ``sentences`` (token lists) that are held-out evaluation sentences.

    A corpus sentence matches when its ``sent_ids`` entry (e.g. a corpus' ``meta["sent_id"]``) is among the
    held-out ids, or when its tokens equal a held-out sentence's ``tokens`` (sentences of fewer than
    ``min_tokens`` tokens are matched by id only: a one-word sentence is no leak worth dropping everywhere).
    """
    ids = {i for i in held_out["sent_id"] if i}
    keys = {t for t in held_out["tokens"] if len(t) >= min_tokens}
    mask = np.array([tuple(s) in keys for s in sentences], dtype=bool)
    if sent_ids is not None:
        if len(sent_ids) != len(sentences):
            raise ValueError(f"{len(sent_ids)} sentence ids for {len(sentences)} sentences")
        mask |= np.array([str(i) in ids for i in sent_ids], dtype=bool)
    return mask


NER_LANGUAGES = ("mr",)
NER_SCHEMES = ("iob", "noniob")


def _read_mahaner(path: Path) -> list[Tagged]:
    df = _read_tsv(path, header=True)
    if list(df.columns[:3]) != ["words", "labels", "sentence_id"]:
        raise ValueError(f"{path.name}: unexpected header {list(df.columns)}")
    out: list[Tagged] = []
    for _, g in df.groupby("sentence_id", sort=False):
        out.append((g["words"].tolist(), g["labels"].tolist()))
    return out


def ner_tagging(language: str = "mr", scheme: str = "iob") -> TaggingSet:
    """Named-entity tagging: MahaNER (Marathi).

    The mirror lacks MahaNER's train file (over its size limit), so the *valid* file serves as
    training data with a deterministic 10 % of its sentences (stable hash of sentence_id) split off as
    dev; the official *test* file is the test split. Stated in ``notes``.
    """
    _check_choice("language for NER", language, NER_LANGUAGES)
    _check_choice("MahaNER scheme", scheme, NER_SCHEMES)
    root = assets.fetch("mahaner", progress=False)
    sfx = "iob" if scheme == "iob" else "noniob"
    valid = _read_mahaner(root / f"valid_{sfx}.txt")
    test = _read_mahaner(root / f"test_{sfx}.txt")
    train, dev = [], []
    for i, sent in enumerate(valid):
        (dev if _bucket(f"mahaner:{i}:{' '.join(sent[0])}") == 0 else train).append(sent)
    return TaggingSet(f"mahaner-{scheme}", language, f"mahaner-{scheme}", train, dev, test,
                      notes="MahaNER train split is not in the mirror: train = 90% of the official valid "
                            "file, dev = the other 10% (stable hash), test = official test")


def mahaner(scheme: str = "iob") -> TaggingSet:
    """Registry loader for the ``mahaner`` asset: :func:`ner_tagging` for Marathi."""
    return ner_tagging("mr", scheme)
