"""The CADE study's steps, as the notebook runs them: slices, models, shift rankings, alignment diagnostics, TWEC's
held-out likelihood, planted shift and the vocabulary-overlap sweep; returns :class:`embedlab.study.Results`.

Orchestration only: it writes no file (the full shift rankings are in ``results.tables["shift_ranking"]``, which
the notebook saves); what the numbers mean is :mod:`.results`."""
from __future__ import annotations

import pandas as pd

from embedlab import progress
from embedlab.study import Results

from . import results
from .config import Config
from .data import bible_coverage, describe, slice_pairs, slice_years, study_slices
from .diagnostics import alignment_quality, anisotropy, holdout, overlap_sweep, twec_heldout
from .planted import evaluate_planted, plant_shift, planted_scores
from .shift import effective_k, full_ranking, top_shifted, trajectories
from .training import check_slices, train_all


def run_study(cfg: Config) -> Results:
    """Every step of the notebook; tables go to ``results.tables``, plotting inputs to ``results.extra``."""
    r = Results("cade")
    with r.timed("total_s"):
        _run(r, cfg)
    return r


def _run(r: Results, cfg: Config) -> None:
    tcfg = cfg.training()

    # ---- slices
    with r.timed("load_s"):
        progress.step(f"loading the {cfg.source} slices")
        slices = study_slices(cfg)
        names = list(slices)
        years = slice_years(cfg.source, names)
        if cfg.source == "bible":
            r.add_table("coverage", bible_coverage(cfg.bible_versions))
        check_slices(slices, cfg.min_count)
        train, heldout = holdout(slices, cfg.heldout_fraction, cfg.seed)
        r.add_table("slices", describe(train, years, cfg.min_count))
        pairs = slice_pairs(names)
        r.extra.update(names=names, years=years, pairs=pairs)

    # ---- models
    with r.timed("train_s"):
        progress.step(f"training the compass, {len(names)} CADE slices and {len(names)} independent word2vec models "
                      f"({sum(r.tables['slices']['tokens']):,} training tokens, {cfg.threads} threads)")
        models = train_all(train, tcfg, threads=cfg.threads)
    r.extra["vocab_sizes"] = {m: {s: len(kv) for s, kv in models[m].vectors.items()} for m in ("cade", "unaligned")}

    # ---- shift rankings: the top words shown, the full ranking kept for the notebook to save
    with r.timed("shift_s"):
        progress.step(f"shift rankings for {len(pairs)} slice pairs (LNCS k={cfg.lncs_k}, NN intersection "
                      f"k={cfg.nn_k})")
        tops, ks, rankings = {}, {}, {}
        for a, b in pairs:
            full = full_ranking({"cade": models["cade"], "procrustes": models["procrustes"]}, a, b, k=cfg.lncs_k,
                                k_nn=cfg.nn_k)
            rankings[f"shift_ranking_{a}_{b}"] = full.reset_index()
            ks[f"{a}→{b}"] = (effective_k(cfg.lncs_k, len(full)), effective_k(cfg.nn_k, len(full)), len(full))
            tops[f"{a}→{b}"] = top_shifted(models["cade"], a, b, n=cfg.top_n, k=cfg.lncs_k,
                                           rank_min_count=cfg.top_min_count)
        r.tables["top_shifted"] = tops
        r.tables["shift_ranking"] = rankings
        r.extra["k_used"] = ks
        results.capped_note(r, ks, cfg)
        r.add_table("trajectories", {m: trajectories(models[m], list(cfg.trace_words), reference=cfg.trace_reference)
                                     for m in ("cade", "procrustes")})

    # ---- alignment quality and the vectors' geometry
    quality = r.add_table("alignment_quality", alignment_quality(models, pairs))
    geometry = r.add_table("anisotropy", pd.concat([anisotropy(models["cade"], seed=cfg.seed),
                                                     anisotropy(models["unaligned"], seed=cfg.seed)], ignore_index=True))
    results.alignment_metrics(r, quality, geometry)

    # ---- TWEC's held-out likelihood (hierarchical softmax models)
    if cfg.heldout_fraction > 0:
        with r.timed("twec_s"):
            progress.step("TWEC held-out evaluation: compass and CADE slices again with hierarchical softmax")
            hs_models = train_all(train, cfg.training(hs=True, negative=0), threads=cfg.threads,
                                  methods=("cade",))["cade"]
            twec, per_sentence = twec_heldout(hs_models, heldout)
            r.add_table("twec_heldout", twec)
            results.twec_headlines(r, twec, per_sentence, names, cfg)

    # ---- planted shift
    with r.timed("planted_s"):
        progress.step(f"planted shift: {cfg.n_planted} pairs into {cfg.planted_slice!r}, models retrained on "
                      f"{cfg.planted_reference!r} and {cfg.planted_slice!r}")
        planted_train, planted = plant_shift({cfg.planted_reference: train[cfg.planted_reference],
                                              cfg.planted_slice: train[cfg.planted_slice]}, into=cfg.planted_slice,
                                             reference=cfg.planted_reference, n_words=cfg.n_planted,
                                             rate=cfg.replace_rate, seed=cfg.seed, min_count=cfg.planted_min_count,
                                             max_count=cfg.planted_max_count)
        r.add_table("planted_pairs", planted.pairs)
        planted_models = train_all(planted_train, tcfg, threads=cfg.threads)
        scores = r.add_table("planted_scores", planted_scores(planted_models, planted, cfg.lncs_k, cfg.nn_k))
        table = r.add_table("planted_eval", evaluate_planted(planted_models, planted, scores=scores))
        results.planted_headlines(r, scores, table, cfg)
        r.add_table("planted_geometry", alignment_quality(planted_models, [(cfg.planted_reference, cfg.planted_slice)],
                                                          word_sets={"planted-free controls": planted.controls}))
        r.extra["planted_models_anisotropy"] = pd.concat([anisotropy(planted_models["cade"], seed=cfg.seed),
                                                          anisotropy(planted_models["unaligned"], seed=cfg.seed)])

    # ---- vocabulary-overlap sweep
    with r.timed("overlap_s"):
        progress.step(f"vocabulary-overlap sweep on halves of {cfg.overlap_slice!r} ({len(cfg.shared_fractions)} "
                      "overlaps)")
        sweep = r.add_table("overlap_sweep", overlap_sweep(train[cfg.overlap_slice], cfg.shared_fractions, tcfg,
                                                           max_tokens=cfg.overlap_max_tokens or None, seed=cfg.seed,
                                                           threads=cfg.threads))
        results.overlap_metrics(r, sweep)

    # ---- what the numbers say about the regime, flags, notes, papers
    results.finish(r, cfg, planted, names)
