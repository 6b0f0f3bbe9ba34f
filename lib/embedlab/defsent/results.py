"""What a DefSent study reports: the metrics and training tables, loss checks, headline comparisons (each trained
variant minus the base encoder over its training seeds, hierarchical intervals), the split's leakage check, generated
notes on where the run differs from the papers, the explanation of a variant below its base, and the papers'
published panel."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from .. import flags
from ..encoders import Encoder, encoder_note
from ..papers import paper_figures
from ..study import Results, metric_key
from .config import Config
from .data import LANGUAGES, Split
from .scoring import TASK_METRIC, SeedGroup, Space, seed_groups, task_kind
from .training import DEFSENT_LR, DEFSENT_PLUS_LR, Trained, model_family

PAPER_ENCODERS = ("bert-base-uncased", "roberta-base")
#: offline encoders that are already trained for sentence similarity (their model cards), unlike the papers' bases
SIMILARITY_TRAINED = {
    "minilm": "all-MiniLM-L6-v2, a sentence-transformers model contrastively fine-tuned for sentence similarity "
              "on over a billion sentence pairs",
    "e5-small": "multilingual-e5-small, contrastively pre-trained and fine-tuned for retrieval and similarity",
}


def training_row(t: Trained, stage: int | None, seed: int, n_classes: int | None = None) -> dict:
    """One training run's settings and loss; ``seed``: its training seed; ``n_classes``: the size of the softmax
    (DefSent: the vocabulary)."""
    c = t.config
    n = n_classes or t.n_classes
    first, last = flags.loss_window(t.losses, first=True), flags.loss_window(t.losses, first=False)
    return {"variant": "DefSent" if t.variant == "defsent" else "DefSent+", "pooling": t.pooling,
            "PST stage": stage if stage is not None else "–", "seed": seed, "definitions": t.n_train,
            "classes (N)": n,
            "ln N": math.log(n), "steps": len(t.losses), "optimizer": c.optimizer,
            "learning rate": c.learning_rate, "batch": c.batch_size, "schedule": c.schedule,
            "loss (first 10% of steps)": first, "loss (last 10% of steps)": last, "last / first": last / first,
            "note": t.note}


def fill_results(results: Results, cfg: Config, spaces: list[Space], training: list[dict],
                 losses: dict[str, list[float]], counts: dict[str, int], encoder: Encoder, layer_kind: str) -> None:
    """Tables, metrics, loss checks, headline comparisons (each trained variant minus the base encoder), notes.

    A variant's value is the mean over its training seeds; intervals resample seeds, then items
    (:class:`.scoring.SeedGroup`), and every comparison records its seeds and each seed's difference."""
    groups = seed_groups(spaces)
    several = any((g.seeds or 0) > 1 for g in groups)
    rows = []
    for g in groups:
        seeds = {"seeds": g.seeds or "–"} if several else {}
        for task in g.tasks:
            metric, (lo, hi) = TASK_METRIC[task_kind(task)], g.ci(task, cfg.seed)
            per = {"per seed": ", ".join(f"{v:.1f}" for v in g.values(task)) if (g.seeds or 0) > 1 else ""}
            rows.append({"variant": g.label, "pooling": g.pooling, "task": task, "metric": metric,
                         "value": g.value(task), "ci_low": lo, "ci_high": hi, "n": g.n(task), **seeds,
                         **(per if several else {})})
            results.metrics[metric_key(task, _subject(g), metric)] = round(g.value(task), 4)
        for m, v in g.isotropy().items():
            rows.append({"variant": g.label, "pooling": g.pooling, "task": "isotropy", "metric": m, "value": v,
                         "ci_low": np.nan, "ci_high": np.nan, "n": np.nan, **seeds})
            results.metrics[metric_key("isotropy", _subject(g), m)] = round(float(v), 6)
    results.add_table("metrics", pd.DataFrame(rows))
    results.add_table("training", pd.DataFrame(training))
    results.add_table("counts", pd.Series(counts, name="count").rename_axis("what").to_frame())
    for name, ls in losses.items():
        n = next((r["classes (N)"] for r in training if loss_name(r, cfg.seeds) == name), None)
        results.check_loss(metric_key("loss", name), ls, n_classes=n)
        results.metrics[metric_key("loss", name, "first")] = round(flags.loss_window(ls, first=True), 4)
        results.metrics[metric_key("loss", name, "last")] = round(flags.loss_window(ls, first=False), 4)
    bases = {g.pooling: g for g in groups if g.variant == "base"}
    finals = [g for g in groups if g.variant == "defsent"]
    for pooling in cfg.poolings:
        plus = [g for g in groups if g.variant == "defsent+" and g.pooling == pooling]
        if plus:
            finals.append(plus[-1])
    for g in finals:
        base = bases.get(g.pooling)
        if base is None:
            continue
        for task in [t for t in g.tasks if t in base.tasks]:
            diff, ci, per_seed = g.diff(base, task, cfg.seed)
            ceiling = flags.at_ceiling(max(g.value(task), base.value(task)) / 100) if g.kind(task) == "rr" else None
            results.compare(metric_key(task, _subject(g), "minus-base"), f"{g.label} − base ({task})", g.label,
                            base.label, diff, ci, n=g.n(task), metric=f"{task} {TASK_METRIC[task_kind(task)]} (x100)",
                            b_is_base=True, extra_flags=[ceiling], seeds=g.seeds, per_seed=per_seed)
    results.notes.extend(_differences(cfg, encoder, layer_kind, counts, results.extra.get("dictionary_files", ())))
    for g in finals:
        if g.pooling in bases:
            _explain_below_base(results, cfg, g, bases[g.pooling], training)
    for r in training:
        first = next(v for k, v in r.items() if k.startswith("loss (first"))
        if r["variant"] == "DefSent" and first >= r["ln N"]:
            results.notes.append(
                f"DefSent {r['pooling']} starts at loss {first:.4g}, above ln N = {r['ln N']:.4g} (uniform over the "
                f"{r['classes (N)']:,}-token vocabulary): without an MLM head the pooled sentence embedding is scored "
                "against the input token embeddings, a space it was not trained to point into")


