"""CADE: frozen compass, alignment by construction, planted shift, shift measures, bad inputs."""
import dataclasses
import hashlib

import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab import cade
from embedlab.cade import training

# no subsampling: with a 60-word vocabulary every word is "frequent" and sample=1e-3 would drop 70% of tokens
SMALL = cade.TrainingConfig(vector_size=24, window=3, negative=5, epochs=3, slice_epochs=3, min_count=3, sample=0, seed=0)


def topic_corpus(n_sentences=1500, n_topics=6, words_per_topic=10, length=8, seed=0, prefix="w"):
    """Sentences whose words come from one topic each: words of a topic share contexts."""
    rng = np.random.default_rng(seed)
    topics = [[f"{prefix}{t}_{i}" for i in range(words_per_topic)] for t in range(n_topics)]
    return [[str(w) for w in rng.choice(topics[rng.integers(n_topics)], size=length)] for _ in range(n_sentences)]


def markov_corpus(n_sentences=1500, n_words=60, length=10, seed=0):
    """Random walks where every word has its own three successors: each word has distinct contexts."""
    rng = np.random.default_rng(seed)
    successors = [rng.choice(n_words, size=3, replace=False) for _ in range(n_words)]
    out = []
    for _ in range(n_sentences):
        w = int(rng.integers(n_words))
        walk = [w]
        for _ in range(length - 1):
            w = int(rng.choice(successors[w]))
            walk.append(w)
        out.append([f"m{i}" for i in walk])
    return out


def topic_of(word):
    return word.split("_")[0]


@pytest.fixture(scope="module")
def corpus():
    return topic_corpus()


@pytest.fixture(scope="module")
def compass(corpus):
    return cade.train_compass({"a": corpus[:750], "b": corpus[750:]}, SMALL)


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# --------------------------------------------------------------------------- the frozen-context trainer

def test_frozen_context_matrix_is_bit_identical_after_training(corpus, compass):
    before = sha(compass.syn1neg)
    syn0 = training.initial_vectors(len(compass.wv), SMALL.vector_size, seed=5)
    start = syn0.copy()
    sampled = dataclasses.replace(SMALL, sample=1e-3)
    n = cade.train_frozen_context(syn0, compass.syn1neg, corpus, compass.wv.key_to_index, sampled, seed=5)
    twin = cade.train_word2vec(corpus, sampled, seed=0)
    effective, raw = twin.train(corpus, total_examples=len(corpus), epochs=SMALL.slice_epochs)
    assert raw == sum(map(len, corpus)) * SMALL.slice_epochs
    assert abs(n - effective) < 0.03 * effective < 0.5 * raw  # the same frequent-word subsampling as gensim
    assert sha(compass.syn1neg) == before                  # the compass did not move
    assert not np.allclose(syn0, start)                    # while the slice vectors did
    kv = cade.train_slice(corpus, compass, SMALL, seed=3)
    assert sha(compass.syn1neg) == before and len(kv) == len(compass.wv)


@pytest.mark.parametrize("counts", [[5, 0, 3, 0, 0, 1, 7], list(np.random.default_rng(1).zipf(1.3, 20000) % 5000)])
def test_negative_guide_finds_the_word_a_binary_search_finds(counts):
    # the kernel's negative draw: scan forward from guide[x >> shift] to the first cum_table entry above x
    _, cum = training.sampling_tables(np.asarray(counts), 1e-3, 0.75)
    guide, shift = training.negative_guide(cum)
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.integers(0, cum[-1], 20000), cum[:-1], np.maximum(cum.astype(np.int64) - 1, 0), [0]])
    xs = xs[xs < cum[-1]]
    for x in xs:
        t = guide[int(x) >> shift]
        assert t == 0 or cum[t - 1] <= x          # a lower bound of the answer
        while cum[t] <= x:
            t += 1
        assert t == np.searchsorted(cum, x, side="right") and counts[t] > 0


def test_slice_training_is_deterministic_per_seed(corpus, compass):
    def train(seed):
        syn0 = training.word_seeded_vectors(compass.wv.index_to_key, SMALL.vector_size, SMALL.seed)
        cade.train_frozen_context(syn0, compass.syn1neg, corpus[:300], compass.wv.key_to_index, SMALL, seed=seed)
        return syn0
    assert sha(train(4)) == sha(train(4)) != sha(train(5))


def test_train_all_leaves_the_compass_context_matrix_as_the_compass_trained_it(corpus):
    slices = {"a": corpus[:750], "b": corpus[750:]}
    models = cade.train_cade(slices, SMALL, progress=False)
    fresh = cade.train_compass(slices, SMALL)               # same seed: the compass as it left gensim
    assert sha(models.compass.syn1neg) == sha(fresh.syn1neg)


