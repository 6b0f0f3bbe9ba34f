"""Figures for the 2D Matryoshka study: (layer x dim) heatmaps, differences, cost frontiers, loss curves."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .cost import pareto_frontier
from .grid import grid_table


def _heatmap(ax, table: pd.DataFrame, title: str, cmap: str, vmin: float, vmax: float, fmt: str = "{:.0f}"):
    """Draw one layer x dim table (layers bottom-up) with its values written in the cells."""
    im = ax.imshow(table.to_numpy(), origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], fontsize=7)
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index], fontsize=7)
    ax.set_xlabel("leading dimensions")
    ax.set_ylabel("layer")
    ax.set_title(title, fontsize=9)
    mid = (vmin + vmax) / 2
    for (i, j), v in np.ndenumerate(table.to_numpy()):
        dark = v < mid if cmap != "RdBu" else abs(v) > 0.6 * max(abs(vmin), abs(vmax))
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=6, color="white" if dark else "black")
    return im


def heatmaps(grid: pd.DataFrame, task: str, metric: str, models: Sequence[str] | None = None):
    """One heatmap per model of ``metric`` on ``task`` over (layer x leading dims), on a shared colour scale."""
    models = list(dict.fromkeys(grid.model)) if models is None else list(models)
    tables = {m: grid_table(grid, task, metric, m) for m in models}
    lo = min(t.to_numpy().min() for t in tables.values())
    hi = max(t.to_numpy().max() for t in tables.values())
    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.0), squeeze=False, sharey=True)
    for ax, (m, t) in zip(axes[0], tables.items()):
        im = _heatmap(ax, t, m, "viridis", lo, hi)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label=f"{task} {metric}")
    fig.suptitle(f"{task}: {metric} by layer and leading dimensions", fontsize=10, y=1.03)
    return fig


def difference_heatmaps(grid: pd.DataFrame, task: str, metric: str, pairs: Sequence[tuple[str, str]]):
    """Heatmaps of ``a - b`` for each ``(a, b)`` model pair (blue: ``a`` better)."""
    diffs = {f"{a} - {b}": grid_table(grid, task, metric, a) - grid_table(grid, task, metric, b) for a, b in pairs}
    lim = max(1e-9, max(np.abs(d.to_numpy()).max() for d in diffs.values()))
    fig, axes = plt.subplots(1, len(diffs), figsize=(3.4 * len(diffs), 3.0), squeeze=False, sharey=True)
    for ax, (name, d) in zip(axes[0], diffs.items()):
        im = _heatmap(ax, d, name, "RdBu", -lim, lim, "{:+.1f}")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label=f"difference in {metric}")
    fig.suptitle(f"{task}: {metric} differences", fontsize=10, y=1.03)
    return fig


def frontier(grid: pd.DataFrame, costs: pd.DataFrame, task: str, metric: str, cost: str = "ms_per_text",
             models: Sequence[str] | None = None):
    """Quality vs cost of every cell per model, with each model's Pareto frontier drawn as a step line."""
    models = list(dict.fromkeys(grid.model)) if models is None else list(models)
    sel = grid[(grid.task == task) & (grid.metric == metric)].merge(costs, on=["layer", "dim"])
    fig, ax = plt.subplots(figsize=(6.2, 4.0))
    for k, m in enumerate(models):
        cells = sel[sel.model == m]
        color = f"C{k}"
        ax.scatter(cells[cost], cells.value, s=10, alpha=0.35, color=color)
        front = pareto_frontier(cells, [cost])
        ax.step(front[cost], front.value, where="post", color=color, label=m, lw=1.6)
    ax.set_xlabel(cost.replace("_", " "))
    ax.set_ylabel(f"{task} {metric}")
    ax.set_title(f"quality vs cost ({task}); lines: Pareto frontiers", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def loss_curves(trainings: dict, window: int = 10):
    """Training loss per step of each variant (moving average over ``window`` steps), each divided by its first value."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    for name, tr in trainings.items():
        y = np.asarray(tr.losses, float)
        w = max(1, min(window, len(y)))
        smooth = np.convolve(y, np.ones(w) / w, mode="valid")
        ax.plot(np.arange(w, len(y) + 1), smooth / smooth[0], label=f"{name} (first {smooth[0]:.2f})")
    ax.set_xlabel("step")
    ax.set_ylabel("loss / initial loss")
    ax.set_title("training loss (moving average)", fontsize=10)
    ax.legend(fontsize=8)
    return fig
