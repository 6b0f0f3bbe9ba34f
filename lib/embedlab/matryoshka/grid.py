"""Metrics at every (layer, leading dims) cell from one encoding: all layers come from one forward pass
per batch, and truncation and cosine scoring happen on the stored embeddings."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .. import encoders, papers
from ..evaluate.sentence import retrieval_metrics, retrieval_ranks, sts_spearman
from .data import GridTask, _check

POOLINGS = ("mean", "cls")


def dim_ladder(full_dim: int, smallest: int = 8) -> list[int]:
    """Geometric ladder of leading dimensions: ``smallest, 2*smallest, ...`` below ``full_dim``, then ``full_dim``."""
    if not 1 <= smallest <= full_dim:
        raise ValueError(f"smallest dimension {smallest} out of range: allowed 1 to {full_dim}")
    dims, d = [], smallest
    while d < full_dim:
        dims.append(d)
        d *= 2
    return dims + [full_dim]


def check_cells(encoder: encoders.Encoder, layers: Sequence[int] | None = None,
                dims: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
    """Validate grid layers (default 1..L) and leading dimensions (default :func:`dim_ladder`)."""
    layers = list(range(1, encoder.n_layers + 1)) if layers is None else encoder.check_layers(layers)
    dims = dim_ladder(encoder.dim) if dims is None else [int(d) for d in dims]
    bad = [d for d in dims if not 1 <= d <= encoder.dim]
    if bad:
        raise ValueError(f"dimension(s) {bad} out of range for {encoder.name}: allowed 1 to {encoder.dim}")
    if not layers or not dims:
        raise ValueError(f"empty grid: layers={layers}, dims={dims}")
    return layers, sorted(set(dims))


def score_cells(emb_a: np.ndarray, emb_b: np.ndarray, task: GridTask, dims: Sequence[int]) -> dict[str, np.ndarray]:
    """``{metric: [n_layers, n_dims]}`` from embeddings ``[n_layers, N, H]`` truncated to each leading ``d``."""
    out = {m: np.zeros((emb_a.shape[0], len(dims))) for m in task.metrics}
    for j, d in enumerate(dims):
        if task.kind == "sts":
            out["spearman"][:, j] = sts_spearman(emb_a[..., :d], emb_b[..., :d], task.gold)
            continue
        for i in range(emb_a.shape[0]):
            m = retrieval_metrics(retrieval_ranks(emb_a[i, :, :d], emb_b[i, :, :d]), ks=(1,))
            out["mrr"][i, j], out["recall@1"][i, j] = m["mrr"], m["recall@1"]
    return out


def evaluate_grid(encoder: encoders.Encoder, tasks: Sequence[GridTask], layers: Sequence[int] | None = None,
                  dims: Sequence[int] | None = None, pooling: str = "mean", batch_size: int = 64,
                  max_length: int = 64, progress: bool = True) -> pd.DataFrame:
    """Every task's metrics at every (layer, leading dims) cell from one encoding of the distinct texts.

    Returns a long table: task, metric, layer, dim, value.
    """
    return evaluate_grid_items(encoder, tasks, layers, dims, (), pooling, batch_size, max_length, progress)[0]


def evaluate_grid_items(encoder: encoders.Encoder, tasks: Sequence[GridTask], layers: Sequence[int] | None = None,
                        dims: Sequence[int] | None = None, cells: Sequence[tuple[int, int]] = (),
                        pooling: str = "mean", batch_size: int = 64, max_length: int = 64,
                        progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """:func:`evaluate_grid` plus per-item scores at ``cells`` for intervals and paired differences:
    ``{(task, layer, dim): array}`` holding each query's reciprocal rank x100 (retrieval; its mean is the MRR) or
    each pair's cosine (sts; Spearman against the task's gold)."""
    _check("pooling", pooling, POOLINGS)
    layers, dims = check_cells(encoder, layers, dims)
    if not tasks:
        raise ValueError("no evaluation tasks given")
    index = {t: i for i, t in enumerate(dict.fromkeys(x for task in tasks for x in task.texts_a + task.texts_b))}
    emb = encoders.sentence_embeddings(encoder, list(index), layers, pooling, batch_size, max_length, progress=progress)
    rows, items = [], {}
    for task in tasks:
        a = emb[:, [index[t] for t in task.texts_a]]
        b = emb[:, [index[t] for t in task.texts_b]]
        for metric, grid in score_cells(a, b, task, dims).items():
            rows += [(task.name, metric, l, d, float(grid[i, j]))
                     for i, l in enumerate(layers) for j, d in enumerate(dims)]
        for l, d in cells:
            if l in layers:
                items[(task.name, l, d)] = item_scores(a[layers.index(l), :, :d], b[layers.index(l), :, :d], task)
    return pd.DataFrame(rows, columns=["task", "metric", "layer", "dim", "value"]), items


def item_scores(emb_a: np.ndarray, emb_b: np.ndarray, task: GridTask) -> np.ndarray:
    """Per-item scores of one cell: reciprocal rank x100 per query (retrieval) or cosine per pair (sts)."""
    if task.kind == "retrieval":
        return 100.0 / retrieval_ranks(emb_a, emb_b)
    a = emb_a / np.maximum(np.linalg.norm(emb_a, axis=1, keepdims=True), 1e-12)
    b = emb_b / np.maximum(np.linalg.norm(emb_b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(1)


def evaluate_models(models: dict[str, encoders.Encoder], tasks: Sequence[GridTask], **kw) -> pd.DataFrame:
    """:func:`evaluate_grid` for several encoders; adds a ``model`` column."""
    return pd.concat([evaluate_grid(enc, tasks, **kw).assign(model=name) for name, enc in models.items()],
                     ignore_index=True)


def over_seeds(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Each model's cells averaged over its training seeds (rows with a ``seed`` column, one per seed), with the
    seeds' standard deviation (``seed_sd``, ddof 1; NaN for one run) and their count (``seeds``)."""
    keys = ["model", "task", "metric", "layer", "dim"]
    return per_seed.groupby(keys, sort=False)["value"].agg(value="mean", seed_sd="std", seeds="count").reset_index()


