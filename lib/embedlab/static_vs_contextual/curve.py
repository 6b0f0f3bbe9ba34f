"""Corpus-size learning curve: trained static models and X2Static at growing fractions of the run's corpus, against
the encoder-only methods (which need no corpus), on the same analogy questions.

Nothing is encoded again: a fraction's sentences are part of the main run's corpus, so X2Static's teacher vectors are
rows of the main context pass (:func:`embedlab.extract.x2static_embeddings`), which pooled only the sentence vectors
this needs. The static models of a fraction train two at a time (:func:`.steps.train_static_jobs`).

Every point scores the questions of the main comparison (those all full-corpus embeddings answer); a question whose
words a smaller-corpus model lacks counts as a miss, so the points are comparable along a line and with the flat
encoder-only lines. The candidate words are the shared vocabulary (less what a smaller model lacks; gensim fastText
builds vectors for unseen words from character n-grams, as in the main comparison).

The crossing sentence is an **extrapolation**: a straight line through a model's points in log10(tokens), carried
to where it would meet the best encoder-only method. It says what the papers' ordering (static above encoder-only)
would need in this setting if the trend held, nothing more.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import extract, progress, static
from ..evaluate import analogy
from ..study import Results, metric_key
from .config import Config
from .data import take_tokens
from .headlines import pair_clusters
from .seeds import seeded_value
from .steps import FROM_ENCODER, TRAINED, analogy_items, train_static_models, x2static_options

#: the extraction methods that need no corpus (flat lines of the curve)
ENCODER_ONLY = tuple(m for m in extract.METHODS if m not in extract.CONTEXT_METHODS)
#: beyond 10^12 tokens (more text than any corpus the papers use) a crossing is reported as none
MAX_LOG_TOKENS = 12


def _family(name: str) -> str:
    return name.split("/")[-1].split("@")[0]


def learning_curve(r: Results, cfg: Config, inputs, embs, info: pd.DataFrame, items) -> pd.DataFrame:
    """Points (set, embedding, fraction, tokens, accuracy over the static seeds with its interval) into
    ``r.tables['learning_curve']``, the crossing sentences into ``r.extra['curve_sentences']``.

    ``items``: the main comparison's analogy items of every static seed (a ``seed`` column). Each fraction trains
    the growing models once per static seed (``cfg.seed + i``, as the main comparison); a point is their mean, with
    an interval that resamples seeds, then word-pair clusters of questions (:func:`.seeds.seeded_value`)."""
    words = list(next(iter(embs.values())).index_to_key)
    kinds = dict(zip(info["embedding"], info["kind"]))
    growing = [e for e in embs if kinds[e] == TRAINED or _family(e) == "x2static"]
    flat = [e for e in embs if kinds[e] == FROM_ENCODER and _family(e) in ENCODER_ONLY]
    if not growing:
        return pd.DataFrame()
    method = cfg.analogy_methods[0]
    n_full = inputs.corpus.n_tokens
    clusters = {k: pair_clusters(analogy.question_frame(a)) for k, a in inputs.sets["analogy"].items()}
    rows = []

    def score(set_name, name, kv_items, fraction, tokens):
        g = kv_items[(kv_items["method"] == method) & kv_items["in_scope"] & (kv_items["embedding"] == name)]
        per = [h.sort_values("question") for _, h in g.groupby("seed", sort=True)] if len(g) else []
        arrays = [(h["correct"] & h["answered"]).to_numpy(float) for h in per]
        acc, (lo, hi), n = float("nan"), (float("nan"), float("nan")), len(arrays[0]) if arrays else 0
        if n:
            acc, (lo, hi), _ = seeded_value(arrays, clusters=clusters[set_name][per[0]["question"].to_numpy()])
        rows.append({"set": set_name, "embedding": name, "family": _family(name),
                     "kind": "encoder-only" if name in flat else kinds.get(name, ""), "fraction": fraction,
                     "tokens": tokens, "accuracy": acc, "ci_lo": lo, "ci_hi": hi, "n": n, "seeds": len(arrays),
                     "answered": int(per[0]["answered"].sum()) if per else 0})

    for set_name, it in items.items():
        for name in growing + flat:
            score(set_name, name, it, 1.0, n_full)
    passes = {enc: d["context_pass"] for enc, d in (r.extra.get("diagnostics") or {}).items()
              if "x2static" in cfg.methods and d.get("context_pass") is not None}
    for frac in sorted(cfg.curve_fractions):
        sub = take_tokens(inputs.corpus, max(1, int(frac * n_full)), cfg.seed)
        progress.step(f"learning curve: {frac:.0%} of the corpus ({sub.n_tokens:,} tokens), {cfg.static_seeds} "
                      "static seed(s) ...")
        frames: dict[str, list[pd.DataFrame]] = {k: [] for k in inputs.sets["analogy"]}
        for i in range(cfg.static_seeds):
            c = cfg.replace(seed=cfg.seed + i)
            got = train_static_models(sub.sentences, c)
            for cp in passes.values():                       # the main pass's rows: nothing is encoded again
                got.update(extract.x2static_embeddings(cp, words, sub.sentences, x2static_options(c),
                                                       progress=True)[0])
            got = {k: static.within(v, words) for k, v in got.items() if k in growing}
            for set_name, aset in inputs.sets["analogy"].items():
                scope = items[set_name]
                first = scope[(scope["method"] == method) & (scope["embedding"] == scope["embedding"].iloc[0])
                              & (scope["seed"] == 0)]
                frames[set_name].append(analogy_items(got, aset, c, restrict=first["in_scope"].to_numpy(bool))
                                        .assign(seed=i))
        for set_name, fs in frames.items():
            it = pd.concat(fs, ignore_index=True)
            for name in growing:
                score(set_name, name, it, frac, sub.n_tokens)
    table = pd.DataFrame(rows).sort_values(["set", "kind", "embedding", "tokens"]).reset_index(drop=True)
    r.add_table("learning_curve", table)
    r.extra["curve_sentences"] = crossing_sentences(table, r)
    for row in table.itertuples():
        r.metrics[metric_key(f"curve.{row.set}.{row.fraction:g}", row.embedding.replace("/", ":"), "acc")] = \
            float(row.accuracy)
    return table


def fit_log_linear(tokens, values) -> tuple[float, float]:
    """Least-squares ``value = a + b log10(tokens)``; (a, b)."""
    x = np.log10(np.asarray(tokens, float))
    y = np.asarray(values, float)
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def crossing_sentences(table: pd.DataFrame, r: Results | None = None) -> list[str]:
    """Per set and growing model: where its fitted line in log corpus size would meet the best encoder-only method
    (an extrapolation, labelled as one), or why no crossing can be read."""
    out = []
    for set_name, g in table.groupby("set", sort=False):
        enc = g[(g["kind"] == "encoder-only") & g["accuracy"].notna()]
        if enc.empty:
            out.append(f"{set_name}: no encoder-only method scored a question, so no crossing can be read.")
            continue
        best = enc.loc[enc["accuracy"].idxmax()]
        target = float(best["accuracy"])
        for name, h in g[g["kind"] != "encoder-only"].groupby("embedding", sort=False):
            h = h[h["accuracy"].notna()].sort_values("tokens")
            if len(h) < 2:
                continue
            a, b = fit_log_linear(h["tokens"], h["accuracy"])
            last = h.iloc[-1]
            where = f"{set_name}: {name}"
            if last["accuracy"] >= target:
                out.append(f"{where} is already at or above the best encoder-only method ({best['embedding']}, "
                           f"{target:.3f}) at {int(last['tokens']):,} tokens ({last['accuracy']:.3f}).")
                continue
            if b <= 1e-6:
                out.append(f"{where}: accuracy does not rise with corpus size here (fitted slope {b:+.3f} per "
                           f"tenfold more text), so no crossing with {best['embedding']} ({target:.3f}) can be "
                           "extrapolated.")
                continue
            log_cross = (target - a) / b
            if log_cross > MAX_LOG_TOKENS:
                out.append(f"Extrapolation, not a measurement: {name}'s fitted line in log corpus size (slope {b:+.3f} "
                           f"accuracy per tenfold more text) would not reach {best['embedding']} ({target:.3f}) on "
                           f"{set_name} below 10^{MAX_LOG_TOKENS} tokens: no crossing within any corpus size.")
                continue
            times = 10 ** log_cross / float(last["tokens"])
            msg = (f"Extrapolation, not a measurement: a straight line through {name}'s {len(h)} points in log corpus "
                   f"size (slope {b:+.3f} accuracy per tenfold more text) would reach {best['embedding']} "
                   f"({target:.3f}) on {set_name} at about {10 ** log_cross:.2g} tokens, {times:.3g}x this corpus.")
            out.append(msg)
            if r is not None and math.isfinite(log_cross):
                r.metrics[metric_key(f"curve.{set_name}", name.replace("/", ":"), "crossing-log10-tokens")] = log_cross
    return out
