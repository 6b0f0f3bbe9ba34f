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


def test_average_precision_is_scikit_learns_also_under_bootstrap_weights_and_ties():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    for t in range(100):
        n = int(rng.integers(3, 50))
        y = rng.integers(0, 2, n)
        y[0] = 1
        s = rng.integers(0, 4, n).astype(float) if t % 2 else rng.normal(size=n)   # ties, or none
        assert np.isclose(cade.average_precision(y, s), average_precision_score(y, s))
        draw = rng.integers(0, n, n)
        w = np.bincount(draw, minlength=n)
        got = cade.weighted_ap(y, s, w[None, :])[0]
        assert np.isnan(got) if y[draw].sum() == 0 else np.isclose(got, average_precision_score(y[draw], s[draw]))


def planted_score_tables(seeds=3, n_planted=100, n_controls=400, seed=0):
    """Per training seed, a planted-score table: CADE and Procrustes find the planted words, LNCS and NN
    intersection less so, the unaligned cosine is noise."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n_planted), np.zeros(n_controls)].astype(int)
    words = [f"w{i}" for i in range(len(y))]
    out = []
    for _ in range(seeds):
        cols = {"planted": y}
        for method in cade.METHODS:
            for measure in cade.MEASURES:
                signal = 0.0 if method == "unaligned" and measure == "cosine_distance" else \
                    (2.0 if measure == "cosine_distance" else 0.7)
                cols[f"{method}/{measure}"] = signal * y + rng.normal(size=len(y))
        out.append(pd.DataFrame(cols, index=pd.Index(words, name="word")))
    return out


def test_planted_headlines_carry_seeds_and_the_unaligned_baseline_at_chance_is_as_expected():
    from embedlab.cade import results
    from embedlab.study import Results

    cfg = cade.Config(n_boot=200)
    r = Results("cade")
    results.planted_headlines(r, planted_score_tables(), cfg)
    heads = {h.key: h for h in r.headlines}
    unaligned = heads["planted/unaligned/cosine_distance/ap"]
    assert unaligned.expected and not unaligned.flags       # at chance, as it must be: no flag ...
    assert r.status == "ok", r.partial_reasons()             # ... and the run is not partial for it
    diff = heads["planted/cade-minus-procrustes/cosine_distance/ap"]
    assert diff.seeds == 3 and len(diff.per_seed) == 3 and diff.ci[0] <= diff.value <= diff.ci[1]
    assert heads["planted/cade-cosine-minus-independent-lncs/ap"].replicates   # 2.0 vs 0.7 signal: every seed
    assert all(h.seeds == 3 for h in r.headlines) and heads["planted/cade/cosine_distance/ap"].per_seed
    assert len(r.tables["planted_differences"]) == 7 and (r.tables["planted_eval"]["seeds"] == 3).all()
    # one seed: the paired item bootstrap, labelled as such
    one = Results("cade")
    results.planted_headlines(one, planted_score_tables(seeds=1), cfg)
    assert all(h.seeds == 1 for h in one.headlines) and "one training seed" in one.findings()[-1].lower()


def test_planted_intervals_are_the_seeded_hierarchical_bootstrap():
    from embedlab import stats
    from embedlab.cade import results

    cfg = cade.Config(n_boot=150)
    for seeds in (3, 1):
        tables = planted_score_tables(seeds=seeds, n_planted=30, n_controls=120)
        draws = results.ap_draws(tables, cfg)
        diffs = results.planted_differences(tables, draws).set_index(["a", "b"])
        y = tables[0]["planted"].to_numpy()
        want = stats.seeded_diff_ci([t["cade/cosine_distance"].to_numpy() for t in tables],
                                    [t["procrustes/lncs"].to_numpy() for t in tables],
                                    stat=lambda s, labels: cade.average_precision(labels, s), shared=(y,),
                                    n_boot=cfg.n_boot, seed=cfg.seed)
        got = diffs.loc[("CADE", "LNCS"), ["ci_low", "ci_high"]].to_numpy(dtype=float)
        assert np.allclose(got, want, rtol=0, atol=1e-12)


def test_twec_posterior_at_chance_is_explained_from_the_run_numbers():
    from embedlab.cade import results
    from embedlab.study import Reference, Results

    r = Results("cade")
    r.add_table("twec_heldout", pd.DataFrame({"slice": ["a", "b"], "nll_cade": [-2.5, -2.4]}))
    r.headline("twec/mean/posterior_log_probability", "TWEC", -0.7, (-0.72, -0.68), n=100,
               reference=Reference("chance", np.log(0.5)))
    r.headline("twec-hs/mean/posterior_log_probability", "HS", -0.1, (-0.12, -0.08), n=100,
               reference=Reference("chance", np.log(0.5)))
    results.explain_twec(r)
    (flag,) = r.flags
    assert "above every trained model here (normalised log-likelihood -2.50 to -2.40)" in flag.explanation
    assert "hierarchical-softmax extra's posterior log probability is -0.10 against chance -0.69" in flag.explanation


def test_an_unaligned_baseline_above_chance_is_flagged():
    from embedlab.cade import results
    from embedlab.study import Results

    tables = planted_score_tables()
    for t in tables:
        t["unaligned/cosine_distance"] = t["cade/cosine_distance"]
    r = Results("cade")
    results.planted_headlines(r, tables, cade.Config(n_boot=200))
    assert r.status == "partial" and any(f.key == "planted/unaligned/cosine_distance/ap" for f in r.flags)


def test_seeds_share_one_compass_and_train_different_slices(corpus):
    slices = {"a": corpus[:750], "b": corpus[750:]}
    base = cade.train_all(slices, SMALL, progress=False)
    runs = cade.train_seeds(slices, SMALL, [0, 1], progress=False, methods=("cade",), compass=base["cade"].compass)
    assert all(r["cade"].compass is base["cade"].compass for r in runs)
    assert np.array_equal(runs[0]["cade"].vectors["a"].vectors, base["cade"].vectors["a"].vectors)
    assert not np.array_equal(runs[1]["cade"].vectors["a"].vectors, runs[0]["cade"].vectors["a"].vectors)
    own = cade.train_seeds(slices, SMALL, [0, 1], progress=False)            # a compass per seed
    assert own[0]["cade"].compass is not own[1]["cade"].compass
    assert not np.array_equal(own[1]["unaligned"].vectors["b"].vectors, own[0]["unaligned"].vectors["b"].vectors)
    shared = cade.train_seeds(slices, SMALL, [0, 1], progress=False, methods=("cade",), compass="shared")
    assert shared[1]["cade"].compass is shared[0]["cade"].compass
    agree = cade.ranking_agreement([runs[0]["cade"], runs[0]["cade"]], [("a", "b")], n=5)
    assert agree["spearman_mean"].iloc[0] == pytest.approx(1.0) and agree["top_5_in_every_seed"].iloc[0] == 1.0
    assert cade.ranking_agreement([r["cade"] for r in runs], [("a", "b")], n=5)["spearman_mean"].iloc[0] < 1.0


# --------------------------------------------------------------------------- diagnostics

def test_cbow_loglik_matches_a_direct_softmax():
    rng = np.random.default_rng(0)
    inputs, outputs = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    contexts, targets = [[0, 1], [2]], np.array([3, 4])
    got = cade.cbow_loglik(inputs, outputs, contexts, targets)
    for (ctx, t), g in zip(zip(contexts, targets), got):
        logits = outputs @ inputs[ctx].mean(0)
        assert np.isclose(g, logits[t] - np.log(np.exp(logits).sum()))


def twec_ns_score(inputs, syn1neg, cum_table, sentence_ids, window, negative, next_random):
    """TWEC's fork's negative-sampling CBOW score of sentences, written out in NumPy (float64) from its
    ``score_pair_cbow_neg``: one stream of draws over the sentences; returns the scores and the final stream."""
    import bisect

    out = []
    for ids in sentence_ids:
        total = 0.0
        for i, word in enumerate(ids):
            ctx = [ids[m] for m in range(max(0, i - window), min(len(ids), i + window + 1)) if m != i]
            h = inputs[ctx].astype(np.float64).mean(axis=0) if ctx else np.zeros(inputs.shape[1])
            total += -np.logaddexp(0, -h @ syn1neg[word])
            for _ in range(negative):
                target = bisect.bisect_left(list(cum_table), (next_random >> 16) % int(cum_table[-1]))
                next_random = (next_random * 25214903917 + 11) & 281474976710655
                if target != word:
                    total += -np.logaddexp(0, h @ syn1neg[target]) / negative
        out.append(total)
    return np.array(out), next_random


def test_our_negative_sampling_score_is_twecs(corpus):
    model = cade.train_word2vec(corpus, SMALL, seed=0)
    counts = np.array([model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key])
    # the model's own negative table, as gensim built it
    assert np.array_equal(training.sampling_tables(counts, 0.0, SMALL.ns_exponent)[1], model.cum_table)
    sents = [s[: 1 + i % 8] for i, s in enumerate(corpus[:40])] + [["w0_1", "not-a-word", "w0_2"]]
    ours, n_words = cade.score_sentences(model.wv.vectors, model.syn1neg, counts, model.wv.key_to_index, sents,
                                         window=3, negative=SMALL.negative, seed=7)
    ids = [[model.wv.key_to_index[t] for t in s if t in model.wv.key_to_index] for s in sents]
    start = (7 * 0x9E3779B1 + 12345) & 281474976710655
    theirs, _ = twec_ns_score(model.wv.vectors, model.syn1neg, model.cum_table, ids, 3, SMALL.negative, start)
    assert np.allclose(ours, theirs, rtol=1e-5, atol=1e-4) and n_words.tolist() == [len(i) for i in ids]
    assert ours[0] < 0 and n_words[0] == 1                  # one word, no context: scored against a zero vector


def test_our_hierarchical_softmax_score_is_gensims(corpus):
    cfg = dataclasses.replace(SMALL, hs=True, negative=0)
    model = cade.train_word2vec(corpus, cfg, seed=0)
    ours, n_words = cade.score_sentences_hs(model.wv.vectors, model, corpus[:200])
    theirs = model.score(corpus[:200], total_sentences=200)
    assert np.allclose(ours, theirs, atol=1e-3) and (n_words == 8).all()


def test_twec_heldout_scores_the_negative_sampling_models(corpus):
    # the same words in both slices, grouped into topics differently: each slice's co-occurrences are its own
    regrouped = [[f"w{(int(w[1]) + int(w[3])) % 6}_{w[3]}" for w in s] for s in topic_corpus(750, seed=5)]
    train, test = cade.holdout({"a": corpus[:750], "b": regrouped}, 0.2, seed=0)
    assert 100 < len(test["a"]) < 200 and len(train["a"]) + len(test["a"]) == 750
    models = cade.train_cade(train, SMALL, progress=False)
    table, per = cade.twec_heldout(models, test)
    t = table.set_index("slice")
    # each slice's text scores far higher under its own model: the posterior of the right slice is near 1
    assert (t["posterior_log_probability"] > -0.05).all() and (t["chance_log_probability"] == np.log(0.5)).all()
    assert (t["nll_cade"] < 0).all() and (t["nll_cade"] > t["nll_compass"]).all() and (t["scored_share"] == 1).all()
    assert set(per["a"].columns) >= {"n_words", "ll_a", "ll_b", "ll_compass", "posterior"}
    again, _ = cade.twec_heldout(models, test, threads=2)
    assert again.equals(table)                             # the negatives come from one seeded stream
    # the hierarchical-softmax extra: the compass's tree and inner vectors stay frozen; same measures
    hs_cfg = dataclasses.replace(SMALL, hs=True, negative=0)
    hs = cade.train_cade(train, hs_cfg, progress=False)
    assert sha(hs.compass.syn1) == sha(cade.train_compass(train, hs_cfg).syn1)
    hs_table = cade.heldout_hs(hs, test)[0].set_index("slice")
    assert (hs_table["posterior_log_probability"] > -0.05).all() and (hs_table["nll_cade"] < 0).all()
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
    assert cfg.seeds >= 3 and cfg.n_planted >= 100   # enough seeds and planted pairs to tell the methods apart
    assert cfg.training(negative=5).negative == 5 and cfg.training().negative == 10
    for given, needle in [(dict(planted_slice="bbe"), "planted_slice"), (dict(planted_slice="kjv"), "other than"),
                          (dict(planted_min_count=50, planted_max_count=10), "planted_max_count"),
                          (dict(source="user"), "user_paths"), (dict(bible_versions=["kjv", "nrsv"]), "bible_versions"),
                          (dict(source="turkish", turkish_periods=[[1930, 1920]]), "turkish_periods")]:
        with pytest.raises(ConfigError, match=needle):
            cade.Config.build(**given)
    tr = cade.Config.build(source="turkish", planted_reference="1906-1922", planted_slice="modern",
                           overlap_slice="1906-1922", trace_reference="modern")
    assert tr.slice_names() == ["1906-1922", "1923-1938", "modern"]
