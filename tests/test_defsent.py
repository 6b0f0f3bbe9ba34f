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
    assert all(not p.requires_grad for p in layer.parameters())
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
    each = defsent.study._embed_poolings(tiny, cat_defs, ["mean"], 64, False)["mean"]
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
    before, _ = defsent.vocabulary_ranks(layer, defsent.study._embed_poolings(tiny, list(single.definition), ["cls"],
                                                                              64, False)["cls"], single.token_id)
    runs = [defsent.train_defsent(tiny, single, "cls", cfg, progress=False) for _ in range(2)]
    assert runs[0].losses == runs[1].losses
    emb = defsent.study._embed_poolings(runs[0].encoder, list(single.definition), ["cls"], 64, False)["cls"]
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
    t2 = defsent.train_defsent_plus(tiny, entries[:4], "mean", cfg, entry_definitions=more, progress=False)
    names2, raw2 = defsent.entry_embeddings(tiny, [e for e in more if e[0] in {"cat", "dog", "fish", "bird"}], "mean",
                                            progress=False)
    assert t2.n_classes == 4 and np.allclose(t2.targets["entries (averaged)"], raw2)


def test_bad_inputs_raise_clear_errors(tiny):
    with pytest.raises(ValueError, match="empty dictionary"):
        defsent.as_entries([])
    with pytest.raises(ValueError, match="empty dictionary"):
        defsent.split_by_headword(pd.DataFrame({"headword": ["  "], "definition": ["x"]}))
    with pytest.raises(ValueError, match=r"unknown language 'xx'; allowed: en, tr"):
        defsent.load_dictionary("wordnet", "xx")
    with pytest.raises(ValueError, match=r"unknown language 'de'"):
        defsent.run_study(tiny, DICT, "de")
    with pytest.raises(ValueError, match="not one token.*sunfish.*single_token_entries"):
        defsent.train_defsent(tiny, DICT + [("sunfish", "a fish")], "mean", progress=False)
    with pytest.raises(ValueError, match="unknown pooling 'sum'; allowed: mean, cls, max"):
        defsent.train_defsent_plus(tiny, DICT, "sum", progress=False)
    with pytest.raises(ValueError, match="unknown variant 'simcse'"):
        defsent.run_study(tiny, DICT, "en", variants=["simcse"])
    with pytest.raises(ValueError, match="unknown entry transform 'pca'; allowed: none, whiten, ica"):
        defsent.run_study(tiny, DICT, "en", entry_transform="pca")
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
    rows, examples = defsent.evaluate_space(emb, data, defsent.prediction_layer(tiny), tiny.tokenizer, n_examples=3)
    m = {(r["task"], r["metric"]): r["value"] for r in rows}
    assert m[("def2word-headwords", "mrr")] == 100.0 and m[("def2word-headwords", "top1")] == 100.0
    assert {("def2word-vocab", k) for k in ("mrr", "top1", "top3", "top10")} <= set(m)
    assert ("isotropy", "avg_cosine") in m and len(examples) == 3
