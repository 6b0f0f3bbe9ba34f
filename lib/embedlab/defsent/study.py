"""The DefSent / DefSent+ study: base encoder vs DefSent vs DefSent+ (progressive separate training) per pooling.

Evaluations (all offline for WordNet / KeNet): definition-to-word retrieval on held-out headwords (DefSent's
MRR@10 over the whole vocabulary through the tied prediction layer, and MRR@10 among held-out headwords encoded
as text; for an encoder without an MLM head, ranking through its bare token-embedding matrix, DefSent's objective
there, as ``def2word-tied``), Bible-translation paraphrase retrieval (English) or Turkish->English verse
translation retrieval (Turkish), word similarity, STS where the set can be had, and the isotropy of the space.

This module only orchestrates: :mod:`.data` reads the dictionary, splits it and loads the evaluation sets,
:mod:`.training` trains, :mod:`.scoring` scores each space, :mod:`.results` builds tables, headlines and notes.
:func:`run_study` returns :class:`embedlab.study.Results`.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import pandas as pd

from .. import encoders, memo, progress
from ..encoders import Encoder
from ..study import Results
from .config import Config
from .data import EvalData, Split, evaluation_data, load_dictionary, split_dictionary
from .dictionary import as_entries, sample_definitions
from .results import add_published, describe_setup, fill_results, loss_name, record_split, training_row
from .scoring import Space, embed_poolings, evaluate_space
from .targets import TiedPredictionLayer, entry_embeddings, prediction_layer
from .training import Trained, defsent_config, defsent_plus_config, progressive_separate_training, train_defsent


@dataclasses.dataclass
class _Run:
    """One run: what it trains and scores on, and every space evaluated so far."""

    cfg: Config
    encoder: Encoder
    layer: TiedPredictionLayer
    split: Split
    data: EvalData
    texts: list[str]
    spaces: list[Space] = dataclasses.field(default_factory=list)
    examples: list[pd.DataFrame] = dataclasses.field(default_factory=list)
    training: list[dict] = dataclasses.field(default_factory=list)
    losses: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        """The training seeds of DefSent and DefSent+: ``seed``, ``seed + 1``, ... (``seeds`` of them)."""
        return [self.cfg.seed + i for i in range(self.cfg.seeds)]

    @property
    def mlm(self) -> bool:
        """Whether DefSent projects through a pretrained MLM head (else the bare token-embedding matrix)."""
        return self.layer.transform is not None

    def embed(self, encoder: Encoder, poolings: list[str], desc: str) -> dict[str, np.ndarray]:
        """Every evaluation text through ``encoder``, one array per pooling."""
        return embed_poolings(encoder, self.texts, poolings, self.cfg.max_length, desc)

    def evaluate(self, variant: str, pooling: str, emb: np.ndarray, layer, stage: int | None = None,
                 seed: int | None = None) -> Space:
        """Score one space and keep it (with its examples for the base and the first training seed)."""
        sc, iso, ex = evaluate_space(emb, self.data, layer, self.cfg.n_examples,
                                     "def2word-vocab" if self.mlm else "def2word-tied")
        sp = Space(variant, pooling, sc, iso, stage, seed)
        self.spaces.append(sp)
        if seed is None or seed == self.cfg.seed:
            self.examples.append(ex.assign(variant=sp.label))
        return sp

    def trained(self, t: Trained, stage: int | None, seed: int, n_classes: int | None = None) -> None:
        """Keep a training run's row and its losses."""
        row = training_row(t, stage, seed, n_classes)
        self.training.append(row)
        self.losses[loss_name(row, self.cfg.seeds)] = t.losses


