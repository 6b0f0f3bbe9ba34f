"""Tables with n, coverage and 95% intervals, the declared headline comparisons, metrics, the papers' panel and
the generated notes on where a run differs from the papers.

Headlines (each with its flags: at chance / majority, low coverage, tiny n, ceiling):
* per analogy set: the best trained static model minus the best encoder-derived embedding, accuracy and MRR@10
  of the first analogy method, paired bootstrap interval over the questions; and the best embedding's accuracy
  against chance (1 / candidates) with its coverage;
* per similarity set: the same difference in Spearman's rho (ROC-AUC for a set with binary labels), paired
  interval over the pairs;
* per tagging task: the best embedding's accuracy at the largest hidden size against the majority tag;
* per classification set: the best embedding's accuracy against the majority class.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from .. import flags, stats, userfiles
from ..study import Reference, Results, metric_key
from .config import Config
from .steps import FROM_ENCODER, TRAINED


def set_label(name: str) -> str:
    """A short, file-name-safe label of an evaluation set (``file:/x/verb.txt`` -> ``file-verb-<8 hex digits of
    its contents' sha256>``: two files of one name never share a label)."""
    return userfiles.label(name) if name.startswith("file:") else name


def key_name(embedding: str) -> str:
    """An embedding name inside a metric key (``/`` would split the key)."""
    return embedding.replace("/", ":")


def count_ci(k: int, n: int) -> tuple[float, float]:
    """Bootstrap interval of an accuracy known only by its counts (the bootstrap of a 0/1 vector needs no more)."""
    if n < 2:
        return (float("nan"), float("nan"))
    return stats.mean_ci(np.r_[np.ones(int(k)), np.zeros(int(n - k))])


def analogy_candidates(r: Results, vocab=()) -> int:
    """The words an analogy answer is chosen among: the shared words every embedding keeps (``vocab`` before
    the embeddings exist)."""
    embs = r.extra.get("embeddings")
    return len(next(iter(embs.values()))) if embs else len(vocab)


def analogy_chance(n_candidates: int) -> float:
    """Chance accuracy of an analogy question: one over the candidates less the question's three words."""
    return 1.0 / max(n_candidates - 3, 1)


def analogy_chance_label(r: Results) -> tuple[float, str]:
    """This run's analogy chance level and its label for a table (``chance = 1/N``)."""
    n = analogy_candidates(r)
    return analogy_chance(n), f"chance = 1/{n - 3}"


def _binary(gold: np.ndarray) -> bool:
    return len(np.unique(gold)) == 2


def _auc(gold, pred) -> float:
    from sklearn.metrics import roc_auc_score

    gold = np.asarray(gold)
    return float(roc_auc_score(gold == gold.max(), pred)) if _binary(gold) else float("nan")


# --------------------------------------------------------------------------- analogies

def analogy_summary(items: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """Per embedding, method and category (plus ``overall``): questions, answered in scope (``n``), coverage,
    accuracy and MRR@k with 95% intervals on the overall rows."""
    rows = []
    for (emb, method), g in items.groupby(["embedding", "method"], sort=False):
        for cat, h in list(g.groupby("category", sort=False)) + [("overall", g)]:
            ans = h[h["answered"] & h["in_scope"]]
            row = {"embedding": emb, "method": method, "category": cat, "questions": len(h), "n": len(ans),
                   "coverage": len(ans) / max(len(h), 1),
                   "accuracy": ans["correct"].mean() if len(ans) else np.nan,
                   f"mrr@{k}": ans["rr"].mean() if len(ans) else np.nan}
            if cat == "overall":
                row["acc_lo"], row["acc_hi"] = stats.mean_ci(ans["correct"].to_numpy(float))
                row["mrr_lo"], row["mrr_hi"] = stats.mean_ci(ans["rr"].to_numpy(float))
            rows.append(row)
    return pd.DataFrame(rows)


def group_summary(items: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """Per embedding, method and group (the Turkish paper's verb / noun / semantic folders): MRR@k over the group's
    questions in scope, a question the embedding cannot answer scoring 0 as in the paper, with its interval."""
    rows = []
    scope = items[items["in_scope"]]
    for (emb, method, group), g in scope.groupby(["embedding", "method", "group"], sort=False):
        rr = np.where(g["answered"], g["rr"], 0.0).astype(float)
        lo, hi = stats.mean_ci(rr)
        rows.append({"embedding": emb, "method": method, "group": group, "n": len(g),
                     "answered": int(g["answered"].sum()), f"mrr@{k}": rr.mean() if len(rr) else np.nan,
                     "mrr_lo": lo, "mrr_hi": hi})
    return pd.DataFrame(rows)


def _best(values: Mapping[str, float], kinds: Mapping[str, str], kind: str) -> str | None:
    cand = {e: v for e, v in values.items() if kinds.get(e) == kind and v is not None and np.isfinite(v)}
    return max(cand, key=lambda e: (cand[e], e)) if cand else None


def _analogy_headlines(r: Results, set_name: str, items: pd.DataFrame, kinds: Mapping[str, str], method: str,
                       n_candidates: int) -> None:
    g = items[(items["method"] == method) & items["in_scope"]]
    n_questions = int(len(items[(items["method"] == method)]) / max(items["embedding"].nunique(), 1))
    per = {e: h[h["answered"]] for e, h in g.groupby("embedding", sort=False)}
    acc = {e: h["correct"].mean() if len(h) else np.nan for e, h in per.items()}
    best_all = max((e for e in acc if np.isfinite(acc[e])), key=lambda e: (acc[e], e), default=None)
    if best_all is None:
        r.flag("low coverage", f"analogy.{set_name}", f"low coverage (no question of {set_name} is answerable)")
        return
    h = per[best_all]
    cov = len(h) / max(n_questions, 1)
    r.headline(metric_key(f"analogy.{set_name}", "best", "acc"), f"{set_name}: best {method} accuracy ({best_all})",
               acc[best_all], stats.mean_ci(h["correct"].to_numpy(float)), n=len(h),
               reference=Reference("chance", analogy_chance(n_candidates)), ceiling=1.0, coverage=cov,
               metric=f"{method} accuracy")
    a, b = _best(acc, kinds, TRAINED), _best(acc, kinds, FROM_ENCODER)
    if a is None or b is None:
        return
    both = per[a][["question", "correct", "rr"]].merge(per[b][["question", "correct", "rr"]], on="question",
                                                         suffixes=("_a", "_b"))
    cov_flag = flags.low_coverage(len(both) / max(n_questions, 1))
    for col, metric in (("correct", "accuracy"), ("rr", "MRR@10")):
        x, y = both[f"{col}_a"].to_numpy(float), both[f"{col}_b"].to_numpy(float)
        r.compare(metric_key(f"analogy.{set_name}", "best-static-minus-best-encoder", metric),
                  f"{set_name}: best trained static minus best encoder-derived ({metric})", a=a, b=b,
                  diff=float(x.mean() - y.mean()) if len(x) else float("nan"),
                  ci=stats.paired_mean_diff_ci(x, y), n=len(x), metric=f"{set_name} {method} {metric}",
                  extra_flags=[cov_flag])


# --------------------------------------------------------------------------- the filling

def fill(r: Results, cfg: Config, inputs, info: pd.DataFrame, items: Mapping[str, pd.DataFrame],
         sims: Mapping[str, pd.DataFrame], tags: pd.DataFrame, classes: pd.DataFrame) -> None:
    """Tables, metrics and headlines of every evaluation into ``r``."""
    kinds = dict(zip(info["embedding"], info["kind"]))
    n_cand = analogy_candidates(r, inputs.vocab)
    long = []

    def add(task, set_name, metric, emb, value, ci=(np.nan, np.nan), n=None, coverage=None):
        long.append({"task": task, "set": set_name, "metric": metric, "embedding": emb,
                     "kind": kinds.get(emb, "baseline"), "value": value, "ci_lo": ci[0], "ci_hi": ci[1], "n": n,
                     "coverage": coverage})
        if emb in kinds and value is not None and np.isfinite(value):
            r.metrics[metric_key(f"{task}.{set_name}", key_name(emb), metric)] = float(value)

    summaries = []
    for set_name, it in items.items():
        s = analogy_summary(it).assign(set=set_name)
        summaries.append(s)
        for row in s[s["category"] == "overall"].rename(columns={"mrr@10": "mrr"}).itertuples():
            add("analogy", set_name, f"{row.method} acc", row.embedding, row.accuracy, (row.acc_lo, row.acc_hi),
                row.n, row.coverage)
            add("analogy", set_name, f"{row.method} mrr@10", row.embedding, row.mrr,
                (row.mrr_lo, row.mrr_hi), row.n, row.coverage)
        _analogy_headlines(r, set_name, it, kinds, cfg.analogy_methods[0], n_cand)
    if summaries:
        r.add_table("analogy_summary", pd.concat(summaries, ignore_index=True))
    groups = [group_summary(it).assign(set=name) for name, it in items.items() if "group" in it]
    if groups:
        r.add_table("analogy_groups", pd.concat(groups, ignore_index=True))

    sim_rows = []
    for set_name, df in sims.items():
        gold = df["score"].to_numpy(float)
        pairs = len(inputs.sets["similarity"][set_name].pairs)
        binary = _binary(gold) if len(df) else False
        metric = "roc-auc" if binary else "spearman"
        vals, cis = {}, {}
        for emb in kinds:
            if emb not in df or len(df) < 3:
                continue
            pred = df[emb].to_numpy(float)
            v = _auc(gold, pred) if binary else stats.spearman(pred, gold)
            ci = stats.bootstrap_ci(_auc, gold, pred) if binary else stats.spearman_ci(pred, gold)
            vals[emb], cis[emb] = v, ci
            add("similarity", set_name, metric, emb, v, ci, len(df), len(df) / max(pairs, 1))
            sim_rows.append({"set": set_name, "embedding": emb, "metric": metric, "value": v, "ci_lo": ci[0],
                             "ci_hi": ci[1], "n": len(df), "coverage": len(df) / max(pairs, 1)})
        if not vals:
            continue
        best = max(vals, key=lambda e: (vals[e], e))
        ref = Reference("chance", 0.5 if binary else 0.0)
        r.headline(metric_key(f"similarity.{set_name}", "best", metric), f"{set_name}: best {metric} ({best})",
                   vals[best], cis[best], n=len(df), reference=ref, ceiling=1.0, coverage=len(df) / max(pairs, 1), metric=metric)
        a, b = _best(vals, kinds, TRAINED), _best(vals, kinds, FROM_ENCODER)
        if a and b:
            pa, pb = df[a].to_numpy(float), df[b].to_numpy(float)
            ci = (stats.paired_diff_ci(_auc, [gold, pa], [gold, pb]) if binary
                  else stats.paired_spearman_diff_ci(pa, pb, gold))
            r.compare(metric_key(f"similarity.{set_name}", "best-static-minus-best-encoder", metric),
                      f"{set_name}: best trained static minus best encoder-derived ({metric})", a=a, b=b,
                      diff=vals[a] - vals[b], ci=ci, n=len(df), metric=f"{set_name} {metric}",
                      extra_flags=[flags.low_coverage(len(df) / max(pairs, 1))])
    if sim_rows:
        r.add_table("similarity", pd.DataFrame(sim_rows))

    tags, tokens = tags if isinstance(tags, tuple) else (tags, pd.DataFrame())
    if not tags.empty:
        from ..evaluate.tagging import MAJORITY as MAJ_TAG

        tag_rows = []
        h_max = int(tags.loc[tags["embedding"] != MAJ_TAG, "hidden_size"].max())
        for task, g in tags.groupby("task", sort=False):
            tok = tokens[tokens["task"] == task] if len(tokens) else tokens
            per = {k: v["correct"].to_numpy(float) for k, v in tok.groupby(["embedding", "hidden_size"])} \
                if len(tok) else {}
            maj = g[g["embedding"] == MAJ_TAG]
            maj_acc = float(maj["accuracy"].iloc[0]) if len(maj) else float("nan")
            for row in g.itertuples():
                c = per.get((row.embedding, row.hidden_size))
                n = len(c) if c is not None else int(getattr(row, "test_tokens", 0) or 0)
                ci = stats.mean_ci(c) if c is not None else count_ci(round(row.accuracy * n), n)
                is_maj = row.embedding == MAJ_TAG
                tag_rows.append({"task": task, "embedding": row.embedding, "hidden_size": None if is_maj else
                                 row.hidden_size, "accuracy": row.accuracy, "ci_lo": ci[0], "ci_hi": ci[1], "n": n,
                                 "macro_f1": getattr(row, "macro_f1", np.nan), "oov_rate": getattr(row, "oov_rate", np.nan),
                                 "unseen_rate": getattr(row, "unseen_rate", np.nan)})
                if is_maj or row.hidden_size == h_max:
                    oov = getattr(row, "oov_rate", np.nan)
                    add("tagging", task, f"acc h={h_max}", row.embedding, row.accuracy, ci, n,
                        None if is_maj or not np.isfinite(oov) else 1 - oov)
            top = g[(g["hidden_size"] == h_max) & (g["embedding"] != MAJ_TAG)]
            best = top.loc[top["accuracy"].idxmax()]
            c = per.get((best["embedding"], best["hidden_size"]))
            n = len(c) if c is not None else tag_rows[-1]["n"]
            r.headline(metric_key(f"tagging.{task}", "best", f"acc-h{h_max}"),
                       f"{task}: best tagging accuracy at hidden size {h_max} ({best['embedding']})",
                       float(best["accuracy"]), stats.mean_ci(c) if c is not None else
                       count_ci(round(best["accuracy"] * n), n), n=n,
                       reference=Reference("majority", maj_acc), ceiling=1.0, metric="token accuracy")
        r.add_table("tagging", pd.DataFrame(tag_rows))

    classes, preds = classes if isinstance(classes, tuple) else (classes, pd.DataFrame())
    if not classes.empty:
        from ..evaluate.classification import MAJORITY as MAJ_CLASS

        cls_rows = []
        for task, g in classes.groupby("task", sort=False):
            for row in g.itertuples():
                ci = (row.accuracy_lo, row.accuracy_hi)
                cls_rows.append({"task": task, "embedding": row.embedding, "variant": row.variant,
                                 "accuracy": row.accuracy, "ci_lo": ci[0], "ci_hi": ci[1], "n": row.n,
                                 "folds": row.folds, "fold_accuracy_sd": row.fold_accuracy_sd,
                                 "macro_f1": row.macro_f1})
                add("classification", f"{task}.{row.variant}" if row.embedding != MAJ_CLASS else f"{task}.full",
                    "acc", row.embedding, row.accuracy, ci, row.n,
                    row.token_coverage if np.isfinite(row.token_coverage) else None)
            maj = g[g["embedding"] == MAJ_CLASS]
            maj_acc = float(maj["accuracy"].iloc[0]) if len(maj) else float("nan")
            full = g[(g["variant"] == "full") & (g["embedding"] != MAJ_CLASS)]
            best = full.loc[full["accuracy"].idxmax()]
            r.headline(metric_key(f"classification.{task}", "best", "acc"),
                       f"{task}: best classification accuracy, {int(best['folds'])}-fold CV ({best['embedding']})",
                       float(best["accuracy"]), (best["accuracy_lo"], best["accuracy_hi"]), n=int(best["n"]),
                       reference=Reference("majority", maj_acc), ceiling=1.0, metric="accuracy")
        r.add_table("classification", pd.DataFrame(cls_rows))

    r.add_table("results", pd.DataFrame(long))
    r.add_table("summary", summary_table(pd.DataFrame(long)))


def summary_table(long: pd.DataFrame) -> pd.DataFrame:
    """One row per embedding (and baseline), one column per task/set/metric: the value with its interval."""
    if long.empty:
        return long

    def cell(row):
        v = row["value"]
        if v is None or not np.isfinite(v):
            return "–"
        ci = f" [{row['ci_lo']:.3f}, {row['ci_hi']:.3f}]" if np.isfinite(row["ci_lo"]) else ""
        return f"{v:.3f}{ci}"

    df = long.assign(column=long["task"] + " " + long["set"] + " " + long["metric"], cell=long.apply(cell, axis=1))
    wide = df.pivot_table(index=["embedding", "kind"], columns="column", values="cell", aggfunc="first", sort=False)
    ns = df.groupby("column", sort=False).agg(n=("n", "max"), coverage=("coverage", "max"))
    wide.loc[("n (coverage)", ""), :] = [f"{int(ns.at[c, 'n']) if pd.notna(ns.at[c, 'n']) else '–'}"
                                         f" ({ns.at[c, 'coverage']:.0%})" if pd.notna(ns.at[c, "coverage"]) else
                                         f"{ns.at[c, 'n']}" for c in wide.columns]
    return wide


# --------------------------------------------------------------------------- papers

_PAPER_NOTE = {
    "tr": "Sarıtaş, Öz & Güngör 2024, the authors' repository (2023 numbers): MRR over the top 10 on Güngör et al.'s "
          "syntactic and Kurt's semantic sets, Spearman x100 on WordSimTr/AnlamVer; BERTurk-based encoders, corpora "
          "of billions of tokens.",
    "hu": "Gedeon 2025, the authors' analogy notebook: overall MRR@10 and accuracy (3CosAdd, 13,250 questions); "
          "huBERT / XLM-R, a large Hungarian corpus.",
    "mr": "The Marathi paper publishes no table we could read; its qualitative claim is shown (first-layer BERT "
          "beats fastText; SVD compression hurts BERT).",
    "en": "No published numbers for the English control: it checks the pipeline on a language where the "
          "evaluation sets are standard, and none of the papers reports English.",
}


def published(r: Results, cfg: Config) -> None:
    """The papers' numbers for this language (``data/papers/static_vs_contextual.yaml``) into the panel."""
    from ..papers import paper_figures

    try:
        df = paper_figures("static_vs_contextual", language=cfg.language)
    except ValueError:
        df = pd.DataFrame()
    cols = [c for c in ("model", "method", "task", "dataset", "metric", "value", "source", "commit") if c in df.columns]
    r.published = df[cols] if len(df) else None
    note = _PAPER_NOTE.get(cfg.language, "")
    if len(df):
        note += " Setting: " + " / ".join(dict.fromkeys(df["setting"])) + ". How ours differs: " + \
            " / ".join(dict.fromkeys(df["differs"])) + "."
    r.published_note = note


def differences(r: Results, cfg: Config, inputs) -> None:
    """Generated notes: where this run's setting differs from the papers'."""
    n = inputs.corpus.n_tokens
    r.notes.append(f"Corpus size regime: the static models and X2Static train on {n:,} tokens "
                   f"(10^{math.log10(max(n, 1)):.1f}); the papers train on 10^8 to 10^9 tokens. The learning curve "
                   "shows how the ordering moves with corpus size.")
    if cfg.encoders:
        r.notes.append(f"Encoders: {', '.join(cfg.encoders)} where the papers use monolingual or larger models "
                       "(BERTurk, huBERT, XLM-R, MuRIL / MahaBERT).")
    if cfg.static_dim != 300:
        r.notes.append(f"Static models have {cfg.static_dim} dimensions and {cfg.static_epochs} epochs (the papers: "
                       "300 dimensions, 5-15 epochs).")
    sets = inputs.sets["analogy"]
    if "treebank" in sets:
        r.notes.append("Analogy questions are mined from a treebank (lemma + feature pairs), not the papers' sets "
                       "(Güngör et al.'s syntactic set, Kurt's semantic set; Gedeon's Hungarian set).")
    if "bible-morph" in sets:
        r.notes.append("Hungarian analogies (bible-morph) are mined from the RÚF Bible, the training corpus itself, "
                       "not the paper's 13,250-question set.")
    if any(k.startswith("tr-paper") for k in sets):
        r.notes.append("The Turkish paper's analogy files are scored with MRR@10 per group like the paper, but over "
                       "our shared vocabulary (questions outside it are not answerable).")
    if cfg.methods and "aggregate-cls" in cfg.methods:
        cap = "every context of each word in the corpus" if cfg.max_contexts is None else \
            f"up to {cfg.max_contexts} contexts per word"
        r.notes.append(f"Aggregate vectors average {cap} (Bommasani et al.: up to 100k; the Hungarian code: every "
                       "sentence), sampled from this run's much smaller corpus.")
    if inputs.sets["classification"]:
        r.notes.append(f"Classification: {cfg.classification_folds}-fold stratified cross-validation over at most "
                       f"{cfg.max_classification_texts or 'all'} texts (the Marathi paper: 5 folds over its full sets), "
                       "logistic regression on mean word vectors.")
