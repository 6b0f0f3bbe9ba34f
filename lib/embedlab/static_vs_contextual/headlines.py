"""The declared headline comparisons of a run, each with its training seeds, a reference level and flags.

* per analogy set: the best embedding's accuracy against chance (its answerable share / the candidates), and the best
  trained static model minus the best encoder-derived embedding (accuracy and MRR@10; a question outside the
  candidates is a miss for both), resampling seeds, then word pairs (questions that share a word pair are one piece
  of evidence);
* per similarity set: the best Spearman's rho (ROC-AUC for binary labels) and the same difference;
* per tagging task: the best embedding at the largest hidden size against the majority tag, and their difference,
  resampling tagger seeds, then test sentences;
* per classification set: the best accuracy and macro-F1 against the majority class's, over the fold draws.

Every headline about a trained variant records its seeds (:meth:`embedlab.study.Results.compare`); an interval over
2+ seeds comes from :func:`embedlab.stats.seeded_diff_ci` (seeds, then items).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from .. import flags, stats
from ..study import Reference, Results, metric_key
from .seeds import is_trained, per_seed_diffs, seed_arrays, seeded_value
from .steps import FROM_ENCODER, TRAINED

ORDER_Q, ORDER_TOK, ORDER_TEXT = ("question",), ("sentence", "position"), ("item",)


def _best(values: Mapping[str, float], kinds: Mapping[str, str], kind: str | None) -> str | None:
    cand = {e: v for e, v in values.items() if (kind is None or kinds.get(e) == kind) and v is not None
            and np.isfinite(v)}
    return max(cand, key=lambda e: (cand[e], e)) if cand else None


def _seeds(names, kinds: Mapping[str, str], n: int) -> int | None:
    """The training seeds behind a headline: ``n`` when any of ``names`` is trained, else None (items only)."""
    return n if any(is_trained(e, kinds) for e in names) else None


def pair_clusters(questions: pd.DataFrame) -> np.ndarray:
    """One cluster per word pair ``(a, b)`` of a relation: the questions built on one pair stand or fall together."""
    return stats.cluster_ids(list(zip(questions["category"], questions["a"], questions["b"])))


def analogy(r: Results, set_name: str, items: pd.DataFrame, questions: pd.DataFrame, kinds: Mapping[str, str],
            method: str, n_candidates: int) -> None:
    """The best accuracy against chance, and best trained static minus best encoder-derived (accuracy, MRR@10)."""
    g = items[items["method"] == method]
    clusters = pair_clusters(questions)
    runs = {e: h for e, h in g.groupby("embedding", sort=False)}
    acc = {e: float(h["correct"].mean()) for e, h in runs.items()}
    answerable = float(g.loc[g["seed"] == 0, "answered"].mean()) if len(g) else 0.0
    best = _best(acc, kinds, None)
    if best is None or answerable == 0:
        r.flag("low coverage", f"analogy.{set_name}", f"low coverage (no question of {set_name} is answerable among "
                                                      f"the {n_candidates:,} candidates)")
        return
    value, ci, per = seeded_value(seed_arrays(runs[best], "correct", ORDER_Q), clusters)
    r.headline(metric_key(f"analogy.{set_name}", "best", "acc"),
               f"{set_name}: best {method} accuracy ({best}; {n_candidates:,} candidates, {answerable:.0%} of the "
               "questions answerable, the rest misses)", value, ci, n=len(questions),
               reference=Reference("chance", answerable / max(n_candidates - 3, 1)), ceiling=1.0,
               coverage=answerable, metric=f"{method} accuracy", seeds=_seeds([best], kinds, len(per)),
               per_seed=per if is_trained(best, kinds) else None)
    a, b = _best(acc, kinds, TRAINED), _best(acc, kinds, FROM_ENCODER)
    if a is None or b is None:
        return
    for col, metric in (("correct", "accuracy"), ("rr", "MRR@10")):
        ra, rb = seed_arrays(runs[a], col, ORDER_Q), seed_arrays(runs[b], col, ORDER_Q)
        per = per_seed_diffs(ra, rb)
        r.compare(metric_key(f"analogy.{set_name}", "best-static-minus-best-encoder", metric),
                  f"{set_name}: best trained static minus best encoder-derived ({metric})", a=a, b=b,
                  diff=float(np.mean([x.mean() for x in ra]) - np.mean([x.mean() for x in rb])),
                  ci=stats.seeded_diff_ci(ra, rb, clusters=clusters), n=len(questions),
                  metric=f"{set_name} {method} {metric} ({n_candidates:,} candidates; resampling word pairs)",
                  extra_flags=[flags.low_coverage(answerable)], seeds=_seeds([a, b], kinds, len(per)),
                  per_seed=per)


def _auc_over_draws(pred: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """:func:`_auc` of each row pair: the Mann-Whitney U over average ranks (ties count a half, as scikit-learn's
    trapezoids), NaN where a row has one class."""
    from scipy.stats import rankdata

    pos = gold == gold.max(axis=1, keepdims=True)
    n_pos = pos.sum(axis=1)
    n_neg = pos.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((rankdata(pred, axis=1) * pos).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)



@stats.over_draws(_auc_over_draws)
def _auc(pred, gold) -> float:
    from sklearn.metrics import roc_auc_score

    gold = np.asarray(gold)
    return float(roc_auc_score(gold == gold.max(), pred)) if len(np.unique(gold)) == 2 else float("nan")


def similarity_stat(gold) -> tuple[str, object]:
    """The metric of a similarity set: ROC-AUC where its labels are binary, else Spearman's rho."""
    return ("roc-auc", _auc) if len(np.unique(gold)) == 2 else ("spearman", stats.spearman)


