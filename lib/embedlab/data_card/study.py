"""The assets notebook's steps, in order: load the corpora (fetching PyPI assets when asked) and summarise them."""
from __future__ import annotations

import pandas as pd

from ..study import Results
from .config import Config
from .data import card, load
from .results import summarise


def run_study(cfg: Config, asset_card: pd.DataFrame | None = None) -> Results:
    """Summarise the configured corpora beside ``asset_card`` (default: :func:`.data.card`); the loaded corpora
    are in ``extra["corpora"]``."""
    loaded = load(cfg)
    results = summarise(loaded, cfg, card() if asset_card is None else asset_card)
    results.extra["corpora"] = loaded
    return results
