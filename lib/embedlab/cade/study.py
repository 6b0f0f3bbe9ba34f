"""The CADE study's steps, as the notebook runs them: slices, models (CADE slices over ``cfg.seeds`` training seeds
on one compass), shift rankings, alignment diagnostics, TWEC's held-out likelihood (and the hierarchical-softmax
extra), planted shift (every model over the seeds) and the vocabulary-overlap sweep; returns
:class:`embedlab.study.Results`.

Orchestration only: it writes no file (the full shift rankings are in ``results.tables["shift_ranking"]``, which
the notebook saves); what the numbers mean is :mod:`.results`."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd

from embedlab import progress
from embedlab.study import Results

from . import results
from .config import Config
from .data import bible_coverage, describe, slice_pairs, slice_years, study_slices
from .diagnostics import alignment_quality, anisotropy, holdout, overlap_sweep
from .hs_likelihood import heldout_hs
from .planted import plant_shift, planted_scores
from .scoring import twec_heldout_runs
from .shift import effective_k, full_ranking, ranking_agreement, shift_scores, top_shifted, trajectories
from .training import check_slices, train_all, train_seeds


def run_study(cfg: Config) -> Results:
    """Every step of the notebook; tables go to ``results.tables``, plotting inputs to ``results.extra``."""
    r = Results("cade")
    with r.timed("total_s"):
        _run(r, cfg)
    return r


def _run(r: Results, cfg: Config) -> None:
    seeds = [cfg.seed + i for i in range(cfg.seeds)]
    train, heldout, names, pairs = _slices(r, cfg, seeds)
    models, cade_seeds = _models(r, cfg, train, seeds)
    # the hierarchical-softmax extra trains on one thread beside the analysis (mostly single-threaded) below
    with ThreadPoolExecutor(max_workers=1) as background:
        hs_job = None
        if cfg.hs_likelihood and cfg.heldout_fraction > 0:
            hs_job = background.submit(train_all, train, cfg.training(hs=True, negative=0), True, 1, ("cade",),
                                       None, models["cade"].counts)
        _shift(r, cfg, models, cade_seeds, pairs)
        quality = r.add_table("alignment_quality", alignment_quality(models, pairs))
        geometry = r.add_table("anisotropy", pd.concat([anisotropy(models["cade"], seed=cfg.seed),
                                                         anisotropy(models["unaligned"], seed=cfg.seed)],
                                                        ignore_index=True))
        results.alignment_metrics(r, quality, geometry)
        if cfg.heldout_fraction > 0:
            _twec(r, cfg, cade_seeds, heldout, names, hs_job)
    planted = _planted(r, cfg, train, seeds)
    with r.timed("overlap_s"):
        progress.step(f"vocabulary-overlap sweep on halves of {cfg.overlap_slice!r} ({len(cfg.shared_fractions)} "
                      "overlaps)")
        sweep = r.add_table("overlap_sweep", overlap_sweep(train[cfg.overlap_slice], cfg.shared_fractions,
                                                           cfg.training(), max_tokens=cfg.overlap_max_tokens or None,
                                                           seed=cfg.seed, threads=cfg.threads))
        results.overlap_metrics(r, sweep)
    # what the numbers say about the regime, flags, notes, papers
    results.finish(r, cfg, planted, names)


def _slices(r: Results, cfg: Config, seeds: list[int]) -> tuple[dict, dict, list, list]:
    """The slices, split into training and held-out sentences."""
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
        r.extra.update(names=names, years=years, pairs=pairs, seeds=seeds)
    return train, heldout, names, pairs


def _models(r: Results, cfg: Config, train: dict, seeds: list[int]) -> tuple[dict, list]:
    """The compass and the independent models once, the CADE slices once per training seed."""
    tcfg = cfg.training()
    with r.timed("train_s"):
        progress.step(f"training the compass, {len(train)} CADE slices x {len(seeds)} seeds and {len(train)} "
                      f"independent word2vec models ({sum(r.tables['slices']['tokens']):,} training tokens, "
                      f"{cfg.threads} threads)")
        models = train_all(train, tcfg, threads=cfg.threads)
        cade_seeds = [models["cade"]] + [m["cade"] for m in train_seeds(train, tcfg, seeds[1:], threads=cfg.threads,
                                                                         methods=("cade",),
                                                                         compass=models["cade"].compass)]
    r.extra["vocab_sizes"] = {m: {s: len(kv) for s, kv in models[m].vectors.items()} for m in ("cade", "unaligned")}
    return models, cade_seeds


def _shift(r: Results, cfg: Config, models: dict, cade_seeds: list, pairs: list) -> None:
    """Shift rankings of the first seed (the top words shown, the full ranking kept for the notebook to save), how
    far the seeds' CADE rankings agree, and the traced words' trajectories."""
    with r.timed("shift_s"):
        progress.step(f"shift rankings for {len(pairs)} slice pairs (LNCS k={cfg.lncs_k}, NN intersection "
                      f"k={cfg.nn_k})")
        tops, ks, rankings = {}, {}, {}
        for a, b in pairs:
            cade_scores = shift_scores(models["cade"], a, b, k=cfg.lncs_k, k_nn=cfg.nn_k)
            full = full_ranking({"cade": models["cade"], "procrustes": models["procrustes"]}, a, b, k=cfg.lncs_k,
                                k_nn=cfg.nn_k, scores={"cade": cade_scores})
            rankings[f"shift_ranking_{a}_{b}"] = full.reset_index()
            ks[f"{a}→{b}"] = (effective_k(cfg.lncs_k, len(full)), effective_k(cfg.nn_k, len(full)), len(full))
            tops[f"{a}→{b}"] = top_shifted(models["cade"], a, b, n=cfg.top_n, k=cfg.lncs_k,
                                           rank_min_count=cfg.top_min_count, scores=cade_scores)
        r.tables["top_shifted"] = tops
        r.tables["shift_ranking"] = rankings
        r.extra["k_used"] = ks
        results.capped_note(r, ks, cfg)
        if len(cade_seeds) > 1:
            r.add_table("ranking_agreement", ranking_agreement(cade_seeds, pairs, cfg.top_n, cfg.top_min_count))
        r.add_table("trajectories", {m: trajectories(models[m], list(cfg.trace_words), reference=cfg.trace_reference)
                                     for m in ("cade", "procrustes")})


def _twec(r: Results, cfg: Config, cade_seeds: list, heldout: dict, names: list, hs_job: Future | None) -> None:
    """TWEC's held-out likelihood of the negative-sampling models above, with TWEC's score; then the
    hierarchical-softmax extra, once its models (trained in the background) are there."""
    with r.timed("twec_s"):
        progress.step(f"TWEC held-out evaluation: the compass and the CADE slices of {len(cade_seeds)} seeds")
        runs = twec_heldout_runs(cade_seeds, heldout, seed=cfg.seed, threads=cfg.threads)
        r.add_table("twec_heldout", results.twec_table(runs))
        results.twec_headlines(r, runs, names, cfg)
    if hs_job is not None:
        with r.timed("twec_hs_s"):
            progress.step("extra: a hierarchical-softmax compass and CADE slices (one seed), a normalised "
                          "held-out likelihood")
            hs_runs = [heldout_hs(hs_job.result()["cade"], heldout, cfg.threads)]
            r.add_table("twec_heldout_hs", results.twec_table(hs_runs))
            results.twec_headlines(r, hs_runs, names, cfg, kind="twec-hs")


def _planted(r: Results, cfg: Config, train: dict, seeds: list[int]):
    """Planted shift: every model trained anew for each seed on the same planted text."""
    with r.timed("planted_s"):
        progress.step(f"planted shift: {cfg.n_planted} pairs into {cfg.planted_slice!r}, models retrained on "
                      f"{cfg.planted_reference!r} and {cfg.planted_slice!r} for {len(seeds)} seeds")
        planted_train, planted = plant_shift({cfg.planted_reference: train[cfg.planted_reference],
                                              cfg.planted_slice: train[cfg.planted_slice]}, into=cfg.planted_slice,
                                             reference=cfg.planted_reference, n_words=cfg.n_planted,
                                             rate=cfg.replace_rate, seed=cfg.seed, min_count=cfg.planted_min_count,
                                             max_count=cfg.planted_max_count)
        r.add_table("planted_pairs", planted.pairs)
        planted_runs = train_seeds(planted_train, cfg.training(), seeds, threads=cfg.threads)
        scores = [planted_scores(m, planted, cfg.lncs_k, cfg.nn_k) for m in planted_runs]
        r.add_table("planted_scores", pd.concat([sc.assign(seed=s) for sc, s in zip(scores, seeds)]))
        results.planted_headlines(r, scores, cfg)
        first = planted_runs[0]
        r.add_table("planted_geometry", alignment_quality(first, [(cfg.planted_reference, cfg.planted_slice)],
                                                          word_sets={"planted-free controls": planted.controls}))
        r.extra["planted_models_anisotropy"] = pd.concat([anisotropy(first["cade"], seed=cfg.seed),
                                                          anisotropy(first["unaligned"], seed=cfg.seed)])
    return planted