def similarity_runs(frames: list[pd.DataFrame], emb: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per seed, (cosines, gold) of one embedding (the seeds where it has a column)."""
    return [(f[emb].to_numpy(float), f["score"].to_numpy(float)) for f in frames if emb in f]


def similarity(r: Results, set_name: str, frames: list[pd.DataFrame], kinds: Mapping[str, str], pairs: int
               ) -> dict[str, tuple]:
    """The best rho / AUC against chance and best trained static minus best encoder-derived; returns every
    embedding's (value, interval, per-seed values) for the tables."""
    gold = frames[0]["score"].to_numpy(float)
    if len(gold) < 3:
        return {}
    metric, stat = similarity_stat(gold)
    ref_run = (gold, gold)                                 # a prediction equal to gold scores 1
    out = {e: seeded_value(similarity_runs(frames, e), stat=stat, reference_run=ref_run, reference_value=1.0)
           for e in kinds if e in frames[0]}
    vals = {e: v[0] for e, v in out.items()}
    best = _best(vals, kinds, None)
    cov = len(gold) / max(pairs, 1)
    r.headline(metric_key(f"similarity.{set_name}", "best", metric), f"{set_name}: best {metric} ({best})",
               vals[best], out[best][1], n=len(gold), reference=Reference("chance", 0.5 if metric == "roc-auc" else 0.0),
               ceiling=1.0, coverage=cov, metric=metric, seeds=_seeds([best], kinds, len(out[best][2])),
               per_seed=out[best][2] if is_trained(best, kinds) else None)
    a, b = _best(vals, kinds, TRAINED), _best(vals, kinds, FROM_ENCODER)
    if a and b:
        ra, rb = similarity_runs(frames, a), similarity_runs(frames, b)
        per = per_seed_diffs(ra, rb, stat)
        r.compare(metric_key(f"similarity.{set_name}", "best-static-minus-best-encoder", metric),
                  f"{set_name}: best trained static minus best encoder-derived ({metric})", a=a, b=b,
                  diff=vals[a] - vals[b], ci=stats.seeded_diff_ci(ra, rb, stat=stat), n=len(gold),
                  metric=f"{set_name} {metric}", extra_flags=[flags.low_coverage(cov)],
                  seeds=_seeds([a, b], kinds, len(per)), per_seed=per)
    return out


def tagging(r: Results, task: str, tokens: pd.DataFrame, table: pd.DataFrame, majority: str, h_max: int) -> None:
    """The best tagger at hidden size ``h_max`` against the majority tag, and their difference (seeds, then test
    sentences)."""
    top = table[(table["hidden_size"] == h_max) & (table["embedding"] != majority)]
    best = top.loc[top["accuracy"].idxmax(), "embedding"]
    tok = tokens[tokens["task"] == task]
    runs = seed_arrays(tok[(tok["embedding"] == best) & (tok["hidden_size"] == h_max)], "correct", ORDER_TOK)
    base = tok[(tok["embedding"] == majority) & (tok["seed"] == tok["seed"].min())]
    maj = seed_arrays(base, "correct", ORDER_TOK)[:1]
    clusters = base.sort_values(list(ORDER_TOK))["sentence"].to_numpy()
    value, ci, per = seeded_value(runs, clusters)
    r.headline(metric_key(f"tagging.{task}", "best", f"acc-h{h_max}"),
               f"{task}: best tagging accuracy at hidden size {h_max} ({best})", value, ci, n=len(clusters),
               reference=Reference("majority", float(maj[0].mean())), ceiling=1.0, metric="token accuracy",
               seeds=len(per), per_seed=per)
    r.compare(metric_key(f"tagging.{task}", "best-minus-majority-tag", f"acc-h{h_max}"),
              f"{task}: best tagger at hidden size {h_max} minus the majority tag", a=best, b=majority,
              diff=value - float(maj[0].mean()), ci=stats.seeded_diff_ci(runs, maj, clusters=clusters),
              n=len(clusters), metric="token accuracy (resampling tagger seeds, then test sentences)",
              seeds=len(per), per_seed=per_seed_diffs(runs, maj))


def classification(r: Results, task: str, table: pd.DataFrame, majority: str) -> None:
    """The best accuracy and the best macro-F1 (full embeddings, over the fold draws) against the majority class's."""
    full = table[(table["variant"] == "full") & (table["embedding"] != majority)]
    maj = table[table["embedding"] == majority].iloc[0]
    for col, metric, key in (("accuracy", "accuracy", "acc"), ("macro_f1", "macro-F1", "macro-f1")):
        best = full.loc[full[col].idxmax()]
        r.headline(metric_key(f"classification.{task}", "best", key),
                   f"{task}: best classification {metric}, {int(best['folds'])}-fold CV x {int(best['seeds'])} fold "
                   f"draws ({best['embedding']})", float(best[col]), (best[f"{col}_lo"], best[f"{col}_hi"]),
                   n=int(best["n"]), reference=Reference("majority", float(maj[col])), ceiling=1.0, metric=metric,
                   seeds=int(best["seeds"]), per_seed=list(best[f"{col}_per_seed"]))
