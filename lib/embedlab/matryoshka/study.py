"""The 2D Matryoshka study's steps, as the notebook runs them: load the evaluation sets and training pairs, train
every variant once per training seed and evaluate every (layer, dim) cell of each model right after it is trained
(one encoding of the evaluation texts per model), measure cost; returns
:class:`embedlab.study.Results`. Orchestration only: the headlines, tables, metrics, notes and the papers' panel
are :mod:`.results`."""
from __future__ import annotations

import dataclasses

import pandas as pd

from .. import encoders, memo, progress
from ..study import ConfigError, Results, metric_key
from . import results as res
from .config import Config
from .cost import cell_costs, layer_latency, search_latency
from .data import build_tasks, headline_task, training_pairs
from .grid import dim_ladder, evaluate_grid_items, over_seeds
from .losses import starbucks_diagonal
from .training import Training, fine_tune


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
    headline = headline_task(tasks, cfg.headline_task, results)
    pairs = training_pairs(cfg.train_source, cfg.train_pairs, cfg.bible_versions or ("kjv", "bbe"), cfg.seed)

    # ---- training (every variant over the training seeds), each model's grid from one encoding
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    models = {"base": enc}
    cells = {"smallest diagonal cell": diagonal[0], "full size": (enc.n_layers, enc.dim)}
    all_cells = list(dict.fromkeys([*diagonal, *cells.values(), (enc.n_layers, dims[0])]))
    progress.step(f"training {len(cfg.variants)} variants ({', '.join(cfg.variants)}) x {len(seeds)} seed(s) on "
                  f"{len(pairs)} pairs of {pairs.name}, {cfg.epochs} epoch(s), batch {cfg.batch_size}, "
                  f"{cfg.train_precision}, on {encoders.default_device()}; each model's grid at {len(layers)} x "
                  f"{len(dims)} cells on {', '.join(f'{t.name} ({len(t)})' for t in tasks)}")
    frames, items = [], {}

    def grid_of(model: encoders.Encoder) -> tuple[pd.DataFrame, dict]:
        with results.timed("grid_seconds"):
            return evaluate_grid_items(model, tasks, layers, dims, all_cells, cfg.pooling, 64, cfg.max_length,
                                       progress=False)

    def add(name: str, seed: int | None, grid_items: tuple[pd.DataFrame, dict]) -> None:
        frames.append(grid_items[0].assign(model=name, seed=seed))
        items.setdefault(name, []).append(grid_items[1])

    add("base", None, grid_of(enc))
    trainings: dict[str, list[Training]] = {v: [] for v in cfg.variants}
    for s in seeds:
        for v in cfg.variants:
            # a model trained and evaluated before (same encoder, pairs, tasks, parameters, seed, device, code)
            key, got = memo.lookup("matryoshka model", {
                "encoder": enc.cache_id, "pairs": pairs, "tasks": tasks, "config": cfg, "variant": v, "seed": s,
                "device": str(encoders.default_device())}) if enc.cache_id else (None, memo.MISSING)
            if got is memo.MISSING:
                with results.timed("train_seconds"):
                    t = fine_tune(enc, pairs, v, cfg.base_loss, cfg.pooling, cfg.epochs, cfg.batch_size,
                                  cfg.learning_rate, cfg.warmup_ratio, cfg.max_length, s, dims, cfg.layer_weighting,
                                  cfg.kl_2dmse, cfg.kl_srl, cfg.kl_weight, diagonal, precision=cfg.train_precision)
                got = memo.store(key, "matryoshka model", (dataclasses.replace(t, encoder=None), grid_of(t.encoder)))
                model = t.encoder
            else:
                progress.step(f"  {v}, seed {s}: trained and evaluated before (from the cache)")
                model = None
            t = dataclasses.replace(got[0], encoder=model if s == seeds[0] else None)
            add(v, s, got[1])
            if s == seeds[0]:
                models[v] = t.encoder  # the first seed's model is kept for the reader (None: from the cache)
            trainings[v].append(t)
            progress.step(f"  {v}, seed {s}: {len(t.losses)} steps in {t.seconds:.0f} s")
    grid_seeds = pd.concat(frames, ignore_index=True)
    grid = over_seeds(grid_seeds)

    # ---- cost
    latency = layer_latency(enc, headline.texts_a[:cfg.latency_texts], layers, max_length=cfg.max_length,
                            repeats=cfg.latency_repeats)
    search = search_latency(dims, n_index=10_000, seed=cfg.seed)
    costs = cell_costs(latency, search)

    # ---- tables, headlines, flags, papers, metrics
    train_tab = results.add_table("training", res.training_table(trainings))
    for v, runs in trainings.items():
        for t in runs:
            results.check_loss(metric_key("train", v, None if len(runs) == 1 else f"seed{t.config['seed']}",
                                          "last-full"), t.term("last-full"))
    results.add_table("grid", grid)
    results.add_table("grid_per_seed", grid_seeds)
    results.add_table("cell_costs", costs)
    at_cells = results.add_table("headline_cells",
                                 res.declare_headlines(results, headline, items, list(models), cells, cfg.seed))
    results.add_table("diagonal", res.diagonal_table(headline, items, list(models), diagonal, cfg.seed))
    if "2dmse" in trainings:
        results.add_table("2dmse_draws", res.draw_table(trainings["2dmse"]))
    published = res.papers(results, cfg, enc, diagonal, at_cells, headline, pairs)
    res.record_metrics(results, enc, dims, diagonal, grid, train_tab, trainings, latency)
    results.extra = dict(encoder=enc, layers=layers, dims=dims, diagonal=diagonal, tasks=tasks, headline=headline,
                         pairs=pairs, trainings=trainings, models=models, grid=grid, items=items, latency=latency,
                         search=search, costs=costs, cells=cells, published=published,
                         comparisons=res.comparison_pairs(list(models)),
                         draw_summary=res.draw_summary(trainings["2dmse"]) if "2dmse" in trainings else "")
    return results
