"""Study: static vs contextual word embeddings (Turkish, Hungarian, Marathi; English as a control).

Reproduces the comparisons of Sarıtaş et al. 2024 (Turkish), Gedeon 2025 (Hungarian) and Shanbhag et
al. (Marathi, L3Cube) on the shared library: trained static models (:mod:`embedlab.static`) and static
vectors from encoders (:mod:`embedlab.extract`) over one shared vocabulary, evaluated on analogies,
word similarity, BiLSTM tagging, text classification and t-SNE maps (:mod:`embedlab.evaluate`).

:class:`StudyConfig` checks every parameter before any long work; the other functions are the
notebook's steps, in order: :func:`load_encoders`, :func:`training_corpus`, :func:`evaluation_sets`,
:func:`vocabulary`, :func:`build_embeddings`, the ``evaluate_*`` functions and :func:`results_table`.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Mapping

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from . import assets, corpora, encoders, evalsets, extract, static
from .choices import check_names
from .evaluate import analogy, classification, similarity, tagging

LANGUAGES = ("tr", "hu", "mr", "en")
ANALOGY_SETS = ("questions-words", "treebank", "file:<path>")
SIMILARITY_SETS = ("wordsim353", "simlex999", "mr-gloss-synonyms", "file:<path>")
TAGGING_TASKS = ("pos", "ner")
MISSING_SETS = ("skip", "fail")  # what to do when an evaluation set's asset cannot be had offline
CLASSIFICATION_SETS = ("ataturk-kind", "bible-genre", "bible-testament", "mahasent", "mahanews")
#: treebank used for the analogy miner and POS tagging, per study language (see embedlab.evalsets)
TREEBANK_LANGUAGE = {"tr": "tr", "hu": "hu", "mr": "mr"}


@dataclasses.dataclass
class StudyConfig:
    """Every parameter of a run, validated on creation (unknown names raise ValueError listing what is allowed)."""

    language: str
    corpora: list
    encoders: list
    methods: list
    layers: list
    static_models: list = dataclasses.field(default_factory=lambda: list(static.STATIC_MODELS))
    max_tokens: int = 200_000
    vocab_size: int = 3000
    min_count: int = 3
    max_eval_words: int = 2000
    static_hyper: dict = dataclasses.field(default_factory=dict)
    max_contexts: int = 3
    max_context_sentences: int = 1000
    x2static: dict = dataclasses.field(default_factory=dict)
    analogy_sets: list = dataclasses.field(default_factory=list)
    analogy_methods: list = dataclasses.field(default_factory=lambda: list(analogy.ANALOGY_METHODS))
    analogy_max_per_relation: int = 300
    same_questions: bool = True
    similarity_sets: list = dataclasses.field(default_factory=list)
    tagging_tasks: list = dataclasses.field(default_factory=list)
    hidden_sizes: list = dataclasses.field(default_factory=lambda: list(tagging.HIDDEN_SIZES))
    tagger_epochs: int = 5
    tagger_lr: float = 1e-3
    max_tagging_train: int | None = None
    classification_sets: list = dataclasses.field(default_factory=list)
    compressed_dim: int = 300
    max_classification_train: int | None = None
    max_classification_test: int | None = None
    missing_sets: str = "skip"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown language {self.language!r}; allowed: {', '.join(LANGUAGES)}")
        check_names("corpus", self.corpora, corpora.CORPUS_NAMES, ("slices:",))
        if not self.corpora:
            raise ValueError(f"no corpus given; allowed: {', '.join(corpora.CORPUS_NAMES)}")
        known = encoders.known_encoders()
        bad = [e for e in self.encoders if e not in known and "/" not in e]
        if bad:
            raise ValueError(f"unknown encoder(s) {bad}; allowed: {', '.join(known)}, or a Hugging Face id "
                             "such as 'dbmdz/bert-base-turkish-cased'")
        if self.encoders:
            extract.check_methods(self.methods)
        static.check_models(self.static_models)
        if not self.static_models and not self.encoders:
            raise ValueError("nothing to compare: give static_models and/or encoders")
        analogy.check_methods(self.analogy_methods)
        check_names("analogy set", self.analogy_sets, ANALOGY_SETS, ("file:",))
        check_names("similarity set", self.similarity_sets, SIMILARITY_SETS, ("file:",))
        check_names("tagging task", self.tagging_tasks, TAGGING_TASKS)
        check_names("classification set", self.classification_sets, CLASSIFICATION_SETS)
        lang = self.language
        if "treebank" in self.analogy_sets and lang not in TREEBANK_LANGUAGE:
            raise ValueError(f"no treebank for analogy mining in language {lang!r}; treebank analogies exist for "
                             f"{', '.join(TREEBANK_LANGUAGE)}; use 'questions-words' or 'file:<path>'")
        if "pos" in self.tagging_tasks and lang not in TREEBANK_LANGUAGE:
            raise ValueError(f"no POS treebank for language {lang!r}; POS tagging exists for {', '.join(TREEBANK_LANGUAGE)}")
        if "ner" in self.tagging_tasks and lang not in evalsets.NER_LANGUAGES:
            raise ValueError(f"no NER set for language {lang!r}; NER exists for {', '.join(evalsets.NER_LANGUAGES)}")
        if "mr-gloss-synonyms" in self.similarity_sets and lang != "mr":
            raise ValueError(f"similarity set 'mr-gloss-synonyms' is Marathi; the study language is {lang!r}")
        for name in self.classification_sets:
            if name.startswith("bible-") and lang not in ("hu", "en"):
                raise ValueError(f"classification set {name!r} needs language 'hu' or 'en', not {lang!r}")
            if name == "ataturk-kind" and lang != "tr" or name in ("mahasent", "mahanews") and lang != "mr":
                raise ValueError(f"classification set {name!r} is not in language {lang!r}")
        if self.missing_sets not in MISSING_SETS:
            raise ValueError(f"unknown missing_sets {self.missing_sets!r}; allowed: {', '.join(MISSING_SETS)}")
        for key in ("max_tokens", "vocab_size", "min_count", "max_contexts", "tagger_epochs"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if any(int(h) < 1 for h in self.hidden_sizes):
            raise ValueError(f"hidden sizes must be >= 1, got {self.hidden_sizes}")

    @property
    def params(self) -> dict:
        """The configuration as a plain dict (for provenance)."""
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- inputs

def load_encoders(cfg: StudyConfig) -> dict[str, encoders.Encoder]:
    """Load every encoder and check the requested layers against each (ValueError when out of range)."""
    out = {}
    for name in cfg.encoders:
        enc = encoders.load_encoder(name)
        extract.resolve_layers(enc, cfg.layers)
        out[name] = enc
    return out


def training_corpus(cfg: StudyConfig) -> corpora.Corpus:
    """The run's corpus: the named corpora together, sentences in a seeded random order until ``max_tokens``."""
    parts = [corpora.load_corpus(n) for n in cfg.corpora]
    for p in parts:
        if p.language != cfg.language and not p.name.startswith("slices:"):
            raise ValueError(f"corpus {p.name!r} is {p.language!r}, the study language is {cfg.language!r}")
    corpus = corpora.concat(parts) if len(parts) > 1 else parts[0]
    lengths = np.array([len(s) for s in corpus.sentences])
    if lengths.sum() == 0:
        raise ValueError(f"empty corpus {cfg.corpora}: no tokens")
    order = np.random.default_rng(cfg.seed).permutation(len(corpus))
    keep = order[np.cumsum(lengths[order]) <= cfg.max_tokens]
    keep = keep if len(keep) else order[:1]
    return corpus.subset(np.sort(keep), name=f"{corpus.name}[{int(lengths[keep].sum())} tokens]")


