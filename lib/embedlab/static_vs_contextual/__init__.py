"""Study: static vs contextual word embeddings (Turkish, Hungarian, Marathi; English as a control).

``config`` (the validated :class:`Config`, every default), ``study`` (the notebook's steps; :func:`run_study`
returns :class:`embedlab.study.Results`), ``results`` (tables with intervals, headlines, the papers' panel),
``curve`` (the corpus-size learning curve) and ``plots``.
"""
from . import curve, plots, results
from .config import Config, ConfigError
from .results import set_label
from .study import (Inputs, build_embeddings, describe_sets, evaluation_sets, load_encoders, prepare, run_study,
                    take_tokens, training_corpus, tsne_words, vocabulary)

__all__ = ["Config", "ConfigError", "run_study", "plots", "results", "curve", "set_label", "Inputs", "prepare",
           "load_encoders", "training_corpus", "take_tokens", "evaluation_sets", "describe_sets", "vocabulary",
           "build_embeddings", "tsne_words"]
