"""Evaluation tasks (STS, word similarity, Bible verse retrieval) and training pairs for the 2D Matryoshka study;
unavailable sets are skipped or fail as the study's ``missing_sets`` says."""
from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import numpy as np
import pandas as pd

from .. import userfiles
from ..choices import check_choice

TASK_KINDS = ("sts", "retrieval")
STS_SETS = ("stsb", "sick")
WORD_SETS = ("wordsim353", "simlex999")
TRAIN_SOURCES = ("stsb", "bible")


_check = check_choice


@dataclasses.dataclass
class GridTask:
    """Paired texts to score at every cell: ``sts`` (Spearman of cosine vs ``gold``) or ``retrieval``
    (rank each ``texts_a[i]``'s counterpart ``texts_b[i]`` among all of ``texts_b``)."""

    name: str
    kind: str
    texts_a: list[str]
    texts_b: list[str]
    gold: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check("task kind", self.kind, TASK_KINDS)
        if len(self.texts_a) == 0:
            raise ValueError(f"empty evaluation set {self.name!r}: no pairs to score")
        if len(self.texts_a) != len(self.texts_b):
            raise ValueError(f"{self.name}: {len(self.texts_a)} first texts but {len(self.texts_b)} second texts")
        if self.kind == "sts" and (self.gold is None or len(self.gold) != len(self.texts_a)):
            raise ValueError(f"{self.name}: an sts task needs one gold score per pair")

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names this task reports."""
        return ("spearman",) if self.kind == "sts" else ("mrr", "recall@1")

    def __len__(self) -> int:
        return len(self.texts_a)


def _sample(df: pd.DataFrame, max_pairs: int | None, seed: int) -> pd.DataFrame:
    """At most ``max_pairs`` rows, a seeded sample kept in the original order."""
    if max_pairs is None or len(df) <= max_pairs:
        return df.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(seed).choice(len(df), size=max_pairs, replace=False))
    return df.iloc[keep].reset_index(drop=True)


@functools.lru_cache(maxsize=4)
def bible_pairs(version_a: str = "kjv", version_b: str = "bbe") -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, eval)`` verse pairs of two translations; eval books (``evalsets.BIBLE_EVAL_BOOKS``) are disjoint."""
    from .. import evalsets

    return evalsets.bible_paraphrase_split(version_a, version_b)


def _label(name: str) -> str:
    """A set's task name: its own, or for a user file (``file:<path>``) its name and short content hash."""
    return userfiles.label(name) if name.startswith("file:") else name


def _cap(max_pairs: int | dict | None, name: str) -> int | None:
    """The pair cap for one set: a number for all sets, or ``{set name: cap}`` (missing: no cap)."""
    return max_pairs.get(name) if isinstance(max_pairs, dict) else max_pairs


def build_tasks(cfg, results) -> list[GridTask]:
    """A study ``Config``'s evaluation tasks one by one; a set that cannot be had is listed as unavailable in
    ``results`` (``missing_sets='skip'``) or raises (``'fail'``)."""
    from .. import assets, evalsets

    wanted = [("sts", s, dict(sts=[s], words=[], bible=None)) for s in cfg.sts_sets]
    wanted += [("word similarity", w, dict(sts=[], words=[w], bible=None)) for w in cfg.word_sets]
    if cfg.bible_versions:
        wanted.append(("retrieval", "bible", dict(sts=[], words=[], bible=tuple(cfg.bible_versions))))
    tasks = []
    for kind, name, kw in wanted:
        tasks += results.load_or_skip(
            kind, name, lambda kw=kw: evaluation_tasks(**kw, max_pairs=cfg.max_eval_pairs, seed=cfg.seed),
            cfg.missing_sets, unavailable=(assets.AssetUnavailable, evalsets.EvalSetUnavailable, OSError)) or []
    if not tasks:
        raise ValueError("no evaluation set could be loaded: " + "; ".join(u.name for u in results.unavailable))
    return tasks


