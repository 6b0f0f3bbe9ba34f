"""The trained-results cache (embedlab.memo): keys by content and code, reuse, off switch, corrupt entries."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab import embedcache, memo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_EMBEDDING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EMBEDLAB_TRAINED_CACHE", "on")
    memo.STATS.clear()
    return tmp_path / "cache"


def _kv(vectors):
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors([f"w{i}" for i in range(len(vectors))], vectors)
    return kv


@dataclasses.dataclass
class _Cfg:
    lr: float
    words: list


def test_digest_follows_content_not_identity():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    corpus = [["a", "b"], ["c"]]
    frame = pd.DataFrame({"x": [1, 2], "y": ["p", "q"]})
    base = memo.digest(a, corpus, frame, _kv(a), _Cfg(0.1, ["u"]), {"k": {1, 2}})
    assert base == memo.digest(a.copy(), [list(s) for s in corpus], frame.copy(), _kv(a.copy()), _Cfg(0.1, ["u"]),
                               {"k": {2, 1}})
    b = a.copy()
    b[2, 3] += 1
    changed = [memo.digest(b, corpus, frame, _kv(a), _Cfg(0.1, ["u"]), {"k": {1, 2}}),
               memo.digest(a, [["a", "b"], ["d"]], frame, _kv(a), _Cfg(0.1, ["u"]), {"k": {1, 2}}),
               memo.digest(a, corpus, frame.assign(y=["p", "r"]), _kv(a), _Cfg(0.1, ["u"]), {"k": {1, 2}}),
               memo.digest(a, corpus, frame, _kv(b), _Cfg(0.1, ["u"]), {"k": {1, 2}}),
               memo.digest(a, corpus, frame, _kv(a), _Cfg(0.2, ["u"]), {"k": {1, 2}}),
               memo.digest(a, corpus, frame, _kv(a), _Cfg(0.1, ["u"]), {"k": {1, 3}})]
    assert len({base, *changed}) == 7
    # a string is not a one-word corpus, a float is not an int
    assert memo.digest(["ab"]) != memo.digest([["ab"]]) and memo.digest(1) != memo.digest(1.0)


def test_digest_refuses_what_it_cannot_hash():
    with pytest.raises(TypeError, match="cannot hash a object"):
        memo.digest(object())


def test_cached_trains_once_and_reuses(cache):
    calls = []

    def train():
        calls.append(1)
        return {"table": np.random.default_rng(len(calls)).normal(size=(3, 2)), "note": "trained"}

    first = memo.cached("toy", {"seed": 0, "corpus": [["a"]]}, train)
    again = memo.cached("toy", {"seed": 0, "corpus": [["a"]]}, train)
    assert len(calls) == 1 and np.array_equal(first["table"], again["table"]) and again["note"] == "trained"
    memo.cached("toy", {"seed": 1, "corpus": [["a"]]}, train)          # another seed: trained
    memo.cached("other", {"seed": 0, "corpus": [["a"]]}, train)        # another kind: trained
    assert len(calls) == 3
    assert memo.STATS["toy reused"] == 1 and memo.STATS["toy trained"] == 2
    n, size = embedcache.size()
    assert n == 3 and size > 0


def test_a_code_change_trains_again(cache, monkeypatch):
    calls = []
    memo.cached("toy", {"seed": 0}, lambda: calls.append(1) or 1)
    monkeypatch.setattr(memo, "code_version", lambda: "another version of the code")
    memo.cached("toy", {"seed": 0}, lambda: calls.append(1) or 1)
    assert len(calls) == 2


def test_code_version_covers_every_source_file_and_the_numeric_packages():
    memo.code_version.cache_clear()
    v = memo.code_version()
    assert len(v) == 64 and v == memo.code_version()
    from embedlab.provenance import TRACKED_PACKAGES
    assert {"numpy", "torch", "gensim", "scikit-learn"} <= set(TRACKED_PACKAGES)


@pytest.mark.parametrize("switch", ["EMBEDLAB_EMBEDDING_CACHE", "EMBEDLAB_TRAINED_CACHE"])
def test_off_switches_always_train(cache, monkeypatch, switch):
    monkeypatch.setenv(switch, "off")
    calls = []
    for _ in range(2):
        memo.cached("toy", {"seed": 0}, lambda: calls.append(1) or 1)
    assert len(calls) == 2 and not memo.STATS["toy reused"]


def test_a_changed_entry_is_refused_and_trained_again(cache):
    calls = []
    memo.cached("toy", {"seed": 0}, lambda: calls.append(1) or [1, 2, 3])
    (entry,) = embedcache.entries()
    (entry / memo.TREE).write_bytes(b"not what was written")
    with pytest.warns(UserWarning, match="refused"):
        assert memo.cached("toy", {"seed": 0}, lambda: calls.append(1) or [1, 2, 3]) == [1, 2, 3]
    assert len(calls) == 2


def test_static_models_come_from_the_cache_the_second_time(cache):
    from embedlab.static_vs_contextual import Config
    from embedlab.static_vs_contextual.steps import train_static_jobs

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["a", "dog", "sat", "on", "a", "log"]] * 30
    cfg = Config(static_models=["w2v-cbow"], min_count=1, static_dim=8, static_epochs=2)
    first = train_static_jobs(sentences, cfg, [("w2v-cbow", 0)])[("w2v-cbow", 0)][0]
    again = train_static_jobs(sentences, cfg, [("w2v-cbow", 0)])[("w2v-cbow", 0)][0]
    assert memo.STATS["static model trained"] == 1 and memo.STATS["static model reused"] == 1
    assert first.index_to_key == again.index_to_key and np.array_equal(first.vectors, again.vectors)
    other = train_static_jobs(sentences[:-2], cfg, [("w2v-cbow", 0)])       # another corpus: trained
    assert memo.STATS["static model trained"] == 2 and other


def test_tagger_sweep_reuses_each_embedding_and_seed(cache):
    from embedlab.evalsets.tagging import TaggingSet
    from embedlab.evaluate.tagging import hidden_size_sweep

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(12)]
    sent = lambda k: ([words[(k + j) % 12] for j in range(5)], ["N" if (k + j) % 2 else "V" for j in range(5)])  # noqa: E731
    ts = TaggingSet("toy", "en", "upos", [sent(k) for k in range(20)], [sent(1)], [sent(k) for k in range(3)])
    embs = {"a": _kv(rng.normal(size=(12, 4)).astype(np.float32)), "b": _kv(rng.normal(size=(12, 4)).astype(np.float32))}
    for i, e in enumerate(embs.values()):
        e.index_to_key = list(words)
        e.key_to_index = {w: j for j, w in enumerate(words)}
    first = hidden_size_sweep(embs, ts, [2, 3], progress=False, seeds=[0, 1], workers=1, epochs=1)
    assert memo.STATS["tagger trained"] == 4 and not memo.STATS["tagger reused"]
    again = hidden_size_sweep(embs, ts, [2, 3], progress=False, seeds=[0, 1], workers=1, epochs=1)
    assert memo.STATS["tagger reused"] == 4
    pd.testing.assert_frame_equal(first, again)
    embs["b"].vectors[0, 0] += 1.0                      # one embedding changed: only its two jobs train again
    hidden_size_sweep(embs, ts, [2, 3], progress=False, seeds=[0, 1], workers=1, epochs=1)
    assert memo.STATS["tagger trained"] == 6 and memo.STATS["tagger reused"] == 6


def test_stored_values_come_back_exactly_without_pickle(cache):
    from gensim.models import FastText

    from embedlab.x2static import X2StaticStats

    frame = pd.DataFrame({"word": ["a", None, "ç"], "n": [1, 2, 3], "x": [0.5, np.nan, 2.0],
                          "flag": [True, False, True], "opt": pd.array([1, None, 3], dtype="Int64"),
                          "cat": pd.Categorical(["u", "v", "u"])}, index=["r1", "r2", "r3"])
    ft = FastText([["kedi", "köpek", "kuş"], ["kedi", "balık"]] * 20, vector_size=8, min_count=1, epochs=1, seed=0,
                  workers=1, bucket=1000).wv
    value = {(3, 64): np.arange(4.0), "stats": X2StaticStats(np.arange(3), np.zeros(3, np.int64), [0.5, 0.25], 2.0,
                                                             10, 1.5, 7, 1),
             "rows": [{"per_token": frame, "f1": np.float64(0.75), "nan": float("nan"), "t": ("a", 1)}],
             "kv": ft, "series": pd.Series([1.5, 2.5], name="s")}
    memo.cached("toy", {"seed": 0}, lambda: value)
    got = memo.cached("toy", {"seed": 0}, lambda: pytest.fail("trained again"))
    (entry,) = embedcache.entries()
    assert not [p for p in entry.rglob("*") if p.suffix in (".pkl", ".pickle")]
    assert np.array_equal(got[(3, 64)], value[(3, 64)]) and got["stats"].losses == [0.5, 0.25]
    assert np.array_equal(got["stats"].updates, np.arange(3)) and got["stats"].n_sentences == 7
    pd.testing.assert_frame_equal(got["rows"][0]["per_token"], frame)
    assert got["rows"][0]["f1"] == 0.75 and np.isnan(got["rows"][0]["nan"]) and got["rows"][0]["t"] == ("a", 1)
    pd.testing.assert_series_equal(got["series"], value["series"])
    kv = got["kv"]
    assert kv.index_to_key == ft.index_to_key and np.array_equal(kv.vectors, ft.vectors)
    assert np.array_equal(kv.get_vector("kediler"), ft.get_vector("kediler"))    # out of vocabulary: n-grams


def test_an_entry_naming_a_class_outside_embedlab_is_refused(cache, tmp_path):
    with pytest.raises(ValueError, match="outside embedlab"):
        memo._decode({"__dc": "os:system", "fields": {}}, tmp_path)
