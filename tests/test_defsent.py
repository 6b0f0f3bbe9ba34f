"""DefSent / DefSent+: tied frozen prediction layer, entry embeddings, headword split, training, bad inputs.

Everything runs on a tiny random BERT with a 60-word WordPiece vocabulary built in a temporary folder.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from embedlab import defsent
from embedlab.encoders import Encoder

WORDS = ("cat dog fish bird tree sun moon star sea rain snow fire house road car boat king queen bread milk "
         "a the an of that which is small big animal pet barks meows swims flies sings bright hot cold wet "
         "white tall plant sky night water food drink person ruler woman man vehicle home").split()
DICT = [("cat", "a small pet that meows"), ("dog", "a pet animal that barks"), ("fish", "an animal that swims"),
        ("bird", "an animal that flies and sings"), ("sun", "the bright hot star"),
        ("moon", "the white star of night"), ("sea", "the big wet water"), ("snow", "cold white rain"),
        ("king", "a man ruler"), ("queen", "a woman ruler"), ("bread", "a food"), ("milk", "a white drink"),
        ("car", "a vehicle of the road"), ("boat", "a vehicle of the sea"), ("house", "a home of a person"),
        ("tree", "a tall plant"), ("fire", "hot bright"), ("rain", "wet water of the sky"),
        ("cat", "a pet animal that meows"), ("star", "a bright sun of the night sky")]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and OpenMP threads crawl when other processes share the CPUs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A folder with a tiny random BERT MLM checkpoint and its own WordPiece tokenizer."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    d = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##fish", "##s"]
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertForMaskedLM(cfg).save_pretrained(d / "mlm")
    tok.save_pretrained(d / "mlm")
    return d / "mlm"


@pytest.fixture(scope="module")
def tiny(tiny_dir) -> Encoder:
    """A tiny random BERT encoder (no MLM head attached) named like an offline encoder would be."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(1)
    model = BertModel(BertConfig.from_pretrained(tiny_dir)).eval()
    model.config.name_or_path = ""     # a checkpoint without an MLM head, like the offline encoders
    return Encoder(name="tiny", model=model, tokenizer=BertTokenizerFast.from_pretrained(tiny_dir), source="test")


def test_headword_split_is_disjoint_complete_and_seeded():
    words = [f"w{i}" for i in range(200)]
    entries = [(w, f"definition {j} of {w}") for w in words for j in range(1 + len(w) % 3)] + [("W7", "capital W7")]
    splits = defsent.split_by_headword(entries, seed=3)
    keys = {n: set(df.headword.str.casefold()) for n, df in splits.items()}
    assert not keys["train"] & keys["valid"] and not keys["train"] & keys["test"] and not keys["valid"] & keys["test"]
    assert sum(len(df) for df in splits.values()) == len(entries)          # every definition kept once
    assert {"w7", "W7"} & set(splits["train"].headword) in ({"w7", "W7"}, set())   # case variants stay together
    assert [len(keys[n]) for n in defsent.SPLITS] == [160, 20, 20]          # 8:1:1 of 200 headwords
    again = defsent.split_by_headword(entries, seed=3)
    other = defsent.split_by_headword(entries, seed=4)
    assert again["test"].equals(splits["test"]) and not other["test"].equals(splits["test"])


def test_sample_by_headword_keeps_whole_headwords():
    df = defsent.as_entries([(f"w{i}", f"d{i}.{j}") for i in range(50) for j in range(3)])
    s = defsent.sample_by_headword(df, 20, seed=0)
    assert len(s) == 18 and s.groupby("headword").size().eq(3).all()
    assert defsent.sample_by_headword(df, None).equals(df)


def test_single_token_headwords(tiny):
    df = defsent.single_token_entries(tiny, [("cat", "x"), ("sunfish", "y"), ("zebra", "z"), ("cats", "w")])
    assert list(df.headword) == ["cat"]     # 'sunfish' = sun ##fish, 'zebra' = [UNK], 'cats' = cat ##s
    assert df.token_id.tolist() == tiny.tokenizer.convert_tokens_to_ids(["cat"])


def test_prediction_layer_is_tied_to_token_embeddings_and_frozen(tiny):
    layer = defsent.prediction_layer(tiny)
    emb = tiny.model.get_input_embeddings()
    assert layer.weight is emb.weight and layer.transform is None and "no MLM head" in layer.kind
    h = torch.randn(3, tiny.dim)
    assert torch.allclose(layer(h), h @ emb.weight.T)


