"""The notebook's steps: inputs (corpus, evaluation sets, shared vocabulary), embeddings, evaluations, results.

Reproduces the comparisons of Sarıtaş et al. 2024 (Turkish), Gedeon 2025 (Hungarian) and the Marathi
"BERT or FastText?" paper on the shared library: trained static models (:mod:`embedlab.static`) and static
vectors from encoders (:mod:`embedlab.extract`) over one shared vocabulary, evaluated on analogies, word
similarity, BiLSTM tagging and text classification (:mod:`embedlab.evaluate`), plus a corpus-size learning
curve (:mod:`.curve`). :func:`run_study` runs them all and returns :class:`embedlab.study.Results`.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from collections import Counter, defaultdict
from typing import Any, Mapping

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from .. import assets, corpora, encoders, evalsets, extract, progress, static
from ..evaluate import analogy, classification, similarity, tagging
from ..evalsets import dispatch
from ..study import Results, Unavailable
from ..text import lowercase, tokenize
from .config import Config
from .results import set_label

#: treebank used for the analogy miner and POS tagging, per study language (see embedlab.evalsets)
TREEBANK_LANGUAGE = {"tr": "tr", "hu": "hu", "mr": "mr"}
TRAINED, FROM_ENCODER = "trained static", "from encoder"


@dataclasses.dataclass
class Inputs:
    """What every step reads: the corpus, the evaluation sets by kind and name, the shared vocabulary."""

    corpus: corpora.Corpus
    sets: dict[str, dict[str, Any]]
    vocab: list[str]
    encoders: dict[str, encoders.Encoder]


# --------------------------------------------------------------------------- inputs

def load_encoders(cfg: Config) -> dict[str, encoders.Encoder]:
    """Load every encoder and check the requested layers against each (ValueError when out of range)."""
    out = {}
    for name in cfg.encoders:
        enc = encoders.load_encoder(name)
        extract.resolve_layers(enc, cfg.layers)
        out[name] = enc
    return out


def training_corpus(cfg: Config, results: Results | None = None) -> corpora.Corpus:
    """The named corpora together, sentences in a seeded random order until ``max_tokens``.

    A corpus whose asset cannot be had is, with ``missing_sets="skip"`` and another corpus left, marked unavailable
    in ``results`` and left out; otherwise the error stops the run.
    """
    parts = []
    for i, n in enumerate(cfg.corpora):
        try:
            parts.append(corpora.load_corpus(n))
        except assets.AssetUnavailable as exc:
            if cfg.missing_sets == "fail" or results is None or (not parts and i == len(cfg.corpora) - 1):
                raise
            results.mark_unavailable(n, "corpus", str(exc).splitlines()[0])
    for p in parts:
        if p.language != cfg.language and not p.name.startswith("slices:"):
            raise ValueError(f"corpus {p.name!r} is {p.language!r}, the study language is {cfg.language!r}")
    corpus = corpora.concat(parts) if len(parts) > 1 else parts[0]
    corpus = without_tagging_test_sentences(corpus, cfg, results)
    return take_tokens(corpus, cfg.max_tokens, cfg.seed)


def without_tagging_test_sentences(corpus: corpora.Corpus, cfg: Config, results: Results | None) -> corpora.Corpus:
    """The corpus less the POS dev/test sentences (by sentence id or identical tokens), so the tagger is never
    scored on text the static models were trained on; a note in ``results`` says how many were removed."""
    if "pos" not in cfg.tagging_tasks:
        return corpus
    try:
        held = evalsets.pos_test_texts(cfg.language)
    except (assets.AssetUnavailable, evalsets.EvalSetUnavailable, FileNotFoundError):
        return corpus  # the tagging set itself is unavailable: nothing to protect
    ids = corpus.meta["sent_id"].fillna("").astype(str).tolist() if "sent_id" in corpus.meta else None
    mask = evalsets.held_out_mask(corpus.sentences, held, sent_ids=ids)
    if results is not None:
        results.notes.append(f"{int(mask.sum()):,} corpus sentences that are POS dev/test sentences "
                             f"({len(held):,} held out) were removed from the training corpus.")
    return corpus.subset(np.flatnonzero(~mask), name=corpus.name) if mask.any() else corpus


def take_tokens(corpus: corpora.Corpus, max_tokens: int, seed: int = 0) -> corpora.Corpus:
    """Sentences in a seeded random order until ``max_tokens`` (corpus order kept); nested for growing sizes."""
    lengths = np.array([len(s) for s in corpus.sentences])
    if lengths.sum() == 0:
        raise ValueError(f"empty corpus {corpus.name!r}: no tokens")
    order = np.random.default_rng(seed).permutation(len(corpus))
    keep = order[np.cumsum(lengths[order]) <= max_tokens]
    keep = keep if len(keep) else order[:1]
    base = corpus.name.split("[")[0]
    return corpus.subset(np.sort(keep), name=f"{base}[{int(lengths[keep].sum())} tokens]")


def _loader_kw(kind: str, name: str, cfg: Config) -> dict:
    """Keyword arguments of a registered set's loader for this run."""
    if name.startswith("file:"):
        return {"language": cfg.language}
    if (kind, name) in (("analogy", "treebank"), ("tagging", "pos")):
        kw = {"language": TREEBANK_LANGUAGE[cfg.language]}
        return {**kw, "max_per_relation": cfg.analogy_max_per_relation, "seed": cfg.seed} if kind == "analogy" else kw
    if (kind, name) == ("analogy", "bible-morph"):
        return {"max_per_relation": cfg.analogy_max_per_relation, "seed": cfg.seed}
    if (kind, name) == ("tagging", "ner"):
        return {"language": cfg.language}
    if (kind, name) == ("similarity", "mr-gloss-synonyms"):
        return {"seed": cfg.seed}
    if kind == "classification" and name.startswith("bible-"):
        return {"version": "hu" if cfg.language == "hu" else "kjv"}
    if (kind, name) == ("classification", "mahasent"):
        return {"variant": "md"}
    return {}


