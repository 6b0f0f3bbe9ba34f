"""The static-vs-contextual study's parameters: the single home of every default.

The notebook's ``parameters`` cell lists exactly these fields with these defaults (tests/test_study_contract.py);
the defaults are the default profile's Turkish run. Every value is checked when the Config is built: a bad
value is a :class:`~embedlab.study.ConfigError` naming the parameter, what was given and what is allowed.
"""
from __future__ import annotations

import dataclasses

from .. import corpora as _corpora, extract as _extract, static as _static
from ..evalsets import dispatch as _sets
from ..study import Choice, Config as _Base, ConfigError, Float, Int, ListOf, Need, Optional, Str, param

LANGUAGES = ("tr", "hu", "mr", "en")
#: corpus names (see :func:`embedlab.corpora.load_corpus`); ``slices:<path-or-asset>`` is accepted too
CORPORA = tuple(_corpora.CORPUS_NAMES)
#: trained static models (:data:`embedlab.static.STATIC_MODELS`) and extraction methods
#: (:data:`embedlab.extract.METHODS`): defined there, once
STATIC_MODELS = tuple(_static.STATIC_MODELS)
METHODS = tuple(_extract.METHODS)
ANALOGY_METHODS = ("3cosadd", "3cosmul")
MISSING_SETS = ("skip", "fail")
_NEEDS_PATH = ("file", "paper")  # registry entries that take a user file (given here as file:<path>)
#: treebank used for the analogy miner and POS tagging, per study language (see embedlab.evalsets)
TREEBANK_LANGUAGE = {"tr": "tr", "hu": "hu", "mr": "mr"}
#: the evaluation-set parameters and the registry kind of each
SET_FIELDS = (("analogy_sets", "analogy"), ("similarity_sets", "similarity"), ("tagging_tasks", "tagging"),
              ("classification_sets", "classification"))


def registered(kind: str) -> tuple[str, ...]:
    """The evaluation-set registry's names of one kind (:mod:`embedlab.evalsets.dispatch`), file entries aside."""
    return tuple(n for k, n in _sets.REGISTRY if k == kind and n not in _NEEDS_PATH)


#: evaluation sets by kind, from the one registry (analogy, similarity and tagging also take ``file:<path>``)
ANALOGY_SETS = registered("analogy")
SIMILARITY_SETS = registered("similarity")
TAGGING_TASKS = registered("tagging")
CLASSIFICATION_SETS = registered("classification")


