"""The 2D Matryoshka study's parameters: the single home of every default (the notebook's ``parameters`` cell
lists exactly these fields with these defaults; ``tests/test_study_contract.py`` checks it)."""
from __future__ import annotations

import dataclasses

from .. import userfiles
from ..study import (Choice, Config as _Base, ConfigError, DictOf, Float, Int, ListOf, Need, Optional, Str, param)
from .data import STS_SETS, TRAIN_SOURCES, WORD_SETS
from .grid import POOLINGS
from .losses import BASE_LOSSES, KL_CHOICES, LAYER_WEIGHTINGS, TRAIN_PRECISIONS, VARIANTS

BIBLE_VERSIONS = ("kjv", "wyc", "tyn", "gb", "dr", "rwebster", "ylt", "asv", "bbe", "web")


@dataclasses.dataclass
class Config(_Base):
    study = "matryoshka"

    encoder: str = param("minilm", Str(), "encoder: an offline alias (minilm, e5-small), a registry asset or a "
                                          "Hugging Face id")
    pooling: str = param("mean", Choice(*POOLINGS), "sentence pooling, in training and evaluation alike")
    train_source: str = param("bible", Choice(*TRAIN_SOURCES), "training pairs: Bible verse pairs of "
                              "bible_versions from books disjoint from the evaluation books (in-batch negatives), "
                              "or STS-B train (CoSENT)")
    train_pairs: object = param(1024, Optional(Int(min=2)), "training pairs (a seeded sample; None: all)")
    variants: list = param(["baseline", "mrl", "2dmse", "srl"], ListOf(Choice(*VARIANTS), min_len=1, unique=True),
                           "training variants; 'srl' is the Starbucks loss without its masked-autoencoder pretraining")
    base_loss: object = param(None, Optional(Choice(*BASE_LOSSES)),
                              "base loss (None: CoSENT for scored pairs, MultipleNegativesRanking for plain pairs)")
    epochs: int = param(1, Int(min=1), "training epochs")
    batch_size: int = param(32, Int(min=2), "training batch size (also the in-batch negatives)")
    learning_rate: float = param(5e-5, Float(min=0, min_open=True), "AdamW learning rate (linear decay)")
    warmup_ratio: float = param(0.1, Float(min=0, max=1), "share of steps with linear warm-up")
    max_length: int = param(64, Int(min=4), "tokens per text")
    train_precision: str = param("bfloat16", Choice(*TRAIN_PRECISIONS),
                                 "the encoder's forward pass in training: bfloat16 autocast (mixed precision; weights, "
                                 "optimizer and losses in float32; Starbucks' scripts train in fp16 mixed precision) "
                                 "or float32; evaluation is float32 either way")
    layer_weighting: str = param("uniform", Choice(*LAYER_WEIGHTINGS),
                                 "2DMSE shallow-layer weight: uniform (2DMSE) or log = 1/(1+ln(1+i)), i the "
                                 "hidden-state index (ESE, as AnglE and sentence-transformers)")
    kl_2dmse: str = param("angle", Choice(*KL_CHOICES), "2DMSE's KL term: 'angle' (AnglE's 2DMSE trainer: T=1, "
                          "x T^2, teacher not detached), 'starbucks', 'sentence-transformers' or 'none'")
    kl_srl: str = param("starbucks", Choice(*KL_CHOICES), "SRL's KL term: 'starbucks' (starbucks_loss.py: no "
                        "division by T, x 0.3, teacher not detached), 'angle', 'sentence-transformers' or 'none'")
    kl_weight: float = param(1.0, Float(min=0), "extra weight on the KL term (1 in every reference)")
    smallest_dim: int = param(8, Int(min=1), "smallest leading dimension of the grid's ladder (8, 16, ... full)")
    sts_sets: list = param([], ListOf(Choice(*STS_SETS, prefixes=("file:",)), min_len=0, unique=True),
                           "STS test sets (need the mirror or internet; skipped and listed when unavailable); "
                           "file:<path> for a user's sentence-pair file (s1, s2, score)")
    word_sets: list = param(["wordsim353", "simlex999"], ListOf(Choice(*WORD_SETS, prefixes=("file:",)), min_len=0,
                                                                unique=True),
                            "word-similarity sets (offline, from gensim); file:<path> for 'word word score' lines")
    bible_versions: object = param(["kjv", "tyn"], Optional(ListOf(Choice(*BIBLE_VERSIONS), min_len=2, max_len=2,
                                                                    unique=True)),
                                   "two translations: retrieval of each verse's counterpart among all verses of the "
                                   "held-out books (KJV 1611 vs Tyndale 1526 by default); None: no Bible task")
    max_eval_pairs: dict = param({"simlex999": 500}, DictOf(Str(), Optional(Int(min=2))),
                                 "seeded cap per evaluation set (a set not listed is used whole)")
    headline_task: str = param("bible", Str(), "the task whose smallest diagonal cell and full size are the headline "
                                               "comparisons (a task name or its prefix)")
    missing_sets: str = param("skip", Choice("skip", "fail"),
                              "an evaluation set that cannot be had: skip and list it, or fail (paper profile)")
    latency_texts: int = param(64, Int(min=1), "texts timed per layer depth")
    latency_repeats: int = param(2, Int(min=1), "timing repeats (best of)")
    seed: int = param(0, Int(min=0))
    seeds: int = param(3, Int(min=1), "training seeds of the trained variants (seed, seed+1, ...: batch order, "
                                      "dropout and 2DMSE's draws; the training pairs are one sample)")
    threads: int = param(2, Int(min=1))

    def validate(self) -> None:
        if self.train_source == "bible" and not self.bible_versions:
            raise ConfigError(f"parameter 'bible_versions': given {self.bible_versions!r}; allowed: two translations "
                              "when train_source is 'bible'")
        if self.base_loss == "cosent" and self.train_source == "bible":
            raise ConfigError("parameter 'base_loss': given 'cosent'; allowed: None or 'mnrl' with "
                              "train_source='bible' (Bible pairs carry no similarity score)")
        tasks = [*self.sts_sets, *self.word_sets] + (["bible"] if self.bible_versions else [])
        if not tasks:
            raise ConfigError("parameters 'sts_sets', 'word_sets', 'bible_versions': given none; allowed: at least "
                              "one evaluation set")
        tasks += [userfiles.label(t) for t in tasks if t.startswith("file:")]  # a user file's task name
        if not any(t == self.headline_task or t.startswith(self.headline_task) for t in tasks):
            raise ConfigError(f"parameter 'headline_task': given {self.headline_task!r}; allowed: one of the "
                              f"evaluation sets {tasks}")

    def assets(self) -> list[Need]:
        """The encoder and the training pairs (required), and the evaluation sets: skippable with
        missing_sets='skip', as long as one of them can be had."""
        from .. import encoders
        from ..evalsets import dispatch

        skip = self.missing_sets == "skip"
        out = [Need(a, f"encoder: {self.encoder}") for a in encoders.encoder_assets(self.encoder)]
        bible = dict(zip(("version_a", "version_b"), self.bible_versions or ()))
        train = dispatch.needs("sts", "stsb") if self.train_source == "stsb" else \
            dispatch.needs("paraphrase", "bible-split", **bible)
        out += [Need(a, f"train_source: {self.train_source}") for a in train]
        wanted = [(f"sts_sets: {n}", dispatch.needs("sts", n)) for n in self.sts_sets]
        wanted += [(f"word_sets: {n}", dispatch.needs("similarity", n)) for n in self.word_sets]
        wanted += [("bible_versions", dispatch.needs("paraphrase", "bible-split", **bible))] if bible else []
        return out + [Need(a, what, skip, "evaluation") for what, names in wanted for a in names]
