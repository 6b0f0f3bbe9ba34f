"""Analogy evaluation: agreement with gensim's most_similar / most_similar_cosmul / evaluate_word_analogies,
MRR and coverage by hand, the same-question restriction, and questions mined from a toy treebank."""
import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab import evalsets
from embedlab.evaluate import analogy


@pytest.fixture(scope="module")
def kv_and_questions():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(400)]
    vecs = rng.normal(size=(400, 24)).astype(np.float32)
    offset = rng.normal(size=24).astype(np.float32)
    for i in range(0, 80, 2):                          # planted pairs: w(i+1) = w(i) + offset + noise
        vecs[i + 1] = vecs[i] + offset + 0.8 * rng.normal(size=24)
    kv = KeyedVectors(24)
    kv.add_vectors(words, vecs)
    pairs = [(f"w{i}", f"w{i + 1}") for i in range(0, 80, 2)]
    rows = [(a, b, c, d, "planted" if k % 2 else "other") for k, (a, b) in enumerate(pairs)
            for (c, d) in pairs[:12] if c != a]
    rows += [("w1", "w2", "nope", "w3", "other")]      # one unanswerable question
    return kv, pd.DataFrame(rows, columns=["a", "b", "c", "d", "category"])


def test_predictions_equal_gensim_most_similar_and_cosmul(kv_and_questions):
    kv, q = kv_and_questions
    ranks = analogy.analogy_ranks(kv, q, eps=1e-6)             # gensim's 3CosMul epsilon
    for method, fn in (("3cosadd", kv.most_similar), ("3cosmul", kv.most_similar_cosmul)):
        r = ranks[ranks["method"] == method].reset_index(drop=True)
        for i in range(0, len(q) - 1, 7):
            a, b, c, d = q.loc[i, ["a", "b", "c", "d"]]
            top = [w for w, _ in fn(positive=[b, c], negative=[a], topn=len(kv))]
            assert r.loc[i, "predicted"] == top[0]
            assert r.loc[i, "rank"] == top.index(d) + 1
    assert not ranks.iloc[len(q) - 1]["answered"]


def test_chunked_search_equals_one_chunk_and_gensim(kv_and_questions):
    kv, q = kv_and_questions
    whole = analogy.analogy_ranks(kv, q, eps=1e-6, chunk_size=len(kv))
    for size in (1, 37, 128):
        part = analogy.analogy_ranks(kv, q, eps=1e-6, chunk_size=size)
        pd.testing.assert_frame_equal(part, whole)
    r = whole[whole["method"] == "3cosadd"].reset_index(drop=True)
    for i in range(3, len(q) - 1, 23):
        a, b, c, d = q.loc[i, ["a", "b", "c", "d"]]
        top = [w for w, _ in kv.most_similar(positive=[b, c], negative=[a], topn=len(kv))]
        assert (r.loc[i, "predicted"], r.loc[i, "rank"]) == (top[0], top.index(d) + 1)


def test_cosmul_epsilon_is_a_parameter_that_can_flip_the_answer():
    # "near" = -a: s(near, a) = 0, so its score s_b s_c / eps = 0.025^2 / eps grows without bound as eps -> 0;
    # "far" is orthogonal to a (s_a = 0.5) with s_b s_c = 0.656^2. eps = 1e-6: near 625 vs far 0.86;
    # Levy & Goldberg's eps = 0.001: near 0.62 vs far 0.86.
    kv = KeyedVectors(3)
    vecs = {"a": [1, 0, 0], "b": [0.95, 0.312, 0], "c": [0.95, 0.312, 0], "near": [-1, 0, 0], "far": [0, 1, 0]}
    kv.add_vectors(list(vecs), np.array(list(vecs.values()), np.float32))
    q = pd.DataFrame([("a", "b", "c", "far", "x")], columns=["a", "b", "c", "d", "category"])
    assert analogy.COSMUL_EPS == 1e-3
    lg = analogy.analogy_ranks(kv, q, ["3cosmul"]).iloc[0]
    gs = analogy.analogy_ranks(kv, q, ["3cosmul"], eps=1e-6).iloc[0]
    assert lg["predicted"] == "far" and lg["correct"] and lg["rank"] == 1
    assert gs["predicted"] == "near" and not gs["correct"] and gs["rank"] == 2
    assert kv.most_similar_cosmul(positive=["b", "c"], negative=["a"], topn=1)[0][0] == "near"   # gensim: 1e-6


def test_per_question_results_pair_up_and_give_the_summary(kv_and_questions):
    kv, q = kv_and_questions
    summary, per = analogy.evaluate_many({"x": kv, "y": kv}, q, ["3cosadd"], per_question=True, ci=True)
    assert set(per.columns) >= {"embedding", "method", "question", "answered", "rank", "correct", "rr"}
    x, y = (per[per["embedding"] == e].reset_index(drop=True) for e in ("x", "y"))
    assert (x["question"] == y["question"]).all() and len(x) == len(q)
    ov = summary[(summary["embedding"] == "x") & (summary["category"] == "overall")].iloc[0]
    ans = x[x["answered"]]
    assert ov["mrr@10"] == pytest.approx(ans["rr"].mean()) and ov["accuracy"] == pytest.approx(ans["correct"].mean())
    assert ov["accuracy_lo"] < ov["accuracy"] < ov["accuracy_hi"]
    assert ((ans["rr"] > 0) == (ans["rank"] <= 10)).all() and (x.loc[~x["answered"], "rr"] == 0).all()


