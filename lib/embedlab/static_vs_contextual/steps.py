"""The study's methods: trained static models and static vectors from encoders over the shared vocabulary, and
their evaluations with every item kept (analogy questions, similarity pairs, tagging tokens, classified texts).

Both the main comparison (:mod:`.study`) and the learning curve (:mod:`.curve`) run these steps.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors

from .. import encoders, extract, memo, progress, static
from ..evaluate import analogy, classification, similarity, tagging
from ..study import Results
from .config import Config

#: the two kinds of embedding a run compares
TRAINED, FROM_ENCODER = "trained static", "from encoder"


def static_hyper(cfg: Config) -> dict:
    """The trained static models' hyperparameters from the Config."""
    return {"min_count": cfg.min_count, "vector_size": cfg.static_dim, "epochs": cfg.static_epochs}


#: trained static models training at once (each single-threaded, so deterministic for its seed)
STATIC_AT_ONCE = 2


def train_static_jobs(sentences, cfg: Config, jobs: Sequence[tuple[str, int]]
                      ) -> dict[tuple[str, int], tuple[KeyedVectors, float]]:
    """Train ``(model, seed)`` jobs on ``sentences``, :data:`STATIC_AT_ONCE` at a time and the longest first
    (:data:`embedlab.static.TRAINING_COST`; gensim's training loop and the official fastText subprocess leave the
    GIL, so two threads keep both CPUs busy): ``{job: (vectors, wall seconds)}``. Each model trains on one worker,
    so its result is the same as trained alone; a model trained before on the same corpus, hyperparameters, seed
    and code comes from :mod:`embedlab.memo`."""
    corpus = memo.digest(sentences)

    def one(job):
        t0 = time.perf_counter()
        kv = memo.cached("static model", {"model": job[0], "corpus": corpus, "seed": job[1], **static_hyper(cfg)},
                         lambda: static.train_static(job[0], sentences, seed=job[1], **static_hyper(cfg)))
        return kv, time.perf_counter() - t0

    longest_first = sorted(jobs, key=lambda job: -static.TRAINING_COST.get(job[0], 1.0))   # stable: seeds in order
    with ThreadPoolExecutor(max_workers=STATIC_AT_ONCE) as pool:
        done = dict(zip(longest_first, pool.map(one, longest_first)))
    return {job: done[job] for job in jobs}


def train_static_models(sentences, cfg: Config, seed: int | None = None) -> dict[str, KeyedVectors]:
    """The trained static models on ``sentences`` for one seed (default ``cfg.seed``), two at a time."""
    seed = cfg.seed if seed is None else seed
    got = train_static_jobs(sentences, cfg, [(m, seed) for m in cfg.static_models])
    return {m: got[(m, seed)][0] for m in cfg.static_models}


def x2static_options(cfg: Config) -> dict:
    """X2Static's options from the Config (:data:`embedlab.x2static.X2STATIC_DEFAULTS` for the rest)."""
    return {"epochs": cfg.x2static_epochs, "t": cfg.x2static_t, "seed": cfg.seed}


def encoder_embeddings(encs: Mapping[str, encoders.Encoder], vocab, sentences, cfg: Config,
                       methods=None, diagnostics: dict | None = None, surface=None,
                       surface_words=None) -> dict[str, KeyedVectors]:
    """Every extraction method x layer of every encoder (named by :func:`embedlab.extract.embedding_name`);
    ``diagnostics`` (filled per encoder name) gets :func:`embedlab.extract.static_embeddings`' diagnostics.
    ``surface`` / ``surface_words``: the written text the encoders read (see ``static_embeddings``)."""
    out: dict[str, KeyedVectors] = {}
    for name, enc in encs.items():
        diag: dict = {}
        out.update(extract.static_embeddings(enc, vocab, methods or cfg.methods, cfg.layers, sentences,
                                             cfg.max_contexts, cfg.max_context_sentences,
                                             x2static_options(cfg), seed=cfg.seed, progress=True,
                                             language=cfg.language, precision=cfg.precision, diagnostics=diag,
                                             surface=surface, surface_words=surface_words))
        if diagnostics is not None:
            diagnostics[name] = diag
    return out


