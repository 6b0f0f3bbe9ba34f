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


def _subtitle(n: int | None, reference: str) -> str:
    return "".join([f"; n={n:,}" if n else "", f"; {reference}" if reference else ""])


def heatmaps(grid: pd.DataFrame, task: str, metric: str, models: Sequence[str] | None = None, n: int | None = None,
             reference: str = ""):
    """One heatmap per model of ``metric`` on ``task`` over (layer x leading dims), on a shared colour scale;
    the title gives ``n`` and the reference level."""
    models = list(dict.fromkeys(grid.model)) if models is None else list(models)
    tables = {m: grid_table(grid, task, metric, m) for m in models}
    lo = min(t.to_numpy().min() for t in tables.values())
    hi = max(t.to_numpy().max() for t in tables.values())
    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.0), squeeze=False, sharey=True)
    for ax, (m, t) in zip(axes[0], tables.items()):
        im = _heatmap(ax, t, m, "viridis", lo, hi)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label=f"{task} {metric}")
    fig.suptitle(f"{task}: {metric} by layer and leading dimensions{_subtitle(n, reference)}", fontsize=10, y=1.03)
    return fig


def difference_heatmaps(grid: pd.DataFrame, task: str, metric: str, pairs: Sequence[tuple[str, str]],
                        n: int | None = None, reference: str = "no difference = 0"):
    """Heatmaps of ``a - b`` for each ``(a, b)`` model pair (blue: ``a`` better)."""
    diffs = {f"{a} - {b}": grid_table(grid, task, metric, a) - grid_table(grid, task, metric, b) for a, b in pairs}
    lim = max(1e-9, max(np.abs(d.to_numpy()).max() for d in diffs.values()))
    fig, axes = plt.subplots(1, len(diffs), figsize=(3.4 * len(diffs), 3.0), squeeze=False, sharey=True)
    for ax, (name, d) in zip(axes[0], diffs.items()):
        im = _heatmap(ax, d, name, "RdBu", -lim, lim, "{:+.1f}")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label=f"difference in {metric}")
    fig.suptitle(f"{task}: {metric} differences{_subtitle(n, reference)}", fontsize=10, y=1.03)
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


def loss_curves(trainings: dict, table: pd.DataFrame, window: int = 5):
    """Two panels per variant (moving average over ``window`` steps, averaged over the variant's training seeds;
    each seed's own curve drawn faintly): the last-layer full-size term, which every variant computes and which is
    comparable across variants, and the total loss, whose level depends on how many terms a variant sums. Each
    legend entry shows the training table's first-10% and last-10% means."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    n = 1
    for k, (name, runs) in enumerate(trainings.items()):
        runs = runs if isinstance(runs, (list, tuple)) else [runs]
        n = max(n, len(runs))
        row, color = table.loc[name], f"C{k + 1}"  # C0 is the base model elsewhere
        for ax, col in ((axes[0], "last-full term"), (axes[1], "total loss")):
            ys = [tr.term("last-full") if col == "last-full term" else np.asarray(tr.losses, float) for tr in runs]
            w = max(1, min(window, len(ys[0])))
            smooth = np.array([np.convolve(y, np.ones(w) / w, mode="valid") for y in ys])
            steps = np.arange(w, len(ys[0]) + 1)
            if len(runs) > 1:
                for curve in smooth:
                    ax.plot(steps, curve, color=color, lw=0.6, alpha=0.3)
            ax.plot(steps, smooth.mean(0), color=color,
                    label=f"{name}: {row[f'{col}, first 10%']:.3g} -> {row[f'{col}, last 10%']:.3g}")
    axes[0].set_title("base loss of the last layer at full size (same quantity for every variant)", fontsize=9)
    axes[1].set_title("total training loss (sums different terms per variant)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("step")
        ax.set_ylabel(f"loss (moving average{', mean of ' + str(n) + ' seeds' if n > 1 else ''})")
        ax.legend(fontsize=7, title="first 10% -> last 10% of steps", title_fontsize=7)
    return fig


def diagonal_beside_paper(ours: pd.DataFrame, published: pd.DataFrame, task_label: str, paper_task: str = "stsb"):
    """Left: the papers' published numbers along the Starbucks diagonal (labelled as theirs); right: ours along our
    diagonal with 95% intervals. Sizes are numbered 1..6 from the smallest diagonal cell to the full model."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    pub = published[published.task == paper_task]
    colour = {"bert": "C0", "separate": "C1", "2dmse": "C3", "srl": "C4", "starbucks": "C6"}
    for col in [c for c in colour if c in pub.columns]:
        left.plot(range(1, len(pub) + 1), pub[col].to_numpy(float) * 100, marker="o", color=colour[col], label=col)
    left.set_xticks(range(1, len(pub) + 1), list(pub["size"]), fontsize=7)
    left.set_title(f"PUBLISHED (Starbucks Table A1): {paper_task} Spearman x100, BERT-base", fontsize=9)
    left.set_xlabel("(layer, dim)")
    left.legend(fontsize=7)
    for k, m in enumerate(dict.fromkeys(ours.model)):  # the models' order and colours of the other figures
        g = ours[ours.model == m].sort_values("size")
        c = f"C{k}"
        right.errorbar(g["size"], g.value, yerr=[g.value - g.ci_low, g.ci_high - g.value], marker="o", capsize=2,
                       color=c, label=m + (" (one model, not per-size)" if m == "baseline" else ""))
    sizes = ours.drop_duplicates("size").sort_values("size")
    right.set_xticks(sizes["size"], [f"({l},{d})" for l, d in zip(sizes.layer, sizes.dim)], fontsize=7)
    n = int(ours.n.iloc[0]) if "n" in ours else None
    k = int(ours.seeds.max()) if "seeds" in ours else 1
    seeds = f"trained: mean of {k} seeds, 95% CI over seeds then items" if k > 1 else "95% CI"
    right.set_title(f"OURS: {task_label} along our diagonal ({seeds}, n={n})", fontsize=9)
    right.set_xlabel("(layer, dim)")
    right.legend(fontsize=7)
    return fig