def test_gradients_do_not_reach_frozen_weights(tiny):
    trained = defsent.train_defsent(tiny, DICT[:4], "mean", defsent.defsent_config(tiny, "mean", learning_rate=1e-3),
                                    progress=False)
    model = trained.encoder.model
    model.zero_grad(set_to_none=True)
    layer = defsent.prediction_layer(trained.encoder)
    h = defsent.pooled(model, tiny.tokenizer, ["a small pet", "the hot star"], "mean", 32)
    torch.nn.functional.cross_entropy(layer(h), torch.tensor([5, 6])).backward()
    assert all(p.grad is None and not p.requires_grad for p in model.embeddings.parameters())
    assert all(p.grad is None for p in layer.parameters())
    assert all(p.grad is not None for p in model.encoder.parameters())
    # training moved the Transformer layers but left the tied embeddings (and the caller's encoder) untouched
    base, new = dict(tiny.model.named_parameters()), dict(model.named_parameters())
    assert all(torch.equal(base[k], new[k]) for k in base if k.startswith("embeddings."))
    assert any(not torch.equal(base[k], new[k]) for k in base if k.startswith("encoder."))
    assert trained.encoder.model is not tiny.model


def test_shipped_mlm_head_is_used_frozen_and_tied(tiny, tiny_dir):
    from transformers import AutoModel, AutoTokenizer, BertForMaskedLM

    d = str(tiny_dir)
    enc = Encoder(name=d, model=AutoModel.from_pretrained(d).eval(), tokenizer=AutoTokenizer.from_pretrained(d),
                  source="test")
    layer = defsent.prediction_layer(enc)
    assert "MLM head" in layer.kind and layer.weight is enc.model.get_input_embeddings().weight
    assert all(not p.requires_grad for p in layer.transform.parameters())   # the head is frozen; the token
    assert enc.model.get_input_embeddings().weight.requires_grad  # embeddings stay the encoder's to freeze
    mlm = BertForMaskedLM.from_pretrained(d).eval()
    h = torch.randn(4, enc.dim)
    with torch.no_grad():
        assert torch.allclose(layer(h), mlm.cls(h), atol=1e-5)
    with pytest.raises(ValueError, match="ships no MLM head"):
        defsent.prediction_layer(tiny, use_mlm_head=True)


def test_entry_embeddings_average_all_definitions(tiny):
    names, table = defsent.entry_embeddings(tiny, DICT, "mean", progress=False)
    assert names == sorted({w for w, _ in DICT}) and table.shape == (len(names), tiny.dim)
    cat_defs = [d for w, d in DICT if w == "cat"]
    each = defsent.embed_poolings(tiny, cat_defs, ["mean"], 64, "t")["mean"]
    assert np.allclose(table[names.index("cat")], each.mean(0), atol=1e-5)


def test_isotropize_whitens_and_checks_size():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 8)) @ rng.normal(size=(8, 8)) + 3.0      # anisotropic, off-centre
    w = defsent.isotropize(x, "whiten", scale=1.0)
    assert w.shape == x.shape and np.allclose(np.cov(w.T), np.eye(8), atol=0.05)
    ica = defsent.isotropize(x, "ica", scale=100.0)
    assert ica.shape == x.shape and np.allclose(ica.std(0), 100.0, rtol=0.05)
    assert defsent.isotropize(x, "none") is x
    with pytest.raises(ValueError, match="more entries than dimensions"):
        defsent.isotropize(x[:8], "whiten")


def test_defsent_training_learns_and_is_deterministic(tiny):
    single = defsent.single_token_entries(tiny, DICT)
    cfg = defsent.defsent_config(tiny, "cls", learning_rate=5e-3, epochs=15, batch_size=4)
    layer = defsent.prediction_layer(tiny)
    before, _ = defsent.vocabulary_ranks(layer, defsent.embed_poolings(tiny, list(single.definition), ["cls"],
                                                                              64, "t")["cls"], single.token_id)
    runs = [defsent.train_defsent(tiny, single, "cls", cfg, progress=False) for _ in range(2)]
    assert runs[0].losses == runs[1].losses
    emb = defsent.embed_poolings(runs[0].encoder, list(single.definition), ["cls"], 64, "t")["cls"]
    after, top = defsent.vocabulary_ranks(defsent.prediction_layer(runs[0].encoder), emb, single.token_id)
    assert after.mean() < before.mean() / 2 and top.shape == (len(single), 5)
    assert np.mean(runs[0].losses[-5:]) < np.mean(runs[0].losses[:5])


def test_defsent_plus_trains_into_frozen_entries(tiny):
    entries = DICT + [("sunfish", "a fish of the sun"), ("sunfish", "a big fish of the sea")]   # multi-token: fine
    cfg = defsent.defsent_plus_config(learning_rate=3e-3, epochs=8, batch_size=4)
    t = defsent.train_defsent_plus(tiny, entries, "mean", cfg, transform="none", progress=False)
    assert t.n_classes == len({w for w, _ in entries}) and t.n_train == len(entries)
    names, raw = defsent.entry_embeddings(tiny, entries, "mean", progress=False)
    assert np.allclose(t.targets["entries (averaged)"], raw)          # built from the untouched base encoder
    assert np.mean(t.losses[-5:]) < np.mean(t.losses[:5])
    assert defsent.pooler_head(tiny) is not tiny.model.pooler
    # entries may average definitions that are not trained on (e.g. all of a headword's senses)
    more = entries + [("cat", "a big animal"), ("zebra", "an animal")]
    t2 = defsent.train_defsent_plus(tiny, entries[:4], "mean", cfg, transform="none", entry_definitions=more,
                                    progress=False)
    names2, raw2 = defsent.entry_embeddings(tiny, [e for e in more if e[0] in {"cat", "dog", "fish", "bird"}], "mean",
                                            progress=False)
    assert t2.n_classes == 4 and np.allclose(t2.targets["entries (averaged)"], raw2)


