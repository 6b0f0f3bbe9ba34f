"""Cost per cell: measured encoding latency by layer depth, search latency and memory by embedding width."""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from torch import nn

from .. import encoders
from ..evaluate.sentence import retrieval_ranks
from .grid import check_cells


def _layer_list(model: nn.Module) -> tuple[nn.Module, str]:
    """The module holding the Transformer layers as an ``nn.ModuleList`` (e.g. ``encoder.layer``)."""
    n = model.config.num_hidden_layers
    for name, module in model.named_modules():
        for attr, child in module.named_children():
            if isinstance(child, nn.ModuleList) and len(child) == n:
                return module, attr
    raise ValueError(f"cannot find the {n} Transformer layers of {type(model).__name__}")


@contextlib.contextmanager
def truncated(encoder: encoders.Encoder, n_layers: int):
    """Temporarily keep only the first ``n_layers`` Transformer layers (a shallower model, for timing)."""
    if not 1 <= n_layers <= encoder.n_layers:
        raise ValueError(f"layer {n_layers} out of range for {encoder.name}: allowed 1 to {encoder.n_layers}")
    parent, attr = _layer_list(encoder.model)
    full, config_n = getattr(parent, attr), encoder.model.config.num_hidden_layers
    setattr(parent, attr, full[:n_layers])
    encoder.model.config.num_hidden_layers = n_layers
    try:
        yield encoder
    finally:
        setattr(parent, attr, full)
        encoder.model.config.num_hidden_layers = config_n


def layer_latency(encoder: encoders.Encoder, texts: Sequence[str], layers: Sequence[int] | None = None,
                  batch_size: int = 64, max_length: int = 64, repeats: int = 3) -> pd.DataFrame:
    """Measured encoding time of ``texts`` by the model cut after each layer (best of ``repeats``)."""
    layers, _ = check_cells(encoder, layers, [encoder.dim])
    if len(texts) == 0:
        raise ValueError("no texts to time")
    rows = []
    for l in layers:
        with truncated(encoder, l):
            best = min(_timed(lambda: encoders.sentence_embeddings(
                encoder, texts, [l], "mean", batch_size, max_length, progress=False)) for _ in range(repeats))
        rows.append((l, best, 1000 * best / len(texts)))
    return pd.DataFrame(rows, columns=["layer", "seconds", "ms_per_text"])


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def search_latency(dims: Sequence[int], n_index: int = 10_000, n_queries: int = 100, repeats: int = 3,
                   seed: int = 0) -> pd.DataFrame:
    """Measured brute-force cosine top-1 search time per query over ``n_index`` vectors of each size."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in dims:
        index = rng.standard_normal((n_index, d)).astype(np.float32)
        queries = rng.standard_normal((n_queries, d)).astype(np.float32)
        best = min(_timed(lambda: retrieval_ranks(queries, index, np.zeros(n_queries, int))) for _ in range(repeats))
        rows.append((d, 1000 * best / n_queries, d * 4, n_index * d * 4 / 2**20))
    return pd.DataFrame(rows, columns=["dim", "search_ms_per_query", "bytes_per_vector", "index_mib"])


def cell_costs(latency: pd.DataFrame, search: pd.DataFrame) -> pd.DataFrame:
    """Cost of every (layer, dim) cell: encoding ms per text (by depth), search ms and bytes (by width)."""
    return latency[["layer", "ms_per_text"]].merge(search, how="cross")


def pareto_frontier(cells: pd.DataFrame, costs: Sequence[str], quality: str = "value") -> pd.DataFrame:
    """Cells no other cell beats: none is at least as cheap on every cost and at least as good, and better once."""
    x, q = cells[list(costs)].to_numpy(float), cells[quality].to_numpy(float)
    keep = []
    for i in range(len(cells)):
        le, ge = (x <= x[i]).all(1), q >= q[i]
        strict = (x < x[i]).any(1) | (q > q[i])
        keep.append(not (le & ge & strict).any())
    return cells[np.array(keep, bool)].sort_values(list(costs)).reset_index(drop=True)