def evaluation_sets(cfg: Config, corpus: corpora.Corpus | None = None, results: Results | None = None
                    ) -> dict[str, dict]:
    """``{"analogy": {...}, "similarity": {...}, "tagging": {...}, "classification": {...}}`` from the one
    evaluation-set registry (:func:`embedlab.evalsets.dispatch.try_load`).

    A set that cannot be had (no cache, no mirror, no network) is, with ``missing_sets="skip"``, left out and
    marked unavailable in ``results`` (the report's status box lists it); with ``"fail"`` the error stops the run.
    """
    wanted = {"analogy": cfg.analogy_sets, "similarity": cfg.similarity_sets, "tagging": cfg.tagging_tasks,
              "classification": cfg.classification_sets}
    out: dict[str, dict] = {kind: {} for kind in wanted}
    for kind, names in wanted.items():
        for name in names:
            kw = _loader_kw(kind, name, cfg)
            if cfg.missing_sets == "fail":
                s = dispatch.load_evalset(kind, name, **kw)
            else:
                s = dispatch.try_load(kind, name, **kw)
                if isinstance(s, Unavailable):
                    if results is not None:
                        results.mark_unavailable(set_label(name), kind, s.reason)
                    continue
            out[kind][s.name if kind == "tagging" else set_label(name)] = s
    return out


def describe_sets(sets: Mapping[str, dict], results: Results | None = None) -> pd.DataFrame:
    """One row per evaluation set: kind, name, size and notes; unavailable ones with the reason."""
    rows = []
    for kind, group in sets.items():
        for name, s in group.items():
            if kind == "tagging":
                size = " / ".join(f"{k} {v}" for k, v in s.sizes().items()) + " sentences"
            elif kind == "classification":
                size = f"train {len(s.train)} / test {len(s.test)} texts, {len(s.labels)} labels"
            else:
                size = f"{len(s)} {'questions' if kind == 'analogy' else 'pairs'}"
            rows.append({"kind": kind, "set": name, "size": size, "notes": getattr(s, "notes", "")})
    for u in (results.unavailable if results is not None else []):
        rows.append({"kind": u.kind, "set": u.name, "size": "unavailable", "notes": f"skipped: {u.reason}"})
    return pd.DataFrame(rows, columns=["kind", "set", "size", "notes"])


def evaluation_words(sets: Mapping[str, dict]) -> set[str]:
    """Words of the analogy and similarity sets (candidates for the shared vocabulary)."""
    words: set[str] = set()
    for s in sets["analogy"].values():
        words |= s.vocabulary()
    for s in sets["similarity"].values():
        words |= set(s.pairs["w1"]) | set(s.pairs["w2"])
    return words


