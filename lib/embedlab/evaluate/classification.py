"""Text classification over static embeddings: multinomial logistic regression on each text's mean word
vector, with the full embedding and with the embedding table compressed by truncated SVD (the Marathi
paper's "compressed" 768 -> 300 dimensions). Accuracy and macro-F1 on the test split; or, as the paper,
stratified 5-fold cross-validation with the SVD fitted on the training folds only and a majority-class row
(:func:`cross_validate`, :func:`cv_summary`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..stats import over_draws


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
    """Texts as lower-cased word lists (:func:`embedlab.text.tokenize`, the corpora's own tokenizer)."""
    from embedlab.text import tokenize

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


# --------------------------------------------------------------------------- k-fold cross-validation

MAJORITY = "majority class"


def _pooled(dataset, max_texts: int | None, seed: int) -> pd.DataFrame:
    """All labelled texts of a TextClassificationSet (train, dev, test), stratified-subsampled to ``max_texts``."""
    parts = [dataset.train, dataset.test] + ([dataset.dev] if dataset.dev is not None else [])
    df = pd.concat([p[["text", "label"]] for p in parts], ignore_index=True)
    return _subsample(df, max_texts, seed)


#: processes that fit the cross-validation's models side by side
WORKERS = 2


def _fit_predict(majority: bool, x_train, y_train, x_test, svd_dim, C: float, max_iter: int, seed: int):
    """One fold of one system: the fitted pipeline's predictions on the held-out texts, and its input dims."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):                      # small matrices: BLAS threads only add overhead
        if majority:
            model, dims = DummyClassifier(strategy="most_frequent"), 0
        else:
            steps = [("scale", StandardScaler()), ("lr", LogisticRegression(C=C, max_iter=max_iter, random_state=seed))]
            dims = x_train.shape[1]
            if svd_dim:
                dims = _svd_components(svd_dim, len(x_train), x_train.shape[1])
                steps.insert(0, ("svd", TruncatedSVD(dims, random_state=seed)))
            model = Pipeline(steps)
        model.fit(x_train, y_train)
        return model.predict(x_test), dims


def _svd_components(compressed_dim: int, n_train: int, dims: int) -> int:
    return max(1, min(compressed_dim, n_train - 1, dims - 1))


def cross_validate(embeddings: Mapping[str, KeyedVectors], dataset, folds: int = 5, compressed_dim: int | None = 300,
                   seed: int = 0, max_texts: int | None = None, C: float = 1.0, max_iter: int = 1000,
                   majority: bool = True, split_seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified ``folds``-fold cross-validation, as the Marathi paper (5 folds), over all labelled texts.

    The texts of every split of ``dataset`` are pooled (subsampled, stratified, to ``max_texts``) and cut by
    ``StratifiedKFold(folds, shuffle=True, random_state=split_seed)`` (None: ``seed``; another split seed draws other
    folds over the same texts, a repeated cross-validation); every embedding sees the same folds. Per
    fold and embedding, a scikit-learn Pipeline is fitted on the training folds only and scored on the
    held-out fold:

    * ``full``: StandardScaler -> multinomial LogisticRegression on each text's mean word vector;
    * ``svd-<compressed_dim>`` (embeddings with more dimensions): TruncatedSVD -> StandardScaler ->
      LogisticRegression, so the projection is fitted on the training fold's texts only (never on the
      held-out one); its size is capped at ``n_train - 1``;
    * with ``majority``, a ``majority class`` row (DummyClassifier ``most_frequent``) on the same folds: the
      reference level every table shows.

    Returns ``(scores, predictions)``: ``scores`` one row per embedding, variant and fold (accuracy, macro_f1,
    token_coverage, train_texts, test_texts, dims); ``predictions`` one row per held-out text (``item`` is the
    text's row in the pooled frame, the same for every embedding, so two systems pair up for
    :func:`embedlab.stats.paired_mean_diff_ci` on ``correct``). :func:`cv_summary` gives means and intervals.
    """
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise ValueError(f"folds must be >= 2; got {folds}")
    df = _pooled(dataset, max_texts, seed)
    smallest = df["label"].value_counts().min()
    if smallest < folds:
        raise ValueError(f"{dataset.name}: the smallest class has {smallest} texts, fewer than folds={folds}; "
                         f"use fewer folds or drop the class")
    docs = tokenize_texts(df["text"].tolist(), dataset.language)
    y = df["label"].to_numpy()
    split_seed = seed if split_seed is None else split_seed
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=split_seed).split(np.zeros(len(y)), y))
    systems: list[tuple[str, str, np.ndarray, float, Any]] = []
    if majority:
        systems.append((MAJORITY, "-", np.zeros((len(y), 1), np.float32), float("nan"), None))
    for name, kv in embeddings.items():
        x, cov = mean_vectors(kv, docs)
        systems.append((name, "full", x, cov, None))
        if compressed_dim and kv.vector_size > compressed_dim:
            systems.append((name, f"svd-{compressed_dim}", x, cov, compressed_dim))
    jobs = [(name, variant, fold, x, svd_dim, tr, te) for name, variant, x, cov, svd_dim in systems
            for fold, (tr, te) in enumerate(splits)]
    # every fit is independent and single-threaded: WORKERS processes give the same predictions in any order
    fitted = Parallel(n_jobs=min(WORKERS, len(jobs)), backend="loky")(
        delayed(_fit_predict)(name == MAJORITY, x[tr], y[tr], x[te], svd_dim, C, max_iter, seed)
        for name, variant, fold, x, svd_dim, tr, te in jobs)
    cov_of = {(name, variant): cov for name, variant, _, cov, _ in systems}
    score_rows, pred_rows = [], []
    for (name, variant, fold, x, svd_dim, tr, te), (pred, dims) in zip(jobs, fitted):
        score_rows.append({"task": dataset.name, "embedding": name, "variant": variant, "fold": fold,
                           "accuracy": float(accuracy_score(y[te], pred)),
                           "macro_f1": float(f1_score(y[te], pred, average="macro", zero_division=0)),
                           "token_coverage": cov_of[(name, variant)], "train_texts": len(tr), "test_texts": len(te),
                           "dims": dims})
        pred_rows.append(pd.DataFrame({"task": dataset.name, "embedding": name, "variant": variant,
                                       "fold": fold, "item": te, "label": y[te], "predicted": pred,
                                       "correct": pred == y[te]}))
    return pd.DataFrame(score_rows), pd.concat(pred_rows, ignore_index=True)


