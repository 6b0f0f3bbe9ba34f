"""The study's inputs: encoders, the training corpus, the evaluation sets, the shared vocabulary (the most frequent
corpus words, no evaluation word added), the tagger's look-up words, the written form of each word, and the
words of the t-SNE maps.

:func:`prepare` loads them all into :class:`Inputs`. A corpus or set whose asset cannot be had is skipped (and
marked unavailable) or stops the run, as ``missing_sets`` says (:meth:`embedlab.study.Results.load_or_skip`).
"""
from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from functools import partial
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import assets, corpora, encoders, evalsets, extract, static
from ..evalsets import dispatch
from ..study import Results
from ..text import lowercase, tokenize
from .config import Config
from .results import set_label



@dataclasses.dataclass
class Inputs:
    """What every step reads: the corpus, the evaluation sets by kind and name, the words every embedding is built
    over (``vocab``: the shared vocabulary, then the taggers' look-up words), the encoders.

    ``shared`` is the shared vocabulary alone (the ``vocab_size`` most frequent corpus words), ``candidates`` the
    analogy candidates (its first ``analogy_candidates`` words), ``surface_words`` the written form an encoder reads
    for each word of ``vocab`` (its most frequent form in text that keeps case). ``lookup`` lists the tagging words
    outside ``vocab`` (below ``min_count`` in the corpus or absent from it), which only an embedding that can embed
    any word gives a tagger (fastText from character n-grams, an encoder's words-alone methods); ``lookup_surface``
    their written forms in the tagging sentences."""

    corpus: corpora.Corpus
    sets: dict[str, dict[str, Any]]
    vocab: list[str]
    encoders: dict[str, encoders.Encoder]
    shared: list[str] = dataclasses.field(default_factory=list)
    candidates: list[str] = dataclasses.field(default_factory=list)
    surface_words: list[str] | None = None
    lookup: list[str] = dataclasses.field(default_factory=list)
    lookup_surface: list[str] = dataclasses.field(default_factory=list)


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
        if results is None:
            parts.append(corpora.load_corpus(n))
            continue
        last_chance = not parts and i == len(cfg.corpora) - 1          # no corpus would be left: fail
        got = results.load_or_skip("corpus", n, partial(corpora.load_corpus, n),
                                   "fail" if last_chance else cfg.missing_sets)
        if got is not None:
            parts.append(got)
    for p in parts:
        if p.language != cfg.language and not p.name.startswith("slices:"):
            raise ValueError(f"corpus {p.name!r} is {p.language!r}, the study language is {cfg.language!r}")
    corpus = corpora.concat(parts) if len(parts) > 1 else parts[0]
    corpus = without_tagging_test_sentences(corpus, cfg, results)
    return take_tokens(corpus, cfg.max_tokens, cfg.seed)


def source_case_note(corpus: corpora.Corpus) -> str:
    """A sentence on the sources whose text is lower-cased at the source (what a cased encoder then reads), or ''."""
    low = corpora.lowercased_at_source(corpus)
    if not low.any():
        return ""
    names = sorted(set(corpus.meta["corpus"][low]) if "corpus" in corpus.meta else {corpus.name})
    tokens = sum(len(s) for s, x in zip(corpus.sentences, low) if x)
    return (f"{', '.join(names)} is lower-cased at the source ({tokens:,} of the {corpus.n_tokens:,} training tokens, "
            f"{tokens / max(corpus.n_tokens, 1):.0%}): cased encoders read that part lower-cased; the rest as written.")


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
    """Sentences in a seeded random order until ``max_tokens`` (None: all; corpus order kept); nested for growing
    sizes."""
    lengths = np.array([len(s) for s in corpus.sentences])
    if lengths.sum() == 0:
        raise ValueError(f"empty corpus {corpus.name!r}: no tokens")
    max_tokens = int(lengths.sum()) if max_tokens is None else max_tokens
    order = np.random.default_rng(seed).permutation(len(corpus))
    keep = order[np.cumsum(lengths[order]) <= max_tokens]
    keep = keep if len(keep) else order[:1]
    base = corpus.name.split("[")[0]
    return corpus.subset(np.sort(keep), name=f"{base}[{int(lengths[keep].sum())} tokens]")


