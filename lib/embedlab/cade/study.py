"""The CADE study's steps, as the notebook runs them: slices, models, shift rankings, alignment diagnostics, TWEC's
held-out likelihood, planted shift and the vocabulary-overlap sweep; returns :class:`embedlab.study.Results`."""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from embedlab import progress, report, stats
from embedlab.study import Reference, Results, metric_key

from .config import Config
from .diagnostics import alignment_quality, anisotropy, holdout, overlap_sweep, twec_heldout
from .planted import evaluate_planted, plant_shift, planted_scores
from .shift import LABELS, MEASURES, effective_k, full_ranking, top_shifted, trajectories
from .slices import bible_coverage, describe, load_slices, slice_years
from .training import METHODS, check_slices, train_all

DEGENERATE_COSINE = 0.9  # mean cosine of random word pairs above which a slice's vectors all point one way


def run_study(cfg: Config) -> Results:
    """Every step of the notebook; tables go to ``results.tables``, plotting inputs to ``results.extra``."""
    r = Results("cade")
    t0 = time.perf_counter()
    tcfg = cfg.training()

    # ---- slices
    progress.step(f"loading the {cfg.source} slices")
    books = cfg.bible_books
    slices = load_slices(cfg.source, versions=cfg.bible_versions, books=books, periods=cfg.turkish_periods,
                         treebank=cfg.turkish_treebank, path=cfg.user_paths or None, language=cfg.language,
                         max_tokens=cfg.max_tokens_per_slice or None, seed=cfg.seed)
    names = list(slices)
    for field in ("planted_reference", "planted_slice", "overlap_slice", "trace_reference"):
        if getattr(cfg, field) not in names:
            raise ValueError(f"parameter {field!r}: given {getattr(cfg, field)!r}; allowed: one of the slices "
                             f"{', '.join(map(repr, names))}")
    years = slice_years(cfg.source, names)
    if cfg.source == "bible":
        r.add_table("coverage", bible_coverage(cfg.bible_versions))
    check_slices(slices, cfg.min_count)
    train, heldout = holdout(slices, cfg.heldout_fraction, cfg.seed)
    r.add_table("slices", describe(train, years, cfg.min_count))
    pairs = list(zip(names[:-1], names[1:])) + ([(names[0], names[-1])] if len(names) > 2 else [])
    r.extra.update(names=names, years=years, pairs=pairs)
    r.timings["load_s"] = time.perf_counter() - t0

    # ---- models
    t = time.perf_counter()
    progress.step(f"training the compass, {len(names)} CADE slices and {len(names)} independent word2vec models "
                  f"({sum(r.tables['slices']['tokens']):,} training tokens, {cfg.threads} threads)")
    models = train_all(train, tcfg, threads=cfg.threads)
    r.timings["train_s"] = time.perf_counter() - t
    r.extra["vocab_sizes"] = {m: {s: len(kv) for s, kv in models[m].vectors.items()} for m in ("cade", "unaligned")}

    # ---- shift rankings: the top words shown, the full ranking saved
    t = time.perf_counter()
    progress.step(f"shift rankings for {len(pairs)} slice pairs (LNCS k={cfg.lncs_k}, NN intersection k={cfg.nn_k})")
    tops, ks = {}, {}
    for a, b in pairs:
        full = full_ranking({"cade": models["cade"], "procrustes": models["procrustes"]}, a, b, k=cfg.lncs_k,
                            k_nn=cfg.nn_k)
        report.save_table(full.reset_index(), report.safe_name(f"shift_ranking_{a}_{b}"))
        ks[f"{a}→{b}"] = (effective_k(cfg.lncs_k, len(full)), effective_k(cfg.nn_k, len(full)), len(full))
        tops[f"{a}→{b}"] = top_shifted(models["cade"], a, b, n=cfg.top_n, k=cfg.lncs_k,
                                       rank_min_count=cfg.top_min_count)
    r.tables["top_shifted"] = tops
    r.extra["k_used"] = ks
    capped = {p: k for p, k in ks.items() if k[1] < cfg.nn_k or k[0] < cfg.lncs_k}
    if capped:
        r.notes.append("Neighbourhood sizes were capped to the comparable vocabulary: "
                       + "; ".join(f"{p}: LNCS k={k[0]}, NN k={k[1]} of {k[2]:,} words" for p, k in capped.items()))
    traced = [w for w in cfg.trace_words]
    r.add_table("trajectories", {m: trajectories(models[m], traced, reference=cfg.trace_reference)
                                 for m in ("cade", "procrustes")})
    r.timings["shift_s"] = time.perf_counter() - t

    # ---- alignment quality and the vectors' geometry
    quality = r.add_table("alignment_quality", alignment_quality(models, pairs))
    geometry = r.add_table("anisotropy", pd.concat([anisotropy(models["cade"], seed=cfg.seed),
                                                     anisotropy(models["unaligned"], seed=cfg.seed)], ignore_index=True))
    for row in quality[quality["words"] == "frequent"].itertuples():
        r.metrics[metric_key("alignment", row.method, row.pair, "mean_cosine")] = row.mean_cosine
        r.metrics[metric_key("alignment", row.method, row.pair, "p_at_1")] = row.p_at_1
    for row in geometry.itertuples():
        r.metrics[metric_key("anisotropy", row.method, row.slice, "mean_pair_cosine")] = row.mean_pair_cosine

    # ---- TWEC's held-out likelihood (hierarchical softmax models)
    if cfg.heldout_fraction > 0:
        t = time.perf_counter()
        progress.step("TWEC held-out evaluation: compass and CADE slices again with hierarchical softmax")
        hs_models = train_all(train, cfg.training(hs=True, negative=0), threads=cfg.threads, methods=("cade",))["cade"]
        twec, per_sentence = twec_heldout(hs_models, heldout)
        r.add_table("twec_heldout", twec)
        _twec_headlines(r, twec, per_sentence, names, cfg)
        r.timings["twec_s"] = time.perf_counter() - t

    # ---- planted shift
    t = time.perf_counter()
    progress.step(f"planted shift: {cfg.n_planted} pairs into {cfg.planted_slice!r}, models retrained on "
                  f"{cfg.planted_reference!r} and {cfg.planted_slice!r}")
    planted_train, planted = plant_shift({cfg.planted_reference: train[cfg.planted_reference],
                                          cfg.planted_slice: train[cfg.planted_slice]}, into=cfg.planted_slice,
                                         reference=cfg.planted_reference, n_words=cfg.n_planted, rate=cfg.replace_rate,
                                         seed=cfg.seed, min_count=cfg.planted_min_count, max_count=cfg.planted_max_count)
    r.add_table("planted_pairs", planted.pairs)
    planted_models = train_all(planted_train, tcfg, threads=cfg.threads)
    scores = r.add_table("planted_scores", planted_scores(planted_models, planted, cfg.lncs_k, cfg.nn_k))
    table = r.add_table("planted_eval", evaluate_planted(planted_models, planted, scores=scores))
    _planted_headlines(r, scores, table, cfg)
    r.add_table("planted_geometry", pd.concat([alignment_quality(planted_models, [(cfg.planted_reference, cfg.planted_slice)],
                                                                 word_sets={"planted-free controls": planted.controls}),
                                               ], ignore_index=True))
    r.extra["planted_models_anisotropy"] = pd.concat([anisotropy(planted_models["cade"], seed=cfg.seed),
                                                      anisotropy(planted_models["unaligned"], seed=cfg.seed)])
    r.timings["planted_s"] = time.perf_counter() - t

    # ---- vocabulary-overlap sweep
    t = time.perf_counter()
    progress.step(f"vocabulary-overlap sweep on halves of {cfg.overlap_slice!r} ({len(cfg.shared_fractions)} overlaps)")
    sweep = r.add_table("overlap_sweep", overlap_sweep(train[cfg.overlap_slice], cfg.shared_fractions, tcfg,
                                                       max_tokens=cfg.overlap_max_tokens or None, seed=cfg.seed,
                                                       threads=cfg.threads))
    for row in sweep.itertuples():
        r.metrics[metric_key("overlap", f"shared-{row.shared_fraction:g}", row.method, "p_at_10")] = row.probe_p_at_10
    r.timings["overlap_s"] = time.perf_counter() - t

    # ---- what the numbers say about the regime, flags, notes, papers
    r.extra["diagnosis"] = diagnose(r, cfg, planted)
    _notes(r, cfg)
    r.published = None
    r.published_note = published_note()
    r.key_figure = "figures/planted_ap.png"
    r.metrics[metric_key("slices", "all", "n")] = len(names)
    r.metrics[metric_key("slices", "all", "training_tokens")] = int(r.tables["slices"]["tokens"].sum())
    r.timings["total_s"] = time.perf_counter() - t0
    return r


