"""Text classification on mean word vectors, full vs SVD-compressed."""
import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab.evalsets import TextClassificationSet
from embedlab.evaluate import classification

SPORT, FOOD = ["goal", "match", "team", "score"], ["bread", "soup", "salt", "cake"]


def _texts(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = "sport" if i % 2 else "food"
        words = list(rng.choice(SPORT if label == "sport" else FOOD, 3)) + ["the", "and"]
        rows.append({"text": " ".join(rng.permutation(words)), "label": label})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def dataset():
    return TextClassificationSet(_texts(0, 60), _texts(1, 30), "toy", "en", ["food", "sport"])


def _kv(dim: int) -> KeyedVectors:
    rng = np.random.default_rng(0)
    topic = {"sport": rng.normal(size=dim), "food": rng.normal(size=dim)}
    kv = KeyedVectors(dim)
    words = SPORT + FOOD + ["the", "and"]
    vecs = [topic["sport"] + 0.3 * rng.normal(size=dim) if w in SPORT else
            topic["food"] + 0.3 * rng.normal(size=dim) if w in FOOD else rng.normal(size=dim) for w in words]
    kv.add_vectors(words, np.array(vecs, np.float32))
    return kv


def test_mean_vectors_and_coverage():
    kv = _kv(4)
    x, cov = classification.mean_vectors(kv, ["goal zzz", "zzz"], "en")
    np.testing.assert_allclose(x[0], kv["goal"])
    assert not x[1].any() and cov == pytest.approx(1 / 3)


def test_informative_vectors_classify_and_compression_keeps_the_signal(dataset):
    df = classification.evaluate_many({"kv": _kv(12)}, dataset, compressed_dim=4)
    assert list(df["variant"]) == ["full", "svd-4"] and list(df["dims"]) == [12, 4]
    assert (df["accuracy"] > 0.9).all() and (df["macro_f1"] > 0.9).all()


def test_compress_skips_embeddings_that_are_already_small():
    assert classification.compress(_kv(4), 4) is None
    small = classification.compress(_kv(12), 3)
    assert small.vector_size == 3 and small.index_to_key == _kv(12).index_to_key


def test_train_subsample_is_stratified_and_deterministic(dataset):
    a = classification.classify(_kv(12), dataset, max_train=20)
    b = classification.classify(_kv(12), dataset, max_train=20)
    assert a == b and a["train_texts"] == 20
