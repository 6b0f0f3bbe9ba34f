"""What a DefSent study reads: the dictionary, its 8:1:1 headword split with the samples each variant trains and is
scored on, and the language's sentence and word evaluation sets (a set that cannot be had is skipped or stops the
run through :meth:`embedlab.study.Results.load_or_skip`)."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .. import evalsets, progress
from ..choices import check_choice
from ..encoders import Encoder
from ..study import Results
from .config import DICTIONARY_CHOICES, LANGUAGES, VARIANT_CHOICES, Config
from .dictionary import (as_entries, definitions_in, headword_key, sample_definitions, single_token_entries,
                         split_by_headword, without_held_out_definitions)

VARIANTS = VARIANT_CHOICES
DICTIONARIES = DICTIONARY_CHOICES


def load_dictionary(name: str, language: str, missing: str = "skip") -> pd.DataFrame:
    """Definitions as ``headword, definition``: ``wordnet`` (WordNet 3.1 / KeNet), an English URL set or a user's
    ``file:<path>`` (``headword<TAB>definition`` lines).

    ``attrs["files"]`` names the files read. ``oxford-defs`` is Ishiwatari et al.'s train+valid+test, which DefSent
    re-splits 8:1:1 by word; when its train file cannot be had, ``missing="skip"`` reads valid+test only and
    records why in ``attrs["unavailable"]`` (the study lists it), ``missing="fail"`` raises.
    """
    check_choice("language", language, tuple(LANGUAGES))
    check_choice("missing", missing, ("skip", "fail"))
    if name.startswith("file:"):  # a user's definition list (a missing file fails the run)
        out = as_entries(evalsets.load_evalset("dictionary", name, language=language))
        out.attrs["files"] = [name]
        return out
    check_choice("dictionary", name, DICTIONARIES)
    if name == "wordnet":
        out = as_entries(evalsets.wordnet_definitions(language))
        out.attrs["files"] = [f"wordnet-{language}"]
        return out
    if language != "en":
        raise ValueError(f"dictionary {name!r} is English only; for language {language!r} use 'wordnet'")
    unavailable = {}
    tried = Results("defsent")  # only the Oxford train file may be skipped: the valid and test files remain
    df = tried.load_or_skip("dictionary", "oxford-defs-train", lambda: evalsets.definition_pairs(name),
                            missing if name == "oxford-defs" else "fail")
    if df is None:
        why = tried.unavailable[0].reason[:200]
        unavailable["oxford-defs-train"] = (f"the Oxford train file could not be had ({why}); "
                                            "the valid and test files alone are re-split: a smaller setting")
        progress.log("oxford-defs-train: unavailable; using the valid and test files only")
        df = evalsets.definition_pairs(name, splits=["valid", "test"])
    out = as_entries(df)
    out.attrs.update(files=sorted(set(df.split)), unavailable=unavailable)
    return out


# --------------------------------------------------------------------------- the split and its samples

@dataclasses.dataclass
class Split:
    """The dictionary split 8:1:1 by headword, and the samples one run trains on and scores."""

    language: str                        # decides what is one headword (language-aware lower-casing)
    entries: pd.DataFrame                # the whole dictionary: headword, definition
    parts: dict[str, pd.DataFrame]       # train / valid / test
    single_train: pd.DataFrame           # training definitions of single-token headwords (with token_id)
    vocab_test: pd.DataFrame             # scored held-out single-token definitions (sampled)
    heads: pd.DataFrame                  # scored held-out definitions of any headword (sampled)
    distractors: list[str]               # further held-out headwords that compete in headword retrieval
    train: dict[str, pd.DataFrame]       # training definitions per trained variant ("defsent", "defsent+")
    plus_keys: set[str]                  # DefSent+ entries: the headword keys of its training definitions
    entry_src: pd.DataFrame              # every training-split definition of those headwords (averaged into entries)
    removed: int = 0                     # training rows dropped: their definition text is also held out
    in_train_before: float = 0.0         # share of scored held-out definitions in the training split before that

    @property
    def scored(self) -> pd.DataFrame:
        """Every scored held-out definition (headword retrieval and, single-token, vocabulary ranking)."""
        return pd.concat([self.heads, self.vocab_test], ignore_index=True)[["headword", "definition"]]

    def heldout_in_train(self) -> float:
        """Share of scored held-out definitions whose normalised text is a training-split definition (0 here:
        :func:`split_by_headword` keeps definitions disjoint; every training sample is drawn from that split)."""
        scored = self.scored
        return float(definitions_in(scored, [self.parts["train"]]).mean()) if len(scored) else 0.0

    def counts(self) -> dict[str, int]:
        """How much of the dictionary each part of the study used (the dictionary and the split only)."""
        return {"definitions": len(self.entries),
                "headwords": int(self.entries.headword.map(lambda w: headword_key(w, self.language)).nunique()),
                "train definitions removed (also held out)": self.removed,
                "train definitions (all)": len(self.parts["train"]),
                "train definitions (single-token headword)": len(self.single_train),
                "DefSent training definitions": len(self.train["defsent"]),
                "DefSent training words": int(self.train["defsent"].token_id.nunique()),
                "DefSent+ training definitions": len(self.train["defsent+"]), "DefSent+ entries": len(self.plus_keys),
                "DefSent+ entry definitions (averaged)": len(self.entry_src),
                "test definitions (single-token, scored)": len(self.vocab_test),
                "test definitions (any headword, scored)": len(self.heads),
                "test headword candidates": len(set(self.heads.headword) | set(self.distractors))}


def split_dictionary(cfg: Config, encoder: Encoder, entries: pd.DataFrame) -> Split:
    """Split ``entries`` by headword (seeded) and draw every sample of the run from ``cfg``."""
    lang = cfg.language

    def key(w: str) -> str:
        return headword_key(w, lang)

    parts = split_by_headword(entries, cfg.seed, language=lang, disjoint_definitions=False)
    before = parts["train"]
    parts = without_held_out_definitions(parts)
    single_train = single_token_entries(encoder, parts["train"])
    vocab_test = single_token_entries(encoder, parts["test"])
    vocab_test = vocab_test[~vocab_test.token_id.isin(set(single_train.token_id))]  # e.g. 'Able' vs 'able'
    heads = sample_definitions(parts["test"], cfg.eval_definitions, cfg.seed)
    others = sorted(set(parts["test"].headword) - set(heads.headword))
    extra = max(0, cfg.n_candidates - heads.headword.nunique())
    distractors = [others[i] for i in np.sort(np.random.default_rng(cfg.seed).permutation(len(others))[:extra])]
    train = {"defsent": sample_definitions(single_train, cfg.train_definitions, cfg.seed),
             "defsent+": sample_definitions(parts["train"], cfg.plus_definitions, cfg.seed)}
    plus_keys = set(train["defsent+"].headword.map(key))
    entry_src = parts["train"][parts["train"].headword.map(key).isin(plus_keys)]
    if "defsent+" in cfg.variants and cfg.entry_transform != "none" and len(plus_keys) <= encoder.dim:
        raise ValueError(f"entry_transform={cfg.entry_transform!r} needs more DefSent+ entries than dimensions "
                         f"({encoder.dim}); {cfg.plus_definitions} training definitions give {len(plus_keys)} "
                         "entries: raise plus_train_definitions or use entry_transform='none'")
    vocab_test = sample_definitions(vocab_test, cfg.eval_definitions, cfg.seed)
    split = Split(lang, entries, parts, single_train, vocab_test, heads, distractors, train, plus_keys, entry_src,
                  removed=len(before) - len(parts["train"]))
    split.in_train_before = float(definitions_in(split.scored, [before]).mean()) if len(split.scored) else 0.0
    return split


# --------------------------------------------------------------------------- evaluation data

@dataclasses.dataclass
class EvalData:
    """Everything one embedding space is evaluated on (all texts are embedded in one pass)."""

    vocab: pd.DataFrame                  # single-token held-out headwords: headword, definition, token_id
    heads: pd.DataFrame                  # held-out headwords of any length: headword, definition
    distractors: list[str]               # further held-out headwords that compete in headword retrieval
    sts: dict[str, pd.DataFrame]         # s1, s2, score
    paraphrase: dict[str, pd.DataFrame]  # s1, s2 (aligned)
    word_similarity: dict[str, pd.DataFrame]  # w1, w2, score
    isotropy_texts: list[str]
    seen: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # training headwords (same columns as vocab)

    @property
    def candidates(self) -> list[str]:
        """Distinct held-out headwords (those scored plus distractors), the candidates of headword retrieval."""
        return sorted({*self.heads.headword, *self.distractors})

    def texts(self) -> list[str]:
        """Every distinct text to embed, in a fixed order."""
        parts = [self.vocab.definition, self.heads.definition, self.candidates, self.isotropy_texts,
                 self.seen.get("definition", [])]
        parts += [df[c] for df in [*self.sts.values(), *self.paraphrase.values()] for c in ("s1", "s2")]
        parts += [df[c] for df in self.word_similarity.values() for c in ("w1", "w2")]
        return list(dict.fromkeys(t for p in parts for t in p))

    def counts(self) -> dict[str, int]:
        """What each space embeds and scores beyond the dictionary: these depend on which sets could be had."""
        sets = {**{f"sts.{n}": df for n, df in self.sts.items()},
                **{f"paraphrase.{n}": df for n, df in self.paraphrase.items()},
                **{f"word-similarity.{n}": df for n, df in self.word_similarity.items()}}
        return {**{f"{name} pairs": len(df) for name, df in sets.items()},
                "isotropy texts": len(self.isotropy_texts), "texts embedded per space": len(self.texts())}


def _cap(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    if n is None or len(df) <= n:
        return df.reset_index(drop=True)
    return df.iloc[np.sort(np.random.default_rng(seed).choice(len(df), n, replace=False))].reset_index(drop=True)


def _load(what: str, kind: str, name: str, loader: Callable[[], Any], results: Results | None, missing: str) -> Any:
    """``loader()`` through ``results.load_or_skip`` (without ``results`` a set that cannot be had raises); a
    skipped set's reason says what it was."""
    if results is None:
        return loader()
    out = results.load_or_skip(kind, name, loader, missing)
    if out is None:
        skipped = results.unavailable[-1]
        progress.log(f"{name}: unavailable ({skipped.reason[:120]})")
        skipped.reason = f"{what}: {skipped.reason[:300]}"
    return out