def describe_setup(cfg: Config, entries: pd.DataFrame, encoder: Encoder, layer_kind: str) -> str:
    """The run's dictionary and encoder in two lines; the second says whether DefSent projects through a pretrained
    MLM head or the bare token-embedding matrix."""
    return (f"{cfg.dictionary} ({cfg.language}): {len(entries):,} definitions of {entries.headword.nunique():,} "
            f"headwords\nencoder {encoder.name} ({encoder.source}): {encoder.n_layers} layers, {encoder.dim} dims; "
            f"DefSent prediction layer: {layer_kind}")


def record_split(results: Results, split: Split) -> None:
    """The split's leakage check: the share of scored held-out definitions that are training definitions (a metric
    that must be 0, flagged otherwise), how many training rows were removed for it, and a note."""
    key = "data/heldout-definitions/in-train"
    share = split.heldout_in_train()
    results.metrics[key] = round(share, 6)
    results.metrics["data/train-definitions/removed"] = split.removed
    if share > 0:
        results.flag("leakage", key, f"{share:.1%} of the scored held-out definitions are training definitions")
    n = len(split.parts["train"]) + split.removed
    results.notes.append(
        f"no held-out definition is seen in training: {split.removed:,} of {n:,} training-split definitions "
        f"({split.removed / max(n, 1):.1%}) were removed because their text (casefolded, whitespace and end "
        "punctuation normalised) is also a held-out (valid or test) definition, e.g. WordNet's one gloss per synonym; "
        f"the held-out sets keep every row. Without this, {split.in_train_before:.1%} of the scored held-out "
        f"definitions would appear verbatim in the training split; now {share:.0%} (data/heldout-definitions/in-train)")


def _subject(g: Space | SeedGroup) -> str:
    """A space's (or seed group's) part of a metric key (``defsent+-mean-stage2``)."""
    return f"{g.variant}-{g.pooling}" + (f"-stage{g.stage}" if g.stage else "")


def loss_name(r: dict, seeds: int = 1) -> str:
    """A training row's name in the losses (``DefSent mean``, ``DefSent+ mean stage 2``; ``... seed 1`` when the run
    trains over several seeds)."""
    name = f"{r['variant']} {r['pooling']}" + (f" stage {r['PST stage']}" if r["variant"] == "DefSent+" else "")
    return name + (f" seed {r['seed']}" if seeds > 1 else "")


def _count(n: int | None) -> str:
    """A cap of definitions as text (``None``: all)."""
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
    if encoder_note(cfg.encoder):
        notes.append(encoder_note(cfg.encoder))
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
    if "defsent+" in cfg.variants and cfg.entry_transform == "ica":
        notes.append("DefSent+ ICA runs in float64 (one BLAS thread), the authors' in float32: their ICA-transform.py "
                     "gives scikit-learn's FastICA the float32 entry tensor, which it keeps in float32 (every version "
                     "with whiten='unit-variance' does). In float32 FastICA stops at max_iter short of tol=1e-4 and its "
                     "unmixing depends on the number of BLAS threads; in float64 it converges and does not. The x100 "
                     "entries are then float32, as theirs")
    notes += _lr_note(cfg, encoder)
    notes.append("definition-to-word MRR is MRR@10 as in DefSent's def2word.py (a miss beyond rank 10 scores 0); "
                 "paraphrase MRR has no cut-off")
    return notes


