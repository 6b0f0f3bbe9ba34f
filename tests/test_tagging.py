"""BiLSTM tagger over frozen embeddings on a toy set: it learns when the embedding separates the tags,
cannot when it does not, is deterministic, and the hidden-size sweep has one row per configuration."""
import numpy as np
import pytest
from gensim.models import KeyedVectors

from embedlab.evalsets import TaggingSet
from embedlab.evaluate import tagging

NOUNS, VERBS, DETS = ["cat", "dog", "cow", "ox", "pig"], ["runs", "eats", "sees", "hits"], ["the", "a"]


def _toy(seed: int, n: int):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        toks, tags = [], []
        for _ in range(rng.integers(1, 3)):
            toks += [rng.choice(DETS), rng.choice(NOUNS), rng.choice(VERBS)]
            tags += ["DET", "NOUN", "VERB"]
        out.append((list(map(str, toks)), tags))
    return out


@pytest.fixture(scope="module")
def toy_set():
    return TaggingSet("toy-pos", "en", "toy", _toy(0, 160), _toy(1, 20), _toy(2, 40))


def _kv(informative: bool) -> KeyedVectors:
    words = NOUNS + VERBS + DETS
    rng = np.random.default_rng(5)
    if informative:
        centre = {"NOUN": np.eye(6)[0], "VERB": np.eye(6)[1], "DET": np.eye(6)[2]}
        tag = {**{w: "NOUN" for w in NOUNS}, **{w: "VERB" for w in VERBS}, **{w: "DET" for w in DETS}}
        vecs = np.stack([centre[tag[w]] * 3 + 0.1 * rng.normal(size=6) for w in words])
    else:
        vecs = np.zeros((len(words), 6))
    kv = KeyedVectors(6)
    kv.add_vectors(words, vecs.astype(np.float32))
    return kv


def test_tagger_learns_from_informative_vectors_and_not_from_empty_ones(toy_set):
    good = tagging.train_tagger(_kv(True), toy_set, hidden_size=8, epochs=8, lr=0.01)
    assert good["accuracy"] > 0.95 and good["macro_f1"] > 0.95 and good["oov_rate"] == 0
    # all-zero vectors: only the position in the sentence is left to go on
    blind = tagging.train_tagger(_kv(False), toy_set, hidden_size=8, epochs=8, lr=0.01)
    assert blind["accuracy"] < good["accuracy"]


def test_tagger_is_deterministic(toy_set):
    a = tagging.train_tagger(_kv(True), toy_set, hidden_size=4, epochs=2, seed=3)
    b = tagging.train_tagger(_kv(True), toy_set, hidden_size=4, epochs=2, seed=3)
    assert a == b


def test_sweep_has_one_row_per_embedding_and_hidden_size(toy_set):
    df = tagging.hidden_size_sweep({"good": _kv(True), "zero": _kv(False)}, toy_set, [1, 4], progress=False, epochs=1)
    assert len(df) == 4 and set(df["hidden_size"]) == {1, 4} and set(df["task"]) == {"toy-pos"}
    with pytest.raises(ValueError, match="hidden_size and epochs must be >= 1"):
        tagging.train_tagger(_kv(True), toy_set, hidden_size=0)
