"""The 2D Matryoshka study's steps, as the notebook runs them: load the evaluation sets and training pairs, train
the variants, evaluate every (layer, dim) cell of every model, measure cost; returns
:class:`embedlab.study.Results`. Orchestration only: the headlines, tables, metrics, notes and the papers' panel
are :mod:`.results`."""
from __future__ import annotations

import pandas as pd

from .. import encoders, progress
from ..study import ConfigError, Results
from . import results as res
from .config import Config
from .cost import cell_costs, layer_latency, search_latency
from .data import build_tasks, headline_task, training_pairs
from .grid import dim_ladder, evaluate_grid_items
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

    # ---- training
    progress.step(f"training {len(cfg.variants)} variants ({', '.join(cfg.variants)}) on {len(pairs)} pairs of "
                  f"{pairs.name}, {cfg.epochs} epoch(s), batch {cfg.batch_size}, on {encoders.default_device()}")
    trainings: dict[str, Training] = {}
    with results.timed("train_seconds"):
        for v in cfg.variants:
            trainings[v] = fine_tune(enc, pairs, v, cfg.base_loss, cfg.pooling, cfg.epochs, cfg.batch_size,
                                     cfg.learning_rate, cfg.warmup_ratio, cfg.max_length, cfg.seed, dims,
                                     cfg.layer_weighting, cfg.kl_2dmse, cfg.kl_srl, cfg.kl_weight, diagonal)
            progress.step(f"  {v}: {len(trainings[v].losses)} steps in {trainings[v].seconds:.0f} s")

    # ---- every cell of every model
    models = {"base": enc, **{v: t.encoder for v, t in trainings.items()}}
    cells = {"smallest diagonal cell": diagonal[0], "full size": (enc.n_layers, enc.dim)}
    all_cells = list(dict.fromkeys([*diagonal, *cells.values(), (enc.n_layers, dims[0])]))
    progress.step(f"evaluating {len(models)} models at {len(layers)} x {len(dims)} cells on "
                  f"{', '.join(f'{t.name} ({len(t)})' for t in tasks)}")
    with results.timed("grid_seconds"):
        frames, items = [], {}
        for name, model in progress.bar(list(models.items()), desc="grids", unit="model"):
            g, it = evaluate_grid_items(model, tasks, layers, dims, all_cells, cfg.pooling, 64, cfg.max_length,
                                        progress=False)
            frames.append(g.assign(model=name))
            items[name] = it
        grid = pd.concat(frames, ignore_index=True)

    # ---- cost
    latency = layer_latency(enc, headline.texts_a[:cfg.latency_texts], layers, max_length=cfg.max_length,
                            repeats=cfg.latency_repeats)
    search = search_latency(dims, n_index=10_000, seed=cfg.seed)
    costs = cell_costs(latency, search)

    # ---- tables, headlines, flags, papers, metrics
    train_tab = results.add_table("training", res.training_table(trainings))
    for v, t in trainings.items():
        results.check_loss(f"train/{v}/last-full", t.term("last-full"))
    results.add_table("grid", grid)
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
