"""What the CADE study's numbers say: metrics, headlines (planted-shift AP against chance, CADE minus each
other approach, over training seeds; TWEC's held-out likelihood), the generated diagnosis of the run's regime, notes
and the papers' panel."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from embedlab import stats
from embedlab.papers import paper_figures
from embedlab.study import Reference, Results, metric_key

from .config import Config
from .planted import average_precision, weighted_ap
from .shift import LABELS

DEGENERATE_COSINE = 0.9  # mean cosine of random word pairs above which a slice's vectors all point one way
_LABEL = {"cade": "CADE", "procrustes": "Procrustes", "unaligned": "unaligned"}


def _ap(y, s):
    return average_precision(y, s)


# --------------------------------------------------------------------------- metrics

def capped_note(r: Results, ks: dict[str, tuple[int, int, int]], cfg: Config) -> None:
    """A note on the slice pairs whose neighbourhood sizes ``(LNCS k, NN k, words)`` were capped."""
    capped = {p: k for p, k in ks.items() if k[1] < cfg.nn_k or k[0] < cfg.lncs_k}
    if capped:
        r.notes.append("Neighbourhood sizes were capped to the comparable vocabulary: "
                       + "; ".join(f"{p}: LNCS k={k[0]}, NN k={k[1]} of {k[2]:,} words" for p, k in capped.items()))


def alignment_metrics(r: Results, quality: pd.DataFrame, geometry: pd.DataFrame) -> None:
    """Alignment quality on frequent words and each slice's mean cosine of random word pairs."""
    for row in quality[quality["words"] == "frequent"].itertuples():
        r.metrics[metric_key("alignment", row.method, row.pair, "mean_cosine")] = row.mean_cosine
        r.metrics[metric_key("alignment", row.method, row.pair, "p_at_1")] = row.p_at_1
    for row in geometry.itertuples():
        r.metrics[metric_key("anisotropy", row.method, row.slice, "mean_pair_cosine")] = row.mean_pair_cosine


def overlap_metrics(r: Results, sweep: pd.DataFrame) -> None:
    """Probe retrieval P@10 at each shared fraction of the vocabulary-overlap sweep."""
    for row in sweep.itertuples():
        r.metrics[metric_key("overlap", f"shared-{row.shared_fraction:g}", row.method, "p_at_10")] = row.probe_p_at_10


def slice_metrics(r: Results, names: list[str]) -> None:
    """How many slices, and their training tokens."""
    r.metrics[metric_key("slices", "all", "n")] = len(names)
    r.metrics[metric_key("slices", "all", "training_tokens")] = int(r.tables["slices"]["tokens"].sum())


# --------------------------------------------------------------------------- headlines

# what the planted-shift headlines compare: (method, measure) -> label; LNCS and NN intersection of the independent
# models need no alignment (Procrustes and unaligned share them)
PLANTED_SHOWN = {("cade", "cosine_distance"): "CADE", ("procrustes", "cosine_distance"): "Procrustes",
                 ("procrustes", "lncs"): "LNCS", ("procrustes", "nn_intersection"): "NN intersection",
                 ("cade", "lncs"): "CADE LNCS"}
_UNALIGNED = ("unaligned", "cosine_distance")
_KEYS = {"CADE": "cade", "Procrustes": "procrustes", "LNCS": "independent-lncs",
         "NN intersection": "independent-nn_intersection", "unaligned": "unaligned"}


def _seed_draws(n_seeds: int, cfg: Config) -> np.ndarray:
    """Training seeds drawn with replacement per bootstrap draw, [n_boot, n_seeds]: the draws
    :func:`stats.seeded_diff_ci` makes (one call per draw, from ``cfg.seed + 1``)."""
    if n_seeds == 1:
        return np.zeros((cfg.n_boot, 1), dtype=int)
    rng = np.random.default_rng(cfg.seed + 1)
    return np.stack([rng.integers(0, n_seeds, n_seeds) for _ in range(cfg.n_boot)])


def _interval(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    return (float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))) if values.size else (np.nan, np.nan)