def test_bad_inputs_raise_clear_errors(tiny):
    from embedlab.study import ConfigError

    with pytest.raises(ValueError, match="empty dictionary"):
        defsent.as_entries([])
    with pytest.raises(ValueError, match="empty dictionary"):
        defsent.split_by_headword(pd.DataFrame({"headword": ["  "], "definition": ["x"]}))
    with pytest.raises(ValueError, match=r"unknown language 'xx'; allowed: en, tr"):
        defsent.load_dictionary("wordnet", "xx")
    with pytest.raises(ConfigError, match=r"parameter 'language': given 'de'; allowed: one of 'en', 'tr'"):
        defsent.Config.build(language="de")
    with pytest.raises(ValueError, match="not one token.*sunfish.*single_token_entries"):
        defsent.train_defsent(tiny, DICT + [("sunfish", "a fish")], "mean", progress=False)
    with pytest.raises(ValueError, match="unknown pooling 'sum'; allowed: mean, cls, max"):
        defsent.train_defsent_plus(tiny, DICT, "sum", progress=False)
    with pytest.raises(ConfigError, match="parameter 'variants': given \\['simcse'\\]"):
        defsent.Config.build(variants=["simcse"])
    with pytest.raises(ConfigError, match="parameter 'variants': given \\[\\]; allowed: a list of at least 1"):
        defsent.Config.build(variants=[])
    with pytest.raises(ConfigError, match="parameter 'entry_transform': given 'pca'"):
        defsent.Config.build(entry_transform="pca")
    with pytest.raises(ConfigError, match="parameter 'dictionary'.*English only"):
        defsent.Config.build(language="tr", dictionary="oxford-defs")
    with pytest.raises(ConfigError, match="parameter 'train_definitions'"):
        defsent.Config.build(train_definitions=100)
    with pytest.raises(ValueError, match="English only"):
        defsent.load_dictionary("oxford-defs", "tr")
    with pytest.raises(ValueError, match="learning_rate"):
        defsent.TrainConfig(learning_rate=0)


def test_evaluate_space_scores_identical_spaces_perfectly(tiny):
    single = defsent.single_token_entries(tiny, DICT[:10]).drop_duplicates("headword")
    heads = single[["headword", "definition"]]
    data = defsent.EvalData(single, heads, [], {"toy-sts": pd.DataFrame({"s1": ["a cat", "a dog", "the sun"],
                                                                    "s2": ["a cat", "a pet", "the sea"],
                                                                    "score": [5.0, 3.0, 1.0]})},
                            {}, {}, list(heads.definition))
    texts = data.texts()
    emb = np.random.default_rng(0).normal(size=(len(texts), tiny.dim)).astype(np.float32)
    # make each definition's embedding equal to its headword's: headword retrieval must be perfect
    row = {t: i for i, t in enumerate(texts)}
    for w, d in zip(heads.headword, heads.definition):
        emb[row[d]] = emb[row[w]]
    scores, iso, examples = defsent.evaluate_space(emb, data, defsent.prediction_layer(tiny), n_examples=3)
    assert scores["def2word-headwords"].value == 100.0 and (scores["def2word-headwords"].ranks == 1).all()
    assert "def2word-vocab" in scores and scores["sts.toy-sts"].kind == "cos" and len(scores["sts.toy-sts"].values) == 3
    assert "avg_cosine" in iso and len(examples) == 3
    no_head, _, _ = defsent.evaluate_space(emb, data, None, n_examples=0)   # no MLM head: no vocabulary ranking
    assert "def2word-vocab" not in no_head


def test_mrr_is_mrr_at_10():
    rr = defsent.reciprocal_rank_at(np.array([1, 2, 10, 11, 500]))
    assert np.allclose(rr, [1, 0.5, 0.1, 0, 0]) and defsent.TOP_K == 10
    assert np.allclose(defsent.reciprocal_rank_at(np.array([11]), None), [1 / 11])


def test_turkish_headword_keys_use_turkish_lowercasing():
    key = defsent.headword_key
    assert key("İspanya", "tr") == key("ispanya", "tr") == "ispanya"
    assert key("IRAK", "tr") == "ırak" != key("IRAK", "en")
    entries = [(f"kelime{i}", f"tanım {i}") for i in range(60)] + [("İspanya", "bir ülke"), ("ispanya", "ülke")]
    for seed in range(5):
        splits = defsent.split_by_headword(entries, seed=seed, language="tr")
        where = {n for n, df in splits.items() if {"İspanya", "ispanya"} & set(df.headword)}
        assert len(where) == 1   # both spellings in one split: a headword never sits in train and test


