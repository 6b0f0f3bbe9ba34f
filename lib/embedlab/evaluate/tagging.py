"""Sequence tagging (POS, NER) with a BiLSTM over frozen word embeddings, and the hidden-size sweep.

The model follows the Hungarian paper's tagger (frozen embedding -> bidirectional LSTM with dropout
0.5 -> per-token softmax; Adam, batch 32, 5 epochs, hidden sizes 1-64) in PyTorch. Words are
lowercased with the language's rules to match the embeddings' vocabulary; a word without a vector
gets the zero vector (the paper's code draws a random one, which lets the tagger memorise OOV words
and blurs the comparison between embeddings). Metrics on the test split: token accuracy and
macro-F1 over tags (scikit-learn). Deterministic for a given seed and thread count.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from gensim.models import KeyedVectors
from sklearn.metrics import f1_score
from torch import nn

HIDDEN_SIZES = (1, 2, 4, 8, 16, 32, 64)


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


def _lower(language: str):
    from embedlab.corpora import lowercase

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
                 threads: int = 1) -> dict:
    """Train the BiLSTM tagger on ``tagging_set.train`` and score ``tagging_set.test``: accuracy, macro-F1, OOV rate.

    Runs on ``threads`` torch threads (one is several times faster than two for these small matrices).
    """
    if hidden_size < 1 or epochs < 1:
        raise ValueError(f"hidden_size and epochs must be >= 1; got {hidden_size}, {epochs}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _train_tagger(kv, tagging_set, hidden_size, epochs, batch_size, lr, dropout, max_train_sentences, seed)
    finally:
        torch.set_num_threads(before)


def _train_tagger(kv, tagging_set, hidden_size, epochs, batch_size, lr, dropout, max_train_sentences, seed) -> dict:
    """The training loop and test scoring of :func:`train_tagger`."""
    tags = sorted({t for _, tg in tagging_set.train for t in tg})
    tag_index = {t: i for i, t in enumerate(tags)}
    rng = np.random.default_rng(seed)
    train = list(tagging_set.train)
    if max_train_sentences and len(train) > max_train_sentences:
        train = [train[i] for i in sorted(rng.choice(len(train), max_train_sentences, replace=False))]
    x_train, y_train, _ = encode_split(kv, train, tag_index, tagging_set.language)
    x_test, y_test, oov = encode_split(kv, tagging_set.test, tag_index, tagging_set.language)
    vectors = torch.cat([torch.zeros(1, kv.vector_size), torch.as_tensor(np.asarray(kv.vectors), dtype=torch.float32)])
    torch.manual_seed(seed)
    model = BiLSTMTagger(vectors, len(tags), hidden_size, dropout)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    lengths = np.array([len(x) for x in x_train])
    for _ in range(epochs):
        model.train()
        for b in _batches(lengths, batch_size, rng):
            ids, gold = _pad([x_train[i] for i in b], 0), _pad([y_train[i] for i in b], -100)
            scores = model(ids, torch.as_tensor(lengths[b]))
            loss = loss_fn(scores.reshape(-1, scores.shape[-1]), gold.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    pred, gold = [], []
    with torch.inference_mode():
        test_len = np.array([len(x) for x in x_test])
        for s in range(0, len(x_test), 256):
            b = np.arange(s, min(s + 256, len(x_test)))
            out = model(_pad([x_test[i] for i in b], 0), torch.as_tensor(test_len[b])).argmax(-1)
            for row, i in enumerate(b):
                pred.append(out[row, :test_len[i]].numpy())
                gold.append(y_test[i].numpy())
    pred, gold = np.concatenate(pred), np.concatenate(gold)
    return {"accuracy": float((pred == gold).mean()),
            "macro_f1": float(f1_score(gold, pred, labels=sorted(set(gold.tolist()) - {-100}), average="macro",
                                       zero_division=0)),
            "oov_rate": oov, "train_sentences": len(train), "test_tokens": int(len(gold))}


def hidden_size_sweep(embeddings: Mapping[str, KeyedVectors], tagging_set, hidden_sizes: Sequence[int] = HIDDEN_SIZES,
                      progress: bool = True, **train_kw) -> pd.DataFrame:
    """:func:`train_tagger` for every embedding and hidden size: one row each (task, embedding, hidden_size, metrics)."""
    from tqdm.auto import tqdm

    if not hidden_sizes:
        raise ValueError(f"no hidden sizes given; e.g. {list(HIDDEN_SIZES)}")
    jobs = [(name, h) for name in embeddings for h in hidden_sizes]
    rows = []
    for name, h in tqdm(jobs, desc=f"tagging {tagging_set.name}", disable=not progress, leave=False):
        rows.append({"task": tagging_set.name, "embedding": name, "hidden_size": h,
                     **train_tagger(embeddings[name], tagging_set, h, **train_kw)})
    return pd.DataFrame(rows)
