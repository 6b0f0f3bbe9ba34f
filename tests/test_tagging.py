"""BiLSTM tagger over frozen embeddings on a toy set: it learns when the embedding separates the tags,
cannot when it does not, is deterministic, and the hidden-size sweep has one row per configuration."""
import numpy as np
import pytest
from gensim.models import KeyedVectors

from embedlab import evalsets
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


@pytest.mark.slow
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


def test_majority_tag_baseline_by_hand():
    train = [(["the", "saw", "saw"], ["DET", "NOUN", "VERB"]), (["a", "saw"], ["DET", "NOUN"]),
             (["dogs", "run"], ["NOUN", "VERB"])]
    test = [(["The", "saw", "cats"], ["DET", "VERB", "NOUN"]), (["run", "zzz"], ["VERB", "VERB"])]
    ts = TaggingSet("toy", "en", "toy", train, train[:1], test)
    res = tagging.majority_tag_baseline(ts, per_token=True)
    # the->DET (case folded), saw->NOUN (2 of 3), cats/zzz unseen -> global majority NOUN (3 of 7), run->VERB
    assert res["per_token"]["predicted"].tolist() == ["DET", "NOUN", "NOUN", "VERB", "NOUN"]
    assert res["accuracy"] == pytest.approx(3 / 5) and res["unseen_rate"] == pytest.approx(2 / 5)
    assert np.isnan(res["oov_rate"]) and res["per_token"]["position"].tolist() == [0, 1, 2, 0, 1]
    sent = tagging.sentence_accuracy(res["per_token"])
    assert sent["tokens"].tolist() == [3, 2] and sent["correct"].tolist() == [2, 1]


def test_sweep_majority_row_and_per_token_agree_with_accuracy(toy_set):
    table, tokens = tagging.hidden_size_sweep({"good": _kv(True)}, toy_set, [4], progress=False, epochs=2,
                                              majority=True, per_token=True)
    assert table["embedding"].tolist() == [tagging.MAJORITY, "good"] and table["hidden_size"].tolist() == [0, 4]
    for (emb, _), g in tokens.groupby(["embedding", "hidden_size"]):
        row = table[table["embedding"] == emb].iloc[0]
        assert len(g) == row["test_tokens"] and g["correct"].mean() == pytest.approx(row["accuracy"])
    # the toy words are unambiguous: the majority-tag reference is perfect, all test words seen in training
    maj = table.iloc[0]
    assert maj["accuracy"] == 1.0 and maj["unseen_rate"] == 0.0


def test_held_out_sentences_and_mask():
    train = [(["Ev", "güzel", "."], ["NOUN", "ADJ", "PUNCT"])]
    test = [(["Kedi", "evde", "uyudu", "."], ["NOUN", "NOUN", "VERB", "PUNCT"]), (["Evet"], ["INTJ"])]
    ts = TaggingSet("pos-toy", "tr", "toy", train, train, test,
                    sources={"test": [("s7", "Kedi evde uyudu."), ("s8", "Evet")], "dev": [("s1", "Ev güzel.")]})
    held = evalsets.held_out_sentences(ts, ["test"])
    assert held["sent_id"].tolist() == ["s7", "s8"] and held["tokens"].iloc[0] == ("kedi", "evde", "uyudu")
    corpus = [["kedi", "evde", "uyudu"], ["evet"], ["ev", "güzel"], ["başka", "bir", "cümle"]]
    assert evalsets.held_out_mask(corpus, held).tolist() == [True, False, False, False]   # "evet": too short
    ids = ["x", "s8", "s1", "y"]
    assert evalsets.held_out_mask(corpus, held, sent_ids=ids).tolist() == [True, True, False, False]
    no_src = TaggingSet("pos-toy", "tr", "toy", train, train, test)
    assert evalsets.held_out_sentences(no_src)["text"].tolist()[-2:] == ["Kedi evde uyudu .", "Evet"]


def test_packed_taggers_learn_as_each_would_alone(toy_set):
    kw = dict(epochs=3, lr=0.01, dropout=0.0, seed=2)
    together = tagging.train_taggers(_kv(True), toy_set, [1, 4, 8], per_token=True, **kw)
    for h, got in zip([1, 4, 8], together):
        alone = tagging.train_tagger(_kv(True), toy_set, hidden_size=h, per_token=True, **kw)
        agree = (got["per_token"]["predicted"] == alone["per_token"]["predicted"]).mean()
        assert agree > 0.98 and abs(got["accuracy"] - alone["accuracy"]) < 0.02


def test_sweep_in_worker_processes_equals_the_sweep_here(toy_set):
    embs = {"good": _kv(True), "zero": _kv(False)}
    here = tagging.hidden_size_sweep(embs, toy_set, [2, 4], progress=False, epochs=1, seeds=[0, 1], workers=1)
    there = tagging.hidden_size_sweep(embs, toy_set, [2, 4], progress=False, epochs=1, seeds=[0, 1], workers=2)
    assert len(here) == 8 and list(here["seed"]) == [0, 0, 1, 1] * 2
    assert here.equals(there)
