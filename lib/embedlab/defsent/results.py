"""What a DefSent study reports: the metrics and training tables, loss checks, headline comparisons (each trained
variant minus the base encoder, paired intervals), generated notes on where the run differs from the papers, the
explanation of a variant below its base, and the papers' published panel."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from .. import flags
from ..encoders import Encoder
from ..papers import paper_figures
from ..study import Results, metric_key
from .config import Config
from .data import LANGUAGES
from .scoring import TASK_METRIC, Space, task_kind
from .training import DEFSENT_LR, DEFSENT_PLUS_LR, Trained, model_family

PAPER_ENCODERS = ("bert-base-uncased", "roberta-base")
#: offline encoders that are already trained for sentence similarity (their model cards), unlike the papers' bases
SIMILARITY_TRAINED = {
    "minilm": "all-MiniLM-L6-v2, a sentence-transformers model contrastively fine-tuned for sentence similarity "
              "on over a billion sentence pairs",
    "e5-small": "multilingual-e5-small, contrastively pre-trained and fine-tuned for retrieval and similarity",
}


def training_row(t: Trained, stage: int | None, n_classes: int | None = None) -> dict:
    """One training run's settings and loss; ``n_classes``: the size of the softmax (DefSent: the vocabulary)."""
    c = t.config
    n = n_classes or t.n_classes
    first, last = flags.loss_window(t.losses, first=True), flags.loss_window(t.losses, first=False)
    return {"variant": "DefSent" if t.variant == "defsent" else "DefSent+", "pooling": t.pooling,
            "PST stage": stage if stage is not None else "–", "definitions": t.n_train, "classes (N)": n,
            "ln N": math.log(n), "steps": len(t.losses), "optimizer": c.optimizer,
            "learning rate": c.learning_rate, "batch": c.batch_size, "schedule": c.schedule,
            "loss (first 10% of steps)": first, "loss (last 10% of steps)": last, "last / first": last / first,
            "note": t.note}


def fill_results(results: Results, cfg: Config, spaces: list[Space], training: list[dict],
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
        n = next((r["classes (N)"] for r in training if loss_name(r) == name), None)
        results.check_loss(metric_key("loss", name), ls, n_classes=n)
        results.metrics[metric_key("loss", name, "first")] = round(flags.loss_window(ls, first=True), 4)
        results.metrics[metric_key("loss", name, "last")] = round(flags.loss_window(ls, first=False), 4)
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


def describe_setup(cfg: Config, entries: pd.DataFrame, encoder: Encoder, layer_kind: str) -> str:
    """The run's dictionary and encoder in two lines; the second says whether DefSent projects through a pretrained
    MLM head or the bare token-embedding matrix."""
    return (f"{cfg.dictionary} ({cfg.language}): {len(entries):,} definitions of {entries.headword.nunique():,} "
            f"headwords\nencoder {encoder.name} ({encoder.source}): {encoder.n_layers} layers, {encoder.dim} dims; "
            f"DefSent prediction layer: {layer_kind}")


def _subject(sp: Space) -> str:
    """A space's part of a metric key (``defsent+-mean-stage2``)."""
    return f"{sp.variant}-{sp.pooling}" + (f"-stage{sp.stage}" if sp.stage else "")


def loss_name(r: dict) -> str:
    """A training row's name in the losses (``DefSent mean``, ``DefSent+ mean stage 2``)."""
    return f"{r['variant']} {r['pooling']}" + (f" stage {r['PST stage']}" if r["variant"] == "DefSent+" else "")


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

