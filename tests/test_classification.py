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


def _unbalanced(n: int = 50) -> TextClassificationSet:
    df = _texts(3, n)
    df.loc[df.index[:12], "label"] = "sport"          # 31 sport vs 19 food: majority share 0.62
    df.loc[df.index[:12], "text"] = "goal team the"
    return TextClassificationSet(df.iloc[:40].reset_index(drop=True), df.iloc[40:].reset_index(drop=True),
                                 "toy-cv", "en", ["food", "sport"])


def test_cross_validation_folds_majority_row_and_items():
    ds = _unbalanced()
    scores, preds = classification.cross_validate({"kv": _kv(12), "zero": _zero_kv(12)}, ds, folds=5,
                                                  compressed_dim=4)
    assert sorted(set(scores["fold"])) == [0, 1, 2, 3, 4]
    assert set(zip(scores["embedding"], scores["variant"])) == {
        (classification.MAJORITY, "-"), ("kv", "full"), ("kv", "svd-4"), ("zero", "full"), ("zero", "svd-4")}
    for _, p in preds.groupby(["embedding", "variant"]):     # every pooled text is held out exactly once
        assert sorted(p["item"]) == list(range(50))
    maj = preds[preds["embedding"] == classification.MAJORITY]
    assert (maj["predicted"] == "sport").all() and maj["correct"].mean() == pytest.approx(31 / 50)
    # stratified: every held-out fold has 6 or 7 of the 31 sport texts
    assert set(maj.groupby("fold")["correct"].sum()) <= {6, 7}
    summary = classification.cv_summary(scores, preds).set_index(["embedding", "variant"])
    assert summary.loc[("kv", "full"), "accuracy"] > 0.9 > summary.loc[(classification.MAJORITY, "-"), "accuracy"]
    assert summary.loc[("zero", "full"), "accuracy"] == pytest.approx(31 / 50)   # no signal: majority
    lo, hi = summary.loc[("kv", "full"), ["accuracy_lo", "accuracy_hi"]]
    assert lo <= summary.loc[("kv", "full"), "accuracy"] <= hi and summary.loc[("kv", "full"), "n"] == 50


def test_cross_validation_fits_svd_on_training_folds_only(monkeypatch):
    from sklearn.decomposition import TruncatedSVD

    seen = []
    original = TruncatedSVD.fit_transform

    def spy(self, x, y=None):
        seen.append(len(x))
        return original(self, x, y)

    monkeypatch.setattr(TruncatedSVD, "fit_transform", spy)
    monkeypatch.setattr(classification, "WORKERS", 1)         # the spy sees fits in this process only
    scores, _ = classification.cross_validate({"kv": _kv(12)}, _unbalanced(), folds=5, compressed_dim=4,
                                              majority=False)
    svd = scores[scores["variant"] == "svd-4"]
    assert seen == svd["train_texts"].tolist() and all(n == 40 for n in seen)
    with pytest.raises(ValueError, match="fewer than folds=30"):
        classification.cross_validate({"kv": _kv(12)}, _unbalanced(), folds=30)


def _zero_kv(dim: int) -> KeyedVectors:
    kv = KeyedVectors(dim)
    kv.add_vectors(SPORT + FOOD + ["the", "and"], np.zeros((10, dim), np.float32))
    return kv


def test_macro_f1_matches_scikit_learn_and_split_seeds_redraw_folds_over_the_same_texts(dataset):
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    for _ in range(50):
        gold, pred = rng.choice(list("abc"), 40), rng.choice(list("abcd"), 40)
        assert classification.macro_f1(gold, pred) == pytest.approx(
            f1_score(gold, pred, labels=sorted(set(gold)), average="macro", zero_division=0))
    runs = [classification.cross_validate({"kv": _kv(8)}, dataset, folds=3, seed=0, split_seed=s)[1] for s in (0, 1)]
    a, b = (r[r["embedding"] == "kv"].sort_values("item") for r in runs)
    assert a["item"].tolist() == b["item"].tolist() and a["label"].tolist() == b["label"].tolist()
    assert a["fold"].tolist() != b["fold"].tolist()                      # other folds over the same texts


def test_cross_validation_gives_the_same_predictions_in_one_process_and_in_two(monkeypatch, dataset):
    embs = {"a": _kv(12), "b": _kv(6)}
    two = classification.cross_validate(embs, dataset, folds=3, compressed_dim=4)
    monkeypatch.setattr(classification, "WORKERS", 1)
    one = classification.cross_validate(embs, dataset, folds=3, compressed_dim=4)
    pd.testing.assert_frame_equal(one[0], two[0])
    pd.testing.assert_frame_equal(one[1], two[1])