def run_study(cfg: Config, *, encoder: Encoder | None = None, dictionary: Any = None) -> Results:
    """Train and evaluate ``cfg.variants`` x ``cfg.poolings`` on one dictionary, split 8:1:1 by headword.

    DefSent trains on a seeded sample of ``train_definitions`` definitions of single-token training headwords,
    DefSent+ (``pst_stages`` stages of progressive separate training) on as many definitions of any training
    headwords (its entry embeddings average every training-split definition of those headwords); both are
    evaluated on held-out (test-split) headwords never seen in training, whose definition texts are not in the
    training split either. Each trained variant is trained ``seeds`` times (training seeds ``seed``, ``seed + 1``,
    ...: batch order, dropout, initialised heads); the split, the training samples and the scored items stay
    those of ``seed``. The encoder and the dictionary are loaded from ``cfg``; ``encoder`` / ``dictionary``
    (keyword only) inject them, e.g. in tests.
    """
    results = Results("defsent")
    with results.timed("total"):
        with results.timed("data"):
            run = _setup(cfg, results, encoder, dictionary)
        if "base" in cfg.variants:
            with results.timed("base (evaluate)"):
                progress.step(f"embedding {len(run.texts):,} evaluation texts with the base encoder "
                              f"({run.encoder.name})")
                for pooling, emb in run.embed(run.encoder, cfg.poolings, "base encoder").items():
                    run.evaluate("base", pooling, emb, run.layer)
        for pooling in cfg.poolings:
            if "defsent" in cfg.variants:
                for seed in run.seeds:
                    _trained_or_replayed(run, "defsent", pooling, seed, lambda: _defsent(run, results, pooling, seed))
            if "defsent+" in cfg.variants:
                with results.timed(f"defsent+ ({pooling}) train+evaluate"):
                    first = functools.cache(lambda: _first_entries(run, pooling))  # stage 1: made once, if needed
                    for seed in run.seeds:
                        _trained_or_replayed(run, "defsent+", pooling, seed,
                                             lambda: _defsent_plus(run, pooling, seed, first()))
        counts = {**run.split.counts(), **run.data.counts()}
        fill_results(results, cfg, run.spaces, run.training, run.losses, counts, run.encoder, run.layer.kind)
        record_split(results, run.split)
        results.add_table("examples", pd.concat(run.examples, ignore_index=True) if run.examples else pd.DataFrame())
        add_published(results, cfg)
        results.extra.update(spaces=run.spaces, losses=run.losses, counts=counts,
                             dictionary_counts=run.split.counts(), evaluation_counts=run.data.counts(),
                             prediction_layer=run.layer.kind)
    return results


def _trained_or_replayed(run: _Run, variant: str, pooling: str, seed: int, train_and_evaluate) -> None:
    """Train and evaluate one variant at one pooling and seed, or replay what doing so added to ``run`` before
    (:mod:`embedlab.memo`: same encoder, dictionary split, evaluation data, parameters, seed and code)."""
    key, got = memo.lookup(f"{variant} spaces", {
        "encoder": run.encoder.cache_id, "config": run.cfg, "pooling": pooling, "seed": seed, "split": run.split,
        "data": run.data, "device": str(encoders.default_device())}) if run.encoder.cache_id else (None, memo.MISSING)
    if got is memo.MISSING:
        n, before = (len(run.spaces), len(run.examples), len(run.training)), set(run.losses)
        train_and_evaluate()
        got = memo.store(key, f"{variant} spaces", {
            "spaces": run.spaces[n[0]:], "examples": run.examples[n[1]:], "training": run.training[n[2]:],
            "losses": {k: v for k, v in run.losses.items() if k not in before}})
        return
    progress.step(f"{variant} ({pooling}{_of_seed(run.cfg, seed)}): trained and evaluated before (from the cache)")
    run.spaces.extend(got["spaces"])
    run.examples.extend(got["examples"])
    run.training.extend(got["training"])
    run.losses.update(got["losses"])


def _setup(cfg: Config, results: Results, encoder: Encoder | None, dictionary: Any) -> _Run:
    """Load the encoder and the dictionary (unless given), split it and load the evaluation sets."""
    encoder = encoder or encoders.load_encoder(cfg.encoder)
    if dictionary is None:
        dictionary = load_dictionary(cfg.dictionary, cfg.language, cfg.missing_sets)
    attrs = dict(getattr(dictionary, "attrs", {}) or {})
    for name, why in (attrs.get("unavailable") or {}).items():
        results.mark_unavailable(name, "dictionary", why)
    entries = as_entries(dictionary)
    results.extra["dictionary_files"] = list(attrs.get("files") or [])
    split = split_dictionary(cfg, encoder, entries)
    layer = prediction_layer(encoder, cfg.use_mlm_head)
    data = evaluation_data(cfg.language, split.vocab_test, split.heads, split.distractors, cfg.max_pairs,
                           seed=cfg.seed, results=results, missing=cfg.missing_sets)
    if layer.transform is None:
        results.mark_unavailable("def2word-vocab", "def2word", f"{encoder.name} ships no masked-LM head: DefSent's "
                                 "whole-vocabulary ranking through the MLM head cannot be measured; the same ranking "
                                 "through the bare token-embedding matrix (what DefSent trains against here) is "
                                 "reported as def2word-tied, a check that DefSent learned, not the paper's measure")
    if "defsent" in cfg.variants:  # training headwords, scored like held-out ones: memorised vs generalised
        data.seen = sample_definitions(split.train["defsent"], cfg.eval_definitions, cfg.seed).reset_index(drop=True)
    results.extra["setup"] = describe_setup(cfg, entries, encoder, layer.kind)
    return _Run(cfg, encoder, layer, split, data, data.texts())


