"""Figures of the CADE study (each returns a matplotlib Figure)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

COLORS = {"cade": "tab:blue", "procrustes": "tab:orange", "unaligned": "tab:gray"}


def grouped_bars(ax, table: pd.DataFrame, group: str, series: str, value: str, colors: dict | None = None) -> None:
    """Bars of ``value`` for each ``group`` (x) and ``series`` (one colour each)."""
    groups, names = list(dict.fromkeys(table[group])), list(dict.fromkeys(table[series]))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        sub = table[table[series] == name].set_index(group).reindex(groups)
        ax.bar(np.arange(len(groups)) + (i - (len(names) - 1) / 2) * width, sub[value], width, label=str(name),
               color=(colors or {}).get(name))
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.grid(axis="y", alpha=0.3)


def planted_ap(table: pd.DataFrame) -> plt.Figure:
    """Average precision of each method x shift measure at finding the planted words, with 95% bootstrap
    intervals, and chance (the planted words' share) as a dashed line."""
    from .shift import LABELS

    t = table.assign(measure=table["measure"].map(lambda m: LABELS.get(m, m)))
    fig, ax = plt.subplots(figsize=(8, 4.2))
    grouped_bars(ax, t, "measure", "method", "ap", COLORS)
    if {"ap_ci_low", "ap_ci_high"} <= set(t.columns):
        groups, names = list(dict.fromkeys(t["measure"])), list(dict.fromkeys(t["method"]))
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            sub = t[t["method"] == name].set_index("measure").reindex(groups)
            x = np.arange(len(groups)) + (i - (len(names) - 1) / 2) * width
            ax.errorbar(x, sub["ap"], yerr=[sub["ap"] - sub["ap_ci_low"], sub["ap_ci_high"] - sub["ap"]], fmt="none",
                        ecolor="k", capsize=3, lw=1)
    ax.axhline(t["chance_ap"].iloc[0], ls="--", c="k", lw=1, label=f"chance ({t['chance_ap'].iloc[0]:.3f})")
    n = int(t["n_planted"].iloc[0] + t["n_controls"].iloc[0])
    ax.set_ylabel("average precision"); ax.set_ylim(0, 1)
    seeds = f", mean of {int(t['seeds'].iloc[0])} seeds" if "seeds" in t else ""
    ax.set_title(f"Planted shift: planted words ranked above same-frequency controls (n={n}{seeds}, 95% CI)")
    ax.legend()
    return fig


def alignment_quality(table: pd.DataFrame, words: str = "frequent") -> plt.Figure:
    """Mean cross-slice cosine and self-retrieval P@1 of stable words, per slice pair and method."""
    sub = table[table["words"] == words]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, col, label in zip(axes, ("mean_cosine", "p_at_1"), ("mean cosine of a word with itself", "self-retrieval P@1")):
        grouped_bars(ax, sub, "pair", "method", col, COLORS)
        ax.set_ylabel(label); ax.set_ylim(min(0, sub[col].min() - 0.05), 1.02)
        ax.tick_params(axis="x", labelrotation=20)
    fig.suptitle(f"Alignment quality on {words} words (their usage should not change)")
    fig.tight_layout()
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.0))
    return fig


def overlap_sweep(table: pd.DataFrame) -> plt.Figure:
    """Alignment reliability (probe retrieval P@1 and P@10) against the two slices' vocabulary overlap."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, col in zip(axes, ("probe_p_at_1", "probe_p_at_10")):
        for method, sub in table.groupby("method", sort=False):
            sub = sub.sort_values("vocab_jaccard")
            ax.plot(sub["vocab_jaccard"], sub[col], marker="o", label=method, color=COLORS.get(method))
        ax.set_xlabel("vocabulary overlap of the two slices (Jaccard, frequent types)")
        ax.set_title(col.replace("probe_p_at_", "P@")); ax.grid(alpha=0.3)
    axes[0].set_ylabel("held-out probe words found in the other slice")
    axes[0].legend()
    fig.suptitle("Alignment reliability as the slices share fewer words")
    fig.tight_layout()
    return fig


def trajectories(tables: dict[str, pd.DataFrame], years: dict[str, float] | None = None, reference: str = "") -> plt.Figure:
    """Each traced word's similarity to itself in the reference slice across slices, one panel per method."""
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4), sharey=True, squeeze=False)
    for ax, (method, traj) in zip(axes[0], tables.items()):
        slices = list(dict.fromkeys(traj["slice"]))
        x = np.arange(len(slices))
        for word, sub in traj.groupby("word", sort=False):
            ax.plot(x, sub.set_index("slice").reindex(slices)["similarity"], marker="o", label=word)
        ax.set_xticks(x, [s if (years or {}).get(s) is None or any(c.isdigit() for c in str(s))
                          else f"{s}\n{int(years[s])}" for s in slices])
        ax.set_title(method); ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"cosine with the word in {reference or 'the reference slice'}")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.suptitle("Trajectories of traced words (gaps: too rare in that slice)")
    fig.tight_layout()
    return fig


def twec_heldout(table: pd.DataFrame) -> plt.Figure:
    """TWEC's held-out measures per slice: posterior log probability of the right slice (chance dashed) and the
    normalised log-likelihood of the CADE slice model and the static compass."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    x = np.arange(len(table))
    axes[0].bar(x, table["posterior_log_probability"], color=COLORS["cade"])
    axes[0].axhline(table["chance_log_probability"].iloc[0], ls="--", c="k", lw=1,
                    label=f"chance (log 1/{len(table)})")
    axes[0].set_ylabel("posterior log probability"); axes[0].legend(fontsize=8)
    axes[1].plot(x, table["nll_cade"], marker="o", label="CADE slice", color=COLORS["cade"])
    axes[1].plot(x, table["nll_compass"], marker="s", label="static compass", color="tab:green")
    axes[1].set_ylabel("normalised log-likelihood (nats/word)"); axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_xticks(x, [f"{s}\n(n={n:,})" for s, n in zip(table["slice"], table["sentences"])]); ax.grid(alpha=0.3)
    seeds = f", mean of {int(table['seeds'].iloc[0])} training seeds" if "seeds" in table else ""
    fig.suptitle(f"TWEC's held-out evaluation (negative-sampling score{seeds}; higher is better)")
    fig.tight_layout()
    return fig
