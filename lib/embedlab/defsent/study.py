"""The DefSent / DefSent+ study: base encoder vs DefSent vs DefSent+ per pooling, on every evaluation.

Evaluations: definition-to-word retrieval on held-out headwords (DefSent's ranking over the whole
vocabulary through the tied prediction layer, and ranking the held-out headwords encoded as text),
STS Spearman, Bible paraphrase retrieval, word similarity, and the isotropy of the embedding space.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from .. import encoders, evalsets
from ..choices import check_choice
from ..encoders import Encoder
from ..evaluate.sentence import isotropy, paraphrase_retrieval, retrieval_metrics, retrieval_ranks, sts_spearman
from .dictionary import (as_entries, headword_key, sample_definitions, single_token_entries,
                         split_by_headword)
from .targets import ENTRY_TRANSFORMS, TiedPredictionLayer, average_by_headword, prediction_layer
from .training import (TRAIN_HEADS, Trained, defsent_config, defsent_plus_config, train_defsent,
                       train_defsent_plus)

VARIANTS = ("base", "defsent", "defsent+")
DICTIONARIES = ("wordnet", "oxford-defs", "commondefs")
# Offline evaluation sets per language (names of evalsets loaders).
LANGUAGES: dict[str, dict[str, Any]] = {
    "en": {"sts": ("stsb", "sick"), "paraphrase": ("kjv", "bbe"), "word_similarity": ("wordsim353", "simlex999")},
    "tr": {"sts": ("stsb-tr",), "paraphrase": None, "word_similarity": ()},
}


def load_dictionary(name: str, language: str) -> pd.DataFrame:
    """Definitions as ``headword, definition``: ``wordnet`` (WordNet 3.1 / KeNet) or a mirrored English set."""
    check_choice("dictionary", name, DICTIONARIES)
    check_choice("language", language, tuple(LANGUAGES))
    if name == "wordnet":
        return as_entries(evalsets.wordnet_definitions(language))
    if language != "en":
        raise ValueError(f"dictionary {name!r} is English only; for language {language!r} use 'wordnet'")
    return as_entries(evalsets.definition_pairs(name))


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

    @property
    def candidates(self) -> list[str]:
        """Distinct held-out headwords (those scored plus distractors), the candidates of headword retrieval."""
        return sorted({*self.heads.headword, *self.distractors})

    def texts(self) -> list[str]:
        """Every distinct text to embed, in a fixed order."""
        parts = [self.vocab.definition, self.heads.definition, self.candidates, self.isotropy_texts]
        parts += [df[c] for df in [*self.sts.values(), *self.paraphrase.values()] for c in ("s1", "s2")]
        parts += [df[c] for df in self.word_similarity.values() for c in ("w1", "w2")]
        return list(dict.fromkeys(t for p in parts for t in p))


def _cap(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    if n is None or len(df) <= n:
        return df.reset_index(drop=True)
    return df.iloc[np.sort(np.random.default_rng(seed).choice(len(df), n, replace=False))].reset_index(drop=True)


def evaluation_data(language: str, vocab: pd.DataFrame, heads: pd.DataFrame, distractors: Sequence[str] = (),
                    max_pairs: int | None = 500, n_isotropy: int = 1000, seed: int = 0) -> EvalData:
    """Load the language's offline sentence evaluations (capped at ``max_pairs`` pairs each) around the test entries."""
    check_choice("language", language, tuple(LANGUAGES))
    spec = LANGUAGES[language]
    sts = {n: _cap(evalsets.sts_pairs(n, "test").pairs, max_pairs, seed) for n in spec["sts"]}
    para = {}
    if spec["paraphrase"]:
        a, b = spec["paraphrase"]
        para[f"bible-{a}-{b}"] = evalsets.bible_paraphrase_split(a, b, max_pairs=max_pairs, seed=seed)[1]
    words = {n: evalsets.load_evalset("similarity", n).pairs for n in spec["word_similarity"]}
    pool = list(dict.fromkeys(t for df in sts.values() for t in (*df.s1, *df.s2))) or list(heads.definition)
    iso = [pool[i] for i in np.sort(np.random.default_rng(seed).permutation(len(pool))[:n_isotropy])]
    return EvalData(vocab.reset_index(drop=True), heads.reset_index(drop=True), list(distractors), sts, para, words,
                    iso)


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


