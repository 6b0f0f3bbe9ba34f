"""Training seeds: the trained static models and X2Static over ``static_seeds`` seeds, the taggers and classifiers
over ``seeds`` seeds (seed i is ``cfg.seed + i``), and every evaluation with a ``seed`` column, so that the results
resample seeds and then items (:func:`embedlab.stats.seeded_diff_ci`).

A tagger looks up the run's words and, from an embedding that can embed any word, the other tagging words too
(:func:`lookup_runs`). A tagger or classifier of seed i reads the trained embeddings of static seed
``i % static_seeds``. Embeddings that
nothing trains (decontextualized, aggregate, input layer) are the same at every static seed, so their analogy and
similarity scores are computed once (seed 0); a classifier's seed draws its cross-validation folds anew over the
same texts (a repeated cross-validation).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from .. import progress, static, stats
from ..evaluate import classification
from .config import Config
from .steps import TRAINED, analogy_items, encoder_embeddings, evaluate_tagging, similarity_items, train_static_models

Run = dict[str, KeyedVectors]
#: extraction methods that embed any word (the word alone through the encoder, or its subword input rows)
WORDS_ALONE = ("decontext-cls", "decontext-mean", "input-layer")


def is_trained(name: str, kinds: Mapping[str, str]) -> bool:
    """Whether an embedding is trained (a static model or X2Static): it changes with the training seed."""
    return kinds.get(name) == TRAINED or name.split("/")[-1].split("@")[0] == "x2static"


def seed_runs(inputs, cfg: Config, results, embs: Run, kinds: Mapping[str, str]) -> tuple[list[Run], list[Run]]:
    """``runs[i]``: every embedding at static seed ``cfg.seed + i`` (``runs[0]`` is ``embs``); the trained ones are
    built again for each further seed (timing ``build/more-seeds``), the others shared. All are restricted to the
    words every run has. Also each seed's fastText vectors of the tagging words outside the vocabulary (seed 0:
    ``results.extra["lookup"]``, from the main build)."""
    runs, lookups = [dict(embs)], [dict(results.extra.get("lookup") or {})]
    for i in range(1, cfg.static_seeds):
        c = cfg.replace(seed=cfg.seed + i)
        progress.step(f"static seed {c.seed}: {', '.join(cfg.static_models)} and X2Static again ...")
        with results.timed("build/more-seeds"):
            got = train_static_models(inputs.corpus.sentences, c)
            if "x2static" in cfg.methods and inputs.encoders:
                got.update(encoder_embeddings(inputs.encoders, inputs.vocab, inputs.corpus.sentences, c,
                                              methods=["x2static"], surface=inputs.corpus.surface,
                                              surface_words=inputs.surface_words))
        runs.append({k: got.get(k, kv) if is_trained(k, kinds) else kv for k, kv in embs.items()})
        lookups.append({k: static.within(kv, inputs.lookup) for k, kv in got.items()
                        if k in lookups[0] and inputs.lookup})
    if len(runs) == 1:
        return runs, lookups
    words = list(next(iter(embs.values())).index_to_key)
    common = static.common_vocabulary({f"{i}|{k}": kv for i, run in enumerate(runs) for k, kv in run.items()}, words)
    done: dict[int, KeyedVectors] = {}

    def once(name: str, kv: KeyedVectors) -> KeyedVectors:      # an embedding shared by several runs: once
        if id(kv) not in done:
            done[id(kv)] = static.restrict(kv, common, name)
        return done[id(kv)]

    return [{k: once(k, kv) for k, kv in run.items()} for run in runs], lookups


def lookup_runs(inputs, cfg: Config, lookups: list[Run]) -> list[Run]:
    """Each static seed's vectors of the tagging words outside the vocabulary, from the embeddings that embed any
    word: fastText (``lookups``, from its character n-grams) and every encoder's words-alone methods (the words as
    written in the tagging sentences; the same at every seed)."""
    methods = [m for m in cfg.methods if m in WORDS_ALONE]
    if not (inputs.lookup and methods and inputs.encoders):
        return lookups
    progress.step(f"{', '.join(methods)} of {len(inputs.lookup):,} tagging words outside the vocabulary ...")
    alone = encoder_embeddings(inputs.encoders, inputs.lookup, None, cfg, methods=methods,
                               surface_words=inputs.lookup_surface)
    return [{**lk, **alone} for lk in lookups]


def with_lookup(run: Run, lookup: Run) -> Run:
    """Each embedding with its vectors of the extra words appended (the tagger's table); the others as they are."""
    out = {}
    for name, kv in run.items():
        extra = lookup.get(name)
        if extra is None or not len(extra):
            out[name] = kv
            continue
        keep = [w for w in extra.index_to_key if w not in kv.key_to_index]
        table = KeyedVectors(vector_size=kv.vector_size)
        table.add_vectors(list(kv.index_to_key) + keep, np.vstack([kv.vectors, extra[keep]]).astype(np.float32)
                          if keep else kv.vectors)
        out[name] = table
    return out


def per_seed(runs: Sequence[Run], kinds: Mapping[str, str]) -> list[Run]:
    """What each static seed adds: everything at seed 0, only the trained embeddings after it."""
    return [run if i == 0 else {k: kv for k, kv in run.items() if is_trained(k, kinds)} for i, run in enumerate(runs)]


def candidate_words(inputs, embs: Run) -> list[str]:
    """The analogy candidates every embedding has (the first ``analogy_candidates`` words of the shared vocabulary)."""
    have = next(iter(embs.values())).key_to_index
    return [w for w in inputs.candidates if w in have]


def analogy_runs(runs: Sequence[Run], kinds: Mapping[str, str], aset, candidates: Sequence[str], cfg: Config
                 ) -> pd.DataFrame:
    """Per static seed, :func:`.steps.analogy_items` with every embedding restricted to the ``candidates``: a
    question with a word outside them is unanswered and scores 0 (gensim's ``restrict_vocab``); a ``seed`` column."""
    every = np.ones(len(aset), dtype=bool)
    frames = [analogy_items({k: static.within(kv, candidates) for k, kv in run.items()}, aset, cfg, restrict=every)
              .assign(seed=i) for i, run in enumerate(per_seed(runs, kinds)) if run]
    return pd.concat(frames, ignore_index=True)


def similarity_runs(runs: Sequence[Run], kinds: Mapping[str, str], sset) -> list[pd.DataFrame]:
    """Per static seed, :func:`.steps.similarity_items` (the trained embeddings' cosines after seed 0)."""
    return [similarity_items(run, sset)[0] for run in per_seed(runs, kinds) if run]


def tagging_runs(runs: Sequence[Run], sets, cfg: Config, lookups: Sequence[Run] = ()) -> tuple[pd.DataFrame,
                                                                                                pd.DataFrame]:
    """:func:`.steps.evaluate_tagging` for each of ``seeds`` tagger seeds (tagger seed i on static seed
    ``i % static_seeds``, each embedding with its ``lookups`` words, :func:`with_lookup`): the table and per-token
    frames with a ``seed`` column."""
    tables, tokens = [], []
    for i in range(cfg.seeds):
        run = runs[i % len(runs)]
        if lookups:
            run = with_lookup(run, lookups[i % len(lookups)])
        t, tok = evaluate_tagging(run, sets, cfg.replace(seed=cfg.seed + i))
        tables.append(t.assign(seed=i))
        tokens.append(tok.assign(seed=i))
    return (pd.concat(tables, ignore_index=True), pd.concat(tokens, ignore_index=True)) if sets["tagging"] else \
        (pd.DataFrame(), pd.DataFrame())


def classification_runs(runs: Sequence[Run], sets, cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified k-fold cross-validation (:func:`embedlab.evaluate.classification.cross_validate`) over the same
    texts for each of ``seeds`` fold draws (seed i on static seed ``i % static_seeds``): the summaries and the
    per-text predictions with a ``seed`` column."""
    sums, preds = [], []
    for ds in sets["classification"].values():
        progress.step(f"classification {ds.name}: {cfg.classification_folds}-fold CV x {cfg.seeds} seeds ...")
        for i in range(cfg.seeds):
            scores, pred = classification.cross_validate(runs[i % len(runs)], ds, cfg.classification_folds,
                                                         cfg.compressed_dim, cfg.seed,
                                                         max_texts=cfg.max_classification_texts,
                                                         split_seed=cfg.seed + i)
            sums.append(classification.cv_summary(scores, pred, cfg.seed).assign(seed=i))
            preds.append(pred.assign(seed=i))
    if not sums:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(sums, ignore_index=True), pd.concat(preds, ignore_index=True)


# --------------------------------------------------------------------------- per-seed arrays and their intervals

def seed_arrays(frame: pd.DataFrame, value: str, order: Sequence[str]) -> list[np.ndarray]:
    """One array of ``value`` per seed (the ``seed`` column, ascending), items sorted by ``order`` so that every
    seed's and every embedding's arrays align."""
    if "seed" not in frame:
        return [frame.sort_values(list(order))[value].to_numpy(float)]
    return [g.sort_values(list(order))[value].to_numpy(float) for _, g in frame.groupby("seed", sort=True)]


def seeded_value(runs: Sequence, clusters=None, stat=None, reference_run=None, reference_value: float = 0.0
                 ) -> tuple[float, tuple[float, float], list[float]]:
    """A statistic's mean over training seeds, its interval resampling seeds then items (or ``clusters``), and its
    value per seed. The interval is :func:`embedlab.stats.seeded_diff_ci` of the runs against ``reference_run``, a
    run whose statistic is the known constant ``reference_value`` (zeros for a mean; the gold labels for an F1 or
    a correlation with gold, which is 1), shifted back by that constant."""
    runs = [r if isinstance(r, tuple) else (r,) for r in runs]
    stat = stat or stats.mean_stat
    per = [float(stat(*r)) if len(r[0]) else float("nan") for r in runs]
    ref = reference_run if reference_run is not None else (np.zeros(len(runs[0][0])),)
    lo, hi = stats.seeded_diff_ci(runs, [ref], stat=stat, clusters=clusters)
    return float(np.mean(per)), (lo + reference_value, hi + reference_value), per


def per_seed_diffs(a_runs: Sequence, b_runs: Sequence, stat=None) -> list[float]:
    """The difference of each seed (a side with one run is paired with every seed of the other)."""
    stat = stat or stats.mean_stat
    a = [stat(*(r if isinstance(r, tuple) else (r,))) for r in a_runs]
    b = [stat(*(r if isinstance(r, tuple) else (r,))) for r in b_runs]
    n = max(len(a), len(b))
    return [float(a[i % len(a)] - b[i % len(b)]) for i in range(n)]
