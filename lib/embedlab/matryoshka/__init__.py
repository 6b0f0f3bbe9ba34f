"""2D Matryoshka sentence embeddings (2DMSE/ESE, Starbucks): (layer x leading dims) grids, their cost, training.

Grid: one forward pass per batch yields every layer (:func:`embedlab.encoders.sentence_embeddings`);
truncation to the leading ``d`` dimensions and cosine scoring happen on the stored embeddings, so an
``L x D`` grid costs about one encoding. Layers are numbered as in :mod:`embedlab.encoders` (1..L are
the Transformer layers; 0, the input embeddings, is allowed too).

Training (a hand-written loop on an in-memory copy of the encoder; :mod:`.losses`): every variant applies a
sentence-transformers base loss (``CoSENTLoss`` for scored pairs, ``MultipleNegativesRankingLoss`` for plain pairs)
to embeddings pooled by :func:`embedlab.encoders.pool` at (layer, dim) cells of one forward pass: ``baseline``
(last layer, full size), ``mrl`` (every dimension of the last layer), ``2dmse`` and ``srl`` (the Starbucks loss
without its masked-autoencoder pretraining). :mod:`.study` runs the notebook's steps and returns
:class:`embedlab.study.Results`; :mod:`.results` says what the numbers mean (headlines, metrics, the papers'
panel); :mod:`.config` holds every default and :mod:`.data` loads the evaluation sets and training pairs.
"""
from __future__ import annotations

from .config import Config
from .cost import cell_costs, layer_latency, pareto_frontier, search_latency, truncated
from .data import (STS_SETS, TASK_KINDS, TRAIN_SOURCES, WORD_SETS, GridTask, PairData, bible_pairs, build_tasks,
                   evaluation_tasks, training_pairs)
from .grid import (POOLINGS, beside_papers, check_cells, dim_ladder, evaluate_grid, evaluate_grid_items,
                   evaluate_models, grid_table, headline_metrics, item_scores, over_seeds, score_cells)
from .losses import (BASE_LOSSES, KL_CHOICES, KL_CONVENTIONS, LAYER_WEIGHTINGS, TRAIN_PRECISIONS, VARIANTS,
                     BaselineLoss, KLConvention, LayerDimLoss, MatryoshkaDimLoss, SRLLoss, TwoDMatryoshkaLoss,
                     base_loss, build_loss, kl_term, layer_weight, starbucks_diagonal)
from .training import Training, fine_tune, length_grouped_batches, train_variants
from .results import comparison_pairs, reference_model
from .study import run_study

__all__ = [
    "Config", "run_study",
    "cell_costs", "layer_latency", "pareto_frontier", "search_latency", "truncated",
    "STS_SETS", "TASK_KINDS", "TRAIN_SOURCES", "WORD_SETS", "GridTask", "PairData", "bible_pairs", "build_tasks",
    "evaluation_tasks", "training_pairs",
    "POOLINGS", "beside_papers", "check_cells", "dim_ladder", "evaluate_grid", "evaluate_grid_items",
    "evaluate_models", "grid_table", "headline_metrics", "item_scores", "over_seeds", "score_cells",
    "BASE_LOSSES", "KL_CHOICES", "KL_CONVENTIONS", "LAYER_WEIGHTINGS", "TRAIN_PRECISIONS", "VARIANTS", "BaselineLoss",
    "KLConvention",
    "LayerDimLoss", "MatryoshkaDimLoss", "SRLLoss", "TwoDMatryoshkaLoss", "base_loss", "build_loss", "kl_term",
    "layer_weight", "starbucks_diagonal",
    "Training", "fine_tune", "length_grouped_batches", "train_variants", "comparison_pairs", "reference_model",
]
