"""Planted semantic shift: make target words take over donors' contexts in one slice, then score the rankings.

In the planted slice a share ``rate`` of each donor's occurrences is replaced by its target, so the target
acquires the donor's meaning there (a known, controllable shift). Rankings are scored against unplanted
control words of the same frequency band with average precision and recall@k.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .shift import K_LNCS, K_NN, MEASURES, shift_scores
from .training import SliceModels, Slices, slice_counts


@dataclasses.dataclass
class PlantedShift:
    """What was planted: the slice, the (target, donor) pairs with counts, the control words and the settings."""

    slice: str
    reference: str
    pairs: pd.DataFrame
    controls: list[str]
    rate: float
    seed: int

    @property
    def targets(self) -> list[str]:
        """The words given a new meaning."""
        return self.pairs["target"].tolist()


def band_words(counts: Sequence[Counter], min_count: int, max_count: int) -> list[str]:
    """Words whose count lies in [min_count, max_count] in every given slice (sorted for determinism)."""
    words = set.intersection(*({w for w, n in c.items() if min_count <= n <= max_count} for c in counts))
    return sorted(words)


def plant_shift(slices: Slices, into: str, reference: str, n_words: int = 20, rate: float = 0.5, seed: int = 0,
                min_count: int = 20, max_count: int = 2000, exclude: Sequence[str] = ()) -> tuple[dict, PlantedShift]:
    """Copy ``slices`` with ``n_words`` planted shifts in slice ``into``; ``reference`` is the slice compared with it.

    Targets and donors are drawn from words with ``min_count``..``max_count`` occurrences in both slices; in each
    random pair the more frequent word is the donor. The rest of the band are the controls.
    """
    for s in (into, reference):
        if s not in slices:
            raise ValueError(f"unknown slice {s!r}; known slices: {', '.join(map(str, slices))}")
    if into == reference:
        raise ValueError(f"the planted slice and its reference must differ, both are {into!r}")
    if not 0 < rate <= 1:
        raise ValueError(f"replacement rate must be in (0, 1], got {rate!r}")
    if n_words < 1:
        raise ValueError(f"n_words must be >= 1, got {n_words!r}")
    if not 1 <= min_count <= max_count:
        raise ValueError(f"need 1 <= min_count <= max_count, got {min_count!r}, {max_count!r}")
    cin, cref = slice_counts(slices[into]), slice_counts(slices[reference])
    band = [w for w in band_words([cin, cref], min_count, max_count) if w not in set(exclude)]
    if len(band) < 3 * n_words:
        raise ValueError(f"only {len(band)} words have {min_count}-{max_count} occurrences in both {reference!r} and "
                         f"{into!r}; planting {n_words} pairs needs at least {3 * n_words} (fewer words or a wider band)")
    rng = np.random.default_rng(seed)
    picked = list(rng.permutation(band)[:2 * n_words])
    rows = []
    for x, y in zip(picked[0::2], picked[1::2]):
        target, donor = (x, y) if cin[x] <= cin[y] else (y, x)
        rows.append({"target": target, "donor": donor, "count_target": cin[target], "count_donor": cin[donor]})
    donors = {r["donor"]: r["target"] for r in rows}
    planted = []
    replaced = Counter()
    for sent in slices[into]:
        new = list(sent)
        for i, t in enumerate(new):
            if t in donors and rng.random() < rate:
                new[i] = donors[t]
                replaced[t] += 1
        planted.append(new)
    pairs = pd.DataFrame(rows)
    pairs["replaced"] = [replaced[d] for d in pairs["donor"]]
    pairs["planted_share"] = pairs["replaced"] / (pairs["count_target"] + pairs["replaced"])
    used = set(picked)
    controls = [w for w in band if w not in used]
    out = {k: (planted if k == into else v) for k, v in slices.items()}
    return out, PlantedShift(into, reference, pairs, controls, rate, seed)


def weighted_ap(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average precision (scikit-learn's: tied scores form one threshold) of every row of ``weights`` (item
    multiplicities, e.g. bootstrap draws) over one set of items: [draws, items] in, [draws] out (NaN where a row
    holds no positive). The items are sorted once, so a draw costs a weighted cumulative sum, not a sort."""
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    order = np.argsort(-scores, kind="stable")
    ends = np.r_[np.flatnonzero(np.diff(scores[order]) != 0), len(order) - 1]   # last item of each tied group
    tp = np.cumsum(w[:, order] * labels[order], axis=1)[:, ends]
    seen = np.cumsum(w[:, order], axis=1)[:, ends]
    gain = np.diff(tp, axis=1, prepend=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tp[:, -1] > 0, (gain * tp / np.where(seen > 0, seen, 1.0)).sum(axis=1) / tp[:, -1], np.nan)


def average_precision(labels, scores) -> float:
    """scikit-learn's average precision of one ranking (NaN without a positive), as :func:`weighted_ap`."""
    return float(weighted_ap(labels, scores, np.ones(len(labels)))[0])


def ranking_quality(scores: pd.Series, positives: Sequence[str], k: int | None = None) -> dict[str, float]:
    """Average precision and recall@k (k = number of positives by default) of a shift ranking."""
    y = scores.index.isin(list(positives))
    if not y.any():
        raise ValueError("none of the planted words is among the scored words (too rare after training filters?)")
    k = int(y.sum()) if k is None else k
    top = scores.sort_values(ascending=False, kind="stable").index[:k]
    return {"ap": average_precision(y, scores.to_numpy()),
            "recall_at_k": float(np.isin(top, list(positives)).sum() / y.sum()), "k": k,
            "n_planted": int(y.sum()), "n_controls": int((~y).sum()), "chance_ap": float(y.mean())}


def planted_scores(models: Mapping[str, SliceModels], planted: PlantedShift, k: int = K_LNCS, k_nn: int = K_NN,
                   min_count: int | None = None) -> pd.DataFrame:
    """Per candidate word (planted targets and controls scored by every method): ``planted`` (0/1) and one column
    ``<method>/<measure>`` per score, the per-item table that AP and its paired bootstrap intervals need.
    Neighbourhoods are searched among all comparable words, not only the candidates."""
    candidates = planted.targets + planted.controls
    cols, seen = {}, {}
    for method, m in models.items():
        free = seen.get(id(m.vectors))     # the same vectors seen as another method: only the cosine differs
        scores = shift_scores(m, planted.reference, planted.slice, min_count=min_count, k=k, k_nn=k_nn,
                              measures=MEASURES if free is None else ("cosine_distance",))
        scores = scores.loc[[w for w in candidates if w in scores.index]]
        if free is None:
            seen[id(m.vectors)] = scores
        else:
            scores = scores.join(free[[c for c in MEASURES if c != "cosine_distance"]])
        for measure in MEASURES:
            cols[f"{method}/{measure}"] = scores[measure]
    df = pd.DataFrame(cols).dropna()
    df.insert(0, "planted", df.index.isin(planted.targets).astype(int))
    df.index.name = "word"
    return df


def evaluate_planted(models: Mapping[str, SliceModels], planted: PlantedShift, k: int = K_LNCS, k_nn: int = K_NN,
                     min_count: int | None = None, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """AP and recall@k of every method x measure at ranking the planted targets above the controls (words scored
    by every method)."""
    scores = planted_scores(models, planted, k, k_nn, min_count) if scores is None else scores
    positives = scores.index[scores["planted"] == 1]
    rows = []
    for method in models:
        for measure in MEASURES:
            rows.append({"method": method, "measure": measure,
                         **ranking_quality(scores[f"{method}/{measure}"], positives)})
    return pd.DataFrame(rows)