def test_slice_trainer_learns_the_topics(corpus, compass):
    kv = cade.train_slice(corpus, compass, SMALL, seed=1)
    same, other = [], []
    for w in kv.index_to_key[:30]:
        for v, sim in kv.most_similar(w, topn=len(kv) - 1):
            (same if topic_of(v) == topic_of(w) else other).append(sim)
    assert np.mean(same) > np.mean(other) + 0.3


def test_training_is_deterministic_and_independent_of_threads(corpus):
    slices = {"a": corpus[:750], "b": corpus[750:]}
    one = cade.train_all(slices, SMALL, progress=False, threads=1)
    two = cade.train_all(slices, SMALL, progress=False, threads=2)
    for method in cade.METHODS:
        for s in slices:
            assert one[method].vectors[s].index_to_key == two[method].vectors[s].index_to_key
            assert np.array_equal(one[method].vectors[s].vectors, two[method].vectors[s].vectors)


# --------------------------------------------------------------------------- alignment

def test_an_exact_copy_of_a_slice_gets_near_identical_cade_vectors():
    corpus = markov_corpus()
    models = cade.train_all({"a": corpus, "copy": [list(s) for s in corpus]}, SMALL, progress=False)
    words = cade.comparable_words(models["cade"], "a", "copy")
    assert len(words) == 60
    cade_sim = cade.cross_similarity(models["cade"], "a", "copy", words)
    raw_sim = cade.cross_similarity(models["unaligned"], "a", "copy", words)
    assert np.median(cade_sim) > 0.98 and cade_sim.min() > 0.9
    assert abs(np.median(raw_sim)) < 0.5                    # independent models are not aligned
    assert cade.self_retrieval(models["cade"], "a", "copy", words, words) > 0.95
    assert cade.self_retrieval(models["unaligned"], "a", "copy", words, words) < 0.2


def test_procrustes_recovers_a_rotation():
    words, x, x_rotated = rotated_pair(200, 16, seed=0)
    models = models_from({"a": x, "b": x_rotated}, words, method="procrustes")
    assert np.allclose(cade.cross_similarity(models, "a", "b", words), 1.0, atol=1e-4)
    unaligned = models.as_method("unaligned")
    assert np.mean(cade.cross_similarity(unaligned, "a", "b", words)) < 0.5