def ap_draws(scores: list[pd.DataFrame], cfg: Config) -> dict[str, np.ndarray]:
    """Per score column, the bootstrap distribution of the mean over training seeds of its planted-shift AP:
    seeds, then words resampled exactly as :func:`stats.seeded_diff_ci` resamples them (same draws for every
    column, so differences of two columns' draws are its paired interval), vectorised with :func:`weighted_ap`."""
    y = scores[0]["planted"].to_numpy()
    weights = np.stack([np.bincount(i, minlength=len(y)) for i in stats.item_draws(len(y), cfg.n_boot, cfg.seed)])
    picks = _seed_draws(len(scores), cfg)
    rows = np.arange(cfg.n_boot)[:, None]
    out = {}
    for col in [c for c in scores[0].columns if "/" in c]:
        per_seed = np.stack([weighted_ap(y, sc[col].to_numpy(), weights) for sc in scores])   # [seeds, draws]
        out[col] = per_seed[picks, rows].mean(axis=1)
    return out


def planted_eval(scores: list[pd.DataFrame], draws: dict[str, np.ndarray]) -> pd.DataFrame:
    """AP and recall@k of every method x measure, the mean over training seeds (one score table per seed, the
    same words), with hierarchical intervals (``draws``: :func:`ap_draws`) and the seeds' range."""
    from .planted import ranking_quality

    y = scores[0]["planted"].to_numpy()
    positives = scores[0].index[y == 1]
    rows = []
    for col, boot in draws.items():
        method, measure = col.split("/")
        per = [ranking_quality(sc[col], positives) for sc in scores]
        aps = [q["ap"] for q in per]
        low, high = _interval(boot)
        rows.append({"method": method, "measure": measure, "ap": float(np.mean(aps)), "ap_ci_low": low,
                     "ap_ci_high": high, "ap_seed_min": min(aps), "ap_seed_max": max(aps),
                     "recall_at_k": float(np.mean([q["recall_at_k"] for q in per])), "k": per[0]["k"],
                     "n_planted": per[0]["n_planted"], "n_controls": per[0]["n_controls"],
                     "chance_ap": per[0]["chance_ap"], "n_words": len(y), "seeds": len(scores)})
    return pd.DataFrame(rows)


def planted_differences(scores: list[pd.DataFrame], draws: dict[str, np.ndarray]) -> pd.DataFrame:
    """AP differences between every two of CADE, Procrustes, LNCS and NN intersection (cosine distance unless
    named), and CADE minus unaligned: the mean over seeds, its interval (seeds, then words: the hierarchical
    bootstrap of :func:`stats.seeded_diff_ci`, from ``draws``) and each seed's difference."""
    y = scores[0]["planted"].to_numpy()
    shown = [k for k in PLANTED_SHOWN if PLANTED_SHOWN[k] != "CADE LNCS"]
    pairs = [(a, b) for i, a in enumerate(shown) for b in shown[i + 1:]] + [(shown[0], _UNALIGNED)]
    rows = []
    for a, b in pairs:
        ca, cb = "/".join(a), "/".join(b)
        per_seed = [_ap(y, sc[ca].to_numpy()) - _ap(y, sc[cb].to_numpy()) for sc in scores]
        low, high = _interval(draws[ca] - draws[cb])
        agree, n = stats.seed_agreement(per_seed)
        rows.append({"a": PLANTED_SHOWN.get(a, "unaligned"), "b": PLANTED_SHOWN.get(b, "unaligned"),
                     "diff": float(np.mean(per_seed)), "ci_low": low, "ci_high": high,
                     "per_seed": ", ".join(f"{d:+.3f}" for d in per_seed), "seeds_agreeing": f"{agree}/{n}",
                     "per_seed_diffs": per_seed})
    return pd.DataFrame(rows)


