"""The DefSent / DefSent+ study's parameters: the single home of every default (the notebook's ``parameters`` cell
lists exactly these fields with these literal defaults; tests/test_study_contract.py checks it)."""
from __future__ import annotations

import dataclasses
from typing import Any

from ..study import AnyOf, Bool, Choice, Config as _Base, ConfigError, Float, Int, ListOf, Need, Optional, Str, param

LANGUAGE_CHOICES = ("en", "tr")
DICTIONARY_CHOICES = ("wordnet", "oxford-defs", "commondefs")
VARIANT_CHOICES = ("base", "defsent", "defsent+")
POOLING_CHOICES = ("mean", "cls", "max")
TRANSFORM_CHOICES = ("none", "whiten", "ica")
# Evaluation sets per language: (kind, name). STS sets are URL assets (skipped offline), the rest are offline.
# "paraphrase": two English Bible versions (monolingual, held-out books); "translation": registered translation sets
# (query in this language, candidates in another) scored like paraphrase retrieval (MRR, no cut-off).
LANGUAGES: dict[str, dict[str, Any]] = {
    "en": {"sts": ("stsb", "sick"), "paraphrase": ("kjv", "wyc"), "translation": (),
           "word_similarity": ("wordsim353", "simlex999")},
    "tr": {"sts": ("stsb-tr",), "paraphrase": None, "translation": ("quran-tr-en",),
           "word_similarity": ("anlamver-npm",)},
}


