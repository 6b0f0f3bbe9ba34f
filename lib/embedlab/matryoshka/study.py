"""The 2D Matryoshka study's steps: train the variants, evaluate every (layer, dim) cell, measure cost, and
declare the headline comparisons (each trained variant minus the baseline at the smallest Starbucks diagonal cell
and at full size, with paired bootstrap intervals), flags, notes and the papers' panel."""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from .. import assets, encoders, flags, progress, report, stats
from ..study import ConfigError, Reference, Results, metric_key
from .config import Config
from .cost import cell_costs, layer_latency, search_latency
from .data import GridTask, evaluation_tasks, training_pairs
from .grid import dim_ladder, evaluate_grid_items, grid_table, headline_metrics
from .losses import KL_CONVENTIONS, starbucks_diagonal
from .training import Training, fine_tune

LOSS_WINDOW = 0.1  # share of steps averaged at the start and at the end of a loss curve


def build_tasks(cfg: Config, results: Results) -> list[GridTask]:
    """The evaluation tasks one by one; a set that cannot be had is listed as unavailable (``missing_sets='skip'``)
    or raises (``'fail'``)."""
    from .. import evalsets

    wanted = [("sts", s, dict(sts=[s], words=[], bible=None)) for s in cfg.sts_sets]
    wanted += [("word similarity", w, dict(sts=[], words=[w], bible=None)) for w in cfg.word_sets]
    if cfg.bible_versions:
        wanted.append(("retrieval", "bible", dict(sts=[], words=[], bible=tuple(cfg.bible_versions))))
    tasks = []
    for kind, name, kw in wanted:
        try:
            tasks += evaluation_tasks(**kw, max_pairs=cfg.max_eval_pairs, seed=cfg.seed)
        except (assets.AssetUnavailable, evalsets.EvalSetUnavailable, OSError) as exc:
            if cfg.missing_sets == "fail":
                raise
            results.mark_unavailable(name, kind, f"{type(exc).__name__}: {str(exc)[:240]}")
    if not tasks:
        raise ValueError("no evaluation set could be loaded: " + "; ".join(u.name for u in results.unavailable))
    return tasks


def _window(x: np.ndarray, first: bool) -> float:
    x = np.asarray(x, float)
    w = max(1, int(len(x) * LOSS_WINDOW))
    return float(np.nanmean(x[:w] if first else x[-w:]))


def training_table(trainings: dict[str, Training]) -> pd.DataFrame:
    """Per variant: steps, the total loss and the last-layer full-size term (a quantity every variant computes),
    each averaged over the first and the last 10% of steps (the loss plot's legend shows these very numbers)."""
    rows = []
    for v, t in trainings.items():
        lf = t.term("last-full")
        rows.append({"variant": v, "steps": len(t.losses),
                     "total loss, first 10%": _window(t.losses, True), "total loss, last 10%": _window(t.losses, False),
                     "last-full term, first 10%": _window(lf, True), "last-full term, last 10%": _window(lf, False),
                     "seconds": round(t.seconds, 1)})
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
    if len(by_dim) < 2:
        return (f"2DMSE drew only d={int(by_dim.index[0])} in this run's {len(df)} steps; its total loss goes from "
                f"{_window(training.losses, True):.3g} to {_window(training.losses, False):.3g} and its last-layer "
                f"full-size term from {_window(lf, True):.3g} to {_window(lf, False):.3g}.")
    return (f"2DMSE's total loss averages {by_dim.max():.3g} on steps that drew d={int(by_dim.idxmax())} and "
            f"{by_dim.min():.3g} on steps that drew d={int(by_dim.idxmin())}, so its curve follows the draws "
            f"(first 10% of steps {_window(training.losses, True):.3g}, last 10% {_window(training.losses, False):.3g}); "
            f"its last-layer full-size term, the same quantity at every step, goes from {_window(lf, True):.3g} to "
            f"{_window(lf, False):.3g}.")


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
        ref_model = "baseline" if "baseline" in models else "base"
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
    df = report.paper_figures("matryoshka")
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