def headline_task(tasks: Sequence[GridTask], name: str, results) -> GridTask:
    """The first task called ``name`` (or whose name starts with it: ``bible`` is ``bible-kjv-tyn``)."""
    matches = [t for t in tasks if t.name == name or t.name.startswith(name)]
    if not matches:
        raise ValueError(f"headline task {name!r} is unavailable in this run "
                         f"({'; '.join(f'{u.name}: {u.reason}' for u in results.unavailable)})")
    return matches[0]


def evaluation_tasks(sts: Sequence[str] = STS_SETS, words: Sequence[str] = WORD_SETS,
                     bible: Sequence[str] | None = ("kjv", "bbe"), max_pairs: int | dict | None = None,
                     seed: int = 0) -> list[GridTask]:
    """Test splits of STS sets, word-similarity sets and held-out Bible verse retrieval as grid tasks.

    ``max_pairs`` caps every set (a number) or some of them (``{"sick": 1000, "bible": 500}``) by a seeded sample.
    """
    from .. import evalsets

    for name in (n for n in sts if not n.startswith("file:")):  # file:<path>: a user's file
        _check("STS set", name, STS_SETS)
    for name in (n for n in words if not n.startswith("file:")):
        _check("word-similarity set", name, WORD_SETS)
    if bible and len(bible) != 2:
        raise ValueError(f"bible needs two translations (e.g. ['kjv', 'web']), got {list(bible)}")
    tasks = []
    for name in sts:
        pairs = evalsets.load_evalset("sts", name) if name.startswith("file:") else evalsets.sts_pairs(name, "test")
        df = _sample(pairs.pairs, _cap(max_pairs, name), seed)
        tasks.append(GridTask(_label(name), "sts", list(df.s1), list(df.s2), df.score.to_numpy(float)))
    for name in words:
        pairs = evalsets.load_evalset("similarity", name) if name.startswith("file:") else getattr(evalsets, name)()
        df = _sample(pairs.pairs, _cap(max_pairs, name), seed)
        tasks.append(GridTask(_label(name), "sts", list(df.w1), list(df.w2), df.score.to_numpy(float)))
    if bible:
        df = _sample(bible_pairs(*bible)[1], _cap(max_pairs, "bible"), seed)
        tasks.append(GridTask(f"bible-{bible[0]}-{bible[1]}", "retrieval", list(df.s1), list(df.s2)))
    if not tasks:
        raise ValueError("no evaluation sets selected: give at least one of sts, words, bible")
    return tasks


@dataclasses.dataclass
class PairData:
    """Training pairs ``texts_a[i] ~ texts_b[i]``; ``labels`` (similarity in [0, 1]) for CoSENT, ``None``
    for in-batch negatives (MultipleNegativesRankingLoss)."""

    name: str
    texts_a: list[str]
    texts_b: list[str]
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.texts_a) == 0:
            raise ValueError(f"empty training set {self.name!r}")
        if len(self.texts_a) != len(self.texts_b) or (self.labels is not None and len(self.labels) != len(self.texts_a)):
            raise ValueError(f"{self.name}: texts_a, texts_b and labels must have the same length")

    def __len__(self) -> int:
        return len(self.texts_a)


def training_pairs(source: str = "stsb", max_pairs: int | None = None, bible: Sequence[str] = ("kjv", "bbe"),
                   seed: int = 0) -> PairData:
    """STS-B train (scores / 5, for CoSENT) or Bible verse pairs from books disjoint from the evaluation books."""
    from .. import evalsets

    _check("training source", source, TRAIN_SOURCES)
    if source == "stsb":
        df = _sample(evalsets.stsb("train").pairs, max_pairs, seed)
        return PairData("stsb-train", list(df.s1), list(df.s2), df.score.to_numpy(np.float32) / 5)
    df = _sample(bible_pairs(*bible)[0], max_pairs, seed)
    return PairData(f"bible-{bible[0]}-{bible[1]}-train", list(df.s1), list(df.s2))