# --------------------------------------------------------------------------- headlines

def _ap(y, s):
    return stats.average_precision(y, s)


def _planted_headlines(r: Results, scores: pd.DataFrame, table: pd.DataFrame, cfg: Config) -> None:
    y = scores["planted"].to_numpy()
    chance = float(y.mean())
    n = len(y)
    cis = [stats.ap_ci(y, scores[f"{m}/{x}"].to_numpy(), n_boot=cfg.n_boot, seed=cfg.seed)
           for m, x in zip(table["method"], table["measure"])]
    table["ap_ci_low"], table["ap_ci_high"] = [c[0] for c in cis], [c[1] for c in cis]
    table["n_words"] = n
    for row in table.itertuples():
        r.metrics[metric_key("planted", row.method, row.measure, "ap")] = row.ap
        r.metrics[metric_key("planted", row.method, row.measure, "recall_at_k")] = row.recall_at_k
    r.metrics[metric_key("planted", "all", "chance", "ap")] = chance
    shown = [("cade", "cosine_distance"), ("procrustes", "cosine_distance"), ("unaligned", "cosine_distance"),
             ("cade", "lncs"), ("procrustes", "lncs")]
    label = {"cade": "CADE", "procrustes": "Procrustes", "unaligned": "unaligned"}
    for method, measure in shown:
        row = table[(table["method"] == method) & (table["measure"] == measure)].iloc[0]
        name = label[method] if measure == "cosine_distance" else ("independent" if method != "cade" else "CADE")
        r.headline(metric_key("planted", method, measure, "ap"),
                   f"planted-shift AP, {name} ({LABELS[measure]})", row["ap"], (row["ap_ci_low"], row["ap_ci_high"]),
                   n=n, reference=Reference("chance", chance), metric="planted-shift AP")
    for other in ("procrustes", "unaligned"):
        a, b = scores["cade/cosine_distance"].to_numpy(), scores[f"{other}/cosine_distance"].to_numpy()
        r.compare(metric_key("planted", f"cade-minus-{other}", "cosine_distance", "ap"),
                  f"planted-shift AP, CADE − {label[other]} (cosine distance)", "CADE", label[other],
                  _ap(y, a) - _ap(y, b), stats.paired_diff_ci(_ap, [y, a], [y, b], n_boot=cfg.n_boot, seed=cfg.seed),
                  n=n, metric="planted-shift AP (cosine distance)")


