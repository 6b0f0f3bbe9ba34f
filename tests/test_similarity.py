"""Word similarity: Spearman against graded scores, ROC-AUC for binary (synonym / random) sets, per-pair cosines."""
import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors
from scipy.stats import spearmanr

from embedlab.evaluate import similarity


def _kv():
    kv = KeyedVectors(2)
    ang = {"a": 0.0, "b": 0.1, "c": 0.5, "d": 1.0, "e": 1.4, "f": 3.0}
    kv.add_vectors(list(ang), np.array([[np.cos(t), np.sin(t)] for t in ang.values()], np.float32))
    return kv


def test_binary_sets_get_roc_auc_by_hand_with_interval():
    # cosines with "a": b .995, c .878, d .540, e .170, f -.990; synonyms (1): b, d, f; random (0): c, e
    pairs = pd.DataFrame({"w1": ["a"] * 5 + ["a"], "w2": ["b", "c", "d", "e", "f", "zzz"],
                          "score": [1, 0, 1, 0, 1, 1]})
    assert similarity.is_binary(pairs) and similarity.primary_metric(pairs) == "roc_auc"
    res = similarity.word_similarity(_kv(), pairs, ci=True)
    # positive/negative orderings: (b>c, b>e, d<c, d>e, f<c, f<e) -> 3 of 6 = 0.5
    assert res["roc_auc"] == pytest.approx(0.5) and res["covered"] == 5
    assert res["roc_auc_lo"] <= res["roc_auc"] <= res["roc_auc_hi"]
    good = pairs.assign(score=[1, 1, 0, 0, 0, 0])
    assert similarity.word_similarity(_kv(), good)["roc_auc"] == 1.0


def test_graded_sets_keep_spearman_and_pairs_line_up():
    pairs = pd.DataFrame({"w1": ["a", "a", "a", "b"], "w2": ["b", "c", "d", "e"], "score": [9.0, 7.5, 3.0, 2.0]})
    assert similarity.primary_metric(pairs) == "spearman"
    table, per = similarity.evaluate_many({"x": _kv(), "y": _kv()}, pairs, ci=True, per_pair=True)
    assert "roc_auc" not in table.columns and table["spearman"].tolist() == [1.0, 1.0]
    x = per[per["embedding"] == "x"]
    assert x["pair"].tolist() == [0, 1, 2, 3]
    assert spearmanr(x["cosine"], x["score"]).statistic == pytest.approx(1.0)
