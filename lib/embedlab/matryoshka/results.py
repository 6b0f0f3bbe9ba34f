"""What the 2D Matryoshka study's numbers say: the training tables, the headline comparisons (each trained variant
minus the baseline at the smallest Starbucks diagonal cell and at full size, with paired bootstrap intervals), the
values along the diagonal, the metrics, the papers' panel and the notes on where a run differs from the papers."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .. import encoders, flags, stats
from ..flags import loss_window
from ..papers import paper_figures
from ..study import Reference, Results, metric_key
from .config import Config
from .data import GridTask
from .grid import headline_metrics
from .losses import KL_CONVENTIONS
from .training import Training


def training_table(trainings: dict[str, Training]) -> pd.DataFrame:
    """Per variant: steps, the total loss and the last-layer full-size term (a quantity every variant computes),
    each averaged over the first and the last 10% of steps (the loss plot's legend shows these very numbers)."""
    rows = []
    for v, t in trainings.items():
        lf = t.term("last-full")
        rows.append({"variant": v, "steps": len(t.losses),
                     "total loss, first 10%": loss_window(t.losses, True),
                     "total loss, last 10%": loss_window(t.losses, False),
                     "last-full term, first 10%": loss_window(lf, True),
                     "last-full term, last 10%": loss_window(lf, False), "seconds": round(t.seconds, 1)})
    return pd.DataFrame(rows).set_index("variant")


def draw_table(training: Training) -> pd.DataFrame:
    """2DMSE's total loss by the (layer, dim) drawn at each step, in the first and second half of training: the
    level of the total loss is set by the draw (a small ``d`` and a shallow layer cost more), so a curve of the
    total rises or falls with the draws; within one draw the loss falls when training works."""
    rows = []
    half = len(training.terms) // 2
    for k, (t, total) in enumerate(zip(training.terms, training.losses)):
        rows.append({"layer": t.get("layer"), "dim": t.get("dim"), "half": "first" if k < half else "second",
                     "total": total, "kl": t.get("kl", np.nan), "last-full": t.get("last-full")})
    df = pd.DataFrame(rows)
    if df.empty or df["dim"].isna().all():
        return df
    out = df.pivot_table(index="dim", columns="half", values="total", aggfunc=["mean", "count"])
    out.columns = [f"total loss {a} ({b} half)" if a == "mean" else f"steps ({b} half)" for a, b in out.columns]
    return out


def draw_summary(training: Training) -> str:
    """A sentence, generated from the run's numbers, on why 2DMSE's total loss moves with its draws."""
    df = pd.DataFrame([{"dim": t.get("dim"), "total": x} for t, x in zip(training.terms, training.losses)])
    if df.empty or df["dim"].isna().all():
        return ""
    by_dim = df.groupby("dim")["total"].mean()
    lf = training.term("last-full")
    first, last = loss_window(training.losses, True), loss_window(training.losses, False)
    lf_first, lf_last = loss_window(lf, True), loss_window(lf, False)
    if len(by_dim) < 2:
        return (f"2DMSE drew only d={int(by_dim.index[0])} in this run's {len(df)} steps; its total loss goes from "
                f"{first:.3g} to {last:.3g} and its last-layer full-size term from {lf_first:.3g} to {lf_last:.3g}.")
    return (f"2DMSE's total loss averages {by_dim.max():.3g} on steps that drew d={int(by_dim.idxmax())} and "
            f"{by_dim.min():.3g} on steps that drew d={int(by_dim.idxmin())}, so its curve follows the draws "
            f"(first 10% of steps {first:.3g}, last 10% {last:.3g}); its last-layer full-size term, the same "
            f"quantity at every step, goes from {lf_first:.3g} to {lf_last:.3g}.")


def beside_paper(diag: pd.DataFrame, published: pd.DataFrame, task: GridTask) -> pd.DataFrame | None:
    """Ours beside the published value at the same diagonal position, variant and task (STS-B / SICK-R only):
    base -> BERT, 2dmse -> 2DMSE, srl -> BERT-SRL (x100)."""
    if task.name not in ("stsb", "sick"):
        return None
    pub = published[published.task == task.name].reset_index(drop=True)
    names = {"base": "bert", "2dmse": "2dmse", "srl": "srl"}
    rows = []
    for r in diag.itertuples():
        if r.model in names and names[r.model] in pub.columns and r.size <= len(pub):
            p = pub.iloc[r.size - 1]
            rows.append({"ours (layer, dim)": f"({r.layer},{r.dim})", "paper (layer, dim)": p["size"],
                         "variant": r.model, "ours": r.value, "ours 95% CI": f"[{r.ci_low:.1f}, {r.ci_high:.1f}]",
                         "published (Starbucks Table A1)": 100 * float(p[names[r.model]])})
    return pd.DataFrame(rows)


def chance_mrr(n: int) -> float:
    """Expected MRR x100 of a random ranking of ``n`` candidates with one relevant."""
    return 100.0 * sum(1.0 / k for k in range(1, n + 1)) / n


def _score(task: GridTask, items: np.ndarray) -> float:
    if task.kind == "retrieval":
        return float(np.mean(items))
    return 100.0 * stats.spearman(items, task.gold)


def _ci(task: GridTask, items: np.ndarray, seed: int) -> tuple[float, float]:
    if task.kind == "retrieval":
        return stats.mean_ci(items, seed=seed)
    lo, hi = stats.spearman_ci(items, task.gold, seed=seed)
    return 100 * lo, 100 * hi


def _diff_ci(task: GridTask, a: np.ndarray, b: np.ndarray, seed: int) -> tuple[float, float]:
    if task.kind == "retrieval":
        return stats.paired_mean_diff_ci(a, b, seed=seed)
    lo, hi = stats.paired_spearman_diff_ci(a, b, task.gold, seed=seed)
    return 100 * lo, 100 * hi


def declare_headlines(results: Results, task: GridTask, items: dict, models: list[str], cells: dict[str, tuple],
                      seed: int = 0) -> pd.DataFrame:
    """Headline values (base and baseline) and comparisons (each trained variant minus the baseline) at the named
    cells, with bootstrap intervals; returns the per-model table of values with intervals at those cells."""
    metric = "MRR" if task.kind == "retrieval" else "Spearman"
    ref = Reference("chance", chance_mrr(len(task))) if task.kind == "retrieval" else Reference("chance", 0.0)
    rows = []
    for cname, (l, d) in cells.items():
        for m in models:
            x = items[m][(task.name, l, d)]
            v, ci = _score(task, x), _ci(task, x, seed)
            rows.append({"cell": f"{cname} (layer {l}, {d} dims)", "model": m, metric: v, "95% CI low": ci[0],
                         "95% CI high": ci[1], "n": len(task)})
            if m in ("base", "baseline"):
                results.headline(metric_key(task.name, m, f"{metric}@{l}x{d}"), f"{m}: {task.name} {metric} at "
                                 f"{cname} (layer {l}, {d} dims)", v, ci, n=len(task), reference=ref, ceiling=100.0,
                                 metric=metric)
        ref_model = reference_model(models)
        for m in models:
            if m in ("base", ref_model):
                continue
            a, b = items[m][(task.name, l, d)], items[ref_model][(task.name, l, d)]
            va, vb = _score(task, a), _score(task, b)
            results.compare(metric_key(task.name, f"{m}-minus-{ref_model}", f"{metric}@{l}x{d}"),
                            f"{m} - {ref_model}: {task.name} {metric} at {cname} (layer {l}, {d} dims)", m, ref_model,
                            va - vb, _diff_ci(task, a, b, seed), n=len(task),
                            metric=f"{task.name} {metric} at layer {l}, {d} dims",
                            extra_flags=[flags.at_ceiling(max(va, vb), 100.0)])
    return pd.DataFrame(rows)


def published_panel(cfg: Config, diagonal: list[tuple[int, int]], table: pd.DataFrame,
                    task: GridTask) -> tuple[pd.DataFrame, str]:
    """The Starbucks paper's Table A1 rows (STS-B, SICK-R, MARCO dev) as a size x method table, and a note on what
    differs from this run."""
    df = paper_figures("matryoshka")
    df = df[df.task.isin(["stsb", "sick", "marco-dev"])]
    pub = df.pivot_table(index=["task", "metric", "size"], columns="variant", values="value", sort=False)
    order = [c for c in ["bert", "separate", "2dmse", "srl", "starbucks"] if c in pub.columns]
    pub = pub[order].reset_index()
    pub.columns.name = None
    same = (cfg.encoder == "bert-base-uncased" and cfg.pooling == "mean" and task.name in ("stsb", "sick"))
    note = (f"Starbucks (Zhuang et al. 2024) Table A1, authors' README at commit 2a3b24f: BERT-base (12 layers x 768), "
            f"diagonal (2,32) ... (12,768); 'srl' = BERT-SRL (their loss without SMAE pretraining, what our 'srl' "
            f"is), 'starbucks' = SMAE-SRL. Values as published (Spearman / MRR@10 as fractions). This run: "
            f"{cfg.encoder}, {cfg.pooling} pooling, diagonal {diagonal}, headline task {task.name} "
            f"({'Spearman' if task.kind == 'sts' else 'MRR x100 among all ' + str(len(task)) + ' held-out verses'}), "
            f"training {cfg.train_source} ({cfg.train_pairs or 'all'} pairs, {cfg.epochs} epoch(s)). ")
    note += ("Backbone, pooling and task match the paper's STS rows: the diagonal table can be read against theirs "
             "(their training data and steps may still differ)." if same else
             "Backbone, diagonal, task and training differ from the paper's: compare the shape (which variant wins at "
             "small cells, how much the full size loses), not the numbers.")
    return pub, note


def reference_model(models: Sequence[str]) -> str:
    """What the trained variants are compared with: the full-size ``baseline`` when trained, else the ``base``."""
    return "baseline" if "baseline" in models else "base"


def comparison_pairs(models: Sequence[str]) -> list[tuple[str, str]]:
    """``(model, reference)`` pairs of the difference heatmaps: each trained variant minus the reference model
    (:func:`reference_model`); when only the baseline was trained, each model minus the base encoder."""
    models = list(models)
    ref = reference_model(models)
    return [(m, ref) for m in models if m not in ("base", ref)] or [(m, "base") for m in models[1:]]


def diagonal_table(headline: GridTask, items: dict, models: Sequence[str], diagonal: Sequence[tuple[int, int]],
                   seed: int = 0) -> pd.DataFrame:
    """Every model's headline value with its 95% interval along the Starbucks diagonal (size 1 = smallest cell)."""
    rows = []
    for k, (l, d) in enumerate(diagonal, 1):
        for m in models:
            x = items[m][(headline.name, l, d)]
            lo, hi = _ci(headline, x, seed)
            rows.append({"size": k, "layer": l, "dim": d, "model": m, "value": _score(headline, x),
                         "ci_low": lo, "ci_high": hi, "n": len(headline)})
    return pd.DataFrame(rows)


def papers(results: Results, cfg: Config, enc: encoders.Encoder, diagonal, at_cells: pd.DataFrame,
           headline: GridTask, pairs) -> pd.DataFrame:
    """The papers' panel (shown as text), the notes, and ours beside the published table where they match;
    returns the published table (numbers)."""
    published, results.published_note = published_panel(cfg, diagonal, at_cells, headline)
    results.published = published.assign(**{c: published[c].map(lambda v: f"{v:.4f}")
                                            for c in published.columns if c not in ("task", "metric", "size")})
    results.notes += _notes(cfg, enc, diagonal, pairs)
    side = beside_paper(results.tables["diagonal"], published, headline)
    if side is not None and len(side):
        results.add_table("beside_paper", side)
    return published


def record_metrics(results: Results, enc: encoders.Encoder, dims: Sequence[int], diagonal, grid: pd.DataFrame,
                   train_tab: pd.DataFrame, trainings: dict[str, Training], latency: pd.DataFrame) -> None:
    """Metrics at the named cells of every grid, each variant's last-full loss at the start and end of training,
    and the timings (training, grids, per variant, encoding latency per layer)."""
    named = {"last-full": (enc.n_layers, enc.dim), "first-full": (1, enc.dim),
             "half-full": (max(1, enc.n_layers // 2), enc.dim), "last-smallest": (enc.n_layers, dims[0]),
             "diagonal-smallest": diagonal[0]}
    for k, v in headline_metrics(grid, named).items():
        model, task, rest = k.split("/", 2)
        results.metrics[metric_key(task, model, rest)] = v
    for v, row in train_tab.iterrows():
        results.metrics[metric_key("train", v, "last-full-first")] = round(row["last-full term, first 10%"], 4)
        results.metrics[metric_key("train", v, "last-full-last")] = round(row["last-full term, last 10%"], 4)
    results.timings.update({**{k: round(results.timings[k], 1) for k in ("train_seconds", "grid_seconds")},
                            **{f"train_seconds/{v}": round(t.seconds, 1) for v, t in trainings.items()},
                            **{f"encode_ms_per_text@layer{int(r.layer)}": round(r.ms_per_text, 3)
                               for r in latency.itertuples()}})


def _notes(cfg: Config, enc: encoders.Encoder, diagonal, pairs) -> list[str]:
    base = cfg.base_loss or ("CoSENT" if pairs.labels is not None else "MultipleNegativesRanking (in-batch negatives)")
    notes = [f"Every variant's base loss is sentence-transformers' {base}; our 2DMSE therefore uses {base} where the "
             "2DMSE paper (AnglE) trains with the AnglE loss (cosine + in-batch + angle objectives)."]
    if "srl" in cfg.variants:
        notes.append("'srl' is the Starbucks loss on the plain encoder, without Starbucks' masked-autoencoder (SMAE) "
                     "pretraining: it corresponds to the paper's BERT-SRL rows, not to 'Starbucks' (SMAE-SRL). "
                     f"Its fixed (layer, dim) pairs for {enc.name}: {diagonal}.")
    for v, conv in (("2dmse", cfg.kl_2dmse), ("srl", cfg.kl_srl)):
        if v in cfg.variants:
            desc = "no KL term" if conv == "none" else KL_CONVENTIONS[conv].describe()
            ref = {"2dmse": "angle", "srl": "starbucks"}[v]
            notes.append(f"{v} KL term: {desc}" + ("" if conv == ref else f" (the paper's own code uses '{ref}')")
                         + (f"; weighted x{cfg.kl_weight:g}" if cfg.kl_weight != 1 else "") + ".")
    if cfg.pooling != "mean":
        notes.append(f"Pooling is {cfg.pooling}; Starbucks' STS scripts pool by mean.")
    if "mrl" in cfg.variants:
        notes.append("mrl weights every dimension of the ladder 1, as sentence-transformers' MatryoshkaLoss does "
                     "by default.")
    if cfg.layer_weighting == "log":
        notes.append("2DMSE's shallow layer is weighted 1 / (1 + ln i) as in ESE, not uniformly as in 2DMSE.")
    if cfg.encoder != "bert-base-uncased" or cfg.train_source != "stsb":
        notes.append(f"The papers fine-tune BERT-base on AllNLI or STS-B for thousands of steps; this run fine-tunes "
                     f"{enc.name} ({enc.n_layers} layers x {enc.dim}) on {len(pairs)} pairs of {pairs.name} for "
                     f"{cfg.epochs} epoch(s): a small-budget regime.")
    return notes