def _common(cfg: Config, seed: int) -> dict[str, Any]:
    """Training settings shared by DefSent and DefSent+, at one training seed."""
    return dict(epochs=cfg.epochs, max_length=cfg.max_length, seed=seed, precision=cfg.train_precision)


def _of_seed(cfg: Config, seed: int) -> str:
    return f" seed {seed}" if cfg.seeds > 1 else ""


def _defsent(run: _Run, results: Results, pooling: str, seed: int) -> None:
    """Train DefSent at one pooling and training seed from the base checkpoint and evaluate it."""
    cfg, train = run.cfg, run.split.train["defsent"]
    with results.timed(f"defsent ({pooling}) train"):
        progress.step(f"training DefSent ({pooling}{_of_seed(cfg, seed)}) on {len(train):,} definitions")
        trained = train_defsent(run.encoder, train, pooling,
                                defsent_config(run.encoder, pooling, learning_rate=cfg.defsent_lr,
                                               head_learning_rate=cfg.defsent_head_lr if not run.mlm else None,
                                               batch_size=cfg.batch_size, **_common(cfg, seed)), cfg.use_mlm_head)
    emb = run.embed(trained.encoder, [pooling], f"DefSent {pooling}{_of_seed(cfg, seed)}")[pooling]
    run.evaluate("defsent", pooling, emb, trained.head, seed=seed)
    run.trained(trained, None, seed, trained.encoder.model.get_input_embeddings().num_embeddings)


def _first_entries(run: _Run, pooling: str) -> tuple[list[str], np.ndarray]:
    """DefSent+'s stage-1 entries: the base encoder's averaged encodings of the entries' definitions (one table for
    every training seed)."""
    progress.step(f"DefSent+ ({pooling}): encoding {len(run.split.entry_src):,} entry definitions")
    return entry_embeddings(run.encoder, run.split.entry_src, pooling, run.cfg.max_length, True, run.cfg.language)


def _defsent_plus(run: _Run, pooling: str, seed: int, first: tuple[list[str], np.ndarray]) -> None:
    """DefSent+'s progressive separate training at one pooling and training seed, each stage evaluated as it ends."""
    cfg, split = run.cfg, run.split

    def on_stage(tr: Trained) -> None:
        stage = len([s for s in run.spaces if s.variant == "defsent+" and s.pooling == pooling and s.seed == seed]) + 1
        emb = run.embed(tr.encoder, [pooling], f"DefSent+ {pooling} stage {stage}{_of_seed(cfg, seed)}")[pooling]
        run.evaluate("defsent+", pooling, emb, None, stage, seed)
        run.trained(tr, stage, seed)

    progress.step(f"training DefSent+ ({pooling}{_of_seed(cfg, seed)}): {cfg.pst_stages} PST stage(s) on "
                  f"{len(split.train['defsent+']):,} definitions, {len(split.plus_keys):,} entries")
    progressive_separate_training(
        run.encoder, split.train["defsent+"], cfg.pst_stages, pooling,
        defsent_plus_config(learning_rate=cfg.defsent_plus_lr, batch_size=cfg.plus_batch_size,
                            head_learning_rate=cfg.defsent_plus_head_lr,
                            **{**_common(cfg, seed), "epochs": cfg.plus_epochs or cfg.epochs}),
        entry_definitions=split.entry_src, on_stage=on_stage, first_entries=first, transform=cfg.entry_transform,
        scale=cfg.entry_scale, head=cfg.train_head, progress=True, language=cfg.language,
        ica_max_iter=cfg.ica_max_iter)
