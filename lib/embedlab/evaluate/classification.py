"""Text classification over static embeddings: multinomial logistic regression on each text's mean word
vector, with the full embedding and with the embedding table compressed by truncated SVD (the Marathi
paper's "compressed" 768 -> 300 dimensions). Accuracy and macro-F1 on the test split.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def compress(kv: KeyedVectors, dim: int = 300, seed: int = 0) -> KeyedVectors | None:
    """The embedding table projected on its top ``dim`` right singular vectors, as scikit-learn's
    ``TruncatedSVD`` (no centring), computed exactly as the top eigenvectors of the ``H x H`` Gram matrix
    (for a few thousand rows far faster than the randomized solver). ``None`` if the table has ``dim``
    dimensions or fewer."""
    if kv.vector_size <= dim:
        return None
    from threadpoolctl import threadpool_limits

    x = np.asarray(kv.vectors, dtype=np.float64)
    with threadpool_limits(1):                          # small problem: BLAS threads only add overhead
        _, vecs = np.linalg.eigh(x.T @ x)               # eigenvalues ascending
        small = x @ vecs[:, ::-1][:, :dim]
    out = KeyedVectors(vector_size=dim)
    out.add_vectors(list(kv.index_to_key), small.astype(np.float32))
    return out


def tokenize_texts(texts: Sequence[str], language: str) -> list[list[str]]:
    """Texts as lower-cased word lists (:func:`embedlab.corpora.tokenize`, the corpora's own tokenizer)."""
    from embedlab.corpora import tokenize

    lang = language.split("-")[0]
    return [tokenize(str(t), lang) for t in texts]


def mean_vectors(kv: KeyedVectors, texts: Sequence[str] | Sequence[Sequence[str]], language: str = "en"
                 ) -> tuple[np.ndarray, float]:
    """Each text's mean word vector (zeros when no word has a vector) and the share of tokens with a vector.

    ``texts`` are strings (tokenized here) or already tokenized word lists.
    """
    docs = [t if isinstance(t, (list, tuple)) else None for t in texts]
    if any(d is None for d in docs):
        docs = tokenize_texts(texts, language)
    out = np.zeros((len(docs), kv.vector_size), dtype=np.float32)
    hit = total = 0
    for i, toks in enumerate(docs):
        ids = [kv.key_to_index[t] for t in toks if t in kv.key_to_index]
        total += len(toks)
        hit += len(ids)
        if ids:
            out[i] = kv.vectors[ids].mean(0)
    return out, hit / max(total, 1)


def _subsample(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """At most ``n`` rows, stratified by label (deterministic)."""
    if not n or len(df) <= n:
        return df
    rng = np.random.default_rng(seed)
    keep = []
    for _, idx in sorted(df.groupby("label").indices.items()):
        k = max(1, round(len(idx) * n / len(df)))
        keep += sorted(rng.choice(idx, k, replace=False).tolist())
    return df.iloc[sorted(keep)].reset_index(drop=True)


def prepare(dataset, seed: int = 0, max_train: int | None = None, max_test: int | None = None) -> dict:
    """Tokenize a TextClassificationSet once (train subsampled to ``max_train``, test to ``max_test``)."""
    train = _subsample(dataset.train, max_train, seed)
    test = _subsample(dataset.test, max_test, seed)
    return {"train": tokenize_texts(train["text"].tolist(), dataset.language), "y_train": train["label"].tolist(),
            "test": tokenize_texts(test["text"].tolist(), dataset.language), "y_test": test["label"].tolist()}


def fit_score(kv: KeyedVectors, prepared: Mapping, seed: int = 0, C: float = 1.0, max_iter: int = 1000) -> dict:
    """Logistic regression (multinomial, lbfgs) on standardised mean word vectors: accuracy, macro-F1, token coverage."""
    from threadpoolctl import threadpool_limits

    x_tr, _ = mean_vectors(kv, prepared["train"])
    x_te, cov = mean_vectors(kv, prepared["test"])
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    with threadpool_limits(1):                      # small matrices: BLAS threads only add overhead
        clf.fit(x_tr, prepared["y_train"])
        pred = clf.predict(x_te)
    return {"accuracy": float(accuracy_score(prepared["y_test"], pred)),
            "macro_f1": float(f1_score(prepared["y_test"], pred, average="macro", zero_division=0)),
            "token_coverage": cov, "train_texts": len(x_tr), "test_texts": len(x_te), "dims": kv.vector_size}


def classify(kv: KeyedVectors, dataset, seed: int = 0, max_train: int | None = None, max_test: int | None = None,
             C: float = 1.0, max_iter: int = 1000) -> dict:
    """:func:`fit_score` on a TextClassificationSet's train and test splits."""
    return fit_score(kv, prepare(dataset, seed, max_train, max_test), seed, C, max_iter)


def evaluate_many(embeddings: Mapping[str, KeyedVectors], dataset, compressed_dim: int | None = 300, seed: int = 0,
                  max_train: int | None = None, max_test: int | None = None) -> pd.DataFrame:
    """:func:`fit_score` per embedding, full and (when it has more dimensions) SVD-compressed to ``compressed_dim``."""
    prepared = prepare(dataset, seed, max_train, max_test)
    rows = []
    for name, kv in embeddings.items():
        rows.append({"task": dataset.name, "embedding": name, "variant": "full", **fit_score(kv, prepared, seed)})
        small = compress(kv, compressed_dim, seed) if compressed_dim else None
        if small is not None:
            rows.append({"task": dataset.name, "embedding": name, "variant": f"svd-{compressed_dim}",
                         **fit_score(small, prepared, seed)})
    return pd.DataFrame(rows)