def _toy_dictionary(n_entries: int = 48, per_entry: int = 3, seed: int = 0):
    """Entries named by the tiny vocabulary's words, each defined by random 4-word strings (distinguishable)."""
    rng = np.random.default_rng(seed)
    words = [w for w in WORDS if len(w) > 1]
    out = []
    for i in range(n_entries):
        for _ in range(per_entry):
            out.append((f"entry{i}", " ".join(rng.choice(words, 4))))
    return out


def test_defsent_plus_learns_on_a_toy_dictionary_with_ica(tiny):
    toy = _toy_dictionary()
    cfg = defsent.defsent_plus_config(learning_rate=2e-3, epochs=12, batch_size=8)
    t = defsent.train_defsent_plus(tiny, toy, "mean", cfg, transform="ica", ica_max_iter=300, progress=False)
    n = t.n_classes
    assert n == 48 > tiny.dim and np.allclose(t.targets["entries (ica)"].std(0), 100, rtol=0.1)   # the x100 scale
    last = float(np.mean(t.losses[-10:]))
    assert last < 0.5 * np.log(n) and last < 0.9 * float(np.mean(t.losses[:10]))   # well below a uniform prediction
    from embedlab import flags
    assert flags.not_learning(t.losses, n) is None


def test_pst_rebuilds_entries_and_retrains_the_original(tiny, monkeypatch):
    from embedlab.defsent import training

    toy = _toy_dictionary()
    calls = []
    real = training.train_defsent_plus

    def spy(encoder, *a, **kw):
        calls.append((encoder, kw.get("entry_encoder"), kw.get("stage")))
        return real(encoder, *a, **kw)

    monkeypatch.setattr(training, "train_defsent_plus", spy)
    cfg = defsent.defsent_plus_config(learning_rate=2e-3, epochs=2, batch_size=8)
    stages = defsent.progressive_separate_training(tiny, toy, 3, "mean", cfg, transform="ica", ica_max_iter=100,
                                                   progress=False)
    assert [c[2] for c in calls] == [1, 2, 3] and all(c[0] is tiny for c in calls)   # always the original checkpoint
    assert calls[0][1] is None and calls[1][1] is stages[0].encoder and calls[2][1] is stages[1].encoder
    _, rebuilt = defsent.entry_embeddings(stages[0].encoder, toy, "mean", progress=False)
    assert np.allclose(stages[1].targets["entries (averaged)"], rebuilt, atol=1e-5)     # entries from stage 1's model
    assert not np.allclose(stages[1].targets["entries (averaged)"], stages[0].targets["entries (averaged)"])


def test_unavailable_sets_are_skipped_or_fail(tiny, monkeypatch):
    from embedlab import assets, evalsets
    from embedlab.study import Results

    def gone(*a, **kw):
        raise assets.AssetUnavailable("stsb: not cached, no mirror, offline")

    monkeypatch.setattr(evalsets, "sts_pairs", gone)
    monkeypatch.setattr(evalsets, "load_evalset", gone)
    heads = pd.DataFrame(DICT[:5], columns=["headword", "definition"])
    r = Results("defsent")
    data = defsent.evaluation_data("tr", heads.iloc[:0], heads, results=r, missing="skip")
    assert data.sts == {} and data.word_similarity == {} and r.status == "partial"
    assert [u.name for u in r.unavailable] == ["paraphrase", "stsb-tr", "quran-tr-en", "anlamver-npm"]  # all said
    with pytest.raises(assets.AssetUnavailable):
        defsent.evaluation_data("tr", heads.iloc[:0], heads, results=Results("defsent"), missing="fail")


def _fake_oxford(monkeypatch, tmp_path, train_available: bool):
    """Fake Oxford files (word, example, definition) behind assets.fetch; the train file may be unobtainable."""
    from embedlab import assets

    rows = {"train": [("apple", "an apple", "a round fruit"), ("pear", "a pear", "a sweet fruit")],
            "valid": [("dog", "a dog", "a domestic animal")], "test": [("cat", "a cat", "a small feline")]}
    for sp, rs in rows.items():
        (tmp_path / f"{sp}.txt").write_text("".join("\t".join(r) + "\n" for r in rs), encoding="utf-8")

    def fetch(name, progress=True, refresh=False):
        if name == "oxford-defs-train" and not train_available:
            raise assets.AssetUnavailable("cannot download train.txt: no network")
        return tmp_path

    monkeypatch.setattr(assets, "fetch", fetch)


def test_oxford_dictionary_is_train_valid_test_as_defsent_resplits_it(monkeypatch, tmp_path):
    _fake_oxford(monkeypatch, tmp_path, train_available=True)
    d = defsent.load_dictionary("oxford-defs", "en")
    assert set(d.headword) == {"apple", "pear", "dog", "cat"}
    assert d.attrs["files"] == ["test", "train", "valid"] and not d.attrs["unavailable"]


