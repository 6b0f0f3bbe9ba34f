"""2D Matryoshka sentence embeddings (2DMSE/ESE, Starbucks): (layer x leading dims) grids, their cost, training.

Grid: one forward pass per batch yields every layer (:func:`embedlab.encoders.sentence_embeddings`);
truncation to the leading ``d`` dimensions and cosine scoring happen on the stored embeddings, so an
``L x D`` grid costs about one encoding. Layers are numbered as in :mod:`embedlab.encoders` (1..L are
the Transformer layers; 0, the input embeddings, is allowed too).

Training (a hand-written loop over sentence-transformers losses: ``SentenceTransformerTrainer`` needs
``datasets`` and ``accelerate``, which embedlab does not install): ``baseline`` is the base loss
(``CoSENTLoss`` for scored pairs, ``MultipleNegativesRankingLoss`` for plain pairs), ``mrl`` is
``MatryoshkaLoss`` over the dimension ladder, ``2dmse`` and ``starbucks`` are the two small loss
modules in :mod:`.losses`, which call the same base losses on pooled (layer, dim) embeddings of one forward pass.
"""
from __future__ import annotations

from .cost import cell_costs, layer_latency, pareto_frontier, search_latency, truncated
from .data import (STS_SETS, TASK_KINDS, TRAIN_SOURCES, WORD_SETS, GridTask, PairData, bible_pairs,
                   evaluation_tasks, training_pairs)
from .grid import (POOLINGS, beside_papers, check_cells, dim_ladder, evaluate_grid, evaluate_models, grid_table, headline_metrics,
                   score_cells)
from .losses import (BASE_LOSSES, LAYER_WEIGHTINGS, VARIANTS, LayerDimLoss, StarbucksLoss, TwoDMatryoshkaLoss,
                     build_loss, layer_weight, starbucks_diagonal)
from .training import Training, fine_tune, length_grouped_batches, sentence_transformer, train_variants

__all__ = [
    "cell_costs", "layer_latency", "pareto_frontier", "search_latency", "truncated",
    "STS_SETS", "TASK_KINDS", "TRAIN_SOURCES", "WORD_SETS", "GridTask", "PairData", "bible_pairs",
    "evaluation_tasks", "training_pairs",
    "POOLINGS", "beside_papers", "check_cells", "dim_ladder", "evaluate_grid", "evaluate_models", "grid_table", "headline_metrics",
    "score_cells",
    "BASE_LOSSES", "LAYER_WEIGHTINGS", "VARIANTS", "LayerDimLoss", "StarbucksLoss", "TwoDMatryoshkaLoss",
    "build_loss", "layer_weight", "starbucks_diagonal",
    "Training", "fine_tune", "length_grouped_batches", "sentence_transformer", "train_variants",
]
