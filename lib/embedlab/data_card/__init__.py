"""The assets notebook's steps: the data card of every asset and a first look at each offline corpus.

Not one of the four studies, but it has their shape (config, data, study, results, plots) and contract (Config,
Results, report), so its page reads the same.
"""
from .config import Config
from .data import card, load
from .plots import type_token_figure
from .results import summarise, types_at
from .study import run_study

__all__ = ["Config", "card", "load", "run_study", "summarise", "type_token_figure", "types_at"]
