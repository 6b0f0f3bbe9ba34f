"""Corpus statistics, type/token curves and the growth comparison at a common token count, as Results."""
from __future__ import annotations

import pandas as pd

from .. import corpora
from ..study import Results, metric_key
from .config import Config


def summarise(loaded: dict[str, corpora.Corpus], cfg: Config, asset_card: pd.DataFrame) -> Results:
    """Corpus statistics, type/token curves, and the growth comparison at a common token count."""
    res = Results("assets")
    stats = pd.DataFrame([{"corpus": n, "language": c.language, **corpora.corpus_stats(c)} for n, c in loaded.items()])
    res.add_table("corpus_stats", stats)
    res.add_table("asset_card", asset_card)
    curves = {n: corpora.type_token_curve(c, points=cfg.curve_points) for n, c in loaded.items()}
    res.extra["curves"] = curves
    res.metrics["assets/n"] = len(asset_card)
    for row in stats.itertuples():
        res.metrics[metric_key("corpus", row.corpus, "tokens")] = int(row.tokens)
        res.metrics[metric_key("corpus", row.corpus, "types")] = int(row.types)
    common = int(stats.tokens.min()) if len(stats) else 0
    if common > 0:
        for n, c in loaded.items():
            types = types_at(c, common)
            res.headline(metric_key("corpus", n, f"types@{common}"),
                         f"distinct types in the first {common:,} tokens of {n} ({c.language})", types,
                         metric="types")
    for n in cfg.corpus_names:
        if stats.loc[stats.corpus == n, "tokens"].squeeze() == 0:
            res.flag("empty", n, f"corpus {n} has no tokens")
    return res


def types_at(corpus: corpora.Corpus, n_tokens: int) -> int:
    """Distinct types among the first ``n_tokens`` tokens in corpus order."""
    seen: set[str] = set()
    left = n_tokens
    for s in corpus.sentences:
        if left <= 0:
            break
        seen.update(s[:left])
        left -= len(s)
    return len(seen)