@dataclasses.dataclass
class Config(_Base):
    study = "defsent"

    language: str = param("en", Choice(*LANGUAGE_CHOICES), "'en' (WordNet 3.1) or 'tr' (KeNet)")
    encoder: str = param("minilm", Str(), "offline 'minilm' (English) or 'e5-small' (multilingual); or a hub id")
    dictionary: str = param("wordnet", Choice(*DICTIONARY_CHOICES, prefixes=("file:",)),
                            "'wordnet' (offline WordNet 3.1 / KeNet), an English URL set, or file:<path> for a "
                            "user's headword<TAB>definition list")
    variants: list = param(["base", "defsent", "defsent+"], ListOf(Choice(*VARIANT_CHOICES), unique=True),
                           "the base encoder and the trained variants")
    poolings: list = param(["mean"], ListOf(Choice(*POOLING_CHOICES), unique=True), "sentence poolings")
    train_definitions: object = param(2400, Optional(Int(min=16)),
                                      "training definitions per trained model; None: the whole training split")
    plus_train_definitions: object = param(None, Optional(Int(min=16)),
                                           "DefSent+ training definitions per PST stage; None: train_definitions")
    eval_definitions: object = param(400, Optional(Int(min=10)), "held-out definitions scored; None: all")
    n_candidates: int = param(1000, Int(min=2), "held-out headwords competing in headword retrieval")
    max_pairs: object = param(300, Optional(Int(min=10)), "pairs per STS / paraphrase / word-similarity set")
    missing_sets: str = param("skip", Choice("skip", "fail"),
                              "an evaluation set that cannot be had: 'skip' (listed as unavailable) or 'fail'")
    defsent_lr: object = param(None, Optional(Float(min=0, min_open=True)),
                               "DefSent learning rate; None: the authors' script for the pooling (4e-6*sqrt2 ...)")
    defsent_head_lr: object = param(None, Optional(Float(min=0, min_open=True)),
                                    "no MLM head shipped: train a transform before the token embeddings at this rate")
    defsent_plus_lr: object = param(None, Optional(Float(min=0, min_open=True)), "DefSent+ learning rate; None: 1e-5")
    batch_size: int = param(16, Int(min=1), "DefSent batch size (16 in the authors' config)")
    defsent_plus_head_lr: object = param(None, Optional(Float(min=0, min_open=True)),
                                         "DefSent+ pooler-head learning rate; None: the DefSent+ rate (authors)")
    plus_batch_size: int = param(32, Int(min=1), "DefSent+ batch size (32 in the authors' readme)")
    plus_epochs: object = param(None, Optional(Int(min=1)), "DefSent+ passes per PST stage; None: epochs")
    epochs: int = param(1, Int(min=1), "passes over the training definitions")
    entry_transform: str = param("ica", Choice(*TRANSFORM_CHOICES),
                                 "DefSent+ entry space: 'ica' (authors' ICA-transform.py), 'whiten' or 'none'")
    entry_scale: float = param(100.0, Float(min=0, min_open=True), "scale of ICA / whitened entries (100 in the code)")
    ica_max_iter: int = param(200, Int(min=1), "FastICA iterations (1000 in the authors' example)")
    pst_stages: int = param(2, Int(min=1, max=5), "DefSent+ progressive separate training stages")
    train_head: str = param("pooler", Choice("pooler", "none"), "DefSent+ trains through the pooler (authors) or not")
    max_length: int = param(64, Int(min=8), "tokens per definition")
    train_precision: str = param("float32", Choice("float32", "bfloat16"),
                                 "the encoder's forward pass in training: float32 (the authors') or bfloat16 autocast "
                                 "(weights, optimizer and loss in float32); evaluation is float32 either way")
    use_mlm_head: object = param(None, AnyOf(Choice(None), Bool()),
                                 "None: the checkpoint's MLM head where one ships; False: never; True: required")
    n_examples: int = param(6, Int(min=0), "example definitions shown per variant")
    seed: int = param(0, Int(min=0))
    seeds: int = param(3, Int(min=1), "training seeds of DefSent and DefSent+ (seed, seed+1, ...)")
    threads: int = param(2, Int(min=1))

    @property
    def plus_definitions(self) -> int | None:
        """DefSent+'s training definitions (``plus_train_definitions``, else ``train_definitions``)."""
        return self.plus_train_definitions if self.plus_train_definitions is not None else self.train_definitions

    def validate(self) -> None:
        if self.dictionary in ("oxford-defs", "commondefs") and self.language != "en":
            raise ConfigError(f"parameter 'dictionary': given {self.dictionary!r} with language {self.language!r}; "
                              "allowed: 'wordnet' (KeNet) for Turkish, the URL sets are English only")
        if self.entry_transform != "none" and "defsent+" in self.variants and self.plus_definitions is not None \
                and self.plus_definitions < 400:
            name = "plus_train_definitions" if self.plus_train_definitions is not None else "train_definitions"
            raise ConfigError(f"parameter {name!r}: given {self.plus_definitions!r} with entry_transform="
                              f"{self.entry_transform!r}; allowed: None or >= 400 (ICA/whitening needs more entries "
                              "than the encoder has dimensions), or entry_transform='none'")

    def assets(self) -> list[Need]:
        """The encoder, the dictionary (the Oxford train file skippable) and the language's evaluation sets
        (skippable with missing_sets='skip')."""
        from .. import encoders
        from ..evalsets import TRAIN_FILE_ASSETS, dispatch

        skip = self.missing_sets == "skip"
        out = [Need(a, f"encoder: {self.encoder}") for a in encoders.encoder_assets(self.encoder)]
        out += [Need(a, f"dictionary: {self.dictionary}", skip and a == TRAIN_FILE_ASSETS.get(self.dictionary))
                for a in dispatch.needs("dictionary", self.dictionary)]
        spec = LANGUAGES[self.language]
        wanted = [("sts", n, {}) for n in spec["sts"]] + [("translation", n, {}) for n in spec["translation"]]
        if spec["paraphrase"]:
            wanted.append(("paraphrase", "bible-split", dict(zip(("version_a", "version_b"), spec["paraphrase"]))))
        wanted += [("similarity", n, {}) for n in spec["word_similarity"]]
        return out + [Need(a, f"evaluation: {kind} {n}", skip) for kind, n, kw in wanted
                      for a in dispatch.needs(kind, n, **kw)]
