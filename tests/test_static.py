"""Trained static models (gensim word2vec/fastText, official fastText), the shared vocabulary, and the
study's parameter checks."""
import numpy as np
import pytest
from gensim.models import KeyedVectors

from embedlab import assets, evalsets, static
from embedlab import static_vs_contextual as svc

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


def _cfg(**kw):
    base = dict(language="tr", corpora=["tr-treebank"], encoders=["minilm"], methods=["decontext-cls"], layers=[-1])
    return svc.StudyConfig(**{**base, **kw})


def test_study_parameters_are_checked_before_any_work():
    assert _cfg().language == "tr"
    cases = [({"language": "de"}, "unknown language 'de'; allowed: tr, hu, mr, en"),
             ({"encoders": ["bert"]}, "unknown encoder.*allowed: e5-small, minilm"),
             ({"methods": ["mean"]}, "unknown extraction method.*allowed: decontext-cls"),
             ({"corpora": ["wiki"]}, "unknown corpus.*allowed: bible-kjv"),
             ({"corpora": []}, "no corpus given"),
             ({"static_models": ["glove"]}, "unknown static model"),
             ({"tagging_tasks": ["chunking"]}, "unknown tagging task.*allowed: pos, ner"),
             ({"language": "en", "analogy_sets": ["treebank"]}, "no treebank for analogy mining in language 'en'"),
             ({"classification_sets": ["mahanews"]}, "'mahanews' is not in language 'tr'"),
             ({"hidden_sizes": [0, 4]}, "hidden sizes must be >= 1"),
             ({"similarity_sets": ["mr-gloss-synonyms"]}, "'mr-gloss-synonyms' is Marathi; the study language is 'tr'")]
    for kw, message in cases:
        with pytest.raises(ValueError, match=message):
            _cfg(**kw)


def test_unavailable_evaluation_sets_are_skipped_and_reported_or_fail(monkeypatch):
    def offline(*args, **kwargs):
        raise assets.AssetUnavailable("could not download https://example.org/ud.conllu: ConnectionError")

    monkeypatch.setattr(evalsets, "pos_tagging", offline)
    monkeypatch.setattr(evalsets, "treebank_analogies", offline)
    cfg = _cfg(language="hu", corpora=["bible-hu"], analogy_sets=["treebank"], tagging_tasks=["pos"],
               classification_sets=["bible-testament"])
    with pytest.warns(UserWarning, match="tagging set 'pos' skipped: could not download"):
        sets = svc.evaluation_sets(cfg)
    assert sets["analogy"] == {} and sets["tagging"] == {}
    assert list(sets["classification"]) == ["bible-testament"]          # the offline set is still there
    assert set(sets["unavailable"]) == {"analogy:treebank", "tagging:pos"}
    table = svc.describe_sets(sets)
    skipped = table[table["size"] == "unavailable"]
    assert sorted(skipped["set"]) == ["pos", "treebank"]
    assert skipped["notes"].str.contains("EMBEDLAB_MIRROR").all()
    with pytest.raises(assets.AssetUnavailable, match="could not download"):
        svc.evaluation_sets(_cfg(language="hu", corpora=["bible-hu"], tagging_tasks=["pos"], missing_sets="fail"))
    with pytest.raises(ValueError, match="unknown missing_sets 'ignore'; allowed: skip, fail"):
        _cfg(missing_sets="ignore")


def test_tsne_words_fall_back_to_each_labels_characteristic_words():
    import pandas as pd

    from embedlab.evalsets.classification import TextClassificationSet

    train = pd.DataFrame({"text": ["lion roars at the tiger"] * 6 + ["the ship sails the sea"] * 6 + ["the lion"],
                          "label": ["animals"] * 6 + ["sea"] * 6 + ["sea"]})
    ds = TextClassificationSet(train, train.head(2), "toy", "en", ["animals", "sea"])
    sets = {"analogy": {}, "tagging": {}, "classification": {"toy": ds}}
    words = svc.tsne_words(sets, ["lion", "roars", "tiger", "ship", "sails", "sea", "the", "at"], per_category=2)
    # 'the' is everywhere and 'lion' also occurs under 'sea': neither characterises a label; ties go alphabetically
    assert words == {"at": "animals", "roars": "animals", "sails": "sea", "sea": "sea"}
