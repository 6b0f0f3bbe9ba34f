"""Static vectors from an encoder: every method checked against a naive per-word / per-sentence computation
on a tiny random BERT, plus context sampling, X2Static and the errors for bad input."""
import numpy as np
import pytest
import torch

from embedlab import extract, x2static
from embedlab.encoders import Encoder

WORDS = ["the", "cat", "cats", "sat", "on", "mat", "mats", "dog", "dogs", "ran"]
SENTENCES = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dogs", "ran"], ["cats", "sat"],
             ["the", "dog", "sat", "on", "mats"], ["a", "cat", "ran", "on", "the", "mat"], ["dogs", "ran", "on", "mats"]]


def _tiny_bert(folder, name, pieces, lowercase, n_layers, seed):
    """A random BERT with a WordPiece tokenizer over ``pieces`` (lower-casing or cased)."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    (folder / "vocab.txt").write_text("\n".join(pieces) + "\n")
    wordpiece = BertWordPieceTokenizer(str(folder / "vocab.txt"), lowercase=lowercase, strip_accents=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=wordpiece._tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                  cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(pieces), hidden_size=16, num_hidden_layers=n_layers, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)
    return Encoder(name, BertModel(cfg).eval(), tok, "test")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "ran", "a",
              "##s", "##t", "c", "d", "m", "##a", "##o"]
    return _tiny_bert(tmp_path_factory.mktemp("tiny"), "tiny", pieces, True, 3, 0)


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


def _occurrences(sample, rows=None):
    r, j, v = sample.occurrence_arrays()
    return (r if rows is None else rows[r]), j, v


def test_aggregate_methods_match_naive_per_sentence_loops(tiny):
    layers = [1, 3]
    sample = extract.select_contexts(SENTENCES, WORDS, max_contexts=3, seed=1)
    occ = _occurrences(sample)
    cp = extract.context_pass(tiny, SENTENCES, sample.sentence_ids, layers, batch_size=4, progress=False,
                              occurrences=occ, vocab=WORDS)
    sub = {l: np.zeros((len(WORDS), 16)) for l in layers}
    cls = {l: np.zeros((len(WORDS), 16)) for l in layers}
    n = np.zeros(len(WORDS))
    for sent, o in zip(sample.sentences, sample.occurrences):       # one sentence, one layer at a time
        batch, hs = _forward(tiny, sent, words=True)
        wids = batch.word_ids(0)
        for j, v in o:
            toks = [t for t, w in enumerate(wids) if w == j]
            n[v] += 1
            for l in layers:
                sub[l][v] += hs[l][0, toks].mean(0).numpy()
                cls[l][v] += hs[l][0, 0].numpy()
    np.testing.assert_array_equal(cp.counts, n)
    cls_sums = extract.contexts.cls_sums(cp.cls, occ, extract._occurrences_valid(cp, occ), len(WORDS))
    for li, l in enumerate(layers):
        ok = n > 0
        np.testing.assert_allclose(cp.subword_sums[li].numpy()[ok], sub[l][ok], atol=1e-4)
        np.testing.assert_allclose(cls_sums[li].numpy()[ok], cls[l][ok], atol=1e-4)


def test_truncated_contexts_are_not_counted(tiny):
    long = ["the"] * 40 + ["cat"]                                  # 'cat' falls beyond max_length
    sample = extract.select_contexts([long, ["cat", "sat"]], ["cat", "sat"], max_contexts=None)
    occ = _occurrences(sample)
    cp = extract.context_pass(tiny, [long, ["cat", "sat"]], sample.sentence_ids, [2], max_length=16,
                              progress=False, occurrences=occ, vocab=["cat", "sat"])
    assert cp.counts.tolist() == [1, 1]
    assert extract._occurrences_valid(cp, occ).tolist() == [False, True, True]


def test_static_embeddings_names_layers_and_one_pass_agree(tiny):
    kvs = extract.static_embeddings(tiny, WORDS, list(extract.METHODS), layers=[2, -1], sentences=SENTENCES,
                                    max_contexts=2, x2static={"epochs": 2, "t": 1.0, "min_median_updates": 1},
                                    progress=False)
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
    a = x2static.train_x2static(ctx, targets, 4, **kw)
    b = x2static.train_x2static(ctx, targets, 4, **kw)
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


# --------------------------------------------------------------------------- X2Static over the whole corpus

def test_x2static_trains_on_every_sentence_counts_updates_and_drops_words_never_updated(tiny):
    words = WORDS + ["zebra"]                                   # 'zebra' never occurs: it can get no update
    diag = {}
    kvs = extract.static_embeddings(tiny, words, ["x2static"], [3], SENTENCES, max_contexts=1, max_sentences=1,
                                    x2static={"epochs": 2, "t": 1.0, "batch_size": 2, "min_median_updates": 1},
                                    progress=False, diagnostics=diag)
    stats = diag["x2static"]["tiny/x2static@3"]
    assert stats.n_sentences == len(SENTENCES)                  # every sentence, not the 1-sentence context sample
    occurring = {w for s in SENTENCES for w in s if w in words}
    expected = np.array([2 * sum(s.count(w) for s in SENTENCES) for w in words])   # t = 1: nothing subsampled
    np.testing.assert_array_equal(stats.updates, expected)
    kept = kvs["tiny/x2static@3"].index_to_key
    assert set(kept) == occurring and "zebra" not in kept
    assert all(stats.updates[words.index(w)] > 0 for w in kept)
    assert stats.negative_updates.sum() == 10 * stats.updates.sum()
    assert len(stats.losses) == 2 and not stats.low


def test_x2static_warns_when_the_median_word_gets_few_updates(tiny):
    diag = {}
    with pytest.warns(UserWarning, match=r"X2Static: the median word got \d+ positive updates"):
        extract.static_embeddings(tiny, WORDS, ["x2static"], [3], SENTENCES, progress=False, diagnostics=diag)
    stats = diag["x2static"]["tiny/x2static@3"]
    assert stats.low and stats.median_updates < 10
    # the reference's t = 5e-6 is a share of the corpus: subsampling starts near t x tokens occurrences
    assert stats.subsample_count == pytest.approx(5e-6 * sum(w in WORDS for s in SENTENCES for w in s))


def test_x2static_explanation_counts_distinct_sentences_per_word_and_states_the_run_numbers():
    targets = [[0, 0, 1], [1], [1, 2], []]                       # word 0 twice in one sentence; word 3 never
    vectors = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    _, stats = x2static.train_x2static(vectors, targets, 4, epochs=3, t=1.0, progress=False, return_stats=True,
                                      min_median_updates=0)
    np.testing.assert_array_equal(stats.sentences_per_word, [1, 3, 1, 0])
    text = stats.explanation
    assert "median vocabulary word is in 1 of 4 sentences" in text and "100% of words are in fewer than 10" in text
    assert "in 3 epoch(s)" in text and "t = 1: subsampling starts at 6 occurrences, which 0% of these words" in text
    assert f"{float(np.median(stats.updates[:3])):g} positive updates" in text


def test_x2static_teacher_is_the_pass_sentence_means_and_one_pass_matches_the_original_loop(tiny):
    """One pass gives the vectors the original code gave: each sentence's mean token vector from a naive forward
    pass, and X2Static trained on them with the original PyTorch loop."""
    sample = extract.select_contexts(SENTENCES, WORDS, max_contexts=1, all_sentences=True)
    cp = extract.context_pass(tiny, SENTENCES, np.arange(len(SENTENCES)), [2], batch_size=4, progress=False)
    naive = np.stack([_forward(tiny, s, words=True)[1][2][0].mean(0).numpy() for s in SENTENCES])  # specials in
    np.testing.assert_allclose(cp.means[0], naive, atol=1e-5)
    np.testing.assert_allclose(cp.cls[0], [_forward(tiny, s, words=True)[1][2][0, 0].numpy() for s in SENTENCES],
                               atol=1e-5)
    x2 = {"epochs": 3, "t": 1.0, "min_median_updates": 0}
    got = extract.static_embeddings(tiny, WORDS, ["x2static"], [2], SENTENCES, x2static=x2, progress=False)
    table = x2static.train_x2static(naive[sample.sentence_ids], sample.targets, len(WORDS), progress=False,
                                    counts=sample.corpus_counts, engine="torch", **x2)
    kv = got["tiny/x2static@2"]
    np.testing.assert_allclose(kv.vectors, table[[WORDS.index(w) for w in kv.index_to_key]], atol=1e-5)


# --------------------------------------------------------------------------- aggregate: uniform contexts

def test_contexts_are_sampled_uniformly_not_favouring_short_sentences():
    short = [["x", "a"] for _ in range(100)]
    long = [["x"] + ["b"] * 30 for _ in range(100)]
    sents = short + long
    shares = []
    for seed in range(200):
        sample = extract.select_contexts(sents, ["x"], max_contexts=10, seed=seed)
        assert sample.counts.tolist() == [10]
        shares.append(np.mean(sample.sentence_ids >= 100))
    assert abs(np.mean(shares) - 0.5) < 0.03                     # set cover would pick the short sentences
    a = extract.select_contexts(sents, ["x", "b"], max_contexts=10, seed=7)
    b = extract.select_contexts(sents, ["x", "b"], max_contexts=10, seed=7)
    c = extract.select_contexts(sents, ["x", "b"], max_contexts=10, seed=8)
    assert a.occurrences == b.occurrences and a.sentence_ids.tolist() == b.sentence_ids.tolist()
    assert a.sentence_ids.tolist() != c.sentence_ids.tolist()
    every = extract.select_contexts(sents, ["x", "b"], max_contexts=None)
    assert every.counts.tolist() == [200, 3000]


def test_contexts_per_word_distribution_is_reported(tiny):
    diag = {}
    extract.static_embeddings(tiny, WORDS, ["aggregate-subword"], [3], SENTENCES, max_contexts=2, progress=False,
                              diagnostics=diag)
    per_word = diag["contexts_per_word"]
    corpus = {w: sum(s.count(w) for s in SENTENCES) for w in WORDS}
    assert per_word.to_dict() == {w: min(2, n) for w, n in corpus.items()}
    summary = diag["contexts_summary"]
    assert summary["max"] == 2 and summary["cap"] == 2 and summary["words"] == sum(n > 0 for n in corpus.values())
    assert summary["share_one_context"] == pytest.approx(np.mean([min(2, n) == 1 for n in corpus.values() if n]))


# --------------------------------------------------------------------------- case

@pytest.fixture(scope="module")
def tiny_cased(tmp_path_factory):
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "The", "cat", "Cat", "sat", "ı", "i", "I", "##ş",
              "##ı", "##k", "ş", "k"]
    return _tiny_bert(tmp_path_factory.mktemp("tiny_cased"), "tinycased", pieces, False, 2, 1)


def test_lowercase_default_comes_from_the_tokenizer(tiny, tiny_cased):
    assert extract.encoder_lowercases(tiny) is True
    assert extract.encoder_lowercases(tiny_cased) is False
    diag = {}
    kv = extract.static_embeddings(tiny_cased, ["Cat", "cat"], ["decontext-mean"], [2], progress=False, diagnostics=diag)
    assert diag["lowercase"] is False
    assert not np.allclose(kv["tinycased/decontext-mean@2"]["Cat"], kv["tinycased/decontext-mean@2"]["cat"])
    low = extract.static_embeddings(tiny_cased, ["Cat", "cat"], ["decontext-mean"], [2], progress=False, lowercase=True)
    np.testing.assert_allclose(low["tinycased/decontext-mean@2"]["Cat"], low["tinycased/decontext-mean@2"]["cat"])
    assert list(low["tinycased/decontext-mean@2"].index_to_key) == ["Cat", "cat"]   # keys stay as given
    diag = {}
    extract.static_embeddings(tiny, ["cat"], ["decontext-mean"], [1], progress=False, diagnostics=diag)
    assert diag["lowercase"] is True


def test_turkish_casing_rules_for_encoder_input_and_evaluation_words(tiny_cased):
    assert extract.lowercase("IŞIK", "tr") == "ışık" and extract.lowercase("İstanbul", "tr") == "istanbul"
    assert extract.lowercase("IŞIK", "en") == "işik"
    assert extract._encoder_text([["IŞIK", "İz"]], True, "tr") == [["ışık", "iz"]]
    vocab = ["ışık", "işik", "istanbul", "Kat"]
    assert extract.match_case(["IŞIK", "İstanbul", "Kat", "kat", "yok"], vocab, "tr") == {
        "IŞIK": "ışık", "İstanbul": "istanbul", "Kat": "Kat", "kat": "Kat"}
    assert extract.match_case(["IŞIK"], vocab, "en") == {"IŞIK": "işik"}
    # the cased encoder sees the Turkish lower-case form: 'IŞIK' -> 'ı ##ş ##ı ##k', not 'i ##ş ...'
    got = extract.static_embeddings(tiny_cased, ["IŞIK", "ışık"], ["decontext-mean"], [2], progress=False,
                                    lowercase=True, language="tr")["tinycased/decontext-mean@2"]
    np.testing.assert_allclose(got["IŞIK"], got["ışık"])


def test_context_pass_precision_bfloat16_stays_close_to_float32(tiny):
    kw = dict(max_contexts=3, progress=False)
    exact = extract.static_embeddings(tiny, WORDS, ["aggregate-subword"], [3], SENTENCES, **kw)
    diag = {}
    low = extract.static_embeddings(tiny, WORDS, ["aggregate-subword"], [3], SENTENCES, precision="bfloat16",
                                    diagnostics=diag, **kw)
    assert diag["precision"] == "bfloat16"
    a, b = exact["tiny/aggregate-subword@3"].vectors, low["tiny/aggregate-subword@3"].vectors
    assert not np.array_equal(a, b)                              # it did run in bfloat16
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.999
    assert extract.resolve_precision(tiny, "auto") in ("bfloat16", "float32")
    with pytest.raises(ValueError, match="unknown precision.*allowed: float32, bfloat16"):
        extract.resolve_precision(tiny, "int8")


def test_length_batches_grow_for_short_inputs_and_cover_every_row_once():
    from embedlab.encoders import length_batches
    lengths = np.array([100, 90, 40, 30, 30, 12, 12, 12, 10, 8, 8, 5, 5, 5, 3])
    got = length_batches(lengths, batch_size=2, batch_tokens=64)
    assert [b for a, b in got][:-1] == [a for a, b in got][1:] and got[0][0] == 0 and got[-1][1] == len(lengths)
    for start, stop in got:                        # batch_size rows at least; more only within the token budget
        rows = stop - start
        assert rows >= 2 or stop == len(lengths)
        assert rows <= 2 or rows * lengths[start] <= 64
    assert got[:3] == [(0, 2), (2, 4), (4, 6)] and (11, 15) in got    # 64 // 5 = 12 rows allowed, 4 left
    assert length_batches(lengths, 4, batch_tokens=0) == [(0, 4), (4, 8), (8, 12), (12, 15)]


def test_hidden_states_do_not_depend_on_how_rows_are_batched(tiny):
    from embedlab.encoders import hidden_state_batches
    sents = SENTENCES * 5
    out = {}
    for tokens in (0, 2048):                   # 0: fixed batches of 3 rows; 2048: every sentence in one batch
        means = np.zeros((len(sents), 16))
        n = 0
        for idx, batch, states in hidden_state_batches(tiny, sents, [2], batch_size=3, split_into_words=True,
                                                       progress=False, batch_tokens=tokens):
            m = batch["attention_mask"].unsqueeze(-1).float()
            means[idx] = ((states[0] * m).sum(1) / m.sum(1)).numpy()
            n += 1
        out[tokens] = (means, n)
    assert out[0][1] == 10 and out[2048][1] == 1
    np.testing.assert_allclose(out[0][0], out[2048][0], atol=1e-5)
