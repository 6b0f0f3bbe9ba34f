"""Static vectors from an encoder: every method checked against a naive per-word / per-sentence computation
on a tiny random BERT, plus context sampling, X2Static and the errors for bad input."""
import numpy as np
import pytest
import torch

from embedlab import extract
from embedlab.encoders import Encoder

WORDS = ["the", "cat", "cats", "sat", "on", "mat", "mats", "dog", "dogs", "ran"]
SENTENCES = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dogs", "ran"], ["cats", "sat"],
             ["the", "dog", "sat", "on", "mats"], ["a", "cat", "ran", "on", "the", "mat"], ["dogs", "ran", "on", "mats"]]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "ran", "a",
              "##s", "##t", "c", "d", "m", "##a", "##o"]
    d = tmp_path_factory.mktemp("tiny")
    (d / "vocab.txt").write_text("\n".join(pieces) + "\n")
    wordpiece = BertWordPieceTokenizer(str(d / "vocab.txt"), lowercase=True)
    tok = PreTrainedTokenizerFast(tokenizer_object=wordpiece._tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                  cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(pieces), hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)
    return Encoder("tiny", BertModel(cfg).eval(), tok, "test")


def _forward(enc, text_or_words, words=False):
    batch = enc.tokenizer([text_or_words], is_split_into_words=words, return_tensors="pt")
    with torch.no_grad():
        out = enc.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
    return batch, out.hidden_states


def test_cats_is_two_subwords(tiny):
    assert tiny.tokenizer.tokenize("cats") == ["cat", "##s"]


def test_decontextualized_cls_and_mean_match_a_naive_pass_at_every_layer(tiny):
    got = extract.decontextualized(tiny, WORDS, layers=[0, 2, 3], progress=False)
    for i, w in enumerate(WORDS):
        batch, hs = _forward(tiny, w)
        for li, layer in enumerate([0, 2, 3]):
            h = hs[layer][0]
            np.testing.assert_allclose(got["cls"][li, i], h[0].numpy(), atol=1e-5)
            np.testing.assert_allclose(got["mean"][li, i], h[1:-1].mean(0).numpy(), atol=1e-5)


def test_input_layer_is_the_mean_of_subword_embedding_rows(tiny):
    got = extract.input_layer(tiny, ["cats", "mat"])
    table = tiny.model.get_input_embeddings().weight.detach()
    ids = tiny.tokenizer.convert_tokens_to_ids(["cat", "##s"])
    np.testing.assert_allclose(got[0], table[ids].mean(0).numpy(), atol=1e-6)
    np.testing.assert_allclose(got[1], table[tiny.tokenizer.convert_tokens_to_ids("mat")].numpy(), atol=1e-6)


def test_select_contexts_caps_and_covers():
    sample = extract.select_contexts(SENTENCES, WORDS, max_contexts=2, seed=0)
    assert sample.counts.max() <= 2
    present = {w for s in SENTENCES for w in s}
    for i, w in enumerate(WORDS):
        assert (sample.counts[i] > 0) == (w in present)
    used = [sum(v == i for occ in sample.occurrences for _, v in occ) for i in range(len(WORDS))]
    assert used == sample.counts.tolist()
    one = extract.select_contexts(SENTENCES, WORDS, max_contexts=5, max_sentences=1, seed=0)
    assert len(one.sentences) == 1


def test_aggregate_methods_match_naive_per_sentence_loops(tiny):
    layers = [1, 3]
    sample = extract.select_contexts(SENTENCES, WORDS, max_contexts=3, seed=1)
    states = extract.encode_contexts(tiny, sample, layers, batch_size=4, progress=False)
    sub = {l: np.zeros((len(WORDS), 16)) for l in layers}
    cls = {l: np.zeros((len(WORDS), 16)) for l in layers}
    n = np.zeros(len(WORDS))
    for sent, occ in zip(sample.sentences, sample.occurrences):       # one sentence, one layer at a time
        batch, hs = _forward(tiny, sent, words=True)
        wids = batch.word_ids(0)
        for j, v in occ:
            toks = [t for t, w in enumerate(wids) if w == j]
            n[v] += 1
            for l in layers:
                sub[l][v] += hs[l][0, toks].mean(0).numpy()
                cls[l][v] += hs[l][0, 0].numpy()
    np.testing.assert_array_equal(states.counts.numpy(), n)
    for li, l in enumerate(layers):
        ok = n > 0
        np.testing.assert_allclose(states.subword_sums[li].numpy()[ok], sub[l][ok], atol=1e-4)
        np.testing.assert_allclose(states.cls_sums[li].numpy()[ok], cls[l][ok], atol=1e-4)


def test_static_embeddings_names_layers_and_one_pass_agree(tiny):
    kvs = extract.static_embeddings(tiny, WORDS, list(extract.METHODS), layers=[2, -1], sentences=SENTENCES,
                                    max_contexts=2, x2static={"epochs": 2}, progress=False)
    expected = {"tiny/input-layer"} | {f"tiny/{m}@{l}" for m in extract.METHODS if m != "input-layer" for l in (2, 3)}
    assert set(kvs) == expected
    alone = extract.static_embeddings(tiny, WORDS, ["aggregate-subword", "decontext-mean"], layers=[3],
                                      sentences=SENTENCES, max_contexts=2, progress=False)
    for name in ("tiny/aggregate-subword@3", "tiny/decontext-mean@3"):
        np.testing.assert_allclose(kvs[name].vectors, alone[name].vectors, atol=1e-5)
    assert "ran" in kvs["tiny/aggregate-cls@3"] and "mats" in kvs["tiny/decontext-cls@2"]


def test_x2static_learns_cooccurrence_and_is_deterministic():
    rng = np.random.default_rng(0)
    topics = rng.normal(size=(2, 8)).astype(np.float32)
    ctx = np.concatenate([topics[0] + 0.1 * rng.normal(size=(40, 8)), topics[1] + 0.1 * rng.normal(size=(40, 8))])
    targets = [[0, 1] for _ in range(40)] + [[2, 3] for _ in range(40)]
    kw = dict(counts=np.full(4, 40), epochs=30, lr=0.05, t=1.0, batch_size=8, seed=3, progress=False)
    a = extract.train_x2static(ctx, targets, 4, **kw)
    b = extract.train_x2static(ctx, targets, 4, **kw)
    np.testing.assert_array_equal(a, b)
    assert a[0] @ topics[0] > a[0] @ topics[1] and a[3] @ topics[1] > a[3] @ topics[0]
    cos = lambda x, y: x @ y / np.linalg.norm(x) / np.linalg.norm(y)  # noqa: E731
    assert cos(a[0], a[1]) > cos(a[0], a[2])


def test_bad_input_fails_early_with_the_allowed_values(tiny):
    with pytest.raises(ValueError, match="unknown extraction method.*allowed: decontext-cls"):
        extract.static_embeddings(tiny, WORDS, ["glove"], [1])
    with pytest.raises(ValueError, match=r"layer 7 out of range for tiny: allowed 0 .* to 3"):
        extract.static_embeddings(tiny, WORDS, ["decontext-cls"], [7])
    with pytest.raises(ValueError, match="need sentences"):
        extract.static_embeddings(tiny, WORDS, ["aggregate-cls"], [1], sentences=[])
    with pytest.raises(ValueError, match="unknown X2Static option"):
        extract.static_embeddings(tiny, WORDS, ["x2static"], [1], SENTENCES, x2static={"window": 5})
    assert extract.resolve_layers(tiny, [-1, 0, 3]) == [3, 0]