def _named(m: dict[str, float]) -> dict[str, float]:
    return {k.replace("recall@", "top"): v for k, v in m.items()}


def evaluate_space(emb: np.ndarray, data: EvalData, layer: TiedPredictionLayer, tokenizer,
                   n_examples: int = 8) -> tuple[list[dict], pd.DataFrame]:
    """Every metric of one embedding space (``emb`` rows follow ``data.texts()``): metric rows and examples."""
    row = {t: i for i, t in enumerate(data.texts())}

    def E(texts: Sequence[str]) -> np.ndarray:
        return emb[[row[t] for t in texts]]

    out: list[dict] = []

    def add(task: str, metrics: dict[str, float]) -> None:
        out.extend({"task": task, "metric": k, "value": float(v)} for k, v in metrics.items())

    tops = np.zeros((0, 5), dtype=int)
    if len(data.vocab):
        ranks, tops = vocabulary_ranks(layer, E(data.vocab.definition), data.vocab.token_id)
        add("def2word-vocab", _named(retrieval_metrics(ranks, (1, 3, 10))))
    cands = data.candidates
    gold = pd.Index(cands).get_indexer(data.heads.headword)
    add("def2word-headwords", _named(retrieval_metrics(retrieval_ranks(E(data.heads.definition), E(cands), gold),
                                                       (1, 3, 10))))
    for name, df in data.sts.items():
        add(name, {"spearman": sts_spearman(E(df.s1), E(df.s2), df.score)})
    for name, df in data.paraphrase.items():
        add(name, _named(paraphrase_retrieval(E(df.s1), E(df.s2), ks=(1, 10))))
    for name, df in data.word_similarity.items():
        add(name, {"spearman": sts_spearman(E(df.w1), E(df.w2), df.score)})
    add("isotropy", isotropy(E(data.isotropy_texts)))
    return out, _examples(data, tops[:n_examples], E, cands, tokenizer)


def _examples(data: EvalData, tops: np.ndarray, E, cands: list[str], tokenizer) -> pd.DataFrame:
    ex = data.vocab.head(len(tops))
    if ex.empty:
        return pd.DataFrame(columns=["headword", "definition", "top words", "nearest headwords"])
    sims = E(ex.definition) @ E(cands).T / np.outer(np.linalg.norm(E(ex.definition), axis=1),
                                                      np.linalg.norm(E(cands), axis=1)).clip(1e-12)
    words = [", ".join(tokenizer.convert_tokens_to_string([t]).strip() for t in tokenizer.convert_ids_to_tokens(ids))
             for ids in tops.tolist()]
    near = [", ".join(cands[j] for j in np.argsort(-s)[:3]) for s in sims]
    return ex[["headword", "definition"]].assign(**{"top words": words, "nearest headwords": near})


# --------------------------------------------------------------------------- the study

@dataclasses.dataclass
class StudyResult:
    """Tables of one study run: long metrics, training summaries, examples, target-space isotropy, loss curves."""

    metrics: pd.DataFrame
    training: pd.DataFrame
    examples: pd.DataFrame
    target_isotropy: pd.DataFrame
    losses: dict[str, list[float]]
    counts: dict[str, int]
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    def wide(self, tasks: Sequence[str] | None = None) -> pd.DataFrame:
        """Variants x poolings as rows, ``task metric`` as columns."""
        m = self.metrics if tasks is None else self.metrics[self.metrics.task.isin(tasks)]
        t = m.assign(col=m.task + " " + m.metric).pivot_table(index=["variant", "pooling"], columns="col",
                                                               values="value", sort=False)
        return t[list(dict.fromkeys(m.task + " " + m.metric))]

    def flat(self) -> dict[str, float]:
        """Metrics as a flat ``{variant/pooling/task/metric: value}`` dict for ``report.record``."""
        return {f"{r.variant}/{r.pooling}/{r.task}/{r.metric}": float(r.value) for r in self.metrics.itertuples()}


def _validate(language, variants, poolings, transform, head) -> None:
    check_choice("language", language, tuple(LANGUAGES))
    for v in variants:
        check_choice("variant", v, VARIANTS)
    for p in poolings:
        check_choice("pooling", p, encoders.POOLINGS)
    if not variants or not poolings:
        raise ValueError(f"need at least one variant and one pooling; got variants={list(variants)}, "
                         f"poolings={list(poolings)}")
    check_choice("entry transform", transform, ENTRY_TRANSFORMS)
    check_choice("training head", head, TRAIN_HEADS)


