"""Figures of a DefSent study: metrics per variant and pooling, training losses, isotropy."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .study import VARIANTS, StudyResult

COLOURS = {"base": "#9e9e9e", "defsent": "#1f77b4", "defsent+": "#d62728"}


def plot_metrics(result: StudyResult, columns: Sequence[str] | None = None, ncols: int = 4):
    """Grouped bars: one panel per ``task metric`` column (default: every MRR and Spearman), poolings on the
    x axis, one bar per variant."""
    import matplotlib.pyplot as plt

    wide = result.wide()
    default = [c for c in wide.columns if c.endswith((" mrr", " spearman"))]
    columns = [c for c in (columns or default) if c in wide.columns]
    poolings = list(dict.fromkeys(wide.index.get_level_values("pooling")))
    variants = [v for v in VARIANTS if v in wide.index.get_level_values("variant")]
    nrows = -(-len(columns) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.6 * nrows), squeeze=False)
    width = 0.8 / max(1, len(variants))
    for ax, col in zip(axes.flat, columns):
        for k, v in enumerate(variants):
            vals = [wide[col].get((v, p), np.nan) for p in poolings]
            ax.bar(np.arange(len(poolings)) + (k - (len(variants) - 1) / 2) * width, vals, width, label=v,
                   color=COLOURS.get(v))
        ax.set_xticks(range(len(poolings)), poolings)
        ax.set_title(col, fontsize=9)
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_losses(result: StudyResult, window: int = 10):
    """Training loss per step (moving average over ``window`` steps), one line per trained model."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, losses in result.losses.items():
        ax = axes[0] if name.startswith("defsent ") else axes[1]
        y = np.convolve(losses, np.ones(window) / window, mode="valid") if len(losses) >= window else losses
        ax.plot(np.arange(len(y)) + 1, y, label=name)
    for ax, title in zip(axes, ("DefSent: word prediction", "DefSent+: entry classification")):
        ax.set(title=title, xlabel="step", ylabel=f"cross-entropy ({window}-step mean)")
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_isotropy(result: StudyResult):
    """Average cosine between random sentences and the partition-function ratio, per variant and pooling."""
    import matplotlib.pyplot as plt

    iso = result.metrics[result.metrics.task == "isotropy"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, metric, note in zip(axes, ("avg_cosine", "partition_ratio"), ("0 = isotropic", "1 = isotropic")):
        t = iso[iso.metric == metric].pivot_table(index="pooling", columns="variant", values="value", sort=False)
        t = t[[v for v in VARIANTS if v in t.columns]]
        t.plot.bar(ax=ax, color=[COLOURS[v] for v in t.columns], rot=0, legend=ax is axes[0],
                   logy=metric == "partition_ratio")
        ax.set(title=f"{metric} ({note}{', log scale' if metric == 'partition_ratio' else ''})", xlabel="pooling")
    fig.tight_layout()
    return fig
