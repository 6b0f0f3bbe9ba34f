"""The CADE study's parameters: the single home of every default (the notebook's ``parameters`` cell copies them)."""
from __future__ import annotations

import dataclasses

from ..study import (AnyOf, Bool, Choice, Config as _Base, ConfigError, Float, Int, ListOf, Need, Str, param)
from .training import INITS, TrainingConfig

_PERIOD = ListOf(Int(min=0), min_len=2, max_len=2)


@dataclasses.dataclass
class Config(_Base):
    study = "cade"

    # ---- the slices
    source: str = param("bible", Choice("bible", "turkish", "user"), "which slices: English Bible translations, "
                        "Atatürk's texts by period (+ modern Turkish), or a user corpus")
    bible_versions: list = param(["wyc", "kjv", "ylt", "asv", "web"], ListOf(Str(), min_len=2, unique=True),
                                 "Bible translations in chronological order (each one slice)")
    bible_books: object = param("shared", AnyOf(Choice(None, "shared", "OT", "NT"), ListOf(AnyOf(Str(), Int(min=1)))),
                                "books per slice: 'shared' (those every chosen translation covers), None (all of each), "
                                "'OT', 'NT' or a list of book codes")
    turkish_periods: list = param([[1906, 1922], [1923, 1938]], ListOf(_PERIOD), "year ranges of Atatürk's texts")
    turkish_treebank: bool = param(True, Bool(), "add the modern web/wiki treebank text as the last slice")
    user_paths: list = param([], ListOf(Str(), min_len=0), "source user: folders of .txt files (one per slice), "
                             ".csv/.tsv tables with text and slice columns, or assets")
    language: str = param("en", Str(pattern=r"[a-z]{2}"), "language of the text (tokenization, lower-casing)")
    max_tokens_per_slice: int = param(0, Int(min=0), "0 keeps whole slices")
    heldout_fraction: float = param(0.1, Float(min=0, max=0.5), "sentences held out of every slice for TWEC's "
                                    "likelihood evaluation (0: no held-out evaluation)")
    hs_likelihood: bool = param(True, Bool(), "also train a hierarchical-softmax compass and CADE slices (one seed) "
                                "for a normalised held-out likelihood beside TWEC's negative-sampling score")
    # ---- word2vec (CADE's reference defaults)
    vector_size: int = param(100, Int(min=2), "dimensions")
    window: int = param(5, Int(min=1), "context window (each side)")
    negative: int = param(10, Int(min=1), "negative samples")
    epochs: int = param(5, Int(min=1), "compass and independent baselines")
    slice_epochs: int = param(5, Int(min=1), "CADE slices")
    alpha: float = param(0.025, Float(min=0, max=1, min_open=True), "initial learning rate")
    min_count: int = param(5, Int(min=1), "minimum count (compass: over all slices; independent models: per slice)")
    sample: float = param(0.001, Float(min=0, max=1), "frequent-word subsampling threshold")
    init: str = param("random", Choice(*INITS), "CADE slice start vectors: 'random' (seeded per word, the same in "
                      "every slice, as the reference) or 'compass'")
    seeds: int = param(3, Int(min=1), "training seeds (seed, seed + 1, ...) of the CADE slices and of every "
                       "planted-shift model; the compass of all slices is trained once")
    # ---- shift measures
    lncs_k: int = param(25, Int(min=1), "neighbours for LNCS (Hamilton et al. 2016); capped to the vocabulary")
    nn_k: int = param(1000, Int(min=1), "neighbours for NN intersection (Gonen et al. 2020); capped to the vocabulary")
    # ---- planted shift
    planted_reference: str = param("kjv", Str(), "the slice the planted one is compared with")
    planted_slice: str = param("web", Str(), "the slice where target words take over donors' contexts")
    n_planted: int = param(100, Int(min=1), "planted (target, donor) pairs")
    replace_rate: float = param(0.5, Float(min=0, max=1, min_open=True), "share of a donor's occurrences replaced")
    planted_min_count: int = param(20, Int(min=1), "planted and control words: occurrences in both slices, at least")
    planted_max_count: int = param(500, Int(min=1), "... and at most")
    # ---- vocabulary-overlap sweep
    overlap_slice: str = param("kjv", Str(), "the slice split in halves for the vocabulary-overlap sweep")
    shared_fractions: list = param([1.0, 0.5, 0.25, 0.1], ListOf(Float(min=0, max=1, min_open=True), unique=True),
                                   "shares of frequent word types kept shared between the halves")
    overlap_max_tokens: int = param(200000, Int(min=0), "tokens of the overlap slice used (0: all)")
    # ---- report
    trace_words: list = param(["pass", "suffer", "meat", "master", "most", "ghost", "grace", "temple"],
                              ListOf(Str(), min_len=0), "words traced across slices")
    trace_reference: str = param("kjv", Str(), "the slice the traced words are compared with")
    top_n: int = param(10, Int(min=1), "most shifted words shown per slice pair (the full ranking is saved)")
    top_min_count: int = param(20, Int(min=1), "words shown as most shifted need this many occurrences in both slices")
    n_boot: int = param(1000, Int(min=100), "bootstrap resamples for the intervals")
    threads: int = param(2, Int(min=1), "models trained side by side (one per thread); results do not depend on it")
    seed: int = param(0, Int(min=0), "seed of sampling, planting and bootstrap")

    def validate(self) -> None:
        if self.planted_min_count > self.planted_max_count:
            raise ConfigError(f"parameter 'planted_max_count': given {self.planted_max_count!r}; allowed: "
                              f">= planted_min_count ({self.planted_min_count})")
        if self.planted_reference == self.planted_slice:
            raise ConfigError(f"parameter 'planted_slice': given {self.planted_slice!r}; allowed: a slice other than "
                              f"planted_reference ({self.planted_reference!r})")
        for p in self.turkish_periods:
            if p[0] > p[1]:
                raise ConfigError(f"parameter 'turkish_periods': given {p!r}; allowed: [first_year, last_year] with "
                                  "first <= last")
        if self.source == "user" and not self.user_paths:
            raise ConfigError("parameter 'user_paths': given []; allowed: at least one path when source is 'user'")
        names = self.slice_names()
        if names is not None:
            for field in ("planted_reference", "planted_slice", "overlap_slice", "trace_reference"):
                if getattr(self, field) not in names:
                    raise ConfigError(f"parameter {field!r}: given {getattr(self, field)!r}; allowed: one of the "
                                      f"slices {', '.join(map(repr, names))}")

    def slice_names(self) -> list[str] | None:
        """The slice names this configuration will produce (None for user slices: known only once read)."""
        if self.source == "bible":
            from embedlab import corpora

            bad = [v for v in self.bible_versions if v not in corpora.BIBLE_VERSIONS]
            if bad:
                raise ConfigError(f"parameter 'bible_versions': given {bad!r}; allowed: "
                                  f"{', '.join(corpora.BIBLE_VERSIONS)}")
            return list(self.bible_versions)
        if self.source == "turkish":
            from .data import TREEBANK_SLICE

            return [f"{a}-{b}" for a, b in self.turkish_periods] + ([TREEBANK_SLICE] if self.turkish_treebank else [])
        return None

    def training(self, **changes) -> TrainingConfig:
        """The word2vec settings of the compass, the CADE slices and the baselines."""
        kw = dict(vector_size=self.vector_size, window=self.window, negative=self.negative, epochs=self.epochs,
                  slice_epochs=self.slice_epochs, alpha=self.alpha, min_count=self.min_count, sample=self.sample,
                  init=self.init, seed=self.seed)
        return TrainingConfig(**{**kw, **changes})

    def _sources(self) -> list[tuple[str, str]]:
        """``(parameter: value, corpus name)`` of every corpus the slices are read from."""
        if self.source == "bible":
            return [(f"bible_versions: {v}", f"bible-{v}") for v in self.bible_versions]
        if self.source == "turkish":
            return [("source: turkish", "ataturk")] + ([("turkish_treebank", "tr-treebank")] if self.turkish_treebank
                                                       else [])
        return [(f"user_paths: {p}", f"slices:{p}") for p in self.user_paths]

    def assets(self) -> list[Need]:
        """The corpora the slices come from (every one required)."""
        from embedlab import corpora

        return [Need(a, what) for what, name in self._sources() for a in corpora.corpus_assets(name)]

    def user_files(self) -> list[tuple[str, str]]:
        """``user_paths`` entries that are paths, not slice assets (source 'user')."""
        from embedlab import corpora

        return [("user_paths", name[len("slices:"):]) for _, name in self._sources()
                if name.startswith("slices:") and not corpora.corpus_assets(name)]
