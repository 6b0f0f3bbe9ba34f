"""The embedding cache and one pass per text: a rerun that changes only evaluation parameters encodes nothing; entries
are keyed by content, written atomically, verified, sized and cleared; every sentence is tokenized and encoded once."""
import dataclasses

import numpy as np
import pytest
import torch

from embedlab import assets, cli, embedcache, encoders, extract

from test_extract import SENTENCES, WORDS, tiny  # noqa: F401 (the module's tiny encoder fixture)

X2 = {"epochs": 2, "t": 1.0, "min_median_updates": 0}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_EMBEDDING_CACHE", str(tmp_path / "embeddings"))
    return tmp_path / "embeddings"


@pytest.fixture
def pinned(tiny):  # noqa: F811
    """The tiny encoder with a known revision: its vectors may be cached."""
    return dataclasses.replace(tiny, revision="tiny-r1")


def _run(enc, diag=None, **kw):
    kw = {"max_contexts": 2, "x2static": X2, "progress": False, **kw}
    return extract.static_embeddings(enc, WORDS, list(extract.METHODS), [2, 3], SENTENCES, diagnostics=diag, **kw)


def test_a_rerun_that_changes_only_evaluation_parameters_encodes_nothing(pinned, cache):
    first_diag, again_diag = {}, {}
    before = dict(embedcache.STATS)
    first = _run(pinned, first_diag)
    assert first_diag["teacher_tokens"] == first_diag["corpus_tokens"] > 0      # encoded / corpus tokens = 1
    assert first_diag["vocabulary_tokens"] > 0
    encoded = encoders.ENCODED_TOKENS["tiny"]
    again = _run(pinned, again_diag, x2static={**X2, "seed": 5})                  # a downstream seed only
    assert encoders.ENCODED_TOKENS["tiny"] == encoded                             # nothing encoded
    assert again_diag["teacher_tokens"] == 0 and again_diag["vocabulary_tokens"] == 0
    assert again_diag["cached"] == {"sentences": True, "subwords": True}
    assert embedcache.STATS["hits"] - before.get("hits", 0) == 3                  # words alone, sentences, subwords
    for name, kv in first.items():
        if "x2static" not in name:
            np.testing.assert_array_equal(kv.vectors, again[name].vectors)
    _run(pinned, {}, max_contexts=1)                                              # other contexts: only their sums
    assert 0 < encoders.ENCODED_TOKENS["tiny"] - encoded < first_diag["teacher_tokens"]


def test_other_text_layers_or_precision_miss_and_unknown_weights_are_never_cached(pinned, tiny, cache):  # noqa: F811
    _run(pinned)
    n = len(embedcache.entries())
    _run(pinned, precision="bfloat16")
    assert len(embedcache.entries()) == n + 2                                     # new sentence and subword entries
    extract.static_embeddings(pinned, WORDS, ["aggregate-cls"], [1], [s + ["ran"] for s in SENTENCES],
                              progress=False)
    assert len(embedcache.entries()) == n + 3
    _run(tiny)                                                                    # no revision: nothing stored
    assert len(embedcache.entries()) == n + 3
    assert pinned.cache_id == "test|tiny-r1"
    with torch.no_grad():
        next(pinned.model.parameters()).add_(1.0)                                 # trained in place
    assert pinned.cache_id is None


def test_entries_are_verified_refused_when_changed_sized_and_cleared(pinned, cache, capsys):
    _run(pinned)
    entries = embedcache.entries()
    assert entries and not [p for p in cache.iterdir() if p.name.startswith(".")]  # no half-written entry
    assert all(assets.derived.verify(p) == "ok" for p in entries)
    target = next(p for p in entries if (p / "means.npy").exists()) / "means.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(assets.CorruptCache):
        assets.derived.verify(target.parent)
    with pytest.warns(UserWarning, match="was refused and is made again"):
        _run(pinned)
    assert all(assets.derived.verify(p) == "ok" for p in embedcache.entries())
    n, size = embedcache.size()
    assert n == len(embedcache.entries()) and size > 0
    assert cli.main(["cache", "size"]) == 0 and f"holds {n} entries" in capsys.readouterr().out
    assert cli.main(["cache", "clear"]) == 0 and f"removed {n} entries" in capsys.readouterr().out
    assert embedcache.entries() == [] and embedcache.size() == (0, 0)


def test_cache_off_stores_nothing(pinned, cache, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_EMBEDDING_CACHE", "off")
    _run(pinned)
    assert not cache.exists() or not any(cache.iterdir())


class _CountingTokenizer:
    """A tokenizer proxy that counts the sentences (lists of words) it tokenizes."""

    def __init__(self, tok):
        self.tok, self.sentences = tok, 0

    def __call__(self, texts, *args, **kw):
        self.sentences += sum(isinstance(t, list) for t in texts)
        return self.tok(texts, *args, **kw)

    def __getattr__(self, name):
        return getattr(self.tok, name)


def test_every_sentence_and_word_is_tokenized_and_encoded_once(tiny):  # noqa: F811
    counting = _CountingTokenizer(tiny.tokenizer)
    enc = dataclasses.replace(tiny, tokenizer=counting, name="tiny-counted")
    diag = {}
    _run(enc, diag)
    assert counting.sentences == len(SENTENCES)                                    # each sentence once
    assert encoders.ENCODED_TOKENS["tiny-counted"] == diag["corpus_tokens"] + diag["vocabulary_tokens"]


def test_one_pass_batches_equal_per_batch_tokenization(tiny):  # noqa: F811
    got = {}
    for idx, batch, states in encoders.hidden_state_batches(tiny, SENTENCES, [1, 3], batch_size=4, progress=False,
                                                            split_into_words=True):
        ref = tiny.tokenizer([SENTENCES[i] for i in idx], is_split_into_words=True, padding=True,
                             return_tensors="pt")
        assert set(batch) - {"word_index"} == set(ref)
        for k in ref:
            torch.testing.assert_close(batch[k], ref[k])
        assert [batch.word_ids(b) for b in range(len(idx))] == [ref.word_ids(b) for b in range(len(idx))]
        got.update({int(i): states[:, b] for b, i in enumerate(idx)})
    assert sorted(got) == list(range(len(SENTENCES)))


def test_bfloat16_with_weights_cast_once_equals_autocast(tiny):  # noqa: F811
    layers = [3]
    a = [s for _, _, s in encoders.hidden_state_batches(tiny, SENTENCES, layers, 4, split_into_words=True,
                                                        progress=False, precision="bfloat16")]
    b = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        for idx, batch, _ in encoders.hidden_state_batches(tiny, SENTENCES, layers, 4, split_into_words=True,
                                                           progress=False):
            out = tiny.model(**{k: v for k, v in batch.items() if k != "word_index"}, output_hidden_states=True)
            b.append(out.hidden_states[3].unsqueeze(0))
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert all(p.dtype == torch.float32 for p in tiny.model.parameters())        # the model is left as it was