def planted_headlines(r: Results, scores: list[pd.DataFrame], cfg: Config) -> None:
    """Planted-shift AP per shown method x measure against chance (unaligned cosine: a sanity baseline expected at
    chance), and CADE minus each other approach, over ``len(scores)`` training seeds."""
    draws = ap_draws(scores, cfg)
    table = r.add_table("planted_eval", planted_eval(scores, draws))
    diffs = planted_differences(scores, draws)
    r.add_table("planted_differences", diffs.drop(columns="per_seed_diffs"))
    n, seeds = len(scores[0]), len(scores)
    chance = float(table["chance_ap"].iloc[0])
    for row in table.itertuples():
        r.metrics[metric_key("planted", row.method, row.measure, "ap")] = row.ap
        r.metrics[metric_key("planted", row.method, row.measure, "recall_at_k")] = row.recall_at_k
    r.metrics[metric_key("planted", "all", "chance", "ap")] = chance
    by = table.set_index(["method", "measure"])
    per_seed = {k: [_ap(sc["planted"].to_numpy(), sc["/".join(k)].to_numpy()) for sc in scores]
                for k in [*PLANTED_SHOWN, _UNALIGNED]}
    for (method, measure), name in PLANTED_SHOWN.items():
        row = by.loc[(method, measure)]
        r.headline(metric_key("planted", method, measure, "ap"), f"planted-shift AP, {name} ({LABELS[measure]})",
                   row["ap"], (row["ap_ci_low"], row["ap_ci_high"]), n=n, reference=Reference("chance", chance),
                   metric="planted-shift AP", seeds=seeds, per_seed=per_seed[(method, measure)])
    row = by.loc[_UNALIGNED]
    r.expect(metric_key("planted", *_UNALIGNED, "ap"), "planted-shift AP, unaligned (cosine distance): independent "
             "models compared without any alignment", row["ap"], Reference("chance", chance),
             ci=(row["ap_ci_low"], row["ap_ci_high"]), n=n, metric="planted-shift AP", seeds=seeds)
    for d in diffs[diffs["a"] == "CADE"].to_dict("records"):
        b = d["b"]
        cosine = b in ("Procrustes", "unaligned")
        key = (metric_key("planted", f"cade-minus-{_KEYS[b]}", "cosine_distance", "ap") if cosine
               else metric_key("planted", f"cade-cosine-minus-{_KEYS[b]}", "ap"))
        r.compare(key, f"planted-shift AP, CADE − {b} ({'cosine distance' if cosine else f'cosine distance vs {b}'})",
                  "CADE", b, d["diff"], (d["ci_low"], d["ci_high"]), n=n, metric="planted-shift AP", seeds=seeds,
                  per_seed=d["per_seed_diffs"])


def _twec_posteriors(runs: list, slices: list[str]) -> list[list[np.ndarray]]:
    """Per training seed, per held-out slice: each sentence's posterior probability of its own slice."""
    return [[per[s]["posterior"].to_numpy() for s in slices] for _, per in runs]


def twec_table(runs: list) -> pd.DataFrame:
    """TWEC's per-slice measures averaged over the training seeds' runs (``(table, per-sentence)`` each)."""
    tables = pd.concat([t.assign(seed=i) for i, (t, _) in enumerate(runs)], ignore_index=True)
    if tables.empty:
        return tables
    agg = tables.groupby("slice", sort=False).agg(
        sentences=("sentences", "first"), words=("words", "first"), scored_share=("scored_share", "first"),
        posterior_log_probability=("posterior_log_probability", "mean"),
        chance_log_probability=("chance_log_probability", "first"), nll_cade=("nll_cade", "mean"),
        nll_cade_seed_min=("nll_cade", "min"), nll_cade_seed_max=("nll_cade", "max"),
        nll_compass=("nll_compass", "first"), seeds=("seed", "nunique"))
    if len(runs) == 1:                                    # one seed: no range to show
        agg = agg.drop(columns=["nll_cade_seed_min", "nll_cade_seed_max"])
    return agg.reset_index()


# the two held-out evaluations: TWEC's score of the reported models, and the hierarchical-softmax extra
TWEC_KINDS = {"twec": ("twec_heldout", "TWEC", "TWEC's negative-sampling score", "CADE slice models"),
              "twec-hs": ("twec_heldout_hs", "Extra (hierarchical-softmax models, one seed)",
                          "hierarchical-softmax log-likelihood", "hierarchical-softmax CADE slice models")}