def test_oxford_without_its_train_file_is_listed_or_fails_loudly(monkeypatch, tmp_path):
    from embedlab import assets

    _fake_oxford(monkeypatch, tmp_path, train_available=False)
    d = defsent.load_dictionary("oxford-defs", "en", missing="skip")
    assert set(d.headword) == {"dog", "cat"} and d.attrs["files"] == ["test", "valid"]
    assert "no network" in d.attrs["unavailable"]["oxford-defs-train"]
    with pytest.raises(assets.AssetUnavailable, match="train.txt"):
        defsent.load_dictionary("oxford-defs", "en", missing="fail")


def _space(variant, rr, label_stage=None):
    from embedlab.defsent.scoring import Scores, Space

    return Space(variant, "mean", {t: Scores("rr", np.asarray(v, float)) for t, v in rr.items()}, {}, label_stage)


@pytest.mark.parametrize("tied_gain, seen_gain, verdict", [(True, True, "did learn its own objective"),
                                                           (False, True, "memorises rather than generalises"),
                                                           (False, False, "did not measurably learn")])
def test_below_base_is_explained_from_the_numbers(tied_gain, seen_gain, verdict):
    from embedlab.defsent.results import _explain_below_base
    from embedlab.study import Results

    rng = np.random.default_rng(0)
    base_para, base_tied = rng.uniform(0.4, 0.6, 200), rng.uniform(0.0, 0.05, 200)
    base = _space("base", {"paraphrase.x": base_para, "def2word-tied": base_tied, "def2word-tied-seen": base_tied})
    trained = _space("defsent", {"paraphrase.x": base_para - 0.2,
                                 "def2word-tied": base_tied + (0.3 if tied_gain else 0.0),
                                 "def2word-tied-seen": base_tied + (0.5 if seen_gain else 0.0)})
    r = Results("defsent")
    a, b = trained.scores["paraphrase.x"], base.scores["paraphrase.x"]
    r.compare("paraphrase.x/defsent-mean/minus-base", "x", trained.label, base.label, a.value - b.value,
              a.diff_ci(b), n=200, b_is_base=True)
    cfg = defsent.Config.build()
    _explain_below_base(r, cfg, defsent.SeedGroup([trained]), defsent.SeedGroup([base]),
                        [{"variant": "DefSent", "pooling": "mean", "definitions": 2400}])
    (f,) = r.flags
    assert f.kind == "below base" and "paraphrase.x -20.0" in f.explanation and verdict in f.explanation
    assert "all-MiniLM-L6-v2" in f.explanation and "2,400 definitions" in f.explanation
    from embedlab import report

    assert "why:" in report.status_box(r) and verdict in report.status_box(r)


