"""Study: static vs contextual word embeddings (Turkish, Hungarian, Marathi; English as a control).

``config`` (the validated :class:`Config`, every default), ``data`` (encoders, corpus, evaluation sets, shared
vocabulary, analogy candidates, t-SNE words), ``steps`` (trained and extracted embeddings, their evaluations per
item), ``seeds`` (trained variants and evaluations over training seeds, seeded intervals), ``curve`` (the
corpus-size learning curve), ``study`` (:func:`run_study` returns :class:`embedlab.study.Results`), ``results``
(tables with intervals, the papers' panel), ``headlines`` (the declared comparisons) and ``plots``.
"""
from . import curve, data, headlines, plots, results, seeds, steps
from .config import Config, ConfigError
from .data import (Inputs, describe_sets, evaluation_sets, load_encoders, prepare, take_tokens, training_corpus,
                   tsne_words, vocabulary)
from .results import set_label
from .steps import build_embeddings
from .study import run_study

__all__ = ["Config", "ConfigError", "run_study", "plots", "results", "headlines", "seeds", "curve", "data", "steps",
           "set_label", "Inputs", "prepare", "load_encoders", "training_corpus", "take_tokens", "evaluation_sets",
           "describe_sets", "vocabulary", "build_embeddings", "tsne_words"]
