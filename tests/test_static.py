"""Trained static models (gensim word2vec/fastText, official fastText) and the shared vocabulary (the study's
own tests are in tests/test_static_vs_contextual.py)."""
import numpy as np
import pytest
from gensim.models import KeyedVectors

from embedlab import static

ANIMALS, TOOLS = [f"cat{i}" for i in range(40)], [f"saw{i}" for i in range(40)]


@pytest.fixture(scope="module")
def toy_corpus():
    """Two topics that share no context word: animals with eat-verbs, tools with cut-verbs."""
    rng = np.random.default_rng(0)
    eat, cut = [f"eat{i}" for i in range(20)], [f"cut{i}" for i in range(20)]
    sents = []
    for _ in range(3000):
        nouns, verbs = (ANIMALS, eat) if rng.random() < 0.5 else (TOOLS, cut)
        sents.append([str(w) for w in (rng.choice(nouns), rng.choice(verbs), rng.choice(nouns), "and",
                                       rng.choice(verbs), rng.choice(nouns))])
    return sents


def _purity(kv) -> float:
    """Share of the 80 nouns whose nearest neighbour (centred cosine) is of the same topic."""
    x = kv[ANIMALS + TOOLS]
    x = x - x.mean(0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    return float(np.mean((sim.argmax(1) < 40) == (np.arange(80) < 40)))


@pytest.mark.parametrize("model", list(static.STATIC_MODELS))
def test_each_model_trains_and_learns_the_topics(model, toy_corpus):
    kv = static.train_static(model, toy_corpus, seed=1, vector_size=16, epochs=5, bucket=5000)
    assert set(ANIMALS + TOOLS) <= set(kv.key_to_index) and kv.vector_size == 16
    assert _purity(kv) > 0.9


@pytest.mark.parametrize("model", list(static.STATIC_MODELS))
def test_models_are_deterministic_for_a_seed(model, toy_corpus):
    a = static.train_static(model, toy_corpus, seed=1, vector_size=16, epochs=2, bucket=5000)
    b = static.train_static(model, toy_corpus, seed=1, vector_size=16, epochs=2, bucket=5000)
    c = static.train_static(model, toy_corpus, seed=2, vector_size=16, epochs=2, bucket=5000)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)


def test_unknown_model_empty_corpus_and_bad_hyperparameter_fail_early(toy_corpus):
    with pytest.raises(ValueError, match="unknown static model.*allowed: w2v-cbow, w2v-sg, fasttext"):
        static.train_static("glove", toy_corpus)
    with pytest.raises(ValueError, match="empty corpus"):
        static.train_static("w2v-cbow", [[], []])
    with pytest.raises(ValueError, match="unknown hyperparameter.*allowed: vector_size"):
        static.train_static("w2v-cbow", toy_corpus, dims=10)


def test_shared_vocabulary_frequency_order_min_count_and_included_words():
    sents = [["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"] * 1]
    assert static.shared_vocabulary(sents, max_size=2, min_count=2) == ["a", "b"]
    assert static.shared_vocabulary(sents, 2, 2, include={"d", "e", "zzz"}) == ["a", "b", "d"]
    assert static.shared_vocabulary(sents, 2, 1, include={"d", "e"}, max_include=1) == ["a", "b", "d"]


def test_restrict_all_keeps_the_common_words_in_vocabulary_order(toy_corpus):
    ft = static.train_fasttext(toy_corpus, vector_size=8, epochs=1, bucket=1000)
    kv = KeyedVectors(4)
    kv.add_vectors(["cat2", "cat1", "and"], np.eye(3, 4, dtype=np.float32))
    out = static.restrict_all({"ft": ft, "kv": kv}, ["and", "cat1", "cat2", "saw1", "unseen"])
    assert out["ft"].index_to_key == out["kv"].index_to_key == ["and", "cat1", "cat2"]
    np.testing.assert_array_equal(out["kv"]["cat1"], kv["cat1"])
    oov = static.restrict(ft, ["cat1", "unseenword"])          # fastText builds OOV vectors from n-grams
    assert oov.index_to_key == ["cat1", "unseenword"]
    with pytest.raises(ValueError, match="lacks 1 of the 2"):
        static.restrict(kv, ["cat1", "saw1"], "kv")


def test_static_models_two_at_a_time_equal_each_trained_alone(toy_corpus):
    from embedlab.static_vs_contextual import Config, steps

    cfg = Config(static_models=list(static.STATIC_MODELS), static_epochs=2, static_dim=20, min_count=1)
    jobs = [(m, s) for m in static.STATIC_MODELS for s in (0, 1)]
    together = steps.train_static_jobs(toy_corpus[:800], cfg, jobs)
    assert list(together) == jobs and all(sec > 0 for _, sec in together.values())
    for m, s in jobs:
        alone = static.train_static(m, toy_corpus[:800], seed=s, **steps.static_hyper(cfg))
        np.testing.assert_array_equal(together[(m, s)][0].vectors, alone.vectors)
