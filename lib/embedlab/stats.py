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