def twec_headlines(r: Results, runs: list, names: list, cfg: Config, kind: str = "twec") -> None:
    """The mean posterior log probability of the right slice against chance, and CADE slice minus static compass
    normalised log-likelihood, over the training seeds' CADE slices (``runs``: one held-out result per seed, all
    on one compass); ``kind``: TWEC's score of the reported models, or the hierarchical-softmax extra."""
    table_name, title, score, models = TWEC_KINDS[kind]
    twec = r.tables.get(table_name)
    if twec is None or twec.empty:
        r.mark_unavailable(table_name, "evaluation", "no held-out sentence has a word of every slice model")
        return
    for row in twec.itertuples():
        r.metrics[metric_key(kind, row.slice, "posterior_log_probability")] = row.posterior_log_probability
        r.metrics[metric_key(kind, row.slice, "nll_cade")] = row.nll_cade
        r.metrics[metric_key(kind, row.slice, "nll_compass")] = row.nll_compass
    slices, seeds = list(twec["slice"]), len(runs)
    # the mean over slices, as TWEC prints it; intervals resample seeds, then each slice's sentences
    post = _twec_posteriors(runs, slices)
    per_seed = [float(np.mean([np.log(p.mean()) for p in ps])) for ps in post]
    rng = np.random.default_rng(cfg.seed)
    draws = [rng.integers(0, len(p), (cfg.n_boot, len(p))) for p in post[0]]
    boot = np.stack([np.mean([np.log(p[d].mean(axis=1)) for p, d in zip(ps, draws)], axis=0) for ps in post])
    picks = _seed_draws(seeds, cfg)
    r.headline(metric_key(kind, "mean", "posterior_log_probability"),
               f"{title}: mean posterior log probability of the right slice (CADE, held-out sentences)",
               float(np.mean(per_seed)), _interval(boot[picks, np.arange(cfg.n_boot)[:, None]].mean(axis=1)),
               n=int(twec["sentences"].sum()), reference=Reference("chance", math.log(1 / len(names))),
               metric=f"posterior log probability ({score})", seeds=seeds, per_seed=per_seed)
    cat = lambda per, col: np.concatenate([per[s][col].to_numpy() for s in slices])
    nw = cat(runs[0][1], "n_words").astype(float)
    own = [np.concatenate([per[s][f"ll_{s}"].to_numpy() for s in slices]) for _, per in runs]
    ll_s = cat(runs[0][1], "ll_compass")
    nll = lambda ll, n: ll.sum() / n.sum()
    diffs = [nll(ll, nw) - nll(ll_s, nw) for ll in own]
    r.compare(metric_key(kind, "cade-minus-compass", "nll"),
              f"{title}: normalised log-likelihood, CADE slice − static compass (held-out words)", models,
              "the static compass", float(np.mean(diffs)),
              stats.seeded_diff_ci([(ll, nw) for ll in own], [(ll_s, nw)], stat=nll, n_boot=cfg.n_boot, seed=cfg.seed),
              n=len(nw), metric=f"normalised log-likelihood ({score}, nats per word)", seeds=seeds, per_seed=diffs)


# --------------------------------------------------------------------------- diagnosis, notes, papers

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


def notes(r: Results, cfg: Config) -> None:
    """Where this run differs from the papers: our trainer, the training seeds, TWEC's score, the slices."""
    r.notes.append("Slices are trained by our Numba frozen-context trainer (gensim 4 cannot freeze the context matrix); "
                   "it mirrors gensim's CBOW step (sigmoid table indexed as gensim's C code does, subsampling, reduced "
                   "windows, linear learning-rate decay); slice start vectors are seeded per word, the same in every "
                   "slice, as gensim 3 did for the reference code.")
    r.notes.append(seeds_note(cfg))
    if cfg.heldout_fraction > 0:
        r.notes.append("TWEC's held-out evaluation scores the negative-sampling compass and CADE slices that produce the "
                       "shift rankings with TWEC's own negative-sampling score (its gensim fork's score_sentence_cbow "
                       "with negative > 0: log σ of the target plus the mean log σ of minus each of `negative` drawn "
                       "words, full window, each model's own unigram^0.75 table), reimplemented as a Numba kernel. It is "
                       "a sampled estimate, not a normalised probability: its values compare this run's models with "
                       "each other (the negatives are drawn from one seeded stream, the same for every model), not "
                       "with published likelihoods. Independent per-slice models are not in this evaluation: their "
                       "vocabularies differ, so their scores are not comparable (TWEC's code refuses models of "
                       "different vocabularies).")
        if cfg.hs_likelihood:
            r.notes.append("Extra, labelled as such: a second compass and CADE slices trained with hierarchical softmax "
                           "(hs=1, negative=0, one seed, otherwise the same settings) are scored on the same held-out "
                           "words with gensim's Word2Vec.score (a normalised probability under the compass's Huffman "
                           "tree). They are not the models whose shifts are ranked; they show whether a proper "
                           "likelihood tells the slices apart where TWEC's sampled score may not.")
    if cfg.source == "bible":
        r.notes.append("The slices are translations of the same text from different centuries, not a corpus sampled "
                       "by period as in the papers (news, arXiv abstracts): what moves is spelling, register and "
                       "translation choices.")
    elif cfg.source == "turkish":
        r.notes.append("The slices are Atatürk's texts by period and modern Turkish web/wiki text: different authors, "
                       "genres and sizes, far smaller than the papers' corpora.")


