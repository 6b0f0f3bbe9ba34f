"""Sequence tagging (POS, NER) with a BiLSTM over frozen word embeddings, and the hidden-size sweep.

The model follows the Hungarian paper's tagger (frozen embedding -> bidirectional LSTM with dropout
0.5 -> per-token softmax; Adam, batch 32, 5 epochs, hidden sizes 1-64) in PyTorch. Words are
lowercased with the language's rules to match the embeddings' vocabulary; a word without a vector
gets the zero vector (the paper's code draws a random one, which lets the tagger memorise OOV words
and blurs the comparison between embeddings). Metrics on the test split: token accuracy and
macro-F1 over tags (scikit-learn). Deterministic for a given seed and thread count.

Reference level: :func:`majority_tag_baseline` (each word's most frequent training tag, else the global
majority tag), as a row of :func:`hidden_size_sweep` with ``majority=True``. Every row reports ``oov_rate`` (test
tokens without a vector; NaN for the baseline) and ``unseen_rate`` (test tokens never seen in training). With
``per_token=True`` the per-token correctness (``sentence``, ``position``, ``gold``, ``predicted``,
``correct``) comes back too, for bootstrap intervals over sentences and paired differences.

Speed (:func:`hidden_size_sweep`): the taggers of one embedding and seed (one per hidden size) see the same batches,
so they train together as one packed model (:class:`PackedTaggers`: one LSTM whose units are the taggers' units side
by side, recurrent weights block-diagonal and kept so, one output layer each; Adam is per weight, so each tagger
learns as it would alone, up to rounding and its dropout draws); the (embedding, seed) jobs run two at a time in
worker processes, each on one thread, so a result does not depend on the number of workers.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from gensim.models import KeyedVectors
from sklearn.metrics import f1_score
from torch import nn

from .. import memo, progress as _progress

HIDDEN_SIZES = (1, 2, 4, 8, 16, 32, 64)
#: worker processes of :func:`hidden_size_sweep` (each tagger job runs on one thread)
WORKERS = 2
#: the ``embedding`` name of the majority-tag baseline rows
MAJORITY = "majority tag"


class BiLSTMTagger(nn.Module):
    """Frozen embedding table (row 0: padding / unknown, all zeros) -> BiLSTM -> dropout -> linear."""

    def __init__(self, vectors: torch.Tensor, n_tags: int, hidden_size: int, dropout: float = 0.5):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(vectors, freeze=True, padding_idx=0)
        self.lstm = nn.LSTM(vectors.shape[1], hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden_size, n_tags)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Tag scores ``[B, T, n_tags]`` for padded word ids ``[B, T]``."""
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        hidden, _ = self.lstm(packed)
        hidden, _ = nn.utils.rnn.pad_packed_sequence(hidden, batch_first=True, total_length=ids.shape[1])
        return self.out(self.dropout(hidden))