@dataclasses.dataclass
class Config(_Base):
    """Every parameter of a static-vs-contextual run (defaults: the default profile's Turkish run)."""

    study = "static_vs_contextual"

    language: str = param("tr", Choice(*LANGUAGES), "study language")
    corpora: list = param(["tr-wiki-s", "tr-treebank", "ataturk"],
                          ListOf(Choice(*CORPORA, prefixes=("slices:",)), unique=True),
                          "training corpora, joined (all in the study language)")
    max_tokens: object = param(1_000_000, Optional(Int(min=1)),
                               "tokens of the training corpus (seeded random sentence order; None: all)")
    vocab_size: object = param(30_000, Optional(Int(min=1)),
                               "most frequent corpus words in the shared vocabulary (None: every word with min_count)")
    min_count: int = param(3, Int(min=1), "minimum corpus count of a vocabulary word")
    analogy_candidates: object = param(20_000, Optional(Int(min=4)),
                                       "most frequent corpus words an analogy answer is chosen among, the same for "
                                       "every embedding; a question with a word outside them is a miss (None: the "
                                       "whole shared vocabulary)")
    static_models: list = param(list(STATIC_MODELS), ListOf(Choice(*STATIC_MODELS), min_len=0, unique=True),
                                "trained static models")
    static_dim: int = param(100, Int(min=1), "dimensions of the trained static models")
    static_epochs: int = param(10, Int(min=1), "epochs of the trained static models")
    encoders: list = param(["e5-small"], ListOf(Str(), min_len=0, unique=True),
                           "encoders: offline aliases, registry names or Hugging Face ids (owner/model)")
    methods: list = param(list(METHODS), ListOf(Choice(*METHODS), unique=True), "static vectors from each encoder")
    layers: list = param([-1], ListOf(Int(), unique=True), "encoder layers (negative: from the top)")
    max_contexts: object = param(None, Optional(Int(min=1)),
                                 "contexts per word averaged by the aggregate methods, sampled uniformly (None: all)")
    max_context_sentences: object = param(None, Optional(Int(min=1)),
                                          "sentences the aggregate contexts are drawn from (None: all; X2Static "
                                          "always reads every sentence)")
    x2static_epochs: int = param(5, Int(min=1), "X2Static epochs over the training corpus")
    x2static_t: float = param(5e-6, Float(min=0, min_open=True),
                              "X2Static subsampling threshold (5e-6 in the reference, tuned for Wikipedia-size corpora)")
    precision: str = param("auto", Choice(*_extract.PRECISIONS),
                           "precision of the encoder's context pass (aggregate + X2Static teacher; the X2Static "
                           "reference runs it in half precision); auto: bfloat16 where the CPU/GPU has it, else float32")
    analogy_sets: list = param(["treebank"], ListOf(Choice(*ANALOGY_SETS, prefixes=("file:",)), min_len=0,
                                                    unique=True), "analogy sets (file:<path> for a questions-words file)")
    analogy_methods: list = param(["3cosadd", "3cosmul"], ListOf(Choice(*ANALOGY_METHODS), unique=True),
                                  "analogy scoring; the first is the headline's")
    analogy_max_per_relation: int = param(300, Int(min=1), "questions drawn per mined relation")
    similarity_sets: list = param([], ListOf(Choice(*SIMILARITY_SETS, prefixes=("file:",)), min_len=0, unique=True),
                                  "word-similarity sets (file:<path> for 'word word score' lines)")
    tagging_tasks: list = param(["pos"], ListOf(Choice(*TAGGING_TASKS, prefixes=("file:",)), min_len=0, unique=True),
                                "tagging tasks (file:<path> for a CoNLL-U file or folder)")
    hidden_sizes: list = param([2, 8, 32], ListOf(Int(min=1), unique=True), "BiLSTM hidden sizes")
    tagger_epochs: int = param(5, Int(min=1), "BiLSTM tagger epochs")
    tagger_lr: float = param(0.005, Float(min=0, min_open=True), "BiLSTM tagger learning rate")
    max_tagging_train: object = param(None, Optional(Int(min=1)), "training sentences of the tagger (None: all)")
    classification_sets: list = param(["ataturk-kind"], ListOf(Choice(*CLASSIFICATION_SETS), min_len=0, unique=True),
                                      "text classification sets")
    compressed_dim: int = param(300, Int(min=1), "SVD dimensions of the compressed variant")
    classification_folds: int = param(5, Int(min=2), "stratified cross-validation folds (the Marathi paper: 5)")
    max_classification_texts: object = param(5000, Optional(Int(min=2)),
                                             "labelled texts pooled for cross-validation, stratified (None: all)")
    curve_fractions: list = param([0.1, 0.3], ListOf(Float(min=0, max=1, min_open=True), min_len=0, unique=True),
                                  "corpus fractions for the learning curve besides the whole corpus ([]: none)")
    seeds: int = param(3, Int(min=1), "training seeds of the taggers and classifiers (seed, seed + 1, ...; the "
                                      "classifiers' cross-validation folds are drawn anew for each)")
    static_seeds: int = param(1, Int(min=1), "training seeds of the trained static models and X2Static (the "
                                             "learning curve's points use the first)")
    missing_sets: str = param("skip", Choice(*MISSING_SETS),
                              "an evaluation set whose asset cannot be had: skip it (listed) or fail")
    tsne_per_category: int = param(12, Int(min=1), "words per category in the t-SNE maps")
    seed: int = param(0, Int(min=0), "seed of every random choice")
    threads: int = param(2, Int(min=1), "CPU threads")

    def validate(self) -> None:
        lang = self.language
        if not self.static_models and not self.encoders:
            raise ConfigError("parameters 'static_models' and 'encoders': both empty; allowed: at least one model "
                              "to compare")
        from .. import encoders as _enc

        known = _enc.known_encoders()
        bad = [e for e in self.encoders if e not in known and "/" not in e]
        if bad:
            raise ConfigError(f"parameter 'encoders': given {bad!r}; allowed: {', '.join(known)}, or a Hugging Face "
                              "id such as 'dbmdz/bert-base-turkish-cased'")
        for field, kind in SET_FIELDS:
            for name in getattr(self, field):
                if name.startswith("file:"):
                    continue
                langs = _sets.REGISTRY[(kind, name)].languages
                if lang not in langs and "*" not in langs:
                    raise ConfigError(f"parameter {field!r}: given {name!r} for language {lang!r}; allowed: "
                                      f"{name!r} exists for {', '.join(langs)}; for {lang!r}: "
                                      f"{', '.join(n for n in registered(kind) if lang in _sets.REGISTRY[(kind, n)].languages) or 'none'}")
        if 1.0 in self.curve_fractions:
            raise ConfigError("parameter 'curve_fractions': given 1.0; allowed: fractions below 1 (the whole corpus "
                              "is always a point of the curve)")

    def loader_kwargs(self, kind: str, name: str) -> dict:
        """Keyword arguments of a registered evaluation set's loader for this run."""
        if name.startswith("file:"):
            return {"language": self.language}
        if (kind, name) in (("analogy", "treebank"), ("tagging", "pos")):
            kw = {"language": TREEBANK_LANGUAGE[self.language]}
            return {**kw, "max_per_relation": self.analogy_max_per_relation, "seed": self.seed} if kind == "analogy" \
                else kw
        if (kind, name) == ("analogy", "bible-morph"):
            return {"max_per_relation": self.analogy_max_per_relation, "seed": self.seed}
        if (kind, name) == ("tagging", "ner"):
            return {"language": self.language}
        if (kind, name) == ("similarity", "mr-gloss-synonyms"):
            return {"seed": self.seed}
        if kind == "classification" and name.startswith("bible-"):
            return {"version": "hu" if self.language == "hu" else "kjv"}
        if (kind, name) == ("classification", "mahasent"):
            return {"variant": "md"}
        return {}

    def assets(self) -> list[Need]:
        """Encoders, corpora (at least one must be had) and evaluation sets (skippable with missing_sets='skip')."""
        from .. import encoders as _enc

        skip = self.missing_sets == "skip"
        out = [Need(a, f"encoders: {e}") for e in self.encoders for a in _enc.encoder_assets(e)]
        out += [Need(a, f"corpora: {c}", skip, "corpora") for c in self.corpora for a in _corpora.corpus_assets(c)]
        for field, kind in SET_FIELDS:
            out += [Need(a, f"{field}: {n}", skip) for n in getattr(self, field)
                    for a in _sets.needs(kind, n, **self.loader_kwargs(kind, n))]
        return out

    def user_files(self) -> list[tuple[str, str]]:
        """``file:`` evaluation sets and ``slices:`` corpora that are paths, not assets."""
        out = [(f, n[len("file:"):]) for f, _ in SET_FIELDS for n in getattr(self, f) if n.startswith("file:")]
        return out + [("corpora", c[len("slices:"):]) for c in self.corpora
                      if c.startswith("slices:") and not _corpora.corpus_assets(c)]


__all__ = ["Config", "ConfigError", "LANGUAGES", "CORPORA", "STATIC_MODELS", "METHODS", "ANALOGY_SETS",
           "SIMILARITY_SETS", "TAGGING_TASKS", "CLASSIFICATION_SETS", "registered"]