def _twec_headlines(r: Results, twec: pd.DataFrame, per_sentence: dict, names: list, cfg: Config) -> None:
    if twec.empty:
        r.mark_unavailable("twec_heldout", "evaluation", "no held-out sentence has a compass word")
        return
    for row in twec.itertuples():
        r.metrics[metric_key("twec", row.slice, "posterior_log_probability")] = row.posterior_log_probability
        r.metrics[metric_key("twec", row.slice, "nll_cade")] = row.nll_cade
        r.metrics[metric_key("twec", row.slice, "nll_compass")] = row.nll_compass
    # the mean over slices, as TWEC prints it; intervals resample each slice's sentences
    post = [per_sentence[s]["posterior"].to_numpy() for s in twec["slice"]]
    rng = np.random.default_rng(cfg.seed)
    boots = np.array([np.mean([np.log(p[rng.integers(0, len(p), len(p))].mean()) for p in post])
                      for _ in range(cfg.n_boot)])
    mplp = float(twec["posterior_log_probability"].mean())
    r.headline(metric_key("twec", "mean", "posterior_log_probability"),
               "TWEC mean posterior log probability of the right slice (CADE, held-out sentences)", mplp,
               (float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))),
               n=int(twec["sentences"].sum()), reference=Reference("chance", math.log(1 / len(names))),
               metric="posterior log probability")
    ll_c = np.concatenate([per_sentence[s][f"ll_{s}"].to_numpy() for s in twec["slice"]])
    ll_s = np.concatenate([per_sentence[s]["ll_compass"].to_numpy() for s in twec["slice"]])
    nw = np.concatenate([per_sentence[s]["n_words"].to_numpy() for s in twec["slice"]]).astype(float)
    nll = lambda ll, n: ll.sum() / n.sum()
    r.compare(metric_key("twec", "cade-minus-compass", "nll"),
              "TWEC normalised log-likelihood, CADE slice − static compass (held-out words)", "CADE slice models",
              "the static compass", nll(ll_c, nw) - nll(ll_s, nw),
              stats.paired_diff_ci(nll, [ll_c, nw], [ll_s, nw], n_boot=cfg.n_boot, seed=cfg.seed), n=len(nw),
              metric="normalised log-likelihood (nats per word)")


# --------------------------------------------------------------------------- diagnosis