def run_study(encoder: Encoder, dictionary: Any, language: str, variants: Sequence[str] = VARIANTS,
              poolings: Sequence[str] = encoders.POOLINGS, train_definitions: int | None = 2000,
              eval_definitions: int | None = 500, n_candidates: int = 1000, max_pairs: int | None = 500,
              entry_transform: str = "none", entry_scale: float = 100.0, train_head: str = "pooler",
              defsent_lr: float | None = None, defsent_plus_lr: float | None = None, batch_size: int = 16,
              epochs: int = 1, max_length: int = 64,
              use_mlm_head: bool | None = None, seed: int = 0, n_examples: int = 8,
              progress: bool = True) -> StudyResult:
    """Train and evaluate ``variants`` x ``poolings`` on one dictionary, split 8:1:1 by headword.

    DefSent trains on a seeded sample of ``train_definitions`` definitions of single-token training
    headwords, DefSent+ on as many definitions of any training headwords (its entry embeddings average
    every training-split definition of those headwords); both are evaluated on held-out (test-split)
    headwords, never seen in training: ``eval_definitions`` definitions are scored, against
    the whole vocabulary (DefSent's measure) and against ``n_candidates`` held-out headwords encoded as text.
    """
    _validate(language, variants, poolings, entry_transform, train_head)
    t0 = time.time()
    splits = split_by_headword(dictionary, seed)
    single_train = single_token_entries(encoder, splits["train"])
    vocab_test = single_token_entries(encoder, splits["test"])
    vocab_test = vocab_test[~vocab_test.token_id.isin(set(single_train.token_id))]  # e.g. 'Able' vs 'able'
    heads = sample_definitions(splits["test"], eval_definitions, seed)
    others = sorted(set(splits["test"].headword) - set(heads.headword))
    extra = max(0, n_candidates - heads.headword.nunique())
    distractors = [others[i] for i in np.sort(np.random.default_rng(seed).permutation(len(others))[:extra])]
    data = evaluation_data(language, sample_definitions(vocab_test, eval_definitions, seed), heads, distractors,
                           max_pairs, seed=seed)
    texts = data.texts()
    train_sets = {"defsent": sample_definitions(single_train, train_definitions, seed),
                  "defsent+": sample_definitions(splits["train"], train_definitions, seed)}
    n_entries = train_sets["defsent+"].headword.map(headword_key).nunique()
    if "defsent+" in variants and entry_transform != "none" and n_entries <= encoder.dim:
        raise ValueError(f"entry_transform={entry_transform!r} needs more DefSent+ entries than dimensions "
                         f"({encoder.dim}); {train_definitions} training definitions give {n_entries} entries: "
                         "raise train_definitions or use entry_transform='none'")
    counts = {"definitions": sum(len(s) for s in splits.values()), "train definitions (all)": len(splits["train"]),
              "train definitions (single-token headword)": len(single_train),
              "DefSent training definitions": len(train_sets["defsent"]),
              "DefSent training words": train_sets["defsent"].token_id.nunique(),
              "DefSent+ training definitions": len(train_sets["defsent+"]), "DefSent+ entries": n_entries,
              "test definitions (single-token, scored)": len(data.vocab),
              "test definitions (any headword, scored)": len(data.heads),
              "test headword candidates": len(data.candidates),
              "texts embedded per space": len(texts)}
    rows, examples, training, losses, targets, seconds = [], [], [], {}, [], {"data": time.time() - t0}
    base_layer = prediction_layer(encoder, use_mlm_head)
    targets.append(_iso_row("token embeddings (DefSent's target space)", base_layer.weight.detach().cpu().numpy(), seed))

    def record(variant: str, pooling: str, emb: np.ndarray, layer: TiedPredictionLayer, tok) -> None:
        m, ex = evaluate_space(emb, data, layer, tok, n_examples)
        rows.extend({"variant": variant, "pooling": pooling, **r} for r in m)
        examples.append(ex.assign(variant=variant, pooling=pooling))

    tables = {}
    if "defsent+" in variants:  # DefSent+ entry embeddings for every pooling from one pass of the base encoder
        t = time.time()
        keys = set(train_sets["defsent+"].headword.map(headword_key))
        src = splits["train"][splits["train"].headword.map(headword_key).isin(keys)]
        tables = {p: average_by_headword(src.headword, e) for p, e in
                  _embed_poolings(encoder, list(src.definition), poolings, max_length, progress).items()}
        seconds["defsent+ entry embeddings"] = time.time() - t
        counts["DefSent+ entry definitions (averaged)"] = len(src)
    if "base" in variants:
        t = time.time()
        for pooling, emb in _embed_poolings(encoder, texts, poolings, max_length, progress).items():
            record("base", pooling, emb, base_layer, encoder.tokenizer)
        seconds["base (evaluate)"] = time.time() - t
    for pooling in poolings:
        for variant in [v for v in ("defsent", "defsent+") if v in variants]:
            t = time.time()
            trained = _train(variant, encoder, train_sets[variant], tables.get(pooling), pooling, entry_transform,
                             entry_scale, train_head, defsent_lr, defsent_plus_lr, batch_size, epochs, max_length,
                             use_mlm_head, seed, progress)
            seconds[f"{variant} ({pooling}) train"] = time.time() - t
            t = time.time()
            emb = _embed_poolings(trained.encoder, texts, [pooling], max_length, progress)[pooling]
            record(variant, pooling, emb, prediction_layer(trained.encoder, use_mlm_head), encoder.tokenizer)
            seconds[f"{variant} ({pooling}) evaluate"] = time.time() - t
            training.append(_training_row(trained))
            losses[f"{variant} ({pooling})"] = trained.losses
            targets += [_iso_row(f"DefSent+ {k} ({pooling})", v, seed) for k, v in trained.targets.items()
                        if not k.endswith("(none)")]
            del trained
    metrics = pd.DataFrame(rows)
    metrics.insert(0, "encoder", encoder.name)
    metrics.insert(0, "language", language)
    ex = pd.concat(examples, ignore_index=True) if examples else pd.DataFrame()
    return StudyResult(metrics, pd.DataFrame(training), ex, pd.DataFrame(targets), losses, counts, seconds)


