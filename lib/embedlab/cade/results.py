"""What the CADE study's numbers say: metrics, headlines (planted-shift AP against chance, CADE minus each
baseline; TWEC's held-out likelihood), the generated diagnosis of the run's regime, notes and the papers' panel."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from embedlab import stats
from embedlab.papers import paper_figures
from embedlab.study import Reference, Results, metric_key

from .config import Config
from .shift import LABELS

DEGENERATE_COSINE = 0.9  # mean cosine of random word pairs above which a slice's vectors all point one way
_LABEL = {"cade": "CADE", "procrustes": "Procrustes", "unaligned": "unaligned"}


def _ap(y, s):
    return stats.average_precision(y, s)


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

def planted_headlines(r: Results, scores: pd.DataFrame, table: pd.DataFrame, cfg: Config) -> None:
    """AP of each method x measure at finding the planted words (intervals added to ``table``), chance, and CADE
    minus each baseline with paired intervals."""
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
    for method, measure in shown:
        row = table[(table["method"] == method) & (table["measure"] == measure)].iloc[0]
        name = _LABEL[method] if measure == "cosine_distance" else ("independent" if method != "cade" else "CADE")
        r.headline(metric_key("planted", method, measure, "ap"),
                   f"planted-shift AP, {name} ({LABELS[measure]})", row["ap"], (row["ap_ci_low"], row["ap_ci_high"]),
                   n=n, reference=Reference("chance", chance), metric="planted-shift AP")
    for other in ("procrustes", "unaligned"):
        a, b = scores["cade/cosine_distance"].to_numpy(), scores[f"{other}/cosine_distance"].to_numpy()
        r.compare(metric_key("planted", f"cade-minus-{other}", "cosine_distance", "ap"),
                  f"planted-shift AP, CADE − {_LABEL[other]} (cosine distance)", "CADE", _LABEL[other],
                  _ap(y, a) - _ap(y, b), stats.paired_diff_ci(_ap, [y, a], [y, b], n_boot=cfg.n_boot, seed=cfg.seed),
                  n=n, metric="planted-shift AP (cosine distance)")


def twec_headlines(r: Results, twec: pd.DataFrame, per_sentence: dict, names: list, cfg: Config) -> None:
    """TWEC's mean posterior log probability against chance, and CADE slice minus static compass likelihood."""
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
    """Where this run differs from the papers: our trainer, TWEC's hierarchical-softmax models, the slices."""
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
        doc = paper_figures("cade")
    except ValueError:
        return "No published CADE/TWEC figures are recorded."
    comparable = doc[doc.get("comparable", pd.Series(False, index=doc.index)).astype(bool)] if len(doc) else doc
    if len(comparable):
        return ""
    return ("The CADE and TWEC papers report temporal analogy accuracy and held-out likelihood on their own news and "
            "arXiv corpora (data/papers/cade.yaml lists what could be read); no published number is computed on these "
            "slices, so none is comparable with ours and none is shown beside them.")


def finish(r: Results, cfg: Config, planted, names: list[str]) -> None:
    """The run's last step: diagnosis (with its flags), notes, the papers' panel and the slice metrics."""
    r.extra["diagnosis"] = diagnose(r, cfg, planted)
    notes(r, cfg)
    r.published = None
    r.published_note = published_note()
    slice_metrics(r, names)
