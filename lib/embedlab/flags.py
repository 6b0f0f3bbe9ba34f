"""Automatic flags: a number at chance or ceiling, a loss that does not fall, low coverage, tiny n, below base.

Each function returns a :class:`Flag` (its kind and a short message) when the flag applies and ``None``
otherwise; :mod:`embedlab.study` attaches them to headlines under their kind and the report shows the message
beside the number.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

TINY_N = 30
LOW_COVERAGE = 0.20
CEILING_FRACTION = 0.97
LOSS_MIN_DROP = 0.10
LOSS_WINDOW = 0.1  # share of steps averaged at the start and at the end of a loss curve


@dataclasses.dataclass(frozen=True)
class Flag:
    """What a check found: its ``kind`` (``"at chance"``, ``"tiny n"``, ...) and the message a reader sees."""

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message

    def __contains__(self, text: str) -> bool:
        return text in self.message


def loss_window(losses: Sequence[float], first: bool, window: float = LOSS_WINDOW) -> float:
    """Mean of the first (or last) ``window`` share of a loss curve (at least one value; NaNs ignored)."""
    xs = [float(x) for x in losses]
    w = max(1, int(len(xs) * window))
    part = [x for x in (xs[:w] if first else xs[-w:]) if math.isfinite(x)]
    return sum(part) / len(part) if part else float("nan")


def at_reference(value: float, reference: float, ci: tuple[float, float] | None, what: str = "chance",
                 higher_is_better: bool = True, tol: float = 0.01) -> Flag | None:
    """The number cannot be told apart from a trivial reference (chance, majority class)."""
    if value is None or reference is None or not math.isfinite(value):
        return None
    if ci is not None and all(map(math.isfinite, ci)):
        hit = ci[0] <= reference if higher_is_better else ci[1] >= reference
    else:
        hit = value <= reference + tol * max(1.0, abs(reference)) if higher_is_better else value >= reference - tol
    return Flag(f"at {what}", f"at {what} ({value:.3g} vs {what} {reference:.3g})") if hit else None


def at_ceiling(value: float, ceiling: float = 1.0, fraction: float = CEILING_FRACTION) -> Flag | None:
    """The task is too easy to separate systems (value within 3% of the best possible)."""
    if value is None or not math.isfinite(value):
        return None
    return Flag("at ceiling", f"at ceiling ({value:.3g} of {ceiling:g})") if value >= fraction * ceiling else None


def not_learning(losses: Sequence[float], n_classes: int | None = None, min_drop: float = LOSS_MIN_DROP,
                 window: float = LOSS_WINDOW) -> Flag | None:
    """Loss that does not fall (last steps > (1 - min_drop) x first steps) or sits at ln N (uniform prediction)."""
    losses = [float(x) for x in losses if x is not None and math.isfinite(float(x))]
    if len(losses) < 2:
        return _not_learning("not learning (fewer than two loss values)")
    first, last = loss_window(losses, True, window), loss_window(losses, False, window)
    if n_classes and n_classes > 1 and abs(last - math.log(n_classes)) <= 0.01 * math.log(n_classes):
        return _not_learning(f"not learning: loss {last:.4g} = ln {n_classes} ({math.log(n_classes):.4g}), "
                             "a uniform prediction")
    if last > (1 - min_drop) * first:
        return _not_learning(f"not learning: loss {first:.4g} -> {last:.4g} (less than {min_drop:.0%} lower)")
    if n_classes and n_classes > 1 and last > 1.01 * math.log(n_classes):
        return _not_learning(f"not learning yet: loss falls ({first:.4g} -> {last:.4g}) but ends above ln "
                             f"{n_classes} ({math.log(n_classes):.4g}), i.e. worse than a uniform prediction")
    return None


def _not_learning(message: str) -> Flag:
    return Flag("not learning", message)


def low_coverage(coverage: float, threshold: float = LOW_COVERAGE) -> Flag | None:
    """Only a small share of the evaluation items could be scored."""
    if coverage is None or not math.isfinite(coverage):
        return None
    return Flag("low coverage", f"low coverage ({coverage:.1%} of items scored)") if coverage < threshold else None


def tiny_n(n: int | None, threshold: int = TINY_N) -> Flag | None:
    """Too few items for the number to mean much."""
    return Flag("tiny n", f"tiny n ({n} items)") if n is not None and n < threshold else None


def below_reference(value: float, reference: float, ci_diff: tuple[float, float] | None = None,
                    what: str = "base encoder") -> Flag | None:
    """A trained model that ends below the model it started from (interval of the difference below 0)."""
    if value is None or reference is None or not math.isfinite(value):
        return None
    below = ci_diff[1] < 0 if ci_diff is not None and all(map(math.isfinite, ci_diff)) else value < reference
    return Flag(f"below {what}", f"below {what} ({value:.3g} vs {reference:.3g})") if below else None

