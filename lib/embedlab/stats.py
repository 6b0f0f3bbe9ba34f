"""Uncertainty: percentile bootstrap intervals for a statistic and paired intervals for a difference.

Hand-written because scipy.stats.bootstrap cannot share one resample across two systems' scores (the paired
interval) for statistics such as Spearman or average precision, and a seeded, vectorised resample is cheap.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy import stats as _st

N_BOOT = 1000
LEVEL = 0.95


def _indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (float("nan"), float("nan"))
    a = (1 - level) / 2
    return (float(np.quantile(values, a)), float(np.quantile(values, 1 - a)))


def bootstrap_ci(stat: Callable[..., float], *arrays: Sequence, n_boot: int = N_BOOT, level: float = LEVEL,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile interval of ``stat(*arrays)`` over items resampled with replacement (same rows in every array)."""
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if n < 2:
        return (float("nan"), float("nan"))
    idx = _indices(n, n_boot, seed)
    return _interval(np.array([stat(*[a[i] for a in arrays]) for i in idx], dtype=float), level)


def mean_ci(x: Sequence[float], n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> tuple[float, float]:
    """Interval of a mean (accuracy, MRR, hit rate) from per-item scores; vectorised."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return (float("nan"), float("nan"))
    return _interval(x[_indices(x.size, n_boot, seed)].mean(axis=1), level)


def paired_mean_diff_ci(a: Sequence[float], b: Sequence[float], n_boot: int = N_BOOT, level: float = LEVEL,
                        seed: int = 0) -> tuple[float, float]:
    """Interval of mean(a) - mean(b) for per-item scores of two systems on the same items."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return mean_ci(d, n_boot, level, seed)


def over_draws(form: Callable[..., np.ndarray]):
    """Give a statistic its form over many resamples at once: ``form(*arrays)``, each array ``[draws, items]``,
    returns the statistic of every draw (the same values as the statistic draw by draw, up to rounding);
    :func:`seeded_diff_ci` then scores all draws of a run in a few vectorised calls instead of one call per draw."""
    def mark(stat: Callable[..., float]) -> Callable[..., float]:
        stat.over_draws = form
        return stat
    return mark


@over_draws(lambda x, *_: x.mean(axis=1))
def mean_stat(x, *_) -> float:
    """The mean of per-item scores (the default statistic of the seeded intervals)."""
    return float(np.mean(x))


def _spearman_over_draws(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair: Pearson's r of average ranks, as ``scipy.stats.spearmanr`` (NaN when a
    row is constant)."""
    rx, ry = _st.rankdata(x, axis=1), _st.rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip((rx * ry).sum(axis=1) / np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1)), -1.0, 1.0)


@over_draws(_spearman_over_draws)
def spearman(x, y) -> float:
    return float(_st.spearmanr(x, y).statistic)


def spearman_ci(x, y, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> tuple[float, float]:
    """Interval of Spearman's rho over resampled pairs."""
    return bootstrap_ci(spearman, x, y, n_boot=n_boot, level=level, seed=seed)


def paired_spearman_diff_ci(pred_a, pred_b, gold, n_boot: int = N_BOOT, level: float = LEVEL,
                            seed: int = 0) -> tuple[float, float]:
    """Interval of rho(pred_a, gold) - rho(pred_b, gold) with the same pairs resampled for both."""
    return bootstrap_ci(lambda a, b, g: spearman(a, g) - spearman(b, g), pred_a, pred_b, gold,
                        n_boot=n_boot, level=level, seed=seed)


def average_precision(labels, scores) -> float:
    from sklearn.metrics import average_precision_score

    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return float("nan")
    return float(average_precision_score(labels, scores))


def ap_ci(labels, scores, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> tuple[float, float]:
    """Interval of average precision over resampled items."""
    return bootstrap_ci(average_precision, labels, scores, n_boot=n_boot, level=level, seed=seed)


def paired_diff_ci(stat: Callable[..., float], a_arrays: Sequence, b_arrays: Sequence, n_boot: int = N_BOOT,
                   level: float = LEVEL, seed: int = 0) -> tuple[float, float]:
    """Interval of stat(*a_arrays) - stat(*b_arrays), resampling the same items for both systems."""
    k = len(a_arrays)
    return bootstrap_ci(lambda *arr: stat(*arr[:k]) - stat(*arr[k:]), *a_arrays, *b_arrays,
                        n_boot=n_boot, level=level, seed=seed)


# --------------------------------------------------------------------------- clusters and training seeds
# Hand-written for the same reason as above: the resample must be shared across systems, and nest items in
# training seeds (a hierarchical bootstrap) or keep dependent items together (a cluster bootstrap).


def cluster_ids(keys: Sequence) -> np.ndarray:
    """Integer cluster ids (0..C-1, in order of first appearance) for arbitrary hashable keys."""
    seen: dict = {}
    return np.array([seen.setdefault(k, len(seen)) for k in keys], dtype=np.int64)


def _cluster_picks(clusters: np.ndarray, n_boot: int, seed: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Items sorted by cluster (``order``), each cluster's ``starts`` and ``counts`` in that order, and the clusters
    each of ``n_boot`` resamples draws with replacement (``picks``, ``[n_boot, clusters]``)."""
    order = np.argsort(clusters, kind="stable")
    ids, starts, counts = np.unique(clusters[order], return_index=True, return_counts=True)
    picks = np.random.default_rng(seed).integers(0, len(ids), size=(n_boot, len(ids)))
    return order, starts, counts, picks


def _cluster_draws(clusters: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    """Item indices of ``n_boot`` resamples that draw whole clusters with replacement."""
    order, starts, counts, picks = _cluster_picks(clusters, n_boot, seed)
    members = [order[s:s + c] for s, c in zip(starts, counts)]
    return [np.concatenate([members[c] for c in row]) for row in picks]


def _check_clusters(clusters: Sequence, n: int) -> None:
    if len(clusters) != n:
        raise ValueError(f"clusters has {len(clusters)} ids for {n} items")


def _clustered_means(runs: list[tuple[np.ndarray, ...]], clusters: Sequence, n_boot: int, seed: int
                     ) -> list[np.ndarray]:
    """Per run, the mean of its first array over each resample of whole clusters (the draws of
    :func:`_cluster_draws`), from per-cluster sums and sizes instead of the concatenated items."""
    order, starts, counts, picks = _cluster_picks(np.asarray(clusters), n_boot, seed)
    sizes = counts[picks].sum(axis=1)
    return [np.add.reduceat(np.asarray(run[0], dtype=float)[order], starts)[picks].sum(axis=1) / sizes
            for run in runs]


def item_draws(n: int, n_boot: int = N_BOOT, seed: int = 0, clusters: Sequence | None = None) -> list[np.ndarray]:
    """Resampled item indices: items with replacement, or whole clusters when ``clusters`` (one id per item)."""
    if clusters is None:
        return list(_indices(n, n_boot, seed))
    clusters = np.asarray(clusters)
    _check_clusters(clusters, n)
    return _cluster_draws(clusters, n_boot, seed)


def clustered_mean_ci(x: Sequence[float], clusters: Sequence, n_boot: int = N_BOOT, level: float = LEVEL,
                      seed: int = 0) -> tuple[float, float]:
    """Interval of a mean when items come in dependent clusters (e.g. analogy questions sharing a word pair)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2 or len(set(np.asarray(clusters).tolist())) < 2:
        return (float("nan"), float("nan"))
    _check_clusters(clusters, x.size)
    return _interval(_clustered_means([(x,)], clusters, n_boot, seed)[0], level)


def _as_runs(runs) -> list[tuple[np.ndarray, ...]]:
    """Per training seed, a tuple of per-item arrays (a bare array per seed is a 1-tuple)."""
    out = []
    for r in runs:
        r = r if isinstance(r, tuple) else (r,)
        out.append(tuple(np.asarray(a) for a in r))
    if not out:
        raise ValueError("no training seeds given")
    return out


def seeded_diff_ci(a_runs, b_runs, stat: Callable[..., float] | None = None, n_boot: int = N_BOOT,
                   level: float = LEVEL, seed: int = 0, clusters: Sequence | None = None,
                   shared: Sequence = ()) -> tuple[float, float]:
    """Hierarchical bootstrap interval of mean_s stat(a_s) - mean_s stat(b_s).

    ``a_runs`` / ``b_runs``: one entry per training seed, each a per-item array (or a tuple of per-item arrays
    that ``stat`` takes, followed by the ``shared`` arrays, e.g. gold scores); items are aligned across every
    run. Each draw resamples training seeds with replacement (the same seed draw for both sides when both have
    the same seeds, independently otherwise; a side with one run keeps it), then items (or whole ``clusters``),
    the same items for both sides. ``stat`` defaults to the mean. With one seed per side this is the paired item
    bootstrap.
    """
    a, b = _as_runs(a_runs), _as_runs(b_runs)
    shared = tuple(np.asarray(s) for s in shared)
    stat = stat or mean_stat
    n = len(a[0][0])
    if n < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed + 1)
    form = getattr(stat, "over_draws", None)
    if clusters is not None:
        _check_clusters(clusters, n)
    if clusters is not None and stat is mean_stat:          # every draw of a run at once: [seeds][draws]
        va_all, vb_all = _clustered_means(a, clusters, n_boot, seed), _clustered_means(b, clusters, n_boot, seed)
    elif clusters is None and form is not None:
        items = np.asarray(item_draws(n, n_boot, seed))
        va_all = [_draws_of(form, run + shared, items) for run in a]
        vb_all = [_draws_of(form, run + shared, items) for run in b]
    else:
        va_all = vb_all = None
        items = item_draws(n, n_boot, seed, clusters)
    out = np.empty(n_boot)
    for k in range(n_boot):
        sa = rng.integers(0, len(a), len(a)) if len(a) > 1 else np.zeros(1, int)
        sb = sa if len(b) == len(a) else (rng.integers(0, len(b), len(b)) if len(b) > 1 else np.zeros(1, int))
        if va_all is not None:
            va, vb = np.mean([va_all[s][k] for s in sa]), np.mean([vb_all[s][k] for s in sb])
        else:
            idx = items[k]
            sh = tuple(s[idx] for s in shared)
            va = np.mean([stat(*(x[idx] for x in a[s]), *sh) for s in sa])
            vb = np.mean([stat(*(x[idx] for x in b[s]), *sh) for s in sb])
        out[k] = va - vb
    return _interval(out, level)


def _draws_of(form: Callable[..., np.ndarray], arrays: tuple[np.ndarray, ...], items: np.ndarray,
              cells: int = 4_000_000) -> np.ndarray:
    """``form`` over the draws ``items`` (``[draws, n]`` indices), a block of draws at a time (bounded memory)."""
    step = max(1, cells // items.shape[1])
    return np.concatenate([np.asarray(form(*(x[items[i:i + step]] for x in arrays)), dtype=float)
                           for i in range(0, len(items), step)])


def seed_agreement(per_seed_diffs: Sequence[float]) -> tuple[int, int]:
    """(how many seeds share the sign of the mean difference, how many seeds): replication across seeds."""
    d = np.asarray(per_seed_diffs, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return (0, 0)
    sign = np.sign(d.mean())
    return (int(np.sum(np.sign(d) == sign)) if sign != 0 else 0, int(d.size))