def vocabulary(corpus: corpora.Corpus, sets: Mapping[str, dict], cfg: Config) -> list[str]:
    """The shared vocabulary: top ``vocab_size`` corpus words plus up to ``max_eval_words`` evaluation words
    that occur ``min_count`` times (see :func:`embedlab.static.shared_vocabulary`)."""
    return static.shared_vocabulary(corpus.sentences, cfg.vocab_size, cfg.min_count, evaluation_words(sets),
                                    cfg.max_eval_words)


def prepare(cfg: Config, results: Results) -> Inputs:
    """Encoders (layers checked first), corpus, evaluation sets (unavailable ones marked), shared vocabulary."""
    encs = load_encoders(cfg)
    corpus = training_corpus(cfg, results)
    sets = evaluation_sets(cfg, corpus, results)
    vocab = vocabulary(corpus, sets, cfg)
    return Inputs(corpus, sets, vocab, encs)


# --------------------------------------------------------------------------- embeddings

def static_hyper(cfg: Config) -> dict:
    return {"min_count": cfg.min_count, "vector_size": cfg.static_dim, "epochs": cfg.static_epochs}


def train_static_models(sentences, cfg: Config) -> dict[str, KeyedVectors]:
    """The trained static models on ``sentences`` (one gensim worker: deterministic for a seed)."""
    return {m: static.train_static(m, sentences, seed=cfg.seed, **static_hyper(cfg)) for m in cfg.static_models}


def encoder_embeddings(encs: Mapping[str, encoders.Encoder], vocab, sentences, cfg: Config,
                       methods=None, diagnostics: dict | None = None) -> dict[str, KeyedVectors]:
    """Every extraction method x layer of every encoder (named by :func:`embedlab.extract.embedding_name`);
    ``diagnostics`` (filled per encoder name) gets :func:`embedlab.extract.static_embeddings`' diagnostics."""
    out: dict[str, KeyedVectors] = {}
    for name, enc in encs.items():
        diag: dict = {}
        out.update(extract.static_embeddings(enc, vocab, methods or cfg.methods, cfg.layers, sentences,
                                             cfg.max_contexts, cfg.max_context_sentences,
                                             {"epochs": cfg.x2static_epochs, "t": cfg.x2static_t}, seed=cfg.seed, progress=True,
                                             language=cfg.language, precision=cfg.precision, diagnostics=diag))
        if diagnostics is not None:
            diagnostics[name] = diag
    return out


def diagnostics_table(diagnostics: Mapping[str, dict]) -> pd.DataFrame:
    """Per encoder: lower-casing, precision and tokens of the context pass; the aggregate methods' contexts per
    word (min / median / mean / max, share with one context, share at the cap); X2Static's median updates per word,
    words it dropped, epochs and first/last loss."""
    rows = []
    for enc, d in diagnostics.items():
        row = {"encoder": enc, "lowercase input": d.get("lowercase"), "precision": d.get("precision"),
               "context-pass tokens": d.get("teacher_tokens")}
        for k, v in (d.get("contexts_summary") or {}).items():
            row[f"contexts/word {k}"] = v
        for name, st in (d.get("x2static") or {}).items():
            row[f"{name}: median updates/word"] = st.median_updates
            row[f"{name}: words never updated"] = int((np.asarray(st.updates) == 0).sum())
            if st.losses:
                row[f"{name}: loss first -> last epoch"] = f"{st.losses[0]:.4g} -> {st.losses[-1]:.4g}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("encoder").T.rename_axis("diagnostic") if rows else pd.DataFrame()