def run_study(cfg: Config) -> Results:
    """The notebook's steps; plots read ``results.extra``."""
    results = Results("matryoshka")
    enc = encoders.load_encoder(cfg.encoder)
    if cfg.smallest_dim > enc.dim:
        raise ConfigError(f"parameter 'smallest_dim': given {cfg.smallest_dim}; allowed: 1 to {enc.dim} "
                          f"({enc.name}'s hidden size)")
    layers = list(range(1, enc.n_layers + 1))
    dims = dim_ladder(enc.dim, cfg.smallest_dim)
    diagonal = starbucks_diagonal(enc.n_layers, enc.dim, smallest=cfg.smallest_dim)
    tasks = build_tasks(cfg, results)
    matches = [t for t in tasks if t.name == cfg.headline_task or t.name.startswith(cfg.headline_task)]
    if not matches:
        raise ValueError(f"headline task {cfg.headline_task!r} is unavailable in this run "
                         f"({'; '.join(f'{u.name}: {u.reason}' for u in results.unavailable)})")
    headline = matches[0]
    pairs = training_pairs(cfg.train_source, cfg.train_pairs, cfg.bible_versions or ("kjv", "bbe"), cfg.seed)

    progress.step(f"training {len(cfg.variants)} variants ({', '.join(cfg.variants)}) on {len(pairs)} pairs of "
                  f"{pairs.name}, {cfg.epochs} epoch(s), batch {cfg.batch_size}, on {encoders.default_device()}")
    trainings: dict[str, Training] = {}
    t0 = time.perf_counter()
    for v in cfg.variants:
        trainings[v] = fine_tune(enc, pairs, v, cfg.base_loss, cfg.pooling, cfg.epochs, cfg.batch_size,
                                 cfg.learning_rate, cfg.warmup_ratio, cfg.max_length, cfg.seed, dims,
                                 cfg.layer_weighting, cfg.kl_2dmse, cfg.kl_srl, cfg.kl_weight, diagonal)
        progress.step(f"  {v}: {len(trainings[v].losses)} steps in {trainings[v].seconds:.0f} s")
    train_seconds = time.perf_counter() - t0

    models = {"base": enc, **{v: t.encoder for v, t in trainings.items()}}
    cells = {"smallest diagonal cell": diagonal[0], "full size": (enc.n_layers, enc.dim)}
    all_cells = list(dict.fromkeys([*diagonal, *cells.values(), (enc.n_layers, dims[0])]))
    progress.step(f"evaluating {len(models)} models at {len(layers)} x {len(dims)} cells on "
                  f"{', '.join(f'{t.name} ({len(t)})' for t in tasks)}")
    t0 = time.perf_counter()
    frames, items = [], {}
    for name, model in progress.bar(list(models.items()), desc="grids", unit="model"):
        g, it = evaluate_grid_items(model, tasks, layers, dims, all_cells, cfg.pooling, 64, cfg.max_length,
                                    progress=False)
        frames.append(g.assign(model=name))
        items[name] = it
    grid = pd.concat(frames, ignore_index=True)
    grid_seconds = time.perf_counter() - t0

    latency = layer_latency(enc, headline.texts_a[:cfg.latency_texts], layers, max_length=cfg.max_length,
                            repeats=cfg.latency_repeats)
    search = search_latency(dims, n_index=10_000, seed=cfg.seed)
    costs = cell_costs(latency, search)

    # ---- tables, headlines, flags
    train_tab = results.add_table("training", training_table(trainings))
    for v, t in trainings.items():
        results.check_loss(f"train/{v}/last-full", t.term("last-full"))
    results.add_table("grid", grid)
    results.add_table("cell_costs", costs)
    at_cells = declare_headlines(results, headline, items, list(models), cells, cfg.seed)
    results.add_table("headline_cells", at_cells)
    diag_rows = []
    for k, (l, d) in enumerate(diagonal, 1):
        for m in models:
            x = items[m][(headline.name, l, d)]
            lo, hi = _ci(headline, x, cfg.seed)
            diag_rows.append({"size": k, "layer": l, "dim": d, "model": m, "value": _score(headline, x),
                              "ci_low": lo, "ci_high": hi, "n": len(headline)})
    results.add_table("diagonal", pd.DataFrame(diag_rows))
    if "2dmse" in trainings:
        results.add_table("2dmse_draws", draw_table(trainings["2dmse"]))

    # ---- papers
    published, results.published_note = published_panel(cfg, diagonal, at_cells, headline)
    results.published = published.assign(**{c: published[c].map(lambda v: f"{v:.4f}")
                                            for c in published.columns if c not in ("task", "metric", "size")})
    results.notes += _notes(cfg, enc, diagonal, pairs)
    side = beside_paper(results.tables["diagonal"], published, headline)
    if side is not None and len(side):
        results.add_table("beside_paper", side)

    named = {"last-full": (enc.n_layers, enc.dim), "first-full": (1, enc.dim),
             "half-full": (max(1, enc.n_layers // 2), enc.dim), "last-smallest": (enc.n_layers, dims[0]),
             "diagonal-smallest": diagonal[0]}
    for k, v in headline_metrics(grid, named).items():
        model, task, rest = k.split("/", 2)
        results.metrics[metric_key(task, model, rest)] = v
    for v, row in train_tab.iterrows():
        results.metrics[metric_key("train", v, "last-full-first")] = round(row["last-full term, first 10%"], 4)
        results.metrics[metric_key("train", v, "last-full-last")] = round(row["last-full term, last 10%"], 4)
    results.timings.update({"train_seconds": round(train_seconds, 1), "grid_seconds": round(grid_seconds, 1),
                            **{f"train_seconds/{v}": round(t.seconds, 1) for v, t in trainings.items()},
                            **{f"encode_ms_per_text@layer{int(r.layer)}": round(r.ms_per_text, 3)
                               for r in latency.itertuples()}})
    results.extra = dict(encoder=enc, layers=layers, dims=dims, diagonal=diagonal, tasks=tasks, headline=headline,
                         pairs=pairs, trainings=trainings, models=models, grid=grid, items=items, latency=latency,
                         search=search, costs=costs, cells=cells, published=published,
                         draw_summary=draw_summary(trainings["2dmse"]) if "2dmse" in trainings else "")
    return results


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