def add_published(results: Results, cfg: Config) -> None:
    """The papers' numbers for the panel: DefSent's released checkpoints (STS) and def2word MRR@10 (Oxford)."""
    try:
        df = paper_figures("defsent")
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


def _explain_below_base(results: Results, cfg: Config, g: SeedGroup, base: SeedGroup, training: list[dict]) -> None:
    """Why a trained variant ends below its base encoder, from this run's numbers, attached to its flags."""
    below = [h for h in results.headlines if h.a == g.label and any(m.startswith("below base") for m in h.flags)]
    if not below:
        return
    lost = ", ".join(f"{h.key.split('/')[0]} {h.value:+.1f}" for h in below)
    n_def = next((r["definitions"] for r in training if r["variant"] == g.label.split()[0]
                  and r["pooling"] == g.pooling), None)
    objective = ("predicting each definition's headword over the vocabulary" if g.variant == "defsent" else
                 "classifying each definition among its dictionary entries")
    over = f", mean of {g.seeds} training seeds" if (g.seeds or 0) > 1 else ""
    text = f"{g.label} ends below the base encoder on {lost} (x100{over}). "
    desc = SIMILARITY_TRAINED.get(cfg.encoder)
    if desc:
        text += (f"The base here is {desc}; fine-tuning it for {objective}"
                 + (f" on {n_def:,} definitions" if n_def else "") + " trades some of that training away. The "
                 "papers start from bert-base-uncased / roberta-base, whose embeddings are not trained for similarity, "
                 "so their gains over the base are not expected to carry over to this base (the `paper` profile runs "
                 "their setting). ")
    shared = [t for t in g.tasks if t in base.tasks]
    cross = [h for h in below if h.key.split("/")[0] in
             {f"paraphrase.{n}" for n in LANGUAGES.get(cfg.language, {}).get("translation", ())}]
    mono = "def2word-headwords"
    if cross and mono in shared and not any(h.key.startswith(mono + "/") for h in below):
        d, (lo, hi), _ = g.diff(base, mono, cfg.seed)
        lost_x = ", ".join(f"{h.key.split('/')[0]} {h.value:+.1f}" for h in cross)
        text += (f"The largest loss is cross-lingual ({lost_x}) while monolingual headword retrieval stays within "
                 f"noise of the base ({mono} {d:+.1f}, 95% CI {lo:.1f} to {hi:.1f}): training on {cfg.language} "
                 f"definitions alone moves {cfg.language} sentences and not their translations, so it likely undoes "
                 "the cross-lingual alignment the base was trained for. ")
    own = next((t for t in ("def2word-vocab", "def2word-tied") if t in shared), None)
    if own:
        _, (lo, hi), _ = g.diff(base, own, cfg.seed)
        seen = f"{own}-seen"
        s_lo = g.diff(base, seen, cfg.seed)[1][0] if seen in shared else None
        if lo > 0:
            verdict = "It did learn its own objective"
        elif s_lo is not None and s_lo > 0:
            verdict = (f"It learned its training words but not beyond them: for training headwords the same measure "
                       f"({seen}) went from {base.value(seen):.1f} to {g.value(seen):.1f}, yet for "
                       "held-out headwords it did not measurably improve. With "
                       + (f"{n_def:,} training definitions" if n_def else "this few training definitions")
                       + " it memorises rather than generalises (DefSent trains on about 80% of the Oxford dictionary)")
        else:
            verdict = ("It did not measurably learn its own objective either, so the training itself is the first "
                       "suspect")
        text += (f"{verdict}: held-out headword prediction through its prediction layer ({own}, MRR@10 x100) is "
                 f"{g.value(own):.1f} against the base's {base.value(own):.1f} (difference 95% CI {lo:.1f} to "
                 f"{hi:.1f}, n={g.n(own):,}).")
    else:
        row = next((r for r in reversed(training) if r["variant"] == "DefSent+" and r["pooling"] == g.pooling), None)
        if row is not None:
            text += (f"Its training loss went {row['loss (first 10% of steps)']:.3g} -> "
                     f"{row['loss (last 10% of steps)']:.3g} against ln N = {row['ln N']:.3g} for its "
                     f"{row['classes (N)']:,} entries.")
    results.explain("below base", [below[0].key], text.strip())
    results.explain("below base", [h.key for h in below[1:]], f"see {below[0].key}")