def test_ica_entries_are_computed_in_float64_whatever_the_input():
    """FastICA in float32 stops short of its tolerance and lands elsewhere (and on another unmixing with another
    number of BLAS threads): the entries are unmixed in float64, so float32 and float64 inputs agree."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    x = rng.laplace(size=(400, 24)) @ rng.normal(size=(24, 24))
    ref = defsent.isotropize(x, "ica", scale=1.0)
    assert np.allclose(defsent.isotropize(x.astype(np.float32), "ica", scale=1.0), ref, atol=1e-3)
    with threadpool_limits(2):
        assert np.allclose(defsent.isotropize(x.astype(np.float32), "ica", scale=1.0), ref, atol=1e-3)


@pytest.mark.slow
def test_head_learning_rate_lets_the_pooler_learn_the_entry_map_in_few_steps(tiny):
    """At the encoder's rate a short run leaves the x100 ICA loss far above ln N (the pooler barely moves);
    with the pooler head at its own rate the same run ends below ln N."""
    toy = _toy_dictionary()
    common = dict(learning_rate=1e-4, epochs=20, batch_size=8)
    slow = defsent.train_defsent_plus(tiny, toy, "mean", defsent.defsent_plus_config(**common), transform="ica",
                                      ica_max_iter=300, progress=False)
    fast = defsent.train_defsent_plus(tiny, toy, "mean", defsent.defsent_plus_config(head_learning_rate=3e-3, **common),
                                      transform="ica", ica_max_iter=300, progress=False)
    n, w = fast.n_classes, len(fast.losses) // 10
    assert defsent.defsent_plus_config().head_learning_rate is None          # the authors: one rate for everything
    assert float(np.mean(slow.losses[-w:])) > 3 * np.log(n)
    assert float(np.mean(fast.losses[-w:])) < np.log(n) < float(np.mean(fast.losses[:w]))
    assert "at lr 0.003" in fast.note and "at lr" not in slow.note
    with pytest.raises(ValueError, match="head_learning_rate"):
        defsent.defsent_plus_config(head_learning_rate=0.0)


def test_defsent_trained_transform_starts_as_the_bare_layer_and_learns_faster(tiny):
    from embedlab.defsent.targets import with_trained_transform

    single = defsent.single_token_entries(tiny, DICT)
    h = torch.randn(3, tiny.dim)
    bare = defsent.prediction_layer(tiny)
    layer = with_trained_transform(defsent.prediction_layer(tiny))
    assert torch.allclose(layer(h), bare(h), atol=1e-5)            # identity at the start: the same scores
    assert [p.requires_grad for p in layer.transform.parameters()] == [True, True]
    emb_before = tiny.model.get_input_embeddings().weight.detach().clone()
    slow = defsent.defsent_config(tiny, "mean", learning_rate=1e-4, epochs=15, batch_size=4)
    fast = defsent.defsent_config(tiny, "mean", learning_rate=1e-4, head_learning_rate=1e-1, epochs=15, batch_size=4)
    a = defsent.train_defsent(tiny, single, "mean", slow, progress=False)
    b = defsent.train_defsent(tiny, single, "mean", fast, progress=False)
    assert a.head.transform is None and "trained linear transform" in b.note
    assert np.mean(b.losses[-4:]) < 0.8 * np.mean(a.losses[-4:])   # the head carries what the encoder cannot yet
    assert torch.equal(b.head.token_embeddings.weight, emb_before)  # token embeddings never move
    with pytest.raises(ValueError, match="pretrained MLM transform"):
        with_trained_transform(b.head)


def test_cross_lingual_loss_with_monolingual_retrieval_intact_is_named():
    from embedlab.defsent.results import _explain_below_base
    from embedlab.defsent.scoring import Scores, Space
    from embedlab.study import Results

    rng = np.random.default_rng(0)
    b1, b2 = rng.uniform(0.8, 1, 300), rng.uniform(0.2, 0.3, 400)
    base = Space("base", "mean", {"paraphrase.quran-tr-en": Scores("rr", b1), "def2word-headwords": Scores("rr", b2)},
                 {})
    sp = Space("defsent+", "mean", {"paraphrase.quran-tr-en": Scores("rr", b1 - 0.36),
                                    "def2word-headwords": Scores("rr", rng.permutation(b2))}, {}, 2)
    r = Results("defsent")
    for t in sp.scores:
        a, b = sp.scores[t], base.scores[t]
        r.compare(f"{t}/defsent+-mean-stage2/minus-base", t, sp.label, base.label, a.value - b.value, a.diff_ci(b),
                  n=len(a.values), b_is_base=True)
    _explain_below_base(r, defsent.Config.build(language="tr", encoder="e5-small"), defsent.SeedGroup([sp]),
                        defsent.SeedGroup([base]), [])
    (f,) = r.flags
    assert "cross-lingual (paraphrase.quran-tr-en -36.0)" in f.explanation
    assert "monolingual headword retrieval stays within noise" in f.explanation


def test_prediction_layer_leaves_the_encoders_embeddings_alone_and_defsent_plus_trains_them(tiny):
    emb = tiny.model.get_input_embeddings().weight
    defsent.prediction_layer(tiny)                  # once froze the encoder's own token embeddings as a side effect
    assert emb.requires_grad
    cfg = defsent.defsent_plus_config(learning_rate=3e-3, epochs=2, batch_size=4)
    t = defsent.train_defsent_plus(tiny, DICT, "mean", cfg, transform="none", progress=False)
    # the authors' TrainEncoder.py optimises every encoder parameter, token embeddings included
    assert not torch.equal(t.encoder.model.get_input_embeddings().weight, emb)
    d = defsent.train_defsent(tiny, defsent.single_token_entries(tiny, DICT), "mean",
                              defsent.defsent_config(tiny, "mean", learning_rate=3e-3, batch_size=4), progress=False)
    assert torch.equal(d.encoder.model.get_input_embeddings().weight, emb)   # DefSent keeps them frozen


def _no_evaluation_sets(monkeypatch) -> None:
    """Every evaluation set unavailable, as on a machine with no cache, no mirror and no network."""
    from embedlab import assets, evalsets

    def gone(*a, **kw):
        raise assets.AssetUnavailable("not cached, no mirror, offline")

    for name in ("sts_pairs", "bible_paraphrase_split", "load_evalset"):
        monkeypatch.setattr(evalsets, name, gone)


def test_run_study_takes_its_encoder_and_dictionary_as_keywords_only(tiny, monkeypatch):
    """``run_study(cfg)`` loads both from cfg; a test injects them by keyword (no evaluation set can be had here)."""
    _no_evaluation_sets(monkeypatch)
    toy = pd.DataFrame(DICT, columns=["headword", "definition"])
    cfg = defsent.Config.build(variants=["base"], eval_definitions=10, n_candidates=5, max_pairs=10, n_examples=2)
    with pytest.raises(TypeError):
        defsent.run_study(cfg, tiny, toy)
    r = defsent.run_study(cfg, encoder=tiny, dictionary=toy)
    assert [u.name for u in r.unavailable] == ["stsb", "sick", "bible-kjv-wyc", "wordsim353", "simlex999",
                                               "def2word-vocab"]
    assert r.unavailable[0].reason == "STS test set: not cached, no mirror, offline"
    assert {"def2word-headwords/base-mean/mrr@10", "def2word-tied/base-mean/mrr@10"} <= set(r.metrics)
    assert list(r.timings) == ["data", "base (evaluate)", "total"]  # no training here: not a slow test
    assert r.extra["setup"].startswith("wordnet (en): 20 definitions of 19 headwords\nencoder tiny (test)")


# --------------------------------------------------------------------------- phase 2: leakage, seeds, notes

def _shared_gloss_dictionary(n: int = 60) -> list[tuple[str, str]]:
    """Pairs of headwords (synonyms) that share one gloss, written with different case, spacing and end
    punctuation, as WordNet repeats a synset's gloss for every literal; every headword also has a gloss of its own."""
    rows = []
    for i in range(n):
        rows += [(f"a{i}", f"The shared  gloss number {i}."), (f"b{i}", f"the shared gloss number {i}"),
                 (f"a{i}", f"own gloss of a{i}"), (f"b{i}", f"own gloss of b{i}")]
    return rows