def build_embeddings(inputs: Inputs, cfg: Config, results: Results) -> tuple[dict[str, KeyedVectors], pd.DataFrame]:
    """Train the static models and extract the encoder methods; restrict all to the words they share.

    Returns the embeddings (static models first) and a table of kind, build time, dimensions and words.
    """
    raw: dict[str, KeyedVectors] = {}
    times = []
    for m in cfg.static_models:
        progress.step(f"training {m} on {inputs.corpus.n_tokens:,} tokens ...")
        t0 = time.perf_counter()
        raw[m] = static.train_static(m, inputs.corpus.sentences, seed=cfg.seed, **static_hyper(cfg))
        times.append({"embedding": m, "kind": TRAINED, "build_s": time.perf_counter() - t0})
    for name, enc in inputs.encoders.items():
        progress.step(f"extracting {', '.join(cfg.methods)} from {name} ...")
        t0 = time.perf_counter()
        diag: dict = {}
        got = encoder_embeddings({name: enc}, inputs.vocab, inputs.corpus.sentences, cfg, diagnostics=diag)
        results.extra.setdefault("diagnostics", {}).update(diag)
        for emb, st in (diag.get(name, {}).get("x2static") or {}).items():
            if getattr(st, "low", False):
                results.flag("few updates", emb, st.message)
            why = getattr(st, "explanation", "")
            if why:
                results.notes.append(f"X2Static ({emb}): {why}")
            if st.losses and len(st.losses) >= 2:
                results.check_loss(emb, st.losses)
        share = (time.perf_counter() - t0) / max(len(got), 1)
        raw.update(got)
        times += [{"embedding": k, "kind": FROM_ENCODER, "build_s": share} for k in got]
    lost = {k: len(inputs.vocab) - sum(w in kv.key_to_index for w in inputs.vocab) for k, kv in raw.items()}
    out = static.restrict_all(raw, inputs.vocab)
    info = pd.DataFrame(times)
    info["dims"] = [out[e].vector_size for e in info["embedding"]]
    info["words"] = [len(out[e]) for e in info["embedding"]]
    info["vocab words it lacked"] = [lost[e] for e in info["embedding"]]
    for r in info.itertuples():
        results.timings[f"build/{r.embedding}"] = float(r.build_s)
    return out, info


def kinds(info: pd.DataFrame) -> dict[str, str]:
    return dict(zip(info["embedding"], info["kind"]))


# --------------------------------------------------------------------------- evaluations (per item kept)

def analogy_items(embs: Mapping[str, KeyedVectors], aset, cfg: Config, restrict=None, k: int = 10) -> pd.DataFrame:
    """Per embedding, method and question: answered, correct, reciprocal rank within the top ``k`` (0 if not).

    With ``restrict`` (a question mask) only those questions are scored; a word the embedding lacks makes the
    question unanswered (scored 0 when read as "a miss scores 0").
    """
    df = analogy.question_frame(aset)
    if restrict is None and cfg.same_questions:
        restrict = analogy.common_questions(embs, df)
    frames = []
    for name, kv in embs.items():
        r = analogy.analogy_ranks(kv, df, cfg.analogy_methods, restrict=restrict)
        if "rr" not in r:
            r["rr"] = np.where(r["answered"] & (r["rank"] > 0) & (r["rank"] <= k), 1.0 / r["rank"].clip(lower=1), 0.0)
        r["question"] = np.tile(np.arange(len(df)), len(cfg.analogy_methods))
        if "group" in df.columns:                       # e.g. the Turkish paper's verb / noun / semantic folders
            r["group"] = np.tile(df["group"].to_numpy(), len(cfg.analogy_methods))
        frames.append(r.assign(embedding=name))
    out = pd.concat(frames, ignore_index=True)
    out["in_scope"] = np.tile(np.ones(len(df), bool) if restrict is None else np.asarray(restrict, bool),
                              len(embs) * len(cfg.analogy_methods))
    return out


def similarity_items(embs: Mapping[str, KeyedVectors], sset) -> tuple[pd.DataFrame, np.ndarray]:
    """Per pair: gold score and every embedding's cosine, over the pairs all embeddings cover; and that mask."""
    df = similarity.pair_frame(sset)
    ok = np.logical_and.reduce([[a in kv.key_to_index and b in kv.key_to_index for a, b in zip(df["w1"], df["w2"])]
                                for kv in embs.values()])
    out = df[ok].reset_index(drop=True)[["w1", "w2", "score"]].copy()
    for name, kv in embs.items():
        a = np.stack([kv.get_vector(w, norm=True) for w in out["w1"]]) if len(out) else np.zeros((0, kv.vector_size))
        b = np.stack([kv.get_vector(w, norm=True) for w in out["w2"]]) if len(out) else np.zeros((0, kv.vector_size))
        out[name] = (a * b).sum(1)
    return out, ok