class PackedTaggers(nn.Module):
    """Several :class:`BiLSTMTagger` over the same frozen embedding as one module: one bidirectional LSTM whose
    hidden units are the taggers' units side by side (input weights stacked, recurrent weights block-diagonal: a
    gradient hook keeps the blocks between taggers at zero), one output layer each. ``forward`` returns each
    tagger's scores; summing their losses gives each tagger its own gradient."""

    def __init__(self, taggers: Sequence[BiLSTMTagger]):
        super().__init__()
        self.embedding = taggers[0].embedding
        sizes = [t.lstm.hidden_size for t in taggers]
        total = sum(sizes)
        self.spans = [(a, a + h) for a, h in zip(np.cumsum([0, *sizes[:-1]]).tolist(), sizes)]
        self.lstm = nn.LSTM(taggers[0].lstm.input_size, total, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(taggers[0].dropout.p)
        self.outs = nn.ModuleList(t.out for t in taggers)
        mask = torch.zeros(4 * total, total)
        with torch.no_grad():
            for name, p in self.lstm.named_parameters():
                p.zero_()
                for t, (a, b) in zip(taggers, self.spans):
                    src, h = getattr(t.lstm, name), b - a
                    for g in range(4):                              # gates i, f, g, o: rows g*h.. of each tagger
                        rows = slice(g * total + a, g * total + b)
                        if name.startswith("weight_hh"):
                            p[rows, a:b] = src[g * h:(g + 1) * h]
                            mask[rows, a:b] = 1
                        else:
                            p[rows] = src[g * h:(g + 1) * h]
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight_hh"):
                p.register_hook(lambda grad, m=mask: grad * m)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        hidden, _ = self.lstm(packed)
        hidden, _ = nn.utils.rnn.pad_packed_sequence(hidden, batch_first=True, total_length=ids.shape[1])
        hidden = self.dropout(hidden)
        total = self.lstm.hidden_size
        return [out(torch.cat([hidden[..., a:b], hidden[..., total + a:total + b]], -1))
                for out, (a, b) in zip(self.outs, self.spans)]


def _lower(language: str):
    from embedlab.text import lowercase

    lang = language.split("-")[0]
    return lambda w: lowercase(w, lang)


def encode_split(kv: KeyedVectors, data: Sequence[tuple[list[str], list[str]]], tag_index: Mapping[str, int],
                 language: str) -> tuple[list[torch.Tensor], list[torch.Tensor], float]:
    """Word ids (``kv`` index + 1; 0 = no vector) and tag ids per sentence, and the share of tokens without a vector."""
    low = _lower(language)
    ids, tags, oov, n = [], [], 0, 0
    for toks, tgs in data:
        w = [kv.key_to_index.get(low(t), -1) + 1 for t in toks]
        oov += sum(i == 0 for i in w)
        n += len(w)
        ids.append(torch.tensor(w, dtype=torch.long))
        tags.append(torch.tensor([tag_index.get(t, -100) for t in tgs], dtype=torch.long))
    return ids, tags, oov / max(n, 1)


def _batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar length (sorted, then chunked) in a shuffled order."""
    order = np.argsort(lengths, kind="stable")
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [chunks[i] for i in rng.permutation(len(chunks))]


def _pad(seqs: list[torch.Tensor], value: int) -> torch.Tensor:
    return nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=value)


def train_tagger(kv: KeyedVectors, tagging_set, hidden_size: int, epochs: int = 5, batch_size: int = 32,
                 lr: float = 1e-3, dropout: float = 0.5, max_train_sentences: int | None = None, seed: int = 0,
                 threads: int = 1, per_token: bool = False) -> dict:
    """Train the BiLSTM tagger on ``tagging_set.train`` and score ``tagging_set.test``: accuracy, macro-F1, OOV
    rate (no vector), unseen rate (not in the training sentences). With ``per_token`` the dict also holds
    ``"per_token"``, a DataFrame of the test tokens (see :func:`token_frame`).

    Runs on ``threads`` torch threads (one is several times faster than two for these small matrices).
    """
    return train_taggers(kv, tagging_set, [hidden_size], epochs, batch_size, lr, dropout, max_train_sentences, seed,
                         threads, per_token)[0]


def train_taggers(kv: KeyedVectors, tagging_set, hidden_sizes: Sequence[int], epochs: int = 5, batch_size: int = 32,
                  lr: float = 1e-3, dropout: float = 0.5, max_train_sentences: int | None = None, seed: int = 0,
                  threads: int = 1, per_token: bool = False) -> list[dict]:
    """:func:`train_tagger` for several hidden sizes at once, trained together as a :class:`PackedTaggers` (each
    initialised as it would be alone, the same batches); one result per hidden size, in order."""
    if not hidden_sizes or min(hidden_sizes) < 1 or epochs < 1:
        raise ValueError(f"hidden_size and epochs must be >= 1; got {list(hidden_sizes)}, {epochs}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        outs = _train_taggers(kv, tagging_set, list(hidden_sizes), epochs, batch_size, lr, dropout,
                              max_train_sentences, seed)
    finally:
        torch.set_num_threads(before)
    for out in outs:
        tokens = out.pop("_tokens")
        if per_token:
            out["per_token"] = tokens
    return outs


def _train_taggers(kv, tagging_set, hidden_sizes, epochs, batch_size, lr, dropout, max_train_sentences, seed
                   ) -> list[dict]:
    """The training loop and test scoring of :func:`train_taggers`."""
    tags = sorted({t for _, tg in tagging_set.train for t in tg})
    tag_index = {t: i for i, t in enumerate(tags)}
    rng = np.random.default_rng(seed)
    train = list(tagging_set.train)
    if max_train_sentences and len(train) > max_train_sentences:
        train = [train[i] for i in sorted(rng.choice(len(train), max_train_sentences, replace=False))]
    x_train, y_train, _ = encode_split(kv, train, tag_index, tagging_set.language)
    x_test, y_test, oov = encode_split(kv, tagging_set.test, tag_index, tagging_set.language)
    vectors = torch.cat([torch.zeros(1, kv.vector_size), torch.as_tensor(np.asarray(kv.vectors), dtype=torch.float32)])
    taggers = []
    for h in hidden_sizes:                                   # each initialised as when trained alone
        torch.manual_seed(seed)
        taggers.append(BiLSTMTagger(vectors, len(tags), h, dropout))
    model = taggers[0] if len(taggers) == 1 else PackedTaggers(taggers)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    lengths = np.array([len(x) for x in x_train])
    for _ in range(epochs):
        model.train()
        for b in _batches(lengths, batch_size, rng):
            ids, gold = _pad([x_train[i] for i in b], 0), _pad([y_train[i] for i in b], -100)
            scores = model(ids, torch.as_tensor(lengths[b]))
            loss = sum(loss_fn(s.reshape(-1, s.shape[-1]), gold.reshape(-1)) for s in _listed(scores))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    pred, gold = [[] for _ in hidden_sizes], []
    with torch.inference_mode():
        test_len = np.array([len(x) for x in x_test])
        for s in range(0, len(x_test), 256):
            b = np.arange(s, min(s + 256, len(x_test)))
            outs = [o.argmax(-1) for o in _listed(model(_pad([x_test[i] for i in b], 0), torch.as_tensor(test_len[b])))]
            for row, i in enumerate(b):
                for k, out in enumerate(outs):
                    pred[k].append(out[row, :test_len[i]].numpy())
                gold.append(y_test[i].numpy())
    sent = np.concatenate([np.full(len(g), i) for i, g in enumerate(gold)])
    gold = np.concatenate(gold)
    unseen = _unseen_rate(train, tagging_set.test, tagging_set.language)
    results = []
    for p in pred:
        p = np.concatenate(p)
        results.append({"accuracy": float((p == gold).mean()),
                        "macro_f1": float(f1_score(gold, p, labels=sorted(set(gold.tolist()) - {-100}),
                                                   average="macro", zero_division=0)),
                        "oov_rate": oov, "unseen_rate": unseen, "train_sentences": len(train),
                        "test_tokens": int(len(gold)),
                        "_tokens": token_frame(sent, [tags[i] if i >= 0 else "?" for i in gold], [tags[i] for i in p])})
    return results


def _listed(scores) -> list[torch.Tensor]:
    return scores if isinstance(scores, list) else [scores]


def token_frame(sentence: np.ndarray, gold: Sequence[str], predicted: Sequence[str]) -> pd.DataFrame:
    """Per test token: ``sentence`` (index in the test split), ``position``, ``gold``, ``predicted``, ``correct``."""
    sentence = np.asarray(sentence)
    pos = np.zeros(len(sentence), dtype=np.int64)
    if len(sentence):
        starts = np.r_[0, np.flatnonzero(np.diff(sentence)) + 1]
        lengths = np.diff(np.r_[starts, len(sentence)])
        pos = np.arange(len(sentence)) - np.repeat(starts, lengths)
    gold, predicted = np.asarray(gold, dtype=object), np.asarray(predicted, dtype=object)
    return pd.DataFrame({"sentence": sentence, "position": pos, "gold": gold, "predicted": predicted,
                         "correct": gold == predicted})


def sentence_accuracy(per_token: pd.DataFrame) -> pd.DataFrame:
    """Per test sentence: ``tokens`` and ``correct`` counts (resample these rows for a sentence-level bootstrap:
    accuracy = sum(correct) / sum(tokens))."""
    g = per_token.groupby("sentence")["correct"]
    return pd.DataFrame({"tokens": g.size(), "correct": g.sum()}).reset_index()


def _unseen_rate(train, test, language: str) -> float:
    low = _lower(language)
    seen = {low(w) for toks, _ in train for w in toks}
    n = sum(len(t) for t, _ in test)
    return sum(low(w) not in seen for toks, _ in test for w in toks) / max(n, 1)


def majority_tag_baseline(tagging_set, max_train_sentences: int | None = None, seed: int = 0,
                          per_token: bool = False) -> dict:
    """The reference level: each test word gets its most frequent tag in the training sentences (words
    lowercased with the language's rules; ties: the tag first in sorted order), a word never seen in
    training the globally most frequent tag. Same keys as :func:`train_tagger` (``oov_rate`` is NaN: no
    vectors); ``max_train_sentences`` draws the same training subsample as :func:`train_tagger` for a seed."""
    from collections import Counter, defaultdict

    low = _lower(tagging_set.language)
    train = list(tagging_set.train)
    if max_train_sentences and len(train) > max_train_sentences:
        rng = np.random.default_rng(seed)
        train = [train[i] for i in sorted(rng.choice(len(train), max_train_sentences, replace=False))]
    by_word: dict[str, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    for toks, tags in train:
        for w, t in zip(toks, tags):
            by_word[low(w)][t] += 1
            overall[t] += 1
    top = lambda c: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]  # noqa: E731
    default = top(overall)
    best = {w: top(c) for w, c in by_word.items()}
    sent, gold, pred = [], [], []
    for i, (toks, tags) in enumerate(tagging_set.test):
        sent += [i] * len(toks)
        gold += list(tags)
        pred += [best.get(low(w), default) for w in toks]
    frame = token_frame(np.array(sent, dtype=np.int64), gold, pred)
    out = {"accuracy": float(frame["correct"].mean()),
           "macro_f1": float(f1_score(frame["gold"].astype(str), frame["predicted"].astype(str),
                                      labels=sorted(set(gold)), average="macro", zero_division=0)),
           "oov_rate": float("nan"), "unseen_rate": _unseen_rate(train, tagging_set.test, tagging_set.language),
           "train_sentences": len(train), "test_tokens": len(frame)}
    if per_token:
        out["per_token"] = frame
    return out


def _sweep_job(args) -> list[dict]:
    """One (embedding, seed) job of :func:`hidden_size_sweep` (in a worker process)."""
    kv, tagging_set, hidden_sizes, train_kw = args
    return train_taggers(kv, tagging_set, hidden_sizes, per_token=True, **train_kw)


def hidden_size_sweep(embeddings: Mapping[str, KeyedVectors], tagging_set, hidden_sizes: Sequence[int] = HIDDEN_SIZES,
                      progress: bool = True, majority: bool = False, per_token: bool = False,
                      seeds: Sequence[int] | None = None, workers: int = WORKERS, **train_kw):
    """:func:`train_tagger` for every embedding and hidden size: one row each (task, embedding, hidden_size, metrics).

    The hidden sizes of an embedding train together (:func:`train_taggers`); the embeddings (and ``seeds``, when
    given: one job per embedding and seed, rows with a ``seed`` column; else ``train_kw``'s ``seed``) run in
    ``workers`` processes (1: in this process). ``majority=True`` adds the :func:`majority_tag_baseline` row
    (``embedding`` = :data:`MAJORITY`, ``hidden_size`` 0) as the table's reference level. ``per_token=True`` returns
    ``(table, per_token)``, the per-token frames of every row stacked with columns ``embedding`` and ``hidden_size``.
    """
    if not hidden_sizes:
        raise ValueError(f"no hidden sizes given; e.g. {list(HIDDEN_SIZES)}")
    runs = [(name, s) for name in embeddings for s in (seeds if seeds is not None else [train_kw.get("seed", 0)])]
    args = [(embeddings[name], tagging_set, list(hidden_sizes), {**train_kw, "seed": s}) for name, s in runs]
    extra = (lambda s: {"seed": s}) if seeds is not None else (lambda s: {})  # noqa: E731
    rows, tokens = [], []
    if majority:
        base = majority_tag_baseline(tagging_set, train_kw.get("max_train_sentences"), train_kw.get("seed", 0),
                                     per_token=True)
        tokens.append(base.pop("per_token").assign(embedding=MAJORITY, hidden_size=0))
        rows.append({"task": tagging_set.name, "embedding": MAJORITY, "hidden_size": 0, **base})
    done = _trained_or_cached(args, workers)
    for (name, s), results in zip(runs, _progress.bar(done, desc=f"tagging {tagging_set.name}", total=len(runs))
                                  if progress else done):
        for h, res in zip(hidden_sizes, results):
            res = dict(res)
            tokens.append(res.pop("per_token").assign(embedding=name, hidden_size=h, **extra(s)))
            rows.append({"task": tagging_set.name, "embedding": name, "hidden_size": h, **extra(s), **res})
    table = pd.DataFrame(rows)
    return (table, pd.concat(tokens, ignore_index=True)) if per_token else table


def _trained_or_cached(args: list, workers: int):
    """Each job's results: from the trained-results cache (:mod:`embedlab.memo`; keyed by the embedding's content,
    the set, the hidden sizes and the training options with the seed) or trained, the missing ones in ``workers``
    processes; yields them in job order as they come."""
    set_id = memo.digest(args[0][1]) if args else ""
    kv_ids: dict[int, str] = {}
    keys, found = [], []
    for kv, _, hidden, kw in args:
        kv_id = kv_ids.setdefault(id(kv), memo.digest(kv))
        key, value = memo.lookup("tagger", {"embedding": kv_id, "set": set_id, "hidden_sizes": hidden, "train": kw})
        keys.append(key)
        found.append(value)
    todo = [i for i, v in enumerate(found) if v is memo.MISSING]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 1 and \
            len(todo) > 1 else _InProcess() as pool:
        fresh = iter(pool.map(_sweep_job, [args[i] for i in todo]))
        for i, value in enumerate(found):
            yield memo.store(keys[i], "tagger", next(fresh)) if value is memo.MISSING else value


class _InProcess:
    """A stand-in for a process pool that runs the jobs here, one after the other."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def map(self, fn, items):
        return map(fn, items)
