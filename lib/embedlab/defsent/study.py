"""The DefSent / DefSent+ study: base encoder vs DefSent vs DefSent+ (progressive separate training) per pooling.

Evaluations (all offline for WordNet / KeNet): definition-to-word retrieval on held-out headwords (DefSent's
MRR@10 over the whole vocabulary through the tied prediction layer, and MRR@10 among held-out headwords encoded
as text; for an encoder without an MLM head, ranking through its bare token-embedding matrix, DefSent's objective
there, as ``def2word-tied``), Bible-translation paraphrase retrieval (English) or Turkish->English verse
translation retrieval (Turkish), word similarity, STS where the set can be had, and the isotropy of the space.
A trained variant below its base gets a generated explanation on its flag (:func:`_explain_below_base`). Every score is kept per item so differences from the base encoder come
with paired bootstrap intervals. :func:`run_study` returns :class:`embedlab.study.Results`.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from .. import assets, encoders, evalsets, flags, progress, stats
from ..choices import check_choice
from ..encoders import Encoder
from ..evaluate.sentence import cosine_pairs, isotropy, retrieval_ranks
from ..study import Reference, Results, metric_key
from .config import Config
from .dictionary import as_entries, headword_key, sample_definitions, single_token_entries, split_by_headword
from .targets import TiedPredictionLayer, prediction_layer
from .training import (DEFSENT_LR, DEFSENT_PLUS_LR, Trained, defsent_config, defsent_plus_config, model_family,
                       progressive_separate_training, train_defsent)

VARIANTS = ("base", "defsent", "defsent+")
DICTIONARIES = ("wordnet", "oxford-defs", "commondefs")
TOP_K = 10  # DefSent's def2word MRR is MRR@10 (experiments/src/evaluation/def2word.py: ranks within the top 10)
# Evaluation sets per language: (kind, name). STS sets are URL assets (skipped offline), the rest are offline.
# "paraphrase": two English Bible versions (monolingual, held-out books); "translation": registered translation sets
# (query in this language, candidates in another) scored like paraphrase retrieval (MRR, no cut-off).
LANGUAGES: dict[str, dict[str, Any]] = {
    "en": {"sts": ("stsb", "sick"), "paraphrase": ("kjv", "wyc"), "translation": (),
           "word_similarity": ("wordsim353", "simlex999")},
    "tr": {"sts": ("stsb-tr",), "paraphrase": None, "translation": ("quran-tr-en",),
           "word_similarity": ("anlamver-npm",)},
}
PAPER_ENCODERS = ("bert-base-uncased", "roberta-base")
#: offline encoders that are already trained for sentence similarity (their model cards), unlike the papers' bases
SIMILARITY_TRAINED = {
    "minilm": "all-MiniLM-L6-v2, a sentence-transformers model contrastively fine-tuned for sentence similarity "
              "on over a billion sentence pairs",
    "e5-small": "multilingual-e5-small, contrastively pre-trained and fine-tuned for retrieval and similarity",
}


def load_dictionary(name: str, language: str, missing: str = "skip") -> pd.DataFrame:
    """Definitions as ``headword, definition``: ``wordnet`` (WordNet 3.1 / KeNet) or an English URL set.

    ``attrs["files"]`` names the files read. ``oxford-defs`` is Ishiwatari et al.'s train+valid+test, which DefSent
    re-splits 8:1:1 by word; when its train file cannot be had, ``missing="skip"`` reads valid+test only and
    records why in ``attrs["unavailable"]`` (the study lists it), ``missing="fail"`` raises.
    """
    check_choice("dictionary", name, DICTIONARIES)
    check_choice("language", language, tuple(LANGUAGES))
    check_choice("missing", missing, ("skip", "fail"))
    if name == "wordnet":
        out = as_entries(evalsets.wordnet_definitions(language))
        out.attrs["files"] = [f"wordnet-{language}"]
        return out
    if language != "en":
        raise ValueError(f"dictionary {name!r} is English only; for language {language!r} use 'wordnet'")
    unavailable = {}
    try:
        df = evalsets.definition_pairs(name)
    except assets.AssetUnavailable as exc:
        if missing == "fail" or name != "oxford-defs":
            raise
        unavailable["oxford-defs-train"] = (f"the Oxford train file could not be had ({str(exc).splitlines()[0][:200]}); "
                                            "the valid and test files alone are re-split: a smaller setting")
        progress.log(f"oxford-defs-train: unavailable; using the valid and test files only")
        df = evalsets.definition_pairs(name, splits=["valid", "test"])
    out = as_entries(df)
    out.attrs.update(files=sorted(set(df.split)), unavailable=unavailable)
    return out


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


def _cap(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    if n is None or len(df) <= n:
        return df.reset_index(drop=True)
    return df.iloc[np.sort(np.random.default_rng(seed).choice(len(df), n, replace=False))].reset_index(drop=True)


def _load_or_skip(what: str, kind: str, name: str, loader: Callable[[], Any], results: Results | None,
                  missing: str) -> Any:
    """``loader()``; a set that cannot be had is marked unavailable (``missing='skip'``) or stops the run."""
    try:
        return loader()
    except assets.AssetUnavailable as exc:
        if missing == "fail" or results is None:
            raise
        results.mark_unavailable(name, kind, f"{what}: {str(exc).splitlines()[0][:300]}")
        progress.log(f"{name}: unavailable ({str(exc).splitlines()[0][:120]})")
        return None


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
        s = _load_or_skip("STS test set", "sts", n, lambda n=n: evalsets.sts_pairs(n, "test").pairs, results, missing)
        if s is not None:
            sts[n] = _cap(s, max_pairs, seed)
    para = {}
    if spec["paraphrase"]:
        a, b = spec["paraphrase"]
        p = _load_or_skip("Bible paraphrase pairs", "paraphrase", f"bible-{a}-{b}",
                          lambda: evalsets.bible_paraphrase_split(a, b, max_pairs=max_pairs, seed=seed)[1],
                          results, missing)
        if p is not None:
            para[f"bible-{a}-{b}"] = p
    for n in spec["translation"]:  # scored as paraphrase.<name>: query -> its translation among the sample's targets
        p = _load_or_skip("translation pairs", "translation", n,
                          lambda n=n: evalsets.load_evalset("translation", n, max_pairs=max_pairs, seed=seed),
                          results, missing)
        if p is not None:
            para[n] = p
            if results is not None:
                results.notes.append(_translation_note(n, p))
    words = {}
    for n in spec["word_similarity"]:
        w = _load_or_skip("word similarity", "similarity", n, lambda n=n: evalsets.load_evalset("similarity", n).pairs,
                          results, missing)
        if w is not None:
            words[n] = _cap(w, max_pairs, seed)
    pool = list(dict.fromkeys(t for df in [*sts.values(), *para.values()] for t in (*df.s1, *df.s2)))
    pool = pool or list(heads.definition)
    iso = [pool[i] for i in np.sort(np.random.default_rng(seed).permutation(len(pool))[:n_isotropy])]
    return EvalData(vocab.reset_index(drop=True), heads.reset_index(drop=True), list(distractors), sts, para, words,
                    iso)


# --------------------------------------------------------------------------- scoring one space

@torch.no_grad()
def vocabulary_ranks(layer: TiedPredictionLayer, embeddings: np.ndarray, token_ids: Sequence[int], top: int = 5,
                     batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """DefSent's ranking over the whole vocabulary: 1-based rank of each gold token, and the ``top`` token ids."""
    device = layer.weight.device
    gold = torch.tensor(np.array(token_ids), dtype=torch.long, device=device)
    ranks, tops = [], []
    for s in range(0, len(embeddings), batch_size):
        logits = layer(torch.as_tensor(embeddings[s:s + batch_size], device=device))
        target = logits.gather(1, gold[s:s + batch_size, None])
        ranks.append(((logits > target).sum(1) + 1).cpu().numpy())
        tops.append(logits.topk(top, dim=1).indices.cpu().numpy())
    return np.concatenate(ranks), np.concatenate(tops)