def diagnostics_table(diagnostics: Mapping[str, dict]) -> pd.DataFrame:
    """Per encoder: lower-casing, precision and tokens of the context pass (the corpus's encoder tokens, those this
    run encoded, their ratio: 1 when every sentence went through the encoder once, 0 when all came from the embedding
    cache); the aggregate methods' contexts per word (min / median / mean / max, share with one context, share at the
    cap); X2Static's median updates per word, words it dropped, epochs and first/last loss."""
    rows = []
    for enc, d in diagnostics.items():
        corpus, encoded = d.get("corpus_tokens"), d.get("teacher_tokens")
        row = {"encoder": enc, "lowercase input": d.get("lowercase"), "precision": d.get("precision"),
               "corpus tokens (encoder)": corpus, "context-pass tokens": encoded,
               "encoded / corpus tokens": round(encoded / corpus, 3) if corpus and encoded is not None else None,
               "words-alone tokens": d.get("vocabulary_tokens"),
               "from the embedding cache": ", ".join(k for k, v in (d.get("cached") or {}).items() if v) or "nothing"}
        for k, v in (d.get("contexts_summary") or {}).items():
            row[f"contexts/word {k}"] = v
        for name, st in (d.get("x2static") or {}).items():
            row[f"{name}: median updates/word"] = st.median_updates
            row[f"{name}: words never updated"] = int((np.asarray(st.updates) == 0).sum())
            if st.losses:
                row[f"{name}: loss first -> last epoch"] = f"{st.losses[0]:.4g} -> {st.losses[-1]:.4g}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("encoder").T.rename_axis("diagnostic") if rows else pd.DataFrame()


def build_embeddings(inputs, cfg: Config, results: Results) -> tuple[dict[str, KeyedVectors], pd.DataFrame]:
    """Train the static models and extract the encoder methods (``inputs``: :class:`.data.Inputs`); restrict all
    to the words they share.

    Returns the embeddings (static models first) and a table of kind, build time, dimensions and words; each
    build time is also ``results.timings["build/<embedding>"]`` (an encoder's time split over its embeddings).
    """
    raw: dict[str, KeyedVectors] = {}
    times = []
    if cfg.static_models:
        progress.step(f"training {', '.join(cfg.static_models)} on {inputs.corpus.n_tokens:,} tokens, "
                      f"{STATIC_AT_ONCE} at a time ...")
        with results.timed("build/static models, 2 at a time"):
            got = train_static_jobs(inputs.corpus.sentences, cfg, [(m, cfg.seed) for m in cfg.static_models])
        for (m, _), (kv, seconds) in got.items():
            raw[m] = kv
            results.timings[f"build/{m}"] = seconds
            times.append({"embedding": m, "kind": TRAINED, "build_s": seconds})
    for name, enc in inputs.encoders.items():
        progress.step(f"extracting {', '.join(cfg.methods)} from {name} ...")
        diag: dict = {}
        with results.timed(f"build/{name}"):       # split over its embeddings below; not kept under this key
            got = encoder_embeddings({name: enc}, inputs.vocab, inputs.corpus.sentences, cfg, diagnostics=diag,
                                     surface=inputs.corpus.surface, surface_words=inputs.surface_words)
        results.extra.setdefault("diagnostics", {}).update(diag)
        for emb, st in (diag.get(name, {}).get("x2static") or {}).items():
            if getattr(st, "low", False):
                results.flag("few updates", emb, st.message)
            why = getattr(st, "explanation", "")
            if why:
                results.notes.append(f"X2Static ({emb}): {why}")
            if st.losses and len(st.losses) >= 2:
                results.check_loss(emb, st.losses)
        for part, seconds in (diag.get(name, {}).get("seconds") or {}).items():
            results.timings[f"{name}/{part}"] = seconds
        results.timings[f"encoded tokens/{name}"] = float(diag.get(name, {}).get("teacher_tokens") or 0) + \
            float(diag.get(name, {}).get("vocabulary_tokens") or 0)
        share = results.timings.pop(f"build/{name}") / max(len(got), 1)
        raw.update(got)
        times += [{"embedding": k, "kind": FROM_ENCODER, "build_s": share} for k in got]
    lost = {k: len(inputs.vocab) - sum(w in kv.key_to_index for w in inputs.vocab) for k, kv in raw.items()}
    out = static.restrict_all(raw, inputs.vocab)
    # the tagging words beyond the vocabulary from the models that embed any word (fastText's character n-grams)
    results.extra["lookup"] = {k: static.within(kv, inputs.lookup) for k, kv in raw.items()
                               if isinstance(kv, FastTextKeyedVectors) and inputs.lookup}
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

    With ``restrict`` (a question mask) only those questions are scored (None: those every embedding answers); a word
    the embedding lacks makes the question unanswered (scored 0 when read as "a miss scores 0").
    """
    df = analogy.question_frame(aset)
    if restrict is None:
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
