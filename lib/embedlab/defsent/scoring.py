"""Scoring one embedding space: the pooled last layer of every evaluation text from one pass, DefSent's headword
prediction over the vocabulary through the tied prediction layer, headword / paraphrase / translation retrieval
(reciprocal ranks), STS and word similarity (cosines), isotropy, and nearest-headword examples. Every score is kept
per item, so differences between spaces get paired bootstrap intervals; a trained variant's spaces over its training
seeds form a :class:`SeedGroup`, whose intervals resample seeds, then items."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from .. import encoders, stats
from ..encoders import Encoder
from ..evaluate.sentence import cosine_pairs, isotropy, retrieval_ranks
from .data import EvalData
from .targets import TiedPredictionLayer

TOP_K = 10  # DefSent's def2word MRR is MRR@10 (experiments/src/evaluation/def2word.py: ranks within the top 10)


def embed_poolings(encoder: Encoder, texts: Sequence[str], poolings: Sequence[str], max_length: int,
                   desc: str) -> dict[str, np.ndarray]:
    """Several poolings of the last layer from one pass: ``{pooling: [N, H]}``; mean/max over every token, special
    tokens included (both authors' encoders)."""
    inputs = [encoder.query_prefix + t for t in texts]
    out = {p: np.zeros((len(inputs), encoder.dim), dtype=np.float32) for p in poolings}
    for idx, batch, states in encoders.hidden_state_batches(encoder, inputs, [encoder.n_layers], 64, max_length,
                                                            desc=desc):
        for p in poolings:
            out[p][idx] = encoders.pool(states[0], batch["attention_mask"], p).float().numpy()
    return out


@torch.no_grad()
def vocabulary_ranks(layer: TiedPredictionLayer, embeddings: np.ndarray, token_ids: Sequence[int], top: int = 5,
                     batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """DefSent's ranking over the whole vocabulary: 1-based rank of each gold token, and the ``top`` token ids."""
    device = layer.weight.device
    gold = torch.tensor(np.array(token_ids), dtype=torch.long, device=device)
    ranks, tops = [], []
    for s in range(0, len(embeddings), batch_size):
        logits = layer(torch.as_tensor(embeddings[s:s + batch_size], device=device))
        target = logits.gather(1, gold[s:s + batch_size, None])
        ranks.append(((logits > target).sum(1) + 1).cpu().numpy())
        tops.append(logits.topk(top, dim=1).indices.cpu().numpy())
    return np.concatenate(ranks), np.concatenate(tops)


def reciprocal_rank_at(ranks: np.ndarray, k: int | None = TOP_K) -> np.ndarray:
    """Per-item reciprocal rank; beyond the top ``k`` it scores 0 (``k=None``: no cut-off)."""
    ranks = np.asarray(ranks, dtype=float)
    rr = 1.0 / ranks
    return rr if k is None else np.where(ranks <= k, rr, 0.0)


@dataclasses.dataclass
class Scores:
    """Per-item scores of one space on one task: ``rr`` (reciprocal ranks, mean = MRR) or ``cos`` (similarities
    whose Spearman with ``gold`` is the metric)."""

    kind: str
    values: np.ndarray
    gold: np.ndarray | None = None
    ranks: np.ndarray | None = None

    @property
    def value(self) -> float:
        """The task's metric x100: MRR or Spearman."""
        if self.kind == "rr":
            return float(self.values.mean() * 100)
        return float(stats.spearman(self.values, self.gold) * 100)

    def ci(self, seed: int = 0) -> tuple[float, float]:
        lo, hi = (stats.mean_ci(self.values, seed=seed) if self.kind == "rr"
                  else stats.spearman_ci(self.values, self.gold, seed=seed))
        return lo * 100, hi * 100

    def diff_ci(self, other: "Scores", seed: int = 0) -> tuple[float, float]:
        """Paired interval of self - other (same items)."""
        lo, hi = (stats.paired_mean_diff_ci(self.values, other.values, seed=seed) if self.kind == "rr"
                  else stats.paired_spearman_diff_ci(self.values, other.values, self.gold, seed=seed))
        return lo * 100, hi * 100


# task -> (metric label, chance level x100 or None)
TASK_METRIC = {"def2word-vocab": "MRR@10", "def2word-tied": "MRR@10", "def2word-vocab-seen": "MRR@10",
               "def2word-tied-seen": "MRR@10", "def2word-headwords": "MRR@10", "paraphrase": "MRR", "sts": "Spearman",
               "word-similarity": "Spearman"}


def evaluate_space(emb: np.ndarray, data: EvalData, layer: TiedPredictionLayer | None,
                   n_examples: int = 8, vocab_task: str = "def2word-vocab"
                   ) -> tuple[dict[str, Scores], dict[str, float], pd.DataFrame]:
    """Every task of one embedding space (``emb`` rows follow ``data.texts()``): per-item scores by task name,
    isotropy numbers, and example rows. ``layer``: held-out headwords are ranked over the vocabulary through it,
    scored as ``vocab_task`` (``def2word-vocab`` through an MLM head; ``def2word-tied`` through the bare
    token-embedding matrix, DefSent's objective for an encoder without a head)."""
    row = {t: i for i, t in enumerate(data.texts())}

    def E(texts: Sequence[str]) -> np.ndarray:
        return emb[[row[t] for t in texts]]

    out: dict[str, Scores] = {}
    tops = np.zeros((0, 5), dtype=int)
    if len(data.vocab) and layer is not None:
        ranks, tops = vocabulary_ranks(layer, E(data.vocab.definition), data.vocab.token_id)
        out[vocab_task] = Scores("rr", reciprocal_rank_at(ranks), ranks=ranks)
    if len(data.seen) and layer is not None:  # the same ranking for training headwords: memorised vs generalised
        ranks, _ = vocabulary_ranks(layer, E(data.seen.definition), data.seen.token_id)
        out[f"{vocab_task}-seen"] = Scores("rr", reciprocal_rank_at(ranks), ranks=ranks)
    cands = data.candidates
    gold = pd.Index(cands).get_indexer(data.heads.headword)
    ranks = retrieval_ranks(E(data.heads.definition), E(cands), gold)
    out["def2word-headwords"] = Scores("rr", reciprocal_rank_at(ranks), ranks=ranks)
    for name, df in data.sts.items():
        out[f"sts.{name}"] = Scores("cos", cosine_pairs(E(df.s1), E(df.s2)), np.asarray(df.score, float))
    for name, df in data.paraphrase.items():
        ranks = retrieval_ranks(E(df.s1), E(df.s2))
        out[f"paraphrase.{name}"] = Scores("rr", reciprocal_rank_at(ranks, None), ranks=ranks)
    for name, df in data.word_similarity.items():
        out[f"word-similarity.{name}"] = Scores("cos", cosine_pairs(E(df.w1), E(df.w2)), np.asarray(df.score, float))
    iso = isotropy(E(data.isotropy_texts))
    return out, iso, _examples(data, tops[:n_examples], E, cands, layer, n_examples)


def _examples(data: EvalData, tops: np.ndarray, E, cands: list[str], layer, n: int) -> pd.DataFrame:
    ex = data.heads.head(n)
    cols = ["headword", "definition", "nearest held-out headwords"]
    if ex.empty:
        return pd.DataFrame(columns=cols)
    sims = E(ex.definition) @ E(cands).T / np.outer(np.linalg.norm(E(ex.definition), axis=1),
                                                      np.linalg.norm(E(cands), axis=1)).clip(1e-12)
    near = [", ".join(cands[j] for j in np.argsort(-s)[:3]) for s in sims]
    return ex[["headword", "definition"]].assign(**{"nearest held-out headwords": near}).reset_index(drop=True)


def task_kind(task: str) -> str:
    """The evaluation a task name belongs to (``sts.stsb`` -> ``sts``)."""
    return task.split(".")[0]



@dataclasses.dataclass
class Space:
    """One evaluated embedding space: a variant (with its PST stage) at one pooling."""

    variant: str
    pooling: str
    scores: dict[str, Scores]
    isotropy: dict[str, float]
    stage: int | None = None
    seed: int | None = None  # the training seed (None: the base encoder, nothing trained)

    @property
    def label(self) -> str:
        name = {"base": "base", "defsent": "DefSent", "defsent+": "DefSent+"}[self.variant]
        return f"{name} {self.pooling}" + (f" (PST stage {self.stage})" if self.stage else "")


def _stat(kind: str, zero_reference: bool = False):
    """The per-run statistic of a task kind (x1): the mean reciprocal rank (``None``: the default), or Spearman with
    the gold scores; ``zero_reference``: a constant prediction (the zero side of :meth:`SeedGroup.ci`) counts 0."""
    if kind == "rr":
        return None
    if zero_reference:
        return lambda x, gold: stats.spearman(x, gold) if np.ptp(x) > 0 else 0.0
    return stats.spearman


@dataclasses.dataclass
class SeedGroup:
    """One variant at one pooling (and PST stage) over its training seeds: the spaces share items, so the value is
    the mean over seeds and intervals come from :func:`embedlab.stats.seeded_diff_ci` (seeds, then items; with one
    seed, the paired item bootstrap)."""

    spaces: list[Space]

    def __post_init__(self) -> None:
        if not self.spaces:
            raise ValueError("a seed group needs at least one space")

    variant = property(lambda self: self.spaces[0].variant)
    pooling = property(lambda self: self.spaces[0].pooling)
    stage = property(lambda self: self.spaces[0].stage)
    label = property(lambda self: self.spaces[0].label)

    @property
    def seeds(self) -> int | None:
        """Training seeds behind the group (None: the base encoder)."""
        return None if self.variant == "base" else len(self.spaces)

    @property
    def tasks(self) -> list[str]:
        """Tasks scored in every seed's space, in the first space's order."""
        return [t for t in self.spaces[0].scores if all(t in sp.scores for sp in self.spaces)]

    def values(self, task: str) -> list[float]:
        """Each seed's value of ``task`` (x100)."""
        return [sp.scores[task].value for sp in self.spaces]

    def value(self, task: str) -> float:
        """The mean over seeds of ``task`` (x100)."""
        return float(np.mean(self.values(task)))

    def n(self, task: str) -> int:
        """Items scored on ``task`` (the same for every seed)."""
        return len(self.spaces[0].scores[task].values)

    def kind(self, task: str) -> str:
        """``rr`` (reciprocal ranks) or ``cos`` (similarities scored by Spearman)."""
        return self.spaces[0].scores[task].kind

    def isotropy(self) -> dict[str, float]:
        """Each isotropy number, averaged over seeds."""
        return {m: float(np.mean([sp.isotropy[m] for sp in self.spaces])) for m in self.spaces[0].isotropy}

    def _runs(self, task: str) -> tuple[list[np.ndarray], tuple]:
        first = self.spaces[0].scores[task]
        return [sp.scores[task].values for sp in self.spaces], (() if first.gold is None else (first.gold,))

    def ci(self, task: str, seed: int = 0) -> tuple[float, float]:
        """95% interval of :meth:`value` (x100): the difference from a zero reference, seeds then items resampled."""
        runs, shared = self._runs(task)
        zero = [np.zeros(len(runs[0]))]
        lo, hi = stats.seeded_diff_ci(runs, zero, _stat(self.kind(task), zero_reference=True), seed=seed,
                                      shared=shared)
        return lo * 100, hi * 100

    def diff(self, other: "SeedGroup", task: str, seed: int = 0) -> tuple[float, tuple[float, float], list[float]]:
        """``self - other`` on ``task`` (x100): the mean difference, its hierarchical 95% interval, and each seed's
        difference (every seed of ``self`` against the mean of ``other``)."""
        a, shared = self._runs(task)
        b, _ = other._runs(task)
        lo, hi = stats.seeded_diff_ci(a, b, _stat(self.kind(task)), seed=seed, shared=shared)
        ref = other.value(task)
        return self.value(task) - ref, (lo * 100, hi * 100), [v - ref for v in self.values(task)]


def seed_groups(spaces: Sequence[Space]) -> list[SeedGroup]:
    """The spaces grouped by variant, pooling and PST stage (their training seeds), in order of first appearance."""
    groups: dict[tuple, list[Space]] = {}
    for sp in spaces:
        groups.setdefault((sp.variant, sp.pooling, sp.stage), []).append(sp)
    return [SeedGroup(g) for g in groups.values()]