def test_normalised_definitions_compare_case_spacing_and_end_punctuation():
    assert defsent.normalise_definition("  The  Shared gloss;\n") == defsent.normalise_definition("the shared gloss")
    assert defsent.normalise_definition("«(a dog)»") == "a dog"
    assert defsent.normalise_definition("a dog.") != defsent.normalise_definition("a cat")


def test_no_held_out_definition_is_on_the_training_side_of_the_split():
    toy = _shared_gloss_dictionary()
    norm = defsent.normalise_definition
    leaky = defsent.split_by_headword(toy, seed=0, disjoint_definitions=False)
    held = {norm(d) for p in ("valid", "test") for d in leaky[p].definition}
    assert held & {norm(d) for d in leaky["train"].definition}        # synonyms across the split share glosses
    parts = defsent.split_by_headword(toy, seed=0)
    train = {norm(d) for d in parts["train"].definition}
    assert not train & {norm(d) for p in ("valid", "test") for d in parts[p].definition}
    for p in ("valid", "test"):                                       # held-out sides keep every row
        assert parts[p].equals(leaky[p])
    removed = len(toy) - sum(len(df) for df in parts.values())
    assert removed == len(leaky["train"]) - len(parts["train"]) > 0
    assert {norm(d) for d in leaky["train"].definition} - train <= held  # only shared glosses were removed


def test_run_records_zero_held_out_definitions_in_training(tiny, monkeypatch):
    _no_evaluation_sets(monkeypatch)
    toy = pd.DataFrame(_shared_gloss_dictionary(), columns=["headword", "definition"])
    cfg = defsent.Config.build(variants=["base"], eval_definitions=None, n_candidates=5, max_pairs=10, n_examples=2)
    r = defsent.run_study(cfg, encoder=tiny, dictionary=toy)
    assert r.metrics["data/heldout-definitions/in-train"] == 0
    removed = r.metrics["data/train-definitions/removed"]
    assert removed > 0 and r.extra["dictionary_counts"]["train definitions removed (also held out)"] == removed
    note = next(n for n in r.notes if n.startswith("no held-out definition is seen in training"))
    assert f"{removed:,} of " in note and "would appear verbatim" in note and "0%" in note


def test_checked_counts_do_not_depend_on_which_evaluation_sets_can_be_had(tiny, monkeypatch):
    """nbval compares the dictionary counts: a URL set in a warm cache must not change them (it did: 873 vs 674)."""
    import json
    from pathlib import Path

    from embedlab import evalsets

    _no_evaluation_sets(monkeypatch)
    toy = pd.DataFrame(DICT, columns=["headword", "definition"])
    cfg = defsent.Config.build(variants=["base"], eval_definitions=10, n_candidates=5, max_pairs=10, n_examples=2)
    cold = defsent.run_study(cfg, encoder=tiny, dictionary=toy)
    pairs = pd.DataFrame({"s1": ["a big dog", "a cold sea"], "s2": ["a pet", "the wet water"], "score": [1.0, 4.0]})
    monkeypatch.setattr(evalsets, "sts_pairs", lambda *a, **kw: type("S", (), {"pairs": pairs})())
    warm = defsent.run_study(cfg, encoder=tiny, dictionary=toy)
    assert warm.extra["dictionary_counts"] == cold.extra["dictionary_counts"]
    assert warm.extra["evaluation_counts"] != cold.extra["evaluation_counts"]
    assert not any("embedded" in k or "pairs" in k for k in cold.extra["dictionary_counts"])
    nb = json.loads(Path(__file__).parents[1].joinpath("notebooks/definition_projection.ipynb").read_text())
    (checked,) = ["".join(c["source"]) for c in nb["cells"] if "NBVAL_CHECK_OUTPUT" in "".join(c["source"])]
    assert 'results.extra["dictionary_counts"]' in checked and "evaluation_counts" not in checked