def _embed_poolings(encoder: Encoder, texts: Sequence[str], poolings: Sequence[str], max_length: int,
                    progress: bool) -> dict[str, np.ndarray]:
    """Several poolings of the last layer from one pass: ``{pooling: [N, H]}`` (special tokens out of mean/max)."""
    inputs = [encoder.query_prefix + t for t in texts]
    out = {p: np.zeros((len(inputs), encoder.dim), dtype=np.float32) for p in poolings}
    for idx, batch, states in encoders.hidden_state_batches(encoder, inputs, [encoder.n_layers], 64, max_length,
                                                            progress=progress, desc=f"embedding ({encoder.name})"):
        special = torch.tensor([encoder.tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
                                for ids in batch["input_ids"].tolist()])
        for p in poolings:
            out[p][idx] = encoders.pool(states[0], batch["attention_mask"], p, special).float().numpy()
    return out


def _train(variant, encoder, entries, entry_table, pooling, transform, scale, head, lr, lr_plus, batch_size, epochs,
           max_length, use_mlm_head, seed, progress) -> Trained:
    common = dict(batch_size=batch_size, epochs=epochs, max_length=max_length, seed=seed)
    if variant == "defsent":
        return train_defsent(encoder, entries, pooling, defsent_config(encoder, pooling, learning_rate=lr, **common),
                             use_mlm_head, progress)
    return train_defsent_plus(encoder, entries, pooling, defsent_plus_config(learning_rate=lr_plus, **common),
                              transform, scale, head, entry_table=entry_table, progress=progress)


def _training_row(t: Trained) -> dict:
    c = t.config
    first, last = np.mean(t.losses[:10]), np.mean(t.losses[-10:])
    return {"variant": t.variant, "pooling": t.pooling, "definitions": t.n_train, "classes": t.n_classes,
            "steps": len(t.losses), "optimizer": c.optimizer, "learning rate": c.learning_rate,
            "schedule": c.schedule, "clip": c.max_grad_norm, "loss (first 10 steps)": first,
            "loss (last 10 steps)": last, "note": t.note}


def _iso_row(space: str, x: np.ndarray, seed: int, max_rows: int = 30000) -> dict:
    """Isotropy of a target space (a seeded sample of ``max_rows`` rows for large vocabularies)."""
    if len(x) > max_rows:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), max_rows, replace=False))]
    return {"space": space, "rows": len(x), **isotropy(x, seed=seed)}