def _analogy_set(name: str, cfg: StudyConfig):
    if name == "questions-words":
        return evalsets.english_analogies()
    if name == "treebank":
        return evalsets.treebank_analogies(TREEBANK_LANGUAGE[cfg.language], max_per_relation=cfg.analogy_max_per_relation,
                                           seed=cfg.seed)
    return evalsets.read_questions_words(name[len("file:"):], cfg.language)


def _similarity_set(name: str, cfg: StudyConfig):
    if name == "wordsim353":
        return evalsets.wordsim353()
    if name == "simlex999":
        return evalsets.simlex999()
    if name == "mr-gloss-synonyms":
        return evalsets.marathi_gloss_synonyms(cfg.seed)
    return evalsets.read_similarity(name[len("file:"):], cfg.language)


def _classification_set(name: str, cfg: StudyConfig):
    version = "hu" if cfg.language == "hu" else "kjv"
    return {"ataturk-kind": lambda: evalsets.ataturk_kind(), "bible-genre": lambda: evalsets.bible_genre(version),
            "bible-testament": lambda: evalsets.bible_testament(version), "mahasent": lambda: evalsets.mahasent("md"),
            "mahanews": evalsets.mahanews}[name]()


def evaluation_sets(cfg: StudyConfig) -> dict[str, dict]:
    """``{"analogy": {...}, "similarity": {...}, "tagging": {...}, "classification": {...}, "unavailable": {...}}``.

    A set whose asset cannot be had (no cache, no mirror, no network) is, with ``missing_sets="skip"``, left out
    with a warning and listed under ``"unavailable"`` (``"kind:name"`` -> reason) so the report says so;
    with ``"fail"`` the :class:`~embedlab.assets.AssetUnavailable` error stops the run.
    """
    loaders = {"analogy": {n: (lambda n=n: _analogy_set(n, cfg)) for n in cfg.analogy_sets},
               "similarity": {n: (lambda n=n: _similarity_set(n, cfg)) for n in cfg.similarity_sets},
               "tagging": {t: (lambda t=t: evalsets.pos_tagging(TREEBANK_LANGUAGE[cfg.language]) if t == "pos"
                               else evalsets.ner_tagging(cfg.language)) for t in cfg.tagging_tasks},
               "classification": {n: (lambda n=n: _classification_set(n, cfg)) for n in cfg.classification_sets}}
    out: dict[str, dict] = {kind: {} for kind in loaders}
    unavailable: dict[str, str] = {}
    for kind, group in loaders.items():
        for name, load in group.items():
            try:
                s = load()
            except assets.AssetUnavailable as exc:
                if cfg.missing_sets == "fail":
                    raise
                reason = str(exc).splitlines()[0]
                warnings.warn(f"{kind} set {name!r} skipped: {reason}", stacklevel=2)
                unavailable[f"{kind}:{name}"] = reason
                continue
            out[kind][s.name if kind == "tagging" else name] = s
    out["unavailable"] = unavailable
    return out