def test_seed_group_with_one_seed_is_the_paired_item_bootstrap():
    from embedlab.defsent.scoring import Scores, Space

    rng = np.random.default_rng(0)
    gold = rng.normal(size=80)

    def scores():
        return {"r": Scores("rr", rng.uniform(size=80)), "c": Scores("cos", gold + rng.normal(size=80), gold)}

    a, b = Space("defsent", "mean", scores(), {}, seed=0), Space("base", "mean", scores(), {})
    ga, gb = defsent.SeedGroup([a]), defsent.SeedGroup([b])
    for t in ("r", "c"):
        assert np.allclose(ga.ci(t, 3), a.scores[t].ci(3))
        d, ci, per = ga.diff(gb, t, 3)
        assert np.isclose(d, a.scores[t].value - b.scores[t].value)
        assert np.allclose(ci, a.scores[t].diff_ci(b.scores[t], 3))
        assert per == [d] and ga.seeds == 1 and gb.seeds is None


def test_trained_variants_run_over_training_seeds_and_headlines_say_so(tiny, monkeypatch):
    _no_evaluation_sets(monkeypatch)
    toy = pd.DataFrame(DICT, columns=["headword", "definition"])
    cfg = defsent.Config.build(variants=["base", "defsent", "defsent+"], seeds=2, seed=5, entry_transform="none",
                               pst_stages=1, eval_definitions=10, n_candidates=5, max_pairs=10, n_examples=2,
                               train_definitions=16, batch_size=4, plus_batch_size=4, defsent_lr=1e-3)
    r = defsent.run_study(cfg, encoder=tiny, dictionary=toy)
    spaces = r.extra["spaces"]
    assert sorted((s.variant, s.seed) for s in spaces if s.variant != "base") == [
        ("defsent", 5), ("defsent", 6), ("defsent+", 5), ("defsent+", 6)]
    tr = r.tables["training"]
    assert sorted(tr.seed) == [5, 5, 6, 6] and set(r.extra["losses"]) == {
        "DefSent mean seed 5", "DefSent mean seed 6", "DefSent+ mean stage 1 seed 5", "DefSent+ mean stage 1 seed 6"}
    trained = [h for h in r.headlines if h.key.endswith("minus-base")]
    assert trained and all(h.seeds == 2 and len(h.per_seed) == 2 for h in trained)
    assert all("2 training seeds" in h.seed_note for h in trained)
    losses = {n: l for n, l in r.extra["losses"].items() if n.startswith("DefSent mean")}
    assert losses["DefSent mean seed 5"] != losses["DefSent mean seed 6"]       # another batch order
    h = trained[0]
    assert np.isclose(h.value, np.mean(h.per_seed))
    one = defsent.run_study(cfg.replace(seeds=1, variants=["base", "defsent"]), encoder=tiny, dictionary=toy)
    (first,) = [h for h in one.headlines if h.key == trained[0].key]
    assert first.seeds == 1 and first.seed_note.startswith("one training seed")
    assert list(one.extra["losses"]) == ["DefSent mean"] and list(one.tables["training"].seed) == [5]


def test_pst_reuses_a_given_first_stage_table(tiny):
    toy = _toy_dictionary(n_entries=12)
    cfg = defsent.defsent_plus_config(learning_rate=2e-3, epochs=1, batch_size=8)
    kw = dict(transform="none", progress=False)
    plain = defsent.progressive_separate_training(tiny, toy, 1, "mean", cfg, **kw)
    table = defsent.entry_embeddings(tiny, toy, "mean", progress=False)
    given = defsent.progressive_separate_training(tiny, toy, 1, "mean", cfg, first_entries=table, **kw)
    assert plain[0].losses == given[0].losses
    assert np.array_equal(plain[0].targets["entries (averaged)"], given[0].targets["entries (averaged)"])


def test_e5_and_ica_differences_are_named(tiny):
    from embedlab.defsent.results import _differences
    from embedlab.encoders import encoder_note

    note = encoder_note("e5-small")
    assert "4-bit" in note and "dequantized" in note and "0.9999" in note and encoder_note("minilm") is None
    tr = _differences(defsent.Config.build(language="tr", encoder="e5-small"), tiny, "x", {})
    assert note in tr and any("float64" in n and "float32" in n and "ICA" in n for n in tr)
    en = _differences(defsent.Config.build(entry_transform="whiten"), tiny, "x", {})
    assert note not in en and not any("float64" in n for n in en)


def test_bfloat16_training_keeps_float32_weights_and_learns(tiny_encoder):
    import torch

    from embedlab.defsent.training import TrainConfig, train_classifier

    texts = ["the cat is a small pet", "the sun is a hot star", "a dog is an animal", "the sea is water"] * 4
    labels = [0, 1, 0, 1] * 4
    head = torch.nn.Linear(tiny_encoder.dim, 2)
    before = [p.detach().clone() for p in tiny_encoder.model.parameters()]
    cfg = TrainConfig(learning_rate=1e-3, batch_size=4, epochs=3, seed=0, precision="bfloat16")
    losses = train_classifier(tiny_encoder.model, tiny_encoder.tokenizer, texts, labels, head, "mean", cfg,
                              progress=False)
    assert all(np.isfinite(losses)) and np.mean(losses[-4:]) < np.mean(losses[:4])
    assert all(p.dtype == torch.float32 for p in tiny_encoder.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, tiny_encoder.model.parameters()))
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="float16")
