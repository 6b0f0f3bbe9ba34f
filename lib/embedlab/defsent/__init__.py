"""DefSent and DefSent+: sentence embeddings trained to project definitions onto the entries they define.

* **DefSent** (Tsukagoshi et al., ACL 2021): the pooled last layer goes through a frozen word-prediction
  layer tied to the frozen token-embedding matrix; cross-entropy against the headword, so only headwords
  that are one token of the encoder's vocabulary qualify. Where the checkpoint ships an MLM head (BERT,
  RoBERTa from the hub) its transform and bias are used, frozen; the offline encoders (``minilm``,
  ``e5-small``) ship none, so there the prediction layer is the token-embedding matrix itself.
* **DefSent+** (Liu 2024): each entry's embedding is the average of the encoder's own encodings of all
  its definitions (frozen; ICA-transformed and scaled by 100 as in the authors' code); definitions are
  classified into their entry through the pooler, so headwords of any length qualify. Progressive separate
  training rebuilds the entries with the stage k-1 encoder and retrains the original checkpoint.

Modules: :mod:`.config` (the study's parameters), :mod:`.dictionary` (entries, 8:1:1 headword split with no
definition text on both sides, single-token headwords), :mod:`.data` (the dictionary, the run's split and samples,
evaluation sets), :mod:`.targets` (tied prediction layer, entry embeddings, ICA/whitening), :mod:`.training` (the
authors' hyperparameters, one seeded training loop, PST), :mod:`.scoring` (headword prediction, retrieval,
similarity, isotropy of one space; a variant over its training seeds), :mod:`.results` (tables, headlines, notes,
the papers' panel), :mod:`.study` (orchestration: variants x poolings x training seeds x evaluations ->
:class:`embedlab.study.Results`), :mod:`.plots`.
"""
from ..seeding import passive_openmp

passive_openmp()  # before anything below imports torch (and with it OpenMP)

from .config import Config
from .dictionary import (SPLITS, as_entries, definitions_in, headword_key, headword_token_ids, normalise_definition,
                         require_single_token, sample_by_headword, sample_definitions, single_token_entries,
                         split_by_headword, without_held_out_definitions)
from .data import (DICTIONARIES, LANGUAGES, VARIANTS, EvalData, Split, evaluation_data, load_dictionary,
                   split_dictionary)
from .scoring import (TOP_K, Scores, SeedGroup, Space, embed_poolings, evaluate_space, reciprocal_rank_at, seed_groups,
                      vocabulary_ranks)
from .study import run_study
from .targets import (ENTRY_TRANSFORMS, EntryClassifier, TiedPredictionLayer, entry_embeddings, isotropize,
                      pooler_head, prediction_layer)
from .training import (DEFSENT_LR, DEFSENT_PLUS_LR, TRAIN_HEADS, TrainConfig, Trained, defsent_config,
                       defsent_plus_config, model_family, pooled, progressive_separate_training, train_classifier,
                       train_defsent, train_defsent_plus)

__all__ = [
    "Config", "SPLITS", "as_entries", "definitions_in", "headword_key", "headword_token_ids", "normalise_definition",
    "require_single_token", "sample_by_headword", "sample_definitions", "single_token_entries", "split_by_headword",
    "without_held_out_definitions", "DICTIONARIES", "LANGUAGES", "TOP_K", "VARIANTS", "EvalData", "Scores",
    "SeedGroup", "Space", "Split", "embed_poolings", "evaluate_space", "evaluation_data", "load_dictionary",
    "reciprocal_rank_at", "run_study", "seed_groups", "split_dictionary", "vocabulary_ranks", "ENTRY_TRANSFORMS",
    "EntryClassifier",
    "TiedPredictionLayer", "entry_embeddings", "isotropize", "pooler_head", "prediction_layer", "DEFSENT_LR",
    "DEFSENT_PLUS_LR", "TRAIN_HEADS", "TrainConfig", "Trained", "defsent_config", "defsent_plus_config",
    "model_family", "pooled", "progressive_separate_training", "train_classifier", "train_defsent",
    "train_defsent_plus",
]
