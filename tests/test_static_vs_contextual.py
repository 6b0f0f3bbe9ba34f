"""The static-vs-contextual study: its Config, unavailable sets, headline comparisons with paired intervals and
flags, majority baselines, the learning curve's extrapolation sentence, and set labels safe for file names."""
import math

import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab import assets, corpora, papers, report
from embedlab import static_vs_contextual as svc
from embedlab.evalsets import AnalogySet, dispatch
from embedlab.static_vs_contextual import curve, results as res
from embedlab.study import ConfigError, Results


def _cfg(**kw):
    base = dict(language="tr", corpora=["tr-treebank"], encoders=["minilm"], methods=["decontext-cls"])
    return svc.Config.build(**{**base, **kw})


@pytest.mark.parametrize("given,needle", [
    (dict(max_tokens=-5), "parameter 'max_tokens': given -5; allowed: one of None or an integer >= 1"),
    (dict(seeds=0), "parameter 'seeds': given 0"),
    (dict(max_eval_words=10), "unknown parameter(s) 'max_eval_words'"),
    (dict(corpora=[1, 2]), "parameter 'corpora': given [1, 2]"),
    (dict(corpora=[]), "parameter 'corpora': given []; allowed: a list of at least 1"),
    (dict(language="de"), "parameter 'language': given 'de'; allowed: one of 'tr', 'hu', 'mr', 'en'"),
    (dict(encoders=["bert"]), "parameter 'encoders': given ['bert']; allowed: e5-small"),
    (dict(methods=["mean"]), "parameter 'methods': given ['mean']"),
    (dict(methods=[]), "parameter 'methods': given []"),
    (dict(static_models=["glove"]), "parameter 'static_models'"),
    (dict(hidden_sizes=[0, 4]), "parameter 'hidden_sizes'"),
    (dict(tagging_tasks=["chunking"]), "parameter 'tagging_tasks'"),
    (dict(language="en", analogy_sets=["treebank"]), "'treebank' for language 'en'; allowed: 'treebank' exists for"),
    (dict(classification_sets=["mahanews"]), "'mahanews' for language 'tr'"),
    (dict(similarity_sets=["mr-gloss-synonyms"]), "'mr-gloss-synonyms' for language 'tr'"),
    (dict(curve_fractions=[1.0]), "parameter 'curve_fractions': given 1.0"),
    (dict(curve_fractions=[0.0]), "parameter 'curve_fractions'"),
    (dict(missing_sets="ignore"), "parameter 'missing_sets': given 'ignore'; allowed: one of 'skip', 'fail'"),
    (dict(static_models=[], encoders=[]), "both empty"),
    (dict(max_sentences=-5), "unknown parameter(s) 'max_sentences'"),
])
def test_bad_parameters_are_config_errors_naming_what_was_given_and_allowed(given, needle):
    with pytest.raises(ConfigError) as e:
        _cfg(**given)
    assert needle in str(e.value)


def test_file_sets_and_defaults_validate():
    cfg = _cfg(analogy_sets=["treebank", "file:/tmp/x y/verb conj.txt"], similarity_sets=["file:/tmp/s.txt"])
    assert cfg.params["analogy_sets"][1].startswith("file:")
    assert svc.Config().params == svc.Config.defaults()
    assert res.set_label("file:/tmp/x y/verb conj.txt") == "file-verb conj-missing"  # + its contents' short hash
    assert report.safe_name(f"analogy_{res.set_label('file:/a/b/verb.txt')}") == "analogy_file-verb-missing"


def test_unavailable_sets_are_marked_in_the_results_or_fail(monkeypatch):
    real = dispatch.load_evalset

    def offline(kind, name, **kw):
        if (kind, name) in (("analogy", "treebank"), ("tagging", "pos")):
            raise assets.AssetUnavailable("could not download https://example.org/ud.conllu: ConnectionError")
        return real(kind, name, **kw)

    monkeypatch.setattr(dispatch, "load_evalset", offline)
    cfg = _cfg(language="hu", corpora=["bible-hu"], analogy_sets=["treebank"], tagging_tasks=["pos"],
               classification_sets=["bible-testament"])
    r = Results("static_vs_contextual")
    sets = svc.evaluation_sets(cfg, None, r)
    assert sets["analogy"] == {} and sets["tagging"] == {}
    assert list(sets["classification"]) == ["bible-testament"]          # the offline set is still there
    assert {(u.kind, u.name) for u in r.unavailable} == {("analogy", "treebank"), ("tagging", "pos")}
    assert r.status == "partial"
    table = svc.describe_sets(sets, r)
    assert sorted(table.loc[table["size"] == "unavailable", "set"]) == ["pos", "treebank"]
    with pytest.raises(assets.AssetUnavailable, match="could not download"):
        svc.evaluation_sets(cfg.replace(missing_sets="fail"), None, Results("x"))


