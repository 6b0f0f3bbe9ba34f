"""CADE: compass-aligned distributional embeddings (Bianchi et al. 2020; TWEC, Di Carlo et al. 2019) and semantic shift.

A CBOW compass is trained on all slices; each slice then trains only its input vectors against the compass's
frozen context matrix, so the slices share one space. Baselines: independent word2vec per slice (unaligned)
and the same aligned pairwise by orthogonal Procrustes (Hamilton et al. 2016). ``config.Config`` holds every
parameter of the study, ``data`` loads the slices, ``study.run_study`` runs it and ``results`` says what the numbers
mean (metrics, headlines, the diagnosis of the run's regime, notes).
"""
from .alignment import comparable_words, cross_similarity, pair_vectors, procrustes_rotation, rotation, self_retrieval
from .diagnostics import (alignment_quality, anisotropy, cbow_loglik, frequent_shared, holdout, overlap_sweep,
                          rename_types, split_halves)
from .planted import (PlantedShift, average_precision, evaluate_planted, plant_shift, planted_scores, ranking_quality,
                      weighted_ap)
from .shift import (K_LNCS, K_NN, LABELS, MEASURES, full_ranking, lncs, neighbours, nn_overlap_distance,
                    ranking_agreement, shift_scores, top_k_neighbours, top_shifted, trajectories)
from .data import (SOURCES, bible_slices, cap_tokens, describe, load_slices, slice_pairs, slice_years, study_slices,
                   turkish_slices, user_slices)
from .hs_likelihood import heldout_hs, score_sentences_hs
from .scoring import full_inputs, score_sentences, twec_heldout, twec_heldout_runs
from .training import (INITS, METHODS, SliceModels, TrainingConfig, check_slices, train_all, train_cade, train_compass,
                       train_frozen_context, train_independent, train_seeds, train_slice, train_word2vec,
                       word_seeded_vectors)
from .config import Config
from .study import run_study

__all__ = [
    "Config", "run_study", "TrainingConfig", "SliceModels", "METHODS", "INITS", "MEASURES", "LABELS", "K_LNCS",
    "K_NN", "SOURCES", "study_slices", "slice_pairs", "PlantedShift", "check_slices", "train_compass", "train_slice",
    "train_frozen_context", "train_cade", "train_independent", "train_word2vec", "train_all", "train_seeds",
    "score_sentences", "word_seeded_vectors", "comparable_words", "pair_vectors", "rotation", "procrustes_rotation",
    "cross_similarity", "self_retrieval", "shift_scores", "full_ranking", "top_k_neighbours", "lncs",
    "nn_overlap_distance", "neighbours", "top_shifted", "trajectories", "ranking_agreement", "plant_shift",
    "planted_scores", "evaluate_planted", "ranking_quality", "average_precision", "weighted_ap", "alignment_quality",
    "anisotropy", "frequent_shared", "overlap_sweep", "split_halves", "rename_types", "holdout", "twec_heldout",
    "twec_heldout_runs", "heldout_hs", "score_sentences_hs", "full_inputs", "cbow_loglik", "load_slices",
    "bible_slices", "turkish_slices", "user_slices", "slice_years", "cap_tokens", "describe",
]