def evaluate_tagging(embs: Mapping[str, KeyedVectors], sets: Mapping[str, dict], cfg: Config
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hidden-size sweep of the BiLSTM tagger per task and embedding, with the majority-tag row (each word's most
    frequent training tag): the table and the per-token correctness (for intervals)."""
    tables, tokens = [], []
    for ts in sets["tagging"].values():
        progress.step(f"tagging {ts.name}: BiLSTM, hidden sizes {cfg.hidden_sizes}, {len(embs)} embeddings ...")
        t, tok = tagging.hidden_size_sweep(embs, ts, cfg.hidden_sizes, progress=True, majority=True, per_token=True,
                                           epochs=cfg.tagger_epochs, lr=cfg.tagger_lr,
                                           max_train_sentences=cfg.max_tagging_train, seed=cfg.seed)
        tables.append(t)
        tokens.append(tok.assign(task=ts.name))
    if not tables:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(tables, ignore_index=True), pd.concat(tokens, ignore_index=True)


def evaluate_classification(embs: Mapping[str, KeyedVectors], sets: Mapping[str, dict], cfg: Config
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified k-fold cross-validation (logistic regression on mean word vectors, full and SVD-compressed with
    the SVD fitted on training folds only, and the majority class) per set: the summary (mean accuracy with its
    interval over held-out texts, fold SD) and the per-text predictions."""
    sums, preds = [], []
    for ds in sets["classification"].values():
        progress.step(f"classification {ds.name}: {cfg.classification_folds}-fold CV, {len(embs)} embeddings ...")
        scores, pred = classification.cross_validate(embs, ds, cfg.classification_folds, cfg.compressed_dim,
                                                     cfg.seed, max_texts=cfg.max_classification_texts)
        sums.append(classification.cv_summary(scores, pred, cfg.seed))
        preds.append(pred)
    if not sums:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(sums, ignore_index=True), pd.concat(preds, ignore_index=True)


# --------------------------------------------------------------------------- t-SNE words

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
        seen: dict[str, Counter] = defaultdict(Counter)
        for toks, tags in ts.train:
            for w, t in zip(toks, tags):
                seen[lowercase(w, ts.language.split("-")[0])][t] += 1
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
    lang = ds.language.split("-")[0]
    by_label = {lab: Counter() for lab in ds.labels}
    for text, lab in zip(ds.train["text"], ds.train["label"]):
        by_label[lab].update(w for w in tokenize(text, lang) if w in vocab)
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


# --------------------------------------------------------------------------- the whole study

def run_study(cfg: Config) -> Results:
    """Every step of the notebook: inputs, embeddings, evaluations, learning curve, headlines, published panel.

    The returned Results hold the tables (``sets``, ``embeddings``, ``analogy_summary``, ``results``,
    ``similarity``, ``tagging``, ``classification``, ``learning_curve``...), headlines with paired intervals and
    flags, unavailable sets, notes, and in ``extra`` the corpus, the embeddings and the per-item scores.
    """
    from . import curve, results as res

    r = Results(cfg.study)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        inputs = prepare(cfg, r)
    r.timings["prepare"] = time.perf_counter() - t0
    r.extra.update(corpus=inputs.corpus, sets=inputs.sets, vocab=inputs.vocab)
    r.add_table("sets", describe_sets(inputs.sets, r))
    t0 = time.perf_counter()
    embs, info = build_embeddings(inputs, cfg, r)
    r.extra["embeddings"] = embs
    r.add_table("embeddings", info)
    if r.extra.get("diagnostics"):
        r.add_table("extraction", diagnostics_table(r.extra["diagnostics"]))
    r.timings["embeddings"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    progress.step("analogies and similarity ...")
    items = {name: analogy_items(embs, s, cfg) for name, s in inputs.sets["analogy"].items()}
    sims = {name: similarity_items(embs, s)[0] for name, s in inputs.sets["similarity"].items()}
    r.extra.update(analogy_items=items, similarity_items=sims)
    tags = evaluate_tagging(embs, inputs.sets, cfg)
    classes = evaluate_classification(embs, inputs.sets, cfg)
    r.timings["evaluations"] = time.perf_counter() - t0
    res.fill(r, cfg, inputs, info, items, sims, tags, classes)

    if cfg.curve_fractions and inputs.sets["analogy"]:
        t0 = time.perf_counter()
        curve.learning_curve(r, cfg, inputs, embs, info, items)
        r.timings["learning_curve"] = time.perf_counter() - t0
    res.published(r, cfg)
    res.differences(r, cfg, inputs)
    return r