def rotated_pair(n: int, dim: int, seed: int):
    """Words w0.., random vectors for them, and the same vectors under a random rotation."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return [f"w{i}" for i in range(n)], x, (x @ q).astype(np.float32)


def models_from(matrices, words, method="cade", count=100):
    """SliceModels built directly from vectors (every word seen ``count`` times in every slice)."""
    vectors = {}
    for name, m in matrices.items():
        kv = KeyedVectors(m.shape[1])
        kv.add_vectors(words, m)
        vectors[name] = kv
    counts = {name: {w: count for w in words} for name in matrices}
    return training.SliceModels(method, vectors, counts, cade.TrainingConfig(min_count=1))


# --------------------------------------------------------------------------- shift measures

def test_shift_measures_rank_a_moved_word_first():
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(100)]
    x = rng.normal(size=(100, 20)).astype(np.float32)
    y = x + 0.05 * rng.normal(size=x.shape).astype(np.float32)
    y[7] = x[42] + 0.05 * rng.normal(size=20)                # w7 takes w42's place
    models = models_from({"a": x, "b": y}, words)
    scores = cade.shift_scores(models, "a", "b", k=10, k_nn=10)
    for measure in cade.MEASURES:
        assert scores[measure].idxmax() == "w7", measure
    top = cade.top_shifted(models, "a", "b", n=3, k=10)
    assert top["word"].iloc[0] == "w7" and "w42" in top["neighbours in b"].iloc[0]
    models.counts["a"]["w7"] = 20                            # now too rare to be ranked
    assert "w7" not in cade.top_shifted(models, "a", "b", n=3, k=10, rank_min_count=50)["word"].tolist()


def test_lncs_and_neighbour_overlap_ignore_rotations():
    words, x, x_rotated = rotated_pair(80, 12, seed=2)
    models = models_from({"a": x, "b": x_rotated}, words, method="unaligned")
    scores = cade.shift_scores(models, "a", "b", k=8, k_nn=20)
    assert np.allclose(scores["lncs"], 0, atol=1e-5) and np.allclose(scores["nn_intersection"], 0)
    assert scores["cosine_distance"].mean() > 0.5          # cosine needs the alignment


def test_neighbourhood_sizes_are_capped_to_the_vocabulary_and_the_full_ranking_has_every_word():
    words, x, x_rotated = rotated_pair(80, 12, seed=2)
    models = models_from({"a": x, "b": x_rotated}, words, method="unaligned")
    scores = cade.shift_scores(models, "a", "b")           # defaults: LNCS k=25, NN k=1000 > 79 other words
    assert scores.attrs["k_lncs"] == 25 and scores.attrs["k_nn"] == 79
    assert np.allclose(scores["nn_intersection"], 0)      # all other words are everyone's neighbours
    cade_like = dataclasses.replace(models, method="cade")
    full = cade.full_ranking({"cade": cade_like, "procrustes": models.as_method("procrustes")}, "a", "b", k=5, k_nn=10)
    assert len(full) == 80 and full["rank"].tolist() == list(range(1, 81))
    assert list(full.columns) == ["rank", "count_a", "count_b", "cade cosine distance", "cade LNCS distance",
                                  "cade NN-intersection distance", "procrustes cosine distance",
                                  "procrustes LNCS distance", "procrustes NN-intersection distance"]
    assert full["cade cosine distance"].is_monotonic_decreasing
    top = cade.top_shifted(cade_like, "a", "b", n=3)
    assert "cosine distance" in top.columns and "cosine" not in top.columns


def test_trajectories_cover_every_slice_and_mark_rare_words():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)]
    mats = {s: rng.normal(size=(30, 8)).astype(np.float32) for s in ("s1", "s2", "s3")}
    models = models_from(mats, words)
    models.counts["s2"]["w1"] = 0
    traj = cade.trajectories(models, ["w0", "w1"])
    assert len(traj) == 6 and traj.query("slice == 's1'")["similarity"].round(6).tolist() == [1.0, 1.0]
    assert np.isnan(traj.query("slice == 's2' and word == 'w1'")["similarity"].iloc[0])


def test_ranking_quality():
    scores = pd.Series([0.9, 0.8, 0.1, 0.2], index=["p1", "p2", "c1", "c2"])
    q = cade.ranking_quality(scores, ["p1", "p2"])
    assert q["ap"] == 1.0 and q["recall_at_k"] == 1.0 and q["chance_ap"] == 0.5
    q = cade.ranking_quality(-scores, ["p1", "p2"])
    assert q["ap"] < 0.5 and q["recall_at_k"] == 0.0


# --------------------------------------------------------------------------- planted shift

def test_plant_shift_moves_donor_occurrences_to_targets(corpus):
    slices = {"ref": corpus[:750], "new": corpus[750:]}
    planted_slices, planted = cade.plant_shift(slices, into="new", reference="ref", n_words=4, rate=0.5, seed=0,
                                               min_count=20, max_count=10_000)
    assert planted_slices["ref"] is slices["ref"]
    before, after = training.slice_counts(slices["new"]), training.slice_counts(planted_slices["new"])
    assert sum(before.values()) == sum(after.values())
    for r in planted.pairs.itertuples():
        assert after[r.target] == before[r.target] + r.replaced
        assert after[r.donor] == before[r.donor] - r.replaced
        assert 0.3 < r.replaced / before[r.donor] < 0.7
    untouched = set(before) - set(planted.pairs["target"]) - set(planted.pairs["donor"])
    assert all(before[w] == after[w] for w in untouched)
    assert set(planted.controls) == untouched and len(planted.targets) == 4
    again = cade.plant_shift(slices, into="new", reference="ref", n_words=4, rate=0.5, seed=0, min_count=20,
                             max_count=10_000)[1]
    assert again.pairs.equals(planted.pairs)


def test_planted_words_are_found_by_cade():
    ref, new = topic_corpus(2000, seed=1), topic_corpus(2000, seed=2)
    planted_slices, planted = cade.plant_shift({"ref": ref, "new": new}, into="new", reference="ref", n_words=4,
                                               rate=0.8, seed=1, min_count=20, max_count=10_000)
    models = cade.train_all(planted_slices, SMALL, progress=False, threads=2)
    table = cade.evaluate_planted(models, planted, k=8, k_nn=20).set_index(["method", "measure"])
    assert table.loc[("cade", "cosine_distance"), "ap"] > 0.8
    assert table.loc[("cade", "cosine_distance"), "ap"] > table.loc[("unaligned", "cosine_distance"), "ap"]


# --------------------------------------------------------------------------- diagnostics

def test_cbow_loglik_matches_a_direct_softmax():
    rng = np.random.default_rng(0)
    inputs, outputs = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    contexts, targets = [[0, 1], [2]], np.array([3, 4])
    got = cade.cbow_loglik(inputs, outputs, contexts, targets)
    for (ctx, t), g in zip(zip(contexts, targets), got):
        logits = outputs @ inputs[ctx].mean(0)
        assert np.isclose(g, logits[t] - np.log(np.exp(logits).sum()))


def test_our_hierarchical_softmax_score_is_gensims(corpus):
    cfg = dataclasses.replace(SMALL, hs=True, negative=0)
    model = cade.train_word2vec(corpus, cfg, seed=0)
    ours, n_words = cade.score_sentences(model.wv.vectors, model, corpus[:200])
    theirs = model.score(corpus[:200], total_sentences=200)
    assert np.allclose(ours, theirs, atol=1e-3) and (n_words == 8).all()


def test_hierarchical_softmax_slices_keep_the_compass_tree_and_matrix_and_twec_measures(corpus):
    cfg = dataclasses.replace(SMALL, hs=True, negative=0)
    train, test = cade.holdout({"a": corpus[:750], "b": markov_corpus(750)}, 0.2, seed=0)
    assert 100 < len(test["a"]) < 200 and len(train["a"]) + len(test["a"]) == 750
    train["b"] = train["b"] + corpus[:50]                  # a few shared words so both slices share a compass
    models = cade.train_cade(train, cfg, progress=False)
    fresh = cade.train_compass(train, cfg)
    assert sha(models.compass.syn1) == sha(fresh.syn1)    # the tree's inner vectors did not move
    table, per = cade.twec_heldout(models, test)
    t = table.set_index("slice")
    # each slice's text is far more likely under its own model: the posterior of the right slice is near 1
    assert (t["posterior_log_probability"] > -0.05).all() and (t["chance_log_probability"] == np.log(0.5)).all()
    assert (t["nll_cade"] < 0).all() and t.loc["b", "nll_cade"] > t.loc["b", "nll_compass"]
    assert set(per["a"].columns) >= {"n_words", "ll_a", "ll_b", "ll_compass", "posterior"}
    # the full input matrix reproduces the slice vectors
    full = cade.full_inputs(models, "a")
    kv = models.vectors["a"]
    assert np.array_equal(full[[models.compass.wv.key_to_index[w] for w in kv.index_to_key]], kv.vectors)


def test_slices_start_each_word_from_the_same_vector():
    a = cade.word_seeded_vectors(["x", "y", "z"], 16, seed=3)
    b = cade.word_seeded_vectors(["z", "x"], 16, seed=3)
    assert np.array_equal(a[0], b[1]) and np.array_equal(a[2], b[0])
    assert not np.array_equal(a[0], cade.word_seeded_vectors(["x"], 16, seed=4)[0])
    assert np.abs(a).max() <= 1 / 16 and abs(a.mean()) < 0.01


def test_alignment_quality_and_anisotropy(corpus):
    models = cade.train_all({"a": corpus[:750], "b": corpus[750:]}, SMALL, progress=False)
    q = cade.alignment_quality(models, [("a", "b")]).set_index("method")
    assert q.loc["cade", "mean_cosine"] > 0.8 > abs(q.loc["unaligned", "mean_cosine"])
    geo = cade.anisotropy(models["cade"])
    assert set(geo["slice"]) == {"a", "b"} and (geo["mean_pair_cosine"] < 0.5).all()
    same = dataclasses.replace(models["cade"], vectors={s: KeyedVectors(4) for s in "ab"})
    for s in "ab":                                          # every vector one direction: flagged as degenerate
        same.vectors[s].add_vectors(models["cade"].vectors[s].index_to_key,
                                    np.ones((len(models["cade"].vectors[s]), 4), dtype=np.float32))
    assert (cade.anisotropy(same)["mean_pair_cosine"] > 0.99).all()


def test_overlap_sweep_shrinks_the_shared_vocabulary():
    sents = topic_corpus(3000, n_topics=10, words_per_topic=20, seed=4)
    sweep = cade.overlap_sweep(sents, [1.0, 0.2], SMALL, probe_fraction=0.2, seed=0, progress=False, threads=2)
    assert len(sweep) == 6 and set(sweep["method"]) == set(cade.METHODS)
    jac = sweep.groupby("shared_fraction")["vocab_jaccard"].first()
    assert jac[1.0] > jac[0.2] > 0
    full = sweep.query("shared_fraction == 1.0").set_index("method")
    assert full.loc["cade", "probe_p_at_10"] > full.loc["unaligned", "probe_p_at_10"]


# --------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("slices, message", [
    ({"only": [["a", "b"]]}, "at least 2"),
    ({"a": [["x", "y"]] * 10, "empty": []}, "'empty' is empty"),
    ({"a": [["x", "y"]] * 10, "blank": [[]]}, "'blank' is empty"),
    ({"en": [["the", "cat"]] * 10, "tr": [["kedi", "ve"]] * 10}, "share no word"),
    ({"a": ["not", "tokenized"], "b": [["x"]]}, "tokenized sentences"),
])
def test_bad_slices_raise_clear_errors(slices, message):
    with pytest.raises(ValueError, match=message):
        cade.train_all(slices, SMALL, progress=False)


def test_bad_parameters_raise_clear_errors(corpus):
    with pytest.raises(ValueError, match="vector_size"):
        cade.TrainingConfig(vector_size=0)
    with pytest.raises(ValueError, match="unknown slice init 'zeros'; allowed: random, compass"):
        cade.TrainingConfig(init="zeros")
    with pytest.raises(ValueError, match="unknown method"):
        cade.train_all({"a": corpus, "b": corpus}, SMALL, methods=("cade", "twec"))
    models = models_from({"a": np.eye(4, dtype=np.float32), "b": np.eye(4, dtype=np.float32)}, list("wxyz"))
    with pytest.raises(ValueError, match="unknown slice 'c'; known slices: a, b"):
        cade.shift_scores(models, "a", "c")
    with pytest.raises(ValueError, match="unknown shift measure"):
        cade.top_shifted(models, "a", "b", measure="euclid")
    slices = {"a": corpus[:750], "b": corpus[750:]}
    with pytest.raises(ValueError, match="must differ"):
        cade.plant_shift(slices, into="a", reference="a")
    with pytest.raises(ValueError, match="rate"):
        cade.plant_shift(slices, into="b", reference="a", rate=1.5)
    with pytest.raises(ValueError, match="only .* words have"):
        cade.plant_shift(slices, into="b", reference="a", n_words=30, min_count=20, max_count=10_000)
    with pytest.raises(ValueError, match="unknown slice source 'news'"):
        cade.load_slices("news")
    with pytest.raises(ValueError, match="unknown Bible version"):
        cade.bible_slices(["kjv", "nrsv"])
    with pytest.raises(ValueError, match="list of version codes"):
        cade.bible_slices("kjv")
    with pytest.raises(ValueError, match="shared fractions"):
        cade.overlap_sweep(corpus, [0.0], SMALL)


def test_user_slices_from_a_folder(tmp_path):
    (tmp_path / "1990.txt").write_text("The cat sat on the mat. The dog sat too.\n", encoding="utf-8")
    (tmp_path / "2020.txt").write_text("The cat streams online. The dog posts.\n", encoding="utf-8")
    slices = cade.load_slices("user", path=str(tmp_path))
    assert list(slices) == ["1990", "2020"] and slices["1990"][0] == ["the", "cat", "sat", "on", "the", "mat"]
    with pytest.raises(ValueError, match="needs path"):
        cade.load_slices("user")
    extra = tmp_path.parent / f"{tmp_path.name}-more"
    extra.mkdir()
    (extra / "2050.txt").write_text("The cat thinks.\n", encoding="utf-8")
    assert list(cade.load_slices("user", path=[str(tmp_path), str(extra)])) == ["1990", "2020", "2050"]
    with pytest.raises(ValueError, match="'1990' appears in more than one source"):
        cade.load_slices("user", path=[str(tmp_path), str(tmp_path)])


# --------------------------------------------------------------------------- the study's Config

def test_config_checks_slice_names_and_ranges():
    from embedlab.study import ConfigError

    cfg = cade.Config()
    assert cfg.slice_names() == ["wyc", "kjv", "ylt", "asv", "web"] and cfg.nn_k == 1000 and cfg.lncs_k == 25
    assert cfg.training(hs=True, negative=0).hs and cfg.training().negative == 10
    for given, needle in [(dict(planted_slice="bbe"), "planted_slice"), (dict(planted_slice="kjv"), "other than"),
                          (dict(planted_min_count=50, planted_max_count=10), "planted_max_count"),
                          (dict(source="user"), "user_paths"), (dict(bible_versions=["kjv", "nrsv"]), "bible_versions"),
                          (dict(source="turkish", turkish_periods=[[1930, 1920]]), "turkish_periods")]:
        with pytest.raises(ConfigError, match=needle):
            cade.Config.build(**given)
    tr = cade.Config.build(source="turkish", planted_reference="1906-1922", planted_slice="modern",
                           overlap_slice="1906-1922", trace_reference="modern")
    assert tr.slice_names() == ["1906-1922", "1923-1938", "modern"]