def diagnose(r: Results, cfg: Config, planted) -> list[str]:
    """Sentences generated from this run's numbers about whether its vectors can show anything: slice sizes, the
    planted words' counts, the vectors' geometry and alignment quality; degenerate cases are flagged."""
    out = []
    sl = r.tables["slices"]
    col = f"types_{cfg.min_count}+"
    out.append("Training slices: " + "; ".join(
        f"{s} {t:,} tokens, {v:,} types with >= {cfg.min_count} occurrences ({p:.0f} tokens per such type)"
        for s, t, v, p in zip(sl["slice"], sl["tokens"], sl[col], sl["tokens"] / sl[col].clip(lower=1))) + ".")
    pairs = planted.pairs
    med = float(np.median(pairs["count_target"]))
    out.append(f"Planted targets occur a median {med:.0f} times in {planted.slice!r} before planting and receive a "
               f"median {float(np.median(pairs['replaced'])):.0f} donor occurrences (rate {cfg.replace_rate:g}); "
               f"{len(planted.controls):,} control words share their frequency band.")
    geo = r.tables["anisotropy"]
    for method, g in geo.groupby("method", sort=False):
        worst = g.loc[g["mean_pair_cosine"].idxmax()]
        out.append(f"{'CADE' if method == 'cade' else 'Independent word2vec'} vectors: mean cosine between random "
                   f"pairs of frequent words {g['mean_pair_cosine'].min():.2f}-{g['mean_pair_cosine'].max():.2f} "
                   f"across slices (highest in {worst['slice']!r}).")
        if worst["mean_pair_cosine"] > DEGENERATE_COSINE:
            r.flag("degenerate vectors", metric_key("anisotropy", method, worst["slice"]),
                   f"{method} vectors of slice {worst['slice']!r} nearly all point one way (mean cosine of random word "
                   f"pairs {worst['mean_pair_cosine']:.3f} > {DEGENERATE_COSINE}): cross-slice cosines are high for "
                   f"any alignment and neighbourhoods are noise; the slice is too small for these settings")
    q = r.tables["alignment_quality"]
    q = q[q["words"] == "frequent"]
    for row in q[q["method"] == "procrustes"].itertuples():
        if row.mean_cosine > 0.9 and row.p_at_1 < 0.2:
            r.flag("alignment uninformative", metric_key("alignment", "procrustes", row.pair),
                   f"Procrustes {row.pair}: mean cosine {row.mean_cosine:.3f} of frequent words with themselves but "
                   f"self-retrieval P@1 {row.p_at_1:.2f}: the high cosine reflects one shared direction, not alignment")
    proc = q[q["method"] == "procrustes"]
    cad = q[q["method"] == "cade"]
    if len(proc) and len(cad):
        out.append(f"Frequent words find themselves across slices (self-retrieval P@1, mean over pairs): CADE "
                   f"{cad['p_at_1'].mean():.2f}, Procrustes {proc['p_at_1'].mean():.2f}; mean cosine with themselves: "
                   f"CADE {cad['mean_cosine'].mean():.2f}, Procrustes {proc['mean_cosine'].mean():.2f}.")
    return out


def _notes(r: Results, cfg: Config) -> None:
    r.notes.append("Slices are trained by our Numba frozen-context trainer (gensim 4 cannot freeze the context matrix); "
                   "it mirrors gensim's CBOW step (sigmoid table indexed as gensim's C code does, subsampling, reduced "
                   "windows, linear learning-rate decay); slice start vectors are seeded per word, the same in every "
                   "slice, as gensim 3 did for the reference code.")
    if cfg.heldout_fraction > 0:
        r.notes.append("TWEC's held-out evaluation needs hierarchical softmax (gensim's Word2Vec.score), so it is run "
                       "on a second compass and CADE slices trained with hs=1, negative=0 and otherwise the same "
                       "settings; the shift rankings and planted-shift results use the negative-sampling models (CADE's "
                       "default). Independent per-slice models are not in this evaluation: their vocabularies differ, "
                       "so their likelihoods are not comparable (TWEC's code refuses models of different vocabularies).")
    if cfg.source == "bible":
        r.notes.append("The slices are translations of the same text from different centuries, not a corpus sampled "
                       "by period as in the papers (news, arXiv abstracts): what moves is spelling, register and "
                       "translation choices.")
    elif cfg.source == "turkish":
        r.notes.append("The slices are Atatürk's texts by period and modern Turkish web/wiki text: different authors, "
                       "genres and sizes, far smaller than the papers' corpora.")


def published_note() -> str:
    """What data/papers/cade.yaml says about comparable published numbers."""
    try:
        doc = report.paper_figures("cade")
    except ValueError:
        return "No published CADE/TWEC figures are recorded."
    comparable = doc[doc.get("comparable", pd.Series(False, index=doc.index)).astype(bool)] if len(doc) else doc
    if len(comparable):
        return ""
    return ("The CADE and TWEC papers report temporal analogy accuracy and held-out likelihood on their own news and "
            "arXiv corpora (data/papers/cade.yaml lists what could be read); no published number is computed on these "
            "slices, so none is comparable with ours and none is shown beside them.")