def reciprocal_rank_at(ranks: np.ndarray, k: int | None = TOP_K) -> np.ndarray:
    """Per-item reciprocal rank; beyond the top ``k`` it scores 0 (``k=None``: no cut-off)."""
    ranks = np.asarray(ranks, dtype=float)
    rr = 1.0 / ranks
    return rr if k is None else np.where(ranks <= k, rr, 0.0)


@dataclasses.dataclass
class Scores:
    """Per-item scores of one space on one task: ``rr`` (reciprocal ranks, mean = MRR) or ``cos`` (similarities
    whose Spearman with ``gold`` is the metric)."""

    kind: str
    values: np.ndarray
    gold: np.ndarray | None = None
    ranks: np.ndarray | None = None

    @property
    def value(self) -> float:
        """The task's metric x100: MRR or Spearman."""
        if self.kind == "rr":
            return float(self.values.mean() * 100)
        return float(stats.spearman(self.values, self.gold) * 100)

    def ci(self, seed: int = 0) -> tuple[float, float]:
        lo, hi = (stats.mean_ci(self.values, seed=seed) if self.kind == "rr"
                  else stats.spearman_ci(self.values, self.gold, seed=seed))
        return lo * 100, hi * 100

    def diff_ci(self, other: "Scores", seed: int = 0) -> tuple[float, float]:
        """Paired interval of self - other (same items)."""
        lo, hi = (stats.paired_mean_diff_ci(self.values, other.values, seed=seed) if self.kind == "rr"
                  else stats.paired_spearman_diff_ci(self.values, other.values, self.gold, seed=seed))
        return lo * 100, hi * 100