def grid_table(grid: pd.DataFrame, task: str, metric: str, model: str | None = None) -> pd.DataFrame:
    """One metric as a layer x dim table (rows: layers, columns: dims)."""
    sel = grid[(grid.task == task) & (grid.metric == metric)]
    if model is not None:
        sel = sel[sel.model == model]
    if sel.empty:
        raise ValueError(f"no cells for task={task!r}, metric={metric!r}, model={model!r}; tasks: "
                         f"{sorted(grid.task.unique())}, metrics: {sorted(grid.metric.unique())}")
    return sel.pivot_table(index="layer", columns="dim", values="value")


def headline_metrics(grid: pd.DataFrame, cells: dict[str, tuple[int, int]]) -> dict[str, float]:
    """Flat ``{model/task/metric@cellname: value}`` for ``report.record``."""
    out = {}
    for (model, task, metric), g in grid.groupby(["model", "task", "metric"], sort=False):
        values = g.set_index(["layer", "dim"])["value"]
        for cell_name, cell in cells.items():
            if cell in values.index:
                out[f"{model}/{task}/{metric}@{cell_name}"] = round(float(values[cell]), 4)
        out[f"{model}/{task}/{metric}@grid-mean"] = round(float(values.mean()), 4)
    return out


def beside_papers(grid: pd.DataFrame, cells: Sequence[tuple[int, int]], task: str, metric: str, setting: dict,
                  study: str = "matryoshka") -> pd.DataFrame:
    """Our values at ``cells`` (one row per model and cell) beside the papers' published value where their
    setting (e.g. ``backbone``, ``train``) and the task, variant and cell match; theirs is labelled as such."""
    keys = pd.DataFrame(list(cells), columns=["layer", "dim"]).drop_duplicates()
    ours = grid[(grid.task == task) & (grid.metric == metric)].merge(keys, on=["layer", "dim"])
    ours = ours.rename(columns={"model": "variant", "value": "ours"})[["variant", "layer", "dim", "ours"]]
    theirs = papers.paper_figures(study)
    for column, value in {**setting, "task": task}.items():
        theirs = theirs[theirs[column] == value] if column in theirs.columns else theirs.iloc[0:0]
    if theirs.empty:
        return ours.assign(**{"published (paper)": np.nan, "published in": None})
    return papers.side_by_side(ours, theirs, on=["variant", "layer", "dim"])