def test_accuracy_equals_gensim_evaluate_word_analogies(kv_and_questions, tmp_path):
    kv, q = kv_and_questions
    analogy.write_questions_words(q, tmp_path / "q.txt")
    score, sections = kv.evaluate_word_analogies(str(tmp_path / "q.txt"), case_insensitive=False)
    ours = analogy.evaluate_analogies(kv, q, ["3cosadd"])
    assert ours.set_index("category").loc["overall", "accuracy"] == pytest.approx(score, abs=0)
    by_cat = {s["section"]: len(s["correct"]) / max(1, len(s["correct"]) + len(s["incorrect"])) for s in sections}
    for cat in ("planted", "other"):
        assert ours.set_index("category").loc[cat, "accuracy"] == pytest.approx(by_cat[cat], abs=0)
    assert 0.05 < score < 1.0


def test_mrr_coverage_and_misses_by_hand():
    kv = KeyedVectors(2)
    kv.add_vectors(["a", "b", "c", "d", "e"], np.array([[1, 0], [0, 1], [1, 0.1], [0.2, 1], [0.1, 1]], np.float32))
    q = pd.DataFrame([("a", "b", "c", "d", "x"), ("a", "b", "c", "e", "x"), ("a", "b", "c", "zzz", "x")],
                     columns=["a", "b", "c", "d", "category"])
    s = analogy.evaluate_analogies(kv, q, ["3cosadd"], k=1).set_index("category").loc["overall"]
    assert s["questions"] == 3 and s["answered"] == 2 and s["coverage"] == pytest.approx(2 / 3)
    r = analogy.analogy_ranks(kv, q, ["3cosadd"])
    ranks = sorted(r.loc[r["answered"], "rank"])
    assert ranks == [1, 2]
    assert s["accuracy"] == 0.5 and s["mrr@1"] == 0.5       # rank 2 is a miss at k=1
    s10 = analogy.evaluate_analogies(kv, q, ["3cosadd"], k=10).set_index("category").loc["overall"]
    assert s10["mrr@10"] == pytest.approx(0.75)


def test_same_questions_restricts_every_model(kv_and_questions):
    kv, q = kv_and_questions
    small = KeyedVectors(24)
    keep = [w for w in kv.index_to_key if w not in ("w0", "w1")]
    small.add_vectors(keep, kv[keep])
    both = analogy.evaluate_many({"full": kv, "small": small}, q, ["3cosadd"], same_questions=True)
    ov = both[both["category"] == "overall"].set_index("embedding")
    assert ov.loc["full", "answered"] == ov.loc["small", "answered"] < len(q) - 1
    free = analogy.evaluate_many({"full": kv, "small": small}, q, ["3cosadd"], same_questions=False)
    ov = free[free["category"] == "overall"].set_index("embedding")
    assert ov.loc["full", "answered"] == len(q) - 1 > ov.loc["small", "answered"]


def test_unknown_method_is_rejected(kv_and_questions):
    kv, q = kv_and_questions
    with pytest.raises(ValueError, match="unknown analogy method.*allowed: 3cosadd, 3cosmul"):
        analogy.evaluate_analogies(kv, q, ["3cosavg"])


TOY = """# sent_id = 1
# text = ev evler geldi
1\tev\tev\tNOUN\t_\tCase=Nom|Number=Sing\t0\troot\t_\t_
2\tevler\tev\tNOUN\t_\tCase=Nom|Number=Plur\t1\tdep\t_\t_
3\tgeldi\tgel\tVERB\t_\tNumber=Sing|Tense=Past\t1\tdep\t_\t_

# sent_id = 2
# text = kedi kediler gel
1\tkedi\tkedi\tNOUN\t_\tCase=Nom|Number=Sing\t0\troot\t_\t_
2\tkediler\tkedi\tNOUN\t_\tCase=Nom|Number=Plur\t1\tdep\t_\t_
3\tkediyi\tkedi\tNOUN\t_\tCase=Acc|Number=Sing\t1\tdep\t_\t_

# sent_id = 3
# text = göz gözler evi
1\tgöz\tgöz\tNOUN\t_\tCase=Nom|Number=Sing\t0\troot\t_\t_
2\tgözler\tgöz\tNOUN\t_\tCase=Nom|Number=Plur\t1\tdep\t_\t_
3\tevi\tev\tNOUN\t_\tCase=Acc|Number=Sing\t1\tdep\t_\t_
"""


def test_questions_mined_from_a_toy_treebank_are_answered_by_planted_vectors():
    sents = evalsets.parse_conllu(TOY)
    mined = evalsets.mine_analogies(sents, "hu", ["NOUN Number=Sing:Number=Plur", "NOUN Case=Nom:Case=Acc"],
                                    min_count=1, min_pairs=2)
    plural = mined.questions[mined.questions["category"] == "NOUN Number=Sing:Number=Plur"]
    assert len(plural) == 6                                   # 3 pairs -> 3 * 2 ordered questions
    assert len(mined.questions) == 8                          # + 2 pairs of Nom:Acc -> 2 questions
    assert set(map(tuple, mined.pairs[["a", "b"]].to_numpy())) >= {("ev", "evler"), ("kedi", "kediler"), ("göz", "gözler")}
    e = np.eye(16)
    base = {w: 3 * e[i] for i, w in enumerate(("ev", "kedi", "göz"))}     # orthogonal stems, small offsets
    plur, acc = e[10], e[11]
    kv = KeyedVectors(16)
    words = {**base, **{w + "ler": base[w] + plur for w in ("ev", "kedi", "göz")},
             "kediyi": base["kedi"] + acc, "evi": base["ev"] + acc, "geldi": e[12]}
    kv.add_vectors(list(words), np.array(list(words.values()), np.float32))
    s = analogy.evaluate_analogies(kv, mined).set_index(["method", "category"])
    assert s.loc[("3cosadd", "overall"), "accuracy"] == 1.0
    assert s.loc[("3cosadd", "overall"), "coverage"] == 1.0