def describe_sets(sets: Mapping[str, dict]) -> pd.DataFrame:
    """One row per evaluation set: kind, name, size (questions, pairs, sentences or texts) and notes;
    sets that could not be had offline appear with size ``unavailable`` and the reason."""
    rows = []
    for kind, group in sets.items():
        if kind == "unavailable":
            continue
        for name, s in group.items():
            if kind == "tagging":
                size = " / ".join(f"{k} {v}" for k, v in s.sizes().items()) + " sentences"
            elif kind == "classification":
                size = f"train {len(s.train)} / test {len(s.test)} texts, {len(s.labels)} labels"
            else:
                size = f"{len(s)} {'questions' if kind == 'analogy' else 'pairs'}"
            rows.append({"kind": kind, "set": name, "size": size, "notes": getattr(s, "notes", "")})
    for key, reason in sets.get("unavailable", {}).items():
        kind, name = key.split(":", 1)
        rows.append({"kind": kind, "set": name, "size": "unavailable",
                     "notes": f"skipped: {reason} (set EMBEDLAB_MIRROR or go online to include it)"})
    return pd.DataFrame(rows, columns=["kind", "set", "size", "notes"])


def evaluation_words(sets: Mapping[str, dict]) -> set[str]:
    """Words of the analogy and similarity sets (candidates for the shared vocabulary)."""
    words: set[str] = set()
    for s in sets["analogy"].values():
        words |= s.vocabulary()
    for s in sets["similarity"].values():
        words |= set(s.pairs["w1"]) | set(s.pairs["w2"])
    return words


def vocabulary(corpus: corpora.Corpus, sets: Mapping[str, dict], cfg: StudyConfig) -> list[str]:
    """The shared vocabulary: top ``vocab_size`` corpus words plus up to ``max_eval_words`` evaluation words
    that occur ``min_count`` times (see :func:`embedlab.static.shared_vocabulary`)."""
    return static.shared_vocabulary(corpus.sentences, cfg.vocab_size, cfg.min_count, evaluation_words(sets),
                                    cfg.max_eval_words)


# --------------------------------------------------------------------------- embeddings

def build_embeddings(corpus: corpora.Corpus, vocab: list[str], encs: Mapping[str, encoders.Encoder],
                     cfg: StudyConfig, progress: bool = True) -> tuple[dict[str, KeyedVectors], pd.DataFrame]:
    """Train the static models and extract the encoder methods; restrict all to the words they share.

    Returns the embeddings (static models first) and a table of build times and sizes.
    """
    raw: dict[str, KeyedVectors] = {}
    times = []
    hyper = {"min_count": cfg.min_count, **cfg.static_hyper}
    for m in cfg.static_models:
        t0 = time.perf_counter()
        raw[m] = static.train_static(m, corpus.sentences, seed=cfg.seed, **hyper)
        times.append({"embedding": m, "kind": "trained static", "build_s": time.perf_counter() - t0})
    for name, enc in encs.items():
        t0 = time.perf_counter()
        got = extract.static_embeddings(enc, vocab, cfg.methods, cfg.layers, corpus.sentences, cfg.max_contexts,
                                        cfg.max_context_sentences, cfg.x2static, seed=cfg.seed, progress=progress)
        share = (time.perf_counter() - t0) / max(len(got), 1)
        raw.update(got)
        times += [{"embedding": k, "kind": "from encoder", "build_s": share} for k in got]
    out = static.restrict_all(raw, vocab)
    info = pd.DataFrame(times)
    info["dims"] = [out[e].vector_size for e in info["embedding"]]
    info["words"] = [len(out[e]) for e in info["embedding"]]
    return out, info


