"""Figures of a DefSent study: each evaluation per space with 95% intervals, training losses against ln N,
isotropy."""
from __future__ import annotations

import math

import numpy as np

from ..study import Results
from .results import loss_name

COLOURS = {"base": "#9e9e9e", "DefSent": "#1f77b4", "DefSent+": "#d62728"}


def _colour(label: str) -> str:
    for k in ("DefSent+", "DefSent", "base"):
        if label.startswith(k):
            return COLOURS[k]
    return "#555555"


def plot_metrics(results: Results, ncols: int = 3):
    """One panel per evaluation (MRR / Spearman x100): a bar per space (the mean over its training seeds) with its
    95% bootstrap interval (seeds, then items, resampled); the base encoder's value is the dashed reference line."""
    import matplotlib.pyplot as plt

    m = results.tables["metrics"]
    m = m[m.task != "isotropy"]
    tasks = list(dict.fromkeys(m.task))
    nrows = max(1, -(-len(tasks) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.2 * nrows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        t = m[m.task == task].reset_index(drop=True)
        x = np.arange(len(t))
        err = np.vstack([t.value - t.ci_low, t.ci_high - t.value]).clip(min=0)
        ax.bar(x, t.value, color=[_colour(v) for v in t.variant], yerr=err, capsize=3)
        base = t[t.variant.str.startswith("base")]
        if len(base):
            ax.axhline(float(base.value.iloc[0]), ls="--", color="k", lw=0.8, label="base encoder")
        ax.set_xticks(x, [v.replace(" (PST stage ", "\nstage ").replace(")", "") for v in t.variant], fontsize=7)
        ax.set_title(f"{task}: {t.metric.iloc[0]} x100 (n={int(t.n.iloc[0]):,})", fontsize=9)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    fig.suptitle("Held-out evaluations, 95% bootstrap intervals (training seeds, then items); dashed: base encoder",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_losses(results: Results, window: int = 10):
    """Training loss per step (moving average over ``window`` steps) for every trained model, with its uniform
    prediction loss ln N dotted."""
    import matplotlib.pyplot as plt

    losses = results.extra.get("losses", {})
    tr = results.tables["training"]
    seeds = int(tr["seed"].nunique()) if "seed" in tr else 1
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for name, ls in losses.items():
        ax = axes[0] if name.startswith("DefSent ") else axes[1]
        y = np.convolve(ls, np.ones(window) / window, mode="valid") if len(ls) >= window else np.asarray(ls)
        line, = ax.plot(np.arange(len(y)) + 1, y, label=name)
        row = tr[[loss_name(r, seeds) == name for _, r in tr.iterrows()]]
        if len(row):
            ax.axhline(math.log(int(row["classes (N)"].iloc[0])), ls=":", color=line.get_color(), lw=1)
    for ax, title in zip(axes, ("DefSent: word prediction (dotted: ln vocabulary)",
                                "DefSent+: entry classification per PST stage (dotted: ln entries)")):
        ax.set(title=title, xlabel="step", ylabel=f"cross-entropy ({window}-step mean)")
        ax.title.set_fontsize(9)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_isotropy(results: Results):
    """Average cosine between random sentences (0 = isotropic) and the partition-function ratio (1 = isotropic)."""
    import matplotlib.pyplot as plt

    m = results.tables["metrics"]
    iso = m[m.task == "isotropy"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, metric, note in zip(axes, ("avg_cosine", "partition_ratio"), ("0 = isotropic", "1 = isotropic")):
        t = iso[iso.metric == metric].reset_index(drop=True)
        ax.bar(np.arange(len(t)), t.value, color=[_colour(v) for v in t.variant])
        ax.set_xticks(np.arange(len(t)), [v.replace(" (PST stage ", "\nstage ").replace(")", "") for v in t.variant],
                      fontsize=7)
        if metric == "partition_ratio":
            ax.set_yscale("log")
        ax.set_title(f"{metric} ({note})", fontsize=9)
    fig.tight_layout()
    return fig