def evaluation_sets(cfg: Config, corpus: corpora.Corpus | None = None, results: Results | None = None
                    ) -> dict[str, dict]:
    """``{"analogy": {...}, "similarity": {...}, "tagging": {...}, "classification": {...}}`` from the one
    evaluation-set registry (:func:`embedlab.evalsets.dispatch.load_evalset`).

    A set that cannot be had (no cache, no mirror, no network) is, with ``missing_sets="skip"``, left out and
    marked unavailable in ``results`` (the report's status box lists it); with ``"fail"`` the error stops the run.
    """
    wanted = {"analogy": cfg.analogy_sets, "similarity": cfg.similarity_sets, "tagging": cfg.tagging_tasks,
              "classification": cfg.classification_sets}
    sink = results if results is not None else Results(cfg.study)    # without results, a skip goes unrecorded
    out: dict[str, dict] = {kind: {} for kind in wanted}
    for kind, names in wanted.items():
        for name in names:
            kw = cfg.loader_kwargs(kind, name)
            if name.startswith("file:"):
                kw["label"] = set_label(name)   # two files of one name never share a label
            s = sink.load_or_skip(kind, set_label(name), partial(dispatch.load_evalset, kind, name, **kw),
                                  cfg.missing_sets)
            if s is not None:
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


def vocabulary(corpus: corpora.Corpus, cfg: Config) -> list[str]:
    """The shared vocabulary: the ``vocab_size`` most frequent corpus words with at least ``min_count`` occurrences
    (None: all of them), by frequency; no evaluation word is added (:func:`embedlab.static.shared_vocabulary`)."""
    return static.shared_vocabulary(corpus.sentences, cfg.vocab_size or 2**62, cfg.min_count)


def tagging_forms(sets: Mapping[str, dict]) -> dict[str, str]:
    """Every word of the tagging sets' training and test sentences, lower-cased (language rules) -> its most frequent
    written form there."""
    forms: dict[str, Counter] = defaultdict(Counter)
    for ts in sets["tagging"].values():
        lang = ts.language.split("-")[0]
        for split in (ts.train, ts.test):
            for toks, _ in split:
                for w in toks:
                    forms[lowercase(w, lang)][w] += 1
    return {w: c.most_common(1)[0][0] for w, c in forms.items()}


def tagger_words(corpus: corpora.Corpus, sets: Mapping[str, dict], shared: list[str], min_count: int) -> list[str]:
    """Words the taggers look up that the corpus has (``min_count`` times) beyond the shared vocabulary, by frequency:
    with them a tagger's out-of-vocabulary words are only those the corpus lacks (the analogy candidates stay the
    shared vocabulary's most frequent words)."""
    wanted = set(tagging_forms(sets)) - set(shared)
    counts = Counter(w for s in corpus.sentences for w in s if w in wanted)
    return sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))


def written_forms(corpus: corpora.Corpus, words: list[str]) -> list[str]:
    """Each word's most frequent written form in the sentences that keep case (ties: the first seen); the word
    itself when it occurs only in text lower-cased at the source."""
    if corpus.surface is None:
        return list(words)
    wanted, seen = set(words), {}
    for low, sent, cut in zip(corpus.sentences, corpus.surface, corpora.lowercased_at_source(corpus)):
        if not cut:
            for w, form in zip(low, sent):
                if w in wanted:
                    seen.setdefault(w, Counter())[form] += 1
    return [seen[w].most_common(1)[0][0] if w in seen else w for w in words]


def prepare(cfg: Config, results: Results) -> Inputs:
    """Encoders (layers checked first), corpus, evaluation sets (unavailable ones marked), shared vocabulary, the
    taggers' look-up words, analogy candidates and written forms."""
    encs = load_encoders(cfg)
    corpus = training_corpus(cfg, results)
    sets = evaluation_sets(cfg, corpus, results)
    shared = vocabulary(corpus, cfg)
    vocab = shared + tagger_words(corpus, sets, shared, cfg.min_count)
    note = source_case_note(corpus)
    if note:
        results.notes.append(note)
    forms, have = tagging_forms(sets), set(vocab)
    lookup = sorted(w for w in forms if w not in have)
    return Inputs(corpus, sets, vocab, encs, shared, shared[:cfg.analogy_candidates or len(shared)],
                  written_forms(corpus, vocab), lookup, [forms[w] for w in lookup])


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