# task -> (metric label, chance level x100 or None)
TASK_METRIC = {"def2word-vocab": "MRR@10", "def2word-tied": "MRR@10", "def2word-vocab-seen": "MRR@10",
               "def2word-tied-seen": "MRR@10", "def2word-headwords": "MRR@10", "paraphrase": "MRR", "sts": "Spearman",
               "word-similarity": "Spearman"}


def evaluate_space(emb: np.ndarray, data: EvalData, layer: TiedPredictionLayer | None,
                   n_examples: int = 8, vocab_task: str = "def2word-vocab"
                   ) -> tuple[dict[str, Scores], dict[str, float], pd.DataFrame]:
    """Every task of one embedding space (``emb`` rows follow ``data.texts()``): per-item scores by task name,
    isotropy numbers, and example rows. ``layer``: held-out headwords are ranked over the vocabulary through it,
    scored as ``vocab_task`` (``def2word-vocab`` through an MLM head; ``def2word-tied`` through the bare
    token-embedding matrix, DefSent's objective for an encoder without a head)."""
    row = {t: i for i, t in enumerate(data.texts())}

    def E(texts: Sequence[str]) -> np.ndarray:
        return emb[[row[t] for t in texts]]

    out: dict[str, Scores] = {}
    tops = np.zeros((0, 5), dtype=int)
    if len(data.vocab) and layer is not None:
        ranks, tops = vocabulary_ranks(layer, E(data.vocab.definition), data.vocab.token_id)
        out[vocab_task] = Scores("rr", reciprocal_rank_at(ranks), ranks=ranks)
    if len(data.seen) and layer is not None:  # the same ranking for training headwords: memorised vs generalised
        ranks, _ = vocabulary_ranks(layer, E(data.seen.definition), data.seen.token_id)
        out[f"{vocab_task}-seen"] = Scores("rr", reciprocal_rank_at(ranks), ranks=ranks)
    cands = data.candidates
    gold = pd.Index(cands).get_indexer(data.heads.headword)
    ranks = retrieval_ranks(E(data.heads.definition), E(cands), gold)
    out["def2word-headwords"] = Scores("rr", reciprocal_rank_at(ranks), ranks=ranks)
    for name, df in data.sts.items():
        out[f"sts.{name}"] = Scores("cos", cosine_pairs(E(df.s1), E(df.s2)), np.asarray(df.score, float))
    for name, df in data.paraphrase.items():
        ranks = retrieval_ranks(E(df.s1), E(df.s2))
        out[f"paraphrase.{name}"] = Scores("rr", reciprocal_rank_at(ranks, None), ranks=ranks)
    for name, df in data.word_similarity.items():
        out[f"word-similarity.{name}"] = Scores("cos", cosine_pairs(E(df.w1), E(df.w2)), np.asarray(df.score, float))
    iso = isotropy(E(data.isotropy_texts))
    return out, iso, _examples(data, tops[:n_examples], E, cands, layer, n_examples)


def _examples(data: EvalData, tops: np.ndarray, E, cands: list[str], layer, n: int) -> pd.DataFrame:
    ex = data.heads.head(n)
    cols = ["headword", "definition", "nearest held-out headwords"]
    if ex.empty:
        return pd.DataFrame(columns=cols)
    sims = E(ex.definition) @ E(cands).T / np.outer(np.linalg.norm(E(ex.definition), axis=1),
                                                      np.linalg.norm(E(cands), axis=1)).clip(1e-12)
    near = [", ".join(cands[j] for j in np.argsort(-s)[:3]) for s in sims]
    return ex[["headword", "definition"]].assign(**{"nearest held-out headwords": near}).reset_index(drop=True)


def task_kind(task: str) -> str:
    return task.split(".")[0]


# --------------------------------------------------------------------------- the study

@dataclasses.dataclass
class Space:
    """One evaluated embedding space: a variant (with its PST stage) at one pooling."""

    variant: str
    pooling: str
    scores: dict[str, Scores]
    isotropy: dict[str, float]
    stage: int | None = None

    @property
    def label(self) -> str:
        name = {"base": "base", "defsent": "DefSent", "defsent+": "DefSent+"}[self.variant]
        return f"{name} {self.pooling}" + (f" (PST stage {self.stage})" if self.stage else "")


