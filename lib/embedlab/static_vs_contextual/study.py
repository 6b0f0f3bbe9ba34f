"""The whole study, step after step: :func:`run_study` returns :class:`embedlab.study.Results`.

Reproduces the comparisons of Sarıtaş et al. 2024 (Turkish), Gedeon 2025 (Hungarian) and the Marathi
"BERT or FastText?" paper on the shared library: trained static models (:mod:`embedlab.static`) and static
vectors from encoders (:mod:`embedlab.extract`) over one shared vocabulary (:mod:`.data`), evaluated on analogies,
word similarity, BiLSTM tagging and text classification (:mod:`.steps`), plus a corpus-size learning curve
(:mod:`.curve`); :mod:`.results` turns the numbers into tables, headlines and notes.
"""
from __future__ import annotations

import warnings

from .. import progress
from ..study import Results
from . import curve, results as res
from .config import Config
from .data import describe_sets, prepare
from .steps import (analogy_items, build_embeddings, diagnostics_table, evaluate_classification, evaluate_tagging,
                    similarity_items)


def run_study(cfg: Config) -> Results:
    """Every step of the notebook: inputs, embeddings, evaluations, learning curve, headlines, published panel.

    The returned Results hold the tables (``sets``, ``embeddings``, ``analogy_summary``, ``results``,
    ``similarity``, ``tagging``, ``classification``, ``learning_curve``...), headlines with paired intervals and
    flags, unavailable sets, notes, and in ``extra`` the corpus, the embeddings and the per-item scores.
    """
    r = Results(cfg.study)
    with r.timed("prepare"), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        inputs = prepare(cfg, r)
    r.extra.update(corpus=inputs.corpus, sets=inputs.sets, vocab=inputs.vocab)
    r.add_table("sets", describe_sets(inputs.sets, r))
    with r.timed("embeddings"):
        embs, info = build_embeddings(inputs, cfg, r)
        r.extra["embeddings"] = embs
        r.add_table("embeddings", info)
        if r.extra.get("diagnostics"):
            r.add_table("extraction", diagnostics_table(r.extra["diagnostics"]))

    with r.timed("evaluations"):
        progress.step("analogies and similarity ...")
        items = {name: analogy_items(embs, s, cfg) for name, s in inputs.sets["analogy"].items()}
        sims = {name: similarity_items(embs, s)[0] for name, s in inputs.sets["similarity"].items()}
        r.extra.update(analogy_items=items, similarity_items=sims)
        tags = evaluate_tagging(embs, inputs.sets, cfg)
        classes = evaluate_classification(embs, inputs.sets, cfg)
    res.fill(r, cfg, inputs, info, items, sims, tags, classes)

    if cfg.curve_fractions and inputs.sets["analogy"]:
        with r.timed("learning_curve"):
            curve.learning_curve(r, cfg, inputs, embs, info, items)
    res.published(r, cfg)
    res.differences(r, cfg, inputs)
    return r
