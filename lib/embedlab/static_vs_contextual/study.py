"""The whole study, step after step: :func:`run_study` returns :class:`embedlab.study.Results`.

Reproduces the comparisons of Sarıtaş et al. 2024 (Turkish), Gedeon 2025 (Hungarian) and the Marathi
"BERT or FastText?" paper on the shared library: trained static models (:mod:`embedlab.static`) and static
vectors from encoders (:mod:`embedlab.extract`) over one shared vocabulary (:mod:`.data`), evaluated on analogies,
word similarity, BiLSTM tagging and text classification (:mod:`.steps`) over training seeds (:mod:`.seeds`), plus
a corpus-size learning curve (:mod:`.curve`); :mod:`.results` and :mod:`.headlines` turn the numbers into tables,
headlines and notes.
"""
from __future__ import annotations

import warnings

import pandas as pd

from .. import progress, static
from ..study import Results
from . import curve, results as res, seeds
from .config import Config
from .data import describe_sets, prepare
from .steps import analogy_items, build_embeddings, diagnostics_table, kinds as kinds_of  # noqa: F401


def run_study(cfg: Config) -> Results:
    """Every step of the notebook: inputs, embeddings (over the static seeds), evaluations (over the seeds),
    learning curve, headlines, published panel.

    The returned Results hold the tables (``sets``, ``embeddings``, ``analogy_summary``, ``results``,
    ``similarity``, ``tagging``, ``classification``, ``learning_curve``...), headlines with seeded intervals and
    flags, unavailable sets, notes, and in ``extra`` the corpus, the embeddings (seed 0), the analogy candidate
    count and the per-item scores (``seed`` columns).
    """
    r = Results(cfg.study)
    with r.timed("prepare"), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        inputs = prepare(cfg, r)
    r.extra.update(corpus=inputs.corpus, sets=inputs.sets, vocab=inputs.vocab, shared_vocab=inputs.shared)
    r.add_table("sets", describe_sets(inputs.sets, r))
    with r.timed("embeddings"):
        embs, info = build_embeddings(inputs, cfg, r)
        kinds = kinds_of(info)
        runs, lookups = seeds.seed_runs(inputs, cfg, r, embs, kinds)
        lookups = seeds.lookup_runs(inputs, cfg, lookups)
        embs = runs[0]
        info["words"] = [len(embs[e]) for e in info["embedding"]]
        info["seeds"] = pd.array([cfg.static_seeds if seeds.is_trained(e, kinds) else None for e in info["embedding"]],
                                 dtype="Int64")
        r.extra["embeddings"] = embs
        r.add_table("embeddings", info)
        if r.extra.get("diagnostics"):
            r.add_table("extraction", diagnostics_table(r.extra["diagnostics"]))
    candidates = seeds.candidate_words(inputs, embs)
    r.extra["analogy_candidates"] = len(candidates)

    with r.timed("evaluations"):
        progress.step(f"analogies among {len(candidates):,} candidates and similarity ...")
        items = {name: seeds.analogy_runs(runs, kinds, s, candidates, cfg) for name, s in inputs.sets["analogy"].items()}
        sims = {name: seeds.similarity_runs(runs, kinds, s) for name, s in inputs.sets["similarity"].items()}
        r.extra.update(analogy_items=items, similarity_items=sims)
        tags = seeds.tagging_runs(runs, inputs.sets, cfg, lookups)
        classes = seeds.classification_runs(runs, inputs.sets, cfg)
    res.fill(r, cfg, inputs, info, items, sims, tags, classes)

    if cfg.curve_fractions and inputs.sets["analogy"]:
        with r.timed("learning_curve"):
            on_candidates = {k: static.within(kv, candidates) for k, kv in embs.items()}
            curve.learning_curve(r, cfg, inputs, on_candidates, info, items)
    res.published(r, cfg)
    res.differences(r, cfg, inputs)
    return r
