"""Figures for word-embedding comparisons: per-category analogy bars, similarity, tagging accuracy vs
hidden size, classification full vs compressed, and t-SNE maps of selected words per embedding."""
from __future__ import annotations

import math
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from gensim.models import KeyedVectors


def _colors(n: int):
    cmap = plt.get_cmap("tab20" if n > 10 else "tab10")
    return [cmap(i % cmap.N) for i in range(n)]


def short_category(category: str) -> str:
    """``VERB Tense=Pres:Tense=Past`` -> ``VERB Tense: Pres→Past`` (other labels unchanged)."""
    upos, _, rel = category.partition(" ")
    left, sep, right = rel.partition(":")
    lf, _, lv = left.partition("=")
    rf, _, rv = right.partition("=")
    if sep and lf and lf == rf and "|" not in left + right:
        return f"{upos} {lf}: {lv}→{rv}"
    return category


def analogy_bars(summary: pd.DataFrame, metric: str = "accuracy", method: str = "3cosadd", title: str = ""):
    """Grouped horizontal bars: one group per analogy category (plus overall), one bar per embedding."""
    df = summary[summary["method"] == method]
    if df.empty:
        raise ValueError(f"no analogy results for method {method!r}; methods: {sorted(summary['method'].unique())}")
    table = df.pivot_table(index="category", columns="embedding", values=metric, sort=False)
    cats, embs = list(table.index), list(table.columns)
    if not embs:                                     # no question answerable by the embeddings
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title or 'analogies'}: no answerable questions (coverage 0)", ha="center", va="center")
        return fig
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.16 * len(cats) * max(len(embs), 1) ** 0.8))
    height = 0.8 / len(embs)
    for i, (emb, color) in enumerate(zip(embs, _colors(len(embs)))):
        ax.barh(np.arange(len(cats)) + i * height, table[emb].fillna(0), height, label=emb, color=color)
    labels = [short_category(c) for c in cats]
    ax.set_yticks(np.arange(len(cats)) + 0.4 - height / 2, [c if len(c) < 48 else c[:45] + "..." for c in labels],
                  fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} ({method})")
    ax.set_title(title or f"Analogy {metric} per category ({method})")
    ax.legend(fontsize=6, loc="lower right", ncol=1 + len(embs) // 8)
    fig.tight_layout()
    return fig


def metric_bars(df: pd.DataFrame, value: str, group: str, hue: str | None = None, title: str = "", ylabel: str = ""):
    """Bars of ``value`` per ``group`` (e.g. embedding), side by side per ``hue`` (e.g. full vs compressed)."""
    groups = list(dict.fromkeys(df[group]))
    hues = list(dict.fromkeys(df[hue])) if hue else [None]
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(groups) * len(hues) + 2), 3.8))
    width = 0.8 / len(hues)
    for i, (h, color) in enumerate(zip(hues, _colors(len(hues)))):
        sub = df if h is None else df[df[hue] == h]
        vals = [sub.loc[sub[group] == g, value].mean() for g in groups]
        ax.bar(np.arange(len(groups)) + i * width, np.nan_to_num(vals), width, label=h, color=color)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(ylabel or value)
    ax.set_title(title)
    if hue:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def tagging_curves(sweep: pd.DataFrame, metric: str = "accuracy"):
    """Test ``metric`` against BiLSTM hidden size (log2 axis), one line per embedding, one panel per task."""
    tasks = list(dict.fromkeys(sweep["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        sub = sweep[sweep["task"] == task]
        embs = list(dict.fromkeys(sub["embedding"]))
        for emb, color in zip(embs, _colors(len(embs))):
            e = sub[sub["embedding"] == emb].sort_values("hidden_size")
            ax.plot(e["hidden_size"], e[metric], marker="o", label=emb, color=color)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("BiLSTM hidden size (per direction)")
        ax.set_ylabel(f"test {metric}")
        ax.set_title(task)
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def tsne_grid(embeddings: Mapping[str, KeyedVectors], words: Mapping[str, str], seed: int = 0,
              perplexity: float = 15.0, ncols: int = 4):
    """One t-SNE map per embedding of the given ``{word: category}``, points coloured by category."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    names = list(embeddings)
    cats = sorted(set(words.values()))
    colors = dict(zip(cats, _colors(len(cats))))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, min(ncols, len(names)), figsize=(3.4 * min(ncols, len(names)), 3.2 * nrows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names):
        kv = embeddings[name]
        ws = [w for w in words if w in kv.key_to_index]
        if len(ws) < 5:
            ax.set_title(f"{name}\n(too few words)", fontsize=7)
            continue
        x = np.stack([kv.get_vector(w, norm=True) for w in ws])
        with threadpool_limits(1):                      # a few hundred points: threads only add overhead
            xy = TSNE(2, perplexity=min(perplexity, (len(ws) - 1) / 3), init="pca", max_iter=500,
                      random_state=seed).fit_transform(x)
        ax.scatter(xy[:, 0], xy[:, 1], s=9, c=[colors[words[w]] for w in ws])
        ax.set_title(name, fontsize=7)
    handles = [plt.Line2D([], [], marker="o", ls="", color=colors[c], label=c) for c in cats]
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(cats)), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.025 * math.ceil(len(cats) / 4), 1, 1))
    return fig


def interval_dots(df: pd.DataFrame, value: str = "value", lo: str = "ci_lo", hi: str = "ci_hi",
                  label: str = "embedding", title: str = "", xlabel: str = "", reference: float | None = None,
                  reference_label: str = ""):
    """One dot per row with its 95% interval (horizontal), sorted by value; a dashed line at the reference level."""
    d = df.sort_values(value, na_position="first").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.28 * len(d)))
    y = np.arange(len(d))
    err = np.vstack([(d[value] - d[lo]).clip(lower=0).fillna(0), (d[hi] - d[value]).clip(lower=0).fillna(0)])
    colors = ["#1f77b4" if str(k) == "trained static" else "#d62728" if str(k) == "from encoder" else "#7f7f7f"
              for k in d.get("kind", ["" for _ in range(len(d))])]
    ax.errorbar(d[value], y, xerr=err, fmt="none", ecolor="#999999", capsize=2)
    ax.scatter(d[value], y, c=colors, zorder=3, s=22)
    ax.set_yticks(y, d[label], fontsize=7)
    if reference is not None and np.isfinite(reference):
        ax.axvline(reference, ls="--", color="k", lw=1, label=reference_label or "reference")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel(xlabel or value)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def learning_curve(table: pd.DataFrame, set_name: str, title: str = ""):
    """Accuracy (95% interval) against corpus tokens (log axis) for the growing models; encoder-only methods,
    which need no corpus, as flat dashed lines."""
    d = table[(table["set"] == set_name) & table["accuracy"].notna()]
    if d.empty or d["n"].max() == 0:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{set_name}: no question answerable by every embedding (n = 0)", ha="center", va="center")
        return fig
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    growing = d[d["kind"] != "encoder-only"]
    names = list(dict.fromkeys(growing["embedding"]))
    for name, color in zip(names, _colors(len(names))):
        g = growing[growing["embedding"] == name].sort_values("tokens")
        ax.errorbar(g["tokens"], g["accuracy"], yerr=[g["accuracy"] - g["ci_lo"], g["ci_hi"] - g["accuracy"]],
                    marker="o", capsize=2, label=name, color=color)
    flat = d[d["kind"] == "encoder-only"]
    for (name, g), ls in zip(flat.groupby("embedding", sort=False), ["--", ":", "-."] * 5):
        ax.axhline(float(g["accuracy"].iloc[0]), ls=ls, color="#555555", lw=1, label=f"{name} (no corpus needed)")
    ax.set_xscale("log")
    ax.set_xlabel("training tokens (log scale)")
    ax.set_ylabel("accuracy (a missing word counts as a miss)")
    n = int(d["n"].max()) if len(d) else 0
    ax.set_title(title or f"{set_name}: accuracy vs corpus size (n={n} questions)", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
