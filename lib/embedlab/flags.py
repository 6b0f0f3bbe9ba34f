"""Automatic flags: a number at chance or ceiling, a loss that does not fall, low coverage, tiny n, below base.

Each function returns a short message when the flag applies and ``None`` otherwise; :mod:`embedlab.study`
attaches them to headlines and the report shows them beside the number.
"""
from __future__ import annotations

import math
from typing import Sequence

TINY_N = 30
LOW_COVERAGE = 0.20
CEILING_FRACTION = 0.97
LOSS_MIN_DROP = 0.10


def at_reference(value: float, reference: float, ci: tuple[float, float] | None, what: str = "chance",
                 higher_is_better: bool = True, tol: float = 0.01) -> str | None:
    """The number cannot be told apart from a trivial reference (chance, majority class)."""
    if value is None or reference is None or not math.isfinite(value):
        return None
    if ci is not None and all(map(math.isfinite, ci)):
        hit = ci[0] <= reference if higher_is_better else ci[1] >= reference
    else:
        hit = value <= reference + tol * max(1.0, abs(reference)) if higher_is_better else value >= reference - tol
    return f"at {what} ({value:.3g} vs {what} {reference:.3g})" if hit else None


def at_ceiling(value: float, ceiling: float = 1.0, fraction: float = CEILING_FRACTION) -> str | None:
    """The task is too easy to separate systems (value within 3% of the best possible)."""
    if value is None or not math.isfinite(value):
        return None
    return f"at ceiling ({value:.3g} of {ceiling:g})" if value >= fraction * ceiling else None


def not_learning(losses: Sequence[float], n_classes: int | None = None, min_drop: float = LOSS_MIN_DROP,
                 window: float = 0.1) -> str | None:
    """Loss that does not fall (last steps > (1 - min_drop) x first steps) or sits at ln N (uniform prediction)."""
    losses = [float(x) for x in losses if x is not None and math.isfinite(float(x))]
    if len(losses) < 2:
        return "not learning (fewer than two loss values)"
    w = max(1, int(len(losses) * window))
    first, last = sum(losses[:w]) / w, sum(losses[-w:]) / w
    if n_classes and n_classes > 1 and abs(last - math.log(n_classes)) <= 0.01 * math.log(n_classes):
        return f"not learning: loss {last:.4g} = ln {n_classes} ({math.log(n_classes):.4g}), a uniform prediction"
    if last > (1 - min_drop) * first:
        return f"not learning: loss {first:.4g} -> {last:.4g} (less than {min_drop:.0%} lower)"
    if n_classes and n_classes > 1 and last > 1.01 * math.log(n_classes):
        return (f"not learning yet: loss falls ({first:.4g} -> {last:.4g}) but ends above ln {n_classes} "
                f"({math.log(n_classes):.4g}), i.e. worse than a uniform prediction")
    return None


def low_coverage(coverage: float, threshold: float = LOW_COVERAGE) -> str | None:
    """Only a small share of the evaluation items could be scored."""
    if coverage is None or not math.isfinite(coverage):
        return None
    return f"low coverage ({coverage:.1%} of items scored)" if coverage < threshold else None


def tiny_n(n: int | None, threshold: int = TINY_N) -> str | None:
    """Too few items for the number to mean much."""
    return f"tiny n ({n} items)" if n is not None and n < threshold else None


def below_reference(value: float, reference: float, ci_diff: tuple[float, float] | None = None,
                    what: str = "base encoder") -> str | None:
    """A trained model that ends below the model it started from (interval of the difference below 0)."""
    if value is None or reference is None or not math.isfinite(value):
        return None
    if ci_diff is not None and all(map(math.isfinite, ci_diff)):
        return f"below {what} ({value:.3g} vs {reference:.3g})" if ci_diff[1] < 0 else None
    return f"below {what} ({value:.3g} vs {reference:.3g})" if value < reference else None