def _embed_poolings(encoder: Encoder, texts: Sequence[str], poolings: Sequence[str], max_length: int,
                    desc: str) -> dict[str, np.ndarray]:
    """Several poolings of the last layer from one pass: ``{pooling: [N, H]}``; mean/max over every token, special
    tokens included (both authors' encoders)."""
    inputs = [encoder.query_prefix + t for t in texts]
    out = {p: np.zeros((len(inputs), encoder.dim), dtype=np.float32) for p in poolings}
    batches = encoders.hidden_state_batches(encoder, inputs, [encoder.n_layers], 64, max_length, progress=False)
    for idx, batch, states in progress.bar(batches, desc=desc, total=-(-len(inputs) // 64), unit="batch"):
        for p in poolings:
            out[p][idx] = encoders.pool(states[0], batch["attention_mask"], p).float().numpy()
    return out


def _count(n: int | None) -> str:
    return "all" if n is None else f"{n:,}"


def _lr_note(cfg: Config, encoder: Encoder) -> list[str]:
    notes = []
    fam = model_family(encoder)
    for p in cfg.poolings:
        paper = DEFSENT_LR[(fam, p)]
        if cfg.defsent_lr is not None and "defsent" in cfg.variants and not math.isclose(cfg.defsent_lr, paper):
            notes.append(f"DefSent ({p}) learns at {cfg.defsent_lr:g}; the authors' script uses {paper:.4g} for "
                         f"{fam}-{p}: a higher rate so that the short offline run learns at all")
    if cfg.defsent_plus_lr is not None and "defsent+" in cfg.variants:
        notes.append(f"DefSent+ learns at {cfg.defsent_plus_lr:g} (a command-line argument in the authors' code; "
                     f"their examples use 1e-6 to 2e-5; our default is {DEFSENT_PLUS_LR:g})")
    if "defsent+" in cfg.variants and cfg.defsent_plus_head_lr is not None:
        notes.append(f"DefSent+ trains its pooler head at {cfg.defsent_plus_head_lr:g} and the encoder at "
                     f"{cfg.defsent_plus_lr or DEFSENT_PLUS_LR:g}; the authors train both at one rate over thousands "
                     "of steps (Oxford + WordNet): the pooler must learn the map into the x100 ICA entry coordinates, "
                     "which a run this short at one encoder-sized rate gives too few updates to learn")
    if "defsent+" in cfg.variants and (cfg.plus_epochs or cfg.epochs) > 1:
        notes.append(f"DefSent+ runs {cfg.plus_epochs or cfg.epochs} epochs per PST stage over the same "
                     f"{_count(cfg.plus_definitions)} training definitions (the authors: one epoch over the whole "
                     "dictionary)")
    return notes


def _differences(cfg: Config, encoder: Encoder, layer_kind: str, counts: dict[str, int],
                 dictionary_files: Sequence[str] = ()) -> list[str]:
    """Where this run's setting differs from the papers', generated from its parameters."""
    notes = []
    if cfg.encoder not in PAPER_ENCODERS:
        notes.append(f"encoder {cfg.encoder} ({encoder.source}); the papers use bert-base-uncased / roberta-base")
    if "no MLM head" in layer_kind and "defsent" in cfg.variants and cfg.defsent_head_lr is None:
        notes.append(f"{cfg.encoder} ships no masked-LM head, so DefSent's prediction layer is the bare token-embedding "
                     "matrix (the papers keep the pretrained MLM transform and bias); its vocabulary predictions are "
                     "therefore not shown as examples")
    elif "no MLM head" in layer_kind and "defsent" in cfg.variants:
        notes.append(f"{cfg.encoder} ships no masked-LM head: in front of the frozen token-embedding matrix DefSent "
                     f"trains a linear transform (identity at the start) at {cfg.defsent_head_lr:g}, standing in for "
                     "the pretrained MLM transform the papers keep frozen; without it the encoder itself must learn to "
                     "point into the input-embedding space, which a short run does not manage (held-out def2word-tied "
                     "stays at the base's level)")
    if cfg.dictionary == "wordnet":
        src = "English WordNet 3.1 glosses" if cfg.language == "en" else "Turkish KeNet glosses"
        notes.append(f"dictionary: {src} split 8:1:1 by headword here; DefSent uses the Oxford dictionary of "
                     "Ishiwatari et al. (train+valid+test re-split 8:1:1 by word), DefSent+ Oxford + WordNet entries")
    elif cfg.dictionary == "oxford-defs" and "train" in dictionary_files:
        notes.append("dictionary: Ishiwatari et al.'s Oxford train+valid+test files (the copy in Hitchcock717/AutoDict "
                     "@549d272; train pinned by its git blob id) re-split 8:1:1 by headword, as DefSent's "
                     "extract_data_from_ishiwatari.py does; DefSent reads them from Ishiwatari's naacl_data.zip and "
                     "shuffles with an unseeded random.shuffle, so the split itself differs")
    elif cfg.dictionary == "oxford-defs":
        notes.append(f"dictionary: only the {' and '.join(dictionary_files)} files of Ishiwatari et al.'s Oxford set "
                     "were read (the train file could not be had), re-split 8:1:1 by headword: a different, smaller "
                     "setting than DefSent's, which re-splits all three files")
    if cfg.train_definitions is not None or cfg.plus_definitions is not None:
        caps = (f"{cfg.train_definitions:,} definitions per model" if cfg.plus_definitions == cfg.train_definitions
                else f"DefSent at {_count(cfg.train_definitions)} and DefSent+ at {_count(cfg.plus_definitions)} "
                     "definitions")
        notes.append(f"training capped: {caps} (DefSent trains one epoch on "
                     f"about 80% of the Oxford dictionary; {counts.get('train definitions (single-token headword)', 0):,}"
                     " single-token training definitions were available here)")
    if "defsent+" in cfg.variants:
        notes.append(f"DefSent+ entries are the training headwords only ({counts.get('DefSent+ entries', 0):,}), not "
                     "every dictionary entry, so held-out headwords stay unseen; entry transform "
                     f"{cfg.entry_transform!r}" + (f", FastICA max_iter {cfg.ica_max_iter} (authors' example: 1000)"
                                                   if cfg.entry_transform == "ica" else ""))
    notes += _lr_note(cfg, encoder)
    notes.append("definition-to-word MRR is MRR@10 as in DefSent's def2word.py (a miss beyond rank 10 scores 0); "
                 "paraphrase MRR has no cut-off")
    return notes


def run_study(cfg: Config, encoder: Encoder | None = None, dictionary: Any = None) -> Results:
    """Train and evaluate ``cfg.variants`` x ``cfg.poolings`` on one dictionary, split 8:1:1 by headword.

    DefSent trains on a seeded sample of ``train_definitions`` definitions of single-token training headwords,
    DefSent+ (``pst_stages`` stages of progressive separate training) on as many definitions of any training
    headwords (its entry embeddings average every training-split definition of those headwords); both are
    evaluated on held-out (test-split) headwords never seen in training.
    """
    t0 = time.time()
    results = Results("defsent")
    lang = cfg.language
    encoder = encoder or encoders.load_encoder(cfg.encoder)
    if dictionary is None:
        dictionary = load_dictionary(cfg.dictionary, lang, cfg.missing_sets)
    attrs = dict(getattr(dictionary, "attrs", {}) or {})
    for name, why in (attrs.get("unavailable") or {}).items():
        results.mark_unavailable(name, "dictionary", why)
    entries = as_entries(dictionary)
    results.extra["dictionary_files"] = list(attrs.get("files") or [])

    def key(w: str) -> str:
        return headword_key(w, lang)

    splits = split_by_headword(entries, cfg.seed, language=lang)
    single_train = single_token_entries(encoder, splits["train"])
    vocab_test = single_token_entries(encoder, splits["test"])
    vocab_test = vocab_test[~vocab_test.token_id.isin(set(single_train.token_id))]  # e.g. 'Able' vs 'able'
    heads = sample_definitions(splits["test"], cfg.eval_definitions, cfg.seed)
    others = sorted(set(splits["test"].headword) - set(heads.headword))
    extra = max(0, cfg.n_candidates - heads.headword.nunique())
    distractors = [others[i] for i in np.sort(np.random.default_rng(cfg.seed).permutation(len(others))[:extra])]
    layer = prediction_layer(encoder, cfg.use_mlm_head)
    mlm = layer.transform is not None
    data = evaluation_data(lang, sample_definitions(vocab_test, cfg.eval_definitions, cfg.seed), heads, distractors,
                           cfg.max_pairs, seed=cfg.seed, results=results, missing=cfg.missing_sets)
    if not mlm:
        results.mark_unavailable("def2word-vocab", "def2word", f"{encoder.name} ships no masked-LM head: DefSent's "
                                 "whole-vocabulary ranking through the MLM head cannot be measured; the same ranking "
                                 "through the bare token-embedding matrix (what DefSent trains against here) is "
                                 "reported as def2word-tied, a check that DefSent learned, not the paper's measure")
    train_sets = {"defsent": sample_definitions(single_train, cfg.train_definitions, cfg.seed),
                  "defsent+": sample_definitions(splits["train"], cfg.plus_definitions, cfg.seed)}
    if "defsent" in cfg.variants:  # training headwords, scored like held-out ones: memorised vs generalised
        data.seen = sample_definitions(train_sets["defsent"], cfg.eval_definitions, cfg.seed).reset_index(drop=True)
    texts = data.texts()
    plus_keys = set(train_sets["defsent+"].headword.map(key))
    entry_src = splits["train"][splits["train"].headword.map(key).isin(plus_keys)]
    if "defsent+" in cfg.variants and cfg.entry_transform != "none" and len(plus_keys) <= encoder.dim:
        raise ValueError(f"entry_transform={cfg.entry_transform!r} needs more DefSent+ entries than dimensions "
                         f"({encoder.dim}); {cfg.plus_definitions} training definitions give {len(plus_keys)} "
                         "entries: raise plus_train_definitions or use entry_transform='none'")
    counts = {"definitions": len(entries), "headwords": int(entries.headword.map(key).nunique()),
              "train definitions (all)": len(splits["train"]),
              "train definitions (single-token headword)": len(single_train),
              "DefSent training definitions": len(train_sets["defsent"]),
              "DefSent training words": int(train_sets["defsent"].token_id.nunique()),
              "DefSent+ training definitions": len(train_sets["defsent+"]), "DefSent+ entries": len(plus_keys),
              "DefSent+ entry definitions (averaged)": len(entry_src),
              "test definitions (single-token, scored)": len(data.vocab),
              "test definitions (any headword, scored)": len(data.heads),
              "test headword candidates": len(data.candidates),
              "texts embedded per space": len(texts)}
    results.timings["data"] = time.time() - t0
    spaces: list[Space] = []
    examples: list[pd.DataFrame] = []
    training: list[dict] = []
    losses: dict[str, list[float]] = {}

    def evaluate(variant: str, pooling: str, emb: np.ndarray, lay, stage: int | None = None) -> Space:
        sc, iso, ex = evaluate_space(emb, data, lay, cfg.n_examples, "def2word-vocab" if mlm else "def2word-tied")
        sp = Space(variant, pooling, sc, iso, stage)
        spaces.append(sp)
        examples.append(ex.assign(variant=sp.label))
        return sp

    if "base" in cfg.variants:
        t = time.time()
        progress.step(f"embedding {len(texts):,} evaluation texts with the base encoder ({encoder.name})")
        for pooling, emb in _embed_poolings(encoder, texts, cfg.poolings, cfg.max_length, "base encoder").items():
            evaluate("base", pooling, emb, layer)
        results.timings["base (evaluate)"] = time.time() - t
    common = dict(epochs=cfg.epochs, max_length=cfg.max_length, seed=cfg.seed)
    for pooling in cfg.poolings:
        if "defsent" in cfg.variants:
            t = time.time()
            progress.step(f"training DefSent ({pooling}) on {len(train_sets['defsent']):,} definitions")
            trained = train_defsent(encoder, train_sets["defsent"], pooling,
                                    defsent_config(encoder, pooling, learning_rate=cfg.defsent_lr,
                                                   head_learning_rate=cfg.defsent_head_lr if not mlm else None,
                                                   batch_size=cfg.batch_size, **common), cfg.use_mlm_head)
            results.timings[f"defsent ({pooling}) train"] = time.time() - t
            emb = _embed_poolings(trained.encoder, texts, [pooling], cfg.max_length, f"DefSent {pooling}")[pooling]
            evaluate("defsent", pooling, emb, trained.head)
            training.append(_training_row(trained, None,
                                          trained.encoder.model.get_input_embeddings().num_embeddings))
            losses[f"DefSent {pooling}"] = trained.losses
            del trained
        if "defsent+" in cfg.variants:
            t = time.time()

            def on_stage(tr: Trained, pooling=pooling) -> None:
                stage = len([s for s in spaces if s.variant == "defsent+" and s.pooling == pooling]) + 1
                emb = _embed_poolings(tr.encoder, texts, [pooling], cfg.max_length,
                                      f"DefSent+ {pooling} stage {stage}")[pooling]
                evaluate("defsent+", pooling, emb, None, stage)
                training.append(_training_row(tr, stage))
                losses[f"DefSent+ {pooling} stage {stage}"] = tr.losses

            progress.step(f"training DefSent+ ({pooling}): {cfg.pst_stages} PST stage(s) on "
                          f"{len(train_sets['defsent+']):,} definitions, {len(plus_keys):,} entries")
            progressive_separate_training(
                encoder, train_sets["defsent+"], cfg.pst_stages, pooling,
                defsent_plus_config(learning_rate=cfg.defsent_plus_lr, batch_size=cfg.plus_batch_size,
                                    head_learning_rate=cfg.defsent_plus_head_lr,
                                    **{**common, "epochs": cfg.plus_epochs or cfg.epochs}),
                entry_definitions=entry_src, on_stage=on_stage, transform=cfg.entry_transform,
                scale=cfg.entry_scale, head=cfg.train_head, progress=True, language=lang,
                ica_max_iter=cfg.ica_max_iter)
            results.timings[f"defsent+ ({pooling}) train+evaluate"] = time.time() - t
    _fill_results(results, cfg, spaces, training, losses, counts, encoder, layer.kind)
    results.add_table("examples", pd.concat(examples, ignore_index=True) if examples else pd.DataFrame())
    _published(results, cfg)
    results.extra.update(spaces=spaces, losses=losses, counts=counts, prediction_layer=layer.kind)
    results.timings["total"] = time.time() - t0
    return results


def _training_row(t: Trained, stage: int | None, n_classes: int | None = None) -> dict:
    """One training run's settings and loss; ``n_classes``: the size of the softmax (DefSent: the vocabulary)."""
    c = t.config
    n = n_classes or t.n_classes
    w = max(1, len(t.losses) // 10)
    first, last = float(np.mean(t.losses[:w])), float(np.mean(t.losses[-w:]))
    return {"variant": "DefSent" if t.variant == "defsent" else "DefSent+", "pooling": t.pooling,
            "PST stage": stage if stage is not None else "–", "definitions": t.n_train, "classes (N)": n,
            "ln N": math.log(n), "steps": len(t.losses), "optimizer": c.optimizer,
            "learning rate": c.learning_rate, "batch": c.batch_size, "schedule": c.schedule,
            "loss (first 10% of steps)": first, "loss (last 10% of steps)": last, "last / first": last / first,
            "note": t.note}


def _fill_results(results: Results, cfg: Config, spaces: list[Space], training: list[dict],
                  losses: dict[str, list[float]], counts: dict[str, int], encoder: Encoder, layer_kind: str) -> None:
    """Tables, metrics, loss checks, headline comparisons (each trained variant minus the base encoder), notes."""
    rows = []
    for sp in spaces:
        for task, sc in sp.scores.items():
            lo, hi = sc.ci(cfg.seed)
            rows.append({"variant": sp.label, "pooling": sp.pooling, "task": task, "metric": TASK_METRIC[task_kind(task)],
                         "value": sc.value, "ci_low": lo, "ci_high": hi, "n": len(sc.values)})
            results.metrics[metric_key(task, _subject(sp), TASK_METRIC[task_kind(task)])] = round(sc.value, 4)
        for m, v in sp.isotropy.items():
            rows.append({"variant": sp.label, "pooling": sp.pooling, "task": "isotropy", "metric": m, "value": v,
                         "ci_low": np.nan, "ci_high": np.nan, "n": np.nan})
            results.metrics[metric_key("isotropy", _subject(sp), m)] = round(float(v), 6)
    results.add_table("metrics", pd.DataFrame(rows))
    results.add_table("training", pd.DataFrame(training))
    results.add_table("counts", pd.Series(counts, name="count").rename_axis("what").to_frame())
    for name, ls in losses.items():
        n = next((r["classes (N)"] for r in training if _loss_name(r) == name), None)
        results.check_loss(metric_key("loss", name), ls, n_classes=n)
        results.metrics[metric_key("loss", name, "first")] = round(float(np.mean(ls[:max(1, len(ls) // 10)])), 4)
        results.metrics[metric_key("loss", name, "last")] = round(float(np.mean(ls[-max(1, len(ls) // 10):])), 4)
    bases = {sp.pooling: sp for sp in spaces if sp.variant == "base"}
    finals = [sp for sp in spaces if sp.variant == "defsent"]
    for pooling in cfg.poolings:
        plus = [sp for sp in spaces if sp.variant == "defsent+" and sp.pooling == pooling]
        if plus:
            finals.append(plus[-1])
    for sp in finals:
        base = bases.get(sp.pooling)
        if base is None:
            continue
        for task, sc in sp.scores.items():
            b = base.scores.get(task)
            if b is None:
                continue
            metric = TASK_METRIC[task_kind(task)]
            ceiling = flags.at_ceiling(max(sc.value, b.value) / 100) if sc.kind == "rr" else None
            results.compare(metric_key(task, _subject(sp), "minus-base"), f"{sp.label} − base ({task})", sp.label,
                            base.label, sc.value - b.value, sc.diff_ci(b, cfg.seed), n=len(sc.values),
                            metric=f"{task} {metric} (x100)", b_is_base=True, extra_flags=[ceiling])
    results.notes.extend(_differences(cfg, encoder, layer_kind, counts, results.extra.get("dictionary_files", ())))
    for sp in finals:
        if sp.pooling in bases:
            _explain_below_base(results, cfg, sp, bases[sp.pooling], training)
    for r in training:
        first = next(v for k, v in r.items() if k.startswith("loss (first"))
        if r["variant"] == "DefSent" and first >= r["ln N"]:
            results.notes.append(
                f"DefSent {r['pooling']} starts at loss {first:.4g}, above ln N = {r['ln N']:.4g} (uniform over the "
                f"{r['classes (N)']:,}-token vocabulary): without an MLM head the pooled sentence embedding is scored "
                "against the input token embeddings, a space it was not trained to point into")


def _subject(sp: Space) -> str:
    return f"{sp.variant}-{sp.pooling}" + (f"-stage{sp.stage}" if sp.stage else "")


def _loss_name(r: dict) -> str:
    return f"{r['variant']} {r['pooling']}" + (f" stage {r['PST stage']}" if r["variant"] == "DefSent+" else "")


def _published(results: Results, cfg: Config) -> None:
    """The papers' numbers for the panel: DefSent's released checkpoints (STS) and def2word MRR@10 (Oxford)."""
    from .. import report

    try:
        df = report.paper_figures("defsent")
    except ValueError:
        results.published_note = "no data/papers/defsent.yaml"
        return
    same = cfg.encoder in PAPER_ENCODERS and cfg.dictionary == "oxford-defs"
    df = df[df.pooling.isin(cfg.poolings) & df.task.isin(["sts.stsb", "sts.sick", "sts-avg", "def2word-vocab"])]
    if cfg.encoder in PAPER_ENCODERS:
        df = df[df.encoder == cfg.encoder]
    results.published = df[["paper", "source", "commit", "encoder", "variant", "pooling", "task", "metric", "value",
                             "setting"]].reset_index(drop=True)
    results.published_note = (
        "Published by the authors (their setting, not ours). DefSent+ (Liu 2024): no number could be read from the "
        "paper or its repository, so none is shown. " + (
            ("This run uses the papers' encoder on Oxford train+valid+test re-split 8:1:1 by headword, as DefSent "
             "does (the split itself differs: DefSent's shuffle is unseeded)."
             if "train" in results.extra.get("dictionary_files", ()) else
             "This run uses the papers' encoder on the Oxford valid/test files only (the train file could not be "
             "had): a smaller, different setting.") if same else
            f"This run ({cfg.encoder} on {cfg.dictionary} {cfg.language}) is a different setting: the rows are for "
            "orientation, not comparison."))


def _explain_below_base(results: Results, cfg: Config, sp: Space, base: Space, training: list[dict]) -> None:
    """Why a trained variant ends below its base encoder, from this run's numbers, attached to its flags."""
    below = [h for h in results.headlines if h.a == sp.label and any(m.startswith("below base") for m in h.flags)]
    if not below:
        return
    lost = ", ".join(f"{h.key.split('/')[0]} {h.value:+.1f}" for h in below)
    n_def = next((r["definitions"] for r in training if r["variant"] == sp.label.split()[0]
                  and r["pooling"] == sp.pooling), None)
    objective = ("predicting each definition's headword over the vocabulary" if sp.variant == "defsent" else
                 "classifying each definition among its dictionary entries")
    text = f"{sp.label} ends below the base encoder on {lost} (x100). "
    desc = SIMILARITY_TRAINED.get(cfg.encoder)
    if desc:
        text += (f"The base here is {desc}; fine-tuning it for {objective}"
                 + (f" on {n_def:,} definitions" if n_def else "") + " trades some of that training away. The "
                 "papers start from bert-base-uncased / roberta-base, whose embeddings are not trained for similarity, "
                 "so their gains over the base are not expected to carry over to this base (the `paper` profile runs "
                 "their setting). ")
    cross = [h for h in below if h.key.split("/")[0] in
             {f"paraphrase.{n}" for n in LANGUAGES.get(cfg.language, {}).get("translation", ())}]
    mono = "def2word-headwords"
    if cross and mono in sp.scores and mono in base.scores and not any(h.key.startswith(mono + "/") for h in below):
        lo, hi = sp.scores[mono].diff_ci(base.scores[mono], cfg.seed)
        text += (f"The largest loss is cross-lingual ({', '.join(f'{h.key.split(chr(47))[0]} {h.value:+.1f}' for h in cross)}"
                 f") while monolingual headword retrieval stays within noise of the base ({mono} "
                 f"{sp.scores[mono].value - base.scores[mono].value:+.1f}, 95% CI {lo:.1f} to {hi:.1f}): training on "
                 f"{cfg.language} definitions alone moves {cfg.language} sentences and not their translations, so it "
                 "likely undoes the cross-lingual alignment the base was trained for. ")
    own = next((t for t in ("def2word-vocab", "def2word-tied") if t in sp.scores and t in base.scores), None)
    if own:
        a, b = sp.scores[own], base.scores[own]
        lo, hi = a.diff_ci(b, cfg.seed)
        seen = f"{own}-seen"
        s_lo = (sp.scores[seen].diff_ci(base.scores[seen], cfg.seed)[0]
                if seen in sp.scores and seen in base.scores else None)
        if lo > 0:
            verdict = "It did learn its own objective"
        elif s_lo is not None and s_lo > 0:
            verdict = (f"It learned its training words but not beyond them: for training headwords the same measure "
                       f"({seen}) went from {base.scores[seen].value:.1f} to {sp.scores[seen].value:.1f}, yet for "
                       "held-out headwords it did not measurably improve. With "
                       + (f"{n_def:,} training definitions" if n_def else "this few training definitions")
                       + " it memorises rather than generalises (DefSent trains on about 80% of the Oxford dictionary)")
        else:
            verdict = ("It did not measurably learn its own objective either, so the training itself is the first "
                       "suspect")
        text += (f"{verdict}: held-out headword prediction through its prediction layer ({own}, MRR@10 x100) is "
                 f"{a.value:.1f} against the base's {b.value:.1f} (difference 95% CI {lo:.1f} to {hi:.1f}, "
                 f"n={len(a.values):,}).")
    else:
        row = next((r for r in reversed(training) if r["variant"] == "DefSent+" and r["pooling"] == sp.pooling), None)
        if row is not None:
            text += (f"Its training loss went {row['loss (first 10% of steps)']:.3g} -> "
                     f"{row['loss (last 10% of steps)']:.3g} against ln N = {row['ln N']:.3g} for its "
                     f"{row['classes (N)']:,} entries.")
    results.explain("below base", [below[0].key], text.strip())
    results.explain("below base", [h.key for h in below[1:]], f"see {below[0].key}")