# --------------------------------------------------------------------------- evaluations

def evaluate_analogies(embs: Mapping[str, KeyedVectors], sets: Mapping[str, dict], cfg: StudyConfig) -> pd.DataFrame:
    """Per set, embedding, method and category: questions, answered, coverage, accuracy, MRR@10."""
    frames = [analogy.evaluate_many(embs, s, cfg.analogy_methods, 10, cfg.same_questions).assign(set=name)
              for name, s in sets["analogy"].items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def evaluate_similarity(embs: Mapping[str, KeyedVectors], sets: Mapping[str, dict]) -> pd.DataFrame:
    """Per set and embedding: Spearman, Pearson, coverage (pairs all embeddings cover)."""
    frames = [similarity.evaluate_many(embs, s).assign(set=name) for name, s in sets["similarity"].items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def evaluate_tagging(embs: Mapping[str, KeyedVectors], sets: Mapping[str, dict], cfg: StudyConfig,
                     progress: bool = True) -> pd.DataFrame:
    """Hidden-size sweep of the BiLSTM tagger per task and embedding."""
    frames = [tagging.hidden_size_sweep(embs, ts, cfg.hidden_sizes, progress=progress, epochs=cfg.tagger_epochs,
                                        lr=cfg.tagger_lr, max_train_sentences=cfg.max_tagging_train, seed=cfg.seed)
              for ts in sets["tagging"].values()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def evaluate_classification(embs: Mapping[str, KeyedVectors], sets: Mapping[str, dict], cfg: StudyConfig) -> pd.DataFrame:
    """Logistic regression on mean word vectors, full and SVD-compressed, per set and embedding."""
    frames = [classification.evaluate_many(embs, ds, cfg.compressed_dim, cfg.seed, max_train=cfg.max_classification_train,
                                           max_test=cfg.max_classification_test)
              for ds in sets["classification"].values()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def results_table(info: pd.DataFrame, analogies: pd.DataFrame, sims: pd.DataFrame, tags: pd.DataFrame,
                  classes: pd.DataFrame) -> pd.DataFrame:
    """One row per embedding, one column per headline metric (analogy overall, similarity, tagging at the
    largest hidden size, classification full and compressed)."""
    table = info.set_index("embedding")[["kind", "dims", "build_s"]].copy()
    if not analogies.empty:
        ov = analogies[analogies["category"] == analogy.OVERALL]
        for (s, m), g in ov.groupby(["set", "method"], sort=False):
            g = g.set_index("embedding")
            table[f"{s} {m} acc"] = g["accuracy"]
            table[f"{s} {m} mrr@10"] = g["mrr@10"]
        for s, g in ov.groupby("set", sort=False):
            table[f"{s} coverage"] = g.drop_duplicates("embedding").set_index("embedding")["coverage"]
    if not sims.empty:
        for s, g in sims.groupby("set", sort=False):
            table[f"{s} spearman"] = g.set_index("embedding")["spearman"]
    if not tags.empty:
        top = tags[tags["hidden_size"] == tags["hidden_size"].max()]
        for t, g in top.groupby("task", sort=False):
            g = g.set_index("embedding")
            table[f"{t} acc (h={int(top['hidden_size'].max())})"] = g["accuracy"]
            table[f"{t} macro-F1 (h={int(top['hidden_size'].max())})"] = g["macro_f1"]
    if not classes.empty:
        for (t, v), g in classes.groupby(["task", "variant"], sort=False):
            table[f"{t} {v} acc"] = g.set_index("embedding")["accuracy"]
    return table


def headline_metrics(table: pd.DataFrame) -> dict[str, float]:
    """A flat ``{"<embedding> | <metric>": value}`` dict of the results table's numbers (for ``report.record``),
    metric by metric (the first metric, e.g. analogy accuracy, for every embedding first); sizes and build
    times are left out."""
    out = {}
    for col in table.columns:
        if col in ("kind", "dims", "build_s"):
            continue
        for emb, v in table[col].items():
            if isinstance(v, (int, float, np.integer, np.floating)) and not pd.isna(v):
                out[f"{emb} | {col}"] = float(v)
    return out


def tsne_words(sets: Mapping[str, dict], vocab: list[str], per_category: int = 12, max_categories: int = 8,
               seed: int = 0) -> dict[str, str]:
    """Words for the t-SNE maps, ``{word: category}``: from the first analogy set, the answer words (``d``)
    of its largest categories; else the commonest tag of frequent tagging-set words; else each label's most
    characteristic words in the first classification set."""
    inv = set(vocab)
    rng = np.random.default_rng(seed)
    out: dict[str, str] = {}
    for s in sets["analogy"].values():
        q = s.questions[s.questions["d"].isin(inv)]
        cats = q.groupby("category")["d"].nunique().sort_values(ascending=False).index[:max_categories]
        for c in cats:
            ws = sorted(set(q.loc[q["category"] == c, "d"]) - set(out))
            for w in rng.choice(ws, min(per_category, len(ws)), replace=False):
                out[str(w)] = c.split(":")[-1] if ":" in c else c
        if out:
            return out
    for ts in sets["tagging"].values():
        from collections import Counter, defaultdict

        seen: dict[str, Counter] = defaultdict(Counter)
        for toks, tags in ts.train:
            for w, t in zip(toks, tags):
                seen[corpora.lowercase(w, ts.language.split("-")[0])][t] += 1
        by_tag: dict[str, list[str]] = defaultdict(list)
        for w, c in sorted(seen.items(), key=lambda kv: -sum(kv[1].values())):
            if w in inv:
                by_tag[c.most_common(1)[0][0]].append(w)
        for tag, ws in sorted(by_tag.items(), key=lambda kv: -len(kv[1]))[:max_categories]:
            for w in ws[:per_category]:
                out[w] = tag
        return out
    for ds in sets["classification"].values():
        return _label_words(ds, inv, per_category, max_categories)
    return out


def _label_words(ds, vocab: set[str], per_category: int, max_categories: int, min_count: int = 5) -> dict[str, str]:
    """Each label's most characteristic vocabulary words in its training texts: highest smoothed log-odds of
    the word's rate inside the label against outside it (words seen at least ``min_count`` times)."""
    from collections import Counter

    lang = ds.language.split("-")[0]
    by_label = {lab: Counter() for lab in ds.labels}
    for text, lab in zip(ds.train["text"], ds.train["label"]):
        by_label[lab].update(w for w in corpora.tokenize(text, lang) if w in vocab)
    total = sum(by_label.values(), Counter())
    n_all = sum(total.values())
    out: dict[str, str] = {}
    labels = sorted(by_label, key=lambda lab: -sum(by_label[lab].values()))[:max_categories]
    for lab in labels:
        inside, n_in = by_label[lab], sum(by_label[lab].values())
        score = {w: np.log((inside[w] + 1) / (n_in + 1)) - np.log((total[w] - inside[w] + 1) / (n_all - n_in + 1))
                 for w in inside if total[w] >= min_count and w not in out}
        for w in sorted(score, key=lambda w: (-score[w], w))[:per_category]:
            out[w] = lab
    return out


def method_family(embedding: str) -> str:
    """The method an embedding name stands for: ``e5-small/x2static@12`` -> ``x2static``; both fastText
    implementations -> ``fasttext``; word2vec keeps its variant."""
    name = embedding.split("/")[-1].split("@")[0]
    return "fasttext" if name.startswith("fasttext") else name


def compare_with_papers(analogies: pd.DataFrame, theirs: pd.DataFrame, language: str,
                        method: str = "3cosadd") -> pd.DataFrame:
    """Our overall analogy accuracy per embedding beside the papers' published accuracy for the same
    language and method family (the papers' models, corpora and question sets differ: see their columns)."""
    if analogies.empty or theirs.empty:
        return pd.DataFrame()
    ov = analogies[(analogies["category"] == analogy.OVERALL) & (analogies["method"] == method)]
    ours = pd.DataFrame({"language": language, "task": "analogy", "metric": "accuracy",
                         "method": [method_family(e) for e in ov["embedding"]], "embedding (ours)": ov["embedding"],
                         "questions (ours)": ov["set"], "ours": ov["accuracy"]})
    t = theirs[(theirs["task"] == "analogy") & (theirs["metric"] == "accuracy")]
    t = t[["language", "task", "metric", "method", "model", "dataset", "value", "paper", "source"]].rename(
        columns={"model": "paper's model", "dataset": "paper's questions", "value": "published (paper)",
                 "paper": "published in", "source": "paper's source"})
    return ours.merge(t, on=["language", "task", "metric", "method"], how="inner")