def _analogy_world(n_pairs=40, dim=24, seed=0):
    """Words x_i and their 'plural' x_i + r: a perfect embedding answers every a:b::c:d, a noisy one few."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_pairs, dim))
    r = rng.normal(size=dim) * 2
    words = [f"w{i}" for i in range(n_pairs)] + [f"w{i}s" for i in range(n_pairs)]
    good = KeyedVectors(dim)
    good.add_vectors(words, np.vstack([base, base + r]).astype(np.float32))
    noisy = KeyedVectors(dim)
    noisy.add_vectors(words, np.vstack([base, base + r]).astype(np.float32) + rng.normal(size=(2 * n_pairs, dim)).astype(np.float32) * 3)
    q = [(f"w{i}", f"w{i}s", f"w{j}", f"w{j}s", "plural") for i in range(n_pairs) for j in range(n_pairs) if i != j]
    questions = pd.DataFrame(q[::7], columns=["a", "b", "c", "d", "category"])
    return {"w2v-sg": good, "e5/decontext-cls@-1": noisy}, AnalogySet(questions, "toy", "xx", "test")


def test_analogy_headlines_compare_best_static_with_best_encoder_with_a_paired_interval():
    embs, aset = _analogy_world()
    cfg = _cfg(analogy_methods=["3cosadd"])
    items = svc.study.analogy_items(embs, aset, cfg)
    info = pd.DataFrame({"embedding": list(embs), "kind": [res.TRAINED, res.FROM_ENCODER]})
    inputs = svc.Inputs(None, {"analogy": {"toy": aset}, "similarity": {}, "tagging": {}, "classification": {}},
                        list(embs["w2v-sg"].index_to_key), {})
    r = Results("static_vs_contextual")
    r.extra["embeddings"] = embs
    res.fill(r, cfg, inputs, info, {"toy": items}, {}, pd.DataFrame(), pd.DataFrame())
    diff = next(h for h in r.headlines if h.key == "analogy.toy/best-static-minus-best-encoder/accuracy")
    g = items[items["method"] == "3cosadd"]
    acc = g.groupby("embedding")["correct"].mean()
    assert acc["w2v-sg"] > 0.97 and acc["e5/decontext-cls@-1"] < 0.8
    assert diff.value == pytest.approx(acc["w2v-sg"] - acc["e5/decontext-cls@-1"])
    assert diff.ci[0] > 0 and diff.n == len(aset)
    assert r.findings()[1].startswith("w2v-sg is higher than e5/decontext-cls@-1")
    best = next(h for h in r.headlines if h.key == "analogy.toy/best/acc")
    assert any("at ceiling" in f for f in best.flags)                 # a perfect score is flagged, not celebrated
    table = r.tables["results"]
    row = table[(table["embedding"] == "w2v-sg") & (table["metric"] == "3cosadd acc")].iloc[0]
    assert row["n"] == len(aset) and row["coverage"] == 1.0 and row["ci_lo"] <= row["value"] <= row["ci_hi"]
    assert r.metrics["analogy.toy/e5:decontext-cls@-1/3cosadd-acc"] == pytest.approx(acc["e5/decontext-cls@-1"])


def test_classification_by_cross_validation_with_a_majority_reference_and_its_flag():
    from embedlab.evalsets.classification import TextClassificationSet

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words[:20] if i % 3 else words[20:], 6)) for i in range(90)]
    labels = ["b" if i % 3 else "a" for i in range(90)]          # the words tell the label; majority = 'b' (2/3)
    df = pd.DataFrame({"text": texts, "label": labels})
    ds = TextClassificationSet(df.iloc[:60], df.iloc[60:], "toy", "en", ["a", "b"])
    topic = KeyedVectors(2)
    topic.add_vectors(words, np.array([[1, 0]] * 20 + [[0, 1]] * 20, np.float32) + rng.normal(0, .1, (40, 2)).astype(np.float32))
    noise = KeyedVectors(2)
    noise.add_vectors(words, rng.normal(size=(40, 2)).astype(np.float32))
    cfg = _cfg(classification_folds=3, compressed_dim=1)
    summary, preds = svc.seeds.classification_runs([{"topic": topic, "noise": noise}], {"classification": {"toy": ds}},
                                                   cfg)
    assert set(summary["embedding"]) == {"topic", "noise", "majority class"} and (summary["folds"] == 3).all()
    assert sorted(summary["seed"].unique()) == [0, 1, 2]                  # three fold draws over the same 90 texts
    maj = summary[summary["embedding"] == "majority class"]
    assert maj["accuracy"].to_numpy() == pytest.approx([2 / 3] * 3)
    info = pd.DataFrame({"embedding": ["topic", "noise"], "kind": [res.TRAINED, res.FROM_ENCODER]})
    inputs = svc.Inputs(None, {"analogy": {}, "similarity": {}, "tagging": {}, "classification": {"toy": ds}}, words, {})
    r = Results("static_vs_contextual")
    res.fill(r, cfg, inputs, info, {}, {}, (pd.DataFrame(), pd.DataFrame()), (summary, preds))
    acc, f1 = r.headlines
    assert acc.value > 0.95 and acc.reference.kind == "majority" and acc.n == 90 and acc.seeds == 3
    assert f1.metric == "macro-F1" and f1.reference.value == pytest.approx(0.4)       # majority macro-F1: 2 * (2/3) / (5/3) / 2
    assert not any("majority" in f for f in acc.flags)          # far above the majority class (maybe at ceiling)
    row = r.tables["classification"].set_index(["embedding", "variant"]).loc[("topic", "full")]
    assert row["seeds"] == 3 and row["accuracy_lo"] <= row["accuracy"] <= row["accuracy_hi"]
    assert row["macro_f1_lo"] <= row["macro_f1"] <= row["macro_f1_hi"]
    r2 = Results("static_vs_contextual")
    only_noise = (summary[summary["embedding"] != "topic"], preds[preds["embedding"] != "topic"])
    res.fill(r2, cfg, inputs, info, {}, {}, (pd.DataFrame(), pd.DataFrame()), only_noise)
    assert any("at majority" in f for f in r2.headlines[0].flags)


def _curve_table(static_acc, enc_acc=0.4):
    tokens = [10_000, 30_000, 100_000]
    rows = [{"set": "s", "embedding": "fasttext", "kind": res.TRAINED, "tokens": t, "accuracy": a, "n": 100}
            for t, a in zip(tokens, static_acc)]
    rows.append({"set": "s", "embedding": "e5/decontext-mean@-1", "kind": "encoder-only", "tokens": 100_000,
                 "accuracy": enc_acc, "n": 100})
    return pd.DataFrame(rows)


def test_crossing_sentence_is_an_extrapolation_from_the_log_linear_fit():
    table = _curve_table([0.1, 0.15, 0.2])
    a, b = curve.fit_log_linear([10_000, 30_000, 100_000], [0.1, 0.15, 0.2])
    expected = 10 ** ((0.4 - a) / b)
    (sentence,) = curve.crossing_sentences(table)
    assert sentence.startswith("Extrapolation, not a measurement")
    assert f"{expected:.2g} tokens" in sentence and "e5/decontext-mean@-1 (0.400)" in sentence
    assert "does not rise" in curve.crossing_sentences(_curve_table([0.2, 0.2, 0.19]))[0]
    assert "already at or above" in curve.crossing_sentences(_curve_table([0.3, 0.4, 0.5]))[0]
    assert "no crossing within any corpus size" in curve.crossing_sentences(_curve_table([0.001, 0.002, 0.003]))[0]


def test_growing_corpus_samples_are_nested():
    c = corpora.Corpus("toy", "en", [[f"w{i}"] * (1 + i % 5) for i in range(200)],
                       pd.DataFrame({"text": [""] * 200}))
    small, big = svc.take_tokens(c, 100, seed=3), svc.take_tokens(c, 400, seed=3)
    assert small.n_tokens <= 100 < big.n_tokens <= 400
    assert {tuple(s) for s in small.sentences} <= {tuple(s) for s in big.sentences}


def test_tsne_words_fall_back_to_each_labels_characteristic_words():
    from embedlab.evalsets.classification import TextClassificationSet

    train = pd.DataFrame({"text": ["lion roars at the tiger"] * 6 + ["the ship sails the sea"] * 6 + ["the lion"],
                          "label": ["animals"] * 6 + ["sea"] * 6 + ["sea"]})
    ds = TextClassificationSet(train, train.head(2), "toy", "en", ["animals", "sea"])
    sets = {"analogy": {}, "tagging": {}, "classification": {"toy": ds}}
    words = svc.tsne_words(sets, ["lion", "roars", "tiger", "ship", "sails", "sea", "the", "at"], per_category=2)
    # 'the' is everywhere and 'lion' also occurs under 'sea': neither characterises a label; ties go alphabetically
    assert words == {"at": "animals", "roars": "animals", "sails": "sea", "sea": "sea"}


def test_papers_panel_has_the_schema_and_says_plainly_when_there_is_none():
    cfg_en = _cfg(language="en", corpora=["bible-kjv"], analogy_sets=[], tagging_tasks=[], classification_sets=[])
    r = Results("static_vs_contextual")
    res.published(r, cfg_en)
    assert r.published is None and "No published numbers for the English control" in r.published_note
    doc = papers.paper_figures("static_vs_contextual")
    for col in ("paper", "source", "commit", "setting", "differs", "task", "metric", "value", "language"):
        assert col in doc.columns, col
    assert set(doc["language"]) >= {"tr", "hu"}
    assert doc["value"].map(lambda v: isinstance(v, (int, float)) and math.isfinite(v)).all()


def test_text_normalisation_lives_in_text_and_corpora_reexports_it():
    from embedlab import text

    assert corpora.tokenize is text.tokenize and corpora.lowercase is text.lowercase
    assert text.lowercase("IŞIK İzmir", "tr") == "ışık izmir" and text.lowercase("IŞIK", "en") == "işik"
    assert text.tokenize("Ankara'da 1.5 kg ILIK süt.", "tr") == ["ankara'da", "1.5", "kg", "ılık", "süt"]


def test_per_group_mrr_counts_unanswerable_questions_as_zero():
    embs, aset = _analogy_world()
    q = aset.questions.assign(group=["verb" if i % 2 else "noun" for i in range(len(aset.questions))])
    q.loc[0, "d"] = "unknownword"                                  # not in any embedding: unanswerable
    aset = AnalogySet(q, "toy", "xx", "test")
    cfg = _cfg(analogy_methods=["3cosadd"])
    items = svc.study.analogy_items(embs, aset, cfg, restrict=np.ones(len(aset.questions), bool))
    g = res.group_summary(items).set_index(["embedding", "group"])
    good = items[(items["embedding"] == "w2v-sg")]
    noun = good[good["group"] == "noun"]
    assert g.loc[("w2v-sg", "noun"), "n"] == len(noun) and g.loc[("w2v-sg", "noun"), "answered"] == len(noun) - 1
    assert g.loc[("w2v-sg", "noun"), "mrr@10"] == pytest.approx(noun["rr"].where(noun["answered"], 0).mean())


def test_candidates_are_the_corpus_words_and_a_question_outside_them_is_a_miss():
    embs, aset = _analogy_world(n_pairs=30)
    q = pd.DataFrame([("w0", "w0s", "w1", "w1s", "plural"), ("w2", "w2s", "w29", "w29s", "plural")],
                     columns=["a", "b", "c", "d", "category"])
    cfg = _cfg(analogy_methods=["3cosadd"])
    words = embs["w2v-sg"].index_to_key
    cands = [w for w in words if w not in ("w29", "w29s")]                        # the rarest pair is outside
    items = svc.seeds.analogy_runs([embs], {"w2v-sg": res.TRAINED}, AnalogySet(q, "toy", "xx", "test"), cands, cfg)
    good = items[items["embedding"] == "w2v-sg"]
    assert good["answered"].tolist() == [True, False] and good["correct"].tolist() == [True, False]
    summary = res.analogy_summary(items)
    row = summary[(summary["category"] == "overall") & (summary["embedding"] == "w2v-sg")].iloc[0]
    assert row["n"] == 2 and row["coverage"] == 0.5 and row["accuracy"] == 0.5      # the miss counts
    assert row["accuracy answerable"] == 1.0 and row["seeds"] == 1