def _macro_f1_over_draws(gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """:func:`macro_f1` of each row pair (``[draws, items]``), each row over the gold labels it contains."""
    labels = np.unique(gold)
    k, draws = len(labels), len(gold)
    g = np.searchsorted(labels, gold)
    p = np.searchsorted(labels, pred)
    p = np.where((p < k) & (labels[np.minimum(p, k - 1)] == pred), p, k)          # k: a label no row has in gold
    offset = np.arange(draws)[:, None] * (k + 1)

    def counts(codes, keep=None):
        flat = (offset + codes)[keep] if keep is not None else (offset + codes).ravel()
        return np.bincount(flat, minlength=draws * (k + 1)).reshape(draws, k + 1)[:, :k]

    tp, support, predicted = counts(g, p == g), counts(g), counts(p)
    denom = support + predicted
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    present = support > 0
    return (f1 * present).sum(axis=1) / present.sum(axis=1)


@over_draws(_macro_f1_over_draws)
def macro_f1(gold, pred) -> float:
    """Macro-F1 over the gold labels (scikit-learn's ``f1_score(average="macro", zero_division=0)`` with
    ``labels`` = the gold labels present), vectorized for bootstrap resamples."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    labels, g = np.unique(gold, return_inverse=True)
    p = np.searchsorted(labels, pred)
    p = np.where((p < len(labels)) & (labels[np.minimum(p, len(labels) - 1)] == pred), p, -1)
    k = len(labels)
    tp = np.bincount(g[p == g], minlength=k)
    support = np.bincount(g, minlength=k)
    predicted = np.bincount(p[p >= 0], minlength=k)
    denom = support + predicted
    return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


def cv_summary(scores: pd.DataFrame, predictions: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per embedding and variant: folds, mean and standard deviation of fold accuracy, a 95% bootstrap interval of
    accuracy over the held-out texts (:func:`embedlab.stats.mean_ci`; n = texts), and macro-F1 over the pooled
    held-out predictions (:func:`macro_f1`; every text is predicted once)."""
    from .. import stats

    rows = []
    for (task, emb, var), g in scores.groupby(["task", "embedding", "variant"], sort=False):
        p = predictions[(predictions["task"] == task) & (predictions["embedding"] == emb)
                        & (predictions["variant"] == var)]
        lo, hi = stats.mean_ci(p["correct"].astype(float), seed=seed)
        rows.append({"task": task, "embedding": emb, "variant": var, "folds": len(g), "n": len(p),
                     "accuracy": float(p["correct"].mean()), "accuracy_lo": lo, "accuracy_hi": hi,
                     "fold_accuracy_sd": float(g["accuracy"].std(ddof=1)) if len(g) > 1 else float("nan"),
                     "macro_f1": macro_f1(p["label"], p["predicted"]), "dims": int(g["dims"].iloc[0]),
                     "token_coverage": float(g["token_coverage"].iloc[0])})
    return pd.DataFrame(rows)