def seeds_note(cfg: Config) -> str:
    """Which models are trained over the training seeds, and which numbers come from the first seed only."""
    if cfg.seeds == 1:
        return ("One training seed: every interval covers evaluation items only (sentences, words), not the "
                "variation between training runs.")
    return (f"{cfg.seeds} training seeds ({cfg.seed}..{cfg.seed + cfg.seeds - 1}): every CADE slice model is "
            f"trained once per seed on one compass, which is trained once (seed {cfg.seed}); the planted-shift models "
            "(a compass, the two CADE slices and the two independent models) are trained anew for every seed on the "
            "same planted text. Planted-shift AP and TWEC's measures are means over seeds, with intervals that "
            "resample seeds, then words or sentences. The shift rankings, trajectories, alignment and geometry "
            "diagnostics and the independent models of the slices come from the first seed; the ranking agreement "
            "table says how far the seeds' CADE rankings agree.")


def published_note() -> str:
    """What data/papers/cade.yaml says about comparable published numbers."""
    try:
        doc = paper_figures("cade")
    except ValueError:
        return "No published CADE/TWEC figures are recorded."
    comparable = doc[doc.get("comparable", pd.Series(False, index=doc.index)).astype(bool)] if len(doc) else doc
    if len(comparable):
        return ""
    return ("The CADE and TWEC papers report temporal analogy accuracy and held-out likelihood on their own news and "
            "arXiv corpora (data/papers/cade.yaml lists what could be read); no published number is computed on these "
            "slices, so none is comparable with ours and none is shown beside them.")


def explain_twec(r: Results) -> None:
    """Why TWEC's posterior can sit at chance: its score is not a probability (generated from this run's numbers,
    beside the hierarchical-softmax extra's posterior when there is one); the flag stays."""
    twec = r.tables.get("twec_heldout")
    key = metric_key("twec", "mean", "posterior_log_probability")
    if twec is None or twec.empty or not any(f.key == key for f in r.flags):
        return
    zero, lo, hi = -2 * math.log(2), twec["nll_cade"].min(), twec["nll_cade"].max()
    where = "above every trained model here" if hi < zero else "against the trained models here"
    text = (f"TWEC's negative-sampling score is a sampled estimate, not a normalised probability: a model whose vectors "
            f"were all zero would score about -2 ln 2 = {zero:.2f} per word, {where} (normalised log-likelihood "
            f"{lo:.2f} to {hi:.2f}), so the score mixes fit with the vectors' lengths and need not favour a sentence's "
            "own slice.")
    hs = {h.key: h for h in r.headlines}.get(metric_key("twec-hs", "mean", "posterior_log_probability"))
    if hs is not None and hs.reference is not None:
        text += (f" On the same words the hierarchical-softmax extra's posterior log probability is {hs.value:.2f} "
                 f"against chance {hs.reference.value:.2f}.")
    r.explain("at chance", [key], text)


def finish(r: Results, cfg: Config, planted, names: list[str]) -> None:
    """The run's last step: diagnosis (with its flags), notes, the papers' panel and the slice metrics."""
    explain_twec(r)
    r.extra["diagnosis"] = diagnose(r, cfg, planted)
    notes(r, cfg)
    r.published = None
    r.published_note = published_note()
    slice_metrics(r, names)