def _translation_note(name: str, pairs: pd.DataFrame) -> str:
    """What a translation set measures, from its loader's counts (``pairs.attrs``)."""
    a = pairs.attrs
    src, tgt = a.get("src", "?"), a.get("tgt", "?")
    n = len(pairs)
    text = (f"paraphrase.{name} is cross-lingual translation retrieval ({src}→{tgt}), not monolingual paraphrase: "
            f"each of {n:,} {src} verses is a query and the {n:,} {tgt} verses of the same sample are the candidates "
            f"(MRR; a random ranking scores {sum(1 / k for k in range(1, n + 1)) / n:.4f}), because no {src} "
            "paraphrase set can be had offline; it tests cross-lingual alignment of a multilingual encoder, not the "
            "same-language paraphrase that the English Bible pairs test")
    if "verses" in a:
        text += (f". Of {a['verses']:,} aligned verses, {a['merged_verses']:,} that a translation renders as one text "
                 f"per verse range were merged into {a['merged_pairs']:,} pairs and {a['repeated_dropped']:,} pairs "
                 f"with a repeated text (refrains: ambiguous targets) dropped, leaving {a['pairs_available']:,} pairs")
    return text


def evaluation_data(language: str, vocab: pd.DataFrame, heads: pd.DataFrame, distractors: Sequence[str] = (),
                    max_pairs: int | None = 500, n_isotropy: int = 1000, seed: int = 0,
                    results: Results | None = None, missing: str = "skip") -> EvalData:
    """The language's sentence and word evaluations around the test entries, each capped at ``max_pairs``.

    A set whose asset cannot be had (no cache, no mirror, no network) is listed in ``results`` as unavailable
    with ``missing="skip"``; with ``missing="fail"`` (the paper profile) the error stops the run.
    """
    check_choice("language", language, tuple(LANGUAGES))
    spec = LANGUAGES[language]
    if results is not None:  # evaluations the English run has and this language lacks are said, not silently absent
        if spec["paraphrase"] is None:
            instead = ("; its sentence task is cross-lingual translation retrieval instead "
                       f"({', '.join(spec['translation'])})" if spec["translation"] else "")
            results.mark_unavailable("paraphrase", "paraphrase", f"no monolingual {language} paraphrase set can be had "
                                     f"offline (the Bible verse pairs are English translations){instead}")
        if not spec["word_similarity"]:
            results.mark_unavailable("word-similarity", "word-similarity", f"no {language} word-similarity set is "
                                     "wired into this study yet (AnlamVer ships in the nlptoolkit-wordtovec sample)")
    sts = {}
    for n in spec["sts"]:
        s = _load("STS test set", "sts", n, lambda n=n: evalsets.sts_pairs(n, "test").pairs, results, missing)
        if s is not None:
            sts[n] = _cap(s, max_pairs, seed)
    para = {}
    if spec["paraphrase"]:
        a, b = spec["paraphrase"]
        p = _load("Bible paraphrase pairs", "paraphrase", f"bible-{a}-{b}",
                  lambda: evalsets.bible_paraphrase_split(a, b, max_pairs=max_pairs, seed=seed)[1], results, missing)
        if p is not None:
            para[f"bible-{a}-{b}"] = p
    for n in spec["translation"]:  # scored as paraphrase.<name>: query -> its translation among the sample's targets
        p = _load("translation pairs", "translation", n,
                  lambda n=n: evalsets.load_evalset("translation", n, max_pairs=max_pairs, seed=seed), results, missing)
        if p is not None:
            para[n] = p
            if results is not None:
                results.notes.append(_translation_note(n, p))
    words = {}
    for n in spec["word_similarity"]:
        w = _load("word similarity", "similarity", n, lambda n=n: evalsets.load_evalset("similarity", n).pairs,
                  results, missing)
        if w is not None:
            words[n] = _cap(w, max_pairs, seed)
    pool = list(dict.fromkeys(t for df in [*sts.values(), *para.values()] for t in (*df.s1, *df.s2)))
    pool = pool or list(heads.definition)
    iso = [pool[i] for i in np.sort(np.random.default_rng(seed).permutation(len(pool))[:n_isotropy])]
    return EvalData(vocab.reset_index(drop=True), heads.reset_index(drop=True), list(distractors), sts, para, words,
                    iso)
